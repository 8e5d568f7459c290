"""What every benchmark shares: the production settings it runs the app with (a fresh work folder; the
database of ``BENCH_DATABASE_URL``, or a new SQLite file there), an empty schema to migrate, and how a
figure is read against its budget."""

import os

import sqlalchemy as sa


def production_env(work):
    """The environment the benchmarked app (and its gunicorn workers) runs with, ``work`` its folder."""
    return dict(
        os.environ,
        MARKETPLACE_ENV="production",
        SECRET_KEY="bench-secret-key-not-for-use",
        DATABASE_URL=os.environ.get("BENCH_DATABASE_URL", f"sqlite:///{work / 'bench.db'}"),
        INSTANCE_PATH=str(work),
        SEARCH_INDEX_DIR=str(work / "index"),
        SESSION_COOKIE_SECURE="0",
        UPLOAD_FOLDER=str(work / "uploads"),
        PUBLIC_BASE_URL="https://aq.nantong.gov.cn",  # production refuses to start without it
        JOBS_URL=f"sqlite:///{work / 'jobs.sqlite'}",
    )


def empty_schema(db):
    """A PostgreSQL database emptied before it is migrated (a SQLite file is new already)."""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        db.session.commit()


def analysed(db):
    """PostgreSQL's planner statistics for the register just generated, as autovacuum would gather them
    after a bulk load on a live server (a server run with autovacuum off, like this machine's, has none:
    the planner then read 300,000 ratings through their date index for one agency's profile, 150 ms)."""
    if db.engine.dialect.name == "postgresql":
        db.session.commit()
        db.session.execute(sa.text("ANALYZE"))
        db.session.commit()


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def verdict(met):
    return " (met)" if met else " (**not met**)"
