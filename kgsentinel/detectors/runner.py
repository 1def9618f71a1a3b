"""Detector runs: which detectors, over which cases, and what they found into the graph.

``detect(workspace)`` runs every enabled detector (those in ``[detectors.*]`` of
``kgsentinel.toml``, or the default suite when none is configured). Event-log
detectors share one event log read from the graph; graph detectors (SPARQL
rules, SHACL shapes) query the store themselves.

Runs are incremental: the event log is kept in ``.kgsentinel/detectors/``
with a signature per case (its events, last time and a digest), so a run
reads from the graph only the cases whose signature changed (see
:mod:`.history`). Each detector learns from the whole history and looks for
anomalies in the cases it has not seen as they are now (it remembers the
signatures it examined, so running one detector never makes another one skip a
case). Findings are written once (by fingerprint); a finding of an examined
case that is no longer found is marked invalidated. Each run of each detector
is a ``kgs:DetectorRun`` (PROV-O) in the provenance graph.

Example:
    >>> import tempfile, pathlib
    >>> from kgsentinel.workspace import init_workspace, open_workspace
    >>> with open_workspace(init_workspace(pathlib.Path(tempfile.mkdtemp()) / "w")) as ws:
    ...     specs = configured_detectors(ws)
    >>> specs["conformance"].kind, specs["builtin/duplicate-event-id"].kind
    ('conformance', 'sparql')
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox

from kgsentinel.config import DetectorConfig
from kgsentinel.detectors.anomalies import (
    ANOMALIES_GRAPH,
    PROV,
    RDF_TYPE,
    RDFS,
    anomaly_iri,
    anomaly_quads,
    detector_iri,
    invalidation_quads,
    known_anomalies,
)
from kgsentinel.detectors.history import EventHistory, is_in
from kgsentinel.detectors.suite import DEFAULT_SUITE, KIND_CLASSES, make_detector
from kgsentinel.errors import ConfigError
from kgsentinel.graph import terms
from kgsentinel.graph.ontology import KGS
from kgsentinel.graph.terms import graph_iri

if TYPE_CHECKING:  # pragma: no cover
    from kgsentinel.detectors.base import Finding
    from kgsentinel.workspace import Workspace

__all__ = [
    "DetectorReport",
    "DetectorSpec",
    "configured_detectors",
    "detect",
    "detector_status",
]

PROVENANCE_GRAPH = graph_iri("provenance")
GRAPH_KINDS = ("sparql", "shacl")
Progress = Callable[[str], None]


@dataclass(frozen=True)
class DetectorSpec:
    """A detector as configured: its name, kind, severity, labels and parameters."""

    name: str
    kind: str
    severity: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    enabled: bool = True

    @property
    def reads_graph(self) -> bool:
        """Whether it queries the graph itself (rules, shapes) instead of the event log."""
        return self.kind in GRAPH_KINDS

    def build(self) -> Any:
        """The detector object, parameters checked."""
        return make_detector(self.kind, self.params)


@dataclass(frozen=True)
class DetectorReport:
    """What one detector run did."""

    detector: str
    kind: str
    run: str
    started: dt.datetime
    ended: dt.datetime
    #: cases examined (all of them in a full run, the changed ones otherwise)
    cases: int
    #: findings in the examined cases
    found: int
    #: of those, not known before (written as new anomalies)
    new: int
    #: known anomalies of the examined cases no longer found
    resolved: int
    incremental: bool


def configured_detectors(workspace: Workspace) -> dict[str, DetectorSpec]:
    """The workspace's detectors.

    Those of ``[detectors.*]`` (or, with none, the default suite and the
    built-in rules that need no parameters and guess nothing), plus every rule in ``rules/`` that
    needs no parameters and no detector names, and the shapes in ``rules/``.
    """
    root = workspace.root or Path.cwd()
    configured = workspace.config.detectors
    if configured:
        specs = {name: _spec(name, config, root) for name, config in configured.items()}
    else:
        specs = {name: DetectorSpec(name, kind) for name, kind in DEFAULT_SUITE.items()}
        specs.update(_rule_specs(_builtin_rules(), specs))
    folder = root / "rules"
    if workspace.root is not None and folder.is_dir():
        from kgsentinel.rules import load_rules

        specs.update(_rule_specs(load_rules(folder), specs))
        has_shapes = any(folder.rglob("*.shacl.ttl"))
        if has_shapes and not any(spec.kind == "shacl" for spec in specs.values()):
            specs["shapes"] = DetectorSpec("shapes", "shacl", params={"shapes": str(folder)})
    return specs


def _builtin_rules() -> list[Any]:
    """The built-in rules that are sure on any log: no parameters, nothing guessed.

    Rules that must guess something from the data when it is not configured
    (which activities end a case) run when configured, not by default: on a real
    log the guess is often wrong (a patient's return after release is normal).
    """
    from kgsentinel.rules import BUILTIN_PREFIX, builtin_rules, load_rule

    rules = [load_rule(BUILTIN_PREFIX + name) for name in builtin_rules()]
    return [rule for rule in rules if not rule.learn]


def _rule_specs(rules: list[Any], taken: dict[str, DetectorSpec]) -> dict[str, DetectorSpec]:
    """A detector for each rule that needs no parameters and that no detector runs already."""
    used = {str(spec.params.get("rule")) for spec in taken.values() if spec.kind == "sparql"}
    return {
        rule.id: DetectorSpec(rule.id, "sparql", params={"rule": rule.source})
        for rule in rules
        if not rule.params and rule.source not in used and rule.id not in taken
    }


def _spec(name: str, config: DetectorConfig, root: Path) -> DetectorSpec:
    kind = config.kind or name
    if kind not in KIND_CLASSES:
        raise ConfigError(
            f"[detectors.{name}]: unknown kind {kind!r}; set kind to one of "
            f"{', '.join(KIND_CLASSES)}"
        )
    params = dict(config.params)
    if kind == "sparql":
        params["rule"] = _workspace_path(config.rule, root)
    if kind == "shacl":
        params["shapes"] = _workspace_path(config.shapes, root)
    return DetectorSpec(name, kind, config.severity, dict(config.labels), params, config.enabled)


def _workspace_path(value: str | None, root: Path) -> str:
    assert value is not None
    return value if value.startswith("builtin:") else str(root / value)


def detect(
    workspace: Workspace,
    names: Sequence[str] = (),
    *,
    full: bool = False,
    progress: Progress | None = None,
) -> list[DetectorReport]:
    """Run the named detectors (all enabled ones by default) and record what they find."""
    specs = configured_detectors(workspace)
    unknown = [name for name in names if name not in specs]
    if unknown:
        raise ConfigError(
            f"no detector named {unknown[0]!r} (detectors: {', '.join(specs)}); "
            "add it under [detectors] in kgsentinel.toml"
        )
    chosen = [specs[name] for name in names] or [s for s in specs.values() if s.enabled]
    detectors = [(spec, spec.build()) for spec in chosen]  # parameters checked up front
    reports = []
    history: EventHistory | None = None
    for spec, detector in detectors:
        if progress:
            progress(spec.name)
        if spec.reads_graph:
            reports.append(_run_graph_detector(workspace, spec, detector))
            continue
        if history is None:
            folder = workspace.state_dir / "detectors"
            history = EventHistory.read(workspace.store, folder, full=full)
        reports.append(_run_log_detector(workspace, spec, detector, history, full=full))
    return reports


# -- running one detector ------------------------------------------------------------------


def _run_log_detector(
    workspace: Workspace, spec: DetectorSpec, detector: Any, history: EventHistory, *, full: bool
) -> DetectorReport:
    """Look for anomalies in the cases the detector has not seen, with what it learned.

    It learns from the whole log in a full run, and again once the log has grown
    by :data:`~kgsentinel.detectors.history.REFIT_GROWTH` since; in between,
    incremental runs reuse what it learned last (saved without pickle, see :mod:`.state`).
    """
    started = _now()
    cases, incremental = history.to_examine(spec.name, full=full)
    examined = set(cases)
    findings: list[Finding] = []
    in_scope = history.events_of(examined) if incremental else history.log
    if len(in_scope):
        config = _fingerprint_config(spec)
        fitted = history.fitted(spec.name, config, history.events) if incremental else None
        if fitted is None:
            fitted = detector.fit(history.log)
            history.save_fitted(spec.name, fitted, config, history.events)
        findings = fitted.findings(in_scope)
    scope = examined | set(in_scope["event"]) if incremental else None
    named = in_scope[is_in(in_scope["event"], {f.subject for f in findings})]
    case_of = dict(zip(named["event"], named["case"], strict=True))
    report = _record(workspace, spec, findings, started, scope, len(examined), incremental, case_of)
    history.examined(spec.name)
    return report


def _fingerprint_config(spec: DetectorSpec) -> str:
    """What a saved detector must match: its kind, parameters and kgsentinel's version."""
    import json

    from kgsentinel import __version__

    return json.dumps([spec.kind, spec.params, __version__], sort_keys=True, default=str)


def _run_graph_detector(workspace: Workspace, spec: DetectorSpec, detector: Any) -> DetectorReport:
    started = _now()
    findings = detector.detect(workspace.store)
    cases = _cases_of(workspace, [f.subject for f in findings])
    return _record(workspace, spec, findings, started, None, len(findings), False, cases)


def _record(
    workspace: Workspace,
    spec: DetectorSpec,
    findings: list[Finding],
    started: dt.datetime,
    scope: set[str] | None,
    cases: int,
    incremental: bool,
    case_of: dict[str, str],
) -> DetectorReport:
    """Write new anomalies, invalidate the ones gone from the scope, record the run.

    ``case_of`` maps event IRIs to their case, so an anomaly about an event is
    also about its case.
    """
    run = f"urn:kgsentinel:run:{uuid.uuid4().hex}"
    known = known_anomalies(workspace.store, spec.name)
    standing = set(known["anomaly"])
    stamped = {anomaly_iri(spec.name, f): _stamp(f, spec) for f in findings}
    quads: list[ox.Quad] = []
    for iri, finding in stamped.items():
        if iri not in standing:
            extra = [case_of[finding.subject]] if finding.subject in case_of else []
            quads += anomaly_quads(spec.name, finding, run=run, detected_at=started,
                                   subjects=extra)  # fmt: skip
    in_scope = known if scope is None else known[is_in(known["subject"], scope)]
    gone = set(in_scope["anomaly"]) - set(stamped)
    ended = _now()
    quads += invalidation_quads(sorted(gone), at=ended)
    new = len(set(stamped) - standing)
    _clear_returning(workspace, sorted(set(stamped) - standing))
    _write_anomalies(workspace, quads)
    report = DetectorReport(spec.name, spec.kind, run, started, ended, cases, len(stamped), new,
                            len(gone), incremental)  # fmt: skip
    workspace.store.add(_run_quads(report))
    return report


def _stamp(finding: Finding, spec: DetectorSpec) -> Finding:
    """The finding with the severity and labels of the detector's configuration, if set."""
    import dataclasses

    severity = spec.severity or finding.severity or "warning"
    labels = {**finding.labels, **spec.labels}
    return dataclasses.replace(finding, severity=severity, labels=labels)


def _cases_of(workspace: Workspace, subjects: list[str]) -> dict[str, str]:
    """The case of each subject that is an event with a case."""
    from kgsentinel.detectors.events import iri_values

    events = sorted({s for s in subjects if s})
    if not events:
        return {}
    found = workspace.store.query_frame(
        f"PREFIX kgs: <{KGS}>\nSELECT ?event ?case WHERE {{\n{iri_values('event', events)}"
        "?event kgs:case ?case }"
    )
    return dict(zip(found["event"], found["case"], strict=True))


_RETURNING = f"""PREFIX kgs: <{KGS}>
DELETE {{ GRAPH <{ANOMALIES_GRAPH}> {{ ?s ?p ?o }} }}
WHERE {{
  %s
  GRAPH <{ANOMALIES_GRAPH}> {{
    {{ ?anomaly ?p ?o BIND(?anomaly AS ?s) }} UNION {{ ?anomaly kgs:evidence ?s . ?s ?p ?o }}
  }}
}}"""


def _clear_returning(workspace: Workspace, anomalies: list[str]) -> None:
    """Forget the old description of anomalies found again after they were invalidated.

    ``anomalies`` are not standing; those still in the graph were invalidated
    once, and are written afresh (a new detection time, no invalidation), so
    they stand again.
    """
    from kgsentinel.detectors.events import LOOKUP_BATCH, iri_values

    store = workspace.store
    for start in range(0, len(anomalies), LOOKUP_BATCH):
        batch = iri_values("anomaly", anomalies[start : start + LOOKUP_BATCH])
        found = store.query_frame(
            f"PREFIX kgs: <{KGS}>\nSELECT DISTINCT ?anomaly ?s WHERE {{ {batch}"
            f"GRAPH <{ANOMALIES_GRAPH}> {{ {{ ?anomaly ?p ?o BIND(?anomaly AS ?s) }} "
            "UNION { ?anomaly kgs:evidence ?s } } }"
        )
        if len(found):
            with store._saying_changes(set(found["s"])):  # no event changed
                store.update(_RETURNING % iri_values("anomaly", sorted(set(found["anomaly"]))))


def _write_anomalies(workspace: Workspace, quads: list[ox.Quad]) -> None:
    """Add ``quads`` (anomalies not yet in the graph) in one transaction.

    They are new by fingerprint, so they are added as they are: comparing them
    with the whole anomalies graph would cost more with every run. (Quads
    added name their subjects in the store's change journal, so the next run
    knows that no event changed.)
    """
    if quads:
        workspace.store.add(quads)


def _run_quads(report: DetectorReport) -> list[ox.Quad]:
    graph, run = ox.NamedNode(PROVENANCE_GRAPH), ox.NamedNode(report.run)
    detector = ox.NamedNode(detector_iri(report.detector))

    def quad(subject: ox.NamedNode, predicate: str, value: object) -> ox.Quad:
        return terms.quad(subject, predicate, value, graph)

    return [
        quad(detector, RDF_TYPE, ox.NamedNode(KGS + "Detector")),
        quad(detector, RDFS + "label", ox.Literal(report.detector)),
        quad(run, RDF_TYPE, ox.NamedNode(KGS + "DetectorRun")),
        quad(run, PROV + "wasAssociatedWith", detector),
        quad(run, PROV + "startedAtTime", report.started),
        quad(run, PROV + "endedAtTime", report.ended),
        quad(run, KGS + "casesExamined", report.cases),
        quad(run, KGS + "anomaliesFound", report.found),
        quad(run, KGS + "anomaliesNew", report.new),
        quad(run, KGS + "anomaliesResolved", report.resolved),
        quad(ox.NamedNode(ANOMALIES_GRAPH), PROV + "wasGeneratedBy", run),
    ]


def detector_status(workspace: Workspace) -> list[dict[str, Any]]:
    """Each detector with its kind, whether enabled, its last run and standing anomalies."""
    specs = configured_detectors(workspace)
    last = workspace.store.query_frame(
        f"PREFIX kgs: <{KGS}>\nPREFIX prov: <{PROV}>\nPREFIX rdfs: <{RDFS}>\n"
        """SELECT ?name ?ended ?found ?new WHERE {
  ?run a kgs:DetectorRun ; prov:wasAssociatedWith/rdfs:label ?name ; prov:endedAtTime ?ended ;
       kgs:anomaliesFound ?found ; kgs:anomaliesNew ?new .
  FILTER NOT EXISTS { ?later a kgs:DetectorRun ; prov:wasAssociatedWith/rdfs:label ?name ;
                      prov:endedAtTime ?end2 . FILTER(?end2 > ?ended) }
}"""
    )
    counts = workspace.store.query_frame(
        f"PREFIX kgs: <{KGS}>\nPREFIX prov: <{PROV}>\n"
        "SELECT ?detector (COUNT(?a) AS ?standing) WHERE { ?a a kgs:Anomaly ; kgs:detector ?d . "
        "FILTER NOT EXISTS { ?a prov:invalidatedAtTime ?gone } "
        'BIND(STRAFTER(STR(?d), "urn:kgsentinel:detector:") AS ?detector) } GROUP BY ?detector'
    )
    by_name = last.drop_duplicates("name").set_index("name").to_dict("index")
    standing = dict(zip(counts["detector"], counts["standing"].astype(int), strict=True))
    rows = []
    for name, spec in specs.items():
        run = by_name.get(name, {})
        rows.append({"detector": name, "kind": spec.kind, "enabled": spec.enabled,
                     "last_run": run.get("ended"), "found": run.get("found"),
                     "anomalies": standing.get(name, 0)})  # fmt: skip
    return rows


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)
