"""Who did a step and with which values: resources and attribute values unusual for an activity.

:class:`ResourceDetector` learns the pool of resources of each activity and
flags events done by a resource that (almost) never does that activity, where the
activity's pool is well established: the resources that do it often do nearly all
of it, so those that seldom do it hold only a small **tail** of its cases
(:func:`tail_shares`, :func:`tail_allowance`).
:class:`ValueDetector` learns, per activity, the usual range of each numeric
attribute and the usual categories of each categorical one, and flags events
whose value is far from them.

Categories (and the links of :mod:`~kgsentinel.detectors.structure`) are learned as
**pools** (:func:`learn_pools`): the values seen for a group, sorted by share, split
at the largest drop in share when that drop is steep (at least ``min_gap`` times)
and the values below it are few (at most ``1 - coverage`` of the group). Values
below the split are rare; with no such drop, a value is rare when it is ``min_gap``
times rarer than the rarest usual one (so a value never seen is rare). Groups with
too little history are not judged.

Example:
    >>> import pandas as pd
    >>> rows = [(f"c{i}", "Filing", f"R{i % 3}") for i in range(60)] + [("c99", "Filing", "R9")]
    >>> table = pd.DataFrame(rows, columns=["case_id", "activity", "resource"])
    >>> table["timestamp"] = pd.Timestamp("2026-01-01")
    >>> from kgsentinel.detectors.events import as_event_log
    >>> log = as_event_log(table)
    >>> [f.explanation for f in ResourceDetector().fit(log).findings(log)]
    ['Filing by R9, who did it in 1 of 61 cases; usually R0, R1, R2']
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from kgsentinel.detectors.base import Evidence, Finding
from kgsentinel.detectors.events import ATTRIBUTE_PREFIX

__all__ = [
    "ResourceDetector",
    "ValueDetector",
    "beyond_score",
    "format_number",
    "join_known",
    "learn_pools",
    "rarity_score",
    "robust_scale",
    "tail_allowance",
    "tail_shares",
    "z_fence",
]

#: scale MAD (and mean absolute deviation) to a standard deviation under normality
_MAD_TO_SD = 1.4826
_MEAN_AD_TO_SD = 1.2533
#: a robust z below this is never unusual, whatever the data's tails
_Z_FLOOR = 4.0
#: how many IQRs of |z| above its third quartile the automatic threshold lies
_FENCE_IQRS = 3.5
#: and, with enough values, at least this many times the |z| of this quantile
_TAIL_FACTOR, _TAIL_QUANTILE, _TAIL_VALUES = 1.6, 0.98, 300
#: each side of the median has its own fence where both have at least this many values
_SIDE_VALUES = 1000
_USUAL_SHOWN = 3
#: numbers with at least this many distinct values for an activity are judged as numbers
_MIN_DISTINCT = 5


# -- shared learning and scoring ------------------------------------------------------


def format_number(value: float) -> str:
    """A number as a person reads it: thousands separated, three significant digits.

    Example:
        >>> [format_number(x) for x in (52000.0, 1234.5, 12.345, 3.0, 0.00123)]
        ['52,000', '1,234', '12.3', '3', '0.00123']
    """
    if not math.isfinite(value):
        return str(value)
    if abs(value) >= 1000 or value == int(value):
        return f"{value:,.0f}"
    return f"{value:,.3g}"


def rarity_score(share: float | np.ndarray, threshold: float | np.ndarray) -> np.ndarray:
    """A finding's score for a share at or below its rarity threshold.

    0.5 at the threshold, 1.0 for a value never seen.

    Example:
        >>> rarity_score(np.array([0.02, 0.01, 0.0]), 0.02).tolist()
        [0.5, 0.75, 1.0]
    """
    ratio = np.asarray(share, dtype=float) / np.maximum(np.asarray(threshold, dtype=float), 1e-300)
    return np.clip(1.0 - 0.5 * ratio, 0.5, 1.0)


def beyond_score(strength: float | np.ndarray, threshold: float | np.ndarray) -> np.ndarray:
    """A finding's score for a strength (a robust z, a ratio) at or above its threshold.

    0.5 at the threshold, 0.75 at twice it, toward 1.0 beyond.

    Example:
        >>> beyond_score(np.array([3.5, 7.0, np.inf]), 3.5).tolist()
        [0.5, 0.75, 1.0]
    """
    strength = np.maximum(np.asarray(strength, dtype=float), 1e-300)
    return np.clip(1.0 - 0.5 * np.asarray(threshold, dtype=float) / strength, 0.5, 1.0)


def robust_scale(deviations: pd.Series, groups: Sequence[pd.Series] | None = None) -> pd.Series:
    """A robust standard deviation from absolute deviations to the median, per group.

    1.4826 × the median absolute deviation; where half the values or more equal the
    median (MAD 0), 1.2533 × the mean absolute deviation instead. Returns one value
    per row (``groups`` given) or a one-row series.

    Example:
        >>> deviations = pd.Series([0.0, 0.0, 0.0, 1.0])
        >>> round(float(robust_scale(deviations).iloc[0]), 4)
        0.3133
    """
    deviations = deviations.abs()
    if groups is None:
        mad, mean = deviations.median(), deviations.mean()
        return pd.Series([_MAD_TO_SD * mad if mad > 0 else _MEAN_AD_TO_SD * mean])
    grouped = deviations.groupby(list(groups), sort=False, observed=True)
    mad, mean = grouped.transform("median"), grouped.transform("mean")
    return (_MAD_TO_SD * mad).where(mad > 0, _MEAN_AD_TO_SD * mean)


def z_fence(z: pd.Series, groups: Sequence[pd.Series]) -> pd.Series:
    """The automatic threshold on robust |z| per group (and side), from its own spread.

    The larger of Q3 + 3.5 IQR of |z| and, in groups of at least 300 values,
    1.6 × the 98th percentile of |z|, and at least 4. The quantiles are those of the
    values that differ from the median (all of them, for continuous data; the spread
    part, where a default value dominates). Where both sides of the median have at least
    1,000 of them (enough that a few extremes do not set a side's fence), each side has
    its own fence: real measurements are often skewed, and a long tail on one side says
    nothing about the other. For normal data this is about 4.1 (five values in 100,000
    beyond it); tails heavier than normal raise the second term, so the normal variety
    of real measurements is not flagged. One value per row.

    Example:
        >>> z = pd.Series([0.0] * 70 + [i / 10 for i in range(1, 31)])
        >>> float(z_fence(z, [pd.Series(["g"] * 100)]).iloc[-1])
        7.35
        >>> z = pd.Series([i / 400 for i in range(1, 1201)] + [-0.5] * 1200)
        >>> fence = z_fence(z, [pd.Series(["g"] * 2400)])
        >>> round(float(fence.iloc[0]), 3), float(fence.iloc[-1])  # above the median, below
        (7.496, 4.0)
    """
    size = z.abs()
    keys = [key.to_numpy() for key in groups]
    sign = pd.Series(np.sign(z.to_numpy()), index=z.index)
    per_side = sign.groupby([*keys, sign.to_numpy()], sort=False).transform("size")
    fewest = per_side.where(sign != 0).groupby(keys, sort=False).transform("min")
    keys.append(np.where(fewest >= _SIDE_VALUES, sign.to_numpy(), 0.0))
    differing = size.where(size > 0)
    grouped = differing.groupby(keys, sort=False, observed=True)
    q1, q3 = grouped.transform("quantile", 0.25), grouped.transform("quantile", 0.75)
    fence = (q3 + _FENCE_IQRS * (q3 - q1)).fillna(0.0)
    tail = _TAIL_FACTOR * grouped.transform("quantile", _TAIL_QUANTILE)
    enough = grouped.transform("count") >= _TAIL_VALUES
    fence = np.maximum(fence, tail.where(enough, 0.0).fillna(0.0))
    return np.maximum(fence, _Z_FLOOR)


def join_known(frame: pd.DataFrame, other: pd.DataFrame, on: str | Sequence[str]) -> pd.DataFrame:
    """The rows of ``frame`` whose ``on`` keys ``other`` has, joined with ``other``.

    An inner join that keeps ``frame``'s index even when nothing matches (pandas gives
    an empty inner join the index of ``other``, whose level names then clash with the
    key columns in a later join).

    Example:
        >>> left = pd.DataFrame({"g": ["a", "b"], "x": [1, 2]})
        >>> right = pd.DataFrame({"y": [10]}, index=pd.Index(["a"], name="g"))
        >>> join_known(left, right, "g").values.tolist()
        [['a', 1, 10]]
        >>> join_known(left.iloc[:0], right, "g").index.names
        FrozenList([None])
    """
    on = [on] if isinstance(on, str) else list(on)
    keys = pd.MultiIndex.from_frame(frame[on]) if len(on) > 1 else pd.Index(frame[on[0]])
    return frame[keys.isin(other.index)].join(other, on=on)


def learn_pools(
    counts: pd.DataFrame,
    by: Sequence[str],
    value: str,
    *,
    min_support: int,
    min_gap: float,
    coverage: float,
    max_share: float | None = None,
    max_pool: int | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The usual values of each group, and where rarity starts.

    ``counts`` has the ``by`` columns, ``value`` and ``count``. Returns the values
    with their ``share`` of the group, and one row per group (indexed by ``by``)
    with ``total``, ``threshold`` (a share at or below it is rare),
    ``established`` (enough history and a clear pool of usual values) and
    ``usual`` (the most frequent values, text).

    Example:
        >>> counts = pd.DataFrame({"g": ["a"] * 4, "v": ["x", "y", "z", "w"],
        ...                        "count": [50, 40, 45, 1]})
        >>> values, groups = learn_pools(counts, ["g"], "v", min_support=30, min_gap=5,
        ...                              coverage=0.95)
        >>> bool(groups.loc["a", "established"]), groups.loc["a", "usual"]
        (True, 'x, z, y')
        >>> bool(values.set_index("v").loc["w", "share"] <= groups.loc["a", "threshold"])
        True
    """
    by = list(by)
    frame = counts[[*by, value, "count"]].copy()
    grouped = frame.groupby(by, sort=False)["count"]
    frame["total"] = grouped.transform("sum")
    frame["share"] = frame["count"] / frame["total"]
    frame = frame.sort_values(
        [*by, "share", value], ascending=[*([True] * len(by)), False, True], kind="stable"
    ).reset_index(drop=True)
    within = frame.groupby(by, sort=False)
    frame["next"] = within["share"].shift(-1)
    frame["below"] = 1.0 - within["share"].cumsum()
    frame["gap"] = (frame["share"] / frame["next"]).fillna(0.0)
    split = frame.loc[within["gap"].idxmax()].set_index(by)
    groups = pd.DataFrame({"total": split["total"]})
    steep = split["gap"] >= min_gap
    few_below = split["below"] <= 1.0 - coverage + 1e-12
    smallest = within["share"].min()
    groups["threshold"] = np.where(
        steep & few_below, np.sqrt(split["share"] * split["next"]), smallest / min_gap
    )
    usual_share_ok = ~steep | few_below
    if max_share is not None:
        groups["threshold"] = max_share
        above = frame[frame["share"] > max_share].groupby(by, sort=False)["share"].sum()
        usual_share_ok = above.reindex(groups.index, fill_value=0.0) >= coverage
    frame = frame.join(groups["threshold"], on=by)
    usual = frame[frame["share"] > frame["threshold"]]
    pool = usual.groupby(by, sort=False)
    groups["usual"] = pool[value].agg(lambda v: ", ".join(map(str, v.iloc[:_USUAL_SHOWN])))
    groups["pool"] = pool.size().reindex(groups.index, fill_value=0)
    groups["established"] = (groups["total"] >= min_support) & usual_share_ok
    if max_pool is not None:
        groups["established"] &= groups["pool"] <= max_pool
    return frame[[*by, value, "count", "share"]], groups


def tail_shares(counts: pd.DataFrame, by: Sequence[str]) -> pd.Series:
    """Per row: the share of its group's ``count`` held by rows whose count is at most its own.

    The rarest values of a group and the values as rare as they are: how much of the
    group a value this rare stands for.

    Example:
        >>> counts = pd.DataFrame({"g": ["a"] * 4, "count": [90, 6, 2, 2]})
        >>> tail_shares(counts, ["g"]).tolist()
        [1.0, 0.1, 0.04, 0.04]
    """
    by = list(by)
    totals = counts.groupby(by, sort=False)["count"].transform("sum")
    held = counts.groupby([*by, "count"], sort=False)["count"].sum().rename("held")
    held = held.reset_index().sort_values([*by, "count"], kind="stable")
    held["held"] = held.groupby(by, sort=False)["held"].cumsum()
    key = [*by, "count"]
    joined = counts[key].join(held.set_index(key)["held"], on=key)
    return joined["held"] / totals


def tail_allowance(tail: float, total: float | pd.Series) -> float | pd.Series:
    """The share the rarest values of a group may hold: ``tail``, give or take sampling error.

    ``tail`` plus one standard error of a share that small, ``sqrt(tail / total)``: in a
    small group a stray or two more than ``tail`` allows still leave its pool well
    established; in a large one, the allowance is ``tail`` itself.

    Example:
        >>> [round(float(tail_allowance(0.01, total)), 4) for total in (400, 40_000)]
        [0.015, 0.0105]
    """
    return tail + np.sqrt(tail / np.maximum(total, 1))


# -- resources ------------------------------------------------------------------------


class ResourceDetector:
    """Events done by a stray: a resource that (almost) never does the activity, in a set pool.

    Learns in how many cases each resource did each activity. A resource is **rare** for an
    activity when the resources that did it at most as often hold, together, at most
    ``tail`` of the activity's cases, give or take sampling error (see
    :func:`tail_allowance`), and it did at most ``tail`` of them itself (or one case).
    Where the activity's pool is well established, the resources that do it often do
    nearly all of it and only strays are that rare; where many resources each do a
    little of it, nobody is.

    A rare resource's event is flagged when it is a **lone step**: the resource did no
    other step of the case, or (doing the activity in no other case) only steps that are
    not rare for it. A rare resource doing several steps of one case that are all unusual
    for it is handling that case (a newcomer, a stand-in), which is not a stray step. And
    a resource that did the activity along with other steps of the case in two or more of
    its cases, and in at least ``worked_share`` of them, does it as part of its work:
    variety, not a stray. Activities done in fewer than ``min_cases`` cases are not
    judged, and events without a resource are ignored.
    """

    kind = "unusual-resource"

    def __init__(
        self, *, min_cases: int = 30, tail: float = 0.01, worked_share: float = 0.1
    ) -> None:
        self.min_cases = min_cases
        self.tail = tail
        self.worked_share = worked_share

    def fit(self, log: pd.DataFrame) -> ResourceDetector:
        """Learn each activity's pool of resources, and how each pair is seen in its cases."""
        events = _with_resource(log)
        done = events.drop_duplicates(["case", "activity", "resource"])
        counts = done.groupby(["activity", "resource"], sort=False).size().rename("count")
        counts = counts.reset_index().astype({"count": int})
        counts["tail"] = tail_shares(counts, ["activity"])
        cases = counts.groupby("activity", sort=False)["count"].sum().astype(float)
        threshold = tail_allowance(self.tail, cases)
        of_activity = counts["activity"].map(cases).astype(float)
        stray = counts["count"] <= np.maximum(1.0, self.tail * of_activity)
        counts["rare"] = (counts["tail"] <= counts["activity"].map(threshold).astype(float)) & stray
        self.activities_ = pd.DataFrame({
            "cases": cases,
            "usual": _most_frequent(counts[~counts["rare"]], "activity", "resource"),
            "threshold": threshold,
            "established": cases >= self.min_cases,
        })  # fmt: skip
        self.resources_ = pd.DataFrame({
            "cases": done.groupby("resource", sort=False)["case"].nunique(),
            "usual": _most_frequent(counts[~counts["rare"]], "resource", "activity"),
        })  # fmt: skip
        self.pairs_ = counts.set_index(["activity", "resource"])
        judged = self._judged(events).drop_duplicates(["case", "activity", "resource"])
        worked = (~judged["lone"]).groupby([judged["activity"], judged["resource"]], sort=False)
        self.pairs_["worked"] = worked.sum().reindex(self.pairs_.index).fillna(0).astype(int)
        return self

    def findings(self, log: pd.DataFrame) -> list[Finding]:
        """One finding per lone step of a rare resource (see the class)."""
        judged = self._judged(_with_resource(log))
        judged = judged.join(self.pairs_["worked"], on=["activity", "resource"])
        variety = judged["worked"].fillna(0) >= np.maximum(2, self.worked_share * judged["count"])
        flagged = judged[judged["rare"] & judged["lone"] & ~variety]
        flagged = flagged.join(self.resources_.add_prefix("own_"), on="resource")
        flagged = flagged.assign(
            score=rarity_score(flagged["tail"].to_numpy(), flagged["threshold"].to_numpy())
        )
        return [self._finding(row) for row in flagged.to_dict("records")]

    def _judged(self, events: pd.DataFrame) -> pd.DataFrame:
        """Events of judged activities: their pair's count and tail share, rare, and lone."""
        established = self.activities_[self.activities_["established"]]
        events = events.join(self.pairs_[["count", "tail", "rare"]], on=["activity", "resource"])
        events = events.join(established[["threshold", "usual", "cases"]], on="activity")
        known = events["activity"].isin(established.index)
        events = events.assign(  # a pair never seen before is as rare as can be
            count=events["count"].fillna(0).astype(int),
            tail=events["tail"].fillna(0.0),
            rare=events["rare"].astype("boolean").fillna(True).astype(bool) & known,
        )
        keys = [events["case"], events["resource"]]
        steps = events.groupby(keys, sort=False)["activity"].transform("nunique")
        unusual = events["rare"] & ~events.duplicated(["case", "activity", "resource"])
        unusual = unusual.groupby(keys, sort=False).transform("sum")
        events["lone"] = (unusual <= 1) & ((steps == 1) | (events["count"] <= 1))
        return events[known]

    def _finding(self, row: dict) -> Finding:
        activity, resource = row["activity"], row["resource"]
        count, cases = int(row["count"]), int(row["cases"])
        evidence = [
            Evidence(label=f"resource for {activity}", expected=row["usual"], observed=resource),
            Evidence(
                label=f"share of {activity} cases done by resources that did it in at most "
                f"{count:,} cases (rare at or below)",
                expected=round(float(row["threshold"]), 6),
                observed=round(float(row["tail"]), 6),
            ),
            Evidence(label=f"cases of {activity} done by {resource}, of {cases:,}", observed=count),
        ]
        if isinstance(row["own_usual"], str):
            usually = Evidence(label=f"what {resource} usually does", observed=row["own_usual"])
            evidence.append(usually)
        return Finding(
            kind=self.kind,
            subject=row["event"],
            score=float(row["score"]),
            explanation=f"{activity} by {resource}, who did it in {count:,} of {cases:,} cases; "
            f"usually {row['usual']}",
            case_id=row["case_id"],
            event_id=row["event_id"],
            activity=activity,
            key=resource,
            evidence=evidence,
        )


def _most_frequent(counts: pd.DataFrame, group: str, value: str) -> pd.Series:
    """Per group, its most frequent values (by ``count``, then name), as text."""
    ordered = counts.sort_values([group, "count", value], ascending=[True, False, True],
                                 kind="stable")  # fmt: skip
    return ordered.groupby(group, sort=False)[value].agg(
        lambda names: ", ".join(map(str, names.iloc[:_USUAL_SHOWN]))
    )


def _with_resource(log: pd.DataFrame) -> pd.DataFrame:
    columns = ["case", "case_id", "event", "event_id", "activity", "resource"]
    if "resource" not in log.columns:
        return pd.DataFrame(columns=columns)
    done = log.loc[log["resource"].notna(), columns]
    return done.astype({"resource": str, "activity": str})


# -- attribute values -----------------------------------------------------------------

_GROUP = ["attribute", "activity"]


class ValueDetector:
    """Event attribute values unusual for the activity.

    **Numeric** attributes (``attr:*`` columns of numbers with at least five distinct
    values for the activity): a robust z of the value (of its logarithm, when that is
    more symmetric) from the median and MAD of the activity's values, flagged at or
    beyond ``z_threshold`` (automatic, from the spread of the activity's own values on
    that side of the median: see :func:`z_fence`). Integer columns of mostly distinct
    values are identifiers and skipped.

    **Categorical** attributes (text, and numbers with at most ``max_categories``
    distinct values for the activity, which are judged as numbers too): a value whose
    share of the activity's events is rare (see :func:`learn_pools`), and at most
    ``rare_share`` of them (one in 500), or half that for a value seen more than once
    (a category that recurs is variety, not a mistake), while the activity's values
    form a pool of at most ``max_categories`` frequent categories. ``max_share``
    replaces these cuts by one share. Columns of mostly distinct values are
    identifiers, and yes/no flags are conditions rather than values: both are
    skipped.

    An attribute copied on every event of a case is reported once per case.
    Activities with fewer than ``min_events`` values of an attribute are not judged.
    """

    kind = "unusual-value"

    def __init__(
        self,
        *,
        min_events: int = 30,
        z_threshold: float | None = None,
        min_gap: float = 5.0,
        coverage: float = 0.95,
        max_share: float | None = None,
        max_categories: int = 20,
        max_unique_share: float = 0.5,
        rare_share: float = 0.002,
    ) -> None:
        self.min_events = min_events
        self.z_threshold = z_threshold
        self.min_gap = min_gap
        self.coverage = coverage
        self.max_share = max_share
        self.rare_share = rare_share
        self.max_categories = max_categories
        self.max_unique_share = max_unique_share

    def fit(self, log: pd.DataFrame) -> ValueDetector:
        """Learn the usual values of each attribute for each activity."""
        self.numeric_columns_, self.text_columns_ = self._attribute_columns(log)
        numbers = _long(log, self.numeric_columns_)
        grouped = numbers.groupby(_GROUP, sort=False)["value"]
        distinct = grouped.nunique()
        measured = distinct[(distinct >= _MIN_DISTINCT) & (grouped.size() >= self.min_events)]
        self.numeric_ = self._fit_numeric(_in_groups(numbers, measured.index))
        self.discrete_ = distinct[distinct <= self.max_categories].index
        texts = pd.concat(
            [
                _with_text(_in_groups(numbers, self.discrete_)),
                _long(log, self.text_columns_).assign(text=lambda f: f["value"]),
            ],
            ignore_index=True,
        )
        counts = texts.groupby([*_GROUP, "text"], sort=False).size().rename("count").reset_index()
        categories, self.pools_ = learn_pools(
            counts,
            _GROUP,
            "text",
            min_support=self.min_events,
            min_gap=self.min_gap,
            coverage=self.coverage,
            max_share=self.max_share,
            max_pool=self.max_categories,
        )
        if self.max_share is None:
            # seen once: at most ``rare_share`` of the events; seen more: half that share
            once = 1.0 / self.pools_["total"]
            cut = np.minimum(self.rare_share, np.maximum(once, self.rare_share / 2))
            self.pools_["threshold"] = np.minimum(self.pools_["threshold"], cut)
        self.categories_ = categories.set_index([*_GROUP, "text"])
        return self

    def findings(self, log: pd.DataFrame) -> list[Finding]:
        """Findings for events with an unusual value, at most one per case and attribute."""
        numbers = _long(log, [c for c in self.numeric_columns_ if c in log.columns])
        texts = pd.concat(
            [
                _with_text(_in_groups(numbers, self.discrete_)),
                _long(log, [c for c in self.text_columns_ if c in log.columns]).assign(
                    text=lambda f: f["value"]
                ),
            ],
            ignore_index=True,
        )
        parts = [self._numeric_flags(numbers), self._category_flags(texts)]
        parts = [part for part in parts if not part.empty]
        if not parts:
            return []
        flagged = pd.concat(parts, ignore_index=True)
        events = log[["case", "case_id", "event", "event_id"]].reset_index(drop=True)
        flagged = flagged.join(events, on="row")
        flagged = flagged.sort_values(["case", "row"], kind="stable")
        per_case = flagged.groupby(["case", "attribute", "text"], sort=False)["row"]
        flagged = flagged.assign(events=per_case.transform("size"))
        flagged = flagged.drop_duplicates(["case", "attribute", "text"])
        return [self._finding(row) for row in flagged.to_dict("records")]

    def _attribute_columns(self, log: pd.DataFrame) -> tuple[list[str], list[str]]:
        numeric, text = [], []
        for column in (c for c in log.columns if str(c).startswith(ATTRIBUTE_PREFIX)):
            values = log[column].dropna()
            if values.empty:
                continue
            if _is_flag(values):
                continue
            mostly_distinct = values.nunique() > self.max_unique_share * len(values)
            if pd.api.types.is_numeric_dtype(values):
                if not (mostly_distinct and bool((values == np.round(values)).all())):
                    numeric.append(column)
            elif not mostly_distinct:
                text.append(column)
        return numeric, text

    def _fit_numeric(self, numbers: pd.DataFrame) -> pd.DataFrame:
        """Per (attribute, activity): whether in logs, centre, scale and the z thresholds.

        ``above`` and ``below`` are the thresholds on either side of the centre (a side
        with no values of its own takes the other's).
        """
        columns = ["low", "high", "log", "centre", "scale", "above", "below"]
        if numbers.empty:
            index = pd.MultiIndex.from_arrays([[], []], names=_GROUP)
            return pd.DataFrame(columns=columns, index=index)
        grouped = numbers.groupby(_GROUP, sort=False)["value"]
        stats = pd.DataFrame({"low": grouped.quantile(0.05), "high": grouped.quantile(0.95)})
        stats["log"] = _log_is_more_symmetric(numbers)
        numbers = numbers.join(stats["log"], on=_GROUP)
        measured = _measure(numbers)
        keys = [numbers["attribute"], numbers["activity"]]
        centre = measured.groupby(keys, sort=False).transform("median")
        scale = robust_scale(measured - centre, keys)
        z = ((measured - centre) / scale.where(scale > 0)).fillna(0.0)
        fence = z_fence(z, keys)
        per_row = numbers[_GROUP].assign(
            centre=centre, scale=scale, above=fence.where(z > 0), below=fence.where(z < 0)
        )
        sides = per_row.groupby(_GROUP, sort=False).agg(
            centre=("centre", "first"), scale=("scale", "first"),
            above=("above", "max"), below=("below", "max"),
        )  # fmt: skip
        sides["above"] = sides["above"].fillna(sides["below"]).fillna(_Z_FLOOR)
        sides["below"] = sides["below"].fillna(sides["above"])
        if self.z_threshold is not None:
            sides[["above", "below"]] = self.z_threshold
        stats = stats.join(sides)
        return stats.loc[stats["scale"] > 0, columns]

    def _numeric_flags(self, numbers: pd.DataFrame) -> pd.DataFrame:
        if numbers.empty or self.numeric_.empty:
            return pd.DataFrame()
        numbers = join_known(numbers, self.numeric_, _GROUP)
        z = (_measure(numbers) - numbers["centre"]) / numbers["scale"]
        threshold = numbers["above"].where(z >= 0, numbers["below"])
        numbers = numbers.assign(z=z, threshold=threshold)
        flagged = numbers[z.abs() >= threshold]
        return flagged.assign(
            score=beyond_score(flagged["z"].abs().to_numpy(), flagged["threshold"].to_numpy()),
            text=flagged["value"].map(format_number),
            numeric=True,
        )

    def _category_flags(self, texts: pd.DataFrame) -> pd.DataFrame:
        pools = self.pools_[self.pools_["established"]]
        if texts.empty or pools.empty:
            return pd.DataFrame()
        texts = join_known(texts, pools[["threshold", "usual", "total"]], _GROUP)
        texts = texts.join(self.categories_, on=[*_GROUP, "text"])
        texts = texts.assign(
            count=texts["count"].fillna(0).astype(int), share=texts["share"].fillna(0.0)
        )
        flagged = texts[texts["share"] <= texts["threshold"]]
        return flagged.assign(
            score=rarity_score(flagged["share"].to_numpy(), flagged["threshold"].to_numpy()),
            numeric=False,
        )

    def _finding(self, row: dict) -> Finding:
        attribute, activity, text = row["attribute"], row["activity"], row["text"]
        name = attribute.removeprefix(ATTRIBUTE_PREFIX)
        if row["numeric"]:
            low, high = format_number(row["low"]), format_number(row["high"])
            explanation = f"{name} {text} for {activity}, usually {low} to {high}"
            measure = f"log {name}" if row["log"] else name
            evidence = [
                Evidence(
                    label=f"{name} for {activity} (usual: 5th to 95th percentile)",
                    expected=f"{low} to {high}",
                    observed=float(row["value"]),
                ),
                Evidence(
                    label=f"robust z of {measure} (unusual at or beyond)",
                    expected=round(float(row["threshold"]), 3),
                    observed=round(float(row["z"]), 3),
                ),
            ]
        else:
            count, total = int(row["count"]), int(row["total"])
            explanation = (
                f"{name} {text!r} for {activity}, seen in {count:,} of {total:,} "
                f"events; usually {row['usual']}"
            )
            evidence = [
                Evidence(label=f"{name} for {activity}", expected=row["usual"], observed=text),
                Evidence(
                    label=f"share of {activity} events with this {name} (rare at or below)",
                    expected=float(row["threshold"]),
                    observed=float(row["share"]),
                ),
            ]
        if row["events"] > 1:
            evidence.append(
                Evidence(label=f"events of the case with this {name}", observed=int(row["events"]))
            )
        return Finding(
            kind=self.kind,
            subject=row["event"],
            score=float(row["score"]),
            explanation=explanation,
            case_id=row["case_id"],
            event_id=row["event_id"],
            activity=activity,
            key=attribute,
            evidence=evidence,
        )


def _is_flag(values: pd.Series) -> bool:
    """Whether a column only says yes or no (0/1, true/false)."""
    distinct = {str(value).strip().lower() for value in values.unique()[:3]}
    return len(distinct) <= 2 and distinct <= {"0", "1", "0.0", "1.0", "true", "false"}


def _long(log: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Attribute values one a row: ``row`` (position in ``log``), attribute, activity, value."""
    parts = []
    activities = log["activity"].to_numpy()
    for column in columns:
        values = log[column].to_numpy()
        rows = np.flatnonzero(pd.notna(values))
        frame = {"row": rows, "attribute": column, "activity": activities[rows]}
        parts.append(pd.DataFrame({**frame, "value": values[rows]}))
    if not parts:
        return pd.DataFrame(
            {
                "row": pd.Series(dtype=int),
                "attribute": pd.Series(dtype=object),
                "activity": pd.Series(dtype=object),
                "value": pd.Series(dtype=object),
            }
        )
    return pd.concat(parts, ignore_index=True)


def _in_groups(values: pd.DataFrame, groups: pd.Index) -> pd.DataFrame:
    """The rows whose (attribute, activity) is one of ``groups``."""
    if values.empty or len(groups) == 0:
        return values.iloc[:0]
    keys = pd.MultiIndex.from_frame(values[_GROUP])
    return values[keys.isin(groups)]


def _with_text(numbers: pd.DataFrame) -> pd.DataFrame:
    """Numbers with their exact text (``2``, ``2.5``), to count as categories."""
    codes, distinct = pd.factorize(numbers["value"].astype(float))
    texts = np.array([f"{value:.12g}" for value in distinct] or [""], dtype=object)
    return numbers.assign(text=texts[codes] if len(codes) else pd.Series(dtype=object))


def _log_is_more_symmetric(numbers: pd.DataFrame) -> pd.Series:
    """Per group: all values positive, and their logs about as symmetric or more.

    Symmetry is the octile skewness; logs win near ties (amounts and durations
    are usually better measured in ratios).
    """
    grouped = numbers.groupby(_GROUP, sort=False)["value"]
    positive = grouped.min() > 0
    logs = np.log(numbers["value"].astype(float).where(numbers["value"] > 0))
    by_log = logs.groupby([numbers["attribute"], numbers["activity"]], sort=False)
    return positive & (_octile_skew(by_log).abs() < _octile_skew(grouped).abs() + 0.1)


def _octile_skew(grouped: pd.core.groupby.SeriesGroupBy) -> pd.Series:
    low, middle, high = (grouped.quantile(q) for q in (0.125, 0.5, 0.875))
    spread = (high - low).where(high > low)
    return ((high + low - 2 * middle) / spread).fillna(0.0)


def _measure(numbers: pd.DataFrame) -> pd.Series:
    """The value, or its logarithm where the group is measured in logs."""
    values = numbers["value"].astype(float)
    logs = np.log(values.where(values > 0))
    return logs.where(numbers["log"].astype(bool), values)
