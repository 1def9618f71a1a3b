"""Commands that look for anomalies: ``detect``, ``detectors`` and ``anomalies``."""

from __future__ import annotations

import datetime as dt
import sys
from contextlib import AbstractContextManager, nullcontext
from typing import Annotated, Any

import typer

from kgsentinel.cli.app import State, command
from kgsentinel.cli.output import print_rows, write_bytes

__all__ = ["register"]

ANOMALY_FORMATS = ("table", "csv", "json")


def register(app: typer.Typer) -> None:
    """Add the detector commands to ``app``."""

    @command(app, "detect")
    def detect(
        ctx: typer.Context,
        names: Annotated[
            list[str] | None, typer.Argument(help="Detectors to run (default: all enabled).")
        ] = None,
        full: Annotated[
            bool, typer.Option("--full", help="Examine every case, not only new or changed ones.")
        ] = False,
    ) -> None:
        """Run detectors over the graph and record what they find in the anomalies graph.

        Example: kgsentinel detect; kgsentinel detect conformance durations --full
        """
        from kgsentinel.detectors.runner import detect as run_detectors

        workspace = ctx.find_root().obj.workspace()
        with _progress() as advance:
            reports = run_detectors(workspace, names or [], full=full, progress=advance)
        rows = [
            [r.detector, r.kind, f"{r.cases:,}", f"{r.found:,}", f"{r.new:,}", f"{r.resolved:,}",
             f"{(r.ended - r.started).total_seconds():.1f}s"]
            for r in reports
        ]  # fmt: skip
        print_rows(None, ["detector", "kind", "cases", "found", "new", "resolved", "time"], rows)
        mode = "incremental" if any(r.incremental for r in reports) else "full"
        total = sum(r.found for r in reports)
        typer.echo(f"{total:,} anomalies found ({mode} run); see `kgsentinel anomalies`", err=True)
        if workspace.config.alerts.enabled:
            from kgsentinel.alerts import process
            from kgsentinel.cli.alert_cmds import echo_report

            echo_report(process(workspace), prefix="Alerts: ", err=True)

    @command(app, "detectors")
    def detectors(ctx: typer.Context) -> None:
        """List the detectors with their last run and standing anomalies.

        Example: kgsentinel detectors
        """
        from kgsentinel.detectors.runner import detector_status

        state: State = ctx.find_root().obj
        rows = [
            [s["detector"], s["kind"], "yes" if s["enabled"] else "no", s["last_run"] or "never",
             s["found"] if s["found"] is not None else "", f"{s['anomalies']:,}"]
            for s in detector_status(state.workspace())
        ]  # fmt: skip
        print_rows(None, ["detector", "kind", "enabled", "last run", "found", "anomalies"], rows)

    @command(app, "anomalies")
    def anomalies(
        ctx: typer.Context,
        detector: Annotated[str | None, typer.Option(help="Only this detector's.")] = None,
        kind: Annotated[str | None, typer.Option(help="Only this kind (e.g. skipped).")] = None,
        since: Annotated[
            str | None, typer.Option(help="Detected at or after (ISO date or time, or 2h, 3d).")
        ] = None,
        min_score: Annotated[
            float | None, typer.Option(min=0, max=1, help="Only scores at least this.")
        ] = None,
        format: Annotated[
            str, typer.Option("--format", "-f", help="table, csv or json.")
        ] = "table",
        limit: Annotated[int | None, typer.Option(min=1, help="At most this many (table).")] = None,
    ) -> None:
        """List standing anomalies, newest and highest-scored first.

        Example: kgsentinel anomalies --kind skipped --min-score 0.8 --format csv > skipped.csv
        """
        from kgsentinel.detectors.anomalies import list_anomalies

        if format not in ANOMALY_FORMATS:
            raise typer.BadParameter(f"use one of {', '.join(ANOMALY_FORMATS)}",
                                     param_hint="--format")  # fmt: skip
        state: State = ctx.find_root().obj
        frame = list_anomalies(state.workspace().store, detector=detector, kind=kind,
                               since=_since(since), min_score=min_score)  # fmt: skip
        if format == "csv":
            write_bytes(frame.to_csv(index=False).encode("utf-8"))
        elif format == "json":
            write_bytes((frame.to_json(orient="records", force_ascii=False) + "\n").encode())
        else:
            shown = frame.head(limit) if limit else frame
            columns = ["detector", "kind", "case_id", "activity", "score", "explanation"]
            rows = [[_text(row[c]) for c in columns] for _, row in shown.iterrows()]
            print_rows(None, columns, rows)
            typer.echo(f"{len(frame):,} anomalies", err=True)


def _since(text: str | None) -> dt.datetime | None:
    """``2026-11-01``, an ISO time, or an age such as ``90m``, ``2h``, ``3d``."""
    if text is None:
        return None
    units = {"m": "minutes", "h": "hours", "d": "days"}
    if text[-1:] in units and text[:-1].isdigit():
        return dt.datetime.now(dt.UTC) - dt.timedelta(**{units[text[-1]]: int(text[:-1])})
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter("use an ISO date or time, or an age such as 2h or 3d",
                                 param_hint="--since") from None  # fmt: skip
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def _progress() -> AbstractContextManager[Any]:
    """A spinner naming the running detector on stderr, when it is a terminal."""
    if not sys.stderr.isatty():
        return nullcontext(None)
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    class _Detectors:
        def __enter__(self) -> Any:
            self.bar = Progress(SpinnerColumn(), TextColumn("{task.description}"),
                                TimeElapsedColumn(), transient=True)  # fmt: skip
            self.bar.__enter__()
            task = self.bar.add_task("detect", total=None)
            return lambda name: self.bar.update(task, description=f"detector {name}")

        def __exit__(self, *exc: object) -> None:
            self.bar.__exit__(*exc)

    return _Detectors()
