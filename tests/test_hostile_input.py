"""No input ever produces a 500: control characters, NUL bytes, huge values, wrong types."""

import pytest
import sqlalchemy as sa

from marketplace.auth.models import User
from marketplace.auth.roles import Role
from marketplace.reference.models import County
from tests.conftest import collect_test_client_spool, csrf_token, field_error

NASTY = [
    "张\x00伟",
    "a" * 5000,
    "\u202e\u0000\u0007",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "name:(",
    "𠀀𪚥" * 50,
]


@pytest.mark.parametrize("value", NASTY)
def test_registration_survives_hostile_values(client, value):
    response = client.post(
        "/auth/register",
        data={
            "role": value,
            "display_name": value,
            "email": value,
            "phone": value,
            "password": value,
            "confirm": value,
        },
    )
    assert response.status_code in (200, 302)
    assert "<script>alert(1)</script>" not in response.get_data(as_text=True)


@pytest.mark.parametrize("value", NASTY)
def test_login_survives_hostile_values(client, value):
    response = client.post("/auth/login", data={"email": value, "password": value, "remember": value})
    assert response.status_code == 200


def test_nul_in_a_name_is_refused_beside_the_field(client):
    html = client.post(
        "/auth/register?lang=en",
        data={
            "role": "agency",
            "display_name": "张\x00伟",
            "email": "nul@example.cn",
            "password": "Anquan-2026-nt",
            "confirm": "Anquan-2026-nt",
        },
    ).get_data(as_text=True)
    assert "control characters" in field_error(html, "display_name")


@pytest.mark.parametrize("value", NASTY)
def test_admin_forms_and_filters_survive_hostile_values(client, make_user, login_as, value):
    login_as(make_user(Role.ADMIN))
    for url in ("/admin/users/new", "/admin/counties/new", "/admin/categories/new"):
        response = client.post(
            url,
            data={
                "role": value,
                "county_id": value,
                "display_name": value,
                "email": value,
                "password": value,
                "code": value,
                "name_zh": value,
                "name_en": value,
                "sort_order": value,
                "parent_id": value,
            },
        )
        assert response.status_code == 200, url
    for url in ("/admin/users", "/admin/audit"):
        response = client.get(
            url,
            query_string={
                "q": value,
                "role": value,
                "state": value,
                "type": value,
                "id": value,
                "actor": value,
                "action": value,
                "page": value,
            },
        )
        assert response.status_code in (200, 400), url


def test_nul_in_the_address_is_a_clear_400(client):
    response = client.get("/?lang=en&q=%00")
    assert response.status_code == 400
    assert "could not be handled" in response.get_data(as_text=True)


def test_oversize_request_is_a_friendly_413(client, app):
    response = client.post("/auth/login?lang=en", data={"email": "x" * (app.config["MAX_CONTENT_LENGTH"] + 1)})
    collect_test_client_spool()
    assert response.status_code == 413
    assert "too large" in response.get_data(as_text=True)


def test_pages_carry_security_headers(client):
    response = client.get("/")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"


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
