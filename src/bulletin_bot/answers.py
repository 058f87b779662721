"""Ranked articles -> quotes and citations: the 1–3 sentences that answer, verbatim.

Every quoted piece is a slice of the article text (`spans` say where), so a quote can always
be checked against the bulletin; "…" marks where sentences were skipped or a long sentence cut.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .models import Answer, Citation, Quote
from .retrieval import Retrieval
from .store import LoadedIndex
from .text import sentence_spans

ELLIPSIS = "…"
_CLAUSE_END = re.compile(r"[，、：,:]")


@dataclass(frozen=True)
class QuoteSettings:
    max_sentences: int = 3
    max_chars: int = 260  # whole quote
    long_sentence: int = 180  # longer sentences are cut to the clauses that match
    companion_ratio: float = 0.5  # a 2nd/3rd sentence must score this share of the best


def _sentence_score(sentence: str, weights: dict[str, float]) -> float:
    return sum(w for t, w in weights.items() if t in sentence)


def _trim_long(text: str, start: int, end: int, weights: dict[str, float], limit: int) -> tuple[int, int]:
    """Cut a long sentence to the window of whole clauses that carries the most matches."""
    if end - start <= limit:
        return start, end
    cuts = [start] + [m.end() for m in _CLAUSE_END.finditer(text, start, end)] + [end]
    cuts = sorted(set(cuts))
    best = (start, min(end, start + limit))
    best_score = -1.0
    for i in range(len(cuts) - 1):
        for j in range(i + 1, len(cuts)):
            if cuts[j] - cuts[i] > limit:
                break
            score = _sentence_score(text[cuts[i] : cuts[j]], weights)
            if score > best_score:
                best, best_score = (cuts[i], cuts[j]), score
    return best


def select_spans(
    text: str, weights: dict[str, float], focus: list[tuple[int, int]], settings: QuoteSettings = QuoteSettings()
) -> list[tuple[int, int]]:
    """The best sentences of `text` for the question terms in `weights`, in reading order.

    `focus` are the spans of the article's best-ranked chunks: their sentences win ties, and
    when no sentence shares a word with the question the quote is taken from them.
    """
    sentences = sentence_spans(text)
    if not sentences:
        return []
    scored = []
    for pos, (s, e) in enumerate(sentences):
        lexical = _sentence_score(text[s:e], weights)
        in_focus = any(s < fe and e > fs for fs, fe in focus[:1])
        # prefer matches in the retrieved chunk, and shorter sentences among equals
        scored.append((lexical * (1.15 if in_focus else 1.0) - (e - s) / 10000.0, pos))
    scored.sort(reverse=True)
    top_score, top_pos = scored[0]
    if top_score <= 0:
        fs, fe = focus[0] if focus else sentences[0]
        chosen = [i for i, (s, e) in enumerate(sentences) if s < fe and e > fs][:2] or [0]
    else:
        chosen = [top_pos]
        for score, pos in scored[1:]:
            if len(chosen) >= settings.max_sentences or score < settings.companion_ratio * top_score or score <= 0:
                break
            chosen.append(pos)
    chosen.sort()
    spans: list[tuple[int, int]] = []
    total = 0
    for pos in chosen:
        s, e = sentences[pos]
        s, e = _trim_long(text, s, e, weights, settings.long_sentence)
        if spans and total + (e - s) > settings.max_chars:
            continue
        spans.append((s, e))
        total += e - s
    return spans


def render_quote(text: str, spans: list[tuple[int, int]]) -> str:
    """Join the spans with … where text between them (or a cut sentence's rest) was left out."""
    sentence_starts = {s for s, _ in sentence_spans(text)}
    sentence_ends = {e for _, e in sentence_spans(text)}
    parts: list[str] = []
    prev_end = None
    for s, e in spans:
        gap = text[prev_end:s] if prev_end is not None else ""
        if prev_end is None:
            if s not in sentence_starts:
                parts.append(ELLIPSIS)
        elif gap.strip():
            parts.append(ELLIPSIS)
        else:
            parts.append(gap)  # adjacent sentences: keep the text between them (a line break) verbatim
        parts.append(text[s:e])
        prev_end = e
    if spans and spans[-1][1] not in sentence_ends:
        parts.append(ELLIPSIS)
    return "".join(parts)


def build_answer(
    question: str,
    index: LoadedIndex,
    retrieval: Retrieval,
    top_k: int = 5,
    offset: int = 0,
    settings: QuoteSettings = QuoteSettings(),
) -> Answer:
    if not retrieval.found:
        return Answer(question, False, (), retrieval.filters, retrieval.reason)
    quotes: list[Quote] = []
    for hit in retrieval.hits[offset : offset + top_k]:
        row = index.article_row(hit.article_id)
        if row is None:
            continue
        article_id, issue_id, idx, section, title, text = row
        issue = index.issue_row(issue_id)
        focus = [(int(index.chunks["start"][c]), int(index.chunks["end"][c])) for c in hit.chunk_ids[:2]]
        spans = select_spans(text, retrieval.weights, focus, settings)
        citation = Citation(
            series=issue[1], issue=issue[2], date=issue[3], section=section, title=title, file=issue[6],
            article_index=idx,
        )
        quotes.append(Quote(citation, render_quote(text, spans), tuple(spans), round(hit.score, 4), article_id))
    return Answer(question, True, tuple(quotes), retrieval.filters)


def answer_to_json(answer: Answer) -> dict:
    """The object `bulletin-bot ask --json` prints and `/api/ask` returns."""
    return {
        "query": answer.query,
        "found": answer.found,
        "reason": answer.reason,
        "results": [
            {
                "issue": q.citation.issue,
                "date": q.citation.date,
                "section": q.citation.section,
                "title": q.citation.title,
                "quote": q.quote,
                "score": q.score,
                "file": q.citation.file,
                "series": q.citation.series,
                "article_id": q.article_id,
                "article_index": q.citation.article_index,
                "spans": [list(s) for s in q.spans],
                "citation": q.citation.label(),
            }
            for q in answer.results
        ],
    }
