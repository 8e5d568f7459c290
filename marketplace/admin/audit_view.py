"""The audit log as people read it: record types and fields by their names in the UI language, the
record and the records a change points at by their names (not "Provider #40"), times in Beijing
time, statuses by their labels. A page is described with one query per kind of record it names."""

from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from marketplace.auth.models import User
from marketplace.auth.roles import ROLE_LABELS, Role
from marketplace.common.audit import MASK
from marketplace.common.templating import format_date, format_timestamp
from marketplace.engagements.models import ENGAGEMENT_STATUS_LABELS, Engagement, EngagementStatus, Rating
from marketplace.enterprises.models import HAZARD_LABELS, Enterprise, HazardClass
from marketplace.extensions import db
from marketplace.pledges.models import PledgeSignature, PledgeText
from marketplace.providers.models import (
    STATUS_LABELS,
    Fee,
    NoticeBatch,
    Provider,
    ProviderStatus,
    Qualification,
    StaffMember,
)
from marketplace.reference import cache
from marketplace.reference.models import ENGAGEMENT_KINDS, County, ServiceCategory

ACTIONS = {
    "create": _l("Created"),
    "update": _l("Changed"),
    "delete": _l("Deleted"),
    "login": _l("Logged in"),
    "logout": _l("Logged out"),
    "login_failed": _l("Failed login"),
    "login_refused_inactive": _l("Login refused (deactivated)"),
    "sign": _l("Signed the pledge"),
    "publish": _l("Published a notice list"),
    "password_reset_requested": _l("Asked for a password reset link"),
    "password_reset_unknown": _l("Asked for a reset link for an unknown address"),
    "password_reset": _l("Set a new password through a reset link"),
}

# Record type -> (its name, the column that names one record).
RECORDS = {
    "Provider": (_l("Agency"), Provider, Provider.name),
    "Qualification": (_l("Qualification"), Qualification, Qualification.cert_number),
    "StaffMember": (_l("Staff member"), StaffMember, StaffMember.name),
    "Fee": (_l("Fee line"), Fee, Fee.item),
    "User": (_l("Account"), User, User.email),
    "County": (_l("County"), County, County.name_zh),
    "ServiceCategory": (_l("Service category"), ServiceCategory, ServiceCategory.name_zh),
    "PledgeText": (_l("Pledge text"), PledgeText, PledgeText.version),
    "PledgeSignature": (_l("Pledge signature"), PledgeSignature, PledgeSignature.provider_name),
    "NoticeBatch": (_l("Notice batch"), NoticeBatch, NoticeBatch.batch_no),
    "Enterprise": (_l("Enterprise"), Enterprise, Enterprise.name),
    "Engagement": (_l("Engagement"), Engagement, Engagement.created_at),  # named by its WT number
    "Rating": (_l("Rating"), Rating, Rating.engagement_id),
}

# A field that points at another record, and that record's type.
REFERENCES = {
    "provider_id": "Provider",
    "account_id": "User",
    "county_id": "County",
    "category_id": "ServiceCategory",
    "parent_id": "ServiceCategory",
    "enterprise_id": "Enterprise",
    "engagement_id": "Engagement",
    "hidden_by_id": "User",
    "issued_by_id": "User",
    "signed_by_id": "User",
    "published_by_id": "User",
    "pledge_text_id": "PledgeText",
}

FIELDS = {
    "account_id": _l("Account"),
    "active": _l("In use"),
    "added": _l("Added"),
    "address": _l("Address"),
    "basis": _l("Pricing basis"),
    "batch_no": _l("Batch"),
    "budget": _l("Budget"),
    "category_id": _l("Service category"),
    "cert_number": _l("Certificate number"),
    "changed": _l("Details changed"),
    "clauses": _l("Clauses"),
    "client_address": _l("IP address"),
    "closed_at": _l("Closed"),
    "closing_reason": _l("Reason"),
    "code": _l("Code"),
    "completed_at": _l("Completed"),
    "conflict": _l("Advised and assessed"),
    "conflict_with": _l("Related"),
    "contact_person": _l("Contact person"),
    "content_sha256": "SHA-256",
    "contracted_at": _l("Contracted"),
    "county_id": _l("County"),
    "created_at": _l("Created"),
    "deactivated_at": _l("Deactivated"),
    "deleted_at": _l("Removed"),
    "description": _l("Description of services"),
    "display_name": _l("Name"),
    "email": _l("E-mail"),
    "engagement_id": _l("Engagement"),
    "engagement_kind": _l("Kind of work"),
    "enterprise_id": _l("Enterprise"),
    "expected_end": _l("Expected end"),
    "expected_start": _l("Expected start"),
    "file_id": _l("Scanned certificate"),
    "first_published_at": _l("Listed since"),
    "former_names": _l("Former names"),
    "founded_on": _l("Founding date"),
    "hazard_class": _l("Main hazard"),
    "hidden_at": _l("Hidden"),
    "hidden_by_id": _l("Hidden by"),
    "hidden_reason": _l("Public reason for hiding"),
    "id_number": _l("Resident ID number"),
    "industry": _l("Industry"),
    "issued_at": _l("Issued"),
    "issued_by_id": _l("Issued by"),
    "issuer": _l("Issued by"),
    "item": _l("Service item"),
    "last_login_at": _l("Last login"),
    "legal_representative": _l("Legal representative"),
    "name": _l("Name"),
    "name_en": _l("English name"),
    "name_zh": _l("Chinese name"),
    "parent_id": _l("Group"),
    "password_hash": _l("Password"),
    "phone": _l("Phone"),
    "pledge_signed_at": _l("Pledge signed"),
    "pledge_text_id": _l("Pledge text"),
    "pledge_version": _l("Pledge version"),
    "price_max": _l("Upper price (yuan)"),
    "price_min": _l("Price (yuan)"),
    "provider_id": _l("Agency"),
    "provider_name": _l("Agency name"),
    "provider_uscc": _l("Unified social credit code"),
    "published_at": _l("Publication date"),
    "published_by_id": _l("Published by"),
    "quote_note": _l("Note to the enterprise"),
    "quoted_at": _l("Quoted"),
    "quoted_end": _l("End"),
    "quoted_fee": _l("Fee (yuan)"),
    "quoted_start": _l("Start"),
    "rating_count": _l("Ratings"),
    "rating_total": _l("Rating total"),
    "replied_at": _l("Replied"),
    "reply": _l("Reply"),
    "revision_count": _l("Revisions"),
    "role": _l("Role"),
    "scope": _l("Scope"),
    "score": _l("Rating"),
    "sequence": _l("Number in the year"),
    "session_version": _l("Sessions ended"),
    "sha256": "SHA-256",
    "signed_at": _l("Signing time"),
    "signed_by_id": _l("Signed by"),
    "signed_text": _l("Signed text"),
    "signer_name": _l("Signer"),
    "signer_title": _l("Position"),
    "site_address": _l("Site address"),
    "sort_order": _l("Order"),
    "started_at": _l("Work started"),
    "status": _l("Status"),
    "status_changed_at": _l("Status changed"),
    "status_reason": _l("Reason"),
    "text": _l("Comments"),
    "text_sha256": "SHA-256",
    "title": _l("Title or qualification"),
    "title_en": _l("English title"),
    "title_zh": _l("Chinese title"),
    "total": _l("Agencies"),
    "unit": _l("Unit"),
    "updated_at": _l("Updated"),
    "uscc": _l("Unified social credit code"),
    "valid_from": _l("Valid from"),
    "valid_to": _l("Valid until"),
    "verification_code": _l("Verification code"),
    "version": _l("Version"),
    "warnings_confirmed": _l("Warnings confirmed"),
    "website": _l("Website"),
    "withdrawn": _l("Withdrawn"),
    "year": _l("Year"),
}

# Enumerated values shown by their labels, per field and record type.
ENUMS = {
    ("Provider", "status"): (ProviderStatus, STATUS_LABELS),
    ("Engagement", "status"): (EngagementStatus, ENGAGEMENT_STATUS_LABELS),
    ("User", "role"): (Role, ROLE_LABELS),
    ("Enterprise", "hazard_class"): (HazardClass, HAZARD_LABELS),
}


@dataclass
class Change:
    label: str
    before: str
    after: str


@dataclass
class Row:
    entry: object
    action: str
    record_type: str
    record: str
    changes: list = field(default_factory=list)


def record_types():
    """(type, its name) for the filter, in the UI language, alphabetical by name."""
    return sorted(((key, str(label)) for key, (label, _model, _column) in RECORDS.items()), key=lambda t: t[1])


def _names(wanted):
    """{type: {id: name}} for the records a page names: one query per type."""
    names = {}
    for record_type, ids in wanted.items():
        if record_type not in RECORDS or not ids:
            continue
        _label, model, column = RECORDS[record_type]
        numbers = [int(i) for i in ids if str(i).isdigit() and 0 < int(i) < 2**31]
        rows = db.session.execute(sa.select(model.id, column).where(model.id.in_(numbers))).all()
        if record_type == "Engagement":
            names[record_type] = {str(i): f"WT{created:%Y}{i:06d}" for i, created in rows}
        elif record_type == "ServiceCategory":
            label = cache.snapshot().category_label
            names[record_type] = {str(i): label(i) or name for i, name in rows}
        elif record_type == "County":
            known = cache.snapshot().county_by_id
            names[record_type] = {str(i): known[i].name if i in known else name for i, name in rows}
        elif record_type == "PledgeText":
            names[record_type] = {str(i): _("Version %(n)d", n=version) for i, version in rows}
        elif record_type == "Rating":
            names[record_type] = {str(i): _("Rating of engagement %(n)s", n=engagement) for i, engagement in rows}
        else:
            names[record_type] = {str(i): str(name) for i, name in rows}
    return names


def _value(record_type, name, value, names):
    if value is None or value == "" or value == []:
        return "—"
    if value == MASK:
        return _("(hidden)")
    if name in REFERENCES:
        return names.get(REFERENCES[name], {}).get(str(value), f"#{value}")
    enum = ENUMS.get((record_type, name))
    if enum is not None:
        try:
            return str(enum[1][enum[0](value)])
        except (ValueError, KeyError):
            return str(value)
    if name == "engagement_kind":
        return str(ENGAGEMENT_KINDS.get(value, value))
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] == "T":
        try:  # a point in time, stored as ISO text in UTC
            return format_timestamp(datetime.fromisoformat(value))
        except ValueError:
            return value
    if isinstance(value, str) and len(value) == 10 and value[4] == "-" and value[7] == "-":
        try:
            return format_date(date.fromisoformat(value))
        except ValueError:
            return value
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    return str(value)


def describe(entries):
    """The rows of a page of audit entries, ready to show."""
    wanted = {}
    for entry in entries:
        if entry.object_id:
            wanted.setdefault(entry.object_type, set()).add(entry.object_id)
        for name, values in (entry.changes or {}).items():
            if name in REFERENCES:
                wanted.setdefault(REFERENCES[name], set()).update(v for v in values if v is not None)
    names = _names(wanted)
    rows = []
    for entry in entries:
        label = RECORDS.get(entry.object_type, (entry.object_type,))[0]
        record = names.get(entry.object_type, {}).get(entry.object_id or "", "")
        if not record and entry.object_id:
            record = f"#{entry.object_id}"
        changes = []
        for name, (before, after) in (entry.changes or {}).items():
            if name in ("id", "canonical", "pdf", "csv"):
                continue
            changes.append(
                Change(
                    str(FIELDS.get(name, name.replace("_", " "))),
                    _value(entry.object_type, name, before, names),
                    _value(entry.object_type, name, after, names),
                )
            )
        rows.append(Row(entry, str(ACTIONS.get(entry.action, entry.action)), str(label), record, changes))
    return rows
