"""Reads of supervision: the campaigns and units a user may see, and the coverage dashboard.

The dashboard counts with a fixed number of grouped queries whatever the population's size (the
benchmark holds it to 300 ms and a bounded number of statements at 100,000 units).
"""

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import aliased, joinedload

from marketplace.auth import permissions
from marketplace.common.i18n import current_language
from marketplace.common.time import local_today
from marketplace.extensions import db
from marketplace.inspections.models import (
    Campaign,
    CampaignStatus,
    CampaignUnit,
    Check,
    Conclusion,
    Draw,
    Finding,
    Penalty,
    Rectification,
    RectificationStep,
    Tier,
)
from marketplace.providers.models import Provider
from marketplace.reference import cache


def campaigns_for(user):
    """Regulators: every campaign (drafts for the city only); agencies: the campaigns with their units."""
    query = sa.select(Campaign).order_by(Campaign.created_at.desc(), Campaign.id.desc())
    if permissions.is_agency(user):
        mine = (
            sa.select(CampaignUnit.campaign_id)
            .join(Provider, Provider.id == CampaignUnit.provider_id)
            .where(Provider.account_id == user.id)
        )
        return query.where(Campaign.id.in_(mine), Campaign.status != CampaignStatus.DRAFT)
    if not permissions.can_manage_campaigns(user):
        query = query.where(Campaign.status != CampaignStatus.DRAFT)
    return query


# The corrections looked for by the two conditions below. Made once: building an alias costs more than the
# rest of the query (a seventh of an agency's profile page when it was made on every call).
_NEWER_PENALTY = aliased(Penalty, name="newer_penalty")
_NEWER_CHECK = aliased(Check, name="newer_check")


def in_force(penalty):
    """Not set aside, and not replaced by a correction (a condition on ``penalty``, the model or an alias)."""
    return sa.and_(penalty.withdrawn.is_(False), ~sa.exists().where(_NEWER_PENALTY.supersedes_id == penalty.id))


def current_checks():
    """Checks that no correction replaced."""
    return ~sa.exists().where(_NEWER_CHECK.supersedes_id == Check.id)


UNIT_STATES = (
    "no_self_check",
    "self_non_compliant",
    "not_rechecked",
    "rechecked",
    "disagreement",
    "has_findings",
)


def units_query(user, campaign, *, county_id=None, state="", text=""):
    """The units ``user`` may see in a campaign: an agency its own, a county regulator its county's."""
    query = sa.select(CampaignUnit).where(CampaignUnit.campaign_id == campaign.id)
    if permissions.is_agency(user):
        query = query.join(Provider, Provider.id == CampaignUnit.provider_id).where(Provider.account_id == user.id)
    elif permissions.is_county_regulator(user):
        query = query.where(CampaignUnit.county_id == user.county_id)
    elif not permissions.is_regulator(user):
        return query.where(sa.false())
    if county_id:
        query = query.where(CampaignUnit.county_id == county_id)
    if text:
        like = f"%{text.replace('%', '').replace('_', '')}%"
        query = query.where(CampaignUnit.unit.ilike(like))

    def has(tier, *conditions):
        return sa.exists().where(Check.unit_id == CampaignUnit.id, Check.tier == tier, *conditions)

    if state == "no_self_check":
        query = query.where(~has(Tier.SELF))
    elif state == "self_non_compliant":
        query = query.where(has(Tier.SELF, Check.conclusion != Conclusion.COMPLIANT, current_checks()))
    elif state == "not_rechecked":
        query = query.where(~has(Tier.RECHECK))
    elif state == "rechecked":
        query = query.where(has(Tier.RECHECK))
    elif state == "disagreement":
        query = query.where(
            sa.exists().where(
                Check.unit_id == CampaignUnit.id, Check.agrees_with_self_check.is_(False), current_checks()
            )
        )
    elif state == "has_findings":
        query = query.where(sa.exists().where(Finding.unit_id == CampaignUnit.id))
    return query.order_by(CampaignUnit.county_id, CampaignUnit.unit)


def unit_list_options():
    return (joinedload(CampaignUnit.provider), joinedload(CampaignUnit.enterprise))


def tiers_done(unit_ids):
    """{unit id: {tier: current check}} for a page of units (one query)."""
    done = {}
    if not unit_ids:
        return done
    for check in db.session.scalars(
        sa.select(Check).where(Check.unit_id.in_(list(unit_ids)), current_checks()).order_by(Check.id)
    ):
        done.setdefault(check.unit_id, {})[check.tier] = check
    return done


# --- the coverage dashboard ----------------------------------------------------------------------


@dataclass
class Coverage:
    """One row of the dashboard: a county, or the total."""

    county_id: int | None
    name: str
    population: int = 0
    self_checked: int = 0
    self_overdue: int = 0
    rechecked: int = 0
    sampled: int = 0
    spot_checked: int = 0
    non_compliant: int = 0
    disagreements: int = 0
    findings: int = 0
    rectifications_open: int = 0
    rectifications_overdue: int = 0
    penalties: int = 0
    findings_by_code: dict = field(default_factory=dict)

    def share(self, count):
        return round(100 * count / self.population, 1) if self.population else 0.0

    def add(self, other):
        for name in (
            "population",
            "self_checked",
            "self_overdue",
            "rechecked",
            "sampled",
            "spot_checked",
            "non_compliant",
            "disagreements",
            "findings",
            "rectifications_open",
            "rectifications_overdue",
            "penalties",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for code, n in other.findings_by_code.items():
            self.findings_by_code[code] = self.findings_by_code.get(code, 0) + n


def dashboard(campaign, county_id=None, today=None):
    """(rows per county, total) for a campaign, optionally one county's only: seven grouped queries."""
    today = today or local_today()
    snapshot = cache.snapshot()
    rows = {}

    def row(cid):
        if cid not in rows:
            county = snapshot.county_by_id.get(cid)
            name = (
                (county.name_en or county.name_zh)
                if county and current_language() == "en"
                else county.name_zh
                if county
                else ""
            )
            rows[cid] = Coverage(cid, name)
        return rows[cid]

    unit_filter = [CampaignUnit.campaign_id == campaign.id]
    check_filter = [Check.campaign_id == campaign.id]
    finding_filter = [Finding.campaign_id == campaign.id]
    if county_id:
        unit_filter.append(CampaignUnit.county_id == county_id)
        check_filter.append(Check.county_id == county_id)
        finding_filter.append(Finding.county_id == county_id)

    # 1. population
    for cid, n in db.session.execute(
        sa.select(CampaignUnit.county_id, sa.func.count()).where(*unit_filter).group_by(CampaignUnit.county_id)
    ):
        row(cid).population = n
    # 2. units checked at each tier and disagreements, over the checks no correction replaced: a unit has
    # one current check per tier, so counting them counts units (one pass over a covering index)
    superseded = sa.select(Check.supersedes_id).where(*check_filter, Check.supersedes_id.is_not(None))
    current = Check.id.not_in(superseded)
    for cid, tier, agrees, n in db.session.execute(
        sa.select(Check.county_id, Check.tier, Check.agrees_with_self_check, sa.func.count())
        .where(*check_filter, current)
        .group_by(Check.county_id, Check.tier, Check.agrees_with_self_check)
    ):
        attribute = {Tier.SELF: "self_checked", Tier.RECHECK: "rechecked", Tier.SPOT: "spot_checked"}[Tier(tier)]
        setattr(row(cid), attribute, getattr(row(cid), attribute) + n)
        if agrees is False:
            row(cid).disagreements += n
    # 3. units any tier's current check found non-compliant (a unit counts once)
    for cid, n in db.session.execute(
        sa.select(Check.county_id, sa.func.count(sa.distinct(Check.unit_id)))
        .where(*check_filter, Check.conclusion == Conclusion.NON_COMPLIANT, current)
        .group_by(Check.county_id)
    ):
        row(cid).non_compliant = n
    # 4. findings by code
    for cid, code, n in db.session.execute(
        sa.select(Finding.county_id, Finding.code, sa.func.count())
        .where(*finding_filter)
        .group_by(Finding.county_id, Finding.code)
    ):
        target = row(cid)
        target.findings += n
        target.findings_by_code[code] = n
    # 5. rectifications: each asked-for one by its last step (the campaign's steps only, joined, not looked up)
    asked = sa.select(Finding.id).where(*finding_filter, Finding.rectification_due.is_not(None))
    last = (
        sa.select(Rectification.finding_id, sa.func.max(Rectification.id).label("last_id"))
        .where(Rectification.finding_id.in_(asked))
        .group_by(Rectification.finding_id)
        .subquery()
    )
    step = aliased(Rectification)
    open_states = sa.or_(step.id.is_(None), step.step == RectificationStep.RETURNED)
    for cid, waiting, overdue in db.session.execute(
        sa.select(
            Finding.county_id,
            sa.func.count(sa.case((sa.or_(open_states, step.step == RectificationStep.SUBMITTED), 1))),
            sa.func.count(sa.case((sa.and_(open_states, Finding.rectification_due < today), 1))),
        )
        .outerjoin(last, last.c.finding_id == Finding.id)
        .outerjoin(step, step.id == last.c.last_id)
        .where(*finding_filter, Finding.rectification_due.is_not(None))
        .group_by(Finding.county_id)
    ):
        row(cid).rectifications_open, row(cid).rectifications_overdue = waiting, overdue
    # 6. penalties recorded from the campaign's findings
    for cid, n in db.session.execute(
        sa.select(Finding.county_id, sa.func.count(Penalty.id))
        .join(Penalty, Penalty.finding_id == Finding.id)
        .where(
            *finding_filter,
            in_force(Penalty),
        )
        .group_by(Finding.county_id)
    ):
        row(cid).penalties = n
    # 7. units drawn for the spot-check: nt-draw-1 takes min(quota, units) of each stratum, and the quotas
    # published with a draw are never above the stratum's size, so a revealed draw drew its quotas
    by_name = {c.name_zh: c.id for c in snapshot.counties}
    for quotas in db.session.scalars(
        sa.select(Draw.quotas).where(Draw.campaign_id == campaign.id, Draw.revealed_at.is_not(None))
    ):
        for stratum, n in (quotas or {}).items():
            cid = by_name.get(stratum)
            if cid is not None and (not county_id or cid == county_id):
                row(cid).sampled += min(int(n), row(cid).population)
    overdue = campaign.status is CampaignStatus.OPEN and today > campaign.self_check_due
    for each in rows.values():
        each.self_overdue = max(0, each.population - each.self_checked) if overdue else 0
    ordered = sorted(rows.values(), key=lambda r: (snapshot.county_by_id[r.county_id].sort_order, r.county_id))
    total = Coverage(None, "")
    for each in ordered:
        total.add(each)
    return ordered, total
