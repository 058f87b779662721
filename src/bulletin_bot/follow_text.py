"""The follow and compile commands as every chat front end words them (plain text; each front
end escapes it for its markup): what a message asks, and the replies.

    /follow 理论宣讲 · 关注 理论宣讲        follow a topic
    /follow 全部 · 关注 全部                follow every new issue
    /unfollow 理论宣讲 · 取消关注 理论宣讲   stop
    /following · 我的关注                   the list
    /compile 理论宣讲 2023-01 2023-12 [月] [段落]   a 素材汇编
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .delivery import issue_key
from .subscriptions import MAX_TOPIC_CHARS, FollowRefused, SubscriptionStore, clean_topic

_PLAIN = re.compile(r"(取消关注|不再关注|关注)\s*[:：]?\s*(.*)", re.S)
FOLLOWING_WORDS = frozenset({"我的关注", "关注列表", "我关注的"})

HELP_LINES = (
    "/follow 主题 — 关注一个主题，新一期简报里有相关文章时发给你（也可以直接发「关注 主题」）",
    "/follow 全部 — 每出一期新简报都发给你目录",
    "/following — 你关注的主题（「我的关注」）",
    "/unfollow 主题 — 取消关注（「取消关注 主题」）",
    "/compile 主题 2023-01 2023-12 — 把这段时间回答这个主题的文章汇编成文档（素材汇编；加「月」按月分组，加「段落」只收相关段落）",
)


def parse_plain(text: str) -> tuple[str, str] | None:
    """("follow"|"unfollow"|"following", topic) for 关注 X / 取消关注 X / 我的关注; None otherwise."""
    text = " ".join(text.split())
    if text in FOLLOWING_WORDS:
        return "following", ""
    m = _PLAIN.fullmatch(text)
    if not m or not m.group(2).strip() or len(m.group(2)) > MAX_TOPIC_CHARS:
        return None  # "关注" alone, or a long sentence that begins with it: a question
    return ("follow" if m.group(1) == "关注" else "unfollow"), m.group(2).strip()


def follow_reply(store: SubscriptionStore, service: Any, channel: str, chat: str, topic: str) -> str:
    if not clean_topic(topic):
        return "请写上要关注的主题，例如：/follow 理论宣讲；每一期都要：/follow 全部"
    try:
        keys = [issue_key(i) for i in service.issues()]
    except Exception:  # no index yet: every issue indexed later is new
        keys = []
    try:
        sub = store.follow(channel, chat, topic, keys)
    except FollowRefused as exc:
        return str(exc)
    if sub.series:
        return "✅ 已关注每一期新简报：新一期收录后会把目录发给你。发送 /following 查看关注，/unfollow 全部 取消。"
    return (f"✅ 已关注「{sub.topic}」：新一期简报收录后，其中回答这个主题的文章会连同出处发给你（没有就不发）。"
            f"发送 /following 查看关注，/unfollow {sub.topic} 取消。")


def unfollow_reply(store: SubscriptionStore, channel: str, chat: str, topic: str) -> str:
    if not clean_topic(topic):
        return "请写上要取消的主题，例如：/unfollow 理论宣讲。发送 /following 查看你关注的主题。"
    if store.unfollow(channel, chat, topic):
        return f"已取消关注「{topic.strip()}」。"
    return f"你没有关注「{topic.strip()}」。发送 /following 查看你关注的主题。"


def following_reply(store: SubscriptionStore, channel: str, chat: str) -> str:
    subs = store.following(channel, chat)
    if not subs:
        return "你还没有关注任何主题。发送「关注 理论宣讲」或 /follow 全部 开始关注。"
    lines = [f"你关注了 {len(subs)} 项（最多 {store.limit} 项）："]
    lines += [f"· {s.label}" for s in subs]
    lines.append("取消：/unfollow 主题")
    return "\n".join(lines)


def counts_reply(store: SubscriptionStore) -> str:
    counts = store.counts()
    if not counts:
        return "还没有人关注任何主题。"
    return "\n".join(["关注统计："] + [f"· {c.channel}：{c.chats} 个会话，{c.subscriptions} 项关注" for c in counts])


@dataclass(frozen=True)
class CompileRequest:
    topic: str
    start: str
    end: str
    group: str = "section"
    passages: bool = False


# a compile asks one question per month of its period: one runs at a time in a bot process
COMPILES_AT_ONCE = 1
COMPILE_BUSY = "正在生成另一份素材汇编，同一时间只生成一份，请过一会儿再试。"
COMPILE_YOURS = "你的上一份素材汇编还在生成，请等它完成。"
COMPILE_YIELD = "你刚生成过一份素材汇编，另一位用户正在等，请过一会儿再试。"
# a user whose compile just ended, while another was refused one, stands aside this long (turns.py)
COMPILE_REST_SECONDS = 30.0
COMPILE_USAGE = "用法：/compile 主题 起始月 结束月，例如 /compile 理论宣讲 2023-01 2023-12（可加「月」按月分组、「段落」只收相关段落）"
_DATE = re.compile(r"\d{4}(?:[-/.年]\d{1,2}(?:[-/.月]\d{1,2}日?)?月?)?")


def compile_turns() -> Any:
    """The bound on compiles at once in a bot process (a `turns.RunningQuestions`, never waiting)."""
    from .turns import RunningQuestions

    return RunningQuestions(per_client=1, overall=COMPILES_AT_ONCE, waiting=0, rest=COMPILE_REST_SECONDS)


def compile_refused(status: int, yielding: bool = False) -> str:
    """The reply to a compile refused by `compile_turns` (Busy's status: 429 yours, 503 another's;
    `yielding`: yours just ended and another user is waiting for a turn)."""
    if yielding:
        return COMPILE_YIELD
    return COMPILE_YOURS if status == 429 else COMPILE_BUSY


def parse_compile(arg: str) -> CompileRequest | None:
    """"理论宣讲 2023-01 2023-12 月 段落" -> a request; None when the dates are missing."""
    words = arg.split()
    dates = [w for w in words if _DATE.fullmatch(w)]
    group = "month" if any(w in ("月", "按月") for w in words) else "section"
    passages = any(w in ("段落", "只要段落") for w in words)
    topic = " ".join(w for w in words if w not in dates and w not in ("月", "按月", "栏目", "按栏目", "段落", "只要段落"))
    if not topic or not dates:
        return None
    start, end = dates[0], dates[-1]
    return CompileRequest(topic, start.rstrip("月"), end.rstrip("月"), group, passages)
