"""Detector runs over the graph: anomalies written once, incremental runs, provenance, CLI.

The runner is exercised with a small detector of this module (``LongCases``,
registered as kind ``long-cases``) whose right answer is obvious, so these
tests show the runner's own behaviour; each real detector has its own tests.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest
from sklearn.base import BaseEstimator
from typer.testing import CliRunner

from kgsentinel.cli.app import app
from kgsentinel.detectors import suite
from kgsentinel.detectors.anomalies import ANOMALY_COLUMNS, list_anomalies
from kgsentinel.detectors.base import Evidence, Finding
from kgsentinel.detectors.runner import configured_detectors, detect, detector_status
from kgsentinel.errors import ConfigError
from kgsentinel.ingest.job import event_table_mapping, ingest_path
from kgsentinel.workspace import open_workspace


class LongCases(BaseEstimator):
    """Flags cases with more than ``factor`` times the usual number of events."""

    def __init__(self, *, factor: float = 1.5) -> None:
        self.factor = factor

    def fit(self, log: pd.DataFrame) -> LongCases:
        self.usual_ = float(log.groupby("case").size().median())
        return self

    def findings(self, log: pd.DataFrame) -> list[Finding]:
        sizes = log.groupby("case").agg(events=("event", "size"), case_id=("case_id", "first"))
        long = sizes[sizes["events"] > self.factor * self.usual_]
        return [self._finding(case, row.case_id, int(row.events)) for case, row in long.iterrows()]

    def _finding(self, case: str, case_id: str, events: int) -> Finding:
        evidence = Evidence(label="events", expected=self.usual_, observed=events)
        explanation = f"{events} events; usually {self.usual_:g}"
        return Finding(kind="repeated", subject=case, score=0.9, case_id=case_id,
                       activity="Formulation", key="length", explanation=explanation,
                       evidence=[evidence])  # fmt: skip


@pytest.fixture(autouse=True)
def _long_cases_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(suite.KIND_CLASSES, "long-cases", "test_runner:LongCases")


def steps(case: str, activities: list[str], day: int = 1) -> list[str]:
    return [f"{case},{a},2026-01-{day + i:02d}T09:00:00Z,ana" for i, a in enumerate(activities)]


NORMAL = ["Brief", "Formulation", "Launch"]
CASES = "ABCDEHIJKLMNOPQRSTUV"  # normal ones; F has rework
ROWS = [line for c in CASES for line in steps(c, NORMAL)]
ROWS += steps("F", [*NORMAL, "Formulation", "Formulation"])


@pytest.fixture
def loaded(workspace: Path) -> Path:
    (workspace / "kgsentinel.toml").write_text(
        '[project]\nname = "t"\n[detectors.long]\nkind = "long-cases"\nseverity = "critical"\n'
        'labels = {team = "npi"}\n'
    )
    ingest(workspace, ROWS)
    return workspace


def ingest(workspace: Path, rows: list[str]) -> None:
    path = workspace / "data" / "steps.csv"
    path.write_text("case,step,at,who\n" + "\n".join(rows) + "\n")
    mapping = event_table_mapping("steps", case="case", activity="step", timestamp="at",
                                  resource="who", event_id="{case}-{step}-{at}")  # fmt: skip
    with open_workspace(workspace) as ws:
        ingest_path(ws, path, mapping=mapping, graph="steps")


def test_a_run_writes_each_finding_as_an_anomaly_with_its_case(loaded: Path) -> None:
    with open_workspace(loaded) as ws:
        [report] = detect(ws)
        assert (report.detector, report.cases, report.found, report.new) == ("long", 21, 1, 1)
        frame = list_anomalies(ws.store)
        evidence = ws.store.query(
            "PREFIX kgs: <https://w3id.org/kgsentinel#> SELECT ?observed ?labels WHERE { "
            "?a kgs:evidence/kgs:observed ?observed ; kgs:hasLabel ?labels }"
        ).rows()
    assert list(frame.columns) == list(ANOMALY_COLUMNS)
    [row] = frame.to_dict("records")
    assert (row["detector"], row["kind"], row["case_id"], row["severity"]) == (
        "long", "repeated", "F", "critical",
    )  # fmt: skip
    assert row["explanation"] == "5 events; usually 3"
    assert row["activity"] == "Formulation"
    assert evidence == [{"observed": 5, "labels": "team=npi"}]


def test_running_again_finds_the_same_anomaly_and_writes_nothing_new(loaded: Path) -> None:
    with open_workspace(loaded) as ws:
        detect(ws)
        before = ws.store.export(graph="anomalies", format="nquads")
        [again] = detect(ws, full=True)
        assert (again.found, again.new, again.resolved) == (1, 0, 0)
        assert ws.store.export(graph="anomalies", format="nquads") == before
        assert len(list_anomalies(ws.store)) == 1


def test_an_incremental_run_examines_only_changed_cases(loaded: Path) -> None:
    with open_workspace(loaded) as ws:
        detect(ws)
    ingest(loaded, [*ROWS, *steps("G", ["Brief"]), *steps("A", ["Formulation"] * 3, day=10)])
    with open_workspace(loaded) as ws:
        [report] = detect(ws)
        assert report.incremental
        assert report.cases == 2  # A changed, G is new
        assert report.new == 1
        cases = sorted(list_anomalies(ws.store)["case_id"])
    assert cases == ["A", "F"]


def test_after_an_ingest_the_store_journal_names_the_changed_cases_without_a_scan(
    loaded: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kgsentinel.detectors import history

    with open_workspace(loaded) as ws:
        detect(ws)
    ingest(loaded, [*ROWS, *steps("G", ["Brief"]), *steps("A", ["Formulation"] * 3, day=10)])

    def scan(*args: object, **kwargs: object) -> None:
        raise AssertionError("the journal knew what changed; no scan needed")

    monkeypatch.setattr(history, "current_events", scan)
    with open_workspace(loaded) as ws:
        [report] = detect(ws)
        cases = sorted(list_anomalies(ws.store)["case_id"])
    assert (report.incremental, report.cases, report.new) == (True, 2, 1)  # A changed, G is new
    assert cases == ["A", "F"]


def test_a_run_after_no_change_examines_no_case(loaded: Path) -> None:
    with open_workspace(loaded) as ws:
        detect(ws)
        [report] = detect(ws)
        standing = list_anomalies(ws.store)
    assert (report.incremental, report.cases, report.new, report.resolved) == (True, 0, 0, 0)
    assert list(standing["case_id"]) == ["F"]


def test_retiming_an_event_inside_a_case_makes_only_that_case_examined_again(
    loaded: Path,
) -> None:
    with open_workspace(loaded) as ws:
        detect(ws)
        # B's middle step moves an hour; its number of events and last time stay
        ws.store.update(
            "PREFIX kgs: <https://w3id.org/kgsentinel#> "
            "DELETE { GRAPH ?g { ?e kgs:timestamp ?t } } "
            "INSERT { GRAPH ?g { ?e kgs:timestamp ?later } } WHERE { GRAPH ?g { "
            "?e kgs:eventId 'B-Formulation-2026-01-02T09:00:00Z' ; kgs:timestamp ?t } "
            "BIND(?t + 'PT1H'^^<http://www.w3.org/2001/XMLSchema#dayTimeDuration> AS ?later) }"
        )
        [report] = detect(ws)
    assert (report.incremental, report.cases) == (True, 1)


def test_running_one_detector_never_makes_another_skip_a_case(loaded: Path) -> None:
    config = loaded / "kgsentinel.toml"
    config.write_text(config.read_text() + '[detectors.other]\nkind = "long-cases"\n')
    with open_workspace(loaded) as ws:
        detect(ws, ["long"])
    ingest(loaded, [*ROWS, *steps("A", ["Formulation"] * 3, day=10)])
    with open_workspace(loaded) as ws:
        detect(ws, ["long"])
        [other] = detect(ws, ["other"])
    assert (other.cases, other.found, other.incremental) == (21, 2, False)


def test_what_each_detector_examined_is_kept_once_and_dropped_when_no_detector_needs_it(
    loaded: Path,
) -> None:
    config = loaded / "kgsentinel.toml"
    config.write_text(config.read_text() + '[detectors.other]\nkind = "long-cases"\n')
    kept = loaded / ".kgsentinel" / "detectors" / "seen"
    with open_workspace(loaded) as ws:
        detect(ws)
    assert len(list(kept.iterdir())) == 1  # both detectors saw the same cases
    ingest(loaded, [*ROWS, *steps("A", ["Formulation"] * 3, day=10)])
    with open_workspace(loaded) as ws:
        detect(ws, ["long"])
        assert len(list(kept.iterdir())) == 2  # "other" has not seen A's new events
        [other] = detect(ws, ["other"])
    assert (other.cases, other.incremental) == (1, True)
    assert len(list(kept.iterdir())) == 1


def detect_then_make_f_normal(loaded: Path) -> None:
    """A first run (it finds the long case F), then F ingested again as a normal case."""
    with open_workspace(loaded) as ws:
        detect(ws)
    fixed = [line for line in ROWS if not line.startswith("F,")] + steps("F", NORMAL, day=20)
    ingest(loaded, fixed)


def test_a_finding_no_longer_found_is_invalidated(loaded: Path) -> None:
    detect_then_make_f_normal(loaded)
    with open_workspace(loaded) as ws:
        [report] = detect(ws)
        assert (report.cases, report.resolved) == (1, 1)
        assert list_anomalies(ws.store).empty
        gone = ws.store.query(
            "PREFIX prov: <http://www.w3.org/ns/prov#> ASK { ?a prov:invalidatedAtTime ?t }"
        )
        assert gone.boolean


def test_a_finding_found_again_after_it_was_invalidated_stands_again(loaded: Path) -> None:
    detect_then_make_f_normal(loaded)
    with open_workspace(loaded) as ws:
        detect(ws)
    ingest(loaded, ROWS)  # F is long again
    with open_workspace(loaded) as ws:
        [report] = detect(ws)
        again = list_anomalies(ws.store)
        described = ws.store.query(
            "PREFIX kgs: <https://w3id.org/kgsentinel#> PREFIX prov: <http://www.w3.org/ns/prov#> "
            "SELECT ?run ?gone WHERE { ?a kgs:detectedAt ?t ; prov:wasGeneratedBy ?run "
            "OPTIONAL { ?a prov:invalidatedAtTime ?gone } }"
        ).rows()
    assert report.new == 1
    assert again["case_id"].tolist() == ["F"]
    assert described == [{"run": report.run, "gone": None}]  # once, afresh, by the last run


def test_each_run_is_recorded_and_listed(loaded: Path, cli: CliRunner) -> None:
    with open_workspace(loaded) as ws:
        detect(ws)
        [status] = detector_status(ws)
        runs = ws.store.query(
            "PREFIX kgs: <https://w3id.org/kgsentinel#> PREFIX prov: <http://www.w3.org/ns/prov#> "
            "SELECT ?cases ?found WHERE { ?r a kgs:DetectorRun ; kgs:casesExamined ?cases ; "
            "kgs:anomaliesFound ?found ; prov:wasAssociatedWith ?d }"
        ).rows()
    assert (status["detector"], status["kind"], status["anomalies"]) == ("long", "long-cases", 1)
    assert status["last_run"] is not None
    assert runs == [{"cases": 21, "found": 1}]
    listed = cli.invoke(app, ["detectors"])
    assert listed.exit_code == 0
    assert "long-cases" in listed.stdout


def test_the_cli_detects_and_lists_anomalies_as_csv_and_json(loaded: Path, cli: CliRunner) -> None:
    run = cli.invoke(app, ["detect"])
    assert run.exit_code == 0, run.stderr
    assert "1 anomalies found" in run.stderr
    csv = cli.invoke(app, ["anomalies", "--format", "csv", "--min-score", "0.5"])
    frame = pd.read_csv(io.StringIO(csv.stdout))
    assert list(frame.columns) == list(ANOMALY_COLUMNS)
    assert frame["case_id"].tolist() == ["F"]
    as_json = json.loads(cli.invoke(app, ["anomalies", "--format", "json"]).stdout)
    assert as_json[0]["explanation"] == "5 events; usually 3"
    none = cli.invoke(app, ["anomalies", "--format", "csv", "--kind", "skipped"])
    assert pd.read_csv(io.StringIO(none.stdout)).empty
    high = cli.invoke(app, ["anomalies", "--format", "csv", "--min-score", "0.95"])
    assert pd.read_csv(io.StringIO(high.stdout)).empty


def test_filters_are_bound_not_pasted(loaded: Path) -> None:
    with open_workspace(loaded) as ws:
        detect(ws)
        assert list_anomalies(ws.store, detector='long" || true || "').empty
        assert len(list_anomalies(ws.store, detector="long")) == 1
        with pytest.raises(ValueError, match="unknown anomaly kind"):
            list_anomalies(ws.store, kind="} DROP ALL ; {")


def test_configuration_errors_are_one_clear_line(workspace: Path, cli: CliRunner) -> None:
    (workspace / "kgsentinel.toml").write_text('[detectors.x]\nkind = "nope"\n')
    with open_workspace(workspace) as ws, pytest.raises(ConfigError, match="unknown kind 'nope'"):
        configured_detectors(ws)
    (workspace / "kgsentinel.toml").write_text(
        '[detectors.x]\nkind = "long-cases"\nparams = {factr = 2}\n'
    )
    result = cli.invoke(app, ["detect"])
    assert result.exit_code == 1
    assert "its parameters are factor" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    unknown = cli.invoke(app, ["detect", "missing"])
    assert "no detector named 'missing'" in unknown.stderr


def test_with_no_configuration_the_default_suite_and_the_rules_run(workspace: Path) -> None:
    rules = workspace / "rules"
    (rules / "mine.rq").write_text(
        "# id: mine/no-label\n# subject: thing\n# message: {thing} has no label\n"
        "SELECT ?thing WHERE { ?thing a kgs:Activity FILTER NOT EXISTS { ?thing rdfs:label ?l } }\n"
    )
    (rules / "things.shacl.ttl").write_text("@prefix sh: <http://www.w3.org/ns/shacl#> .\n")
    with open_workspace(workspace) as ws:
        specs = configured_detectors(ws)
    assert set(suite.DEFAULT_SUITE) < set(specs)
    assert specs["mine/no-label"].kind == "sparql"
    assert specs["builtin/duplicate-event-id"].kind == "sparql"
    assert "builtin/four-eyes" not in specs  # it needs parameters
    assert "builtin/case-without-end" not in specs  # it would guess the end activities
    assert specs["shapes"].params == {"shapes": str(rules)}


def test_a_rule_about_events_names_their_case_and_takes_the_configured_severity(
    loaded: Path,
) -> None:
    config = loaded / "kgsentinel.toml"
    config.write_text(
        config.read_text() + '[detectors.eyes]\nkind = "sparql"\nrule = "builtin:four-eyes"\n'
        'params = {first = "Brief", second = "Launch"}\nseverity = "info"\n'
        'labels = {team = "audit"}\n'
    )
    with open_workspace(loaded) as ws:
        [report] = detect(ws, ["eyes"])
        frame = list_anomalies(ws.store, detector="eyes")
    assert report.found == len(CASES) + 1  # ana does both steps in every case
    assert sorted(frame["case_id"]) == sorted([*CASES, "F"])
    assert set(frame["severity"]) == {"info"}
