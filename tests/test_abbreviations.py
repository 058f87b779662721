"""What chat users type for what the bulletins write out: 神十七 (神舟十七号), GDP (地区生产总值),
社零 (社会消费品零售总额): read as the written-out words when searching and judging."""

from __future__ import annotations

import pytest

from bulletin_bot.text import expand_chat_shorthand, term_credit


@pytest.mark.parametrize("typed, meant", [
    ("神十七乘组什么时候返回", "神舟十七号乘组什么时候返回"),
    ("神二十呢", "神舟二十号呢"),
    ("神舟十七号乘组", "神舟十七号乘组"),  # written out already
    ("精神十足", "精神十足"),  # not a mission: 神 followed by 十足
])
def test_a_crewed_mission_in_chat_shorthand_is_written_out(typed, meant):
    assert expand_chat_shorthand(typed) == meant


@pytest.mark.parametrize("term, text", [
    ("GDP", "山东省地区生产总值92069亿元"),
    ("gdp", "国内生产总值1260582亿元"),
    ("CPI", "全国居民消费价格同比上涨0.2%"),
    ("社零", "社会消费品零售总额同比增长3%"),
])
def test_an_abbreviation_is_credited_where_the_text_writes_it_out(term, text):
    assert term_credit(term, text) == 1.0
    assert term_credit("GDP", "全国粮食总产量") == 0.0


def test_an_abbreviation_is_searched_as_the_words_written_out(monkeypatch):
    """The first stage's search tokens hold both 'gdp' and 生产总值 (the index is not read to
    make them: the ranking over an index is checked through the service in the dialogue tests)."""
    import bulletin_bot.ranking.first_stage as fs
    from bulletin_bot.ranking.question import parse_question

    monkeypatch.setattr(fs, "_rank", lambda *args: [])
    tokens, _words, _ = fs.first_stage(None, None, parse_question("2023年山东GDP多少"), None, fs.RetrievalSettings())
    assert "gdp" in tokens and "生产总值" in tokens
