"""Bulletins printed to PDF in layouts drawn from a seeded generator: a fuzzer for the PDF reader.

A `Layout` is drawn at random from a seed: page size and margins, font (reportlab's STSong-Light
CID font, never embedded, or a TrueType CJK font embedded as a subset), body size and line
spacing, titles left or centred, larger or the body's size, long titles broken by hand into two
lines, the contents list with `- ` bullets, numbers, dotted leaders and page numbers, or bare
lines, paragraph indents and spacing, a running header, page numbers, a red masthead. Every line
is wrapped by width alone, wherever the column ends (inside a name, a number, brackets,
quotation marks, right after a 【tag】), as a plain text printer does.

`render(bulletin, layout)` draws the issue with reportlab's canvas, line by line, so the wrap
points are exactly where the width falls. `score(issue, records)` scores a parsed issue against
its truth articles the way scripts/measure_formats.py does (titles matched in order, spaces
ignored; texts exact, spaces ignored). `parse_without_fonts` parses PDFs in a child process
whose pdfium sees no system font at all (its font folders pointed at an empty one), as on a
server without CJK fonts.
"""

from __future__ import annotations

import collections
import difflib
import io
import json
import os
import random
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from office_files import Bulletin

RED = (0.8, 0.0, 0.0)
# An embeddable CJK TrueType font (Debian's fonts-wqy-microhei); Noto CJK is OpenType/CFF, which
# reportlab cannot embed. Without it, layouts use the CID font only.
TTF_FONTS = (
    (Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"), 0),
    (Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"), 0),
    (Path("/usr/share/fonts/truetype/arphic/uming.ttc"), 0),
    (Path("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"), 0),
)
_WS = re.compile(r"\s+")


def ttf_font() -> tuple[Path, int] | None:
    return next(((path, index) for path, index in TTF_FONTS if path.is_file()), None)


@dataclass(frozen=True)
class Layout:
    seed: int
    width: float
    height: float
    left: float
    right: float
    top: float
    bottom: float
    font: str  # "cid" (STSong-Light, not embedded) or "ttf" (embedded)
    size: float  # body type, points
    leading: float  # baseline to baseline, in body sizes
    title_size: float
    title_centred: bool
    title_two_lines: bool  # long titles broken by hand into two balanced lines
    title_space: float  # blank space above and below a title, in body leadings
    section_centred: bool
    section_size: float
    contents: str  # "bullet" (- title), "numbered" (1. title), "dots" (title……3), "bare" (title)
    indent: bool  # paragraphs start two ems in
    paragraph_space: float  # extra space between paragraphs, in body leadings
    header: bool  # the series name at the top of every page after the first
    page_number: str  # "none", "dash" (— 3 —), "page" (第 3 页), "bare" (3), "of" (第 3 页 共 8 页)
    red_masthead: bool

    def features(self) -> dict[str, str]:
        """The layout's features as labels, for figures by feature."""
        return {
            "font": "embedded TTF" if self.font == "ttf" else "CID, not embedded",
            "titles": ("centred" if self.title_centred else "left") + (", larger" if self.title_size > self.size else ", body size"),
            "two-line titles": "yes" if self.title_two_lines else "no",
            "contents": self.contents,
            "indent": "yes" if self.indent else "no",
            "paragraph space": "yes" if self.paragraph_space else "no",
            "header": "yes" if self.header else "no",
            "page numbers": self.page_number,
            "masthead": "red" if self.red_masthead else "plain",
        }


def draw_layout(seed: int, fonts: tuple[str, ...] = ("cid", "ttf")) -> Layout:
    """A layout drawn from `seed` (the same seed, the same layout)."""
    rng = random.Random(seed)
    width = rng.choice([595.3, 612.0, 498.9, 420.0, rng.uniform(380, 640)])
    height = width * rng.uniform(1.3, 1.5)
    size = rng.choice([9, 10, 10.5, 12, 14, 16, rng.uniform(9, 16)])
    plain = rng.random() < 0.3  # the text printed as it is: every line the body's size, left
    title_size = size if plain or rng.random() < 0.2 else size + rng.choice([2, 4, 6, 8])
    font = rng.choice([f for f in fonts if f != "ttf" or ttf_font() is not None])
    return Layout(
        seed=seed,
        width=round(width, 1),
        height=round(height, 1),
        left=round(rng.uniform(28, 100), 1),
        right=round(rng.uniform(28, 100), 1),
        top=round(rng.uniform(36, 90), 1),
        bottom=round(rng.uniform(36, 90), 1),
        font=font,
        size=round(size, 1),
        leading=round(rng.uniform(1.2, 2.0), 2),
        title_size=round(title_size, 1),
        title_centred=not plain and rng.random() < 0.6,
        title_two_lines=not plain and rng.random() < 0.5,
        title_space=0.0 if plain else rng.choice([0.0, 0.3, 0.6, 1.0]),
        section_centred=not plain and rng.random() < 0.3,
        section_size=round(size if plain or rng.random() < 0.5 else size + 2, 1),
        contents="bullet" if plain else rng.choice(["bullet", "numbered", "dots", "bare"]),
        indent=not plain and rng.random() < 0.7,
        paragraph_space=0.0 if plain or rng.random() < 0.5 else rng.choice([0.3, 0.5, 1.0]),
        header=rng.random() < 0.5,
        page_number=rng.choice(["none", "dash", "page", "bare", "of"]),
        red_masthead=not plain and rng.random() < 0.6,
    )


# ------------------------------------------------------------------ rendering


@dataclass
class _Block:
    kind: str  # masthead, series, contents-heading, entry, section, title, paragraph, footer
    text: str
    size: float
    centred: bool = False
    indent: float = 0.0
    space_before: float = 0.0
    space_after: float = 0.0
    red: bool = False
    article: int = -1  # the article a title or contents entry belongs to


def _font_name(layout: Layout) -> str:
    from reportlab.pdfbase import pdfmetrics

    if layout.font == "ttf":
        from reportlab.pdfbase.ttfonts import TTFont

        path, index = ttf_font()
        if "FuzzTTF" not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont("FuzzTTF", str(path), subfontIndex=index))
        return "FuzzTTF"
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    if "STSong-Light" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    return "STSong-Light"


def _balanced(title: str) -> list[str]:
    middle = len(title) // 2
    return [title[:middle], title[middle:]]


def _blocks(bulletin: Bulletin, layout: Layout, pages: dict[int, int]) -> list[_Block]:
    s = layout.size
    lead = s * layout.leading
    out: list[_Block] = []
    for k, line in enumerate(bulletin.masthead):
        if k == 0 and layout.red_masthead:
            out.append(_Block("series", line, s * 2, centred=True, red=True, space_after=lead * 0.5))
        else:
            out.append(_Block("masthead", line, s, centred=layout.red_masthead))
    if layout.contents == "bare" and not any(section for section, _, _ in bulletin.articles):
        layout_contents = "bullet"  # bare lines need 【section】 lines to be read as a contents list
    else:
        layout_contents = layout.contents
    if bulletin.contents:
        if layout.contents == "dots":
            out.append(_Block("contents-heading", "目录", s, centred=True, space_before=lead * 0.5))
        section = None
        for k, (name, title, _) in enumerate(bulletin.articles):
            if name != section:
                section = name
                out.append(_Block("section", f"【{name}】", s))
            if layout_contents == "bullet":
                text = f"- {title}"
            elif layout_contents == "numbered":
                text = f"{k + 1}. {title}"
            else:
                text = title
            out.append(_Block("entry", text, s, article=k))
        out[-1].space_after = lead * 0.5
    section = None
    for k, (name, title, paragraphs) in enumerate(bulletin.articles):
        if name != section:
            section = name
            out.append(_Block("section", f"【{name}】", layout.section_size, centred=layout.section_centred,
                              space_before=lead * layout.title_space))
        width = layout.width - layout.left - layout.right
        lines = [title]
        if layout.title_two_lines and len(title) * layout.title_size > 0.6 * width and len(title) >= 12:
            lines = _balanced(title)
        for n, line in enumerate(lines):
            out.append(_Block("title", line, layout.title_size, centred=layout.title_centred, article=k,
                              space_before=lead * layout.title_space if n == 0 else 0.0,
                              space_after=lead * layout.title_space if n == len(lines) - 1 else 0.0))
        for paragraph in paragraphs:
            if paragraph.strip():
                out.append(_Block("paragraph", paragraph.strip(), s, indent=2 * s if layout.indent else 0.0,
                                  space_before=lead * layout.paragraph_space))
    for line in bulletin.footer:
        out.append(_Block("footer", line, s))
    return out


# Closing punctuation never starts a line (避头尾, as Word, WPS and LibreOffice set Chinese): it
# hangs in the margin. (It matters beyond looks: pdfium drops a text object of one CJK glyph that
# no installed font can draw, so a line of a lone "。" vanishes on a server without CJK fonts.)
_NO_LINE_START = set("。，、；：？！”’）》】」』…")


def _wrap(text: str, font: str, size: float, first: float, rest: float) -> list[str]:
    """Lines of at most `first` (then `rest`) points, broken wherever the width falls."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    lines, line, used = [], "", 0.0
    for ch in text:
        w = stringWidth(ch, font, size)
        room = first if not lines else rest
        if line and used + w > room + 0.01 and ch not in _NO_LINE_START:
            lines.append(line)
            line, used = "", 0.0
        line += ch
        used += w
    if line:
        lines.append(line)
    return lines


def _page_label(layout: Layout, page: int, total: int) -> str:
    return {"dash": f"— {page} —", "page": f"第 {page} 页", "bare": str(page),
            "of": f"第 {page} 页 共 {total} 页"}.get(layout.page_number, "")


def _draw(bulletin: Bulletin, layout: Layout, pages: dict[int, int], total: int) -> tuple[bytes, int]:
    from reportlab.pdfbase.pdfmetrics import stringWidth
    from reportlab.pdfgen import canvas as pdfcanvas

    font = _font_name(layout)
    buf = io.BytesIO()
    c = pdfcanvas.Canvas(buf, pagesize=(layout.width, layout.height))
    column = layout.width - layout.left - layout.right
    page = 1
    y = layout.height - layout.top

    def finish_page() -> None:
        label = _page_label(layout, page, total)
        if label:
            c.setFont(font, layout.size)
            c.drawCentredString(layout.width / 2, layout.bottom * 0.5, label)
        if layout.header and page > 1:
            c.setFont(font, max(7.0, layout.size * 0.8))
            c.drawCentredString(layout.width / 2, layout.height - layout.top * 0.5, f"{bulletin.series} 第{bulletin.number}期")

    for block in _blocks(bulletin, layout, pages):
        leading = block.size * layout.leading
        y -= block.space_before
        if block.kind == "entry" and layout.contents == "dots":
            number = str(pages.get(block.article, 1))
            room = column - stringWidth("0000", font, block.size)
            lines = _wrap(block.text, font, block.size, room, room)
        else:
            lines = _wrap(block.text, font, block.size, column - block.indent, column)
        for n, line in enumerate(lines):
            if y - leading < layout.bottom:
                finish_page()
                c.showPage()
                page += 1
                y = layout.height - layout.top
            y -= leading
            if block.kind == "title":
                pages.setdefault(block.article, page)
            c.setFont(font, block.size)
            c.setFillColorRGB(*(RED if block.red else (0, 0, 0)))
            x = layout.left + (block.indent if n == 0 else 0.0)
            if block.centred:
                c.drawCentredString(layout.left + column / 2, y, line)
            else:
                c.drawString(x, y, line)
            if block.kind == "entry" and layout.contents == "dots" and n == len(lines) - 1:
                end = x + stringWidth(line, font, block.size)
                right = layout.width - layout.right - stringWidth(number, font, block.size)
                dot = stringWidth(".", font, block.size)
                count = int((right - end) / dot) - 2
                if count >= 2:
                    c.drawString(end + dot, y, "." * count)
                c.drawString(right, y, number)
        if block.kind == "series":
            c.setStrokeColorRGB(*RED)
            c.setLineWidth(2)
            c.line(layout.left, y - leading * 0.4, layout.width - layout.right, y - leading * 0.4)
        y -= block.space_after
    finish_page()
    c.showPage()
    c.save()
    return buf.getvalue(), page


def render(bulletin: Bulletin, layout: Layout) -> bytes:
    """The issue printed in `layout` (twice when the contents needs the titles' page numbers)."""
    pages: dict[int, int] = {}
    data, total = _draw(bulletin, layout, pages, 0)
    if layout.contents == "dots" or layout.page_number == "of":
        data, _ = _draw(bulletin, layout, pages, total)
    return data


# ------------------------------------------------------------------ scoring


def squeeze(text: str) -> str:
    return _WS.sub("", text)


def score(issue: dict | None, records: list[dict]) -> collections.Counter:
    """Counts for one parsed issue (`issue_to_json` form, None when refused) against its truth
    records: articles, number_date, title, text, and found (articles the parse produced)."""
    c: collections.Counter = collections.Counter(issues=1, articles=len(records))
    if issue is None:
        c["refused"] += 1
        return c
    c["number_date"] += issue["issue"] == records[0]["issue"] and issue["date"] == records[0]["date"]
    c["found"] += len(issue["articles"])
    wanted = [squeeze(r["title"]) for r in records]
    got = [squeeze(a["title"]) for a in issue["articles"]]
    matched = {}
    for block in difflib.SequenceMatcher(None, wanted, got, autojunk=False).get_matching_blocks():
        matched.update({block.a + k: block.b + k for k in range(block.size)})
    for k, record in enumerate(records):
        if k in matched:
            c["title"] += 1
            c["text"] += squeeze(issue["articles"][matched[k]]["text"]) == squeeze(record["text"])
    c["collapsed"] += len(issue["articles"]) < 0.9 * len(records)
    return c


def parse_json(data: bytes, name: str) -> dict | None:
    from bulletin_bot.errors import ParseError
    from bulletin_bot.parsing import issue_to_json, parse_bytes

    try:
        return issue_to_json(parse_bytes(data, name))
    except ParseError:
        return None


# ------------------------------------------------------------------ a server without fonts


_KEPT: list = []


def hide_system_fonts(empty: Path) -> None:
    """Re-start pdfium in this process with `empty` as its only font folder: a machine with no
    fonts installed. pdfium scans its font folders itself (not through fontconfig), once, when
    the library starts; pypdfium2 starts it on import, so it is stopped and started again."""
    import ctypes

    import pypdfium2.raw as raw
    from pypdfium2 import _library_scope
    from pypdfium2.internal import bases

    empty.mkdir(parents=True, exist_ok=True)
    _library_scope.destroy_lib()
    paths = (ctypes.c_char_p * 2)(str(empty).encode(), None)
    config = raw.FPDF_LIBRARY_CONFIG(version=2, m_pUserFontPaths=ctypes.cast(paths, ctypes.POINTER(ctypes.POINTER(ctypes.c_char))), m_pIsolate=None, m_v8EmbedderSlot=0)
    raw.FPDF_InitLibraryWithConfig(config)
    bases.LIBRARY_AVAILABLE = True
    _KEPT[:] = [paths, config]  # pdfium keeps the pointer to the folder list, not a copy
    from bulletin_bot.readers import fallback_font

    fallback_font.install()  # the reader gives every new library its fallback font


def parse_without_fonts(files: dict[str, bytes], workdir: Path) -> dict[str, dict | None]:
    """Each PDF parsed (`issue_to_json`) in a child process whose pdfium has no system fonts."""
    workdir.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (workdir / name).write_bytes(data)
    src = Path(__file__).resolve().parents[1] / "src"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(src), str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")]))
    out = subprocess.run([sys.executable, "-m", "pdf_layouts", str(workdir), *files], env=env, capture_output=True,
                         text=True, check=True, timeout=600)
    return json.loads(out.stdout)


def _child(argv: list[str]) -> None:
    workdir = Path(argv[0])
    hide_system_fonts(workdir / "no-fonts")
    result = {name: parse_json((workdir / name).read_bytes(), name) for name in argv[1:]}
    json.dump(result, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    _child(sys.argv[1:])
