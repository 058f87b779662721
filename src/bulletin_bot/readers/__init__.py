"""Bytes -> text for every format offices send: plain-text exports in any Chinese encoding,
.docx, .pdf (scanned pages by OCR), Word 97-2003 .doc, WPS .wps and OFD.

One module per format, `detect` (the format from the bytes, and the accepted suffixes),
`layout` (fixed-layout pages to lines) and `base` (what they share). This face only re-exports.
"""

from __future__ import annotations

from .base import contents_entry, normalise_newlines
from .detect import SUPPORTED_LABEL, SUPPORTED_SUFFIXES, sniff
from .extract import extract_text
from .ocr import OcrStatus
from .ocr import status as ocr_status
from .plain import decode_text, reflow_wrapped

__all__ = [
    "SUPPORTED_LABEL",
    "SUPPORTED_SUFFIXES",
    "OcrStatus",
    "contents_entry",
    "decode_text",
    "extract_text",
    "normalise_newlines",
    "ocr_status",
    "reflow_wrapped",
    "sniff",
]
