"""Alerts, their transitions and silences as resources of the alerts graph.

An alert is named by the fingerprint of its anomaly, so one anomaly never has
two alerts. It has the anomaly's routing labels (``kgs:hasLabel``: detector,
kind, severity and the anomaly's own), its state, first and last seen, the
routes that took it, and one ``kgs:AlertTransition`` per change of state (who,
when, and the silence behind it). Every value is written as a pyoxigraph term;
nothing a user typed is pasted into SPARQL text.

Example:
    >>> alert_iri("4f2a9c0e11d2b7aa55")
    'urn:kgsentinel:alert:4f2a9c0e11d2b7aa55'
    >>> alert_id("urn:kgsentinel:alert:4f2a9c0e11d2b7aa55")
    '4f2a9c0e11d2'
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox

from kgsentinel.graph.ontology import KGS
from kgsentinel.graph.terms import graph_iri, to_term

if TYPE_CHECKING:  # pragma: no cover
    from kgsentinel.graph.store import GraphStore

__all__ = [
    "ALERTS_GRAPH",
    "STATES",
    "AlertRecord",
    "SilenceRecord",
    "alert_fingerprints",
    "alert_id",
    "alert_iri",
    "alert_quads",
    "change_update",
    "guarded_update",
    "read_alerts",
    "read_silences",
    "seen_update",
    "silence_quads",
    "standing_anomalies",
    "transition_quads",
]

ALERTS_GRAPH = graph_iri("alerts")
ANOMALIES_GRAPH = graph_iri("anomalies")
PROV = "http://www.w3.org/ns/prov#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDFS_COMMENT = "http://www.w3.org/2000/01/rdf-schema#comment"
#: state name -> ontology individual
STATES = {
    "firing": "Firing",
    "acknowledged": "Acknowledged",
    "resolved": "Resolved",
    "silenced": "Silenced",
}
ID_LENGTH = 12
_PREFIXES = f"PREFIX kgs: <{KGS}>\nPREFIX prov: <{PROV}>\n"
_G = str(ox.NamedNode(ALERTS_GRAPH))
_AG = str(ox.NamedNode(ANOMALIES_GRAPH))


def alert_iri(fingerprint: str) -> str:
    """The IRI of the alert of an anomaly fingerprint."""
    return f"urn:kgsentinel:alert:{fingerprint[:40]}"


def alert_id(iri: str) -> str:
    """The short id people type (``kgsentinel alerts ack ID``)."""
    return iri.rsplit(":", 1)[-1][:ID_LENGTH]


def _state_term(state: str) -> ox.NamedNode:
    return ox.NamedNode(KGS + STATES[state])


@dataclass(frozen=True)
class AlertRecord:
    """One alert as read from the graph, with what a notification shows of its anomaly.

    ``last_seen`` is when the engine last found its anomaly standing (for a
    resolved alert, when it was resolved).
    """

    iri: str
    fingerprint: str
    anomaly: str
    state: str
    labels: Mapping[str, str]
    summary: str
    first_seen: dt.datetime
    last_seen: dt.datetime
    case_id: str | None = None
    activity: str | None = None
    routes: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        """The short id of the alert."""
        return alert_id(self.iri)


@dataclass(frozen=True)
class SilenceRecord:
    """A silence: matchers, from when until when, who made it and why."""

    iri: str
    matchers: tuple[str, ...]
    starts_at: dt.datetime
    ends_at: dt.datetime
    by: str
    comment: str = ""
    #: how many firing alerts it silenced when it was made
    muted: int = field(default=0, compare=False)

    @property
    def id(self) -> str:
        """The short id of the silence."""
        return self.iri.rsplit(":", 1)[-1]


def _quad(subject: str, predicate: str, value: Any) -> ox.Quad:
    obj = value if isinstance(value, ox.NamedNode) else to_term(value)
    return ox.Quad(ox.NamedNode(subject), ox.NamedNode(predicate), obj, ox.NamedNode(ALERTS_GRAPH))


def alert_quads(
    fingerprint: str,
    anomaly: str,
    *,
    labels: Mapping[str, str],
    severity: str,
    state: str,
    at: dt.datetime,
    routes: Sequence[str] = (),
) -> list[ox.Quad]:
    """The quads of a new alert (its first transition is :func:`transition_quads`)."""
    iri = alert_iri(fingerprint)
    quads = [
        _quad(iri, RDF_TYPE, ox.NamedNode(KGS + "Alert")),
        _quad(iri, KGS + "fingerprint", fingerprint),
        _quad(iri, KGS + "raisedFor", ox.NamedNode(anomaly)),
        _quad(iri, KGS + "severity", ox.NamedNode(severity)),
        _quad(iri, KGS + "state", _state_term(state)),
        _quad(iri, KGS + "firstSeen", at),
        _quad(iri, KGS + "lastSeen", at),
    ]
    quads += [_quad(iri, KGS + "hasLabel", f"{k}={v}") for k, v in sorted(labels.items())]
    quads += [_quad(iri, KGS + "route", route) for route in routes]
    return quads


def transition_quads(
    alert: str,
    *,
    to: str,
    at: dt.datetime,
    by: str,
    previous: str | None = None,
    silence: str | None = None,
    comment: str | None = None,
) -> list[ox.Quad]:
    """One change of state of ``alert``, kept as history."""
    stamp = at.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
    node = f"{alert}/transition/{stamp}-{to}"
    quads = [
        _quad(alert, KGS + "transition", ox.NamedNode(node)),
        _quad(node, RDF_TYPE, ox.NamedNode(KGS + "AlertTransition")),
        _quad(node, KGS + "toState", _state_term(to)),
        _quad(node, KGS + "at", at),
        _quad(node, KGS + "by", by),
    ]
    if previous is not None:
        quads.append(_quad(node, KGS + "fromState", _state_term(previous)))
    if silence is not None:
        quads.append(_quad(node, KGS + "silence", ox.NamedNode(silence)))
    if comment:
        quads.append(_quad(node, RDFS_COMMENT, comment))
    return quads


def silence_quads(silence: SilenceRecord) -> list[ox.Quad]:
    """The quads of a new silence."""
    iri = silence.iri
    quads = [
        _quad(iri, RDF_TYPE, ox.NamedNode(KGS + "Silence")),
        _quad(iri, KGS + "startsAt", silence.starts_at),
        _quad(iri, KGS + "endsAt", silence.ends_at),
        _quad(iri, KGS + "by", silence.by),
    ]
    quads += [_quad(iri, KGS + "matcher", m) for m in silence.matchers]
    if silence.comment:
        quads.append(_quad(iri, RDFS_COMMENT, silence.comment))
    return quads


def _data(keyword: str, quads: Iterable[ox.Quad]) -> str:
    lines = [f"GRAPH {q.graph_name} {{ {q.subject} {q.predicate} {q.object} }}" for q in quads]
    return f"{keyword} DATA {{\n" + "\n".join(lines) + "\n}" if lines else ""


def change_update(delete: Iterable[ox.Quad], insert: Iterable[ox.Quad]) -> str:
    """One SPARQL Update (a transaction) deleting then inserting these quads.

    The terms are written by pyoxigraph's serialiser, so no value changes the update.
    """
    parts = [part for part in (_data("DELETE", delete), _data("INSERT", insert)) if part]
    return " ;\n".join(parts)


def guarded_update(condition: ox.Quad, delete: Iterable[ox.Quad], insert: Iterable[ox.Quad]) -> str:
    """A SPARQL Update deleting and inserting these quads only while ``condition`` holds.

    So a change made from a state that another process has changed meanwhile
    is dropped, never applied on top of the other.
    """

    def lines(quads: Iterable[ox.Quad]) -> str:
        return " ".join(f"GRAPH {q.graph_name} {{ {q.subject} {q.predicate} {q.object} }}"
                        for q in quads)  # fmt: skip

    return (f"DELETE {{ {lines(delete)} }} INSERT {{ {lines(insert)} }} "
            f"WHERE {{ {lines([condition])} }}")  # fmt: skip


def state_quad(alert: str, state: str) -> ox.Quad:
    """The quad saying ``alert`` is in ``state``."""
    return _quad(alert, KGS + "state", _state_term(state))


def last_seen_quad(alert: str, at: dt.datetime) -> ox.Quad:
    """The quad saying when ``alert``'s anomaly was last seen standing."""
    return _quad(alert, KGS + "lastSeen", at)


def seen_update(at: dt.datetime) -> str:
    """The SPARQL Update that sets ``kgs:lastSeen`` of every open alert to ``at``."""
    open_states = " ".join(str(_state_term(s)) for s in ("firing", "acknowledged", "silenced"))
    return (
        f"PREFIX kgs: <{KGS}>\n"
        f"DELETE {{ GRAPH {_G} {{ ?alert kgs:lastSeen ?old }} }}\n"
        f"INSERT {{ GRAPH {_G} {{ ?alert kgs:lastSeen {to_term(at)} }} }}\n"
        f"WHERE {{ VALUES ?state {{ {open_states} }} "
        f"GRAPH {_G} {{ ?alert kgs:state ?state ; kgs:lastSeen ?old }} }}"
    )


# -- reading ---------------------------------------------------------------------------------

_ANOMALIES = (
    _PREFIXES
    + """SELECT ?anomaly ?fingerprint ?detector ?kind ?severity ?detected ?gone WHERE {
  GRAPH ANOMALIES {
    ?anomaly a kgs:Anomaly ; kgs:fingerprint ?fingerprint ; kgs:detector ?detector ;
             kgs:kind ?kind ; kgs:severity ?severity ; kgs:detectedAt ?detected .
    OPTIONAL { ?anomaly prov:invalidatedAtTime ?gone }
  }
}""".replace("ANOMALIES", _AG)
)
_ANOMALY_LABELS = (
    _PREFIXES + f"SELECT ?anomaly ?label WHERE {{ GRAPH {_AG} {{ ?anomaly kgs:hasLabel ?label }} }}"
)


def standing_anomalies(store: GraphStore) -> Any:
    """Every anomaly with its fingerprint, routing labels, severity IRI and whether it is gone.

    One row per anomaly (a DataFrame with ``anomaly``, ``fingerprint``, ``severity``,
    ``detected`` (a UTC time), ``gone`` and ``labels``, a dict).
    """
    import pandas as pd

    from kgsentinel.detectors.base import KINDS

    rows = store.query_frame(_ANOMALIES).drop_duplicates("anomaly")
    extra = store.query_frame(_ANOMALY_LABELS)
    own: dict[str, dict[str, str]] = {}
    for anomaly, label in zip(extra["anomaly"], extra["label"], strict=True):
        key, _, value = str(label).partition("=")
        own.setdefault(anomaly, {})[key] = value
    short_kind = {name: kind for kind, name in KINDS.items()}
    labels = []
    for anomaly, detector, kind, severity in zip(
        rows["anomaly"], rows["detector"], rows["kind"], rows["severity"], strict=True
    ):
        kind_name = kind.removeprefix(KGS)
        labels.append(
            {
                **own.get(anomaly, {}),
                "detector": detector.removeprefix("urn:kgsentinel:detector:"),
                "kind": short_kind.get(kind_name, kind_name),
                "severity": severity.removeprefix(KGS).lower(),
            }
        )
    rows = rows.assign(labels=labels, detected=pd.to_datetime(rows["detected"], utc=True,
                                                              format="ISO8601"))  # fmt: skip
    return rows.reset_index(drop=True)


_ALERTS = (
    _PREFIXES
    + """SELECT ?alert ?fingerprint ?anomaly ?state ?first ?last ?explanation
       ?case_id ?activity WHERE {
  %(values)s
  GRAPH %(g)s {
    ?alert kgs:state ?state_iri ; a kgs:Alert ; kgs:fingerprint ?fingerprint ;
           kgs:raisedFor ?anomaly ; kgs:firstSeen ?first ; kgs:lastSeen ?last .
  }
  %(filters)s
  OPTIONAL { GRAPH %(ag)s { ?anomaly kgs:explanation ?explanation } }
  OPTIONAL { GRAPH %(ag)s { ?anomaly kgs:activityLabel ?activity } }
  OPTIONAL { ?anomaly kgs:subject/kgs:caseId ?case_id }
  BIND(LCASE(STRAFTER(STR(?state_iri), STR(kgs:))) AS ?state)
}"""
)
_ALERT_LISTS = (
    _PREFIXES
    + """SELECT ?alert ?label ?route WHERE {
  %(values)s
  GRAPH %(g)s {
    ?alert kgs:state ?state_iri .
    { ?alert kgs:hasLabel ?label } UNION { ?alert kgs:route ?route }
  }
  %(filters)s
}"""
)


def read_alerts(
    store: GraphStore,
    *,
    states: Sequence[str] | None = None,
    fingerprints: Iterable[str] | None = None,
    prefix: str | None = None,
) -> list[AlertRecord]:
    """Alerts of the alerts graph, optionally only in ``states``, of ``fingerprints``,
    or whose id starts with ``prefix``; oldest first."""
    values: list[str] = []
    filters: list[str] = []
    params: dict[str, Any] = {}
    if states is not None:
        states_iris = " ".join(str(_state_term(s)) for s in states)
        values.append(f"VALUES ?state_iri {{ {states_iris} }}")
    if fingerprints is not None:
        wanted = sorted(set(fingerprints))
        if not wanted:
            return []
        alerts = " ".join(str(ox.NamedNode(alert_iri(f))) for f in wanted)
        values.append(f"VALUES ?alert {{ {alerts} }}")
    if prefix is not None:
        filters.append("FILTER(STRSTARTS(STR(?alert), ?want_prefix))")
        params["want_prefix"] = ox.Literal(alert_iri(prefix))
    parts = {"g": _G, "ag": _AG, "values": "\n  ".join(values), "filters": "\n  ".join(filters)}
    rows = store.query_frame(_ALERTS % parts, params=params)
    lists = store.query_frame(_ALERT_LISTS % parts, params=params)
    labels: dict[str, dict[str, str]] = {}
    routes: dict[str, list[str]] = {}
    for alert, label, route in zip(lists["alert"], lists["label"], lists["route"], strict=True):
        if isinstance(label, str):
            key, _, value = label.partition("=")
            labels.setdefault(alert, {})[key] = value
        if isinstance(route, str):
            routes.setdefault(alert, []).append(route)
    records = [
        AlertRecord(
            iri=row.alert,
            fingerprint=row.fingerprint,
            anomaly=row.anomaly,
            state=row.state,
            labels=labels.get(row.alert, {}),
            summary=_text(row.explanation),
            first_seen=_time(row.first),
            last_seen=_time(row.last),
            case_id=_text(row.case_id) or None,
            activity=_text(row.activity) or None,
            routes=tuple(sorted(routes.get(row.alert, []))),
        )
        for row in _one_per_alert(rows).itertuples(index=False)
    ]
    return sorted(records, key=lambda r: (r.first_seen, r.iri))


def _one_per_alert(rows: Any) -> Any:
    """One row per alert, preferring one with a case id (an anomaly about an event and
    its case has a row for each subject)."""
    ranked = rows.sort_values(["alert", "case_id"], na_position="last", kind="stable")
    return ranked.drop_duplicates("alert")


_FINGERPRINTS = (
    f"PREFIX kgs: <{KGS}>\n"
    f"SELECT ?fingerprint WHERE {{ GRAPH {_G} {{ ?alert kgs:fingerprint ?fingerprint }} }}"
)


def alert_fingerprints(store: GraphStore) -> set[str]:
    """The fingerprints that have an alert, in any state."""
    return set(store.query_frame(_FINGERPRINTS)["fingerprint"])


_SILENCES = (
    _PREFIXES
    + """PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?silence ?starts ?ends ?by ?comment ?matcher WHERE {
  GRAPH %(g)s {
    ?silence a kgs:Silence ; kgs:startsAt ?starts ; kgs:endsAt ?ends ; kgs:by ?by .
    OPTIONAL { ?silence kgs:matcher ?matcher }
    OPTIONAL { ?silence rdfs:comment ?comment }
  }
  %(filters)s
}"""
)


def read_silences(
    store: GraphStore, *, active_at: dt.datetime | None = None
) -> list[SilenceRecord]:
    """Silences, or only those in force at ``active_at``; the soonest to end first."""
    params: dict[str, Any] = {}
    where = ""
    if active_at is not None:
        where = "FILTER(?starts <= ?when && ?ends > ?when)"
        params["when"] = to_term(active_at)
    rows = store.query_frame(_SILENCES % {"g": _G, "filters": where}, params=params)
    matchers: dict[str, list[str]] = {}
    for silence, matcher in zip(rows["silence"], rows["matcher"], strict=True):
        if isinstance(matcher, str):
            matchers.setdefault(silence, []).append(matcher)
    records = [
        SilenceRecord(
            iri=row.silence,
            matchers=tuple(sorted(matchers.get(row.silence, []))),
            starts_at=_time(row.starts),
            ends_at=_time(row.ends),
            by=row.by,
            comment=_text(row.comment),
        )
        for row in rows.drop_duplicates("silence").itertuples(index=False)
    ]
    return sorted(records, key=lambda s: (s.ends_at, s.iri))


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _time(text: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
