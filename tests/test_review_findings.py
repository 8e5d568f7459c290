"""Regression tests for defects a review found in the foundation (each failed before its fix)."""

import time

import pytest
import sqlalchemy as sa

from marketplace.auth import services
from marketplace.auth.models import User
from marketplace.auth.roles import Role
from marketplace.common.errors import PermissionDenied
from marketplace.common.models import AuditLog
from marketplace.reference.models import County
from tests.conftest import PASSWORD, csrf_token, field_error


def test_csrf_failure_on_https_without_referer_saves_nothing(csrf_app, db):
    client = csrf_app.test_client()
    base = "https://localhost"
    token = csrf_token(client.get(base + "/auth/register").get_data(as_text=True))
    response = client.post(
        base + "/auth/register",
        data={
            "csrf_token": token,
            "role": "agency",
            "display_name": "钱多多",
            "email": "qian@example.cn",
            "password": "Anquan-2026-qd",
            "confirm": "Anquan-2026-qd",
        },
    )
    assert response.status_code == 400
    assert 'value="qian@example.cn"' in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(User).where(User.email == "qian@example.cn")) is None
    assert client.get(base + "/auth/account").status_code == 302


def test_csrf_failures_past_the_rate_limit_are_not_a_500(csrf_app, db):
    client = csrf_app.test_client()
    codes = {client.post("/auth/login", data={"email": "x@example.cn", "password": "y"}).status_code for _ in range(13)}
    assert codes <= {400, 429}


@pytest.mark.parametrize("query", ["endpoint=x", "_scheme=javascript", "_method=POST", "_anchor=x", "_external=1"])
def test_odd_query_arguments_do_not_break_pages(client, query):
    response = client.get(f"/?{query}")
    assert response.status_code == 200
    assert "lang=en" in response.get_data(as_text=True)


def test_route_argument_names_in_the_query_do_not_break_pages(client, make_user, login_as, db):
    login_as(make_user(Role.ADMIN))
    county = db.session.scalar(sa.select(County).where(County.code == "320613"))
    assert client.get(f"/admin/counties/{county.id}?county_id=2&page=x").status_code == 200
    html = client.get("/admin/users?endpoint=x&page=1").get_data(as_text=True)
    assert "endpoint=x" in html  # kept in the language switch, harmlessly


def test_remember_me_cookie_expires_on_the_server(app, client, make_user, monkeypatch):
    user = make_user()
    client.post("/auth/login", data={"email": user.email, "password": PASSWORD, "remember": "y"})
    cookie = client.get_cookie("remember_token").value
    lifetime = app.config["REMEMBER_COOKIE_DURATION"].total_seconds()

    real_time = time.time

    def visit_at(offset):
        monkeypatch.setattr(time, "time", lambda: real_time() + offset)
        fresh = app.test_client()
        fresh.set_cookie("remember_token", cookie)
        try:
            return fresh.get("/auth/account").status_code
        finally:
            monkeypatch.setattr(time, "time", real_time)

    assert visit_at(3600) == 200
    assert visit_at(lifetime + 3600) == 302


@pytest.mark.parametrize(
    "url",
    ["/admin/counties/99999999999999999999", "/admin/categories/3000000000", "/admin/counties/0", "/admin/counties/-1"],
)
def test_out_of_range_record_numbers_are_404(client, make_user, login_as, url):
    login_as(make_user(Role.ADMIN))
    assert client.get(url).status_code == 404


def test_out_of_range_user_number_in_a_post_is_404(client, make_user, login_as):
    login_as(make_user(Role.ADMIN))
    assert client.post("/admin/users/3000000000/active", data={"active": "0"}).status_code == 404


def test_names_of_only_spaces_are_refused(client, make_user, login_as, db):
    html = client.post(
        "/auth/register?lang=en",
        data={
            "role": "agency",
            "display_name": "   ",
            "email": "blank@example.cn",
            "password": "Anquan-2026-bk",
            "confirm": "Anquan-2026-bk",
        },
    ).get_data(as_text=True)
    assert "required" in field_error(html, "display_name")
    login_as(make_user(Role.ADMIN))
    html = client.post(
        "/admin/counties/new?lang=en", data={"code": "320699", "name_zh": "  ", "name_en": " ", "sort_order": "1"}
    ).get_data(as_text=True)
    assert field_error(html, "name_zh") and field_error(html, "name_en")
    assert db.session.scalar(sa.select(County).where(County.code == "320699")) is None


def test_services_refuse_blank_names_whoever_calls(db):
    from marketplace.auth.permissions import SYSTEM
    from marketplace.common.errors import DomainError

    with pytest.raises(DomainError) as caught:
        services.create_user(
            SYSTEM, email="b@example.cn", password="Anquan-2026-bk", display_name="  ", role=Role.ADMIN
        )
    assert caught.value.field == "display_name"


def test_self_registration_is_attributed_to_the_new_account(client, db):
    client.post(
        "/auth/register",
        data={
            "role": "enterprise",
            "display_name": "郭峰",
            "email": "guofeng@example.cn",
            "password": "Anquan-2026-gf",
            "confirm": "Anquan-2026-gf",
        },
    )
    user = db.session.scalar(sa.select(User).where(User.email == "guofeng@example.cn"))
    created = db.session.scalar(
        sa.select(AuditLog).where(
            AuditLog.object_type == "User", AuditLog.object_id == str(user.id), AuditLog.action == "create"
        )
    )
    assert created.actor_id == user.id and created.actor_label == "guofeng@example.cn"


def test_successful_logins_do_not_use_up_the_limit(app, make_user):
    user = make_user()
    client = app.test_client()
    for _ in range(12):  # more than LOGIN_RATE_LIMIT's 10
        assert client.post("/auth/login", data={"email": user.email, "password": PASSWORD}).status_code == 302
        client.post("/auth/logout")


def test_a_missing_actor_is_refused_not_trusted(db):
    with pytest.raises(PermissionDenied):
        services.create_user(None, email="n@example.cn", password="Anquan-2026-nn", display_name="x", role=Role.ADMIN)
