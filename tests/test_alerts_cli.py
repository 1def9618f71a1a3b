"""``kgsentinel alerts`` and ``kgsentinel detect`` with alerts, on a generated NPI log.

A small log is simulated (kgsentinel.simulate) with skipped steps planted in
some launches, ingested once into a workspace whose only detector is
conformance, and copied for each test; commands run through Typer's runner
and are checked through the library and the JSON Lines sink's file.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from kgsentinel.alerts import list_alerts, process
from kgsentinel.cli.app import app
from kgsentinel.ingest.job import event_table_mapping, ingest_path
from kgsentinel.simulate import generate, inject
from kgsentinel.workspace import init_workspace, open_workspace

SETTINGS = """[project]
name = "npi"
[detectors.conformance]
labels = {team = "npi"}
[sinks.ops]
kind = "jsonl"
path = "notifications.jsonl"
[alerts]
sink = "ops"
group_wait = "0s"
"""


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, set[str]]:
    """A workspace with a simulated log ingested, and the launches with a skipped step."""
    root = init_workspace(tmp_path_factory.mktemp("npi") / "ws", name="npi")
    (root / "kgsentinel.toml").write_text(SETTINGS)
    table, labels = inject(generate("npi", cases=60, seed=3), share=0.15, kinds=["skip"], seed=3)
    path = root / "data" / "launches.csv"
    table.to_csv(path, index=False)
    mapping = event_table_mapping("launches", case="case_id", activity="activity",
                                  timestamp="timestamp", resource="resource")  # fmt: skip
    with open_workspace(root) as ws:
        ingest_path(ws, path, mapping=mapping, graph="launches")
    return root, set(labels["case_id"])


@pytest.fixture
def ws(planted: tuple[Path, set[str]], tmp_path: Path) -> Path:
    copy = tmp_path / "ws"
    shutil.copytree(planted[0], copy)
    return copy


def kgsentinel(root: Path, *args: str) -> Any:
    return CliRunner().invoke(app, ["-w", str(root), *args], env={"COLUMNS": "250"})


def notifications(root: Path) -> list[dict[str, Any]]:
    path = root / "notifications.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def detect(root: Path) -> Any:
    result = kgsentinel(root, "detect", "conformance")
    assert result.exit_code == 0, result.stderr
    return result


def test_detect_alerts_the_sink_with_one_grouped_message_per_kind(
    ws: Path, planted: tuple[Path, set[str]]
) -> None:
    result = detect(ws)
    assert "Alerts: " in result.stderr
    notes = notifications(ws)
    kinds = [note["common_labels"]["kind"] for note in notes]
    assert len(kinds) == len(set(kinds))
    (skipped,) = [note for note in notes if note["common_labels"]["kind"] == "skipped"]
    cases = {alert["annotations"]["case_id"] for alert in skipped["alerts"]}
    assert cases & planted[1]
    assert skipped["status"] == "firing"
    assert skipped["common_labels"]["team"] == "npi"
    detect(ws)
    assert notifications(ws) == notes


def test_alerts_lists_them_in_every_format_and_filters_by_state(ws: Path) -> None:
    detect(ws)
    with open_workspace(ws) as opened:
        expected = sorted(list_alerts(opened.store)["id"])
    as_json = kgsentinel(ws, "alerts", "--format", "json")
    assert sorted(row["id"] for row in json.loads(as_json.stdout)) == expected
    as_csv = kgsentinel(ws, "alerts", "--state", "firing", "--format", "csv")
    assert sorted(row["id"] for row in csv.DictReader(io.StringIO(as_csv.stdout))) == expected
    table = kgsentinel(ws, "alerts")
    assert expected[0] in table.stdout
    assert f"{len(expected):,} alerts" in table.stderr
    none = kgsentinel(ws, "alerts", "--state", "resolved", "--format", "json")
    assert json.loads(none.stdout) == []


def test_ack_and_resolve_change_the_alert_by_its_id(ws: Path) -> None:
    detect(ws)
    with open_workspace(ws) as opened:
        first, second = list_alerts(opened.store)["id"][:2]
    acked = kgsentinel(ws, "alerts", "ack", first, "--by", "alice", "-m", "on it")
    assert acked.exit_code == 0, acked.stderr
    resolved = kgsentinel(ws, "alerts", "resolve", second[:8], "--by", "bob")
    assert resolved.exit_code == 0, resolved.stderr
    with open_workspace(ws) as opened:
        states = dict(zip(*(list_alerts(opened.store)[c] for c in ("id", "state")), strict=True))
    assert (states[first], states[second]) == ("acknowledged", "resolved")
    history = kgsentinel(ws, "alerts", "history", first)
    assert history.exit_code == 0, history.stderr
    assert "alice" in history.stdout
    assert "on it" in history.stdout


def test_an_unknown_id_is_one_line_and_exit_1(ws: Path) -> None:
    result = kgsentinel(ws, "alerts", "ack", "feedbeef0000")
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "Error: no alert with id 'feedbeef0000'; list alerts with `kgsentinel alerts`"
    ]


def test_silence_mutes_matching_alerts_until_it_is_ended(ws: Path) -> None:
    detect(ws)
    result = kgsentinel(ws, "alerts", "silence", "--match", "kind=skipped", "--match",
                        "team=npi", "--for", "2h", "-m", "recipe migration")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert 'kind="skipped" team="npi"' in result.stdout
    with open_workspace(ws) as opened:
        frame = list_alerts(opened.store)
    silenced = frame[frame["kind"] == "skipped"]
    assert f"({len(silenced):,} alerts silenced now)" in result.stdout
    assert len(silenced) > 0
    assert set(silenced["state"]) == {"silenced"}
    assert set(frame[frame["kind"] != "skipped"]["state"]) <= {"firing"}
    silence_id = result.stdout.split()[1]
    listed = kgsentinel(ws, "alerts", "silences")
    assert silence_id in listed.stdout
    assert "recipe migration" in listed.stdout
    ended = kgsentinel(ws, "alerts", "unsilence", silence_id)
    assert ended.exit_code == 0, ended.stderr
    assert silence_id not in kgsentinel(ws, "alerts", "silences").stdout
    assert silence_id in kgsentinel(ws, "alerts", "silences", "--all").stdout
    processed = kgsentinel(ws, "alerts", "process")
    assert processed.exit_code == 0, processed.stderr
    with open_workspace(ws) as opened:
        assert list_alerts(opened.store, "silenced").empty


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--match", "kind", "--for", "2h"], "matcher 'kind' is not name=value"),
        (["--match", "kind=stuck", "--for", "soon"], "duration 'soon' is not understood"),
        (["--match", "kind=stuck"], "give the silence an end"),
    ],
)
def test_a_bad_silence_is_one_line(ws: Path, args: list[str], message: str) -> None:
    result = kgsentinel(ws, "alerts", "silence", *args)
    assert result.exit_code == 1
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_process_without_routes_keeps_alerts_and_sends_nothing(tmp_path: Path) -> None:
    root = init_workspace(tmp_path / "bare")
    result = kgsentinel(root, "alerts", "process")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("0 alerts raised, 0 resolved, 0 notifications queued")


def test_alerts_test_sends_a_test_notification_through_the_sink(ws: Path) -> None:
    result = kgsentinel(ws, "alerts", "test", "ops")
    assert result.exit_code == 0, result.stderr
    (note,) = notifications(ws)
    assert note["test"] is True
    unknown = kgsentinel(ws, "alerts", "test", "slack")
    assert unknown.exit_code == 1
    assert "no sink named 'slack'" in unknown.stderr


def test_a_sink_down_leaves_its_notifications_waiting_and_the_list_says_so(ws: Path) -> None:
    (ws / "notifications.jsonl").mkdir()  # the sink cannot append to a folder
    detect(ws)
    table = kgsentinel(ws, "alerts")
    assert "notifications waiting" in table.stderr
    (ws / "notifications.jsonl").rmdir()
    with open_workspace(ws) as opened:
        later = process(opened, now=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1))
    assert later.delivery.delivered == len(notifications(ws)) > 0
    assert "waiting" not in kgsentinel(ws, "alerts").stderr


def test_a_route_to_an_undefined_sink_is_one_line_naming_the_route(ws: Path) -> None:
    (ws / "kgsentinel.toml").write_text(SETTINGS + '[alerts.routes.npi]\nsink = "slak"\n')
    result = kgsentinel(ws, "alerts")
    assert result.exit_code == 1
    assert "[alerts.routes.npi] sink 'slak' is not defined: add a [sinks.slak] section" in (
        result.stderr
    )


def test_a_sink_missing_its_secret_waits_while_the_others_deliver(ws: Path) -> None:
    (ws / "kgsentinel.toml").write_text(
        SETTINGS.replace('sink = "ops"', 'sink = ["ops", "team"]')
        + '[sinks.team]\nkind = "slack"\nurl_env = "NPI_SLACK_WEBHOOK"\n'
    )
    result = detect(ws)
    assert "Warning: [sinks.team] url_env: the environment variable NPI_SLACK_WEBHOOK" in (
        result.stderr
    )
    assert len(notifications(ws)) > 0
    assert "notifications waiting" in kgsentinel(ws, "alerts").stderr
