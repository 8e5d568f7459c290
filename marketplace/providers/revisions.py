"""Revisions of an agency's declaration: every saved change is a numbered revision holding what
changed, before and after, as plain values (personal ID numbers masked). The public sees only the
current state; the agency and the regulators read the history."""

import hashlib
import hmac
from collections import Counter
from decimal import Decimal

import sqlalchemy as sa
from flask import current_app

from marketplace.common.models import StoredFile
from marketplace.common.time import utcnow
from marketplace.extensions import db
from marketplace.providers.models import (
    Fee,
    ProviderRevision,
    Qualification,
    StaffMember,
    mask_id_number,
    provider_categories,
    provider_regions,
    qualification_categories,
)
from marketplace.reference.models import County, ServiceCategory


def _money(value):
    return None if value is None else f"{Decimal(value):.2f}"


def _id_fingerprint(id_number):
    """Masked, plus a keyed hash, so a revision shows that an ID number changed without showing it."""
    if not id_number:
        return ""
    key = current_app.config["SECRET_KEY"].encode()
    return f"{mask_id_number(id_number)} #{hmac.new(key, id_number.encode(), hashlib.sha256).hexdigest()[:6]}"


def snapshot(provider):
    """The declaration as plain values, for revisions (personal ID numbers masked). Read with a few
    plain queries: it runs twice for every change an agency saves."""
    db.session.flush()
    # What was read through the relationships may be stale now; they reload when next used.
    db.session.expire(provider, ["county", "categories", "regions", "qualifications", "staff", "fees"])
    pid = provider.id

    def names(table, column, model):
        return list(
            db.session.scalars(
                sa.select(model.name_zh)
                .join(table, getattr(table.c, column) == model.id)
                .where(table.c.provider_id == pid)
                .order_by(model.sort_order, model.id)
            )
        )

    county = (
        db.session.scalar(sa.select(County.name_zh).where(County.id == provider.county_id))
        if provider.county_id
        else None
    )
    qualifications = db.session.execute(
        sa.select(
            Qualification.id,
            Qualification.cert_number,
            Qualification.issuer,
            Qualification.scope,
            Qualification.valid_from,
            Qualification.valid_to,
            StoredFile.original_name,
            StoredFile.sha256,
        )
        .outerjoin(StoredFile, StoredFile.id == Qualification.file_id)
        .where(Qualification.provider_id == pid, Qualification.deleted_at.is_(None))
        .order_by(Qualification.id)
    ).all()
    covered = {}
    for qualification_id, name in db.session.execute(
        sa.select(qualification_categories.c.qualification_id, ServiceCategory.name_zh)
        .join(ServiceCategory, ServiceCategory.id == qualification_categories.c.category_id)
        .where(qualification_categories.c.qualification_id.in_([q.id for q in qualifications]))
        .order_by(ServiceCategory.sort_order, ServiceCategory.id)
    ):
        covered.setdefault(qualification_id, []).append(name)
    staff = db.session.execute(
        sa.select(StaffMember.name, StaffMember.cert_number, StaffMember.title, StaffMember.id_number)
        .where(StaffMember.provider_id == pid, StaffMember.deleted_at.is_(None))
        .order_by(StaffMember.id)
    ).all()
    fees = db.session.execute(
        sa.select(Fee.item, Fee.unit, Fee.price_min, Fee.price_max, Fee.basis)
        .where(Fee.provider_id == pid, Fee.deleted_at.is_(None))
        .order_by(Fee.id)
    ).all()
    return {
        "uscc": provider.uscc or "",
        "name": provider.name,
        "former_names": provider.former_names,
        "legal_representative": provider.legal_representative,
        "county": county or "",
        "address": provider.address,
        "contact_person": provider.contact_person,
        "phone": provider.phone,
        "email": provider.email,
        "website": provider.website,
        "founded_on": provider.founded_on.isoformat() if provider.founded_on else "",
        "description": provider.description,
        "categories": names(provider_categories, "category_id", ServiceCategory),
        "regions": names(provider_regions, "county_id", County),
        "qualifications": [
            f"{q.cert_number}｜{q.issuer}｜{q.scope}｜{q.valid_from.isoformat()}—{q.valid_to.isoformat()}"
            + (f"｜{q.original_name}（SHA-256 {q.sha256[:12]}）" if q.original_name else "")
            + (f"｜{'、'.join(covered[q.id])}" if q.id in covered else "")
            for q in qualifications
        ],
        "staff": [f"{m.name}｜{m.cert_number}｜{m.title}｜{_id_fingerprint(m.id_number)}" for m in staff],
        "fees": [
            f"{f.item}｜{f.unit}｜{_money(f.price_min)}"
            + (f"—{_money(f.price_max)}" if f.price_max else "")
            + f"｜{f.basis}"
            for f in fees
        ],
        "status": provider.status.value,
        "status_reason": provider.status_reason,
        "pledge_version": provider.pledge_version,
    }


def record(actor, provider, summary, before):
    """Store a revision when the declaration changed; the public sees only the current state."""
    after = snapshot(provider)
    changes = {key: [before.get(key), value] for key, value in after.items() if before.get(key) != value}
    if not changes:
        return None
    number = (
        db.session.scalar(
            sa.select(sa.func.max(ProviderRevision.number)).where(ProviderRevision.provider_id == provider.id)
        )
        or 0
    ) + 1
    provider.revision_count = number
    provider.updated_at = utcnow()
    revision = ProviderRevision(
        provider_id=provider.id,
        number=number,
        created_at=utcnow(),
        actor_id=getattr(actor, "id", None),
        actor_label=getattr(actor, "email", None),
        summary=summary,
        changes=changes,
    )
    db.session.add(revision)
    db.session.flush()
    return revision


def list_changes(old, new):
    """(removed, added, unchanged count) between two versions of a listed part (staff, fees…), each
    entry counted as often as it occurs."""
    old, new = Counter(old or []), Counter(new or [])
    return list((old - new).elements()), list((new - old).elements()), sum((old & new).values())


def history(provider):
    """The agency's revisions, newest first."""
    return db.session.scalars(
        sa.select(ProviderRevision)
        .where(ProviderRevision.provider_id == provider.id)
        .order_by(ProviderRevision.number.desc())
    ).all()
