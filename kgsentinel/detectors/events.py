"""The event log frame: events from the graph (or any table) in the shape detectors read.

``read_event_log(store)`` pulls every ``kgs:Event`` with a case into a frame
(see :mod:`kgsentinel.detectors.base` for the columns), in a few SPARQL
queries whose results come back as CSV, so a million events cost seconds.
``as_event_log(table)`` turns any table with case, activity and time columns
into the same shape, for notebooks, tests and benchmarks.

Example:
    >>> import pandas as pd
    >>> table = pd.DataFrame({"case_id": ["1", "1", "2"], "activity": ["Brief", "Launch", "Brief"],
    ...                       "timestamp": ["2026-01-02", "2026-01-01", "2026-01-03"]})
    >>> log = as_event_log(table)
    >>> log[["case_id", "activity"]].values.tolist()
    [['1', 'Launch'], ['1', 'Brief'], ['2', 'Brief']]
    >>> log["event"].iloc[0]
    'urn:kgsentinel:log:event/1/2'
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from kgsentinel.detectors.base import EVENT_COLUMNS
from kgsentinel.graph.ontology import KGS

if TYPE_CHECKING:  # pragma: no cover
    from kgsentinel.graph.store import GraphStore

__all__ = [
    "ATTRIBUTE_PREFIX",
    "as_event_log",
    "iri_values",
    "lookup_values",
    "read_event_log",
    "sort_event_log",
]

#: index scans run at once when reading the whole log (the store reads on both cores)
READERS = 2
#: event attribute columns are named ``attr:<name>``
ATTRIBUTE_PREFIX = "attr:"
_RDFS = "http://www.w3.org/2000/01/rdf-schema#"
_PREFIXES = f"PREFIX kgs: <{KGS}>\nPREFIX rdfs: <{_RDFS}>\n"
_SCAN = _PREFIXES + "SELECT ?event ?value WHERE { ?event kgs:%s ?value }"
#: column, property, whether an event needs it
_EVENT_PROPERTIES = (
    ("case", "case", True), ("activity", "activity", True), ("timestamp", "timestamp", True),
    ("resource", "resource", False), ("event_id", "eventId", False),
)  # fmt: skip
# (only cases have a kgs:caseId; asking for kgs:Case too makes a VALUES lookup scan every case)
_CASE_IDS = _PREFIXES + "SELECT ?case ?case_id WHERE {\n%s?case kgs:caseId ?case_id }"
_EVENTS_OF = _PREFIXES + "SELECT ?event ?case WHERE {\n%s?event kgs:case ?case }"
#: every property of some events at once: one index lookup per event
_PROPERTIES_OF = (
    "SELECT ?event ?p ?value ?literal WHERE {\n%s"
    "?event ?p ?value BIND(isLiteral(?value) AS ?literal) }"
)
#: IRIs per VALUES block when reading some cases
LOOKUP_BATCH = 5000
_LABELS = (
    _PREFIXES + "SELECT ?thing ?label WHERE { { ?thing a kgs:Activity } UNION "
    "{ ?thing a kgs:Resource } ?thing rdfs:label ?label }"
)
#: literal-valued event properties that are not attributes
_NOT_ATTRIBUTES = ("eventId", "timestamp", "startTime", "lifecycle")
#: literal properties of other things, never read as event attributes
_NOT_EVENT_ATTRIBUTES = {
    *(KGS + name for name in _NOT_ATTRIBUTES),
    *(KGS + name for name in ("caseId", "objectId", "qualifier", "score", "explanation",
                              "fingerprint", "detectedAt", "activityLabel", "hasLabel")),
    _RDFS + "label", _RDFS + "comment",
}  # fmt: skip
#: every predicate (asking for literal objects too would decode every object: 4x slower)
_PREDICATES = "SELECT DISTINCT ?p WHERE { ?s ?p ?o }"
_SCAN_IRI = "SELECT ?event ?value WHERE { ?event %s ?value FILTER(isLiteral(?value)) }"


def read_event_log(
    store: GraphStore,
    *,
    cases: Sequence[str] | None = None,
    events: Sequence[str] | None = None,
    attributes: bool = True,
) -> pd.DataFrame:
    """Every event that belongs to a case, as an event log frame sorted by case and time.

    ``cases`` (case IRIs) limits the frame to those cases, ``events`` (event
    IRIs) to those events. With ``attributes``, literal properties of events
    become ``attr:<name>`` columns.
    """
    found: pd.DataFrame | None = None
    if cases is not None and events is not None:
        raise ValueError("read_event_log takes cases or events, not both")
    if cases is not None:
        rows, found = _read_cases(store, list(cases)) if cases else (_empty(), None)
    elif events is not None:
        rows, found = _read_events(store, list(events)) if events else (_empty(), None)
    else:
        rows, predicates = _scan_events(store)
    if rows.empty:
        return _empty()
    if cases is None and events is None:
        case_ids = store.query_frame(_CASE_IDS % "")
    else:
        case_ids = lookup_values(store, _CASE_IDS, "case", list(rows["case"].unique()))
    labels = store.query_frame(_LABELS).drop_duplicates("thing").set_index("thing")["label"]
    case_ids = case_ids.drop_duplicates("case").set_index("case")["case_id"]
    log = pd.DataFrame({
        "case": rows["case"],
        "case_id": _or_local_name(_lookup(rows["case"], case_ids), rows["case"]),
        "event": rows["event"],
        "event_id": _or_local_name(rows["event_id"], rows["event"]),
        "activity": _or_local_name(_lookup(rows["activity"], labels), rows["activity"]),
        "timestamp": pd.to_datetime(rows["timestamp"], utc=True, format="ISO8601",
                                    errors="coerce"),
        "resource": _lookup(rows["resource"], labels).where(rows["resource"].notna()),
    })  # fmt: skip
    log = log.dropna(subset=["timestamp"]).drop_duplicates("event")
    if attributes:
        if found is None:
            found = _scan_attributes(store, log["event"], predicates)
        log = _with_attributes(log, found)
    return sort_event_log(log)


def _lookup(keys: pd.Series, table: pd.Series) -> pd.Series:
    """``keys`` looked up in ``table`` once per distinct key (NA where absent)."""
    codes, distinct = pd.factorize(keys)
    found = pd.Series(distinct).map(table).to_numpy(dtype=object)
    values = np.append(found, None)[codes]  # code -1 (a missing key) takes the None
    return pd.Series(values, index=keys.index, dtype=object)


def _or_local_name(values: pd.Series, iris: pd.Series) -> pd.Series:
    """``values``, or where one is missing the local name of its IRI."""
    missing = values.isna()
    if not missing.any():
        return values
    return values.where(~missing, iris[missing].map(_local_name))


def _scan_events(store: GraphStore) -> tuple[pd.DataFrame, list[str]]:
    """Every event's case, activity, time, resource and id, one property at a time,
    and the predicates that may be attributes.

    One pattern per query reads an index in order; the join of five patterns in
    one query looks each event up again and is several times slower on disk.
    """
    frame = None
    *scans, found = _read_all(store, [*(_SCAN % predicate for _, predicate, _ in _EVENT_PROPERTIES),
                                      _PREDICATES])  # fmt: skip
    skipped = _NOT_EVENT_ATTRIBUTES | _object_properties()
    predicates = [p for p in found["p"].dropna() if p not in skipped]
    for (column, _, required), values in zip(_EVENT_PROPERTIES, scans, strict=True):
        values = values.rename(columns={"value": column}).drop_duplicates("event")
        if frame is None:
            frame = values
        else:
            frame = frame.merge(values, on="event", how="inner" if required else "left")
    assert frame is not None
    return frame, predicates


def _read_cases(store: GraphStore, cases: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The events of ``cases`` (the columns of :func:`_scan_events`) and their attributes.

    Two rounds of index lookups: the events of each case, then every property
    of each event; a pattern per property would look each event up again.
    """
    owners = lookup_values(store, _EVENTS_OF, "case", cases).drop_duplicates("event")
    if owners.empty:
        return owners, pd.DataFrame(columns=["event", "p", "value"])
    return _read_events(store, owners["event"].tolist(), owners=owners)


def _read_events(
    store: GraphStore, events: list[str], *, owners: pd.DataFrame | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``events`` (the columns of :func:`_scan_events`, those with a case) and their
    attributes, by one index lookup per event; ``owners`` gives their cases, if known."""
    properties = lookup_values(store, _PROPERTIES_OF, "event", events)
    if properties.empty:
        return pd.DataFrame(columns=["event", "case"]), properties
    frame = owners
    for column, predicate, required in _EVENT_PROPERTIES:
        if column == "case" and owners is not None:
            continue
        values = properties.loc[properties["p"] == KGS + predicate, ["event", "value"]]
        values = values.drop_duplicates("event").rename(columns={"value": column})
        how = "inner" if required else "left"
        frame = values if frame is None else frame.merge(values, on="event", how=how)
    literal = (properties["literal"] == "true") & ~properties["p"].isin(_NOT_EVENT_ATTRIBUTES)
    return frame, properties.loc[literal, ["event", "p", "value"]]


def lookup_values(
    store: GraphStore, query: str, variable: str, iris: Sequence[str]
) -> pd.DataFrame:
    """``query`` (with ``%s`` where a VALUES block binding ``?variable`` goes) for
    ``iris``, :data:`LOOKUP_BATCH` at a time; an empty frame for no IRIs."""
    parts = [store.query_frame(query % iri_values(variable, iris[start : start + LOOKUP_BATCH]))
             for start in range(0, len(iris), LOOKUP_BATCH)]  # fmt: skip
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def _object_properties() -> set[str]:
    """The ontology's properties whose values are things, never attributes (and ``rdf:type``)."""
    import pyoxigraph as ox

    from kgsentinel.graph.ontology import ontology_text

    owl = "http://www.w3.org/2002/07/owl#"
    rdf_type = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
    triples = ox.parse(ontology_text(), format=ox.RdfFormat.TURTLE)
    kind = ox.NamedNode(owl + "ObjectProperty")
    found = {t.subject.value for t in triples if t.predicate == rdf_type and t.object == kind}
    return found | {rdf_type.value}


def as_event_log(
    table: pd.DataFrame,
    *,
    case: str = "case_id",
    activity: str = "activity",
    timestamp: str = "timestamp",
    resource: str | None = "resource",
    event_id: str | None = None,
    base: str = "urn:kgsentinel:log:",
) -> pd.DataFrame:
    """A table of events as an event log frame; other columns become attributes.

    Cases and events get IRIs under ``base`` (events are numbered by row when
    there is no ``event_id`` column).
    """
    missing = [c for c in (case, activity, timestamp) if c not in table.columns]
    if missing:
        raise ValueError(f"the table has no column {missing[0]!r} "
                         f"(columns: {', '.join(map(str, table.columns))})")  # fmt: skip
    case_ids = table[case].astype(str)
    ids = (
        table[event_id].astype(str)
        if event_id
        else case_ids + "/" + pd.Series(np.arange(1, len(table) + 1), index=table.index).astype(str)
    )
    quoted = case_ids.map(_quote)
    log = pd.DataFrame({
        "case": base + "case/" + quoted,
        "case_id": case_ids,
        "event": base + "event/" + ids.map(_quote).str.replace("%2F", "/"),
        "event_id": ids,
        "activity": table[activity].astype(str),
        "timestamp": pd.to_datetime(table[timestamp], utc=True, format="ISO8601"),
        "resource": (table[resource].astype("string").astype(object).where(table[resource].notna())
                     if resource and resource in table.columns else None),
    })  # fmt: skip
    used = {case, activity, timestamp, resource, event_id}
    for column in table.columns:
        if column not in used:
            log[ATTRIBUTE_PREFIX + str(column)] = _attribute_values(table[column])
    return sort_event_log(log)


def sort_event_log(log: pd.DataFrame) -> pd.DataFrame:
    """Sort by case, then time, then event id (stable), with a fresh index."""
    return log.sort_values(["case", "timestamp", "event_id"], kind="stable").reset_index(drop=True)


def _with_attributes(log: pd.DataFrame, found: pd.DataFrame) -> pd.DataFrame:
    """The literal properties of the events (``found``: event, p, value) as columns."""
    if found.empty:
        return log
    names = {p: ATTRIBUTE_PREFIX + _local_name(p) for p in found["p"].unique()}
    found = found.assign(name=found["p"].map(names))
    wide = found.drop_duplicates(["event", "name"]).pivot(index="event", columns="name",
                                                          values="value")  # fmt: skip
    wide = wide.apply(_attribute_values)
    return log.join(wide, on="event")


def _scan_attributes(store: GraphStore, events: pd.Series, predicates: list[str]) -> pd.DataFrame:
    """Every literal value of ``events`` for ``predicates``, one property at a time."""
    known = pd.Index(events.astype(object))
    parts = []
    scans = _read_all(store, [_SCAN_IRI % ox_iri(predicate) for predicate in predicates])
    for predicate, found in zip(predicates, scans, strict=True):
        found = found[known.get_indexer(found["event"].astype(object)) >= 0]
        if len(found):
            parts.append(found.assign(p=predicate))
    if not parts:
        return pd.DataFrame(columns=["event", "p", "value"])
    return pd.concat(parts, ignore_index=True)[["event", "p", "value"]]


def _read_all(store: GraphStore, queries: list[str]) -> list[pd.DataFrame]:
    """The results of ``queries``, :data:`READERS` at a time (the store reads in parallel)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=READERS) as pool:
        return list(pool.map(store.query_frame, queries))


def ox_iri(value: str) -> object:
    """A pyoxigraph IRI term (imported lazily)."""
    import pyoxigraph as ox

    return ox.NamedNode(value)


def _attribute_values(values: pd.Series) -> pd.Series:
    """Numbers as floats when every present value is one; otherwise text."""
    numbers = pd.to_numeric(values, errors="coerce")
    if values.notna().any() and numbers.notna().sum() == values.notna().sum():
        return numbers.astype(float)
    return values.astype("string").astype(object).where(values.notna())


def _local_name(iri: str) -> str:
    """The last path segment or fragment of an IRI, percent-decoded."""
    cut = max(iri.rfind("/"), iri.rfind("#"), iri.rfind(":"))
    return urllib.parse.unquote(iri[cut + 1 :])


def _quote(text: str) -> str:
    return urllib.parse.quote(text, safe="-._~")


def iri_values(variable: str, iris: Sequence[str]) -> str:
    """A ``VALUES`` block binding ``?variable`` to IRIs, written by pyoxigraph.

    Example:
        >>> iri_values("case", ["urn:x:case/1"])
        'VALUES ?case { <urn:x:case/1> }\\n'
    """
    import pyoxigraph as ox

    return f"VALUES ?{variable} {{ " + " ".join(str(ox.NamedNode(i)) for i in iris) + " }\n"


def _empty() -> pd.DataFrame:
    frame = pd.DataFrame({column: pd.Series(dtype=object) for column in EVENT_COLUMNS})
    frame["timestamp"] = pd.Series(dtype="datetime64[ns, UTC]")
    return frame
