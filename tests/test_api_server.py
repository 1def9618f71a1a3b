"""``kgsentinel serve`` on loopback, spoken to by standard SPARQL clients unchanged."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from servers import free_port

from kgsentinel.api.security import hash_token
from kgsentinel.workspace import open_workspace

pytestmark = pytest.mark.server

TOKEN = "kgs_server_operator"
DATA = b"""
<urn:x:p1> a <urn:x:Product> ; <urn:x:name> "Rose cream" .
<urn:x:p2> a <urn:x:Product> ; <urn:x:name> "Lip balm" .
"""
PRODUCTS = "SELECT ?name WHERE { ?p a <urn:x:Product> ; <urn:x:name> ?name } ORDER BY ?name"


class Server:
    """``kgsentinel serve`` in a workspace, on a free loopback port."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.log = root / "serve.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""

    def start(self) -> Server:
        executable = shutil.which("kgsentinel") or sys.executable
        prefix = [executable] if executable != sys.executable else [sys.executable, "-m",
                                                                     "kgsentinel"]  # fmt: skip
        for _attempt in range(3):  # another process may take the free port first
            port = free_port()
            self.url = f"http://127.0.0.1:{port}"
            command = [*prefix, "--workspace", str(self.root), "serve", "--port", str(port)]
            with self.log.open("wb") as log:
                self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
            if self._ready():
                return self
        raise RuntimeError(f"kgsentinel serve did not start: {self.log.read_text()[-800:]}")

    def _ready(self) -> bool:
        assert self.process is not None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                httpx.get(f"{self.url}/healthz", timeout=1.0)
            except httpx.TransportError:
                time.sleep(0.1)
            else:
                return True
        return False

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    from kgsentinel.workspace import init_workspace

    root = init_workspace(tmp_path_factory.mktemp("served") / "ws", name="served")
    settings = '[api]\nquery_timeout = 3\n[api.tokens.ops]\nrole = "operator"\n'
    settings += f'hash = "{hash_token(TOKEN)}"\n'
    (root / "kgsentinel.toml").write_text(settings, encoding="utf-8")
    with open_workspace(root) as workspace:
        workspace.store.load(DATA, format="turtle", graph="plm")
        numbers = "".join(f'<urn:x:n{i}> <urn:x:value> "{i}" .\n' for i in range(2000))
        workspace.store.load(numbers.encode(), format="ntriples", graph="numbers")
    running = Server(root).start()
    yield running
    running.stop()


def test_health_readiness_and_the_openapi_document(server: Server) -> None:
    assert httpx.get(f"{server.url}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{server.url}/readyz").json()["status"] == "ready"
    spec = httpx.get(f"{server.url}/openapi.json").json()
    for path in ("/sparql", "/healthz", "/readyz", "/metrics"):
        for operation in spec["paths"][path].values():
            assert operation["summary"]
            assert operation["responses"]


def test_sparqlwrapper_queries_and_updates_unchanged(server: Server) -> None:
    from SPARQLWrapper import JSON, POST, TURTLE, SPARQLWrapper

    client = SPARQLWrapper(f"{server.url}/sparql")
    client.setQuery(PRODUCTS)
    client.setReturnFormat(JSON)
    names = [b["name"]["value"] for b in client.queryAndConvert()["results"]["bindings"]]
    assert names == ["Lip balm", "Rose cream"]

    client.setQuery("CONSTRUCT { ?p <urn:x:label> ?name } WHERE { ?p <urn:x:name> ?name }")
    client.setReturnFormat(TURTLE)
    graph = client.queryAndConvert()
    assert b"Rose cream" in graph

    writer = SPARQLWrapper(f"{server.url}/sparql")
    writer.setMethod(POST)
    writer.setCredentials("ops", TOKEN)
    writer.setQuery(
        "INSERT DATA { GRAPH <urn:kgsentinel:graph:notes> { <urn:x:p3> a <urn:x:Product> ; "
        '<urn:x:name> "Nail polish" } }'
    )
    writer.query()
    client.setQuery(PRODUCTS)
    client.setReturnFormat(JSON)
    names = [b["name"]["value"] for b in client.queryAndConvert()["results"]["bindings"]]
    assert names == ["Lip balm", "Nail polish", "Rose cream"]


def test_sparqlwrapper_without_a_token_cannot_update(server: Server) -> None:
    from SPARQLWrapper import POST, SPARQLWrapper
    from SPARQLWrapper.SPARQLExceptions import Unauthorized

    client = SPARQLWrapper(f"{server.url}/sparql")
    client.setMethod(POST)
    client.setQuery("CLEAR ALL")
    with pytest.raises(Unauthorized):
        client.query()


def test_rdflib_sparqlstore_reads_and_the_update_store_writes(server: Server) -> None:
    from rdflib import Graph, Literal, URIRef
    from rdflib.plugins.stores.sparqlstore import SPARQLStore, SPARQLUpdateStore

    reader = Graph(store=SPARQLStore(f"{server.url}/sparql"))
    names = sorted(str(row[0]) for row in reader.query(PRODUCTS))
    assert "Rose cream" in names

    store = SPARQLUpdateStore(f"{server.url}/sparql", f"{server.url}/sparql",
                              auth=("ops", TOKEN))  # fmt: skip
    notes = Graph(store=store, identifier=URIRef("urn:kgsentinel:graph:rdflib"))
    notes.add((URIRef("urn:x:p1"), URIRef("urn:x:checked"), Literal("yes")))
    ask = "ASK { <urn:x:p1> <urn:x:checked> 'yes' }"
    assert reader.query(ask).askAnswer is True


def test_a_runaway_query_is_stopped_and_the_server_keeps_answering(server: Server) -> None:
    runaway = "SELECT (COUNT(*) AS ?n) { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
    stopped = httpx.get(f"{server.url}/sparql", params={"query": runaway}, timeout=60)
    assert stopped.status_code == 503
    body = stopped.json()
    assert "query_timeout" in body["error"]
    assert body["request_id"] == stopped.headers["x-request-id"]
    after = httpx.get(f"{server.url}/sparql", params={"query": "ASK { ?s ?p ?o }"})
    assert after.json()["boolean"] is True


def test_errors_answer_json_and_the_log_has_no_traceback(server: Server) -> None:
    response = httpx.get(f"{server.url}/sparql", params={"query": "SELECT * {"})
    assert response.status_code == 400
    assert response.json()["request_id"]
    assert "Traceback" not in server.log.read_text(errors="replace")
    assert TOKEN not in server.log.read_text(errors="replace")
