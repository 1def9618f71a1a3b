"""Real servers for tests: an Oxigraph server on a free loopback port.

Import it as ``from servers import OxigraphServer`` (pytest puts ``tests/`` on
``sys.path``). Fixtures decide what a missing binary means (fail under CI, skip
elsewhere); this module only starts and stops processes.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Self

import httpx

__all__ = [
    "OxigraphServer",
    "ServerNotInstalledError",
    "ServerProcess",
    "find_oxigraph",
    "free_port",
]

_START_TIMEOUT = 20.0


class ServerNotInstalledError(RuntimeError):
    """A server binary the tests need is not installed."""


def find_oxigraph() -> str:
    """The ``oxigraph`` executable: beside this Python first, then on PATH."""
    beside = Path(sys.executable).with_name("oxigraph")
    if beside.is_file():
        return str(beside)
    found = shutil.which("oxigraph")
    if found:
        return found
    raise ServerNotInstalledError(
        "the oxigraph server is not installed: pip install oxigraph "
        "(or pip install -e '.[dev]'), then run the tests again"
    )


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ServerProcess:
    """A server program on a free loopback port, its output kept in a log file.

    Subclasses name the server, the path that answers once it is ready, and
    the command that starts it on a port; :meth:`_launch` starts it (trying
    again on another port if one is taken meanwhile) and waits until it answers.
    """

    name = "the server"
    ready_path = "/"

    def __init__(self) -> None:
        self.port: int | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._log: Path | None = None

    @property
    def base_url(self) -> str:
        if self.port is None:
            raise RuntimeError(f"{self.name} is not started")
        return f"http://127.0.0.1:{self.port}"

    def _launch(self, log: Path, command_on: Callable[[int], list[str]]) -> None:
        """Start ``command_on(port)`` and wait (up to 20 s) until it answers."""
        self._log = log
        for _attempt in range(3):  # another process may grab the free port first
            self.port = free_port()
            with log.open("wb") as out:
                self._process = subprocess.Popen(
                    command_on(self.port), stdout=out, stderr=subprocess.STDOUT
                )
            if self._wait_until_ready():
                return
        raise RuntimeError(f"{self.name} did not start: {self._log_tail()}")

    def _is_ready(self, response: httpx.Response) -> bool:
        """Whether this answer to :attr:`ready_path` means the server is ready (any does)."""
        return True

    def _wait_until_ready(self) -> bool:
        assert self._process is not None
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                return False
            try:
                if self._is_ready(httpx.get(self.base_url + self.ready_path, timeout=1.0)):
                    return True
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(
            f"{self.name} did not answer within {_START_TIMEOUT:g} s: {self._log_tail()}"
        )

    def _log_tail(self) -> str:
        if self._log is None or not self._log.exists():
            return "no log"
        return self._log.read_text(errors="replace").strip()[-500:] or "empty log"

    def stop(self) -> None:
        """Stop the server: terminate, then kill if it does not exit within 10 s."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class OxigraphServer(ServerProcess):
    """``oxigraph serve`` on 127.0.0.1, storing under a temporary folder.

    ``union_default_graph=True`` starts it with ``--union-default-graph``.
    """

    name = "the Oxigraph server"

    def __init__(self, *, union_default_graph: bool = False, executable: str | None = None):
        super().__init__()
        self.union_default_graph = union_default_graph
        self.executable = executable

    @property
    def query_url(self) -> str:
        return f"{self.base_url}/query"

    @property
    def update_url(self) -> str:
        return f"{self.base_url}/update"

    def start(self, tmp_dir: str | Path) -> OxigraphServer:
        """Start the server and wait (up to 20 s) until it answers."""
        executable = self.executable or find_oxigraph()
        folder = Path(tmp_dir)
        folder.mkdir(parents=True, exist_ok=True)

        def command_on(port: int) -> list[str]:
            command = [executable, "serve", "--location", str(folder / "store")]
            command += ["--bind", f"127.0.0.1:{port}"]
            return [*command, "--union-default-graph"] if self.union_default_graph else command

        self._launch(folder / "oxigraph.log", command_on)
        return self

    def clear(self) -> None:
        """Delete every graph (``DROP ALL``)."""
        response = httpx.post(
            self.update_url,
            content="DROP ALL",
            headers={"Content-Type": "application/sparql-update"},
            timeout=30.0,
        )
        response.raise_for_status()
