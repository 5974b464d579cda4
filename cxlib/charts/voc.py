"""Altair chart builders for cxlib.voc (being written)."""

__all__: list[str] = []
