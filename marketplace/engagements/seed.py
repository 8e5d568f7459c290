"""Demo enterprises and engagements for ``seed-demo``: 200 enterprises over the eight counties and
about 1,000 engagements with the demo agencies in every state, spread over the past year, with
on-site notices, reports, ratings, replies, one hidden rating and referee-and-player flags.

The history is written as records with their past dates (the services stamp "now"), in the same
shapes the services write: a timeline event per step, reports and notices as issued."""

import random
from datetime import datetime, time, timedelta, timezone
from decimal import Decimal

import sqlalchemy as sa

from marketplace.auth import services as auth_services
from marketplace.auth.demo import DEMO_DOMAIN, demo_password_hash
from marketplace.auth.models import User
from marketplace.auth.roles import Role
from marketplace.common.time import local_today
from marketplace.engagements import ratings
from marketplace.engagements.models import (
    Engagement,
    EngagementEvent,
    Rating,
    Report,
    SiteNotice,
)
from marketplace.engagements.models import (
    EngagementStatus as S,
)
from marketplace.enterprises.models import Enterprise, HazardClass
from marketplace.extensions import db
from marketplace.providers.models import Provider, ProviderStatus
from marketplace.reference import cache
from marketplace.reference.models import ADVISORY, ASSESSMENT, County, ServiceCategory

ENTERPRISES = 200
ENGAGEMENTS = 1000
NAMES = [
    "华东",
    "江海",
    "通润",
    "恒力",
    "金鹰",
    "海迅",
    "瑞丰",
    "中远",
    "长江",
    "宏达",
    "鑫源",
    "永盛",
    "东方",
    "联发",
    "天成",
    "新世纪",
    "润泽",
    "嘉禾",
    "振华",
    "安达",
]
TRADES = [
    ("化工有限公司", "化学原料和化学制品制造业", HazardClass.HAZARDOUS_CHEMICALS),
    ("精细化工有限公司", "化学原料和化学制品制造业", HazardClass.HAZARDOUS_CHEMICALS),
    ("钢铁有限公司", "黑色金属冶炼和压延加工业", HazardClass.METALLURGY),
    ("铝业有限公司", "有色金属冶炼和压延加工业", HazardClass.METALLURGY),
    ("木业有限公司", "木材加工和木制品业", HazardClass.DUST_EXPLOSION),
    ("食品有限公司", "农副食品加工业", HazardClass.LIMITED_SPACE),
    ("纺织有限公司", "纺织业", HazardClass.NONE),
    ("机械制造有限公司", "通用设备制造业", HazardClass.NONE),
    ("船舶重工有限公司", "铁路、船舶、航空航天和其他运输设备制造业", HazardClass.LIMITED_SPACE),
    ("烟花爆竹经营有限公司", "批发业", HazardClass.FIREWORKS),
]
COMMENTS = {
    5: ["报告扎实，现场工作认真，整改建议很有针对性。", "响应及时，专业水平高，推荐。"],
    4: ["整体满意，报告按期提交。", "服务规范，个别建议可以更具体。"],
    3: ["基本满足要求，沟通效率有待提高。"],
    2: ["现场时间比约定晚了一周，报告修改多次。"],
    1: ["服务敷衍，报告内容与现场情况不符。"],
}
REPLIES = ["感谢贵企业的认可，我们将继续做好服务。", "感谢反馈，已针对沟通问题进行内部整改。"]
# The share of engagements in each final state (the rest of 1.0 are completed).
STATES = [
    (S.REQUESTED, 0.06),
    (S.QUOTED, 0.06),
    (S.CONTRACTED, 0.06),
    (S.IN_PROGRESS, 0.10),
    (S.DECLINED, 0.05),
    (S.WITHDRAWN, 0.03),
    (S.CANCELLED, 0.03),
]


def _uscc(n):
    from stdnum.cn import uscc

    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    tail, m = "", n
    for _ in range(6):
        tail = alphabet[m % 31] + tail
        m //= 31
    body = "91320600MA3" + tail
    return body + uscc.calc_check_digit(body)


def _enterprises(rng, counties):
    """enterprise1–3 exist as demo logins; the other accounts share one password hash (one argon2
    computation instead of 197) and the demo password."""
    made = []
    for n in range(1, ENTERPRISES + 1):
        email = f"enterprise{n}@{DEMO_DOMAIN}" if n <= 3 else f"enterprise{n:03d}@{DEMO_DOMAIN}"
        user = auth_services.get_user_by_email(email)
        if user is None:
            user = User(
                email=email, password_hash=demo_password_hash(), display_name=f"企业联系人{n:03d}", role=Role.ENTERPRISE
            )
            db.session.add(user)
            db.session.flush()
        enterprise = db.session.scalar(sa.select(Enterprise).where(Enterprise.account_id == user.id))
        if enterprise is None:
            suffix, industry, hazard = TRADES[n % len(TRADES)]
            county = counties[n % len(counties)]
            enterprise = Enterprise(
                account_id=user.id,
                uscc=_uscc(n),
                name=f"{county.name_zh[:2]}{rng.choice(NAMES)}{suffix}{n:03d}" if n > 3 else f"南通{NAMES[n]}{suffix}",
                county_id=county.id,
                address=f"{county.name_zh}工业园区{rng.randint(1, 99)}号",
                industry=industry,
                hazard_class=hazard,
                contact_person=f"联系人{n:03d}",
                phone=f"0513-8{rng.randint(1000000, 9999999)}",
            )
            db.session.add(enterprise)
        made.append(enterprise)
    db.session.flush()
    return made


def _at(day, hour=9):
    return datetime.combine(day, time(hour, 0), tzinfo=timezone.utc)


def seed_engagements():
    """Create the demo enterprises and engagements once (skipped when engagements exist)."""
    if db.session.scalar(sa.select(sa.func.count(Engagement.id))):
        return
    providers = db.session.scalars(
        sa.select(Provider).where(Provider.status == ProviderStatus.PUBLISHED).order_by(Provider.id)
    ).all()
    if not providers:
        return
    label = cache.snapshot().category_label  # 金属冶炼 with its group: it is both evaluated and tested
    rng = random.Random(20261130)
    counties = db.session.scalars(sa.select(County).where(County.active).order_by(County.sort_order)).all()
    enterprises = _enterprises(rng, counties)
    today = local_today()
    report_numbers, made = set(), []
    for n in range(ENGAGEMENTS):
        enterprise = enterprises[n % len(enterprises)] if n < len(enterprises) else rng.choice(enterprises)
        local = [p for p in providers if enterprise.county_id in {c.id for c in p.regions}] or providers
        provider = local[n % len(local)] if n % 5 else rng.choice(local)
        category = rng.choice(provider.categories)
        roll, state = rng.random(), S.COMPLETED
        for candidate, share in STATES:
            if roll < share:
                state = candidate
                break
            roll -= share
        open_state = state in (S.REQUESTED, S.QUOTED, S.CONTRACTED, S.IN_PROGRESS)
        requested = today - timedelta(days=rng.randint(1, 25) if open_state else rng.randint(30, 360))
        start = requested + timedelta(days=rng.randint(7, 20))
        end = start + timedelta(days=rng.randint(5, 40))
        engagement = Engagement(
            enterprise_id=enterprise.id,
            provider_id=provider.id,
            category_id=category.id,
            county_id=enterprise.county_id,
            scope=f"{label(category.id, 'zh')}：{enterprise.name}厂区及主要生产装置",
            site_address=enterprise.address,
            expected_start=start,
            expected_end=end,
            status=state,
            warnings_confirmed=[],
            budget=Decimal(rng.choice([8000, 12000, 20000, 35000, 50000])) if rng.random() < 0.7 else None,
            created_at=_at(requested),
            updated_at=_at(requested),
        )
        events, notice = [("request", None, S.REQUESTED, requested, "")], None
        if state is not S.REQUESTED and not (state is S.WITHDRAWN and rng.random() < 0.5) and state is not S.DECLINED:
            quoted = requested + timedelta(days=rng.randint(1, 4))
            engagement.quoted_fee = Decimal(rng.randint(6, 60) * 1000)
            engagement.quoted_start, engagement.quoted_end, engagement.quoted_at = start, end, _at(quoted, 10)
            engagement.team = provider.staff[: rng.randint(1, max(1, len(provider.staff)))]
            events.append(("quote", S.REQUESTED, S.QUOTED, quoted, ""))
        if state is S.DECLINED:
            engagement.closing_reason = rng.choice(["本月项目已排满，无法按期开展。", "该项目超出本机构现有人员能力。"])
            events.append(
                ("decline", S.REQUESTED, S.DECLINED, requested + timedelta(days=2), engagement.closing_reason)
            )
        elif state is S.WITHDRAWN:
            engagement.closing_reason = "已另行选择其他机构。"
            events.append(
                ("withdraw", events[-1][2], S.WITHDRAWN, requested + timedelta(days=5), engagement.closing_reason)
            )
        elif state in (S.CONTRACTED, S.IN_PROGRESS, S.COMPLETED, S.CANCELLED):
            contracted = requested + timedelta(days=5)
            engagement.contracted_at = _at(contracted, 11)
            events.append(("accept", S.QUOTED, S.CONTRACTED, contracted, ""))
            if category.engagement_kind == ASSESSMENT:
                onsite = start if not open_state else max(start, today + timedelta(days=rng.randint(0, 20)))
                notice = SiteNotice(
                    county_id=enterprise.county_id,
                    onsite_from=onsite,
                    onsite_to=onsite + timedelta(days=rng.randint(1, 4)),
                    address=enterprise.address,
                    team=[{"name": m.name, "title": m.title, "cert_number": m.cert_number} for m in engagement.team],
                    filed_at=_at(contracted, 15),
                )
                events.append(
                    (
                        "site_notice",
                        S.CONTRACTED,
                        S.CONTRACTED,
                        contracted,
                        f"{notice.onsite_from.isoformat()} – {notice.onsite_to.isoformat()}",
                    )
                )
            if state is S.CANCELLED:
                engagement.closing_reason = "企业生产计划调整，双方协商解除合同。"
                events.append(
                    ("cancel", S.CONTRACTED, S.CANCELLED, contracted + timedelta(days=6), engagement.closing_reason)
                )
            elif state in (S.IN_PROGRESS, S.COMPLETED):
                started = min(today, start)
                engagement.started_at = _at(started)
                events.append(("start", S.CONTRACTED, S.IN_PROGRESS, started, ""))
                if state is S.COMPLETED or rng.random() < 0.4:
                    issued = min(today, end)
                    number = f"{provider.uscc[-6:]}-{issued:%Y}-{len(report_numbers) + 1:04d}"
                    report_numbers.add(number)
                    engagement.report = Report(
                        provider_id=provider.id,
                        report_no=number,
                        title=f"{enterprise.name}{label(category.id, 'zh')}报告",
                        issued_on=issued,
                        provider_name=provider.name,
                        enterprise_name=enterprise.name,
                        category_name=label(category.id, "zh"),
                        created_at=_at(issued, 16),
                    )
                    events.append(("report", S.IN_PROGRESS, S.IN_PROGRESS, issued, number))
                if state is S.COMPLETED:
                    completed = min(today, end + timedelta(days=rng.randint(1, 7)))
                    engagement.completed_at = _at(completed, 17)
                    events.append(("confirm", S.IN_PROGRESS, S.COMPLETED, completed, ""))
                    if rng.random() < 0.7 and today - completed <= ratings.RATING_WINDOW:
                        score = rng.choices([5, 4, 3, 2, 1], weights=[45, 30, 13, 7, 5])[0]
                        rated_on = min(today, completed + timedelta(days=rng.randint(1, 20)))
                        engagement.rating = Rating(
                            provider_id=provider.id,
                            enterprise_id=enterprise.id,
                            score=score,
                            text=rng.choice(COMMENTS[score]),
                            created_at=_at(rated_on, 18),
                        )
                        if rng.random() < 0.3:
                            engagement.rating.reply, engagement.rating.replied_at = (
                                rng.choice(REPLIES),
                                _at(rated_on, 20),
                            )
        if state in (S.DECLINED, S.WITHDRAWN, S.CANCELLED):
            engagement.closed_at = _at(events[-1][3], 12)
        engagement.updated_at = _at(events[-1][3], 12)
        db.session.add(engagement)
        made.append((engagement, events, notice))
    db.session.flush()
    for engagement, events, notice in made:
        if notice is not None:
            notice.engagement_id = engagement.id
            db.session.add(notice)
        for action, before, after, day, note in events:
            db.session.add(
                EngagementEvent(
                    engagement_id=engagement.id,
                    action=action,
                    created_at=_at(day, 12),
                    from_status=before.value if before else None,
                    to_status=after.value,
                    note=note,
                )
            )
    _flag_conflicts()
    db.session.flush()
    _hide_one_rating()
    ratings.recompute_totals()


def _flag_conflicts():
    """Flag, as the services would have, advice and assessment of one enterprise by one agency."""
    rows = db.session.execute(
        sa.select(
            Engagement.id,
            Engagement.provider_id,
            Engagement.enterprise_id,
            ServiceCategory.engagement_kind,
            Engagement.contracted_at,
        )
        .join(ServiceCategory, ServiceCategory.id == Engagement.category_id)
        .where(Engagement.contracted_at.is_not(None), ServiceCategory.engagement_kind.in_((ASSESSMENT, ADVISORY)))
    ).all()
    by_pair = {}
    for row in rows:
        by_pair.setdefault((row.provider_id, row.enterprise_id), []).append(row)
    for group in by_pair.values():
        for a in group:
            related = [
                b.id
                for b in group
                if b.engagement_kind != a.engagement_kind and abs((b.contracted_at - a.contracted_at).days) <= 365
            ]
            if related:
                engagement = db.session.get(Engagement, a.id)
                engagement.conflict, engagement.conflict_with = True, sorted(related)


def _hide_one_rating():
    rating = db.session.scalar(sa.select(Rating).where(Rating.score == 1).order_by(Rating.id).limit(1))
    if rating is not None:
        rating.text = "这家机构就是骗子！！！（含侮辱性内容）"
        rating.hidden_at, rating.hidden_reason = (
            rating.created_at + timedelta(days=1),
            "评价含有侮辱性言论，依据平台规则隐藏。",
        )
