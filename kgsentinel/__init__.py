"""kgsentinel: a knowledge-graph sentient layer for business processes.

Sources and business events go into one RDF graph; detectors flag process
anomalies and predict outcomes; alerts reach ops teams; analysts query
everything with SPARQL. Importing the package is cheap: parts load on first use.

Example:
    >>> import kgsentinel
    >>> store = kgsentinel.open_store(":memory:")
    >>> store.query("ASK { ?s ?p ?o }").boolean
    False
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["__version__", "init_workspace", "open_store", "open_workspace"]

_LAZY = {
    "open_store": "kgsentinel.graph.factory",
    "open_workspace": "kgsentinel.workspace",
    "init_workspace": "kgsentinel.workspace",
}

if TYPE_CHECKING:  # pragma: no cover
    from kgsentinel.graph.factory import open_store
    from kgsentinel.workspace import init_workspace, open_workspace


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'kgsentinel' has no attribute {name!r}")
