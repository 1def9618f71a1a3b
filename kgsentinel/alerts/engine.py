"""The alert engine: anomalies in, grouped notifications out, through the outbox.

:func:`process` is the one entry point (``kgsentinel alerts process``, the end of
``kgsentinel detect``, and the scheduler call it):

1. sync the alerts graph with the anomalies and silences (:mod:`.lifecycle`);
2. put each open alert into the groups of the routes it matches, and decide,
   with Alertmanager's timing, which groups notify now (:mod:`.grouping`);
3. enqueue those notifications in the durable outbox, then deliver what is due.

``now`` replaces the clock, so tests move time on without sleeping. Runs in one
workspace take turns (a lock file in ``.kgsentinel/alerts/``).

Example:
    >>> import tempfile, pathlib
    >>> from kgsentinel.workspace import init_workspace, open_workspace
    >>> with open_workspace(init_workspace(pathlib.Path(tempfile.mkdtemp()) / "w")) as ws:
    ...     report = process(ws)
    >>> report.raised, report.enqueued
    (0, 0)
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from kgsentinel.alerts.config import Route
from kgsentinel.alerts.grouping import Group, GroupBook, group_id, group_key, needs_notification
from kgsentinel.alerts.lifecycle import sync_alerts
from kgsentinel.alerts.notification import AlertSummary, Notification
from kgsentinel.alerts.records import AlertRecord, read_alerts

if TYPE_CHECKING:  # pragma: no cover
    from kgsentinel.alerts.config import AlertsConfig
    from kgsentinel.alerts.notification import Sink
    from kgsentinel.workspace import Workspace

__all__ = ["AlertsReport", "NotificationQueue", "notifications_due", "process"]

STATE_FOLDER = "alerts"


class NotificationQueue(Protocol):
    """Where notifications wait for delivery (the outbox)."""

    def enqueue(self, notifications: Sequence[Notification]) -> int:
        """Add them; a key seen before is ignored. Returns how many were new."""
        ...

    def deliver(self, sinks: Mapping[str, Sink], now: dt.datetime | None = None) -> Any:
        """Try every due entry once."""
        ...


@dataclass(frozen=True)
class AlertsReport:
    """What one :func:`process` run did.

    ``delivery`` is the outbox's report (``None`` when no sink was used);
    ``errors`` are one line each: sinks that could not be made (their
    notifications wait) and delivery errors (retried).
    """

    raised: int = 0
    resolved: int = 0
    silenced: int = 0
    unsilenced: int = 0
    #: resolved alerts whose anomaly was detected again
    refired: int = 0
    notifications: tuple[Notification, ...] = ()
    enqueued: int = 0
    delivery: Any = None
    groups: int = 0
    errors: list[str] = field(default_factory=list)
    #: when the next group is due to notify (a new one waiting out group_wait, ...)
    next_due: dt.datetime | None = None

    @property
    def changed_anything(self) -> bool:
        """Whether the run changed an alert, queued, sent or failed a notification, or erred.

        Example:
            >>> AlertsReport().changed_anything, AlertsReport(raised=1).changed_anything
            (False, True)
        """
        delivery = self.delivery
        delivered = delivery is not None and any(
            (delivery.delivered, delivery.retrying, delivery.dead_lettered)
        )
        return delivered or any((self.raised, self.resolved, self.silenced, self.unsilenced,
                                 self.refired, self.enqueued, self.errors))  # fmt: skip


def process(
    workspace: Workspace,
    now: dt.datetime | None = None,
    *,
    outbox: NotificationQueue | None = None,
    sinks: Mapping[str, Sink] | None = None,
) -> AlertsReport:
    """Sync alerts from anomalies, apply silences, enqueue due notifications, deliver.

    ``outbox`` and ``sinks`` default to the workspace's outbox and its
    ``[sinks.NAME]``; ``now`` defaults to the clock (a time without a zone is UTC).
    """
    now = now or dt.datetime.now(dt.UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.UTC)
    config = workspace.config.alerts
    folder = workspace.state_dir / STATE_FOLDER
    with _turn(folder):
        queue = outbox if outbox is not None else _outbox(workspace)
        book = GroupBook.read(folder / "groups.json")
        _flush_pending(book, queue)
        synced = sync_alerts(workspace.store, config, now=now)
        notes = notifications_due(workspace.store, config, book, now=now)
        book.pending = [_encode(note) for note in notes]
        book.save()
        enqueued = _flush_pending(book, queue)
        delivery, errors = None, []
        if sinks is None and config.enabled:
            sinks, errors = _sinks(workspace)
        if sinks is not None:
            delivery = queue.deliver(sinks, now=now)
            errors += list(getattr(delivery, "errors", None) or [])
    return AlertsReport(
        raised=synced.raised, resolved=synced.resolved, silenced=synced.silenced,
        unsilenced=synced.unsilenced, refired=synced.refired, notifications=tuple(notes),
        enqueued=enqueued,
        delivery=delivery, groups=len(book.groups),
        errors=errors,
        next_due=min((g.next_flush for g in book.groups.values() if g.last_sent is None),
                     default=None),
    )  # fmt: skip


def notifications_due(
    store: Any, config: AlertsConfig, book: GroupBook, *, now: dt.datetime
) -> list[Notification]:
    """The notifications the groups send now; ``book`` is brought up to date."""
    routes = {route.name: route for route in config.resolved_routes()}
    alerts = read_alerts(store, states=["firing", "acknowledged", "silenced"])
    alerts += read_alerts(store, states=["resolved"], fingerprints=book.open_fingerprints())
    members: dict[str, dict[str, list[AlertRecord]]] = {}
    claimed: set[str] = set()  # the groups some alert belongs to under the settings now
    for alert in alerts:
        for route in config.routes_for(alert.labels):
            if not route.sinks:
                continue
            labels = route.group_labels(alert.labels)
            gid = group_id(route.name, labels)
            claimed.add(gid)
            group = book.groups.get(gid)
            if group is None and alert.state == "firing":
                group = Group(route.name, labels, next_flush=now + route.group_wait)
                book.groups[gid] = group
            if group is not None:
                members.setdefault(gid, {"firing": [], "resolved": []})
                if alert.state == "firing":
                    members[gid]["firing"].append(alert)
                elif alert.state == "resolved" and alert.fingerprint in group.open:
                    members[gid]["resolved"].append(alert)
    notes: list[Notification] = []
    for gid, group in list(book.groups.items()):
        route = routes.get(group.route)
        if route is None or gid not in claimed:  # its route, or the alerts' grouping, changed:
            del book.groups[gid]  # they are in the groups the settings make now
            continue
        if now < group.next_flush:
            continue
        notes += _flush(book, gid, group, route, members.get(gid, {}), now, config.external_url)
    return notes


def _flush(
    book: GroupBook, gid: str, group: Group, route: Route,
    members: Mapping[str, list[AlertRecord]], now: dt.datetime, external_url: str | None,
) -> list[Notification]:  # fmt: skip
    firing = members.get("firing", [])
    resolved = members.get("resolved", [])
    firing_fps = {a.fingerprint for a in firing}
    resolved_fps = {a.fingerprint for a in resolved}
    notes: list[Notification] = []
    if needs_notification(group, firing=firing_fps, resolved=resolved_fps, now=now,
                          repeat=route.repeat_interval):  # fmt: skip
        sequence = book.next_sequence(gid)
        status = "firing" if firing else "resolved"
        summaries = tuple(_summary(a, external_url) for a in [*firing, *resolved])
        common = _common_labels([a.labels for a in [*firing, *resolved]])
        notes = [
            Notification(
                key=f"{gid}/{status}/{sequence}/{sink}",
                sink=sink,
                route=route.name,
                group_key=group_key(route.name, group.labels),
                status=status,
                alerts=summaries,
                common_labels=common,
                created_at=now,
            )
            for sink in route.sinks
        ]
        group.last_sent = now
        group.last_firing = firing_fps
        group.open = (group.open - resolved_fps) | firing_fps
    group.next_flush = now + route.group_interval
    if not firing_fps and not group.open:
        del book.groups[gid]
    return notes


def _summary(alert: AlertRecord, external_url: str | None) -> AlertSummary:
    anomaly_id = alert.anomaly.rsplit(":", 1)[-1]
    link = f"{external_url}/anomalies/{anomaly_id}" if external_url else alert.anomaly
    annotations = {"alert_id": alert.id, "anomaly": alert.anomaly, "state": alert.state}
    if alert.case_id:
        annotations["case_id"] = alert.case_id
    if alert.activity:
        annotations["activity"] = alert.activity
    ends = alert.last_seen if alert.state == "resolved" else None
    return AlertSummary(fingerprint=alert.fingerprint, labels=dict(alert.labels),
                        summary=alert.summary, starts_at=alert.first_seen, ends_at=ends,
                        link=link, annotations=annotations)  # fmt: skip


def _common_labels(labels: list[Mapping[str, str]]) -> dict[str, str]:
    if not labels:
        return {}
    first = labels[0]
    return {k: v for k, v in sorted(first.items()) if all(m.get(k) == v for m in labels[1:])}


def _flush_pending(book: GroupBook, queue: NotificationQueue) -> int:
    """Enqueue what the book still holds, then empty it (a re-run enqueues nothing new)."""
    if not book.pending:
        return 0
    from kgsentinel.alerts.outbox import decode_notification

    added = queue.enqueue([decode_notification(data) for data in book.pending])
    book.pending = []
    book.save()
    return added


def _encode(note: Notification) -> dict[str, Any]:
    from kgsentinel.alerts.outbox import encode_notification

    return encode_notification(note)


def _outbox(workspace: Workspace) -> NotificationQueue:
    from kgsentinel.alerts.outbox import Outbox

    return Outbox(workspace.state_dir)


def _sinks(workspace: Workspace) -> tuple[dict[str, Sink], list[str]]:
    """The sinks that can be made; one that cannot (a variable not set) is an error line,
    and its notifications wait in the outbox while the others are delivered."""
    from kgsentinel.alerts.sinks import build_sink
    from kgsentinel.errors import ConfigError

    sinks, errors = {}, []
    for name, settings in workspace.config.sinks.items():
        try:
            sinks[name] = build_sink(name, settings, workspace.env, root=workspace.root)
        except ConfigError as exc:
            errors.append(str(exc))
    return sinks, errors


@contextlib.contextmanager
def _turn(folder: Path) -> Iterator[None]:
    """Hold the workspace's alerts lock (runs of :func:`process` take turns)."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
