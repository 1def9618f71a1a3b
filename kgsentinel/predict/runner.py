"""Outcome prediction in a workspace: train on finished cases, predict the running ones.

Each ``[outcomes.NAME]`` of ``kgsentinel.toml`` declares an outcome of a case
(it reaches an activity, never reaches it, takes longer than an SLA, or a
SPARQL ``ASK`` is true for it). :func:`train` reads the event log from the
graph, keeps the finished cases (their last activity ends a case), labels them,
trains an :class:`~kgsentinel.predict.model.OutcomeModel` (and one of the
remaining time, when asked) and saves a new version (see :mod:`.registry`);
the run and the models go into the provenance graph. Every case of the graph,
running ones too, counts in the workload features (cases started in the days
before a prefix's last event), in training and in prediction alike.

:func:`predict` scores every running case with the latest version, writes
the predictions into ``urn:kgsentinel:graph:predictions`` in place of the
outcome's previous ones (see :mod:`.predictions`), and turns each case whose
probability is above the outcome's threshold into an anomaly of kind ``risk``
(``prov:wasDerivedFrom`` its prediction), written like every detector's
findings: once, by fingerprint, and invalidated when the case is no longer at
risk or no longer running. Each prediction run is a ``kgs:DetectorRun`` of the
outcome, ``prov:used`` its models.

Example:
    >>> import tempfile, pathlib
    >>> from kgsentinel.workspace import init_workspace, open_workspace
    >>> root = init_workspace(pathlib.Path(tempfile.mkdtemp()) / "w")
    >>> _ = (root / "kgsentinel.toml").write_text(
    ...     '[outcomes.late]\\nkind = "slower-than"\\nhours = 720\\n')
    >>> with open_workspace(root) as ws:
    ...     chosen_outcomes(ws)
    ['late']
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox

from kgsentinel.config import OutcomeConfig
from kgsentinel.detectors.anomalies import ANOMALIES_GRAPH, PROV, RDF_TYPE, RDFS, detector_iri
from kgsentinel.errors import ConfigError, KgsentinelError, PredictionError
from kgsentinel.graph import terms
from kgsentinel.graph.ontology import KGS
from kgsentinel.graph.terms import graph_iri
from kgsentinel.predict import registry
from kgsentinel.predict.predictions import (
    PREDICTIONS_GRAPH,
    describe_outcome,
    explanation,
    plain_value,
    prediction_iri,
    prediction_quads,
    replace_predictions,
    settle,
)
from kgsentinel.predict.registry import OUTCOME, REMAINING_TIME, ModelVersion

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from kgsentinel.detectors.base import Finding
    from kgsentinel.graph.store import GraphStore
    from kgsentinel.workspace import Workspace

__all__ = [
    "PredictReport",
    "TrainReport",
    "ask_labels",
    "chosen_outcomes",
    "predict",
    "running_cases",
    "train",
]

PROVENANCE_GRAPH = graph_iri("provenance")
_CONFIG_EXAMPLE = '[outcomes.late-launch] kind = "slower-than", hours = 1440'
#: the settings a model depends on: changing one means training again
_TRAINED_ON = ("kind", "activity", "hours", "ask", "end_activities", "remaining_time",
               "max_prefix_length")  # fmt: skip


@dataclasses.dataclass(frozen=True)
class TrainReport:
    """What one training run did."""

    outcome: str
    version: str
    run: str
    started: dt.datetime
    ended: dt.datetime
    #: finished cases learned from
    cases: int
    #: of those, the cases in which the outcome happened
    positives: int
    #: the test metrics of each model trained, by target (``outcome``, ``remaining-time``)
    metrics: dict[str, dict[str, Any]]


@dataclasses.dataclass(frozen=True)
class PredictReport:
    """What one prediction run did."""

    outcome: str
    version: str
    run: str
    started: dt.datetime
    ended: dt.datetime
    #: running cases predicted
    cases: int
    #: of those, cases above the threshold (standing risk anomalies)
    at_risk: int
    #: risk anomalies not known before
    new: int
    #: risk anomalies of cases no longer at risk (or no longer running)
    resolved: int


# -- which outcomes ------------------------------------------------------------------------


def chosen_outcomes(workspace: Workspace, names: Sequence[str] = ()) -> list[str]:
    """The named outcomes (each checked), or every enabled one; an error when none is declared."""
    outcomes = workspace.config.outcomes
    if not outcomes:
        raise ConfigError(
            f"no outcomes in kgsentinel.toml; declare one to predict, e.g. {_CONFIG_EXAMPLE}"
        )
    for name in names:
        _outcome(workspace, name)
    return list(names) or [name for name, config in outcomes.items() if config.enabled]


def _outcome(workspace: Workspace, name: str) -> OutcomeConfig:
    outcomes = workspace.config.outcomes
    if name not in outcomes:
        known = ", ".join(outcomes) or "none"
        raise ConfigError(
            f"no outcome named {name!r} (outcomes: {known}); add [outcomes.{name}] to "
            f"kgsentinel.toml, e.g. {_CONFIG_EXAMPLE.replace('late-launch', name)}"
        )
    if name in _detector_names(workspace):
        raise ConfigError(
            f"[outcomes.{name}]: {name!r} is also the name of a detector (their anomalies "
            "would mix); rename the outcome"
        )
    return outcomes[name]


def _detector_names(workspace: Workspace) -> set[str]:
    """The names the workspace's detectors run under (those configured, else the default suite)."""
    from kgsentinel.detectors.runner import configured_detectors
    from kgsentinel.detectors.suite import DEFAULT_SUITE

    try:
        return set(configured_detectors(workspace))
    except KgsentinelError:  # a broken rule file is for `kgsentinel detect` to report
        return set(workspace.config.detectors or DEFAULT_SUITE)


def train(workspace: Workspace, name: str) -> TrainReport:
    """Train outcome ``name`` on the finished cases of the graph and save a new version."""
    from kgsentinel.detectors.events import read_event_log
    from kgsentinel.detectors.history import is_in
    from kgsentinel.predict.model import OutcomeModel
    from kgsentinel.predict.outcomes import finished_cases

    config = _outcome(workspace, name)
    started = _now()
    log = read_event_log(workspace.store)
    if log.empty:
        raise PredictionError(
            "no events with a case in the graph to learn from; ingest an event log first "
            "(kgsentinel ingest FILE)"
        )
    with _about(name):
        finished = finished_cases(log, config.end_activities)
        done = log[is_in(log["case"], set(finished))]
        labels = _labels(workspace, config, done, finished)
        settings = _settings(workspace, config)
        options = {"test_share": config.test_share, "max_prefix_length": config.max_prefix_length,
                   "seed": 0, "context": log}  # fmt: skip
        models = {OUTCOME: OutcomeModel.train(done, labels, target="outcome", **options)}
        if config.remaining_time:
            models[REMAINING_TIME] = OutcomeModel.train(done, None, target="remaining-time",
                                                        **options)  # fmt: skip
    run = _run_iri()
    info = {
        "settings": settings,
        "end_activities": sorted(done.groupby("case", sort=False)["activity"].last().unique()),
        "cases": len(finished),
        "positives": int(labels.sum()),
        "trained_at": _now().isoformat(),
        "run": run,
    }
    version = registry.save_version(workspace, name, models, info)
    ended = _now()
    detector = detector_iri(name)
    workspace.store.add([
        *_detector_quads(name),
        *_run_quads(run, "TrainingRun", detector, started, ended),
        *registry.model_quads(version, run=run, detector=detector),
    ])  # fmt: skip
    metrics = {target: dict(model.metrics) for target, model in models.items()}
    return TrainReport(name, version.version, run, started, ended, len(finished),
                       info["positives"], metrics)  # fmt: skip


@contextlib.contextmanager
def _about(name: str) -> Iterator[None]:
    """Prefix the errors raised inside (prediction, ask query) with the outcome they are about."""
    try:
        yield
    except (PredictionError, ConfigError) as error:
        if str(error).startswith("[outcomes."):
            raise
        raise type(error)(f"[outcomes.{name}] {error}") from error


def _labels(
    workspace: Workspace, config: OutcomeConfig, log: pd.DataFrame, finished: list[str]
) -> pd.Series:
    """1 where the outcome happened to a finished case, else 0, by case IRI."""
    from kgsentinel.predict.outcomes import outcome_labels

    if config.kind == "ask":
        query = _ask_query(workspace, config)
        return ask_labels(workspace.store, query, finished)
    return outcome_labels(log, config.kind, activity=config.activity, hours=config.hours,
                          cases=finished)  # fmt: skip


def _settings(workspace: Workspace, config: OutcomeConfig) -> dict[str, Any]:
    """What a model depends on, as JSON values: for an ASK outcome its query's text."""
    settings = {key: getattr(config, key) for key in _TRAINED_ON}
    if config.kind == "ask":
        settings["ask"] = _ask_query(workspace, config)
    return json.loads(json.dumps(settings))


# -- ASK outcomes ---------------------------------------------------------------------------

_CASE_VARIABLE = re.compile(r"[?$]case\b")
#: cases bound at once when asking an outcome's ASK about many cases
ASK_BATCH = 500


def _ask_query(workspace: Workspace, config: OutcomeConfig) -> str:
    """The outcome's ASK query: inline, or read from its file (relative to the workspace)."""
    text = str(config.ask)
    if "{" in text:
        return text
    path = Path(text)
    if not path.is_absolute():
        path = (workspace.root or Path.cwd()) / path
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"ask = {text!r}: no such file; write the ASK query there (or inline)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"ask = {text!r}: cannot read it ({exc}); save it as UTF-8") from None


def ask_labels(store: GraphStore, query: str, cases: Sequence[str]) -> pd.Series:
    """1 where ``query`` (a SPARQL ASK using ``?case``) is true with ``?case`` bound to a case.

    The ASK is asked as ``SELECT DISTINCT ?case`` with the cases bound by a
    ``VALUES`` block written by pyoxigraph (never pasted into the query),
    :data:`ASK_BATCH` at a time: per case, the same answer as the ASK with
    ``?case`` bound. The prefixes of :data:`kgsentinel.graph.ontology.PREFIXES`
    need no declaration.

    Example:
        >>> from kgsentinel.graph import open_store
        >>> store = open_store(":memory:")
        >>> _ = store.load(b"<urn:x:c1> <urn:x:flag> true .", format="turtle", graph="g")
        >>> ask_labels(store, "ASK { ?case <urn:x:flag> true }", ["urn:x:c1", "urn:x:c2"]).tolist()
        [1, 0]
    """
    import pandas as pd

    from kgsentinel.detectors.events import iri_values
    from kgsentinel.graph.binding import _where_brace
    from kgsentinel.graph.ontology import prefix_header

    select = _as_select(prefix_header() + _checked_ask(query))
    brace = _where_brace(select) + 1
    cases = list(cases)
    happened: set[str] = set()
    for start in range(0, len(cases), ASK_BATCH):
        bound = select[:brace] + " " + iri_values("case", cases[start : start + ASK_BATCH])
        happened.update(store.query_frame(bound + select[brace:])["case"].dropna())
    index = pd.Index(cases, dtype=object, name="case")
    return pd.Series(index.isin(list(happened)).astype(int), index=index, name="label")


def _as_select(query: str) -> str:
    """The ASK (checked) as a ``SELECT DISTINCT ?case`` of the cases it is true for."""
    from kgsentinel.graph.binding import _tokens

    start = next(position for position, token in _tokens(query) if token == "ASK")
    return query[:start] + "SELECT DISTINCT ?case" + query[start + len("ASK") :]


def _checked_ask(query: str) -> str:
    from kgsentinel.graph.ontology import prefix_header
    from kgsentinel.graph.results import query_shape
    from kgsentinel.rules import service_line

    line = service_line(query)
    if line:
        raise ConfigError(f"ask, line {line}: SERVICE clauses are refused; query the store's "
                          "own graphs")  # fmt: skip
    if not _CASE_VARIABLE.search(query):
        raise ConfigError("ask: the query never uses ?case (each case is bound to ?case); "
                          "write it about ?case")  # fmt: skip
    try:
        kind, _ = query_shape(prefix_header() + query)
    except SyntaxError as exc:
        detail = str(exc).splitlines()[0] if str(exc) else "invalid query"
        raise ConfigError(f"ask: SPARQL syntax error: {detail}") from None
    if kind != "ask":
        raise ConfigError("ask: the query is not an ASK; write ASK { ... ?case ... }")
    return query


# -- predicting -----------------------------------------------------------------------------


def running_cases(log: pd.DataFrame, end_activities: Sequence[str]) -> pd.DataFrame:
    """The events of the cases of ``log`` whose last activity is not an end activity."""
    from kgsentinel.detectors.history import is_in

    last = log.groupby("case", sort=False)["activity"].last()
    running = set(last.index[~last.isin(list(end_activities))])
    return log[is_in(log["case"], running)].reset_index(drop=True)


def predict(workspace: Workspace, name: str) -> PredictReport:
    """Predict outcome ``name`` for every running case with its latest model; write the results."""
    from kgsentinel.detectors.events import read_event_log

    config = _outcome(workspace, name)
    version = registry.latest_version(workspace, name)
    with _about(name):
        _check_current(name, _settings(workspace, config), version)
        started = _now()
        models = version.load()
        whole = read_event_log(workspace.store)
        log = running_cases(whole, version.info["end_activities"])
        scored = {target: model.predict(log, context=whole) for target, model in models.items()}
    scored[OUTCOME] = settle(config, log, scored[OUTCOME])
    where = log.groupby("case", sort=False).agg(case_id=("case_id", "first"),
                                                activity=("activity", "last"))  # fmt: skip
    case_ids = where["case_id"].to_dict()
    findings = _risks(config, scored[OUTCOME], where)
    report = _record_risks(workspace, name, config, findings, started, log["case"].nunique())
    quads = prediction_quads(name, config, version, scored, case_ids, report.run, started)
    quads += _derivations(name, findings)
    quads += [terms.quad(ox.NamedNode(report.run), PROV + "used",
                         ox.NamedNode(version.iri(target)), ox.NamedNode(PROVENANCE_GRAPH))
              for target in models]  # fmt: skip
    quads.append(terms.quad(ox.NamedNode(PREDICTIONS_GRAPH), PROV + "wasGeneratedBy",
                            ox.NamedNode(report.run), ox.NamedNode(PROVENANCE_GRAPH)))  # fmt: skip
    replace_predictions(workspace.store, name, quads)
    return PredictReport(name, version.version, report.run, started, report.ended, report.cases,
                         report.found, report.new, report.resolved)  # fmt: skip


def _check_current(name: str, settings: Mapping[str, Any], version: ModelVersion) -> None:
    trained = version.info.get("settings", {})
    changed = [key for key in _TRAINED_ON if trained.get(key) != settings.get(key)]
    if changed:
        what = "the ask query" if changed[0] == "ask" else changed[0]
        raise PredictionError(
            f"[outcomes.{name}] {what} changed since model {version.version} was "
            f"trained; run `kgsentinel train {name}` again"
        )


def _risks(config: OutcomeConfig, scored: pd.DataFrame, where: pd.DataFrame) -> list[Finding]:
    """A finding of kind ``risk`` for each case whose probability is above the threshold.

    ``where`` holds each case's id and last activity (where the case stands).
    """
    from kgsentinel.detectors.base import Evidence, Finding

    findings = []
    for row in scored.itertuples(index=False):
        probability = float(row.value)
        if not probability > config.threshold:
            continue
        case_id, activity = where.loc[row.case, ["case_id", "activity"]]
        text = explanation(config, case_id, probability, row.settled)
        evidence = [Evidence(label=f"probability to {describe_outcome(config)}",
                             expected=config.threshold, observed=probability)]  # fmt: skip
        if row.settled:
            evidence.append(Evidence(label=f"the case {row.settled}"))
        else:
            evidence += [Evidence(feature=str(feature), value=plain_value(value),
                                  contribution=float(contribution))
                         for feature, value, contribution in row.features]  # fmt: skip
            text += f" (threshold {config.threshold:.0%})" + _top(row.features)
        findings.append(Finding(kind="risk", subject=str(row.case), score=min(probability, 1.0),
                                explanation=text, case_id=str(case_id),
                                activity=str(activity), evidence=evidence))  # fmt: skip
    return findings


def _top(features: Sequence[Any]) -> str:
    if not features:
        return ""
    feature, value, _ = features[0]
    shown = plain_value(value)
    return f"; mostly {feature}" + ("" if shown is None else f" = {_short(shown)}")


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _record_risks(
    workspace: Workspace,
    name: str,
    config: OutcomeConfig,
    findings: list[Finding],
    started: dt.datetime,
    cases: int,
) -> Any:
    """Write new risks, invalidate those no longer found, record the run (as detectors do)."""
    from kgsentinel.detectors.runner import DetectorSpec, _record

    spec = DetectorSpec(name, "outcome", config.severity, dict(config.labels))
    return _record(workspace, spec, findings, started, None, cases, False, {})


def _derivations(name: str, findings: list[Finding]) -> list[ox.Quad]:
    """Each risk anomaly ``prov:wasDerivedFrom`` the prediction that says so."""
    from kgsentinel.detectors.anomalies import anomaly_iri

    graph = ox.NamedNode(ANOMALIES_GRAPH)
    return [
        terms.quad(ox.NamedNode(anomaly_iri(name, f)),
                   PROV + "wasDerivedFrom",
                   ox.NamedNode(prediction_iri(name, OUTCOME, f.subject)), graph)
        for f in findings
    ]  # fmt: skip


# -- the graph: runs ------------------------------------------------------------------------


def _detector_quads(name: str) -> list[ox.Quad]:
    graph, detector = ox.NamedNode(PROVENANCE_GRAPH), ox.NamedNode(detector_iri(name))
    return [terms.quad(detector, RDF_TYPE, ox.NamedNode(KGS + "Detector"), graph),
            terms.quad(detector, RDFS + "label", name, graph)]  # fmt: skip


def _run_quads(
    run: str, kind: str, detector: str, started: dt.datetime, ended: dt.datetime
) -> list[ox.Quad]:
    graph, node = ox.NamedNode(PROVENANCE_GRAPH), ox.NamedNode(run)
    return [
        terms.quad(node, RDF_TYPE, ox.NamedNode(KGS + kind), graph),
        terms.quad(node, PROV + "wasAssociatedWith", ox.NamedNode(detector), graph),
        terms.quad(node, PROV + "startedAtTime", started, graph),
        terms.quad(node, PROV + "endedAtTime", ended, graph),
    ]


def _run_iri() -> str:
    import uuid

    return f"urn:kgsentinel:run:{uuid.uuid4().hex}"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)
