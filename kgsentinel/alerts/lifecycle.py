"""The lifecycle of alerts: firing → acknowledged → resolved, and silenced until a time.

:func:`sync_alerts` keeps the alerts graph in step with the anomalies graph:
an anomaly with no alert gets one (firing, or silenced when a silence in
force matches it); an alert whose anomaly its detector no longer finds
(``prov:invalidatedAtTime``) is resolved; a silenced alert whose silences
have all expired fires again. People acknowledge, resolve and silence alerts
with :func:`acknowledge`, :func:`resolve` and :func:`silence`. Each change is
a transition in the alert's history. A resolved alert stays resolved.

Example:
    >>> import datetime as dt
    >>> until_time(dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC), "2h").isoformat()
    '2026-01-05T11:00:00+00:00'
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox

from kgsentinel.alerts.matchers import Matcher, matches_all, parse_duration, parse_matcher
from kgsentinel.alerts.records import (
    AlertRecord,
    SilenceRecord,
    alert_fingerprints,
    alert_iri,
    alert_quads,
    change_update,
    guarded_update,
    last_seen_quad,
    read_alerts,
    read_silences,
    seen_update,
    silence_quads,
    standing_anomalies,
    state_quad,
    transition_quads,
)
from kgsentinel.errors import AlertError

if TYPE_CHECKING:  # pragma: no cover
    from kgsentinel.alerts.config import AlertsConfig
    from kgsentinel.graph.store import GraphStore

__all__ = [
    "AUTOMATIC",
    "SyncReport",
    "acknowledge",
    "expire_silence",
    "find_alert",
    "resolve",
    "silence",
    "sync_alerts",
    "until_time",
]

AUTOMATIC = "kgsentinel"
OPEN = ("firing", "acknowledged", "silenced")
#: a silence in force: its IRI and its matchers
_Silence = tuple[str, list[Matcher]]


@dataclass(frozen=True)
class SyncReport:
    """What one sync changed: alerts raised, resolved, silenced and fired again."""

    raised: int = 0
    resolved: int = 0
    silenced: int = 0
    unsilenced: int = 0
    refired: int = 0


@dataclass
class _Changes:
    """Quads to add, and moves of alerts from the state they were read in."""

    insert: list[ox.Quad] = field(default_factory=list)
    moves: list[str] = field(default_factory=list)
    last_state: str = ""

    def move(
        self, alert: AlertRecord, to: str, *, at: dt.datetime, by: str, **extra: str | None
    ) -> None:
        was = state_quad(alert.iri, alert.state)
        delete, insert = [was], [state_quad(alert.iri, to)]
        if to == "resolved":
            delete.append(last_seen_quad(alert.iri, alert.last_seen))
            insert.append(last_seen_quad(alert.iri, at))
        insert += transition_quads(alert.iri, to=to, at=at, by=by, previous=alert.state,
                                   **extra)  # fmt: skip
        self.moves.append(guarded_update(was, delete, insert))
        self.last_state = to

    def apply(self, store: GraphStore) -> None:
        """Write everything in one transaction."""
        parts = [change_update([], self.insert), *self.moves]
        update = " ;\n".join(part for part in parts if part)
        if update:
            store.update(update)


def sync_alerts(store: GraphStore, config: AlertsConfig, *, now: dt.datetime) -> SyncReport:
    """Raise, resolve, silence and unsilence alerts to match the anomalies and silences now.

    An open alert whose anomaly is invalidated, or gone from the graph, is resolved.
    """
    anomalies = standing_anomalies(store)
    standing = anomalies[anomalies["gone"].isna()]
    silences = _active(store, now)
    changes = _Changes()
    raised = _raise_new(changes, standing, alert_fingerprints(store), silences, config, now)
    moved = _follow(changes, read_alerts(store, states=OPEN), set(standing["fingerprint"]),
                    silences, now)  # fmt: skip
    refired = _refire(changes, store, standing, silences, now)
    changes.apply(store)
    store.update(seen_update(now))
    return SyncReport(raised, moved["resolved"], moved["silenced"], moved["firing"], refired)


def _raise_new(
    changes: _Changes, standing: Any, known: set[str], silences: list[_Silence],
    config: AlertsConfig, now: dt.datetime,
) -> int:  # fmt: skip
    """Add an alert for each standing anomaly that has none; how many."""
    raised = 0
    for row in standing.itertuples(index=False):
        if row.fingerprint in known:
            continue
        muting = _muting(silences, row.labels)
        state = "silenced" if muting else "firing"
        routes = [route.name for route in config.routes_for(row.labels) if route.sinks]
        changes.insert += alert_quads(row.fingerprint, row.anomaly, labels=row.labels,
                                      severity=row.severity, state=state, at=now,
                                      routes=routes)  # fmt: skip
        changes.insert += transition_quads(alert_iri(row.fingerprint), to=state, at=now,
                                           by=AUTOMATIC, silence=muting)  # fmt: skip
        known.add(row.fingerprint)
        raised += 1
    return raised


def _follow(
    changes: _Changes, alerts: list[AlertRecord], standing: set[str],
    silences: list[_Silence], now: dt.datetime,
) -> dict[str, int]:  # fmt: skip
    """Resolve, silence and unsilence open alerts; how many moved to each state."""
    moved = {"resolved": 0, "silenced": 0, "firing": 0}
    for alert in alerts:
        muting = _muting(silences, alert.labels)
        if alert.fingerprint not in standing:
            changes.move(alert, "resolved", at=now, by=AUTOMATIC)
        elif alert.state == "firing" and muting:
            changes.move(alert, "silenced", at=now, by=AUTOMATIC, silence=muting)
        elif alert.state == "silenced" and not muting:
            changes.move(alert, "firing", at=now, by=AUTOMATIC,
                         comment="its silences expired")  # fmt: skip
        else:
            continue
        moved[changes.last_state] += 1
    return moved


def _refire(
    changes: _Changes, store: GraphStore, standing: Any, silences: list[_Silence],
    now: dt.datetime,
) -> int:  # fmt: skip
    """Fire again the resolved alerts whose anomaly was detected anew after they resolved.

    An alert resolved by hand while its anomaly still stands stays resolved;
    one whose anomaly went away and came back fires (or is silenced) again.
    """
    detected = dict(zip(standing["fingerprint"], standing["detected"], strict=True))
    refired = 0
    for alert in read_alerts(store, states=["resolved"], fingerprints=list(detected)):
        if detected[alert.fingerprint] > alert.last_seen:
            muting = _muting(silences, alert.labels)
            changes.move(alert, "silenced" if muting else "firing", at=now, by=AUTOMATIC,
                         silence=muting, comment="its anomaly was found again")  # fmt: skip
            refired += 1
    return refired


def _active(store: GraphStore, now: dt.datetime) -> list[_Silence]:
    return [
        (s.iri, [parse_matcher(m) for m in s.matchers]) for s in read_silences(store, active_at=now)
    ]


def _muting(silences: list[_Silence], labels: Mapping[str, str]) -> str | None:
    """The first silence in force whose matchers all hold for ``labels``."""
    return next((iri for iri, matchers in silences if matches_all(matchers, labels)), None)


def find_alert(store: GraphStore, alert_id: str) -> AlertRecord:
    """The alert whose id is (or starts with) ``alert_id``; else an :class:`AlertError`."""
    text = alert_id.strip().lower()
    found = read_alerts(store, prefix=text) if len(text) >= 4 and text.isalnum() else []
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        raise AlertError(
            f"alert id {alert_id!r} is ambiguous ({len(found)} alerts start with it); "
            "give more of it, as `kgsentinel alerts` shows"
        )
    raise AlertError(f"no alert with id {alert_id!r}; list alerts with `kgsentinel alerts`")


def acknowledge(
    store: GraphStore, alert_id: str, *, by: str, comment: str | None = None,
    now: dt.datetime | None = None,
) -> AlertRecord:  # fmt: skip
    """Mark a firing alert as taken on by ``by``; it is not sent again until it resolves."""
    return _move(store, alert_id, "acknowledged", by=by, comment=comment, now=now,
                 allowed=("firing", "silenced"))  # fmt: skip


def resolve(
    store: GraphStore, alert_id: str, *, by: str, comment: str | None = None,
    now: dt.datetime | None = None,
) -> AlertRecord:  # fmt: skip
    """Close an alert by hand; its group sends a resolved notification."""
    return _move(store, alert_id, "resolved", by=by, comment=comment, now=now, allowed=OPEN)


def _move(
    store: GraphStore, alert_id: str, to: str, *, by: str, comment: str | None,
    now: dt.datetime | None, allowed: Sequence[str],
) -> AlertRecord:  # fmt: skip
    alert = find_alert(store, alert_id)
    if alert.state == to:
        return alert
    if alert.state not in allowed:
        raise AlertError(f"alert {alert.id} is {alert.state}; it cannot become {to}")
    if not by.strip():
        raise AlertError("say who makes the change (by), e.g. your user name")
    changes = _Changes()
    changes.move(alert, to, at=now or _now(), by=by, comment=comment)
    changes.apply(store)
    now_record = find_alert(store, alert.id)
    if now_record.state != to:
        raise AlertError(f"alert {alert.id} became {now_record.state} meanwhile; nothing changed")
    return now_record


def silence(
    store: GraphStore,
    matchers: Sequence[str],
    *,
    until: dt.datetime | None = None,
    duration: str | None = None,
    by: str,
    comment: str = "",
    now: dt.datetime | None = None,
) -> SilenceRecord:
    """Silence alerts whose labels match all ``matchers`` until a time (or for a duration).

    Firing alerts it matches are silenced at once (``muted`` says how many), and
    new ones as they are raised; when it ends they fire again.
    """
    if not matchers:
        raise AlertError("a silence needs at least one matcher, e.g. --match 'kind=stuck'")
    parsed = [str(parse_matcher(m)) for m in matchers]
    start = now or _now()
    if (until is None) == (duration is None):
        raise AlertError("give the silence an end: either until a time or for a duration (2h)")
    end = until if until is not None else until_time(start, str(duration))
    if end.tzinfo is None:
        end = end.replace(tzinfo=dt.UTC)
    if end <= start:
        raise AlertError(f"the silence would end at {end.isoformat()}, before it starts")
    if not by.strip():
        raise AlertError("say who makes the silence (by), e.g. your user name")
    record = SilenceRecord(iri=f"urn:kgsentinel:silence:{uuid.uuid4().hex[:12]}",
                           matchers=tuple(parsed), starts_at=start, ends_at=end, by=by,
                           comment=comment)  # fmt: skip
    changes = _Changes(silence_quads(record))
    muting = [(record.iri, [parse_matcher(m) for m in record.matchers])]
    muted = 0
    for alert in read_alerts(store, states=["firing"]):
        if _muting(muting, dict(alert.labels)):
            changes.move(alert, "silenced", at=start, by=by, silence=record.iri)
            muted += 1
    changes.apply(store)
    return dataclasses.replace(record, muted=muted)


def expire_silence(
    store: GraphStore, silence_id: str, *, now: dt.datetime | None = None
) -> SilenceRecord:
    """End a silence now; its alerts fire again at the next sync if their anomalies stand."""
    at = now or _now()
    found = [s for s in read_silences(store) if s.id == silence_id.strip()]
    if not found:
        raise AlertError(
            f"no silence with id {silence_id!r}; list silences with `kgsentinel alerts silences`"
        )
    record = found[0]
    if record.ends_at <= at:
        return record
    ended = dataclasses.replace(record, ends_at=at)
    (old,) = [q for q in silence_quads(record) if q.predicate.value.endswith("#endsAt")]
    (new,) = [q for q in silence_quads(ended) if q.predicate.value.endswith("#endsAt")]
    store.update(guarded_update(old, [old], [new]))
    return ended


def until_time(start: dt.datetime, duration: str) -> dt.datetime:
    """``start`` plus a duration such as ``2h`` (see :func:`parse_duration`)."""
    return start + parse_duration(duration)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
