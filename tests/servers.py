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
from pathlib import Path

import httpx

__all__ = ["OxigraphServer", "ServerNotInstalledError", "find_oxigraph"]

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


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class OxigraphServer:
    """``oxigraph serve`` on 127.0.0.1, storing under a temporary folder.

    ``union_default_graph=True`` starts it with ``--union-default-graph``.
    """

    def __init__(self, *, union_default_graph: bool = False, executable: str | None = None):
        self.union_default_graph = union_default_graph
        self.executable = executable
        self.port: int | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._log: Path | None = None

    @property
    def base_url(self) -> str:
        if self.port is None:
            raise RuntimeError("the Oxigraph server is not started")
        return f"http://127.0.0.1:{self.port}"

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
        self._log = folder / "oxigraph.log"
        for _attempt in range(3):  # another process may grab the free port first
            self.port = _free_port()
            command = [executable, "serve", "--location", str(folder / "store")]
            command += ["--bind", f"127.0.0.1:{self.port}"]
            if self.union_default_graph:
                command.append("--union-default-graph")
            with self._log.open("wb") as log:
                self._process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
            if self._wait_until_ready():
                return self
        raise RuntimeError(f"the Oxigraph server did not start: {self._log_tail()}")

    def _wait_until_ready(self) -> bool:
        assert self._process is not None
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                return False
            try:
                httpx.get(f"{self.base_url}/", timeout=1.0)
            except httpx.TransportError:
                time.sleep(0.05)
            else:
                return True
        self.stop()
        raise RuntimeError(
            f"the Oxigraph server did not answer within {_START_TIMEOUT:g} s: {self._log_tail()}"
        )

    def _log_tail(self) -> str:
        if self._log is None or not self._log.exists():
            return "no log"
        return self._log.read_text(errors="replace").strip()[-500:] or "empty log"

    def clear(self) -> None:
        """Delete every graph (``DROP ALL``)."""
        response = httpx.post(
            self.update_url,
            content="DROP ALL",
            headers={"Content-Type": "application/sparql-update"},
            timeout=30.0,
        )
        response.raise_for_status()

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

    def __enter__(self) -> OxigraphServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
