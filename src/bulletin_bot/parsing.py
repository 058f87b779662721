"""Text -> Issue: masthead, contents, sections, articles, footer, page-break repair.

A bulletin file, whatever it was exported from (.txt, .docx, .pdf, .doc, .wps, .ofd; see
`readers`), reads as
non-empty lines:

    <series>                       or   <series>（第N期）
    第 N 期                              <office>   YYYY年M月D日
    <office>
    YYYY 年 M 月 D 日
    【section】  - title  - title …     (contents; absent in some exports)
    【section】
    title
    paragraph …
    送：… / 发：… / <office>           (footer, never part of an article)

Only a line that is exactly `【…】` opens a section; a title may start with a bracketed tag.
With a contents list, the body titles are found by similarity to its entries (the body title,
as printed, is kept). Without one, a title is a headline-shaped line (short, no full stop, no
sentence comma) after a line that ends a sentence, unless it is a sub-heading of a digest
("…快讯（X等）" then "X"). A line a page end cut off ("走在前、" / "做示范，…") is told from a
headline by evidence: the next line continues it (punctuation, a word running across the cut,
a number or bracket left open), it reads like a sentence (a comma, a dangling function word), or
the lead paragraph does not restate it. Cut lines are joined back with no space added.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import functools
import re
from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .models import Article, FileProblem, Issue
from .errors import ParseError
from .readers import SUPPORTED_SUFFIXES, extract_text

# Bump whenever a change here or in readers/ reads some file differently: an index built by
# another parser version is re-parsed in full on the next `bulletin-bot index`.
PARSER_VERSION = "2026-12-01.1"

_WS = re.compile(r"\s+")
_NUM = r"[0-9０-９]+|[〇零一二三四五六七八九十百千两]+"
_ISSUE_NO = re.compile(rf"第\s*({_NUM})\s*期")
# "第12期（总第455期）": the running number since the first issue, unique in the series
_TOTAL_NO = re.compile(rf"[（(]?\s*总\s*第\s*({_NUM})\s*期\s*[)）]?")
# "2024年第12期": issues numbered afresh each year
_VOLUME = re.compile(r"((?:[12]\s*\d\s*\d\s*\d)|[〇零一二三四五六七八九]{4})\s*年(?:度)?\s*$")
_DATE = re.compile(
    r"((?:[12]\s*\d\s*\d\s*\d)|[〇零一二三四五六七八九]{4})\s*年\s*"
    r"([0-9]{1,2}|[一二三四五六七八九十]{1,3})\s*月\s*"
    r"([0-9]{1,2}|[一二三四五六七八九十]{1,3})\s*日"
)
_ISO_DATE = re.compile(r"(20\d\d|19\d\d)\s*[-./]\s*(\d{1,2})\s*[-./]\s*(\d{1,2})")
_SECTION = re.compile(r"^【([^【】]+)】$")
_ENTRY = re.compile(r"^(?:[-－–•·●▪]|\d{1,2}[.．、]|[（(]\d{1,2}[）)])\s*(.+)$")
_FOOTER = re.compile(
    r"^(?:(?:抄\s*送|报\s*送|分\s*送|送|发|报|印\s*发|抄\s*报|主\s*送|责任编辑|责\s*编|编\s*辑|审\s*核|审\s*稿|签\s*发|校\s*对|联系人|联系电话)\s*[：:]"
    r"|[（(]共印\s*\d+\s*份[）)]$)"
)
# Page numbers an export may leave between paragraphs ("- 2 -", "第2页 共5页"); a bare number
# may be the start of a sentence a page end cut, so it stays.
_PAGE_MARK = re.compile(r"^(?:[-－—–]\s*\d{1,3}\s*[-－—–]|第\s*\d{1,3}\s*页(?:\s*[，,/]?\s*共\s*\d{1,3}\s*页)?|\d{1,3}\s*/\s*\d{1,3})$")
# Marks printed above or beside a masthead that are not part of the series name.
_CLASSIFIED = re.compile(r"^(?:[★☆]\s*)?(?:内部资料|内部刊物|内部参阅|注意保存|注意保密|秘密|机密|绝密|仅供参考)(?:[，,\s]*(?:注意保存|请勿外传|注意保密))?$")
_WEEKDAY = re.compile(r"[（(]?(?:星期|周|礼拜)[一二三四五六日天][）)]?")
_CONTENTS_HEADING = re.compile(r"^(?:本期)?(?:目\s*录|要\s*目|导\s*读)$")
# A numbered sub-heading stays a paragraph of its article and is never joined to the next line.
_HEADING = re.compile(
    r"^(?:[一二三四五六七八九十]+、|[（(][一二三四五六七八九十0-9]+[）)]|[0-9]+[、.．]|第[一二三四五六七八九十]+[，、是])"
)
# Characters a paragraph may end with.
_TERMINAL = set("。！？!?…；;：:")
_CLOSERS = set("”’」』）)》〉】\"'")
# A line starting with one of these continues the line before it (a page end cut the sentence).
_CONTINUES = set("，。、；：？！,.;:?!）)》〉」』”’%％…")
_NOTE = re.compile(r"^[（(].*[）)]$")  # "（2022年10月12日…通过）" is a note, not a headline
_NON_WORD = re.compile(r"[^0-9A-Za-z\u4e00-\u9fff]")
_SENTENCE_MARKS = re.compile(r"[，。；！？]")
_SOFT_END = set("，、,—-（(《“‘「『〈")

_CN_DIGITS = {"〇": 0, "零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}

# Titles found without a contents list: a title is short and does not end like a sentence.
MAX_TITLE_CHARS = 60


def _cn_number(text: str) -> int:
    """'455', '４５５', '四百五十五', '四五五', '十二' -> int."""
    text = text.translate(str.maketrans("０１２３４５６７８９", "0123456789"))
    if text.isdigit():
        return int(text)
    if all(ch in _CN_DIGITS for ch in text):  # digit by digit: 二〇二三
        return int("".join(str(_CN_DIGITS[ch]) for ch in text))
    total, current = 0, 0
    for ch in text:
        if ch in _CN_DIGITS:
            current = _CN_DIGITS[ch]
        elif ch in _CN_UNITS:
            total += (current or 1) * _CN_UNITS[ch]
            current = 0
    return total + current


def collapse(text: str) -> str:
    """Runs of whitespace become one space; ends trimmed."""
    return _WS.sub(" ", text).strip()


def _squeeze(text: str) -> str:
    return _WS.sub("", text)


@dataclass
class _Line:
    text: str
    number: int  # 1-based line number in the decoded text


def _lines(text: str) -> list[_Line]:
    out = []
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip()
        if line and not _PAGE_MARK.match(line):
            out.append(_Line(line, number))
    return out


# ---------------------------------------------------------------- masthead


@dataclass
class _Masthead:
    series: str
    number: int
    date: str
    office: str
    end: int  # index of the first line after the masthead
    volume: str = ""


def _find_date(text: str) -> tuple[str, tuple[int, int]] | None:
    for pattern in (_DATE, _ISO_DATE):
        match = pattern.search(text)
        if not match:
            continue
        try:
            year, month, day = (_cn_number(_squeeze(g)) for g in match.groups())
            value = _dt.date(year, month, day)
        except ValueError:
            continue
        return value.isoformat(), match.span()
    return None


def _masthead(lines: list[_Line], file: str) -> _Masthead:
    head_limit = min(12, len(lines))
    for i, line in enumerate(lines[:head_limit]):
        if _SECTION.match(line.text):
            head_limit = i
            break
    # 总第N期 is the number when a masthead gives both; it is cut out of the line either way
    total = total_at = None
    lines = list(lines)
    for i, line in enumerate(lines[:head_limit]):
        match = _TOTAL_NO.search(line.text)
        if match:
            total, total_at = _cn_number(match.group(1)), i
            total_before, total_after = line.text[: match.start()], line.text[match.end() :]
            lines[i] = _Line(collapse(total_before + " " + total_after), line.number)
            break
    number_at = None
    for i, line in enumerate(lines[:head_limit]):
        match = _ISSUE_NO.search(line.text)
        if match:
            number_at, number_match = i, match
            break
    volume = ""
    if number_at is None:
        if total is None:
            raise ParseError(file, "no issue number (第N期) in the masthead at the top of the file")
        number_at, number = total_at, total
        before, after = total_before.rstrip(" （("), total_after.lstrip(" ）)")
    else:
        number = _cn_number(number_match.group(1))
        line_text = lines[number_at].text
        before = line_text[: number_match.start()].rstrip(" （(")
        after = line_text[number_match.end() :].lstrip(" ）)")
        scoped = _VOLUME.search(before)
        if scoped:
            before = before[: scoped.start()].rstrip(" （(")
            if total is None:
                volume = str(_cn_number(_squeeze(scoped.group(1))))
        if total is not None:
            number = total
    series_parts = [line.text for line in lines[:number_at] if not _CLASSIFIED.match(_squeeze(line.text))]
    if before:
        series_parts.append(before)
    series = collapse(" ".join(series_parts))

    # Date and office follow the number (same line or the next few lines); some mastheads put them first.
    candidates: list[tuple[int, str]] = []
    if after:
        candidates.append((number_at, after))
    candidates += [(j, lines[j].text) for j in range(number_at + 1, min(number_at + 4, head_limit))]
    date = None
    office_parts: list[str] = []
    end = number_at + 1
    for j, text in candidates:
        found = _find_date(text)
        if found:
            date, (start, stop) = found[0], found[1]
            rest = collapse(_WEEKDAY.sub(" ", text[:start] + " " + text[stop:]))
            if rest:
                office_parts.append(rest)
            end = j + 1
            break
        if _SECTION.match(text) or len(text) > 40:
            break
        office_parts.append(text)
    if date is None:
        for line in lines[:number_at]:
            found = _find_date(line.text)
            if found:
                date = found[0]
                series = collapse(series.replace(line.text, ""))
                office_parts = []
                break
    if date is None:
        raise ParseError(file, f"no date (YYYY年M月D日) in the masthead of 第{number}期")
    return _Masthead(series, number, date, collapse(" ".join(office_parts)), end, volume)


# ---------------------------------------------------------------- contents and body


def _section_name(text: str) -> str | None:
    match = _SECTION.match(text)
    return _squeeze(match.group(1)) if match else None


def _contents(lines: list[_Line], start: int) -> tuple[list[tuple[str, str]], int]:
    """(section, title) entries of the contents list at `start`, and where the body begins."""
    i = start
    if i < len(lines) and _CONTENTS_HEADING.match(_squeeze(lines[i].text)):
        i += 1
    entries: list[tuple[str, str]] = []
    section = ""
    body_start = start
    while i < len(lines):
        text = lines[i].text
        name = _section_name(text)
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


def _unmarked_contents(lines: list[_Line], start: int) -> tuple[list[tuple[str, str]], int]:
    """A contents list whose entries have no bullet or number (a Word table of contents pasted
    as plain lines): 【section】 and headline lines only, up to the first section named twice,
    and most of its titles printed again in the body below. Otherwise no contents."""
    i = start
    if i < len(lines) and _CONTENTS_HEADING.match(_squeeze(lines[i].text)):
        i += 1
    entries: list[tuple[str, str]] = []
    seen: set[str] = set()
    section = ""
    while i < len(lines):
        text = lines[i].text
        name = _section_name(text)
        if name is not None:
            if name in seen:
                break  # the body opens with the first section again
            seen.add(name)
            section = name
        elif _title_like(text) and len(text) <= MAX_TITLE_CHARS:
            entries.append((section, collapse(text)))
        else:
            return [], start
        i += 1
    if not entries or not seen or i >= len(lines):
        return [], start
    body = lines[i:]
    restated = sum(any(_match_title(body, j, title)[0] >= 0.6 for j in range(len(body))) for _, title in entries)
    return (entries, i) if 2 * restated > len(entries) else ([], start)


def _footer_start(lines: list[_Line], start: int) -> int:
    """Index of the first footer line (送：/发：… and what follows), or len(lines)."""
    last = None
    for i in range(len(lines) - 1, max(start, len(lines) - 12) - 1, -1):
        if _FOOTER.match(lines[i].text):
            last = i
            break
    if last is None:
        return len(lines)
    first = last
    while first - 1 >= start and _FOOTER.match(lines[first - 1].text):
        first -= 1
    if any(len(line.text) > 80 for line in lines[last + 1 :]):
        return len(lines)
    return first


def _running_header(text: str, head: _Masthead) -> bool:
    """Is this body line a page's running header: the series name, maybe with the issue number,
    or a part of the name with this issue's number ("工作简报 第455期")?"""
    if len(text) > 2 * len(head.series) + 24:  # most lines: paragraphs far longer than the name
        return False
    series = _squeeze(head.series)
    line = _squeeze(text)
    if not series or len(line) > len(series) + 12:
        return False
    if line.startswith(series) and not line[len(series) :].strip("（()）"):
        return True
    match = "期" in line and (_TOTAL_NO.search(line) or _ISSUE_NO.search(line))
    if not match or match.end() != len(line.rstrip("）)")) or _cn_number(match.group(1)) != head.number:
        return False
    name = line[: match.start()].rstrip("（(")
    return len(name) >= 2 and name in series


def _ends_sentence(text: str) -> bool:
    text = text.rstrip()
    while text and text[-1] in _CLOSERS:
        if text[-1] in "”’」』\"'" and len(text) > 1 and text[-2] not in _TERMINAL:
            return True  # a closing quote ends a quoted title or a full quotation
        text = text[:-1]
    return bool(text) and text[-1] in _TERMINAL


def _ends_with_stop(text: str) -> bool:
    """Ends with a full stop, maybe inside closing quotes or brackets (…。” …！）)."""
    text = text.rstrip()
    while text and text[-1] in _CLOSERS:
        text = text[:-1]
    return bool(text) and text[-1] in _TERMINAL


def _title_like(text: str) -> bool:
    """Short, or headline-shaped (no sentence punctuation inside), and not ending like a sentence.
    A headline may end with a quoted word (擦亮“千年敦煌”); a paragraph may not end with a comma."""
    if _ends_with_stop(text) or text[-1] in _SOFT_END or _NOTE.match(text) or "。" in text:
        return False
    return len(text) <= MAX_TITLE_CHARS or (len(text) <= 2 * MAX_TITLE_CHARS and not _SENTENCE_MARKS.search(text))


def _similar(a: str, b: str, floor: float = 0.0) -> float:
    """difflib ratio of the two texts, spaces ignored; 0.0 when it is surely below `floor`."""
    a, b = _squeeze(a), _squeeze(b)
    if a == b:
        return 1.0
    if not a or not b or len(a) > 2 * len(b) + 10 or len(b) > 2 * len(a) + 10:
        return 0.0
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    if matcher.real_quick_ratio() < floor or matcher.quick_ratio() < floor:
        return 0.0
    return matcher.ratio()


def _match_title(block: list[_Line], j: int, title: str) -> tuple[float, int]:
    """How well the line(s) at `j` spell `title`: (similarity, lines used). A page end may cut a title."""
    best = (0.0, 1)
    target = _squeeze(title)
    joined = ""
    for k in range(1, 4):
        if j + k > len(block):
            break
        piece = _squeeze(block[j + k - 1].text)
        if k > 1 and not target.startswith(joined):
            break
        joined += piece
        if len(joined) > 2 * len(target) + 10:
            break
        score = _similar(joined, target, floor=0.6)
        if score > best[0]:
            best = (score, k)
    return best


def _split_with_titles(block: list[_Line], titles: list[str]) -> list[tuple[str, list[_Line]]] | None:
    """Cut a section's lines at the titles the contents list announces; None when they are not all found."""
    if not block:
        return None
    starts: list[tuple[int, int]] = []
    pos = 0
    for n, title in enumerate(titles):
        # The best match after the previous title; the first title opens the section.
        found, best = None, 0.6
        for j in range(pos, len(block) if n else min(pos + 1, len(block))):
            score, used = _match_title(block, j, title)
            if score >= best + (1e-9 if found else 0):
                found, best = (j, used), score
                if score == 1.0:
                    break
        if found is None:
            if n == 0:
                found = (0, 1)
            else:
                return None
        starts.append(found)
        pos = found[0] + found[1]
    out = []
    for k, (begin, used) in enumerate(starts):
        stop = starts[k + 1][0] if k + 1 < len(starts) else len(block)
        title = collapse("".join(line.text for line in block[begin : begin + used]))
        out.append((title, block[begin + used : stop]))
    return out


def _next_paragraph(block: list[_Line], k: int) -> str:
    """The lines after `k` up to the end of the next sentence-ending line (a cut paragraph whole)."""
    out = ""
    for line in block[k + 1 : k + 4]:
        out += line.text
        if _ends_sentence(line.text):
            break
    return out


def _following(block: list[_Line], k: int, chars: int = 300) -> str:
    """The text of the lines after `k`, about `chars` long."""
    out = ""
    for line in block[k + 1 :]:
        out += line.text
        if len(out) >= chars:
            break
    return out


def _names_part(title: str, text: str) -> bool:
    """Is `text` one of the parts a title lists ("【代表风采】A：… B：…" names "A：…")?"""
    head, part = collapse(title), collapse(text)
    at = head.find(part)
    if at < 0 or part == head:
        return False
    before = head[at - 1] if at else " "
    after = head[at + len(part)] if at + len(part) < len(head) else " "
    return before in " 】]（(" and after in " ）)"


def _title_span(block: list[_Line], k: int) -> int:
    """Lines the title at `k` takes: more than one when page ends cut it (the rest is title-shaped too)."""
    used = 1
    while used < 3 and k + used < len(block) and _title_continues(block, k, used):
        used += 1
    return used


def _title_continues(block: list[_Line], k: int, used: int) -> bool:
    """Does the title made of lines k..k+used-1 go on in the next line?"""
    text = "".join(line.text for line in block[k : k + used])
    at = k + used
    nxt = block[at].text
    if not _title_like(nxt) or _HEADING.match(nxt) or not _title_like(text + nxt) or _squeeze(nxt) == _squeeze(text):
        return False
    if _cut_here(text, nxt, _next_paragraph(block, at - 1)) or _closes(text, nxt):
        return True
    # Two headlines in a row, then a paragraph that restates the second: one title cut in two
    # (not a digest's first item, not the first words of a paragraph cut by a page end).
    third = block[at + 1].text if at + 1 < len(block) else ""
    if not third or _title_like(third) or _opens_digest(text, nxt, third):
        return False
    following = _following(block, at)
    if len(_squeeze(nxt)) <= 3:
        # a title's last word ("…梅里埃" / "夫妇"), if the lead repeats the phrase across the cut
        return _squeeze(text)[-4:] + _squeeze(nxt) in _squeeze(following)
    restated = _coverage(nxt, following) >= 0.5
    return not _cut_here(nxt, third, _next_paragraph(block, at)) and (restated or len(_squeeze(text)) <= 4)


_NAMED_ITEM = re.compile(r"[（(](.+?)等?[）)]?$")  # from the first bracket: "快讯（X等）"


def _opens_digest(title: str, first: str, nxt: str) -> bool:
    """Is the article a digest of headlined items? Its first line is a headline the title names
    ("国内联播快讯（X等）" then "X…", or "【…】A：… B：…" then "A：…").
    The digest's later headlines are its sub-headings, not new articles."""
    if not _title_like(first) or _cut_here(first, nxt) or _HEADING.match(first):
        return False
    head, line = _squeeze(title), _squeeze(first)
    if line == head:
        return False  # the title printed twice
    if _names_part(title, first):
        return True
    named = _NAMED_ITEM.search(head)
    if named and len(named.group(1)) >= 4:
        item = named.group(1)
        return line.startswith(item) or item.startswith(line) or _similar(item, line[: len(item)]) >= 0.8
    return False


def _titles_in(block: list[_Line], pool: list[str]) -> list[str]:
    """The leading titles of `pool` that appear in this block in order, the first one opening it."""
    taken: list[str] = []
    pos = 0
    for n, title in enumerate(pool):
        stop = min(pos + 1, len(block)) if n == 0 else len(block)
        found = next((j for j in range(pos, stop) if _match_title(block, j, title)[0] >= 0.6), None)
        if found is None:
            break
        taken.append(title)
        pos = found + 1
    return taken


def _split_by_shape(block: list[_Line]) -> list[tuple[str, list[_Line]]]:
    """Cut a section's lines into articles when no contents list names the titles.

    The first line (or two, when a page end cut it) is a title. Later, a headline-shaped line
    after a line that ends a sentence opens a new article, unless it is a page end's cut (see
    `_cut_here`) or a sub-heading of the current article: numbered (一、…), a part its title
    lists ("A：… B：…"), or any headline of a digest (the title names its first item).
    """
    if not block:
        return []
    articles: list[tuple[str, list[_Line]]] = []
    used = _title_span(block, 0)
    title = collapse("".join(line.text for line in block[:used]))
    body: list[_Line] = []
    digest = False
    skip = used
    for k in range(1, len(block)):
        if k < skip:
            continue
        text = block[k].text
        prev = body[-1].text if body else None
        nxt = block[k + 1].text if k + 1 < len(block) else ""
        if (
            prev is not None
            and (_ends_sentence(prev) or _HEADING.match(prev))
            and _title_like(text)
            and not _HEADING.match(text)
            and not digest
            and not _names_part(title, text)
            and (not _cut_here(text, nxt, _next_paragraph(block, k)) or _title_span(block, k) > 1)
        ):
            articles.append((title, body))
            used = _title_span(block, k)
            skip = k + used
            title, body, digest = collapse("".join(line.text for line in block[k : k + used])), [], False
            continue
        line = block[k]
        if not body:
            used = _title_span(block, k)  # the first item's headline may be cut by a page end too
            first = "".join(other.text for other in block[k : k + used])
            after = block[k + used].text if k + used < len(block) else ""
            digest = _opens_digest(title, first, after)
        body.append(line)
    articles.append((title, body))
    return articles


def _word_spans(left: str, right: str) -> bool:
    """True when a dictionary word runs across the end of `left` into `right` ("负" + "责同志")."""
    return bool(left and right) and _spans(left[-6:], right[:6])


@functools.lru_cache(maxsize=4096)
def _spans(head: str, tail: str) -> bool:
    segment = _segmenter()
    if segment is None:
        return False
    pos = 0
    for word in segment(head + tail):
        if pos < len(head) < pos + len(word):
            return True
        pos += len(word)
    return False


_SEGMENT: list = []


def warm_up() -> None:
    """Load the word dictionary used for page-break repair now rather than on the first parse."""
    segment = _segmenter()
    if segment is not None:
        segment("预热")


def _segmenter():
    """Dictionary-only (no HMM) word cutter shared with the indexer, or None without it."""
    if not _SEGMENT:
        try:
            from .text import cut_words

            cut_words("预热")
            _SEGMENT.append(cut_words)
        except ImportError:  # pragma: no cover - rjieba is a declared dependency
            _SEGMENT.append(None)
    return _SEGMENT[0]


# Words a heading or title does not end with but a cut sentence often does.
_DANGLING = frozenset("的 了 和 与 及 在 是 对 把 被 从 向 将 以 为 并 或 其 之 而 且 也 都 就 又 关于 对于 围绕 包括 按照 根据 随着 由于 为了 以及 并且 而且".split())


def _dangles(text: str) -> bool:
    """Does `text` end with a function word that needs something after it ("…的", "…关于")?"""
    segment = _segmenter()
    tail = text[-6:]
    if segment is None:
        return tail[-1] in _DANGLING
    words = segment(tail)
    return bool(words) and words[-1] in _DANGLING


def _bigrams(text: str) -> set[str]:
    text = _NON_WORD.sub("", text)
    return {text[i : i + 2] for i in range(len(text) - 1)}


def _coverage(text: str, after: str) -> float:
    """Share of the character pairs of `text` found in the first 400 characters of `after`."""
    grams = _bigrams(text)
    if not grams:
        return 0.0
    following = _squeeze(after)[:400]
    return sum(gram in following for gram in grams) / len(grams)


def _restated(text: str, after: str) -> bool:
    """Does the text that follows repeat most of `text`? A lead paragraph restates its headline;
    the rest of a cut sentence does not repeat the sentence's beginning."""
    grams = _bigrams(text)
    if len(grams) < 4:
        return False
    following = _squeeze(after)[:400]
    return sum(gram in following for gram in grams) >= 0.6 * len(grams)


_PAIRS = ("（）", "《》", "“”", "【】", "()")


def _unclosed(text: str) -> int:
    return sum(max(0, text.count(a) - text.count(b)) for a, b in _PAIRS)


def _closes(text: str, nxt: str) -> bool:
    """Does `nxt` close a bracket or quote `text` left open ("…（第" / "N期）")?"""
    return _unclosed(text + nxt) < _unclosed(text)


def _cut_here(text: str, nxt: str, after: str = "", headline: bool = True) -> bool:
    """Does the line `text` (no closing punctuation) stop where a page ended, `nxt` carrying on?
    `after` is more of the text that follows (the next lines), to tell a headline from a cut
    sentence; inside an article (`headline=False`) a sentence-like line needs no such check."""
    if not nxt or _ends_sentence(text) or _HEADING.match(nxt):
        return False
    if nxt[0] in _CONTINUES or text[-1] in _SOFT_END:
        return True
    if (text[-1].isdigit() or text[-1] in "年月") and (nxt[0].isdigit() or nxt[0] in "%％.．"):
        return True  # a number or date cut in two: "增长2" / "2.7%", "于1月" / "8日"
    if _HEADING.match(text):
        return False
    squeezed = _squeeze(text)
    if len(squeezed) <= 3:
        return True
    weak = (
        len(text) > 2 * MAX_TITLE_CHARS
        or _top_level_comma(text)
        or _closes(text, nxt)
        or _dangles(squeezed)
    )
    if weak and not (headline and _restated(text, after or nxt)):
        return True
    return _word_spans(squeezed, _squeeze(nxt))


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


def _repair(lines: list[_Line]) -> tuple[str, ...]:
    """Join paragraphs a page end cut in two; keep real paragraph ends and headings apart.

    Inside an article a short line without closing punctuation is either a sub-heading or the
    start of a sentence a page end cut off. A sub-heading is restated by the paragraph under it;
    the rest of a cut sentence does not repeat its beginning, so an unrestated line is joined."""
    paragraphs: list[str] = []
    for k, line in enumerate(lines):
        text = line.text
        if paragraphs:
            last = paragraphs[-1]
            if _cut_here(last, text, headline=False) or (
                _title_like(last)
                and not _HEADING.match(last)
                and not _HEADING.match(text)
                and not _NOTE.match(text)
                and _coverage(last, "".join(other.text for other in lines[k : k + 3])) < 0.15
            ):
                paragraphs[-1] = last + text
                continue
        paragraphs.append(text)
    return tuple(paragraphs)


def _opens_section(name: str, body: list[_Line], k: int, known: set[str]) -> bool:
    """A `【…】` line opens a section unless it is a title's bracketed tag cut off by a page end:
    with a contents list, sections are the ones it names; without, a section is followed by a title."""
    if known:
        return name in known
    nxt = body[k + 1].text if k + 1 < len(body) else ""
    sentence = "。" in nxt[:-1] or (_ends_sentence(nxt) and len(nxt) > MAX_TITLE_CHARS)
    return not sentence


def parse_text(text: str, file: str, encoding: str = "utf-8") -> Issue:
    """Parse the decoded text of one bulletin."""
    lines = _lines(text)
    if not lines:
        raise ParseError(file, "empty file: no text")
    head = _masthead(lines, file)
    entries, body_start = _contents(lines, head.end)
    footer_at = _footer_start(lines, body_start)
    # a PDF export repeats the series name at the top of every page ("…工作简报 第455期"): a
    # running header, not text; left in, it would be joined into the sentence the page cut
    body = [line for line in lines[body_start:footer_at] if not _running_header(line.text, head)]
    footer = tuple(line.text for line in lines[footer_at:])

    known = {section for section, _ in entries if section}
    blocks: list[tuple[str, list[_Line]]] = []
    for k, line in enumerate(body):
        name = _section_name(line.text)
        if name is not None and not _opens_section(name, body, k, known):
            name = None
        if name is not None:
            blocks.append((name, []))
        elif blocks:
            blocks[-1][1].append(line)
        else:
            blocks.append(("", [line]))

    expected: dict[str, deque[list[str]]] = defaultdict(deque)
    if entries:
        grouped: list[tuple[str, list[str]]] = []
        for section, title in entries:
            if grouped and grouped[-1][0] == section:
                grouped[-1][1].append(title)
            else:
                grouped.append((section, [title]))
        for section, titles in grouped:
            expected[section].append(titles)

    # Titles a contents list gives without (matching) sections are looked for in any block, in order.
    pool = [title for section, titles in expected.items() if section not in {n for n, _ in blocks} for group in titles for title in group]
    articles: list[Article] = []
    sections: list[str] = []
    for name, block in blocks:
        if not block:
            continue
        split = None
        if expected.get(name):
            split = _split_with_titles(block, expected[name].popleft())
        elif pool:
            taken = _titles_in(block, pool)
            if taken:
                split = _split_with_titles(block, taken)
                del pool[: len(taken)]
        if split is None:
            split = _split_by_shape(block)
        for title, paragraph_lines in split:
            if name not in sections:
                sections.append(name)
            articles.append(Article(name, title, _repair(paragraph_lines), len(articles) + 1))
    if not articles:
        raise ParseError(file, f"no articles found in 第{head.number}期 (expected 【section】 lines followed by titles)")
    return Issue(
        file=file,
        series=head.series,
        number=head.number,
        date=head.date,
        office=head.office,
        sections=tuple(sections),
        articles=tuple(articles),
        footer=footer,
        encoding=encoding,
        volume=head.volume,
    )


# ---------------------------------------------------------------- files


def _unsupported(file: str, suffix: str) -> ParseError:
    hint = "; save it as .docx or .pdf" if suffix.lower() in (".rtf", ".odt", ".et", ".xls", ".xlsx") else ""
    return ParseError(file, f"unsupported file type {suffix or '(none)'!r} (supported: {', '.join(SUPPORTED_SUFFIXES)}{hint})")


def parse_bytes(data: bytes, file: str) -> Issue:
    """Parse one bulletin from its bytes; the name's suffix (and the content) decide the format."""
    suffix = Path(file).suffix.lower()
    if suffix and suffix not in SUPPORTED_SUFFIXES:
        raise _unsupported(file, suffix)
    text, encoding = extract_text(data, file)
    return parse_text(text, file, encoding)


def read_issue(path: Path, max_bytes: int | None = None) -> Issue:
    """Read and parse one bulletin file; raises ParseError naming the file and the reason."""
    path = Path(path)
    file = str(path)
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        raise _unsupported(file, path.suffix)
    try:
        size = path.stat().st_size
        if max_bytes is not None and size > max_bytes:
            raise ParseError(file, f"too large: {size} bytes, the limit is {max_bytes}")
        data = path.read_bytes()
    except OSError as exc:
        raise ParseError(file, f"cannot read: {exc.strerror or exc}") from None
    return parse_bytes(data, file)


def corpus_files(paths: Iterable[Path]) -> list[Path]:
    """Supported files under the given files and folders (recursively), sorted, hidden ones skipped."""
    found: set[Path] = set()
    for path in paths:
        path = Path(path)
        if path.is_dir():
            for child in path.rglob("*"):
                rel = child.relative_to(path)
                if any(part.startswith(".") for part in rel.parts) or child.name.startswith("~$"):
                    continue  # hidden files and folders, Word's lock files
                if child.is_file() and child.suffix.lower() in SUPPORTED_SUFFIXES:
                    found.add(child)
        elif path.name.startswith((".", "~$")):
            continue
        else:
            found.add(path)
    return sorted(found)


def duplicate_key(issue: Issue) -> tuple[str, int, str]:
    """Two files with the same key hold the same issue: the series (spaces ignored) and 第N期
    (and the year, for a series that numbers its issues afresh each year)."""
    return issue_key(issue.series, issue.number, issue.volume)


def issue_key(series: str, number: int, volume: str = "") -> tuple[str, int, str]:
    """`duplicate_key` from the parts an index keeps of an issue (a manifest's file record)."""
    return (_squeeze(series), number, volume)


def issue_label(issue: Issue) -> str:
    """第455期, or 2024年第12期 for a series numbered within each year."""
    return f"{issue.volume}年第{issue.number}期" if issue.volume else f"第{issue.number}期"


def scan(paths: Iterable[Path], max_bytes: int | None = None) -> tuple[list[Issue], list[FileProblem]]:
    """Parse every supported file; unreadable files and duplicates become FileProblems."""
    issues: list[Issue] = []
    problems: list[FileProblem] = []
    seen: dict[tuple[str, int], str] = {}
    for path in corpus_files(paths):
        try:
            issue = read_issue(path, max_bytes=max_bytes)
        except ParseError as exc:
            problems.append(FileProblem(exc.file, exc.reason))
            continue
        key = duplicate_key(issue)
        if key in seen:
            problems.append(FileProblem(issue.file, f"duplicate of {seen[key]} (same series and {issue_label(issue)})"))
            continue
        seen[key] = issue.file
        issues.append(issue)
    return issues, problems


# ---------------------------------------------------------------- views


def issue_to_json(issue: Issue) -> dict:
    return {
        "file": issue.file,
        "series": issue.series,
        "issue": issue.number,
        "date": issue.date,
        "office": issue.office,
        "sections": list(issue.sections),
        "articles": [{"section": a.section, "title": a.title, "text": a.text} for a in issue.articles],
    }


def format_outline(issue: Issue) -> str:
    """Masthead line, then per section the article titles with paragraph and character counts."""
    out = [f"{issue.series} {issue_label(issue)} {issue.date}" + (f" {issue.office}" if issue.office else "")]
    section = None
    for article in issue.articles:
        if article.section != section:
            section = article.section
            out.append(f"【{section}】" if section else "(no section)")
        out.append(f"  {article.index}. {article.title}  ({len(article.paragraphs)} paragraphs, {len(article.text)} chars)")
    return "\n".join(out)
