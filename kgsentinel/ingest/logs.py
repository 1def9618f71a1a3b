"""Event logs into the graph: XES, OCEL 2.0 and CloudEvents need no mapping.

Each chunk of a log (see :mod:`kgsentinel.ingest.eventlog`) is mapped with
built-in mappings into the same shape an ``events:`` mapping gives a CSV:
``event/{id}`` (``kgs:Event``), ``activity/{name}``, ``resource/{name}``,
``{type}/{id}`` objects (``case/{id}`` for cases, also ``kgs:Case``), qualified
``kgs:EventObjectLink`` and ``kgs:ObjectObjectLink`` nodes, and attributes as
``attr/{key}`` properties typed from their values. IRIs are relative to the
graph's own base (``urn:kgsentinel:<graph>:``), so two logs never collide.

Example:
    >>> import pandas as pd
    >>> attribute_datatype(pd.Series([1, 2, None], dtype=object))
    'xsd:integer'
    >>> attribute_datatype(pd.Series(["a", 1], dtype=object)) is None
    True
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from kgsentinel.ingest.eventlog import LogChunk, read_log
from kgsentinel.ingest.mapper import ROW, map_chunk
from kgsentinel.ingest.mapping import Mapping

__all__ = ["LogSpool", "attribute_datatype", "log_base", "map_log", "map_log_chunk"]

ATTR = "attr:"
_TYPES = [(bool, "xsd:boolean"), (int, "xsd:integer"), (float, "xsd:double"),
          (pd.Timestamp, "xsd:dateTime")]  # fmt: skip


def log_base(graph: str) -> str:
    """The base IRI of a log's things: ``urn:kgsentinel:<graph>:``."""
    return f"urn:kgsentinel:{graph}:"


def attribute_datatype(values: pd.Series) -> str | None:
    """The XSD datatype every present value has (bool, int, float, time), else None."""
    present = values.dropna()
    if present.empty:
        return None
    for kind, datatype in _TYPES:
        if present.map(lambda value, kind=kind: _is(value, kind)).all():
            return datatype
    return None


def _is(value: object, kind: type) -> bool:
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


@dataclass
class LogSpool:
    """Running totals of a log being mapped: events read and rejected, object types seen."""

    events_read: int = 0
    events_rejected: int = 0
    types: dict[str, str] = field(default_factory=dict)
    rejects: list[pd.DataFrame] = field(default_factory=list)


def map_log(path: Path, graph: str, spool: LogSpool, *, chunk_events: int) -> Iterator[bytes]:
    """N-Triples for every chunk of the log at ``path``; totals go into ``spool``."""
    base = log_base(graph)
    for chunk in read_log(path, chunk_events=chunk_events):
        objects = chunk.objects
        spool.types.update(zip(objects["object_id"], objects["object_type"], strict=True))
        yield from _map_chunk(chunk, base, spool)


def map_log_chunk(chunk: LogChunk, graph: str, spool: LogSpool) -> Iterator[bytes]:
    """N-Triples for one chunk already read (events posted over HTTP); totals go into ``spool``."""
    objects = chunk.objects
    spool.types.update(zip(objects["object_id"], objects["object_type"], strict=True))
    yield from _map_chunk(chunk, log_base(graph), spool)


def _map_chunk(chunk: LogChunk, base: str, spool: LogSpool) -> Iterator[bytes]:
    events = _with_rows(chunk.events)
    mapped = map_chunk(_events_mapping(base, events), events, graph=None)
    rejected = chunk.rejects[chunk.rejects["record"] == "event"]
    spool.events_read += chunk.events_read
    spool.events_rejected += len(rejected) + mapped.rows_rejected
    spool.rejects += [_reasons(chunk.rejects), mapped.rejects]
    yield mapped.batch.to_bytes()
    objects = _with_rows(chunk.objects)
    cases = objects[objects["object_type"] == "case"]
    yield map_chunk(_objects_mapping(base, objects), objects, graph=None).batch.to_bytes()
    yield map_chunk(_cases_mapping(base), cases, graph=None).batch.to_bytes()
    links = _typed_links(chunk.event_objects, spool.types)
    yield map_chunk(_e2o_mapping(base), links, graph=None).batch.to_bytes()
    case_links = links[links["object_type"] == "case"]
    yield map_chunk(_case_links_mapping(base), case_links, graph=None).batch.to_bytes()
    yield from _o2o(chunk.object_objects, spool.types, base)


def _events_mapping(base: str, events: pd.DataFrame) -> Mapping:
    attributes = {f"<{base}attr/{_quote(c[len(ATTR):])}>": _attribute(c, events[c])
                  for c in events.columns if c.startswith(ATTR)}  # fmt: skip
    return Mapping.model_validate({"base": base, "entities": [
        {"class": "kgs:Event", "iri": "event/{event_id}", "links": {
            "kgs:activity": "activity/{activity}", "kgs:resource": "resource/{resource}"},
         "properties": {
            "kgs:eventId": "event_id", "kgs:lifecycle": "lifecycle",
            "kgs:timestamp": {"column": "timestamp", "datatype": "xsd:dateTime", "required": True},
            **attributes}},
        {"class": "kgs:Activity", "iri": "activity/{activity}",
         "properties": {"rdfs:label": "activity"}},
        {"class": "kgs:Resource", "iri": "resource/{resource}", "optional": True,
         "properties": {"rdfs:label": "resource"}},
    ]})  # fmt: skip


def _objects_mapping(base: str, objects: pd.DataFrame) -> Mapping:
    attributes = {f"<{base}attr/{_quote(c[len(ATTR):])}>": _attribute(c, objects[c])
                  for c in objects.columns if c.startswith(ATTR)}  # fmt: skip
    return Mapping.model_validate({"base": base, "entities": [
        {"class": "kgs:Object", "iri": "{object_type}/{object_id}",
         "properties": {"kgs:objectId": "object_id", **attributes},
         "links": {"kgs:objectType": "objecttype/{object_type}"}},
        {"class": "kgs:ObjectType", "iri": "objecttype/{object_type}",
         "properties": {"rdfs:label": "object_type"}},
    ]})  # fmt: skip


def _cases_mapping(base: str) -> Mapping:
    return Mapping.model_validate({"base": base, "entities": [
        {"class": "kgs:Case", "iri": "case/{object_id}", "properties": {"kgs:caseId": "object_id"}},
    ]})  # fmt: skip


def _e2o_mapping(base: str) -> Mapping:
    return Mapping.model_validate({"base": base, "entities": [
        {"class": "kgs:Event", "iri": "event/{event_id}",
         "links": {"kgs:involves": "{object_type}/{object_id}"}},
        {"class": "kgs:EventObjectLink", "iri": "event/{event_id}/{object_type}/{object_id}/{key}",
         "properties": {"kgs:qualifier": "qualifier"},
         "links": {"kgs:linkedEvent": "event/{event_id}",
                   "kgs:linkedObject": "{object_type}/{object_id}"}},
    ]})  # fmt: skip


def _case_links_mapping(base: str) -> Mapping:
    return Mapping.model_validate({"base": base, "entities": [
        {"class": "kgs:Event", "iri": "event/{event_id}",
         "links": {"kgs:case": "case/{object_id}"}},
    ]})  # fmt: skip


def _o2o(links: pd.DataFrame, types: dict[str, str], base: str) -> Iterator[bytes]:
    if links.empty:
        return
    frame = links.assign(
        source_type=links["source_id"].map(types).fillna("object"),
        target_type=links["target_id"].map(types).fillna("object"),
        key=links["qualifier"].where(links["qualifier"] != "", "-"),
        qualifier=links["qualifier"].where(links["qualifier"] != ""),
    )
    mapping = Mapping.model_validate({"base": base, "entities": [
        {"class": "kgs:Object", "iri": "{source_type}/{source_id}",
         "links": {"kgs:relatedTo": "{target_type}/{target_id}"}},
        {"class": "kgs:ObjectObjectLink",
         "iri": "{source_type}/{source_id}/{target_type}/{target_id}/{key}",
         "properties": {"kgs:qualifier": "qualifier"},
         "links": {"kgs:fromObject": "{source_type}/{source_id}",
                   "kgs:toObject": "{target_type}/{target_id}"}},
    ]})  # fmt: skip
    yield map_chunk(mapping, _with_rows(frame), graph=None).batch.to_bytes()


def _typed_links(links: pd.DataFrame, types: dict[str, str]) -> pd.DataFrame:
    return _with_rows(links.assign(
        object_type=links["object_id"].map(types).fillna("object"),
        key=links["qualifier"].where(links["qualifier"] != "", "-"),
        qualifier=links["qualifier"].where(links["qualifier"] != ""),
    ))  # fmt: skip


def _attribute(column: str, values: pd.Series) -> dict[str, object]:
    datatype = attribute_datatype(values)
    return {"column": column, **({"datatype": datatype} if datatype else {})}


def _with_rows(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.reset_index(drop=True)
    if ROW not in frame:
        frame = frame.assign(**{ROW: range(1, len(frame) + 1)})
    return frame


def _reasons(rejects: pd.DataFrame) -> pd.DataFrame:
    return rejects.rename(columns={ROW: "row"})[["row", "field", "reason"]]


def _quote(text: str) -> str:
    return urllib.parse.quote(str(text), safe="-._~")
