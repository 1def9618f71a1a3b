"""The scheduler on a real Oxigraph server: runs are recorded there, and others query meanwhile."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_schedule import PLM, configure, job_runs, runs_of, scheduler, wait_for
from test_schedule import count_runs as count_runs  # the fixture, shared

from kgsentinel.cli.app import app
from kgsentinel.workspace import open_workspace


@pytest.mark.usefixtures("count_runs")
def test_jobs_run_against_an_endpoint_that_others_query_meanwhile(
    workspace: Path, oxigraph_server: Any, monkeypatch: pytest.MonkeyPatch, cli: Any
) -> None:
    oxigraph_server.clear()
    monkeypatch.setenv("KGSENTINEL_STORE_URL", oxigraph_server.query_url)
    configure(workspace, PLM.format(schedule="1s") + '[scheduler]\nalerts_every = "off"\n')
    with scheduler(workspace):
        wait_for(lambda: runs_of(workspace, "ingest:plm") >= 2)
        meanwhile = cli.invoke(app, ["query", "ASK { ?s ?p ?o }"])
    with open_workspace(workspace) as ws:
        assert ws.config.store.backend == "sparql"
        runs = job_runs(ws, "ingest:plm")
    assert meanwhile.exit_code == 0, meanwhile.stderr
    assert "true" in meanwhile.stdout.lower()
    assert len(runs) >= 2
    assert {run["outcome"] for run in runs} == {"ok"}
