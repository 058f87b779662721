"""Follow-up questions read in their conversation: the rules on many phrasings, the context
store (who sees whose context, how long, how much), the service over a small archive where the
right answer to each follow-up is known, and `bulletin-bot chat`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date

import pytest

from bulletin_bot.config import load_settings
from bulletin_bot.conversation import ContextStore, Turn, find_slots, is_reset, resolve, subject_of
from conversation_corpus import conversation_service, write_archive

TODAY = date(2026, 12, 7)


def turn(question: str, shown: tuple[int, ...] = (11, 12, 13)) -> Turn:
    return Turn(question, subject_of(question), shown)


def read(before: str, message: str, shown: tuple[int, ...] = (11, 12, 13)):
    return resolve([turn(before, shown)], message, TODAY)


# ---------------------------------------------------------------- the rules


@pytest.mark.parametrize("before, message, question", [
    ("泗洪县理论宣讲有哪些做法", "那徐州呢", "徐州理论宣讲有哪些做法"),
    ("泗洪县理论宣讲有哪些做法", "宿迁市呢？", "宿迁市理论宣讲有哪些做法"),
    ("2024年山东GDP有多少", "广东呢", "2024年广东GDP有多少"),
    ("2024年山东GDP有多少", "江苏省呢", "2024年江苏省GDP有多少"),
    ("2024年山东GDP有多少", "那江苏的GDP呢", "2024年江苏GDP有多少"),
    ("2024年山东GDP有多少", "那西藏呢", "2024年西藏GDP有多少"),
    ("2024年山东GDP有多少", "去年的呢", "2023年山东GDP有多少"),
    ("2024年山东GDP有多少", "前年呢", "2022年山东GDP有多少"),
    ("2024年山东GDP有多少", "2021年的呢", "2021年山东GDP有多少"),
    ("2024年山东GDP有多少", "上半年呢", "2024年上半年山东GDP有多少"),
    ("重庆上半年社零多少", "上海一季度呢", "上海一季度社零多少"),  # no year before: none made up
    ("2026年五一假期全国国内出游多少人次", "去年呢", "2025年五一假期全国国内出游多少人次"),
    ("2024年3月全国社会消费品零售总额", "上个月呢", "2024年2月全国社会消费品零售总额"),
    ("2024年1月全国社会消费品零售总额", "上个月呢", "2023年12月全国社会消费品零售总额"),
    ("第一批国家级文化生态保护区有哪些", "第二批呢", "第二批国家级文化生态保护区有哪些"),
    ("【经验交流】理论宣讲做法", "【学习动态】里呢", "【学习动态】理论宣讲做法"),
    ("天舟五号什么时候发射", "那天舟六号呢", "天舟六号什么时候发射"),
    ("国家统计局发布的数据", "那海关总署呢", "海关总署发布的数据"),
    ("2024年山东GDP有多少", "2023年的GDP是多少", "2023年山东GDP有多少"),  # retyped in part: the place kept
    # chat shorthand: a two-digit year, an ordinal without 第, a year's graduates, a holiday
    ("2023年春运客流总量预计有多少", "24年呢", "2024年春运客流总量预计有多少"),
    ("第五届进博会意向成交额多少", "六届呢", "第六届进博会意向成交额多少"),
    ("首届链博会来了多少观众", "第三届的呢", "第三届链博会来了多少观众"),  # 首届: the first
    ("首批国家公园有哪些", "第二批呢", "第二批国家公园有哪些"),
    ("2023届高校毕业生有多少人", "2024届呢", "2024届高校毕业生有多少人"),
    ("2023年度十大考古新发现有哪些", "2022年度的呢", "2022年度十大考古新发现有哪些"),
    ("2024年国庆假期国内出游多少人次", "春节呢", "2024年春节国内出游多少人次"),
    ("2024年国庆假期国内出游多少人次", "那五一假期呢", "2024年五一假期国内出游多少人次"),
])
def test_a_slot_swapped_replaces_the_one_asked_before(before, message, question):
    reading = read(before, message)
    assert reading.kind == "swap" and reading.question == question and reading.understood == question


@pytest.mark.parametrize("message, period", [("去年的呢", "2025年"), ("上个月呢", "2026年11月"), ("2023年的呢", "2023年")])
def test_a_period_without_one_before_counts_from_today(message, period):
    reading = read("全国社会消费品零售总额", message)
    assert reading.kind == "swap" and reading.question.startswith(period) and "社会消费品零售总额" in reading.question


@pytest.mark.parametrize("before, message, subject, ask", [
    ("2024年全国两会开幕", "这个会是谁主持的", "2024年全国两会开幕", "谁主持"),
    ("泗洪县理论宣讲有哪些做法", "具体有哪些措施", "泗洪县理论宣讲", "具体有哪些措施"),
    ("长江十年禁渔", "什么时候开始", "长江十年禁渔", "什么时候开始"),
    ("长江十年禁渔", "效果怎么样？", "长江十年禁渔", "效果怎么样"),
    ("2024年山东GDP有多少", "增长了多少", "2024年山东GDP", "增长了多少"),
    ("红书房建设情况", "这个项目投资多少", "红书房建设", "投资多少"),
])
def test_the_same_subject_asked_further(before, message, subject, ask):
    reading = read(before, message)
    assert reading.kind == "further"
    assert reading.question.startswith(subject) and ask in reading.question
    assert "这个" not in reading.question


@pytest.mark.parametrize("before, message, subject, ask", [
    # a word that points back, whatever words of its own follow: 这届, 那年, 当时, 里面, 他
    ("第二十届中国—东盟博览会开幕式是谁出席的", "这届签约了多少个项目", "第二十届中国—东盟博览会", "签约了多少个项目"),
    ("2023年中国国际服务贸易交易会签约了多少项目", "那年有多少家企业参展", "2023年中国国际服务贸易交易会", "有多少家企业参展"),
    ("2023年6月10日全国麦收进度如何", "当时夏播面积多少", "2023年6月10日全国麦收进度", "夏播面积多少"),
    ("2023年度十大考古新发现有哪些", "里面史前的有几项", "2023年度十大考古新发现", "史前的有几项"),
    # another of the numbered series asked about, asked further
    ("第五届进博会意向成交额多少", "第六届有多少家企业参展", "第六届进博会", "有多少家企业参展"),
])
def test_further_asks_with_words_of_their_own_that_point_back(before, message, subject, ask):
    reading = read(before, message)
    assert reading.kind == "further" and reading.question.startswith(subject) and ask in reading.question
    assert reading.understood == reading.question


@pytest.mark.parametrize("before, message, merged", [
    ("西部计划今年招募多少志愿者", "能提供多少岗位", "西部计划今年招募 志愿者 能提供多少岗位"),
    ("央行9月出台了哪些降息政策", "存量房贷利率怎么调", "央行9月出台 降息政策 存量房贷利率怎么调"),
])
def test_words_only_about_a_subject_are_read_both_ways(before, message, merged):
    """能提供多少岗位 names no subject: asked as typed, and merged with the subject before; the
    service keeps the one the evidence favours (a second search, for such messages only)."""
    reading = read(before, message)
    assert reading.kind == "fresh" and reading.question == message and not reading.understood
    assert reading.alternative.kind == "further" and reading.alternative.question == merged
    assert reading.alternative.understood == merged


SHOWN_TEXT = {11: "习近平出席亚太经合组织第三十次领导人非正式会议并发表题为《同心协力 共迎挑战》的重要讲话",
              12: "财政部、应急管理部紧急预拨中央自然灾害救灾资金", 13: ""}


@pytest.mark.parametrize("before, message", [
    ("APEC第三十次领导人非正式会议的主题是什么", "习近平讲话题目叫什么"),
    ("2024年台风摩羯在哪登陆的", "财政部预拨了多少救灾资金"),
])
def test_a_name_the_user_has_just_read_is_not_a_subject_of_its_own(before, message):
    """习近平 is a name, so the message alone would start afresh; but the user has just read it in
    a result shown: both readings are searched, as for a message naming nothing."""
    reading = resolve([turn(before)], message, TODAY, seen=SHOWN_TEXT.get)
    assert reading.kind == "fresh" and reading.alternative is not None
    assert reading.alternative.kind == "further" and subject_of(before) in reading.alternative.question
    # not shown before: a new question, nothing merged
    alone = resolve([turn(before)], message, TODAY, seen={11: "", 12: "", 13: ""}.get)
    assert alone.kind == "fresh" and alone.alternative is None


def test_a_name_read_before_with_a_period_of_its_own_is_a_new_question():
    reading = resolve([turn("APEC第三十次领导人非正式会议的主题是什么")], "2019年习近平讲话题目叫什么", TODAY,
                      seen=SHOWN_TEXT.get)
    assert reading.alternative is None or reading.alternative.kind != "further" or "2019年" in reading.question


def test_an_event_named_in_words_of_its_own_is_a_new_question():
    """从都国际论坛2024年在哪开的 after a question on the 北京文化论坛: another forum, named."""
    reading = read("2023北京文化论坛的主题是什么", "从都国际论坛2024年在哪开的")
    assert reading.kind == "fresh" and reading.alternative is None and not reading.understood
    # its kind alone (开幕式, 分论坛) names nothing: still read both ways
    assert read("第六届数字中国建设峰会设了多少个分论坛", "开幕式在哪开的").alternative is not None


@pytest.mark.parametrize("before, message, followup", [
    ("第十一届世界和平论坛的主题是什么", "第27届中国青年五四奖章授给了多少人", False),  # a series of its own
    ("第四届消博会展览面积多大", "第五届面积多大", True),  # the series before, asked further
    ("第六届进博会央企组了多少个交易团", "第八届央企组了多少团", True),
])
def test_an_ordinal_followed_by_a_name_of_its_own_starts_afresh(before, message, followup):
    reading = read(before, message)
    assert reading.followup == followup and bool(reading.understood) == followup


def test_a_slot_swapped_with_a_new_ask_asks_the_subject_anew():
    """第八届在哪开 after 第六届设了多少个分论坛: not 第八届设了多少个分论坛, but where the eighth is held."""
    reading = read("第六届数字中国建设峰会设了多少个分论坛", "第八届在哪开")
    assert reading.kind == "further" and "第八届数字中国建设峰会" in reading.question
    assert "在哪开" in reading.question and "分论坛" not in reading.question.split()[-1]
    # no ask of its own: the question before, its slot swapped
    assert read("第六届数字中国建设峰会设了多少个分论坛", "第八届呢").question == "第八届数字中国建设峰会设了多少个分论坛"


@pytest.mark.parametrize("before, message", [
    ("浙江以旧换新补贴效果怎么样", "别的省以旧换新是怎么搞的"),
    ("哈尔滨冰雪旅游火爆", "别的地方冰雪旅游热不热"),
    ("广汕高铁开通运营", "还有哪些新铁路开通了"),
    ("杭州亚运会火炬在温州传递的路线有多长", "火炬还到过浙江哪些城市"),
])
def test_other_cases_asked_in_words_of_their_own(before, message):
    reading = read(before, message)
    assert reading.kind == "others" and reading.exclude == {11, 12, 13}
    assert reading.question == message and reading.understood == f"{message}（已列出的除外）"


def test_that_year_in_other_cases_is_the_year_asked_before():
    """那年还有哪儿…: the year the question before named, said in the question understood."""
    reading = read("2023年9月巴西那场洪灾主要在哪个州", "那年还有哪儿地震死了上千人")
    assert reading.kind == "others" and reading.question == "2023年还有哪儿地震死了上千人"
    assert read("巴西那场洪灾主要在哪个州", "那年还有哪儿地震死了上千人").question.startswith("那年")  # no year before


@pytest.mark.parametrize("before, message, understood", [
    ("约翰内斯堡火灾习主席给谁发了慰问电", "他还就哪些国外事故发过慰问电", "习近平还就哪些国外事故发过慰问电（已列出的除外）"),
    ("赵乐际2024年5月在河南跑了哪几个市", "他24年还去哪调研过", "赵乐际24年还去哪调研过（已列出的除外）"),
])
def test_he_is_the_person_asked_about_before(before, message, understood):
    """他 in 他还…过: the person named before (习主席 as 习近平), never a city jieba tags as a name."""
    assert read(before, message).understood == understood


def test_a_comparison_with_last_month_is_asked_further_not_a_month_swapped():
    """比上月多了多少 asks how the figure changed: 上月 there is no period to swap in."""
    reading = read("2024年8月末外储多少", "比上月多了多少")
    assert reading.kind == "further" and "2024年8月末" in reading.question and "比上月" in reading.question


def test_a_place_before_that_one_names_its_own_event():
    """摩洛哥那次地震 after a question about Gaza: Morocco's earthquake, not the war asked before."""
    reading = read("巴以这轮冲突打了一个月加沙死了多少人", "摩洛哥那次地震死了多少人")
    assert not reading.followup and "加沙" not in reading.question


def test_asking_something_else_is_a_new_question():
    """问个别的，…: an opener that says a new question follows, not 别的 (other cases)."""
    reading = read("东京残奥会中国代表团多少人", "问个别的，24年上半年全国机动车保有量多少")
    assert reading.kind == "fresh" and reading.alternative is None and not reading.exclude


@pytest.mark.parametrize("before, message, understood", [
    ("2022年12月天津市委书记换成谁了", "山东那次呢", "2022年12月山东省委书记换成谁了"),  # a place inside a body
    ("2022年12月天津市委书记换成谁了", "重庆呢", "2022年12月重庆市委书记换成谁了"),
    ("截至2024年3月24号莫斯科音乐厅恐袭遇难多少", "27号呢", "截至2024年3月27号莫斯科音乐厅恐袭遇难多少"),
    ("长三角2024年前11个月进出口多少", "大湾区呢", "大湾区2024年前11个月进出口多少"),  # not 前大湾区个月
    ("2024年11月制造业PMI多少", "那年1月份的", "2024年1月份制造业PMI多少"),
    ("2023年前8个月邮政寄递业务量多少", "前10个月呢", "2023年前10个月邮政寄递业务量多少"),
    ("截至2023年11月10日主产区收购秋粮多少", "到22号呢", "截至2023年11月22号主产区收购秋粮多少"),  # the month kept
    ("2023年5月底全国麦收进度多少了", "22号那会儿呢", "2023年5月22号全国麦收进度多少了"),
    ("2023年5月底全国麦收进度多少了", "24年6月初呢", "2024年6月初全国麦收进度多少了"),
    ("2024年1月2日能登地震死了多少人", "1月3号那会儿的数字呢", "2024年1月3号能登地震死了多少人"),
    ("2023年广东经济总量多少", "换成四川", "2023年四川经济总量多少"),  # 换成 X: X呢
    ("2024年9月CPI涨了多少", "换成10月", "2024年10月CPI涨了多少"),
    ("2023年1到9月老旧小区改造开工多少", "24年前三季度呢", "2024年前三季度老旧小区改造开工多少"),
    ("2023年上半年邮政寄递量多少", "23年一整年下来多少", "2023年一整年邮政寄递量多少"),
])
def test_slots_swapped_where_they_stand(before, message, understood):
    reading = read(before, message)
    assert reading.kind == "swap" and reading.understood == understood


@pytest.mark.parametrize("message, keeps_place", [
    ("还有哪些地方也这么做", False), ("别的省呢", False), ("其他城市呢", False), ("还有吗", True),
    ("还有别的吗", True),
])
def test_other_cases_ask_the_same_without_what_was_shown(message, keeps_place):
    reading = read("江苏推进乡村振兴有哪些做法", message)
    assert reading.kind == "others" and reading.exclude == {11, 12, 13}
    assert "乡村振兴" in reading.question and ("江苏" in reading.question) == keeps_place


def test_only_what_the_user_saw_is_left_out(service):
    key = ("test", "shown", "u1")
    first = service.converse(key, "垃圾分类有哪些做法", top_k=2, shown=1)
    assert len(first.results) == 2  # one more than shown, as the chat front ends ask
    answer = service.converse(key, "还有哪些地方也这么做", top_k=2, shown=1)
    assert first.results[1].article_id in {q.article_id for q in answer.results}
    assert first.results[0].article_id not in {q.article_id for q in answer.results}


def test_other_cases_twice_leave_out_everything_shown_so_far():
    first = turn("江苏推进乡村振兴", (11, 12))
    second = Turn("推进乡村振兴", "乡村振兴", (13, 14), frozenset({11, 12}))
    reading = resolve([first, second], "还有吗", TODAY)
    assert reading.exclude == {11, 12, 13, 14}


@pytest.mark.parametrize("message, article", [
    ("第二条的全文", 12), ("第2个", 12), ("原文", 11), ("看看第三篇原文", 13), ("第一条全文", 11), ("全文", 11),
])
def test_a_result_referred_to_is_that_result(message, article):
    reading = read("江苏推进乡村振兴", message)
    assert reading.kind == "refer" and reading.article_id == article


@pytest.mark.parametrize("message", ["这一期还有什么", "这期还有哪些文章", "同一期还有什么", "这期还有什么新闻",
                                     "那一期还播了什么", "这期快讯里还有什么"])
def test_this_issue_lists_the_rest_of_the_first_results_issue(message):
    reading = read("江苏推进乡村振兴", message)
    assert reading.kind == "refer" and reading.contents_of == 11 and reading.exclude == {11, 12, 13}


@pytest.mark.parametrize("message, naming, said", [
    ("拉各斯那条的原文发我", ("拉各斯",), "拉各斯"), ("刚才天舟五号那条新闻的原文", ("天舟", "五号"), "天舟五号"),
    ("督导员那篇全文", ("督导员",), "督导员"),
])
def test_a_result_named_by_what_it_says_is_looked_for_among_those_shown(message, naming, said):
    reading = read("江苏推进乡村振兴", message)
    assert reading.kind == "refer" and reading.among == (11, 12, 13) and reading.naming == naming
    assert reading.understood == f"提到“{said}”的那条结果的全文"


def test_a_result_that_was_never_shown_is_not_referred_to():
    assert read("江苏推进乡村振兴", "第9条的全文", shown=(11, 12)).kind != "refer"
    assert read("江苏推进乡村振兴", "原文", shown=()).kind != "refer"


@pytest.mark.parametrize("before, message", [
    ("2024年山东GDP有多少", "天舟六号什么时候发射"),
    ("2024年山东GDP有多少", "新质生产力是什么"),
    ("2024年山东GDP有多少", "GDP增速最快的省份是哪个"),
    ("泗洪县理论宣讲有哪些做法", "红书房建了多少个"),
    ("泗洪县理论宣讲有哪些做法", "长江十年禁渔效果"),
    ("泗洪县理论宣讲有哪些做法", "第二批国家级文化生态保护区有哪些地方"),
    ("徐州理论宣讲做法", "泗洪县理论宣讲做法"),  # the question typed out again, another place
    ("2024年山东GDP有多少", "2023年山东GDP有多少"),  # ... another year
    ("2024年山东GDP有多少", "谢谢"),
    # a demonstrative that picks out what the message itself names, not what was asked before
    ("省委常委会召开会议研究部署经济工作", "省委常委会12月4日那次扩大会议是谁主持的"),
    ("2024年前三季度GDP是多少", "那次神舟十八号是几点发射的"),
    ("2024年前三季度GDP是多少", "那届成都大运会开幕式在哪天"),
    ("2024年前三季度GDP是多少", "对了，杭州亚运会有多少运动员参赛"),  # a chat opener is not a follow-up
])
def test_a_question_with_its_own_subject_is_never_merged(before, message):
    reading = read(before, message)
    assert reading.kind == "fresh" and reading.question == message and not reading.understood


@pytest.mark.parametrize("question, subject", [
    ("2024年山东GDP有多少", "2024年山东GDP"), ("泗洪县理论宣讲有哪些做法", "泗洪县理论宣讲"),
    ("乡村振兴工作会议什么时候召开", "乡村振兴工作会议"), ("什么是新质生产力", "新质生产力"),
    ("长江十年禁渔", "长江十年禁渔"),
])
def test_the_subject_is_the_question_without_its_ask(question, subject):
    assert subject_of(question) == subject


def test_the_first_message_is_always_a_new_question():
    reading = resolve([], "那徐州呢", TODAY)
    assert reading.kind == "fresh" and reading.question == "那徐州呢"


def test_slots_are_found_where_they_are_written():
    slots = find_slots("2024年江苏省泗洪县【经验交流】第二批")
    assert [w for w, _, _ in slots.places] == ["江苏省", "泗洪县"]
    assert slots.period[0] == "2024年" and slots.ordinal[0] == "第二批" and slots.section[0] == "【经验交流】"
    assert not find_slots("具体有哪些措施").any()


@pytest.mark.parametrize("text", ["/new", "新问题", " /new@bulletin_bot "])
def test_reset_words(text):
    assert is_reset(text)
    assert not is_reset("新问题是什么")


# ---------------------------------------------------------------- the store


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_store_keeps_a_few_turns_each_apart_and_forgets_after_a_while():
    clock = Clock()
    store = ContextStore(minutes=30, kept=2, turns=3, clock=clock)
    for n in range(5):
        store.record(("t", "group", "alice"), turn(f"问题{n}"))
    store.record(("t", "group", "bob"), turn("鲍勃的问题"))
    assert [t.question for t in store.turns(("t", "group", "alice"))] == ["问题2", "问题3", "问题4"]
    assert [t.question for t in store.turns(("t", "group", "bob"))] == ["鲍勃的问题"]
    assert store.turns(("t", "other", "alice")) == ()
    store.record(("web", "tab"), turn("网页"))  # another channel's: kept apart, nothing goes
    assert store.turns(("t", "group", "alice")) and len(store) == 3
    store.record(("t", "group", "carol"), turn("卡罗尔"))  # a third of this channel: its least recent goes
    assert store.turns(("t", "group", "alice")) == () and len(store) == 3
    clock.now += 30 * 60 + 1
    assert store.turns(("web", "tab")) == ()
    store.record(("web", "tab"), turn("又问"))
    store.forget(("web", "tab"))
    assert store.turns(("web", "tab")) == ()


def test_context_minutes_is_a_setting():
    assert load_settings(env={}).context_minutes == 30
    assert load_settings(env={"BULLETIN_BOT_CONTEXT_MINUTES": "5"}).context_minutes == 5


# ---------------------------------------------------------------- the service over a small archive


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    return conversation_service(tmp_path_factory.mktemp("conversation"))


def titles(answer) -> list[str]:
    return [q.citation.title for q in answer.results]


def test_a_place_and_then_a_year_swapped(service):
    key = ("test", "c1", "u1")
    first = service.converse(key, "2022年山东GDP有多少")
    assert titles(first)[0] == "山东发布2022年经济运行情况" and not first.understood
    second = service.converse(key, "广东呢")
    assert second.understood == "2022年广东GDP有多少"
    assert titles(second)[0] == "广东发布2022年经济运行情况" and "129119亿元" in second.results[0].quote
    third = service.converse(key, "去年的呢")
    assert third.understood == "2021年广东GDP有多少" and titles(third)[0] == "广东发布2021年经济运行情况"


def test_a_place_swapped_in_a_practice(service):
    key = ("test", "c2", "u1")
    assert titles(service.converse(key, "昆山市垃圾分类有哪些做法"))[0] == "昆山市：垃圾分类进小区"
    answer = service.converse(key, "那徐州呢")
    assert answer.understood == "徐州垃圾分类有哪些做法" and titles(answer)[0] == "徐州市：垃圾分类督导员上岗"


def test_the_same_subject_asked_further_through_the_service(service):
    key = ("test", "c3", "u1")
    service.converse(key, "长江十年禁渔")
    answer = service.converse(key, "什么时候开始")
    assert answer.understood == "长江十年禁渔 什么时候开始"
    assert "2021年1月1日" in answer.results[0].quote


def test_other_cases_leave_out_what_was_shown(service):
    key = ("test", "c4", "u1")
    assert titles(service.converse(key, "昆山市垃圾分类有哪些做法", top_k=1)) == ["昆山市：垃圾分类进小区"]
    answer = service.converse(key, "还有哪些地方也这么做", top_k=1)
    assert answer.understood.startswith("垃圾分类有哪些做法")
    assert titles(answer) == ["徐州市：垃圾分类督导员上岗"]


def test_a_result_referred_to_returns_its_whole_article(service):
    key = ("test", "c5", "u1")
    shown = service.converse(key, "2022年山东GDP有多少")
    second = shown.results[1]
    answer = service.converse(key, "第二条的全文")
    assert answer.understood.startswith("第2条结果的全文")
    assert [q.article_id for q in answer.results] == [second.article_id]
    assert answer.results[0].quote == service.article(second.article_id).text
    contents = service.converse(key, "这一期还有什么")
    issue = shown.results[0].citation.issue
    assert contents.understood == f"第{issue}期的其他文章"
    assert {q.citation.issue for q in contents.results} == {issue}
    assert not {q.article_id for q in contents.results} & {q.article_id for q in shown.results}


def test_a_follow_up_the_archive_cannot_answer_says_not_found(service):
    key = ("test", "c6", "u1")
    service.converse(key, "2022年山东GDP有多少")
    answer = service.converse(key, "那西藏呢")
    assert answer.understood == "2022年西藏GDP有多少"
    assert not answer.found and answer.reason


def test_a_further_ask_in_words_of_its_own_is_read_in_the_conversation(service):
    """能提供多少岗位 alone finds the job fair; in the conversation about 西部计划 it is asked of that."""
    key = ("test", "c9", "u1")
    first = service.converse(key, "西部计划招募多少志愿者")
    assert titles(first)[0] == "大学生志愿服务西部计划启动招募"
    answer = service.converse(key, "能提供多少岗位")
    assert answer.understood == "西部计划招募 志愿者 能提供多少岗位"
    assert titles(answer)[0] == "大学生志愿服务西部计划启动招募" and "三千个" in answer.results[0].quote


def test_a_new_question_naming_no_subject_stays_as_typed_when_it_answers_better(service):
    """Read both ways, the message as typed wins when the merged answer lacks its own words."""
    key = ("test", "c11", "u1")
    service.converse(key, "西部计划招募多少志愿者")
    answer = service.converse(key, "春季招聘会有多少家用人单位进场")
    assert not answer.understood and titles(answer)[0] == "春季招聘会走进高校"


@pytest.mark.parametrize("chat, before, message", [
    ("c13", "昆山市垃圾分类有哪些做法", "量子计算机芯片制程工艺路线图"),  # many words of its own
    ("c16", "镇雄山体滑坡失联多少人", "红烧肉怎么做才好吃"),  # a thing neither answer mentions
])
def test_a_new_question_the_archive_cannot_answer_is_not_merged_to_find_something(service, chat, before, message):
    """Merged with the subject before, a question about chips or a dish would find that subject
    again: its answer lacks the question's own words, so it is asked as typed (and says 未找到)."""
    key = ("test", chat, "u1")
    service.converse(key, before)
    answer = service.converse(key, message)
    assert not answer.understood and not answer.found


def test_other_cases_asked_in_words_of_their_own_leave_out_what_was_shown(service):
    key = ("test", "c10", "u1")
    assert titles(service.converse(key, "昆山市垃圾分类有哪些做法", top_k=1)) == ["昆山市：垃圾分类进小区"]
    answer = service.converse(key, "别的城市是怎么督促居民分类投放的", top_k=1)
    assert answer.understood == "别的城市是怎么督促居民分类投放的（已列出的除外）"
    assert titles(answer) == ["徐州市：垃圾分类督导员上岗"]


def test_a_further_ask_the_archive_cannot_answer_alone_is_asked_of_the_subject(service):
    """中央拨钱了吗 alone finds nothing that says 拨钱; after the landslide it is asked of it, and
    the report (预拨…救灾资金) answers, though it never writes the chat's word."""
    key = ("test", "c14", "u1")
    assert titles(service.converse(key, "镇雄山体滑坡失联多少人"))[0] == "镇雄县山体滑坡救援持续进行"
    answer = service.converse(key, "中央拨钱了吗")
    assert answer.understood == "中央 镇雄山体滑坡失联 拨钱了吗"  # 中央 a body the message names
    assert titles(answer)[0] == "镇雄县山体滑坡救援持续进行" and "5000万元" in answer.results[0].quote


def test_other_occasions_asked_with_he_are_that_persons_other_than_those_shown(service):
    """他还给哪些工人回过信 after a letter of 习近平's: his other letters, the one shown left out."""
    key = ("test", "c15", "u1")
    first = service.converse(key, "习近平给东北大学师生的回信说了什么", top_k=1)
    assert titles(first) == ["习近平给东北大学老教授和师生代表回信"]
    answer = service.converse(key, "他还给哪些工人回过信", top_k=1)
    assert answer.understood == "习近平还给哪些工人回过信（已列出的除外）"
    assert titles(answer) == ["习近平给李志强班职工回信"]


def test_a_result_named_by_what_it_says_returns_its_whole_article(service):
    key = ("test", "c12", "u1")
    shown = service.converse(key, "垃圾分类有哪些做法")
    xuzhou = next(q.article_id for q in shown.results if q.citation.title == "徐州市：垃圾分类督导员上岗")
    answer = service.converse(key, "督导员那条的原文")
    assert answer.understood == "提到“督导员”的那条结果的全文：徐州市：垃圾分类督导员上岗"
    assert [q.article_id for q in answer.results] == [xuzhou]
    # named by words no result shown holds: asked as it stands
    assert not service.converse(key, "江豚那条原文").understood


def test_a_new_question_mid_conversation_is_answered_as_if_asked_alone(service):
    key = ("test", "c7", "u1")
    service.converse(key, "2022年山东GDP有多少")
    answer = service.converse(key, "长江十年禁渔什么时候开始")
    alone = service.ask("长江十年禁渔什么时候开始")
    assert not answer.understood and titles(answer) == titles(alone)


def test_conversations_never_mix(service):
    alice, bob = ("test", "group", "alice"), ("test", "group", "bob")
    service.converse(alice, "2022年山东GDP有多少")
    service.converse(bob, "昆山市垃圾分类有哪些做法")
    assert service.converse(alice, "广东呢").understood == "2022年广东GDP有多少"
    assert service.converse(bob, "那徐州呢").understood == "徐州垃圾分类有哪些做法"
    # another chat of the same user has nothing of this one
    assert not service.converse(("test", "private", "alice"), "广东呢").understood


def test_new_forgets(service):
    key = ("test", "c8", "u1")
    service.converse(key, "2022年山东GDP有多少")
    service.forget(key)
    assert not service.converse(key, "广东呢").understood


# ---------------------------------------------------------------- bulletin-bot chat


def test_chat_json_answers_one_line_per_turn(tmp_path):
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    write_archive(corpus)
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    cli = [sys.executable, "-m", "bulletin_bot.cli"]
    built = subprocess.run([*cli, "index", "--corpus", str(corpus), "--index", str(index), "--model", "hash", "-q"],
                           capture_output=True, text=True, timeout=300, env=env)
    assert built.returncode == 0, built.stderr
    turns = "2022年山东GDP有多少\n广东呢\n/new\n广东呢\n"
    result = subprocess.run([*cli, "chat", "--index", str(index), "--json"], input=turns, capture_output=True,
                            text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 4
    assert lines[0]["understood"] == "" and lines[0]["results"][0]["title"] == "山东发布2022年经济运行情况"
    assert lines[1]["understood"] == "2022年广东GDP有多少"
    assert lines[1]["results"][0]["title"] == "广东发布2022年经济运行情况"
    assert lines[2] == {"reset": True}
    assert lines[3]["understood"] == ""  # forgotten: 广东呢 asked as it stands
    plain = subprocess.run([*cli, "chat", "--index", str(index)], input="2022年山东GDP有多少\n广东呢\n",
                           capture_output=True, text=True, timeout=300, env=env)
    assert "按“2022年广东GDP有多少”查找：" in plain.stdout.splitlines()
    helped = subprocess.run([*cli, "--help"], capture_output=True, text=True, env=env)
    assert "chat" in helped.stdout and "/new" in helped.stdout


@pytest.mark.parametrize("typed, meant", [
    ("23年前8个月外贸总额多少", "2023年前8个月外贸总额多少"),
    ("24年上半年GDP多少", "2024年上半年GDP多少"),
    ("23年9月巴西洪灾在哪个州", "2023年9月巴西洪灾在哪个州"),
    ("23年底全国博物馆有多少家", "2023年底全国博物馆有多少家"),
    ("24年端午假期跨区域流动多少人", "2024年端午假期跨区域流动多少人"),
    # not a year: a span of years, an ordinal, a longer number
    ("中美建交25年有哪些成就", "中美建交25年有哪些成就"),
    ("改革开放这30年的变化", "改革开放这30年的变化"),
    ("23年来脱贫攻坚成果", "23年来脱贫攻坚成果"),
    ("第23年春运", "第23年春运"),
])
def test_a_chat_shorthand_year_is_read_as_the_year(typed, meant):
    """Chat users type 23年 for 2023年, in a first question as in a follow-up."""
    from bulletin_bot.text import expand_chat_shorthand

    assert expand_chat_shorthand(typed) == meant


def test_a_shorthand_year_finds_the_year_through_the_service(service):
    """The question is searched, and shown, with the year written out."""
    answer = service.ask("24年上半年垃圾分类做法")
    assert "2024年上半年" in answer.query
