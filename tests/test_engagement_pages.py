"""The engagement pages as the parties use them: forms, messages beside the fields, refusals,
public report verification, and ratings on the profile."""

import io
from datetime import timedelta

import pytest
import sqlalchemy as sa

from marketplace.auth.roles import Role
from marketplace.common.time import local_today
from marketplace.engagements.models import Engagement, EngagementFile
from marketplace.engagements.models import EngagementStatus as S
from tests import factories
from tests.conftest import PASSWORD, field_error


@pytest.fixture()
def market(make_user, db, search_index):
    agency_user = make_user(Role.AGENCY)
    provider, _ = factories.publish(
        agency_user,
        n=801,
        name="南通安泰安全评价有限公司",
        categories=("se_chemicals", "consulting"),
        regions=("320613", "320612"),
    )
    staff = factories.add_staff(agency_user, provider)
    client_user = make_user(Role.ENTERPRISE)
    db.session.commit()
    return {"agency": agency_user, "provider": provider, "staff": staff, "client": client_user}


def login(app, user):
    client = app.test_client()
    response = client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302
    return client


def request_form(**overrides):
    data = {
        "category_id": str(factories.category("se_chemicals").id),
        "scope": "年度安全现状评价",
        "site_address": "南通市崇川区江海大道 8 号",
        "county_id": str(factories.county("320613").id),
        "expected_start": (local_today() + timedelta(days=5)).isoformat(),
        "expected_end": (local_today() + timedelta(days=25)).isoformat(),
        "budget": "20000",
    }
    data.update(overrides)
    return data


def test_a_new_enterprise_requests_contracts_verifies_and_rates(app, market, db):
    enterprise = login(app, market["client"])
    # no profile yet: asked to fill it in, then brought back to the request
    response = enterprise.get(f"/engagements/new?provider={market['provider'].id}")
    assert "/enterprises/me/profile" in response.headers["Location"]
    response = enterprise.post(
        f"/enterprises/me/profile?next_provider={market['provider'].id}",
        data={
            "uscc": factories.enterprise_uscc_for(5),
            "name": "南通华东化工有限公司",
            "county_id": str(factories.county("320613").id),
            "address": "南通市崇川区江海大道 8 号",
            "industry": "化学原料和化学制品制造业",
            "hazard_class": "hazardous_chemicals",
            "contact_person": "李强",
            "phone": "0513-86000000",
        },
    )
    assert response.headers["Location"].endswith(f"/engagements/new?provider={market['provider'].id}")
    response = enterprise.post(f"/engagements/new?provider={market['provider'].id}", data=request_form())
    assert response.status_code == 302
    engagement = db.session.scalar(sa.select(Engagement).order_by(Engagement.id.desc()))
    assert engagement.status is S.REQUESTED

    agency = login(app, market["agency"])
    assert engagement.reference in agency.get("/engagements/dashboard").get_data(as_text=True)
    response = agency.post(
        f"/engagements/{engagement.id}/quote",
        data={
            "fee": "18000",
            "start": (local_today() + timedelta(days=5)).isoformat(),
            "end": (local_today() + timedelta(days=20)).isoformat(),
            "team": [str(market["staff"].id)],
            "note": "",
        },
    )
    assert response.status_code == 302
    assert enterprise.post(f"/engagements/{engagement.id}/accept", data={}).status_code == 302
    assert (
        agency.post(
            f"/engagements/{engagement.id}/site-notice",
            data={
                "onsite_from": (local_today() + timedelta(days=6)).isoformat(),
                "onsite_to": (local_today() + timedelta(days=8)).isoformat(),
                "address": "",
                "team": [str(market["staff"].id)],
            },
        ).status_code
        == 302
    )
    assert agency.post(f"/engagements/{engagement.id}/start", data={}).status_code == 302
    report = {"report_no": "NTAT-2026-088", "title": "安全现状评价报告", "issued_on": local_today().isoformat()}
    html = agency.post(f"/engagements/{engagement.id}/report?lang=en", data=report).get_data(as_text=True)
    assert "cannot be dated before the on-site work ends" in html  # the announced work has not happened yet
    assert (
        agency.post(
            f"/engagements/{engagement.id}/site-notice",
            data={  # it was done earlier than planned
                "onsite_from": local_today().isoformat(),
                "onsite_to": local_today().isoformat(),
                "address": "",
                "team": [str(market["staff"].id)],
            },
        ).status_code
        == 302
    )
    response = agency.post(f"/engagements/{engagement.id}/report", data=report)
    assert response.status_code == 302
    page = enterprise.get(f"/engagements/{engagement.id}").get_data(as_text=True)
    assert "NTAT-2026-088" in page and f"/engagements/{engagement.id}/report/qr.svg" in page
    assert enterprise.post(f"/engagements/{engagement.id}/confirm", data={}).status_code == 302

    public = app.test_client()
    genuine = public.get("/reports/verify?no=ntat-2026-088&lang=zh").get_data(as_text=True)
    # report numbers are easy to guess: by number alone, the client's name is shown in part
    assert "南通安泰安全评价有限公司" in genuine and "南通华东化工有限公司" not in genuine
    assert "南通＊＊＊＊有限公司" in genuine
    issuer = market["provider"].uscc
    full = public.get(f"/reports/verify?no=ntat-2026-088&issuer={issuer.lower()}&lang=zh").get_data(as_text=True)
    assert "南通华东化工有限公司" in full
    forged = public.get("/reports/verify?no=NTAT-2026-999&lang=zh")
    assert forged.status_code == 200 and 'id="unknown-report"' in forged.get_data(as_text=True)
    qr = enterprise.get(f"/engagements/{engagement.id}/report/qr.svg")
    assert qr.mimetype == "image/svg+xml" and b"<svg" in qr.data
    assert "private" in qr.headers["Cache-Control"]
    assert public.get(f"/engagements/{engagement.id}/report/qr.svg").status_code == 302  # to the login page
    scanned = public.get(f"/reports/r/{engagement.report.public_id}?lang=zh").get_data(as_text=True)
    assert "NTAT-2026-088" in scanned and "南通华东化工有限公司" in scanned

    assert (
        enterprise.post(f"/engagements/{engagement.id}/rate", data={"score": "5", "text": "报告扎实。"}).status_code
        == 302
    )
    profile = public.get(f"/providers/{market['provider'].id}?lang=zh").get_data(as_text=True)
    assert "报告扎实。" in profile and "南通华东化工有限公司" in profile and "1 条真实评价" in profile


def test_illegal_moves_are_refused_with_clear_messages(app, market, db, make_user):
    client_user = market["client"]
    factories.make_enterprise(client_user, n=6)
    engagement = factories.request(client_user, market["provider"])
    db.session.commit()
    enterprise = login(app, client_user)
    # rating before completion
    response = enterprise.get(f"/engagements/{engagement.id}/rate?lang=en", follow_redirects=True)
    assert "once the engagement is completed" in response.get_data(as_text=True)
    # quoting someone else's request: another agency cannot even open it
    stranger = make_user(Role.AGENCY)
    factories.publish(stranger, n=802)
    db.session.commit()
    assert login(app, stranger).post(f"/engagements/{engagement.id}/quote", data={"fee": "1"}).status_code == 403
    # a category the agency does not declare: the form refuses it beside the field
    html = enterprise.post(
        f"/engagements/new?provider={market['provider'].id}&lang=en",
        data=request_form(category_id=str(factories.category("it_chemicals").id)),
    ).get_data(as_text=True)
    assert "Not a valid choice" in html or "does not declare" in html
    # a number no category can have (it overflowed the database's integer: a 500)
    for huge in ("99999999999999999999", "2147483648", "-1"):
        page = enterprise.get(f"/engagements/new?provider={market['provider'].id}&category={huge}")
        assert page.status_code == 200
        posted = enterprise.post(
            f"/engagements/new?provider={market['provider'].id}&lang=en", data=request_form(category_id=huge)
        )
        assert posted.status_code == 200 and field_error(posted.get_data(as_text=True), "category_id")
    # a county regulator of another county cannot open the engagement
    haian = make_user(Role.COUNTY_REGULATOR, county=factories.county("320685"))
    db.session.commit()
    assert login(app, haian).get(f"/engagements/{engagement.id}").status_code == 403


def test_a_suspended_agency_cannot_be_chosen_from_its_page(app, market, db, make_user):
    from marketplace.providers import services as providers

    factories.make_enterprise(market["client"], n=7)
    providers.suspend(make_user(Role.CITY_REGULATOR), market["provider"], "报告质量问题，暂停整改")
    db.session.commit()
    enterprise = login(app, market["client"])
    page = enterprise.get(f"/engagements/new?provider={market['provider'].id}&lang=zh").get_data(as_text=True)
    assert 'id="blocked"' in page and "暂停整改" in page
    response = enterprise.post(f"/engagements/new?provider={market['provider'].id}", data=request_form())
    assert response.status_code == 200
    assert db.session.scalar(sa.select(sa.func.count(Engagement.id))) == 0


def test_warnings_are_confirmed_on_the_form(app, market, db):
    from datetime import date

    factories.make_enterprise(market["client"], n=8)
    qualification = factories.add_qualification(
        market["agency"], market["provider"], valid_from=date(2020, 1, 1), valid_to=date(2023, 12, 31)
    )
    qualification.categories = [factories.category("se_chemicals")]
    db.session.commit()
    enterprise = login(app, market["client"])
    url = f"/engagements/new?provider={market['provider'].id}&lang=en"
    page = enterprise.get(url).get_data(as_text=True)
    assert "qualification for this category has expired" in page
    html = enterprise.post(url, data=request_form()).get_data(as_text=True)
    assert "confirm that you still choose it" in html and "年度安全现状评价" in html  # kept what was typed
    assert enterprise.post(url, data=request_form(confirm_warnings="y")).status_code == 302


def test_a_duplicate_report_number_is_shown_beside_the_field(app, market, db):
    factories.make_enterprise(market["client"], n=10)
    first = factories.advance(
        factories.request(market["client"], market["provider"]),
        market["client"],
        market["agency"],
        to="reported",
        report_no="DUP-1",
    )
    second = factories.advance(
        factories.request(market["client"], market["provider"]), market["client"], market["agency"], to="in_progress"
    )
    db.session.commit()
    agency = login(app, market["agency"])
    html = agency.post(
        f"/engagements/{second.id}/report?lang=en",
        data={"report_no": "dup-1", "title": "报告", "issued_on": local_today().isoformat()},
    ).get_data(as_text=True)
    assert "already issued a report with this number" in html
    assert first.report.report_no == "DUP-1"


def test_the_county_regulator_sees_upcoming_on_site_work(app, market, db, make_user):
    factories.make_enterprise(market["client"], n=11)
    engagement = factories.advance(
        factories.request(market["client"], market["provider"]), market["client"], market["agency"], to="in_progress"
    )
    elsewhere = factories.advance(
        factories.request(market["client"], market["provider"], county_code="320612"),
        market["client"],
        market["agency"],
        to="in_progress",
    )
    chongchuan = make_user(Role.COUNTY_REGULATOR, county=factories.county("320613"))
    db.session.commit()
    page = login(app, chongchuan).get("/engagements/site-notices").get_data(as_text=True)
    assert engagement.reference in page and elsewhere.reference not in page


def test_engagement_lists_filter_and_search(app, market, db):
    factories.make_enterprise(market["client"], n=12)
    done = factories.advance(
        factories.request(market["client"], market["provider"]), market["client"], market["agency"], to="completed"
    )
    waiting = factories.request(market["client"], market["provider"])
    db.session.commit()
    enterprise = login(app, market["client"])
    completed = enterprise.get("/engagements?status=completed").get_data(as_text=True)
    assert done.reference in completed and waiting.reference not in completed
    by_number = enterprise.get(f"/engagements?q={waiting.reference}").get_data(as_text=True)
    assert waiting.reference in by_number and done.reference not in by_number
    assert enterprise.get("/engagements?status=nonsense&q=%01(&page=-3&conflict=maybe").status_code == 200


def test_an_agency_says_which_categories_a_certificate_covers(app, market, db):
    from datetime import date

    agency = login(app, market["agency"])
    form = agency.get("/providers/me/qualifications/new?lang=en").get_data(as_text=True)
    assert "Categories it covers" in form
    response = agency.post(
        "/providers/me/qualifications/new",
        data={
            "cert_number": "APJ-(苏)-009",
            "issuer": "江苏省应急管理厅",
            "scope": "危险化学品安全评价",
            "valid_from": "2019-01-01",
            "valid_to": "2022-12-31",
            "category_ids": [str(factories.category("se_chemicals").id), str(factories.category("it_chemicals").id)],
            "file": (__import__("io").BytesIO(factories.PDF), "cert.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    from marketplace.engagements import choice

    db.session.expire_all()
    provider = db.session.get(type(market["provider"]), market["provider"].id)
    qualification = provider.qualifications[-1]
    assert [c.code for c in qualification.categories] == ["se_chemicals"]  # not a declared one: dropped
    assert qualification.valid_to == date(2022, 12, 31)
    assert "qualification_expired" in choice.choice_warnings(provider, factories.category("se_chemicals").id)


def test_a_removed_contract_stays_evidence_and_nothing_is_removed_after_completion(app, market, db, make_user):
    """The enterprise removed the signed contract after completion; the city regulator then saw
    "尚未上传文件", the file's address gave 404 and the timeline said nothing."""
    client_user, agency_user = market["client"], market["agency"]
    factories.make_enterprise(client_user, n=820)
    engagement = factories.advance(
        factories.request(client_user, market["provider"]), client_user, agency_user, to="contracted"
    )
    db.session.commit()
    enterprise = login(app, client_user)
    upload = {"file": (io.BytesIO(factories.PDF), "合同.pdf"), "description": "盖章合同"}
    assert enterprise.post(f"/engagements/{engagement.id}/files", data=upload).status_code == 302
    first = db.session.scalar(sa.select(EngagementFile).where(EngagementFile.engagement_id == engagement.id))
    assert enterprise.post(f"/engagements/{engagement.id}/files/{first.id}/remove").status_code == 302
    # removed while the work was open: kept, marked removed, on the timeline, readable to regulators
    regulator = login(app, make_user(Role.COUNTY_REGULATOR, county_code="320613"))
    page = regulator.get(f"/engagements/{engagement.id}?lang=en").get_data(as_text=True)
    assert "合同.pdf" in page and "Removed on" in page and "File removed" in page
    assert regulator.get(f"/engagements/{engagement.id}/files/{first.id}").status_code == 200
    assert enterprise.get(f"/engagements/{engagement.id}/files/{first.id}").status_code == 404
    assert (
        login(app, make_user(Role.CITY_REGULATOR)).get(f"/engagements/{engagement.id}/files/{first.id}").data
        == factories.PDF
    )
    # attached again, and the work completed: the contract can no longer be taken back
    upload = {"file": (io.BytesIO(factories.PDF), "合同-最终.pdf"), "description": ""}
    assert enterprise.post(f"/engagements/{engagement.id}/files", data=upload).status_code == 302
    final = db.session.scalar(
        sa.select(EngagementFile).where(
            EngagementFile.engagement_id == engagement.id, EngagementFile.deleted_at.is_(None)
        )
    )
    db.session.expire_all()
    factories.advance(db.session.get(Engagement, engagement.id), client_user, agency_user, to="completed")
    db.session.commit()
    page = enterprise.get(f"/engagements/{engagement.id}?lang=en").get_data(as_text=True)
    assert f"/files/{final.id}/remove" not in page
    response = enterprise.post(f"/engagements/{engagement.id}/files/{final.id}/remove?lang=en")
    assert response.status_code == 302
    assert "You cannot remove a file now" in enterprise.get(response.headers["Location"]).get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(EngagementFile, final.id).deleted_at is None


def test_a_category_named_in_two_groups_is_shown_with_its_group(app, db, make_user, search_index):
    """金属冶炼 exists under both 安全评价 and 检测检验; chips, the request select and engagement titles
    showed it alone."""
    agency_user, client_user = make_user(Role.AGENCY), make_user(Role.ENTERPRISE)
    provider, _ = factories.publish(
        agency_user, n=830, categories=("se_metallurgy", "it_metallurgy"), regions=("320613",)
    )
    factories.add_staff(agency_user, provider)
    factories.make_enterprise(client_user, n=830)
    engagement = factories.request(client_user, provider, category_code="it_metallurgy")
    db.session.commit()
    for lang, evaluated, tested in (
        ("zh", "金属冶炼（安全评价）", "金属冶炼（检测检验）"),
        ("en", "Metal smelting (Safety evaluation)", "Metal smelting (Inspection and testing)"),
    ):
        profile = app.test_client().get(f"/providers/{provider.id}?lang={lang}").get_data(as_text=True)
        assert evaluated in profile and tested in profile
        directory = app.test_client().get(f"/providers?lang={lang}").get_data(as_text=True)
        assert evaluated in directory and tested in directory
        enterprise = login(app, client_user)
        form = enterprise.get(f"/engagements/new?provider={provider.id}&lang={lang}").get_data(as_text=True)
        assert f">{evaluated}</option>" in form and f">{tested}</option>" in form
        page = enterprise.get(f"/engagements/{engagement.id}?lang={lang}").get_data(as_text=True)
        assert tested in page


def test_the_report_qr_code_carries_the_configured_public_address_whatever_host_was_named(app, market, db):
    """QR codes were built from the request's Host and cached publicly for a day: a forged Host put
    another site's address on the bureau's printed labels."""
    import segno

    factories.make_enterprise(market["client"], n=31)
    engagement = factories.request(market["client"], market["provider"])
    factories.advance(engagement, market["client"], market["agency"], to="completed", report_no="QR-2026-001")
    db.session.commit()
    enterprise, forged = app.test_client(), {"base_url": "http://evil.example"}
    enterprise.post("/auth/login", data={"email": market["client"].email, "password": PASSWORD}, **forged)
    app.config["PUBLIC_BASE_URL"] = "https://aq.nantong.gov.cn"
    try:
        qr = enterprise.get(f"/engagements/{engagement.id}/report/qr.svg", **forged)
        page = enterprise.get(f"/engagements/{engagement.id}", **forged).get_data(as_text=True)
    finally:
        app.config["PUBLIC_BASE_URL"] = None
    address = f"https://aq.nantong.gov.cn/reports/r/{engagement.report.public_id}"
    expected = io.BytesIO()
    segno.make(address, error="m").save(expected, kind="svg", scale=4, border=2)
    assert qr.status_code == 200, qr.get_data(as_text=True)[-600:]
    assert qr.data == expected.getvalue()
    assert f'href="{address}"' in page and "evil.example" not in page


def test_report_numbers_cannot_be_walked_to_list_clients(app, market, db):
    """300 guessed numbers in 0.6 s listed who hired whom: the lookups are limited per address."""
    public = app.test_client()
    answers = [public.get(f"/reports/verify?no=AP-2026-{n:04d}").status_code for n in range(1, 41)]
    assert answers.count(200) == 30 and answers[-1] == 429
    assert public.get("/reports/verify").status_code == 200  # the empty form itself is never limited
