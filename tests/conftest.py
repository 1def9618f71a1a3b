"""Shared fixtures: isolated environment, stores on both backends, workspaces, the CLI.

The fixture ladder: ``memory_store`` (fresh, in memory), ``store`` (the same
suite on the embedded on-disk store and on a real Oxigraph server),
``workspace`` (a fresh workspace on tmp_path, current folder inside it) and
``cli`` (Typer's runner, stdout and stderr apart).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kgsentinel.graph.embedded import EmbeddedStore
from kgsentinel.graph.store import GraphStore

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(autouse=True)
def _isolated_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """No test reads the user's settings or writes to their default store."""
    for name in list(os.environ):
        if name.startswith("KGSENTINEL_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("KGSENTINEL_HOME", str(tmp_path_factory.mktemp("home")))


def require_server(error: Exception) -> None:
    """A missing server fails under CI=true and skips elsewhere."""
    message = f"real server unavailable: {error}"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def oxigraph_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A real ``oxigraph serve`` on loopback for the whole session."""
    from servers import OxigraphServer

    server = OxigraphServer()
    try:
        server.start(tmp_path_factory.mktemp("oxigraph"))
    except Exception as exc:
        require_server(exc)
    yield server
    server.stop()


@pytest.fixture
def memory_store() -> Iterator[EmbeddedStore]:
    """A fresh in-memory embedded store."""
    store = EmbeddedStore()
    yield store
    store.close()


@pytest.fixture(params=["embedded", "remote"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[GraphStore]:
    """An empty store: embedded Oxigraph on disk, then a real Oxigraph server."""
    if request.param == "embedded":
        opened: GraphStore = EmbeddedStore(tmp_path / "store")
    else:
        from kgsentinel.graph.remote import RemoteStore

        server = request.getfixturevalue("oxigraph_server")
        server.clear()
        opened = RemoteStore(server.query_url)
    yield opened
    opened.close()


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh workspace on tmp_path; the current folder is inside it."""
    from kgsentinel.workspace import init_workspace

    root = init_workspace(tmp_path / "ws", name="test")
    monkeypatch.chdir(root)
    return root


@pytest.fixture
def cli() -> CliRunner:
    """Typer's runner; ``result.stdout`` and ``result.stderr`` are kept apart."""
    return CliRunner()
