"""Workspaces: a folder with ``kgsentinel.toml``, its sources and rules, and its state.

A workspace looks like a dbt project::

    kgsentinel.toml   settings (``kgsentinel init`` writes it, every setting explained)
    mappings/         how sources become graph data
    rules/            SPARQL rules and SHACL shapes
    data/             source files
    notebooks/        analysts' notebooks
    .kgsentinel/      state: the embedded store, job store, outbox (not in git)

Commands find the workspace by walking up from the current folder. Outside any
workspace they use the default workspace in ``$KGSENTINEL_HOME`` (by default
``~/.local/share/kgsentinel``) and say so.

Example:
    >>> import tempfile, pathlib
    >>> root = init_workspace(pathlib.Path(tempfile.mkdtemp()) / "npi")
    >>> with open_workspace(root) as ws:
    ...     ws.config.project.name, ws.store.query("ASK { ?s ?p ?o }").boolean
    ('npi', False)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from kgsentinel.config import CONFIG_FILE, Config, load_config
from kgsentinel.errors import WorkspaceError
from kgsentinel.graph.store import GraphStore

__all__ = [
    "STATE_DIR",
    "Workspace",
    "default_home",
    "find_workspace",
    "init_workspace",
    "open_workspace",
]

STATE_DIR = ".kgsentinel"

_FOLDERS = {
    "mappings": "Mappings: one YAML file per source, saying how its rows become graph data.\n",
    "rules": "Rules: SPARQL rules (*.rq) and SHACL shapes (*.shacl.ttl); each result is an "
    "anomaly.\n",
    "data": "Source files (CSV, JSON, Parquet, XES, OCEL 2.0, RDF) for this workspace.\n",
    "notebooks": "Notebooks for analysts: SPARQL into pandas, anomaly triage, predictions.\n",
}
_GITIGNORE = f"# kgsentinel state: the embedded store, job store and outbox\n{STATE_DIR}/\n"


@dataclass
class Workspace:
    """An opened workspace: its folder, settings and graph store.

    ``root`` is ``None`` for the default workspace used outside any project.
    """

    root: Path | None
    config: Config
    home: Path
    env: Mapping[str, str] = field(default_factory=dict, repr=False)

    @property
    def config_path(self) -> Path | None:
        """The ``kgsentinel.toml`` of this workspace, if it has one."""
        return self.root / CONFIG_FILE if self.root else None

    @property
    def state_dir(self) -> Path:
        """Where state lives: ``.kgsentinel/`` in the workspace, or the default home."""
        return self.root / STATE_DIR if self.root else self.home

    @property
    def store_location(self) -> str:
        """The store's folder or endpoint URL, for messages."""
        settings = self.config.store
        if settings.backend == "sparql":
            return str(settings.query_url)
        return str(self._store_path())

    def _store_path(self) -> Path:
        path = Path(self.config.store.path).expanduser()
        if path.is_absolute():
            return path
        if self.root is None:
            return self.home / "store"
        return self.root / path

    @cached_property
    def store(self) -> GraphStore:
        """The graph store, opened on first use (embedded on disk, or a remote endpoint)."""
        settings = self.config.store
        if settings.backend == "sparql":
            from kgsentinel.graph.remote import RemoteStore

            return RemoteStore(
                str(settings.query_url),
                update_url=settings.update_url,
                gsp_url=settings.gsp_url,
                token=self.env.get(settings.token_env) or None,
                username=self.env.get(settings.username_env) or None,
                password=self.env.get(settings.password_env) or None,
                union=settings.union,
                timeout=settings.timeout,
            )
        from kgsentinel.graph.embedded import EmbeddedStore

        return EmbeddedStore(self._store_path())

    def close(self) -> None:
        """Close the store if it was opened."""
        store = self.__dict__.pop("store", None)
        if store is not None:
            store.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def default_home(env: Mapping[str, str] | None = None) -> Path:
    """The folder of the default workspace: ``$KGSENTINEL_HOME``, else the XDG data folder.

    Example:
        >>> default_home({"KGSENTINEL_HOME": "/srv/kg"})
        PosixPath('/srv/kg')
    """
    env = os.environ if env is None else env
    if env.get("KGSENTINEL_HOME"):
        return Path(env["KGSENTINEL_HOME"]).expanduser()
    data_home = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "kgsentinel"


def find_workspace(start: Path | None = None) -> Path | None:
    """The nearest folder at or above ``start`` holding ``kgsentinel.toml``, if any."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_FILE).is_file():
            return folder
    return None


def open_workspace(
    path: str | Path | None = None, *, env: Mapping[str, str] | None = None
) -> Workspace:
    """Open the workspace at ``path`` (a folder or its ``kgsentinel.toml``).

    Without ``path``, walk up from the current folder; with no workspace found,
    open the default workspace (see :func:`default_home`).
    """
    env = dict(os.environ if env is None else env)
    root = _resolve_root(Path(path)) if path is not None else find_workspace()
    config = load_config(root / CONFIG_FILE if root else None, env)
    return Workspace(root=root, config=config, home=default_home(env), env=env)


def _resolve_root(path: Path) -> Path:
    path = path.expanduser().resolve()
    if path.is_file() and path.name == CONFIG_FILE:
        return path.parent
    if (path / CONFIG_FILE).is_file():
        return path
    raise WorkspaceError(
        f"{path} is not a kgsentinel workspace (no {CONFIG_FILE}); "
        f"run `kgsentinel init {path}` to make one"
    )


def init_workspace(path: str | Path = ".", *, name: str | None = None) -> Path:
    """Create a workspace at ``path``: settings, folders, ``.gitignore`` and state folder.

    Refuses to touch a folder that already has a ``kgsentinel.toml``.
    """
    from kgsentinel.config import config_template

    root = Path(path).expanduser().resolve()
    if (root / CONFIG_FILE).exists():
        raise WorkspaceError(f"{root} is already a workspace ({CONFIG_FILE} exists); nothing done")
    try:
        root.mkdir(parents=True, exist_ok=True)
        for folder, readme in _FOLDERS.items():
            (root / folder).mkdir(exist_ok=True)
            _write_new(root / folder / "README.md", readme)
        (root / STATE_DIR).mkdir(exist_ok=True)
        _ignore_state(root / ".gitignore")
        (root / CONFIG_FILE).write_text(config_template(name or root.name), encoding="utf-8")
    except OSError as exc:
        raise WorkspaceError(f"cannot create a workspace at {root}: {exc.strerror}") from exc
    return root


def _ignore_state(gitignore: Path) -> None:
    existing = gitignore.read_text(encoding="utf-8") if gitignore.exists() else ""
    if f"{STATE_DIR}/" not in existing.splitlines():
        separator = "\n" if existing and not existing.endswith("\n") else ""
        gitignore.write_text(existing + separator + _GITIGNORE, encoding="utf-8")


def _write_new(path: Path, text: str) -> None:
    if not path.exists():
        path.write_text(text, encoding="utf-8")
