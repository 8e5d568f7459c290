"""Search: one small interface (index, remove, search, status) with two backends, fed by a document
source that the app factory names (``providers.indexing.SOURCE``) and kept in step by that source's
session hooks:

- ``database`` (``search.database``): SQLite FTS5 or PostgreSQL full-text search, written in the
  transaction of the change, so it never drifts; the default on both engines (README: why);
- ``whoosh`` (``search.backend``): an index in a folder per server, written after the commit and
  healed from the database when it is missing, stale or corrupt.

``SEARCH_BACKEND`` chooses ("auto": the default for the database engine).

Every document carries a sequence number that its source counts up with each commit that changes it;
the index keeps the number of the document it holds. Comparing the two lists (``out_of_step``) finds
any index write that was missed (a timeout after the database committed, a crash), not only the
latest one, and ``heal`` re-indexes exactly those documents.

This package knows no domain: what a document holds and which records are indexed is the source's."""

import fcntl
import gc
import json
import logging
import threading
import warnings
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from marketplace.common import health
from marketplace.common.time import utcnow
from marketplace.extensions import db
from marketplace.search import analysis
from marketplace.search.backend import WhooshBackend
from marketplace.search.database import DatabaseBackend
from marketplace.search.querying import SearchQuery  # noqa: F401  (the interface)

log = logging.getLogger(__name__)
BATCH = 500
# Above this share of out-of-step documents, a heal rebuilds the whole index instead.
REBUILD_SHARE = 0.2
# The default backend per database engine: the fastest that passes every search test (docs/benchmarks.md).
DEFAULT_BACKEND = {"sqlite": "database", "postgresql": "database"}


def init_app(app, source):
    """Open the index for ``app``; ``source`` has ``versions()``, ``ids()`` and ``documents(ids)``."""
    analysis.init_jieba(Path(app.instance_path) / "jieba-cache")
    app.extensions["search"] = make_backend(app)
    app.extensions["search_source"] = source
    health.register_check("search", health_check)
    if app.config.get("SEARCH_HEAL_ON_START", True):
        # In the background: the worker serves at once (a database index not yet built, or a missing
        # Whoosh index, sends the directory to the database meanwhile); one process rebuilds, the others
        # find it rebuilt when its lock lets them check.
        healer = threading.Thread(target=_heal_at_start, args=(app,), name="search-heal", daemon=True)
        app.extensions["search_heal"] = healer
        healer.start()


def _heal_at_start(app):
    with app.app_context():
        try:
            heal()
            backend().status()  # a database index's per-document values, loaded before the first search
            backend().warm()  # and, a database index's, its most common words' match sets
        except Exception as exc:  # e.g. before `flask db upgrade` made the tables
            log.info(
                "search index not checked at start (%s); `flask search check` does it later", exc.__class__.__name__
            )
        finally:
            db.session.remove()


def backend_name(app):
    """The backend ``app`` uses: SEARCH_BACKEND, or the default for its database engine."""
    chosen = app.config.get("SEARCH_BACKEND") or "auto"
    if chosen == "auto":
        engine = sa.engine.make_url(app.config["SQLALCHEMY_DATABASE_URI"]).get_backend_name()
        chosen = DEFAULT_BACKEND.get(engine, "whoosh")
    if chosen not in ("database", "whoosh"):
        raise RuntimeError(f"SEARCH_BACKEND must be auto, database or whoosh, not {chosen!r}")
    return chosen


def make_backend(app, name=None):
    if (name or backend_name(app)) == "database":
        return DatabaseBackend()
    folder = Path(app.config.get("SEARCH_INDEX_DIR") or Path(app.instance_path) / "search-index")
    return WhooshBackend(folder, app.config.get("SEARCH_WRITE_TIMEOUT", 10.0))


def is_configured(app):
    return "search" in app.extensions


def backend():
    return current_app.extensions["search"]


def source():
    return current_app.extensions["search_source"]


def health_check():
    """What /healthz reports, at a cost that does not grow with the register: whether the index opens in
    the current format, how many documents it holds, the index writes missed since the last heal (the
    journal ``note_missed`` keeps), and the last full comparison with the database. The full comparison
    reads every document's version on both sides; it is `flask search check`'s (and start-up's) work."""
    state = backend().status()
    current_format = backend().stored_format() == analysis.index_format()
    behind = missed()
    return {
        "ok": current_format and not behind,
        "backend": backend_name(current_app),
        "documents": state["documents"],
        "out_of_step": len(behind),
        "format_current": current_format,
        "last_check": last_check(),
    }


def _journal(suffix):
    return Path(backend().path).with_suffix(suffix)


def note_missed(ids):
    """(Whoosh) Record documents whose index write failed after their commit (one appended line: several
    workers may note at once), so that /healthz reports them at once and the next heal mends them."""
    if not ids:
        return
    path = _journal(".missed")
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="ascii") as handle:
        handle.write(",".join(str(int(i)) for i in ids) + "\n")


def missed():
    """The ids noted as missed since the last heal, in order (none: a database index misses nothing)."""
    if backend().transactional:
        return []
    found = set()
    for path in (_journal(".missed"), _journal(".missed-healing")):
        try:
            text = path.read_text(encoding="ascii")
        except (FileNotFoundError, UnicodeDecodeError):
            continue
        found |= {int(part) for part in text.replace("\n", ",").split(",") if part.strip().isdigit()}
    return sorted(found)


def last_check():
    """When the index was last compared with the database in full, and what that found (or None)."""
    try:
        if backend().transactional:
            return json.loads(backend().setting("checked") or "null")
        return json.loads(_journal(".checked").read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None


def out_of_step(expected=None):
    """The ids of documents the index holds in another version than the source (or holds and should
    not, or lacks), in order."""
    expected = source().versions() if expected is None else expected
    held = backend().versions()
    return sorted(
        {doc_id for doc_id, seq in expected.items() if held.get(str(doc_id)) != seq}
        | {int(doc_id) for doc_id in held if int(doc_id) not in expected}
    )


def staleness():
    """Why the index must be rebuilt ("missing", "corrupt", "outdated", "stale"), or None when it is in step."""
    engine = backend()
    if engine.transactional:
        if engine.stored_format() != analysis.index_format():
            return "outdated"
        return "stale" if out_of_step() else None
    if not engine.exists():
        return "missing"
    state = None
    with warnings.catch_warnings():
        # Whoosh leaves the files of an index it failed to open unclosed: they are collected
        # here, quietly, whenever the garbage collector runs.
        warnings.simplefilter("ignore", ResourceWarning)
        try:
            state = engine.status()
        except Exception as exc:  # unreadable files, a wrong format, a half-written index…
            log.warning("search index unreadable: %s", str(exc))
        if state is None:
            engine.close()
            gc.collect()
            return "corrupt"
    if engine.stored_format() != analysis.index_format():
        return "outdated"  # built by an earlier version of the analysis or the documents
    if out_of_step():
        return "stale"
    return None


def reindex(progress=None, force=True):
    """Rebuild the whole index from the database; ``progress(n)`` is told of each batch. A database
    index is rebuilt in one transaction; unless ``force``, a process that waited for another's rebuild
    does not rebuild again."""
    counted = []

    def batches():
        # The agencies to index, read when the rebuild holds its lock (a database index's: whatever
        # committed before it is in them, whatever commits after waits for it).
        ids = source().ids()
        counted.append(len(ids))
        for start in range(0, len(ids), BATCH):
            chunk = ids[start : start + BATCH]
            docs, _removed = source().documents(chunk)
            db.session.expunge_all()
            if progress:
                progress(len(chunk))
            yield docs

    if backend().transactional:  # one transaction, which the other workers wait for
        backend().rebuild(batches(), force=force)
        db.session.commit()
    else:
        with _journal_taken(), _exclusive():
            backend().rebuild(batches())
    return counted[0] if counted else len(source().ids())


def heal():
    """Check the index against the database and mend it when needed; returns the reason or None.
    A missing, corrupt or outdated index is rebuilt; a stale one has its out-of-step documents
    re-indexed (or is rebuilt when they are many)."""
    if backend().transactional:
        reason = _heal()
        backend().note_check(_check_record(reason))
        db.session.commit()
        return reason
    with _journal_taken():
        reason = _heal()
    _journal(".checked").write_text(_check_record(reason), encoding="utf-8")
    return reason


def _check_record(reason):
    return json.dumps({"at": utcnow().isoformat(timespec="seconds"), "found": reason or "in step"})


def forget():
    """Drop what this worker keeps in memory of the index (tests do, after rolling the database back)."""
    backend().forget()


class _journal_taken:
    """The missed-writes journal, taken for a heal or a rebuild (writes missed meanwhile are journalled
    afresh), dropped when it succeeds and put back when it fails."""

    def __enter__(self):
        self.journal, self.taking = _journal(".missed"), _journal(".missed-healing")
        try:
            self.journal.replace(self.taking)
        except FileNotFoundError:
            pass
        return self

    def __exit__(self, kind, value, traceback):
        if kind is not None and self.taking.exists():
            note_missed(missed())
        self.taking.unlink(missing_ok=True)
        return False


def _heal():
    reason = staleness()
    if reason == "stale":
        expected = source().versions()
        behind = out_of_step(expected)
        if behind and len(behind) <= REBUILD_SHARE * max(len(expected), 1):
            log.info("search index stale: re-indexing %d document(s)", len(behind))
            if backend().transactional:
                for start in range(0, len(behind), BATCH):
                    backend().index(*source().documents(behind[start : start + BATCH]))
                return reason
            with _exclusive():
                for start in range(0, len(behind), BATCH):
                    chunk = behind[start : start + BATCH]
                    backend().index(*source().documents(chunk))
            return reason
    if reason:
        log.info("search index %s: rebuilding", reason)
        # a database index: a worker that waited for another's rebuild of an outdated index stops there
        reindex(force=reason != "outdated")
    return reason


class _exclusive:
    """One rebuild at a time across the workers of a server (a lock file next to the index)."""

    def __enter__(self):
        path = Path(backend().path).with_suffix(".lock")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.handle = open(path, "w")
        fcntl.flock(self.handle, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        fcntl.flock(self.handle, fcntl.LOCK_UN)
        self.handle.close()
        return False
