"""Commands over the graph: ``query``, ``load``, ``export``, ``stats``, ``graphs``."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from kgsentinel.cli.app import State, command, user_errors
from kgsentinel.cli.output import print_result, print_rows, spinner, write_bytes
from kgsentinel.errors import QueryError

__all__ = ["register"]


class ResultFormat(StrEnum):
    """Output formats of ``kgsentinel query``."""

    table = "table"
    csv = "csv"
    tsv = "tsv"
    json = "json"
    turtle = "turtle"
    ntriples = "ntriples"


class RdfFormatName(StrEnum):
    """RDF formats for ``load`` and ``export``."""

    turtle = "turtle"
    ntriples = "ntriples"
    nquads = "nquads"
    trig = "trig"
    jsonld = "jsonld"
    rdfxml = "rdfxml"


def read_query(text: str | None, file: Path | None) -> str:
    """The query from the argument, ``--file``, or standard input (``-`` or piped)."""
    if text is not None and file is not None:
        raise QueryError("give the query inline or with --file, not both")
    if file is not None:
        try:
            return file.read_text(encoding="utf-8")
        except OSError as exc:
            raise QueryError(f"cannot read {file}: {exc.strerror}") from exc
    if text == "-" or (text is None and not sys.stdin.isatty()):
        return sys.stdin.read()
    if text is None:
        raise QueryError("no query: pass it inline, with --file query.rq, or on standard input")
    return text


def parse_params(pairs: list[str]) -> dict[str, object]:
    """``name=value`` pairs into RDF terms bound by the store (never pasted into the query)."""
    from kgsentinel.graph.terms import parse_param

    params: dict[str, object] = {}
    for pair in pairs:
        name, separator, value = pair.partition("=")
        if not separator or not name:
            raise QueryError(f"--param {pair!r}: write it as name=value, e.g. --param case=C-17")
        params[name] = parse_param(value)
    return params


def register(app: typer.Typer) -> None:
    """Add the graph commands to ``app``."""

    @command(app, "query")
    def query(
        ctx: typer.Context,
        sparql: Annotated[
            str | None, typer.Argument(help="The SPARQL query; '-' or omit to read stdin.")
        ] = None,
        file: Annotated[
            Path | None, typer.Option("--file", "-f", help="Read the query from a .rq file.")
        ] = None,
        param: Annotated[
            list[str] | None,
            typer.Option("--param", "-p", help="Bind ?name to a value: name=value (repeatable)."),
        ] = None,
        format: Annotated[ResultFormat, typer.Option("--format", "-F")] = ResultFormat.table,
    ) -> None:
        """Run a SPARQL query over all graphs.

        Example: kgsentinel query 'SELECT ?e WHERE { ?e kgs:case ?c }' -p c='<urn:x:c1>'
        """
        text = read_query(sparql, file)
        params = parse_params(param or [])
        result = _state(ctx).workspace().store.query(text, params=params)
        print_result(result, format.value)

    @command(app, "load")
    def load(
        ctx: typer.Context,
        path: Annotated[Path, typer.Argument(help="RDF file: .ttl .nt .nq .trig .jsonld .rdf")],
        graph: Annotated[
            str | None,
            typer.Option("--graph", "-g", help="Graph name or IRI (default: file name)."),
        ] = None,
        format: Annotated[
            RdfFormatName | None, typer.Option("--format", "-F", help="Default: from extension.")
        ] = None,
        append: Annotated[
            bool, typer.Option("--append", help="Add to the graph instead of replacing it.")
        ] = False,
    ) -> None:
        """Load an RDF file into a named graph, replacing it atomically.

        Example: kgsentinel load data/suppliers.ttl --graph erp
        """
        store = _state(ctx).workspace().store
        with spinner(f"Loading {path}"):
            report = store.load(
                path, graph=graph, format=format.value if format else None, replace=not append
            )
        verb = "added to" if append else "replaced"
        for iri, triples in report.graphs.items():
            typer.echo(f"{verb} <{iri}>: now {triples:,} triples")

    @command(app, "export")
    def export(
        ctx: typer.Context,
        graph: Annotated[
            str | None, typer.Option("--graph", "-g", help="One graph (default: all graphs).")
        ] = None,
        output: Annotated[
            Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")
        ] = None,
        format: Annotated[
            RdfFormatName | None,
            typer.Option("--format", "-F", help="Default: from -o's extension, else nquads."),
        ] = None,
    ) -> None:
        """Write a graph, or all graphs, as RDF to a file or standard output.

        Example: kgsentinel export --graph erp -o erp.ttl
        """
        store = _state(ctx).workspace().store
        chosen = format.value if format else None
        if output is None:
            store.export(sys.stdout.buffer, graph=graph, format=chosen or "nquads")
            sys.stdout.flush()
            return
        with spinner(f"Exporting to {output}"):
            store.export(output, graph=graph, format=chosen)
        typer.echo(f"Wrote {output}", err=True)

    @command(app, "stats")
    def stats(
        ctx: typer.Context,
        top: Annotated[int, typer.Option(min=1, help="How many classes and predicates.")] = 10,
        json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    ) -> None:
        """Show triples per graph and the most used classes and predicates.

        Example: kgsentinel stats --top 5
        """
        result = _state(ctx).workspace().store.stats(top=top)
        if json_output:
            import dataclasses
            import json

            write_bytes(json.dumps(dataclasses.asdict(result), indent=2).encode() + b"\n")
            return
        graph_sizes = [(g.name, g.triples) for g in result.graphs]
        print_rows("Graphs", ["graph", "triples"], result_rows(graph_sizes))
        print_rows("Top classes", ["class", "instances"], result_rows(result.classes))
        print_rows("Top predicates", ["predicate", "triples"], result_rows(result.predicates))
        typer.echo(f"{result.triples:,} triples in {len(result.graphs)} graphs", err=True)

    graphs = typer.Typer(help="List or drop named graphs.", no_args_is_help=False)
    app.add_typer(graphs, name="graphs")

    @graphs.callback(invoke_without_command=True)
    @user_errors
    def graphs_list(ctx: typer.Context) -> None:
        """List the graphs with their sizes; `graphs drop NAME` deletes one.

        Example: kgsentinel graphs
        """
        if ctx.invoked_subcommand is not None:
            return
        store = _state(ctx).workspace().store
        infos = store.graphs()
        if not infos:
            typer.echo(f"No graphs yet in {store.location}: `kgsentinel load FILE` adds one.")
            return
        rows = [(g.name, g.iri or "", f"{g.triples:,}") for g in infos]
        print_rows(None, ["graph", "iri", "triples"], rows)

    @command(graphs, "drop")
    def graphs_drop(
        ctx: typer.Context,
        name: Annotated[str, typer.Argument(help="Graph name or IRI.")],
        yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
    ) -> None:
        """Delete a named graph and everything in it.

        Example: kgsentinel graphs drop erp --yes
        """
        store = _state(ctx).workspace().store
        if not yes:
            typer.confirm(f"Drop graph {name} from {store.location}?", abort=True)
        store.drop_graph(name)
        typer.echo(f"Dropped {name}")


def result_rows(pairs: list[tuple[str, int]]) -> list[tuple[str, str]]:
    """Format (name, count) pairs for a table."""
    return [(name, f"{count:,}") for name, count in pairs]


def _state(ctx: typer.Context) -> State:
    state = ctx.find_root().obj
    assert isinstance(state, State)
    return state
