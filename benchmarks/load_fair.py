"""One address floods the web app; does another client still get its answers in time? (issue #28)

    python benchmarks/load_fair.py [--issues 21] [--questions 40] [--flooders 8] [--shared DIR] [--json out.json]

`bulletin-bot web` runs as its own process on 127.0.0.1 over an index of the first `--issues`
shared issues (the default model), with the per-minute question limit off, so only the bounds
on questions running at once act (BULLETIN_BOT_WEB_CLIENT_QUESTIONS_AT_ONCE,
BULLETIN_BOT_WEB_QUESTIONS_AT_ONCE). Every client is 127.0.0.1, so the app is told to trust it
as a proxy and each client names itself in X-Forwarded-For: the flooder 10.0.0.1, the quiet
client 10.0.0.2.

1. quiet: the quiet client asks `--questions` short questions one after another (p50/p95);
2. flood: `--flooders` threads of another process, from 10.0.0.1, ask as fast as they are
   answered or refused the most expensive question the app accepts (50 random common Chinese
   characters, top_k at its cap), while the quiet client asks its questions again. Each
   flooder stops when the quiet client is done (and after at most 5,000 requests), so every
   loop is bounded.
The run is repeated with the bounds set high (8 per client, 16 at once: nobody waits), which is
what the app did before them. Reported per run: the quiet client's p50/p95/max, and the
flooder's status counts. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

from loadlib import ROOT, SHARED, child_env, machine, percentiles

sys.path.insert(0, str(ROOT / "src"))
from bulletin_bot.web.limits import MAX_TOP_K, WEB_MAX_QUESTION_CHARS  # noqa: E402

FLOOD_CHARS = WEB_MAX_QUESTION_CHARS  # the longest question the app takes
FLOOD_TOP_K = MAX_TOP_K
MAX_FLOOD_REQUESTS = 5000  # per flooder thread


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def quiet_questions(shared: Path, count: int) -> list[str]:
    path = shared / "eval" / "dev_questions.jsonl"
    questions = [json.loads(line)["q"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [q for q in questions if len(q) <= 30][:count]


def flood_question(rng: random.Random) -> str:
    return "".join(chr(rng.randint(0x4E00, 0x9FA5)) for _ in range(FLOOD_CHARS))


def build_index(work: Path, shared: Path, issues: int) -> tuple[Path, Path]:
    corpus, index = work / "corpus", work / "index"
    corpus.mkdir(parents=True)
    for path in sorted((shared / "corpus" / "xwlb" / "issues").glob("*.txt"))[:issues]:
        shutil.copy(path, corpus / path.name)
    subprocess.run([sys.executable, "-m", "bulletin_bot.cli", "index", "--corpus", str(corpus), "--index", str(index),
                    "--quiet"], env=child_env(), check=True, capture_output=True)
    return corpus, index


def ask(client: httpx.Client, base: str, question: str, who: str, top_k: int = 5) -> tuple[int, float]:
    started = time.perf_counter()
    r = client.get(f"{base}/api/ask", params={"q": question, "top_k": top_k}, headers={"X-Forwarded-For": who})
    return r.status_code, (time.perf_counter() - started) * 1000


def quiet_run(base: str, questions: list[str]) -> tuple[list[float], Counter]:
    times, codes = [], Counter()
    with httpx.Client(timeout=120) as client:
        for q in questions:
            code, ms = ask(client, base, q, "10.0.0.2")
            codes[code] += 1
            if code == 200:
                times.append(ms)
    return times, codes


def flood(base: str, flooders: int, stop_file: Path, out: Path) -> None:
    """The flooder, run as its own process (`--flood`) so that its threads do not slow the quiet
    client's own requests in this one: `flooders` threads until `stop_file` exists."""
    codes: Counter = Counter()
    lock = threading.Lock()

    def one(seed: int) -> None:
        rng = random.Random(seed)
        with httpx.Client(timeout=120) as client:
            for _ in range(MAX_FLOOD_REQUESTS):
                if stop_file.exists():
                    return
                code, _ = ask(client, base, flood_question(rng), "10.0.0.1", top_k=FLOOD_TOP_K)
                with lock:
                    codes[code] += 1

    threads = [threading.Thread(target=one, args=(n,), daemon=True) for n in range(flooders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.write_text(json.dumps(codes))


def flooded_run(base: str, questions: list[str], flooders: int) -> tuple[list[float], Counter, Counter]:
    with tempfile.TemporaryDirectory(prefix="flood-") as tmp:
        stop_file, out = Path(tmp) / "stop", Path(tmp) / "codes.json"
        proc = subprocess.Popen([sys.executable, __file__, "--flood", base, "--flooders", str(flooders),
                                 "--stop-file", str(stop_file), "--out", str(out)])
        time.sleep(3.0)  # the flood under way before the quiet client asks
        try:
            times, codes = quiet_run(base, questions)
        finally:
            stop_file.touch()
            proc.wait(300)
        flood_codes = Counter({int(k): v for k, v in json.loads(out.read_text()).items()}) if out.exists() else Counter()
    return times, codes, flood_codes


def serve(corpus: Path, index: Path, **settings: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = child_env(BULLETIN_BOT_CORPUS=str(corpus), BULLETIN_BOT_INDEX=str(index),
                    BULLETIN_BOT_WEB_QUESTIONS_PER_MINUTE="0", BULLETIN_BOT_TRUSTED_PROXIES="127.0.0.1", **settings)
    proc = subprocess.Popen([sys.executable, "-m", "bulletin_bot.cli", "web", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=5).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("bulletin-bot web did not start in 120 s")


def rounded(stats: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 1) for k, v in stats.items()}


def measure(corpus: Path, index: Path, questions: list[str], flooders: int, label: str, **settings: str) -> dict:
    proc, base = serve(corpus, index, **settings)
    try:
        with httpx.Client(timeout=120) as client:  # warm: the index and the model loaded
            for q in questions[:3]:
                ask(client, base, q, "10.0.0.9")
        quiet, quiet_codes = quiet_run(base, questions)
        flooded, flooded_codes, flood_codes = flooded_run(base, questions, flooders)
    finally:
        proc.terminate()
        proc.wait(30)
    result = {
        "run": label, "settings": settings,
        "quiet_ms": rounded(percentiles(quiet)), "quiet_codes": dict(quiet_codes),
        "flooded_ms": rounded(percentiles(flooded)), "flooded_codes": dict(flooded_codes),
        "flood_codes": dict(flood_codes),
    }
    result["p95_ratio"] = round(result["flooded_ms"]["p95"] / result["quiet_ms"]["p95"], 2)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--issues", type=int, default=21)
    parser.add_argument("--questions", type=int, default=40)
    parser.add_argument("--flooders", type=int, default=8)
    parser.add_argument("--shared", type=Path, default=SHARED, help=f"the shared data (default {SHARED})")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--flood", metavar="URL", help=argparse.SUPPRESS)  # the flooder process
    parser.add_argument("--stop-file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.flood:
        flood(args.flood, args.flooders, args.stop_file, args.out)
        return
    if not (args.shared / "corpus" / "xwlb" / "issues").is_dir():
        raise SystemExit(f"needs the shared issues in {args.shared}/corpus/xwlb/issues (--shared)")
    questions = quiet_questions(args.shared, args.questions)
    with tempfile.TemporaryDirectory(prefix="load-fair-") as tmp:
        corpus, index = build_index(Path(tmp), args.shared, args.issues)
        runs = [
            measure(corpus, index, questions, args.flooders, "bounded (defaults)"),
            measure(corpus, index, questions, args.flooders, "unbounded",
                    BULLETIN_BOT_WEB_CLIENT_QUESTIONS_AT_ONCE="8", BULLETIN_BOT_WEB_QUESTIONS_AT_ONCE="16"),
        ]
    report = {"machine": machine(), "issues": args.issues, "questions": len(questions),
              "flooders": args.flooders, "flood_question_chars": FLOOD_CHARS, "flood_top_k": FLOOD_TOP_K, "runs": runs}
    text = json.dumps(report, ensure_ascii=False, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
