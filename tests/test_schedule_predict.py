"""Scheduled outcomes: the first prediction job trains a model, later ones only predict."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_predict_runner import REWORK, ingest, launch_rows
from test_schedule import count_runs as count_runs  # the fixture, shared
from test_schedule import job_runs, runs_of, scheduler, wait_for

from kgsentinel.graph.ontology import prefix_header
from kgsentinel.predict.registry import versions
from kgsentinel.workspace import open_workspace

MADE = """SELECT ?job ?kind { ?made prov:wasInformedBy ?run ; a ?kind .
  ?run kgs:jobName ?job . FILTER(?kind IN (kgs:TrainingRun, kgs:DetectorRun)) }"""


@pytest.mark.usefixtures("count_runs")
def test_the_first_prediction_job_trains_then_later_ones_only_predict(workspace: Path) -> None:
    (workspace / "kgsentinel.toml").write_text(
        REWORK + 'schedule = "1s"\nretrain = "1h"\n[scheduler]\nalerts_every = "off"\n'
    )
    ingest(workspace, launch_rows())
    with scheduler(workspace):
        wait_for(lambda: runs_of(workspace, "predict:rework") >= 2)
    with open_workspace(workspace) as ws:
        runs = job_runs(ws, "predict:rework")
        made = [(row["job"].value, row["kind"].value.rsplit("#")[-1])
                for row in ws.store.query(prefix_header() + MADE)]  # fmt: skip
        trained = versions(ws, "rework")
        predictions = ws.store.query(prefix_header() + "SELECT ?p { ?p a kgs:Prediction }")
        assert len(list(predictions)) > 0
    assert {run["outcome"] for run in runs} == {"ok"}, runs
    assert len(trained) == 1  # trained once, by the first prediction job; retrain is an hour away
    assert made.count(("predict:rework", "TrainingRun")) == 1
    assert made.count(("predict:rework", "DetectorRun")) == len(runs)
