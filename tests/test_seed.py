"""`flask --app wsgi seed-demo`: realistic, idempotent, and every demo login works."""

from datetime import date

import pytest
import sqlalchemy as sa

from marketplace.auth.demo import DEMO_DOMAIN, DEMO_PASSWORD
from marketplace.auth.models import User
from marketplace.auth.roles import Role
from marketplace.cli import DEMO_ACCOUNTS
from marketplace.extensions import limiter
from marketplace.providers.models import NoticeBatch, Provider, ProviderStatus, Qualification
from marketplace.reference.models import County
from tests.conftest import building

START_PAGES = {
    Role.ADMIN: "/admin/users",
    Role.CITY_REGULATOR: "/engagements/dashboard",
    Role.COUNTY_REGULATOR: "/engagements/dashboard",
    Role.ENTERPRISE: "/engagements/dashboard",
    Role.AGENCY: "/providers/me",
}


@pytest.fixture(scope="module")
def seeded(app, module_db):
    """The demo data, made once for the module (it takes seconds); each test rolls back its own changes."""
    with building(app):
        first = app.test_cli_runner().invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    return first


def test_seed_demo_is_idempotent_and_covers_every_role_and_county(seeded, runner, db):
    first = seeded
    count = db.session.scalar(sa.select(sa.func.count(User.id)))
    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0
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
        assert f"{local}@{DEMO_DOMAIN}" in first.output


def test_seed_demo_if_empty_leaves_a_used_database_alone(runner, db, make_user):
    make_user(email="real@example.cn")
    before = db.session.scalar(sa.select(sa.func.count(User.id)))
    result = runner.invoke(args=["seed-demo", "--if-empty"])
    assert result.exit_code == 0
    assert "already has accounts" in result.output
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == before


def test_every_demo_login_reaches_its_start_page(app, seeded, db):
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
