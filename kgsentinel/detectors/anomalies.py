"""Anomalies in the graph: each finding a resource of the anomalies graph, and back.

A finding becomes a ``kgs:Anomaly`` named by its fingerprint, so the same
finding found again is the same resource and is written once. It records the
detector, kind, subjects (the case, and the event when there is one), score,
severity, labels, explanation, evidence, when it was first detected and the
detector run that found it (``prov:wasGeneratedBy``). A finding that its
detector no longer finds gets ``prov:invalidatedAtTime``.

Example:
    >>> from kgsentinel.detectors.base import Finding
    >>> finding = Finding(kind="slow", subject="urn:x:event/9", score=0.8,
    ...                   explanation="Formulation took 24 days; usually 10", case_id="7")
    >>> anomaly_iri("durations", finding)[:25]
    'urn:kgsentinel:anomaly:8d'
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox

from kgsentinel.detectors.base import SEVERITIES, Finding, kind_iri
from kgsentinel.graph.ontology import KGS
from kgsentinel.graph.terms import graph_iri, to_term

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from kgsentinel.graph.store import GraphStore

__all__ = [
    "ANOMALIES_GRAPH",
    "ANOMALY_COLUMNS",
    "anomaly_iri",
    "anomaly_quads",
    "detector_iri",
    "invalidation_quads",
    "known_anomalies",
    "list_anomalies",
]

ANOMALIES_GRAPH = graph_iri("anomalies")
PROV = "http://www.w3.org/ns/prov#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
#: the columns of ``kgsentinel anomalies --format csv``, in order
ANOMALY_COLUMNS = (
    "detector", "kind", "case_id", "event_id", "activity", "subject", "score", "severity",
    "detected_at", "explanation",
)  # fmt: skip


def detector_iri(name: str) -> str:
    """The IRI of a configured detector."""
    return f"urn:kgsentinel:detector:{name}"


def anomaly_iri(detector: str, finding: Finding) -> str:
    """The anomaly's IRI: the same finding always has the same one."""
    return f"urn:kgsentinel:anomaly:{finding.fingerprint(detector)[:40]}"


def anomaly_quads(
    detector: str,
    finding: Finding,
    *,
    run: str,
    detected_at: dt.datetime,
    subjects: Sequence[str] = (),
) -> list[ox.Quad]:
    """The quads of one new anomaly (``subjects``: more IRIs it is about, e.g. its case)."""
    graph = ox.NamedNode(ANOMALIES_GRAPH)
    anomaly = ox.NamedNode(anomaly_iri(detector, finding))
    severity = finding.severity or "warning"

    def quad(subject: ox.NamedNode, predicate: str, value: Any) -> ox.Quad:
        return ox.Quad(subject, ox.NamedNode(predicate), _term(value), graph)

    quads = [
        quad(anomaly, RDF_TYPE, ox.NamedNode(KGS + "Anomaly")),
        quad(anomaly, KGS + "detector", ox.NamedNode(detector_iri(detector))),
        quad(anomaly, KGS + "kind", ox.NamedNode(kind_iri(finding.kind))),
        quad(anomaly, KGS + "score", float(finding.score)),
        quad(anomaly, KGS + "severity", ox.NamedNode(KGS + SEVERITIES[severity])),
        quad(anomaly, KGS + "explanation", finding.explanation),
        quad(anomaly, KGS + "fingerprint", finding.fingerprint(detector)),
        quad(anomaly, KGS + "detectedAt", detected_at),
        quad(anomaly, PROV + "wasGeneratedBy", ox.NamedNode(run)),
    ]
    for subject in dict.fromkeys([finding.subject, *subjects]):
        quads.append(quad(anomaly, KGS + "subject", ox.NamedNode(subject)))
    if finding.activity:
        quads.append(quad(anomaly, KGS + "activityLabel", finding.activity))
    for key, value in sorted(finding.labels.items()):
        quads.append(quad(anomaly, KGS + "hasLabel", f"{key}={value}"))
    for number, evidence in enumerate(finding.evidence, start=1):
        node = ox.NamedNode(f"{anomaly.value}/evidence/{number}")
        quads += [quad(anomaly, KGS + "evidence", node),
                  quad(node, RDF_TYPE, ox.NamedNode(KGS + "Evidence"))]  # fmt: skip
        fields = {
            RDFS + "label": evidence.label, KGS + "expected": evidence.expected,
            KGS + "observed": evidence.observed, KGS + "rule": evidence.rule,
            KGS + "feature": evidence.feature, KGS + "featureValue": evidence.value,
            KGS + "contribution": evidence.contribution,
        }  # fmt: skip
        quads += [quad(node, p, v) for p, v in fields.items() if v is not None]
    return quads


def invalidation_quads(anomalies: Iterable[str], *, at: dt.datetime) -> list[ox.Quad]:
    """Mark anomalies that their detector no longer finds."""
    graph = ox.NamedNode(ANOMALIES_GRAPH)
    return [
        ox.Quad(ox.NamedNode(iri), ox.NamedNode(PROV + "invalidatedAtTime"), _term(at), graph)
        for iri in anomalies
    ]


_PREFIXES = f"PREFIX kgs: <{KGS}>\nPREFIX prov: <{PROV}>\nPREFIX rdfs: <{RDFS}>\n"


def known_anomalies(store: GraphStore, detector: str) -> pd.DataFrame:
    """The detector's anomalies still standing: IRI, fingerprint and subjects (one row each)."""
    return store.query_frame(
        _PREFIXES
        + """SELECT ?anomaly ?fingerprint ?subject WHERE {
  ?anomaly kgs:detector ?detector ; kgs:fingerprint ?fingerprint ; kgs:subject ?subject .
  FILTER NOT EXISTS { ?anomaly prov:invalidatedAtTime ?gone }
}""",
        params={"detector": ox.NamedNode(detector_iri(detector))},
    )


_CORE = (
    _PREFIXES
    + """SELECT ?anomaly ?detector ?kind ?score ?severity ?detected_at ?explanation ?activity
WHERE {
  ?anomaly a kgs:Anomaly ; kgs:detector ?detector_iri ; kgs:kind ?kind_iri ;
           kgs:score ?score ; kgs:severity ?severity_iri ; kgs:detectedAt ?detected_at ;
           kgs:explanation ?explanation .
  FILTER NOT EXISTS { ?anomaly prov:invalidatedAtTime ?gone }
  %s
  OPTIONAL { ?anomaly kgs:activityLabel ?activity }
  BIND(STRAFTER(STR(?detector_iri), "urn:kgsentinel:detector:") AS ?detector)
  BIND(STRAFTER(STR(?kind_iri), STR(kgs:)) AS ?kind)
  BIND(LCASE(STRAFTER(STR(?severity_iri), STR(kgs:))) AS ?severity)
}"""
)
_SUBJECTS = (
    _PREFIXES
    + """SELECT ?anomaly ?subject ?case_id ?event_id ?event_activity WHERE {
  ?anomaly a kgs:Anomaly ; kgs:subject ?subject .
  OPTIONAL { ?subject kgs:caseId ?case_id }
  OPTIONAL { ?subject kgs:eventId ?event_id }
  OPTIONAL { ?subject kgs:activity/rdfs:label ?event_activity }
}"""
)


def list_anomalies(
    store: GraphStore,
    *,
    detector: str | None = None,
    kind: str | None = None,
    since: dt.datetime | None = None,
    min_score: float | None = None,
) -> pd.DataFrame:
    """Standing anomalies, newest and highest-scored first, with :data:`ANOMALY_COLUMNS`.

    ``subject`` is the event an anomaly is about when there is one, else its
    case (or whatever a rule reported). Every filter is bound as a value, never
    pasted into the query.
    """
    from kgsentinel.detectors.base import KINDS

    filters, params = [], {}
    if detector is not None:
        filters.append("FILTER(?detector = ?want_detector)")
        params["want_detector"] = ox.Literal(detector)
    if kind is not None:
        filters.append("FILTER(?kind_iri = ?want_kind)")
        params["want_kind"] = ox.NamedNode(kind_iri(kind))
    if since is not None:
        filters.append("FILTER(?detected_at >= ?want_since)")
        params["want_since"] = _term(since)
    if min_score is not None:
        filters.append("FILTER(?score >= ?want_score)")
        params["want_score"] = _term(float(min_score))
    core = store.query_frame(_CORE % "\n  ".join(filters), params=params)
    subjects = _subjects(store.query_frame(_SUBJECTS))
    frame = core.merge(subjects, on="anomaly", how="left")
    frame["activity"] = frame["activity"].fillna(frame["event_activity"])
    short = {name: kind for kind, name in KINDS.items()}
    frame["kind"] = frame["kind"].map(short).fillna(frame["kind"])
    frame["score"] = frame["score"].astype(float)
    frame = frame.sort_values(["detected_at", "score"], ascending=[False, False], kind="stable")
    return frame[list(ANOMALY_COLUMNS)].reset_index(drop=True)


def _subjects(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per anomaly: its case id, its event (id, activity) and its main subject."""
    rows = rows.drop_duplicates(["anomaly", "subject"])
    cases = rows.dropna(subset=["case_id"]).drop_duplicates("anomaly")
    events = rows.dropna(subset=["event_id"]).drop_duplicates("anomaly")
    others = rows[rows["case_id"].isna()].drop_duplicates("anomaly")
    main = others.set_index("anomaly")["subject"].combine_first(
        cases.set_index("anomaly")["subject"]
    )
    return (
        main.rename("subject").to_frame()
        .join(cases.set_index("anomaly")["case_id"])
        .join(events.set_index("anomaly")[["event_id", "event_activity"]])
        .reset_index()
    )  # fmt: skip


def _term(value: Any) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    """A value as a term; times without a zone are UTC, kgsentinel's own times."""
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return to_term(value)
