"""Whether a hit answers the question, and when none does, why: the one "not found" rule.

Judged on evidence about the passage, not on how many of the question's words the archive
holds somewhere:
- **the words**: whether the question's words sit together in one passage, whether every name,
  place and figure it gives is in the article (and how well the best of the first five that
  holds them all covers the question: a question about a place the archive never covered
  finds none), whether the article is dated in the period asked about;
- **the meaning**: a second model reads the question and the best passage together (`Reader`,
  multilingual-e5 in production): a question about a custom and a passage about trade share
  words but not meaning, which is how off-topic questions get caught;
- **the specifics** (specifics.py): an ordinal, anniversary or numbered name next to its noun,
  a quoted name, a place, the thing a 多少 question counts. A passage that contradicts one (第二届 for 第三届) or lacks it does
  not answer, whatever the other evidence says;
- **the archive's edges**: a period that starts after the newest issue cannot be reported yet,
  nor a month's or a quarter's figures before the period is over.

The word and meaning features are combined by a logistic model learned with the second stage's
weights (`scripts/learn_ranking.py`, kept in `data/evidence.json`); its threshold keeps the
answerable questions it wrongly calls "not found" near 5%.

The question counts as found when the best hit answers. The answer shows the best hit either
way (under a warning when it does not), and later hits only when they answer too. When nothing
answers, `verdict` says why in one line that is true of the passages shown.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Protocol

import numpy as np

from ..text import term_weight
from .second_stage import FEATURES as RERANK_FEATURES
from .specifics import Check, Specific, checks, extract

if TYPE_CHECKING:
    from .candidate import Candidate
    from .question import DateWindow, ParsedQuestion

FEATURES = (
    "bias", "cov_passage", "cov_article", "specific", "specific_missing", "lift",
    "bigrams_passage", "dated_issue", "dated_text", "asks_date", "complete_cover", "names", "cover_unnamed",
    "lift_unnamed", "meaning",
)
_FROM_RERANK = ("cov_passage", "cov_article", "specific", "specific_missing", "lift", "bigrams_passage",
                "dated_issue", "dated_text")
TOP_FOR_COMPLETE = 5
# how many of the best candidates the reader reads: the best (about 0.1 s a passage on 2 cores)
READ_TOP = 1
READ_CHARS = 200
# e5's cosines crowd together (answerable questions 0.83-0.95, off-topic ones 0.78-0.90): centred
# and stretched so that the logistic model's regularisation treats the feature like the others
MEANING_CENTER = 0.88
MEANING_GAIN = 20.0
# a later hit is judged against this share of the bar: the question is known to be answered,
# and it only has to be worth showing beside the best
LATER_SHARE = 0.5
# below this share of the threshold a passage shares too little with the question to be
# worth showing even under a warning ("红烧肉怎么做" gets a plain "not found")
CLOSEST_SHARE = 0.3
# whatever the model says, a passage holding under this share of the question's information
# does not answer it: the dense model alone is not evidence (and a test model's is noise)
MIN_COVER = 0.2
# a period this short is a month or a quarter: its figures come out after it ends
SHORT_PERIOD_DAYS = 95
# a period starting this long after the newest issue is a target or a plan, not news yet to come
BEYOND_DAYS = 731
_WHOLE_YEAR = re.compile(r"全年|一整年|全年度|年度总|全年总|年度(?:GDP|国内生产总值|数据)")
_ASKS_FIGURE = re.compile(r"多少|几[个年次天种条位名家所项座列辆吨台]|数据|数字|增长|增速|总量|规模|比重|同比|环比|指数|价格")

# reason codes (`Retrieval.reason_code`, `ask --json`'s "reason_code") and what they mean
REASONS = {
    "after_archive": "the period asked about is after what the newest issue can report",
    "other_edition": "the bulletins report another edition, number or anniversary of it",
    "missing_specific": "no passage holds the ordinal, anniversary or numbered name asked about",
    "missing_name": "no bulletin names the quoted name",
    "missing_figure": "the passages are about the topic but give no figure for what was asked (多少经费)",
    "other_place": "the passages are about somewhere else",
    "other_period": "the passages are not of the period the question names (2021年 when they report 2022)",
    "unrelated": "nothing in the bulletins is close to the question",
    "weak": "the closest passages do not answer it directly",
    "nothing_else": "a follow-up asked for other cases, and none besides those shown answers",
    "restriction": "no bulletin matches the issue, month or section the question names",
    "empty_index": "the index holds no bulletins",
}


class Reader(Protocol):
    """Reads a question and passages together: how close each passage's meaning is (cosine)."""

    def similarity(self, question: str, passages: list[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class EvidenceModel:
    weights: np.ndarray
    threshold: float  # a hit answers when its probability is at least this
    neutral_meaning: float  # the meaning feature's value when no reader is at hand (its mean)
    meaning_range: tuple[float, float]  # where nearly all of the reader's cosines fall

    def probability(self, x: np.ndarray) -> float:
        z = float(x @ self.weights)
        return 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))

    def settled(self, x: np.ndarray, bar: float) -> bool:
        """Whether the verdict on `x` is the same whatever the reader would say: then it need
        not read (it takes about 0.1 s a passage)."""
        i = FEATURES.index("meaning")
        lo, hi = x.copy(), x.copy()
        lo[i], hi[i] = self.meaning_range
        return (self.probability(lo) >= bar) == (self.probability(hi) >= bar)


@cache
def model() -> EvidenceModel:
    data = json.loads(resources.files("bulletin_bot").joinpath("data", "evidence.json").read_text(encoding="utf-8"))
    w = data["weights"]
    neutral = float(data.get("neutral_meaning", 0.0))
    return EvidenceModel(np.array([w.get(n, 0.0) for n in FEATURES], dtype=np.float64), float(data["threshold"]),
                         neutral, tuple(data.get("meaning_range", (neutral, neutral))))


def features(candidates: list[Candidate], pq: ParsedQuestion, meaning: list[float] | None = None) -> list[np.ndarray]:
    """Evidence features of each candidate; `candidates` best first; `meaning` the reader's
    cosines for the first ones (the rest, and all without a reader, get the neutral value)."""
    # a question that names no place, person or figure: their presence says nothing
    named = bool(candidates) and candidates[0].named
    spec, cov = RERANK_FEATURES.index("specific"), RERANK_FEATURES.index("cov_passage")
    # how well the best of the first five that holds every name and figure covers the question
    complete = max((float(c.features[cov]) for c in candidates[:TOP_FOR_COMPLETE] if c.features[spec] >= 1.0),
                   default=0.0) if named else 0.0
    neutral = model().neutral_meaning
    meaning = list(meaning or [])
    out = []
    # only what holds whatever the archive's size: scores relative to the best candidate or
    # leads over the next one mean little in an index of three articles
    for i, c in enumerate(candidates):
        f = dict(zip(RERANK_FEATURES, c.features))
        out.append(np.array([1.0, *(f[n] for n in _FROM_RERANK),
                             float(bool(pq.windows)), complete, float(named),
                             0.0 if named else f["cov_passage"], 0.0 if named else f["lift"],
                             (meaning[i] - MEANING_CENTER) * MEANING_GAIN if i < len(meaning) else neutral]))
    return out


@dataclass(frozen=True)
class Judgement:
    answers: bool  # this hit answers the question
    closest: bool  # it does not, but it is close enough to show under a "not found" warning
    probability: float
    failed: tuple[Check, ...] = ()  # the question's specifics this article lacks or contradicts
    undated: bool = False  # it is not of the period the question asks about


@dataclass(frozen=True)
class Verdict:
    found: bool
    reason_code: str = ""
    reason: str = ""  # one line for the user; empty for "weak" (the warning heading says it)


def _beyond(windows: tuple[DateWindow, ...], newest: date | None) -> DateWindow | None:
    """A period the archive cannot have reported yet: it starts after the newest issue (but not
    years after it: 2035年 in a question is a target the bulletins may well name)."""
    if newest is None:
        return None
    return next((w for w in windows if newest < w.first <= newest + timedelta(days=BEYOND_DAYS)), None)


def _unfinished(windows: tuple[DateWindow, ...], newest: date | None, question: str) -> DateWindow | None:
    """A month's or a quarter's figures asked for when the newest issue predates its end; a
    whole year's too when the question says it wants the whole year (2024年全年GDP: a year's
    totals come out after it ends, where "2024年新增了多少" may be answered within it)."""
    if newest is None or not _ASKS_FIGURE.search(question):
        return None
    whole_year = bool(_WHOLE_YEAR.search(question))
    return next((w for w in windows if w.last is not None and w.last >= newest
                 and ((w.last - w.first).days <= SHORT_PERIOD_DAYS or whole_year)), None)


def _whole_year(window: DateWindow) -> bool:
    """The window is longer than a month or a quarter: a whole year asked for (2024年全年)."""
    return (window.last - window.first).days > SHORT_PERIOD_DAYS


def read_meaning(reader: Reader | None, question: str, candidates: list[Candidate]) -> list[float] | None:
    if reader is None or not candidates:
        return None
    # the title and the best run of sentences, cut: the reader's time grows with the text
    sims = reader.similarity(question, [(c.passage or c.record.title)[:READ_CHARS] for c in candidates[:READ_TOP]])
    return [float(s) for s in np.asarray(sims).ravel()]


# a year named only to compare with (比2021年, 较2021年同期, 2021年以来): the figures are another year's
_COMPARED_BEFORE = ("比", "较", "与", "同", "自", "从", "超过", "低于", "高于", "相当于", "相比")
_COMPARED_AFTER = ("以来", "同期", "相比", "水平")


def names_year(text: str, year: int) -> bool:
    """Whether `text` reports something of `year` (2021年…), not only compares with it."""
    key = f"{year}年"
    for m in re.finditer(key, text):
        before, after = text[max(0, m.start() - 4):m.start()], text[m.end():m.end() + 2]
        if before.endswith(_COMPARED_BEFORE) or after.startswith(_COMPARED_AFTER):
            continue
        return True
    return False


def blocked(candidate: Candidate, x: np.ndarray, specifics: list[Specific], pq: ParsedQuestion,
            newest: date | None) -> tuple[tuple[Check, ...], bool, bool]:
    """What rules the candidate out whatever the model says: the question's specifics it lacks
    or contradicts; whether it is ruled out (those, or the period asked about is not the
    article's, or past what the archive can report); and whether the period alone is not its."""
    text = f"{candidate.record.title}\n{candidate.record.text}"
    failed = tuple(k for k in checks(specifics, text) if not k.holds)
    dated_text = x[FEATURES.index("dated_text")]
    # a month's figures are out only once it is over, and then the article names the month
    unfinished = _unfinished(pq.windows, newest, pq.text)
    if unfinished is not None and _whole_year(unfinished):
        # a whole year's totals are in its own issues only where they say so (2024年全年…预计)
        early = f"{unfinished.first.year}年全年" not in text
    else:
        early = unfinished is not None and not dated_text
    undated = is_undated(text, x, pq)
    return failed, bool(failed) or early or undated or _beyond(pq.windows, newest) is not None, undated


def is_undated(text: str, x: np.ndarray, pq: ParsedQuestion) -> bool:
    """The question names a period and the article is not of it: the issue is dated in it (or in
    the weeks after), or the text names it; an issue from another year names the period with
    its year ("上半年" alone is that issue's own), and not only to compare with it (比2021年增长
    reports 2022)."""
    return bool(pq.windows) and not (x[FEATURES.index("dated_issue")] > 0
                                     or any(names_year(text, w.first.year) for w in pq.windows))


def judge_hits(candidates: list[Candidate], pq: ParsedQuestion, words: list[str], reader: Reader | None = None,
               newest: date | None = None) -> list[Judgement]:
    """For each candidate (best first), whether it answers the question."""
    if not words:  # nothing asked but a restriction ("第455期"): everything in it answers
        return [Judgement(True, True, 1.0)] * len(candidates)
    m = model()
    cover = FEATURES.index("cov_passage")
    specifics = extract(pq.text)
    rows = features(candidates, pq)
    if reader is not None and rows:
        # read only when the words leave the best candidate's verdict open
        first = rows[0]
        open_ = first[cover] >= MIN_COVER and not blocked(candidates[0], first, specifics, pq, newest)[1]
        if open_ and not m.settled(first, m.threshold):
            rows = features(candidates, pq, read_meaning(reader, pq.text or pq.question, candidates))
    # a later hit must hold the question's most telling word (红书房 in 红书房建了多少个): a
    # passage that never mentions what was asked weakens the answer above it
    # (a word, not a verb with its particle: 建了)
    key = max([w for w in words if len(w) >= 2 and w[-1] not in "了着过的地得"] or words, key=term_weight)
    # ... when the best one holds it: a paraphrase's words may be in no article at all
    def holds_key(c: Candidate) -> bool:
        text = f"{c.record.title}\n{c.record.text}"
        # a compound (理论宣讲) is there when both its halves are (理论…宣讲)
        return key in text or (len(key) >= 4 and key[:2] in text and key[2:] in text)

    needs_key = bool(candidates) and holds_key(candidates[0])
    out = []
    for i, (c, x) in enumerate(zip(candidates, rows)):
        p = m.probability(x)
        bar = m.threshold if i == 0 else m.threshold * LATER_SHARE
        lexical = bool(x[cover] >= MIN_COVER) and (i == 0 or not needs_key or holds_key(c))
        failed, ruled_out, undated = blocked(c, x, specifics, pq, newest)
        out.append(Judgement(lexical and p >= bar and not ruled_out, lexical and p >= m.threshold * CLOSEST_SHARE,
                             float(p), failed, undated))
    return out


def _day(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def _edition_reason(spec: Specific, shown: list[Judgement]) -> str:
    """简报中有第二届链博会的报道，没有第三届的。 — only if a shown passage has the other one and
    none has the one asked about."""
    others = [k.other for j in shown for k in j.failed if k.specific == spec and k.other]
    if not others:
        return ""
    noun = spec.head if spec.kind == "ordinal" else ""
    return f"简报中有{others[0]}{noun}的报道，没有{spec.text}的。"


def verdict(judged: list[Judgement], pq: ParsedQuestion, newest: date | None, shown: int = 5) -> Verdict:
    """Found, or why not, in a line true of the passages that will be shown."""
    if not judged:
        return Verdict(False, "empty_index", "索引是空的")
    if judged[0].answers:
        return Verdict(True)
    beyond = _beyond(pq.windows, newest)
    if beyond is not None and newest is not None:
        return Verdict(False, "after_archive", f"最新一期简报是{_day(newest)}，还没有{beyond.phrase}的消息。")
    unfinished = _unfinished(pq.windows, newest, pq.text)
    if unfinished is not None and newest is not None and any(j.closest for j in judged[:1]):
        whole = _whole_year(unfinished) and "全年" not in unfinished.phrase
        phrase = f"{unfinished.phrase}全年" if whole else unfinished.phrase
        return Verdict(False, "after_archive", f"最新一期简报是{_day(newest)}，{phrase}的数据还没有发布。")
    visible = [j for j in judged[:shown] if j.closest] or judged[:1]

    def lacked_by_all(k: Check) -> bool:
        return all(any(f.specific == k.specific for f in j.failed) for j in visible)

    # a quoted name no candidate holds: true of the archive, shown passages or not
    for k in judged[0].failed:
        if k.specific.kind == "quoted" and lacked_by_all(k) and all(
                any(f.specific == k.specific for f in j.failed) for j in judged):
            return Verdict(False, "missing_name", f"简报中没有提到“{k.specific.text}”。")
    if not judged[0].closest:
        return Verdict(False, "unrelated", "简报中没有与这个问题相关的内容。")
    # a specific every shown passage lacks: the first one the best passage fails
    for k in judged[0].failed:
        if lacked_by_all(k):
            spec = k.specific
            if spec.kind == "place":
                return Verdict(False, "other_place", f"找到的内容都没有提到{spec.text}。")
            if spec.kind == "figure":
                return Verdict(False, "missing_figure", f"找到的内容没有给出{spec.text}的数字。")
            line = _edition_reason(spec, visible)
            if line:
                return Verdict(False, "other_edition", line)
            if spec.kind != "quoted":
                return Verdict(False, "missing_specific", f"简报中没有找到{spec.text}{spec.head}的内容。")
    # the period asked about, when no passage shown is of it (2021年 when they report 2022)
    if pq.windows and all(j.undated for j in visible):
        return Verdict(False, "other_period", f"找到的内容都不是{pq.windows[0].phrase}的。")
    return Verdict(False, "weak", "")
