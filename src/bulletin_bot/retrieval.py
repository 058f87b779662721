"""Question -> ranked articles: filters from the question, dense + BM25 fused, abstention.

Dense and BM25 scores are computed exactly for the union of both candidate lists, then
fused as a convex combination of the dense lift and the BM25 score scaled by its best
candidate. The dense lift is how much closer a chunk is to the question than chunks picked at
random are (the model's own baseline), divided by how widely the model's cosines spread and
multiplied by static-zh's spread, so that weights and thresholds chosen with static-zh mean
the same with e5, whose cosines crowd near 0.86. Articles are ranked by their best chunk.
Whether anything was found at all is decided by the evidence for the best article: the share
of the question's information its text contains (`coverage`) plus its dense lift.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from .models import QueryFilters
from .store import LoadedIndex, date_int
from .text import is_question_word, query_terms, search_tokens, term_credit, term_weight

# the spread of static-zh's cosines between unrelated chunks of the evaluation index, where the
# thresholds below were chosen; other models' dense lifts are rescaled to it (store.dense_spread)
REFERENCE_SPREAD = 0.162


@dataclass(frozen=True)
class RetrievalSettings:
    candidates: int = 200  # per retriever, before fusion
    dense_weight: float = 0.25  # weight of the dense cosine in the fused score (the rest: BM25)
    # coverage + dense lift the best article needs; chosen on the dev questions plus our
    # negatives (see README, "Saying not found")
    min_evidence: float = 0.7
    # a result after the first is shown only with this much evidence of its own, so a good
    # answer is not followed by noise
    min_result_evidence: float = 0.6
    report_lag_days: int = 7  # a bulletin reports an event up to this many days after it
    # ... and a month's or a year's figures come out weeks later (March's trade in mid-April)
    period_lag_days: int = 20


@dataclass(frozen=True)
class ArticleHit:
    article_id: int
    score: float
    chunk_ids: tuple[int, ...]  # its matching chunks, best first
    lift: float = 0.0  # its best chunk's cosine minus the question's baseline, in static-zh units (see Retrieval)


@dataclass(frozen=True)
class Retrieval:
    filters: QueryFilters
    terms: tuple[str, ...]  # search tokens of the question (after filter phrases were taken out)
    words: tuple[str, ...]  # the question's content words, for judging each hit's evidence
    hits: tuple[ArticleHit, ...]  # ranked, all of them (callers page through)
    coverage: float  # of the best hit
    dense_lift: float  # best hit's cosine minus the question's mean cosine to random chunks, in static-zh units
    found: bool
    reason: str = ""
    weights: dict[str, float] = field(default_factory=dict)  # question words -> term_weight


# ---------------------------------------------------------------- filters

_ISSUE = re.compile(r"第\s*(\d{1,6})\s*期")
_DAY = re.compile(r"(\d{4})\s*[年\-/.]\s*(\d{1,2})\s*[月\-/.]\s*(\d{1,2})\s*[日号]?")
_MONTH = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月份?")
_HALF = re.compile(r"(\d{4})\s*年\s*(上半年|下半年)")
_YEAR = re.compile(r"(\d{4})\s*年(?:度)?")
_SINCE = re.compile(r"^\s*(以来|至今|以后|之后|起|开始)")
# "截至2023年底…": the figures are as of that date and are reported after it, months later
# for a year's (the count of 少先队员 at the end of 2023 came out on 1 June 2024)
_AS_OF = re.compile(r"(?:截至|截止|截止到|到)\s*$")
_AS_OF_END = re.compile(r"^\s*(?:底|末|为止|止)")
_SECTION = re.compile(r"【([^【】]{1,12})】|《([^《》]{1,12})》\s*(?:栏目|专栏|板块|版块)|([\u4e00-\u9fff]{2,8})(?:栏目|专栏|板块|版块)")


def _iso(d: date) -> str:
    return d.isoformat()


def parse_filters(
    question: str, sections: list[str], lag_days: int = 7, period_lag_days: int = 20
) -> tuple[QueryFilters, str]:
    """Filters named in the question, and the question with those phrases taken out."""
    issue = None
    date_from = date_to = None
    section = None
    rest = question

    m = _ISSUE.search(rest)
    if m:
        issue = int(m.group(1))
        rest = rest[: m.start()] + " " + rest[m.end() :]

    span = None
    for pattern, kind in ((_DAY, "day"), (_HALF, "half"), (_MONTH, "month"), (_YEAR, "year")):
        m = pattern.search(rest)
        if not m:
            continue
        try:
            y = int(m.group(1))
            if kind == "day":
                first = last = date(y, int(m.group(2)), int(m.group(3)))
            elif kind == "month":
                mo = int(m.group(2))
                first, last = date(y, mo, 1), date(y, mo, calendar.monthrange(y, mo)[1])
            elif kind == "half":
                first, last = (date(y, 1, 1), date(y, 6, 30)) if m.group(2) == "上半年" else (date(y, 7, 1), date(y, 12, 31))
            else:
                if not 1900 <= y <= 2100:
                    continue
                first, last = date(y, 1, 1), date(y, 12, 31)
        except ValueError:  # 2023年13月: not a date
            continue
        span = (first, last, m, lag_days if kind == "day" else period_lag_days)
        break
    if span:
        first, last, m, lag = span
        since = _SINCE.match(rest[m.end() :])
        as_of = _AS_OF.search(rest[: m.start()])
        as_of_end = _AS_OF_END.match(rest[m.end() :])
        end = m.end() + (since.end() if since else 0)
        if as_of and (as_of_end or m.re is _DAY) and not since:
            # the state of things at that date: published on it or after
            date_from, date_to = _iso(last), None
            end = m.end() + (as_of_end.end() if as_of_end else 0)
        else:
            date_from = _iso(first)
            date_to = None if since else _iso(last + timedelta(days=lag))
        rest = rest[: m.start()] + " " + rest[end:]

    m = _SECTION.search(rest)
    if m:
        name = next(g for g in m.groups() if g)
        known = {s: s for s in sections}
        # "经验交流栏目" and "【经验交流】" name a section only if the index has it
        match = known.get(name) or next((s for s in sections if name.endswith(s) and len(s) >= 2), None)
        if match:
            section = match
            rest = rest[: m.start()] + " " + rest[m.end() :]

    filters = QueryFilters(issue=issue, date_from=date_from, date_to=date_to, section=section)
    return filters, re.sub(r"\s+", " ", rest).strip()


def filter_mask(index: LoadedIndex, filters: QueryFilters) -> np.ndarray | None:
    """Boolean mask over chunks, or None when the question names no filter."""
    if not filters.any():
        return None
    issues_ok = np.ones(len(index.issues), dtype=bool)
    if filters.issue is not None:
        issues_ok &= index.issues["number"] == filters.issue
    if filters.date_from:
        issues_ok &= index.issues["date"] >= date_int(filters.date_from)
    if filters.date_to:
        issues_ok &= index.issues["date"] <= date_int(filters.date_to)
    articles_ok = issues_ok[index.article_issue]
    if filters.section is not None:
        sec = index.sections.index(filters.section) if filters.section in index.sections else -1
        articles_ok &= index.articles["section"] == sec
    return articles_ok[index.chunk_article]


def describe_filters(filters: QueryFilters) -> str:
    parts = []
    if filters.issue is not None:
        parts.append(f"第{filters.issue}期")
    if filters.date_from and filters.date_to:
        parts.append(f"{filters.date_from} 至 {filters.date_to}")
    elif filters.date_from:
        parts.append(f"{filters.date_from} 以来")
    if filters.section:
        parts.append(f"【{filters.section}】")
    return "、".join(parts)


# ---------------------------------------------------------------- ranking


def _top(scores: np.ndarray, ids: np.ndarray, k: int) -> np.ndarray:
    if len(ids) <= k:
        return ids[np.argsort(-scores, kind="stable")]
    part = np.argpartition(-scores, k)[:k]
    return ids[part[np.argsort(-scores[part], kind="stable")]]


def coverage(terms: list[str], text: str) -> float:
    """Share of the question's information (see `term_weight`) whose words appear in `text`."""
    total = sum(term_weight(t) for t in terms)
    if total <= 0:
        return 0.0
    return sum(term_weight(t) * term_credit(t, text) for t in terms) / total


def retrieve(
    index: LoadedIndex,
    embedder,
    question: str,
    settings: RetrievalSettings = RetrievalSettings(),
) -> Retrieval:
    filters, rest = parse_filters(question, index.sections, settings.report_lag_days, settings.period_lag_days)
    text = rest or question
    tokens = [t for t in search_tokens(text) if not is_question_word(t)]
    mask = filter_mask(index, filters)
    n = len(index.chunks)
    allowed = np.flatnonzero(mask) if mask is not None else None
    if n == 0 or (allowed is not None and len(allowed) == 0):
        where = describe_filters(filters)
        return Retrieval(filters, tuple(tokens), (), (), 0.0, 0.0, False,
                         reason=f"索引中没有{where}的简报" if where else "索引是空的")

    # BM25 over every allowed chunk (a handful of sparse columns: cheap)
    bm25_all = index.bm25.scores(tokens)
    # only chunks holding a question word can be BM25 candidates: select among those
    # (at 2.4M chunks: 10 ms instead of 20 ms for a top-200 over every score)
    bm25_ids = np.flatnonzero(bm25_all)
    if allowed is not None:
        bm25_ids = bm25_ids[mask[bm25_ids]]
    k = settings.candidates
    bm25_top = _top(bm25_all[bm25_ids], bm25_ids, k)

    # dense: FAISS over everything, exact over a filtered subset
    qvec = np.asarray(embedder.embed_query(text), dtype=np.float32)
    if allowed is None:
        _, ids = index.faiss.search(qvec[None, :], min(k, n))
        dense_top = ids[0][ids[0] >= 0]
    else:
        sub_scores = np.asarray(index.vectors[allowed] @ qvec)
        dense_top = _top(sub_scores, allowed, k)
    cand = np.unique(np.concatenate([bm25_top, dense_top]).astype(np.int64))
    dense = np.asarray(index.vectors[cand] @ qvec, dtype=np.float32)
    bm = bm25_all[cand]
    bm_max = float(bm.max()) if len(bm) else 0.0
    bm_norm = bm / bm_max if bm_max > 0 else bm
    baseline = float(np.mean(index.baseline_vectors @ qvec)) if len(index.baseline_vectors) else 0.0
    # cosines in static-zh units: the weights and thresholds were chosen with it, and models
    # differ in how far their cosines spread (e5's unrelated chunks sit at 0.86 ± 0.02,
    # static-zh's at 0.44 ± 0.16); for static-zh this changes nothing
    scale = REFERENCE_SPREAD / index.dense_spread if index.dense_spread > 0 else 1.0
    lift = (dense - baseline) * scale
    w = settings.dense_weight
    fused = w * lift + (1.0 - w) * bm_norm

    # group by article: an article scores as its best chunk
    order = np.argsort(-fused, kind="stable")
    best: dict[int, list[int]] = {}
    score_of: dict[int, float] = {}
    dense_of: dict[int, float] = {}
    articles_of = index.chunk_article[cand[order]].tolist()
    for i, art in zip(order.tolist(), articles_of):
        if art not in best:
            best[art] = []
            score_of[art] = float(fused[i])
        best[art].append(int(cand[i]))
        dense_of[art] = max(dense_of.get(art, -1e9), float(lift[i]))
    hits = tuple(ArticleHit(a, score_of[a], tuple(c), dense_of[a]) for a, c in best.items())

    # abstain unless the best article holds most of the question's rare words
    terms = query_terms(text)
    weights = {t: term_weight(t) for t in [*terms, *tokens]}
    cov = lift = 0.0
    if hits:
        row = index.article_row(hits[0].article_id)
        cov = coverage(terms, f"{row[4]}\n{row[5]}") if row else 0.0
        lift = hits[0].lift
    found = bool(hits) and (cov + lift >= settings.min_evidence or not terms)
    reason = "" if found else "简报中没有找到与问题足够相符的内容"
    return Retrieval(filters, tuple(tokens), tuple(terms), hits, cov, lift, found, reason, weights)
