"""The index of report runs: ``reports/index.html`` rebuilt from every published run's ``run.json``.

The index is for stakeholders: it links HTML reports only (and their PDF prints, ``cx report run --pdf``). Executed and failed notebooks and
kernel logs (``reports/.analyst/<run-id>/``) hold raw customer data and are never linked; the
parameters and reasons it shows are masked (cxlib.privacy.masking).
"""

from __future__ import annotations

import contextlib
import html
import json
import os
import secrets
import shutil
from pathlib import Path

from cxlib.locations import reports_dir
from cxlib.privacy.masking import mask_personal_data


def atomic_write(path: Path, text: str) -> None:
    """Write `text` to `path` so that readers see the old file or the new one, never half of it."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def atomic_copy(src: Path, dest: Path) -> None:
    """Copy `src` to `dest` atomically (see atomic_write)."""
    tmp = dest.with_name(f".{dest.name}.{secrets.token_hex(4)}.tmp")
    shutil.copyfile(src, tmp)
    os.replace(tmp, dest)


@contextlib.contextmanager
def _index_lock(out_dir: Path):
    lock = out_dir / ".index.lock"
    with open(lock, "a+") as fh:
        try:
            import fcntl

            fcntl.flock(fh, fcntl.LOCK_EX)
        except ImportError:  # pragma: no cover - Windows: runs there are not concurrent
            pass
        yield


def latest_page(store: str, name: str) -> str:
    """Where the latest good report of job `name` on `store` is kept, relative to the reports folder."""
    stem = Path(store).stem if store else "store"
    return f"latest/{stem}/{name}.html"


def _store_label(t: dict) -> str:
    fingerprint = t.get("fingerprint") or ""
    return f"{t.get('store') or '?'}" + (f" ({fingerprint[:8]})" if fingerprint else "")


def read_runs(out_dir: str | Path | None = None) -> list[dict]:
    """Every published run's manifest, newest first."""
    out_dir = Path(out_dir) if out_dir is not None else reports_dir()
    runs = []
    for manifest in Path(out_dir).glob("*/run.json"):
        if manifest.parent.name.startswith("."):
            continue  # a staging folder of a run that was killed before publishing
        try:
            runs.append(json.loads(manifest.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue
    return sorted(runs, key=lambda r: (r.get("started", ""), r.get("run_id", "")), reverse=True)


def _latest_table(runs: list[dict]) -> list[str]:
    """The latest good report of each job, per store (HTML parts)."""
    e = html.escape
    latest: dict[tuple[str, str], tuple[dict, dict]] = {}
    for run in runs:
        for t in run.get("targets", []):
            key = (t.get("store", ""), t.get("name"))
            if t.get("status") == "ok" and key not in latest:
                latest[key] = (run, t)
    parts = ["<h2>Latest good report of each job, per store</h2>"]
    if latest:
        parts.append('<table class="cx-index"><tr><th>store</th><th>job</th><th>report</th><th>run</th>'
                     '<th>data as of</th></tr>')
        for store, name in sorted(latest):
            run, t = latest[(store, name)]
            data = next((d for d in run.get("data", []) if d.get("store") == store), {})
            page = latest_page(store, name)
            pdf = f' <a href="{e(run["run_id"])}/{e(t["pdf"])}">PDF</a>' if t.get("pdf") else ""
            parts.append(
                f'<tr><td>{e(_store_label(t))}</td><td>{e(name)}</td><td><a href="{e(page)}">{e(page)}</a>{pdf}</td>'
                f'<td><a href="{e(run["run_id"])}/{e(t["html"])}">{e(run["run_id"])}</a></td>'
                f'<td>{e(str(data.get("as_of", "")))}</td></tr>'
            )
        parts.append("</table>")
    else:
        parts.append("<p>No good report yet.</p>")
    return parts


def _runs_table(runs: list[dict]) -> list[str]:
    """Every run, newest first (HTML parts)."""
    e = html.escape
    parts = ['<h2>All runs</h2><table class="cx-index"><tr><th>run</th><th>started (UTC)</th><th>store</th>'
                 "<th>job</th><th>notebook</th><th>parameters</th><th>status</th><th>outputs</th></tr>"]
    for run in runs:
        rid = run.get("run_id", "")
        targets = run.get("targets") or [{"name": "-", "status": run.get("status"), "parameters": {}}]
        for t in targets:
            links = [f'<a href="{e(rid)}/{e(t["html"])}">report</a>'] if t.get("html") else []
            if t.get("html") and t.get("pdf"):
                links.append(f'<a href="{e(rid)}/{e(t["pdf"])}">PDF</a>')
            if t.get("failed_ipynb") or t.get("ipynb"):
                links.append('<span class="cx-note">notebook kept for analysts</span>')
            params = mask_personal_data(", ".join(f"{k}={json.dumps(v)}" for k, v in (t.get("parameters") or {}).items()))
            status = t.get("status", "")
            reason = f": {mask_personal_data(t['reason'])}" if t.get("reason") else ""
            css = "cx-status-failed" if status != "ok" else "cx-status-ok"
            parts.append(
                f"<tr><td>{e(rid)}</td><td>{e(run.get('started', ''))}</td><td>{e(_store_label(t))}</td>"
                f"<td>{e(t.get('job') or '(ad hoc)')}</td>"
                f"<td>{e(t.get('notebook', ''))}</td><td><code>{e(params)}</code></td>"
                f'<td class="{css}">{e(status)}{e(reason)}</td><td>{" ".join(links)}</td></tr>'
            )
    parts.append("</table>")
    return parts


def rebuild_index(out_dir: str | Path | None = None) -> Path:
    """Rewrite ``out_dir/index.html`` (atomically) from every run's manifest."""
    from cxlib.report.render import CSP, CSS

    out_dir = Path(out_dir) if out_dir is not None else reports_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    with _index_lock(out_dir):
        runs = read_runs(out_dir)
        parts = _latest_table(runs) + _runs_table(runs)
        page = (
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            f'<title>CX reports</title><style>{CSS}</style></head><body class="cx-index-page">'
            '<header class="cx-header"><h1>CX reports</h1>'
            f"<p>{len(runs)} run(s); newest first. Executed notebooks, also of failed runs, are kept for "
            "analysts apart from these reports.</p></header>"
            f"<main>{''.join(parts)}</main></body></html>\n"
        )
        index = out_dir / "index.html"
        atomic_write(index, page)
    return index
