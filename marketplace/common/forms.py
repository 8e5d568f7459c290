"""Form pieces shared by every domain: the base form, translated validators, the CSRF marker."""

import re

from flask import g
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import validators

# Control characters (NUL included, which PostgreSQL cannot store in text) have no place in
# typed input; tabs and line breaks are allowed in multi-line fields only.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u2028\u2029]")
_CONTROL_SINGLE_LINE = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")
CONTROL_MESSAGE = _l("Remove the invisible control characters from this field.")


class BaseForm(FlaskForm):
    """Every form of the app: text fields with control characters are refused beside the field."""

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        if g.get("csrf_failed"):
            # The request failed the app-wide CSRF check (token, or same-site Referer on HTTPS):
            # the form is shown again but never acted on.
            valid = False
        for field in self:
            data = field.data
            if not isinstance(data, str) or field.type in ("CSRFTokenField", "HiddenField"):
                continue
            pattern = _CONTROL if field.type == "TextAreaField" else _CONTROL_SINGLE_LINE
            if pattern.search(data):
                field.errors = list(field.errors) + [str(CONTROL_MESSAGE)]
                valid = False
        return valid


class ConfirmForm(BaseForm):
    """A bare form: a POST with nothing but its CSRF token, for confirmed actions."""


def Required():
    """Present and not just spaces."""
    return validators.DataRequired(message=_l("This field is required."))


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


def show_error(form, exc):
    """Put a service's ``DomainError`` beside the field it names (or above the form)."""
    field = getattr(form, exc.field, None) if exc.field else None
    if field is not None:
        field.errors = list(field.errors) + [str(exc.message)]
    else:
        form.form_errors.append(str(exc.message))
