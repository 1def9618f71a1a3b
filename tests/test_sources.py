"""Tabular sources: every kind reads the same table the same way, in chunks, incrementally.

SQL runs on SQLite and on a real PostgreSQL server started by a module fixture.
"""

from __future__ import annotations

import csv
import gzip
import json
import os
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from kgsentinel.errors import KgsentinelError, SourceError
from kgsentinel.ingest.sources import (
    ROW,
    TableSource,
    columns,
    detect_kind,
    max_watermark,
    read_chunks,
)

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

HEADER = ["id", "name", "customer.city", "amount", "updated"]
PEOPLE = [
    (1, 'Ana, "the" lead', "Paris", 2.5, "2024-01-01T09:00:00"),
    (2, "Bo", None, 10.25, "2024-01-05T09:00:00"),
    (3, "Cy\nsecond line", "Zoë's town", None, "2024-01-03T00:00:00"),
    (4, "Dee", "Lyon", 0.5, "2024-01-04T12:30:00"),
    (5, "Ed", "Nice", 7.0, None),
]
#: rows of PEOPLE whose "updated" is after CUTOFF (a missing watermark is never newer)
CUTOFF = "2024-01-03T00:00:00"
NEWER = [2, 4]
FILE_KINDS = ["csv", "tsv", "csv.gz", "json", "jsonl", "parquet", "sqlite", "sqlite-query"]


def require_server(error: Exception) -> None:
    """A missing server fails under CI=true and skips elsewhere (as in conftest)."""
    message = f"real server unavailable: {error}"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


# -- writing the same table in every format ----------------------------------------------


def write_csv(path: Path, delimiter: str = ",") -> None:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(HEADER)
        writer.writerows([["" if value is None else value for value in row] for row in PEOPLE])


def nested(row: tuple) -> dict:
    record = dict(zip(HEADER, row, strict=True))
    return {
        "id": record["id"],
        "name": record["name"],
        "customer": {"city": record["customer.city"]},
        "amount": record["amount"],
        "updated": record["updated"],
    }


def to_time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def write_parquet(path: Path) -> None:
    table = pa.table(
        {
            "id": pa.array([row[0] for row in PEOPLE], pa.int64()),
            "name": [row[1] for row in PEOPLE],
            "customer": pa.array([{"city": row[2]} for row in PEOPLE]),
            "amount": pa.array([row[3] for row in PEOPLE], pa.float64()),
            "updated": pa.array([to_time(row[4]) for row in PEOPLE], pa.timestamp("us")),
        }
    )
    pq.write_table(table, path, row_group_size=2)


def create_people(url: str, name: str = "people") -> None:
    engine = sa.create_engine(url)
    people = sa.Table(
        name,
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("name", sa.Text),
        sa.Column("customer.city", sa.Text),
        sa.Column("amount", sa.Float),
        sa.Column("updated", sa.DateTime),
    )
    rows = [dict(zip(HEADER, row, strict=True)) for row in reversed(PEOPLE)]
    for row in rows:
        row["updated"] = to_time(row["updated"])
    with engine.begin() as connection:
        people.drop(connection, checkfirst=True)
        people.create(connection)
        connection.execute(people.insert(), rows)
    engine.dispose()


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, TableSource]:
    """The PEOPLE table written in every file format and in SQLite."""
    folder = tmp_path_factory.mktemp("sources")
    write_csv(folder / "people.csv")
    write_csv(folder / "people.tsv", delimiter="\t")
    write_csv(folder / "people.csv.gz")
    document = {"data": {"items": [nested(row) for row in PEOPLE], "count": len(PEOPLE)}}
    (folder / "people.json").write_text(json.dumps(document), encoding="utf-8")
    lines = [json.dumps(nested(row)) for row in PEOPLE]
    (folder / "people.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    write_parquet(folder / "people.parquet")
    sqlite_url = f"sqlite:///{folder / 'people.db'}"
    create_people(sqlite_url)
    found = {
        kind: TableSource.from_path(folder / f"people.{kind}", watermark="updated")
        for kind in ("csv", "tsv", "csv.gz", "jsonl", "parquet")
    }
    json_path = str(folder / "people.json")
    found["json"] = TableSource("json", json_path, records="data.items", watermark="updated")
    found["sqlite"] = TableSource("sql", sqlite_url, table="people", watermark="updated")
    query = 'SELECT id, name, "customer.city", amount, updated FROM people ORDER BY id;'
    found["sqlite-query"] = TableSource("sql", sqlite_url, query=query, watermark="updated")
    return found


@pytest.fixture(scope="module")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A real PostgreSQL server on loopback, with the PEOPLE table."""
    from postgres import PostgresServer

    server = PostgresServer()
    try:
        server.start(tmp_path_factory.mktemp("postgres"))
        create_people(server.url)
    except Exception as exc:
        server.stop()
        require_server(exc)
    yield server
    server.stop()


@pytest.fixture(params=[*FILE_KINDS, "postgres", "postgres-query"])
def source(request: pytest.FixtureRequest, sources: dict[str, TableSource]) -> TableSource:
    """Each kind of source holding PEOPLE."""
    if not request.param.startswith("postgres"):
        return sources[request.param]
    url = request.getfixturevalue("postgres").url
    if request.param == "postgres":
        return TableSource("sql", url, table="people", watermark="updated")
    query = "SELECT * FROM people WHERE amount IS NULL OR amount >= 0 ORDER BY id"
    return TableSource("sql", url, query=query, watermark="updated")


# -- reading -----------------------------------------------------------------------------


def read_all(source: TableSource, **options: object) -> pd.DataFrame:
    chunks = list(read_chunks(source, **options))  # type: ignore[arg-type]
    if not chunks:
        return pd.DataFrame(columns=[*HEADER, ROW])
    return pd.concat(chunks, ignore_index=True)


def plain(value: object) -> object:
    """A cell as text, the way every source should agree on it."""
    if value is None or value is pd.NaT or (isinstance(value, float) and value != value):
        return None
    if value is pd.NA:
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def as_rows(frame: pd.DataFrame) -> list[tuple]:
    """Rows as text; times as ISO text (a SQLite query gives them as SQLite stores them)."""
    rows = []
    for record in frame.to_dict("records"):
        updated = record.pop("updated")
        record["updated"] = None if pd.isna(updated) else pd.Timestamp(updated).isoformat()
        rows.append((int(record[ROW]), *(plain(record[name]) for name in HEADER)))
    return rows


EXPECTED = [(n, *(plain(value) for value in row)) for n, row in enumerate(PEOPLE, 1)]


def test_every_kind_gives_the_same_rows_and_row_numbers(source: TableSource) -> None:
    frame = read_all(source)
    assert list(frame.columns) == [*HEADER, ROW]
    assert as_rows(frame) == EXPECTED


def test_every_kind_lists_its_columns(source: TableSource) -> None:
    assert columns(source) == HEADER


def test_csv_cells_are_text_and_empty_cells_are_missing(sources: dict[str, TableSource]) -> None:
    frame = read_all(sources["csv"])
    assert all(pd.api.types.is_string_dtype(frame[name]) for name in HEADER)
    assert pd.isna(frame.loc[1, "customer.city"])  # an empty cell is missing, not ""
    assert frame.loc[2, "name"] == "Cy\nsecond line"


def test_typed_sources_keep_their_types(sources: dict[str, TableSource]) -> None:
    for kind in ("parquet", "sqlite"):
        frame = read_all(sources[kind])
        assert pd.api.types.is_datetime64_any_dtype(frame["updated"]), kind
        assert pd.api.types.is_integer_dtype(frame["id"]), kind
        assert frame[ROW].dtype == "int64"


@pytest.mark.parametrize("kind", FILE_KINDS)
@settings(max_examples=12, deadline=None)
@given(chunk_rows=st.integers(min_value=1, max_value=len(PEOPLE) + 2))
def test_chunking_gives_the_same_rows_as_one_chunk(
    sources: dict[str, TableSource], kind: str, chunk_rows: int
) -> None:
    chunks = list(read_chunks(sources[kind], chunk_rows=chunk_rows))
    assert all(0 < len(chunk) <= chunk_rows for chunk in chunks)
    assert as_rows(pd.concat(chunks, ignore_index=True)) == EXPECTED
    if kind != "parquet":  # Parquet batches may also end at row-group boundaries
        assert [len(chunk) for chunk in chunks[:-1]] == [chunk_rows] * (len(chunks) - 1)


def test_postgres_chunks_stream_in_order(postgres: object) -> None:
    source = TableSource("sql", postgres.url, table="people")  # type: ignore[attr-defined]
    chunks = list(read_chunks(source, chunk_rows=2))
    assert [chunk[ROW].tolist() for chunk in chunks] == [[1, 2], [3, 4], [5]]
    assert [chunk["id"].tolist() for chunk in chunks] == [[1, 2], [3, 4], [5]]


# -- incremental reads -------------------------------------------------------------------


def test_after_returns_only_newer_rows(source: TableSource) -> None:
    frame = read_all(source, after=CUTOFF, chunk_rows=2)
    assert frame["id"].astype(int).tolist() == NEWER
    # files number rows in the file; SQL filters in the database and numbers the result
    expected_rows = [1, 2] if source.kind == "sql" else NEWER
    assert frame[ROW].tolist() == expected_rows


def test_max_watermark_round_trips_as_after(source: TableSource) -> None:
    highest = None
    for chunk in read_chunks(source, chunk_rows=2):
        value = max_watermark(chunk, "updated")
        if value is not None and (highest is None or pd.Timestamp(value) > pd.Timestamp(highest)):
            highest = value
    assert pd.Timestamp(highest) == pd.Timestamp("2024-01-05T09:00:00")
    if source.kind == "csv":
        assert highest == "2024-01-05T09:00:00"  # text columns give back their own text
    assert list(read_chunks(source, after=highest)) == []


def test_after_accepts_a_datetime(sources: dict[str, TableSource]) -> None:
    cutoff = datetime.fromisoformat(CUTOFF)
    for kind in ("csv", "parquet", "sqlite", "jsonl"):
        frame = read_all(sources[kind], after=cutoff)
        assert frame["id"].astype(int).tolist() == NEWER, kind


def test_text_watermarks_compare_as_numbers_when_they_are(tmp_path: Path) -> None:
    path = tmp_path / "seq.csv"
    path.write_text("seq,step\n8,a\n9,b\n10,c\n11,d\n\n")
    source = TableSource("csv", str(path), watermark="seq")
    frame = read_all(source, after="9")
    assert frame["step"].tolist() == ["c", "d"]
    assert max_watermark(read_all(source), "seq") == "11"


def test_times_with_offsets_compare_in_utc(tmp_path: Path) -> None:
    path = tmp_path / "times.jsonl"
    rows = [{"at": "2024-01-01T10:00:00+02:00"}, {"at": "2024-01-01T09:30:00Z"}]
    path.write_text("\n".join(json.dumps(row) for row in rows))
    source = TableSource("jsonl", str(path), watermark="at")
    assert read_all(source, after="2024-01-01T09:00:00")[ROW].tolist() == [2]


def test_a_watermark_value_of_the_wrong_type_is_named(tmp_path: Path) -> None:
    path = tmp_path / "seq.csv"
    path.write_text("seq\n1\n2\nlater\n")
    with pytest.raises(SourceError, match=r"row 3: watermark 'seq' = 'later' is not a number"):
        read_all(TableSource("csv", str(path), watermark="seq"), after=1)


def test_unknown_watermark_column_lists_the_columns(sources: dict[str, TableSource]) -> None:
    for kind in ("csv", "parquet", "sqlite", "sqlite-query"):
        source = replace(sources[kind], watermark="changed")
        with pytest.raises(SourceError, match=r"no column 'changed' .*'updated'"):
            read_all(source, after=CUTOFF)


def test_after_without_a_watermark_is_refused(sources: dict[str, TableSource]) -> None:
    source = replace(sources["csv"], watermark=None)
    with pytest.raises(SourceError, match="needs a watermark column"):
        read_chunks(source, after=CUTOFF)


# -- CSV errors and details --------------------------------------------------------------


def test_columns_reads_only_the_header(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    good = "".join(f"{n},x{n}\n" for n in range(5000))
    path.write_text("n,label\n" + good + "5000,x,extra\n")
    source = TableSource("csv", str(path))
    assert columns(source) == ["n", "label"]
    with pytest.raises(SourceError, match="line 5002"):
        read_all(source)


@pytest.mark.parametrize(("bad", "count"), [("4,d\n", 2), ("4,d,x,y\n", 4)], ids=["short", "long"])
def test_a_ragged_csv_line_is_named_in_one_line(tmp_path: Path, bad: str, count: int) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text('id,name,city\n1,"two\nlines",Paris\n\n2,b,Lyon\n' + bad + "5,e,Nice\n")
    with pytest.raises(SourceError) as caught:
        read_all(TableSource("csv", str(path)))
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: line 6 (record 3) has {count} fields")
    assert "the header has 3" in message
    assert "quote values" in message


def test_rows_before_a_bad_line_stream_out_first(tmp_path: Path) -> None:
    path = tmp_path / "long.csv"
    with path.open("w") as handle:
        handle.write("n,label\n")
        handle.writelines(f"{n},label-{n:08d}\n" for n in range(150_000))
        handle.write("bad\n")
    chunks = read_chunks(TableSource("csv", str(path)), chunk_rows=1000)
    first = next(chunks)
    assert first[ROW].tolist()[:2] == [1, 2]
    assert len(first) == 1000
    with pytest.raises(SourceError, match="line 150002"):
        list(chunks)


def test_encodings_and_byte_order_marks(tmp_path: Path) -> None:
    bom = tmp_path / "bom.csv"
    bom.write_bytes("\ufeffcity,n\nZoë,1\n".encode())
    assert columns(TableSource("csv", str(bom))) == ["city", "n"]
    assert read_all(TableSource("csv", str(bom)))["city"].tolist() == ["Zoë"]
    latin = tmp_path / "latin.csv"
    latin.write_bytes("city\nZoë\n".encode("latin-1"))
    with pytest.raises(SourceError, match=r"not valid utf-8 text.*encoding"):
        read_all(TableSource("csv", str(latin)))
    frame = read_all(TableSource("csv", str(latin), encoding="latin-1"))
    assert frame["city"].tolist() == ["Zoë"]


def test_quoted_empty_and_missing_are_both_missing(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text('a,b,c\n"",,NA\n')
    frame = read_all(TableSource("csv", str(path)))
    assert frame["a"].isna().all()
    assert frame["b"].isna().all()
    assert frame["c"].tolist() == ["NA"]  # only an empty cell is missing


def test_reserved_and_duplicate_column_names(tmp_path: Path) -> None:
    path = tmp_path / "dup.csv"
    path.write_text("a,b,a\n1,2,3\n")
    with pytest.raises(SourceError, match="two columns are named 'a'"):
        columns(TableSource("csv", str(path)))
    path.write_text(f"{ROW},b\n1,2\n")
    with pytest.raises(SourceError, match="reserved"):
        read_all(TableSource("csv", str(path)))


# -- JSON details ------------------------------------------------------------------------


def test_json_lines_number_rows_by_line_and_keep_lists(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    lines = ['{"id": 1, "tags": ["a", "b"], "case": {"id": "c1"}}', "", '{"id": 2}']
    path.write_text("\n".join(lines) + "\n")
    frame = read_all(TableSource("jsonl", str(path)))
    assert frame[ROW].tolist() == [1, 3]
    assert frame["tags"].tolist()[0] == ["a", "b"]
    assert frame["tags"].isna().tolist()[1]
    assert frame["case.id"].tolist()[0] == "c1"
    assert frame["id"].tolist() == [1, 2]


def test_json_lines_columns_read_only_the_first_records(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text("".join(f'{{"n": {n}}}\n' for n in range(300)) + "{broken\n")
    source = TableSource("jsonl", str(path))
    assert columns(source) == ["n"]
    with pytest.raises(SourceError, match=r"line 301: not valid JSON"):
        read_all(source)


def test_json_integers_with_gaps_stay_integers(tmp_path: Path) -> None:
    path = tmp_path / "gaps.json"
    path.write_text('[{"id": 7, "n": 1}, {"id": 8}, {"id": 9, "n": 3}]')
    frame = read_all(TableSource("json", str(path)))
    assert frame["n"].dtype == "Int64"
    assert frame[ROW].tolist() == [1, 2, 3]


def test_json_records_path_errors_say_where_the_arrays_are(tmp_path: Path) -> None:
    path = tmp_path / "doc.json"
    path.write_text('{"meta": {}, "items": [{"a": 1}]}')
    with pytest.raises(SourceError, match=r"the document is an object, not an array.*items"):
        columns(TableSource("json", str(path)))
    with pytest.raises(SourceError, match=r"has no key 'rows' \(keys: 'meta', 'items'\)"):
        columns(TableSource("json", str(path), records="rows"))
    assert columns(TableSource("json", str(path), records="items")) == ["a"]
    path.write_text('[{"a": 1}, 2]')
    with pytest.raises(SourceError, match="record 2: expected a JSON object"):
        read_all(TableSource("json", str(path)))


# -- files: finding and naming -----------------------------------------------------------


def test_detect_kind_and_from_path() -> None:
    assert [detect_kind(name) for name in ("a.CSV", "b.tsv", "c.ndjson", "d.pq")] == [
        "csv",
        "csv",
        "jsonl",
        "parquet",
    ]
    assert TableSource.from_path("steps.tsv").delimiter == "\t"
    with pytest.raises(SourceError, match=r"'\.xlsx'.*rename it to one of \.csv"):
        detect_kind("orders.xlsx")


def test_missing_and_unreadable_files(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.csv"
    with pytest.raises(SourceError, match=f"{missing}: no such file"):
        columns(TableSource("csv", str(missing)))
    with pytest.raises(SourceError, match="is a folder"):
        read_all(TableSource("parquet", str(tmp_path)))
    fake = tmp_path / "fake.parquet"
    fake.write_text("not parquet")
    with pytest.raises(SourceError, match="cannot read it as Parquet"):
        columns(TableSource("parquet", str(fake)))


def test_bad_source_settings_are_refused() -> None:
    with pytest.raises(SourceError, match="either table or query"):
        TableSource("sql", "sqlite://")
    with pytest.raises(SourceError, match="for sql sources only"):
        TableSource("csv", "a.csv", table="x")
    with pytest.raises(SourceError, match="unknown encoding"):
        TableSource("csv", "a.csv", encoding="klingon")
    with pytest.raises(SourceError, match="chunk_rows must be at least 1"):
        read_chunks(TableSource("csv", "a.csv"), chunk_rows=0)
    assert issubclass(SourceError, KgsentinelError)


# -- SQL safety --------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgres"])
def sql_url(request: pytest.FixtureRequest, sources: dict[str, TableSource]) -> str:
    if request.param == "sqlite":
        return sources["sqlite"].location
    return request.getfixturevalue("postgres").url


HOSTILE = ['people"; DROP TABLE people; --', "people; DROP TABLE people", "people' OR '1'='1"]


@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_table_name_is_an_unknown_table(sql_url: str, name: str) -> None:
    with pytest.raises(SourceError, match=r"no table .*use one of .*people"):
        read_all(TableSource("sql", sql_url, table=name))
    with pytest.raises(SourceError, match="no table"):
        columns(TableSource("sql", sql_url, table=name))
    assert len(read_all(TableSource("sql", sql_url, table="people"))) == len(PEOPLE)


def test_schema_qualified_table_names(postgres: object) -> None:
    url = postgres.url  # type: ignore[attr-defined]
    assert columns(TableSource("sql", url, table="public.people")) == HEADER


@pytest.mark.parametrize("query", ["DELETE FROM people", "SELECT 1; DELETE FROM people"])
def test_a_query_that_is_not_one_select_changes_nothing(sql_url: str, query: str) -> None:
    with pytest.raises(SourceError, match="a query is one SELECT"):
        read_all(TableSource("sql", sql_url, query=query))
    assert len(read_all(TableSource("sql", sql_url, table="people"))) == len(PEOPLE)


def test_a_bad_query_is_one_line(sql_url: str) -> None:
    with pytest.raises(SourceError) as caught:
        read_all(TableSource("sql", sql_url, query="SELECT nope FROM people"))
    assert "the query failed" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_missing_sqlite_file_is_not_created(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'absent.db'}"
    with pytest.raises(SourceError, match="no such SQLite file"):
        columns(TableSource("sql", url, table="people"))
    assert not (tmp_path / "absent.db").exists()


def test_a_bad_url_or_driver_is_explained() -> None:
    with pytest.raises(SourceError, match="not a valid SQLAlchemy URL"):
        columns(TableSource("sql", "not a url", table="t"))
    with pytest.raises(SourceError, match="unknown database kind 'nosuchdb'"):
        columns(TableSource("sql", "nosuchdb://u:pw@host/db", table="t"))


def test_a_password_never_appears_in_errors(postgres: object) -> None:
    secret = "S3cret-Pw-42"
    url = sa.engine.make_url(postgres.url).set(password=secret)  # type: ignore[attr-defined]
    with_password = url.render_as_string(hide_password=False)
    refused = url.set(port=_closed_port()).render_as_string(hide_password=False)
    no_database = url.set(database="absent").render_as_string(hide_password=False)
    problems = [
        TableSource("sql", with_password, table='people"; --'),
        TableSource("sql", with_password, query="SELECT broken"),
        TableSource("sql", refused, table="people"),
        TableSource("sql", no_database, table="people"),
    ]
    for source in problems:
        assert secret not in repr(source)
        with pytest.raises(SourceError) as caught:
            read_all(source)
        assert secret not in str(caught.value)
        assert "***" in str(caught.value)
    assert "cannot connect" in _message(problems[2])
    assert "cannot connect" in _message(problems[3])


def _message(source: TableSource) -> str:
    with pytest.raises(SourceError) as caught:
        read_all(source)
    return str(caught.value)


def _closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
