"""A small archive for conversation tests, where a follow-up's right answer is checkable.

The same kind of report for two provinces (山东 and 广东 GDP) in two years (2021 figures in
第102期, 2022 figures in 第103期), the same kind of practice in two places (昆山市 and 徐州市
垃圾分类), one subject to ask further about (长江十年禁渔: when it began, how it went), and
one asked further in words of its own beside a report those words alone would find (西部计划
岗位 beside a job fair's 岗位); a disaster whose relief money the report words differently from
a chat's 拨钱, and two letters of one person (他还给哪些工人回过信).
"""

from __future__ import annotations

from pathlib import Path

from bulletin_bot.config import Settings
from bulletin_bot.embedding import HashEmbedder
from bulletin_bot.service import BulletinService
from test_ranking import bulletin


GDP = "{p}省统计局发布，{y}年{p}全省地区生产总值（GDP）{v}亿元，按不变价格计算，比上年增长{g}%。"
ARCHIVE = {
    "101.txt": bulletin(101, "2023-03-12", [
        ("经验交流", "昆山市：垃圾分类进小区", "昆山市推行垃圾分类积分制，居民投放可回收物可兑换生活用品。"
                                     "全市已有八百个小区实行定时定点投放，分类准确率达到九成。"),
        ("经验交流", "徐州市：垃圾分类督导员上岗", "徐州市招募垃圾分类督导员，在投放点开展现场指导。"
                                       "督导员由社区党员和志愿者担任，每天早晚各值守两小时。"),
        ("学习动态", "省委理论学习中心组开展专题学习", "省委理论学习中心组围绕新质生产力开展专题学习，交流研讨发展思路。"),
    ]),
    "102.txt": bulletin(102, "2022-02-20", [
        ("综合报道", "山东发布2021年经济运行情况", GDP.format(p="山东", y=2021, v="83096", g="8.3")),
        ("综合报道", "广东发布2021年经济运行情况", GDP.format(p="广东", y=2021, v="124370", g="8.0")),
    ]),
    "103.txt": bulletin(103, "2023-02-18", [
        ("综合报道", "山东发布2022年经济运行情况", GDP.format(p="山东", y=2022, v="87435", g="3.9")),
        ("综合报道", "广东发布2022年经济运行情况", GDP.format(p="广东", y=2022, v="129119", g="1.9")),
    ]),
    "104.txt": bulletin(104, "2023-06-05", [
        ("综合报道", "长江十年禁渔取得阶段性成效", "长江十年禁渔自2021年1月1日起全面实施。"
                                           "三年多来，长江干流鱼类资源明显恢复，江豚出现频次显著增加。"),
    ]),
    "105.txt": bulletin(105, "2023-07-10", [
        ("综合报道", "大学生志愿服务西部计划启动招募", "2023年大学生志愿服务西部计划面向全国高校招募志愿者两万名。"
                                           "计划为志愿者提供服务岗位三千个，覆盖基层教育、农业技术、医疗卫生等领域。"),
        ("综合报道", "春季招聘会走进高校", "春季招聘会在省会举行，三百家用人单位进场招聘。"
                                  "现场提供就业岗位一万余个，吸引毕业生八千余人次。"),
    ]),
    "106.txt": bulletin(106, "2023-08-01", [
        ("综合报道", "镇雄县山体滑坡救援持续进行", "1月22日，镇雄县塘房镇发生山体滑坡，47人被埋失联。"
                                          "财政部、应急管理部紧急预拨中央自然灾害救灾资金5000万元，支持抢险救援。"),
        ("学习动态", "习近平给东北大学老教授和师生代表回信", "习近平给东北大学老教授和师生代表回信，勉励他们"
                                                "扎根东北、服务国家战略。"),
        ("学习动态", "习近平给李志强班职工回信", "习近平给中国一重李志强班职工回信，勉励一线工人"
                                     "弘扬工匠精神，在铸造大国重器中再立新功。"),
    ]),
}


def write_archive(corpus: Path) -> None:
    corpus.mkdir(parents=True, exist_ok=True)
    for name, text in ARCHIVE.items():
        (corpus / name).write_text(text, encoding="utf-8")


def conversation_service(base: Path) -> BulletinService:
    """The archive above indexed with the small test embedder."""
    corpus = base / "corpus"
    write_archive(corpus)
    settings = Settings(corpus=corpus, index=base / "index", cache=base / "cache", model="hash")
    service = BulletinService(settings, embedder=HashEmbedder())
    report = service.reindex()
    assert report.issues == len(ARCHIVE) and not report.problems, report
    return service
