"""Campaigns, the checks of the three tiers, findings, rectification and penalties.

Services check permission themselves (``auth.permissions``), flush, and raise ``DomainError`` with the
field it concerns; the caller commits (``common.transaction``). What is submitted is never changed:
a correction is a new record naming the one it replaces.
"""

import math
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from marketplace.auth import permissions
from marketplace.common.errors import DomainError, FieldErrors, NotFound, PermissionDenied, raise_all
from marketplace.common.time import local_today, utcnow
from marketplace.common.uploads import store_upload
from marketplace.common.workdays import add_working_days
from marketplace.engagements.models import WORK_STATUSES, Engagement, Report
from marketplace.extensions import db
from marketplace.inspections import checklists
from marketplace.inspections.models import (
    Answer,
    Campaign,
    CampaignStatus,
    CampaignUnit,
    Check,
    CheckFile,
    CheckItem,
    Conclusion,
    Finding,
    Party,
    Penalty,
    PenaltyKind,
    QuotaKind,
    Rectification,
    RectificationStep,
    Tier,
    Violation,
)
from marketplace.providers.models import Provider, StaffMember
from marketplace.reference.models import ServiceCategory

PUBLICATION_WORKING_DAYS = 7  # a penalty decision is made public within 7 working days
PUBLICITY_MIN_YEARS, PUBLICITY_MAX_YEARS = 1, 3  # work-safety penalties: at least one year, at most three


class CampaignNotDraft(DomainError):
    message = _l("This campaign is open: its scope and checklist are frozen.")


class CampaignNotOpen(DomainError):
    message = _l("This campaign is not open: nothing can be submitted in it.")


def _require(check):
    if not check:
        raise PermissionDenied()


# --- campaigns -----------------------------------------------------------------------------------


def _campaign_values(values):
    errors = []
    start, end = values.get("period_start"), values.get("period_end")
    if start and end and end < start:
        errors.append(DomainError(_l("The end of the period cannot be before its start."), field="period_end"))
    for due in ("self_check_due", "recheck_due", "spot_check_due"):
        if start and values.get(due) and values[due] < start:
            errors.append(DomainError(_l("A deadline cannot be before the period starts."), field=due))
    if values.get("self_check_due") and values.get("recheck_due") and values["recheck_due"] < values["self_check_due"]:
        errors.append(DomainError(_l("The recheck deadline cannot come before the self-check's."), field="recheck_due"))
    value, kind = values.get("quota_value"), values.get("quota_kind")
    if value is None or not value.is_finite() or value <= 0:
        errors.append(DomainError(_l("Enter a quota above zero."), field="quota_value"))
    elif kind is QuotaKind.RATE and value > 100:
        errors.append(DomainError(_l("A rate is at most 100 per cent."), field="quota_value"))
    elif kind is QuotaKind.SIZE and value != value.to_integral_value():
        errors.append(DomainError(_l("A number of units is a whole number."), field="quota_value"))
    categories = db.session.scalars(
        sa.select(ServiceCategory).where(
            ServiceCategory.id.in_(values.get("category_ids") or []), ServiceCategory.parent_id.is_not(None)
        )
    ).all()
    if not categories:
        errors.append(DomainError(_l("Choose at least one service category."), field="category_ids"))
    raise_all(errors)
    return categories


def _add_template_items(campaign, categories):
    have = {item.category_id for item in campaign.items}
    for category in categories:
        if category.id in have:
            continue
        for position, (text, criterion) in enumerate(checklists.template_for(category), start=1):
            db.session.add(
                CheckItem(
                    campaign_id=campaign.id, category_id=category.id, position=position, text=text, criterion=criterion
                )
            )


FIELDS = ("name", "description", "period_start", "period_end", "self_check_due", "recheck_due", "spot_check_due")


def create_campaign(actor, **values):
    """A draft campaign, its checklist drafted from the template of each category in scope."""
    _require(permissions.can_manage_campaigns(actor))
    categories = _campaign_values(values)
    campaign = Campaign(
        **{key: values[key] for key in FIELDS},
        quota_kind=values["quota_kind"],
        quota_value=values["quota_value"],
        created_by_id=actor.id,
    )
    campaign.categories = categories
    db.session.add(campaign)
    db.session.flush()
    _add_template_items(campaign, categories)
    db.session.flush()
    db.session.expire(campaign, ["items"])
    return campaign


def update_campaign(actor, campaign, **values):
    _require(permissions.can_manage_campaigns(actor))
    if campaign.status is not CampaignStatus.DRAFT:
        raise CampaignNotDraft()
    categories = _campaign_values(values)
    for key in FIELDS:
        setattr(campaign, key, values[key])
    campaign.quota_kind, campaign.quota_value = values["quota_kind"], values["quota_value"]
    kept = {c.id for c in categories}
    now = utcnow()
    for item in campaign.items:
        if item.category_id not in kept:
            item.deleted_at = now
    campaign.categories = categories
    db.session.flush()
    db.session.expire(campaign, ["items"])
    _add_template_items(campaign, categories)
    db.session.flush()
    db.session.expire(campaign, ["items"])
    return campaign


def _item_values(campaign, category_id, text, criterion):
    errors = []
    if category_id not in {c.id for c in campaign.categories}:
        errors.append(DomainError(_l("Choose a category of this campaign."), field="category_id"))
    if not (text or "").strip():
        errors.append(DomainError(_l("This field is required."), field="text"))
    if criterion not in checklists.CRITERIA:
        errors.append(DomainError(_l("Choose what failing this item points to."), field="criterion"))
    raise_all(errors)


def save_item(actor, campaign, item, *, category_id, text, criterion, position=None):
    """Add a checklist line (``item`` None) or change one, while the campaign is a draft."""
    _require(permissions.can_manage_campaigns(actor))
    if campaign.status is not CampaignStatus.DRAFT:
        raise CampaignNotDraft()
    _item_values(campaign, category_id, text, criterion)
    if item is None:
        last = db.session.scalar(
            sa.select(sa.func.max(CheckItem.position)).where(
                CheckItem.campaign_id == campaign.id, CheckItem.category_id == category_id
            )
        )
        item = CheckItem(campaign_id=campaign.id, position=(last or 0) + 1)
        db.session.add(item)
    item.category_id, item.text, item.criterion = category_id, text.strip(), criterion
    if position is not None:
        item.position = position
    db.session.flush()
    db.session.expire(campaign, ["items"])
    return item


def remove_item(actor, campaign, item):
    _require(permissions.can_manage_campaigns(actor))
    if campaign.status is not CampaignStatus.DRAFT:
        raise CampaignNotDraft()
    item.deleted_at = utcnow()
    db.session.flush()
    db.session.expire(campaign, ["items"])


def population_query(campaign):
    """The engagements in scope: a category of the campaign, work done, report issued within the period;
    only the columns a unit needs (a city's year is a hundred thousand rows)."""
    return (
        sa.select(
            Engagement.id,
            Engagement.provider_id,
            Engagement.enterprise_id,
            Engagement.category_id,
            Engagement.county_id,
            Report.id.label("report_id"),
            Report.report_no,
            Provider.uscc,
        )
        .join(Report, Report.engagement_id == Engagement.id)
        .join(Provider, Provider.id == Engagement.provider_id)
        .where(
            Engagement.category_id.in_([c.id for c in campaign.categories]),
            Engagement.status.in_(WORK_STATUSES),
            Report.issued_on.between(campaign.period_start, campaign.period_end),
        )
        .order_by(Engagement.id)
    )


class NothingToCheck(DomainError):
    message = _l("No report in these categories was issued within the period: there is nothing to check yet.")


def check_openable(actor, campaign):
    """Refuse, with the reason, a campaign that cannot be opened as it stands (what the page checks at
    once, before the population is frozen by a job)."""
    _require(permissions.can_manage_campaigns(actor))
    if campaign.status is not CampaignStatus.DRAFT:
        raise CampaignNotDraft()
    missing = [c.name for c in campaign.categories if not any(i.category_id == c.id for i in campaign.items)]
    if missing:
        raise DomainError(_l("Every category needs a checklist; none yet for: %(names)s", names="、".join(missing)))
    if not db.session.scalar(sa.select(population_query(campaign).exists())):
        raise NothingToCheck()


def open_campaign(actor, campaign):
    """Freeze the population (one unit per engagement in scope) and the checklist; the tiers begin.
    The units are inserted in bulk and joined to the hash chain like any other append-only rows."""
    check_openable(actor, campaign)
    rows = db.session.execute(population_query(campaign)).all()
    if not rows:
        raise NothingToCheck()
    from marketplace.common import chain
    from marketplace.inspections.draw import unit_name
    from marketplace.reference import cache

    counties = {c.id: c.name_zh for c in cache.snapshot().counties}
    values = [
        {
            "campaign_id": campaign.id,
            "engagement_id": row.id,
            "report_id": row.report_id,
            "provider_id": row.provider_id,
            "enterprise_id": row.enterprise_id,
            "category_id": row.category_id,
            "county_id": row.county_id,
            "unit": unit_name(row.uscc, row.report_no),
            "stratum": counties[row.county_id],
        }
        for row in rows
    ]
    ids = []
    for start in range(0, len(values), 5000):
        ids += db.session.scalars(
            sa.insert(CampaignUnit).returning(CampaignUnit.id), values[start : start + 5000]
        ).all()
    chain.note(db.session, CampaignUnit.__tablename__, ids)
    campaign.status, campaign.opened_at, campaign.population_size = CampaignStatus.OPEN, utcnow(), len(rows)
    db.session.flush()
    return campaign


def close_campaign(actor, campaign):
    _require(permissions.can_manage_campaigns(actor))
    if campaign.status is not CampaignStatus.OPEN:
        raise CampaignNotOpen()
    campaign.status, campaign.closed_at = CampaignStatus.CLOSED, utcnow()
    db.session.flush()


def quotas(campaign, sizes):
    """Units to draw per stratum, from the campaign's quota: a size, or a rate rounded up."""
    if campaign.quota_kind is QuotaKind.SIZE:
        return {stratum: min(size, int(campaign.quota_value)) for stratum, size in sizes.items()}
    rate = Decimal(campaign.quota_value) / 100
    return {stratum: min(size, math.ceil(size * rate)) for stratum, size in sizes.items()}


# --- the checks of the three tiers ---------------------------------------------------------------


def items_for(unit):
    return [item for item in unit.campaign.items if item.category_id == unit.category_id]


def current_check(unit, tier):
    """The check of a tier that counts: the newest (a correction replaces what it names)."""
    return db.session.scalar(
        sa.select(Check).where(Check.unit_id == unit.id, Check.tier == tier).order_by(Check.id.desc()).limit(1)
    )


def submit_check(
    actor, unit, tier, *, answers, conclusion, summary="", uploads=(), inspectors=(), draw=None, assigned=()
):
    """Record a tier's check of a unit: every checklist item answered, a conclusion consistent with the
    answers. A second check of the same tier is a correction that replaces the first."""
    if tier is Tier.SELF:
        _require(permissions.can_self_check(actor, unit))
    elif tier is Tier.RECHECK:
        _require(permissions.can_recheck(actor, unit))
    else:
        _require(permissions.can_spot_check(actor, unit, assigned))
        if draw is None:
            raise DomainError(_l("Only a unit drawn for the spot-check is spot-checked."))
    if unit.campaign.status is not CampaignStatus.OPEN:
        raise CampaignNotOpen()
    errors, recorded = [], []
    for item in items_for(unit):
        answer, note = answers.get(item.id, (None, ""))
        if answer not in {a.value for a in Answer}:
            errors.append(DomainError(_l("Answer this item."), field=f"item-{item.id}"))
            continue
        if answer == Answer.NOT_MET.value and not (note or "").strip():
            errors.append(DomainError(_l("Say what was found."), field=f"note-{item.id}"))
        recorded.append({"item": item.id, "text": item.text, "answer": answer, "note": (note or "").strip()[:1000]})
    if not isinstance(conclusion, Conclusion):
        errors.append(DomainError(_l("Choose a conclusion."), field="conclusion"))
    elif conclusion is Conclusion.COMPLIANT and any(r["answer"] == Answer.NOT_MET.value for r in recorded):
        errors.append(DomainError(_l("An item is not met: the conclusion cannot be “compliant”."), field="conclusion"))
    names = [n.strip()[:50] for n in inspectors if n and n.strip()]
    if tier is not Tier.SELF and not names:
        errors.append(DomainError(_l("Name the inspectors who signed the record."), field="inspectors"))
    if errors:
        raise FieldErrors(errors)
    previous = current_check(unit, tier)
    own = current_check(unit, Tier.SELF) if tier is not Tier.SELF else None
    check = Check(
        unit_id=unit.id,
        campaign_id=unit.campaign_id,
        county_id=unit.county_id,
        tier=tier,
        conclusion=conclusion,
        answers=recorded,
        summary=(summary or "").strip(),
        agrees_with_self_check=None if own is None else own.conclusion is conclusion,
        inspectors=names,
        draw_id=draw.id if draw is not None else None,
        supersedes_id=previous.id if previous is not None else None,
        submitted_by_id=actor.id,
    )
    db.session.add(check)
    db.session.flush()
    for upload in uploads:
        stored = store_upload(upload, actor=actor, field="evidence")
        db.session.add(CheckFile(check_id=check.id, file_id=stored.id))
    db.session.flush()
    return check


# --- findings and rectification ------------------------------------------------------------------


def active_violations():
    return db.session.scalars(
        sa.select(Violation).where(Violation.active.is_(True)).order_by(Violation.sort_order, Violation.code)
    ).all()


def save_violation(actor, violation, **values):
    """The catalogue is data the city keeps; a finding keeps the text it was recorded with."""
    _require(permissions.can_manage_campaigns(actor))
    code = (values.get("code") or "").strip().upper()
    clash = sa.select(Violation.id).where(Violation.code == code)
    if violation is not None:
        clash = clash.where(Violation.id != violation.id)
    if db.session.scalar(clash):
        raise DomainError(_l("Another violation already has this code."), field="code")
    if violation is None:
        violation = Violation()
        db.session.add(violation)
    violation.code = code
    for key in ("title", "description", "severity", "party", "legal_basis", "sort_order", "active"):
        setattr(violation, key, values[key])
    db.session.flush()
    return violation


def record_finding(actor, check, *, violation_id, facts, staff_member_id=None, rectification_due=None):
    """A violation found by a recheck or a spot-check, addressed to the party the catalogue names."""
    unit = check.unit
    _require(permissions.can_record_finding(actor, check))
    if unit.campaign.status is not CampaignStatus.OPEN:
        raise CampaignNotOpen()
    errors = []
    violation = db.session.get(Violation, violation_id) if violation_id else None
    if violation is None or not violation.active:
        errors.append(DomainError(_l("Choose a violation from the catalogue."), field="violation_id"))
    if not (facts or "").strip():
        errors.append(DomainError(_l("Describe the facts found."), field="facts"))
    if rectification_due is not None and rectification_due < local_today():
        errors.append(DomainError(_l("The deadline cannot be in the past."), field="rectification_due"))
    staff = None
    if violation is not None and violation.party is Party.PERSON:
        staff = db.session.get(StaffMember, staff_member_id) if staff_member_id else None
        if staff is None or staff.provider_id != unit.provider_id:
            errors.append(
                DomainError(_l("Name the person: choose one of the agency's staff."), field="staff_member_id")
            )
    raise_all(errors)
    finding = Finding(
        check_id=check.id,
        unit_id=unit.id,
        campaign_id=unit.campaign_id,
        county_id=unit.county_id,
        violation_id=violation.id,
        code=violation.code,
        title=violation.title,
        legal_basis=violation.legal_basis,
        severity=violation.severity,
        party=violation.party,
        provider_id=unit.provider_id,
        enterprise_id=unit.enterprise_id,
        staff_member_id=staff.id if staff else None,
        person_name=staff.name if staff else "",
        facts=facts.strip(),
        rectification_due=rectification_due,
        created_by_id=actor.id,
    )
    db.session.add(finding)
    db.session.flush()
    return finding


def rectification_state(finding):
    """None (no rectification asked), or the last step's kind; "open" before any step."""
    if finding.rectification_due is None:
        return None
    return finding.steps[-1].step.value if finding.steps else "open"


def is_overdue(finding, today=None):
    state = rectification_state(finding)
    return state in ("open", "returned") and finding.rectification_due < (today or local_today())


def submit_rectification(actor, finding, *, note, upload=None):
    """The party's evidence that it has put the finding right."""
    _require(permissions.is_finding_party(actor, finding))
    state = rectification_state(finding)
    if state is None:
        raise DomainError(_l("This finding asks for no rectification."))
    if state == "accepted":
        raise DomainError(_l("This rectification is already accepted."))
    if state == "submitted":
        raise DomainError(_l("Your evidence is waiting for the regulator's decision."))
    if not (note or "").strip() and upload is None:
        raise DomainError(_l("Describe what was done, or attach evidence."), field="note")
    stored = store_upload(upload, actor=actor, field="file") if upload is not None else None
    step = Rectification(
        finding_id=finding.id,
        step=RectificationStep.SUBMITTED,
        note=(note or "").strip(),
        file_id=stored.id if stored else None,
        actor_id=actor.id,
    )
    db.session.add(step)
    db.session.flush()
    db.session.expire(finding, ["steps"])
    return step


def decide_rectification(actor, finding, *, accept, reason=""):
    _require(permissions.can_decide_finding(actor, finding))
    if rectification_state(finding) != "submitted":
        raise DomainError(_l("There is no evidence waiting for a decision."))
    if not accept and not (reason or "").strip():
        raise DomainError(_l("Give a reason: the party will read it."), field="reason")
    step = Rectification(
        finding_id=finding.id,
        step=RectificationStep.ACCEPTED if accept else RectificationStep.RETURNED,
        note=(reason or "").strip(),
        actor_id=actor.id,
    )
    db.session.add(step)
    db.session.flush()
    db.session.expire(finding, ["steps"])
    return step


# --- penalties -----------------------------------------------------------------------------------


def _years_later(day, years):
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def publication_deadline(decided_on):
    """The last day to publish a decision: the 7th working day after it (chinese-calendar)."""
    return add_working_days(decided_on, PUBLICATION_WORKING_DAYS)


def published_late(penalty):
    return penalty.publicity_start > publication_deadline(penalty.decided_on).day


def penalty_targets(finding):
    """Who a penalty from this finding may be addressed to: (party, name)."""
    targets = [(Party.AGENCY, finding.provider.name), (Party.ENTERPRISE, finding.enterprise.name)]
    if finding.person_name:
        targets.append((Party.PERSON, finding.person_name))
    return targets


def record_penalty(
    actor,
    finding,
    *,
    target,
    decision_no,
    kind,
    facts,
    legal_basis,
    decided_on,
    publicity_start,
    publicity_end,
    fine_amount=None,
    confiscated_amount=None,
    corrects=None,
    withdrawn=False,
    reason="",
):
    """A penalty decision, published from ``publicity_start`` to ``publicity_end``; never changed.
    ``corrects``: the penalty this record replaces (with ``reason``); ``withdrawn``: the decision was
    set aside (revoked on review, say), so neither record is public any more."""
    _require(permissions.can_decide_finding(actor, finding))
    errors = []
    if corrects is not None:
        if corrects.finding_id != finding.id or is_superseded(corrects):
            raise DomainError(_l("Only the decision in force can be corrected."))
        if not (reason or "").strip():
            errors.append(DomainError(_l("Say why the decision is corrected or set aside."), field="reason"))
    names = dict(penalty_targets(finding))
    if target not in names:
        errors.append(DomainError(_l("Choose who the decision is addressed to."), field="target"))
    decision_no = (decision_no or "").strip()
    clash = sa.select(Penalty.id).where(Penalty.decision_no == decision_no)
    if corrects is not None:
        clash = clash.where(Penalty.decision_no != corrects.decision_no)
    if not decision_no:
        errors.append(DomainError(_l("This field is required."), field="decision_no"))
    elif db.session.scalar(clash):
        errors.append(DomainError(_l("A decision with this number is already recorded."), field="decision_no"))
    if not isinstance(kind, PenaltyKind):
        errors.append(DomainError(_l("Choose the kind of penalty."), field="kind"))
    for name, value in (("facts", facts), ("legal_basis", legal_basis)):
        if not (value or "").strip():
            errors.append(DomainError(_l("This field is required."), field=name))
    for name, value in (("fine_amount", fine_amount), ("confiscated_amount", confiscated_amount)):
        if value is not None and (not value.is_finite() or value < 0):
            errors.append(DomainError(_l("Enter an amount of zero or more."), field=name))
    if kind is PenaltyKind.FINE and not fine_amount:
        errors.append(DomainError(_l("A fine needs its amount."), field="fine_amount"))
    if kind is PenaltyKind.CONFISCATION and not confiscated_amount:
        errors.append(DomainError(_l("Enter the illegal gains confiscated."), field="confiscated_amount"))
    today = local_today()
    if decided_on is None or decided_on > today:
        errors.append(DomainError(_l("Enter the decision's date; it cannot be in the future."), field="decided_on"))
    if publicity_start is None or publicity_end is None:
        errors.append(DomainError(_l("Enter both dates."), field="publicity_start"))
    else:
        if decided_on is not None and publicity_start < decided_on:
            errors.append(
                DomainError(_l("Publication cannot start before the decision was made."), field="publicity_start")
            )
        shortest = _years_later(publicity_start, PUBLICITY_MIN_YEARS)
        longest = _years_later(publicity_start, PUBLICITY_MAX_YEARS)
        if not shortest <= publicity_end <= longest:
            errors.append(
                DomainError(
                    _l(
                        "A work-safety penalty is public for at least one year and at most three: end it between %(a)s and %(b)s.",
                        a=shortest.isoformat(),
                        b=longest.isoformat(),
                    ),
                    field="publicity_end",
                )
            )
    raise_all(errors)
    staff = finding.staff_member if target is Party.PERSON else None
    penalty = Penalty(
        finding_id=finding.id,
        county_id=finding.county_id,
        target=target,
        provider_id=finding.provider_id if target in (Party.AGENCY, Party.PERSON) else None,
        enterprise_id=finding.enterprise_id if target is Party.ENTERPRISE else None,
        staff_member_id=staff.id if staff else None,
        target_name=names[target],
        decision_no=decision_no,
        kind=kind,
        facts=facts.strip(),
        legal_basis=legal_basis.strip(),
        fine_amount=fine_amount,
        confiscated_amount=confiscated_amount,
        decided_on=decided_on,
        publicity_start=publicity_start,
        publicity_end=publicity_end,
        supersedes_id=corrects.id if corrects is not None else None,
        withdrawn=bool(withdrawn),
        correction_reason=(reason or "").strip(),
        created_by_id=actor.id,
    )
    db.session.add(penalty)
    db.session.flush()
    return penalty


def is_superseded(penalty):
    return db.session.scalar(sa.select(Penalty.id).where(Penalty.supersedes_id == penalty.id).limit(1)) is not None


def in_publicity(penalty, today=None):
    """Public now: within its period, not set aside, not replaced by a correction."""
    today = today or local_today()
    return (
        not penalty.withdrawn
        and penalty.publicity_start <= today <= penalty.publicity_end
        and not is_superseded(penalty)
    )


def masked_person(name):
    """A person's name as the public sees it (个人信息保护法): the surname, the rest masked: 张**."""
    name = (name or "").strip()
    return name[:1] + "*" * max(len(name) - 1, 1) if name else ""


def public_name(penalty):
    return masked_person(penalty.target_name) if penalty.target is Party.PERSON else penalty.target_name


def load(model, record_id):
    record = db.session.get(model, record_id) if record_id else None
    if record is None:
        raise NotFound()
    return record
