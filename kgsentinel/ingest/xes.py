"""XES event logs (IEEE 1849, ``.xes`` and ``.xes.gz``), streamed with expat.

Each trace becomes an object of type ``case``: its ``concept:name`` is the
object id and its other attributes are the object's attributes. Each event links
to its case with the qualifier ``case`` and reads:

==========================  =============================================
XES attribute               column
==========================  =============================================
``concept:name``            ``activity`` (required)
``time:timestamp``          ``timestamp`` (required)
``org:resource``            ``resource``
``lifecycle:transition``    ``lifecycle``
``identity:id``             ``event_id`` (else the ``id`` XML attribute)
anything else               ``attr:<key>``
==========================  =============================================

- **Event ids** are the event's ``identity:id`` (or ``id`` XML attribute), else
  ``"<case id>#<n>"`` where ``n`` is the event's 1-based position in its trace,
  counting events that were rejected, so ids are stable across re-reads and
  re-ingest is idempotent. A trace that repeats an earlier trace's case id adds
  its events to that case, numbered on from where it ended (its other trace
  attributes are reported in rejects, not read). An event outside any trace
  gets ``"#<row>"`` and no case.
- **Types** follow the attribute element: ``string`` and ``id`` give ``str``,
  ``int`` ``int``, ``float`` ``float``, ``boolean`` ``bool``, ``date`` a UTC
  ``pandas.Timestamp``. A value that is not of its type rejects the event (for a
  trace attribute: that attribute only).
- **Nesting** is flattened: a nested (meta-)attribute ``b`` of ``a`` becomes
  ``attr:a.b``; container members likewise; the items of a list's ``values``
  become ``attr:a.0``, ``attr:a.1``... in order.
- **Not read:** log-level attributes, ``global`` defaults (they are
  declarations, not values), extensions and classifiers.
- **Start and complete** events of one activity stay two events, each with its
  ``lifecycle``.
- **Chunks** hold ``chunk_events`` events; a trace may span chunks, and its case
  object comes in the chunk of its first event (or of its end, if it has
  none) with the trace attributes written before that event. Trace attributes
  written after the events (unusual) are added if the case's chunk has not been
  passed on yet, and reported in rejects otherwise. Memory holds one chunk, the
  current trace's attributes and the set of case ids seen: no XML tree is built.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = Path(tmp.name) / "npi.xes"
    >>> _ = path.write_text('''<log xes.version="1.0"><trace>
    ...   <string key="concept:name" value="NPI-7"/><float key="budget" value="1.5E5"/>
    ...   <event><string key="concept:name" value="Brief"/>
    ...     <date key="time:timestamp" value="2025-02-03T10:00:00+01:00"/>
    ...     <int key="attempt" value="1"/></event>
    ...   <event><string key="concept:name" value="Formulation"/></event>
    ... </trace></log>''')
    >>> [chunk] = read_xes(path)
    >>> chunk.events[["event_id", "activity", "attr:attempt"]].to_dict("records")
    [{'event_id': 'NPI-7#1', 'activity': 'Brief', 'attr:attempt': 1}]
    >>> chunk.objects.to_dict("records")
    [{'object_id': 'NPI-7', 'object_type': 'case', 'attr:budget': 150000.0}]
    >>> chunk.rejects[["__row__", "field"]].to_dict("records")
    [{'__row__': 2, 'field': 'time:timestamp'}]
    >>> chunk.rejects.reason[0]
    'missing: an event needs its time (time:timestamp)'
    >>> tmp.cleanup()
"""

from __future__ import annotations

import gzip
import os
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any
from xml.parsers import expat

from kgsentinel.ingest.eventlog import (
    ChunkBuilder,
    LogChunk,
    LogFormatError,
    compression_error,
    open_source,
    parse_time,
)

__all__ = ["CASE", "read_xes"]

#: the object type, and the E2O qualifier, of a trace's case
CASE = "case"
_TRUE = {"true", "1"}
_FALSE = {"false", "0"}
_READ_BYTES = 1 << 16
_CORE = {"concept:name", "time:timestamp", "org:resource", "lifecycle:transition", "identity:id"}
_VALUES = {"string", "date", "int", "float", "boolean", "id"}
_Problem = tuple[str, str]


def read_xes(path: str | os.PathLike[str], *, chunk_events: int = 50_000) -> Iterator[LogChunk]:
    """Stream an XES file (plain or gzip) as ``LogChunk`` objects of ``chunk_events`` events.

    Raises ``LogFormatError`` for XML that is not well formed, a root that is
    not ``<log>``, or truncated gzip data.
    """
    path = Path(path)
    reader = _XesReader(path, ChunkBuilder(chunk_events=chunk_events, time_field="time:timestamp"))
    with open_source(path) as stream:
        try:
            yield from reader.read(stream)
        except expat.ExpatError as exc:
            raise LogFormatError(
                f"{path}: not well-formed XML at line {exc.lineno}, column {exc.offset + 1} "
                f"({expat.ErrorString(exc.code)}); the file is damaged or not XES, export it again"
            ) from exc
        except (EOFError, OSError, zlib.error) as exc:
            if isinstance(stream, gzip.GzipFile):
                raise compression_error(path, exc, f"after event {reader.events}") from exc
            raise LogFormatError(
                f"{path}: read failed after event {reader.events} ({exc})"
            ) from exc


class _Trace:
    __slots__ = ("attrs", "case_id", "entries", "generation", "index", "n_resolved", "name",
                 "offset", "ordinal", "pending", "resolved")  # fmt: skip

    def __init__(self, ordinal: int) -> None:
        self.ordinal = ordinal
        self.name: str | None = None  # the trace's concept:name, once read
        self.entries: list[tuple[str, str, str | None]] = []  # other attributes: name, kind, raw
        self.case_id: str | None = None
        self.resolved = False  # tried to find the case id at the first event
        self.n_resolved = 0  # entries read when the case id was found
        self.offset = 0  # events of earlier traces with the same case id
        self.index = 0  # events of this trace so far
        self.pending: list[_Event] = []  # events waiting for a late concept:name
        self.attrs: dict[str, Any] | None = None  # the case object's attributes, if new
        self.generation = -1  # the builder generation that holds the case object


class _Event:
    __slots__ = ("activity", "attrs", "ident", "index", "lifecycle", "problems", "resource",
                 "row", "time", "trace")  # fmt: skip

    def __init__(self, row: int, trace: _Trace | None, ident: str | None) -> None:
        self.row = row
        self.trace = trace
        self.index = trace.index if trace is not None else 0
        self.activity: str | None = None
        self.time: str | None = None
        self.resource: str | None = None
        self.lifecycle: str | None = None
        self.ident = ident
        self.attrs: dict[str, Any] = {}
        self.problems: list[_Problem] = []


class _Values:
    """An open ``<values>`` of a list: its items are named by their index."""

    __slots__ = ("count", "name", "owner")

    def __init__(self, owner: _Event | _Trace, name: str) -> None:
        self.owner = owner
        self.name = name
        self.count = 0


# The stack of open elements holds the log marker, _SKIP, a _Trace, an _Event, a _Values,
# or, for an attribute, the tuple (owner, flattened name). Checks go by exact class, in
# order of frequency: this is the hot loop of XES reading.
_LOG, _SKIP = "log", "skip"


class _XesReader:
    """Expat callbacks over a stack of open elements; no XML tree is kept."""

    def __init__(self, path: Path, builder: ChunkBuilder) -> None:
        self.path = path
        self.builder = builder
        self.events = 0
        self.traces = 0
        self.cases: dict[str, int] = {}  # case id -> events numbered so far
        self.stack: list[Any] = []
        self.ready: list[LogChunk] = []

    def read(self, stream: IO[bytes]) -> Iterator[LogChunk]:
        # expat (>= 2.4) limits entity expansion and resolves no external entities
        parser = expat.ParserCreate()
        parser.StartElementHandler = self._start
        parser.EndElementHandler = self._end
        while data := stream.read(_READ_BYTES):
            parser.Parse(data, False)
            yield from self.ready
            self.ready.clear()
        parser.Parse(b"", True)
        yield from self.ready
        yield from self.builder.finish()

    # --- expat callbacks -------------------------------------------------------------------

    def _start(self, tag: str, attributes: dict[str, str]) -> None:
        stack = self.stack
        if ":" in tag:
            tag = tag[tag.rfind(":") + 1 :]
        if not stack:
            if tag != "log":
                raise LogFormatError(
                    f"{self.path}: the root element is <{tag}>, not <log>: not an XES file"
                )
            stack.append(_LOG)
            return
        top = stack[-1]
        kind = top.__class__
        if kind is _Event:
            key = attributes.get("key")
            if key is None:
                stack.append(_SKIP)
                return
            if key in _CORE:
                value = attributes.get("value")
                if key == "concept:name":
                    top.activity = value
                elif key == "time:timestamp":
                    top.time = value
                elif key == "org:resource":
                    top.resource = value
                elif key == "lifecycle:transition":
                    top.lifecycle = value
                else:
                    top.ident = value
            else:
                _store(top, key, tag, attributes.get("value"))
            stack.append((top, key))
        elif kind is tuple:
            owner, name = top
            if tag == "values":
                stack.append(_Values(owner, name))
            elif (key := attributes.get("key")) is not None:
                stack.append(self._nested(owner, f"{name}.{key}", tag, attributes))
            else:
                stack.append(_SKIP)
        elif kind is _Values:
            top.count += 1
            stack.append(self._nested(top.owner, f"{top.name}.{top.count - 1}", tag, attributes))
        elif kind is _Trace:
            if tag == "event":
                if not top.resolved:
                    top.resolved = True
                    self._resolve(top)
                stack.append(self._new_event(top, attributes))
            elif (key := attributes.get("key")) is None:
                stack.append(_SKIP)
            else:
                if key == "concept:name" and top.name is None:
                    top.name = attributes.get("value")
                else:
                    top.entries.append((key, tag, attributes.get("value")))
                stack.append((top, key))
        elif top is _LOG and tag == "trace":
            self.traces += 1
            stack.append(_Trace(self.traces))
        elif top is _LOG and tag == "event":
            stack.append(self._new_event(None, attributes))
        else:
            stack.append(_SKIP)  # log attributes, globals, extensions, classifiers

    def _end(self, tag: str) -> None:
        element = self.stack.pop()
        kind = element.__class__
        if kind is _Event:
            self._finish_event(element)
        elif kind is _Trace:
            for event in self._end_trace(element):
                self._emit(event)

    def _nested(
        self, owner: _Event | _Trace, name: str, tag: str, attributes: dict[str, str]
    ) -> tuple[_Event | _Trace, str]:
        if owner.__class__ is _Event:
            _store(owner, name, tag, attributes.get("value"))  # type: ignore[arg-type]
        else:
            owner.entries.append((name, tag, attributes.get("value")))  # type: ignore[union-attr]
        return (owner, name)

    # --- traces ----------------------------------------------------------------------------

    def _resolve(self, trace: _Trace) -> bool:
        """Find the trace's case id and attributes; add its case object if it is new."""
        if trace.name is None:
            return False
        case_id = trace.case_id = trace.name
        trace.n_resolved = len(trace.entries)
        offset = self.cases.get(case_id)
        if offset is not None:
            trace.offset = offset
            return True
        self.cases[case_id] = 0
        attrs = self._trace_attributes(trace, trace.entries)
        trace.attrs = self.builder.add_object(case_id, CASE, attrs)
        trace.generation = self.builder.generation
        return True

    def _trace_attributes(
        self, trace: _Trace, entries: list[tuple[str, str, str | None]]
    ) -> dict[str, Any]:
        attrs: dict[str, Any] = {}
        for name, kind, raw in entries:
            value = _typed(kind, raw)
            if value is _BAD:
                self.builder.reject_object(trace.ordinal, name, _bad(kind, raw))
            elif value is not None:
                attrs[name] = value
        return attrs

    def _end_trace(self, trace: _Trace) -> list[_Event]:
        """Finish a trace; returns the events still to emit."""
        builder = self.builder
        if trace.case_id is None and not self._resolve(trace):
            for event in trace.pending:
                builder.reject_event(
                    event.row,
                    "concept:name",
                    f"its trace (trace {trace.ordinal}) has no concept:name, so no case id",
                )
                self._check_full()
            if not trace.pending:
                builder.reject_object(trace.ordinal, "concept:name", "trace has no concept:name")
            return []
        assert trace.case_id is not None
        if trace.attrs is None:  # a repeated case id: its attributes are not read
            if trace.entries:
                builder.reject_object(
                    trace.ordinal,
                    "concept:name",
                    f"trace {trace.ordinal} repeats the case id {trace.case_id!r} of an earlier "
                    "trace: its events join that case, its other attributes are not read",
                )
        elif len(trace.entries) > trace.n_resolved:
            late = self._trace_attributes(trace, trace.entries[trace.n_resolved :])
            if trace.generation == builder.generation:
                trace.attrs.update(late)
            else:
                for key in late:
                    builder.reject_object(
                        trace.ordinal,
                        key,
                        "trace attribute written after events that were passed on in an "
                        "earlier chunk: not read; write trace attributes before the events, "
                        "or raise chunk_events",
                    )
        self.cases[trace.case_id] = trace.offset + trace.index
        return trace.pending

    # --- events ----------------------------------------------------------------------------

    def _new_event(self, trace: _Trace | None, attributes: dict[str, str]) -> _Event:
        self.events += 1
        if trace is not None:
            trace.index += 1
        return _Event(self.events, trace, attributes.get("id"))

    def _finish_event(self, event: _Event) -> None:
        if event.activity is None:
            event.problems.insert(
                0, ("concept:name", "missing: an event needs its activity (concept:name)")
            )
        trace = event.trace
        if trace is not None and trace.case_id is None:
            trace.pending.append(event)  # until the trace's end names the case
        else:
            self._emit(event)

    def _emit(self, event: _Event) -> None:
        builder = self.builder
        if event.problems:
            builder.reject_event(event.row, *event.problems[0])
        else:
            assert event.activity is not None
            trace = event.trace
            if trace is not None:
                case_id = trace.case_id
                assert case_id is not None
                event_id = event.ident or f"{case_id}#{trace.offset + event.index}"
                objects: tuple[tuple[str, str], ...] = ((case_id, CASE),)
            else:
                event_id = event.ident or f"#{event.row}"
                objects = ()
            builder.add_event(
                event.row,
                event_id,
                event.activity,
                event.time,
                resource=event.resource,
                lifecycle=event.lifecycle,
                attrs=event.attrs,
                objects=objects,
            )
        self._check_full()

    def _check_full(self) -> None:
        if self.builder.full:
            self.ready.append(self.builder.take())


_BAD = object()


def _store(event: _Event, name: str, kind: str, raw: str | None) -> None:
    value = _typed(kind, raw)
    if value is _BAD:
        event.problems.append((name, _bad(kind, raw)))
    elif value is not None:
        event.attrs[name] = value


def _bad(kind: str, raw: str | None) -> str:
    if raw is None:
        return f"{kind} attribute without a value"
    return f"{kind} value {raw!r} is not a valid {kind}"


def _typed(kind: str, raw: str | None) -> Any:
    if kind == "string" or kind == "id":
        return raw if raw is not None else ""
    if kind not in _VALUES:
        return raw  # list, container (no value), or an unknown type kept as text
    if raw is None:
        return _BAD
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
    except ValueError:
        return _BAD
    if kind == "boolean":
        text = raw.strip().lower()
        return True if text in _TRUE else False if text in _FALSE else _BAD
    stamp = parse_time(raw)  # date
    return _BAD if stamp is None else stamp
