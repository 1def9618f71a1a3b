"""Fitted detectors saved between runs: the same findings after a round trip, no pickle."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kgsentinel.detectors import suite
from kgsentinel.detectors.events import as_event_log
from kgsentinel.detectors.runner import detect
from kgsentinel.detectors.state import decode, encode, load_fitted, save_fitted
from kgsentinel.ingest.job import event_table_mapping, ingest_path
from kgsentinel.simulate import MODELS, generate, inject
from kgsentinel.workspace import open_workspace


@pytest.fixture(scope="module")
def log() -> pd.DataFrame:
    table, _ = inject(generate(MODELS["helpdesk"], 400, seed=3), share=0.1, seed=4)
    return as_event_log(table)


@pytest.mark.parametrize("name", sorted(suite.DEFAULT_SUITE))
def test_a_saved_detector_finds_what_it_found_before(
    name: str, log: pd.DataFrame, tmp_path: Path
) -> None:
    detector = suite.make_detector(suite.DEFAULT_SUITE[name]).fit(log)
    path = tmp_path / "fitted.json"
    save_fitted(detector, path, meta={"events": len(log)})
    loaded = load_fitted(path)
    assert loaded is not None
    again, meta = loaded
    assert meta == {"events": len(log)}
    assert again.findings(log) == detector.findings(log)


def test_tables_keep_their_types_and_index() -> None:
    frame = pd.DataFrame(
        {"n": pd.Series([1, 154, 1], dtype="Int64"), "x": [0.5, None, 2.0], "s": ["a", None, "c"],
         "t": pd.to_datetime(["2026-01-01", None, "2026-01-03"], utc=True)},
        index=pd.MultiIndex.from_tuples([("A", 1), ("B", 2), ("B", 3)], names=["act", "n"]),
    )  # fmt: skip
    again = decode(json.loads(json.dumps(encode(frame))))
    pd.testing.assert_frame_equal(again, frame)
    series = frame["n"].droplevel(0)
    pd.testing.assert_series_equal(decode(encode(series)), series)


def test_numeric_arrays_are_saved_as_bytes_and_come_back_exactly() -> None:
    arrays = [np.array([[0.1, np.nan], [1e300, -0.0]]), np.arange(6, dtype=">i4").reshape(3, 2),
              np.array([True, False]), np.array([], dtype="uint8")]  # fmt: skip
    for array in arrays:
        written = json.loads(json.dumps(encode(array)))
        assert "v" not in written  # not a list of numbers, which is slow to read back
        again = decode(written)
        assert again.dtype == array.dtype
        assert again.shape == array.shape
        np.testing.assert_array_equal(again, array)
    assert decode({"t": "ndarray", "dtype": "<f8", "shape": [2], "v": [1.5, 2.0]}).tolist() == [
        1.5, 2.0]  # as files saved before bytes were used  # fmt: skip


def test_a_saved_array_of_another_kind_of_bytes_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "fitted.json"
    crafted = {"t": "ndarray", "dtype": "|O", "shape": [1], "b": "AAAAAAAAAAA="}
    path.write_text(json.dumps({"meta": {}, "detector": crafted}))
    assert load_fitted(path) is None


def test_a_file_naming_another_class_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "fitted.json"
    crafted = {"t": "object", "class": "os:system", "state": {}}
    path.write_text(json.dumps({"meta": {}, "detector": crafted}))
    assert load_fitted(path) is None


def test_an_incremental_run_reuses_what_the_detectors_learned(
    workspace: Path, log: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = log[["case_id", "activity", "timestamp", "resource"]].copy()
    late = table["timestamp"] > table["timestamp"].quantile(0.99)
    table["timestamp"] = table["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    path = workspace / "data" / "log.csv"
    mapping = event_table_mapping("log", case="case_id", activity="activity",
                                  timestamp="timestamp", resource="resource",
                                  event_id="{case_id}-{activity}-{timestamp}")  # fmt: skip
    table[~late].to_csv(path, index=False)
    with open_workspace(workspace) as ws:
        ingest_path(ws, path, mapping=mapping, graph="log")
        detect(ws, ["conformance", "durations"])
        table.to_csv(path, index=False)
        ingest_path(ws, path, mapping=mapping, graph="log")
        fits: list[str] = []
        for name in ("conformance", "durations"):
            cls = suite.detector_class(name)
            original = cls.fit

            def counted(self, data, _original=original, _name=name):  # type: ignore[no-untyped-def]
                fits.append(_name)
                return _original(self, data)

            monkeypatch.setattr(cls, "fit", counted)
        reports = detect(ws, ["conformance", "durations"])
    assert all(report.incremental for report in reports)
    assert 0 < reports[0].cases < 40
    assert fits == []
