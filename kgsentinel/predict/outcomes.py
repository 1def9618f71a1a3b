"""Which cases have finished, and what happened to them: the labels outcome models learn.

An outcome is one of :data:`OUTCOME_KINDS`, judged on the whole of a
finished case:

- ``reaches``: the case has an event of ``activity``;
- ``never-reaches``: it has none;
- ``slower-than``: more than ``hours`` passed from its first event to its last.

(An outcome given as a SPARQL ``ASK`` per case is evaluated on the store by
the workspace runner, not here.) A case has finished when its last activity is
an end activity: given, or learned the way
:class:`~kgsentinel.detectors.timing.StuckCaseDetector` learns them.

Example:
    >>> import pandas as pd
    >>> from kgsentinel.detectors.events import as_event_log
    >>> log = as_event_log(pd.DataFrame({
    ...     "case_id": ["1", "1", "1", "2", "2", "3"],
    ...     "activity": ["Brief", "Rework", "Launch", "Brief", "Launch", "Brief"],
    ...     "timestamp": pd.to_datetime(["2026-01-01 09:00", "2026-01-02 09:00", "2026-01-05 09:00",
    ...                                  "2026-01-01 10:00", "2026-01-01 12:00",
    ...                                  "2026-01-03 08:00"])}))
    >>> finished = finished_cases(log, end_activities=["Launch"])
    >>> [case.rsplit("/", 1)[1] for case in finished]
    ['1', '2']
    >>> outcome_labels(log, "reaches", activity="Rework", cases=finished).tolist()
    [1, 0]
    >>> outcome_labels(log, "slower-than", hours=24, cases=finished).tolist()
    [1, 0]
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import TYPE_CHECKING

from kgsentinel.errors import PredictionError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["OUTCOME_KINDS", "case_durations", "finished_cases", "outcome_labels"]

#: the outcomes judged on an event log (``ask`` is judged on the store)
OUTCOME_KINDS = ("reaches", "never-reaches", "slower-than")

_NS_PER_HOUR = 3_600_000_000_000


def finished_cases(log: pd.DataFrame, end_activities: Sequence[str] | None = None) -> list[str]:
    """The IRIs of the cases of ``log`` whose last activity is an end activity.

    Without ``end_activities`` they are learned from ``log`` as
    :class:`~kgsentinel.detectors.timing.StuckCaseDetector` learns them.
    Raises :class:`~kgsentinel.errors.PredictionError` when no case has finished.
    """
    _require_columns(log)
    if log.empty:
        raise PredictionError("the event log has no events: ingest finished cases to learn from")
    if end_activities is None:
        from kgsentinel.detectors.timing import StuckCaseDetector

        ends = StuckCaseDetector().fit(log).end_activities_
    else:
        ends = list(end_activities)
    last = _last_events(log)
    done = last[last["activity"].astype(str).isin(ends)]
    if done.empty:
        seen = last["activity"].astype(str).value_counts().head(3).index.tolist()
        given = ", ".join(map(repr, ends)) if ends else "none could be learned"
        raise PredictionError(
            f"no case of the {len(last)} in the log has finished (end activities: {given}); "
            f"cases end most often with {', '.join(map(repr, seen))}: name those as end "
            "activities or ingest finished cases"
        )
    return done["case"].astype(str).tolist()


def outcome_labels(
    log: pd.DataFrame,
    kind: str,
    *,
    activity: str | None = None,
    hours: float | None = None,
    cases: Sequence[str] | None = None,
) -> pd.Series:
    """1 where the outcome happened to a case of ``cases`` (default: the finished ones), else 0.

    The series is indexed by case IRI, in the order of ``cases``. Raises
    :class:`~kgsentinel.errors.PredictionError` for an unknown kind, a missing
    ``activity`` or ``hours``, or an activity that no case of the log reaches
    (naming the closest activities there are).
    """
    import pandas as pd

    _require_columns(log)
    if kind not in OUTCOME_KINDS:
        kinds = ", ".join(OUTCOME_KINDS)
        raise PredictionError(f"unknown outcome kind {kind!r}: use one of {kinds} "
                              "(or an ASK query in the workspace configuration)")  # fmt: skip
    index = pd.Index(list(finished_cases(log) if cases is None else cases), dtype=object,
                     name="case")  # fmt: skip
    if kind == "slower-than":
        if hours is None or not hours > 0:
            raise PredictionError(f"outcome 'slower-than' needs hours > 0, not {hours!r}: "
                                  "give the SLA in hours")  # fmt: skip
        happened = (case_durations(log).reindex(index) > float(hours)).to_numpy()
    else:
        if not activity:
            raise PredictionError(f"outcome {kind!r} needs an activity: name the activity "
                                  "the case reaches (or never reaches)")  # fmt: skip
        _require_activity(log, activity)
        reached = log.loc[log["activity"].astype(str) == activity, "case"].astype(str).unique()
        happened = index.isin(reached)
        if kind == "never-reaches":
            happened = ~happened
    return pd.Series(happened.astype(int), index=index, name="label")


def case_durations(log: pd.DataFrame) -> pd.Series:
    """Hours from the first to the last event of each case, indexed by case IRI.

    Example:
        >>> import pandas as pd
        >>> from kgsentinel.detectors.events import as_event_log
        >>> log = as_event_log(pd.DataFrame({"case_id": ["1", "1"], "activity": ["A", "B"],
        ...     "timestamp": ["2026-01-01T00:00Z", "2026-01-01T06:30Z"]}))
        >>> case_durations(log).tolist()
        [6.5]
    """
    times = log["timestamp"].astype("datetime64[ns, UTC]").astype("int64")
    spans = times.groupby(log["case"].astype(str), sort=False).agg(["min", "max"])
    hours = (spans["max"] - spans["min"]) / _NS_PER_HOUR
    return hours.rename("hours").rename_axis("case")


def _last_events(log: pd.DataFrame) -> pd.DataFrame:
    """Each case's last event (by time, then event id)."""
    ordered = log.sort_values(["case", "timestamp", "event_id"], kind="stable")
    return ordered.drop_duplicates("case", keep="last")


def _require_activity(log: pd.DataFrame, activity: str) -> None:
    names = sorted(log["activity"].astype(str).unique())
    if activity in names:
        return
    close = difflib.get_close_matches(activity, names, n=3, cutoff=0.5)
    if not close:
        close = difflib.get_close_matches(activity.lower(), [n.lower() for n in names], n=3,
                                          cutoff=0.3)  # fmt: skip
        close = [n for n in names if n.lower() in close]
    hint = f"close ones: {', '.join(map(repr, close))}" if close else f"{len(names)} activities"
    raise PredictionError(f"no case reaches activity {activity!r} ({hint}): name an activity "
                          "that occurs in the log")  # fmt: skip


def _require_columns(log: pd.DataFrame) -> None:
    missing = [c for c in ("case", "activity", "timestamp", "event_id") if c not in log.columns]
    if missing:
        raise PredictionError(f"the event log has no column {missing[0]!r}: build it with "
                              "as_event_log(table) or read_event_log(store)")  # fmt: skip
