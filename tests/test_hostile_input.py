"""No input ever produces a 500: control characters, NUL bytes, huge values, wrong types."""

import pytest

from marketplace.auth.roles import Role
from tests.conftest import collect_test_client_spool, field_error

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
