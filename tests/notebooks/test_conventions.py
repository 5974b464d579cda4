"""Every notebook in notebooks/ follows the house rules: reviewable, parameterised, thin."""

import ast
import json
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))
REQUIRED_PARAMETERS = {"db_path", "min_group_size", "interactive"}


def cells(path):
    return json.loads(path.read_text())["cells"]


def test_the_analysis_notebooks_exist():
    names = {p.stem for p in NOTEBOOKS}
    assert {"journey", "segments", "churn", "voice_of_customer", "overview"} <= names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_outputs_are_stripped(path):
    for cell in cells(path):
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, cell["source"][:80]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_one_parameters_cell_with_literal_defaults(path):
    tagged = [c for c in cells(path) if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1
    tree = ast.parse("".join(tagged[0]["source"]))
    names = set()
    for node in tree.body:
        assert isinstance(node, (ast.Assign, ast.AnnAssign)), ast.dump(node)[:80]
        target = node.targets[0] if isinstance(node, ast.Assign) else node.target
        names.add(target.id)
        ast.literal_eval(node.value)  # literal defaults only
    assert REQUIRED_PARAMETERS <= names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_logic_defined_in_notebooks(path):
    for cell in cells(path):
        if cell["cell_type"] == "code":
            source = "".join(cell["source"])
            tree = ast.parse("\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))))
            defs = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
            assert not defs, f"{path.name}: move {defs[0].__class__.__name__} into cxlib"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_code_cell_is_explained(path):
    """After the parameters cell, each code cell that shows a result is followed by markdown."""
    cs = cells(path)
    start = next(i for i, c in enumerate(cs) if "parameters" in c.get("metadata", {}).get("tags", []))
    kinds = [c["cell_type"] for c in cs[start + 1:]]
    assert kinds.count("markdown") >= kinds.count("code") // 2, "explain results in plain language"
