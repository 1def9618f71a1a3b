"""The graph store: one interface, an embedded Oxigraph and a remote SPARQL 1.1 endpoint.

Example:
    >>> from kgsentinel.graph import open_store
    >>> store = open_store(":memory:")
    >>> store.load(b"<urn:x:a> <urn:x:p> 1 .", format="turtle", graph="demo").triples
    1
    >>> store.query("SELECT (COUNT(*) AS ?n) { ?s ?p ?o }").scalar()
    1
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["GraphInfo", "GraphStore", "LoadReport", "QueryResult", "open_store"]

_LAZY = {
    "GraphInfo": "kgsentinel.graph.store",
    "GraphStore": "kgsentinel.graph.store",
    "LoadReport": "kgsentinel.graph.store",
    "QueryResult": "kgsentinel.graph.results",
    "open_store": "kgsentinel.graph.factory",
}

if TYPE_CHECKING:  # pragma: no cover
    from kgsentinel.graph.factory import open_store
    from kgsentinel.graph.results import QueryResult
    from kgsentinel.graph.store import GraphInfo, GraphStore, LoadReport


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'kgsentinel.graph' has no attribute {name!r}")
