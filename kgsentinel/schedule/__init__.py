"""The scheduler: ``kgsentinel run`` runs the configured jobs on their schedules.

Sources, detectors and outcomes with a ``schedule`` in ``kgsentinel.toml`` become
jobs on APScheduler, whose job store lives in ``.kgsentinel/``; each run is a
``kgs:JobRun`` in the provenance graph. Importing this package is cheap: the
scheduler loads on first use.

Example:
    >>> from kgsentinel.schedule import planned_jobs
    >>> from kgsentinel.config import Config
    >>> [job.id for job in planned_jobs(Config.model_validate(
    ...     {"sources": {"plm": {"path": "plm.csv", "schedule": "15m"}}}), alerts=False)]
    ['ingest:plm']
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["JobSpec", "job_status", "planned_jobs", "run_job", "run_scheduler", "serve"]

_LAZY = {
    "JobSpec": "kgsentinel.schedule.jobs",
    "planned_jobs": "kgsentinel.schedule.jobs",
    "run_job": "kgsentinel.schedule.jobs",
    "job_status": "kgsentinel.schedule.status",
    "run_scheduler": "kgsentinel.schedule.scheduler",
    "serve": "kgsentinel.schedule.scheduler",
}

if TYPE_CHECKING:  # pragma: no cover
    from kgsentinel.schedule.jobs import JobSpec, planned_jobs, run_job
    from kgsentinel.schedule.scheduler import run_scheduler, serve
    from kgsentinel.schedule.status import job_status


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'kgsentinel.schedule' has no attribute {name!r}")
