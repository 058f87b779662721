#!/usr/bin/env python3
"""How Milvus's BM25 differs from ours on the same chunks, for the archive questions.

A version built with BULLETIN_BOT_INDEX_BACKEND=milvus holds both: our BM25 files (jieba-rs
search mode with the domain dictionary, punctuation dropped) and the Milvus collection (Milvus's
jieba with its own dictionary, the cnalphanumonly filter). For each question's search tokens
(as the first stage makes them) this reports how far the two top-10 and top-200 lists agree,
and, token by token, whether Milvus finds the token in as many chunks as we do (the same
document frequency means both tokenisers cut the chunks' text into that word alike).

    .venv/bin/python scripts/compare_bm25.py INDEX_FOLDER [--questions FILE ...]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from bulletin_bot.evaluation import load_questions  # noqa: E402
from bulletin_bot.models import QueryFilters  # noqa: E402
from bulletin_bot.ranking.question import is_bulletin_word, parse_question  # noqa: E402
from bulletin_bot.store import IndexPaths, load_current  # noqa: E402
from bulletin_bot.text import is_question_word, search_tokens  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("index", type=Path)
    ap.add_argument("--questions", nargs="+", type=Path, default=[ROOT / "eval/archive_questions.jsonl"])
    args = ap.parse_args()
    index = load_current(IndexPaths(args.index))
    if index.milvus is None:
        print(f"{args.index}: not built with BULLETIN_BOT_INDEX_BACKEND=milvus", file=sys.stderr)
        return 2
    everywhere = QueryFilters()
    over10, over200, empty_ours, empty_milvus, n = [], [], 0, 0, 0
    tokens_seen: set[str] = set()
    for q in (q for path in args.questions for q in load_questions(path)):
        pq = parse_question(q.q, index.sections)
        tokens = [t for t in search_tokens(pq.text) if not is_question_word(t) and not is_bulletin_word(t)]
        if not tokens:
            continue
        n += 1
        tokens_seen.update(tokens)
        scores = index.bm25.scores(tokens)
        hit = np.flatnonzero(scores)
        ours = hit[np.argsort(-scores[hit], kind="stable")][:200]
        milvus, _ = index.milvus.bm25_top(" ".join(tokens), everywhere, 200)
        empty_ours += not len(ours)
        empty_milvus += not len(milvus)
        for k, out in ((10, over10), (200, over200)):
            if len(ours[:k]):
                out.append(len(set(ours[:k].tolist()) & set(milvus[:k].tolist())) / len(ours[:k]))
    same = milvus_none = ours_none = differ = 0
    cap = 16384
    for tok in sorted(tokens_seen):
        t = index.bm25.vocab.get(tok)
        df_ours = int(index.bm25.indptr[t + 1] - index.bm25.indptr[t]) if t is not None else 0
        df_milvus = len(index.milvus.bm25_top(tok, everywhere, cap)[0])
        df_ours = min(df_ours, cap)
        if df_ours == df_milvus:
            same += 1
        elif df_milvus == 0:
            milvus_none += 1
        elif df_ours == 0:
            ours_none += 1
        else:
            differ += 1
    total = len(tokens_seen)
    print(f"{n} questions with search tokens; {len(index.chunks)} chunks")
    print(f"top-10 of ours also in Milvus's top-10: {np.mean(over10):.3f}; top-200: {np.mean(over200):.3f}")
    print(f"questions whose BM25 list is empty: ours {empty_ours}, Milvus {empty_milvus}")
    print(f"{total} distinct question tokens: same document frequency {same / total:.3f}, "
          f"in no chunk for Milvus but in some for us {milvus_none / total:.3f}, "
          f"the reverse {ours_none / total:.3f}, other counts {differ / total:.3f}")
    index.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
