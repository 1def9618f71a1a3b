"""The ``demo`` command: the whole story on generated data, in one command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kgsentinel.cli.app import command, note

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add the demo command to ``app``."""

    @command(app, "demo")
    def demo(
        directory: Annotated[
            Path,
            typer.Argument(
                help="Folder to build the demo workspace in (new, empty or an earlier demo)."
            ),
        ] = Path("kgsentinel-demo"),
        launches: Annotated[
            int, typer.Option(min=120, max=5000, help="Product launches to simulate.")
        ] = 300,
        seed: Annotated[int, typer.Option(help="Seed of the simulation.")] = 7,
    ) -> None:
        """Generate a new product introduction workspace, ingest, detect, predict, and report.

        Example: kgsentinel demo; kgsentinel demo /tmp/npi --launches 600
        """
        from kgsentinel.demo.report import render_report
        from kgsentinel.demo.runner import run_demo

        report = run_demo(directory, launches=launches, seed=seed,
                          progress=lambda step: note(f"… {step}"))  # fmt: skip
        typer.echo(render_report(report), nl=False)
