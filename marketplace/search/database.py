"""The database-backed search backend: SQLite FTS5 on the embedded default, PostgreSQL full-text search
(weighted ``tsvector``s in a narrow table, with a GIN index) in production. It offers the Whoosh backend's
interface and runs the same ``querying`` plans, but its index is rows of the database, written in the
transaction of the change they follow: there is no index to drift, lose a write, or heal, and every app
server sees the same one.

What every search needs besides the words (each document's categories, counties, pledge version,
status, dates, rating and pinyin) is kept in memory per worker and refreshed by reading only the rows
written since the index generation it last saw (a counter bumped with each write): facet counts and
the directory's order cost no query, and an edit costs the next page one small read, not a reload."""

import bisect
import contextlib
import ctypes
import dataclasses
import functools
import gc
import heapq
import logging
import operator
import re
import sys
import threading
from array import array
from collections import Counter, deque
from itertools import repeat

import sqlalchemy as sa
from markupsafe import Markup, escape
from sqlalchemy.dialects import postgresql, sqlite
from whoosh.spelling import ListCorrector

from marketplace.common import counters, database
from marketplace.extensions import db
from marketplace.search import analysis, querying
from marketplace.search.models import FTS_TABLE, TERMS_TABLE, SearchDocument, SearchSetting, SearchWord
from marketplace.search.querying import Hit, SearchResult

log = logging.getLogger(__name__)
GENERATION = "search"  # the counter bumped by every write of the index
# Rank weights per field, as Whoosh's field boosts: a word in the name counts four times one in the text.
BOOSTS = {"name": 4.0, "name_py": 3.0, "name_ini": 3.0, "content": 1.0}
PG_WEIGHTS = {"name": "A", "name_py": "B", "name_ini": "C", "content": "D"}
FTS_COLUMNS = ("name", "name_py", "name_ini", "content")
SURROUND, MAX_FRAGMENT, FRAGMENTS = 24, 80, 2  # highlighted snippets, as the Whoosh backend makes them


class IndexNotBuilt(RuntimeError):
    """A search before the first build finished: the directory answers from the database meanwhile."""


class _Doc:
    """What a search needs of one document besides its words, and its slot in the state's bit sets."""

    __slots__ = ("categories", "counties", "pledge", "status", "published", "rating", "py", "ini", "named", "slot")

    def __init__(self, row):
        # most documents share their categories and counties: one tuple per combination, not per document
        self.categories = _shared(tuple(int(v) for v in row.category_ids.split(",") if v.isdigit()))
        self.counties = _shared(tuple(int(v) for v in row.county_ids.split(",") if v.isdigit()))
        self.pledge, self.status = row.pledge_version, _shared(row.status)
        self.published, self.rating = row.published_ts, row.rating
        # the pinyin and initials as read (split when a change is applied: a tuple per name cost a
        # third of the state's memory); names share most of their words: one string object per word
        self.py, self.ini = row.name_py, row.name_ini
        self.named = tuple(sys.intern(w) for w in row.name_words.split())
        self.slot = -1

    def latin(self, field):
        """The document's words of ``name_py`` or ``name_ini``."""
        return (self.py if field == "name_py" else self.ini).split()

    def listing(self, doc_id):
        """What a search without words shows of the document (the directory's filters, facets and
        orders): an edit that keeps it keeps every such answer."""
        return set(self.facet_values()), tuple(_sort_key(column, doc_id, self) for column in ORDERS)

    def facet_values(self):
        return (
            [("category", c) for c in self.categories]
            + [("county", c) for c in self.counties]
            + [("pledge", self.pledge), ("status", self.status)]
        )


_SHARED = {}


def _shared(values):
    return _SHARED.setdefault(values, values)


ID_BITS, TIME_BITS = 32, 64  # a document id, a publication time in a sort key


def _sort_key(column, doc_id, doc):
    """A document's place in a kept order, as one int (a tuple of three numbers was a third of the
    state's memory): the smaller, the earlier. Newest first, the id breaking ties; by rating, best first."""
    key = (doc.published << ID_BITS) + doc_id
    if column == "rating":
        key += doc.rating << (ID_BITS + TIME_BITS)
    return -key


def _key_id(key):
    return -key & ((1 << ID_BITS) - 1)


ORDERS = ("published", "rating")
LATIN_FIELDS = ("name_py", "name_ini")


class _State:
    """One worker's copy of the index's per-document values, as of generation ``gen``: each document has
    a slot, each facet value a bit set of the slots that hold it (counting a facet over tens of thousands
    of matches is one AND and one popcount per value), and the directory's two orders are kept sorted
    as documents change."""

    def __init__(self, rows=()):
        self.gen, self.built = -1, False
        self.docs, self.free = {}, []
        self.vocabulary = {"name_py": Counter(), "name_ini": Counter()}
        self.correctors = {}
        self.named = {}  # a word of names: the ids of the documents whose name holds it (sorted arrays)
        self.named_masks = {}  # the same, as bit sets, made when a search first asks (this state only)
        self.answers = {}  # the answers given from this state, by query (the callers do not change them)
        # the answers to searches without words (the directory's pages): kept over a change that leaves
        # every document's filters, facets and place in the orders as they were (most edits)
        self.listings = {}
        # a text word searched for: the documents holding it in their name or text, as a bit set (a
        # common word's matches are tens of thousands of ids to read and set); kept over changes, each
        # changed document's bit set by its words (``put``)
        self.word_masks = {}
        slots = {}
        for row in rows:
            if row.listed:
                doc = self.docs[row.doc_id] = _Doc(row)
                doc.slot = len(self.docs) - 1
                for value in doc.facet_values():
                    slots.setdefault(value, []).append(doc.slot)
                for word in doc.named:
                    self.named.setdefault(word, []).append(row.doc_id)
                for field in LATIN_FIELDS:
                    self.vocabulary[field].update(set(doc.latin(field)))
        self.named = {word: array("q", sorted(ids)) for word, ids in self.named.items()}
        self.size = len(self.docs)
        self.ids = list(self.docs)  # the document in each slot (None: a free slot)
        self.slot_of = {doc_id: doc.slot for doc_id, doc in self.docs.items()}
        self.masks = {value: _bits(found, self.size) for value, found in slots.items()}
        self.live = (1 << self.size) - 1
        self.orders = {
            column: sorted(_sort_key(column, doc_id, doc) for doc_id, doc in self.docs.items()) for column in ORDERS
        }

    def copy(self):
        """A copy to change while searches go on reading this one (the sets of names' words are shared
        and replaced, never changed, by ``put``)."""
        other = _State.__new__(_State)
        other.__dict__.update(self.__dict__)
        other.docs, other.free, other.ids = dict(self.docs), list(self.free), list(self.ids)
        other.slot_of = dict(self.slot_of)
        other.vocabulary = {name: Counter(counts) for name, counts in self.vocabulary.items()}
        other.named, other.masks = dict(self.named), dict(self.masks)
        other.orders = {column: list(keys) for column, keys in self.orders.items()}
        # the spelling correctors hold the latin words in use: kept until a change adds or drops one
        # the bit sets of names' words stay right for the words a change does not touch (put drops the rest)
        other.correctors, other.named_masks, other.answers = dict(self.correctors), dict(self.named_masks), {}
        other.listings = dict(self.listings)  # ``put`` empties them when a change reaches a listing
        other.word_masks = dict(self.word_masks)
        return other

    def kept(self, key, listing):
        return (self.listings if listing else self.answers).get(key)

    def remember(self, key, answer, listing=False):
        """Keep an answer for the same query asked again before the index changes (or, for a search
        without words, before a listing changes): a search of a popular word is a few milliseconds of the
        database's, a kept answer none (the oldest goes first)."""
        _keep(self.listings if listing else self.answers, key, answer, KEPT_ANSWERS)

    def remember_word(self, word, mask):
        """Keep a text word's bit set (the oldest goes first)."""
        _keep(self.word_masks, word, mask, KEPT_WORDS)

    def put(self, doc_id, doc, words=None):
        """Replace (or, with None, remove) one document (only in a state no search reads yet); ``words``:
        the distinct words of its name and text (None: not known, the kept words' bit sets are dropped)."""
        if doc is not None and words is None:
            self.word_masks.clear()
        slot = self.slot_of.get(doc_id)
        self._put(doc_id, doc)
        if self.word_masks and (doc is not None or slot is not None):
            # its slot's bit by its words; a removed document's cleared (the slot may go to another)
            self._note_words(slot if doc is None else doc.slot, () if doc is None else words)

    def _note_words(self, slot, words):
        """The kept words' bit sets, with the document in ``slot`` holding ``words``."""
        bit = 1 << slot
        self.word_masks = {
            word: (mask | bit) if word in words else (mask & ~bit) for word, mask in self.word_masks.items()
        }

    def _put(self, doc_id, doc):
        old = self.docs.pop(doc_id, None)
        latin = self._latin_words(old, doc)
        in_use = {key for key in latin if self.vocabulary[key[0]][key[1]] > 0}
        if old is not None and doc is not None:  # changed: only what changed (most edits keep the name)
            if old.listing(doc_id) != doc.listing(doc_id):
                self.listings.clear()
            self._replace(doc_id, old, doc)
            self._check_correctors(latin, in_use)
            return
        if old is not None or doc is not None:  # one more or one fewer in every listing it is in
            self.listings.clear()
        if old is not None:
            keep = ~(1 << old.slot)
            for value in old.facet_values():
                self.masks[value] &= keep
            self.live &= keep
            for column, keys in self.orders.items():
                del keys[bisect.bisect_left(keys, _sort_key(column, doc_id, old))]
            self._count_latin(old, -1)
            for word in old.named:
                self.named[word] = _without(self.named[word], doc_id)
                self.named_masks.pop(word, None)
            self.free.append(old.slot)
            self.ids[old.slot] = None
            del self.slot_of[doc_id]
        if doc is None:
            self._check_correctors(latin, in_use)
            return
        if self.free:
            doc.slot = self.free.pop()
            self.ids[doc.slot] = doc_id
        else:
            doc.slot, self.size = self.size, self.size + 1
            self.ids.append(doc_id)
        self.slot_of[doc_id] = doc.slot
        bit = 1 << doc.slot
        for value in doc.facet_values():
            self.masks[value] = self.masks.get(value, 0) | bit
        self.live |= bit
        for column, keys in self.orders.items():
            bisect.insort(keys, _sort_key(column, doc_id, doc))
        self._count_latin(doc, 1)
        for word in doc.named:
            self.named[word] = _with(self.named.get(word), doc_id)
            self.named_masks.pop(word, None)
        self.docs[doc_id] = doc
        self._check_correctors(latin, in_use)

    def _replace(self, doc_id, old, doc):
        """``doc`` in ``old``'s place (its slot): the bit sets, orders and word lists it changes. A word's
        set of documents is shared with older states, so it is replaced, never changed: copying the set of
        a word most names hold (安全) for every edit cost more than the rest of a refresh."""
        doc.slot = old.slot
        bit = 1 << doc.slot
        before, after = set(old.facet_values()), set(doc.facet_values())
        for value in before - after:
            self.masks[value] &= ~bit
        for value in after - before:
            self.masks[value] = self.masks.get(value, 0) | bit
        for column, keys in self.orders.items():
            was, now = _sort_key(column, doc_id, old), _sort_key(column, doc_id, doc)
            if was != now:
                del keys[bisect.bisect_left(keys, was)]
                bisect.insort(keys, now)
        for field in LATIN_FIELDS:
            was, now = old.latin(field), doc.latin(field)
            if set(was) != set(now):
                self.vocabulary[field].update({word: -1 for word in set(was) - set(now)})
                self.vocabulary[field].update({word: 1 for word in set(now) - set(was)})
        for word in set(old.named) - set(doc.named):
            self.named[word] = _without(self.named[word], doc_id)
            self.named_masks.pop(word, None)
        for word in set(doc.named) - set(old.named):
            self.named[word] = _with(self.named.get(word), doc_id)
            self.named_masks.pop(word, None)
        self.docs[doc_id] = doc

    def _check_correctors(self, latin, in_use):
        """A spelling corrector holds the latin words in use: out of date once one comes into use or goes
        out of it (an edit that keeps the name's words keeps it)."""
        for field, word in latin:
            if ((field, word) in in_use) != (self.vocabulary[field][word] > 0):
                self.correctors.pop(field, None)

    def _latin_words(self, *docs):
        return {(field, word) for doc in docs if doc for field in ("name_py", "name_ini") for word in doc.latin(field)}

    def _count_latin(self, doc, step):
        """Count a document's pinyin and initials in (1) or out (-1)."""
        for field in LATIN_FIELDS:
            self.vocabulary[field].update({word: step for word in set(doc.latin(field))})

    def bits_of(self, doc_ids):
        """A bit set of the slots of these documents (those this state does not hold are left out). Made
        without a Python loop, for tens of thousands of matches: a "1" is written into a row of "0"s at
        each slot (a document not held, at the end), and the row is read as a binary number."""
        size = self.size
        digits = bytearray(b"0") * (size + 1)
        deque(map(digits.__setitem__, map(self.slot_of.get, doc_ids, repeat(size)), repeat(ord("1"))), maxlen=0)
        return int(digits[size - 1 :: -1], 2) if size else 0

    def ids_of(self, mask):
        """The documents in a bit set of slots."""
        ids = self.ids
        return [ids[slot] for slot in _slots(mask)]

    def named_mask(self, word):
        """The documents whose name holds ``word``, as a bit set."""
        mask = self.named_masks.get(word)
        if mask is None:
            mask = self.named_masks[word] = self.bits_of(self.named.get(word, ()))
        return mask

    def filter_mask(self, q):
        """The slots passing the query's filters (None: no filter). A group's id stands for its
        categories: the documents list both."""
        mask = None
        for value in (("category", q.category_id), ("county", q.county_id)):
            if value[1]:
                found = self.masks.get(value, 0)
                mask = found if mask is None else mask & found
        if q.pledge_min is not None or q.pledge_max is not None:
            low, high = q.pledge_min, q.pledge_max
            found = 0
            for (facet, version), bits in self.masks.items():
                if facet == "pledge" and (low is None or version >= low) and (high is None or version <= high):
                    found |= bits
            mask = found if mask is None else mask & found
        return mask

    def facets(self, match):
        """Facet counts and the total of the documents in ``match`` (a bit set of slots)."""
        counts = {"category": {}, "county": {}, "pledge": {}, "status": {}}
        for (facet, value), bits in self.masks.items():
            found = (bits & match).bit_count()
            if found:
                counts[facet][value] = found
        return counts, match.bit_count()

    def page(self, column, keep, match, total, skip, take):
        """``take`` of the ``total`` documents in ``match`` (that ``keep`` accepts), in the column's order,
        after the first ``skip``: a few are read from the bit set and sorted, many are found by walking
        the kept order (a filter most agencies pass fills a page within its first rows). Walking visits
        about (skip + take) × documents / total rows; reading and sorting costs about four times that per
        document in the set: whichever is less."""
        if keep is not None and SORT_COST * total * total < (skip + take) * len(self.docs):
            docs, ids = self.docs, self.ids
            chosen = sorted((ids[slot] for slot in _slots(match)), key=lambda d: _sort_key(column, d, docs[d]))
            return chosen[skip : skip + take]
        return self.walk(column, keep, skip, take)

    def walk(self, column, keep, skip, take):
        """``take`` documents that ``keep`` accepts, in the column's order, after the first ``skip``."""
        chosen = []
        for key in self.orders[column]:
            doc_id = _key_id(key)
            if keep is None or keep(self.docs[doc_id]):
                if skip:
                    skip -= 1
                    continue
                chosen.append(doc_id)
                if len(chosen) == take:
                    break
        return chosen


FREEZE_DOCUMENTS = 5000  # a state this large is set aside from the cyclic garbage collector
KEPT_ANSWERS = 512  # answers a state keeps (each a page of ids, facet counts and snippets)
KEPT_WORDS = 256  # text words' bit sets a state keeps (6 KB each at 50,000 documents)
WARM_WORDS = 64  # the most common of them read at start-up
PATCHED_CHANGES = 100  # more changed documents than this in one refresh: the words' bit sets are dropped
SORT_COST = 4  # reading a document's slot from a bit set and sorting it, against one step of a walk
RELOAD_SHARE = 0.1  # more rows changed than this share of the documents: a full read is faster


def _keep(kept, key, value, limit):
    """``kept[key] = value``, the oldest entry dropped first past ``limit``."""
    if len(kept) >= limit:
        with contextlib.suppress(StopIteration, KeyError, RuntimeError):  # another thread's meanwhile
            del kept[next(iter(kept))]
    kept[key] = value


def _with(ids, doc_id):
    """A sorted array of ids with ``doc_id`` added: a new one (older states share the old)."""
    ids = ids if ids is not None else array("q")
    at = bisect.bisect_left(ids, doc_id)
    if at < len(ids) and ids[at] == doc_id:
        return ids
    return ids[:at] + array("q", (doc_id,)) + ids[at:]


def _without(ids, doc_id):
    at = bisect.bisect_left(ids, doc_id)
    if at == len(ids) or ids[at] != doc_id:
        return ids
    return ids[:at] + ids[at + 1 :]


def _slots(bits):
    """The slots in a bit set, in order: the places of the "1"s in its binary digits, lowest first."""
    digits, found = bin(bits)[:1:-1], []
    at = digits.find("1")
    while at >= 0:
        found.append(at)
        at = digits.find("1", at + 1)
    return found


def _bits(slots, size):
    """A bit set (a Python int) of ``slots``."""
    buffer = bytearray((size >> 3) + 1)
    for slot in slots:
        buffer[slot >> 3] |= 1 << (slot & 7)
    return int.from_bytes(buffer, "little")


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
    SearchDocument.name_words,
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

    def warm(self, words=None):
        """Read the match sets of the words most documents hold into this worker's state (at start-up,
        after the state): they are the costliest to read, 20–40 ms each at 50,000 agencies, and the words a
        visitor's sentence is most likely to hold. Only words past ``SCORED_MATCHES`` documents: fewer are
        scored, not read as sets."""
        state = self._fresh()
        rows = database.fetch_all(
            f"SELECT word FROM {SearchWord.__tablename__} WHERE docs > :least ORDER BY docs DESC LIMIT :n",
            {"least": SCORED_MATCHES, "n": WARM_WORDS if words is None else words},
        )
        with _index_scans():
            for (word,) in rows:
                if PLAIN_WORD.fullmatch(word):
                    _mask(querying.Term(querying.TEXT_FIELDS, word), state)
        return len(state.word_masks)

    def forget_answers(self):
        """Drop the answers kept since the index last changed (benchmarks time the search's own work)."""
        state = self._state
        if state is not None:
            state.answers.clear()
            state.listings.clear()

    def versions(self):
        rows = db.session.execute(
            sa.select(SearchDocument.doc_id, SearchDocument.seq).where(SearchDocument.listed.is_(True))
        )
        return {str(doc_id): seq for doc_id, seq in rows}

    def stored_format(self):
        return self.setting("format")

    def setting(self, name):
        """A setting of the index (read raw: /healthz reads two)."""
        rows = database.fetch_all("SELECT value FROM search_settings WHERE name = :name", {"name": name})
        return rows[0][0] if rows else None

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
        rows = _rows(documents, _dialect())  # the analysis first: the counter stays locked briefly
        gen = counters.bump(connection, GENERATION)
        self._write(connection, rows, gen, [int(i) for i in remove_ids])

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
        self._empty_words(connection)  # the documents' rows are written over, and those left unlisted below
        counts = Counter()  # the words' counts, written once at the end (100 upserts of the same words took 4 s)
        for rows in _analysed(batches, _dialect()):
            for row in rows:
                counts.update(row["words"].split())
            self._store(connection, rows, gen)
        _count_words(connection, counts)
        # what was listed and is no longer (every row written above carries this generation)
        connection.execute(
            sa.update(SearchDocument)
            .where(SearchDocument.listed.is_(True), SearchDocument.gen < gen)
            .values(listed=False, gen=gen, words="")
        )
        self._set(connection, "format", analysis.index_format())
        return True

    def _empty(self, connection, gen):
        connection.execute(sa.update(SearchDocument).values(listed=False, gen=gen, words=""))
        self._empty_words(connection)

    def _empty_words(self, connection):
        connection.execute(sa.delete(SearchWord))
        connection.execute(sa.text(f"DELETE FROM {_words_table()}"))

    def _write(self, connection, rows, gen, gone):
        """Write ``rows`` and remove the ``gone`` documents, with the word counts they change."""
        changed = [row["doc_id"] for row in rows] + list(gone)
        held = {}  # doc_id: (its words, its version) as the index holds it
        for start in range(0, len(changed), 500):
            for doc_id, words, seq, listed in connection.execute(
                sa.select(SearchDocument.doc_id, SearchDocument.words, SearchDocument.seq, SearchDocument.listed).where(
                    SearchDocument.doc_id.in_(changed[start : start + 500])
                )
            ):
                held[doc_id] = (words if listed else "", seq)
        # A version older than the one the index holds is not written back over it (a heal that read the
        # document before a later save committed).
        rows = [row for row in rows if row["seq"] >= held.get(row["doc_id"], ("", -1))[1]]
        counts = Counter()
        for doc_id in [row["doc_id"] for row in rows] + list(gone):
            counts.subtract(held.get(doc_id, ("", 0))[0].split())
        for row in rows:
            counts.update(row["words"].split())
        if gone:
            connection.execute(
                sa.update(SearchDocument).where(SearchDocument.doc_id.in_(gone)).values(listed=False, gen=gen, words="")
            )
        _count_words(connection, counts)
        sqlite_fts = _dialect() == "sqlite"
        stale = [row["doc_id"] for row in rows] + list(gone)
        key = "rowid" if sqlite_fts else "doc_id"
        for start in range(0, len(stale), 500):
            connection.execute(
                sa.text(f"DELETE FROM {_words_table()} WHERE {key} IN :ids").bindparams(
                    sa.bindparam("ids", expanding=True)
                ),
                {"ids": stale[start : start + 500]},
            )
        self._store(connection, rows, gen)

    def _store(self, connection, rows, gen):
        """Write ``rows`` over the documents' rows and into the table of words (whose rows for them are gone)."""
        if not rows:
            return
        sqlite_fts = _dialect() == "sqlite"
        table = SearchDocument.__table__
        columns = [c.name for c in table.columns if c.name != "gen"]
        insert = (sqlite.insert if sqlite_fts else postgresql.insert)(table).values(
            {**{c: sa.bindparam(c) for c in columns}, "gen": gen}
        )
        update = {c: insert.excluded[c] for c in [*columns, "gen"]}
        connection.execute(insert.on_conflict_do_update(index_elements=["doc_id"], set_=update), rows)
        if sqlite_fts:
            words = (
                f"INSERT INTO {FTS_TABLE} (rowid, name, name_py, name_ini, content) "
                "VALUES (:doc_id, :fts_name, :fts_py, :fts_ini, :fts_content)"
            )
        else:
            words = f"INSERT INTO {TERMS_TABLE} (doc_id, terms) VALUES (:doc_id, CAST(:vector AS tsvector))"
        connection.execute(sa.text(words), rows)

    # --- reading -----------------------------------------------------------------------------
    def _fresh(self):
        """This worker's per-document values, brought up to the committed generation: one primary-key
        read when nothing changed, the changed rows when something did."""
        gen = counters.value(GENERATION)
        with self._lock:
            state = self._state
            if state is not None and state.gen == gen and state.built:
                return state
            changed = None
            if state is not None and gen >= state.gen:
                changed = db.session.execute(
                    sa.select(*_STATE_COLUMNS, SearchDocument.words).where(SearchDocument.gen > state.gen)
                ).all()
            if changed is None or len(changed) > RELOAD_SHARE * max(len(state.docs), 1):
                # first use, the database went back (a restore), or a rebuild: read it all afresh
                state = _State(db.session.execute(sa.select(*_STATE_COLUMNS).where(SearchDocument.listed.is_(True))))
                _give_back_memory(len(state.docs))
            else:  # the rows written since, applied to a copy: searches in other threads read the old one
                state = state.copy()
                if len(changed) > PATCHED_CHANGES:
                    state.word_masks.clear()  # searched afresh: cheaper than setting the bits of many documents
                for row in changed:
                    state.put(row.doc_id, _Doc(row) if row.listed else None, set(row.words.split()))
            state.gen, state.built = gen, bool(self.stored_format())
            self._state = state
        if not state.built:
            raise IndexNotBuilt("the search index has not been built yet (a start-up is building it)")
        return state

    def plan(self, text):
        """The plan ``text`` is searched by (for tests and diagnostics)."""
        return querying.plan(querying.clean_text(text).lower(), _Lexicon(self._fresh()))[0]

    def search(self, q):
        """Hits for one page, with facet counts and highlights; hostile input gives no results. Its
        statements run in a savepoint: one that fails (a timeout) leaves the caller's transaction usable,
        for the directory's answer from the database, say (PostgreSQL aborts a transaction on an error)."""
        state = self._fresh()
        key, listing = dataclasses.astuple(q), not querying.clean_text(q.text)
        answer = state.kept(key, listing)  # asked already since the index (or, without words, a listing) changed
        if answer is not None:
            return answer
        if listing:  # the directory: no text statement, nothing to fail
            answer = self._search(q, state)  # (a savepoint was 60 % of a directory page's search)
        else:
            with db.session.begin_nested():
                answer = self._search(q, state)
        state.remember(key, answer, listing)
        return answer

    def _search(self, q, state):
        text = querying.clean_text(q.text).lower()
        lexicon = _Lexicon(state)
        plan, latin = querying.plan(text, lexicon)
        keep = _filter(q)
        wanted = state.filter_mask(q)
        docs = state.docs
        if plan is querying.EVERYTHING:  # the directory: no words, the kept orders
            match = state.live if wanted is None else state.live & wanted
            facets, total = state.facets(match)
            page, pages = querying.page_bounds(total, q)
            column = "rating" if q.sort == "rating" else "published"
            chosen = state.page(column, keep, match, total, (page - 1) * q.per_page, q.per_page)
            return SearchResult([Hit(doc_id) for doc_id in chosen], total, page, pages, facets, None)
        with _index_scans():
            found = _matches(plan, state, lexicon)
        if isinstance(found, _Tiers):  # thousands of matches: ranked by bit sets, not one by one
            match = found.match if wanted is None else found.match & wanted
            facets, total = state.facets(match)
            page, pages = querying.page_bounds(total, q)
            if q.sort in ("newest", "rating"):
                tiers = [match]
            else:
                tiers = [tier & match for tier in found.tiers()]
            column = "rating" if q.sort == "rating" else "published"
            chosen = _take(state, column, tiers, (page - 1) * q.per_page, q.per_page)
            return SearchResult(_highlighted(chosen, plan), total, page, pages, facets, None)
        scored = [(doc_id, score) for doc_id, score in found if doc_id in docs and (keep is None or keep(docs[doc_id]))]
        facets, total = state.facets(_bits((docs[doc_id].slot for doc_id, _ in scored), state.size))
        page, pages = querying.page_bounds(total, q)
        if q.sort == "newest":
            key = lambda item: (-docs[item[0]].published, -item[0])  # noqa: E731
        elif q.sort == "rating":
            key = lambda item: (-docs[item[0]].rating, -docs[item[0]].published, -item[0])  # noqa: E731
        else:
            key = lambda item: (-item[1], -docs[item[0]].published, -item[0])  # noqa: E731
        best = heapq.nsmallest(page * q.per_page, scored, key=key)
        chosen = [doc_id for doc_id, _ in best[(page - 1) * q.per_page :]]
        hits = _highlighted(chosen, plan)
        suggestion = None
        if total == 0 and latin:

            def finds(respelled):
                return any(doc_id in docs and (keep is None or keep(docs[doc_id])) for doc_id in _ids(respelled))

            suggestion = querying.suggestion(text, latin, lexicon, finds)
        return SearchResult(hits, total, page, pages, facets, suggestion)


def _give_back_memory(documents):
    """After a full read: the state's hundreds of thousands of objects are set aside from the cyclic
    garbage collector (each full collection walked them all: 100 ms at 50,000 documents, now and then in
    the middle of a request; they are freed by their counts when a later state replaces them), and the
    heap's free pages are handed back to the system (the rows read and the lists the state was built from
    leave ten megabytes free, counted in the worker's memory until then: glibc's malloc_trim). A small
    register's state costs a collection little: it is left to the collector (the tests build hundreds)."""
    if documents >= FREEZE_DOCUMENTS:
        gc.collect()
        gc.freeze()
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _dialect():
    return db.engine.dialect.name


def _words_table():
    """Where the documents' words are searched: SQLite's FTS5 table, PostgreSQL's table of vectors (a
    removed document has no row there)."""
    return FTS_TABLE if _dialect() == "sqlite" else TERMS_TABLE


def _filter(q):
    """keep(doc): whether a document passes the query's filters, or None when there are none."""
    if not (q.category_id or q.county_id or q.pledge_min is not None or q.pledge_max is not None):
        return None

    def keep(doc):
        if q.category_id and q.category_id not in doc.categories:
            return False
        if q.county_id and q.county_id not in doc.counties:
            return False
        if q.pledge_min is not None and doc.pledge < q.pledge_min:
            return False
        return q.pledge_max is None or doc.pledge <= q.pledge_max

    return keep


# --- the two dialects --------------------------------------------------------------------------------
def _analysed(batches, dialect):
    """The rows of each batch of documents, in order. From the second batch on, the analysis (jieba, two
    thirds of a rebuild) runs in a second process while this one reads the next batch from the database
    and writes the last: a rebuild of 50,000 agencies took 90 s on one core. A batch or two is analysed
    here (starting a process costs more), and so is everything when a process cannot be started."""
    batches = iter(batches)
    first = next(batches, None)
    if first is None:
        return
    yield _rows(first, dialect)
    second = next(batches, None)
    if second is None:
        return
    try:
        pool = _analysis_pool()
    except (OSError, RuntimeError) as exc:
        log.warning("a rebuild's analysis runs in this process (%s)", exc)
        pool = None
    if pool is None:
        yield _rows(second, dialect)
        for batch in batches:
            yield _rows(batch, dialect)
        return
    with pool:
        pending = deque([pool.submit(_rows, second, dialect)])
        for batch in batches:
            pending.append(pool.submit(_rows, batch, dialect))
            if len(pending) > 2:  # the child at most a batch ahead: bounded memory
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _analysis_pool():
    """A process that analyses documents (started afresh: never forked from a threaded web worker)."""
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    return ProcessPoolExecutor(
        max_workers=1,
        mp_context=get_context("spawn"),
        initializer=analysis.init_jieba,
        initargs=(analysis.cache_dir(),),
    )


def _rows(documents, dialect):
    return [_row(doc, dialect) for doc in documents]


def _row(doc, dialect):
    """The table's values (and SQLite's FTS columns, PostgreSQL's weighted vector) for a document."""
    name_words = _indexable(querying.index_words(doc["name"]))
    content_words = _indexable(querying.index_words(doc["content"]))
    py = _indexable(re.findall(r"[a-z]+", doc["name_py"]))
    ini = _indexable(re.findall(r"[a-z]+", doc["name_ini"]))
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
        "name_words": " ".join(dict.fromkeys(name_words)),
        "words": " ".join(sorted(set(name_words) | set(content_words))),
    }
    if dialect == "sqlite":
        row.update(
            fts_name=" ".join(name_words),
            fts_py=" ".join(py),
            fts_ini=" ".join(ini),
            fts_content=" ".join(content_words),
        )
    else:
        row["vector"] = _tsvector({"name": name_words, "name_py": py, "name_ini": ini, "content": content_words})
    return row


def _count_words(connection, counts):
    """Add ``counts`` ({word: change}) to search_words, in the words' order (two transactions locking
    the same rows lock them in the same order)."""
    changes = [{"word": word, "docs": n} for word, n in sorted(counts.items()) if n]
    if not changes:
        return
    insert = (sqlite.insert if _dialect() == "sqlite" else postgresql.insert)(SearchWord.__table__)
    connection.execute(
        insert.on_conflict_do_update(
            index_elements=["word"], set_={"docs": SearchWord.__table__.c.docs + insert.excluded.docs}
        ),
        changes,
    )


MAX_WORD_BYTES = 2000  # PostgreSQL refuses a longer word in a tsvector (2047 bytes), and the save with it


def _indexable(words):
    """The words an index can hold: a run of letters thousands long (typed into a description) is not one
    anybody searches for, and must not stop the agency's save."""
    return [word for word in words if len(word.encode("utf-8")) <= MAX_WORD_BYTES]


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
        if analysis.HAN.search(node.word) and {"name", "content"} <= set(node.fields):
            # A Chinese word is only ever in the name or the text: no weight to ask for, so the GIN index
            # answers alone (a weight makes PostgreSQL recheck every candidate row's vector).
            return _lexeme(node.word)
        return _lexeme(node.word) + ":" + "".join(sorted(PG_WEIGHTS[f] for f in node.fields))
    joiner = " & " if isinstance(node, querying.All) else " | "
    return "(" + joiner.join(_tsquery(part) for part in node.parts) + ")"


@contextlib.contextmanager
def _index_scans():
    """PostgreSQL's planner prices reading every row's vector below the GIN index for a word a few hundred
    agencies hold, though each vector is read out of line (TOAST): a sequential scan took 31 ms where the
    index takes 5 (10,000 agencies, analysed). Sequential scans are discouraged for the text's statements
    only (a full read of the documents' values still scans); a failed one is undone with the search's
    savepoint."""
    postgresql = _dialect() == "postgresql"
    if postgresql:
        db.session.execute(sa.text("SET LOCAL enable_seqscan = off"))
    yield
    if postgresql:
        db.session.execute(sa.text("SET LOCAL enable_seqscan = on"))


def _matches(plan, state, lexicon):
    """(doc_id, score) of every listed document the plan finds, a higher score ranking first; or, past
    ``SCORED_MATCHES`` matches, the matches and their ranks as bit sets (``_Tiers``).

    The query's words found in a document's name count before the rest of the score: BM25's weight for
    a word most agencies use (安全, 南通) is next to nothing, so an agency with only one rare word of the
    query in its name would otherwise rank above the agency the whole query names (pinyin and initials
    are the name's: a match on them is a match in the name). For a ranked Any (a sentence's words) the
    number of its words a document holds comes first of all."""
    words = list(dict.fromkeys(t.word for t in querying.terms(plan) if "name" in t.fields))
    held = Counter()
    if isinstance(plan, querying.Any) and plan.ranked:  # the parts' matches, counted, are the whole's
        masks = [_mask(part, state) for part in plan.parts]
        match = _levels(masks)[1]
        if match.bit_count() > SCORED_MATCHES:
            return _Tiers(match, masks, [state.named_mask(w) for w in words])
        for mask in masks:
            held.update(state.ids_of(mask))
        scored = _scored(plan)
        if scored is None:  # cannot be: the whole finds what its parts find
            scored = [(doc_id, 0.0) for doc_id in held]
    else:
        many = _at_most(plan, lexicon) > SCORED_MATCHES and _mask(plan, state)  # likely too many to score: ask first
        scored = None if many and many.bit_count() > SCORED_MATCHES else _scored(plan)
        if scored is None:
            return _Tiers(many or _mask(plan, state), [], [state.named_mask(w) for w in words])
    if not scored or isinstance(plan, querying.Code):
        return scored
    named = Counter()
    for word in words:
        named.update(state.named.get(word, ()))
    if not named and not held:
        return scored
    return [(doc_id, held[doc_id] * COORDINATION + named[doc_id] * NAMED + score) for doc_id, score in scored]


PLAIN_WORD = re.compile(r"\w+")  # a word whose match is its presence among a document's words, in every engine


def _mask(plan, state):
    """The documents the plan finds, as a bit set of the state's slots. A text word's is kept by the
    state once read (``_State.word_masks``), and a plan of words kept already is made of theirs; any
    other plan is one statement (the index intersects common words faster than they are read one by one)."""
    words = list(querying.terms(plan))
    plain = bool(words) and all(t.fields == querying.TEXT_FIELDS and PLAIN_WORD.fullmatch(t.word) for t in words)
    if plain and isinstance(plan, querying.Term):
        mask = state.word_masks.get(plan.word)
        if mask is None:
            mask = state.bits_of(_ids(plan))
            state.remember_word(plan.word, mask)
        return mask
    masks = [state.word_masks.get(t.word) for t in words] if plain and plan.parts == tuple(words) else [None]
    if None in masks:
        return state.bits_of(_ids(plan))
    return functools.reduce(operator.and_ if isinstance(plan, querying.All) else operator.or_, masks)


def _at_most(plan, lexicon):
    """At most how many documents the plan finds, from the index's word counts (a text word's count is
    of the documents holding it in their name or text, either field)."""
    if isinstance(plan, querying.Term):
        latin = [f for f in plan.fields if f in querying.LATIN_FIELDS]
        text = [f for f in plan.fields if f not in querying.LATIN_FIELDS]
        return sum(lexicon.frequency(f, plan.word) for f in latin) + (
            lexicon.frequency(text[0], plan.word) if text else 0
        )
    if isinstance(plan, querying.All):
        return min(_at_most(part, lexicon) for part in plan.parts)
    if isinstance(plan, querying.Any):
        return sum(_at_most(part, lexicon) for part in plan.parts)
    return 0  # a credit code, nothing: a few at most


def _levels(masks):
    """``levels[j]``: the documents in at least ``j`` of the bit sets (``levels[0]``: every one, -1)."""
    levels = [-1] + [0] * len(masks)
    for mask in masks:
        for j in range(len(masks), 0, -1):
            levels[j] |= levels[j - 1] & mask
    return levels


class _Tiers:
    """Thousands of matches: text scores say little about which of them is meant (see SCORED_MATCHES), so
    they rank by how many of a sentence's words they hold, then by how many of the query's words their
    names hold, then newest first; each rank a bit set, best first."""

    def __init__(self, match, held, named):
        self.match, self.held, self.named = match, held, named

    def tiers(self):
        by_held, by_named = _exactly(self.held), _exactly(self.named)
        return [h & n for h in by_held for n in by_named]


def _exactly(masks):
    """Bit sets of the documents in exactly k of ``masks``, for k from all of them down to none."""
    levels = _levels(masks) + [0]
    return [levels[k] & ~levels[k + 1] for k in range(len(masks), -1, -1)]


def _take(state, column, tiers, skip, take):
    """``take`` documents after the first ``skip``: the tiers in turn, each in the column's order."""
    chosen = []
    for bits in tiers:
        count = bits.bit_count() if bits else 0
        if count <= skip:
            skip -= count
            continue
        member = bits.to_bytes((state.size >> 3) + 1, "little")
        keep = lambda doc, member=member: member[doc.slot >> 3] >> (doc.slot & 7) & 1  # noqa: E731
        chosen += state.page(column, keep, bits, count, skip, take - len(chosen))
        skip = 0
        if len(chosen) >= take:
            break
    return chosen[:take]


NAMED = 1e3  # above any score a query's words can give
COORDINATION = 1e6  # above any count of words in the name
# The most matches a query's text score is computed for: past it the matches are ranked by the words
# in their names, then newest first. A word thousands of agencies use says little about which of them is
# meant, and scoring them all cost more than everything else a search does (a cap on one query's work).
SCORED_MATCHES = 1000


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
        sql = f"SELECT rowid, -bm25({FTS_TABLE}, {weights}) FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH :q"
        params = {"q": _fts5(plan)}
    else:
        # ts_rank's weights are listed D, C, B, A: text, initials, pinyin, name
        weights = "{" + ", ".join(str(BOOSTS[f] / 4) for f in ("content", "name_ini", "name_py", "name")) + "}"
        sql = (
            f"SELECT doc_id, ts_rank(CAST(:weights AS real[]), terms, CAST(:q AS tsquery)) FROM {TERMS_TABLE} "
            "WHERE terms @@ CAST(:q AS tsquery)"
        )
        params = {"q": _tsquery(plan), "weights": weights}
    rows = database.fetch_all(f"{sql} LIMIT {SCORED_MATCHES + 1}", params)
    return rows if len(rows) <= SCORED_MATCHES else None  # None: too many to score


def _ids(plan):
    """The ids of every listed document the plan finds, unscored: read as one string, which for tens of
    thousands of matches costs a third of as many rows."""
    if plan is querying.NOTHING or isinstance(plan, querying.Code):
        return [doc_id for doc_id, _score in _scored(plan)]
    if _dialect() == "sqlite":
        sql, params = f"SELECT group_concat(rowid) FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH :q", {"q": _fts5(plan)}
    else:
        sql = f"SELECT string_agg(CAST(doc_id AS text), ',') FROM {TERMS_TABLE} WHERE terms @@ CAST(:q AS tsquery)"
        params = {"q": _tsquery(plan)}
    ((joined,),) = database.fetch_all(sql, params)
    return list(map(int, joined.split(","))) if joined else []


class _Lexicon:
    """What ``querying`` asks of the index's words: the latin fields from memory, the text fields from
    the counts of ``search_words``."""

    def __init__(self, state):
        self.state, self.known = state, {}

    def documents(self):
        return len(self.state.docs)

    def frequency(self, fieldname, word):
        """For the text fields: how many documents hold the word in their name or text (either field)."""
        if fieldname in querying.LATIN_FIELDS:
            return max(0, self.state.vocabulary[fieldname][word])
        if word not in self.known:
            rows = database.fetch_all(f"SELECT docs FROM {SearchWord.__tablename__} WHERE word = :word", {"word": word})
            self.known[word] = rows[0][0] if rows else 0
        return self.known[word]

    def __contains__(self, key):
        return self.frequency(*key) > 0

    def suggest(self, fieldname, word, maxdist):
        correctors = self.state.correctors
        if fieldname not in correctors:
            words = sorted(w for w, n in self.state.vocabulary[fieldname].items() if n > 0)
            correctors[fieldname] = ListCorrector(words) if words else None  # (Whoosh's fails on no words)
        if correctors[fieldname] is None:
            return None
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
    # each fragment is escaped already (a str, as a Hit's highlights are): joined as markup, not escaped again
    return str(Markup(" … ").join(Markup(_marked(text, start, end, matches)) for start, end, _n in best))


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
