"""Demo agencies for ``seed-demo``: about 60 across counties and categories, some with expired
qualifications, one suspended, one withdrawn, and three published notice batches."""

import io
import random
from datetime import date, datetime, timedelta, timezone

import sqlalchemy as sa
from stdnum.cn import ric, uscc
from werkzeug.datastructures import FileStorage

from marketplace.auth import services as auth_services
from marketplace.auth.demo import DEMO_PASSWORD, demo_password_hash
from marketplace.auth.permissions import SYSTEM
from marketplace.auth.roles import Role
from marketplace.extensions import db
from marketplace.pledges import services as pledges
from marketplace.providers import notices, services
from marketplace.providers.models import NoticeBatch, Provider
from marketplace.reference import cache
from marketplace.reference.models import County, ServiceCategory

COUNT = 60
PREFIXES = ["南通", "江苏", "通州", "海门", "如皋", "启东", "海安", "如东", "崇川", "苏通"]
CORES = [
    "安泰",
    "华安",
    "中衡",
    "苏安",
    "众信",
    "安创",
    "盛安",
    "宁安",
    "诚安",
    "恒安",
    "安信",
    "江海",
    "通安",
    "瑞安",
    "国泰",
    "安科",
    "弘安",
    "联安",
    "智安",
    "明安",
    "德安",
    "正衡",
    "远安",
    "鼎安",
    "金盾",
    "平安",
]
# (name suffix, category codes, staff titles)
KINDS = [
    (
        "安全评价有限公司",
        ["se_chemicals", "se_metallurgy", "consulting"],
        ["一级安全评价师", "二级安全评价师", "注册安全工程师"],
    ),
    (
        "安全技术咨询有限公司",
        ["consulting", "hazard_investigation", "standardisation"],
        ["注册安全工程师", "安全咨询师"],
    ),
    ("检测技术有限公司", ["it_chemicals", "it_metallurgy"], ["检测工程师", "注册安全工程师"]),
    ("安全科技有限公司", ["se_chemicals", "emergency_plans", "training"], ["二级安全评价师", "注册安全工程师"]),
    ("职业卫生技术服务有限公司", ["occupational_health", "consulting"], ["职业卫生评价师", "检测工程师"]),
    ("消防技术服务有限公司", ["fire_technical", "emergency_plans"], ["注册消防工程师", "消防设施操作员"]),
    ("应急管理咨询有限公司", ["emergency_plans", "training", "safety_management"], ["注册安全工程师", "应急救援员"]),
    ("安全生产技术服务有限公司", ["safety_management", "hazard_investigation", "standardisation"], ["注册安全工程师"]),
]
SURNAMES = "王李张刘陈杨黄赵周吴徐孙朱马胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = [
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀英",
    "霞",
    "平",
    "刚",
    "建国",
    "建华",
    "海燕",
    "志刚",
    "晓明",
    "丽娟",
    "卫东",
    "春花",
    "宏伟",
    "国平",
    "晓燕",
    "永强",
]
STREETS = {
    "320613": ["工农路", "人民中路", "青年中路", "崇川路", "跃龙南路"],
    "320612": ["新金西路", "金通公路", "世纪大道", "银河路"],
    "320614": ["北京中路", "解放中路", "长江南路", "秀山路"],
    "320682": ["海阳路", "福寿路", "宁海路", "益寿路"],
    "320681": ["人民中路", "和平路", "紫薇路", "江海路"],
    "320685": ["长江中路", "宁海南路", "黄海大道"],
    "320623": ["青园路", "人民路", "友谊路", "掘港大道"],
    "320671": ["星湖大道", "通盛大道", "新开南路", "东方大道"],
}
ISSUERS = ["江苏省应急管理厅", "应急管理部", "江苏省卫生健康委员会", "江苏省消防救援总队"]


def _name(rng):
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


def _credit_code(rng):
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    body = (
        "91"
        + rng.choice(["320613", "320612", "320614", "320682", "320681", "320685", "320623", "320600"])
        + "MA"
        + "".join(rng.choice(alphabet) for _ in range(7))
    )
    return body + uscc.calc_check_digit(body)


def _id_number(rng):
    """A resident ID number that python-stdnum accepts (region codes are checked against birth years)."""
    while True:
        body = (
            rng.choice(["320602", "320611", "320621", "320681", "320683", "320684"])
            + f"{rng.randint(1975, 2000)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(100, 999)}"
        )
        number = body + ric.calc_check_digit(body + "0")  # stdnum expects a placeholder check digit
        if ric.is_valid(number):
            return number


def _scan(rng, title):
    """A small PNG standing in for a scanned certificate."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (420, 300), (250, 247, 238))
    draw = ImageDraw.Draw(image)
    draw.rectangle((10, 10, 410, 290), outline=(160, 40, 40), width=4)
    draw.text((30, 40), "CERTIFICATE (demo scan)", fill=(120, 30, 30))
    draw.text((30, 80), title.encode("ascii", "replace").decode(), fill=(60, 60, 60))
    out = io.BytesIO()
    image.save(out, "PNG")
    return FileStorage(stream=io.BytesIO(out.getvalue()), filename=f"certificate-{rng.randint(1000, 9999)}.png")


def _declare(rng, user, index, counties, categories, signed_at):
    county = counties[index % len(counties)]
    suffix, codes, titles = KINDS[index % len(KINDS)]
    name = f"{PREFIXES[index % len(PREFIXES)]}{CORES[index % len(CORES)]}{suffix}"
    provider = services.own_provider(user, create=True)
    served = {county.id} | {c.id for c in rng.sample(counties, rng.randint(1, 4))}
    services.save_declaration(
        user,
        provider,
        category_ids=[categories[c].id for c in codes if c in categories],
        region_ids=sorted(served),
        uscc=_credit_code(rng),
        name=name,
        former_names="",
        legal_representative=_name(rng),
        county_id=county.id,
        address=f"南通市{county.name_zh}{rng.choice(STREETS.get(county.code, ['人民路']))}{rng.randint(1, 399)}号",
        contact_person=user.display_name,
        phone=f"0513-{rng.randint(80000000, 89999999)}",
        email=user.email,
        website="",
        founded_on=date(rng.randint(1998, 2021), rng.randint(1, 12), rng.randint(1, 28)),
        description=f"{name}专业从事{'、'.join(categories[c].name_zh for c in codes if c in categories)}等技术服务，"
        f"拥有专职技术人员，服务南通市{county.name_zh}及周边地区企业。",
    )
    expired = index % 12 == 5  # a handful of agencies carry an expired certificate
    if expired or any(c.startswith(("se_", "it_")) for c in codes) or index % 3 == 0:
        start = date(2019, 3, 1) if expired else date(rng.randint(2022, 2025), rng.randint(1, 12), 1)
        end = date(2024, 2, 28) if expired else start + timedelta(days=5 * 365)
        services.save_qualification(
            user,
            provider,
            None,
            cert_number=f"APJ-（苏）-{rng.randint(100, 999)}",
            issuer=rng.choice(ISSUERS),
            scope="、".join(categories[c].name_zh for c in codes if c in categories),
            valid_from=start,
            valid_to=end,
            upload=_scan(rng, name),
        )
    for _ in range(rng.randint(2, 6)):
        services.save_staff(
            user,
            provider,
            None,
            name=_name(rng),
            title=rng.choice(titles),
            cert_number=f"{rng.choice(['S', 'Z', 'J'])}{rng.randint(10000000, 99999999)}",
            id_number=_id_number(rng),
        )
    for code in codes[: rng.randint(1, 3)]:
        low = rng.choice([3000, 5000, 8000, 12000, 20000, 30000])
        services.save_fee(
            user,
            provider,
            None,
            item=cache.snapshot().category_label(categories[code].id, "zh"),
            unit=rng.choice(["项", "次", "天", "企业"]),
            price_min=low,
            price_max=low * rng.choice([1, 2, 3]) if rng.random() < 0.6 else None,
            basis="按照市场规则，根据企业规模、工艺复杂程度和工作量协商确定",
        )
    text = pledges.current_text()
    services.sign_pledge(
        user,
        provider,
        text,
        signer_name=provider.legal_representative,
        signer_title="法定代表人",
        confirmed=[True] * len(text.clauses),
        client_address="10.32.6.1",
        now=signed_at,
    )
    return provider


def _move(user, provider, rng):
    fields = (
        "uscc",
        "name",
        "former_names",
        "legal_representative",
        "county_id",
        "address",
        "contact_person",
        "phone",
        "email",
        "website",
        "founded_on",
        "description",
    )
    values = {f: getattr(provider, f) for f in fields}
    values["phone"] = f"0513-{rng.randint(80000000, 89999999)}"
    values["address"] = provider.address.rsplit("路", 1)[0] + f"路{rng.randint(400, 599)}号"
    services.save_declaration(
        user,
        provider,
        category_ids=[c.id for c in provider.categories],
        region_ids=[c.id for c in provider.regions],
        **values,
    )


def seed_providers():
    """Create the demo agencies and notice batches once (skipped when agencies already exist)."""
    if db.session.scalar(sa.select(sa.func.count(Provider.id))) >= 10:
        return
    rng = random.Random(20261129)
    counties = db.session.scalars(sa.select(County).order_by(County.sort_order)).all()
    categories = {c.code: c for c in db.session.scalars(sa.select(ServiceCategory))}
    city = auth_services.get_user_by_email("city@demo.nt-safety.cn")
    today = datetime.now(timezone.utc)
    stages = [(40, today - timedelta(days=150)), (52, today - timedelta(days=60)), (COUNT, today - timedelta(days=5))]
    made, start = [], 0
    for batch_number, (upto, when) in enumerate(stages, start=1):
        for index in range(start, upto):
            email = f"agency{index + 1:02d}@demo.nt-safety.cn" if index >= 3 else f"agency{index + 1}@demo.nt-safety.cn"
            user = auth_services.get_user_by_email(email) or auth_services.create_user(
                SYSTEM,
                email=email,
                password=DEMO_PASSWORD,
                password_hash=demo_password_hash(),
                display_name=_name(rng),
                role=Role.AGENCY,
                phone=f"139{rng.randint(10000000, 99999999)}",
            )
            if index == 1:
                continue  # agency2 keeps a draft: the demo of an unfinished declaration
            made.append((user, _declare(rng, user, index, counties, categories, when - timedelta(days=2))))
        start = upto
        for user, provider in made[batch_number * 3 : batch_number * 3 + 2] if batch_number > 1 else []:
            _move(user, provider, rng)  # a few agencies change address or phone between batches
        if batch_number == 2:
            user, provider = made[7]
            services.withdraw(user, provider)
            if city is not None:
                services.suspend(
                    city, made[11][1], "2026年专项整治抽查发现出具的安全评价报告存在数据失实问题，责令暂停并限期整改。"
                )
        if not db.session.scalar(sa.select(sa.func.count(NoticeBatch.id)).where(NoticeBatch.sequence == batch_number)):
            notices.publish_batch(SYSTEM, now=when)
    # agency2's draft: some fields filled, the rest to do
    draft_user = auth_services.get_user_by_email("agency2@demo.nt-safety.cn")
    if draft_user is not None:
        draft = services.own_provider(draft_user, create=True)
        services.save_declaration(
            draft_user,
            draft,
            category_ids=[categories["consulting"].id],
            region_ids=[],
            uscc=None,
            name="如皋市众安安全技术咨询有限公司",
            former_names="",
            legal_representative="",
            county_id=counties[3].id,
            address="",
            contact_person="王芳",
            phone="0513-87650000",
            email=draft_user.email,
            website="",
            founded_on=None,
            description="",
        )
