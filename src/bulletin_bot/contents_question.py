"""Questions about the bulletins themselves: "最近一期有什么内容", "第455期有哪些文章",
"上个月的简报讲了什么", "【经验交流】栏目最近有什么", "2023年12月的简报有哪些".

Such a question names bulletins (an issue, the latest, a month, a section: the restrictions
`query.parse_question` finds) and, once those are taken out, only asks what they hold (有什么,
哪些文章, 讲了什么 …), with no word about any content. Quoting three passages would miss the point,
so it is answered with the contents: each matching issue's number, date, sections and titles,
newest first, each title an article a front end can open and cite.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING

from .models import Answer, Citation, IssueView
from .ranking import describe_filters, parse_question

if TYPE_CHECKING:
    from .store import LoadedIndex

MAX_ISSUES = 6  # issues listed at most (a month of weekly bulletins); the rest are counted

# what is left of a contents question once its restrictions are taken out: asking words only
_ASKING = sorted(
    (
        "有什么内容 有哪些内容 有些什么 都有什么 都有哪些 有什么 有哪些 有啥 讲了些什么 讲了什么 讲的什么 讲什么 "
        "说了什么 写了什么 登了什么 刊登了什么 刊发了什么 报道了什么 发了什么 提到了什么 提到什么 介绍了什么 "
        "主要内容 什么内容 哪些内容 哪些文章 什么文章 几篇文章 多少篇文章 哪几篇 目录 标题 内容 文章 栏目 专栏 "
        "工作简报 简报 这一期 这期 那期 本期 近期 最近 最新 列出 列一下 看看 看一下 查看 查询 给我 告诉我 "
        "我想知道 想知道 想看 请问 请 一下 介绍 主要 都 些 哪些 什么 啥 的 了 吗 呢 啊 呀 里面 里 中 有 讲 说 写 篇 期 是"
    ).split(),
    key=len,
    reverse=True,
)
_ASKING_RE = re.compile("|".join(map(re.escape, _ASKING)))
_MARKS = re.compile(r"[\s，。、？！?!,.;；:：“”\"'（）()《》…\-—]+")


def asks_for_contents(text: str) -> bool:
    """Is `text` (a question with its restrictions taken out) only words that ask what is there?"""
    return not _MARKS.sub("", _ASKING_RE.sub("", text))


def _newest(index: LoadedIndex) -> date | None:
    newest = index.all_issues(limit=1)
    return date.fromisoformat(newest[0].date) if newest else None


def contents_answer(question: str, index: LoadedIndex, today: date | None = None) -> Answer | None:
    """The contents of the bulletins `question` names, if it only asks what they hold; else None."""
    parsed = parse_question(question, index.sections, newest=_newest(index), today=today)
    filters = parsed.filters
    if not filters.any() or not asks_for_contents(parsed.text):
        return None
    records = index.issues_numbered(filters.issue) if filters.issue is not None else index.all_issues()
    records = [
        r for r in records
        if (not filters.date_from or r.date >= filters.date_from)
        and (not filters.date_to or r.date <= filters.date_to)
        and (not filters.section or filters.section in r.sections)
    ]
    views = []
    for record in records[:MAX_ISSUES]:
        refs = tuple(a for a in index.contents(record.id) if not filters.section or a.section == filters.section)
        views.append(IssueView(record.summary(), refs))
    answer = Answer(question, bool(views), (), filters, contents=tuple(views))
    if not views:
        newest = index.all_issues(limit=1)
        latest = f"；最新一期是第{newest[0].number}期（{newest[0].date}）" if newest else ""
        return replace(answer, reason=f"索引中没有{describe_filters(filters)}的简报{latest}")
    if len(records) > len(views):
        return replace(answer, note=f"共 {len(records)} 期，列出最新的 {len(views)} 期")
    return answer


def contents_to_json(views: tuple[IssueView, ...]) -> list[dict]:
    """The contents of an answer, for `ask --json` and /api/ask: each article with its citation."""
    out = []
    for view in views:
        s = view.summary
        out.append({
            "series": s.series, "issue": s.number, "date": s.date, "office": s.office,
            "articles": [
                {"article_id": a.article_id, "article_index": a.index, "section": a.section, "title": a.title,
                 "citation": Citation(s.series, s.number, s.date, a.section, a.title, s.file, a.index).label()}
                for a in view.articles
            ],
        })
    return out
