"""The home page kept in memory for visitors without a session (issue 12): rendered once per change and
language, never stale whichever worker made the change, never anyone's own page."""

import contextlib
import re

import sqlalchemy as sa
from flask import template_rendered

from marketplace.auth.permissions import SYSTEM
from marketplace.auth.roles import Role
from marketplace.common.pagecache import PageCache
from marketplace.providers import notices
from marketplace.reference.models import County
from tests import factories
from tests.test_query_counts import counting


@contextlib.contextmanager
def rendering(app):
    """The templates rendered meanwhile."""
    rendered = []

    def note(sender, template, context, **extra):
        rendered.append(template.name)

    template_rendered.connect(note, app)
    try:
        yield rendered
    finally:
        template_rendered.disconnect(note, app)


def published_count(client, path="/?lang=en"):
    return int(re.search(r'id="published-count">(\d+)<', client.get(path).get_data(as_text=True)).group(1))


def test_a_visitor_is_served_the_kept_home_page_until_what_it_shows_changes(app, client, db, make_user, search_index):
    factories.publish(make_user(Role.AGENCY), n=51, name="南通首家安全技术有限公司")
    db.session.commit()
    assert published_count(client) == 1
    with counting(db.engine) as statements, rendering(app) as rendered:
        page = client.get("/?lang=en")
    assert page.status_code == 200 and 'id="published-count">1<' in page.get_data(as_text=True)
    assert rendered == []  # kept, not rendered again
    # only what the page depends on is read: the register's counter and the latest batch's id
    assert len(statements) <= 2, statements
    assert page.headers["Content-Security-Policy"]  # the per-request headers are set on a kept page too

    factories.publish(make_user(Role.AGENCY), n=52, name="南通第二安全技术有限公司")
    db.session.commit()  # as another worker's request would
    with rendering(app) as rendered:
        assert published_count(client) == 2
    assert rendered == ["site/home.html"]

    batch = notices.publish_batch(SYSTEM)
    db.session.commit()
    assert batch.batch_no in client.get("/?lang=en").get_data(as_text=True)

    county = db.session.scalars(sa.select(County).where(County.active).order_by(County.sort_order)).first()
    county.name_en = "Renamed District"
    db.session.commit()
    assert "Renamed District" in client.get("/?lang=en").get_data(as_text=True)


def test_each_language_has_its_own_kept_page(app, client, db):
    assert "可供企业选择" in client.get("/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    english = app.test_client()
    assert "agencies open to enterprises" in english.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    english.set_cookie("lang", "en")
    assert "agencies open to enterprises" in english.get("/").get_data(as_text=True)
    assert "可供企业选择" in app.test_client().get("/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)


def test_a_signed_in_user_or_a_visitor_with_a_session_gets_their_own_page_and_never_keeps_it(
    app, client, db, make_user, login_as
):
    visitor = app.test_client()
    assert "logout-button" not in visitor.get("/?lang=en").get_data(as_text=True)  # kept now
    user = make_user(Role.ENTERPRISE)
    login_as(user)
    with rendering(app) as rendered:
        own = client.get("/?lang=en").get_data(as_text=True)
    assert "logout-button" in own and rendered == ["site/home.html"]  # not the visitor's kept page
    assert "logout-button" not in visitor.get("/?lang=en").get_data(as_text=True)  # nor kept for visitors
    # logging out leads home with a message for that visitor only
    out = client.post("/auth/logout", follow_redirects=True).get_data(as_text=True)
    assert "logout-button" not in out
    flashed = re.findall(r'class="alert[^"]*"[^>]*>(.*?)<', out, re.S)
    if flashed:
        message = flashed[0].strip()
        assert message not in visitor.get("/?lang=en").get_data(as_text=True)


def test_the_kept_pages_stay_within_their_size_the_least_recently_used_going_first():
    cache = PageCache(capacity=100)
    cache.put("a", (b"x" * 40, "text/html"))
    cache.put("b", (b"y" * 40, "text/html"))
    assert cache.get("a") is not None  # now the most recently used
    cache.put("c", (b"z" * 40, "text/html"))
    assert cache.get("b") is None and cache.get("a") is not None and cache.get("c") is not None
    assert cache.size == 80
    cache.put("huge", (b"h" * 101, "text/html"))  # larger than the whole cache: not kept, nothing dropped
    assert cache.get("huge") is None and cache.size == 80
    cache.put("a", (b"w" * 10, "text/html"))  # a newer version of a page replaces it
    assert cache.get("a")[0] == b"w" * 10 and cache.size == 50


def test_the_cache_can_be_switched_off(app, client, db, make_user, search_index, monkeypatch):
    monkeypatch.setitem(app.config, "PAGE_CACHE_BYTES", 0)
    monkeypatch.delitem(app.extensions, "page_cache", raising=False)
    try:
        client.get("/?lang=en")
        with rendering(app) as rendered:
            client.get("/?lang=en")
        assert rendered == ["site/home.html"]
    finally:
        app.extensions.pop("page_cache", None)  # the next test's app makes its cache with the default size
