"""The JSON Lines sink: appends each notification to a file, one JSON object a line.

Each line holds the notification (``key``, ``status``, ``title``, ``alerts``...)
as :func:`kgsentinel.alerts.outbox.encode_notification` writes it. A line is
written whole (under an exclusive lock) and flushed to disk before ``send``
returns. If the process dies between writing and the outbox marking the entry
delivered, the line is written again after restart with the same ``key``: read
the file keeping the first line of each key.

Example:
    >>> import json, tempfile, pathlib
    >>> from datetime import datetime, timezone
    >>> from kgsentinel.alerts.notification import Notification
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "alerts.jsonl"
    >>> at = datetime(2026, 1, 5, tzinfo=timezone.utc)
    >>> JsonLinesSink("file", path).send(Notification(key="k1", sink="file", route="r",
    ...     group_key="g", status="firing", alerts=(), common_labels={}, created_at=at))
    >>> json.loads(path.read_text())["key"]
    'k1'
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path

from kgsentinel.alerts.notification import Notification
from kgsentinel.errors import DeliveryError

__all__ = ["JsonLinesSink"]


class JsonLinesSink:
    """Appends notifications to a JSON Lines file (made, with its folder, on first use)."""

    def __init__(self, name: str, path: str | Path) -> None:
        self.name = name
        self.path = Path(path)

    def send(self, notification: Notification) -> None:
        """Append one line and flush it to disk; an unwritable file is a transient failure."""
        from kgsentinel.alerts.outbox import encode_notification

        line = json.dumps(encode_notification(notification), ensure_ascii=False) + "\n"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as out:
                fcntl.flock(out, fcntl.LOCK_EX)
                out.write(line)
                out.flush()
                os.fsync(out.fileno())
        except OSError as exc:
            raise DeliveryError(
                f"sink {self.name}: cannot append to {self.path}: {exc.strerror}"
            ) from None
