"""Commands of the scheduler: ``run`` and ``jobs``."""

from __future__ import annotations

import json
import logging
import sys
from typing import Annotated, Any

import typer

from kgsentinel.cli.app import State, command, note
from kgsentinel.cli.output import print_rows

__all__ = ["register"]

JOB_FORMATS = ("table", "csv", "json")
JOB_COLUMNS = ["job", "schedule", "next_run", "last_run", "outcome", "error"]


def register(app: typer.Typer) -> None:
    """Add the scheduler commands to ``app``."""

    @command(app, "run")
    def run(ctx: typer.Context) -> None:
        """Run the configured jobs on their schedules until stopped (Ctrl-C or SIGTERM).

        Sources, detectors and outcomes with a `schedule` in kgsentinel.toml are ingested,
        run and predicted; alerts follow. See docs/scheduling.md.

        Example: kgsentinel run
        """
        from kgsentinel.schedule import serve

        state: State = ctx.find_root().obj
        serve(state.workspace(), ready=_say_ready)
        note("Scheduler stopped.")

    @command(app, "jobs")
    def jobs(
        ctx: typer.Context,
        format: Annotated[
            str, typer.Option("--format", "-f", help="table, csv or json.")
        ] = "table",
    ) -> None:
        """List the scheduled jobs with their schedule, next run and last run.

        Example: kgsentinel jobs --format json
        """
        from kgsentinel.schedule import job_status
        from kgsentinel.schedule.lock import scheduler_holder

        if format not in JOB_FORMATS:
            raise typer.BadParameter(f"use one of {', '.join(JOB_FORMATS)}",
                                     param_hint="--format")  # fmt: skip
        workspace = ctx.find_root().obj.workspace()
        rows = job_status(workspace)
        _print_jobs(rows, format)
        holder = scheduler_holder(workspace.state_dir)
        if holder:
            note(f"{len(rows)} jobs; the scheduler runs (pid {holder['pid']}, since "
                 f"{holder['since']})")  # fmt: skip
        else:
            note(f"{len(rows)} jobs; no scheduler runs (start one with `kgsentinel run`)")


def _print_jobs(rows: list[dict[str, Any]], format: str) -> None:
    if format == "json":
        typer.echo(json.dumps(rows, indent=1))
    elif format == "csv":
        import csv

        writer = csv.DictWriter(sys.stdout, fieldnames=JOB_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    else:
        cells = [[_cell(column, row[column]) for column in JOB_COLUMNS] for row in rows]
        print_rows(None, [c.replace("_", " ") for c in JOB_COLUMNS], cells)


def _cell(column: str, value: Any) -> str:
    """Times as ``2026-12-01 14:30:00`` (UTC), a missing last run as ``never``."""
    if value is None:
        return "never" if column == "last_run" else ""
    if column in ("next_run", "last_run"):
        return str(value)[:19].replace("T", " ")
    return str(value)


def _say_ready(jobs: list[Any]) -> None:
    _log_to_stderr()
    if not jobs:
        note("No job has a schedule: add schedule = \"15m\" (or a cron line) to a source, "
             "detector or outcome in kgsentinel.toml. Waiting; Ctrl-C to stop.")  # fmt: skip
        return
    for job in jobs:
        when = job.next_run_time.isoformat(timespec="seconds") if job.next_run_time else "paused"
        note(f"  {job.id}: {job.trigger}, next at {when}")
    count = f"{len(jobs)} job" + ("s" if len(jobs) > 1 else "")
    note(f"Scheduler running {count}; Ctrl-C or SIGTERM stops it after the running ones.")


class _OneLine(logging.Formatter):
    """Time, level and message; never a traceback (it could show data)."""

    def format(self, record: logging.LogRecord) -> str:
        when = self.formatTime(record, "%Y-%m-%dT%H:%M:%S")
        return f"{when} {record.levelname.lower()} {record.getMessage()}"


def _log_to_stderr() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_OneLine())
    for name, level in (("kgsentinel", logging.INFO), ("apscheduler", logging.WARNING)):
        log = logging.getLogger(name)
        log.setLevel(level)
        for old in [h for h in log.handlers if isinstance(h.formatter, _OneLine)]:
            log.removeHandler(old)
        log.addHandler(handler)
