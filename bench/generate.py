"""Province-scale data for benchmarks, at the scale DESIGN.md names: N agencies with Chinese names,
varied descriptions, categories (every category is used), regions, qualifications and staff; the
enterprises that hire them (2 per agency, at most 20,000) and 20 engagements per agency (1,000,000 at
50,000 agencies) with their reports and ratings. Inserted in bulk, not through the services: 10,000
argon2 hashes and revisions would take minutes and measure nothing we care about. The descriptions are
put together from varied parts, so that no word but the generic ones (安全, 服务) is in every agency's
text by accident."""

import random
import uuid
from datetime import date, datetime, timedelta, timezone

import sqlalchemy as sa

from marketplace.auth.models import User
from marketplace.auth.passwords import hash_password
from marketplace.engagements.models import Engagement, Rating, Report
from marketplace.enterprises.models import Enterprise
from marketplace.extensions import db
from marketplace.pledges import services as pledges
from marketplace.providers.models import (
    Provider,
    ProviderStatus,
    Qualification,
    StaffMember,
    provider_categories,
    provider_regions,
)
from marketplace.providers.seed import CORES, GIVEN, KINDS, PREFIXES, STREETS, SURNAMES
from marketplace.reference.models import County, ServiceCategory

EXTRA_PREFIXES = ["江苏", "苏州", "无锡", "常州", "扬州", "泰州", "盐城", "淮安", "上海", "浙江", "山东", "安徽"]
EXTRA_CORES = [
    "华宁",
    "苏宁",
    "长江",
    "江淮",
    "东方",
    "正大",
    "诚信",
    "卓安",
    "佳安",
    "振安",
    "兴安",
    "永安",
    "泰山",
    "黄海",
    "太湖",
    "金陵",
    "海联",
    "汇通",
    "中安",
    "国安",
    "天安",
    "瑞达",
    "鼎信",
    "宏安",
]


INDUSTRIES = [
    "危险化学品",
    "精细化工",
    "医药制造",
    "纺织印染",
    "家纺",
    "船舶修造",
    "海洋工程装备",
    "机械加工",
    "电子元器件",
    "建材",
    "港口码头",
    "仓储物流",
    "食品加工",
    "粉尘涉爆",
    "有限空间作业",
    "金属冶炼",
    "涉氨制冷",
    "油气储运",
    "烟花爆竹批发",
    "新能源电池",
]
OPENINGS = [
    "{name}成立于{year}年，",
    "{name}是{county}一家专注安全生产的技术服务机构，",
    "本公司位于{county}，",
    "{name}扎根南通{years}余年，",
    "我们是一支由{staff}名专业技术人员组成的团队，",
    "",
]
SERVICE_PHRASES = [
    "主要承接{services}等业务",
    "专业从事{services}",
    "可提供{services}一站式服务",
    "业务范围涵盖{services}",
    "长期为企业开展{services}",
]
CLIENT_PHRASES = [
    "，客户以{industries}企业为主",
    "，服务对象包括{industries}等行业",
    "，熟悉{industries}企业的工艺和风险",
    "，近三年服务{industries}企业{clients}余家",
    "",
]
CLOSINGS = [
    "。",
    "。报告出具规范，响应及时。",
    "。配备便携式气体检测仪、粉尘采样器等设备。",
    "。可按企业要求提供驻场服务和夜间检查。",
    "。设有{county}服务站，就近上门。",
    "。参与过多项地方标准的起草。",
    "。重视回访，发现问题跟踪到整改完成。",
]
ENTERPRISE_KINDS = [
    ("化工有限公司", "化学原料和化学制品制造业", "hazardous_chemicals"),
    ("精细化工有限公司", "化学原料和化学制品制造业", "hazardous_chemicals"),
    ("纺织有限公司", "纺织业", "dust_explosion"),
    ("家纺有限公司", "纺织业", "none"),
    ("船舶重工有限公司", "铁路、船舶、航空航天和其他运输设备制造业", "limited_space"),
    ("机械制造有限公司", "通用设备制造业", "none"),
    ("金属制品有限公司", "金属制品业", "metallurgy"),
    ("特钢有限公司", "黑色金属冶炼和压延加工业", "metallurgy"),
    ("食品有限公司", "农副食品加工业", "dust_explosion"),
    ("物流有限公司", "仓储业", "hazardous_chemicals"),
    ("电子科技有限公司", "计算机、通信和其他电子设备制造业", "none"),
    ("木业有限公司", "木材加工业", "dust_explosion"),
    ("污水处理有限公司", "水的生产和供应业", "limited_space"),
]
ENGAGEMENTS_PER_AGENCY = 20
MAX_ENTERPRISES = 20000
# How engagements end up, as the register would hold them after some years: most completed.
OUTCOMES = [
    ("completed", 60),
    ("in_progress", 6),
    ("contracted", 5),
    ("quoted", 4),
    ("requested", 5),
    ("declined", 6),
    ("withdrawn", 8),
    ("cancelled", 6),
]
RATING_TEXTS = [
    "",
    "",
    "服务专业，报告规范。",
    "响应及时，现场检查细致。",
    "价格偏高，但问题讲得清楚。",
    "整改建议很实用。",
    "进场时间比约定晚了几天。",
]


def _description(rng, name, county, services, years, staff):
    opening = rng.choice(OPENINGS).format(name=name, year=2026 - years, years=years, county=county.name_zh, staff=staff)
    service = rng.choice(SERVICE_PHRASES).format(services="、".join(services))
    clients = rng.choice(CLIENT_PHRASES).format(
        industries="、".join(rng.sample(INDUSTRIES, rng.randint(1, 3))), clients=rng.randint(2, 30) * 10
    )
    return opening + service + clients + rng.choice(CLOSINGS).format(county=county.name_zh)


def _insert(table, rows, chunk=5000):
    for start in range(0, len(rows), chunk):
        db.session.execute(sa.insert(table), rows[start : start + chunk])


def generate(count, seed=20261129):
    """Insert ``count`` published agencies (and their accounts), their enterprises, engagements, reports
    and ratings into the current database."""
    rng = random.Random(seed)
    counties = db.session.scalars(sa.select(County).order_by(County.sort_order)).all()
    categories = {c.code: c for c in db.session.scalars(sa.select(ServiceCategory))}
    leaves = [c for c in categories.values() if c.parent_id is not None]
    version = pledges.current_text().version
    password = hash_password("Bench-2026-pass")
    now = datetime.now(timezone.utc)
    prefixes, cores = PREFIXES + EXTRA_PREFIXES, CORES + EXTRA_CORES
    start = (db.session.scalar(sa.select(sa.func.max(User.id))) or 0) + 1
    users, providers, cats, regions, quals, staff = [], [], [], [], [], []
    provider_categories_of = {}
    for i in range(count):
        uid = start + i
        county = counties[i % len(counties)]
        suffix, codes, titles = KINDS[i % len(KINDS)]
        # its kind's usual services, often one or two more of any category (every category is used)
        chosen = [categories[c] for c in codes if c in categories and rng.random() < 0.8] or [categories[codes[0]]]
        for extra in rng.sample(leaves, rng.choice([0, 0, 1, 1, 2])):
            if extra not in chosen:
                chosen.append(extra)
        provider_categories_of[uid] = [c.id for c in chosen]
        name = f"{rng.choice(prefixes)}{rng.choice(cores)}{rng.choice(cores)}{suffix}"
        published = now - timedelta(days=rng.randint(1, 900))
        years, headcount = rng.randint(3, 25), rng.randint(6, 80)
        users.append(
            {
                "id": uid,
                "email": f"bench{i:05d}@bench.nt-safety.cn",
                "password_hash": password,
                "display_name": rng.choice(SURNAMES) + rng.choice(GIVEN),
                "role": "agency",
                "active": True,
                "session_version": 1,
                "created_at": published,
            }
        )
        providers.append(
            {
                "id": uid,
                "account_id": uid,
                "uscc": f"9132{uid:014d}",
                "name": f"{name}{i}",
                "former_names": "",
                "legal_representative": rng.choice(SURNAMES) + rng.choice(GIVEN),
                "county_id": county.id,
                "address": f"南通市{county.name_zh}{rng.choice(STREETS.get(county.code, ['人民路']))}{rng.randint(1, 399)}号",
                "contact_person": rng.choice(SURNAMES) + rng.choice(GIVEN),
                "phone": f"0513-{rng.randint(80000000, 89999999)}",
                "email": "",
                "website": "",
                "founded_on": date(2026 - years, rng.randint(1, 12), 1),
                "description": _description(rng, name, county, [c.name_zh for c in chosen], years, headcount),
                "status": ProviderStatus.PUBLISHED.value,
                "status_reason": "",
                "status_changed_at": published,
                "first_published_at": published,
                "pledge_version": version,
                "pledge_signed_at": published,
                "revision_count": 0,
                "rating_count": 0,
                "rating_total": 0,
                "created_at": published,
                "updated_at": published,
            }
        )
        cats += [{"provider_id": uid, "category_id": c.id} for c in chosen]
        served = {county.id} | {c.id for c in rng.sample(counties, rng.randint(1, 4))}
        regions += [{"provider_id": uid, "county_id": c} for c in served]
        quals.append(
            {
                "provider_id": uid,
                "cert_number": f"APJ-（苏）-{rng.randint(100, 999)}",
                "issuer": "江苏省应急管理厅",
                "scope": "、".join(c.name_zh for c in chosen),
                "valid_from": date(2023, 1, 1),
                "valid_to": date(2028, 1, 1),
            }
        )
        staff += [
            {
                "provider_id": uid,
                "name": rng.choice(SURNAMES) + rng.choice(GIVEN),
                "id_number": "",
                "cert_number": "",
                "title": rng.choice(titles),
            }
            for _ in range(rng.randint(2, 5))
        ]
    enterprises, engagements, reports, ratings = _clients(
        rng, providers, provider_categories_of, categories, counties, start + count, password, users, now
    )
    for model, rows in (
        (User, users),
        (Provider, providers),
        (Qualification, quals),
        (StaffMember, staff),
        (Enterprise, enterprises),
        (Engagement, engagements),
        (Report, reports),
        (Rating, ratings),
    ):
        _insert(model.__table__, rows)
    for table, rows in ((provider_categories, cats), (provider_regions, regions)):
        _insert(table, rows)
    if db.engine.dialect.name == "postgresql":
        for table in ("users", "providers", "enterprises", "engagements", "reports", "ratings"):
            db.session.execute(sa.text(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))"))
    db.session.commit()
    return count


def _clients(rng, providers, provider_categories_of, categories, counties, first_user, password, users, now):
    """The enterprises (each with its account, appended to ``users``) and the engagements between them and
    the agencies, with a report for each completed one and a rating for about half of those; the
    agencies' rating totals are added to their rows."""
    by_id = {c.id: c for c in categories.values()}
    outcomes, weights = zip(*OUTCOMES, strict=True)
    enterprises = []
    for n in range(min(MAX_ENTERPRISES, 2 * len(providers))):
        uid = first_user + n
        county = counties[rng.randrange(len(counties))]
        suffix, industry, hazard = rng.choice(ENTERPRISE_KINDS)
        name = f"南通{rng.choice(CORES)}{rng.choice(EXTRA_CORES)}{suffix}{n}"
        users.append(
            {
                "id": uid,
                "email": f"ent{n:05d}@bench.nt-safety.cn",
                "password_hash": password,
                "display_name": rng.choice(SURNAMES) + rng.choice(GIVEN),
                "role": "enterprise",
                "active": True,
                "session_version": 1,
                "created_at": now,
            }
        )
        enterprises.append(
            {
                "id": n + 1,
                "account_id": uid,
                "uscc": f"9132068{n:011d}",
                "name": name,
                "county_id": county.id,
                "address": f"南通市{county.name_zh}{rng.choice(STREETS.get(county.code, ['人民路']))}{rng.randint(1, 399)}号",
                "industry": industry,
                "hazard_class": hazard,
                "contact_person": rng.choice(SURNAMES) + rng.choice(GIVEN),
                "phone": f"139{rng.randint(10000000, 99999999)}",
                "version": 1,
                "created_at": now,
                "updated_at": now,
            }
        )
    engagements, reports, ratings = [], [], []
    for provider in providers:
        for k in range(ENGAGEMENTS_PER_AGENCY):
            enterprise = enterprises[rng.randrange(len(enterprises))]
            category = by_id[rng.choice(provider_categories_of[provider["id"]])]
            status = rng.choices(outcomes, weights)[0]
            created = now - timedelta(days=rng.randint(5, 1000))
            start = created.date() + timedelta(days=rng.randint(3, 30))
            end = start + timedelta(days=rng.randint(5, 60))
            quoted = status not in ("requested", "withdrawn") or rng.random() < 0.3
            worked = status in ("contracted", "in_progress", "completed") or (status == "cancelled" and quoted)
            fee = rng.randint(8, 300) * 500 if quoted else None
            engagement_id = len(engagements) + 1
            engagements.append(
                {
                    "id": engagement_id,
                    "enterprise_id": enterprise["id"],
                    "provider_id": provider["id"],
                    "category_id": category.id,
                    "county_id": enterprise["county_id"],
                    "status": status,
                    "scope": f"{enterprise['name']}{category.name_zh}",
                    "site_address": enterprise["address"],
                    "expected_start": start,
                    "expected_end": end,
                    "budget": rng.randint(8, 300) * 500,
                    "warnings_confirmed": [],
                    "quoted_fee": fee,
                    "quoted_start": start if quoted else None,
                    "quoted_end": end if quoted else None,
                    "quote_note": "",
                    "quoted_at": created + timedelta(days=1) if quoted else None,
                    "closing_reason": "经双方协商终止。" if status in ("declined", "withdrawn", "cancelled") else "",
                    "contracted_at": created + timedelta(days=2) if worked else None,
                    "started_at": created + timedelta(days=3) if status in ("in_progress", "completed") else None,
                    "completed_at": created + timedelta(days=4 + (end - start).days) if status == "completed" else None,
                    "closed_at": created + timedelta(days=2)
                    if status in ("declined", "withdrawn", "cancelled")
                    else None,
                    "conflict": False,
                    "conflict_with": [],
                    "created_at": created,
                    "updated_at": created,
                }
            )
            if status != "completed":
                continue
            issued = end + timedelta(days=rng.randint(0, 10))
            reports.append(
                {
                    "id": len(reports) + 1,
                    "engagement_id": engagement_id,
                    "provider_id": provider["id"],
                    "report_no": f"NTAQ-{issued:%Y}-{provider['id']:06d}-{k:03d}",
                    "public_id": uuid.UUID(int=rng.getrandbits(128)).hex,
                    "title": f"{enterprise['name']}{category.name_zh}报告",
                    "issued_on": issued,
                    "file_id": None,
                    "provider_name": provider["name"],
                    "enterprise_name": enterprise["name"],
                    "category_name": category.name_zh,
                    "created_at": created,
                }
            )
            if rng.random() < 0.5:
                score = rng.choices((5, 4, 3, 2, 1), (50, 30, 12, 5, 3))[0]
                provider["rating_count"] += 1
                provider["rating_total"] += score
                ratings.append(
                    {
                        "id": len(ratings) + 1,
                        "engagement_id": engagement_id,
                        "provider_id": provider["id"],
                        "enterprise_id": enterprise["id"],
                        "score": score,
                        "text": rng.choice(RATING_TEXTS),
                        "created_at": created + timedelta(days=5 + (end - start).days),
                        "reply": "",
                        "hidden_reason": "",
                    }
                )
    return enterprises, engagements, reports, ratings
