"""Chinese text utilities: jieba with our domain dictionary, search tokens, sentence spans.

Two segmenters share jieba's dictionary, each loaded once per process on first use:
jieba-rs (`rjieba`, the same dictionary, DAG and HMM as jieba, in Rust) cuts bulk text
for BM25 and page-break repair, 10-15x faster than jieba; Python jieba cuts questions
and supplies word frequencies, which rjieba does not expose.
"""

from __future__ import annotations

import logging
import math
import re
import unicodedata
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path

# Bump when tokenization changes: an index built with another version is rebuilt by the next `index`.
TOKENIZER_VERSION = "rjieba-search-1"


# A sentence ends at 。！？； (or ! ? ;), plus any closing quotes/brackets right after it,
# or at a line break.
_SENTENCE_END = re.compile(r"[。！？；!?;…]+[”’」』）)》]*|\n+")
_WORD = re.compile(r"[\w\u3400-\u9fff]", re.UNICODE)


def _data_text(name: str) -> str:
    return resources.files("bulletin_bot").joinpath("data", name).read_text(encoding="utf-8")


def user_dictionary_path() -> str:
    return str(resources.files("bulletin_bot").joinpath("data", "userdict.txt"))


@cache
def jieba_tokenizer():
    """The process-wide jieba Tokenizer with the domain dictionary loaded."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    tk = jieba.Tokenizer()
    tk.initialize()
    tk.load_userdict(user_dictionary_path())
    return tk


@cache
def fast_tokenizer():
    """The process-wide jieba-rs segmenter with the domain dictionary added."""
    import rjieba

    seg = rjieba.Jieba()
    for line in _data_text("userdict.txt").splitlines():
        parts = line.split()
        if not parts:
            continue
        freq = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
        tag = parts[-1] if len(parts) > 1 and not parts[-1].isdigit() else None
        seg.add_word(parts[0], freq, tag)
    return seg


def cut_words(text: str) -> list[str]:
    """Dictionary-only words (no HMM guesses), fast: for structure decisions while parsing."""
    return fast_tokenizer().cut(text, False)


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    return frozenset(line.strip() for line in _data_text("stopwords.txt").splitlines() if line.strip())


def normalise_token(token: str) -> str:
    """Full-width letters and digits to half-width, lower case: ２０２３ -> 2023, ＡＩ -> ai."""
    return unicodedata.normalize("NFKC", token).lower().strip()


class _Forms(dict):
    """raw token -> what BM25 stores ("" to drop), filled on first sight.

    Few distinct tokens recur millions of times, so `map(forms.__getitem__, ...)` (a C-level
    dict lookup) replaces normalising and checking each one.
    """

    def __init__(self, drop_stopwords: bool) -> None:
        super().__init__()
        self.drop_stopwords = drop_stopwords

    def __missing__(self, raw: str) -> str:
        tok = normalise_token(raw)
        if not tok or not _WORD.search(tok) or (self.drop_stopwords and tok in stopwords()):
            tok = ""
        if len(self) > 500_000:  # bound what a long-running process spends here
            self.clear()
        self[raw] = tok
        return tok


_FORMS = {True: _Forms(True), False: _Forms(False)}
# full-width ASCII (２０２３, ＡＩ) and the ideographic space, as PDF exports often have them
_FULL_WIDTH = re.compile("[\uff01-\uff5e\u3000]")
_HALF_WIDTH = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}


def search_tokens(text: str, drop_stopwords: bool = True) -> list[str]:
    """jieba search-mode tokens (words plus their sub-words), punctuation dropped.

    Search mode measured better than plain `lcut` for BM25 here (hit@1 0.85 vs 0.69 on the
    seed questions) because long compounds like 理论学习中心组 also match 中心组.
    Cut by jieba-rs: on 10,598 paragraphs of the shared corpus its tokens equal Python
    jieba's for 99.6% (the rest differ in how Latin letters and digits are kept together),
    at 1/14 of the time. Full-width letters and digits are made half-width first, so ２０２３
    and ＡＩ from a PDF export are cut as the words 2023 and ai, as typed questions are.
    """
    if _FULL_WIDTH.search(text):
        text = text.translate(_HALF_WIDTH)
    raws = fast_tokenizer().cut_for_search(text, True)
    return [tok for tok in map(_FORMS[drop_stopwords].__getitem__, raws) if tok]


# question words jieba glues into one token (哪几个, 哪一年, 为什么要): they ask, they do not describe;
# and chat's (啥时候, 为啥, 咋样, 几号), which a bulletin never writes
_QUESTION_WORD = re.compile(r"^哪|什么|怎么|怎样|多少|为何|如何|几[个年次天种条位号点]$|啥|咋")


def is_question_word(token: str) -> bool:
    return bool(_QUESTION_WORD.search(token))


def query_terms(text: str) -> list[str]:
    """Distinct content words of a question, in order (plain cut, no sub-words)."""
    stop = stopwords()
    seen: dict[str, None] = {}
    for raw in jieba_tokenizer().lcut(text):
        tok = normalise_token(raw)
        if tok and _WORD.search(tok) and tok not in stop and not is_question_word(tok):
            seen.setdefault(tok, None)
    return list(seen)


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of `text`; spans cover the text except line breaks."""
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _SENTENCE_END.finditer(text):
        end = m.end() if m.group(0)[0] != "\n" else m.start()
        if end > start and text[start:end].strip():
            spans.append((start, end))
        start = m.end()
    if start < len(text) and text[start:].strip():
        spans.append((start, len(text)))
    # trim whitespace at the edges of each span so quotes start and end on text
    trimmed = []
    for s, e in spans:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        trimmed.append((s, e))
    return trimmed


_PARTICLES = "了着过的地得是在有把被将"


@lru_cache(maxsize=65536)
def term_weight(term: str) -> float:
    """How much a word says about what is asked: its information content in general Chinese.

    From jieba's dictionary frequencies, so it is stable however small the corpus is: 的 ≈ 0.5,
    会议 ≈ 2.7, 泗洪县 ≈ 11.5. Words jieba does not know (names, codes like C919) count as rare;
    bare numbers count little (dates and counts are matched by filters and by the quote).
    """
    tk = jieba_tokenizer()
    freq = tk.FREQ.get(term, 0)
    if freq > 0:
        return max(math.log(tk.total / freq) - 5.0, 0.5)
    if term.isdigit():
        return 1.0
    if len(term) == 1:
        return 1.0
    return 6.0


def coverage(terms: list[str], text: str) -> float:
    """Share of the question's information (see `term_weight`) whose words appear in `text`."""
    total = sum(term_weight(t) for t in terms)
    if total <= 0:
        return 0.0
    return sum(term_weight(t) * term_credit(t, text) for t in terms) / total


def term_credit(term: str, text: str) -> float:
    """How far `text` contains `term`: 1 when whole, part credit for a long word's pieces.

    Forgives a particle jieba glued on (建了 ~ 建设…); a word of 3+ characters absent as a
    whole earns credit for its character pairs present (文艺节目 ~ 文艺送理), capped at 0.7.
    """
    if term in text or any(e in text for e in expansions(term)):
        return 1.0
    core = term.strip(_PARTICLES)
    if core and core != term and core in text:
        return 1.0
    if len(term) >= 3:
        pairs = [term[i : i + 2] for i in range(len(term) - 1)]
        return 0.7 * sum(p in text for p in pairs) / len(pairs)
    return 0.0


def _dictionary_words(tags: str, ours: bool = True) -> frozenset[str]:
    """Words jieba's dictionary (and ours, `ours`) tags with a tag matching `tags` (a regex).
    Read from the dictionary files rather than through jieba.posseg, whose tagger takes two
    seconds to load."""
    import jieba

    pattern = re.compile(rf"^(\S+) \d+ (?:{tags})\s*$", re.M)
    words = frozenset(pattern.findall(Path(jieba.__file__).with_name("dict.txt").read_text(encoding="utf-8")))
    return words | frozenset(pattern.findall(_data_text("userdict.txt"))) if ours else words


@lru_cache(maxsize=1)
def name_words() -> frozenset[str]:
    """Words tagged as names: places, people, organisations, other proper nouns."""
    return _dictionary_words(r"n[rstz]\w*")


@lru_cache(maxsize=1)
def person_words() -> frozenset[str]:
    """Words tagged as people's names (nr…): whom 他 can stand for."""
    return _dictionary_words(r"nr\w*")


@lru_cache(maxsize=1)
def noun_words() -> frozenset[str]:
    """Words jieba's own dictionary tags as nouns (n…) or nominal verbs (vn: 投资, 建设): what a
    figure can count or measure (经费, 钢材, 总投资), as opposed to a verb (卖, 花)."""
    return _dictionary_words(r"n\w*|vn", ours=False)


# chat shorthand for a year (23年前8个月, 24年上半年, 23年9月 -> 2023年…): a two-digit number
# from 10 to 39 (the decades the archive and its users live in), not part of a longer number or
# an ordinal, right before what dates a period; so 建交25年, 23年来 or 这30年 stay as they are
_SHORT_YEAR = re.compile(
    r"(?<![\d０-９第近过去这那多几十百余])([1-3]\d)\s*年"
    r"(?=\s*(?:\d{1,2}\s*(?:[到至-]\s*\d{1,2}\s*)?月|[前头]\s*[\d一二三四五六七八九十两]{1,2}\s*个?月|一?整年|前三季度|[上下]半年|第?[一二三四1-4]\s*季度"
    r"|全年|年?[初底末]|度|同期|春运|春节|国庆|五一|劳动节|端午|中秋|清明|元旦|GDP|那(?:会|时|届|次|年)))")


# 神十七 for 神舟十七号, as chat writes the crewed missions
_SHENZHOU = re.compile(r"神([一二三四五六七八九十]{1,3}|\d{1,2})"
                       r"(?=乘组|飞船|发射|任务|返回|航天员|出舱|那|的|呢|和|与|[，,。？?、\s]|$)")


def expand_chat_shorthand(text: str) -> str:
    """`text` with chat shorthand written out: a year (23年前8个月 -> 2023年前8个月), a crewed
    mission (神十七 -> 神舟十七号)."""
    return _SHENZHOU.sub(r"神舟\1号", _SHORT_YEAR.sub(r"20\1年", text))


# abbreviations people type for what the bulletins mostly write out (山东GDP: 地区生产总值):
# a question's abbreviation is searched and credited as either
ABBREVIATIONS: dict[str, tuple[str, ...]] = {
    "gdp": ("生产总值",), "cpi": ("居民消费价格",), "ppi": ("工业生产者出厂价格",), "pmi": ("采购经理指数",),
    "社零": ("社会消费品零售总额", "社会消费品零售"),
}


def expansions(term: str) -> tuple[str, ...]:
    """What the bulletins may write for `term` instead (GDP: 生产总值), or ()."""
    return ABBREVIATIONS.get(term.lower(), ())


_DIGIT = re.compile(r"[0-9０-９]")
_CN_NUM = "零〇一二三四五六七八九十百千两"
# places too wide to tell one article from another
_WIDE = frozenset("中国 我国 全国 国内 国际 世界 全球 各地 各国 海外 境外 国外".split())
# numbered things written in Chinese numerals: 第二十一届, 第七任 (not 第一: "the first time"
# is said many ways), 神舟二十号, and plan periods such as 十四五
_NUMBERED = re.compile(
    rf"第(?!一[次个回])[{_CN_NUM}]+[届次任期批轮号个位名季]"
    rf"|[\u4e00-\u9fff]{{2}}[{_CN_NUM}]+号"
    r"|十[一二三四五六七八九]五(?=规划|时期|期间|末|开局|$|[^\u4e00-\u9fff])"
)


def specific_words(text: str) -> list[str]:
    """The words of `text` that name one thing: places, people, organisations, codes and
    figures. A passage that lacks one answers a different question (the same programme in
    another province, another year's figure)."""
    out: dict[str, None] = {m.group(0): None for m in _NUMBERED.finditer(text)}
    names = name_words()
    for raw in jieba_tokenizer().lcut(text):
        word = normalise_token(raw)
        if not _WORD.search(word) or word in _WIDE or word in stopwords() or is_question_word(word):
            continue
        if raw in names or _DIGIT.search(word) or word.isascii():
            out.setdefault(word, None)
    return list(out)
