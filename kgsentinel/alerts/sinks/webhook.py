"""The webhook sink: Alertmanager's webhook payload (version 4), POSTed as JSON.

Any receiver written for Alertmanager's ``webhook_config`` reads it. Each request
carries the notification's key in an ``Idempotency-Key`` header and in the
payload's ``idempotencyKey``: a receiver that sees a key again (sent again
after a crash before delivery was recorded) can drop the repeat.

Example:
    >>> from datetime import datetime, timezone
    >>> from kgsentinel.alerts.notification import AlertSummary, Notification
    >>> at = datetime(2026, 1, 5, 9, 30, tzinfo=timezone.utc)
    >>> alert = AlertSummary(fingerprint="4f2a", labels={"kind": "skipped"},
    ...     summary="case 7 skipped Stability test", starts_at=at,
    ...     link="https://kg.example.com/anomalies/4f2a")
    >>> note = Notification(key="npi/1", sink="hook", route="npi", group_key="npi",
    ...     status="firing", alerts=(alert,), common_labels={"kind": "skipped"}, created_at=at)
    >>> payload = alertmanager_payload(note, receiver="hook")
    >>> payload["version"], payload["status"], payload["externalURL"]
    ('4', 'firing', 'https://kg.example.com')
    >>> payload["alerts"][0]["endsAt"], payload["alerts"][0]["annotations"]["summary"]
    ('0001-01-01T00:00:00Z', 'case 7 skipped Stability test')
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from kgsentinel.alerts.notification import AlertSummary, Notification
from kgsentinel.alerts.sinks.http import post_json
from kgsentinel.alerts.sinks.text import http_link

__all__ = ["ZERO_TIME", "WebhookSink", "alert_annotations", "alertmanager_payload", "rfc3339"]

ZERO_TIME = "0001-01-01T00:00:00Z"  # Alertmanager's "not ended"


def rfc3339(moment: datetime) -> str:
    """A time as Alertmanager writes it, in UTC: ``2026-01-05T09:30:00Z``."""
    text = moment.astimezone(UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z").replace(".000Z", "Z")


def alert_annotations(alert: AlertSummary) -> dict[str, str]:
    """Annotations of an alert: its own, plus summary, description and link."""
    annotations = {"summary": alert.summary, **dict(alert.annotations)}
    if alert.description:
        annotations.setdefault("description", alert.description)
    if alert.link:
        annotations.setdefault("link", alert.link)
    return annotations


def _external_url(note: Notification) -> str:
    for alert in note.alerts:
        link = http_link(alert)
        if link:
            parts = urlsplit(link)
            return f"{parts.scheme}://{parts.netloc}"
    return ""


def alertmanager_payload(note: Notification, *, receiver: str) -> dict[str, Any]:
    """The notification as Alertmanager's webhook payload (version 4).

    ``groupLabels`` and ``commonLabels`` are the labels every alert of the group
    shares; ``externalURL`` is the origin of the alerts' links, when they are URLs.
    """
    return {
        "version": "4",
        "groupKey": note.group_key,
        "truncatedAlerts": 0,
        "status": note.status,
        "receiver": receiver,
        "groupLabels": dict(note.common_labels),
        "commonLabels": dict(note.common_labels),
        "commonAnnotations": _common_annotations(note),
        "externalURL": _external_url(note),
        "idempotencyKey": note.key,
        "alerts": [_webhook_alert(alert) for alert in note.alerts],
    }


def _common_annotations(note: Notification) -> dict[str, str]:
    each = [alert_annotations(alert) for alert in note.alerts]
    if not each:
        return {}
    return {key: value for key, value in each[0].items()
            if all(other.get(key) == value for other in each[1:])}  # fmt: skip


def _webhook_alert(alert: AlertSummary) -> dict[str, Any]:
    return {
        "status": "resolved" if alert.ends_at is not None else "firing",
        "labels": dict(alert.labels),
        "annotations": alert_annotations(alert),
        "startsAt": rfc3339(alert.starts_at),
        "endsAt": rfc3339(alert.ends_at) if alert.ends_at is not None else ZERO_TIME,
        "generatorURL": http_link(alert) or "",
        "fingerprint": alert.fingerprint,
    }


class WebhookSink:
    """POSTs Alertmanager's webhook payload to a URL, with an optional bearer token."""

    def __init__(
        self,
        name: str,
        url: str,
        *,
        token: str | None = None,
        timeout: float = 10.0,
        ca_file: str | None = None,
    ) -> None:
        self.name = name
        self._url = url
        self._token = token
        self.timeout = timeout
        self.ca_file = ca_file

    def __repr__(self) -> str:
        return f"WebhookSink({self.name!r})"  # the URL and token stay out of logs

    def send(self, notification: Notification) -> None:
        """POST the payload once; see :mod:`kgsentinel.alerts.sinks.http` for failures."""
        headers = {"Idempotency-Key": notification.key}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        post_json(self.name, self._url, alertmanager_payload(notification, receiver=self.name),
                  headers=headers, timeout=self.timeout, ca_file=self.ca_file)  # fmt: skip
