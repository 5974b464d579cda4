"""Interactive exploration in JupyterLab (being written)."""


def add_cli(sub, add_db) -> None:
    """The `lab` subcommand (being written)."""
