"""Identifiers people type: the unified social credit code (统一社会信用代码)."""

from flask_babel import lazy_gettext as _l
from stdnum.cn import uscc as uscc_number
from stdnum.exceptions import ValidationError

from marketplace.common.errors import DomainError


class InvalidUSCC(DomainError):
    message = _l("This is not a valid unified social credit code: check the 18 characters and the last one.")
    field = "uscc"


def clean_uscc(value):
    """Upper-case, without spaces or dashes, checked with python-stdnum (length, alphabet, check digit);
    None when empty."""
    value = (value or "").replace(" ", "").replace("-", "").upper()
    if not value:
        return None
    try:
        return uscc_number.validate(value)
    except ValidationError:
        raise InvalidUSCC() from None
