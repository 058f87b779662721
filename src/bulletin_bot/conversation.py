"""A chat's context, and a follow-up read against it into a whole question, by rules.

People ask the next thing, not the whole question again: "2024年山东GDP有多少" then "广东呢",
"去年的呢", "具体有哪些措施", "还有吗", "第二条的全文". Each chat member's last few questions
are kept as the bot understood them (`Turn`), in memory, for a while (`ContextStore`), and a
new message is read against the last one (`resolve`):

- a slot swapped: a place (那徐州呢), a body (教育部呢), a period (去年的呢, 2024年的呢, 上个月呢),
  an ordinal (第二批呢), a section (【学习动态】里呢) takes the place of the one asked before, or
  is added to it;
- the same subject asked further (这个会是谁主持的, 效果怎么样): the subject of the question
  before with the new ask;
- other cases (还有吗, 别的省呢, 还有哪些地方也这么做): the same question, without the place
  when other places are asked for, and without the articles already shown;
- a result referred to (第二条的全文, 原文, 这一期还有什么): that result's article, or the other
  articles of its issue.

A message that names a subject of its own (a place, a body, a name, a quoted title, a day, a
figure, beside words the question before did not have) is a new question and is never merged,
however short. A message whose own words only ask about a subject (能提供多少岗位, 存量房贷利率
怎么调, 这届签约了多少个项目) may be either: it is read both ways (`Reading.alternative`), the
service searches both and keeps the one the ranking's evidence favours (`better_reading`), never
a merged one whose answer lacks the message's own telling words. That costs a second search, for
such messages only. Nothing here is logged: questions are the users' own words.
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from functools import lru_cache
from importlib import resources
from pathlib import Path

from .models import ArticleView, Quote
from .ranking.specifics import is_province, places
from .text import (coverage, expand_chat_shorthand, is_question_word, jieba_tokenizer, normalise_token, noun_words, person_words, query_terms, sentence_spans,
                   specific_words, term_credit, term_weight)

TURNS_KEPT = 4  # a few questions back is all a follow-up ever reaches
CONTEXTS_KEPT = 10_000  # conversations kept at once per channel; the oldest is forgotten first
Key = tuple[str, ...]  # (channel, chat, user): in a group each member has their own


@dataclass(frozen=True)
class Turn:
    """One question as the bot understood it, and what it showed."""

    question: str  # the whole question asked (resolved)
    subject: str  # what it is about, without what it asks ("2024年山东GDP")
    shown: tuple[int, ...] = ()  # article ids of the results shown, best first
    exclude: frozenset[int] = frozenset()  # articles it left out (还有吗 after 还有吗)


@dataclass(frozen=True)
class Reading:
    """How a message was read: a new question, or a follow-up resolved into a whole one."""

    kind: str  # "fresh", "swap", "further", "others", "refer"
    question: str  # what to ask the archive ("" for a result referred to)
    understood: str = ""  # what the reply's first line says it answered ("" for a fresh question)
    subject: str = ""  # the subject carried on to the next turn
    exclude: frozenset[int] = frozenset()  # articles not to show again
    article_id: int | None = None  # refer: this result's article
    contents_of: int | None = None  # refer: the other articles of this result's issue
    among: tuple[int, ...] = ()  # refer: the results shown, one of which `naming` names (拉各斯那条的原文)
    naming: tuple[str, ...] = ()
    # a message that may be either (能提供多少岗位: a new question, or the subject before asked
    # further): the other reading, searched too; the evidence picks (`better_reading`)
    alternative: Reading | None = None
    own: tuple[str, ...] = ()  # ... and the words the message brings of its own (岗位), to check the merged answer by

    @property
    def followup(self) -> bool:
        return self.kind != "fresh"


# ---------------------------------------------------------------- the store


@dataclass
class _Entry:
    turns: tuple[Turn, ...]
    at: float


class ContextStore:
    """Each conversation's last turns, in memory, forgotten after `minutes` of silence.

    Bounded per channel (a key's first part: "web", "telegram", "wecom" …): at most `kept`
    conversations of each (its least recently used go first) and `turns` turns each, so the web,
    whose session ids any client may make up, cannot push a chat user's conversation out.
    Thread-safe: front ends call it from worker threads.
    """

    def __init__(self, minutes: float = 30.0, kept: int = CONTEXTS_KEPT, turns: int = TURNS_KEPT,
                 clock=time.monotonic) -> None:
        self.seconds = minutes * 60.0
        self.kept, self.turns_kept = kept, turns
        self.clock = clock
        self._channels: dict[str, OrderedDict[Key, _Entry]] = {}
        self._lock = threading.Lock()

    def _of(self, key: Key) -> OrderedDict[Key, _Entry]:
        return self._channels.setdefault(str(key[0]) if key else "", OrderedDict())

    def turns(self, key: Key) -> tuple[Turn, ...]:
        with self._lock:
            entries = self._of(key)
            entry = entries.get(key)
            if entry is None:
                return ()
            if self.clock() - entry.at > self.seconds:
                del entries[key]
                return ()
            return entry.turns

    def record(self, key: Key, turn: Turn) -> None:
        with self._lock:
            entries = self._of(key)
            entry = entries.pop(key, None)
            turns = (entry.turns if entry and self.clock() - entry.at <= self.seconds else ()) + (turn,)
            entries[key] = _Entry(turns[-self.turns_kept:], self.clock())
            while len(entries) > self.kept:
                entries.popitem(last=False)

    def forget(self, key: Key) -> None:
        with self._lock:
            self._of(key).pop(key, None)

    def __len__(self) -> int:
        return sum(len(entries) for entries in self._channels.values())


# whole messages that start a new conversation (/new in every front end)
RESET_WORDS = frozenset({"/new", "新问题"})


def is_reset(message: str) -> bool:
    text = message.strip().lower()
    return text in RESET_WORDS or bool(re.fullmatch(r"/new(?:@\S+)?", text))


# ---------------------------------------------------------------- places and bodies


def _data_text(name: str) -> str:
    return resources.files("bulletin_bot").joinpath("data", name).read_text(encoding="utf-8")


def known_places() -> frozenset[str]:
    """The provinces and prefecture cities of data/places.txt (shared with the ranking)."""
    return places()


@lru_cache(maxsize=1)
def _county_words() -> frozenset[str]:
    """Words jieba's dictionary tags as places (ns) that end like a county, district or town:
    泗洪县, 浦东新区. Other ns words are too often common nouns to count as places."""
    import jieba

    text = Path(jieba.__file__).with_name("dict.txt").read_text(encoding="utf-8")
    return frozenset(w for w in re.findall(r"^(\S+) \d+ ns$", text, re.M) if len(w) >= 3 and w[-1] in _ADMIN_ENDS)


_ADMIN_ENDS = "县区市州盟旗镇乡村"
_PLACE_SUFFIX = re.compile(r"(?:省|市|自治区|特别行政区|地区|自治州|州|县|区)$")
_BODY_END = "部局厅委署办院"
_BODIES = frozenset("央行 人民银行 国务院 全国人大 全国政协 党中央 中共中央 中央 统计局 海关".split())


def is_place(word: str) -> bool:
    if word in known_places():
        return True
    stem = _PLACE_SUFFIX.sub("", word)
    return (stem != word and len(stem) >= 2 and stem in known_places()) or word in _county_words()


def is_body(word: str) -> bool:
    return word in _BODIES or (len(word) >= 3 and word[-1] in _BODY_END and not is_place(word))


def _tokens(text: str) -> list[tuple[str, int, int]]:
    """(word, start, end) of each word jieba cuts from `text`."""
    out, at = [], 0
    for raw in jieba_tokenizer().lcut(text):
        if out and len(raw) == 1 and is_place(out[-1][0] + raw):  # 大湾|区: a place jieba cuts in two
            out[-1] = (out[-1][0] + raw, out[-1][1], at + 1)
        else:
            out.append((raw, at, at + len(raw)))
        at += len(raw)
    return out


# ---------------------------------------------------------------- slots


_CN = "零〇一二两三四五六七八九十百"
# 第三届, 首届 (the first), 2024届 (a year's graduates)
_ORDINAL = re.compile(rf"第\s*([{_CN}\d]{{1,6}})\s*([批届次轮期])|首\s*([批届轮期])|\d{{4}}\s*届")
_SECTION = re.compile(r"【([^【】]{1,12})】|《([^《》]{1,12})》\s*(?:栏目|专栏|板块)|([\u4e00-\u9fff]{2,8})(?:栏目|专栏|板块)")
_YEAR_PART = r"(?:\s*(?:\d{1,2}\s*[-—–~～至到]\s*\d{1,2}\s*月|前\s*[\d一二三四五六七八九十]{1,2}\s*个月|\d{1,2}\s*月份?(?!\s*\d{1,2}\s*[日号]|\s*(?:初|上旬|中旬|下旬|底|末))|[上下]半年|(?:第\s*)?[一二三四1-4]\s*季度|前三季度|全年|一?整年|年底|年末|头\s*[\d一二三四五六七八九十两]{1,2}\s*个?月))?"
_ABS_PERIOD = re.compile(rf"(\d{{4}})\s*年度?{_YEAR_PART}")
_REL_YEAR = re.compile(rf"(?<![比较])(今年|去年|前年|明年|上一年|本年度?){_YEAR_PART}")  # not 比去年: a comparison
_REL_MONTH = re.compile(r"(?<![比较])(上个?月|下个?月|这个月|本月)(?:份)?")
# a month (3月), not a day (12月4日: one event, named by its date)
_SUB_YEAR = re.compile(r"(?<![\d年])(\d{1,2}\s*月份?(?!\s*\d{1,2}\s*[日号]|\s*(?:初|上旬|中旬|下旬|底|末))|[上下]半年|(?:第\s*)?[一二三四1-4]\s*季度|前三季度"
                       r"|[前头]\s*[\d一二三四五六七八九十两]{1,2}\s*个?月|一?整年)")
# a day (11月10日, 22号) or a part of a month (6月初, 9月中旬): the "截至" of a running count
# (a death toll, a harvest's progress), swapped like a period
_DAY_OF_MONTH = re.compile(r"(?<!\d)\d{1,2}\s*月\s*\d{1,2}\s*[日号]")
_PART_OF_MONTH = re.compile(r"(?<!\d)\d{1,2}\s*月\s*(?:初|上旬|中旬|下旬|底|末)")
_BARE_DAY = re.compile(r"(?<![\d月])\d{1,2}\s*[日号](?![\d线楼])")
# the public holidays, with what follows their name (假期, 黄金周): the period of a holiday's figures
_HOLIDAY = re.compile(r"(?:春节|元旦|清明|五一|劳动节|端午|中秋|国庆|十一(?=假期|长假|黄金周)|元宵)(?:节)?(?:假期|长假|黄金周|小长假)?")
_YEAR_SHIFT = {"今年": 0, "本年": 0, "本年度": 0, "去年": -1, "上一年": -1, "前年": -2, "明年": 1}


@dataclass(frozen=True)
class Slots:
    """The restricting parts a message names, as written, with where each sits."""

    places: tuple[tuple[str, int, int], ...] = ()
    bodies: tuple[tuple[str, int, int], ...] = ()
    period: tuple[str, int, int] | None = None  # as written: "2024年", "去年", "上个月", "3月"
    ordinal: tuple[str, int, int] | None = None  # "第二批", "第455期"
    section: tuple[str, int, int] | None = None  # "【学习动态】"
    holiday: tuple[str, int, int] | None = None  # "清明假期", "国庆": a period named by its holiday
    day: tuple[str, int, int] | None = None  # "11月10日", "22号", "6月初": 截至 a day, in a series of reports

    def spans(self) -> list[tuple[int, int]]:
        found = [(s, e) for _, s, e in self.places + self.bodies]
        found += [(s, e) for x in (self.period, self.ordinal, self.section, self.holiday, self.day) if x for _, s, e in [x]]
        return found

    def any(self) -> bool:
        return bool(self.spans())


def find_slots(text: str) -> Slots:
    taken: list[tuple[int, int]] = []

    def free(s: int, e: int) -> bool:
        return all(e <= a or s >= b for a, b in taken)

    def first(*patterns: re.Pattern) -> tuple[str, int, int] | None:
        for pattern in patterns:
            for m in pattern.finditer(text):
                if free(*m.span()):
                    taken.append(m.span())
                    return m.group(0), m.start(), m.end()
        return None

    section = first(_SECTION)
    holiday = first(_HOLIDAY)
    ordinal = first(_ORDINAL)
    period = first(_ABS_PERIOD, _REL_YEAR, _REL_MONTH, _SUB_YEAR)  # 2023年 | 11月10日, 2024年 | 6月初
    day = first(_DAY_OF_MONTH, _PART_OF_MONTH, _BARE_DAY)
    places, bodies = [], []
    for word, s, e in _tokens(text):
        if not free(s, e):
            continue
        if is_place(word):
            places.append((word, s, e))
        elif is_body(word):
            bodies.append((word, s, e))
    return Slots(tuple(places), tuple(bodies), period, ordinal, section, holiday, day)


def _year_of(text: str) -> int | None:
    m = _ABS_PERIOD.search(text)
    return int(m.group(1)) if m else None


def _month_of(text: str) -> tuple[int, int] | None:
    m = re.search(r"(\d{4})\s*年\s*(\d{1,2})\s*月", text)
    return (int(m.group(1)), int(m.group(2))) if m else None


def absolute_period(new: str, before: str, today: date) -> str:
    """The period `new` names, written out against the period asked `before` (or today):
    去年 after "2024年…" is 2023年; 上个月 after "2024年3月" is 2024年2月; 上半年 after
    "2024年…" is 2024年上半年."""
    m = _REL_YEAR.fullmatch(new)
    if m:
        year = (_year_of(before) or today.year) + _YEAR_SHIFT.get(m.group(1), 0)
        return f"{year}年{new[m.end(1):]}"
    m = _REL_MONTH.fullmatch(new)
    if m:
        year, month = _month_of(before) or (today.year, today.month)
        month += -1 if m.group(1).startswith("上") else 1 if m.group(1).startswith("下") else 0
        year, month = (year - 1, 12) if month < 1 else (year + 1, 1) if month > 12 else (year, month)
        return f"{year}年{month}月"
    if _SUB_YEAR.fullmatch(new):
        # a part of the year asked before; with no year before, left yearless as the user
        # left it (the ranking reads a yearless 一季度 as the latest one reported)
        year = _year_of(before)
        return f"{year}年{new}" if year else new
    return new


# ---------------------------------------------------------------- what a message asks


# words that point back at what was asked before: a demonstrative with its measure word (这个,
# 那次, 这届, 那封), a pronoun (它们, 他, 其), a time (当时, 那年) or the inside of it (里面, 其中)
_DEMONSTRATIVE = re.compile(r"(?:这|那)一?几?[个次项些位件届场封条份批回段篇种家轮期站]")
_ANAPHOR = re.compile(r"(?:这|那)一?(?:几?[个次项些位件届场封条份批回段篇种家轮期站]|年|天|里)|同一?时[候间期]|同期|该|此|上述|它们?|他们|她们|"
                      r"(?<![其吉])他|她|其(?![他它余实中次])|这样|这么|当时|当年|那时候?|里面|其中")
# ... and the noun they point with, which the subject already carries ("这个会")
_REFERENT = re.compile(rf"(?:{_ANAPHOR.pattern})(?:会议?|活动|工作|政策|项目|措施|做法|事情?|文件|报告|地方|人|数据|规划|方案|行动|计划|时候)?")
# what a chat message may open with, not part of its question (但 那年/那次/那届 point back)
# openers that say a new question follows (问个别的 is not 别的: other cases)
_NEW_TOPIC_OPENERS = "换个话题|换个问题|问个别的|问点别的|说点别的"
_NEW_TOPIC = re.compile(rf"^(?:{_NEW_TOPIC_OPENERS}|另外一个问题)")
_LEAD = re.compile(rf"^(?:(?:对了|{_NEW_TOPIC_OPENERS}|顺便问一?下|另外问一?下|问一?下|再问个问题|好的?|嗯|哦)[，,、\s]*)*"
                   r"(?:那请问|请问|另外|再问一下|再问|还想问|我想问|那你说|那(?![一几]?[个次项些位件届场封条份批回段篇种家轮期站年天里时])么?)?"
                   r"[，,、\s]*")
_SWAP_TO = re.compile(r"(?:那|那就)?(?:换成|换为|改成|改为|换到)\s*(.{1,16}?)(?:的|的话|看看|试试)?")
_TRAIL = re.compile(r"[\s?？。.!！~～…,，、]+$")
_OTHERS = re.compile(r"还有(?!哪些措施)|别的|其他|其它|其余|另外(?:的|还有)|除了|以外|之外|更多")
_OTHER_PLACES = re.compile(r"地方|地区|省份?|城市|市|县|区|哪些?地|各地|哪里")
_ASKS_PLACES = re.compile(r"哪(?:些|几个|个)(?:城市|地方|地区|省份?|市|县|区)")
_OTHER_PERIODS = re.compile(r"年份|哪些年|哪一?年|其他年|别的年|往年")
_REFER_NTH = re.compile(rf"第\s*([{_CN}\d]{{1,3}})\s*(?:条|个|篇|项|则)")
_REFER_WHOLE = re.compile(r"原文|全文|全篇|整篇|完整|详细内容|打开")
_REFER_ISSUE = re.compile(r"(?:这|那|同|该)一?期")
_ISSUE_MORE = re.compile(r"还有|其他|其它|别的|目录|都有|讲了|有什么|有哪些|还讲|还说|还[^，,。]{0,3}(?:什么|哪些)")

# words a further ask is made of: they ask about a subject, they do not name one
ASK_WORDS = frozenset(
    "措施 做法 举措 办法 经验 效果 成效 成果 结果 影响 意义 目的 原因 背景 内容 情况 进展 特点 亮点 时间 时候 开始 "
    "结束 启动 召开 举行 举办 主持 出席 参加 讲话 发布 提出 地点 地方 谁 负责 部门 单位 数据 数字 规模 人数 人次 "
    "金额 具体 主要 重点 要求 目标 任务 计划 安排 政策 规定 方案 作用 问题 详细 详情 细节 同比 增长 下降 变化 "
    "怎么 如何 怎样 为什么 何时 哪天 哪年 哪些 哪个 什么 多少 多长 多久 多大 几 还有 也 这么 那么 做 干 搞 开展 "
    "落实 推进 实施 组织 参与 人 者 会 会议 活动 工作 事 事情 一下 讲 说 呢 吗 了 的 是 有 在 到 给 让 被 还 又 "
    "都 去 来 谈 看看 告诉 我 请 介绍 哪里 为何 相比 比 对比 比较 多 少 高 低 大 小 好 怎么样 带来 取得 起 "
    "次 项 件 位 名 些 个 条 篇 其中 分别 各 一共 总共 共 全部 所有 什么样 背后 由 谁是 承办 牵头 领导 负责人 "
    "当时 最近 之后 以后 此前 以前 后来 接下来 下一步 未来 前景 预计 打算 成绩 收获 反响 评价 反映 体会 感受 "
    "资金 投入 经费 覆盖 范围 对象 面向 哪类 类型 形式 方式 途径 渠道 内涵 含义 定义 亮点 创新 特色 做得 怎样才能 "
    "为啥 咋 咋样 办 举办方 主办 主办方 嘉宾 出台 印发 文件 通知 意见 数量 比例 占比 排名 位列 第几".split()
)
_MARKERS = ASK_WORDS | frozenset("那 那么 这 呢 吗 嘛 吧 啊 呀 哦 还有 别的 其他 其它 其余 另外 也 又 再 原文 全文 "
                                 "地方 地区 省 省份 城市 市 县 区 各地 年份 往年 条 个 篇 结果 文章 报道 简报 里 中 "
                                 "上 下 栏目 专栏 板块 那会儿 那会 会儿 那时 那时候 那阵 数字 数据".split())


def _clean(message: str) -> str:
    text = " ".join(message.split())
    text = _TRAIL.sub("", text)
    text = _LEAD.sub("", text).strip()
    # 换成四川 / 改成10月: the same as 四川呢
    swap = _SWAP_TO.fullmatch(text)
    if swap:
        text = f"{swap.group(1)}呢"
    # 那 before a name that starts like a measure word (那天舟六号呢, 那天津呢): "and", not "that"
    if text.startswith("那") and _starts_with_name(text[1:]):
        text = text[1:]
    return text


def _starts_with_name(text: str) -> bool:
    first = _tokens(text[:8])[:1]
    return any(text.startswith(w) for w in specific_words(text[:12])) or bool(first and is_place(first[0][0]))


def _cn_number(s: str) -> int | None:
    if s.isdigit():
        return int(s)
    digits = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
    if s in digits:
        return digits[s]
    m = re.fullmatch(r"([一二三四五六七八九])?十([一二三四五六七八九])?", s)
    if m:
        return (digits[m.group(1)] if m.group(1) else 1) * 10 + (digits[m.group(2)] if m.group(2) else 0)
    return None


def _words(text: str) -> set[str]:
    return set(query_terms(text)) if text.strip() else set()


def own_words(text: str, before: str) -> list[str]:
    """The content words of `text` that say what it is about, beyond follow-up markers, the
    words of a further ask and the words of the question `before`."""
    seen = _words(before) | {normalise_token(w) for w in specific_words(before)}
    out = []
    for word in query_terms(text):
        if word in seen or word in _MARKERS or is_question_word(word) or len(word) < 2 and not word.isascii():
            continue
        if all(ch in _MARKERS for ch in word):  # 也这么, 还有呢: markers glued together
            continue
        if len(word) == 2 and word[0] in "这那该此":  # 这钱, 那批: pointing back, not a word of its own
            continue
        out.append(word)
    return out


def subject_of(question: str) -> str:
    """The question without what it asks: "2024年山东GDP有多少" -> "2024年山东GDP". What comes
    before its first question word; when that is nothing ("什么是新质生产力"), its words less the
    question words and the words of an ask."""
    tokens = [raw for raw, _, _ in _tokens(_clean(question))]
    asks = [i for i, raw in enumerate(tokens)
            if is_question_word(normalise_token(raw)) or raw in _ASKING or _ASK_TOKEN.match(raw)
            or raw == "多" and i + 1 < len(tokens) and tokens[i + 1][:1] in "长大久高远宽深"]
    kept = tokens[: asks[0]] if asks else tokens
    while kept and (not kept[-1].strip() or kept[-1] in _PARTICLES):
        kept.pop()
    if not kept:
        kept = [raw for raw in tokens if not is_question_word(normalise_token(raw))
                and (normalise_token(raw) not in ASK_WORDS or is_place(raw))]
        return "".join(kept).strip() or _clean(question)
    # what it is about may also follow the ask: 习近平宣布了几项「支持全球发展的行动」,
    # 习近平给谁发的「慰问电」 (not the words of the ask itself: 什么时候「召开」)
    tail = tokens[asks[-1] + 1:] if asks else []
    while tail and (not tail[0].strip() or tail[0] in _PARTICLES or tail[0] in ("并", "并且")
                    or normalise_token(tail[0]) in ASK_WORDS):
        tail.pop(0)
    while tail and (not tail[-1].strip() or tail[-1] in _PARTICLES or tail[-1] in _ASKING):
        tail.pop()
    named = [w for w in query_terms("".join(tail)) if w not in ASK_WORDS and len(w) >= 2]
    subject = "".join(kept).strip()
    return f"{subject} {''.join(tail).strip()}" if named else subject


# words that ask (beside text.is_question_word), and particles a subject does not end with
_ASKING = frozenset("谁 吗 呢 是否 有没有 是不是 几 哪 啥".split())
_ASK_TOKEN = re.compile(r"几[点时号月日届次项件家名场批款架列所座起种类轮]|有?多[长大久高远宽深]")  # 几点发射, 多长时间
_PARTICLES = frozenset("有 是 的 在 了 都 还 要 会 将 对 和 与 及".split())


def _blank_spans(text: str, spans: list[tuple[int, int]]) -> str:
    for s, e in sorted(spans, reverse=True):
        text = text[:s] + " " + text[e:]
    return text


def _replace(text: str, old: list[tuple[str, int, int]], new: str) -> str:
    """`text` with the first of `old` replaced by `new` and the rest taken out; `new` put in
    front when `old` is empty."""
    if not old:
        return f"{new}{text}"
    for i, (_, s, e) in enumerate(sorted(old, key=lambda x: -x[1])):
        last = i == len(old) - 1
        text = text[:s] + (new if last else "") + text[e:]
    return text


def _tidy(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


# ---------------------------------------------------------------- reading a message


def resolve(turns: tuple[Turn, ...] | list[Turn], message: str, today: date | None = None,
            seen: Callable[[int], str] | None = None) -> Reading:
    """Read `message` against the conversation so far (oldest first). `seen` gives the title
    and text of a result shown (by article id): a name the user has just read there
    (习近平讲话题目叫什么 after the APEC report) is not a subject of the message's own."""
    today = today or date.today()
    whole = " ".join(message.split())
    if not turns or not whole:
        return Reading("fresh", whole, subject=subject_of(whole) if whole else "")
    prev = turns[-1]
    text = _clean(whole)
    if not text:
        return Reading("fresh", whole, subject=subject_of(whole))

    if _NEW_TOPIC.match(whole):  # 换个话题，… / 问个别的，…: the user says a new question follows
        return Reading("fresh", whole, subject=subject_of(whole))
    refer = _refer(prev, text)
    if refer is not None:
        return refer
    text = _expand_shorthand(text)
    back = _points_back(text, prev)
    that_year = _that_year(text, prev)  # 那年1月份的: a year the slots can swap
    said_that_year, text = that_year != text, that_year

    slots = find_slots(text)
    rest = _blank_spans(text, slots.spans())
    own = own_words(rest, prev.question)
    asks_others = bool(_OTHERS.search(text))
    if _EVER.search(text) and (back or not _names_subject(rest, own, slots) or _read_before(prev, rest, own, slots, seen)):
        # 他还给哪些工人回过信, 俄罗斯后来还出过恐袭吗: other occasions than those shown
        if back and _SAME_KIND.search(text):  # 还出过这种决定吗: the subject before is the kind asked for
            further = _further(prev, text, slots, today)
            return replace(further, kind="others", understood=f"{further.question}（已列出的除外）",
                           exclude=prev.exclude | frozenset(prev.shown))
        return _others_about(prev, _with_person(text, prev))

    if own and not back:
        swapped = _entity_swap(prev, text, own)
        if swapped is not None:
            return swapped
        if _names_subject(rest, own, slots) and not _read_before(prev, rest, own, slots, seen):
            return Reading("fresh", whole, subject=subject_of(whole))
        if asks_others:
            return _others_about(prev, text)
        if _same_series(slots, prev) and len(_own_head(text, slots, prev)) < OWN_SERIES_CHARS:
            # 第五届面积多大 after 第四届消博会…: another of the same series, asked further
            return _further(prev, text, slots, today)
        # only words about a subject (能提供多少岗位, 存量房贷利率怎么调): the subject before asked
        # further, or a short new question; both are searched and the evidence picks
        if not _retyped(rest, slots, prev):
            further = replace(_further(prev, text, slots, today), own=tuple(own))
            return Reading("fresh", whole, subject=subject_of(whole), alternative=further)
        return Reading("fresh", whole, subject=subject_of(whole))
    only_that_year = said_that_year and _kinds(slots) == {"period"}
    if own and asks_others and (not slots.any() or only_that_year) and not _names_subject(rest, own, slots):
        return _others_about(prev, text)  # 那年还有别的台风影响我国吗
    if not own and _retyped(rest, slots, prev):
        # the question before typed out again, a slot changed ("泗洪县理论宣讲做法" after
        # "徐州理论宣讲做法"): whole as it stands
        return Reading("fresh", whole, subject=subject_of(whole))
    if asks_others and not slots.any() and not own:
        # 还有吗 / 别的省呢: the question before; 别的省以旧换新是怎么搞的: the message says it
        return _others_about(prev, text) if _content(text) else _others(prev, text)
    if slots.places and _ASKS_PLACES.search(text):
        # 火炬还到过浙江哪些城市: the place is where to look for others, not one swapped in
        return _others_about(prev, text)
    if slots.any() and not own and _new_ask(rest, prev):
        # 第八届在哪开 after 第六届设了多少个分论坛: the slot swapped into the subject, asked anew
        return _further(prev, text, slots, today)
    if slots.any() and not own:
        question = _swap(prev.question, slots, text, today)
        return Reading("swap", question, understood=question, subject=_swap(prev.subject, slots, text, today))
    if own or _asks(text):  # pointing back (这届签约了多少个项目), or only asking (效果怎么样)
        return _further(prev, text, slots, today)
    return Reading("fresh", whole, subject=subject_of(whole))


# chat shorthand at the start of a follow-up: 24年 (2024年), 十二次 / 33届 (第十二次, 第33届)
_SHORT_YEAR = re.compile(r"^(\d{2})\s*年(?![代前后来间里内])")
_BARE_ORDINAL = re.compile(rf"^([{_CN}]{{1,4}}|\d{{1,3}})\s*([届次期批轮])(?=$|[的呢是在,，?？\s])")


def _expand_shorthand(text: str) -> str:
    text = expand_chat_shorthand(_SHORT_YEAR.sub(r"20\1年", text))
    return f"第{text}" if _BARE_ORDINAL.match(text) else text


_THAT_YEAR = re.compile(r"那一?年|当年(?!的|份)")


def _that_year(text: str, prev: Turn) -> str:
    """那年 / 当年 written as the year the question before named (那年还有哪儿地震死了上千人 after
    a question on 2023年9月…: 2023年还有哪儿…), so it restricts like a year the message names."""
    year = _year_of(prev.question)
    return _THAT_YEAR.sub(f"{year}年", text, count=1) if year else text


def _further(prev: Turn, text: str, slots: Slots, today: date) -> Reading:
    """The subject before, its slots swapped for those `text` names, with the ask of `text`."""
    question = prev.subject
    if slots.any():
        question = _swap(question, slots, text, today)
    ask = _REFERENT.sub(" ", _blank_spans(text, slots.spans())).strip()
    resolved = _tidy(f"{question} {ask}")
    return Reading("further", resolved, understood=resolved, subject=question)


def _points_back(text: str, prev: Turn) -> bool:
    """Whether a word in `text` points back at what was asked before (这个会, 那次, 当时, 其).
    Not a demonstrative that picks out a thing the message names itself: one right before a
    name (那次嫦娥六号, 那届杭州亚运会), or one between words of the message's own and a noun
    of its own (省委常委会12月4日那次扩大会议; but 刚果金那封是哪天发的 points back)."""
    m = _ANAPHOR.search(text)
    if not m:
        return False
    before, after = text[: m.start()], text[m.end():]
    slots = find_slots(before)
    # 12月4日那次, 摩洛哥那次: that day's, that place's (one the question before did not name)
    new_place = any(w not in prev.question for w, _, _ in slots.places)
    if own_words(_blank_spans(before, slots.spans()), prev.question) or slots.day or new_place:
        following = own_words(after[:4], prev.question)
        return not (following and after.startswith(following[0]))
    if not _DEMONSTRATIVE.fullmatch(m.group(0)):
        return True
    named = [w for w in specific_words(after) if w not in prev.question]
    return not any(after.startswith(w) for w in named) and not find_slots(after[:6]).places


# quoted names, a day (12月4日), a numbered thing (第三届, 神舟二十号) or any figure (2000个)
_NAMED = re.compile(r"《[^《》]+》|“[^“”]+”|「[^「」]+」|\d{1,2}\s*月\s*\d{1,2}\s*[日号]|\d")


def _names_subject(text: str, own: list[str], slots: Slots) -> bool:
    """Whether a message (`text`: without its `slots`) with words of its own (`own`) names a subject of its own and so is a
    new question: a place or body beside them, a quoted name, a day, a figure, or a word that
    names one thing (a person, an organisation, a product: text.specific_words). A message whose
    own words only ask about a subject (岗位, 利率, 措施, 多少架) names none."""
    # a day with words of its own names one event (省委常委会12月4日那次扩大会议)
    return bool(_NAMED.search(text) or slots.day and own or _names(text, own, slots))


# an event named by words of the message's own before its kind (从都国际论坛, 链博会 is one word)
_EVENT = re.compile(r"([\u4e00-\u9fff]{2,10}?)(论坛|峰会|博览会|交易会|展览会|运动会|大会|年会|电影节|艺术节|文化节|旅游节)")


def _names(text: str, own: list[str], slots: Slots) -> list[str]:
    """The places, bodies and names among a message's own words (see `_names_subject`)."""
    named = {normalise_token(w) for w in specific_words(text)}
    found = [w for w, _, _ in slots.places + slots.bodies]
    events = [m.group(0) for m in _EVENT.finditer(text) if any(w in m.group(1) for w in own)]
    return found + events + [w for w in own if w in named or is_place(w) or is_body(w)]


def _others_about(prev: Turn, text: str) -> Reading:
    """Other cases asked for in words of the message's own (别的省以旧换新是怎么搞的, 还有哪些
    项目通车了): those words say what is asked; the articles already shown are left out."""
    exclude = prev.exclude | frozenset(prev.shown)
    question = _tidy(_that_year(text, prev))
    return Reading("others", question, understood=f"{question}（已列出的除外）", subject=subject_of(question),
                   exclude=exclude)


# 还…过 asks whether something happened on other occasions (还给哪些高校回过信, 之后还办过吗);
# not 通过, 经过, 超过, 度过, and not 过程, 过去, 过年
_EVER = re.compile(r"还[^，,。？?\s]{0,8}?(?<![通经超度])过(?![程去年])")
_HE = re.compile(r"[他她]们?")
_GENERAL_SECRETARY = re.compile(r"习主席|习总书记|总书记")
_SAME_KIND = re.compile(r"[这那]一?[种类样]|类似|同样")


def _with_person(text: str, prev: Turn) -> str:
    """他 / 她 written as the person the question before names (a name jieba's dictionary tags
    as a person's), so the others asked for are that person's; as typed when it names none."""
    if not _HE.search(text):
        return text
    if _GENERAL_SECRETARY.search(prev.question):  # 习主席, 总书记: as the bulletins name him
        return _HE.sub("习近平", text, count=1)
    # a person's name is two to four characters: jieba also tags foreign places as names (约翰内斯堡)
    names = [raw for raw in jieba_tokenizer().lcut(prev.question)
             if raw in person_words() and len(raw) <= 4 and not is_place(raw)]
    if not names:  # 李希2024年下半年在浙江…: a short name before the question's first slot
        spans = find_slots(prev.question).spans()
        lead = prev.question[: min(s for s, _ in spans)].strip() if spans else ""
        if re.fullmatch(r"[\u4e00-\u9fff]{2,3}", lead) and not is_place(lead) and not is_body(lead):
            names = [lead]
    return _HE.sub(names[0], text, count=1) if names else text


def _content(text: str) -> list[str]:
    """The words of `text` that say what it is about, follow-up markers left out."""
    return [w for w in query_terms(text) if w not in _MARKERS and len(w) >= 2 and not all(ch in _MARKERS for ch in w)]


# how many of the results shown before are read for names the user may take up (those at the
# top of a reply are the ones read)
SEEN_READ = 3


def _read_before(prev: Turn, rest: str, own: list[str], slots: Slots, seen: Callable[[int], str] | None) -> bool:
    """Whether every name the message brings (a place, body, person, organisation, quoted name:
    `_names`) is in the results shown before: the message then asks about what the user has just
    read (习近平讲话题目叫什么 after the APEC report, 财政部预拨了多少 after the typhoon), not about a
    new subject, and both readings are searched. A period, ordinal, holiday or section of its
    own is a new subject all the same, and so is a figure or a day."""
    if seen is None or not prev.shown or slots.period or slots.ordinal or slots.holiday or slots.section:
        return False
    if _NAMED.search(rest):
        return False
    names = _names(rest, own, slots)
    text = "".join(seen(a) for a in prev.shown[:SEEN_READ])
    return bool(names) and all(w in text or normalise_token(w) in text for w in names)


def _same_series(slots: Slots, prev: Turn) -> bool:
    """The message names another of a numbered series the question before named (第五届 after
    第四届, 第十三次 after 第十二次): a slot of the subject before, not a subject of its own."""
    before = find_slots(prev.question).ordinal
    return bool(slots.ordinal and before and slots.ordinal[0][-1] == before[0][-1])


# a message's own words right after its ordinal, this long or more, name a series of its own
# (第27届「中国青年五四奖章」授给了多少人 after 第十一届世界和平论坛); shorter ones ask about the series
# before (第五届「面积」多大, 第八届「央企组」了多少团)
OWN_SERIES_CHARS = 4


def _own_head(text: str, slots: Slots, prev: Turn) -> str:
    """The message's own words that follow its ordinal directly, up to an ask or a particle."""
    if slots.ordinal is None:
        return ""
    before = _words(prev.question)
    head = ""
    for raw, _, _ in _tokens(text[slots.ordinal[2]:]):
        word = normalise_token(raw)
        if (not raw.strip() or word in before or word in _MARKERS or is_question_word(word)
                or raw in _ASKING or raw in _PARTICLES or _ASK_TOKEN.match(raw)):
            break
        head += raw
    return head


_ASK_PART = re.compile(r"哪|谁|什么时候|几|多少|怎么|如何|什么|多[长大久高远]")


def _new_ask(rest: str, prev: Turn) -> bool:
    """The message (`rest`: without its slots) asks something the question before did not
    (在哪开 after 设了多少个分论坛), not only 呢 / 的呢."""
    return any(m.group(0) not in prev.question for m in _ASK_PART.finditer(rest))


def _retyped(rest: str, slots: Slots, prev: Turn) -> bool:
    """A message (`rest`: without its `slots`) that holds every content word of the subject
    before and names each kind of slot it named: a whole question, nothing to take from before."""
    before = find_slots(prev.subject)
    core = _words(_blank_spans(prev.subject, before.spans())) - _MARKERS
    return bool(core) and core <= _words(rest) and _kinds(before) <= _kinds(slots)


def _kinds(slots: Slots) -> set[str]:
    named = {"places": slots.places, "bodies": slots.bodies, "period": slots.period,
             "ordinal": slots.ordinal, "section": slots.section, "holiday": slots.holiday, "day": slots.day}
    return {kind for kind, value in named.items() if value}


def _asks(text: str) -> bool:
    """The message asks something (a question word, or a word of a further ask)."""
    if re.search(r"[?？]|吗|呢|什么|怎么|如何|哪|谁|几|多少|是否|有没有", text):
        return True
    return any(w in ASK_WORDS for w in query_terms(text))


def _refer(prev: Turn, text: str) -> Reading | None:
    if not prev.shown:
        return None
    rest = text
    n = None
    m = _REFER_NTH.search(text)
    if m:
        n = _cn_number(m.group(1))
        rest = text[: m.start()] + " " + text[m.end() :]
    whole = _REFER_WHOLE.search(rest)
    if whole:
        rest = rest[: whole.start()] + " " + rest[whole.end() :]
    if _REFER_ISSUE.search(text) and _ISSUE_MORE.search(text) and not _naming(_REFER_ISSUE.sub(" ", rest), prev):
        k = (n or 1) - 1
        if k < len(prev.shown):
            return Reading("refer", "", understood=f"第{k + 1}条结果那一期的其他文章", contents_of=prev.shown[k],
                           exclude=frozenset(prev.shown))
        return None
    if (m or whole) and not own_words(rest, prev.question):
        k = (n or 1) - 1
        if n is not None and not 0 <= k < len(prev.shown):
            return None
        return Reading("refer", "", understood=f"第{k + 1}条结果的全文", article_id=prev.shown[k])
    naming = _naming(_REFER_WHICH.sub(" ", rest), prev)
    if whole and n is None and naming and len(naming) <= 3:
        # 拉各斯那条的原文: the result shown that names these words (the service finds which)
        which = _REFER_WHICH.search(rest)
        said = _ITEM_LEAD.sub("", rest[: which.start()]).strip() if which else ""
        return Reading("refer", "", understood=f"提到“{said or '、'.join(naming)}”的那条结果的全文", among=prev.shown,
                       naming=tuple(naming))
    return None


# words a message uses of a bulletin's items, not of what they are about (这一期还有什么新闻)
_ITEM_WORDS = frozenset("新闻 快讯 消息 内容 报道 文章 稿件 条目 节目 播 播了 发我 给我 看看 刚才 之前 上面".split())
_ITEM_LEAD = re.compile(r"^(?:刚才|之前|上面)(?:的|说的|那个)?")
# what points at one of the results (那条, 这篇)
_REFER_WHICH = re.compile(r"(?:这|那|哪)一?[条篇则个项]")


def _naming(text: str, prev: Turn) -> list[str]:
    """The words of `text` that say which result or what more is meant, beyond the words of
    the question before and the words for a bulletin's items."""
    return [w for w in own_words(text, prev.question) if w not in _ITEM_WORDS and w.lstrip("还") not in _ITEM_WORDS]


def _others(prev: Turn, text: str) -> Reading:
    """Other cases than those shown: the same question, the place left out when other places
    are asked for (别的省呢, 还有哪些地方也这么做), the period when other years are."""
    question = prev.question
    slots = find_slots(question)
    if _OTHER_PLACES.search(text) and slots.places:
        question = _replace(question, list(slots.places), "")
    elif _OTHER_PERIODS.search(text) and slots.period:
        question = _replace(question, [slots.period], "")
    question = _tidy(question)
    exclude = prev.exclude | frozenset(prev.shown)
    understood = f"{question}（已列出的除外）"
    return Reading("others", question, understood=understood, subject=subject_of(question), exclude=exclude)


def _swap(question: str, new: Slots, text: str, today: date) -> str:
    """`question` with the slots of `new` in place of its own (or added in front)."""
    old = find_slots(question)
    out = question
    # right to left, so that earlier spans keep their offsets: collect replacements first
    edits: list[tuple[int, int, str]] = []
    front: list[str] = []

    def put(old_spans: list[tuple[str, int, int]], value: str) -> None:
        if old_spans:
            ordered = sorted(old_spans, key=lambda x: x[1])
            edits.append((ordered[0][1], ordered[0][2], value))
            edits.extend((s, e, "") for _, s, e in ordered[1:])
        else:
            front.append(value)

    if new.places:
        # 天津市委书记 -> 山东 in place of the body's place when the question names no place itself
        held = [(w, s, s + len(p)) for w, s, _ in old.bodies if (p := _place_prefix(w))] if not old.places else []
        value = "".join(w for w, _, _ in new.places)
        if held and held[0][0][held[0][2] - held[0][1] - 1] in "省市" and not _PLACE_SUFFIX.search(value):
            value += "市" if value in _MUNICIPALITIES or not is_province(value) else "省"  # 山东省委
        put(list(old.places) or held[:1], value)
    if new.bodies:
        put(list(old.bodies), "".join(w for w, _, _ in new.bodies))
    if new.period:
        before = old.period[0] if old.period else question
        value = absolute_period(new.period[0].replace(" ", ""), before, today)
        if old.period and _SUB_YEAR.fullmatch(new.period[0]) and _year_of(old.period[0]):
            value = f"{_year_of(old.period[0])}年{new.period[0]}"
        put([old.period] if old.period else [], value)
    if new.ordinal:
        same = [old.ordinal] if old.ordinal and old.ordinal[0][-1] == new.ordinal[0][-1] else []
        put(same, new.ordinal[0])
    if new.section:
        put([old.section] if old.section else [], new.section[0])
    if new.holiday:
        put([old.holiday] if old.holiday else [], new.holiday[0])
    if new.day:
        value = new.day[0].replace(" ", "")
        if old.day and _BARE_DAY.fullmatch(value) and "月" in old.day[0]:  # 到22号呢 after 11月10日
            value = old.day[0][: old.day[0].index("月") + 1] + value
        if old.day:
            put([old.day], value)
        elif old.period:  # after the period it qualifies: 2023年 + 5月22日
            edits.append((old.period[2], old.period[2], value))
        else:
            put([], value)
    for s, e, value in sorted(edits, key=lambda x: -x[0]):
        out = out[:s] + value + out[e:]
    return _tidy("".join(front) + (" " if front else "") + out) if front else _tidy(out)


_MUNICIPALITIES = frozenset("北京 天津 上海 重庆".split())


def _place_prefix(word: str) -> str:
    """The place a body's name starts with (天津市 in 天津市委), or ""."""
    return next((word[:n] for n in range(len(word) - 1, 1, -1) if is_place(word[:n])), "")


def _entity_swap(prev: Turn, text: str, own: list[str]) -> Reading | None:
    """"那天舟六号呢" after "天舟五号什么时候发射": a name in place of the name asked before.
    Only for a bare "X呢" and only when the question before named something of its own."""
    m = re.fullmatch(r"(.{1,20}?)(?:的|里|中)?呢", text)
    if not m or _asks(m.group(1)) or len(own) > 2:
        return None
    # a name, not a figure: 11 in 前11个月 is not what 大湾区呢 swaps
    names = [w for w in specific_words(prev.question)
             if not is_place(w) and not re.fullmatch(r"[\d.]+", w) and w in prev.question]
    if not names:
        return None
    question = _tidy(prev.question.replace(names[0], m.group(1).strip(), 1))
    subject = _tidy(prev.subject.replace(names[0], m.group(1).strip(), 1))
    return Reading("swap", question, understood=question, subject=subject)


# ---------------------------------------------------------------- after the answer


def next_turn(reading: Reading, shown: tuple[int, ...]) -> Turn:
    """What the conversation keeps of a turn once answered."""
    return Turn(question=reading.question, subject=reading.subject or subject_of(reading.question),
                shown=shown, exclude=reading.exclude)


def _evidence(retrieval) -> tuple[bool, float]:
    best = retrieval.hits[0] if retrieval.hits else None
    return bool(retrieval.found), (best.probability if best is not None else 0.0)


# a merged reading is not taken when its best article lacks the message's own words: less than
# this share of their information, and a telling word among those missing (one rarer in general
# Chinese than about one word in 400: text.term_weight). "沪宁沿江高铁有多长" merged with the
# subject before finds that subject again, not the railway; 中方 or 头一项 missing says little
OWN_COVER = 0.5
TELLING_WEIGHT = 6.0
# ... and then refused only for a question of its own (`_own_question`): answered as typed with
# at least this probability, ...
OWN_VETO = 0.5
# ... or bringing this many words of its own of which the merged answer holds under a quarter
OWN_MANY = 3


def _own_question(own: tuple[str, ...], alone, alone_text: str, merged_text: str) -> bool:
    """Whether a message whose merged answer lacks its own words is a question of its own. A
    message the archive cannot answer alone (主墓挖出来些什么, 这钱主要干啥用) needs the subject
    before, whatever words the answer uses for its own (点名 for 通报, 拨钱 for 预拨资金); it is
    a question of its own when
    - the message as typed is answered, with probability OWN_VETO or more;
    - its own answer holds at least OWN_COVER of its words, and more than the merged answer
      (沪宁沿江高铁有多长);
    - it brings OWN_MANY words or more, the merged answer under half of OWN_COVER of them
      (量子计算机芯片制程工艺路线图);
    - it names a thing (a noun of jieba's dictionary: 红烧肉) that neither answer mentions."""
    found, probability = _evidence(alone)
    held, kept = coverage(list(own), alone_text), coverage(list(own), merged_text)
    named = any(w in noun_words() and term_credit(w, alone_text) < 1.0 and term_credit(w, merged_text) < 1.0
                for w in own)
    return (found and probability >= OWN_VETO or held >= OWN_COVER and held > kept
            or len(own) >= OWN_MANY and kept < OWN_COVER / 2 or named)


def _lacks_own(own: tuple[str, ...], text: str) -> bool:
    missing = [w for w in own if term_credit(w, text) < 1.0]
    return coverage(list(own), text) < OWN_COVER and any(term_weight(w) >= TELLING_WEIGHT for w in missing)


# the message as typed is answered with this probability or more: it is taken as typed, the
# merged reading not searched (a question asked in full needs no conversation)
SURE = 0.85


def answered_as_typed(alone) -> bool:
    found, probability = _evidence(alone)
    return found and probability >= SURE


def better_reading(alone, merged, own: tuple[str, ...] = (), merged_text: str = "", prefer_merged: bool = False,
                   alone_text: str = "") -> bool:
    """Whether the merged reading of a message (the subject before asked further) is better
    answered than the message alone, by the evidence the ranking computed for each best hit.
    Never when the merged answer (`merged_text`: its best article) lacks what the message
    itself asks about (its `own` words) and the message is a question of its own
    (`_own_question`, which also reads `alone_text`: the best article of the message alone).
    Otherwise the more probable answer, answered or not: a merged reading is often refused by
    a specific of the subject before that its answer words differently (公共的有多少 after a
    month's 充电桩保有量), and an unanswerable follow-up is rightly refused merged. A tie goes
    to the message as typed, or to the merged reading when the message points back at the
    conversation (`prefer_merged`: 这届签约了多少个项目)."""
    if own and _lacks_own(own, merged_text) and _own_question(own, alone, alone_text, merged_text):
        return False
    p_merged, p_alone = _evidence(merged)[1], _evidence(alone)[1]
    return p_merged >= p_alone if prefer_merged else p_merged > p_alone


NOTHING_ELSE = "除已列出的结果外，没有找到直接回答"
OPENING_CHARS = 120  # an article of an issue's contents is shown by its opening sentences, up to this


def without_articles(retrieval, exclude: frozenset[int]):
    """A retrieval's ranking without the articles in `exclude` (还有吗: those already shown).
    It answers if the best of the rest does, by the same evidence."""
    from dataclasses import replace

    hits = tuple(h for h in retrieval.hits if h.article_id not in exclude)
    if len(hits) == len(retrieval.hits):
        return retrieval
    found = retrieval.found and bool(hits) and hits[0].answers
    if found or not retrieval.found:
        return replace(retrieval, hits=hits, found=found)
    return replace(retrieval, hits=hits, found=False, reason=NOTHING_ELSE, reason_code="nothing_else")


def whole_article(view: ArticleView) -> Quote:
    """A result referred to (第二条的全文): the whole article, as one quote."""
    text = view.text
    return Quote(view.citation, text, ((0, len(text)),), 1.0, view.article_id)


def issue_articles(views: list[ArticleView]) -> list[Quote]:
    """这一期还有什么: each article of the issue by its opening sentences, in issue order."""
    quotes = []
    for view in sorted(views, key=lambda v: v.citation.article_index):
        text = view.text
        end = 0
        for _, e in sentence_spans(text):
            if end and e > OPENING_CHARS:
                break
            end = e
        end = end or min(len(text), OPENING_CHARS)
        quotes.append(Quote(view.citation, text[:end] + ("…" if end < len(text) else ""), ((0, end),), 1.0,
                            view.article_id))
    return quotes


def turn_to_json(answer) -> dict:
    """What `ask --json`, `chat --json` and /api/ask print: the answer and how it was understood."""
    from .answers import answer_to_json

    return answer_to_json(answer)


def understood_line(understood: str) -> str:
    """The first line of a reply to a follow-up, on every front end."""
    return f"按“{understood}”查找："


__all__ = ["ContextStore", "Reading", "Turn", "better_reading", "is_reset", "issue_articles", "next_turn", "resolve", "turn_to_json", "understood_line",
           "whole_article", "without_articles"]
