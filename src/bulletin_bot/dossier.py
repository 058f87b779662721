"""A topic's 素材汇编: every article of a period about it, in date order, verbatim.

Candidates are what questions find (for each month of the period the question
"YYYY年M月的简报 <topic>" is asked, `BulletinService.ask`, the same ranking and evidence rule as
any question) and every article of the period that holds the topic's words. Each is then
judged on the topic as a whole (aboutness.py): its title, first sentence and share of
sentences, not whether one passage answers, so passing mentions stay out; a 联播快讯 digest
is judged item by item and shows only its items about the topic. Then the words the articles
kept share beyond the topic's own (招聘 for 就业) stand for it in a second reading of the period.
A month whose question's answers filled its page (30) is still named on the title page.
Passages are spans of the article text (the question's quote, the sentences holding the
topic, or a digest's items), so they are verbatim by construction.

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

from .aboutness import TopicWords, about_parts, is_digest, shared_words, topic_words
from .errors import DossierError
from .models import ArticleView, IssueSummary, Quote
from .text import sentence_spans

PAGE = 30  # results asked for at once (the second stage re-scores this many articles)
GROUPS = ("section", "month")


@dataclass(frozen=True)
class Entry:
    """One article of the dossier: the whole article and the passages that answer the topic."""

    article: ArticleView
    passages: tuple[str, ...]  # verbatim pieces of the article text, in order
    items_only: bool = False  # a digest: only its items about the topic are shown, even "whole"

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

    def articles_dated(self, date_from: str, date_to: str) -> list[ArticleView]: ...


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


def _holding(words: TopicWords, text: str) -> tuple[tuple[int, int], ...]:
    """The sentences of `text` that hold the topic (or a word standing for it): the passages
    of an article no question quoted."""
    return tuple((s, e) for s, e in sentence_spans(text) if words.credit(text[s:e]) > 0)


def _entry(words: TopicWords, view: ArticleView, quote: Quote | None) -> Entry | None:
    """The article as the dossier holds it, or None when it is not about the topic: a digest by
    the items about it, another article whole with the passages that answer (the question's
    quote, else the sentences holding the topic)."""
    c = view.citation
    text = view.text
    about = about_parts(words, c.title, c.section, text)
    if not about:
        return None
    if is_digest(c.title, c.section) and about[0].heading != c.title:
        return Entry(view, _passages(text, tuple((p.start, p.end) for p in about)), items_only=True)
    spans = quote.spans if quote is not None else _holding(words, text)
    return Entry(view, _passages(text, spans))


def _could_hold(words: TopicWords, view: ArticleView) -> bool:
    """A cheap test before judging: does the article hold the topic's words at all?"""
    text = view.citation.title + view.text
    return any(p in text for p in words.phrases) or any(p in text for p in words.rare) or any(
        ps and all(p in text for p in ps) for ps in words.pieces)


def _judged(words: TopicWords, views: list[ArticleView], asked: dict[int, Quote]) -> dict[int, Entry]:
    """The entries of the articles about the topic, by article id."""
    out: dict[int, Entry] = {}
    for view in views:
        if view.article_id not in asked and not _could_hold(words, view):
            continue
        entry = _entry(words, view, asked.get(view.article_id))
        if entry is not None:
            out[view.article_id] = entry
    return out


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
    quotes, full_months = gather(service, topic, first, last)
    asked = {q.article_id: q for q in quotes}
    # every article of the period is read, not only what the questions' pages showed: a month
    # holds more articles about a broad topic than one page, and the pages hold passing mentions
    views = service.articles_dated(first.isoformat(), last.isoformat())
    words = topic_words(topic)
    found = _judged(words, views, asked)
    # then the words the articles found share beyond the topic's own (招聘 for 就业): the
    # period's other articles whose heading and lead hold them are about it too
    core = [f"{e.article.citation.title}\n" + "\n".join(e.passages if e.items_only else e.article.paragraphs)
            for e in found.values()]
    more = shared_words(words, core, [v.citation.title + v.text for v in views])
    if more:
        wider = words.widened(more)
        rest = [v for v in views if v.article_id not in found]
        found.update(_judged(wider, rest, asked))
    entries = sorted(found.values(), key=lambda e: (e.date, e.article.citation.issue, e.article.citation.article_index))
    return Dossier(topic, first.isoformat(), last.isoformat(), tuple(entries), group, passages_only,
                   tuple(full_months))
