"""Compiling a topic into a 素材汇编: the .docx a user opens, and what it holds.

The real service over corpus/455.txt and conftest's NEW_ISSUE (第456期), HashEmbedder.
"""

from __future__ import annotations

import shutil

import pytest
from docx import Document

from bulletin_bot import dossier as dossier_module
from bulletin_bot.cli import main
from bulletin_bot.config import Settings
from bulletin_bot.dossier import DossierError, compile_dossier
from bulletin_bot.dossier_render import to_markdown, write
from bulletin_bot.embedding import HashEmbedder
from bulletin_bot.service import BulletinService

from conftest import NEW_ISSUE, SAMPLE

TOPIC = "理论宣讲"


@pytest.fixture(scope="module")
def service(tmp_path_factory) -> BulletinService:
    base = tmp_path_factory.mktemp("dossier")
    corpus = base / "corpus"
    corpus.mkdir()
    shutil.copy(SAMPLE, corpus / SAMPLE.name)
    (corpus / "456.txt").write_text(NEW_ISSUE, encoding="utf-8")
    settings = Settings(corpus=corpus, index=base / "index", cache=base / "cache", model="hash")
    svc = BulletinService(settings, embedder=HashEmbedder())
    svc.reindex()
    return svc


def article_texts(service: BulletinService) -> dict[str, str]:
    """Citation line as the dossier writes it -> the article's text, for every indexed article."""
    out = {}
    for summary in service.issues():
        for view in service.issue(summary.number):
            for ref in view.articles:
                article = service.article(ref.article_id)
                c = article.citation
                out[f"第{c.issue}期 · {c.date} · 【{c.section}】 · {c.title}"] = article.text
    return out


def docx_entries(path) -> tuple[list[str], dict[str, list[str]]]:
    """The document's paragraphs, and each level-2 heading (a citation) with the paragraphs under it."""
    doc = Document(str(path))
    paragraphs = [p for p in doc.paragraphs]
    entries: dict[str, list[str]] = {}
    current = None
    for p in paragraphs:
        style = p.style.name
        if style == "Heading 2":
            current = p.text
            entries[current] = []
        elif style.startswith("Heading"):
            current = None
        elif current is not None and p.text.strip():
            entries[current].append(p.text)
    return [p.text for p in paragraphs], entries


@pytest.mark.parametrize("passages", [False, True])
def test_the_docx_cites_each_article_and_every_passage_is_verbatim_in_it(service, tmp_path, passages):
    out = tmp_path / "汇编.docx"
    assert main(["compile", TOPIC, "--from", "2023-01", "--to", "2023-12", "--out", str(out),
                 "--index", str(service.settings.index), "--model", "hash", *(["--passages"] if passages else [])]) == 0
    texts, entries = docx_entries(out)
    assert texts[0] == f"素材汇编：{TOPIC}"
    assert "时间范围：2023-01-01 至 2023-12-31" in texts and "共 2 篇文章，来自 2 期简报" in texts
    assert "目录" in texts
    known = article_texts(service)
    # the 中心组 article is about 理论学习, not 宣讲: no question about 理论宣讲 shows it
    assert set(entries) == {
        "第455期 · 2023-12-10 · 【经验交流】 · 泗洪县：打造“洪轩理”理论品牌 筑牢基层理论武装根基",
        "第456期 · 2023-12-20 · 【经验交流】 · 宿迁市：“红石榴”宣讲团走进骆马湖渔村",
    }
    for citation, paragraphs in entries.items():
        assert paragraphs, citation
        for paragraph in paragraphs:
            assert paragraph in known[citation], (citation, paragraph)
        if not passages:
            assert "\n".join(paragraphs) == "\n".join(p for p in known[citation].split("\n") if p.strip())
    # each citation is also listed in the contents, before the articles
    for citation in entries:
        assert texts.index(citation) < texts.index(citation, texts.index(citation) + 1)


def test_the_dossier_holds_what_a_question_finds_in_date_order_grouped_by_month(service):
    dossier = compile_dossier(service, TOPIC, "2023-12", "2023-12", group="month")
    asked = {q.article_id for n in (455, 456) for q in service.ask(f"第{n}期 {TOPIC}", top_k=30).results}
    assert {e.article.article_id for e in dossier.entries} == asked
    assert [e.date for e in dossier.entries] == sorted(e.date for e in dossier.entries)
    assert [heading for heading, _ in dossier.groups()] == ["2023年12月"]
    markdown = to_markdown(dossier)
    assert "## 2023年12月" in markdown and "### 第456期 · 2023-12-20 · 【经验交流】" in markdown


def test_a_period_and_a_topic_with_no_answer_give_an_empty_dossier_saying_so(service, tmp_path):
    assert compile_dossier(service, TOPIC, "2023-01", "2023-11").entries == ()
    refused = compile_dossier(service, "铁路货运量同比增长", "2023-01", "2023-12")
    assert refused.entries == ()  # what a question would refuse is not compiled
    path = write(refused, tmp_path / "空.md")
    assert "没有找到回答这个主题的文章" in path.read_text(encoding="utf-8")


def test_a_month_whose_answers_fill_a_page_is_named_on_the_title_page(service, monkeypatch):
    # one question shows two results here: December's three answers fill its page
    monkeypatch.setattr(dossier_module, "PAGE", 2)
    dossier = compile_dossier(service, TOPIC, "2023-11", "2023-12")
    assert len(dossier.entries) == 2 and dossier.full_months == ("2023年12月",)
    assert "注意：2023年12月 相关文章较多" in to_markdown(dossier)


@pytest.mark.parametrize("start,end,group,message", [
    ("2023-13", "2023-12", "section", "没有这一天"),
    ("去年", "2023-12", "section", "看不懂的日期"),
    ("2023-12", "2023-01", "section", "晚于结束日期"),
    ("2023-01", "2023-12", "author", "分组方式只能是"),
])
def test_bad_requests_are_named(service, start, end, group, message):
    with pytest.raises(DossierError, match=message):
        compile_dossier(service, TOPIC, start, end, group=group)


def test_only_docx_and_markdown_are_written(service, tmp_path):
    dossier = compile_dossier(service, TOPIC, "2023-12", "2023-12")
    with pytest.raises(DossierError, match="只能写成 .docx 或 .md"):
        write(dossier, tmp_path / "汇编.pdf")


# 第457期: one article about 理论宣讲, one about 秋粮收购 that names 理论宣讲 once in passing, and a
# 快讯 digest of three items of which one is about it
PASSING_ISSUE = """建设学习型党组织、学习型领导班子 工作简报

第 457 期

协调小组办公室

2023 年 12 月 28 日

【经验交流】

- 沭阳县：理论宣讲小分队走进田间地头
- 泗阳县：秋粮收购进度过半

【国内快讯】

- 国内快讯（全省冬季农田水利建设全面展开等）

【经验交流】

沭阳县：理论宣讲小分队走进田间地头

沭阳县组建12支理论宣讲小分队，利用农闲时节走进田间地头开展理论宣讲86场。

小分队用方言讲政策、用身边事讲道理，群众听得懂、记得住。

泗阳县：秋粮收购进度过半

截至12月25日，泗阳县已收购秋粮12.6万吨，收购进度过半。

全县设立收购网点48个，实行预约收购，售粮农民排队时间明显缩短。

各网点延长收购时间，做好烘干服务。

县里还组织了理论宣讲，这一做法受到欢迎。

粮食部门加强质量检测，确保颗粒归仓。

下一步，泗阳县将继续做好收购资金保障。

【国内快讯】

国内快讯（全省冬季农田水利建设全面展开等）

全省冬季农田水利建设全面展开
入冬以来，全省冬季农田水利建设全面展开，已完成土方1.2亿立方米。
百名青年讲师开展理论宣讲
省委宣传部组织百名青年讲师深入基层开展理论宣讲，已宣讲320场，听众4万人次。
宿迁港集装箱吞吐量创新高
今年以来，宿迁港集装箱吞吐量达到15万标箱，同比增长20%。

送：省协调小组成员单位

发：各设区市委宣传部

协调小组办公室
"""
ABOUT = "第457期 · 2023-12-28 · 【经验交流】 · 沭阳县：理论宣讲小分队走进田间地头"
PASSING = "第457期 · 2023-12-28 · 【经验交流】 · 泗阳县：秋粮收购进度过半"
DIGEST = "第457期 · 2023-12-28 · 【国内快讯】 · 国内快讯（全省冬季农田水利建设全面展开等）"


@pytest.fixture(scope="module")
def passing_service(tmp_path_factory) -> BulletinService:
    base = tmp_path_factory.mktemp("dossier-passing")
    corpus = base / "corpus"
    corpus.mkdir()
    (corpus / "457.txt").write_text(PASSING_ISSUE, encoding="utf-8")
    settings = Settings(corpus=corpus, index=base / "index", cache=base / "cache", model="hash")
    svc = BulletinService(settings, embedder=HashEmbedder())
    svc.reindex()
    return svc


def test_an_article_about_the_topic_is_compiled_and_one_naming_it_in_passing_is_not(passing_service):
    dossier = compile_dossier(passing_service, TOPIC, "2023-12", "2023-12")
    cited = [e.citation for e in dossier.entries]
    assert ABOUT in cited
    assert PASSING not in cited  # 理论宣讲 once, in its fourth sentence of six


def test_a_digest_shows_only_its_item_about_the_topic_even_as_whole_articles(passing_service, tmp_path):
    dossier = compile_dossier(passing_service, TOPIC, "2023-12", "2023-12")
    assert DIGEST in [e.citation for e in dossier.entries]
    _texts, entries = docx_entries(write(dossier, tmp_path / "汇编.docx"))
    assert entries[DIGEST] == ["百名青年讲师开展理论宣讲",
                               "省委宣传部组织百名青年讲师深入基层开展理论宣讲，已宣讲320场，听众4万人次。"]
    assert len(entries[ABOUT]) == 2  # an article that is not a digest stays whole
