"""Run a notebook headless with papermill on the sample store, and read what it shows."""

from __future__ import annotations

import json
from pathlib import Path


def run(notebook: Path, tmp_path: Path, sample_db: Path, **parameters) -> dict:
    """Execute `notebook` with `parameters` (db_path defaults to the sample store); the executed JSON."""
    import papermill as pm

    out = tmp_path / f"{notebook.stem}_out.ipynb"
    # a cell limit, so that a kernel or client that stops answering fails the test instead of hanging the run
    pm.execute_notebook(str(notebook), str(out), kernel_name="python3", progress_bar=False, execution_timeout=600,
                        parameters={"db_path": str(sample_db), **parameters}, cwd=str(tmp_path))
    return json.loads(out.read_text())


def outputs(nb: dict) -> list[dict]:
    return [o for c in nb["cells"] for o in c.get("outputs", [])]


def shown_text(nb: dict) -> str:
    """Everything the executed notebook shows: text, HTML tables and chart specs."""
    parts = []
    for output in outputs(nb):
        if "text" in output:
            parts.append("".join(output["text"]))
        for value in output.get("data", {}).values():
            parts.append("".join(value) if isinstance(value, list) else
                         value if isinstance(value, str) else json.dumps(value))
    return "\n".join(parts)


def errors(nb: dict) -> list[dict]:
    return [o for o in outputs(nb) if o.get("output_type") == "error"]


def chart_count(nb: dict) -> int:
    def is_chart(data):
        html = data.get("text/html", "")
        html = "".join(html) if isinstance(html, list) else html
        return any(k.startswith("application/vnd.vegalite") for k in data) or "vegaEmbed" in html

    return sum(is_chart(o.get("data", {})) for o in outputs(nb))
