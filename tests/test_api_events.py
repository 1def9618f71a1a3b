"""POST /events: CloudEvents in binary, structured and batch mode, kept once, durable, rejects."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_client import api_client

from kgsentinel.api.security import hash_token
from kgsentinel.errors import EventError
from kgsentinel.ingest.events import ingest_events
from kgsentinel.workspace import Workspace, open_workspace

TOKENS = {"reader": "kgs_r", "ingester": "kgs_i", "operator": "kgs_o", "admin": "kgs_a"}
STRUCTURED = "application/cloudevents+json"
BATCH = "application/cloudevents-batch+json"
EVENT_IDS = "PREFIX kgs: <https://w3id.org/kgsentinel#> SELECT ?id WHERE { ?e kgs:eventId ?id }"


def event(ident: str, **changes: Any) -> dict[str, Any]:
    base = {
        "specversion": "1.0", "id": ident, "source": "urn:plm", "type": "npi.step",
        "time": "2025-02-03T09:00:00Z", "subject": "NPI-7",
        "data": {"activity": "Brief", "resource": "ana", "cost": 12.5},
    }  # fmt: skip
    return {**base, **changes}


def auth(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[role]}"}


def configure_api(root: Path, *more: str) -> None:
    """A kgsentinel.toml with tokens for every role, no anonymous reads, and ``more`` lines."""
    lines = ["[api]", "anonymous_read = false"]
    for role, token in TOKENS.items():
        lines += [f"[api.tokens.{role}]", f'role = "{role}"', f'hash = "{hash_token(token)}"']
    (root / "kgsentinel.toml").write_text("\n".join([*lines, *more]) + "\n", encoding="utf-8")


def stored_ids(workspace: Workspace) -> list[str]:
    return sorted(row["id"].value for row in workspace.store.query(EVENT_IDS))


def rejects(root: Path) -> list[dict[str, str]]:
    with (root / ".kgsentinel" / "rejects" / "events.csv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


# -- the library ----------------------------------------------------------------------------


def test_events_are_stored_once_by_source_and_id(workspace: Path) -> None:
    with open_workspace(workspace) as ws:
        first = ingest_events(ws, [event("1"), event("2"), event("1", type="other")])
        again = ingest_events(ws, [event("2"), event("1", source="urn:erp")])
        assert [o.status for o in first.events] == ["accepted", "accepted", "duplicate"]
        assert [o.status for o in again.events] == ["duplicate", "accepted"]
        assert stored_ids(ws) == ["urn:erp 1", "urn:plm 1", "urn:plm 2"]


def test_posted_events_map_like_an_ingested_log(workspace: Path) -> None:
    from kgsentinel.ingest.job import ingest_log

    log = workspace / "data" / "events.jsonl"
    log.write_text(json.dumps(event("1")) + "\n", encoding="utf-8")
    with open_workspace(workspace) as ws:
        ingest_log(ws, log, graph="fromfile")
        ingest_events(ws, [event("1")])
        by_file = ws.store.export(graph="fromfile", format="ntriples")
        by_post = ws.store.export(graph="events", format="ntriples")
    assert by_file is not None
    assert by_post is not None
    assert sorted(by_post.replace(b":events:", b":fromfile:").splitlines()) == sorted(
        by_file.splitlines()
    )


def test_a_batch_with_a_bad_event_stores_nothing_and_names_each_bad_one(workspace: Path) -> None:
    batch = [event("1"), event("2", time="yesterday"), {"id": "3"}, "four"]
    with open_workspace(workspace) as ws:
        with pytest.raises(EventError) as refused:
            ingest_events(ws, batch)
        assert stored_ids(ws) == []
    assert [(index, field) for index, field, _ in refused.value.rejects] == [
        (1, "time"), (2, "specversion"), (3, "event"),
    ]  # fmt: skip
    assert "event 1, time: 'yesterday' is not an ISO 8601 time" in str(refused.value)
    assert [row["row"] for row in rejects(workspace)] == ["1", "2", "3"]


def test_concurrent_posts_of_one_event_store_it_once(workspace: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with open_workspace(workspace) as ws, ThreadPoolExecutor(8) as pool:
        reports = list(pool.map(lambda _: ingest_events(ws, [event("1")]), range(16)))
        assert stored_ids(ws) == ["urn:plm 1"]
    statuses = sorted(report.events[0].status for report in reports)
    assert statuses == ["accepted"] + ["duplicate"] * 15


def test_a_bad_post_among_concurrent_ones_is_refused_alone(workspace: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    posts = [[event(str(n))] for n in range(12)]
    posts[5] = [event("5"), event("bad", time="never")]
    with open_workspace(workspace) as ws, ThreadPoolExecutor(6) as pool:
        futures = [pool.submit(ingest_events, ws, post) for post in posts]
        errors = [future.exception() for future in futures]
        assert stored_ids(ws) == sorted(f"urn:plm {n}" for n in range(12) if n != 5)
    assert [index for index, error in enumerate(errors) if error is not None] == [5]
    assert isinstance(errors[5], EventError)
    assert errors[5].rejects == [(1, "time", "'never' is not an ISO 8601 time")]


def test_each_post_is_an_ingest_run_of_the_events_source(workspace: Path) -> None:
    from kgsentinel.ingest.job import source_runs

    with open_workspace(workspace) as ws:
        ingest_events(ws, [event("1"), event("2")])
        [run] = source_runs(ws)
    assert (run["source"], run["read"], run["loaded"], run["rejected"]) == ("events", 2, 2, 0)


@pytest.mark.parametrize(
    ("settings", "says"),
    [
        ('[sources.events]\npath = "data/e.csv"\n', "also a source's graph"),
        ('[events]\ngraph = "anomalies"\n', "reserved"),
        ('[events]\ngraph = "two words"\n', "graph = 'two words'"),
        ("[events]\nmax_batch = 0\n", "max_batch = 0"),
    ],
)
def test_bad_events_settings_are_one_line_naming_the_key(
    workspace: Path, settings: str, says: str
) -> None:
    from kgsentinel.errors import ConfigError

    (workspace / "kgsentinel.toml").write_text(settings, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"kgsentinel\.toml") as error:
        open_workspace(workspace)
    assert says in str(error.value)
    assert "\n" not in str(error.value)


# -- over HTTP --------------------------------------------------------------------------------


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def client(workspace: Path) -> AsyncIterator[httpx.AsyncClient]:
    from kgsentinel.api.app import create_app

    configure_api(workspace)
    with open_workspace(workspace) as ws:
        async with api_client(create_app(ws)) as test_client:
            test_client.workspace = ws  # type: ignore[attr-defined]
            yield test_client


@pytest.mark.anyio
async def test_structured_mode_takes_one_event(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/events",
        content=json.dumps(event("1")),
        headers={"Content-Type": STRUCTURED, **auth("ingester")},
    )
    assert response.status_code == 202, response.text
    assert response.json()["events"] == [
        {"index": 0, "source": "urn:plm", "id": "1", "status": "accepted"}
    ]
    assert stored_ids(client.workspace) == ["urn:plm 1"]  # type: ignore[attr-defined]


@pytest.mark.anyio
async def test_binary_mode_reads_ce_headers_and_the_data_body(client: httpx.AsyncClient) -> None:
    headers = {
        "ce-specversion": "1.0", "ce-id": "b-1", "ce-source": "urn%3Aplm", "ce-type": "npi.step",
        "ce-time": "2025-02-03T09:00:00Z", "ce-subject": "NPI-9", "ce-team": "npi",
        "Content-Type": "application/json", **auth("ingester"),
    }  # fmt: skip
    body = json.dumps({"activity": "Formulation", "cost": 3})
    response = await client.post("/events", content=body, headers=headers)
    assert response.status_code == 202, response.text
    rows = client.workspace.store.query(  # type: ignore[attr-defined]
        "PREFIX kgs: <https://w3id.org/kgsentinel#> SELECT ?id ?activity ?case WHERE { "
        "?e kgs:eventId ?id ; kgs:activity/<http://www.w3.org/2000/01/rdf-schema#label> "
        "?activity ; kgs:case/kgs:caseId ?case }"
    ).rows()
    assert rows == [{"id": "urn:plm b-1", "activity": "Formulation", "case": "NPI-9"}]
    team = client.workspace.store.query(  # type: ignore[attr-defined]
        "SELECT ?team WHERE { ?e <urn:kgsentinel:events:attr/ce.team> ?team }"
    ).rows()
    assert team == [{"team": "npi"}]


@pytest.mark.anyio
async def test_batch_mode_takes_an_array_and_says_which_were_duplicates(
    client: httpx.AsyncClient,
) -> None:
    headers = {"Content-Type": BATCH, **auth("ingester")}
    first = await client.post(
        "/events", content=json.dumps([event("1"), event("2")]), headers=headers
    )
    again = await client.post(
        "/events", content=json.dumps([event("2"), event("3")]), headers=headers
    )
    assert (first.status_code, again.status_code) == (202, 202)
    assert (first.json()["accepted"], first.json()["duplicates"]) == (2, 0)
    assert [e["status"] for e in again.json()["events"]] == ["duplicate", "accepted"]
    ids = stored_ids(client.workspace)  # type: ignore[attr-defined]
    assert ids == ["urn:plm 1", "urn:plm 2", "urn:plm 3"]


@pytest.mark.anyio
async def test_the_same_event_posted_twice_is_stored_once(client: httpx.AsyncClient) -> None:
    headers = {"Content-Type": STRUCTURED, **auth("ingester")}
    answers = [
        await client.post("/events", content=json.dumps(event("1")), headers=headers)
        for _ in range(2)
    ]
    assert [a.status_code for a in answers] == [202, 202]
    assert [a.json()["events"][0]["status"] for a in answers] == ["accepted", "duplicate"]
    triples = client.workspace.store.query(  # type: ignore[attr-defined]
        "SELECT (COUNT(*) AS ?n) WHERE { GRAPH <urn:kgsentinel:graph:events> "
        "{ ?s <https://w3id.org/kgsentinel#timestamp> ?t } }"
    ).scalar()
    assert int(triples) == 1


@pytest.mark.anyio
async def test_a_bad_batch_is_refused_whole_naming_index_and_field(
    workspace: Path, client: httpx.AsyncClient
) -> None:
    batch = [event("1"), event("2", time="not a time"), event("3", specversion=None)]
    response = await client.post(
        "/events", content=json.dumps(batch), headers={"Content-Type": BATCH, **auth("ingester")}
    )
    assert response.status_code == 400
    answer = response.json()
    assert [(r["index"], r["field"]) for r in answer["rejected"]] == [
        (1, "time"),
        (2, "specversion"),
    ]
    assert answer["request_id"] == response.headers["x-request-id"]
    assert "event 1, time" in answer["error"]
    assert stored_ids(client.workspace) == []  # type: ignore[attr-defined]
    assert [(r["row"], r["field"]) for r in rejects(workspace)] == [
        ("1", "time"),
        ("2", "specversion"),
    ]


@pytest.mark.parametrize(
    ("content_type", "body", "field"),
    [
        (STRUCTURED, b"{not json", "body"),
        (BATCH, b'{"id": "1"}', "body"),
        ("application/json", b'{"activity": "Brief"}', "ce-specversion"),
    ],
)
@pytest.mark.anyio
async def test_an_unreadable_request_is_a_400_naming_what_to_send(
    workspace: Path, client: httpx.AsyncClient, content_type: str, body: bytes, field: str
) -> None:
    headers = {"Content-Type": content_type, **auth("ingester")}
    response = await client.post("/events", content=body, headers=headers)
    assert response.status_code == 400
    assert response.json()["rejected"][0]["field"] == field
    assert rejects(workspace)[-1]["field"] == field


@pytest.mark.anyio
async def test_posting_needs_an_ingester_token(client: httpx.AsyncClient) -> None:
    body, kind = json.dumps(event("1")), {"Content-Type": STRUCTURED}
    anonymous = await client.post("/events", content=body, headers=kind)
    reader = await client.post("/events", content=body, headers={**kind, **auth("reader")})
    operator = await client.post("/events", content=body, headers={**kind, **auth("operator")})
    assert (anonymous.status_code, reader.status_code, operator.status_code) == (401, 403, 202)
    assert "error" in anonymous.json()
    assert "ingester" in reader.json()["error"]


@pytest.mark.anyio
async def test_a_batch_over_max_batch_is_refused(workspace: Path) -> None:
    from kgsentinel.api.app import create_app

    configure_api(workspace, "[events]", "max_batch = 2")
    with open_workspace(workspace) as ws:
        async with api_client(create_app(ws)) as client:
            batch = json.dumps([event("1"), event("2"), event("3")])
            response = await client.post(
                "/events", content=batch, headers={"Content-Type": BATCH, **auth("ingester")}
            )
            assert response.status_code == 413
            assert "max_batch 2" in response.json()["error"]
            assert stored_ids(ws) == []


@pytest.mark.anyio
async def test_events_are_counted_in_metrics(client: httpx.AsyncClient) -> None:
    from kgsentinel.api.events import EVENTS

    before = {o: EVENTS.labels(o)._value.get() for o in ("accepted", "duplicate", "rejected")}
    headers = {"Content-Type": BATCH, **auth("ingester")}
    await client.post("/events", content=json.dumps([event("1"), event("1")]), headers=headers)
    await client.post("/events", content=json.dumps([event("2", time="x")]), headers=headers)
    text = (await client.get("/metrics", headers=auth("reader"))).text
    for outcome, more in (("accepted", 1), ("duplicate", 1), ("rejected", 1)):
        line = f'kgsentinel_events_total{{outcome="{outcome}"}} {before[outcome] + more}'
        assert line in text


def test_events_are_on_disk_when_202_is_answered(workspace: Path) -> None:
    """A process that answers 202 and then dies at once (no close, no flush) lost nothing."""
    configure_api(workspace)
    script = textwrap.dedent(
        f"""
        import asyncio, json, os, httpx
        from kgsentinel.api.app import create_app
        from kgsentinel.workspace import open_workspace

        async def main():
            app = create_app(open_workspace({str(workspace)!r}))
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                answer = await client.post("/events", content={json.dumps(json.dumps(event("1")))},
                    headers={{"Content-Type": {STRUCTURED!r}, "Authorization": "Bearer kgs_i"}})
            print(answer.status_code, flush=True)
            os._exit(0)

        asyncio.run(main())
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, check=False)  # fmt: skip
    assert done.stdout.strip() == "202", done.stderr
    with open_workspace(workspace) as ws:
        assert stored_ids(ws) == ["urn:plm 1"]


@pytest.mark.anyio
async def test_events_on_a_remote_store_are_kept_once(
    workspace: Path, oxigraph_server: Any
) -> None:
    from kgsentinel.api.app import create_app

    oxigraph_server.clear()
    configure_api(workspace)
    env = {"KGSENTINEL_STORE_URL": oxigraph_server.query_url}
    with open_workspace(workspace, env=env) as ws:
        assert ws.config.store.backend == "sparql"
        async with api_client(create_app(ws)) as client:
            headers = {"Content-Type": BATCH, **auth("ingester")}
            batch = json.dumps([event("1"), event("2")])
            answers = [await client.post("/events", content=batch, headers=headers)
                       for _ in range(2)]  # fmt: skip
        assert [a.status_code for a in answers] == [202, 202]
        assert [a.json()["duplicates"] for a in answers] == [0, 2]
        assert stored_ids(ws) == ["urn:plm 1", "urn:plm 2"]
