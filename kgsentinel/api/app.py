"""The FastAPI app: routers, security, limits, errors with a request id, metrics.

``create_app(workspace)`` builds the app over an opened workspace (or a
workspace folder, opened and closed with the app). Each module named in
:data:`ROUTERS` exposes a ``router``; routes get their workspace with
``Depends(current_workspace)`` and their caller with ``Depends(require(role))``
(see :mod:`.security`).

Every response carries an ``X-Request-ID``. Errors answer JSON
``{"error": ..., "status": ..., "request_id": ...}``; an unexpected error is
logged as one line with the request id and never shows a stack trace or a
secret.

Example:
    >>> import pathlib
    >>> from kgsentinel.config import Config
    >>> from kgsentinel.graph import open_store
    >>> workspace = Workspace(root=None, config=Config(), home=pathlib.Path("."))
    >>> workspace.__dict__["store"] = open_store(":memory:")
    >>> app = create_app(workspace)
    >>> app.openapi()["info"]["title"], "/healthz" in app.openapi()["paths"]
    ('kgsentinel', True)
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import uuid
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kgsentinel.api.metrics import RequestMetrics
from kgsentinel.api.security import TokenRegistry
from kgsentinel.errors import (
    ConfigError,
    EndpointError,
    KgsentinelError,
    QueryError,
    RdfError,
    StoreError,
)
from kgsentinel.workspace import Workspace, open_workspace

__all__ = ["ROUTERS", "create_app", "current_workspace", "error_response", "serve"]

#: Modules under ``kgsentinel.api`` whose ``router`` the app includes, in this order.
ROUTERS = ("health", "metrics", "sparql", "events", "rest", "rest_alerts")

log = logging.getLogger("kgsentinel.api")

_STATUS: tuple[tuple[type[KgsentinelError], int], ...] = (
    (QueryError, 400),
    (RdfError, 400),
    (EndpointError, 502),
    (StoreError, 503),
    (ConfigError, 500),
)


def create_app(
    workspace: Workspace | str | Path | None = None, *, env: Mapping[str, str] | None = None
) -> Any:
    """The API over ``workspace`` (a :class:`Workspace`, or its folder to open).

    A folder (or ``None``: the workspace found from the current folder) is
    opened here and closed when the app shuts down; a :class:`Workspace` passed
    in stays open, its owner closes it.
    """
    owned = not isinstance(workspace, Workspace)
    opened = open_workspace(workspace, env=env) if owned else workspace
    assert isinstance(opened, Workspace)
    settings = opened.config.api
    tokens = TokenRegistry(settings, opened.env if env is None else env)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            for close in reversed(app.state.on_close):
                close()
            if owned:
                opened.close()

    app = FastAPI(
        title="kgsentinel",
        summary="A knowledge graph of business processes: SPARQL, events, anomalies, alerts.",
        version=_version(),
        lifespan=lifespan,
    )
    app.state.workspace = opened
    app.state.settings = settings
    app.state.tokens = tokens
    app.state.on_close = []
    _add_error_handlers(app)
    for name in ROUTERS:
        module = importlib.import_module(f"kgsentinel.api.{name}")
        app.include_router(module.router)
    if settings.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Accept"],
            expose_headers=["X-Request-ID"],
        )
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestMetrics)
    app.add_middleware(RequestId)
    return app


def current_workspace(request: Request) -> Workspace:
    """The app's workspace (a FastAPI dependency: ``Depends(current_workspace)``)."""
    workspace: Workspace = request.app.state.workspace
    return workspace


def error_response(
    request: Request, status: int, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """The JSON error every route answers: message, status and the request id."""
    request_id = getattr(request.state, "request_id", None) or _request_id(request.scope)
    body = {"error": message, "status": status, "request_id": request_id}
    return JSONResponse(body, status_code=status, headers=dict(headers or {}))


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error_response(request, exc.status_code, str(exc.detail), exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(request, 422, _validation_message(exc))

    @app.exception_handler(KgsentinelError)
    async def our_error(request: Request, exc: KgsentinelError) -> JSONResponse:
        status = next((code for kind, code in _STATUS if isinstance(exc, kind)), 400)
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if status >= 500:
            log.warning("request %s: %s: %s", _request_id(request.scope),
                        type(exc).__name__, message)  # fmt: skip
        return error_response(request, status, message)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        request_id = _request_id(request.scope)
        log.error("request %s %s %s failed: %s", request_id, request.method,
                  request.url.path, type(exc).__name__)  # fmt: skip
        return error_response(request, 500, f"internal error (request id {request_id})")


def _validation_message(exc: RequestValidationError) -> str:
    errors = exc.errors()
    if not errors:
        return "invalid request"
    first = errors[0]
    where = ".".join(str(part) for part in first.get("loc", ()))
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {first.get('msg', 'invalid')}{more}"


def _request_id(scope: Scope) -> str:
    state = scope.setdefault("state", {})
    if "request_id" not in state:
        state["request_id"] = uuid.uuid4().hex[:16]
    return str(state["request_id"])


class RequestId:
    """Give each request an id (``X-Request-ID``, kept from the client when sane)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        if given and len(given) <= 64 and given.replace("-", "").isalnum():
            scope.setdefault("state", {})["request_id"] = given
        request_id = _request_id(scope).encode("latin-1")

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id)]
            await send(message)

        await self.app(scope, receive, send_with_id)


class _TooLarge(HTTPException):
    """Raised while reading a body over the limit (FastAPI passes HTTP errors on)."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, _too_large(max_bytes))


def _too_large(max_bytes: int) -> str:
    return f"the request body is over {max_bytes:,} bytes ([api] max_body_bytes); send less"


class BodyLimit:
    """Answer 413 to a request whose body is larger than ``max_bytes``."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length", b"")
        if length.isdigit() and int(length) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge(self.max_bytes)
            return message

        async def watching_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except _TooLarge:
            if not started:
                await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(Request(scope, receive), 413, _too_large(self.max_bytes))
        await response(scope, receive, send)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("kgsentinel")
    except PackageNotFoundError:  # pragma: no cover - running from a plain checkout
        return "0"


def serve(workspace: Workspace, *, host: str | None = None, port: int | None = None) -> None:
    """Serve the API with uvicorn until interrupted (``[api] host`` and ``port`` by default)."""
    import copy

    import uvicorn
    from uvicorn.config import LOGGING_CONFIG

    settings = workspace.config.api
    logging_config = copy.deepcopy(LOGGING_CONFIG)
    logging_config["loggers"]["kgsentinel"] = {"handlers": ["default"], "level": "INFO"}
    uvicorn.run(
        create_app(workspace),
        host=host or settings.host,
        port=port or settings.port,
        log_config=logging_config,
        server_header=False,
    )
