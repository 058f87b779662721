"""What a question pins down, and whether a passage agrees with it.

A near-miss question shares almost every word with a real article: 第三届链博会 when the
archive reports the second, 天舟九号 when it has 天舟六号, “苏心养老码” when no bulletin names
it, 河北 when the article is about 上海. Bag-of-words evidence cannot tell these apart, so the
specifics are read next to what they qualify:

- an ordinal with its noun (第三届 + 链博会, 第二批), an anniversary (三周年), a numbered name
  (天舟九号): the article must hold the same number; holding another one with the same noun or
  stem contradicts the question;
- a quoted name (“…”, 「…」, 《…》): the article must hold it;
- a place (data/places.txt; 江苏省 is found as 江苏): the article must name it, or for a
  province one of its cities;
- a figure asked for (多少, 几): what it counts or measures (运行经费 in 有多少运行经费, 总投资 in
  总投资是多少): the article must give a number next to it (or to its last word or character:
  经费, 费), or a number with the unit asked for (多少趟 → 66趟). An article about the topic
  that never gives that figure does not answer "how many".

Numbers are compared as numbers, whatever numerals the text uses (第3届 = 第三届).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from ..text import expansions, jieba_tokenizer, noun_words

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_NUM = r"[0-9０-９零〇一二两三四五六七八九十百]+"
# ordinals: 第三届, 第二批, 第十四次 (not 第一次 / 第一个, "the first time", said many ways;
# not 第N期: that names a bulletin, and the question parser takes it out)
_ORDINAL = re.compile(rf"第({_NUM})(届|批|轮|次|号|任|季|场|个|座)")
_ANNIVERSARY = re.compile(rf"({_NUM})周年")
# a numbered craft, mission or project: 天舟九号, 神舟十八号, 嫦娥六号, 长征五号
_NUMBERED = re.compile(rf"([\u4e00-\u9fff]{{2}})({_NUM})号")
# a year's cohort or edition written with its year (2026届): the same year must be there
_COHORT = re.compile(r"((?:19|20)\d{2})(届)")
# a code with a number (COP16, G20, C919): another number is another thing
_CODE = re.compile(r"(?<![A-Za-z])([A-Za-z]{1,6})(\d{1,4})(?![\d.%])")
# a five-year plan (十四五): the article must name the same one
_PLAN = re.compile(r"十[一二三四五六七八九]五")
_QUOTED = re.compile(r"[“\"「『《]([^“”\"「」『』《》]{2,24})[”\"」』》]")
# the noun an ordinal qualifies: the Chinese run right after it (第三届 链博会)
_HEAD = re.compile(r"[\u4e00-\u9fffA-Za-z]{2,12}")


def cn_number(text: str) -> int | None:
    """二十一 -> 21, 3 -> 3, 一百零八 -> 108; None when it is not a number."""
    text = text.translate(str.maketrans("０１２３４５６７８９", "0123456789"))
    if text.isdigit():
        return int(text)
    total, section, digit = 0, 0, None
    for ch in text:
        if ch in _CN_DIGITS:
            digit = _CN_DIGITS[ch]
        elif ch == "十":
            section += (digit if digit is not None else 1) * 10
            digit = None
        elif ch == "百":
            section += (digit if digit is not None else 1) * 100
            digit = None
        else:
            return None
    return total + section + (digit or 0)


@dataclass(frozen=True)
class Specific:
    """One thing the question pins down."""

    kind: str  # "ordinal", "anniversary", "numbered", "cohort", "code", "plan", "quoted", "place", "figure"
    text: str  # as the question writes it: 第三届, 三周年, 天舟九号, 苏心养老码, 河北; a figure's measure: 总投资
    number: int | None = None  # the value of an ordinal, anniversary or numbered name
    unit: str = ""  # 届 for 第三届; the stem 天舟 for 天舟九号; 趟 for 多少趟
    head: str = ""  # the noun an ordinal qualifies: 链博会


@dataclass(frozen=True)
class Check:
    """How an article stands to one specific of the question."""

    specific: Specific
    holds: bool
    other: str = ""  # what the article has instead (第二届), when it contradicts the question


@cache
def _place_table() -> dict[str, frozenset[str]]:
    """Each place -> the places inside it (a province's cities), itself included."""
    text = resources.files("bulletin_bot").joinpath("data", "places.txt").read_text(encoding="utf-8")
    table: dict[str, set[str]] = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        whole, _, parts = line.rpartition(":") if ":" in line else ("", "", line)
        for name in parts.split():
            table.setdefault(name, set()).add(name)
        if whole.strip():
            table.setdefault(whole.strip(), set()).update({whole.strip(), *parts.split()})
    return {k: frozenset(v) for k, v in table.items()}


def places() -> frozenset[str]:
    return frozenset(_place_table())


def is_province(place: str) -> bool:
    """Whether `place` is a provincial unit of data/places.txt (one listed with its places)."""
    return len(_place_table().get(place, ())) > 1


def names_place(place: str, text: str) -> bool:
    """Whether `text` names `place` or, for a province, one of its places (泗洪 for 江苏)."""
    return any(p in text for p in _place_table().get(place, frozenset({place})))


@cache
def _place_pattern() -> re.Pattern:
    names = sorted(places(), key=len, reverse=True)
    return re.compile("|".join(map(re.escape, names)))


# where the noun an ordinal qualifies ends: a particle or a question word (链博会 | 在哪里举办)
_HEAD_END = re.compile(r"[在的是有了和与及哪什怎多几为将把被从于举召开]")


def _head_after(text: str, end: int) -> str:
    m = _HEAD.match(text, end)
    if not m:
        return ""
    head = m.group(0)
    stop = _HEAD_END.search(head, 2)
    return head[: stop.start()] if stop else head


# --- figures asked for ---------------------------------------------------------------------------
_ASKS = ("多少", "几")
# between a measure and the question word: 总投资(是)多少, 经费(一共有)多少
_FILLERS = frozenset("是 有 为 达 达到 共 一共 总共 合计 累计 大约 约 大概 能 可 可以 了 到 会 要 需要 都 还 又 已 已经 平均".split())
# classifiers and units between the question word and what it counts: 多少(名)队员, 多少(万吨)钢材
_UNITS = frozenset("个 名 位 人 家 所 项 座 条 件 只 台 辆 架 次 吨 元 斤 亩 天 年 种 批 户 套 篇 部 场 颗 枚 艘 列 趟 万 亿 千 "
                   "百 人次 万元 亿元 美元 公里 千米 平方米 平方公里 公斤 千克 万吨 亿吨 个月 小时 分钟 倍 块 钱".split())
# units too common to say which figure it is: any article has some number of 个 or 亿元
_COMMON_UNITS = frozenset("个 万 亿 千 百 元 万元 亿元 美元 倍 次 年 天 种 块 钱".split())
# measures that name no particular thing: 数字是多少 asks about whatever the topic is
_GENERIC_MEASURES = frozenset("数字 数据 数量 数 目标 规模 总量 金额 情况 水平 比例 比重 占比 人 东西 时间 地方 "
                               "变化 变动 涨跌 波动 幅度".split())
# verbs of change that are measures themselves: 增长了多少 is answered by 增长5.2%
_CHANGE_VERBS = frozenset("增长 增加 下降 提高 减少 上涨 回落 提升 降低".split())
# a figure in a text: Arabic digits, or Chinese numerals followed by a unit (三千多个, 两名)
_FIGURE = re.compile(r"[0-9０-９]|[一二两三四五六七八九十百千万亿半][多余]?[个名位人家所项座条件只台辆架次吨元斤亩天年种批户套倍成万亿]")
_FIGURE_REACH = 20
_SENTENCE_END = ("。", "；", "！", "？", "\n")


# what follows the question word and its unit, up to a pause: 多少(运行经费)呢, 多少(人)参与了
_PAUSE = frozenset("了 和 与 及 、 ， , ？ ? 。 呢 吗 啊 呀 是 有 在".split())
_AFTER_TOKENS = 5


def _measure_after(tokens: list[str], nouns: frozenset[str]) -> str:
    """The head noun after the unit: 运行经费 → 经费 (运行 qualifies it), 水声专业的学生 → 学生."""
    cut = next((i for i, t in enumerate(tokens) if t in _PAUSE), len(tokens))
    words = tokens[:cut]
    if len(words) >= 2 and words[1] == "的" and words[0] in nouns:  # 多少国家的数据: the countries are counted
        return words[0] if words[0] not in _GENERIC_MEASURES else ""
    if "的" in words:  # what follows the last 的 is the head
        words = words[len(words) - words[::-1].index("的"):]
    run: list[str] = []
    for w in words:
        if w in nouns and w not in _GENERIC_MEASURES:
            run.append(w)
        elif run:
            break
    return "".join(run)


def _figure(text: str) -> Specific | None:
    """What a 多少 / 几 question counts or measures, as the noun after the unit (多少名队员 → 队员)
    or the one before the question word (总投资是多少 → 总投资); none when only a verb (卖了多少)
    or a word naming nothing in particular (数字是多少) is there: then the topic words decide."""
    tokens = [t for t in jieba_tokenizer().lcut(text) if t.strip()]
    nouns = noun_words()
    for i, tok in enumerate(tokens):
        ask = next((a for a in _ASKS if tok.startswith(a)), None)
        # 第几 asks for a rank; 那几颗, 这几个, 好几, 哪几位 point at things, they do not ask how many
        if ask is None or (i and tokens[i - 1][-1] in "第那这好哪"):
            continue
        unit, j = tok[len(ask):], i + 1
        while j < len(tokens) and tokens[j] in _UNITS:
            unit, j = unit + tokens[j], j + 1
        measure = _measure_after(tokens[j : j + _AFTER_TOKENS], nouns)
        if len(measure) < 2:
            k = i - 1
            while k >= 0 and tokens[k] in _FILLERS:
                k -= 1
            before = tokens[k] if k >= 0 else ""
            if before in _GENERIC_MEASURES or len(before) < 2 or not (before in nouns or before in _CHANGE_VERBS):
                return None
            measure = before
        return Specific("figure", measure, unit=unit, head=measure)
    return None


# what a measure counts, by its last character or its words, and how a text gives such a figure:
# people (老百姓, 年轻人, 官兵 → 300多人, 120名) and money (经费, 出口额, 钱 → 6300万元). A text that
# gives a figure of the kind asked answers in other words (群众 for 老百姓) more often than not
_PEOPLE_ENDS = "人员者众生兵童孩娃姓师士力"  # 力: 兵力, 人力
_MONEY_WORDS = ("钱", "资金", "经费", "投资", "收入", "金额", "额", "费", "款", "价")
_PEOPLE_FIGURE = re.compile(r"[0-9０-９一二两三四五六七八九十百千万亿][多余]?[万亿]?(?:人|名|位)")
_MONEY_FIGURE = re.compile(r"[0-9０-９一二两三四五六七八九十百千万亿][多余]?[万亿]?(?:元|美元|欧元)")


def _figure_of_kind(spec: Specific, text: str) -> bool:
    measure = spec.text + spec.unit
    if spec.text and spec.text[-1] in _PEOPLE_ENDS or spec.unit in ("人", "名", "位"):
        return bool(_PEOPLE_FIGURE.search(text))
    if any(w in measure for w in _MONEY_WORDS):
        return bool(_MONEY_FIGURE.search(text))
    return False


def _gives_figure(spec: Specific, text: str) -> bool:
    if _figure_of_kind(spec, text):
        return True
    unit = spec.unit.lstrip("万亿千百")
    if unit and unit not in _COMMON_UNITS and spec.unit not in _COMMON_UNITS and re.search(
            rf"[0-9０-９一二两三四五六七八九十百千万亿][多余]?{re.escape(unit)}", text):
        return True
    # the measure, or its last word or character (经费 for 运行经费, 资 for 总投资): texts
    # say the same thing in other words (列车 for 火车, 企事业 for 企业) more often than not
    keys = dict.fromkeys([spec.text, *expansions(spec.text), spec.text[-2:], spec.text[-1]])
    for key in keys:
        for m in re.finditer(re.escape(key), text):
            # within the sentence: a number in the next one is about something else
            start = max(0, m.start() - _FIGURE_REACH)
            start = max(start, *(text.rfind(p, start, m.start()) + 1 for p in _SENTENCE_END))
            end = min(m.end() + _FIGURE_REACH, *(i for i in (text.find(p, m.end()) for p in _SENTENCE_END) if i >= 0),
                      len(text))
            if _FIGURE.search(text, start, end):
                return True
    return False


def extract(text: str) -> list[Specific]:
    """The specifics of a question's search text, in order, each once."""
    out: dict[tuple[str, str], Specific] = {}
    for m in _QUOTED.finditer(text):
        name = m.group(1).strip()
        if name:
            out.setdefault(("quoted", name), Specific("quoted", name))
    for m in _ORDINAL.finditer(text):
        n = cn_number(m.group(1))
        if n is None or (n == 1 and m.group(2) in "次个"):
            continue
        out.setdefault(("ordinal", m.group(0)), Specific("ordinal", m.group(0), n, m.group(2), _head_after(text, m.end())))
    for m in _ANNIVERSARY.finditer(text):
        n = cn_number(m.group(1))
        if n is not None:
            out.setdefault(("anniversary", m.group(0)), Specific("anniversary", m.group(0), n, "周年"))
    for m in _NUMBERED.finditer(text):
        n = cn_number(m.group(2))
        if n is not None and not _ORDINAL.fullmatch(m.group(0)):
            out.setdefault(("numbered", m.group(0)), Specific("numbered", m.group(0), n, m.group(1)))
    for m in _COHORT.finditer(text):
        out.setdefault(("cohort", m.group(0)), Specific("cohort", m.group(0), int(m.group(1)), "届"))
    for m in _CODE.finditer(text):
        out.setdefault(("code", m.group(0)), Specific("code", m.group(0), int(m.group(2)), m.group(1)))
    for m in _PLAN.finditer(text):
        out.setdefault(("plan", m.group(0)), Specific("plan", m.group(0)))
    for m in _place_pattern().finditer(text):
        out.setdefault(("place", m.group(0)), Specific("place", m.group(0)))
    if any(a in text for a in _ASKS):
        figure = _figure(text)
        if figure is not None:
            out.setdefault(("figure", figure.text), figure)
    return list(out.values())


def _numbers(pattern: re.Pattern, text: str, unit_group: int, want_unit: str, value_group: int = 1):
    for m in pattern.finditer(text):
        if m.group(unit_group) == want_unit:
            n = cn_number(m.group(value_group))
            if n is not None:
                yield n, m


def _near(text: str, start: int, head: str, reach: int = 40) -> bool:
    """Whether the ordinal at `start` qualifies `head`: the head noun (or its first two
    characters, as texts shorten 链博会 to 链博) follows within a few characters."""
    if not head:
        return True
    window = text[start : start + reach]
    return head in window or head[:2] in window


def check(spec: Specific, text: str) -> Check:
    """Whether `text` (an article's title and text) holds `spec`, and what it has instead."""
    if spec.kind == "quoted":
        squeezed = re.sub(r"\s+", "", text)
        return Check(spec, spec.text in text or re.sub(r"\s+", "", spec.text) in squeezed)
    if spec.kind == "place":
        # a province is named by any of its places: 泗洪县's article need not say 江苏
        return Check(spec, names_place(spec.text, text))
    if spec.kind == "ordinal":
        found = list(_numbers(_ORDINAL, text, 2, spec.unit))
        near = {n: m for n, m in found if _near(text, m.start(), spec.head)}
        if spec.number in near:
            return Check(spec, True)
        if near:  # the same noun with another number: 第二届链博会 for 第三届
            return Check(spec, False, next(m.group(0) for n, m in near.items()))
        # the number elsewhere: holds if the article is about the noun at all (链博会 is often
        # named in full next to its number, 第二届中国国际供应链促进博览会, and shortened later)
        about = len(spec.head) < 3 or spec.head[:3] in text
        return Check(spec, about and any(n == spec.number for n, _ in found))
    if spec.kind == "figure":
        return Check(spec, _gives_figure(spec, text))
    if spec.kind == "plan":
        return Check(spec, spec.text in text, next((m.group(0) for m in _PLAN.finditer(text)), ""))
    if spec.kind == "cohort":
        years = [m.group(0) for m in _COHORT.finditer(text)]
        return Check(spec, spec.text in years, years[0] if years and spec.text not in years else "")
    if spec.kind == "code":
        same = [m for m in _CODE.finditer(text) if m.group(1).upper() == spec.unit.upper()]
        if any(int(m.group(2)) == spec.number for m in same):
            return Check(spec, True)
        return Check(spec, False, same[0].group(0) if same else "")
    if spec.kind == "anniversary":
        found = [(cn_number(m.group(1)), m) for m in _ANNIVERSARY.finditer(text)]
        if any(n == spec.number for n, _ in found):
            return Check(spec, True)
        return Check(spec, False, next((m.group(0) for n, m in found if n is not None), ""))
    # numbered: 天舟九号 against 天舟六号
    found = [(cn_number(m.group(2)), m) for m in _NUMBERED.finditer(text) if m.group(1) == spec.unit]
    if any(n == spec.number for n, _ in found):
        return Check(spec, True)
    return Check(spec, False, next((m.group(0) for n, m in found if n is not None), ""))


def checks(specs: list[Specific], text: str) -> list[Check]:
    return [check(s, text) for s in specs]
