"""How a document reaches the store atomically, at bulk-load speed where possible.

A graph that does not exist yet is bulk-loaded straight into place while a
*loading marker* (a triple in a hidden graph of that load's own) keeps it out of
every query; one small update then drops the marker graph, and the whole graph
appears at once. A crash mid-load leaves the marker, so the partial graph stays
hidden and the next load of it starts over.

A graph that exists is changed by one SPARQL Update that holds only the
difference (``DELETE DATA`` what went away, ``INSERT DATA`` what is new), so
readers see the old graph or the new one, never a mix, and reloading the same
data writes nothing. Blank nodes cannot be named in ``DELETE DATA``, so when
triples with blank nodes go away the update drops the graph and inserts the
new content instead (still one transaction).

The difference of a big graph is found in bounded memory: both sides are
written in Oxigraph's own N-Triples (so ``"12.50"^^xsd:decimal`` meets the
stored ``12.5``), split by a hash of each line into buckets of about
:data:`BUCKET_LINES` lines on disk, and compared a bucket at a time.

Example:
    >>> print(diff_update("urn:g", old={"<urn:a> <urn:p> 1 ."}, new={"<urn:a> <urn:p> 2 ."}))
    DELETE DATA { GRAPH <urn:g> {
    <urn:a> <urn:p> 1 .
    } } ;
    INSERT DATA { GRAPH <urn:g> {
    <urn:a> <urn:p> 2 .
    } }
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd
import pyoxigraph as ox

from kgsentinel.graph.terms import STAGING_PREFIX

__all__ = [
    "BUCKET_LINES",
    "LOADING_MARK",
    "LOADING_PREFIX",
    "LineBuckets",
    "LineDiff",
    "canonical_ntriples",
    "diff_buckets",
    "diff_update",
    "is_marker_graph",
    "line_blocks",
    "mark_update",
    "marker_graph",
    "ntriples_lines",
    "unmark_update",
]

#: each load in progress has a hidden graph under this prefix marking the graphs it writes
LOADING_PREFIX = f"{STAGING_PREFIX}loading:"
LOADING_MARK = ox.NamedNode(f"{STAGING_PREFIX}loadingGraph")
#: lines of a graph compared in memory at once; bigger graphs are compared in buckets
BUCKET_LINES = 1_000_000
#: bytes of N-Triples read, parsed or written as one block
BLOCK_BYTES = 32 << 20


def ntriples_lines(document: bytes) -> set[str]:
    """The set of lines of an N-Triples document written by Oxigraph (one triple each)."""
    return {line for line in document.decode("utf-8").splitlines() if line}


def marker_graph() -> ox.NamedNode:
    """A fresh hidden graph for one load's markers."""
    return ox.NamedNode(f"{LOADING_PREFIX}{uuid.uuid4().hex}")


def is_marker_graph(graph: ox.NamedNode) -> bool:
    """Tell whether ``graph`` holds the markers of a load in progress."""
    return graph.value.startswith(LOADING_PREFIX)


def mark_update(marker: ox.NamedNode, graphs: Iterable[ox.NamedNode]) -> str:
    """Hide ``graphs`` from queries while they load."""
    triples = "\n".join(f"{g} {LOADING_MARK} {g} ." for g in graphs)
    return f"INSERT DATA {{ GRAPH {marker} {{\n{triples}\n}} }}"


def unmark_update(marker: ox.NamedNode) -> str:
    """Show the graphs ``marker`` hides: their load is complete (or was undone)."""
    return f"DROP SILENT GRAPH {marker}"


def diff_update(graph: str, *, old: set[str] | None, new: set[str]) -> str:
    """One update turning ``graph`` from the ``old`` lines into the ``new`` ones.

    ``old=None`` means add ``new`` to what is there (append).
    """
    if old is None:
        return _data("INSERT", graph, new)
    removed = old - new
    if any("_:" in line for line in removed):
        return f"DROP SILENT GRAPH <{graph}> ;\n" + _data("INSERT", graph, new)
    parts = [_data("DELETE", graph, removed), _data("INSERT", graph, new - old)]
    return " ;\n".join(part for part in parts if part)


def _data(verb: str, graph: str, lines: set[str]) -> str:
    if not lines:
        return ""
    body = "\n".join(sorted(lines))
    return f"{verb} DATA {{ GRAPH <{graph}> {{\n{body}\n}} }}"


@dataclass
class LineDiff:
    """Lines (N-Triples, as bytes) that went away and lines that are new."""

    removed: list[bytes] = field(default_factory=list)
    added: list[bytes] = field(default_factory=list)

    def subjects(self) -> set[str] | None:
        """The subjects of the lines that changed (``None`` if a blank node changed).

        Example:
            >>> sorted(LineDiff([b'<urn:a> <urn:p> "1" .'], [b'<urn:b> <urn:p> "2" .']).subjects())
            ['urn:a', 'urn:b']
        """
        subjects = set()
        for line in (*self.removed, *self.added):
            if not line.startswith(b"<"):
                return None
            subjects.add(line[1 : line.index(b">")].decode("utf-8"))
        return subjects

    def update(self, graph: str) -> str:
        """The SPARQL Update applying this difference to ``graph`` (``""`` if none).

        Triples with blank nodes cannot be named in ``DELETE DATA``; when some go
        away, every blank-node triple of the graph is deleted by pattern (the new
        side never holds blank nodes, see :func:`canonical_ntriples`).

        Example:
            >>> LineDiff([b'<urn:a> <urn:p> _:b1 .'], []).update("urn:g")  # doctest: +ELLIPSIS
            'DELETE { GRAPH <urn:g> { ?s ?p ?o } } WHERE { GRAPH <urn:g> { ?s ?p ?o ...'
        """
        named = {line.decode("utf-8") for line in self.removed if b"_:" not in line}
        parts = []
        if len(named) < len(self.removed):
            parts.append(
                f"DELETE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }} WHERE {{ GRAPH <{graph}> "
                "{ ?s ?p ?o FILTER(isBlank(?s) || isBlank(?o)) } }"
            )
        parts.append(_data("DELETE", graph, named))
        parts.append(_data("INSERT", graph, {line.decode("utf-8") for line in self.added}))
        return " ;\n".join(part for part in parts if part)


class LineBuckets:
    """N-Triples lines split by a hash of the line into ``count`` files under ``folder``.

    Equal lines always land in the same bucket, so two sets of lines can be
    compared one bucket at a time.

    Example:
        >>> buckets = LineBuckets(getfixture("tmp_path"), "new", count=2)
        >>> buckets.add([b"<urn:a> <urn:p> <urn:b> .", b"<urn:a> <urn:p> <urn:c> ."])
        >>> sorted(line for i in range(2) for line in buckets.read(i))
        [b'<urn:a> <urn:p> <urn:b> .', b'<urn:a> <urn:p> <urn:c> .']
    """

    def __init__(self, folder: Path, name: str, *, count: int) -> None:
        self.count = count
        self.paths = [folder / f"{name}-{i}.nt" for i in range(count)]
        self._files: list[IO[bytes]] | None = [path.open("wb") for path in self.paths]

    def add(self, lines: list[bytes]) -> None:
        """Append ``lines`` (without their newlines) to their buckets."""
        assert self._files is not None, "buckets are read-only once read"
        if not lines:
            return
        if self.count == 1:
            self._files[0].write(b"\n".join(lines) + b"\n")
            return
        array = np.array(lines, dtype=object)
        bucket = pd.util.hash_array(array) % np.uint64(self.count)
        for i in np.unique(bucket):
            self._files[int(i)].write(b"\n".join(array[bucket == i].tolist()) + b"\n")

    def read(self, i: int) -> set[bytes]:
        """The distinct lines of bucket ``i``."""
        self._close()
        return set(self.paths[i].read_bytes().splitlines()) - {b""}

    def _close(self) -> None:
        for handle in self._files or ():
            handle.close()
        self._files = None

    def remove(self) -> None:
        """Delete the bucket files."""
        self._close()
        for path in self.paths:
            path.unlink(missing_ok=True)


def bucket_count(lines: int) -> int:
    """How many buckets keep each near :data:`BUCKET_LINES` lines.

    Example:
        >>> bucket_count(10), bucket_count(2_500_000)
        (1, 3)
    """
    return max(1, math.ceil(lines / BUCKET_LINES))


def diff_buckets(old: LineBuckets, new: LineBuckets, *, replace: bool = True) -> LineDiff:
    """Compare two bucketed sets of lines; without ``replace`` nothing is removed."""
    assert old.count == new.count
    diff = LineDiff()
    for i in range(old.count):
        before, after = old.read(i), new.read(i)
        if replace:
            diff.removed.extend(before - after)
        diff.added.extend(after - before)
    return diff


def line_blocks(source: IO[bytes], size: int | None = None) -> Iterator[tuple[int, bytes]]:
    """Whole lines of ``source`` in blocks of about ``size`` bytes (:data:`BLOCK_BYTES`),
    each with the number of its first line.

    Example:
        >>> import io
        >>> list(line_blocks(io.BytesIO(b"a\\nb\\nc"), size=2))
        [(1, b'a\\n'), (2, b'b\\n'), (3, b'c')]
    """
    first, rest = 1, b""
    while block := source.read(size or BLOCK_BYTES):
        block = rest + block
        cut = block.rfind(b"\n") + 1
        if cut:
            yield first, block[:cut]
            first += block.count(b"\n", 0, cut)
        rest = block[cut:]
    if rest:
        yield first, rest


def canonical_ntriples(block: bytes, *, first_line: int = 1) -> bytes:
    """N-Triples as the store writes them back: parsed, stored in memory and dumped.

    Literals come back canonical (``"12.50"^^xsd:decimal`` as ``12.5``) and
    escapes as Oxigraph writes them, so the lines compare equal to an export of
    the store. Syntax errors name the line in the whole document.

    Example:
        >>> decimal = "<http://www.w3.org/2001/XMLSchema#decimal>"
        >>> canonical_ntriples(f'<urn:a> <urn:p> "1.50"^^{decimal} .'.encode())
        b'<urn:a> <urn:p> "1.5"^^<http://www.w3.org/2001/XMLSchema#decimal> .\\n'
    """
    scratch = ox.Store()
    try:
        scratch.bulk_load(block, format=ox.RdfFormat.N_TRIPLES)
    except SyntaxError as exc:
        if exc.lineno is None:
            raise
        raise SyntaxError(exc.msg, (None, exc.lineno + first_line - 1, exc.offset, None)) from exc
    return scratch.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=ox.DefaultGraph()) or b""
