"""OFD (GB/T 33190, the national fixed-layout format): the text layer with ofdkit, laid out by
`layout` like a PDF page (ofdkit places every TextCode run on its page, templates included).

Some producers write glyph indexes into the Private Use Area instead of characters; such runs
carry no text and are dropped, and a file made only of them is refused with that reason.
"""

from __future__ import annotations

import io
import re
import zipfile
from xml.etree import ElementTree

from .base import ParseError, width
from .layout import Page, Piece, layout_text

_MM = 72 / 25.4  # OFD measures in millimetres; layout in points
_PRIVATE = re.compile(r"[\ue000-\uf8ff]")
_MAX_PAGE_XML = 32 * 1024 * 1024


def ofd_text(data: bytes, file: str) -> str:
    """Text of an OFD file, one paragraph per line."""
    import ofdkit

    pages: list[Page] = []
    private = kept = 0
    try:
        with ofdkit.open(data) as document:
            for page in document.pages:
                x0, y0, width, height = page.box
                pieces = []
                heights = None
                for run in page.runs:
                    text = run.text
                    hidden = len(_PRIVATE.findall(text))
                    private += hidden
                    if hidden:
                        text = _PRIVATE.sub("", text)
                    if not text.strip():
                        continue
                    kept += len(text)
                    size, advance = run.size, run.width
                    if size <= 0:
                        if heights is None:
                            heights = _box_heights(data, page.location)
                        size, advance = _sized(text, advance, heights.get(run.object_id or ""))
                    pieces.append(Piece(text, (run.x - x0) * _MM, (run.x - x0 + advance) * _MM, (run.y - y0) * _MM, size * _MM))
                pages.append(Page(width * _MM, height * _MM, tuple(_fill_sizes(pieces))))
    except ofdkit.OFDError as exc:
        raise ParseError(file, f"unreadable OFD: {exc}") from None
    except Exception as exc:  # a damaged package or XML part
        raise ParseError(file, f"unreadable OFD: {type(exc).__name__}: {exc}") from None
    if not pages:
        raise ParseError(file, "unreadable OFD: it has no pages")
    if private > kept:
        raise ParseError(file, "unreadable OFD: its text is stored as font glyph codes, not characters")
    text = layout_text(pages)
    if not text.strip():
        raise ParseError(file, "unreadable OFD: no text layer (scanned pages?)")
    return text


def _sized(text: str, advance: float, box: float | None) -> tuple[float, float]:
    """(size, advance) of a run written without a Size (some converters omit it): from the
    height of its TextObject's box (about 1.2 em) when there is one, else from the step between
    characters. ofdkit counts the DeltaX steps but not the last character's width."""
    step = advance / (len(text) - 1) if len(text) > 1 else 0.0
    size = box / 1.2 if box else step
    return size, advance + (step or size)


def _box_heights(data: bytes, location: str | None) -> dict[str, float]:
    """TextObject ID -> height of its Boundary, from the page's Content.xml."""
    if not location:
        return {}
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = {name.lstrip("/").casefold(): name for name in archive.namelist()}
            name = names.get(location.lstrip("/").casefold())
            if name is None or archive.getinfo(name).file_size > _MAX_PAGE_XML:
                return {}
            root = ElementTree.fromstring(archive.read(name))
    except (zipfile.BadZipFile, ElementTree.ParseError, KeyError, ValueError, OSError):
        return {}
    heights = {}
    for element in root.iter():
        if element.tag.rsplit("}", 1)[-1] == "TextObject":
            box = (element.get("Boundary") or "").split()
            try:
                heights[element.get("ID", "")] = float(box[3])
            except (IndexError, ValueError):
                continue
    return heights


def _fill_sizes(pieces: list[Piece]) -> list[Piece]:
    """A one-character run without a size takes the page's most common size."""
    known = sorted(piece.size for piece in pieces if piece.size > 0)
    if len(known) == len(pieces) or not known:
        return pieces
    size = known[len(known) // 2]
    return [p if p.size > 0 else Piece(p.text, p.x0, p.x0 + size * width(p.text), p.baseline, size) for p in pieces]
