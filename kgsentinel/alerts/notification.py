"""What the alert engine hands to sinks: one notification about a group of alerts.

The engine (routes, grouping, lifecycle) builds :class:`Notification` values; the
outbox stores them durably and hands each to a :class:`Sink` until it is
delivered or dead-lettered. A sink raises :class:`kgsentinel.errors.DeliveryError`
when it cannot deliver.

Example:
    >>> from datetime import datetime, timezone
    >>> at = datetime(2026, 1, 5, 9, 30, tzinfo=timezone.utc)
    >>> alert = AlertSummary(
    ...     fingerprint="4f2a", labels={"detector": "controlflow", "kind": "skipped",
    ...     "severity": "warning"}, summary="case 7 skipped Stability test",
    ...     starts_at=at, link="urn:kgsentinel:anomaly:4f2a")
    >>> note = Notification(key="team-npi/4f2a/firing/1", sink="slack", route="npi",
    ...     group_key="team-npi", status="firing", alerts=(alert,),
    ...     common_labels={"severity": "warning"}, created_at=at)
    >>> note.title
    '[FIRING:1] warning'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

__all__ = ["AlertSummary", "Notification", "Sink"]

Status = Literal["firing", "resolved"]


@dataclass(frozen=True)
class AlertSummary:
    """One alert as a receiver sees it (Alertmanager's alert fields)."""

    fingerprint: str
    labels: Mapping[str, str]
    summary: str
    starts_at: datetime
    ends_at: datetime | None = None
    link: str | None = None
    description: str = ""
    annotations: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Notification:
    """One message to one sink about one group of alerts.

    ``key`` identifies the notification: receivers get it as an idempotency key,
    and the outbox never delivers one key twice.
    """

    key: str
    sink: str
    route: str
    group_key: str
    status: Status
    alerts: tuple[AlertSummary, ...]
    common_labels: Mapping[str, str]
    created_at: datetime
    test: bool = False

    @property
    def title(self) -> str:
        """A one-line title, ``[FIRING:3] critical detector=timing``."""
        words = " ".join(f"{k}={v}" for k, v in sorted(self.common_labels.items())
                         if k != "severity")  # fmt: skip
        severity = self.common_labels.get("severity", "")
        head = f"[{self.status.upper()}:{len(self.alerts)}]"
        return " ".join(part for part in (head, severity, words) if part)


class Sink(Protocol):
    """Delivers notifications somewhere (console, file, webhook, Slack, e-mail, Alertmanager)."""

    name: str

    def send(self, notification: Notification) -> None:
        """Deliver it once, or raise :class:`kgsentinel.errors.DeliveryError`."""
        ...
