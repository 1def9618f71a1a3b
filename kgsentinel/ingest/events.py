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
- **Group commit.** Posts that arrive while a write goes (one per request
  thread) are written next, together: one mapping, one transaction and one
  flush for all of them, each still checked and answered on its own.

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
import weakref
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
#: the group writer of each store: writes to a store go one group at a time, so a duplicate
#: is told apart from a new event exactly
_WRITERS: weakref.WeakKeyDictionary[GraphStore, _GroupWriter] = weakref.WeakKeyDictionary()
_WRITERS_LOCK = threading.Lock()


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
    Posts made at the same time (one per request thread) are written together.
    """
    post = _Post(list(events))
    with _WRITERS_LOCK:
        writer = _WRITERS.setdefault(workspace.store, _GroupWriter())
    writer.submit(workspace, post)
    if post.error is not None:
        raise post.error
    assert post.report is not None
    return post.report


@dataclass(eq=False)
class _Post:
    """One call's events, and what became of them once written."""

    events: list[Any]
    report: EventsReport | None = None
    error: BaseException | None = None
    done: bool = False

    def finish(
        self, report: EventsReport | None = None, error: BaseException | None = None
    ) -> None:
        self.report, self.error, self.done = report, error, True


class _GroupWriter:
    """Group commit: posts that arrive while a write goes are written next, all together.

    Each post is mapped, checked and reported on its own terms (a bad post is
    refused alone), but the posts of a group share one duplicate look-up, one
    mapping, one transaction and one flush, so concurrent senders are not
    limited by the fixed cost of each.
    """

    def __init__(self) -> None:
        self._turn = threading.Condition()
        self._waiting: list[_Post] = []
        self._busy = False

    def submit(self, workspace: Workspace, post: _Post) -> None:
        with self._turn:
            self._waiting.append(post)
            while self._busy and not post.done:
                self._turn.wait()
            if post.done:
                return
            self._busy = True
            group, self._waiting = self._waiting, []
        try:
            _write_group(workspace, group)
        except BaseException as exc:  # every waiting caller gets the failure
            for member in group:
                if not member.done:
                    member.finish(error=exc)
        finally:
            with self._turn:
                self._busy = False
                self._turn.notify_all()


def _write_group(workspace: Workspace, posts: list[_Post]) -> None:
    """Write the posts' new events in one transaction; refuse each post with a bad event."""
    from kgsentinel.ingest.cloudevents import event_key

    name = workspace.config.events.graph
    while posts:
        events = [event for post in posts for event in post.events]
        owners = [(post, local) for post in posts for local in range(len(post.events))]
        keys = [event_key(event) for event in events]
        known = _stored(workspace.store, name, [key for key in keys if key is not None])
        fresh = _first_of_each(keys, known)
        quads, rejects = _mapped(
            name, events, [i for i, k in enumerate(keys) if i in fresh or not k]
        )
        rejects += _mapped(
            name, events, [i for i in range(len(events)) if keys[i] and i not in fresh]
        )[1]
        refused: dict[_Post, list[tuple[int, str, str]]] = {}
        for index, field, reason in rejects:
            post, local = owners[index]
            refused.setdefault(post, []).append((local, field, reason))
        if refused:  # refuse those, and map the others again without them
            for post, found in refused.items():
                post.finish(error=refuse_events(workspace, len(post.events), sorted(set(found))))
            posts = [post for post in posts if post not in refused]
            continue
        run = f"urn:kgsentinel:run:{uuid.uuid4().hex}" if fresh else None
        if run is not None:
            workspace.store.add([*quads, *_provenance(name, run, len(fresh), len(quads))])
            _make_durable(workspace.store)
        outcomes: dict[_Post, list[EventOutcome]] = {post: [] for post in posts}
        for index, key in enumerate(keys):
            post, local = owners[index]
            if key is not None:
                status = "accepted" if index in fresh else "duplicate"
                outcomes[post].append(EventOutcome(local, key[0], key[1], status))
        for post in posts:
            mine = tuple(outcomes[post])
            wrote = any(outcome.status == "accepted" for outcome in mine)
            post.finish(EventsReport(name, mine, run if wrote else None))
        return


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
