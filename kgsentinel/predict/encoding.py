"""Prefix encoding: a case as far as it has gone, as one row of numbers.

A *prefix* is a case cut after some event. :class:`PrefixEncoder` turns each
prefix into aggregates of everything seen up to and including that event
(nothing later), one row per prefix, with the columns
:meth:`~PrefixEncoder.get_feature_names_out` names:

======================== ==========================================================
feature                  meaning
======================== ==========================================================
``prefix_length``        events so far
``repeats``              events so far that repeat an activity already seen
``elapsed_hours``        hours from the case's first event to the prefix's last
``since_previous_hours`` hours between the last two events (0 for one event)
``hour``, ``weekday``,   hour of day (UTC, with minutes), weekday (Monday 0) and month (1-12)
``month``                of the last event
``count:activity=A``     events of activity A so far (``count:resource=R`` likewise)
``count:step=A>B``       times activity B directly followed A so far (for frequent pairs)
``last:activity=A``      1 when the last event is of A (``previous:activity=A``: the one before;
                         ``last:resource=R``: who did the last event)
``last:X`` ``mean:X``    a numeric event attribute X: its last value so far, mean, minimum,
``min:X`` ``max:X``      maximum and sum over the events having it
``sum:X``
``last:X=v``             a text attribute X: 1 when its last value so far is v
``count:X=v``            a text attribute X: events so far with the value v
``case:X``, ``case:X=v`` a case attribute (one value per case): its first value so far; for
                         text, 1 when it is v, or with more values than ``max_values``, the
                         value's code (see :meth:`~PrefixEncoder.categorical_columns`)
``workload:started_``    with ``workload_days=(7, 90)``: the cases started in the 7 days up
``7d_vs_90d``            to the prefix's last event t against the rate over the 90 days up
                         to t (1: as usual, 2: twice as busy), each case counted once over
                         the history kept at ``fit``, the log and a ``context`` log
======================== ==========================================================

The workload feature is *inter-case*: it reads other cases, but only their
start times up to t, which an observer at t knows, so neither a case's own
later events nor cases started after t change it. ``fit`` keeps each case's
start (a 64-bit hash of its IRI and the time, 16 bytes a case), so the cases
of training still count when only running cases are encoded later.

Vocabularies (activities, resources, frequent attribute values) are learned in
``fit``; anything else counts in an ``<other>`` bucket. A text case attribute
with more values over the cases than ``max_values`` (a diagnosis, a product
code) keeps up to ``max_case_values`` of them, even one a single case has, in
one column: the value's index in the vocabulary, most frequent first.
:meth:`~PrefixEncoder.categorical_columns` marks that column, so the boosting
splits it into groups of values rather than one value against the rest, and
:meth:`~PrefixEncoder.readable_value` turns a code back into text. With fewer
values, each has its column, which loses nothing.
Everything is computed with vectorised numpy and pandas over all events at
once: a million events encode in seconds.

Example:
    >>> import pandas as pd
    >>> from kgsentinel.detectors.events import as_event_log
    >>> log = as_event_log(pd.DataFrame({
    ...     "case_id": ["1", "1", "1", "2"], "activity": ["Brief", "Rework", "Rework", "Brief"],
    ...     "timestamp": ["2026-01-05T09:00Z", "2026-01-05T11:00Z", "2026-01-05T12:30Z",
    ...                   "2026-01-06T08:00Z"], "resource": ["ann", "bob", "bob", "ann"]}))
    >>> encoder = PrefixEncoder().fit(log)
    >>> rows = pd.DataFrame(encoder.transform(log), columns=encoder.get_feature_names_out())
    >>> rows[["prefix_length", "repeats", "elapsed_hours", "count:activity=Rework"]].values.tolist()
    [[1.0, 0.0, 0.0, 0.0], [2.0, 0.0, 2.0, 1.0], [3.0, 1.0, 3.5, 2.0], [1.0, 0.0, 0.0, 0.0]]
    >>> prefix_ends(log, lengths=[2])[["case", "prefix_length"]].values.tolist()
    [['urn:kgsentinel:log:case/1', 2]]
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from kgsentinel.detectors.events import ATTRIBUTE_PREFIX

__all__ = ["MAX_CASE_VALUES", "OTHER", "WORKLOAD_DAYS", "PrefixEncoder", "prefix_ends"]

#: the bucket of values not in a learned vocabulary
OTHER = "<other>"
_NS_PER_HOUR = 3_600_000_000_000
_NS_PER_DAY = 24 * _NS_PER_HOUR
#: the most values a text case attribute keeps: scikit-learn's histogram boosting takes
#: category codes 0 to 254 (its 255 bins), the last one left for <other>
MAX_CASE_VALUES = 254
#: the workload feature's windows (days up to a prefix's last event): cases started in the
#: short one against the rate in the long one
WORKLOAD_DAYS = (7.0, 90.0)
#: events per block when counting (bounds memory to a block times the vocabulary)
_BLOCK = 1 << 17


class PrefixEncoder(TransformerMixin, BaseEstimator):
    """Prefixes of an event log frame as rows of features (see the module docs).

    ``max_activities``, ``max_resources`` and ``max_steps`` (pairs of
    activities one directly after the other) cap the vocabularies (the most
    frequent first); a text attribute keeps at most ``max_values`` values, each
    on at least ``min_share`` of the events having the attribute, and a text case
    attribute of more values than that, at most ``max_case_values`` (its most frequent;
    at most 254, the categories scikit-learn's histogram boosting takes with its 255 bins).
    ``workload_days``, a short and a long window in days (e.g.
    :data:`WORKLOAD_DAYS`), adds the workload feature (empty: none).
    """

    #: what an encoder saved before the workload feature had
    workload_days: Sequence[float] = ()

    def __init__(
        self,
        *,
        max_activities: int = 60,
        max_resources: int = 40,
        max_steps: int = 40,
        max_values: int = 12,
        min_share: float = 0.01,
        max_case_values: int = MAX_CASE_VALUES,
        workload_days: Sequence[float] = (),
    ) -> None:
        self.max_activities = max_activities
        self.max_resources = max_resources
        self.max_steps = max_steps
        self.max_values = max_values
        self.min_share = min_share
        self.max_case_values = max_case_values
        self.workload_days = workload_days

    def fit(
        self, log: pd.DataFrame, y: Any = None, *, context: pd.DataFrame | None = None
    ) -> PrefixEncoder:
        """Learn the vocabularies and which attributes are numbers, text, or per case.

        With the workload feature, the encoder also keeps the start time of each
        case of ``log`` and ``context`` (other cases, counted in the workload
        feature only), so that later prefixes count them as well.
        """
        events = _Events.of(log)
        self.workload_days_ = [float(days) for days in self.workload_days]
        windows = self.workload_days_
        if not 1 <= self.max_case_values <= MAX_CASE_VALUES:
            raise ValueError(f"max_case_values must be between 1 and {MAX_CASE_VALUES}, "
                             f"not {self.max_case_values!r}")  # fmt: skip
        if windows and (len(windows) != 2 or not 0 < windows[0] < windows[1]):
            raise ValueError(f"workload_days must be a short and a longer window in days, "
                             f"e.g. (7, 90), not {tuple(self.workload_days)!r}")  # fmt: skip
        if self.workload_days_:
            self.history_keys_, self.history_starts_ = _starts(log, events, context)
        self.activities_ = _frequent(log["activity"].astype(str), self.max_activities, 0.0)
        self.resources_ = _frequent(_resources(log).dropna(), self.max_resources, 0.0)
        steps = _steps(log, events)
        self.steps_ = _frequent(steps.dropna(), self.max_steps, 0.0) if self.max_steps else []
        self.numeric_: list[str] = []
        self.categorical_: dict[str, list[str]] = {}
        self.case_numeric_: list[str] = []
        self.case_categorical_: dict[str, list[str]] = {}
        self.case_coded_: dict[str, list[str]] = {}
        for column in (c for c in log.columns if str(c).startswith(ATTRIBUTE_PREFIX)):
            self._learn_attribute(str(column), log[column], events.case)
        self.feature_names_out_ = np.asarray(self._names(), dtype=object)
        return self

    def _learn_attribute(self, column: str, values: pd.Series, case: np.ndarray) -> None:
        present = values.notna().to_numpy()
        if not present.any():
            return
        name = column[len(ATTRIBUTE_PREFIX) :]
        per_case = pd.Series(values.to_numpy()[present]).groupby(case[present]).nunique()
        once = bool((per_case <= 1).all())
        if _is_number(values):
            (self.case_numeric_ if once else self.numeric_).append(name)
            return
        if once:
            firsts = pd.Series(values.to_numpy()[present]).groupby(case[present]).first()
            if firsts.nunique() > self.max_values:
                self.case_coded_[name] = _frequent(firsts.astype(str), self.max_case_values, 0.0)
                return
        vocabulary = _frequent(values[present].astype(str), self.max_values, self.min_share)
        if vocabulary:
            (self.case_categorical_ if once else self.categorical_)[name] = vocabulary

    def _names(self) -> list[str]:
        names = ["prefix_length", "repeats", "elapsed_hours", "since_previous_hours", "hour",
                 "weekday", "month"]  # fmt: skip
        activities = [*self.activities_, OTHER]
        resources = [*self.resources_, OTHER]
        names += [f"count:activity={a}" for a in activities]
        names += [f"count:resource={r}" for r in resources]
        names += [f"count:step={step}" for step in self.steps_]
        names += [f"last:activity={a}" for a in activities]
        names += [f"previous:activity={a}" for a in activities]
        names += [f"last:resource={r}" for r in resources]
        for name in self.numeric_:
            names += [f"{how}:{name}" for how in ("last", "mean", "min", "max", "sum")]
        for name, values in self.categorical_.items():
            names += [f"last:{name}={v}" for v in [*values, OTHER]]
            names += [f"count:{name}={v}" for v in [*values, OTHER]]
        names += [f"case:{name}" for name in self.case_numeric_]
        for name, values in self.case_categorical_.items():
            names += [f"case:{name}={v}" for v in [*values, OTHER]]
        names += [f"case:{name}" for name in self._case_coded()]
        if self._windows():
            short, long = (_days(days) for days in self._windows())
            names.append(f"workload:started_{short}d_vs_{long}d")
        return names

    def categorical_columns(self) -> np.ndarray:
        """Which columns hold a category's code rather than a number (a boolean mask), as
        scikit-learn's ``HistGradientBoosting*(categorical_features=...)`` takes it."""
        names = self.get_feature_names_out()
        return np.isin(names, [f"case:{name}" for name in self._case_coded()])

    def readable_value(self, feature: str, value: float) -> Any:
        """``value`` of the column named ``feature`` as a user reads it: the text a
        category's code stands for (``<other>`` for a value not learned), else the number
        (None when unknown)."""
        if value is None or np.isnan(value):
            return None
        coded = self._case_coded().get(feature.removeprefix("case:"))
        if coded is None or not feature.startswith("case:"):
            return float(value)
        return coded[int(value)] if int(value) < len(coded) else OTHER

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """The names of the columns :meth:`transform` returns."""
        if not hasattr(self, "feature_names_out_"):
            raise ValueError("this PrefixEncoder is not fitted yet; call fit(log) first")
        return self.feature_names_out_.copy()

    def transform(
        self,
        log: pd.DataFrame,
        *,
        rows: Sequence[int] | None = None,
        context: pd.DataFrame | None = None,
    ) -> np.ndarray:
        """One row of features (float32, NaN where unknown) per prefix of ``log``.

        ``log`` is sorted by case and time (as :func:`~kgsentinel.detectors.events.read_event_log`
        and :func:`~kgsentinel.detectors.events.as_event_log` return it). The
        prefix ending at each event is encoded, or only those ending at the
        positions ``rows`` (see :func:`prefix_ends`). The workload feature
        counts the cases of ``log``, of ``context`` (any event log frame, e.g.
        the whole store's) and of the training history, each once.
        """
        names = self.get_feature_names_out()
        events = _Events.of(log)
        chosen = np.arange(len(log)) if rows is None else np.asarray(rows, dtype=np.int64)
        activities = _codes(log["activity"].astype(str), self.activities_)
        resources = _codes(_resources(log), self.resources_)
        steps = _known_codes(_steps(log, events), self.steps_)
        counts = _counts(events, activities, len(self.activities_) + 1, chosen)
        blocks = [
            _timing(events, chosen, counts),
            counts,
            _counts(events, resources, len(self.resources_) + 1, chosen),
            _counts(events, steps, len(self.steps_), chosen),
            _one_hot(activities[chosen], len(self.activities_) + 1),
            _one_hot(
                np.where(events.position[chosen] > 0, activities[chosen - 1], -1),
                len(self.activities_) + 1,
            ),
            _one_hot(resources[chosen], len(self.resources_) + 1),
        ]
        blocks += [_numeric(events, _attribute(log, n), chosen) for n in self.numeric_]
        for name, values in self.categorical_.items():
            codes = _codes(_attribute(log, name), values)
            blocks.append(_one_hot(_last_known(events, codes, chosen), len(values) + 1))
            blocks.append(_counts(events, codes, len(values) + 1, chosen))
        for name in self.case_numeric_:
            values = pd.to_numeric(_attribute(log, name), errors="coerce").to_numpy(float)
            blocks.append(_first_known(events, values, chosen)[:, None])
        for name, values in self.case_categorical_.items():
            found = _first_code(events, _attribute(log, name), values, chosen)
            blocks.append(_one_hot(np.nan_to_num(found, nan=-1).astype(np.int64), len(values) + 1))
        for name, values in self._case_coded().items():
            blocks.append(_first_code(events, _attribute(log, name), values, chosen)[:, None])
        if self._windows():
            blocks.append(self._workload(log, events, chosen, context))
        matrix = np.hstack([np.asarray(b, dtype=np.float32) for b in blocks])
        assert matrix.shape[1] == len(names)
        return matrix

    def _workload(
        self, log: pd.DataFrame, events: _Events, rows: np.ndarray, context: pd.DataFrame | None
    ) -> np.ndarray:
        """Per prefix, the cases started in the short window up to its last event, against
        the rate in the long one (NaN when no case started in the long one)."""
        keys, starts = _starts(log, events, context)
        _, starts = _union(self.history_keys_, self.history_starts_, keys, starts)
        end = events.ns[rows]
        upto = np.searchsorted(starts, end, side="right")
        (short_days, long_days) = self._windows()
        short, long = (upto - np.searchsorted(starts, end - round(days * _NS_PER_DAY), side="right")
                       for days in (short_days, long_days))  # fmt: skip
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = short / (long * short_days / long_days)
        return ratio[:, None]

    def _case_coded(self) -> dict[str, list[str]]:
        """The text case attributes held as codes (none in encoders saved before them, which
        have one column per value in ``case_categorical_``)."""
        return getattr(self, "case_coded_", {})

    def _windows(self) -> list[float]:
        """The workload windows in days (none in encoders saved before the workload feature)."""
        return getattr(self, "workload_days_", [])


def prefix_ends(
    log: pd.DataFrame, *, lengths: Sequence[int] | None = None, longest: int | None = None
) -> pd.DataFrame:
    """Where prefixes of ``log`` (sorted by case and time) end: columns row, case, prefix_length.

    With ``lengths``, the prefixes of those lengths (a case shorter than a
    length has no such prefix); with ``longest``, every prefix of 1 to
    ``longest`` events; with neither, each case as far as it has gone.
    """
    events = _Events.of(log)
    length = events.position + 1
    if lengths is not None:
        keep = np.isin(length, np.asarray(list(lengths), dtype=np.int64))
    elif longest is not None:
        keep = length <= longest
    else:
        keep = np.zeros(len(log), dtype=bool)
        keep[events.bounds[1:] - 1] = True
    rows = np.flatnonzero(keep)
    return pd.DataFrame({"row": rows, "case": log["case"].to_numpy()[rows],
                         "prefix_length": length[rows]})  # fmt: skip


@dataclass
class _Events:
    """Case boundaries, each event's case, first event of its case, position, and time (ns)."""

    bounds: np.ndarray
    case: np.ndarray
    first: np.ndarray
    position: np.ndarray
    ns: np.ndarray

    @classmethod
    def of(cls, log: pd.DataFrame) -> _Events:
        missing = [c for c in ("case", "activity", "timestamp") if c not in log.columns]
        if missing:
            raise ValueError(f"the event log has no column {missing[0]!r}; build it with "
                             "as_event_log(table) or read_event_log(store)")  # fmt: skip
        case = pd.factorize(log["case"])[0].astype(np.int64)
        ns = log["timestamp"].astype("datetime64[ns, UTC]").astype("int64").to_numpy()
        step = np.diff(case)
        if ((step != 0) & (step != 1)).any() or ((step == 0) & (ns[1:] < ns[:-1])).any():
            raise ValueError("the event log is not sorted by case and time; "
                             "sort it with sort_event_log(log)")  # fmt: skip
        bounds = np.r_[0, np.flatnonzero(step) + 1, len(case)].astype(np.int64)
        if not len(case):
            bounds = np.zeros(1, dtype=np.int64)
        first = np.repeat(bounds[:-1], np.diff(bounds))
        return cls(bounds, case, first, np.arange(len(case)) - first, ns)


def _starts(
    log: pd.DataFrame, events: _Events, context: pd.DataFrame | None
) -> tuple[np.ndarray, np.ndarray]:
    """Each case's key (a hash of its IRI) and start (ns), of ``log`` and ``context``, by key."""
    first = events.bounds[:-1]
    keys = _keys(log["case"].to_numpy()[first])
    starts = events.ns[first]
    if context is not None and len(context):
        begun = context.groupby("case", sort=False)["timestamp"].min()
        more = begun.astype("datetime64[ns, UTC]").astype("int64").to_numpy()
        return _union(keys, starts, _keys(begun.index.to_numpy()), more)
    return _union(keys, starts, keys[:0], starts[:0])


def _union(
    keys: np.ndarray, starts: np.ndarray, more_keys: np.ndarray, more: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The cases of both, each once at its earliest start, ordered by start."""
    keys, starts = np.r_[keys, more_keys], np.r_[starts, more]
    order = np.lexsort((starts, keys))
    keys, starts = keys[order], starts[order]
    once = np.r_[True, keys[1:] != keys[:-1]] if len(keys) else np.zeros(0, dtype=bool)
    keys, starts = keys[once], starts[once]
    by_start = np.argsort(starts, kind="stable")
    return keys[by_start], starts[by_start].astype(np.int64)


def _keys(cases: np.ndarray) -> np.ndarray:
    """A 64-bit hash of each case IRI (the history keeps these, not the IRIs)."""
    return pd.util.hash_array(np.asarray(cases, dtype=object).astype(str).astype(object))


def _days(days: float) -> str:
    return f"{days:g}"


def _timing(events: _Events, rows: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """prefix_length, repeats, elapsed_hours, since_previous_hours, hour, weekday, month."""
    ns = events.ns[rows]
    length = events.position[rows] + 1
    previous = np.where(events.position[rows] > 0, events.ns[np.maximum(rows - 1, 0)], ns)
    distinct = (counts > 0).sum(axis=1)
    return np.column_stack([
        length,
        length - distinct,
        (ns - events.ns[events.first[rows]]) / _NS_PER_HOUR,
        (ns - previous) / _NS_PER_HOUR,
        (ns % _NS_PER_DAY) / _NS_PER_HOUR,
        (ns // _NS_PER_DAY + 3) % 7,  # 1970-01-01 was a Thursday
        pd.DatetimeIndex(ns.astype("datetime64[ns]")).month,
    ])  # fmt: skip


def _counts(events: _Events, codes: np.ndarray, width: int, rows: np.ndarray) -> np.ndarray:
    """How many events of each code (-1: none, counted nowhere) each prefix ending at ``rows`` has.

    Running sums of one-hot codes, a block of whole cases at a time.
    """
    out = np.zeros((len(rows), width), dtype=np.float32)
    starts = events.bounds[:-1]
    cuts = np.unique(np.r_[starts[np.searchsorted(starts, np.arange(0, len(codes), _BLOCK))],
                           len(codes)])  # fmt: skip
    for begin, end in itertools.pairwise(cuts):
        wanted = np.flatnonzero((rows >= begin) & (rows < end))
        if not len(wanted):
            continue
        block = codes[begin:end]
        hot = np.zeros((end - begin, width), dtype=np.int32)
        known = np.flatnonzero(block >= 0)
        hot[known, block[known]] = 1
        running = np.cumsum(hot, axis=0)
        at = rows[wanted] - begin
        before = events.first[rows[wanted]] - begin - 1
        out[wanted] = running[at] - np.where(
            before[:, None] >= 0, running[np.maximum(before, 0)], 0
        )
    return out


def _one_hot(codes: np.ndarray, width: int) -> np.ndarray:
    """A row per code with a 1 in its column (no 1 for -1)."""
    out = np.zeros((len(codes), width), dtype=np.float32)
    known = np.flatnonzero(codes >= 0)
    out[known, codes[known]] = 1.0
    return out


def _numeric(events: _Events, values: pd.Series, rows: np.ndarray) -> np.ndarray:
    """The last value so far, the mean, minimum, maximum and sum of a numeric attribute per
    prefix (NaN where no event of the prefix has it)."""
    x = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    present = ~np.isnan(x)

    def running(fill: float, how: str) -> np.ndarray:
        by_case = pd.Series(np.where(present, x, fill)).groupby(events.case, sort=False)
        return getattr(by_case, how)().to_numpy()[rows]

    seen = pd.Series(present.astype(float)).groupby(events.case, sort=False).cumsum().to_numpy()
    seen = seen[rows]
    total = running(0.0, "cumsum")
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(seen > 0, total / seen, np.nan)
    return np.column_stack([
        _last_known(events, x, rows, missing=np.nan), mean,
        np.where(seen > 0, running(np.inf, "cummin"), np.nan),
        np.where(seen > 0, running(-np.inf, "cummax"), np.nan),
        np.where(seen > 0, total, np.nan),
    ])  # fmt: skip


def _last_known(events: _Events, values: np.ndarray, rows: np.ndarray, missing: Any = -1) -> Any:
    """The last value that is not missing up to each of ``rows`` within its case."""
    present = ~np.isnan(values) if values.dtype.kind == "f" else values >= 0
    latest = np.maximum.accumulate(np.where(present, np.arange(len(values)), -1))[rows]
    found = latest >= events.first[rows]
    return np.where(found, values[np.maximum(latest, 0)], missing)


def _first_known(events: _Events, values: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """The first value of each case that is not NaN, where it is at or before each of ``rows``."""
    present = ~np.isnan(values)
    index = np.where(present, np.arange(len(values)), len(values))
    firsts = pd.Series(index).groupby(events.case, sort=False).min().to_numpy()
    first = firsts[events.case[rows]]
    return np.where(first <= rows, np.append(values, np.nan)[first], np.nan)


def _first_code(events: _Events, values: pd.Series, vocabulary: list[str],
                rows: np.ndarray) -> np.ndarray:  # fmt: skip
    """The code (:func:`_codes`) of each case's first value, where it is at or before each
    of ``rows`` (NaN before)."""
    codes = _codes(values, vocabulary).astype(float)
    return _first_known(events, np.where(codes < 0, np.nan, codes), rows)


def _codes(values: pd.Series, vocabulary: list[str]) -> np.ndarray:
    """Each value's index in ``vocabulary``, ``len(vocabulary)`` (other) if not there, -1 if NA."""
    present = values.notna().to_numpy()
    codes = pd.Index(vocabulary, dtype=object).get_indexer(values.astype(str).astype(object))
    codes = np.where(codes < 0, len(vocabulary), codes)
    return np.where(present, codes, -1).astype(np.int64)


def _steps(log: pd.DataFrame, events: _Events) -> pd.Series:
    """Each event's step ``previous>activity`` (NA for a case's first event)."""
    activity = log["activity"].astype(str).to_numpy(dtype=object)
    previous = np.r_[np.array([""], dtype=object), activity[:-1]] if len(activity) else activity
    steps = pd.Series(previous + ">" + activity, dtype=object)
    return steps.where(events.position > 0)


def _known_codes(values: pd.Series, vocabulary: list[str]) -> np.ndarray:
    """Each value's index in ``vocabulary``, -1 if not there or NA."""
    return pd.Index(vocabulary, dtype=object).get_indexer(values.astype(object))


def _frequent(values: pd.Series, limit: int, min_share: float) -> list[str]:
    """The ``limit`` most frequent values with at least ``min_share`` of them (ties by name)."""
    counts = values.astype(str).value_counts()
    counts = counts[counts >= min_share * counts.sum()]
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [str(value) for value, _ in ranked[:limit]]


def _resources(log: pd.DataFrame) -> pd.Series:
    if "resource" not in log.columns:
        return pd.Series(pd.NA, index=log.index, dtype=object)
    return log["resource"].astype(object).where(log["resource"].notna())


def _attribute(log: pd.DataFrame, name: str) -> pd.Series:
    column = ATTRIBUTE_PREFIX + name
    if column not in log.columns:
        return pd.Series(np.nan, index=log.index, dtype=object)
    return log[column]


def _is_number(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
