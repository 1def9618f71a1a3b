"""docs/alerts.md stays true: its sink settings load and build, its payload and code hold."""

from __future__ import annotations

import contextlib
import io
import json
import re
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kgsentinel.alerts.notification import AlertSummary, Notification
from kgsentinel.alerts.outbox import Outbox
from kgsentinel.alerts.sinks import build_sinks
from kgsentinel.alerts.sinks.webhook import alertmanager_payload
from kgsentinel.config import Config
from kgsentinel.errors import ConfigError
from kgsentinel.workspace import open_workspace

DOC = Path(__file__).parent.parent / "docs" / "alerts.md"
KIND_CLASSES = {
    "console": "ConsoleSink",
    "jsonl": "JsonLinesSink",
    "webhook": "WebhookSink",
    "slack": "SlackSink",
    "email": "EmailSink",
    "alertmanager": "AlertmanagerSink",
}


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC.read_text(), re.DOTALL)


def sink_settings() -> dict[str, dict[str, object]]:
    sinks: dict[str, dict[str, object]] = {}
    for block in blocks("toml"):
        sinks.update(tomllib.loads(block)["sinks"])
    return sinks


def test_every_kind_has_a_documented_example() -> None:
    assert {settings["kind"] for settings in sink_settings().values()} == set(KIND_CLASSES)


def test_the_sink_examples_load_and_build_with_their_variables_set(tmp_path: Path) -> None:
    config = Config.model_validate({"sinks": sink_settings()})
    variables = {
        getattr(sink, key)
        for sink in config.sinks.values()
        for key in ("url_env", "token_env", "password_env")
        if getattr(sink, key)
    }
    env = {name: "https://hooks.example.com/T0/B0/x" for name in variables}
    sinks = build_sinks(config.sinks, env, root=tmp_path)
    for name, sink in sinks.items():
        assert type(sink).__name__ == KIND_CLASSES[config.sinks[name].kind]


def test_the_missing_variable_message_is_the_one_shown() -> None:
    [shown] = [b for b in blocks("text") if "url_env" in b]
    config = Config.model_validate({"sinks": {"npi-slack": sink_settings()["npi-slack"]}})
    with pytest.raises(ConfigError) as caught:
        build_sinks(config.sinks, {})
    assert shown.strip() == f"Error: {caught.value}"


def test_the_webhook_payload_shown_has_the_fields_sent() -> None:
    [shown] = [json.loads(b) for b in blocks("json")]
    at = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
    alert = AlertSummary(
        fingerprint="4f2a",
        labels={"kind": "skipped"},
        summary="s",
        starts_at=at,
        link="https://kg.example.com/anomalies/4f2a",
    )
    note = Notification(
        key="k",
        sink="itsm",
        route="npi",
        group_key="g",
        status="firing",
        alerts=(alert,),
        common_labels={},
        created_at=at,
    )
    sent = alertmanager_payload(note, receiver="itsm")
    assert set(shown) == set(sent)
    assert set(shown["alerts"][0]) == set(sent["alerts"][0])
    assert shown["alerts"][0]["endsAt"] == sent["alerts"][0]["endsAt"]
    assert shown["externalURL"] == sent["externalURL"]


def test_the_dead_letter_code_runs(workspace: Path) -> None:
    [code] = blocks("python")
    config = workspace / "kgsentinel.toml"
    config.write_text(config.read_text() + '\n[sinks.archive]\nkind = "jsonl"\npath = "a.jsonl"\n')
    at = datetime.now(UTC)
    note = Notification(
        key="npi/1",
        sink="archive",
        route="npi",
        group_key="npi",
        status="firing",
        alerts=(),
        common_labels={},
        created_at=at,
    )
    outbox = Outbox(workspace / ".kgsentinel", max_age=0)
    outbox.enqueue([note])
    (workspace / "a.jsonl").mkdir()  # the sink cannot write: the entry becomes a dead letter
    with open_workspace(workspace) as ws:
        outbox.deliver(build_sinks(ws.config.sinks, ws.env, root=ws.root), now=at)
    (workspace / "a.jsonl").rmdir()
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, str(DOC), "exec"), {})
    lines = printed.getvalue().splitlines()
    assert lines[0].startswith("npi/1 archive 1 gave up after 1 attempts: sink archive:")
    assert lines[1] == "1 delivered, 0 still pending"
    assert json.loads((workspace / "a.jsonl").read_text())["key"] == "npi/1"
