"""API security: token roles, anonymous reads, hashed tokens, limits, errors, CORS."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from api_client import api_client
from fastapi import APIRouter, Depends
from typer.testing import CliRunner

from kgsentinel.api.app import create_app
from kgsentinel.api.config import ApiConfig
from kgsentinel.api.security import Principal, TokenRegistry, hash_token, new_token, require
from kgsentinel.config import Config
from kgsentinel.errors import ConfigError
from kgsentinel.graph.embedded import EmbeddedStore
from kgsentinel.workspace import Workspace

TOKENS = {"reader": "kgs_r", "ingester": "kgs_i", "operator": "kgs_o", "admin": "kgs_a"}


def make_workspace(tmp_path: Path, **api: object) -> Workspace:
    workspace = Workspace(root=None, config=Config(api=api), home=tmp_path, env={})
    workspace.__dict__["store"] = EmbeddedStore()
    return workspace


def probe_routes() -> APIRouter:
    probe = APIRouter()
    for role in ("reader", "ingester", "operator", "admin"):

        @probe.get(f"/probe/{role}")
        async def who(principal: Principal = Depends(require(role))) -> dict[str, str]:  # noqa: B008
            return {"name": principal.name, "role": principal.role}

    @probe.get("/probe/boom")
    async def boom() -> None:
        raise RuntimeError("secret=hunter2 in a stack frame")

    @probe.post("/probe/echo")
    async def echo(body: dict[str, str]) -> dict[str, str]:
        return body

    return probe


pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    tokens = {name: {"role": name, "hash": hash_token(token)} for name, token in TOKENS.items()}
    workspace = make_workspace(tmp_path, tokens=tokens, anonymous_read=False, max_body_bytes=100)
    app = create_app(workspace)
    app.include_router(probe_routes())
    async with api_client(app) as test_client:
        yield test_client
    workspace.close()


def bearer(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[role]}"}


@pytest.mark.parametrize(
    ("token", "route", "status"),
    [
        ("reader", "reader", 200),
        ("reader", "ingester", 403),
        ("ingester", "ingester", 200),
        ("ingester", "operator", 403),
        ("operator", "operator", 200),
        ("operator", "admin", 403),
        ("admin", "admin", 200),
        ("admin", "reader", 200),
    ],
)
async def test_each_role_may_do_what_the_roles_below_it_may(
    client: httpx.AsyncClient, token: str, route: str, status: int
) -> None:
    response = await client.get(f"/probe/{route}", headers=bearer(token))
    assert response.status_code == status
    if status == 200:
        assert response.json() == {"name": token, "role": token}
    else:
        assert f"needs {route} or above" in response.json()["error"]


async def test_without_a_token_nothing_is_allowed_when_anonymous_read_is_off(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/probe/reader")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_an_unknown_token_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.get("/probe/reader", headers={"Authorization": "Bearer kgs_guess"})
    assert response.status_code == 401
    assert "not valid" in response.json()["error"]


async def test_basic_auth_carries_the_token_as_password(client: httpx.AsyncClient) -> None:
    response = await client.get("/probe/operator", auth=("anyone", TOKENS["operator"]))
    assert response.json() == {"name": "operator", "role": "operator"}


async def test_anonymous_read_allows_reading_and_never_writing(tmp_path: Path) -> None:
    app = create_app(make_workspace(tmp_path))
    app.include_router(probe_routes())
    async with api_client(app) as anonymous:
        reader = await anonymous.get("/probe/reader")
        assert reader.json() == {"name": "anonymous", "role": "reader"}
        assert (await anonymous.get("/probe/ingester")).status_code == 401


def test_a_token_from_the_environment_is_kept_only_as_its_hash() -> None:
    settings = ApiConfig.model_validate(
        {"tokens": {"ci": {"role": "operator", "token_env": "CI_TOKEN"}}}
    )
    registry = TokenRegistry(settings, {"CI_TOKEN": "kgs_from_env"})
    assert registry.identify("kgs_from_env") == Principal("ci", "operator")
    assert "kgs_from_env" not in repr(vars(registry))


def test_a_missing_token_variable_names_the_setting_and_the_fix() -> None:
    settings = ApiConfig.model_validate({"tokens": {"ci": {"token_env": "CI_TOKEN"}}})
    with pytest.raises(ConfigError, match=r"\[api.tokens.ci\] token_env: .*CI_TOKEN is not set"):
        TokenRegistry(settings, {})


def test_new_tokens_are_random_and_their_hash_identifies_them() -> None:
    (first, first_hash), (second, _) = new_token(), new_token()
    assert first != second
    assert first not in first_hash
    settings = ApiConfig.model_validate({"tokens": {"me": {"hash": first_hash}}})
    assert TokenRegistry(settings, {}).identify(first) == Principal("me", "reader")


def test_a_malformed_hash_is_refused_with_the_fix() -> None:
    with pytest.raises(ValueError, match="kgsentinel create-token"):
        ApiConfig.model_validate({"tokens": {"me": {"hash": "md5:abc"}}})


async def test_an_unexpected_error_answers_json_with_a_request_id_and_no_details(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    response = await client.get("/probe/boom", headers={"X-Request-ID": "req-42"})
    assert response.status_code == 500
    assert response.json() == {
        "error": "internal error (request id req-42)",
        "status": 500,
        "request_id": "req-42",
    }
    assert "hunter2" not in response.text
    logged = [r.getMessage() for r in caplog.records if r.name == "kgsentinel.api"]
    assert logged == ["request req-42 GET /probe/boom failed: RuntimeError"]


async def test_every_response_has_a_request_id(client: httpx.AsyncClient) -> None:
    assert len((await client.get("/healthz")).headers["X-Request-ID"]) == 16


async def test_a_body_over_the_limit_is_refused_with_413(client: httpx.AsyncClient) -> None:
    assert (await client.post("/probe/echo", json={"a": "b"})).json() == {"a": "b"}
    response = await client.post("/probe/echo", json={"a": "b" * 200})
    assert response.status_code == 413
    assert "max_body_bytes" in response.json()["error"]


async def test_a_streamed_body_over_the_limit_is_refused_with_413(
    client: httpx.AsyncClient,
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"a": "' + b"b" * 60
        yield b"b" * 60 + b'"}'

    response = await client.post(
        "/probe/echo", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413


async def test_cors_is_off_by_default_and_allows_the_configured_origins(tmp_path: Path) -> None:
    origin = {"Origin": "https://dash.example.com"}
    async with api_client(create_app(make_workspace(tmp_path))) as plain:
        answer = await plain.get("/healthz", headers=origin)
        assert "access-control-allow-origin" not in answer.headers
    allowed = make_workspace(tmp_path, cors_origins=["https://dash.example.com"])
    async with api_client(create_app(allowed)) as cors:
        answer = await cors.get("/healthz", headers=origin)
        assert answer.headers["access-control-allow-origin"] == "https://dash.example.com"
        other = await cors.get("/healthz", headers={"Origin": "https://evil.example.com"})
        assert "access-control-allow-origin" not in other.headers


def test_create_token_prints_it_once_and_the_lines_that_make_it_work(
    cli: CliRunner, workspace: Path
) -> None:
    from kgsentinel.cli.app import app
    from kgsentinel.workspace import open_workspace

    result = cli.invoke(app, ["create-token", "ci", "--role", "operator"])
    assert result.exit_code == 0, result.stderr
    token = result.stdout.strip()
    lines = result.stderr[result.stderr.index("[api.tokens.ci]") :]
    assert token not in lines
    (workspace / "kgsentinel.toml").write_text(lines, encoding="utf-8")
    with open_workspace(workspace) as opened:
        registry = TokenRegistry(opened.config.api, {})
    assert registry.identify(token) == Principal("ci", "operator")


def test_create_token_refuses_an_unknown_role(cli: CliRunner) -> None:
    from kgsentinel.cli.app import app

    result = cli.invoke(app, ["create-token", "ci", "--role", "root"])
    assert result.exit_code != 0
    assert "reader, ingester, operator, admin" in result.stderr
