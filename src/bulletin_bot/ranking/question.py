"""What a question says about where to look: restrictions, dates as evidence, bulletin words.

A question may restrict the search to bulletins (`第455期`, "2023年12月的简报", "最近一期",
"上个月的简报", `【经验交流】`): those are the user's own filters. Every other year, month or
day is part of what is asked ("2023年全国铁路旅客发送量"): it stays in the search text and
only raises issues dated in the period or somewhat after it, since bulletins report events
days later, monthly figures weeks later and a year's totals months later. Targets and plan
periods ("到2035年", "2030年前", "2024—2028年") are content and never point at a date.
Words about the bulletins themselves (简报, 文章, 报道, 提到 …) say nothing about the content.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

from ..models import QueryFilters

# How long after a period its news still comes out: an event is reported within days; a
# month's figures by the middle of the next month; a quarter's or a half's some weeks after it
# ends; a year's totals in the first quarter of the next year (statistics bureaus, 两会 reports).
LAG_DAYS = {"day": 7, "month": 35, "months": 35, "quarter": 45, "half": 45, "year": 90}
AS_OF_DAYS = 180  # "截至2023年底": the figures as of then, reported in the months after it

# words about the bulletins, not about what they report: never content
BULLETIN_WORDS = frozenset(
    "简报 工作简报 期刊 这期 那期 一期 哪期 各期 本期 上期 文章 这篇 那篇 哪篇 报道 报导 介绍 提到 提及 "
    "讲到 说到 谈到 讲了 说了 写了 登了 刊登 刊发 里 里面 中 上面 内容 相关 有关 关于 一下 消息 新闻 "
    "讲 说 写".split()
)

_BULLETIN_NOUN = r"(?:工作)?简报|这一?期|那一?期|一期|各期|几期|期刊"
_AFTER_DATE_BULLETIN = re.compile(rf"^\s*(?:的|出的|发的|印发的|刊发的|发布的|编发的)?\s*(?:{_BULLETIN_NOUN})")
_ISSUE = re.compile(r"第\s*(\d{1,6})\s*期")
_LATEST = re.compile(r"(?:最近|最新|上)\s*一\s*期(?:简报)?|最近的简报|最新的简报|最新简报")
_RELATIVE_MONTH = re.compile(r"(上个?月|这个?月|本月)\s*(?:的|出的|发的)?\s*(?:工作)?简报")
_SECTION = re.compile(r"【([^【】]{1,12})】|《([^《》]{1,12})》\s*(?:栏目|专栏|板块|版块)|([\u4e00-\u9fff]{2,8})(?:栏目|专栏|板块|版块)")

_Y = r"(\d{4})\s*年"
_RANGE = re.compile(r"(\d{4})\s*年?\s*[—\-–~～至到]{1,2}\s*(\d{4})\s*年")
_DAY = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]|(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?!\d)")
_MONTHS = re.compile(_Y + r"\s*(?:(\d{1,2})\s*月?\s*(?:[-—–~～至到]|份至)\s*(\d{1,2})|前\s*(\d{1,2}|[一二三四五六七八九十]{1,2})\s*个)\s*月份?")
_MONTH = re.compile(_Y + r"\s*(\d{1,2})\s*月份?")
_QUARTER = re.compile(_Y + r"\s*(?:第\s*)?(前三|[一二三四1-4])\s*季度")
_HALF = re.compile(_Y + r"\s*(上半年|下半年)")
_YEAR = re.compile(_Y + r"(?:度)?")
_SINCE = re.compile(r"^\s*(?:以来|至今|以后|之后|起|开始)")
_AS_OF_BEFORE = re.compile(r"(?:截至|截止到|截止|截至到)\s*$")
_TO_BEFORE = re.compile(r"(?:到|至|力争到|争取到|预计到|计划到)\s*$")
_END_AFTER = re.compile(r"^\s*(?:底|末|年底|年末|为止|止)")
_TARGET_AFTER = re.compile(r"^\s*(?:前|以前|之前|的?\s*(?:目标|远景|规划|愿景|任务))")
_QUARTERS = {"一": 1, "二": 2, "三": 3, "四": 4, "1": 1, "2": 2, "3": 3, "4": 4}
_CN_NUMBERS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10,
               "十一": 11, "十二": 12}


@dataclass(frozen=True)
class DateWindow:
    """Issues dated in the period a question names, or in the weeks after it, are evidence.

    `first`…`last` is the period itself (last None: open, "2024年以来"); `until` is how long
    after it reports still come out.
    """

    first: date
    last: date | None
    until: date | None
    phrase: str  # as written in the question, e.g. "2023年"
    keys: tuple[str, ...] = ()  # how an article names the period in its text: "9月", "上半年"

    def credit(self, day: date, lag_credit: float = 0.5) -> float:
        """1 for an issue dated in the period, `lag_credit` for one in the lag after it, else 0."""
        if day < self.first:
            return 0.0
        if self.last is None or day <= self.last:
            return 1.0
        return lag_credit if self.until is not None and day <= self.until else 0.0


@dataclass(frozen=True)
class ParsedQuestion:
    question: str
    text: str  # what is searched: restriction phrases taken out, content dates kept
    filters: QueryFilters  # restrictions the user asked for
    windows: tuple[DateWindow, ...]  # content dates, as evidence
    years: tuple[str, ...]  # years the question names as content ("2023"), targets included


def _span(kind: str, m: re.Match) -> tuple[date, date] | None:
    groups = [g for g in m.groups() if g is not None]
    y = int(groups[0])
    if not 1900 <= y <= 2100:
        return None
    try:
        if kind == "day":
            d = date(y, int(groups[1]), int(groups[2]))
            return d, d
        if kind == "months":  # 2024年1-2月, 2023年前7个月
            if m.group(4):
                first_month, last_month = 1, int(m.group(4)) if m.group(4).isdigit() else _CN_NUMBERS[m.group(4)]
            else:
                first_month, last_month = int(m.group(2)), int(m.group(3))
            if not 1 <= first_month <= last_month <= 12:
                return None
            return date(y, first_month, 1), date(y, last_month, calendar.monthrange(y, last_month)[1])
        if kind == "month":
            mo = int(m.group(2))
            return date(y, mo, 1), date(y, mo, calendar.monthrange(y, mo)[1])
        if kind == "quarter":
            if m.group(2) == "前三":
                return date(y, 1, 1), date(y, 9, 30)
            q = _QUARTERS[m.group(2)]
            last_month = 3 * q
            return date(y, last_month - 2, 1), date(y, last_month, calendar.monthrange(y, last_month)[1])
        if kind == "half":
            return (date(y, 1, 1), date(y, 6, 30)) if m.group(2) == "上半年" else (date(y, 7, 1), date(y, 12, 31))
        return date(y, 1, 1), date(y, 12, 31)
    except ValueError:  # 2023年13月: not a date
        return None


_CN_DIGITS = "〇一二三四五六七八九十"


def _keys(kind: str, first: date, last: date) -> tuple[str, ...]:
    """How an article names the period: it usually drops the year ("9月份全社会用电量")."""
    if kind == "day":
        return (f"{first.month}月{first.day}日",)
    if kind == "month":
        return (f"{first.month}月",)
    if kind == "months":
        a, b = first.month, last.month
        out = [f"{a}{sep}{b}月" for sep in ("-", "—", "至", "到", "～")]
        if a == 1:
            out += [f"前{b}个月", f"前{_CN_DIGITS[b] if b <= 10 else '十' + _CN_DIGITS[b - 10]}个月"]
            out += ["前两个月"] if b == 2 else []
        return tuple(out)
    if kind == "quarter":
        if (first.month, last.month) == (1, 9):
            return ("前三季度",)
        q = _CN_DIGITS[last.month // 3]
        return (f"{q}季度", f"第{q}季度")
    if kind == "half":
        return ("上半年",) if first.month == 1 else ("下半年",)
    return (f"{first.year}年",)


def _blank(text: str, start: int, end: int) -> str:
    """Mask a matched phrase so later patterns do not match inside it (offsets kept)."""
    return text[:start] + "\0" * (end - start) + text[end:]


def _previous_month(today: date) -> tuple[date, date]:
    last = today.replace(day=1) - timedelta(days=1)
    return last.replace(day=1), last


def parse_question(
    question: str, sections: list[str] | tuple[str, ...] = (), newest: date | None = None, today: date | None = None
) -> ParsedQuestion:
    """Restrictions, content dates and the search text of `question`.

    `newest` is the date of the newest indexed issue (for "最近一期"); `today` dates "上个月的简报".
    """
    today = today or date.today()
    issue = None
    date_from = date_to = None
    section = None
    cut: list[tuple[int, int]] = []  # restriction phrases, taken out of the search text
    windows: list[DateWindow] = []
    years: list[str] = []
    work = question

    m = _ISSUE.search(work)
    if m:
        issue = int(m.group(1))
        cut.append(m.span())
        work = _blank(work, *m.span())
    m = _LATEST.search(work)
    if m and newest is not None:
        date_from = date_to = newest.isoformat()
        cut.append(m.span())
        work = _blank(work, *m.span())
    m = _RELATIVE_MONTH.search(work)
    if m:
        first, last = _previous_month(today) if m.group(1).startswith("上") else (today.replace(day=1), today)
        date_from, date_to = first.isoformat(), last.isoformat()
        cut.append(m.span())
        work = _blank(work, *m.span())

    # plan periods (2024—2028年) first: their years are content, never dates
    for m in _RANGE.finditer(work):
        years += [m.group(1), m.group(2)]
        work = _blank(work, *m.span())
    for pattern, kind in ((_DAY, "day"), (_MONTHS, "months"), (_QUARTER, "quarter"), (_HALF, "half"),
                          (_MONTH, "month"), (_YEAR, "year")):
        for m in pattern.finditer(work):
            span = _span(kind, m)
            if span is None:
                continue
            first, last = span
            before, after = question[: m.start()], question[m.end() :]
            work = _blank(work, *m.span())
            years.append(str(first.year))
            named = _AFTER_DATE_BULLETIN.match(after)
            if date_from is None and date_to is None and named:
                # "2023年12月的简报": the user names which bulletins to search
                date_from, date_to = first.isoformat(), last.isoformat()
                cut.append((m.start(), m.end() + named.end()))
                continue
            since = _SINCE.match(after)
            as_of = DateWindow(last, last + timedelta(days=AS_OF_DAYS), None, m.group(0))
            if since:
                windows.append(DateWindow(first, None, None, m.group(0)))
            elif _AS_OF_BEFORE.search(before) and (_END_AFTER.match(after) or kind == "day"):
                windows.append(as_of)
            elif _TARGET_AFTER.match(after) or (_TO_BEFORE.search(before) and not _is_past_end(after, last, newest)):
                continue  # a target: content, no date
            elif _TO_BEFORE.search(before):  # "到2023年底" in the past: figures as of then
                windows.append(as_of)
            else:
                windows.append(DateWindow(first, last, last + timedelta(days=LAG_DAYS[kind]), m.group(0),
                                          _keys(kind, first, last)))

    m = _SECTION.search(work)
    if m:
        name = next(g for g in m.groups() if g)
        known = {s: s for s in sections}
        # "经验交流栏目" and "【经验交流】" name a section only if the index has it
        match = known.get(name) or next((s for s in sections if name.endswith(s) and len(s) >= 2), None)
        if match:
            section = match
            cut.append(m.span())

    text = question
    for start, end in sorted(cut, reverse=True):
        text = text[:start] + " " + text[end:]
    text = re.sub(r"\s+", " ", text).strip()
    filters = QueryFilters(issue=issue, date_from=date_from, date_to=date_to, section=section)
    return ParsedQuestion(question, text, filters, tuple(windows), tuple(dict.fromkeys(years)))


def _is_past_end(after: str, last: date, newest: date | None) -> bool:
    """"到2023年底" reads as figures as of a past date; "到2035年" as a target."""
    return bool(_END_AFTER.match(after)) and newest is not None and last <= newest


def is_bulletin_word(token: str) -> bool:
    return token in BULLETIN_WORDS


def describe_filters(filters: QueryFilters) -> str:
    """The restriction in words: 第455期、2023-12-01 至 2023-12-31、【经验交流】."""
    parts = []
    if filters.issue is not None:
        parts.append(f"第{filters.issue}期")
    if filters.date_from and filters.date_to:
        same = filters.date_from == filters.date_to
        parts.append(filters.date_from if same else f"{filters.date_from} 至 {filters.date_to}")
    elif filters.date_from:
        parts.append(f"{filters.date_from} 以来")
    if filters.section:
        parts.append(f"【{filters.section}】")
    return "、".join(parts)
