"""/healthz, configuration from the environment, and the engine settings."""

import pytest

from marketplace import config
from marketplace.common import health


def test_healthz_reports_the_database(client, search_index):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] is True
    search = body["checks"]["search"]
    assert {k: search[k] for k in ("ok", "documents", "out_of_step", "format_current")} == {
        "ok": True,
        "documents": 0,
        "out_of_step": 0,
        "format_current": True,
    }
    assert "last_check" in search


def test_healthz_answers_without_reading_every_agency(client, search_index, monkeypatch):
    """/healthz compared every agency's version with the index's on each call (138 ms at 50,000
    agencies, paid every few seconds by a load balancer); the full comparison is `search check`'s."""
    from marketplace import search

    def full_comparison(*args, **kwargs):
        raise AssertionError("/healthz read every document's version")

    monkeypatch.setattr(search, "out_of_step", full_comparison)
    monkeypatch.setattr(type(search.source()), "versions", full_comparison)
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json()["checks"]["search"]["ok"] is True


def test_healthz_is_503_when_a_check_fails(client, monkeypatch):
    def broken():
        raise ConnectionError("database unreachable")

    monkeypatch.setitem(health._CHECKS, "database", broken)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["database"] == {"ok": False, "error": "ConnectionError"}


def test_healthz_is_503_when_the_database_is_unreachable(tmp_path, make_app):
    app = make_app(f"sqlite:///{tmp_path}/missing-dir/nothing.db")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["status"] == "unavailable"


@pytest.mark.parametrize("missing", ["SECRET_KEY", "DATABASE_URL", "PUBLIC_BASE_URL"])
def test_production_refuses_to_start_without_its_secrets(monkeypatch, missing):
    monkeypatch.setenv("SECRET_KEY", "s" * 40)
    monkeypatch.setenv("DATABASE_URL", "postgresql://db.internal/marketplace")
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://aq.example.gov.cn")
    monkeypatch.delenv(missing)
    with pytest.raises(RuntimeError, match=missing):
        config.ProductionConfig()


@pytest.mark.parametrize("value", ["aq.example.gov.cn", "ftp://aq.example.gov.cn", "https://", "https://x.cn/?a=1"])
def test_production_refuses_a_public_address_that_is_not_one(monkeypatch, value):
    monkeypatch.setenv("SECRET_KEY", "s" * 40)
    monkeypatch.setenv("DATABASE_URL", "postgresql://db.internal/marketplace")
    monkeypatch.setenv("PUBLIC_BASE_URL", value)
    with pytest.raises(RuntimeError, match="PUBLIC_BASE_URL must be"):
        config.ProductionConfig()


def test_production_cookies_are_secure(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "s" * 40)
    monkeypatch.setenv("DATABASE_URL", "postgres://u@db.internal/marketplace")
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://aq.example.gov.cn/")
    cfg = config.ProductionConfig()
    assert cfg.PUBLIC_BASE_URL == "https://aq.example.gov.cn"
    assert cfg.SESSION_COOKIE_SECURE and cfg.REMEMBER_COOKIE_SECURE
    assert cfg.SESSION_COOKIE_HTTPONLY and cfg.SESSION_COOKIE_SAMESITE == "Lax"
    assert cfg.SQLALCHEMY_DATABASE_URI == "postgresql+psycopg://u@db.internal/marketplace"


def test_environment_selects_the_configuration(monkeypatch, tmp_path):
    monkeypatch.setenv("MARKETPLACE_ENV", "testing")
    assert isinstance(config.config_from_env(), config.TestingConfig)
    monkeypatch.setenv("MARKETPLACE_ENV", "staging")
    with pytest.raises(RuntimeError, match="Unknown MARKETPLACE_ENV"):
        config.config_from_env()


def test_development_uses_sqlite_under_instance_and_keeps_its_key(monkeypatch, tmp_path):
    monkeypatch.setattr(config, "INSTANCE_DIR", tmp_path)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first, second = config.DevelopmentConfig(), config.DevelopmentConfig()
    assert first.SQLALCHEMY_DATABASE_URI == f"sqlite:///{tmp_path / 'marketplace.db'}"
    assert first.SECRET_KEY == second.SECRET_KEY and len(first.SECRET_KEY) == 64


def test_foreign_keys_are_enforced_on_every_engine(db):
    from sqlalchemy.exc import IntegrityError

    from marketplace.auth.models import User

    with pytest.raises(IntegrityError):
        with db.session.begin_nested():
            db.session.add(
                User(email="fk@example.cn", password_hash="x", display_name="x", role="agency", county_id=999999)
            )
            db.session.flush()


def test_rate_limit_storage_comes_from_config(monkeypatch):
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379/3")
    import importlib

    reloaded = importlib.reload(config)
    try:
        assert reloaded.BaseConfig.RATELIMIT_STORAGE_URI == "redis://127.0.0.1:6379/3"
    finally:
        monkeypatch.delenv("RATELIMIT_STORAGE_URI")
        importlib.reload(config)


def test_login_limit_can_live_in_redis(database_url, make_app):
    """Several workers share one count when RATELIMIT_STORAGE_URI points at Redis."""
    import os

    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        pytest.skip("set TEST_REDIS_URL (CI does) to test the Redis-backed limiter")
    from marketplace.extensions import limiter

    # The limiter is one object shared by every app built in this process: put back the
    # in-memory storage afterwards so the rest of the suite does not count in Redis.
    previous = limiter._storage, limiter._limiter
    app = make_app(database_url, RATELIMIT_STORAGE_URI=url, LOGIN_RATE_LIMIT="2 per minute")
    try:
        with app.app_context():
            limiter.reset()
        client = app.test_client()
        codes = [
            client.post("/auth/login", data={"email": "r@example.cn", "password": "x"}).status_code for _ in range(3)
        ]
        assert codes == [200, 200, 429]
        assert "redis" in type(limiter.storage).__name__.lower()
    finally:
        with app.app_context():
            limiter.reset()
        limiter._storage, limiter._limiter = previous
