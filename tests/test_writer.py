"""Graph writers and big-graph replacement, on the embedded store and a real Oxigraph server."""

from __future__ import annotations

from pathlib import Path

import pytest

from kgsentinel.errors import RdfError
from kgsentinel.graph import loading
from kgsentinel.graph.store import GraphStore

GRAPH = "urn:kgsentinel:graph:big"
DECIMAL = "<http://www.w3.org/2001/XMLSchema#decimal>"


def lines(start: int, stop: int, value: str = '"{i}"') -> bytes:
    return b"".join(
        f"<urn:x:s{i}> <urn:x:p> {value.format(i=i)} .\n".encode() for i in range(start, stop)
    )


def objects(store: GraphStore) -> list[object]:
    rows = store.query(f"SELECT ?s ?o WHERE {{ GRAPH <{GRAPH}> {{ ?s ?p ?o }} }} ORDER BY ?s ?o")
    return [(row["s"], row["o"]) for row in rows.rows()]


def size(store: GraphStore) -> int:
    return store.query(f"SELECT (COUNT(*) AS ?n) {{ GRAPH <{GRAPH}> {{ ?s ?p ?o }} }}").scalar()


@pytest.fixture
def small_buckets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Compare graphs in buckets of 7 lines and read files in blocks of about 5 lines."""
    monkeypatch.setattr(loading, "BUCKET_LINES", 7)
    monkeypatch.setattr(loading, "BLOCK_BYTES", 150)


def test_a_new_graph_stays_hidden_until_the_writer_ends(store: GraphStore) -> None:
    with store.writer("big") as writer:
        for start in range(0, 3000, 1000):
            writer.write(lines(start, start + 1000))
        assert not store.has_graph("big")
        assert store.query("ASK { ?s ?p ?o }").boolean is False
    assert writer.report is not None
    assert writer.report.triples == 3000
    assert writer.lines == 3000
    assert size(store) == 3000


@pytest.mark.parametrize("existing", [False, True], ids=["new-graph", "existing-graph"])
def test_an_error_inside_the_writer_leaves_the_graph_as_it_was(
    store: GraphStore, existing: bool
) -> None:
    if existing:
        store.load(lines(0, 5), format="ntriples", graph="big")
    before = objects(store)

    def write_then_fail() -> None:
        with store.writer("big") as writer:
            writer.write(lines(100, 2100))
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_then_fail()
    assert objects(store) == before
    assert [g.name for g in store.graphs()] == (["big"] if existing else [])


def test_a_bad_block_fails_the_writer_and_leaves_nothing(store: GraphStore) -> None:

    def write_a_bad_line() -> None:
        with store.writer("big") as writer:
            writer.write(lines(0, 3))
            writer.write(b"<urn:x:a> <urn:x:p> .\n")

    with pytest.raises(RdfError, match=r"line 4, column \d+"):
        write_a_bad_line()
    assert store.graphs() == []


def test_replacing_a_big_graph_compares_it_bucket_by_bucket(
    store: GraphStore, tmp_path: Path, small_buckets: None
) -> None:
    store.load(lines(0, 40), format="ntriples", graph="big")
    updates: list[str] = []
    original = store._update
    store._update = lambda sparql: (updates.append(sparql), original(sparql))[1]  # type: ignore[method-assign]
    path = tmp_path / "big.nt"
    path.write_bytes(lines(10, 50))  # 10 go away, 30 stay, 10 are new
    store.load(path, graph="big")
    assert size(store) == 40
    assert {s for s, _ in objects(store)} == {f"urn:x:s{i}" for i in range(10, 50)}
    assert len(updates) == 1
    assert updates[0].count("<urn:x:p>") == 20  # only the difference is written


def test_reloading_the_same_values_in_another_lexical_form_writes_nothing(
    store: GraphStore, tmp_path: Path, small_buckets: None
) -> None:
    store.load(lines(0, 30, f'"{{i}}.50"^^{DECIMAL}'), format="ntriples", graph="big")
    path = tmp_path / "big.nt"
    path.write_bytes(lines(0, 30, f'"{{i}}.500"^^{DECIMAL}'))  # the same numbers
    updates: list[str] = []
    original = store._update
    store._update = lambda sparql: (updates.append(sparql), original(sparql))[1]  # type: ignore[method-assign]
    store.load(path, graph="big")
    assert updates == []
    with store.writer("big") as writer:
        writer.write(path.read_bytes())
    assert updates == []
    assert size(store) == 30


def test_appending_to_a_big_graph_adds_only_new_lines(
    store: GraphStore, small_buckets: None
) -> None:
    store.load(lines(0, 20), format="ntriples", graph="big")
    with store.writer("big", replace=False) as writer:
        writer.write(lines(10, 35))
    assert size(store) == 35


def test_blank_nodes_going_away_from_a_big_graph_are_deleted(
    store: GraphStore, tmp_path: Path, small_buckets: None
) -> None:
    store.load(lines(0, 20) + b"_:b1 <urn:x:p> <urn:x:o> .\n<urn:x:s> <urn:x:q> _:b1 .\n",
               format="ntriples", graph="big")  # fmt: skip
    path = tmp_path / "big.nt"
    path.write_bytes(lines(0, 20))
    store.load(path, graph="big")
    assert size(store) == 20
    assert (
        store.query(
            f"ASK {{ GRAPH <{GRAPH}> {{ ?s ?p ?o FILTER(isBlank(?o) || isBlank(?s)) }} }}"
        ).boolean
        is False
    )


def test_a_bad_line_deep_in_a_big_file_is_named_and_changes_nothing(
    store: GraphStore, tmp_path: Path, small_buckets: None
) -> None:
    store.load(lines(0, 5), format="ntriples", graph="big")
    path = tmp_path / "big.nt"
    path.write_bytes(lines(0, 30) + b'<urn:x:a> <urn:x:p> "open .\n')
    with pytest.raises(RdfError, match=r"big\.nt: line 31, column \d+: .*nothing was loaded"):
        store.load(path, graph="big")
    assert size(store) == 5
