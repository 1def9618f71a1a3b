"""docs/scheduling.md: its settings load as written, and its query answers after real runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_schedule import PLM, configure, runs_of, scheduler, wait_for
from test_schedule import count_runs as count_runs  # the fixture, shared

from kgsentinel.config import load_config
from kgsentinel.workspace import open_workspace

DOC = Path(__file__).parents[1] / "docs" / "scheduling.md"


def blocks(language: str) -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    return re.findall(rf"^```{language}\n(.*?)^```", text, flags=re.M | re.S)


def test_the_settings_example_is_valid(tmp_path: Path) -> None:
    (settings,) = blocks("toml")
    path = tmp_path / "kgsentinel.toml"
    path.write_text(settings)
    config = load_config(path)
    assert config.scheduler.timezone == "Europe/Paris"
    assert config.outcomes["late-launch"].retrain == "0 3 * * sun"
    assert config.sources["plm"].schedule == "*/15 * * * *"


@pytest.mark.usefixtures("count_runs")
def test_the_query_lists_the_runs_and_what_they_made(workspace: Path) -> None:
    (query,) = blocks("sparql")
    configure(workspace, PLM.format(schedule="1s") + '[scheduler]\nalerts_every = "off"\n')
    with scheduler(workspace):
        wait_for(lambda: runs_of(workspace, "ingest:plm") >= 2)
    with open_workspace(workspace) as ws:
        rows = ws.store.query_frame(query).to_dict("records")
    assert len(rows) >= 2
    assert {row["job"] for row in rows} == {"ingest:plm"}
    assert {row["outcome"] for row in rows} == {"ok"}
    assert all(str(row["made"]).startswith("urn:kgsentinel:run:") for row in rows)
    assert rows[0]["started"] >= rows[-1]["started"]  # newest first
