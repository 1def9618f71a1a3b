"""One scheduler per workspace: an exclusive lock file in ``.kgsentinel/``.

The lock is an ``flock`` on ``.kgsentinel/scheduler.lock``, which records the
holder's process id and start time; the operating system lets it go when the
process ends, however it ends.

Example:
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> with SchedulerLock(folder) as lock:
    ...     scheduler_holder(folder)["pid"] == os.getpid()
    True
    >>> scheduler_holder(folder) is None
    True
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
from pathlib import Path
from typing import IO, Any

from kgsentinel.errors import SchedulerError

__all__ = ["LOCK_FILE", "SchedulerLock", "scheduler_holder"]

LOCK_FILE = "scheduler.lock"


class SchedulerLock:
    """The scheduler lock of the workspace whose state folder is ``state_dir``."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / LOCK_FILE
        self._handle: IO[str] | None = None

    def acquire(self) -> SchedulerLock:
        """Take the lock, or raise :class:`SchedulerError` naming the running scheduler."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = _parse(handle.read())
            handle.close()
            who = f"pid {holder['pid']}, since {holder['since']}" if holder else "another process"
            raise SchedulerError(
                f"a scheduler is already running in this workspace ({who}); stop it first"
            ) from None
        handle.seek(0)
        handle.truncate()
        since = dt.datetime.now().astimezone().isoformat(timespec="seconds")
        handle.write(json.dumps({"pid": os.getpid(), "since": since}))
        handle.flush()
        self._handle = handle
        return self

    def release(self) -> None:
        """Let another scheduler start."""
        if self._handle is not None:
            self._handle.seek(0)
            self._handle.truncate()
            self._handle.close()
            self._handle = None

    def __enter__(self) -> SchedulerLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def scheduler_holder(state_dir: Path) -> dict[str, Any] | None:
    """The running scheduler of the workspace (``pid``, ``since``), or None."""
    path = state_dir / LOCK_FILE
    try:
        handle = path.open("r", encoding="utf-8")
    except OSError:
        return None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return _parse(handle.read()) or {"pid": None, "since": None}
        fcntl.flock(handle, fcntl.LOCK_UN)
        return None


def _parse(text: str) -> dict[str, Any] | None:
    try:
        info = json.loads(text)
    except ValueError:
        return None
    return info if isinstance(info, dict) and "pid" in info and "since" in info else None
