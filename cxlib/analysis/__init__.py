"""The analysis layer: every metric and model of the workbench, as functions of a store connection.

Owns one area per package or module: ``voc`` (scores, comparisons, trends, drivers, peak-end,
feedback text, the closed loop), ``journey`` (funnels, paths, the stage map, omnichannel,
friction), ``segments`` (profiles, RFM, clusters), ``churn`` (status and rates, retention,
survival, Cox, value of experience), ``clv`` (BG/NBD and Gamma-Gamma); shared pieces in
``intervals``, ``features`` (per-customer CX measures) and ``exports`` (CSV for spreadsheets).
A function validates its arguments, runs query files through ``cxlib.sql`` with bound
parameters, and returns a tidy DataFrame with fixed column names.
May import: ``cxlib.sql``, ``cxlib.store``, ``cxlib.privacy``, ``cxlib.errors``, ``cxlib.locations``,
and other analysis modules (no cycles). Never a chart, report or explore module.
Definitions and their sources: docs/metrics.md; the layers: docs/architecture.md.
"""
