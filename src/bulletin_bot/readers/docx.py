"""Word 2007+ (.docx, and WPS files that are .docx inside): paragraphs in document order.

The package is read with zipfile and lxml rather than through python-docx's document model:
python-docx refuses packages whose main part has a content type it does not know (WPS writes
several) and skips what sits outside plain paragraphs. What Word files really hold, and how it
is read here:
- a table of contents inside a content control (`w:sdt`) with tab leaders and page numbers:
  read as contents lines ("- title");
- tables: one line per cell paragraph, a merged cell once;
- tracked insertions and hyperlinks: their text, in place (deleted text is not `w:t`);
- a title printed over two centred lines, by a soft line break (Shift+Enter) or as two
  centred paragraphs in the same display type (WPS's 公文 templates do this): one line;
- text boxes (a masthead's red title is often one): their paragraphs, before the paragraph
  that anchors them; the VML copy of the same box (`mc:Fallback`) is skipped.
"""

from __future__ import annotations

import re

import io
import posixpath
import zipfile

from .base import MAX_UNZIPPED, MAX_ZIP_RATIO, ParseError, contents_lines, join_pieces, normalise_newlines, stands_alone

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
_MAX_PART = 200 * 1024 * 1024  # a document part this large (unpacked) is a zip bomb, not a bulletin
_BREAK = "\x00"  # a soft line break, resolved once the paragraph's text is known


def docx_text(data: bytes, file: str) -> str:
    """Paragraphs of a Word file in document order, one per line, separated by blank lines."""
    root = _main_part(data, file)
    body = root.find(f"{_W}body")
    if body is None:
        raise ParseError(file, "unreadable Word file: the document has no body")
    found: list[tuple[str, tuple | None]] = []
    _block(body, found)
    lines = contents_lines(_join_display_lines([(collapse_line(text), key) for text, key in found if collapse_line(text)]))
    if not lines:
        raise ParseError(file, "empty Word file: no text in its paragraphs")
    return normalise_newlines("\n\n".join(lines))


def _main_part(data: bytes, file: str):
    """The parsed main document part, found through the package relationships."""
    from lxml import etree

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            check_zip(archive, file)
            names = {name.lstrip("/"): name for name in archive.namelist()}
            target = _main_name(archive, names)
            if target is None:
                raise ParseError(file, "unreadable Word file: no main document (word/document.xml) in the package")
            info = archive.getinfo(names[target])
            if info.file_size > _MAX_PART:
                raise ParseError(file, f"unreadable Word file: its document part unpacks to {info.file_size} bytes")
            xml = archive.read(info)
    except ParseError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, KeyError, ValueError, OSError, EOFError, NotImplementedError) as exc:
        raise ParseError(file, f"unreadable Word file: {exc}") from None
    except RuntimeError as exc:  # an encrypted zip entry
        raise ParseError(file, f"unreadable Word file: {exc}") from None
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, recover=False)
    try:
        return etree.fromstring(xml, parser)
    except etree.XMLSyntaxError as exc:
        raise ParseError(file, f"unreadable Word file: damaged document.xml ({exc})") from None


def check_zip(archive: zipfile.ZipFile, file: str) -> None:
    """Refuse a zip whose parts would unpack to far more than a bulletin (a zip bomb). The sizes
    declared in the directory bound what zipfile unpacks, so checking them is enough."""
    parts = archive.infolist()
    total = sum(p.file_size for p in parts)
    if total > MAX_UNZIPPED:
        raise ParseError(file, f"refused as a zip bomb: its parts unpack to {total / 2**20:,.0f} MB "
                               f"(a bulletin needs at most {MAX_UNZIPPED / 2**20:g} MB)")
    for part in parts:
        if part.file_size > 1024 * 1024 and part.file_size > MAX_ZIP_RATIO * max(1, part.compress_size):
            raise ParseError(file, f"refused as a zip bomb: {part.filename} unpacks "
                                   f"{part.file_size // max(1, part.compress_size):,} times its packed size")


def _main_name(archive: zipfile.ZipFile, names: dict[str, str]) -> str | None:
    """The main part named by _rels/.rels (the officeDocument relationship), else word/document.xml."""
    from lxml import etree

    if "_rels/.rels" in names:
        try:
            rels = etree.fromstring(archive.read(names["_rels/.rels"]), etree.XMLParser(resolve_entities=False, no_network=True))
        except etree.XMLSyntaxError:
            rels = None
        for rel in rels.iter(_REL) if rels is not None else ():
            if rel.get("Type", "").endswith("/officeDocument"):
                target = posixpath.normpath(rel.get("Target", "").lstrip("/"))
                if target in names:
                    return target
    return "word/document.xml" if "word/document.xml" in names else None


def _block(element, lines: list[tuple[str, tuple | None]]) -> None:
    """Paragraphs and tables of a body, a cell, a content control or a text box, in order."""
    for child in element:
        tag = child.tag
        if tag == f"{_W}p":
            _paragraph(child, lines)
        elif tag == f"{_W}tbl":
            for row in child.findall(f"{_W}tr"):
                for cell in row.findall(f"{_W}tc"):
                    if _continues_merge(cell):
                        continue  # the text is in the cell the merge started in
                    _block(cell, lines)
        elif tag in (f"{_W}sdt", f"{_W}customXml", f"{_W}sdtContent", f"{_W}ins"):
            _block(child, lines)


def _continues_merge(cell) -> bool:
    merge = cell.find(f"{_W}tcPr/{_W}vMerge")
    return merge is not None and merge.get(f"{_W}val", "continue") == "continue"


_MARKED = re.compile(r"^(?:[-－–•·●▪]|\d{1,2}[.．、]|[（(]\d{1,2}[）)])")


def _paragraph(paragraph, lines: list[tuple[str, tuple | None]]) -> None:
    parts: list[str] = []
    boxes: list[tuple[str, tuple | None]] = []
    _runs(paragraph, parts, boxes)
    lines.extend(boxes)
    pieces = _resolve_breaks("".join(parts)).split("\n")
    if _list_item(paragraph) and pieces[0].strip() and not _MARKED.match(pieces[0].strip()):
        # Word draws a list's bullet itself (it is no text): a bulleted contents entry reads
        # like the text export's "- title"
        pieces[0] = f"- {pieces[0].strip()}"
    key = _type_key(paragraph) if len(pieces) == 1 else None
    lines.extend((piece, key) for piece in pieces)


def _list_item(paragraph) -> bool:
    """A paragraph of a bulleted or numbered list (its own numbering, or a list style's)."""
    props = paragraph.find(f"{_W}pPr")
    if props is None:
        return False
    number = props.find(f"{_W}numPr/{_W}numId")
    if number is not None:
        return number.get(f"{_W}val", "0") != "0"
    style = props.find(f"{_W}pStyle")
    return style is not None and (style.get(f"{_W}val") or "").startswith("List") and style.get(f"{_W}val") != "ListParagraph"


def _type_key(paragraph) -> tuple:
    """(alignment, style, size in half-points, bold) as the paragraph sets them directly."""
    props = paragraph.find(f"{_W}pPr")
    align = style = None
    run_props = None
    if props is not None:
        jc, pstyle = props.find(f"{_W}jc"), props.find(f"{_W}pStyle")
        align = jc.get(f"{_W}val") if jc is not None else None
        style = pstyle.get(f"{_W}val") if pstyle is not None else None
        run_props = props.find(f"{_W}rPr")
    for run in paragraph.iter(f"{_W}r"):
        if run.find(f"{_W}t") is not None:
            run_props = run.find(f"{_W}rPr")
            break
    size = bold = None
    if run_props is not None:
        sz, b = run_props.find(f"{_W}sz"), run_props.find(f"{_W}b")
        size = int(sz.get(f"{_W}val")) if sz is not None and (sz.get(f"{_W}val") or "").isdigit() else None
        bold = b is not None and b.get(f"{_W}val", "true") not in ("0", "false")
    return (align, style, size, bool(bold))


def _join_display_lines(lines: list[tuple[str, tuple | None]]) -> list[str]:
    """Join consecutive centred paragraphs set in the same display type (larger than the body,
    or bold): a title the editor split over two paragraphs to balance its lines."""
    sizes: dict[int, int] = {}
    for text, key in lines:
        if key is not None and key[2] is not None:  # sizes set directly; a style's size is not known here
            sizes[key[2]] = sizes.get(key[2], 0) + len(text)
    body = max(sizes, key=sizes.get) if sizes else None
    out: list[str] = []
    last_key = None
    for text, key in lines:
        display = key is not None and key[0] == "center" and (
            key[3] or (key[2] is not None and body is not None and key[2] > body))
        if out and display and key == last_key and not stands_alone(out[-1]) and not stands_alone(text) \
                and out[-1][-1] not in "。！？!?":
            out[-1] = join_pieces(out[-1], text)
        else:
            out.append(text)
        last_key = key if display else None
    return out


def _runs(element, parts: list[str], boxes: list[tuple[str, tuple | None]]) -> None:
    for child in element:
        tag = child.tag
        if not isinstance(tag, str) or tag == _MC_FALLBACK or tag in (f"{_W}del", f"{_W}instrText", f"{_W}pPr", f"{_W}rPr"):
            continue
        if tag == f"{_W}t":
            parts.append(child.text or "")
        elif tag == f"{_W}tab":
            parts.append("\t")
        elif tag in (f"{_W}br", f"{_W}cr"):
            kind = child.get(f"{_W}type", "textWrapping")
            parts.append("\n" if kind in ("page", "column") else _BREAK)
        elif tag == f"{_W}noBreakHyphen":
            parts.append("-")
        elif tag == f"{_W}txbxContent":
            _block(child, boxes)
        else:
            _runs(child, parts, boxes)


def _resolve_breaks(text: str) -> str:
    """A soft line break inside a paragraph is a printed line end: the text runs on."""
    if _BREAK not in text:
        return text
    pieces = text.split(_BREAK)
    out = pieces[0]
    for piece in pieces[1:]:
        out = join_pieces(out.rstrip(), piece.lstrip())
    return out


def collapse_line(text: str) -> str:
    """Trim a line; a tab inside it (between a title and its page number) is kept for contents."""
    return text.strip(" \u3000\r\n\v")
