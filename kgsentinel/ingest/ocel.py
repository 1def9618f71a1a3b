"""OCEL 2.0 event logs in their three serialisations: JSON, XML and SQLite.

The three serialisations of one log give the same chunks: the same events
(``event_id`` = the OCEL event id, ``activity`` = the event type), objects,
qualified E2O and O2O links, and attribute values typed by their declared
OCEL type (``string`` → ``str``, ``integer`` → ``int``, ``float`` → ``float``,
``boolean`` → ``bool``, ``time`` → UTC ``pandas.Timestamp``). In SQLite the
declared type is the column's (``TEXT``, ``INTEGER``, ``REAL``, ``BOOLEAN``,
``TIMESTAMP``). An attribute that no type declares keeps its JSON value (JSON),
its text (XML) or its stored value (SQLite). An empty value is no value.

Objects come first, ``chunk_events`` at a time, each with its attributes and
its outgoing O2O links; events follow, ``chunk_events`` at a time, each with
its E2O links. OCEL object attributes may change over time: an object carries
the **latest value** of each attribute (the one with the greatest time; for
equal times, the one written last); earlier values are not read.

========  ============================================================================
JSON      loaded whole (``json.load``): memory grows to several times the file size;
          events in file order.
XML       streamed with ``iterparse``: one object or event in memory at a time;
          events in file order.
SQLite    streamed by SQL queries on a read-only connection (joins and sorting are
          done by SQLite, spilling to its temporary files); events ordered by the text
          of ``ocel_time``, then by their row in ``event``. Objects are joined with
          their ``object_<Type>`` rows, where a row whose ``ocel_changed_field`` names a
          column changes that attribute only, and any other row sets all its non-empty
          columns.
========  ============================================================================

``__row__`` is the event's position in that order (1-based). An event without
id, type or a readable time, with an attribute value that is not of its type,
or with a link without object id is rejected; an object attribute or link that
cannot be read is reported with ``record="object"`` and the object's position.
Ids are not checked for uniqueness; OCEL requires them unique.

Example:
    >>> import json, tempfile
    >>> from pathlib import Path
    >>> tmp = tempfile.TemporaryDirectory()
    >>> log = {
    ...     "objectTypes": [
    ...         {"name": "Product", "attributes": [{"name": "price", "type": "float"}]}],
    ...     "eventTypes": [
    ...         {"name": "Launch", "attributes": [{"name": "market", "type": "string"}]}],
    ...     "objects": [{"id": "P17", "type": "Product", "attributes": [
    ...         {"name": "price", "time": "1970-01-01T00:00:00Z", "value": "9.5"},
    ...         {"name": "price", "time": "2025-03-01T00:00:00Z", "value": 12}]}],
    ...     "events": [{"id": "e1", "type": "Launch", "time": "2025-03-02T09:00:00Z",
    ...                 "attributes": [{"name": "market", "value": "FR"}],
    ...                 "relationships": [{"objectId": "P17", "qualifier": "launched"}]}],
    ... }
    >>> path = Path(tmp.name) / "npi.jsonocel"
    >>> _ = path.write_text(json.dumps(log))
    >>> [chunk] = read_ocel(path)
    >>> chunk.objects.to_dict("records")
    [{'object_id': 'P17', 'object_type': 'Product', 'attr:price': 12.0}]
    >>> chunk.events[["event_id", "activity", "attr:market"]].to_dict("records")
    [{'event_id': 'e1', 'activity': 'Launch', 'attr:market': 'FR'}]
    >>> chunk.event_objects.to_dict("records")
    [{'event_id': 'e1', 'object_id': 'P17', 'qualifier': 'launched'}]
    >>> tmp.cleanup()
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import sqlite3
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from kgsentinel.ingest.eventlog import (
    ChunkBuilder,
    LogChunk,
    LogFormatError,
    check_ocel_sqlite,
    compression_error,
    connect_readonly,
    log_format,
    open_source,
    parse_time,
)

__all__ = ["read_ocel", "read_ocel_json", "read_ocel_sqlite", "read_ocel_xml"]

_KINDS = {
    "string": "string",
    "str": "string",
    "text": "string",
    "integer": "integer",
    "int": "integer",
    "float": "float",
    "double": "float",
    "real": "float",
    "boolean": "boolean",
    "bool": "boolean",
    "time": "time",
    "date": "time",
    "datetime": "time",
    "timestamp": "time",
}
_TRUE = {"true", "1"}
_FALSE = {"false", "0"}
_FETCH = 5_000
_JSON_OBJECT_PAIRS = 50  # keeps json_object() under SQLite's limit on function arguments


def read_ocel(
    path: str | os.PathLike[str], *, chunk_events: int = 50_000, format: str | None = None
) -> Iterator[LogChunk]:
    """Read an OCEL 2.0 log in any serialisation (``format``: ``ocel-json``, ``ocel-xml``,
    ``ocel-sqlite``, or None to recognise it)."""
    path = Path(path)
    kind = format or log_format(path)
    readers = {
        "ocel-json": read_ocel_json,
        "ocel-xml": read_ocel_xml,
        "ocel-sqlite": read_ocel_sqlite,
    }
    if kind not in readers:
        raise LogFormatError(
            f"{path}: not an OCEL 2.0 log ({kind}); use read_log for other formats"
        )
    return readers[kind](path, chunk_events=chunk_events)


# --- values ----------------------------------------------------------------------------------


def _kind(declared: object) -> str | None:
    return _KINDS.get(declared.strip().lower()) if isinstance(declared, str) else None


def _sqlite_kind(declared: str) -> str | None:
    text = declared.upper()
    if "BOOL" in text:
        return "boolean"
    if "TIME" in text or "DATE" in text:
        return "time"
    if "INT" in text:
        return "integer"
    if any(name in text for name in ("REAL", "FLOA", "DOUB", "NUM", "DEC")):
        return "float"
    if any(name in text for name in ("TEXT", "CHAR", "CLOB")):
        return "string"
    return None


def _convert(value: Any, kind: str | None) -> Any:
    """A source value as its declared kind; None for no value; ValueError if it is not one."""
    if value is None or (value == "" and kind not in (None, "string")):
        return None
    if kind is None:
        return value if isinstance(value, (str, int, float, bool)) else json.dumps(value)
    if kind == "string":
        return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    converted = _CONVERTERS[kind](value)
    if converted is None:
        raise ValueError(f"{value!r} is not a valid {kind}")
    return converted


def _to_integer(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    number: float | None = value if isinstance(value, float) else None
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return int(value.strip())
        with contextlib.suppress(ValueError):
            number = float(value)
    return int(number) if number is not None and number.is_integer() else None


def _to_float(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return float(value.strip())
    return None


def _to_boolean(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        return True if text in _TRUE else False if text in _FALSE else None
    return None


def _to_time(value: Any) -> Any:
    return parse_time(value) if isinstance(value, str) else None


_CONVERTERS = {
    "integer": _to_integer,
    "float": _to_float,
    "boolean": _to_boolean,
    "time": _to_time,
}


# --- the common model ------------------------------------------------------------------------

_Entry = tuple[Any, Any, Any]  # (attribute name, change time, value)
_Link = tuple[Any, Any]  # (object id, qualifier)


class _Log:
    """Declared types, counters and the checks shared by the three serialisations."""

    def __init__(self, builder: ChunkBuilder) -> None:
        self.builder = builder
        self.event_types: dict[str, dict[str, str | None]] = {}
        self.object_types: dict[str, dict[str, str | None]] = {}
        self.events = 0
        self.objects = 0

    def declare(self, types: dict[str, dict[str, str | None]], declarations: Any) -> None:
        for declaration in declarations if isinstance(declarations, list) else ():
            if isinstance(declaration, dict) and isinstance(declaration.get("name"), str):
                attributes = declaration.get("attributes")
                types[declaration["name"]] = {
                    attribute["name"]: _kind(attribute.get("type"))
                    for attribute in (attributes if isinstance(attributes, list) else ())
                    if isinstance(attribute, dict) and isinstance(attribute.get("name"), str)
                }

    def add_object(
        self, object_id: Any, object_type: Any, entries: Iterable[_Entry], links: Iterable[_Link]
    ) -> None:
        self.objects += 1
        row, builder = self.objects, self.builder
        if object_id is None or object_id == "":
            builder.reject_object(row, "id", "missing: an object needs its id; object not read")
            return
        if object_type is None or object_type == "":
            builder.reject_object(row, "type", f"missing: object {object_id!r} has no type")
            return
        object_id, object_type = str(object_id), str(object_type)
        kinds = self.object_types.get(object_type, {})
        latest: dict[str, tuple[tuple[Any, ...], Any]] = {}
        for position, (name, time, raw) in enumerate(entries):
            if not isinstance(name, str) or not name:
                builder.reject_object(row, "attributes", "an attribute without a name")
                continue
            try:
                value = _convert(raw, kinds.get(name))
            except ValueError as exc:
                builder.reject_object(row, name, str(exc))
                continue
            if value is None:
                continue
            if time is None or time == "":
                key: tuple[Any, ...] = (False, position)
            else:
                stamp = parse_time(time)
                if stamp is None:
                    builder.reject_object(
                        row, name, f"change time {time!r} is not an ISO 8601 time"
                    )
                    continue
                key = (True, stamp, position)
            if name not in latest or key >= latest[name][0]:
                latest[name] = (key, value)
        builder.add_object(
            object_id, object_type, {name: value for name, (_, value) in latest.items()}
        )
        for target, qualifier in links:
            if target is None or target == "":
                builder.reject_object(row, "relationships", "a relationship without object id")
            else:
                builder.add_link(object_id, str(target), _qualifier(qualifier))

    def add_event(
        self,
        event_id: Any,
        event_type: Any,
        time: Any,
        attributes: Iterable[tuple[Any, Any]],
        links: Iterable[_Link],
    ) -> None:
        self.events += 1
        row, builder = self.events, self.builder
        for field, value in (("id", event_id), ("type", event_type), ("time", time)):
            if value is None or value == "":
                builder.reject_event(row, field, f"missing: an event needs its {field}")
                return
        kinds = self.event_types.get(str(event_type), {})
        attrs: dict[str, Any] = {}
        for name, raw in attributes:
            if not isinstance(name, str) or not name:
                builder.reject_event(row, "attributes", "an attribute without a name")
                return
            try:
                value = _convert(raw, kinds.get(name))
            except ValueError as exc:
                builder.reject_event(row, name, str(exc))
                return
            if value is not None:
                attrs[name] = value
        objects = []
        for target, qualifier in links:
            if target is None or target == "":
                builder.reject_event(row, "relationships", "a relationship without object id")
                return
            objects.append((str(target), _qualifier(qualifier)))
        builder.add_event(
            row, str(event_id), str(event_type), str(time), attrs=attrs, objects=objects
        )


def _qualifier(value: Any) -> str:
    return "" if value is None else str(value)


# --- JSON ------------------------------------------------------------------------------------


def read_ocel_json(
    path: str | os.PathLike[str], *, chunk_events: int = 50_000
) -> Iterator[LogChunk]:
    """Read an OCEL 2.0 JSON log (loaded whole; chunks are yielded from memory)."""
    path = Path(path)
    with open_source(path) as stream:
        try:
            document = json.load(stream)
        except json.JSONDecodeError as exc:
            raise LogFormatError(
                f"{path}: not valid JSON at line {exc.lineno}, column {exc.colno} ({exc.msg}); "
                "the file is damaged or not OCEL 2.0 JSON"
            ) from exc
        except UnicodeDecodeError as exc:
            raise LogFormatError(f"{path}: not UTF-8 text ({exc})") from exc
        except (EOFError, OSError, zlib.error) as exc:
            if isinstance(stream, gzip.GzipFile):
                raise compression_error(path, exc, "") from exc
            raise LogFormatError(f"{path}: read failed ({exc})") from exc
    if not isinstance(document, dict) or not {"objectTypes", "eventTypes"} & document.keys():
        raise LogFormatError(
            f"{path}: not an OCEL 2.0 JSON log: expected an object with objectTypes, "
            "eventTypes, objects and events"
        )
    builder = ChunkBuilder(chunk_events=chunk_events, time_field="time")
    log = _Log(builder)
    log.declare(log.object_types, document.get("objectTypes"))
    log.declare(log.event_types, document.get("eventTypes"))
    for item in _list(document.get("objects")):
        if isinstance(item, dict):
            entries = [
                (entry.get("name"), entry.get("time"), entry.get("value"))
                for entry in _list(item.get("attributes"))
                if isinstance(entry, dict)
            ]
            log.add_object(item.get("id"), item.get("type"), entries, _json_links(item))
        else:
            log.objects += 1
            builder.reject_object(log.objects, "object", "not a JSON object; not read")
        if builder.full:
            yield builder.take()
    for item in _list(document.get("events")):
        if isinstance(item, dict):
            attributes = [
                (entry.get("name"), entry.get("value"))
                for entry in _list(item.get("attributes"))
                if isinstance(entry, dict)
            ]
            log.add_event(
                item.get("id"), item.get("type"), item.get("time"), attributes, _json_links(item)
            )
        else:
            log.events += 1
            builder.reject_event(log.events, "event", "not a JSON object")
        if builder.full:
            yield builder.take()
    yield from builder.finish()


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _json_links(item: dict[str, Any]) -> list[_Link]:
    return [
        (link.get("objectId"), link.get("qualifier"))
        for link in _list(item.get("relationships"))
        if isinstance(link, dict)
    ]


# --- XML -------------------------------------------------------------------------------------


def read_ocel_xml(
    path: str | os.PathLike[str], *, chunk_events: int = 50_000
) -> Iterator[LogChunk]:
    """Stream an OCEL 2.0 XML log (plain or gzip)."""
    path = Path(path)
    builder = ChunkBuilder(chunk_events=chunk_events, time_field="time")
    log = _Log(builder)
    with open_source(path) as stream:
        try:
            yield from _read_xml(path, stream, log)
        except ET.ParseError as exc:
            raise LogFormatError(
                f"{path}: not well-formed XML ({exc}); the file is damaged or not OCEL 2.0 XML"
            ) from exc
        except (EOFError, OSError, zlib.error) as exc:
            if isinstance(stream, gzip.GzipFile):
                raise compression_error(path, exc, f"after event {log.events}") from exc
            raise LogFormatError(f"{path}: read failed after event {log.events} ({exc})") from exc
    yield from builder.finish()


def _local(tag: str) -> str:
    return tag[tag.rfind("}") + 1 :]


def _read_xml(path: Path, stream: Any, log: _Log) -> Iterator[LogChunk]:
    builder = log.builder
    stack: list[tuple[str, ET.Element]] = []
    # stdlib expat (>= 2.4) limits entity expansion and resolves no external entities
    for kind, element in ET.iterparse(stream, events=("start", "end")):  # noqa: S314
        if kind == "start":
            stack.append((_local(element.tag), element))
            if len(stack) == 1 and stack[0][0] != "log":
                raise LogFormatError(
                    f"{path}: the root element is <{stack[0][0]}>, not <log>: not OCEL 2.0 XML"
                )
            continue
        tag, _ = stack.pop()
        if len(stack) != 2:
            if len(stack) == 1:
                stack[0][1].remove(element)  # a finished section
            continue
        section, parent = stack[1]
        if tag == "object-type" and section == "object-types":
            log.declare(log.object_types, [_xml_declaration(element)])
        elif tag == "event-type" and section == "event-types":
            log.declare(log.event_types, [_xml_declaration(element)])
        elif tag == "object" and section == "objects":
            entries = [
                (child.get("name"), child.get("time"), child.text or "")
                for child in _children(element, "attributes")
            ]
            log.add_object(element.get("id"), element.get("type"), entries, _xml_links(element))
        elif tag == "event" and section == "events":
            attributes = [
                (child.get("name"), child.text or "") for child in _children(element, "attributes")
            ]
            log.add_event(
                element.get("id"),
                element.get("type"),
                element.get("time"),
                attributes,
                _xml_links(element),
            )
        parent.remove(element)
        if builder.full:
            yield builder.take()


def _children(element: ET.Element, section: str) -> list[ET.Element]:
    return [
        child
        for group in element
        if _local(group.tag) == section
        for child in group
        if _local(child.tag) in ("attribute", "relationship")
    ]


def _xml_declaration(element: ET.Element) -> dict[str, Any]:
    return {
        "name": element.get("name"),
        "attributes": [
            {"name": child.get("name"), "type": child.get("type")}
            for child in _children(element, "attributes")
        ],
    }


def _xml_links(element: ET.Element) -> list[_Link]:
    return [
        (child.get("object-id"), child.get("qualifier")) for child in _children(element, "objects")
    ]


# --- SQLite ----------------------------------------------------------------------------------


def read_ocel_sqlite(
    path: str | os.PathLike[str], *, chunk_events: int = 50_000
) -> Iterator[LogChunk]:
    """Stream an OCEL 2.0 SQLite log through a read-only connection."""
    path = Path(path)
    check_ocel_sqlite(path)
    builder = ChunkBuilder(chunk_events=chunk_events, time_field="time")
    log = _Log(builder)
    with contextlib.closing(connect_readonly(path)) as connection:
        try:
            reader = _SqliteReader(connection, log)
            yield from reader.objects()
            yield from reader.events()
        except sqlite3.Error as exc:
            raise LogFormatError(
                f"{path}: cannot read the OCEL 2.0 SQLite tables ({exc}); "
                "check the file is a complete OCEL 2.0 export"
            ) from exc
    yield from builder.finish()


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class _SqliteReader:
    def __init__(self, connection: sqlite3.Connection, log: _Log) -> None:
        self.connection = connection
        self.log = log
        self.tables = {
            name.lower(): name
            for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }

    def _type_tables(self, prefix: str) -> list[tuple[str, str, list[tuple[str, str]]]]:
        """(type name, table, [(column, declared type)]) for each type with a table."""
        found = []
        for name, mapped in self.connection.execute(
            f"SELECT ocel_type, ocel_type_map FROM {prefix}_map_type"  # noqa: S608 (fixed names)
        ):
            table = self.tables.get(f"{prefix}_{mapped}".lower()) if mapped is not None else None
            if name is None or table is None:
                continue
            columns = [
                (row[1], row[2] or "")
                for row in self.connection.execute(f"PRAGMA table_info({_quote(table)})")
            ]
            found.append((str(name), table, columns))
        return found

    def _union(
        self, prefix: str, meta: tuple[str, ...], select: str
    ) -> tuple[str, list[Any], dict[str, dict[str, str | None]]]:
        """A UNION ALL over the per-type tables: type, id, the ``select`` columns, attrs JSON."""
        parts: list[str] = []
        params: list[Any] = []
        kinds: dict[str, dict[str, str | None]] = {}
        for name, table, columns in self._type_tables(prefix):
            present = {column for column, _ in columns}
            attributes = [(column, kind) for column, kind in columns if column not in meta]
            kinds[name] = {column: _sqlite_kind(kind) for column, kind in attributes}
            part_params: list[Any] = [name]
            pieces = []
            for start in range(0, len(attributes), _JSON_OBJECT_PAIRS):
                pairs = attributes[start : start + _JSON_OBJECT_PAIRS]
                pieces.append("json_object(" + ", ".join(f"?, {_quote(c)}" for c, _ in pairs) + ")")
                part_params.extend(column for column, _ in pairs)
            attrs = pieces[0] if pieces else "json_object()"
            for piece in pieces[1:]:
                attrs = f"json_patch({attrs}, {piece})"
            columns_sql = select.format(
                changed="ocel_changed_field" if "ocel_changed_field" in present else "NULL"
            )
            parts.append(
                f"SELECT ? AS ocel_type, CAST(ocel_id AS TEXT) AS ocel_id, {columns_sql}, "  # noqa: S608
                f"{attrs} AS attrs FROM {_quote(table)}"
            )
            params.extend(part_params)
        if not parts:
            parts.append(f"SELECT NULL, NULL, {select.format(changed='NULL')}, NULL WHERE 0")
        return " UNION ALL ".join(parts), params, kinds

    def objects(self) -> Iterator[LogChunk]:
        log, builder = self.log, self.log.builder
        union, params, kinds = self._union(
            "object",
            ("ocel_id", "ocel_time", "ocel_changed_field"),
            "ocel_time, {changed} AS changed, rowid AS rn",
        )
        for name, columns in kinds.items():
            log.object_types.setdefault(name, {}).update(columns)
        # identifiers in the union are quoted with _quote, and every value is bound
        rows = self.connection.execute(
            "SELECT o.rowid, CAST(o.ocel_id AS TEXT), o.ocel_type, a.ocel_time, a.changed, "  # noqa: S608
            "a.attrs "
            f"FROM object AS o LEFT JOIN ({union}) AS a "
            "ON a.ocel_id = CAST(o.ocel_id AS TEXT) AND a.ocel_type = o.ocel_type "
            "ORDER BY o.rowid, a.rn",
            params,
        )
        links = self._links()
        link = next(links, None)
        current: list[Any] | None = None
        for rowid, object_id, object_type, time, changed, attrs in _fetch(rows):
            if current is None or rowid != current[0]:
                if current is not None:
                    link = self._add_object(current, links, link)
                    if builder.full:
                        yield builder.take()
                current = [rowid, object_id, object_type, []]
            if attrs is not None:
                current[3].extend(_changes(time, changed, json.loads(attrs)))
        if current is not None:
            link = self._add_object(current, links, link)
        while link is not None:
            builder.add_link(*link[1:])
            link = next(links, None)
        if builder.full:
            yield builder.take()

    def _links(self) -> Iterator[tuple[Any, str, str, str]]:
        if "object_object" not in self.tables:
            return iter(())
        # identifiers in the union are quoted with _quote, and every value is bound
        rows = self.connection.execute(
            "SELECT o.rowid, CAST(oo.ocel_source_id AS TEXT), CAST(oo.ocel_target_id AS TEXT), "
            "oo.ocel_qualifier FROM object_object AS oo "
            "LEFT JOIN object AS o ON o.ocel_id = oo.ocel_source_id ORDER BY o.rowid, oo.rowid"
        )
        return (
            (rowid, source, target, _qualifier(qualifier))
            for rowid, source, target, qualifier in _fetch(rows)
            if source is not None and target is not None
        )

    def _add_object(
        self,
        current: list[Any],
        links: Iterator[tuple[Any, str, str, str]],
        link: tuple[Any, str, str, str] | None,
    ) -> tuple[Any, str, str, str] | None:
        rowid, object_id, object_type, entries = current
        self.log.add_object(object_id, object_type, entries, ())
        while link is not None and (link[0] is None or link[0] <= rowid):
            self.log.builder.add_link(*link[1:])
            link = next(links, None)
        return link

    def events(self) -> Iterator[LogChunk]:
        log, builder = self.log, self.log.builder
        union, params, kinds = self._union("event", ("ocel_id", "ocel_time"), "ocel_time")
        for name, columns in kinds.items():
            log.event_types.setdefault(name, {}).update(columns)
        rows = self.connection.execute(
            "SELECT e.rowid, CAST(e.ocel_id AS TEXT), e.ocel_type, t.ocel_time, t.attrs, "  # noqa: S608
            "CAST(eo.ocel_object_id AS TEXT), eo.ocel_qualifier "
            f"FROM event AS e LEFT JOIN ({union}) AS t "
            "ON t.ocel_id = CAST(e.ocel_id AS TEXT) AND t.ocel_type = e.ocel_type "
            "LEFT JOIN event_object AS eo ON eo.ocel_event_id = e.ocel_id "
            "ORDER BY t.ocel_time, e.rowid, eo.rowid",
            params,
        )
        current: list[Any] | None = None
        for rowid, event_id, event_type, time, attrs, object_id, qualifier in _fetch(rows):
            if current is None or rowid != current[0]:
                if current is not None:
                    self._add_event(current)
                    if builder.full:
                        yield builder.take()
                values = json.loads(attrs).items() if attrs is not None else ()
                current = [rowid, event_id, event_type, time, list(values), []]
            if object_id is not None:
                current[5].append((object_id, qualifier))
        if current is not None:
            self._add_event(current)

    def _add_event(self, current: list[Any]) -> None:
        _, event_id, event_type, time, attributes, links = current
        if time is not None and not isinstance(time, str):
            time = str(time)
        self.log.add_event(event_id, event_type, time, attributes, links)


def _fetch(cursor: sqlite3.Cursor) -> Iterator[tuple[Any, ...]]:
    while rows := cursor.fetchmany(_FETCH):
        yield from rows


def _changes(time: Any, changed: Any, attrs: dict[str, Any]) -> list[_Entry]:
    """The attribute values one ``object_<Type>`` row sets."""
    time = None if time is None else str(time)
    if isinstance(changed, str) and changed in attrs:
        return [(changed, time, attrs[changed])]
    return [(name, time, value) for name, value in attrs.items() if value is not None]
