"""Printing results: rich tables for people, standard formats for tools."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from kgsentinel.graph.results import QueryResult

__all__ = ["print_result", "print_rows", "spinner", "write_bytes"]

#: the width of a table printed to a file or a pipe: as wide as its longest cells need
_UNBOUNDED = 100_000


def write_bytes(data: bytes) -> None:
    """Write raw bytes to standard output."""
    sys.stdout.buffer.write(data)
    sys.stdout.flush()


def _cell(term: Any) -> str:
    if term is None:
        return ""
    value = getattr(term, "value", None)
    if value is None or not isinstance(value, str):
        return str(term)
    language = getattr(term, "language", None)
    return f"{value}@{language}" if language else value


def print_rows(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Print rows as a table on stdout (plain text when stdout is not a terminal)."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_lines=False, title_justify="left")
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(str(cell) for cell in row))
    # a terminal folds long cells to fit; a file or a pipe gets whole lines
    width = None if sys.stdout.isatty() else _UNBOUNDED
    Console(soft_wrap=False, width=width).print(table)


def print_result(result: QueryResult, format: str) -> None:
    """Print a query result as a ``table`` or in a format of :meth:`QueryResult.serialize`."""
    if format != "table":
        write_bytes(result.serialize(format))
        return
    if result.kind == "ask":
        print("true" if result.boolean else "false")
        return
    rows = [[_cell(value) for value in row.values()] for row in result]
    print_rows(None, result.variables, rows)
    noun = "triple" if result.kind == "graph" else "row"
    print(f"{len(rows)} {noun}{'' if len(rows) == 1 else 's'}", file=sys.stderr)


def spinner(message: str) -> AbstractContextManager[Any]:
    """A spinner with elapsed time on stderr, only when stderr is a terminal."""
    if not sys.stderr.isatty():
        return nullcontext()
    from rich.console import Console

    return Console(stderr=True).status(message)
