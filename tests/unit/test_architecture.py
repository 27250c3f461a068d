"""The package's shape: layers point one way, no import cycle, long modules say why.

Ruff's banned imports (mlmodels/<layer>/ruff.toml) stop an upward import at lint time; these
tests read every import statement (function-level ones included, where cycles hide) and check
the whole graph, so a rule cannot be dodged by a lazy import.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "mlmodels"
# What each layer may import besides itself and the leaves (the root package: __version__;
# files, sql: helpers every layer shares), which import nothing of the package.
LAYERS = {
    "engine": set(),
    "spec": set(),
    "learn": {"spec", "engine"},
    "serve": {"spec", "learn", "engine"},
    "quality": {"spec", "engine"},
    "reports": {"spec"},
}
LEAVES = {"mlmodels", "mlmodels.files", "mlmodels.sql"}
MAX_LINES = 500
LONG_REASON = "Longer than 500 lines because"


def module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(root: Path) -> dict[str, set[str]]:
    """Map each module of the package at ``root`` to the package modules it imports anywhere."""
    # mlmodels/dbt holds dbt models (run by dbt, never imported): not modules of the package
    files = {module_name(path, root): path for path in root.rglob("*.py")
             if "dbt" not in path.relative_to(root).parts}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        edges = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                # `from pkg import mod` imports the module mod; `from pkg import Name` pkg itself
                targets = [f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in files
                           else node.module for alias in node.names]
            else:
                continue
            edges |= {target for target in targets
                      if target.split(".")[0] == root.name and target in files and target != name}
        graph[name] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Return the strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in LAYERS) else None


def layer_violations(graph: dict[str, set[str]]) -> list[str]:
    """Return 'a -> b' for every import that leaves its layer for one it may not use."""
    wrong = []
    for module, targets in graph.items():
        if module in LEAVES:
            wrong += [f"{module} -> {target}" for target in targets]  # leaves import nothing
            continue
        layer = layer_of(module)
        if layer is None:
            continue  # workflow, checks, cli, scaffold, demo: the top may use everything
        for target in targets - LEAVES:
            target_layer = layer_of(target)
            if target_layer != layer and target_layer not in LAYERS[layer]:
                wrong.append(f"{module} -> {target}")
            elif target_layer == layer and target == f"mlmodels.{layer}" and module != target:
                # a module importing its own package's __init__ closes a loop through it
                wrong.append(f"{module} -> {target} (import the sibling module itself)")
    return sorted(wrong)


def test_the_package_has_no_import_cycle():
    assert cycles(import_graph(PACKAGE)) == []


def test_every_import_respects_the_layers():
    assert layer_violations(import_graph(PACKAGE)) == []


def test_every_layer_has_its_ruff_ban_list():
    for layer, allowed in LAYERS.items():
        config = (PACKAGE / layer / "ruff.toml").read_text()
        for other in {*LAYERS, "workflow", "checks", "cli", "scaffold"} - allowed - {layer}:
            assert f'"mlmodels.{other}".msg' in config, (layer, other)


def test_long_modules_say_why_at_their_top():
    unexplained = []
    for path in PACKAGE.rglob("*.py"):
        if "dbt" in path.relative_to(PACKAGE).parts:
            continue
        text = path.read_text()
        if len(text.splitlines()) > MAX_LINES:
            docstring = ast.get_docstring(ast.parse(text)) or ""
            if LONG_REASON not in docstring:
                unexplained.append(str(path.relative_to(PACKAGE)))
    assert unexplained == []


# The checks above must be able to fail: run them on packages that break the rules.

def _package(root: Path, modules: dict[str, str]) -> Path:
    for name, source in modules.items():
        path = root / "mlmodels" / f"{name.replace('.', '/')}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    return root / "mlmodels"


def test_a_cycle_through_a_lazy_import_is_found(tmp_path):
    package = _package(tmp_path, {
        "__init__": "", "learn/__init__": "", "spec/__init__": "",
        "spec/specs": "def f():\n    from mlmodels.learn import pipelines\n",
        "learn/pipelines": "from mlmodels.spec.specs import f\n",
    })
    assert cycles(import_graph(package)) == [["mlmodels.learn.pipelines", "mlmodels.spec.specs"]]


@pytest.mark.parametrize(("source", "expected"), [
    ("from mlmodels.serve import registry\n", "mlmodels.learn.training -> mlmodels.serve.registry"),
    ("import mlmodels.reports.page\n", "mlmodels.learn.training -> mlmodels.reports.page"),
    ("from mlmodels.learn import Trained\n",
     "mlmodels.learn.training -> mlmodels.learn (import the sibling module itself)"),
])
def test_an_import_against_the_layers_is_found(tmp_path, source, expected):
    package = _package(tmp_path, {
        "__init__": "", "learn/__init__": "", "serve/__init__": "", "serve/registry": "",
        "reports/__init__": "", "reports/page": "", "learn/training": source,
    })
    assert layer_violations(import_graph(package)) == [expected]
