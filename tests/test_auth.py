"""Registration, login, logout, password change and deactivation, as a user meets them."""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from marketplace.auth import services
from marketplace.auth.models import User
from marketplace.auth.roles import Role
from marketplace.common.errors import PermissionDenied
from marketplace.common.models import AuditLog
from marketplace.extensions import mail
from tests.conftest import PASSWORD, csrf_token, field_error


def register(client, lang="zh", **fields):
    data = {
        "role": "agency",
        "display_name": "张伟",
        "email": "zhangwei@example.cn",
        "phone": "13800000000",
        "password": "Anquan-2026-nt",
        "confirm": "Anquan-2026-nt",
    }
    data.update(fields)
    return client.post(f"/auth/register?lang={lang}", data=data)


def user_count(db):
    return db.session.scalar(sa.select(sa.func.count(User.id)))


def registered(client, **fields):
    """Register, then follow the link mailed to the address and press its button: the response."""
    with mail.record_messages() as outbox:
        response = register(client, **fields)
    assert response.status_code == 302, response.get_data(as_text=True)
    (message,) = outbox
    link = re.search(r"https?://[^/\s]+(/auth/register/confirm/\S+)", message.body).group(1)
    return client.post(link)


def test_agency_registers_confirms_by_mail_and_is_logged_in(client, db):
    with mail.record_messages() as outbox:
        response = register(client)
    assert response.status_code == 302 and response.headers["Location"].endswith("/auth/register/sent")
    assert "zhangwei@example.cn" in client.get("/auth/register/sent").get_data(as_text=True)
    assert db.session.scalar(sa.select(User).where(User.email == "zhangwei@example.cn")) is None  # not yet
    (message,) = outbox
    assert message.recipients == ["zhangwei@example.cn"] and "张伟" in message.body
    link = re.search(r"http://localhost(/auth/register/confirm/\S+)", message.body).group(1)
    page = client.get(link).get_data(as_text=True)  # a mail scanner opening the link creates nothing
    assert "zhangwei@example.cn" in page
    assert db.session.scalar(sa.select(User).where(User.email == "zhangwei@example.cn")) is None
    response = client.post(link)
    assert response.status_code == 302 and response.headers["Location"].endswith("/providers/me")
    assert "zhangwei@example.cn" in client.get("/auth/account").get_data(as_text=True)
    user = db.session.scalar(sa.select(User).where(User.email == "zhangwei@example.cn"))
    assert user.role is Role.AGENCY and user.password_hash.startswith("$argon2id$")
    client.post("/auth/logout")
    again = client.get(link + "?lang=en")  # a link works once
    assert again.status_code == 400 and "has been used" in again.get_data(as_text=True)
    assert client.post("/auth/login", data={"email": user.email, "password": "Anquan-2026-nt"}).status_code == 302


def test_enterprise_can_register_too(client, db):
    assert registered(client, role="enterprise", email="qiye@example.cn").status_code == 302
    assert db.session.scalar(sa.select(User.role).where(User.email == "qiye@example.cn")) is Role.ENTERPRISE


def test_a_registration_link_expires_after_a_day(client, db, monkeypatch):
    from marketplace.auth import registration

    with mail.record_messages() as outbox:
        register(client, email="late@example.cn")
    link = re.search(r"http://localhost(/auth/register/confirm/\S+)", outbox[0].body).group(1)
    later = registration.utcnow() + registration.REGISTRATION_MAX_AGE + timedelta(minutes=1)
    monkeypatch.setattr(registration, "utcnow", lambda: later)
    assert client.post(link).status_code == 400
    assert db.session.scalar(sa.select(User).where(User.email == "late@example.cn")) is None


def test_registration_cannot_claim_a_regulator_role(client, db):
    before = user_count(db)
    response = register(client, role="city_regulator", lang="en")
    assert response.status_code == 200
    assert field_error(response.get_data(as_text=True), "role")
    assert user_count(db) == before


def test_malformed_email_is_refused_beside_the_field_keeping_what_was_typed(client, db):
    before = user_count(db)
    html = register(client, email="not-an-address", display_name="王芳").get_data(as_text=True)
    assert "请输入有效的电子邮箱" in field_error(html, "email")
    assert 'value="not-an-address"' in html and 'value="王芳"' in html
    assert user_count(db) == before


def test_weak_password_is_explained_in_english_when_english_is_chosen(client, db):
    html = register(client, lang="en", password="abc", confirm="abc").get_data(as_text=True)
    error = field_error(html, "password")
    assert "at least 10 characters" in error and "letters and digits" in error
    assert 'value="zhangwei@example.cn"' in html


def test_common_password_is_refused(client):
    html = register(client, lang="en", password="1234567890", confirm="1234567890").get_data(as_text=True)
    assert "too common" in field_error(html, "password")


def test_registration_answers_the_same_for_an_address_that_has_an_account(client, make_user, db):
    """Registration said which addresses have accounts: it answers the same and tells the owner by mail."""
    make_user(email="taken@example.cn")
    before = user_count(db)
    with mail.record_messages() as outbox:
        taken = register(client, email="  Taken@Example.CN ")
        fresh = register(client, email="fresh@example.cn")
    assert taken.status_code == fresh.status_code == 302
    assert taken.headers["Location"] == fresh.headers["Location"]
    assert user_count(db) == before
    owner, newcomer = outbox
    assert owner.recipients == ["taken@example.cn"] and "/auth/login" in owner.body and "/auth/forgot" in owner.body
    assert "/auth/register/confirm/" not in owner.body and "/auth/register/confirm/" in newcomer.body


def test_an_address_registered_meanwhile_is_not_registered_twice(client, db, make_user):
    with mail.record_messages() as outbox:
        register(client, email="twice@example.cn")
    make_user(email="twice@example.cn")  # an administrator made the account in the meantime
    link = re.search(r"http://localhost(/auth/register/confirm/\S+)", outbox[0].body).group(1)
    html = client.post(link + "?lang=en").get_data(as_text=True)
    assert "created in the meantime" in html
    assert db.session.scalar(sa.select(sa.func.count(User.id)).where(User.email == "twice@example.cn")) == 1


def test_password_confirmation_must_match(client):
    html = register(client, lang="en", confirm="Anquan-2026-xx").get_data(as_text=True)
    assert "differ" in field_error(html, "confirm")


def test_login_reaches_the_roles_start_page(client, users):
    expected = {
        "admin": "/admin/users",
        "city_regulator": "/engagements/dashboard",
        "county_regulator": "/engagements/dashboard",
        "agency": "/providers/me",
        "enterprise": "/engagements/dashboard",
    }
    for role, user in users.items():
        response = client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
        assert response.headers["Location"].endswith(expected[role]), role
        assert client.get(response.headers["Location"]).status_code == 200
        client.post("/auth/logout")


def test_wrong_password_gets_a_message_and_is_audited(client, make_user, db):
    user = make_user(email="a@example.cn")
    html = client.post("/auth/login?lang=en", data={"email": "a@example.cn", "password": "wrong-1234567"}).get_data(
        as_text=True
    )
    assert "e-mail address or password is wrong" in field_error(html, "password")
    assert 'value="a@example.cn"' in html
    failed = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "login_failed")).all()
    assert [entry.object_id for entry in failed] == [str(user.id)]


def test_malformed_login_email_is_refused_beside_the_field(client):
    html = client.post("/auth/login", data={"email": "x@", "password": "whatever"}).get_data(as_text=True)
    assert field_error(html, "email")


def test_next_parameter_only_follows_same_site_paths(client, make_user):
    user = make_user(role=Role.ADMIN)
    response = client.post("/auth/login?next=https://evil.example/", data={"email": user.email, "password": PASSWORD})
    assert response.headers["Location"].endswith("/admin/users")
    client.post("/auth/logout")
    response = client.post("/auth/login?next=/admin/reference", data={"email": user.email, "password": PASSWORD})
    assert response.headers["Location"].endswith("/admin/reference")


def test_deactivated_account_cannot_log_in(client, make_user):
    user = make_user(active=False)
    html = client.post("/auth/login?lang=en", data={"email": user.email, "password": PASSWORD}).get_data(as_text=True)
    assert "deactivated" in field_error(html, "email")
    assert client.get("/auth/account").status_code == 302


def test_deactivation_ends_existing_sessions(app, client, make_user, login_as):
    admin = make_user(Role.ADMIN)
    victim = make_user(Role.AGENCY)
    login_as(victim)
    assert client.get("/auth/account").status_code == 200

    admin_client = app.test_client()
    admin_client.post("/auth/login", data={"email": admin.email, "password": PASSWORD})
    response = admin_client.post(f"/admin/users/{victim.id}/active", data={"active": "0"})
    assert response.status_code == 302

    response = client.get("/auth/account")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_remember_me_cookie_dies_with_deactivation(app, client, make_user, login_as, db):
    admin = make_user(Role.ADMIN)
    user = make_user(Role.ENTERPRISE)
    client.post("/auth/login", data={"email": user.email, "password": PASSWORD, "remember": "y"})
    remember = client.get_cookie("remember_token")
    assert remember is not None
    admin_client = app.test_client()
    admin_client.post("/auth/login", data={"email": admin.email, "password": PASSWORD})
    admin_client.post(f"/admin/users/{user.id}/active", data={"active": "0"})

    fresh = app.test_client()
    fresh.set_cookie("remember_token", remember.value)
    assert fresh.get("/auth/account").status_code == 302


def test_password_change_ends_other_sessions_but_keeps_this_one(app, client, make_user, login_as):
    user = make_user()
    login_as(user)
    other = app.test_client()
    other.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    assert other.get("/auth/account").status_code == 200

    response = client.post(
        "/auth/password",
        data={"current_password": PASSWORD, "new_password": "Brand-new-2027", "confirm": "Brand-new-2027"},
    )
    assert response.status_code == 302
    assert client.get("/auth/account").status_code == 200
    assert other.get("/auth/account").status_code == 302
    client.post("/auth/logout")
    assert client.post("/auth/login", data={"email": user.email, "password": "Brand-new-2027"}).status_code == 302


def test_password_change_with_wrong_current_password(client, make_user, login_as):
    user = make_user()
    login_as(user)
    html = client.post(
        "/auth/password",
        data={"current_password": "nope-nope-123", "new_password": "Brand-new-2027", "confirm": "Brand-new-2027"},
    ).get_data(as_text=True)
    assert "当前密码错误" in field_error(html, "current_password")


def test_logout_needs_post(client, make_user, login_as):
    login_as(make_user())
    assert client.get("/auth/logout").status_code == 405
    assert client.post("/auth/logout").status_code == 302
    assert client.get("/auth/account").status_code == 302


def test_too_many_login_attempts_get_a_clear_message_beside_the_field(app, client, make_user, monkeypatch):
    """The message read "Please wait %(minutes)d minute(s)", raw."""
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "3 per minute")
    for n in range(3):
        client.post("/auth/login", data={"email": f"who{n}@example.cn", "password": "wrong-pass-1"})
    response = client.post("/auth/login?lang=en", data={"email": "who@example.cn", "password": "wrong-pass-1"})
    assert response.status_code == 429
    html = response.get_data(as_text=True)
    assert "Too many attempts from your network. Please wait 1 minute(s)" in field_error(html, "email")
    assert "%(" not in html
    assert 'value="who@example.cn"' in html
    assert int(response.headers["Retry-After"]) > 0


def _attempt(app, email, password, address, client=None):
    client = client or app.test_client()
    return client.post(
        "/auth/login?lang=en", data={"email": email, "password": password}, environ_base={"REMOTE_ADDR": address}
    )


def test_guessing_from_elsewhere_never_locks_the_owner_out(app, client, make_user, monkeypatch):
    """Ten failed logins from anywhere locked the account for everyone, its owner included."""
    from marketplace.auth import throttle

    owner = make_user()
    owners_browser = app.test_client()
    assert _attempt(app, owner.email, PASSWORD, "10.0.0.1", owners_browser).status_code == 302  # a known device
    owners_browser.post("/auth/logout")
    for n in range(25):  # a botnet: every guess from another address
        assert _attempt(app, owner.email, f"guess-{n}", f"198.51.100.{n}").status_code in (200, 429)
    # a new browser waits a short, capped delay, never a lock
    response = _attempt(app, owner.email, PASSWORD, "10.0.0.2")
    assert response.status_code == 429
    wait = int(re.search(r"Wait (\d+) seconds", field_error(response.get_data(as_text=True), "email")).group(1))
    assert 0 < wait <= app.config["LOGIN_MAX_DELAY"]
    assert wait <= int(response.headers["Retry-After"]) <= wait + 1
    # the owner's own browser is not delayed at all
    assert _attempt(app, owner.email, PASSWORD, "10.0.0.1", owners_browser).status_code == 302
    # and once the delay has passed the new browser gets in too
    for n in range(25, 40):
        _attempt(app, owner.email, f"guess-{n}", f"198.51.100.{n}")
    later = throttle.time.time() + app.config["LOGIN_MAX_DELAY"] + 1
    monkeypatch.setattr(throttle.time, "time", lambda: later)
    monkeypatch.setattr("limits.storage.memory.time.time", lambda: later)
    assert _attempt(app, owner.email, PASSWORD, "10.0.0.2").status_code == 302


def test_the_pair_limit_stops_one_address_on_one_account(app, make_user, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_PAIR_RATE_LIMIT", "3 per 15 minutes")
    monkeypatch.setitem(app.config, "LOGIN_FREE_FAILURES", 100)  # no account delay in this test
    target, other = make_user(), make_user()
    for n in range(3):
        _attempt(app, target.email, f"guess-{n}", "203.0.113.7")
    assert _attempt(app, target.email, "guess-9", "203.0.113.7").status_code == 429
    assert _attempt(app, other.email, PASSWORD, "203.0.113.7").status_code == 302  # another account from there
    assert _attempt(app, target.email, PASSWORD, "203.0.113.8").status_code == 302  # the owner elsewhere


def test_only_refused_logins_count_not_typing_errors_or_server_errors(app, make_user, monkeypatch):
    from marketplace.auth import services as auth_services

    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "2 per minute")
    user = make_user()
    for _ in range(3):  # a form sent back for a typing error
        assert _attempt(app, "not an address", "x", "192.0.2.5").status_code == 200

    def broken(email, password):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(auth_services, "authenticate", broken)
    for _ in range(3):
        with pytest.raises(RuntimeError):
            _attempt(app, user.email, PASSWORD, "192.0.2.5")
    monkeypatch.undo()
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "2 per minute")
    assert _attempt(app, user.email, PASSWORD, "192.0.2.5").status_code == 302


def test_too_many_registrations_are_refused_in_chinese(app, client):
    app.config["REGISTER_RATE_LIMIT"] = "2 per hour"
    try:
        for i in range(2):
            register(client, email=f"r{i}@example.cn", password="x", confirm="x")
        response = register(client, email="r9@example.cn")
        assert response.status_code == 429
        assert "尝试次数过多" in field_error(response.get_data(as_text=True), "email")
    finally:
        app.config["REGISTER_RATE_LIMIT"] = "5 per hour"


def test_missing_csrf_token_re_shows_the_form_with_what_was_typed(csrf_app, db):
    client = csrf_app.test_client()
    response = client.post(
        "/auth/register?lang=en",
        data={
            "role": "enterprise",
            "display_name": "曹静",
            "email": "cao@example.cn",
            "password": "Anquan-2026-nt",
            "confirm": "Anquan-2026-nt",
        },
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "expired or did not come from this site" in html
    assert 'value="cao@example.cn"' in html and 'value="曹静"' in html
    assert db.session.scalar(sa.select(User).where(User.email == "cao@example.cn")) is None


def test_login_with_a_valid_csrf_token_works(csrf_app, db, make_user):
    user = make_user()
    client = csrf_app.test_client()
    token = csrf_token(client.get("/auth/login").get_data(as_text=True))
    response = client.post("/auth/login", data={"csrf_token": token, "email": user.email, "password": PASSWORD})
    assert response.status_code == 302


def test_logout_without_csrf_token_is_refused(csrf_app, db, make_user):
    user = make_user()
    client = csrf_app.test_client()
    token = csrf_token(client.get("/auth/login").get_data(as_text=True))
    client.post("/auth/login", data={"csrf_token": token, "email": user.email, "password": PASSWORD})
    assert client.post("/auth/logout").status_code == 400
    assert client.get("/auth/account").status_code == 200


def test_remember_me_cookie_expires_on_the_server(app, client, make_user, monkeypatch):
    user = make_user()
    client.post("/auth/login", data={"email": user.email, "password": PASSWORD, "remember": "y"})
    cookie = client.get_cookie("remember_token").value
    lifetime = app.config["REMEMBER_COOKIE_DURATION"].total_seconds()

    from marketplace.auth import sessions

    real_now = sessions.utcnow

    def visit_at(offset):
        monkeypatch.setattr(sessions, "utcnow", lambda: real_now() + timedelta(seconds=offset))
        fresh = app.test_client()
        fresh.set_cookie("remember_token", cookie)
        try:
            return fresh.get("/auth/account").status_code
        finally:
            monkeypatch.setattr(sessions, "utcnow", real_now)

    assert visit_at(3600) == 200
    assert visit_at(lifetime + 3600) == 302


def test_logout_ends_the_session_for_every_copy_of_its_cookies(app, client, make_user):
    """A copied session cookie and the remember-me cookie still worked for up to 14 days after logout."""
    user = make_user()
    client.post("/auth/login", data={"email": user.email, "password": PASSWORD, "remember": "y"})
    copied = {name: client.get_cookie(name).value for name in ("session", "remember_token")}
    elsewhere = app.test_client()  # the same person on another computer
    elsewhere.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    assert client.post("/auth/logout").status_code == 302
    for name, value in copied.items():
        thief = app.test_client()
        thief.set_cookie(name, value)
        assert thief.get("/auth/account").status_code == 302, name  # sent to the login page
    assert elsewhere.get("/auth/account").status_code == 200  # only this login ended


def test_a_login_without_remember_me_ends_on_the_server_after_its_lifetime(app, client, make_user, monkeypatch):
    from marketplace.auth import sessions

    user = make_user()
    client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    cookie = client.get_cookie("session").value
    later = sessions.utcnow() + app.config["PERMANENT_SESSION_LIFETIME"] + timedelta(minutes=1)
    monkeypatch.setattr(sessions, "utcnow", lambda: later)
    copy = app.test_client()
    copy.set_cookie("session", cookie)
    assert copy.get("/auth/account").status_code == 302


def test_services_refuse_blank_names_whoever_calls(db):
    from marketplace.auth.permissions import SYSTEM
    from marketplace.common.errors import DomainError

    with pytest.raises(DomainError) as caught:
        services.create_user(
            SYSTEM, email="b@example.cn", password="Anquan-2026-bk", display_name="  ", role=Role.ADMIN
        )
    assert caught.value.field == "display_name"


def test_self_registration_is_attributed_to_the_new_account(client, db):
    registered(
        client,
        role="enterprise",
        display_name="郭峰",
        email="guofeng@example.cn",
        password="Anquan-2026-gf",
        confirm="Anquan-2026-gf",
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
