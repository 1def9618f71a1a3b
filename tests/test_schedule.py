"""The scheduler in this process: jobs fire on their schedules, never overlap, survive a restart.

Schedules are accelerated to seconds; the tests wait for runs to happen (with
generous time-outs) and assert their order and counts, never how fast they were.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from kgsentinel.cli.app import app
from kgsentinel.errors import ConfigError
from kgsentinel.graph.ontology import prefix_header
from kgsentinel.schedule.jobs import last_runs, planned_jobs
from kgsentinel.schedule.jobstore import open_job_store
from kgsentinel.schedule.scheduler import run_scheduler
from kgsentinel.schedule.status import stored_next_runs
from kgsentinel.workspace import Workspace, open_workspace

WAIT = 60.0  # seconds: a bound for a slow machine, never a measure
MAPPING = "entities: [{class: kgs:Object, iri: 'product/{sku}', properties: {rdfs:label: name}}]\n"


def configure(root: Path, settings: str) -> None:
    """A products CSV and its mapping in the workspace, and ``settings`` in kgsentinel.toml."""
    (root / "data" / "plm.csv").write_text("sku,name\nP-1,Rose serum\nP-2,Oud oil\n")
    (root / "mappings" / "plm.yaml").write_text(MAPPING)
    (root / "kgsentinel.toml").write_text(settings)


JOB_RUNS = """
    SELECT ?run ?job ?scheduled ?started ?ended ?outcome ?error WHERE {
      ?run a kgs:JobRun ; kgs:jobName ?job ; kgs:scheduledTime ?scheduled ;
           prov:startedAtTime ?started ; prov:endedAtTime ?ended ; kgs:jobOutcome ?outcome .
      OPTIONAL { ?run kgs:jobError ?error }
    } ORDER BY ?scheduled"""

PLM = '[sources.plm]\npath = "data/plm.csv"\nschedule = "{schedule}"\n'


@contextmanager
def scheduler(root: Path) -> Iterator[Workspace]:
    """``run_scheduler`` on a thread, stopped (the running jobs finishing) when the block ends."""
    workspace = open_workspace(root)
    stop, ready, failed = threading.Event(), threading.Event(), []

    def run() -> None:
        try:
            run_scheduler(workspace, stop=stop, ready=lambda jobs: ready.set())
        except Exception as exc:  # handed to the test below
            failed.append(exc)
            ready.set()

    thread = threading.Thread(target=run)
    thread.start()
    try:
        assert ready.wait(WAIT)
        if failed:
            raise failed[0]
        yield workspace
    finally:
        stop.set()
        thread.join(WAIT)
        workspace.close()
    assert not thread.is_alive()


def job_runs(workspace: Workspace, job: str | None = None) -> list[dict[str, Any]]:
    """The recorded runs (of ``job``), ordered by their scheduled time."""
    query = prefix_header() + JOB_RUNS
    rows = workspace.store.query_frame(query).to_dict("records")
    for row in rows:
        for key in ("scheduled", "started", "ended"):
            row[key] = dt.datetime.fromisoformat(str(row[key]).replace("Z", "+00:00"))
        row["error"] = row["error"] if isinstance(row["error"], str) else None
    return [row for row in rows if job is None or row["job"] == job]


def wait_for(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, "the scheduler did not get there"
        time.sleep(0.1)


def runs_of(root: Path, job: str) -> int:
    """How many runs ``job`` finished, by the scheduler's own account (no store needed)."""
    return len([1 for line in _run_log(root) if line == job])


def _run_log(root: Path) -> list[str]:
    path = root / "runs.log"
    return path.read_text().split() if path.exists() else []


@pytest.fixture
def count_runs(monkeypatch: pytest.MonkeyPatch, workspace: Path) -> None:
    """Each finished job run appends its job name to ``runs.log`` in the workspace."""
    import kgsentinel.schedule.jobs as jobs

    remember = jobs._remember

    def counted(ws: Workspace, run: Any) -> None:
        remember(ws, run)
        with (workspace / "runs.log").open("a") as log:
            log.write(run.job + "\n")

    monkeypatch.setattr(jobs, "_remember", counted)


# -- settings --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        (PLM.format(schedule="15 minutes"), "[sources.plm] schedule = '15 minutes'"),
        (PLM.format(schedule="61 * * * *"), "[sources.plm] schedule = '61 * * * *'"),
        ('[detectors.c]\nschedule = "0s"\n', "[detectors.c] schedule = '0s'"),
        ('[outcomes.late]\nkind = "slower-than"\nhours = 9\nretrain = "1w"\n',
         "[outcomes.late] retrain = '1w'"),
        ('[scheduler]\nalerts_every = "often"\n', "[scheduler] alerts_every = 'often'"),
        ('[scheduler]\ntimezone = "Paris"\n', "[scheduler] timezone = 'Paris'"),
    ],
)  # fmt: skip
def test_a_bad_schedule_is_one_line_naming_the_section_and_the_fix(
    workspace: Path, settings: str, named: str
) -> None:
    configure(workspace, settings)
    with pytest.raises(ConfigError) as caught:
        open_workspace(workspace)
    message = str(caught.value)
    assert named in message
    assert "\n" not in message
    assert "such as" in message


def test_the_cli_refuses_a_bad_schedule_in_one_line(workspace: Path, cli: Any) -> None:
    configure(workspace, PLM.format(schedule="every hour"))
    result = cli.invoke(app, ["jobs"])
    assert result.exit_code == 1
    assert "[sources.plm] schedule = 'every hour': not a schedule" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


# -- firing, overlapping, failing ---------------------------------------------------------------


def test_jobs_fire_on_their_schedule_and_their_runs_are_in_the_graph(
    workspace: Path, count_runs: None
) -> None:
    configure(workspace, PLM.format(schedule="1s") + '[scheduler]\nalerts_every = "off"\n')
    with scheduler(workspace) as ws:
        wait_for(lambda: runs_of(workspace, "ingest:plm") >= 3)
    with open_workspace(workspace) as ws:
        runs = job_runs(ws, "ingest:plm")
        products = ws.store.query(prefix_header() + "SELECT ?p { ?p a kgs:Object }")
        assert len(list(products)) == 2
        informed_by = "SELECT ?job { ?ingest a kgs:IngestRun ; prov:wasInformedBy ?job }"
        ingests = ws.store.query(prefix_header() + informed_by)
        informed = {row["job"].value for row in ingests}
    assert len(runs) >= 3
    assert {run["outcome"] for run in runs} == {"ok"}
    gaps = [(b["scheduled"] - a["scheduled"]).total_seconds() for a, b in itertools.pairwise(runs)]
    assert all(gap >= 1 and gap == int(gap) for gap in gaps), gaps  # whole seconds apart
    assert all(run["started"] >= run["scheduled"] for run in runs)
    assert informed == {run["run"] for run in runs}  # each ingest run points to its job run


def test_jobs_slower_than_their_interval_never_overlap(
    workspace: Path, count_runs: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import kgsentinel.ingest.job as ingest

    real, running, overlaps = ingest.ingest_source, [], []

    def slow(ws: Workspace, name: str, **options: Any) -> Any:
        running.append(name)
        if len(running) > 1:
            overlaps.append(list(running))
        time.sleep(1.2)  # longer than the 1s interval
        running.remove(name)
        return real(ws, name, **options)

    monkeypatch.setattr(ingest, "ingest_source", slow)
    configure(workspace, PLM.format(schedule="1s") + '[sources.more]\npath = "data/plm.csv"\n'
              'mapping = "mappings/plm.yaml"\nschedule = "1s"\n'
              '[scheduler]\nalerts_every = "off"\nworkers = 4\n')  # fmt: skip
    with scheduler(workspace):
        wait_for(lambda: runs_of(workspace, "ingest:plm") >= 2
                 and runs_of(workspace, "ingest:more") >= 2)  # fmt: skip
    with open_workspace(workspace) as ws:
        runs = job_runs(ws)
    assert overlaps == []  # neither with itself nor with the other writing job
    ordered = sorted(runs, key=lambda run: run["started"])
    assert all(b["started"] >= a["ended"] for a, b in itertools.pairwise(ordered))
    assert {run["outcome"] for run in runs} == {"ok"}


def test_a_failing_job_is_recorded_as_failed_and_the_others_go_on(
    workspace: Path, count_runs: None
) -> None:
    configure(
        workspace,
        PLM.format(schedule="1s")
        + '[sources.gone]\npath = "data/gone.csv"\nmapping = "mappings/plm.yaml"\n'
        'schedule = "1s"\n[scheduler]\nalerts_every = "off"\n',
    )
    with scheduler(workspace):
        wait_for(lambda: runs_of(workspace, "ingest:gone") >= 2
                 and runs_of(workspace, "ingest:plm") >= 2)  # fmt: skip
    with open_workspace(workspace) as ws:
        failed, ok = job_runs(ws, "ingest:gone"), job_runs(ws, "ingest:plm")
    assert {run["outcome"] for run in failed} == {"failed"}
    assert all("gone.csv: no such file" in run["error"] for run in failed)
    assert all("\n" not in run["error"] and "Traceback" not in run["error"] for run in failed)
    assert {run["outcome"] for run in ok} == {"ok"}
    assert len(ok) >= 2
    assert last_runs(workspace / ".kgsentinel")["ingest:gone"]["outcome"] == "failed"


# -- restarts ---------------------------------------------------------------------------------


def test_a_restart_keeps_each_jobs_next_run_time(workspace: Path) -> None:
    configure(workspace, PLM.format(schedule="1h") + '[scheduler]\nalerts_every = "off"\n')
    with scheduler(workspace):
        first = stored_next_runs(workspace / ".kgsentinel")
    with scheduler(workspace):
        second = stored_next_runs(workspace / ".kgsentinel")
    assert set(first) == {"ingest:plm"}
    assert second == first


def test_a_changed_schedule_replaces_the_job_and_a_removed_one_goes(workspace: Path) -> None:
    configure(workspace, PLM.format(schedule="1h") + '[sources.old]\npath = "data/plm.csv"\n'
              'mapping = "mappings/plm.yaml"\nschedule = "1h"\n'
              '[scheduler]\nalerts_every = "off"\n')  # fmt: skip
    with scheduler(workspace):
        before = stored_next_runs(workspace / ".kgsentinel")
    configure(workspace, PLM.format(schedule="2h") + '[scheduler]\nalerts_every = "off"\n')
    with scheduler(workspace):
        after = stored_next_runs(workspace / ".kgsentinel")
    assert set(before) == {"ingest:plm", "ingest:old"}
    assert set(after) == {"ingest:plm"}
    moved = dt.datetime.fromisoformat(after["ingest:plm"]) - dt.datetime.fromisoformat(
        before["ingest:plm"]
    )
    assert moved >= dt.timedelta(minutes=59)  # now + 2h instead of the 1h schedule's time


def test_runs_missed_while_stopped_run_once_on_start(workspace: Path, count_runs: None) -> None:
    configure(workspace, PLM.format(schedule="1h") + '[scheduler]\nalerts_every = "off"\n')
    with scheduler(workspace):
        pass
    missed_since = dt.datetime.now(dt.UTC) - dt.timedelta(hours=10, minutes=30)
    store = open_job_store(workspace / ".kgsentinel")
    job = store.lookup_job("ingest:plm")
    job.next_run_time = missed_since  # as if stopped for ten and a half hours
    store.update_job(job)
    store.shutdown()
    with scheduler(workspace):
        wait_for(lambda: runs_of(workspace, "ingest:plm") >= 1)
        upcoming = stored_next_runs(workspace / ".kgsentinel")["ingest:plm"]
    with open_workspace(workspace) as ws:
        runs = job_runs(ws, "ingest:plm")
    assert len(runs) == 1  # ten missed runs, coalesced into one
    assert runs[0]["scheduled"] == missed_since + dt.timedelta(hours=10)  # the last one missed
    assert dt.datetime.fromisoformat(upcoming) > dt.datetime.now(dt.UTC)


def test_a_run_missed_by_more_than_the_grace_time_is_recorded_as_missed(
    workspace: Path, count_runs: None
) -> None:
    configure(workspace, PLM.format(schedule="1h")
              + '[scheduler]\nalerts_every = "off"\nmisfire_grace = "1m"\n')  # fmt: skip
    with scheduler(workspace):
        pass
    missed_since = dt.datetime.now(dt.UTC) - dt.timedelta(hours=10, minutes=30)
    store = open_job_store(workspace / ".kgsentinel")
    job = store.lookup_job("ingest:plm")
    job.next_run_time = missed_since  # the last due run, 30 minutes ago, is past the grace
    store.update_job(job)
    store.shutdown()
    with scheduler(workspace):
        wait_for(lambda: runs_of(workspace, "ingest:plm") >= 1)
    with open_workspace(workspace) as ws:
        [run] = job_runs(ws, "ingest:plm")
        ingested = ws.store.has_graph("plm")
    assert run["outcome"] == "missed"
    assert run["scheduled"] == missed_since + dt.timedelta(hours=10)
    assert "more than misfire_grace (1m) ago" in run["error"]
    assert not ingested  # skipped, not run late


# -- one scheduler per workspace, and `kgsentinel jobs` ----------------------------------------


def test_a_second_scheduler_refuses_in_one_line(workspace: Path, cli: Any) -> None:
    configure(workspace, PLM.format(schedule="1h"))
    with scheduler(workspace):
        result = cli.invoke(app, ["run"])
    assert result.exit_code == 1
    line = result.stderr.strip()
    assert f"a scheduler is already running in this workspace (pid {os.getpid()}, since" in line
    assert line.endswith("stop it first")


def test_jobs_lists_schedule_next_run_and_last_outcome(
    workspace: Path, cli: Any, count_runs: None
) -> None:
    configure(workspace, PLM.format(schedule="1s") + '[sources.gone]\npath = "data/gone.csv"\n'
              'mapping = "mappings/plm.yaml"\nschedule = "1h"\n'
              '[scheduler]\nalerts_every = "off"\n')  # fmt: skip
    with scheduler(workspace):
        wait_for(lambda: runs_of(workspace, "ingest:plm") >= 1)
        during = cli.invoke(app, ["jobs"])
    result = cli.invoke(app, ["jobs", "--format", "json"])
    assert result.exit_code == 0, result.stderr
    jobs = {row["job"]: row for row in json.loads(result.stdout)}
    assert jobs["ingest:plm"]["schedule"] == "1s"
    assert jobs["ingest:plm"]["outcome"] == "ok"
    assert jobs["ingest:gone"]["outcome"] is None  # its first run is an hour away
    assert jobs["ingest:gone"]["next_run"] is not None
    assert during.exit_code == 0
    assert f"the scheduler runs (pid {os.getpid()}" in during.stderr
    assert "no scheduler runs" in result.stderr


# -- alerts ------------------------------------------------------------------------------------


RULE = """# id: test/every-product
# subject: product
# message: Product {name}
SELECT ?product ?name WHERE { ?product a kgs:Object ; rdfs:label ?name }
"""
ALERTS = """[sinks.ops]
kind = "jsonl"
path = "notifications.jsonl"

[alerts]
sink = "ops"
group_wait = "0s"
"""


def notified(root: Path) -> list[dict[str, Any]]:
    path = root / "notifications.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_alerts_follow_each_detector_job(workspace: Path, count_runs: None) -> None:
    from kgsentinel.alerts import list_alerts
    from kgsentinel.ingest.job import ingest_source

    (workspace / "rules" / "every-product.rq").write_text(RULE)
    configure(workspace, PLM.format(schedule="1h") + '[detectors.products]\nkind = "sparql"\n'
              'rule = "rules/every-product.rq"\nschedule = "1s"\n'
              '[scheduler]\nalerts_every = "off"\n' + ALERTS)  # fmt: skip
    with open_workspace(workspace) as ws:
        ingest_source(ws, "plm")
    with scheduler(workspace):
        wait_for(lambda: runs_of(workspace, "detect:products") >= 1 and notified(workspace))
    with open_workspace(workspace) as ws:
        alerts = list_alerts(ws.store, "firing")
        runs = job_runs(ws)
    assert {run["job"] for run in runs} == {"detect:products"}  # no alerts job: alerts_every off
    assert len(alerts) == 2  # one per product the rule found
    assert "Rose serum" in json.dumps(notified(workspace))


def test_the_alerts_job_runs_on_alerts_every_and_records_only_the_runs_that_did_something(
    workspace: Path, count_runs: None
) -> None:
    from kgsentinel.detectors.runner import detect
    from kgsentinel.ingest.job import ingest_source

    (workspace / "rules" / "every-product.rq").write_text(RULE)
    configure(workspace, PLM.format(schedule="1h") + '[detectors.products]\nkind = "sparql"\n'
              'rule = "rules/every-product.rq"\n[scheduler]\nalerts_every = "1s"\n'
              + ALERTS)  # fmt: skip
    with scheduler(workspace):
        wait_for(lambda: runs_of(workspace, "alerts") >= 2)
    with open_workspace(workspace) as ws:
        assert job_runs(ws, "alerts") == []  # nothing to alert on: the ticks leave no JobRun
        assert last_runs(ws.state_dir)["alerts"]["outcome"] == "ok"  # `kgsentinel jobs` knows
        ingest_source(ws, "plm")
        detect(ws, ["products"])
    with scheduler(workspace):
        wait_for(lambda: bool(notified(workspace)))
        ticks = runs_of(workspace, "alerts")
        wait_for(lambda: runs_of(workspace, "alerts") >= ticks + 2)
    with open_workspace(workspace) as ws:
        runs = job_runs(ws, "alerts")
    assert [run["outcome"] for run in runs] == ["ok"]  # the tick that raised and sent them


def test_a_waiting_group_is_sent_when_its_group_wait_ends_not_on_the_next_tick(
    workspace: Path, count_runs: None
) -> None:
    from kgsentinel.detectors.runner import detect
    from kgsentinel.ingest.job import ingest_source
    from kgsentinel.schedule.jobs import process_alerts

    (workspace / "rules" / "every-product.rq").write_text(RULE)
    settings = ALERTS.replace('group_wait = "0s"', 'group_wait = "2s"')
    configure(workspace, PLM.format(schedule="1h") + '[detectors.products]\nkind = "sparql"\n'
              'rule = "rules/every-product.rq"\n[scheduler]\nalerts_every = "1h"\n'
              + settings)  # fmt: skip
    with open_workspace(workspace) as ws:
        ingest_source(ws, "plm")
        detect(ws, ["products"])
        process_alerts(ws)  # as `kgsentinel detect` does: the group now waits 2 s
    assert notified(workspace) == []
    with scheduler(workspace):
        wait_for(lambda: bool(notified(workspace)))  # long before the hourly tick
    assert runs_of(workspace, "alerts") == 1


def test_no_alerts_job_without_a_sink(workspace: Path) -> None:
    configure(workspace, PLM.format(schedule="1h"))
    with open_workspace(workspace) as ws:
        assert [job.id for job in planned_jobs(ws.config)] == ["ingest:plm"]
    configure(workspace, PLM.format(schedule="1h") + ALERTS)
    with open_workspace(workspace) as ws:
        assert [job.id for job in planned_jobs(ws.config)] == ["ingest:plm", "alerts"]
