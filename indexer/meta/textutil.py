"""Small text helpers shared by the metadata extractors.

Scraped pages mix full-width digits (１９９６年), ideographic zero variants
(〇/○/零) and stray control characters; every extractor wants the same
normalised view, so it is computed once per article here.
"""
from __future__ import annotations

import re
import unicodedata

# Marks that stand for a masked character in template/文库 text: 20xx, XX市, ××区, *市, 某县.
PLACEHOLDER_CHARS = "xX×ｘＸ*＊某□○〇"

_CHROME_LINE = re.compile(
    r"ICP|备案|版权|Copyright|copyright|Powered|当前位置|首页|上传人|文档编号|下载|收藏|"
    r"分享|举报|打印|字号|字体|浏览|阅读量|点击|相关搜索|猜你喜欢|相关资源|找回密码|注册|"
    r"小黑屋|手机版|关于我们|返回顶部|GMT|编辑推荐|整理的|希望您|欢迎阅读"
)


_TABLE = {cp: unicodedata.normalize("NFKC", chr(cp)) for cp in range(0xFF01, 0xFF5F)}
_TABLE.update({0x3000: " ", 0x00A0: " ", 0x0000: None, 0x200B: None, 0x200D: None, 0xFEFF: None})
_TABLE_STR = {chr(k): v or "" for k, v in _TABLE.items()}
_NEEDS_FIX = re.compile("[\uff01-\uff5e\u3000\u00a0\x00\u200b\u200d\ufeff]")


_RECENT: tuple[str, ...] = ()  # the last few outputs of fold_width() (title, text, heading)


def fold_width(text: str | None) -> str:
    """Full-width digits/letters/punctuation → ASCII (as NFKC would), drop NULs/zero-width marks.

    Never raises: ``None`` and non-strings become ``""``.
    """
    if not text:
        return ""
    if not isinstance(text, str):
        try:
            text = str(text)
        except Exception:  # noqa: BLE001 # pragma: no cover - any object's __str__ may raise; documented never to raise
            return ""
    global _RECENT
    # extract_meta normalises title and text once, then every extractor calls this again
    # on those very objects: an output is its own normal form (no replacement is a key),
    # so a text that *is* a recent output is returned without scanning it again
    for done in _RECENT:
        if text is done:
            return text
    # Full NFKC costs ~1 s per 5 MB of Chinese text; only the full-width ASCII block and a
    # few marks actually occur, so translate just those, and only when present.
    # (str.replace per distinct character found == translate, which would look up every
    # character of the text; no replacement is itself a key, so the order does not matter)
    for ch in set(_NEEDS_FIX.findall(text)):
        text = text.replace(ch, _TABLE_STR[ch])
    _RECENT = (text, *_RECENT[:2])
    return text


def is_chrome_line(line: str) -> bool:
    """Heuristic: a line that looks like site furniture rather than report text.

    Used only to *down-weight* evidence found on such lines (e.g. the 京 of a
    京ICP备 footer, a 来源：XX日报 credit), never to delete text.
    """
    if len(line) > 160:
        return False
    return bool(_CHROME_LINE.search(line))


CN_DIGITS = {"〇": 0, "○": 0, "零": 0, "O": 0, "o": 0, "Ｏ": 0, "一": 1, "二": 2, "三": 3, "四": 4,
             "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "两": 2}


def cn_digits_to_int(s: str) -> int | None:
    """Read a digit-by-digit Chinese numeral (二〇二六 → 2026). ``None`` if any char is not a digit."""
    out = 0
    for ch in s:
        v = CN_DIGITS.get(ch)
        if v is None:
            return None
        out = out * 10 + v
    return out


# Characters that only occur in traditional script (their simplified forms differ), frequent
# in reports: a text without any of them is not converted (OpenCC is only paid for when needed).
_TRAD_PROBE = re.compile("[們會國個來對時說為過發當與於還進現業實經從動衛縣區醫務護體據關總結劃報衆眾級開機構門診療險]")


def to_simplified(text: str) -> str:
    """A text in traditional characters → simplified (OpenCC t2s), so the gazetteer, the year
    patterns, the topic terms and the document-type words (all simplified) match it.
    Unchanged when it has no traditional-only characters or OpenCC is unavailable."""
    if not text or not _TRAD_PROBE.search(text[:5000]):
        return text
    from ..analysis import to_simplified as opencc_t2s  # the one OpenCC wrapper of the project

    return opencc_t2s(text)
