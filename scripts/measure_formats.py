"""How well each file format is read: shared issues converted to every format, parsed as
`bulletin-bot parse --json` does, scored against ../shared/corpus/xwlb/truth.jsonl.

    python scripts/measure_formats.py --sample dev            # the sample the readers were tuned on
    python scripts/measure_formats.py --sample final          # issues never looked at while tuning
    python scripts/measure_formats.py --sample final --ocr-issues 4 --ocr-pages 12

Each issue is rebuilt from its truth articles and its text export's masthead and footer
(tests/office_files.py): laid out like a Word-made bulletin and written as .docx (python-docx),
PDF (reportlab), PDF exported by LibreOffice from the .docx, Word 97 .doc (LibreOffice), .wps
(the same Word 97 binary under a .wps name, since no WPS writer exists here) and OFD (easyofd
from the reportlab PDF). The .txt row reads the shared text export itself. Formats whose writer
is not installed are skipped with a note. OCR: the first pages of the reportlab PDFs rendered
at 300 dpi and read by tesseract; character accuracy = 1 - edit distance / characters of the
page's text layer (whitespace ignored); plus whole issues scanned and parsed.

Samples (41-42 issues each): dev = issues with 第N期 ≡ 3 (mod 20), final ≡ 11, check ≡ 17,
fresh ≡ 7. The readers were tuned on dev. final was measured once, its misses read and one bug
fixed (a title holding a date taken for a masthead line); check was measured once after that,
its misses read and one more bug fixed (a contents entry wrapped over three lines); fresh was
measured once after both; its misses were read in turn and four more fixed (a line-end hyphen,
a number cut at a line end, a title's tag on a line of its own, LibreOffice's contents entries
that fill their line); last ≡ 13 was measured once after that, and is the figure to quote.
"""

from __future__ import annotations

import argparse
import collections
import difflib
import json
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

import office_files as of  # noqa: E402

from bulletin_bot.errors import ParseError  # noqa: E402
from bulletin_bot.parsing import issue_to_json, parse_bytes  # noqa: E402

XWLB = ROOT.parent / "shared" / "corpus" / "xwlb"
SAMPLES = {"dev": 3, "final": 11, "check": 17, "fresh": 7, "last": 13}
_WS = re.compile(r"\s+")


def squeeze(text: str) -> str:
    return _WS.sub("", text)


def load_truth() -> dict[int, list[dict]]:
    truth: dict[int, list[dict]] = collections.defaultdict(list)
    with open(XWLB / "truth.jsonl", encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            truth[record["issue"]].append(record)
    return truth


def bulletin_of(records: list[dict]) -> of.Bulletin:
    text = (XWLB / "issues" / records[0]["file"]).read_bytes()
    from bulletin_bot.readers import decode_text

    decoded, _ = decode_text(text, records[0]["file"])
    articles = [(r["section"], r["title"], r["text"].split("\n")) for r in records]
    return of.from_text_and_articles(decoded, articles, records[0]["issue"])


class Score:
    def __init__(self) -> None:
        self.c: collections.Counter = collections.Counter()
        self.problems: list[str] = []
        self.misses: list[str] = []
        self.seconds = 0.0

    def add(self, issue: dict | None, records: list[dict], name: str) -> None:
        self.c["issues"] += 1
        self.c["articles"] += len(records)
        if issue is None:
            return
        self.c["number"] += issue["issue"] == records[0]["issue"]
        self.c["date"] += issue["date"] == records[0]["date"]
        wanted = [squeeze(r["title"]) for r in records]
        got = [squeeze(a["title"]) for a in issue["articles"]]
        matched = {}
        for block in difflib.SequenceMatcher(None, wanted, got, autojunk=False).get_matching_blocks():
            matched.update({block.a + k: block.b + k for k in range(block.size)})
        for k, record in enumerate(records):
            if k not in matched:
                self.misses.append(f"{name}: title {record['title']}")
                continue
            article = issue["articles"][matched[k]]
            self.c["title"] += 1
            self.c["section"] += article["section"] == record["section"]
            same = squeeze(article["text"]) == squeeze(record["text"])
            self.c["text"] += same
            if not same:
                self.misses.append(f"{name}: text of {record['title']}")

    def row(self, label: str) -> str:
        c = self.c
        n, a = c["issues"] or 1, c["articles"] or 1
        numbers = f"{min(c['number'], c['date'])}/{c['issues']}"
        return (f"| {label} | {c['issues']} | {numbers} ({min(c['number'], c['date']) / n:.0%}) | {c['title'] / a:.2%} | "
                f"{c['section'] / a:.2%} | {c['text'] / a:.2%} | {len(self.problems)} | {self.seconds / n:.2f} s |")


def parse(data: bytes, name: str, score: Score, records: list[dict]) -> None:
    start = time.perf_counter()
    try:
        issue = issue_to_json(parse_bytes(data, name))
    except ParseError as exc:
        score.problems.append(str(exc))
        issue = None
    score.seconds += time.perf_counter() - start
    score.add(issue, records, name)


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance, one numpy row at a time."""
    import numpy as np

    if not a or not b:
        return len(a) or len(b)
    codes_b = np.frombuffer(b.encode("utf-32-le"), dtype=np.uint32)
    ramp = np.arange(len(b) + 1)
    prev = ramp.copy()
    for i, ch in enumerate(a, start=1):
        cost = (codes_b != ord(ch)).astype(np.int64)
        row = np.empty_like(prev)
        row[0] = i
        row[1:] = np.minimum(prev[1:] + 1, prev[:-1] + cost)
        row = np.minimum.accumulate(row - ramp) + ramp  # insertions along the row
        prev = row
    return int(prev[-1])


def page_texts(pdf: bytes, pages: int) -> list[str]:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(pdf)
    return [squeeze(document[i].get_textpage().get_text_range()) for i in range(min(pages, len(document)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sample", choices=sorted(SAMPLES), default="dev")
    parser.add_argument("--formats", default="txt,docx,pdf,pdf-lo,doc,wps,ofd",
                        help="comma-separated: txt, docx, pdf, pdf-lo, doc, wps, ofd, and ofd-lo (easyofd "
                             "converting LibreOffice's PDF; not in the default) (default: all but ofd-lo)")
    parser.add_argument("--limit", type=int, default=0, help="only the first N issues of the sample")
    parser.add_argument("--ocr-pages", type=int, default=0, help="OCR this many pages (2 per issue) for character accuracy")
    parser.add_argument("--ocr-issues", type=int, default=0, help="scan and parse this many whole issues by OCR")
    parser.add_argument("--ocr-engine", choices=["auto", "rapid", "tesseract"], default="auto",
                        help="which OCR engine (default: the one the reader picks, RapidOCR when installed)")
    parser.add_argument("-v", "--verbose", action="store_true", help="list every miss")
    args = parser.parse_args(argv)
    if not XWLB.is_dir():
        print(f"needs the shared corpus at {XWLB}", file=sys.stderr)
        return 2
    truth = load_truth()
    numbers = sorted(n for n in truth if n % 20 == SAMPLES[args.sample])
    if args.limit:
        numbers = numbers[: args.limit]
    formats = args.formats.split(",")
    scores = {name: Score() for name in formats}
    notes: list[str] = []
    built = time.perf_counter()
    bulletins = {n: bulletin_of(truth[n]) for n in numbers}
    pdfs = {n: of.to_pdf(b, "of" if n % 2 else "dash") for n, b in bulletins.items()}
    docxs = {n: of.to_docx(b, of.title_pages(pdfs[n], [t for _, t, _ in b.articles])) for n, b in bulletins.items()}
    converted: dict[str, dict[str, bytes]] = {}
    if {"pdf-lo", "doc", "wps", "ofd-lo"} & set(formats):
        if of.libreoffice_available():
            files = {f"{n}.docx": data for n, data in docxs.items()}
            for target in ("pdf", "doc"):
                converted[target] = of.libreoffice_convert(files, target)
        else:
            notes.append("LibreOffice is not installed: pdf-lo, doc, wps and ofd-lo skipped")
    ofds: dict[str, dict[int, bytes]] = {}
    if {"ofd", "ofd-lo"} & set(formats):
        if of.ofd_available():
            if "ofd" in formats:
                ofds["ofd"] = {n: of.to_ofd(pdfs[n]) for n in numbers}
            if "ofd-lo" in formats and "pdf" in converted:
                ofds["ofd-lo"] = {n: of.to_ofd(converted["pdf"][f"{n}.docx"]) for n in numbers}
        else:
            notes.append("easyofd is not installed: ofd and ofd-lo skipped")
    print(f"{len(numbers)} issues of the {args.sample} sample written in {time.perf_counter() - built:.0f} s", file=sys.stderr)

    for n in numbers:
        records = truth[n]
        for name in formats:
            if name == "txt":
                data, file = (XWLB / "issues" / records[0]["file"]).read_bytes(), records[0]["file"]
            elif name == "docx":
                data, file = docxs[n], f"{n}.docx"
            elif name == "pdf":
                data, file = pdfs[n], f"{n}.pdf"
            elif name == "pdf-lo" and "pdf" in converted:
                data, file = converted["pdf"][f"{n}.docx"], f"{n}-lo.pdf"
            elif name in ("doc", "wps") and "doc" in converted:
                data, file = converted["doc"][f"{n}.docx"], f"{n}.{name}"
            elif name in ofds:
                data, file = ofds[name][n], f"{n}{name[3:]}.ofd"
            else:
                continue
            parse(data, file, scores[name], records)

    print(f"\nsample: {args.sample} (第N期 ≡ {SAMPLES[args.sample]} mod 20), {len(numbers)} issues, "
          f"{sum(len(truth[n]) for n in numbers)} articles\n")
    print("| format | issues | number and date | titles | sections | article texts exact | files refused | parse time per issue |")
    print("|---|---|---|---|---|---|---|---|")
    for name in formats:
        if scores[name].c["issues"]:
            print(scores[name].row(name))
    for note in notes:
        print(f"\nnote: {note}")
    for name in formats:
        for problem in scores[name].problems[:5]:
            print(f"refused ({name}): {problem}")
        shown = scores[name].misses if args.verbose else scores[name].misses[:3]
        for miss in shown:
            print(f"miss ({name}): {miss}")

    if args.ocr_engine != "auto":
        from bulletin_bot.readers import ocr, rapid, tesseract

        ocr._ENGINES = (rapid,) if args.ocr_engine == "rapid" else (tesseract,)
    if args.ocr_pages or args.ocr_issues:
        ocr_report(numbers, pdfs, truth, args.ocr_pages, args.ocr_issues)
    return 0


def ocr_report(numbers: list[int], pdfs: dict[int, bytes], truth, pages: int, issues: int) -> None:
    """Character accuracy of OCR: the first two pages of each issue scanned at 300 dpi (rendered
    to a grayscale image and put back in a PDF with no text layer), read the way the PDF reader
    reads a scan, against the same page's text layer; both read top to bottom, line by line,
    whitespace and dotted leaders left out. Then whole scanned issues, parsed."""
    import pypdfium2 as pdfium

    from bulletin_bot.readers import ocr_status
    from bulletin_bot.readers.layout import Page, page_lines
    from bulletin_bot.readers import ocr
    from bulletin_bot.readers.pdf import glyphs, ocr_page

    status = ocr_status()
    print(f"\nOCR: {status.detail}")
    if not status.available:
        return
    errors = chars = done = 0
    seconds = 0.0
    for n in numbers:
        if done >= pages:
            break
        document = pdfium.PdfDocument(pdfs[n])
        scan = pdfium.PdfDocument(of.to_scan(pdfs[n], 300, 2))
        for index in range(min(2, len(scan))):
            if done >= pages:
                break
            page, scanned = document[index], scan[index]
            width, height = page.get_size()
            want = _letters(page_lines(Page(width, height, tuple(glyphs(page, height))), 0))
            start = time.perf_counter()
            pieces = ocr_page(scanned, f"{n}.pdf")
            seconds += time.perf_counter() - start
            got = _letters(page_lines(Page(width, height, tuple(pieces)), 0))
            errors += edit_distance(got, want)
            chars += len(want)
            done += 1
    if chars:
        print(f"character accuracy, pages scanned at 300 dpi (OCR at {ocr.dpi()} dpi): {1 - errors / chars:.2%} over "
              f"{done} pages ({chars} characters, {errors} edits); OCR {seconds / done:.1f} s per page")
    if issues:
        whole = Score()
        for n in numbers[:issues]:
            parse(of.to_scan(pdfs[n], 300), f"{n}-scan.pdf", whole, truth[n])
        print("\n| format | issues | number and date | titles | sections | article texts exact | files refused | parse time per issue |")
        print("|---|---|---|---|---|---|---|---|")
        print(whole.row("scanned PDF (OCR)"))
        for problem in whole.problems:
            print(f"refused (ocr): {problem}")
        for miss in whole.misses[:10]:
            print(f"miss (ocr): {miss}")


_LEADER_DOTS = re.compile(r"[.．·…⋯]{2,}")


def _letters(lines) -> str:
    return squeeze(_LEADER_DOTS.sub("", "".join(line.text for line in lines)))


if __name__ == "__main__":
    sys.exit(main())
