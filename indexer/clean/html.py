"""HTML pages: pick the main content block and flatten it to lines.

Selection is readability-style text/link density scoring over lxml blocks:
every block with its own text scores ``CJK chars × (1 − link density)² +
3 × sentence punctuation``; the score goes to the block, its parent and (half)
its grandparent, and the best-scoring element is the content.  Elements whose
class/id say they are comments, replies, signatures, share bars, related lists,
navigation … are removed first unless they also say content/article/post
(readability's "unlikely candidates").  On a forum thread the posts share one
class; the first post (the report) is taken, not the longest reply.

Library comparison (``python -m indexer.clean.benchmark``) on the 5 hand-made
Chinese fixture pages in tests/fixtures/clean/ (a 文库 preview page, a Discuz
thread with replies and signatures, a GBK-declared county government portal
article, a news page with reader comments, a 范文 page with 篇1/篇2); 20
must_keep and 52 must_drop strings in all:

=======================  =========  =========  =========
extractor                must_keep  must_drop  ms/page
=======================  =========  =========  =========
this module + rules      20/20      52/52      ~10
trafilatura 2.3.1        20/20      38/52      ~55
readability-lxml 0.9     20/20      35/52      ~11
justext 3.0.2 (no zh     0/20       52/52      ~3
  stoplist exists)
trafilatura + our rules  20/20      47/52      ~10
readability + our rules  20/20      48/52      ~7
=======================  =========  =========  =========

All three libraries find the article body, but keep chrome that sits inside
or next to it on Chinese pages (info lines, 【字体：大 中 小】, 分享到, the site
intro blurb, the page's related list or the forum's replies); justext drops
everything because it needs a stoplist and has none for Chinese.  Caveat: the
fixtures were written while building this module, so they favour it; the
held-back pages of other sites are the real check.  Our own selection comes
first (fastest, least chrome on report pages); when it finds nothing or too
little, the three libraries run as fallbacks and the best candidate is kept
(``fallback.py``; measured on hand-made gold text of 27 real pages in
docs/cleaning.md).  Publish dates stated in the markup come from htmldate.
"""
from __future__ import annotations

import re
from collections.abc import Collection, Iterable

from lxml import etree
from lxml import html as lxml_html

from .deep import flatten_deep
from .normalize import cjk_count, normalize_text, split_lines
from .pageinfo import find_credit, find_news_marks, find_published, find_site, find_truncated
from .split import title_key

_JUNK_TAGS = (
    "script", "style", "noscript", "iframe", "nav", "header", "footer", "aside", "form", "select", "button",
    "svg", "template", "object", "embed", "canvas", "input", "textarea", "label", "map", "audio", "video",
)
_BLOCK_TAGS = frozenset(
    [
        "p", "div", "td", "th", "tr", "li", "ul", "ol", "dl", "dd", "dt", "h1", "h2", "h3", "h4", "h5", "h6",
        "section", "article", "blockquote", "pre", "table", "tbody", "thead", "tfoot", "center", "main",
        "address", "figure", "figcaption", "hr", "body", "html", "font-block"
    ]
)
_UNLIKELY = re.compile(
    r"comment|reply|replies|respond|share|social|toolbar|tool-bar|breadcrumb|crumb|position|location|footer|foot|header"
    r"|nav|menu|sidebar|side-bar|aside|advert|\bads?\b|banner|login|register|copyright|related|recommend|relate|sign\b"
    r"|signature|sign_|psig|tags?\b|pager|pagination|pages\b|hot|rank|popup|modal|qrcode|weixin|wechat|print|fontsize"
    r"|font-size|zoom|rate|rating|favorite|collect|attach|pls\b|author-info|userinfo|avatar|widget|sponsor|guess|like",
    re.IGNORECASE,
)
_LIKELY = re.compile(r"article|content|main|post|text|body|detail|message|t_f\b|entry|con\b|zoom|news_?txt|TRS_Editor|Custom_UnionStyle", re.IGNORECASE)
_XML_DECL = re.compile(r"^\s*<\?xml[^>]{0,200}\?>", re.IGNORECASE)
_TITLE_SEP = re.compile(r"\s*(?:[-_|–—]|\s-\s)\s*")
#: An aside with this much text is the article's container, not a sidebar.
_ASIDE_ARTICLE_CHARS = 1000
#: Site and channel names in a <title> are at most this long (headlines are longer).
_FRAME_NAME_CHARS = 20
#: Blocks of a page's frame, by class or id: where a site prints its own name as a heading.
_FRAME_BLOCK = re.compile(r"logo|\bnav|menu|sidebar|side-bar|\baside|banner|breadcrumb|crumb|footer|copyright|topbar|top-bar",
                          re.IGNORECASE)


def parse(html: str) -> etree._Element | None:
    """Parse HTML leniently; None when nothing parseable is left."""
    html = _XML_DECL.sub("", normalize_text(html))
    if not html.strip():
        return None
    parser = lxml_html.HTMLParser(remove_comments=True, remove_pis=True, no_network=True, recover=True, huge_tree=True)
    try:
        doc = lxml_html.document_fromstring(html, parser=parser)
        if any(e.type_name == "ERR_RESOURCE_LIMIT" for e in parser.error_log):  # nested too deep: libxml2 dropped
            doc = lxml_html.document_fromstring(flatten_deep(html), parser=parser)  # what was below; flatten, again
        return doc
    except (etree.ParserError, ValueError, etree.XMLSyntaxError):
        return None


def _attr_sig(el: etree._Element) -> str:
    return f"{el.get('class') or ''} {el.get('id') or ''}".strip()


def head_info(doc: etree._Element) -> dict:
    """Title, site name and publish date from <title>/<h1>/<meta>."""
    info: dict = {}
    title = ""
    t = doc.find(".//title")
    if t is not None and t.text_content():
        title = " ".join(t.text_content().split())
    site = None
    for m in doc.iter("meta"):
        key = (m.get("property") or m.get("name") or "").lower()
        val = (m.get("content") or "").strip()
        if not val:
            continue
        if key in ("og:site_name", "sitename", "site_name", "application-name") and not site:
            site = val
        elif key in ("article:published_time", "pubdate", "publishdate", "publish_date", "og:release_date", "date", "dc.date"):
            info.setdefault("meta_date", val)
        elif key in ("og:title", "articletitle", "title") and not info.get("meta_title"):
            info["meta_title"] = val
    tagged = [(tag, txt, h) for tag in ("h1", "h2", "h3") for h in doc.iter(tag)
              if 4 <= len(txt := " ".join(h.text_content().split())) <= 80 and cjk_count(txt) >= 4]
    h1 = next((txt for tag, txt, _h in tagged if tag != "h3"), None)  # unconfirmed: the first h1, else h2
    headings = [txt for _tag, txt, _h in tagged]
    framed = {txt for _tag, txt, h in tagged if _in_page_chrome(h)}
    parts = [p for p in _TITLE_SEP.split(title) if p] if title else []
    if parts and not site and len(parts) >= 2 and len(parts[-1]) <= 20:
        site = parts[-1]
    info["title_parts"] = parts
    confirmed = confirmed_title(headings, title, info.get("meta_title"), site, framed)
    info["title_confirmed"] = confirmed is not None
    info["title"] = confirmed or h1 or info.get("meta_title") or (parts[0] if parts else None)
    if site:
        info["site"] = site
    if (md := info.get("meta_date")) and (m := re.match(r"(\d{4})-(\d{2})-(\d{2})", md)):
        info["published"] = "-".join(m.groups())
    return info


def _in_page_chrome(el: etree._Element) -> bool:
    """Whether a heading sits in the page's frame rather than its article: inside a header, nav,
    footer or (short) aside element outside any article/main, or a logo, menu or sidebar block."""
    for anc in el.iterancestors():
        tag = anc.tag if isinstance(anc.tag, str) else ""
        if tag in ("article", "main"):
            return False
        if tag in ("header", "nav", "footer"):
            return True
        if tag == "aside" and len(anc.text_content()) < _ASIDE_ARTICLE_CHARS:
            return True  # a sidebar (some mobile layouts put the whole article in an aside)
        if _FRAME_BLOCK.search(_attr_sig(anc)):
            return True
    return False


def confirmed_title(headings: list[str], title: str, meta_title: str | None, site: str | None = None,
                    framed: Collection[str] = ()) -> str | None:
    """The article title two parts of the markup agree on, or None.

    A page's headings (h1, then h2, h3) include channel logos, site names and box
    titles (新闻中心, 相关推荐); its <title> element is the article title followed by
    channel and site names (…_政务_澎湃新闻), or the site name alone; an og:title or
    ArticleTitle meta is the title alone.  In order: a heading the meta title repeats;
    the heading the <title> begins with; a long heading the <title> holds whole; a
    heading that is a <title> part with a badge before it (原创最不愁… against 最不愁…)
    gives the part; the meta title the <title> begins with.  A heading that is (or is
    inside) a later <title> part or the site name never counts: that is the site's own
    name, printed in its header or sidebar.  A heading in the page's frame (``framed``:
    header, nav, footer, sidebar, logo) counts only when the meta title repeats it: a
    government site's name heads every page and often begins its <title> as well, and a
    文库 sidebar repeats the collection its <title> names (a layout that puts the
    article's own heading in an aside loses it: a wrong page-wide name is worse).
    """
    whole = title_key(title or "")
    meta = title_key(meta_title or "")
    raw_parts = [p for p in _TITLE_SEP.split(title or "") if p]
    # channel and site names: short later parts (a long later part is a headline the <title>
    # split at a | inside it: 棱镜|数据业大整顿…)
    frame = [k for k in (title_key(p) for p in raw_parts[1:] + ([site] if site else [])) if k and len(k) <= _FRAME_NAME_CHARS]
    if len(raw_parts) == 1 and site and title_key(site) == whole:
        frame.append(whole)  # the <title> is the site name alone
    keyed = [(h, title_key(h)) for h in headings]
    cands = [(h, hk) for h, hk in keyed if len(hk) >= 6 and not any(hk in f for f in frame)]
    if meta:
        for h, hk in cands:
            if hk == meta:
                return h
    cands = [(h, hk) for h, hk in cands if h not in framed]
    for h, hk in cands:
        if whole.startswith(hk) or (len(hk) >= 10 and hk in whole):
            return h
    first = [p for p in raw_parts if len(title_key(p)) >= 8 and not any(title_key(p) in f for f in frame)]
    for h, hk in cands:
        for p in first:
            if hk.endswith(title_key(p)):
                return p
    if meta and len(meta) >= 6 and whole.startswith(meta) and not any(meta in f for f in frame):
        return meta_title
    return None


def _own_text(el: etree._Element) -> tuple[str, int]:
    """Iterative own-text walk (no recursion: pages can be 1,000 levels deep)."""
    parts: list[str] = []
    link = 0
    # work items: ("el", element, in_a) or ("txt", text, in_a)
    stack: list[tuple[str, object, bool]] = []
    parts.append(el.text or "")
    if el.tag == "a":
        link += len((el.text or "").strip())
    for c in reversed(list(el)):
        stack.append(("el", c, el.tag == "a"))
    while stack:
        kind, obj, in_a = stack.pop()
        if kind == "txt":
            s = obj  # type: ignore[assignment]
            parts.append(s)  # type: ignore[arg-type]
            if in_a:
                link += len(s.strip())  # type: ignore[union-attr]
            continue
        c = obj  # type: ignore[assignment]
        tag = c.tag if isinstance(c.tag, str) else ""  # type: ignore[union-attr]
        if tag in _BLOCK_TAGS or tag == "br":
            if tag == "br":
                parts.append("\n")
            parts.append(c.tail or "")  # type: ignore[union-attr]
            if in_a:
                link += len((c.tail or "").strip())  # type: ignore[union-attr]
            continue
        is_a = in_a or tag == "a"
        stack.append(("txt", c.tail or "", in_a))  # type: ignore[union-attr]
        for g in reversed(list(c)):  # type: ignore[arg-type]
            stack.append(("el", g, is_a))
        stack.append(("txt", c.text or "", is_a))  # type: ignore[union-attr]
    return "".join(parts), link


def _blocks(root: etree._Element) -> Iterable[tuple[etree._Element, str, int]]:
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        if el.tag in _BLOCK_TAGS or el is root:
            text, link = _own_text(el)
            if text.strip():
                yield el, text, link


def _remove(el: etree._Element) -> None:
    """Drop an element but keep its tail text."""
    parent = el.getparent()
    if parent is None:
        return
    el.drop_tree() if hasattr(el, "drop_tree") else parent.remove(el)


def strip_junk(doc: etree._Element) -> None:
    """Remove script/style/nav/header/footer/aside/form and 'unlikely' class/id elements."""
    for el in list(doc.iter(*_JUNK_TAGS)):
        _remove(el)
    for el in list(doc.iter()):
        if not isinstance(el.tag, str) or el.tag in ("html", "body"):
            continue
        sig = _attr_sig(el)
        if sig and _UNLIKELY.search(sig) and not _LIKELY.search(sig):
            _remove(el)


def _score(text: str, link: int) -> float:
    n = cjk_count(text) or len(text.split()) * 2
    if n == 0:
        return 0.0
    ld = min(1.0, link / max(1, len(text.strip())))
    if ld > 0.5:
        return 0.0
    punct = sum(text.count(c) for c in "，。；、,")
    return n * (1 - ld) ** 2 + 3 * punct


def select_content(doc: etree._Element) -> etree._Element | None:
    """The element holding the report: best text/link-density score."""
    body = doc.find("body")
    root = body if body is not None else doc
    scores: dict[etree._Element, float] = {}
    for el, text, link in _blocks(root):
        s = _score(text, link)
        if s <= 0:
            continue
        scores[el] = scores.get(el, 0.0) + s
        p = el.getparent()
        if p is not None:
            scores[p] = scores.get(p, 0.0) + s
            gp = p.getparent()
            if gp is not None:
                scores[gp] = scores.get(gp, 0.0) + s / 2
    if not scores:
        return None
    best = max(scores, key=lambda e: scores[e])
    # forum threads: posts share a class; the first post is the report, later ones are replies
    sig = best.get("class")
    if sig and best.tag in ("td", "div", "article", "section"):
        same = [e for e in root.iter(best.tag) if e.get("class") == sig]
        if len(same) >= 2 and same[0] is not best and scores.get(same[0], 0) >= 100:
            best = same[0]
    return best


def to_lines(el: etree._Element) -> list[str]:
    """Flatten an element to text lines: a line per block, <br> breaks lines,
    link-dense blocks (link lists inside the content) dropped."""
    out: list[str] = []
    for blk, text, link in _blocks(el):
        if len(text.strip()) and link / max(1, len(text.strip())) > 0.6 and cjk_count(text) < 200:
            continue
        out.extend(split_lines(text))
        out.append("")
    return out


def page_lines(doc: etree._Element) -> list[str]:
    """All text of the page, a line per block (for page-level facts: dates, site, notices)."""
    lines: list[str] = []
    for _blk, text, _link in _blocks(doc):
        lines.extend(ln for ln in split_lines(text) if ln)
    return lines


HTMLDATE_MAX_CHARS = 5_000_000


def publish_date(html: str, doc: etree._Element | None = None) -> str | None:
    """The publish date the page states, read by htmldate (meta tags, JSON-LD, <time>,
    dates in the page's header markup); original date, not the last update.  Only what the
    page states: htmldate's extensive text search (which guesses from any date on the
    page, the copyright year included) is off, our labelled-line reader covers the rest.
    ``doc``: the page already parsed (:func:`parse`), which htmldate reads from a copy instead
    of parsing the page again (and a page string that looks like an address is never taken
    for one to download).  A huge page (over ``HTMLDATE_MAX_CHARS``) is left to that reader:
    htmldate copies and prunes the whole tree."""
    if len(html) > HTMLDATE_MAX_CHARS:
        return None
    try:
        from htmldate import find_date  # type: ignore[import-untyped]

        found = find_date(doc if doc is not None else html, original_date=True, extensive_search=False, outputformat="%Y-%m-%d")
    except Exception:  # noqa: BLE001 - a library failure on a hostile page costs only the date
        return None
    return found if isinstance(found, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", found) else None


def extract_lines(html: str) -> tuple[list[str], dict]:
    """Main-content lines of an HTML page, and page facts for the cleaner."""
    doc = parse(html)
    if doc is None:
        return [], {}
    info = head_info(doc)
    stated = publish_date(html, doc)
    if stated:
        info["published"] = stated
        info["published_by"] = "htmldate"
    for el in list(doc.iter("script", "style", "noscript", "template")):
        _remove(el)
    whole = page_lines(doc)
    if not info.get("published"):
        info["published"] = find_published(whole)
    site = find_site(whole)
    if site:
        info["site"] = site
    info["credit"] = find_credit(whole)
    info["truncated"] = find_truncated(whole)
    info["news"] = find_news_marks(whole)
    strip_junk(doc)
    best = select_content(doc)
    if best is None:
        return [], info
    lines = to_lines(best)
    title = info.get("title")
    if title and title not in lines[:20]:
        lines = [title, ""] + lines
    return lines, info
