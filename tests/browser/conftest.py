"""A live server (``tests.live``) and Debian's chromium via playwright.

Without /usr/bin/chromium these tests are skipped with the apt-get line to install it, unless
BROWSER_TESTS=required (as in CI), where a missing browser is a failure.
"""

import os
from pathlib import Path

import pytest

from tests import live
from tests.browser.chromium import CHROMIUM

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = Path(os.environ.get("TEST_OUTPUT_DIR", ROOT / "test-output")) / "browser"


@pytest.fixture(scope="session")
def live_server(browser):
    """The demo site, served from this process's copy of the run's prepared demo database."""
    template = live.Template() if live.ENV_VAR not in os.environ else None  # not prepared at the start
    server = live.LiveServer()
    yield server.base
    server.close()
    if template is not None:
        template.close()


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
    refused = []  # what the Content-Security-Policy blocked: an inline script or style left somewhere
    page.on(
        "console",
        lambda message: refused.append(message.text) if "Content Security Policy" in message.text else None,
    )
    yield page
    assert not refused, "the page did something its Content-Security-Policy forbids:\n" + "\n".join(refused)
    call = request.node.stash.get(_REPORTS, {}).get("call")
    if call is not None and call.failed:  # keep what the browser showed, to see why
        folder = OUTPUT / request.node.name
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(folder / "failure.png"), full_page=True)
        (folder / "failure.html").write_text(f"<!-- {page.url} -->\n" + page.content(), encoding="utf-8")
    context.close()


@pytest.fixture()
def shot(request):
    """Save a screenshot of what the window shows under test-output/browser/<test>/NN-<name>.png (the
    whole page with ``full_page=True``: several times the cost; a failing test keeps its whole page)."""
    folder = OUTPUT / request.node.name
    folder.mkdir(parents=True, exist_ok=True)
    counter = {"n": 0}

    def take(page, name, full_page=False):
        counter["n"] += 1
        path = folder / f"{counter['n']:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path

    return take
