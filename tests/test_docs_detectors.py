"""docs/detectors.md stays true: its configuration loads and its queries answer."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from kgsentinel.config import Config
from kgsentinel.detectors.runner import configured_detectors, detect
from kgsentinel.ingest.job import event_table_mapping, ingest_path
from kgsentinel.simulate import MODELS, generate, inject
from kgsentinel.workspace import open_workspace

DOC = Path(__file__).parent.parent / "docs" / "detectors.md"


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC.read_text(), re.DOTALL)


@pytest.fixture(scope="module")
def detected(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from kgsentinel.workspace import init_workspace

    root = init_workspace(tmp_path_factory.mktemp("docs") / "ws")
    table, _ = inject(generate(MODELS["npi"], 300, seed=5), share=0.15, seed=6)
    table["timestamp"] = table["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    path = root / "data" / "launches.csv"
    table.to_csv(path, index=False)
    mapping = event_table_mapping("launches", case="case_id", activity="activity",
                                  timestamp="timestamp", resource="resource")  # fmt: skip
    with open_workspace(root) as ws:
        ingest_path(ws, path, mapping=mapping, graph="launches")
        detect(ws)
    return root


def test_the_configuration_example_is_valid() -> None:
    [example] = [b for b in blocks("toml") if "[detectors." in b]
    config = Config.model_validate(tomllib.loads(example))
    assert set(config.detectors) == {"conformance", "durations", "four-eyes", "products"}


def test_the_configuration_example_builds_its_detectors(tmp_path: Path) -> None:
    from kgsentinel.workspace import init_workspace

    root = init_workspace(tmp_path / "ws")
    [example] = [b for b in blocks("toml") if "[detectors." in b]
    (root / "kgsentinel.toml").write_text(example)
    (root / "rules" / "products.shacl.ttl").write_text(
        "@prefix sh: <http://www.w3.org/ns/shacl#> .\n"
    )
    with open_workspace(root) as ws:
        specs = configured_detectors(ws)
        for name in ("conformance", "durations", "four-eyes", "products"):
            specs[name].build()  # parameters are checked here


@pytest.mark.parametrize("query", blocks("sparql"), ids=lambda q: q.splitlines()[1][:40])
def test_every_query_answers_after_a_detection_run(detected: Path, query: str) -> None:
    with open_workspace(detected) as ws:
        rows = ws.store.query(query).rows()
    assert rows, "the query found nothing"
