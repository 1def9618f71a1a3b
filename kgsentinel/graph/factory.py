"""Open a graph store from a location string.

Example:
    >>> from kgsentinel.graph.factory import open_store
    >>> open_store(":memory:").location
    'memory'
"""

from __future__ import annotations

from pathlib import Path

from kgsentinel.graph.store import GraphStore

__all__ = ["open_store"]


def open_store(location: str | Path = ":memory:", **options: object) -> GraphStore:
    """Open ``:memory:``, a folder on disk (embedded Oxigraph) or a SPARQL endpoint URL.

    For a URL, ``options`` are the remote settings (``update_url``, ``gsp_url``,
    ``token``, ``timeout``; see :class:`~kgsentinel.graph.remote.RemoteStore`).
    """
    text = str(location)
    if text.startswith(("http://", "https://")):
        from kgsentinel.graph.remote import RemoteStore

        return RemoteStore(text, **options)  # type: ignore[arg-type]
    from kgsentinel.graph.embedded import EmbeddedStore

    return EmbeddedStore(None if text == ":memory:" else Path(text))
