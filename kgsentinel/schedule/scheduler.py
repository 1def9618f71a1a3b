"""``kgsentinel run``: the workspace's jobs on APScheduler, until stopped.

On start the scheduler takes the workspace's scheduler lock (one scheduler per
workspace) and opens the store, which it then holds; it makes the job store
match ``kgsentinel.toml``: new jobs are added, jobs whose schedule changed are
replaced, jobs no longer configured are removed, and every other job keeps its
next run time, so a schedule survives a restart. A run missed while the
scheduler was stopped or busy runs once (coalesced) if it is at most
``[scheduler] misfire_grace`` late. A job never overlaps itself.

:func:`serve` stops on SIGTERM or SIGINT: no new run starts, the running ones
finish and are recorded, and it returns. A second SIGINT ends the process at
once (an ingest cut short leaves its graph as it was).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import threading
import zoneinfo
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from apscheduler.events import EVENT_JOB_MISSED
from apscheduler.executors.base import run_job as apscheduler_run_job
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.job import Job
from apscheduler.schedulers.background import BackgroundScheduler

from kgsentinel.errors import SchedulerError
from kgsentinel.schedule.config import SchedulerConfig, interval_of
from kgsentinel.schedule.jobs import (
    JobSpec,
    alerts_due,
    attached,
    planned_jobs,
    record_missed,
    scheduled_for,
)
from kgsentinel.schedule.jobstore import JOB_FUNCTION, JOB_STORE_FILE, open_job_store
from kgsentinel.schedule.lock import SchedulerLock
from kgsentinel.schedule.triggers import same_schedule, trigger_for

if TYPE_CHECKING:  # pragma: no cover
    from kgsentinel.workspace import Workspace

__all__ = ["SyncReport", "run_scheduler", "serve", "sync_jobs"]

logger = logging.getLogger("kgsentinel.schedule")
HOLDER = "the scheduler, `kgsentinel run`"
#: seconds between looks at whether an alert group is due before the alerts job's next tick
_LOOK_EVERY = 1.0


class SyncReport(dict[str, list[str]]):
    """Job ids by what starting did to them: ``added``, ``replaced``, ``kept``, ``removed``."""


def serve(workspace: Workspace, *, ready: Callable[[list[Job]], None] | None = None) -> None:
    """Run the scheduler until SIGTERM or SIGINT (see the module's description)."""
    stop = threading.Event()
    with _stopping_on_signals(stop):
        run_scheduler(workspace, stop=stop, ready=ready)


def run_scheduler(
    workspace: Workspace,
    *,
    stop: threading.Event,
    ready: Callable[[list[Job]], None] | None = None,
) -> SyncReport:
    """Run the workspace's jobs until ``stop`` is set; the running jobs finish before it returns.

    ``ready`` is called with the scheduled jobs once they are running.
    """
    settings = workspace.config.scheduler
    with SchedulerLock(workspace.state_dir):
        store = workspace.store  # held from now on: jobs and `kgsentinel jobs` never wait for it
        if hasattr(store, "name_holder"):
            store.name_holder(HOLDER)
        with attached(workspace) as key:
            scheduler = _scheduler(workspace, settings)
            scheduler.add_listener(_recording_missed(workspace, settings), EVENT_JOB_MISSED)
            try:
                report = sync_jobs(scheduler, key, planned_jobs(workspace.config), settings)
                scheduler.resume()
                if ready is not None:
                    ready(scheduler.get_jobs())
                while not stop.wait(_LOOK_EVERY):
                    _bring_alerts_forward(scheduler)
                scheduler.pause()
            finally:
                scheduler.shutdown(wait=True)
    return report


def _recording_missed(workspace: Workspace, settings: SchedulerConfig) -> Callable[[Any], None]:
    """A listener that records each run skipped for coming too late as a missed run."""

    def missed(event: Any) -> None:
        record_missed(workspace, event.job_id, event.scheduled_run_time, settings.misfire_grace)

    return missed


def _bring_alerts_forward(scheduler: BackgroundScheduler) -> None:
    """Run the alerts job when a waiting group is due, if that is before its next tick.

    So a group's first notification leaves when its ``group_wait`` ends, not up
    to ``alerts_every`` later.
    """
    due = alerts_due()
    job = scheduler.get_job("alerts") if due is not None else None
    if job is not None and job.next_run_time is not None and due < job.next_run_time:
        scheduler.modify_job("alerts", next_run_time=due)


def sync_jobs(
    scheduler: BackgroundScheduler, workspace: str, specs: list[JobSpec], settings: SchedulerConfig
) -> SyncReport:
    """Make the scheduler's stored jobs match ``specs``, keeping unchanged jobs' next run times."""
    report = SyncReport(added=[], replaced=[], kept=[], removed=[])
    stored = {job.id: job for job in scheduler.get_jobs()}
    options = {"misfire_grace_time": _grace_seconds(settings), "coalesce": True,
               "max_instances": 1}  # fmt: skip
    for spec in specs:
        trigger = trigger_for(spec.schedule, settings.timezone)
        old = stored.pop(spec.id, None)
        if old is not None and same_schedule(old.trigger, trigger):
            scheduler.modify_job(spec.id, args=[workspace, spec.id], **options)
            report["kept"].append(spec.id)
            continue
        if old is not None:
            scheduler.remove_job(spec.id)
        scheduler.add_job(JOB_FUNCTION, trigger, args=[workspace, spec.id], id=spec.id,
                          name=spec.id, **options)  # fmt: skip
        report["replaced" if old is not None else "added"].append(spec.id)
    for job_id in stored:
        scheduler.remove_job(job_id)
        report["removed"].append(job_id)
    return report


def _scheduler(workspace: Workspace, settings: SchedulerConfig) -> BackgroundScheduler:
    """A started, paused scheduler on the workspace's job store."""
    from sqlalchemy.exc import SQLAlchemyError

    scheduler = BackgroundScheduler(
        jobstores={"default": open_job_store(workspace.state_dir)},
        executors={"default": _RecordingExecutor(settings.workers)},
        timezone=zoneinfo.ZoneInfo(settings.timezone),
    )
    try:
        scheduler.start(paused=True)
    except SQLAlchemyError as exc:
        first = (str(exc).splitlines() or [""])[0]
        raise SchedulerError(
            f"the job store {workspace.state_dir / JOB_STORE_FILE} cannot be used ({first}); "
            "remove it and start again: the jobs come back from kgsentinel.toml"
        ) from None
    return scheduler


def _grace_seconds(settings: SchedulerConfig) -> int:
    grace = interval_of(settings.misfire_grace)
    return int(grace.total_seconds()) if grace else 1


class _RecordingExecutor(ThreadPoolExecutor):
    """Runs jobs on threads, telling each run when it was scheduled; a stop drops queued runs."""

    def _do_submit_job(self, job: Job, run_times: list[dt.datetime]) -> None:
        def done(future: Any) -> None:
            if future.cancelled():
                self._run_job_success(job.id, [])
            elif future.exception() is not None:
                error = future.exception()
                self._run_job_error(job.id, error, error.__traceback__)
            else:
                self._run_job_success(job.id, future.result())

        future = self._pool.submit(_run_scheduled, job, job._jobstore_alias, run_times,
                                   self._logger.name)  # fmt: skip
        future.add_done_callback(done)

    def shutdown(self, wait: bool = True) -> None:
        self._pool.shutdown(wait, cancel_futures=True)


def _run_scheduled(job: Job, alias: str, run_times: list[dt.datetime], logger_name: str) -> Any:
    with scheduled_for(run_times[-1]):
        return apscheduler_run_job(job, alias, run_times, logger_name)


@contextmanager
def _stopping_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGTERM or SIGINT set ``stop``; a second SIGINT ends the process at once."""

    def handle(signum: int, _: Any) -> None:
        if not stop.is_set():
            stop.set()
            logger.warning("stopping: running jobs finish, no new ones start "
                           "(Ctrl-C again to stop at once)")  # fmt: skip
        elif signum == signal.SIGINT:
            os.write(2, b"Stopped at once.\n")
            os._exit(130)

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
