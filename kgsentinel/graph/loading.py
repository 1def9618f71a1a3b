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

import uuid
from collections.abc import Iterable

import pyoxigraph as ox

from kgsentinel.graph.terms import STAGING_PREFIX

__all__ = [
    "LOADING_MARK",
    "LOADING_PREFIX",
    "diff_update",
    "is_marker_graph",
    "mark_update",
    "marker_graph",
    "ntriples_lines",
    "unmark_update",
]

#: each load in progress has a hidden graph under this prefix marking the graphs it writes
LOADING_PREFIX = f"{STAGING_PREFIX}loading:"
LOADING_MARK = ox.NamedNode(f"{STAGING_PREFIX}loadingGraph")


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
