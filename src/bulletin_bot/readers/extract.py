"""Bytes -> text for any supported file: the format is told by the bytes, the name only
explains what was expected when the bytes are not what it promised."""

from __future__ import annotations

from pathlib import PurePath

from .base import ParseError
from .detect import other_format, sniff
from .plain import decode_text

# What a suffix promises, for the message when the bytes are plain text instead.
_EXPECTED = {
    ".pdf": "unreadable PDF: the file does not start with %PDF",
    ".docx": "unreadable Word file: a .docx must be a zip archive",
    ".doc": "unreadable Word file: a .doc must be a Word 97-2003 (OLE2) or .docx file",
    ".wps": "unreadable WPS file: a .wps must be a WPS/Word (OLE2) or .docx file",
    ".ofd": "unreadable OFD: an .ofd must be a zip package with OFD.xml",
}


def extract_text(data: bytes, file: str) -> tuple[str, str]:
    """(text, how it was read) of one file: "utf-8", "gb18030", … for text exports, else "pdf",
    "pdf+ocr", "docx", "doc", "wps" or "ofd"."""
    kind = sniff(data)
    suffix = PurePath(file).suffix.lower()
    if kind is None:
        if suffix in _EXPECTED and data.strip():
            raise ParseError(file, _EXPECTED[suffix])
        return decode_text(data, file)
    if kind == "pdf":
        from .pdf import pdf_text

        return pdf_text(data, file)
    if kind == "docx":
        from .docx import docx_text

        return docx_text(data, file), "docx"
    if kind == "ole":
        from .msdoc import msdoc_text

        return msdoc_text(data, file)
    if kind == "ofd":
        from .ofd import ofd_text

        return ofd_text(data, file), "ofd"
    if kind == "zip" and suffix in (".docx", ".doc", ".wps"):
        raise ParseError(file, "unreadable Word file: the zip package holds no Word document (word/document.xml)")
    if kind == "zip":
        raise ParseError(file, "unsupported file: a zip package that is neither a Word (.docx) nor an OFD file "
                               "(a spreadsheet or OpenDocument file? save it as .docx)")
    raise ParseError(file, f"unsupported file: {other_format(data)}")
