"""Plain-text rendering of a notification, shared by the console, e-mail and Slack sinks.

Example:
    >>> from datetime import datetime, timezone
    >>> from kgsentinel.alerts.notification import AlertSummary, Notification
    >>> at = datetime(2026, 1, 5, 9, 30, tzinfo=timezone.utc)
    >>> alert = AlertSummary(fingerprint="4f2a", labels={"kind": "skipped"},
    ...     summary="case 7 skipped Stability test", starts_at=at, link="urn:x:4f2a")
    >>> note = Notification(key="npi/1", sink="ops", route="npi", group_key="npi",
    ...     status="firing", alerts=(alert,), common_labels={"kind": "skipped"}, created_at=at)
    >>> print(render_text(note))
    [FIRING:1] kind=skipped
    - case 7 skipped Stability test
      since 2026-01-05 09:30 UTC, evidence: urn:x:4f2a
"""

from __future__ import annotations

from datetime import UTC, datetime

from kgsentinel.alerts.notification import AlertSummary, Notification

__all__ = ["alert_lines", "http_link", "render_text", "when"]


def when(moment: datetime) -> str:
    """A time as ``2026-01-05 09:30 UTC``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def http_link(alert: AlertSummary) -> str | None:
    """The alert's link when a browser can open it (http or https)."""
    link = alert.link or ""
    return link if link.startswith(("http://", "https://")) else None


def alert_lines(alert: AlertSummary) -> list[str]:
    """The lines of one alert: summary, explanation, times and evidence."""
    lines = [f"- {alert.summary}"]
    if alert.description and alert.description != alert.summary:
        lines.append(f"  {alert.description}")
    times = f"since {when(alert.starts_at)}"
    if alert.ends_at is not None:
        times += f", resolved {when(alert.ends_at)}"
    if alert.link:
        times += f", evidence: {alert.link}"
    lines.append(f"  {times}")
    return lines


def render_text(note: Notification) -> str:
    """The notification as plain text: its title, then each alert."""
    title = f"{note.title} (test)" if note.test else note.title
    lines = [title]
    for alert in note.alerts:
        lines += alert_lines(alert)
    return "\n".join(lines)
