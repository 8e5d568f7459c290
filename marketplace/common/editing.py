"""Two people (or two tabs) editing the same record: the second save is refused, never silently lost.

A form that edits a ``Versioned`` record carries, in its hidden ``version`` field, the record's version
and a keyed digest of the values its fields showed when it was opened. Saving checks them:

- same version: nobody saved meanwhile;
- another version, same digest: the record changed only in what this form does not show (a rating,
  a status), so the save goes ahead;
- otherwise ``EditedMeanwhile``: nothing is saved, the form comes back with what this person typed,
  and under each field that differs, what the other person saved. The form now carries the new
  version, so saving again (after checking) keeps this person's values deliberately.

Between the check and the commit, ``version_id_col`` catches the last race (``StaleDataError``, turned
into the same refusal by ``committing``). A view does::

    with committing(form) as saved:
        editing.check(form, record, state)
        services.save_...(...)
    ...
    editing.stamp(form, record, state, saved)   # before rendering the form again

where ``state()`` gives the record's saved values under the form's field names.
"""

import datetime
import decimal
import enum
import hashlib
import hmac
import json

from flask import current_app, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import HiddenField

from marketplace.common.errors import DomainError


class EditedMeanwhile(DomainError):
    message = _l(
        "Someone else saved this record after you opened it, so nothing of yours was saved. What is saved now is "
        "shown under each field that differs from what you typed; check them and save again to keep yours."
    )


class VersionedFormMixin:
    """The hidden field that carries what the form was opened on (see the module's text)."""

    version = HiddenField()


def _plain(value):
    """A value as text that compares equal however it was typed or stored."""
    if value is None:
        return ""
    if isinstance(value, enum.Enum):
        return _plain(value.value)
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, decimal.Decimal | float):
        return format(decimal.Decimal(str(value)).normalize(), "f")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, list | tuple | set | frozenset):
        return json.dumps(sorted(_plain(v) for v in value), ensure_ascii=False)
    return str(value).strip()


def _digest(values):
    text = json.dumps({name: _plain(value) for name, value in values.items()}, sort_keys=True, ensure_ascii=False)
    return hmac.new(current_app.config["SECRET_KEY"].encode(), text.encode(), hashlib.sha256).hexdigest()[:24]


def _token(record, values):
    return f"{record.version}.{_digest(values)}"


def check(form, record, state):
    """Refuse (``EditedMeanwhile``) a form opened before someone else saved this form's fields. A form
    that carries no version (a hand-made request) is not checked; a new record has nothing to lose."""
    sent = str(form.version.data or "").strip()
    if record is None or record.version is None or not sent:
        return
    version, _sep, digest = sent.partition(".")
    if version == str(record.version) or hmac.compare_digest(digest, _digest(state())):
        return
    raise EditedMeanwhile()


def _shown(field, value):
    """``value`` as the field would show it: a choice by its label, a flag as yes/no."""
    choices = {str(value): str(label) for value, label, *_rest in getattr(field, "iter_choices", list)()}
    if isinstance(value, list | tuple | set):
        return "、".join(choices.get(str(v), str(v)) for v in value) or "—"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, enum.Enum):
        value = value.value
    text = choices.get(str(value), _plain(value))
    mask = getattr(field, "mask_saved", None)
    return (mask(text) if mask else text) or "—"


def stamp(form, record, state, outcome=None):
    """Before the form is shown: a form opened now carries the record's version; after an
    ``EditedMeanwhile`` refusal, each field that differs gets ``saved_meanwhile`` (shown under it, and
    listed above the form) and the form carries the new version. After any other refusal the form
    keeps the version it was opened on."""
    if record is None:
        return
    refused = outcome is not None and isinstance(outcome.error, EditedMeanwhile)
    if request.method == "POST" and not refused:
        return
    values = state()  # after a refusal: the record as saved now (the rollback expired this session's copy)
    if refused:
        form.saved_meanwhile = []
        for name, value in values.items():
            field = form[name]
            if _plain(field.data) != _plain(value):
                field.saved_meanwhile = _shown(field, value)
                form.saved_meanwhile.append((field.label.text, field.saved_meanwhile))
    form.version.data = _token(record, values)


def state_of(record, names, **extra):
    """The ``state`` that ``check`` and ``stamp`` take: the record's attributes under the form's field
    names, and for each of ``extra`` (a name the record has no attribute for) a function of the record."""

    def state():
        values = {name: getattr(record, name) for name in names if name not in extra}
        values.update({name: get(record) for name, get in extra.items()})
        return values

    return state
