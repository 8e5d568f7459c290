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
from pathlib import Path

import flask_migrate
import pytest
from flask.testing import FlaskClient

from marketplace import create_app, search
from marketplace.common import pagecache
from marketplace.config import TestingConfig
from marketplace.extensions import db as _db
from marketplace.extensions import limiter
from marketplace.providers import directory
from marketplace.reference import cache
from tests import dbutil, live
from tests.browser.chromium import CHROMIUM

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


BROWSER_TESTS = Path(__file__).parent / "browser"
_TEMPLATE = pytest.StashKey[live.Template]()


def _may_run_browser_tests(config):
    """Whether this run may include the browser journeys (all tests, or some under tests/browser),
    so that their demo database is worth preparing before the tests are even collected."""
    if "not browser" in (config.option.markexpr or "") or not Path(CHROMIUM).exists():
        return False
    for arg in config.args or [str(BROWSER_TESTS.parent)]:
        path = Path(arg.split("::")[0]).resolve()
        if path == BROWSER_TESTS.parent or BROWSER_TESTS == path or BROWSER_TESTS in path.parents:
            return True
    return False


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session):
    """Prepare the live server's demo data in the background from the very start of the run, once: in
    pytest-xdist's controller (before its workers start, so they inherit where it is) or here."""
    if os.environ.get("PYTEST_XDIST_WORKER") or live.ENV_VAR in os.environ:
        return
    if _may_run_browser_tests(session.config):
        session.config.stash[_TEMPLATE] = live.Template()


def pytest_sessionfinish(session, exitstatus):
    template = session.config.stash.get(_TEMPLATE, None)
    if template is not None:
        template.close()


# Under pytest-xdist (--dist loadfile --no-loadscope-reorder) each file is one unit, handed to the
# next free worker in this order: the longest first, so that no worker is left with a long file at
# the end; the browser files after two long files that need no demo database, so that the demo
# database is ready (it is prepared in the background from the start) when they begin.
LONGEST_FIRST = (
    "tests/test_permissions.py",
    "tests/test_search.py",
    "tests/browser/test_journeys.py",
    "tests/browser/test_layout.py",
)


def pytest_collection_modifyitems(session, config, items):
    """In a single process the browser tests run last (their demo database is prepared meanwhile);
    under pytest-xdist the longest files go first (see LONGEST_FIRST)."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        items.sort(key=lambda item: "tests/browser/" in item.nodeid)
        return

    def rank(item):
        path = item.nodeid.split("::")[0]
        return LONGEST_FIRST.index(path) if path in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)


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
        # The limiter is one object for every app of the process, and an app built with
        # RATELIMIT_ENABLED=False (test_concurrent_writes) switches it off for all of them: each test
        # starts with the limiter as the suite's app is configured.
        limiter.enabled = app.config["RATELIMIT_ENABLED"]
        limiter.reset()
        cache.clear()  # counties and categories cached by an earlier, rolled-back test
        directory.forget_figures()  # the home page's figures, counted in an earlier, rolled-back test
        pagecache.clear()  # pages kept for visitors by an earlier, rolled-back test
        search.forget()  # what this worker keeps of the index, read in an earlier, rolled-back test
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
