"""Altair chart builders for cxlib.churn (being written)."""

__all__: list[str] = []
