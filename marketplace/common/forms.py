"""Form pieces shared by every domain: translated validators and the CSRF re-render marker."""

from flask_babel import lazy_gettext as _l
from wtforms import validators


def Required():
    return validators.InputRequired(message=_l("This field is required."))


def EmailAddress():
    return validators.Email(message=_l("Enter a valid e-mail address, such as name@example.cn."))


def MaxLength(n):
    return validators.Length(max=n, message=_l("Use at most %(n)d characters.", n=n))


def Phone():
    return validators.Regexp(
        r"^[0-9+\-() ]{5,30}$",
        message=_l("Enter a phone number using digits, spaces, +, - and brackets."),
    )


def Optional():
    return validators.Optional()


def strip(value):
    """Filter: drop surrounding spaces people paste along with an address or a name."""
    return value.strip() if isinstance(value, str) else value


def form_view(view):
    """Mark a view that builds and validates a FlaskForm: when its CSRF token is missing or stale,
    the view is run again so the form comes back with what was typed and the error beside it."""
    view.rerender_on_csrf_error = True
    return view
