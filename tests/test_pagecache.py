"""The home page kept in memory for visitors without a session (issue 12): rendered once per change and
language, never stale whichever worker made the change, never anyone's own page."""

import contextlib
import re

import flask_migrate
import pytest
import sqlalchemy as sa
from flask import template_rendered

from marketplace import create_app, extensions
from marketplace.auth.permissions import SYSTEM
from marketplace.auth.roles import Role
from marketplace.common.pagecache import PageCache
from marketplace.providers import notices
from marketplace.reference.models import County
from tests import dbutil, factories
from tests.conftest import make_config
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


def test_a_visitor_is_served_the_kept_profile_until_anything_it_shows_changes(app, client, db, make_user):
    """An agency's profile is kept per agency: an edit of another agency keeps it; its own edit, a new
    rating of it, its reply to the rating, the rating enterprise renamed, a qualification of it added,
    each shows at once."""
    from marketplace.engagements import ratings
    from marketplace.engagements import services as engagements
    from marketplace.enterprises import services as enterprises

    agency = make_user(Role.AGENCY)
    provider, _ = factories.publish(
        agency, n=61, name="南通初见安全技术有限公司", categories=("se_chemicals",), regions=("320613",)
    )
    factories.add_staff(agency, provider)
    other_user = make_user(Role.AGENCY)
    other, _ = factories.publish(other_user, n=62, name="南通旁人安全技术有限公司")
    client_user = make_user(Role.ENTERPRISE)
    enterprise = factories.make_enterprise(client_user, n=3, name="南通初评化工有限公司")
    db.session.commit()
    path = f"/providers/{provider.id}?lang=en"

    def profile():
        with rendering(app) as rendered:
            text = client.get(path).get_data(as_text=True)
        return text, rendered

    assert "南通初见安全技术有限公司" in profile()[0]
    assert profile()[1] == []  # kept

    factories.redeclare(other_user, other, description="另一家机构的新介绍。")
    db.session.commit()
    assert profile()[1] == []  # another agency's edit keeps this profile

    factories.redeclare(agency, provider, description="我们新增了职业卫生检测服务。")
    db.session.commit()
    text, rendered = profile()
    assert "我们新增了职业卫生检测服务" in text and rendered == ["providers/detail.html"]

    engagement = factories.request(client_user, provider)
    factories.advance(engagement, client_user, agency, to="in_progress")
    engagements.issue_report(agency, engagement, report_no="R-61", title="报告", issued_on=factories.soon(0))
    engagements.confirm_completion(client_user, engagement)
    rating = ratings.rate(client_user, engagement, score=5, text="报告扎实，响应及时。")
    db.session.commit()
    assert "报告扎实，响应及时。" in profile()[0]
    ratings.reply(agency, rating, "感谢认可，我们会继续努力。")  # the rating's own row, not the agency's
    db.session.commit()
    assert "感谢认可，我们会继续努力。" in profile()[0]

    enterprises.save_profile(
        client_user,
        enterprise,
        uscc=enterprise.uscc,
        name="南通改名化工有限公司",
        county_id=enterprise.county_id,
        address=enterprise.address,
        industry=enterprise.industry,
        hazard_class=enterprise.hazard_class.value,
        contact_person=enterprise.contact_person,
        phone=enterprise.phone,
    )
    db.session.commit()
    text = profile()[0]
    assert "南通改名化工有限公司" in text and "南通初评化工有限公司" not in text

    factories.add_qualification(agency, provider)
    db.session.commit()
    assert profile()[1] == ["providers/detail.html"]


def test_a_kept_profile_follows_a_new_pledge_version_and_the_end_of_its_grace_period(
    app, client, db, make_user, monkeypatch
):
    """The pledge's standing on a profile changes with no record of the agency changing: when a new
    version is issued (re-sign requested), and again when its grace period ends (outdated)."""
    from datetime import timedelta

    from marketplace.common.time import utcnow
    from marketplace.pledges import services as pledges

    provider, _ = factories.publish(make_user(Role.AGENCY), n=63, name="南通守约安全技术有限公司")
    admin = make_user(Role.ADMIN)
    db.session.commit()
    path = f"/providers/{provider.id}?lang=en"
    assert "Pledge outdated" not in client.get(path).get_data(as_text=True)

    current = pledges.current_text()
    draft = pledges.save_draft_text(
        admin,
        None,
        title_zh=current.title_zh,
        title_en=current.title_en,
        clauses_zh=[c["zh"] for c in current.clauses],
        clauses_en=[c["en"] for c in current.clauses],
    )
    pledges.issue_text(admin, draft)
    db.session.commit()
    with rendering(app) as rendered:
        client.get(path)
    assert rendered == ["providers/detail.html"]  # a new version in force: rendered afresh

    later = utcnow() + timedelta(days=app.config["PLEDGE_GRACE_DAYS"] + 1)
    monkeypatch.setattr(pledges, "utcnow", lambda: later)
    assert "Pledge outdated" in client.get(path).get_data(as_text=True)


def test_a_directory_page_is_kept_until_an_agency_on_it_or_its_counts_change(app, client, db, make_user, search_index):
    """A directory page is kept with the agencies on it at their versions: an edit of an agency on another
    page keeps it; an edit of one on it, or a new agency that changes its counts, shows at once."""

    users = [make_user(Role.AGENCY) for _ in range(3)]
    first, _ = factories.publish(users[0], n=71, name="南通甲安全技术有限公司", regions=("320613",))
    second, _ = factories.publish(users[1], n=72, name="南通乙安全技术有限公司", regions=("320612",))
    db.session.commit()
    county = factories.county("320613").id
    path = f"/providers?county={county}&lang=en"

    def page():
        with rendering(app) as rendered:
            text = client.get(path).get_data(as_text=True)
        return text, rendered

    assert "南通甲安全技术有限公司" in page()[0] and "南通乙安全技术有限公司" not in page()[0]
    assert page()[1] == []  # kept

    def rename(user, provider, name):
        factories.redeclare(user, provider, name=name)
        db.session.commit()

    rename(users[1], second, "南通乙改名安全技术有限公司")
    assert page()[1] == []  # not on this page: kept

    rename(users[0], first, "南通甲改名安全技术有限公司")
    text, rendered = page()
    assert rendered == ["providers/index.html"] and "南通甲改名安全技术有限公司" in text

    factories.publish(users[2], n=73, name="南通丙安全技术有限公司", regions=("320613",))
    db.session.commit()
    assert "南通丙安全技术有限公司" in page()[0]


@pytest.mark.skipif(dbutil.server_url() is None, reason="PostgreSQL's round trips (SQLite's BEGIN costs none)")
def test_a_kept_page_reads_what_it_depends_on_outside_a_transaction_on_postgresql(tmp_path, monkeypatch):
    """A kept page's reads cost BEGIN and ROLLBACK, two of its four round trips to PostgreSQL (0.6 of a
    profile page's 2.7 ms at 50,000 agencies): they run without a transaction; a page made afresh still
    reads in one. A server of its own: the suite's savepoints are a transaction already."""
    from marketplace.common import database

    with dbutil.scratch_database(tmp_path) as url:
        app = create_app(make_config(url))
        reads, fetch_all = [], database.fetch_all

        def noted(sql, params=()):
            reads.append(extensions.db.session.connection().connection.dbapi_connection.autocommit)
            return fetch_all(sql, params)

        monkeypatch.setattr(database, "fetch_all", noted)
        with app.app_context():
            flask_migrate.upgrade()
            extensions.db.session.remove()
        client = app.test_client()  # each request in an app context of its own, as served
        with rendering(app) as rendered:
            first = client.get("/?lang=en")
            made = list(reads)
            reads.clear()
            again = client.get("/?lang=en")
        assert first.status_code == again.status_code == 200 and again.data == first.data
        assert rendered == ["site/home.html"]  # the second was kept
        assert reads and all(reads)  # kept: every read outside a transaction
        assert made[: len(reads)] == [True] * len(reads) and False in made  # made afresh: in one
        with app.app_context():
            extensions.db.engine.dispose()
