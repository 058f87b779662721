"""Text -> Issue: masthead, contents, sections, articles, footer, page-break repair.

A bulletin file, whatever it was exported from (.txt, .docx, .pdf, .doc, .wps, .ofd; see
`readers`), reads as non-empty lines:

    <series>                       or   <series>（第N期）
    第 N 期                              <office>   YYYY年M月D日
    <office>
    YYYY 年 M 月 D 日
    【section】  - title  - title …     (contents; absent in some exports)
    【section】
    title
    paragraph …
    送：… / 发：… / <office>           (footer, never part of an article)

Only a line that is exactly `【…】` opens a section; a title may start with a bracketed tag.

The parts, each importing only the ones above it (never this package face):
    lines      the decoded lines, shared patterns, what a line looks like
    masthead   series, 第N期, office, date; a page's running header
    contents   the contents list, and how well body lines spell one of its titles
    repair     page-break repair: a line a page end cut off, joined back
    split      a section's lines -> articles, at the contents titles or by shape
    issue      parse_text / parse_bytes / read_issue: the parts put together
    views      an issue's label, JSON and outline
"""

from ..readers import SUPPORTED_SUFFIXES
from .issue import PARSER_VERSION, parse_bytes, parse_text, read_issue
from .lines import collapse, squeeze
from .repair import warm_up
from .views import format_outline, issue_label, issue_to_json

__all__ = [
    "PARSER_VERSION",
    "SUPPORTED_SUFFIXES",
    "collapse",
    "format_outline",
    "issue_label",
    "issue_to_json",
    "parse_bytes",
    "parse_text",
    "read_issue",
    "squeeze",
    "warm_up",
]
