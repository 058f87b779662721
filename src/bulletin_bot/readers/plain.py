"""Plain-text exports: find the encoding, reject binary junk, undo hard wrapping.

UTF-8 (with or without BOM), UTF-16 with BOM, GB18030/GBK, Big5; any line ends.
"""

from __future__ import annotations

import re
from collections import Counter

from .base import CJK, ParseError, normalise_newlines, width

# Control characters that never occur in a text export (tab, LF, CR, FF are fine).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")



def decode_text(data: bytes, file: str) -> tuple[str, str]:
    """Decode a plain-text export: UTF-8 (with or without BOM), UTF-16 with BOM, GB18030/GBK or Big5."""
    if not data.strip():
        raise ParseError(file, "empty file")
    if data.startswith(b"\xef\xbb\xbf"):
        text, encoding = _strict(data[3:], "utf-8", file), "utf-8-sig"
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text, encoding = _strict(data, "utf-16", file), "utf-16"
    else:
        if b"\x00" in data:
            raise ParseError(file, "binary data, not a text export (contains NUL bytes)")
        try:
            text, encoding = data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError as exc:
            if exc.reason == "unexpected end of data" and _valid_prefix(data, exc.start, "utf-8"):
                raise ParseError(file, f"truncated UTF-8: the file ends mid-character at byte {exc.start}") from None
            text, encoding = _gb_or_big5(data, file)
    _check_textual(text, file)
    if not CJK.search(text):
        # e.g. UTF-8 read once as Latin-1 and saved again ("å»ºè®¾"): valid bytes, no Chinese
        raise ParseError(file, f"no Chinese text (decoded as {encoding}): a wrong encoding, or not a bulletin")
    return reflow_wrapped(normalise_newlines(text)), encoding


def _valid_prefix(data: bytes, end: int, codec: str) -> bool:
    try:
        data[:end].decode(codec)
    except UnicodeDecodeError:
        return False
    return True


def _strict(data: bytes, codec: str, file: str) -> str:
    try:
        return data.decode(codec)
    except UnicodeDecodeError as exc:
        if exc.end >= len(data) and exc.start >= len(data) - 4 and _valid_prefix(data, exc.start, codec):
            name = "GB18030" if codec == "gb18030" else codec.upper()
            raise ParseError(file, f"truncated {name}: the file ends mid-character at byte {exc.start}") from None
        tried = "UTF-8 or GB18030" if codec == "gb18030" else codec.upper()
        raise ParseError(file, f"binary data or unknown encoding: not {tried} (bad byte at offset {exc.start})") from None


def _gb_or_big5(data: bytes, file: str) -> tuple[str, str]:
    """GB18030 (mainland exports), else Big5 (traditional-script exports from Taiwan and Hong Kong).

    Big5 bytes are often valid GB18030 too, but decode to rare characters there; so Big5 is
    tried when GB18030 fails strictly or gives text that is not common Chinese.
    """
    try:
        text = _strict(data, "gb18030", file)
        _check_common_hanzi(text, file)
        return text, "gb18030"
    except ParseError as gb_error:
        if gb_error.reason.startswith("truncated"):
            raise
        try:
            big5 = data.decode("big5")
        except UnicodeDecodeError:
            raise gb_error from None
        if not _mostly_common_traditional(big5):
            raise gb_error from None
        return big5, "big5"


def _mostly_common_traditional(text: str) -> bool:
    """Most non-ASCII characters are in Big5's frequent-character block (0xA440-0xC67E)."""
    sample = [ch for ch in text[:5000] if ord(ch) > 0x7F]
    if len(sample) < 20:
        return False
    frequent = sum(0xA440 <= int.from_bytes(ch.encode("big5", errors="replace")[:2], "big") <= 0xC67E
                   or not CJK.match(ch) for ch in sample)
    return frequent >= 0.8 * len(sample)


def _check_common_hanzi(text: str, file: str) -> None:
    """Bytes that merely happen to be valid GB18030 decode to rare characters; Chinese prose is
    almost all within GB2312's common set."""
    sample = [ch for ch in text[:5000] if ord(ch) > 0x7F]
    if len(sample) < 20:
        return
    common = len(sample) - "".join(sample).encode("gb2312", errors="replace").count(b"?")
    if common < 0.8 * len(sample):
        raise ParseError(file, "binary data or unknown encoding: decodes as GB18030 but not as Chinese text")


def _check_textual(text: str, file: str) -> None:
    """Reject decodings that succeeded by accident (binary junk is often valid GB18030)."""
    sample = text[:20000]
    controls = len(_CONTROL.findall(sample))
    if controls > max(2, len(sample) // 1000):
        raise ParseError(file, f"binary data, not a text export ({controls} control characters)")


_STOPS = set("。！？!?；;：:")
_PAGE_NUMBER = re.compile(r"^[-－—–\s]*(?:第\s*)?\d{1,4}\s*(?:页)?[-－—–\s]*(?:/\s*\d+\s*页?)?$")


def _raw_lines(text: str) -> list[tuple[str, bool]]:
    """(line, indented) for the non-empty lines that are not page numbers."""
    out = []
    for line in normalise_newlines(text).split("\n"):
        stripped = line.strip()
        if stripped and not _PAGE_NUMBER.match(stripped):
            out.append((stripped, line[:1] in (" ", "\u3000", "\t")))
    return out


def _indented(raw: list[tuple[str, bool]]) -> bool:
    return sum(indented for _, indented in raw) >= 0.05 * len(raw)


def _reflow(raw: list[tuple[str, bool]], column: float, indents: bool) -> list[str]:
    out: list[str] = []
    for k, (text, indented) in enumerate(raw):
        if k and out:
            prev = raw[k - 1][0]
            full = width(prev) >= column - 3
            if indents:
                heading = prev[-1] in _STOPS and width(text) < column - 3 and text[-1] not in _STOPS
                joined = full and not indented and not heading
            else:
                # Without indents a full line ending a sentence may also end its paragraph: keep it
                # apart rather than risk gluing a paragraph to the title after it.
                joined = full and prev[-1] not in _STOPS
            if joined:
                out[-1] += text
                continue
        out.append(text)
    return out


def reflow_wrapped(text: str) -> str:
    """Undo hard wrapping in a text export (every line of a paragraph cut at the same width):
    join the lines of each blank-line separated block the way PDF lines are joined. Text whose
    lines are whole paragraphs (widths all different) is returned unchanged."""
    raw = _raw_lines(text)
    long = [round(width(line)) for line, _ in raw if width(line) >= 12]
    if len(long) < 12:
        return text
    column, count = Counter(long).most_common(1)[0]
    near = sum(1 for w in long if abs(w - column) <= 1)
    if near < 0.4 * len(long) or sum(1 for w in long if w > column + 1) > 0.05 * len(long):
        return text
    indents = _indented(raw)
    blocks = re.split(r"\n[ \t\u3000]*\n", normalise_newlines(text))
    return "\n\n".join(p for block in blocks for p in _reflow(_raw_lines(block), column, indents))
