"""Issue #5, re-indexing that never loses the service, checked the way an admin would meet it.

A build is killed with SIGKILL at each stage and the old index must still answer, then the
next build must finish reusing what the killed one paid for; questions asked during a
re-index are all answered; a deleted issue is never quoted again; an unchanged corpus embeds
nothing; bad files are reported by name and the rest indexed; a damaged version is refused
for the previous good one; a second build waits or says why it cannot.

Kills need no hook in the product: a child Python process runs `build_index` with a progress
callback (or a wrapped `write_version` / `os.replace`) that SIGKILLs its own process. Every
corpus is a set of variants of corpus/455.txt, embedded with the tiny `HashEmbedder`.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bulletin_bot.config import Settings
from bulletin_bot.embedding import HashEmbedder
from bulletin_bot.errors import BulletinError
from bulletin_bot.indexer import EMBED_BATCH, BuildOptions, build_index
from bulletin_bot.service import BulletinService
from bulletin_bot.store import IndexPaths, build_lock

ROOT = Path(__file__).resolve().parents[1]
SOURCE = (ROOT / "corpus" / "455.txt").read_text(encoding="utf-8")
BASE = range(455, 459)  # the corpus the service starts with
NEW = range(459, 471)  # added later: enough distinct text for several embedding batches
QUESTION = "泗洪县打造洪轩理理论品牌"


def issue_text(number: int) -> str:
    """Issue 455 renumbered, every sentence marked with the number so no chunk repeats another issue's."""
    text = SOURCE.replace("第 455 期", f"第 {number} 期")
    return text.replace("。", f"（{number}）。")


def write_issues(corpus: Path, numbers) -> None:
    corpus.mkdir(parents=True, exist_ok=True)
    for n in numbers:
        (corpus / f"{n}.txt").write_text(issue_text(n), encoding="utf-8")


class CountingEmbedder(HashEmbedder):
    """The hash embedder (same model id, so the same cache keys) counting the passages it embeds."""

    def __init__(self) -> None:
        super().__init__()
        self.embedded = 0

    def embed_passages(self, texts, batch_size=64, progress=None):
        self.embedded += len(texts)
        return super().embed_passages(texts, batch_size, progress)


def options(tmp: Path, **kw) -> BuildOptions:
    return BuildOptions(corpus=tmp / "corpus", index=tmp / "index", model_name="hash", **kw)


def service_for(tmp: Path) -> BulletinService:
    return BulletinService(Settings(corpus=tmp / "corpus", index=tmp / "index", model="hash"), embedder=HashEmbedder())


def cited_issues(answer) -> set[int]:
    return {q.citation.issue for q in answer.results}


def not_indexed(answer, number: int) -> bool:
    """The answer says the index has no such issue, and quotes none of it."""
    said = answer.note + answer.reason
    return number not in cited_issues(answer) and f"索引中没有第{number}期的简报" in said


def version_dirs(tmp: Path) -> list[str]:
    return sorted(p.name for p in (tmp / "index" / "versions").iterdir())


def cli(tmp: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """`bulletin-bot ...` in its own process, run from `tmp` so no settings file of the repo applies."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BULLETIN_BOT_")}
    return subprocess.run(
        [sys.executable, "-m", "bulletin_bot.cli", *args], cwd=tmp, env=env,
        capture_output=True, text=True, timeout=timeout,
    )


def index_args(tmp: Path) -> list[str]:
    return ["--corpus", str(tmp / "corpus"), "--index", str(tmp / "index"), "--model", "hash"]


@pytest.fixture(scope="module")
def base_template(tmp_path_factory) -> Path:
    """Issues 455-458 indexed once; each test gets its own copy (index, cache and all)."""
    tmp = tmp_path_factory.mktemp("base")
    write_issues(tmp / "corpus", BASE)
    build_index(options(tmp), HashEmbedder())
    return tmp


@pytest.fixture
def base(base_template: Path, tmp_path: Path) -> Path:
    for name in ("corpus", "index"):
        shutil.copytree(base_template / name, tmp_path / name, symlinks=True)
    return tmp_path


# ---------------------------------------------------------------- SIGKILL at every stage

CHILD = r"""
import os, signal, sys
from pathlib import Path
from bulletin_bot import indexer, store
from bulletin_bot.embedding import HashEmbedder

corpus, index, point = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
print("pid:", os.getpid(), flush=True)

def die():
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)

def progress(p):
    if p.stage == "embed" and p.done == 0:
        print("to embed:", p.total, flush=True)
    if p.stage != point:
        return
    if point in ("parse", "tokens", "switch") or (point == "embed" and p.done >= indexer.EMBED_BATCH):
        die()

if point == "write":  # half way through writing the new version's files
    real_write = store.write_version
    indexer.write_version = lambda paths, data: real_write(paths, data, on_step=lambda step: step == "faiss" and die())
if point == "link":  # new link made, not yet renamed over `current`
    real_replace = os.replace
    def replace(src, dst, *a, **kw):
        if Path(dst).name == "current":
            die()
        return real_replace(src, dst, *a, **kw)
    os.replace = replace

embedder = HashEmbedder()
embedder.cheap = False  # the transformer-sized batch: several batches in this small corpus
assert indexer.embed_batch_size(embedder) == indexer.EMBED_BATCH
indexer.build_index(indexer.BuildOptions(corpus, index, "hash"), embedder, progress)
print("finished", flush=True)
"""


@pytest.mark.parametrize("point", ["parse", "tokens", "embed", "write", "switch", "link"])
def test_killed_build_leaves_old_index_serving_and_next_build_completes(base: Path, point: str) -> None:
    paths = IndexPaths(base / "index")
    old_target = paths.current_target()
    service = service_for(base)
    assert cited_issues(service.ask(f"第455期 {QUESTION}")) == {455}

    write_issues(base / "corpus", NEW)
    (base / "corpus" / "458.txt").unlink()
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(base / "corpus"), str(base / "index"), point],
        capture_output=True, text=True, timeout=60,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    assert "finished" not in child.stdout
    # what the dead build left behind shows where it died
    left = [name for name in version_dirs(base) if name != old_target.name]
    if point == "write":
        assert len(left) == 1 and left[0].startswith(".tmp-")
    elif point in ("switch", "link"):  # complete, never switched in
        assert len(left) == 1 and (base / "index" / "versions" / left[0] / "manifest.json").is_file()
        assert bool(list((base / "index").glob(".current-*"))) == (point == "link")
    else:
        assert left == []

    # the old version still serves, to the running service and to a freshly started one
    assert paths.current_target() == old_target
    for svc in (service, service_for(base)):
        assert cited_issues(svc.ask(f"第458期 {QUESTION}")) == {458}
        unknown = svc.ask(f"第470期 {QUESTION}")
        assert not_indexed(unknown, 470)

    # the next build runs at once, though the lock file still names the dead build, and reuses its vectors
    assert paths.lock.read_text() == re.search(r"pid: (\d+)", child.stdout).group(1)
    embedder = CountingEmbedder()
    report = build_index(options(base), embedder)
    assert (report.added, report.removed, report.unchanged) == (len(NEW), 1, len(BASE) - 1)
    if point in ("parse", "tokens"):
        assert report.embedded > 3 * EMBED_BATCH
    elif point == "embed":  # the first batch was paid for by the dead build
        to_embed = int(re.search(r"to embed: (\d+)", child.stdout).group(1))
        assert report.embedded == to_embed - EMBED_BATCH
    else:  # every vector was computed and cached before the kill
        assert report.embedded == 0 and report.reused == report.chunks
    assert embedder.embedded == report.embedded
    assert not any(name.startswith(".tmp-") for name in version_dirs(base))
    assert not list((base / "index").glob(".current-*"))

    # the same running service now answers from the new version
    assert cited_issues(service.ask(f"第470期 {QUESTION}")) == {470}
    assert not_indexed(service.ask(f"第458期 {QUESTION}"), 458)


# ---------------------------------------------------------------- incremental


def test_unchanged_reindex_embeds_nothing_and_a_changed_file_only_its_own_text(tmp_path: Path) -> None:
    write_issues(tmp_path / "corpus", list(BASE) + list(NEW))
    embedder = CountingEmbedder()
    full = build_index(options(tmp_path), embedder)
    assert full.embedded == embedder.embedded > 0

    embedder.embedded = 0
    stages: list[str] = []
    again = build_index(options(tmp_path), embedder, lambda p: stages.append(p.stage))
    assert (again.added, again.changed, again.removed, again.unchanged) == (0, 0, 0, len(BASE) + len(NEW))
    assert again.embedded == embedder.embedded == 0
    assert again.version == full.version
    assert set(stages) == {"scan", "done"}  # nothing parsed, tokenised, embedded or written again

    # one article of one issue edited: only its changed chunks go to the model
    edited = (tmp_path / "corpus" / "460.txt")
    edited.write_text(issue_text(460).replace("建设“红书房”学习阵地42个", "建设“红书房”学习阵地57个"), encoding="utf-8")
    changed = build_index(options(tmp_path), embedder)
    assert (changed.added, changed.changed, changed.removed) == (0, 1, 0)
    assert 0 < changed.embedded == embedder.embedded < 5
    assert changed.reused == changed.chunks - changed.embedded
    answer = service_for(tmp_path).ask("第460期 红书房学习阵地建了多少个")
    assert any("学习阵地57个" in q.quote for q in answer.results)


def test_deleted_issue_is_never_quoted_again_by_a_running_service(base: Path) -> None:
    service = service_for(base)
    assert 457 in cited_issues(service.ask(QUESTION, top_k=10))

    (base / "corpus" / "457.txt").unlink()
    run = cli(base, "index", *index_args(base), "-q")  # another process, as an admin would run it
    assert run.returncode == 0, run.stderr
    assert "files: 0 added, 0 changed, 1 removed, 3 unchanged" in run.stdout

    assert 457 not in cited_issues(service.ask(QUESTION, top_k=10))
    assert not_indexed(service.ask(f"第457期 {QUESTION}"), 457)
    assert service.issue(457) == []
    assert {s.number for s in service.issues()} == {455, 456, 458}

    again = cli(base, "index", *index_args(base), "-q")
    assert again.returncode == 0, again.stderr
    assert "files: 0 added, 0 changed, 0 removed, 3 unchanged, 0 skipped" in again.stdout
    assert "vectors: 0 embedded, 0 from cache" in again.stdout
    assert ": nothing changed, 0 failed" in again.stdout


# ---------------------------------------------------------------- queries during a re-index


def test_questions_asked_during_a_reindex_are_all_answered(base: Path) -> None:
    service = service_for(base)
    service.ask(QUESTION)
    write_issues(base / "corpus", NEW)
    answers, errors = [], []
    stop = threading.Event()
    build_started = threading.Event()

    def asker() -> None:
        while not stop.is_set():
            for question in (QUESTION, f"第470期 {QUESTION}"):
                try:
                    answers.append((build_started.is_set(), question, service.ask(question)))
                except Exception as exc:  # any error is a question left unanswered
                    errors.append(exc)

    def progress(p) -> None:
        build_started.set()
        if p.stage in ("embed", "write", "switch"):  # let questions land in the middle of each stage
            seen = len(answers)
            deadline = time.monotonic() + 5
            while len(answers) < seen + 3 and time.monotonic() < deadline:
                time.sleep(0.01)

    threads = [threading.Thread(target=asker) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        report = service.reindex(progress=progress)
        after = len(answers)
        deadline = time.monotonic() + 5
        while len(answers) < after + 8 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert errors == []
    assert report.added == len(NEW)
    assert sum(started for started, _, _ in answers) >= 10
    for _, question, answer in answers:
        if question == QUESTION:
            assert answer.found and answer.results[0].citation.label().startswith("第")
        else:  # 第470期 is "not in the index" until the switch, then quoted; never an error
            assert cited_issues(answer) == {470} or not_indexed(answer, 470)
    about_470 = [470 in cited_issues(answer) for _, question, answer in answers if question != QUESTION]
    assert False in about_470 and True in about_470  # served from both sides of the switch


# ---------------------------------------------------------------- bad input


def bad_files(corpus: Path) -> dict[str, str]:
    """One file of each bad kind; the reason (a fragment) each must be reported with."""
    gb = issue_text(456).encode("gb18030")
    cut = len(gb) // 2
    while True:  # end on the first byte of a two-byte character
        try:
            gb[:cut].decode("gb18030")
        except UnicodeDecodeError:
            break
        cut += 1
    files = {
        "empty.txt": (b"", "empty file"),
        "binary.txt": (bytes(range(256)) * 40, "binary data"),
        "truncated-gb18030.txt": (gb[:cut], "truncated GB18030"),
        "mis-encoded.txt": (issue_text(457).encode("utf-8").decode("latin-1").encode("utf-8"), "no Chinese text"),
        "latin1.txt": ("Bulletin n\u00b0 459, r\u00e9sum\u00e9 des activit\u00e9s\n".encode("latin-1") * 20,
                       "not UTF-8 or GB18030"),
        "0455-copy.txt": (issue_text(455).replace("42个", "43个").encode("utf-8"), "duplicate of 455.txt"),
    }
    for name, (data, _) in files.items():
        (corpus / name).write_bytes(data)
    with open(corpus / "oversize.txt", "wb") as fh:  # sparse: 51 MB on paper, nothing on disk
        fh.truncate(51 * 1024 * 1024)
    return {**{name: reason for name, (_, reason) in files.items()}, "oversize.txt": "over the 50 MB limit"}


def test_each_bad_file_is_reported_by_name_and_the_rest_indexed(base: Path) -> None:
    expected = bad_files(base / "corpus")
    run = cli(base, "index", *index_args(base), "-q")
    assert run.returncode == 0, run.stderr
    skipped = dict(re.findall(r"^skipped (\S+): (.+)$", run.stderr, re.M))
    assert skipped.keys() == expected.keys()
    for name, reason in expected.items():
        assert reason in skipped[name], (name, skipped[name])
    assert f"{len(expected)} skipped" in run.stdout
    assert "index " in run.stdout and "4 issues" in run.stdout

    # the good issues all answer; 455 still from 455.txt, not from the later duplicate
    service = service_for(base)
    answer = service.ask("第455期 红书房学习阵地建了多少个")
    assert answer.found and {q.citation.file for q in answer.results} == {"455.txt"}
    assert {s.number for s in service.issues()} == set(BASE)

    status = cli(base, "index", "--status", "--index", str(base / "index"))
    assert status.returncode == 0, status.stderr
    assert re.search(r"^version:  \S+", status.stdout, re.M)
    assert re.search(r"^built:    \d{4}-\d\d-\d\dT", status.stdout, re.M)
    assert "model:    hash (hash-char12-64), 64 dims" in status.stdout
    assert "contents: 4 issues, 12 articles," in status.stdout
    assert f"files that failed last time ({len(expected)}):" in status.stdout
    for name in expected:
        assert f"  {name}: " in status.stdout



def test_a_corpus_of_only_bad_files_names_each_one_and_exits_1(tmp_path: Path) -> None:
    (tmp_path / "corpus").mkdir()
    expected = bad_files(tmp_path / "corpus")
    (tmp_path / "corpus" / "0455-copy.txt").unlink()  # a duplicate needs a good original
    del expected["0455-copy.txt"]
    run = cli(tmp_path, "index", *index_args(tmp_path), "-q")
    assert run.returncode == 1
    assert f"bulletin-bot: error: no issue in {tmp_path / 'corpus'} could be indexed; {len(expected)} file(s) refused:" in run.stderr
    for name, reason in expected.items():
        assert re.search(rf"^  {re.escape(name)}: .*{re.escape(reason)}", run.stderr, re.M), name
    assert not (tmp_path / "index" / "current").exists()


def test_strict_makes_any_bad_file_fatal_and_keeps_the_served_index(base: Path) -> None:
    (base / "corpus" / "empty.txt").write_bytes(b"")
    write_issues(base / "corpus", [470])
    before = IndexPaths(base / "index").current_target()
    service = service_for(base)
    with pytest.raises(BulletinError, match=r"--strict: 1 bad file\(s\), nothing changed; first: empty.txt: empty file"):
        service.reindex(strict=True)
    assert IndexPaths(base / "index").current_target() == before
    assert not_indexed(service.ask(f"第470期 {QUESTION}"), 470)


def test_strict_on_the_command_line(base: Path) -> None:
    (base / "corpus" / "empty.txt").write_bytes(b"")
    before = IndexPaths(base / "index").current_target()
    run = cli(base, "index", *index_args(base), "-q", "--strict")
    assert run.returncode == 1
    assert "bulletin-bot: error: --strict: 1 bad file(s), nothing changed; first: empty.txt: empty file" in run.stderr
    assert IndexPaths(base / "index").current_target() == before


def test_a_bad_file_added_alone_is_counted_and_shown_in_status(base: Path) -> None:
    with open(base / "corpus" / "huge.txt", "wb") as fh:
        fh.truncate(51 * 1024 * 1024)
    report = build_index(options(base), HashEmbedder())
    assert report.built and (report.added, report.failed) == (0, 1)  # counted once: as failed
    assert [p.file for p in report.problems] == ["huge.txt"]
    assert [p.file for p in service_for(base).stats().problems] == ["huge.txt"]
    again = build_index(options(base), HashEmbedder())
    assert (again.added, again.unchanged, again.failed, again.version) == (0, len(BASE), 1, report.version)


# ---------------------------------------------------------------- damaged versions


@pytest.mark.parametrize("damaged", ["dense.faiss", "docs.sqlite", "vectors.npy"])
def test_damaged_version_is_refused_for_the_previous_good_one(base: Path, damaged: str) -> None:
    good = IndexPaths(base / "index").current_target()
    write_issues(base / "corpus", [470])
    build_index(options(base), HashEmbedder())
    newest = IndexPaths(base / "index").current_target()
    path = newest / damaged
    with open(path, "r+b") as fh:
        fh.truncate(path.stat().st_size // 2)

    service = service_for(base)
    assert cited_issues(service.ask(f"第455期 {QUESTION}")) == {455}
    assert not_indexed(service.ask(f"第470期 {QUESTION}"), 470)
    assert any("index version refused" in w and damaged.split(".")[0] in w for w in service.warnings)
    assert f"using previous good index version {good.name}" in service.warnings
    assert service.stats().version == good.name

    # the next build notices the damage and rebuilds, even though no file changed
    embedder = CountingEmbedder()
    report = build_index(options(base), embedder)
    assert report.version != newest.name and embedder.embedded == 0
    assert cited_issues(service.ask(f"第470期 {QUESTION}")) == {470}


def test_no_good_version_at_all_is_a_clear_error(base: Path) -> None:
    current = IndexPaths(base / "index").current_target()
    (current / "dense.faiss").write_bytes(b"")
    run = cli(base, "ask", QUESTION, "--index", str(base / "index"), "--model", "hash")
    assert run.returncode == 1
    assert re.search(r"^bulletin-bot: error: .*damaged index file dense.faiss .*"
                     r"no earlier good version either: re-index with `bulletin-bot index`$", run.stderr, re.M)


# ---------------------------------------------------------------- one writer


def test_second_build_exits_with_a_clear_message_or_waits(base: Path) -> None:
    write_issues(base / "corpus", [470])
    paths = IndexPaths(base / "index")
    before = paths.current_target()
    with build_lock(paths):
        busy = cli(base, "index", *index_args(base), "-q")
    assert busy.returncode == 1
    assert f"bulletin-bot: error: another index build is running on {paths.root} (process {os.getpid()})" in busy.stderr
    assert "--wait" in busy.stderr

    held = threading.Event()
    release = threading.Event()

    def holder() -> None:
        with build_lock(paths):
            held.set()
            release.wait(10)

    t = threading.Thread(target=holder)
    t.start()
    held.wait(5)
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bulletin_bot.cli", "index", *index_args(base), "-q", "--wait", "30"],
        cwd=base, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    time.sleep(2)
    assert proc.poll() is None  # still waiting for the lock
    assert paths.current_target() == before
    release.set()
    t.join()
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert time.monotonic() - started >= 2
    assert "files: 1 added, 0 changed, 0 removed, 4 unchanged, 0 skipped" in out
    assert paths.current_target() != before


# ---------------------------------------------------------------- numbering within a year


def yearly(number: str, date: str) -> bytes:
    return SOURCE.replace("第 455 期", number).replace("2023 年 12 月 10 日", date).encode("utf-8")


def test_issues_numbered_within_each_year_survive_reindex_and_uploads(tmp_path):
    """2023年第12期 and 2024年第12期 are two issues: both indexed, on the first build and on an
    incremental one that reuses them; a second copy of either is refused at upload."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_bytes(yearly("2023年第12期", "2023 年 12 月 10 日"))
    (corpus / "b.txt").write_bytes(yearly("2024年第12期", "2024 年 12 月 9 日"))
    first = build_index(options(tmp_path), HashEmbedder())
    assert (first.issues, first.problems) == (2, ())
    (corpus / "c.txt").write_bytes(yearly("2025年第1期", "2025 年 1 月 6 日"))
    second = build_index(options(tmp_path), HashEmbedder())  # a and b come from the old version
    assert (second.issues, second.problems, second.unchanged) == (3, (), 2)

    service = service_for(tmp_path)
    copy = yearly("2024年第12期", "2024 年 12 月 9 日").replace("省委书记".encode(), "省委主要负责同志".encode())
    refused = service.add_file("b-again.txt", copy)
    assert not refused.ok and refused.message == "b-again.txt: 与已有文件 b.txt 是同一期（2024年第12期），未保存"
    assert service.add_file("next.txt", yearly("2025年第2期", "2025 年 1 月 13 日")).ok
