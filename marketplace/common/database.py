"""Engine-level settings that hold for every connection, and what a database that stayed busy means.

SQLite is run as a server database needs when several workers share it: a write-ahead log (readers
never wait for a writer, nor a writer for readers), a busy timeout (a writer waits its turn instead of
failing at once), foreign keys enforced, and each request that may write takes the write lock when its
transaction begins (``BEGIN IMMEDIATE``): a transaction that read first and then tried to write would
otherwise fail at once whenever another worker wrote meanwhile, since waiting cannot help it. Reads
(GET and HEAD requests) begin deferred and so run side by side.

When the lock is still not free after the timeout (or PostgreSQL gives up a lock or a serialisation),
the request fails with :func:`is_busy` true; the error handlers turn it into a "try again" answer that
keeps what was typed, never a 500.
"""

import re
import sqlite3
from datetime import datetime

from flask import current_app, g, has_app_context, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from marketplace.common.models import UTCDateTime
from marketplace.extensions import db

DEFAULT_BUSY_TIMEOUT = 10.0  # seconds; SQLITE_BUSY_TIMEOUT in the environment overrides it
READING_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# SQLite: SQLITE_BUSY, SQLITE_LOCKED (primary result codes); PostgreSQL: serialization_failure,
# deadlock_detected, lock_not_available.
_SQLITE_BUSY_CODES = {5, 6}
_POSTGRES_BUSY_STATES = {"40001", "40P01", "55P03"}


def _busy_timeout_ms():
    seconds = current_app.config.get("SQLITE_BUSY_TIMEOUT", DEFAULT_BUSY_TIMEOUT) if has_app_context() else None
    return int(1000 * (DEFAULT_BUSY_TIMEOUT if seconds is None else seconds))


@event.listens_for(Engine, "connect")
def _sqlite_connect(dbapi_connection, connection_record):
    """SQLite: the settings above; and SQLAlchemy (not pysqlite) opens transactions, so that
    SAVEPOINTs and transactional DDL behave as on PostgreSQL."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={_busy_timeout_ms()}")
        cursor.execute("PRAGMA journal_mode=WAL")  # kept in the file; an in-memory database stays "memory"
        cursor.close()


def may_write():
    """Whether the transaction about to begin may write: any request but a read (or a read whose view
    is marked ``writes_on_get``), and every command. A request already refused as busy only reads to
    show its page again."""
    if not has_request_context():
        return True
    if g.get("database_busy"):
        return False
    if request.method not in READING_METHODS:
        return True
    view = current_app.view_functions.get(request.endpoint)
    return bool(getattr(view, "writes_on_get", False))


def writes_on_get(view):
    """Mark a view that may write while answering a GET (it makes a record on first use): its
    transaction takes the write lock when it begins, as a POST's does, instead of failing half-way
    when another worker wrote meanwhile."""
    view.writes_on_get = True
    return view


@event.listens_for(Engine, "begin")
def _sqlite_begin(connection):
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE" if may_write() else "BEGIN")


def is_busy(error):
    """Whether ``error`` is the database giving up waiting for another writer (try again later)."""
    original = getattr(error, "orig", None) if isinstance(error, DBAPIError) else error
    if isinstance(original, sqlite3.OperationalError):
        return (getattr(original, "sqlite_errorcode", 0) & 0xFF) in _SQLITE_BUSY_CODES or "locked" in str(original)
    return getattr(original, "sqlstate", None) in _POSTGRES_BUSY_STATES


def fetch_all(sql, params=()):
    """Every row of a query, through the session's own DBAPI connection (in its transaction). For hot,
    simple reads: SQLAlchemy's statement and result handling costs 4 to 40 times a small query itself
    (a counter's primary-key read: 369 µs through the ORM, 8 µs here). ``sql`` names its parameters
    ``:name`` (SQLite's style), turned into psycopg's ``%(name)s`` on PostgreSQL."""
    if db.engine.dialect.name != "sqlite":
        sql = re.sub(r"(?<!:):(\w+)", r"%(\1)s", sql)
    cursor = db.session.connection().connection.cursor()
    try:
        cursor.execute(sql, params)
        return cursor.fetchall()
    finally:
        cursor.close()


def moment(value):
    """A point in time read raw (``fetch_all``) as the models read it: aware, in UTC. SQLite hands back
    its text, PostgreSQL a datetime."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return UTCDateTime().process_result_value(value, db.engine.dialect)
