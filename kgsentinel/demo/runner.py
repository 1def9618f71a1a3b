"""``kgsentinel demo``: the whole story in one run, from source files to a report.

:func:`run_demo` makes a workspace (the NPI example: settings, mappings,
rules), writes its source data with planted anomalies, ingests every source,
runs the detectors, trains and predicts the ``late`` outcome,
raises alerts (critical ones go to a JSON Lines sink), and returns a
:class:`DemoReport` that :func:`~kgsentinel.demo.report.render_report` prints.

A demo folder is marked as one, so running the demo again on it starts it
afresh; any other folder that is not empty is refused.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from kgsentinel.errors import WorkspaceError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from kgsentinel.alerts.engine import AlertsReport
    from kgsentinel.detectors.runner import DetectorReport
    from kgsentinel.ingest.job import IngestReport
    from kgsentinel.predict.runner import PredictReport, TrainReport

__all__ = [
    "DEFAULT_FOLDER",
    "LABELS_FILE",
    "MARKER",
    "OUTCOME",
    "DemoReport",
    "prepare_folder",
    "run_demo",
    "write_workspace",
]

#: where ``kgsentinel demo`` builds its workspace when given no folder
DEFAULT_FOLDER = Path("kgsentinel-demo")
#: the file that marks a folder as a demo (and says what made it)
MARKER = ".kgsentinel-demo.json"
#: the planted anomalies' labels, beside the workspace's data (never ingested)
LABELS_FILE = "planted-anomalies.csv"
#: the outcome the demo predicts
OUTCOME = "late"

Progress = Callable[[str], None]


@dataclass(frozen=True)
class DemoReport:
    """What a demo run did and found: the report's contents."""

    root: Path
    sources: list[IngestReport]
    detectors: list[DetectorReport]
    training: TrainReport
    prediction: PredictReport
    #: standing anomalies (see :func:`~kgsentinel.detectors.anomalies.list_anomalies`)
    anomalies: pd.DataFrame
    #: per planted kind: what it is, how many were planted, found, and other cases flagged
    recall: pd.DataFrame
    #: the running launches most likely to be late
    risks: pd.DataFrame
    #: what the alert engine raised and delivered
    alerts: AlertsReport
    seconds: float


def run_demo(
    folder: Path = DEFAULT_FOLDER,
    *,
    launches: int = 300,
    seed: int = 7,
    progress: Progress | None = None,
) -> DemoReport:
    """Build the demo workspace in ``folder`` and run the whole story in it.

    Refuses a folder that holds anything but an earlier demo.
    """
    from kgsentinel.alerts import process
    from kgsentinel.demo.report import recall_table, riskiest_launches
    from kgsentinel.demo.sources import generate_sources, write_sources
    from kgsentinel.detectors.anomalies import list_anomalies
    from kgsentinel.detectors.runner import detect
    from kgsentinel.ingest.job import ingest_source
    from kgsentinel.predict.runner import predict, train
    from kgsentinel.workspace import open_workspace

    say = progress or (lambda _message: None)
    started = time.monotonic()
    root = prepare_folder(folder)
    say(f"Generating {launches} product launches with planted anomalies")
    data = generate_sources(launches=launches, seed=seed)
    write_workspace(root)
    write_sources(data, root / "data")
    data.labels.to_csv(root / LABELS_FILE, index=False)
    with open_workspace(root, env={}) as workspace:
        sources = []
        for name in workspace.config.sources:
            say(f"Ingesting {name}")
            sources.append(ingest_source(workspace, name))
        say("Detecting anomalies")
        detectors = detect(workspace, progress=lambda name: say(f"Detecting: {name}"))
        say(f"Training the {OUTCOME!r} outcome model")
        training = train(workspace, OUTCOME)
        say("Predicting running launches")
        prediction = predict(workspace, OUTCOME)
        say("Raising alerts")
        alerts = process(workspace)
        anomalies = list_anomalies(workspace.store)
        risks = riskiest_launches(workspace.store)
    return DemoReport(root, sources, detectors, training, prediction, anomalies,
                      recall_table(data.labels, anomalies), risks, alerts,
                      time.monotonic() - started)  # fmt: skip


def prepare_folder(folder: Path) -> Path:
    """``folder``, created and empty: new, empty, or an earlier demo (cleared).

    Example:
        >>> import tempfile
        >>> root = prepare_folder(Path(tempfile.mkdtemp()) / "demo")
        >>> sorted(p.name for p in root.iterdir())
        ['.kgsentinel-demo.json']
    """
    root = folder.expanduser().resolve()
    if root.exists() and not root.is_dir():
        raise WorkspaceError(f"{root} is a file; give `kgsentinel demo` a folder to build in")
    if root.is_dir() and any(root.iterdir()):
        if not (root / MARKER).is_file():
            raise WorkspaceError(
                f"{root} is not empty and not an earlier demo; nothing was changed. "
                "Give `kgsentinel demo` a new or empty folder, e.g. `kgsentinel demo ./npi-demo`"
            )
        _clear(root)
    try:
        root.mkdir(parents=True, exist_ok=True)
        marker = {"made_by": "kgsentinel demo", "at": dt.datetime.now(dt.UTC).isoformat()}
        (root / MARKER).write_text(json.dumps(marker) + "\n", encoding="utf-8")
    except OSError as exc:
        raise WorkspaceError(f"cannot create the demo folder {root}: {exc.strerror}") from exc
    return root


def write_workspace(root: Path) -> None:
    """The NPI workspace into ``root``: kgsentinel.toml, mappings/, rules/ and the usual folders."""
    from kgsentinel.workspace import init_workspace

    init_workspace(root, name="npi")
    template = resources.files("kgsentinel.demo") / "workspace"
    with resources.as_file(template) as source:
        shutil.copytree(source, root, dirs_exist_ok=True)


def _clear(root: Path) -> None:
    """Remove what an earlier demo left in ``root`` (its marker last)."""
    try:
        for path in root.iterdir():
            if path.name == MARKER:
                continue
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
    except OSError as exc:
        raise WorkspaceError(f"cannot clear the earlier demo in {root}: {exc.strerror}") from exc
