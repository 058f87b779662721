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

from .errors import QuestionFileError
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
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise QuestionFileError(f"{path}: cannot read the question file ({exc})") from None
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            ids = tuple(x for x in [row.get("id"), *(row.get("also") or [])] if x)
            kind = row.get("kind") or ("negative" if row.get("issue") is None else "question")
            if row.get("subkind"):  # nearmiss/ordinal: tallied under both (see `tally`)
                kind = f"{kind}/{row['subkind']}"
            out.append(Question(row["q"], row.get("issue"), ids, row.get("answer") or "", kind))
        except ValueError as exc:
            raise QuestionFileError(f"{path}:{n}: not JSON ({exc})") from None
        except (KeyError, AttributeError, TypeError) as exc:
            raise QuestionFileError(f"{path}:{n}: not a question object ({type(exc).__name__}: {exc}); "
                                    'each line needs {"q": …, "issue": …, "id": …}') from None
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


@dataclass(frozen=True)
class Outcome:
    """How one question fared: where the first right article ranked, and what the user saw."""

    question: Question
    found: bool  # answered without the "not found" warning
    rank: int | None  # 0-based rank of the first right article among the first 10 shown, if any
    quoted: bool  # the answer span is inside the quote of a right article in the top 5
    shown: int  # results shown (closest passages under a "not found" warning included)

    @property
    def answerable(self) -> bool:
        return self.question.issue is not None


def judge(question: Question, answer: Answer, truth: dict[str, tuple[str, str]] | None = None) -> Outcome:
    truth = truth or {}
    results = answer.results[:10]
    ranks = [i for i, r in enumerate(results) if any(_id_matches(a, question.issue, r, truth) for a in question.ids)]
    want = _squash(question.answer)
    quoted = bool(want) and any(_squash(results[i].quote).find(want) >= 0 for i in ranks if i < 5)
    return Outcome(question, answer.found, ranks[0] if ranks else None, quoted, len(results))


@dataclass
class Tally:
    """Figures over a set of outcomes. Results shown under a "not found" warning count for
    hit@k (the user sees them); the warning itself counts as a false abstention."""

    n: int = 0
    hit1: int = 0
    hit5: int = 0
    quote5: int = 0
    rr: float = 0.0
    negatives: int = 0
    abstained: int = 0
    false_abstentions: int = 0
    misses: list[str] = field(default_factory=list)

    def add(self, o: Outcome) -> None:
        if not o.answerable:
            self.negatives += 1
            self.abstained += not o.found
            if o.found:
                self.misses.append(f"{o.question.q}  (answered, should say not found)")
            return
        self.n += 1
        if not o.found:
            self.false_abstentions += 1
            self.misses.append(f"{o.question.q}  (marked not found)")
        if o.rank is not None:
            self.rr += 1.0 / (o.rank + 1)
            self.hit1 += o.rank == 0
            self.hit5 += o.rank < 5
            if o.rank < 5 and not o.quoted and o.question.answer:
                self.misses.append(f"{o.question.q}  (quote lacks {o.question.answer})")
        else:
            self.misses.append(f"{o.question.q}  (not in top 10)")
        self.quote5 += o.quoted

    def row(self) -> dict[str, float | int | None]:
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


def tally(outcomes: Iterable[Outcome]) -> dict[str, Tally]:
    """Tallies by kind plus "all"; a kind with a sub-kind ("nearmiss/ordinal") counts under both."""
    tallies: dict[str, Tally] = defaultdict(Tally)
    for o in outcomes:
        tallies[o.question.kind].add(o)
        if "/" in o.question.kind:
            tallies[o.question.kind.split("/")[0]].add(o)
        tallies["all"].add(o)
    return dict(tallies)


def evaluate(
    questions: Iterable[Question], ask: Callable[[str], Answer], truth: dict[str, tuple[str, str]] | None = None
) -> dict[str, Tally]:
    """Tallies by kind plus "all"; `ask` returns at least 10 results when it finds any."""
    return tally(judge(q, ask(q.q), truth) for q in questions)


def format_table(tallies: dict[str, Tally]) -> str:
    cols = ["questions", "hit@1", "hit@5", "quote@5", "MRR@10", "negatives", "abstained", "false_abstentions"]
    lines = ["| kind | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for kind in sorted(tallies, key=lambda k: (k == "all", k)):
        row = tallies[kind].row()
        lines.append(f"| {kind} | " + " | ".join("–" if row[c] is None else str(row[c]) for c in cols) + " |")
    return "\n".join(lines)
