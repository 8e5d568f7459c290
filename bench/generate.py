"""National-scale demo data for benchmarks: N agencies with Chinese names, descriptions,
categories, regions, qualifications and staff, inserted in bulk (not through the services:
10,000 argon2 hashes and revisions would take minutes and measure nothing we care about)."""

import random
from datetime import date, datetime, timedelta, timezone

import sqlalchemy as sa

from marketplace.auth.models import User
from marketplace.auth.passwords import hash_password
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


def generate(count, seed=20261129):
    """Insert ``count`` published agencies (and their accounts) into the current database."""
    rng = random.Random(seed)
    counties = db.session.scalars(sa.select(County).order_by(County.sort_order)).all()
    categories = {c.code: c for c in db.session.scalars(sa.select(ServiceCategory))}
    version = pledges.current_text().version
    password = hash_password("Bench-2026-pass")
    now = datetime.now(timezone.utc)
    prefixes, cores = PREFIXES + EXTRA_PREFIXES, CORES + EXTRA_CORES
    start = (db.session.scalar(sa.select(sa.func.max(User.id))) or 0) + 1
    users, providers, cats, regions, quals, staff = [], [], [], [], [], []
    for i in range(count):
        uid = start + i
        county = counties[i % len(counties)]
        suffix, codes, titles = KINDS[i % len(KINDS)]
        name = f"{rng.choice(prefixes)}{rng.choice(cores)}{rng.choice(cores)}{suffix}"
        published = now - timedelta(days=rng.randint(1, 900))
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
        described = "、".join(categories[c].name_zh for c in codes if c in categories)
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
                "founded_on": date(rng.randint(1998, 2021), 1, 1),
                "description": f"{name}专业从事{described}等技术服务，服务{county.name_zh}及周边地区的危险化学品、"
                f"冶金、粉尘涉爆等重点行业企业。",
                "status": ProviderStatus.PUBLISHED.value,
                "status_reason": "",
                "status_changed_at": published,
                "first_published_at": published,
                "pledge_version": version,
                "pledge_signed_at": published,
                "revision_count": 0,
                "created_at": published,
                "updated_at": published,
            }
        )
        cats += [{"provider_id": uid, "category_id": categories[c].id} for c in codes if c in categories]
        served = {county.id} | {c.id for c in rng.sample(counties, rng.randint(1, 4))}
        regions += [{"provider_id": uid, "county_id": c} for c in served]
        quals.append(
            {
                "provider_id": uid,
                "cert_number": f"APJ-（苏）-{rng.randint(100, 999)}",
                "issuer": "江苏省应急管理厅",
                "scope": described,
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
    for model, rows in ((User, users), (Provider, providers), (Qualification, quals), (StaffMember, staff)):
        for chunk in range(0, len(rows), 2000):
            db.session.execute(sa.insert(model.__table__), rows[chunk : chunk + 2000])
    for table, rows in ((provider_categories, cats), (provider_regions, regions)):
        for chunk in range(0, len(rows), 5000):
            db.session.execute(sa.insert(table), rows[chunk : chunk + 5000])
    if db.engine.dialect.name == "postgresql":
        for table in ("users", "providers"):
            db.session.execute(sa.text(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))"))
    db.session.commit()
    return count
