"""Delivery for a workspace: its outbox, its sinks, and test notifications.

``send_test`` sends one notification straight through a configured sink (not
through the outbox), so ``kgsentinel alerts test SINK`` says at once whether the
URL, the credentials and the receiver work.

Example:
    >>> import tempfile, pathlib
    >>> from kgsentinel.workspace import init_workspace, open_workspace
    >>> root = init_workspace(pathlib.Path(tempfile.mkdtemp()) / "npi")
    >>> settings = '[sinks.file]\\nkind = "jsonl"\\npath = "a.jsonl"\\n'
    >>> _ = (root / "kgsentinel.toml").write_text(settings)
    >>> with open_workspace(root) as ws:
    ...     note = send_test(ws, "file")
    >>> note.test, note.title, (root / "a.jsonl").exists()
    (True, '[FIRING:1] info alertname=kgsentinel-test test=true', True)
    >>> with open_workspace(root) as ws:
    ...     send_test(ws, "slack")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    kgsentinel.errors.AlertError: no sink named 'slack': add a [sinks.slack] section ...
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from kgsentinel.alerts.notification import AlertSummary, Notification
from kgsentinel.errors import AlertError

if TYPE_CHECKING:
    from kgsentinel.alerts.outbox import DeliveryReport, Outbox
    from kgsentinel.workspace import Workspace

__all__ = ["deliver_pending", "sample_notification", "send_test", "workspace_outbox"]


def workspace_outbox(workspace: Workspace) -> Outbox:
    """The workspace's outbox, in ``.kgsentinel/outbox.sqlite``."""
    from kgsentinel.alerts.outbox import Outbox

    return Outbox(workspace.state_dir)


def deliver_pending(workspace: Workspace, now: datetime | None = None) -> DeliveryReport:
    """Deliver what is due in the workspace's outbox through its configured sinks."""
    from kgsentinel.alerts.sinks import build_sinks

    sinks = build_sinks(workspace.config.sinks, workspace.env, root=workspace.root)
    return workspace_outbox(workspace).deliver(sinks, now=now)


def sample_notification(sink: str, *, now: datetime | None = None) -> Notification:
    """A firing notification about one made-up alert, marked as a test."""
    at = now or datetime.now(UTC)
    labels = {"alertname": "kgsentinel-test", "severity": "info", "test": "true"}
    alert = AlertSummary(
        fingerprint=f"test-{uuid.uuid4().hex[:12]}",
        labels=labels,
        summary=f"Test notification from kgsentinel to sink {sink}",
        description="Sent by `kgsentinel alerts test`; nothing is wrong.",
        starts_at=at,
    )
    return Notification(key=f"test/{sink}/{alert.fingerprint}", sink=sink, route="test",
                        group_key=f"test/{sink}", status="firing", alerts=(alert,),
                        common_labels=labels, created_at=at, test=True)  # fmt: skip


def send_test(workspace: Workspace, sink_name: str) -> Notification:
    """Send a test notification through the sink now; raise :class:`DeliveryError` if it fails.

    An unknown sink is an :class:`AlertError` listing the sinks defined.
    """
    from kgsentinel.alerts.sinks import build_sink

    configs = workspace.config.sinks
    if sink_name not in configs:
        defined = ", ".join(sorted(configs)) or "none"
        raise AlertError(
            f"no sink named {sink_name!r}: add a [sinks.{sink_name}] section to "
            f"kgsentinel.toml (sinks defined: {defined})"
        )
    sink = build_sink(sink_name, configs[sink_name], workspace.env, root=workspace.root)
    note = sample_notification(sink_name)
    sink.send(note)
    return note
