"""The PDF reader on layouts it was not written for (tests/pdf_layouts.py): the seed issue (and a
few shared issues, when ../shared is there) printed in seeded random layouts, read on this
machine's fonts and by a pdfium that sees no font at all, must come back as the same articles.

A larger run, by layout feature, is scripts/fuzz_pdf_layouts.py (docs/FORMATS.md).
"""

from __future__ import annotations

import collections
import json
from pathlib import Path

import pytest

import office_files as of
import pdf_layouts as pl
from bulletin_bot.parsing import issue_to_json, read_issue

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "corpus" / "455.txt"
XWLB = ROOT.parent / "shared" / "corpus" / "xwlb"
# Seeds the reader was tuned on (the fresh ones are measured by the script, once); shared issues
# with the seeds of layouts that once read them wrong: the tuning sample (≡ 1 mod 13), and two
# of the held-out sample (≡ 7) whose misses were read after it was measured.
SEEDS = (3, 4, 11, 18, 21, 26)
SHARED = {105: (4, 21), 391: (11, 26), 742: (3, 18), 508: (66,), 690: (21,), 384: (1028,), 215: (1047,)}
SHARED_ISSUES = tuple(SHARED)


def _records(issue_json: dict) -> list[dict]:
    return [{"issue": issue_json["issue"], "date": issue_json["date"], "title": a["title"], "text": a["text"]}
            for a in issue_json["articles"]]


def _cases() -> list[tuple[str, of.Bulletin, list[dict]]]:
    seed = read_issue(SEED)
    cases = [("seed", of.from_issue(seed, SEED.read_text(encoding="utf-8")), _records(issue_to_json(seed)))]
    if XWLB.is_dir():
        truth: dict[int, list[dict]] = collections.defaultdict(list)
        for line in (XWLB / "truth.jsonl").read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            if record["issue"] in SHARED_ISSUES:
                truth[record["issue"]].append(record)
        from bulletin_bot.readers import decode_text

        for n in SHARED_ISSUES:
            records = truth[n]
            text, _ = decode_text((XWLB / "issues" / records[0]["file"]).read_bytes(), records[0]["file"])
            articles = [(r["section"], r["title"], r["text"].split("\n")) for r in records]
            cases.append((str(n), of.from_text_and_articles(text, articles, n), records))
    return cases


@pytest.fixture(scope="module")
def printed(tmp_path_factory):
    """{file name: (records, PDF)}: each case printed in two of the seeds' layouts."""
    files = {}
    for name, bulletin, records in _cases():
        for seed in (SEEDS if name == "seed" else SHARED[int(name)]):
            files[f"{name}-s{seed}.pdf"] = (records, pl.render(bulletin, pl.draw_layout(seed)))
    return files


def _check(parsed: dict[str, dict | None], printed, titles: float = 0.99, texts: float = 0.97) -> None:
    total: collections.Counter = collections.Counter()
    for name, (records, _) in printed.items():
        c = pl.score(parsed[name], records)
        # what a user would see first: every article of the issue is there, none swallowed
        assert c["found"] >= 0.9 * c["articles"], f"{name}: {c['found']} articles read of {c['articles']}"
        assert c["number_date"], f"{name}: issue number or date wrong"
        total += c
    assert total["title"] / total["articles"] >= titles, total
    assert total["text"] / total["articles"] >= texts, total


def test_random_layouts_read_as_the_same_articles(printed):
    _check({name: pl.parse_json(data, name) for name, (_, data) in printed.items()}, printed)


def test_random_layouts_read_alike_on_a_server_without_fonts(printed, tmp_path):
    parsed = pl.parse_without_fonts({name: data for name, (_, data) in printed.items()}, tmp_path)
    # pdfium drops a text object of one glyph that no font on the machine can draw (a title's last
    # character alone on its line): the reader gives pdfium a fallback font (readers/fallback_font.py)
    _check(parsed, printed)


@pytest.mark.skipif(not XWLB.is_dir(), reason=f"needs the shared corpus at {XWLB} (absent in a bare clone)")
def test_docx_with_a_bulleted_contents_reads_as_its_text_export():
    """Word draws a list's bullets itself, so its contents entries carry no "- " in their text."""
    import io

    import docx

    from bulletin_bot.readers import decode_text

    records = [json.loads(line) for line in (XWLB / "truth.jsonl").read_text(encoding="utf-8").splitlines()]
    records = [r for r in records if r["issue"] == 300]  # its bare list read as one with six extra articles
    raw = (XWLB / "issues" / records[0]["file"]).read_bytes()
    text, _ = decode_text(raw, records[0]["file"])
    document = docx.Document()
    for line in text.splitlines():
        if line.strip().startswith("- "):
            document.add_paragraph(line.strip()[2:], style="List Bullet")
        elif line.strip():
            document.add_paragraph(line.strip())
    buf = io.BytesIO()
    document.save(buf)
    assert pl.score(pl.parse_json(buf.getvalue(), "300.docx"), records) == pl.score(pl.parse_json(raw, "300.txt"), records)
