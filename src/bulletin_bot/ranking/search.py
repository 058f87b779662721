"""Question -> ranked, judged articles: the stages put together.

The question is read (question.py), the first stage ranks chunks by words and meaning
(first_stage.py), the second re-scores its best articles as a reader would (second_stage.py),
and answerability.py says whether the best ones answer at all, and if not, why. A restriction
the question names (第455期, 2023年12月的简报) is searched first and dropped, with a note, when
nothing in it answers.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import numpy as np

from ..models import QueryFilters
from ..store import LoadedIndex
from ..text import specific_words, term_weight
from .answerability import Reader, judge_hits, verdict
from .candidate import ArticleHit, Candidate, Retrieval, RetrievalSettings
from .first_stage import filter_mask, first_stage, newest_issue_date
from .question import ParsedQuestion, describe_filters, is_bulletin_word, parse_question
from .second_stage import features as rerank_features
from .second_stage import Reading, rescore


def reading(index: LoadedIndex, pq: ParsedQuestion, reader: Reader | None) -> Reading | None:
    """The question as the reader reads it, when the version has the reader's vectors (they
    come some time after a build: reader_vectors.py) and the reader can give one."""
    if reader is None or not hasattr(reader, "query_vector") or index.reader_vectors is None:
        return None
    vec = np.asarray(reader.query_vector(pq.text or pq.question), dtype=np.float32)
    return Reading(vec, float(np.mean(index.reader_baseline @ vec)))


def _candidates(index: LoadedIndex, pq: ParsedQuestion, words: list[str], hits: list[ArticleHit],
                depth: int, read: Reading | None = None) -> list[Candidate]:
    top = hits[:depth]
    records = index.article_records([h.article_id for h in top])
    specific = [w for w in specific_words(pq.text) if not is_bulletin_word(w)]
    return rerank_features(index, top, records, pq, words, specific, read)


def candidates(index: LoadedIndex, embedder, question: str, settings: RetrievalSettings = RetrievalSettings(),
               reader: Reader | None = None) -> list[Candidate]:
    """The first stage's best articles with their second-stage features (for learning the weights)."""
    pq = parse_question(question, index.sections, newest=newest_issue_date(index))
    _tokens, words, hits = first_stage(index, embedder, pq, None, settings)
    return _candidates(index, pq, words, hits, settings.rerank_depth, reading(index, pq, reader))


def _search(index: LoadedIndex, embedder, pq: ParsedQuestion, mask: np.ndarray | None,
            settings: RetrievalSettings, reader: Reader | None) -> Retrieval:
    tokens, words, hits = first_stage(index, embedder, pq, mask, settings)
    weights = {t: term_weight(t) for t in [*words, *tokens]}
    read = reading(index, pq, reader) if settings.rerank_depth else None
    cands = _candidates(index, pq, words, hits, settings.rerank_depth, read) if settings.rerank_depth else []
    newest = newest_issue_date(index)
    judged = []
    if cands:
        scores = rescore(cands, read is not None)
        order = sorted(range(len(cands)), key=lambda i: -scores[i])
        cands, scores = [cands[i] for i in order], [scores[i] for i in order]
        judged = judge_hits(cands, pq, words, reader, newest)
        hits = [replace(c.hit, score=round(s, 4), answers=j.answers, closest=j.closest,
                        probability=round(j.probability, 4))
                for c, s, j in zip(cands, scores, judged)]
    else:
        hits = []
    v = verdict(judged, pq, newest)
    return Retrieval(QueryFilters(), tuple(tokens), tuple(words), tuple(hits), v.found, v.reason, weights=weights,
                     reason_code=v.reason_code)


def retrieve(index: LoadedIndex, embedder, question: str, settings: RetrievalSettings = RetrievalSettings(),
             today: date | None = None, reader: Reader | None = None) -> Retrieval:
    """Ranked articles for `question`, within the bulletins it names if any answer there.

    `reader` reads the question with the best passages (answerability.Reader); without one the
    verdict rests on the words alone."""
    pq = parse_question(question, index.sections, newest=newest_issue_date(index), today=today)
    if not pq.filters.any():
        return _search(index, embedder, pq, None, settings, reader)
    where = describe_filters(pq.filters)
    mask = filter_mask(index, pq.filters)
    if mask is not None and mask.any():
        restricted = _search(index, embedder, pq, mask, settings, reader)
        if restricted.found or not pq.text:
            return replace(restricted, filters=pq.filters)
        note = f"{where}的简报中没有找到相关内容，以下是其他简报中的结果"
    else:
        note = f"索引中没有{where}的简报，以下是其他简报中的结果"
    everywhere = _search(index, embedder, pq, None, settings, reader)
    if not everywhere.words:  # nothing to search for but the restriction itself
        return Retrieval(pq.filters, (), (), (), False, f"索引中没有{where}的简报", reason_code="restriction")
    return replace(everywhere, note=note)
