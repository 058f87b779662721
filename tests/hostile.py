"""Hostile and broken files, made at test time (none is committed): each small on disk.

- `zip_bomb_docx`: a .docx whose document.xml inflates ~1000:1 to `megabytes` MB;
- `many_pages_pdf`: a valid PDF with thousands of pages (one shared, empty content stream);
- `deep_pdf`: a page tree nested thousands of levels deep (recursive readers overflow);
- `content_bomb_pdf`: one page whose content stream inflates to hundreds of MB of text operators
  (past every check a reader makes: only the sandbox's memory or time limit stops it);
- `encrypted_pdf`: the seed's PDF copy with a user password;
- `zeros` and `truncated`: what a failed copy leaves.
"""

from __future__ import annotations

import io
import zipfile
import zlib

from fixtures import docx_bytes, pdf_bytes


def zip_bomb_docx(text: str, megabytes: int = 1024) -> bytes:
    """A real .docx of `text` with a document.xml that unpacks to `megabytes` MB (mostly spaces)."""
    template = zipfile.ZipFile(io.BytesIO(docx_bytes(text)))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bomb:
        for info in template.infolist():
            if info.filename != "word/document.xml":
                bomb.writestr(info, template.read(info.filename))
                continue
            xml = template.read(info.filename)
            head, tail = xml.rsplit(b"</w:body>", 1)
            with bomb.open("word/document.xml", "w", force_zip64=True) as part:
                part.write(head)
                block = b" " * (1 << 20)
                for _ in range(megabytes):
                    part.write(block)
                part.write(b"</w:body>" + tail)
    return out.getvalue()


def _pdf(objects: list[bytes], root: int = 1) -> bytes:
    """A PDF of numbered objects (1-based) with a correct xref table."""
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n")
    offsets = []
    for n, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % n + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, root, xref))
    return out.getvalue()


def _stream(data: bytes, compress: bool = True) -> bytes:
    if compress:
        packed = zlib.compress(data, 9)
        return b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(packed) + packed + b"\nendstream"
    return b"<< /Length %d >>\nstream\n" % len(data) + data + b"\nendstream"


FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"


def many_pages_pdf(pages: int = 5000) -> bytes:
    """Objects: 1 catalog, 2 pages, 3 font, 4 content, 5.. the pages (all sharing one content stream)."""
    kids = b" ".join(b"%d 0 R" % (5 + i) for i in range(pages))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % pages,
        FONT,
        _stream(b"BT /F1 12 Tf 72 720 Td (page) Tj ET", compress=False),
    ]
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 3 0 R >> >> >>"
    objects += [page] * pages
    return _pdf(objects)


def deep_pdf(depth: int = 5000) -> bytes:
    """A page tree nested `depth` levels deep: 1 catalog, 2 font, 3 content, 4 page, 5.. Pages nodes."""
    objects = [b"<< /Type /Catalog /Pages 5 0 R >>", FONT,
               _stream(b"BT /F1 12 Tf 72 720 Td (deep) Tj ET", compress=False),
               b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] /Contents 3 0 R "
               b"/Resources << /Font << /F1 2 0 R >> >> >>" % (4 + depth)]
    for level in range(depth):
        n = 5 + level
        kid = n + 1 if level < depth - 1 else 4
        parent = b" /Parent %d 0 R" % (n - 1) if level else b""
        objects.append(b"<< /Type /Pages /Kids [%d 0 R] /Count 1%s >>" % (kid, parent))
    return _pdf(objects)


def content_bomb_pdf(megabytes: int = 400) -> bytes:
    """One page whose compressed content stream (a few hundred KB) holds `megabytes` MB of
    text-showing operators: every check passes, extracting its text is what costs."""
    line = b"BT /F1 12 Tf 72 720 Td (\xe7\xac\xac455\xe6\x9c\x9f) Tj ET\n"
    block = line * ((1 << 20) // len(line))
    packer = zlib.compressobj(9)
    packed = b"".join(packer.compress(block) for _ in range(megabytes)) + packer.flush()
    content = b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(packed) + packed + b"\nendstream"
    return _pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        content,
        FONT,
    ])


def encrypted_pdf(text: str) -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for page in PdfReader(io.BytesIO(pdf_bytes(text))).pages:
        writer.add_page(page)
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def zeros(size: int = 64 * 1024) -> bytes:
    return bytes(size)


def truncated(data: bytes) -> bytes:
    """About the first half (a copy that stopped), cut inside a character when the bytes are
    UTF-8 Chinese text."""
    cut = len(data) // 2
    for k in range(cut, min(cut + 4, len(data))):
        if (data[k] & 0xC0) == 0x80:  # a continuation byte: inside a multi-byte character
            return data[:k]
    return data[:cut]
