"""Every import points down: the layering of DESIGN.md, read from the source with `ast`.

Every import counts: module level, inside functions (lazy imports) and under TYPE_CHECKING. A module
that imports a package's submodule through `from workbench.checks import labels` imports that
submodule. Dynamic imports (`importlib.import_module` in the check registry) are not imports of a
particular module and are not seen.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "workbench"

# shared machinery: imported by everything above, importing nothing above it (modules another branch
# has not written yet are simply absent)
BOTTOM = {
    "workbench",
    "workbench._imports",
    "workbench.errors",
    "workbench.data",
    "workbench.schema",
    "workbench.stats",
    "workbench.model",
    "workbench.store",
    "workbench.knn",
    "workbench.threads",
    "workbench.ann",
    "workbench.prdc",
    "workbench.text_features",
    "workbench.diversity_metrics",
    "workbench.lexicon",
    "workbench.minhash",
    "workbench.embed",
    "workbench.generate",
    "workbench.distributed",
}
CHECKS = "workbench.checks"
CHECK_INFRASTRUCTURE = {CHECKS, f"{CHECKS}.base"}
UI_PACKAGES = ("widgets", "ipywidgets", "anywidget")
# import cycles another part of issue 11 removes (audit <-> report: `results.py` takes CheckResult,
# AuditReport and the checklist, so audit only runs checks and report only renders); delete the entry then
KNOWN_CYCLES: set[frozenset[str]] = set()  # none left: audit -> report -> results point down


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


MODULES: dict[str, Path] = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(name: str) -> set[str]:
    """Every module `name` imports (workbench modules resolved to the module, others by their top name)."""
    path = MODULES[name]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.add(_resolve(alias.name))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join([*base, node.module] if node.module else base)
            else:
                source = node.module or ""
            for alias in node.names:
                sub = f"{source}.{alias.name}"
                found.add(sub if sub in MODULES else _resolve(source))
    found.discard(name)
    return found


def _resolve(dotted: str) -> str:
    """The workbench module a dotted name lives in (its longest module prefix), else the top package."""
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        candidate = ".".join(parts[:i])
        if candidate in MODULES:
            return candidate
    return parts[0]


GRAPH = {name: {m for m in _imports(name) if m in MODULES} for name in MODULES}
# the importers (workbench.formats and its modules) are bottom layer: data.load calls them
BOTTOM |= {m for m in MODULES if m == "workbench.formats" or m.startswith("workbench.formats.")}
ALL_IMPORTS = {name: _imports(name) for name in MODULES}


def test_the_package_is_found():
    assert {"workbench.stats", "workbench.knn", "workbench.checks.coverage", "workbench.audit"} <= set(MODULES)
    assert "workbench.stats" in GRAPH["workbench.checks.labels"]  # imports are seen
    assert "workbench.checks.labels" in GRAPH["workbench.spotcheck"]  # lazy ones too


def test_no_check_module_imports_another():
    checks = [m for m in MODULES if m.startswith(f"{CHECKS}.") and m not in CHECK_INFRASTRUCTURE]
    assert len(checks) >= 7
    bad = {
        m: sorted(i for i in GRAPH[m] if i.startswith(f"{CHECKS}.") and i not in CHECK_INFRASTRUCTURE) for m in checks
    }
    bad = {m: v for m, v in bad.items() if v}
    assert not bad, f"check modules import other check modules (move the shared code down): {bad}"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m in BOTTOM))
def test_bottom_layer_imports_nothing_above_it(module):
    above = sorted(i for i in GRAPH[module] if i not in BOTTOM)
    assert not above, f"{module} is bottom layer but imports {above}"


def test_no_workbench_module_imports_the_ui():
    bad = {m: sorted(i for i in imports if i.split(".")[0] in UI_PACKAGES) for m, imports in ALL_IMPORTS.items()}
    bad = {m: v for m, v in bad.items() if v}
    assert not bad, f"workbench modules import UI packages: {bad}"


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles():
    cycles = [c for c in _cycles(GRAPH) if frozenset(c) not in KNOWN_CYCLES]
    assert not cycles, f"import cycles among workbench modules: {cycles}"


def test_the_cycle_finder_finds_cycles():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_only_the_cli_imports_the_validity_report():
    """validity runs checks and the audit; nothing below it may import it (the report reads it duck-typed)."""
    importers = sorted(m for m, deps in GRAPH.items() if "workbench.validity" in deps)
    assert set(importers) <= {"workbench.cli", "workbench.report"}, importers
    assert "workbench.validity" in GRAPH["workbench.cli"]
