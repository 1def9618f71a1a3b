"""Time: steps far slower than usual, and running cases that have stopped moving.

- :class:`DurationDetector` (kind ``slow``): for each event, the time since the
  previous event of its case against that transition's usual time (keyed by
  previous activity and activity; the activity's own times when the
  transition is rarely seen), and the step's own duration when events carry a
  start time (``attr:start``);
- :class:`StuckCaseDetector` (kind ``stuck``): a case whose last activity is
  not a usual end (learned from the history) and which has had no event for
  far longer than the next step usually takes after that activity.

A time is far longer than usual by either of two robust rules, learned per
group from times of a minute or more (instant times, events logged together,
are left out):

- its robust z-score of log hours is above the threshold: the median, and a
  spread that is the larger of the median absolute deviation and the upper
  spread (90th percentile less the median), each scaled to a standard
  deviation, so a few extreme cases in the history cannot hide the next one;
- in a group whose times are spread so wide (a spread of log hours of 1 or
  more: a factor e per standard deviation) that no z-score stands out, it is
  beyond the group's slowest 1% by a factor (``tail_ratio``).

A transition that is instant at least 99% of the time (of 50 or more) is slow
at an hour or more, whatever its few timed times look like (they may all be
the anomalies themselves).

The z threshold is chosen from the data: 3.5 (the usual cut for robust
z-scores) when the fitted z-scores have a Gaussian upper tail, raised in
proportion when it is heavier.

Example:
    >>> import pandas as pd
    >>> from kgsentinel.detectors.events import as_event_log
    >>> days = [[0, 1 + n % 3 / 10] for n in range(30)] + [[0, 25]]
    >>> table = pd.DataFrame([(str(n), step, pd.Timestamp("2026-01-01") + pd.Timedelta(days=d))
    ...                       for n, times in enumerate(days)
    ...                       for step, d in zip(["Brief", "Formulation"], times)],
    ...                      columns=["case_id", "activity", "timestamp"])
    >>> log = as_event_log(table)
    >>> [f.explanation for f in DurationDetector().fit(log).findings(log)]
    ['Formulation took 25.0 days; usually 26.4 hours (from Brief)']
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from kgsentinel.detectors.base import Evidence, Finding
from kgsentinel.detectors.events import sort_event_log

__all__ = ["DurationDetector", "StuckCaseDetector", "format_hours"]

_NS_PER_HOUR = 3_600_000_000_000
#: times are compared as log(hours + one minute), so instant steps stay finite
_MINUTE = 1 / 60
#: shorter than a minute counts as instant
_TIMED = math.log(2 * _MINUTE)
#: the robust spread of log hours is at least this (times that never vary still vary ~25%)
_MIN_SPREAD = 0.25
#: the usual cut for robust z-scores (Iglewicz and Hoaglin), for Gaussian tails
_BASE_Z = 3.5
_Z90, _Z95 = 1.2816, 1.6449
_MAD_TO_SD = 1.4826
#: the slowest-1% rule needs this many times in a group, spread at least this wide (log hours)
_TAIL_COUNT = 20
#: the quantile that is "the slowest 1%"
_TAIL_QUANTILE = 0.99
_WIDE = 1.0
#: a transition seen this many times, at least this share of them instant, is instant:
#: taking _INSTANT_SLOW hours or more is slow, whatever its rare timed times say
_INSTANT_COUNT = 50
_INSTANT_SHARE = 0.99
_INSTANT_SLOW = 1.0
_COLUMNS = ("case", "case_id", "event_id", "activity", "timestamp")


def format_hours(hours: float) -> str:
    """A duration in words: minutes under an hour, hours under two days, then days.

    Example:
        >>> format_hours(0.25), format_hours(30), format_hours(24 * 41)
        ('15 minutes', '30.0 hours', '41.0 days')
    """
    if hours < 1:
        return f"{hours * 60:.0f} minutes"
    if hours < 48:
        return f"{hours:.1f} hours"
    return f"{hours / 24:.1f} days"


@dataclass
class _Times:
    """Per group: median and spread of log hours, the slowest 1% (hours), and the count.

    These are over the times of a minute or more; ``instant`` is the share of
    all times under a minute, and ``total`` the number of all times.
    """

    median: pd.Series
    spread: pd.Series
    slowest: pd.Series
    count: pd.Series
    instant: pd.Series
    total: pd.Series

    @classmethod
    def of(cls, groups: np.ndarray, values: np.ndarray) -> _Times:
        """Statistics of ``values`` (log hours) per group."""
        timed = values >= _TIMED
        every = pd.Series(~timed).groupby(groups)
        frame = pd.DataFrame({"g": groups[timed], "y": values[timed]})
        by = frame.groupby("g")["y"]
        median = by.median()
        deviation = (frame["y"] - frame["g"].map(median)).abs()
        mad = deviation.groupby(frame["g"]).median() * _MAD_TO_SD
        upper = (by.quantile(0.9) - median) / _Z90
        spread = np.maximum(mad, upper).clip(lower=_MIN_SPREAD)
        slowest = np.exp(by.quantile(_TAIL_QUANTILE)) - _MINUTE
        return cls(median, spread, slowest, by.size(), every.mean(), every.size())

    def judge(
        self, groups: np.ndarray, values: np.ndarray, min_count: int, *, instant: bool = False
    ) -> _Judged:
        """z-scores and ratios to the slowest 1% of ``values`` in their groups (NaN: unjudged).

        With ``instant``, a time in an instant group (see :data:`_INSTANT_SHARE`)
        is judged against being instant instead.
        """
        hours = np.exp(values) - _MINUTE
        share = np.full(len(groups), np.nan)
        if instant:
            usual = self.total.index[(self.total.to_numpy() >= _INSTANT_COUNT)
                                     & (self.instant.to_numpy() >= _INSTANT_SHARE)]  # fmt: skip
            at = pd.Index(usual).get_indexer(groups)
            share[at >= 0] = self.instant.loc[usual].to_numpy(dtype=float)[at[at >= 0]]
        known = self.count.index[self.count.to_numpy() >= min_count]
        index = pd.Index(known).get_indexer(groups)
        found = index >= 0

        def pick(series: pd.Series) -> np.ndarray:
            out = np.full(len(groups), np.nan)
            out[found] = series.loc[known].to_numpy(dtype=float)[index[found]]
            return out

        median, spread, slowest, count = (pick(s) for s in (self.median, self.spread,
                                                            self.slowest, self.count))  # fmt: skip
        slowest[~((count >= _TAIL_COUNT) & (spread >= _WIDE))] = np.nan
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(slowest > 0, hours / slowest, np.nan)
        judged = _Judged((values - median) / spread, ratio, median, slowest, hours, share)
        is_instant = ~np.isnan(share)
        judged.z[is_instant] = judged.ratio[is_instant] = judged.slowest[is_instant] = np.nan
        judged.median[is_instant] = math.log(_MINUTE)  # typically no time at all
        return judged


@dataclass
class _Judged:
    """How far some times are from their groups' usual ones."""

    z: np.ndarray
    ratio: np.ndarray
    median: np.ndarray
    slowest: np.ndarray
    hours: np.ndarray
    #: the group's share of instant times where it is an instant group, else NaN
    instant: np.ndarray

    def fill(self, where: np.ndarray, other: _Judged) -> None:
        """Take ``other``'s judgement at the positions ``where`` (a boolean mask)."""
        for name in ("z", "ratio", "median", "slowest", "hours", "instant"):
            getattr(self, name)[where] = getattr(other, name)

    def severity(self, z_threshold: float, tail_ratio: float) -> np.ndarray:
        """How far past any threshold, in threshold units (>= 0 means too slow; NaN unjudged)."""
        by_z = self.z - z_threshold
        with np.errstate(divide="ignore", invalid="ignore"):
            by_tail = np.log(self.ratio / tail_ratio) / math.log(1.5)
            by_instant = np.where(np.isnan(self.instant), np.nan,
                                  np.log(self.hours / _INSTANT_SLOW) / math.log(1.5))  # fmt: skip
        return np.fmax(np.fmax(by_z, by_tail), by_instant)


class DurationDetector(BaseEstimator):
    """Steps far slower (optionally also far faster) than usual, one finding per step.

    Parameters (keyword-only):

    - ``z_threshold``: the robust z-score of log hours above which a step is
      slow; ``None`` chooses it from the data in ``fit``;
    - ``tail_ratio``: in a widely spread group, a step is also slow at this
      many times the group's slowest 1% (``None``: only the z-score rule);
    - ``min_observations``: the fewest times a transition must be seen for its
      own statistics; rarer transitions use their activity's, and activities
      seen fewer times are not judged;
    - ``fast``: also report steps far faster than usual (by the z-score, as
      kind ``unusual-value``);
    - ``start_column``: the column with each event's start time, for the step's
      own duration (ignored when absent).

    Fitted: ``transitions_`` and ``activities_`` (typical hours, spread of log
    hours, slowest 1% and count per group), ``steps_`` (own durations, when
    there are start times), ``z_threshold_``.
    """

    def __init__(
        self,
        *,
        z_threshold: float | None = None,
        tail_ratio: float | None = 1.5,
        min_observations: int = 10,
        fast: bool = False,
        start_column: str = "attr:start",
    ) -> None:
        self.z_threshold = z_threshold
        self.tail_ratio = tail_ratio
        self.min_observations = min_observations
        self.fast = fast
        self.start_column = start_column

    def fit(self, log: pd.DataFrame) -> DurationDetector:
        """Learn the usual time of each transition, activity and step from ``log``."""
        frame = _Frame.of(log)
        self.names_ = sorted(frame.activities.unique().tolist())
        codes = frame.codes(self.names_)
        waits = frame.waits(codes)
        self._pairs = _Times.of(waits.pair, waits.value)
        self._into = _Times.of(waits.activity, waits.value)
        work = frame.work(codes, self.start_column)
        self._work = _Times.of(work.activity, work.value) if work is not None else None
        self.transitions_ = _table(self._pairs, self._pair_names, ["previous", "activity"])
        self.activities_ = _table(self._into, lambda key: (self.names_[key],), ["activity"])
        self.steps_ = None
        if self._work is not None:
            self.steps_ = _table(self._work, lambda key: (self.names_[key],), ["activity"])
        z = [self._judge_waits(waits)[0].z]
        if work is not None and self._work is not None:
            z.append(self._work.judge(work.activity, work.value, self.min_observations).z)
        self.z_threshold_ = (float(self.z_threshold) if self.z_threshold is not None
                             else _threshold(np.concatenate(z)))  # fmt: skip
        return self

    def findings(self, log: pd.DataFrame) -> list[Finding]:
        """A finding for each step of ``log`` far slower (or, with ``fast``, faster) than usual."""
        if not hasattr(self, "z_threshold_"):
            raise ValueError("this DurationDetector is not fitted yet; call fit(log) first")
        frame = _Frame.of(log)
        if frame.empty:
            return []
        codes = frame.codes(self.names_)
        waits = frame.waits(codes)
        judged, fallback = self._judge_waits(waits)
        measures = [("wait", waits, judged, fallback)]
        work = frame.work(codes, self.start_column)
        if work is not None and self._work is not None:
            judged = self._work.judge(work.activity, work.value, self.min_observations)
            measures.append(("work", work, judged, np.zeros(len(work.row), dtype=bool)))
        best: dict[int, tuple[float, str, _Judged, int, bool]] = {}
        tail = self.tail_ratio if self.tail_ratio is not None else math.inf
        for measure, times, judged, fell_back in measures:
            severity = judged.severity(self.z_threshold_, tail)
            if self.fast:
                severity = np.fmax(severity, -judged.z - self.z_threshold_)
            for k in np.flatnonzero(np.nan_to_num(severity, nan=-1.0) >= 0):
                row = int(times.row[k])
                if row not in best or severity[k] > best[row][0]:
                    best[row] = (float(severity[k]), measure, judged, int(k), bool(fell_back[k]))
        rows = sorted(best)
        events = frame.rows(rows, self.start_column)
        return [self._finding(events[row], *best[row]) for row in rows]

    def _pair_names(self, key: int) -> tuple[str, str]:
        previous, activity = divmod(int(key), max(1, len(self.names_)))
        return self.names_[previous], self.names_[activity]

    def _judge_waits(self, waits: _Durations) -> tuple[_Judged, np.ndarray]:
        """Against the transition's times, else the activity's; and where it fell back."""
        judged = self._pairs.judge(waits.pair, waits.value, self.min_observations, instant=True)
        fallback = np.isnan(judged.z) & np.isnan(judged.instant)
        into = self._into.judge(waits.activity[fallback], waits.value[fallback],
                                self.min_observations)  # fmt: skip
        judged.fill(fallback, into)
        return judged, fallback

    def _finding(
        self,
        event: dict[str, Any],
        severity: float,
        measure: str,
        judged: _Judged,
        k: int,
        fallback: bool,
    ) -> Finding:
        activity, z = event["activity"], float(judged.z[k])
        typical = math.exp(judged.median[k]) - _MINUTE
        slowest = float(judged.slowest[k])
        observed = event[measure]
        if measure == "work":
            label = f"hours to do {activity}"
            text = (
                f"{activity} took {format_hours(observed)} to do; usually {format_hours(typical)}"
            )
        else:
            label = f"hours from {event['previous']} to {activity}"
            source = "any step" if fallback else event["previous"]
            text = (f"{activity} took {format_hours(observed)}; usually "
                    f"{format_hours(typical)} (from {source})")  # fmt: skip
        instant = float(judged.instant[k])
        if math.isfinite(instant):
            text = (f"{activity} took {format_hours(observed)}; usually within a minute "
                    f"(from {event['previous']}: {instant:.1%} of the times)")  # fmt: skip
            evidence = [
                Evidence(label=label, expected=0.0, observed=round(observed, 4)),
                Evidence(label=f"share of {label} under a minute", expected=round(instant, 4),
                         observed=round(observed, 4),
                         rule=f"a step almost always instant is slow at {_INSTANT_SLOW:g} hour"),
            ]  # fmt: skip
            return self._slow(event, severity, text, evidence, measure)
        slow = observed > typical
        by_tail = slow and z < self.z_threshold_
        if by_tail:
            text += f"; 99% within {format_hours(slowest)}"
        evidence = [
            Evidence(label=label, expected=round(typical, 4), observed=round(observed, 4)),
            Evidence(label="robust z-score of log hours", expected=f"below {self.z_threshold_:.2f}",
                     observed=round(z, 2), rule="median and spread of log hours"),
        ]  # fmt: skip
        if math.isfinite(slowest):
            evidence.append(
                _tail_evidence(f"slowest 1% of {label}", slowest, observed, self.tail_ratio)
            )
        return self._slow(event, severity, text, evidence, measure, slow=slow)

    @staticmethod
    def _slow(
        event: dict[str, Any],
        severity: float,
        text: str,
        evidence: list[Evidence],
        measure: str,
        *,
        slow: bool = True,
    ) -> Finding:
        return Finding(kind="slow" if slow else "unusual-value", subject=event["case"],
                       score=_score(severity), explanation=text, case_id=event["case_id"],
                       event_id=event["event_id"], activity=event["activity"],
                       key=f"{event['event_id']}:{measure}", evidence=tuple(evidence))  # fmt: skip


class StuckCaseDetector(BaseEstimator):
    """Running cases with no event for far longer than their next step usually takes.

    Parameters (keyword-only):

    - ``now``: the time to measure waiting up to (anything ``pandas.Timestamp``
      reads; naive times are UTC); ``None`` means the latest timestamp in the log;
    - ``z_threshold``: the robust z-score of log hours above which a wait is
      too long; ``None`` chooses it from the data in ``fit``;
    - ``tail_ratio``: after an activity whose waits are widely spread, a wait
      is also too long at this many times their slowest 1% (``None``: only
      the z-score rule);
    - ``end_activities``: the activities that finish a case; ``None`` learns
      them: an activity that ends at least ``end_share`` of the cases having
      it, or where cases stop for good (of at least ``min_ends`` cases that
      stop there, ``end_share`` have waited far too long by ``now``: cases
      routinely end there, they are not all stuck at once);
    - ``min_observations``: the fewest waits after an activity for its own
      statistics (otherwise the waits after any activity).

    Fitted: ``end_activities_``, ``waits_`` (typical hours until the next event
    per activity, spread, slowest 1% and count), ``z_threshold_``.
    """

    def __init__(
        self,
        *,
        now: Any = None,
        z_threshold: float | None = None,
        tail_ratio: float | None = 1.5,
        end_activities: list[str] | None = None,
        end_share: float = 0.5,
        min_ends: int = 5,
        min_observations: int = 10,
    ) -> None:
        self.now = now
        self.z_threshold = z_threshold
        self.tail_ratio = tail_ratio
        self.end_activities = end_activities
        self.end_share = end_share
        self.min_ends = min_ends
        self.min_observations = min_observations

    def fit(self, log: pd.DataFrame) -> StuckCaseDetector:
        """Learn the end activities and the usual wait after each activity from ``log``."""
        frame = _Frame.of(log)
        self.names_ = sorted(frame.activities.unique().tolist())
        codes = frame.codes(self.names_)
        waits = frame.waits(codes)
        self._after = _Times.of(waits.previous, waits.value)
        self._any = _Times.of(np.zeros(len(waits.value), dtype=np.int64), waits.value)
        self.waits_ = _table(self._after, lambda key: (self.names_[key],), ["activity"])
        z = self._after.judge(waits.previous, waits.value, self.min_observations).z
        self.z_threshold_ = (float(self.z_threshold) if self.z_threshold is not None
                             else _threshold(z))  # fmt: skip
        if self.end_activities is not None:
            self.end_activities_ = sorted(self.end_activities)
        else:
            self.end_activities_ = self._learn_ends(frame, codes)
        return self

    def _learn_ends(self, frame: _Frame, codes: np.ndarray) -> list[str]:
        """Activities that end most cases having them, or where cases stop for good."""
        names = self.names_
        ends = set(_end_activities(frame, codes, names, self.end_share))
        last = frame.bounds[1:] - 1
        severity, _, _, _ = self._idle(frame, last, codes[last])
        stopped = np.nan_to_num(severity, nan=-1.0) >= 0
        ending = np.bincount(codes[last], minlength=len(names))
        gone = np.bincount(codes[last], weights=stopped, minlength=len(names))
        often = (ending >= self.min_ends) & (gone >= self.end_share * np.maximum(ending, 1))
        ends.update(names[a] for a in np.flatnonzero(often))
        return sorted(ends)

    def _idle(
        self, frame: _Frame, last: np.ndarray, codes: np.ndarray
    ) -> tuple[np.ndarray, _Judged, np.ndarray, np.ndarray]:
        """How far past too long each case has been idle since its event at ``last``."""
        now = int(frame.ns.max()) if self.now is None else _nanoseconds(self.now)
        hours = np.clip((now - frame.ns[last]) / _NS_PER_HOUR, 0.0, None)
        values = np.log(hours + _MINUTE)
        judged = self._after.judge(codes, values, self.min_observations)
        fallback = np.isnan(judged.z)
        anywhere = np.zeros(int(fallback.sum()), dtype=np.int64)
        judged.fill(fallback, self._any.judge(anywhere, values[fallback], self.min_observations))
        tail = self.tail_ratio if self.tail_ratio is not None else math.inf
        return judged.severity(self.z_threshold_, tail), judged, hours, fallback

    def findings(self, log: pd.DataFrame) -> list[Finding]:
        """A finding for each running case of ``log`` that has waited far too long."""
        if not hasattr(self, "z_threshold_"):
            raise ValueError("this StuckCaseDetector is not fitted yet; call fit(log) first")
        frame = _Frame.of(log)
        if frame.empty:
            return []
        last = frame.bounds[1:] - 1
        running = ~frame.activities.iloc[last].isin(self.end_activities_).to_numpy()
        last = last[running]
        severity, judged, hours, fallback = self._idle(frame, last, frame.codes(self.names_)[last])
        stuck = np.flatnonzero(np.nan_to_num(severity, nan=-1.0) >= 0)
        events = frame.rows(last[stuck].tolist())
        return [self._finding(events[int(last[k])], float(severity[k]), judged, int(k),
                              float(hours[k]), bool(fallback[k])) for k in stuck]  # fmt: skip

    def _finding(
        self,
        event: dict[str, Any],
        severity: float,
        judged: _Judged,
        k: int,
        hours: float,
        fallback: bool,
    ) -> Finding:
        activity, z = event["activity"], float(judged.z[k])
        typical = math.exp(judged.median[k]) - _MINUTE
        after = "any step" if fallback else activity
        text = (f"No event for {format_hours(hours)} since {activity}; the next step usually "
                f"follows {after} within {format_hours(typical)}")  # fmt: skip
        evidence = [
            Evidence(label=f"hours waiting after {activity}", expected=round(typical, 4),
                     observed=round(hours, 4)),
            Evidence(label="robust z-score of log hours", expected=f"below {self.z_threshold_:.2f}",
                     observed=round(z, 2), rule="median and spread of log hours"),
        ]  # fmt: skip
        slowest = float(judged.slowest[k])
        if math.isfinite(slowest):
            evidence.append(
                _tail_evidence(
                    f"slowest 1% of waits after {after}", slowest, hours, self.tail_ratio
                )
            )
        return Finding(kind="stuck", subject=event["case"], score=_score(severity),
                       explanation=text, case_id=event["case_id"], event_id=event["event_id"],
                       activity=activity, key=str(event["event_id"]),
                       evidence=tuple(evidence))  # fmt: skip


# --- the frame as arrays --------------------------------------------------------------------


@dataclass
class _Durations:
    """Durations (log hours) of some events: their rows and group keys."""

    row: np.ndarray
    activity: np.ndarray
    previous: np.ndarray
    pair: np.ndarray
    value: np.ndarray


@dataclass
class _Frame:
    """An event log frame sorted by case and time, with case bounds and times in ns."""

    log: pd.DataFrame
    bounds: np.ndarray
    ns: np.ndarray
    #: how many activities the codes (see ``codes``) range over
    width: int = 1

    @classmethod
    def of(cls, log: pd.DataFrame) -> _Frame:
        missing = [c for c in _COLUMNS if c not in log.columns]
        if missing:
            raise ValueError(f"the event log has no column {missing[0]!r}; build it with "
                             "as_event_log(table) or read_event_log(store)")  # fmt: skip
        cases = pd.factorize(log["case"])[0]
        ns = _column_ns(log["timestamp"])
        step = np.diff(cases)
        if ((step != 0) & (step != 1)).any() or ((step == 0) & (ns[1:] < ns[:-1])).any():
            log = sort_event_log(log)
            cases = pd.factorize(log["case"])[0]
            ns = _column_ns(log["timestamp"])
            step = np.diff(cases)
        bounds = np.r_[0, np.flatnonzero(step) + 1, len(cases)] if len(cases) else np.zeros(1)
        return cls(log, bounds.astype(np.int64), ns)

    @property
    def empty(self) -> bool:
        return len(self.log) == 0

    @property
    def activities(self) -> pd.Series:
        return self.log["activity"].astype(str)

    def codes(self, names: list[str]) -> np.ndarray:
        """Each event's activity as its index in ``names`` (-1 when unknown)."""
        self.width = max(1, len(names))
        return pd.Index(names).get_indexer(self.activities)

    def waits(self, codes: np.ndarray) -> _Durations:
        """Time since the previous event of the case, for every event but each case's first."""
        first = np.zeros(len(self.log), dtype=bool)
        first[self.bounds[:-1]] = True
        rows = np.flatnonzero(~first)
        hours = (self.ns[rows] - self.ns[rows - 1]) / _NS_PER_HOUR
        activity, previous = codes[rows], codes[rows - 1]
        known = (activity >= 0) & (previous >= 0)
        pair = np.where(known, previous * self.width + activity, -1)
        return _Durations(rows, activity, previous, pair, np.log(hours + _MINUTE))

    def work(self, codes: np.ndarray, column: str) -> _Durations | None:
        """Each event's own duration, from its start time, where it has one."""
        if column not in self.log.columns:
            return None
        start = _start_ns(self.log[column])
        rows = np.flatnonzero(~np.isnan(start) & (start <= self.ns))
        if not len(rows):
            return None
        hours = (self.ns[rows] - start[rows]) / _NS_PER_HOUR
        activity = codes[rows]
        return _Durations(rows, activity, activity, activity, np.log(hours + _MINUTE))

    def rows(self, rows: list[int], start_column: str = "") -> dict[int, dict[str, Any]]:
        """What a finding says about each of these events."""
        if not rows:
            return {}
        index = np.array(rows, dtype=np.int64)
        previous = np.maximum(index - 1, 0)
        picked = self.log.iloc[index]
        values: dict[str, list[Any]] = {
            column: picked[column].astype(str).tolist()
            for column in ("case", "case_id", "event_id", "activity")
        }
        values["previous"] = self.log["activity"].iloc[previous].astype(str).tolist()
        values["wait"] = ((self.ns[index] - self.ns[previous]) / _NS_PER_HOUR).tolist()
        work = np.full(len(rows), np.nan)
        if start_column in self.log.columns:
            work = (self.ns[index] - _start_ns(picked[start_column])) / _NS_PER_HOUR
        values["work"] = work.tolist()
        return {row: {k: v[n] for k, v in values.items()} for n, row in enumerate(rows)}


def _column_ns(times: pd.Series) -> np.ndarray:
    return pd.to_datetime(times, utc=True).dt.as_unit("ns").array.asi8


def _start_ns(values: pd.Series) -> np.ndarray:
    """Start times as ns floats (NaN where missing or unreadable)."""
    start = pd.to_datetime(values, utc=True, errors="coerce", format="ISO8601")
    ns = start.dt.as_unit("ns").array.asi8.astype(float)
    ns[start.isna().to_numpy()] = np.nan
    return ns


def _nanoseconds(value: Any) -> int:
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return int(stamp.as_unit("ns").value)


def _threshold(z: np.ndarray) -> float:
    """3.5 for a Gaussian upper tail; scaled up by how much heavier the fitted upper tail is."""
    z = z[np.isfinite(z)]
    if len(z) < 20:
        return _BASE_Z
    heavier = float(np.quantile(z, 0.95)) / _Z95
    return _BASE_Z * max(1.0, heavier)


def _tail_evidence(label: str, slowest: float, observed: float, ratio: float | None) -> Evidence:
    rule = f"at most {ratio} times the slowest 1%" if ratio is not None else None
    return Evidence(label=label, expected=round(slowest, 4), observed=round(observed, 4), rule=rule)


def _score(severity: float) -> float:
    """0.5 at the threshold, toward 1 the further past it (a logistic in threshold units)."""
    return round(1.0 / (1.0 + math.exp(-min(50.0, severity))), 6)


def _end_activities(frame: _Frame, codes: np.ndarray, names: list[str], share: float) -> list[str]:
    """Activities that end at least ``share`` of the cases having them."""
    case_of = np.repeat(np.arange(len(frame.bounds) - 1), np.diff(frame.bounds))
    known = codes >= 0
    having = pd.unique(case_of[known] * len(names) + codes[known]) % len(names)
    cases_with = np.bincount(having, minlength=len(names))
    last = codes[frame.bounds[1:] - 1]
    ending = np.bincount(last[last >= 0], minlength=len(names))
    ratio = np.divide(ending, cases_with, out=np.zeros(len(names)), where=cases_with > 0)
    return [names[a] for a in np.flatnonzero(ratio >= share)]


def _table(times: _Times, label: Any, columns: list[str]) -> pd.DataFrame:
    """Typical hours, spread (of log hours), slowest 1% and count per group, named."""
    keys = [k for k in times.median.index if k >= 0]
    rows = [(*label(k), math.exp(times.median[k]) - _MINUTE, float(times.spread[k]),
             float(times.slowest[k]), int(times.count[k])) for k in keys]  # fmt: skip
    names = [*columns, "typical_hours", "spread", "slowest_hours", "count"]
    return pd.DataFrame(rows, columns=names)
