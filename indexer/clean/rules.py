"""Line-shape rules: which kinds of lines are site chrome, not report text.

Each rule describes a *kind* of chrome as Chinese portals, 文库 sites and forums
print it (a share/print/font-size bar, a breadcrumb, an uploader info line, an
ICP footer, a preview-truncation notice …), never a string of one site.  They
are small pure functions over one already-normalised line so they can be tested
one by one.

Performance: every regex here is either anchored, or made of bounded
quantifiers over negated classes, so matching is linear; the classifier only
looks at lines up to ``SHORT_MAX`` characters for most kinds (chrome lines are
short; a report paragraph of 2,000 characters is never a share bar).
"""
from __future__ import annotations

import re

from .normalize import cjk_count

SHORT_MAX = 160  # chrome lines are short; longer lines are only checked by a few rules

#: Punctuation that ends a sentence (a line ending otherwise is mid-sentence).
TERMINAL = "。！？!?；;…」』”\"’）)】：:"
CLOSERS = "。，、；：！？）》」』”’,.;:!?)]】"
OPENERS = "（《「『“‘([【"

# --- control-bar vocabulary ---------------------------------------------------
# Words that make up share/print/font-size bars, login boxes, forum buttons and
# footer link rows.  A short line made ONLY of these words (plus separators) is
# chrome.  Reactions (鲜花 握手 雷人 鸡蛋 路过) are Discuz's portal-article buttons.
BAR_WORDS = frozenset(
    [
        "下载", "打印", "全屏", "收藏", "分享", "分享到", "举报", "相关", "评论", "关闭", "加大", "还原", "减小", "放大", "缩小", "默认", "大",
        "中", "小", "字号", "字体", "赏", "打赏", "打印本页", "关闭窗口", "打印此页", "关闭本页", "打印文章", "关闭页面", "返回顶部", "顶部", "返回",
        "返回列表", "返回首页", "上一篇", "下一篇", "上一页", "下一页", "分享到微信", "微信", "微博", "新浪微博", "腾讯微博", "QQ", "QQ空间", "朋友圈",
        "复制链接", "纠错", "我要纠错", "登录", "注册", "立即注册", "找回密码", "忘记密码", "退出", "首页", "网站首页", "手机版", "小黑屋", "关于我们",
        "联系我们", "网站地图", "鲜花", "握手", "雷人", "鸡蛋", "路过", "点赞", "赞", "踩", "扫一扫", "微信扫一扫", "阅读全文", "展开阅读全文",
        "展开全文", "查看全文", "加入收藏", "设为首页", "免责声明", "隐私政策", "帮助中心", "意见反馈", "广告服务", "使用协议", "版权声明", "下载全文",
        "资源描述", "文档描述", "文档介绍", "全文阅读", "立即下载", "在线阅读", "猜你喜欢", "相关资源", "相关搜索", "相关文档", "相关推荐", "相关阅读",
        "相关文章", "相关报道", "相关链接", "相关附件", "相关新闻", "热门文章", "热门推荐", "推荐阅读", "最新文章", "延伸阅读", "更多", "引用", "回复",
        "发表回复", "快速回复", "只看该作者", "楼主", "沙发", "板凳", "地板", "电梯直达", "倒序浏览", "阅读模式", "使用道具", "本版积分规则", "分享到QQ",
        "分享到微博", "分享至", "转发", "编辑", "删除", "置顶", "推荐", "收起", "展开", "原文", "原文链接", "来源", "点击", "浏览", "字", "页",
        "人", "次", "×", "广告", "广告位", "推广", "赞助", "客户端", "下载客户端", "下载APP", "APP", "打开APP", "手机APP", "献花", "转藏",
        "阅读原文", "在看", "写留言", "留言", "赞赏", "喜欢作者"
    ]
)
_BAR_SPLIT = re.compile(r"[\s【】\[\]()（）|｜:：>»<«·•/\\\-—_×、,，.。!！?？*#＃]+")

# --- regex kinds ----------------------------------------------------------------
_CRUMB_LABEL = re.compile(r"^(?:当前位置|您的位置|你的位置|您所在的位置|你所在的位置|所在的位置|您现在的位置|你现在的位置|现在位置|所在位置|当前页面|位置)\s*[:：]")
_CRUMB_HOME = re.compile(r"^(?:网站首页|首页|主页|首 页)\s*(?:[>»/→＞›]|$)")
_SEP_ONLY = re.compile(r"^[\s【】\[\]|｜×>»<«·•/\\\-—_=*#＃~～]{1,6}$")
_HOME_LINK = re.compile(r"^(?:(?:到|返回|进入|回到)\s*.{0,14}|[\u4e00-\u9fa5A-Za-z]{1,6})(?:首页|主页)$")
_CRUMB_SEP = re.compile(r"\s*[>»→＞›]\s*")
_FOOTER = re.compile(
    r"ICP\s*[备证]|[Cc]opyright|COPYRIGHT|版权所有|©|\(c\)\s*\d{4}|Powered\s+by|技术支持\s*[:：]|网站标识码|公网安备"
    r"|经营许可证|主办单位\s*[:：]|承办单位\s*[:：]|主办\s*[:：]|承办\s*[:：]|运维\s*[:：]|违法和不良信息举报|不良信息举报"
    r"|^GMT\s*[+-]\s*\d|网站声明|使用.{1,8}前必读|提供(?:计算|云|技术)服务$|联系电话\s*[:：].{0,20}邮箱|未经(?:许可|授权).{0,12}(?:转载|复制|使用)"
)
# One labelled field of a document/page info line.  Two or more fields on one
# short line (上传人:… 文档编号:… 上传时间:…) make an info line.
_INFO_FIELD = re.compile(
    r"(?:上传人|上传者|文档编号|上传时间|格式|页数|大小|发布时间|发表时间|发布日期|更新时间|发布者|发布人|作者|字数|查看|评论|浏览|浏览量"
    r"|浏览次数|阅读|阅读量|阅读数|阅读次数|来源|文章来源|信息来源|稿源|编辑|责任编辑|点击|点击数|点击量|时间|日期|积分|贡献者|下载次数"
    r"|下载券|分类|标签|关键词|所属栏目|栏目|审核|校对|供稿|撰稿|摄影|访问量|字号)\s*[:：]"
)
_INFO_LEAD = re.compile(
    r"^[(（]?\s*(?:来源|文章来源|信息来源|稿源|时间|发布时间|发表时间|发布日期|更新时间|日期|作者|发布者|发布人|编辑|责任编辑|审核|校对"
    r"|阅读量|浏览量|浏览次数|点击数|点击量|阅读次数|阅读|浏览|供稿|撰稿|字号|所属栏目|栏目|分类|标签|关键词|上传人|上传时间|文档编号)\s*[:：]"
)
_LABEL_ONLY = re.compile(
    r"^[(（【]?\s*(?:来源|文章来源|信息来源|时间|发布时间|发表时间|发布日期|日期|作者|发布者|编辑|责任编辑|审核|校对|阅读量|浏览量|浏览次数"
    r"|点击数|阅读次数|供稿|撰稿|字号|字体|分享|分享到)\s*[:：]?\s*$"
)
_DATETIME_ONLY = re.compile(
    r"^[(（]?\s*\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?\s*[T ]?\s*\d{1,2}\s*[:：时]\s*\d{1,2}(?:\s*[:：分]\s*\d{1,2}\s*秒?)?\s*分?\s*[)）]?$"
)
_PREVIEW = re.compile(
    r"此处省略\s*\d*\s*字|点击下载全文|不往下看了|预览结束|全文\s*\d+\s*字.{0,6}当前显示|当前显示\s*\d+\s*字|还剩\s*\d+\s*[字页]"
    r"|超出免费预览范围|免费预览|如果喜欢就下载吧|展开阅读全文|阅读全文|查看全文|试读结束|余下全文|剩余\s*\d+\s*页|未读完"
    r"|下载文档|付费阅读|立即下载|该文档总共\s*\d+\s*页|本文档共\s*\d+\s*页|下载后可阅读|下载后查看|登录后(?:查看|阅读|下载)"
    r"|点击(?:图片|这里|此处)?\s*(?:进入|查看|下载|阅读|收藏)|开通\s*VIP|VIP\s*(?:免费|专享|会员|特权)|下载积分|下载券|免费下载|继续阅读|阅读已结束|(?:手机|微信)\s*扫(?:一扫|码)|扫一扫在手机|扫描二维码"
)
# Page markers of paged previews: "第1页 / 共9页", "第9页 共9页", "xxx.docx_第3页", "1/9".
PAGE_MARK = re.compile(r"第\s*\d{1,4}\s*页\s*[/／,，]?\s*共\s*\d{1,4}\s*页")
_PAGE_LINE = re.compile(
    r"^(?:第\s*\d{1,4}\s*页\s*[/／,，]?\s*共\s*\d{1,4}\s*页|共\s*\d{1,4}\s*页|\d{1,4}\s*/\s*\d{1,4}|第\s*\d{1,4}\s*页"
    r"|.{1,120}?\.(?:docx?|pdf|pptx?|txt|wps|xlsx?)_第\s*\d{1,4}\s*页)$",
    re.IGNORECASE,
)
_FILE_EXT = re.compile(r"\.(?:docx?|pdf|pptx?|txt|wps|xlsx?|rtf|html?)$", re.IGNORECASE)
# Forum reply / post metadata ("发表于 2011-11-23 13:50", "回复 2# xx", "2楼", "本帖最后由 … 编辑").
_FORUM = re.compile(
    r"^(?:发表于\s*\d{4}|回复\s*\S{0,20}\s*\d+\s*#|\d{1,4}\s*[#楼]$|本帖最后由.{0,40}编辑$|楼主\s*\S{0,20}$"
    r"|该帖子?已被|提示[:：]\s*作者被禁止|签名被屏蔽|马上注册|没有帐号|还没有账号|您需要登录后|快捷登录|只需一步)"
)
_URL = re.compile(r"https?://|www\.|[A-Za-z0-9-]{2,30}\.(?:com|cn|net|org|cc|top|info|vip)(?![A-Za-z])", re.IGNORECASE)
_ASCII_ONLY = re.compile(r"^[\x00-\x7f]+$")
# Site promotion of template sites: "以下是小编为大家精心整理的…欢迎阅读", "引论:我们为您整理了13篇…范文,供您借鉴",
# "…来源于网,欢迎阅读…", "xxx.COM更多总结编辑推荐".
_PROMO_STRONG = re.compile(
    r"小编|为(?:大家|您|你)(?:精心)?(?:整理|收集|搜集|准备|带来|推荐|分享)|整理了\s*\d+\s*篇|供(?:您|你|大家)(?:借鉴|参考)"
    r"|丰富您的创作|激发(?:您的)?创作灵感|来源于(?:网|网络|互联网)\s*[,，]?\s*欢迎|欢迎(?:阅读|借鉴|参考|下载|收藏)(?!.{0,3}(?:文件|通知))"
    r"|希望(?:对|能对|能帮助|能帮到)?(?:您|你|大家)(?:有所帮助|有帮助)|更多.{0,12}(?:编辑推荐|精彩内容|范文|请访问|请关注)|本文(?:由|来自).{0,12}(?:网友|用户)?(?:上传|投稿|整理)"
    r"|仅供(?:参考|学习)|如有侵权|请联系(?:我们|本站)删除|本站|本网站|范文网|文库网"
)
_PROMO_WEAK = re.compile(r"范文|欢迎|阅读|借鉴|参考|写作|精心|整理|收藏|推荐|网站|创作|灵感|资源")
# Writing-tips appendix of template sites: "XX的延伸内容:什么是工作总结,如何写工作总结".
_APPENDIX = re.compile(r"的延伸内容\s*[:：]|^(?:什么是|如何写).{0,12}(?:总结|计划|报告)\s*[?？]|写作(?:要点|技巧|指导|方法)\s*[?？:：]?$")
# Whole-line markers after which a page has no more report text.
_TAIL = re.compile(
    # list/section headers: the whole line is the header (optionally a count or '>>')
    r"^[【\[]?\s*(?:相关(?:资源|搜索|文档|推荐|阅读|文章|报道|链接|附件|新闻|下载|内容|专题)|猜你喜欢|热门(?:文章|推荐|搜索|下载|标签)"
    r"|推荐阅读|延伸阅读|最新(?:文章|发布|更新)|上一篇|下一篇|展开阅读全文|网友评论|发表评论|我要评论|评论区|全部评论|最新评论"
    r"|热门评论|精彩评论|往期(?:推荐|回顾|精选|文章)|精彩(?:推荐|回顾)|类似文章|精选文章|相关文件|打印本页|关闭窗口|扫一扫在手机打开当前页|返回顶部|您可能(?:还)?(?:感兴趣|喜欢)(?:的)?(?:文章|内容)?)"
    r"\s*[】\]]?\s*(?:[（(]\s*\d{0,6}\s*[)）])?\s*(?:[:：]|>>|»|＞＞)?\s*$"
    # leads: the line starts with the marker and may go on
    r"|^[（(【\[]?\s*(?:责任编辑|编辑\s*[:：]|上一篇\s*[:：]|下一篇\s*[:：]|上一篇文章|下一篇文章|本作品(?:来自|在|是|属于)|Public domain|看了.{1,20}的人还看了|本文链接|本文地址|转载请注明|预览结束)"
)

# "People who read this also read" list headers (阅读了该文档的用户还阅读了这些文档): a related
# list, wherever the page prints it.
_ALSO_READ = re.compile(r"^.{0,8}(?:阅读|下载|浏览|看|读)了?(?:该|本|这篇|此)?(?:文档|文章|资料|内容)?的(?:用户|人|网友)(?:还|也|同时)")
# Counters without labels ("阅读1286次", "阅 326 | 转 12", "在看 12", "赞 45", "文档评分4.5").
_COUNT_FIELD = re.compile(r"(?:阅读|浏览|点击|下载|收藏|评分|点赞|评论|留言|分享|转发|在看|阅|转|赞)\s*[:：]?\s*\d+(?:\.\d+)?\s*(?:次|人|个|分)?")
_COUNT_ONLY = re.compile(r"^(?:阅读|浏览|点击|点赞|赞|在看|收藏|分享|评论|留言|转发|喜欢|献花)\s*[:：]?\s*[(（]?\d{1,9}[)）]?\s*(?:次|人)?$")
_ANY_DATE = re.compile(r"\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}")
_CLOCK_DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}\s+\d{1,2}:\d{2}")
# Social/feed chrome of 公众号 articles and blogs: follow prompts, collection tags, comment box.
_SOCIAL = re.compile(
    r"蓝字|关注(?:我们|该公众号|本公众号|公众号)|长按(?:识别)?二维码|赞赏作者|喜欢作者|写留言|暂无留言|已无更多数据"
    r"|^收录于(?:合集|话题|专辑)|^#[^\s#]{1,20}(?:\s+\d+\s*个)?$|转藏到|^来自\s*[:：]"
)


# Related-content lists: a header of the kind "related / recommended / popular / you may
# like / more …" (相关推荐, 相关文章, 猜你喜欢, 热门文章, 推荐阅读, 延伸阅读, 大家都在看 …),
# alone or followed on the same line by the titles it lists.
_RELATED_HEAD = re.compile(
    r"^[【\[]?\s*(?:相关(?:推荐|文章|阅读|报道|链接|新闻|内容|资讯|专题|范文|文档|资料|资源|下载|搜索)|猜你(?:喜欢|想看|感兴趣)"
    r"|热门(?:文章|推荐|阅读|资讯|新闻|专题|范文|标签|搜索)|热点(?:推荐|新闻|文章|资讯)|推荐(?:阅读|文章|内容|资讯|范文|专题)"
    r"|延伸阅读|拓展阅读|扩展阅读|更多(?:推荐|相关|精彩|阅读|文章|范文)|精彩(?:推荐|阅读|文章)|往期(?:推荐|回顾|精选|文章)"
    r"|大家(?:都|还)在看|(?:您|你)可能(?:还)?(?:感兴趣|喜欢|想看)(?:的)?(?:文章|内容)?|看了(?:本文|该文|这篇文章?)的人还看了)"
    r"\s*[】\]]?\s*(?:[（(]\s*\d{0,6}\s*[)）])?\s*(?:[:：]|>>|»|＞＞)?\s*"
)
_RELATED_SEP = re.compile(r"\s+|[、|｜·•/]")
# Photo captions and credits: "…作政府工作报告。本报记者 X 摄", "（刘通摄）", "图为…", "资料图：…",
# "图片来自网络", "摄影：X" — what a page prints under a picture, not report text.
_PHOTO_CREDIT = re.compile(
    r"(?:记者|通讯员|摄影师?|特约摄影|图片?)\s*[:：/]?\s*[\u4e00-\u9fff·]{1,6}(?:\s+[\u4e00-\u9fff]{1,3}){0,2}\s*摄\s*[)）]?$"
    r"|[（(]\s*[\u4e00-\u9fff·]{2,10}\s*摄\s*[)）]$"
    r"|[。！]\s*[^。！？，]{0,16}记者\s*[\u4e00-\u9fff·]{2,4}(?:\s+[\u4e00-\u9fff]{1,3})?$"
    r"|^(?:图为|图片为|资料图|▲|△|图片来[自源]|图片均来自|图片由.{1,12}提供|(?:图|摄影|图片)\s*[:：/])"
)
# A news page's note of the headline it was first published under: "（原标题：…）",
# "原标题：…", "原题为…" — the whole line is the note (the headline itself is the title).
_ORIGINAL_TITLE = re.compile(
    r"^[（(【\[]?\s*(?:本文)?原(?:标)?题\s*[:：]\s*\S.{0,118}$"
    # 原题为/原题是 only as the whole quoted headline (原题为“鸡兔同笼”，我将其改编为… is a lesson report)
    r"|^[（(【\[]?\s*(?:本文)?原(?:标)?题[为是]\s*[:：]?\s*[《“\"][^》”\"]{1,100}[》”\"]\s*[)）】\]]?\s*$"
)
#: A caption is short; a report paragraph that mentions a photographer is not a caption.
PHOTO_MAX = 200


def is_related_list(line: str) -> bool:
    """A related-content header, alone or followed by the titles it lists (no sentences)."""
    if len(line) > 400:
        return False
    m = _RELATED_HEAD.match(line)
    if not m:
        return False
    rest = line[m.end():].strip()
    if not rest:
        return True
    if re.search(r"[。！？]", rest):
        return False  # "推荐阅读了…。": a sentence that starts with these words
    return len([p for p in _RELATED_SEP.split(rest) if p]) >= 2 or len(rest) <= 40


def is_photo_credit(line: str) -> bool:
    """A photo caption or credit line."""
    return len(line) <= PHOTO_MAX and bool(_PHOTO_CREDIT.search(line))


def is_original_title_note(line: str) -> bool:
    """A whole line noting the headline a news item was first published under."""
    return len(line) <= 120 and bool(_ORIGINAL_TITLE.match(line)) and not re.search(r"[。；]\S", line)


def is_count_info(line: str) -> bool:
    """A counter line: a lone 'reads/likes N', or date + counters, no sentence punctuation."""
    if len(line) > 80 or re.search(r"[。，；]", line):
        return False
    if _COUNT_ONLY.match(line):
        return True
    n = len(_COUNT_FIELD.findall(line))
    return n >= 2 or (n == 1 and bool(_ANY_DATE.search(line)))


def is_byline(line: str) -> bool:
    """A short author/time byline with a clock time ('原创 某某 2023-07-12 18:05 发表于安徽')."""
    return len(line) <= 80 and bool(_CLOCK_DATE.search(line)) and not re.search(r"[。，；]", line)


def is_social(line: str) -> bool:
    return len(line) <= 40 and bool(_SOCIAL.search(line))

# Site-generated digests printed above the report.  A 摘要/导读/内容简介 teaser repeats the
# first sentences (often cut with "…") and is dropped.  A 提纲/大纲/目录 *outline* is the
# report's own headings ("【提纲】一、工作措施。(一)…(二)…四、2021年工作打算。…"),
# including the headings of the part a truncated preview does not show: it is kept as
# report text, because it is the only place those sections are still named.
_SUMMARY = re.compile(
    r"^[【\[]\s*(?:提纲|大纲|目录|摘要|内容摘要|内容提要|导读|文档简介|内容简介)\s*[】\]]"
    r"|^(?:摘要|内容摘要|导读)\s*[:：].*(?:\.\.\.|…)$"
)
_OUTLINE_LABEL = re.compile(r"^[【\[]\s*(?:提纲|大纲|目录)\s*[】\]]")
_OUTLINE_ITEM = re.compile(r"[一二三四五六七八九十]{1,3}、|[(（][一二三四五六七八九十\d]{1,3}[)）]")
#: An outline needs this many numbered items: a label followed by a teaser is not one.
OUTLINE_MIN_ITEMS = 3


def bar_tokens(line: str) -> list[str]:
    """The words of a line once bar separators are removed."""
    return [t for t in _BAR_SPLIT.split(line) if t]


def is_bar(line: str) -> bool:
    """A share/print/font/login/forum-button bar: every word is a bar word."""
    if len(line) > 80:
        return False
    toks = bar_tokens(line)
    if not toks:
        return False
    return all(t in BAR_WORDS for t in toks)


def is_crumb(line: str) -> bool:
    """A one-line breadcrumb: '当前位置: 首页 > 资料 > 其它', '首页 > 新闻'."""
    if len(line) > SHORT_MAX:
        return False
    if _CRUMB_LABEL.match(line) or _CRUMB_HOME.match(line):
        return True
    parts = _CRUMB_SEP.split(line)
    return len(parts) >= 3 and all(0 < len(p) <= 16 for p in parts) and not any(c in line for c in "。，；")


def is_crumb_start(line: str) -> bool:
    """First line of a breadcrumb printed one item per line (label or 首页)."""
    return bool(_CRUMB_LABEL.match(line)) or line in ("首页", "网站首页", "主页", "首 页")


def is_crumb_label(line: str) -> bool:
    """A line that starts with a breadcrumb's label (当前位置：, 您所在的位置：)."""
    return bool(_CRUMB_LABEL.match(line))


def is_crumb_sep(line: str) -> bool:
    return line in (">", "»", "→", "＞", "›", "/", ">>")


_CRUMB_ITEM = re.compile(r"^[^。，；：:]{1,16}\s*[>»›＞/→]$")


def is_crumb_item(line: str) -> bool:
    """One breadcrumb item printed on its own line with its separator ('快讯 >')."""
    return bool(_CRUMB_ITEM.match(line))


def is_footer(line: str) -> bool:
    """ICP numbers, copyright notices, 'Powered by', 主办单位 … ."""
    return len(line) <= SHORT_MAX and bool(_FOOTER.search(line))


def is_info(line: str) -> bool:
    """Uploader / publish-time / views / source / editor lines of a page."""
    if len(line) > SHORT_MAX:
        return False
    if _DATETIME_ONLY.match(line):
        return True
    n = len(_INFO_FIELD.findall(line))
    if n >= 2:
        return True
    if n == 1 and _INFO_LEAD.match(line):
        # "来源：安徽日报", "时间：2026-02-11", "责任编辑：王五": one field and short.
        return len(line) <= 60 and not re.search(r"[。；]", line)
    # "2011-11-23 13:50| 发布者: vv7| 查看: 384": fields separated by bars
    return n == 1 and "|" in line and len(line) <= 100


def is_label_only(line: str) -> bool:
    """A field label whose value sits on the next line ('来源:' then '四川日报')."""
    return bool(_LABEL_ONLY.match(line))


def is_preview(line: str) -> bool:
    """Preview-truncation and 'download the full text' notices."""
    return len(line) <= SHORT_MAX and bool(_PREVIEW.search(line))


def is_page_marker(line: str) -> bool:
    return len(line) <= 200 and bool(_PAGE_LINE.match(line))


def is_forum_meta(line: str) -> bool:
    return len(line) <= SHORT_MAX and bool(_FORUM.match(line))


def is_tail_marker(line: str) -> bool:
    """A line after which nothing on the page is report text."""
    if len(line) > 100:
        return bool(_APPENDIX.search(line[:200])) and len(line) < 300
    return (
        bool(_TAIL.match(line)) or bool(_APPENDIX.search(line)) or is_forum_meta(line) or bool(_ALSO_READ.match(line))
        or is_related_list(line)
    )


def is_link_row(line: str) -> bool:
    """An advert/link row: many short space-separated names, no sentence punctuation."""
    if len(line) > SHORT_MAX or len(line) < 12:
        return False
    if any(c in line for c in "。，,；;：:！？“”"):
        return False
    parts = line.split(" ")
    return len(parts) >= 4 and all(1 <= len(p) <= 12 for p in parts)


def is_site_promo_line(line: str) -> bool:
    """A short line advertising the site ('gz85.COM更多总结编辑推荐')."""
    return len(line) <= 60 and bool(_URL.search(line)) and cjk_count(line) <= 20 and not line.endswith("。")


def promo_score(par: str) -> int:
    """How much a paragraph reads like a template site's promotion blurb."""
    if len(par) > 600:
        return 0
    strong = len(set(_PROMO_STRONG.findall(par)))
    weak = len(set(_PROMO_WEAK.findall(par)))
    return strong * 2 + (1 if weak >= 3 else 0)


def is_promo(par: str) -> bool:
    """Template-site promotion paragraph: dropped, it is not report text."""
    return promo_score(par) >= 2


def is_outline(line: str) -> bool:
    """A 【提纲】/【目录】 line listing the report's numbered headings: report text, kept."""
    m = _OUTLINE_LABEL.match(line)
    return bool(m) and len(_OUTLINE_ITEM.findall(line, m.end())) >= OUTLINE_MIN_ITEMS


def is_summary(line: str) -> bool:
    """A site's 摘要/导读 teaser (or an outline label with no outline after it): dropped."""
    return bool(_SUMMARY.match(line)) and not is_outline(line)


def is_ascii_noise(line: str) -> bool:
    """A short Latin-only line ('Baidu', 'false', hash ids) on a Chinese page."""
    return len(line) <= 60 and bool(_ASCII_ONLY.match(line)) and not re.fullmatch(r"[\d.,%]+", line)


def strip_file_ext(title: str) -> str:
    return _FILE_EXT.sub("", title).strip()


def ends_sentence(line: str) -> bool:
    return bool(line) and line[-1] in TERMINAL


#: No rule of chrome_kind after the first three accepts a line longer than this or
#: SHORT_MAX (is_page_marker's 200 is the largest other length limit among them).
_LONGEST_CHROME = 200


def chrome_kind(line: str) -> str | None:
    """Name the kind of chrome a single line is, or ``None`` if it may be report text."""
    if not line:
        return None
    if is_bar(line) or _SEP_ONLY.match(line):
        return "bar"
    if _HOME_LINK.match(line):
        return "nav"
    if len(line) > _LONGEST_CHROME and len(line) > SHORT_MAX:  # a paragraph: the rules below are for short lines
        return "related" if is_related_list(line) else None
    if is_photo_credit(line):
        return "photo"
    if is_original_title_note(line):
        return "info"
    if is_related_list(line) and _RELATED_HEAD.match(line).end() < len(line):  # type: ignore[union-attr]
        return "related"  # header and titles on one line (a lone header is a tail marker, see tail_cut)
    if is_crumb(line):
        return "crumb"
    if is_footer(line):
        return "footer"
    if is_preview(line):
        return "preview"
    if is_page_marker(line):
        return "page"
    if is_info(line):
        return "info"
    if is_forum_meta(line):
        return "forum"
    if is_count_info(line) or is_byline(line):
        return "info"
    if is_social(line):
        return "social"
    if len(line) <= 40 and _ALSO_READ.match(line):
        return "related"
    if is_site_promo_line(line):
        return "promo"
    if is_link_row(line):
        return "links"
    if is_ascii_noise(line):
        return "ascii"
    return None
