"""Commands that bring data in: ``ingest`` and ``sources``."""

from __future__ import annotations

import sys
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Annotated, Any

import typer

from kgsentinel.cli.app import State, command
from kgsentinel.cli.output import print_rows

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add the ingest commands to ``app``."""

    @command(app, "ingest")
    def ingest(
        ctx: typer.Context,
        targets: Annotated[
            list[str] | None,
            typer.Argument(help="Source names from kgsentinel.toml, or a file (default: all)."),
        ] = None,
        mapping: Annotated[
            Path | None, typer.Option("--mapping", "-m", help="Mapping for an ad hoc file.")
        ] = None,
        graph: Annotated[
            str | None, typer.Option("--graph", "-g", help="Graph for an ad hoc file.")
        ] = None,
        append: Annotated[
            bool, typer.Option("--append", help="Ad hoc file: add to the graph, not replace.")
        ] = False,
        max_reject_rate: Annotated[
            float,
            typer.Option(min=0, max=1, help="Ad hoc file: fail above this share of bad rows."),
        ] = 0.05,
        case: Annotated[str | None, typer.Option(help="Event table: the case column.")] = None,
        activity: Annotated[str | None, typer.Option(help="Event table: activity column.")] = None,
        timestamp: Annotated[str | None, typer.Option(help="Event table: time column.")] = None,
        resource: Annotated[str | None, typer.Option(help="Event table: resource column.")] = None,
    ) -> None:
        """Ingest configured sources, an event log (XES, OCEL 2.0, CloudEvents), or a file
        with --mapping.

        Example: kgsentinel ingest plm erp; kgsentinel ingest data/launches.xes
        """
        from kgsentinel.ingest.job import event_table_mapping, ingest_log, ingest_path
        from kgsentinel.ingest.job import ingest as ingest_sources

        workspace = ctx.find_root().obj.workspace()
        names = targets or []
        options: dict[str, Any] = {"graph": graph, "max_reject_rate": max_reject_rate}
        with _progress() as advance:
            if len(names) == 1 and Path(names[0]).is_file():
                path = Path(names[0])
                columns = {"case": case, "activity": activity, "timestamp": timestamp}
                if any(columns.values()):  # a table of events, e.g. a CSV export
                    missing = [f"--{name}" for name, value in columns.items() if not value]
                    if missing:
                        raise typer.BadParameter(f"an event table also needs {', '.join(missing)}")
                    mapping = event_table_mapping(graph or path.stem, resource=resource, **columns)
                if mapping is None:  # an event log: XES, OCEL 2.0 or CloudEvents
                    log_options = {**options, "append": append or None}
                    reports = [ingest_log(workspace, path, progress=advance, **log_options)]
                else:
                    table_options = {**options, "append": append}
                    reports = [ingest_path(workspace, path, mapping=mapping, progress=advance,
                                           **table_options)]  # fmt: skip
            else:
                reports = ingest_sources(workspace, names, progress=advance)
        for report in reports:
            line = (
                f"{report.source}: read {report.rows_read:,}, loaded {report.rows_loaded:,}, "
                f"rejected {report.rows_rejected:,} rows; {report.triples:,} triples "
                f"into <{report.graph}>"
            )
            typer.echo(line)
            if report.rejects_file:
                typer.echo(f"  rejected rows and reasons: {report.rejects_file}", err=True)

    @command(app, "sources")
    def sources(ctx: typer.Context) -> None:
        """List the configured sources with their last run.

        Example: kgsentinel sources
        """
        from kgsentinel.ingest.job import source_runs

        state: State = ctx.find_root().obj
        runs = source_runs(state.workspace())
        if not runs:
            typer.echo("No sources yet: add [sources.NAME] to kgsentinel.toml.")
            return
        columns = ["source", "ended", "read", "loaded", "rejected", "triples"]
        rows = [[_cell(run.get(column)) for column in columns] for run in runs]
        print_rows(None, ["source", "last run", "read", "loaded", "rejected", "triples"], rows)


def _cell(value: Any) -> str:
    if value is None:
        return "never"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _progress() -> AbstractContextManager[Any]:
    """A rows counter on stderr when it is a terminal; a no-op callback otherwise."""
    if not sys.stderr.isatty():
        return nullcontext(None)
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    class _Rows:
        def __enter__(self) -> Any:
            self.bar = Progress(SpinnerColumn(), TextColumn("{task.completed:,} rows"),
                                TimeElapsedColumn(), transient=True)  # fmt: skip
            self.bar.__enter__()
            task = self.bar.add_task("ingest", total=None)
            return lambda rows: self.bar.advance(task, rows)

        def __exit__(self, *exc: object) -> None:
            self.bar.__exit__(*exc)

    return _Rows()
