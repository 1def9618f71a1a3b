"""Schedules as APScheduler triggers, and triggers as JSON for the job store.

A cron line reads like crontab's: week days may be numbers (0 or 7 is Sunday)
or names (``mon-fri``); they are turned into names, since APScheduler counts
week days from Monday.

Example:
    >>> trigger = trigger_for("*/15 * * * 1-5", "UTC")
    >>> str(trigger)
    "cron[month='*', day='*', day_of_week='mon-fri', hour='*', minute='*/15']"
    >>> str(trigger_from_json(trigger_to_json(trigger))) == str(trigger)
    True
    >>> str(trigger_for("90s", "UTC"))
    'interval[0:01:30]'
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from kgsentinel.errors import SchedulerError
from kgsentinel.schedule.config import check_schedule, cron_fields, interval_of

__all__ = ["same_schedule", "trigger_for", "trigger_from_json", "trigger_to_json"]

_CRON_FIELDS = ("year", "month", "day", "week", "day_of_week", "hour", "minute", "second")


def trigger_for(schedule: str, timezone: str) -> BaseTrigger:
    """The trigger of a schedule: an interval (``15m``) or a cron line, in ``timezone``."""
    zone = zoneinfo.ZoneInfo(timezone)
    interval = interval_of(check_schedule(schedule))
    if interval is not None:
        return IntervalTrigger(seconds=int(interval.total_seconds()), timezone=zone)
    return CronTrigger(**cron_fields(schedule), timezone=zone)


def same_schedule(one: BaseTrigger, other: BaseTrigger) -> bool:
    """Tell whether two triggers fire at the same times (whatever their start).

    Example:
        >>> same_schedule(trigger_for("1h", "UTC"), trigger_for("60m", "UTC"))
        True
    """

    def key(trigger: Any) -> tuple[type, str, str]:
        return type(trigger), str(trigger), str(trigger.timezone)

    return key(one) == key(other)


def trigger_to_json(trigger: BaseTrigger) -> dict[str, Any]:
    """A trigger of :func:`trigger_for` as plain JSON values."""
    state = trigger.__getstate__()  # type: ignore[no-untyped-call]
    data: dict[str, Any] = {
        "timezone": str(state["timezone"]),
        "start_date": _iso(state["start_date"]),
        "end_date": _iso(state["end_date"]),
        "jitter": state["jitter"],
    }
    if isinstance(trigger, IntervalTrigger):
        return {"type": "interval", "seconds": state["interval"].total_seconds(), **data}
    if isinstance(trigger, CronTrigger):
        fields = {f.name: str(f) for f in state["fields"] if not f.is_default}
        return {"type": "cron", "fields": fields, **data}
    raise SchedulerError(f"cannot store a {type(trigger).__name__} in the job store")


def trigger_from_json(data: dict[str, Any]) -> BaseTrigger:
    """The trigger that :func:`trigger_to_json` wrote."""
    common = {
        "timezone": zoneinfo.ZoneInfo(data["timezone"]),
        "start_date": _datetime(data["start_date"]),
        "end_date": _datetime(data["end_date"]),
        "jitter": data["jitter"],
    }
    if data["type"] == "interval":
        return IntervalTrigger(seconds=data["seconds"], **common)
    if data["type"] == "cron":
        fields = {name: data["fields"][name] for name in _CRON_FIELDS if name in data["fields"]}
        return CronTrigger(**fields, **common)
    raise SchedulerError(f"the job store holds a trigger of unknown type {data['type']!r}")


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _datetime(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text is not None else None
