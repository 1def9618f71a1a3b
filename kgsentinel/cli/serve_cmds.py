"""Commands of the HTTP API: ``serve`` and ``create-token``."""

from __future__ import annotations

import re
from typing import Annotated

import typer

from kgsentinel.cli.app import State, command, note

__all__ = ["register"]

ROLES = ("reader", "ingester", "operator", "admin")


def register(app: typer.Typer) -> None:
    """Add the API commands to ``app``."""

    @command(app, "serve")
    def serve(
        ctx: typer.Context,
        host: Annotated[
            str | None, typer.Option(help="Address to listen on (default: [api] host).")
        ] = None,
        port: Annotated[
            int | None,
            typer.Option(min=1, max=65535, help="Port to listen on (default: [api] port)."),
        ] = None,
    ) -> None:
        """Serve the HTTP API: SPARQL endpoint, events, alerts, health and metrics.

        Example: kgsentinel serve --port 8080 (then open http://127.0.0.1:8080/docs)
        """
        from kgsentinel.api.app import serve as serve_api

        state: State = ctx.find_root().obj
        workspace = state.workspace()
        settings = workspace.config.api
        listening = host or settings.host
        if settings.anonymous_read and listening not in ("127.0.0.1", "localhost", "::1"):
            note(
                f"Warning: anyone who can reach {listening} may read the graph ([api] "
                "anonymous_read = true); set it to false and give readers tokens"
            )
        serve_api(workspace, host=host, port=port)

    @command(app, "create-token")
    def create_token(
        name: Annotated[str, typer.Argument(help="A name for the token (who or what uses it).")],
        role: Annotated[str, typer.Option(help="reader, ingester, operator or admin.")] = "reader",
    ) -> None:
        """Make an API token: print it once, and the lines that let kgsentinel.toml accept it.

        Example: kgsentinel create-token ci --role ingester
        """
        from kgsentinel.api.security import new_token

        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
            raise typer.BadParameter("use letters, digits, '.', '_' and '-'", param_hint="NAME")
        if role not in ROLES:
            raise typer.BadParameter(f"use one of {', '.join(ROLES)}", param_hint="--role")
        token, digest = new_token()
        note("The token (shown only now; give it to its user, keep it secret):")
        typer.echo(token)
        note("Add these lines to kgsentinel.toml (they hold only its hash):")
        note(f'\n[api.tokens.{name}]\nrole = "{role}"\nhash = "{digest}"\n')
