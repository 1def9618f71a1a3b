"""The e-mail sink: one message per notification over SMTP (STARTTLS and login by default).

The subject is the notification's title; the body has a plain-text part and a
small HTML part, each alert with its explanation and a link to its evidence.
The ``Message-ID`` is made from the notification key, so a message sent again
after a crash has the same id, and mail systems that drop duplicates drop it.

Failures: a refused login, a refused sender or recipient, a 5xx answer or a
server that cannot do STARTTLS are permanent; a 4xx answer, a refused or
broken connection and timeouts are retried.

Example:
    >>> from datetime import datetime, timezone
    >>> from kgsentinel.alerts.notification import Notification
    >>> at = datetime(2026, 1, 5, tzinfo=timezone.utc)
    >>> note = Notification(key="npi/1", sink="mail", route="npi", group_key="npi",
    ...     status="firing", alerts=(), common_labels={"team": "npi"}, created_at=at)
    >>> message = email_message(note, sender="kg@example.com", to=["ops@example.com"])
    >>> message["Subject"], message["Message-ID"].endswith("@kgsentinel>")
    ('[FIRING:0] team=npi', True)
"""

from __future__ import annotations

import hashlib
import html
import smtplib
import ssl
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate
from typing import Literal

from kgsentinel.alerts.notification import AlertSummary, Notification
from kgsentinel.alerts.sinks.text import http_link, render_text, when
from kgsentinel.errors import DeliveryError

__all__ = ["EmailSink", "email_message"]


def _html_alert(alert: AlertSummary) -> str:
    parts = [f"<li><strong>{html.escape(alert.summary)}</strong>"]
    if alert.description and alert.description != alert.summary:
        parts.append(f"<br>{html.escape(alert.description)}")
    facts = f"since {when(alert.starts_at)}"
    if alert.ends_at is not None:
        facts += f", resolved {when(alert.ends_at)}"
    parts.append(f"<br><small>{facts}")
    link = http_link(alert)
    if link:
        parts.append(f' · <a href="{html.escape(link)}">evidence</a>')
    elif alert.link:
        parts.append(f" · evidence: <code>{html.escape(alert.link)}</code>")
    parts.append("</small></li>")
    return "".join(parts)


def email_message(note: Notification, *, sender: str, to: Sequence[str]) -> EmailMessage:
    """The message: subject, text and HTML parts, and a Message-ID made from the key."""
    message = EmailMessage()
    message["Subject"] = f"{note.title} (test)" if note.test else note.title
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Date"] = formatdate(note.created_at.timestamp(), usegmt=True)
    digest = hashlib.sha256(note.key.encode()).hexdigest()[:32]
    message["Message-ID"] = f"<{digest}@kgsentinel>"
    message["X-Kgsentinel-Key"] = note.key
    message.set_content(render_text(note) + "\n")
    items = "".join(_html_alert(alert) for alert in note.alerts)
    title = html.escape(message["Subject"])
    message.add_alternative(
        f"<html><body><h3>{title}</h3><ul>{items}</ul>"
        f"<p><small>route {html.escape(note.route)} · key {html.escape(note.key)}</small></p>"
        "</body></html>\n",
        subtype="html",
    )
    return message


class EmailSink:
    """Sends notifications by e-mail through an SMTP server."""

    def __init__(
        self,
        name: str,
        *,
        host: str,
        port: int = 587,
        security: Literal["starttls", "tls", "none"] = "starttls",
        username: str | None = None,
        password: str | None = None,
        sender: str,
        to: Sequence[str],
        timeout: float = 10.0,
        ca_file: str | None = None,
    ) -> None:
        self.name = name
        self.host, self.port, self.security = host, port, security
        self.username = username
        self._password = password
        self.sender, self.to = sender, list(to)
        self.timeout = timeout
        self.ca_file = ca_file

    def __repr__(self) -> str:
        return f"EmailSink({self.name!r}, {self.host}:{self.port})"

    def send(self, notification: Notification) -> None:
        """Send one message; see the module docstring for which failures are permanent."""
        message = email_message(notification, sender=self.sender, to=self.to)
        try:
            with self._connect() as smtp:
                if self.username:
                    smtp.login(self.username, self._password or "")
                smtp.send_message(message)
        except smtplib.SMTPException as exc:
            raise self._smtp_error(exc) from None
        except ssl.SSLError as exc:
            raise DeliveryError(
                f"sink {self.name}: TLS with {self.host}:{self.port} failed ({exc.reason}); "
                "check security and ca_file",
                permanent=isinstance(exc, ssl.SSLCertVerificationError),
            ) from None
        except OSError as exc:
            why = exc.strerror or type(exc).__name__
            raise DeliveryError(
                f"sink {self.name}: cannot reach {self.host}:{self.port} ({why})"
            ) from None

    def _connect(self) -> smtplib.SMTP:
        context = ssl.create_default_context(cafile=self.ca_file)
        if self.security == "tls":
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            if self.security == "starttls":
                smtp.starttls(context=context)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _smtp_error(self, exc: smtplib.SMTPException) -> DeliveryError:
        where = f"sink {self.name}: {self.host}:{self.port}"
        if isinstance(exc, smtplib.SMTPAuthenticationError):
            return DeliveryError(
                f"{where} refused the login of {self.username} (bad credentials: check "
                "username and the password in the sink's password_env variable)",
                permanent=True,
            )
        if isinstance(exc, smtplib.SMTPNotSupportedError):
            return DeliveryError(f"{where} does not offer {self._needs(exc)}", permanent=True)
        if isinstance(exc, smtplib.SMTPRecipientsRefused):
            refused = ", ".join(sorted(exc.recipients))
            return DeliveryError(f"{where} refused the recipients {refused}", permanent=True)
        code = getattr(exc, "smtp_code", None)
        text = getattr(exc, "smtp_error", b"")
        reason = text.decode(errors="replace") if isinstance(text, bytes) else str(text)
        if isinstance(code, int):
            message = f"{where} answered {code} {reason}".rstrip()
            return DeliveryError(message, permanent=500 <= code < 600)
        return DeliveryError(f"{where}: {type(exc).__name__}")

    def _needs(self, exc: smtplib.SMTPNotSupportedError) -> str:
        text = str(exc)
        if "STARTTLS" in text.upper():
            return 'STARTTLS (set security = "tls" or "none" if that is intended)'
        return f"what the sink needs ({text})"
