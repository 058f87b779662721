"""1,000 questions from 50 users in a burst to the Telegram bot, with an admin re-index running.

    python benchmarks/load_bot.py [--model default] [--work DIR]          # make bench-load

`bulletin-bot serve` runs as its own process, polling the Bot API stand-in of the tests
(tests/botapi_standin.py) on 127.0.0.1. Users 1-25 send 30 questions each and users 26-50 send
10 (1,000 in all), all queued at once, right after the admin's /reindex of the whole shared
corpus (see loadlib.py). Every question must get exactly one final reply: an answer, a "not
found", or the rate limit's "please wait" (BULLETIN_BOT_QUESTIONS_PER_MINUTE, 20 by default);
no error reply, no update left undelivered. One more user keeps asking, once a second, until
10 s after `current` switched: no reply may cite a 2023-2024 issue before the switch, and
probes find them after it. Then, a minute apart (the rate limit's window), the same burst
again twice without a re-index: the bot's memory should stay where the first burst left it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from loadlib import ROOT, SwitchWatch, child_env, machine, rss_mb, scenario

sys.path.insert(0, str(ROOT / "tests"))
from botapi_standin import BotAPIStandin, User  # noqa: E402

TOKEN = "123456:LOAD-test-token-abcdefghijklmnopqrstu"
ADMIN = User(1, "Admin")
USERS = [User(1000 + n, f"U{n}") for n in range(50)]
CITATION = re.compile(r"第(\d+)期 · (20\d\d-\d\d-\d\d)")
WAIT_TEXT = "提问太频繁了"
NOT_FOUND = "没有在已收录的简报中找到"
ERROR_TEXT = "处理这条消息时出了错"


def questions_for(n: int, old: list[str], probes: list[str]) -> list[str]:
    count = 30 if n < 25 else 10
    return [probes[(n + k) % len(probes)] if k % 5 == 4 else old[(n + k) % len(old)] for k in range(count)]


def final_replies(standin: BotAPIStandin, chat: int) -> list[dict]:
    """The replies that end a question: a rate-limit notice, a not-found, or an answer's last
    message (the one carrying its buttons)."""
    out = []
    for m in standin.bot_messages(chat):
        text = m.get("text", "")
        if WAIT_TEXT in text or NOT_FOUND in text or m.get("reply_markup") or ERROR_TEXT in text:
            out.append(m)
    return out


def burst(standin: BotAPIStandin, sent_before: dict[int, int], old, probes, timeout: float) -> dict:
    asked = {u.id: questions_for(n, old, probes) for n, u in enumerate(USERS)}
    started = time.monotonic()
    for k in range(30):  # interleaved, as a crowd would
        for u in USERS:
            if k < len(asked[u.id]):
                standin.say(asked[u.id][k], u)
    total = sum(len(q) for q in asked.values())
    deadline = started + timeout
    last_change, last_done = time.monotonic(), -1
    while time.monotonic() < deadline and time.monotonic() - last_change < 60:  # a minute of silence: stop
        done = sum(len(final_replies(standin, u.id)) - sent_before.get(u.id, 0) for u in USERS)
        if done >= total:
            break
        if done != last_done:
            last_change, last_done = time.monotonic(), done
        time.sleep(0.5)
    seconds = time.monotonic() - started
    per_user = {u.id: final_replies(standin, u.id)[sent_before.get(u.id, 0):] for u in USERS}
    replies = [m for ms in per_user.values() for m in ms]
    short = [u for u in USERS if len(per_user[u.id]) < len(asked[u.id])]
    for u in short[:3]:  # what such a user saw, to tell a lost update from an unexpected reply
        print(f"user {u.id}: asked {len(asked[u.id])}, final replies {len(per_user[u.id])}; last messages:",
              [m.get("text", "")[:80] for m in standin.bot_messages(u.id)[-4:]], flush=True)
    return {
        "questions": total,
        "final replies": len(replies),
        "answered": sum(1 for m in replies if m.get("reply_markup")),
        "not found": sum(1 for m in replies if NOT_FOUND in m.get("text", "")),
        "told to wait": sum(1 for m in replies if WAIT_TEXT in m.get("text", "")),
        "errors": sum(1 for m in replies if ERROR_TEXT in m.get("text", "")),
        "users short of a reply": sum(1 for u in USERS if len(per_user[u.id]) < len(asked[u.id])),
        "seconds": round(seconds, 1),
        "_counts": {u.id: len(final_replies(standin, u.id)) for u in USERS},
    }


def cited(call) -> set[tuple[int, str]]:
    return {(int(n), d) for n, d in CITATION.findall(call.params.get("text", ""))}


def cites_new_before_switch(standin: BotAPIStandin, new_issues: set, switch_at: float | None) -> int:
    return sum(1 for call in standin.calls_of("sendMessage")
               if cited(call) & new_issues and (switch_at is None or call.at < switch_at))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default", help="model of the index (default: the default model)")
    parser.add_argument("--work", type=Path, help="scratch folder (default: a temp folder)")
    parser.add_argument("--timeout", type=float, default=900, help="longest wait for one burst's replies")
    parser.add_argument("--bursts-after", type=int, default=2, help="bursts after the re-index, a minute apart")
    parser.add_argument("--json", type=Path, help="also write the figures here as JSON")
    args = parser.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="load-bot-"))
    sc = scenario(work)
    env = child_env(BULLETIN_BOT_CORPUS=str(sc.corpus), BULLETIN_BOT_INDEX=str(sc.index), PYTHONUNBUFFERED="1")
    cli = [sys.executable, "-m", "bulletin_bot.cli"]
    t0 = time.monotonic()
    subprocess.run([*cli, "index", "-q", "--model", args.model], env=env, cwd=work, check=True)
    print(f"old index: {len(sc.old_files) + 1} issues in {time.monotonic() - t0:.1f} s; {machine()}", flush=True)

    figures: dict = {"machine": machine(), "model": args.model}
    with BotAPIStandin(TOKEN) as standin:
        env.update(TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_BASE_URL=standin.base_url,
                   TELEGRAM_API_FILE_URL=standin.file_url, BULLETIN_BOT_ADMINS=str(ADMIN.id))
        bot = subprocess.Popen([*cli, "serve"], env=env, cwd=work, stdout=subprocess.DEVNULL,
                               stderr=open(work / "bot.log", "w"))
        try:
            standin.wait_for(lambda: standin.calls_of("getUpdates"), timeout=120, what="the bot polling")
            standin.say(sc.old_questions[0], USERS[0])  # warm: the model and index loaded, one answer
            standin.wait_for(lambda: final_replies(standin, USERS[0].id), timeout=60, what="a first answer")
            rss_start, _ = rss_mb(bot.pid)
            base = {u.id: len(final_replies(standin, u.id)) for u in USERS}

            sc.add_new_files()
            watch = SwitchWatch(sc.index)
            standin.say("/reindex", ADMIN)
            reindex_sent = time.monotonic()
            first = burst(standin, base, sc.old_questions, sc.probe_questions, args.timeout)
            # ten more users go on asking, one question a second between them (a probe, then an
            # old question; each user well under the rate limit), until 10 s after the switch,
            # so answers are seen on both sides of it
            late = [User(2000 + n, f"Late{n}") for n in range(10)]
            k = 0
            deadline = time.monotonic() + args.timeout
            while time.monotonic() < deadline and (watch.at is None or time.monotonic() < watch.at + 10):
                standin.say(sc.probe_questions[k % len(sc.probe_questions)] if k % 2 == 0
                            else sc.old_questions[k % len(sc.old_questions)], late[k % len(late)])
                k += 1
                time.sleep(1.0)
            standin.wait_for(lambda: any("✅" in m.get("text", "") or "❌" in m.get("text", "")
                                         for m in standin.bot_messages(ADMIN.id)),
                             timeout=args.timeout, what="the re-index to end")
            standin.wait_for(lambda: sum(len(final_replies(standin, u.id)) for u in late) >= k, timeout=120,
                             what="the late users' replies")
            first["late users' questions"] = k
            first["late users' replies"] = sum(len(final_replies(standin, u.id)) for u in late)
            first["late users told to wait"] = sum(WAIT_TEXT in m.get("text", "")
                                                   for u in late for m in final_replies(standin, u.id))
            watch.stop()
            admin_texts = [m.get("text", "") for m in standin.bot_messages(ADMIN.id)]
            rss_after_first, hwm_first = rss_mb(bot.pid)
            first["re-index"] = next((t.splitlines()[0] for t in admin_texts if "✅" in t or "❌" in t), "?")
            first["switch after s"] = round(watch.at - reindex_sent, 1) if watch.at else None
            first["replies citing a new issue before the switch"] = cites_new_before_switch(
                standin, sc.new_issues, watch.at)
            probes_after = [c for c in standin.calls_of("sendMessage")
                            if watch.at and c.at > watch.at and cited(c) & sc.new_issues]
            first["replies citing a new issue after the switch"] = len(probes_after)

            counts = {u.id: len(final_replies(standin, u.id)) for u in USERS}
            first.pop("_counts")
            later, rss = [], {"before": round(rss_start), "after burst 1 (and the switch to 825 issues)": round(rss_after_first)}
            hwm = hwm_first
            for n in range(args.bursts_after):
                time.sleep(61)  # the per-user rate limit's window
                result = burst(standin, counts, sc.old_questions, sc.probe_questions, args.timeout)
                counts = result.pop("_counts")
                time.sleep(2)
                now, peak = rss_mb(bot.pid)
                hwm = max(hwm, peak)
                rss[f"after burst {n + 2}"] = round(now)
                later.append(result)
            rss["peak"] = round(hwm)
            figures.update({
                "burst with re-index": first, "bursts after": later,
                # updates pushed: the warm-up question, /reindex, the late user's, the bursts
                "updates delivered": f"{standin._max_delivered} of "
                                     f"{2 + k + first['questions'] + sum(b['questions'] for b in later)}",
                "bot RSS MB": rss,
                "bot alive": bot.poll() is None,
            })
            second = {"errors": sum(b["errors"] for b in later),
                      "users short of a reply": sum(b["users short of a reply"] for b in later)}
        finally:
            bot.send_signal(signal.SIGTERM)
            try:
                code = bot.wait(60)
            except subprocess.TimeoutExpired:
                bot.kill()
                code = "killed"
            figures["bot exit status"] = code
    log = (work / "bot.log").read_text(encoding="utf-8", errors="replace")
    figures["tracebacks in the bot's log"] = log.count("Traceback")
    print(json.dumps(figures, ensure_ascii=False, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, ensure_ascii=False, indent=2), encoding="utf-8")
    ok = (bot.returncode == 0 and first["errors"] == 0 and second["errors"] == 0
          and first["users short of a reply"] == 0 and second["users short of a reply"] == 0
          and first["replies citing a new issue before the switch"] == 0)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
