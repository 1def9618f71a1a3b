"""The console sink: prints each notification (for trying routes out, and for logs).

Example:
    >>> from datetime import datetime, timezone
    >>> from kgsentinel.alerts.notification import Notification
    >>> at = datetime(2026, 1, 5, tzinfo=timezone.utc)
    >>> ConsoleSink("console").send(Notification(key="k", sink="console", route="r",
    ...     group_key="g", status="resolved", alerts=(), common_labels={}, created_at=at))
    [RESOLVED:0]
"""

from __future__ import annotations

import sys
from typing import Literal

from kgsentinel.alerts.notification import Notification
from kgsentinel.alerts.sinks.text import render_text
from kgsentinel.errors import DeliveryError

__all__ = ["ConsoleSink"]


class ConsoleSink:
    """Prints notifications as text on stdout or stderr."""

    def __init__(self, name: str, *, stream: Literal["stdout", "stderr"] = "stdout") -> None:
        self.name = name
        self.stream = stream

    def send(self, notification: Notification) -> None:
        """Print it; a closed stream is a transient failure."""
        out = sys.stdout if self.stream == "stdout" else sys.stderr
        try:
            print(render_text(notification), file=out, flush=True)
        except (OSError, ValueError) as exc:
            raise DeliveryError(f"sink {self.name}: cannot write to {self.stream}: {exc}") from None
