"""Route × role → expected status. Every route the app serves must appear here: later issues
extend ROUTES with theirs, and ``test_every_route_is_in_the_table`` fails until they do."""

import re
from urllib.parse import parse_qsl

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import MultiDict

from tests.conftest import building

ROLES = ["anonymous", "agency", "enterprise", "county_regulator", "city_regulator", "admin"]
LOGIN = "login"  # anonymous users are sent to the login page

# (method, path, {role: status}); roles not named get `default`.
ROUTES = [
    ("GET", "/", {}, 200),
    ("GET", "/healthz", {}, 200),
    ("GET", "/favicon.ico", {}, 200),
    ("GET", "/auth/login", {"anonymous": 200}, 302),
    ("POST", "/auth/login", {"anonymous": 200}, 302),  # an empty form comes back with its errors
    ("GET", "/auth/register", {"anonymous": 200}, 302),
    ("POST", "/auth/register", {"anonymous": 200}, 302),
    ("GET", "/auth/register/sent", {}, 200),
    ("GET", "/auth/register/confirm/not-a-token", {}, 400),
    ("POST", "/auth/register/confirm/not-a-token", {}, 400),
    ("POST", "/auth/logout", {}, 302),
    ("GET", "/auth/forgot", {}, 200),
    ("POST", "/auth/forgot", {}, 200),  # an empty form comes back with its errors
    ("GET", "/auth/reset/not-a-token", {}, 400),
    ("POST", "/auth/reset/not-a-token", {}, 400),
    ("GET", "/auth/account", {"anonymous": LOGIN}, 200),
    ("GET", "/auth/password", {"anonymous": LOGIN}, 200),
    ("POST", "/auth/password", {"anonymous": LOGIN}, 200),
    ("GET", "/admin/users", {"anonymous": LOGIN, "admin": 200}, 403),
    ("GET", "/admin/users/new", {"anonymous": LOGIN, "admin": 200}, 403),
    ("POST", "/admin/users/new", {"anonymous": LOGIN, "admin": 200}, 403),
    ("POST", "/admin/users/{other_user}/active", {"anonymous": LOGIN, "admin": 302}, 403),
    ("GET", "/admin/users/{other_user}", {"anonymous": LOGIN, "admin": 200}, 403),
    ("POST", "/admin/users/{other_user}", {"anonymous": LOGIN, "admin": 200}, 403),
    ("GET", "/admin/users/{other_user}/password", {"anonymous": LOGIN, "admin": 200}, 403),
    ("POST", "/admin/users/{other_user}/password", {"anonymous": LOGIN, "admin": 200}, 403),
    ("GET", "/admin/reference", {"anonymous": LOGIN, "admin": 200}, 403),
    ("GET", "/admin/counties/new", {"anonymous": LOGIN, "admin": 200}, 403),
    ("POST", "/admin/counties/new", {"anonymous": LOGIN, "admin": 200}, 403),
    ("GET", "/admin/counties/{county}", {"anonymous": LOGIN, "admin": 200}, 403),
    ("POST", "/admin/counties/{county}", {"anonymous": LOGIN, "admin": 200}, 403),
    ("GET", "/admin/categories/new", {"anonymous": LOGIN, "admin": 200}, 403),
    ("POST", "/admin/categories/new", {"anonymous": LOGIN, "admin": 200}, 403),
    ("GET", "/admin/categories/{category}", {"anonymous": LOGIN, "admin": 200}, 403),
    ("POST", "/admin/categories/{category}", {"anonymous": LOGIN, "admin": 200}, 403),
    ("GET", "/admin/audit", {"anonymous": LOGIN, "admin": 200, "city_regulator": 200}, 403),
    # a job's page: the user who started it (here the city regulator) and administrators
    ("GET", "/jobs/{job}", {"anonymous": LOGIN, "city_regulator": 200, "admin": 200}, 404),
    # agencies: public directory and profiles
    ("GET", "/providers", {}, 200),
    ("GET", "/providers/compare?ids={provider}&ids={elsewhere}", {}, 200),
    ("GET", "/providers/{provider}", {}, 200),
    ("GET", "/providers/{draft}", {"county_regulator": 200, "city_regulator": 200, "admin": 200}, 404),
    ("GET", "/providers/{provider}/history", {"county_regulator": 200, "city_regulator": 200, "admin": 200}, 403),
    ("GET", "/providers/{provider}/files/{file}", {"county_regulator": 200, "city_regulator": 200, "admin": 200}, 403),
    ("GET", "/providers/{provider}/suspend", {"anonymous": LOGIN, "county_regulator": 200, "city_regulator": 200}, 403),
    (
        "POST",
        "/providers/{provider}/suspend",
        {"anonymous": LOGIN, "county_regulator": 200, "city_regulator": 200},
        403,
    ),
    (
        "GET",
        "/providers/{provider}/reinstate",
        {"anonymous": LOGIN, "county_regulator": 200, "city_regulator": 200},
        403,
    ),
    # an agency registered in another county than the county regulator's (崇川区)
    ("GET", "/providers/{elsewhere}/history", {"city_regulator": 200, "admin": 200}, 403),
    ("GET", "/providers/{elsewhere_draft}", {"city_regulator": 200, "admin": 200}, 404),
    ("GET", "/providers/{elsewhere}/suspend", {"anonymous": LOGIN, "city_regulator": 200}, 403),
    (
        "POST",
        "/providers/{provider}/reinstate",
        {"anonymous": LOGIN, "county_regulator": 200, "city_regulator": 200},
        403,
    ),
    # the agency's own declaration
    ("GET", "/providers/me", {"anonymous": LOGIN, "agency": 200}, 403),
    ("GET", "/providers/me/declaration", {"anonymous": LOGIN, "agency": 200}, 403),
    ("POST", "/providers/me/declaration", {"anonymous": LOGIN, "agency": 302}, 403),
    ("GET", "/providers/me/qualifications/new", {"anonymous": LOGIN, "agency": 200}, 403),
    ("POST", "/providers/me/staff/new", {"anonymous": LOGIN, "agency": 200}, 403),
    ("GET", "/providers/me/fees/{own_fee}", {"anonymous": LOGIN, "agency": 200}, 403),
    ("POST", "/providers/me/fees/{own_fee}", {"anonymous": LOGIN, "agency": 200}, 403),
    ("GET", "/providers/me/fees/{other_fee}", {"anonymous": LOGIN, "agency": 404}, 403),
    ("POST", "/providers/me/fees/{own_fee}/delete", {"anonymous": LOGIN, "agency": 302}, 403),
    ("POST", "/providers/me/fees/{other_fee}/delete", {"anonymous": LOGIN, "agency": 404}, 403),
    ("POST", "/providers/me/withdraw", {"anonymous": LOGIN, "agency": 302}, 403),
    ("GET", "/providers/me/history", {"anonymous": LOGIN, "agency": 200}, 403),
    # notice batches
    ("GET", "/notices", {}, 200),
    ("GET", "/notices/{batch}", {}, 200),
    ("GET", "/notices/{batch}.pdf", {}, 200),
    ("GET", "/notices/{batch}.csv", {}, 200),
    ("GET", "/notices/{batch}.json", {}, 200),
    ("GET", "/notices/no-such-batch", {}, 404),
    ("GET", "/notices/publish", {"anonymous": LOGIN, "city_regulator": 200}, 403),
    ("POST", "/notices/publish", {"anonymous": LOGIN, "city_regulator": 200}, 403),  # no preview confirmed: shown again
    # pledges
    ("GET", "/pledges/sign", {}, 301),  # the signing page moved to the declaration; old links still arrive
    ("GET", "/providers/me/pledge", {"anonymous": LOGIN, "agency": 200}, 403),
    ("POST", "/providers/me/pledge", {"anonymous": LOGIN, "agency": 200}, 403),
    ("GET", "/pledges/verify", {}, 200),
    ("GET", "/pledges/verify/{code}", {}, 200),
    ("GET", "/pledges/verify/NOSUCHCODE", {}, 404),
    ("GET", "/pledges/certificate/{code}.pdf", {}, 200),
    ("GET", "/pledges/texts", {"anonymous": LOGIN, "admin": 200}, 403),
    ("GET", "/pledges/texts/new", {"anonymous": LOGIN, "admin": 200}, 403),
    ("POST", "/pledges/texts/new", {"anonymous": LOGIN, "admin": 200}, 403),
    ("GET", "/pledges/texts/{text}", {"anonymous": LOGIN, "admin": 200}, 403),
    ("GET", "/pledges/texts/{text}/edit", {"anonymous": LOGIN, "admin": 200}, 403),
    ("POST", "/pledges/texts/{text}/edit", {"anonymous": LOGIN, "admin": 200}, 403),
    ("POST", "/pledges/texts/{text}/issue", {"anonymous": LOGIN, "admin": 302}, 403),
    # enterprises and engagements ({engagement}: quoted, the test enterprise's, on a site in 崇川区;
    # {elsewhere_engagement}: 通州区; {own_engagement}: requested from the test agency; {done}: completed,
    # with a report and not yet rated; {rated}: completed and rated)
    ("GET", "/enterprises/me/profile", {"anonymous": LOGIN, "enterprise": 200}, 403),
    ("POST", "/enterprises/me/profile", {"anonymous": LOGIN, "enterprise": 200}, 403),
    ("GET", "/engagements/dashboard", {"anonymous": LOGIN, "admin": 403}, 200),
    ("GET", "/engagements", {"anonymous": LOGIN, "admin": 403}, 200),
    ("GET", "/engagements/site-notices", {"anonymous": LOGIN, "county_regulator": 200, "city_regulator": 200}, 403),
    ("GET", "/engagements/new?provider={provider}", {"anonymous": LOGIN, "enterprise": 200}, 403),
    ("POST", "/engagements/new?provider={provider}", {"anonymous": LOGIN, "enterprise": 200}, 403),
    ("GET", "/engagements/new", {"anonymous": LOGIN, "enterprise": 302}, 403),
    (
        "GET",
        "/engagements/{engagement}",
        {"anonymous": LOGIN, "enterprise": 200, "county_regulator": 200, "city_regulator": 200},
        403,
    ),
    ("GET", "/engagements/{elsewhere_engagement}", {"anonymous": LOGIN, "enterprise": 200, "city_regulator": 200}, 403),
    (
        "GET",
        "/engagements/{own_engagement}",
        {"anonymous": LOGIN, "agency": 200, "enterprise": 200, "county_regulator": 200, "city_regulator": 200},
        403,
    ),
    ("GET", "/engagements/{own_engagement}/quote", {"anonymous": LOGIN, "agency": 200}, 403),
    ("POST", "/engagements/{own_engagement}/quote", {"anonymous": LOGIN, "agency": 200}, 403),
    ("GET", "/engagements/{engagement}/quote", {"anonymous": LOGIN}, 403),
    ("GET", "/engagements/{own_engagement}/site-notice", {"anonymous": LOGIN, "agency": 302}, 403),
    ("POST", "/engagements/{own_engagement}/site-notice", {"anonymous": LOGIN, "agency": 302}, 403),
    ("GET", "/engagements/{own_engagement}/report", {"anonymous": LOGIN, "agency": 302}, 403),
    ("POST", "/engagements/{own_engagement}/report", {"anonymous": LOGIN, "agency": 302}, 403),
    ("POST", "/engagements/{engagement}/withdraw", {"anonymous": LOGIN, "enterprise": 302}, 403),
    ("POST", "/engagements/{own_engagement}/decline", {"anonymous": LOGIN, "agency": 302}, 403),
    ("POST", "/engagements/{engagement}/accept", {"anonymous": LOGIN, "enterprise": 302}, 403),
    ("POST", "/engagements/{engagement}/files", {"anonymous": LOGIN, "enterprise": 302}, 403),
    (
        "GET",
        "/engagements/{engagement}/files/{attachment}",
        {"anonymous": LOGIN, "enterprise": 200, "county_regulator": 200, "city_regulator": 200},
        403,
    ),
    ("POST", "/engagements/{engagement}/files/{attachment}/remove", {"anonymous": LOGIN, "enterprise": 302}, 403),
    (
        "GET",
        "/engagements/{done}/report.pdf",
        {"anonymous": LOGIN, "enterprise": 200, "county_regulator": 200, "city_regulator": 200},
        403,
    ),
    (
        "GET",
        "/engagements/{done}/report-label",
        {"anonymous": LOGIN, "enterprise": 200, "county_regulator": 200, "city_regulator": 200},
        403,
    ),
    ("GET", "/engagements/{done}/rate", {"anonymous": LOGIN, "enterprise": 200}, 403),
    ("POST", "/engagements/{done}/rate", {"anonymous": LOGIN, "enterprise": 200}, 403),
    ("GET", "/engagements/{rated}/rate", {"anonymous": LOGIN, "enterprise": 302}, 403),
    ("POST", "/engagements/{rated}/rating/reply", {"anonymous": LOGIN}, 403),
    (
        "POST",
        "/engagements/{rated}/rating/hide",
        {"anonymous": LOGIN, "county_regulator": 302, "city_regulator": 302},
        403,
    ),
    ("GET", "/reports/verify?no={report_no}", {}, 200),
    ("GET", "/reports/r/{report_public}", {}, 200),
    ("GET", "/reports/r/{report}", {}, 404),  # never by its sequential id
    (
        "GET",
        "/engagements/{done}/report/qr.svg",
        {"anonymous": LOGIN, "enterprise": 200, "county_regulator": 200, "city_regulator": 200},
        403,
    ),
    # supervision: campaigns, units, the three tiers, findings, draws, penalties
    (
        "GET",
        "/inspections/campaigns",
        {"anonymous": LOGIN, "agency": 200, "county_regulator": 200, "city_regulator": 200},
        403,
    ),
    ("GET", "/inspections/campaigns/new", {"anonymous": LOGIN, "city_regulator": 200}, 403),
    ("POST", "/inspections/campaigns/new", {"anonymous": LOGIN, "city_regulator": 200}, 403),
    (
        "GET",
        "/inspections/campaigns/{campaign}",
        {"anonymous": LOGIN, "county_regulator": 200, "city_regulator": 200},
        403,
    ),
    (
        "GET",
        "/inspections/campaigns/{draft_campaign}",
        {"anonymous": LOGIN, "city_regulator": 200, "county_regulator": 404, "agency": 404},
        403,
    ),
    ("GET", "/inspections/campaigns/{draft_campaign}/edit", {"anonymous": LOGIN, "city_regulator": 200}, 403),
    ("POST", "/inspections/campaigns/{draft_campaign}/edit", {"anonymous": LOGIN, "city_regulator": 200}, 403),
    ("GET", "/inspections/campaigns/{draft_campaign}/items", {"anonymous": LOGIN, "city_regulator": 200}, 403),
    ("POST", "/inspections/campaigns/{draft_campaign}/items", {"anonymous": LOGIN, "city_regulator": 200}, 403),
    ("GET", "/inspections/campaigns/{draft_campaign}/items/{item}", {"anonymous": LOGIN, "city_regulator": 200}, 403),
    ("POST", "/inspections/campaigns/{draft_campaign}/items/{item}", {"anonymous": LOGIN, "city_regulator": 200}, 403),
    (
        "POST",
        "/inspections/campaigns/{draft_campaign}/items/{item}/remove",
        {"anonymous": LOGIN, "city_regulator": 302},
        403,
    ),
    ("POST", "/inspections/campaigns/{campaign}/open", {"anonymous": LOGIN, "city_regulator": 302}, 403),
    ("POST", "/inspections/campaigns/{campaign}/close", {"anonymous": LOGIN, "city_regulator": 302}, 403),
    (
        "GET",
        "/inspections/campaigns/{campaign}/units",
        {"anonymous": LOGIN, "agency": 200, "county_regulator": 200, "city_regulator": 200},
        403,
    ),
    (
        "GET",
        "/inspections/campaigns/{campaign}/dashboard.pdf",
        {"anonymous": LOGIN, "county_regulator": 200, "city_regulator": 200},
        403,
    ),
    (
        "GET",
        "/inspections/campaigns/{campaign}/dashboard.xlsx",
        {"anonymous": LOGIN, "county_regulator": 200, "city_regulator": 200},
        403,
    ),
    ("GET", "/inspections/units/{unit}", {"anonymous": LOGIN, "county_regulator": 200, "city_regulator": 200}, 403),
    ("GET", "/inspections/units/{unit}/self-check", {"anonymous": LOGIN}, 403),  # the unit's own agency only
    ("POST", "/inspections/units/{unit}/self-check", {"anonymous": LOGIN}, 403),
    (
        "GET",
        "/inspections/units/{unit}/recheck",
        {"anonymous": LOGIN, "county_regulator": 200, "city_regulator": 200},
        403,
    ),
    (
        "POST",
        "/inspections/units/{unit}/recheck",
        {"anonymous": LOGIN, "county_regulator": 200, "city_regulator": 200},
        403,
    ),
    ("GET", "/inspections/units/{unit}/spot-check", {"anonymous": LOGIN, "city_regulator": 200}, 403),
    ("POST", "/inspections/units/{unit}/spot-check", {"anonymous": LOGIN, "city_regulator": 200}, 403),
    ("GET", "/inspections/units/{elsewhere_unit}", {"anonymous": LOGIN, "city_regulator": 200}, 403),
    ("GET", "/inspections/units/{elsewhere_unit}/recheck", {"anonymous": LOGIN, "city_regulator": 200}, 403),
    (
        "GET",
        "/inspections/checks/{self_check}/files/{check_file}",
        {"anonymous": LOGIN, "county_regulator": 200, "city_regulator": 200},
        403,
    ),
    (
        "GET",
        "/inspections/checks/{recheck}.pdf",
        {"anonymous": LOGIN, "county_regulator": 200, "city_regulator": 200},
        403,
    ),
    (
        "GET",
        "/inspections/checks/{recheck}/findings/new",
        {"anonymous": LOGIN, "county_regulator": 200, "city_regulator": 200},
        403,
    ),
    (
        "POST",
        "/inspections/checks/{recheck}/findings/new",
        {"anonymous": LOGIN, "county_regulator": 200, "city_regulator": 200},
        403,
    ),
    ("GET", "/inspections/findings", {"anonymous": LOGIN, "admin": 403}, 200),
    (
        "GET",
        "/inspections/findings/{finding}",
        {"anonymous": LOGIN, "county_regulator": 200, "city_regulator": 200},
        403,
    ),
    (
        "POST",
        "/inspections/findings/{finding}",
        {"anonymous": LOGIN, "county_regulator": 400, "city_regulator": 400},
        403,
    ),
    (
        "GET",
        "/inspections/findings/{finding}/files/{finding_file}",
        {"anonymous": LOGIN, "county_regulator": 200, "city_regulator": 200},
        403,
    ),
    (
        "GET",
        "/inspections/findings/{finding}/penalty",
        {"anonymous": LOGIN, "county_regulator": 200, "city_regulator": 200},
        403,
    ),
    (
        "POST",
        "/inspections/findings/{finding}/penalty",
        {"anonymous": LOGIN, "county_regulator": 200, "city_regulator": 200},
        403,
    ),
    ("GET", "/inspections/violations", {"anonymous": LOGIN, "county_regulator": 200, "city_regulator": 200}, 403),
    ("GET", "/inspections/violations/new", {"anonymous": LOGIN, "city_regulator": 200}, 403),
    ("POST", "/inspections/violations/new", {"anonymous": LOGIN, "city_regulator": 200}, 403),
    ("GET", "/inspections/violations/{violation}", {"anonymous": LOGIN, "city_regulator": 200}, 403),
    ("POST", "/inspections/violations/{violation}", {"anonymous": LOGIN, "city_regulator": 200}, 403),
    ("GET", "/inspections/draws", {}, 200),
    ("GET", "/inspections/draws/{draw}", {}, 200),
    ("POST", "/inspections/draws/{draw}", {"city_regulator": 409}, 403),  # revealed: never again
    ("GET", "/inspections/draws/{draw}.json", {}, 200),
    ("GET", "/inspections/draws/{draw}/population.csv", {}, 200),
    ("GET", "/inspections/campaigns/{campaign}/draws/new", {"anonymous": LOGIN, "city_regulator": 200}, 403),
    ("POST", "/inspections/campaigns/{campaign}/draws/new", {"anonymous": LOGIN, "city_regulator": 200}, 403),
    ("GET", "/inspections/conflicts", {"anonymous": LOGIN, "county_regulator": 200, "city_regulator": 200}, 403),
    ("POST", "/inspections/conflicts", {"anonymous": LOGIN, "county_regulator": 200, "city_regulator": 200}, 403),
    ("GET", "/penalties", {}, 200),
    ("GET", "/penalties/{penalty}", {}, 200),
    ("GET", "/penalties/{penalty}/correct", {"anonymous": LOGIN, "county_regulator": 200, "city_regulator": 200}, 403),
    ("POST", "/penalties/{penalty}/correct", {"anonymous": LOGIN, "county_regulator": 200, "city_regulator": 200}, 403),
]

CASES = [
    pytest.param(method, path, role, expected.get(role, default), id=f"{method} {path} as {role}")
    for method, path, expected, default in ROUTES
    for role in ROLES
]


@pytest.fixture(scope="module")
def world(app, module_db):
    """Records every row can point at, built once for the module: an account of every role (the
    county regulator's county is 崇川区), agencies (published, draft, the test agency's own, one in
    通州区), an uploaded scan, a fee of each, a signature, a notice batch, the pledge text in force,
    and engagements in the states the rows need."""
    from marketplace import jobs
    from marketplace.auth import sessions
    from marketplace.auth.permissions import SYSTEM
    from marketplace.auth.roles import Role
    from marketplace.pledges import services as pledges
    from marketplace.providers import notice_jobs, notices
    from marketplace.providers import services as providers
    from marketplace.reference.models import ServiceCategory
    from tests import factories

    with building(app) as db:
        users = {role.value: factories.UserFactory(role=role, email=f"matrix-{role.value}@example.cn") for role in Role}
        make = lambda email: factories.UserFactory(role=Role.AGENCY, email=email)  # noqa: E731
        other = make("other-agency@example.cn")
        published, signature = factories.publish(other, n=1)
        qualification = factories.add_qualification(other, published)
        other_fee = providers.save_fee(
            other, published, None, item="安全评价", unit="项", price_min=10000, price_max=None, basis="按规模"
        )
        draft = factories.declare(make("draft-agency@example.cn"), n=2)
        elsewhere, _ = factories.publish(make("tongzhou-agency@example.cn"), n=4, county_code="320612")
        elsewhere_draft = factories.declare(make("tongzhou-draft@example.cn"), n=5, county_code="320612")
        own = factories.declare(users["agency"], n=3)
        own_fee = providers.save_fee(
            users["agency"], own, None, item="安全咨询", unit="天", price_min=2000, price_max=3000, basis="按工作量"
        )
        batch = notices.publish_batch(SYSTEM)
        job = jobs.start(notice_jobs.PUBLISH, users["city_regulator"], {"fingerprint": "", "unchanged": False})
        engagements_world = _engagements(users, other, published, own)
        db.session.flush()
        inspections_world = _inspections(users, other, engagements_world)
        return {
            **engagements_world,
            **inspections_world,
            "logins": {role: sessions.open_session(user) for role, user in users.items()},
            "other_user": other.id,
            "county": factories.county().id,
            "category": db.session.scalar(sa.select(ServiceCategory.id).where(ServiceCategory.code == "consulting")),
            "provider": published.id,
            "draft": draft.id,
            "elsewhere": elsewhere.id,
            "elsewhere_draft": elsewhere_draft.id,
            "file": qualification.file_id,
            "own_fee": own_fee.id,
            "other_fee": other_fee.id,
            "batch": batch.batch_no,
            "job": job.id,
            "code": signature.verification_code,
            "text": pledges.current_text().id,
        }


def _engagements(users, agency_user, provider, draft):
    """Engagements in the states the rows need, through the real services where they can be."""
    from marketplace.engagements import ratings
    from marketplace.engagements import services as engagements
    from marketplace.engagements.models import Engagement
    from marketplace.extensions import db
    from tests import factories

    factories.add_staff(agency_user, provider)
    client = users["enterprise"]
    enterprise = factories.make_enterprise(client, n=9)
    quoted = factories.advance(factories.request(client, provider), client, agency_user, to="quoted")
    from marketplace.common.uploads import store_upload
    from marketplace.engagements.models import EngagementFile

    stored = store_upload(factories.upload(factories.PDF, "contract.pdf"), actor=client)
    attachment = EngagementFile(engagement_id=quoted.id, file_id=stored.id, side="enterprise")
    db.session.add(attachment)
    elsewhere = factories.request(client, provider, county_code="320612")
    # the test agency's own declaration is a draft: its request is made as a bare record
    own = Engagement(
        enterprise_id=enterprise.id,
        provider_id=draft.id,
        category_id=factories.category("consulting").id,
        county_id=factories.county("320613").id,
        scope="安全咨询",
        site_address="南通市",
        expected_start=factories.soon(3),
        expected_end=factories.soon(9),
    )
    db.session.add(own)
    done = factories.request(client, provider)
    factories.advance(done, client, agency_user, to="in_progress")
    engagements.issue_report(
        agency_user,
        done,
        report_no="AP-WORLD-1",
        title="安全现状评价报告",
        issued_on=factories.soon(0),
        upload=factories.upload(factories.PDF, "report.pdf"),
    )
    engagements.confirm_completion(client, done)
    rated = factories.advance(
        factories.request(client, provider), client, agency_user, to="completed", report_no="AP-WORLD-2"
    )
    ratings.rate(client, rated, score=3, text="一般")
    db.session.flush()
    return {
        "engagement": quoted.id,
        "elsewhere_engagement": elsewhere.id,
        "own_engagement": own.id,
        "done": done.id,
        "rated": rated.id,
        "attachment": attachment.id,
        "report": done.report.id,
        "report_public": done.report.public_id,
        "report_no": "AP-WORLD-1",
    }


def _inspections(users, agency_user, engagements_world):
    """An open campaign over the world's two reports (崇川区) and one in 通州区, its units self-checked
    with evidence and rechecked with a finding under rectification and a penalty; a revealed draw; a
    draft campaign with its checklist."""
    from datetime import timedelta

    from marketplace.auth.roles import Role
    from marketplace.engagements.models import Engagement
    from marketplace.extensions import db
    from marketplace.inspections import draws, services
    from marketplace.inspections.models import CampaignUnit, Party, PenaltyKind, QuotaKind, Tier, Violation
    from tests import factories

    client = users["enterprise"]
    provider = db.session.get(Engagement, engagements_world["done"]).provider
    elsewhere = factories.advance(
        factories.request(client, provider, county_code="320612"), client, agency_user, report_no="AP-WORLD-3"
    )
    for county in ("320612", "320614"):
        factories.UserFactory(role=Role.COUNTY_REGULATOR, county_id=factories.county(county).id)
    city, today = users["city_regulator"], factories.soon(0)
    values = dict(
        name="专项整治",
        description="",
        period_start=today - timedelta(days=30),
        period_end=today,
        self_check_due=today + timedelta(days=10),
        recheck_due=today + timedelta(days=20),
        spot_check_due=today + timedelta(days=30),
        quota_kind=QuotaKind.SIZE,
        quota_value=__import__("decimal").Decimal(5),
        category_ids=[factories.category("se_chemicals").id],
    )
    draft = services.create_campaign(city, **values)
    campaign = services.open_campaign(city, services.create_campaign(city, **values))
    unit = db.session.scalar(
        sa.select(CampaignUnit).where(
            CampaignUnit.campaign_id == campaign.id, CampaignUnit.county_id == factories.county().id
        )
    )
    other_unit = db.session.scalar(
        sa.select(CampaignUnit).where(
            CampaignUnit.campaign_id == campaign.id, CampaignUnit.engagement_id == elsewhere.id
        )
    )
    answers = {item.id: ("met", "") for item in services.items_for(unit)}
    own = services.submit_check(
        agency_user,
        unit,
        Tier.SELF,
        answers=answers,
        conclusion=services.Conclusion.COMPLIANT,
        uploads=[factories.upload(factories.PDF, "自查.pdf")],
    )
    recheck = services.submit_check(
        city, unit, Tier.RECHECK, answers=answers, conclusion=services.Conclusion.MINOR, inspectors=["陈建国"]
    )
    violation = db.session.scalar(sa.select(Violation).where(Violation.code == "GK-01"))
    finding = services.record_finding(
        city, recheck, violation_id=violation.id, facts="报告未公开", rectification_due=factories.soon(10)
    )
    step = services.submit_rectification(
        agency_user, finding, note="已公开", upload=factories.upload(factories.PNG, "截图.png")
    )
    penalty = services.record_penalty(
        city,
        finding,
        target=Party.AGENCY,
        decision_no="（通）应急罚〔2026〕1号",
        kind=PenaltyKind.WARNING,
        facts="报告未公开",
        legal_basis="《中华人民共和国安全生产法》第七十二条",
        decided_on=today,
        publicity_start=today,
        publicity_end=today.replace(year=today.year + 1),
    )
    record = draws.commit_draw(
        city,
        campaign,
        seed_source="drand round 1",
        inspector_ids=[u.id for u in draws.candidates() if u.id != users["county_regulator"].id],
    )
    draws.reveal_draw(city, record, "seed-1")
    db.session.flush()
    return {
        "campaign": campaign.id,
        "draft_campaign": draft.id,
        "item": draft.items[0].id,
        "unit": unit.id,
        "elsewhere_unit": other_unit.id,
        "self_check": own.id,
        "check_file": own.files[0].file_id,
        "recheck": recheck.id,
        "finding": finding.id,
        "finding_file": step.file_id,
        "penalty": penalty.id,
        "draw": record.id,
        "violation": violation.id,
    }


@pytest.mark.parametrize("method, path, role, expected", CASES)
def test_route_permissions(client, world, method, path, role, expected):
    url = path.format(**world)
    if url == "/healthz":
        from marketplace import search

        search.reindex()  # the index in step with this test's data, so the server is healthy
    if role != "anonymous":  # logged in as the login form would (the form itself is tested in test_auth)
        with client.session_transaction() as session:
            session["_user_id"], session["_fresh"] = world["logins"][role], True
    data = {"active": "0", "sort_order": "x"} if method == "POST" else None
    response = client.open(url, method=method, data=data)
    if expected == LOGIN:
        assert response.status_code == 302
        assert "/auth/login" in response.headers["Location"]
    else:
        assert response.status_code == expected


def test_every_route_is_in_the_table(app):
    """Each rule of the app must match at least one row's address with the same method."""
    examples = [(method, re.sub(r"\{[a-z_]+\}", "1", path).split("?")[0]) for method, path, _, _ in ROUTES]
    missing = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in ("static", "bootstrap.static"):
            continue
        pattern = re.compile(
            "^" + re.sub(r"<[^>]+>", "[^/]+", re.escape(rule.rule).replace("\\<", "<").replace("\\>", ">")) + "$"
        )
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            if not any(m == method and pattern.match(url) for m, url in examples):
                missing.append(f"{method} {rule.rule}")
    assert not missing, f"routes without a permission row: {missing}"


def test_county_regulator_jurisdiction_is_its_own_county(users):
    from marketplace.auth import permissions
    from tests.factories import county

    regulator = users["county_regulator"]
    assert permissions.in_jurisdiction(regulator, county("320613").id)
    assert not permissions.in_jurisdiction(regulator, county("320612").id)
    assert not permissions.in_jurisdiction(regulator, None)
    assert permissions.in_jurisdiction(users["city_regulator"], county("320612").id)
    assert not permissions.in_jurisdiction(users["agency"], county("320613").id)


# --- every number a user can type, out of range -------------------------------------------------

HUGE = ("2147483648", "99999999999999999999", "-9223372036854775809")


def _recording(seen):
    """A request's query or form values that note every name a view (or its form) reads."""
    from werkzeug.datastructures import ImmutableMultiDict

    class Recording(ImmutableMultiDict):
        def get(self, key, *args, **kwargs):
            seen.add(key)
            return super().get(key, *args, **kwargs)

        def getlist(self, key, *args, **kwargs):
            seen.add(key)
            return super().getlist(key, *args, **kwargs)

        def __getitem__(self, key):
            seen.add(key)
            return super().__getitem__(key)

        def __contains__(self, key):
            seen.add(key)
            return super().__contains__(key)

    return Recording


def _allowed(expected, default):
    """The first role that gets past the permission check of a row (None when none does)."""
    for role in ROLES:
        status = expected.get(role, default)
        if status not in (LOGIN, 403, 404, 405):
            return role
    return None


def test_out_of_range_numbers_in_any_parameter_are_never_a_500(app, client, world):
    """A category number of 2,147,483,648 in /engagements/new gave a 500 on PostgreSQL (and a larger
    one on SQLite). Each page is opened once to learn which query and form values its view reads,
    then each of them is sent out of range on its own."""
    from flask import request, request_started

    read = {"args": set(), "form": set()}

    def record(sender, **extra):
        request.args = _recording(read["args"])(request.args)
        if request.method == "POST":
            request.form = _recording(read["form"])(request.form)

    request_started.connect(record, app)
    failures = []
    try:
        for method, path, expected, default in ROUTES:
            role = _allowed(expected, default)
            if role is None:
                continue
            url = path.format(**world)
            if role != "anonymous":
                with client.session_transaction() as session:
                    session["_user_id"], session["_fresh"] = world["logins"][role], True
            else:
                with client.session_transaction() as session:
                    session.clear()
            read["args"].clear(), read["form"].clear()
            client.open(url, method=method, data={"probe": "1"} if method == "POST" else None)
            names = {("args", n) for n in read["args"]} | {("form", n) for n in read["form"]}
            base, _, own_query = url.partition("?")
            for where, name in sorted(names - {("args", "lang"), ("form", "probe"), ("form", "csrf_token")}):
                for value in HUGE:
                    query = MultiDict(parse_qsl(own_query))
                    data = {name: value, "probe": "1"} if where == "form" else None
                    if where == "args":
                        query.setlist(name, [value])
                    try:
                        status = client.open(base, method=method, query_string=query, data=data).status_code
                    except Exception as exc:  # the test app lets errors through instead of a 500 page
                        status = f"{type(exc).__name__}: {exc}"[:200]
                    if status == 500 or isinstance(status, str):
                        failures.append((method, url, role, where, name, value, status))
    finally:
        request_started.disconnect(record, app)
    assert not failures, "\n".join(map(str, failures))


# --- the Content-Security-Policy holds on every page ------------------------------------------------

INLINE = re.compile(
    r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\sstyle=|\son[a-z]+=|href=\"javascript:",
    re.IGNORECASE,
)


def test_every_page_forbids_inline_script_and_style_and_has_none(client, world):
    """No page relies on what the policy forbids: every route a role can open, for that role."""
    offenders, opened = [], 0
    for method, path, expected, default in ROUTES:
        if method != "GET":
            continue
        for role in ROLES:
            if expected.get(role, default) != 200:
                continue
            with client.session_transaction() as session:
                session.clear()
                if role != "anonymous":
                    session["_user_id"], session["_fresh"] = world["logins"][role], True
            response = client.get(path.format(**world))
            policy = response.headers.get("Content-Security-Policy", "")
            assert "unsafe-inline" not in policy, (path, policy)
            assert "script-src 'self'" in policy or policy.startswith("sandbox;"), (path, policy)  # uploads: sandbox
            assert response.headers["X-Frame-Options"] == "DENY"
            if response.mimetype == "text/html":
                opened += 1
                offenders += [(path, role, m.group(0)) for m in INLINE.finditer(response.get_data(as_text=True))]
    assert opened > 50
    assert not offenders, offenders[:10]


def test_https_responses_carry_hsts(client):
    response = client.get("/", base_url="https://localhost")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "Strict-Transport-Security" not in client.get("/").headers  # over plain HTTP it means nothing
