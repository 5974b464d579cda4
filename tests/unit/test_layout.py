"""The package's layers and what each may import (docs/architecture.md), checked on the source.

Every `import` of a cxlib module counts, including those inside functions (a lazy import is
still a dependency). A layer may import itself and the layers listed for it; nothing imports
upward, and no chain of imports comes back to where it started.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest

import cxlib

PACKAGE = Path(cxlib.__file__).resolve().parent

# layer -> the other layers it may import (docs/architecture.md)
ALLOWED = {
    "errors": set(),
    "locations": set(),
    "privacy": {"errors", "sql"},
    "sql": {"errors"},
    "store": {"errors", "locations", "sql"},
    "analysis": {"errors", "locations", "privacy", "sql", "store"},
    "charts": {"errors"},
    "explore": {"errors", "locations", "privacy", "sql", "store", "analysis", "charts", "report"},
    "report": {"errors", "locations", "privacy", "sql", "store", "analysis"},
    "cli": {"errors", "locations", "privacy", "sql", "store", "analysis", "charts", "explore", "report"},
    "__init__": {"errors", "locations", "privacy", "sql", "store", "analysis", "charts", "explore", "report"},
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer(module: str) -> str:
    parts = module.split(".")
    return "__init__" if len(parts) == 1 else parts[1]


def cxlib_imports(path: Path) -> set[str]:
    """Every cxlib module `path` imports (absolute; relative imports are not used)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative import (use absolute imports)"
            if node.module and node.module.split(".")[0] == "cxlib":
                for alias in node.names:  # `from cxlib.x import y`: y may be a module
                    candidate = f"{node.module}.{alias.name}"
                    found.add(candidate if _is_module(candidate) else node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "cxlib"}
    return found


def _is_module(name: str) -> bool:
    rel = Path(*name.split(".")[1:])
    return (PACKAGE / rel).with_suffix(".py").exists() or (PACKAGE / rel / "__init__.py").exists()


SOURCES = sorted(PACKAGE.rglob("*.py"))
GRAPH = {module_name(p): cxlib_imports(p) for p in SOURCES}


def test_every_layer_is_known():
    assert {layer(m) for m in GRAPH} <= set(ALLOWED)


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_imports_point_down(module):
    own = layer(module)
    upward = sorted(i for i in GRAPH[module] if layer(i) != own and layer(i) not in ALLOWED[own])
    assert not upward, f"{module} ({own}) imports {upward}; {own} may import only {sorted(ALLOWED[own])}"


def test_the_rule_catches_an_upward_import(tmp_path):
    """The check itself: an analysis module that imported the report layer would be caught."""
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from cxlib.report.render import render_report\n")
    imported = cxlib_imports(bad)
    assert imported == {"cxlib.report.render"}
    assert "report" not in ALLOWED["analysis"]


def test_no_import_cycles():
    def visit(node, stack, done):
        if node in stack:
            cycle = stack[stack.index(node):] + [node]
            raise AssertionError("import cycle: " + " -> ".join(cycle))
        if node in done:
            return
        stack.append(node)
        for nxt in sorted(GRAPH.get(node, ())):
            visit(nxt, stack, done)
        stack.pop()
        done.add(node)

    done: set[str] = set()
    for module in sorted(GRAPH):
        visit(module, [], done)


def test_every_module_says_what_it_owns():
    for path in SOURCES:
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
        assert doc and len(doc) > 30, f"{path.relative_to(PACKAGE.parent)} has no module docstring"
    for path in PACKAGE.rglob("__init__.py"):
        if path.parent == PACKAGE or path.parent.name in ALLOWED:  # a layer's package
            doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
            assert "import" in doc.lower(), f"{path.relative_to(PACKAGE.parent)} does not say what it may import"


def test_no_module_is_hidden_behind_a_name_of_its_package():
    """`cxlib.analysis.journey.paths` must be the module, not the function `paths`."""
    for info in pkgutil.walk_packages(cxlib.__path__, "cxlib."):
        parent, _, leaf = info.name.rpartition(".")
        module = importlib.import_module(info.name)
        assert getattr(importlib.import_module(parent), leaf) is module, info.name


def test_no_function_is_longer_than_a_screen():
    """60 lines of code, not counting the docstring."""
    long = []
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                body = node.body
                has_doc = isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) and len(body) > 1
                first = body[1].lineno if has_doc else body[0].lineno
                if node.end_lineno - first + 1 > 60:
                    long.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno} {node.name}")
    assert not long, long


def test_every_package_is_listed_for_the_wheel():
    """pyproject lists packages by hand (notebooks/ maps to cxlib.notebooks); a new folder must join the list."""
    import tomllib

    listed = set(tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {module_name(init) for init in PACKAGE.rglob("__init__.py")}
    assert found - listed == set(), "add these to [tool.setuptools] packages in pyproject.toml"
