"""Ranked articles -> quotes and citations: the passage that answers, verbatim.

A quote is the best run of up to three sentences, sometimes a second shorter passage of the
same article holding the question's other words, and for a "how" question the sentence after.

Every quoted piece is a slice of the article text (`spans` say where), so a quote can always
be checked against the bulletin; "…" marks where sentences were skipped or a long sentence cut.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .models import Answer, Citation, Quote
from .ranking import Retrieval
from .store import LoadedIndex
from .text import sentence_spans

ELLIPSIS = "…"
_CLAUSE_END = re.compile(r"[，、：,:]")
_TERMINAL = set("。！？；!?;…”’」』）)")


@dataclass(frozen=True)
class QuoteSettings:
    max_sentences: int = 3
    max_chars: int = 300  # whole quote
    min_chars: int = 120  # a shorter passage is grown by the sentences after it
    # weight of a sentence's cosine to the question (times the question's total word weight);
    # 0.4-0.8 measured best on the dev questions (quote@5 0.80 -> 0.867)
    dense_weight: float = 0.5
    long_sentence: int = 180  # longer sentences are cut to the clauses that match
    second_gain: float = 0.1  # a second, separate passage must add this share of the question's weight


# a sentence holding a figure: what a 多少 question asks for
_FIGURE = re.compile(r"[0-9０-９]|[一二三四五六七八九十百千万亿两]+[个年次天种条位名家所项座米吨元人列辆台]")
# What a question asks for, and what a sentence holding that answer looks like: a date for
# 哪天, a figure for 多少, a cause for 为什么. Checked in order; the first match decides.
_ANSWER_SHAPES: tuple[tuple[re.Pattern, re.Pattern], ...] = (
    (re.compile(r"哪一?天|何时|什么时候|几月几[日号]|哪个日子"),
     re.compile(r"\d{1,2}月\d{1,2}[日号]|今天|昨天|当天")),
    (re.compile(r"哪一?年|哪个月|什么年代"),
     re.compile(r"\d{4}年|\d{1,2}月")),
    (re.compile(r"多少|几[个年次天种条位名家所项座列辆吨台]|多[高长深远大重久宽快]|第几"),
     _FIGURE),
    (re.compile(r"为什么|为何|原因|怎么会|缘何"),
     re.compile(r"因为|由于|原因|得益于|关系密切|导致|所致|归功于|因[^此素而]")),
)


# "How did they …?": the question restates the problem, and the answer is what follows it.
_ASKS_HOW = re.compile(r"怎么|怎样|如何|什么办法|哪些办法|什么做法|哪些做法")


def asks_how(question: str) -> bool:
    return bool(_ASKS_HOW.search(question))


def answer_shape(question: str) -> re.Pattern | None:
    """The pattern a sentence answering `question` tends to match, if the question says."""
    for asks, shape in _ANSWER_SHAPES:
        if asks.search(question):
            return shape
    return None


def _sentence_score(sentence: str, weights: dict[str, float]) -> float:
    return sum(w for t, w in weights.items() if t in sentence)


def _trim_long(text: str, start: int, end: int, weights: dict[str, float], limit: int) -> tuple[int, int]:
    """Cut a long sentence to the window of whole clauses that carries the most matches."""
    if end - start <= limit:
        return start, end
    cuts = sorted({start, end, *(m.end() for m in _CLAUSE_END.finditer(text, start, end))})
    best = (start, min(end, start + limit))
    best_score = -1.0
    for i in range(len(cuts) - 1):
        for j in range(i + 1, len(cuts)):
            if cuts[j] - cuts[i] > limit:
                break
            score = _sentence_score(text[cuts[i] : cuts[j]], weights) - (cuts[j] - cuts[i]) / 1000.0
            if score > best_score:
                best, best_score = (cuts[i], cuts[j]), score
    return best


def _extend(text: str, units: list[tuple[int, int]], window: tuple[int, int], settings: QuoteSettings) -> tuple[int, int]:
    """Grow a short window or one ending on a heading by the sentences after it.

    Answers tend to follow the sentence that names the topic, and a heading (一、… with no
    full stop) says nothing by itself.
    """
    i, j = window
    while (
        j + 1 < len(units)
        and j + 1 - i < settings.max_sentences
        and units[j + 1][1] - units[i][0] <= settings.max_chars
        and (units[j][1] - units[i][0] < settings.min_chars or text[units[j][1] - 1] not in _TERMINAL)
    ):
        j += 1
    return i, j


def _windows(units: list[tuple[int, int]], settings: QuoteSettings) -> list[tuple[int, int]]:
    """Runs of 1..max_sentences consecutive units that fit the length budget, as (first, last)."""
    out = []
    for i in range(len(units)):
        for j in range(i, min(i + settings.max_sentences, len(units))):
            if j > i and units[j][1] - units[i][0] > settings.max_chars:
                break
            out.append((i, j))
    return out


def select_spans(
    text: str, weights: dict[str, float], focus: list[tuple[int, int]], settings: QuoteSettings = QuoteSettings(),
    shape: re.Pattern | None = None,
    known: frozenset[str] = frozenset(),
    similarity=None,
    how: bool = False,
) -> list[tuple[int, int]]:
    """The passage of `text` that best answers a question with word weights `weights`.

    The best run of up to three consecutive sentences, scored by the question words it holds
    (each counted once), a little for lying in the retrieved chunk (`focus`), and for holding a
    figure, date or cause when the question asks for one (`shape`); then, if the question's other words sit elsewhere,
    a second run that adds them. Returned in reading order.
    """
    sentences = sentence_spans(text)
    if not sentences:
        return []
    units = [_trim_long(text, s, e, weights, settings.long_sentence) for s, e in sentences]
    total = sum(weights.values()) or 1.0
    # how close each sentence is to the question in the embedding space: finds the answer
    # sentence of a paraphrase that shares no word with the question
    sims = similarity([text[s:e] for s, e in units]) if similarity is not None else None

    def gain(i: int, j: int, covered: set[str]) -> tuple[float, set[str]]:
        piece = text[units[i][0] : units[j][1]]
        found = {t for t in weights if t in piece and t not in covered}
        score = sum(weights[t] for t in found)
        if focus and any(units[i][0] < fe and units[j][1] > fs for fs, fe in focus[:1]):
            score += 0.15 * total
        if shape is not None and shape.search(piece):
            score += 0.15 * total
        score -= (units[j][1] - units[i][0]) / 400.0 * 0.02 * total  # shorter wins among equals
        if sims is not None:
            score += settings.dense_weight * total * float(max(sims[i : j + 1]))
        return score, found

    windows = _windows(units, settings)
    scored = [(*gain(i, j, set()), (i, j)) for i, j in windows]
    best_score, best_found, best = max(scored, key=lambda x: (x[0], -x[2][0]))
    if best_score <= 0.05 * total and focus:
        # nothing lexical to go on: quote the start of the best chunk
        fs, fe = focus[0]
        inside = [k for k, (s, e) in enumerate(units) if s < fe and e > fs] or [0]
        i = inside[0]
        j = i
        while j + 1 < len(units) and j + 1 - i < 2 and units[j + 1][1] - units[i][0] <= settings.max_chars:
            j += 1
        best = (i, j)
    if shape is _FIGURE:
        # a figure asked for comes first: the quote starts at the sentence holding a figure and
        # most of the question's words (培训…宣讲骨干200人次, not one before it with another figure)
        def said(k: int) -> float:
            return _sentence_score(text[units[k][0] : units[k][1]], weights)

        figures = [k for k in range(len(units)) if shape.search(text[units[k][0] : units[k][1]])]
        inside = [k for k in figures if best[0] <= k <= best[1]]
        if figures:
            k = max(figures, key=lambda k: (said(k), -abs(k - best[0])))
            if not inside or said(k) > max(said(i) for i in inside):
                best = (k, k)
            elif inside[0] != best[0]:
                best = (max(inside, key=said), best[1])
    best = _extend(text, units, best, settings)
    if how and best[1] + 1 < len(units) and units[best[1] + 1][1] - units[best[0]][0] <= settings.max_chars + 120:
        best = (best[0], best[1] + 1)  # the sentence after the problem is where the answer starts
    chosen = [best]
    used = units[best[1]][1] - units[best[0]][0]
    covered = set(best_found) | set(known)  # words the citation's title already shows add nothing
    # with a figure asked for, nothing is quoted before the sentence that holds it
    earliest = best[1] + 1 if shape is _FIGURE else -1
    second = [
        (gain(i, j, covered)[0], (i, j))
        for i, j in windows
        if (j < best[0] - 1 or i > best[1] + 1) and i > earliest
        and used + units[j][1] - units[i][0] <= settings.max_chars + 40
    ]
    if second:
        score, win = max(second)
        if score >= settings.second_gain * total:
            chosen.append(_extend(text, units, win, settings))
    spans: list[tuple[int, int]] = []
    for i, j in sorted(chosen):  # a grown window may reach the other one: merge, never repeat text
        s, e = units[i][0], units[j][1]
        if spans and s <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(e, spans[-1][1]))
        else:
            spans.append((s, e))
    return spans


def render_quote(text: str, spans: list[tuple[int, int]]) -> str:
    """Join the spans with … where text between them (or a cut sentence's rest) was left out."""
    sentences = sentence_spans(text)
    sentence_starts = {s for s, _ in sentences}
    sentence_ends = {e for _, e in sentences}
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


def _title_aware(weights: dict[str, float], title: str) -> dict[str, float]:
    """Words of the title say which article, not which sentence: count them less in quotes."""
    return {t: (w * 0.3 if t in title else w) for t, w in weights.items()}


def build_answer(
    question: str,
    index: LoadedIndex,
    retrieval: Retrieval,
    top_k: int = 5,
    offset: int = 0,
    settings: QuoteSettings = QuoteSettings(),
    embedder=None,
) -> Answer:
    """Quotes for hits `offset … offset + top_k` of those worth showing.

    When the question is found, the best hit and the later ones that answer it (ranking/answerability.py);
    when not, the closest ones under the "not found" warning, so a wrong "not found" never
    hides the answer.
    """
    if not retrieval.hits:
        return Answer(question, False, (), retrieval.filters, retrieval.reason, retrieval.reason_code, retrieval.note)
    if retrieval.found:
        shown = [h for rank, h in enumerate(retrieval.hits) if rank == 0 or h.answers]
    else:  # the closest ones, under the warning, if anything comes close
        shown = list(retrieval.hits) if retrieval.hits[0].closest else []
    shape = answer_shape(question)
    similarity = None
    # only a cheap model: a transformer would take seconds for the hundred sentences of an answer
    if embedder is not None and settings.dense_weight and getattr(embedder, "cheap", False):
        # the whole question, dates and issue numbers included (retrieval embeds it without
        # them): a sentence that restates the date is often the answer (0.867 vs 0.85)
        qvec = np.asarray(embedder.embed_query(question), dtype=np.float32)

        def similarity(texts: list[str]) -> np.ndarray:
            return np.asarray(embedder.embed_passages(texts), dtype=np.float32) @ qvec
    quotes: list[Quote] = []
    for hit in shown[offset : offset + top_k]:
        rec = index.article(hit.article_id)
        issue = index.issue(rec.issue_id) if rec else None
        if rec is None or issue is None:
            continue
        text, title = rec.text, rec.title
        focus = [(int(index.chunks["start"][c]), int(index.chunks["end"][c])) for c in hit.chunk_ids[:2]]
        spans = select_spans(text, _title_aware(retrieval.weights, title), focus, settings, shape=shape,
                             known=frozenset(t for t in retrieval.weights if t in title), similarity=similarity,
                             how=asks_how(question))
        citation = Citation(
            series=issue.series, issue=issue.number, date=issue.date, section=rec.section, title=title,
            file=issue.file, article_index=rec.index,
        )
        quotes.append(Quote(citation, render_quote(text, spans), tuple(spans), round(hit.score, 4), rec.id))
    return Answer(question, retrieval.found, tuple(quotes), retrieval.filters, retrieval.reason,
                  retrieval.reason_code, retrieval.note)


def answer_to_json(answer: Answer) -> dict:
    """The object `bulletin-bot ask --json` and `chat --json` print and `/api/ask` returns."""
    from .contents_question import contents_to_json

    extra = {"contents": contents_to_json(answer.contents)} if answer.contents else {}
    return {
        "query": answer.query,
        "found": answer.found,
        "reason": answer.reason,
        "reason_code": answer.reason_code,
        "note": answer.note,
        "understood": answer.understood,  # a follow-up: the whole question it was taken for
        **extra,
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
