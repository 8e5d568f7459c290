"""Fixtures: one migrated database per run; one connection and transaction per test module, in which
a module may build a shared world once; a savepoint per test, rolled back when it ends.

Every session the code under test opens (the test body's, each request's) joins the module's
connection through a savepoint of its own, so a ``commit()`` in the code under test releases that
savepoint and is undone with the test's. Only public APIs of Flask, Flask-SQLAlchemy and SQLAlchemy
are used: ``scoped_session.configure(bind=...)``, which the app's ``extensions.Session`` honours.
"""

import contextlib
import contextvars
import os
import re
import tempfile

import flask_migrate
import pytest
from flask.testing import FlaskClient

from marketplace import create_app, search
from marketplace.config import TestingConfig
from marketplace.extensions import db as _db
from marketplace.extensions import limiter
from marketplace.reference import cache
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


class IsolatedClient(FlaskClient):
    """A test client whose every request runs in a fresh context (its own application context, ``g``
    and database session), as in a real server, even though the test body holds one."""

    def open(self, *args, **kwargs):
        return contextvars.Context().run(super().open, *args, **kwargs)


def pytest_collection_modifyitems(session, config, items):
    """The browser journeys, the slowest group, start first under pytest-xdist (one worker takes them
    while the others run the rest) and last in a single process (their live server is migrated and
    seeded in the background meanwhile)."""
    parallel = bool(os.environ.get("PYTEST_XDIST_WORKER"))
    items.sort(key=lambda item: ("tests/browser/" in item.nodeid) != parallel)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    url = dbutil.server_url()
    if url is None:
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    dbutil.reset_schema(url)
    return url


@pytest.fixture(scope="session")
def app(database_url):
    app = create_app(make_config(database_url))
    app.test_client_class = IsolatedClient
    with app.app_context():
        flask_migrate.upgrade()
        search.reindex()  # an empty index in step with the empty database
    yield app
    with app.app_context():
        _db.session.remove()
        for engine in _db.engines.values():
            engine.dispose()


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
        with extra.app_context():
            for engine in _db.engines.values():
                engine.dispose()


@pytest.fixture(scope="module")
def module_db(app):
    """The module's connection and transaction: what a module builds here is shared by its tests and
    rolled back after the last one."""
    with app.app_context():
        connection = _db.engine.connect()
        outer = connection.begin()
        _db.session.remove()
        _db.session.configure(bind=connection, join_transaction_mode="create_savepoint")
    try:
        yield connection
    finally:
        with app.app_context():
            _db.session.remove()
            _db.session.configure(bind=None, join_transaction_mode="conditional_savepoint")
        outer.rollback()
        connection.close()


@contextlib.contextmanager
def building(app):
    """Build a module's shared world: commit what the block makes into the module's transaction."""
    with app.app_context():
        try:
            yield _db
            _db.session.commit()
        finally:
            _db.session.remove()


@pytest.fixture()
def db(app, module_db):
    """The database inside a savepoint of the module's transaction, rolled back when the test ends."""
    with app.app_context():
        savepoint = module_db.begin_nested()
        limiter.reset()
        cache.clear()  # counties and categories cached by an earlier, rolled-back test
        try:
            yield _db
        finally:
            _db.session.remove()
            cache.clear()
            if savepoint.is_active:
                savepoint.rollback()


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
