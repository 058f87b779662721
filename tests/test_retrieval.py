"""Filters understood from questions, and retrieval over the shipped sample issue."""

from __future__ import annotations

import pytest

from datetime import date

from bulletin_bot.ranking import parse_question

SECTIONS = ["上情下达", "经验交流", "学习动态"]
NEWEST = date(2024, 12, 31)  # the newest indexed issue, for "最近一期"
TODAY = date(2026, 12, 1)


@pytest.mark.parametrize(
    "question, issue, date_from, date_to, section, rest",
    [
        # restrictions: the question names which bulletins to search
        ("第455期讲了什么", 455, None, None, None, "讲了什么"),
        ("第 455 期 经验交流栏目", 455, None, None, "经验交流", ""),
        ("2023年12月的简报里泗洪县有什么经验", None, "2023-12-01", "2023-12-31", None, "里泗洪县有什么经验"),
        ("2023年12月简报 泗洪县", None, "2023-12-01", "2023-12-31", None, "泗洪县"),
        ("最近一期简报讲了什么", None, "2024-12-31", "2024-12-31", None, "讲了什么"),
        ("上个月的简报有哪些", None, "2026-11-01", "2026-11-30", None, "有哪些"),
        ("【学习动态】新质生产力", None, None, None, "学习动态", "新质生产力"),
        ("要闻栏目", None, None, None, None, "要闻栏目"),  # not a section of this index: left as words
        # dates as content: they stay in the question and restrict nothing
        ("2023年12月省委常委会传达了什么", None, None, None, None, "2023年12月省委常委会传达了什么"),
        ("2023年全国铁路旅客发送量", None, None, None, None, "2023年全国铁路旅客发送量"),
        ("到2035年江苏要建成什么", None, None, None, None, "到2035年江苏要建成什么"),
        ("《规划（2024—2028年）》提出什么", None, None, None, None, "《规划（2024—2028年）》提出什么"),
    ],
)
def test_restrictions_from_question(question, issue, date_from, date_to, section, rest):
    pq = parse_question(question, SECTIONS, newest=NEWEST, today=TODAY)
    f = pq.filters
    assert (f.issue, f.date_from, f.date_to, f.section) == (issue, date_from, date_to, section)
    assert pq.text == rest


@pytest.mark.parametrize(
    "question, first, last, until",
    [
        # an event: reported within days
        ("2023年5月1日开钻的超深井", "2023-05-01", "2023-05-01", "2023-05-08"),
        # a month's figures: published the next month
        ("2023年9月全社会用电量", "2023-09-01", "2023-09-30", "2023-11-04"),
        ("2024年1-2月规上工业企业利润", "2024-01-01", "2024-02-29", "2024-04-04"),
        ("2023年前7个月实际使用外资", "2023-01-01", "2023-07-31", "2023-09-04"),
        ("2023年前三季度服务零售额", "2023-01-01", "2023-09-30", "2023-11-14"),
        ("2023年上半年 中欧班列", "2023-01-01", "2023-06-30", "2023-08-14"),
        # a year's totals: published in the first months of the next year
        ("2023年全国铁路旅客发送量", "2023-01-01", "2023-12-31", "2024-03-30"),
        # since then: open-ended
        ("2024年以来的理论宣讲", "2024-01-01", None, None),
        # figures as of a date are reported after it
        ("截至2023年底全国共有多少名少先队员", "2023-12-31", "2024-06-28", None),
        ("截至2024年6月末 全国充电设施", "2024-06-30", "2024-12-27", None),
    ],
)
def test_content_dates_are_evidence_windows(question, first, last, until):
    pq = parse_question(question, SECTIONS, newest=NEWEST, today=TODAY)
    assert not pq.filters.any() and pq.text == question
    (w,) = pq.windows
    iso = lambda d: d.isoformat() if d else None  # noqa: E731
    assert (iso(w.first), iso(w.last), iso(w.until)) == (first, last, until)


@pytest.mark.parametrize("question", ["到2035年基本实现", "2030年前碳达峰", "《规划（2024—2028年）》", "十五五时期"])
def test_targets_and_plan_periods_are_never_dates(question):
    pq = parse_question(question, SECTIONS, newest=NEWEST, today=TODAY)
    assert pq.windows == () and not pq.filters.any()


def test_full_width_digits_and_letters_from_a_pdf_match_typed_ones() -> None:
    from bulletin_bot.text import search_tokens

    assert search_tokens("２０２３年ＡＩ赋能　红书房") == search_tokens("2023年AI赋能 红书房")
    assert "2023" in search_tokens("２０２３年")


def test_bm25_ranks_the_document_holding_the_rare_words_first() -> None:
    from bulletin_bot.bm25 import BM25Index
    from bulletin_bot.text import search_tokens

    docs = ["泗洪县打造洪轩理理论品牌", "全省经济工作会议召开", "红书房建设覆盖全县", "会议要求抓好经济工作"]
    index = BM25Index.build([search_tokens(d) for d in docs])
    scores = index.scores(search_tokens("红书房建了多少个"))
    assert scores.argmax() == 2 and scores[0] == scores[1] == 0
    assert index.scores(["没有的词"]).tolist() == [0, 0, 0, 0]


class _Crowded:
    """The hash embedder with every vector pulled towards one direction: cosines of unrelated
    texts crowd near 0.9, as e5's do, while their order is the hash embedder's."""

    cheap = True

    def __init__(self) -> None:
        import numpy as np

        from bulletin_bot.embedding import HashEmbedder

        self.inner = HashEmbedder()
        self.dimension = self.inner.dimension
        self.model_id = "hash-crowded-test"
        self.common = np.ones(self.dimension, dtype=np.float32) / np.sqrt(self.dimension)

    def _pull(self, vectors):
        import numpy as np

        from bulletin_bot.embedding import normalise

        return normalise(3.0 * self.common + np.asarray(vectors, dtype=np.float32))

    def embed_passages(self, texts, batch_size=64, progress=None):
        return self._pull(self.inner.embed_passages(texts, batch_size, progress))

    def embed_query(self, text):
        return self._pull(self.inner.embed_query(text)[None, :])[0]


def test_dense_lift_means_the_same_for_a_model_whose_cosines_crowd_together(tmp_path):
    """The second stage and the "not found" rule weigh a dense lift; rescaled by the model's own
    spread, a model like e5 (unrelated text at cosine 0.86 ± 0.02) is judged like static-zh."""
    import shutil

    from bulletin_bot.config import Settings
    from bulletin_bot.embedding import HashEmbedder
    from bulletin_bot.ranking import RetrievalSettings, retrieve
    from bulletin_bot.service import BulletinService
    from conftest import SAMPLE

    lifts = {}
    for name, embedder in (("plain", HashEmbedder()), ("crowded", _Crowded())):
        corpus = tmp_path / name / "corpus"
        corpus.mkdir(parents=True)
        shutil.copy(SAMPLE, corpus / SAMPLE.name)
        service = BulletinService(Settings(corpus=corpus, index=tmp_path / name / "index",
                                           cache=tmp_path / "cache", model="hash"), embedder=embedder)
        service.reindex()
        index = service._current()
        result = retrieve(index, embedder, "泗洪县理论宣讲的做法", RetrievalSettings())
        lifts[name] = result.hits[0].lift
        if name == "crowded":
            assert index.dense_spread < 0.5 * service_spread
        else:
            service_spread = index.dense_spread
    assert lifts["plain"] > 0.05
    assert 0.5 < lifts["crowded"] / lifts["plain"] < 2.0


def test_a_broad_restriction_reads_vectors_in_bounded_blocks(sample_service, monkeypatch):
    """A restricted search reads the allowed vectors a block at a time, never all at once: at
    2.4M chunks a copy of every allowed vector would be gigabytes per question."""
    import numpy as np

    from bulletin_bot.ranking import first_stage as retrieval

    index = sample_service._current()
    qvec = np.asarray(sample_service.embedder(index.manifest).embed_query("理论宣讲"), dtype=np.float32)
    allowed = np.arange(len(index.chunks))
    exact = np.argsort(-(np.asarray(index.vectors) @ qvec), kind="stable")[:5]
    read: list[int] = []

    class Counting:
        def __init__(self, inner):
            self.inner = inner

        def __getitem__(self, rows):
            read.append(len(rows))
            return self.inner[rows]

    monkeypatch.setattr(retrieval, "SCAN_BLOCK", 8)
    monkeypatch.setattr(index, "vectors", Counting(index.vectors))
    top = retrieval._dense_top(index, qvec, allowed, 5)
    assert len(allowed) > 8 * 4 and read and max(read) <= 8
    assert top.tolist() == exact.tolist()
