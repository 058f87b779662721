"""Text -> Issue: the seed issue, the three masthead styles, titles with and without a contents
list, page-break repair, folders, duplicates and the JSON/outline views."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bulletin_bot.corpus import corpus_files, duplicate_key, scan
from bulletin_bot.errors import ParseError
from bulletin_bot.parsing import (
    SUPPORTED_SUFFIXES,
    format_outline,
    issue_to_json,
    parse_bytes,
    parse_text,
    read_issue,
)

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "corpus" / "455.txt"

SEED_TITLES = (
    "省委常委会召开扩大会议 传达学习习近平总书记考察盐城重要指示精神和 深入推进长三角一体化发展座谈会精神",
    "泗洪县：打造“洪轩理”理论品牌 筑牢基层理论武装根基",
    "无锡、徐州、连云港市委理论学习中心组 开展交流学习研讨",
)

# A small bulletin of our own making, in the one-line masthead style with no contents page.
ONE_LINE = """测试工作简报（第12期）

测试办公室                2024年3月5日

【要闻】

【专题调研】新区：建设智慧园区 服务企业发展

新区近日召开专题会议，部署智慧园区建设工作。会议要求各部门加强协作，

提升服务水平，确保各项任务按期完成。

园区负责人表示，将继续优化营商环境。

简讯汇编（城东完成道路改造等）

城东完成道路改造

城东片区道路改造工程近日全面完工，通行条件明显改善。

城西新建两所学校

城西片区两所新建学校已完成主体施工，预计秋季开学投入使用。

【综合报道】

全市开展春季植树活动

3月5日，全市各级机关干部职工参加义务植树活动，共栽种树苗一万余株。

活动现场气氛热烈，大家分工协作，挖坑、扶苗、培土、浇水。

第二季度重点工作安排出台

近日，市里印发第二季度重点工作安排，明确了十项重点任务。

送：各成员单位

发：各区县

测试办公室
"""


@pytest.fixture(scope="module")
def seed():
    return read_issue(SEED)


def test_seed_masthead(seed):
    assert seed.series == "建设学习型党组织、学习型领导班子 工作简报"
    assert seed.number == 455
    assert seed.date == "2023-12-10"
    assert seed.office == "协调小组办公室"
    assert seed.encoding == "utf-8"
    assert seed.sections == ("上情下达", "经验交流", "学习动态")


def test_seed_articles_use_body_titles_and_keep_headings(seed):
    assert tuple(a.title for a in seed.articles) == SEED_TITLES
    assert tuple(a.section for a in seed.articles) == seed.sections
    assert tuple(a.index for a in seed.articles) == (1, 2, 3)
    assert tuple(len(a.paragraphs) for a in seed.articles) == (5, 7, 6)
    # numbered sub-headings stay paragraphs of their article
    assert "一、探索“三学”机制，实施理论学习提质行动" in seed.articles[1].paragraphs


def test_seed_page_breaks_repaired(seed):
    first, second, third = (a.text for a in seed.articles)
    assert "要求我们走在前、做示范，再到这次强调" in first
    assert "以高标准理论阵地建设为支撑，提升基层理论武装工作" in second
    assert "中国科学技术发展战略研究院副院长郭戎作专题讲座。" in third
    assert "深刻领会“走在前、做示范”重大定位" in third
    for article in seed.articles:
        for paragraph in article.paragraphs:
            assert paragraph.strip() == paragraph and "\n" not in paragraph


def test_seed_footer_kept_out_of_articles(seed):
    assert seed.footer == ("送：省协调小组成员单位、省级机关各部委办厅局", "发：各设区市委宣传部、组织部", "协调小组办公室")
    for article in seed.articles:
        assert "送：" not in article.text and "发：各设区" not in article.text
    assert seed.articles[-1].paragraphs[-1].endswith("推动事业发展打开新局面、实现新突破。")


def test_one_line_masthead_without_contents():
    issue = parse_text(ONE_LINE, "12.txt")
    assert (issue.series, issue.number, issue.date, issue.office) == ("测试工作简报", 12, "2024-03-05", "测试办公室")
    assert issue.sections == ("要闻", "综合报道")
    assert [(a.section, a.title) for a in issue.articles] == [
        ("要闻", "【专题调研】新区：建设智慧园区 服务企业发展"),
        ("要闻", "简讯汇编（城东完成道路改造等）"),
        ("综合报道", "全市开展春季植树活动"),
        ("综合报道", "第二季度重点工作安排出台"),
    ]
    first, digest, planting, _ = issue.articles
    assert first.paragraphs[0] == "新区近日召开专题会议，部署智慧园区建设工作。会议要求各部门加强协作，提升服务水平，确保各项任务按期完成。"
    # a digest keeps its headlined items as paragraphs
    assert digest.paragraphs[0] == "城东完成道路改造" and "城西新建两所学校" in digest.paragraphs
    assert len(planting.paragraphs) == 2
    assert issue.footer[0] == "送：各成员单位"


@pytest.mark.parametrize(
    "masthead",
    [
        "测试工作简报\n\n第 7 期\n\n测试办公室\n\n2024 年 1 月 2 日",
        "测试工作简报\n\n第7期\n\n测试办公室\n\n2024年1月2日",
        "测试工作简报（第7期）\n\n测试办公室   2024年1月2日",
        "测试工作简报\n\n第七期\n\n测试办公室\n\n二〇二四年一月二日",
        "内部资料 注意保存\n\n测试工作简报\n\n第 7 期\n\n测试办公室\n\n2024年1月2日（星期二）",
        "测试工作简报\n\n第7期\n\n测试办公室                2024-01-02",
    ],
)
def test_masthead_styles(masthead):
    body = "\n\n【要闻】\n\n一则消息\n\n这是消息的正文。\n"
    issue = parse_text(masthead + body, "x.txt")
    assert (issue.series, issue.number, issue.date, issue.office) == ("测试工作简报", 7, "2024-01-02", "测试办公室")
    assert [a.title for a in issue.articles] == ["一则消息"]


@pytest.mark.parametrize(
    "masthead, number, volume",
    [
        ("测试工作简报\n\n第12期（总第455期）\n\n测试办公室\n\n2024年1月2日", 455, ""),
        ("测试工作简报\n\n总第455期\n\n测试办公室\n\n2024年1月2日", 455, ""),
        ("测试工作简报（2024年第12期 总第455期）\n\n测试办公室   2024年1月2日", 455, ""),
        ("测试工作简报\n\n2024年第12期\n\n测试办公室\n\n2024年1月2日", 12, "2024"),
        ("测试工作简报（2024年第12期）\n\n测试办公室   2024年1月2日", 12, "2024"),
    ],
)
def test_running_and_yearly_issue_numbers(masthead, number, volume):
    """总第N期 is the number that identifies an issue; "2024年第12期" numbers it within a year."""
    issue = parse_text(masthead + "\n\n【要闻】\n\n一则消息\n\n这是消息的正文。\n", "x.txt")
    assert (issue.series, issue.number, issue.volume, issue.office) == ("测试工作简报", number, volume, "测试办公室")


def test_yearly_numbers_are_duplicates_only_within_a_year(tmp_path):
    seed = SEED.read_text(encoding="utf-8")
    for name, number, date in (("a.txt", "2023年第12期", "2023 年 12 月 10 日"),
                               ("b.txt", "2024年第12期", "2024 年 12 月 9 日"),
                               ("c.txt", "2024年第12期", "2024 年 12 月 9 日")):
        (tmp_path / name).write_text(seed.replace("第 455 期", number).replace("2023 年 12 月 10 日", date), encoding="utf-8")
    issues, problems = scan([tmp_path])
    assert [(i.number, i.date) for i in issues] == [(12, "2023-12-10"), (12, "2024-12-09")]
    assert [(Path(p.file).name, p.reason) for p in problems] == [
        ("c.txt", f"duplicate of {tmp_path / 'b.txt'} (same series and 2024年第12期)")
    ]


def test_contents_without_bullets_is_read_as_contents():
    """A Word table of contents pasted as plain lines: the same articles as with "- " bullets."""
    seed = SEED.read_text(encoding="utf-8")
    contents, body = seed.split("【上情下达】\n\n省委常委会召开", 1)
    issue = parse_text(contents.replace("- ", "") + "【上情下达】\n\n省委常委会召开" + body, "x.txt")
    assert [a.title for a in issue.articles] == list(SEED_TITLES)
    assert [len(a.paragraphs) for a in issue.articles] == [5, 7, 6]


@pytest.mark.parametrize(
    "header",
    ["- 2 -\n\n建设学习型党组织、学习型领导班子 工作简报", "工作简报 第455期", "建设学习型党组织、学习型领导班子工作简报（第455期）"],
)
def test_running_header_at_a_page_break_is_dropped(seed, header):
    """A PDF export prints the series at the top of each page, inside a cut sentence."""
    text = SEED.read_text(encoding="utf-8").replace(
        "要求我们走在前、\n\n做示范", f"要求我们走在前、\n\n{header}\n\n做示范", 1
    )
    issue = parse_text(text, "x.txt")
    assert [a.paragraphs for a in issue.articles] == [a.paragraphs for a in seed.articles]


def test_contents_titles_found_even_when_a_page_end_cuts_them():
    text = (
        "测试工作简报\n\n第 3 期\n\n测试办公室\n\n2024 年 1 月 2 日\n\n"
        "【要闻】\n\n- 市政府召开常务会议\n\n- 【一线调研】乡村振兴见闻\n\n"
        "【要闻】\n\n市政府召开常务会议\n\n会议研究了近期重点工作，部署了下一步任务。\n\n"
        "会议强调，要抓好落实，确保\n\n各项工作取得实效。\n\n"
        "【一线调研】\n\n乡村振兴见闻\n\n"
        "记者近日走进乡村，看到产业兴旺、生活富裕的新景象。\n"
    )
    issue = parse_text(text, "x.txt")
    # 【一线调研】 opens no section: the contents list knows it as the start of a title
    assert issue.sections == ("要闻",)
    assert [a.title for a in issue.articles] == ["市政府召开常务会议", "【一线调研】乡村振兴见闻"]
    assert issue.articles[0].paragraphs[-1] == "会议强调，要抓好落实，确保各项工作取得实效。"


def test_bracketed_title_tag_is_not_a_section():
    text = ONE_LINE.replace("【专题调研】新区", "【专题调研·新区建设】新区")
    issue = parse_text(text, "x.txt")
    assert issue.articles[0].title.startswith("【专题调研·新区建设】")
    assert issue.sections == ("要闻", "综合报道")


def test_unparseable_texts_name_the_file_and_reason():
    with pytest.raises(ParseError, match=r"^a\.txt: no issue number \(第N期\)"):
        parse_text("测试工作简报\n\n测试办公室\n\n2024年1月2日\n\n【要闻】\n\n标题\n\n正文。", "a.txt")
    with pytest.raises(ParseError, match=r"^b\.txt: no date"):
        parse_text("测试工作简报\n\n第 3 期\n\n测试办公室\n\n【要闻】\n\n标题\n\n正文。", "b.txt")
    with pytest.raises(ParseError, match=r"^c\.txt: no articles"):
        parse_text("测试工作简报\n\n第 3 期\n\n2024年1月2日\n\n送：各单位", "c.txt")


def test_unsupported_and_too_large(tmp_path):
    odd = tmp_path / "notes.md"
    odd.write_text("第1期", encoding="utf-8")
    with pytest.raises(ParseError, match="unsupported file type '.md'"):
        read_issue(odd)
    with pytest.raises(ParseError, match="unsupported file type"):
        parse_bytes(b"x", "notes.md")
    with pytest.raises(ParseError, match=r"unsupported file type '\.rtf' .*save it as \.docx or \.pdf"):
        parse_bytes(b"{\\rtf1 x}", "old.rtf")
    with pytest.raises(ParseError, match=r"^old\.doc: unreadable Word file"):  # .doc is read, these 4 bytes are not one
        parse_bytes(b"\xd0\xcf\x11\xe0", "old.doc")
    big = tmp_path / "455.txt"
    shutil.copy(SEED, big)
    with pytest.raises(ParseError, match=r"too large: \d+ bytes, the limit is 100"):
        read_issue(big, max_bytes=100)
    assert read_issue(big, max_bytes=10**6).number == 455
    with pytest.raises(ParseError, match="cannot read"):
        read_issue(tmp_path / "missing.txt")


def test_corpus_files_recurse_sort_and_skip_hidden(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / ".git").mkdir()
    for name in ("b/2.txt", "a.docx", "c.pdf", "notes.md", ".hidden.txt", ".git/x.txt", "b/.~lock.txt", "~$a.docx"):
        (tmp_path / name).write_bytes(b"")
    found = corpus_files([tmp_path])
    assert found == [tmp_path / "a.docx", tmp_path / "b" / "2.txt", tmp_path / "c.pdf"]
    assert all(path.suffix in SUPPORTED_SUFFIXES for path in found)
    assert corpus_files([tmp_path / "a.docx", tmp_path]) == found


def test_scan_collects_problems_and_duplicates(tmp_path):
    shutil.copy(SEED, tmp_path / "455.txt")
    shutil.copy(SEED, tmp_path / "copy-of-455.txt")  # sorts after 455.txt: the duplicate
    (tmp_path / "12.txt").write_text(ONE_LINE, encoding="gb18030")
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "junk.txt").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "nonumber.txt").write_text("测试简报\n\n2024年1月2日\n\n【要闻】\n\n标题\n\n正文。", encoding="utf-8")
    issues, problems = scan([tmp_path])
    assert sorted(i.number for i in issues) == [12, 455]
    reasons = {Path(p.file).name: p.reason for p in problems}
    assert reasons["copy-of-455.txt"] == f"duplicate of {tmp_path / '455.txt'} (same series and 第455期)"
    assert reasons["empty.txt"] == "empty file"
    assert reasons["junk.txt"].startswith("binary data")
    assert reasons["nonumber.txt"].startswith("no issue number")
    assert len(problems) == 4
    assert duplicate_key(issues[0]) != duplicate_key(issues[1])


def test_same_number_in_two_series_is_no_duplicate(tmp_path):
    shutil.copy(SEED, tmp_path / "455.txt")
    other = SEED.read_text(encoding="utf-8").replace("建设学习型党组织、学习型领导班子 工作简报", "另一种工作简报")
    (tmp_path / "other.txt").write_text(other, encoding="utf-8")
    issues, problems = scan([tmp_path])
    assert len(issues) == 2 and problems == []


def test_issue_to_json_and_outline(seed):
    data = issue_to_json(seed)
    assert json.loads(json.dumps(data, ensure_ascii=False)) == data
    assert set(data) == {"file", "series", "issue", "date", "office", "sections", "articles", "warnings"}
    assert data["warnings"] == []  # the seed reads as its contents announces
    assert (data["issue"], data["date"], data["sections"]) == (455, "2023-12-10", ["上情下达", "经验交流", "学习动态"])
    assert data["articles"][0] == {"section": "上情下达", "title": SEED_TITLES[0], "text": seed.articles[0].text}
    outline = format_outline(seed)
    lines = outline.splitlines()
    assert lines[0] == "建设学习型党组织、学习型领导班子 工作简报 第455期 2023-12-10 协调小组办公室"
    assert lines[1] == "【上情下达】"
    assert lines[2].startswith("  1. 省委常委会召开扩大会议") and "(5 paragraphs," in lines[2]
    assert "【学习动态】" in lines


# ------------------------------------------------------------------ layouts beyond the shared corpus


def test_contents_without_sections_numbered_entries_and_editor_footer():
    text = (
        "测试工作简报\n\n第 8 期\n\n测试办公室\n\n2024 年 2 月 3 日\n\n目录\n\n"
        "1. 市政府召开常务会议\n\n2. 乡村振兴见闻\n\n"
        "【 要 闻 】\n\n市政府召开常务会议\n\n会议研究了近期重点工作。\n\n"
        "乡村振兴见闻\n\n记者近日走进乡村，看到产业兴旺的新景象。\n\n"
        "- 2 -\n\n第 2 页 共 2 页\n\n"
        "编辑：张三　审核：李四\n\n（共印50份）\n"
    )
    issue = parse_text(text, "x.txt")
    assert issue.sections == ("要闻",)
    assert [a.title for a in issue.articles] == ["市政府召开常务会议", "乡村振兴见闻"]
    assert issue.articles[1].paragraphs == ("记者近日走进乡村，看到产业兴旺的新景象。",)
    assert issue.footer == ("编辑：张三　审核：李四", "（共印50份）")


def test_page_number_lines_are_dropped_but_cut_numbers_kept():
    text = (
        "测试工作简报\n\n第 8 期\n\n测试办公室\n\n2024 年 2 月 3 日\n\n【要闻】\n\n一则消息\n\n"
        "会议要求，到2024年底完成第\n\n- 3 -\n\n19\n\n项任务。\n"
    )
    issue = parse_text(text, "x.txt")
    assert issue.articles[0].paragraphs == ("会议要求，到2024年底完成第19项任务。",)


def test_a_word_cut_by_a_page_end_is_joined_not_taken_for_a_title():
    """"…主要负" / "责同志…": only the word dictionary shows the cut (the line is headline-shaped)."""
    text = (
        "测试工作简报（第3期）\n测试办公室    2024年4月1日\n【要闻】\n园区召开安全生产工作会议\n"
        "4月1日，园区召开安全生产工作会议，部署近期重点工作。会议强调，要认真落实各项部署。\n"
        "园区管委会和各街道主要负\n责同志参加会议，并就下一步工作作了交流发言。\n"
    )
    issue = parse_text(text, "3.txt")
    assert [a.title for a in issue.articles] == ["园区召开安全生产工作会议"]
    assert issue.articles[0].paragraphs[-1] == "园区管委会和各街道主要负责同志参加会议，并就下一步工作作了交流发言。"


def test_hard_wrapped_text_export_is_reflowed():
    from bulletin_bot.readers.base import width as _width

    def wrap(text: str, column: int = 35) -> str:
        out = []
        for line in text.split("\n"):
            line = line.strip()
            if len(line) > 30 and line[-1] in "。”":
                line = "\u3000\u3000" + line  # paragraphs indented two full-width spaces
            current = ""
            for ch in line:
                if _width(current + ch) > column:
                    out.append(current)
                    current = ""
                current += ch
            out.append(current)
        return "\n".join(out)

    seed = read_issue(SEED)
    wrapped = wrap(SEED.read_text(encoding="utf-8"))
    for variant in (wrapped, "\n".join(line for line in wrapped.split("\n") if line.strip())):
        issue = parse_bytes(variant.encode("utf-8"), "wrapped.txt")
        assert [a.title for a in issue.articles] == list(SEED_TITLES)
        assert [[p.replace(" ", "") for p in a.paragraphs] for a in issue.articles] == [
            [p.replace(" ", "") for p in a.paragraphs] for a in seed.articles
        ]


def test_a_digest_whose_title_lost_a_space_keeps_its_parts():
    """A title broken by hand at a space and joined again has lost the space; the people it
    lists are still sub-headings of one article, not articles of their own."""
    text = (
        "测试工作简报（第3期）\n测试办公室    2024年4月1日\n【综合报道】\n"
        "【代表风采】陈玲玲：执着前行探索人类基因奥秘 赵亚夫：把论文写在祖国大地上\n"
        "今天的代表风采，我们来认识研究员陈玲玲和研究员赵亚夫。\n"
        "陈玲玲：执着前行 探索人类基因奥秘\n陈玲玲是国际上早期从事长非编码核糖核酸研究的科学家之一。\n"
        "赵亚夫：把论文写在祖国大地上\n赵亚夫扎根农村60年，推广有机农业技术。\n"
    )
    issue = parse_text(text, "3.txt")
    assert len(issue.articles) == 1
    assert issue.articles[0].paragraphs[-1] == "赵亚夫扎根农村60年，推广有机农业技术。"
