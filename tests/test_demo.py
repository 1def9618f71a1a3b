"""`kgsentinel demo`: the whole story on generated data, end to end, and its report."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from kgsentinel.cli.app import app
from kgsentinel.demo.report import recall_table
from kgsentinel.demo.runner import LABELS_FILE, MARKER
from kgsentinel.demo.sources import FILES, PLANTED_KINDS
from kgsentinel.detectors.anomalies import list_anomalies
from kgsentinel.workspace import open_workspace

LAUNCHES = 200
#: the planted kinds the detectors must find (nearly) all of
STEP_AND_RULE_KINDS = [kind for kind in PLANTED_KINDS if kind != "late-launch"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """One demo run through the command line: its folder, its report and its progress."""
    from typer.testing import CliRunner

    root = tmp_path_factory.mktemp("demo") / "npi-demo"
    result = CliRunner().invoke(app, ["demo", str(root), "--launches", str(LAUNCHES)])
    assert result.exit_code == 0, result.stderr
    return root, result.stdout, result.stderr


def found_per_kind(report: str) -> dict[str, tuple[int, int]]:
    """``kind: (found, planted)`` read from the report's table."""
    rows = re.findall(r"^\s+([a-z-]+)\s+(\d+) / (\d+)\s", report, flags=re.MULTILINE)
    return {kind: (int(found), int(planted)) for kind, found, planted in rows}


def test_the_report_shows_every_planted_kind_found(demo: tuple[Path, str, str]) -> None:
    _, report, _ = demo
    found = found_per_kind(report)
    assert set(found) == set(PLANTED_KINDS)
    for kind in STEP_AND_RULE_KINDS:
        hits, planted = found[kind]
        assert planted >= 1
        assert hits >= max(1, planted - 1), f"{kind}: {hits} of {planted} found"


def test_likely_late_launches_are_flagged_before_they_are_late(
    demo: tuple[Path, str, str],
) -> None:
    _, report, _ = demo
    hits, planted = found_per_kind(report)["late-launch"]
    assert planted >= 4
    assert hits >= max(2, planted // 5)


def test_the_report_agrees_with_the_graph_and_the_labels(demo: tuple[Path, str, str]) -> None:
    root, report, _ = demo
    labels = pd.read_csv(root / LABELS_FILE, keep_default_na=False)
    with open_workspace(root) as workspace:
        anomalies = list_anomalies(workspace.store)
    recall = recall_table(labels, anomalies).set_index("kind")
    for kind, (hits, planted) in found_per_kind(report).items():
        assert (recall.loc[kind, "found"], recall.loc[kind, "planted"]) == (hits, planted)
    rules = anomalies[anomalies["detector"].str.startswith("npi/")]
    assert set(rules["case_id"].dropna()) <= set(labels["case_id"])


def test_the_report_says_what_was_loaded_and_what_stands_out(
    demo: tuple[Path, str, str],
) -> None:
    root, report, progress = demo
    loaded = re.search(r"Loaded (\d+) sources: ([\d,]+) rows into ([\d,]+) triples", report)
    assert loaded is not None
    assert int(loaded.group(1)) == len(FILES)
    events = (root / "data" / FILES["events"]).read_text(encoding="utf-8").count("\n")
    assert re.search(rf"launch-events\s+{events:,}\s+0\s", report)
    assert "[critical] npi/launch-without-approval" in report
    assert "Riskiest running launches" in report
    assert re.search(r"^  L-\d{4}\s+(EU|US|CN|BR)\s+\d+%", report, flags=re.MULTILINE)
    assert f"cd {root}" in report
    assert "Ingesting launch-events" in progress
    assert "Training the 'late' outcome model" in progress


def test_critical_anomalies_reach_the_ops_file_as_alerts(demo: tuple[Path, str, str]) -> None:
    import json

    root, report, _ = demo
    raised = re.search(r"Alerts: (\d+) raised", report)
    assert raised is not None
    assert int(raised.group(1)) >= 10
    sent = (root / "alerts" / "notifications.jsonl").read_text(encoding="utf-8").splitlines()
    notes = [json.loads(line) for line in sent]
    detectors = {note["common_labels"]["detector"] for note in notes}
    assert {"npi/launch-without-approval", "npi/supplier-complaint-spike"} <= detectors
    assert {note["common_labels"]["severity"] for note in notes} == {"critical"}
    assert all(note["title"] in report for note in notes)


def test_the_demo_folder_is_a_workspace_a_user_can_go_on_with(
    demo: tuple[Path, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    root, _, _ = demo
    monkeypatch.chdir(root)
    result = CliRunner().invoke(app, ["anomalies", "--kind", "stuck", "--format", "csv"])
    assert result.exit_code == 0, result.stderr
    stuck = pd.read_csv(__import__("io").StringIO(result.stdout))
    labels = pd.read_csv(root / LABELS_FILE, keep_default_na=False)
    assert set(labels.case_id[labels.kind == "stuck-filing"]) & set(stuck.case_id)


def test_a_folder_that_is_not_a_demo_is_refused_untouched(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    (tmp_path / "thesis.md").write_text("mine\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["demo", str(tmp_path)])
    assert result.exit_code == 1
    assert "is not empty and not an earlier demo; nothing was changed" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["thesis.md"]


def test_examples_npi_is_the_workspace_the_demo_builds() -> None:
    from importlib import resources

    example = Path(__file__).parents[1] / "examples" / "npi"
    shipped = resources.files("kgsentinel.demo") / "workspace"
    with resources.as_file(shipped) as folder:
        files = sorted(p.relative_to(folder) for p in folder.rglob("*") if p.is_file())
        assert files
        for name in files:
            assert (example / name).read_text(encoding="utf-8") == (folder / name).read_text(
                encoding="utf-8"
            ), f"examples/npi/{name} differs from the demo's"


def test_an_earlier_demo_is_cleared_and_built_again(tmp_path: Path) -> None:
    from kgsentinel.demo.runner import prepare_folder

    old = prepare_folder(tmp_path / "demo")
    (old / "data").mkdir()
    (old / "data" / "stale.csv").write_text("x\n1\n", encoding="utf-8")
    again = prepare_folder(tmp_path / "demo")
    assert sorted(p.name for p in again.iterdir()) == [MARKER]
