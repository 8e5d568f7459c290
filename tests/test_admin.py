"""Admins make regulator accounts, deactivate accounts and edit reference data."""

import re
import time

import sqlalchemy as sa

from marketplace.auth.models import User
from marketplace.auth.roles import Role
from marketplace.common.models import AuditLog
from marketplace.extensions import mail
from marketplace.reference.models import County, ServiceCategory
from tests.conftest import PASSWORD, field_error
from tests.factories import county


def new_user_form(**fields):
    data = {
        "role": "county_regulator",
        "county_id": "",
        "display_name": "海门区应急管理局 施卫东",
        "email": "haimen@example.cn",
        "phone": "0513-82213450",
        "password": "Anquan-2026-hm",
    }
    data.update(fields)
    return data


def test_county_regulator_cannot_be_created_without_a_county(client, db, make_user, login_as):
    login_as(make_user(Role.ADMIN))
    html = client.post("/admin/users/new?lang=en", data=new_user_form()).get_data(as_text=True)
    assert "must be bound to a county" in field_error(html, "county_id")
    assert 'value="haimen@example.cn"' in html
    assert db.session.scalar(sa.select(User).where(User.email == "haimen@example.cn")) is None


def test_county_regulator_with_a_county_can_log_in_and_sees_it(app, client, db, make_user, login_as):
    login_as(make_user(Role.ADMIN))
    haimen = county("320614")
    response = client.post("/admin/users/new", data=new_user_form(county_id=str(haimen.id)))
    assert response.status_code == 302
    user = db.session.scalar(sa.select(User).where(User.email == "haimen@example.cn"))
    assert user.role is Role.COUNTY_REGULATOR and user.county_id == haimen.id

    other = app.test_client()
    response = other.post("/auth/login", data={"email": "haimen@example.cn", "password": "Anquan-2026-hm"})
    assert response.headers["Location"].endswith("/engagements/dashboard")  # the county's workbench
    assert "海门区" in other.get("/engagements/dashboard").get_data(as_text=True)


def test_the_database_refuses_a_county_regulator_without_a_county(db):
    import pytest
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError):
        with db.session.begin_nested():
            db.session.add(User(email="x@example.cn", password_hash="x", display_name="x", role=Role.COUNTY_REGULATOR))
            db.session.flush()


def test_admin_cannot_deactivate_itself(client, make_user, login_as):
    admin = make_user(Role.ADMIN)
    login_as(admin)
    response = client.post(f"/admin/users/{admin.id}/active?lang=en", data={"active": "0"}, follow_redirects=True)
    assert "cannot deactivate your own account" in response.get_data(as_text=True)
    assert client.get("/admin/users").status_code == 200


def test_reactivated_account_can_log_in_again(app, client, db, make_user, login_as):
    login_as(make_user(Role.ADMIN))
    user = make_user(Role.AGENCY, active=False)
    client.post(f"/admin/users/{user.id}/active", data={"active": "1"})
    other = app.test_client()
    assert other.post("/auth/login", data={"email": user.email, "password": PASSWORD}).status_code == 302


def test_user_list_filters_and_pages(client, make_user, login_as):
    login_as(make_user(Role.ADMIN))
    for i in range(25):
        make_user(Role.ENTERPRISE, email=f"qiye{i:02d}@example.cn")
    html = client.get("/admin/users?role=enterprise&lang=en").get_data(as_text=True)
    assert "Page 1 of 2, 25 in all" in html
    html = client.get("/admin/users?q=qiye07").get_data(as_text=True)
    assert "qiye07@example.cn" in html and "qiye08@example.cn" not in html
    assert "没有符合筛选条件的账号" in client.get("/admin/users?q=nobody-here&lang=zh").get_data(as_text=True)


def test_admin_adds_and_edits_a_county(client, db, make_user, login_as):
    login_as(make_user(Role.ADMIN))
    response = client.post(
        "/admin/counties/new",
        data={
            "code": "320691",
            "name_zh": "南通高新技术产业开发区",
            "name_en": "Nantong Hi-tech Zone",
            "sort_order": "90",
            "active": "y",
        },
    )
    assert response.status_code == 302
    new = db.session.scalar(sa.select(County).where(County.code == "320691"))
    assert new.name_zh == "南通高新技术产业开发区"
    assert "南通高新技术产业开发区" in client.get("/").get_data(as_text=True)

    client.post(
        f"/admin/counties/{new.id}",
        data={
            "code": "320691",
            "name_zh": "南通高新技术产业开发区",
            "name_en": "Nantong Hi-tech Zone",
            "sort_order": "90",
        },
    )  # unticked: no longer in use
    client.get("/admin/reference")  # shows (and so clears) the confirmation
    db.session.expire_all()
    assert db.session.get(County, new.id).active is False
    assert "南通高新技术产业开发区" not in client.get("/").get_data(as_text=True)


def test_duplicate_county_code_is_refused_beside_the_field(client, db, make_user, login_as):
    login_as(make_user(Role.ADMIN))
    html = client.post(
        "/admin/counties/new?lang=en", data={"code": "320613", "name_zh": "重复", "name_en": "Dup", "sort_order": "1"}
    ).get_data(as_text=True)
    assert "already in use" in field_error(html, "code")
    assert db.session.scalar(sa.select(County).where(County.name_zh == "重复")) is None


def test_bad_reference_input_never_500s(client, make_user, login_as):
    login_as(make_user(Role.ADMIN))
    html = client.post(
        "/admin/counties/new", data={"code": "BAD CODE!", "name_zh": "", "name_en": "x" * 300, "sort_order": "-5"}
    ).get_data(as_text=True)
    for field in ("code", "name_zh", "name_en", "sort_order"):
        assert field_error(html, field), field
    assert client.post("/admin/categories/new", data={"parent_id": "not-a-number"}).status_code == 200
    assert client.get("/admin/counties/999999").status_code == 404


def test_categories_are_two_levels(client, db, make_user, login_as):
    login_as(make_user(Role.ADMIN))
    consulting = db.session.scalar(sa.select(ServiceCategory).where(ServiceCategory.code == "consulting"))
    group = consulting.parent
    response = client.post(
        "/admin/categories/new",
        data={
            "code": "safety_culture",
            "parent_id": str(group.id),
            "name_zh": "安全文化建设",
            "name_en": "Safety culture",
            "sort_order": "100",
            "active": "y",
        },
    )
    assert response.status_code == 302
    assert (
        db.session.scalar(sa.select(ServiceCategory).where(ServiceCategory.code == "safety_culture")).parent_id
        == group.id
    )

    # A category cannot become the parent of another: the list offers groups only, and the rule holds anyway.
    html = client.post(
        "/admin/categories/new?lang=en",
        data={
            "code": "deeper",
            "parent_id": str(consulting.id),
            "name_zh": "三级",
            "name_en": "Third level",
            "sort_order": "1",
            "active": "y",
        },
    ).get_data(as_text=True)
    assert field_error(html, "parent_id")


def test_create_user_command(runner, db):
    result = runner.invoke(
        args=[
            "create-user",
            "--email",
            "City@Example.cn",
            "--role",
            "city_regulator",
            "--name",
            "市局 张明",
            "--password",
            "Shiju-regulator-1",
        ]
    )
    assert result.exit_code == 0, result.output
    assert db.session.scalar(sa.select(User).where(User.email == "city@example.cn")).role is Role.CITY_REGULATOR


def test_create_user_command_needs_a_county_for_county_regulators(runner, db):
    result = runner.invoke(
        args=[
            "create-user",
            "--email",
            "c@example.cn",
            "--role",
            "county_regulator",
            "--name",
            "x",
            "--password",
            "County-regulator-1",
        ]
    )
    assert result.exit_code != 0
    assert "county" in result.output.lower() or "县" in result.output
    result = runner.invoke(
        args=[
            "create-user",
            "--email",
            "c@example.cn",
            "--role",
            "county_regulator",
            "--name",
            "x",
            "--password",
            "County-regulator-1",
            "--county",
            "如东县",
        ]
    )
    assert result.exit_code == 0, result.output
    assert db.session.scalar(sa.select(User).where(User.email == "c@example.cn")).county.name_zh == "如东县"


def test_create_user_command_refuses_a_weak_password(runner, db):
    result = runner.invoke(
        args=["create-user", "--email", "w@example.cn", "--role", "admin", "--name", "x", "--password", "short"]
    )
    assert result.exit_code != 0
    assert db.session.scalar(sa.select(User).where(User.email == "w@example.cn")) is None


def _logged_in(app, user, password=PASSWORD):
    other = app.test_client()
    assert other.post("/auth/login", data={"email": user.email, "password": password}).status_code == 302
    return other


def edit_form(user, **fields):
    data = {
        "display_name": user.display_name,
        "email": user.email,
        "phone": user.phone or "",
        "role": user.role.value,
        "county_id": str(user.county_id or ""),
    }
    data.update(fields)
    return data


def test_an_administrator_corrects_an_account(app, client, db, make_user, login_as):
    """An administrator could not edit an account."""
    regulator = make_user(Role.COUNTY_REGULATOR, county_code="320613", email="gu@example.cn")
    session = _logged_in(app, regulator)
    login_as(make_user(Role.ADMIN))
    assert "gu@example.cn" in client.get(f"/admin/users/{regulator.id}?lang=en").get_data(as_text=True)
    response = client.post(
        f"/admin/users/{regulator.id}",
        data=edit_form(
            regulator,
            display_name="崇川区应急管理局 顾晓明",
            email="GU.Xiaoming@example.cn",
            county_id=str(county("320614").id),
        ),
    )
    assert response.status_code == 302
    db.session.refresh(regulator)
    assert (regulator.display_name, regulator.email, regulator.county_id) == (
        "崇川区应急管理局 顾晓明",
        "gu.xiaoming@example.cn",
        county("320614").id,
    )
    assert session.get("/auth/account").status_code == 302  # a new e-mail address ends the old sessions
    response = client.post(f"/admin/users/{regulator.id}", data=edit_form(regulator, role="city_regulator"))
    db.session.refresh(regulator)
    assert response.status_code == 302 and regulator.role is Role.CITY_REGULATOR and regulator.county_id is None


def test_an_account_edit_is_refused_beside_the_field(client, db, make_user, login_as):
    agency = make_user(Role.AGENCY)
    taken = make_user(Role.ENTERPRISE, email="taken@example.cn")
    login_as(make_user(Role.ADMIN))
    html = client.post(f"/admin/users/{agency.id}?lang=en", data=edit_form(agency, role="city_regulator")).data
    assert "keeps its role" in field_error(html.decode(), "role")
    html = client.post(f"/admin/users/{agency.id}?lang=en", data=edit_form(agency, email=taken.email)).data
    assert "already uses this e-mail" in field_error(html.decode(), "email")
    html = client.post(f"/admin/users/{agency.id}?lang=en", data=edit_form(agency, display_name="  ")).data
    assert field_error(html.decode(), "display_name")
    db.session.refresh(agency)
    assert agency.role is Role.AGENCY and agency.email != taken.email


def test_an_administrator_sets_a_new_password_and_the_old_sessions_end(app, client, db, make_user, login_as):
    """An administrator could not reset a password."""
    user = make_user(Role.CITY_REGULATOR)
    session = _logged_in(app, user)
    login_as(make_user(Role.ADMIN))
    html = client.post(f"/admin/users/{user.id}/password?lang=en", data={"password": "short", "confirm": "short"})
    assert field_error(html.get_data(as_text=True), "password")
    response = client.post(
        f"/admin/users/{user.id}/password", data={"password": "Anquan-2026-new", "confirm": "Anquan-2026-new"}
    )
    assert response.status_code == 302
    assert session.get("/auth/account").status_code == 302
    _logged_in(app, user, "Anquan-2026-new")
    db.session.commit()
    entries = db.session.scalars(
        sa.select(AuditLog).where(AuditLog.object_type == "User", AuditLog.object_id == str(user.id))
    ).all()
    assert any((e.changes or {}).get("password_hash") == ["******", "******"] for e in entries)


def test_forgotten_password_by_mail_answers_the_same_for_unknown_addresses(app, client, db, make_user):
    """There was no "forgot password"."""
    user = make_user(Role.AGENCY, email="wang@example.cn")
    session = _logged_in(app, user)
    assert "/auth/forgot" in client.get("/auth/login?lang=en").get_data(as_text=True)
    with mail.record_messages() as outbox:
        unknown = client.post("/auth/forgot?lang=en", data={"email": "nobody@example.cn"}, follow_redirects=True)
        known = client.post("/auth/forgot?lang=en", data={"email": "WANG@example.cn"}, follow_redirects=True)
    assert unknown.get_data(as_text=True).count("a link to set a new password is on its way") == 1
    assert known.get_data(as_text=True).count("a link to set a new password is on its way") == 1
    assert [m.recipients for m in outbox] == [["wang@example.cn"]]
    link = re.search(r"http://localhost(/auth/reset/\S+)", outbox[0].body).group(1)
    html = client.post(link + "?lang=en", data={"password": "wang12", "confirm": "wang12"}).get_data(as_text=True)
    assert field_error(html, "password")  # the policy applies
    response = client.post(link, data={"password": "Anquan-2026-ntsafe", "confirm": "Anquan-2026-ntsafe"})
    assert response.status_code == 302
    assert session.get("/auth/account").status_code == 302  # other sessions end
    _logged_in(app, user, "Anquan-2026-ntsafe")
    used = client.get(link + "?lang=en")
    assert used.status_code == 400 and "has been used" in used.get_data(as_text=True)  # a link works once
    assert client.get("/auth/reset/forged-token?lang=en").status_code == 400


def test_a_reset_link_names_the_configured_address_not_the_host_the_request_named(
    app, client, db, make_user, monkeypatch
):
    """A forged Host put the attacker's address in front of the reset token, and the owner who
    clicked it handed the token over."""
    make_user(Role.AGENCY, email="zhao@example.cn")
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "https://aq.example.gov.cn/market")
    with mail.record_messages() as outbox:
        client.post("/auth/forgot", data={"email": "zhao@example.cn"}, headers={"Host": "evil.example"})
    (message,) = outbox
    assert "evil.example" not in message.body
    assert re.search(r"https://aq\.example\.gov\.cn/market/auth/reset/\S+", message.body)


def test_a_reset_link_expires_after_an_hour(app, client, db, make_user, monkeypatch):
    import itsdangerous.timed

    from marketplace.auth import services

    user = make_user(Role.AGENCY)
    token = services.password_reset_token(user)
    db.session.commit()
    assert client.get(f"/auth/reset/{token}").status_code == 200
    later = time.time() + services.RESET_MAX_AGE + 60
    monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: later)
    assert client.get(f"/auth/reset/{token}").status_code == 400
