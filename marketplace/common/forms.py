"""Form pieces shared by every domain: the base form, translated validators, the CSRF marker."""

import re
import unicodedata

from flask import g
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, validators, widgets

from marketplace.common.errors import DomainError
from marketplace.common.identifiers import clean_uscc
from marketplace.common.time import local_today

# Control characters (NUL included, which PostgreSQL cannot store in text) have no place in
# typed input; tabs and line breaks are allowed in multi-line fields only.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u2028\u2029]")
_CONTROL_SINGLE_LINE = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")
CONTROL_MESSAGE = _l("Remove the invisible control characters from this field.")
BUSY_MESSAGE = _l(
    "The system was busy and nothing was saved. Your entries are still here: check them and submit again."
)


class BaseForm(FlaskForm):
    """Every form of the app: text fields with control characters are refused beside the field."""

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        if g.get("csrf_failed"):
            # The request failed the app-wide CSRF check (token, or same-site Referer on HTTPS):
            # the form is shown again but never acted on.
            valid = False
        if g.get("database_busy"):
            # Another worker held the database too long (common.database): shown again, to send again.
            self.form_errors.append(str(BUSY_MESSAGE))
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


DATE_MESSAGE = _l("Enter a date as YYYY-MM-DD.")
NUMBER_MESSAGE = _l("Enter an amount in yuan, such as 12000 or 12000.50.")
# Amounts are stored as NUMERIC(12, 2); negative amounts get the services' clearer messages.
PRICE_RANGE = validators.NumberRange(max=9999999999, message=_l("Enter an amount below 10,000,000,000 yuan."))


def finite(form, field):
    """NaN and infinities parse as decimals; they are not amounts (and break NumberRange)."""
    if field.data is not None and not field.data.is_finite():
        raise validators.StopValidation(str(NUMBER_MESSAGE))


def credit_code(form, field):
    """A unified social credit code: 18 characters with a valid check digit (python-stdnum)."""
    try:
        clean_uscc(field.data)
    except DomainError as exc:
        raise validators.ValidationError(str(exc.message)) from None


def not_in_future(form, field):
    if field.data is not None and field.data > local_today():
        raise validators.ValidationError(str(_l("The date cannot be in the future.")))


MAX_RECORD_ID = 2**31 - 1  # the databases' INTEGER keys


def optional_int(value):
    """A select's value as a record number, or None for the empty choice (or anything else, such as a
    number no record can have: it would otherwise overflow the database's integer in a query)."""
    try:
        number = int(value) if value not in (None, "", "None") else None
    except (TypeError, ValueError):
        return None
    return number if number is not None and 0 < number <= MAX_RECORD_ID else None


class MultiCheckboxField(SelectMultipleField):
    """Checkboxes for a multiple choice (categories, counties, team members)."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()

    def pre_validate(self, form):
        """Keep only offered values: a crafted id (unknown, out of use, absurdly large) is dropped."""
        offered = set()
        for choice in self.choices or []:
            try:
                offered.add(self.coerce(choice.value if hasattr(choice, "value") else choice[0]))
            except (TypeError, ValueError):
                continue
        self.data = [value for value in (self.data or []) if value in offered]


def strip(value):
    """Filter: drop surrounding spaces people paste along with an address or a name."""
    return value.strip() if isinstance(value, str) else value


_MISTYPED_SCHEME = re.compile(r"^(https?)(?::/{0,3}|/{1,3})(?=[^/])", re.IGNORECASE)


def web_address(value):
    """Filter: ``www.example.com`` as people type it becomes ``http://www.example.com`` (the site
    redirects to https itself if it has it); an address with a scheme is left alone. Full-width
    letters typed with a Chinese input method, a mistyped ``http:/`` or ``http//`` and the dot that
    ends a sentence are mended rather than stored as a broken address."""
    value = strip(value)
    if not isinstance(value, str) or not value:
        return value
    value = unicodedata.normalize("NFKC", value).rstrip(".")
    value = _MISTYPED_SCHEME.sub(lambda m: m.group(1).lower() + "://", value)
    if "://" not in value and "." in value and not value.startswith(("/", ".")):
        return "http://" + value
    return value


def form_view(view):
    """Mark a view that builds and validates a FlaskForm: when its CSRF token is missing or stale,
    the view is run again so the form comes back with what was typed and the error beside it."""
    view.rerender_on_csrf_error = True
    return view


def show_error(form, exc):
    """Put a service's ``DomainError`` beside the field it names (or above the form); each of a
    ``FieldErrors`` beside its own field."""
    for each in getattr(exc, "errors", None) or ():
        show_error(form, each)
    if getattr(exc, "errors", None):
        return
    field = getattr(form, exc.field, None) if exc.field else None
    if field is not None:
        field.errors = list(field.errors) + [str(exc.message)]
    else:
        form.form_errors.append(str(exc.message))
