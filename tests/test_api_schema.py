"""schemathesis against the app's OpenAPI spec: no generated request gets a 5xx.

Every operation is called with requests generated from its schema, once with
an admin token (so each reaches its handler) and once without any (so the
security layer answers). The store holds anomalies, predictions and events,
so reads return data. A few generated examples per operation (schemathesis'
coverage phase, hundreds of boundary cases, is left out) keep the run short.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from test_api_events import BATCH, STRUCTURED, auth, configure_api, event
from test_api_rest import SETTINGS, write_anomalies, write_predictions

from kgsentinel.ingest.events import ingest_events
from kgsentinel.workspace import init_workspace, open_workspace

EXAMPLES = 6


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[schemathesis.BaseSchema]:
    from kgsentinel.api.app import create_app

    root = init_workspace(tmp_path_factory.mktemp("schema") / "ws")
    configure_api(root, *SETTINGS)
    (root / "data" / "plm.csv").write_text("sku,name\nP-1,Rose serum\n", encoding="utf-8")
    (root / "mappings" / "plm.yaml").write_text(
        "entities: [{class: kgs:Object, iri: 'product/{sku}', properties: {rdfs:label: name}}]",
        encoding="utf-8",
    )
    with open_workspace(root) as workspace:
        write_anomalies(workspace)
        write_predictions(workspace)
        ingest_events(workspace, [event("1"), event("2", subject="NPI-8")])
        config = schemathesis.Config.from_dict({"phases": {"coverage": {"enabled": False}}})
        yield schemathesis.openapi.from_asgi("/openapi.json", create_app(workspace), config=config)


@schemathesis.serializer("application/sparql-query", "application/sparql-update")
def _sparql_text(context: object, value: object) -> bytes:
    """SPARQL bodies are text: generated strings as they are, anything else as JSON."""
    return value.encode("utf-8") if isinstance(value, str) else json.dumps(value).encode("utf-8")


schemathesis.serializer.alias([STRUCTURED, BATCH], "application/json")
schema = schemathesis.pytest.from_fixture("api_schema")
budget = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)


@schema.parametrize()
@budget
def test_no_server_error_with_a_token(case: schemathesis.Case) -> None:
    response = case.call(headers=auth("admin"))
    case.validate_response(response, checks=[not_a_server_error])


@schema.parametrize()
@budget
def test_no_server_error_without_a_token(case: schemathesis.Case) -> None:
    response = case.call()
    case.validate_response(response, checks=[not_a_server_error])
