"""What a user sees for a question: quotes cut verbatim from the cited article, citations, "not found"."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bulletin_bot.answers import ELLIPSIS, render_quote, select_spans

SEED_QUESTIONS = [
    ("泗洪县理论宣讲做法", "泗洪县：打造“洪轩理”理论品牌", "谁来讲、讲什么、如何讲"),
    ("红书房建了多少个", "泗洪县：打造“洪轩理”理论品牌", "建设“红书房”学习阵地42个"),
    ("2023年12月省委常委会传达了什么", "省委常委会召开扩大会议", "传达学习习近平总书记考察盐城重要指示精神"),
    ("无锡 新质生产力 专题讲座", "无锡、徐州、连云港市委理论学习中心组", "郭戎作专题讲座"),
]


def _check_verbatim(service, answer) -> None:
    for quote in answer.results:
        article = service.article(quote.article_id)
        assert article is not None
        text = article.text
        assert quote.spans, quote
        for start, end in quote.spans:
            assert 0 <= start < end <= len(text)
        pieces = [p for p in quote.quote.split(ELLIPSIS) if p]
        for piece in pieces:
            assert piece in text, f"quote piece not verbatim: {piece!r}"
        assert quote.citation.label().startswith(f"第{quote.citation.issue}期 · {quote.citation.date} · 【")


def test_seed_questions_are_answered_with_verbatim_quotes(sample_service):
    for question, title_start, must_quote in SEED_QUESTIONS:
        answer = sample_service.ask(question)
        assert answer.found, question
        top = answer.results[0]
        assert top.citation.issue == 455 and top.citation.date == "2023-12-10"
        assert top.citation.title.startswith(title_start), (question, top.citation.title)
        assert must_quote in top.quote, (question, top.quote)
        _check_verbatim(sample_service, answer)


def test_citation_label_matches_the_documented_form(sample_service):
    top = sample_service.ask("泗洪县理论宣讲做法").results[0]
    assert top.citation.label() == "第455期 · 2023-12-10 · 【经验交流】 泗洪县：打造“洪轩理”理论品牌 筑牢基层理论武装根基"


def test_out_of_corpus_questions_are_not_found(sample_service):
    for question in ["红烧肉怎么做才好吃", "比特币今天的价格", "第999期讲了什么", "2030年亚运会在哪个城市举办"]:
        answer = sample_service.ask(question)
        assert not answer.found, (question, [q.quote for q in answer.results])
        assert answer.results == ()
        assert answer.reason


def test_issue_filter_restricts_results(sample_service):
    answer = sample_service.ask("第455期讲了哪几个市的中心组学习研讨")
    assert answer.found
    assert {q.citation.issue for q in answer.results} == {455}
    assert "无锡" in answer.results[0].citation.title


def test_more_results_page_through_without_repeats(sample_service):
    first = sample_service.ask("理论学习", top_k=1)
    second = sample_service.ask("理论学习", top_k=1, offset=1)
    assert first.found and second.found
    assert first.results[0].article_id != second.results[0].article_id


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_every_quote_is_a_verbatim_slice_of_the_cited_article(sample_service, data):
    """Property: for questions made of pieces of the corpus and noise, every quote is verbatim."""
    articles = [sample_service.article(i) for i in range(3)]
    article = data.draw(st.sampled_from(articles))
    text = article.text
    start = data.draw(st.integers(0, max(0, len(text) - 2)))
    length = data.draw(st.integers(2, 24))
    noise = data.draw(st.text(alphabet="的了吗什么如何　 ab1？", max_size=4))
    question = re.sub(r"\s+", " ", noise + text[start : start + length]).strip()
    if not question:
        return
    answer = sample_service.ask(question)
    _check_verbatim(sample_service, answer)


def test_render_quote_marks_gaps_and_cuts():
    text = "第一句话。第二句话。第三句话很长，有很多分句，说了很多事情。"
    spans = select_spans(text, {"第三句话": 5.0, "第一句话": 5.0}, [(0, 5)])
    quote = render_quote(text, spans)
    assert quote.startswith("第一句话。") and quote.endswith("说了很多事情。")


def test_a_how_question_gets_the_sentence_after_the_problem_it_restates():
    from bulletin_bot.answers import asks_how

    text = ("去年全县种粮面积稳定在十万亩。"
            "坡地上大型农机开不上去，种粮大户耕种一直很难。"
            "县里引进了能爬坡的小型农机，作业成本下降了三成。"
            "今年全县还将新建高标准农田两万亩。")
    weights = {"坡地": 8.0, "农机": 6.0, "种粮大户": 9.0, "耕种": 5.0}
    question = "坡地上农机上不去，种粮大户怎么解决耕种难"
    assert asks_how(question) and not asks_how("种粮大户有多少")
    plain = render_quote(text, select_spans(text, weights, [], max_sentences_settings(1)))
    how = render_quote(text, select_spans(text, weights, [], max_sentences_settings(1), how=True))
    assert "耕种一直很难" in plain and "小型农机" not in plain
    assert how.startswith("坡地上大型农机") and "能爬坡的小型农机，作业成本下降了三成。" in how
    assert "高标准农田" not in how


def max_sentences_settings(n: int):
    from bulletin_bot.answers import QuoteSettings

    return QuoteSettings(max_sentences=n, min_chars=0)
