"""Every sink against its real peer: webhook and Slack receivers, SMTP, Alertmanager.

Faults too: a receiver that fails then recovers, Retry-After, permanent refusals,
and secrets that never reach an error, a log line or a dead letter.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from conftest import require_server
from peers import AlertmanagerServer, HttpReceiver, SmtpServer, wait_until

from kgsentinel.alerts.notification import AlertSummary, Notification
from kgsentinel.alerts.outbox import Outbox
from kgsentinel.alerts.sinks import SinkConfig, build_sinks
from kgsentinel.errors import ConfigError, DeliveryError

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
SLACK_TOKEN = "T0KGS/B0KGS/xoxb-very-secret-token"


def alert(n: int, *, resolved: bool = False, starts_at: datetime = T0) -> AlertSummary:
    return AlertSummary(
        fingerprint=f"fp{n}",
        labels={
            "detector": "conformance",
            "kind": "skipped",
            "severity": "warning",
            "team": "npi",
            "case": f"case-{n}",
        },
        summary=f"case-{n} skipped Stability test",
        description="Stability test is expected before Safety assessment; it never happened",
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=30) if resolved else None,
        link=f"https://kg.example.com/anomalies/fp{n}",
    )


def notification(
    sink: str, *alerts: AlertSummary, status: str = "firing", key: str | None = None
) -> Notification:
    return Notification(
        key=key or f"npi/{status}/{'-'.join(a.fingerprint for a in alerts)}",
        sink=sink,
        route="npi",
        group_key='{}:{team="npi"}',
        status=status,  # type: ignore[arg-type]
        alerts=alerts,
        common_labels={
            "detector": "conformance",
            "kind": "skipped",
            "severity": "warning",
            "team": "npi",
        },
        created_at=T0,
    )


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    server = HttpReceiver().start()
    yield server
    server.stop()


def sinks_for(configs: dict[str, dict[str, object]], env: dict[str, str], root: Path) -> dict:
    return build_sinks({name: SinkConfig(**c) for name, c in configs.items()}, env, root=root)


# --- webhook ---------------------------------------------------------------------------------


def test_the_webhook_payload_is_alertmanagers_with_an_idempotency_key(
    receiver: HttpReceiver, tmp_path: Path
) -> None:
    sinks = sinks_for(
        {"hook": {"kind": "webhook", "url_env": "HOOK_URL", "token_env": "HOOK_TOKEN"}},
        {"HOOK_URL": receiver.url("/alerts"), "HOOK_TOKEN": "tok-123"},
        tmp_path,
    )
    outbox = Outbox(tmp_path)
    outbox.enqueue([notification("hook", alert(1), alert(2))])
    assert outbox.deliver(sinks, now=T0).delivered == 1
    [request] = receiver.received("/alerts")
    assert request.headers["idempotency-key"] == "npi/firing/fp1-fp2"
    assert request.headers["authorization"] == "Bearer tok-123"
    payload = request.json()
    assert set(payload) >= {
        "version",
        "groupKey",
        "status",
        "receiver",
        "groupLabels",
        "commonLabels",
        "commonAnnotations",
        "externalURL",
        "alerts",
    }
    assert payload["version"] == "4"
    assert payload["status"] == "firing"
    assert payload["receiver"] == "hook"
    assert payload["groupKey"] == '{}:{team="npi"}'
    assert payload["idempotencyKey"] == "npi/firing/fp1-fp2"
    assert payload["commonLabels"]["team"] == "npi"
    assert payload["externalURL"] == "https://kg.example.com"
    first = payload["alerts"][0]
    assert set(first) == {
        "status",
        "labels",
        "annotations",
        "startsAt",
        "endsAt",
        "generatorURL",
        "fingerprint",
    }
    assert first["startsAt"] == "2026-03-02T08:00:00Z"
    assert first["endsAt"] == "0001-01-01T00:00:00Z"
    assert first["labels"]["case"] == "case-1"
    assert first["annotations"]["summary"] == "case-1 skipped Stability test"
    assert first["generatorURL"] == "https://kg.example.com/anomalies/fp1"
    assert [a["fingerprint"] for a in payload["alerts"]] == ["fp1", "fp2"]
    assert "description" in payload["commonAnnotations"]


def test_a_resolved_webhook_notification_carries_ends_at(
    receiver: HttpReceiver, tmp_path: Path
) -> None:
    sinks = sinks_for({"hook": {"kind": "webhook", "url": receiver.url()}}, {}, tmp_path)
    outbox = Outbox(tmp_path)
    outbox.enqueue([notification("hook", alert(1, resolved=True), status="resolved")])
    outbox.deliver(sinks, now=T0)
    payload = receiver.received()[0].json()
    assert payload["status"] == "resolved"
    assert payload["alerts"][0]["status"] == "resolved"
    assert payload["alerts"][0]["endsAt"] == "2026-03-02T08:30:00Z"


# --- Slack -----------------------------------------------------------------------------------


def test_slack_gets_text_and_blocks_with_the_explanation_and_the_evidence(
    receiver: HttpReceiver, tmp_path: Path
) -> None:
    url = receiver.url(f"/services/{SLACK_TOKEN}")
    sinks = sinks_for(
        {"slack": {"kind": "slack", "url_env": "SLACK_URL"}}, {"SLACK_URL": url}, tmp_path
    )
    outbox = Outbox(tmp_path)
    outbox.enqueue([notification("slack", alert(1), alert(2))])
    assert outbox.deliver(sinks, now=T0).delivered == 1
    [request] = receiver.received()
    assert request.path == f"/services/{SLACK_TOKEN}"
    message = request.json()
    assert message["text"].startswith("[FIRING:2] warning detector=conformance kind=skipped")
    assert "case-1 skipped Stability test" in message["text"]
    header, first, second, context = message["blocks"]
    assert header["type"] == "header"
    assert header["text"]["text"].startswith("[FIRING:2]")
    assert "Stability test is expected before Safety assessment" in first["text"]["text"]
    assert "<https://kg.example.com/anomalies/fp1|evidence>" in first["text"]["text"]
    assert "case-2" in second["text"]["text"]
    assert "npi/firing/fp1-fp2" in context["elements"][0]["text"]
    assert request.headers["idempotency-key"] == "npi/firing/fp1-fp2"


def test_a_large_group_is_one_slack_message_within_slacks_block_limit(
    receiver: HttpReceiver, tmp_path: Path
) -> None:
    sinks = sinks_for(
        {"slack": {"kind": "slack", "url_env": "SLACK_URL"}},
        {"SLACK_URL": receiver.url()},
        tmp_path,
    )
    outbox = Outbox(tmp_path)
    outbox.enqueue([notification("slack", *(alert(n) for n in range(100)))])
    outbox.deliver(sinks, now=T0)
    [request] = receiver.received()
    blocks = request.json()["blocks"]
    assert len(blocks) <= 50
    assert "and 80 more alerts" in blocks[-2]["text"]["text"]


# --- faults ----------------------------------------------------------------------------------


def test_a_receiver_that_fails_then_recovers_gets_each_notification_exactly_once(
    receiver: HttpReceiver, tmp_path: Path
) -> None:
    sinks = sinks_for({"hook": {"kind": "webhook", "url": receiver.url()}}, {}, tmp_path)
    outbox = Outbox(tmp_path, base_delay=2, max_delay=30)
    notes = [notification("hook", alert(n)) for n in range(5)]
    outbox.enqueue(notes)
    receiver.fail(4)
    now = T0
    for _ in range(20):
        outbox.deliver(sinks, now=now)
        if not outbox.pending():
            break
        now += timedelta(seconds=31)
    delivered = [r.headers["idempotency-key"] for r in receiver.received() if r.status == 200]
    assert sorted(delivered) == sorted(note.key for note in notes)
    assert len([r for r in receiver.received() if r.status == 503]) == 4
    assert outbox.dead_letters() == []


def test_a_receiver_that_is_down_loses_nothing_and_gets_it_once_it_is_up(tmp_path: Path) -> None:
    from peers import free_port

    port = free_port()
    sinks = sinks_for(
        {"hook": {"kind": "webhook", "url": f"http://127.0.0.1:{port}/hook"}}, {}, tmp_path
    )
    outbox = Outbox(tmp_path, base_delay=5, max_delay=5)
    outbox.enqueue([notification("hook", alert(1)), notification("hook", alert(2))])
    report = outbox.deliver(sinks, now=T0)
    assert (report.retrying, report.deferred) == (1, 1)
    assert "cannot reach the receiver" in report.errors[0]
    receiver = HttpReceiver(port=port).start()
    try:
        assert outbox.deliver(sinks, now=T0 + timedelta(seconds=5)).delivered == 2
        keys = [r.headers["idempotency-key"] for r in receiver.received()]
    finally:
        receiver.stop()
    assert keys == ["npi/firing/fp1", "npi/firing/fp2"]
    assert outbox.pending() == []


def test_retry_after_in_seconds_is_honoured_for_the_whole_sink(
    receiver: HttpReceiver, tmp_path: Path
) -> None:
    sinks = sinks_for({"slack": {"kind": "slack", "url_env": "U"}}, {"U": receiver.url()}, tmp_path)
    outbox = Outbox(tmp_path, base_delay=1, max_delay=5)
    outbox.enqueue([notification("slack", alert(1)), notification("slack", alert(2))])
    receiver.throttle("120")
    report = outbox.deliver(sinks, now=T0)
    assert report.retrying == 1
    assert "HTTP 429" in report.errors[0]
    assert outbox.deliver(sinks, now=T0 + timedelta(seconds=119)).attempted == 0
    assert len(receiver.received()) == 1
    assert outbox.deliver(sinks, now=T0 + timedelta(seconds=120)).delivered == 2
    assert [r.status for r in receiver.received()] == [429, 200, 200]


def test_retry_after_as_an_http_date_is_honoured(receiver: HttpReceiver, tmp_path: Path) -> None:
    sinks = sinks_for({"hook": {"kind": "webhook", "url": receiver.url()}}, {}, tmp_path)
    outbox = Outbox(tmp_path, base_delay=1, max_delay=5, max_age=10**9)
    outbox.enqueue([notification("hook", alert(1))])
    receiver.throttle(format_datetime(datetime.now(UTC) + timedelta(minutes=10), usegmt=True))
    now = datetime.now(UTC)
    outbox.deliver(sinks, now=now)
    [entry] = outbox.pending()
    assert entry.next_attempt_at is not None
    assert entry.next_attempt_at > now + timedelta(minutes=9)
    assert outbox.deliver(sinks, now=now + timedelta(minutes=5)).attempted == 0
    assert outbox.deliver(sinks, now=now + timedelta(minutes=11)).delivered == 1


@pytest.mark.parametrize(
    ("status", "body", "reason"),
    [
        (400, "invalid_payload", "answered HTTP 400: invalid_payload"),
        (403, "invalid_token", "answered HTTP 403: invalid_token (bad credentials"),
        (404, "no_service", "answered HTTP 404: no_service"),
    ],
)
def test_a_permanent_refusal_is_dead_lettered_with_its_reason(
    receiver: HttpReceiver, tmp_path: Path, status: int, body: str, reason: str
) -> None:
    url = receiver.url(f"/services/{SLACK_TOKEN}")
    sinks = sinks_for({"slack": {"kind": "slack", "url_env": "U"}}, {"U": url}, tmp_path)
    outbox = Outbox(tmp_path)
    outbox.enqueue([notification("slack", alert(1)), notification("slack", alert(2))])
    receiver.answer(status, body=body)
    report = outbox.deliver(sinks, now=T0)
    assert (report.dead_lettered, report.delivered) == (1, 1)
    [dead] = outbox.dead_letters()
    assert dead.key == "npi/firing/fp1"
    assert dead.last_error is not None
    assert reason in dead.last_error
    assert dead.last_error.startswith("sink slack: Slack answered")
    assert outbox.deliver(sinks, now=T0 + timedelta(days=1)).attempted == 0
    assert len(receiver.received()) == 2


def test_no_secret_reaches_an_error_or_a_dead_letter(tmp_path: Path) -> None:
    port = _closed_port()
    url = f"http://127.0.0.1:{port}/services/{SLACK_TOKEN}"
    sinks = sinks_for(
        {
            "slack": {"kind": "slack", "url_env": "U"},
            "hook": {"kind": "webhook", "url_env": "H", "token_env": "T"},
        },
        {"U": url, "H": url, "T": "bearer-secret"},
        tmp_path,
    )
    outbox = Outbox(tmp_path, max_age=0)
    outbox.enqueue([notification("slack", alert(1)), notification("hook", alert(2))])
    report = outbox.deliver(sinks, now=T0)
    assert report.dead_lettered == 2
    shown = " ".join(report.errors + [e.last_error or "" for e in outbox.dead_letters()])
    shown += " ".join(repr(sink) for sink in sinks.values())
    assert "cannot reach Slack" in shown
    assert SLACK_TOKEN not in shown
    assert "xoxb" not in shown
    assert "bearer-secret" not in shown
    assert str(port) not in shown


def test_a_refusal_that_echoes_the_secret_url_is_redacted(
    receiver: HttpReceiver, tmp_path: Path
) -> None:
    url = receiver.url(f"/services/{SLACK_TOKEN}")
    sinks = sinks_for({"slack": {"kind": "slack", "url_env": "U"}}, {"U": url}, tmp_path)
    receiver.answer(404, body=f"Cannot POST /services/{SLACK_TOKEN} (token xoxb-very-secret-token)")
    outbox = Outbox(tmp_path)
    outbox.enqueue([notification("slack", alert(1))])
    report = outbox.deliver(sinks, now=T0)
    [dead] = outbox.dead_letters()
    assert dead.last_error == "sink slack: Slack answered HTTP 404: Cannot POST *** (token ***)"
    assert SLACK_TOKEN not in " ".join(report.errors)


def _closed_port() -> int:
    from peers import free_port

    return free_port()


def test_a_missing_secret_variable_is_one_line_naming_the_sink_and_variable(
    tmp_path: Path,
) -> None:
    with pytest.raises(ConfigError) as caught:
        sinks_for({"npi-slack": {"kind": "slack", "url_env": "NPI_SLACK_WEBHOOK"}}, {}, tmp_path)
    assert str(caught.value) == (
        "[sinks.npi-slack] url_env: the environment variable NPI_SLACK_WEBHOOK is not set; "
        "export it with the sink's URL"
    )


def test_secrets_in_the_config_file_are_refused(tmp_path: Path) -> None:
    from kgsentinel.config import load_config

    path = tmp_path / "kgsentinel.toml"
    path.write_text('[sinks.mail]\nkind = "email"\npassword = "hunter2"\n')
    with pytest.raises(ConfigError, match=r"sinks\.mail\.password: secrets do not belong"):
        load_config(path)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"kind": "slack"}, "[sinks] ops: a slack sink needs url_env"),
        ({"kind": "webhook"}, "[sinks] ops: a webhook sink needs exactly one of url or url_env"),
        ({"kind": "email", "host": "smtp"}, "[sinks] ops: an email sink needs sender"),
        ({"kind": "pager"}, "[sinks.ops] kind = 'pager': not allowed; use one of 'console'"),
        ({"kind": "alertmanager", "url": "am:9093"}, "must be an http:// or https:// URL"),
    ],
)
def test_a_bad_sink_setting_is_one_line_naming_the_sink(
    tmp_path: Path, settings: dict[str, str], message: str
) -> None:
    from kgsentinel.config import load_config

    lines = "".join(f"{key} = {value!r}\n".replace("'", '"') for key, value in settings.items())
    path = tmp_path / "kgsentinel.toml"
    path.write_text(f"[sinks.ops]\n{lines}")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


# --- e-mail ----------------------------------------------------------------------------------


@pytest.fixture
def smtp_server(tmp_path: Path) -> Iterator[SmtpServer]:
    server = SmtpServer().start(tmp_path / "smtp")
    yield server
    server.stop()


def email_sinks(server: SmtpServer, root: Path, password: str) -> dict:
    settings = {
        "kind": "email",
        "host": "127.0.0.1",
        "port": server.port,
        "username": server.username,
        "password_env": "SMTP_PASSWORD",
        "sender": "kgsentinel@example.com",
        "to": ["npi-ops@example.com"],
        "ca_file": str(server.cert_path),
    }
    return sinks_for({"mail": settings}, {"SMTP_PASSWORD": password}, root)


def test_an_email_arrives_through_starttls_and_login(
    smtp_server: SmtpServer, tmp_path: Path
) -> None:
    outbox = Outbox(tmp_path)
    outbox.enqueue([notification("mail", alert(1), alert(2))])
    report = outbox.deliver(email_sinks(smtp_server, tmp_path, smtp_server.password), now=T0)
    assert report.delivered == 1, report.errors
    [mail] = smtp_server.messages
    assert mail.tls
    assert mail.login == "kgsentinel"
    assert mail.mechanism == "LOGIN"
    assert mail.recipients == ["npi-ops@example.com"]
    assert (
        mail.message["Subject"] == "[FIRING:2] warning detector=conformance kind=skipped team=npi"
    )
    assert mail.message["X-Kgsentinel-Key"] == "npi/firing/fp1-fp2"
    text = mail.message.get_body(("plain",)).get_content()
    html = mail.message.get_body(("html",)).get_content()
    assert "- case-1 skipped Stability test" in text
    assert "Stability test is expected before Safety assessment" in text
    assert "evidence: https://kg.example.com/anomalies/fp2" in text
    assert '<a href="https://kg.example.com/anomalies/fp1">evidence</a>' in html


def test_a_refused_email_login_is_dead_lettered_without_the_password(
    smtp_server: SmtpServer, tmp_path: Path
) -> None:
    outbox = Outbox(tmp_path)
    outbox.enqueue([notification("mail", alert(1))])
    report = outbox.deliver(email_sinks(smtp_server, tmp_path, "wrong-password-42"), now=T0)
    assert report.dead_lettered == 1
    [dead] = outbox.dead_letters()
    assert dead.last_error is not None
    assert "refused the login of kgsentinel (bad credentials" in dead.last_error
    assert "wrong-password-42" not in dead.last_error
    assert smtp_server.messages == []
    assert smtp_server.logins == [("kgsentinel", False)]


def test_an_untrusted_smtp_certificate_is_refused(smtp_server: SmtpServer, tmp_path: Path) -> None:
    settings = {
        "kind": "email",
        "host": "127.0.0.1",
        "port": smtp_server.port,
        "username": "kgsentinel",
        "password_env": "P",
        "sender": "kg@example.com",
        "to": ["ops@example.com"],
    }
    [sink] = sinks_for({"mail": settings}, {"P": smtp_server.password}, tmp_path).values()
    with pytest.raises(DeliveryError, match=r"TLS with 127\.0\.0\.1") as caught:
        sink.send(notification("mail", alert(1)))
    assert caught.value.permanent
    assert smtp_server.messages == []


# --- Alertmanager ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def alertmanager(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[AlertmanagerServer, HttpReceiver]]:
    recorder = HttpReceiver().start()
    server = AlertmanagerServer(recorder.url("/from-alertmanager"))
    try:
        server.start(tmp_path_factory.mktemp("alertmanager"))
    except Exception as exc:
        recorder.stop()
        require_server(exc)
    yield server, recorder
    server.stop()
    recorder.stop()


def test_alerts_arrive_in_alertmanager_and_resolve_there(
    alertmanager: tuple[AlertmanagerServer, HttpReceiver], tmp_path: Path
) -> None:
    server, recorder = alertmanager
    sinks = sinks_for({"am": {"kind": "alertmanager", "url": server.base_url}}, {}, tmp_path)
    started = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    firing = [alert(n, starts_at=started) for n in (101, 102)]
    outbox = Outbox(tmp_path)
    outbox.enqueue([notification("am", *firing)])
    assert outbox.deliver(sinks).delivered == 1
    active = {a["labels"]["fingerprint"]: a for a in server.alerts(filter='team="npi"')}
    assert {"fp101", "fp102"} <= set(active)
    one = active["fp101"]
    assert one["status"]["state"] == "active"
    assert one["labels"]["alertname"] == "skipped"
    assert one["labels"]["case"] == "case-101"
    assert one["annotations"]["summary"] == "case-101 skipped Stability test"
    assert one["generatorURL"] == "https://kg.example.com/anomalies/fp101"
    assert one["startsAt"].startswith(started.strftime("%Y-%m-%dT%H:%M:%S"))

    ended = [alert(101, starts_at=started, resolved=True)]
    outbox.enqueue([notification("am", *ended, status="resolved")])
    assert outbox.deliver(sinks).delivered == 1
    remaining = {a["labels"]["fingerprint"] for a in server.alerts(filter='team="npi"')}
    assert "fp101" not in remaining
    assert "fp102" in remaining

    def resolved_notice() -> bool:
        return any(
            a["labels"].get("fingerprint") == "fp101" and a["status"] == "resolved"
            for r in recorder.received()
            for a in r.json()["alerts"]
        )

    wait_until(resolved_notice, timeout=30, what="Alertmanager's resolved notification")


def test_our_webhook_payload_has_the_shape_of_alertmanagers_own(
    alertmanager: tuple[AlertmanagerServer, HttpReceiver], receiver: HttpReceiver, tmp_path: Path
) -> None:
    server, recorder = alertmanager
    started = datetime.now(UTC).replace(microsecond=0)
    sinks = sinks_for(
        {
            "am": {"kind": "alertmanager", "url": server.base_url},
            "hook": {"kind": "webhook", "url": receiver.url()},
        },
        {},
        tmp_path,
    )
    outbox = Outbox(tmp_path)
    outbox.enqueue(
        [
            notification("am", alert(201, starts_at=started)),
            notification("hook", alert(201, starts_at=started), key="hook/fp201"),
        ]
    )

    def theirs() -> list[dict]:
        return [
            r.json()
            for r in recorder.received()
            if any(a["labels"].get("fingerprint") == "fp201" for a in r.json()["alerts"])
        ]

    assert outbox.deliver(sinks).delivered == 2
    wait_until(lambda: bool(theirs()), timeout=30, what="Alertmanager's notification")
    their_payload, our_payload = theirs()[0], receiver.received()[0].json()
    assert set(their_payload) - {"truncatedAlerts"} <= set(our_payload)
    assert set(their_payload["alerts"][0]) == set(our_payload["alerts"][0])
    assert their_payload["version"] == our_payload["version"]
    their_alert = their_payload["alerts"][0]
    our_alert = our_payload["alerts"][0]
    assert their_alert["annotations"] == our_alert["annotations"]
    assert their_alert["startsAt"][:19] == our_alert["startsAt"][:19]


# --- test notifications ----------------------------------------------------------------------


def test_send_test_reaches_the_real_receiver_at_once(
    receiver: HttpReceiver, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kgsentinel.alerts.delivery import send_test
    from kgsentinel.workspace import open_workspace

    config = workspace / "kgsentinel.toml"
    config.write_text(
        config.read_text() + '\n[sinks.team-slack]\nkind = "slack"\nurl_env = "TEAM_SLACK_URL"\n'
    )
    monkeypatch.setenv("TEAM_SLACK_URL", receiver.url("/services/team"))
    with open_workspace(workspace) as ws:
        note = send_test(ws, "team-slack")
        receiver.answer(500, body="down")
        with pytest.raises(DeliveryError, match="Slack answered HTTP 500"):
            send_test(ws, "team-slack")
    first = receiver.received()[0]
    assert first.headers["idempotency-key"] == note.key
    assert "(test)" in first.json()["text"]
    assert "Test notification from kgsentinel to sink team-slack" in first.json()["text"]


def test_an_alert_alertmanager_refuses_is_dead_lettered_with_its_reason(
    alertmanager: tuple[AlertmanagerServer, HttpReceiver], tmp_path: Path
) -> None:
    server, _recorder = alertmanager
    sinks = sinks_for({"am": {"kind": "alertmanager", "url": server.base_url}}, {}, tmp_path)
    backwards = AlertSummary(
        fingerprint="fp301",
        labels={"kind": "skipped"},
        summary="s",
        starts_at=T0,
        ends_at=T0 - timedelta(hours=1),
    )
    outbox = Outbox(tmp_path)
    outbox.enqueue([notification("am", backwards, status="resolved")])
    assert outbox.deliver(sinks).dead_lettered == 1
    [dead] = outbox.dead_letters()
    assert dead.last_error is not None
    assert dead.last_error.startswith("sink am: Alertmanager answered HTTP 400")
    assert "start time must be before end time" in dead.last_error
