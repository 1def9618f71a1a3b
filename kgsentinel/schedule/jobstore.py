"""The job store: APScheduler's SQLAlchemy job store on SQLite, holding JSON.

Jobs are stored as JSON (never pickled): the job's callable must be
:func:`kgsentinel.schedule.jobs.run_job`, its arguments plain values and its
trigger one of :mod:`kgsentinel.schedule.triggers`. A row that is anything else
is refused when read, so editing the file cannot make the scheduler call
other code.

Example:
    >>> import tempfile, pathlib
    >>> store = open_job_store(pathlib.Path(tempfile.mkdtemp()))
    >>> store.engine.url.drivername
    'sqlite'
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from apscheduler.job import Job
from apscheduler.jobstores.base import ConflictingIdError, JobLookupError
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.util import datetime_to_utc_timestamp
from sqlalchemy.exc import IntegrityError

from kgsentinel.errors import SchedulerError
from kgsentinel.schedule.triggers import trigger_from_json, trigger_to_json

__all__ = ["JOB_FUNCTION", "JOB_STORE_FILE", "JsonJobStore", "job_from_json", "job_to_json",
           "open_job_store"]  # fmt: skip

JOB_STORE_FILE = "jobs.sqlite"
JOB_FUNCTION = "kgsentinel.schedule.jobs:run_job"


def open_job_store(state_dir: Path) -> JsonJobStore:
    """The job store of a workspace: ``jobs.sqlite`` in its state folder."""
    state_dir.mkdir(parents=True, exist_ok=True)
    return JsonJobStore(url=f"sqlite:///{state_dir / JOB_STORE_FILE}")


def job_to_json(job: Job) -> bytes:
    """The stored form of a job."""
    state = job.__getstate__()
    if state["func"] != JOB_FUNCTION:
        raise SchedulerError(f"only {JOB_FUNCTION} jobs go in the job store, not {state['func']}")
    next_run = state["next_run_time"]
    data = {
        **{key: state[key] for key in ("version", "id", "func", "executor", "kwargs", "name",
                                       "misfire_grace_time", "coalesce", "max_instances")},
        "args": list(state["args"]),
        "trigger": trigger_to_json(state["trigger"]),
        "next_run_time": next_run.isoformat() if next_run is not None else None,
    }  # fmt: skip
    return json.dumps(data, sort_keys=True).encode("utf-8")


def job_from_json(raw: bytes) -> dict[str, Any]:
    """The job state that :func:`job_to_json` wrote, ready for ``Job.__setstate__``."""
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SchedulerError(
            f"a job in the job store is not JSON ({exc}); remove {JOB_STORE_FILE} and start "
            "again: the jobs come back from kgsentinel.toml"
        ) from None
    if not isinstance(data, dict) or data.get("func") != JOB_FUNCTION:
        raise SchedulerError(f"the job store holds a job that does not run {JOB_FUNCTION}; "
                             f"remove {JOB_STORE_FILE} and start again")  # fmt: skip
    next_run = data["next_run_time"]
    return {
        **data,
        "args": tuple(data["args"]),
        "trigger": trigger_from_json(data["trigger"]),
        "next_run_time": dt.datetime.fromisoformat(next_run) if next_run else None,
    }


class JsonJobStore(SQLAlchemyJobStore):
    """APScheduler's SQLAlchemy job store, writing each job as JSON instead of a pickle."""

    def add_job(self, job: Job) -> None:
        insert = self.jobs_t.insert().values(
            id=job.id,
            next_run_time=datetime_to_utc_timestamp(job.next_run_time),
            job_state=job_to_json(job),
        )
        with self.engine.begin() as connection:
            try:
                connection.execute(insert)
            except IntegrityError:
                raise ConflictingIdError(job.id) from None

    def update_job(self, job: Job) -> None:
        update = (
            self.jobs_t.update()
            .values(
                next_run_time=datetime_to_utc_timestamp(job.next_run_time),
                job_state=job_to_json(job),
            )
            .where(self.jobs_t.c.id == job.id)
        )
        with self.engine.begin() as connection:
            if connection.execute(update).rowcount == 0:
                raise JobLookupError(job.id)

    def _reconstitute_job(self, job_state: bytes) -> Job:
        state = job_from_json(job_state)
        state["jobstore"] = self
        job = Job.__new__(Job)
        job.__setstate__(state)
        job._scheduler = self._scheduler
        job._jobstore_alias = self._alias
        return job
