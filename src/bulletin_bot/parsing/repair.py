"""Page-break repair: telling a line a page end cut off from a headline, and joining it back.

A line a page end cut off ("走在前、" / "做示范，…") is told from a headline by evidence: the next
line continues it (punctuation, a word running across the cut, a number or bracket left open), it
reads like a sentence (a comma, a dangling function word), or the lead paragraph does not restate
it. Cut lines are joined back with no space added.
"""

from __future__ import annotations

import functools
import re

from ..text import cut_words
from .lines import HEADING, MAX_TITLE_CHARS, NOTE, SOFT_END, Line, ends_sentence, squeeze, title_like

# A line starting with one of these continues the line before it (a page end cut the sentence).
_CONTINUES = set("，。、；：？！,.;:?!）)》〉」』”’%％…")
_NON_WORD = re.compile(r"[^0-9A-Za-z\u4e00-\u9fff]")


def _word_spans(left: str, right: str) -> bool:
    """True when a dictionary word runs across the end of `left` into `right` ("负" + "责同志")."""
    return bool(left and right) and _spans(left[-6:], right[:6])


@functools.lru_cache(maxsize=4096)
def _spans(head: str, tail: str) -> bool:
    pos = 0
    for word in cut_words(head + tail):
        if pos < len(head) < pos + len(word):
            return True
        pos += len(word)
    return False


def warm_up() -> None:
    """Load the word dictionary used for page-break repair now rather than on the first parse."""
    cut_words("预热")


# Words a heading or title does not end with but a cut sentence often does.
_DANGLING = frozenset("的 了 和 与 及 在 是 对 把 被 从 向 将 以 为 并 或 其 之 而 且 也 都 就 又 关于 对于 围绕 包括 按照 根据 随着 由于 为了 以及 并且 而且".split())


def _dangles(text: str) -> bool:
    """Does `text` end with a function word that needs something after it ("…的", "…关于")?"""
    words = cut_words(text[-6:])
    return bool(words) and words[-1] in _DANGLING


def _bigrams(text: str) -> set[str]:
    text = _NON_WORD.sub("", text)
    return {text[i : i + 2] for i in range(len(text) - 1)}


def coverage(text: str, after: str) -> float:
    """Share of the character pairs of `text` found in the first 400 characters of `after`."""
    grams = _bigrams(text)
    if not grams:
        return 0.0
    following = squeeze(after)[:400]
    return sum(gram in following for gram in grams) / len(grams)


def _restated(text: str, after: str) -> bool:
    """Does the text that follows repeat most of `text`? A lead paragraph restates its headline;
    the rest of a cut sentence does not repeat the sentence's beginning."""
    return len(_bigrams(text)) >= 4 and coverage(text, after) >= 0.6


_PAIRS = ("（）", "《》", "“”", "【】", "()")


def _unclosed(text: str) -> int:
    return sum(max(0, text.count(a) - text.count(b)) for a, b in _PAIRS)


def closes(text: str, nxt: str) -> bool:
    """Does `nxt` close a bracket or quote `text` left open ("…（第" / "N期）")?"""
    return _unclosed(text + nxt) < _unclosed(text)


def cut_here(text: str, nxt: str, after: str = "", headline: bool = True) -> bool:
    """Does the line `text` (no closing punctuation) stop where a page ended, `nxt` carrying on?
    `after` is more of the text that follows (the next lines), to tell a headline from a cut
    sentence; inside an article (`headline=False`) a sentence-like line needs no such check."""
    if not nxt or ends_sentence(text) or HEADING.match(nxt):
        return False
    if nxt[0] in _CONTINUES or text[-1] in SOFT_END:
        return True
    if (text[-1].isdigit() or text[-1] in "年月") and (nxt[0].isdigit() or nxt[0] in "%％.．"):
        return True  # a number or date cut in two: "增长2" / "2.7%", "于1月" / "8日"
    if HEADING.match(text):
        return False
    squeezed = squeeze(text)
    if len(squeezed) <= 3:
        return True
    weak = (
        len(text) > 2 * MAX_TITLE_CHARS
        or _top_level_comma(text)
        or closes(text, nxt)
        or _dangles(squeezed)
    )
    if weak and not (headline and _restated(text, after or nxt)):
        return True
    return _word_spans(squeezed, squeeze(nxt))


def _top_level_comma(text: str) -> bool:
    """A comma outside quotes and brackets: sentences have them, headlines rarely do."""
    depth = 0
    for ch in text:
        if ch in "“《（(「『":
            depth += 1
        elif ch in "”》）)」』":
            depth = max(0, depth - 1)
        elif ch in "，," and depth == 0:
            return True
    return False


def repair(lines: list[Line]) -> tuple[str, ...]:
    """Join paragraphs a page end cut in two; keep real paragraph ends and headings apart.

    Inside an article a short line without closing punctuation is either a sub-heading or the
    start of a sentence a page end cut off. A sub-heading is restated by the paragraph under it;
    the rest of a cut sentence does not repeat its beginning, so an unrestated line is joined."""
    paragraphs: list[str] = []
    for k, line in enumerate(lines):
        text = line.text
        if paragraphs:
            last = paragraphs[-1]
            if cut_here(last, text, headline=False) or (
                title_like(last)
                and not HEADING.match(last)
                and not HEADING.match(text)
                and not NOTE.match(text)
                and coverage(last, "".join(other.text for other in lines[k : k + 3])) < 0.15
            ):
                paragraphs[-1] = last + text
                continue
        paragraphs.append(text)
    return tuple(paragraphs)
