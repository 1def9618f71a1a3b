"""Tabular sources read in chunks: CSV, JSON, JSON Lines, Parquet and SQL.

``read_chunks`` yields pandas DataFrames of at most ``chunk_rows`` rows, so peak
memory does not grow with the source (a single JSON document is the one
exception: it is parsed whole; use JSON Lines for big data). Every chunk has a
``__row__`` column (``ROW``), the row's 1-based number in its source, which
rejects and error messages quote:

========== ==============================================================
kind       ``__row__``
========== ==============================================================
csv        record number: the first record after the header is 1 (blank
           lines are skipped and not counted; a quoted value may span lines)
jsonl      line number in the file (blank lines are skipped but counted)
json       position in the array of records, from 1
parquet    ordinal, from 1
sql        ordinal in the result, from 1 (a table is read in primary-key order
           when it has one; an incremental read numbers only the newer rows)
========== ==============================================================

Values: CSV cells are read as text (the mapping decides the datatypes) and an
empty cell is missing (NA), like a JSON ``null`` or a SQL ``NULL``. JSON objects
are flattened to dotted columns (``customer.address.city``); lists stay Python
lists in their cell. Parquet and SQL keep their types: timestamps stay
datetimes, integers stay integers (nullable ``Int64`` where values are missing).

Incremental reads: with ``watermark`` set and ``after`` given, only rows whose
watermark is greater than ``after`` are read (SQL filters in the database with a
bound parameter; files filter each chunk). Values compare as the column's type:
numbers as numbers, ISO 8601 times as times (a time without offset counts as
UTC when the other side has one), anything else as text. Rows whose watermark
is missing are never newer (as in SQL). ``max_watermark`` gives the value to
pass as ``after`` next time.

Example:
    >>> path = getfixture("tmp_path") / "orders.csv"
    >>> _ = path.write_text("id,city,day\\n1,Paris,2024-05-01\\n2,,2024-05-03\\n")
    >>> source = TableSource("csv", str(path), watermark="day")
    >>> columns(source)
    ['id', 'city', 'day']
    >>> [chunk.to_dict("records") for chunk in read_chunks(source, after="2024-05-02")]
    [[{'id': '2', 'city': nan, 'day': '2024-05-03', '__row__': 2}]]
"""

from __future__ import annotations

import codecs
import csv
import gzip
import itertools
import json
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TextIO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from kgsentinel.errors import SourceError

if TYPE_CHECKING:  # pragma: no cover
    import sqlalchemy as sa

__all__ = [
    "KINDS",
    "ROW",
    "SourceError",
    "TableSource",
    "columns",
    "detect_kind",
    "max_watermark",
    "read_chunks",
]

#: the column added to every chunk: the row's 1-based number in its source
ROW = "__row__"

Kind = Literal["csv", "json", "jsonl", "parquet", "sql"]
KINDS: tuple[str, ...] = ("csv", "json", "jsonl", "parquet", "sql")

_SUFFIXES = {
    ".csv": "csv",
    ".tsv": "csv",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}
_SAMPLE = 100  # records read by columns() for JSON and JSON Lines
_NULLABLE: dict[pa.DataType, Any] = {
    pa.int8(): pd.Int8Dtype(),
    pa.int16(): pd.Int16Dtype(),
    pa.int32(): pd.Int32Dtype(),
    pa.int64(): pd.Int64Dtype(),
    pa.uint8(): pd.UInt8Dtype(),
    pa.uint16(): pd.UInt16Dtype(),
    pa.uint32(): pd.UInt32Dtype(),
    pa.uint64(): pd.UInt64Dtype(),
    pa.bool_(): pd.BooleanDtype(),
}


@dataclass(frozen=True, repr=False)
class TableSource:
    """Where a table comes from and how to read it.

    ``location`` is a file path (``.gz`` is read compressed for CSV and JSON),
    or a SQLAlchemy URL for ``sql`` (``sqlite:///data.db``,
    ``postgresql+psycopg://user@host/db``). A SQL source names a ``table``
    (``name`` or ``schema.name``, checked against the database, never pasted
    into SQL) or a ``query``: trusted SQL from the workspace config, one SELECT
    (it first runs as a subquery with ``LIMIT 0``, which refuses anything else;
    write a colon before a word as ``\\:``, since ``:name`` is a parameter).
    ``records`` is the dotted path of the array of records in a JSON document
    (``"data.items"``); ``None`` means the document is the array.

    Example:
        >>> TableSource("sql", "postgresql+psycopg://ops:secret@db/erp", table="orders")
        TableSource(kind='sql', location='postgresql+psycopg://ops:***@db/erp', table='orders')
    """

    kind: Kind
    location: str
    table: str | None = None
    query: str | None = None
    records: str | None = None
    delimiter: str = ","
    encoding: str = "utf-8"
    watermark: str | None = None

    def __post_init__(self) -> None:
        _validate(self)

    @classmethod
    def from_path(cls, path: str | os.PathLike[str], **options: Any) -> TableSource:
        """A file source whose kind (and tab delimiter for ``.tsv``) comes from its name.

        Example:
            >>> TableSource.from_path("data/steps.tsv").delimiter
            '\\t'
        """
        kind = detect_kind(path)
        if _suffix(path) == ".tsv":
            options.setdefault("delimiter", "\t")
        return cls(kind, str(path), **options)  # type: ignore[arg-type]

    @property
    def display(self) -> str:
        """The location as messages show it: a SQL URL with its password masked."""
        return _mask(self.location) if self.kind == "sql" else self.location

    def __repr__(self) -> str:
        shown = [f"kind={self.kind!r}", f"location={self.display!r}"]
        for name, default in _DEFAULTS.items():
            value = getattr(self, name)
            if value != default:
                shown.append(f"{name}={value!r}")
        return f"TableSource({', '.join(shown)})"


_DEFAULTS: dict[str, object] = {
    "table": None,
    "query": None,
    "records": None,
    "delimiter": ",",
    "encoding": "utf-8",
    "watermark": None,
}


def _validate(source: TableSource) -> None:
    where = source.display
    if source.kind not in KINDS:
        raise SourceError(f"{where}: unknown source kind {source.kind!r}: use one of {KINDS}")
    if not source.location:
        raise SourceError("a source needs a location: a file path, or a SQLAlchemy URL for sql")
    if source.kind == "sql" and (source.table is None) == (source.query is None):
        raise SourceError(f"{where}: a sql source needs either table or query (exactly one)")
    if source.kind != "sql" and (source.table or source.query):
        raise SourceError(f"{where}: table and query are for sql sources only: remove them")
    if source.records is not None and source.kind != "json":
        raise SourceError(f"{where}: records is for json sources only: remove it")
    if len(source.delimiter) != 1 or source.delimiter in '\r\n"':
        raise SourceError(
            f"{where}: delimiter {source.delimiter!r} must be one character "
            "other than a quote or a newline, e.g. ',' or '\\t'"
        )
    try:
        codecs.lookup(source.encoding)
    except LookupError:
        raise SourceError(
            f"{where}: unknown encoding {source.encoding!r}: use e.g. utf-8, latin-1, cp1252"
        ) from None


def _mask(url: str) -> str:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return "<the sql location, which is not a valid URL>"


def _suffix(path: str | os.PathLike[str]) -> str:
    suffixes = [part.lower() for part in Path(path).suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes.pop()
    return suffixes[-1] if suffixes else ""


def detect_kind(path: str | os.PathLike[str]) -> str:
    """The source kind of a file from its extension (``.tsv`` is CSV with tabs).

    Example:
        >>> detect_kind("events.ndjson"), detect_kind("orders.csv.gz")
        ('jsonl', 'csv')
    """
    suffix = _suffix(path)
    kind = _SUFFIXES.get(suffix)
    if kind is None or (kind == "parquet" and str(path).lower().endswith(".gz")):
        known = ", ".join(_SUFFIXES)
        raise SourceError(
            f"{path}: cannot tell the source kind from its extension {suffix or '(none)'!r}: "
            f"rename it to one of {known} (CSV and JSON may end in .gz), or set the kind"
        )
    return kind


def columns(source: TableSource) -> list[str]:
    """The source's column names, read without reading its data.

    CSV: the header; Parquet: the schema; SQL: the table, or the query run
    with ``LIMIT 0``; JSON Lines: the keys of the first 100 records; JSON: of
    the first 100 records of the array (the document itself is parsed whole).

    Example:
        >>> path = getfixture("tmp_path") / "steps.jsonl"
        >>> _ = path.write_text('{"id": 1, "case": {"id": "c1", "tags": ["x"]}}\\n')
        >>> columns(TableSource("jsonl", str(path)))
        ['id', 'case.id', 'case.tags']
    """
    names = _COLUMN_READERS[source.kind](source)
    _check_names(source, names)
    return names


def read_chunks(
    source: TableSource, *, chunk_rows: int = 50_000, after: object | None = None
) -> Iterator[pd.DataFrame]:
    """Yield the source's rows as DataFrames of at most ``chunk_rows`` rows, with ``__row__``.

    With ``after``, only rows whose watermark column is greater are read; a
    chunk left empty by that filter is not yielded. Problems with the source
    raise ``SourceError`` once iteration starts.

    Example:
        >>> path = getfixture("tmp_path") / "steps.jsonl"
        >>> _ = path.write_text('{"n": 1}\\n\\n{"n": 2}\\n{"n": 3}\\n')
        >>> for chunk in read_chunks(TableSource("jsonl", str(path)), chunk_rows=2):
        ...     print(chunk.to_dict("list"))
        {'n': [1, 2], '__row__': [1, 3]}
        {'n': [3], '__row__': [4]}
    """
    if chunk_rows < 1:
        raise SourceError(f"{source.display}: chunk_rows must be at least 1, not {chunk_rows}")
    if after is not None and source.watermark is None:
        raise SourceError(
            f"{source.display}: reading after {after!r} needs a watermark column: set watermark"
        )
    return _read(source, chunk_rows, after)


def _read(source: TableSource, chunk_rows: int, after: object | None) -> Iterator[pd.DataFrame]:
    if source.kind == "sql":
        yield from _read_sql(source, chunk_rows, after)
        return
    for chunk in _FILE_READERS[source.kind](source, chunk_rows):
        if source.watermark is not None:
            _require_column(source, list(chunk.columns), source.watermark)
            if after is not None:
                chunk = chunk.loc[_newer(source, chunk, after)].reset_index(drop=True)
        if len(chunk):
            yield chunk


def _check_names(source: TableSource, names: Iterable[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name == ROW:
            raise SourceError(
                f"{source.display}: the column name {ROW!r} is reserved for row numbers: rename it"
            )
        if name in seen:
            raise SourceError(
                f"{source.display}: two columns are named {name!r}: rename or alias one of them"
            )
        seen.add(name)


def _require_column(source: TableSource, names: list[str], column: str) -> None:
    if column not in names:
        available = ", ".join(repr(name) for name in names if name != ROW)
        raise SourceError(
            f"{source.display}: no column {column!r} for the watermark: use one of {available}"
        )


def _with_rows(frame: pd.DataFrame, first: int) -> pd.DataFrame:
    frame[ROW] = np.arange(first, first + len(frame), dtype=np.int64)
    return frame


# -- files -------------------------------------------------------------------------------


def _existing(source: TableSource) -> Path:
    path = Path(source.location).expanduser()
    if not path.exists():
        raise SourceError(f"{path}: no such file: check the source's location")
    if path.is_dir():
        raise SourceError(f"{path}: is a folder, not a file: give the path of a file")
    if not os.access(path, os.R_OK):
        raise SourceError(f"{path}: cannot read it (permission denied): check its permissions")
    return path


def _text_encoding(encoding: str) -> str:
    """Python's codec name, reading a UTF-8 byte order mark as such."""
    name = codecs.lookup(encoding).name
    return "utf-8-sig" if name == "utf-8" else name


@contextmanager
def _open_text(source: TableSource, *, newline: str | None = None) -> Iterator[TextIO]:
    path = _existing(source)
    encoding = _text_encoding(source.encoding)
    opener: Callable[..., TextIO] = gzip.open if path.suffix.lower() == ".gz" else open
    try:
        handle = opener(path, "rt", encoding=encoding, newline=newline)
    except OSError as exc:
        raise SourceError(
            f"{path}: cannot open it ({exc.strerror or exc}): check the file"
        ) from exc
    with handle:
        try:
            yield handle
        except (UnicodeDecodeError, gzip.BadGzipFile, EOFError) as exc:
            raise _undecodable(source, exc) from exc


def _undecodable(source: TableSource, exc: Exception) -> SourceError:
    if isinstance(exc, UnicodeDecodeError):
        return SourceError(
            f"{source.location}: not valid {source.encoding} text: "
            "set the source's encoding (e.g. latin-1 or cp1252) or re-save the file as UTF-8"
        )
    return SourceError(f"{source.location}: not a valid gzip file ({exc}): check the file")


# -- CSV ---------------------------------------------------------------------------------


def _csv_columns(source: TableSource) -> list[str]:
    with _open_text(source, newline="") as handle:
        reader = csv.reader(handle, delimiter=source.delimiter)
        try:
            header = next((row for row in reader if row), None)
        except csv.Error as exc:
            raise SourceError(f"{source.location}: line 1: bad CSV header ({exc})") from exc
    if header is None:
        raise SourceError(f"{source.location}: the file is empty: a CSV file needs a header line")
    return header


def _csv_options(source: TableSource, names: list[str], ragged: list[object]) -> dict:
    encoding = _text_encoding(source.encoding)

    def on_ragged(row: object) -> str:
        ragged.append(row)
        return "error"

    return {
        "read_options": pacsv.ReadOptions(encoding="utf8" if encoding == "utf-8-sig" else encoding),
        "parse_options": pacsv.ParseOptions(
            delimiter=source.delimiter, newlines_in_values=True, invalid_row_handler=on_ragged
        ),
        "convert_options": pacsv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.string()),
            strings_can_be_null=True,
            null_values=[""],
        ),
    }


def _read_csv(source: TableSource, chunk_rows: int) -> Iterator[pd.DataFrame]:
    names = columns(source)
    path = _existing(source)
    ragged: list[object] = []
    first = 1
    try:
        batches = pacsv.open_csv(path, **_csv_options(source, names, ragged))
        for table in _rebatch(batches, chunk_rows):
            yield _with_rows(_to_pandas(table), first)
            first += table.num_rows
    except (pa.ArrowInvalid, UnicodeDecodeError, OSError) as exc:
        if ragged:
            raise _ragged_error(source, len(names), exc) from exc
        raise _csv_error(source, exc) from exc


def _rebatch(batches: Iterable[pa.RecordBatch], size: int) -> Iterator[pa.Table]:
    """Tables of exactly ``size`` rows (the last one may be shorter) from any batches."""
    pending: list[pa.RecordBatch] = []
    count = 0
    for batch in batches:
        pending.append(batch)
        count += batch.num_rows
        if count < size:
            continue
        table = pa.Table.from_batches(pending)
        start = 0
        while count - start >= size:
            yield table.slice(start, size)
            start += size
        rest = table.slice(start)
        pending, count = rest.to_batches(), rest.num_rows
    if count:
        yield pa.Table.from_batches(pending)


def _csv_error(source: TableSource, exc: Exception) -> SourceError:
    detail = " ".join(str(exc).split())
    if isinstance(exc, UnicodeDecodeError) or "utf8" in detail.lower():
        return SourceError(
            f"{source.location}: not valid {source.encoding} text ({detail}): "
            "set the source's encoding (e.g. latin-1 or cp1252) or re-save the file as UTF-8"
        )
    return SourceError(f"{source.location}: cannot read it as CSV ({detail}): check the file")


def _ragged_error(source: TableSource, expected: int, exc: Exception) -> SourceError:
    fix = f"quote values that contain {source.delimiter!r}, or fix the line"
    found = _locate_ragged(source, expected)
    if found is None:
        detail = " ".join(str(exc).split())
        return SourceError(
            f"{source.location}: a row has the wrong number of fields ({detail}): {fix}"
        )
    line, record, count = found
    return SourceError(
        f"{source.location}: line {line} (record {record}) has {count} fields "
        f"but the header has {expected}: {fix}"
    )


def _locate_ragged(source: TableSource, expected: int) -> tuple[int, int, int] | None:
    """The first record whose field count differs: (first line, record number, fields)."""
    with _open_text(source, newline="") as handle:
        reader = csv.reader(handle, delimiter=source.delimiter)
        record, start = -1, 1
        try:
            for row in reader:
                if row:
                    record += 1
                    if record and len(row) != expected:
                        return start, record, len(row)
                start = reader.line_num + 1
        except csv.Error:
            return None
    return None


# -- JSON and JSON Lines -----------------------------------------------------------------


def _flatten(record: dict[str, Any], prefix: str = "", into: dict[str, Any] | None = None) -> dict:
    """Nested objects become dotted keys; lists and scalars stay as they are."""
    flat: dict[str, Any] = {} if into is None else into
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            _flatten(value, f"{name}.", flat)
        else:
            flat[name] = value
    return flat


def _object(source: TableSource, where: str, value: object) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise SourceError(
            f"{source.location}: {where}: expected a JSON object, found {type(value).__name__}: "
            "each record must be an object of fields"
        )
    return value


def _keys(records: Iterable[dict[str, Any]]) -> list[str]:
    names: dict[str, None] = {}
    for record in records:
        names.update(dict.fromkeys(_flatten(record)))
    return list(names)


def _json_frame(
    source: TableSource, records: list[dict[str, Any]], rows: Iterable[int], known: list[str]
) -> pd.DataFrame:
    flat = [_flatten(record) for record in records]
    names: dict[str, None] = dict.fromkeys(known)
    for record in flat:
        names.update(dict.fromkeys(record))
    _check_names(source, names)
    data = {name: _series([record.get(name) for record in flat]) for name in names}
    frame = pd.DataFrame(data, index=pd.RangeIndex(len(flat)))
    frame[ROW] = np.fromiter(rows, dtype=np.int64, count=len(flat))
    return frame


def _jsonl_records(source: TableSource) -> Iterator[tuple[int, dict[str, Any]]]:
    with _open_text(source) as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                raise SourceError(
                    f"{source.location}: line {number}: not valid JSON ({exc.msg} at column "
                    f"{exc.colno}): fix the line; JSON Lines holds one object per line"
                ) from exc
            yield number, _object(source, f"line {number}", value)


def _jsonl_columns(source: TableSource) -> list[str]:
    with closing(_jsonl_records(source)) as records:
        return _keys(record for _, record in itertools.islice(records, _SAMPLE))


def _read_jsonl(source: TableSource, chunk_rows: int) -> Iterator[pd.DataFrame]:
    known = columns(source)
    with closing(_jsonl_records(source)) as records:
        while batch := list(itertools.islice(records, chunk_rows)):
            rows = [number for number, _ in batch]
            yield _json_frame(source, [record for _, record in batch], rows, known)


def _json_records(source: TableSource) -> list[dict[str, Any]]:
    """The array of records of a JSON document, which is parsed whole."""
    with _open_text(source) as handle:
        try:
            document = json.load(handle)
        except json.JSONDecodeError as exc:
            raise SourceError(
                f"{source.location}: line {exc.lineno}: not valid JSON ({exc.msg} at column "
                f"{exc.colno}): fix the document"
            ) from exc
    records = _at_path(source, document)
    return [_object(source, f"record {n}", value) for n, value in enumerate(records, 1)]


def _json_type(value: object) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    return names.get(type(value), "a number")


def _at_path(source: TableSource, document: object) -> list[object]:
    steps = source.records.split(".") if source.records else []
    value = document
    for depth, step in enumerate(steps):
        if not isinstance(value, dict) or step not in value:
            where = ".".join(steps[:depth]) or "the document"
            found = (
                f"keys: {', '.join(map(repr, value))}"
                if isinstance(value, dict)
                else (f"it is {_json_type(value)}")
            )
            raise SourceError(
                f"{source.location}: {where} has no key {step!r} ({found}): "
                "fix the source's records path"
            )
        value = value[step]
    if not isinstance(value, list):
        hint = "set records to the dotted path of the array of records"
        if isinstance(value, dict):
            arrays = [key for key, item in value.items() if isinstance(item, list)]
            hint += f" (arrays here: {', '.join(arrays) or 'none'})"
        where = source.records or "the document"
        raise SourceError(
            f"{source.location}: {where} is {_json_type(value)}, not an array: {hint}"
        )
    return value


def _json_columns(source: TableSource) -> list[str]:
    return _keys(_json_records(source)[:_SAMPLE])


def _read_json(source: TableSource, chunk_rows: int) -> Iterator[pd.DataFrame]:
    records = _json_records(source)
    known = _keys(records[:_SAMPLE])
    _check_names(source, known)
    for start in range(0, len(records), chunk_rows):
        part = records[start : start + chunk_rows]
        yield _json_frame(source, part, range(start + 1, start + 1 + len(part)), known)


# -- Parquet -----------------------------------------------------------------------------


def _parquet_error(source: TableSource, exc: Exception) -> SourceError:
    detail = " ".join(str(exc).split())
    return SourceError(
        f"{source.location}: cannot read it as Parquet ({detail}): check the file or its kind"
    )


def _flat_names(fields: Iterable[pa.Field], prefix: str = "") -> list[str]:
    names: list[str] = []
    for field in fields:
        if pa.types.is_struct(field.type) and field.type.num_fields:
            names += _flat_names(field.type, f"{prefix}{field.name}.")
        else:
            names.append(f"{prefix}{field.name}")
    return names


def _parquet_columns(source: TableSource) -> list[str]:
    path = _existing(source)
    try:
        schema = pq.read_schema(path)
    except (pa.ArrowException, OSError) as exc:
        raise _parquet_error(source, exc) from exc
    return _flat_names(schema)


def _flat_table(table: pa.Table) -> pa.Table:
    while any(pa.types.is_struct(field.type) and field.type.num_fields for field in table.schema):
        table = table.flatten()
    return table


def _read_parquet(source: TableSource, chunk_rows: int) -> Iterator[pd.DataFrame]:
    columns(source)
    path = _existing(source)
    first = 1
    try:
        with pq.ParquetFile(path) as parquet:
            for batch in parquet.iter_batches(batch_size=chunk_rows):
                table = _flat_table(pa.Table.from_batches([batch]))
                yield _with_rows(_to_pandas(table), first)
                first += batch.num_rows
    except (pa.ArrowException, OSError) as exc:
        raise _parquet_error(source, exc) from exc


# -- Arrow and Python values to pandas ---------------------------------------------------


def _nested(kind: pa.DataType) -> bool:
    return pa.types.is_nested(kind)


def _column_to_pandas(column: pa.Array | pa.ChunkedArray) -> pd.Series:
    """Native dtypes; nullable integers and booleans; nested values as Python objects."""
    if _nested(column.type):
        return pd.Series(column.to_pylist(), dtype=object)
    return column.to_pandas(types_mapper=_NULLABLE.get)


def _to_pandas(table: pa.Table) -> pd.DataFrame:
    data = {name: _column_to_pandas(table.column(name)) for name in table.column_names}
    return pd.DataFrame(data, index=pd.RangeIndex(table.num_rows))


def _series(values: list[Any]) -> pd.Series:
    """A column of Python values with the dtype Arrow infers, or ``object`` when mixed."""
    try:
        array = pa.array(values, from_pandas=True)
    except (pa.ArrowException, OverflowError, TypeError, ValueError):
        return pd.Series(values, dtype=object)
    if _nested(array.type):
        return pd.Series(values, dtype=object)
    return _column_to_pandas(array)


# -- SQL ---------------------------------------------------------------------------------


def _engine(source: TableSource) -> sa.Engine:
    import sqlalchemy as sa

    try:
        url = sa.engine.make_url(source.location)
    except (sa.exc.ArgumentError, ValueError):
        raise SourceError(
            "the sql location is not a valid SQLAlchemy URL: write it like "
            "sqlite:///data/erp.db or postgresql+psycopg://user@host:5432/db"
        ) from None
    _check_sqlite_file(source, url)
    try:
        return sa.create_engine(url)
    except sa.exc.NoSuchModuleError:
        raise SourceError(
            f"{source.display}: unknown database kind {url.drivername!r}: use a SQLAlchemy "
            "URL such as sqlite:///data.db or postgresql+psycopg://user@host/db"
        ) from None
    except ImportError as exc:
        raise SourceError(
            f"{source.display}: the database driver is not installed ({exc}): "
            "pip install 'kgsentinel[postgres]' for PostgreSQL, or the driver named in the URL"
        ) from None


def _check_sqlite_file(source: TableSource, url: sa.URL) -> None:
    """SQLite would create a missing file silently: refuse instead."""
    database = url.database or ""
    if url.get_backend_name() != "sqlite" or database in ("", ":memory:"):
        return
    if database.startswith("file:"):
        return
    if not Path(database).expanduser().is_file():
        raise SourceError(f"{source.display}: no such SQLite file {database!r}: check the URL")


def _driver_message(source: TableSource, exc: BaseException) -> str:
    """The driver's own words on one line, with the URL's password masked."""
    import sqlalchemy as sa

    original = getattr(exc, "orig", None) or exc
    message = " ".join(str(original).split()) or type(original).__name__
    password = sa.engine.make_url(source.location).password
    if password:
        message = message.replace(str(password), "***")
    return message


@contextmanager
def _connection(source: TableSource) -> Iterator[sa.Connection]:
    import sqlalchemy as sa

    engine = _engine(source)
    # Driver errors are chained "from None": their text is already in ours, password masked.
    try:
        try:
            connection = engine.connect()
        except sa.exc.SQLAlchemyError as exc:
            raise SourceError(
                f"{source.display}: cannot connect ({_driver_message(source, exc)}): check the "
                "URL, that the database server is running, and the credentials"
            ) from None
        with connection:
            try:
                yield connection
            except sa.exc.SQLAlchemyError as exc:
                what, fix = (
                    ("the query", "a query is one SELECT")
                    if source.query
                    else (f"reading {source.table!r}", "check the table")
                )
                raise SourceError(
                    f"{source.display}: {what} failed ({_driver_message(source, exc)}): {fix}"
                ) from None
    finally:
        engine.dispose()


def _table(connection: sa.Connection, source: TableSource) -> sa.Table:
    """The reflected table, found by name through the database catalogue, never by SQL."""
    import sqlalchemy as sa

    name = source.table or ""
    inspector = sa.inspect(connection)
    candidates = [(None, name)]
    if "." in name:
        schema, _, bare = name.partition(".")
        candidates.append((schema, bare))
    for schema, bare in candidates:
        if inspector.has_table(bare, schema=schema):
            return sa.Table(bare, sa.MetaData(), schema=schema, autoload_with=connection)
    tables = sorted(inspector.get_table_names() + inspector.get_view_names())
    shown = ", ".join(tables[:20]) + (", …" if len(tables) > 20 else "")
    raise SourceError(f"{source.display}: no table {name!r}: use one of {shown or '(no tables)'}")


def _query_text(source: TableSource) -> sa.TextClause:
    import sqlalchemy as sa

    return sa.text((source.query or "").strip().rstrip(";").rstrip())


def _query_columns(connection: sa.Connection, source: TableSource) -> list[str]:
    import sqlalchemy as sa

    inner = _query_text(source).columns().subquery("kgsentinel_source")
    probe = sa.select(sa.literal_column("*")).select_from(inner).limit(0)
    return list(connection.execute(probe).keys())


def _sql_columns(source: TableSource) -> list[str]:
    with _connection(source) as connection:
        if source.table is not None:
            return [column.name for column in _table(connection, source).columns]
        return _query_columns(connection, source)


_PARSERS: dict[type, Callable[[str], object]] = {
    int: int,
    float: float,
    Decimal: Decimal,
    datetime: datetime.fromisoformat,
    date: date.fromisoformat,
}


def _bound_after(source: TableSource, column: sa.ColumnElement[Any], after: object) -> object:
    """``after`` as the column's Python type, so the driver binds it as such."""
    if isinstance(after, np.generic):
        after = after.item()
    try:
        python_type = column.type.python_type
    except NotImplementedError:
        return after
    parse = _PARSERS.get(python_type)
    if not isinstance(after, str) or parse is None:
        return after
    try:
        return parse(after)
    except (ValueError, InvalidOperation):
        raise SourceError(
            f"{source.display}: after={after!r} is not a {python_type.__name__} like the "
            f"watermark column {source.watermark!r}: pass a value of that type"
        ) from None


def _sql_statement(
    connection: sa.Connection, source: TableSource, after: object | None
) -> sa.Executable:
    """The SELECT to run: a reflected table, or the query (probed first), newer rows only."""
    import sqlalchemy as sa

    if source.table is not None:
        selectable: Any = _table(connection, source)
        statement: Any = sa.select(selectable).order_by(*selectable.primary_key.columns)
    else:
        names = _query_columns(connection, source)  # refuses anything but one SELECT
        _check_names(source, names)
        statement = _query_text(source)
        selectable = statement.columns(*map(sa.column, names)).subquery("kgsentinel_source")
    if source.watermark is None:
        return statement
    _require_column(source, [column.name for column in selectable.columns], source.watermark)
    if after is None:
        return statement
    column = selectable.columns[source.watermark]
    value = sa.bindparam("after", _bound_after(source, column, after), type_=column.type)
    if source.query is not None:
        statement = sa.select(selectable)
    return statement.where(column > value)


def _read_sql(source: TableSource, chunk_rows: int, after: object | None) -> Iterator[pd.DataFrame]:
    with _connection(source) as connection:
        statement = _sql_statement(connection, source, after)
        result = connection.execution_options(yield_per=chunk_rows).execute(statement)
        names = list(result.keys())
        _check_names(source, names)
        first = 1
        for rows in result.partitions(chunk_rows):
            values = list(zip(*rows, strict=True)) if rows else []
            data = {name: _series(list(column)) for name, column in zip(names, values, strict=True)}
            frame = pd.DataFrame(data, index=pd.RangeIndex(len(rows)))
            yield _with_rows(frame, first)
            first += len(rows)


# -- watermarks --------------------------------------------------------------------------


def _scalar_kind(value: object) -> str:
    if isinstance(value, bool | np.bool_):
        return "text"
    if isinstance(value, int | float | Decimal | np.number):
        return "number"
    if isinstance(value, datetime | date | np.datetime64):
        return "datetime"
    text = str(value).strip()
    try:
        float(text)
    except ValueError:
        pass
    else:
        return "number"
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return "text"
    return "datetime"


def _column_kind(values: pd.Series) -> str | None:
    """The kind of a typed column; ``None`` for text or mixed columns."""
    if pd.api.types.is_bool_dtype(values):
        return "text"
    if pd.api.types.is_numeric_dtype(values):
        return "number"
    if pd.api.types.is_datetime64_any_dtype(values):
        return "datetime"
    return None


def _as_kind(values: pd.Series, kind: str) -> pd.Series:
    """The values as numbers, UTC-aware times or text; unparsable ones become missing."""
    if kind == "number":
        return pd.to_numeric(values, errors="coerce")
    if kind == "datetime":
        if pd.api.types.is_datetime64_any_dtype(values):
            return values
        return pd.to_datetime(values, errors="coerce", format="ISO8601", utc=True)
    return values.astype("string")


def _as_scalar(value: object, kind: str) -> object:
    if kind == "number":
        return value if isinstance(value, int | float | Decimal | np.number) else float(str(value))
    if kind == "datetime":
        return pd.Timestamp(value)  # type: ignore[arg-type]
    return str(value)


def _aligned(left: pd.Series, right: object) -> tuple[pd.Series, object]:
    """Times with and without offsets compare in UTC (naive ones count as UTC)."""
    if not isinstance(right, pd.Timestamp):
        return left, right
    left_aware = getattr(left.dt, "tz", None) is not None
    if left_aware and right.tzinfo is None:
        right = right.tz_localize("UTC")
    elif not left_aware and right.tzinfo is not None:
        left = left.dt.tz_localize("UTC")
    return left, right


def _newer(source: TableSource, chunk: pd.DataFrame, after: object) -> pd.Series:
    """Which rows of the chunk have a watermark greater than ``after``."""
    column = source.watermark or ""
    values = chunk[column]
    kind = _column_kind(values) or _scalar_kind(after)
    converted = _as_kind(values, kind)
    bad = converted.isna() & values.notna()
    if bad.any():
        row, value = chunk.loc[bad, ROW].iloc[0], values[bad].iloc[0]
        raise SourceError(
            f"{source.location}: row {row}: watermark {column!r} = {value!r} is not a {kind} "
            f"like after={after!r}: fix the value, or choose another watermark column"
        )
    try:
        left, right = _aligned(converted, _as_scalar(after, kind))
        newer = left > right
    except (TypeError, ValueError) as exc:
        raise SourceError(
            f"{source.location}: cannot compare watermark {column!r} with after={after!r} "
            f"({exc}): pass after as a {kind}"
        ) from exc
    return newer.fillna(False).astype(bool)


def _python(value: object) -> object:
    return value.item() if isinstance(value, np.generic) else value


def max_watermark(chunk: pd.DataFrame, column: str) -> object:
    """The greatest value of ``column`` in the chunk, to pass as ``after`` next time.

    Typed columns give a Python number or a ``pandas.Timestamp``; text columns
    (CSV) compare as numbers or ISO times when all their values are such, and
    give the original text. ``None`` when the column has no value.

    Example:
        >>> chunk = pd.DataFrame({"seq": ["9", "10", None]})
        >>> max_watermark(chunk, "seq")
        '10'
    """
    if column not in chunk:
        raise SourceError(f"no column {column!r} for the watermark: use one of {list(chunk)}")
    values = chunk[column].dropna()
    if values.empty:
        return None
    kind = _column_kind(values)
    if kind is not None:
        return _python(values.max())
    for candidate in ("number", "datetime"):
        converted = _as_kind(values, candidate)
        if converted.notna().all():
            return _python(values.loc[converted.idxmax()])
    return _python(values.loc[values.astype("string").idxmax()])


_COLUMN_READERS: dict[str, Callable[[TableSource], list[str]]] = {
    "csv": _csv_columns,
    "json": _json_columns,
    "jsonl": _jsonl_columns,
    "parquet": _parquet_columns,
    "sql": _sql_columns,
}
_FILE_READERS: dict[str, Callable[[TableSource, int], Iterator[pd.DataFrame]]] = {
    "csv": _read_csv,
    "json": _read_json,
    "jsonl": _read_jsonl,
    "parquet": _read_parquet,
}
