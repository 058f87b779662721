"""What the ranking's stages hand each other: settings, article hits, candidates, the result.

Below every stage (question, specifics -> first stage -> second stage -> answerability -> search): each
imports this module and the stages before it, never a later one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ..models import QueryFilters

if TYPE_CHECKING:
    from ..store import ArticleRecord

# the spread of static-zh's cosines between unrelated chunks of the evaluation index, where the
# weights and thresholds were chosen; other models' dense lifts are rescaled to it
REFERENCE_SPREAD = 0.162
# rows of the vector matrix read at once for a restricted search: bounds the memory a question
# takes whatever the restriction (16k x 384 float32 = 24 MB)
SCAN_BLOCK = 16384


@dataclass(frozen=True)
class RetrievalSettings:
    candidates: int = 200  # per retriever, before fusion
    dense_weight: float = 0.25  # weight of the dense lift in the fused score (the rest: BM25)
    date_weight: float = 0.15  # added to a chunk whose issue is dated in a period the question names
    lag_credit: float = 0.5  # ... times this when it is dated in the weeks after the period
    # the first stage's best articles the second stage re-scores; only they can be shown
    rerank_depth: int = 30


@dataclass(frozen=True)
class ArticleHit:
    article_id: int
    score: float
    chunk_ids: tuple[int, ...]  # its matching chunks, best first
    lift: float = 0.0  # its best chunk's cosine minus the question's baseline, in static-zh units
    bm25: float = 0.0  # its best chunk's BM25 score over the best candidate's
    answers: bool = True  # the evidence says it answers the question (answerability.py)
    closest: bool = True  # ... or at least is close enough to show under a "not found" warning
    # the evidence model's probability that it answers (answerability.py): how two readings of
    # one chat message are compared (conversation.py)
    probability: float = 0.0


@dataclass(frozen=True)
class Retrieval:
    filters: QueryFilters  # the restriction applied (empty when there was none, or it was dropped)
    terms: tuple[str, ...]  # search tokens of the question
    words: tuple[str, ...]  # the question's content words, for judging each hit's evidence
    hits: tuple[ArticleHit, ...]  # ranked, all of them (callers page through)
    found: bool  # the best hit answers the question
    reason: str = ""  # why not, when not found
    note: str = ""  # said above the results: a restriction that was dropped
    weights: dict[str, float] = field(default_factory=dict)  # question words -> term_weight
    reason_code: str = ""  # the reason as a code for machines (answerability.REASONS)


@dataclass(frozen=True)
class Candidate:
    hit: ArticleHit
    record: ArticleRecord
    features: np.ndarray
    specific_missing: tuple[str, ...]  # the question's names and figures the article lacks
    named: bool  # the question names any place, person or figure at all
    passage: str = ""  # its title and the run of sentences that covers the question best
