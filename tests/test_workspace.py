"""Workspaces: creation, discovery, the default store, and one writer per embedded store."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from kgsentinel.errors import StoreLockedError, WorkspaceError
from kgsentinel.graph.embedded import EmbeddedStore
from kgsentinel.workspace import find_workspace, init_workspace, open_workspace


def test_init_makes_a_dbt_like_workspace(tmp_path: Path) -> None:
    root = init_workspace(tmp_path / "npi")
    expected = {"kgsentinel.toml", "mappings", "rules", "data", "notebooks", ".gitignore"}
    assert expected <= {p.name for p in root.iterdir()}
    assert (root / ".kgsentinel").is_dir()
    assert ".kgsentinel/" in (root / ".gitignore").read_text().splitlines()
    with open_workspace(root) as ws:
        assert ws.config.project.name == "npi"
        assert ws.store_location == str(root / ".kgsentinel" / "store")


def test_init_keeps_an_existing_gitignore_and_refuses_a_second_time(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("*.pyc")
    init_workspace(tmp_path)
    assert (tmp_path / ".gitignore").read_text().splitlines()[0] == "*.pyc"
    assert ".kgsentinel/" in (tmp_path / ".gitignore").read_text().splitlines()
    with pytest.raises(WorkspaceError, match="already a workspace"):
        init_workspace(tmp_path)


def test_commands_find_the_workspace_by_walking_up(workspace: Path, monkeypatch) -> None:
    deep = workspace / "data" / "raw"
    deep.mkdir()
    monkeypatch.chdir(deep)
    assert find_workspace() == workspace
    with open_workspace() as ws:
        assert ws.root == workspace


def test_without_a_workspace_the_default_store_is_used(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    home = tmp_path / "home"
    with open_workspace(env={"KGSENTINEL_HOME": str(home)}) as ws:
        assert ws.root is None
        assert ws.store_location == str(home / "store")
        ws.store.load(b"<urn:x:a> <urn:x:p> 1 .", format="turtle", graph="g")
    with open_workspace(env={"KGSENTINEL_HOME": str(home)}) as ws:
        assert [g.name for g in ws.store.graphs()] == ["g"]


def test_a_folder_that_is_not_a_workspace_is_refused(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match=r"not a kgsentinel workspace.*kgsentinel init"):
        open_workspace(tmp_path)


def test_relative_store_paths_follow_the_workspace(tmp_path: Path) -> None:
    root = init_workspace(tmp_path / "w")
    config = (root / "kgsentinel.toml").read_text()
    (root / "kgsentinel.toml").write_text(config.replace(".kgsentinel/store", "graphdb"))
    with open_workspace(root) as ws:
        assert ws.store_location == str(root / "graphdb")


HOLDER = textwrap.dedent(
    """
    import sys, time
    from kgsentinel.graph.embedded import EmbeddedStore
    store = EmbeddedStore(sys.argv[1])
    print("ready", flush=True)
    sys.stdin.readline()
    store.close()
    """
)


def test_a_second_process_is_told_who_holds_the_store(tmp_path: Path) -> None:
    path = tmp_path / "store"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(StoreLockedError) as caught:
            EmbeddedStore(path)
        message = str(caught.value)
        assert f"in use by process {holder.pid}" in message
        assert "stop it" in message
        assert "\n" not in message
    finally:
        holder.communicate("\n", timeout=30)
    reopened = EmbeddedStore(path)
    reopened.close()


def test_a_store_open_in_another_program_is_reported(tmp_path: Path) -> None:
    import pyoxigraph

    path = tmp_path / "store"
    path.mkdir()
    foreign = pyoxigraph.Store(str(path))  # holds RocksDB's lock, not ours
    with pytest.raises(StoreLockedError, match="open in another program"):
        EmbeddedStore(path)
    del foreign
