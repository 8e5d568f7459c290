"""Admins make regulator accounts, deactivate accounts and edit reference data."""

import sqlalchemy as sa

from marketplace.auth.models import User
from marketplace.auth.roles import Role
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
