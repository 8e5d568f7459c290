"""The search interface, and its Whoosh implementation (one index per server, under instance/).

A shared backend for a province-wide deployment would implement the same four methods.
"""

import os
import re
import shutil
import threading
import unicodedata
from dataclasses import dataclass, field

from whoosh import fields, index
from whoosh import query as Q
from whoosh.analysis import RegexTokenizer
from whoosh.highlight import ContextFragmenter, HtmlFormatter

from marketplace.search import analysis

# The name is its own field (boosted, so name hits rank first); everything else is one field:
# a word then costs two posting lists instead of six.
TEXT_FIELDS = ("name", "content")
HIGHLIGHT_FIELDS = ("name", "description")
# Snippets of the description are highlighted with the matches of the combined field.
MAX_QUERY = 100
# More meaningful words than this is a sentence ("we are a chemical plant in Rudong and need …"),
# not a list of requirements: its words are ranked, not all required (see _sentence_query).
SENTENCE_WORDS = 4
SENTENCE_TERMS = 4  # at most this many of a sentence's words are asked for: the most selective ones
COMMON_SHARE = 0.5  # a word more than this share of agencies use does not narrow anything
SORTS = ("relevance", "newest", "rating")
FORMAT_FILE = "marketplace-format"  # analysis.index_format() of the last rebuild


@dataclass
class SearchQuery:
    text: str = ""
    category_id: int | None = None
    county_id: int | None = None
    pledge_min: int | None = None  # pledge_version at least …
    pledge_max: int | None = None  # … or below (older versions)
    sort: str = "relevance"
    page: int = 1
    per_page: int = 20


@dataclass
class Hit:
    provider_id: int
    highlights: dict = field(default_factory=dict)


@dataclass
class SearchResult:
    hits: list
    total: int
    page: int
    pages: int
    facets: dict
    suggestion: str | None = None


SUGGEST_MIN_LETTERS = 4


def clean_text(text):
    """What a visitor typed, made safe: no control characters, bounded, lower-case latin."""
    text = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in (text or ""))
    return re.sub(r"\s+", " ", text).strip()[:MAX_QUERY]


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


class WhooshBackend:
    """One Whoosh index in a folder; one searcher per process, refreshed only when the index changed."""

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

    def close(self):
        with self._lock:
            if self._searcher is not None:
                self._searcher.close()
            self._searcher, self._ix = None, None

    def status(self):
        """{"documents": n} of the index; raises when it is missing or corrupt."""
        with self._searcher_for_read() as searcher:
            return {"documents": searcher.doc_count()}

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
            text = clean_text(q.text).lower()
            text_query, suggestion_terms = self._text_query(searcher, text)
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
            pages = max(1, -(-total // q.per_page))
            page = min(max(1, q.page), pages)
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
            if total == 0 and suggestion_terms:
                suggestion = self._suggest(searcher, text, suggestion_terms, filters)
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
            if fieldname == "pledge_version":
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

    def _text_query(self, searcher, text):
        """Every typed word must match somewhere: Chinese through jieba in the text fields, latin
        letters as pinyin or initials (run-together spellings are split on the index's words)."""
        if not text:
            return Q.Every(), []
        if re.fullmatch(r"[0-9a-z]{18}", text):  # a unified social credit code
            return Q.Term("uscc", text), []
        sentence = self._sentence_query(searcher, text)
        if sentence is not None:
            return sentence
        clauses, latin = [], []
        for part in text.split(" "):
            if analysis.LATIN.match(part):
                latin.append(part)
                clauses.append(self._latin_clause(searcher, part))
                continue
            for word in [w for w in re.split(r"[a-z0-9]+|[^\w]+", part) if w] or []:
                alternatives = (word,) + analysis.SYNONYMS.get(word, ())
                clauses.append(Q.Or([self._words_clause(searcher, alt) for alt in alternatives]))
            for chunk in re.findall(r"[a-z]+", part):
                latin.append(chunk)
                clauses.append(self._latin_clause(searcher, chunk))
        clauses = [c for c in clauses if c is not None]
        if not clauses:
            return Q.NullQuery, latin
        return (Q.And(clauses) if len(clauses) > 1 else clauses[0]), latin

    def _sentence_query(self, searcher, text):
        """A long sentence typed into the box, as the words that can narrow it: stop words out, words
        no agency uses or most agencies use out, then the ``SENTENCE_TERMS`` most selective. They are
        ranked, not all required: the agencies that match the most of them come first. None when the
        text is short enough to require every word (the usual, precise, search)."""
        words = analysis.sentence_words(re.sub(r"[a-z0-9]+", " ", text))
        if len(words) <= SENTENCE_WORDS:
            return None
        reader = searcher.reader()
        limit = COMMON_SHARE * max(1, reader.doc_count())

        def frequency(terms):
            return max(reader.doc_frequency(f, alt) for f, alt in terms)

        def terms_of(word):
            return [(f, alt) for alt in (word,) + analysis.SYNONYMS.get(word, ()) for f in TEXT_FIELDS]

        ranked, seen = [], set()
        for word in words:
            # a word the agencies never wrote as such (化工企业) is asked for by its parts (化工, 企业)
            candidates = [word] if frequency(terms_of(word)) else [p for p, _s, _e in analysis.search_words(word)]
            for candidate in candidates:
                if len(candidate) < 2 or candidate in seen or candidate in analysis.QUERY_STOP_WORDS:
                    continue
                seen.add(candidate)
                terms = terms_of(candidate)
                n = frequency(terms)
                if 0 < n <= limit:
                    ranked.append((n, candidate, terms))
        chosen = sorted(ranked, key=lambda item: item[0])[:SENTENCE_TERMS]
        if not chosen:
            return Q.NullQuery, []
        clauses = [Q.Or([Q.Term(f, alt) for f, alt in terms]) for _frequency, _word, terms in chosen]
        # a coordination bonus: an agency matching more of the words ranks above one matching few
        return (Q.Or(clauses, scale=0.9) if len(clauses) > 1 else clauses[0]), []

    def _words_clause(self, searcher, text):
        """All of jieba's words of ``text``, each in any text field. When the whole word is itself an
        indexed word (安全评价), it alone is asked for: the documents that hold it are exactly those
        its parts would find next to each other, at a fraction of the scoring work."""
        tokens = list(dict.fromkeys(t.text for t in _chinese()(text))) or [text]
        if len(tokens) > 1:
            tokens = _covering_words(text, tokens, searcher.reader())
        return Q.And([Q.Or([Q.Term(f, tok) for f in TEXT_FIELDS]) for tok in tokens])

    def _latin_clause(self, searcher, token):
        options = [Q.Term("name_py", token), Q.Term("name_ini", token)]
        for fieldname in ("name_py", "name_ini"):
            parts = analysis.segment(token, _Vocabulary(searcher, fieldname))
            if parts and len(parts) > 1:
                options.append(Q.And([Q.Term(fieldname, p) for p in parts]))
        return Q.Or(options)

    def _suggest(self, searcher, text, tokens, filters=()):
        """The query with its pinyin respelled (the Chinese words kept as typed) when that finds
        something with the same filters, or None. Words under four letters are not respelled: any of
        them is within reach of hundreds of syllables ("or" became "you"), and longer ones are allowed
        one wrong letter, two from six letters on."""
        corrected = {}
        for token in dict.fromkeys(tokens):
            if len(token) < SUGGEST_MIN_LETTERS:
                continue
            for fieldname in ("name_py", "name_ini"):
                options = searcher.suggest(fieldname, token, limit=1, maxdist=1 if len(token) < 6 else 2)
                if options and options[0] != token:
                    corrected[token] = options[0]
                    break
        if not corrected:
            return None
        suggestion = re.sub(r"[a-z]+", lambda m: corrected.get(m.group(0), m.group(0)), text)
        text_query, _ = self._text_query(searcher, suggestion)
        query = Q.And([text_query, *filters]) if filters else text_query
        if text_query is Q.NullQuery or searcher.search(query, limit=1).is_empty():
            return None
        return suggestion


_analyzer = None


def _covering_words(text, tokens, reader):
    """The fewest, longest indexed words that together cover ``text`` (消防技术服务 → 消防技术 + 服务).

    jieba's search mode indexes a long word and its parts alike, so a document holding the long
    word holds the phrase; asking for it instead of every part finds the same documents in one
    posting list. A word the index has not seen is left out when indexed words cover it (an index
    built before the word joined the dictionary); otherwise every word is kept, so a query with a
    word no agency uses still finds nothing."""
    indexed = [t for t in tokens if any((field, t) in reader for field in TEXT_FIELDS)]
    covered, chosen = [False] * len(text), []
    for token in sorted(indexed, key=len, reverse=True):
        start = text.find(token)
        while start != -1 and all(covered[start : start + len(token)]):
            start = text.find(token, start + 1)
        if start == -1:
            continue
        for i in range(start, start + len(token)):
            covered[i] = True
        chosen.append(token)
        if all(covered):
            break
    return chosen if all(covered) else tokens


def _chinese():
    global _analyzer
    if _analyzer is None:
        _analyzer = analysis.chinese_analyzer()
    return _analyzer


class _Vocabulary:
    """``token in vocabulary`` looks the word up in one field of the index."""

    def __init__(self, searcher, fieldname):
        self.reader, self.fieldname = searcher.reader(), fieldname

    def __contains__(self, word):
        return (self.fieldname, word) in self.reader
