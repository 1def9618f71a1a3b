"""The Slack sink: a message through an incoming webhook, as text plus blocks.

The text (what notifications and old clients show) is the title and the alerts'
summaries; the blocks hold a header, each alert with its explanation and a link
to its evidence, and a context line with the notification key. Slack's
incoming-webhook URL is a secret: it comes from the variable ``url_env`` names.
A request also carries the key in an ``Idempotency-Key`` header for proxies
that drop repeats.

Example:
    >>> from datetime import datetime, timezone
    >>> from kgsentinel.alerts.notification import AlertSummary, Notification
    >>> at = datetime(2026, 1, 5, 9, 30, tzinfo=timezone.utc)
    >>> alert = AlertSummary(fingerprint="4f2a", labels={"kind": "skipped"},
    ...     summary="case 7 skipped <Stability test>", starts_at=at,
    ...     description="expected Stability test before Safety assessment",
    ...     link="https://kg.example.com/anomalies/4f2a")
    >>> note = Notification(key="npi/1", sink="slack", route="npi", group_key="npi",
    ...     status="firing", alerts=(alert,), common_labels={"kind": "skipped"}, created_at=at)
    >>> message = slack_message(note)
    >>> message["text"]
    '[FIRING:1] kind=skipped: case 7 skipped <Stability test>'
    >>> print(message["blocks"][1]["text"]["text"])
    *case 7 skipped &lt;Stability test&gt;*
    expected Stability test before Safety assessment
    since 2026-01-05 09:30 UTC · <https://kg.example.com/anomalies/4f2a|evidence>
"""

from __future__ import annotations

from typing import Any

from kgsentinel.alerts.notification import AlertSummary, Notification
from kgsentinel.alerts.sinks.http import post_json
from kgsentinel.alerts.sinks.text import http_link, when

__all__ = ["MAX_ALERT_BLOCKS", "SlackSink", "slack_message"]

MAX_ALERT_BLOCKS = 20  # Slack allows 50 blocks a message
_SECTION_CHARS = 2900  # of Slack's 3000 a section text


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _alert_block(alert: AlertSummary) -> dict[str, Any]:
    lines = [f"*{_escape(alert.summary)}*"]
    if alert.description and alert.description != alert.summary:
        lines.append(_escape(alert.description))
    facts = [f"since {when(alert.starts_at)}"]
    if alert.ends_at is not None:
        facts.append(f"resolved {when(alert.ends_at)}")
    link = http_link(alert)
    if link:
        facts.append(f"<{link}|evidence>")
    elif alert.link:
        facts.append(f"evidence: `{_escape(alert.link)}`")
    lines.append(" · ".join(facts))
    text = "\n".join(lines)[:_SECTION_CHARS]
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def slack_message(note: Notification) -> dict[str, Any]:
    """The incoming-webhook message: ``text`` and ``blocks``."""
    title = f"{note.title} (test)" if note.test else note.title
    summaries = "; ".join(alert.summary for alert in note.alerts[:3])
    more = f" and {len(note.alerts) - 3} more" if len(note.alerts) > 3 else ""
    text = f"{title}: {summaries}{more}" if summaries else title
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title[:150]}}
    ]
    blocks += [_alert_block(alert) for alert in note.alerts[:MAX_ALERT_BLOCKS]]
    if len(note.alerts) > MAX_ALERT_BLOCKS:
        rest = len(note.alerts) - MAX_ALERT_BLOCKS
        more_text = {"type": "mrkdwn", "text": f"… and {rest} more alerts"}
        blocks.append({"type": "section", "text": more_text})
    context = f"route {_escape(note.route)} · key `{_escape(note.key)}`"
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]})
    return {"text": text, "blocks": blocks}


class SlackSink:
    """Posts notifications to a Slack incoming webhook."""

    def __init__(
        self, name: str, url: str, *, timeout: float = 10.0, ca_file: str | None = None
    ) -> None:
        self.name = name
        self._url = url
        self.timeout = timeout
        self.ca_file = ca_file

    def __repr__(self) -> str:
        return f"SlackSink({self.name!r})"  # the webhook URL is a secret

    def send(self, notification: Notification) -> None:
        """Post the message once; Slack's 429 carries Retry-After, 403/404/410 are permanent."""
        post_json(self.name, self._url, slack_message(notification),
                  headers={"Idempotency-Key": notification.key}, timeout=self.timeout,
                  ca_file=self.ca_file, what="Slack")  # fmt: skip
