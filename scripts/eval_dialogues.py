#!/usr/bin/env python3
"""Follow-ups in conversation over the whole archive: each turn as typed, beside it written out.

Index: all shared issues plus the seed, built as scripts/eval_archive.py builds it. Dialogues:
a JSON-lines file, one dialogue a line:

    {"id": "d01", "turns": [{"q": "…", "kind": "first|swap|further|others|refer|fresh|unanswerable",
                             "full": "the same question written out in full", "issue": 845 or null,
                             "id": "article id", "answer": "verbatim span", "also": [...], "refer": …}]}

Each dialogue is one conversation (`BulletinService.converse`, top 10, of which the user is
taken to have seen the first 5, as every front end shows): its turns are typed in order, as a
user would. Each turn's "full" question is also asked alone (`ask`, top 10). Both are scored
the same way (`bulletin_bot.evaluation`: hit@1, hit@5, quote@5 by kind; a turn with issue null
is one the archive cannot answer, where the right reply is 未找到). A "refer" turn ("refer": N)
is right when its first result is the article shown N-th in the conversation's answer before;
it has no full question to compare. The typed text is also asked alone, without the
conversation: a fresh question must fare as well in conversation as so. Also counted per kind: how many turns were read as
follow-ups (shown an `understood` line), which a fresh question must never be.

    .venv/bin/python scripts/eval_dialogues.py [--dialogues /work/qsets/dialogues.jsonl] [-v]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "scripts"))

import eval_dev  # noqa: E402

from bulletin_bot.config import load_settings  # noqa: E402
from bulletin_bot.evaluation import Question, format_table, judge, load_truth, tally  # noqa: E402
from bulletin_bot.service import BulletinService  # noqa: E402

FOLLOW_UPS = ("swap", "further", "others")
SHOWN = 5  # results a user sees of an answer (every front end's default)


def load_dialogues(path: Path) -> list[dict]:
    dialogues = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if not isinstance(row.get("turns"), list) or not row["turns"]:
                raise ValueError("no turns")
        except (ValueError, AttributeError) as exc:
            raise SystemExit(f"{path}:{n}: not a dialogue ({exc}); each line needs {{\"id\", \"turns\": [...]}}")
        dialogues.append(row)
    return dialogues


def question(turn: dict, text: str) -> Question:
    ids = tuple(x for x in [turn.get("id"), *(turn.get("also") or [])] if x)
    kind = turn.get("kind") or "first"
    return Question(text, turn.get("issue"), ids, turn.get("answer") or "", kind)


def follow_up_rows(typed: dict, full: dict) -> dict:
    """The three follow-up kinds together, typed and written out."""
    out = {}
    for name, tallies in (("typed", typed), ("full", full)):
        merged = [t for k, t in tallies.items() if k in FOLLOW_UPS]
        n = sum(t.n for t in merged)
        out[name] = {"questions": n, "hit@5": round(sum(t.hit5 for t in merged) / n, 3) if n else None,
                     "hit@1": round(sum(t.hit1 for t in merged) / n, 3) if n else None}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dialogues", type=Path, default=Path("/work/qsets/dialogues.jsonl"))
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared", help="the shared data (corpus, truth)")
    ap.add_argument("--model", default="default")
    ap.add_argument("--work", default=str(ROOT / ".cache/eval"))
    ap.add_argument("--save", type=Path, help="write each turn's outcome here (JSON lines)")
    ap.add_argument("-v", "--verbose", action="store_true", help="list every miss, with how the turn was understood")
    args = ap.parse_args()
    if not (args.shared / "corpus/xwlb/truth.jsonl").is_file():
        print(f"needs {args.shared} (the shared data); name it with --shared", file=sys.stderr)
        return 2
    dialogues = load_dialogues(args.dialogues)
    eval_dev.SHARED = args.shared
    work = Path(args.work)
    corpus = eval_dev.eval_corpus(work / "corpus-full", "0000", "9999")
    settings = replace(load_settings(), corpus=corpus, index=work / f"index-{args.model}-full", model=args.model)
    service = BulletinService(settings)
    report = service.reindex()
    eval_dev.read_passages(service)
    print(f"index: {report.issues} issues, {report.articles} articles, {report.chunks} chunks", file=sys.stderr)
    truth = load_truth(args.shared / "corpus/xwlb/truth.jsonl")
    service.ask("预热")

    typed, full, bare, saved = [], [], [], []
    referred = Counter()
    understood = Counter()
    turns_by_kind = Counter()
    conversation_ms, alone_ms = [], []
    for dialogue in dialogues:
        key = ("eval", str(dialogue.get("id")))
        before = None  # the conversation's last answer to a question (what a reference points into)
        for turn in dialogue["turns"]:
            kind = turn.get("kind") or "first"
            t0 = time.perf_counter()
            answer = service.converse(key, turn["q"], top_k=10, shown=SHOWN)
            conversation_ms.append((time.perf_counter() - t0) * 1000)
            if kind == "refer":
                n = int(turn.get("refer") or 1)
                want = before.results[n - 1].article_id if before and len(before.results) >= n else None
                right = want is not None and bool(answer.results) and answer.results[0].article_id == want
                referred["turns"] += 1
                referred["right"] += right
                referred["understood"] += bool(answer.understood)
                turns_by_kind[kind] += 1
                understood[kind] += bool(answer.understood)
                saved.append({"dialogue": dialogue.get("id"), "kind": kind, "q": turn["q"],
                              "understood": answer.understood, "refer": n, "right": right})
                if args.verbose and not right:
                    print(f"  miss [refer] {turn['q']!r} read as {answer.understood!r}")
                continue
            before = answer
            t0 = time.perf_counter()
            alone = service.ask(turn.get("full") or turn["q"], top_k=10)
            alone_ms.append((time.perf_counter() - t0) * 1000)
            o_typed = judge(question(turn, turn["q"]), answer, truth)
            o_full = judge(question(turn, turn.get("full") or turn["q"]), alone, truth)
            bare.append(judge(question(turn, turn["q"]), service.ask(turn["q"], top_k=10), truth))
            typed.append(o_typed)
            full.append(o_full)
            turns_by_kind[kind] += 1
            understood[kind] += bool(answer.understood)
            saved.append({"dialogue": dialogue.get("id"), "kind": kind, "q": turn["q"], "full": turn.get("full"),
                          "understood": answer.understood, "found": o_typed.found, "rank": o_typed.rank,
                          "quoted": o_typed.quoted, "full_found": o_full.found, "full_rank": o_full.rank,
                          "full_quoted": o_full.quoted})
            if args.verbose and (o_typed.rank is None or o_typed.rank >= 5) and turn.get("issue") is not None:
                print(f"  miss [{kind}] {turn['q']!r} read as {answer.understood!r}; full: {turn.get('full')!r}")

    typed_t, full_t = tally(typed), tally(full)
    p95 = lambda xs: sorted(xs)[int(len(xs) * 0.95)] if xs else 0.0  # noqa: E731
    print(f"\n### As typed in conversation ({len(typed)} turns in {len(dialogues)} dialogues; "
          f"p95 {p95(conversation_ms):.0f} ms)\n")
    print(format_table(typed_t))
    print(f"\n### The same turns written out in full, asked alone (p95 {p95(alone_ms):.0f} ms)\n")
    print(format_table(full_t))
    print("\n### The turns as typed, each asked alone (no conversation)\n")
    print(format_table(tally(bare)))
    print("\n### Read as a follow-up (an `understood` line shown), by kind\n")
    print("| kind | turns | read as follow-up |\n|---|---|---|")
    for kind in sorted(turns_by_kind):
        print(f"| {kind} | {turns_by_kind[kind]} | {understood[kind]} |")
    print(f"\nrefer: {referred['right']} of {referred['turns']} returned the result referred to")
    rows = follow_up_rows(typed_t, full_t)
    print(f"\nfollow-ups (swap, further, others): typed hit@5 {rows['typed']['hit@5']} (hit@1 {rows['typed']['hit@1']}), "
          f"full hit@5 {rows['full']['hit@5']} (hit@1 {rows['full']['hit@1']}), {rows['typed']['questions']} turns")
    if args.save:
        args.save.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in saved), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
