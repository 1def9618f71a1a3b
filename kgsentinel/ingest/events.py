"""CloudEvents posted one by one or in batches (``POST /events``) into the graph.

Each event is read as a line of a CloudEvents JSON Lines log is (see
:mod:`.cloudevents`) and mapped by the same built-in mapping into the events
graph (``[events] graph``, ``events`` by default), so posting an event and
ingesting it from a file give the same triples.

- **Once by source and id.** An event whose ``source`` and ``id`` are already in
  the graph (or earlier in the same batch) is a duplicate: it is reported as
  such and not written again, even if its other attributes differ.
- **All or nothing.** A batch with a bad event (not an object, a required
  attribute missing, a bad ``time``, data that cannot be mapped) is refused
  whole with :class:`~kgsentinel.errors.EventError` naming every bad event by
  its index and field; nothing of it is stored, and the reasons are appended to
  ``.kgsentinel/rejects/<graph>.csv`` (``row, field, reason``, as ingest runs
  write them; ``row`` is the event's index in its batch). Since stored events
  are kept once, the sender fixes the bad events and posts the batch again.
- **Durable when it returns.** The new events and the run's provenance
  (a ``kgs:IngestRun`` of the events source) are added in one transaction;
  an on-disk embedded store is then flushed to disk, a remote endpoint has
  answered the update. So when :func:`ingest_events` returns, a store opened
  afresh sees the events, even after a crash. Writing straight into the store
  (not into a spool loaded later) keeps one copy of the truth: what was
  accepted is what a query sees.

Example:
    >>> import tempfile, pathlib
    >>> from kgsentinel.workspace import init_workspace, open_workspace
    >>> event = {"specversion": "1.0", "id": "1", "source": "urn:plm", "type": "npi.step",
    ...          "time": "2025-02-03T09:00:00Z", "subject": "NPI-7", "data": {"activity": "Brief"}}
    >>> with open_workspace(init_workspace(pathlib.Path(tempfile.mkdtemp()) / "w")) as ws:
    ...     first = ingest_events(ws, [event])
    ...     again = ingest_events(ws, [event])
    >>> first.accepted, again.accepted, again.duplicates
    (1, 0, 1)
"""

from __future__ import annotations

import csv
import datetime as dt
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox

from kgsentinel.errors import EventError
from kgsentinel.graph import terms
from kgsentinel.graph.ontology import KGS
from kgsentinel.graph.terms import graph_iri
from kgsentinel.workspace import STATE_DIR

if TYPE_CHECKING:  # pragma: no cover
    from kgsentinel.graph.store import GraphStore
    from kgsentinel.workspace import Workspace

__all__ = ["EventOutcome", "EventsReport", "ingest_events", "refuse_events"]

PROV = "http://www.w3.org/ns/prov#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
#: posts are written one at a time, so a duplicate is told apart from a new event exactly
_WRITING = threading.Lock()


@dataclass(frozen=True)
class EventOutcome:
    """What became of one posted event: ``accepted`` (stored now) or ``duplicate``."""

    index: int
    source: str
    id: str
    status: str


@dataclass(frozen=True)
class EventsReport:
    """What one post of events did."""

    graph: str
    events: tuple[EventOutcome, ...]
    #: the ``kgs:IngestRun`` recorded for the post (None when every event was a duplicate)
    run: str | None

    @property
    def accepted(self) -> int:
        """Events stored by this post."""
        return sum(outcome.status == "accepted" for outcome in self.events)

    @property
    def duplicates(self) -> int:
        """Events already stored (same source and id), not written again."""
        return sum(outcome.status == "duplicate" for outcome in self.events)


def ingest_events(workspace: Workspace, events: Sequence[Any]) -> EventsReport:
    """Store CloudEvents (parsed JSON objects), each once by source and id, durably.

    Raises :class:`~kgsentinel.errors.EventError` (nothing stored) when any is bad.
    """
    from kgsentinel.ingest.cloudevents import event_key

    name = workspace.config.events.graph
    with _WRITING:
        keys = [event_key(event) for event in events]
        known = _stored(workspace.store, name, [key for key in keys if key is not None])
        fresh = _first_of_each(keys, known)
        quads, rejects = _mapped(
            name, events, [i for i, k in enumerate(keys) if i in fresh or not k]
        )
        rejects += _mapped(
            name, events, [i for i in range(len(events)) if keys[i] and i not in fresh]
        )[1]
        if rejects:
            raise refuse_events(workspace, len(events), sorted(set(rejects)))
        outcomes = tuple(
            EventOutcome(index, key[0], key[1], "accepted" if index in fresh else "duplicate")
            for index, key in enumerate(keys)
            if key is not None
        )
        if not fresh:
            return EventsReport(name, outcomes, None)
        run = f"urn:kgsentinel:run:{uuid.uuid4().hex}"
        workspace.store.add([*quads, *_provenance(name, run, len(fresh), len(quads))])
        _make_durable(workspace.store)
    return EventsReport(name, outcomes, run)


def _first_of_each(keys: list[tuple[str, str] | None], known: set[tuple[str, str]]) -> set[int]:
    """Indexes of the events to write: the first of each key not stored yet."""
    seen, fresh = set(known), set()
    for index, key in enumerate(keys):
        if key is not None and key not in seen:
            seen.add(key)
            fresh.add(index)
    return fresh


def _stored(store: GraphStore, name: str, keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
    """The keys whose event is already in the events graph."""
    if not keys or not store.has_graph(name):
        return set()
    ids = {f"{source} {ident}": (source, ident) for source, ident in keys}
    values = " ".join(str(ox.Literal(event_id)) for event_id in ids)
    graph = ox.NamedNode(graph_iri(name))
    found = store.query(
        f"PREFIX kgs: <{KGS}>\nSELECT DISTINCT ?id WHERE {{ VALUES ?id {{ {values} }} "
        f"GRAPH {graph} {{ ?event kgs:eventId ?id }} }}"
    )
    return {ids[row["id"].value] for row in found}


def _mapped(
    name: str, events: Sequence[Any], indexes: list[int]
) -> tuple[list[ox.Quad], list[tuple[int, str, str]]]:
    """The quads of the events at ``indexes``, and the bad ones as (index, field, reason)."""
    from kgsentinel.ingest.cloudevents import add_record
    from kgsentinel.ingest.eventlog import ChunkBuilder
    from kgsentinel.ingest.logs import LogSpool, map_log_chunk

    if not indexes:
        return [], []
    builder = ChunkBuilder(chunk_events=len(indexes) + 1, time_field="time")
    subjects: set[str] = set()
    rejects: list[tuple[int, str, str]] = []
    for index in indexes:
        event = events[index]
        if isinstance(event, dict):
            add_record(builder, subjects, index, event)
        else:
            rejects.append((index, "event", f"not a JSON object but {type(event).__name__}"))
    spool = LogSpool()
    document = b"".join(map_log_chunk(builder.take(), name, spool))
    for frame in spool.rejects:
        rejects += [(int(r.row), str(r.field), str(r.reason)) for r in frame.itertuples()]
    graph = ox.NamedNode(graph_iri(name))
    triples = ox.parse(document, format=ox.RdfFormat.N_TRIPLES)
    return [ox.Quad(t.subject, t.predicate, t.object, graph) for t in triples], rejects


def refuse_events(
    workspace: Workspace, total: int, rejects: list[tuple[int, str, str]]
) -> EventError:
    """Record refused events in the rejects file; the error to raise says which and why.

    ``rejects`` are ``(index, field, reason)``, ``total`` the events posted.
    """
    name = workspace.config.events.graph
    _append_rejects(workspace.state_dir, name, rejects)
    index, field, reason = rejects[0]
    more = f" (and {len(rejects) - 1} more)" if len(rejects) > 1 else ""
    return EventError(
        f"{len({r[0] for r in rejects})} of {total} events refused, none stored: event {index}, "
        f"{field}: {reason}{more}; fix them and post the events again (reasons kept in "
        f"{STATE_DIR}/rejects/{name}.csv)",
        rejects,
    )


def _append_rejects(state_dir: Path, name: str, rejects: list[tuple[int, str, str]]) -> Path:
    """Add rejected events to ``rejects/<name>.csv`` (row, field, reason), header once."""
    path = state_dir / "rejects" / f"{name}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.exists() or path.stat().st_size == 0
    with path.open("a", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        if new:
            writer.writerow(["row", "field", "reason"])
        writer.writerows(rejects)
    return path


def _provenance(name: str, run: str, events: int, triples: int) -> list[ox.Quad]:
    graph = ox.NamedNode(graph_iri("provenance"))
    source, activity = ox.NamedNode(f"urn:kgsentinel:source:{name}"), ox.NamedNode(run)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)

    def quad(subject: ox.NamedNode, predicate: str, value: object) -> ox.Quad:
        return terms.quad(subject, predicate, value, graph)

    return [
        quad(source, RDF_TYPE, ox.NamedNode(KGS + "Source")),
        quad(source, RDFS_LABEL, ox.Literal(name)),
        quad(activity, RDF_TYPE, ox.NamedNode(KGS + "IngestRun")),
        quad(activity, PROV + "used", source),
        quad(activity, PROV + "startedAtTime", now),
        quad(activity, PROV + "endedAtTime", now),
        quad(activity, KGS + "rowsRead", events),
        quad(activity, KGS + "rowsLoaded", events),
        quad(activity, KGS + "rowsRejected", 0),
        quad(activity, KGS + "triples", triples),
        quad(ox.NamedNode(graph_iri(name)), PROV + "wasGeneratedBy", activity),
    ]


def _make_durable(store: GraphStore) -> None:
    """Flush an on-disk embedded store (a remote endpoint's answer already says it is saved)."""
    from kgsentinel.graph.embedded import EmbeddedStore

    if isinstance(store, EmbeddedStore) and store.location != "memory":
        store.pyoxigraph.flush()
