"""What a page says about itself: publish date, site name, source credit, truncation.

These are read from the raw page lines *before* chrome is dropped, since the
evidence sits in the chrome (an info line, an ICP footer, a preview notice).

``Article.source`` policy: the site the page names itself as (到文鼎文库首页,
"两全其美网校城 ( 京ICP备… )", "wnwk.com网站版权所有", "(文鼎文库www.wentop.com此处
省略…)") wins; a record hint ``source`` comes next; last the credit line of a
portal article ("来源：安徽日报"), which names the publication the page copied the
report from — the best provenance a portal page offers, and what a reader of
the page would call its source.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .rules import PAGE_MARK

_DATE = r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})"
_PUB_LABELLED = re.compile(r"(?:发布时间|发表时间|发布日期|发表日期|更新时间|上传时间|时间|日期|发布于|发表于"
                           r"|發佈時間|發布時間|發表時間|發佈日期|發布日期|更新時間|時間)\s*[:：]?\s*" + _DATE)
_PUB_BARRED = re.compile(r"^" + _DATE + r"\s*日?\s*(?:\d{1,2}:\d{2}(?::\d{2})?)?\s*[|｜]")
# A byline with a clock time anywhere in a short line ('原创 某某 2023-07-12 18:05 发表于安徽').
_BYLINE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})\s+\d{1,2}:\d{2}")
_DATETIME_LINE = re.compile(r"^[(（]?\s*" + _DATE + r"\s*日?\s*[T ]?\s*\d{1,2}\s*[:：时]\s*\d{1,2}")
_PUB_LABEL_ONLY = re.compile(r"^(?:发布时间|发表时间|发布日期|时间|日期)\s*[:：]?\s*$")

_HOME_NAME = re.compile(r"(?:到|返回|进入)\s*([\u4e00-\u9fa5A-Za-z0-9.]{2,14}?)\s*首页")
_ICP_NAME = re.compile(r"([^\s|｜()（）:：]{2,20})\s*[(（]?\s*[\u4e00-\u9fa5]{0,2}ICP\s*[备证]")
_NOT_NAME = re.compile(r"备案|许可|编号|标识|版权|所有|[Cc]opyright|号$|^\d+$")
_COPY_NAME = re.compile(r"([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.(?:com|cn|net|org|cc|top)|[\u4e00-\u9fa5]{2,14})\s*(?:网站)?版权所有", re.IGNORECASE)
_NOTICE_NAME = re.compile(r"[(（]\s*([\u4e00-\u9fa5]{2,10}?(?:文库|网|网校城|网校|论坛|社区|平台|之家|资讯))\s*(?:www\.|此处)")
_PROMO_DOMAIN = re.compile(r"^([A-Za-z0-9-]{2,30}\.(?:com|cn|net|org))\s*[\u4e00-\u9fa5]", re.IGNORECASE)
_CREDIT = re.compile(r"^[(（]?\s*(?:来源|文章来源|信息来源|稿源)\s*[:：]\s*([^\s|｜()（）:：]{2,24})")
_CREDIT_LABEL = re.compile(r"^(?:来源|文章来源|信息来源|稿源)\s*[:：]?\s*$")

_CUT_STRONG = re.compile(r"此处省略\s*\d*\s*字|预览结束|当前显示\s*\d+\s*字|还剩\s*\d+\s*字|还剩\s*\d+\s*页未读|试读结束|余下全文|点击下载全文|剩余\s*\d+\s*页未读")
_OVER_PREVIEW = re.compile(r"(?:总共|共)\s*(\d{1,4})\s*页.{0,6}(?:超出|超过)?免费预览")


@dataclass
class PageInfo:
    published: str | None = None
    site: str | None = None
    credit: str | None = None
    truncated: bool = False
    news: bool = False


def _iso(y: str, m: str, d: str) -> str | None:
    yi, mi, di = int(y), int(m), int(d)
    if 1949 <= yi <= 2100 and 1 <= mi <= 12 and 1 <= di <= 31:
        return f"{yi:04d}-{mi:02d}-{di:02d}"
    return None


def find_published(lines: list[str]) -> str | None:
    """First publish date stated by the page (labelled, '2011-11-23 13:50| 发布者', or a date-time line)."""
    prev_label = False
    for ln in lines:
        if not ln or len(ln) > 200:
            prev_label = False
            continue
        m = _PUB_LABELLED.search(ln) or _PUB_BARRED.match(ln)
        if not m and prev_label:
            m = re.match(r"^\s*" + _DATE, ln)
        if not m:
            m = _DATETIME_LINE.match(ln)
        if not m and len(ln) <= 80 and not re.search(r"[。，；]", ln):
            m = _BYLINE.search(ln)
        if m:
            iso = _iso(*m.groups()[:3])
            if iso:
                return iso
        prev_label = bool(_PUB_LABEL_ONLY.match(ln))
    return None


def find_site(lines: list[str]) -> str | None:
    """The name the site gives itself, best evidence first."""
    found: dict[str, str] = {}
    for ln in lines:
        if not ln or len(ln) > 200:
            continue
        if "首页" in ln and "home" not in found and (m := _HOME_NAME.search(ln)):
            name = m.group(1)
            if name not in ("网站", "本站", "主站", "网"):
                found["home"] = name
        if "ICP" in ln and "icp" not in found:
            k = ln.find("ICP")
            seg = re.split(r"[|｜]", ln[:k])[-1] + ln[k : k + 4]
            if m := _ICP_NAME.search(seg):
                name = m.group(1).strip("()（）")
                if _NOT_NAME.search(name) is None and (re.search(r"[\u4e00-\u9fa5]", name) or "." in name):
                    found["icp"] = name
        if "此处" in ln and "notice" not in found and (m := _NOTICE_NAME.search(ln)):
            found["notice"] = m.group(1)
        if "版权所有" in ln and "copy" not in found and (m := _COPY_NAME.search(ln)):
            found["copy"] = m.group(1).lower() if m.group(1).isascii() else m.group(1)
        if "promo" not in found and len(ln) <= 60 and (m := _PROMO_DOMAIN.match(ln)):
            found["promo"] = m.group(1).lower()
    for key in ("home", "icp", "notice", "copy", "promo"):
        if key in found:
            return found[key]
    return None


def find_credit(lines: list[str]) -> str | None:
    """The publication a portal page credits ('来源：安徽日报', '来源:' then '四川日报')."""
    for i, ln in enumerate(lines):
        if not ln or len(ln) > 80:
            continue
        if m := _CREDIT.match(ln):
            return m.group(1).rstrip("）)")
        if _CREDIT_LABEL.match(ln):
            for nxt in lines[i + 1 : i + 3]:
                if nxt:
                    if len(nxt) <= 24 and not re.search(r"[。，:：]", nxt):
                        return nxt
                    break
    return None


def find_truncated(lines: list[str]) -> bool:
    """True when the page is a cut-off preview.

    "此处省略N字", "预览结束,全文N字,当前显示M字" … say outright that text is missing.
    "该文档总共N页,到这儿已超出免费预览范围" only says the page *images* stop; the
    page is complete when its text nevertheless reaches the last page marker
    ("第N页 共N页"), so that notice alone only counts when the marker is absent.
    """
    over = None
    marks: set[tuple[int, int]] = set()
    for ln in lines:
        if not ln:
            continue
        if len(ln) <= 300 and _CUT_STRONG.search(ln):
            return True
        if over is None and len(ln) <= 200 and (m := _OVER_PREVIEW.search(ln)):
            over = int(m.group(1))
        if "页" in ln:
            for m in PAGE_MARK.finditer(ln[-400:] if len(ln) > 400 else ln):
                nums = re.findall(r"\d+", m.group(0))
                marks.add((int(nums[0]), int(nums[1])))
    if over is not None:
        return (over, over) not in marks
    return False


# What marks a page as a news item: a reporter's byline or lead (记者 张三, 记者从…获悉; not 接受记者
# 采访 or 答记者问, which reports say too), an agency's dateline (新华社北京3月5日电, 10月4日讯,
# 本报讯) or a note of the headline it first ran under (原标题：…).  Cleaning removes these lines
# as chrome, so they are looked for here, on the whole page, for the document-type facet.
_NEWS_MARK = re.compile(
    r"(?<!接受)(?<![答向对与和给被])(?:本报|本台|本网|特约|见习)?记者(?!问|招待|会|节|站|证|协会|之家|们)"
    r"|通讯员\s*[:：]?\s*[\u4e00-\u9fff·]{2,4}"
    r"|(?:新华社|中新社|新华网|人民网|央视网|中新网|央广网)[\u4e00-\u9fff]{0,8}\d{1,2}月\d{1,2}日电"
    r"|\d{1,2}月\d{1,2}日讯|本报讯|^[（(]?\s*(?:本文)?原标题\s*[:：]",
    re.MULTILINE,
)


def find_news_marks(lines: list[str]) -> bool:
    """Whether the page's lines carry a news item's marks (see ``_NEWS_MARK``)."""
    return bool(_NEWS_MARK.search("\n".join(lines)))


def page_info(lines: list[str]) -> PageInfo:
    return PageInfo(find_published(lines), find_site(lines), find_credit(lines), find_truncated(lines),
                    find_news_marks(lines))
