"""``kgsentinel run`` as a process: SIGTERM lets the running job finish, a second SIGINT does not
wait, and other commands are told that the scheduler holds the workspace.

The slow job is a real ingest, held up before it starts writing by a wrapper
around the CLI (``SLOW_RUN``) that also says, in a file, when it has begun.
"""

from __future__ import annotations

import datetime as dt
import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kgsentinel.graph.ontology import prefix_header
from kgsentinel.workspace import open_workspace

WAIT = 60.0  # seconds: a bound for a slow machine, never a measure
MAPPING = "entities: [{class: kgs:Object, iri: 'product/{sku}', properties: {rdfs:label: name}}]\n"
SETTINGS = """[sources.plm]
path = "data/plm.csv"
schedule = "{schedule}"

[scheduler]
alerts_every = "off"
"""

SLOW_RUN = """
import pathlib, sys, time
import kgsentinel.ingest.job as job

marker, hold, root = pathlib.Path(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
real = job.ingest_source

def held(workspace, name, **options):
    marker.write_text("started")
    time.sleep(hold)
    return real(workspace, name, **options)

job.ingest_source = held
sys.argv = ["kgsentinel", "-w", root, "run"]
from kgsentinel.cli.app import main
main()
"""


@pytest.fixture
def root(workspace: Path) -> Path:
    (workspace / "data" / "plm.csv").write_text("sku,name\nP-1,Rose serum\nP-2,Oud oil\n")
    (workspace / "mappings" / "plm.yaml").write_text(MAPPING)
    (workspace / "kgsentinel.toml").write_text(SETTINGS.format(schedule="1s"))
    return workspace


def wait_for(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, "the scheduler process did not get there"
        time.sleep(0.1)


@pytest.fixture
def scheduler_process(root: Path, tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """Start ``kgsentinel run`` (held up for ``hold`` seconds in each ingest); killed at the end."""
    started: list[subprocess.Popen[str]] = []

    def start(hold: float) -> subprocess.Popen[str]:
        command = [sys.executable, "-c", SLOW_RUN, str(tmp_path / "started"), str(hold), str(root)]
        with (tmp_path / "scheduler.err").open("w") as log:
            process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log, text=True)
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(WAIT)


def stderr_of(tmp_path: Path) -> str:
    return (tmp_path / "scheduler.err").read_text()


def kgsentinel(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "kgsentinel", "-w", str(root), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=WAIT)


def recorded_runs(root: Path) -> list[dict[str, object]]:
    query = (
        prefix_header()
        + """SELECT ?job ?outcome ?ended { ?run a kgs:JobRun ;
        kgs:jobName ?job ; kgs:jobOutcome ?outcome ; prov:endedAtTime ?ended }"""
    )
    with open_workspace(root) as workspace:
        return workspace.store.query_frame(query).to_dict("records")


def products(root: Path) -> int:
    with open_workspace(root) as workspace:
        return len(list(workspace.store.query(prefix_header() + "SELECT ?p { ?p a kgs:Object }")))


def test_sigterm_lets_the_running_job_finish_records_it_and_exits_0(
    root: Path, tmp_path: Path, scheduler_process: Callable[..., subprocess.Popen[str]]
) -> None:
    process = scheduler_process(hold=3)
    wait_for((tmp_path / "started").exists)
    signalled = dt.datetime.now(dt.UTC)
    process.send_signal(signal.SIGTERM)
    assert process.wait(WAIT) == 0, stderr_of(tmp_path)
    runs = recorded_runs(root)
    assert [(run["job"], run["outcome"]) for run in runs] == [("ingest:plm", "ok")]  # no new run
    ended = dt.datetime.fromisoformat(str(runs[0]["ended"]).replace("Z", "+00:00"))
    assert ended > signalled  # it finished after the signal, not cut short before it
    assert products(root) == 2
    assert "stopping: running jobs finish" in stderr_of(tmp_path)
    assert "Traceback" not in stderr_of(tmp_path)


def test_a_second_sigint_stops_at_once_leaving_the_graph_as_it_was(
    root: Path, tmp_path: Path, scheduler_process: Callable[..., subprocess.Popen[str]]
) -> None:
    process = scheduler_process(hold=600)
    wait_for((tmp_path / "started").exists)
    process.send_signal(signal.SIGINT)
    wait_for(lambda: "stopping" in stderr_of(tmp_path))
    process.send_signal(signal.SIGINT)
    assert process.wait(WAIT) == 130  # well before the held job could have finished
    assert "Stopped at once." in stderr_of(tmp_path)
    assert recorded_runs(root) == []
    assert products(root) == 0


def test_other_commands_are_told_the_scheduler_holds_the_workspace(
    root: Path, tmp_path: Path, scheduler_process: Callable[..., subprocess.Popen[str]]
) -> None:
    (root / "kgsentinel.toml").write_text(SETTINGS.format(schedule="1h"))
    process = scheduler_process(hold=0)
    wait_for(lambda: "Scheduler running 1 job;" in stderr_of(tmp_path))

    second = kgsentinel(root, "run")
    query = kgsentinel(root, "query", "ASK { ?s ?p ?o }")
    jobs = kgsentinel(root, "jobs", "--format", "json")

    process.send_signal(signal.SIGTERM)
    assert process.wait(WAIT) == 0, stderr_of(tmp_path)
    assert second.returncode == 1
    assert f"a scheduler is already running in this workspace (pid {process.pid}, since" in (
        second.stderr
    )
    assert second.stderr.strip().endswith("stop it first")
    assert query.returncode == 1
    assert f"in use by process {process.pid} (the scheduler, `kgsentinel run`" in query.stderr
    assert jobs.returncode == 0, jobs.stderr
    (row,) = json.loads(jobs.stdout)
    assert row["job"] == "ingest:plm"
    assert row["next_run"] is not None
    assert f"the scheduler runs (pid {process.pid}" in jobs.stderr
