"""Test factories: accounts through factory_boy, and agencies, enterprises and engagements through the
real services (as CKAN's test factories call its actions), so what a test builds obeys every rule a
user meets. Objects are flushed into the session of the test (or of a module's shared world)."""

import io
from datetime import date, timedelta
from decimal import Decimal

import factory
import pytest
import sqlalchemy as sa
from factory.alchemy import SQLAlchemyModelFactory
from PIL import Image
from stdnum.cn import uscc
from werkzeug.datastructures import FileStorage

from marketplace.auth.models import User
from marketplace.auth.passwords import hash_password
from marketplace.auth.roles import Role
from marketplace.common.time import local_today
from marketplace.engagements import services as engagements
from marketplace.engagements import steps
from marketplace.enterprises import services as enterprises
from marketplace.extensions import db
from marketplace.pledges import services as pledges
from marketplace.providers import services
from marketplace.reference.models import County, ServiceCategory

PASSWORD = "Safe-Passw0rd-2026"


class BaseFactory(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "flush"


def county(code="320613"):
    """A county loaded by the first migration (崇川区 by default)."""
    return db.session.scalar(sa.select(County).where(County.code == code))


def category(code):
    return db.session.scalar(sa.select(ServiceCategory).where(ServiceCategory.code == code))


class UserFactory(BaseFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.cn")
    password_hash = factory.LazyFunction(lambda: hash_password(PASSWORD))
    display_name = factory.Sequence(lambda n: f"测试用户{n}")
    role = Role.AGENCY
    active = True

    class Params:
        county_code = None

    @factory.lazy_attribute
    def county_id(self):
        if self.county_code:
            return county(self.county_code).id
        if self.role is Role.COUNTY_REGULATOR:
            return county().id
        return None


@pytest.fixture()
def make_user(db):
    def make(role=Role.AGENCY, **kwargs):
        return UserFactory(role=Role(role), **kwargs)

    return make


@pytest.fixture()
def users(make_user):
    """One account of every role (the county regulator is bound to 崇川区)."""
    return {role.value: make_user(role) for role in Role}


# --- agencies, enterprises and engagements, through the services ---------------------------------


def _image(fmt):
    out = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 30, 30)).save(out, fmt)
    return out.getvalue()


PNG = _image("PNG")
JPEG = _image("JPEG")


def _pdf():
    from pypdf import PdfWriter

    out, writer = io.BytesIO(), PdfWriter()
    writer.add_blank_page(595, 842)
    writer.write(out)
    return out.getvalue()


PDF = _pdf()  # a plain one-page PDF, as a scanner or "Print to PDF" makes


def uscc_for(n):
    """The n-th valid credit code (python-stdnum computes the check digit)."""
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    tail, m = "", n
    for _ in range(6):
        tail = alphabet[m % 31] + tail
        m //= 31
    body = "91320600MA1" + tail  # 17 characters
    return body + uscc.calc_check_digit(body)


def upload(data=PNG, name="scan.png"):
    return FileStorage(stream=io.BytesIO(data), filename=name)


def declare(
    user,
    *,
    n=1,
    name=None,
    county_code="320613",
    categories=("se_chemicals", "consulting"),
    regions=("320613", "320612"),
    legal="张建国",
    **extra,
):
    """A complete declaration for ``user`` (not yet signed)."""
    provider = services.own_provider(user, create=True)
    values = dict(
        uscc=uscc_for(n),
        name=name or f"南通安泰安全技术咨询有限公司{n}",
        former_names="",
        legal_representative=legal,
        county_id=county(county_code).id,
        address="南通市崇川区工农路 100 号",
        contact_person="王芳",
        phone="0513-85000000",
        email=f"agency{n}@example.cn",
        website="",
        founded_on=date(2012, 5, 8),
        description="安全评价、安全咨询与隐患排查治理服务。",
    )
    values.update(extra)
    services.save_declaration(
        user,
        provider,
        category_ids=[category(c).id for c in categories],
        region_ids=[county(c).id for c in regions],
        **values,
    )
    return provider


def declaration_values(provider, **changes):
    """The declaration ``provider`` holds now, as ``save_declaration`` takes it, with ``changes``."""
    from marketplace.providers.views import DECLARATION_FIELDS

    values = {name: getattr(provider, name) for name in DECLARATION_FIELDS}
    values.update(changes)
    return values


def redeclare(user, provider, **changes):
    """Save ``provider``'s declaration again with ``changes``, its categories and counties as they are."""
    return services.save_declaration(
        user,
        provider,
        category_ids=[c.id for c in provider.categories],
        region_ids=[c.id for c in provider.regions],
        **declaration_values(provider, **changes),
    )


def sign(user, provider):
    text = pledges.current_text()
    return services.sign_pledge(
        user,
        provider,
        text,
        signer_name=provider.legal_representative,
        signer_title="法定代表人",
        confirmed=[True] * len(text.clauses),
        client_address="127.0.0.1",
    )


def publish(user, **kwargs):
    provider = declare(user, **kwargs)
    signature = sign(user, provider)
    return provider, signature


def add_qualification(user, provider, *, valid_from=date(2024, 1, 1), valid_to=date(2029, 12, 31), data=PNG):
    return services.save_qualification(
        user,
        provider,
        None,
        cert_number="APJ-(苏)-001",
        issuer="江苏省应急管理厅",
        scope="安全评价",
        valid_from=valid_from,
        valid_to=valid_to,
        upload=upload(data),
    )


# --- enterprises and engagements -------------------------------------------------------------------


def enterprise_uscc_for(n):
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    tail, m = "", n
    for _ in range(6):
        tail = alphabet[m % 31] + tail
        m //= 31
    body = "91320600MA2" + tail
    return body + uscc.calc_check_digit(body)


def make_enterprise(user, *, n=1, name=None, county_code="320613", hazard="hazardous_chemicals"):
    return enterprises.save_profile(
        user,
        None,
        uscc=enterprise_uscc_for(n),
        name=name or f"南通华东化工有限公司{n}",
        county_id=county(county_code).id,
        address="南通市崇川区江海大道 8 号",
        industry="化学原料和化学制品制造业",
        hazard_class=hazard,
        contact_person="李强",
        phone="0513-86000000",
    )


def own_enterprise(user):
    return enterprises.own_enterprise(user)


def add_staff(user, provider, name="陈工", title="安全评价师"):
    return services.save_staff(user, provider, None, name=name, title=title, cert_number="S-001", id_number="")


def soon(days=3):
    return local_today() + timedelta(days=days)


def request(enterprise_user, provider, *, category_code="se_chemicals", county_code="320613", confirmed=(), **extra):
    values = dict(
        category_id=category(category_code).id,
        scope="年度安全现状评价",
        site_address="南通市崇川区江海大道 8 号",
        county_id=county(county_code).id,
        expected_start=soon(3),
        expected_end=soon(20),
        budget=None,
        confirmed=confirmed,
    )
    values.update(extra)
    return engagements.request_service(enterprise_user, provider, **values)


def advance(engagement, enterprise_user, agency_user, to="completed", report_no="AP-2026-001", onsite=None):
    """Take an engagement through the real steps from where it is up to ``to``. An assessment's on-site
    work is announced for ``onsite`` (from, to), today by default, so that its report can be dated today."""
    onsite = onsite or (soon(0), soon(0))
    staff = [m.id for m in engagement.provider.staff]
    order = ["quoted", "contracted", "in_progress", "reported", "completed"]
    reached = {"requested": 0, "quoted": 1, "contracted": 2, "in_progress": 3}[engagement.status.value]
    if reached == 3 and engagement.report is not None:
        reached = 4
    for state in order[reached : order.index(to) + 1]:
        if state == "quoted":
            engagements.quote(
                agency_user, engagement, fee=Decimal("18000.00"), start=soon(3), end=soon(20), team_ids=staff
            )
        elif state == "contracted":
            engagements.accept(enterprise_user, engagement, confirmed=engagement.warnings_confirmed)
        elif state == "in_progress":
            if steps.needs_site_notice(engagement):
                engagements.file_site_notice(
                    agency_user, engagement, onsite_from=onsite[0], onsite_to=onsite[1], address="", team_ids=staff
                )
            engagements.start(agency_user, engagement)
        elif state == "reported":
            engagements.issue_report(
                agency_user, engagement, report_no=report_no, title="安全现状评价报告", issued_on=local_today()
            )
        elif state == "completed":
            engagements.confirm_completion(enterprise_user, engagement)
    return engagement
