"""Who did a step and with which values: resources and attribute values unusual for an activity.

:class:`ResourceDetector` learns the pool of resources of each activity and
flags events done by a resource that rarely or never does that activity.
:class:`ValueDetector` learns, per activity, the usual range of each numeric
attribute and the usual categories of each categorical one, and flags events
whose value is far from them.

Both learn **pools** the same way (:func:`learn_pools`): the values seen for a
group (the resources of an activity, the categories of an attribute), sorted by
share, split at the largest drop in share when that drop is steep (at least
``min_gap`` times) and the values below it are few (at most ``1 - coverage`` of
the group). Values below the split are rare; with no such drop, a value is rare
when it is ``min_gap`` times rarer than the rarest usual one (so a value never
seen is rare). Groups with too little history are not judged.

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
    "learn_pools",
    "rarity_score",
    "robust_scale",
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
_USUAL_SHOWN = 3


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
    """The automatic threshold on robust |z| per group, from the group's own spread.

    The larger of Q3 + 3.5 IQR of |z| and, in groups of at least 300 values,
    1.6 × the 98th percentile of |z|, and at least 4. The quantiles are those of
    the values that differ from the median (all of them, for continuous data; the
    spread part, where a default value dominates). For normal data this is about
    4.1 (five values in 100,000 beyond it); tails heavier than normal raise the
    second term, so the normal variety of real measurements is not flagged. One
    value per row.

    Example:
        >>> z = pd.Series([0.0] * 70 + [i / 10 for i in range(1, 31)])
        >>> float(z_fence(z, [pd.Series(["g"] * 100)]).iloc[0])
        7.35
    """
    size = z.abs()
    keys = [key.to_numpy() for key in groups]
    differing = size.where(size > 0)
    grouped = differing.groupby(keys, sort=False, observed=True)
    q1, q3 = grouped.transform("quantile", 0.25), grouped.transform("quantile", 0.75)
    fence = (q3 + _FENCE_IQRS * (q3 - q1)).fillna(0.0)
    tail = _TAIL_FACTOR * grouped.transform("quantile", _TAIL_QUANTILE)
    enough = grouped.transform("count") >= _TAIL_VALUES
    fence = np.maximum(fence, tail.where(enough, 0.0).fillna(0.0))
    return np.maximum(fence, _Z_FLOOR)


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


# -- resources ------------------------------------------------------------------------


class ResourceDetector:
    """Events done by a resource that rarely or never does that activity.

    Learns how many cases each resource did each activity in, and judges both
    sides (see :func:`learn_pools`): an event is flagged when its resource is rare
    among the activity's resources (the activity having a clear pool of usual
    resources and at least ``min_cases`` cases) and the activity is rare among
    the resource's own work (or the resource is a stranger, with fewer than
    ``min_resource_cases`` cases, or none). So a resource that does little but
    does it regularly is not flagged, and a resource from another pool, or a
    stranger, is. ``max_share`` replaces the automatic threshold on the activity
    side by one share for every activity. Events without a resource are ignored.
    """

    kind = "unusual-resource"

    def __init__(
        self,
        *,
        min_cases: int = 30,
        min_resource_cases: int = 5,
        min_gap: float = 5.0,
        coverage: float = 0.95,
        max_share: float | None = None,
    ) -> None:
        self.min_cases = min_cases
        self.min_resource_cases = min_resource_cases
        self.min_gap = min_gap
        self.coverage = coverage
        self.max_share = max_share

    def fit(self, log: pd.DataFrame) -> ResourceDetector:
        """Learn each activity's pool of resources, and each resource's usual activities."""
        done = _with_resource(log).drop_duplicates(["case", "activity", "resource"])
        counts = done.groupby(["activity", "resource"], sort=False).size().rename("count")
        counts = counts.reset_index()
        pools = {"min_support": self.min_cases, "min_gap": self.min_gap, "coverage": self.coverage}
        pairs, self.activities_ = learn_pools(
            counts, ["activity"], "resource", **pools, max_share=self.max_share
        )
        # the resource side only asks whether the activity is one of the resource's regulars
        work, self.resources_ = learn_pools(
            counts, ["resource"], "activity", **{**pools, "coverage": 0.0}
        )
        cases = done.groupby("activity", sort=False)["case"].nunique()
        self.activities_["cases"] = cases.reindex(self.activities_.index).fillna(0).astype(int)
        self.pairs_ = pairs.set_index(["activity", "resource"])
        self.work_ = work.set_index(["resource", "activity"])["share"]
        return self

    def findings(self, log: pd.DataFrame) -> list[Finding]:
        """One finding per event whose resource is rare for its activity."""
        established = self.activities_[self.activities_["established"]]
        done = _with_resource(log)
        done = done[done["activity"].isin(established.index)]
        if done.empty:
            return []
        done = done.join(self.pairs_[["count", "share"]], on=["activity", "resource"])
        done = done.join(established[["threshold", "usual", "cases"]], on="activity")
        done = done.assign(
            count=done["count"].fillna(0).astype(int), share=done["share"].fillna(0.0)
        )
        rare = done[done["share"] <= done["threshold"]]
        rare = rare.join(self.work_.rename("work_share"), on=["resource", "activity"])
        rare = rare.join(
            self.resources_[["threshold", "total", "usual"]].add_prefix("own_"), on="resource"
        )
        stranger = rare["own_total"].fillna(0) < self.min_resource_cases
        rare_for_resource = rare["work_share"].fillna(0.0) <= rare["own_threshold"]
        rare = rare[stranger | rare_for_resource]
        rare = rare.assign(
            score=rarity_score(rare["share"].to_numpy(), rare["threshold"].to_numpy())
        )
        return [self._finding(row) for row in rare.to_dict("records")]

    def _finding(self, row: dict) -> Finding:
        activity, resource = row["activity"], row["resource"]
        count, cases = int(row["count"]), int(row["cases"])
        evidence = [
            Evidence(label=f"resource for {activity}", expected=row["usual"], observed=resource),
            Evidence(
                label=f"share of {activity} cases done by {resource} (rare at or below)",
                expected=float(row["threshold"]),
                observed=float(row["share"]),
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

    **Numeric** attributes (``attr:*`` columns of numbers, with more than
    ``max_categories`` distinct values for the activity): a robust z of the value
    (of its logarithm, when that is more symmetric) from the median and MAD of
    the activity's values, flagged at or beyond ``z_threshold`` (automatic, from
    the spread of the activity's own values: see :func:`z_fence`). Integer
    columns of mostly distinct values are identifiers and skipped.

    **Categorical** attributes (text, and numbers with few distinct values for the
    activity): a value whose share of the activity's events is rare (see
    :func:`learn_pools`), and at most ``rare_share`` of them (one in 500: a
    category that recurs is variety, not a mistake), while the activity's values
    form a pool of at most ``max_categories`` frequent categories. ``max_share``
    replaces both cuts by one share. Columns of mostly distinct values are
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
        continuous = distinct[
            (distinct > self.max_categories) & (grouped.size() >= self.min_events)
        ].index
        self.numeric_ = self._fit_numeric(_in_groups(numbers, continuous))
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
            self.pools_["threshold"] = np.minimum(self.pools_["threshold"], self.rare_share)
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
        """Per (attribute, activity): whether in logs, centre, scale and threshold of the z."""
        if numbers.empty:
            index = pd.MultiIndex.from_arrays([[], []], names=_GROUP)
            return pd.DataFrame(
                columns=["log", "centre", "scale", "threshold", "low", "high"], index=index
            )
        grouped = numbers.groupby(_GROUP, sort=False)["value"]
        stats = pd.DataFrame({"low": grouped.quantile(0.05), "high": grouped.quantile(0.95)})
        stats["log"] = _log_is_more_symmetric(numbers)
        numbers = numbers.join(stats["log"], on=_GROUP)
        measured = _measure(numbers)
        keys = [numbers["attribute"], numbers["activity"]]
        centre = measured.groupby(keys, sort=False).transform("median")
        scale = robust_scale(measured - centre, keys)
        z = ((measured - centre) / scale.where(scale > 0)).fillna(0.0)
        per_row = numbers[_GROUP].assign(centre=centre, scale=scale, fence=z_fence(z, keys))
        stats = stats.join(per_row.drop_duplicates(_GROUP).set_index(_GROUP))
        stats["threshold"] = stats["fence"] if self.z_threshold is None else self.z_threshold
        return stats[stats["scale"] > 0].drop(columns="fence")

    def _numeric_flags(self, numbers: pd.DataFrame) -> pd.DataFrame:
        if numbers.empty or self.numeric_.empty:
            return pd.DataFrame()
        numbers = numbers.join(self.numeric_, on=_GROUP, how="inner")
        z = (_measure(numbers) - numbers["centre"]) / numbers["scale"]
        flagged = numbers.assign(z=z)[z.abs() >= numbers["threshold"]]
        return flagged.assign(
            score=beyond_score(flagged["z"].abs().to_numpy(), flagged["threshold"].to_numpy()),
            text=flagged["value"].map(format_number),
            numeric=True,
        )

    def _category_flags(self, texts: pd.DataFrame) -> pd.DataFrame:
        pools = self.pools_[self.pools_["established"]]
        if texts.empty or pools.empty:
            return pd.DataFrame()
        texts = texts.join(pools[["threshold", "usual", "total"]], on=_GROUP, how="inner")
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
