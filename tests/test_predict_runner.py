"""Outcome prediction in a workspace: config, training, model versions, predictions, risks, CLI.

The log is small and the outcome learnable: a launch briefed by Bob is reworked
(and takes two weeks longer), one briefed by Ana is not. Finished cases end
with Launch; the running ones have gone as far as Brief or Formulation.
"""

from __future__ import annotations

import json
import random
import re
import tomllib
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from kgsentinel.cli.app import app
from kgsentinel.config import Config, OutcomeConfig
from kgsentinel.detectors.anomalies import list_anomalies
from kgsentinel.errors import ConfigError, PredictionError
from kgsentinel.ingest.job import event_table_mapping, ingest_path
from kgsentinel.ingest.mapping import Mapping
from kgsentinel.predict.predictions import PREDICTIONS_GRAPH
from kgsentinel.predict.registry import latest_version, list_models, versions
from kgsentinel.predict.runner import ask_labels, chosen_outcomes, predict, train
from kgsentinel.workspace import open_workspace

PREFIXES = (
    "PREFIX kgs: <https://w3id.org/kgsentinel#>\nPREFIX prov: <http://www.w3.org/ns/prov#>\n"
    "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
)
FINISHED, RUNNING = 120, 12
REWORK = '[outcomes.rework]\nkind = "reaches"\nactivity = "Rework"\n'
DOCS = Path(__file__).parent.parent / "docs" / "predictions.md"


def launch_rows(seed: int = 3) -> list[str]:
    """Finished launches (Bob's, about one in three, reworked and slower), then running ones."""
    draw = random.Random(seed)
    start = pd.Timestamp("2026-01-01")
    rows = []
    for number in range(FINISHED + RUNNING):
        owner = "bob" if draw.random() < 0.3 else "ana"
        if number < FINISHED:
            steps = ["Brief", "Formulation", *(["Rework", "Formulation"] if owner == "bob" else []),
                     "Launch"]  # fmt: skip
            day, gap = start + pd.Timedelta(days=number), 7 if owner == "bob" else 2
        else:
            steps = ["Brief", "Formulation"][: 1 + number % 2]
            day, gap = start + pd.Timedelta(days=FINISHED + 30, hours=2 * number), 1
        for index, activity in enumerate(steps):
            at = day + pd.Timedelta(days=gap * index)
            who = owner if index == 0 else "lab"
            rows.append(f"L{number:03d},{activity},{at:%Y-%m-%dT%H:%M:%SZ},{who},{10 + index}")
    return rows


def ingest(root: Path, rows: list[str]) -> None:
    path = root / "data" / "launches.csv"
    path.write_text("launch,step,at,who,cost\n" + "\n".join(rows) + "\n")
    mapping = event_table_mapping("launches", case="launch", activity="step", timestamp="at",
                                  resource="who", event_id="{launch}-{step}-{at}")  # fmt: skip
    with open_workspace(root) as ws:
        ingest_path(ws, path, mapping=mapping, graph="launches")


def configure(root: Path, text: str) -> None:
    (root / "kgsentinel.toml").write_text('[project]\nname = "t"\n' + text)


@pytest.fixture
def launches(workspace: Path) -> Path:
    """A workspace with the launches in its graph and the rework outcome configured."""
    configure(workspace, REWORK)
    ingest(workspace, launch_rows())
    return workspace


def bobs_running(root: Path) -> set[str]:
    with open_workspace(root) as ws:
        rows = ws.store.query_frame(
            PREFIXES + "SELECT ?id WHERE { ?e kgs:case ?c ; kgs:resource/rdfs:label 'bob' . "
            "?c kgs:caseId ?id FILTER NOT EXISTS { ?end kgs:case ?c ; kgs:activity/rdfs:label "
            "'Launch' } }"
        )
    return set(rows["id"])


def select(root: Path, query: str) -> list[dict[str, object]]:
    with open_workspace(root) as ws:
        return ws.store.query(PREFIXES + query).rows()


# -- configuration --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "needed"),
    [({"kind": "reaches"}, "activity"), ({"kind": "never-reaches"}, "activity"),
     ({"kind": "slower-than"}, "hours"), ({"kind": "ask"}, "ask")],
)  # fmt: skip
def test_each_kind_of_outcome_needs_its_setting(settings: dict, needed: str) -> None:
    with pytest.raises(ValueError, match=f"needs {needed}"):
        OutcomeConfig.model_validate(settings)


def test_an_outcome_may_not_share_a_detectors_name() -> None:
    with pytest.raises(ValueError, match="names both a detector and an outcome"):
        Config.model_validate(
            {
                "detectors": {"late": {"kind": "durations"}},
                "outcomes": {"late": {"kind": "slower-than", "hours": 3}},
            }
        )


def test_an_outcome_may_not_share_a_default_detectors_name(workspace: Path) -> None:
    configure(workspace, '[outcomes.durations]\nkind = "slower-than"\nhours = 3\n')
    with open_workspace(workspace) as ws, pytest.raises(ConfigError, match="also the name of a"):
        train(ws, "durations")


def test_with_no_outcome_configured_the_error_shows_an_example(workspace: Path) -> None:
    with open_workspace(workspace) as ws, pytest.raises(ConfigError) as caught:
        chosen_outcomes(ws)
    assert "no outcomes in kgsentinel.toml" in str(caught.value)
    assert '[outcomes.late-launch] kind = "slower-than", hours = 1440' in str(caught.value)


def test_an_unknown_outcome_is_named_with_those_there_are(launches: Path) -> None:
    with open_workspace(launches) as ws, pytest.raises(ConfigError) as caught:
        chosen_outcomes(ws, ["late"])
    assert str(caught.value).startswith("no outcome named 'late' (outcomes: rework)")


def test_disabled_outcomes_are_left_out_unless_named(workspace: Path) -> None:
    configure(workspace, REWORK + '[outcomes.slow]\nkind = "slower-than"\nhours = 1\n'
                         "enabled = false\n")  # fmt: skip
    with open_workspace(workspace) as ws:
        assert chosen_outcomes(ws) == ["rework"]
        assert chosen_outcomes(ws, ["slow"]) == ["slow"]


# -- training -------------------------------------------------------------------------------


def test_training_saves_a_version_with_its_card(launches: Path) -> None:
    with open_workspace(launches) as ws:
        report = train(ws, "rework")
        version = latest_version(ws, "rework")
    assert (report.version, report.cases) == ("v1", FINISHED)
    assert 0 < report.positives < FINISHED
    assert version.folder == launches / ".kgsentinel" / "models" / "rework" / "v1"
    assert set(version.cards) == {"outcome"}
    assert version.info["end_activities"] == ["Launch"]
    assert version.info["settings"]["activity"] == "Rework"
    card = json.loads((version.folder / "outcome" / "card.json").read_text())
    assert card["cases"]["all"] == FINISHED
    assert "auc" in report.metrics["outcome"]


def test_training_again_makes_a_new_version_and_the_latest_predicts(launches: Path) -> None:
    with open_workspace(launches) as ws:
        train(ws, "rework")
        assert train(ws, "rework").version == "v2"
        assert [v.version for v in versions(ws, "rework")] == ["v1", "v2"]
        assert [m["version"] for m in list_models(ws, every_version=True)] == ["v1", "v2"]
        predict(ws, "rework")
    [used] = select(launches, "SELECT DISTINCT ?version WHERE { ?p a kgs:Prediction ; "
                              "kgs:model/kgs:modelVersion ?version }")  # fmt: skip
    assert used == {"version": "v2"}


def test_each_model_is_a_kgs_model_in_the_provenance_graph(launches: Path) -> None:
    with open_workspace(launches) as ws:
        report = train(ws, "rework")
    [model] = select(
        launches,
        """SELECT * WHERE { GRAPH <urn:kgsentinel:graph:provenance> {
      ?model a kgs:Model ; kgs:modelVersion ?version ; kgs:auc ?auc ; kgs:casesTrained ?cases ;
             kgs:trainedFrom ?from ; kgs:trainedUntil ?until ; prov:generatedAtTime ?at ;
             kgs:target ?target ; prov:wasAttributedTo/rdfs:label ?outcome ;
             prov:wasGeneratedBy ?run .
      ?run a kgs:TrainingRun ; prov:endedAtTime ?ended } }""",
    )
    assert (model["version"], model["cases"], model["outcome"]) == ("v1", FINISHED, "rework")
    assert str(model["run"]) == report.run
    assert model["from"] < model["until"]
    assert model["auc"] == pytest.approx(report.metrics["outcome"]["auc"])
    evaluations = select(launches, "SELECT ?length ?auc WHERE { ?m a kgs:Model ; kgs:evaluation "
                                   "[ kgs:prefixLength ?length ; kgs:auc ?auc ] }")  # fmt: skip
    assert evaluations
    assert all(0 <= row["auc"] <= 1 for row in evaluations)


def test_end_activities_can_be_given(launches: Path) -> None:
    configure(launches, REWORK + 'end_activities = ["Launch", "Formulation"]\n')
    with open_workspace(launches) as ws:
        report = train(ws, "rework")  # running cases that stopped at Formulation have ended
        predicted = predict(ws, "rework")
    assert report.cases == FINISHED + RUNNING // 2
    assert predicted.cases == RUNNING // 2


# -- errors of training ---------------------------------------------------------------------


def test_an_empty_graph_says_to_ingest_first(workspace: Path) -> None:
    configure(workspace, REWORK)
    with open_workspace(workspace) as ws, pytest.raises(PredictionError) as caught:
        train(ws, "rework")
    assert "ingest an event log first" in str(caught.value)


def test_too_few_finished_cases_is_one_clear_line(workspace: Path) -> None:
    configure(workspace, REWORK)
    ingest(workspace, [row for row in launch_rows() if row[1:4] < "004"])
    with open_workspace(workspace) as ws, pytest.raises(PredictionError) as caught:
        train(ws, "rework")
    message = str(caught.value)
    assert message.startswith("[outcomes.rework] ")
    assert "\n" not in message
    assert "finished" in message


def test_an_outcome_every_case_has_is_one_class(launches: Path) -> None:
    configure(launches, '[outcomes.briefed]\nkind = "reaches"\nactivity = "Brief"\n')
    with open_workspace(launches) as ws, pytest.raises(PredictionError) as caught:
        train(ws, "briefed")
    assert str(caught.value).startswith("[outcomes.briefed] ")
    assert "happened in all 120 finished cases" in str(caught.value)


def test_an_activity_no_case_has_is_named_with_close_ones(launches: Path) -> None:
    configure(launches, '[outcomes.rework]\nkind = "reaches"\nactivity = "Rewrok"\n')
    with open_workspace(launches) as ws, pytest.raises(PredictionError) as caught:
        train(ws, "rework")
    assert "'Rewrok'" in str(caught.value)
    assert "'Rework'" in str(caught.value)


# -- predicting -----------------------------------------------------------------------------


@pytest.fixture
def predicted(launches: Path) -> Path:
    with open_workspace(launches) as ws:
        train(ws, "rework")
        predict(ws, "rework")
    return launches


def test_predicting_before_training_says_to_train(launches: Path) -> None:
    with open_workspace(launches) as ws, pytest.raises(PredictionError) as caught:
        predict(ws, "rework")
    assert "run `kgsentinel train rework` first" in str(caught.value)


def test_each_running_case_gets_a_prediction_in_the_predictions_graph(predicted: Path) -> None:
    rows = select(
        predicted,
        f"""SELECT ?id ?probability ?length ?at ?version WHERE {{
      GRAPH <{PREDICTIONS_GRAPH}> {{
        ?p a kgs:Prediction ; kgs:subject ?case ; kgs:probability ?probability ;
           kgs:prefixLength ?length ; kgs:predictedAt ?at ; kgs:model ?model ;
           kgs:target/rdfs:label "rework" }}
      ?case kgs:caseId ?id . ?model kgs:modelVersion ?version }}""",
    )
    assert len(rows) == RUNNING
    assert {row["id"] for row in rows} == {f"L{n:03d}" for n in range(FINISHED, FINISHED + 12)}
    assert all(0 <= row["probability"] <= 1 and row["length"] in (1, 2) for row in rows)
    bob = bobs_running(predicted)
    assert min(r["probability"] for r in rows if r["id"] in bob) > max(
        r["probability"] for r in rows if r["id"] not in bob
    )


def test_top_features_are_evidence_of_each_prediction(predicted: Path) -> None:
    rows = select(
        predicted,
        """SELECT ?id ?probability ?feature ?value ?contribution WHERE {
      ?p a kgs:Prediction ; kgs:subject/kgs:caseId ?id ; kgs:probability ?probability ;
         kgs:evidence ?e .
      ?e a kgs:Evidence ; kgs:feature ?feature ; kgs:contribution ?contribution .
      OPTIONAL { ?e kgs:featureValue ?value } }""",
    )
    evidence = pd.DataFrame(rows)
    assert evidence.groupby("id").size().between(1, 3).all()
    at_risk = evidence[evidence["probability"] > 0.7]
    assert set(at_risk["id"]) == bobs_running(predicted)
    assert at_risk["feature"].str.startswith("count:resource=").all()  # who briefed it
    assert (at_risk["contribution"] > 0).all()


def test_a_case_above_the_threshold_is_a_risk_anomaly(predicted: Path) -> None:
    with open_workspace(predicted) as ws:
        risks = list_anomalies(ws.store, kind="risk")
    assert set(risks["case_id"]) == bobs_running(predicted)
    assert (risks["detector"] == "rework").all()
    assert set(risks["activity"]) <= {"Brief", "Formulation"}  # where each case stands
    assert (risks["score"] > 0.7).all()
    assert risks["explanation"].str.contains("likely to reach 'Rework'").all()
    derived = select(
        predicted,
        "SELECT ?a ?p WHERE { ?a a kgs:Anomaly ; prov:wasDerivedFrom ?p . "
        "?p a kgs:Prediction ; kgs:subject ?case . ?a kgs:subject ?case }",
    )
    assert len(derived) == len(risks)


def test_predicting_again_replaces_predictions_without_duplicating_risks(predicted: Path) -> None:
    def counts() -> tuple[int, int, int]:
        [row] = select(predicted, """SELECT (COUNT(DISTINCT ?p) AS ?predictions)
          (COUNT(*) AS ?triples) WHERE { GRAPH <urn:kgsentinel:graph:predictions> {
          ?p ?x ?y } }""")  # fmt: skip
        with open_workspace(predicted) as ws:
            risks = len(list_anomalies(ws.store, kind="risk"))
        return int(row["predictions"]), int(row["triples"]), risks

    before = counts()
    with open_workspace(predicted) as ws:
        report = predict(ws, "rework")
    assert counts() == before
    assert (report.new, report.resolved, report.at_risk) == (0, 0, before[2])
    runs = select(predicted, "SELECT ?run WHERE { ?run a kgs:DetectorRun ; "
                             "prov:wasAssociatedWith/rdfs:label 'rework' }")  # fmt: skip
    assert len(runs) == 2
    [generated] = select(predicted, "SELECT DISTINCT ?run WHERE { ?p a kgs:Prediction ; "
                                    "prov:wasGeneratedBy ?run }")  # fmt: skip
    assert str(generated["run"]) == report.run


def test_a_case_no_longer_at_risk_has_its_risk_resolved(predicted: Path) -> None:
    configure(predicted, REWORK + "threshold = 1.0\n")
    with open_workspace(predicted) as ws:
        report = predict(ws, "rework")
        assert list_anomalies(ws.store, kind="risk").empty
    assert report.resolved == len(bobs_running(predicted))
    assert report.at_risk == 0


def test_a_finished_case_leaves_the_predictions(predicted: Path) -> None:
    running = [f"L{FINISHED:03d},Launch,2026-12-01T00:00:00Z,lab,1"]
    ingest(predicted, launch_rows() + running)
    with open_workspace(predicted) as ws:
        report = predict(ws, "rework")
    assert report.cases == RUNNING - 1
    ids = {row["id"] for row in select(predicted, "SELECT ?id WHERE { ?p a kgs:Prediction ; "
                                                  "kgs:subject/kgs:caseId ?id }")}  # fmt: skip
    assert f"L{FINISHED:03d}" not in ids


def test_a_running_case_that_has_reached_the_activity_is_certain(predicted: Path) -> None:
    reworked = [f"L999,{step},2026-06-0{day}T10:00:00Z,{who},{day}"
                for day, step, who in [(1, "Brief", "ana"), (2, "Formulation", "lab"),
                                       (3, "Rework", "lab")]]  # fmt: skip
    ingest(predicted, launch_rows() + reworked)
    with open_workspace(predicted) as ws:
        predict(ws, "rework")
        risks = list_anomalies(ws.store, kind="risk")
    [row] = select(predicted, """SELECT ?probability ?text ?why WHERE { ?p kgs:probability
      ?probability ; kgs:explanation ?text ; kgs:subject/kgs:caseId "L999" ;
      kgs:evidence/rdfs:label ?why }""")  # fmt: skip
    assert row == {"probability": 1.0, "text": "Case L999 has reached 'Rework'",
                   "why": "the case has reached 'Rework'"}  # fmt: skip
    assert risks.set_index("case_id").loc["L999", "score"] == 1.0


def test_a_changed_outcome_must_be_trained_again(predicted: Path) -> None:
    configure(predicted, '[outcomes.rework]\nkind = "never-reaches"\nactivity = "Rework"\n')
    with open_workspace(predicted) as ws, pytest.raises(PredictionError) as caught:
        predict(ws, "rework")
    assert str(caught.value) == (
        "[outcomes.rework] kind changed since model v1 was trained; run `kgsentinel train "
        "rework` again"
    )


def test_detectors_leave_risk_anomalies_alone(predicted: Path) -> None:
    from kgsentinel.detectors.runner import detect

    with open_workspace(predicted) as ws:
        before = list_anomalies(ws.store, kind="risk")
        detect(ws, ["durations"])
        after = list_anomalies(ws.store, kind="risk")
    assert len(after) == len(before) > 0


@pytest.mark.server
def test_train_and_predict_on_a_remote_endpoint(
    workspace: Path, oxigraph_server: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    oxigraph_server.clear()
    monkeypatch.setenv("KGSENTINEL_STORE_URL", oxigraph_server.query_url)
    configure(workspace, REWORK)
    ingest(workspace, launch_rows())
    with open_workspace(workspace) as ws:
        train(ws, "rework")
        predict(ws, "rework")
        report = predict(ws, "rework")
        risks = list_anomalies(ws.store, kind="risk")
    predictions = select(workspace, "SELECT ?p WHERE { ?p a kgs:Prediction }")
    assert len(predictions) == report.cases == RUNNING
    assert set(risks["case_id"]) == bobs_running(workspace)


def test_remaining_time_is_a_second_target(launches: Path) -> None:
    configure(launches, REWORK + "remaining_time = true\n")
    with open_workspace(launches) as ws:
        report = train(ws, "rework")
        predict(ws, "rework")
    assert "mae_hours" in report.metrics["remaining-time"]
    rows = select(
        launches,
        """SELECT ?left ?mae WHERE { ?p a kgs:Prediction ;
      kgs:target/rdfs:label "rework remaining-time" ; kgs:predictedValue ?left ;
      kgs:model/kgs:maeHours ?mae }""",
    )
    assert len(rows) == RUNNING
    assert all(re.fullmatch(r"P(\d+D)?(T(\d+H)?(\d+M)?)?", str(r["left"])) for r in rows)


def test_the_workload_counts_every_case_of_the_graph_running_ones_too(
    launches: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kgsentinel.predict.model import OutcomeModel

    configure(launches, REWORK + "remaining_time = true\n")
    told: dict[str, set[str]] = {}
    real_train, real_predict = OutcomeModel.train.__func__, OutcomeModel.predict

    def spy_train(cls: type, log: pd.DataFrame, *args: object, **options: object) -> object:
        told["train"] = set(options["context"]["case_id"])
        return real_train(cls, log, *args, **options)

    def spy_predict(self: OutcomeModel, log: pd.DataFrame, **options: object) -> object:
        told["predict"] = set(options["context"]["case_id"])
        return real_predict(self, log, **options)

    monkeypatch.setattr(OutcomeModel, "train", classmethod(spy_train))
    monkeypatch.setattr(OutcomeModel, "predict", spy_predict)
    with open_workspace(launches) as ws:
        train(ws, "rework")
        predict(ws, "rework")
        timer = latest_version(ws, "rework").load()["remaining-time"]
    every = {f"L{number:03d}" for number in range(FINISHED + RUNNING)}
    assert told == {"train": every, "predict": every}
    assert "workload:started_7d_vs_90d" in timer.encoder.get_feature_names_out()


# -- outcomes as ASK queries ----------------------------------------------------------------

REWORK_ASK = 'ASK { ?event kgs:case ?case ; kgs:activity/rdfs:label "Rework" }'


def test_an_ask_outcome_labels_each_case_with_the_case_bound(launches: Path) -> None:
    with open_workspace(launches) as ws:
        cases = ws.store.query_frame(PREFIXES + "SELECT ?c WHERE { ?c a kgs:Case }")["c"]
        labels = ask_labels(ws.store, REWORK_ASK, list(cases))
        reworked = set(ws.store.query_frame(PREFIXES + "SELECT ?c WHERE { ?e kgs:case ?c ; "
                                            "kgs:activity/rdfs:label 'Rework' }")["c"])  # fmt: skip
    assert set(labels[labels == 1].index) == reworked
    assert 0 < len(reworked) < len(cases)


def test_an_ask_outcome_from_a_rules_file_trains_and_predicts(launches: Path) -> None:
    from kgsentinel.detectors.runner import detect

    (launches / "rules" / "reworked.ask.rq").write_text(REWORK_ASK + "\n")
    configure(launches, '[outcomes.reworked]\nkind = "ask"\nask = "rules/reworked.ask.rq"\n')
    with open_workspace(launches) as ws:
        report = train(ws, "reworked")
        predict(ws, "reworked")
        risks = list_anomalies(ws.store, kind="risk")
        detect(ws, [])  # the ASK file is not taken for a rule
    assert 0 < report.positives < FINISHED
    assert set(risks["case_id"]) == bobs_running(launches)


@pytest.mark.parametrize(
    ("ask", "expected"),
    [('"SELECT ?case WHERE { ?case a kgs:Case }"', "the query is not an ASK"),
     ('"ASK { ?c a kgs:Case }"', "never uses ?case"),
     ('"ASK { ?case a kgs:Case "', "SPARQL syntax error"),
     ('"ASK { SERVICE <http://x/sparql> { ?case ?p ?o } }"', "SERVICE clauses are refused"),
     ('"rules/missing.ask.rq"', "ask = 'rules/missing.ask.rq': no such file")],
)  # fmt: skip
def test_a_bad_ask_query_is_one_clear_line(launches: Path, ask: str, expected: str) -> None:
    configure(launches, f'[outcomes.asked]\nkind = "ask"\nask = {ask}\n')
    with open_workspace(launches) as ws, pytest.raises(ConfigError) as caught:
        train(ws, "asked")
    assert str(caught.value).startswith("[outcomes.asked] ")
    assert expected in str(caught.value)
    assert "\n" not in str(caught.value)


# -- the CLI --------------------------------------------------------------------------------


def run(cli: CliRunner, *args: str) -> object:
    return cli.invoke(app, list(args), catch_exceptions=False, env={"COLUMNS": "200"})


def test_cli_train_predict_and_models(launches: Path, cli: CliRunner) -> None:
    trained = run(cli, "train")
    assert trained.exit_code == 0, trained.stderr
    assert "rework" in trained.stdout
    assert "v1" in trained.stdout
    predicted = run(cli, "predict", "rework")
    assert predicted.exit_code == 0, predicted.stderr
    assert re.search(rf"rework\s*│\s*v1\s*│\s*{RUNNING}\b", predicted.stdout)
    assert "kgsentinel anomalies --kind risk" in predicted.stderr
    models = run(cli, "models")
    assert models.exit_code == 0
    assert "reach 'Rework'" in models.stdout
    assert "AUC" in models.stdout
    listed = run(cli, "anomalies", "--kind", "risk", "--format", "json")
    assert {row["case_id"] for row in json.loads(listed.stdout)} == bobs_running(launches)
    with open_workspace(launches) as ws:
        assert [row["version"] for row in list_models(ws)] == ["v1"]


def test_cli_errors_are_one_line_and_exit_1(workspace: Path, cli: CliRunner) -> None:
    result = run(cli, "train")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: no outcomes in kgsentinel.toml")
    assert result.stderr.count("\n") == 1
    configure(workspace, REWORK)
    result = run(cli, "predict", "rework")
    assert result.exit_code == 1
    assert "run `kgsentinel train rework` first" in result.stderr


def test_cli_models_lists_configured_outcomes_not_trained_yet(
    launches: Path, cli: CliRunner
) -> None:
    result = run(cli, "models")
    assert result.exit_code == 0
    assert "rework" in result.stdout
    assert "not trained" in result.stdout


# -- docs/predictions.md --------------------------------------------------------------------


def doc_blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOCS.read_text(), re.DOTALL)


def test_the_docs_configuration_is_valid() -> None:
    [example] = [block for block in doc_blocks("toml") if "[outcomes." in block]
    config = Config.model_validate(tomllib.loads(example))
    assert config.outcomes


@pytest.fixture(scope="module")
def documented(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace configured as the docs say, trained and predicted."""
    from kgsentinel.workspace import init_workspace

    root = init_workspace(tmp_path_factory.mktemp("docs") / "npi")
    [example] = [block for block in doc_blocks("toml") if "[outcomes." in block]
    (root / "kgsentinel.toml").write_text(example)
    for name, text in re.findall(r"<!-- (rules/\S+) -->\n```sparql\n(.*?)```", DOCS.read_text(),
                                 re.DOTALL):  # fmt: skip
        (root / name).write_text(text)
    ingest(root, launch_rows())
    with open_workspace(root) as ws:
        for name in chosen_outcomes(ws):
            train(ws, name)
            predict(ws, name)
    return root


@pytest.mark.parametrize(
    "query",
    [q for q in doc_blocks("sparql") if q.lstrip().startswith("PREFIX") and "SELECT" in q],
    ids=lambda q: re.sub(r"\s+", " ", q.split("SELECT", 1)[1])[:40],
)
def test_every_docs_query_answers(documented: Path, query: str) -> None:
    with open_workspace(documented) as ws:
        assert ws.store.query(query).rows(), "the query found nothing"


def test_the_docs_notebook_code_runs(documented: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    [code] = doc_blocks("python")
    monkeypatch.chdir(documented.parent)
    names: dict[str, object] = {}
    exec(code, names)
    assert names["report"].version == "v2"
    assert set(names["risks"]["detector"]) <= {"rework", "late-launch", "reformulated"}


def product_rows(finished: int = 300, running: int = 20) -> list[str]:
    """Launches of 30 products, ten each: those of the first 15 products are reworked."""
    draw = random.Random(5)
    start, rows = pd.Timestamp("2026-01-01"), []
    for number in range(finished + running):
        product = draw.randrange(30)
        steps = ["Brief", "Formulation"]
        if number < finished:
            steps += [*(["Rework", "Formulation"] if product < 15 else []), "Launch"]
        else:
            steps = steps[: 1 + number % 2]
        day = start + pd.Timedelta(hours=12 * number)
        for index, activity in enumerate(steps):
            at = day + pd.Timedelta(days=2 * index)
            rows.append(f"L{number:03d},{activity},{at:%Y-%m-%dT%H:%M:%SZ},lab,P{product:02d}")
    return rows


def test_a_product_code_of_many_values_is_evidence_as_text(workspace: Path) -> None:
    """30 products are more than a column each keeps: the evidence names the product."""
    configure(workspace, REWORK + 'end_activities = ["Launch"]\n')
    path = workspace / "data" / "launches.csv"
    path.write_text("launch,step,at,who,product\n" + "\n".join(product_rows()) + "\n")
    mapping = event_table_mapping("launches", case="launch", activity="step", timestamp="at",
                                  resource="who", event_id="{launch}-{step}-{at}")  # fmt: skip
    settings = mapping.model_dump(exclude_none=True)
    settings["events"]["attributes"] = {"<urn:example:product>": "product"}
    with open_workspace(workspace) as ws:
        ingest_path(ws, path, mapping=Mapping.model_validate(settings), graph="launches")
        train(ws, "rework")
        predict(ws, "rework")
    rows = select(
        workspace,
        """SELECT ?id ?probability ?value WHERE {
      ?p a kgs:Prediction ; kgs:subject/kgs:caseId ?id ; kgs:probability ?probability .
      OPTIONAL { ?p kgs:evidence [ kgs:feature "case:product" ; kgs:featureValue ?value ] } }""",
    )
    products = {row.split(",")[0]: row.split(",")[4] for row in product_rows()}
    assert len(rows) == 20  # the running launches
    explained = [row for row in rows if row.get("value") is not None]
    assert len(explained) >= 10
    assert all(row["value"] == products[row["id"]] for row in explained)
    reworked = [row["probability"] for row in rows if int(products[row["id"]][1:]) < 15]
    others = [row["probability"] for row in rows if int(products[row["id"]][1:]) >= 15]
    assert min(reworked) > 0.5 > max(others)
