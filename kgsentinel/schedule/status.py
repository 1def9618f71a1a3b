"""What ``kgsentinel jobs`` shows: each job, its schedule, next run and last run.

It reads the job store and ``.kgsentinel/job-runs.json``, never the graph
store, so it answers while a scheduler holds the store.

Example:
    >>> import tempfile, pathlib
    >>> from kgsentinel.workspace import init_workspace, open_workspace
    >>> root = init_workspace(pathlib.Path(tempfile.mkdtemp()) / "w")
    >>> _ = (root / "kgsentinel.toml").write_text(
    ...     '[sources.plm]\\npath = "data/plm.csv"\\nschedule = "15m"\\n')
    >>> with open_workspace(root) as ws:
    ...     [(row["job"], row["schedule"], row["next_run"], row["outcome"])
    ...      for row in job_status(ws, alerts=False)]
    [('ingest:plm', '15m', None, None)]
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kgsentinel.schedule.jobs import last_runs, planned_jobs
from kgsentinel.schedule.jobstore import JOB_STORE_FILE

if TYPE_CHECKING:  # pragma: no cover
    from kgsentinel.workspace import Workspace

__all__ = ["job_status", "stored_next_runs"]


def job_status(workspace: Workspace, *, alerts: bool | None = None) -> list[dict[str, Any]]:
    """Each configured job with ``schedule``, ``next_run``, ``last_run``, ``outcome``, ``error``.

    ``next_run`` is the job store's (None before the scheduler first ran it);
    the last run is the last one ``kgsentinel run`` recorded.
    """
    upcoming = stored_next_runs(workspace.state_dir)
    runs = last_runs(workspace.state_dir)
    return [
        {
            "job": spec.id,
            "schedule": spec.schedule,
            "next_run": upcoming.get(spec.id),
            "last_run": runs.get(spec.id, {}).get("started"),
            "outcome": runs.get(spec.id, {}).get("outcome"),
            "error": runs.get(spec.id, {}).get("error"),
        }
        for spec in planned_jobs(workspace.config, alerts=alerts)
    ]


def stored_next_runs(state_dir: Path) -> dict[str, str | None]:
    """The next run time (ISO, UTC) of each job in the job store, by job id."""
    path = state_dir / JOB_STORE_FILE
    if not path.is_file():
        return {}
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            rows = db.execute("SELECT id, next_run_time FROM apscheduler_jobs").fetchall()
    except sqlite3.Error:
        return {}
    return {job: _iso(stamp) for job, stamp in rows}


def _iso(stamp: float | None) -> str | None:
    if stamp is None:
        return None
    return dt.datetime.fromtimestamp(stamp, dt.UTC).isoformat(timespec="seconds")
