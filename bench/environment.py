"""What every benchmark shares: the production settings it runs the app with (a fresh work folder; the
database of ``BENCH_DATABASE_URL``, or a new SQLite file there), an empty schema to migrate, and how a
figure is read against its budget."""

import os

import sqlalchemy as sa


def production_env(work, schema=None):
    """The environment the benchmarked app (and its gunicorn workers) runs with, ``work`` its folder. On
    PostgreSQL, ``schema`` names a schema of its own for the register (the public one by default): a
    benchmark that keeps several registers at once gives each its own."""
    url = os.environ.get("BENCH_DATABASE_URL")
    if url and schema:
        url += ("&" if "?" in url else "?") + f"options=-csearch_path%3D{schema}"
    return dict(
        os.environ,
        MARKETPLACE_ENV="production",
        SECRET_KEY="bench-secret-key-not-for-use",
        DATABASE_URL=url or f"sqlite:///{work / 'bench.db'}",
        INSTANCE_PATH=str(work),
        SEARCH_INDEX_DIR=str(work / "index"),
        SESSION_COOKIE_SECURE="0",
        UPLOAD_FOLDER=str(work / "uploads"),
        PUBLIC_BASE_URL="https://aq.nantong.gov.cn",  # production refuses to start without it
        JOBS_URL=f"sqlite:///{work / 'jobs.sqlite'}",
    )


def empty_schema(db):
    """A PostgreSQL database's schema (the first of its search path) emptied before it is migrated (a SQLite
    file is new already)."""
    if db.engine.dialect.name == "postgresql":
        schema = _schema(db)
        db.session.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE; CREATE SCHEMA "{schema}"'))
        db.session.commit()


def drop_schema(db):
    """A register's own PostgreSQL schema dropped once a benchmark is done with it (the public one stays)."""
    if db.engine.dialect.name == "postgresql" and (schema := _schema(db)) != "public":
        db.session.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        db.session.commit()


def _schema(db):
    path = db.session.execute(sa.text("SHOW search_path")).scalar()
    first = path.split(",")[0].strip().strip('"')
    return "public" if first.startswith("$") else first


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
