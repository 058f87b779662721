"""Whether an issue's articles look wrongly read, and why: a parse that degraded is said so.

A file can parse without error and still be read wrong: a layout the readers do not know joins
titles to paragraphs, or swallows several articles into one. The signs are in the parse itself:
the contents list announces more articles than were found, or one article holds most of the
issue's text. Such an issue is indexed (what was read is still searchable) and reported, by
name and reason, by `parse`, `index` and `index --status`.
"""

from __future__ import annotations

from ..models import Article
from .contents import similar
from .lines import squeeze

# Shares of the contents, and of the text, past which an issue is reported.
FOUND_SHARE = 0.9  # found fewer than 90% of the articles its contents lists
LARGEST_SHARE = 0.5  # one article of four or more holds more than half the text
UNMATCHED_SHARE = 0.2  # more than 20% of its contents titles match no article title


def suspect_reasons(articles: tuple[Article, ...], contents: list[str]) -> tuple[str, ...]:
    """Why these articles look wrongly read (empty when they look right); `contents` are the
    titles the issue's contents list announces (none when it has no list)."""
    reasons: list[str] = []
    if contents and len(articles) < FOUND_SHARE * len(contents):
        reasons.append(f"read as {len(articles)} articles, but its contents lists {len(contents)}")
    if contents:
        titles = [squeeze(article.title) for article in articles]
        unmatched = [title for title in contents
                     if not any(similar(title, found, floor=0.6) >= 0.6 for found in titles)]
        if len(unmatched) > UNMATCHED_SHARE * len(contents):
            reasons.append(f"{len(unmatched)} of its {len(contents)} contents titles match no article "
                           f"(first: {unmatched[0][:30]})")
    sizes = [len(squeeze(article.text)) for article in articles]
    expected = max(len(articles), len(contents))
    if expected >= 4 and sum(sizes) and max(sizes) > LARGEST_SHARE * sum(sizes):
        largest = articles[sizes.index(max(sizes))]
        reasons.append(f"one article ({largest.title[:30]}) holds {max(sizes) / sum(sizes):.0%} of the text")
    return tuple(reasons)
