"""What a visitor typed, read into a plan that every search backend runs its own way.

A plan is a small tree: ``Term`` (a word in one or more fields), ``All`` (every part must match),
``Any`` (one part is enough; ``ranked``: the more parts match, the higher the rank), ``Code`` (a
unified social credit code), or ``EVERYTHING`` / ``NOTHING``. Reading the text needs to know which
words the agencies use and how many use each: that is the backend's ``lexicon``, with

- ``documents()``: how many documents the index holds;
- ``frequency(field, word)``: how many hold ``word`` in ``field`` (exact up to ``COMMON_SHARE`` of the
  documents; a backend may stop counting above it);
- ``(field, word) in lexicon``: whether any document holds it;
- ``suggest(field, word, maxdist)``: the closest word of ``field`` within ``maxdist`` edits, or None.

The interface every backend offers is ``SearchQuery`` in, ``SearchResult`` out (see ``backend``)."""

import functools
import re
import unicodedata
from dataclasses import dataclass, field

from marketplace.search import analysis

# The name is its own field (boosted, so name hits rank first); everything else is one field.
TEXT_FIELDS = ("name", "content")
LATIN_FIELDS = ("name_py", "name_ini")
MAX_QUERY = 100
# More meaningful words than this is a sentence ("we are a chemical plant in Rudong and need …"),
# not a list of requirements: its words are ranked, not all required (see _sentence).
SENTENCE_WORDS = 4
SENTENCE_TERMS = 4  # at most this many of a sentence's words are asked for: the most selective ones
COMMON_SHARE = 0.5  # a word more than this share of agencies use does not narrow anything
SORTS = ("relevance", "newest", "rating")
SUGGEST_MIN_LETTERS = 4
# A unified social credit code (lower case): its third to eighth characters are a region code, digits, so
# 18 letters of run-together pinyin (anquanpingjiazixun) are not taken for one.
CREDIT_CODE = re.compile(r"[0-9a-z]{2}[0-9]{6}[0-9a-z]{10}")


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


# --- the plan ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Term:
    fields: tuple
    word: str


@dataclass(frozen=True)
class All:
    parts: tuple


@dataclass(frozen=True)
class Any:
    parts: tuple
    ranked: bool = False


@dataclass(frozen=True)
class Code:
    code: str


class _Everything:
    def __repr__(self):
        return "EVERYTHING"


class _Nothing:
    def __repr__(self):
        return "NOTHING"


EVERYTHING, NOTHING = _Everything(), _Nothing()


def all_of(parts):
    parts = tuple(parts)
    return parts[0] if len(parts) == 1 else All(parts)


def any_of(parts, ranked=False):
    parts = tuple(parts)
    return parts[0] if len(parts) == 1 else Any(parts, ranked)


def terms(node):
    """Every Term of a plan, in order."""
    if isinstance(node, Term):
        yield node
    elif isinstance(node, (All, Any)):
        for part in node.parts:
            yield from terms(part)


def clean_text(text):
    """What a visitor typed, made safe: no control characters, bounded, lower-case latin."""
    text = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in (text or ""))
    return re.sub(r"\s+", " ", text).strip()[:MAX_QUERY]


_analyzer = None


def index_words(text):
    """The words the index holds for ``text`` (jieba's, lower-case, stemmed, without stop words),
    in order and repeated as they occur: what a backend without Whoosh's analysis stores. Line by line
    (no word spans a line break): the lines agencies share (their categories' names, a qualification's
    scope, a staff title) are analysed once per process, not once per agency."""
    return [word for line in (text or "").split("\n") for word in _line_words(line)]


@functools.lru_cache(maxsize=8192)
def _line_words(line):
    return tuple(token.text for token in _chinese()(line))


def _chinese():
    global _analyzer
    if _analyzer is None:
        _analyzer = analysis.chinese_analyzer()
    return _analyzer


# --- reading the text ----------------------------------------------------------------------------
def plan(text, lexicon):
    """(plan, latin words typed) for ``text`` (cleaned and lower-cased by the caller). Every typed word
    must match somewhere: Chinese through jieba in the text fields, latin letters as pinyin or initials
    (run-together spellings are split on the index's words); a long sentence is ranked instead."""
    if not text:
        return EVERYTHING, []
    if CREDIT_CODE.fullmatch(text):
        return Code(text), []
    sentence = _sentence(text, lexicon)
    if sentence is not None:
        return sentence, []
    clauses, latin = [], []
    for part in text.split(" "):
        if analysis.LATIN.match(part):
            latin.append(part)
            clauses.append(_latin_clause(part, lexicon))
            continue
        for word in [w for w in re.split(r"[a-z0-9]+|[^\w]+", part) if w]:
            alternatives = (word,) + analysis.SYNONYMS.get(word, ())
            clauses.append(any_of(_words_clause(alt, lexicon) for alt in alternatives))
        for chunk in re.findall(r"[a-z]+", part):
            latin.append(chunk)
            clauses.append(_latin_clause(chunk, lexicon))
    if not clauses:
        return NOTHING, latin
    return all_of(clauses), latin


def _sentence(text, lexicon):
    """A long sentence typed into the box, as the words that can narrow it: stop words out, words
    no agency uses or most agencies use out, then the ``SENTENCE_TERMS`` most selective. They are
    ranked, not all required: the agencies that match the most of them come first. None when the
    text is short enough to require every word (the usual, precise, search)."""
    words = analysis.sentence_words(re.sub(r"[a-z0-9]+", " ", text))
    if len(words) <= SENTENCE_WORDS:
        return None
    limit = COMMON_SHARE * max(1, lexicon.documents())

    def frequency(word):
        return max(lexicon.frequency(f, alt) for alt in (word,) + analysis.SYNONYMS.get(word, ()) for f in TEXT_FIELDS)

    ranked, seen = [], set()
    for word in words:
        # a word the agencies never wrote as such (化工企业) is asked for by its parts (化工, 企业)
        candidates = [word] if frequency(word) else [p for p, _s, _e in analysis.search_words(word)]
        for candidate in candidates:
            if len(candidate) < 2 or candidate in seen or candidate in analysis.QUERY_STOP_WORDS:
                continue
            seen.add(candidate)
            n = frequency(candidate)
            if 0 < n <= limit:
                ranked.append((n, candidate))
    chosen = sorted(ranked, key=lambda item: item[0])[:SENTENCE_TERMS]
    if not chosen:
        return NOTHING
    clauses = [
        any_of(Term(TEXT_FIELDS, alt) for alt in (word,) + analysis.SYNONYMS.get(word, ())) for _n, word in chosen
    ]
    # a coordination bonus: an agency matching more of the words ranks above one matching few
    return any_of(clauses, ranked=True)


def _words_clause(text, lexicon):
    """All of jieba's words of ``text``, each in any text field. When the whole word is itself an
    indexed word (安全评价), it alone is asked for: the documents that hold it are exactly those
    its parts would find next to each other, at a fraction of the scoring work."""
    tokens = list(dict.fromkeys(index_words(text))) or [text]
    if len(tokens) > 1:
        tokens = _covering_words(text, tokens, lexicon)
    return all_of(Term(TEXT_FIELDS, token) for token in tokens)


def _latin_clause(token, lexicon):
    options = [Term(LATIN_FIELDS, token)]
    for fieldname in LATIN_FIELDS:
        parts = analysis.segment(token, _Vocabulary(lexicon, fieldname))
        if parts and len(parts) > 1:
            options.append(All(tuple(Term((fieldname,), p) for p in parts)))
    return any_of(options)


def _covering_words(text, tokens, lexicon):
    """The fewest, longest indexed words that together cover ``text`` (消防技术服务 → 消防技术 + 服务).

    jieba's search mode indexes a long word and its parts alike, so a document holding the long
    word holds the phrase; asking for it instead of every part finds the same documents in one
    posting list. A word the index has not seen is left out when indexed words cover it (an index
    built before the word joined the dictionary); otherwise every word is kept, so a query with a
    word no agency uses still finds nothing."""
    indexed = [t for t in tokens if any((f, t) in lexicon for f in TEXT_FIELDS)]
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


class _Vocabulary:
    """``word in vocabulary``: whether one field of the index holds the word."""

    def __init__(self, lexicon, fieldname):
        self.lexicon, self.fieldname = lexicon, fieldname

    def __contains__(self, word):
        return (self.fieldname, word) in self.lexicon


def suggestion(text, latin, lexicon, finds):
    """The query with its pinyin respelled (the Chinese words kept as typed) when that finds
    something (``finds(plan)``), or None. Words under four letters are not respelled: any of them is
    within reach of hundreds of syllables ("or" became "you"), and longer ones are allowed one wrong
    letter, two from six letters on."""
    corrected = {}
    for token in dict.fromkeys(latin):
        if len(token) < SUGGEST_MIN_LETTERS:
            continue
        for fieldname in LATIN_FIELDS:
            option = lexicon.suggest(fieldname, token, 1 if len(token) < 6 else 2)
            if option and option != token:
                corrected[token] = option
                break
    if not corrected:
        return None
    respelled = re.sub(r"[a-z]+", lambda m: corrected.get(m.group(0), m.group(0)), text)
    respelled_plan, _ = plan(respelled, lexicon)
    if respelled_plan is NOTHING or not finds(respelled_plan):
        return None
    return respelled


def page_bounds(total, q):
    """(page, pages) for ``total`` hits, the page asked for kept within them."""
    pages = max(1, -(-total // q.per_page))
    return min(max(1, q.page), pages), pages
