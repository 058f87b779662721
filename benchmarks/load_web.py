"""200 concurrent clients on the web app's /api/ask for a minute, with an admin re-index running.

    python benchmarks/load_web.py [--clients 200] [--seconds 60] [--model default]   # make bench-load

`bulletin-bot web` runs as its own process on 127.0.0.1 (one uvicorn worker, as deployed by
`bulletin-bot web`), with the per-address question limit off (every client here shares
127.0.0.1; BULLETIN_BOT_WEB_QUESTIONS_PER_MINUTE=0). An asyncio client (httpx) keeps `--clients`
requests in flight, each client asking again as soon as it has its answer. After 5 s the admin
starts a re-index of the whole shared corpus (POST /admin/reindex); the run lasts `--seconds`,
and longer if the re-index has not switched by then (until 10 s after the switch).
Reported: status codes (no 5xx allowed), latency p50/p95/p99, throughput, answers before and
after the switch, and answers citing a 2023-2024 issue that ended before the switch (must be 0).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

from loadlib import SwitchWatch, machine, percentiles, rss_mb, scenario


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def client(http: httpx.AsyncClient, n: int, questions: list[str], stop_at: list[float], log: list) -> None:
    """Ask again and again; log (start, end, status, files cited)."""
    k = n
    while time.monotonic() < stop_at[0]:
        q = questions[k % len(questions)]
        k += 1
        start = time.monotonic()
        try:
            r = await http.get("/api/ask", params={"q": q, "top_k": 3})
            status = r.status_code
            dates = {res["file"] for res in r.json().get("results", [])} if status == 200 else set()
        except (httpx.HTTPError, ValueError) as exc:
            status, dates = type(exc).__name__, set()
        log.append((start, time.monotonic(), status, dates))


async def run_load(base: str, clients: int, seconds: float, questions: list[str], token: str,
                   watch: SwitchWatch) -> tuple[list, float, float]:
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    log: list = []
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=120) as http:
        started = time.monotonic()
        stop_at = [started + seconds]
        tasks = [asyncio.create_task(client(http, n, questions, stop_at, log)) for n in range(clients)]
        await asyncio.sleep(5)
        r = await http.post("/admin/reindex", headers={"Authorization": f"Bearer {token}"})
        reindex_at = time.monotonic()
        print(f"re-index requested: HTTP {r.status_code}", flush=True)
        while time.monotonic() < stop_at[0]:
            if watch.at is None and time.monotonic() > stop_at[0] - 1:
                stop_at[0] += 5  # not switched yet: keep the load on until it has
            elif watch.at is not None:
                stop_at[0] = max(stop_at[0], watch.at + 10)
            await asyncio.sleep(0.5)
            if time.monotonic() - started > 20 * seconds:
                break
        await asyncio.gather(*tasks)
        ended = time.monotonic()
        status = (await http.get("/admin/status", headers={"Authorization": f"Bearer {token}"})).json()
    print(json.dumps(status.get("job", {}), ensure_ascii=False)[:400], flush=True)
    return log, started, ended, reindex_at


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--model", default="default")
    parser.add_argument("--work", type=Path)
    parser.add_argument("--json", type=Path, help="also write the figures here as JSON")
    args = parser.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="load-web-"))
    sc = scenario(work)
    token = secrets.token_urlsafe(24)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BULLETIN_BOT_", "TELEGRAM_"))}
    env.update(BULLETIN_BOT_CORPUS=str(sc.corpus), BULLETIN_BOT_INDEX=str(sc.index),
               BULLETIN_BOT_WEB_ADMIN_TOKEN=token, BULLETIN_BOT_WEB_QUESTIONS_PER_MINUTE="0")
    if os.environ.get("BULLETIN_BOT_CACHE"):
        env["BULLETIN_BOT_CACHE"] = os.environ["BULLETIN_BOT_CACHE"]
    cli = [sys.executable, "-m", "bulletin_bot.cli"]
    subprocess.run([*cli, "index", "-q", "--model", args.model], env=env, cwd=work, check=True)
    port = free_port()
    server = subprocess.Popen([*cli, "web", "--port", str(port)], env=env, cwd=work,
                              stdout=subprocess.DEVNULL, stderr=open(work / "web.log", "w"))
    base = f"http://127.0.0.1:{port}"
    figures: dict = {"machine": machine(), "model": args.model, "clients": args.clients}
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{base}/api/ask", params={"q": sc.old_questions[0]}, timeout=30).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        rss_start, _ = rss_mb(server.pid)
        sc.add_new_files()
        watch = SwitchWatch(sc.index)
        questions = [q for k in range(4) for q in sc.old_questions] + sc.probe_questions  # ~1 in 5 a probe
        log, started, ended, reindex_at = asyncio.run(
            run_load(base, args.clients, args.seconds, questions, token, watch))
        watch.stop()
        rss_end, hwm = rss_mb(server.pid)
        codes = Counter(str(s) for _, _, s, _ in log)
        latencies = [(e - s) * 1000 for s, e, st, _ in log if st == 200]
        switch = watch.at
        before = [(s, e, d) for s, e, st, d in log if st == 200 and switch and e < switch]
        after = [(s, e, d) for s, e, st, d in log if st == 200 and switch and s > switch]
        figures.update({
            "seconds": round(ended - started, 1),
            "requests": len(log),
            "status codes": dict(codes),
            "5xx": sum(n for c, n in codes.items() if c.startswith("5")),
            "throughput req/s": round(len(log) / (ended - started), 1),
            "latency ms (200s)": {k: round(v, 1) for k, v in percentiles(latencies).items()},
            "latency ms before the switch": {k: round(v, 1) for k, v in
                                             percentiles([(e - s) * 1000 for s, e, _ in before]).items()},
            "latency ms after the switch": {k: round(v, 1) for k, v in
                                            percentiles([(e - s) * 1000 for s, e, _ in after]).items()},
            "switch after re-index request s": round(switch - reindex_at, 1) if switch else None,
            "answers ended before the switch": len(before),
            "answers started after the switch": len(after),
            "answers citing a new issue that ended before the switch": sum(1 for _, _, d in before if d & sc.new_names),
            "answers citing a new issue after the switch": sum(1 for _, _, d in after if d & sc.new_names),
            "server RSS MB": {"before": round(rss_start), "after": round(rss_end), "peak": round(hwm)},
            "server alive": server.poll() is None,
        })
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(60)
        except subprocess.TimeoutExpired:
            server.kill()
    log_text = (work / "web.log").read_text(encoding="utf-8", errors="replace")
    figures["tracebacks in the server's log"] = log_text.count("Traceback")
    print(json.dumps(figures, ensure_ascii=False, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, ensure_ascii=False, indent=2), encoding="utf-8")
    ok = figures.get("5xx", 1) == 0 and figures.get("answers citing a new issue that ended before the switch", 1) == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
