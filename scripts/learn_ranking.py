#!/usr/bin/env python3
"""Learn the second stage (data/rerank.json) and the "not found" rule (data/evidence.json).

For every question, the first stage's best articles over the archive index (all 825 shared
issues plus the seed) are featurised by `bulletin_bot.ranking.second_stage.features`.
- Second stage: a pairwise logistic regression learns to put the right article above each
  other one (answerable questions only).
- "Not found": a logistic regression on `bulletin_bot.ranking.answerability.features` of the re-scored best
  article tells answerable questions from those the archive cannot answer; its threshold is set
  so that about `--false-abstentions` of the answerable ones are called "not found".
Both are checked by cross-validation (folds by question) before they are written: the script
prints what each fold does on the questions it did not learn from.

    .venv/bin/python scripts/learn_ranking.py --questions eval/archive_tune.jsonl ... [--write]
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "scripts"))

from eval_dev import eval_corpus, read_passages  # noqa: E402

from bulletin_bot.config import load_settings  # noqa: E402
from bulletin_bot.evaluation import _id_matches, load_questions, load_truth  # noqa: E402
from bulletin_bot.models import Citation, Quote  # noqa: E402
from bulletin_bot.ranking import answerability as evidence  # noqa: E402
from bulletin_bot.ranking import parse_question  # noqa: E402
from bulletin_bot.ranking.second_stage import FEATURES  # noqa: E402
from bulletin_bot.ranking import RetrievalSettings, candidates  # noqa: E402
from bulletin_bot.ranking.first_stage import newest_issue_date  # noqa: E402
from bulletin_bot.embedding import load_reader  # noqa: E402
from bulletin_bot.service import BulletinService  # noqa: E402

OUT = ROOT / "src/bulletin_bot/data/rerank.json"
EVIDENCE_OUT = ROOT / "src/bulletin_bot/data/evidence.json"


def right(index, truth, q, rec) -> bool:
    issue = index.issue(rec.issue_id)
    probe = Quote(Citation(issue.series, issue.number, issue.date, rec.section, rec.title, issue.file, rec.index),
                  "", (), 0.0, rec.id)
    return any(_id_matches(a, q.issue, probe, truth) for a in q.ids)


def collect(service, questions, truth, depth, reader=None):
    index = service._current()
    emb = service.embedder(index.manifest)
    settings = replace(RetrievalSettings(), rerank_depth=depth)
    newest = newest_issue_date(index)
    data = []
    for q in tqdm(questions, desc="candidates", file=sys.stderr):
        cands = candidates(index, emb, q.q, settings, reader)
        X = np.array([c.features for c in cands]) if cands else np.zeros((0, len(FEATURES)))
        y = np.array([q.issue is not None and right(index, truth, q, c.record) for c in cands], dtype=bool)
        pq = parse_question(q.q, index.sections, newest=newest)
        data.append((q, X, y, cands, pq))
    return data


class MeaningCache:
    """The reader's cosine of a question and a candidate's passage, computed once per pair and
    kept in a file across runs (the reader takes about 0.1 s a passage, seconds on a busy box)."""

    def __init__(self, reader, path: Path) -> None:
        self.reader, self.path = reader, path
        self.seen = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}

    def __call__(self, pq, cand) -> float | None:
        if self.reader is None:
            return None
        text = pq.text or pq.question
        key = f"{text}\t{cand.record.id}\t{(cand.passage or cand.record.title)[:evidence.READ_CHARS]}"
        if key not in self.seen:
            self.seen[key] = float(evidence.read_meaning(self.reader, text, [cand])[0])
            if len(self.seen) % 50 == 0:
                self.save()
        return self.seen[key]

    def save(self) -> None:
        self.path.write_text(json.dumps(self.seen, ensure_ascii=False), encoding="utf-8")


def evidence_rows(data, w, meaning, newest):
    """Evidence features of each question's re-scored best article, whether it is answerable,
    and whether the hard rules (specifics, the archive's edges) rule it out."""
    rows, labels, ruled, kinds = [], [], [], []
    for q, X, _y, cands, pq in data:
        if not cands:
            continue
        scores = X @ w
        order = np.argsort(-scores, kind="stable")
        ranked = [cands[i] for i in order]
        m = meaning(pq, ranked[0])
        x = evidence.features(ranked, pq, None if m is None else [m])[0]
        rows.append(x)
        labels.append(q.issue is not None)
        ruled.append(evidence.blocked(ranked[0], x, evidence.extract(pq.text), pq, newest)[1])
        kinds.append(q.kind)
    return np.array(rows), np.array(labels, dtype=bool), np.array(ruled, dtype=bool), kinds


def fit_evidence(X, y, c: float):
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=c, max_iter=5000, class_weight="balanced", fit_intercept=False)
    model.fit(X, y)
    return model.coef_[0]


def threshold_for(probs, labels, ruled, false_abstentions: float) -> float:
    """The probability bar at which answerable questions are called not found at the given
    rate, counting those the hard rules already refuse."""
    best = 0.0
    for t in np.unique(probs[labels]):
        if np.mean(((probs < t) | ruled)[labels]) > false_abstentions:
            break
        best = float(t)
    return best


def tradeoff(probs, labels, ruled, kinds, rates=(0.02, 0.05, 0.08, 0.1, 0.2, 0.3)) -> str:
    """Unanswerable questions caught, by kind, at bars giving each rate of answerable ones warned."""
    groups = sorted({k for k, l in zip(kinds, labels) if not l})
    lines = ["answerable warned | " + " | ".join(f"{g} caught" for g in groups) + " | all unanswerable caught"]
    for rate in rates:
        t = threshold_for(probs, labels, ruled, rate)
        said = (probs < t) | ruled
        cells = [f"{np.mean(said[(kinds == g) & ~labels]):.2f}" for g in groups]
        lines.append(f"{np.mean(said[labels]):.3f} | " + " | ".join(cells) + f" | {np.mean(said[~labels]):.2f}")
    return "\n".join(lines)


def probabilities(X, w):
    return 1.0 / (1.0 + np.exp(-np.clip(X @ w, -50, 50)))


def fit_pairwise(data, c: float) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression

    diffs = []
    for _q, X, y, *_ in data:
        if y.any() and (~y).any():
            pos, neg = X[y], X[~y]
            for p in pos:
                diffs.append(p - neg)
    D = np.concatenate(diffs)
    Xp = np.concatenate([D, -D])
    yp = np.r_[np.ones(len(D)), np.zeros(len(D))]
    model = LogisticRegression(C=c, fit_intercept=False, max_iter=2000)
    model.fit(Xp[:, 1:], yp)  # no bias: it cancels in differences
    return np.r_[0.0, model.coef_[0]]


def ranks(data, w: np.ndarray | None) -> list[int | None]:
    out = []
    for _q, X, y, *_ in data:
        if not y.any():
            out.append(None)
            continue
        order = np.arange(len(y)) if w is None else np.argsort(-(X @ w), kind="stable")
        out.append(int(np.flatnonzero(y[order])[0]))
    return out


def summary(rs, kinds) -> str:
    rows = []
    for kind in sorted(set(kinds)) + ["all"]:
        sel = [r for r, k in zip(rs, kinds) if kind in ("all", k)]
        n = len(sel)
        h1 = sum(r == 0 for r in sel if r is not None) / n
        h5 = sum(r < 5 for r in sel if r is not None) / n
        rows.append(f"{kind}: n={n} hit@1 {h1:.3f} hit@5 {h5:.3f}")
    return "\n".join(rows)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--questions", nargs="+", type=Path, required=True)
    ap.add_argument("--depth", type=int, default=RetrievalSettings().rerank_depth)
    ap.add_argument("--C", type=float, default=1.0, help="inverse regularisation strength")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--false-abstentions", type=float, default=0.04,
                    help="share of answerable questions the threshold may call not found (in cross-validation)")
    ap.add_argument("--write", action="store_true", help=f"write the weights learned on all questions to {OUT}")
    ap.add_argument("--drop", nargs="*", default=[], choices=FEATURES[1:], help="leave these features out (ablation)")
    ap.add_argument("--work", default=str(ROOT / ".cache/eval"))
    ap.add_argument("--no-reader", action="store_true", help="judge without the e5 reader (the words alone)")
    ap.add_argument("--dump", type=Path, help="write each question's evidence row (features, answerable, ruled out) here")
    ap.add_argument("--old-rule", action="store_true",
                    help="the rule before issue #21: words alone, no specifics or archive edges (for the trade-off curve)")
    args = ap.parse_args()
    work = Path(args.work)
    corpus = eval_corpus(work / "corpus-full", "0000", "9999")
    settings = replace(load_settings(), corpus=corpus, index=work / "index-default-full", model="default")
    service = BulletinService(settings)
    service.reindex()
    truth = load_truth(SHARED / "corpus/xwlb/truth.jsonl")
    questions = [q for path in args.questions for q in load_questions(path)]
    reader = None if args.no_reader or args.old_rule else load_reader("e5")
    if reader is not None and service._current().reader_vectors is None:
        read_passages(service)
    everything = collect(service, questions, truth, args.depth, reader)
    for name in args.drop:
        for _q, X, *_ in everything:
            X[:, FEATURES.index(name)] = 0.0
    # the same questions ranked as a version whose reader vectors are not complete yet is
    without = [(q, X * (np.arange(X.shape[1]) != FEATURES.index("read")), *rest) for q, X, *rest in everything]
    data = [d for d in everything if d[0].issue is not None]
    kinds = [d[0].kind for d in data]
    print(f"{len(data)} answerable questions; right article among the first {args.depth}: "
          f"{sum(d[2].any() for d in data)}")
    print("first stage:\n" + summary(ranks(data, None), kinds))
    rng = np.random.default_rng(0)
    fold_of = {id(d[0]): k for d, k in zip(everything, rng.permutation(len(everything)) % args.folds)}
    meaning = MeaningCache(reader, work / "meaning-cache.json")
    newest = newest_issue_date(service._current())
    cv = {}
    probs, labels, ruled, qkinds = [], [], [], []
    for f in range(args.folds):
        train = [d for d in everything if fold_of[id(d[0])] != f]
        test = [d for d in everything if fold_of[id(d[0])] == f]
        w = fit_pairwise([d for d in train if d[0].issue is not None], args.C)
        for d, r in zip(test, ranks(test, w)):
            cv[id(d[0])] = r
        Xe, ye, re_, _k = evidence_rows(train, w, meaning, newest)
        if args.old_rule:
            re_ = np.zeros_like(re_)
        we = fit_evidence(Xe[~re_], ye[~re_], args.C)  # what the hard rules already refuse teaches nothing
        Xt, yt, rt, kt = evidence_rows(test, w, meaning, newest)
        if args.old_rule:
            rt = np.zeros_like(rt)
        probs += list(probabilities(Xt, we))
        labels += list(yt)
        ruled += list(rt)
        qkinds += kt
    meaning.save()
    print(f"re-scored, {args.folds}-fold cross-validation:\n" + summary([cv[id(d[0])] for d in data], kinds))
    probs, labels, ruled = np.array(probs), np.array(labels, dtype=bool), np.array(ruled, dtype=bool)
    print(f"the hard rules alone: answerable called not found {np.mean(ruled[labels]):.3f}, "
          f"unanswerable {np.mean(ruled[~labels]):.3f}")
    threshold = threshold_for(probs, labels, ruled, args.false_abstentions)
    said = (probs < threshold) | ruled
    print(f"not found, cross-validated: threshold {threshold:.3f}; answerable called not found "
          f"{np.mean(said[labels]):.3f}; unanswerable called not found {np.mean(said[~labels]):.3f} "
          f"({(~labels).sum()} unanswerable)")
    print(tradeoff(probs, labels, ruled, np.array(qkinds)))
    plain = [d for d in without if d[0].issue is not None]
    cv_plain = {}
    for f in range(args.folds):
        w = fit_pairwise([d for d in plain if fold_of[id(d[0])] != f], args.C)
        test = [d for d in plain if fold_of[id(d[0])] == f]
        cv_plain.update((id(d[0]), r) for d, r in zip(test, ranks(test, w)))
    print("re-scored without the reader's vectors, cross-validated:\n"
          + summary([cv_plain[id(d[0])] for d in plain], kinds))
    w_plain = fit_pairwise(plain, args.C)
    w = fit_pairwise(data, args.C)
    print("weights:", {n: round(float(v), 3) for n, v in zip(FEATURES, w)})
    Xe, ye, re_, _k = evidence_rows(everything, w, meaning, newest)
    if args.dump:
        args.dump.write_text("".join(json.dumps({"kind": k, "answerable": bool(y), "ruled": bool(r),
                                                 **{n: round(float(v), 4) for n, v in zip(evidence.FEATURES, x)}},
                                                ensure_ascii=False) + "\n" for x, y, r, k in zip(Xe, ye, re_, _k)))
    if not args.old_rule:
        Xe, ye = Xe[~re_], ye[~re_]
    we = fit_evidence(Xe, ye, args.C)
    print("evidence weights:", {n: round(float(v), 3) for n, v in zip(evidence.FEATURES, we)})
    if args.write and not args.old_rule:
        h1 = sum(cv[id(d[0])] == 0 for d in data) / len(data)
        OUT.write_text(json.dumps({
            "weights": {n: round(float(v), 4) for n, v in zip(FEATURES, w)},
            # for a version whose reader vectors are not complete yet
            "weights_without_reader": {n: round(float(v), 4) for n, v in zip(FEATURES, w_plain)},
            "learned_from": [p.name for p in args.questions],
            "questions": len(data),
            "depth": args.depth,
            "C": args.C,
            "cross_validated_hit_at_1": round(h1, 3),
            "cross_validated_hit_at_1_without_reader": round(
                sum(cv_plain[id(d[0])] == 0 for d in plain) / len(plain), 3),
        }, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        EVIDENCE_OUT.write_text(json.dumps({
            "weights": {n: round(float(v), 4) for n, v in zip(evidence.FEATURES, we)},
            "threshold": round(threshold, 4),
            "neutral_meaning": round(float(np.mean(Xe[ye, evidence.FEATURES.index("meaning")])), 4),
            # the reader is asked only when its cosine, anywhere in this range, could change the verdict
            "meaning_range": [round(float(v), 4) for v in np.quantile(Xe[:, evidence.FEATURES.index("meaning")],
                                                                        [0.01, 0.99])],
            "learned_from": [p.name for p in args.questions],
            "questions": len(Xe),
            "unanswerable": int((~ye).sum()),
            "cross_validated_false_abstentions": round(float(np.mean(said[labels])), 3),
            "cross_validated_abstentions": round(float(np.mean(said[~labels])), 3),
        }, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {OUT} and {EVIDENCE_OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
