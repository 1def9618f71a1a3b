"""Running SPARQL queries so that a runaway one can be stopped.

pyoxigraph has no query timeout, and a thread cannot be stopped, so queries on
an on-disk store run in a small pool of worker processes: a query that
outlives its time is stopped by killing its worker, and a fresh worker takes
its place while the others keep answering.

The server process holds the store read-write (RocksDB lets one process do
so), and reading a store while another process writes it is undefined in
RocksDB's read-only mode. So workers read a *checkpoint*: ``Store.backup``
into a folder beside the store, made of hard links to the store's immutable
files (about 0.1 s), taken again when the store has changed since the last one
and the next query arrives. A query therefore sees every write answered
before it was asked. Checkpoints are deleted once no query uses them.

An in-memory store (tests, ``:memory:``) cannot be shared with another
process: its queries run on a thread, and the timeout stops waiting for them
but cannot stop them. A remote store is asked over HTTP with the timeout.

Workers speak over their stdin and stdout: length-prefixed JSON requests, and
answers of a JSON header and the result bytes (no pickle anywhere).

Example:
    >>> import pyoxigraph as ox
    >>> store = ox.Store()
    >>> request = QueryRequest("ASK { ?s ?p ?o }", "json")
    >>> execute(store, request, max_bytes=1000)
    ('ask', b'{"head":{},"boolean":false}')
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import select
import shutil
import struct
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

import pyoxigraph as ox

__all__ = [
    "RESULT_FORMATS",
    "QueryFailed",
    "QueryRequest",
    "QueryTimeout",
    "RemoteRunner",
    "ResultTooLarge",
    "Snapshots",
    "ThreadRunner",
    "WorkerPool",
    "execute",
    "make_runner",
]

#: Result formats by name: (SELECT/ASK format, or RDF format for CONSTRUCT/DESCRIBE).
RESULT_FORMATS: dict[str, ox.QueryResultsFormat | ox.RdfFormat] = {
    "json": ox.QueryResultsFormat.JSON,
    "xml": ox.QueryResultsFormat.XML,
    "csv": ox.QueryResultsFormat.CSV,
    "tsv": ox.QueryResultsFormat.TSV,
    "turtle": ox.RdfFormat.TURTLE,
    "ntriples": ox.RdfFormat.N_TRIPLES,
    "jsonld": ox.RdfFormat.JSON_LD,
    "rdfxml": ox.RdfFormat.RDF_XML,
}
_HEADER = struct.Struct(">I")
_DEFAULT_GRAPH = ""  # how the default graph is named in a request's graph lists


class QueryTimeout(Exception):
    """The query ran out of time and was stopped (its worker killed)."""


class ResultTooLarge(Exception):
    """The serialised result grew past the size limit; nothing was sent."""


class QueryFailed(Exception):
    """The query is invalid (``syntax``) or failed while running (``failed``)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class QueryRequest:
    """One query: its text, result format, dataset and base IRI.

    ``default_graphs`` and ``named_graphs`` are graph IRIs (``""`` is the
    default graph); ``None`` for both, with ``union``, queries the union of all
    graphs; ``None`` for both without ``union`` uses the query's own ``FROM``.
    """

    sparql: str
    format: str
    default_graphs: list[str] | None = None
    named_graphs: list[str] | None = None
    union: bool = False
    base_iri: str | None = None
    snapshot: str | None = field(default=None, compare=False)


class _Bounded:
    """A write-only buffer that refuses to grow past ``limit`` bytes."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.parts: list[bytes] = []
        self.size = 0

    def write(self, data: bytes) -> int:
        self.size += len(data)
        if self.size > self.limit:
            raise ResultTooLarge(f"the result is over {self.limit:,} bytes")
        self.parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        """Nothing to flush (pyoxigraph may call it)."""

    def getvalue(self) -> bytes:
        return b"".join(self.parts)


def execute(store: ox.Store, request: QueryRequest, *, max_bytes: int) -> tuple[str, bytes]:
    """Run ``request`` on ``store``: the result kind and the serialised result.

    Raises :class:`QueryFailed` or :class:`ResultTooLarge`. The result is made
    and dropped on the calling thread, as pyoxigraph requires.
    """
    options = _dataset_options(request)
    try:
        result = store.query(request.sparql, base_iri=request.base_iri, **options)
    except SyntaxError as exc:
        raise QueryFailed("syntax", str(exc)) from None
    except (OSError, RuntimeError, ValueError) as exc:
        raise QueryFailed("failed", str(exc)) from None
    try:
        kind = _kind(result)
        target = RESULT_FORMATS[request.format]
        out = _Bounded(max_bytes)
        try:
            result.serialize(out, format=target)
        except ResultTooLarge:
            raise
        except (OSError, RuntimeError, ValueError, TypeError) as exc:
            raise QueryFailed("failed", str(exc)) from None
        return kind, out.getvalue()
    finally:
        del result


def _kind(result: Any) -> str:
    if isinstance(result, ox.QuerySolutions):
        return "select"
    if isinstance(result, ox.QueryBoolean):
        return "ask"
    return "graph"


def _dataset_options(request: QueryRequest) -> dict[str, Any]:
    if request.default_graphs is None and request.named_graphs is None:
        return {"use_default_graph_as_union": True} if request.union else {}
    options: dict[str, Any] = {"default_graph": _graphs(request.default_graphs or [])}
    if request.named_graphs is not None:
        options["named_graphs"] = _graphs(request.named_graphs)
    return options


def _graphs(iris: list[str]) -> list[ox.NamedNode | ox.DefaultGraph]:
    return [ox.DefaultGraph() if iri == _DEFAULT_GRAPH else ox.NamedNode(iri) for iri in iris]


# -- checkpoints of an on-disk store ----------------------------------------------------


@dataclass
class _Snapshot:
    path: Path
    generation: int
    visible: list[str] | None
    users: int = 0


class Snapshots:
    """Checkpoints of an on-disk store for the workers, one per store generation.

    ``generation`` tells how many writes the store has seen; ``visible`` the
    graphs queries may see then (``None``: all of them).
    """

    def __init__(self, store: Any, folder: Path) -> None:
        self.store = store
        self.folder = folder
        self._lock = threading.Lock()
        self._current: _Snapshot | None = None
        self._old: list[_Snapshot] = []
        shutil.rmtree(folder, ignore_errors=True)  # left over by a server that crashed
        folder.mkdir(parents=True, exist_ok=True)

    @contextlib.contextmanager
    def use(self) -> Any:
        """A checkpoint as new as the store, held for the duration of one query."""
        with self._lock:
            generation = self.store._generation
            if self._current is None or self._current.generation != generation:
                self._replace(generation)
            snapshot = self._current
            assert snapshot is not None
            snapshot.users += 1
        try:
            yield snapshot
        finally:
            with self._lock:
                snapshot.users -= 1
                self._collect()

    def _replace(self, generation: int) -> None:
        visible = self.store._visible_graphs()
        names = None if visible is None else [_graph_name(g) for g in visible]
        path = self.folder / f"{generation}-{uuid.uuid4().hex[:8]}"
        try:
            self.store.pyoxigraph.backup(str(path))
        except OSError as exc:
            shutil.rmtree(path, ignore_errors=True)
            raise QueryFailed("failed", f"cannot make a checkpoint of the store: {exc}") from None
        if self._current is not None:
            self._old.append(self._current)
        self._current = _Snapshot(path, generation, names)
        self._collect()

    def _collect(self) -> None:
        for snapshot in [s for s in self._old if s.users == 0]:
            shutil.rmtree(snapshot.path, ignore_errors=True)
            self._old.remove(snapshot)

    def close(self) -> None:
        """Delete every checkpoint."""
        with self._lock:
            self._old.clear()
            self._current = None
            shutil.rmtree(self.folder, ignore_errors=True)


def _graph_name(graph: ox.NamedNode | ox.DefaultGraph) -> str:
    return graph.value if isinstance(graph, ox.NamedNode) else _DEFAULT_GRAPH


# -- worker processes ----------------------------------------------------------------------


class _Worker:
    """One worker process and its pipes."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "kgsentinel.api.querying"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.stdin: IO[bytes] = self.process.stdin
        self.stdout_fd = self.process.stdout.fileno()

    def ask(self, message: dict[str, Any], deadline: float) -> tuple[dict[str, Any], bytes]:
        """Send one request and wait for its answer until ``deadline`` (monotonic)."""
        _write_frame(self.stdin, json.dumps(message).encode("utf-8"))
        header = json.loads(self._read_frame(deadline))
        payload = self._read_frame(deadline) if header.get("ok") else b""
        return header, payload

    def _read_frame(self, deadline: float) -> bytes:
        (size,) = _HEADER.unpack(self._read_exact(_HEADER.size, deadline))
        return self._read_exact(size, deadline)

    def _read_exact(self, size: int, deadline: float) -> bytes:
        parts: list[bytes] = []
        remaining = size
        while remaining:
            wait = deadline - time.monotonic()
            if wait <= 0 or not select.select([self.stdout_fd], [], [], wait)[0]:
                raise QueryTimeout
            chunk = os.read(self.stdout_fd, min(remaining, 1 << 20))
            if not chunk:
                raise QueryFailed("failed", "the query worker stopped")
            parts.append(chunk)
            remaining -= len(chunk)
        return b"".join(parts)

    def kill(self) -> None:
        """Stop the process now and reap it."""
        with contextlib.suppress(OSError):
            self.process.kill()
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        for pipe in (self.process.stdin, self.process.stdout):
            with contextlib.suppress(OSError):
                if pipe is not None:
                    pipe.close()


class WorkerPool:
    """``size`` worker processes answering queries on checkpoints of an on-disk store."""

    def __init__(self, snapshots: Snapshots, *, size: int, max_bytes: int) -> None:
        self.snapshots = snapshots
        self.max_bytes = max_bytes
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._workers: set[_Worker] = set()
        self._lock = threading.Lock()
        self._closed = False
        for _ in range(size):
            self._start()

    stoppable = True

    def run(self, request: QueryRequest, timeout: float) -> bytes:
        """The result of ``request`` within ``timeout`` seconds, or stop it and raise."""
        deadline = time.monotonic() + timeout
        with self.snapshots.use() as snapshot:
            try:
                worker = self._idle.get(timeout=timeout)
            except queue.Empty:
                raise QueryTimeout from None
            visible = snapshot.visible
            if request.union and visible is not None:
                request = _with_graphs(request, visible)
            message = {**asdict(request), "snapshot": str(snapshot.path),
                       "max_bytes": self.max_bytes}  # fmt: skip
            try:
                header, payload = worker.ask(message, deadline)
            except (QueryTimeout, QueryFailed, OSError):
                self._retire(worker)
                raise
        self._idle.put(worker)
        if not header["ok"]:
            if header["reason"] == "too_large":
                raise ResultTooLarge(header["message"])
            raise QueryFailed(header["reason"], header["message"])
        return payload

    def _start(self) -> None:
        worker = _Worker()
        with self._lock:
            if self._closed:
                worker.kill()
                return
            self._workers.add(worker)
        self._idle.put(worker)

    def _retire(self, worker: _Worker) -> None:
        """Kill a worker (it ran over its time, or broke) and start another in its place."""
        worker.kill()
        with self._lock:
            self._workers.discard(worker)
            if self._closed:
                return
        threading.Thread(target=self._start, name="kgs-query-worker", daemon=True).start()

    def close(self) -> None:
        """Stop every worker and delete the checkpoints."""
        with self._lock:
            self._closed = True
            workers = list(self._workers)
            self._workers.clear()
        for worker in workers:
            worker.kill()
        self.snapshots.close()


class ThreadRunner:
    """Queries on an in-memory store, on the calling thread: a timeout cannot stop them."""

    stoppable = False

    def __init__(self, store: Any, *, max_bytes: int) -> None:
        self.store = store
        self.max_bytes = max_bytes

    def run(self, request: QueryRequest, timeout: float) -> bytes:
        """The result of ``request`` (``timeout`` is left to the caller)."""
        del timeout
        if request.union:
            visible = self.store._visible_graphs()
            if visible is not None:
                request = _with_graphs(request, [_graph_name(g) for g in visible])
        return execute(self.store.pyoxigraph, request, max_bytes=self.max_bytes)[1]

    def close(self) -> None:
        """Nothing to stop."""


class RemoteRunner:
    """Queries passed on to the remote endpoint of a :class:`RemoteStore`, with the timeout.

    The endpoint's answer is passed through when it is in the format asked for,
    else converted by pyoxigraph. A query the endpoint keeps running after the
    timeout is its own to stop.
    """

    stoppable = True

    def __init__(self, store: Any, *, max_bytes: int) -> None:
        self.store = store
        self.max_bytes = max_bytes

    def run(self, request: QueryRequest, timeout: float) -> bytes:
        """The result of ``request`` from the endpoint within ``timeout`` seconds."""
        import httpx

        deadline = time.monotonic() + timeout
        target = RESULT_FORMATS[request.format]
        body = urllib.parse.urlencode([("query", request.sparql), *self._dataset(request)])
        headers = {"Content-Type": "application/x-www-form-urlencoded",
                   "Accept": target.media_type}  # fmt: skip
        client = self.store._client
        if client is None:
            raise QueryFailed("failed", "the store is closed")
        try:
            with client.stream("POST", self.store.query_url, content=body, headers=headers,
                               timeout=timeout) as response:  # fmt: skip
                payload = self._read(response, deadline)
                media = response.headers.get("content-type", "").partition(";")[0].strip()
        except httpx.TimeoutException:
            raise QueryTimeout from None
        except httpx.TransportError as exc:
            raise QueryFailed("failed", f"cannot reach the SPARQL endpoint: {exc}") from None
        if media.lower() == target.media_type.partition(";")[0]:
            return payload
        return _convert(payload, media, target, self.max_bytes)

    def _dataset(self, request: QueryRequest) -> list[tuple[str, str]]:
        if request.union:
            return list(self.store._dataset(self.store._visible_graphs()))
        return [("default-graph-uri", g) for g in request.default_graphs or []] + [
            ("named-graph-uri", g) for g in request.named_graphs or []
        ]

    def _read(self, response: Any, deadline: float) -> bytes:
        if response.status_code >= 400:
            text = response.read().decode("utf-8", "replace").strip().splitlines()
            reason = "syntax" if response.status_code == 400 else "failed"
            first = text[0][:300] if text else f"status {response.status_code}"
            if reason == "syntax":
                raise QueryFailed(reason, first)  # the endpoint's own words
            raise QueryFailed(reason, f"the SPARQL endpoint refused the query: {first}")
        out = _Bounded(self.max_bytes)
        for chunk in response.iter_bytes():
            out.write(chunk)
            if time.monotonic() > deadline:
                raise QueryTimeout
        return out.getvalue()

    def close(self) -> None:
        """The store's owner closes its connections."""


def _convert(
    payload: bytes, media: str, target: ox.QueryResultsFormat | ox.RdfFormat, max_bytes: int
) -> bytes:
    """An endpoint's answer in another format (it sent ``media``)."""
    out = _Bounded(max_bytes)
    try:
        if isinstance(target, ox.QueryResultsFormat):
            source = ox.QueryResultsFormat.from_media_type(media)
            if source is None:
                raise ValueError(f"the endpoint answered {media or 'no content type'}")
            ox.parse_query_results(payload, format=source).serialize(out, format=target)
        else:
            rdf = ox.RdfFormat.from_media_type(media)
            if rdf is None:
                raise ValueError(f"the endpoint answered {media or 'no content type'}")
            ox.serialize((quad.triple for quad in ox.parse(payload, format=rdf)), out,
                         format=target)  # fmt: skip
    except (SyntaxError, ValueError) as exc:
        raise QueryFailed("failed", f"cannot read the endpoint's answer: {exc}") from None
    return out.getvalue()


def make_runner(store: Any, *, workers: int, max_bytes: int) -> Any:
    """The runner for ``store``: worker processes (on disk), a thread (memory) or HTTP."""
    from kgsentinel.graph.embedded import EmbeddedStore

    if not isinstance(store, EmbeddedStore):
        return RemoteRunner(store, max_bytes=max_bytes)
    if store.location == "memory":
        return ThreadRunner(store, max_bytes=max_bytes)
    folder = Path(store.location)
    snapshots = Snapshots(store, folder.with_name(folder.name + ".snapshots"))
    return WorkerPool(snapshots, size=workers, max_bytes=max_bytes)


def _with_graphs(request: QueryRequest, visible: list[str]) -> QueryRequest:
    named = [g for g in visible if g != _DEFAULT_GRAPH]
    return QueryRequest(request.sparql, request.format, visible, named, False, request.base_iri)


# -- the worker's side ---------------------------------------------------------------------


def _write_frame(out: IO[bytes], data: bytes) -> None:
    out.write(_HEADER.pack(len(data)))
    out.write(data)
    out.flush()


def _read_request(stream: IO[bytes]) -> dict[str, Any] | None:
    head = stream.read(_HEADER.size)
    if len(head) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack(head)
    message: dict[str, Any] = json.loads(stream.read(size))
    return message


def _serve(stdin: IO[bytes], stdout: IO[bytes]) -> None:
    """Answer requests until stdin closes (the loop of a worker process)."""
    opened: tuple[str, ox.Store] | None = None
    while (message := _read_request(stdin)) is not None:
        path = message.pop("snapshot")
        max_bytes = int(message.pop("max_bytes"))
        try:
            if opened is None or opened[0] != path:
                opened = None  # let go of the previous checkpoint first
                opened = (path, ox.Store.read_only(path))
            kind, body = execute(opened[1], QueryRequest(**message), max_bytes=max_bytes)
        except ResultTooLarge as exc:
            _write_frame(stdout, _error("too_large", str(exc)))
        except QueryFailed as exc:
            _write_frame(stdout, _error(exc.reason, str(exc)))
        except OSError as exc:
            _write_frame(stdout, _error("failed", f"cannot read the store: {exc}"))
        else:
            _write_frame(stdout, json.dumps({"ok": True, "kind": kind}).encode())
            _write_frame(stdout, body)


def _error(reason: str, message: str) -> bytes:
    return json.dumps({"ok": False, "reason": reason, "message": message}).encode()


if __name__ == "__main__":  # pragma: no cover - run as a worker process
    _serve(sys.stdin.buffer, sys.stdout.buffer)
