"""Quoted spans marked in an article: `?hl=` parsed, spans trimmed and merged, the text cut into
plain and highlighted segments, and the short passages around a quote the ask page shows."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..models import ArticleView
from ..numbers import parse_number

MAX_SPANS = 50
Segment = tuple[str, bool]  # (text, highlighted)
SENTENCE_END = "。！？；!?;"


def parse_spans(raw: str | None, length: int) -> list[tuple[int, int]]:
    """`"10-40,52-80"` -> sorted, merged spans clamped to the text; malformed parts are ignored."""
    spans: list[tuple[int, int]] = []
    for part in (raw or "").split(",")[:MAX_SPANS]:
        start, sep, end = part.strip().partition("-")
        a, b = parse_number(start), parse_number(end)  # '²' and 5,000 digits are no offsets
        if not sep or a is None or b is None:
            continue
        a, b = min(a, length), min(b, length)
        if a < b:
            spans.append((a, b))
    return _merge(spans)


def _merge(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[list[int]] = []
    for a, b in sorted(spans):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return [(a, b) for a, b in merged]


def trim_spans(text: str, spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Spans inside the text, without the blank space at their edges, sorted and merged."""
    out = []
    for a, b in spans:
        a, b = max(0, a), min(len(text), b)
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        if a < b:
            out.append((a, b))
    return _merge(out)


def _segments(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> list[Segment]:
    """`text[start:end]` cut into plain and highlighted pieces; line breaks are never highlighted."""
    out: list[Segment] = []
    pos = start
    for a, b in spans:
        a, b = max(a, start), min(b, end)
        if a >= b:
            continue
        if a > pos:
            out.append((text[pos:a], False))
        for i, line in enumerate(text[a:b].split("\n")):
            if i:
                out.append(("\n", False))
            if line:
                out.append((line, True))
        pos = b
    if pos < end:
        out.append((text[pos:end], False))
    return out


def article_paragraphs(view: ArticleView, spans: list[tuple[int, int]]) -> list[list[Segment]]:
    """The article's paragraphs, each cut into segments; spans index into `view.text`."""
    out = []
    offset = 0
    for paragraph in view.paragraphs:
        out.append(_segments(view.text, offset, offset + len(paragraph), spans))
        offset += len(paragraph) + 1  # the "\n" joining paragraphs
    return out


def _window_start(text: str, start: int, context: int) -> int:
    floor = max(0, start - context)
    newline = text.rfind("\n", floor, start)
    if newline >= 0:
        return newline + 1
    if floor == 0:
        return 0
    for i in range(floor, start):  # begin at a sentence start when one is in reach
        if text[i] in SENTENCE_END:
            return i + 1
    return floor


def _window_end(text: str, end: int, context: int) -> int:
    ceiling = min(len(text), end + context)
    newline = text.find("\n", end, ceiling)
    if newline >= 0:
        return newline
    if ceiling == len(text):
        return ceiling
    for i in range(ceiling - 1, end - 1, -1):
        if text[i] in SENTENCE_END:
            return i + 1
    return ceiling


def passage(text: str, spans: list[tuple[int, int]], context: int = 50) -> list[dict[str, Any]]:
    """The quoted spans with a little of the text around them, as windows of segments.

    Each window is one stretch of text; `cut_before`/`cut_after` say whether its paragraph goes on
    beyond it (shown as "…").
    """
    windows: list[list[int]] = []
    for a, b in spans:
        lo, hi = _window_start(text, a, context), _window_end(text, b, context)
        if windows and lo <= windows[-1][1]:
            windows[-1][1] = max(windows[-1][1], hi)
        else:
            windows.append([lo, hi])
    return [
        {
            "segments": _segments(text, lo, hi, spans),
            "cut_before": lo > 0 and text[lo - 1] != "\n",
            "cut_after": hi < len(text) and text[hi] != "\n",
        }
        for lo, hi in windows
    ]


def hl_param(spans: Iterable[tuple[int, int]]) -> str:
    """The `?hl=` value of spans: the inverse of `parse_spans`."""
    return ",".join(f"{a}-{b}" for a, b in spans)
