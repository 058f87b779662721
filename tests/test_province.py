"""`benchmarks/province.py`: the synthetic issues it writes are read back as the issues it meant."""

from __future__ import annotations

import sys
from pathlib import Path

from bulletin_bot.parsing import parse_bytes
from conftest import SHARED, needs_shared

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from province import article_pool, make_archive  # noqa: E402


@needs_shared()
def test_recombined_issues_parse_into_their_articles(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    for f in sorted((SHARED / "corpus/xwlb/issues").glob("*.txt"))[:3]:
        (shared / f.name).symlink_to(f)
    pool = article_pool(shared)
    assert len(pool) >= 16
    folder = tmp_path / "archive"
    assert make_archive(folder, 3, pool) == 3
    files = sorted(folder.glob("*.txt"))
    issues = [parse_bytes(f.read_bytes(), f.name) for f in files]
    assert [i.number for i in issues] == [1, 1, 1]  # three counties' first issues
    assert len({i.series for i in issues}) == 3
    for issue in issues:
        county = issue.series.removesuffix("工作简报")
        assert 8 <= len(issue.articles) <= 16
        assert all(a.title.startswith(f"{county}：") for a in issue.articles)
        source = {title: text for _s, title, text in pool}
        for a in issue.articles:
            assert a.text == source[a.title.removeprefix(f"{county}：")]


def test_recall_by_passage_counts_another_copy_of_a_passage_as_found():
    """`benchmarks/ann_recall.py`: exact search's top 10 may be copies of one passage printed in
    many series; returning other copies of the same passages is recall by passage, not by chunk."""
    import numpy as np
    from ann_recall import passage_recall

    from bench import _recall

    truth_ids, found_ids = np.array([[1, 2, 3, 4]]), np.array([[1, 12, 13, 99]])
    keys = {1: "a", 2: "b", 3: "b", 4: "c", 12: "b", 13: "c", 99: "z"}  # 12 and 13: copies of b and c
    as_keys = np.vectorize(keys.get, otypes=[object])
    assert _recall(found_ids, truth_ids, 4) == 0.25
    assert passage_recall(as_keys(found_ids), as_keys(truth_ids)) == 1.0  # a, b, c all found
    assert passage_recall(as_keys(np.array([[99, 99, 99, 1]])), as_keys(truth_ids)) == 1 / 3
