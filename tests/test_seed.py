"""`flask --app wsgi seed-demo`: realistic, idempotent, and every demo login works.

The demo data is made once per run, by the real command, in the background (``tests.live``); these
tests read a copy of it, and the live server of the browser journeys serves another."""

from datetime import date

import pytest
import sqlalchemy as sa

from marketplace import create_app
from marketplace.auth.demo import DEMO_DOMAIN, DEMO_PASSWORD
from marketplace.auth.models import User
from marketplace.auth.roles import Role
from marketplace.cli import DEMO_ACCOUNTS
from marketplace.extensions import db, limiter
from marketplace.providers.models import NoticeBatch, Provider, ProviderStatus, Qualification
from marketplace.reference.models import County
from tests import live
from tests.conftest import IsolatedClient, make_config

START_PAGES = {
    Role.ADMIN: "/admin/users",
    Role.CITY_REGULATOR: "/engagements/dashboard",
    Role.COUNTY_REGULATOR: "/engagements/dashboard",
    Role.ENTERPRISE: "/engagements/dashboard",
    Role.AGENCY: "/providers/me",
}


@pytest.fixture(scope="module")
def demo():
    """An application over this process's copy of the run's demo database, and what `seed-demo` printed."""
    copy = live.DemoCopy()
    app = create_app(make_config(copy.url, SEARCH_INDEX_DIR=str(copy.folder / "search-index")))
    app.test_client_class = IsolatedClient
    with app.app_context():
        yield app, copy.seed_output
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()
    copy.close()


@pytest.fixture()
def reading(demo):
    """The demo app, with the reads of one test ended after it (SQLite would keep the file locked)."""
    yield demo
    db.session.remove()


def test_seed_demo_is_idempotent_and_covers_every_role_and_county(reading):
    app, first = reading
    count = db.session.scalar(sa.select(sa.func.count(User.id)))
    second = app.test_cli_runner().invoke(args=["seed-demo"])
    assert second.exit_code == 0, second.output
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == count
    assert "0 new accounts" in second.output

    statuses = dict(db.session.execute(sa.select(Provider.status, sa.func.count()).group_by(Provider.status)).all())
    assert sum(statuses.values()) == 60
    assert statuses[ProviderStatus.SUSPENDED] == 1 and statuses[ProviderStatus.WITHDRAWN] == 1
    assert statuses[ProviderStatus.DRAFT] == 1 and statuses[ProviderStatus.PUBLISHED] == 57
    assert db.session.scalar(sa.select(sa.func.count(NoticeBatch.id))) == 3
    expired = db.session.scalar(sa.select(sa.func.count(Qualification.id)).where(Qualification.valid_to < date.today()))
    assert expired >= 3
    counties = db.session.scalar(sa.select(sa.func.count(sa.distinct(Provider.county_id))))
    assert counties == 8

    roles = set(db.session.scalars(sa.select(User.role)).all())
    assert roles == set(Role)
    regulated = set(
        db.session.scalars(
            sa.select(County.code).join(User, User.county_id == County.id).where(User.role == Role.COUNTY_REGULATOR)
        ).all()
    )
    assert regulated == set(db.session.scalars(sa.select(County.code)).all())
    for local, *_ in DEMO_ACCOUNTS:
        assert f"{local}@{DEMO_DOMAIN}" in first


def test_seed_demo_if_empty_leaves_a_used_database_alone(runner, db, make_user):
    make_user(email="real@example.cn")
    before = db.session.scalar(sa.select(sa.func.count(User.id)))
    result = runner.invoke(args=["seed-demo", "--if-empty"])
    assert result.exit_code == 0
    assert "already has accounts" in result.output
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == before


def test_every_demo_login_reaches_its_start_page(reading):
    app, _output = reading
    for local, role, name, *_ in DEMO_ACCOUNTS:
        limiter.reset()  # sixteen logins from one address would trip the login limit
        client = app.test_client()
        response = client.post("/auth/login", data={"email": f"{local}@{DEMO_DOMAIN}", "password": DEMO_PASSWORD})
        assert response.status_code == 302, local
        location = response.headers["Location"]
        assert location.endswith(START_PAGES.get(role, "/auth/account")), (local, location)
        page = client.get(location)
        assert page.status_code == 200
        assert name in page.get_data(as_text=True)


def test_demo_supervision_has_every_tier_and_state_and_its_draws_replay(reading):
    """A finished campaign and a running one, every tier partly done, a revealed draw with results and one
    waiting for its seed, rectifications open, accepted and overdue, penalties in and out of public view."""
    from marketplace.common.time import local_today
    from marketplace.inspections import draws, queries, services
    from marketplace.inspections.models import Campaign, Draw, Finding, Penalty

    app, _output = reading
    campaigns = {c.status.value: c for c in db.session.scalars(sa.select(Campaign))}
    assert set(campaigns) == {"open", "closed"}
    for campaign in campaigns.values():
        _rows, total = queries.dashboard(campaign)
        assert total.population > 30 and 0 < total.self_checked < total.population
        assert 0 < total.rechecked < total.population and total.findings > 0
    finished = queries.dashboard(campaigns["closed"])[1]
    assert finished.spot_checked > 0 and finished.disagreements > 0 and finished.rectifications_overdue > 0
    revealed, waiting = (
        db.session.scalar(sa.select(Draw).where(Draw.campaign_id == campaigns[s].id)) for s in ("closed", "open")
    )
    assert revealed.seed is not None and draws.verify(revealed) == (True, [])
    assert draws.results(revealed) and waiting.seed is None and waiting.sample is None
    states = {services.rectification_state(f) for f in db.session.scalars(sa.select(Finding))}
    assert {"open", "submitted", "returned", "accepted"} <= states
    assert any(services.is_overdue(f) for f in db.session.scalars(sa.select(Finding)))
    from marketplace.common.time import local_date

    for f in db.session.scalars(sa.select(Finding).where(Finding.rectification_due.is_not(None))):
        assert f.rectification_due > local_date(f.created_at), (f.code, f.created_at, f.rectification_due)
    penalties = db.session.scalars(sa.select(Penalty)).all()
    assert any(services.in_publicity(p) for p in penalties)
    assert any(not services.in_publicity(p) for p in penalties)
    assert any(services.published_late(p) for p in penalties)
    assert any(p.target.value == "person" for p in penalties)
    client = app.test_client()
    public = client.get("/penalties").get_data(as_text=True)
    person = next(p for p in penalties if p.target.value == "person")
    assert services.public_name(person) in public and person.target_name not in public
    assert local_today() < next(p for p in penalties if not services.in_publicity(p)).publicity_start
