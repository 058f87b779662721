"""The second stage: re-score the first stage's best articles by what the question asks.

The first stage (retrieval.py) ranks chunks by words and by the embedding. This stage reads
each of its best articles whole and asks what a reader would: does it hold all the names,
places and figures the question gives, do the question's words sit together in one passage,
is it dated in (or does it name) the period the question asks about? The features are
combined linearly; the weights are learned by `scripts/learn_ranking.py` on the tuning
questions and kept in `data/rerank.json`, with how they were learned.
"""

from __future__ import annotations

import json
import re
from datetime import date
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

import numpy as np

from ..text import coverage, sentence_spans
from .candidate import Candidate
from .specifics import names_place, places

if TYPE_CHECKING:
    from ..store import ArticleRecord, LoadedIndex
    from .candidate import ArticleHit
    from .question import ParsedQuestion

FEATURES = (
    "bias", "first_stage", "bm25", "lift", "cov_article", "cov_passage", "cov_title",
    "specific", "specific_missing", "dated_issue", "dated_text", "first_rank",
    "bigrams_article", "bigrams_passage", "read",
)
# the reader's cosines spread about 0.02 between unrelated chunks (static-zh's 0.16): lifted
# this much, they sit on the other features' scale
READ_SCALE = 20.0
PASSAGE_SENTENCES = 3
# characters that make a pair say nothing: particles, question words, measure words
_STOP_CHARS = set("的了吗呢吧啊是在有和与及或也都就还又把被让给对从向为以之其这那哪什么怎多少几个些")


@cache
def weights(read: bool = True) -> np.ndarray:
    """The learned weights: with the reader's vectors (`read`), or those learned without them,
    for a version whose vectors are not complete yet (reader_vectors.py)."""
    data = json.loads(resources.files("bulletin_bot").joinpath("data", "rerank.json").read_text(encoding="utf-8"))
    w = data["weights"] if read else data.get("weights_without_reader", data["weights"])
    return np.array([w.get(name, 0.0) for name in FEATURES], dtype=np.float64)


@dataclass(frozen=True)
class Reading:
    """The question as the reader reads it: its vector, and its mean cosine to a sample of the
    version's chunks (what "unrelated" is for this question)."""

    vector: np.ndarray
    baseline: float


def read_lift(index: LoadedIndex, article_id: int, reading: Reading) -> float:
    """How much closer the article's nearest chunk is to the question than unrelated chunks are,
    in the reader's vectors (0 when the version has none). Quotes still start from the first
    stage's chunk: starting them from the reader's nearest one quoted the answer less often
    (quote@5 0.908 → 0.901 on 487 questions of the tuning sets)."""
    vecs = index.reader_vectors
    if vecs is None:
        return 0.0
    lo, hi = (int(x) for x in np.searchsorted(index.chunk_article, [article_id, article_id + 1]))
    if hi <= lo:
        return 0.0
    sims = np.asarray(vecs[lo:hi], dtype=np.float32) @ reading.vector
    return (float(np.max(sims)) - reading.baseline) * READ_SCALE


_HAN = re.compile(r"[\u3400-\u9fff]{2,}|[0-9a-zA-Z]+")


def bigrams(text: str) -> set[str]:
    """Character pairs of the Chinese runs of `text` (and whole Latin/digit runs): matches that
    word segmentation misses (天山胜利隧道 ~ 天山…隧道, 疣鼻天鹅 ~ 天鹅)."""
    out = set()
    for run in _HAN.findall(text):
        if run.isascii():
            out.add(run.lower())
        else:
            out.update(run[i : i + 2] for i in range(len(run) - 1))
    return out


def _bigram_cover(q: set[str], text: str) -> float:
    return sum(b in text for b in q) / len(q) if q else 0.0


def _holds(word: str, text: str, dated: float) -> bool:
    """Whether an article (lower-cased text) holds a specific word of the question. A year is
    there when the article is dated in the period asked about, or names the year as a year
    ("2025年", not the 2025 of "2025届")."""
    if word.isdigit() and len(word) == 4 and 1900 <= int(word) <= 2100:
        return dated > 0 or f"{word}年" in text
    if word in places():  # a province is there when one of its places is
        return names_place(word, text)
    return word in text


def _issue_day(index: LoadedIndex, article_id: int) -> date | None:
    d = int(index.issues["date"][index.article_issue[article_id]])
    try:
        return date(d // 10000, d // 100 % 100, d % 100)
    except ValueError:
        return None


def features(index: LoadedIndex, hits: list[ArticleHit], records: dict[int, ArticleRecord], pq: ParsedQuestion,
             words: list[str], specific: list[str], reading: Reading | None = None) -> list[Candidate]:
    top = hits[0].score if hits and hits[0].score > 0 else 1.0
    qgrams = {b for b in bigrams(pq.text) if not any(c in _STOP_CHARS for c in b)}
    hits = [h for h in hits if h.article_id in records]
    split = [[records[h.article_id].text[a:b] for a, b in sentence_spans(records[h.article_id].text)] for h in hits]
    out = []
    for rank, (hit, sentences) in enumerate(zip(hits, split)):
        rec = records[hit.article_id]
        whole = f"{rec.title}\n{rec.text}"
        day = _issue_day(index, hit.article_id)
        dated_issue = max((w.credit(day) for w in pq.windows), default=0.0) if day else 0.0
        dated_text = float(any(k in rec.text for w in pq.windows for k in w.keys))
        # a year the question names is there when the article is dated in its period
        lower = whole.lower()
        missing = tuple(w for w in specific if not _holds(w, lower, dated_issue))
        passages = [rec.title + "\n" + "".join(sentences[i : i + PASSAGE_SENTENCES])
                    for i in range(max(1, len(sentences) - PASSAGE_SENTENCES + 1))]
        read = read_lift(index, hit.article_id, reading) if reading is not None else 0.0
        covers = [coverage(words, p) for p in passages]
        best = int(np.argmax(covers))
        x = np.array([
            1.0,
            hit.score / top,
            hit.bm25,
            hit.lift,
            coverage(words, whole),
            covers[best],
            coverage(words, rec.title),
            1.0 - len(missing) / len(specific) if specific else 0.0,  # nothing named: no evidence either way
            float(bool(missing)),
            dated_issue,
            dated_text,
            1.0 / (1.0 + rank),
            _bigram_cover(qgrams, whole),
            max(_bigram_cover(qgrams, p) for p in passages),
            read,
        ])
        out.append(Candidate(hit, rec, x, missing, bool(specific), passages[best]))
    return out


def rescore(candidates: list[Candidate], read: bool = False) -> list[float]:
    """The second stage's scores; `read`: the candidates carry the reader's lift."""
    w = weights(read)
    return [float(c.features @ w) for c in candidates]
