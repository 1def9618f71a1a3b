"""The jobs of a workspace, and :func:`run_job`, which runs one and records the run.

A job is named by what it does and to what: ``ingest:SOURCE``,
``detect:DETECTOR``, ``train:OUTCOME``, ``predict:OUTCOME`` and ``alerts``. The
job store keeps only ``run_job(workspace, job)`` with those two plain strings;
everything else comes from ``kgsentinel.toml`` when the job runs.

Each run becomes a ``kgs:JobRun`` in the provenance graph (job name,
scheduled and actual start, end, outcome ``ok`` or ``failed`` and a one-line
error); the ingest, detector and training runs it made are
``prov:wasInformedBy`` it. The last run of each job is also kept in
``.kgsentinel/job-runs.json``, so ``kgsentinel jobs`` can tell it while the
scheduler holds the store. An ``alerts`` run that changed nothing (no alert
raised, resolved or silenced, no notification queued, sent or failed) is kept
there only, so a minutely tick adds nothing to the graph. A job that fails is
recorded as failed; it raises nothing, so the scheduler goes on. Jobs that
write the graph (all but ``alerts``) run one at a time, as the HTTP API's runs
do; a job waiting for another starts (``prov:startedAtTime``) when that one ends.

Example:
    >>> from kgsentinel.config import Config
    >>> config = Config.model_validate({
    ...     "sources": {"plm": {"path": "plm.csv", "schedule": "15m"}},
    ...     "outcomes": {"late": {"kind": "slower-than", "hours": 720, "schedule": "1h",
    ...                           "retrain": "0 3 * * sun"}}})
    >>> [(job.id, job.schedule) for job in planned_jobs(config, alerts=True)]
    [('ingest:plm', '15m'), ('train:late', '0 3 * * sun'), ('predict:late', '1h'), ('alerts', '1m')]
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from kgsentinel.errors import ConfigError, KgsentinelError

if TYPE_CHECKING:  # pragma: no cover
    from kgsentinel.alerts.engine import AlertsReport
    from kgsentinel.config import Config
    from kgsentinel.workspace import Workspace

__all__ = [
    "RUNS_FILE",
    "JobRun",
    "JobSpec",
    "alerts_due",
    "alerts_enabled",
    "attached",
    "last_runs",
    "planned_jobs",
    "process_alerts",
    "record_missed",
    "run_job",
    "scheduled_for",
]

RUNS_FILE = "job-runs.json"
JobKind = Literal["ingest", "detect", "train", "predict", "alerts"]
logger = logging.getLogger("kgsentinel.schedule")


@dataclass(frozen=True)
class JobSpec:
    """One job of the workspace: its id, what it does, to what, and when."""

    id: str
    kind: JobKind
    target: str | None
    schedule: str


@dataclass(frozen=True)
class JobRun:
    """What one run of a job did."""

    job: str
    run: str
    scheduled: dt.datetime
    started: dt.datetime
    ended: dt.datetime
    outcome: Literal["ok", "failed", "missed"]
    error: str | None = None


def planned_jobs(config: Config, *, alerts: bool | None = None) -> list[JobSpec]:
    """The jobs ``config`` schedules, in a stable order.

    The ``alerts`` job is planned when ``[scheduler] alerts_every`` is not
    ``"off"`` and alerts are processed (``alerts=None``: when some alert route
    or the default one has a sink, see :func:`alerts_enabled`).
    """
    jobs = [JobSpec(f"ingest:{name}", "ingest", name, source.schedule)
            for name, source in config.sources.items() if source.schedule]  # fmt: skip
    jobs += [JobSpec(f"detect:{name}", "detect", name, detector.schedule)
             for name, detector in config.detectors.items()
             if detector.schedule and detector.enabled]  # fmt: skip
    for name, outcome in config.outcomes.items():
        if not outcome.enabled:
            continue
        if outcome.retrain:
            jobs.append(JobSpec(f"train:{name}", "train", name, outcome.retrain))
        if outcome.schedule:
            jobs.append(JobSpec(f"predict:{name}", "predict", name, outcome.schedule))
    every = config.scheduler.alerts_every
    if every != "off" and (alerts_enabled(config) if alerts is None else alerts):
        jobs.append(JobSpec("alerts", "alerts", None, every))
    return jobs


# -- running a job --------------------------------------------------------------------------

_attached: dict[str, Workspace] = {}
_scheduled = threading.local()
_runs_lock = threading.Lock()
_alerts_lock = threading.Lock()
#: when a waiting alert group is next due (its group_wait ending), by the last alerts run
_alerts_due: list[dt.datetime] = []
#: jobs that write the graph (ingest, detect, train, predict) run one at a time, like the API's
_writing_lock = threading.Lock()


@contextlib.contextmanager
def attached(workspace: Workspace) -> Iterator[str]:
    """Let :func:`run_job` use this open workspace (and its store) while in the block.

    Yields the workspace argument that jobs of this workspace carry.
    """
    key = _key(workspace.root)
    _attached[key] = workspace
    try:
        yield key
    finally:
        _attached.pop(key, None)


@contextlib.contextmanager
def scheduled_for(moment: dt.datetime) -> Iterator[None]:
    """Tell :func:`run_job`, on this thread, the time its run was scheduled for."""
    _scheduled.moment = moment
    try:
        yield
    finally:
        _scheduled.moment = None


def run_job(workspace: str, job: str) -> str:
    """Run job ``job`` of the workspace at ``workspace`` and record the run; return its outcome.

    The workspace is the one the scheduler has open (see :func:`attached`), or
    is opened for this run. Failures are recorded, never raised.
    """
    opened = _attached.get(workspace)
    if opened is not None:
        return _run_recorded(opened, job).outcome
    from kgsentinel.workspace import open_workspace

    with open_workspace(workspace or None) as fresh:
        return _run_recorded(fresh, job).outcome


def _run_recorded(workspace: Workspace, job: str) -> JobRun:
    scheduled = getattr(_scheduled, "moment", None)
    inner: list[str] | None = []
    error = None
    with _writing_lock if job != "alerts" else contextlib.nullcontext():
        started = _now()
        try:
            spec = _spec(workspace, job)
            inner = _WORK[spec.kind](workspace, spec.target)
        except Exception as exc:  # recorded as the run's outcome: the scheduler goes on
            error = _one_line(exc)
        ended = _now()
    scheduled = scheduled or started
    run = JobRun(job, f"urn:kgsentinel:run:{uuid.uuid4().hex}", scheduled.astimezone(dt.UTC),
                 started, ended, "failed" if error else "ok", error)  # fmt: skip
    if inner is None and error is None:  # a quiet alerts tick: no JobRun in the graph
        _remember(workspace, run)
        return run
    _record(workspace, run, inner or [])
    return run


def _spec(workspace: Workspace, job: str) -> JobSpec:
    for spec in planned_jobs(workspace.config, alerts=True):
        if spec.id == job:
            return spec
    raise ConfigError(f"job {job!r} is not in kgsentinel.toml any more (restart the "
                      "scheduler to drop it)")  # fmt: skip


def _ingest(workspace: Workspace, source: str | None) -> list[str]:
    from kgsentinel.ingest.job import ingest_source

    return [ingest_source(workspace, str(source)).run]


def _detect(workspace: Workspace, detector: str | None) -> list[str]:
    from kgsentinel.detectors.runner import detect

    runs = [report.run for report in detect(workspace, [str(detector)])]
    process_alerts(workspace)
    return runs


def _train(workspace: Workspace, outcome: str | None) -> list[str]:
    from kgsentinel.predict.runner import train

    return [train(workspace, str(outcome)).run]


def _predict(workspace: Workspace, outcome: str | None) -> list[str]:
    from kgsentinel.predict import registry
    from kgsentinel.predict.runner import predict

    runs = [] if registry.versions(workspace, str(outcome)) else _train(workspace, outcome)
    runs.append(predict(workspace, str(outcome)).run)
    process_alerts(workspace)
    return runs


def _alerts(workspace: Workspace, _: str | None) -> list[str] | None:
    """Process alerts; None when that changed nothing, so the tick leaves no JobRun."""
    report = process_alerts(workspace)
    return [] if report is not None and report.changed_anything else None


#: what each kind of job does: the runs it made (None: nothing worth a JobRun)
_WORK: dict[str, Callable[[Workspace, str | None], list[str] | None]] = {
    "ingest": _ingest, "detect": _detect, "train": _train, "predict": _predict,
    "alerts": _alerts,
}  # fmt: skip


def alerts_enabled(config: Config) -> bool:
    """Tell whether alerts reach anyone: some route, or the default one, has a sink.

    ``kgsentinel detect`` processes alerts on the same condition.
    """
    return config.alerts.enabled


def process_alerts(workspace: Workspace) -> AlertsReport | None:
    """Turn standing anomalies into alerts and deliver their notifications, one call at a time.

    Returns what the run did, or None (doing nothing) when no alert reaches a
    sink (see :func:`alerts_enabled`). Delivery failures are retried by the
    outbox; they are logged here.
    """
    from kgsentinel.alerts import process

    if not alerts_enabled(workspace.config):
        return None
    with _alerts_lock:
        report = process(workspace)
        _alerts_due[:] = [report.next_due] if report.next_due is not None else []
    for error in report.errors:
        logger.warning("alerts: %s", error)
    return report


def alerts_due() -> dt.datetime | None:
    """When the last alerts run said a waiting group is next due, if it did (then forgotten)."""
    with _alerts_lock:
        return _alerts_due.pop() if _alerts_due else None


# -- recording runs ---------------------------------------------------------------------------


def record_missed(workspace: Workspace, job: str, scheduled: dt.datetime, grace: str) -> None:
    """Record a run the scheduler skipped: it came more than ``grace`` after its time."""
    now, due = _now(), scheduled.astimezone(dt.UTC)
    reason = f"skipped: due at {due:%Y-%m-%d %H:%M:%S} UTC, more than misfire_grace ({grace}) ago"
    run = JobRun(job, f"urn:kgsentinel:run:{uuid.uuid4().hex}", due, now, now, "missed", reason)
    _record(workspace, run, [])


def _record(workspace: Workspace, run: JobRun, inner: list[str]) -> None:
    took = (run.ended - run.started).total_seconds()
    if run.outcome == "missed":
        logger.warning("job %s %s", run.job, run.error)
    elif run.error:
        logger.warning("job %s failed after %.1fs: %s", run.job, took, run.error)
    else:
        logger.info("job %s ok in %.1fs", run.job, took)
    try:
        workspace.store.add(_run_quads(run, inner))
    except KgsentinelError as exc:
        logger.warning("job %s: its run could not be recorded in the graph: %s", run.job, exc)
    _remember(workspace, run)


def _run_quads(run: JobRun, inner: list[str]) -> list[Any]:
    import pyoxigraph as ox

    from kgsentinel.graph.ontology import KGS
    from kgsentinel.graph.terms import graph_iri, quad
    from kgsentinel.ingest.job import PROV, RDF_TYPE

    graph, node = ox.NamedNode(graph_iri("provenance")), ox.NamedNode(run.run)
    quads = [
        quad(node, RDF_TYPE, ox.NamedNode(KGS + "JobRun"), graph),
        quad(node, KGS + "jobName", run.job, graph),
        quad(node, KGS + "scheduledTime", run.scheduled, graph),
        quad(node, PROV + "startedAtTime", run.started, graph),
        quad(node, PROV + "endedAtTime", run.ended, graph),
        quad(node, KGS + "jobOutcome", run.outcome, graph),
    ]
    if run.error:
        quads.append(quad(node, KGS + "jobError", run.error, graph))
    quads += [quad(ox.NamedNode(iri), PROV + "wasInformedBy", node, graph) for iri in inner]
    return quads


def last_runs(state_dir: Path) -> dict[str, dict[str, Any]]:
    """The last run of each job, by job id, as ``kgsentinel run`` left them."""
    try:
        data = json.loads((state_dir / RUNS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _remember(workspace: Workspace, run: JobRun) -> None:
    path = workspace.state_dir / RUNS_FILE
    entry = {key: value.isoformat() if isinstance(value, dt.datetime) else value
             for key, value in asdict(run).items()}  # fmt: skip
    with _runs_lock:
        runs = last_runs(workspace.state_dir)
        runs[run.job] = entry
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
            partial.write_text(json.dumps(runs, indent=1, sort_keys=True), encoding="utf-8")
            partial.replace(path)
        except OSError as exc:
            logger.warning("cannot write %s: %s", path, exc.strerror)


def _one_line(exc: Exception) -> str:
    text = (str(exc).splitlines() or [""])[0][:300]
    if isinstance(exc, KgsentinelError):
        return text
    return f"unexpected {type(exc).__name__}: {text} (a bug in kgsentinel)"


def _key(root: Path | None) -> str:
    return str(root) if root is not None else ""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
