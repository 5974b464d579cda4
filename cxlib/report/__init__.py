"""The report layer: scheduled runs of the notebooks into offline, script-free HTML for stakeholders.

Owns: ``params`` (a notebook's parameters cell, read without running it, and value checking),
``jobs`` (notebooks and named jobs), ``runs`` (papermill runs, staged and published atomically),
``index`` (reports/index.html), ``render`` (one safe HTML page per notebook), ``sanitize`` (inert
HTML and SVG, personal data masked with ``cxlib.privacy.masking``; the final page scan is in ``render``).
May import: ``cxlib.store``, ``cxlib.sql``, ``cxlib.errors``, ``cxlib.locations``; the notebooks it
runs use the analysis layer. Never imported by analysis, store or sql. See docs/architecture.md.
"""

from cxlib.report.index import rebuild_index
from cxlib.report.jobs import ReportTarget, load_jobs, notebooks
from cxlib.report.runs import RunResult, run_reports

__all__ = ["ReportTarget", "RunResult", "load_jobs", "notebooks", "rebuild_index", "run_reports"]
