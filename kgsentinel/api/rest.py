"""REST for anomalies, predictions, detectors and sources (JSON, thin over the library).

Lists page with ``limit`` and ``cursor`` (see :mod:`.pages`) in a stable order.
Reading needs role ``reader``; running a detector ``operator``, ingesting a
source ``ingester``. A run (``POST /detectors/{name}/run``, ``POST
/sources/{name}/ingest``) happens while the request waits and answers ``200``
with its report, so the caller knows at once what it found or loaded; a
second run while one is going answers ``409``. Errors are JSON ``{"error",
"status", "request_id"}``: 404 for an unknown id or name, 422 for a bad filter.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import pathlib
import threading
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from prometheus_client import Counter

from kgsentinel.api.app import current_workspace
from kgsentinel.api.metrics import REGISTRY, record_detector_run, record_ingest
from kgsentinel.api.pages import Cursor, Limit, decode_cursor, page
from kgsentinel.api.security import Principal, require
from kgsentinel.detectors.base import KINDS
from kgsentinel.detectors.lookup import ANOMALY_ID
from kgsentinel.errors import KgsentinelError
from kgsentinel.workspace import Workspace

__all__ = ["INGEST_RUNS", "router"]

INGEST_RUNS = Counter("kgsentinel_ingest_runs", "Ingest runs started over the API, by source "
                      "and outcome (ok, failed).", ["source", "outcome"],
                      registry=REGISTRY)  # fmt: skip
#: one run (detector or ingest) at a time: they write the same store
_RUNNING = threading.Lock()

router = APIRouter()
Reader = Annotated[Principal, Depends(require("reader"))]
Ingester = Annotated[Principal, Depends(require("ingester"))]
Operator = Annotated[Principal, Depends(require("operator"))]
Space = Annotated[Workspace, Depends(current_workspace)]
Kind = Literal[tuple(KINDS)]  # type: ignore[valid-type]
Name = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]*$", max_length=200)]
_NOT_FOUND = {404: {"description": "No such id or name."}}


@router.get("/anomalies", tags=["anomalies"], summary="Standing anomalies, newest first")
def list_anomalies(
    request: Request,
    _: Reader,
    workspace: Space,
    detector: Annotated[str | None, Query(max_length=200)] = None,
    kind: Kind | None = None,
    since: dt.datetime | None = None,
    min_score: Annotated[float | None, Query(allow_inf_nan=False)] = None,
    case_id: Annotated[str | None, Query(max_length=1000)] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """Anomalies not invalidated, newest first, then by id; filters combine."""
    from kgsentinel.detectors.lookup import anomaly_page

    after = decode_cursor(cursor, parts=2)
    found = anomaly_page(
        workspace.store, detector=detector, kind=kind, since=since, min_score=min_score,
        case_id=case_id, limit=limit, after=(after[0], after[1]) if after else None,
    )  # fmt: skip
    return page(request, found.rows, found.after)


@router.get(
    "/anomalies/{anomaly_id}", tags=["anomalies"], summary="One anomaly with its evidence",
    responses=_NOT_FOUND,
)  # fmt: skip
def get_anomaly(
    _: Reader,
    workspace: Space,
    anomaly_id: Annotated[str, Path(pattern=ANOMALY_ID, description="40 hex digits.")],
) -> dict[str, Any]:
    """The anomaly (also one no longer found: ``invalidated_at``), subjects and evidence."""
    from kgsentinel.detectors.lookup import anomaly_detail

    found = anomaly_detail(workspace.store, anomaly_id)
    if found is None:
        raise HTTPException(404, f"no anomaly with id {anomaly_id}; list them at /anomalies")
    return found


@router.get("/predictions", tags=["predictions"], summary="Current predictions of running cases")
def list_predictions(
    request: Request,
    _: Reader,
    workspace: Space,
    outcome: Annotated[str | None, Query(max_length=200)] = None,
    target: Literal["outcome", "remaining-time"] | None = None,
    min_probability: Annotated[float | None, Query(ge=0, le=1)] = None,
    case_id: Annotated[str | None, Query(max_length=1000)] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """Predictions by outcome and target; ``min_probability`` keeps outcome predictions."""
    from kgsentinel.predict.listing import prediction_page

    after = decode_cursor(cursor, parts=1)
    found = prediction_page(
        workspace.store, outcome=outcome, target=target, min_probability=min_probability,
        case_id=case_id, limit=limit, after=after[0] if after else None,
    )  # fmt: skip
    return page(request, found.rows, [found.after] if found.after else None)


@router.get("/detectors", tags=["detectors"], summary="Detectors with their last run")
def list_detectors(request: Request, _: Reader, workspace: Space) -> dict[str, Any]:
    """Each detector: kind, enabled, last run, anomalies found then, standing anomalies."""
    from kgsentinel.detectors.runner import detector_status

    rows = [_detector_row(row) for row in detector_status(workspace)]
    return page(request, rows, None)


@router.post(
    "/detectors/{name:path}/run", tags=["detectors"], summary="Run a detector now",
    responses={**_NOT_FOUND, 409: {"description": "A run is already going."}},
)  # fmt: skip
def run_detector(name: Name, _: Operator, workspace: Space) -> dict[str, Any]:
    """Run one detector and answer its report (cases examined, found, new, resolved)."""
    from kgsentinel.detectors.runner import configured_detectors, detect

    if name not in configured_detectors(workspace):
        raise HTTPException(404, f"no detector named {name!r}; list them at /detectors")
    with _one_run():
        try:
            [report] = detect(workspace, [name])
        except KgsentinelError:
            record_detector_run(name, "failed")
            raise
    record_detector_run(name, "ok")
    return {key: _plain(value) for key, value in vars(report).items()}


@router.get("/sources", tags=["sources"], summary="Sources with their last run")
def list_sources(request: Request, _: Reader, workspace: Space) -> dict[str, Any]:
    """Each configured source (and the events posted): last run, rows read, loaded, rejected."""
    from kgsentinel.ingest.job import source_runs

    rows = [{key: _plain(value) for key, value in row.items()} for row in source_runs(workspace)]
    return page(request, rows, None)


@router.post(
    "/sources/{name}/ingest", tags=["sources"], summary="Ingest a source now",
    responses={**_NOT_FOUND, 409: {"description": "A run is already going."}},
)  # fmt: skip
def ingest_source(name: Name, _: Ingester, workspace: Space) -> dict[str, Any]:
    """Run one configured source and answer its report (rows read, loaded, rejected)."""
    from kgsentinel.ingest.job import ingest_source as run_source

    if name not in workspace.config.sources:
        raise HTTPException(404, f"no source named {name!r} in kgsentinel.toml; see /sources")
    with _one_run():
        try:
            report = run_source(workspace, name)
        except KgsentinelError:
            INGEST_RUNS.labels(name, "failed").inc()
            raise
    INGEST_RUNS.labels(name, "ok").inc()
    record_ingest(name, report.rows_loaded, report.rows_rejected)
    answer = {key: _plain(value) for key, value in vars(report).items()}
    if report.rejects_file is not None and workspace.root is not None:
        answer["rejects_file"] = str(report.rejects_file.relative_to(workspace.root))
    return answer


@contextlib.contextmanager
def _one_run() -> Iterator[None]:
    """Hold the run lock, or answer 409 when another run holds it."""
    if not _RUNNING.acquire(blocking=False):
        raise HTTPException(409, "another detector or ingest run is going; try again soon")
    try:
        yield
    finally:
        _RUNNING.release()


def _detector_row(row: dict[str, Any]) -> dict[str, Any]:
    found = row.get("found")
    return {**row, "found": int(found) if found is not None else None}


def _plain(value: Any) -> Any:
    """A report field as JSON: times in ISO 8601, paths as their file name."""
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, pathlib.Path):
        return value.name
    return value
