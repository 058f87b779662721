"""Telegram HTML for answers, articles, contents and status texts; pure functions, no telegram import.

Every piece of user or corpus text goes through `esc` (html.escape). Telegram refuses messages
over 4096 characters, so everything that can grow is returned as a list of messages, split
at passage or paragraph boundaries, and a passage that alone is too long is split at sentence
boundaries with each piece wrapped in its own tags, so every message is balanced HTML.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence

from ..chat_text import kept_heading, number, scope_label, shorten, split_sentences
from ..conversation import understood_line
from ..models import (
    CLOSEST_HEADING,
    AddResult,
    Answer,
    ArticleView,
    IndexReport,
    IndexStatus,
    IssueSummary,
    IssueView,
    Progress,
    Quote,
)
from ..question_check import is_question_problem
from ..follow_text import HELP_LINES as FOLLOW_HELP
from ..readers.detect import SUPPORTED_LABEL

MAX_MESSAGE_CHARS = 4096
PAGE_FOOTER_RESERVE = 40  # room for "第 12/34 页" under an article page


def esc(text: str) -> str:
    """Escape text for Telegram's HTML parse mode (quotes need no escaping outside attributes)."""
    return html.escape(text, quote=False)


def tg_len(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units); never less than `len(text)`."""
    return len(text.encode("utf-16-le")) // 2


def _hard_split(raw: str, budget: int) -> list[str]:
    """Cut raw text so each escaped piece fits `budget`; used for a sentence longer than a message."""
    pieces: list[str] = []
    current = ""
    size = 0
    for ch in raw:
        cost = tg_len(esc(ch))
        if current and size + cost > budget:
            pieces.append(current)
            current, size = "", 0
        current += ch
        size += cost
    if current:
        pieces.append(current)
    return pieces


def wrap_long(raw: str, open_tag: str, close_tag: str, limit: int = MAX_MESSAGE_CHARS) -> list[str]:
    """`open_tag + esc(piece) + close_tag` for pieces of `raw` cut at sentence boundaries, each ≤ limit."""
    budget = limit - tg_len(open_tag) - tg_len(close_tag)
    if budget <= 0:
        raise ValueError(f"limit {limit} leaves no room inside {open_tag}{close_tag}")
    units: list[str] = []
    for sentence in split_sentences(raw):
        if tg_len(esc(sentence)) > budget:
            units.extend(_hard_split(sentence, budget))
        else:
            units.append(sentence)
    pieces: list[str] = []
    current = ""
    for unit in units:
        if current and tg_len(esc(current + unit)) > budget:
            pieces.append(current)
            current = ""
        current += unit
    if current or not pieces:
        pieces.append(current)
    return [f"{open_tag}{esc(p)}{close_tag}" for p in pieces]


def pack(blocks: Iterable[str], limit: int = MAX_MESSAGE_CHARS, sep: str = "\n\n") -> list[str]:
    """Join blocks into as few messages as fit `limit`; a block is never cut (each must fit alone)."""
    messages: list[str] = []
    current = ""
    for block in blocks:
        if tg_len(block) > limit:
            raise ValueError(f"block of {tg_len(block)} characters does not fit {limit}")
        candidate = f"{current}{sep}{block}" if current else block
        if current and tg_len(candidate) > limit:
            messages.append(current)
            candidate = block
        current = candidate
    if current:
        messages.append(current)
    return messages


# ---------------------------------------------------------------- answers


def quote_blocks(quote: Quote, n: int, limit: int = MAX_MESSAGE_CHARS) -> list[str]:
    """One passage: the quote in <blockquote>, its citation under it; split if it cannot fit one message."""
    citation = f"{number(n)} <i>{esc(quote.citation.label())}</i>"
    whole = f"<blockquote>{esc(quote.quote)}</blockquote>\n{citation}"
    if tg_len(whole) <= limit:
        return [whole]
    pieces = wrap_long(quote.quote, "<blockquote>", "</blockquote>", limit - tg_len(citation) - 1)
    pieces[-1] = f"{pieces[-1]}\n{citation}"
    return pieces


def answer_messages(answer: Answer, start: int = 1, limit: int = MAX_MESSAGE_CHARS) -> list[str]:
    """An answer as HTML messages ≤ limit, split between passages; `start` numbers the first result."""
    if not answer.results:
        return [not_found_text(answer)]
    head = f"🔎 <b>{esc(shorten(answer.query))}</b>"
    if answer.understood:  # a follow-up: the first line says how it was read (and names the question)
        head = esc(understood_line(shorten(answer.understood)))
    if start > 1:
        head += f"（续，第 {start}–{start + len(answer.results) - 1} 条）"
    scope = scope_label(answer.filters)
    if scope:
        head += f"\n范围：{esc(scope)}"
    if answer.note:
        head += f"\nℹ️ {esc(answer.note)}"
    if not answer.found:
        if answer.reason:
            head += f"\n❗ {esc(answer.reason)}"
        head += f"\n⚠️ {esc(CLOSEST_HEADING)}"
    blocks = [head]
    for n, quote in enumerate(answer.results, start=start):
        blocks.extend(quote_blocks(quote, n, limit))
    return pack(blocks, limit)


def not_found_text(answer: Answer) -> str:
    """Nothing found, why (when the service says), and what to try next."""
    if is_question_problem(answer):  # blank or not Chinese: how to ask, not "try other words"
        return esc(answer.reason)
    lines = [f"没有在已收录的简报中找到与「{esc(shorten(answer.query))}」直接相关的原文。"]
    if answer.understood:
        lines.insert(0, esc(understood_line(shorten(answer.understood))))
    scope = scope_label(answer.filters)
    if scope:
        lines.append(f"（已限定范围：{esc(scope)}）")
    if answer.reason:
        lines.append(f"原因：{esc(answer.reason)}")
    lines.append("")
    lines.append("可以试试：")
    lines.append("· 少用几个词，只留关键词，如「泗洪 理论宣讲」")
    lines.append("· 指明期号，如「第455期 理论宣讲」；或栏目，如「经验交流」")
    if scope:
        lines.append("· 去掉期号、日期或栏目的限定再问一次")
    lines.append("· /latest 看最新一期目录，/issue 455 看某一期目录")
    return "\n".join(lines)


def no_more_text() -> str:
    return "没有更多结果了。"


# ---------------------------------------------------------------- articles and issues


def article_header(view: ArticleView) -> str:
    c = view.citation
    lines = [f"<b>{esc(c.title)}</b>", f"<i>{esc(c.label())}</i>"]
    if view.issue.series:
        lines.append(f"<i>{esc(view.issue.series)}</i>")
    return "\n".join(lines)


def article_pages(view: ArticleView, limit: int = MAX_MESSAGE_CHARS) -> list[str]:
    """A whole article (全文) as pages ≤ limit, split between paragraphs, each page numbered."""
    budget = limit - PAGE_FOOTER_RESERVE
    blocks = [article_header(view)]
    for paragraph in view.paragraphs:
        if not paragraph.strip():
            continue
        block = esc(paragraph)
        if tg_len(block) <= budget:
            blocks.append(block)
        else:
            blocks.extend(wrap_long(paragraph, "", "", budget))
    pages = pack(blocks, budget)
    if len(pages) > 1:
        pages = [f"{page}\n\n<i>第 {i}/{len(pages)} 页</i>" for i, page in enumerate(pages, start=1)]
    return pages


def issue_contents(views: Sequence[IssueView], limit: int = MAX_MESSAGE_CHARS, note: str = "") -> list[str]:
    """Contents of one issue number (several series may share it), or of the issues a question
    named, grouped by section."""
    blocks: list[str] = [f"ℹ️ {esc(note)}"] if note else []
    for view in views:
        s = view.summary
        head = [f"<b>{esc(s.series or '工作简报')}</b>", f"第{s.number}期 · {esc(s.date)}"]
        if s.office:
            head[-1] += f" · {esc(s.office)}"
        blocks.append("\n".join(head))
        section = None
        lines: list[str] = []
        for ref in view.articles:
            if ref.section != section:
                if lines:
                    blocks.append("\n".join(lines))
                section = ref.section
                lines = [f"【{esc(ref.section)}】"]
            lines.append(f"{number(ref.index)} {esc(ref.title)}")
        if lines:
            blocks.append("\n".join(lines))
    blocks.append("点下方编号读全文。")
    return pack(blocks, limit)


def issue_list(summaries: Sequence[IssueSummary], shown: int = 30) -> str:
    """The newest `shown` issues, one a line, for /issue without a number."""
    if not summaries:
        return "索引里还没有简报。"
    lines = [f"已收录 {len(summaries)} 期（最新在前）："]
    for s in summaries[:shown]:
        lines.append(f"第{s.number}期 · {esc(s.date)} · {s.article_count} 篇")
    if len(summaries) > shown:
        lines.append(f"……另有 {len(summaries) - shown} 期")
    lines.append("")
    lines.append("发送 /issue 期号 查看目录，如 /issue " + str(summaries[0].number))
    return "\n".join(lines)


def issue_not_found_text(number_: int | None) -> str:
    shown = f"第{number_}期" if number_ is not None else "这一期"  # None: a number no issue can have
    return f"没有找到{shown}。发送 /issue 查看已收录的期号。"


def article_gone_text() -> str:
    return "这篇文章已不在当前索引中（索引可能已更新），请重新提问。"


# ---------------------------------------------------------------- status, admin, help


def stats_text(status: IndexStatus, show_problems: bool = False, problems_shown: int = 10) -> str:
    """The served index; the files that failed to index (server file names) only for admins."""
    lines = [
        "<b>索引状态</b>",
        f"简报：{status.issues} 期",
        f"文章：{status.articles} 篇",
        f"片段：{status.chunks} 段",
        f"模型：{esc(status.model)}（{status.dimension} 维）",
        f"版本：{esc(status.version)}",
        f"建立：{esc(status.built_at)}",
    ]
    if status.problems and show_problems:
        lines.append(f"未收录的文件 {len(status.problems)} 个：")
        for p in status.problems[:problems_shown]:
            lines.append(f"· {esc(p.file)}：{esc(p.reason)}")
    if status.kept and show_problems:
        lines.append(kept_heading(len(status.kept)))
        lines += [f"· {esc(p.file)}：{esc(p.reason)}" for p in status.kept[:problems_shown]]
    return "\n".join(lines)


def progress_text(progress: Progress) -> str:
    text = f"⏳ 正在重建索引：{esc(progress.label)}"
    if progress.total:
        pct = int(100 * progress.done / progress.total)
        text += f" {progress.done}/{progress.total}（{pct}%）"
    if progress.message:
        text += f"\n{esc(progress.message)}"
    return text


def report_text(report: IndexReport, problems_shown: int = 10) -> str:
    if report.built:
        head = "✅ 索引已更新，新内容现在可以提问了。"
    else:
        head = "✅ 语料没有变化，索引保持不变。"
    lines = [
        head,
        f"新增 {report.added} · 修改 {report.changed} · 删除 {report.removed} · 未变 {report.unchanged}",
        f"共 {report.issues} 期 / {report.articles} 篇 / {report.chunks} 段；"
        f"计算向量 {report.embedded} 段，复用 {report.reused} 段；用时 {report.seconds:.1f} 秒",
    ]
    if report.problems:
        lines.append(f"未收录的文件 {len(report.problems)} 个：")
        for p in report.problems[:problems_shown]:
            lines.append(f"· {esc(p.file)}：{esc(p.reason)}")
    if report.kept:
        lines.append(kept_heading(len(report.kept)))
        lines += [f"· {esc(p.file)}：{esc(p.reason)}" for p in report.kept[:problems_shown]]
    return "\n".join(lines)


def reindex_failed_text(error: str) -> str:
    return f"❌ 重建索引失败：{esc(error)}"


def upload_text(result: AddResult) -> str:
    mark = "✅" if result.ok else "❌"
    text = f"{mark} {esc(result.message)}"
    if result.ok:
        text += "\n正在重建索引，完成后即可提问。"
    return text


def start_text(first_name: str, group: bool, bot_username: str) -> str:
    hello = f"你好，{esc(first_name)}！" if first_name else "你好！"
    lines = [
        hello,
        "我能回答关于已收录工作简报的问题：给出简报原文的摘录，并注明出自第几期、哪个栏目、哪篇文章。",
        "",
    ]
    if group:
        lines.append(f"在群里请用 /ask 问题，或 @{esc(bot_username)} 问题。")
    else:
        lines.append("直接发送问题即可，例如：泗洪县理论宣讲做法")
    lines.append("发送 /help 查看全部命令。")
    return "\n".join(lines)


def help_text(is_admin: bool, bot_username: str) -> str:
    lines = [
        "<b>怎么问</b>",
        "私聊直接发问题；群里用 /ask 问题 或 @" + esc(bot_username) + " 问题。",
        "问题里可以指明期号（第455期）、日期（2023年12月）或栏目（经验交流），只在其中找。",
        "每条结果是简报原文，下面注明 第N期 · 日期 · 【栏目】 标题。",
        "按钮「全文」看整篇文章，「更多」看后面的结果。",
        "接着问（那徐州呢、去年的呢、还有吗、第二条的全文）会按上一个问题理解，回答第一行说明按什么查找。",
        "",
        "<b>命令</b>",
        "/ask 问题 — 提问",
        "/new 或「新问题」— 忘掉前面的问题，重新开始",
        "/issue 期号 — 某一期的目录（不带期号列出已收录的期）",
        "/latest — 最新一期的目录",
        "/stats — 索引状态",
        "/help — 本说明",
        "",
        "<b>关注与汇编</b>",
        *(esc(line) for line in FOLLOW_HELP),
    ]
    if is_admin:
        lines += [
            "",
            "<b>管理员</b>",
            "/followers — 关注统计",
            "/reindex — 按语料目录重建索引（进度会在一条消息里更新）",
            f"私聊发送 {SUPPORTED_LABEL} 简报文件 — 加入语料并重建索引，完成后即可提问",
        ]
    return "\n".join(lines)


def new_conversation_text() -> str:
    return "好的，前面的问题不再算数，请提新问题。"


def rate_limited_text(seconds: int) -> str:
    return f"提问太频繁了，请 {seconds} 秒后再试。"


def empty_question_text() -> str:
    return "问题是空的。请在命令后写上问题，例如：/ask 泗洪县理论宣讲做法"


def admin_only_text() -> str:
    return "只有管理员可以这样做。"


def upload_refused_text() -> str:
    return "只有管理员可以上传简报文件。"


def upload_type_text(name: str) -> str:
    return f"不支持的文件类型：{esc(name)}。请上传 {SUPPORTED_LABEL} 格式的简报。"


def upload_too_big_text(name: str, size: int, limit: int) -> str:
    return f"文件 {esc(name)} 有 {size / 1048576:.1f} MB，超过上限 {limit / 1048576:.1f} MB。"


def reindex_running_text() -> str:
    return "索引正在重建中，这一轮结束后会再重建一次，结果会在新的进度消息里告诉你。"


def reindex_queued_text() -> str:
    return "索引正在重建中，这一轮结束后会再重建一次，把新文件收进去。"


def index_missing_text() -> str:
    return "索引还没有建立，暂时无法回答。请管理员运行 bulletin-bot index 或发送 /reindex。"


def error_text() -> str:
    return "抱歉，处理这条消息时出了错，已记录。请稍后再试。"
