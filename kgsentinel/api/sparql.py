"""``/sparql``: the SPARQL 1.1 Protocol endpoint (query and update).

Queries come as ``GET ?query=``, a POST form (``query=``) or a POST body of type
``application/sparql-query``; ``default-graph-uri`` and ``named-graph-uri`` name
the dataset (else a query sees the union of all graphs, or its own ``FROM``).
Results come in the format ``Accept`` prefers: SPARQL JSON, XML, CSV or TSV for
SELECT and ASK; Turtle, N-Triples, JSON-LD or RDF/XML for CONSTRUCT and
DESCRIBE; ``406`` when none is acceptable.

Updates come as a POST form (``update=``) or a body of type
``application/sparql-update``, with ``using-graph-uri`` and
``using-named-graph-uri``, and need a token of role ``operator``.

``SERVICE`` clauses are refused; a query is stopped at ``[api] query_timeout``
and its result limited to ``[api] max_result_bytes`` (see :mod:`.querying`).
"""

from __future__ import annotations

import contextlib
import time
from typing import Annotated, Any

import anyio
import pyoxigraph as ox
from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response

from kgsentinel.api.metrics import record_query
from kgsentinel.api.protocol import (
    FORM,
    MEDIA_TYPES,
    SPARQL_QUERY,
    SPARQL_UPDATE,
    Operation,
    add_using,
    choose_format,
    has_dataset_clause,
    parse_operation,
    query_form,
    refuse_service,
    unsupported_type,
)
from kgsentinel.api.querying import (
    QueryFailed,
    QueryRequest,
    QueryTimeout,
    ResultTooLarge,
    make_runner,
)
from kgsentinel.api.security import ANONYMOUS, Principal, require
from kgsentinel.errors import QueryError

__all__ = ["router"]

router = APIRouter(tags=["sparql"])

_RESULT_TYPES = {media: {} for name in MEDIA_TYPES for media in MEDIA_TYPES[name][:1]}
_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Not a valid query or update (syntax, two operations, a SERVICE "
          "clause, a result over the size limit), or not UTF-8."},
    401: {"description": "No token, or an unknown one, where one is needed."},
    403: {"description": "The token's role may not do this (updates need operator)."},
    406: {"description": "The result cannot be written in any type the Accept header allows."},
    413: {"description": "The request body is over [api] max_body_bytes."},
    415: {"description": "A POST whose Content-Type is not a form, a query or an update."},
    503: {"description": "The query ran over [api] query_timeout and was stopped, or the "
          "store is unavailable."},
}  # fmt: skip
_QUERY_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The query's result, in the negotiated format.",
          "content": _RESULT_TYPES},
    **_ERRORS,
}  # fmt: skip
_POST_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            FORM: {
                "schema": {
                    "type": "object",
                    "properties": {
                        "query": {"type": "string"},
                        "update": {"type": "string"},
                        "default-graph-uri": {"type": "array", "items": {"type": "string"}},
                        "named-graph-uri": {"type": "array", "items": {"type": "string"}},
                        "using-graph-uri": {"type": "array", "items": {"type": "string"}},
                        "using-named-graph-uri": {"type": "array", "items": {"type": "string"}},
                    },
                }
            },
            SPARQL_QUERY: {"schema": {"type": "string"}, "example": "ASK { ?s ?p ?o }"},
            SPARQL_UPDATE: {
                "schema": {"type": "string"},
                "example": "INSERT DATA { GRAPH <urn:kgsentinel:graph:notes> "
                '{ <urn:x:a> <urn:x:note> "checked" } }',
            },
        },
    }
}
GraphList = Annotated[list[str] | None, Query()]


@router.get(
    "/sparql",
    summary="SPARQL query (GET)",
    description="Run a SPARQL 1.1 query given as `query`; the dataset is the union of all "
    "graphs unless `default-graph-uri` / `named-graph-uri` (or the query's FROM) say "
    "otherwise. The result format follows the Accept header.",
    responses=_QUERY_RESPONSES,
)
async def sparql_get(
    request: Request,
    principal: Annotated[Principal, Depends(require("reader"))],
    query: Annotated[str | None, Query(description="The SPARQL query.")] = None,
    default_graph_uri: Annotated[
        list[str] | None,
        Query(alias="default-graph-uri", description="Graphs merged into the default graph."),
    ] = None,
    named_graph_uri: Annotated[
        list[str] | None,
        Query(alias="named-graph-uri", description="Graphs the query may name with GRAPH."),
    ] = None,
) -> Response:
    """SPARQL query over GET."""
    del query, default_graph_uri, named_graph_uri  # read from the raw query string
    operation = parse_operation("GET", None, request.url.query, b"")
    return await _answer(request, principal, operation)


@router.post(
    "/sparql",
    summary="SPARQL query or update (POST)",
    description="A query as a form (`query=`) or a body of type application/sparql-query; "
    "an update as a form (`update=`) or a body of type application/sparql-update (needs "
    "role operator). Dataset parameters go in the URL or the form.",
    responses={**_QUERY_RESPONSES, 204: {"description": "The update was applied."}},
    openapi_extra=_POST_BODY,
)
async def sparql_post(
    request: Request, principal: Annotated[Principal, Depends(require("reader"))]
) -> Response:
    """SPARQL query or update over POST."""
    content_type = request.headers.get("content-type")
    refusal = unsupported_type(content_type)
    if refusal:
        raise HTTPException(415, refusal)
    body = await request.body()
    operation = parse_operation("POST", content_type, request.url.query, body)
    return await _answer(request, principal, operation)


async def _answer(request: Request, principal: Principal, operation: Operation) -> Response:
    refuse_service(operation.text)
    if operation.kind == "update":
        return await _update(request, principal, operation)
    return await _query(request, operation)


async def _query(request: Request, operation: Operation) -> Response:
    kind = query_form(operation.text)
    accept = request.headers.get("accept")
    chosen = choose_format(accept, kind)
    if chosen is None:
        allowed = ", ".join(MEDIA_TYPES[name][0] for name in _formats(kind))
        raise HTTPException(406, f"a {kind.upper()} result cannot be sent as {accept}; "
                            f"accept one of {allowed}")  # fmt: skip
    own = operation.has_dataset or has_dataset_clause(operation.text)
    query = QueryRequest(
        operation.text,
        chosen,
        default_graphs=operation.default_graphs if operation.has_dataset else None,
        named_graphs=operation.named_graphs if operation.has_dataset else None,
        union=not own,
        base_iri=_endpoint(request),
    )
    body = await _run(request, query)
    media = MEDIA_TYPES[chosen][0]
    if chosen in ("csv", "tsv", "turtle", "ntriples"):
        media += "; charset=utf-8"
    return Response(body, media_type=media, headers={"Vary": "Accept"})


def _formats(kind: str) -> tuple[str, ...]:
    if kind == "graph":
        return ("turtle", "ntriples", "jsonld", "rdfxml")
    return ("json", "xml", "csv", "tsv")


async def _run(request: Request, query: QueryRequest) -> bytes:
    settings = request.app.state.settings
    runner = _runner(request)
    timeout = settings.query_timeout
    started = time.perf_counter()
    outcome = "error"
    try:
        # a runner that stops its own queries gets a moment more to say so itself
        with anyio.fail_after(timeout + (2 if runner.stoppable else 0)):
            body: bytes = await anyio.to_thread.run_sync(
                runner.run, query, timeout, abandon_on_cancel=True
            )
        outcome = "ok"
        return body
    except (QueryTimeout, TimeoutError):
        outcome = "timeout"
        raise HTTPException(
            503, f"the query ran over {timeout:g} s ([api] query_timeout) and was stopped; "
            "make it cheaper (a LIMIT, narrower patterns) or ask an admin for more time"
        ) from None  # fmt: skip
    except ResultTooLarge:
        outcome = "too_large"
        raise HTTPException(
            400, f"the result is over {settings.max_result_bytes:,} bytes "
            "([api] max_result_bytes); add a LIMIT or select fewer columns"
        ) from None  # fmt: skip
    except QueryFailed as exc:
        raise QueryError(_query_message(exc)) from None
    finally:
        record_query(outcome, time.perf_counter() - started)


def _query_message(exc: QueryFailed) -> str:
    text = str(exc).splitlines()[0] if str(exc) else "the query failed"
    if exc.reason == "syntax":
        from kgsentinel.graph.store import query_syntax_error

        return str(query_syntax_error(SyntaxError(str(exc))))
    return f"the query failed: {text}"


def _runner(request: Request) -> Any:
    """The app's query runner, started on the first query."""
    state = request.app.state
    runner = getattr(state, "queries", None)
    if runner is None:
        settings = state.settings
        runner = make_runner(state.workspace.store, workers=settings.query_workers,
                             max_bytes=settings.max_result_bytes)  # fmt: skip
        state.queries = runner
        state.on_close.append(runner.close)
    return runner


async def _update(request: Request, principal: Principal, operation: Operation) -> Response:
    if not principal.may("operator"):
        if principal is ANONYMOUS:
            raise HTTPException(
                401,
                "an update needs a token with role operator or above",
                headers={"WWW-Authenticate": 'Bearer realm="kgsentinel"'},
            )
        raise HTTPException(403, f"token {principal.name!r} has role {principal.role}; an "
                            "update needs operator or above")  # fmt: skip
    text = add_using(operation.text, operation.default_graphs, operation.named_graphs)
    with contextlib.suppress(ValueError):  # a Host that makes no IRI: no base
        text = f"BASE {ox.NamedNode(_endpoint(request))} {text}"
    store = request.app.state.workspace.store
    try:
        await anyio.to_thread.run_sync(store.update, text)
    except RuntimeError as exc:  # pyoxigraph's evaluation errors (a missing graph, ...)
        reason = str(exc).splitlines()[0] if str(exc) else "it could not be applied"
        raise QueryError(f"the update failed: {reason}") from None
    return Response(status_code=204)


def _endpoint(request: Request) -> str:
    """This endpoint's URL, the base IRI of relative IRIs in queries and updates."""
    return str(request.url.replace(query="", fragment=""))
