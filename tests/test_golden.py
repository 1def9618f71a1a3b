"""Golden mapping tests: one folder per case with input, mapping and expected N-Quads.

Each folder under ``tests/golden/`` holds ``input.csv``, ``mapping.yaml``,
``expected.nq`` (compared as isomorphic datasets) and, when rows are rejected,
``rejects.csv``. Adding a case is adding a folder.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyoxigraph as ox
import pytest

from kgsentinel.ingest.mapper import ROW, map_chunk
from kgsentinel.ingest.mapping import load_mapping

GOLDEN = Path(__file__).parent / "golden"
GRAPH = "urn:kgsentinel:graph:golden"


def canonical(nquads: bytes) -> ox.Dataset:
    dataset = ox.Dataset(ox.parse(nquads, format=ox.RdfFormat.N_QUADS))
    dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    return dataset


def read_input(folder: Path) -> pd.DataFrame:
    frame = pd.read_csv(folder / "input.csv", dtype=str)
    return frame.assign(**{ROW: range(1, len(frame) + 1)})


@pytest.mark.parametrize("case", sorted(p.name for p in GOLDEN.iterdir() if p.is_dir()))
def test_golden_case(case: str) -> None:
    folder = GOLDEN / case
    mapping = load_mapping(folder / "mapping.yaml")
    chunk = read_input(folder)
    mapping.check_columns(list(chunk.columns), source="input.csv")

    mapped = map_chunk(mapping, chunk, graph=GRAPH)

    expected = canonical((folder / "expected.nq").read_bytes())
    actual = canonical(mapped.batch.to_bytes())
    assert set(actual) == set(expected), f"{case}: graphs differ"
    rejects_file = folder / "rejects.csv"
    expected_rejects = pd.read_csv(rejects_file) if rejects_file.exists() else None
    if expected_rejects is None:
        assert mapped.rejects.empty
    else:
        assert mapped.rejects.to_dict("records") == expected_rejects.to_dict("records")
    assert mapped.rows_loaded + mapped.rows_rejected == mapped.rows_read == len(chunk)


def test_every_golden_case_is_complete() -> None:
    for folder in (p for p in GOLDEN.iterdir() if p.is_dir()):
        present = {p.name for p in folder.iterdir()}
        assert {"input.csv", "mapping.yaml", "expected.nq"} <= present, folder.name
