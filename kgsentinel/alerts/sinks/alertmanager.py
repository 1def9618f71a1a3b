"""The Alertmanager sink: alerts posted to a Prometheus Alertmanager (``POST /api/v2/alerts``).

Alertmanager then groups, silences, inhibits and routes them like the alerts of
Prometheus. Each alert is sent with its labels (plus ``alertname`` and
``fingerprint``, which keep two anomalies with equal labels apart) and
annotations (summary, description, link). A firing alert's ``endsAt`` is the
sending time plus ``ttl``: Alertmanager keeps it active that long without news,
so the route's ``repeat_interval`` should be shorter. A resolved alert carries
its real ``endsAt`` and Alertmanager resolves it at once. Sending the same
alert again changes nothing in Alertmanager, so a repeat after a crash is harmless.

Example:
    >>> from datetime import datetime, timezone
    >>> from kgsentinel.alerts.notification import AlertSummary, Notification
    >>> at = datetime(2026, 1, 5, 9, 30, tzinfo=timezone.utc)
    >>> alert = AlertSummary(fingerprint="4f2a", labels={"kind": "skipped", "team.name": "npi"},
    ...     summary="case 7 skipped Stability test", starts_at=at)
    >>> note = Notification(key="npi/1", sink="am", route="npi", group_key="npi",
    ...     status="firing", alerts=(alert,), common_labels={}, created_at=at)
    >>> [posted] = postable_alerts(note, ttl=3600, now=at)
    >>> posted["labels"]
    {'kind': 'skipped', 'team_name': 'npi', 'alertname': 'skipped', 'fingerprint': '4f2a'}
    >>> posted["endsAt"]
    '2026-01-05T10:30:00Z'
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from kgsentinel.alerts.notification import AlertSummary, Notification
from kgsentinel.alerts.sinks.http import post_json
from kgsentinel.alerts.sinks.text import http_link
from kgsentinel.alerts.sinks.webhook import alert_annotations, rfc3339

__all__ = ["AlertmanagerSink", "label_name", "postable_alerts"]

_TEST_TTL = 300.0  # a test alert (``kgsentinel alerts test``) ends by itself after 5 minutes


def label_name(name: str) -> str:
    """A label name Alertmanager accepts: ``[a-zA-Z_][a-zA-Z0-9_]*``.

    Example:
        >>> label_name("team.name"), label_name("1st")
        ('team_name', '_1st')
    """
    cleaned = re.sub(r"[^A-Za-z0-9_]", "_", name)
    return cleaned if re.match(r"[A-Za-z_]", cleaned) else f"_{cleaned}"


def _labels(alert: AlertSummary) -> dict[str, str]:
    labels = {label_name(key): str(value) for key, value in alert.labels.items() if value != ""}
    labels.setdefault("alertname", labels.get("kind") or "kgsentinel")
    labels["fingerprint"] = alert.fingerprint
    return labels


def postable_alerts(note: Notification, *, ttl: float, now: datetime) -> list[dict[str, Any]]:
    """The notification's alerts as Alertmanager's ``postableAlerts``."""
    posted = []
    for alert in note.alerts:
        ends = alert.ends_at or (now if note.status == "resolved" else now + timedelta(seconds=ttl))
        item: dict[str, Any] = {
            "labels": _labels(alert),
            "annotations": alert_annotations(alert),
            "startsAt": rfc3339(alert.starts_at),
            "endsAt": rfc3339(ends),
        }
        link = http_link(alert)
        if link:
            item["generatorURL"] = link
        posted.append(item)
    return posted


class AlertmanagerSink:
    """Posts alerts to Alertmanager's v2 API at ``url`` (its base URL)."""

    def __init__(
        self,
        name: str,
        url: str,
        *,
        token: str | None = None,
        ttl: float = 86_400.0,
        timeout: float = 10.0,
        ca_file: str | None = None,
    ) -> None:
        self.name = name
        self._endpoint = url.rstrip("/") + "/api/v2/alerts"
        self._token = token
        self.ttl = ttl
        self.timeout = timeout
        self.ca_file = ca_file

    def __repr__(self) -> str:
        return f"AlertmanagerSink({self.name!r})"

    def send(self, notification: Notification) -> None:
        """Post the alerts once; Alertmanager's 400 (bad labels) is permanent."""
        if not notification.alerts:
            return
        headers = {"Idempotency-Key": notification.key}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        ttl = min(self.ttl, _TEST_TTL) if notification.test else self.ttl
        alerts = postable_alerts(notification, ttl=ttl, now=datetime.now(UTC))
        post_json(self.name, self._endpoint, alerts, headers=headers, timeout=self.timeout,
                  ca_file=self.ca_file, what="Alertmanager")  # fmt: skip
