"""Whether a hit answers the question: the one "not found" rule.

Judged on evidence about the passage, not on how many of the question's words the archive
holds somewhere: whether the question's words sit together in one passage and how close its
meaning is, whether every name, place and figure the
question gives is there (in this article, and how well the best of the first five that holds
them all covers the question: a question about a place the archive never covered finds none), and whether the article is dated in the period
the question asks about. The features are combined by a logistic model learned with the
second stage's weights (`scripts/learn_ranking.py`, kept in `data/evidence.json`); its
threshold keeps the answerable questions it wrongly calls "not found" near 5%.

The question counts as found when the best hit answers. The answer shows the best hit either
way (under a warning when it does not), and later hits only when they answer, so one good
answer is not followed by noise.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

import numpy as np

from .rerank import FEATURES as RERANK_FEATURES

if TYPE_CHECKING:
    from .query import ParsedQuestion
    from .rerank import Candidate

FEATURES = (
    "bias", "cov_passage", "cov_article", "specific", "specific_missing", "lift",
    "bigrams_passage", "dated_issue", "dated_text", "asks_date", "complete_cover", "names", "cover_unnamed", "lift_unnamed",
)
_FROM_RERANK = ("cov_passage", "cov_article", "specific", "specific_missing", "lift", "bigrams_passage",
                "dated_issue", "dated_text")
TOP_FOR_COMPLETE = 5
LATER_SHARE = 0.5
# below this share of the threshold a passage shares too little with the question to be
# worth showing even under a warning ("红烧肉怎么做" gets a plain "not found")
CLOSEST_SHARE = 0.3
# whatever the model says, a passage holding under this share of the question's information
# does not answer it: the dense model alone is not evidence (and a test model's is noise)
MIN_COVER = 0.2


@dataclass(frozen=True)
class EvidenceModel:
    weights: np.ndarray
    threshold: float  # a hit answers when its probability is at least this

    def probability(self, x: np.ndarray) -> float:
        z = float(x @ self.weights)
        return 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))


@cache
def model() -> EvidenceModel:
    data = json.loads(resources.files("bulletin_bot").joinpath("data", "evidence.json").read_text(encoding="utf-8"))
    w = data["weights"]
    return EvidenceModel(np.array([w.get(n, 0.0) for n in FEATURES], dtype=np.float64), float(data["threshold"]))


def features(candidates: list[Candidate], pq: ParsedQuestion) -> list[np.ndarray]:
    """Evidence features of each candidate; `candidates` best first."""
    # a question that names no place, person or figure: their presence says nothing
    named = bool(candidates) and candidates[0].named
    spec, cov = RERANK_FEATURES.index("specific"), RERANK_FEATURES.index("cov_passage")
    # how well the best of the first five that holds every name and figure covers the question
    complete = max((float(c.features[cov]) for c in candidates[:TOP_FOR_COMPLETE] if c.features[spec] >= 1.0),
                   default=0.0) if named else 0.0
    out = []
    # only what holds whatever the archive's size: scores relative to the best candidate or
    # leads over the next one mean little in an index of three articles
    for c in candidates:
        f = dict(zip(RERANK_FEATURES, c.features))
        out.append(np.array([1.0, *(f[n] for n in _FROM_RERANK),
                             float(bool(pq.windows)), complete, float(named),
                             0.0 if named else f["cov_passage"], 0.0 if named else f["lift"]]))
    return out


@dataclass(frozen=True)
class Judgement:
    answers: bool  # this hit answers the question
    closest: bool  # it does not, but it is close enough to show under a "not found" warning
    probability: float


def judge_hits(candidates: list[Candidate], pq: ParsedQuestion, words: list[str]) -> list[Judgement]:
    """For each candidate (best first), whether it answers the question."""
    if not words:  # nothing asked but a restriction ("第455期"): everything in it answers
        return [Judgement(True, True, 1.0)] * len(candidates)
    m = model()
    cover = FEATURES.index("cov_passage")
    out = []
    for i, x in enumerate(features(candidates, pq)):
        p = m.probability(x)
        # a later hit is judged against a lower bar: the question is known to be answered,
        # and it only has to be worth showing beside the best
        bar = m.threshold if i == 0 else m.threshold * LATER_SHARE
        lexical = bool(x[cover] >= MIN_COVER)
        out.append(Judgement(lexical and p >= bar, lexical and p >= m.threshold * CLOSEST_SHARE, float(p)))
    return out
