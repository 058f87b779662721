"""What a user sees for a question: quotes cut verbatim from the cited article, citations, "not found"."""

from __future__ import annotations

import re

from hypothesis import assume, given, settings
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
        assert [s for s, _ in quote.spans] == sorted(s for s, _ in quote.spans)
        # the quote is exactly the article's text at its spans, joined by "…" where text was left out
        assert render_quote(text, list(quote.spans)) == quote.quote
        for piece in quote.quote.split(ELLIPSIS):
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


def test_every_quote_is_a_verbatim_slice_of_the_cited_article(sample_service):
    """Property: for questions made of a passage of the corpus and some noise, every quote is the
    cited article's own text at its spans. A run that checked few quotes proves nothing, so the
    quotes checked are counted and most questions must have found their passage's article."""
    articles = [sample_service.article(i) for i in range(3)]
    asked: list[bool] = []
    quotes: list[int] = []

    @settings(max_examples=60, deadline=None, database=None)
    @given(data=st.data())
    def check(data):
        article = data.draw(st.sampled_from(articles))
        text = article.text
        start = data.draw(st.integers(0, max(0, len(text) - 12)))
        length = data.draw(st.integers(8, 24))
        passage = re.sub(r"\s+", "", text[start : start + length])
        assume(len(re.findall(r"[\u4e00-\u9fff]", passage)) >= 6)  # enough words to find it by
        noise = data.draw(st.text(alphabet="的了吗什么如何　 ab1？", max_size=4))
        answer = sample_service.ask(noise + passage)
        _check_verbatim(sample_service, answer)
        asked.append(any(q.article_id == article.article_id for q in answer.results))
        quotes.append(len(answer.results))

    check()
    assert len(asked) >= 30
    assert sum(asked) >= 0.7 * len(asked), f"the passage's article was found for {sum(asked)} of {len(asked)}"
    assert sum(quotes) >= len(asked)


def test_render_quote_marks_gaps_and_cuts():
    text = "第一句话。第二句话。第三句话很长，有很多分句，说了很多事情。"
    assert render_quote(text, [(0, 10)]) == "第一句话。第二句话。"  # whole adjacent sentences: no mark
    assert render_quote(text, [(0, 5), (10, len(text))]) == "第一句话。…第三句话很长，有很多分句，说了很多事情。"
    assert render_quote(text, [(10, 16)]) == "第三句话很长…"  # cut before the sentence ends
    assert render_quote(text, [(16, len(text))]) == "…，有很多分句，说了很多事情。"  # starts mid-sentence

    # and as select_spans makes them: the question's words far apart give a gap ...
    spread = "第一句话讲红书房。第二句话。第三句话。第四句话。第五句话。第六句话讲骆马湖。"
    spans = select_spans(spread, {"红书房": 5.0, "骆马湖": 5.0}, [])
    assert len(spans) == 2 and spans[0][1] < spans[1][0]
    assert render_quote(spread, spans) == "第一句话讲红书房。第二句话。第三句话。…第六句话讲骆马湖。"
    # ... and a sentence too long to quote whole is cut around the words, marked on both sides
    clauses = "，".join(f"这是一个很长的分句第{i}段" for i in range(40))
    long = f"开头一句。{clauses}，其中提到红书房建设，{clauses}。结尾一句。"
    spans = select_spans(long, {"红书房": 5.0}, [])
    quote = render_quote(long, spans)
    assert quote.startswith(ELLIPSIS) and quote.endswith(ELLIPSIS) and "红书房" in quote
    assert quote.strip(ELLIPSIS) in long and len(quote) < len(long) // 2


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
