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


class FieldErrors(DomainError):
    """Several fields are wrong at once: ``errors`` is a list of ``DomainError``, each shown beside its
    field, so a form shows every problem in one go instead of one per submission."""

    def __init__(self, errors):
        self.errors = list(errors)
        super().__init__(" ".join(str(e.message) for e in self.errors))


def raise_all(errors):
    """Raise the one error, or all of them together."""
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise FieldErrors(errors)


class NotFound(DomainError):
    """The record asked for does not exist, or is not this actor's to reach (answered as 404)."""

    message = "Not found."
