"""The durable outbox: notifications wait in ``.kgsentinel/outbox.sqlite`` until delivered.

Each notification is one row, keyed by :attr:`Notification.key`; enqueueing a key
seen before does nothing, so re-running the engine never sends a change twice.
:meth:`Outbox.deliver` hands every due entry to its sink once:

* delivered: the row is marked ``delivered`` in the same transaction that checks
  this process still holds it;
* a transient failure (receiver down, 5xx, 408, 429, timeouts): retried later,
  after exponential backoff with full jitter (``uniform(0, min(max_delay,
  base_delay * 2**(attempts-1)))``), and never sooner than the receiver's
  ``Retry-After``, which holds every entry of that sink; after ``max_age`` of
  failures it becomes a dead letter. The sink's other entries wait for the
  next call instead of each trying the failing receiver;
* a permanent failure (payload refused, bad credentials): a dead letter at once,
  with the reason. :meth:`Outbox.requeue` sends a dead letter again.

Entries are claimed in a SQLite transaction (``BEGIN IMMEDIATE``) before they are
sent, so two processes delivering from one workspace (the scheduler and a CLI
run) never send one entry twice. A claim is a lease: if the process dies
between sending and marking, the entry is sent again once the lease expires,
with the same idempotency key, so the receiver can drop the repeat. That is the
only way a notification reaches a receiver twice.

Example:
    >>> import tempfile
    >>> from datetime import UTC, datetime
    >>> from kgsentinel.alerts.notification import Notification
    >>> at = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
    >>> note = Notification(key="npi/firing/1", sink="log", route="npi",
    ...     group_key="npi", status="firing", alerts=(), common_labels={}, created_at=at)
    >>> outbox = Outbox(tempfile.mkdtemp())
    >>> outbox.enqueue([note, note])
    1
    >>> class Log:
    ...     name = "log"
    ...     def send(self, notification):
    ...         print("sent", notification.key)
    >>> outbox.deliver({"log": Log()}, now=at).delivered
    sent npi/firing/1
    1
    >>> outbox.deliver({"log": Log()}, now=at).delivered, outbox.pending()
    (0, [])
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kgsentinel.alerts.notification import AlertSummary, Notification, Sink
from kgsentinel.errors import DeliveryError

__all__ = [
    "OUTBOX_FILE",
    "DeliveryReport",
    "Outbox",
    "OutboxEntry",
    "backoff_delay",
    "decode_notification",
    "encode_notification",
]

OUTBOX_FILE = "outbox.sqlite"
_TICK = 1e-6  # times shown as datetimes lose sub-microsecond digits: still due at that time

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    key TEXT PRIMARY KEY,
    sink TEXT NOT NULL,
    notification TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    next_attempt_at REAL NOT NULL,
    claimed_by TEXT,
    lease_until REAL,
    last_error TEXT,
    delivered_at REAL
);
CREATE INDEX IF NOT EXISTS due ON entries (state, next_attempt_at);
"""


@dataclass(frozen=True)
class OutboxEntry:
    """One notification in the outbox, as ``kgsentinel alerts`` shows it.

    ``state`` is ``pending`` (waiting for its next attempt), ``sending`` (claimed
    by a deliverer), ``delivered`` or ``dead`` (a dead letter; ``last_error``
    says why).
    """

    key: str
    sink: str
    state: str
    title: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    last_error: str | None


@dataclass
class DeliveryReport:
    """What one :meth:`Outbox.deliver` call did.

    ``retrying``: failed this time, to be retried; ``deferred``: not tried because
    their sink already failed in this call; ``no_sink``: their sink is not
    among the sinks given (they stay pending).
    """

    delivered: int = 0
    retrying: int = 0
    dead_lettered: int = 0
    deferred: int = 0
    no_sink: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def attempted(self) -> int:
        """Entries handed to a sink."""
        return self.delivered + self.retrying + self.dead_lettered


def backoff_delay(
    attempts: int,
    *,
    base_delay: float,
    max_delay: float,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """Seconds to wait before the next attempt: full jitter, capped, at least ``retry_after``.

    Example:
        >>> backoff_delay(3, base_delay=5, max_delay=900, rng=random.Random(1)) <= 20
        True
        >>> backoff_delay(1, base_delay=5, max_delay=900, retry_after=120)
        120
    """
    ceiling = min(max_delay, base_delay * 2 ** max(attempts - 1, 0))
    jitter = (rng or random).uniform(0, ceiling)
    return max(jitter, retry_after) if retry_after is not None else jitter


class Outbox:
    """Notifications waiting for delivery, in ``state_dir/outbox.sqlite`` (SQLite, WAL).

    ``base_delay``, ``max_delay`` (seconds) shape the backoff; ``max_age``
    (seconds since the notification was enqueued) is how long transient failures
    are retried before the entry is dead-lettered; ``lease`` is how long a claim
    holds before another deliverer may take the entry over; delivered entries are
    forgotten ``keep_delivered`` seconds after delivery (until then, enqueueing
    their key again does nothing).
    """

    def __init__(
        self,
        state_dir: str | Path,
        *,
        base_delay: float = 5.0,
        max_delay: float = 900.0,
        max_age: float = 86_400.0,
        lease: float = 300.0,
        keep_delivered: float = 30 * 86_400.0,
        rng: random.Random | None = None,
    ) -> None:
        self.path = Path(state_dir) / OUTBOX_FILE
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.max_age = max_age
        self.lease = lease
        self.keep_delivered = keep_delivered
        self._rng = rng or random.Random()  # noqa: S311 (jitter, not secrets)
        self._deliverer = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.executescript(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            yield db
        finally:
            db.close()

    def enqueue(self, notifications: Iterable[Notification]) -> int:
        """Add notifications, due at once; a key already in the outbox is ignored.

        Returns how many were new. Their age (for ``max_age``) counts from their
        ``created_at``.
        """
        rows = [
            (note.key, note.sink, json.dumps(encode_notification(note)), _epoch(note.created_at))
            for note in notifications
        ]
        with self._connect() as db:
            before = db.total_changes
            db.execute("BEGIN IMMEDIATE")
            db.executemany(
                "INSERT OR IGNORE INTO entries (key, sink, notification, created_at, "
                "next_attempt_at) VALUES (?, ?, ?, ?, 0)",
                rows,
            )
            db.execute("COMMIT")
            return db.total_changes - before

    def deliver(self, sinks: Mapping[str, Sink], now: datetime | None = None) -> DeliveryReport:
        """Hand every due entry to its sink once; see the module docstring for what follows.

        ``now`` (an aware datetime) replaces the clock, so tests can move time on.
        """
        at = _epoch(now)
        report = DeliveryReport()
        tried: list[str] = []
        failed_sinks: set[str] = set()
        with self._connect() as db:
            report.no_sink = _count_due(db, at, exclude_sinks=list(sinks))
            while True:
                usable = [name for name in sinks if name not in failed_sinks]
                claimed = self._claim(db, at, tried, usable)
                if claimed is None:
                    break
                key, sink_name, note, attempts, created_at = claimed
                tried.append(key)
                outcome = self._attempt(sinks[sink_name], note)
                self._settle(db, key, outcome, attempts + 1, at, created_at, report)
                if outcome is not None and not outcome.permanent:
                    failed_sinks.add(sink_name)
                    if outcome.retry_after is not None:
                        _hold_sink(db, sink_name, until=at + outcome.retry_after)
            report.deferred = _count_due(db, at, only_sinks=sorted(failed_sinks), tried=tried)
            db.execute(
                "DELETE FROM entries WHERE state = 'delivered' AND delivered_at < ?",
                (at - self.keep_delivered,),
            )
        return report

    def _claim(
        self, db: sqlite3.Connection, at: float, tried: list[str], sink_names: list[str]
    ) -> tuple[str, str, Notification, int, float] | None:
        """Take the oldest due entry of these sinks, in one write transaction."""
        db.execute("BEGIN IMMEDIATE")
        row = db.execute(
            "SELECT key, sink, notification, attempts, created_at FROM entries "
            "WHERE ((state = 'pending' AND next_attempt_at <= :at) "
            "OR (state = 'sending' AND lease_until <= :at)) "
            "AND sink IN (SELECT value FROM json_each(:sinks)) "
            "AND key NOT IN (SELECT value FROM json_each(:tried)) "
            "ORDER BY created_at, key LIMIT 1",
            {"at": at + _TICK, "sinks": json.dumps(sink_names), "tried": json.dumps(tried)},
        ).fetchone()
        if row is None:
            db.execute("COMMIT")
            return None
        db.execute(
            "UPDATE entries SET state = 'sending', claimed_by = ?, lease_until = ? WHERE key = ?",
            (self._deliverer, at + self.lease, row[0]),
        )
        db.execute("COMMIT")
        return row[0], row[1], decode_notification(json.loads(row[2])), row[3], row[4]

    @staticmethod
    def _attempt(sink: Sink, note: Notification) -> DeliveryError | None:
        try:
            sink.send(note)
        except DeliveryError as exc:
            return exc
        except Exception as exc:  # a sink's own bug: recorded and retried, never lost
            return DeliveryError(f"sink {note.sink}: unexpected {type(exc).__name__}")
        return None

    def _settle(
        self,
        db: sqlite3.Connection,
        key: str,
        outcome: DeliveryError | None,
        attempts: int,
        at: float,
        created_at: float,
        report: DeliveryReport,
    ) -> None:
        """Record the attempt, only if this deliverer still holds the entry."""
        mine = "WHERE key = :key AND claimed_by = :me AND state = 'sending'"
        values: dict[str, Any] = {"key": key, "me": self._deliverer, "n": attempts, "at": at}
        release = f"claimed_by = NULL, lease_until = NULL {mine}"
        if outcome is None:
            sql = "UPDATE entries SET state = 'delivered', delivered_at = :at, attempts = :n, "
            counter, message = "delivered", None
        elif outcome.permanent or at - created_at >= self.max_age:
            values["error"] = str(outcome) if outcome.permanent else _gave_up(outcome, attempts)
            sql = "UPDATE entries SET state = 'dead', attempts = :n, last_error = :error, "
            counter, message = "dead_lettered", f"{key}: dead letter: {values['error']}"
        else:
            delay = backoff_delay(attempts, base_delay=self.base_delay, max_delay=self.max_delay,
                                  retry_after=outcome.retry_after, rng=self._rng)  # fmt: skip
            values.update(error=str(outcome), next=at + delay)
            sql = "UPDATE entries SET state = 'pending', attempts = :n, last_error = :error, "
            sql += "next_attempt_at = :next, "
            counter, message = "retrying", f"{key}: {outcome} (retrying in {delay:.0f} s)"
        if db.execute(sql + release, values).rowcount == 0:
            report.errors.append(f"{key}: taken over by another deliverer after its lease ran out")
            return
        setattr(report, counter, getattr(report, counter) + 1)
        if message:
            report.errors.append(message)

    def pending(self) -> list[OutboxEntry]:
        """Entries not yet delivered nor dead-lettered, oldest first."""
        return self._entries("pending", "sending")

    def dead_letters(self) -> list[OutboxEntry]:
        """Entries given up on, with the reason in ``last_error``, oldest first."""
        return self._entries("dead")

    def delivered(self) -> list[OutboxEntry]:
        """Entries delivered, oldest first."""
        return self._entries("delivered")

    def _entries(self, *states: str) -> list[OutboxEntry]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT key, sink, state, notification, attempts, created_at, "
                "next_attempt_at, last_error FROM entries "
                "WHERE state IN (SELECT value FROM json_each(?)) ORDER BY created_at, key",
                (json.dumps(states),),
            ).fetchall()
        return [_entry(row) for row in rows]

    def requeue(self, keys: Iterable[str] | None = None, *, now: datetime | None = None) -> int:
        """Make dead letters (these keys, or all) pending again, due now. Returns how many."""
        wanted = None if keys is None else json.dumps(list(keys))
        with self._connect() as db:
            cursor = db.execute(
                "UPDATE entries SET state = 'pending', next_attempt_at = 0, attempts = 0, "
                "created_at = :at WHERE state = 'dead' AND (:keys IS NULL OR key IN "
                "(SELECT value FROM json_each(:keys)))",
                {"at": _epoch(now), "keys": wanted},
            )
            return cursor.rowcount


def _hold_sink(db: sqlite3.Connection, sink: str, *, until: float) -> None:
    """The receiver asked to wait (Retry-After): none of the sink's entries goes before."""
    db.execute(
        "UPDATE entries SET next_attempt_at = max(next_attempt_at, ?) "
        "WHERE sink = ? AND state = 'pending'",
        (until, sink),
    )


def _count_due(
    db: sqlite3.Connection,
    at: float,
    *,
    exclude_sinks: list[str] | None = None,
    only_sinks: list[str] | None = None,
    tried: list[str] | None = None,
) -> int:
    sql = "SELECT count(*) FROM entries WHERE state = 'pending' AND next_attempt_at <= :at"
    if exclude_sinks is not None:
        sql += " AND sink NOT IN (SELECT value FROM json_each(:exclude))"
    if only_sinks is not None:
        sql += " AND sink IN (SELECT value FROM json_each(:only))"
    if tried is not None:
        sql += " AND key NOT IN (SELECT value FROM json_each(:tried))"
    values = {"at": at + _TICK, "exclude": json.dumps(exclude_sinks or []),
              "only": json.dumps(only_sinks or []), "tried": json.dumps(tried or [])}  # fmt: skip
    return int(db.execute(sql, values).fetchone()[0])


def _gave_up(error: DeliveryError, attempts: int) -> str:
    return f"gave up after {attempts} attempts: {error}"


def _entry(row: tuple[Any, ...]) -> OutboxEntry:
    key, sink, state, payload, attempts, created_at, next_at, last_error = row
    title = decode_notification(json.loads(payload)).title
    waiting = state in ("pending", "sending")
    return OutboxEntry(
        key=key,
        sink=sink,
        state=state,
        title=title,
        attempts=attempts,
        created_at=datetime.fromtimestamp(created_at, UTC),
        next_attempt_at=datetime.fromtimestamp(next_at, UTC) if waiting else None,
        last_error=last_error,
    )


def _epoch(now: datetime | None) -> float:
    if now is None:
        return time.time()
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime (with a time zone)")
    return now.timestamp()


def encode_notification(note: Notification) -> dict[str, Any]:
    """A notification as JSON-ready data (times in ISO 8601); :func:`decode_notification`
    reads it back.

    Example:
        >>> at = datetime(2026, 1, 5, tzinfo=UTC)
        >>> note = Notification(key="k", sink="s", route="r", group_key="g",
        ...     status="resolved", alerts=(), common_labels={"team": "npi"}, created_at=at)
        >>> decode_notification(encode_notification(note)) == note
        True
    """
    return {
        "key": note.key,
        "sink": note.sink,
        "route": note.route,
        "group_key": note.group_key,
        "status": note.status,
        "title": note.title,
        "common_labels": dict(note.common_labels),
        "created_at": note.created_at.isoformat(),
        "test": note.test,
        "alerts": [_encode_alert(alert) for alert in note.alerts],
    }


def _encode_alert(alert: AlertSummary) -> dict[str, Any]:
    return {
        "fingerprint": alert.fingerprint,
        "labels": dict(alert.labels),
        "summary": alert.summary,
        "description": alert.description,
        "starts_at": alert.starts_at.isoformat(),
        "ends_at": alert.ends_at.isoformat() if alert.ends_at else None,
        "link": alert.link,
        "annotations": dict(alert.annotations),
    }


def decode_notification(data: Mapping[str, Any]) -> Notification:
    """The notification :func:`encode_notification` wrote."""
    return Notification(
        key=data["key"],
        sink=data["sink"],
        route=data["route"],
        group_key=data["group_key"],
        status=data["status"],
        alerts=tuple(_decode_alert(alert) for alert in data["alerts"]),
        common_labels=dict(data["common_labels"]),
        created_at=datetime.fromisoformat(data["created_at"]),
        test=bool(data.get("test", False)),
    )


def _decode_alert(data: Mapping[str, Any]) -> AlertSummary:
    return AlertSummary(
        fingerprint=data["fingerprint"],
        labels=dict(data["labels"]),
        summary=data["summary"],
        description=data.get("description", ""),
        starts_at=datetime.fromisoformat(data["starts_at"]),
        ends_at=datetime.fromisoformat(data["ends_at"]) if data.get("ends_at") else None,
        link=data.get("link"),
        annotations=dict(data.get("annotations") or {}),
    )
