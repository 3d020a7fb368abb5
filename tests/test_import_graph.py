"""The import graph of the product's packages: no cycles, no lower layer importing an upper one.

Every ``import`` statement counts, including the ones inside functions (a lazy import
is still a dependency, and was how the cycles of the old layout were hidden).  The
graph is read from the source with ``ast``, so nothing is imported to check it.

Layers, lowest first (a module may import its own layer and the ones below):

0. base: ``indexer.models``, ``indexer.settings``, ``indexer.textnorm``, ``indexer.loadcache``,
   ``indexer.segdict``, ``indexer.analysis``: data classes, settings and text analysis;
1. text: ``indexer.clean``, ``indexer.meta``, ``indexer.ingest``, ``indexer.evaluate``, ``indexer.cleaneval``;
2. engine: ``indexer.engine`` (the storage engine: no Flask, no pipeline);
3. pipeline: ``indexer.pipeline``, ``indexer.dedup``;
4. app: ``searchapp`` (Flask UI, API, admin, the search engine around the index);
5. entry points: ``searchapp.cli``, ``searchapp.evaluate_relevance`` and ``bench``, which may
   import everything.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("indexer", "searchapp", "bench")

# longest prefix wins
LAYERS: dict[str, int] = {
    "indexer": 0,
    "indexer.models": 0,
    "indexer.settings": 0,
    "indexer.textnorm": 0,
    "indexer.loadcache": 0,
    "indexer.segdict": 0,
    "indexer.analysis": 0,
    "indexer.clean": 1,
    "indexer.meta": 1,
    "indexer.ingest": 1,
    "indexer.provenance": 1,  # a page's source URL and retrieval date (reads indexer.models only)
    "indexer.evaluate": 1,
    "indexer.cleaneval": 1,
    "indexer.engine": 2,
    "indexer.pipeline": 3,
    "indexer.dedup": 3,
    "searchapp": 4,
    "searchapp.cli": 5,
    "searchapp.evaluate_relevance": 5,  # a command: ranks this product beside bench's baseline
    "bench": 5,
}
LAYER_NAMES = ["base", "text", "engine", "pipeline", "app", "entry point"]
# third-party packages a layer must not use (the engine is storage, not a web layer)
FORBIDDEN_THIRD_PARTY = {"indexer": ("flask", "werkzeug", "markupsafe", "jinja2")}


def _modules() -> dict[str, Path]:
    """Every module of the product: dotted name → file."""
    out = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            rel = path.relative_to(ROOT).with_suffix("")
            parts = list(rel.parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = path
    return out


def _imports(name: str, path: Path, modules: dict[str, Path]) -> list[tuple[str, int, str]]:
    """(imported module, line, imported name or "") for every import in one module, resolved to
    the product's modules; third-party imports are returned with their top-level name."""
    is_pkg = path.name == "__init__.py"
    package = name if is_pkg else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[str, int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.append((_owner(alias.name, modules), node.lineno, ""))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                if node.level > 1:
                    base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                target = sub if sub in modules else _owner(base, modules)
                found.append((target, node.lineno, alias.name if target == _owner(base, modules) else ""))
    return found


def _owner(dotted: str, modules: dict[str, Path]) -> str:
    """The product module a dotted name refers to (its longest known prefix), or the third-party top name."""
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        cand = ".".join(parts[:i])
        if cand in modules:
            return cand
    return parts[0]


def _layer(module: str) -> int:
    parts = module.split(".")
    for i in range(len(parts), 0, -1):
        cand = ".".join(parts[:i])
        if cand == "indexer" and module != "indexer":
            continue  # a new module of indexer/ must be given its layer, not inherit "base"
        if cand in LAYERS:
            return LAYERS[cand]
    raise AssertionError(f"{module}: no layer assigned (add it to LAYERS in {Path(__file__).name})")


def _graph() -> tuple[dict[str, Path], dict[str, set[str]], list[tuple[str, int, str, str]]]:
    modules = _modules()
    edges: dict[str, set[str]] = {m: set() for m in modules}
    records = []
    for name, path in modules.items():
        for target, line, imported in _imports(name, path, modules):
            records.append((name, line, target, imported))
            if target in modules and target != name:
                edges[name].add(target)
    return modules, edges, records


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def _is_facade_edge(a: str, b: str, modules: dict[str, Path]) -> bool:
    """A package's ``__init__`` re-exporting its own submodules is not a dependency cycle."""
    return modules[a].name == "__init__.py" and b.startswith(a + ".")


def test_no_import_cycles():
    modules, edges, _ = _graph()
    pruned = {a: {b for b in bs if not _is_facade_edge(a, b, modules)} for a, bs in edges.items()}
    assert _cycles(pruned) == []


def test_no_lower_layer_imports_an_upper_one():
    modules, _, records = _graph()
    bad = []
    for name, line, target, _imported in records:
        if target not in modules:
            continue
        if _layer(target) > _layer(name):
            bad.append(f"{modules[name].relative_to(ROOT)}:{line}: {name} ({LAYER_NAMES[_layer(name)]}) "
                       f"imports {target} ({LAYER_NAMES[_layer(target)]})")
    assert bad == []


def test_engine_imports_no_private_names_across_modules_and_no_web_framework():
    modules, _, records = _graph()
    bad = []
    for name, line, target, imported in records:
        where = f"{modules[name].relative_to(ROOT)}:{line}"
        if name.startswith("indexer.engine") and target in modules and target != name \
                and imported.startswith("_") and not imported.startswith("__"):
            bad.append(f"{where}: private {target}.{imported}")
        for pkg, forbidden in FORBIDDEN_THIRD_PARTY.items():
            if (name == pkg or name.startswith(pkg + ".")) and target in forbidden:
                bad.append(f"{where}: {name} imports {target}")
    assert bad == []


@pytest.mark.parametrize("source, expected", [
    ("from . import b\n", {"pkg.b"}),
    ("from .b import thing\n", {"pkg.b"}),
    ("def f():\n    from ..top import x\n", {"top"}),
])
def test_the_graph_reader_sees_relative_and_lazy_imports(tmp_path, source, expected):
    """The checks above can fail: the reader resolves relative and function-level imports."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "a.py").write_text(source)
    (tmp_path / "pkg" / "b.py").write_text("thing = 1\n")
    (tmp_path / "top.py").write_text("x = 1\n")
    modules = {"pkg": tmp_path / "pkg" / "__init__.py", "pkg.a": tmp_path / "pkg" / "a.py",
               "pkg.b": tmp_path / "pkg" / "b.py", "top": tmp_path / "top.py"}
    found = {t for t, _, _ in _imports("pkg.a", modules["pkg.a"], modules)}
    assert found == expected


def test_a_cycle_and_an_upward_import_are_reported():
    assert _cycles({"a": {"b"}, "b": {"a"}, "c": set()}) == [["a", "b"]]
    assert _layer("indexer.engine.store") < _layer("searchapp.engine")
