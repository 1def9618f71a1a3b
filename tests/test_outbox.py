"""The outbox: durable, idempotent by key, retried with backoff, dead letters, no repeats."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from peers import HttpReceiver, wait_until

from kgsentinel.alerts.notification import AlertSummary, Notification
from kgsentinel.alerts.outbox import Outbox, backoff_delay
from kgsentinel.alerts.sinks import SinkConfig, build_sinks
from kgsentinel.alerts.sinks.jsonl import JsonLinesSink
from kgsentinel.alerts.sinks.webhook import WebhookSink

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def notification(n: int, sink: str = "file", status: str = "firing") -> Notification:
    alert = AlertSummary(
        fingerprint=f"fp{n}",
        labels={"detector": "conformance", "kind": "skipped", "severity": "warning"},
        summary=f"case {n} skipped Stability test",
        starts_at=T0,
        ends_at=T0 + timedelta(hours=1) if status == "resolved" else None,
        link=f"urn:kgsentinel:anomaly:fp{n}",
    )
    return Notification(
        key=f"npi/{n}/{status}/1",
        sink=sink,
        route="npi",
        group_key="npi",
        status=status,  # type: ignore[arg-type]
        alerts=(alert,),
        common_labels={"severity": "warning"},
        created_at=T0,
    )


def lines(path: Path) -> list[dict[str, object]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_key_seen_before_is_not_enqueued_again(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path)
    assert outbox.enqueue([notification(1), notification(2)]) == 2
    assert outbox.enqueue([notification(2), notification(3)]) == 1
    assert [entry.key for entry in outbox.pending()] == [
        "npi/1/firing/1",
        "npi/2/firing/1",
        "npi/3/firing/1",
    ]


def test_delivered_entries_survive_a_restart_and_are_never_sent_again(tmp_path: Path) -> None:
    path = tmp_path / "alerts.jsonl"
    sinks = {"file": JsonLinesSink("file", path)}
    Outbox(tmp_path).enqueue([notification(1), notification(2)])
    report = Outbox(tmp_path).deliver(sinks, now=T0)
    assert report.delivered == 2
    restarted = Outbox(tmp_path)
    assert restarted.enqueue([notification(1)]) == 0
    assert restarted.deliver(sinks, now=T0 + timedelta(days=1)).delivered == 0
    assert [line["key"] for line in lines(path)] == ["npi/1/firing/1", "npi/2/firing/1"]
    assert [entry.key for entry in restarted.delivered()] == ["npi/1/firing/1", "npi/2/firing/1"]


def test_a_sink_that_fails_keeps_its_entries_and_delivers_them_when_it_recovers(
    tmp_path: Path,
) -> None:
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the sink's folder should be")
    path = blocked / "alerts.jsonl"
    outbox = Outbox(tmp_path, base_delay=10, max_delay=60, rng=random.Random(3))
    outbox.enqueue([notification(1), notification(2)])
    report = outbox.deliver({"file": JsonLinesSink("file", path)}, now=T0)
    assert (report.retrying, report.deferred, report.delivered) == (1, 1, 0)
    assert "cannot append to" in report.errors[0]
    [first, second] = outbox.pending()
    assert first.attempts == 1
    assert first.last_error is not None
    assert "cannot append" in first.last_error
    assert first.next_attempt_at is not None
    assert T0 <= first.next_attempt_at <= T0 + timedelta(seconds=10)
    assert second.attempts == 0
    blocked.unlink()
    report = outbox.deliver({"file": JsonLinesSink("file", path)}, now=T0 + timedelta(minutes=1))
    assert report.delivered == 2
    assert [line["key"] for line in lines(path)] == ["npi/1/firing/1", "npi/2/firing/1"]
    assert outbox.pending() == []


def test_an_entry_is_not_retried_before_its_backoff_is_over(tmp_path: Path) -> None:
    blocked = tmp_path / "blocked"
    blocked.write_text("")
    outbox = Outbox(tmp_path, base_delay=100, max_delay=100, rng=random.Random(1))
    outbox.enqueue([notification(1)])
    outbox.deliver({"file": JsonLinesSink("file", blocked / "a.jsonl")}, now=T0)
    [entry] = outbox.pending()
    assert entry.next_attempt_at is not None
    blocked.unlink()
    early = entry.next_attempt_at - timedelta(seconds=1)
    sinks = {"file": JsonLinesSink("file", blocked / "a.jsonl")}
    assert outbox.deliver(sinks, now=early).attempted == 0
    assert outbox.deliver(sinks, now=entry.next_attempt_at).delivered == 1


def test_transient_failures_become_a_dead_letter_after_max_age(tmp_path: Path) -> None:
    blocked = tmp_path / "blocked"
    blocked.write_text("")
    sinks = {"file": JsonLinesSink("file", blocked / "a.jsonl")}
    outbox = Outbox(tmp_path, base_delay=60, max_delay=600, max_age=3600)
    outbox.enqueue([notification(1)])
    outbox.deliver(sinks, now=T0)
    report = outbox.deliver(sinks, now=T0 + timedelta(hours=2))
    assert report.dead_lettered == 1
    [dead] = outbox.dead_letters()
    assert dead.last_error is not None
    assert dead.last_error.startswith("gave up after 2 attempts: sink file: cannot append")
    assert outbox.pending() == []
    assert outbox.requeue() == 1
    blocked.unlink()
    assert outbox.deliver(sinks, now=T0 + timedelta(hours=3)).delivered == 1


def test_entries_of_a_sink_not_given_stay_pending(tmp_path: Path) -> None:
    path = tmp_path / "alerts.jsonl"
    outbox = Outbox(tmp_path)
    outbox.enqueue([notification(1, sink="slack"), notification(2)])
    report = outbox.deliver({"file": JsonLinesSink("file", path)}, now=T0)
    assert (report.delivered, report.no_sink) == (1, 1)
    assert [entry.sink for entry in outbox.pending()] == ["slack"]


def test_backoff_grows_exponentially_with_full_jitter_up_to_the_cap() -> None:
    rng = random.Random(7)
    delays = [
        [backoff_delay(n, base_delay=2, max_delay=60, rng=rng) for _ in range(200)]
        for n in (1, 3, 10)
    ]
    assert max(delays[0]) <= 2
    assert max(delays[1]) <= 8
    assert max(delays[1]) > 6
    assert max(delays[2]) <= 60
    assert max(delays[2]) > 50
    assert min(delays[2]) < 10


def test_the_console_sink_prints_each_notification(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sinks = build_sinks({"console": SinkConfig(kind="console")}, {}, root=tmp_path)
    outbox = Outbox(tmp_path)
    outbox.enqueue([notification(1, sink="console"), notification(2, "console", "resolved")])
    assert outbox.deliver(sinks, now=T0).delivered == 2
    printed = capsys.readouterr().out
    assert "[FIRING:1] warning\n- case 1 skipped Stability test\n" in printed
    assert "[RESOLVED:1] warning\n- case 2 skipped Stability test\n" in printed
    assert "resolved 2026-03-02 09:00 UTC, evidence: urn:kgsentinel:anomaly:fp2" in printed


def test_the_jsonl_sink_writes_relative_to_the_workspace(tmp_path: Path) -> None:
    sinks = build_sinks(
        {"file": SinkConfig(kind="jsonl", path="out/alerts.jsonl")}, {}, root=tmp_path
    )
    outbox = Outbox(tmp_path / ".kgsentinel")
    outbox.enqueue([notification(1)])
    outbox.deliver(sinks, now=T0)
    [line] = lines(tmp_path / "out" / "alerts.jsonl")
    assert line["title"] == "[FIRING:1] warning"
    assert line["alerts"][0]["link"] == "urn:kgsentinel:anomaly:fp1"  # type: ignore[index]


# --- crashes and concurrent deliverers, against a real HTTP receiver ------------------------

DELIVERER = """
import sys, time
from pathlib import Path
from kgsentinel.alerts.outbox import Outbox
from kgsentinel.alerts.sinks.webhook import WebhookSink
state_dir, url, go = sys.argv[1], sys.argv[2], Path(sys.argv[3])
outbox = Outbox(state_dir)
(Path(state_dir) / f"ready-{sys.argv[4]}").touch()
while not go.exists():
    time.sleep(0.01)
report = outbox.deliver({"hook": WebhookSink("hook", url, timeout=60)})
print(report.delivered, flush=True)
"""


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    server = HttpReceiver().start()
    yield server
    server.stop()


def start_deliverer(state_dir: Path, url: str, go: Path, name: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", DELIVERER, str(state_dir), url, str(go), name],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "error"},
    )


def test_a_deliverer_killed_mid_delivery_loses_nothing_and_repeats_only_with_the_same_key(
    receiver: HttpReceiver, tmp_path: Path
) -> None:
    notes = [notification(n, sink="hook") for n in range(3)]
    outbox = Outbox(tmp_path, lease=300)
    outbox.enqueue(notes)
    release = receiver.hold_next(after=1)  # the first is answered, the second held open
    go = tmp_path / "go"
    go.touch()
    process = start_deliverer(tmp_path, receiver.url(), go, "a")
    try:
        receiver.wait_for(2, timeout=30)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        release.set()
        process.kill()
        process.communicate()
    assert process.returncode == -signal.SIGKILL
    assert [entry.key for entry in outbox.delivered()] == [notes[0].key]
    assert [entry.key for entry in outbox.pending()] == [notes[1].key, notes[2].key]

    sinks = {"hook": WebhookSink("hook", receiver.url())}
    restarted = Outbox(tmp_path, lease=300)
    soon = datetime.now(UTC)
    assert restarted.deliver(sinks, now=soon).delivered == 1  # the third; the second is leased
    after_lease = soon + timedelta(seconds=301)
    assert restarted.deliver(sinks, now=after_lease).delivered == 1
    assert restarted.deliver(sinks, now=after_lease + timedelta(days=1)).attempted == 0
    seen = Counter(r.headers["idempotency-key"] for r in receiver.received())
    assert seen == {notes[0].key: 1, notes[1].key: 2, notes[2].key: 1}
    assert {r.json()["idempotencyKey"] for r in receiver.received()} == {n.key for n in notes}
    assert restarted.pending() == []


def test_two_concurrent_deliverers_never_send_one_entry_twice(
    receiver: HttpReceiver, tmp_path: Path
) -> None:
    notes = [notification(n, sink="hook") for n in range(40)]
    Outbox(tmp_path).enqueue(notes)
    receiver.delay = 0.01
    go = tmp_path / "go"
    processes = [start_deliverer(tmp_path, receiver.url(), go, name) for name in "ab"]
    try:
        wait_until(
            lambda: all((tmp_path / f"ready-{n}").exists() for n in "ab"),
            timeout=30,
            what="both deliverers to start",
        )
        go.touch()
        counts = [int(p.communicate(timeout=120)[0]) for p in processes]
    finally:
        for process in processes:
            process.kill()
            process.communicate()
    assert sum(counts) == 40
    keys = [r.headers["idempotency-key"] for r in receiver.received()]
    assert len(keys) == 40
    assert set(keys) == {note.key for note in notes}
    assert Outbox(tmp_path).pending() == []


def test_delivered_entries_are_forgotten_after_keep_delivered(tmp_path: Path) -> None:
    sinks = {"file": JsonLinesSink("file", tmp_path / "alerts.jsonl")}
    outbox = Outbox(tmp_path, keep_delivered=7 * 86400)
    outbox.enqueue([notification(1)])
    outbox.deliver(sinks, now=T0)
    outbox.deliver(sinks, now=T0 + timedelta(days=6))
    assert outbox.enqueue([notification(1)]) == 0
    outbox.deliver(sinks, now=T0 + timedelta(days=8))
    assert outbox.delivered() == []
    assert outbox.enqueue([notification(1)]) == 1
