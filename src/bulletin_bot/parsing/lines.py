"""The parser's base: the non-empty lines of a decoded issue, and what a line looks like.

Every other part of the parser imports from here, and this module imports no other part.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_WS = re.compile(r"\s+")
SECTION = re.compile(r"^【([^【】]+)】$")
# Page numbers an export may leave between paragraphs ("- 2 -", "第2页 共5页"); a bare number
# may be the start of a sentence a page end cut, so it stays.
_PAGE_MARK = re.compile(r"^(?:[-－—–]\s*\d{1,3}\s*[-－—–]|第\s*\d{1,3}\s*页(?:\s*[，,/]?\s*共\s*\d{1,3}\s*页)?|\d{1,3}\s*/\s*\d{1,3})$")
# A numbered sub-heading stays a paragraph of its article and is never joined to the next line.
HEADING = re.compile(
    r"^(?:[一二三四五六七八九十]+、|[（(][一二三四五六七八九十0-9]+[）)]|[0-9]+[、.．]|第[一二三四五六七八九十]+[，、是])"
)
# Characters a paragraph may end with.
_TERMINAL = set("。！？!?…；;：:")
_CLOSERS = set("”’」』）)》〉】\"'")
NOTE = re.compile(r"^[（(].*[）)]$")  # "（2022年10月12日…通过）" is a note, not a headline
_SENTENCE_MARKS = re.compile(r"[，。；！？]")
SOFT_END = set("，、,—-（(《“‘「『〈")

# Titles found without a contents list: a title is short and does not end like a sentence.
MAX_TITLE_CHARS = 60


def collapse(text: str) -> str:
    """Runs of whitespace become one space; ends trimmed."""
    return _WS.sub(" ", text).strip()


def squeeze(text: str) -> str:
    return _WS.sub("", text)


@dataclass
class Line:
    text: str
    number: int  # 1-based line number in the decoded text


def split_lines(text: str) -> list[Line]:
    out = []
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip()
        if line and not _PAGE_MARK.match(line):
            out.append(Line(line, number))
    return out


def section_name(text: str) -> str | None:
    match = SECTION.match(text)
    return squeeze(match.group(1)) if match else None


def ends_sentence(text: str) -> bool:
    """Ends with a full stop, or with a closing quote (a quoted title or a full quotation)."""
    return _closes_quotation(text) or _ends_with_stop(text)


def _closes_quotation(text: str) -> bool:
    text = text.rstrip()
    while text and text[-1] in _CLOSERS:
        if text[-1] in "”’」』\"'" and len(text) > 1 and text[-2] not in _TERMINAL:
            return True
        text = text[:-1]
    return False


def _ends_with_stop(text: str) -> bool:
    """Ends with a full stop, maybe inside closing quotes or brackets (…。” …！）)."""
    text = text.rstrip()
    while text and text[-1] in _CLOSERS:
        text = text[:-1]
    return bool(text) and text[-1] in _TERMINAL


def title_like(text: str) -> bool:
    """Short, or headline-shaped (no sentence punctuation inside), and not ending like a sentence.
    A headline may end with a quoted word (擦亮“千年敦煌”); a paragraph may not end with a comma."""
    if _ends_with_stop(text) or text[-1] in SOFT_END or NOTE.match(text) or "。" in text:
        return False
    return len(text) <= MAX_TITLE_CHARS or (len(text) <= 2 * MAX_TITLE_CHARS and not _SENTENCE_MARKS.search(text))
