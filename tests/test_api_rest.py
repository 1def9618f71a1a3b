"""REST: anomalies, predictions, detectors and sources over HTTP (in-process, real store)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pyoxigraph as ox
import pytest
from api_client import api_client
from test_api_events import auth, configure_api, event

from kgsentinel.detectors.anomalies import anomaly_quads
from kgsentinel.detectors.base import Evidence, Finding
from kgsentinel.graph.ontology import KGS
from kgsentinel.ingest.events import ingest_events
from kgsentinel.workspace import Workspace, open_workspace

T0 = dt.datetime(2025, 3, 1, 12, tzinfo=dt.UTC)
PREDICTIONS = ox.NamedNode("urn:kgsentinel:graph:predictions")
SETTINGS = [
    "[detectors.future]", 'kind = "sparql"', 'rule = "builtin:future-event"',
    "[sources.plm]", 'path = "data/plm.csv"',
]  # fmt: skip


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def findings() -> list[tuple[str, Finding, dt.datetime]]:
    """25 anomalies of two detectors; groups of three share a detection time."""
    made = []
    for number in range(25):
        detector = "durations" if number % 2 else "conformance"
        finding = Finding(
            kind="slow" if number % 2 else "skipped",
            subject=f"urn:kgsentinel:events:event/urn%3Aplm%20{number}",
            score=number / 25,
            explanation=f"finding {number}",
            key=str(number),
            labels={"team": "npi"},
            evidence=[Evidence(label="hours", expected=10.0, observed=20.0 + number)],
        )
        made.append((detector, finding, T0 + dt.timedelta(hours=number // 3)))
    return made


def write_anomalies(workspace: Workspace) -> None:
    quads = []
    for detector, finding, at in findings():
        quads += anomaly_quads(detector, finding, run="urn:kgsentinel:run:test", detected_at=at)
    workspace.store.add(quads)


def write_predictions(workspace: Workspace, cases: int = 12) -> None:
    """``cases`` predictions of outcome late-launch, case NPI-n likely n / cases."""
    from kgsentinel.graph.terms import to_term

    rdf_type = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
    quads = []
    for number in range(cases):
        iri = f"urn:kgsentinel:prediction:late-launch/outcome/{number:04d}"
        case = ox.NamedNode(f"urn:kgsentinel:events:case/NPI-{number}")
        values = {
            rdf_type: ox.NamedNode(KGS + "Prediction"),
            KGS + "subject": case,
            KGS + "detector": ox.NamedNode("urn:kgsentinel:detector:late-launch"),
            KGS + "target": ox.NamedNode("urn:kgsentinel:target:late-launch"),
            KGS + "probability": to_term(number / cases),
            KGS + "explanation": ox.Literal(f"Case NPI-{number}"),
            KGS + "predictedAt": to_term(T0),
        }
        quads += [ox.Quad(ox.NamedNode(iri), ox.NamedNode(p), v, PREDICTIONS)
                  for p, v in values.items()]  # fmt: skip
        quads.append(ox.Quad(case, ox.NamedNode(KGS + "caseId"), ox.Literal(f"NPI-{number}"),
                             PREDICTIONS))  # fmt: skip
    workspace.store.add(quads)


@pytest.fixture
async def client(workspace: Path) -> AsyncIterator[httpx.AsyncClient]:
    from kgsentinel.api.app import create_app

    configure_api(workspace, *SETTINGS)
    (workspace / "data" / "plm.csv").write_text("sku,name\nP-1,Rose serum\nP-2,Iris\n")
    (workspace / "mappings" / "plm.yaml").write_text(
        "entities: [{class: kgs:Object, iri: 'product/{sku}', properties: {rdfs:label: name}}]"
    )
    with open_workspace(workspace) as ws:
        write_anomalies(ws)
        write_predictions(ws)
        async with api_client(create_app(ws)) as test_client:
            test_client.workspace = ws  # type: ignore[attr-defined]
            yield test_client


async def every_page(client: httpx.AsyncClient, url: str) -> list[list[dict[str, Any]]]:
    pages = []
    while url:
        response = await client.get(url, headers=auth("reader"))
        assert response.status_code == 200, response.text
        pages.append(response.json()["items"])
        url = response.json()["next"]
    return pages


# -- anomalies -------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_paging_anomalies_covers_each_once_newest_first(client: httpx.AsyncClient) -> None:
    pages = await every_page(client, "/anomalies?limit=4")
    rows = [row for chunk in pages for row in chunk]
    assert [len(chunk) for chunk in pages] == [4, 4, 4, 4, 4, 4, 1]
    assert sorted(row["explanation"] for row in rows) == sorted(f"finding {n}" for n in range(25))
    times = [row["detected_at"] for row in rows]
    assert times == sorted(times, reverse=True)


@pytest.mark.anyio
async def test_paging_is_not_shifted_by_an_anomaly_found_meanwhile(
    client: httpx.AsyncClient,
) -> None:
    first = (await client.get("/anomalies?limit=5", headers=auth("reader"))).json()
    newest = Finding(kind="slow", subject="urn:x:late", score=0.5, explanation="found meanwhile")
    client.workspace.store.add(  # type: ignore[attr-defined]
        anomaly_quads(
            "durations", newest, run="urn:kgsentinel:run:t", detected_at=T0 + dt.timedelta(days=3)
        )
    )
    rest = await every_page(client, first["next"])
    seen = [row["explanation"] for row in first["items"]] + [
        row["explanation"] for chunk in rest for row in chunk
    ]
    assert len(seen) == len(set(seen)) == 25


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("detector=durations", {n for n in range(25) if n % 2}),
        ("kind=skipped", {n for n in range(25) if not n % 2}),
        ("min_score=0.8", {n for n in range(25) if n / 25 >= 0.8}),
        ("since=2025-03-01T19:00:00Z", {n for n in range(25) if n // 3 >= 7}),
        ("detector=durations&min_score=0.5", {n for n in range(25) if n % 2 and n >= 12.5}),
    ],
)
@pytest.mark.anyio
async def test_anomaly_filters(client: httpx.AsyncClient, query: str, expected: set[int]) -> None:
    pages = await every_page(client, f"/anomalies?{query}&limit=3")
    found = {int(row["explanation"].split()[-1]) for chunk in pages for row in chunk}
    assert found == expected


@pytest.mark.anyio
async def test_anomalies_of_a_case(client: httpx.AsyncClient) -> None:
    ingest_events(client.workspace, [event("3", subject="NPI-42")])  # type: ignore[attr-defined]
    response = await client.get("/anomalies?case_id=NPI-42", headers=auth("reader"))
    [row] = response.json()["items"]
    assert (row["explanation"], row["case_id"], row["event_id"]) == (
        "finding 3", "NPI-42", "urn:plm 3",
    )  # fmt: skip


@pytest.mark.anyio
async def test_one_anomaly_with_its_evidence(client: httpx.AsyncClient) -> None:
    listed = (await client.get("/anomalies?limit=1", headers=auth("reader"))).json()["items"][0]
    response = await client.get(f"/anomalies/{listed['id']}", headers=auth("reader"))
    assert response.status_code == 200
    anomaly = response.json()
    assert anomaly["explanation"] == listed["explanation"] == "finding 24"
    assert anomaly["labels"] == {"team": "npi"}
    assert anomaly["evidence"] == [{"label": "hours", "expected": 10.0, "observed": 44.0}]


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/anomalies/" + "0" * 40, 404),
        ("/anomalies/not-an-id", 422),
        ("/anomalies?kind=nope", 422),
        ("/anomalies?min_score=high", 422),
        ("/anomalies?since=yesterday", 422),
        ("/anomalies?limit=0", 422),
        ("/anomalies?limit=100000", 422),
        ("/anomalies?cursor=garbage", 422),
        ("/predictions?min_probability=2", 422),
        ("/predictions?target=cost", 422),
        ("/predictions?cursor=WyJhIiwiYiJd", 422),
    ],
)
@pytest.mark.anyio
async def test_bad_ids_and_filters_are_json_errors(
    client: httpx.AsyncClient, url: str, status: int
) -> None:
    response = await client.get(url, headers=auth("reader"))
    assert response.status_code == status
    body = response.json()
    assert set(body) == {"error", "status", "request_id"}
    assert "Traceback" not in body["error"]


@pytest.mark.parametrize("url", ['/anomalies?detector=a"b c', '/predictions?outcome=<x> "y"'])
@pytest.mark.anyio
async def test_a_name_no_iri_can_hold_finds_nothing(client: httpx.AsyncClient, url: str) -> None:
    response = await client.get(url, headers=auth("reader"))
    assert response.status_code == 200
    assert response.json()["items"] == []


# -- predictions -----------------------------------------------------------------------------


@pytest.mark.anyio
async def test_paging_predictions_covers_each_once(client: httpx.AsyncClient) -> None:
    pages = await every_page(client, "/predictions?limit=5")
    ids = [row["id"] for chunk in pages for row in chunk]
    assert [len(chunk) for chunk in pages] == [5, 5, 2]
    assert ids == sorted(set(ids))
    assert len(ids) == 12


@pytest.mark.anyio
async def test_prediction_filters(client: httpx.AsyncClient) -> None:
    likely = (await client.get("/predictions?min_probability=0.75", headers=auth("reader"))).json()
    assert sorted(row["case_id"] for row in likely["items"]) == ["NPI-10", "NPI-11", "NPI-9"]
    [case] = (await client.get("/predictions?case_id=NPI-4", headers=auth("reader"))).json()[
        "items"
    ]
    assert (case["outcome"], case["target"], case["probability"]) == (
        "late-launch", "outcome", pytest.approx(4 / 12),
    )  # fmt: skip
    other = await client.get("/predictions?outcome=other", headers=auth("reader"))
    remaining = await client.get("/predictions?target=remaining-time", headers=auth("reader"))
    assert other.json()["items"] == remaining.json()["items"] == []


# -- detectors and sources -------------------------------------------------------------------


@pytest.mark.anyio
async def test_run_a_detector_now_and_see_its_last_run(client: httpx.AsyncClient) -> None:
    from kgsentinel.api.metrics import DETECTOR_RUNS

    before = DETECTOR_RUNS.labels("future", "ok")._value.get()
    ingest_events(client.workspace, [event("9", time="2999-01-01T00:00:00Z")])  # type: ignore[attr-defined]
    response = await client.post("/detectors/future/run", headers=auth("operator"))
    assert response.status_code == 200, response.text
    assert (response.json()["detector"], response.json()["new"]) == ("future", 1)
    listed = (await client.get("/detectors", headers=auth("reader"))).json()["items"]
    future = next(row for row in listed if row["detector"] == "future")
    assert (future["found"], future["anomalies"]) == (1, 1)
    assert future["last_run"] is not None
    found = (await client.get("/anomalies?detector=future", headers=auth("reader"))).json()
    assert [row["event_id"] for row in found["items"]] == ["urn:plm 9"]
    assert DETECTOR_RUNS.labels("future", "ok")._value.get() == before + 1


@pytest.mark.anyio
async def test_ingest_a_source_now_and_see_its_last_run(client: httpx.AsyncClient) -> None:
    response = await client.post("/sources/plm/ingest", headers=auth("ingester"))
    assert response.status_code == 200, response.text
    assert (response.json()["rows_read"], response.json()["rows_loaded"]) == (2, 2)
    listed = (await client.get("/sources", headers=auth("reader"))).json()["items"]
    assert [(row["source"], row["loaded"]) for row in listed] == [("plm", 2)]
    text = (await client.get("/metrics")).text
    assert 'kgsentinel_ingest_runs_total{outcome="ok",source="plm"}' in text


@pytest.mark.parametrize("url", ["/detectors/nope/run", "/sources/nope/ingest"])
@pytest.mark.anyio
async def test_running_an_unknown_name_is_404(client: httpx.AsyncClient, url: str) -> None:
    response = await client.post(url, headers=auth("admin"))
    assert response.status_code == 404
    assert "nope" in response.json()["error"]


# -- access ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url", "weak", "strong", "status"),
    [
        ("GET", "/anomalies", None, "reader", 200),
        ("GET", "/anomalies/" + "0" * 40, None, "reader", 404),
        ("GET", "/predictions", None, "reader", 200),
        ("GET", "/detectors", None, "reader", 200),
        ("GET", "/sources", None, "reader", 200),
        ("POST", "/detectors/future/run", "ingester", "operator", 200),
        ("POST", "/sources/plm/ingest", "reader", "ingester", 200),
    ],
)
@pytest.mark.anyio
async def test_each_route_needs_its_role(
    client: httpx.AsyncClient, method: str, url: str, weak: str | None, strong: str, status: int
) -> None:
    anonymous = await client.request(method, url)
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    if weak is not None:
        assert (await client.request(method, url, headers=auth(weak))).status_code == 403
    allowed = await client.request(method, url, headers=auth(strong))
    assert allowed.status_code == status


# -- alerts ----------------------------------------------------------------------------------


@pytest.fixture
async def alerting(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """The client, with an alert firing for each anomaly."""
    from kgsentinel.alerts import process

    assert process(client.workspace).raised == 25  # type: ignore[attr-defined]
    return client


async def alert_ids(client: httpx.AsyncClient, query: str = "") -> list[str]:
    pages = await every_page(client, f"/alerts?limit=7{query}")
    return [row["id"] for chunk in pages for row in chunk]


@pytest.mark.anyio
async def test_paging_alerts_covers_each_once(alerting: httpx.AsyncClient) -> None:
    ids = await alert_ids(alerting)
    assert len(ids) == len(set(ids)) == 25
    assert await alert_ids(alerting, "&state=firing") == ids
    assert await alert_ids(alerting, "&state=acknowledged") == []
    durations = await alert_ids(alerting, "&detector=durations&kind=slow")
    assert len(durations) == 12


@pytest.mark.anyio
async def test_acknowledge_and_resolve_an_alert(alerting: httpx.AsyncClient) -> None:
    from kgsentinel.alerts import alert_history

    first = (await alert_ids(alerting))[0]
    ack = await alerting.post(
        f"/alerts/{first}/ack", json={"comment": "on it"}, headers=auth("operator")
    )
    assert (ack.status_code, ack.json()["state"]) == (200, "acknowledged")
    assert await alert_ids(alerting, "&state=acknowledged") == [first]
    resolved = await alerting.post(f"/alerts/{first}/resolve", headers=auth("operator"))
    assert resolved.json()["state"] == "resolved"
    again = await alerting.post(f"/alerts/{first}/ack", headers=auth("operator"))
    assert again.status_code == 409
    assert "resolved" in again.json()["error"]
    history = alert_history(alerting.workspace.store, first)  # type: ignore[attr-defined]
    assert list(history["to"].iloc[-2:]) == ["acknowledged", "resolved"]
    assert set(history["by"].iloc[-2:]) == {"operator"}


@pytest.mark.anyio
async def test_silence_matching_alerts(alerting: httpx.AsyncClient) -> None:
    from kgsentinel.alerts import process

    made = await alerting.post(
        "/silences", json={"matchers": ["kind=slow"], "duration": "2h", "comment": "release"},
        headers=auth("operator"),
    )  # fmt: skip
    assert made.status_code == 201, made.text
    assert (made.json()["matchers"], made.json()["by"]) == (['kind="slow"'], "operator")
    listed = (await alerting.get("/silences", headers=auth("reader"))).json()["items"]
    assert [s["id"] for s in listed] == [made.json()["id"]]
    process(alerting.workspace)  # type: ignore[attr-defined]
    assert len(await alert_ids(alerting, "&state=silenced")) == 12


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"matchers": ["kind=~("], "duration": "2h"}, 400),
        ({"matchers": ["kind=slow"]}, 400),
        ({"matchers": ["kind=slow"], "duration": "soon"}, 400),
        ({"matchers": [], "duration": "2h"}, 422),
        ({"matcher": "kind=slow"}, 422),
    ],
)
@pytest.mark.anyio
async def test_a_bad_silence_is_refused(
    alerting: httpx.AsyncClient, body: dict[str, Any], status: int
) -> None:
    response = await alerting.post("/silences", json=body, headers=auth("operator"))
    assert response.status_code == status
    assert response.json()["error"]


@pytest.mark.parametrize(("url", "status"), [("/alerts/abcdef123456/ack", 404),
                                             ("/alerts/NOT-AN-ID/resolve", 422)])  # fmt: skip
@pytest.mark.anyio
async def test_changing_an_unknown_alert(
    alerting: httpx.AsyncClient, url: str, status: int
) -> None:
    response = await alerting.post(url, headers=auth("operator"))
    assert response.status_code == status


@pytest.mark.anyio
async def test_changing_alerts_needs_an_operator(alerting: httpx.AsyncClient) -> None:
    first = (await alert_ids(alerting))[0]
    for url, body in ((f"/alerts/{first}/ack", None), (f"/alerts/{first}/resolve", None),
                      ("/silences", {"matchers": ["kind=slow"], "duration": "1h"})):  # fmt: skip
        assert (await alerting.post(url, json=body)).status_code == 401
        assert (await alerting.post(url, json=body, headers=auth("ingester"))).status_code == 403
    assert (await alerting.get("/alerts")).status_code == 401
    assert await alert_ids(alerting, "&state=firing") == await alert_ids(alerting)


def test_docs_name_every_events_and_rest_route() -> None:
    from kgsentinel.api import events, rest, rest_alerts

    text = (Path(__file__).parents[1] / "docs" / "rest.md").read_text(encoding="utf-8")
    for module in (events, rest, rest_alerts):
        for route in module.router.routes:
            for method in route.methods:  # type: ignore[attr-defined]
                shown = route.path.replace("{name:path}", "{name}")  # type: ignore[attr-defined]
                assert f"{method} {shown}" in text, f"{method} {shown}"
