"""200 concurrent clients on the web app's /api/ask for a minute, with an admin re-index running.

    python benchmarks/load_web.py [--clients 200] [--seconds 60] [--model default]   # make bench-load

`bulletin-bot web` runs as its own process on 127.0.0.1 (one uvicorn worker, as `bulletin-bot
web` deploys it), with the per-address question limit off: every client here is 127.0.0.1
(BULLETIN_BOT_WEB_QUESTIONS_PER_MINUTE=0, and no bound on questions at once). The load is wrk (Debian's `wrk`; benchmarks/ask.lua)
with `--clients` connections, each asking again as soon as it has its answer, for `--seconds`.
5 s in, the admin starts a re-index of the whole shared corpus (POST /admin/reindex; see
loadlib.py). If it has not switched when the minute is over, wrk runs again in 30 s rounds until
10 s after the switch (reported as further rounds). Meanwhile a probe client asks once a second
and notes which issues each answer cites: none may cite a 2023-2024 issue before the switch.
Reported: status codes (no 5xx allowed), socket errors, latency p50/p95/p99, throughput.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import quote

import httpx

from loadlib import SwitchWatch, child_env, machine, rss_mb, scenario

LUA = Path(__file__).with_name("ask.lua")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wrk(base: str, clients: int, seconds: int, questions_file: Path) -> dict:
    """One wrk run: its figures ("status_200", "p50_ms", "requests", ...)."""
    out = subprocess.run(
        ["wrk", "-t", "2", "-c", str(clients), "-d", f"{seconds}s", "--timeout", "120s", "-s", str(LUA), base],
        env={**os.environ, "ASK_QUESTIONS": str(questions_file)}, capture_output=True, text=True, check=True,
    ).stdout
    figures = {}
    for line in out.splitlines():
        name, _, value = line.partition(" ")
        if value and name.replace("_", "").isalnum() and not name[0].isdigit():
            try:
                figures[name] = float(value)
            except ValueError:
                pass
    figures["throughput req/s"] = round(figures.get("requests", 0) / max(figures.get("duration_s", 1), 1e-9), 1)
    return figures


class Probe(threading.Thread):
    """Asks once a second, alternating an old question and a probe; logs (start, end, status, files)."""

    def __init__(self, base: str, old: list[str], probes: list[str]) -> None:
        super().__init__(daemon=True)
        self.base, self.old, self.probes = base, old, probes
        self.log: list[tuple[float, float, object, set[str]]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        k = 0
        with httpx.Client(base_url=self.base, timeout=120) as http:
            while not self.stop.is_set():
                q = self.probes[k % len(self.probes)] if k % 2 else self.old[k % len(self.old)]
                k += 1
                start = time.monotonic()
                try:
                    r = http.get("/api/ask", params={"q": q, "top_k": 3})
                    files = {res["file"] for res in r.json().get("results", [])} if r.status_code == 200 else set()
                    status: object = r.status_code
                except (httpx.HTTPError, ValueError) as exc:
                    status, files = type(exc).__name__, set()
                self.log.append((start, time.monotonic(), status, files))
                self.stop.wait(max(0.0, 1.0 - (time.monotonic() - start)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--model", default="default")
    parser.add_argument("--work", type=Path)
    parser.add_argument("--no-reindex", action="store_true", help="the load alone, on the old index")
    parser.add_argument("--json", type=Path, help="also write the figures here as JSON")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("needs wrk: apt-get install wrk", file=sys.stderr)
        return 2
    work = args.work or Path(tempfile.mkdtemp(prefix="load-web-"))
    sc = scenario(work)
    token = secrets.token_urlsafe(24)
    env = child_env(BULLETIN_BOT_CORPUS=str(sc.corpus), BULLETIN_BOT_INDEX=str(sc.index),
                    BULLETIN_BOT_WEB_ADMIN_TOKEN=token, BULLETIN_BOT_WEB_QUESTIONS_PER_MINUTE="0",
                    # every client is 127.0.0.1 here: no bound on questions at once either, as
                    # before those bounds existed (load_fair.py measures them)
                    BULLETIN_BOT_WEB_CLIENT_QUESTIONS_AT_ONCE="100000", BULLETIN_BOT_WEB_QUESTIONS_AT_ONCE="100000")
    cli = [sys.executable, "-m", "bulletin_bot.cli"]
    subprocess.run([*cli, "index", "-q", "--model", args.model], env=env, cwd=work, check=True)
    questions = [q for _ in range(4) for q in sc.old_questions] + sc.probe_questions  # about 1 in 5 a probe
    questions_file = work / "questions.txt"
    questions_file.write_text("\n".join(quote(q) for q in questions) + "\n", encoding="utf-8")

    port = free_port()
    server = subprocess.Popen([*cli, "web", "--port", str(port)], env=env, cwd=work,
                              stdout=subprocess.DEVNULL, stderr=open(work / "web.log", "w"))
    base = f"http://127.0.0.1:{port}"
    figures: dict = {"machine at start": machine(), "model": args.model, "clients": args.clients}
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{base}/api/ask", params={"q": sc.old_questions[0]}, timeout=30).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        rss_start, _ = rss_mb(server.pid)
        probe = Probe(base, sc.old_questions, sc.probe_questions)
        probe.start()
        watch = None
        if not args.no_reindex:
            sc.add_new_files()
            watch = SwitchWatch(sc.index)

            def start_reindex() -> None:
                time.sleep(5)
                r = httpx.post(f"{base}/admin/reindex", headers={"Authorization": f"Bearer {token}"}, timeout=120)
                figures["re-index request"] = r.status_code

            threading.Thread(target=start_reindex, daemon=True).start()
        started = time.monotonic()
        rounds = [wrk(base, args.clients, args.seconds, questions_file)]
        while watch is not None and (watch.at is None or time.monotonic() < watch.at + 10):
            if time.monotonic() - started > 30 * args.seconds:
                break
            rounds.append(wrk(base, args.clients, 30, questions_file))
        probe.stop.set()
        probe.join(130)
        if watch is not None:
            watch.stop()
        rss_end, hwm = rss_mb(server.pid)
        switch = watch.at if watch is not None else None
        before = [e for e in probe.log if e[2] == 200 and switch and e[1] < switch]
        after = [e for e in probe.log if e[2] == 200 and switch and e[0] > switch]
        figures.update({
            "first minute (wrk)": rounds[0],
            "further 30 s rounds until 10 s after the switch (wrk)": rounds[1:],
            "5xx": sum(v for r in rounds for k, v in r.items() if k.startswith("status_5")),
            "socket errors": sum(v for r in rounds for k, v in r.items() if k.startswith("errors_")),
            "switch after start s": round(switch - started, 1) if switch else None,
            "probe answers": len(probe.log),
            "probe failures": sum(1 for e in probe.log if e[2] != 200),
            "probe answers ended before the switch": len(before),
            "probe answers started after the switch": len(after),
            "answers citing a new issue that ended before the switch": sum(1 for e in before if e[3] & sc.new_names),
            "answers citing a new issue after the switch": sum(1 for e in after if e[3] & sc.new_names),
            "server RSS MB": {"before": round(rss_start), "after": round(rss_end), "peak": round(hwm)},
            "server alive": server.poll() is None,
            "machine at end": machine(),
        })
        if not args.no_reindex:
            job = httpx.get(f"{base}/admin/status", headers={"Authorization": f"Bearer {token}"}, timeout=60).json()
            report = (job.get("job") or {}).get("report") or {}
            figures["re-index"] = {k: report.get(k) for k in ("added", "issues", "chunks", "embedded", "seconds")}
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
