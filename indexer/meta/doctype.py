"""Document-type facet, from the title first and the text's structure second.

Types (``DOC_TYPES``):
    工作总结      a report on work done (总结, 小结, 回顾)
    工作计划      work to be done (计划, 要点, 打算, 安排, 规划)
    工作汇报      a report to superiors (汇报, 情况报告, 述职) — when the title does not say 总结
    经验交流材料  experience-sharing material (经验交流, 交流材料, 典型材料, 经验介绍)
    讲话          speeches (讲话, 致辞, 发言)
    实施方案      implementation plans (实施方案, 工作方案, 活动方案)
    政府工作报告  a government's annual work report to its people's congress
    决议          a congress resolution (关于政府工作报告的决议) — added so resolutions
                  are neither reports nor lost in 其他
    其他          anything else

A titled text whose title names no type is typed by its vocabulary only when it reads as a
report (``reads_as_report``: 我局/我县… and no reporter or agency marks): news about work
uses the same words (确保, 取得了) and would otherwise fill 工作计划 and 工作总结.

The title decides when it names a type (003's title says 总结 although its text says
汇报如下 → 工作总结).  Without a title the text's own vocabulary decides (a plan says
力争, 年内完成, 工作措施; a summary says 取得了, 截至目前; a speech says 同志们); the
page heading, which on 文库 pages often belongs to another document, only breaks ties.
"""
from __future__ import annotations

import logging
import re

from ..clean.pageinfo import find_news_marks
from .textutil import fold_width

log = logging.getLogger(__name__)

DOC_TYPES = ("工作总结", "工作计划", "工作汇报", "经验交流材料", "讲话", "实施方案", "政府工作报告", "决议", "其他")

# (type, title pattern).  Position in the title decides between several (总结和计划 → 总结).
_TITLE_RULES: list[tuple[str, re.Pattern[str]]] = [
    ("决议", re.compile(r"决议")),
    ("政府工作报告", re.compile(r"政府工作报告|人民政府工作报告")),
    ("经验交流材料", re.compile(r"经验交流|交流材料|经验材料|典型材料|经验介绍|典型发言|交流发言")),
    ("实施方案", re.compile(r"实施方案|工作方案|活动方案|行动方案")),
    ("讲话", re.compile(r"讲话|致辞|发言|报告会上的")),
    ("工作总结", re.compile(r"总结|小结|工作回顾")),
    ("工作计划", re.compile(r"计划|工作要点|工作打算|工作安排|工作思路|规划")),
    ("工作汇报", re.compile(r"汇报|情况报告|情况的报告|工作报告|述职|工作(?:开展|进展|落实|完成)?情况$")),
]
# Specific types beat generic words appearing earlier (交流材料 beats 总结 in one title).
_TITLE_PRIORITY = {"决议": 0, "政府工作报告": 1, "经验交流材料": 2, "实施方案": 3}

_STRUCT: dict[str, list[tuple[re.Pattern[str], float]]] = {
    "工作计划": [
        (re.compile(r"力争|年内(?:完成|新|计划)|工作措施|工作目标|主要任务|目标任务|计划|拟|将(?:继续|进一步|全面|加快|着力)|要(?:进一步|切实|继续)|确保"), 1.0),
        (re.compile(r"继续|进一步|加快|积极|逐步"), 0.3),
    ],
    "工作总结": [
        (re.compile(r"取得了|完成了|开展了|截[止至]目前|截[止至]\d|以来|成效|成绩|共计|累计|已(?:完成|建立|开展)"), 1.0),
        (re.compile(r"存在(?:的)?问题|不足"), 0.5),
    ],
    "讲话": [(re.compile(r"同志们|各位领导|讲几点意见|谢谢大家"), 3.0)],
    "工作汇报": [(re.compile(r"汇报如下|现将.{0,20}汇报|汇报.{0,6}如下"), 3.0)],
    "经验交流材料": [(re.compile(r"几点体会|主要体会|体会之|经验做法|主要做法"), 2.5)],
    "政府工作报告": [(re.compile(r"我代表(?:\S{0,12})(?:人民政府|国务院)|向大会报告"), 6.0)],
}


# The generic vocabulary of summaries and plans (取得了, 确保, 将进一步) is also the vocabulary of
# news about work.  A report speaks as the institution (我局, 本县); a news item speaks
# about it and names its reporter or agency.  Where a title exists and names no type, that
# vocabulary counts only in the institution's voice and without a news item's marks (found
# on the whole page by ``indexer.clean.pageinfo.find_news_marks``, since cleaning removes
# bylines and datelines; looked for in the text too, for texts that arrive without a page).
_VOICE = re.compile(r"我(?:局|县|市|区|院|镇|乡|委|厅|省|州|旗|盟|中心|所|站|单位|科|校|处|室)"
                    r"|本(?:县|市|区|局|院|单位|中心|镇|乡|委|所|站)")
_GENERIC = ("工作总结", "工作计划")


def reads_as_report(text: str, news: bool = False) -> bool:
    """Whether a text speaks as an institution reporting on its work rather than as news about it:
    at least two 我局/本县… (not 我们: news quotes people) and no reporter, agency or 原标题 mark (``news``: the page had one)."""
    return not news and len(_VOICE.findall(text or "")) >= 2 and not find_news_marks([text or ""])


def _from_title(title: str) -> str | None:
    best: tuple[int, int, str] | None = None
    for t, pat in _TITLE_RULES:
        m = pat.search(title)
        if m:
            key = (_TITLE_PRIORITY.get(t, 9), m.start(), t)
            if best is None or key < best:
                best = key
    return best[2] if best else None


def extract_doc_type(title: str | None, text: str | None, heading: str | None = None, *,
                     news: bool = False, require_voice: bool = True) -> str:
    """One of ``DOC_TYPES``; ``其他`` when neither title nor structure says. Never raises.

    ``require_voice=False`` is the rule before ``reads_as_report`` (vocabulary counted for
    every text), kept for the evaluation's comparison (``indexer.meta.evaluate_doctypes``).
    """
    try:
        return _extract(fold_width(title), fold_width(text), fold_width(heading), news, require_voice)
    except Exception as exc:  # noqa: BLE001 - documented never to raise: a facet must not break indexing
        log.debug("doc type extraction failed: %r", exc)
        return "其他"


def title_doc_type(title: str | None) -> str:
    """The type the title names, else ``其他`` (the evaluation's title-only baseline)."""
    return _from_title(fold_width(title)) or "其他"


def _extract(title: str, text: str, heading: str, news: bool = False, require_voice: bool = True) -> str:
    if title:
        t = _from_title(title)
        if t:
            return t
    scores = {t: 0.0 for t in _STRUCT}
    generic_counts = not title or not require_voice or reads_as_report(text, news)
    for t, rules in _STRUCT.items():
        if t in _GENERIC and not generic_counts:
            continue
        for pat, w in rules:
            scores[t] += w * len(pat.findall(text))
    if heading:
        h = _from_title(heading)
        if h in scores:
            scores[h] += 1.0  # weak: a page heading may belong to another document
    # government reports and speeches announce themselves once, near the top
    if scores["政府工作报告"] >= 6.0:
        return "政府工作报告"
    best = max(scores, key=scores.get)  # type: ignore[arg-type]
    if scores[best] < 3.0:
        return "其他"
    # summaries and plans both use the other's vocabulary: demand a clear margin
    ranked = sorted(scores.values(), reverse=True)
    if ranked[1] and ranked[0] < ranked[1] * 1.25:
        return "其他"
    return best
