"""Fixed-layout pages -> clean text lines, for PDF, OFD and OCR alike.

A reader hands over positioned pieces of text (a glyph, a text run, an OCR word); here they
become printed lines, and the lines become what the text parser reads, one per line:
- running headers and footers are dropped: page numbers ("— 3 —", "第 3 页 共 8 页") at the top
  or foot of a page, and any line printed at the same place on several pages (the series name);
- a title set in display type (larger or bolder than the body) and wrapped over two or three
  lines is joined back into one line; so is a heading the author broke by hand;
- a body line that fills the column runs on into the next line, across a page end too, unless
  the next line starts a paragraph (an indent, extra space above, a change of type);
- but a title in the body's type stays a line of its own where the geometry cannot tell it from
  a wrapped line and its words can: a short headline-shaped line under a full line that ends a
  sentence, or a line that fills the column and is restated by the lead's first sentence;
- a contents page with dotted leaders and page numbers becomes contents lines ("- title").

Units are points, y grows down the page; sizes are font sizes in points.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass

from .base import SECTION_ONLY, contents_entry, contents_lines, entry_page, join_pieces, stands_alone

_ENDS_SENTENCE = set("。！？!?；;：:")
_ENDS_TITLE = set("。！？!?")  # a title may break after a colon ("浙江：" / "鸡鸣山社区…")
# A page number alone on a line: "— 3 —", "- 3 -", "第 3 页", "第3页 共8页", "3/8", "Page 3", "3".
_PAGE_NUMBER = re.compile(
    r"^(?:[-－—–―~～一]+\s*\d{1,4}\s*[-－—–―~～一]+|第\s*\d{1,4}\s*页(?:\s*[，,/]?\s*共\s*\d{1,4}\s*页)?"
    r"|\d{1,4}\s*/\s*\d{1,4}|[Pp]age\s*\d{1,4}(?:\s*of\s*\d{1,4})?|\d{1,4})$"
)
_BARE_NUMBER = re.compile(r"^\d{1,4}$")
_LEADER_ONLY = re.compile(r"^[.．·•…⋯_\s]{2,}\d{1,4}$")
_HANGS = set("。，、；：？！”’）》】」』")
_CLOSING = set("”’」』）)》〉")
_SENTENCE_MARK = re.compile(r"[，,。；;！？!?]")
_OPEN_END = set("，、,—-（(《“‘「『〈：:")  # a line ending so needs more after it
_DANGLING = set("的了和与及在是对把被从向将以为并或其之而且也都就又")  # words a title does not end with
_NON_WORD = re.compile(r"[^0-9A-Za-z\u4e00-\u9fff]")
_ITEM = re.compile(r"^(?:(?P<bullet>[-－–•·●▪])\s*\S|(?P<number>\d{1,2})[.．、]\s*\D)")
_DIGITS = re.compile(r"\d+")
_LEADING_WORD = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.,%\-]*")
_SPACES = re.compile(r"\s+")
# A space beside full-width punctuation is an artefact of glyph widths ("“ 洪轩理” "), never text.
_PUNCT_SPACE = re.compile(r"(?<=[“‘（《〈【「『”’）》〉】」』，。、；：！？])\s+|\s+(?=[“‘（《〈【「『”’）》〉】」』，。、；：！？])")


@dataclass(frozen=True)
class Piece:
    """Text as a reader found it on a page: a glyph, a run or a word, on one baseline."""

    text: str
    x0: float
    x1: float
    baseline: float  # from the top of the page
    size: float
    bold: bool = False


@dataclass(frozen=True)
class Line:
    """One printed line."""

    text: str
    x0: float
    x1: float
    baseline: float
    size: float
    bold: bool
    page: int
    hang: float = 0.0  # the width of the closing marks that end it (they may hang past the margin)


@dataclass(frozen=True)
class Page:
    width: float
    height: float
    pieces: tuple[Piece, ...]


# ------------------------------------------------------------------ pieces -> lines


def page_lines(page: Page, number: int) -> list[Line]:
    """The printed lines of a page, top to bottom: pieces on one baseline, left to right."""
    pieces = sorted((p for p in page.pieces if p.text), key=lambda p: (p.baseline, p.x0))
    rows: list[list[Piece]] = []
    for piece in pieces:
        if rows and abs(piece.baseline - rows[-1][0].baseline) <= 0.35 * max(piece.size, rows[-1][0].size, 1.0):
            rows[-1].append(piece)
        else:
            rows.append([piece])
    return [line for row in rows for line in _split_row(row, number)]


def _split_row(row: list[Piece], number: int) -> list[Line]:
    """One line per row; pieces far apart (more than 2 ems) get one space between them, and so
    do Latin words set without a space character. Space characters of the text are kept."""
    row.sort(key=lambda p: p.x0)
    text = ""
    last = None
    for piece in row:
        chunk = piece.text
        if not chunk.strip():
            text += " "
            continue
        if last is not None:
            gap = piece.x0 - last.x1
            if gap > 2.0 * max(piece.size, last.size) and not text.endswith(" "):
                text += " "
            elif gap > 0.25 * max(piece.size, last.size) and text[-1:].isascii() and text[-1:].isalnum() \
                    and chunk[:1].isascii() and chunk[:1].isalnum():
                text += " "  # Latin words set without space characters
        text += chunk
        last = piece
    text = _PUNCT_SPACE.sub("", _SPACES.sub(" ", text).strip())
    row = [piece for piece in row if piece.text.strip()]
    if not row:
        return []
    sizes: Counter[float] = Counter()
    bold = 0
    for piece in row:
        weight = len(piece.text.strip())
        sizes[round(piece.size, 1)] += weight
        bold += weight if piece.bold else -weight
    # a closing mark may hang in the right margin (Word's 允许标点溢出边界): the column's edge is
    # measured without it
    core = [piece for piece in row if piece.text.strip() not in _HANGS] or row
    x1 = max(p.x1 for p in row)
    return [Line(text, row[0].x0, x1, row[0].baseline, sizes.most_common(1)[0][0], bold > 0, number,
                 x1 - max(p.x1 for p in core))]


def next_item(paragraph: str, line: str) -> bool:
    """Does `line` open the next item of the list `paragraph` is an item of ("- A" then "- B",
    "1. A" then "2. B")? A wrapped item's next line never starts with the list's mark."""
    first, second = _ITEM.match(paragraph), _ITEM.match(line)
    if not first or not second:
        return False
    if first.group("bullet") or second.group("bullet"):
        return first.group("bullet") == second.group("bullet")
    return int(second.group("number")) == int(first.group("number")) + 1


# ------------------------------------------------------------------ running headers and footers


def _running(pages: list[list[Line]], heights: list[float]) -> set[tuple[int, int]]:
    """(page, line) of page numbers and of lines repeated at the same place on several pages."""
    drop: set[tuple[int, int]] = set()
    seen: dict[tuple[str, int], set[int]] = defaultdict(set)
    for p, lines in enumerate(pages):
        edge = list(range(min(3, len(lines)))) + list(range(max(3, len(lines) - 3), len(lines)))
        for i in edge:
            line = lines[i]
            squeezed = _SPACES.sub("", line.text)
            outer = i in (0, len(lines) - 1)
            if outer and _PAGE_NUMBER.match(squeezed):
                in_margin = line.baseline < 0.15 * heights[p] or line.baseline > 0.85 * heights[p]
                if not _BARE_NUMBER.match(squeezed) or in_margin:
                    drop.add((p, i))
                    continue
            seen[_DIGITS.sub("#", squeezed), round(line.baseline / 4)].add(p)
    repeated = {key for key, where in seen.items() if len(where) >= 2 and len(where) >= 0.3 * len(pages)}
    for p, lines in enumerate(pages):
        for i, line in enumerate(lines):
            if (_DIGITS.sub("#", _SPACES.sub("", line.text)), round(line.baseline / 4)) in repeated:
                drop.add((p, i))
    return drop


# ------------------------------------------------------------------ the body's measure


@dataclass(frozen=True)
class _Measure:
    size: float  # the body's font size
    left: float  # the column's left and right edges
    right: float
    pitch: float  # baseline to baseline, body lines
    indents: bool  # paragraphs start with an indent
    bold: bool  # the body itself is set in a bold face (a 黑体 body): bold marks nothing


def _same_size(a: float, b: float) -> bool:
    """Within 7%: 小二 (18 pt) titles stand apart from 三号 (16 pt) text, OCR's estimates do not."""
    return abs(a - b) <= max(0.2, 0.07 * max(a, b))


def _measure(lines: list[Line]) -> _Measure:
    sizes: Counter[float] = Counter()
    for line in lines:
        sizes[line.size] += len(line.text)
    size = sizes.most_common(1)[0][0]
    body = [line for line in lines if _same_size(line.size, size)] or lines
    left = _edge([line.x0 for line in body], lowest=True)
    right = _edge([line.x1 - line.hang for line in body], lowest=False)
    pitches = [b.baseline - a.baseline for a, b in zip(body, body[1:])
               if a.page == b.page and 0 < b.baseline - a.baseline < 3 * size]
    pitch = statistics.median(pitches) if pitches else 1.5 * size
    indented = [line for line in body if 0.8 * size <= line.x0 - left <= 4.5 * size and line.x1 - line.x0 > 4 * size]
    bold = sum(len(line.text) for line in body if line.bold) > 0.5 * sum(len(line.text) for line in body)
    return _Measure(size, left, right, pitch, len(indented) >= max(2, 0.05 * len(body)), bold)


def _edge(values: list[float], lowest: bool) -> float:
    """The leftmost (or rightmost) position shared by at least 5% of the lines (the margin
    that wrapped lines start or end at), else the 5th (or 95th) percentile."""
    ordered = sorted(values, reverse=not lowest)
    need = max(2, int(0.05 * len(ordered)))
    for k, value in enumerate(ordered):
        near = sum(1 for other in ordered[k : k + 4 * need] if abs(other - value) <= 1.5)
        if near >= need:
            return value
    return ordered[int(0.05 * (len(ordered) - 1))]


# ------------------------------------------------------------------ lines -> paragraphs


def _display(line: Line, m: _Measure) -> bool:
    """Set in display type: larger than the body, or bold where the body is not."""
    return line.size > m.size and not _same_size(line.size, m.size) or (line.bold and not m.bold)


def _full(line: Line, m: _Measure, following: str = "") -> bool:
    """Reaches the right edge of the column from its left: a wrapped line (in a column wide
    enough for text; a page of a few words has no measure to fill). A number or Latin word is
    not broken, so a line followed by one may stop short by its width ("…倒计时" / "100天")."""
    word = _LEADING_WORD.match(following)
    slack = 1.2 + (0.6 * len(word.group()) + 1.0 if word else 0.0)
    return (line.x1 >= m.right - slack * line.size and line.x0 <= m.left + 2.6 * line.size
            and m.right - m.left >= 12 * line.size)


def _centred(line: Line, m: _Measure) -> bool:
    """Set in the middle of the column, away from both edges (a title in the body's type)."""
    before, after = line.x0 - m.left, m.right - line.x1
    return before >= 0.5 * line.size and abs(before - after) <= line.size


def _alone(line: Line, m: _Measure) -> bool:
    """A paragraph by itself (see `stands_alone`); but a 【…】 line that fills the column is a
    title's long tag the line end cut from the rest of its title, never a section's short name."""
    if SECTION_ONLY.match(_SPACES.sub("", line.text)) and line.x1 - line.x0 >= 0.75 * (m.right - m.left):
        return False
    return stands_alone(line.text)


def _runs_on(a: Line, b: Line, m: _Measure, last_on_page: bool) -> bool:
    """Does line `b` continue the paragraph whose last line is `a`?"""
    if _alone(a, m) or _alone(b, m):
        return False
    if contents_entry(a.text) is not None:
        return False  # a contents line ends at its page number
    if contents_entry(b.text) is not None:
        return _entry_continues(a, b, m, last_on_page)
    if not _same_size(a.size, b.size) or a.bold != b.bold:
        return False
    if a.page == b.page:
        step = b.baseline - a.baseline
        if step <= 0:
            return False
    elif not (last_on_page and b.page == a.page + 1):
        return False
    if _display(a, m):
        # a title over two or three lines: same type, close together, on one page or across a
        # page end (a title is no paragraph: two lines of display type in a row are one title)
        return ((a.page != b.page or step <= _title_step(a, m)) and a.text[-1] not in _ENDS_TITLE
                and (abs((a.x0 + a.x1) - (b.x0 + b.x1)) <= 2 * a.size or abs(b.x0 - a.x0) <= 0.5 * a.size))
    if _centred(b, m):
        # the next line of a title set in the body's type and centred: its first line fills the
        # column, or is centred too (a title broken by hand into two balanced lines)
        return (a.page == b.page and (_full(a, m, b.text) or _centred(a, m)) and step <= 1.35 * m.pitch
                and a.text[-1] not in _ENDS_SENTENCE)
    if _centred(a, m):
        return False  # a centred line is no wrapped body line
    if not _full(a, m, b.text) or b.x0 > m.left + 0.5 * b.size:
        return False  # a short line ends its paragraph; an indented one starts the next
    if a.page == b.page and step > 1.35 * m.pitch:
        return False  # space above: a new paragraph
    if m.indents and _ends_sentence(a.text) and not _ITEM.match(a.text) and _headline(b, m):
        # where paragraphs are indented, a line at the margin after a full sentence may carry it
        # on; but a short line that ends no sentence is a title or sub-heading at the body's size
        # (a paragraph's last line ends with its full stop)
        return False
    return m.indents or a.text[-1] not in _ENDS_SENTENCE


def _ends_sentence(text: str) -> bool:
    """Ends with a full stop, maybe inside closing quotes or brackets (…。” …！）); not a colon,
    which a wrapped title or contents entry may end a line with ("…宁夏：" / "建设…先行区")."""
    text = text.rstrip()
    while text and text[-1] in _CLOSING:
        text = text[:-1]
    return bool(text) and text[-1] in _ENDS_TITLE


def _headline(line: Line, m: _Measure) -> bool:
    """Shaped like a title: short of the column's end, no sentence punctuation, not ending like a sentence."""
    text = line.text.strip()
    return (line.x1 < m.right - 2 * line.size and not _SENTENCE_MARK.search(text) and not _ends_sentence(text)
            and text[-1:] not in _HANGS and len(text) <= 60)


def _fills_as_title(lines: list[Line], k: int, m: _Measure) -> bool:
    """Is line `k`, which opens a paragraph and fills the column, a title at the body's size that
    happens to fill its line, rather than a paragraph's first line wrapped? Geometry cannot tell
    (both end at the margin, the next line starts at it); the words can: a title has no sentence
    punctuation and the lead under it restates most of it, while the rest of a sentence does not
    repeat its beginning. The text parser then reads the title's line as it reads a .txt's."""
    line = lines[k]
    text = line.text.strip()
    if k and not (_ends_sentence(lines[k - 1].text) or _alone(lines[k - 1], m)):
        return False  # a title follows a paragraph's end (or a section's name), not another title
    if (_display(line, m) or line.x0 > m.left + 0.5 * line.size or len(text) < 8 or _ITEM.match(text)
            or _SENTENCE_MARK.search(text) or text[-1:] in _OPEN_END or text[-1:] in _DANGLING):
        return False  # a sentence's first line, one that needs more after it, a list's item
    nxt = lines[k + 1].text.strip() if k + 1 < len(lines) else ""
    if not nxt:
        return False
    if not _SENTENCE_MARK.search(nxt):
        # the next line is headline-shaped too: the title's second line, unless it repeats the
        # title ("…快讯（X等）" / "X", a digest's first item under its title)
        return len(_bigrams(nxt)) >= 3 and _covered(nxt, text) >= 0.8
    # the lead's first sentence restates its title; a sentence's first line is not repeated by
    # the rest of that sentence (a report's later sentences do repeat its words: not compared)
    following = ""
    for other in lines[k + 1 : k + 12]:
        following += other.text
        if any(ch in _ENDS_TITLE for ch in other.text):
            break
    return len(_bigrams(text)) >= 6 and _covered(text, following) >= 0.5


def _covered(text: str, other: str) -> float:
    """The share of `text`'s character pairs found in the first 400 characters of `other`."""
    grams = _bigrams(text)
    other = _NON_WORD.sub("", other)[:400]
    return sum(gram in other for gram in grams) / len(grams) if grams else 0.0


def _bigrams(text: str) -> set[str]:
    text = _NON_WORD.sub("", text)
    return {text[i : i + 2] for i in range(len(text) - 1)}


def _title_step(a: Line, m: _Measure) -> float:
    """The most a title's next line lies below it: 1.9 of its size, or more where the whole
    document is set with wide line spacing (the body's own baseline step, scaled to the title)."""
    return max(1.9, 1.15 * m.pitch / m.size) * a.size


def _entry_continues(a: Line, b: Line, m: _Measure, last_on_page: bool = False) -> bool:
    """Is `a` a line of a contents entry too long for one line, `b` the entry's next line?
    (A contents list keeps the page-number column free, so a wrapped line stops short of it;
    a page end may fall inside the entry.)"""
    near = (0 < b.baseline - a.baseline <= 2.2 * max(a.size, b.size) if a.page == b.page
            else last_on_page and b.page == a.page + 1)
    # a leader line whose first glyphs were lost (pdfium drops one it cannot draw) starts further in
    aligned = abs(a.x0 - b.x0) <= a.size or _LEADER_ONLY.match(b.text) is not None
    return (near and a.x1 - a.x0 >= 0.6 * (m.right - m.left) and aligned
            and contents_entry(a.text) is None and not _alone(a, m))


def _wrapped_entries(lines: list[Line], m: _Measure, numbered: set[int], last_on_page: set[int]) -> set[int]:
    """Lines that run on into the next because they and it are one contents entry: up to five
    lines above a line with a leader and page number."""
    joined: set[int] = set()
    for k, line in enumerate(lines):
        if contents_entry(line.text) is None:
            continue
        i = k - 1
        while i >= 0 and k - i <= 5 and i not in numbered and _entry_continues(lines[i], lines[i + 1], m, i in last_on_page):
            joined.add(i)
            i -= 1
    return joined


def _numbered_entries(lines: list[Line]) -> set[int]:
    """Lines of a contents page that end at a page number with no room left for a leader
    ("…新篇章.1"): each ends its entry, though it fills the column like a wrapped line."""
    by_page: dict[int, list[int]] = defaultdict(list)
    for k, line in enumerate(lines):
        if contents_entry(line.text) is not None:
            by_page[line.page].append(k)
    numbered: set[int] = set()
    for found in by_page.values():
        if len(found) < 2:
            continue
        pages = {j: entry_page(lines[j].text) or 0 for j in found}
        for k in range(found[0] + 1, found[-1]):
            page = entry_page(lines[k].text)
            if k in pages or page is None:
                continue
            # pages only go forward: a figure that does not fit between its neighbours' page
            # numbers is the title's own ("…单日再获10" / "金 田径项目…………1")
            before = max(pages[j] for j in found if j < k)
            after = min(pages[j] for j in found if j > k)
            if before <= page <= after:
                numbered.add(k)
    return numbered


def _style(line: Line) -> tuple[float, bool]:
    return round(line.size), line.bold


def _title_tags(lines: list[Line], m: _Measure) -> set[int]:
    """`【…】` lines that are a title's bracketed tag on a line of its own ("【学思想 强党性】" /
    "北京扎实调研解难题"), not a section: set in the title's display type with the rest of the
    title right under it, while the issue's section lines are set in another type."""
    alone = [k for k, line in enumerate(lines) if SECTION_ONLY.match(line.text)]
    styles = Counter(_style(lines[k]) for k in alone)
    if len(styles) < 2:
        return set()  # every 【…】 line looks alike: all sections
    sections = styles.most_common(1)[0][0]
    # a section is named on a line of its own twice (in the contents and over its articles);
    # a title's tag is printed alone once at most
    named = Counter(_SPACES.sub("", lines[k].text) for k in alone)
    tags: set[int] = set()
    for k in alone:
        a = lines[k]
        if _style(a) == sections or k + 1 >= len(lines) or not _display(a, m) or named[_SPACES.sub("", a.text)] > 1:
            continue
        b = lines[k + 1]
        if (b.page == a.page and _style(b) == _style(a) and not stands_alone(b.text)
                and 0 < b.baseline - a.baseline <= _title_step(a, m)
                and abs((a.x0 + a.x1) - (b.x0 + b.x1)) <= 2 * a.size):
            tags.add(k)
    return tags


def layout_text(pages: list[Page]) -> str:
    """The text of fixed-layout pages, one paragraph per line, separated by blank lines."""
    per_page = [page_lines(page, number) for number, page in enumerate(pages)]
    drop = _running(per_page, [page.height for page in pages])
    lines: list[Line] = []
    last_on_page: set[int] = set()
    for p, page in enumerate(per_page):
        kept = [line for i, line in enumerate(page) if (p, i) not in drop]
        lines.extend(kept)
        if kept:
            last_on_page.add(len(lines) - 1)
    if not lines:
        return ""
    m = _measure(lines)
    numbered = _numbered_entries(lines)
    entries = _wrapped_entries(lines, m, numbered, last_on_page) | _title_tags(lines, m)
    # titles are set in the body's type, at the margin, when fewer than three lines are display
    # type or centred (the masthead's may be): only then may a line that fills the column be one
    body_titles = sum(1 for line in lines if (_display(line, m) or _centred(line, m)) and not _alone(line, m)) < 3
    paragraphs: list[str] = []
    starts: set[int] = set()
    for k, line in enumerate(lines):
        if k and k - 1 not in numbered and (k - 1 in entries or _runs_on(lines[k - 1], line, m, k - 1 in last_on_page)) \
                and not next_item(paragraphs[-1], line.text) \
                and not (body_titles and k - 1 in starts and k - 1 not in entries and _fills_as_title(lines, k - 1, m)):
            paragraphs[-1] = join_pieces(paragraphs[-1], line.text)
        else:
            paragraphs.append(line.text)
            starts.add(k)
    if not body_titles:
        paragraphs = _keep_subheadings(paragraphs, sorted(starts), lines, m)
    return "\n\n".join(_contents(paragraphs))


def _subheading(lines: list[Line], k: int, m: _Measure) -> bool:
    """Is line `k`, a paragraph of one line, a sub-heading inside an article ("德国政界人士呼吁对
    美国展开调查" between a digest's items) where the document sets its titles apart (display
    type or centred)? It is headline-shaped like a title, but printed in the body's type at the
    body's margin, between a paragraph's end and more prose: the type says it is no title."""
    line = lines[k]
    if k == 0 or k + 1 >= len(lines) or _display(line, m) or _centred(line, m) or _alone(line, m):
        return False
    prev, nxt = lines[k - 1], lines[k + 1]
    if (contents_entry(line.text) is not None or _ITEM.match(line.text) or not _headline(line, m)
            or line.x0 > m.left + 2.6 * line.size):
        return False
    # between prose in the body's type: a sentence ended above, a sentence follows
    return (_ends_sentence(prev.text) and not _display(prev, m) and not _display(nxt, m) and not _centred(nxt, m)
            and not _alone(nxt, m) and _SENTENCE_MARK.search(nxt.text) is not None)


def _keep_subheadings(paragraphs: list[str], starts: list[int], lines: list[Line], m: _Measure) -> list[str]:
    """Sub-headings (see `_subheading`) are run into the paragraph they head, one space between:
    the text parser, which sees no type, would read a headline-shaped line as a new article."""
    out: list[str] = []
    carry = ""
    for n, (text, k) in enumerate(zip(paragraphs, starts)):
        one_line = n + 1 < len(starts) and starts[n + 1] == k + 1
        if one_line and _subheading(lines, k, m):
            carry += text + " "
            continue
        out.append(carry + text)
        carry = ""
    if carry:
        out.append(carry.rstrip())
    return out


def _contents(paragraphs: list[str]) -> list[str]:
    """Dotted-leader contents lines become "- title" (see `base.contents_lines`); a wrapped
    entry's first line was already joined to its leader line above (it fills the column)."""
    return contents_lines(paragraphs)
