"""Scratch databases for tests that need a whole database of their own (migrations, live server)."""

import contextlib
import os
import uuid

import sqlalchemy as sa

from marketplace.config import normalise_database_url


def server_url():
    """The PostgreSQL database under test, or None when the suite runs on SQLite. Each pytest-xdist
    worker gets a database of its own beside the one named (``test_gw0``, ``test_gw1`` …)."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        return None
    url = normalise_database_url(url)
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    base = sa.engine.make_url(url)
    name = f"{base.database}_{worker}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}):
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


@contextlib.contextmanager
def scratch_database(tmp_path):
    """Yield the URL of a new, empty database of the engine under test; drop it afterwards."""
    base = server_url()
    if base is None:
        yield f"sqlite:///{tmp_path / ('scratch-' + uuid.uuid4().hex[:8] + '.db')}"
        return
    name = "scratch_" + uuid.uuid4().hex[:12]
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield sa.engine.make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def reset_schema(url):
    """Empty the PostgreSQL database at ``url`` (the suite's own database) before migrating it."""
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()
