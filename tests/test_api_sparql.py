"""The /sparql endpoint in process: queries, formats, updates, limits, on both backends."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pyoxigraph as ox
import pytest
from api_client import api_client

from kgsentinel.api.app import create_app
from kgsentinel.api.security import hash_token
from kgsentinel.workspace import Workspace, open_workspace

pytestmark = pytest.mark.anyio

OPERATOR, READER = "kgs_operator_token", "kgs_reader_token"
DATA = b"""
<urn:x:p1> a <urn:x:Product> ; <urn:x:name> "Rose cream"@en ; <urn:x:price> 12 .
<urn:x:p2> a <urn:x:Product> ; <urn:x:name> "Lip balm" ; <urn:x:price> 4 .
"""
SELECT = "SELECT ?p ?name WHERE { ?p a <urn:x:Product> ; <urn:x:name> ?name } ORDER BY ?p"
CONSTRUCT = "CONSTRUCT { ?p <urn:x:label> ?name } WHERE { ?p <urn:x:name> ?name }"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def api_settings(**extra: Any) -> str:
    lines = ["[api]"] + [f"{key} = {json.dumps(value)}" for key, value in extra.items()]
    for name, token, role in (("ops", OPERATOR, "operator"), ("analyst", READER, "reader")):
        lines += [f"[api.tokens.{name}]", f'role = "{role}"', f'hash = "{hash_token(token)}"']
    return "\n".join(lines) + "\n"


def open_backend(root: Path, backend: str, request: pytest.FixtureRequest) -> Workspace:
    env = dict(os.environ)
    if backend == "remote":
        server = request.getfixturevalue("oxigraph_server")
        server.clear()
        env["KGSENTINEL_STORE_URL"] = server.query_url
    return open_workspace(root, env=env)


@pytest.fixture
def opened() -> Iterator[list[Workspace]]:
    """Workspaces a test opens, closed after it whatever happens."""
    workspaces: list[Workspace] = []
    yield workspaces
    for workspace in workspaces:
        workspace.close()


def with_settings(root: Path, **extra: Any) -> Path:
    text = '[project]\nname = "test"\n' + api_settings(**extra)
    (root / "kgsentinel.toml").write_text(text, encoding="utf-8")
    return root


@pytest.fixture(params=["embedded", "remote"])
def loaded(request: pytest.FixtureRequest, workspace: Path, opened: list[Workspace]) -> Workspace:
    """A workspace with a few products, on the embedded store or an Oxigraph server."""
    opened.append(open_backend(with_settings(workspace), request.param, request))
    opened[0].store.load(DATA, format="turtle", graph="plm")
    return opened[0]


@pytest.fixture
async def client(loaded: Workspace) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(create_app(loaded)) as test_client:
        yield test_client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def rows(response: httpx.Response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    document = response.json()
    return [{k: v["value"] for k, v in b.items()} for b in document["results"]["bindings"]]


async def test_a_get_query_answers_sparql_json(client: httpx.AsyncClient) -> None:
    response = await client.get("/sparql", params={"query": SELECT})
    assert response.headers["content-type"] == "application/sparql-results+json"
    assert rows(response) == [
        {"p": "urn:x:p1", "name": "Rose cream"},
        {"p": "urn:x:p2", "name": "Lip balm"},
    ]


async def test_post_form_and_post_direct_answer_the_same(client: httpx.AsyncClient) -> None:
    form = await client.post("/sparql", data={"query": SELECT})
    direct = await client.post(
        "/sparql", content=SELECT, headers={"Content-Type": "application/sparql-query"}
    )
    assert rows(form) == rows(direct)
    assert len(rows(form)) == 2


@pytest.mark.parametrize(
    ("accept", "media", "parse"),
    [
        ("application/sparql-results+xml", "application/sparql-results+xml",
         ox.QueryResultsFormat.XML),
        ("application/sparql-results+json", "application/sparql-results+json",
         ox.QueryResultsFormat.JSON),
        ("text/tab-separated-values", "text/tab-separated-values", ox.QueryResultsFormat.TSV),
        ("text/csv;q=0.9, application/xml;q=0.5", "text/csv", None),
    ],
)  # fmt: skip
async def test_select_results_come_in_the_format_accept_prefers(
    client: httpx.AsyncClient, accept: str, media: str, parse: ox.QueryResultsFormat | None
) -> None:
    response = await client.get("/sparql", params={"query": SELECT}, headers={"Accept": accept})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].split(";")[0] == media
    if parse is None:  # CSV results are plain text (pyoxigraph does not read them back)
        names = [row["name"] for row in csv.DictReader(io.StringIO(response.text))]
    else:
        solutions = ox.parse_query_results(response.content, format=parse)
        names = [str(row["name"].value) for row in solutions]
    assert names == ["Rose cream", "Lip balm"]


async def test_ask_answers_a_boolean(client: httpx.AsyncClient) -> None:
    ask = "ASK { <urn:x:p1> <urn:x:price> 12 }"
    response = await client.get("/sparql", params={"query": ask})
    assert response.json()["boolean"] is True


@pytest.mark.parametrize(
    ("accept", "fmt"),
    [
        ("text/turtle", ox.RdfFormat.TURTLE),
        ("application/n-triples", ox.RdfFormat.N_TRIPLES),
        ("application/ld+json", ox.RdfFormat.JSON_LD),
        ("application/rdf+xml", ox.RdfFormat.RDF_XML),
    ],
)
async def test_construct_results_come_as_rdf_in_the_accepted_syntax(
    client: httpx.AsyncClient, accept: str, fmt: ox.RdfFormat
) -> None:
    response = await client.get("/sparql", params={"query": CONSTRUCT},
                                headers={"Accept": accept})  # fmt: skip
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].split(";")[0] == fmt.media_type
    triples = {(q.subject.value, q.object.value) for q in ox.parse(response.content, format=fmt)}
    assert triples == {("urn:x:p1", "Rose cream"), ("urn:x:p2", "Lip balm")}


async def test_nothing_acceptable_is_406_naming_what_is(client: httpx.AsyncClient) -> None:
    response = await client.get("/sparql", params={"query": SELECT},
                                headers={"Accept": "text/turtle"})  # fmt: skip
    assert response.status_code == 406
    assert "application/sparql-results+json" in response.json()["error"]


async def test_a_syntax_error_is_400_naming_the_line(client: httpx.AsyncClient) -> None:
    response = await client.get("/sparql", params={"query": "SELECT * WHERE {\n ?s ?p }"})
    assert response.status_code == 400
    assert "line 2" in response.json()["error"]


async def test_service_clauses_are_refused(client: httpx.AsyncClient) -> None:
    query = "SELECT * WHERE {\n  SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }"
    response = await client.get("/sparql", params={"query": query})
    assert response.status_code == 400
    assert "line 2: SERVICE clauses are refused" in response.json()["error"]


async def test_updates_need_a_token_of_role_operator(client: httpx.AsyncClient) -> None:
    update = 'INSERT DATA { GRAPH <urn:kgsentinel:graph:notes> { <urn:x:p1> <urn:x:note> "ok" } }'
    form = {"update": update}
    assert (await client.post("/sparql", data=form)).status_code == 401
    assert (await client.post("/sparql", data=form, headers=bearer(READER))).status_code == 403
    done = await client.post("/sparql", data=form, headers=bearer(OPERATOR))
    assert done.status_code == 204
    seen = await client.get("/sparql", params={"query": "SELECT ?n { <urn:x:p1> <urn:x:note> ?n }"})
    assert rows(seen) == [{"n": "ok"}]


async def test_a_direct_update_is_applied(client: httpx.AsyncClient) -> None:
    update = "DELETE WHERE { GRAPH ?g { <urn:x:p2> ?p ?o } }"
    headers = {**bearer(OPERATOR), "Content-Type": "application/sparql-update"}
    assert (await client.post("/sparql", content=update, headers=headers)).status_code == 204
    remaining = await client.get("/sparql", params={"query": SELECT})
    assert [row["p"] for row in rows(remaining)] == ["urn:x:p1"]


async def test_queries_and_requests_show_in_the_metrics(client: httpx.AsyncClient) -> None:
    await client.get("/sparql", params={"query": SELECT})
    text = (await client.get("/metrics")).text
    assert 'kgsentinel_http_requests_total{method="GET",route="/sparql",status="200"}' in text
    assert 'kgsentinel_sparql_query_seconds_count{outcome="ok"}' in text


async def test_readiness_says_the_store_answers(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["status"] == "ready"


async def test_a_result_over_the_size_limit_is_refused(
    workspace: Path, opened: list[Workspace]
) -> None:
    opened.append(open_workspace(with_settings(workspace, max_result_bytes=200)))
    opened[0].store.load(DATA, format="turtle", graph="plm")
    async with api_client(create_app(opened[0])) as client:
        small = await client.get("/sparql", params={"query": "ASK {}"})
        big = await client.get("/sparql", params={"query": "SELECT * { ?s ?p ?o }"})
    assert small.status_code == 200
    assert big.status_code == 400
    assert "max_result_bytes" in big.json()["error"]


async def test_readiness_fails_when_the_endpoint_is_down(
    workspace: Path, opened: list[Workspace]
) -> None:
    env = {**os.environ, "KGSENTINEL_STORE_URL": "http://127.0.0.1:9/query"}
    opened.append(open_workspace(workspace, env=env))
    async with api_client(create_app(opened[0])) as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"


async def test_a_runaway_query_is_stopped_while_others_are_served(
    workspace: Path, opened: list[Workspace]
) -> None:
    opened.append(open_workspace(with_settings(workspace, query_timeout=2, query_workers=2)))
    triples = "".join(f'<urn:x:s{i}> <urn:x:p> "{i}" .\n' for i in range(3000))
    opened[0].store.load(triples.encode(), format="ntriples", graph="numbers")
    runaway = "SELECT (COUNT(*) AS ?n) { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
    quick = "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }"
    app = create_app(opened[0])
    async with api_client(app) as client:
        await client.get("/sparql", params={"query": quick})  # start the workers
        runner = app.state.queries
        before = {worker.process.pid for worker in runner._workers}

        async def quick_ones() -> list[httpx.Response]:
            answers = []
            for _ in range(5):
                answers.append(await client.get("/sparql", params={"query": quick}))
                await asyncio.sleep(0.2)
            return answers

        stopped, answers = await asyncio.gather(
            client.get("/sparql", params={"query": runaway}), quick_ones()
        )
        assert stopped.status_code == 503
        assert "query_timeout" in stopped.json()["error"]
        assert [rows(answer) for answer in answers] == [[{"n": "3000"}]] * 5
        killed = before - {worker.process.pid for worker in runner._workers}
        assert len(killed) == 1
        with pytest.raises(ProcessLookupError):
            os.kill(killed.pop(), 0)
        after = await client.get("/sparql", params={"query": quick})
        assert rows(after) == [{"n": "3000"}]


async def test_ingest_detector_and_delivery_counts_show_in_the_metrics(
    client: httpx.AsyncClient,
) -> None:
    from kgsentinel.api.metrics import record_delivery, record_detector_run, record_ingest

    name = f"plm-{uuid.uuid4().hex[:8]}"  # counters live as long as the process
    record_ingest(name, 7, rejected=2)
    record_detector_run(name, "failed")
    record_delivery(name, "dead")
    text = (await client.get("/metrics")).text
    assert f'kgsentinel_ingested_rows_total{{outcome="loaded",source="{name}"}} 7.0' in text
    assert f'kgsentinel_ingested_rows_total{{outcome="rejected",source="{name}"}} 2.0' in text
    assert f'kgsentinel_detector_runs_total{{detector="{name}",outcome="failed"}} 1.0' in text
    assert f'kgsentinel_alert_deliveries_total{{outcome="dead",sink="{name}"}} 1.0' in text


async def test_a_graph_still_loading_is_not_seen(workspace: Path, opened: list[Workspace]) -> None:
    opened.append(open_workspace(with_settings(workspace)))
    store = opened[0].store
    rdf_type = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
    async with api_client(create_app(opened[0])) as client:
        with store.writer("late") as writer:
            lines = (
                f'<urn:x:p9> <{rdf_type}> <urn:x:Product> .\n<urn:x:p9> <urn:x:name> "Hidden" .\n'
            )
            writer.write(lines.encode())
            for _ in range(1000):  # until the block is in the store, its graph still hidden
                if list(store.pyoxigraph.quads_for_pattern(ox.NamedNode("urn:x:p9"), None, None)):
                    break
                await asyncio.sleep(0.01)
            during = rows(await client.get("/sparql", params={"query": SELECT}))
        after = rows(await client.get("/sparql", params={"query": SELECT}))
    assert during == []
    assert after == [{"p": "urn:x:p9", "name": "Hidden"}]
