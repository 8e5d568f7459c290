"""Pages run a bounded number of SQL statements whatever the number of rows (no N+1)."""

import contextlib

from sqlalchemy import event

from marketplace.auth.permissions import SYSTEM
from marketplace.auth.roles import Role
from marketplace.common import reference
from marketplace.providers import notices
from tests import helpers


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
    reference.clear()  # count the statements that load the cached counties and categories too
    with counting(db.engine) as statements:
        assert client.get(url).status_code == 200
    return len(statements)


def test_directory_profile_and_notice_pages_do_not_grow_with_rows(client, db, make_user):
    def add(start, count):
        made = []
        for n in range(start, start + count):
            user = make_user(Role.AGENCY)
            provider, _ = helpers.publish(user, n=n, categories=("se_chemicals", "consulting", "training"),
                                          regions=("320613", "320612", "320614"))
            helpers.add_qualification(user, provider)
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
