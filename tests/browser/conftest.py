"""A live server in a subprocess (its own scratch database) and Debian's chromium via playwright.

Without /usr/bin/chromium these tests are skipped with the apt-get line to install it, unless
BROWSER_TESTS=required (as in CI), where a missing browser is a failure.
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from tests import dbutil

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
OUTPUT = Path(os.environ.get("TEST_OUTPUT_DIR", ROOT / "test-output")) / "browser"


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


PREPARE = """
import flask_migrate
from marketplace import create_app, search
app = create_app()
with app.app_context():
    flask_migrate.upgrade()
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    search.heal()
"""


class LiveServer:
    """The live server's database is migrated and seeded in a background thread from the moment the
    browser tests are collected, so the two subprocesses overlap the rest of the suite; the server
    itself starts when the first browser test needs it."""

    def __init__(self, folder):
        self.folder = folder
        self.scratch = dbutil.scratch_database(folder)
        self.url = self.scratch.__enter__()
        self.env = dict(
            os.environ,
            MARKETPLACE_ENV="development",
            DATABASE_URL=self.url,
            INSTANCE_PATH=str(folder),
            SECRET_KEY="live-server-test-key",
            FLASK_APP="wsgi",
            PYTHONWARNINGS="ignore",
        )
        self.flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
        self.failure = None
        self.prepared = threading.Thread(target=self._prepare, daemon=True)
        self.prepared.start()
        self.server = None

    def _prepare(self):
        # `flask db upgrade`, `seed-demo` and `search check` in one process: one start-up instead of three
        done = subprocess.run([sys.executable, "-c", PREPARE], cwd=ROOT, env=self.env, capture_output=True, text=True)
        if done.returncode:
            self.failure = f"preparing the live server failed:\n{done.stdout}\n{done.stderr}"

    def start(self):
        if self.server is None:
            self.prepared.join()
            if self.failure:
                raise RuntimeError(self.failure)
            port = _free_port()
            self.log = (self.folder / "server.log").open("w")
            self.server = subprocess.Popen(
                self.flask + ["run", "--host", "127.0.0.1", "--port", str(port)],
                cwd=ROOT,
                env=self.env,
                stdout=self.log,
                stderr=subprocess.STDOUT,
            )
            self.base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while True:
                try:
                    with urllib.request.urlopen(self.base + "/healthz", timeout=2) as response:
                        if response.status == 200:
                            break
                except OSError:
                    pass
                if self.server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("live server did not start:\n" + (self.folder / "server.log").read_text())
                time.sleep(0.1)
        return self.base

    def stop(self):
        self.prepared.join()
        if self.server is not None:
            self.server.terminate()
            self.server.wait(timeout=10)
            self.log.close()
        self.scratch.__exit__(None, None, None)


_live = {}


def pytest_collection_finish(session):
    """Start preparing the live server as soon as any browser test is selected (and can run). Under
    pytest-xdist every worker collects every test, so there the first browser test prepares it, while
    the other workers run the rest of the suite."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return
    if Path(CHROMIUM).exists() and any("tests/browser/" in item.nodeid for item in session.items):
        folder = Path(tempfile.mkdtemp(prefix="marketplace-live-"))
        _live["server"] = LiveServer(folder)


def pytest_sessionfinish(session, exitstatus):
    server = _live.pop("server", None)
    if server is not None:
        server.stop()


@pytest.fixture(scope="session")
def live_server(browser):
    if "server" not in _live:
        _live["server"] = LiveServer(Path(tempfile.mkdtemp(prefix="marketplace-live-")))
    return _live["server"].start()


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        message = "chromium not installed (apt-get install -y chromium fonts-wqy-microhei)"
        if os.environ.get("BROWSER_TESTS") == "required":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


_REPORTS = pytest.StashKey[dict]()


@pytest.fixture()
def page(browser, request):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10000)
    yield page
    call = request.node.stash.get(_REPORTS, {}).get("call")
    if call is not None and call.failed:  # keep what the browser showed, to see why
        folder = OUTPUT / request.node.name
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(folder / "failure.png"), full_page=True)
        (folder / "failure.html").write_text(f"<!-- {page.url} -->\n" + page.content(), encoding="utf-8")
    context.close()


@pytest.fixture()
def shot(request):
    """Save a full-page screenshot under test-output/browser/<test>/NN-<name>.png."""
    folder = OUTPUT / request.node.name
    folder.mkdir(parents=True, exist_ok=True)
    counter = {"n": 0}

    def take(page, name):
        counter["n"] += 1
        path = folder / f"{counter['n']:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
