"""Numbers typed by users (ids, issue numbers, pages, offsets, highlight ranges) read as input.

`'²'.isdigit()` is true and `int()` of it fails; a 5,000-digit string passes Python's int limit;
a 20-digit issue number overflows SQLite. So a typed number is accepted only when every
character is a decimal digit (`isdecimal`), it has at most `MAX_DIGITS` of them, and it lies in
the range asked for; anything else is None, which each front end turns into a plain
"no such thing" (404 on the web), never an error.
"""

from __future__ import annotations

import re

MAX_DIGITS = 9  # every id, issue number, page and text offset here is far below 10**9

# the first run of ASCII digits in a command's argument ("/issue 455", "目录 455")
_DIGITS = re.compile(r"[0-9]+")


def parse_number(text: str | None, low: int = 0, high: int = 10**MAX_DIGITS - 1,
                 max_digits: int = MAX_DIGITS) -> int | None:
    """`text` as an int in [low, high], or None when it is not a plain, short decimal number."""
    text = (text or "").strip()
    if not text or len(text) > max_digits or not text.isdecimal():
        return None
    value = int(text)
    return value if low <= value <= high else None


def number_in(text: str | None) -> tuple[bool, int | None]:
    """(whether `text` holds digits at all, the first of them as a number or None when too long)."""
    match = _DIGITS.search(text or "")
    if match is None:
        return False, None
    return True, parse_number(match.group())
