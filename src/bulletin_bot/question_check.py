"""Whether a question can be searched at all, before any retrieval: a blank one cannot, and one
with no Chinese in it finds nothing in Chinese bulletins. Either gets an Answer that says so and
how to ask, with a `reason_code` front ends can tell from "not found" (no "try other words")."""

from __future__ import annotations

import re

from .models import Answer

EMPTY = "empty"
NOT_CHINESE = "not_chinese"
CODES = frozenset({EMPTY, NOT_CHINESE})

EMPTY_REASON = "问题是空的。请写下想问的内容，如「红书房建了多少个」；也可以写明期号、栏目或日期，如「第455期 经验交流」。"
NOT_CHINESE_REASON = "简报是中文的，请用中文提问（The bulletins are in Chinese; please ask in Chinese.）"

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# a Latin word of two letters or more: "5G" alone is a term the bulletins use, "what is" is English
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


def check_question(question: str) -> Answer | None:
    """An Answer saying why `question` cannot be searched, or None when it can."""
    if not question.strip():
        return Answer(question, False, (), reason=EMPTY_REASON, reason_code=EMPTY)
    if not _HAN.search(question) and _LATIN_WORD.search(question):
        return Answer(question, False, (), reason=NOT_CHINESE_REASON, reason_code=NOT_CHINESE)
    return None


def is_question_problem(answer: Answer) -> bool:
    """The answer is about how the question was asked, not about the bulletins' content."""
    return getattr(answer, "reason_code", "") in CODES
