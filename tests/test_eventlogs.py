"""Event-log readers: XES, OCEL 2.0 (JSON, XML, SQLite) and CloudEvents into one shape.

The OCEL 2.0 test log is written by hand in JSON and XML (tests/data/eventlogs) and
converted to SQLite here, from the JSON, the way the official example does it; the
three must read the same, chunk by chunk.
"""

from __future__ import annotations

import gzip
import json
import re
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kgsentinel.errors import SourceError
from kgsentinel.ingest.eventlog import (
    EVENT_COLUMNS,
    REJECT_COLUMNS,
    LogChunk,
    LogFormatError,
    log_format,
    read_log,
)

DATA = Path(__file__).parent / "data" / "eventlogs"
OCEL_JSON = DATA / "npi.jsonocel"
OCEL_XML = DATA / "npi.xmlocel"
XES = DATA / "npi.xes"
XES_REJECTS = DATA / "rejects.xes"
CLOUDEVENTS = DATA / "events.jsonl"
FRAMES = ("events", "objects", "event_objects", "object_objects", "rejects")
UTC = "UTC"
chunk_sizes = st.integers(min_value=1, max_value=9)
examples = settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def read_all(path: Path, **options: Any) -> LogChunk:
    return LogChunk.concat(read_log(path, **options))


def assert_same(left: LogChunk, right: LogChunk) -> None:
    for name in FRAMES:
        pd.testing.assert_frame_equal(getattr(left, name), getattr(right, name), obj=name)


def stamp(text: str) -> pd.Timestamp:
    return pd.Timestamp(text).tz_convert(UTC).as_unit("us")


# --- OCEL 2.0 in SQLite, from the JSON -----------------------------------------------------

SQL_TYPES = {
    "string": "TEXT",
    "integer": "INTEGER",
    "float": "REAL",
    "boolean": "BOOLEAN",
    "time": "TIMESTAMP",
}


def sql_time(text: str) -> str:
    """Times as the official SQLite example stores them: naive text (here: UTC)."""
    return pd.Timestamp(text).tz_convert(UTC).strftime("%Y-%m-%d %H:%M:%S")


def sql_value(value: Any, kind: str) -> Any:
    converters = {
        "integer": int,
        "float": float,
        "boolean": lambda text: int(str(text).lower() == "true"),
        "time": sql_time,
    }
    return converters.get(kind, str)(value)


def write_ocel_sqlite(log: dict[str, Any], path: Path) -> None:
    """An OCEL 2.0 SQLite log with the official layout, from an OCEL 2.0 JSON document."""
    kinds = {
        scope: {
            declared["name"]: {a["name"]: a["type"] for a in declared["attributes"]}
            for declared in log[f"{scope}Types"]
        }
        for scope in ("event", "object")
    }
    tables = {
        scope: {name: f"{scope}_{re.sub('[^A-Za-z0-9]', '', name)}" for name in kinds[scope]}
        for scope in kinds
    }
    with sqlite3.connect(path) as db:
        for scope in ("event", "object"):
            db.execute(f"CREATE TABLE {scope}_map_type (ocel_type TEXT PRIMARY KEY, ocel_type_map)")
            db.execute(f"CREATE TABLE {scope} (ocel_id TEXT PRIMARY KEY, ocel_type TEXT)")
            for name, attributes in kinds[scope].items():
                table = tables[scope][name]
                mapped = table[len(scope) + 1 :]
                db.execute(f"INSERT INTO {scope}_map_type VALUES (?, ?)", (name, mapped))
                meta = ["ocel_id TEXT", "ocel_time TIMESTAMP"]
                meta += ["ocel_changed_field TEXT"] if scope == "object" else []
                columns = [f'"{a}" {SQL_TYPES[kind]}' for a, kind in attributes.items()]
                db.execute(f"CREATE TABLE {table} ({', '.join(meta + columns)})")
        db.execute("CREATE TABLE event_object (ocel_event_id, ocel_object_id, ocel_qualifier)")
        db.execute("CREATE TABLE object_object (ocel_source_id, ocel_target_id, ocel_qualifier)")

        def insert(table: str, values: dict[str, Any]) -> None:
            names = ", ".join(f'"{name}"' for name in values)
            marks = ", ".join("?" * len(values))
            db.execute(f"INSERT INTO {table} ({names}) VALUES ({marks})", list(values.values()))

        for item in log["objects"]:
            oid, kind = item["id"], item["type"]
            insert("object", {"ocel_id": oid, "ocel_type": kind})
            entries = item.get("attributes", [])
            first = min((pd.Timestamp(e["time"]) for e in entries), default=None)
            initial = {"ocel_id": oid, "ocel_time": sql_time(str(first or "1970-01-01T00:00Z"))}
            changes = []
            for entry in entries:
                value = sql_value(entry["value"], kinds["object"][kind][entry["name"]])
                if pd.Timestamp(entry["time"]) == first:
                    initial[entry["name"]] = value
                else:
                    changes.append(
                        {
                            "ocel_id": oid,
                            "ocel_time": sql_time(entry["time"]),
                            "ocel_changed_field": entry["name"],
                            entry["name"]: value,
                        }
                    )
            for row in [initial, *changes]:
                insert(tables["object"][kind], row)
            for link in item.get("relationships", []):
                insert("object_object", dict(zip(
                    ("ocel_source_id", "ocel_target_id", "ocel_qualifier"),
                    (oid, link["objectId"], link["qualifier"]),
                    strict=True,
                )))  # fmt: skip
        for event in log["events"]:
            eid, kind = event["id"], event["type"]
            insert("event", {"ocel_id": eid, "ocel_type": kind})
            row = {"ocel_id": eid, "ocel_time": sql_time(event["time"])}
            for entry in event.get("attributes", []):
                row[entry["name"]] = sql_value(entry["value"], kinds["event"][kind][entry["name"]])
            insert(tables["event"][kind], row)
            for link in event.get("relationships", []):
                insert("event_object", dict(zip(
                    ("ocel_event_id", "ocel_object_id", "ocel_qualifier"),
                    (eid, link["objectId"], link["qualifier"]),
                    strict=True,
                )))  # fmt: skip
    db.close()


@pytest.fixture(scope="module")
def ocel_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ocel") / "npi.sqlite"
    write_ocel_sqlite(json.loads(OCEL_JSON.read_text()), path)
    return path


# --- OCEL 2.0 ------------------------------------------------------------------------------


def test_ocel_json_reads_events_objects_links_and_typed_attributes() -> None:
    log = read_all(OCEL_JSON)
    events = log.events.set_index("event_id")
    assert list(log.events.columns[: len(EVENT_COLUMNS)]) == list(EVENT_COLUMNS)
    assert list(events.index) == ["e1", "e2", "e3", "e4", "e5", "e6"]
    assert events.loc["e2", "activity"] == "Formulate"
    assert str(log.events.timestamp.dtype) == "datetime64[us, UTC]"
    assert events.loc["e2", "timestamp"] == stamp("2025-02-04T09:30:00Z")  # from +01:00
    assert events.loc["e2", "attr:attempts"] == 2
    assert type(events.loc["e2", "attr:attempts"]) is int
    assert type(events.loc["e2", "attr:cost"]) is float
    assert events.loc["e3", "attr:passed"] is True
    assert events.loc["e4", "attr:due"] == stamp("2025-03-01T00:00:00Z")
    assert events.loc["e1", "attr:passed"] is None
    assert list(log.events["__row__"]) == [1, 2, 3, 4, 5, 6]

    objects = log.objects.set_index("object_id")
    assert objects.object_type.to_dict() == {
        "P1": "Product",
        "P2": "Product",
        "M-FR": "Market",
        "M-DE": "Market",
    }
    # time-varying attributes: the latest value wins
    assert objects.loc["P1", "attr:price"] == 54.5
    assert objects.loc["P1", "attr:launched"] is True
    assert objects.loc["P1", "attr:launch_date"] == stamp("2025-03-10T08:00:00Z")
    assert objects.loc["P2", "attr:price"] == 19.0
    assert type(objects.loc["P2", "attr:price"]) is float
    assert objects.loc["M-FR", "attr:population"] == 68_000_000

    e2o = set(log.event_objects.itertuples(index=False, name=None))
    assert ("e6", "M-DE", "launch market") in e2o
    assert len(e2o) == 11
    o2o = list(log.object_objects.itertuples(index=False, name=None))
    assert o2o == [
        ("P1", "M-FR", "sold in"),
        ("P1", "M-DE", "sold in"),
        ("P2", "P1", "variant of"),
    ]
    assert log.rejects.empty
    assert list(log.rejects.columns) == list(REJECT_COLUMNS)


@examples
@given(chunk_events=chunk_sizes)
def test_the_three_ocel_serialisations_read_the_same_chunk_by_chunk(
    ocel_sqlite: Path, chunk_events: int
) -> None:
    json_chunks = list(read_log(OCEL_JSON, chunk_events=chunk_events))
    for other in (OCEL_XML, ocel_sqlite):
        chunks = list(read_log(other, chunk_events=chunk_events))
        assert len(chunks) == len(json_chunks)
        for left, right in zip(json_chunks, chunks, strict=True):
            assert_same(left, right)
    assert_same(LogChunk.concat(json_chunks), read_all(OCEL_JSON))


def test_ocel_chunks_bring_objects_first_then_events(ocel_sqlite: Path) -> None:
    chunks = list(read_log(ocel_sqlite, chunk_events=2))
    assert [len(chunk.objects) for chunk in chunks] == [2, 2, 0, 0, 0]
    assert [len(chunk.events) for chunk in chunks] == [0, 0, 2, 2, 2]
    assert [len(chunk.object_objects) for chunk in chunks] == [3, 0, 0, 0, 0]
    assert all(chunk.events_read <= 2 for chunk in chunks)


def test_ocel_formats_are_recognised(ocel_sqlite: Path, tmp_path: Path) -> None:
    assert log_format(OCEL_JSON) == "ocel-json"
    assert log_format(OCEL_XML) == "ocel-xml"
    assert log_format(ocel_sqlite) == "ocel-sqlite"
    for source, name in ((OCEL_JSON, "log.json"), (OCEL_XML, "log.xml"), (ocel_sqlite, "log.db")):
        shutil.copy(source, tmp_path / name)
        assert log_format(tmp_path / name) == log_format(source)
    assert_same(read_all(tmp_path / "log.json"), read_all(OCEL_JSON))


def test_ocel_records_that_cannot_be_read_are_rejected_and_reconcile(tmp_path: Path) -> None:
    log = json.loads(OCEL_JSON.read_text())
    log["objects"][2]["attributes"].append({"name": "population", "time": "2025-01-01T00:00Z",
                                            "value": "many"})  # fmt: skip
    log["objects"][3]["attributes"].append({"name": "code", "time": "soon", "value": "XX"})
    log["events"][0]["relationships"].append({"objectId": "P2"})  # no qualifier: ""
    del log["events"][1]["time"]
    log["events"][2]["attributes"][0]["value"] = "perhaps"
    log["events"][3]["time"] = "2025-02-30T08:00:00Z"
    log["events"][4]["relationships"].append({"qualifier": "orphan"})
    path = tmp_path / "bad.jsonocel"
    path.write_text(json.dumps(log))

    chunks = list(read_log(path, chunk_events=4))
    assert sum(chunk.events_read for chunk in chunks) == 6
    read = LogChunk.concat(chunks)
    assert list(read.events.event_id) == ["e1", "e6"]
    events = read.rejects[read.rejects.record == "event"]
    assert events[["__row__", "field"]].values.tolist() == [
        [2, "time"],
        [3, "passed"],
        [4, "time"],
        [5, "relationships"],
    ]
    assert "'perhaps' is not a valid boolean" in events.reason.tolist()
    objects = read.rejects[read.rejects.record == "object"]
    assert objects[["__row__", "field"]].values.tolist() == [[3, "population"], [4, "code"]]
    # the objects stay, with what could be read
    assert read.objects.set_index("object_id").loc["M-FR", "attr:population"] == 68_000_000
    assert ("e1", "P2", "") in set(read.event_objects.itertuples(index=False, name=None))


def test_a_sqlite_file_that_is_not_an_ocel_log_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "shop.sqlite"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE orders (id INTEGER)")
    db.close()
    with pytest.raises(LogFormatError, match=r"shop\.sqlite: not an OCEL 2\.0 SQLite log") as error:
        list(read_log(other))
    assert "event, object, event_object" in str(error.value)
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"not a database at all" * 10)
    with pytest.raises(LogFormatError, match=r"garbage\.sqlite: not an SQLite database"):
        list(read_log(garbage))


def test_corrupt_ocel_json_and_xml_name_the_position(tmp_path: Path) -> None:
    broken = tmp_path / "broken.jsonocel"
    broken.write_text(OCEL_JSON.read_text()[:500])
    with pytest.raises(LogFormatError, match=r"broken\.jsonocel: not valid JSON at line \d+"):
        list(read_log(broken))
    truncated = tmp_path / "truncated.xmlocel"
    truncated.write_text(OCEL_XML.read_text()[:1500])
    with pytest.raises(LogFormatError, match=r"truncated\.xmlocel: not well-formed XML .*line"):
        list(read_log(truncated))
    assert_one_line(broken)


# --- XES -----------------------------------------------------------------------------------


def test_xes_traces_become_cases_and_events_keep_their_typed_attributes() -> None:
    log = read_all(XES)
    assert log.rejects.empty
    assert list(log.event_objects.qualifier.unique()) == ["case"]
    assert list(log.event_objects.object_id) == ["NPI-1"] * 4 + ["NPI-2"] * 2
    events = log.events.set_index("event_id")
    assert list(events.index) == [
        "NPI-1#1",
        "NPI-1#2",
        "f0a1c2d3-0000-4000-8000-000000000001",  # identity:id
        "NPI-1#4",
        "NPI-2#1",
        "NPI-2#2",
    ]
    first = events.loc["NPI-1#1"]
    assert [first.activity, first.resource, first.lifecycle] == [
        "Create brief",
        "alice",
        "complete",
    ]
    assert first.timestamp == stamp("2025-02-03T09:00:00Z")
    assert (first["attr:market"], first["attr:market.region"]) == ("FR", "EU")  # nested
    assert (first["attr:ingredients.0"], first["attr:ingredients.1"]) == ("rose", "water")  # list
    # start and complete stay two events
    formulate = log.events[log.events.activity == "Formulate"]
    assert formulate.lifecycle.tolist()[:2] == ["start", "complete"]
    done = events.loc["f0a1c2d3-0000-4000-8000-000000000001"]
    assert done.timestamp == stamp("2025-02-07T17:30:00.250Z")
    assert [type(done[f"attr:{key}"]) for key in ("cost", "attempts", "approved")] == [
        float,
        int,
        bool,
    ]
    assert done["attr:due"] == stamp("2025-02-10T00:00:00Z")
    assert (done["attr:lab.site"], done["attr:lab.bench"]) == ("Lyon", 4)  # container
    assert events.loc["NPI-1#4", "timestamp"] == stamp("2025-03-10T08:00:00Z")  # naive: UTC
    assert events.loc["NPI-2#2", "timestamp"] == stamp("2025-02-06T17:00:00Z")  # -05:00
    assert pd.isna(events.loc["NPI-2#2", "resource"])

    cases = log.objects.set_index("object_id")
    assert list(cases.index) == ["NPI-1", "NPI-2", "NPI-3"]  # NPI-3 has no events
    assert set(cases.object_type) == {"case"}
    assert cases.loc["NPI-1", "attr:budget"] == 150_000.0
    assert cases.loc["NPI-1", "attr:priority"] == 2
    assert cases.loc["NPI-1", "attr:opened"] == stamp("2025-02-01T07:00:00Z")
    assert cases.loc["NPI-3", "attr:urgent"] is False
    assert cases.loc["NPI-2", "attr:urgent"] is None
    assert not any(column.startswith("attr:meta") for column in log.events.columns)
    assert log.object_objects.empty


@pytest.fixture(scope="module")
def xes_gz(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("xes") / "npi.xes.gz"
    path.write_bytes(gzip.compress(XES.read_bytes()))
    return path


def test_gzipped_xes_reads_the_same(xes_gz: Path) -> None:
    assert log_format(xes_gz) == "xes"
    assert_same(read_all(xes_gz), read_all(XES))


@examples
@given(chunk_events=chunk_sizes)
def test_xes_chunks_concatenate_to_the_whole_log(xes_gz: Path, chunk_events: int) -> None:
    chunks = list(read_log(xes_gz, chunk_events=chunk_events))
    assert all(chunk.events_read <= chunk_events for chunk in chunks)
    assert_same(LogChunk.concat(chunks), read_all(XES))
    rejects = list(read_log(XES_REJECTS, chunk_events=chunk_events))
    assert_same(LogChunk.concat(rejects), read_all(XES_REJECTS))


def test_xes_events_that_cannot_be_read_are_rejected_and_reconcile() -> None:
    log = read_all(XES_REJECTS)
    assert log.events_read == 7
    assert list(log.events.event_id) == ["R-1#1", "R-1#6"]  # numbers count rejected events
    rejects = log.rejects
    assert rejects[["__row__", "record", "field"]].values.tolist() == [
        [2, "event", "concept:name"],
        [3, "event", "time:timestamp"],
        [4, "event", "attempts"],
        [5, "event", "time:timestamp"],
        [7, "event", "concept:name"],
        [1, "object", "budget"],
    ]
    assert rejects.reason.tolist()[:4] == [
        "missing: an event needs its activity (concept:name)",
        "'yesterday' is not an ISO 8601 time",
        "int value 'two' is not a valid int",
        "missing: an event needs its time (time:timestamp)",
    ]
    assert "has no concept:name" in rejects.reason[4]
    assert list(log.objects.object_id) == ["R-1"]


def write_xes(path: Path, traces: list[str]) -> Path:
    path.write_text(f'<log xes.version="1.0">{"".join(traces)}</log>')
    return path


def event(activity: str, day: int = 1) -> str:
    return (
        f'<event><string key="concept:name" value="{activity}"/>'
        f'<date key="time:timestamp" value="2025-01-{day:02d}T00:00:00Z"/></event>'
    )


def test_xes_trace_names_and_attributes_after_the_events(tmp_path: Path) -> None:
    path = write_xes(
        tmp_path / "late.xes",
        [
            f'<trace>{event("A")}{event("B")}<string key="concept:name" value="L"/></trace>',
            f'<trace><string key="concept:name" value="M"/>{event("C")}'
            f'<int key="size" value="3"/></trace>',
            f'<trace><string key="concept:name" value="L"/>{event("D")}</trace>',  # L again
        ],
    )
    log = read_all(path)
    assert list(log.events.event_id) == ["L#1", "L#2", "M#1", "L#3"]
    assert log.objects.set_index("object_id").loc["M", "attr:size"] == 3
    assert list(log.objects.object_id) == ["L", "M"]
    # with one event per chunk, M's late attribute comes after M's chunk was passed on
    chunks = list(read_log(path, chunk_events=1))
    late = LogChunk.concat(chunks).rejects
    assert late[["__row__", "record", "field"]].values.tolist() == [[2, "object", "size"]]
    assert list(LogChunk.concat(chunks).events.event_id) == ["L#1", "L#2", "M#1", "L#3"]


def test_an_xes_event_outside_any_trace_has_no_case(tmp_path: Path) -> None:
    log = read_all(write_xes(tmp_path / "loose.xes", [event("A"), f"<trace>{event('B')}</trace>"]))
    assert list(log.events.event_id) == ["#1"]
    assert log.event_objects.empty
    assert log.rejects[["__row__", "field"]].values.tolist() == [[2, "concept:name"]]


def write_big_xes(path: Path, traces: int, events_per_trace: int) -> Path:
    with path.open("w") as out:
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n<log xes.version="1.0">\n')
        for case in range(traces):
            out.write(f'<trace><string key="concept:name" value="C{case}"/>')
            for step in range(events_per_trace):
                out.write(
                    f'<event><string key="concept:name" value="step {step}"/>'
                    f'<date key="time:timestamp" value="2025-01-01T00:{step:02d}:00Z"/>'
                    f'<int key="n" value="{case}"/></event>'
                )
            out.write("</trace>\n")
        out.write("</log>\n")
    return path


def test_a_50k_event_xes_streams_in_many_chunks(tmp_path: Path) -> None:
    path = write_big_xes(tmp_path / "big.xes", traces=5_000, events_per_trace=10)
    sizes, objects, ids = [], 0, set()
    for chunk in read_log(path, chunk_events=1_000):
        sizes.append(len(chunk.events))
        objects += len(chunk.objects)
        ids.update(chunk.events.event_id)
    assert sizes == [1_000] * 50
    assert objects == 5_000
    assert len(ids) == 50_000


def test_a_truncated_xes_gz_gives_one_clear_line(tmp_path: Path) -> None:
    whole = write_big_xes(tmp_path / "whole.xes", traces=300, events_per_trace=10).read_bytes()
    packed = gzip.compress(whole)
    path = tmp_path / "cut.xes.gz"
    path.write_bytes(packed[: len(packed) // 2])
    with pytest.raises(LogFormatError, match=r"cut\.xes\.gz: the gzip data is truncated") as error:
        list(read_log(path, chunk_events=100))
    assert "after event" in str(error.value)
    assert "download or compress the file again" in str(error.value)
    assert_one_line(path)


def test_malformed_xes_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.xes"
    path.write_text('<log>\n<trace>\n<string key="concept:name" value="A">\n</trace>\n</log>\n')
    with pytest.raises(LogFormatError, match=r"bad\.xes: not well-formed XML at line 4, column 3"):
        list(read_log(path))
    other = tmp_path / "other.xes"
    other.write_text("<html><body/></html>")
    with pytest.raises(LogFormatError, match=r"root element is <html>, not <log>"):
        list(read_log(other))
    assert_one_line(path)


# --- CloudEvents ---------------------------------------------------------------------------


def test_cloudevents_read_good_lines_and_reject_bad_ones() -> None:
    assert log_format(CLOUDEVENTS) == "cloudevents"
    log = read_all(CLOUDEVENTS)
    assert log.events_read == 10  # non-blank lines
    assert len(log.events) + len(log.rejects) == 10
    events = log.events
    assert events.event_id.tolist() == [
        "urn:npi:plm 1",
        "urn:npi:plm 2",
        "urn:npi:erp 8",
        "urn:npi:erp 9",
        "urn:npi:plm 1",  # a redelivery keeps its id
    ]
    assert events["__row__"].tolist() == [1, 2, 9, 10, 11]  # line numbers
    first = events.iloc[0]
    assert (first.activity, first.resource) == ("npi.brief.created", "alice")
    assert [first[f"attr:{key}"] for key in ("budget", "urgent", "lab.bench")] == [150000, True, 4]
    assert first["attr:tags"] == '["rose", "serum"]'
    assert first["attr:ce.traceparent"] == "00-4bf92f3577b34da6-00f067aa0ba902b7-01"
    second = events.iloc[1]
    assert (second.activity, second["attr:ce.type"]) == ("Formulate", "npi.step.done")
    assert second.timestamp == stamp("2025-02-04T09:30:00Z")
    assert events.iloc[2].timestamp == stamp("2025-02-06T14:00:00Z")
    assert events.iloc[3]["attr:data"] == "call the supplier"
    assert events.iloc[3].timestamp == stamp("2025-02-07T09:00:00Z")  # naive: UTC
    assert log.objects.values.tolist() == [["NPI-7", "case"], ["NPI-8", "launch"]]
    assert "urn:npi:erp 8" not in set(log.event_objects.event_id)  # no subject, no case
    assert log.rejects[["__row__", "field"]].values.tolist() == [
        [4, "line"],
        [5, "line"],
        [6, "id"],
        [7, "time"],
        [8, "specversion"],
    ]
    assert log.rejects.reason[0].startswith("not JSON: Expecting")
    assert log.rejects.reason[2] == "missing required attribute(s): id, time"


@examples
@given(chunk_events=chunk_sizes)
def test_cloudevents_chunks_concatenate_to_the_whole_log(chunk_events: int) -> None:
    chunks = list(read_log(CLOUDEVENTS, chunk_events=chunk_events))
    assert all(chunk.events_read <= chunk_events for chunk in chunks)
    assert sum(chunk.events_read for chunk in chunks) == 10
    assert_same(LogChunk.concat(chunks), read_all(CLOUDEVENTS))


def test_gzipped_cloudevents_and_an_empty_file(tmp_path: Path) -> None:
    packed = tmp_path / "events.jsonl.gz"
    packed.write_bytes(gzip.compress(CLOUDEVENTS.read_bytes()))
    assert_same(read_all(packed), read_all(CLOUDEVENTS))
    empty = tmp_path / "empty.ndjson"
    empty.write_text("\n")
    [chunk] = read_log(empty)
    assert chunk.events.empty
    assert list(chunk.events.columns) == list(EVENT_COLUMNS)


# --- recognising formats -------------------------------------------------------------------


def assert_one_line(path: Path) -> None:
    with pytest.raises(SourceError) as error:
        list(read_log(path))
    assert "\n" not in str(error.value)
    assert str(path) in str(error.value)


def test_unsupported_and_unrecognised_files_give_one_clear_line(tmp_path: Path) -> None:
    table = tmp_path / "orders.csv"
    table.write_text("id\n1\n")
    with pytest.raises(LogFormatError, match=r"orders\.csv: not an event log .*XES \(\.xes"):
        log_format(table)
    plain = tmp_path / "config.json"
    plain.write_text('{"name": "npi"}')
    with pytest.raises(LogFormatError, match=r'not an OCEL 2\.0 JSON log \(no "objectTypes"'):
        log_format(plain)
    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"a": 1}\n{"a": 2}\n')
    with pytest.raises(LogFormatError, match="no CloudEvents in its first"):
        log_format(rows)
    page = tmp_path / "page.xml"
    page.write_text("<html/>")
    with pytest.raises(LogFormatError, match=r"not an XES or OCEL 2\.0 XML log"):
        log_format(page)
    xes_as_xml = tmp_path / "npi.xml"
    shutil.copy(XES, xes_as_xml)
    assert log_format(xes_as_xml) == "xes"
    for path in (table, plain, rows, page):
        assert_one_line(path)
    with pytest.raises(SourceError, match=r"missing\.xes: no such file"):
        list(read_log(tmp_path / "missing.xes"))
    with pytest.raises(ValueError, match="chunk_events must be a positive integer"):
        read_log(XES, chunk_events=0)


def test_concat_of_no_chunks_is_an_empty_chunk() -> None:
    empty = LogChunk.concat([])
    assert empty.events_read == 0
    assert list(empty.event_objects.columns) == ["event_id", "object_id", "qualifier"]
    assert list(empty.object_objects.columns) == ["source_id", "target_id", "qualifier"]
