"""Coverage-guided fuzzing of `parse_bytes` on .txt, .docx and .pdf with atheris (libFuzzer).

    python benchmarks/fuzz_parse.py --seconds 600 --out /tmp/fuzz-parse     # make fuzz

The first byte of each input picks what the rest is: a .txt file, a .docx file, a .pdf file, or
the `word/document.xml` of an otherwise valid .docx (so the XML handling is reached without
the fuzzer having to forge zip checksums). Seeds are the shipped issue 455 as text, and Word
and PDF copies made at start (as tests/fixtures.py makes them).

Only the project's own errors (ParseError, BulletinError) may come out of `parse_bytes`. Any
other exception is a finding: the input is saved under OUT/findings/ (one file per distinct
exception type and place) and fuzzing goes on, so one run reports everything it found. An input
that takes longer than --timeout seconds, or more than --rss-mb of memory, is a finding of
libFuzzer's own (saved as OUT/timeout-* / OUT/oom-*, which ends the run).
At the end it prints executions, time, libFuzzer's coverage counters and the findings.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import logging
import os
import re
import sys
import time
import traceback
import zipfile
from pathlib import Path

import atheris

# the readers' own code is instrumented; PDFium (pypdfium2) and lxml are C and are not
with atheris.instrument_imports(include=["bulletin_bot"]):
    from bulletin_bot.errors import BulletinError, ParseError
    from bulletin_bot.parsing import parse_bytes

ROOT = Path(__file__).resolve().parents[1]
KINDS = (".txt", ".docx", ".pdf", "docxml")
DOCXML = "word/document.xml"

_template: bytes = b""
_findings: Path = Path()
_seen: dict[str, int] = {}
_runs = [0]


def _docx_with(xml: bytes) -> bytes:
    """The seed .docx with its main part replaced by `xml`."""
    src = zipfile.ZipFile(io.BytesIO(_template))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, xml if info.filename == DOCXML else src.read(info.filename))
    return out.getvalue()


def _where(exc: BaseException) -> str:
    """Exception type and the innermost frame, to tell distinct bugs apart."""
    frames = traceback.extract_tb(exc.__traceback__)
    last = frames[-1] if frames else None
    place = f"{Path(last.filename).name}:{last.lineno}" if last else "?"
    return f"{type(exc).__name__}@{place}"


def one_input(raw: bytes) -> None:
    if not raw:
        return
    kind = KINDS[raw[0] % len(KINDS)]
    data = raw[1:]
    suffix = kind
    if kind == "docxml":
        data, suffix = _docx_with(data), ".docx"
    _runs[0] += 1
    try:
        parse_bytes(data, f"fuzz{suffix}")
    except (ParseError, BulletinError):
        pass
    except RecursionError as exc:  # reported like any other escape, without a 1000-frame trace
        _record(raw, exc)
    except Exception as exc:  # noqa: BLE001 - anything else is exactly what we look for
        _record(raw, exc)


def _record(raw: bytes, exc: BaseException) -> None:
    key = _where(exc)
    _seen[key] = _seen.get(key, 0) + 1
    if _seen[key] > 1:
        return
    name = re.sub(r"[^\w.@-]+", "_", key) + "-" + hashlib.sha1(raw).hexdigest()[:10]
    (_findings / name).write_bytes(raw)
    (_findings / f"{name}.txt").write_text("".join(traceback.format_exception(exc))[-4000:], encoding="utf-8")
    print(f"\nFINDING {key}: {exc!r}"[:300], flush=True)


def _seeds(folder: Path) -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    from fixtures import docx_bytes, pdf_bytes, seed_text

    global _template
    text = seed_text()
    short = "\n".join(text.splitlines()[:40])  # a small seed mutates faster than the whole issue
    _template = docx_bytes(short)
    folder.mkdir(parents=True, exist_ok=True)
    seeds = {
        "txt-full": b"\x00" + text.encode("utf-8"),
        "txt-short": b"\x00" + short.encode("utf-8"),
        "txt-gb18030": b"\x00" + short.encode("gb18030"),
        "docx-short": b"\x01" + _template,
        "pdf-short": b"\x02" + pdf_bytes(short),
        "docxml-short": b"\x03" + zipfile.ZipFile(io.BytesIO(_template)).read(DOCXML),
    }
    for name, data in seeds.items():
        (folder / name).write_bytes(data)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=600, help="how long to fuzz (default 600)")
    parser.add_argument("--out", type=Path, default=Path("/tmp/fuzz-parse"), help="work folder (corpus, findings)")
    parser.add_argument("--timeout", type=int, default=10, help="seconds one input may take (libFuzzer -timeout)")
    parser.add_argument("--rss-mb", type=int, default=2048, help="memory limit (libFuzzer -rss_limit_mb)")
    parser.add_argument("--max-len", type=int, default=65536, help="longest input tried (libFuzzer -max_len)")
    parser.add_argument("--corpus", type=Path, nargs="*", default=[],
                        help="more input folders to start from (e.g. the corpus of an earlier run)")
    args = parser.parse_args()

    global _findings
    corpus, seeds = args.out / "corpus", args.out / "seeds"
    _findings = args.out / "findings"
    for folder in (corpus, _findings):
        folder.mkdir(parents=True, exist_ok=True)
    _seeds(seeds)
    started = time.monotonic()
    libfuzzer = [
        sys.argv[0], str(corpus), str(seeds), *map(str, args.corpus),
        f"-max_total_time={args.seconds}", f"-timeout={args.timeout}", f"-rss_limit_mb={args.rss_mb}",
        f"-max_len={args.max_len}", "-print_final_stats=1", f"-artifact_prefix={args.out}/",
    ]
    atheris.Setup(libfuzzer, one_input)
    try:
        atheris.Fuzz()
    finally:  # libFuzzer exits the process itself; this runs only if Fuzz() returns
        print(f"runs {_runs[0]} in {time.monotonic() - started:.0f} s; findings {_seen}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    logging.getLogger("pypdf").setLevel(logging.CRITICAL)  # its warnings on broken files flood the log
    sys.exit(main())
