"""The Whoosh backend: one index per server, in a folder under instance/, written after each commit and
healed from the database when it falls behind (see ``search``). It runs the plans of ``querying``.
"""

import os
import shutil
import threading

from whoosh import fields, index
from whoosh import query as Q
from whoosh.analysis import RegexTokenizer
from whoosh.highlight import ContextFragmenter, HtmlFormatter

from marketplace.search import analysis, querying
from marketplace.search.querying import Hit, SearchResult

HIGHLIGHT_FIELDS = ("name", "description")
# Snippets of the description are highlighted with the matches of the combined field.
FORMAT_FILE = "marketplace-format"  # analysis.index_format() of the last rebuild


def _text(value):
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def schema():
    chinese = analysis.chinese_analyzer()
    spaces = RegexTokenizer(r"[a-z]+")
    return fields.Schema(
        id=fields.ID(stored=True, unique=True, sortable=True),
        seq=fields.NUMERIC(bits=64, sortable=True),  # the source's count of the document's changes
        uscc=fields.ID(),  # lower case
        name=fields.TEXT(analyzer=chinese, stored=True, field_boost=4.0),
        name_py=fields.TEXT(analyzer=spaces, field_boost=3.0),
        name_ini=fields.TEXT(analyzer=spaces, field_boost=3.0),
        content=fields.TEXT(analyzer=chinese),  # former names, description, categories, scopes, staff titles
        description=fields.STORED(),  # for highlighted snippets
        category_ids=fields.KEYWORD(commas=True, sortable=True),
        county_ids=fields.KEYWORD(commas=True, sortable=True),
        status=fields.ID(sortable=True),
        pledge_version=fields.NUMERIC(sortable=True),
        published_ts=fields.NUMERIC(bits=64, sortable=True),
        updated_ts=fields.NUMERIC(bits=64, stored=True, sortable=True),
        rating=fields.NUMERIC(sortable=True),  # average rating × 100 (Whoosh cannot sort float columns)
    )


def whoosh_query(node):
    """A ``querying`` plan as a Whoosh query."""
    if node is querying.EVERYTHING:
        return Q.Every()
    if node is querying.NOTHING:
        return Q.NullQuery
    if isinstance(node, querying.Code):
        return Q.Term("uscc", node.code)
    if isinstance(node, querying.Term):
        parts = [Q.Term(f, node.word) for f in node.fields]
        return Q.Or(parts) if len(parts) > 1 else parts[0]
    if isinstance(node, querying.All):
        return Q.And([whoosh_query(part) for part in node.parts])
    # a coordination bonus for a ranked Any: an agency matching more of the words ranks above one matching few
    return Q.Or([whoosh_query(part) for part in node.parts], **({"scale": 0.9} if node.ranked else {}))


class _Lexicon:
    """What ``querying`` asks of the index's words, answered by a Whoosh searcher."""

    def __init__(self, searcher):
        self.searcher, self.reader = searcher, searcher.reader()

    def documents(self):
        return self.reader.doc_count()

    def frequency(self, fieldname, word):
        return self.reader.doc_frequency(fieldname, word)

    def __contains__(self, key):
        return key in self.reader

    def suggest(self, fieldname, word, maxdist):
        if not self.searcher.doc_count():  # nothing to suggest from (an empty index's reader cannot)
            return None
        options = self.searcher.suggest(fieldname, word, limit=1, maxdist=maxdist)
        return options[0] if options else None


class WhooshBackend:
    """One Whoosh index in a folder; one searcher per process, refreshed only when the index changed."""

    transactional = False  # written after the commit; healed when a write was missed

    def __init__(self, path, write_timeout=10.0):
        self.path = str(path)
        self.write_timeout = write_timeout  # seconds an index write waits for another worker's
        self._ix = None
        self._searcher = None
        self._lock = threading.Lock()

    # --- lifecycle ---------------------------------------------------------------------------
    def _open(self):
        if self._ix is None:
            self._ix = index.open_dir(self.path)
        return self._ix

    def exists(self):
        """Whether the folder holds an index at all (it may still be corrupt)."""
        return os.path.isdir(self.path) and any(name.endswith(".toc") for name in os.listdir(self.path))

    def create(self):
        """A new, empty index (whatever was in the folder is removed)."""
        self.close()
        shutil.rmtree(self.path, ignore_errors=True)
        os.makedirs(self.path, exist_ok=True)
        self._ix = index.create_in(self.path, schema())
        with open(os.path.join(self.path, FORMAT_FILE), "w", encoding="utf-8") as handle:
            handle.write(analysis.index_format())
        return self._ix

    def forget(self):
        """Drop this worker's searcher and caches (the next search opens the index afresh)."""
        self.close()

    def close(self):
        with self._lock:
            if self._searcher is not None:
                self._searcher.close()
            self._searcher, self._ix = None, None

    def status(self):
        """{"documents": n} of the index; raises when it is missing or corrupt."""
        with self._searcher_for_read() as searcher:
            return {"documents": searcher.doc_count()}

    def warm(self):
        """Nothing to read ahead at start-up: ``status()`` has opened the searcher, and a word's postings
        are read from the index files when searched."""
        return 0

    def versions(self):
        """{document id: seq} of every document the index holds (read from its columns, not its
        stored fields: fast enough for /healthz with a province's agencies)."""
        with self._searcher_for_read() as searcher:
            reader = searcher.reader()
            if not reader.doc_count_all():  # an empty index has no columns yet
                return {}
            ids, seqs = reader.column_reader("id"), reader.column_reader("seq")
            return {_text(ids[docnum]): int(seqs[docnum]) for docnum in reader.all_doc_ids()}

    # --- writing -----------------------------------------------------------------------------
    def index(self, documents, remove_ids=(), *, writer=None):
        """Add or replace documents and remove others, in one commit."""
        own = writer is None
        writer = writer or self._open().writer(timeout=self.write_timeout)
        try:
            for doc_id in remove_ids:
                writer.delete_by_term("id", str(doc_id))
            for doc in documents:
                writer.update_document(**doc)
        except Exception:
            if own:
                writer.cancel()
            raise
        if own:
            writer.commit()

    def rebuild(self, batches):
        """Build a fresh index from an iterable of document batches (a progress bar wraps it)."""
        ix = self.create()
        writer = ix.writer(procs=1, limitmb=256)
        try:
            for batch in batches:
                for doc in batch:
                    writer.add_document(**doc)
        except Exception:
            writer.cancel()
            raise
        writer.commit(optimize=True)

    def stored_format(self):
        """The analysis format the index was built with (None for an index older than the marker)."""
        try:
            with open(os.path.join(self.path, FORMAT_FILE), encoding="utf-8") as handle:
                return handle.read().strip()
        except OSError:
            return None

    # --- reading -----------------------------------------------------------------------------
    class _Borrow:
        def __init__(self, searcher):
            self.searcher = searcher

        def __enter__(self):
            return self.searcher

        def __exit__(self, *exc):
            return False

    def _searcher_for_read(self):
        with self._lock:
            if self._searcher is None:
                self._searcher = self._open().searcher()
            elif not self._searcher.up_to_date():
                # A new searcher, not refresh(): refresh reuses segment readers and would keep
                # showing documents deleted since (a withdrawn agency).
                self._searcher.close()
                self._searcher = self._open().searcher()
            return self._Borrow(self._searcher)

    def search(self, q):
        """Hits for one page, with facet counts and highlights; hostile input gives no results."""
        with self._searcher_for_read() as searcher:
            text = querying.clean_text(q.text).lower()
            lexicon = _Lexicon(searcher)
            plan, latin = querying.plan(text, lexicon)
            text_query = whoosh_query(plan)
            filters = self._filters(q)
            if filters and isinstance(text_query, Q.Every):
                # Filters alone: intersecting with "every document" would walk all of them.
                query = Q.And(filters) if len(filters) > 1 else filters[0]
            else:
                query = Q.And([text_query] + filters) if filters else text_query
            searched_text = not isinstance(text_query, Q.Every)
            if q.sort == "newest":
                sortedby, reverse = "published_ts", True
            elif q.sort == "rating":
                sortedby, reverse = "rating", True
            else:
                sortedby, reverse = (None, False) if q.text.strip() else ("published_ts", True)
            # Facets from the unscored set of matching documents and per-document values cached per
            # searcher; the page itself is a top-N search Whoosh can cut short.
            facet_counts, total = self._cached_facets(searcher, query)
            page, pages = querying.page_bounds(total, q)
            if not searched_text:  # the directory without a text query: no scores, one cached order
                order = self._cached_order(searcher, query, "rating" if q.sort == "rating" else "published_ts")
                chosen = order[(page - 1) * q.per_page : page * q.per_page]
                hits = [Hit(int(searcher.stored_fields(docnum)["id"])) for docnum in chosen]
                return SearchResult(hits, total, page, pages, facet_counts, None)
            results = searcher.search_page(
                query, page, pagelen=q.per_page, sortedby=sortedby, reverse=reverse, terms=True
            )
            results.results.fragmenter = ContextFragmenter(maxchars=80, surround=24)
            results.results.formatter = HtmlFormatter(tagname="mark", between=" … ")
            hits = []
            for hit in results:
                highlights = {}
                for name in HIGHLIGHT_FIELDS if searched_text else ():
                    try:
                        if name == "description":  # stored only: highlight it with the combined field's matches
                            snippet = hit.highlights("content", text=hit.get("description", ""), top=2)
                        else:
                            snippet = hit.highlights(name, top=2)
                    except Exception:  # a highlight is a nicety; never fail a search for it
                        snippet = ""
                    if snippet:
                        highlights[name] = snippet
                hits.append(Hit(int(hit["id"]), highlights))
            suggestion = None
            if total == 0 and latin:

                def finds(respelled):
                    query = whoosh_query(respelled)
                    return not searcher.search(Q.And([query, *filters]) if filters else query, limit=1).is_empty()

                suggestion = querying.suggestion(text, latin, lexicon, finds)
            return SearchResult(hits, total, page, pages, facet_counts, suggestion)

    FACETS = (
        ("category", "category_ids"),
        ("county", "county_ids"),
        ("pledge", "pledge_version"),
        ("status", "status"),
    )

    def _facet_values(self, searcher):
        """{facet: [values of document n]} for every document, built once per searcher."""
        cache = getattr(self, "_facet_cache", None)
        if cache is not None and cache[0] is searcher:
            return cache[1]
        reader = searcher.reader()
        size = reader.doc_count_all()
        values = {}
        for facet, fieldname in self.FACETS:
            per_doc = [[] for _ in range(size)]
            if fieldname == "pledge_version" and size:  # an empty index's reader has no columns
                column = reader.column_reader(fieldname)
                for docnum in range(size):
                    per_doc[docnum].append(int(column[docnum]))
            else:
                for term in reader.lexicon(fieldname):
                    text = term.decode("utf-8") if isinstance(term, bytes) else term
                    if fieldname != "status" and not text.isdigit():
                        continue
                    value = text if fieldname == "status" else int(text)
                    for docnum in reader.postings(fieldname, term).all_ids():
                        per_doc[docnum].append(value)
            values[facet] = per_doc
        self._facet_cache = (searcher, values)
        return values

    def _cached_facets(self, searcher, query):
        """Facet counts and the total for a query; kept while the index is unchanged (the same
        filters are asked for again and again), at most 256 queries."""
        cache = getattr(self, "_counts_cache", None)
        if cache is None or cache[0] is not searcher:
            cache = self._counts_cache = (searcher, {})
        key = repr(query)
        found = cache[1].get(key)
        if found is None:
            found = self._facet_counts(searcher, searcher.docs_for_query(query))
            if len(cache[1]) >= 256:
                cache[1].pop(next(iter(cache[1])))
            cache[1][key] = found
        return found

    def _cached_order(self, searcher, query, column):
        """Matching document numbers, newest (or best rated) first, kept while the index is unchanged."""
        cache = getattr(self, "_order_cache", None)
        if cache is None or cache[0] is not searcher:
            cache = self._order_cache = (searcher, {})
        key = (repr(query), column)
        order = cache[1].get(key)
        if order is None:
            values = searcher.reader().column_reader(column)
            order = sorted(searcher.docs_for_query(query), key=lambda docnum: (-values[docnum], docnum))
            if len(cache[1]) >= 256:
                cache[1].pop(next(iter(cache[1])))
            cache[1][key] = order
        return order

    def _facet_counts(self, searcher, docnums):
        values = self._facet_values(searcher)
        counts = {facet: {} for facet, _ in self.FACETS}
        total = 0
        for docnum in docnums:
            total += 1
            for facet, _ in self.FACETS:
                bucket = counts[facet]
                for value in values[facet][docnum]:
                    bucket[value] = bucket.get(value, 0) + 1
        return counts, total

    def _filters(self, q):
        filters = []
        if q.category_id:
            filters.append(Q.Term("category_ids", str(q.category_id)))
        if q.county_id:
            filters.append(Q.Term("county_ids", str(q.county_id)))
        if q.pledge_min is not None or q.pledge_max is not None:
            filters.append(Q.NumericRange("pledge_version", q.pledge_min, q.pledge_max))
        return filters

    def plan(self, text):
        """The plan ``text`` is searched by (for tests and diagnostics)."""
        with self._searcher_for_read() as searcher:
            return querying.plan(querying.clean_text(text).lower(), _Lexicon(searcher))[0]
