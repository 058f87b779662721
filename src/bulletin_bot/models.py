"""Plain data shared by every layer: issues, articles, chunks, hits and answers.

Nothing here imports anything heavier than the standard library, so front ends and
tests can use these types without loading models or indexes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Article:
    """One article of an issue, body already repaired (page breaks joined)."""

    section: str  # section name without brackets, e.g. "经验交流"
    title: str
    paragraphs: tuple[str, ...]
    index: int  # 1-based position of the article in its issue

    @property
    def text(self) -> str:
        return "\n".join(self.paragraphs)


@dataclass(frozen=True)
class Issue:
    """One parsed bulletin file."""

    file: str  # path the issue was read from (as given)
    series: str  # e.g. "建设学习型党组织、学习型领导班子 工作简报"
    number: int  # 第455期 -> 455
    date: str  # ISO date, "2023-12-10"
    office: str  # issuing office, "" when the file names none
    sections: tuple[str, ...]  # section names in order of first appearance
    articles: tuple[Article, ...]
    footer: tuple[str, ...] = ()  # 送：/发： lines and what follows them
    encoding: str = "utf-8"  # how the bytes were decoded ("utf-8", "utf-8-sig", "gb18030", "docx", "pdf")
    # the year a masthead numbers its issues within ("2024年第12期" -> "2024"); "" when the
    # number runs on from year to year (第455期, or 总第455期 which then is the number)
    volume: str = ""
    # why its articles look wrongly read (parsing/suspect.py); empty when they look right
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Citation:
    """Where a quote comes from, enough for a reader to check it."""

    series: str
    issue: int
    date: str
    section: str
    title: str
    file: str
    article_index: int  # 1-based position in the issue

    def label(self) -> str:
        """第455期 · 2023-12-10 · 【经验交流】 泗洪县：…"""
        return f"第{self.issue}期 · {self.date} · 【{self.section}】 {self.title}"


@dataclass(frozen=True)
class Quote:
    """One cited result: verbatim sentences of an article, with where they sit in it."""

    citation: Citation
    quote: str  # verbatim text, with "…" where sentences were skipped or cut
    spans: tuple[tuple[int, int], ...]  # (start, end) of each quoted piece in the article text
    score: float
    article_id: int


@dataclass(frozen=True)
class QueryFilters:
    """Restrictions understood from the question text."""

    issue: int | None = None
    date_from: str | None = None  # inclusive ISO date
    date_to: str | None = None  # inclusive ISO date
    section: str | None = None

    def any(self) -> bool:
        return any((self.issue, self.date_from, self.date_to, self.section))


# a longer question is cut to this many characters (every front end, and the service)
MAX_QUESTION_CHARS = 500

# said above the closest passages when none answers directly (every front end uses these words)
CLOSEST_HEADING = "没有找到直接回答，最接近的内容："


@dataclass(frozen=True)
class Answer:
    """What every front end shows: quotes with citations, or a plain "not found"."""

    query: str
    found: bool
    results: tuple[Quote, ...]
    filters: QueryFilters = field(default_factory=QueryFilters)
    reason: str = ""  # why nothing was found, one line for the user ("" when the warning says it)
    reason_code: str = ""  # the same for machines: ranking.answerability.REASONS
    # said above the results: a restriction the question named that was dropped because
    # nothing in it answered ("2023年12月的简报中没有找到相关内容，以下是其他简报中的结果")
    note: str = ""
    # a question about the bulletins themselves ("第455期有哪些文章"): their contents, newest
    # first, instead of passages (contents_question.py); `results` is then empty
    contents: tuple[IssueView, ...] = ()
    # a follow-up read in its conversation: the whole question it was taken for ("徐州 理论宣讲做法");
    # every front end says it first. "" for a question asked afresh.
    understood: str = ""

    @property
    def closest_only(self) -> bool:
        """Nothing answers directly, but the closest passages are shown under a warning."""
        return not self.found and bool(self.results)


@dataclass(frozen=True)
class IssueSummary:
    """An indexed issue as listed to users (no article bodies)."""

    series: str
    number: int
    date: str
    office: str
    sections: tuple[str, ...]
    article_count: int
    file: str


@dataclass(frozen=True)
class ArticleRef:
    """A line of an issue's contents; `article_id` opens the article."""

    article_id: int
    index: int
    section: str
    title: str


@dataclass(frozen=True)
class IssueView:
    summary: IssueSummary
    articles: tuple[ArticleRef, ...]


@dataclass(frozen=True)
class ArticleView:
    """A whole article with its issue's masthead, for 全文 / article pages."""

    article_id: int
    citation: Citation
    issue: IssueSummary
    paragraphs: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n".join(self.paragraphs)


@dataclass(frozen=True)
class FileProblem:
    """A corpus file left out of the index, and why."""

    file: str
    reason: str


@dataclass(frozen=True)
class Progress:
    """One step of a long job, for progress bars and edited status messages."""

    stage: str  # a key of STAGE_LABELS
    done: int
    total: int
    message: str = ""

    @property
    def label(self) -> str:
        return STAGE_LABELS.get(self.stage, self.stage)


# Every stage a build (or a model build) reports, as users of the bot, the chat channels and the
# web page read it; the CLI shows the keys themselves.
STAGE_LABELS: dict[str, str] = {
    "model": "构建模型",
    "scan": "扫描语料",
    "parse": "解析文件",
    "tokens": "切分词语",
    "embed": "计算向量",
    "read": "精读段落",
    "write": "写入索引",
    "switch": "切换索引",
    "done": "完成",
}

ProgressCallback = Callable[[Progress], None]


@dataclass(frozen=True)
class IndexReport:
    """What one `index` run did."""

    built: bool  # a new version was written and switched in; False: the corpus had not changed
    version: str
    added: int
    changed: int
    removed: int
    unchanged: int
    issues: int
    articles: int
    chunks: int
    embedded: int  # chunks sent to the model this run
    reused: int  # chunks whose vectors came from the cache
    seconds: float
    problems: tuple[FileProblem, ...] = ()
    # indexed files that became unreadable: their last good issue is still served (counted
    # here only, not in added/changed/unchanged/failed)
    kept: tuple[FileProblem, ...] = ()
    suspect: tuple[FileProblem, ...] = ()  # indexed, but its articles look wrongly read

    @property
    def failed(self) -> int:
        """Corpus files left out of the index (unreadable, duplicates, too big)."""
        return len(self.problems)


@dataclass(frozen=True)
class IndexStatus:
    """The index currently served."""

    version: str
    built_at: str
    model: str
    dimension: int
    issues: int
    articles: int
    chunks: int
    path: str
    problems: tuple[FileProblem, ...] = ()
    kept: tuple[FileProblem, ...] = ()  # unreadable files whose last good issue is served
    suspect: tuple[FileProblem, ...] = ()  # indexed, but its articles look wrongly read
    backend: str = "embedded"  # or "milvus at <uri>, collection <name>"
    # the reader's vectors of every chunk (reader_vectors.py): "complete", "missing", "too_large" or "off"
    reader_vectors: str = "off"


@dataclass(frozen=True)
class AddResult:
    """Outcome of adding an uploaded file to the corpus."""

    ok: bool
    message: str  # human readable, names the file
    path: str = ""  # where it was saved (empty when refused)
    issue: IssueSummary | None = None
