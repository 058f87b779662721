"""OCR engine: Debian's tesseract (`tesseract-ocr` + `tesseract-ocr-chi-sim`), used when
RapidOCR is not installed (see `ocr`).

A page image goes to the `tesseract` command as a PGM file; its TSV output gives each
recognised word with its box, and the words become `layout` pieces.
"""

from __future__ import annotations

import csv
import functools
import io
import os
import re
import shutil
import subprocess
import tempfile

from .base import ParseError
from .layout import Piece
from .ocr_text import chinese_punctuation

LANGUAGE = "chi_sim"
# A scanned page goes to tesseract at 200 dpi, however finely it was scanned: its Chinese
# model reads 三号 body text best near that size (10 dev-sample pages scanned at 300 dpi, passed
# at 125/150/175/200/250/300 dpi: 95.0/95.6/93.4/97.2/94.9/93.1% of characters right).
DPI = 200
PAGE_SECONDS = 180  # one page takes 5-20 s on two cores; more means tesseract is stuck
# tesseract separates every Chinese character, and digits from characters ("12 月 4 日");
# only a space between two Latin words is text
_CJK_GAP = re.compile(r"(?<=[^\x00-\x7f]) +|(?<=[0-9A-Za-z]) +(?=[^\x00-\x7f])")


@functools.lru_cache(maxsize=1)
def found() -> tuple[bool, str]:
    """(usable, what it is or what is missing): the tesseract command and its simplified-Chinese model."""
    binary = shutil.which("tesseract")
    if binary is None:
        return False, "no tesseract command (apt-get install tesseract-ocr tesseract-ocr-chi-sim)"
    try:
        version = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=20)
        langs = subprocess.run([binary, "--list-langs"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError) as exc:
        return False, f"tesseract does not run ({exc})"
    first = (version.stdout or version.stderr).strip().splitlines()
    name = first[0] if first else "tesseract"
    if LANGUAGE not in (langs.stdout + langs.stderr).split():
        return False, f"{name} has no {LANGUAGE} model (apt-get install tesseract-ocr-chi-sim)"
    return True, f"{name}, {LANGUAGE}"


def read_image(gray: bytes, width: int, height: int, stride: int, dpi: int, file: str) -> list[Piece]:
    """Lines of a grayscale page image (one byte a pixel, rows `stride` bytes apart) as layout pieces."""
    rows = b"".join(gray[row * stride : row * stride + width] for row in range(height)) if stride != width else gray
    header = f"P5\n{width} {height}\n255\n".encode("ascii")
    with tempfile.TemporaryDirectory(prefix="bulletin-ocr-") as folder:
        image = os.path.join(folder, "page.pgm")
        with open(image, "wb") as handle:
            handle.write(header + rows)
        try:
            done = subprocess.run(
                ["tesseract", image, "stdout", "-l", LANGUAGE, "--dpi", str(dpi), "--psm", "3", "tsv"],
                capture_output=True, timeout=PAGE_SECONDS, env={**os.environ, "OMP_THREAD_LIMIT": "1"},
            )
        except subprocess.TimeoutExpired:
            raise ParseError(file, f"OCR gave up on a scanned page after {PAGE_SECONDS} s") from None
        except OSError as exc:
            raise ParseError(file, f"OCR failed to start: {exc}") from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", errors="replace").strip().splitlines()
        raise ParseError(file, f"OCR failed on a scanned page: {message[-1] if message else done.returncode}")
    return _pieces(done.stdout.decode("utf-8", errors="replace"), 72.0 / dpi)


def _pieces(tsv: str, scale: float) -> list[Piece]:
    """One piece per recognised line: its words joined (no spaces between Chinese characters),
    the baseline at the box's foot, the size from the height of its characters. A "word" far
    flatter than the text and wide is a dotted leader, which tesseract reads as letters
    ("eeesese"): it becomes "……", so the contents line is read as one."""
    lines: dict[tuple[str, str, str, str], list[dict]] = {}
    for row in csv.DictReader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE):
        if row.get("level") != "5" or not (row.get("text") or "").strip():
            continue
        try:
            if float(row.get("conf") or -1) < 0:
                continue
        except ValueError:
            continue
        key = (row["page_num"], row["block_num"], row["par_num"], row["line_num"])
        lines.setdefault(key, []).append(row)
    all_heights = sorted(int(word["height"]) for words in lines.values() for word in words)
    typical = all_heights[len(all_heights) // 2] if all_heights else 0
    pieces = []
    for words in lines.values():
        for word in words:
            if int(word["height"]) < 0.3 * typical and int(word["width"]) > 1.5 * typical:
                word["text"] = "……"
        words = [word for word in words if int(word["height"]) >= 0.3 * typical or word["text"] == "……"]
        if not words:
            continue
        text = " ".join(word["text"].strip() for word in words)
        text = chinese_punctuation(_CJK_GAP.sub("", text))
        left = min(int(word["left"]) for word in words)
        right = max(int(word["left"]) + int(word["width"]) for word in words)
        bottom = max(int(word["top"]) + int(word["height"]) for word in words)
        heights = sorted(int(word["height"]) for word in words if not word["text"].strip().isascii() and word["text"] != "……")
        height = heights[len(heights) // 2] if heights else max(int(word["height"]) for word in words)
        # a Chinese character's ink is about 0.9 of its em
        pieces.append(Piece(text, left * scale, right * scale, bottom * scale, round(height * scale / 0.9, 1)))
    return pieces
