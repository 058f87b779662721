"""What OCR engines get wrong alike in Chinese text, put right: half-width punctuation beside
Chinese characters, the brackets of a 【section】 line, "〈" for "（"."""

from __future__ import annotations

import re

_FULL_WIDTH = str.maketrans({",": "，", ":": "：", ";": "；", "!": "！", "?": "？", "(": "（", ")": "）"})
_HALF_PUNCT = re.compile(r"(?<=[\u3400-\u9fff）”])[,:;!?)]|[,:;!?(](?=[\u3400-\u9fff（“])")
# A section line's brackets come back as "【要闻]】", "【要闻]" or "[要闻】".
_SECTION_LINE = re.compile(r"^[【\[]\s*([^【】\[\]]{1,16}?)\s*[\]】」』|1l]+$")


def chinese_punctuation(text: str) -> str:
    """OCR writes "：" as ":" and "，" as ","; beside Chinese characters they are full-width.
    It reads the brackets of a 【section】 line as "]" or "1", and "（" as "〈"."""
    text = _HALF_PUNCT.sub(lambda match: match.group().translate(_FULL_WIDTH), text)
    section = _SECTION_LINE.match(text)
    if section and re.search(r"[\u3400-\u9fff]", section.group(1)):
        return f"【{section.group(1)}】"
    if "〈" in text and "〉" not in text and "）" in text:
        text = text.replace("〈", "（")
    return text
