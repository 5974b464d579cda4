"""Report parameters are typed from the notebook's parameters cell and checked before a kernel starts."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import nbformat
import pytest

from cxlib.errors import CxInputError
from cxlib.report.params import (
    Parameter,
    coerce,
    load_params_file,
    notebook_parameters,
    parse_assignments,
    parse_parameters,
    validate_parameters,
)

FIXTURES = Path(__file__).resolve().parents[1] / "notebooks" / "fixtures"
TYPED = FIXTURES / "typed_params.ipynb"

CELL = """\
db_path = None
store_id = '02134'
label = 'yes'
flag = False
start = None
end = '2026-06-30'
as_of = None
signup_date = None
n_top = 5
ratio = 0.5
segments = ['region']
weights = [1, 2]
cutoff = None  # int
note: str | None = None
choice: 'float' = 1
"""


@pytest.fixture(scope="module")
def declared():
    return parse_parameters(CELL)


def test_kinds_come_from_literal_defaults_comments_annotations_and_names(declared):
    kinds = {name: (p.kind, p.nullable) for name, p in declared.items()}
    assert kinds == {
        "db_path": ("any", True),
        "store_id": ("str", False),
        "label": ("str", False),
        "flag": ("bool", False),
        "start": ("date", True),  # by name
        "end": ("date", False),  # an ISO date default
        "as_of": ("date", True),
        "signup_date": ("date", True),
        "n_top": ("int", False),
        "ratio": ("float", False),
        "segments": ("list", False),
        "weights": ("list", False),
        "cutoff": ("int", True),  # trailing comment
        "note": ("str", True),  # annotation
        "choice": ("float", False),  # annotation wins over the int default
    }
    assert declared["weights"].item_kind == "int" and declared["segments"].item_kind == "str"
    assert list(declared) == [line.split(":")[0].split(" =")[0] for line in CELL.splitlines()]


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("store_id", "02134", "02134"),  # an id stays text, leading zero kept
        ("label", "no", "no"),  # 'no' stays text for a text parameter
        ("label", "null", "null"),  # not nullable: 'null' is just text
        ("label", "", ""),
        ("flag", "no", False),
        ("flag", "YES", True),
        ("flag", "0", False),
        ("flag", "on", True),
        ("n_top", "02134", 2134),  # an int parameter does take it as a number
        ("n_top", "-3", -3),
        ("ratio", "2", 2.0),
        ("ratio", "1e-3", 0.001),
        ("start", "2024-02-29", "2024-02-29"),
        ("start", "null", None),
        ("start", "", None),
        ("start", "None", None),
        ("db_path", "/tmp/x.duckdb", "/tmp/x.duckdb"),
        ("db_path", "02134", "02134"),  # untyped: text stays text
        ("segments", "region, plan", ["region", "plan"]),
        ("segments", "[region, '02134']", ["region", "02134"]),
        ("weights", "1,2,3", [1, 2, 3]),
        ("cutoff", "7", 7),
        ("cutoff", "null", None),
    ],
)
def test_text_values_are_converted_by_the_declared_kind(declared, name, text, expected):
    value = coerce(declared[name], text, where="nb")
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("n_top", "five", "takes a whole number"),
        ("n_top", "5.5", "takes a whole number"),
        ("n_top", True, "takes a whole number"),  # a bool is not a number here
        ("n_top", None, "takes a whole number"),  # not nullable
        ("ratio", "nan", "takes a number"),
        ("ratio", "inf", "takes a number"),
        ("flag", "maybe", "takes true/false"),
        ("flag", 1, "takes true/false"),
        ("start", "2024-02-30", "takes a date YYYY-MM-DD or null"),
        ("start", "31/01/2024", "takes a date YYYY-MM-DD or null"),
        ("end", "2024-1-5", "takes a date YYYY-MM-DD"),
        ("store_id", 2134, "takes text"),  # from Python an int is not an id
        ("weights", "1,x", "takes a whole number"),
    ],
)
def test_wrong_kinds_fail_with_what_is_accepted(declared, name, value, says):
    with pytest.raises(CxInputError) as err:
        coerce(declared[name], value, where="notebook x.ipynb", params=declared)
    message = str(err.value)
    assert says in message and f"parameter '{name}'" in message
    assert "It accepts: db_path (any value, default None); store_id (text, default '02134')" in message
    assert "\n" not in message


def test_python_values_are_checked_too(declared):
    assert coerce(declared["start"], dt.date(2024, 1, 31), where="nb") == "2024-01-31"
    assert coerce(declared["start"], dt.datetime(2024, 1, 31, 12), where="nb") == "2024-01-31"
    assert coerce(declared["flag"], True, where="nb") is True
    assert coerce(declared["ratio"], 3, where="nb") == 3.0
    assert coerce(declared["segments"], ("a", "b"), where="nb") == ["a", "b"]


def test_validate_against_a_fixture_notebook():
    out = validate_parameters(TYPED, {"store_id": "02134", "flag": "no", "start": "2024-01-31", "n_top": "7"})
    assert out == {"store_id": "02134", "flag": False, "start": "2024-01-31", "n_top": 7}


def test_unknown_parameter_suggests_and_lists_what_the_notebook_accepts():
    with pytest.raises(CxInputError) as err:
        validate_parameters(TYPED, {"stor_id": "1"})
    message = str(err.value)
    assert message.startswith("notebook typed_params.ipynb: unknown parameter 'stor_id'; did you mean 'store_id'?")
    for name in ("db_path", "store_id", "label", "flag", "start", "end", "n_top", "ratio", "segments",
                 "min_group_size", "interactive"):
        assert f"{name} (" in message


def test_inputs_are_not_mutated():
    values = {"flag": "no", "segments": "a,b"}
    validate_parameters(TYPED, values)
    assert values == {"flag": "no", "segments": "a,b"}


def test_a_notebook_without_parameters_cell(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell("x = 1"))
    path = tmp_path / "plain.ipynb"
    nbformat.write(nb, path)
    assert notebook_parameters(path) is None
    assert validate_parameters(path, {}) == {}
    with pytest.raises(CxInputError, match="has no cell tagged 'parameters'"):
        validate_parameters(path, {"x": "2"})


def test_missing_notebook_and_broken_cell(tmp_path):
    with pytest.raises(CxInputError, match="no notebook at"):
        notebook_parameters(tmp_path / "nope.ipynb")
    with pytest.raises(CxInputError, match="not valid Python"):
        parse_parameters("x = (")


def test_non_literal_assignments_are_kept_untyped():
    declared = parse_parameters("import os\nx = os.getcwd()\ny = 3\n")
    assert declared["x"] == Parameter("x", "any", None, True)  # any value, text stays text
    assert declared["y"].kind == "int"


def test_yaml_params_file_keeps_text(tmp_path):
    path = tmp_path / "p.yml"
    path.write_text("store_id: 02134\nlabel: no\nflag: no\nstart: 2024-01-31\nend:\nsegments: [region, plan]\n")
    raw = load_params_file(path)
    assert raw == {"store_id": "02134", "label": "no", "flag": "no", "start": "2024-01-31", "end": "",
                   "segments": ["region", "plan"]}
    out = validate_parameters(TYPED, {k: v for k, v in raw.items() if k != "end"})
    assert out == {"store_id": "02134", "label": "no", "flag": False, "start": "2024-01-31",
                   "segments": ["region", "plan"]}
    with pytest.raises(CxInputError, match="takes a date YYYY-MM-DD, got ''"):
        validate_parameters(TYPED, {"end": raw["end"]})


def test_params_file_errors(tmp_path):
    with pytest.raises(CxInputError, match="does not exist"):
        load_params_file(tmp_path / "missing.yml")
    bad = tmp_path / "bad.yml"
    bad.write_text("a: [1,\n")
    with pytest.raises(CxInputError, match="not valid YAML"):
        load_params_file(bad)
    listed = tmp_path / "list.yml"
    listed.write_text("- a\n- b\n")
    with pytest.raises(CxInputError, match="mapping"):
        load_params_file(listed)
    empty = tmp_path / "empty.yml"
    empty.write_text("")
    assert load_params_file(empty) == {}


def test_command_line_assignments():
    assert parse_assignments(["a=1", "b=x=y", "c="]) == {"a": "1", "b": "x=y", "c": ""}
    for bad in ("a", "=1", "1a=2", "a b=1"):
        with pytest.raises(CxInputError, match="NAME=VALUE"):
            parse_assignments([bad])
