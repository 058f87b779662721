"""Text, bytes or a file -> Issue: masthead, contents, sections, articles and footer put together."""

from __future__ import annotations

import re
from collections import defaultdict, deque
from pathlib import Path

from ..errors import ParseError
from ..models import Article, Issue
from ..readers import SUPPORTED_SUFFIXES, extract_text
from .contents import find_contents
from .lines import MAX_TITLE_CHARS, Line, ends_sentence, section_name, split_lines
from .masthead import find_masthead, running_header
from .repair import repair
from .split import split_by_shape, split_with_titles, titles_in
from .suspect import suspect_reasons

# Bump whenever a change in parsing/ or readers/ reads some file differently: an index built by
# another parser version is re-parsed in full on the next `bulletin-bot index`.
PARSER_VERSION = "2026-12-07.1"

_FOOTER = re.compile(
    r"^(?:(?:抄\s*送|报\s*送|分\s*送|送|发|报|印\s*发|抄\s*报|主\s*送|责任编辑|责\s*编|编\s*辑|审\s*核|审\s*稿|签\s*发|校\s*对|联系人|联系电话)\s*[：:]"
    r"|[（(]共印\s*\d+\s*份[）)]$)"
)


def footer_start(lines: list[Line], start: int) -> int:
    """Index of the first footer line (送：/发：… and what follows), or len(lines)."""
    last = None
    for i in range(len(lines) - 1, max(start, len(lines) - 12) - 1, -1):
        if _FOOTER.match(lines[i].text):
            last = i
            break
    if last is None:
        return len(lines)
    first = last
    while first - 1 >= start and _FOOTER.match(lines[first - 1].text):
        first -= 1
    if any(len(line.text) > 80 for line in lines[last + 1 :]):
        return len(lines)
    return first


def opens_section(name: str, body: list[Line], k: int, known: set[str]) -> bool:
    """A `【…】` line opens a section unless it is a title's bracketed tag cut off by a page end:
    with a contents list, sections are the ones it names; without, a section is followed by a title."""
    if known:
        return name in known
    nxt = body[k + 1].text if k + 1 < len(body) else ""
    sentence = "。" in nxt[:-1] or (ends_sentence(nxt) and len(nxt) > MAX_TITLE_CHARS)
    return not sentence


def parse_text(text: str, file: str, encoding: str = "utf-8") -> Issue:
    """Parse the decoded text of one bulletin."""
    lines = split_lines(text)
    if not lines:
        raise ParseError(file, "empty file: no text")
    head = find_masthead(lines, file)
    entries, body_start = find_contents(lines, head.end)
    footer_at = footer_start(lines, body_start)
    # a PDF export repeats the series name at the top of every page ("…工作简报 第455期"): a
    # running header, not text; left in, it would be joined into the sentence the page cut
    body = [line for line in lines[body_start:footer_at] if not running_header(line.text, head)]
    footer = tuple(line.text for line in lines[footer_at:])

    known = {section for section, _ in entries if section}
    blocks: list[tuple[str, list[Line]]] = []
    for k, line in enumerate(body):
        name = section_name(line.text)
        if name is not None and not opens_section(name, body, k, known):
            name = None
        if name is not None:
            blocks.append((name, []))
        elif blocks:
            blocks[-1][1].append(line)
        else:
            blocks.append(("", [line]))

    expected: dict[str, deque[list[str]]] = defaultdict(deque)
    if entries:
        grouped: list[tuple[str, list[str]]] = []
        for section, title in entries:
            if grouped and grouped[-1][0] == section:
                grouped[-1][1].append(title)
            else:
                grouped.append((section, [title]))
        for section, titles in grouped:
            expected[section].append(titles)

    # Titles a contents list gives without (matching) sections are looked for in any block, in order.
    pool = [title for section, titles in expected.items() if section not in {n for n, _ in blocks} for group in titles for title in group]
    articles: list[Article] = []
    sections: list[str] = []
    for name, block in blocks:
        if not block:
            continue
        split, titles = None, []
        if expected.get(name):
            titles = expected[name].popleft()
        elif pool:
            titles = titles_in(block, pool)
            del pool[: len(titles)]
        if titles:
            split = split_with_titles(block, titles)
        if split is None:
            split = split_by_shape(block)
            # degrade, never collapse: titles the contents announces that the body does not
            # print alike must not merge the articles after them into one
            if titles and len(split) < 0.9 * len(titles):
                split = split_with_titles(block, titles, skip=True) or split
        for title, paragraph_lines in split:
            if name not in sections:
                sections.append(name)
            articles.append(Article(name, title, repair(paragraph_lines), len(articles) + 1))
    if not articles:
        raise ParseError(file, f"no articles found in 第{head.number}期 (expected 【section】 lines followed by titles)")
    return Issue(
        file=file,
        series=head.series,
        number=head.number,
        date=head.date,
        office=head.office,
        sections=tuple(sections),
        articles=tuple(articles),
        footer=footer,
        encoding=encoding,
        volume=head.volume,
        warnings=suspect_reasons(tuple(articles), [title for _, title in entries]),
    )


def _unsupported(file: str, suffix: str) -> ParseError:
    hint = "; save it as .docx or .pdf" if suffix.lower() in (".rtf", ".odt", ".et", ".xls", ".xlsx") else ""
    return ParseError(file, f"unsupported file type {suffix or '(none)'!r} (supported: {', '.join(SUPPORTED_SUFFIXES)}{hint})")


def parse_bytes(data: bytes, file: str) -> Issue:
    """Parse one bulletin from its bytes; the name's suffix (and the content) decide the format."""
    suffix = Path(file).suffix.lower()
    if suffix and suffix not in SUPPORTED_SUFFIXES:
        raise _unsupported(file, suffix)
    text, encoding = extract_text(data, file)
    return parse_text(text, file, encoding)


def read_issue(path: Path, max_bytes: int | None = None) -> Issue:
    """Read and parse one bulletin file; raises ParseError naming the file and the reason."""
    path = Path(path)
    file = str(path)
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        raise _unsupported(file, path.suffix)
    try:
        size = path.stat().st_size
        if max_bytes is not None and size > max_bytes:
            raise ParseError(file, f"too large: {size} bytes, the limit is {max_bytes}")
        data = path.read_bytes()
    except OSError as exc:
        raise ParseError(file, f"cannot read: {exc.strerror or exc}") from None
    return parse_bytes(data, file)
