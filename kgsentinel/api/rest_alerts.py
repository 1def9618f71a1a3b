"""REST for alerts: list them, acknowledge, resolve, silence (thin over :mod:`kgsentinel.alerts`).

``GET /alerts`` pages newest first (then by id) with ``limit`` and ``cursor``
and filters by state, detector, kind and severity; reading needs role
``reader``. Changing an alert or making a silence needs ``operator``; the
change is recorded as made by the token's name. An unknown alert id is a
404, a change the alert's state does not allow (resolving a resolved alert's
sibling, acknowledging a resolved one) a 409, a bad matcher or end a 400.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from kgsentinel.api.app import current_workspace
from kgsentinel.api.pages import Cursor, Limit, decode_cursor, page
from kgsentinel.api.security import Principal, require
from kgsentinel.errors import AlertError
from kgsentinel.workspace import Workspace

__all__ = ["router"]

router = APIRouter(tags=["alerts"])
Reader = Annotated[Principal, Depends(require("reader"))]
Operator = Annotated[Principal, Depends(require("operator"))]
Space = Annotated[Workspace, Depends(current_workspace)]
State = Literal["firing", "acknowledged", "resolved", "silenced"]
AlertId = Annotated[
    str, Path(pattern=r"^[0-9a-f]{4,40}$", description="The alert's id (or its first digits).")
]
_FIELDS = ("id", "state", "severity", "detector", "kind", "case_id", "activity", "summary",
           "routes", "first_seen", "last_seen", "fingerprint", "anomaly")  # fmt: skip
_CHANGE = {404: {"description": "No such alert."},
           409: {"description": "The alert's state does not allow it."}}  # fmt: skip


class Change(BaseModel):
    """A note kept with the change."""

    model_config = ConfigDict(extra="forbid")
    comment: str | None = Field(None, max_length=2000, description="Why, for the history.")


class NewSilence(BaseModel):
    """Mute alerts whose labels match every matcher, until a time or for a duration."""

    model_config = ConfigDict(extra="forbid")
    matchers: list[Annotated[str, Field(min_length=1, max_length=500)]] = Field(
        min_length=1, max_length=50, examples=[["kind=stuck", 'team=~"npi|ops"']]
    )
    until: dt.datetime | None = Field(None, description="When it ends (or give duration).")
    duration: str | None = Field(None, max_length=50, examples=["2h"])
    comment: str = Field("", max_length=2000)


@router.get("/alerts", summary="Alerts, newest first")
def list_alerts(
    request: Request,
    _: Reader,
    workspace: Space,
    state: State | None = None,
    detector: Annotated[str | None, Query(max_length=200)] = None,
    kind: Annotated[str | None, Query(max_length=200)] = None,
    severity: Literal["info", "warning", "critical"] | None = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """Alerts matching every filter given, ``limit`` at a time."""
    from kgsentinel.alerts import list_alerts as alerts_of

    after = decode_cursor(cursor, parts=2)
    frame = alerts_of(workspace.store, state, detector=detector, kind=kind, severity=severity)
    rows = [_row(row) for row in frame.to_dict("records")]
    rows.sort(key=_key)
    if after is not None:
        rows = [row for row in rows if _key(row) > (_newest_first(after[0]), after[1])]
    shown = rows[:limit]
    return page(request, shown, [shown[-1]["first_seen"], shown[-1]["id"]]
                if len(rows) > limit else None)  # fmt: skip


@router.post("/alerts/{alert_id}/ack", summary="Acknowledge an alert", responses=_CHANGE)
def acknowledge(
    alert_id: AlertId, principal: Operator, workspace: Space, change: Change | None = None
) -> dict[str, Any]:
    """Take a firing alert on: it is not sent again until it resolves."""
    from kgsentinel.alerts import acknowledge as ack

    return _change(ack, workspace, alert_id, principal, change)


@router.post("/alerts/{alert_id}/resolve", summary="Resolve an alert", responses=_CHANGE)
def resolve(
    alert_id: AlertId, principal: Operator, workspace: Space, change: Change | None = None
) -> dict[str, Any]:
    """Close an alert by hand; its group sends one resolved notification."""
    from kgsentinel.alerts import resolve as close

    return _change(close, workspace, alert_id, principal, change)


@router.post("/silences", status_code=201, summary="Silence matching alerts")
def silence(new: NewSilence, principal: Operator, workspace: Space) -> dict[str, Any]:
    """Make a silence; matching alerts are silenced at the next alerts run."""
    from kgsentinel.alerts import silence as mute

    record = mute(workspace, new.matchers, until=new.until, duration=new.duration,
                  by=principal.name, comment=new.comment)  # fmt: skip
    return _silence(record)


@router.get("/silences", summary="Silences in force")
def list_silences(request: Request, _: Reader, workspace: Space) -> dict[str, Any]:
    """Silences in force now."""
    from kgsentinel.alerts import list_silences as silences_of

    now = dt.datetime.now(dt.UTC)
    return page(request, [_silence(s) for s in silences_of(workspace.store, active_at=now)], None)


def _existing(workspace: Workspace, alert_id: str) -> None:
    from kgsentinel.alerts.lifecycle import find_alert

    try:
        find_alert(workspace.store, alert_id)
    except AlertError as error:
        raise HTTPException(404, str(error).replace("`kgsentinel alerts`", "GET /alerts")) from None


def _change(
    action: Any, workspace: Workspace, alert_id: str, principal: Principal, change: Change | None
) -> dict[str, Any]:
    """Apply ``action`` (acknowledge, resolve) to an existing alert, by the caller."""
    _existing(workspace, alert_id)
    comment = change.comment if change else None
    try:
        record = action(workspace, alert_id, by=principal.name, comment=comment)
    except AlertError as error:
        raise HTTPException(409, str(error)) from None
    return {"id": record.id, "state": record.state, "summary": record.summary,
            "last_seen": _iso(record.last_seen)}  # fmt: skip


def _row(row: dict[str, Any]) -> dict[str, Any]:
    shown = {name: _plain(row.get(name)) for name in _FIELDS}
    labels = row.get("labels") or ""
    shown["labels"] = dict(part.split("=", 1) for part in labels.split(",") if "=" in part)
    shown["routes"] = [name for name in str(shown["routes"] or "").split(",") if name]
    return shown


def _key(row: dict[str, Any]) -> tuple[str, str]:
    return (_newest_first(row["first_seen"]), row["id"])


def _newest_first(text: str) -> str:
    """A key that sorts later times first (digits complemented)."""
    return "".join(chr(0x10FFFF - ord(char)) for char in text)


def _silence(record: Any) -> dict[str, Any]:
    return {
        "id": record.id, "matchers": list(record.matchers), "starts_at": _iso(record.starts_at),
        "ends_at": _iso(record.ends_at), "by": record.by, "comment": record.comment,
    }  # fmt: skip


def _plain(value: Any) -> Any:
    if value is None or (not isinstance(value, str | list) and pd.isna(value)):
        return None
    if isinstance(value, dt.datetime):
        return _iso(value)
    return value


def _iso(value: dt.datetime) -> str:
    return pd.Timestamp(value).isoformat()
