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
