"""Anomalies a page at a time, and one anomaly with its evidence, for the HTTP API.

Anomalies are named by their id, the 40 hex digits that end their IRI
(``urn:kgsentinel:anomaly:<id>``). A page is in a stable order, newest first
and then by id, and the next page starts after the last anomaly of this one
(keyset paging: an anomaly found meanwhile never shifts a page, so a reader
paging through sees each anomaly once). An anomaly's case is the case it is
about, or the case of the event it is about. Every filter is bound as a value.

Example:
    >>> from kgsentinel.graph import open_store
    >>> page = anomaly_page(open_store(":memory:"), limit=10)
    >>> page.rows, page.after
    ([], None)
    >>> anomaly_id("urn:kgsentinel:anomaly:" + "ab" * 20) == "ab" * 20
    True
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox

from kgsentinel.detectors.anomalies import PROV, RDFS
from kgsentinel.graph.ontology import KGS
from kgsentinel.graph.terms import python_value, to_term

if TYPE_CHECKING:  # pragma: no cover
    from kgsentinel.graph.store import GraphStore

__all__ = ["ANOMALY_ID", "AnomalyPage", "anomaly_detail", "anomaly_id", "anomaly_page"]

ANOMALY_PREFIX = "urn:kgsentinel:anomaly:"
#: what an anomaly id looks like
ANOMALY_ID = r"^[0-9a-f]{40}$"
_PREFIXES = f"PREFIX kgs: <{KGS}>\nPREFIX prov: <{PROV}>\nPREFIX rdfs: <{RDFS}>\n"
_PAGE = (
    _PREFIXES
    + """SELECT ?anomaly ?detected_at WHERE {
  ?anomaly a kgs:Anomaly ; kgs:detector ?detector_iri ; kgs:kind ?kind_iri ;
           kgs:score ?score ; kgs:detectedAt ?detected_at .
  FILTER NOT EXISTS { ?anomaly prov:invalidatedAtTime ?gone }
  %s
} ORDER BY DESC(?detected_at) ?anomaly LIMIT %d"""
)
_DETAILS = (
    _PREFIXES
    + """SELECT ?anomaly ?detector ?kind ?score ?severity ?detected_at ?explanation ?activity
       ?fingerprint ?invalidated_at WHERE {
  %s
  ?anomaly kgs:detector ?detector_iri ; kgs:kind ?kind_iri ; kgs:score ?score ;
           kgs:severity ?severity_iri ; kgs:detectedAt ?detected_at ; kgs:explanation ?explanation .
  OPTIONAL { ?anomaly kgs:activityLabel ?activity }
  OPTIONAL { ?anomaly kgs:fingerprint ?fingerprint }
  OPTIONAL { ?anomaly prov:invalidatedAtTime ?invalidated_at }
  BIND(STRAFTER(STR(?detector_iri), "urn:kgsentinel:detector:") AS ?detector)
  BIND(STRAFTER(STR(?kind_iri), STR(kgs:)) AS ?kind)
  BIND(LCASE(STRAFTER(STR(?severity_iri), STR(kgs:))) AS ?severity)
}"""
)
_SUBJECTS = (
    _PREFIXES
    + """SELECT ?anomaly ?subject ?case_id ?event_id ?event_case ?event_activity WHERE {
  %s
  ?anomaly kgs:subject ?subject .
  OPTIONAL { ?subject kgs:caseId ?case_id }
  OPTIONAL { ?subject kgs:eventId ?event_id OPTIONAL { ?subject kgs:case/kgs:caseId ?event_case } }
  OPTIONAL { ?subject kgs:activity/rdfs:label ?event_activity }
}"""
)
_LABELS = _PREFIXES + "SELECT ?anomaly ?label WHERE { %s ?anomaly kgs:hasLabel ?label }"
_EVIDENCE = (
    _PREFIXES
    + """SELECT ?node ?label ?expected ?observed ?rule ?feature ?value ?contribution WHERE {
  ?anomaly kgs:evidence ?node .
  OPTIONAL { ?node rdfs:label ?label } OPTIONAL { ?node kgs:expected ?expected }
  OPTIONAL { ?node kgs:observed ?observed } OPTIONAL { ?node kgs:rule ?rule }
  OPTIONAL { ?node kgs:feature ?feature } OPTIONAL { ?node kgs:featureValue ?value }
  OPTIONAL { ?node kgs:contribution ?contribution }
} ORDER BY ?node"""
)


@dataclass(frozen=True)
class AnomalyPage:
    """One page of anomalies; ``after`` is the key the next page starts after (None: last)."""

    rows: list[dict[str, Any]]
    after: tuple[str, str] | None


def anomaly_id(iri: str) -> str:
    """The id of an anomaly (the end of its IRI)."""
    return iri.removeprefix(ANOMALY_PREFIX)


def anomaly_page(
    store: GraphStore,
    *,
    detector: str | None = None,
    kind: str | None = None,
    since: dt.datetime | None = None,
    min_score: float | None = None,
    case_id: str | None = None,
    limit: int = 100,
    after: tuple[str, str] | None = None,
) -> AnomalyPage:
    """Standing anomalies matching the filters, ``limit`` at a time, newest first.

    ``after`` is the ``(detected_at, id)`` of the last anomaly of the page before.
    """
    from kgsentinel.detectors.base import kind_iri

    filters, params = [], {}
    if detector is not None:
        filters.append("FILTER(STR(?detector_iri) = ?want_detector)")
        params["want_detector"] = ox.Literal(f"urn:kgsentinel:detector:{detector}")
    if kind is not None:
        filters.append("FILTER(?kind_iri = ?want_kind)")
        params["want_kind"] = ox.NamedNode(kind_iri(kind))
    if since is not None:
        filters.append("FILTER(?detected_at >= ?want_since)")
        params["want_since"] = to_term(since if since.tzinfo else since.replace(tzinfo=dt.UTC))
    if min_score is not None:
        filters.append("FILTER(?score >= ?want_score)")
        params["want_score"] = to_term(float(min_score))
    if case_id is not None:
        filters.append("?anomaly kgs:subject/(kgs:caseId|kgs:case/kgs:caseId) ?want_case .")
        params["want_case"] = ox.Literal(case_id)
    if after is not None:
        filters.append(
            "FILTER(?detected_at < ?after_time || "
            "(?detected_at = ?after_time && STR(?anomaly) > ?after_iri))"
        )
        params["after_time"] = ox.Literal(after[0], datatype=ox.NamedNode(_XSD_DATETIME))
        params["after_iri"] = ox.Literal(ANOMALY_PREFIX + after[1])
    found = list(store.query(_PAGE % ("\n  ".join(filters), limit + 1), params=params))
    iris = [row["anomaly"].value for row in found[:limit]]
    rows = _describe(store, iris)
    last = found[limit - 1] if len(found) > limit else None
    key = (last["detected_at"].value, anomaly_id(last["anomaly"].value)) if last else None
    return AnomalyPage(rows, key)


_XSD_DATETIME = "http://www.w3.org/2001/XMLSchema#dateTime"


def anomaly_detail(store: GraphStore, ident: str) -> dict[str, Any] | None:
    """One anomaly (standing or not) with its subjects, labels and evidence; None if unknown.

    Example:
        >>> from kgsentinel.graph import open_store
        >>> anomaly_detail(open_store(":memory:"), "0" * 40) is None
        True
    """
    if not re.fullmatch(ANOMALY_ID, ident):
        return None
    rows = _describe(store, [ANOMALY_PREFIX + ident])
    if not rows:
        return None
    node = ox.NamedNode(ANOMALY_PREFIX + ident)
    evidence = store.query(_EVIDENCE, params={"anomaly": node}).rows()
    rows[0]["evidence"] = [
        {key: value for key, value in item.items() if key != "node" and value is not None}
        for item in evidence
    ]
    return rows[0]


def _describe(store: GraphStore, iris: list[str]) -> list[dict[str, Any]]:
    """The fields of each anomaly in ``iris``, in that order."""
    from kgsentinel.detectors.base import KINDS

    if not iris:
        return []
    values = "VALUES ?anomaly { " + " ".join(str(ox.NamedNode(i)) for i in iris) + " }"
    core = {row["anomaly"]: row for row in store.query(_DETAILS % values).rows()}
    subjects = store.query(_SUBJECTS % values).rows()
    labels: dict[str, dict[str, str]] = {}
    for row in store.query(_LABELS % values).rows():
        key, _, value = str(row["label"]).partition("=")
        labels.setdefault(row["anomaly"], {})[key] = value
    short = {name: kind for kind, name in KINDS.items()}
    described = []
    for iri in iris:
        if iri not in core:
            continue
        row = core[iri]
        mine = [s for s in subjects if s["anomaly"] == iri]
        case = next((s for s in mine if s["case_id"] is not None), None)
        event = next((s for s in mine if s["event_id"] is not None), None)
        other = next((s for s in mine if s["case_id"] is None), None)
        main = other or case
        described.append({
            "id": anomaly_id(iri),
            "detector": row["detector"],
            "kind": short.get(row["kind"], row["kind"]),
            "score": row["score"],
            "severity": row["severity"],
            "detected_at": _iso(row["detected_at"]),
            "explanation": row["explanation"],
            "activity": row["activity"] or (event["event_activity"] if event else None),
            "case_id": case["case_id"] if case else event["event_case"] if event else None,
            "event_id": event["event_id"] if event else None,
            "subject": main["subject"] if main else None,
            "subjects": sorted({s["subject"] for s in mine}),
            "labels": dict(sorted(labels.get(iri, {}).items())),
            "fingerprint": row["fingerprint"],
            "invalidated_at": _iso(row["invalidated_at"]),
        })  # fmt: skip
    return described


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, dt.datetime) else str(python_value(value))
