"""The HTTP API: one FastAPI app serving SPARQL, events, alerts, health and metrics.

Importing this package is cheap; FastAPI is imported by :mod:`.app` when an
app is made (``kgsentinel serve``, or :func:`kgsentinel.api.app.create_app`).
"""

from __future__ import annotations

__all__: list[str] = []
