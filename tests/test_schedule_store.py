"""Schedules as triggers, and the job store: JSON rows that survive a restart, nothing else."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
from pathlib import Path

import pytest
from apscheduler.schedulers.background import BackgroundScheduler

from kgsentinel.errors import SchedulerError
from kgsentinel.schedule.jobstore import JOB_FUNCTION, job_from_json, open_job_store
from kgsentinel.schedule.scheduler import run_scheduler
from kgsentinel.schedule.triggers import trigger_for
from kgsentinel.workspace import open_workspace

SUNDAY = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)


def next_fire(schedule: str, timezone: str = "UTC", after: dt.datetime = SUNDAY) -> dt.datetime:
    return trigger_for(schedule, timezone).get_next_fire_time(None, after)


@pytest.mark.parametrize(
    ("week_day", "day"),
    [("1", "Monday"), ("mon", "Monday"), ("0", "Sunday"), ("7", "Sunday"), ("5", "Friday")],
)
def test_cron_week_days_count_like_crontab(week_day: str, day: str) -> None:
    fires = next_fire(f"0 6 * * {week_day}", after=SUNDAY + dt.timedelta(hours=1))
    assert fires.strftime("%A %H:%M") == f"{day} 06:00"


def test_cron_lines_are_read_in_the_scheduler_time_zone() -> None:
    fires = next_fire("0 6 * * *", "Europe/Paris")
    assert fires.astimezone(dt.UTC).strftime("%d %H:%M") == "30 05:00"  # 06:00 in Paris, winter


def test_intervals_fire_one_interval_apart() -> None:
    trigger = trigger_for("15m", "UTC")
    first = trigger.get_next_fire_time(None, SUNDAY)
    assert trigger.get_next_fire_time(first, first) - first == dt.timedelta(minutes=15)


def stored_rows(folder: Path) -> dict[str, bytes]:
    with sqlite3.connect(folder / "jobs.sqlite") as db:
        return dict(db.execute("SELECT id, job_state FROM apscheduler_jobs").fetchall())


def test_jobs_are_stored_as_json_and_read_back_the_same(tmp_path: Path) -> None:
    scheduler = BackgroundScheduler(jobstores={"default": open_job_store(tmp_path)})
    scheduler.start(paused=True)
    added = scheduler.add_job(JOB_FUNCTION, trigger_for("0 6 * * mon-fri", "Europe/Paris"),
                              args=["/srv/npi", "ingest:plm"], id="ingest:plm")  # fmt: skip
    scheduler.shutdown(wait=False)
    row = json.loads(stored_rows(tmp_path)["ingest:plm"])  # JSON, not a pickle
    assert row["args"] == ["/srv/npi", "ingest:plm"]
    again = open_job_store(tmp_path).lookup_job("ingest:plm")
    assert again.next_run_time == added.next_run_time
    assert str(again.trigger) == str(added.trigger)
    assert str(again.trigger.timezone) == "Europe/Paris"


def test_a_stored_job_that_would_run_other_code_is_refused() -> None:
    row = {"func": "os:system", "args": ["rm -rf /"], "trigger": {}, "next_run_time": None}
    with pytest.raises(SchedulerError, match=r"does not run kgsentinel\.schedule\.jobs:run_job"):
        job_from_json(json.dumps(row).encode())


def test_an_unreadable_job_store_is_one_line_saying_what_to_do(workspace: Path) -> None:
    (workspace / ".kgsentinel" / "jobs.sqlite").write_bytes(b"not a database" * 100)
    with open_workspace(workspace) as ws, pytest.raises(SchedulerError) as caught:
        run_scheduler(ws, stop=threading.Event())
    message = str(caught.value)
    assert "jobs.sqlite cannot be used" in message
    assert "remove it and start again" in message
    assert "\n" not in message
