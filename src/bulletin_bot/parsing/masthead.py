"""The masthead at the top of an issue (series, 第N期, office, date), and the running header a
PDF export repeats at the top of every page."""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass

from ..errors import ParseError
from .lines import SECTION, Line, collapse, squeeze

_NUM = r"[0-9０-９]+|[〇零一二三四五六七八九十百千两]+"
_ISSUE_NO = re.compile(rf"第\s*({_NUM})\s*期")
_BARE_NO = re.compile(rf"^\s*({_NUM})\s*期\s*$")
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
# Marks printed above or beside a masthead that are not part of the series name.
_CLASSIFIED = re.compile(r"^(?:[★☆]\s*)?(?:内部资料|内部刊物|内部参阅|注意保存|注意保密|秘密|机密|绝密|仅供参考)(?:[，,\s]*(?:注意保存|请勿外传|注意保密))?$")
_WEEKDAY = re.compile(r"[（(]?(?:星期|周|礼拜)[一二三四五六日天][）)]?")

_CN_DIGITS = {"〇": 0, "零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}


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


@dataclass
class Masthead:
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
            year, month, day = (_cn_number(squeeze(g)) for g in match.groups())
            value = _dt.date(year, month, day)
        except ValueError:
            continue
        return value.isoformat(), match.span()
    return None


def find_masthead(lines: list[Line], file: str) -> Masthead:
    head_limit = min(12, len(lines))
    for i, line in enumerate(lines[:head_limit]):
        if SECTION.match(line.text):
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
            lines[i] = Line(collapse(total_before + " " + total_after), line.number)
            break
    number_at = None
    for i, line in enumerate(lines[:head_limit]):
        match = _ISSUE_NO.search(line.text)
        if match:
            number_at, number_match = i, match
            break
    if number_at is None:
        # a line that is only "455期": OCR drops a 第 now and then
        for i, line in enumerate(lines[:head_limit]):
            match = _BARE_NO.match(line.text)
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
                volume = str(_cn_number(squeeze(scoped.group(1))))
        if total is not None:
            number = total
    series_parts = [line.text for line in lines[:number_at] if not _CLASSIFIED.match(squeeze(line.text))]
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
        if SECTION.match(text) or len(text) > 40:
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
    return Masthead(series, number, date, collapse(" ".join(office_parts)), end, volume)


def running_header(text: str, head: Masthead) -> bool:
    """Is this body line a page's running header: the series name, maybe with the issue number,
    or a part of the name with this issue's number ("工作简报 第455期")?"""
    if len(text) > 2 * len(head.series) + 24:  # most lines: paragraphs far longer than the name
        return False
    series = squeeze(head.series)
    line = squeeze(text)
    if not series or len(line) > len(series) + 12:
        return False
    if line.startswith(series) and not line[len(series) :].strip("（()）"):
        return True
    match = "期" in line and (_TOTAL_NO.search(line) or _ISSUE_NO.search(line))
    if not match or match.end() != len(line.rstrip("）)")) or _cn_number(match.group(1)) != head.number:
        return False
    name = line[: match.start()].rstrip("（(")
    return len(name) >= 2 and name in series
