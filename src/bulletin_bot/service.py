"""The one object every front end calls: ask, read, list, add files, re-index.

Front ends (CLI, Telegram bot, web app) are thin adapters over `BulletinService`; none of
them touches the index, the parser or the model directly.

Thread-safety: `ask`/`article`/`issue`/`issues`/`latest`/`stats` may be called from several
threads while `reindex` runs in another; the new index is swapped in only when complete.
`reindex` is blocking (adapters run it in a worker thread) and raises `IndexBusy` when another
build holds the index lock.
"""

from __future__ import annotations

from collections.abc import Callable

from .config import Settings
from .errors import BulletinError, IndexBusy, IndexInvalid, IndexMissing
from .models import (
    AddResult,
    Answer,
    ArticleView,
    IndexReport,
    IndexStatus,
    IssueSummary,
    IssueView,
    Progress,
)

ProgressCallback = Callable[[Progress], None]
ServiceError = BulletinError  # the base of every error a front end should show to the user
__all__ = ["BulletinService", "ServiceError", "IndexMissing", "IndexInvalid", "IndexBusy", "ProgressCallback"]


class BulletinService:
    def __init__(self, settings: Settings, embedder: object | None = None) -> None:
        """`embedder` overrides the model named in settings (tests pass a small one)."""
        raise NotImplementedError

    def ask(self, question: str, top_k: int = 5, offset: int = 0) -> Answer:
        """Quotes answering `question`, best first; `offset` skips results already shown (更多)."""
        raise NotImplementedError

    def article(self, article_id: int) -> ArticleView | None:
        raise NotImplementedError

    def issue(self, number: int) -> list[IssueView]:
        """Every indexed issue with that number (several series may share one), contents only."""
        raise NotImplementedError

    def issues(self) -> list[IssueSummary]:
        """All indexed issues, newest first."""
        raise NotImplementedError

    def latest(self) -> IssueView | None:
        raise NotImplementedError

    def stats(self) -> IndexStatus:
        raise NotImplementedError

    def add_file(self, filename: str, data: bytes) -> AddResult:
        """Check and save an uploaded issue into the corpus (does not re-index)."""
        raise NotImplementedError

    def reindex(self, progress: ProgressCallback | None = None) -> IndexReport:
        """Build the index from the corpus incrementally and swap it in when complete."""
        raise NotImplementedError

    def refresh(self) -> bool:
        """Load the index again if another process switched it on disk; True when it did."""
        raise NotImplementedError
