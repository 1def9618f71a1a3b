"""A throwaway PostgreSQL server for tests: a fresh cluster on a free loopback port.

Import it as ``from postgres import PostgresServer`` (pytest puts ``tests/`` on
``sys.path``). Fixtures decide what a missing server means (fail under CI,
skip elsewhere); this module only starts and stops processes.

``initdb`` makes the cluster and ``postgres`` runs as a child of the test
process (not daemonised by ``pg_ctl``), so it is always waited for and never
left behind as a zombie. It listens on 127.0.0.1 only, keeps its unix socket in
its own folder, and trusts every local connection: a test server, never a real
one. PostgreSQL refuses to run as root, so as root every command runs as the
``postgres`` user, in a folder of its own under the system temp folder
(pytest's temp folders are private to root).
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from servers import ServerNotInstalledError, free_port

__all__ = ["PostgresServer", "find_postgres_bin"]

_INSTALL = "apt-get install postgresql (Debian/Ubuntu), then run the tests again"
_START_TIMEOUT = 30.0


def find_postgres_bin() -> Path:
    """The folder of ``initdb`` and ``postgres``: from PATH, else Debian's newest version."""
    found = shutil.which("initdb")
    if found and (Path(found).resolve().parent / "postgres").is_file():
        return Path(found).resolve().parent
    candidates = Path("/usr/lib/postgresql").glob("*/bin/initdb")
    versions = sorted(candidates, key=lambda path: _version(path.parent.parent.name))
    if versions:
        return versions[-1].parent
    raise ServerNotInstalledError(f"the PostgreSQL server is not installed: {_INSTALL}")


def _version(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", name))


def _as_postgres_user() -> dict[str, Any]:
    """Popen options that drop root to the postgres user (nothing when not root)."""
    if os.geteuid() != 0:
        return {}
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise ServerNotInstalledError(f"there is no 'postgres' user: {_INSTALL}") from None
    return {"user": "postgres", "group": "postgres", "extra_groups": []}


class PostgresServer:
    """A PostgreSQL cluster made by ``initdb``, served on loopback, removed by ``stop``.

    ``url`` is a SQLAlchemy URL (psycopg driver) for the database ``database``.
    """

    def __init__(self, *, database: str = "kgsentinel", user: str = "postgres"):
        self.database = database
        self.user = user
        self.port: int | None = None
        self._bin: Path | None = None
        self._root: Path | None = None
        self._owned_root = False
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("the PostgreSQL server is not started")
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{self.database}"

    def start(self, tmp_dir: str | Path) -> PostgresServer:
        """Create the cluster, start the server (up to 30 s) and create the database."""
        self._bin = find_postgres_bin()
        self._root = self._make_root(Path(tmp_dir))
        (self._root / "socket").mkdir()
        self._hand_over(self._root / "socket")
        self._run("initdb", "-D", "data", "-U", self.user, "-A", "trust", "-E", "UTF8",
                  "--locale=C", "--no-sync")  # fmt: skip
        for _attempt in range(3):  # another process may take the free port first
            if self._serve(free_port()):
                break
        else:
            raise RuntimeError(f"PostgreSQL did not start: {self._log_tail()}")
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user,
                  self.database)  # fmt: skip
        return self

    def _make_root(self, tmp_dir: Path) -> Path:
        if os.geteuid() != 0:
            tmp_dir.mkdir(parents=True, exist_ok=True)
            return tmp_dir
        _as_postgres_user()
        root = Path(tempfile.mkdtemp(prefix="kgsentinel-postgres-"))
        self._owned_root = True
        self._hand_over(root)
        return root

    def _hand_over(self, folder: Path) -> None:
        """As root, the folder belongs to the postgres user, who runs the server."""
        if os.geteuid() == 0:
            shutil.chown(folder, "postgres", "postgres")

    def _run(self, program: str, *args: str) -> None:
        assert self._bin is not None
        assert self._root is not None
        done = subprocess.run(
            [str(self._bin / program), *args],
            cwd=self._root,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            **_as_postgres_user(),
        )
        if done.returncode != 0:
            output = " ".join((done.stderr or done.stdout).split())[-500:]
            raise RuntimeError(f"{program} failed ({done.returncode}): {output}")

    def _serve(self, port: int) -> bool:
        """Start ``postgres`` on the port; False when it exits before it is ready."""
        assert self._bin is not None
        assert self._root is not None
        self.port = port
        command = [str(self._bin / "postgres"), "-D", "data", "-p", str(port)]
        command += ["-k", str(self._root / "socket"), "-c", "listen_addresses=127.0.0.1"]
        command += ["-c", "fsync=off", "-c", "full_page_writes=off"]
        with (self._root / "server.log").open("ab") as log:
            self._process = subprocess.Popen(
                command, cwd=self._root, stdout=log, stderr=subprocess.STDOUT,
                **_as_postgres_user(),
            )  # fmt: skip
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                return False
            if self._ready():
                return True
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(
            f"PostgreSQL did not answer within {_START_TIMEOUT:g} s: {self._log_tail()}"
        )

    def _ready(self) -> bool:
        assert self._bin is not None
        probe = subprocess.run(
            [str(self._bin / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port)],
            capture_output=True,
            timeout=10,
            check=False,
        )
        return probe.returncode == 0

    def _log_tail(self) -> str:
        log = self._root / "server.log" if self._root else None
        if log is None or not log.exists():
            return "no log"
        return " ".join(log.read_text(errors="replace").split())[-500:] or "empty log"

    def stop(self) -> None:
        """Stop the server (fast shutdown, then kill after 10 s) and remove what start made."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGINT)  # PostgreSQL's "fast" shutdown
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        if self._owned_root and self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)
        self._root, self.port = None, None

    def __enter__(self) -> PostgresServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
