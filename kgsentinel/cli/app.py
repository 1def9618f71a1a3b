"""The ``kgsentinel`` Typer application: global options, error handling, command groups.

Each command parses its arguments, calls one library function and prints. Our
errors become one line on stderr and exit code 1, never a traceback.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from kgsentinel.errors import KgsentinelError

__all__ = ["State", "app", "command", "fail", "main", "note", "user_errors"]

F = TypeVar("F", bound=Callable[..., Any])

app = typer.Typer(
    name="kgsentinel",
    help="A knowledge graph of your business processes: load, query, detect, alert.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class State:
    """What every command shares: the chosen workspace, opened on first use."""

    def __init__(self, workspace: Path | None) -> None:
        self.workspace_path = workspace
        self._workspace: Any = None

    def workspace(self) -> Any:
        """Open the workspace (or the default one, saying where it is)."""
        if self._workspace is None:
            from kgsentinel.workspace import open_workspace

            self._workspace = open_workspace(self.workspace_path)
            if self._workspace.root is None:
                note(
                    f"No {'kgsentinel.toml'} here or above: using the default store at "
                    f"{self._workspace.store_location} (`kgsentinel init` makes a workspace)."
                )
        return self._workspace

    def close(self) -> None:
        """Close the workspace's store."""
        if self._workspace is not None:
            self._workspace.close()


def note(message: str) -> None:
    """Print a side message on stderr (never mixed into command output)."""
    typer.echo(message, err=True)


def fail(message: str) -> typer.Exit:
    """Print ``Error: message`` on stderr and return the exit to raise."""
    typer.secho(f"Error: {message}", err=True, fg=typer.colors.RED)
    return typer.Exit(code=1)


def user_errors(function: F) -> F:
    """Turn a :class:`KgsentinelError` raised by ``function`` into one line and exit 1."""

    @functools.wraps(function)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except KgsentinelError as exc:
            raise fail(str(exc)) from None

    return run  # type: ignore[return-value]


def command(group: typer.Typer, name: str | None = None, **options: Any) -> Callable[[F], F]:
    """Register a command on ``group`` with :func:`user_errors` handling."""

    def register(function: F) -> F:
        group.command(name, **options)(user_errors(function))
        return function

    return register


@app.callback()
def root(
    ctx: typer.Context,
    workspace: Annotated[
        Path | None,
        typer.Option(
            "--workspace",
            "-w",
            envvar="KGSENTINEL_WORKSPACE",
            help="Workspace folder (default: found by walking up from here).",
        ),
    ] = None,
) -> None:
    """kgsentinel: one knowledge graph for your business processes."""
    state = State(workspace)
    ctx.obj = state
    ctx.call_on_close(state.close)


#: The command modules, in the order ``kgsentinel --help`` lists them; each has ``register(app)``.
COMMAND_MODULES = (
    "workspace_cmds",
    "graph_cmds",
    "ingest_cmds",
    "detect_cmds",
    "predict_cmds",
    "alert_cmds",
    "serve_cmds",
    "run_cmds",
    "demo_cmds",
)


def _register_commands() -> None:
    import importlib

    for name in COMMAND_MODULES:
        importlib.import_module(f"kgsentinel.cli.{name}").register(app)


_register_commands()


def main() -> None:
    """Entry point of the ``kgsentinel`` console script.

    An error that is not one of ours is a bug: it is reported in one line, with
    no traceback (which could show data), unless ``KGSENTINEL_DEBUG`` is set.
    """
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("Interrupted.", err=True)
        sys.exit(130)
    except Exception as exc:
        if os.environ.get("KGSENTINEL_DEBUG"):
            raise
        first = (str(exc).splitlines() or [""])[0][:200]
        typer.secho(
            f"Error: unexpected {type(exc).__name__}: {first} (a bug in kgsentinel; "
            "run again with KGSENTINEL_DEBUG=1 to see where)",
            err=True, fg=typer.colors.RED,
        )  # fmt: skip
        sys.exit(2)
