"""Altair chart builders for cxlib.segments (being written)."""

__all__: list[str] = []
