"""Which formats we read, and which one a file is, told by its bytes (offices rename files, and
WPS saves .docx with unusual MIME types, so neither the name nor the MIME type is trusted).

SUPPORTED_SUFFIXES is the one list of accepted file names: the corpus scan, the parser, the
Telegram bot's and the web app's uploads all use it.
"""

from __future__ import annotations

import io
import zipfile

SUPPORTED_SUFFIXES = (".txt", ".docx", ".pdf", ".doc", ".wps", ".ofd")
# Shown to users ("文件类型") and in --help.
SUPPORTED_LABEL = " / ".join(SUPPORTED_SUFFIXES)

_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# Formats we recognise but do not read, with what to do instead.
_OTHER = (
    (b"{\\rtf", "an RTF file: save it as .docx"),
    (b"\x89PNG", "a PNG image: scan bulletins into PDF"),
    (b"\xff\xd8\xff", "a JPEG image: scan bulletins into PDF"),
    (b"II*\x00", "a TIFF image: scan bulletins into PDF"),
    (b"MM\x00*", "a TIFF image: scan bulletins into PDF"),
)


def sniff(data: bytes) -> str | None:
    """The format the bytes announce: "pdf", "docx", "ofd", "ole" (Word 97-2003 .doc or WPS
    .wps; `msdoc` tells them apart), "zip" (another zip package), "other", or None for text."""
    head = data[:1024]
    if b"%PDF-" in head:  # a few exporters put junk (a BOM, a newline) before the header
        return "pdf"
    if data.startswith(_OLE2):
        return "ole"
    if data.startswith(b"PK\x03\x04"):
        return _zip_kind(data)
    if any(data.startswith(magic) for magic, _ in _OTHER):
        return "other"
    return None


def other_format(data: bytes) -> str:
    """What a file `sniff` called "other" is, and what to do about it."""
    return next((what for magic, what in _OTHER if data.startswith(magic)), "an unknown binary format")


def _zip_kind(data: bytes) -> str:
    """docx, ofd or zip, by the package's parts (not by its declared content types)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = {name.lower().lstrip("/") for name in archive.namelist()}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, NotImplementedError):
        # a damaged package: the reader of what its first entries name says why
        return "ofd" if b"OFD.xml" in data[:65536] else "docx"
    if "ofd.xml" in names:
        return "ofd"
    if "word/document.xml" in names:
        return "docx"
    if "xl/workbook.xml" in names or "ppt/presentation.xml" in names or "content.xml" in names:
        return "zip"  # a spreadsheet, a presentation or an OpenDocument file
    return "docx" if "_rels/.rels" in names else "zip"
