"""The declaration's rules as agencies and regulators meet them: prices, identifiers, uploads, completeness,
revisions, a suspended agency's frozen fields, the signed certificate, and jurisdiction over private records."""

import io
from datetime import date

import pypdf
import pytest
import sqlalchemy as sa

from marketplace.auth.roles import Role
from marketplace.common.errors import DomainError, PermissionDenied
from marketplace.common.models import StoredFile
from marketplace.providers import services
from marketplace.providers.models import Provider, ProviderRevision, StaffMember
from tests import factories
from tests.conftest import PASSWORD, field_error
from tests.test_providers import declaration_form


@pytest.mark.parametrize("value", ["sNaN", "NaN", "Infinity", "-Infinity"])
def test_non_finite_prices_are_a_message(client, make_user, login_as, value):
    login_as(make_user(Role.AGENCY))
    client.post("/providers/me/declaration", data=declaration_form())
    response = client.post("/providers/me/fees/new?lang=en", data={"item": "x", "unit": "y", "price_min": value})
    assert response.status_code == 200
    assert "Enter an amount" in field_error(response.get_data(as_text=True), "price_min")


def test_crafted_category_and_county_ids_are_dropped(client, db, make_user, login_as):
    user = make_user(Role.AGENCY)
    login_as(user)
    inactive = factories.category("training")
    inactive.active = False
    db.session.flush()
    response = client.post(
        "/providers/me/declaration",
        data=declaration_form(
            category_ids=["99999999999999999999", str(inactive.id), str(factories.category("consulting").id)],
            region_ids=["-5", "99999999999999999999", str(factories.county("320613").id)],
        ),
    )
    assert response.status_code == 302
    provider = db.session.scalar(sa.select(Provider).where(Provider.account_id == user.id))
    assert [c.code for c in provider.categories] == ["consulting"]
    assert [c.code for c in provider.regions] == ["320613"]


def test_upload_names_lose_control_characters(db, make_user):
    user = make_user(Role.AGENCY)
    provider, _ = factories.publish(user, n=51)
    item = services.save_qualification(
        user,
        provider,
        None,
        cert_number="A",
        issuer="B",
        scope="",
        valid_from=factories.date(2024, 1, 1),
        valid_to=factories.date(2026, 1, 1),
        upload=factories.upload(name="C:\\scans\\证书\x00扫描.png"),
    )
    db.session.flush()
    assert db.session.get(StoredFile, item.file_id).original_name == "证书扫描.png"


def test_a_published_agency_cannot_empty_its_declaration(client, db, make_user, login_as):
    user = make_user(Role.AGENCY)
    provider, _ = factories.publish(user, n=52, name="南通正衡安全评价有限公司")
    login_as(user)
    html = client.post(
        "/providers/me/declaration?lang=en",
        data=declaration_form(
            uscc=provider.uscc,
            name="",
            legal_representative="",
            county_id="",
            category_ids=[],
            region_ids=[],
        ),
    ).get_data(as_text=True)
    assert "must stay complete" in html
    db.session.expire_all()
    assert provider.name == "南通正衡安全评价有限公司" and provider.categories


def test_the_certificate_shows_the_agency_as_signed(client, db, make_user):
    user = make_user(Role.AGENCY)
    provider, signature = factories.publish(user, n=53, name="南通甲安全技术咨询有限公司")
    values = {
        f: getattr(provider, f)
        for f in (
            "uscc",
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
    }
    services.save_declaration(
        user,
        provider,
        category_ids=[c.id for c in provider.categories],
        region_ids=[c.id for c in provider.regions],
        name="南通乙安全技术咨询有限公司",
        **values,
    )
    data = client.get(f"/pledges/certificate/{signature.verification_code}.pdf").data
    text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)
    assert "南通甲安全技术咨询有限公司" in text and "南通乙" not in text
    html = client.get(f"/pledges/verify/{signature.verification_code}?lang=en").get_data(as_text=True)
    assert "南通甲安全技术咨询有限公司" in html and "Now named 南通乙安全技术咨询有限公司" in html


def test_replacing_a_scan_or_an_id_number_leaves_a_revision(db, make_user):
    user = make_user(Role.AGENCY)
    provider, _ = factories.publish(user, n=54)
    item = factories.add_qualification(user, provider)
    staff = services.save_staff(user, provider, None, name="周婷", id_number="11010519491231002X")

    def count():
        return db.session.scalar(
            sa.select(sa.func.count(ProviderRevision.id)).where(ProviderRevision.provider_id == provider.id)
        )

    before = count()
    services.save_qualification(
        user,
        provider,
        item,
        cert_number=item.cert_number,
        issuer=item.issuer,
        scope=item.scope,
        valid_from=item.valid_from,
        valid_to=item.valid_to,
        upload=factories.upload(factories.JPEG, name="scan.png"),
    )
    assert count() == before + 1
    services.save_staff(user, provider, staff, name="周婷", id_number="11010519510615002X")  # same mask 1101…
    assert count() == before + 2
    latest = db.session.scalars(sa.select(ProviderRevision).order_by(ProviderRevision.id.desc())).first()
    assert "11010519510615002X" not in str(latest.changes) and "1101**********002X" in str(latest.changes)


def test_an_empty_id_field_keeps_the_number_and_never_shows_it(client, db, make_user, login_as):
    user = make_user(Role.AGENCY)
    provider, _ = factories.publish(user, n=55)
    staff = services.save_staff(user, provider, None, name="周婷", id_number="11010519491231002X")
    login_as(user)
    html = client.post(f"/providers/me/staff/{staff.id}", data={"name": "", "id_number": ""}).get_data(as_text=True)
    assert "11010519491231002X" not in html
    client.post(f"/providers/me/staff/{staff.id}", data={"name": "周婷婷", "id_number": ""})
    db.session.expire_all()
    assert staff.name == "周婷婷" and staff.id_number == "11010519491231002X"


def test_services_refuse_another_agencys_item(db, make_user):
    owner, intruder = make_user(Role.AGENCY), make_user(Role.AGENCY)
    provider, _ = factories.publish(owner, n=56)
    fee = services.save_fee(owner, provider, None, item="安全评价", unit="项", price_min=1000, price_max=None, basis="")
    own, _ = factories.publish(intruder, n=57)
    with pytest.raises(PermissionDenied):
        services.save_fee(intruder, own, fee, item="x", unit="y", price_min=1, price_max=None, basis="")
    with pytest.raises(PermissionDenied):
        services.remove_item(intruder, own, fee, "fees")


def test_a_suspended_agency_cannot_move_county(db, make_user):
    user = make_user(Role.AGENCY)
    provider, _ = factories.publish(user, n=58)
    services.suspend(make_user(Role.CITY_REGULATOR), provider, "暂停整改")
    values = {
        f: getattr(provider, f)
        for f in (
            "uscc",
            "name",
            "former_names",
            "legal_representative",
            "address",
            "contact_person",
            "phone",
            "email",
            "website",
            "founded_on",
            "description",
        )
    }
    with pytest.raises(DomainError):
        services.save_declaration(
            user,
            provider,
            category_ids=[c.id for c in provider.categories],
            region_ids=[c.id for c in provider.regions],
            county_id=factories.county("320612").id,
            **values,
        )


def test_signing_checks_completeness_itself(db, make_user):
    from marketplace.pledges import services as pledges
    from marketplace.providers import services as providers

    user = make_user(Role.AGENCY)
    provider = factories.declare(user, n=61, address="")
    text = pledges.current_text()
    with pytest.raises(providers.DeclarationIncomplete):
        providers.sign_pledge(
            user,
            provider,
            text,
            signer_name=provider.legal_representative,
            signer_title="x",
            confirmed=[True] * len(text.clauses),
        )


def test_county_regulator_sees_only_its_countys_private_records(app, make_user):
    other_county = factories.declare(make_user(Role.AGENCY), n=62, county_code="320682")
    client = app.test_client()
    client.post(
        "/auth/login",
        data={"email": make_user(Role.COUNTY_REGULATOR, county_code="320613").email, "password": PASSWORD},
    )
    assert client.get(f"/providers/{other_county.id}").status_code == 404
    assert client.get(f"/providers/{other_county.id}/history").status_code == 404


def test_a_website_typed_without_its_scheme_is_kept(client, db, make_user, login_as):
    """`www.example.com` was refused: it is what people type."""
    login_as(make_user(Role.AGENCY))
    response = client.post("/providers/me/declaration", data=declaration_form(website="www.hengan-safety.cn"))
    assert response.status_code == 302
    provider = db.session.scalar(sa.select(Provider).order_by(Provider.id.desc()))
    assert provider.website == "http://www.hengan-safety.cn"
    html = client.post("/providers/me/declaration?lang=en", data=declaration_form(website="not a web address")).data
    assert "Enter a web address, such as www.example.com." in html.decode()


@pytest.mark.parametrize(
    "typed",
    ["http:/www.hengan-safety.cn", "http//www.hengan-safety.cn", "ｗｗｗ.hengan-safety.cn", "www.hengan-safety.cn."],
)
def test_a_mistyped_website_is_mended_not_stored_broken(client, db, make_user, login_as, typed):
    """`http:/www.example.com` was stored as http://http:/www.example.com; full-width letters as typed."""
    login_as(make_user(Role.AGENCY))
    assert client.post("/providers/me/declaration", data=declaration_form(website=typed)).status_code == 302
    provider = db.session.scalar(sa.select(Provider).order_by(Provider.id.desc()))
    assert provider.website == "http://www.hengan-safety.cn"


def test_the_declaration_shows_every_error_at_once(client, db, make_user, login_as):
    """The form showed one error per submission: a bad credit code, then the future date, then the e-mail."""
    login_as(make_user(Role.AGENCY))
    html = client.post(
        "/providers/me/declaration?lang=en",
        data=declaration_form(
            uscc="91320600MA1ABCDE70", founded_on="2999-01-01", email="not-an-address", phone="call me"
        ),
    ).get_data(as_text=True)
    for field in ("uscc", "founded_on", "email", "phone"):
        assert field_error(html, field), field
    assert "not-an-address" in html and "2999-01-01" in html  # what was typed stays


def test_a_credit_code_already_declared_shows_with_the_format_errors(client, db, make_user, login_as):
    """Another agency's credit code and a bad e-mail: only the e-mail error showed, and the credit
    code's only after the e-mail was mended (two rounds)."""
    taken, _ = factories.publish(make_user(Role.AGENCY), n=83)
    login_as(make_user(Role.AGENCY))
    html = client.post(
        "/providers/me/declaration?lang=en", data=declaration_form(uscc=taken.uscc, email="bad")
    ).get_data(as_text=True)
    assert "already been declared" in field_error(html, "uscc")
    assert field_error(html, "email")
    html = client.post(
        "/providers/me/declaration?lang=en", data=declaration_form(uscc="not a code", email="bad")
    ).get_data(as_text=True)
    assert field_error(html, "uscc").count("credit code") == 1  # one message, not the form's and the rule's


def test_a_rule_and_a_format_error_are_shown_together(db, make_user):
    """The service, called by any caller, also reports every problem at once."""
    from marketplace.common.errors import FieldErrors

    user = make_user(Role.AGENCY)
    taken, _ = factories.publish(make_user(Role.AGENCY), n=81)
    provider = services.own_provider(user, create=True)
    with pytest.raises(FieldErrors) as raised:
        services.save_declaration(
            user, provider, category_ids=[], region_ids=[], uscc=taken.uscc, founded_on=date(2999, 1, 1), name="x"
        )
    assert {e.field for e in raised.value.errors} == {"uscc", "founded_on"}


def test_the_same_person_cannot_be_added_twice_to_the_staff(client, db, make_user, login_as):
    """The same person could be added twice, and the revision then read "— / —"."""
    user = make_user(Role.AGENCY)
    provider, _ = factories.publish(user, n=82)
    login_as(user)
    person = {"name": "陈静", "title": "一级安全评价师", "cert_number": "S-2019-088", "id_number": ""}
    assert client.post("/providers/me/staff/new", data=person).status_code == 302
    html = client.post("/providers/me/staff/new?lang=en", data=person).get_data(as_text=True)
    assert "already on your staff" in field_error(html, "cert_number")
    assert "陈静" in html  # the form keeps what was typed
    same_id = {"name": "陈静", "title": "", "cert_number": "", "id_number": "320611199302092201"}
    assert client.post("/providers/me/staff/new", data=same_id).status_code == 302
    html = client.post("/providers/me/staff/new?lang=en", data=dict(same_id, name="陈 静")).get_data(as_text=True)
    assert "already on your staff" in field_error(html, "id_number")
    # retyped with other spacing, case or dashes, full-width letters: still the same person
    for name, cert in (("陈 静", "s-2019-088"), ("陈静", "S 2019 088"), ("陈静", "Ｓ－2019－088")):
        html = client.post("/providers/me/staff/new?lang=en", data=dict(person, name=name, cert_number=cert))
        assert "already on your staff" in field_error(html.get_data(as_text=True), "cert_number"), (name, cert)
    latin = {"name": "Li Wei", "title": "", "cert_number": "AQ-100", "id_number": ""}
    assert client.post("/providers/me/staff/new", data=latin).status_code == 302
    html = client.post("/providers/me/staff/new?lang=en", data=dict(latin, name="li  wei", cert_number="aq100"))
    assert "already on your staff" in field_error(html.get_data(as_text=True), "cert_number")
    namesake = {"name": "陈静", "title": "注册安全工程师", "cert_number": "S-2021-001", "id_number": ""}
    assert client.post("/providers/me/staff/new", data=namesake).status_code == 302  # another person of that name
    staff = db.session.scalars(sa.select(StaffMember).where(StaffMember.provider_id == provider.id)).all()
    assert len(staff) == 4


def test_a_revision_of_a_list_names_what_arrived_even_when_it_repeats(db, make_user):
    from marketplace.providers.revisions import list_changes

    assert list_changes(["a｜1", "b｜2"], ["a｜1", "b｜2", "a｜1"]) == ([], ["a｜1"], 2)
    assert list_changes(["a｜1", "a｜1"], ["a｜1"]) == (["a｜1"], [], 1)
