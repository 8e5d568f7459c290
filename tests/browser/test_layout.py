"""The layout holds at the widths people use: a laptop (1366 px) for every role and language, and a
phone (390 px). Measured in the browser, not guessed from the CSS; screenshots go with them."""

import pytest

from marketplace.auth.demo import DEMO_DOMAIN, DEMO_PASSWORD
from tests.browser.conftest import OUTPUT

pytestmark = pytest.mark.browser

NAV = """() => {
  const bar = document.querySelector("nav.navbar").getBoundingClientRect();
  const links = [...document.querySelectorAll("nav.navbar .nav-link")].filter(a => a.offsetParent !== null);
  return {bar: bar.height, tallest: Math.max(...links.map(a => a.getBoundingClientRect().height)),
          line: parseFloat(getComputedStyle(links[0]).lineHeight), count: links.length};
}"""


def _log_in(page, live_server, who, lang):
    page.goto(f"{live_server}/auth/login?lang={lang}")
    page.locator("#email").fill(f"{who}@{DEMO_DOMAIN}")
    page.locator("#password").fill(DEMO_PASSWORD)
    page.locator("button[type=submit]").first.click()
    page.wait_for_url(lambda url: "/auth/login" not in url)


@pytest.mark.parametrize("who", ["city", "admin", "chongchuan", "agency1", "enterprise1"])
def test_the_navigation_is_one_row_on_a_laptop(browser, live_server, who):
    """The navigation wrapped into broken words at 1366 px for city, admin and English users."""
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    page = context.new_page()
    _log_in(page, live_server, who, "zh")
    measured = {}
    for lang in ("zh", "en"):
        page.goto(f"{live_server}/?lang={lang}")
        measured[lang] = page.evaluate(NAV)
        OUTPUT.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(OUTPUT / f"nav-{who}-{lang}.png"), clip={"x": 0, "y": 0, "width": 1366, "height": 120})
    context.close()
    for lang, sizes in measured.items():
        assert sizes["tallest"] <= sizes["line"] * 1.9 + 16, (lang, sizes)  # no label wraps to a second line
        assert sizes["bar"] <= 72, (lang, sizes)  # one row


def test_a_phone_sees_the_brand_the_menu_button_and_a_table_it_can_read(browser, live_server, shot):
    """At 390 px the brand overflowed the screen and the batch table fell to one character per line."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True)
    page = context.new_page()
    page.goto(f"{live_server}/?lang=zh")
    sizes = page.evaluate("""() => ({
      width: document.documentElement.clientWidth,
      page: document.documentElement.scrollWidth,
      brand: document.querySelector(".navbar-brand").getBoundingClientRect().right,
      toggler: document.querySelector(".navbar-toggler").getBoundingClientRect().right})""")
    shot(page, "phone-home")
    assert sizes["brand"] <= sizes["width"] and sizes["toggler"] <= sizes["width"], sizes
    assert sizes["page"] <= sizes["width"], sizes  # nothing pushes the page sideways
    page.goto(f"{live_server}/notices?lang=zh")
    page.locator("tbody a").first.click()
    page.locator("#batch-table").wait_for()
    page.wait_for_load_state("load")  # the stylesheet applies before anything is measured
    cells = page.evaluate("""() => [...document.querySelectorAll("#batch-table th")].map(
      th => ({text: th.innerText, width: th.getBoundingClientRect().width, height: th.getBoundingClientRect().height}))""")
    shot(page, "phone-batch")
    line = page.evaluate("() => parseFloat(getComputedStyle(document.querySelector('#batch-table th')).lineHeight)")
    context.close()
    for cell in cells:
        assert cell["height"] <= line * 2 + 12, cell  # a heading reads on one or two lines, not a character a line
