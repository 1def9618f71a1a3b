"""What people do with alerts: list them, acknowledge, resolve, silence, read the history.

These are the functions behind ``kgsentinel alerts`` and the HTTP API. Changes
are written to the alerts graph at once; notifications about them go out at
the next :func:`kgsentinel.alerts.process`.

Example:
    >>> from kgsentinel.graph import open_store
    >>> list(list_alerts(open_store(":memory:")).columns)[:4]
    ['id', 'state', 'severity', 'detector']
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from kgsentinel.alerts import lifecycle
from kgsentinel.alerts.records import STATES, AlertRecord, SilenceRecord, read_alerts, read_silences
from kgsentinel.errors import AlertError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from kgsentinel.graph.store import GraphStore
    from kgsentinel.workspace import Workspace

__all__ = [
    "ALERT_COLUMNS",
    "acknowledge",
    "alert_history",
    "expire_silence",
    "list_alerts",
    "list_silences",
    "resolve",
    "silence",
]

#: the columns of :func:`list_alerts`, in order
ALERT_COLUMNS = (
    "id", "state", "severity", "detector", "kind", "case_id", "activity", "summary",
    "labels", "routes", "first_seen", "last_seen", "fingerprint", "alert",
    "anomaly",
)  # fmt: skip


def list_alerts(
    store: GraphStore,
    state: str | None = None,
    *,
    detector: str | None = None,
    kind: str | None = None,
    severity: str | None = None,
) -> pd.DataFrame:
    """Alerts with :data:`ALERT_COLUMNS`, newest first; filter by state, detector, kind, severity.

    ``labels`` is ``name=value`` pairs joined by commas, ``routes`` the route names.
    """
    import pandas as pd

    if state is not None and state not in STATES:
        raise AlertError(f"unknown alert state {state!r}; use one of {', '.join(STATES)}")
    records = read_alerts(store, states=[state] if state else None)
    wanted = {"detector": detector, "kind": kind, "severity": severity}
    records = [r for r in records
               if all(v is None or r.labels.get(k) == v for k, v in wanted.items())]  # fmt: skip
    rows = [_row(record) for record in reversed(records)]
    return pd.DataFrame(rows, columns=list(ALERT_COLUMNS))


def _row(record: AlertRecord) -> dict[str, Any]:
    labels = record.labels
    return {
        "id": record.id,
        "state": record.state,
        "severity": labels.get("severity"),
        "detector": labels.get("detector"),
        "kind": labels.get("kind"),
        "case_id": record.case_id,
        "activity": record.activity,
        "summary": record.summary,
        "labels": ",".join(f"{k}={v}" for k, v in sorted(labels.items())),
        "routes": ",".join(record.routes),
        "first_seen": record.first_seen,
        "last_seen": record.last_seen,
        "fingerprint": record.fingerprint,
        "alert": record.iri,
        "anomaly": record.anomaly,
    }


def acknowledge(
    workspace: Workspace, alert_id: str, *, by: str, comment: str | None = None,
    now: dt.datetime | None = None,
) -> AlertRecord:  # fmt: skip
    """Take a firing alert on: it is no longer sent until it resolves.

    An unknown id is an :class:`~kgsentinel.errors.AlertError` naming it.
    """
    return lifecycle.acknowledge(workspace.store, alert_id, by=by, comment=comment, now=now)


def resolve(
    workspace: Workspace, alert_id: str, *, by: str, comment: str | None = None,
    now: dt.datetime | None = None,
) -> AlertRecord:  # fmt: skip
    """Close an alert by hand; its group sends one resolved notification."""
    return lifecycle.resolve(workspace.store, alert_id, by=by, comment=comment, now=now)


def silence(
    workspace: Workspace,
    matchers: Sequence[str],
    *,
    until: dt.datetime | None = None,
    duration: str | None = None,
    by: str,
    comment: str = "",
    now: dt.datetime | None = None,
) -> SilenceRecord:
    """Mute alerts whose labels match all ``matchers`` until a time or for a ``duration``.

    Firing alerts it matches are silenced at once, new ones as they are raised;
    they fire again when it expires if their anomalies still stand.
    """
    return lifecycle.silence(workspace.store, matchers, until=until, duration=duration, by=by,
                             comment=comment, now=now)  # fmt: skip


def expire_silence(
    workspace: Workspace, silence_id: str, *, now: dt.datetime | None = None
) -> SilenceRecord:
    """End a silence now; its alerts fire again at the next :func:`kgsentinel.alerts.process`."""
    return lifecycle.expire_silence(workspace.store, silence_id, now=now)


def list_silences(
    store: GraphStore, *, active_at: dt.datetime | None = None
) -> list[SilenceRecord]:
    """Silences, or only those in force at ``active_at``."""
    return read_silences(store, active_at=active_at)


_HISTORY = """PREFIX kgs: <https://w3id.org/kgsentinel#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?at ?from ?to ?by ?comment ?silence WHERE {
  ?alert kgs:transition ?t .
  ?t kgs:toState ?to_iri ; kgs:at ?at ; kgs:by ?by .
  OPTIONAL { ?t kgs:fromState ?from_iri }
  OPTIONAL { ?t rdfs:comment ?comment }
  OPTIONAL { ?t kgs:silence ?silence }
  BIND(LCASE(STRAFTER(STR(?to_iri), STR(kgs:))) AS ?to)
  BIND(LCASE(STRAFTER(STR(?from_iri), STR(kgs:))) AS ?from)
}
ORDER BY ?at"""


def alert_history(store: GraphStore, alert_id: str) -> pd.DataFrame:
    """The changes of one alert, oldest first: at, from, to, by, comment, silence."""
    import pyoxigraph as ox

    alert = lifecycle.find_alert(store, alert_id)
    return store.query_frame(_HISTORY, params={"alert": ox.NamedNode(alert.iri)})
