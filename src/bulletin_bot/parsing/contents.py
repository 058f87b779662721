"""The contents list under the masthead (bulleted or numbered entries, or plain headline lines),
and how well body lines spell one of its titles."""

from __future__ import annotations

import difflib
import re

from .lines import MAX_TITLE_CHARS, Line, collapse, section_name, squeeze, title_like

_ENTRY = re.compile(r"^(?:[-－–•·●▪]|\d{1,2}[.．、]|[（(]\d{1,2}[）)])\s*(.+)$")
_CONTENTS_HEADING = re.compile(r"^(?:本期)?(?:目\s*录|要\s*目|导\s*读)$")


def find_contents(lines: list[Line], start: int) -> tuple[list[tuple[str, str]], int]:
    """(section, title) entries of the contents list at `start`, and where the body begins."""
    i = start
    if i < len(lines) and _CONTENTS_HEADING.match(squeeze(lines[i].text)):
        i += 1
    entries: list[tuple[str, str]] = []
    section = ""
    body_start = start
    while i < len(lines):
        text = lines[i].text
        name = section_name(text)
        if name is not None:
            nxt = lines[i + 1].text if i + 1 < len(lines) else ""
            if not _ENTRY.match(nxt):
                break
            section = name
            i += 1
            continue
        match = _ENTRY.match(text)
        if not match:
            break
        entries.append((section, collapse(match.group(1))))
        i += 1
        body_start = i
    return (entries, body_start) if entries else _unmarked_contents(lines, start)


def _unmarked_contents(lines: list[Line], start: int) -> tuple[list[tuple[str, str]], int]:
    """A contents list whose entries have no bullet or number (a Word table of contents pasted
    as plain lines): 【section】 and headline lines only, up to the first section named twice,
    and most of its titles printed again in the body below. Otherwise no contents."""
    i = start
    if i < len(lines) and _CONTENTS_HEADING.match(squeeze(lines[i].text)):
        i += 1
    entries: list[tuple[str, str]] = []
    seen: set[str] = set()
    section = ""
    while i < len(lines):
        text = lines[i].text
        name = section_name(text)
        if name is not None:
            if name in seen:
                break  # the body opens with the first section again
            seen.add(name)
            section = name
        elif title_like(text) and len(text) <= 2 * MAX_TITLE_CHARS:
            entries.append((section, collapse(text)))
        else:
            return [], start
        i += 1
    if not entries or not seen or i >= len(lines):
        return [], start
    body = lines[i:]
    entries = _unjoined(entries, [squeeze(line.text) for line in body])
    restated = sum(any(match_title(body, j, title)[0] >= 0.6 for j in range(len(body))) for _, title in entries)
    return (entries, i) if 2 * restated > len(entries) else ([], start)


def _unjoined(entries: list[tuple[str, str]], printed: list[str]) -> list[tuple[str, str]]:
    """Entries with two or more titles run together cut where the body prints each part as a
    line of its own, apart (not one title wrapped over two lines): with no mark before each
    entry, a printed entry that filled its line cannot be told from a wrapped one
    ("…自贸试验区" / "《二十大以来…》上册出版发行")."""
    where: dict[str, list[int]] = {}
    for k, line in enumerate(printed):
        where.setdefault(line, []).append(k)

    def apart(first: str, second: str) -> bool:
        return any(j != i + 1 for i in where.get(first, ()) for j in where.get(second, ()))

    def parts(text: str) -> list[str] | None:
        """`text` as titles the body prints, each apart from the next; None if it is none."""
        if text in where:
            return [text]
        for k in range(4, len(text) - 3):
            if text[:k] in where:
                rest = parts(text[k:])
                if rest and apart(text[:k], rest[0]):
                    return [text[:k], *rest]
        return None

    out = []
    for section, title in entries:
        found = parts(squeeze(title)) or [squeeze(title)]
        if len(found) == 1:
            out.append((section, title))
            continue
        count, begin = 0, 0
        for part in found:
            count += len(part)
            end = _after(title, count)
            out.append((section, title[begin:end].strip()))
            begin = end
    return out


def _after(text: str, count: int) -> int:
    """The index in `text` just after its first `count` non-space characters."""
    seen = 0
    for k, ch in enumerate(text):
        seen += not ch.isspace()
        if seen == count:
            return k + 1
    return len(text)


def similar(a: str, b: str, floor: float = 0.0) -> float:
    """difflib ratio of the two texts, spaces ignored; 0.0 when it is surely below `floor`."""
    a, b = squeeze(a), squeeze(b)
    if a == b:
        return 1.0
    if not a or not b or len(a) > 2 * len(b) + 10 or len(b) > 2 * len(a) + 10:
        return 0.0
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    if matcher.real_quick_ratio() < floor or matcher.quick_ratio() < floor:
        return 0.0
    return matcher.ratio()


def match_title(block: list[Line], j: int, title: str) -> tuple[float, int]:
    """How well the line(s) at `j` spell `title`: (similarity, lines used). A page end may cut a title."""
    best = (0.0, 1)
    target = squeeze(title)
    joined = ""
    for k in range(1, 4):
        if j + k > len(block):
            break
        piece = squeeze(block[j + k - 1].text)
        if k > 1 and not target.startswith(joined):
            break
        joined += piece
        if len(joined) > 2 * len(target) + 10:
            break
        score = similar(joined, target, floor=0.6)
        if score > best[0]:
            best = (score, k)
    return best
