"""CloudEvents 1.0 in JSON Lines (structured mode, one event per line), streamed.

Each line is one event. ``specversion`` (``"1.0"``), ``id``, ``source`` and
``type`` are required by CloudEvents, and ``time`` (RFC 3339) by an event log.
The event reads:

=============================  ==========================================================
column                         from
=============================  ==========================================================
``event_id``                   ``"<source> <id>"``: unique per CloudEvents (source + id),
                               and unambiguous, since a URI reference holds no space
``activity``                   ``data.activity`` if it is a non-empty string, else ``type``
``timestamp``                  ``time``
``resource``                   ``data.resource``
E2O ``(subject, "case")``      ``subject``; the object's type is ``data.caseType``
                               (default ``case``), taken from its first event
``attr:<key>``                 every other ``data`` field, nested objects flattened with
                               ``.``, arrays kept as JSON text
``attr:ce.<name>``             context attributes: ``source``, ``id``, ``subject``,
                               ``datacontenttype``, ``dataschema``, extensions, and
                               ``type`` when ``data.activity`` gave the activity
=============================  ==========================================================

Data that is not a JSON object (a string, a number) goes to ``attr:data``;
``data_base64`` is not read. An event without ``subject`` has no case.

A line that cannot be read (not JSON, not an object, a required attribute
missing or empty, a bad ``time``) is rejected with its line number as
``__row__``; blank lines are skipped and not counted. A redelivered event (same
``source`` and ``id``) keeps its ``event_id``, so loading it again changes
nothing. Memory holds one chunk and the set of subjects seen.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = Path(tmp.name) / "events.jsonl"
    >>> _ = path.write_text(
    ...     '{"specversion": "1.0", "id": "7", "source": "urn:plm", "type": "npi.step",'
    ...     ' "time": "2025-02-03T09:00:00Z", "subject": "NPI-7",'
    ...     ' "data": {"activity": "Brief", "caseType": "launch", "cost": {"eur": 12.5}}}\\n'
    ...     '{"specversion": "1.0", "id": "8", "type": "npi.step"}\\n'
    ... )
    >>> [chunk] = read_cloudevents(path)
    >>> chunk.events.drop(columns=["timestamp", "resource", "lifecycle"]).to_dict("records")
    ... # doctest: +NORMALIZE_WHITESPACE
    [{'__row__': 1, 'event_id': 'urn:plm 7', 'activity': 'Brief', 'attr:ce.id': '7',
      'attr:ce.source': 'urn:plm', 'attr:ce.subject': 'NPI-7', 'attr:ce.type': 'npi.step',
      'attr:cost.eur': 12.5}]
    >>> chunk.objects.to_dict("records")
    [{'object_id': 'NPI-7', 'object_type': 'launch'}]
    >>> chunk.rejects.reason.tolist()
    ['missing required attribute(s): source, time']
    >>> tmp.cleanup()
"""

from __future__ import annotations

import gzip
import json
import os
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kgsentinel.ingest.eventlog import (
    ChunkBuilder,
    LogChunk,
    LogFormatError,
    compression_error,
    open_source,
)

__all__ = ["REQUIRED", "add_record", "event_key", "read_cloudevents"]

#: the attributes every line must have (``time`` is required by an event log)
REQUIRED = ("specversion", "id", "source", "type", "time")
_CONTEXT = {"specversion", "id", "source", "type", "time", "subject", "data", "data_base64"}
_DEFAULT_CASE_TYPE = "case"


def read_cloudevents(
    path: str | os.PathLike[str], *, chunk_events: int = 50_000
) -> Iterator[LogChunk]:
    """Stream a CloudEvents JSON Lines file (plain or gzip) as ``LogChunk`` objects.

    Bad lines are rejected, not raised; only truncated gzip data raises
    ``LogFormatError``.
    """
    path = Path(path)
    builder = ChunkBuilder(chunk_events=chunk_events, time_field="time")
    subjects: set[str] = set()
    lineno = 0
    with open_source(path) as stream:
        try:
            for lineno, line in enumerate(stream, 1):
                if line.strip():
                    _line(builder, subjects, lineno, line)
                    if builder.full:
                        yield builder.take()
        except (EOFError, OSError, zlib.error) as exc:
            if isinstance(stream, gzip.GzipFile):
                raise compression_error(path, exc, f"after line {lineno}") from exc
            raise LogFormatError(f"{path}: read failed after line {lineno} ({exc})") from exc
    yield from builder.finish()


def _line(builder: ChunkBuilder, subjects: set[str], row: int, line: bytes) -> None:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        builder.reject_event(row, "line", f"not JSON: {exc.msg} at column {exc.pos + 1}")
        return
    except (ValueError, RecursionError) as exc:  # not UTF-8, or nested too deep
        builder.reject_event(row, "line", f"not JSON: {exc}")
        return
    if not isinstance(record, dict):
        builder.reject_event(row, "line", f"not a JSON object but {type(record).__name__}")
        return
    add_record(builder, subjects, row, record)


def add_record(builder: ChunkBuilder, subjects: set[str], row: int, record: dict[str, Any]) -> None:
    """Add one event already parsed from JSON to ``builder``, or reject it naming the field.

    ``subjects`` are the cases already added as objects (each is added once).
    """
    missing = [name for name in REQUIRED if not _text(record.get(name))]
    if missing:
        builder.reject_event(
            row, missing[0], f"missing required attribute(s): {', '.join(missing)}"
        )
        return
    version = record["specversion"]
    if version != "1.0" and not (isinstance(version, str) and version.startswith("1.")):
        builder.reject_event(row, "specversion", f"{version!r} is not 1.0: only CloudEvents 1.0")
        return
    source, ident, kind = _text(record["source"]), _text(record["id"]), _text(record["type"])
    attrs: dict[str, Any] = {}
    for name, value in record.items():
        if name not in _CONTEXT or name in ("source", "id", "subject"):
            _flatten(f"ce.{name}", value, attrs)
    data = record.get("data")
    activity, resource, case_type = kind, None, _DEFAULT_CASE_TYPE
    if isinstance(data, dict):
        data = dict(data)
        named = data.pop("activity", None)
        if isinstance(named, str) and named:
            activity = named
            attrs["ce.type"] = kind
        elif named is not None:
            data["activity"] = named
        if data.get("resource") is not None:
            resource = _text(data.pop("resource"))
        named_type = data.pop("caseType", None)
        if isinstance(named_type, str) and named_type:
            case_type = named_type
        elif named_type is not None:
            data["caseType"] = named_type
        for key, value in data.items():
            _flatten(key, value, attrs)
    elif data is not None:
        _flatten("data", data, attrs)
    objects: tuple[tuple[str, str], ...] = ()
    subject = _text(record.get("subject"))
    if subject:
        objects = ((subject, "case"),)
        if subject not in subjects:
            subjects.add(subject)
            builder.add_object(subject, case_type)
    builder.add_event(
        row,
        f"{source} {ident}",
        activity,
        _text(record["time"]),
        resource=resource,
        attrs=attrs,
        objects=objects,
    )


def event_key(record: Any) -> tuple[str, str] | None:
    """The ``(source, id)`` that names an event once, or None when either is missing.

    Example:
        >>> event_key({"source": "urn:plm", "id": 7}), event_key({"id": "7"})
        (('urn:plm', '7'), None)
    """
    if not isinstance(record, dict):
        return None
    source, ident = _text(record.get("source")), _text(record.get("id"))
    return (source, ident) if source and ident else None


def _text(value: Any) -> str:
    """A context attribute as text ('' when missing); numbers are accepted as their text."""
    if value is None or isinstance(value, (dict, list)):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _flatten(name: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(f"{name}.{key}", item, out)
    elif isinstance(value, list):
        out[name] = json.dumps(value, ensure_ascii=False)
    elif value is not None:
        out[name] = value
