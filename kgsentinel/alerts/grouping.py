"""Grouping and timing of notifications, as Prometheus Alertmanager does them.

Each route splits its alerts into groups by the values of its ``group_by``
labels. A new group waits ``group_wait`` before its first notification (an
alert that comes and goes within that time sends nothing); after that the
group is looked at every ``group_interval``, and a notification goes out when
it has new firing alerts, or alerts notified as firing have resolved; an
unchanged firing group is sent again after ``repeat_interval``. Acknowledged
and silenced alerts are left out of firing notifications, and a group's
alerts that all resolve send one resolved notification.

What a group needs between runs (when it is next due, when it was last sent,
which fingerprints it last sent as firing, which it still owes a resolved
notice for, and its sequence number) is kept in ``.kgsentinel/alerts/groups.json``,
not in the graph: it is the engine's bookkeeping rather than facts analysts
query, it must be written in one atomic step together with the notifications
it decided (a file renamed into place does that on any store, embedded or
remote), and it is read and written on every run, which a remote SPARQL
endpoint would make slow. The notifications decided are kept in the same file
until the outbox has them, so a crash between deciding and enqueueing loses
nothing; their keys (group, status, sequence) are the same on a re-run, so the
outbox never holds two for one change.

Example:
    >>> import datetime as dt
    >>> t0 = dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)
    >>> group = Group(route="npi", labels={"kind": "slow"}, next_flush=t0)
    >>> needs_notification(group, firing={"a"}, resolved=set(), now=t0,
    ...                    repeat=dt.timedelta(hours=4))
    True
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Group", "GroupBook", "group_id", "group_key", "needs_notification"]


def group_key(route: str, labels: Mapping[str, str]) -> str:
    """A readable key of a group, as Alertmanager writes it.

    Example:
        >>> group_key("npi", {"kind": "slow", "detector": "timing"})
        'npi:{detector="timing",kind="slow"}'
    """
    inner = ",".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in sorted(labels.items()))
    return f"{route}:{{{inner}}}"


def group_id(route: str, labels: Mapping[str, str]) -> str:
    """A short stable id of a group: its route and a digest of its labels.

    Example:
        >>> group_id("npi", {"kind": "slow"})
        'npi/24ceb3fc9fac'
    """
    digest = hashlib.sha256(group_key(route, labels).encode("utf-8")).hexdigest()[:12]
    return f"{route}/{digest}"


@dataclass
class Group:
    """What a group of alerts needs between runs."""

    route: str
    labels: dict[str, str]
    next_flush: dt.datetime
    last_sent: dt.datetime | None = None
    last_firing: set[str] = field(default_factory=set)
    open: set[str] = field(default_factory=set)

    def to_json(self) -> dict[str, Any]:
        """As plain JSON values."""
        return {
            "route": self.route,
            "labels": self.labels,
            "next_flush": self.next_flush.isoformat(),
            "last_sent": self.last_sent.isoformat() if self.last_sent else None,
            "last_firing": sorted(self.last_firing),
            "open": sorted(self.open),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Group:
        """Back from :meth:`to_json`."""
        sent = data.get("last_sent")
        return cls(
            route=data["route"],
            labels=dict(data["labels"]),
            next_flush=dt.datetime.fromisoformat(data["next_flush"]),
            last_sent=dt.datetime.fromisoformat(sent) if sent else None,
            last_firing=set(data.get("last_firing", [])),
            open=set(data.get("open", [])),
        )


def needs_notification(
    group: Group, *, firing: set[str], resolved: set[str], now: dt.datetime,
    repeat: dt.timedelta,
) -> bool:  # fmt: skip
    """Whether a due group sends now (Alertmanager's rule, resolved notices on)."""
    if group.last_sent is None:
        return bool(firing)
    if not firing <= group.last_firing:
        return True
    if not firing:
        return bool(resolved)
    if resolved:
        return True
    return now - group.last_sent >= repeat


@dataclass
class GroupBook:
    """The groups, their sequence numbers and the notifications not yet enqueued."""

    path: Path
    groups: dict[str, Group] = field(default_factory=dict)
    sequences: dict[str, int] = field(default_factory=dict)
    pending: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def read(cls, path: Path) -> GroupBook:
        """The book at ``path`` (empty when there is none yet)."""
        if not path.exists():
            return cls(path)
        data = json.loads(path.read_text(encoding="utf-8"))
        groups = {gid: Group.from_json(g) for gid, g in data.get("groups", {}).items()}
        return cls(path, groups, dict(data.get("sequences", {})), list(data.get("pending", [])))

    def next_sequence(self, gid: str) -> int:
        """The sequence number of the group's next notification (never reused)."""
        self.sequences[gid] = self.sequences.get(gid, 0) + 1
        return self.sequences[gid]

    def save(self) -> None:
        """Write the book atomically (a temporary file renamed into place)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = {
            "groups": {gid: g.to_json() for gid, g in sorted(self.groups.items())},
            "sequences": dict(sorted(self.sequences.items())),
            "pending": self.pending,
        }
        handle, name = tempfile.mkstemp(dir=self.path.parent, prefix=".groups-", suffix=".json")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(data, out, ensure_ascii=False, indent=1)
                out.flush()
                os.fsync(out.fileno())
            os.replace(name, self.path)
        except BaseException:
            Path(name).unlink(missing_ok=True)
            raise

    def open_fingerprints(self) -> Iterable[str]:
        """Fingerprints some group still owes a resolved notice for."""
        return {fp for group in self.groups.values() for fp in group.open}
