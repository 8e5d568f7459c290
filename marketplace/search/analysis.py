"""Chinese analysis (jieba) and pinyin spellings of names, initialised once per process."""

import functools
import hashlib
import logging
import re
import threading
from pathlib import Path

from whoosh.analysis import LowercaseFilter, StemFilter, StopFilter, Token, Tokenizer
from whoosh.lang.porter import stem

_lock = threading.Lock()
_ready = False
LATIN = re.compile(r"^[a-z]+$")
HAN = re.compile(r"[\u4e00-\u9fd5]")
# Raise when the schema, the documents or the analysis change in a way DOMAIN_WORDS does not show.
FORMAT_VERSION = 4

# Work-safety words jieba's general dictionary splits badly; added at start (data, not rules).
# The service categories' names are among them, so typing a category finds the agencies that name
# it, in one posting list. A word added here is indexed from the next reindex; until then the
# query asks for its parts (see backend._covering_words), which find the same agencies, slower.
DOMAIN_WORDS = (
    "安全评价",
    "检测检验",
    "危化品",
    "危险化学品",
    "应急预案",
    "隐患排查",
    "职业卫生",
    "安全生产标准化",
    "安全托管",
    "消防技术",
    "烟花爆竹",
    "金属冶炼",
    "有限空间",
    "粉尘涉爆",
    "安评",
    "安全咨询",
    "安全培训",
    "隐患排查治理",
    "应急预案编制",
    "职业卫生技术服务",
    "消防技术服务",
    "安全生产社会化服务",
    "烟花爆竹制造业",
)
# Short forms people type, and what they stand for in declarations.
SYNONYMS = {
    "危化": ("危险化学品", "危化品"),
    "危化品": ("危险化学品",),
    "安评": ("安全评价",),
    "职卫": ("职业卫生",),
    "应急": ("应急预案", "应急管理"),
}


_cache_dir = None


def cache_dir():
    """Where this process keeps jieba's dictionary cache (for a process it starts)."""
    return _cache_dir


def init_jieba(cache_dir):
    """Load jieba's dictionary once per worker process, with its cache under ``cache_dir``."""
    global _ready, _cache_dir
    if _ready:
        return
    with _lock:
        if _ready:
            return
        import jieba

        _cache_dir = str(cache_dir)
        Path(cache_dir).mkdir(parents=True, exist_ok=True)
        jieba.dt.tmp_dir = str(cache_dir)
        jieba.setLogLevel(logging.WARNING)
        jieba.initialize()
        for word in DOMAIN_WORDS:
            jieba.add_word(word)
        _ready = True


def search_words(text):
    """(word, start, end) for jieba's words of ``text`` and every dictionary word inside each of
    them. jieba's own search mode adds only the two- and three-character words inside a long word,
    which would hide 职业卫生 inside 职业卫生技术服务 (a category's name); every length is added here."""
    import jieba

    frequencies = jieba.dt.FREQ
    start = 0
    for word in jieba.dt.cut(text or ""):
        width = len(word)
        for size in range(2, width):
            for i in range(width - size + 1):
                part = word[i : i + size]
                if frequencies.get(part):
                    yield part, start + i, start + i + size
        yield word, start, start + width
        start += width


class ChineseTokenizer(Tokenizer):
    """Whoosh tokens of ``search_words`` (a module-level class: the index's schema pickles it)."""

    def __call__(self, text, **kwargs):
        token = Token()
        for word, start, stop in search_words(text):
            if len(word) <= 1 and not HAN.match(word):
                continue
            token.original = token.text = word
            token.pos, token.startchar, token.endchar = start, start, stop
            yield token


# jieba's analyzer filters: English stop words and the three commonest Chinese particles.
STOP_WORDS = frozenset(
    (
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "can",
        "for",
        "from",
        "have",
        "if",
        "in",
        "is",
        "it",
        "may",
        "not",
        "of",
        "on",
        "or",
        "tbd",
        "that",
        "the",
        "this",
        "to",
        "us",
        "we",
        "when",
        "will",
        "with",
        "yet",
        "you",
        "your",
        "的",
        "了",
        "和",
    )
)


# Words a sentence typed into the search box carries that say nothing about the agency wanted (data:
# add to it as the query logs show). Whether a word is too common to narrow the results is decided by
# the index itself (see backend: a word most agencies use is left out of a sentence's query).
QUERY_STOP_WORDS = frozenset(
    "我们 我 我司 本公司 你们 您 是 的 了 和 与 及 或 在 有 为 对 把 被 要 想 需要 请 帮 帮忙 找 寻找 做 "
    "一家 一个 一下 这 这个 那 哪 哪家 哪里 什么 怎么 如何 可以 能 能够 关于 进行 提供 服务 公司 有限公司 "
    "方面 相关 等 一些 希望 麻烦 谢谢 推荐 靠谱 附近 本地".split()
)


def sentence_words(text):
    """The distinct words of a typed sentence that can say which agency is wanted, in order: jieba's
    words (not their parts) of two characters or more, without ``QUERY_STOP_WORDS``."""
    import jieba

    words = []
    for word in jieba.dt.cut(text or ""):
        word = word.strip().lower()
        if len(word) >= 2 and word not in QUERY_STOP_WORDS and word not in words and not word.isdigit():
            words.append(word)
    return words


def chinese_analyzer():
    return (
        ChineseTokenizer()
        | LowercaseFilter()
        | StopFilter(stoplist=STOP_WORDS, minsize=1)
        | StemFilter(stemfn=stem, ignore=None, cachesize=50000)
    )


def index_format():
    """Changes whenever what gets indexed would: a rebuild follows (see search.staleness)."""
    text = repr((FORMAT_VERSION, DOMAIN_WORDS))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def words(text):
    """jieba's words of ``text`` and the words inside them, without spaces and punctuation."""
    return [w for w, _, _ in search_words(text) if w.strip() and not re.fullmatch(r"\W+", w)]


@functools.lru_cache(maxsize=65536)
def _pinyin(word):
    """(full syllables, first letters) of one word, lower case. Names share most of their words (南通,
    安全, 科技, 有限公司): each is converted once per worker, not once per name (pypinyin was 40 % of a
    rebuild)."""
    from pypinyin import Style, lazy_pinyin

    syllables = tuple(s.lower() for s in lazy_pinyin(word) if LATIN.match(s.lower()))
    letters = "".join(s[0].lower() for s in lazy_pinyin(word, style=Style.FIRST_LETTER) if s and s[0].isalpha())
    return syllables, letters


def pinyin_tokens(name, name_words=None):
    """Full pinyin of each word and each syllable: 南通安全 → nantong anquan nan tong an quan.
    ``name_words``: the name's ``words``, when the caller has them already."""
    tokens = []
    for word in words(name) if name_words is None else name_words:
        syllables = _pinyin(word)[0]
        if syllables:
            tokens.append("".join(syllables))
            tokens.extend(syllables)
    return tokens


def initials_tokens(name, name_words=None):
    """Initials of each word, and of the whole name: 南通安全 → nt aq ntaq. The whole name's are its
    words' in turn (jieba's words, each converted once per process: converting every name whole was a
    fifth of a rebuild)."""
    import jieba

    per_word = [
        letters
        for letters in (_pinyin(word)[1] for word in (words(name) if name_words is None else name_words))
        if letters
    ]
    whole = "".join(_pinyin(word)[1] for word in jieba.dt.cut(name or "") if word.strip())
    return per_word + ([whole] if whole else [])


def segment(token, vocabulary, max_parts=6):
    """Split a run of letters into words of ``vocabulary`` (``ntaq`` → nt + aq), longest first."""
    best = {0: []}
    for end in range(1, len(token) + 1):
        for start in range(max(0, end - 12), end):
            if start in best and token[start:end] in vocabulary and len(best[start]) < max_parts:
                candidate = best[start] + [token[start:end]]
                if end not in best or len(candidate) < len(best[end]):
                    best[end] = candidate
    return best.get(len(token))
