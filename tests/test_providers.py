"""Agencies declare themselves and are published the moment they sign: the journey and its rules."""

import io
import re
from datetime import date, timedelta

import pypdf
import pytest
import sqlalchemy as sa

from marketplace.auth.roles import Role
from marketplace.providers import services as providers_services
from marketplace.providers.models import Provider, ProviderRevision, ProviderStatus, Qualification
from tests import factories
from tests.conftest import collect_test_client_spool, field_error


def declaration_form(**overrides):
    data = {
        "uscc": factories.uscc_for(11),
        "name": "南通恒安安全技术咨询有限公司",
        "former_names": "",
        "legal_representative": "陆建平",
        "county_id": str(factories.county("320612").id),
        "address": "南通市通州区新金西路 88 号",
        "contact_person": "陈静",
        "phone": "0513-86000000",
        "email": "hengan@example.cn",
        "website": "",
        "founded_on": "2015-03-01",
        "description": "安全咨询、隐患排查治理、安全生产标准化服务。",
        "category_ids": [str(factories.category("consulting").id), str(factories.category("standardisation").id)],
        "region_ids": [str(factories.county("320612").id), str(factories.county("320613").id)],
    }
    data.update(overrides)
    return data


def sign_form(text, **overrides):
    data = {
        "clauses": [str(n) for n in range(1, len(text.clauses) + 1)],
        "signer_name": "陆建平",
        "signer_title": "法定代表人",
    }
    data.update(overrides)
    return data


def test_new_agency_is_public_the_moment_it_signs(client, db, make_user, login_as, search_index):
    from marketplace.pledges import services as pledges

    user = make_user(Role.AGENCY)
    login_as(user)
    assert client.get("/providers/me").status_code == 200
    response = client.post("/providers/me/declaration", data=declaration_form())
    assert response.status_code == 302
    provider = db.session.scalar(sa.select(Provider).where(Provider.account_id == user.id))
    assert provider.status is ProviderStatus.DRAFT
    assert "南通恒安安全技术咨询有限公司" not in client.get("/providers").get_data(as_text=True)

    text = pledges.current_text()
    response = client.post("/providers/me/pledge", data=sign_form(text))
    assert response.status_code == 302
    db.session.expire_all()
    assert provider.status is ProviderStatus.PUBLISHED  # no regulator involved
    assert "南通恒安安全技术咨询有限公司" in client.get("/providers").get_data(as_text=True)
    assert client.get(f"/providers/{provider.id}").status_code == 200

    # the certificate and its public verification
    verify_url = response.headers["Location"]
    page = client.get(verify_url).get_data(as_text=True)
    signature = pledges.latest_signature(provider.id)
    assert signature.text_sha256 in page and "陆建平" in page
    assert pledges.sha256_hex(signature.signed_text) == signature.text_sha256
    certificate = client.get(f"/pledges/certificate/{signature.verification_code}.pdf")
    assert certificate.mimetype == "application/pdf"
    text_in_pdf = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(certificate.data)).pages)
    assert "南通恒安安全技术咨询有限公司" in text_in_pdf
    assert pledges.format_code(signature.verification_code) in text_in_pdf


def test_signing_needs_every_clause_confirmed_and_the_legal_representative(client, db, make_user, login_as):
    from marketplace.pledges import services as pledges

    user = make_user(Role.AGENCY)
    login_as(user)
    client.post("/providers/me/declaration", data=declaration_form())
    text = pledges.current_text()
    html = client.post("/providers/me/pledge?lang=en", data=sign_form(text, clauses=["1", "2"])).get_data(as_text=True)
    assert "Confirm every clause" in field_error(html, "clauses")
    html = client.post("/providers/me/pledge?lang=en", data=sign_form(text, signer_name="张三")).get_data(as_text=True)
    assert "陆建平" in field_error(html, "signer_name")
    provider = db.session.scalar(sa.select(Provider).where(Provider.account_id == user.id))
    assert provider.status is ProviderStatus.DRAFT and pledges.latest_signature(provider.id) is None


def test_incomplete_declaration_cannot_be_signed(client, db, make_user, login_as):
    from marketplace.pledges import services as pledges

    login_as(make_user(Role.AGENCY))
    client.post("/providers/me/declaration", data=declaration_form(address="", region_ids=[]))
    html = client.get("/providers/me?lang=en").get_data(as_text=True)
    assert "Address" in html and "At least one county served" in html
    response = client.post("/providers/me/pledge?lang=en", data=sign_form(pledges.current_text()))
    assert "Complete the declaration" in response.get_data(as_text=True)
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(Provider).where(Provider.status == ProviderStatus.PUBLISHED)
        )
        == 0
    )


@pytest.mark.parametrize(
    "code, message",
    [
        ("91320600MA1ABCDE70", "not a valid unified social credit code"),
        ("12345", "not a valid unified social credit code"),
        ("91320600MA1ABCDE7!", "not a valid unified social credit code"),
    ],
)
def test_invalid_credit_code_is_refused_beside_the_field(client, make_user, login_as, db, code, message):
    user = make_user(Role.AGENCY)
    login_as(user)
    html = client.post("/providers/me/declaration?lang=en", data=declaration_form(uscc=code)).get_data(as_text=True)
    assert message in field_error(html, "uscc")
    assert "南通恒安安全技术咨询有限公司" in html  # what was typed stays
    provider = db.session.scalar(sa.select(Provider).where(Provider.account_id == user.id))
    assert provider is None or provider.name == ""  # nothing half-saved


def test_a_credit_code_can_be_declared_once(client, make_user, login_as, db):
    factories.publish(make_user(Role.AGENCY), n=11)
    login_as(make_user(Role.AGENCY))
    code = factories.uscc_for(11).lower()  # the same code typed in lower case
    html = client.post("/providers/me/declaration?lang=en", data=declaration_form(uscc=code)).get_data(as_text=True)
    error = field_error(html, "uscc")
    assert "already been declared" in error and "contact the bureau" in error


def test_a_profile_edit_keeps_the_earlier_revision_for_regulators_only(app, client, db, make_user, login_as):
    agency = make_user(Role.AGENCY)
    provider, _ = factories.publish(agency, n=12, name="南通诚安安全评价有限公司")
    login_as(agency)
    form = declaration_form(
        uscc=provider.uscc,
        name="南通诚安安全评价有限公司",
        address="南通市崇川区青年中路 1 号",
        legal_representative=provider.legal_representative,
    )
    assert client.post("/providers/me/declaration", data=form).status_code == 302
    latest = db.session.scalars(
        sa.select(ProviderRevision)
        .where(ProviderRevision.provider_id == provider.id)
        .order_by(ProviderRevision.number.desc())
    ).first()
    assert latest.changes["address"] == ["南通市崇川区工农路 100 号", "南通市崇川区青年中路 1 号"]

    public = app.test_client()
    assert "青年中路" in public.get(f"/providers/{provider.id}").get_data(as_text=True)
    assert "工农路" not in public.get(f"/providers/{provider.id}").get_data(as_text=True)
    assert public.get(f"/providers/{provider.id}/history").status_code == 403

    regulator = app.test_client()
    regulator.post(
        "/auth/login", data={"email": make_user(Role.CITY_REGULATOR).email, "password": "Safe-Passw0rd-2026"}
    )
    html = regulator.get(f"/providers/{provider.id}/history?lang=en").get_data(as_text=True)
    assert "工农路" in html and "青年中路" in html and ">Address<" in html
    assert agency.email in html


def test_an_agency_cannot_see_another_agencys_draft_history_or_files(app, client, db, make_user, login_as):
    owner = make_user(Role.AGENCY)
    published, _ = factories.publish(owner, n=13)
    scan = factories.add_qualification(owner, published)
    draft = factories.declare(make_user(Role.AGENCY), n=14)
    login_as(make_user(Role.AGENCY))
    assert client.get(f"/providers/{draft.id}").status_code == 404
    assert client.get(f"/providers/{draft.id}/history").status_code == 404
    assert client.get(f"/providers/{published.id}/history").status_code == 403
    assert client.get(f"/providers/{published.id}/files/{scan.file_id}").status_code == 403
    assert "/files/" not in client.get(f"/providers/{published.id}").get_data(as_text=True)


def test_the_owner_and_regulators_can_open_the_scan(app, client, db, make_user, login_as):
    owner = make_user(Role.AGENCY)
    provider, _ = factories.publish(owner, n=15)
    scan = factories.add_qualification(owner, provider)
    login_as(owner)
    response = client.get(f"/providers/{provider.id}/files/{scan.file_id}")
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert response.data == factories.PNG


def test_renamed_executable_is_refused_as_a_scan(client, db, make_user, login_as):
    login_as(make_user(Role.AGENCY))
    client.post("/providers/me/declaration", data=declaration_form())
    html = client.post(
        "/providers/me/qualifications/new?lang=en",
        data={
            "cert_number": "APJ-1",
            "issuer": "江苏省应急管理厅",
            "scope": "安全评价",
            "valid_from": "2024-01-01",
            "valid_to": "2028-12-31",
            "file": (io.BytesIO(b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200), "licence.pdf"),
        },
        content_type="multipart/form-data",
    ).get_data(as_text=True)
    assert "not a PDF, JPEG or PNG" in field_error(html, "file")
    assert 'value="APJ-1"' in html
    assert db.session.scalar(sa.select(sa.func.count(Qualification.id))) == 0


def test_oversize_scan_is_refused(app, client, db, make_user, login_as):
    login_as(make_user(Role.AGENCY))
    client.post("/providers/me/declaration", data=declaration_form())
    big = factories.PDF + b"0" * app.config["UPLOAD_MAX_BYTES"]
    html = client.post(
        "/providers/me/qualifications/new?lang=en",
        data={
            "cert_number": "APJ-2",
            "issuer": "江苏省应急管理厅",
            "valid_from": "2024-01-01",
            "valid_to": "2028-12-31",
            "file": (io.BytesIO(big), "scan.pdf"),
        },
        content_type="multipart/form-data",
    ).get_data(as_text=True)
    collect_test_client_spool()
    assert "larger than 10 MB" in field_error(html, "file")
    assert db.session.scalar(sa.select(sa.func.count(Qualification.id))) == 0


def test_qualification_cannot_end_before_it_starts(client, db, make_user, login_as):
    login_as(make_user(Role.AGENCY))
    client.post("/providers/me/declaration", data=declaration_form())
    html = client.post(
        "/providers/me/qualifications/new?lang=en",
        data={
            "cert_number": "APJ-3",
            "issuer": "江苏省应急管理厅",
            "valid_from": "2028-01-01",
            "valid_to": "2024-12-31",
            "file": (io.BytesIO(factories.PDF), "scan.pdf"),
        },
        content_type="multipart/form-data",
    ).get_data(as_text=True)
    assert "cannot be before the start date" in field_error(html, "valid_to")
    assert db.session.scalar(sa.select(sa.func.count(Qualification.id))) == 0


@pytest.mark.parametrize(
    "low, high, field, message",
    [
        ("-100", "", "price_min", "cannot be negative"),
        ("5000", "3000", "price_max", "cannot be lower"),
        ("abc", "", "price_min", "Not a valid decimal value"),
        ("1e20", "", "price_min", "below 10,000,000,000"),
        ("100", "99999999999999999999", "price_max", "below 10,000,000,000"),
        ("NaN", "", "price_min", ""),
    ],
)
def test_fee_prices_are_checked(client, db, make_user, login_as, low, high, field, message):
    login_as(make_user(Role.AGENCY))
    client.post("/providers/me/declaration", data=declaration_form())
    html = client.post(
        "/providers/me/fees/new?lang=en",
        data={"item": "安全评价", "unit": "项", "price_min": low, "price_max": high, "basis": "市场价"},
    ).get_data(as_text=True)
    assert message in field_error(html, field)
    assert 'value="安全评价"' in html


def test_staff_id_numbers_are_masked_publicly(client, db, make_user, login_as):
    from marketplace.providers import services

    owner = make_user(Role.AGENCY)
    provider, _ = factories.publish(owner, n=16)
    services.save_staff(
        owner, provider, None, name="周婷", title="一级安全评价师", cert_number="S1", id_number="11010519491231002X"
    )
    html = client.get(f"/providers/{provider.id}").get_data(as_text=True)
    assert "1101**********002X" in html and "11010519491231002X" not in html
    html = client.post("/providers/me/staff/new?lang=en", data={"name": "x", "id_number": "123"}).get_data(as_text=True)


def test_invalid_staff_id_number_is_refused(client, db, make_user, login_as):
    login_as(make_user(Role.AGENCY))
    client.post("/providers/me/declaration", data=declaration_form())
    html = client.post(
        "/providers/me/staff/new?lang=en", data={"name": "周婷", "id_number": "320602198001011234"}
    ).get_data(as_text=True)
    assert "not a valid 18-digit resident ID" in field_error(html, "id_number")


def test_expired_qualifications_are_flagged_and_reminded(client, db, make_user, login_as, search_index):
    owner = make_user(Role.AGENCY)
    provider, _ = factories.publish(owner, n=17)
    factories.add_qualification(owner, provider, valid_from=date(2018, 1, 1), valid_to=date(2023, 1, 1))
    soon = date.today() + timedelta(days=10)
    factories.add_qualification(owner, provider, valid_from=date(2022, 1, 1), valid_to=soon)
    db.session.commit()  # the directory reads the search index, written after the commit
    assert "Has an expired qualification" in client.get("/providers?lang=en").get_data(as_text=True)
    assert "Expired" in client.get(f"/providers/{provider.id}?lang=en").get_data(as_text=True)
    login_as(owner)
    html = client.get("/providers/me?lang=en").get_data(as_text=True)
    assert "expired on 2023-01-01" in html and f"expires on {soon.isoformat()}" in html


def test_a_removed_expired_qualification_no_longer_flags_the_agency_in_the_directory(
    client, db, make_user, search_index
):
    """The directory's row counted every expired qualification, removed ones too, while the profile did
    not: the agency was flagged in the list and not on its own page."""
    owner = make_user(Role.AGENCY)
    provider, _ = factories.publish(owner, n=18)
    old = factories.add_qualification(owner, provider, valid_from=date(2018, 1, 1), valid_to=date(2023, 1, 1))
    db.session.commit()
    assert "Has an expired qualification" in client.get("/providers?lang=en").get_data(as_text=True)
    providers_services.remove_item(owner, provider, old, "过期证书已删除")
    db.session.commit()
    assert "Has an expired qualification" not in client.get("/providers?lang=en").get_data(as_text=True)
    assert "Expired" not in client.get(f"/providers/{provider.id}?lang=en").get_data(as_text=True)


def test_withdrawal_and_suspension(app, client, db, make_user, login_as, search_index):
    owner = make_user(Role.AGENCY)
    provider, _ = factories.publish(owner, n=18, name="南通远安检测技术有限公司")
    login_as(owner)
    assert client.post("/providers/me/withdraw").status_code == 302
    assert "南通远安检测技术有限公司" not in client.get("/providers").get_data(as_text=True)
    assert "withdrew" in client.get(f"/providers/{provider.id}?lang=en").get_data(as_text=True)
    db.session.expire_all()
    factories.sign(owner, provider)  # returns by signing again
    assert provider.status is ProviderStatus.PUBLISHED

    regulator = app.test_client()
    regulator.post(
        "/auth/login", data={"email": make_user(Role.CITY_REGULATOR).email, "password": "Safe-Passw0rd-2026"}
    )
    html = regulator.post(f"/providers/{provider.id}/suspend?lang=en", data={"reason": "  "}).get_data(as_text=True)
    assert field_error(html, "reason")
    regulator.post(f"/providers/{provider.id}/suspend", data={"reason": "报告数据失实，暂停整改"})
    html = client.get(f"/providers/{provider.id}?lang=en").get_data(as_text=True)
    assert "Suspended by the regulator" in html and "报告数据失实，暂停整改" in html
    assert "Suspended" in client.get("/providers?lang=en").get_data(as_text=True)  # listed, marked
    regulator.post(f"/providers/{provider.id}/reinstate", data={"reason": "整改到位，恢复"})
    db.session.expire_all()
    assert provider.status is ProviderStatus.PUBLISHED


def test_county_regulator_suspends_only_agencies_of_its_county(app, client, db, make_user, login_as):
    owner = make_user(Role.AGENCY)
    provider, _ = factories.publish(owner, n=19, county_code="320612")  # 通州区
    login_as(make_user(Role.COUNTY_REGULATOR, county_code="320613"))  # 崇川区
    assert client.get(f"/providers/{provider.id}/suspend").status_code == 403
    assert client.post(f"/providers/{provider.id}/suspend", data={"reason": "x"}).status_code == 403


def test_directory_filters_and_counts(client, db, make_user, search_index):
    factories.publish(
        make_user(Role.AGENCY), n=20, name="南通甲安全评价有限公司", categories=("se_chemicals",), regions=("320613",)
    )
    factories.publish(
        make_user(Role.AGENCY),
        n=21,
        name="海门乙检测技术有限公司",
        categories=("it_chemicals",),
        regions=("320614",),
        county_code="320614",
    )
    db.session.commit()
    html = client.get(f"/providers?category={factories.category('se_chemicals').id}&lang=en").get_data(as_text=True)
    assert "南通甲" in html and "海门乙" not in html and "1 agencies found" in html
    group = factories.category("se_chemicals").parent_id
    assert "南通甲" in client.get(f"/providers?category={group}").get_data(as_text=True)
    html = client.get(f"/providers?county={factories.county('320614').id}").get_data(as_text=True)
    assert "海门乙" in html and "南通甲" not in html
    html = client.get("/providers?q=海门").get_data(as_text=True)
    assert "<mark" in html and "海门乙" in re.sub(r"<[^>]+>", "", html)  # the match is highlighted
    assert "南通甲" in client.get(f"/providers?q={factories.uscc_for(20)}").get_data(as_text=True)
    assert client.get("/providers?category=abc&county=-1&sort=evil&page=x&pledge=zzz").status_code == 200
    assert "1 agencies found" in client.get("/providers?pledge=current&q=南通甲&lang=en").get_data(as_text=True)


def test_the_home_page_and_the_directory_say_what_they_count(client, db, make_user, search_index):
    """The home page counted published agencies, the directory also the suspended ones: 57 against 58."""
    for n in (22, 23):
        factories.publish(make_user(Role.AGENCY), n=n, name=f"南通第{n}安全技术有限公司")
    suspended, _ = factories.publish(make_user(Role.AGENCY), n=24, name="南通暂停安全技术有限公司")
    providers_services.suspend(make_user(Role.CITY_REGULATOR), suspended, "报告数据失实，暂停整改")
    db.session.commit()
    home = client.get("/?lang=en").get_data(as_text=True)
    assert re.search(r'id="published-count">2<', home)
    assert "agencies open to enterprises" in home and "and 1 suspended agency" in home
    directory = " ".join(client.get("/providers?lang=en").get_data(as_text=True).split())
    assert "3 agencies found: 2 open to enterprises, 1 suspended" in directory
    zh = client.get("/?lang=zh").get_data(as_text=True)
    assert "可供企业选择" in zh and "另有 1 家暂停" in zh


def test_the_home_pages_figures_are_counted_once_and_again_after_any_worker_changes_the_register(
    client, db, make_user, search_index
):
    """The figures were two aggregates over every agency on each visit (73 ms at 50,000 agencies); they
    are counted once per change of the register, which a counter in the database tells every worker."""
    from marketplace.common import counters
    from tests.test_query_counts import counting

    factories.publish(make_user(Role.AGENCY), n=41, name="南通首家安全技术有限公司")
    db.session.commit()
    assert re.search(r'id="published-count">1<', client.get("/?lang=en").get_data(as_text=True))
    with counting(db.engine) as statements:
        client.get("/?lang=en")
    assert not [s for s in statements if "count(" in s.lower() and "providers" in s]  # from the cache
    before = counters.value("providers")
    factories.publish(make_user(Role.AGENCY), n=42, name="南通第二安全技术有限公司")
    db.session.commit()  # as another worker's request would
    assert counters.value("providers") > before
    assert re.search(r'id="published-count">2<', client.get("/?lang=en").get_data(as_text=True))


def test_the_home_pages_figures_are_counted_again_only_when_what_they_count_changes(
    client, db, make_user, search_index
):
    """An edit of a description, a phone number or a qualification leaves the figures as they are (they
    were counted again after every edit: 70 ms a worker at 50,000 agencies); a change of the counties
    served and a suspension count them again."""
    from marketplace.common import counters
    from marketplace.providers import directory

    owner = make_user(Role.AGENCY)
    provider, _ = factories.publish(owner, n=43, name="南通计数安全技术有限公司", regions=("320613",))
    db.session.commit()
    counted = []
    count = directory._count_figures
    client.get("/?lang=en")

    def figures_after(change):
        change()
        db.session.commit()
        before = len(counted)
        html = client.get("/?lang=en").get_data(as_text=True)
        return len(counted) > before, html

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(directory, "_count_figures", lambda: counted.append(1) or count())
        before = counters.value("providers")
        again, _html = figures_after(lambda: factories.redeclare(owner, provider, description="新的机构简介。"))
        assert not again and counters.value("providers") == before
        again, html = figures_after(
            lambda: providers_services.save_declaration(
                owner,
                provider,
                category_ids=[c.id for c in provider.categories],
                region_ids=[factories.county("320613").id, factories.county("320682").id],
                **factories.declaration_values(provider),
            )
        )
        assert again
        regulator = make_user(Role.CITY_REGULATOR)
        again, html = figures_after(lambda: providers_services.suspend(regulator, provider, reason="待核查"))
        assert again and re.search(r'id="published-count">0<', html) and 'id="suspended-count"' in html


def test_new_pledge_version_asks_agencies_to_sign_again_then_marks_outdated(app, client, db, make_user, login_as):
    from marketplace.common.time import utcnow
    from marketplace.pledges import services as pledges

    owner = make_user(Role.AGENCY)
    provider, _ = factories.publish(owner, n=22, name="南通德安安全科技有限公司")
    admin = make_user(Role.ADMIN)
    current = pledges.current_text()
    draft = pledges.save_draft_text(
        admin,
        None,
        title_zh=current.title_zh,
        title_en=current.title_en,
        clauses_zh=[c["zh"] for c in current.clauses] + ["本机构承诺按时报送服务项目信息。"],
        clauses_en=[c["en"] for c in current.clauses] + ["We report our projects on time."],
    )
    pledges.issue_text(admin, draft)
    assert pledges.pledge_state(provider)[0] == "resign"
    assert provider.status is ProviderStatus.PUBLISHED  # still listed
    later = utcnow() + timedelta(days=app.config["PLEDGE_GRACE_DAYS"] + 1)
    state, since = pledges.pledge_state(provider, now=later)
    assert state == "outdated" and since == pledges.resign_deadline(draft)
    db.session.commit()
    # the public reads a status; the instruction is for the agency
    public = client.get(f"/providers/{provider.id}?lang=en").get_data(as_text=True)
    assert "Signed the previous pledge version" in public and "to sign by" not in public
    assert "请于" not in client.get(f"/providers/{provider.id}?lang=zh").get_data(as_text=True)
    login_as(owner)
    own = client.get("/providers/me?lang=en").get_data(as_text=True)
    assert "Sign the new version" in own and "New pledge version to sign by" in own
    assert "New pledge version to sign by" in client.get(f"/providers/{provider.id}?lang=en").get_data(as_text=True)
    factories.sign(owner, provider)
    assert pledges.pledge_state(provider)[0] == "current"


def test_outdated_pledge_is_shown_publicly(app, client, db, make_user, monkeypatch, search_index):
    from marketplace.pledges import services as pledges

    provider, _ = factories.publish(make_user(Role.AGENCY), n=23)
    db.session.commit()
    admin = make_user(Role.ADMIN)
    current = pledges.current_text()
    draft = pledges.save_draft_text(
        admin,
        None,
        title_zh=current.title_zh,
        title_en=current.title_en,
        clauses_zh=["新条款"],
        clauses_en=["New clause"],
    )
    pledges.issue_text(admin, draft)
    monkeypatch.setitem(app.config, "PLEDGE_GRACE_DAYS", -1)  # the grace period is over
    html = client.get(f"/providers/{provider.id}?lang=en").get_data(as_text=True)
    assert "Pledge outdated since" in html
    assert "Pledge outdated since" in client.get("/providers?pledge=outdated&lang=en").get_data(as_text=True)


def test_a_race_on_the_credit_code_is_a_message_not_a_500(client, db, make_user, login_as, monkeypatch):
    taken, _ = factories.publish(make_user(Role.AGENCY), n=41)
    login_as(make_user(Role.AGENCY))
    real_save = __import__("marketplace.providers.services", fromlist=["x"]).save_declaration

    def racing_save(actor, provider, **kwargs):  # the duplicate check ran before the other agency committed
        kwargs["uscc"] = None
        real_save(actor, provider, **kwargs)
        provider.uscc = taken.uscc

    monkeypatch.setattr("marketplace.providers.services.save_declaration", racing_save)
    response = client.post("/providers/me/declaration?lang=en", data=declaration_form(uscc=factories.uscc_for(42)))
    assert response.status_code == 200
    assert "already been declared" in field_error(response.get_data(as_text=True), "uscc")


def test_signing_and_publishing_are_in_the_audit_log(db, make_user):
    from marketplace.auth.permissions import SYSTEM
    from marketplace.common.models import AuditLog
    from marketplace.providers import notices

    user = make_user(Role.AGENCY)
    factories.publish(user, n=43)
    batch = notices.publish_batch(SYSTEM)
    actions = {(e.action, e.object_type) for e in db.session.scalars(sa.select(AuditLog))}
    assert ("sign", "PledgeSignature") in actions and ("publish", "NoticeBatch") in actions
    entry = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "publish"))
    assert entry.changes["sha256"] == [None, batch.content_sha256]
