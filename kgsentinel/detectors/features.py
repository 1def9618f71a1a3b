"""Case features: an event log frame as one row of numbers per case, for models.

:class:`CaseFeatures` is a scikit-learn transformer, so it drops into a
``Pipeline`` in front of any estimator. ``fit`` learns the vocabulary (the
activities and numeric attributes of the log); ``transform`` gives a
DataFrame indexed by case IRI, with these columns (:meth:`CaseFeatures.get_feature_names_out`):

=========================== =========================================================
feature                     meaning
=========================== =========================================================
``events``                  number of events
``duration_hours``          hours from the first event to the last
``activities``              distinct activities
``resources``               distinct resources
``unknown_activities``      events of activities not seen in ``fit``
``count:<activity>``        events of the activity
``hours_to:<activity>``     hours from the case's start to the activity's first event
                            (NaN when the case does not have it)
``mean:<attribute>``        mean of a numeric attribute over the case's events (NaN: none)
``max:<attribute>``         its maximum
=========================== =========================================================

:func:`describe_feature` says a feature's value in words, for explanations.

Example:
    >>> import pandas as pd
    >>> from kgsentinel.detectors.events import as_event_log
    >>> log = as_event_log(pd.DataFrame({
    ...     "case_id": ["1", "1", "2"], "activity": ["Brief", "Launch", "Brief"],
    ...     "timestamp": ["2026-01-01T00:00Z", "2026-01-01T12:00Z", "2026-01-02T00:00Z"],
    ...     "resource": ["ann", "bob", "ann"], "cost": [10.0, 30.0, 5.0]}))
    >>> features = CaseFeatures().fit(log).transform(log)
    >>> features.loc["urn:kgsentinel:log:case/1", ["events", "duration_hours", "max:cost"]].tolist()
    [2.0, 12.0, 30.0]
    >>> describe_feature("count:Launch", 3, 1)
    '3 × Launch (usually 1)'
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from kgsentinel.detectors.attributes import format_number
from kgsentinel.detectors.events import ATTRIBUTE_PREFIX

__all__ = ["CaseFeatures", "describe_feature"]

_HOUR_NS = 3_600_000_000_000


class CaseFeatures(TransformerMixin, BaseEstimator):
    """One row of numbers per case from an event log frame (see the module's table).

    ``counts`` and ``first_times`` add the per-activity columns (for at most
    ``max_activities`` activities, the most frequent); ``attributes`` adds the
    mean and maximum of each numeric attribute.
    """

    def __init__(
        self,
        *,
        counts: bool = True,
        first_times: bool = True,
        attributes: bool = True,
        max_activities: int = 100,
    ) -> None:
        self.counts = counts
        self.first_times = first_times
        self.attributes = attributes
        self.max_activities = max_activities

    def fit(self, X: pd.DataFrame, y: object = None) -> CaseFeatures:
        """Learn the activities and numeric attributes of the event log ``X``."""
        frequent = X["activity"].astype(str).value_counts(sort=True)
        self.activities_ = sorted(frequent.index[: self.max_activities])
        numeric = [
            c
            for c in X.columns
            if str(c).startswith(ATTRIBUTE_PREFIX) and pd.api.types.is_numeric_dtype(X[c])
        ]
        self.attributes_ = numeric if self.attributes else []
        names = ["events", "duration_hours", "activities", "resources", "unknown_activities"]
        if self.counts:
            names += [f"count:{a}" for a in self.activities_]
        if self.first_times:
            names += [f"hours_to:{a}" for a in self.activities_]
        for column in self.attributes_:
            name = column.removeprefix(ATTRIBUTE_PREFIX)
            names += [f"mean:{name}", f"max:{name}"]
        self.feature_names_out_ = np.asarray(names, dtype=object)
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        """The features of each case of ``X``, indexed by case IRI (sorted)."""
        check_is_fitted(self)
        codes, cases = pd.factorize(X["case"], sort=True)
        n = len(cases)
        hours = _hours(X["timestamp"])
        start = _per_case(hours, codes, n, "min")
        known = pd.Index(self.activities_).get_indexer(X["activity"].astype(str))
        columns: dict[str, np.ndarray] = {
            "events": np.bincount(codes, minlength=n).astype(float),
            "duration_hours": _per_case(hours, codes, n, "max") - start,
            "activities": _distinct(codes, X["activity"], n),
            "resources": _distinct(codes, X.get("resource"), n),
            "unknown_activities": np.bincount(codes[known < 0], minlength=n).astype(float),
        }
        width = len(self.activities_)
        seen = known >= 0
        if self.counts:
            flat = np.bincount(codes[seen] * width + known[seen], minlength=n * width)
            columns |= _split(flat.reshape(n, width).astype(float), "count", self.activities_)
        if self.first_times:
            first = np.full(n * width, np.nan)
            since = (hours - start[codes])[seen]
            np.fmin.at(first, codes[seen] * width + known[seen], since)
            columns |= _split(first.reshape(n, width), "hours_to", self.activities_)
        for column in self.attributes_:
            name = column.removeprefix(ATTRIBUTE_PREFIX)
            values = (
                pd.to_numeric(X[column], errors="coerce").to_numpy(dtype=float)
                if column in X
                else np.full(len(X), np.nan)
            )
            columns[f"mean:{name}"] = _per_case(values, codes, n, "mean")
            columns[f"max:{name}"] = _per_case(values, codes, n, "max")
        frame = pd.DataFrame(columns, index=pd.Index(np.asarray(cases, dtype=object), name="case"))
        return frame[list(self.feature_names_out_)]

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        """The names of the columns ``transform`` returns."""
        check_is_fitted(self)
        return self.feature_names_out_.copy()


def describe_feature(name: str, value: float, usual: float) -> str:
    """A feature's value in words, with its usual value: ``'14 events (usually 9)'``.

    Example:
        >>> describe_feature("hours_to:Filing", 412.0, 90.5)
        'Filing after 412 h (usually 90.5 h)'
        >>> describe_feature("max:cost", 52000, 1200)
        'max cost 52,000 (usually 1,200)'
    """
    shown, typical = _shown(value), _shown(usual)
    kind, _, subject = name.partition(":")
    if not subject:
        words = {
            "events": "events",
            "activities": "distinct activities",
            "resources": "distinct resources",
            "unknown_activities": "events of unknown activities",
        }
        if name == "duration_hours":
            return f"{shown} h long (usually {typical} h)"
        return f"{shown} {words.get(name, name)} (usually {typical})"
    if kind == "count":
        return f"{shown} × {subject} (usually {typical})"
    if kind == "hours_to":
        if not np.isfinite(value):
            return f"no {subject} (usually after {typical} h)"
        return f"{subject} after {shown} h (usually {typical} h)"
    return f"{kind} {subject} {shown} (usually {typical})"


def _shown(value: float) -> str:
    return format_number(float(value)) if value is not None and np.isfinite(value) else "none"


def _hours(timestamps: pd.Series) -> np.ndarray:
    """Hours since the epoch, as floats."""
    nanos = pd.to_datetime(timestamps, utc=True).dt.as_unit("ns").array.asi8
    return nanos / _HOUR_NS


def _per_case(values: np.ndarray, codes: np.ndarray, n: int, how: str) -> np.ndarray:
    grouped = pd.Series(values).groupby(codes, sort=True)
    return getattr(grouped, how)().reindex(range(n)).to_numpy(dtype=float)


def _distinct(codes: np.ndarray, values: pd.Series | None, n: int) -> np.ndarray:
    """Distinct non-missing values per case."""
    if values is None:
        return np.zeros(n)
    value_codes, uniques = pd.factorize(values)
    keep = value_codes >= 0
    width = max(len(uniques), 1)
    pairs = pd.unique(codes[keep].astype(np.int64) * width + value_codes[keep])
    return np.bincount(pairs // width, minlength=n).astype(float)


def _split(matrix: np.ndarray, prefix: str, names: list[str]) -> dict[str, np.ndarray]:
    return {f"{prefix}:{name}": matrix[:, i] for i, name in enumerate(names)}
