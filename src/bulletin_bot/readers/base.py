"""What every reader shares: the error it raises, line ends, printed widths, contents lines.

A reader turns a file's bytes into text with one paragraph (or heading, or contents entry) per
line, separated by blank lines; `parsing` reads that text whatever the format was. Readers of
fixed-layout formats (PDF, OFD, OCR) hand positioned lines to `layout` first.
"""

from __future__ import annotations

import re

from ..errors import ParseError

__all__ = ["ParseError", "CJK", "normalise_newlines", "width", "join_pieces", "contents_entry", "contents_lines"]

CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_NARROW = re.compile(r"[\x00-\u200f\u2070-\u2e7f]")
_LATIN_END = re.compile(r"[0-9A-Za-z]$")
_LATIN_START = re.compile(r"^[0-9A-Za-z]")


def normalise_newlines(text: str) -> str:
    """CRLF and lone CR become LF; form feeds (page breaks) become blank lines."""
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n\n")


def width(line: str) -> float:
    """Printed width in ems: CJK characters and punctuation one em, Latin letters and digits half."""
    return len(line) - 0.5 * len(_NARROW.findall(line))


def join_pieces(left: str, right: str) -> str:
    """Two pieces of one wrapped line: Chinese runs on with no space, so does a number; two
    Latin words keep one."""
    if _LATIN_END.search(left) and _LATIN_START.search(right) and not (left[-1].isdigit() and right[0].isdigit()):
        return f"{left} {right}"  # a number cut at the line end ("202" / "4年") runs on
    return left + right


# A contents line: the title, a dotted leader or a tab, the page number ("标题……………3", "标题\t3").
_LEADER = re.compile(r"^(?P<title>.*?\S)\s*(?:(?:[.．·•…⋯_]\s*){2,}|\t[\s.．·•…⋯_]*)(?P<page>\d{1,4})$")
SECTION_ONLY = re.compile(r"^【[^【】]+】$")
# Inside a contents list, an entry that fills its line leaves no room for a leader: the page
# number follows the title's last character directly ("…二十大精神1").
_NUMBER_AFTER_TITLE = re.compile(r"^(?P<title>.*[\u3400-\u9fff”’）》」』])[\s.．·…⋯]*(?P<page>\d{1,3})$")


# Lines that stand alone even in display type: a 【section】, the issue number, the date.
_MASTHEAD = re.compile(r"第\s*[0-9０-９〇零一二三四五六七八九十百]+\s*期|\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日")
_SPACE = re.compile(r"\s+")
_TITLE_MARKS = re.compile(r"[（(《“，,：:；;。！？]")
# The footer's distribution lines ("送：各成员单位", "发：…") start lines of their own.
_FOOTER_LINE = re.compile(r"^(?:抄送|报送|分送|主送|抄报|印发|送|发)[：:]")


def stands_alone(text: str) -> bool:
    """A line that is a paragraph by itself whatever its neighbours: a 【section】, a masthead
    number or date, a contents heading."""
    text = _SPACE.sub("", text)
    if SECTION_ONLY.match(text) or text in ("目录", "本期目录") or _FOOTER_LINE.match(text):
        return True
    # the number or date with at most an office name beside it; a title that holds a date
    # ("国内联播快讯（2023年1月30日起…") is no masthead line
    found = _MASTHEAD.search(text)
    if not found:
        return False
    start, end = found.span()
    if text[start - 1 : start] in ("（", "(") and text[end : end + 1] in ("）", ")"):
        start, end = start - 1, end + 1  # "工作简报（第12期）"
    rest = text[:start] + text[end:]
    return len(rest) <= 30 and not _TITLE_MARKS.search(rest)


def contents_entry(text: str) -> str | None:
    """The title of a contents line with a leader and page number, else None."""
    match = _LEADER.match(text.strip())
    return match.group("title").strip() if match else None


def entry_page(text: str) -> int | None:
    """The page number a contents line ends with, leader or not ("标题……3", "…大精神1")."""
    match = _LEADER.match(text.strip()) or _NUMBER_AFTER_TITLE.match(text.strip())
    return int(match.group("page")) if match else None


def contents_lines(lines: list[str]) -> list[str]:
    """Contents lines written the way the text parser reads a contents list: "- title" (a
    【section】 entry stays a section line). Only when two or more lines have leaders: one
    stray "…\\t3" is not a contents page."""
    titles = [contents_entry(line) for line in lines]
    found = [k for k, title in enumerate(titles) if title is not None]
    if len(found) < 2:
        return lines
    for k in range(found[0] + 1, found[-1]):
        if titles[k] is None and not SECTION_ONLY.match(lines[k]):
            match = _NUMBER_AFTER_TITLE.match(lines[k].strip())
            titles[k] = match.group("title") if match else None
    out = []
    for line, title in zip(lines, titles):
        if title is None:
            out.append(line)
        elif SECTION_ONLY.match(title):
            out.append(title)
        else:
            out.append(f"- {title}")
    return out


# Refused before any library unpacks them (the sandbox's memory and time limits are the backstop):
MAX_UNZIPPED = 256 * 1024 * 1024  # a bulletin's .docx unpacks to a few MB, its images included
MAX_ZIP_RATIO = 200  # text XML deflates ~10:1; a part packed 200:1 or more is built to explode
MAX_PDF_PAGES = 1000  # a bulletin has tens of pages
