"""Gradient boosting that only looks at the columns its training rows can tell apart.

scikit-learn's ``HistGradientBoosting*`` fails on a column that is missing in
every training row, which happens to an attribute only a few cases have (all
of them may fall outside one calibration fold). :class:`BoostedClassifier`
and :class:`BoostedRegressor` drop, in each ``fit``, the columns that are
all missing or one value throughout (:func:`informative_columns`), and give
the rest to the boosting; ``columns_`` says which they kept. ``categorical``,
a boolean mask over the columns of ``X``, marks those holding category codes
(0 to 254), which the boosting splits as categories.

Example:
    >>> import numpy as np
    >>> X = np.array([[0.0, np.nan, 5.0], [1.0, np.nan, 5.0], [2.0, np.nan, 5.0]])
    >>> informative_columns(X).tolist()
    [0]
    >>> informative_columns(np.array([[np.nan], [1.0]])).tolist()  # missing or not tells
    [0]
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin

__all__ = ["BoostedClassifier", "BoostedRegressor", "informative_columns"]


def informative_columns(matrix: np.ndarray) -> np.ndarray:
    """Indexes of the columns with at least two distinct values (missing counts as one)."""
    matrix = np.asarray(matrix, dtype=float)
    if not len(matrix):
        return np.zeros(0, dtype=np.int64)
    missing = np.isnan(matrix)
    low = np.min(np.where(missing, np.inf, matrix), axis=0)
    high = np.max(np.where(missing, -np.inf, matrix), axis=0)
    some_missing, all_missing = missing.any(axis=0), missing.all(axis=0)
    varies = (high > low) | (some_missing & ~all_missing)
    return np.flatnonzero(varies).astype(np.int64)


class _Boosted(BaseEstimator):
    """Shared by the classifier and the regressor: ``boosting`` holds the keyword arguments
    of the scikit-learn estimator, ``categorical`` the mask of category columns, and
    ``random_state`` the seed."""

    #: what a model saved before category columns had
    categorical: Any = None

    def __init__(
        self,
        *,
        boosting: dict[str, Any] | None = None,
        categorical: Any = None,
        random_state: int | None = None,
    ):
        self.boosting = boosting
        self.categorical = categorical
        self.random_state = random_state

    def _estimator(self) -> Any:  # pragma: no cover - each subclass has its own
        raise NotImplementedError

    def _settings(self) -> dict[str, Any]:
        """The scikit-learn estimator's keyword arguments, categories among the kept columns."""
        settings = {**(self.boosting or {}), "random_state": self.random_state}
        if self.categorical is not None:
            kept = np.asarray(self.categorical, dtype=bool)[self.columns_]
            settings["categorical_features"] = kept if kept.any() else None
        return settings

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> Any:
        """Fit the boosting on the informative columns of ``X`` (at least one is kept)."""
        X = np.asarray(X, dtype=np.float32)
        columns = informative_columns(X)
        self.columns_ = columns if len(columns) else np.zeros(1, dtype=np.int64)
        self.n_features_in_ = X.shape[1]
        self.estimator_ = self._estimator().fit(X[:, self.columns_], y, sample_weight=sample_weight)
        return self

    def _kept(self, X: Any) -> np.ndarray:
        return np.asarray(X, dtype=np.float32)[:, self.columns_]


class BoostedClassifier(ClassifierMixin, _Boosted):
    """``HistGradientBoostingClassifier`` on the informative columns (see the module docs)."""

    def _estimator(self) -> Any:
        from sklearn.ensemble import HistGradientBoostingClassifier

        return HistGradientBoostingClassifier(**self._settings())

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> BoostedClassifier:
        super().fit(X, y, sample_weight)
        self.classes_ = self.estimator_.classes_
        return self

    def predict(self, X: Any) -> np.ndarray:
        return self.estimator_.predict(self._kept(X))

    def predict_proba(self, X: Any) -> np.ndarray:
        return self.estimator_.predict_proba(self._kept(X))

    def decision_function(self, X: Any) -> np.ndarray:
        return self.estimator_.decision_function(self._kept(X))


class BoostedRegressor(RegressorMixin, _Boosted):
    """``HistGradientBoostingRegressor`` on the informative columns (see the module docs)."""

    def _estimator(self) -> Any:
        from sklearn.ensemble import HistGradientBoostingRegressor

        return HistGradientBoostingRegressor(**self._settings())

    def predict(self, X: Any) -> np.ndarray:
        return self.estimator_.predict(self._kept(X))
