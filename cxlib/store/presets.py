"""Presets: the settings that load one common export shape, as editable YAML files.

A preset is a YAML mapping of `ingest` options (see cxlib.store.ingest.LoadOptions) plus
``description`` and ``table``. The shipped presets live in ``cxlib/data/presets/``; a user
writes their own file (start from a copy of a shipped one) and passes its path. A preset's
``mapping`` may name columns that a given file lacks (exports vary): those entries are skipped,
and when several of its columns map to one target the first present wins. A preset's
``constants`` are defaults for columns the file lacks (a file's own channel column wins over
``channel: web``). Options given on the command line win over the preset's.
"""

from __future__ import annotations

import os
from pathlib import Path

from cxlib.errors import CxInputError, did_you_mean
from cxlib.locations import shipped

PRESET_DIR = shipped("presets")
_KEYS = {"description", "table", "mapping", "constants", "timezone", "date_format", "delimiter", "encoding",
         "columns", "skip_rows", "add_customers", "update", "lowercase", "metric_scales", "tenure_unit", "wide",
         "earliest", "latest"}
_WIDE_KEYS = {"id", "questions", "comments"}


def preset_names() -> list[str]:
    """The shipped presets."""
    return sorted(p.stem for p in PRESET_DIR.glob("*.yml"))


def preset_path(name: str | os.PathLike) -> Path:
    """A shipped preset by name ('amplitude'), or a preset file by path."""
    path = Path(name)
    if path.suffix in (".yml", ".yaml"):
        if not path.exists():
            raise CxInputError(f"no preset file {path}")
        return path
    found = PRESET_DIR / f"{name}.yml"
    if not found.exists():
        names = preset_names()
        raise CxInputError(f"no preset '{name}'{did_you_mean(str(name), names)} Shipped presets: {', '.join(names)}; "
                           "or pass the path of your own .yml file")
    return found


def load_preset(name: str | os.PathLike) -> dict:
    """The preset's settings as ingest options (``description`` left out), checked."""
    import yaml

    path = preset_path(name)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise CxInputError(f"cannot read preset {path}: {exc}") from None
    if not isinstance(data, dict):
        raise CxInputError(f"preset {path} must be a YAML mapping of ingest options")
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise CxInputError(f"preset {path}: unknown key(s) {unknown}{did_you_mean(unknown[0], _KEYS)} "
                           f"Keys: {', '.join(sorted(_KEYS))}")
    for key in ("mapping", "constants", "metric_scales", "wide"):
        if key in data and not isinstance(data[key], dict):
            raise CxInputError(f"preset {path}: '{key}' must be a mapping")
    wide = data.get("wide")
    if wide is not None and set(wide) - _WIDE_KEYS:
        raise CxInputError(f"preset {path}: 'wide' takes {sorted(_WIDE_KEYS)}, got {sorted(wide)}")
    settings = {k: v for k, v in data.items() if k != "description"}
    if "mapping" in settings:
        settings["preset_mapping"] = {str(k): (None if v is None else str(v)) for k, v in settings.pop("mapping").items()}
    if "constants" in settings:
        settings["preset_constants"] = settings.pop("constants")
    return settings


def describe_presets() -> list[tuple[str, str, str]]:
    """(name, table, description) of every shipped preset."""
    import yaml

    rows = []
    for name in preset_names():
        data = yaml.safe_load((PRESET_DIR / f"{name}.yml").read_text(encoding="utf-8"))
        rows.append((name, data.get("table", "?"), " ".join(str(data.get("description", "")).split())))
    return rows
