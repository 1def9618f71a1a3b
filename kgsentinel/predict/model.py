"""Outcome models: trained on finished cases, asked about running ones.

:meth:`OutcomeModel.train` learns either the chance of an outcome
(``target="outcome"``, from 0/1 labels per case) or the hours a case has left
(``target="remaining-time"``, from the log itself), from every prefix of 1 to
``max_prefix_length`` events of the finished cases, encoded by
:class:`~kgsentinel.predict.encoding.PrefixEncoder`. Each case weighs the same
however many prefixes it has.

- **Temporal split.** Cases are ordered by their first event; the model is
  trained on the oldest ``1 - test_share`` and its :attr:`~OutcomeModel.metrics`
  measured on the newest, as it would have done in use. The model delivered is
  then trained again on all cases.
- **Estimators.** A scikit-learn ``HistGradientBoostingClassifier`` whose
  probabilities are calibrated (``CalibratedClassifierCV``, sigmoid for small
  data, isotonic for large): three folds of whole cases, each model trained on
  two and calibrated on the third, their probabilities averaged. For remaining
  time a ``HistGradientBoostingRegressor`` with the Poisson loss on the hours
  (a log link, so times from minutes to years fit alike): it aims at the mean
  of what prefixes like this one had left, so when durations fall in two
  groups (settled within weeks, or after years) the long group keeps its
  weight instead of being squeezed towards the short one on a log scale. Each
  fit looks only at the columns its rows tell apart (not all missing, not one
  value throughout, see :mod:`~kgsentinel.predict.boosting`); the card lists
  those the model uses as ``features`` and the rest as ``dropped_features``.
- **Follow-up.** Finished cases are a biased sample of the recent ones: of
  the cases started lately only the quick ones have finished. So remaining
  time learns from a prefix of k events only if its last event is at least
  the ``follow_up`` quantile (:data:`FOLLOW_UP` by default) of the time
  prefixes of k events had left before the log's latest event (all
  prefixes, when fewer than :data:`MIN_CASES` cases would be left). A fine
  just sent, paid or collected a year or two later, then no longer looks
  like the recent fines paid within weeks; a late step of a quick process,
  with hours left, is still learned from up to the last days.
- **Workload.** A remaining-time model also reads the workload at each
  prefix's last event t: the cases started in the 7 days up to t against
  the rate over the 90 days up to t, counted over the training cases, the
  log asked about and ``context`` (e.g. the whole store's log), each case
  once. Only start times up to t count, so a prediction never depends on
  what came later. Outcome models do not read it: on the benchmark's real
  logs it cost AUC (see ``benchmarks/README.md``).
- **Contributions.** For each prediction, the features that moved it most:
  the change in the predicted value when one feature is set back to its median
  over the training prefixes, tried for the dozen features whose change is
  largest on average over the training prefixes. It is a cheap, local,
  one-feature-at-a-time answer (features that only matter together are not
  credited), in the unit of the prediction (probability or hours).
- **Saving.** :meth:`~OutcomeModel.save` writes ``model.skops`` (skops, which
  rebuilds only types it is told to trust: never pickle) and ``card.json``, the
  model card; :meth:`~OutcomeModel.load` refuses a file naming any type outside
  scikit-learn, kgsentinel's encoder and plain numpy arrays.

Example:
    >>> import pandas as pd
    >>> from kgsentinel.detectors.events import as_event_log
    >>> rows = []
    >>> for case in range(60):
    ...     rework = case % 3 == 0
    ...     steps = ["Brief", "Rework" if rework else "Review", "Launch"]
    ...     rows += [(str(case), step, pd.Timestamp("2026-01-01", tz="UTC")
    ...               + pd.Timedelta(days=case, hours=8 * k)) for k, step in enumerate(steps)]
    >>> log = as_event_log(pd.DataFrame(rows, columns=["case_id", "activity", "timestamp"]))
    >>> late = log.groupby("case")["activity"].apply(lambda a: int("Rework" in set(a)))
    >>> model = OutcomeModel.train(log, late)
    >>> model.metrics["auc_by_prefix_length"][2]  # once Rework or Review is seen
    1.0
    >>> running = log[log["case_id"].isin(["57", "58"]) & (log["activity"] != "Launch")]
    >>> [(row.case_id, row.value > 0.5) for row in model.predict(running).itertuples()]
    [('57', True), ('58', False)]
"""

from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kgsentinel.detectors.events import sort_event_log
from kgsentinel.errors import PredictionError
from kgsentinel.predict.encoding import WORKLOAD_DAYS, PrefixEncoder, prefix_ends

__all__ = ["MIN_CASES", "MIN_CASES_PER_CLASS", "TARGETS", "WORKLOAD_TARGETS", "OutcomeModel"]

#: what a model predicts: the chance of an outcome, or the hours a case has left
TARGETS = ("outcome", "remaining-time")
#: the fewest finished cases a model is trained on
MIN_CASES = 20
#: the fewest finished cases of each class (outcome happened or not) a model is trained on
MIN_CASES_PER_CLASS = 5
#: prefix lengths trained on by default: the 90th percentile of case length, at most this
LONGEST_PREFIX = 40
#: the features tried when explaining each prediction
EXPLAINED_FEATURES = 12
#: features reported per prediction
TOP_FEATURES = 3
#: folds of whole cases: each trains a model on the others and calibrates it
FOLDS = 3
#: cases per fold from which isotonic calibration is used instead of sigmoid
ISOTONIC_FROM = 1000
#: what the remaining-time boosting minimises on the hours (a log link, aiming at the mean)
REMAINING_TIME_LOSS = "poisson"
#: remaining time learns from a prefix once this share of prefixes as long would have finished
FOLLOW_UP = 0.75
#: the targets whose encoding has the workload feature (see the module docs)
WORKLOAD_TARGETS = ("remaining-time",)
#: rows below which scikit-learn runs on one thread (threads only wait on each other there)
_ONE_THREAD_BELOW = 100_000
#: training prefixes sampled to rank features for explanations
_EXPLAIN_SAMPLE = 2000
_NS_PER_HOUR = 3_600_000_000_000
_BOOSTING = {
    "learning_rate": 0.1,
    "max_iter": 100,
    "max_leaf_nodes": 31,
    "min_samples_leaf": 20,
    "l2_regularization": 1.0,
    "early_stopping": False,
}
_MODEL_FILE = "model.skops"
_CARD_FILE = "card.json"
#: types a saved model may name beyond scikit-learn's and the encoder
_TRUSTED_TYPES = frozenset({
    "kgsentinel.predict.encoding.PrefixEncoder",
    "kgsentinel.predict.boosting.BoostedClassifier",
    "kgsentinel.predict.boosting.BoostedRegressor",
    "numpy.ndarray", "numpy.dtype", "numpy.float32", "numpy.float64", "numpy.int64",
    "numpy.int32", "numpy.uint8", "numpy.bool_", "numpy.random.mtrand.RandomState",
    "numpy.random._mt19937.MT19937", "numpy.random.bit_generator.SeedSequence",
    "builtins.dict", "builtins.list", "builtins.tuple", "builtins.str", "builtins.int",
    "builtins.float", "builtins.bool", "builtins.NoneType", "builtins.slice",
    # the boosting's category columns go through partial(sklearn...check_array): the
    # function a partial wraps is listed on its own, so it must be trusted as well
    "functools.partial",
})  # fmt: skip


class OutcomeModel:
    """A trained prefix model with its card; build one with :meth:`train` or :meth:`load`."""

    def __init__(
        self,
        *,
        target: str,
        encoder: PrefixEncoder,
        estimator: Any,
        reference: np.ndarray,
        explained: np.ndarray,
        card: dict[str, Any],
    ) -> None:
        self.target = target
        self.encoder = encoder
        self.estimator = estimator
        self.reference = reference
        self.explained = explained
        self.card = card

    @property
    def metrics(self) -> dict[str, Any]:
        """Measured on the newest cases, held out (see the module docs)."""
        return self.card["metrics"]

    @classmethod
    def train(
        cls,
        log: pd.DataFrame,
        labels: pd.Series | None = None,
        *,
        target: str = "outcome",
        test_share: float = 0.2,
        max_prefix_length: int | None = None,
        seed: int = 0,
        context: pd.DataFrame | None = None,
        follow_up: float | None = FOLLOW_UP,
    ) -> OutcomeModel:
        """Train on the finished cases of ``log``; ``labels`` (0/1 per case IRI) for outcomes.

        ``context``, an event log frame of other cases (e.g. the running ones,
        or the whole store's log), is not learned from: its cases only count
        in the workload feature (see :mod:`~kgsentinel.predict.encoding`).

        ``follow_up``, for remaining time: the quantile of the time left that
        a prefix must lie before the log's latest event to be learned from
        (see the module docs); None learns from every prefix.

        Raises :class:`~kgsentinel.errors.PredictionError` when there are too
        few cases, a single class, or bad parameters, saying what to change.
        """
        log, labels = _training_log(log, labels, target)
        if not 0 < test_share < 1:
            raise PredictionError(f"test_share must be between 0 and 1, not {test_share!r}")
        if follow_up is not None and not 0 < follow_up < 1:
            raise PredictionError(f"follow_up must be between 0 and 1 (or None to learn from "
                                  f"every prefix), not {follow_up!r}")  # fmt: skip
        cases = _cases_by_start(log)
        _require_cases(cases, labels)
        longest = _longest_prefix(log, max_prefix_length)
        n_test = max(1, round(len(cases) * test_share))
        train_cases, test_cases = cases.index[:-n_test], cases.index[-n_test:]
        if labels is not None and labels.reindex(train_cases).nunique() < 2:
            raise PredictionError(f"the oldest {len(train_cases)} cases have only one outcome: "
                                  "lower test_share or train on more history")  # fmt: skip
        with _threads(len(log) * 2):
            held_out = _fit(_cases_of(log, train_cases), labels, target, longest, seed, context,
                            follow_up)  # fmt: skip
            metrics = held_out.evaluate(_cases_of(log, test_cases), labels, longest)
            model = _fit(log, labels, target, longest, seed, context, follow_up)
        model.card = _card(model, cases, train_cases, test_cases, metrics, {
            "test_share": test_share, "max_prefix_length": longest, "seed": seed,
            **({"follow_up": follow_up} if target == "remaining-time" else {}),
            "boosting": dict(_BOOSTING) if target == "outcome" else _regression_boosting(),
            "calibration": _method(model.estimator),
        })  # fmt: skip
        return model

    def predict(self, log: pd.DataFrame, *, context: pd.DataFrame | None = None) -> pd.DataFrame:
        """One row per case of ``log``, each as far as it has gone.

        Columns: ``case``, ``case_id``, ``prefix_length``, ``value`` (the
        probability of the outcome, or the hours left) and ``features``: up to
        three ``(name, value, contribution)`` that moved the prediction most,
        largest first (see the module docs). ``context`` holds other cases
        (e.g. the whole store's log) for the workload feature.
        """
        log = _sorted(log)
        ends = prefix_ends(log)
        matrix = self.encoder.transform(log, rows=ends["row"].to_numpy(), context=context)
        with _threads(len(matrix)):
            values = self._value(matrix)
        frame = pd.DataFrame({
            "case": ends["case"].astype(object).to_numpy(),
            "case_id": log["case_id"].astype(object).to_numpy()[ends["row"].to_numpy()],
            "prefix_length": ends["prefix_length"].to_numpy(),
            "value": values,
        })  # fmt: skip
        with _threads(0):
            frame["features"] = pd.Series(self._contributions(matrix, values), dtype=object)
        return frame

    def predict_prefixes(
        self, log: pd.DataFrame, lengths: Sequence[int], *, context: pd.DataFrame | None = None
    ) -> pd.DataFrame:
        """Each case of ``log`` cut after each of ``lengths`` events: case, prefix_length, value.

        ``context`` holds other cases for the workload feature, as in :meth:`predict`.
        """
        log = _sorted(log)
        lengths = [int(k) for k in lengths]
        ends = prefix_ends(log, lengths=lengths)
        if ends.empty:
            longest = int(log.groupby("case").size().max()) if len(log) else 0
            raise PredictionError(f"no case of the log has {min(lengths, default=0)} events or "
                                  f"more (the longest has {longest}): ask for prefix lengths "
                                  f"up to {longest}")  # fmt: skip
        matrix = self.encoder.transform(log, rows=ends["row"].to_numpy(), context=context)
        with _threads(len(matrix)):
            values = self._value(matrix)
        return pd.DataFrame({"case": ends["case"].astype(object).to_numpy(),
                             "prefix_length": ends["prefix_length"].to_numpy(),
                             "value": values})  # fmt: skip

    def evaluate(self, log: pd.DataFrame, labels: pd.Series | None, longest: int) -> dict[str, Any]:
        """Metrics on the prefixes of 1 to ``longest`` events of the cases of ``log``."""
        log = _sorted(log)
        ends = prefix_ends(log, longest=longest)
        matrix = self.encoder.transform(log, rows=ends["row"].to_numpy())
        values = self._value(matrix)
        lengths = ends["prefix_length"].to_numpy()
        if self.target == "outcome":
            assert labels is not None
            truth = labels.reindex(ends["case"]).to_numpy(dtype=int)
            share = float(labels.reindex(pd.unique(ends["case"])).mean())
            return _outcome_metrics(truth, values, lengths, share)
        return _time_metrics(_remaining_hours(log, ends["row"].to_numpy()), values, lengths)

    def save(self, folder: Path) -> None:
        """Write ``model.skops`` and ``card.json`` into ``folder`` (made if missing)."""
        import skops.io as sio

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        parts = {"target": self.target, "encoder": self.encoder, "estimator": self.estimator,
                 "reference": self.reference, "explained": self.explained}  # fmt: skip
        _write_atomically(folder / _MODEL_FILE, lambda path: sio.dump(parts, path))
        text = json.dumps(self.card, indent=2, default=_json_value)
        _write_atomically(folder / _CARD_FILE, lambda path: path.write_text(text, "utf-8"))

    @classmethod
    def load(cls, folder: Path) -> OutcomeModel:
        """The model saved in ``folder``; refuses a file naming types it does not trust."""
        folder = Path(folder)
        path, card_path = folder / _MODEL_FILE, folder / _CARD_FILE
        if not path.is_file() or not card_path.is_file():
            raise PredictionError(f"no saved model in {folder} (it needs {_MODEL_FILE} and "
                                  f"{_CARD_FILE}): train one first")  # fmt: skip
        parts = _load_trusted(path)
        try:
            card = _card_from_json(json.loads(card_path.read_text("utf-8")))
            return cls(target=parts["target"], encoder=parts["encoder"],
                       estimator=parts["estimator"], reference=parts["reference"],
                       explained=parts["explained"], card=card)  # fmt: skip
        except (ValueError, KeyError, TypeError) as exc:
            raise PredictionError(f"the model saved in {folder} is damaged ({exc}): "
                                  "train it again") from exc  # fmt: skip

    def _value(self, matrix: np.ndarray) -> np.ndarray:
        if not len(matrix):
            return np.zeros(0)
        if self.target == "outcome":
            return self.estimator.predict_proba(matrix)[:, 1]
        predicted = self.estimator.predict(matrix)
        if "loss" not in (getattr(self.estimator, "boosting", None) or {}):
            predicted = np.expm1(predicted)  # saved before the Poisson loss: on log hours
        return np.clip(predicted, 0.0, None)

    def _contributions(self, matrix: np.ndarray, values: np.ndarray) -> list[list[tuple]]:
        """The top features of each row: (name, value, change from its reference), largest
        first."""
        names = [str(name) for name in self.encoder.get_feature_names_out()[self.explained]]
        effects = _effects(self._value, matrix, values, self.reference, self.explained)
        order = np.argsort(-np.abs(effects), axis=1, kind="stable")[:, :TOP_FEATURES]
        read = self.encoder.readable_value
        return [
            [(names[k], read(names[k], matrix[row, self.explained[k]]), float(effects[row, k]))
             for k in columns if effects[row, k] != 0]
            for row, columns in enumerate(order)
        ]  # fmt: skip


def _fit(
    log: pd.DataFrame,
    labels: pd.Series | None,
    target: str,
    longest: int,
    seed: int,
    context: pd.DataFrame | None = None,
    follow_up: float | None = None,
) -> OutcomeModel:
    """A model trained on every prefix of 1 to ``longest`` events of the cases of ``log``
    (``context``'s cases only counted in the workload feature; remaining time only from
    the prefixes followed up, see :func:`_followed_up`)."""
    days = WORKLOAD_DAYS if target in WORKLOAD_TARGETS else ()
    encoder = PrefixEncoder(workload_days=days).fit(log, context=context)
    ends = prefix_ends(log, longest=longest)
    rows = ends["row"].to_numpy()
    matrix = encoder.transform(log, rows=rows)
    started = _cases_by_start(log).index
    case = pd.Series(np.arange(len(started)), index=started).reindex(ends["case"]).to_numpy()
    weights = _case_weights(case)
    categorical = encoder.categorical_columns()
    if target == "outcome":
        assert labels is not None
        truth = labels.reindex(ends["case"]).to_numpy(dtype=int)
        estimator = _classifier(matrix, truth, weights, case, seed, categorical)
    else:
        truth = _remaining_hours(log, rows)
        followed = _followed_up(log, ends, truth, follow_up)
        if not followed.all() and len(np.unique(case[followed])) >= MIN_CASES:
            matrix, truth, case = matrix[followed], truth[followed], case[followed]
            weights = _case_weights(case)
        estimator = _regressor(matrix, truth, weights, case, seed, categorical)
    reference = pd.DataFrame(matrix).median().to_numpy(dtype=np.float32, copy=True)
    reference[categorical] = 0  # a category's reference is the most frequent value
    model = OutcomeModel(target=target, encoder=encoder, estimator=estimator, reference=reference,
                         explained=np.zeros(0, dtype=np.int64), card={})  # fmt: skip
    with _threads(0):
        model.explained = _ranked_features(model, matrix, seed)
    return model


def _followed_up(log: pd.DataFrame, ends: pd.DataFrame, hours: np.ndarray,
                 follow_up: float | None) -> np.ndarray:  # fmt: skip
    """Which prefixes were followed long enough to learn remaining time from (a mask).

    A prefix of k events whose last event is nearer the log's latest event than
    the ``follow_up`` quantile of the ``hours`` the prefixes of k events had left
    is left out: of the cases that recent, only the quick ones have finished, so
    learning from them says cases are quicker than they are.
    """
    if follow_up is None:
        return np.ones(len(ends), dtype=bool)
    lengths = ends["prefix_length"].to_numpy()
    ns = _ns(log)
    horizon = pd.Series(hours).groupby(lengths).quantile(follow_up).reindex(lengths).to_numpy()
    return ns[ends["row"].to_numpy()] <= ns.max() - horizon * _NS_PER_HOUR


def _ns(log: pd.DataFrame) -> np.ndarray:
    return log["timestamp"].astype("datetime64[ns, UTC]").astype("int64").to_numpy()


def _case_weights(case: np.ndarray) -> np.ndarray:
    """Each prefix's weight: every case weighs the same, shared among its prefixes."""
    return 1.0 / np.bincount(case)[case]


def _classifier(matrix: np.ndarray, truth: np.ndarray, weights: np.ndarray, case: np.ndarray,
                seed: int, categorical: np.ndarray | None = None) -> Any:  # fmt: skip
    """Gradient boosting calibrated across :data:`FOLDS` folds of whole cases, averaged
    (``categorical``: the mask of the columns holding category codes)."""
    from sklearn.calibration import CalibratedClassifierCV

    from kgsentinel.predict.boosting import BoostedClassifier

    folds = _case_folds(case, truth, seed)
    smallest = min(len(np.unique(case[rows])) for _, rows in folds)
    method = "isotonic" if smallest >= ISOTONIC_FROM else "sigmoid"
    boosting = BoostedClassifier(boosting=dict(_BOOSTING), categorical=categorical,
                                 random_state=seed)  # fmt: skip
    calibrated = CalibratedClassifierCV(boosting, method=method, cv=folds, ensemble=True)
    calibrated.fit(matrix, truth, sample_weight=weights)
    calibrated.cv = len(folds)  # the folds were drawn by case; only their number is kept
    return calibrated


def _regressor(matrix: np.ndarray, truth: np.ndarray, weights: np.ndarray, case: np.ndarray,
               seed: int, categorical: np.ndarray | None = None) -> Any:  # fmt: skip
    """Gradient boosting on the hours left, minimising :data:`REMAINING_TIME_LOSS`."""
    from kgsentinel.predict.boosting import BoostedRegressor

    boosting = BoostedRegressor(boosting=_regression_boosting(), categorical=categorical,
                                random_state=seed)  # fmt: skip
    if not truth.any():  # every prefix ends its case: the Poisson loss needs some hours
        boosting.boosting = {**_BOOSTING, "loss": "squared_error"}
    return boosting.fit(matrix, truth, sample_weight=weights)


def _regression_boosting() -> dict[str, Any]:
    return {**_BOOSTING, "loss": REMAINING_TIME_LOSS}


def _case_folds(case: np.ndarray, truth: np.ndarray, seed: int) -> list[tuple[np.ndarray, ...]]:
    """:data:`FOLDS` (train rows, test rows) splits that keep each case's prefixes together,
    with each class's cases dealt evenly among the folds."""
    rng = np.random.default_rng(seed)
    count = int(case.max()) + 1
    case_truth = np.zeros(count, dtype=int)
    case_truth[case] = truth
    fold = np.zeros(count, dtype=np.int64)
    for value in np.unique(case_truth):
        members = rng.permutation(np.flatnonzero(case_truth == value))
        fold[members] = np.arange(len(members)) % FOLDS
    of_row = fold[case]
    return [(np.flatnonzero(of_row != k), np.flatnonzero(of_row == k)) for k in range(FOLDS)]


def _ranked_features(model: OutcomeModel, matrix: np.ndarray, seed: int) -> np.ndarray:
    """The features whose setting back to the median changes predictions most on average."""
    rng = np.random.default_rng(seed)
    sample = matrix[rng.choice(len(matrix), size=min(len(matrix), _EXPLAIN_SAMPLE), replace=False)]
    every = np.arange(matrix.shape[1])
    varying = every[(sample != model.reference).any(axis=0)]
    effects = _effects(model._value, sample, model._value(sample), model.reference, varying)
    strength = np.abs(effects).mean(axis=0)
    order = np.argsort(-strength, kind="stable")[:EXPLAINED_FEATURES]
    return varying[order[strength[order] > 0]].astype(np.int64)


def _effects(predict: Any, matrix: np.ndarray, values: np.ndarray, reference: np.ndarray,
             columns: np.ndarray) -> np.ndarray:  # fmt: skip
    """``values`` minus the prediction with each of ``columns`` set to its reference, per row."""
    effects = np.zeros((len(matrix), len(columns)))
    if not len(matrix):
        return effects
    for k, column in enumerate(columns):
        moved = matrix.copy()
        moved[:, column] = reference[column]
        changed = np.flatnonzero(matrix[:, column] != reference[column])
        if len(changed):
            effects[changed, k] = values[changed] - predict(moved[changed])
    return effects


def _remaining_hours(log: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
    """Hours from the event at each of ``rows`` to the last event of its case."""
    ns = _ns(log)
    last = pd.Series(ns).groupby(pd.factorize(log["case"])[0], sort=False).transform("max")
    return (last.to_numpy()[rows] - ns[rows]) / _NS_PER_HOUR


def _outcome_metrics(truth: np.ndarray, values: np.ndarray, lengths: np.ndarray,
                     share: float) -> dict[str, Any]:  # fmt: skip
    from sklearn.metrics import brier_score_loss

    by_length = {int(k): _auc(truth[lengths == k], values[lengths == k])
                 for k in np.unique(lengths)}  # fmt: skip
    return {"auc": _auc(truth, values),
            "auc_by_prefix_length": {k: v for k, v in by_length.items() if v is not None},
            "brier": float(brier_score_loss(truth, values, labels=[0, 1])),
            "positive_share": share, "prefixes": len(truth)}  # fmt: skip


def _auc(truth: np.ndarray, values: np.ndarray) -> float | None:
    """The ROC AUC, or None where one class is missing."""
    from sklearn.metrics import roc_auc_score

    if len(np.unique(truth)) < 2:
        return None
    return float(roc_auc_score(truth, values))


def _time_metrics(hours: np.ndarray, values: np.ndarray, lengths: np.ndarray) -> dict[str, Any]:
    error = np.abs(hours - values)
    return {"mae_hours": float(error.mean()),
            "mae_by_prefix_length": {int(k): float(error[lengths == k].mean())
                                     for k in np.unique(lengths)},
            "prefixes": len(hours)}  # fmt: skip


def _training_log(
    log: pd.DataFrame, labels: pd.Series | None, target: str
) -> tuple[pd.DataFrame, pd.Series | None]:
    """The log sorted, limited to the labelled cases; the labels as 0/1 by case IRI."""
    if target not in TARGETS:
        raise PredictionError(f"unknown target {target!r}: use one of {', '.join(TARGETS)}")
    missing = [c for c in ("case", "case_id", "activity", "timestamp") if c not in log.columns]
    if missing:
        raise PredictionError(f"the event log has no column {missing[0]!r}: build it with "
                              "as_event_log(table) or read_event_log(store)")  # fmt: skip
    if target == "remaining-time":
        if labels is not None:
            raise PredictionError("labels are for target 'outcome'; remaining time is "
                                  "worked out from the log: pass no labels")  # fmt: skip
        return _sorted(log), None
    if labels is None:
        raise PredictionError("target 'outcome' needs labels (0/1 per case): build them with "
                              "outcome_labels(log, kind, ...)")  # fmt: skip
    labels = pd.Series(labels)
    labels.index = labels.index.astype(str)
    known = labels[labels.notna()]
    values = set(pd.unique(known))
    if not values <= {0, 1}:
        raise PredictionError(f"labels must be 0 or 1, not {sorted(map(str, values))[:3]}")
    known = known.astype(int)
    log = log[log["case"].astype(str).isin(known.index)]
    return _sorted(log), known


def _require_cases(cases: pd.Series, labels: pd.Series | None) -> None:
    if len(cases) < MIN_CASES:
        raise PredictionError(f"only {len(cases)} finished cases to learn from; training needs at "
                              f"least {MIN_CASES}: ingest more history, or check which "
                              "cases count as finished (the end activities)")  # fmt: skip
    if labels is None:
        return
    counts = labels.reindex(cases.index).value_counts()
    if len(counts) < 2:
        which = "happened" if int(counts.index[0]) == 1 else "never happened"
        raise PredictionError(f"the outcome {which} in all {len(cases)} finished cases, so there "
                              "is nothing to learn: choose another outcome, activity or "
                              "hours threshold")  # fmt: skip
    if counts.min() < MIN_CASES_PER_CLASS:
        which = "with" if int(counts.idxmin()) == 1 else "without"
        raise PredictionError(f"only {counts.min()} of {len(cases)} finished cases are {which} "
                              f"the outcome; training needs at least {MIN_CASES_PER_CLASS} of "
                              "each: ingest more history or choose a commoner outcome")  # fmt: skip


def _cases_by_start(log: pd.DataFrame) -> pd.Series:
    """Each case's first event time, oldest first (ties by case IRI)."""
    starts = log.groupby("case", sort=True)["timestamp"].min()
    return starts.sort_values(kind="stable")


def _cases_of(log: pd.DataFrame, cases: pd.Index) -> pd.DataFrame:
    return log[log["case"].isin(cases)].reset_index(drop=True)


def _longest_prefix(log: pd.DataFrame, longest: int | None) -> int:
    lengths = log.groupby("case").size()
    if longest is None:
        return int(min(LONGEST_PREFIX, max(1, math.ceil(lengths.quantile(0.9)))))
    if longest < 1:
        raise PredictionError(f"max_prefix_length must be 1 or more, not {longest}")
    return int(longest)


def _sorted(log: pd.DataFrame) -> pd.DataFrame:
    """``log`` sorted by case and time (itself when it already is)."""
    case = pd.factorize(log["case"])[0]
    ns = _ns(log)
    step = np.diff(case)
    if ((step != 0) & (step != 1)).any() or ((step == 0) & (ns[1:] < ns[:-1])).any():
        return sort_event_log(log)
    return log.reset_index(drop=True)


def _card(model: OutcomeModel, cases: pd.Series, train: pd.Index, test: pd.Index,
          metrics: dict[str, Any], parameters: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
    import sklearn

    import kgsentinel

    names = model.encoder.get_feature_names_out()
    categories = model.encoder.categorical_columns()
    used = _used_columns(model.estimator)
    return {
        "target": model.target,
        "window": {"first_case_start": cases.iloc[0].isoformat(),
                   "last_case_start": cases.iloc[-1].isoformat(),
                   "test_from": cases[test[0]].isoformat()},
        "cases": {"train": len(train), "test": len(test), "all": len(cases)},
        "features": [str(names[k]) for k in used],
        "dropped_features": [str(name) for k, name in enumerate(names) if k not in set(used)],
        "category_features": [str(names[k]) for k in used if categories[k]],
        "explained_features": [str(names[k]) for k in model.explained],
        "metrics": metrics,
        "parameters": parameters,
        "versions": {"kgsentinel": kgsentinel.__version__, "scikit-learn": sklearn.__version__,
                     "numpy": np.__version__},
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }  # fmt: skip


def _used_columns(estimator: Any) -> list[int]:
    """The encoder columns the boosting looks at (any fold's, for a calibrated ensemble)."""
    parts = [c.estimator for c in getattr(estimator, "calibrated_classifiers_", [])] or [estimator]
    return sorted({int(k) for part in parts for k in part.columns_})


def _card_from_json(card: dict[str, Any]) -> dict[str, Any]:
    """The card as :meth:`OutcomeModel.train` made it: prefix lengths as numbers again."""
    metrics = card.get("metrics", {})
    for key, value in metrics.items():
        if key.endswith("_by_prefix_length") and isinstance(value, dict):
            metrics[key] = {int(k): v for k, v in value.items()}
    return card


def _method(estimator: Any) -> str | None:
    return getattr(estimator, "method", None)


def _load_trusted(path: Path) -> dict[str, Any]:
    import skops.io as sio

    try:
        untrusted = sio.get_untrusted_types(file=path)
        refused = [name for name in untrusted if not _trusted(name)]
        if refused:
            raise PredictionError(f"refusing to load {path}: it names types a model never holds "
                                  f"({', '.join(refused[:3])}); train the model again rather "
                                  "than load a file from elsewhere")  # fmt: skip
        parts = sio.load(path, trusted=untrusted)
    except PredictionError:
        raise
    except Exception as exc:  # skops raises many kinds on a damaged file
        raise PredictionError(f"cannot read the model in {path} ({type(exc).__name__}: {exc}): "
                              "train it again") from exc  # fmt: skip
    if not isinstance(parts, dict) or not isinstance(parts.get("encoder"), PrefixEncoder):
        raise PredictionError(f"{path} holds no outcome model: train the model again")
    return parts


def _trusted(name: str) -> bool:
    return name.startswith("sklearn.") or name in _TRUSTED_TYPES


def _threads(rows: int) -> Any:
    """One OpenMP thread for fewer than :data:`_ONE_THREAD_BELOW` rows, else as many as usual."""
    from contextlib import nullcontext

    from threadpoolctl import threadpool_limits

    if rows >= _ONE_THREAD_BELOW:
        return nullcontext()
    return threadpool_limits(limits=1, user_api="openmp")


def _write_atomically(path: Path, write: Any) -> None:
    with tempfile.TemporaryDirectory(dir=path.parent) as folder:
        temporary = Path(folder) / path.name
        write(temporary)
        temporary.replace(path)


def _json_value(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot write {type(value).__name__} in a model card")
