"""Retrieval quality on a question file: hit@1, hit@5, quote@5, MRR@10, abstention, by kind.

A question line: {"q", "issue", "id", "answer", "also", "kind"}. `id` names the article that
answers it. With a truth file (JSON lines with `id`, `date`, `title`, like the shared
corpus's truth.jsonl) an id is resolved to that article's date and title; otherwise its last
number is read as the article's position in issue `issue` (`seed-455-2`). `issue` null marks a
question the corpus cannot answer: the right reply is "not found".
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .models import Answer, Quote


@dataclass(frozen=True)
class Question:
    q: str
    issue: int | None
    ids: tuple[str, ...]
    answer: str
    kind: str


def load_questions(path: Path) -> list[Question]:
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise ValueError(f"{path}:{n}: not JSON ({exc})") from None
        ids = tuple(x for x in [row.get("id"), *(row.get("also") or [])] if x)
        kind = row.get("kind") or ("negative" if row.get("issue") is None else "question")
        out.append(Question(row["q"], row.get("issue"), ids, row.get("answer") or "", kind))
    return out


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def load_truth(path: Path) -> dict[str, tuple[str, str]]:
    """Article id -> (date, title without whitespace)."""
    out = {}
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                row = json.loads(line)
                out[row["id"]] = (row["date"], _squash(row["title"]))
    return out


def _id_matches(article_id: str, issue: int | None, quote: Quote, truth: dict[str, tuple[str, str]]) -> bool:
    if article_id in truth:
        date, title = truth[article_id]
        return quote.citation.date == date and _squash(quote.citation.title) == title
    parts = article_id.split("-")
    if not parts or not parts[-1].isdigit():
        return False
    if int(parts[-1]) != quote.citation.article_index:
        return False
    dates = [p for p in parts[:-1] if re.fullmatch(r"\d{8}", p)]
    if dates:
        return quote.citation.date.replace("-", "") == dates[-1]
    numbers = [p for p in parts[:-1] if p.isdigit()]
    wanted = int(numbers[-1]) if numbers else issue
    return quote.citation.issue == wanted


@dataclass
class Tally:
    n: int = 0
    hit1: int = 0
    hit5: int = 0
    quote5: int = 0
    rr: float = 0.0
    negatives: int = 0
    abstained: int = 0
    false_abstentions: int = 0
    misses: list[str] = field(default_factory=list)

    def row(self) -> dict[str, float | int]:
        pos = max(self.n, 1)
        return {
            "questions": self.n,
            "hit@1": round(self.hit1 / pos, 3) if self.n else None,
            "hit@5": round(self.hit5 / pos, 3) if self.n else None,
            "quote@5": round(self.quote5 / pos, 3) if self.n else None,
            "MRR@10": round(self.rr / pos, 3) if self.n else None,
            "negatives": self.negatives,
            "abstained": round(self.abstained / self.negatives, 3) if self.negatives else None,
            "false_abstentions": round(self.false_abstentions / pos, 3) if self.n else None,
        }


def evaluate(
    questions: Iterable[Question], ask: Callable[[str], Answer], truth: dict[str, tuple[str, str]] | None = None
) -> dict[str, Tally]:
    """Tallies by kind plus "all"; `ask` returns at least 10 results when it finds any."""
    truth = truth or {}
    tallies: dict[str, Tally] = defaultdict(Tally)
    for question in questions:
        answer = ask(question.q)
        for t in (tallies[question.kind], tallies["all"]):
            if question.issue is None:
                t.negatives += 1
                t.abstained += not answer.found
                continue
            t.n += 1
            if not answer.found:
                t.false_abstentions += 1
                t.misses.append(f"{question.q}  (abstained)")
                continue
            ranks = [i for i, r in enumerate(answer.results[:10]) if any(_id_matches(a, question.issue, r, truth) for a in question.ids)]
            if ranks:
                t.rr += 1.0 / (ranks[0] + 1)
                t.hit1 += ranks[0] == 0
                t.hit5 += ranks[0] < 5
            else:
                t.misses.append(f"{question.q}  (not in top 10)")
            want = _squash(question.answer)
            if want and any(_squash(answer.results[i].quote).find(want) >= 0 for i in ranks if i < 5):
                t.quote5 += 1
            elif ranks and ranks[0] < 5 and want:
                t.misses.append(f"{question.q}  (quote lacks {question.answer})")
    return dict(tallies)


def format_table(tallies: dict[str, Tally]) -> str:
    cols = ["questions", "hit@1", "hit@5", "quote@5", "MRR@10", "negatives", "abstained", "false_abstentions"]
    lines = ["| kind | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for kind in sorted(tallies, key=lambda k: (k == "all", k)):
        row = tallies[kind].row()
        lines.append(f"| {kind} | " + " | ".join("–" if row[c] is None else str(row[c]) for c in cols) + " |")
    return "\n".join(lines)
