"""The graph store interface that every backend implements.

A store holds named graphs (one per source, plus anomalies, predictions, alerts
and provenance). Queries see the union of all graphs by default. Every load goes
first into a hidden staging graph and is then moved into place by one SPARQL
Update, so readers never see a graph half-loaded and a failed load leaves the
store as it was.

Backends implement a handful of primitives (``_query``, ``_update``,
``_bulk_load``, ``_add_quads``, ``_dump``, ``_named_graphs``); everything else is
shared here, so both backends behave the same way.

Example:
    >>> from kgsentinel.graph import open_store
    >>> with open_store(":memory:") as store:
    ...     _ = store.load(b'<urn:x:a> a <urn:x:Product> .', format="turtle", graph="plm")
    ...     [(g.name, g.triples) for g in store.graphs()]
    [('plm', 1)]
"""

from __future__ import annotations

import contextlib
import io
import re
import shutil
import tempfile
import threading
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import pyoxigraph as ox

from kgsentinel.errors import QueryError, RdfError
from kgsentinel.graph.binding import bind_values
from kgsentinel.graph.loading import (
    diff_update,
    is_marker_graph,
    mark_update,
    marker_graph,
    ntriples_lines,
    unmark_update,
)
from kgsentinel.graph.results import QueryResult
from kgsentinel.graph.terms import (
    GRAPH_PREFIX,
    STAGING_PREFIX,
    graph_term,
    rdf_format,
    to_terms,
)

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from kgsentinel.graph.journal import ChangeJournal
    from kgsentinel.graph.writer import GraphWriter

__all__ = ["GraphInfo", "GraphStore", "LoadReport", "Source", "StoreStats"]

Source = str | Path | bytes
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
_PARSER_PREFIX = re.compile(r"^Parser error (?:at|between) [^:]*: ")


@dataclass(frozen=True)
class GraphInfo:
    """One graph of the store: its IRI and size. The default graph has ``iri=None``."""

    iri: str | None
    triples: int

    @property
    def name(self) -> str:
        """Short name for graphs under ``urn:kgsentinel:graph:``, else the IRI."""
        if self.iri is None:
            return "(default graph)"
        return self.iri.removeprefix(GRAPH_PREFIX)


@dataclass(frozen=True)
class LoadReport:
    """What one load did: the graphs it wrote, and their sizes (counted when first asked)."""

    source: str
    graph_iris: tuple[str, ...]
    replaced: bool
    store: GraphStore = field(repr=False, compare=False)

    @cached_property
    def graphs(self) -> dict[str, int]:
        """Each graph written, with the number of triples it now holds."""
        return {iri: self.store._size(ox.NamedNode(iri)) for iri in self.graph_iris}

    @property
    def triples(self) -> int:
        """Triples in the graphs written by the load."""
        return sum(self.graphs.values())


@dataclass(frozen=True)
class StoreStats:
    """Triples per graph, and the most used classes and predicates."""

    graphs: list[GraphInfo]
    classes: list[tuple[str, int]] = field(default_factory=list)
    predicates: list[tuple[str, int]] = field(default_factory=list)

    @property
    def triples(self) -> int:
        """Triples in all graphs together."""
        return sum(graph.triples for graph in self.graphs)


class GraphStore(ABC):
    """One RDF dataset of named graphs, read with SPARQL, written in atomic loads."""

    #: where the store lives, for messages (a path or an endpoint URL)
    location: str
    #: whether ``_query(visible=None)`` may be used for the union of all graphs when no
    #: graph is hidden (only safe where no load can start between listing and querying)
    native_union: bool = True
    #: loads in one process run one at a time (each is several steps)
    _load_lock = threading.Lock()

    # -- primitives each backend provides ------------------------------------------------

    @abstractmethod
    def _query(
        self, sparql: str, visible: list[ox.NamedNode | ox.DefaultGraph] | None
    ) -> QueryResult:
        """Run a query whose default graph merges the ``visible`` graphs.

        ``None`` means the union of all graphs (only when no graph is hidden).
        """

    @abstractmethod
    def _update(self, sparql: str) -> None:
        """Run a SPARQL Update as one transaction."""

    @abstractmethod
    def _bulk_load(self, source: Source, fmt: ox.RdfFormat, graph: ox.NamedNode) -> None:
        """Load a triples document into ``graph``, fast, not necessarily atomic."""

    @abstractmethod
    def _dump(self, graph: ox.NamedNode | None, fmt: ox.RdfFormat, out: IO[bytes]) -> None:
        """Write one graph (or, with ``None``, every visible graph) to ``out``."""

    @abstractmethod
    def _named_graphs(self) -> list[ox.NamedNode]:
        """Every named graph, staging graphs included."""

    @abstractmethod
    def close(self) -> None:
        """Release the store (files, locks, connections)."""

    def __enter__(self) -> GraphStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading -------------------------------------------------------------------------

    def query(self, sparql: str, *, params: Mapping[str, Any] | None = None) -> QueryResult:
        """Run a SPARQL query over the union of all graphs.

        ``params`` binds variables to values (``{"case": "C-17"}`` binds ``?case``)
        through a ``VALUES`` block written by pyoxigraph's term serialiser, so a
        value can never change the query's meaning (see :mod:`.binding`).

        Example:
            >>> from kgsentinel.graph import open_store
            >>> store = open_store(":memory:")
            >>> store.query("ASK { ?s ?p ?o }").boolean
            False
        """
        bound = bind_values(sparql, to_terms(params))
        return self._query(bound, self._visible_graphs())

    def query_frame(self, sparql: str, *, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        """A SELECT's rows as a DataFrame of text, fast for big results.

        Values are written as SPARQL CSV results are: IRIs and literals as their
        plain text; unbound values (and empty strings) are NA. Use :meth:`query`
        and ``.to_df()`` for typed values.

        Example:
            >>> from kgsentinel.graph import open_store
            >>> store = open_store(":memory:")
            >>> _ = store.load(b"<urn:x:a> <urn:x:p> 1 .", format="turtle", graph="g")
            >>> store.query_frame("SELECT ?s ?o ?none WHERE { ?s ?p ?o }").to_dict("records")
            [{'s': 'urn:x:a', 'o': '1', 'none': nan}]
        """
        import pandas as pd

        bound = bind_values(sparql, to_terms(params))
        document = self._select_csv(bound, self._visible_graphs())
        return pd.read_csv(io.BytesIO(document), dtype=str, keep_default_na=False,
                           na_values=[""])  # fmt: skip

    def _select_csv(
        self, sparql: str, visible: list[ox.NamedNode | ox.DefaultGraph] | None
    ) -> bytes:
        """SPARQL CSV results of a SELECT (backends may do this without Python terms)."""
        result = self._query(sparql, visible)
        if result.kind != "select":
            raise QueryError("query_frame needs a SELECT query")
        return result.serialize("csv")

    def update(self, sparql: str) -> None:
        """Run a SPARQL 1.1 Update as one transaction (all or nothing)."""
        self._update(sparql)

    def graphs(self) -> list[GraphInfo]:
        """Every graph with its triple count, largest first (the default graph if not empty)."""
        result = self.query(
            "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"
        )
        sizes = {row["g"].value: int(row["n"].value) for row in result}
        infos = [GraphInfo(g.value, sizes.get(g.value, 0)) for g in self._visible_named()]
        default = self._default_graph_size()
        if default:
            infos.append(GraphInfo(None, default))
        return sorted(infos, key=lambda info: (-info.triples, info.iri or ""))

    def has_graph(self, graph: str) -> bool:
        """Tell whether a named graph exists (and is not still loading)."""
        return graph_term(graph) in self._visible_named()

    def stats(self, *, top: int = 10) -> StoreStats:
        """Triples per graph, and the ``top`` most used classes and predicates."""
        classes = self.query(
            f"SELECT ?c (COUNT(?s) AS ?n) WHERE {{ ?s <{RDF_TYPE}> ?c }} "
            f"GROUP BY ?c ORDER BY DESC(?n) ?c LIMIT {int(top)}"
        )
        predicates = self.query(
            "SELECT ?p (COUNT(*) AS ?n) WHERE { ?s ?p ?o } "
            f"GROUP BY ?p ORDER BY DESC(?n) ?p LIMIT {int(top)}"
        )
        return StoreStats(
            graphs=self.graphs(),
            classes=[(str(r["c"].value), int(r["n"].value)) for r in classes],
            predicates=[(str(r["p"].value), int(r["n"].value)) for r in predicates],
        )

    def export(
        self,
        out: str | Path | IO[bytes] | None = None,
        *,
        graph: str | None = None,
        format: str | None = None,
    ) -> bytes | None:
        """Write one graph, or all of them, as RDF; return the bytes when ``out`` is None.

        The format comes from ``format`` or the file extension of ``out``; all graphs
        together need a format that holds graphs (N-Quads, TriG).

        Example:
            >>> from kgsentinel.graph import open_store
            >>> store = open_store(":memory:")
            >>> _ = store.load(b"<urn:x:a> <urn:x:p> 1 .", format="turtle", graph="g")
            >>> store.export(graph="g", format="ntriples")
            b'<urn:x:a> <urn:x:p> "1"^^<http://www.w3.org/2001/XMLSchema#integer> .\\n'
        """
        fmt = rdf_format(format or (out if isinstance(out, str | Path) else "nquads"))
        target = self._existing_graph(graph) if graph else None
        if target is None and not fmt.supports_datasets:
            raise RdfError(
                f"{fmt.name} holds one graph: pass --graph, or export all graphs as nquads or trig"
            )
        if out is None:
            buffer = io.BytesIO()
            self._dump(target, fmt, buffer)
            return buffer.getvalue()
        if isinstance(out, str | Path):
            _write_atomically(Path(out), lambda handle: self._dump(target, fmt, handle))
        else:
            self._dump(target, fmt, out)
        return None

    # -- writing -------------------------------------------------------------------------

    def load(
        self,
        source: Source,
        *,
        graph: str | None = None,
        format: str | None = None,
        replace: bool = True,
    ) -> LoadReport:
        """Load an RDF document into a named graph, atomically.

        ``source`` is a path or the document as bytes. Triples go into ``graph``
        (by default named after the file); datasets (N-Quads, TriG) keep their own
        graphs and put their default-graph triples into ``graph``. With ``replace``
        (the default) each graph written is replaced as a whole; otherwise the new
        triples are added. Readers see the old graph until the new one is complete;
        on an error nothing changes (see :mod:`kgsentinel.graph.loading`).
        """
        path = Path(source) if isinstance(source, str | Path) else None
        if path is not None and not path.is_file():
            raise RdfError(f"{path}: no such file; check the path")
        fmt = rdf_format(format or (path if path else ""))
        name = graph or (path.stem if path else None)
        if name is None:
            raise RdfError("name the graph to load into (graph=...)")
        target, label = graph_term(name), str(path) if path else "<data>"
        with self._load_lock:
            try:
                written = self._load(source, fmt, target, replace)
            except SyntaxError as exc:
                raise _rdf_error(label, fmt, exc) from exc
        return LoadReport(label, tuple(sorted(g.value for g in written)), replace, self)

    def _load(
        self, source: Source, fmt: ox.RdfFormat, target: ox.NamedNode, replace: bool
    ) -> list[ox.NamedNode]:
        visible = set(self._visible_named())
        if not fmt.supports_datasets and target not in visible:
            self._load_new({target: source}, fmt, [])
            return [target]
        if fmt == ox.RdfFormat.N_TRIPLES and not isinstance(source, bytes):
            self._apply_ntriples(Path(source), target, replace=replace)
            return [target]
        return self._load_in_memory(source, fmt, target, replace, visible)

    def _load_in_memory(
        self,
        source: Source,
        fmt: ox.RdfFormat,
        target: ox.NamedNode,
        replace: bool,
        visible: set[ox.NamedNode],
    ) -> list[ox.NamedNode]:
        """Parse the document whole, then load new graphs and change existing ones."""
        incoming = _read_in_memory(source, fmt, target)
        graphs = list(incoming.named_graphs())
        if any(not isinstance(g, ox.NamedNode) for g in graphs):
            raise RdfError("graphs named by blank nodes cannot be loaded; name them with IRIs")
        new = {g: _graph_ntriples(incoming, g) for g in graphs if g not in visible}
        changes = [
            diff_update(
                g.value,
                old=ntriples_lines(self._graph_ntriples(g)) if replace else None,
                new=ntriples_lines(_graph_ntriples(incoming, g)),
            )
            for g in graphs
            if g in visible
        ]
        self._load_new(new, ox.RdfFormat.N_TRIPLES, [c for c in changes if c])
        return graphs

    def _load_new(
        self, documents: Mapping[ox.NamedNode, Source], fmt: ox.RdfFormat, changes: list[str]
    ) -> None:
        """Bulk-load new graphs hidden, then show them and apply ``changes`` in one update."""
        hidden, marker = list(documents), marker_graph()
        drops = [f"DROP SILENT GRAPH {g}" for g in hidden]  # also leftovers of a crashed load
        if hidden:
            self._update(" ;\n".join([*drops, mark_update(marker, hidden)]))
        try:
            for graph, document in documents.items():
                self._bulk_load(document, fmt, graph)
            final = [*changes, unmark_update(marker)] if hidden else changes
            if final:
                self._update(" ;\n".join(final))
        except BaseException:
            if hidden:
                self._update(" ;\n".join([*drops, unmark_update(marker)]))
            raise

    def _apply_ntriples(
        self, path: Path, target: ox.NamedNode, *, replace: bool, work: Path | None = None
    ) -> None:
        """Change an existing graph to (or add) the triples of an N-Triples file, in one update.

        Bounded memory unless the file holds blank nodes, whose labels must be read
        together (then the file is parsed whole).
        """
        from kgsentinel.graph.writer import difference_update, has_blank_nodes

        if path.stat().st_size == 0:
            if replace:
                self._update(f"DROP SILENT GRAPH {target}")
            return
        if has_blank_nodes(path):
            self._load_in_memory(path, ox.RdfFormat.N_TRIPLES, target, replace, {target})
            return
        folder = Path(tempfile.mkdtemp(prefix="kgs-diff-", dir=work))
        try:
            update, subjects = difference_update(self, target, path, folder, replace=replace)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        if update:
            with self._saying_changes(subjects):
                self._update(update)

    def writer(
        self, graph: str, *, replace: bool = True, spool_dir: Path | None = None
    ) -> GraphWriter:
        """Write one graph from N-Triples blocks, atomically (see :mod:`.writer`).

        ``spool_dir`` holds the temporary files of a graph that already exists.

        Example:
            >>> from kgsentinel.graph import open_store
            >>> store = open_store(":memory:")
            >>> with store.writer("erp") as writer:
            ...     writer.write(b"<urn:x:s1> <urn:x:country> \\"FR\\" .\\n")
            >>> store.has_graph("erp")
            True
        """
        from kgsentinel.graph.writer import GraphWriter

        return GraphWriter(self, graph, replace=replace, spool_dir=spool_dir)

    def _graph_ntriples(self, graph: ox.NamedNode) -> bytes:
        buffer = io.BytesIO()
        self._dump(graph, ox.RdfFormat.N_TRIPLES, buffer)
        return buffer.getvalue()

    def _size(self, graph: ox.NamedNode) -> int:
        sparql = f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH {graph} {{ ?s ?p ?o }} }}"
        return int(self._query(sparql, self._visible_graphs()).scalar())

    def add(self, quads: Iterable[ox.Quad]) -> None:
        """Add a few quads in one transaction (use :meth:`load` for documents).

        Terms are written by pyoxigraph's serialiser, so any value is safe.
        """
        body = "\n".join(_insert_data_line(quad) for quad in quads)
        if body:
            self._update(f"INSERT DATA {{\n{body}\n}}")

    def change_journal(self) -> ChangeJournal | None:
        """The journal of what writes changed, where the store keeps one (see :mod:`.journal`)."""
        return None

    def _saying_changes(self, subjects: set[str] | None) -> AbstractContextManager[None]:
        """Around a write: it changes only ``subjects`` (for the journal, if any)."""
        return contextlib.nullcontext()

    def drop_graph(self, graph: str) -> None:
        """Delete a named graph and its triples."""
        target = self._existing_graph(graph)
        self._update(f"DROP GRAPH {target}")

    # -- helpers -------------------------------------------------------------------------

    def _hidden_graphs(self, named: list[ox.NamedNode]) -> set[ox.NamedNode]:
        """Staging graphs and graphs still loading: no query may see them."""
        hidden = {g for g in named if g.value.startswith(STAGING_PREFIX)}
        markers: list[ox.NamedNode | ox.DefaultGraph] = [g for g in hidden if is_marker_graph(g)]
        if markers:
            marks = self._query("SELECT ?g WHERE { ?g ?p ?o }", markers)
            hidden |= {row[0] for row in marks.solutions if isinstance(row[0], ox.NamedNode)}
        return hidden

    def _visible_named(self) -> list[ox.NamedNode]:
        named = self._named_graphs()
        hidden = self._hidden_graphs(named)
        return [g for g in named if g not in hidden]

    def _visible_graphs(self) -> list[ox.NamedNode | ox.DefaultGraph] | None:
        """The graphs queries see; ``None`` when the backend's own union is exact."""
        named = self._named_graphs()
        hidden = self._hidden_graphs(named)
        if not hidden and self.native_union:
            return None
        return [ox.DefaultGraph(), *(g for g in named if g not in hidden)]

    def _default_graph_size(self) -> int:
        only_default = [ox.DefaultGraph()]
        return int(self._query("SELECT (COUNT(*) AS ?n) { ?s ?p ?o }", only_default).scalar())

    def _existing_graph(self, graph: str) -> ox.NamedNode:
        target = graph_term(graph)
        if target not in self._visible_named():
            known = ", ".join(g.name for g in self.graphs() if g.iri) or "none yet"
            raise RdfError(f"no graph named {graph!r} in {self.location} (graphs: {known})")
        return target


def _insert_data_line(quad: ox.Quad) -> str:
    triple = f"{quad.subject} {quad.predicate} {quad.object} ."
    if isinstance(quad.graph_name, ox.DefaultGraph):
        return triple
    return f"GRAPH {quad.graph_name} {{ {triple} }}"


def _read_in_memory(source: Source, fmt: ox.RdfFormat, target: ox.NamedNode) -> ox.Store:
    """Parse a document into a scratch in-memory store (default-graph triples into ``target``)."""
    incoming = ox.Store()
    if isinstance(source, bytes):
        incoming.bulk_load(source, format=fmt, to_graph=target)
    else:
        incoming.bulk_load(path=str(source), format=fmt, to_graph=target)
    return incoming


def _graph_ntriples(store: ox.Store, graph: ox.NamedNode) -> bytes:
    return store.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=graph) or b""


def _rdf_error(label: str, fmt: ox.RdfFormat, exc: SyntaxError) -> RdfError:
    where = f"line {exc.lineno}, column {exc.offset}: " if exc.lineno else ""
    message = _PARSER_PREFIX.sub("", str(exc.msg if exc.msg else exc)).splitlines()[0]
    return RdfError(f"{label}: {where}{message} (fix the {fmt.name} syntax; nothing was loaded)")


def _write_atomically(path: Path, write: Any) -> None:
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.part")
    try:
        with temporary.open("wb") as handle:
            write(handle)
        temporary.replace(path)
    finally:
        temporary.unlink(missing_ok=True)


def query_syntax_error(exc: SyntaxError) -> QueryError:
    """Turn pyoxigraph's ``error at L:C: ...`` into one clear line."""
    text = str(exc)
    match = re.match(r"error at (\d+):(\d+): (.*)", text, re.DOTALL)
    if match:
        line, column, detail = match.groups()
        detail = detail.splitlines()[0]
        return QueryError(f"SPARQL syntax error at line {line}, column {column}: {detail}")
    return QueryError(f"SPARQL syntax error: {text.splitlines()[0] if text else 'invalid query'}")
