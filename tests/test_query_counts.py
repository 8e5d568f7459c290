"""Pages run a bounded number of SQL statements whatever the number of rows (no N+1)."""

import contextlib

import sqlalchemy as sa
from sqlalchemy import event

from marketplace import search
from marketplace.auth.permissions import SYSTEM
from marketplace.auth.roles import Role
from marketplace.common import pagecache
from marketplace.providers import directory, notices
from marketplace.reference import cache
from tests import factories


@contextlib.contextmanager
def counting(engine):
    statements = []

    def count(conn, cursor, statement, *args):
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def statements_for(client, db, url):
    cache.clear()  # count the statements that load the cached counties and categories too
    directory.forget_figures()  # and those that count the home page's figures: the worst case
    pagecache.clear()  # and a page rendered, not one kept for visitors
    search.forget()  # and those that read the search index's per-document values
    with counting(db.engine) as statements:
        assert client.get(url).status_code == 200
    return len(statements)


def test_directory_profile_and_notice_pages_do_not_grow_with_rows(client, db, make_user):
    def add(start, count):
        made = []
        for n in range(start, start + count):
            user = make_user(Role.AGENCY)
            provider, _ = factories.publish(
                user, n=n, categories=("se_chemicals", "consulting", "training"), regions=("320613", "320612", "320614")
            )
            factories.add_qualification(user, provider)
            made.append(provider)
        return made

    first = add(100, 3)
    batch = notices.publish_batch(SYSTEM)
    pages = ["/providers", f"/providers/{first[0].id}", f"/notices/{batch.batch_no}", "/notices", "/"]
    before = {url: statements_for(client, db, url) for url in pages}
    add(200, 12)
    batch = notices.publish_batch(SYSTEM)
    after = {url: statements_for(client, db, url.replace(pages[2].split("/")[-1], batch.batch_no)) for url in pages}
    assert after == before, (before, after)
    assert max(after.values()) <= 15


def test_engagement_pages_do_not_grow_with_engagements(app, db, make_user):
    """At 10 and at 1,000 engagements each list page runs the same number of statements."""
    from datetime import timedelta

    from marketplace.common.time import local_today, utcnow
    from marketplace.engagements.models import Engagement, Rating, Report, SiteNotice
    from tests.conftest import PASSWORD

    agency_user = make_user(Role.AGENCY)
    provider, _ = factories.publish(agency_user, n=901, categories=("se_chemicals", "consulting"))
    factories.add_staff(agency_user, provider)
    client_user = make_user(Role.ENTERPRISE)
    enterprise = factories.make_enterprise(client_user, n=31)
    regulator = make_user(Role.COUNTY_REGULATOR, county=factories.county("320613"))
    db.session.commit()
    category = factories.category("se_chemicals")

    def add(count, start):
        now, today = utcnow(), local_today()
        rows = [
            dict(
                enterprise_id=enterprise.id,
                provider_id=provider.id,
                category_id=category.id,
                county_id=enterprise.county_id,
                status="completed" if n % 2 else "in_progress",
                scope="安全评价",
                site_address="南通",
                expected_start=today,
                expected_end=today,
                warnings_confirmed=[],
                quote_note="",
                closing_reason="",
                conflict=n % 7 == 0,
                conflict_with=[],
                created_at=now,
                updated_at=now,
                completed_at=now,
            )
            for n in range(start, start + count)
        ]
        db.session.execute(sa.insert(Engagement), rows)
        ids = db.session.scalars(sa.select(Engagement.id).order_by(Engagement.id.desc()).limit(count)).all()
        db.session.execute(
            sa.insert(Report),
            [
                dict(
                    engagement_id=i,
                    provider_id=provider.id,
                    report_no=f"Q-{i}",
                    title="报告",
                    issued_on=today,
                    provider_name=provider.name,
                    enterprise_name=enterprise.name,
                    category_name="安全评价",
                    created_at=now,
                )
                for i in ids
            ],
        )
        db.session.execute(
            sa.insert(Rating),
            [
                dict(
                    engagement_id=i,
                    provider_id=provider.id,
                    enterprise_id=enterprise.id,
                    score=4,
                    text="好",
                    reply="",
                    hidden_reason="",
                    created_at=now,
                )
                for i in ids[::2]
            ],
        )
        db.session.execute(
            sa.insert(SiteNotice),
            [
                dict(
                    engagement_id=i,
                    county_id=enterprise.county_id,
                    onsite_from=today + timedelta(days=1),
                    onsite_to=today + timedelta(days=2),
                    address="南通",
                    team=[{"name": "陈工", "title": "", "cert_number": ""}],
                    note="",
                    filed_at=now,
                )
                for i in ids
            ],
        )
        db.session.commit()

    def count_pages(user, urls):
        client = app.test_client()
        client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
        return {url: statements_for(client, db, url) for url in urls}

    pages = {
        client_user: ["/engagements", "/engagements/dashboard", "/engagements?status=completed&q=南通"],
        agency_user: ["/engagements", "/engagements/dashboard"],
        regulator: ["/engagements", "/engagements/dashboard", "/engagements/site-notices", "/engagements?conflict=y"],
    }
    add(10, 0)
    before = {(u.id, url): n for u, urls in pages.items() for url, n in count_pages(u, urls).items()}
    before_profile = statements_for(app.test_client(), db, f"/providers/{provider.id}")
    add(990, 10)
    after = {(u.id, url): n for u, urls in pages.items() for url, n in count_pages(u, urls).items()}
    assert after == before
    assert statements_for(app.test_client(), db, f"/providers/{provider.id}") == before_profile
    assert max(after.values()) <= 25
