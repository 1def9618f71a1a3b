"""The embedded store: Oxigraph in this process, on disk (RocksDB) or in memory.

An on-disk store is opened read-write by one process at a time. Beside the store
folder a lock file records who holds it (process id, command, start time), so a
second process is told exactly what to stop instead of failing obscurely.

Example:
    >>> store = EmbeddedStore()  # in memory
    >>> store.location
    'memory'
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import sys
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import pyoxigraph as ox

from kgsentinel.errors import QueryError, StoreError, StoreLockedError
from kgsentinel.graph.journal import ChangeJournal
from kgsentinel.graph.results import QueryResult
from kgsentinel.graph.store import GraphStore, Source, query_syntax_error

__all__ = ["EmbeddedStore", "StoreHolderLock"]


class StoreHolderLock:
    """An exclusive lock beside an on-disk store that says who holds it."""

    def __init__(self, store_path: Path) -> None:
        self.path = store_path.with_name(store_path.name + ".lock")
        self.store_path = store_path
        self._handle: IO[str] | None = None

    def acquire(self) -> StoreHolderLock:
        """Take the lock, or raise :class:`StoreLockedError` naming the holder."""
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX: RocksDB's own lock still guards
            return self
        handle = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = handle.read()
            handle.close()
            raise StoreLockedError(self._held_message(holder)) from None
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps(_holder_record()))
        handle.flush()
        self._handle = handle
        return self

    def name_holder(self, command: str) -> None:
        """Say who holds the store in the words of ``command`` (e.g. "the scheduler")."""
        if self._handle is not None:
            self._handle.seek(0)
            self._handle.truncate()
            self._handle.write(json.dumps({**_holder_record(), "command": command}))
            self._handle.flush()

    def release(self) -> None:
        """Let the next process in."""
        if self._handle is not None:
            self._handle.seek(0)
            self._handle.truncate()
            self._handle.close()
            self._handle = None

    def _held_message(self, holder: str) -> str:
        try:
            info = json.loads(holder)
            who = f"process {info['pid']} ({info['command']}, since {info['since']})"
        except (ValueError, KeyError, TypeError):
            who = "another process"
        return (
            f"the store at {self.store_path} is in use by {who}: stop it, or query through "
            "its HTTP endpoint, or use another workspace (--workspace)"
        )


def _holder_record() -> dict[str, Any]:
    command = " ".join([Path(sys.argv[0]).name, *sys.argv[1:3]]) if sys.argv else "python"
    since = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    return {"pid": os.getpid(), "command": command, "since": since}


class EmbeddedStore(GraphStore):
    """Oxigraph in this process: ``EmbeddedStore(path)`` on disk, ``EmbeddedStore()`` in memory.

    Every query names the graphs it may see (measured as fast as Oxigraph's own
    union), so a graph whose load starts while a query runs stays out of it.
    """

    native_union = False

    def __init__(self, path: str | Path | None = None) -> None:
        self._write_lock = threading.Lock()
        self._generation = 0  # bumped after every write: invalidates the cache below
        self._visible_cache: tuple[int, list[ox.NamedNode | ox.DefaultGraph] | None] | None = None
        self._holder: StoreHolderLock | None = None
        self._journal: ChangeJournal | None = None
        self._saying = threading.local()
        if path is None:
            self.location = "memory"
            self._store = ox.Store()
            return
        folder = Path(path)
        self.location = str(folder)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the store folder {folder}: {exc.strerror}") from exc
        self._holder = StoreHolderLock(folder).acquire()
        self._journal = ChangeJournal(folder.with_name(folder.name + ".changes"))
        try:
            self._store = ox.Store(str(folder))
        except OSError as exc:
            self._holder.release()
            raise _open_error(folder, exc) from exc

    def close(self) -> None:
        """Flush and close the store, then release the lock."""
        store = self.__dict__.pop("_store", None)
        if store is not None and self._holder is not None:
            store.flush()
        del store
        if self._holder is not None:
            self._holder.release()
            self._holder = None

    def name_holder(self, command: str) -> None:
        """Say, to processes that find the store in use, who holds it (``command``)."""
        if self._holder is not None:
            self._holder.name_holder(command)

    @property
    def pyoxigraph(self) -> ox.Store:
        """The underlying ``pyoxigraph.Store``, for reading with pyoxigraph's own API.

        Writes through it bypass atomic loads and hidden graphs; use the store's methods.
        """
        return self._open()

    def _visible_graphs(self) -> list[ox.NamedNode | ox.DefaultGraph] | None:
        """Cached: this process is the store's only writer, so it knows when it changes."""
        generation, cached = self._generation, self._visible_cache
        if cached is not None and cached[0] == generation:
            return cached[1]
        visible = super()._visible_graphs()
        if generation == self._generation:
            self._visible_cache = (generation, visible)
        return visible

    def _changed(self) -> None:
        self._generation += 1
        if self._journal is not None:
            self._journal.record(getattr(self._saying, "subjects", None))

    def change_journal(self) -> ChangeJournal | None:
        """The journal beside an on-disk store (this process is its only writer)."""
        return self._journal

    @contextlib.contextmanager
    def _saying_changes(self, subjects: set[str] | None) -> Iterator[None]:
        self._saying.subjects = subjects
        try:
            yield
        finally:
            self._saying.subjects = None

    def _open(self) -> ox.Store:
        try:
            return self._store
        except AttributeError:
            raise StoreError(f"the store at {self.location} is closed") from None

    def _query(
        self, sparql: str, visible: list[ox.NamedNode | ox.DefaultGraph] | None
    ) -> QueryResult:
        return QueryResult.from_pyoxigraph(self._run_query(sparql, visible))

    def _select_csv(
        self, sparql: str, visible: list[ox.NamedNode | ox.DefaultGraph] | None
    ) -> bytes:
        # Results may be read on a worker thread (see kgsentinel.detectors.events), and
        # pyoxigraph's results must be dropped on the thread that made them: no frame of
        # an exception raised here may keep them alive.
        result = self._run_query(sparql, visible)
        try:
            if not isinstance(result, ox.QuerySolutions):
                raise QueryError("query_frame needs a SELECT query")
            try:
                return result.serialize(format=ox.QueryResultsFormat.CSV) or b""
            except (OSError, RuntimeError) as exc:
                raise QueryError(f"the query failed: {exc}") from None
        finally:
            del result

    def _run_query(self, sparql: str, visible: list[ox.NamedNode | ox.DefaultGraph] | None) -> Any:
        options: dict[str, Any] = {}
        if visible is None:
            options["use_default_graph_as_union"] = True
        else:
            options["default_graph"] = visible
            options["named_graphs"] = [g for g in visible if isinstance(g, ox.NamedNode)]
        try:
            return self._open().query(sparql, **options)
        except SyntaxError as exc:
            raise query_syntax_error(exc) from exc
        except (OSError, RuntimeError) as exc:
            raise QueryError(f"the query failed: {exc}") from exc

    def _update(self, sparql: str) -> None:
        with self._write_lock:
            try:
                self._open().update(sparql)
            except SyntaxError as exc:
                raise query_syntax_error(exc) from exc
            except OSError as exc:
                raise StoreError(f"the update failed in {self.location}: {exc}") from exc
            finally:
                self._changed()

    def _bulk_load(self, source: Source, fmt: ox.RdfFormat, graph: ox.NamedNode) -> None:
        # Not under the write lock: bulk loads go into a graph hidden by its marker, and a
        # graph writer runs two of them at once (see kgsentinel.graph.writer).
        try:
            if isinstance(source, bytes):
                self._open().bulk_load(source, format=fmt, to_graph=graph)
            else:
                self._open().bulk_load(path=str(source), format=fmt, to_graph=graph)
        finally:
            self._changed()

    def add(self, quads: Iterable[ox.Quad]) -> None:
        """Add a few quads in one transaction."""
        quads = list(quads)
        subjects = {q.subject.value for q in quads if isinstance(q.subject, ox.NamedNode)}
        known = subjects if len(subjects) == len({q.subject for q in quads}) else None
        with self._write_lock, self._saying_changes(known):
            try:
                self._open().extend(quads)
            finally:
                self._changed()

    def _dump(self, graph: ox.NamedNode | None, fmt: ox.RdfFormat, out: IO[bytes]) -> None:
        store = self._open()
        visible = self._visible_graphs() if graph is None else None
        if graph is not None:
            store.dump(out, format=fmt, from_graph=graph)
        elif visible is None:
            store.dump(out, format=fmt)
        else:
            shown = set(visible)
            quads = store.quads_for_pattern(None, None, None, None)
            ox.serialize((q for q in quads if q.graph_name in shown), out, format=fmt)

    def _named_graphs(self) -> list[ox.NamedNode]:
        return [g for g in self._open().named_graphs() if isinstance(g, ox.NamedNode)]


def _open_error(folder: Path, exc: OSError) -> StoreError:
    text = str(exc)
    if "lock" in text.lower():
        return StoreLockedError(
            f"the store at {folder} is open in another program (its database lock is held): "
            "close that program, or use another workspace (--workspace)"
        )
    return StoreError(f"cannot open the store at {folder}: {text.splitlines()[0]}")
