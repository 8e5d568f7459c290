"""One SHA-256 hash chain over the audit log and every record that must not change unseen.

Each record of a chained table (the audit log, every append-only record, and the few records whose
every state must be evident: ratings, engagement files, stored files) gets an entry when it is written
(and, for those that may change, each time it changes). An entry holds the SHA-256 of the record's
canonical content and of the entry before it; the entries are numbered without gaps. So a record
edited, inserted or removed behind the application's back, or an entry altered, inserted, removed or
moved, no longer fits, and ``verify`` names the first place where it does not. The chain's head is
published with each notice batch, so that a copy of any batch someone kept proves the history before
it, even against someone able to rewrite the whole database.

A record's canonical content is its row as the database returns it (``SELECT *``): column names
sorted, values as JSON, binary columns as their SHA-256. An entry lists the columns it covered, so a
column added later does not unsettle the entries written before it.

Entries are appended when a transaction commits, in the order its records were written, under a lock
that makes appends one at a time (SQLite: its write lock; PostgreSQL: a transaction advisory lock).
"""

import datetime as dt
import decimal
import enum
import hashlib
import json
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, Session, mapped_column

from marketplace.common import database, health
from marketplace.common.models import UTCDateTime
from marketplace.common.time import utcnow
from marketplace.extensions import db

GENESIS = "0" * 64
PENDING, SEALED = "chain_pending", "chain_sealed"  # keys of Session.info
ADVISORY_LOCK = 0x4E54_4348  # "NTCH"


class ChainEntry(db.Model):
    """One link of the chain (see the module's text). Rows are never updated or deleted."""

    __tablename__ = "chain_entries"
    __append_only__ = True
    __chained__ = False  # the chain itself

    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    record_type: Mapped[str] = mapped_column(sa.String(60))  # the table
    record_id: Mapped[str] = mapped_column(sa.String(64))
    columns: Mapped[str] = mapped_column(sa.Text)  # the columns hashed, comma-separated
    content_sha256: Mapped[str] = mapped_column(sa.String(64))
    prev_sha256: Mapped[str] = mapped_column(sa.String(64))
    entry_sha256: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (sa.Index("ix_chain_entries_record", "record_type", "record_id"),)


class ChainCheck(db.Model):
    """The outcome of each ``audit verify``: /healthz reports the latest."""

    __tablename__ = "chain_checks"

    id: Mapped[int] = mapped_column(primary_key=True)
    checked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    ok: Mapped[bool]
    entries: Mapped[int]
    head_seq: Mapped[int] = mapped_column(default=0)
    head_sha256: Mapped[str] = mapped_column(sa.String(64))
    problem: Mapped[str | None] = mapped_column(sa.Text)


def chained_tables():
    """{table name: model} of every chained record: append-only models and those marked ``__chained__``."""
    tables = {}
    for mapper in db.Model.registry.mappers:
        cls = mapper.class_
        if getattr(cls, "__chained__", getattr(cls, "__append_only__", False)):
            tables[cls.__tablename__] = cls
    return dict(sorted(tables.items()))


# --- content and links -------------------------------------------------------------------------


def _canonical(value):
    if isinstance(value, bytes | bytearray | memoryview):
        return "sha256:" + hashlib.sha256(bytes(value)).hexdigest()
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc)
        return value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    return value


def content_sha256(row, columns):
    """The SHA-256 of a row's canonical content over ``columns``."""
    values = {name: _canonical(row[name]) for name in columns}
    text = json.dumps(values, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def entry_sha256(seq, record_type, record_id, columns, content, prev):
    text = "\n".join([str(seq), record_type, str(record_id), columns, content, prev])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _row(connection, table, record_id):
    return (
        connection.execute(sa.text(f"SELECT * FROM {table} WHERE id = :id"), {"id": int(record_id)}).mappings().first()
    )


def head(connection=None):
    """(seq, entry_sha256) of the newest entry, (0, GENESIS) when the chain is empty."""
    connection = connection or db.session.connection()
    found = connection.execute(
        sa.select(ChainEntry.seq, ChainEntry.entry_sha256).order_by(ChainEntry.seq.desc()).limit(1)
    ).first()
    return (found.seq, found.entry_sha256) if found else (0, GENESIS)


def _rows(connection, records):
    """{(table, id): row} for these records, read a table and a few hundred ids at a time."""
    wanted = {}
    for table, record_id in records:
        wanted.setdefault(table, set()).add(int(record_id))
    found = {}
    for table, ids in wanted.items():
        ordered = sorted(ids)
        for start in range(0, len(ordered), 500):
            chunk = ",".join(str(i) for i in ordered[start : start + 500])  # ints, never text
            for row in connection.execute(sa.text(f"SELECT * FROM {table} WHERE id IN ({chunk})")).mappings():
                found[(table, int(row["id"]))] = row
    return found


def append(connection, records):
    """Append an entry for each (table, id) in ``records``, in order; the caller holds the lock. A
    record rolled back meanwhile (a savepoint) is skipped."""
    seq, prev = head(connection)
    found = _rows(connection, records)
    rows = []
    for table, record_id in records:
        row = found.get((table, int(record_id)))
        if row is None:
            continue
        names = sorted(row.keys())
        columns, content = ",".join(names), content_sha256(row, names)
        seq += 1
        digest = entry_sha256(seq, table, record_id, columns, content, prev)
        rows.append(
            {
                "seq": seq,
                "record_type": table,
                "record_id": str(record_id),
                "columns": columns,
                "content_sha256": content,
                "prev_sha256": prev,
                "entry_sha256": digest,
                "created_at": utcnow(),
            }
        )
        prev = digest
    if rows:
        connection.execute(sa.insert(ChainEntry.__table__), rows)
    return len(rows)


def lock(connection):
    """Appends one at a time: SQLite writes one transaction at a time already; PostgreSQL takes a
    lock held until the transaction ends."""
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK})


# --- capture: which records a transaction wrote --------------------------------------------------


def note(session, table, ids):
    """Record that this transaction wrote these rows of a chained table (the audit log's Core inserts)."""
    if session.info.get(SEALED):
        raise RuntimeError(f"{table} written after the transaction's chain entries were appended")
    session.info.setdefault(PENDING, []).extend((table, record_id) for record_id in ids)


@event.listens_for(Session, "after_flush")
def _note_flushed(session, flush_context):
    tables = _tables()
    written = [
        obj
        for obj in list(session.new) + list(session.dirty)
        if getattr(obj, "__tablename__", None) in tables and session.is_modified(obj, include_collections=False)
    ]
    for obj in written:
        note(session, obj.__tablename__, [obj.id])


def _append_pending(session):
    session.flush()  # what is still pending becomes rows now, and is noted
    if not session.info.get(PENDING):
        return
    pending = list(dict.fromkeys(session.info.pop(PENDING, [])))
    connection = session.connection()
    lock(connection)
    append(connection, pending)


def seal(session):
    """Before the commit: append the entries of what the transaction wrote (registered by the app
    factory as the last before_commit listener, after any that still flush). A savepoint's release
    fires before_commit too; the transaction's own commit seals it."""
    if session.in_nested_transaction():
        return
    _append_pending(session)
    session.info[SEALED] = True


def head_now(session=None):
    """The head with everything this transaction wrote so far appended first (a batch published in
    the same transaction as other writes publishes them too). Takes the append lock until the end."""
    session = session or db.session
    _append_pending(session)
    connection = session.connection()
    lock(connection)
    return head(connection)


@event.listens_for(Session, "after_transaction_end")
def _reset(session, transaction):
    """The session's transaction ended (committed or rolled back): start afresh. A savepoint's end is
    not the transaction's: what the transaction wrote before it still needs its entries (a record
    rolled back with the savepoint is skipped by ``append``)."""
    if transaction.parent is None:
        session.info.pop(SEALED, None)
        session.info.pop(PENDING, None)


_TABLES = None


def _tables():
    global _TABLES
    if _TABLES is None:
        _TABLES = frozenset(chained_tables())
    return _TABLES


def init_app(app):
    """Seal every commit's records, after every other before_commit listener; report to /healthz."""
    global _TABLES
    _TABLES = frozenset(chained_tables())
    if not event.contains(Session, "before_commit", seal):
        event.listen(Session, "before_commit", seal)
    health.register_check("chain", health_check)


# --- verification -----------------------------------------------------------------------------


@dataclass
class Problem:
    seq: int | None  # the entry concerned (None: a record no entry covers)
    text: str

    def __str__(self):
        return (f"entry {self.seq}: " if self.seq is not None else "") + self.text


@dataclass
class Verification:
    entries: int = 0
    head: tuple = (0, GENESIS)
    problems: list = field(default_factory=list)

    @property
    def ok(self):
        return not self.problems

    @property
    def first(self):
        ordered = sorted(self.problems, key=lambda p: (p.seq is None, p.seq or 0))
        return ordered[0] if ordered else None


def verify(connection=None, published=()):
    """Walk the chain and every chained record; ``published`` is (seq, entry_sha256) pairs from copies
    of notice batches kept outside. Returns a ``Verification``; its ``first`` problem is the earliest."""
    connection = connection or db.session.connection()
    result = Verification()
    latest = {}
    expected, prev = 1, GENESIS
    entries = connection.execute(sa.select(ChainEntry.__table__).order_by(ChainEntry.seq)).mappings()
    for entry in entries:
        seq = entry["seq"]
        if seq != expected:
            result.problems.append(Problem(seq, f"entries {expected} to {seq - 1} are missing (removed)"))
        elif entry["prev_sha256"] != prev:
            result.problems.append(Problem(seq, "does not follow the entry before it (inserted or moved)"))
        recomputed = entry_sha256(
            seq,
            entry["record_type"],
            entry["record_id"],
            entry["columns"],
            entry["content_sha256"],
            entry["prev_sha256"],
        )
        if recomputed != entry["entry_sha256"]:
            result.problems.append(Problem(seq, "was altered (its own hash no longer fits)"))
        latest[(entry["record_type"], entry["record_id"])] = (seq, entry["columns"], entry["content_sha256"])
        prev, expected = entry["entry_sha256"], seq + 1
        result.entries += 1
        result.head = (seq, entry["entry_sha256"])

    for table in chained_tables():
        for row in connection.execute(sa.text(f"SELECT * FROM {table} ORDER BY id")).mappings():
            key = (table, str(row["id"]))
            recorded = latest.pop(key, None)
            if recorded is None:
                result.problems.append(
                    Problem(None, f"{table} {row['id']} is in no entry (written outside the application)")
                )
                continue
            seq, columns, content = recorded
            names = columns.split(",")
            if any(name not in row for name in names) or content_sha256(row, names) != content:
                result.problems.append(Problem(seq, f"{table} {row['id']} was changed after this entry recorded it"))
    for (table, record_id), (seq, _columns, _content) in latest.items():
        result.problems.append(Problem(seq, f"{table} {record_id}, recorded here, is gone (removed)"))

    published = list(published) + _published_heads(connection)
    by_seq = {}
    wanted = {seq for seq, _hash in published}
    if wanted:
        rows = connection.execute(
            sa.select(ChainEntry.seq, ChainEntry.entry_sha256).where(ChainEntry.seq.in_(wanted))
        ).all()
        by_seq = dict(rows)
    for seq, published_hash in published:
        if by_seq.get(seq) != published_hash:
            result.problems.append(Problem(seq, f"differs from the head published then ({published_hash[:16]}…)"))
    return result


def _published_heads(connection):
    """The heads recorded in notice batches (those published since batches carry one)."""
    batches = sa.table("notice_batches", sa.column("chain_seq", sa.Integer), sa.column("chain_sha256", sa.String))
    rows = connection.execute(
        sa.select(batches.c.chain_seq, batches.c.chain_sha256).where(batches.c.chain_seq.is_not(None))
    ).all()
    return [(seq, digest) for seq, digest in rows if seq]


def record_check(result):
    """Keep the outcome of a verification (for /healthz)."""
    first = result.first
    db.session.add(
        ChainCheck(
            ok=result.ok,
            entries=result.entries,
            head_seq=result.head[0],
            head_sha256=result.head[1],
            problem=str(first) if first else None,
        )
    )


def health_check():
    """The last verification's outcome and position. A broken chain is reported (``intact``: false)
    for monitoring to raise, but keeps the site serving: it is evidence, not an outage."""
    # read raw: /healthz is probed every few seconds (through the ORM these two reads were a third of it)
    found = database.fetch_all("SELECT seq FROM chain_entries ORDER BY seq DESC LIMIT 1")
    seq = found[0][0] if found else 0
    last = database.fetch_all("SELECT ok, head_seq, checked_at, problem FROM chain_checks ORDER BY id DESC LIMIT 1")
    if not last:
        return {"ok": True, "verified": False, "head_seq": seq}
    ok, verified_seq, checked_at, problem = last[0]
    return {
        "ok": True,
        "intact": bool(ok),
        "verified": True,
        "verified_seq": verified_seq,
        "verified_at": database.moment(checked_at).isoformat(),
        "head_seq": seq,
        "problem": problem,
    }


@dataclass
class Match:
    """How records compare with their newest chain entries: ``altered`` ids differ from what was
    recorded, ``unrecorded`` ids have no entry; ``entries`` are the seq numbers that recorded them."""

    checked: int = 0
    altered: list = field(default_factory=list)
    unrecorded: list = field(default_factory=list)
    entries: list = field(default_factory=list)

    @property
    def ok(self):
        return self.checked > 0 and not self.altered and not self.unrecorded


def matches(table, ids):
    """Recompute the content of these rows of ``table`` and compare it with their newest entries."""
    ids = [int(i) for i in ids]
    result = Match()
    if not ids:
        return result
    connection = db.session.connection()
    newest = {}
    for start in range(0, len(ids), 500):
        chunk = [str(i) for i in ids[start : start + 500]]
        for entry in connection.execute(
            sa.select(ChainEntry.seq, ChainEntry.record_id, ChainEntry.columns, ChainEntry.content_sha256)
            .where(ChainEntry.record_type == table, ChainEntry.record_id.in_(chunk))
            .order_by(ChainEntry.seq)
        ):
            newest[int(entry.record_id)] = entry
        rows = connection.execute(
            sa.text(f"SELECT * FROM {table} WHERE id IN ({','.join(chunk)})")  # ids are ints
        ).mappings()
        for row in rows:
            result.checked += 1
            entry = newest.get(row["id"])
            if entry is None:
                result.unrecorded.append(row["id"])
                continue
            result.entries.append(entry.seq)
            names = entry.columns.split(",")
            if any(n not in row for n in names) or content_sha256(row, names) != entry.content_sha256:
                result.altered.append(row["id"])
    return result
