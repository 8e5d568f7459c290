"""Demo supervision for ``seed-demo``: a finished campaign and a running one over the demo engagements.

- The finished one (reports issued 6–12 months ago) has most self-checks, county rechecks with findings,
  rectifications accepted, returned and overdue, a revealed draw whose sample the assigned inspectors
  checked, and penalties: in their publicity period, published late, and one not public yet.
- The running one has about half its self-checks, a few rechecks and findings under rectification, and
  a draw committed and waiting for its seed.

The history is written as records with their past dates, in the shapes the services write (the services
stamp "now"); the draws go through ``draws.commit_draw`` and ``reveal_draw``, so both replay exactly.
"""

import random
from datetime import datetime, time, timedelta
from decimal import Decimal

import sqlalchemy as sa

from marketplace.auth.demo import DEMO_DOMAIN
from marketplace.auth.models import User
from marketplace.auth.permissions import inspector_id
from marketplace.common.time import LOCAL_ZONE, local_today
from marketplace.extensions import db
from marketplace.inspections import draws, services
from marketplace.inspections.models import (
    Answer,
    Campaign,
    CampaignStatus,
    CampaignUnit,
    Check,
    Conclusion,
    ConflictDeclaration,
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
from marketplace.providers.models import StaffMember
from marketplace.reference.models import ASSESSMENT, ServiceCategory

FINISHED = "2026年上半年安全评价检测检验机构专项整治"
RUNNING = "2026年安全评价检测检验机构“两虚假、两出借”专项整治"
NOTES = {
    "报告所述总平面布置、工艺流程、周边环境与现场实际一致": "报告所附总平面图未体现新建的甲类仓库",
    "引用的法律法规、标准规范齐全且现行有效，无遗漏或已废止条款": "引用已废止的 GB 50160-2008（2018 年版）条款",
    "重大危险源辨识完整、准确，辨识依据与计算过程正确": "未辨识储罐区构成的重大危险源",
    "项目负责人及报告署名人员到现场开展工作，有现场影像与签到记录": "现场影像中无项目负责人",
    "报告及现场勘验图像已在机构网站按规定公开": "机构网站未公开该报告",
}
FINDING_FOR = {  # the checklist line not met → the catalogue code it points to
    "报告所述总平面布置、工艺流程、周边环境与现场实际一致": "SS-01",
    "引用的法律法规、标准规范齐全且现行有效，无遗漏或已废止条款": "SS-01",
    "重大危险源辨识完整、准确，辨识依据与计算过程正确": "SS-01",
    "项目负责人及报告署名人员到现场开展工作，有现场影像与签到记录": "XC-01",
    "报告及现场勘验图像已在机构网站按规定公开": "GK-01",
}


def _at(day, hour=10):
    """``hour`` o'clock in Nantong on ``day`` (the office hours the records would carry)."""
    return datetime.combine(day, time(hour, 0), tzinfo=LOCAL_ZONE)


def _user(local):
    return db.session.scalar(sa.select(User).where(User.email == f"{local}@{DEMO_DOMAIN}"))


def seed_inspections():
    """Both demo campaigns, once (skipped when the running one exists or there is no demo city account)."""
    city = _user("city")
    if city is None or db.session.scalar(sa.select(Campaign.id).where(Campaign.name == RUNNING)):
        return
    rng = random.Random(20261201)
    today = local_today()
    categories = db.session.scalars(
        sa.select(ServiceCategory.id).where(ServiceCategory.engagement_kind == ASSESSMENT)
    ).all()
    regulators = {u.county_id: u for u in draws.candidates() if u.county_id is not None}
    finished = _campaign(city, FINISHED, categories, today - timedelta(days=365), today - timedelta(days=181), today)
    running = _campaign(city, RUNNING, categories, today - timedelta(days=180), today, today)
    if finished is not None:
        _finished_history(rng, city, finished, regulators, today)
    if running is not None:
        _running_history(rng, city, running, regulators, today)


def _campaign(city, name, categories, start, end, today):
    finished = end < today - timedelta(days=90)
    dues = (end + timedelta(days=20), end + timedelta(days=40), end + timedelta(days=60))
    campaign = services.create_campaign(
        city,
        name=name,
        description="对照全国安全评价检测检验机构专项整治要求，重点排查“两虚假、两出借”：出具虚假报告、以虚假报告取得许可，"
        "机构出借资质、从业人员出借证书。机构自查自改，县级全面复查，市级“双随机、一公开”抽查。",
        period_start=start,
        period_end=end,
        self_check_due=dues[0] if finished else today + timedelta(days=12),
        recheck_due=dues[1] if finished else today + timedelta(days=35),
        spot_check_due=dues[2] if finished else today + timedelta(days=50),
        quota_kind=QuotaKind.RATE,
        quota_value=Decimal(10),
        category_ids=categories,
    )
    try:
        services.open_campaign(city, campaign)
    except services.DomainError:  # no report in the period: the demo engagements were not seeded
        return None
    campaign.opened_at = _at(end + timedelta(days=1) if finished else today - timedelta(days=20), 9)
    campaign.created_at = campaign.opened_at - timedelta(days=3)
    return campaign


def _units(campaign):
    return db.session.scalars(
        sa.select(CampaignUnit).where(CampaignUnit.campaign_id == campaign.id).order_by(CampaignUnit.id)
    ).all()


def _check(unit, tier, by, day, *, rng, failing=0, conclusion=None, inspectors=(), draw=None, own=None):
    """A check as the services record it, dated ``day``; ``failing`` items not met (with notes)."""
    items = services.items_for(unit)
    bad = set(rng.sample([i.id for i in items if i.text in NOTES], min(failing, len(NOTES)))) if failing else set()
    answers = [
        {
            "item": item.id,
            "text": item.text,
            "answer": Answer.NOT_MET.value if item.id in bad else Answer.MET.value,
            "note": NOTES.get(item.text, "") if item.id in bad else "",
        }
        for item in items
    ]
    conclusion = conclusion or (
        Conclusion.NON_COMPLIANT if len(bad) > 1 else Conclusion.MINOR if bad else Conclusion.COMPLIANT
    )
    check = Check(
        unit_id=unit.id,
        campaign_id=unit.campaign_id,
        county_id=unit.county_id,
        tier=tier,
        conclusion=conclusion,
        answers=answers,
        summary="" if conclusion is Conclusion.COMPLIANT else "现场核查发现问题，详见检查清单。",
        agrees_with_self_check=None if own is None else own is conclusion,
        inspectors=list(inspectors),
        draw_id=draw.id if draw is not None else None,
        submitted_by_id=by.id,
        submitted_at=_at(day, rng.randint(9, 17)),
    )
    db.session.add(check)
    db.session.flush()
    return check


def _findings(check, by, day, *, rng, due_days):
    """One finding per distinct code the failed lines point to, with rectification asked by a date."""
    violations = {v.code: v for v in db.session.scalars(sa.select(Violation))}
    made = []
    for code in sorted({FINDING_FOR[a["text"]] for a in check.answers if a["answer"] == Answer.NOT_MET.value}):
        v = violations[code]
        unit = check.unit
        finding = Finding(
            check_id=check.id,
            unit_id=unit.id,
            campaign_id=unit.campaign_id,
            county_id=unit.county_id,
            violation_id=v.id,
            code=v.code,
            title=v.title,
            legal_basis=v.legal_basis,
            severity=v.severity,
            party=v.party,
            provider_id=unit.provider_id,
            enterprise_id=unit.enterprise_id,
            facts="；".join(a["note"] for a in check.answers if a["note"] and FINDING_FOR.get(a["text"]) == code),
            rectification_due=day + timedelta(days=due_days),
            created_by_id=by.id,
            created_at=_at(day, 16),
        )
        db.session.add(finding)
        made.append(finding)
    db.session.flush()
    return made


def _step(finding, step, actor, day, note=""):
    db.session.add(
        Rectification(finding_id=finding.id, step=step, note=note, actor_id=actor.id, created_at=_at(day, 15))
    )


def _self_checks(rng, units, share, day_from, day_to):
    done = {}
    for unit in units:
        if rng.random() < share:
            day = day_from + timedelta(days=rng.randint(0, max(0, (day_to - day_from).days)))
            failing = 1 if rng.random() < 0.08 else 0
            done[unit.id] = _check(unit, Tier.SELF, unit.provider.account, day, rng=rng, failing=failing)
    return done


def _finished_history(rng, city, campaign, regulators, today):
    opened = campaign.opened_at.date()
    units = _units(campaign)
    own = _self_checks(rng, units, 0.92, opened + timedelta(days=2), campaign.self_check_due)
    findings = []
    for unit in units:
        regulator = regulators.get(unit.county_id)
        if regulator is None or rng.random() > 0.45:
            continue
        day = campaign.self_check_due + timedelta(days=rng.randint(1, 18))
        failing = rng.choice([0, 0, 0, 1, 2]) if unit.id in own else rng.choice([0, 1, 2])
        check = _check(
            unit,
            Tier.RECHECK,
            regulator,
            day,
            rng=rng,
            failing=failing,
            inspectors=[regulator.display_name.split()[-1], "项目组 王磊"],
            own=own[unit.id].conclusion if unit.id in own else None,
        )
        findings += _findings(check, regulator, day, rng=rng, due_days=30)
    # rectification: most accepted; some returned then accepted; two left overdue
    for n, finding in enumerate(findings):
        party = finding.provider.account
        regulator = regulators[finding.county_id]
        if n in (1, 4):
            continue  # no evidence by the deadline: overdue
        submitted = finding.created_at.date() + timedelta(days=rng.randint(5, 25))
        _step(finding, RectificationStep.SUBMITTED, party, submitted, "已按要求修改报告并重新出具，附现场复核照片。")
        if n % 5 == 2:
            _step(
                finding,
                RectificationStep.RETURNED,
                regulator,
                submitted + timedelta(days=3),
                "未附重新出具的报告，请补充。",
            )
            _step(finding, RectificationStep.SUBMITTED, party, submitted + timedelta(days=6), "已补充重新出具的报告。")
            submitted += timedelta(days=6)
        _step(finding, RectificationStep.ACCEPTED, regulator, submitted + timedelta(days=4), "")
    # the city's draw, revealed, its sample checked by the inspectors assigned
    committed = campaign.recheck_due + timedelta(days=2)
    hm = _user("haimen")
    agency = units[0].provider
    if hm is not None:
        db.session.add(
            ConflictDeclaration(
                inspector_id=hm.id,
                provider_id=agency.id,
                reason="近三年曾在该机构兼职",
                declared_at=_at(committed - timedelta(days=30)),
            )
        )
        db.session.flush()
    record = draws.commit_draw(
        city,
        campaign,
        seed_source=f"福彩3D 第{committed:%Y}{(committed.timetuple().tm_yday + 2):03d}期开奖号码（{committed + timedelta(days=2)} 晚开奖）",
        inspector_ids=[u.id for u in draws.candidates()],
        now=_at(committed, 9),
    )
    draws.reveal_draw(
        city,
        record,
        f"{rng.randint(0, 9)} {rng.randint(0, 9)} {rng.randint(0, 9)}",
        now=_at(committed + timedelta(days=3), 9),
    )
    by_name = {u.unit: u for u in units}
    accounts = {inspector_id(u): u for u in draws.candidates()}
    pool = {i["id"]: i["name"] for i in record.inspector_pool}
    for n, name in enumerate(record.sample):
        if n % 6 == 5:
            continue  # a few still unchecked when the campaign closed
        unit, ids = by_name[name], record.inspectors[name]
        day = committed + timedelta(days=rng.randint(5, 30))
        check = _check(
            unit,
            Tier.SPOT,
            accounts[ids[0]],
            day,
            rng=rng,
            failing=1 if rng.random() < 0.25 else 0,
            inspectors=[pool[i] for i in ids],
            draw=record,
            own=own[unit.id].conclusion if unit.id in own else None,
        )
        findings += _findings(check, accounts[ids[0]], day, rng=rng, due_days=20)
        for finding in findings[-1:]:
            if finding.check_id == check.id:
                _step(
                    finding, RectificationStep.SUBMITTED, finding.provider.account, day + timedelta(days=10), "已整改。"
                )
                _step(finding, RectificationStep.ACCEPTED, accounts[ids[0]], day + timedelta(days=14))
    _penalties(city, findings, today)
    campaign.status, campaign.closed_at = CampaignStatus.CLOSED, _at(campaign.spot_check_due + timedelta(days=5), 17)
    db.session.flush()


def _penalties(city, findings, today):
    """An agency's fine, a person's market ban (name masked in public), one published late, one not public yet."""
    serious = [f for f in findings if f.code in ("XC-01", "SS-01")]
    if len(serious) < 3:
        return
    staff = db.session.scalar(
        sa.select(StaffMember).where(StaffMember.provider_id == serious[0].provider_id).order_by(StaffMember.id)
    )
    plans = [
        (serious[0], Party.AGENCY, PenaltyKind.FINE, Decimal(50000), 0, "（通）应急罚〔2026〕21号"),
        (serious[1], Party.AGENCY, PenaltyKind.WARNING, None, 12, "（通）应急罚〔2026〕27号"),  # published late
        (serious[2], Party.AGENCY, PenaltyKind.FINE, Decimal(30000), -5, "（通）应急罚〔2026〕58号"),  # not yet public
    ]
    if staff is not None:
        lent = db.session.scalar(sa.select(Violation).where(Violation.code == "CJ-02"))
        first = serious[0]
        person = Finding(
            check_id=first.check_id,
            unit_id=first.unit_id,
            campaign_id=first.campaign_id,
            county_id=first.county_id,
            violation_id=lent.id,
            code=lent.code,
            title=lent.title,
            legal_basis=lent.legal_basis,
            severity=lent.severity,
            party=lent.party,
            provider_id=first.provider_id,
            enterprise_id=first.enterprise_id,
            staff_member_id=staff.id,
            person_name=staff.name,
            facts=f"{staff.name}同时在另一机构登记从业，其资格证书被用于本项目而本人未到现场。",
            created_by_id=first.created_by_id,
            created_at=first.created_at,
        )
        db.session.add(person)
        db.session.flush()
        plans.append((person, Party.PERSON, PenaltyKind.MARKET_BAN, None, 0, "（通）应急罚〔2026〕22号"))
    for n, (finding, target, kind, fine, delay, number) in enumerate(plans):
        decided = today - timedelta(days=3) if delay < 0 else finding.created_at.date() + timedelta(days=40 + n)
        start = decided + timedelta(days=-delay if delay < 0 else (delay or 3))
        name = {Party.AGENCY: finding.provider.name, Party.PERSON: staff.name if staff else ""}[target]
        db.session.add(
            Penalty(
                finding_id=finding.id,
                county_id=finding.county_id,
                target=target,
                provider_id=finding.provider_id,
                staff_member_id=staff.id if target is Party.PERSON else None,
                target_name=name,
                decision_no=number,
                kind=kind,
                facts=finding.facts or finding.title,
                legal_basis=finding.legal_basis,
                fine_amount=fine,
                decided_on=decided,
                publicity_start=start,
                publicity_end=start.replace(year=start.year + (3 if target is Party.PERSON else 1)),
                created_by_id=city.id,
                created_at=_at(start, 11),
            )
        )
    db.session.flush()


def _running_history(rng, city, campaign, regulators, today):
    opened = campaign.opened_at.date()
    units = _units(campaign)
    own = _self_checks(rng, units, 0.5, opened + timedelta(days=1), today - timedelta(days=1))
    findings = []
    for unit in units:
        regulator = regulators.get(unit.county_id)
        if regulator is None or unit.id not in own or rng.random() > 0.15:
            continue
        day = today - timedelta(days=rng.randint(8, 15))  # a week or more ago: some deadlines have passed
        check = _check(
            unit,
            Tier.RECHECK,
            regulator,
            day,
            rng=rng,
            failing=rng.choice([0, 1, 1, 2]),
            inspectors=[regulator.display_name.split()[-1]],
            own=own[unit.id].conclusion,
        )
        findings += _findings(check, regulator, day, rng=rng, due_days=(today - day).days + rng.choice([-3, 10, 20]))
    for n, finding in enumerate(findings):
        if n % 3 == 0:
            continue  # not answered yet (overdue where its deadline has passed)
        _step(
            finding,
            RectificationStep.SUBMITTED,
            finding.provider.account,
            today - timedelta(days=2),
            "已重新出具报告，请审核。",
        )
        if n % 3 == 2:
            regulator = regulators[finding.county_id]
            _step(
                finding,
                RectificationStep.RETURNED,
                regulator,
                today - timedelta(days=1),
                "缺少现场复核照片，请补充后重新提交。",
            )
    draws.commit_draw(
        city,
        campaign,
        seed_source=f"drand 主网（League of Entropy）第 {6_100_000 + (today - opened).days * 2880} 轮随机数（{today + timedelta(days=2)} 产生）",
        inspector_ids=[u.id for u in draws.candidates()],
        now=_at(today - timedelta(days=1), 9),
    )
    db.session.flush()
