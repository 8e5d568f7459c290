"""Building agencies through the real services, for tests."""

import io
from datetime import date

import sqlalchemy as sa
from werkzeug.datastructures import FileStorage

from marketplace.common.models import County, ServiceCategory
from marketplace.extensions import db
from marketplace.pledges import services as pledges
from marketplace.providers import services

def _image(fmt):
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 30, 30)).save(out, fmt)
    return out.getvalue()


PNG = _image("PNG")
JPEG = _image("JPEG")
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"

def uscc_for(n):
    """The n-th valid credit code (python-stdnum computes the check digit)."""
    from stdnum.cn import uscc

    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    tail, m = "", n
    for _ in range(6):
        tail = alphabet[m % 31] + tail
        m //= 31
    body = "91320600MA1" + tail  # 17 characters
    return body + uscc.calc_check_digit(body)


def county(code):
    return db.session.scalar(sa.select(County).where(County.code == code))


def category(code):
    return db.session.scalar(sa.select(ServiceCategory).where(ServiceCategory.code == code))


def upload(data=PNG, name="scan.png"):
    return FileStorage(stream=io.BytesIO(data), filename=name)


def declare(user, *, n=1, name=None, county_code="320613", categories=("se_chemicals", "consulting"),
            regions=("320613", "320612"), legal="张建国", **extra):
    """A complete declaration for ``user`` (not yet signed)."""
    provider = services.own_provider(user, create=True)
    values = dict(
        uscc=uscc_for(n), name=name or f"南通安泰安全技术咨询有限公司{n}", former_names="", legal_representative=legal,
        county_id=county(county_code).id, address="南通市崇川区工农路 100 号", contact_person="王芳",
        phone="0513-85000000", email=f"agency{n}@example.cn", website="", founded_on=date(2012, 5, 8),
        description="安全评价、安全咨询与隐患排查治理服务。",
    )
    values.update(extra)
    services.save_declaration(user, provider, category_ids=[category(c).id for c in categories],
                              region_ids=[county(c).id for c in regions], **values)
    return provider


def sign(user, provider):
    text = pledges.current_text()
    return pledges.sign(user, provider, text, signer_name=provider.legal_representative, signer_title="法定代表人",
                        confirmed=[True] * len(text.clauses), client_address="127.0.0.1")


def publish(user, **kwargs):
    provider = declare(user, **kwargs)
    signature = sign(user, provider)
    return provider, signature


def add_qualification(user, provider, *, valid_from=date(2024, 1, 1), valid_to=date(2029, 12, 31), data=PNG):
    return services.save_qualification(
        user, provider, None, cert_number="APJ-(苏)-001", issuer="江苏省应急管理厅", scope="安全评价",
        valid_from=valid_from, valid_to=valid_to, upload=upload(data))


# --- enterprises and engagements -------------------------------------------------------------------

def enterprise_uscc_for(n):
    from stdnum.cn import uscc

    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    tail, m = "", n
    for _ in range(6):
        tail = alphabet[m % 31] + tail
        m //= 31
    body = "91320600MA2" + tail
    return body + uscc.calc_check_digit(body)


def make_enterprise(user, *, n=1, name=None, county_code="320613", hazard="hazardous_chemicals"):
    from marketplace.enterprises import services as enterprises

    return enterprises.save_profile(
        user, None, uscc=enterprise_uscc_for(n), name=name or f"南通华东化工有限公司{n}", county_id=county(county_code).id,
        address="南通市崇川区江海大道 8 号", industry="化学原料和化学制品制造业", hazard_class=hazard,
        contact_person="李强", phone="0513-86000000")


def add_staff(user, provider, name="陈工", title="安全评价师"):
    return services.save_staff(user, provider, None, name=name, title=title, cert_number="S-001", id_number="")


def soon(days=3):
    from datetime import timedelta

    from marketplace.common.time import local_today

    return local_today() + timedelta(days=days)


def request(enterprise_user, provider, *, category_code="se_chemicals", county_code="320613", confirmed=(), **extra):
    from marketplace.enterprises import engagements

    values = dict(category_id=category(category_code).id, scope="年度安全现状评价", site_address="南通市崇川区江海大道 8 号",
                  county_id=county(county_code).id, expected_start=soon(3), expected_end=soon(20), budget=None,
                  confirmed=confirmed)
    values.update(extra)
    return engagements.request_service(enterprise_user, provider, **values)


def advance(engagement, enterprise_user, agency_user, to="completed", report_no="AP-2026-001"):
    """Take an engagement through the real steps up to ``to``."""
    from decimal import Decimal

    from marketplace.common.time import local_today
    from marketplace.enterprises import engagements

    staff = [m.id for m in engagement.provider.staff]
    order = ["quoted", "contracted", "in_progress", "reported", "completed"]
    for state in order[:order.index(to) + 1]:
        if state == "quoted":
            engagements.quote(agency_user, engagement, fee=Decimal("18000.00"), start=soon(3), end=soon(20),
                              team_ids=staff)
        elif state == "contracted":
            engagements.accept(enterprise_user, engagement, confirmed=engagement.warnings_confirmed)
        elif state == "in_progress":
            if engagements.needs_site_notice(engagement):
                engagements.file_site_notice(agency_user, engagement, onsite_from=soon(3), onsite_to=soon(5),
                                             address="", team_ids=staff)
            engagements.start(agency_user, engagement)
        elif state == "reported":
            engagements.issue_report(agency_user, engagement, report_no=report_no, title="安全现状评价报告",
                                     issued_on=local_today())
        elif state == "completed":
            engagements.confirm_completion(enterprise_user, engagement)
    return engagement
