"""Prometheus metrics: ``GET /metrics``, and the counters other parts increment.

Requests are counted by route and status, with their durations, and SPARQL
queries timed by outcome, by the app itself. Ingest, detector runs and alert
deliveries are counted by whoever does them, through the ``record_*``
functions here (they cost a dictionary look-up; import this module inside the
function that counts, so the CLI stays quick to start).

Example:
    >>> record_detector_run("conformance", "ok")
    >>> b'kgsentinel_detector_runs_total{detector="conformance",outcome="ok"}' in exposition()
    True
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client import generate_latest as _generate
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "ALERT_DELIVERIES",
    "DETECTOR_RUNS",
    "INGESTED_ROWS",
    "QUERY_SECONDS",
    "REGISTRY",
    "REQUESTS",
    "REQUEST_SECONDS",
    "RequestMetrics",
    "exposition",
    "record_delivery",
    "record_detector_run",
    "record_ingest",
    "record_query",
    "router",
]

#: The registry ``/metrics`` shows (one per process).
REGISTRY = CollectorRegistry(auto_describe=True)
REQUESTS = Counter("kgsentinel_http_requests", "HTTP requests answered, by route and status.",
                   ["method", "route", "status"], registry=REGISTRY)  # fmt: skip
REQUEST_SECONDS = Histogram("kgsentinel_http_request_seconds", "Time to answer HTTP requests.",
                            ["method", "route"], registry=REGISTRY)  # fmt: skip
QUERY_SECONDS = Histogram(
    "kgsentinel_sparql_query_seconds",
    "Time SPARQL queries took, by outcome (ok, error, timeout, too_large).",
    ["outcome"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
    registry=REGISTRY,
)
INGESTED_ROWS = Counter("kgsentinel_ingested_rows", "Rows (or events) ingested, by source and "
                        "outcome (loaded, rejected).", ["source", "outcome"],
                        registry=REGISTRY)  # fmt: skip
DETECTOR_RUNS = Counter("kgsentinel_detector_runs", "Detector runs, by detector and outcome.",
                        ["detector", "outcome"], registry=REGISTRY)  # fmt: skip
ALERT_DELIVERIES = Counter("kgsentinel_alert_deliveries", "Alert deliveries, by sink and "
                           "outcome (delivered, retried, dead).", ["sink", "outcome"],
                           registry=REGISTRY)  # fmt: skip

router = APIRouter(tags=["health"])


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    description="Requests by route and status, request and SPARQL query durations, ingest "
    "counts, detector runs and alert deliveries, in the Prometheus text format.",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "The metrics."}},
)
def metrics() -> Response:
    """Prometheus metrics of this process."""
    return Response(exposition(), media_type=CONTENT_TYPE_LATEST)


def exposition() -> bytes:
    """The metrics in the Prometheus text format."""
    return bytes(_generate(REGISTRY))


def record_ingest(source: str, loaded: int, rejected: int = 0) -> None:
    """Count rows (or events) of ``source`` loaded and rejected."""
    if loaded:
        INGESTED_ROWS.labels(source, "loaded").inc(loaded)
    if rejected:
        INGESTED_ROWS.labels(source, "rejected").inc(rejected)


def record_detector_run(detector: str, outcome: str) -> None:
    """Count one run of ``detector`` (outcome ``ok`` or ``failed``)."""
    DETECTOR_RUNS.labels(detector, outcome).inc()


def record_delivery(sink: str, outcome: str) -> None:
    """Count one delivery attempt to ``sink`` (``delivered``, ``retried`` or ``dead``)."""
    ALERT_DELIVERIES.labels(sink, outcome).inc()


def record_query(outcome: str, seconds: float) -> None:
    """Time one SPARQL query (outcome ``ok``, ``error``, ``timeout`` or ``too_large``)."""
    QUERY_SECONDS.labels(outcome).observe(seconds)


class RequestMetrics:
    """ASGI middleware counting requests by route template (not raw path) and status."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def watching_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, watching_send)
        finally:
            route = _route_template(scope)
            REQUESTS.labels(scope["method"], route, str(status)).inc()
            REQUEST_SECONDS.labels(scope["method"], route).observe(time.perf_counter() - started)


def _route_template(scope: Scope) -> str:
    route: Any = scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path else "(unmatched)"
