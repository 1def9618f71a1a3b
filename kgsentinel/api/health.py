"""Liveness and readiness: ``GET /healthz`` and ``GET /readyz``."""

from __future__ import annotations

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

__all__ = ["router"]

router = APIRouter(tags=["health"])

_READY_TIMEOUT = 10.0


@router.get(
    "/healthz",
    summary="Liveness",
    description="200 while the process serves requests; it does not touch the store.",
    responses={200: {"description": "The server is up.",
                     "content": {"application/json": {"example": {"status": "ok"}}}}},
)  # fmt: skip
async def healthz() -> dict[str, str]:
    """The server is up."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Readiness",
    description="200 when the graph store answers a query, 503 when it does not (an "
    "endpoint down, a store that cannot be read).",
    responses={
        200: {"description": "The store answers.",
              "content": {"application/json": {"example": {"status": "ready",
                                                           "store": "embedded"}}}},
        503: {"description": "The store does not answer."},
    },
)  # fmt: skip
async def readyz(request: Request) -> JSONResponse:
    """Whether the graph store answers a query."""
    from kgsentinel.errors import KgsentinelError

    workspace = request.app.state.workspace
    backend = workspace.config.store.backend
    try:
        with anyio.fail_after(_READY_TIMEOUT):
            await anyio.to_thread.run_sync(lambda: workspace.store.query("ASK {}"))
    except (KgsentinelError, TimeoutError) as exc:
        reason = "no answer in time" if isinstance(exc, TimeoutError) else str(exc)
        return JSONResponse(
            {"status": "unavailable", "store": backend, "reason": reason.splitlines()[0]},
            status_code=503,
        )
    return JSONResponse({"status": "ready", "store": backend})
