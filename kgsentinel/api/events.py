"""``POST /events``: CloudEvents 1.0 over HTTP, in binary, structured and batch mode.

The mode is the request's ``Content-Type`` (CloudEvents HTTP protocol binding):

- ``application/cloudevents+json``: **structured**, the body is one event;
- ``application/cloudevents-batch+json``: **batch**, the body is a JSON array of events;
- anything else: **binary**, the attributes are ``ce-*`` headers (percent-encoded;
  ``ce-time`` is needed too, since an event log orders events by time) and the
  body is the data, its ``Content-Type`` the event's ``datacontenttype``: JSON
  (``application/json``, ``*+json``) is read as JSON, text as text, anything
  else is kept as ``data_base64`` (not mapped).

The events go through :func:`kgsentinel.ingest.events.ingest_events`: each is
kept once by ``source`` and ``id``, and the answer, ``202 Accepted``, comes only
once they are durably in the store. Each event is listed as ``accepted`` or
``duplicate``. A request with any bad event is refused whole (``400``, nothing
stored) listing every bad event by index and field; the reasons also go to
``.kgsentinel/rejects/``. Posting needs role ``ingester``.

Example:
    >>> binary_event({"ce-id": "7", "ce-source": "urn%3Aplm", "ce-type": "step"}, b"", None)
    {'specversion': '1.0', 'id': '7', 'source': 'urn:plm', 'type': 'step'}
"""

from __future__ import annotations

import base64
import json
import urllib.parse
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from prometheus_client import Counter

from kgsentinel.api.app import current_workspace
from kgsentinel.api.metrics import REGISTRY, record_ingest
from kgsentinel.api.security import Principal, require
from kgsentinel.errors import EventError
from kgsentinel.workspace import Workspace

__all__ = ["EVENTS", "binary_event", "read_events", "router"]

STRUCTURED = "application/cloudevents+json"
BATCH = "application/cloudevents-batch+json"
EVENTS = Counter(
    "kgsentinel_events",
    "CloudEvents posted to /events, by outcome (accepted, duplicate, rejected).",
    ["outcome"],
    registry=REGISTRY,
)
_ANSWER = {
    "type": "object",
    "properties": {
        "graph": {"type": "string"},
        "accepted": {"type": "integer", "description": "Events stored by this request."},
        "duplicates": {"type": "integer", "description": "Events already stored (not again)."},
        "events": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "index": {"type": "integer"},
                    "source": {"type": "string"},
                    "id": {"type": "string"},
                    "status": {"type": "string", "enum": ["accepted", "duplicate"]},
                },
            },
        },
        "request_id": {"type": "string"},
    },
}
_EVENT_SCHEMA = {
    "type": "object",
    "required": ["specversion", "id", "source", "type", "time"],
    "properties": {
        "specversion": {"type": "string", "enum": ["1.0"]},
        "id": {"type": "string", "minLength": 1},
        "source": {"type": "string", "minLength": 1},
        "type": {"type": "string", "minLength": 1},
        "time": {"type": "string", "format": "date-time"},
        "subject": {"type": "string", "description": "The case the event belongs to."},
        "data": {"description": "activity, resource, caseType and any attributes."},
    },
}

router = APIRouter(tags=["events"])


@router.post(
    "/events",
    status_code=202,
    summary="Post CloudEvents (binary, structured or batch mode)",
    description=__doc__.split("Example:")[0] if __doc__ else None,
    response_class=JSONResponse,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                STRUCTURED: {"schema": _EVENT_SCHEMA},
                BATCH: {"schema": {"type": "array", "items": _EVENT_SCHEMA}},
                "application/json": {
                    "schema": {"type": "object"},
                    "description": "Binary mode: the event's data; attributes in ce-* headers.",
                },
            },
        }
    },
    responses={
        202: {
            "description": "Stored durably (or already stored).",
            "content": {"application/json": {"schema": _ANSWER}},
        },
        400: {"description": "A bad event: nothing stored; each bad event named."},
        413: {"description": "More events than [events] max_batch, or a body too large."},
    },
)
async def post_events(
    request: Request,
    principal: Annotated[Principal, Depends(require("ingester"))],
    workspace: Annotated[Workspace, Depends(current_workspace)],
) -> JSONResponse:
    """Store the posted events, each once; 202 once they are durable."""
    from kgsentinel.ingest.events import ingest_events

    body = await request.body()
    try:
        events = read_events(request.headers, body)
        _check_size(workspace, events)
        report = await run_in_threadpool(ingest_events, workspace, events)
    except EventError as error:
        EVENTS.labels("rejected").inc(len({index for index, _, _ in error.rejects}))
        record_ingest(workspace.config.events.graph, 0, len(error.rejects))
        return _refusal(request, error)
    except _Unreadable as unreadable:
        from kgsentinel.ingest.events import refuse_events

        error = refuse_events(workspace, 1, [(0, unreadable.field, unreadable.reason)])
        EVENTS.labels("rejected").inc()
        return _refusal(request, error)
    EVENTS.labels("accepted").inc(report.accepted)
    EVENTS.labels("duplicate").inc(report.duplicates)
    record_ingest(report.graph, report.accepted)
    answer = {
        "graph": report.graph,
        "accepted": report.accepted,
        "duplicates": report.duplicates,
        "events": [vars(outcome) for outcome in report.events],
        "request_id": _request_id(request),
    }
    return JSONResponse(answer, status_code=202)


class _Unreadable(Exception):
    """The body or headers cannot be read as CloudEvents at all."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field, self.reason = field, reason


def read_events(headers: Mapping[str, str], body: bytes) -> list[Any]:
    """The events of a request, by its mode (see the module docstring)."""
    media = _media_type(headers.get("content-type"))
    if media == STRUCTURED:
        return [_json(body)]
    if media == BATCH:
        events = _json(body)
        if not isinstance(events, list):
            raise _Unreadable("body", f"a batch is a JSON array of events, not a "
                                      f"{type(events).__name__}")  # fmt: skip
        return events
    if "ce-specversion" not in {name.lower() for name in headers}:
        raise _Unreadable(
            "ce-specversion",
            "no CloudEvent: send ce-specversion, ce-id, ce-source, ce-type and ce-time headers "
            f"with the data as body (binary mode), or Content-Type {STRUCTURED} (one event) "
            f"or {BATCH} (a JSON array)",
        )
    return [binary_event(headers, body, headers.get("content-type"))]


def binary_event(headers: Mapping[str, str], body: bytes, content_type: str | None) -> dict:
    """One event from ``ce-*`` headers and a body of data (binary mode)."""
    event: dict[str, Any] = {"specversion": "1.0"}
    for name, value in headers.items():
        if name.lower().startswith("ce-") and len(name) > 3:
            event[name[3:].lower()] = urllib.parse.unquote(value)
    if content_type:
        event["datacontenttype"] = content_type
    if body:
        media = _media_type(content_type)
        if media == "application/json" or media.endswith("+json"):
            event["data"] = _json(body, field="data")
        elif media.startswith("text/") or not media:
            event["data"] = _text(body)
        else:
            event["data_base64"] = base64.b64encode(body).decode("ascii")
    return event


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def _json(body: bytes, *, field: str = "body") -> Any:
    try:
        return json.loads(body)
    except json.JSONDecodeError as exc:
        raise _Unreadable(field, f"not JSON: {exc.msg} at line {exc.lineno} column "
                                 f"{exc.colno}") from None  # fmt: skip
    except (ValueError, RecursionError) as exc:  # not UTF-8, or nested too deep
        raise _Unreadable(field, f"not JSON: {str(exc).splitlines()[0]}") from None


def _text(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _Unreadable("data", f"text data that is not UTF-8 (byte {exc.start})") from None


def _check_size(workspace: Workspace, events: list[Any]) -> None:
    most = workspace.config.events.max_batch
    if len(events) > most:
        raise HTTPException(
            413,
            f"{len(events):,} events in one request, more than [events] max_batch "
            f"{most:,}; send smaller batches",
        )


def _refusal(request: Request, error: EventError) -> JSONResponse:
    rejected = [{"index": index, "field": field, "reason": reason}
                for index, field, reason in error.rejects]  # fmt: skip
    body = {"error": str(error), "status": 400, "request_id": _request_id(request),
            "rejected": rejected}  # fmt: skip
    return JSONResponse(body, status_code=400)


def _request_id(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)
