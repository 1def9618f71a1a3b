"""Commands about the workspace itself: ``init`` and ``ontology``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kgsentinel.cli.app import command

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add the workspace commands to ``app``."""

    @command(app, "init")
    def init(
        directory: Annotated[Path, typer.Argument(help="Folder to create (default: here).")] = Path(
            "."
        ),
        name: Annotated[
            str | None, typer.Option(help="Workspace name (default: the folder's name).")
        ] = None,
    ) -> None:
        """Create a workspace: kgsentinel.toml, mappings/, rules/, data/, notebooks/.

        Example: kgsentinel init npi
        """
        from kgsentinel.workspace import init_workspace

        root = init_workspace(directory, name=name)
        typer.echo(f"Created a kgsentinel workspace in {root}")
        typer.echo("Next: edit kgsentinel.toml, then `kgsentinel load FILE` or `kgsentinel query`.")

    @command(app, "ontology")
    def ontology() -> None:
        """Print the kgsentinel ontology (Turtle): events, objects, runs, anomalies, alerts.

        Example: kgsentinel ontology > ontology.ttl
        """
        from kgsentinel.graph.ontology import ontology_text

        typer.echo(ontology_text(), nl=False)
