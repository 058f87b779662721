"""Bytes -> text: detect the encoding of a plain-text export, or pull the text out of .docx / .pdf.

Every reader returns `(text, encoding)` where `text` uses "\\n" line ends and keeps one
paragraph (or one visual line, for PDFs) per line; `parsing` does the rest, so the three
formats share one structure and repair logic. Readers raise `ParseError` naming the file.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections import Counter

from .models import ParseError

# Control characters that never occur in a text export (tab, LF, CR, FF are fine).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")

# Refused before any library unpacks them (the sandbox's memory and time limits are the backstop):
MAX_UNZIPPED = 256 * 1024 * 1024  # a bulletin's .docx unpacks to a few MB, its images included
MAX_ZIP_RATIO = 200  # text XML deflates ~10:1; a part packed 200:1 or more is built to explode
MAX_PDF_PAGES = 1000  # a bulletin has tens of pages


def sniff(data: bytes) -> str | None:
    """The container format the bytes announce ("docx", "pdf"), or None for plain text."""
    if data.startswith(b"%PDF"):
        return "pdf"
    if data.startswith(b"PK\x03\x04"):
        return "docx"
    return None


def extract_text(data: bytes, file: str) -> tuple[str, str]:
    """Text of a .txt, .docx or .pdf file, decided by content first, then by the file name."""
    kind = sniff(data)
    lower = file.lower()
    if kind is None and lower.endswith(".pdf"):
        raise ParseError(file, "unreadable PDF: the file does not start with %PDF")
    if kind is None and lower.endswith(".docx"):
        raise ParseError(file, "unreadable Word file: a .docx must be a zip archive")
    if kind == "pdf":
        return pdf_text(data, file), "pdf"
    if kind == "docx":
        return docx_text(data, file), "docx"
    return decode_text(data, file)


def normalise_newlines(text: str) -> str:
    """CRLF and lone CR become LF; form feeds (page breaks) become blank lines."""
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n\n")


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
    if not _CJK.search(text):
        # e.g. UTF-8 read once as Latin-1 and saved again ("å»ºè®¾"): valid bytes, no Chinese
        raise ParseError(file, f"no Chinese text (decoded as {encoding}): a wrong encoding, or not a bulletin")
    return reflow_wrapped(normalise_newlines(text)), encoding


_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")


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
                   or not _CJK.match(ch) for ch in sample)
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


def docx_text(data: bytes, file: str) -> str:
    """Paragraphs of a Word file in document order, tables row by row (one cell per line)."""
    try:
        import docx  # python-docx
        from docx.table import Table
        from docx.text.paragraph import Paragraph
    except ImportError as exc:  # pragma: no cover - declared dependency
        raise ParseError(file, "reading .docx needs python-docx: pip install python-docx") from exc
    check_zip(data, file)
    try:
        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise ParseError(file, f"unreadable Word file: {exc}") from None
    except Exception as exc:  # python-docx raises assorted errors on damaged packages
        raise ParseError(file, f"unreadable Word file: {type(exc).__name__}: {exc}") from None
    lines: list[str] = []
    body = document.element.body
    for child in body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            lines.append(Paragraph(child, document).text)
        elif tag == "tbl":
            for row in Table(child, document).rows:
                seen: list = []
                for cell in row.cells:
                    if any(cell._tc is other for other in seen):  # a merged cell repeats in its row
                        continue
                    seen.append(cell._tc)
                    lines.extend(p.text for p in cell.paragraphs)
    text = "\n\n".join(line.replace("\v", "\n") for line in lines)
    if not text.strip():
        raise ParseError(file, "empty Word file: no text in its paragraphs")
    return normalise_newlines(text)


def check_zip(data: bytes, file: str) -> None:
    """Refuse a zip whose parts would unpack to far more than a bulletin (a zip bomb). The sizes
    declared in the directory bound what zipfile unpacks, so checking them is enough."""
    try:
        parts = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise ParseError(file, f"unreadable Word file: {exc}") from None
    total = sum(p.file_size for p in parts)
    if total > MAX_UNZIPPED:
        raise ParseError(file, f"refused as a zip bomb: its parts unpack to {total / 2**20:,.0f} MB "
                               f"(a bulletin needs at most {MAX_UNZIPPED / 2**20:g} MB)")
    for part in parts:
        if part.file_size > 1024 * 1024 and part.file_size > MAX_ZIP_RATIO * max(1, part.compress_size):
            raise ParseError(file, f"refused as a zip bomb: {part.filename} unpacks "
                                   f"{part.file_size // max(1, part.compress_size):,} times its packed size")


def pdf_text(data: bytes, file: str) -> str:
    """Text of every page with pypdf, pages separated by blank lines (a page end is a paragraph gap)."""
    try:
        from pypdf import PdfReader
        from pypdf.errors import PdfReadError
    except ImportError as exc:  # pragma: no cover - declared dependency
        raise ParseError(file, "reading .pdf needs pypdf: pip install pypdf") from exc
    if b"%%EOF" not in data[-1024:]:  # where every PDF writer ends the file
        raise ParseError(file, "unreadable PDF: truncated, it does not end with %%EOF (an incomplete copy or download)")
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                opened = reader.decrypt("")  # only an empty user password can be tried
            except Exception:
                opened = 0
            if not opened:  # PasswordType.NOT_DECRYPTED
                raise ParseError(file, "unreadable PDF: encrypted with a password")
        count = len(reader.pages)
        if count > MAX_PDF_PAGES:
            raise ParseError(file, f"refused: the PDF has {count:,} pages (a bulletin has at most {MAX_PDF_PAGES:,})")
        pages = [page.extract_text() or "" for page in reader.pages]
    except ParseError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise ParseError(file, f"unreadable PDF: {exc}") from None
    except Exception as exc:  # pypdf raises assorted errors on damaged files
        raise ParseError(file, f"unreadable PDF: {type(exc).__name__}: {exc}") from None
    if not any(page.strip() for page in pages):
        raise ParseError(file, "unreadable PDF: no text layer (scanned image? run OCR first)")
    return reflow_pdf_lines(pages)


_STOPS = set("。！？!?；;：:")
_PAGE_NUMBER = re.compile(r"^[-－—–\s]*(?:第\s*)?\d{1,4}\s*(?:页)?[-－—–\s]*(?:/\s*\d+\s*页?)?$")


_NARROW = re.compile(r"[\x00-\u200f\u2070-\u2e7f]")


def _width(line: str) -> float:
    """Printed width in ems: CJK characters and punctuation one em, Latin letters and digits half."""
    return len(line) - 0.5 * len(_NARROW.findall(line))


def reflow_pdf_lines(pages: list[str]) -> str:
    """One paragraph per line. A PDF's text layer has one line per printed line: a line as wide as
    the text column was wrapped and continues on the next line (even across a page end). When the
    document indents its paragraphs, an indented line starts a new one. Page numbers are dropped."""
    raw = [line for page in pages for line in _raw_lines(page)]
    if not raw:
        return ""
    widths = sorted(_width(text) for text, _ in raw)
    column = widths[int(0.95 * (len(widths) - 1))]  # the full text column, ignoring a few overlong lines
    return "\n\n".join(_reflow(raw, column, _indented(raw)))


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
            full = _width(prev) >= column - 3
            if indents:
                heading = prev[-1] in _STOPS and _width(text) < column - 3 and text[-1] not in _STOPS
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
    long = [round(_width(line)) for line, _ in raw if _width(line) >= 12]
    if len(long) < 12:
        return text
    column, count = Counter(long).most_common(1)[0]
    near = sum(1 for width in long if abs(width - column) <= 1)
    if near < 0.4 * len(long) or sum(1 for width in long if width > column + 1) > 0.05 * len(long):
        return text
    indents = _indented(raw)
    blocks = re.split(r"\n[ \t\u3000]*\n", normalise_newlines(text))
    return "\n\n".join(p for block in blocks for p in _reflow(_raw_lines(block), column, indents))
