"""Enterprises contract agencies: profiles, the engagement's steps, warnings, on-site notices,
reports and their public verification, ratings, and the referee-and-player flag."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from marketplace.auth.roles import Role
from marketplace.common.errors import DomainError, PermissionDenied
from marketplace.common.time import utcnow
from marketplace.engagements import choice, queries, ratings, steps
from marketplace.engagements import services as engagements
from marketplace.engagements.models import EngagementEvent, Report
from marketplace.engagements.models import EngagementStatus as S
from marketplace.enterprises import services as enterprises
from marketplace.providers import services as providers
from marketplace.providers.models import Provider
from tests import factories


@pytest.fixture()
def parties(make_user, db):
    agency_user = make_user(Role.AGENCY)
    provider, _ = factories.publish(
        agency_user, n=701, categories=("se_chemicals", "consulting", "training"), regions=("320613", "320612")
    )
    factories.add_staff(agency_user, provider)
    factories.add_staff(agency_user, provider, name="周工", title="注册安全工程师")
    client_user = make_user(Role.ENTERPRISE)
    enterprise = factories.make_enterprise(client_user, n=1)
    db.session.commit()
    return {"agency": agency_user, "provider": provider, "client": client_user, "enterprise": enterprise}


def test_one_enterprise_account_per_credit_code(parties, make_user):
    other = make_user(Role.ENTERPRISE)
    with pytest.raises(enterprises.DuplicateEnterpriseUSCC) as raised:
        factories.make_enterprise(other, n=1)
    assert raised.value.field == "uscc"


def test_an_invalid_credit_code_is_refused(make_user, db):
    user = make_user(Role.ENTERPRISE)
    with pytest.raises(DomainError) as raised:
        enterprises.save_profile(
            user,
            None,
            uscc="91320600MA1ABCDE70",
            name="x",
            county_id=factories.county("320613").id,
            address="x",
            industry="x",
            hazard_class="none",
            contact_person="x",
            phone="x",
        )
    assert raised.value.field == "uscc"


def test_the_whole_happy_path_is_recorded_step_by_step(parties, db):
    engagement = factories.request(parties["client"], parties["provider"])
    assert engagement.status is S.REQUESTED
    factories.advance(engagement, parties["client"], parties["agency"], to="completed")
    assert engagement.status is S.COMPLETED
    assert engagement.report.report_no == "AP-2026-001"
    steps = db.session.scalars(
        sa.select(EngagementEvent.action)
        .where(EngagementEvent.engagement_id == engagement.id)
        .order_by(EngagementEvent.id)
    ).all()
    assert steps == ["request", "quote", "accept", "site_notice", "start", "report", "confirm"]


def test_a_suspended_agency_cannot_be_chosen(parties, make_user):
    providers.suspend(make_user(Role.CITY_REGULATOR), parties["provider"], "现场核查发现报告造假，暂停整改")
    with pytest.raises(choice.NotChoosable) as raised:
        factories.request(parties["client"], parties["provider"])
    assert "暂停整改" in str(raised.value.message)


def test_an_agency_suspended_after_the_quote_cannot_be_contracted(parties, make_user):
    engagement = factories.request(parties["client"], parties["provider"])
    factories.advance(engagement, parties["client"], parties["agency"], to="quoted")
    providers.suspend(make_user(Role.CITY_REGULATOR), parties["provider"], "暂停整改")
    with pytest.raises(choice.NotChoosable):
        engagements.accept(parties["client"], engagement)
    assert engagement.status is S.QUOTED


def test_a_category_the_agency_does_not_declare_is_refused(parties):
    with pytest.raises(choice.CategoryNotDeclared) as raised:
        factories.request(parties["client"], parties["provider"], category_code="it_chemicals")
    assert raised.value.field == "category_id"


def test_a_county_the_agency_does_not_serve_is_refused(parties):
    with pytest.raises(DomainError) as raised:
        factories.request(parties["client"], parties["provider"], county_code="320682")
    assert raised.value.field == "county_id"


def test_an_expired_qualification_for_the_category_must_be_confirmed(parties, db):
    qualification = factories.add_qualification(
        parties["agency"], parties["provider"], valid_from=date(2020, 1, 1), valid_to=date(2023, 12, 31)
    )
    qualification.categories = [factories.category("se_chemicals")]
    db.session.flush()
    warnings = choice.choice_warnings(parties["provider"], factories.category("se_chemicals").id)
    assert list(warnings) == ["qualification_expired"]
    assert choice.choice_warnings(parties["provider"], factories.category("training").id) == {}
    with pytest.raises(choice.WarningsNotConfirmed):
        factories.request(parties["client"], parties["provider"])
    engagement = factories.request(parties["client"], parties["provider"], confirmed=["qualification_expired"])
    assert engagement.warnings_confirmed == ["qualification_expired"]


def test_an_outdated_pledge_must_be_confirmed(parties, app, monkeypatch):
    from marketplace.pledges import services as pledges

    monkeypatch.setattr(pledges, "pledge_state", lambda provider, *a, **k: ("outdated", utcnow()))
    with pytest.raises(choice.WarningsNotConfirmed):
        factories.request(parties["client"], parties["provider"])
    assert factories.request(parties["client"], parties["provider"], confirmed=["pledge_outdated"])


def test_only_the_asked_agency_can_quote(parties, make_user):
    engagement = factories.request(parties["client"], parties["provider"])
    stranger = make_user(Role.AGENCY)
    factories.publish(stranger, n=702)
    with pytest.raises(PermissionDenied):
        engagements.quote(
            stranger, engagement, fee=Decimal("1"), start=factories.soon(), end=factories.soon(5), team_ids=[]
        )
    with pytest.raises(PermissionDenied):  # the enterprise cannot quote its own request either
        engagements.quote(
            parties["client"], engagement, fee=Decimal("1"), start=factories.soon(), end=factories.soon(5), team_ids=[]
        )


def test_a_quote_needs_a_team_from_the_agencys_own_staff(parties, make_user):
    engagement = factories.request(parties["client"], parties["provider"])
    stranger = make_user(Role.AGENCY)
    other, _ = factories.publish(stranger, n=703)
    theirs = factories.add_staff(stranger, other)
    for team in ([], [theirs.id]):
        with pytest.raises(engagements.TeamRequired):
            engagements.quote(
                parties["agency"],
                engagement,
                fee=Decimal("100"),
                start=factories.soon(),
                end=factories.soon(5),
                team_ids=team,
            )


@pytest.mark.parametrize("action", ["accept", "start", "confirm"])
def test_steps_out_of_order_are_refused_with_the_state_named(parties, action):
    engagement = factories.request(parties["client"], parties["provider"])
    actor = parties["client"] if action in ("accept", "confirm") else parties["agency"]
    with pytest.raises(steps.IllegalStep) as raised:
        getattr(engagements, {"confirm": "confirm_completion"}.get(action, action))(actor, engagement)
    assert "Requested" in str(raised.value.message) or "已委托" in str(raised.value.message)
    assert engagement.status is S.REQUESTED


def test_assessments_need_an_on_site_notice_before_the_work_starts(parties):
    engagement = factories.request(parties["client"], parties["provider"])
    factories.advance(engagement, parties["client"], parties["agency"], to="contracted")
    with pytest.raises(steps.SiteNoticeRequired):
        engagements.start(parties["agency"], engagement)
    training = factories.request(parties["client"], parties["provider"], category_code="training")
    factories.advance(training, parties["client"], parties["agency"], to="in_progress")  # no notice needed
    assert training.status is S.IN_PROGRESS


def test_a_report_cannot_outrun_the_on_site_work_by_filing_notices_around_it(parties):
    """The agency filed a notice for yesterday to slip a report in before the announced work, then a
    notice for next month after the report; the enterprise confirmed and rated the unfinished work."""
    engagement = factories.request(parties["client"], parties["provider"])
    factories.advance(
        engagement,
        parties["client"],
        parties["agency"],
        to="in_progress",
        onsite=(factories.soon(3), factories.soon(7)),
    )
    staff = [m.id for m in engagement.provider.staff]
    with pytest.raises(engagements.InvalidDates) as raised:
        engagements.file_site_notice(
            parties["agency"],
            engagement,
            onsite_from=factories.soon(-1),
            onsite_to=factories.soon(-1),
            address="",
            team_ids=staff,
        )
    assert raised.value.field == "onsite_to"
    with pytest.raises(engagements.ReportTooEarly):
        engagements.issue_report(
            parties["agency"], engagement, report_no="R-9", title="报告", issued_on=factories.soon(0)
        )
    # Done earlier than planned: a new notice says so, and the report follows the work.
    engagements.file_site_notice(
        parties["agency"],
        engagement,
        onsite_from=factories.soon(-2),
        onsite_to=factories.soon(0),
        address="",
        team_ids=staff,
    )
    engagements.issue_report(parties["agency"], engagement, report_no="R-9", title="报告", issued_on=factories.soon(0))
    with pytest.raises(steps.ReportAlreadyIssued):  # the report closes the on-site work
        engagements.file_site_notice(
            parties["agency"],
            engagement,
            onsite_from=factories.soon(30),
            onsite_to=factories.soon(40),
            address="",
            team_ids=staff,
        )


def test_a_report_cannot_be_dated_before_the_contract(parties):
    """A report dated 1900-01-01 was accepted and verified as genuine."""
    training = factories.request(parties["client"], parties["provider"], category_code="training")
    factories.advance(training, parties["client"], parties["agency"], to="in_progress")
    with pytest.raises(engagements.ReportTooEarly) as raised:
        engagements.issue_report(
            parties["agency"], training, report_no="OLD-1", title="报告", issued_on=date(1900, 1, 1)
        )
    assert raised.value.field == "issued_on"
    assert training.report is None


def test_declining_and_cancelling_need_a_reason(parties):
    engagement = factories.request(parties["client"], parties["provider"])
    with pytest.raises(engagements.ReasonRequired):
        engagements.decline(parties["agency"], engagement, "  ")
    engagements.decline(parties["agency"], engagement, "档期已满")
    assert engagement.status is S.DECLINED and engagement.closing_reason == "档期已满"
    with pytest.raises(steps.IllegalStep):
        engagements.withdraw(parties["client"], engagement)


def test_a_report_number_is_unique_within_the_agency(parties):
    first = factories.request(parties["client"], parties["provider"])
    factories.advance(first, parties["client"], parties["agency"], to="reported", report_no="ap-2026 001")
    assert first.report.report_no == "AP-2026001"
    second = factories.request(parties["client"], parties["provider"])
    factories.advance(second, parties["client"], parties["agency"], to="in_progress")
    with pytest.raises(engagements.DuplicateReportNumber):
        engagements.issue_report(
            parties["agency"], second, report_no="AP-2026001", title="t", issued_on=factories.soon(0)
        )
    with pytest.raises(steps.IllegalStep):  # one report per engagement
        engagements.issue_report(
            parties["agency"], first, report_no="AP-2026-XYZ", title="t", issued_on=factories.soon(0)
        )


def test_completion_needs_the_report(parties):
    engagement = factories.request(parties["client"], parties["provider"])
    factories.advance(engagement, parties["client"], parties["agency"], to="in_progress")
    with pytest.raises(steps.ReportRequired):
        engagements.confirm_completion(parties["client"], engagement)


def test_reports_are_append_only(parties, db):
    engagement = factories.request(parties["client"], parties["provider"])
    factories.advance(engagement, parties["client"], parties["agency"], to="reported")
    db.session.commit()
    with pytest.raises(sa.exc.DatabaseError):
        with db.session.begin_nested():
            db.session.execute(
                sa.text("UPDATE reports SET report_no = 'X' WHERE id = :id"), {"id": engagement.report.id}
            )


# --- ratings ----------------------------------------------------------------------------------------


def test_rating_once_after_completion_updates_the_agency(parties, db):
    engagement = factories.request(parties["client"], parties["provider"])
    factories.advance(engagement, parties["client"], parties["agency"], to="in_progress")
    with pytest.raises(ratings.NotCompleted):
        ratings.rate(parties["client"], engagement, score=5, text="好")
    engagements.issue_report(parties["agency"], engagement, report_no="R-1", title="报告", issued_on=factories.soon(0))
    engagements.confirm_completion(parties["client"], engagement)
    rating = ratings.rate(parties["client"], engagement, score=4, text="报告扎实，响应及时。")
    db.session.commit()
    provider = db.session.get(Provider, parties["provider"].id)
    assert (provider.rating_count, provider.rating_total, provider.rating_average) == (1, 4, 4.0)
    with pytest.raises(ratings.AlreadyRated):
        ratings.rate(parties["client"], engagement, score=1, text="再评一次")
    ratings.reply(parties["agency"], rating, "感谢认可。")
    with pytest.raises(ratings.AlreadyReplied):
        ratings.reply(parties["agency"], rating, "再次回复")


def test_ratings_close_180_days_after_completion(parties):
    engagement = factories.advance(
        factories.request(parties["client"], parties["provider"]), parties["client"], parties["agency"], to="completed"
    )
    with pytest.raises(ratings.WindowClosed):
        ratings.rate(parties["client"], engagement, score=5, text="", now=utcnow() + timedelta(days=181))


def test_only_the_client_rates_and_only_the_rated_agency_replies(parties, make_user):
    engagement = factories.advance(
        factories.request(parties["client"], parties["provider"]), parties["client"], parties["agency"], to="completed"
    )
    with pytest.raises(PermissionDenied):
        ratings.rate(make_user(Role.ENTERPRISE), engagement, score=1, text="")
    rating = ratings.rate(parties["client"], engagement, score=2, text="一般")
    with pytest.raises(PermissionDenied):
        ratings.reply(make_user(Role.AGENCY), rating, "x")


def test_a_regulator_hides_an_abusive_rating_with_a_public_reason(parties, make_user, db):
    engagement = factories.advance(
        factories.request(parties["client"], parties["provider"]), parties["client"], parties["agency"], to="completed"
    )
    rating = ratings.rate(parties["client"], engagement, score=1, text="骗子公司！！！")
    other_county = make_user(Role.COUNTY_REGULATOR, county=factories.county("320682"))
    with pytest.raises(PermissionDenied):
        ratings.hide(other_county, rating, "辱骂")
    ratings.hide(make_user(Role.COUNTY_REGULATOR, county=factories.county("320613")), rating, "含侮辱性言论")
    db.session.commit()
    provider = db.session.get(Provider, parties["provider"].id)
    assert (provider.rating_count, provider.rating_total) == (0, 0)
    assert rating.hidden_reason == "含侮辱性言论"


# --- referee and player -----------------------------------------------------------------------------


def test_advising_and_assessing_the_same_enterprise_within_a_year_is_flagged(parties, db):
    advice = factories.request(parties["client"], parties["provider"], category_code="consulting")
    factories.advance(advice, parties["client"], parties["agency"], to="contracted")
    assert advice.conflict is False
    # the enterprise is told at request time, before the agency has spent time on a quote
    with pytest.raises(choice.WarningsNotConfirmed):
        factories.request(parties["client"], parties["provider"])
    warnings = choice.choice_warnings(
        parties["provider"],
        factories.category("se_chemicals").id,
        enterprise=factories.own_enterprise(parties["client"]),
    )
    assert advice.reference in str(warnings["conflict"])
    assessment = factories.request(parties["client"], parties["provider"], confirmed=["conflict"])
    factories.advance(assessment, parties["client"], parties["agency"], to="contracted")
    assert assessment.conflict is True and assessment.conflict_with == [advice.id]
    assert advice.conflict is True and advice.conflict_with == [assessment.id]
    training = factories.request(parties["client"], parties["provider"], category_code="training")
    factories.advance(training, parties["client"], parties["agency"], to="contracted")
    assert training.conflict is False


def test_advice_more_than_a_year_ago_is_no_conflict(parties, db):
    advice = factories.request(parties["client"], parties["provider"], category_code="consulting")
    factories.advance(advice, parties["client"], parties["agency"], to="contracted")
    advice.contracted_at = utcnow() - timedelta(days=400)
    db.session.flush()
    assessment = factories.request(parties["client"], parties["provider"])
    factories.advance(assessment, parties["client"], parties["agency"], to="contracted")
    assert assessment.conflict is False


def test_county_regulators_list_only_their_countys_engagements(parties, make_user, db):
    here = factories.request(parties["client"], parties["provider"], county_code="320613")
    there = factories.request(parties["client"], parties["provider"], county_code="320612")
    db.session.flush()
    chongchuan = make_user(Role.COUNTY_REGULATOR, county=factories.county("320613"))
    seen = db.session.scalars(queries.visible_query(chongchuan)).all()
    assert here in seen and there not in seen
    city = make_user(Role.CITY_REGULATOR)
    assert {here, there} <= set(db.session.scalars(queries.visible_query(city)).all())
    assert db.session.scalars(queries.visible_query(make_user(Role.ENTERPRISE))).all() == []


def test_report_rows_keep_what_was_issued(parties, db):
    engagement = factories.advance(
        factories.request(parties["client"], parties["provider"]), parties["client"], parties["agency"], to="completed"
    )
    report = db.session.scalar(sa.select(Report).where(Report.engagement_id == engagement.id))
    assert report.enterprise_name == parties["enterprise"].name
    assert report.provider_name == parties["provider"].name


def test_ratings_feed_the_search_sort(parties, make_user, db, search_index):
    from marketplace import search
    from marketplace.search import SearchQuery

    other_user = make_user(Role.AGENCY)
    other, _ = factories.publish(other_user, n=704, name="南通后来安全评价有限公司")
    db.session.commit()
    engagement = factories.advance(
        factories.request(parties["client"], parties["provider"]), parties["client"], parties["agency"], to="completed"
    )
    ratings.rate(parties["client"], engagement, score=5, text="很好")
    db.session.commit()  # the index follows the agency's new average after the commit
    result = search.backend().search(SearchQuery(sort="rating"))
    ids = [hit.provider_id for hit in result.hits]
    assert ids.index(parties["provider"].id) < ids.index(other.id)
    assert search.staleness() is None
