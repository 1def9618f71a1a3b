"""The event log kept between detector runs: always the log in the store, however it changed."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from kgsentinel.detectors import history
from kgsentinel.detectors.events import read_event_log
from kgsentinel.detectors.history import EventHistory
from kgsentinel.ingest.job import event_table_mapping, ingest_path
from kgsentinel.workspace import open_workspace


def steps(case: str, activities: list[str], day: int = 1) -> list[str]:
    return [f"{case},{a},2026-01-{day + i:02d}T09:00:00Z,ana" for i, a in enumerate(activities)]


BASE = [line for case in "ABCDEFGHIJKLMNOPQRST" for line in steps(case, ["Brief", "Launch"])]


def ingest(workspace: Path, rows: list[str], *, replace: bool = True) -> None:
    path = workspace / "data" / "steps.csv"
    path.write_text("case,step,at,who\n" + "\n".join(rows) + "\n")
    mapping = event_table_mapping("steps", case="case", activity="step", timestamp="at",
                                  resource="who", event_id="{case}-{step}-{at}")  # fmt: skip
    with open_workspace(workspace) as ws:
        ingest_path(ws, path, mapping=mapping, graph="steps", append=not replace)


def cached_log(workspace: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The log as a run puts it together from its cache, and as the store has it."""
    with open_workspace(workspace) as ws:
        kept = EventHistory.read(ws.store, ws.state_dir / "detectors", full=False)
        return kept.log, read_event_log(ws.store)


def test_the_cached_log_follows_additions_changes_and_removals(workspace: Path) -> None:
    ingest(workspace, BASE)
    cached_log(workspace)
    rounds = [
        [*BASE, *steps("A", ["Rework"], day=5), *steps("U", ["Brief"])],  # grows, a new case
        [*BASE[2:], *steps("U", ["Brief", "Launch"])],  # case A removed, U grows
        [*BASE, *steps("B", ["Rework"], day=7)],  # A back, U removed, B grows
    ]
    for rows in rounds:
        ingest(workspace, rows)
        log, truth = cached_log(workspace)
        pd.testing.assert_frame_equal(log, truth)
    assert set(log["case_id"]) == set("ABCDEFGHIJKLMNOPQRST")


def test_a_small_change_leaves_the_cached_log_as_it_was_and_keeps_the_cases_read_again(
    workspace: Path,
) -> None:
    ingest(workspace, BASE)
    cached_log(workspace)
    whole = workspace / ".kgsentinel" / "detectors" / "events.parquet"
    written = whole.read_bytes()
    ingest(workspace, steps("C", ["Rework"], day=9), replace=False)
    with open_workspace(workspace) as ws:
        kept = EventHistory.read(ws.store, ws.state_dir / "detectors", full=False)
        c = next(case for case in kept.signatures["case"] if case.endswith("/C"))
        # the case read again is at hand without putting the whole log together
        assert list(kept.events_of([c])["activity"]) == ["Brief", "Launch", "Rework"]
        assert kept._log is None
        pd.testing.assert_frame_equal(kept.log, read_event_log(ws.store))
    assert whole.read_bytes() == written


def test_once_the_cases_read_again_are_many_the_log_is_cached_whole_again(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest(workspace, BASE)
    cached_log(workspace)
    monkeypatch.setattr(history, "FRESH_SHARE", 0.1)  # 4 events of 40
    ingest(workspace, steps("C", ["Rework"], day=9), replace=False)
    cached_log(workspace)
    folder = workspace / ".kgsentinel" / "detectors"
    assert (folder / "events-fresh.parquet").exists()  # 3 events read again
    ingest(workspace, steps("D", ["Rework"], day=9), replace=False)
    log, truth = cached_log(workspace)
    assert not (folder / "events-fresh.parquet").exists()  # 6 events: past 10%
    pd.testing.assert_frame_equal(log, truth)
    written = pd.read_parquet(folder / "events.parquet")
    pd.testing.assert_frame_equal(written, truth, check_dtype=False)
