"""Topics of long multi-subject reports (issue 19 item 7), and the judged sample's floor.

A government work report covers every subject; health is one paragraph or a few
sentences of it.  Its health topics come from those passages, not from density over the
whole text.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from indexer.meta import extract_meta
from indexer.meta.topics import extract_topics, health_passages, load_taxonomy, taxonomy
from indexer.models import Article

ROOT = Path(__file__).resolve().parents[2]
CORPORA = ROOT.parent / "shared" / "corpora"
NATIONAL = CORPORA / "national-gov-work-reports" / "government_work_reports.jsonl"
PROVINCIAL = sorted((CORPORA / "provincial-gov-reports-2026").glob("*.csv"))

# ~16,000 characters about everything but health (as in a real report's other chapters)
_OTHER = (
    "（一）推动经济持续回升向好。全年地区生产总值增长5.5%，规模以上工业增加值增长6.1%，固定资产投资增长4.3%。"
    "扎实推进重大项目建设，新开工亿元以上项目1200个，民间投资占比提高到55%。\n"
    "（二）加快建设现代化产业体系。培育壮大新能源汽车、集成电路、人工智能等产业集群，建设省级先进制造业基地15个，"
    "数字经济核心产业增加值占比达到10%。实施企业技术改造升级行动，完成技改项目3000个。\n"
    "（三）全面推进乡村振兴。粮食总产量稳定在350亿斤以上，新建高标准农田200万亩，农村居民人均可支配收入增长7%。"
    "深化农村集体产权制度改革，发展壮大新型农村集体经济。\n"
    "（四）扩大高水平对外开放。外贸进出口总额增长5.6%，实际使用外资160亿美元，自贸试验区新增制度创新成果40项。\n"
) * 48
_REFORM = ("深化医药卫生体制改革。推动公立医院改革与高质量发展，加快紧密型县域医共体建设，促进分级诊疗，"
           "提升基层医疗卫生服务能力。\n")
_TITLE = "2026年某省政府工作报告"


def test_a_government_report_with_a_paragraph_on_reform_gets_the_reform_topic() -> None:
    half = _OTHER.index("\n", len(_OTHER) // 2) + 1
    text = _OTHER[:half] + _REFORM + _OTHER[half:]
    assert len(text) > 15000 and text.count("医") < 10  # density over the whole text is tiny
    assert "医药卫生体制改革" in extract_topics(_TITLE, text)
    # and through the product's entry point
    assert "医药卫生体制改革" in extract_meta(Article(title=_TITLE, text=text), {}).topics
    # without the paragraph there is no such topic: the other chapters' 改革 does not count
    assert "医药卫生体制改革" not in extract_topics(_TITLE, _OTHER)


def test_the_health_paragraph_is_found_as_a_passage() -> None:
    block = _OTHER[: _OTHER.index("\n", 3000) + 1]
    text = block + _REFORM + block
    passages = health_passages(text)
    assert passages == [_REFORM.strip()]


def test_a_word_in_a_list_of_every_subject_is_no_passage() -> None:
    # the naming term sits in a long sentence that lists every line of policy
    slogan = ("会议要求，坚持稳中求进工作总基调，完整、准确、全面贯彻新发展理念，加快构建新发展格局，着力推动高质量发展，"
              "更好统筹国内国际两个大局，更好统筹疫情防控和经济社会发展，更好统筹发展和安全，全面深化改革开放，"
              "大力提振市场信心，突出做好稳增长、稳就业、稳物价工作。\n")
    assert health_passages(slogan) == []
    assert extract_topics("关于政府工作报告的决议", _OTHER[:2000] + slogan) == []
    # the same term in a sentence of its own is a passage
    own = "坚持常态化疫情防控，做好外防输入、内防反弹工作，有序推进疫苗接种。\n"
    assert extract_topics("关于政府工作报告的决议", _OTHER[:2000] + own) == ["疫情防控"]


def test_non_health_topics_are_not_taken_from_a_report_about_everything() -> None:
    party = ("全面加强政府党建工作，落实全面从严治党主体责任，加强基层党组织建设，严格落实三会一课制度，"
             "扎实开展主题教育，加强党风廉政建设。\n")
    got = extract_topics(_TITLE, _OTHER + party * 3 + _REFORM)
    assert "党建" not in got and "医药卫生体制改革" in got
    # in a health bureau's own report the same section is a topic
    assert "党建" in extract_topics("县卫生局2020年工作总结", party * 3 + _REFORM * 2)


def test_health_flag_in_the_taxonomy_is_validated(tmp_path: Path) -> None:
    bad = tmp_path / "t.toml"
    bad.write_text('[[topic]]\nname = "a"\nhealth = "no"\nterms = { "甲乙" = 1 }\n', encoding="utf-8")
    with pytest.raises(ValueError):
        load_taxonomy(bad)
    bad.write_text('[long_reports]\nhealth_words = "医疗"\n[[topic]]\nname = "a"\nterms = { "甲乙" = 1 }\n', encoding="utf-8")
    with pytest.raises(ValueError):
        load_taxonomy(bad)


# -- the shared corpora -------------------------------------------------------------------

#: The independent definition of "has a health paragraph" (it does not use the taxonomy):
#: a paragraph (the text between two line breaks) in which these words occur at least
#: three times, at least two of them different.  健康 is left out on purpose: government
#: reports use it mostly for "healthy development".
HEALTH_WORDS = ("医疗", "卫生", "医院", "医保", "医药", "疾病", "药品", "疫苗", "防疫", "医生", "传染病", "诊疗")


def has_health_paragraph(text: str) -> bool:
    for para in text.split("\n"):
        counts = [para.count(w) for w in HEALTH_WORDS]
        if sum(counts) >= 3 and sum(1 for c in counts if c) >= 2:
            return True
    return False


def _records() -> list[tuple[str, str, str]]:
    out = []
    for line in NATIONAL.read_text(encoding="utf-8").splitlines():
        if line.strip():
            r = json.loads(line)
            out.append(("national", r["title"], r["content"]))
    csv.field_size_limit(1 << 30)
    for p in PROVINCIAL:
        with open(p, encoding="utf-8-sig", newline="") as fh:
            out += [("provincial", r["title"], r["full_text"]) for r in csv.DictReader(fh)]
    return out


@pytest.mark.skipif(not NATIONAL.exists(), reason="../shared not present")
def test_every_corpus_report_with_a_health_paragraph_gets_a_health_topic() -> None:
    from indexer.meta.evaluate_topics import load_reports

    tax = taxonomy()
    health = {n for i, n in enumerate(tax.names) if i not in tax.not_health}
    indexed = load_reports(CORPORA)  # through cleaning and extract_meta, as the index sees them
    records = _records()
    with_paragraph = [(c, t) for c, t, x in records if has_health_paragraph(x)]
    assert len(with_paragraph) >= 60  # the definition finds most reports (71 of 103 when written)
    missing = [t for c, t in with_paragraph if not set(indexed[(c, t)].topics) & health]
    assert missing == []


@pytest.mark.skipif(not NATIONAL.exists(), reason="../shared not present")
def test_judged_sample_meets_its_floor() -> None:
    from indexer.meta.evaluate_topics import DEFAULT_JUDGMENTS, evaluate_topics

    data = json.loads(DEFAULT_JUDGMENTS.read_text(encoding="utf-8"))
    judged = data["judgments"]
    assert len(judged) >= 60
    assert sum(1 for j in judged if not j["judged"]) >= 20  # negatives are part of the sample
    lines: list[str] = []
    assert evaluate_topics(out=lines.append), "\n".join(lines)
    assert any(line.startswith("TOPICS precision") for line in lines)
