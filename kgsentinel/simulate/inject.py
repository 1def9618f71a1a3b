"""Labelled anomalies injected into any event table: synthetic logs or real ones.

``inject(table, share=0.1)`` picks a share of the cases (seeded) and gives each
one anomaly, the kinds taking turns, and returns the new table and its
labels. What counts as normal is read from the table itself, so an injected
anomaly is one the log really does not show elsewhere:

=============  =========================================================================
kind           what changes
=============  =========================================================================
``skip``       a step that nearly every case has (``min_support``) and has once is removed,
               where its neighbours never directly follow each other (nor is the next
               one ever first); not the last step, whose absence looks unfinished
``insert``     an activity of the log where it never directly follows or precedes its
               neighbours (and that the case does not have), or a foreign activity
``rework``     a step, or a short run of steps, that cases do once is done again right
               after (where its last step is never directly followed by its first);
               the later events move by the time the repeat takes
``early``      an event moves 1-3 places earlier, before steps that always come first
``late``       an event moves 1-3 places later, after steps that always come after it
``attribute``  a resource that never does the activity (from another activity's pool), or
               a numeric attribute far above the activity's range
``duration``   a step takes far too long: its gap from the previous event becomes at
               least ``factor`` times the activity's usual gap, twice its slowest 1% and
               half as long again as its longest gap in the log (so no other case of the
               log shows a wait that long) and an hour longer than it was, times a
               random 1-2; the later events move with it
=============  =========================================================================

Moved and inserted events get a time strictly between their new neighbours, so
sorting by time keeps the order the label describes. The labels say, per
case: the kind, the position (0-based, in the case's new order) and activity
of the event concerned, and a detail in words.

Example:
    >>> from kgsentinel.simulate import generate
    >>> log = generate("npi", cases=200, seed=1)
    >>> changed, labels = inject(log, share=0.1, seed=2)
    >>> len(labels), sorted(labels.kind.unique())[:3]
    (20, ['attribute', 'duration', 'early'])
    >>> untouched = ~log.case_id.isin(labels.case_id)
    >>> log[untouched].reset_index(drop=True).equals(
    ...     changed[~changed.case_id.isin(labels.case_id)].reset_index(drop=True))
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["FOREIGN_ACTIVITIES", "KINDS", "inject"]

#: the kinds of anomaly, in the order they take turns
KINDS = ("skip", "insert", "rework", "early", "late", "attribute", "duration")
#: names an inserted foreign activity takes (one the log does not have)
FOREIGN_ACTIVITIES = ("Manual override", "Data correction", "Unplanned review",
                      "Exception handling")  # fmt: skip

_RARE = 0.01  # a directly-follows pair this rare (or rarer) is "never" seen
_ORDERED = 0.95  # a before b in this share of cases (or more): b never comes first
_ONCE = 0.02  # an activity repeated in this share of its cases (or fewer) is done once
_TRIES = 30
_BEYOND_LONGEST = 1.5  # an injected wait is this many times the activity's longest one
_LEAST_DELAY = 3_600_000_000_000  # and adds an hour at least (ns): minutes late is no anomaly
_PROFILE_CASES = 20_000  # ordering statistics are read from at most this many cases


def inject(
    table: pd.DataFrame,
    share: float = 0.1,
    kinds: Sequence[str] = KINDS,
    seed: int = 0,
    *,
    case: str = "case_id",
    activity: str = "activity",
    timestamp: str = "timestamp",
    resource: str | None = "resource",
    factor: float = 10.0,
    min_support: float = 0.8,
    per_case: int = 1,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Give a ``share`` of the cases ``per_case`` anomalies each, of ``kinds`` in turn; seeded.

    Returns the new table (sorted by case, then time; the timestamp column as
    UTC times) and the labels: one row per anomaly with ``case_id``, ``kind``,
    ``position``, ``activity`` and ``detail``. A case where a kind cannot be
    injected is left for another kind; the count of changed cases is
    ``round(share * cases)`` unless the log has too few suitable cases. With
    ``per_case`` > 1 the anomalies of a case are injected one after the other,
    and each label's position is in the case as it was right after its own.
    """
    unknown = [kind for kind in kinds if kind not in KINDS]
    if unknown or not kinds:
        raise ValueError(f"unknown anomaly kind {unknown[0] if unknown else None!r}; "
                         f"use some of {', '.join(KINDS)}")  # fmt: skip
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"share is a fraction of the cases, in [0, 1], not {share}")
    missing = [c for c in (case, activity, timestamp) if c not in table.columns]
    if missing:
        raise ValueError(f"the table has no column {missing[0]!r} "
                         f"(columns: {', '.join(map(str, table.columns))})")  # fmt: skip
    if per_case < 1:
        raise ValueError(f"per_case is how many anomalies a chosen case gets (1 or more), "
                         f"not {per_case}")  # fmt: skip
    if resource is not None and resource not in table.columns:
        resource = None
    log = _sorted(table, case, timestamp)
    rng = np.random.default_rng(seed)
    chosen: set[str] | None = None
    labels = []
    for _ in range(per_case):
        ctx = _Context.read(log, case, activity, timestamp, resource, factor, min_support)
        edits = _choose(ctx, list(kinds), share, rng, only=chosen)
        log = _assemble(ctx, edits)
        labels.append(_labels(edits))
        if chosen is None:
            chosen = {str(edit.case_id) for edit in edits}
    return log, pd.concat(labels, ignore_index=True) if per_case > 1 else labels[0]


def _sorted(table: pd.DataFrame, case: str, timestamp: str) -> pd.DataFrame:
    log = table.copy()
    log[timestamp] = pd.to_datetime(log[timestamp], utc=True, format="ISO8601")
    order = np.lexsort((log[timestamp].to_numpy(), log[case].astype(str).to_numpy()))
    return log.iloc[order].reset_index(drop=True)


# --- what is normal in the log -------------------------------------------------------------


@dataclass
class _Context:
    """The sorted log as arrays, and what is normal in it."""

    log: pd.DataFrame
    case: str
    activity: str
    timestamp: str
    resource: str | None
    factor: float
    min_support: float
    acts: np.ndarray  # activity per row (object)
    times: np.ndarray  # int64 ns per row
    bounds: np.ndarray  # row where each case starts, and the end
    support: dict[str, float]  # share of cases with the activity
    repeated: dict[str, float]  # share of the activity's cases where it occurs twice or more
    follows: dict[tuple[str, str], float]  # a -> b count over a's outgoing count
    starts: dict[str, float]  # share of cases that start with the activity
    precedes: dict[tuple[str, str], float]  # share of cases with both where a comes first
    gap_median: dict[str, float]  # ns from the previous event
    gap_q99: dict[str, float]
    gap_max: dict[str, float]
    performers: dict[str, set[str]]  # activity -> resources seen doing it
    numeric: dict[str, dict[str, tuple[float, float, bool]]]  # column -> activity -> range
    case_level: list[str]  # columns that are constant within every case

    @classmethod
    def read(cls, log: pd.DataFrame, case: str, activity: str, timestamp: str,
             resource: str | None, factor: float, min_support: float) -> _Context:  # fmt: skip
        acts = log[activity].astype(str).to_numpy(dtype=object)
        times = log[timestamp].dt.as_unit("ns").array.asi8.copy()
        keys = log[case].astype(str).to_numpy()
        starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]) if len(keys) else np.zeros(0)
        bounds = np.r_[starts, len(log)].astype(np.int64)
        case_no = np.repeat(np.arange(len(starts)), np.diff(bounds))
        frame = pd.DataFrame({"c": case_no, "a": acts})
        per_case = frame.groupby(["c", "a"], sort=False).size()
        cases_with = per_case.groupby(level="a").size()
        twice = (per_case > 1).groupby(level="a").sum()
        n_cases = max(1, len(starts))
        gaps = np.diff(times, prepend=times[:1]).astype(float)
        first = np.zeros(len(log), dtype=bool)
        first[starts] = True
        gaps[first] = np.nan
        by_gap = pd.Series(gaps).groupby(acts)
        ctx = cls(
            log=log, case=case, activity=activity, timestamp=timestamp, resource=resource,
            factor=factor, min_support=min_support, acts=acts, times=times, bounds=bounds,
            support=(cases_with / n_cases).to_dict(),
            repeated=(twice / cases_with).to_dict(),
            follows=_follows(acts, first),
            starts=(pd.Series(acts[starts]).value_counts() / n_cases).to_dict(),
            precedes=_precedes(case_no, acts, n_cases),
            gap_median=by_gap.median().dropna().to_dict(),
            gap_q99=by_gap.quantile(0.99).dropna().to_dict(),
            gap_max=by_gap.max().dropna().to_dict(),
            performers=_performers(log, acts, resource),
            numeric=_numeric_ranges(log, acts, {case, activity, timestamp, resource}),
            case_level=_case_level(log, case_no, {case, activity, timestamp, resource}),
        )  # fmt: skip
        return ctx

    def case_rows(self, index: int) -> tuple[int, int]:
        return int(self.bounds[index]), int(self.bounds[index + 1])


def _follows(acts: np.ndarray, first: np.ndarray) -> dict[tuple[str, str], float]:
    pairs = pd.DataFrame({"a": acts[:-1], "b": acts[1:]})[~first[1:]]
    counts = pairs.groupby(["a", "b"]).size()
    outgoing = counts.groupby(level="a").sum()
    share = counts / outgoing.reindex(counts.index.get_level_values("a")).to_numpy()
    return share.to_dict()


def _precedes(case_no: np.ndarray, acts: np.ndarray, n_cases: int) -> dict[tuple[str, str], float]:
    """For each pair a, b: the share of cases having both where a first occurs before b does."""
    keep = case_no < _PROFILE_CASES
    frame = pd.DataFrame({"c": case_no[keep], "a": acts[keep]})
    frame["pos"] = frame.groupby("c").cumcount()
    first = frame.drop_duplicates(["c", "a"]).pivot(index="c", columns="a", values="pos")
    names = list(first.columns)
    pos = first.to_numpy(dtype=float)
    present = ~np.isnan(pos)
    out: dict[tuple[str, str], float] = {}
    for i, a in enumerate(names):
        both = present[:, [i]] & present
        before = (pos[:, [i]] < pos) & both
        n_both = both.sum(axis=0)
        n_before = before.sum(axis=0)
        for j, b in enumerate(names):
            if i != j and n_both[j]:
                out[a, b] = n_before[j] / n_both[j]
    return out


def _performers(log: pd.DataFrame, acts: np.ndarray, resource: str | None) -> dict[str, set[str]]:
    if resource is None:
        return {}
    pairs = pd.DataFrame({"a": acts, "r": log[resource]}).dropna().drop_duplicates()
    return {a: set(group["r"].astype(str)) for a, group in pairs.groupby("a")}


def _numeric_ranges(
    log: pd.DataFrame, acts: np.ndarray, core: set[str | None]
) -> dict[str, dict[str, tuple[float, float, bool]]]:
    """Per numeric column and activity: its 1% and 99% quantiles, and whether all are whole."""
    out: dict[str, dict[str, tuple[float, float, bool]]] = {}
    for column in log.columns:
        if column in core or _is_boolean(log[column]):
            continue
        values = pd.to_numeric(log[column], errors="coerce")
        if values.notna().sum() < log[column].notna().sum() or values.notna().sum() == 0:
            continue
        frame = pd.DataFrame({"a": acts, "v": values.astype(float)}).dropna()
        ranges = {}
        for name, group in frame.groupby("a")["v"]:
            if len(group) >= 10:
                low, high = group.quantile([0.01, 0.99])
                ranges[name] = (float(low), float(high), bool((group % 1 == 0).all()))
        if ranges:
            out[str(column)] = ranges
    return out


def _is_boolean(values: pd.Series) -> bool:
    if values.dtype == bool or isinstance(values.dtype, pd.BooleanDtype):
        return True
    present = values.dropna()
    return values.dtype == object and len(present) > 0 and present.map(type).eq(bool).all()


def _case_level(log: pd.DataFrame, case_no: np.ndarray, core: set[str | None]) -> list[str]:
    """Attribute columns whose value (or its absence) never changes within a case."""
    out = []
    sample = case_no < _PROFILE_CASES
    for column in log.columns:
        if column in core:
            continue
        values = log[column][sample].astype(object).where(log[column][sample].notna(), "\x00")
        if (pd.Series(values).groupby(case_no[sample]).nunique() <= 1).all():
            out.append(str(column))
    return out


# --- edits ---------------------------------------------------------------------------------


@dataclass
class _Row:
    """One output row: a source row, its time and the values that change."""

    source: int
    time: int
    changes: dict[str, Any]


@dataclass
class _Edit:
    case_index: int
    case_id: Any
    kind: str
    position: int
    activity: str
    detail: str
    rows: list[_Row]


def _choose(ctx: _Context, kinds: list[str], share: float, rng: np.random.Generator,
            only: set[str] | None = None) -> list[_Edit]:  # fmt: skip
    """One anomaly each for a share of the cases (or for each case of ``only``)."""
    n_cases = len(ctx.bounds) - 1
    order = rng.permutation(n_cases)
    if only is not None:
        ids = ctx.log[ctx.case].astype(str).to_numpy()[ctx.bounds[:-1]]
        order = order[np.isin(ids[order], list(only))]
    wanted = round(share * n_cases) if only is None else len(order)
    turns = [kinds[i % len(kinds)] for i in range(wanted)]
    rng.shuffle(turns)
    used: set[int] = set()
    cursor = dict.fromkeys(kinds, 0)
    exhausted: set[str] = set()
    edits: list[_Edit] = []
    for kind in turns:
        for kind_now in [kind, *(k for k in kinds if k != kind)]:
            if kind_now in exhausted:
                continue
            edit = _next_edit(ctx, kind_now, order, used, cursor, rng)
            if edit is not None:
                edits.append(edit)
                used.add(edit.case_index)
                break
            exhausted.add(kind_now)
    return sorted(edits, key=lambda e: e.case_index)


def _next_edit(ctx: _Context, kind: str, order: np.ndarray, used: set[int],
               cursor: dict[str, int], rng: np.random.Generator) -> _Edit | None:  # fmt: skip
    """The next case (in the seeded order) where ``kind`` can be injected, edited."""
    while cursor[kind] < len(order):
        index = int(order[cursor[kind]])
        cursor[kind] += 1
        if index in used:
            continue
        edit = _INJECTORS[kind](ctx, index, rng)
        if edit is not None:
            return edit
    return None


def _base(ctx: _Context, index: int) -> tuple[list[_Row], list[str]]:
    start, end = ctx.case_rows(index)
    rows = [_Row(r, int(ctx.times[r]), {}) for r in range(start, end)]
    return rows, [str(a) for a in ctx.acts[start:end]]


def _edit(ctx: _Context, index: int, kind: str, position: int, activity: str, detail: str,
          rows: list[_Row]) -> _Edit:  # fmt: skip
    start, _ = ctx.case_rows(index)
    case_id = ctx.log[ctx.case].iloc[start]
    return _Edit(index, case_id, kind, position, activity, detail, rows)


def _between(low: int, high: int, rng: np.random.Generator) -> int | None:
    """A time strictly between two times, in whole seconds (or microseconds), or None."""
    value = low + int((high - low) * rng.uniform(0.25, 0.75))
    for step in (1_000_000_000, 1_000):
        rounded = value - value % step
        if low < rounded < high:
            return rounded
    return None


def _skip(ctx: _Context, index: int, rng: np.random.Generator) -> _Edit | None:
    rows, acts = _base(ctx, index)
    if len(rows) < 2:
        return None
    candidates = [i for i, a in enumerate(acts[:-1])
                  if ctx.support.get(a, 0.0) >= ctx.min_support and acts.count(a) == 1
                  and _rare_junction(ctx, acts[i - 1] if i else None, acts[i + 1])]  # fmt: skip
    if not candidates:
        return None
    i = int(rng.choice(candidates))
    gone = acts[i]
    rows.pop(i)
    where = f"between {acts[i - 1]} and {acts[i + 1]}" if i else f"before {acts[1]}"
    return _edit(ctx, index, "skip", i, gone, f"{gone} skipped {where}", rows)


def _rare_junction(ctx: _Context, prev: str | None, nxt: str) -> bool:
    """Whether ``nxt`` right after ``prev`` (or first, for None) is rare in the log."""
    if prev is None:
        return ctx.starts.get(nxt, 0.0) <= _RARE
    return ctx.follows.get((prev, nxt), 0.0) <= _RARE


def _insert(ctx: _Context, index: int, rng: np.random.Generator) -> _Edit | None:
    rows, acts = _base(ctx, index)
    if len(rows) < 2:
        return None
    present = set(acts)
    common = [a for a, s in ctx.support.items() if s >= 0.05 and a not in present]
    choice = None
    if common and rng.random() < 0.5:
        for _ in range(_TRIES):
            name = str(rng.choice(common))
            j = int(rng.integers(1, len(acts) + 1))
            prev, nxt = acts[j - 1], acts[j] if j < len(acts) else None
            if ctx.follows.get((prev, name), 0.0) > _RARE:
                continue
            if nxt is not None and ctx.follows.get((name, nxt), 0.0) > _RARE:
                continue
            choice = (name, j, False)
            break
    if choice is None:
        foreign = [a for a in FOREIGN_ACTIVITIES if a not in ctx.support]
        choice = (str(rng.choice(foreign)), int(rng.integers(1, len(acts) + 1)), True)
    name, j, is_foreign = choice
    if j < len(acts):
        time = _between(rows[j - 1].time, rows[j].time, rng)
    else:
        usual = max(ctx.gap_median.get(name, 3.6e12), 6e10)
        time = rows[-1].time + int(usual * rng.uniform(0.5, 1))
    if time is None:
        return None
    rows.insert(j, _new_row(ctx, rows[j - 1].source, name, time, is_foreign, rng))
    where = f"after {acts[j - 1]}" + (f", before {acts[j]}" if j < len(acts) else "")
    what = "foreign activity" if is_foreign else "activity out of place"
    return _edit(ctx, index, "insert", j, name, f"{name} inserted {where} ({what})", rows)


def _new_row(ctx: _Context, neighbour: int, name: str, time: int, foreign: bool,
             rng: np.random.Generator) -> _Row:  # fmt: skip
    """An event of ``name``: its resource and values from a real one, the case's from the case."""
    changes: dict[str, Any] = {ctx.activity: name}
    if foreign:
        source = neighbour
        for column in ctx.log.columns:
            if column not in (ctx.case, ctx.activity, ctx.timestamp, *ctx.case_level):
                changes[str(column)] = None
        if ctx.resource is not None:
            pool = sorted(set().union(*ctx.performers.values())) if ctx.performers else []
            changes[ctx.resource] = str(rng.choice(pool)) if pool else None
    else:
        donors = np.flatnonzero(ctx.acts == name)
        source = int(rng.choice(donors))
        changes[ctx.case] = ctx.log[ctx.case].iloc[neighbour]
        for column in ctx.case_level:
            changes[column] = ctx.log[column].iloc[neighbour]
    return _Row(source, time, changes)


def _rework(ctx: _Context, index: int, rng: np.random.Generator) -> _Edit | None:
    rows, acts = _base(ctx, index)
    for _ in range(_TRIES):
        length = int(rng.choice([1, 2, 3], p=[0.5, 0.3, 0.2]))
        if length > len(acts):
            continue
        i = int(rng.integers(0, len(acts) - length + 1))
        segment = acts[i : i + length]
        once = all(ctx.repeated.get(a, 1.0) <= _ONCE and acts.count(a) == 1 for a in segment)
        if once and _rare_junction(ctx, segment[-1], segment[0]):
            break
    else:
        return None
    last = rows[i + length - 1].time
    clock = last
    copies = []
    for k in range(i, i + length):
        gap = rows[k].time - rows[k - 1].time if k > 0 else 0
        gap = max(gap, int(ctx.gap_median.get(acts[k], 0.0)), 60_000_000_000)
        clock += gap
        copies.append(_Row(rows[k].source, clock, {}))
    delta = clock - last
    for row in rows[i + length :]:
        row.time += delta
    rows[i + length : i + length] = copies
    steps = " → ".join(segment)
    return _edit(ctx, index, "rework", i + length, segment[0], f"{steps} repeated", rows)


def _early(ctx: _Context, index: int, rng: np.random.Generator) -> _Edit | None:
    rows, acts = _base(ctx, index)
    for _ in range(_TRIES):
        if len(acts) < 3:
            return None
        i = int(rng.integers(2, len(acts)))
        j = i - int(rng.integers(1, 4))
        if j < 1:
            continue
        moved = acts[i]
        jumped = acts[j:i]
        if all(b != moved and ctx.precedes.get((b, moved), 0.0) >= _ORDERED for b in jumped):
            time = _between(rows[j - 1].time, rows[j].time, rng)
            if time is not None:
                row = rows.pop(i)
                row.time = time
                rows.insert(j, row)
                detail = f"{moved} moved before {', '.join(jumped)}"
                return _edit(ctx, index, "early", j, moved, detail, rows)
    return None


def _late(ctx: _Context, index: int, rng: np.random.Generator) -> _Edit | None:
    rows, acts = _base(ctx, index)
    for _ in range(_TRIES):
        if len(acts) < 2:
            return None
        i = int(rng.integers(0, len(acts) - 1))
        j = i + int(rng.integers(1, 4))
        if j > len(acts) - 1:
            continue
        moved = acts[i]
        jumped = acts[i + 1 : j + 1]
        if not all(b != moved and ctx.precedes.get((moved, b), 0.0) >= _ORDERED for b in jumped):
            continue
        if j + 1 < len(rows):
            time = _between(rows[j].time, rows[j + 1].time, rng)
        else:
            usual = max(ctx.gap_median.get(moved, 0.0), 6e10)
            time = rows[j].time + int(usual * rng.uniform(0.2, 1))
        if time is not None:
            row = rows.pop(i)
            row.time = time
            rows.insert(j, row)
            detail = f"{moved} moved after {', '.join(jumped)}"
            return _edit(ctx, index, "late", j, moved, detail, rows)
    return None


def _attribute(ctx: _Context, index: int, rng: np.random.Generator) -> _Edit | None:
    rows, acts = _base(ctx, index)
    options: list[tuple[int, str]] = []
    everyone = set().union(*ctx.performers.values()) if ctx.performers else set()
    for i, (row, a) in enumerate(zip(rows, acts, strict=True)):
        resource = ctx.resource
        if resource is not None and pd.notna(ctx.log[resource].iloc[row.source]):
            options += [(i, resource)] if everyone - ctx.performers.get(a, set()) else []
        for column, ranges in ctx.numeric.items():
            if a in ranges and pd.notna(ctx.log[column].iloc[row.source]):
                options.append((i, column))
    if not options:
        return None
    kinds = sorted({column for _, column in options})
    column = str(rng.choice(kinds))  # resource or value, then the event
    i, _ = options[int(rng.choice([k for k, o in enumerate(options) if o[1] == column]))]
    a = acts[i]
    if column == ctx.resource:
        strangers = sorted(everyone - ctx.performers.get(a, set()))
        value: Any = str(rng.choice(strangers))
        old = ctx.log[column].iloc[rows[i].source]
        detail = f"{a} done by {value} (never does it; was {old})"
    else:
        low, high, whole = ctx.numeric[column][a]
        span = high - low if high > low else max(abs(high), 1.0)
        value = high + span * rng.uniform(3.0, 6.0)
        value = float(round(value)) if whole else round(value, 2)
        detail = f"{a} {column} {value:g} (usual {low:g} to {high:g})"
    rows[i].changes[column] = value
    return _edit(ctx, index, "attribute", i, a, detail, rows)


def _duration(ctx: _Context, index: int, rng: np.random.Generator) -> _Edit | None:
    rows, acts = _base(ctx, index)
    candidates = [i for i in range(1, len(acts)) if ctx.gap_median.get(acts[i], 0.0) > 0]
    if not candidates:
        return None
    i = int(rng.choice(candidates))
    a = acts[i]
    gap = rows[i].time - rows[i - 1].time
    usual = ctx.gap_median[a]
    least = max(ctx.factor * max(gap, usual), 2 * ctx.gap_q99.get(a, usual),
                _BEYOND_LONGEST * ctx.gap_max.get(a, usual), gap + _LEAST_DELAY)  # fmt: skip
    slow = int(least * rng.uniform(1.0, 2.0))  # no two injected waits alike
    delta = slow - gap
    for row in rows[i:]:
        row.time += delta
    hours = 3.6e12
    detail = f"{a} took {slow / hours:.1f} h after {acts[i - 1]} (usual {usual / hours:.1f} h)"
    return _edit(ctx, index, "duration", i, a, detail, rows)


_INJECTORS = {
    "skip": _skip,
    "insert": _insert,
    "rework": _rework,
    "early": _early,
    "late": _late,
    "attribute": _attribute,
    "duration": _duration,
}


# --- the new table -------------------------------------------------------------------------


def _assemble(ctx: _Context, edits: list[_Edit]) -> pd.DataFrame:
    pieces: list[np.ndarray] = []
    times: list[np.ndarray] = []
    changes: dict[str, tuple[list[int], list[Any]]] = {}
    done = 0
    size = 0
    for edit in edits:
        start, end = ctx.case_rows(edit.case_index)
        pieces.append(np.arange(done, start))
        times.append(ctx.times[done:start])
        size += start - done
        pieces.append(np.array([row.source for row in edit.rows], dtype=np.int64))
        times.append(np.array([row.time for row in edit.rows], dtype=np.int64))
        for offset, row in enumerate(edit.rows):
            for column, value in row.changes.items():
                where, values = changes.setdefault(column, ([], []))
                where.append(size + offset)
                values.append(value)
        size += len(edit.rows)
        done = end
    pieces.append(np.arange(done, len(ctx.log)))
    times.append(ctx.times[done:])
    out = ctx.log.take(np.concatenate(pieces)).reset_index(drop=True)
    unit = ctx.log[ctx.timestamp].dt.unit
    step = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000}.get(unit, 1)
    ns = np.concatenate(times)
    stamps = pd.to_datetime(ns - ns % step, unit="ns", utc=True)
    out[ctx.timestamp] = pd.Series(stamps, index=out.index).dt.as_unit(unit)
    for column, (where, values) in changes.items():
        _assign(out, column, where, values)
    return out


def _assign(frame: pd.DataFrame, column: str, where: list[int], values: list[Any]) -> None:
    """Set values in a column, widening its type when they do not fit it."""
    series = frame[column]
    kind = series.dtype.kind
    numbers = all(v is None or isinstance(v, int | float | np.number) for v in values)
    if kind in "iub" or isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype(float) if numbers and kind in "iu" else series.astype(object)
    elif (kind == "f" and not numbers) or (
        isinstance(series.dtype, pd.StringDtype)
        and not all(v is None or isinstance(v, str) for v in values)
    ):
        series = series.astype(object)
    series = series.copy()
    series.iloc[where] = [np.nan if v is None and series.dtype.kind == "f" else v for v in values]
    frame[column] = series


def _labels(edits: list[_Edit]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "case_id": [e.case_id for e in edits],
            "kind": pd.Series([e.kind for e in edits], dtype="str"),
            "position": pd.Series([e.position for e in edits], dtype="int64"),
            "activity": pd.Series([e.activity for e in edits], dtype="str"),
            "detail": pd.Series([e.detail for e in edits], dtype="str"),
        }
    )
