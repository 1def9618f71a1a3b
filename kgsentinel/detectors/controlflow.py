"""Control flow: skipped, inserted, repeated and out-of-order steps against the learned process.

:class:`ControlFlowDetector` learns the normal process from history that may
itself hold anomalies: a directly-follows graph with frequencies (``dfg_``, a
networkx ``DiGraph`` with an artificial start and end) and declarative
constraints with their support (``constraints_``): mandatory activities, "if A
occurs then B occurs" (responded existence), A's first occurrence before B's
(precedence, response) and how often each activity may occur (max-count).

A case departs from the process when it has a rare transition or breaks a
learned constraint. The detector then looks for the fewest edits that make the
case normal again (remove an event, add a missing step, move an event; ties go
to the likeliest repaired case under the directly-follows probabilities) and
reports each edit as one finding: a removed event is an inserted (or repeated)
step, an added one a skipped step, a moved one an out-of-order step. So one
changed step gives one finding, not a cascade of broken rules. Cases are
checked once per distinct sequence of activities, which keeps a million
events to seconds.

Thresholds come from the data. A constraint is learned when at most ε of the
cases it applies to break it; ε sits in the widest gap of the observed violation
rates (noise is rare, real alternatives are not). A transition is rare when its
strength (its count over the geometric mean of its ends' counts, each end
counted as if seen in 1% more cases) falls in the widest gap below the usual
ones, so common parallel interleavings, choices and loops stay normal. Doing a
step once more than usual is a repetition unless enough of the cases doing it
that often go on to do it again (a loop). When the data shows no gap, the
thresholds leave at most a tenth of the cases departing.

A repaired step is reported only when the repair makes its case at least 9
times likelier under the directly-follows probabilities (a log-likelihood gain
of ln 9: the odds against a case departing when at most a tenth do). In a
loosely structured process most cases take a path of their own, and a rare
transition there is often as well explained by the case's own path as by any
repair: such a step is left alone. A missing mandatory step or a step done too
often is judged on its rule alone, since transitions cannot count steps.

Real logs need three more things. Events of a case logged at one time are read
in the order their activities usually come. An activity seen in fewer than
``min_cases`` cases, or with no usual place (no strong transition and no step
it follows or precedes in half its occurrences: met here and there between
different steps), is not a step of the process. A case that has not reached a
usual end may still be running: it is judged as a beginning.

Example:
    >>> import pandas as pd
    >>> from kgsentinel.detectors.events import as_event_log
    >>> steps = ["Brief", "Formulation", "Stability test", "Launch"]
    >>> traces = [steps] * 40 + [["Brief", "Formulation", "Launch"]]
    >>> table = pd.DataFrame([(str(n), step, f"2026-01-{k + 1:02d}")
    ...                       for n, trace in enumerate(traces) for k, step in enumerate(trace)],
    ...                      columns=["case_id", "activity", "timestamp"])
    >>> log = as_event_log(table)
    >>> [f.explanation for f in ControlFlowDetector().fit(log).findings(log)]
    ['Stability test skipped between Formulation and Launch']
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from kgsentinel.detectors.base import Evidence, Finding
from kgsentinel.detectors.events import sort_event_log

if TYPE_CHECKING:  # pragma: no cover
    import networkx as nx

__all__ = ["END", "START", "ControlFlowDetector"]

#: the artificial start and end nodes of ``dfg_``
START = "▶"
END = "■"
#: activity codes become characters (one string per case) from this code point on
_OFFSET = 0x100
#: where an added step sits in the list of original event positions
_NO_EVENT = -1
#: where the gap search looks for ε, transition strengths and loop ratios, and the
#: values used when there is no gap
_EPSILON_RANGE, _EPSILON_FALLBACK = (0.002, 0.15), 0.02
_STRENGTH_RANGE, _STRENGTH_FALLBACK = (0.0005, 0.06), 0.01
_RATIO_RANGE, _RATIO_FALLBACK = (0.002, 0.05), 0.01
#: a gap counts when the values on either side differ by this factor
_GAP_RATIO = 2.0
#: violation rates are told apart from this many violating cases up
_FEW = 3
#: with no gap in the data, thresholds leave at most this share of the cases departing
_DEPARTING = 0.1
#: transition strength: each activity counts as if seen in this share of the cases more
_PRIOR_SHARE = 0.01
#: the repair checks this many of its most promising edits in full, per step
_TRIES = 48
#: an event is moved back by at most this many places
_MOVES = 8
#: rules on how many times a step happens, which directly-follows likelihoods cannot see: a
#: repair that mends one is reported whatever its gain in likelihood
_COUNTED = ("existence", "max-count")
#: a repair must make its case this much likelier (log-likelihood) for its step to be reported:
#: at least the odds against a case departing when at most ``_DEPARTING`` of the cases do
_MIN_GAIN = math.log((1.0 - _DEPARTING) / _DEPARTING)


def _least_gain(cases: int) -> float:
    """The automatic ``min_gain`` for a history of ``cases`` cases.

    ln 9 (the odds against departing, see ``_MIN_GAIN``), and with more than 90 cases
    ln(cases / 10): every case is judged, so the larger the history, the more unlikely
    some ordinary case's path looks by chance alone, and the stronger the evidence a
    repair must bring (as a multiple-comparison correction does).

    Example:
        >>> round(_least_gain(50), 3), round(_least_gain(13_000), 3)
        (2.197, 7.17)
    """
    return max(_MIN_GAIN, math.log(max(cases, 1) * _DEPARTING))


class ControlFlowDetector(BaseEstimator):
    """Skipped, inserted, repeated and out-of-order steps, one finding per departing step.

    Parameters (keyword-only; ``None`` means chosen from the data in ``fit``):

    - ``support``: the support (share of cases that keep it) a constraint needs
      to count as learned, e.g. ``0.98``;
    - ``transition_threshold``: the strength below which a directly-follows
      transition is rare;
    - ``loop_threshold``: the share of the cases doing a step k times that must
      go on to do it again for k + 1 times to stay usual (a loop thins out
      gradually); automatic: in the widest gap of those shares (a repeated
      step is redone far more rarely than a loop);
    - ``min_cases``: the fewest cases a constraint must apply to before it is
      learned, and an activity must occur in to be a step of the process;
    - ``max_edits``: the most edits tried per case before the remaining broken
      rules are reported one by one;
    - ``min_gain``: the least log-likelihood gain (under the directly-follows
      probabilities) that mending a step must bring its case for the step to
      be reported; automatic: the log odds against a case departing when at
      most a tenth of the cases do, ln 9, so a rare step that the case's own
      path explains about as well as the repair is left alone, and ln(n / 10)
      for a history of n > 90 cases, since among more cases more ordinary
      paths look unlikely by chance;
    - ``running_as_prefix``: a case whose last activity is not a usual end (one
      that ends at least half the cases having it), and that has not passed
      one, may still be running: it is judged as a beginning, so steps that
      usually come later than where it has got to are not reported missing.
      A case that has passed a usual end is judged whole, whatever came after.

    Fitted: ``activities_``, ``end_activities_``, ``dfg_``, ``constraints_``
    (one row per candidate constraint, with ``learned``), ``max_counts_``, ``support_``,
    ``transition_threshold_``, ``loop_threshold_`` and ``min_gain_`` (the thresholds in
    use), ``n_cases_``.
    """

    def __init__(
        self,
        *,
        support: float | None = None,
        transition_threshold: float | None = None,
        loop_threshold: float | None = None,
        min_cases: int = 5,
        max_edits: int = 3,
        min_gain: float | None = None,
        running_as_prefix: bool = True,
    ) -> None:
        self.support = support
        self.transition_threshold = transition_threshold
        self.loop_threshold = loop_threshold
        self.min_cases = min_cases
        self.max_edits = max_edits
        self.min_gain = min_gain
        self.running_as_prefix = running_as_prefix

    def fit(self, log: pd.DataFrame) -> ControlFlowDetector:
        """Learn the process (transitions, constraints, thresholds) from ``log``."""
        log, bounds = _checked(log)
        if log.empty:
            raise ValueError("cannot learn a process from an empty event log")
        codes, names = pd.factorize(log["activity"], sort=True)
        self.activities_ = [str(name) for name in names]
        self._places = _usual_places(codes, bounds, len(names))
        log, codes = _simultaneous_in_usual_order(log, bounds, codes, self._places)
        variants = _Variants.of(codes, bounds)
        traces = variants.arrays()
        weights = variants.counts.astype(float)
        self.n_cases_ = int(weights.sum())
        n = len(self.activities_)
        counts = _transition_counts(traces, weights, n)
        strength = _strength(counts)
        tau = self.transition_threshold
        if tau is None:
            tau = _gap_cut(strength[counts > 0], _STRENGTH_RANGE)
        if tau is None:
            weakest = _weakest_transitions(traces, strength, n)
            tau = min(_STRENGTH_FALLBACK, _at_most_departing(weakest, weights))
        self.transition_threshold_ = float(tau)
        stats = _Occurrences.of(traces, weights, n)
        candidates = _candidate_constraints(stats, self.activities_)
        epsilon = (
            1.0 - self.support
            if self.support is not None
            else _noise_level(candidates, self.min_cases, self.n_cases_)
        )
        if epsilon is None:
            broken = _most_trusted_broken(stats, candidates, self.min_cases)
            epsilon = min(_EPSILON_FALLBACK, _at_most_departing(broken, weights, below=False))
        self.support_ = float(1.0 - epsilon)
        shares = _count_shares(stats)
        ratio = self.loop_threshold
        if ratio is None:
            ratio = _gap_cut(_again_ratios(shares), _RATIO_RANGE) or _RATIO_FALLBACK
        self.loop_threshold_ = float(ratio)
        max_counts, count_tails = _max_counts(shares, ratio)
        self.max_counts_ = pd.Series(max_counts, index=self.activities_, name="max_count")
        candidates["learned"] = (candidates["cases"] >= self.min_cases) & (
            candidates["support"] >= self.support_ - 1e-12
        )
        self.constraints_ = _with_count_rows(candidates, stats, max_counts, count_tails,
                                             self.activities_)  # fmt: skip
        cases_with = stats.weights @ stats.present
        ending = np.bincount([int(t[-1]) for t in traces], weights=weights, minlength=n)
        self._ends = set(np.flatnonzero(ending >= 0.5 * np.maximum(cases_with, 1)).tolist())
        self.end_activities_ = [self.activities_[a] for a in sorted(self._ends)]
        scarce = {a: round(float(c)) for a, c in enumerate(cases_with) if c < self.min_cases}
        placeless = {a: best for a, best in _placeless(counts, strength, tau, n).items()
                     if a not in scarce}  # fmt: skip
        rare = _rare_transitions(strength, tau, [*scarce, *placeless])
        self.dfg_ = _dfg(counts, strength, rare, self.activities_)
        self._model = _Model.build(self.activities_, counts, strength, rare, tau, epsilon,
                                   self.constraints_, count_tails, scarce)  # fmt: skip
        self._model.placeless = placeless
        self._model.min_cases = self.min_cases
        self.min_gain_ = float(
            _least_gain(self.n_cases_) if self.min_gain is None else self.min_gain
        )
        self._model.min_gain = self.min_gain_
        return self

    def findings(self, log: pd.DataFrame) -> list[Finding]:
        """One finding per departing step of every case in ``log``."""
        if not hasattr(self, "_model"):
            raise ValueError("this ControlFlowDetector is not fitted yet; call fit(log) first")
        log, bounds = _checked(log)
        if log.empty:
            return []
        codes, model = self._encode(log["activity"])
        log, codes = _simultaneous_in_usual_order(log, bounds, codes, self._places)
        variants = _Variants.of(codes, bounds)
        departures: list[tuple[np.ndarray, list[_Step]]] = []
        for variant, members in variants.members():
            trace = variants.trace(variant)
            pending = self._pending(trace)
            if model.cost(trace, pending)[0] == 0:
                continue
            steps = model.explain(trace, self.max_edits, pending)
            if steps:
                departures.append((variants.starts[members], steps))
        return _findings(log, departures)

    def _pending(self, trace: Sequence[int]) -> int | None:
        """For a case that may still run (it has not reached a usual end): what may yet come.

        A bit mask of the activities that usually come later than its last one;
        None for a finished case (or when running cases are judged whole).
        """
        if not self.running_as_prefix or not self._ends.isdisjoint(trace):
            return None
        last = trace[-1]
        if last >= len(self._places):
            return 0
        later = np.flatnonzero(self._places > self._places[last])
        return sum(1 << int(a) for a in later)

    def _encode(self, activities: pd.Series) -> tuple[np.ndarray, _Model]:
        """Activity codes, and the model extended with the activities it has never seen."""
        codes = pd.Index(self.activities_).get_indexer(activities)
        unseen = codes < 0
        if not unseen.any():
            return codes, self._model
        extra, names = pd.factorize(activities[unseen])
        codes[unseen] = self._model.unknown + 1 + extra
        return codes, self._model.with_unknown([str(name) for name in names])

    def explain_trace(self, activities: Sequence[str]) -> list[dict[str, Any]]:
        """How one sequence of activities departs from the process, step by step.

        Each item has ``kind``, ``activity``, ``position`` (of the event, None for
        a skipped step), ``explanation`` and ``score``; an empty list means normal.
        """
        if not hasattr(self, "_model"):
            raise ValueError("this ControlFlowDetector is not fitted yet; call fit(log) first")
        codes, model = self._encode(pd.Series(list(activities), dtype=object))
        trace = codes.tolist()
        pending = self._pending(trace) if trace else None
        if model.cost(trace, pending)[0] == 0:
            return []
        return [{"kind": s.kind, "activity": s.activity, "position": s.position,
                 "explanation": s.explanation, "score": s.score}
                for s in model.explain(trace, self.max_edits, pending)]  # fmt: skip


def _findings(log: pd.DataFrame, departures: list[tuple[np.ndarray, list[_Step]]]) -> list[Finding]:
    """Each variant's steps as findings for each of its cases (``starts``: their first rows)."""
    if not departures:
        return []
    starts = np.concatenate([rows for rows, _ in departures])
    cases = log["case"].iloc[starts].astype(str).tolist()
    case_ids = log["case_id"].iloc[starts].astype(str).tolist()
    wanted = [int(start) + step.position for rows, steps in departures for start in rows
              for step in steps if step.position is not None]  # fmt: skip
    event_ids = dict(zip(wanted, log["event_id"].iloc[wanted].astype(str).tolist(), strict=True))
    found: list[Finding] = []
    number = 0
    for rows, steps in departures:
        for start in rows.tolist():
            case, case_id = cases[number], case_ids[number]
            number += 1
            for step in steps:
                event = None if step.position is None else event_ids[start + step.position]
                found.append(step.finding(case, case_id, event))
    return found


def _usual_places(codes: np.ndarray, bounds: np.ndarray, n: int) -> np.ndarray:
    """Each activity's mean place in its cases, from 0 (first) to 1 (last)."""
    lengths = np.diff(bounds)
    position = np.arange(len(codes)) - np.repeat(bounds[:-1], lengths)
    relative = position / np.maximum(np.repeat(lengths, lengths) - 1, 1)
    total = np.bincount(codes, weights=relative, minlength=n)
    return total / np.maximum(np.bincount(codes, minlength=n), 1)


def _simultaneous_in_usual_order(
    log: pd.DataFrame, bounds: np.ndarray, codes: np.ndarray, places: np.ndarray
) -> tuple[pd.DataFrame, np.ndarray]:
    """The log (and codes) with the events of a case that share a time in their usual order.

    Events logged together (lab results, automatic steps) have no order of
    their own; reading them in the order their activities usually come keeps
    that from looking like steps out of order.
    """
    ns = pd.to_datetime(log["timestamp"], utc=True).array.asi8
    case = np.repeat(np.arange(len(bounds) - 1), np.diff(bounds))
    tied = (ns[1:] == ns[:-1]) & (case[1:] == case[:-1])
    if not tied.any():
        return log, codes
    place = np.where(codes < len(places), places[np.minimum(codes, len(places) - 1)], 0.5)
    order = np.lexsort((np.arange(len(codes)), place, ns, case))
    return log.iloc[order].reset_index(drop=True), codes[order]


def _checked(log: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """The log sorted by case then time, and the row where each case starts (then the end)."""
    missing = [c for c in ("case", "case_id", "event_id", "activity", "timestamp")
               if c not in log.columns]  # fmt: skip
    if missing:
        raise ValueError(f"the event log has no column {missing[0]!r}; build it with "
                         "as_event_log(table) or read_event_log(store)")  # fmt: skip
    if log.empty:
        return log, np.zeros(1, dtype=np.int64)
    bounds = _case_bounds(log)
    if bounds is None:
        log = sort_event_log(log)
        bounds = _case_bounds(log)
        assert bounds is not None
    return log, bounds


def _case_bounds(log: pd.DataFrame) -> np.ndarray | None:
    """Where each case starts (and the end), if each case's events are together and in order."""
    cases = pd.factorize(log["case"])[0]
    step = np.diff(cases)
    if ((step != 0) & (step != 1)).any():
        return None
    times = pd.to_datetime(log["timestamp"], utc=True).array.asi8
    if ((step == 0) & (times[1:] < times[:-1])).any():
        return None
    return np.r_[0, np.flatnonzero(step) + 1, len(cases)].astype(np.int64)


@dataclass
class _Variants:
    """Cases grouped by their sequence of activity codes."""

    keys: list[str]
    of_case: np.ndarray
    counts: np.ndarray
    starts: np.ndarray

    @classmethod
    def of(cls, codes: np.ndarray, bounds: np.ndarray) -> _Variants:
        text = str((np.asarray(codes) + _OFFSET).astype("<u4").view(f"<U{len(codes)}")[0])
        edges = bounds.tolist()
        per_case = [text[a:b] for a, b in itertools.pairwise(edges)]
        of_case, keys = pd.factorize(pd.Series(per_case, dtype=object))
        counts = np.bincount(of_case, minlength=len(keys))
        return cls([str(k) for k in keys], of_case, counts, bounds[:-1])

    def trace(self, variant: int) -> list[int]:
        return [ord(char) - _OFFSET for char in self.keys[variant]]

    def arrays(self) -> list[np.ndarray]:
        return [np.array(self.trace(v), dtype=np.int64) for v in range(len(self.keys))]

    def members(self) -> Iterator[tuple[int, np.ndarray]]:
        """Each variant with the indices of its cases."""
        order = np.argsort(self.of_case, kind="stable")
        cuts = np.cumsum(self.counts)[:-1]
        yield from enumerate(np.split(order, cuts))


def _transition_counts(traces: list[np.ndarray], weights: np.ndarray, n: int) -> np.ndarray:
    """Directly-follows counts over codes 0..n-1, start (n), end (n + 1) and unknown (n + 2)."""
    size = n + 3
    start, end = n, n + 1
    lengths = np.array([len(t) for t in traces])
    flat = np.concatenate(traces) if traces else np.zeros(0, dtype=np.int64)
    owner = np.repeat(np.arange(len(traces)), lengths)
    first = np.r_[0, np.cumsum(lengths)[:-1]]
    prev = np.r_[start, flat[:-1]] if len(flat) else flat
    prev[first] = start
    pairs = np.r_[prev * size + flat, flat[first + lengths - 1] * size + end]
    weight = np.r_[weights[owner], weights]
    return np.bincount(pairs, weights=weight, minlength=size * size).reshape(size, size)


def _strength(counts: np.ndarray) -> np.ndarray:
    """count(p, n) / sqrt(count out of p * count into n): near 1 when p and n always go together.

    Each end's count gets a prior of ``_PRIOR_SHARE`` of the cases, so a step
    seen once or twice cannot look strongly tied to whatever it happened next to.
    """
    prior = max(1.0, _PRIOR_SHARE * counts[-3].sum())  # row of the start: one per case
    out = counts.sum(axis=1) + prior
    into = counts.sum(axis=0) + prior
    return counts / np.sqrt(np.outer(out, into))


def _gap_cut(values: np.ndarray, bounds: tuple[float, float]) -> float | None:
    """A cut in the widest multiplicative gap between values, within ``bounds``.

    Rare noise and real behaviour sit apart on a log scale: the cut is the
    gap's geometric middle, but no more than ``_GAP_RATIO`` times its low side
    (noise is what the data showed, not what a wide gap would allow). Zeros
    are left out: between never and once there is no gap to speak of. When no
    gap is at least ``_GAP_RATIO`` wide, None.

    Example:
        >>> _gap_cut(np.array([0, 0.001, 0.002, 0.003, 0.2, 0.5]), (0.0005, 0.06))
        0.006
        >>> _gap_cut(np.array([0.001, 0.0015, 0.002, 0.003]), (0.0005, 0.06)) is None
        True
    """
    low, high = bounds
    ordered = np.unique(values[values > 0])
    if len(ordered) < 2:
        return None
    left, right = ordered[:-1], np.minimum(ordered[1:], high * 2)
    usable = (left >= low) & (left <= high) & (right > left)
    if not usable.any():
        return None
    ratio = np.where(usable, right / left, 0.0)
    best = int(np.argmax(ratio))
    if ratio[best] < _GAP_RATIO:
        return None
    cut = min(math.sqrt(left[best] * right[best]), _GAP_RATIO * left[best])
    return float(np.clip(cut, low, high))


@dataclass
class _Occurrences:
    """Per variant: which activities occur, their first positions and counts (weighted)."""

    present: np.ndarray
    first: np.ndarray
    last: np.ndarray
    count: np.ndarray
    weights: np.ndarray

    @classmethod
    def of(cls, traces: list[np.ndarray], weights: np.ndarray, n: int) -> _Occurrences:
        lengths = np.array([len(t) for t in traces])
        flat = np.concatenate(traces)
        owner = np.repeat(np.arange(len(traces)), lengths)
        position = np.arange(len(flat)) - np.repeat(np.r_[0, np.cumsum(lengths)[:-1]], lengths)
        cell = owner * n + flat
        count = np.bincount(cell, minlength=len(traces) * n).reshape(len(traces), n)
        absent = np.iinfo(np.int64).max // 2
        cells, first_at = np.unique(cell, return_index=True)
        first = np.full(len(traces) * n, absent, dtype=np.int64)
        first[cells] = position[first_at]
        cells, last_from_end = np.unique(cell[::-1], return_index=True)
        last = np.full(len(traces) * n, -1, dtype=np.int64)
        last[cells] = position[::-1][last_from_end]
        shape = (len(traces), n)
        return cls(count > 0, first.reshape(shape), last.reshape(shape), count, weights)


def _candidate_constraints(stats: _Occurrences, names: list[str]) -> pd.DataFrame:
    """Every existence, responded-existence, precedence and response candidate with support."""
    w, present, first = stats.weights, stats.present, stats.first
    n = present.shape[1]
    total = w.sum()
    cases_with = w @ present
    both = (present.T * w) @ present.astype(float)
    before = np.zeros((n, n))  # a's first occurrence before b's first
    followed = np.zeros((n, n))  # b occurs after a's first occurrence
    for a in range(n):
        with_a = present[:, [a]] & present
        before[a] = w @ ((first[:, [a]] < first) & with_a)
        followed[a] = w @ ((stats.last > first[:, [a]]) & with_a)
    pairs = np.array([(a, b) for a in range(n) for b in range(n) if a != b], dtype=int)
    a, b = (pairs[:, 0], pairs[:, 1]) if len(pairs) else (np.zeros(0, int), np.zeros(0, int))
    rows = [
        pd.DataFrame({"template": "existence", "a": np.arange(n), "b": -1,
                      "holds": cases_with, "cases": np.full(n, total)}),
        pd.DataFrame({"template": "responded-existence", "a": a, "b": b,
                      "holds": both[a, b], "cases": cases_with[a]}),
        pd.DataFrame({"template": "precedence", "a": a, "b": b,
                      "holds": before[a, b], "cases": cases_with[b]}),
        pd.DataFrame({"template": "response", "a": a, "b": b,
                      "holds": followed[a, b], "cases": cases_with[a]}),
    ]  # fmt: skip
    frame = pd.concat(rows, ignore_index=True)
    frame = frame[frame["cases"] > 0]
    frame["support"] = frame["holds"] / frame["cases"]
    frame["activity"] = [names[i] for i in frame["a"]]
    frame["other"] = [names[i] if i >= 0 else None for i in frame["b"]]
    return frame.reset_index(drop=True)


def _usable(candidates: pd.DataFrame, min_cases: int) -> pd.DataFrame:
    return candidates[(candidates["cases"] >= min_cases) & (candidates["support"] >= 0.5)]


def _noise_level(candidates: pd.DataFrame, min_cases: int, cases: int) -> float | None:
    """ε: the violation rate that separates rules broken only by noise from real alternatives.

    A gap counts from rates of a few cases (``_FEW`` of ``cases``) up: below
    that, rates differ by chance.
    """
    low, high = _EPSILON_RANGE
    bounds = (max(low, _FEW / max(cases, 1)), high)
    return _gap_cut(1.0 - _usable(candidates, min_cases)["support"].to_numpy(), bounds)


def _at_most_departing(values: np.ndarray, weights: np.ndarray, below: bool = True) -> float:
    """The cut that leaves at most ``_DEPARTING`` of the cases on the departing side.

    ``values`` hold one number per variant (``weights``: its cases); a case
    departs when its value is below the cut (or, with ``below=False``, at or
    below it). Used when the data shows no gap: then at most that share of the
    history is taken to be anomalous.
    """
    order = np.argsort(values, kind="stable")
    share = np.cumsum(weights[order]) / weights.sum()
    cut = float(values[order][min(int(np.searchsorted(share, _DEPARTING)), len(order) - 1)])
    return cut if below else float(np.nextafter(cut, -np.inf))


def _weakest_transitions(traces: list[np.ndarray], strength: np.ndarray, n: int) -> np.ndarray:
    """For each variant, the strength of its weakest transition (start and end included)."""
    lengths = np.array([len(t) for t in traces])
    flat = np.concatenate(traces)
    first = np.r_[0, np.cumsum(lengths)[:-1]]
    prev = np.r_[n, flat[:-1]]
    prev[first] = n
    within = np.minimum.reduceat(strength[prev, flat], first)
    return np.minimum(within, strength[flat[first + lengths - 1], n + 1])


def _most_trusted_broken(
    stats: _Occurrences, candidates: pd.DataFrame, min_cases: int
) -> np.ndarray:
    """For each variant, the violation rate (1 - support) of the most trusted rule it breaks."""
    n = stats.present.shape[1]
    rates = {t: np.full((n, n), np.inf) for t in ("responded-existence", "precedence", "response")}
    existence = np.full(n, np.inf)
    for template, a, b, support in _usable(candidates, min_cases)[
        ["template", "a", "b", "support"]
    ].itertuples(index=False):
        if template == "existence":
            existence[a] = 1.0 - support
        else:
            rates[template][a, b] = 1.0 - support
    present, first, last = stats.present, stats.first, stats.last
    broken = np.where(present, np.inf, existence[None, :]).min(axis=1)
    for a in range(n):
        has = present[:, [a]]
        before = has & (first[:, [a]] < first)
        after = present & (last > first[:, [a]])
        broken = np.minimum.reduce([
            broken,
            np.where(has & ~present, rates["responded-existence"][a], np.inf).min(axis=1),
            np.where(present & ~before, rates["precedence"][a], np.inf).min(axis=1),
            np.where(has & ~after, rates["response"][a], np.inf).min(axis=1),
        ])  # fmt: skip
    return broken


def _count_shares(stats: _Occurrences) -> list[np.ndarray]:
    """For each activity, the share of its cases that do it 0, 1, 2, ... times."""
    shares = []
    for a in range(stats.count.shape[1]):
        seen = stats.count[:, a] > 0
        histogram = np.bincount(stats.count[seen, a], weights=stats.weights[seen])
        shares.append(histogram / histogram.sum())
    return shares


def _again_ratios(shares: list[np.ndarray]) -> np.ndarray:
    """How often a step done k times is done again (k + 1 times or more), for every k seen."""
    ratios = []
    for share in shares:
        tail = share[::-1].cumsum()[::-1]  # tail[k]: share of cases doing it k times or more
        ratios += [tail[k + 1] / tail[k] for k in range(1, len(share) - 1) if tail[k] > 0]
    return np.array(ratios)


def _max_counts(shares: list[np.ndarray], ratio: float) -> tuple[list[int], list[np.ndarray]]:
    """The usual most occurrences of each activity, and the share of cases with >= k of them.

    Doing a step k + 1 times is usual while at least ``ratio`` of the cases that
    do it k times go on to do it again: a loop thins out gradually, however
    long its tail, while a repeated step drops to noise.
    """
    limits, tails = [], []
    for share in shares:
        tail = np.r_[share[::-1].cumsum()[::-1], 0.0]  # tail[k] = share with count >= k
        limit = 1
        while limit + 1 < len(share) and tail[limit + 1] >= ratio * tail[limit]:
            limit += 1
        limits.append(limit)
        tails.append(tail)
    return limits, tails


def _with_count_rows(
    candidates: pd.DataFrame,
    stats: _Occurrences,
    max_counts: list[int],
    tails: list[np.ndarray],
    names: list[str],
) -> pd.DataFrame:
    cases_with = stats.weights @ stats.present
    counts = pd.DataFrame({
        "template": "max-count", "a": np.arange(len(names)), "b": max_counts,
        "cases": cases_with, "support": [1.0 - tails[a][k + 1] for a, k in enumerate(max_counts)],
        "activity": names, "other": [str(k) for k in max_counts],
    })  # fmt: skip
    counts["holds"] = counts["support"] * counts["cases"]
    counts["learned"] = True
    frame = pd.concat([candidates, counts], ignore_index=True)
    frame["cases"] = frame["cases"].round().astype(int)
    frame = frame.sort_values(["learned", "template", "support"], ascending=[False, True, False])
    columns = ["template", "activity", "other", "support", "cases", "learned", "a", "b"]
    return frame[columns].reset_index(drop=True)


def _placeless(counts: np.ndarray, strength: np.ndarray, tau: float, n: int) -> dict[int, float]:
    """Activities with no usual place: met here and there, each time between different steps.

    A step of the process, however rare, has neighbours it goes with: a
    transition into or out of it seen more than once and at least
    ``_GAP_RATIO`` times ``tau`` strong, or a step that precedes or follows it
    in at least half its occurrences. An activity with neither has no place.
    Returns each such activity with the strength of its strongest transition
    seen more than once.

    Example:
        >>> counts = np.full((5, 5), 3.0)  # activity 1 comes after and before anything
        >>> strength = np.full((5, 5), 0.5)
        >>> strength[1, :] = strength[:, 1] = 0.015
        >>> _placeless(counts, strength, 0.01, 2)
        {1: 0.015}
    """
    core = counts[: n + 2, : n + 2]
    into, out = core[:, :n], core[:n, :]
    share_in = into.max(axis=0) / np.maximum(into.sum(axis=0), 1)
    share_out = out.max(axis=1) / np.maximum(out.sum(axis=1), 1)
    usual = np.where(core > 1, strength[: n + 2, : n + 2], 0.0)
    best = np.maximum(usual[:n, :].max(axis=1), usual[:, :n].max(axis=0))
    scattered = (np.maximum(share_in, share_out) < 0.5) & (best < _GAP_RATIO * tau)
    return {int(a): float(best[a]) for a in np.flatnonzero(scattered)}


def _rare_transitions(strength: np.ndarray, tau: float, scarce: list[int]) -> np.ndarray:
    """Which transitions are rare: weaker than ``tau``, or to or from a scarce or unknown step.

    An activity seen in fewer than ``min_cases`` cases, or with no usual place
    (``_placeless``), is not a step of the learned process: whatever it
    follows or precedes is unusual.
    """
    rare = strength < tau
    unknown = strength.shape[0] - 1
    for a in [*scarce, unknown]:
        rare[a, :] = True
        rare[:, a] = True
    return rare


def _dfg(
    counts: np.ndarray, strength: np.ndarray, rare: np.ndarray, names: list[str]
) -> nx.DiGraph:
    """The directly-follows graph: nodes with counts, edges with count, probability, rare."""
    import networkx as nx

    n = len(names)
    labels = [*names, START, END]
    out = counts.sum(axis=1)
    graph = nx.DiGraph()
    for code, label in enumerate(labels):
        occurrences = out[code] if code != n + 1 else counts[:, n + 1].sum()
        graph.add_node(label, count=round(float(occurrences)))
    for p, q in zip(*np.nonzero(counts[: n + 2, : n + 2]), strict=True):
        graph.add_edge(labels[p], labels[q], count=round(float(counts[p, q])),
                       probability=float(counts[p, q] / out[p]),
                       strength=float(strength[p, q]), rare=bool(rare[p, q]))  # fmt: skip
    return graph


# --- the learned model, compiled for checking one trace at a time -----------------------------


@dataclass
class _Model:
    """Transitions and learned constraints as lists and bit masks, for fast per-trace checks.

    Codes 0..n-1 are the activities, then the start, the end, the unknown activity
    and (see ``with_unknown``) activities seen only when checking.
    """

    n: int
    names: list[str]
    rare: list[list[bool]]
    nll: list[list[float]]
    probability: np.ndarray
    strength: np.ndarray
    tau: float
    epsilon: float
    mandatory: int
    required: list[int]
    before: list[int]
    after: list[int]
    max_count: list[int]
    tails: list[np.ndarray]
    support: dict[tuple[str, int, int], float]
    #: activities seen in too few cases to be steps of the process, with their number of cases
    scarce: dict[int, int] = field(default_factory=dict)
    bridges: dict[tuple[int, int], list[int]] = field(default_factory=dict)
    #: the least log-likelihood gain a repair must bring for its step to be reported
    min_gain: float = 0.0
    #: activities with no usual place in the process, with their strongest transition
    placeless: dict[int, float] = field(default_factory=dict)
    #: an activity in fewer cases than this is not a step of the process
    min_cases: int = 5

    @property
    def start(self) -> int:
        return self.n

    @property
    def end(self) -> int:
        return self.n + 1

    @property
    def unknown(self) -> int:
        return self.n + 2

    @classmethod
    def build(
        cls,
        activities: list[str],
        counts: np.ndarray,
        strength: np.ndarray,
        rare: np.ndarray,
        tau: float,
        epsilon: float,
        constraints: pd.DataFrame,
        tails: list[np.ndarray],
        scarce: dict[int, int],
    ) -> _Model:
        n = len(activities)
        names = [*activities, START, END, "?"]
        out = counts.sum(axis=1, keepdims=True)
        size = counts.shape[0]
        nll = -np.log((counts + 0.5) / (out + 0.5 * size))
        probability = np.divide(counts, out, out=np.zeros_like(counts), where=out > 0)
        learned = constraints[constraints["learned"]]
        masks = {t: [0] * n for t in ("responded-existence", "precedence", "response")}
        mandatory = 0
        support: dict[tuple[str, int, int], float] = {}
        for template, a, b, value in learned[["template", "a", "b", "support"]].itertuples(
            index=False
        ):
            support[(template, int(a), int(b))] = float(value)
            if template == "existence":
                mandatory |= 1 << int(a)
            elif template == "responded-existence":
                masks[template][a] |= 1 << int(b)
            elif template == "precedence":
                masks[template][b] |= 1 << int(a)
            elif template == "response":
                masks[template][a] |= 1 << int(b)
        max_count = [0] * n
        for a, k in learned.loc[learned["template"] == "max-count", ["a", "b"]].itertuples(
            index=False
        ):
            max_count[int(a)] = int(k)
        normal = ~rare
        bridges: dict[tuple[int, int], list[int]] = {}
        for p in range(n + 1):
            for q in [*range(n), n + 1]:
                if rare[p, q]:
                    middle = np.flatnonzero(normal[p, :n] & normal[:n, q])
                    if len(middle):
                        bridges[(p, q)] = middle.tolist()
        return cls(n, names, rare.tolist(), nll.tolist(), probability, strength, tau, epsilon,
                   mandatory, masks["responded-existence"], masks["precedence"],
                   masks["response"], max_count, tails, support, scarce, bridges)  # fmt: skip

    def with_unknown(self, names: list[str]) -> _Model:
        """The model with more activities it has never seen (each as rare as the unknown one)."""
        k = len(names)
        unknown = self.unknown
        rare = [[*row, *[True] * k] for row in self.rare] + [[True] * (len(self.rare) + k)] * k
        nll = ([[*row, *[row[unknown]] * k] for row in self.nll]
               + [self.nll[unknown] + [self.nll[unknown][unknown]] * k] * k)  # fmt: skip
        padding = ((0, k), (0, k))
        return dataclasses.replace(
            self, names=[*self.names, *names], rare=rare, nll=nll,
            probability=np.pad(self.probability, padding), strength=np.pad(self.strength, padding),
        )  # fmt: skip

    # -- checking ------------------------------------------------------------------------------

    def cost(self, trace: Sequence[int], pending: int | None = None) -> tuple[int, float]:
        """How many rules ``trace`` breaks, and its negative log-likelihood (for ties).

        ``pending`` (a bit mask of activities) judges ``trace`` as the beginning
        of a case: those activities may still come, and so may its end.
        """
        n, rare, nll, before = self.n, self.rare, self.nll, self.before
        broken = 0
        surprise = 0.0
        prev = n
        seen = 0
        firsts = []
        counts = [0] * len(self.names)
        for i, x in enumerate(trace):
            broken += rare[prev][x]
            surprise += nll[prev][x]
            if x < n:
                bit = 1 << x
                if not seen & bit:
                    broken += (before[x] & ~seen).bit_count()
                    firsts.append((x, i))
                    seen |= bit
            counts[x] += 1
            prev = x
        if pending is None:
            broken += rare[prev][n + 1]
            surprise += nll[prev][n + 1]
        waiting = ~(pending or 0)
        broken += (self.mandatory & ~seen & waiting).bit_count()
        later = _later_masks(trace, n)
        required, after, max_count = self.required, self.after, self.max_count
        for x, i in firsts:
            broken += (required[x] & ~seen & waiting).bit_count()
            broken += (after[x] & ~later[i + 1] & waiting).bit_count()
            if counts[x] > max_count[x]:
                broken += counts[x] - max_count[x]
        return broken, surprise

    def violations(self, trace: Sequence[int], pending: int | None = None) -> list[_Violation]:
        """Each rule ``trace`` breaks, with where (``pending``: as in ``cost``)."""
        n, rare = self.n, self.rare
        found: list[_Violation] = []
        prev = n
        seen = 0
        firsts: dict[int, int] = {}
        counts: Counter[int] = Counter()
        for i, x in enumerate(trace):
            if rare[prev][x]:
                found.append(_Violation("transition", prev, x, i))
            if x < n:
                if x not in firsts:
                    firsts[x] = i
                    found.extend(_Violation("precedence", a, x, i)
                                 for a in _bits(self.before[x] & ~seen))  # fmt: skip
                    seen |= 1 << x
                counts[x] += 1
            prev = x
        if rare[prev][n + 1] and pending is None:
            found.append(_Violation("transition", prev, n + 1, len(trace)))
        waiting = ~(pending or 0)
        found.extend(_Violation("existence", a, -1, -1)
                     for a in _bits(self.mandatory & ~seen & waiting))  # fmt: skip
        later = _later_masks(trace, n)
        for x, i in firsts.items():
            found.extend(_Violation("responded-existence", x, b, i)
                         for b in _bits(self.required[x] & ~seen & waiting))  # fmt: skip
            found.extend(_Violation("response", x, b, i)
                         for b in _bits(self.after[x] & ~later[i + 1] & waiting))  # fmt: skip
            if counts[x] > self.max_count[x]:
                found.append(_Violation("max-count", x, counts[x], i))
        return found

    def score(self, violation: _Violation) -> float:
        """0.5 at the threshold, toward 1 the rarer what the trace did."""
        if violation.template == "transition":
            rarity = float(self.strength[violation.a, violation.b])
            return max(self.tau / (self.tau + rarity), self._outsider(violation.a),
                       self._outsider(violation.b))  # fmt: skip
        if violation.template == "max-count":
            tail = self.tails[violation.a]
            rarity = float(tail[violation.b]) if violation.b < len(tail) else 0.0
        else:
            rarity = 1.0 - self.support.get(
                (violation.template, violation.a, violation.b if violation.b >= 0 else -1), 1.0
            )
        return self.epsilon / (self.epsilon + rarity) if self.epsilon > 0 else 1.0

    def _outsider(self, x: int) -> float:
        """How surely ``x`` is no step of the process: 0.5 at the threshold, 0 for a step.

        An activity never seen in fitting scores 1; one seen in ``cases`` of
        fewer than ``min_cases`` cases, ``min_cases / (min_cases + cases)``; one
        with no usual place, by how far its strongest transition falls short.
        """
        if x >= self.unknown:
            return 1.0
        if x in self.scarce:
            return self.min_cases / (self.min_cases + self.scarce[x])
        if x in self.placeless:
            usual = _GAP_RATIO * self.tau
            return usual / (usual + self.placeless[x])
        return 0.0

    # -- repair --------------------------------------------------------------------------------

    def explain(
        self, trace: Sequence[int], max_edits: int, pending: int | None = None
    ) -> list[_Step]:
        """The steps of ``trace`` that depart from the process, as few as explain it."""
        current = list(trace)
        origin: list[int] = list(range(len(trace)))
        broken = self.violations(current, pending)
        cost = self.cost(current, pending)[0]
        steps: list[_Step] = []
        edits = 0
        while broken and edits < max_edits:
            best = self._best_edit(current, broken, pending)
            if best is None or best[1][0] >= cost:
                break
            edit, (cost, _) = best
            edits += 1
            after = edit.apply(current)
            still = self.violations(after, pending)
            gain = self.cost(current, pending)[1] - self.cost(after, pending)[1]
            resolved = _resolved(broken, still)
            if gain >= self.min_gain or any(v.template in _COUNTED for v in resolved):
                step = self._describe(edit, current, origin, resolved)
                step.evidence.append(Evidence(label="log-likelihood gain of the repair",
                                              expected=round(self.min_gain, 3),
                                              observed=round(gain, 3)))  # fmt: skip
                steps.append(step)
            origin = edit.apply(origin, filler=_NO_EVENT)
            current, broken = after, still
        if not steps:  # a rare transition no edit mends well is the case's own path
            broken = [v for v in broken if v.template != "transition"]
        steps.extend(self._residual(current, origin, broken))
        return steps

    def _best_edit(
        self, trace: list[int], broken: list[_Violation], pending: int | None
    ) -> tuple[_Edit, tuple[int, float]] | None:
        """The candidate edit leaving the fewest broken rules (then the likeliest trace).

        Candidates are ranked by how many rare transitions they remove, and only
        the ``_TRIES`` most promising are checked in full.
        """
        ranked = sorted(self._candidates(trace, broken), key=lambda item: item[0])
        best: tuple[_Edit, tuple[int, float]] | None = None
        surprise = math.log(self.n + 1)  # an inserted event could have been any activity
        for _, edit in ranked[:_TRIES]:
            broken_after, likelihood = self.cost(edit.apply(trace), pending)
            cost = (broken_after, likelihood + (surprise if edit.kind == "delete" else 0.0))
            if best is None or cost < best[1]:
                best = (edit, cost)
        return best

    def _candidates(
        self, trace: list[int], broken: list[_Violation]
    ) -> Iterator[tuple[int, _Edit]]:
        """Edits that could mend ``broken``, each with the change in rare transitions it makes."""
        n, rare = self.n, self.rare
        length = len(trace)
        implicated = self._implicated(trace, broken)
        padded = [n, *trace, n + 1]
        if length > 1:
            for i in sorted(implicated, reverse=True):
                x = trace[i]
                yield (rare[padded[i]][padded[i + 2]] - rare[padded[i]][x] - rare[x][padded[i + 2]],
                       _Edit("delete", i))  # fmt: skip
        for i in range(1, length):
            for k in (2, 3):
                repeat = i >= k and i + k <= length and trace[i : i + k] == trace[i - k : i]
                if repeat and implicated & set(range(i, i + k)):
                    yield (
                        rare[padded[i]][padded[i + k + 1]]
                        - rare[padded[i]][trace[i]]
                        - rare[trace[i + k - 1]][padded[i + k + 1]],
                        _Edit("delete", i, size=k),
                    )
        missing: set[int] = set()
        for v in broken:
            if v.template == "existence":
                missing.add(v.a)
            elif v.template == "responded-existence":
                missing.add(v.b)
            elif v.template in ("precedence", "response"):
                absent = v.a if v.template == "precedence" else v.b
                if absent not in trace:
                    missing.add(absent)
            elif v.template == "transition":
                for x in self.bridges.get((padded[v.position], padded[v.position + 1]), ()):
                    yield -1, _Edit("insert", v.position, activity=x)
        for x in sorted(missing):
            yield from _fitting_places(padded, x, rare)
        for i in sorted(implicated):
            x = trace[i]
            rest = padded[: i + 1] + padded[i + 2 :]
            hole = rare[padded[i]][padded[i + 2]] - rare[padded[i]][x] - rare[x][padded[i + 2]]
            for j in range(max(0, i - _MOVES), min(length, i + _MOVES + 1)):
                if j != i:
                    gain = rare[rest[j]][x] + rare[x][rest[j + 1]] - rare[rest[j]][rest[j + 1]]
                    if hole + gain <= 0:
                        yield hole + gain, _Edit("move", i, to=j)

    def _implicated(self, trace: list[int], broken: list[_Violation]) -> set[int]:
        """Positions of events a broken rule points at."""
        length = len(trace)
        where: set[int] = set()
        first: dict[int, int] = {}
        for i, x in enumerate(trace):
            first.setdefault(x, i)
        for v in broken:
            if v.template == "transition":
                where.update(p for p in (v.position - 1, v.position) if 0 <= p < length)
            elif v.template == "max-count":
                where.update(i for i, x in enumerate(trace) if x == v.a)
            elif v.template in ("precedence", "response", "responded-existence"):
                where.add(v.position)
                other = v.a if v.template == "precedence" else v.b
                if other in first:
                    where.add(first[other])
        return where

    # -- describing ----------------------------------------------------------------------------

    def _name(self, code: int) -> str:
        return self.names[code]

    def _describe(
        self, edit: _Edit, trace: list[int], origin: list[int], resolved: list[_Violation]
    ) -> _Step:
        resolved.sort(key=self.score, reverse=True)
        score = self.score(resolved[0]) if resolved else 0.5
        evidence = [self._evidence(v) for v in resolved[:3]]
        padded = [self.n, *trace, self.n + 1]
        if edit.kind == "insert":
            x = edit.activity
            p, q = padded[edit.index], padded[edit.index + 1]
            place = _between(self._name(x), self._name(p) if p != self.n else None,
                             self._name(q) if q != self.n + 1 else None)  # fmt: skip
            path = " → ".join(self._name(c) for c in (p, x, q))
            evidence.insert(0, Evidence(label="expected path", expected=path,
                                        observed=f"{self._name(p)} → {self._name(q)}"))  # fmt: skip
            return _Step("skipped", self._name(x), None, f"{place[0]} skipped {place[1]}",
                         score, evidence, key=self._name(x))  # fmt: skip
        if edit.kind == "delete":
            return self._describe_delete(edit, trace, origin, resolved, score, evidence)
        return self._describe_move(edit, trace, origin, resolved, score, evidence)

    def _describe_delete(
        self,
        edit: _Edit,
        trace: list[int],
        origin: list[int],
        resolved: list[_Violation],
        score: float,
        evidence: list[Evidence],
    ) -> _Step:
        i, x = edit.index, trace[edit.index]
        block = trace[i : i + edit.size]
        name = ", ".join(self._name(c) for c in block)
        times = trace.count(x)
        neighbours = trace[max(0, i - edit.size) : i] + trace[i + edit.size : i + 2 * edit.size]
        repeated = x < self.n and (edit.size > 1 or x in neighbours or times > self.max_count[x])
        position = _event(origin, i)
        if repeated:
            usual = self.max_count[x] if x < self.n else 0
            if edit.size > 1:
                text = f"{name} repeated"
            elif times > usual:
                text = f"{name} done {times} times; usually {_at_most(usual)}"
            else:
                text = f"{name} repeated right after itself"
            evidence.insert(0, Evidence(label=f"times {self._name(x)} occurs", expected=usual,
                                        observed=times, rule=f"max-count({self._name(x)}, {usual})",
                                        value=self._count_support(x, usual)))  # fmt: skip
            return _Step("repeated", name, position, text, score, evidence, key=name)
        padded = [self.n, *trace, self.n + 1]
        p, q = padded[i], padded[i + 1 + edit.size]
        place = _between(name, self._name(p) if p != self.n else None,
                         self._name(q) if q != self.n + 1 else None)  # fmt: skip
        reason = self._why_inserted(p, x, q)
        evidence.insert(0, Evidence(label="observed path", expected=f"{self._name(p)} → "
                                    f"{self._name(q)}", observed=" → ".join(
                                        self._name(c) for c in (p, x, q))))  # fmt: skip
        return _Step("inserted", name, position, f"{place[0]} inserted {place[1]}{reason}",
                     score, evidence, per_event=True)  # fmt: skip

    def _why_inserted(self, p: int, x: int, q: int) -> str:
        if x >= self.n:
            return f" ({self._name(x)} is not a step of this process)"
        if x in self.scarce:
            cases = self.scarce[x]
            return f" ({self._name(x)} happened in only {cases} case{'s' * (cases != 1)})"
        if x in self.placeless:
            return f" ({self._name(x)} has no usual place in this process)"
        if self.rare[p][x] and p != self.n:
            share = float(self.probability[p, x])
            return f" ({_share(share)} of {self._name(p)} steps go on to {self._name(x)})"
        if self.rare[x][q] and q != self.n + 1:
            share = float(self.probability[x, q])
            return f" ({_share(share)} of {self._name(x)} steps go on to {self._name(q)})"
        return ""

    def _describe_move(
        self,
        edit: _Edit,
        trace: list[int],
        origin: list[int],
        resolved: list[_Violation],
        score: float,
        evidence: list[Evidence],
    ) -> _Step:
        i, x = edit.index, trace[edit.index]
        rest = trace[:i] + trace[i + 1 :]
        early = edit.to > i  # observed too early: it belongs later
        jumped = rest[i : edit.to] if early else rest[edit.to : i]
        order = [v for v in resolved if v.template in ("precedence", "response")
                 and x in (v.a, v.b) and ({v.a, v.b} - {x}) & set(jumped)]  # fmt: skip
        if order:
            other = order[0].b if order[0].a == x else order[0].a
        else:
            other = jumped[0] if early else jumped[-1]
        name, other_name = self._name(x), self._name(other)
        if early:
            text = f"{name} happened before {other_name}; usually after it"
            expected, observed = f"{other_name} before {name}", f"{name} before {other_name}"
        else:
            text = f"{name} happened after {other_name}; usually before it"
            expected, observed = f"{name} before {other_name}", f"{other_name} before {name}"
        evidence.insert(0, Evidence(label="order", expected=expected, observed=observed))
        return _Step("out-of-order", name, _event(origin, i), text, score, evidence,
                     key=f"{name}|{other_name}")  # fmt: skip

    def _residual(
        self, trace: list[int], origin: list[int], broken: list[_Violation]
    ) -> list[_Step]:
        """Rules still broken after the edits, one step per rule kind and activity."""
        steps: dict[tuple[str, str], _Step] = {}
        for v in broken:
            score, evidence = self.score(v), [self._evidence(v)]
            if v.template == "existence":
                name = self._name(v.a)
                step = _Step("skipped", name, None, f"{name} never happened", score, evidence,
                             key=name)  # fmt: skip
            elif v.template == "responded-existence":
                name = self._name(v.b)
                step = _Step("skipped", name, None, f"{name} never happened, though "
                             f"{self._name(v.a)} did", score, evidence, key=name)  # fmt: skip
            elif v.template == "max-count":
                name = self._name(v.a)
                text = f"{name} done {v.b} times; usually {_at_most(self.max_count[v.a])}"
                step = _Step("repeated", name, _event(origin, v.position), text, score, evidence,
                             key=name)  # fmt: skip
            elif v.template in ("precedence", "response"):
                first, then = self._name(v.a), self._name(v.b)
                subject = v.b if v.template == "precedence" else v.a
                text = (f"{then} happened without {first} before it" if v.template == "precedence"
                        else f"{first} was not followed by {then}")  # fmt: skip
                step = _Step("out-of-order", self._name(subject), _event(origin, v.position), text,
                             score, evidence, key=f"{first}|{then}")  # fmt: skip
            else:
                p, q = v.a, v.b
                ends = [i for i in (v.position - 1, v.position) if 0 <= i < len(trace)]
                if any(origin[i] == _NO_EVENT for i in ends):
                    continue  # a transition to or from a step the repair added
                at = v.position if q != self.n + 1 else v.position - 1
                name = self._name(trace[at]) if 0 <= at < len(trace) else self._name(q)
                text = (
                    f"{self._name(q)} directly after {self._name(p)} is unusual"
                    if p != self.n and q != self.n + 1
                    else f"{name} is an unusual {'first' if p == self.n else 'last'} step"
                )
                position = _event(origin, at)
                step = _Step("inserted", name, position, text, score, evidence,
                             key=f"{name}@{position}", per_event=True)  # fmt: skip
            known = steps.get((step.kind, step.key))
            if known is None or known.score < step.score:
                steps[(step.kind, step.key)] = step
        return list(steps.values())

    def _count_support(self, x: int, usual: int) -> float | None:
        if x >= self.n:
            return None
        tail = self.tails[x]
        return float(1.0 - tail[usual + 1]) if usual + 1 < len(tail) else 1.0

    def _evidence(self, v: _Violation) -> Evidence:
        """The rule a violation breaks, with its support."""
        a = self._name(v.a)
        if v.template == "transition":
            b = self._name(v.b)
            usual = self._usual_next(v.a)
            return Evidence(label=f"share of {a} followed directly by {b}", expected=usual,
                            observed=b, rule=f"directly-follows({a}, {b})",
                            value=round(float(self.probability[v.a, v.b]), 6))  # fmt: skip
        if v.template == "existence":
            return Evidence(
                label=f"cases with {a}",
                expected="present",
                observed="absent",
                rule=f"existence({a})",
                value=self.support.get(("existence", v.a, -1)),
            )
        if v.template == "max-count":
            usual = self.max_count[v.a]
            return Evidence(label=f"times {a} occurs", expected=usual, observed=v.b,
                            rule=f"max-count({a}, {usual})",
                            value=self._count_support(v.a, usual))  # fmt: skip
        b = self._name(v.b)
        value = self.support.get((v.template, v.a, v.b))
        if v.template == "responded-existence":
            return Evidence(label=f"cases with {a} that also have {b}", expected=f"{b} present",
                            observed=f"{b} absent", rule=f"responded-existence({a}, {b})",
                            value=value)  # fmt: skip
        return Evidence(label=f"cases where {a} comes before {b}", expected=f"{a} before {b}",
                        observed=f"{b} without {a} before it" if v.template == "precedence"
                        else f"{a} without {b} after it",
                        rule=f"{v.template}({a}, {b})", value=value)  # fmt: skip

    def _usual_next(self, p: int) -> str:
        row = self.probability[p, : self.n + 2]
        return self._name(int(np.argmax(row))) if row.any() else END


class _Violation(NamedTuple):
    """One broken rule: a rare transition (a → b at position), or a constraint."""

    template: str
    a: int
    b: int
    position: int

    @property
    def rule(self) -> tuple[str, int, int]:
        return (self.template, self.a, self.b)


@dataclass(frozen=True)
class _Edit:
    """Delete ``size`` events at ``index``, insert ``activity`` at ``index``, or move one ``to``."""

    kind: str
    index: int
    activity: int = -1
    to: int = -1
    size: int = 1

    def apply(self, trace: list[Any], filler: Any = None) -> list[Any]:
        """The trace after the edit; an inserted step is ``filler`` (default: the activity)."""
        if self.kind == "delete":
            return trace[: self.index] + trace[self.index + self.size :]
        if self.kind == "insert":
            value = self.activity if filler is None else filler
            return [*trace[: self.index], value, *trace[self.index :]]
        rest = trace[: self.index] + trace[self.index + 1 :]
        return [*rest[: self.to], trace[self.index], *rest[self.to :]]


@dataclass
class _Step:
    """One departing step of a variant, ready to become a finding for each of its cases."""

    kind: str
    activity: str
    position: int | None
    explanation: str
    score: float
    evidence: list[Evidence]
    key: str = ""
    #: the key is the event (an inserted step), not the activity
    per_event: bool = False

    def finding(self, case: str, case_id: str, event_id: str | None) -> Finding:
        key = self.key if not self.per_event else f"{self.activity}@{event_id}"
        return Finding(kind=self.kind, subject=case, score=round(min(1.0, max(0.0, self.score)), 6),
                       explanation=self.explanation, case_id=str(case_id),
                       event_id=None if event_id is None else str(event_id),
                       activity=self.activity, key=key, evidence=tuple(self.evidence))  # fmt: skip


def _event(origin: list[int], index: int) -> int | None:
    """The original position of the event at ``index``; None for an added step."""
    if 0 <= index < len(origin) and origin[index] != _NO_EVENT:
        return origin[index]
    return None


def _resolved(before: list[_Violation], after: list[_Violation]) -> list[_Violation]:
    """The violations an edit removed (rules compared without positions)."""
    left = Counter(v.rule for v in after)
    gone = []
    for v in before:
        if left[v.rule]:
            left[v.rule] -= 1
        else:
            gone.append(v)
    return gone


def _fitting_places(padded: list[int], x: int, rare: list[list[bool]]) -> list[tuple[int, _Edit]]:
    """Insertions of ``x`` where it adds the fewest rare transitions, with that change."""
    gains = [rare[padded[j]][x] + rare[x][padded[j + 1]] - rare[padded[j]][padded[j + 1]]
             for j in range(len(padded) - 1)]  # fmt: skip
    least = min(gains)
    return [(gain, _Edit("insert", j, activity=x)) for j, gain in enumerate(gains) if gain == least]


def _later_masks(trace: Sequence[int], n: int) -> list[int]:
    """For each position, the activities at it or after it, as a bit mask."""
    masks = [0] * (len(trace) + 1)
    mask = 0
    for i in range(len(trace) - 1, -1, -1):
        x = trace[i]
        if x < n:
            mask |= 1 << x
        masks[i] = mask
    return masks


def _bits(mask: int) -> Iterator[int]:
    while mask:
        low = mask & -mask
        yield low.bit_length() - 1
        mask ^= low


def _between(name: str, before: str | None, after: str | None) -> tuple[str, str]:
    if before and after:
        return name, f"between {before} and {after}"
    if after:
        return name, f"before {after}"
    if before:
        return name, f"after {before}"
    return name, "in an empty case"


def _at_most(count: int) -> str:
    return "once" if count == 1 else f"at most {count} times"


def _share(value: float) -> str:
    return f"{value:.1%}" if value >= 0.001 else "almost none"
