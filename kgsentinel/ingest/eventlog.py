"""Event logs in the standard formats, read in chunks into one object-centric shape.

``read_log(path)`` recognises the format (``log_format``) and yields
``LogChunk`` objects, so memory stays bounded by the chunk size, not the file:

============  ====================================  =====================================
format        files                                 reader
============  ====================================  =====================================
xes           ``.xes``, ``.xes.gz``, XES ``.xml``   ``kgsentinel.ingest.xes`` (streamed)
ocel-json     ``.jsonocel``, OCEL 2.0 ``.json``     ``kgsentinel.ingest.ocel`` (whole file)
ocel-xml      ``.xmlocel``, OCEL 2.0 ``.xml``       ``kgsentinel.ingest.ocel`` (streamed)
ocel-sqlite   ``.sqlite``, ``.sqlite3``, ``.db``    ``kgsentinel.ingest.ocel`` (streamed)
cloudevents   ``.jsonl``, ``.ndjson``               ``kgsentinel.ingest.cloudevents`` (streamed)
============  ====================================  =====================================

Text formats may also be gzip-compressed (recognised by their first bytes, so
``log.jsonl.gz`` works too).

The shape follows OCEL 2.0: events with an activity and a time, objects with a
type, qualified event-to-object (E2O) and object-to-object (O2O) links. A
case-centric log (XES, CloudEvents) is the special case where each event links
to one object of type ``case`` with the qualifier ``case``. Every chunk holds
five frames, always with the columns below (attribute columns vary):

``events``
    ``__row__`` (int, the event's 1-based position in its source, for messages),
    ``event_id`` (str, unique in the log and stable across re-reads),
    ``activity`` (str), ``timestamp`` (``datetime64[us, UTC]``),
    ``resource`` and ``lifecycle`` (str, missing as NaN), then one
    ``attr:<key>`` column per attribute.
``objects``
    ``object_id``, ``object_type`` (str), then ``attr:<key>`` columns; each
    object appears once in the whole read, in the chunk where it is first seen.
``event_objects``
    ``event_id``, ``object_id``, ``qualifier`` (str, ``""`` when none).
``object_objects``
    ``source_id``, ``target_id``, ``qualifier``.
``rejects``
    ``__row__``, ``record`` (``"event"`` or ``"object"``), ``field``, ``reason``:
    what could not be read, and why.

Conventions shared by every reader:

- **Times are UTC.** Source times with an offset are converted to UTC; times
  without one (naive) are taken to be UTC already. Precision is microseconds.
- **Attribute values** are Python ``str``, ``int``, ``float``, ``bool`` or
  ``pandas.Timestamp`` (UTC) in ``object`` columns; a missing value is ``None``.
  Nested attributes are flattened with ``.`` (``address.city``).
- **Rejects reconcile.** An event that cannot be read (no activity, no or a bad
  time, an attribute value that is not of its declared type) is left out of
  ``events`` and gets one row in ``rejects`` with ``record="event"``, so for
  every chunk ``events read = len(events) + rejected events``
  (``LogChunk.events_read``). A row with ``record="object"`` means one
  attribute or link of an object could not be read; the object itself is kept,
  and ``__row__`` is then the object's (or XES trace's) position.
- **No start/complete merging.** Formats that record the start and the end of an
  activity as two events (XES ``lifecycle:transition``) keep both as events,
  with the transition in ``lifecycle``.
- **Corrupt files** (bad XML, truncated gzip, not an OCEL database) raise
  ``LogFormatError`` with one line naming the file and, where known, the line and
  column. Chunks already yielded stay valid; the caller decides to undo them.

Example:
    >>> import json, tempfile
    >>> from pathlib import Path
    >>> tmp = tempfile.TemporaryDirectory()
    >>> line = {"specversion": "1.0", "id": "1", "source": "/plm", "type": "brief.created",
    ...         "time": "2025-02-03T10:00:00+01:00", "subject": "NPI-7",
    ...         "data": {"resource": "alice", "market": "FR"}}
    >>> path = Path(tmp.name) / "events.jsonl"
    >>> _ = path.write_text(json.dumps(line) + "\\nnot json\\n")
    >>> log_format(path)
    'cloudevents'
    >>> [chunk] = read_log(path)
    >>> chunk.events[["event_id", "activity", "resource", "attr:market"]].to_dict("records")
    [{'event_id': '/plm 1', 'activity': 'brief.created', 'resource': 'alice', 'attr:market': 'FR'}]
    >>> str(chunk.events.timestamp[0])
    '2025-02-03 09:00:00+00:00'
    >>> chunk.event_objects.to_dict("records")
    [{'event_id': '/plm 1', 'object_id': 'NPI-7', 'qualifier': 'case'}]
    >>> chunk.rejects[["__row__", "field"]].to_dict("records"), chunk.events_read
    ([{'__row__': 2, 'field': 'line'}], 2)
    >>> tmp.cleanup()
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import re
import sqlite3
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from kgsentinel.errors import LogFormatError, SourceError

__all__ = [
    "ATTR",
    "EVENT_COLUMNS",
    "EVENT_OBJECT_COLUMNS",
    "FORMATS",
    "OBJECT_COLUMNS",
    "OBJECT_OBJECT_COLUMNS",
    "REJECT_COLUMNS",
    "ROW",
    "LogChunk",
    "LogFormatError",
    "log_format",
    "read_log",
]

#: prefix of attribute columns in ``events`` and ``objects``
ATTR = "attr:"
#: the column holding each event's 1-based position in its source
ROW = "__row__"
EVENT_COLUMNS = (ROW, "event_id", "activity", "timestamp", "resource", "lifecycle")
OBJECT_COLUMNS = ("object_id", "object_type")
EVENT_OBJECT_COLUMNS = ("event_id", "object_id", "qualifier")
OBJECT_OBJECT_COLUMNS = ("source_id", "target_id", "qualifier")
REJECT_COLUMNS = (ROW, "record", "field", "reason")
#: the names ``log_format`` returns
FORMATS = ("xes", "ocel-json", "ocel-xml", "ocel-sqlite", "cloudevents")

_SUPPORTED = (
    "XES (.xes, .xes.gz), OCEL 2.0 JSON (.jsonocel, .json), OCEL 2.0 XML (.xmlocel, .xml), "
    "OCEL 2.0 SQLite (.sqlite, .sqlite3, .db), CloudEvents JSON Lines (.jsonl, .ndjson)"
)
_SUFFIXES = {
    ".xes": "xes",
    ".jsonocel": "ocel-json",
    ".xmlocel": "ocel-xml",
    ".sqlite": "ocel-sqlite",
    ".sqlite3": "ocel-sqlite",
    ".db": "ocel-sqlite",
    ".jsonl": "cloudevents",
    ".ndjson": "cloudevents",
    ".json": "json",
    ".xml": "xml",
}
_SNIFF_BYTES = 1 << 16
_SNIFF_LINES = 100
_OCEL_JSON_KEY = re.compile(rb'"(objectTypes|eventTypes)"\s*:')
_OCEL_XML_CHILDREN = {"object-types", "event-types", "objects", "events"}
#: the tables every OCEL 2.0 SQLite log has
OCEL_SQLITE_TABLES = ("event", "object", "event_object", "event_map_type", "object_map_type")


@dataclass
class LogChunk:
    """A slice of an event log: events, the objects first seen in it, links and rejects.

    The columns are described in the module docstring.

    Example:
        >>> chunk = LogChunk.empty()
        >>> list(chunk.events.columns)
        ['__row__', 'event_id', 'activity', 'timestamp', 'resource', 'lifecycle']
        >>> chunk.events_read
        0
    """

    events: pd.DataFrame
    objects: pd.DataFrame
    event_objects: pd.DataFrame
    object_objects: pd.DataFrame
    rejects: pd.DataFrame

    @property
    def events_read(self) -> int:
        """Events read from the source for this chunk: loaded plus rejected."""
        return len(self.events) + int((self.rejects["record"] == "event").sum())

    @classmethod
    def empty(cls) -> LogChunk:
        """A chunk with every column and no rows."""
        return ChunkBuilder(chunk_events=1).build()

    @classmethod
    def concat(cls, chunks: Iterable[LogChunk]) -> LogChunk:
        """All chunks as one; attribute columns missing from a chunk are filled with None.

        Rejects are sorted as in a chunk: event rejects by row, then object rejects.

        Example:
            >>> LogChunk.concat([LogChunk.empty(), LogChunk.empty()]).events_read
            0
        """
        chunks = list(chunks)
        if not chunks:
            return cls.empty()
        events, objects, event_objects, object_objects, rejects = (
            _concat_frames([getattr(chunk, name) for chunk in chunks])
            for name in ("events", "objects", "event_objects", "object_objects", "rejects")
        )
        rejects = rejects.sort_values(["record", ROW], kind="stable").reset_index(drop=True)
        return cls(events, objects, event_objects, object_objects, rejects)


def _concat_frames(frames: list[pd.DataFrame]) -> pd.DataFrame:
    columns: list[str] = []
    for frame in frames:
        columns.extend(column for column in frame.columns if column not in columns)
    core = [column for column in columns if not column.startswith(ATTR)]
    attrs = sorted(column for column in columns if column.startswith(ATTR))
    filled = []
    for frame in frames:
        missing = {column: _objects([None] * len(frame)) for column in attrs if column not in frame}
        filled.append(frame.assign(**missing)[core + attrs] if missing else frame[core + attrs])
    non_empty = [frame for frame in filled if len(frame)] or filled[:1]
    return pd.concat(non_empty, ignore_index=True)


# --- times -----------------------------------------------------------------------------------


def parse_times(values: Sequence[str | None]) -> pd.DatetimeIndex:
    """ISO 8601 / RFC 3339 strings as UTC times; NaT where missing or unreadable.

    Naive times are taken to be UTC.

    Example:
        >>> [str(t) for t in parse_times(["2025-02-03T10:00:00+01:00", "2025-02-03 09:00", "x"])]
        ['2025-02-03 09:00:00+00:00', '2025-02-03 09:00:00+00:00', 'NaT']
    """
    index = pd.Index(list(values), dtype=object)
    return pd.to_datetime(index, utc=True, format="ISO8601", errors="coerce").as_unit("us")


def parse_time(value: object) -> pd.Timestamp | None:
    """One time as a UTC ``pandas.Timestamp``, or None if it is not a time.

    Example:
        >>> parse_time("2025-02-03T10:00:00+01:00")
        Timestamp('2025-02-03 09:00:00+0000', tz='UTC')
        >>> parse_time("tomorrow") is None
        True
    """
    if isinstance(value, datetime):
        stamp = pd.Timestamp(value)
    elif isinstance(value, str):
        try:
            stamp = pd.Timestamp(datetime.fromisoformat(value.strip()))
        except ValueError:
            parsed = parse_times([value])[0]
            return None if pd.isna(parsed) else parsed
    else:
        return None
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.as_unit("us")


# --- building chunks -------------------------------------------------------------------------


def _objects(values: list[Any]) -> pd.Series:
    """An object column (a plain ndarray would be inferred as ``str`` by pandas 3)."""
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return pd.Series(array, dtype=object, copy=False)


def _strings(values: list[Any]) -> pd.Series:
    return pd.Series(values, dtype="str")


def _attr_columns(rows: list[dict[str, Any]]) -> dict[str, pd.Series]:
    keys: dict[str, None] = {}
    for attrs in rows:
        keys.update(dict.fromkeys(attrs))
    return {ATTR + key: _objects([attrs.get(key) for attrs in rows]) for key in sorted(keys)}


class ChunkBuilder:
    """Collects one chunk's records from a reader and turns them into a ``LogChunk``.

    Readers call ``add_event``/``reject_event``/``add_object``/``add_link``/
    ``reject_object``, then ``take()`` when ``full``; ``finish()`` yields the
    last chunk (and one empty chunk for an empty log). Event times are passed as
    source strings and parsed once per chunk; unreadable ones become rejects
    naming ``time_field``.
    """

    def __init__(self, *, chunk_events: int, time_field: str = "timestamp") -> None:
        if not isinstance(chunk_events, int) or chunk_events < 1:
            raise ValueError(f"chunk_events must be a positive integer, not {chunk_events!r}")
        self.chunk_events = chunk_events
        self.time_field = time_field
        #: incremented by each take(): an object added under an older generation is out
        self.generation = 0
        self._taken = 0
        self._reset()

    def _reset(self) -> None:
        self._rows: list[int] = []
        self._ids: list[str] = []
        self._activities: list[str] = []
        self._times: list[str | None] = []
        self._resources: list[str | None] = []
        self._lifecycles: list[str | None] = []
        self._attrs: list[dict[str, Any]] = []
        self._e2o: list[tuple[int, str, str]] = []
        self._objects: dict[str, tuple[str, dict[str, Any]]] = {}
        self._o2o: list[tuple[str, str, str]] = []
        self._rejects: list[tuple[int, str, str, str]] = []
        self._rejected_events = 0

    @property
    def events_read(self) -> int:
        """Events added or rejected since the last take()."""
        return len(self._ids) + self._rejected_events

    @property
    def full(self) -> bool:
        """Whether chunk_events events, or chunk_events objects, are waiting."""
        return self.events_read >= self.chunk_events or len(self._objects) >= self.chunk_events

    def add_event(
        self,
        row: int,
        event_id: str,
        activity: str,
        time: str | None,
        *,
        resource: str | None = None,
        lifecycle: str | None = None,
        attrs: dict[str, Any] | None = None,
        objects: Iterable[tuple[str, str]] = (),
    ) -> None:
        """One event; ``objects`` are its (object id, qualifier) links."""
        index = len(self._ids)
        self._rows.append(row)
        self._ids.append(event_id)
        self._activities.append(activity)
        self._times.append(time)
        self._resources.append(resource)
        self._lifecycles.append(lifecycle)
        self._attrs.append(attrs or {})
        self._e2o.extend((index, object_id, qualifier) for object_id, qualifier in objects)

    def reject_event(self, row: int, field: str, reason: str) -> None:
        """An event that cannot be read: it counts as read, and is not loaded."""
        self._rejected_events += 1
        self._rejects.append((row, "event", field, reason))

    def add_object(
        self, object_id: str, object_type: str, attrs: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """One object; returns its attribute dict, which may still be updated until take()."""
        if object_id not in self._objects:
            self._objects[object_id] = (object_type, attrs if attrs is not None else {})
        return self._objects[object_id][1]

    def add_link(self, source_id: str, target_id: str, qualifier: str) -> None:
        """One object-to-object link."""
        self._o2o.append((source_id, target_id, qualifier))

    def reject_object(self, row: int, field: str, reason: str) -> None:
        """An object attribute or link that cannot be read (the object is kept)."""
        self._rejects.append((row, "object", field, reason))

    def take(self) -> LogChunk:
        """The chunk so far; the builder starts a new one."""
        chunk = self.build()
        self._reset()
        self.generation += 1
        self._taken += 1
        return chunk

    def finish(self) -> Iterator[LogChunk]:
        """The last chunk, if it holds anything or no chunk was taken yet."""
        if self._ids or self._objects or self._o2o or self._rejects or not self._taken:
            yield self.take()

    def build(self) -> LogChunk:
        """The chunk so far as frames (the builder is unchanged)."""
        times = parse_times(self._times)
        bad = np.flatnonzero(np.asarray(times.isna()))
        rejects = list(self._rejects)
        for index in bad:
            raw = self._times[index]
            reason = (
                f"missing: an event needs its time ({self.time_field})"
                if raw is None
                else f"{raw!r} is not an ISO 8601 time"
            )
            rejects.append((self._rows[index], "event", self.time_field, reason))
        events = pd.DataFrame(
            {
                ROW: np.asarray(self._rows, dtype=np.int64),
                "event_id": _strings(self._ids),
                "activity": _strings(self._activities),
                "timestamp": times,
                "resource": _strings(self._resources),
                "lifecycle": _strings(self._lifecycles),
            }
            | _attr_columns(self._attrs),
            index=pd.RangeIndex(len(self._ids)),
        )
        e2o_index = [index for index, _, _ in self._e2o]
        e2o = pd.DataFrame(
            {
                "event_id": _strings([self._ids[index] for index in e2o_index]),
                "object_id": _strings([object_id for _, object_id, _ in self._e2o]),
                "qualifier": _strings([qualifier for _, _, qualifier in self._e2o]),
            }
        )
        if len(bad):
            keep = np.ones(len(self._ids), dtype=bool)
            keep[bad] = False
            events = events.loc[keep].reset_index(drop=True)
            e2o = e2o.loc[keep[np.asarray(e2o_index, dtype=np.int64)]].reset_index(drop=True)
        objects = pd.DataFrame(
            {
                "object_id": _strings(list(self._objects)),
                "object_type": _strings([kind for kind, _ in self._objects.values()]),
            }
            | _attr_columns([attrs for _, attrs in self._objects.values()]),
            index=pd.RangeIndex(len(self._objects)),
        )
        o2o = pd.DataFrame(
            {
                name: _strings([link[position] for link in self._o2o])
                for position, name in enumerate(OBJECT_OBJECT_COLUMNS)
            }
        )
        rejects_frame = pd.DataFrame(
            {
                ROW: np.asarray([reject[0] for reject in rejects], dtype=np.int64),
                "record": _strings([reject[1] for reject in rejects]),
                "field": _strings([reject[2] for reject in rejects]),
                "reason": _strings([reject[3] for reject in rejects]),
            }
        )
        rejects_frame = rejects_frame.sort_values(["record", ROW], kind="stable")
        return LogChunk(events, objects, e2o, o2o, rejects_frame.reset_index(drop=True))


# --- files -----------------------------------------------------------------------------------


@contextlib.contextmanager
def open_source(path: Path) -> Iterator[IO[bytes]]:
    """The file's bytes, decompressed when it starts with the gzip magic number."""
    try:
        raw = path.open("rb")
    except FileNotFoundError:
        raise SourceError(f"{path}: no such file; check the path") from None
    except OSError as exc:
        raise SourceError(f"{path}: cannot be opened ({exc.strerror or exc})") from exc
    with raw:
        if raw.read(2) == b"\x1f\x8b":
            raw.seek(0)
            with gzip.GzipFile(fileobj=raw, mode="rb") as unzipped:
                yield unzipped
        else:
            raw.seek(0)
            yield raw


def compression_error(path: Path, exc: Exception, where: str) -> LogFormatError:
    """The one-line error for a truncated or corrupt gzip stream."""
    return LogFormatError(
        f"{path}: the gzip data is truncated or corrupt {where} ({exc}); "
        "download or compress the file again"
    )


def _head(path: Path) -> bytes:
    with open_source(path) as stream:
        try:
            return stream.read(_SNIFF_BYTES)
        except (EOFError, OSError) as exc:
            raise compression_error(path, exc, "at the start") from exc


def _sniff_xml(path: Path) -> str:
    with open_source(path) as stream:
        depth = 0
        try:
            # stdlib expat (>= 2.4) limits entity expansion and resolves no external entities
            for event, element in ET.iterparse(stream, events=("start", "end")):  # noqa: S314
                tag = element.tag.rpartition("}")[2]
                if event == "end":
                    depth -= 1
                    continue
                depth += 1
                if depth == 1:
                    if tag != "log":
                        break
                    if "xes.version" in element.attrib or "xes-standard" in element.tag:
                        return "xes"
                elif depth == 2:
                    return "ocel-xml" if tag in _OCEL_XML_CHILDREN else "xes"
            else:
                return "xes"  # an empty <log/>
        except ET.ParseError as exc:
            raise LogFormatError(f"{path}: not well-formed XML ({exc})") from exc
        except (EOFError, OSError) as exc:
            raise compression_error(path, exc, "at the start") from exc
    raise LogFormatError(
        f"{path}: the root element is <{tag}>, not <log>: not an XES or OCEL 2.0 XML log"
    )


def check_ocel_sqlite(path: Path) -> None:
    """Raise ``LogFormatError`` unless ``path`` is an SQLite file with the OCEL 2.0 tables."""
    with open_source(path) as stream:
        header = stream.read(16)
    if header != b"SQLite format 3\x00":
        raise LogFormatError(
            f"{path}: not an SQLite database; OCEL 2.0 SQLite logs are SQLite 3 files "
            f"with the tables {', '.join(OCEL_SQLITE_TABLES)}"
        )
    try:
        with contextlib.closing(connect_readonly(path)) as connection:
            names = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    except sqlite3.DatabaseError as exc:
        raise LogFormatError(f"{path}: cannot read the SQLite database ({exc})") from exc
    missing = [table for table in OCEL_SQLITE_TABLES if table not in names]
    if missing:
        raise LogFormatError(
            f"{path}: not an OCEL 2.0 SQLite log: missing the table(s) {', '.join(missing)}; "
            "export the log as OCEL 2.0 SQLite, or ingest the tables with a mapping"
        )


def connect_readonly(path: Path) -> sqlite3.Connection:
    """A read-only connection to an SQLite file."""
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)


def _sniff_cloudevents(path: Path) -> bool:
    with open_source(path) as stream:
        seen = 0
        try:
            for line in stream:
                if not line.strip():
                    continue
                seen += 1
                with contextlib.suppress(ValueError, RecursionError):
                    record = json.loads(line)
                    if isinstance(record, dict) and "specversion" in record:
                        return True
                if seen >= _SNIFF_LINES:
                    return False
        except (EOFError, OSError) as exc:
            raise compression_error(path, exc, "at the start") from exc
    return seen == 0  # an empty file is an empty log


def log_format(path: str | os.PathLike[str]) -> str:
    """The event-log format of a file, from its name and first bytes.

    Returns one of ``FORMATS``; raises ``LogFormatError`` naming the file and
    the supported formats otherwise (``SourceError`` if there is no such file).

    Example:
        >>> import tempfile
        >>> tmp = tempfile.TemporaryDirectory()
        >>> notes = Path(tmp.name) / "notes.csv"
        >>> _ = notes.write_text("id,activity\\n")
        >>> log_format(notes)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        kgsentinel.errors.LogFormatError: .../notes.csv: not an event log in a supported \
format (XES (.xes, .xes.gz), OCEL 2.0 JSON (.jsonocel, .json), OCEL 2.0 XML (.xmlocel, .xml), \
OCEL 2.0 SQLite (.sqlite, .sqlite3, .db), CloudEvents JSON Lines (.jsonl, .ndjson)); \
for tables, give a mapping
        >>> tmp.cleanup()
    """
    path = Path(path)
    if not path.is_file():
        raise SourceError(f"{path}: no such file; check the path")
    suffixes = [suffix.lower() for suffix in path.suffixes[-2:]]
    if suffixes and suffixes[-1] == ".gz":
        suffixes.pop()
    kind = _SUFFIXES.get(suffixes[-1]) if suffixes else None
    if kind is None:
        raise LogFormatError(
            f"{path}: not an event log in a supported format ({_SUPPORTED}); "
            "for tables, give a mapping"
        )
    if kind == "json":
        if _OCEL_JSON_KEY.search(_head(path)):
            return "ocel-json"
        raise LogFormatError(
            f'{path}: not an OCEL 2.0 JSON log (no "objectTypes" or "eventTypes" key); '
            "CloudEvents must be JSON Lines (.jsonl), other JSON needs a mapping"
        )
    if kind == "xml":
        return _sniff_xml(path)
    if kind == "ocel-sqlite":
        check_ocel_sqlite(path)
    if kind == "cloudevents" and not _sniff_cloudevents(path):
        raise LogFormatError(
            f"{path}: no CloudEvents in its first {_SNIFF_LINES} lines (no JSON object with "
            "specversion); other JSON Lines need a mapping"
        )
    return kind


def read_log(path: str | os.PathLike[str], *, chunk_events: int = 50_000) -> Iterator[LogChunk]:
    """Read an event log in any supported format, ``chunk_events`` events at a time.

    Raises ``LogFormatError`` (a ``SourceError``) for an unsupported or corrupt file.

    Example:
        >>> chunks = read_log("log.xes", chunk_events=10_000)  # lazy: nothing read yet
    """
    if not isinstance(chunk_events, int) or chunk_events < 1:
        raise ValueError(f"chunk_events must be a positive integer, not {chunk_events!r}")
    return _read(Path(path), chunk_events)


def _read(path: Path, chunk_events: int) -> Iterator[LogChunk]:
    kind = log_format(path)
    if kind == "xes":
        from kgsentinel.ingest.xes import read_xes

        yield from read_xes(path, chunk_events=chunk_events)
    elif kind == "cloudevents":
        from kgsentinel.ingest.cloudevents import read_cloudevents

        yield from read_cloudevents(path, chunk_events=chunk_events)
    else:
        from kgsentinel.ingest.ocel import read_ocel

        yield from read_ocel(path, chunk_events=chunk_events, format=kind)
