"""Report parameters: read a notebook's `parameters` cell and check values before a kernel starts.

papermill only warns about a parameter the notebook does not declare and passes every value
through as given; a scheduled report must instead fail fast, with a message that says what the
notebook accepts. The declared parameters and their types come from the cell tagged
``parameters`` (parsed with ``ast``, never executed):

========================  ==========  ==========================================================
default in the cell       kind        accepted values
========================  ==========  ==========================================================
``True`` / ``False``      bool        true/false, yes/no, on/off, 1/0 (any case)
``5``                     int         a whole number (``02134`` -> 2134 only for an int parameter)
``0.5``                   float       a number
``'2024-01-31'``          date        an ISO date ``YYYY-MM-DD``, kept as that string
``'region'``              str         any text, kept verbatim (``02134`` and ``no`` stay text)
``['a', 'b']``            list        a list, or comma-separated text; items typed like the first
``None``                  (see below) ``null``, ``none`` or an empty value give None
========================  ==========  ==========================================================

A ``None`` default takes its kind from a trailing comment (``start = None  # date``), an
annotation (``start: str | None = None``), or the name (``start``, ``end``, ``as_of`` and names
ending in ``_date`` are dates); otherwise it is ``any`` and text values stay text.
Values from the command line and from YAML files arrive as text (YAML is read without its
implicit typing, so ``no`` is not False and ``02134`` is not an octal number) and are converted
by the rules above; values passed from Python are checked by the same rules.
"""

from __future__ import annotations

import ast
import datetime as dt
import io
import math
import re
import tokenize
from dataclasses import dataclass
from pathlib import Path

from cxlib.errors import CxInputError, did_you_mean

KINDS = ("bool", "int", "float", "date", "str", "list", "dict", "any")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_INT = re.compile(r"^[+-]?\d+$")
_NULL = {"", "null", "none", "~"}
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}
_DATE_NAMES = {"start", "end", "as_of", "start_date", "end_date", "calibration_end"}
_DESCRIBE = {
    "bool": "true/false",
    "int": "a whole number",
    "float": "a number",
    "date": "a date YYYY-MM-DD",
    "str": "text",
    "list": "a list",
    "dict": "a mapping",
    "any": "any value",
}


@dataclass(frozen=True)
class Parameter:
    """One parameter declared in a notebook's `parameters` cell."""

    name: str
    kind: str
    default: object
    nullable: bool
    item_kind: str = "str"  # for lists

    def describe(self) -> str:
        """'min_group_size (a whole number, default 5)'."""
        what = _DESCRIBE[self.kind] + (f" of {_DESCRIBE[self.item_kind]}" if self.kind == "list" else "")
        if self.nullable and self.kind != "any":
            what += " or null"
        return f"{self.name} ({what}, default {self.default!r})"


def parameters_cell(nb) -> dict | None:
    """The cell tagged `parameters` of a notebook node, or None."""
    for cell in nb.cells:
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            return cell
    return None


def _comment_hints(source: str) -> dict[int, str]:
    """Line number -> first word of a trailing comment, e.g. {3: 'date'}."""
    hints = {}
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.COMMENT:
                word = re.match(r"#\s*([A-Za-z]+)", tok.string)
                if word and word.group(1).lower() in KINDS:
                    hints[tok.start[0]] = word.group(1).lower()
    except (tokenize.TokenError, IndentationError):
        pass
    return hints


def _annotation_kind(node: ast.expr | None) -> tuple[str | None, bool]:
    """Kind and nullability from an annotation such as `int`, `str | None`, `'date'`."""
    if node is None:
        return None, False
    names = [n.id for n in ast.walk(node) if isinstance(n, ast.Name)]
    names += [n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
    nullable = any(isinstance(n, ast.Constant) and n.value is None for n in ast.walk(node)) or "None" in names
    kinds = [k for k in names if k in KINDS]
    return (kinds[0] if kinds else None), nullable


def _kind_of_value(value) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "date" if _DATE.match(value) else "str"
    if isinstance(value, (list, tuple)):
        return "list"
    if isinstance(value, dict):
        return "dict"
    return "any"


def parse_parameters(source: str, *, where: str = "the parameters cell") -> dict[str, Parameter]:
    """The parameters declared in the source of a `parameters` cell, in order."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise CxInputError(f"{where} is not valid Python (line {exc.lineno}): {exc.msg}") from None
    hints = _comment_hints(source)
    found: dict[str, Parameter] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            target, annotation, value_node = node.targets[0].id, None, node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            target, annotation, value_node = node.target.id, node.annotation, node.value
        else:
            continue  # not a simple `name = literal`: papermill cannot override it either
        try:
            default = ast.literal_eval(value_node)
        except ValueError:
            default, literal = None, False
        else:
            literal = True
        kind, nullable = _annotation_kind(annotation)
        hint = hints.get(node.lineno)
        if default is None:
            nullable = True
            kind = kind or hint or ("date" if target in _DATE_NAMES or target.endswith("_date") else "any")
        elif literal:
            value_kind = _kind_of_value(default)
            kind = kind or hint or value_kind
            if kind == "date" and value_kind == "str":
                kind = "str"  # a text default that is not a date cannot be declared a date
        else:
            kind = kind or hint or "any"
        item_kind = "str"
        if kind == "list" and isinstance(default, (list, tuple)) and default:
            item_kind = _kind_of_value(default[0])
            item_kind = item_kind if item_kind in ("bool", "int", "float", "date", "str") else "any"
        found[target] = Parameter(target, kind, default, nullable, item_kind)
    return found


def notebook_parameters(path: str | Path) -> dict[str, Parameter] | None:
    """The parameters a notebook declares, or None when it has no cell tagged `parameters`."""
    import nbformat

    path = Path(path)
    try:
        nb = nbformat.read(path, as_version=4)
    except FileNotFoundError:
        raise CxInputError(f"no notebook at {path}") from None
    except Exception as exc:  # noqa: BLE001 - any unreadable notebook gets the same clear message
        raise CxInputError(f"cannot read notebook {path}: {type(exc).__name__}: {exc}") from None
    cell = parameters_cell(nb)
    if cell is None:
        return None
    return parse_parameters(cell.source, where=f"the parameters cell of {path.name}")


def accepted(params: dict[str, Parameter]) -> str:
    return "; ".join(p.describe() for p in params.values()) or "(no parameters)"


def coerce(param: Parameter, value, *, where: str, params: dict[str, Parameter] | None = None):
    """`value` converted to the parameter's kind, or a CxInputError saying what it takes."""

    def bad(kind: str = param.kind) -> CxInputError:
        allowed = f" It accepts: {accepted(params)}" if params else ""
        return CxInputError(
            f"{where}: parameter '{param.name}' takes {_DESCRIBE[kind]}"
            f"{' or null' if param.nullable and kind == param.kind and kind != 'any' else ''}, "
            f"got {value!r}.{allowed}"
        )

    if value is None or (isinstance(value, str) and value.strip().lower() in _NULL and param.nullable):
        if param.nullable:
            return None
        raise bad()
    return _convert(param.kind, value, param, bad)


def _convert(kind: str, value, param: Parameter, bad):
    text = value.strip() if isinstance(value, str) else None
    if kind == "any":
        return value
    if kind == "str":
        if isinstance(value, str):
            return value
        raise bad()
    if kind == "bool":
        return _to_bool(value, text, bad)
    if kind == "int":
        return _to_int(value, text, bad)
    if kind == "float":
        return _to_float(value, text, bad)
    if kind == "date":
        return _to_date(value, text, bad)
    if kind == "list":
        return _to_list(value, text, param, bad)
    if kind == "dict":
        return _to_dict(value, text, bad)
    raise bad()


def _to_bool(value, text: str | None, bad) -> bool:
    if isinstance(value, bool):
        return value
    if text is not None and text.lower() in _TRUE | _FALSE:
        return text.lower() in _TRUE
    raise bad()


def _to_int(value, text: str | None, bad) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if text is not None and _INT.match(text):
        return int(text)
    raise bad()


def _to_float(value, text: str | None, bad) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    if text is not None:
        try:
            number = float(text)
        except ValueError:
            raise bad() from None
        if math.isfinite(number):
            return number
    raise bad()


def _to_date(value, text: str | None, bad) -> str:
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if text is not None and _DATE.match(text):
        try:
            return dt.date.fromisoformat(text).isoformat()
        except ValueError:
            raise bad() from None
    raise bad()


def _to_list(value, text: str | None, param: Parameter, bad) -> list:
    """A list (or YAML list text, or comma-separated text), each item converted to param.item_kind."""
    if isinstance(value, str):
        import yaml

        items = yaml.load(text, Loader=yaml.BaseLoader) if text.startswith("[") else [
            part.strip() for part in text.split(",") if part.strip()
        ]
        if not isinstance(items, list):
            raise bad()
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        raise bad()
    return [_convert(param.item_kind, item, param, lambda: bad(param.item_kind)) for item in items]


def _to_dict(value, text: str | None, bad) -> dict:
    if isinstance(value, str):
        import yaml

        value = yaml.load(text, Loader=yaml.BaseLoader)
    if isinstance(value, dict):
        return dict(value)
    raise bad()


def validate_parameters(path: str | Path, values: dict, *, label: str | None = None) -> dict:
    """Check `values` against the notebook's `parameters` cell; return them converted.

    Unknown names and values of the wrong kind raise CxInputError with one line that names the
    problem and lists every parameter the notebook accepts (with its kind and default).
    """
    path = Path(path)
    where = label or f"notebook {path.name}"
    declared = notebook_parameters(path)
    if declared is None:
        if values:
            raise CxInputError(
                f"{where} has no cell tagged 'parameters', so it takes no parameters; got "
                f"{', '.join(sorted(values))}. Tag its first settings cell 'parameters'."
            )
        return {}
    out = {}
    for name, value in values.items():
        if name not in declared:
            raise CxInputError(
                f"{where}: unknown parameter '{name}'{did_you_mean(name, declared)} "
                f"It accepts: {accepted(declared)}"
            )
        out[name] = coerce(declared[name], value, where=where, params=declared)
    return out


def parse_assignments(pairs: list[str]) -> dict[str, str]:
    """['a=1', 'b=x=y'] -> {'a': '1', 'b': 'x=y'} (values stay text, converted per notebook)."""
    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip().isidentifier():
            raise CxInputError(f"-p takes NAME=VALUE (e.g. -p start=2024-01-01), got {pair!r}")
        out[name.strip()] = value
    return out


def load_yaml_text(path: str | Path, *, what: str = "parameters file"):
    """A YAML file read with every scalar kept as text (no implicit booleans, octals or dates)."""
    import yaml

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CxInputError(f"{what} {path} does not exist") from None
    try:
        return yaml.load(text, Loader=yaml.BaseLoader)
    except yaml.YAMLError as exc:
        raise CxInputError(f"{what} {path} is not valid YAML: {str(exc).splitlines()[0]}") from None


def load_params_file(path: str | Path) -> dict:
    """Parameters from a YAML (or JSON) mapping of name: value; values kept as text."""
    data = load_yaml_text(path)
    if data in (None, ""):
        return {}
    if not isinstance(data, dict):
        raise CxInputError(f"parameters file {path} must hold a mapping of name: value, got {type(data).__name__}")
    return data
