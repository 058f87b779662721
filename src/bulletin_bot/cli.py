"""The `bulletin-bot` command: every subcommand is a thin adapter over the core.

Library code raises; this module is the one place that prints errors and picks exit codes.
Heavy modules are imported inside each command so `ask` starts fast.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from . import __version__
from .errors import BulletinError, UsageError

EPILOG = """\
settings: every option falls back to an environment variable, then to bulletin-bot.toml or .env
in the working directory: BULLETIN_BOT_CORPUS, BULLETIN_BOT_INDEX, BULLETIN_BOT_MODEL,
BULLETIN_BOT_CACHE, TELEGRAM_BOT_TOKEN, BULLETIN_BOT_ADMINS, BULLETIN_BOT_WEB_ADMIN_TOKEN,
BULLETIN_BOT_WECOM_*, BULLETIN_BOT_DINGTALK_*, BULLETIN_BOT_FEISHU_*, ... (see README.md).
Files are parsed in worker processes limited by BULLETIN_BOT_PARSE_MEMORY_MB (default 1536) and
BULLETIN_BOT_PARSE_SECONDS (default 30).

examples:
  bulletin-bot index --corpus corpus --index index
  bulletin-bot ask 泗洪县理论宣讲做法
  echo 红书房建了多少个 | bulletin-bot ask --json
  bulletin-bot chat          (a conversation: 那徐州呢 / 去年的呢 / 第二条的全文; /new starts afresh)
  bulletin-bot parse corpus/455.txt
  bulletin-bot compile 理论宣讲 --from 2023-01 --to 2023-12 --out 汇编.docx
  bulletin-bot serve --channel feishu
"""


def _settings(args: argparse.Namespace):
    from .config import load_settings
    from .errors import ConfigError

    overrides = {}
    for name in ("corpus", "index", "model", "listen", "port"):
        value = getattr(args, name, None)
        if value is not None:
            overrides[name] = Path(value) if name in ("corpus", "index") else value
    try:
        return load_settings(**overrides)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None


def _service(args: argparse.Namespace):
    from .service import BulletinService

    return BulletinService(_settings(args))


# ------------------------------------------------------------------ index


class _Bar:
    """A tqdm progress bar per stage of a build, on stderr."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.bar = None
        self.stage = None

    def __call__(self, p) -> None:
        if self.quiet:
            return
        from tqdm import tqdm

        if p.stage != self.stage:
            self.close()
            self.stage = p.stage
            if p.stage in ("parse", "tokens", "embed", "read") and p.total:
                self.bar = tqdm(total=p.total, desc=f"{p.stage:>8}", unit="chunk" if p.stage != "parse" else "file",
                                file=sys.stderr, dynamic_ncols=True,
                                # a log file (CI, systemd) gets a line every 30 s, a terminal a live bar
                                mininterval=0.5 if sys.stderr.isatty() else 30.0)
            elif p.stage in ("model", "write", "switch"):
                print(f"{p.stage:>8}: {p.message}", file=sys.stderr)
        if self.bar is not None and p.done > self.bar.n:
            self.bar.update(p.done - self.bar.n)  # update(), unlike refresh(), respects mininterval

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def cmd_index(args: argparse.Namespace) -> int:
    from .service import BulletinService

    settings = _settings(args)
    service = BulletinService(settings)
    if args.status:
        return _print_status(service, args.json)
    bar = _Bar(args.quiet)
    try:
        report = service.reindex(progress=bar, wait=args.wait, strict=args.strict)
    finally:
        bar.close()
    read = None if args.no_read else _read_passages(service, args.quiet)
    for problem in report.problems:
        print(f"skipped {problem.file}: {problem.reason}", file=sys.stderr)
    for problem in report.suspect:
        print(f"suspect {problem.file}: {problem.reason}", file=sys.stderr)
    if args.json:
        print(json.dumps({**report.__dict__, "problems": [p.__dict__ for p in report.problems],
                          "kept": [p.__dict__ for p in report.kept],
                          "suspect": [p.__dict__ for p in report.suspect],
                          "reader_vectors": service.stats().reader_vectors}, ensure_ascii=False))
    else:
        if report.built:
            what = (f"updated: {report.added} added, {report.changed} changed, {report.removed} removed, "
                    f"{report.failed} failed")
        else:
            what = f"nothing changed, {report.failed} failed"
        what += f", {len(report.kept)} kept" if report.kept else ""
        print(
            f"index {report.version} in {settings.index}: {what}\n"
            f"contents: {report.issues} issues, {report.articles} articles, {report.chunks} chunks\n"
            f"files: {report.added} added, {report.changed} changed, {report.removed} removed, "
            f"{report.unchanged} unchanged, {report.failed} skipped" + (f", {len(report.kept)} kept" if report.kept else "")
            + f"\nvectors: {report.embedded} embedded, {report.reused} from cache; {report.seconds:.1f} s"
        )
        if report.kept:
            print(kept_line(report.kept))
        if read is not None:
            print(read)
    return 0


def _read_passages(service, quiet: bool) -> str | None:
    """The reader's pass over the new version's chunks, with a bar; Ctrl-C stops it and keeps
    the index (what was read is cached, the next `index` goes on from there)."""
    bar = _Bar(quiet)
    try:
        outcome = service.read_passages(bar)
    except KeyboardInterrupt:
        return ("reader: stopped; answers are ranked without the reader's vectors until "
                "`bulletin-bot index` completes them (what was read is cached)")
    finally:
        bar.close()
    if outcome is None:
        return None
    return f"reader: {outcome.read} chunks read, {outcome.cached} from cache"


_READER_STATE = {
    "complete": "vectors of every chunk (answers ranked with them)",
    "missing": "vectors not complete: answers ranked without them until `bulletin-bot index` reads the chunks",
    "off": "off (BULLETIN_BOT_READER=none, or on Milvus)",
    "too_large": "off: too many chunks for the reader's pass (days on this archive); ranked without its vectors",
}


def _print_status(service, as_json: bool) -> int:
    from .readers import ocr_status

    status = service.stats()
    ocr = ocr_status()
    if as_json:
        print(json.dumps({**status.__dict__, "problems": [p.__dict__ for p in status.problems],
                          "kept": [p.__dict__ for p in status.kept],
                          "suspect": [p.__dict__ for p in status.suspect],
                          "ocr": {"available": ocr.available, "detail": ocr.detail}}, ensure_ascii=False))
        return 0
    ocr_line = f"available ({ocr.detail})" if ocr.available else f"not available, scanned PDFs are refused: {ocr.detail}"
    print(f"version:  {status.version}\nbuilt:    {status.built_at}\nmodel:    {status.model}, {status.dimension} dims\n"
          f"contents: {status.issues} issues, {status.articles} articles, {status.chunks} chunks\npath:     {status.path}\n"
          f"backend:  {status.backend}\n"
          f"reader:   {_READER_STATE.get(status.reader_vectors, status.reader_vectors)}\n"
          f"ocr:      {ocr_line}")
    if status.problems:
        print(f"files that failed last time ({len(status.problems)}):")
        for p in status.problems:
            print(f"  {p.file}: {p.reason}")
    else:
        print("files that failed last time: none")
    if status.kept:
        print(kept_line(status.kept))
    if status.suspect:
        print(f"issues indexed whose articles look wrongly read ({len(status.suspect)}):")
        for p in status.suspect:
            print(f"  {p.file}: {p.reason}")
    return 0


def kept_line(kept) -> str:
    """Indexed issues whose file became unreadable, still answered from the version before."""
    return f"{len(kept)} kept from the previous version: " + "; ".join(f"{p.file}: {p.reason}" for p in kept)


# ------------------------------------------------------------------ ask


ASK_HOW = ("ask like this: bulletin-bot ask 红书房建了多少个 ; or one question per line on standard input: "
           "echo 红书房建了多少个 | bulletin-bot ask (or bulletin-bot ask - < questions.txt)")


def format_answer(answer) -> str:
    from .conversation import understood_line
    from .models import CLOSEST_HEADING
    from .question_check import is_question_problem

    if is_question_problem(answer):  # how it was asked, not what the bulletins hold: no "not found"
        return answer.reason
    if answer.contents:
        return format_contents(answer)
    first = f"{understood_line(answer.understood)}\n" if answer.understood else ""
    if not answer.results:
        hint = "试试换个说法、减少关键词，或写明期号（如 第455期）、日期（如 2023年12月）。"
        reason = (answer.reason or "简报中没有相关内容").rstrip("。")
        return f"{first}未找到：{reason}。{hint}"
    blocks = [first.rstrip("\n")] if first else []
    if answer.note:
        blocks.append(f"（{answer.note}）")
    if not answer.found:  # why, when the ranking can say, then the closest passages
        blocks.append(f"未找到：{answer.reason}\n{CLOSEST_HEADING}" if answer.reason else f"未找到：{CLOSEST_HEADING}")
    for n, q in enumerate(answer.results, 1):
        quote = q.quote.replace("\n", "\n     ")  # paragraphs of the quote stay under its marker
        blocks.append(f"{n}. {q.citation.label()}\n   > {quote}")
    return "\n\n".join(blocks)


def format_contents(answer) -> str:
    """A question about the bulletins themselves: each issue's sections and titles."""
    blocks = [f"（{answer.note}）"] if answer.note else []
    for view in answer.contents:
        s = view.summary
        lines = [f"第{s.number}期 · {s.date}" + (f" · {s.series}" if s.series else "")]
        section = None
        for ref in view.articles:
            if ref.section != section:
                section = ref.section
                lines.append(f"  【{section}】")
            lines.append(f"    {ref.index}. {ref.title}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def cmd_ask(args: argparse.Namespace) -> int:
    from .answers import answer_to_json

    from_stdin = args.question in (None, "-")
    if not from_stdin and not args.question.strip():
        print(f"bulletin-bot ask: the question is empty (问题是空的); {ASK_HOW}", file=sys.stderr)
        return 2
    if args.question is None and sys.stdin.isatty():  # nothing piped: do not sit waiting for input
        print(f"bulletin-bot ask: no question given; {ASK_HOW}", file=sys.stderr)
        return 2
    service = _service(args)
    questions = (line.strip() for line in sys.stdin) if from_stdin else [args.question]
    for question in questions:
        if not question:
            continue
        answer = service.ask(question, top_k=args.top_k)
        if args.json:
            print(json.dumps(answer_to_json(answer), ensure_ascii=False), flush=True)
        else:
            print(format_answer(answer), flush=True)
            if from_stdin:
                print(flush=True)
    return 0


# ------------------------------------------------------------------ chat


def _turns(interactive: bool):
    """Each line typed (with line editing and history on a terminal) or read from stdin."""
    if not interactive:
        yield from (line.strip() for line in sys.stdin)
        return
    try:
        import readline  # noqa: F401  (input() then edits lines and keeps a history)
    except ImportError:  # not on every platform; plain input() still works
        pass
    print("接着问就行（那徐州呢、去年的呢、还有吗、第二条的全文）；/new 重新开始，Ctrl-D 退出。", file=sys.stderr)
    while True:
        try:
            yield input("问> ").strip()
        except EOFError:
            print(file=sys.stderr)
            return


def cmd_chat(args: argparse.Namespace) -> int:
    from .conversation import is_reset, turn_to_json

    service = _service(args)
    key = ("cli", str(os.getpid()))
    for message in _turns(sys.stdin.isatty() and not args.json):
        if not message:
            continue
        if is_reset(message):
            service.forget(key)
            print(json.dumps({"reset": True}) if args.json else "（新问题：前面的问题不再算数）", flush=True)
            continue
        answer = service.converse(key, message, top_k=args.top_k)
        if args.json:
            print(json.dumps(turn_to_json(answer), ensure_ascii=False), flush=True)
        else:
            print(format_answer(answer) + "\n", flush=True)


# ------------------------------------------------------------------ compile and subscriptions


def cmd_compile(args: argparse.Namespace) -> int:
    import time

    from .dossier import compile_dossier
    from .dossier_render import write

    service = _service(args)
    started = time.perf_counter()
    dossier = compile_dossier(service, args.topic, args.date_from, args.date_to, args.group, args.passages)
    path = write(dossier, Path(args.out))
    print(f"{path}: {len(dossier.entries)} 篇文章，来自 {dossier.issue_count} 期简报（{dossier.period}），"
          f"{time.perf_counter() - started:.1f} s", file=sys.stderr)
    return 0


def cmd_subscriptions(args: argparse.Namespace) -> int:
    from .subscriptions import SubscriptionStore, path_for

    store = SubscriptionStore(path_for(_settings(args).index))
    counts = store.counts()
    if not counts:
        print("no subscriptions")
    for c in counts:
        print(f"{c.channel}: {c.chats} chats follow {c.subscriptions} topics/series")
    return 0


# ------------------------------------------------------------------ eval


def cmd_eval(args: argparse.Namespace) -> int:
    from .evaluation import evaluate, format_table, load_questions, load_truth

    questions = []
    for path in args.questions:
        questions.extend(load_questions(Path(path)))
    truth = load_truth(Path(args.truth)) if args.truth else {}
    service = _service(args)
    tallies = evaluate(questions, lambda q: service.ask(q, top_k=10), truth)
    if args.json:
        print(json.dumps({k: t.row() for k, t in tallies.items()}, ensure_ascii=False))
    else:
        print(format_table(tallies))
    if args.verbose:
        for miss in tallies["all"].misses:
            print(f"miss: {miss}", file=sys.stderr)
    return 0


# ------------------------------------------------------------------ parse


def cmd_parse(args: argparse.Namespace) -> int:
    from .corpus import scan
    from .parsing import format_outline, issue_to_json

    issues, problems = scan([Path(p) for p in args.paths])
    for issue in issues:
        for reason in issue.warnings:
            print(f"bulletin-bot: {issue.file}: suspect: {reason}", file=sys.stderr)
        if args.json:
            print(json.dumps(issue_to_json(issue), ensure_ascii=False))
        else:
            print(format_outline(issue))
            print()
    for problem in problems:
        print(f"bulletin-bot: {problem.file}: {problem.reason}", file=sys.stderr)
    if not args.json:
        print(f"{len(issues)} issue(s) parsed, {len(problems)} file(s) with problems", file=sys.stderr)
    return 0 if issues else 1


# ------------------------------------------------------------------ model


def cmd_model(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if args.action == "build":
        from .static_model import build_static_model

        bar = _Bar(quiet=False)
        try:
            path = build_static_model(settings.cache, progress=bar)
        finally:
            bar.close()
        print(f"static-zh model ready in {path}")
        return 0
    from .embedding import load_embedder

    embedder = load_embedder(args.name or settings.model or "default", settings.cache)
    print(f"{embedder.model_id}: {embedder.dimension} dimensions")
    return 0


# ------------------------------------------------------------------ front ends


def cmd_serve(args: argparse.Namespace) -> int:
    import logging

    from .service import BulletinService

    settings = _settings(args)
    if args.channel == "telegram":
        from .bot import run_bot

        run_bot(settings, BulletinService(settings))
        return 0
    if not logging.getLogger().handlers:
        logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    # httpx logs every URL at INFO, and WeCom puts its secret and access token in URLs
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    if args.channel == "wecom":
        from .channels.wecom import check_settings, run_wecom as run
    elif args.channel == "dingtalk":
        from .channels.dingtalk import check_settings, run_dingtalk as run
    else:
        from .channels.feishu import check_settings, run_feishu as run
    check_settings(settings)  # before loading anything: a missing setting is named at once
    service = BulletinService(settings)
    _warm_up(service)
    run(settings, service)
    return 0


def _warm_up(service) -> None:
    """Load the index now, so the first question is not the slow one, and say what is served."""
    import logging

    from .errors import IndexInvalid, IndexMissing

    log = logging.getLogger("bulletin_bot.serve")
    try:
        status = service.stats()
        log.info("serving index %s: %d issues, %d articles", status.version, status.issues, status.articles)
    except (IndexMissing, IndexInvalid) as exc:
        log.warning("no usable index yet (%s): questions get a notice until an admin sends /reindex", exc)


def cmd_web(args: argparse.Namespace) -> int:
    from .service import BulletinService
    from .web import run_web

    settings = _settings(args)
    run_web(settings, BulletinService(settings), host=args.host, port=args.port)
    return 0


# ------------------------------------------------------------------ parser


def build_parser() -> argparse.ArgumentParser:
    from .readers.detect import SUPPORTED_LABEL

    parser = argparse.ArgumentParser(
        prog="bulletin-bot",
        description="Answer questions over Chinese work bulletins (工作简报) with verbatim quotes and citations.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(name: str, func, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(func=func)
        return p

    def index_opt(p: argparse.ArgumentParser) -> None:
        p.add_argument("--index", metavar="DIR", help="index folder (env BULLETIN_BOT_INDEX; default: index)")

    def model_opt(p: argparse.ArgumentParser) -> None:
        p.add_argument("--model", metavar="NAME",
                       help="embedding model: default, static-zh, e5, minilm (dev extra), hash (tests), a sentence-transformers name or "
                            "local path (env BULLETIN_BOT_MODEL; default: the model the index was built with)")

    p = add("index", cmd_index, "build or update the index from the corpus folder (incremental, atomic)")
    p.add_argument("--corpus", metavar="DIR", help="folder of bulletin files (env BULLETIN_BOT_CORPUS; default: corpus)")
    index_opt(p)
    model_opt(p)
    p.add_argument("--status", action="store_true",
                   help="show the current index version, model, counts, failed files, issues kept from the previous "
                        "version (their file unreadable now), issues whose articles look wrongly read, and whether OCR "
                        "(for scanned PDFs) is available")
    p.add_argument("--strict", action="store_true", help="refuse to build when any file is bad")
    p.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                   help="wait this long for another running build instead of exiting")
    p.add_argument("--no-read", action="store_true",
                   help="skip the reader's pass over new chunks after the build (about 0.1 s a chunk not read "
                        "before; until it is complete, answers are ranked without the reader's vectors)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")

    p = add("ask", cmd_ask, "answer a question (or each line of standard input) with quotes and citations")
    p.add_argument("question", nargs="?", metavar="QUESTION", help="the question; omit it (with input piped in) or give - to read one per line from stdin")
    index_opt(p)
    model_opt(p)
    p.add_argument("-k", "--top-k", type=int, default=5, metavar="K", help="how many passages to show (default 5)")
    p.add_argument("--json", action="store_true",
                   help='one JSON object per question: {"query","found","reason","reason_code","note","understood",'
                        '"results":[{"issue","date","section","title","quote","score","file",...}]}, and "contents" '
                        'for a question about the bulletins themselves (第455期有哪些文章)')

    p = add("chat", cmd_chat, "a conversation in the terminal: follow-ups (那徐州呢, 去年的呢, 还有吗, 第二条的全文) "
                              "are read against the questions before, /new (新问题) starts afresh")
    index_opt(p)
    model_opt(p)
    p.add_argument("-k", "--top-k", type=int, default=5, metavar="K", help="how many passages to show (default 5)")
    p.add_argument("--json", action="store_true",
                   help='read one turn per line of stdin, print one JSON line per turn: the ask --json fields '
                        'plus "understood" (the whole question a follow-up was taken for, "" for a new one); '
                        'a /new line prints {"reset": true}')

    p = add("compile", cmd_compile, "compile a topic's 素材汇编: every article of a period that answers it, "
                                    "verbatim under its citation, as .docx or .md")
    p.add_argument("topic", metavar="TOPIC", help="the topic, asked like a question (e.g. 理论宣讲)")
    p.add_argument("--from", dest="date_from", required=True, metavar="DATE", help="first month or day: 2023-01 or 2023-01-15")
    p.add_argument("--to", dest="date_to", required=True, metavar="DATE", help="last month or day: 2023-12 or 2023-12-31")
    p.add_argument("--out", required=True, metavar="FILE", help="the document to write: .docx or .md")
    p.add_argument("--group", choices=["section", "month"], default="section",
                   help="group the articles by 【section】 or by month (default: section)")
    p.add_argument("--passages", action="store_true",
                   help="only the passages that answer the topic (default: whole articles)")
    index_opt(p)
    model_opt(p)

    p = add("subscriptions", cmd_subscriptions, "for admins: how many chats follow topics, per channel")
    index_opt(p)

    p = add("eval", cmd_eval, "measure retrieval on a question file (hit@1, hit@5, quote@5, MRR@10, abstention)")
    p.add_argument("--questions", required=True, nargs="+", metavar="FILE", help="JSON-lines question file(s)")
    index_opt(p)
    model_opt(p)
    p.add_argument("--truth", metavar="FILE",
                   help="JSON lines with id, date, title of each article, to resolve question ids "
                        "(e.g. ../shared/corpus/xwlb/truth.jsonl); without it an id's last number is the "
                        "article's position in its issue")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.add_argument("-v", "--verbose", action="store_true", help="list the questions missed")

    p = add("parse", cmd_parse, "parse bulletin files or folders and show their structure")
    p.add_argument("paths", nargs="+", metavar="PATH", help=f"files ({SUPPORTED_LABEL}; the format is told by the content) or folders")
    p.add_argument("--json", action="store_true",
                   help='one JSON object per issue: {"file","series","issue","date","office","sections","articles"}')

    p = add("model", cmd_model, "build the default static model, or show what a model name loads")
    p.add_argument("action", choices=["build", "show"], help="build: distil static-zh into the cache; show: load and describe")
    p.add_argument("name", nargs="?", help="model to show (default: the configured one)")

    p = add("serve", cmd_serve, "run the chat bot: Telegram (default), WeCom, DingTalk or Feishu")
    p.add_argument("--channel", choices=["telegram", "wecom", "dingtalk", "feishu"], default="telegram",
                   help="telegram: long polling or webhook (TELEGRAM_BOT_TOKEN, BULLETIN_BOT_ADMINS); "
                        "wecom: 企业微信 callback URL /wecom/callback (BULLETIN_BOT_WECOM_*); "
                        "dingtalk: 钉钉 Stream mode, no public IP needed (BULLETIN_BOT_DINGTALK_*); "
                        "feishu: 飞书 event URL /feishu/events (BULLETIN_BOT_FEISHU_*). Default: telegram")
    p.add_argument("--corpus", metavar="DIR", help="corpus folder uploads go to (env BULLETIN_BOT_CORPUS)")
    index_opt(p)
    p.add_argument("--listen", metavar="ADDR", help="address of the wecom/feishu callback server "
                                                     "(env BULLETIN_BOT_LISTEN; default 0.0.0.0)")
    p.add_argument("--port", type=int, metavar="PORT", help="its port (env BULLETIN_BOT_PORT; default 8080)")

    p = add("web", cmd_web, "serve the web app (ask, read, admin) for browsers")
    p.add_argument("--corpus", metavar="DIR", help="corpus folder uploads go to (env BULLETIN_BOT_CORPUS)")
    index_opt(p)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="port (default 8080)")

    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except BulletinError as exc:  # every error the project raises on purpose: one line, status 1
        print(f"bulletin-bot: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bulletin-bot: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
