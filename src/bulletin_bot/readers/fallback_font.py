"""A last font for pdfium, so that which fonts a server has does not decide what a PDF reads as.

A PDF may leave its Chinese font out (reportlab's CID fonts, some exporters' settings); pdfium
then draws it with an installed font that has the characters. On a server with none, pdfium
falls back to its own Latin fonts, every CJK glyph gets an empty box, and a text object of one
such glyph (a title's last character alone on its line, a `。`) is dropped from the text layer.
pdfium is therefore given its usual font lookup with one fallback: when that lookup finds no
font at all, a font of boxes (data/fallback-box.ttf, scripts/make_fallback_font.py). The text
comes from the PDF's own character maps; the boxes are never drawn for a reader.
"""

from __future__ import annotations

import ctypes
from importlib import resources

_FONT = resources.files("bulletin_bot").joinpath("data/fallback-box.ttf").read_bytes()
_HANDLE = ctypes.c_void_p(0x0B0B)  # ours; pdfium only passes it back
_CJK_CHARSETS = {128, 129, 134, 136}  # Shift-JIS, Hangul, GB2312, Big5 (Latin keeps pdfium's own fonts)
_installed: list = []  # the struct, its callbacks and the default lookup, kept alive


def ensure() -> None:
    """`install` once in this process (pdfium keeps the lookup until the library stops)."""
    if not _installed:
        install()


def install() -> None:
    """Give pdfium (already started) the font lookup with the fallback; once per library start."""
    import pypdfium2.raw as raw

    default = raw.FPDF_GetDefaultSystemFontInfo()
    if not default:
        return  # a platform without a default lookup: leave pdfium as it is
    base = default.contents
    info = raw.FPDF_SYSFONTINFO()
    kinds = dict(raw.FPDF_SYSFONTINFO._fields_)

    def release(this):
        raw.FPDF_FreeDefaultSystemFontInfo(default)

    def enum_fonts(this, mapper):
        base.EnumFonts(default, mapper)

    def map_font(this, weight, italic, charset, pitch, face, exact):
        found = base.MapFont(default, weight, italic, charset, pitch, face, exact)
        return found or (_HANDLE.value if charset in _CJK_CHARSETS else None)

    def get_font(this, face):
        return base.GetFont(default, face)

    def get_font_data(this, font, table, buffer, size):
        if font != _HANDLE.value:
            return base.GetFontData(default, font, table, buffer, size)
        if table != 0:
            return 0  # pdfium asks for the whole file (table 0); FreeType reads the tables
        if buffer and size >= len(_FONT):
            ctypes.memmove(buffer, _FONT, len(_FONT))
        return len(_FONT)

    def get_face_name(this, font, buffer, size):
        if font != _HANDLE.value:
            return base.GetFaceName(default, font, buffer, size)
        name = b"BulletinFallback\0"
        if buffer and size >= len(name):
            ctypes.memmove(buffer, name, len(name))
        return len(name)

    def get_charset(this, font):
        return 134 if font == _HANDLE.value else base.GetFontCharset(default, font)  # 134: GB2312

    def delete_font(this, font):
        if font != _HANDLE.value:
            base.DeleteFont(default, font)

    info.version = 1
    callbacks = {"Release": release, "EnumFonts": enum_fonts, "MapFont": map_font, "GetFont": get_font,
                 "GetFontData": get_font_data, "GetFaceName": get_face_name, "GetFontCharset": get_charset,
                 "DeleteFont": delete_font}
    made = {name: kinds[name](function) for name, function in callbacks.items()}
    for name, function in made.items():
        setattr(info, name, function)
    raw.FPDF_SetSystemFontInfo(ctypes.byref(info))
    _installed[:] = [info, made, default]
