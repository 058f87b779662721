"""Filters understood from questions, and retrieval over the shipped sample issue."""

from __future__ import annotations

import pytest

from bulletin_bot.retrieval import parse_filters

SECTIONS = ["上情下达", "经验交流", "学习动态"]


@pytest.mark.parametrize(
    "question, issue, date_from, date_to, section, rest",
    [
        ("第455期讲了什么", 455, None, None, None, "讲了什么"),
        ("第 455 期 经验交流栏目", 455, None, None, "经验交流", ""),
        ("2023年12月省委常委会传达了什么", None, "2023-12-01", "2024-01-20", None, "省委常委会传达了什么"),
        ("2024年以来的理论宣讲", None, "2024-01-01", None, None, "的理论宣讲"),
        ("2023年5月1日开钻的超深井", None, "2023-05-01", "2023-05-08", None, "开钻的超深井"),
        ("2023年上半年 中欧班列", None, "2023-01-01", "2023-07-20", None, "中欧班列"),
        ("【学习动态】新质生产力", None, None, None, "学习动态", "新质生产力"),
        ("要闻栏目", None, None, None, None, "要闻栏目"),  # not a section of this index: left as words
        ("2023年13月的会议", None, "2023-01-01", "2024-01-20", None, "13月的会议"),
    ],
)
def test_filters_from_question(question, issue, date_from, date_to, section, rest):
    filters, remaining = parse_filters(question, SECTIONS)
    assert (filters.issue, filters.date_from, filters.date_to, filters.section) == (issue, date_from, date_to, section)
    assert remaining == rest
