"""The database-backed search backend: SQLite FTS5 on the embedded default, PostgreSQL full-text search
(a weighted ``tsvector`` with a GIN index) in production. It offers the Whoosh backend's interface and
runs the same ``querying`` plans, but its index is rows of the database, written in the transaction of
the change they follow: there is no index to drift, lose a write, or heal, and every app server sees
the same one.

What every search needs besides the words (each document's categories, counties, pledge version,
status, dates, rating and pinyin) is kept in memory per worker and refreshed by reading only the rows
written since the index generation it last saw (a counter bumped with each write): facet counts and
the directory's order cost no query, and an edit costs the next page one small read, not a reload."""

import re
import threading
from collections import Counter

import sqlalchemy as sa
from markupsafe import Markup, escape
from sqlalchemy.dialects import postgresql, sqlite
from whoosh.spelling import ListCorrector

from marketplace.common import counters
from marketplace.extensions import db
from marketplace.search import analysis, querying
from marketplace.search.models import FTS_TABLE, SearchDocument, SearchSetting
from marketplace.search.querying import Hit, SearchResult

GENERATION = "search"  # the counter bumped by every write of the index
# Rank weights per field, as Whoosh's field boosts: a word in the name counts four times one in the text.
BOOSTS = {"name": 4.0, "name_py": 3.0, "name_ini": 3.0, "content": 1.0}
PG_WEIGHTS = {"name": "A", "name_py": "B", "name_ini": "C", "content": "D"}
FTS_COLUMNS = ("name", "name_py", "name_ini", "content")
SURROUND, MAX_FRAGMENT, FRAGMENTS = 24, 80, 2  # highlighted snippets, as the Whoosh backend makes them
CACHED_QUERIES = 256


class _Doc:
    """What a search needs of one document besides its words."""

    __slots__ = ("categories", "counties", "pledge", "status", "published", "rating", "py", "ini")

    def __init__(self, row):
        self.categories = tuple(int(v) for v in row.category_ids.split(",") if v.isdigit())
        self.counties = tuple(int(v) for v in row.county_ids.split(",") if v.isdigit())
        self.pledge, self.status = row.pledge_version, row.status
        self.published, self.rating = row.published_ts, row.rating
        self.py, self.ini = tuple(row.name_py.split()), tuple(row.name_ini.split())


class _State:
    """One worker's copy of the index's per-document values, as of generation ``gen``."""

    def __init__(self):
        self.gen = -1
        self.docs = {}
        self.vocabulary = {"name_py": Counter(), "name_ini": Counter()}
        self.counts, self.orders, self.correctors = {}, {}, {}

    def put(self, doc_id, doc):
        self.drop(doc_id)
        if doc is not None:
            self.docs[doc_id] = doc
            self.vocabulary["name_py"].update(set(doc.py))
            self.vocabulary["name_ini"].update(set(doc.ini))

    def drop(self, doc_id):
        old = self.docs.pop(doc_id, None)
        if old is not None:
            self.vocabulary["name_py"].subtract(set(old.py))
            self.vocabulary["name_ini"].subtract(set(old.ini))


_STATE_COLUMNS = (
    SearchDocument.doc_id,
    SearchDocument.listed,
    SearchDocument.category_ids,
    SearchDocument.county_ids,
    SearchDocument.pledge_version,
    SearchDocument.status,
    SearchDocument.published_ts,
    SearchDocument.rating,
    SearchDocument.name_py,
    SearchDocument.name_ini,
)


class DatabaseBackend:
    """The search interface over the ``search_documents`` table (and SQLite's ``search_fts``)."""

    transactional = True  # written by the transaction of the change, before it commits
    path = None  # no files

    def __init__(self):
        self._state = None
        self._lock = threading.Lock()

    # --- lifecycle ---------------------------------------------------------------------------
    def exists(self):
        return True

    def create(self):
        """Empty the index (in the session's transaction)."""
        connection = db.session.connection()
        self._empty(connection, counters.bump(connection, GENERATION))
        self._set(connection, "format", analysis.index_format())

    def close(self):
        self.forget()

    def forget(self):
        """Drop this worker's copy of the per-document values (after a rolled-back test, a restore)."""
        with self._lock:
            self._state = None

    def status(self):
        return {"documents": len(self._fresh().docs)}

    def versions(self):
        rows = db.session.execute(
            sa.select(SearchDocument.doc_id, SearchDocument.seq).where(SearchDocument.listed.is_(True))
        )
        return {str(doc_id): seq for doc_id, seq in rows}

    def stored_format(self):
        return self.setting("format")

    def setting(self, name):
        return db.session.scalar(sa.select(SearchSetting.value).where(SearchSetting.name == name))

    def note_check(self, record):
        """Keep what the last full comparison found (JSON), for /healthz."""
        self._set(db.session.connection(), "checked", record)

    def _set(self, connection, name, value):
        connection.execute(sa.update(SearchSetting).where(SearchSetting.name == name).values(value=value))

    # --- writing -----------------------------------------------------------------------------
    def index(self, documents, remove_ids=(), *, connection=None):
        """Add or replace documents and remove others, in the transaction of ``connection`` (the
        session's by default): they are searchable when it commits, and never if it rolls back."""
        connection = connection or db.session.connection()
        rows = [_row(doc) for doc in documents]  # the analysis first: the counter stays locked briefly
        gen = counters.bump(connection, GENERATION)
        gone = [int(i) for i in remove_ids]
        if gone:
            connection.execute(
                sa.update(SearchDocument)
                .where(SearchDocument.doc_id.in_(gone))
                .values(listed=False, gen=gen, terms=None)
            )
        self._write(connection, rows, gen, gone)

    def rebuild(self, batches, force=True):
        """Build the index afresh from document batches, in one transaction of the session: the other
        workers go on searching the old rows until it commits. One rebuild at a time: the format's row
        is locked first, and a rebuild that finds the index already rebuilt meanwhile stops (unless
        ``force``). Returns whether it rebuilt."""
        connection = db.session.connection()
        connection.execute(
            sa.update(SearchSetting).where(SearchSetting.name == "format").values(value=SearchSetting.value)
        )
        if not force and self.stored_format() == analysis.index_format():
            return False
        gen = counters.bump(connection, GENERATION)
        self._empty(connection, gen)
        for batch in batches:
            self._write(connection, [_row(doc) for doc in batch], gen, ())
        self._set(connection, "format", analysis.index_format())
        return True

    def _empty(self, connection, gen):
        connection.execute(sa.update(SearchDocument).values(listed=False, gen=gen, terms=None))
        if _dialect() == "sqlite":
            connection.execute(sa.text(f"DELETE FROM {FTS_TABLE}"))

    def _write(self, connection, rows, gen, gone):
        sqlite_fts = _dialect() == "sqlite"
        if sqlite_fts:
            stale = [row["doc_id"] for row in rows] + list(gone)
            for start in range(0, len(stale), 500):
                connection.execute(
                    sa.text(f"DELETE FROM {FTS_TABLE} WHERE rowid IN :ids").bindparams(
                        sa.bindparam("ids", expanding=True)
                    ),
                    {"ids": stale[start : start + 500]},
                )
        if not rows:
            return
        table = SearchDocument.__table__
        columns = [c.name for c in table.columns if c.name not in ("terms", "gen")]
        if sqlite_fts:
            insert = sqlite.insert(table).values({**{c: sa.bindparam(c) for c in columns}, "gen": gen})
        else:
            insert = postgresql.insert(table).values(
                {
                    **{c: sa.bindparam(c) for c in columns},
                    "gen": gen,
                    "terms": sa.cast(sa.bindparam("vector"), postgresql.TSVECTOR),
                }
            )
        update = {c: insert.excluded[c] for c in [*columns, "gen"] + ([] if sqlite_fts else ["terms"])}
        connection.execute(insert.on_conflict_do_update(index_elements=["doc_id"], set_=update), rows)
        if sqlite_fts:
            connection.execute(
                sa.text(
                    f"INSERT INTO {FTS_TABLE} (rowid, name, name_py, name_ini, content) "
                    "VALUES (:doc_id, :fts_name, :fts_py, :fts_ini, :fts_content)"
                ),
                rows,
            )

    # --- reading -----------------------------------------------------------------------------
    def _fresh(self):
        """This worker's per-document values, brought up to the committed generation: one primary-key
        read when nothing changed, the changed rows when something did."""
        gen = counters.value(GENERATION)
        with self._lock:
            state = self._state
            if state is not None and state.gen == gen:
                return state
            if state is None or gen < state.gen:  # first use, or the database went back (a restore)
                state = _State()
                rows = db.session.execute(sa.select(*_STATE_COLUMNS).where(SearchDocument.listed.is_(True)))
            else:
                state.counts, state.orders, state.correctors = {}, {}, {}
                rows = db.session.execute(sa.select(*_STATE_COLUMNS).where(SearchDocument.gen > state.gen))
            for row in rows:
                state.put(row.doc_id, _Doc(row) if row.listed else None)
            state.gen = gen
            self._state = state
            return state

    def plan(self, text):
        """The plan ``text`` is searched by (for tests and diagnostics)."""
        return querying.plan(querying.clean_text(text).lower(), _Lexicon(self._fresh()))[0]

    def search(self, q):
        """Hits for one page, with facet counts and highlights; hostile input gives no results."""
        state = self._fresh()
        text = querying.clean_text(q.text).lower()
        lexicon = _Lexicon(state)
        plan, latin = querying.plan(text, lexicon)
        keep = _filter(q)
        if plan is querying.EVERYTHING:
            key = (q.category_id, q.county_id, q.pledge_min, q.pledge_max)
            column = "rating" if q.sort == "rating" else "published"
            order = _cached(state.orders, (key, column), lambda: _order(state, keep, column))
            facets, total = _cached(state.counts, key, lambda: _facet_counts(state, order))
            page, pages = querying.page_bounds(total, q)
            chosen = order[(page - 1) * q.per_page : page * q.per_page]
            return SearchResult([Hit(doc_id) for doc_id in chosen], total, page, pages, facets, None)
        scored = [(doc_id, score) for doc_id, score in _matches(plan) if doc_id in state.docs and keep(state, doc_id)]
        facets, total = _facet_counts(state, (doc_id for doc_id, _ in scored))
        page, pages = querying.page_bounds(total, q)
        docs = state.docs
        if q.sort == "newest":
            scored.sort(key=lambda item: (-docs[item[0]].published, -item[0]))
        elif q.sort == "rating":
            scored.sort(key=lambda item: (-docs[item[0]].rating, -docs[item[0]].published, -item[0]))
        else:
            scored.sort(key=lambda item: (-item[1], -docs[item[0]].published, -item[0]))
        chosen = [doc_id for doc_id, _ in scored[(page - 1) * q.per_page : page * q.per_page]]
        hits = _highlighted(chosen, plan)
        suggestion = None
        if total == 0 and latin:

            def finds(respelled):
                return any(doc_id in docs and keep(state, doc_id) for doc_id, _ in _matches(respelled))

            suggestion = querying.suggestion(text, latin, lexicon, finds)
        return SearchResult(hits, total, page, pages, facets, suggestion)


def _dialect():
    return db.engine.dialect.name


def _cached(cache, key, compute):
    found = cache.get(key)
    if found is None:
        found = compute()
        if len(cache) >= CACHED_QUERIES:
            cache.pop(next(iter(cache)))
        cache[key] = found
    return found


def _filter(q):
    """keep(state, doc_id): whether a document passes the query's filters (a group's id stands for its
    categories: the documents list both)."""

    def keep(state, doc_id):
        doc = state.docs[doc_id]
        if q.category_id and q.category_id not in doc.categories:
            return False
        if q.county_id and q.county_id not in doc.counties:
            return False
        if q.pledge_min is not None and doc.pledge < q.pledge_min:
            return False
        return q.pledge_max is None or doc.pledge <= q.pledge_max

    return keep


def _order(state, keep, column):
    """The documents passing the filters, newest (or best rated) first."""
    docs = state.docs
    chosen = [doc_id for doc_id in docs if keep(state, doc_id)]
    if column == "rating":
        chosen.sort(key=lambda d: (-docs[d].rating, -docs[d].published, -d))
    else:
        chosen.sort(key=lambda d: (-docs[d].published, -d))
    return chosen


def _facet_counts(state, doc_ids):
    counts = {"category": Counter(), "county": Counter(), "pledge": Counter(), "status": Counter()}
    category, county, pledge, status = counts["category"], counts["county"], counts["pledge"], counts["status"]
    total = 0
    docs = state.docs
    for doc_id in doc_ids:
        doc = docs[doc_id]
        total += 1
        category.update(doc.categories)
        county.update(doc.counties)
        pledge[doc.pledge] += 1
        status[doc.status] += 1
    return {facet: dict(values) for facet, values in counts.items()}, total


# --- the two dialects --------------------------------------------------------------------------------
def _row(doc):
    """The table's values (and SQLite's FTS columns, PostgreSQL's weighted vector) for a document."""
    name_words = querying.index_words(doc["name"])
    content_words = querying.index_words(doc["content"])
    py, ini = re.findall(r"[a-z]+", doc["name_py"]), re.findall(r"[a-z]+", doc["name_ini"])
    row = {
        "doc_id": int(doc["id"]),
        "seq": doc["seq"],
        "listed": True,
        "uscc": doc["uscc"],
        "name": doc["name"],
        "description": doc["description"],
        "category_ids": doc["category_ids"],
        "county_ids": doc["county_ids"],
        "status": doc["status"],
        "pledge_version": doc["pledge_version"],
        "published_ts": doc["published_ts"],
        "updated_ts": doc["updated_ts"],
        "rating": doc["rating"],
        "name_py": " ".join(dict.fromkeys(py)),
        "name_ini": " ".join(dict.fromkeys(ini)),
    }
    if _dialect() == "sqlite":
        row.update(
            fts_name=" ".join(name_words),
            fts_py=" ".join(py),
            fts_ini=" ".join(ini),
            fts_content=" ".join(content_words),
        )
    else:
        row["vector"] = _tsvector({"name": name_words, "name_py": py, "name_ini": ini, "content": content_words})
    return row


def _lexeme(word):
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"


def _tsvector(words_per_field):
    """A tsvector's text: each distinct word of each field once, at its own position, weighted by field."""
    positions, position = {}, 0
    for fieldname, words in words_per_field.items():
        for word in dict.fromkeys(words):
            position = min(position + 1, 16383)
            positions.setdefault(word, []).append(f"{position}{PG_WEIGHTS[fieldname]}")
    return " ".join(f"{_lexeme(word)}:{','.join(marks)}" for word, marks in positions.items())


def _fts5(node):
    if isinstance(node, querying.Term):
        return "{" + " ".join(node.fields) + '} : "' + node.word.replace('"', '""') + '"'
    joiner = " AND " if isinstance(node, querying.All) else " OR "
    return "(" + joiner.join(_fts5(part) for part in node.parts) + ")"


def _tsquery(node):
    if isinstance(node, querying.Term):
        return _lexeme(node.word) + ":" + "".join(sorted(PG_WEIGHTS[f] for f in node.fields))
    joiner = " & " if isinstance(node, querying.All) else " | "
    return "(" + joiner.join(_tsquery(part) for part in node.parts) + ")"


def _matches(plan):
    """(doc_id, score) of every listed document the plan finds; a higher score ranks first. For a
    ranked Any (a sentence's words), the number of its words a document holds comes first (BM25 alone
    ranks a document holding one rare word above one holding three)."""
    scored = _scored(plan)
    if not scored or isinstance(plan, querying.Code):
        return scored
    # The words found in a document's name (or its pinyin) count before the rest of the score: BM25's
    # weight for a word most agencies use (安全, 南通) is next to nothing, so an agency with only one rare
    # word of the query in its name would otherwise rank above the agency the whole query names.
    in_name = Counter()
    for word in dict.fromkeys(t.word for t in querying.terms(plan)):
        in_name.update(doc_id for doc_id, _score in _scored(querying.Term(NAME_FIELDS, word)))
    held = Counter()
    if isinstance(plan, querying.Any) and plan.ranked:  # a sentence: the more of its words, the better
        held.update(doc_id for part in plan.parts for doc_id, _score in _scored(part))
    return [(doc_id, held[doc_id] * COORDINATION + in_name[doc_id] * NAMED + score) for doc_id, score in scored]


NAME_FIELDS = ("name", "name_py", "name_ini")
NAMED = 1e3  # above any score a query's words can give
COORDINATION = 1e6  # above any count of words in the name


def _scored(plan):
    if plan is querying.NOTHING:
        return []
    if isinstance(plan, querying.Code):
        ids = db.session.scalars(
            sa.select(SearchDocument.doc_id).where(SearchDocument.uscc == plan.code, SearchDocument.listed.is_(True))
        )
        return [(doc_id, 0.0) for doc_id in ids]
    if _dialect() == "sqlite":
        weights = ", ".join(str(BOOSTS[c]) for c in FTS_COLUMNS)
        rows = db.session.execute(
            sa.text(f"SELECT rowid, -bm25({FTS_TABLE}, {weights}) FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH :q"),
            {"q": _fts5(plan)},
        )
    else:
        # ts_rank's weights are listed D, C, B, A: text, initials, pinyin, name
        weights = "{" + ", ".join(str(BOOSTS[f] / 4) for f in ("content", "name_ini", "name_py", "name")) + "}"
        rows = db.session.execute(
            sa.text(
                "SELECT doc_id, ts_rank(CAST(:weights AS real[]), terms, CAST(:q AS tsquery)) FROM search_documents "
                "WHERE terms @@ CAST(:q AS tsquery)"
            ),
            {"q": _tsquery(plan), "weights": weights},
        )
    return rows.all()


class _Lexicon:
    """What ``querying`` asks of the index's words: the latin fields from memory, the text fields from
    the database (SQLite's FTS5 vocabulary; on PostgreSQL a count through the GIN index that stops
    where a word stops narrowing anything)."""

    def __init__(self, state):
        self.state, self.known = state, {}

    def documents(self):
        return len(self.state.docs)

    def frequency(self, fieldname, word):
        if fieldname in querying.LATIN_FIELDS:
            return max(0, self.state.vocabulary[fieldname][word])
        key = (fieldname, word)
        if key not in self.known:
            if _dialect() == "sqlite":
                found = db.session.scalar(
                    sa.text(f"SELECT doc FROM {FTS_TABLE}_terms WHERE term = :word AND col = :col"),
                    {"word": word, "col": fieldname},
                )
            else:
                cap = int(querying.COMMON_SHARE * max(1, self.documents())) + 1
                found = db.session.scalar(
                    sa.text(
                        "SELECT count(*) FROM (SELECT 1 FROM search_documents WHERE terms @@ CAST(:q AS tsquery) "
                        "LIMIT :cap) AS found"
                    ),
                    {"q": _tsquery(querying.Term((fieldname,), word)), "cap": cap},
                )
            self.known[key] = found or 0
        return self.known[key]

    def __contains__(self, key):
        return self.frequency(*key) > 0

    def suggest(self, fieldname, word, maxdist):
        correctors = self.state.correctors
        if fieldname not in correctors:
            words = sorted(w for w, n in self.state.vocabulary[fieldname].items() if n > 0)
            correctors[fieldname] = ListCorrector(words)
        options = correctors[fieldname].suggest(word, limit=1, maxdist=maxdist)
        return options[0] if options else None


# --- highlights ----------------------------------------------------------------------------------------
def _highlighted(doc_ids, plan):
    """Hits with the plan's words marked in the name and in snippets of the description."""
    if not doc_ids:
        return []
    name_words = {t.word for t in querying.terms(plan) if "name" in t.fields}
    text_words = {t.word for t in querying.terms(plan) if "content" in t.fields}
    texts = dict(
        (doc_id, (name, description))
        for doc_id, name, description in db.session.execute(
            sa.select(SearchDocument.doc_id, SearchDocument.name, SearchDocument.description).where(
                SearchDocument.doc_id.in_(doc_ids)
            )
        )
    )
    hits = []
    for doc_id in doc_ids:
        name, description = texts.get(doc_id, ("", ""))
        highlights = {}
        snippet = _snippet(name, name_words, whole=True)
        if snippet:
            highlights["name"] = snippet
        snippet = _snippet(description, text_words)
        if snippet:
            highlights["description"] = snippet
        hits.append(Hit(doc_id, highlights))
    return hits


def _snippet(text, words, whole=False):
    """``text`` (escaped) with ``words`` marked: whole, or as the best fragments around the matches."""
    words = sorted((w for w in words if w), key=len, reverse=True)
    if not text or not words:
        return ""
    pattern = re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE)
    matches = list(pattern.finditer(text))
    if not matches:
        return ""
    if whole:
        return _marked(text, 0, len(text), matches)
    fragments = []
    for match in matches:
        start, end = max(0, match.start() - SURROUND), min(len(text), match.end() + SURROUND)
        if fragments and start <= fragments[-1][1] and end - fragments[-1][0] <= MAX_FRAGMENT:
            fragments[-1][1], fragments[-1][2] = end, fragments[-1][2] + 1
        else:
            fragments.append([start, end, 1])
    best = sorted(sorted(fragments, key=lambda f: -f[2])[:FRAGMENTS])
    return Markup(" … ").join(_marked(text, start, end, matches) for start, end, _n in best)


def _marked(text, start, end, matches):
    out, position = [], start
    for match in matches:
        if match.start() < position or match.end() > end:
            continue
        out.append(escape(text[position : match.start()]))
        out.append(Markup("<mark>") + escape(match.group(0)) + Markup("</mark>"))
        position = match.end()
    out.append(escape(text[position:end]))
    return str(Markup("").join(out))
