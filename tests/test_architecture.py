"""The layout is the architecture: every module is in ARCHITECTURE.md (and every file listed
there exists), no module is over 500 lines, no import cycle (function-local imports
included), no private name used outside its module, and the stages are sub-packages."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
PACKAGE = ROOT / "bayes_btc"
STAGES = ["inputs", "reconstruction", "priors", "models", "inference", "decisions", "output"]
MAX_LINES = 500


def _modules() -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


MODULES = _modules()


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    """(module, names) of every import in a file, at any depth (function-local too)."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out += [(a.name, []) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.module, [a.name for a in node.names]))
    return out


def _graph() -> dict[str, set[str]]:
    """Edges between package modules; `from pkg import mod` points at the module."""
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for name, path in MODULES.items():
        for module, names in _imports(path):
            if not module.startswith("bayes_btc"):
                continue
            targets = [f"{module}.{n}" for n in names if f"{module}.{n}" in MODULES]
            if len(targets) < len(names) or not names:
                targets.append(module)
            graph[name] |= {t for t in targets if t in MODULES and t != name}
    return graph


def test_every_module_is_in_the_architecture_map():
    text = (ROOT / "ARCHITECTURE.md").read_text()
    listed = set(re.findall(r"`(bayes_btc/[\w/]*(?:\.py|/)?)`", text))
    files = {str(p.relative_to(ROOT)) for p in MODULES.values() if p.name != "__init__.py"}
    packages = {
        f"{p.parent.relative_to(ROOT)}/" for p in MODULES.values() if p.name == "__init__.py"
    }
    missing = sorted((files | packages) - listed)
    assert not missing, f"add to ARCHITECTURE.md: {missing}"
    stale = sorted(p for p in listed if not (ROOT / p).exists())
    assert not stale, f"ARCHITECTURE.md lists files that do not exist: {stale}"


def test_stages_are_sub_packages():
    for stage in STAGES:
        assert (PACKAGE / stage / "__init__.py").exists(), stage


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_over_the_limit(name):
    n = len(MODULES[name].read_text().splitlines())
    assert n <= MAX_LINES, f"{name} has {n} lines (limit {MAX_LINES}): split it"


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of the graph (as a path that returns to its start), or None."""
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                return [*stack[stack.index(n) :], n]
            if n not in state and (found := visit(n)):
                return found
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state and (found := visit(m)):
            return found
    return None


def test_no_import_cycle():
    cycle = _find_cycle(_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_cycle_check_sees_function_local_imports(tmp_path):
    """The checks above can fail: a cycle closed by an import inside a function is found."""
    (tmp_path / "a.py").write_text("from bayes_btc.b import g\n")
    (tmp_path / "b.py").write_text("def g():\n    from bayes_btc.a import f\n")
    graph = {f"bayes_btc.{m}": {i for i, _ in _imports(tmp_path / f"{m}.py")} for m in ("a", "b")}
    assert _find_cycle(graph) == ["bayes_btc.a", "bayes_btc.b", "bayes_btc.a"]
    assert _find_cycle({"x": {"y"}, "y": set()}) is None


def test_no_private_name_used_across_modules():
    offences = []
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text())
        aliases = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("bayes_btc"):
                for a in node.names:
                    if a.name.startswith("_") and not a.name.startswith("__"):
                        offences.append(f"{name}: from {node.module} import {a.name}")
                    if f"{node.module}.{a.name}" in MODULES:
                        aliases[a.asname or a.name] = f"{node.module}.{a.name}"
            elif isinstance(node, ast.Import):
                for a in node.names:
                    if a.name.startswith("bayes_btc"):
                        aliases[a.asname or a.name] = a.name
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in aliases
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
            ):
                offences.append(f"{name}: {aliases[node.value.id]}.{node.attr}")
    assert not offences, offences
