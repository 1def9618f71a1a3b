"""The remote store against a real Oxigraph server (and a tiny recording HTTP peer)."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import os
import sys
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest
from servers import OxigraphServer, ServerNotInstalledError, find_oxigraph, free_port

from kgsentinel.errors import ConfigError, EndpointError, QueryError, RdfError, StoreError
from kgsentinel.graph import remote as remote_module
from kgsentinel.graph.embedded import EmbeddedStore
from kgsentinel.graph.remote import RemoteStore, endpoint_urls
from kgsentinel.graph.store import GraphStore
from kgsentinel.graph.terms import STAGING_PREFIX, graph_iri

pytestmark = pytest.mark.server

X = "urn:x:"
TURTLE = """@prefix ex: <urn:x:> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
ex:p1 a ex:Product ; ex:name "Lipstick"@en ; ex:price 12.5 ; ex:market ex:fr, ex:us ;
    ex:launched "2024-03-01"^^xsd:date ; ex:formula [ ex:ingredient ex:i1, ex:i2 ] .
ex:p2 a ex:Product ; ex:name "Crème \\"Nuit\\"\\n2" ; ex:price 30 ; ex:market ex:fr .
ex:p3 a ex:Product ; ex:name "Sérum" ; ex:price 7.25 ; ex:supplier ex:s1 .
ex:s1 a ex:Supplier ; ex:name "ACME" ; ex:rating 4.5e0 .
""".encode()
TRIPLES = 20  # in TURTLE
NQUADS = b"""<urn:x:c1> <urn:x:step> "brief" <urn:x:events> .
<urn:x:c1> <urn:x:owner> _:team <urn:x:events> .
_:team <urn:x:name> "R&D" <urn:x:events> .
<urn:x:c1> <urn:x:note> "in the default graph" .
"""


# -- servers --------------------------------------------------------------------------------


def _missing(message: str) -> None:
    """A missing server fails under CI (nothing is skipped silently there) and skips elsewhere."""
    if os.environ.get("CI", "").lower() in ("true", "1"):
        pytest.fail(message)
    pytest.skip(message)


def _start(tmp_path_factory: pytest.TempPathFactory, **options: Any) -> OxigraphServer:
    server = OxigraphServer(**options)
    try:
        server.start(tmp_path_factory.mktemp("oxigraph"))
    except ServerNotInstalledError as exc:
        _missing(str(exc))
    return server


@pytest.fixture(scope="module")
def _server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OxigraphServer]:
    server = _start(tmp_path_factory)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def _union_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OxigraphServer]:
    server = _start(tmp_path_factory, union_default_graph=True)
    yield server
    server.stop()


@pytest.fixture
def empty_server(_server: OxigraphServer) -> OxigraphServer:
    """The plain Oxigraph server, emptied."""
    _server.clear()
    return _server


@pytest.fixture
def empty_union_server(_union_server: OxigraphServer) -> OxigraphServer:
    """The Oxigraph server started with --union-default-graph, emptied."""
    _union_server.clear()
    return _union_server


@pytest.fixture(params=["list", "server"])
def remote(request: pytest.FixtureRequest) -> Iterator[RemoteStore]:
    """An empty remote store; ``server`` mode runs Oxigraph with --union-default-graph."""
    name = "empty_server" if request.param == "list" else "empty_union_server"
    server = request.getfixturevalue(name)
    with RemoteStore(server.query_url, union=request.param) as store:
        yield store


@pytest.fixture(params=["gsp", "no-gsp"])
def loader(request: pytest.FixtureRequest, empty_server: OxigraphServer) -> Iterator[RemoteStore]:
    """An empty remote store, with or without the Graph Store Protocol."""
    gsp = None if request.param == "gsp" else ""
    with RemoteStore(empty_server.query_url, gsp_url=gsp) as store:
        yield store


@pytest.fixture
def embedded() -> Iterator[EmbeddedStore]:
    with EmbeddedStore() as store:
        yield store  # type: ignore[misc]


def _canonical(nquads: bytes) -> ox.Dataset:
    dataset = ox.Dataset(ox.parse(nquads, format=ox.RdfFormat.N_QUADS))
    dataset.canonicalize(ox.CanonicalizationAlgorithm.UNSTABLE)
    return dataset


def _graph_sizes(store: GraphStore) -> list[tuple[str | None, int]]:
    return [(info.iri, info.triples) for info in store.graphs()]


# -- a tiny recording HTTP peer -------------------------------------------------------------


def _nothing(request: dict[str, Any]) -> tuple[int, str, bytes]:
    """An empty store's answer: false for ASK, no rows otherwise."""
    query = request["form"].get("query", [""])[0]
    if query.startswith("ASK"):
        return 200, "application/sparql-results+json", b'{"head":{},"boolean":false}'
    return 200, "application/sparql-results+json", b'{"head":{"vars":[]},"results":{"bindings":[]}}'


@dataclass
class FakeEndpoint:
    """A loopback HTTP server that records requests and answers with ``respond``."""

    url: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    respond: Callable[[dict[str, Any]], tuple[int, str, bytes]] = _nothing


@pytest.fixture
def fake_endpoint() -> Iterator[FakeEndpoint]:
    endpoint = FakeEndpoint(url="")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            body = self.rfile.read(length).decode()
            form = urllib.parse.parse_qs(body)
            request = {"path": self.path, "headers": dict(self.headers), "form": form}
            endpoint.requests.append(request)
            status, media, payload = endpoint.respond(request)
            self.send_response(status)
            self.send_header("Content-Type", media)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    endpoint.url = f"http://127.0.0.1:{server.server_address[1]}/sparql"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield endpoint
    server.shutdown()
    server.server_close()
    thread.join()


# -- configuration --------------------------------------------------------------------------


def test_endpoint_urls_derive_update_and_store_from_a_query_url() -> None:
    assert endpoint_urls("http://h:7878/query") == (
        "http://h:7878/query",
        "http://h:7878/update",
        "http://h:7878/store",
    )
    assert endpoint_urls("http://h:3030/ds/query")[1:] == (
        "http://h:3030/ds/update",
        "http://h:3030/ds/store",
    )
    assert endpoint_urls("https://h/sparql") == ("https://h/sparql", "https://h/sparql", None)
    assert endpoint_urls("http://h/query", update_url="http://h/u", gsp_url="http://h/g") == (
        "http://h/query",
        "http://h/u",
        "http://h/g",
    )
    assert endpoint_urls("http://h/query", gsp_url="")[2] is None


def test_settings_are_checked() -> None:
    with pytest.raises(ConfigError, match="http:// or https://"):
        RemoteStore("localhost:7878/query")
    with pytest.raises(ConfigError, match="union must be"):
        RemoteStore("http://h/query", union="all")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="not both"):
        RemoteStore("http://h/query", token="t", username="u", password="p")


# -- errors ---------------------------------------------------------------------------------


def test_an_unreachable_endpoint_gives_one_clear_line() -> None:
    url = f"http://127.0.0.1:{free_port()}/query"
    with RemoteStore(url, timeout=5) as store, pytest.raises(EndpointError) as caught:
        store.query("ASK { ?s ?p ?o }")
    message = str(caught.value)
    assert message.startswith(f"cannot reach the SPARQL endpoint at {url}: ")
    assert message.endswith("check the URL and that the server is running")
    assert "\n" not in message


def test_credentials_never_appear_in_the_location_or_messages() -> None:
    url = f"http://alice:s3cret@127.0.0.1:{free_port()}/query"
    with RemoteStore(url, timeout=5) as store:
        assert "s3cret" not in store.location
        assert "alice" not in repr(store)
        with pytest.raises(EndpointError) as caught:
            store.query("ASK {}")
    assert "s3cret" not in str(caught.value)


def test_a_bad_query_names_line_and_column(remote: RemoteStore) -> None:
    with pytest.raises(QueryError, match=r"SPARQL syntax error at line 2, column \d+: "):
        remote.query("SELECT ?s WHERE {\n  ?s ?p }")


def test_a_bad_update_is_a_query_error(remote: RemoteStore) -> None:
    with pytest.raises(QueryError, match=r"at line 1, column \d+"):
        remote.update("INSERT DATA { <urn:x:a> <urn:x:p> }")


@pytest.mark.parametrize(
    ("fmt", "bad"),
    [
        ("ntriples", b'<urn:x:a> <urn:x:p> "1" .\n<urn:x:a> <urn:x:p> .\n'),
        ("turtle", b'<urn:x:a> <urn:x:p> 1 .\n<urn:x:b> <urn:x:p> "unterminated .\n'),
        ("nquads", b"<urn:x:a> <urn:x:p> <urn:x:o> <urn:x:g> .\n<urn:x:b> <urn:x:p> .\n"),
    ],
)
def test_a_bad_document_names_its_line_and_loads_nothing(
    loader: RemoteStore, fmt: str, bad: bytes
) -> None:
    with pytest.raises(RdfError, match=r"<data>: line 2, column \d+: .*nothing was loaded"):
        loader.load(bad, format=fmt, graph="bad")
    assert loader.graphs() == []
    assert loader._named_graphs() == []  # no staging graph is left behind


def test_a_failing_query_reports_the_server_message(remote: RemoteStore) -> None:
    # Oxigraph streams results, so an error during evaluation arrives inside a 200 answer
    with pytest.raises(EndpointError, match="port 9 is not allowed"):
        remote.query("SELECT * WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }")


def test_a_closed_store_says_so(empty_server: OxigraphServer) -> None:
    store = RemoteStore(empty_server.query_url)
    store.close()
    with pytest.raises(StoreError, match="is closed"):
        store.query("ASK {}")


# -- authentication -------------------------------------------------------------------------


def test_the_bearer_token_is_sent(fake_endpoint: FakeEndpoint) -> None:
    with RemoteStore(fake_endpoint.url, token="t0ken") as store:
        assert store.query("ASK { ?s ?p ?o }").boolean is False
    assert fake_endpoint.requests
    assert all(r["headers"]["Authorization"] == "Bearer t0ken" for r in fake_endpoint.requests)


def test_basic_auth_is_sent(fake_endpoint: FakeEndpoint) -> None:
    with RemoteStore(fake_endpoint.url, username="ops", password="pw") as store:
        store.query("ASK { ?s ?p ?o }")
    assert fake_endpoint.requests[0]["headers"]["Authorization"] == "Basic b3BzOnB3"


def test_a_refused_token_says_which_variable_to_set(fake_endpoint: FakeEndpoint) -> None:
    fake_endpoint.respond = lambda request: (401, "text/plain", b"bad token t0ken")
    store = RemoteStore(fake_endpoint.url, token="t0ken")
    with store, pytest.raises(EndpointError) as caught:
        store.query("ASK {}")
    message = str(caught.value)
    assert fake_endpoint.url in message
    assert "KGSENTINEL_STORE_TOKEN" in message
    assert "t0ken" not in message


def test_server_errors_give_the_status_and_first_line(fake_endpoint: FakeEndpoint) -> None:
    fake_endpoint.respond = lambda request: (503, "text/plain", b"overloaded\ntrace...")
    with RemoteStore(fake_endpoint.url) as store, pytest.raises(EndpointError) as caught:
        store.update("CLEAR ALL")
    assert (
        str(caught.value)
        == f"the SPARQL endpoint at {fake_endpoint.url} answered HTTP 503: overloaded"
    )


def test_graphs_are_listed_by_scanning_where_empty_patterns_list_none(
    fake_endpoint: FakeEndpoint,
) -> None:
    def respond(request: dict[str, Any]) -> tuple[int, str, bytes]:
        query = request["form"]["query"][0]
        if query.startswith("ASK"):
            return 200, "application/sparql-results+json", b'{"head":{},"boolean":true}'
        rows = [] if "{ }" in query else [{"g": {"type": "uri", "value": "urn:x:g"}}]
        document = {"head": {"vars": ["g"]}, "results": {"bindings": rows}}
        return 200, "application/sparql-results+json", json.dumps(document).encode()

    fake_endpoint.respond = respond
    with RemoteStore(fake_endpoint.url) as store:
        assert store._named_graphs() == [ox.NamedNode("urn:x:g")]
        assert store._named_graphs() == [ox.NamedNode("urn:x:g")]
    queries = [r["form"]["query"][0] for r in fake_endpoint.requests]
    assert sum(q.startswith("ASK") for q in queries) == 1  # the probe runs once


# -- loading --------------------------------------------------------------------------------


@pytest.mark.parametrize(("document", "fmt"), [(TURTLE, "turtle"), (NQUADS, "nquads")])
def test_loads_with_and_without_gsp_give_the_embedded_graphs(
    loader: RemoteStore,
    embedded: EmbeddedStore,
    monkeypatch: pytest.MonkeyPatch,
    document: bytes,
    fmt: str,
) -> None:
    monkeypatch.setattr(remote_module, "_INSERT_CHUNK", 2)  # many updates without GSP
    loaded = loader.load(document, format=fmt, graph="plm")
    expected = embedded.load(document, format=fmt, graph="plm")
    assert loaded == expected
    assert _canonical(loader.export(format="nquads") or b"") == _canonical(
        embedded.export(format="nquads") or b""
    )


def test_a_file_is_streamed_into_its_graph(loader: RemoteStore, tmp_path: Path) -> None:
    path = tmp_path / "products.ttl"
    path.write_bytes(TURTLE)
    report = loader.load(path)
    assert report.graphs == {graph_iri("products"): TRIPLES}
    assert loader.export(graph="products", format="turtle") is not None


def test_blank_nodes_stay_one_node_across_insert_chunks(
    empty_server: OxigraphServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(remote_module, "_INSERT_CHUNK", 3)
    plain = b"".join(b'<urn:x:s%d> <urn:x:p> "%d" .\n' % (i, i) for i in range(7))
    shared = b'_:b <urn:x:p> "1" .\n' + plain + b'_:b <urn:x:p> "2" .\n'
    with RemoteStore(empty_server.query_url, gsp_url="") as store:
        store.load(plain + shared, format="ntriples", graph="g")
        count = store.query(
            "SELECT (COUNT(DISTINCT ?b) AS ?n) { ?b <urn:x:p> ?o FILTER isBlank(?b) }"
        )
        assert count.scalar() == 1


def test_insert_chunks_stop_cutting_once_a_blank_node_appears() -> None:
    def quad(subject: ox.NamedNode | ox.BlankNode) -> ox.Quad:
        return ox.Quad(subject, ox.NamedNode(X + "p"), ox.Literal("v"))

    named = [quad(ox.NamedNode(f"{X}s{i}")) for i in range(5)]
    quads = [*named, quad(ox.BlankNode("b")), *named]
    sizes = [len(chunk) for chunk in remote_module._insert_chunks(quads, 2)]
    assert sizes == [2, 2, 7]


# -- reading --------------------------------------------------------------------------------

PARAM_QUERIES: list[tuple[str, dict[str, Any]]] = [
    ("SELECT ?p WHERE { ?p <urn:x:market> ?m }", {"m": ox.NamedNode(X + "fr")}),
    ("SELECT ?p WHERE { ?p <urn:x:name> ?n }", {"n": 'Crème "Nuit"\n2'}),
    ("SELECT ?p ?price WHERE { ?p <urn:x:price> ?price FILTER(?price > ?min) }", {"min": 10}),
    (
        "SELECT ?name WHERE { ?p <urn:x:launched> ?d ; <urn:x:name> ?name }",
        {"d": dt.date(2024, 3, 1)},
    ),
    (
        "SELECT ?p ?s WHERE { ?p a ?type OPTIONAL { ?p <urn:x:supplier> ?s } }",
        {"type": ox.NamedNode(X + "Product")},
    ),
    (
        "SELECT ?m (COUNT(?p) AS ?n) WHERE { ?p <urn:x:market> ?m ; <urn:x:price> ?x "
        "FILTER(?x < ?cap) } GROUP BY ?m",
        {"cap": 100.0},
    ),
    ("ASK { ?s <urn:x:rating> ?r }", {"r": 4.5}),
    (
        "CONSTRUCT { ?p <urn:x:sold> ?m } WHERE { ?p <urn:x:market> ?m }",
        {"m": ox.NamedNode(X + "us")},
    ),
]


@pytest.mark.parametrize(("sparql", "params"), PARAM_QUERIES)
def test_parameters_bind_like_the_embedded_store(
    remote: RemoteStore, embedded: EmbeddedStore, sparql: str, params: dict[str, Any]
) -> None:
    remote.load(TURTLE, format="turtle", graph="plm")
    embedded.load(TURTLE, format="turtle", graph="plm")
    got, expected = remote.query(sparql, params=params), embedded.query(sparql, params=params)
    assert (got.kind, got.variables, got.boolean) == (
        expected.kind,
        expected.variables,
        expected.boolean,
    )
    if got.kind != "ask":
        assert sorted(map(str, got.rows())) == sorted(map(str, expected.rows()))


def test_the_shared_behaviour_matches_the_embedded_store(
    remote: RemoteStore, embedded: EmbeddedStore
) -> None:
    for store in (remote, embedded):
        store.load(TURTLE, format="turtle", graph="plm")
        store.load(NQUADS, format="nquads", graph="ev")
        store.load(b"<urn:x:p2> <urn:x:market> <urn:x:de> .", format="ntriples", graph="plm",
                   replace=False)  # fmt: skip
    assert _graph_sizes(remote) == _graph_sizes(embedded)
    assert remote.stats(top=3) == embedded.stats(top=3)
    assert remote.has_graph("plm")
    assert not remote.has_graph("nope")
    for graph in ("plm", "ev"):
        got = remote.export(graph=graph, format="nquads") or b""
        assert _canonical(got) == _canonical(embedded.export(graph=graph, format="nquads") or b"")
        assert remote.export(graph=graph, format="turtle")
    assert _canonical(remote.export() or b"") == _canonical(embedded.export() or b"")
    sparql = "SELECT ?m WHERE { ?p <urn:x:market> ?m } ORDER BY ?m"
    params = {"p": ox.NamedNode(X + "p2")}
    assert (
        remote.query(sparql, params=params).rows() == embedded.query(sparql, params=params).rows()
    )
    for store in (remote, embedded):
        store.drop_graph("plm")
    assert _graph_sizes(remote) == _graph_sizes(embedded)
    with pytest.raises(RdfError, match="no graph named 'plm'"):
        remote.export(graph="plm")


def test_an_export_file_is_written(remote: RemoteStore, tmp_path: Path) -> None:
    remote.load(TURTLE, format="turtle", graph="plm")
    remote.export(tmp_path / "all.trig")
    remote.export(tmp_path / "plm.ttl", graph="plm")
    trig = ox.Dataset(ox.parse(path=str(tmp_path / "all.trig")))
    assert len(trig) == TRIPLES
    assert len(list(ox.parse(path=str(tmp_path / "plm.ttl")))) == TRIPLES


@pytest.mark.parametrize("gsp", [None, ""])
def test_staging_graphs_are_never_seen_nor_exported(
    empty_server: OxigraphServer, gsp: str | None
) -> None:
    with RemoteStore(empty_server.query_url, gsp_url=gsp) as store:
        store.load(TURTLE, format="turtle", graph="plm")
        store.update(
            f"INSERT DATA {{ GRAPH <{STAGING_PREFIX}t:0> {{ <urn:x:half> <urn:x:p> 1 }} }}"
        )
        assert [info.name for info in store.graphs()] == ["plm"]
        assert store.query("ASK { <urn:x:half> ?p ?o }").boolean is False
        assert store.query("ASK { GRAPH ?g { <urn:x:half> ?p ?o } }").boolean is False
        assert b"half" not in (store.export(format="nquads") or b"")
        assert b"half" not in (store.export(format="trig") or b"")


def test_the_default_graph_with_a_listed_union(empty_server: OxigraphServer) -> None:
    with RemoteStore(empty_server.query_url) as store:
        store.add([ox.Quad(ox.NamedNode(X + "d"), ox.NamedNode(X + "p"), ox.Literal("d"))])
        assert store.query("ASK { <urn:x:d> ?p ?o }").boolean  # no named graph yet: it is all
        store.load(TURTLE, format="turtle", graph="plm")
        assert _graph_sizes(store) == [(graph_iri("plm"), TRIPLES), (None, 1)]
        # the protocol cannot name the unnamed default graph in a dataset
        assert store.query("ASK { <urn:x:d> ?p ?o }").boolean is False
        assert b"<urn:x:d>" in (store.export() or b"")


def test_the_default_graph_with_a_server_union(empty_union_server: OxigraphServer) -> None:
    with RemoteStore(empty_union_server.query_url, union="server") as store:
        store.load(TURTLE, format="turtle", graph="plm")
        store.add([ox.Quad(ox.NamedNode(X + "d"), ox.NamedNode(X + "p"), ox.Literal("d"))])
        assert store.query("ASK { <urn:x:d> ?p ?o }").boolean  # the server's union has it
        assert _graph_sizes(store) == [(graph_iri("plm"), TRIPLES)]  # it cannot be counted alone


# -- the test server helper -----------------------------------------------------------------


def test_a_missing_oxigraph_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    monkeypatch.setattr(sys, "executable", "/nonexistent/bin/python")
    with pytest.raises(ServerNotInstalledError, match="pip install oxigraph"):
        find_oxigraph()


@pytest.mark.parametrize(("ci", "outcome"), [("true", "Failed"), ("", "Skipped")])
def test_a_missing_server_fails_under_ci_and_skips_elsewhere(
    monkeypatch: pytest.MonkeyPatch, ci: str, outcome: str
) -> None:
    monkeypatch.setenv("CI", ci)
    with pytest.raises(BaseException) as caught:  # noqa: PT011 - pytest's outcome classes
        _missing("the oxigraph server is not installed: pip install oxigraph")
    assert type(caught.value).__name__ == outcome
