"""The campaign coverage dashboard over a 100,000-engagement population (budget: ≤ 300 ms, with a
bounded number of SQL statements), against a bare baseline.

The data is a city's year at scale: 2,000 agencies, 8,000 enterprises in 8 counties of unequal size,
100,000 engagements with reports, frozen into one campaign through the real ``open_campaign``; then
self-checks of about 85 % of the units, rechecks of about 30 % (some disagreeing), a revealed draw of
about 2 % with its spot-checks, about 6,000 findings over eleven codes, rectifications in every state
and 300 penalties, inserted in bulk. The bare baseline is the least a dashboard can do: count the
campaign's units once. Cold (first call after the data is written, caches dropped) and warm figures:
median, min and max of 7 runs, the statements one call issues, and the load average.

``BENCH_DATABASE_URL`` runs it on PostgreSQL instead of a temporary SQLite file; ``BENCH_PROFILE=1``
prints each statement's time and a profile of one call."""

import os
import platform
import random
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.environment import production_env  # noqa: E402

UNITS = 100_000
BUDGET_MS = 300
MAX_STATEMENTS = 12
COUNTY_SHARES = [0.22, 0.14, 0.13, 0.12, 0.11, 0.11, 0.10, 0.07]


def _bulk(table, rows, chunk=5000):
    import sqlalchemy as sa  # noqa: F401

    from marketplace.extensions import db

    for start in range(0, len(rows), chunk):
        db.session.execute(table.insert(), rows[start : start + chunk])


def build(rng):
    """The population and every tier's records; returns the campaign."""
    import sqlalchemy as sa

    from bench.generate import generate
    from marketplace.auth.models import User
    from marketplace.auth.roles import Role
    from marketplace.engagements.models import Engagement, Report
    from marketplace.enterprises.models import Enterprise
    from marketplace.extensions import db
    from marketplace.inspections import services
    from marketplace.inspections.models import (
        Check,
        Conclusion,
        Draw,
        Finding,
        Penalty,
        QuotaKind,
        Rectification,
        Tier,
        Violation,
    )
    from marketplace.providers.models import Provider
    from marketplace.reference.models import County, ServiceCategory

    generate(2000)
    counties = db.session.scalars(sa.select(County).order_by(County.sort_order)).all()
    categories = db.session.scalars(
        sa.select(ServiceCategory).where(ServiceCategory.engagement_kind == "assessment")
    ).all()
    providers = db.session.execute(sa.select(Provider.id, Provider.name)).all()
    city = User(email="bench-city@example.cn", password_hash="x", display_name="市局", role=Role.CITY_REGULATOR)
    db.session.add(city)
    db.session.flush()
    users = [
        {"email": f"bench-ent-{n}@example.cn", "password_hash": "x", "display_name": f"企业{n}", "role": "enterprise"}
        for n in range(8000)
    ]
    _bulk(User.__table__, users)
    user_ids = db.session.scalars(sa.select(User.id).where(User.email.like("bench-ent-%")).order_by(User.id)).all()
    enterprises = [
        {
            "account_id": uid,
            "uscc": f"9132{n:013d}Y",
            "name": f"南通{rng.choice(['华东', '江海', '通润', '恒力'])}化工有限公司{n:05d}",
            "county_id": rng.choices(counties, COUNTY_SHARES)[0].id,
            "address": "南通市",
            "industry": "化学原料和化学制品制造业",
            "contact_person": "联系人",
            "phone": "0513-85000000",
        }
        for n, uid in enumerate(user_ids)
    ]
    _bulk(Enterprise.__table__, enterprises)
    firms = db.session.execute(sa.select(Enterprise.id, Enterprise.county_id, Enterprise.name)).all()
    today = date.today()
    engagements, reports = [], []
    for _ in range(UNITS):
        firm = rng.choice(firms)
        engagements.append(
            {
                "enterprise_id": firm.id,
                "provider_id": rng.choice(providers).id,
                "category_id": rng.choice(categories).id,
                "county_id": firm.county_id,
                "status": "completed",
                "scope": "安全现状评价",
                "site_address": "南通市",
                "expected_start": today - timedelta(days=200),
                "expected_end": today - timedelta(days=100),
            }
        )
    _bulk(Engagement.__table__, engagements)
    rows = db.session.execute(sa.select(Engagement.id, Engagement.provider_id).order_by(Engagement.id)).all()
    for n, (engagement_id, provider_id) in enumerate(rows):
        style = rng.choice(["AP-{y}-{n:05d}", "NTAQ（{y}）第{n}号", "苏安评[{y}]{n}", "JC-{y}-{n}"])
        reports.append(
            {
                "engagement_id": engagement_id,
                "provider_id": provider_id,
                "report_no": style.format(y=2026, n=n + 1),
                "title": "安全现状评价报告",
                "issued_on": today - timedelta(days=rng.randint(30, 300)),
                "provider_name": "机构",
                "enterprise_name": "企业",
                "category_name": "安全评价",
            }
        )
    _bulk(Report.__table__, reports)
    db.session.commit()

    campaign = services.create_campaign(
        city,
        name="基准：十万个项目的专项整治",
        description="",
        period_start=today - timedelta(days=365),
        period_end=today,
        self_check_due=today - timedelta(days=1),
        recheck_due=today + timedelta(days=20),
        spot_check_due=today + timedelta(days=40),
        quota_kind=QuotaKind.RATE,
        quota_value=Decimal(2),
        category_ids=[c.id for c in categories],
    )
    started = time.perf_counter()
    services.open_campaign(city, campaign)
    db.session.commit()
    opened = time.perf_counter() - started

    from marketplace.inspections.models import CampaignUnit

    units = db.session.execute(
        sa.select(
            CampaignUnit.id,
            CampaignUnit.county_id,
            CampaignUnit.unit,
            CampaignUnit.provider_id,
            CampaignUnit.enterprise_id,
        )
    ).all()
    now = datetime.now(timezone.utc)
    conclusions = [Conclusion.COMPLIANT.value] * 8 + [Conclusion.MINOR.value, Conclusion.NON_COMPLIANT.value]
    checks, own = [], {}
    for u in units:
        if rng.random() < 0.85:
            own[u.id] = rng.choice(conclusions)
            checks.append(_check(campaign, u, Tier.SELF.value, own[u.id], None, city, now))
        if rng.random() < 0.30:
            conclusion = rng.choice(conclusions)
            agrees = None if u.id not in own else own[u.id] == conclusion
            checks.append(_check(campaign, u, Tier.RECHECK.value, conclusion, agrees, city, now))
    sample = rng.sample(units, UNITS // 50)
    record = Draw(
        campaign_id=campaign.id,
        algorithm="nt-draw-1",
        population=b"",
        population_sha256="0" * 64,
        population_size=len(units),
        quotas={},
        inspector_pool=[],
        seed_source="bench",
        committed_at=now,
        seed="bench",
        revealed_at=now,
        sample=[u.unit for u in sample],
        inspectors={},
    )
    db.session.add(record)
    db.session.flush()
    for u in sample[: len(sample) * 3 // 4]:
        checks.append(_check(campaign, u, Tier.SPOT.value, rng.choice(conclusions), None, city, now, record.id))
    _bulk(Check.__table__, checks)
    check_rows = db.session.execute(
        sa.select(Check.id, Check.unit_id, Check.county_id).where(Check.tier != Tier.SELF.value)
    ).all()
    by_unit = {u.id: u for u in units}
    violations = db.session.scalars(sa.select(Violation)).all()
    findings = []
    for c in rng.sample(check_rows, min(len(check_rows), 6000)):
        v, u = rng.choice(violations), by_unit[c.unit_id]
        findings.append(
            {
                "check_id": c.id,
                "unit_id": c.unit_id,
                "campaign_id": campaign.id,
                "county_id": c.county_id,
                "violation_id": v.id,
                "code": v.code,
                "title": v.title,
                "legal_basis": v.legal_basis,
                "severity": v.severity.value,
                "party": v.party.value,
                "provider_id": u.provider_id,
                "enterprise_id": u.enterprise_id,
                "facts": "基准",
                "rectification_due": today + timedelta(days=rng.randint(-30, 30)),
                "created_at": now,
            }
        )
    _bulk(Finding.__table__, findings)
    finding_rows = db.session.execute(sa.select(Finding.id, Finding.county_id)).all()
    steps, penalties = [], []
    for f in finding_rows:
        for step in rng.choice([[], ["submitted"], ["submitted", "returned"], ["submitted", "accepted"]]):
            steps.append({"finding_id": f.id, "step": step, "note": "", "created_at": now})
    for n, f in enumerate(rng.sample(finding_rows, 300)):
        penalties.append(
            {
                "finding_id": f.id,
                "county_id": f.county_id,
                "target": "agency",
                "target_name": "机构",
                "decision_no": f"（通）应急罚〔2026〕{n + 1}号",
                "kind": "warning",
                "facts": "基准",
                "legal_basis": "基准",
                "decided_on": today,
                "publicity_start": today,
                "publicity_end": today + timedelta(days=365),
                "created_at": now,
            }
        )
    _bulk(Rectification.__table__, steps)
    _bulk(Penalty.__table__, penalties)
    db.session.commit()
    return campaign, opened, len(checks), len(findings)


def _check(campaign, unit, tier, conclusion, agrees, city, now, draw_id=None):
    return {
        "unit_id": unit.id,
        "campaign_id": campaign.id,
        "county_id": unit.county_id,
        "tier": tier,
        "conclusion": conclusion,
        "answers": [],
        "summary": "",
        "agrees_with_self_check": agrees,
        "inspectors": [],
        "draw_id": draw_id,
        "submitted_by_id": city.id,
        "submitted_at": now,
    }


def timed(fn, runs=7):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return times


def main():
    work = Path(tempfile.mkdtemp(prefix="marketplace-bench-dashboard-"))
    os.environ.update(production_env(work))
    import flask_migrate
    import sqlalchemy as sa

    from marketplace import config, create_app
    from marketplace.extensions import db
    from marketplace.inspections import queries
    from marketplace.inspections.models import CampaignUnit

    app = create_app(config.ProductionConfig())
    rng = random.Random()
    with app.app_context():
        flask_migrate.upgrade()
        started = time.perf_counter()
        campaign, opened, checks, findings = build(rng)
        built = time.perf_counter() - started
        campaign_id = campaign.id
        if db.engine.dialect.name == "postgresql":  # statistics as autovacuum keeps them on a live database
            db.session.execute(sa.text("ANALYZE"))
            db.session.commit()
        db.session.remove()
        db.engine.dispose()  # cold: a new connection, nothing cached in this process's session

        statements = []
        sa.event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
        if os.environ.get("BENCH_PROFILE"):
            marks = {}
            sa.event.listen(
                db.engine, "before_cursor_execute", lambda c, *a: marks.__setitem__(id(c), time.perf_counter())
            )
            sa.event.listen(
                db.engine,
                "after_cursor_execute",
                lambda c, cur, st, *a: print(
                    f"{(time.perf_counter() - marks[id(c)]) * 1000:7.1f} ms  {' '.join(st.split())[:150]}"
                ),
            )
        campaign = db.session.get(type(campaign), campaign_id)
        statements.clear()
        started = time.perf_counter()
        rows, total = queries.dashboard(campaign)
        cold = (time.perf_counter() - started) * 1000
        issued = len(statements)
        if os.environ.get("BENCH_PROFILE"):
            import cProfile
            import pstats

            profile = cProfile.Profile()
            profile.runcall(queries.dashboard, campaign)
            pstats.Stats(profile).sort_stats("tottime").print_stats(12)
        warm = timed(lambda: queries.dashboard(campaign))
        bare = timed(
            lambda: db.session.scalar(
                sa.select(sa.func.count()).select_from(CampaignUnit).where(CampaignUnit.campaign_id == campaign_id)
            )
        )
        county = rows[0].county_id
        one_county = timed(lambda: queries.dashboard(campaign, county_id=county))
    load = os.getloadavg()
    engine = app.config["SQLALCHEMY_DATABASE_URI"].split(":", 1)[0]
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, {engine}")
    print(
        f"population {total.population:,} units (frozen by open_campaign in {opened:.1f} s); {checks:,} checks, "
        f"{findings:,} findings; data built in {built:.0f} s"
    )
    print(f"dashboard, cold (first call, new connection)  {cold:.0f} ms, {issued} SQL statements")
    for label, times in (
        ("dashboard, warm", warm),
        ("one county's dashboard", one_county),
        ("bare: count units once", bare),
    ):
        print(f"{label:44} median {statistics.median(times):.0f} ms  min {min(times):.0f}  max {max(times):.0f}")
    ratio = statistics.median(warm) / statistics.median(bare)
    met = max(cold, statistics.median(warm)) <= BUDGET_MS and issued <= MAX_STATEMENTS
    print(
        f"dashboard ÷ bare: {ratio:.1f}×   budget ≤ {BUDGET_MS} ms and ≤ {MAX_STATEMENTS} statements: "
        f"{'met' if met else 'NOT met'}   load {load[0]:.2f} {load[1]:.2f}"
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
