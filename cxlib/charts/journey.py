"""Altair chart builders for cxlib.journey (being written)."""

__all__: list[str] = []
