"""A section's lines -> articles: cut at the titles a contents list announces, or by shape.

With a contents list, the body titles are found by similarity to its entries (the body title, as
printed, is kept). Without one, a title is a headline-shaped line (short, no full stop, no
sentence comma) after a line that ends a sentence, unless it is a sub-heading of a digest
("…快讯（X等）" then "X") or a line a page end cut off (see `repair`).
"""

from __future__ import annotations

import re

from .contents import match_title, similar
from .lines import HEADING, Line, collapse, ends_sentence, squeeze, title_like
from .repair import closes, coverage, cut_here


def _run_on_titles(block: list[Line], titles: list[str]) -> list[Line]:
    """The block with each announced title that no line prints alone, but a line holds (at its
    start, or after a full stop), cut out of that line: a title set in the body's type that
    filled its printed line was run on into the paragraph under it, or a paragraph whose last
    line filled the column into the title (a layout cannot tell those from wrapped lines)."""
    lines = list(block)
    for title in titles:
        target = squeeze(title)
        if len(target) < 6 or any(squeeze(line.text) == target for line in lines):
            continue
        for k, line in enumerate(lines):
            text = squeeze(line.text)
            rest = target[len(text):]
            if len(text) >= 4 and rest and target.startswith(text) and k + 1 < len(lines):
                # the title's last line run into the paragraph: "…为强国建设民" / "族复兴…贡献在中国…"
                nxt = lines[k + 1]
                if squeeze(nxt.text).startswith(rest) and len(squeeze(nxt.text)) > len(rest):
                    cut = _after_chars(nxt.text, len(rest))
                    lines[k + 1 : k + 2] = [Line(nxt.text[:cut].strip(), nxt.number), Line(nxt.text[cut:].strip(), nxt.number)]
                    break
            head = text.find(target[:6])
            if head > 0 and ends_sentence(text[:head]) and target.startswith(text[head:]) and text[head:] != target:
                # a paragraph's full last line run into the first line of a title that goes on
                # in the next line ("…汇报会。大道众行远" / "携手启新程…"): cut the paragraph off
                start = _after_chars(line.text, head)
                lines[k : k + 1] = [Line(line.text[:start].strip(), line.number), Line(line.text[start:].strip(), line.number)]
                break
            at = text.find(target)
            if at < 0 or len(text) == len(target) or (at > 0 and not ends_sentence(text[:at])):
                continue
            start = _after_chars(line.text, at) if at else 0
            end = _after_chars(line.text, at + len(target))
            pieces = [line.text[:start], line.text[start:end], line.text[end:]]
            lines[k : k + 1] = [Line(piece.strip(), line.number) for piece in pieces if piece.strip()]
            break
    return lines


def _after_chars(text: str, count: int) -> int:
    """The index in `text` just after its first `count` non-space characters."""
    if count == 0:
        return 0
    seen = 0
    for k, ch in enumerate(text):
        if not ch.isspace():
            seen += 1
            if seen == count:
                return k + 1
    return len(text)


def split_with_titles(block: list[Line], titles: list[str], skip: bool = False) -> list[tuple[str, list[Line]]] | None:
    """Cut a section's lines at the titles the contents list announces; None when they are not
    all found. With `skip`, a title not found is passed over (its article stays in the one
    before) and the others still cut the section; None when fewer than half are found."""
    if not block:
        return None
    block = _run_on_titles(block, titles)
    starts: list[tuple[int, int]] = []
    kept: list[str] = []
    pos = 0
    for n, title in enumerate(titles):
        # The best match after the previous title; the first title opens the section.
        found, best = None, 0.6
        for j in range(pos, len(block) if n else min(pos + 1, len(block))):
            score, used = match_title(block, j, title)
            if score >= best + (1e-9 if found else 0):
                found, best = (j, used), score
                if score == 1.0:
                    break
        if found is None:
            if n == 0:
                found = (0, 1)
            elif skip:
                continue
            else:
                return None
        starts.append(found)
        kept.append(title)
        pos = found[0] + found[1]
    if 2 * len(starts) < len(titles):
        return None
    out = []
    for k, (begin, used) in enumerate(starts):
        stop = starts[k + 1][0] if k + 1 < len(starts) else len(block)
        title = collapse("".join(line.text for line in block[begin : begin + used]))
        out.append((_completed(title, kept[k]), block[begin + used : stop]))
    return out


def _completed(printed: str, announced: str) -> str:
    """The body's title, or the contents' when the body's lacks only its last character or
    two: a line of one glyph, in a font the PDF does not embed, is dropped by pdfium on a server
    with no font that can draw it ("…快" / "乐")."""
    a, b = squeeze(printed), squeeze(announced)
    return announced if b.startswith(a) and 0 < len(b) - len(a) <= 2 and len(a) >= 6 else printed


def _next_paragraph(block: list[Line], k: int) -> str:
    """The lines after `k` up to the end of the next sentence-ending line (a cut paragraph whole)."""
    out = ""
    for line in block[k + 1 : k + 4]:
        out += line.text
        if ends_sentence(line.text):
            break
    return out


def _following(block: list[Line], k: int, chars: int = 300) -> str:
    """The text of the lines after `k`, about `chars` long."""
    out = ""
    for line in block[k + 1 :]:
        out += line.text
        if len(out) >= chars:
            break
    return out


def _names_part(title: str, text: str) -> bool:
    """Is `text` one of the parts a title lists ("【代表风采】A：… B：…" names "A：…")?"""
    head, part = collapse(title), squeeze(text)
    if not part or part == squeeze(head):
        return False
    # spaces inside the part are not compared: a title broken by hand at a space and joined
    # again has lost it ("…执着前行" / "探索人类基因奥秘 赵亚夫：…")
    found = re.search(r"\s*".join(map(re.escape, part)), head)
    if found is None:
        return False
    before = head[found.start() - 1] if found.start() else " "
    after = head[found.end()] if found.end() < len(head) else " "
    return before in " 】]（(" and after in " ）)"


def _title_span(block: list[Line], k: int) -> int:
    """Lines the title at `k` takes: more than one when page ends cut it (the rest is title-shaped too)."""
    used = 1
    while used < 3 and k + used < len(block) and _title_continues(block, k, used):
        used += 1
    return used


def _title_continues(block: list[Line], k: int, used: int) -> bool:
    """Does the title made of lines k..k+used-1 go on in the next line?"""
    text = "".join(line.text for line in block[k : k + used])
    at = k + used
    nxt = block[at].text
    if not title_like(nxt) or HEADING.match(nxt) or not title_like(text + nxt) or squeeze(nxt) == squeeze(text):
        return False
    if cut_here(text, nxt, _next_paragraph(block, at - 1)) or closes(text, nxt):
        return True
    # Two headlines in a row, then a paragraph that restates the second: one title cut in two
    # (not a digest's first item, not the first words of a paragraph cut by a page end).
    third = block[at + 1].text if at + 1 < len(block) else ""
    if not third or title_like(third) or _opens_digest(text, nxt, third):
        return False
    following = _following(block, at)
    if len(squeeze(nxt)) <= 3:
        # a title's last word ("…梅里埃" / "夫妇"), if the lead repeats the phrase across the cut
        return squeeze(text)[-4:] + squeeze(nxt) in squeeze(following)
    restated = coverage(nxt, following) >= 0.5
    return not cut_here(nxt, third, _next_paragraph(block, at)) and (restated or len(squeeze(text)) <= 4)


_NAMED_ITEM = re.compile(r"[（(](.+?)等?[）)]?$")  # from the first bracket: "快讯（X等）"


def _opens_digest(title: str, first: str, nxt: str) -> bool:
    """Is the article a digest of headlined items? Its first line is a headline the title names
    ("国内联播快讯（X等）" then "X…", or "【…】A：… B：…" then "A：…").
    The digest's later headlines are its sub-headings, not new articles."""
    if not title_like(first) or cut_here(first, nxt) or HEADING.match(first):
        return False
    head, line = squeeze(title), squeeze(first)
    if line == head:
        return False  # the title printed twice
    if _names_part(title, first):
        return True
    named = _NAMED_ITEM.search(head)
    if named and len(named.group(1)) >= 4:
        item = named.group(1)
        return line.startswith(item) or item.startswith(line) or similar(item, line[: len(item)]) >= 0.8
    return False


def titles_in(block: list[Line], pool: list[str]) -> list[str]:
    """The leading titles of `pool` that appear in this block in order, the first one opening it."""
    taken: list[str] = []
    pos = 0
    for n, title in enumerate(pool):
        stop = min(pos + 1, len(block)) if n == 0 else len(block)
        found = next((j for j in range(pos, stop) if match_title(block, j, title)[0] >= 0.6), None)
        if found is None:
            break
        taken.append(title)
        pos = found + 1
    return taken


def split_by_shape(block: list[Line]) -> list[tuple[str, list[Line]]]:
    """Cut a section's lines into articles when no contents list names the titles.

    The first line (or two, when a page end cut it) is a title. Later, a headline-shaped line
    after a line that ends a sentence opens a new article, unless it is a page end's cut (see
    `cut_here`) or a sub-heading of the current article: numbered (一、…), a part its title
    lists ("A：… B：…"), or any headline of a digest (the title names its first item).
    """
    if not block:
        return []
    articles: list[tuple[str, list[Line]]] = []
    used = _title_span(block, 0)
    title = collapse("".join(line.text for line in block[:used]))
    body: list[Line] = []
    digest = False
    skip = used
    for k in range(1, len(block)):
        if k < skip:
            continue
        text = block[k].text
        prev = body[-1].text if body else None
        nxt = block[k + 1].text if k + 1 < len(block) else ""
        if (
            prev is not None
            and (ends_sentence(prev) or HEADING.match(prev))
            and title_like(text)
            and not HEADING.match(text)
            and not digest
            and not _names_part(title, text)
            and (not cut_here(text, nxt, _next_paragraph(block, k)) or _title_span(block, k) > 1)
        ):
            articles.append((title, body))
            used = _title_span(block, k)
            skip = k + used
            title, body, digest = collapse("".join(line.text for line in block[k : k + used])), [], False
            continue
        line = block[k]
        if not body:
            used = _title_span(block, k)  # the first item's headline may be cut by a page end too
            first = "".join(other.text for other in block[k : k + used])
            after = block[k + used].text if k + used < len(block) else ""
            digest = _opens_digest(title, first, after)
        body.append(line)
    articles.append((title, body))
    return articles
