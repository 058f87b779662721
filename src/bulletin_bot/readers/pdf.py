"""PDF: every glyph with its place, size and weight (pypdfium2, Chrome's PDF engine), laid out
by `layout`; pages without a text layer are scanned pages, read by OCR when it is installed.

A page "has no text layer" when it has no glyphs, or when most of its glyphs have no Unicode
meaning (fonts embedded without a ToUnicode map, which print fine and extract as garbage).
"""

from __future__ import annotations

import ctypes

from . import fallback_font, ocr
from .base import MAX_PDF_PAGES, ParseError, width
from .layout import Page, Piece, layout_text

_BOLD_NAMES = ("bold", "black", "heavy", "semibold", "demibold", "hei", "xbs", "xiaobiaosong", "小标宋", "黑")


def pdf_text(data: bytes, file: str) -> tuple[str, str]:
    """(text, "pdf" or "pdf+ocr") of a PDF file."""
    import pypdfium2 as pdfium

    fallback_font.ensure()
    if b"%%EOF" not in data[-1024:]:  # where every PDF writer ends the file
        raise ParseError(file, "unreadable PDF: truncated, it does not end with %%EOF (an incomplete copy or download)")
    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        reason = "encrypted with a password" if "password" in str(exc).lower() else f"damaged file ({exc})"
        raise ParseError(file, f"unreadable PDF: {reason}") from None
    except Exception as exc:  # pragma: no cover - pdfium reports through PdfiumError
        raise ParseError(file, f"unreadable PDF: {type(exc).__name__}: {exc}") from None
    try:
        if len(document) == 0:
            raise ParseError(file, "unreadable PDF: it has no pages")
        if len(document) > MAX_PDF_PAGES:
            raise ParseError(file, f"refused: the PDF has {len(document):,} pages (a bulletin has at most {MAX_PDF_PAGES:,})")
        pages, scanned = [], []
        for index in range(len(document)):
            page = document[index]
            try:
                width, height = page.get_size()
                pieces = glyphs(page, height)
                if pieces is None:
                    scanned.append(index)
                    pieces = ()
                pages.append(Page(width, height, tuple(pieces)))
            finally:
                page.close()
        encoding = "pdf"
        if scanned:
            encoding = _read_scanned(document, pages, scanned, file)
    except ParseError:
        raise
    except Exception as exc:  # pdfium raises assorted errors on damaged pages
        raise ParseError(file, f"unreadable PDF: {type(exc).__name__}: {exc}") from None
    finally:
        document.close()
    text = layout_text(pages)
    if not text.strip():
        found = "OCR found no text on its pages" if encoding == "pdf+ocr" else "no text on any page"
        raise ParseError(file, f"unreadable PDF: no text layer, and {found}")
    return text, encoding


def _read_scanned(document, pages: list[Page], scanned: list[int], file: str) -> str:
    """OCR the pages without a text layer; without OCR, a file of nothing but scans is refused."""
    status = ocr.status()
    if not status.available:
        if len(scanned) == len(pages):
            raise ParseError(file, f"scanned PDF: no text layer on its {len(pages)} page(s), and OCR is not "
                                   f"available ({status.detail})")
        return "pdf"  # the pages with text are read; the scanned ones are skipped
    if len(scanned) > ocr.MAX_PAGES:
        raise ParseError(file, f"scanned PDF: {len(scanned)} pages without a text layer, and OCR reads at most "
                               f"{ocr.MAX_PAGES} pages of one file")
    ocr.announce(len(scanned))
    for index in scanned:
        page = document[index]
        try:
            pages[index] = Page(pages[index].width, pages[index].height, tuple(ocr_page(page, file)))
        finally:
            page.close()
    return "pdf+ocr"


def ocr_page(page, file: str) -> list[Piece]:
    """The lines OCR reads on a page rendered at the engine's resolution."""
    dpi = ocr.dpi()
    bitmap = page.render(scale=dpi / 72, grayscale=True)
    try:
        return ocr.read_image(bytes(bitmap.buffer), bitmap.width, bitmap.height, bitmap.stride, dpi, file)
    finally:
        bitmap.close()


def glyphs(page, height: float) -> list[Piece] | None:
    """The page's glyphs (y from the top of a page `height` tall), or None when it has no usable text layer (a scan)."""
    import pypdfium2.raw as raw

    revealed = _reveal_empty_runs(page)
    textpage = page.get_textpage()
    try:
        count = textpage.count_chars()
        x, y = ctypes.c_double(), ctypes.c_double()
        name = ctypes.create_string_buffer(128)
        flags = ctypes.c_int()
        matrix = raw.FS_MATRIX()
        pieces: list[Piece] = []
        unmapped = 0
        last_font = (None, False)
        for i in range(count):
            code = raw.FPDFText_GetUnicode(textpage, i)
            # pdfium reports a printed hyphen that ends a line as a control character, taking it
            # for a word broken in two; between Chinese words it is text ("尼古拉耶夫-克里沃罗格")
            hyphen = raw.FPDFText_IsHyphen(textpage, i) == 1
            if not hyphen and (raw.FPDFText_IsGenerated(textpage, i) or code in (0, 0xFFFE, 0xFFFF) or code < 0x20):
                unmapped += code == 0
                continue  # pdfium's own line ends and spaces: the layout decides those
            char = "-" if hyphen else chr(code)
            if revealed and char.isspace() and _address(raw.FPDFText_GetTextObject(textpage, i)) in revealed:
                continue  # a run of spaces the text page never reported: leave the layout as it was
            if 0xE000 <= code <= 0xF8FF or raw.FPDFText_HasUnicodeMapError(textpage, i) == 1:
                unmapped += 1
                continue
            raw.FPDFText_GetCharOrigin(textpage, i, x, y)
            size = raw.FPDFText_GetFontSize(textpage, i)  # in text space: the text matrix scales it
            if raw.FPDFText_GetMatrix(textpage, i, matrix):
                size *= abs(matrix.a * matrix.d - matrix.b * matrix.c) ** 0.5 or 1.0
            length = raw.FPDFText_GetFontInfo(textpage, i, name, len(name), flags)
            font = name.value[: max(0, length - 1)] if length else b""
            if font != last_font[0]:
                last_font = (font, _bold_name(font.decode("utf-8", errors="replace")))
            bold = last_font[1] or raw.FPDFText_GetFontWeight(textpage, i) >= 600
            pieces.append(Piece(char, x.value, x.value + width(char) * size, height - y.value, float(size), bool(bold)))
        if not any(piece.text.strip() for piece in pieces) or unmapped > max(20, len(pieces)):
            return None  # a scan, text drawn as outlines, or glyphs without meaning
        return _advances(pieces)
    finally:
        textpage.close()


def _reveal_empty_runs(page) -> set[int]:
    """Let the text page see the text objects it would drop (their addresses).

    pdfium's text page skips a text object whose box is under 0.01pt wide, and a box is drawn
    from the glyphs' outlines: a run of one glyph whose outline box the font gives as empty is
    lost whole, text and place. A lone `℃` in WenQuanYi is one (reportlab sets it in a run of
    its own when it falls in another 256-glyph subset than its neighbours: `6℃～8℃，` read
    `6℃～8，`). The object's characters cannot be read apart from the text page
    (FPDFTextObj_GetText asks the text page), but a text object in a stroke mode widens its box
    by half its line width: so it is stroked, in memory only, with a hairline, and the text
    page reports its characters where the PDF puts them, in their order on the line, with their
    font and size. The page is never rendered nor saved, and a page read by OCR is loaded anew."""
    import pypdfium2.raw as raw

    left, bottom, right, top = (ctypes.c_float() for _ in range(4))
    revealed: set[int] = set()
    for index in range(raw.FPDFPage_CountObjects(page)):
        obj = raw.FPDFPage_GetObject(page, index)
        if raw.FPDFPageObj_GetType(obj) != raw.FPDF_PAGEOBJ_TEXT:
            continue
        if not raw.FPDFPageObj_GetBounds(obj, left, bottom, right, top) or right.value - left.value >= 0.01:
            continue
        if not (raw.FPDFPageObj_SetStrokeWidth(obj, ctypes.c_float(0.1))
                and raw.FPDFTextObj_SetTextRenderMode(obj, raw.FPDF_TEXTRENDERMODE_FILL_STROKE)):
            continue
        raw.FPDFPageObj_Transform(obj, 1, 0, 0, 1, 0, 0)  # the box is recomputed on a transform
        revealed.add(_address(obj))
    return revealed


def _address(handle) -> int:
    return ctypes.cast(handle, ctypes.c_void_p).value or 0


def _advances(pieces: list[Piece]) -> list[Piece]:
    """Each glyph ends where the next one on its line begins (its advance as the PDF places it);
    the last one of a line keeps its nominal width. A glyph's box is not used: pdfium draws it
    from the font it found, and a font the file does not embed is replaced by whatever the
    machine has installed (or by nothing), so boxes change from server to server; the origins
    are the file's own."""
    out = list(pieces)
    for k in range(len(out) - 1):
        a, b = out[k], out[k + 1]
        if abs(b.baseline - a.baseline) <= 0.2 * a.size and 0 < b.x0 - a.x0 <= 2.5 * a.size:
            out[k] = Piece(a.text, a.x0, min(b.x0, a.x0 + 1.2 * a.size), a.baseline, a.size, a.bold)
    return out


def _bold_name(font: str) -> bool:
    lower = font.lower()
    return any(mark in lower for mark in _BOLD_NAMES)

