"""The load cache (indexer.loadcache) and what uses it: the region gazetteer and jieba's FREQ.

A cached table must be exactly what a fresh build gives; a stale or corrupt cache file
is rebuilt, never trusted and never a crash; an unwritable cache directory only means
building in memory.
"""
from __future__ import annotations

import marshal
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from indexer import loadcache, segdict
from indexer.meta import regions

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def cache(tmp_path, monkeypatch) -> Path:
    d = tmp_path / "cache"
    monkeypatch.setenv("REPORTSEARCH_CACHE_DIR", str(d))
    return d


# -- the generic cache ---------------------------------------------------------------------------

def test_cache_dir_from_environment(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("REPORTSEARCH_CACHE_DIR", str(tmp_path / "x"))
    assert loadcache.cache_dir() == tmp_path / "x"
    monkeypatch.setenv("REPORTSEARCH_CACHE_DIR", "off")
    assert loadcache.cache_dir() is None
    monkeypatch.delenv("REPORTSEARCH_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert loadcache.cache_dir() == tmp_path / "xdg" / "reportsearch"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert loadcache.cache_dir() == Path.home() / ".cache" / "reportsearch"


@pytest.mark.parametrize("codec", ["pickle", "marshal"])
def test_used_when_valid_rebuilt_when_stale_or_corrupt(cache, codec) -> None:
    calls = []

    def build():
        calls.append(1)
        return {"a": len(calls)}

    assert loadcache.load_or_build("t", [b"v1"], build, codec=codec) == {"a": 1}
    assert (cache / "t.cache").is_file()
    assert loadcache.load_or_build("t", [b"v1"], build, codec=codec) == {"a": 1}  # from the file
    assert len(calls) == 1
    # stale: other inputs → rebuilt and replaced
    assert loadcache.load_or_build("t", [b"v2"], build, codec=codec) == {"a": 2}
    assert loadcache.load_or_build("t", [b"v2"], build, codec=codec) == {"a": 2}
    assert len(calls) == 2
    # corrupt: the right key, then garbage / a truncated payload / an empty file
    data = (cache / "t.cache").read_bytes()
    head = len(loadcache.FORMAT) + 32
    for bad in (data[:head] + b"\x00garbage\xff" * 3, data[: head + 3], b"", data[:10]):
        (cache / "t.cache").write_bytes(bad)
        n = len(calls)
        assert loadcache.load_or_build("t", [b"v2"], build, codec=codec) == {"a": n + 1}
        assert len(calls) == n + 1
        assert loadcache.load_or_build("t", [b"v2"], build, codec=codec) == {"a": n + 1}  # rewritten
    # a decoded value of the wrong shape is rejected by check
    loadcache.write("t", loadcache.make_key([b"v3"]), ["not", "a", "dict"], codec=codec)
    n = len(calls)
    assert loadcache.load_or_build("t", [b"v3"], build, codec=codec, check=lambda v: isinstance(v, dict)) == {"a": n + 1}
    assert not [p for p in cache.iterdir() if p.name.endswith(".tmp")]  # no temporary files left


def test_unwritable_cache_dir_builds_in_memory(tmp_path, monkeypatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("REPORTSEARCH_CACHE_DIR", str(blocker / "cache"))  # cannot be created
    calls = []
    for _ in range(2):
        assert loadcache.load_or_build("t", [b"k"], lambda: calls.append(1) or 7) == 7
    assert len(calls) == 2
    if os.geteuid() != 0:  # root ignores permissions
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        monkeypatch.setenv("REPORTSEARCH_CACHE_DIR", str(ro))
        assert loadcache.load_or_build("t", [b"k"], lambda: 8) == 8
        assert list(ro.iterdir()) == []


def test_disabled_cache(monkeypatch) -> None:
    monkeypatch.setenv("REPORTSEARCH_CACHE_DIR", "off")
    assert loadcache.load_or_build("t", [b"k"], lambda: 9) == 9
    assert loadcache.write("t", b"k" * 32, 1) is False


# -- the region gazetteer --------------------------------------------------------------------------

def _fresh_gazetteer() -> regions._Gazetteer:
    g = regions._Gazetteer()
    g.load()
    return g


def _same_gazetteer(a: regions._Gazetteer, b: regions._Gazetteer) -> None:
    assert len(a.nodes) == len(b.nodes) > 40_000
    assert all(a.nodes[i] == b.nodes[i] for i in range(0, len(a.nodes), 7))
    assert list(a.aliases) == list(b.aliases)
    assert all(a.aliases[k] == b.aliases[k] for k in list(a.aliases)[::5])
    assert a.common_words == b.common_words and a.provinces == b.provinces
    assert a.autonomous_regions == b.autonomous_regions


_TEXTS = ["罗甸县卫生局2012年工作总结\n健康罗甸建设。全县卫生工作。木引卫生院", "襄樊市卫生局工作计划\n全市",
          "巍山镇卫生院2015年工作总结", "朝阳区卫生局工作总结\n北京市朝阳区", "顺利通过验收，医保定点，名义和政府"]


def test_gazetteer_from_cache_equals_fresh_build(cache) -> None:
    if regions._jionlp_path("china_location.zip") is None:
        pytest.skip("jionlp gazetteer unavailable")
    built = _fresh_gazetteer()
    assert (cache / "region-gazetteer.cache").is_file()
    cached = _fresh_gazetteer()
    _same_gazetteer(built, cached)
    for text in _TEXTS:
        if built.automaton is not None:
            assert list(built.automaton.iter_long(text)) == list(cached.automaton.iter_long(text))
    # the process-wide gazetteer (whichever way it was loaded) reads texts the same way
    g = regions.gazetteer()
    _same_gazetteer(g, cached)
    for text in _TEXTS:
        assert [(m.key, m.start, m.weight, m.nodes) for m in regions._mentions(cached, text, 5)] == \
               [(m.key, m.start, m.weight, m.nodes) for m in regions._mentions(g, text, 5)]


def test_gazetteer_cache_corrupt_or_stale_is_rebuilt(cache, monkeypatch) -> None:
    if regions._jionlp_path("china_location.zip") is None:
        pytest.skip("jionlp gazetteer unavailable")
    ref = _fresh_gazetteer()
    f = cache / "region-gazetteer.cache"
    data = f.read_bytes()
    f.write_bytes(data[: len(data) // 2])  # truncated
    _same_gazetteer(_fresh_gazetteer(), ref)
    assert f.read_bytes() == data or len(f.read_bytes()) > len(data) // 2  # rewritten whole
    # a valid file whose key is another's (inputs changed) is not used
    builds = []
    real = regions._Gazetteer._build_state

    def counting(self):
        builds.append(1)
        return real(self)

    monkeypatch.setattr(regions._Gazetteer, "_build_state", counting)
    _fresh_gazetteer()
    assert builds == []  # valid: used
    head = len(loadcache.FORMAT)
    good = f.read_bytes()
    f.write_bytes(good[:head] + bytes(32) + good[head + 32:])  # same payload, another key
    _same_gazetteer(_fresh_gazetteer(), ref)
    assert builds == [1]
    # a payload that unpickles to something else entirely
    f.write_bytes(good[: head + 32] + marshal.dumps(1))
    _same_gazetteer(_fresh_gazetteer(), ref)
    assert builds == [1, 1]


def test_gazetteer_with_unwritable_cache_dir(tmp_path, monkeypatch) -> None:
    if regions._jionlp_path("china_location.zip") is None:
        pytest.skip("jionlp gazetteer unavailable")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("REPORTSEARCH_CACHE_DIR", str(blocker / "cache"))
    g = _fresh_gazetteer()
    _same_gazetteer(g, regions.gazetteer())


def test_alias_and_node_views() -> None:
    aliases = regions._Aliases({"甲乙": 3 << 3 | 2, "丙丁": (1 << 3 | 0, 2 << 3 | 3)})
    assert aliases["甲乙"] == [regions._Alias(3, "bare")]
    assert aliases.get("丙丁") == [regions._Alias(1, "full"), regions._Alias(2, "town")]
    assert aliases.get("无") is None and aliases.get("无", []) == [] and "无" not in aliases
    assert "甲乙" in aliases and list(aliases) == ["甲乙", "丙丁"] and len(aliases) == 2
    assert aliases.get(["unhashable"]) is None and ["unhashable"] not in aliases
    with pytest.raises(KeyError):
        aliases["无"]
    nodes = regions._Nodes(["甲省", "乙市"], bytes([0, 1]), [("甲省",), ("甲省", "乙市")])
    assert nodes[1] == regions._Node("乙市", 1, ("甲省", "乙市")) and nodes[1] is nodes[1]
    assert len(nodes) == 2 and next(iter(nodes)).name == "甲省" and nodes[-1].name == "乙市"


# -- jieba's FREQ --------------------------------------------------------------------------------

def _reference_freq() -> tuple[dict, int]:
    import jieba

    t = jieba.Tokenizer()  # jieba's own loading, not indexer.segdict's
    t.initialize()
    return t.FREQ, t.total


def test_lazy_freq_answers_exactly_like_jiebas_dict() -> None:
    ref, _total = _reference_freq()
    table = segdict.LazyFreq.table_of(ref)
    assert table is not None
    lazy = segdict.LazyFreq(*table)
    rng = random.Random(3)
    keys = list(ref)
    for k in rng.sample(keys, 30_000) + keys[:2000] + keys[-2000:]:
        assert k in lazy and lazy[k] == ref[k] and lazy.get(k) == ref[k] and lazy.get(k, -1) == ref[k]
    for k in ["", "不存在的词语嘛", "zzqqx", "a" * 50, "\ud800", "中华人民共和国万岁万岁", "\n", "公共\n卫生"] + \
             [k + "鑫" for k in rng.sample(keys, 3000)]:
        assert (k in lazy) == (k in ref) and lazy.get(k) == ref.get(k) and lazy.get(k, -1) == ref.get(k, -1), k
        if k not in ref:
            with pytest.raises(KeyError):
                lazy[k]
    assert lazy.get(5) is None and 5 not in lazy
    assert "鑫鑫鑫测" not in ref
    lazy["鑫鑫鑫测"] = 3  # add_word's writes
    assert lazy["鑫鑫鑫测"] == 3 and "鑫鑫鑫测" in lazy
    full = lazy.promote()
    assert full == dict(ref, 鑫鑫鑫测=3) and len(lazy) == len(ref) + 1


def test_lazy_freq_promotes_to_the_dict_and_its_owner(monkeypatch) -> None:
    freq = {"公共": 10, "公": 0, "卫生": 5, "卫": 0, "服务": 0}
    table = segdict.LazyFreq.table_of(freq)

    class Owner:
        FREQ = None

    owner = Owner()
    lazy = segdict.LazyFreq(*table, owner=owner)
    owner.FREQ = lazy
    monkeypatch.setattr(segdict, "PROMOTE_AFTER", 3)
    assert [lazy.get(k) for k in ("公共", "卫", "服务", "无")] == [10, 0, 0, None]
    assert owner.FREQ == freq and type(owner.FREQ) is dict  # promoted after 3 table lookups
    assert lazy["卫生"] == 5 and "无" not in lazy and sorted(lazy.items()) == sorted(freq.items())


def test_tokenizer_from_cache_cuts_like_jieba(cache) -> None:
    """In a fresh process: built once (cold), then read from the cache file; jieba's cut unchanged."""
    code = (
        "import sys, json, jieba\n"
        "from indexer import segdict\n"
        "dt = segdict.tokenizer()\n"
        "ref = jieba.Tokenizer(); ref.initialize()\n"
        "texts = ['公共卫生服务中心推进基本药物制度', '2011-2020年PM2.5浓度下降3.5%', 'C++与C#，GDP增长6.5％',\n"
        "         '㐀㐁罕用字与〇', '顺利通过验收，医保定点，名义和政府', '']\n"
        "for t in texts:\n"
        "    assert list(dt.cut(t)) == list(ref.cut(t)), t\n"
        "    assert list(dt.cut(t, HMM=False)) == list(ref.cut(t, HMM=False)), t\n"
        "    assert list(dt.tokenize(t, mode='search')) == list(ref.tokenize(t, mode='search')), t\n"
        "assert dt.total == ref.total\n"
        "print(type(dt.FREQ).__name__)\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    kinds = []
    for _ in range(2):
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=False, capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr
        kinds.append(out.stdout.strip())
    assert kinds == ["dict", "LazyFreq"]  # cold: jieba's dict (and the table written); warm: the table
    assert (cache / f"{segdict.CACHE_NAME}.cache").is_file()
    # corrupt → jieba's own loading again, same cuts
    (cache / f"{segdict.CACHE_NAME}.cache").write_bytes(b"garbage")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=False, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and out.stdout.strip() == "dict", out.stderr


def test_regions_and_analysis_share_one_jieba_dictionary() -> None:
    from indexer import analysis

    regions._on_word_boundaries("预热一下", 0, 2)
    assert regions._TOKENIZER is analysis._jieba_dt()


# -- datasketch is not needed for indexing -------------------------------------------------------

def test_lsh_params_equal_datasketch() -> None:
    from datasketch import MinHashLSH

    from indexer import dedup

    for (threshold, num_perm), (b, r) in dedup._LSH_PARAMS.items():
        lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
        assert (lsh.b, lsh.r) == (b, r)
    dedup.lsh_params.cache_clear()
    lsh = MinHashLSH(threshold=0.7, num_perm=dedup.NUM_PERM)
    assert dedup.lsh_params(0.7)[1:] == (lsh.b, lsh.r)


def test_indexing_imports_neither_datasketch_nor_scipy(tmp_path) -> None:
    code = (
        "import sys\n"
        "from indexer.pipeline import index_paths\n"
        f"index_paths([{str(ROOT / 'corpus')!r}], {str(tmp_path / 'ix')!r})\n"
        "bad = [m for m in ('datasketch', 'scipy', 'pkg_resources') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=False, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
