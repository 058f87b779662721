"""OCR of scanned pages, optional at run time: RapidOCR when it is installed (`bulletin-bot[ocr]`),
else Debian's tesseract with its simplified-Chinese model, else none. `status()` says which
(and `bulletin-bot index --status` shows it). Either engine's lines become `layout` pieces, so a
scanned page is laid out like a PDF page (titles joined, page numbers dropped).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from . import rapid, tesseract
from .layout import Piece

_ENGINES = (rapid, tesseract)  # in order of preference: RapidOCR reads Chinese far better
# A bulletin has tens of pages; OCR takes seconds a page, so a longer scan is refused, not read for hours.
MAX_PAGES = 100
# Told how many pages are about to be read, before OCR starts: the parse sandbox sets this so
# that a scan gets the time its pages need rather than the limit meant for a hostile file.
pages_announced: Callable[[int], None] | None = None


@dataclass(frozen=True)
class OcrStatus:
    available: bool
    detail: str  # "RapidOCR 3.10.0 (…)", "tesseract 5.3.0, chi_sim", or what is missing and how to install it


def _chosen():
    return next((engine for engine in _ENGINES if engine.found()[0]), None)


def status() -> OcrStatus:
    """Is OCR available, and with which engine?"""
    engine = _chosen()
    if engine is not None:
        return OcrStatus(True, engine.found()[1])
    return OcrStatus(False, "; ".join(engine.found()[1] for engine in _ENGINES))


def dpi() -> int:
    """The resolution the engine in use reads pages at."""
    engine = _chosen()
    return engine.DPI if engine is not None else tesseract.DPI


def announce(pages: int) -> None:
    if pages_announced is not None:
        pages_announced(pages)


def read_image(gray: bytes, width: int, height: int, stride: int, dpi: int, file: str) -> list[Piece]:
    """Lines of a grayscale page image (one byte a pixel, rows `stride` bytes apart) as layout pieces."""
    engine = _chosen() or tesseract  # the caller checked status(); tesseract then names what is missing
    return engine.read_image(gray, width, height, stride, dpi, file)
