"""Write one graph from a stream of N-Triples blocks, atomically, in bounded memory.

``GraphStore.writer(graph)`` returns a :class:`GraphWriter`. Blocks written to
it reach the store as they come, and the graph changes only when the ``with``
block ends without an error:

- **a new graph** is bulk-loaded block by block by background threads (so
  producing the next block overlaps loading this one, and two blocks load at
  once, as Oxigraph's own loader would use two cores), hidden by a loading
  marker until the end; an error drops what was loaded, and no reader ever
  saw it;
- **an existing graph** is spooled to a file, then compared with the stored
  graph in buckets (see :mod:`.loading`) and changed by one update holding the
  difference, so writing the same data again changes nothing.

Blank node labels are scoped to one block: a blank node shared by two blocks
becomes two blank nodes. Mapped data uses IRIs throughout.

Example:
    >>> from kgsentinel.graph import open_store
    >>> store = open_store(":memory:")
    >>> with store.writer("plm") as writer:
    ...     writer.write(b"<urn:x:p1> <urn:x:name> \\"Rose\\" .\\n")
    ...     writer.write(b"<urn:x:p2> <urn:x:name> \\"Iris\\" .\\n")
    >>> writer.report.triples
    2
"""

from __future__ import annotations

import os
import queue
import shutil
import tempfile
import threading
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING

import pyoxigraph as ox

from kgsentinel.graph.loading import (
    LineBuckets,
    bucket_count,
    canonical_ntriples,
    diff_buckets,
    line_blocks,
    mark_update,
    marker_graph,
    unmark_update,
)
from kgsentinel.graph.terms import graph_term

if TYPE_CHECKING:  # pragma: no cover
    from kgsentinel.graph.store import GraphStore, LoadReport

__all__ = ["GraphWriter", "difference_update", "has_blank_nodes"]

_DONE = object()
#: blocks waiting for a loader thread; more would only hold memory
_QUEUED_BLOCKS = 2
#: blocks bulk-loaded at once (one bulk load of a block this size keeps one core busy)
LOADERS = min(2, os.cpu_count() or 1)
#: a bigger block is loaded in pieces of about this size: a bulk load holds its whole
#: input in memory several times over (measured: 24 MB pieces of a 1 GB document
#: peak at 650 MB, 48 MB pieces at 1.1 GB, one call at 1.7 GB, in about the same time)
PIECE_BYTES = 24 << 20


class GraphWriter:
    """A context manager that loads N-Triples blocks into one graph, all or nothing."""

    def __init__(
        self, store: GraphStore, graph: str, *, replace: bool = True, spool_dir: Path | None = None
    ) -> None:
        self.store = store
        self.target = graph_term(graph)
        self.replace = replace
        self.spool_dir = spool_dir
        #: N-Triples lines written so far
        self.lines = 0
        #: what the load did, once the ``with`` block has ended without an error
        self.report: LoadReport | None = None
        self._marker: ox.NamedNode | None = None
        self._queue: queue.Queue[object] = queue.Queue(maxsize=_QUEUED_BLOCKS)
        self._loaders: list[threading.Thread] = []
        self._first_line = 1
        self._failure: BaseException | None = None
        self._work: Path | None = None
        self._spool: IO[bytes] | None = None

    # -- the context -------------------------------------------------------------------

    def __enter__(self) -> GraphWriter:
        self.store._load_lock.acquire()
        try:
            if self.target in self.store._visible_named():
                self._work = Path(tempfile.mkdtemp(prefix="kgs-write-", dir=self.spool_dir))
                self._spool = (self._work / "new.nt").open("wb")
            else:
                self._start_hidden_load()
        except BaseException:
            self.store._load_lock.release()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        try:
            if error is None:
                self._commit()
            else:
                self._rollback()
        finally:
            if self._work is not None:
                shutil.rmtree(self._work, ignore_errors=True)
            self.store._load_lock.release()

    def write(self, block: bytes) -> None:
        """Add an N-Triples block (whole lines) to the graph being written."""
        self._raise_loader_failure()
        if not block:
            return
        self.lines += block.count(b"\n") + (not block.endswith(b"\n"))
        if self._spool is not None:
            self._spool.write(block if block.endswith(b"\n") else block + b"\n")
        else:
            first = self._first_line
            for piece in _pieces(block, PIECE_BYTES):
                self._queue.put((first, piece))
                first += piece.count(b"\n")
                self._raise_loader_failure()
        self._first_line = self.lines + 1

    # -- a new graph: bulk loads behind a marker ---------------------------------------

    def _start_hidden_load(self) -> None:
        self._marker = marker_graph()
        # also removes what a crashed load of this graph left behind
        self.store._update(f"DROP SILENT GRAPH {self.target} ;\n"
                           + mark_update(self._marker, [self.target]))  # fmt: skip
        for number in range(LOADERS):
            loader = threading.Thread(target=self._load_blocks, name=f"kgs-loader-{number}",
                                      daemon=True)  # fmt: skip
            loader.start()
            self._loaders.append(loader)

    def _load_blocks(self) -> None:
        from kgsentinel.graph.store import _rdf_error

        while (item := self._queue.get()) is not _DONE:
            if self._failure is not None:  # after a failure, only drain the queue
                continue
            assert isinstance(item, tuple)
            first, block = item
            try:
                self.store._bulk_load(block, ox.RdfFormat.N_TRIPLES, self.target)
            except SyntaxError as exc:
                if exc.lineno is not None:
                    exc.lineno += first - 1
                self._failure = _rdf_error(f"block at line {first}", ox.RdfFormat.N_TRIPLES, exc)
            except BaseException as exc:  # reported to the writing thread
                self._failure = exc

    def _stop_loader(self) -> None:
        for _ in self._loaders:
            self._queue.put(_DONE)
        for loader in self._loaders:
            loader.join()
        self._loaders = []

    def _raise_loader_failure(self) -> None:
        if self._failure is not None:
            raise self._failure

    # -- the end -----------------------------------------------------------------------

    def _commit(self) -> None:
        from kgsentinel.graph.store import LoadReport

        if self._marker is not None:
            self._stop_loader()
            if self._failure is not None:
                self._rollback()
                raise self._failure
            self.store._update(unmark_update(self._marker))
        else:
            assert self._spool is not None
            self._spool.close()
            self.store._apply_ntriples(self._work / "new.nt", self.target, replace=self.replace,
                                       work=self._work)  # fmt: skip
        self.report = LoadReport("<blocks>", (self.target.value,), self.replace, self.store)

    def _rollback(self) -> None:
        if self._marker is not None:
            self._stop_loader()
            self.store._update(f"DROP SILENT GRAPH {self.target} ;\n"
                               + unmark_update(self._marker))  # fmt: skip
        elif self._spool is not None:
            self._spool.close()


def _pieces(block: bytes, size: int) -> list[bytes]:
    """``block`` cut at line ends into pieces of about ``size`` bytes.

    Example:
        >>> _pieces(b"a\\nb\\nc\\n", 3)
        [b'a\\nb\\n', b'c\\n']
    """
    pieces, start = [], 0
    while len(block) - start > size:
        cut = block.find(b"\n", start + size - 1) + 1 or len(block)
        pieces.append(block[start:cut])
        start = cut
    if start < len(block):
        pieces.append(block[start:])
    return pieces


def difference_update(
    store: GraphStore, graph: ox.NamedNode, new_path: Path, work: Path, *, replace: bool
) -> tuple[str, set[str] | None]:
    """The update turning ``graph`` into the N-Triples in ``new_path`` (or adding them),
    and the subjects it changes (see :meth:`.LineDiff.subjects`).

    Memory holds one bucket of each side and the difference, not the graph. The
    new side must hold no blank nodes (see :func:`has_blank_nodes`).
    """
    with new_path.open("rb") as source:
        new_lines = sum(block.count(b"\n") + 1 for _, block in line_blocks(source))
    count = bucket_count(max(store._size(graph), new_lines))
    old, new = LineBuckets(work, "old", count=count), LineBuckets(work, "new", count=count)
    try:
        with new_path.open("rb") as source:
            for first, block in line_blocks(source):
                new.add(canonical_ntriples(block, first_line=first).splitlines())
        exported = work / "old.nt"
        with exported.open("wb") as out:
            store._dump(graph, ox.RdfFormat.N_TRIPLES, out)
        with exported.open("rb") as source:
            for _, block in line_blocks(source):
                old.add(block.splitlines())
        exported.unlink()
        diff = diff_buckets(old, new, replace=replace)
        return diff.update(graph.value), diff.subjects()
    finally:
        old.remove()
        new.remove()


def has_blank_nodes(path: Path) -> bool:
    """Whether an N-Triples file may hold blank nodes (``_:`` anywhere, even in a literal)."""
    with path.open("rb") as source:
        return any(b"_:" in block for _, block in line_blocks(source))
