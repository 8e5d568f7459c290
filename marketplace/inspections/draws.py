"""Spot-check draws on a campaign's frozen population: commit, reveal, the published record, replay.

The algorithm is ``draw.py`` (nt-draw-1); this module keeps its inputs and outputs as records. The
commit publishes everything but the seed; the reveal is the only later write, and computes the sample
at once, so nothing chosen after the seed is known can shape it.
"""

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from marketplace.auth import permissions
from marketplace.auth.models import User
from marketplace.auth.roles import REGULATOR_ROLES
from marketplace.common.errors import DomainError, PermissionDenied
from marketplace.common.time import utcnow
from marketplace.extensions import db
from marketplace.inspections import draw as nt_draw
from marketplace.inspections import services
from marketplace.inspections.models import (
    CampaignStatus,
    CampaignUnit,
    Check,
    ConflictDeclaration,
    Draw,
    Finding,
    Tier,
)
from marketplace.providers.models import Provider

CITY = "南通市"  # the county of a city inspector: no stratum is named so, so no unit excludes them


class DrawAwaitingSeed(DomainError):
    message = _l("A draw of this campaign is waiting for its seed: reveal it before committing another.")


def candidates():
    """Regulator accounts that may sit in a draw's inspector pool."""
    return db.session.scalars(
        sa.select(User).where(User.role.in_(REGULATOR_ROLES), User.active.is_(True)).order_by(User.id)
    ).all()


def declared_conflicts(user_ids):
    """{user id: sorted credit codes of the agencies each declared a conflict with}."""
    rows = db.session.execute(
        sa.select(ConflictDeclaration.inspector_id, Provider.uscc)
        .join(Provider, Provider.id == ConflictDeclaration.provider_id)
        .where(ConflictDeclaration.inspector_id.in_(list(user_ids)), Provider.uscc.is_not(None))
    ).all()
    found = {}
    for user_id, uscc in rows:
        found.setdefault(user_id, set()).add(uscc)
    return {user_id: sorted(codes) for user_id, codes in found.items()}


def declare_conflict(actor, provider, reason):
    if not permissions.can_declare_conflict(actor):
        raise PermissionDenied()
    if provider is None or not provider.uscc:
        raise DomainError(_l("Choose an agency."), field="provider_id")
    if not (reason or "").strip():
        raise DomainError(_l("Give a reason: it is published with the draw."), field="reason")
    declaration = ConflictDeclaration(inspector_id=actor.id, provider_id=provider.id, reason=reason.strip())
    db.session.add(declaration)
    db.session.flush()
    return declaration


def pending_draw(campaign):
    return db.session.scalar(sa.select(Draw).where(Draw.campaign_id == campaign.id, Draw.revealed_at.is_(None)))


def commit_draw(actor, campaign, *, seed_source, inspector_ids, now=None):
    """Freeze the draw's inputs and publish them: population file and hash, quotas, inspector pool with
    their declared conflicts, and the public value that will be the seed. (``now``: the demo data's
    history; the application always commits at the present time.)"""
    if not permissions.can_manage_campaigns(actor):
        raise PermissionDenied()
    if campaign.status is not CampaignStatus.OPEN:
        raise services.CampaignNotOpen()
    if pending_draw(campaign) is not None:
        raise DrawAwaitingSeed()
    errors = []
    seed_source = (seed_source or "").strip()
    if not seed_source:
        errors.append(DomainError(_l("Name the public value that will be the seed."), field="seed_source"))
    offered = {user.id: user for user in candidates()}
    chosen = [offered[i] for i in inspector_ids if i in offered]
    if len(chosen) < nt_draw.INSPECTORS_PER_UNIT + 1:
        errors.append(
            DomainError(
                _l("Choose at least three inspectors, so two can come from another county."), field="inspectors"
            )
        )
    if errors:
        from marketplace.common.errors import raise_all

        raise_all(errors)
    rows = db.session.execute(
        sa.select(CampaignUnit.unit, CampaignUnit.stratum).where(CampaignUnit.campaign_id == campaign.id)
    ).all()
    units = [nt_draw.Unit(unit, stratum) for unit, stratum in rows]
    data = nt_draw.population_csv(units)
    sizes = {}
    for unit in units:
        sizes[unit.stratum] = sizes.get(unit.stratum, 0) + 1
    conflicts = declared_conflicts(u.id for u in chosen)
    pool = [
        {
            "id": permissions.inspector_id(user),
            "name": user.display_name,
            "county": user.county.name_zh if user.county is not None else CITY,
            "conflicts": conflicts.get(user.id, []),
        }
        for user in chosen
    ]
    record = Draw(
        campaign_id=campaign.id,
        algorithm=nt_draw.ALGORITHM,
        population=data,
        population_sha256=nt_draw.sha256_hex(data),
        population_size=len(units),
        quotas=dict(sorted(services.quotas(campaign, sizes).items())),
        inspector_pool=pool,
        seed_source=seed_source,
        committed_at=now or utcnow(),
        committed_by_id=actor.id,
    )
    db.session.add(record)
    db.session.flush()
    return record


def compute(record, seed):
    """(sample, inspectors) of a draw's published inputs under ``seed``: nt-draw-1, nothing else."""
    units = nt_draw.read_population(record.population)
    pool = [nt_draw.Inspector(i["id"], i["county"], frozenset(i["conflicts"])) for i in record.inspector_pool]
    sample = nt_draw.select(units, seed, record.quotas)
    return sample, nt_draw.assign(sample, units, seed, pool)


def reveal_draw(actor, record, seed, now=None):
    """Enter the seed once it is public; the sample and its inspectors follow, and never change."""
    if not permissions.can_manage_campaigns(actor):
        raise PermissionDenied()
    if record.revealed_at is not None:
        raise DomainError(_l("This draw is revealed: it can never change."))
    seed = (seed or "").strip()
    if not seed:
        raise DomainError(_l("Enter the value exactly as its source published it."), field="seed")
    if len(seed) > 500:
        raise DomainError(_l("Use at most %(n)d characters.", n=500), field="seed")
    sample, inspectors = compute(record, seed)
    record.seed, record.sample, record.inspectors = seed, sample, inspectors
    record.revealed_at, record.revealed_by_id = now or utcnow(), actor.id
    db.session.flush()
    return record


def assigned_to(unit):
    """The inspector ids revealed draws of the unit's campaign assigned to it, with the draw."""
    for record in db.session.scalars(
        sa.select(Draw).where(Draw.campaign_id == unit.campaign_id, Draw.revealed_at.is_not(None)).order_by(Draw.id)
    ):
        if unit.unit in (record.inspectors or {}):
            return record, record.inspectors[unit.unit]
    return None, []


def results(record):
    """{unit name: (spot-check, [finding codes])} for the draw's sampled units that have been checked."""
    if not record.sample:
        return {}
    checks = db.session.scalars(
        sa.select(Check).where(Check.draw_id == record.id, Check.tier == Tier.SPOT).order_by(Check.id)
    ).all()
    latest = {}
    for check in checks:
        latest[check.unit_id] = check
    codes = {}
    for check_id, code in db.session.execute(
        sa.select(Finding.check_id, Finding.code).where(Finding.check_id.in_([c.id for c in latest.values()]))
    ):
        codes.setdefault(check_id, []).append(code)
    names = dict(
        db.session.execute(sa.select(CampaignUnit.id, CampaignUnit.unit).where(CampaignUnit.id.in_(list(latest)))).all()
    )
    return {names[unit_id]: (check, sorted(codes.get(check.id, []))) for unit_id, check in latest.items()}


def as_json(record):
    """The published record: what ``scripts/verify_draw.py`` reads (field names are the public format)."""
    found = results(record)
    return {
        "id": record.id,
        "campaign": record.campaign.name,
        "algorithm": record.algorithm,
        "population_sha256": record.population_sha256,
        "population_size": record.population_size,
        "committed_at": record.committed_at.isoformat(),
        "seed_source": record.seed_source,
        "seed": record.seed,
        "revealed_at": record.revealed_at.isoformat() if record.revealed_at else None,
        "quotas": record.quotas,
        "sample": record.sample or [],
        "inspector_pool": [
            {"id": i["id"], "name": i["name"], "county": i["county"], "conflicts": i["conflicts"]}
            for i in record.inspector_pool
        ],
        "inspectors": record.inspectors or {},
        "results": {
            unit: {
                "conclusion": check.conclusion.value,
                "findings": codes,
                "checked_at": check.submitted_at.isoformat(),
            }
            for unit, (check, codes) in sorted(found.items())
        },
    }


def verify(record):
    """Replay a revealed draw from its stored inputs: (ok, [problems])."""
    problems = []
    if nt_draw.sha256_hex(record.population) != record.population_sha256:
        problems.append("the population file does not match its published SHA-256")
    if record.seed is None:
        return not problems, problems + ["the draw is not revealed yet"]
    sample, inspectors = compute(record, record.seed)
    if sample != record.sample:
        problems.append("the sample differs from the published one")
    if inspectors != record.inspectors:
        problems.append("the inspectors differ from the published ones")
    return not problems, problems
