"""Write src/bulletin_bot/data/fallback-box.ttf: the font pdfium is given when a PDF's font is not
embedded and the machine has no font for its characters (readers/fallback_font.py).

Every glyph is a box (Latin and symbols half an em, CJK a full em): the reader never draws with
it, it only needs glyphs with a box, since pdfium drops a text object whose glyphs have none.

    python scripts/make_fallback_font.py    # needs fontTools (a dependency of matplotlib)
"""

from __future__ import annotations

import io
from pathlib import Path

from fontTools.fontBuilder import FontBuilder
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib.tables._c_m_a_p import CmapSubtable

OUT = Path(__file__).resolve().parents[1] / "src" / "bulletin_bot" / "data" / "fallback-box.ttf"
# CJK symbols and punctuation, radicals to unified ideographs, compatibility ideographs, vertical
# and small forms, full-width forms, extension B onwards
WIDE = [(0x2000, 0x2BFF), (0x2E80, 0x9FFF), (0xAC00, 0xD7AF), (0xF900, 0xFAFF), (0xFE10, 0xFE6F),
        (0xFF00, 0xFFEF), (0x20000, 0x2FA1F)]


def box(width: int):
    pen = TTGlyphPen(None)
    pen.moveTo((50, -100))
    pen.lineTo((50, 800))
    pen.lineTo((width - 50, 800))
    pen.lineTo((width - 50, -100))
    pen.closePath()
    return pen.glyph()


def build() -> bytes:
    builder = FontBuilder(1000, isTTF=True)
    builder.setupGlyphOrder([".notdef", "box", "half"])
    builder.setupCharacterMap({0x4E00: "box"})
    builder.setupGlyf({".notdef": box(500), "box": box(1000), "half": box(500)})
    builder.setupHorizontalMetrics({".notdef": (500, 50), "box": (1000, 50), "half": (500, 50)})
    builder.setupHorizontalHeader(ascent=880, descent=-120)
    builder.setupNameTable({"familyName": "BulletinFallback", "styleName": "Regular"})
    # code pages: Latin 1, Japanese, simplified and traditional Chinese, Korean
    builder.setupOS2(sTypoAscender=880, sTypoDescender=-120, usWinAscent=880, usWinDescent=120,
                     ulCodePageRange1=1 | (1 << 17) | (1 << 18) | (1 << 19) | (1 << 20) | (1 << 21))
    builder.setupPost()
    font = builder.font
    # one format-13 table maps whole ranges to one glyph: the file stays under a kilobyte
    ranges = CmapSubtable.newSubtable(13)
    ranges.platformID, ranges.platEncID, ranges.language = 3, 10, 0
    ranges.cmap = {code: "half" for code in range(0x21, 0x2000)}
    ranges.cmap.update({code: "box" for low, high in WIDE for code in range(low, high + 1)})
    font["cmap"].tables.append(ranges)
    buf = io.BytesIO()
    font.save(buf)
    return buf.getvalue()


if __name__ == "__main__":
    OUT.write_bytes(build())
    print(f"{OUT}: {OUT.stat().st_size} bytes")
