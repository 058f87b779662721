"""Plain-text pieces every chat front end shows the same way: result numbers, echoed questions,
sentences, the scope line. Pure functions; the Telegram bot and the chat channels both use them.
"""

from __future__ import annotations

import re

from .models import QueryFilters

QUERY_SHOWN = 200  # characters of the question echoed above an answer


def kept_heading(count: int) -> str:
    """Above the files whose new copy is unreadable while their last good issue is still served."""
    return f"文件已无法读取、仍按上一版回答的简报 {count} 期："

_SENTENCE = re.compile(r"[^。！？；!?;\n]*(?:[。！？；!?;\n]+[”’」』）)\"']*|$)")
_CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"


def shorten(text: str, limit: int = QUERY_SHOWN) -> str:
    """At most `limit` characters of `text`, with "…" when cut (questions echoed back)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def number(n: int) -> str:
    """①…⑳ for the first twenty results, (21) after that."""
    return _CIRCLED[n - 1] if 1 <= n <= len(_CIRCLED) else f"({n})"


def split_sentences(text: str) -> list[str]:
    """Sentences with their end punctuation; joined they give back `text` exactly."""
    return [s for s in _SENTENCE.findall(text) if s]


def scope_label(filters: QueryFilters) -> str:
    """「第455期 · 2023-12-01 至 2023-12-31 · 【经验交流】」 or "" when the question set none.

    The 范围 line of a chat answer. `query.describe_filters` words the same filters for use
    inside a sentence (the retrieval's notes: "第455期、【经验交流】的简报中没有找到…").
    """
    parts: list[str] = []
    if filters.issue:
        parts.append(f"第{filters.issue}期")
    if filters.date_from or filters.date_to:
        if filters.date_from == filters.date_to:
            parts.append(f"{filters.date_from}")
        else:
            parts.append(f"{filters.date_from or '最早'} 至 {filters.date_to or '最新'}")
    if filters.section:
        parts.append(f"【{filters.section}】")
    return " · ".join(parts)
