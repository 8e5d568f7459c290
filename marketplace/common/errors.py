"""Domain exceptions: services raise them, views show them beside the field, the API as JSON."""


class DomainError(Exception):
    """A rule was broken. ``message`` is translatable; ``field`` names the form field it concerns."""

    message = "This action is not allowed."
    field = None

    def __init__(self, message=None, field=None):
        if message is not None:
            self.message = message
        if field is not None:
            self.field = field
        super().__init__(str(self.message))


class PermissionDenied(DomainError):
    """The actor may not do this."""


class OutsideJurisdiction(PermissionDenied):
    """A county regulator reached for another county's record."""


class NotFound(DomainError):
    """The record asked for does not exist, or is not this actor's to reach (answered as 404)."""

    message = "Not found."
