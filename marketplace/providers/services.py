"""Declaration rules: the agency's own record, its parts, publication, suspension (each saved change
becomes a revision, see ``providers.revisions``).

Services flush and raise ``DomainError``; the caller commits (``common.transaction``).
"""

import re
import unicodedata

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload
from stdnum.cn import ric
from stdnum.exceptions import ValidationError

from marketplace.auth import permissions
from marketplace.common.errors import DomainError, NotFound, PermissionDenied, raise_all
from marketplace.common.identifiers import InvalidUSCC, clean_uscc
from marketplace.common.time import local_today, utcnow
from marketplace.common.uploads import store_upload
from marketplace.extensions import db
from marketplace.pledges import services as pledges
from marketplace.providers import revisions
from marketplace.providers.models import (
    Fee,
    Provider,
    ProviderStatus,
    Qualification,
    StaffMember,
)
from marketplace.reference.models import County, ServiceCategory


class DuplicateUSCC(DomainError):
    field = "uscc"

    def __init__(self):
        super().__init__(
            _l(
                "An agency with this credit code has already been declared. If it is yours and you "
                "cannot reach that account, contact the bureau (%(phone)s).",
                phone=current_app.config["OPERATOR_CONTACT"],
            )
        )


class InvalidPeriod(DomainError):
    message = _l("The end date cannot be before the start date.")
    field = "valid_to"


class InvalidPrice(DomainError):
    field = "price_min"


class InvalidIdNumber(DomainError):
    message = _l("This is not a valid 18-digit resident ID number.")
    field = "id_number"


class DuplicateStaff(DomainError):
    message = _l("This person is already on your staff: edit that entry instead of adding it again.")
    field = "name"


class FutureDate(DomainError):
    message = _l("The founding date cannot be in the future.")
    field = "founded_on"


class ScanRequired(DomainError):
    message = _l("Attach the scanned certificate.")
    field = "file"


class DeclarationMustStayComplete(DomainError):
    def __init__(self, missing):
        super().__init__(
            _l(
                "A published agency's declaration must stay complete. Missing: %(items)s.",
                items="、".join(str(m) for m in missing),
            )
        )


class FrozenWhileSuspended(DomainError):
    message = _l("While the agency is suspended its credit code and registered county cannot change.")
    field = "county_id"


class ReasonRequired(DomainError):
    message = _l("Give the reason; it is shown on the public profile.")
    field = "reason"


class InvalidStatusChange(DomainError):
    message = _l("This change of status is not possible now.")


class DeclarationIncomplete(DomainError):
    message = _l("Complete the declaration before signing the pledge.")


# --- loading ---------------------------------------------------------------------------------


def own_provider(user, create=False):
    """The agency record of an agency account (made empty, as a draft, on first use)."""
    provider = db.session.scalar(sa.select(Provider).where(Provider.account_id == user.id))
    if provider is None and create:
        provider = Provider(
            account_id=user.id,
            contact_person=user.display_name,
            phone=user.phone or "",
            email=user.email,
            status=ProviderStatus.DRAFT,
        )
        db.session.add(provider)
        db.session.flush()
    return provider


def load_provider(provider_id):
    """A provider by id with everything its pages show loaded, or None."""
    return db.session.get(
        Provider,
        provider_id,
        options=[
            selectinload(Provider.categories),
            selectinload(Provider.regions),
            selectinload(Provider.qualifications),
            selectinload(Provider.staff),
            selectinload(Provider.fees),
        ],
    )


def own_item(model, provider, item_id):
    """One of the agency's own current qualifications, staff members or fee lines."""
    item = db.session.get(model, item_id)
    if item is None or item.provider_id != provider.id or item.deleted_at is not None:
        raise NotFound()
    return item


# --- completeness ----------------------------------------------------------------------------

REQUIRED_FIELDS = (
    ("uscc", _l("Unified social credit code")),
    ("name", _l("Agency name")),
    ("legal_representative", _l("Legal representative")),
    ("county_id", _l("Registered county")),
    ("address", _l("Address")),
    ("contact_person", _l("Contact person")),
    ("phone", _l("Phone")),
    ("description", _l("Description of services")),
)


def missing_items(provider):
    """What the declaration still lacks before the pledge can be signed."""
    missing = [label for field, label in REQUIRED_FIELDS if not getattr(provider, field)]
    if not provider.categories:
        missing.append(_l("At least one service category"))
    if not provider.regions:
        missing.append(_l("At least one county served"))
    return missing


# --- the declaration -------------------------------------------------------------------------


def _require_owner(actor, provider):
    if not permissions.can_edit_provider(actor, provider):
        raise PermissionDenied()
    _lock(provider)


def _lock(provider):
    """Serialise writes to one agency (two tabs, two workers): PostgreSQL holds its row until commit."""
    db.session.execute(sa.select(Provider.id).where(Provider.id == provider.id).with_for_update())


def _require_own_item(provider, item):
    if item is not None and (item.provider_id != provider.id or item.deleted_at is not None):
        raise PermissionDenied()


def _declaration_rules(provider, values):
    """(the credit code as stored, every rule the values break); a value not given is the current one."""
    problems = []
    try:
        uscc = clean_uscc(values.get("uscc", provider.uscc))
    except InvalidUSCC as exc:
        problems.append(exc)
        uscc = provider.uscc
    if uscc and db.session.scalar(sa.select(Provider.id).where(Provider.uscc == uscc, Provider.id != provider.id)):
        problems.append(DuplicateUSCC())
    if values.get("founded_on") and values["founded_on"] > local_today():
        problems.append(FutureDate())
    if values.get("county_id") is not None and db.session.get(County, values["county_id"]) is None:
        problems.append(DomainError(_l("Choose a county from the list."), field="county_id"))
    if provider.status is not ProviderStatus.DRAFT and not uscc and not problems:
        problems.append(InvalidUSCC(_l("A published agency must keep its credit code.")))
    if provider.status is ProviderStatus.SUSPENDED and (
        uscc != provider.uscc or values.get("county_id", provider.county_id) != provider.county_id
    ):
        problems.append(FrozenWhileSuspended())
    return uscc, problems


def declaration_problems(provider, **values):
    """The declaration rules that the values a form accepted break (a credit code another agency
    declared, say), so that the form shows them together with its own format errors: every problem
    at once, not one round each."""
    return _declaration_rules(provider, values)[1]


def save_declaration(actor, provider, *, category_ids, region_ids, **values):
    """Save the declaration's main part (a draft may be incomplete; what is given must be valid)."""
    _require_owner(actor, provider)
    before = revisions.snapshot(provider)
    values["uscc"], problems = _declaration_rules(provider, values)
    raise_all(problems)  # every problem at once, each beside its field
    for key, value in values.items():
        setattr(provider, key, value.strip() if isinstance(value, str) else value)
    provider.categories = db.session.scalars(
        sa.select(ServiceCategory).where(
            ServiceCategory.id.in_(_ids(category_ids)), ServiceCategory.active, ServiceCategory.parent_id.is_not(None)
        )
    ).all()
    provider.regions = db.session.scalars(sa.select(County).where(County.id.in_(_ids(region_ids)), County.active)).all()
    db.session.flush()
    if provider.status is not ProviderStatus.DRAFT:
        missing = missing_items(provider)
        if missing:
            raise DeclarationMustStayComplete(missing)
    return revisions.record(actor, provider, "declaration", before)


def _ids(values):
    """Record numbers from a form, without anything the database could not hold."""
    return [v for v in (values or []) if isinstance(v, int) and 0 < v < 2**31]


def _save_item(actor, provider, model, existing, summary, values, upload=None):
    """Create (``existing=None``) or update one listed item and record the revision."""
    _require_own_item(provider, existing)
    before = revisions.snapshot(provider)
    item = existing
    if item is None:
        item = model(provider_id=provider.id)
        db.session.add(item)
    for key, value in values.items():
        setattr(item, key, value.strip() if isinstance(value, str) else value)
    if upload is not None:
        item.file = store_upload(upload, actor=actor)
    db.session.flush()
    revisions.record(actor, provider, summary, before)
    return item


def save_qualification(actor, provider, existing, *, upload=None, **values):
    """Add or change a qualification; the period must be valid; a new scan replaces the old one."""
    _require_owner(actor, provider)
    if values["valid_to"] < values["valid_from"]:
        raise InvalidPeriod()
    if upload is None and (existing is None or existing.file_id is None):
        raise ScanRequired()
    if "category_ids" in values:  # which of the agency's declared categories the certificate covers
        declared = {c.id for c in provider.categories}
        values["categories"] = db.session.scalars(
            sa.select(ServiceCategory).where(
                ServiceCategory.id.in_([i for i in _ids(values.pop("category_ids")) if i in declared])
            )
        ).all()
    return _save_item(actor, provider, Qualification, existing, "qualification", values, upload)


def save_staff(actor, provider, existing, **values):
    """Add or change a staff member; the ID number, when given, must be a valid resident ID."""
    _require_owner(actor, provider)
    id_number = (values.get("id_number") or "").strip().upper()
    if not id_number and existing is not None:
        id_number = existing.id_number  # an empty field keeps the number on file (it is never sent back)
    elif id_number:
        try:
            id_number = ric.validate(id_number)
        except ValidationError:
            raise InvalidIdNumber() from None
    values["id_number"] = id_number
    _refuse_duplicate_staff(provider, existing, values)
    return _save_item(actor, provider, StaffMember, existing, "staff", values)


_NOT_PART_OF_A_NAME = re.compile(r"[\s\-_/.·•]+")


def _same_text(value):
    """A name, certificate number or title as people retype it: full-width letters, case, spaces,
    dashes and the middle dot of a transcribed name make no other person (李伟 / 李 伟, AQ-100 / aq 100)."""
    return _NOT_PART_OF_A_NAME.sub("", unicodedata.normalize("NFKC", value or "")).casefold()


def _refuse_duplicate_staff(provider, existing, values):
    """One person is on the staff once: the same resident ID number, or the same name with the same
    certificate number, is the same person (two 王伟 without either are told apart by a title)."""
    others = [m for m in provider.staff if existing is None or m.id != existing.id]
    name, cert = (values.get("name") or "").strip(), _same_text(values.get("cert_number"))
    for member in others:
        if values["id_number"] and member.id_number == values["id_number"]:
            raise DuplicateStaff(field="id_number")
        same_name = _same_text(member.name) == _same_text(name)
        if same_name and cert and _same_text(member.cert_number) == cert:
            raise DuplicateStaff(field="cert_number")
        if (
            same_name
            and not cert
            and not values["id_number"]
            and _same_text(member.title) == _same_text(values.get("title"))
        ):
            raise DuplicateStaff(
                _l(
                    "%(name)s is already on your staff with this title. Add the certificate or ID "
                    "number if this is another person of the same name.",
                    name=name,
                ),
                field="name",
            )


def save_fee(actor, provider, existing, **values):
    """Add or change a fee line: a price or a price range, never negative."""
    _require_owner(actor, provider)
    low, high = values["price_min"], values.get("price_max")
    if low is None or low < 0:
        raise InvalidPrice(_l("The price cannot be negative."))
    if high is not None and high < low:
        raise InvalidPrice(_l("The upper price cannot be lower than the lower price."), field="price_max")
    return _save_item(actor, provider, Fee, existing, "fee", values)


def remove_item(actor, provider, item, summary):
    """Soft-delete a qualification, staff member or fee line (it stays in the revisions)."""
    _require_owner(actor, provider)
    _require_own_item(provider, item)
    before = revisions.snapshot(provider)
    item.deleted_at = utcnow()
    db.session.flush()
    revisions.record(actor, provider, summary, before)


# --- publication -----------------------------------------------------------------------------


def sign_pledge(actor, provider, text, **signing):
    """The legal representative signs the pledge in force: the agency is published at once, with no
    approval step (不设置准入条件). ``signing``: signer_name, signer_title, confirmed, client_address."""
    _require_owner(actor, provider)
    if missing_items(provider):
        raise DeclarationIncomplete()
    signature = pledges.sign(actor, provider, text, **signing)
    before = revisions.snapshot(provider)
    provider.pledge_version = signature.version
    provider.pledge_signed_at = signature.signed_at
    if provider.status in (ProviderStatus.DRAFT, ProviderStatus.WITHDRAWN):
        provider.status = ProviderStatus.PUBLISHED
        provider.status_reason = ""
        provider.status_changed_at = signature.signed_at
        provider.first_published_at = provider.first_published_at or signature.signed_at
    revisions.record(actor, provider, "pledge", before)
    return signature


def withdraw(actor, provider):
    """The agency takes itself off the directory (it can come back by signing the pledge again)."""
    _require_owner(actor, provider)
    if provider.status is not ProviderStatus.PUBLISHED:
        raise InvalidStatusChange()
    return _set_status(actor, provider, ProviderStatus.WITHDRAWN, "")


def suspend(actor, provider, reason):
    """A regulator suspends a published agency; the reason is public."""
    if not permissions.can_suspend_provider(actor, provider):
        raise PermissionDenied()
    if provider.status is not ProviderStatus.PUBLISHED:
        raise InvalidStatusChange()
    return _set_status(actor, provider, ProviderStatus.SUSPENDED, reason)


def reinstate(actor, provider, reason):
    """A regulator lifts a suspension, with a reason that is public too."""
    if not permissions.can_suspend_provider(actor, provider):
        raise PermissionDenied()
    if provider.status is not ProviderStatus.SUSPENDED:
        raise InvalidStatusChange()
    return _set_status(actor, provider, ProviderStatus.PUBLISHED, reason)


def _set_status(actor, provider, status, reason):
    reason = (reason or "").strip()
    if status is ProviderStatus.SUSPENDED and not reason:
        raise ReasonRequired()
    if actor is not None and permissions.is_regulator(actor) and not reason:
        raise ReasonRequired()
    _lock(provider)
    before = revisions.snapshot(provider)
    provider.status = status
    provider.status_reason = reason
    provider.status_changed_at = utcnow()
    db.session.flush()
    return revisions.record(actor, provider, "status", before)


# --- qualification expiry --------------------------------------------------------------------


def qualification_alerts(provider, today=None):
    """(expired, expiring within the reminder period) qualifications."""
    today = today or local_today()
    days = current_app.config["QUALIFICATION_REMINDER_DAYS"]
    expired = [q for q in provider.qualifications if q.expired(today)]
    soon = [q for q in provider.qualifications if q.expires_within(today, days)]
    return expired, soon
