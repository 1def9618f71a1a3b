"""One store suite, run on the embedded store and on a real Oxigraph server."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import pyoxigraph as ox
import pytest

from kgsentinel.errors import QueryError, RdfError
from kgsentinel.graph.store import GraphStore
from kgsentinel.graph.terms import STAGING_PREFIX

EX = "https://example.org/"
PRODUCTS_TTL = f"""
@prefix ex: <{EX}> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
ex:p1 a ex:Product ; ex:name "Rose serum"@en ; ex:price 12.5 ; ex:supplier ex:s1 ;
    ex:launched "2026-03-01T09:00:00Z"^^xsd:dateTime .
ex:p2 a ex:Product ; ex:name "Night cream" ; ex:price 30 ; ex:supplier ex:s2 .
ex:p3 a ex:Product ; ex:name "Day cream" ; ex:supplier ex:s1 .
""".encode()
SUPPLIERS_NQ = f"""
<{EX}s1> <{EX}country> "FR" <{EX}graph/erp> .
<{EX}s2> <{EX}country> "IT" <{EX}graph/erp> .
<{EX}s1> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <{EX}Supplier> .
""".encode()
SAME_GRAPH = {
    "turtle": b'@prefix ex: <https://example.org/> . ex:a ex:p "v" ; ex:q ex:b .',
    "ntriples": b'<https://example.org/a> <https://example.org/p> "v" .\n'
    b"<https://example.org/a> <https://example.org/q> <https://example.org/b> .\n",
    "jsonld": b'{"@id": "https://example.org/a", "https://example.org/p": "v",'
    b' "https://example.org/q": {"@id": "https://example.org/b"}}',
    "rdfxml": b'<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"'
    b' xmlns:ex="https://example.org/"><rdf:Description rdf:about="https://example.org/a">'
    b'<ex:p>v</ex:p><ex:q rdf:resource="https://example.org/b"/></rdf:Description></rdf:RDF>',
    "trig": b'@prefix ex: <https://example.org/> . { ex:a ex:p "v" ; ex:q ex:b . }',
    "nquads": b'<https://example.org/a> <https://example.org/p> "v" .\n'
    b"<https://example.org/a> <https://example.org/q> <https://example.org/b> .\n",
}


def count(store: GraphStore, graph: str | None = None) -> int:
    pattern = f"GRAPH <{graph}> {{ ?s ?p ?o }}" if graph else "?s ?p ?o"
    return int(store.query(f"SELECT (COUNT(*) AS ?n) WHERE {{ {pattern} }}").scalar())


@pytest.fixture
def loaded(store: GraphStore) -> GraphStore:
    store.load(PRODUCTS_TTL, format="turtle", graph="plm")
    store.load(SUPPLIERS_NQ, format="nquads", graph="suppliers")
    return store


@pytest.mark.parametrize("fmt", sorted(SAME_GRAPH))
def test_every_rdf_format_loads_the_same_triples(store: GraphStore, fmt: str) -> None:
    report = store.load(SAME_GRAPH[fmt], format=fmt, graph="one")
    assert report.graphs == {"urn:kgsentinel:graph:one": 2}
    rows = store.query("SELECT ?p ?o WHERE { GRAPH <urn:kgsentinel:graph:one> { ?s ?p ?o } }")
    assert sorted((r["p"], r["o"]) for r in rows.rows()) == [
        (f"{EX}p", "v"),
        (f"{EX}q", f"{EX}b"),
    ]


def test_load_from_a_file_names_the_graph_after_it(store: GraphStore, tmp_path: Path) -> None:
    path = tmp_path / "products.ttl"
    path.write_bytes(PRODUCTS_TTL)
    report = store.load(path)
    assert list(report.graphs) == ["urn:kgsentinel:graph:products"]
    assert report.triples == count(store, "urn:kgsentinel:graph:products") == 12


def test_queries_see_the_union_of_all_graphs(loaded: GraphStore) -> None:
    rows = loaded.query(
        f"SELECT ?name ?country WHERE {{ ?p <{EX}name> ?name ; <{EX}supplier> ?s . "
        f"?s <{EX}country> ?country }} ORDER BY ?name"
    ).rows()
    assert rows == [
        {"name": "Day cream", "country": "FR"},
        {"name": "Night cream", "country": "IT"},
        {"name": "Rose serum", "country": "FR"},
    ]


def test_a_dataset_keeps_its_graphs_and_puts_default_triples_in_the_target(
    loaded: GraphStore,
) -> None:
    sizes = {g.iri: g.triples for g in loaded.graphs()}
    assert sizes == {
        "urn:kgsentinel:graph:plm": 12,
        f"{EX}graph/erp": 2,
        "urn:kgsentinel:graph:suppliers": 1,
    }


def test_graphs_are_listed_largest_first_with_short_names(loaded: GraphStore) -> None:
    names = [g.name for g in loaded.graphs()]
    assert names == ["plm", f"{EX}graph/erp", "suppliers"]


def test_replace_swaps_the_graph_and_append_adds(store: GraphStore) -> None:
    store.load(b"<urn:x:a> <urn:x:p> 1 .", format="turtle", graph="g")
    store.load(b"<urn:x:a> <urn:x:p> 2 .", format="turtle", graph="g")
    assert store.query("SELECT ?o { ?s ?p ?o }").rows() == [{"o": 2}]
    store.load(b"<urn:x:a> <urn:x:p> 3 .", format="turtle", graph="g", replace=False)
    assert sorted(r["o"] for r in store.query("SELECT ?o { ?s ?p ?o }").rows()) == [2, 3]


@pytest.mark.parametrize(
    ("fmt", "document"),
    [
        ("turtle", b'<urn:x:a> <urn:x:p> 1 .\n<urn:x:b> <urn:x:p> "unterminated .\n'),
        ("nquads", b"<urn:x:a> <urn:x:p> <urn:x:o> <urn:x:g> .\n<urn:x:b> <urn:x:p> .\n"),
    ],
)
def test_a_bad_file_changes_nothing_and_names_the_line(
    loaded: GraphStore, fmt: str, document: bytes
) -> None:
    before = sorted((g.iri, g.triples) for g in loaded.graphs())
    with pytest.raises(RdfError, match=r"line 2, column \d+: .*nothing was loaded"):
        loaded.load(document, format=fmt, graph="plm")
    assert sorted((g.iri, g.triples) for g in loaded.graphs()) == before
    assert not any("staging" in (g.iri or "") for g in loaded.graphs())


def test_a_missing_file_and_an_unknown_format_are_explained(
    store: GraphStore, tmp_path: Path
) -> None:
    with pytest.raises(RdfError, match="no such file"):
        store.load(tmp_path / "absent.ttl")
    odd = tmp_path / "data.csv"
    odd.write_text("a,b\n")
    with pytest.raises(RdfError, match="pass --format with one of turtle"):
        store.load(odd)


def test_parameters_bind_values_of_every_kind(loaded: GraphStore) -> None:
    by_iri = loaded.query(
        f"SELECT ?name WHERE {{ ?p <{EX}name> ?name }}", params={"p": ox.NamedNode(f"{EX}p2")}
    )
    assert by_iri.rows() == [{"name": "Night cream"}]
    by_lang = loaded.query(
        f"SELECT ?p WHERE {{ ?p <{EX}name> ?n }}",
        params={"n": ox.Literal("Rose serum", language="en")},
    )
    assert by_lang.rows() == [{"p": f"{EX}p1"}]
    in_filter = loaded.query(
        f"SELECT ?p WHERE {{ ?p <{EX}price> ?price FILTER(?price > ?min) }}", params={"min": 20}
    )
    assert in_filter.rows() == [{"p": f"{EX}p2"}]


def test_a_parameter_value_cannot_change_the_query(loaded: GraphStore) -> None:
    hostile = '"} ; ?p ?q ?r } #'
    result = loaded.query(f"SELECT ?p WHERE {{ ?p <{EX}name> ?n }}", params={"n": hostile})
    assert result.rows() == []
    assert count(loaded) == 15


def test_parameters_work_in_aggregates_and_construct(loaded: GraphStore) -> None:
    supplier = {"s": ox.NamedNode(f"{EX}s1")}
    total = loaded.query(
        f"SELECT (COUNT(?p) AS ?n) WHERE {{ ?p <{EX}supplier> ?s }}", params=supplier
    )
    assert total.scalar() == 2
    graph = loaded.query(
        f"CONSTRUCT {{ ?p <{EX}madeBy> ?s }} WHERE {{ ?p <{EX}supplier> ?s }}", params=supplier
    )
    assert sorted(str(t.subject) for t in graph.triples) == [f"<{EX}p1>", f"<{EX}p3>"]


def test_query_kinds_and_dataframe_types(loaded: GraphStore) -> None:
    assert loaded.query("ASK { ?s ?p ?o }").boolean is True
    frame = loaded.query(
        f"SELECT ?p ?price ?launched WHERE {{ ?p <{EX}price> ?price "
        f"OPTIONAL {{ ?p <{EX}launched> ?launched }} }} ORDER BY ?price"
    ).to_df()
    assert list(frame.columns) == ["p", "price", "launched"]
    assert frame["price"].tolist() == [12.5, 30.0]
    assert frame["launched"].iloc[0] == dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC)
    assert frame["launched"].isna().iloc[1]


def test_a_syntax_error_names_line_and_column(store: GraphStore) -> None:
    with pytest.raises(QueryError, match=r"SPARQL syntax error at line 2, column \d+"):
        store.query("SELECT ?s\nWHERE { ?s ?p }")


def test_export_round_trips_one_graph_and_all_graphs(loaded: GraphStore, tmp_path: Path) -> None:
    turtle = loaded.export(graph="plm", format="turtle")
    assert isinstance(turtle, bytes)
    assert len(list(ox.parse(turtle, format=ox.RdfFormat.TURTLE))) == 12
    everything = tmp_path / "all.nq"
    loaded.export(everything)
    quads = list(ox.parse(path=str(everything)))
    assert len(quads) == 15
    assert {str(q.graph_name) for q in quads} == {
        "<urn:kgsentinel:graph:plm>",
        f"<{EX}graph/erp>",
        "<urn:kgsentinel:graph:suppliers>",
    }


def test_export_refuses_what_a_format_cannot_hold(loaded: GraphStore) -> None:
    with pytest.raises(RdfError, match="Turtle holds one graph"):
        loaded.export(format="turtle")
    with pytest.raises(RdfError, match=r"no graph named 'nope'.*graphs: plm"):
        loaded.export(graph="nope", format="turtle")


def test_drop_graph_removes_it_and_its_triples(loaded: GraphStore) -> None:
    loaded.drop_graph("plm")
    assert "plm" not in [g.name for g in loaded.graphs()]
    assert count(loaded) == 3
    with pytest.raises(RdfError, match="no graph named 'plm'"):
        loaded.drop_graph("plm")


def test_stats_count_graphs_classes_and_predicates(loaded: GraphStore) -> None:
    stats = loaded.stats(top=2)
    assert stats.triples == 15
    assert stats.classes == [(f"{EX}Product", 3), (f"{EX}Supplier", 1)]
    assert stats.predicates[0] == ("http://www.w3.org/1999/02/22-rdf-syntax-ns#type", 4)
    assert len(stats.predicates) == 2


def test_add_writes_quads_in_one_transaction(store: GraphStore) -> None:
    graph = ox.NamedNode("urn:kgsentinel:graph:anomalies")
    tricky = ox.Literal('a "quoted" } value\nwith a newline')
    store.add([ox.Quad(ox.NamedNode("urn:x:a1"), ox.NamedNode("urn:x:says"), tricky, graph)])
    assert store.query("SELECT ?o { ?s ?p ?o }").rows() == [{"o": tricky.value}]
    assert store.has_graph("anomalies")


def test_a_dataset_without_default_triples_leaves_the_target_graph_alone(
    loaded: GraphStore,
) -> None:
    report = loaded.load(b"<urn:x:g> { <urn:x:a> <urn:x:p> 1 . }", format="trig", graph="plm")
    assert report.graphs == {"urn:x:g": 1}
    assert count(loaded, "urn:kgsentinel:graph:plm") == 12


@pytest.mark.parametrize("existing", [False, True], ids=["new-graph", "replace"])
def test_a_load_is_never_seen_half_done(store: GraphStore, existing: bool) -> None:
    """New graphs load hidden behind a marker; existing ones change in one update."""
    old = b"".join(b'<urn:x:o%d> <urn:x:p> "%d" .\n' % (i, i) for i in range(500))
    new = b"".join(b'<urn:x:n%d> <urn:x:p> "%d" .\n' % (i, i) for i in range(20_000))
    before = 500 if existing else 0
    if existing:
        store.load(old, format="ntriples", graph="big")
    in_graph = (
        f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{'urn:kgsentinel:graph:big'}> {{ ?s ?p ?o }} }}"
    )
    seen: set[int] = set()
    union_seen: set[int] = set()
    hidden_seen = threading.Event()
    done = threading.Event()
    failures: list[BaseException] = []

    def read() -> None:
        try:
            while not done.is_set():
                if any(g.value.startswith(STAGING_PREFIX) for g in store._named_graphs()):
                    hidden_seen.set()
                seen.add(store.query(in_graph).scalar())
                union_seen.add(store.query("SELECT (COUNT(*) AS ?n) { ?s ?p ?o }").scalar())
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        store.load(new, format="ntriples", graph="big")
    finally:
        done.set()
        reader.join()
    assert not failures
    assert seen <= {before, 20_000}
    assert before in seen, "the reader never ran during the load"
    assert union_seen <= {before, 20_000}
    assert hidden_seen.is_set() is not existing  # only a new graph loads behind a marker
    assert store.query(in_graph).scalar() == 20_000
    assert store._named_graphs() == [ox.NamedNode("urn:kgsentinel:graph:big")]
