"""The `kgsentinel` command line: a thin Typer layer over the library."""

__all__: list[str] = []
