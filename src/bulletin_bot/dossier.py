"""A topic's 素材汇编: every article of a period that answers it, in date order, verbatim.

The articles are what questions find: for each month of the period the question
"YYYY年M月的简报 <topic>" is asked (`BulletinService.ask`, the same ranking and evidence rule
as any question), and the answers found inside that month are kept. A question shows at most
the second stage's best articles (30): a month whose answers fill that is named on the title
page, since it may hold more. (Asking such a month again day by day was tried: on the whole
archive it took a minute for a year of a broad topic, and the days' answers were mostly
articles that only mention it.) Passages are the spans the answer quoted (offsets into the
article text), so they are verbatim by construction.

Rendering (Markdown, .docx) is `dossier_render.py`'s.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from .errors import DossierError
from .models import ArticleView, IssueSummary, Quote

PAGE = 30  # results asked for at once (the second stage re-scores this many articles)
GROUPS = ("section", "month")


@dataclass(frozen=True)
class Entry:
    """One article of the dossier: the whole article and the passages that answer the topic."""

    article: ArticleView
    passages: tuple[str, ...]  # verbatim pieces of the article text, in order

    @property
    def date(self) -> str:
        return self.article.citation.date

    @property
    def month(self) -> str:
        y, m = self.date.split("-")[:2]
        return f"{int(y)}年{int(m)}月"

    @property
    def citation(self) -> str:
        """第N期 · date · 【section】 · title"""
        c = self.article.citation
        return f"第{c.issue}期 · {c.date} · 【{c.section}】 · {c.title}"


@dataclass(frozen=True)
class Dossier:
    topic: str
    date_from: str  # inclusive ISO dates
    date_to: str
    entries: tuple[Entry, ...]  # date order
    group: str = "section"  # "section" or "month"
    passages_only: bool = False
    full_months: tuple[str, ...] = ()  # "2023年2月": months whose answers filled a question's page

    @property
    def issue_count(self) -> int:
        return len({(e.article.citation.series, e.article.citation.issue, e.date) for e in self.entries})

    @property
    def period(self) -> str:
        return f"{self.date_from} 至 {self.date_to}"

    def groups(self) -> list[tuple[str, list[Entry]]]:
        """(heading, entries in date order), groups in order of their first entry."""
        out: dict[str, list[Entry]] = {}
        for entry in self.entries:
            key = f"【{entry.article.citation.section}】" if self.group == "section" else entry.month
            out.setdefault(key, []).append(entry)
        return list(out.items())


class _Service(Protocol):
    def ask(self, question: str, top_k: int = 5, offset: int = 0) -> Any: ...

    def article(self, article_id: int) -> ArticleView | None: ...

    def issues(self) -> list[IssueSummary]: ...


_PERIOD = re.compile(r"(\d{4})(?:[-/.年](\d{1,2}))?(?:[-/.月](\d{1,2}))?[日月]?")


def parse_period(text: str, end: bool) -> date:
    """"2023", "2023-01", "2023-01-15" (or 2023年1月) as the first day (or, with `end`, the last)."""
    m = _PERIOD.fullmatch(text.strip())
    if not m:
        raise DossierError(f"看不懂的日期「{text}」：请写成 2023-01 或 2023-01-15")
    y = int(m.group(1))
    try:
        if m.group(3):
            return date(y, int(m.group(2)), int(m.group(3)))
        if m.group(2):
            mo = int(m.group(2))
            return date(y, mo, calendar.monthrange(y, mo)[1] if end else 1)
        return date(y, 12, 31) if end else date(y, 1, 1)
    except ValueError:
        raise DossierError(f"没有这一天：「{text}」") from None


def _months(first: date, last: date) -> list[tuple[int, int]]:
    out = []
    y, m = first.year, first.month
    while (y, m) <= (last.year, last.month):
        out.append((y, m))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _answering(service: _Service, question: str, inside: Callable[[Quote], bool]) -> tuple[list[Quote], bool]:
    """The answers of `question` that lie inside its restriction; True when they may go on
    beyond what one question shows (every shown result answered)."""
    answer = service.ask(question, top_k=PAGE)
    if not answer.found or answer.note:  # a dropped restriction: the answers are from elsewhere
        return [], False
    kept = [q for q in answer.results if inside(q)]
    return kept, len(answer.results) >= PAGE


def gather(service: _Service, topic: str, first: date, last: date) -> tuple[list[Quote], list[str]]:
    """Every answer of the topic in the period, one per article, in date order; and the months
    whose answers filled the page of one question."""
    dates = {i.date[:7] for i in service.issues() if first.isoformat() <= i.date <= last.isoformat()}
    found: dict[int, Quote] = {}
    full_months: list[str] = []
    for y, m in _months(first, last):
        prefix = f"{y}-{m:02d}-"
        if prefix[:7] not in dates:
            continue
        quotes, full = _answering(service, f"{y}年{m}月的简报 {topic}", lambda q: q.citation.date.startswith(prefix))
        if full:
            full_months.append(f"{y}年{m}月")
        for q in quotes:
            if first.isoformat() <= q.citation.date <= last.isoformat():
                found.setdefault(q.article_id, q)
    ordered = sorted(found.values(), key=lambda q: (q.citation.date, q.citation.issue, q.citation.article_index))
    return ordered, full_months


def _passages(text: str, spans: tuple[tuple[int, int], ...]) -> tuple[str, ...]:
    return tuple(text[s:e].strip() for s, e in spans if text[s:e].strip())


MAX_TOPIC_CHARS = 40


def topic_problem(topic: str) -> str:
    """Why `topic` cannot be a dossier's topic ("" when it can): a control character (U+0001,
    ESC …) or a noncharacter (U+FFFF) can be in no .docx, and would fail only after the compile."""
    for char in topic:
        if unicodedata.category(char) in ("Cc", "Cs") or char in "\ufffe\uffff":
            return f"主题里有不能出现在文档中的控制字符（U+{ord(char):04X}），请只写文字。"
    if len(topic) > MAX_TOPIC_CHARS:
        return f"主题太长了（{len(topic)} 字），请控制在 {MAX_TOPIC_CHARS} 字以内。"
    return ""


def compile_dossier(service: _Service, topic: str, start: str, end: str, group: str = "section",
                    passages_only: bool = False) -> Dossier:
    """The dossier of `topic` from `start` to `end` (see `parse_period`); DossierError, before
    any question is asked, for a topic, period or grouping it cannot be."""
    topic = " ".join(topic.split())
    if not topic:
        raise DossierError("请写上主题，例如：理论宣讲")
    problem = topic_problem(topic)
    if problem:
        raise DossierError(problem)
    if group not in GROUPS:
        raise DossierError(f"分组方式只能是 {' / '.join(GROUPS)}，不是「{group}」")
    first, last = parse_period(start, end=False), parse_period(end, end=True)
    if first > last:
        raise DossierError(f"起始日期 {first} 晚于结束日期 {last}")
    entries: list[Entry] = []
    quotes, full_months = gather(service, topic, first, last)
    for quote in quotes:
        view = service.article(quote.article_id)
        if view is None:  # re-indexed meanwhile
            continue
        entries.append(Entry(view, _passages(view.text, quote.spans)))
    return Dossier(topic, first.isoformat(), last.isoformat(), tuple(entries), group, passages_only,
                   tuple(full_months))
