"""Real peers of the alert sinks: an HTTP receiver, an SMTP server, Prometheus Alertmanager.

Import it as ``from peers import HttpReceiver`` (pytest puts ``tests/`` on
``sys.path``). Each peer listens on a free loopback port and is stopped by the
fixture that started it. Fixtures decide what a missing binary means (fail
under CI, skip elsewhere); this module only starts and stops peers.

* :class:`HttpReceiver` records every request and answers as it is told: fail
  the next N requests, answer 429 with ``Retry-After``, 400, or hold a request
  open until released (for a client killed mid-request).
* :class:`SmtpServer` is aiosmtpd with STARTTLS (a throwaway self-signed
  certificate made here) required before AUTH LOGIN, recording each message.
* :class:`AlertmanagerServer` runs Debian's ``prometheus-alertmanager`` with a
  minimal config, its own storage folder and clustering off; its one receiver
  posts Alertmanager's own notifications to an :class:`HttpReceiver`.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from servers import ServerNotInstalledError, ServerProcess, free_port

__all__ = [
    "AlertmanagerServer",
    "HttpReceiver",
    "ReceivedMail",
    "ReceivedRequest",
    "SmtpServer",
    "find_alertmanager",
    "free_port",
    "self_signed_certificate",
]

ALERTMANAGER_INSTALL = (
    "apt-get install prometheus-alertmanager (Debian/Ubuntu), then run the tests again"
)


def wait_until(condition: Any, *, timeout: float = 10.0, what: str = "the condition") -> None:
    """Poll ``condition()`` until it is true; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.02)


# --- HTTP receiver -------------------------------------------------------------------------


@dataclass(frozen=True)
class ReceivedRequest:
    """One request the receiver got, and the status it answered."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class _Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: str = "ok"
    hold: threading.Event | None = None


class HttpReceiver:
    """A threaded HTTP server on 127.0.0.1 that records requests and answers as told.

    ``port=0`` takes a free port; a given port lets a test start the receiver
    where a sink already points (a receiver that was down comes up).
    """

    def __init__(self, port: int = 0) -> None:
        self.port = port
        self.requests: list[ReceivedRequest] = []
        self._answers: deque[_Answer] = deque()
        self._lock = threading.Lock()
        self._holds: list[threading.Event] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.delay = 0.0  # seconds to wait before answering each request

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the receiver is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def url(self, path: str = "/hook") -> str:
        return self.base_url + path

    def start(self) -> HttpReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                receiver._handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )
        self._thread.start()
        return self

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length)
        with self._lock:
            answer = self._answers.popleft() if self._answers else _Answer()
            headers = {key.lower(): value for key, value in handler.headers.items()}
            self.requests.append(
                ReceivedRequest(handler.command, handler.path, headers, body, answer.status)
            )
        if answer.hold is not None:
            answer.hold.wait(timeout=60)
        if self.delay:
            time.sleep(self.delay)
        try:
            handler.send_response(answer.status)
            for key, value in answer.headers.items():
                handler.send_header(key, value)
            data = answer.body.encode()
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
        except OSError:
            pass  # the client went away (killed mid-request)

    def answer(
        self, status: int, *, times: int = 1, body: str = "", headers: dict[str, str] | None = None
    ) -> None:
        """Answer the next ``times`` requests with ``status``."""
        with self._lock:
            for _ in range(times):
                self._answers.append(_Answer(status, dict(headers or {}), body))

    def fail(self, times: int, *, status: int = 503) -> None:
        """Fail the next ``times`` requests (503 by default)."""
        self.answer(status, times=times, body="unavailable")

    def throttle(self, retry_after: str) -> None:
        """Answer the next request 429 with this ``Retry-After``."""
        self.answer(429, body="rate limited", headers={"Retry-After": retry_after})

    def hold_next(self, *, after: int = 0) -> threading.Event:
        """Answer ``after`` requests normally, then hold the next one open until released."""
        release = threading.Event()
        with self._lock:
            for _ in range(after):
                self._answers.append(_Answer())
            self._answers.append(_Answer(hold=release))
            self._holds.append(release)
        return release

    def received(self, path: str | None = None) -> list[ReceivedRequest]:
        with self._lock:
            return [r for r in self.requests if path is None or r.path == path]

    def wait_for(self, count: int, *, path: str | None = None, timeout: float = 10.0) -> None:
        wait_until(
            lambda: len(self.received(path)) >= count,
            timeout=timeout,
            what=f"{count} requests at the receiver",
        )

    def stop(self) -> None:
        for release in self._holds:
            release.set()
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)


# --- SMTP server ---------------------------------------------------------------------------


def self_signed_certificate(folder: Path, host: str = "127.0.0.1") -> tuple[Path, Path]:
    """A throwaway certificate for ``host`` (and localhost) and its key, as PEM files."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = dt.datetime.now(dt.UTC)
    names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(host))]
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@dataclass(frozen=True)
class ReceivedMail:
    """One message the SMTP server accepted, with how the session was secured."""

    sender: str
    recipients: list[str]
    message: EmailMessage
    tls: bool
    login: str | None
    mechanism: str | None


class SmtpServer:
    """aiosmtpd on 127.0.0.1: STARTTLS required, then AUTH LOGIN as ``username``/``password``."""

    def __init__(self, *, username: str = "kgsentinel", password: str = "s3cret-pass") -> None:
        self.username = username
        self.password = password
        self.messages: list[ReceivedMail] = []
        self.logins: list[tuple[str, bool]] = []
        self.cert_path: Path | None = None
        self.port: int | None = None
        self._controller: Any = None

    def start(self, folder: Path) -> SmtpServer:
        import ssl

        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult

        self.cert_path, key_path = self_signed_certificate(folder)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_path, key_path)
        server = self

        def authenticate(
            _smtp: Any, session: Any, _envelope: Any, mechanism: str, data: Any
        ) -> AuthResult:
            login = data.login.decode()
            ok = login == server.username and data.password.decode() == server.password
            server.logins.append((login, ok))
            session.mechanism = mechanism
            return AuthResult(success=ok, handled=False, auth_data=login)

        class Handler:
            async def handle_DATA(self, _smtp: Any, session: Any, envelope: Any) -> str:
                message = message_from_bytes(envelope.content, policy=policy.default)
                login = session.auth_data if session.authenticated else None
                server.messages.append(
                    ReceivedMail(
                        envelope.mail_from,
                        list(envelope.rcpt_tos),
                        message,
                        tls=session.ssl is not None,
                        login=login,
                        mechanism=getattr(session, "mechanism", None),
                    )
                )
                return "250 Message accepted"

        self.port = free_port()
        self._controller = Controller(
            Handler(),
            hostname="127.0.0.1",
            port=self.port,
            tls_context=context,
            require_starttls=True,
            auth_required=True,
            auth_require_tls=True,
            authenticator=authenticate,
            auth_exclude_mechanism=["PLAIN"],
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()


# --- Prometheus Alertmanager ---------------------------------------------------------------


def find_alertmanager() -> str:
    """Debian's ``prometheus-alertmanager`` (or an ``alertmanager`` on PATH)."""
    for name in ("prometheus-alertmanager", "alertmanager"):
        found = shutil.which(name) or (
            f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").is_file() else None
        )
        if found:
            return found
    raise ServerNotInstalledError(
        f"Prometheus Alertmanager is not installed: {ALERTMANAGER_INSTALL}"
    )


class AlertmanagerServer(ServerProcess):
    """``prometheus-alertmanager`` on 127.0.0.1; its receiver posts to ``webhook_url``."""

    name = "Alertmanager"
    ready_path = "/-/ready"

    def __init__(self, webhook_url: str) -> None:
        super().__init__()
        self.webhook_url = webhook_url

    def start(self, folder: Path) -> AlertmanagerServer:
        executable = find_alertmanager()
        folder.mkdir(parents=True, exist_ok=True)
        config = folder / "alertmanager.yml"
        config.write_text(
            "route:\n  receiver: recorder\n  group_by: ['...']\n  group_wait: 0s\n"
            "  group_interval: 1s\n  repeat_interval: 1h\n"
            "receivers:\n  - name: recorder\n    webhook_configs:\n"
            f"      - url: {json.dumps(self.webhook_url)}\n        send_resolved: true\n"
        )

        def command_on(port: int) -> list[str]:
            return [
                executable,
                f"--config.file={config}",
                f"--storage.path={folder / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--cluster.listen-address=",
                "--log.level=warn",
            ]

        self._launch(folder / "alertmanager.log", command_on)
        return self

    def _is_ready(self, response: httpx.Response) -> bool:
        return response.status_code == 200

    def alerts(self, **filters: str) -> list[dict[str, Any]]:
        """``GET /api/v2/alerts`` (active alerts), with its query filters."""
        response = httpx.get(f"{self.base_url}/api/v2/alerts", params=filters, timeout=10.0)
        response.raise_for_status()
        return list(response.json())
