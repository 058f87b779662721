"""Whether an article is about a topic, not only whether it mentions it.

A question's evidence rule asks whether a passage answers; for a topic of two to four
characters nearly every article that holds its words does (talks listing it among areas of
cooperation, communiqués, year-end reviews, 联播快讯 digests with one unrelated item). A
dossier wants the articles whose main subject the topic is, or a self-contained part of them
(one item of a digest). That shows in where the topic's words stand: in the title (or an
item's heading), in the first sentence, in a good share of the sentences. A passing mention
sits once in the middle of a long text.

Pure functions over text: the dossier (dossier.py) decides which articles to read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from .text import jieba_tokenizer, sentence_spans, term_weight

# A piece of a topic spelled in several words (冰雪 of 冰雪经济, 两岸 of 两岸关系) stands for it
# in a heading only when it is this rare in general Chinese: 经济, 关系, 生产 (about 2.5) say nothing.
PIECE_WEIGHT = 4.5
# Share of an article's sentences that hold the topic, above which it is about it wherever the
# first mention stands (a report that returns to the topic sentence after sentence).
SHARE = 0.2
# An early mention (within the first EARLY sentences) repeated makes a lower share enough.
EARLY = 3
EARLY_SHARE = 0.1
# A digest item's heading: one short line without a sentence's end, followed by its body.
HEADING_CHARS = 40
_SENTENCE_END = re.compile(r"[。！？!?；;…：:）)”’」』]$")
# Words in a title or section that name a digest of short items.
_DIGEST_WORDS = ("快讯", "简讯", "速览", "简报摘编", "动态摘编")
MIN_ITEMS = 2


@dataclass(frozen=True)
class TopicWords:
    """What counts as the topic in a sentence: one of its phrases whole (a topic may be several,
    separated by spaces), or all the pieces one phrase is spelled with (冰雪…经济)."""

    phrases: tuple[str, ...]
    pieces: tuple[tuple[str, ...], ...]  # per phrase, its words when it is spelled with several
    rare: tuple[str, ...]  # pieces that alone stand for their phrase in a heading

    def widened(self, more: tuple[str, ...]) -> TopicWords:
        """The same topic with `more` words that stand for it in a heading, as a rare piece does."""
        return TopicWords(self.phrases, self.pieces, tuple(dict.fromkeys((*self.rare, *more))))

    def credit(self, text: str) -> float:
        """1.0 when `text` holds the topic, 0.5 when only a rare piece of it, else 0."""
        for phrase, pieces in zip(self.phrases, self.pieces):
            if phrase in text or (pieces and all(p in text for p in pieces)):
                return 1.0
        return 0.5 if any(p in text for p in self.rare) else 0.0


def _pieces(phrase: str) -> tuple[str, ...]:
    """The words `phrase` is spelled with, when jieba's finest cut spells it out in two or more
    words of two or more characters (知识产权 -> 知识 产权); () otherwise (大运会 -> 大运 does
    not spell it out, and 大运 is also 大运河)."""
    words = [w for w in jieba_tokenizer().lcut_for_search(phrase) if w != phrase and len(w) >= 2]
    for n in range(len(words), 1, -1):  # the longest run of words that spells the phrase
        for start in range(len(words) - n + 1):
            run = words[start:start + n]
            if "".join(run) == phrase:
                return tuple(run)
    # a cut into overlapping words: pick a cover by position
    cover, at = [], 0
    for w in sorted(set(words), key=lambda w: (phrase.find(w), -len(w))):
        if phrase.find(w, at) == at:
            cover.append(w)
            at += len(w)
    return tuple(cover) if at == len(phrase) and len(cover) >= 2 else ()


@lru_cache(maxsize=256)
def topic_words(topic: str) -> TopicWords:
    phrases = tuple(dict.fromkeys(topic.split()))
    pieces = tuple(_pieces(p) for p in phrases)
    rare = tuple(dict.fromkeys(w for ws in pieces for w in ws if term_weight(w) >= PIECE_WEIGHT))
    return TopicWords(phrases, pieces, rare)


@dataclass(frozen=True)
class Part:
    """An article, or one item of a digest: its heading and the span of its text (offsets into
    the article text; for a whole article, all of it)."""

    heading: str
    start: int
    end: int


def _is_heading(line: str) -> bool:
    line = line.strip()
    return 0 < len(line) <= HEADING_CHARS and not _SENTENCE_END.search(line)


def is_digest(title: str, section: str) -> bool:
    return any(w in title or w in section for w in _DIGEST_WORDS)


def digest_items(text: str) -> list[Part]:
    """A digest's items: each heading line with the body lines after it (heading included in
    the span, so a quote of the item shows what it is)."""
    items: list[Part] = []
    lines, at = text.split("\n"), 0
    starts = []
    for i, line in enumerate(lines):
        if _is_heading(line) and i + 1 < len(lines) and lines[i + 1].strip() and not _is_heading(lines[i + 1]):
            starts.append((i, at))
        at += len(line) + 1
    for k, (i, start) in enumerate(starts):
        end = starts[k + 1][1] - 1 if k + 1 < len(starts) else len(text)
        items.append(Part(lines[i].strip(), start, end))
    return items


def parts(title: str, section: str, text: str) -> list[Part]:
    """What is judged apart: a digest's items, else the whole article under its title."""
    if is_digest(title, section):
        items = digest_items(text)
        if len(items) >= MIN_ITEMS:
            return items
    return [Part(title, 0, len(text))]


@dataclass(frozen=True)
class Judgement:
    about: bool
    reason: str  # which rule held: for tests and for reading a dossier's choices


def judge(words: TopicWords, heading: str, body: str) -> Judgement:
    """Is a text under `heading` about the topic? See the module's docstring."""
    head = words.credit(heading)
    sentences = [body[s:e] for s, e in sentence_spans(body)]
    if heading and sentences and sentences[0].strip() == heading.strip():
        sentences = sentences[1:]  # a digest item's body starts with its heading
    credits = [words.credit(s) for s in sentences]
    whole = [i for i, c in enumerate(credits) if c >= 1.0]
    any_ = [i for i, c in enumerate(credits) if c > 0]
    n = max(len(sentences), 1)
    if head >= 1.0:
        return Judgement(True, "title")
    if credits and credits[0] >= 1.0:
        return Judgement(True, "first sentence")
    if len(whole) >= 2 and (len(whole) / n >= SHARE or (whole[0] < EARLY and len(whole) / n >= EARLY_SHARE)):
        return Judgement(True, "share")
    if head > 0 and any_ and (any_[0] == 0 or len(any_) / n >= SHARE):
        return Judgement(True, "title piece")
    return Judgement(False, "passing" if any_ else "absent")


# The words the articles about a topic share, beyond its own (招聘 for 就业, 运动会 for 大运会):
# how many to take, in how many of those articles each must stand (share, and at least
# CORE_MIN), how much more often there than in the period's other articles, and how rare in
# general Chinese (so that 工作, 发展 never qualify).
MORE_WORDS = 5
CORE_SHARE = 0.3
CORE_MIN = 3
LIFT = 10.0
MORE_WEIGHT = 4.0


def shared_words(words: TopicWords, core: list[str], period: list[str]) -> tuple[str, ...]:
    """Words that stand for the topic in this period (pseudo-relevance feedback): frequent in
    the texts already judged about it (`core`: the articles, a digest's items), rare in the
    period's texts (`period`). (Their headings and leads alone were tried: they give 亿人次,
    新高, 成都, and the tune set's precision fell from 0.81 to 0.73.)"""
    from collections import Counter

    from .text import cut_words, stopwords

    if len(core) < CORE_MIN or not period:
        return ()
    stop = stopwords()
    df: Counter[str] = Counter()
    for text in core:
        df.update({w for w in cut_words(text) if len(w) >= 2 and w not in stop and not any(c.isdigit() for c in w)})
    need = max(CORE_MIN, CORE_SHARE * len(core))
    scored = []
    for w, n in df.items():
        if (n < need or term_weight(w) < MORE_WEIGHT or w.startswith("第")  # 第六届: this year's, not the topic's
                or any(w in p or p in w for p in words.phrases)):
            continue
        base = sum(w in t for t in period) / len(period)
        lift = (n / len(core)) / base if base else 0.0
        if lift >= LIFT:
            scored.append((lift, w))
    return tuple(w for _, w in sorted(scored, reverse=True)[:MORE_WORDS])


def about_parts(topic: str | TopicWords, title: str, section: str, text: str) -> list[Part]:
    """The parts of an article about `topic` (all of it, some of a digest's items, or none)."""
    words = topic_words(topic) if isinstance(topic, str) else topic
    return [p for p in parts(title, section, text) if judge(words, p.heading, text[p.start:p.end]).about]
