"""The "start here" notebook's parts: which report notebooks can run on this store, with links.

Each report notebook asks ``section(con, "name")`` (or ``readiness``) before each of its sections
(cxlib.analysis.needs). The sections a notebook asks for are read from its code, and judged with
:func:`cxlib.analysis.profile.profile` (the defaults fitted to the store, as a report would run).
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pandas as pd

from cxlib.analysis.profile import StoreProfile
from cxlib.locations import NOTEBOOK_DIR

# What each report notebook is for, in the order an analyst would open them.
REPORTS = {
    "overview": "the executive summary: scores, conversion, churn, drivers, themes",
    "journey": "funnels, paths, channel hand-offs and friction",
    "voice_of_customer": "NPS, CSAT and CES by segment and over time, drivers, comment themes, follow-up",
    "segments": "segments, clusters and their CX",
    "churn": "churn rates, retention cohorts, survival and value at risk",
    "service": "resolution times, first-contact resolution, agents, and whether a change worked",
}
_ASKED = re.compile(r"""\b(?:section|readiness)\(\s*con\s*,\s*["']([a-z_]+\.[a-z_]+)["']""")


def sections_of(notebook: Path) -> list[str]:
    """The report sections a notebook checks before it runs them, in order of first use."""
    nb = nbformat.read(notebook, as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    return list(dict.fromkeys(_ASKED.findall(code)))


def reports_ready(prof: StoreProfile, directory: Path = NOTEBOOK_DIR) -> pd.DataFrame:
    """Per report notebook: how many of its sections can run on the profiled store, and what the
    first one that cannot needs. Columns: ``report``, ``notebook``, ``about``, ``ready``,
    ``sections``, ``needs`` (None when every section can run)."""
    judged = dict(zip(prof.sections["section"], zip(prof.sections["ready"], prof.sections["needs"])))
    rows = []
    for name, about in REPORTS.items():
        path = Path(directory) / f"{name}.ipynb"
        if not path.exists():
            continue
        asked = [s for s in sections_of(path) if s in judged]
        missing = [judged[s][1] for s in asked if not judged[s][0]]
        rows.append((name, path.name, about, len(asked) - len(missing), len(asked), missing[0] if missing else None))
    return pd.DataFrame(rows, columns=["report", "notebook", "about", "ready", "sections", "needs"])


def reports_markdown(ready: pd.DataFrame) -> str:
    """The reports as a Markdown list of links to their notebooks (JupyterLab opens them on click)."""
    lines = []
    for r in ready.itertuples():
        title = r.report.replace("_", " ").capitalize()
        if r.needs is None:
            state = f"*All {r.sections} sections can run.*"
        else:
            count = f"{r.ready} of {r.sections} sections can run" if r.ready else f"None of its {r.sections} sections can run"
            state = f"*{count}.* The first that cannot needs {_plain(r.needs)}."
        lines.append(f"- [{title}]({r.notebook}): {r.about}. {state}")
    return "\n".join(lines)


def _plain(text: str) -> str:
    """Store text made inert in Markdown (no links, emphasis or HTML from a value)."""
    return re.sub(r"([\\`*_\[\]<>#|])", r"\\\1", str(text)).rstrip(".")
