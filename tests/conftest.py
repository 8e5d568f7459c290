"""Fixtures: one migrated database per run; each test runs in a transaction that is rolled back."""

import re
import tempfile

import flask_migrate
import pytest
from flask.globals import _cv_app
from flask.testing import FlaskClient
from flask_sqlalchemy.session import _app_ctx_id
from sqlalchemy.orm import scoped_session, sessionmaker

from config import TestingConfig
from marketplace import create_app, search
from marketplace.common import reference
from marketplace.extensions import db as _db
from marketplace.extensions import limiter
from tests import dbutil

PASSWORD = "Safe-Passw0rd-2026"


UPLOADS = tempfile.mkdtemp(prefix="marketplace-test-uploads-")


def make_config(database_url, **overrides):
    class Config(TestingConfig):
        def __init__(self):
            self.SQLALCHEMY_DATABASE_URI = database_url
            self.UPLOAD_FOLDER = UPLOADS
            self.SEARCH_INDEX_DIR = tempfile.mkdtemp(prefix="marketplace-test-index-")
            self.SEARCH_HEAL_ON_START = False
            for key, value in overrides.items():
                setattr(self, key, value)

    return Config


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    url = dbutil.server_url()
    if url is None:
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    dbutil.reset_schema(url)
    return url


class IsolatedClient(FlaskClient):
    """A test client whose every request gets its own application context (its own ``g`` and
    database session), as in a real server, even though the test body holds one."""

    def open(self, *args, **kwargs):
        token = _cv_app.set(None)
        try:
            return super().open(*args, **kwargs)
        finally:
            _cv_app.reset(token)


@pytest.fixture(scope="session")
def app(database_url):
    app = create_app(make_config(database_url))
    app.test_client_class = IsolatedClient
    with app.app_context():
        flask_migrate.upgrade()
        search.reindex()  # an empty index in step with the empty database
    yield app


@pytest.fixture()
def make_app():
    """Build an extra application for one test; its connections are closed when the test ends."""
    built = []

    def make(database_url, **overrides):
        extra = create_app(make_config(database_url, **overrides))
        built.append(extra)
        return extra

    yield make
    for extra in built:
        for engine in _db._app_engines.get(extra, {}).values():
            engine.dispose()


@pytest.fixture(scope="session", autouse=True)
def _dispose_engines():
    """Close every pooled connection of every app the tests built, so none is left to the GC."""
    yield
    for engines in list(_db._app_engines.values()):
        for engine in engines.values():
            engine.dispose()


@pytest.fixture()
def db(app):
    """The database inside an outer transaction; commits in the code under test become
    savepoints, and everything is rolled back when the test ends."""
    with app.app_context():
        connection = _db.engine.connect()
        transaction = connection.begin()
        original = _db.session
        _db.session = scoped_session(
            sessionmaker(bind=connection, join_transaction_mode="create_savepoint"),
            scopefunc=_app_ctx_id,
        )
        limiter.reset()
        reference.clear()  # counties and categories cached by an earlier, rolled-back test
        try:
            yield _db
        finally:
            reference.clear()
            _db.session.remove()
            _db.session = original
            transaction.rollback()
            connection.close()


@pytest.fixture()
def search_index(app, db):
    """A fresh, empty index for one test (the database is rolled back after each test; the index,
    being a folder, is not, so tests that search start from nothing)."""
    search.backend().create()
    return search.backend()


@pytest.fixture()
def client(app, db):
    return app.test_client()


@pytest.fixture()
def runner(app, db):
    return app.test_cli_runner()


@pytest.fixture()
def login_as(client):
    """Log the test client in as ``user`` through the real login form."""

    def login(user, password=PASSWORD):
        response = client.post("/auth/login", data={"email": user.email, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return response

    return login


@pytest.fixture()
def csrf_app(app):
    """The same application with CSRF protection switched on for one test."""
    app.config["WTF_CSRF_ENABLED"] = True
    yield app
    app.config["WTF_CSRF_ENABLED"] = False


def collect_test_client_spool():
    """Werkzeug's test client spools large multipart bodies to a temporary file it never closes;
    collect it here, where that is expected, rather than let a ResourceWarning fail a later test."""
    import gc
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


def csrf_token(html):
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def field_error(html, field_id):
    """The error text shown beside a field (``None`` when there is none)."""
    match = re.search(rf'id="{re.escape(field_id)}-error"[^>]*>(.*?)</div>', html, re.S)
    return match.group(1).strip() if match else None


# Factories reach the database through the per-test session.
pytest_plugins = ["tests.factories"]
