"""Chinese analysis (jieba) and pinyin spellings of names, initialised once per process."""

import logging
import re
import threading
from pathlib import Path

_lock = threading.Lock()
_ready = False
LATIN = re.compile(r"^[a-z]+$")

# Work-safety words jieba's general dictionary splits badly; added at start (data, not rules).
DOMAIN_WORDS = ("安全评价", "检测检验", "危化品", "危险化学品", "应急预案", "隐患排查", "职业卫生", "安全生产标准化",
                "安全托管", "消防技术", "烟花爆竹", "金属冶炼", "有限空间", "粉尘涉爆", "安评")
# Short forms people type, and what they stand for in declarations.
SYNONYMS = {
    "危化": ("危险化学品", "危化品"),
    "危化品": ("危险化学品",),
    "安评": ("安全评价",),
    "职卫": ("职业卫生",),
    "应急": ("应急预案", "应急管理"),
}


def init_jieba(cache_dir):
    """Load jieba's dictionary once per worker process, with its cache under ``cache_dir``."""
    global _ready
    if _ready:
        return
    with _lock:
        if _ready:
            return
        import jieba

        Path(cache_dir).mkdir(parents=True, exist_ok=True)
        jieba.dt.tmp_dir = str(cache_dir)
        jieba.setLogLevel(logging.WARNING)
        jieba.initialize()
        for word in DOMAIN_WORDS:
            jieba.add_word(word)
        _ready = True


def chinese_analyzer():
    """jieba's Whoosh analyzer (it exists only once whoosh is importable)."""
    import gc
    import warnings

    with warnings.catch_warnings():
        # jieba.analyse leaves its IDF file open at import; collect it here, quietly, once.
        warnings.simplefilter("ignore", ResourceWarning)
        from jieba.analyse import ChineseAnalyzer

        gc.collect()
    return ChineseAnalyzer()


def words(text):
    """jieba's segmentation of ``text`` (search mode), without spaces and punctuation."""
    import jieba

    return [w for w in jieba.cut_for_search(text or "") if w.strip() and not re.fullmatch(r"\W+", w)]


def pinyin_tokens(name):
    """Full pinyin of each word and each syllable: 南通安全 → nantong anquan nan tong an quan."""
    from pypinyin import lazy_pinyin

    tokens = []
    for word in words(name):
        syllables = [s.lower() for s in lazy_pinyin(word) if LATIN.match(s.lower())]
        if syllables:
            tokens.append("".join(syllables))
            tokens.extend(syllables)
    return tokens


def initials_tokens(name):
    """Initials of each word, and of the whole name: 南通安全 → nt aq ntaq."""
    from pypinyin import Style, lazy_pinyin

    per_word = []
    for word in words(name):
        letters = "".join(s[0].lower() for s in lazy_pinyin(word, style=Style.FIRST_LETTER) if s and s[0].isalpha())
        if letters:
            per_word.append(letters)
    whole = "".join(s[0].lower() for s in lazy_pinyin(name or "", style=Style.FIRST_LETTER) if s and s[0].isalpha())
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
