"""(being written: see the issue for this area)."""

__all__: list[str] = []
