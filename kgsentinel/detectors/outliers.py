"""Outlier cases: an isolation forest over case features, with the features that explain each one.

:class:`IsolationForestDetector` is a scikit-learn outlier estimator on numeric
arrays (``score_samples``, ``decision_function``, ``predict`` with anomalies at
-1), whose automatic threshold is a robust cut on its own training scores, and
which explains a row by the features where it is most extreme
(:meth:`~IsolationForestDetector.explain`). :class:`CaseOutlierDetector` puts
:class:`~kgsentinel.detectors.features.CaseFeatures` in front of it in a
``Pipeline`` and turns the outliers into findings; it is built to catch what the
specific detectors miss, so its threshold is conservative.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(size=(300, 2)), [[8.0, 8.0]]])
    >>> model = IsolationForestDetector(depth=1 / 3, random_state=0).fit(X)
    >>> np.flatnonzero(model.predict(X) == -1).tolist()
    [300]
    >>> [(c.feature, c.value) for c in model.explain(X[-1:])[0]]
    [('x0', 8.0), ('x1', 8.0)]
"""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, OutlierMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from kgsentinel.detectors.attributes import beyond_score
from kgsentinel.detectors.base import Evidence, Finding
from kgsentinel.detectors.features import CaseFeatures, describe_feature

if TYPE_CHECKING:  # pragma: no cover
    from sklearn.pipeline import Pipeline
    from sklearn.utils import Tags

__all__ = ["CaseOutlierDetector", "FeatureContribution", "IsolationForestDetector"]

#: rows each tree is grown on by default: more than the classic 256, so that a row far
#: beyond all others is isolated early in most trees, not only in those that drew it
_AUTO_SAMPLES = 1024
#: a value with at least this share of training values as extreme is in the middle half
_MIDDLE_TAIL = 0.25
#: training rows kept to measure how extreme a value is (a share resolution of 1e-4)
_REFERENCE_ROWS = 10_000


class FeatureContribution(NamedTuple):
    """How much one feature explains a row's outlier score.

    ``tail`` is the share of training rows at least as extreme as ``value`` (on its
    side of the median); ``contribution`` is the feature's share of the row's
    surprise, ``-log(tail)`` above that of a median value, over all features.
    """

    feature: str
    value: float
    usual: float
    tail: float
    contribution: float


class IsolationForestDetector(OutlierMixin, BaseEstimator):
    """An isolation forest whose automatic threshold is a cut on isolation depth.

    ``score_samples`` is the forest's score (lower is more abnormal: ``-2^(-r)``,
    ``r`` a row's mean path length relative to that of a random search),
    ``decision_function`` that score minus ``offset_`` (negative: outlier) and
    ``predict`` -1 for outliers, 1 for inliers. With ``contamination="auto"``, a
    row is an outlier when the forest isolates it in at most ``depth`` times the
    median training row's path length: only rows that stand far apart, however
    many or few there are (rows of a normal distribution seldom go below half). A
    float ``contamination`` makes that share of the training rows outliers
    instead. ``max_samples="auto"`` grows each tree on up to 1,024 rows. Missing
    values (NaN) are allowed.
    """

    def __init__(
        self,
        *,
        n_estimators: int = 100,
        max_samples: int | float | str = "auto",
        max_features: float = 1.0,
        contamination: float | str = "auto",
        depth: float = 0.5,
        random_state: int | np.random.RandomState | None = None,
    ) -> None:
        self.n_estimators = n_estimators
        self.max_samples = max_samples
        self.max_features = max_features
        self.contamination = contamination
        self.depth = depth
        self.random_state = random_state

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    def fit(self, X: object, y: object = None) -> IsolationForestDetector:
        """Grow the forest on ``X`` and place the threshold."""
        from sklearn.ensemble import IsolationForest

        contamination = self.contamination
        if not (
            contamination == "auto"
            or (isinstance(contamination, numbers.Real) and 0.0 < contamination <= 0.5)
        ):
            raise ValueError(
                f"contamination must be 'auto' or a float in (0, 0.5], not {contamination!r}"
            )
        X = validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan")
        samples = min(_AUTO_SAMPLES, len(X)) if self.max_samples == "auto" else self.max_samples
        self.forest_ = IsolationForest(
            n_estimators=self.n_estimators,
            max_samples=samples,
            max_features=self.max_features,
            random_state=self.random_state,
        ).fit(X)
        scores = self.forest_.score_samples(X)
        self.median_depth_ = float(np.median(_relative_depth(scores)))
        if contamination == "auto":
            self.offset_ = -(2.0 ** (-self.depth * self.median_depth_))
        else:
            self.offset_ = float(np.percentile(scores, 100.0 * contamination))
        rows = check_random_state(self.random_state).permutation(len(X))[:_REFERENCE_ROWS]
        self.reference_ = np.sort(X[np.sort(rows)], axis=0)  # NaN sort last
        self.present_ = (~np.isnan(self.reference_)).sum(axis=0)
        self.usual_ = np.array(
            [_median(self.reference_[:k, j]) for j, k in enumerate(self.present_)]
        )
        return self

    def score_samples(self, X: object) -> np.ndarray:
        """The forest's score of each row: lower is more abnormal."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan", reset=False)
        return self.forest_.score_samples(X)

    def decision_function(self, X: object) -> np.ndarray:
        """Score minus ``offset_``: negative for outliers."""
        return self.score_samples(X) - self.offset_

    def predict(self, X: object) -> np.ndarray:
        """-1 for outliers, 1 for inliers."""
        return np.where(self.decision_function(X) < 0, -1, 1)

    def outlier_score(self, X: object) -> np.ndarray:
        """A score in [0, 1] per row, for findings: 0.5 at the threshold, toward 1 beyond.

        How many times faster than the median row a row is isolated, against the
        same for the threshold; rows inside the threshold score below 0.5.
        """
        faster = self.median_depth_ / np.maximum(_relative_depth(self.score_samples(X)), 1e-12)
        cut = self.median_depth_ / max(_relative_depth(np.array([self.offset_]))[0], 1e-12)
        return np.where(faster >= cut, beyond_score(faster, cut), 0.5 * faster / cut)

    def tail_shares(self, X: object) -> np.ndarray:
        """Per row and feature: the share of training rows at least as extreme (NaN: 1)."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan", reset=False)
        return self._tail_shares(X)

    def _tail_shares(self, X: np.ndarray) -> np.ndarray:
        shares = np.ones(X.shape, dtype=float)
        for j, present in enumerate(self.present_):
            if present == 0:
                continue
            column, values = self.reference_[:present, j], X[:, j]
            at_most = np.searchsorted(column, values, side="right")
            at_least = present - np.searchsorted(column, values, side="left")
            tail = (np.minimum(at_most, at_least) + 1.0) / (present + 1.0)
            shares[:, j] = np.where(np.isnan(values), 1.0, np.minimum(tail, 1.0))
        return shares

    def explain(self, X: object, *, top: int = 3) -> list[list[FeatureContribution]]:
        """For each row, the ``top`` features where it is most extreme, most extreme first.

        A feature's contribution is its share of the row's surprise (``-log`` of the
        tail share, above that of a median value); features where the row lies in
        the middle half of the training values are left out.
        """
        check_is_fitted(self)
        values = validate_data(
            self, X, dtype=np.float64, ensure_all_finite="allow-nan", reset=False
        )
        tails = self._tail_shares(values)
        surprise = np.clip(-np.log(tails) - np.log(2.0), 0.0, None)
        total = surprise.sum(axis=1, keepdims=True)
        share = np.divide(surprise, total, out=np.zeros_like(surprise), where=total > 0)
        names = self._feature_names()
        explained = []
        for i in range(len(values)):
            ranked = np.argsort(-surprise[i], kind="stable")[:top]
            order = [j for j in ranked if tails[i, j] < _MIDDLE_TAIL]
            explained.append(
                [
                    FeatureContribution(
                        names[j],
                        float(values[i, j]),
                        float(self.usual_[j]),
                        float(tails[i, j]),
                        float(share[i, j]),
                    )
                    for j in order
                ]
            )
        return explained

    def _feature_names(self) -> list[str]:
        names = getattr(self, "feature_names_in_", None)
        if names is not None:
            return [str(name) for name in names]
        return [f"x{j}" for j in range(self.n_features_in_)]


class CaseOutlierDetector:
    """Cases whose features as a whole stand apart: events, durations, counts, values.

    A ``Pipeline`` of :class:`~kgsentinel.detectors.features.CaseFeatures` and
    :class:`IsolationForestDetector` (``pipeline_``), fitted on the log's cases.
    A case is a finding when the forest isolates it in at most ``depth`` times the
    median case's path length (``contamination``, a share, replaces that cut),
    and at least one of its features is as extreme as in at most a ``max_tail``
    share of the cases (or, in small logs, in at most two other cases), so every
    finding names what is unusual. Both cuts are
    conservative: rare but recurring variety (a loop taken three times) is the
    process, not an anomaly. With fewer than ``min_cases`` cases nothing is judged.
    """

    kind = "outlier-case"

    def __init__(
        self,
        *,
        n_estimators: int = 100,
        contamination: float | str = "auto",
        depth: float = 1 / 3,
        max_tail: float = 0.001,
        top: int = 3,
        min_cases: int = 50,
        random_state: int | None = 0,
    ) -> None:
        self.n_estimators = n_estimators
        self.contamination = contamination
        self.depth = depth
        self.max_tail = max_tail
        self.top = top
        self.min_cases = min_cases
        self.random_state = random_state

    def fit(self, log: pd.DataFrame) -> CaseOutlierDetector:
        """Learn the cases' features and grow the forest (nothing with too few cases)."""
        from sklearn.pipeline import Pipeline

        self.pipeline_: Pipeline | None = None
        if log["case"].nunique() < self.min_cases:
            return self
        model = IsolationForestDetector(
            n_estimators=self.n_estimators,
            contamination=self.contamination,
            depth=self.depth,
            random_state=self.random_state,
        )
        self.pipeline_ = Pipeline([("features", CaseFeatures()), ("model", model)]).fit(log)
        return self

    def findings(self, log: pd.DataFrame) -> list[Finding]:
        """One finding per outlier case, naming its most unusual features."""
        if self.pipeline_ is None or log.empty:
            return []
        features = self.pipeline_["features"].transform(log)
        model: IsolationForestDetector = self.pipeline_["model"]
        raw = model.score_samples(features)
        outside = raw < model.offset_
        if not outside.any():
            return []
        features, raw = features[outside], raw[outside]
        scores = model.outlier_score(features)
        reasons = model.explain(features, top=self.top)
        case_ids = log.drop_duplicates("case").set_index("case")["case_id"]
        max_tail = max(self.max_tail, 3.0 / (len(model.reference_) + 1.0))
        found = []
        for i, case in enumerate(features.index):
            unusual = [r for r in reasons[i] if r.tail <= max_tail]
            if not unusual:
                continue
            forest = Evidence(
                label="isolation forest score (outlier below the expected)",
                expected=round(model.offset_, 4),
                observed=round(raw[i], 4),
            )
            found.append(
                self._finding(case, str(case_ids[case]), float(scores[i]), unusual, forest)
            )
        return found

    def _finding(
        self,
        case: str,
        case_id: str,
        score: float,
        reasons: list[FeatureContribution],
        forest: Evidence,
    ) -> Finding:
        words = [describe_feature(r.feature, r.value, r.usual) for r in reasons]
        evidence = [
            Evidence(
                label=text,
                expected=r.usual,
                observed=r.value,
                feature=r.feature,
                value=r.value,
                contribution=round(r.contribution, 4),
            )
            for text, r in zip(words, reasons, strict=True)
        ]
        return Finding(
            kind=self.kind,
            subject=case,
            score=score,
            case_id=case_id,
            explanation="unusual: " + ", ".join(words),
            evidence=[*evidence, forest],
        )


def _relative_depth(scores: np.ndarray) -> np.ndarray:
    """A row's path length relative to a random search's, from its forest score."""
    return -np.log2(np.clip(-np.asarray(scores, dtype=float), 1e-300, 1.0))


def _median(values: np.ndarray) -> float:
    return float(np.median(values)) if len(values) else float("nan")
