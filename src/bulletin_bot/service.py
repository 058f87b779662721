"""The one object every front end calls: ask, read, list, add files, re-index.

Front ends (CLI, Telegram bot, WeCom/DingTalk/Feishu, web app) are thin adapters over
`BulletinService` for questions, reading and re-indexing; none of them touches the index or the
model directly (the CLI's `parse` command calls the parser itself, to show how a file is read).

Thread-safety: `ask`/`article`/`issue`/`issues`/`latest`/`stats` may be called from several
threads while `reindex` runs in another; the new index is swapped in only when complete.
`reindex` is blocking (adapters run it in a worker thread) and raises `IndexBusy` when another
build holds the index lock. A version switched in by another process (`bulletin-bot index`
while the bot runs) is noticed on the next call: the `current` link is checked each time.

Models: questions are embedded by the model that embedded the index's vectors, whatever this
process loaded first, so a version built with another model (`bulletin-bot index --model e5`)
is served on the next question like any new version. A build uses the model named in settings,
else the current index's own, and records the name of the model it really used.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import unicodedata
from collections import deque
from dataclasses import replace
from pathlib import Path

from .config import Settings
from .conversation import ContextStore, without_articles
from .errors import BulletinError, IndexBusy, IndexInvalid, IndexMissing, ParseError
from .models import (
    AddResult,
    Answer,
    ArticleView,
    Citation,
    IndexReport,
    IndexStatus,
    IssueSummary,
    IssueView,
    MAX_QUESTION_CHARS,
    FileProblem,
    ProgressCallback,
)
from .question_check import check_question
from .text import expand_chat_shorthand

__all__ = ["BulletinService"]

log = logging.getLogger(__name__)
MAX_WARNINGS = 100  # the newest are kept; a long-running bot must not grow without bound
MAX_MODELS = 2  # models kept loaded: the index's and, while it changes, the next one
MAX_NAME_BYTES = 200  # file systems allow 255 bytes a name; "-N" may still be added for a free one


def safe_filename(name: str) -> str:
    """A plain file name from an uploaded one: no folders, no control or shell characters, not
    starting with "-" (an option to any command run on it), at most MAX_NAME_BYTES of UTF-8."""
    name = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    name = re.sub(r"[^\w\u3400-\u9fff.\-（）()·]+", "_", name).strip("._ -")
    stem, dot, suffix = name.rpartition(".")
    if not dot or len(suffix) > 10:
        stem, suffix = name, ""
    suffix = f".{suffix.lower()}" if suffix else ""
    room = MAX_NAME_BYTES - len(suffix.encode("utf-8"))
    stem = stem.encode("utf-8")[:room].decode("utf-8", "ignore").rstrip("._ ") or "upload"
    return stem + suffix


class BulletinService:
    def __init__(self, settings: Settings, embedder: object | None = None, retrieval: object | None = None) -> None:
        """`embedder` stands in for the model named in settings (tests pass a small one);
        `retrieval` (RetrievalSettings) overrides fusion weights and the abstention threshold."""
        from .ranking import RetrievalSettings
        from .store import IndexPaths

        self.settings = settings
        self.retrieval = retrieval or RetrievalSettings()
        self.paths = IndexPaths(settings.index)
        self._given = embedder
        self._models: dict[str, object] = {}  # by name, oldest first
        self._reader = None  # loaded on first use (reader())
        self._reader_failed = False
        self._index = None
        self._target: Path | None = None
        self._load_lock = threading.RLock()
        self._build_lock = threading.Lock()
        self._add_lock = threading.Lock()  # the duplicate check and the save, one upload at a time
        self.warnings: deque[str] = deque(maxlen=MAX_WARNINGS)
        self.conversations = ContextStore(settings.context_minutes)  # in memory only, never logged

    # ------------------------------------------------------------ loading

    def _warn(self, message: str) -> None:
        log.warning("%s", message)
        self.warnings.append(message)

    def _model_name(self, manifest: dict | None) -> str:
        if self.settings.model:
            return self.settings.model
        if manifest and manifest.get("model_name"):
            return manifest["model_name"]
        return "default"

    def _named_embedder(self, name: str):
        """The model called `name`, loaded once (EmbedderError when it cannot be)."""
        with self._load_lock:
            emb = self._models.get(name)
            if emb is None:
                from .embedding import load_embedder

                emb = load_embedder(name, self.settings.cache)
                self._models[name] = emb
                while len(self._models) > MAX_MODELS:
                    del self._models[next(iter(self._models))]
        return emb

    def _build_embedder(self, manifest: dict | None) -> tuple[str, object]:
        """The model a build uses and the name recorded for it: the one named in settings, else
        the current index's own (a given embedder stands in for the first, or for an index it made)."""
        name = self._model_name(manifest)
        given = self._given
        if given is not None and (self.settings.model or not manifest or manifest.get("model_id") == given.model_id):
            return name, given
        return name, self._named_embedder(name)

    def embedder(self, manifest: dict | None = None):
        """The model that embedded the index's vectors: questions must be embedded by it too."""
        if not manifest:
            return self._build_embedder(None)[1]
        want = manifest.get("model_id")
        known = [self._given, *list(self._models.values())]
        for emb in known:
            if emb is not None and emb.model_id == want:
                return emb
        from .errors import EmbedderError

        tried: list[str] = []
        for name in dict.fromkeys(n for n in (self.settings.model, manifest.get("model_name")) if n):
            try:
                emb = self._named_embedder(name)
            except EmbedderError as exc:
                tried.append(str(exc))
                continue
            if emb.model_id == want:
                return emb
            tried.append(f"{name!r} here is {emb.model_id}")
        raise IndexInvalid(
            f"the index in {self.paths.root} was built with model {manifest.get('model_name')!r} ({want}), "
            f"which this process cannot load ({'; '.join(tried) or 'no model name'}): re-index with "
            f"`bulletin-bot index`, or set BULLETIN_BOT_MODEL to that model"
        )

    def reader(self):
        """The model that reads a question with its best passages (BULLETIN_BOT_READER), or None
        when it is turned off or cannot load (then the verdict rests on the words; said once)."""
        if self._reader is None and not self._reader_failed:
            from .embedding import load_reader
            from .errors import EmbedderError

            with self._load_lock:
                if self._reader is None and not self._reader_failed:
                    try:
                        self._reader = load_reader(self.settings.reader)
                    except EmbedderError as exc:
                        self._reader_failed = True
                        self._warn(f"answers are judged without the reader: {exc}")
                    self._reader_failed = self._reader_failed or self._reader is None
        return self._reader

    def _current(self):
        """The loaded index, reloaded when `current` was switched since the last call."""
        from .store import load_current

        target = self.paths.current_target()
        if self._index is not None and target == self._target:
            return self._index
        with self._load_lock:
            target = self.paths.current_target()
            if self._index is not None and target == self._target:
                return self._index
            loaded = None
            try:
                loaded = load_current(self.paths, warn=self._warn)
                self.embedder(loaded.manifest)  # its model loaded now, before it is served
            except (IndexInvalid, IndexMissing) as exc:
                if loaded is not None:
                    loaded.close()
                if self._index is not None:  # keep serving what we have
                    self._warn(f"new index version at {target} not usable ({exc}); still serving {self._index.version}")
                    self._target = target
                    return self._index
                raise
            old = self._index
            self._index, self._target = loaded, target
            if old is not None:
                log.info("index switched from %s to %s", old.version, loaded.version)
            return loaded

    def refresh(self) -> bool:
        """Load the index again if another process switched it on disk; True when it did."""
        before = self._index
        self._current()
        return self._index is not before

    # ------------------------------------------------------------ questions

    def ask(self, question: str, top_k: int = 5, offset: int = 0, exclude: frozenset[int] = frozenset()) -> Answer:
        """Quotes answering `question`, best first; `offset` skips results already shown (更多),
        `exclude` drops those articles (a follow-up asking for other cases than those shown)."""
        question, early, result = self._retrieval(question, exclude)
        if early is not None:
            return early
        return self._answer(question, result, top_k, offset)

    def _retrieval(self, question: str, exclude: frozenset[int] = frozenset()):
        """(question as searched, an answer given before any ranking or None, the ranking):
        the search half of `ask`, so that two readings of a chat message can be compared."""
        from .contents_question import contents_answer
        from .ranking import retrieve

        question = expand_chat_shorthand(" ".join(question.split())[:MAX_QUESTION_CHARS])
        problem = check_question(question)  # blank, or no Chinese: said before any search
        if problem is not None:
            return question, problem, None
        index = self._current()
        contents = contents_answer(question, index)  # "第455期有哪些文章": the contents, not passages
        if contents is not None:
            return question, contents, None
        result = retrieve(index, self.embedder(index.manifest), question, self.retrieval, reader=self.reader())
        if exclude:
            result = without_articles(result, exclude)
        return question, None, result

    def _answer(self, question: str, result, top_k: int, offset: int = 0) -> Answer:
        from .answers import build_answer

        index = self._current()
        return build_answer(question, index, result, top_k=max(1, top_k), offset=max(0, offset),
                            embedder=self.embedder(index.manifest))

    # ------------------------------------------------------------ conversations

    def converse(self, key: tuple[str, ...], message: str, top_k: int = 5, shown: int | None = None) -> Answer:
        """Answer `message` as the next turn of the conversation `key` (channel, chat, user): a
        follow-up is read against the turns before (conversation.py) and asked as a whole
        question; the answer's `understood` says which, and is "" for a new question. `shown`:
        how many of the `top_k` results the user will see (a front end asks one more than it
        shows, to know whether 更多 has anything); what "还有吗" leaves out next time."""
        from .conversation import next_turn, resolve

        message = expand_chat_shorthand(" ".join(message.split())[:MAX_QUESTION_CHARS])
        if not message:
            return self.ask(message)
        from .contents_question import contents_answer

        contents = contents_answer(message, self._current())
        if contents is not None:  # "第455期有哪些文章" names what it asks about: never a follow-up
            return contents
        reading = resolve(self.conversations.turns(key), message, seen=self._seen_text)
        if reading.naming:
            reading = self._named_result(reading, message)
        if reading.kind == "refer":
            return self._referred(reading, top_k)  # the conversation stays on the results referred to
        if reading.alternative is not None:
            reading, answer = self._better_reading(reading, top_k)
        else:
            answer = self.ask(reading.question, top_k=top_k, exclude=reading.exclude)
        if reading.followup:
            answer = replace(answer, understood=reading.understood)
        seen = answer.results[: top_k if shown is None else shown]
        self.conversations.record(key, next_turn(reading, tuple(q.article_id for q in seen)))
        return answer

    def _better_reading(self, reading, top_k: int):
        """A message that may be a follow-up or a new question (能提供多少岗位): both readings
        searched, the one the evidence says is answered better kept (conversation.better_reading).
        The message as typed is searched first, and when the archive answers it with confidence
        (conversation.answered_as_typed) the merged reading is not searched at all; otherwise
        it costs a second search."""
        from .conversation import answered_as_typed, better_reading

        fresh = reading if not reading.followup else reading.alternative
        merged = reading.alternative if not reading.followup else reading
        question, early, alone = self._retrieval(fresh.question, fresh.exclude)
        if early is not None:  # a blank or contents question: no ranking to compare
            return fresh, early
        if answered_as_typed(alone):
            return fresh, self._answer(question, alone, top_k)
        merged_question, early, result = self._retrieval(merged.question, merged.exclude)
        if early is not None:
            return fresh, self._answer(question, alone, top_k)
        text = self._seen_text(int(result.hits[0].article_id)) if result.hits else ""
        alone_text = self._seen_text(int(alone.hits[0].article_id)) if alone.hits else ""
        if better_reading(alone, result, merged.own, text, prefer_merged=reading.followup, alone_text=alone_text):
            return merged, self._answer(merged_question, result, top_k)
        return fresh, self._answer(question, alone, top_k)

    def _seen_text(self, article_id: int) -> str:
        """A result shown before, as the user read it: its title and text ("" when gone)."""
        view = self.article(article_id)
        return f"{view.citation.title}\n{view.text}" if view is not None else ""

    def forget(self, key: tuple[str, ...]) -> None:
        """/new: the next message of `key` is a new question."""
        self.conversations.forget(key)

    def _named_result(self, reading, message: str):
        """拉各斯那条的原文: of the results shown, the one holding most of the words named; the
        message asked as it stands when none holds any."""
        from dataclasses import replace as with_
        from .conversation import Reading, subject_of
        from .text import coverage

        scored = [(coverage(list(reading.naming), text), article_id)
                  for article_id in reading.among if (text := self._seen_text(article_id))]
        best = max(scored, default=(0.0, None), key=lambda x: x[0])
        if best[0] <= 0:
            return Reading("fresh", message, subject=subject_of(message))
        return with_(reading, article_id=best[1], naming=())

    def _referred(self, reading, top_k: int) -> Answer:
        """A result referred to: its whole article, or the other articles of its issue."""
        from .conversation import whole_article, issue_articles

        view = self.article(reading.article_id if reading.article_id is not None else reading.contents_of)
        if view is None:  # re-indexed since: the ids shown are gone
            return Answer(reading.understood, False, (), reason="之前的结果已失效（索引已更新），请重新提问",
                          understood=reading.understood)
        if reading.article_id is not None:
            understood = f"{reading.understood}：{view.citation.title}"
            return Answer(understood, True, (whole_article(view),), understood=understood)
        others = [self.article(ref.article_id) for v in self.issue(view.citation.issue)
                  if v.summary.series == view.issue.series for ref in v.articles
                  if ref.article_id != view.article_id and ref.article_id not in reading.exclude]
        understood = f"第{view.citation.issue}期的其他文章"
        quotes = issue_articles([v for v in others if v is not None])[:max(1, top_k)]
        return Answer(understood, bool(quotes), tuple(quotes), understood=understood,
                      reason="" if quotes else "这一期没有其他文章")

    # ------------------------------------------------------------ reading

    def article(self, article_id: int) -> ArticleView | None:
        index = self._current()
        rec = index.article(int(article_id))
        issue = index.issue(rec.issue_id) if rec else None
        if rec is None or issue is None:
            return None
        summary = issue.summary()
        citation = Citation(issue.series, issue.number, issue.date, rec.section, rec.title, issue.file, rec.index)
        return ArticleView(rec.id, citation, summary, tuple(rec.text.split("\n")))

    def articles_dated(self, date_from: str, date_to: str) -> list[ArticleView]:
        """Every article of the issues dated from `date_from` to `date_to` (ISO, inclusive), in
        date order: what a dossier reads besides its questions' pages."""
        out = []
        for rec, issue in self._current().articles_dated(date_from, date_to):
            citation = Citation(issue.series, issue.number, issue.date, rec.section, rec.title, issue.file, rec.index)
            out.append(ArticleView(rec.id, citation, issue.summary(), tuple(rec.text.split("\n"))))
        return out

    def issue(self, number: int) -> list[IssueView]:
        """Every indexed issue with that number (several series may share one), contents only."""
        index = self._current()
        return [IssueView(r.summary(), tuple(index.contents(r.id))) for r in index.issues_numbered(number)]

    def issues(self) -> list[IssueSummary]:
        """All indexed issues, newest first."""
        return [r.summary() for r in self._current().all_issues()]

    def latest(self) -> IssueView | None:
        index = self._current()
        newest = index.all_issues(limit=1)
        return IssueView(newest[0].summary(), tuple(index.contents(newest[0].id))) if newest else None

    def stats(self) -> IndexStatus:
        index = self._current()
        m = index.manifest
        c = m["counts"]
        return IndexStatus(
            version=m["version"], built_at=m["built_at"], model=f"{m['model_name']} ({m['model_id']})",
            dimension=int(m["dimension"]), issues=c["issues"], articles=c["articles"], chunks=c["chunks"],
            path=str(index.path), backend=index.backend, problems=tuple(FileProblem(p["file"], p["reason"]) for p in m.get("problems", [])),
            kept=tuple(FileProblem(p["file"], p["reason"]) for p in m.get("kept", [])),
            suspect=tuple(FileProblem(p["file"], p["reason"]) for p in m.get("suspect", [])),
            reader_vectors=self._reader_state(index),
        )

    def _reader_state(self, index) -> str:
        from .embedding import reader_off
        from .reader_vectors import MAX_CHUNKS

        if reader_off(self.settings.reader) or index.milvus is not None:
            return "off"
        if index.reader_vectors is not None:
            return "complete"
        return "too_large" if len(index.chunks) > MAX_CHUNKS else "missing"

    def read_passages(self, progress: ProgressCallback | None = None, stop=None):
        """Read every chunk of the served version with the reader, so the ranking can weigh its
        meaning (reader_vectors.py): slow (about 0.1 s a chunk), so after a build, never in it.
        None when there is nothing to do (no reader, on Milvus, over MAX_CHUNKS chunks, or done)."""
        from . import reader_vectors

        index = self._current()
        reader = self.reader()
        if reader is None or not hasattr(reader, "passage_vectors") or index.milvus is not None:
            return None
        if len(index.chunks) > reader_vectors.MAX_CHUNKS:
            return None
        outcome = reader_vectors.compute(self.paths, reader, progress, stop)
        reader_vectors.clean_up(self.paths)
        return outcome

    # ------------------------------------------------------------ admin

    def add_file(self, filename: str, data: bytes) -> AddResult:
        """Check and save an uploaded issue into the corpus (does not re-index)."""
        from .parsing import SUPPORTED_SUFFIXES
        from .sandbox import ParsePool

        name = safe_filename(filename)
        if not name.lower().endswith(SUPPORTED_SUFFIXES):
            return AddResult(False, f"{name}: 只接受 {' / '.join(SUPPORTED_SUFFIXES)} 文件")
        if len(data) > self.settings.max_upload_bytes:
            return AddResult(False, f"{name}: 文件 {len(data) / 1e6:.1f} MB，超过 {self.settings.max_upload_mb:g} MB 的上限")
        with ParsePool(self._parse_limits()) as pool:  # an upload is untrusted: parsed in a child
            return self._add_parsed(pool, name, data)

    def _parse_limits(self):
        from .sandbox import ParseLimits

        return ParseLimits(memory_mb=self.settings.parse_memory_mb, seconds=self.settings.parse_seconds)

    def _add_parsed(self, pool, name: str, data: bytes) -> AddResult:
        from .corpus import find_duplicate
        from .parsing import issue_label

        try:
            issue = pool.parse(data, name)
        except ParseError as exc:
            return AddResult(False, f"{name}: 无法读取：{exc.reason}")
        corpus = self.settings.corpus
        corpus.mkdir(parents=True, exist_ok=True)
        known: dict[str, dict] = {}
        try:
            known = self._current().manifest.get("files", {})
        except BulletinError:
            pass
        with self._add_lock:  # else concurrent uploads of one issue all pass the check
            duplicate = find_duplicate(issue, data, corpus, known, pool.parse)
            if duplicate is not None and duplicate.same_bytes:
                return AddResult(False, f"{name}: 与已有文件 {duplicate.file} 内容相同，未保存")
            if duplicate is not None:
                return AddResult(False, f"{name}: 与已有文件 {duplicate.file} 是同一期（{issue_label(issue)}），未保存")
            tmp = corpus / f".upload-{os.getpid()}-{threading.get_ident()}.part"
            tmp.write_bytes(data)
            try:
                target = self._link_unique(tmp, corpus, name)
            finally:
                tmp.unlink(missing_ok=True)
        summary = IssueSummary(issue.series, issue.number, issue.date, issue.office, issue.sections,
                               len(issue.articles), target.name)
        return AddResult(True, f"已保存 {target.name}：第{issue.number}期 · {issue.date} · {len(issue.articles)} 篇文章",
                         str(target), summary)

    @staticmethod
    def _link_unique(tmp: Path, folder: Path, name: str) -> Path:
        """Give `tmp` the name `name` in `folder`, or name-1, name-2 … when taken. A link fails
        rather than overwrite (unlike rename), so an upload of the same name racing this one
        (another thread or process) makes this one take the next free name."""
        stem, suffix = Path(name).stem, Path(name).suffix
        for n in range(10_000):
            target = folder / (name if n == 0 else f"{stem}-{n}{suffix}")
            if target.exists():
                continue
            try:
                os.link(tmp, target)
            except FileExistsError:  # taken between the check and the link
                continue
            return target
        raise BulletinError(f"{name}: no free file name in {folder}")

    def reindex(self, progress: ProgressCallback | None = None, wait: float = 0.0, strict: bool = False) -> IndexReport:
        """Build the index from the corpus incrementally and swap it in when complete;
        `strict` refuses to build at all when any corpus file is bad."""
        from .indexer import BuildOptions, build_index
        from .store import read_manifest

        if not self._build_lock.acquire(blocking=False):
            raise IndexBusy("a re-index is already running in this process")
        try:
            manifest = None
            target = self.paths.current_target()
            if target is not None:
                try:
                    manifest = read_manifest(target)
                except BulletinError:
                    manifest = None
            model_name, emb = self._build_embedder(manifest)  # the index's own model unless one is set
            options = BuildOptions(corpus=self.settings.corpus, index=self.settings.index,
                                   model_name=model_name, wait=wait, strict=strict,
                                   parse_limits=self._parse_limits(), backend=self.settings.index_backend,
                                   milvus_uri=self.settings.milvus_address)
            report = build_index(options, emb, progress)
        finally:
            self._build_lock.release()
        self._current()
        return report
