"""The ``[scheduler]`` settings and the schedule syntax of jobs.

A job's ``schedule`` is a cron line (five fields, in ``[scheduler] timezone``)
or an interval: a whole number and a unit, ``s``, ``m``, ``h`` or ``d``.

Example:
    >>> check_schedule("15m"), interval_of("15m")
    ('15m', datetime.timedelta(seconds=900))
    >>> interval_of("*/15 * * * *") is None
    True
    >>> SchedulerConfig().alerts_every
    '1m'
"""

from __future__ import annotations

import datetime as dt
import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["SCHEDULE_HELP", "SchedulerConfig", "check_schedule", "cron_fields", "interval_of"]

_INTERVAL = re.compile(r"([1-9][0-9]*)\s*(s|m|h|d)")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_NUMBER = re.compile(r"(?<![/\d])([0-7])(?!\d)")
SCHEDULE_HELP = 'use a cron line such as "*/15 * * * *" or an interval such as 30s, 15m, 1h or 1d'


def interval_of(text: str) -> dt.timedelta | None:
    """The interval an interval schedule (``30s``, ``15m``, ``1h``, ``1d``) stands for, else None.

    Example:
        >>> interval_of("30s")
        datetime.timedelta(seconds=30)
    """
    match = _INTERVAL.fullmatch(text.strip())
    if match is None:
        return None
    return dt.timedelta(**{_UNITS[match[2]]: int(match[1])})


def cron_fields(text: str) -> dict[str, str]:
    """The fields of a five-field cron line, as APScheduler's ``CronTrigger`` takes them.

    Week days may be crontab's numbers (0 or 7 is Sunday); they become names,
    since APScheduler counts week days from Monday.

    Example:
        >>> cron_fields("30 6 * * 1-5")["day_of_week"]
        'mon-fri'
    """
    minute, hour, day, month, week_day = text.split()
    week_day = _DAY_NUMBER.sub(lambda m: _DAYS[int(m[1])], week_day)
    return {"minute": minute, "hour": hour, "day": day, "month": month, "day_of_week": week_day}


def check_schedule(text: str) -> str:
    """Return ``text`` if it is a valid schedule; raise ``ValueError`` saying the fix if not.

    Example:
        >>> check_schedule("0 6 * * mon-fri")
        '0 6 * * mon-fri'
        >>> check_schedule("every day")
        Traceback (most recent call last):
        ValueError: not a schedule; use a cron line such as "*/15 * * * *" or an interval ...
    """
    if interval_of(text) is not None:
        return text
    if len(text.split()) != 5:
        raise ValueError(f"not a schedule; {SCHEDULE_HELP}")
    from apscheduler.triggers.cron import CronTrigger

    try:
        CronTrigger(**cron_fields(text), timezone=dt.UTC)
    except ValueError as exc:
        raise ValueError(f"not a valid cron line ({exc}); {SCHEDULE_HELP}") from None
    return text


class SchedulerConfig(BaseModel):
    """How `kgsentinel run` runs the jobs of the sources, detectors and outcomes with a schedule."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    timezone: str = Field(
        "UTC",
        description="Time zone of cron schedules: an IANA name such as Europe/Paris.",
    )
    misfire_grace: str = Field(
        "1h",
        description="A run missed (the scheduler was stopped or busy) still runs, once, when "
        "it is at most this late (an interval such as 10m); later ones wait for the next time.",
    )
    alerts_every: str = Field(
        "1m",
        description="How often alerts are processed (a schedule), besides after every detector "
        'and prediction job; "off" to process them only after those jobs.',
    )
    workers: int = Field(
        2,
        gt=0,
        le=32,
        description="Jobs under way at once: those that write the graph take turns, alerts "
        "are processed beside them, and a job never overlaps itself.",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        import zoneinfo

        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                "unknown time zone; use an IANA name such as UTC or Europe/Paris"
            ) from None
        return value

    @field_validator("misfire_grace")
    @classmethod
    def _grace_interval(cls, value: str) -> str:
        if interval_of(value) is None:
            raise ValueError("not an interval; use a number and s, m, h or d, such as 10m")
        return value

    @field_validator("alerts_every")
    @classmethod
    def _alerts_schedule(cls, value: str) -> str:
        return value if value == "off" else check_schedule(value)
