"""The analysts' notebooks run on a demo workspace and show real results."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import nbformat
import pytest

from kgsentinel.demo.runner import run_demo

NOTEBOOKS = Path(__file__).parents[1] / "notebooks"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo workspace the notebooks read (through KGSENTINEL_DEMO)."""
    return run_demo(tmp_path_factory.mktemp("notebooks") / "demo", launches=200).root


@pytest.fixture(scope="module")
def kernel() -> str:
    """The name of a Jupyter kernel of this interpreter, installed for the user if missing."""
    import subprocess
    import sys

    from jupyter_client.kernelspec import KernelSpecManager

    if "python3" not in KernelSpecManager().find_kernel_specs():
        subprocess.run([sys.executable, "-m", "ipykernel", "install", "--user"], check=True)
    return "python3"


def run(name: str, demo: Path, kernel: str, monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    """Execute notebook ``name`` on the demo; its code cells' outputs, in order."""
    from nbclient import NotebookClient

    monkeypatch.setenv("KGSENTINEL_DEMO", str(demo))
    notebook = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    NotebookClient(notebook, kernel_name=kernel, timeout=300,
                   resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()  # fmt: skip
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def text(cell: dict) -> str:
    parts = []
    for output in cell.get("outputs", []):
        parts.append(output.get("text", ""))
        parts.append(output.get("data", {}).get("text/plain", ""))
    return "".join(parts)


def has_figure(cell: dict) -> bool:
    images = [o["data"]["image/png"] for o in cell.get("outputs", [])
              if "image/png" in o.get("data", {})]  # fmt: skip
    return any(len(base64.b64decode(image)) > 5_000 for image in images)


def frame_rows(cell: dict) -> int:
    """Rows of the DataFrame a cell shows (pandas prints ``[N rows x M columns]`` when long)."""
    shown = text(cell)
    counted = re.search(r"\[(\d+) rows x \d+ columns\]", shown)
    if counted:
        return int(counted.group(1))
    return len(re.findall(r"^\d+ ", shown, flags=re.MULTILINE))


def test_explore_the_graph(demo: Path, kernel: str, monkeypatch: pytest.MonkeyPatch) -> None:
    cells = run("01-explore-the-graph", demo, kernel, monkeypatch)
    graphs, links, one = text(cells[1]), text(cells[2]), text(cells[3])
    assert "urn:kgsentinel:graph:launch-events" in graphs
    assert "urn:kgsentinel:graph:anomalies" in graphs
    assert re.search(r"plm-formula-lines\s+erp-suppliers\s+\d+", links)
    assert frame_rows(cells[3]) >= 2
    assert "L-10" in one
    assert "Brief" in text(cells[4])
    assert has_figure(cells[5])


def test_triage_anomalies(demo: Path, kernel: str, monkeypatch: pytest.MonkeyPatch) -> None:
    cells = run("02-triage-anomalies", demo, kernel, monkeypatch)
    assert int(text(cells[0]).strip()) > 10
    assert has_figure(cells[1])
    assert frame_rows(cells[2]) >= 5
    assert has_figure(cells[3])
    assert frame_rows(cells[3]) >= 1
    assert "Verdant Oils" in text(cells[4])
    assert "SUP-07" in text(cells[5])


def test_predict_late_launches(demo: Path, kernel: str, monkeypatch: pytest.MonkeyPatch) -> None:
    cells = run("03-predict-late-launches", demo, kernel, monkeypatch)
    auc = re.search(r"test AUC (0\.\d+)", text(cells[0]))
    assert auc is not None, text(cells[0])
    assert float(auc.group(1)) > 0.5
    assert has_figure(cells[1])
    assert frame_rows(cells[2]) >= 5
    assert has_figure(cells[3])


def test_notebooks_are_committed_without_outputs() -> None:
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code")
