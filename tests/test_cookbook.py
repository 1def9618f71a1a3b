"""docs/cookbook.md: every recipe runs on the demo workspace and answers its question."""

from __future__ import annotations

import re
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pandas as pd
import pyoxigraph as ox
import pytest

from kgsentinel.demo.runner import LABELS_FILE, run_demo
from kgsentinel.demo.sources import SPIKE_SUPPLIER
from kgsentinel.workspace import Workspace, open_workspace

COOKBOOK = Path(__file__).parents[1] / "docs" / "cookbook.md"
RECIPE = re.compile(r"<!-- (?:query: )?([\w/.-]+) -->\n```sparql\n(.*?)```", re.DOTALL)


def recipes() -> dict[str, str]:
    return dict(RECIPE.findall(COOKBOOK.read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Workspace, pd.DataFrame]]:
    """The demo workspace, opened, and its planted anomalies' labels."""
    root = run_demo(tmp_path_factory.mktemp("cookbook") / "demo", launches=160).root
    labels = pd.read_csv(root / LABELS_FILE, keep_default_na=False)
    with open_workspace(root) as workspace:
        yield workspace, labels


def answer(workspace: Workspace, name: str, labels: pd.DataFrame) -> pd.DataFrame:
    query = recipes()[name]
    params = {}
    if "?launch_id" in query:
        params["launch_id"] = ox.Literal(str(labels.case_id[labels.kind == "stuck-filing"].iloc[0]))
    return workspace.store.query_frame(query, params=params)


def planted(labels: pd.DataFrame, kind: str) -> set[str]:
    return set(labels.case_id[labels.kind == kind])


def test_the_cookbook_has_the_questions_analysts_ask() -> None:
    names = set(recipes())
    assert len(names) >= 10
    assert {
        "queries/stuck-launches.rq",
        "queries/supplier-complaints.rq",
        "queries/anomalies-per-market-and-step.rq",
        "launches-with-several-kinds",
        "freeze-to-launch-per-market",
        "queries/late-launches-and-approvals.rq",
    } <= names


@pytest.mark.parametrize("name", sorted(recipes()))
def test_every_recipe_returns_rows(demo: tuple[Workspace, pd.DataFrame], name: str) -> None:
    workspace, labels = demo
    frame = answer(workspace, name, labels)
    assert len(frame) > 0
    assert not frame.isna().all().any(), f"{name}: a column is empty in every row"


def test_stuck_launches_are_the_stuck_filings(demo: tuple[Workspace, pd.DataFrame]) -> None:
    workspace, labels = demo
    stuck = answer(workspace, "queries/stuck-launches.rq", labels)
    assert set(stuck.launch) & planted(labels, "stuck-filing")
    assert set(stuck.stopped_after) == {"Safety assessment"}


def test_pending_filings_are_exactly_the_stuck_ones(demo: tuple[Workspace, pd.DataFrame]) -> None:
    workspace, labels = demo
    pending = answer(workspace, "pending-filings", labels)
    assert set(pending.launch) == planted(labels, "stuck-filing")


def test_the_spike_supplier_tops_complaints_per_product(
    demo: tuple[Workspace, pd.DataFrame],
) -> None:
    workspace, labels = demo
    suppliers = answer(workspace, "queries/supplier-complaints.rq", labels)
    assert suppliers.supplier_id.iloc[0] == SPIKE_SUPPLIER


def test_launches_without_approval_are_the_planted_ones(
    demo: tuple[Workspace, pd.DataFrame],
) -> None:
    workspace, labels = demo
    launches = answer(workspace, "queries/launches-without-approval.rq", labels)
    assert set(launches.launch) == planted(labels, "launch-without-approval")


def test_one_launch_brings_every_source_together(demo: tuple[Workspace, pd.DataFrame]) -> None:
    workspace, labels = demo
    row = answer(workspace, "one-launch", labels).iloc[0]
    assert row.launch in planted(labels, "stuck-filing")
    assert (row.approval, int(row.anomalies) >= 1, int(row.steps)) == ("submitted", True, 4)
    assert len(row.suppliers.split(", ")) >= 2


def test_the_demo_workspace_ships_the_cookbook_recipes_it_names() -> None:
    shipped = resources.files("kgsentinel.demo") / "workspace" / "queries"
    files = {f"queries/{entry.name}": entry.read_text(encoding="utf-8")
             for entry in shipped.iterdir() if entry.name.endswith(".rq")}  # fmt: skip
    in_cookbook = {name: text for name, text in recipes().items() if name.startswith("queries/")}
    assert files == in_cookbook
