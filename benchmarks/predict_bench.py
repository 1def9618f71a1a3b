"""Outcome prediction benchmark: kgsentinel's OutcomeModel against two baselines on real logs.

Tasks (labels after Teinemaa et al. 2019, see ``predict_labels.py``): BPIC 2012
accepted / cancelled / declined, Sepsis admission to intensive care, road
traffic fines sent for credit collection; and the remaining time of each log's
cases. Every prefix stops before the event that decides its case's label.

Engines, on the same strict temporal split (oldest 80% of the cases train,
newest 20% test, training events from the test period dropped):

- **kgsentinel**: ``OutcomeModel.train(train_log, labels, ..., context=log)`` then
  ``model.predict_prefixes(test_log, lengths, context=log)``, where ``log`` is
  the whole log, as the store holds it in use: the remaining-time model's
  workload feature reads the start times of its cases, only those up to each
  prefix's last event;
- **random forest**: scikit-learn's RandomForestClassifier / Regressor on the
  last-state encoding (the last event's activity, resource and attributes, their
  last value so far, elapsed time, time since the previous event, event number,
  hour, weekday, month), one model over all prefix lengths;
- **majority class**: the training share of positives (AUC 0.5) / the training
  mean of the remaining time.

AUC per prefix length 1..L (L: 10 for traffic fines, else the 90th percentile
of positive cases' lengths, at most 40; a length is scored where each class
has at least 10 test prefixes), averaged over the lengths; remaining time MAE
in days. Targets: kgsentinel beats the random forest on every task,
and its AUC averaged over the tasks is at least 0.75.

Usage:
    python benchmarks/predict_bench.py --shared ../shared/data
    python benchmarks/predict_bench.py --shared ../shared/data --quick   # 1,000 cases a log
    python benchmarks/predict_bench.py --shared ../shared/data --tasks sepsis_2
    python benchmarks/predict_bench.py --shared ../shared/data --no-remaining --origins 0.4 0.6

``--origins`` repeats the outcome comparison with the split moved back (the
oldest 40% or 60% of the cases train, the next 20% test), so a lead can be
told from the luck of one split.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from common import git_commit, log, write_result
from predict_labels import (
    LOGS,
    TASKS,
    LogSpec,
    Task,
    cut_before,
    decisions_for,
    leaks,
    max_prefix_length,
    published_cases,
    read_log_frame,
    remaining_hours,
    sample_cases,
    temporal_split,
)

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "results" / "predict.json"
DEFAULT_SHARED = HERE.parent.parent / "shared" / "data"
KGSENTINEL = "kgsentinel"
FOREST = "random forest (last state)"
MAJORITY = "majority class"
ENGINES = (KGSENTINEL, FOREST, MAJORITY)
TARGET_AUC = 0.75
#: a prefix length is scored when each class has this many test prefixes (fewer: noise)
MIN_CLASS = 10
HOURS_PER_DAY = 24.0
#: prefix lengths shown in the printed table (the JSON has every length)
SHOWN_LENGTHS = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 15, 20, 25, 30, 35, 40)


# -- baselines ---------------------------------------------------------------------------------


class LastState:
    """Teinemaa's last-state encoding: one row per prefix, from its last event alone.

    The last event's activity and resource, every attribute's last value so far
    (numbers as they are, missing as 0; text one-hot over values seen at least
    ``min_count`` times in training, the rest as one "other" column), hours since
    the case's start and since the previous event, the event number, and the
    hour, weekday and month of the last event.
    """

    def __init__(self, *, min_count: int = 10) -> None:
        self.min_count = min_count

    def fit(self, log: pd.DataFrame) -> LastState:
        state = _state(log)
        self.numbers_ = [c for c in state if c != "activity" and _numeric(state[c])]
        self.levels_ = {}
        for column in (c for c in state if c not in self.numbers_):
            counts = state[column].value_counts()
            self.levels_[column] = list(counts.index[counts >= self.min_count])
        return self

    def transform(
        self, log: pd.DataFrame, lengths: Sequence[int]
    ) -> tuple[pd.DataFrame, np.ndarray]:
        """The prefixes of ``log`` of ``lengths``: their keys (case, prefix_length) and rows."""
        length = log.groupby("case", sort=False).cumcount().to_numpy() + 1
        rows = np.isin(length, np.asarray(list(lengths)))
        state = _state(log)[rows]
        blocks = [state[self.numbers_].apply(pd.to_numeric, errors="coerce").fillna(0.0).to_numpy()]
        for column, levels in self.levels_.items():
            blocks.append(_one_hot(state[column], levels))
        time_of = log["timestamp"]
        start = time_of.groupby(log["case"], sort=False).transform("min")
        previous = time_of.groupby(log["case"], sort=False).shift().fillna(time_of)
        blocks.append(
            np.column_stack(
                [
                    ((time_of - start).dt.total_seconds() / 3600.0)[rows],
                    ((time_of - previous).dt.total_seconds() / 3600.0)[rows],
                    length[rows],
                    time_of.dt.hour[rows],
                    time_of.dt.day_of_week[rows],
                    time_of.dt.month[rows],
                ]
            )
        )
        keys = pd.DataFrame({"case": log["case"].to_numpy()[rows], "prefix_length": length[rows]})
        return keys, np.hstack(blocks).astype(np.float32)


def _state(log: pd.DataFrame) -> pd.DataFrame:
    """Activity, and resource and attributes as their last value so far in the case."""
    columns = ["resource", *(c for c in log.columns if c.startswith("attr:"))]
    carried = log[columns].groupby(log["case"], sort=False).ffill()
    return pd.concat([log[["activity"]], carried], axis=1)


def _numeric(values: pd.Series) -> bool:
    present = values.dropna()
    return not present.empty and bool(pd.to_numeric(present, errors="coerce").notna().all())


def _one_hot(values: pd.Series, levels: list[Any]) -> np.ndarray:
    """One column per level, one for any other value and one for missing."""
    codes = pd.Index(levels).get_indexer(values.to_numpy())
    codes = np.where(codes >= 0, codes, len(levels))
    codes = np.where(values.isna().to_numpy(), len(levels) + 1, codes)
    block = np.zeros((len(values), len(levels) + 2), dtype=np.float32)
    block[np.arange(len(values)), codes] = 1.0
    return block


class Forest:
    """The random-forest peer: last-state encoding, one forest over all prefix lengths."""

    def __init__(self, *, trees: int, seed: int) -> None:
        self.trees = trees
        self.seed = seed

    def fit(
        self,
        train: pd.DataFrame,
        labels: pd.Series | None,
        *,
        target: str,
        lengths: Sequence[int],
        context: pd.DataFrame | None = None,
    ) -> Forest:
        """``context`` is not read: the last state is the case's own."""
        from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

        self.encoding_ = LastState().fit(train)
        keys, rows = self.encoding_.transform(train, lengths)
        if target == "outcome":
            y = labels.reindex(keys["case"]).to_numpy()
            model = RandomForestClassifier
        else:
            y = _remaining_at(train, keys)
            model = RandomForestRegressor
        self.model_ = model(
            n_estimators=self.trees, max_features="sqrt", n_jobs=2, random_state=self.seed
        ).fit(rows, y)
        self.target_ = target
        return self

    def predict_prefixes(self, log: pd.DataFrame, lengths: Sequence[int]) -> pd.DataFrame:
        keys, rows = self.encoding_.transform(log, lengths)
        if self.target_ == "outcome":
            value = self.model_.predict_proba(rows)[:, list(self.model_.classes_).index(1)]
        else:
            value = self.model_.predict(rows)
        return keys.assign(value=value)


class Majority:
    """The majority-class peer: the training share of positives, or the training mean."""

    def fit(
        self,
        train: pd.DataFrame,
        labels: pd.Series | None,
        *,
        target: str,
        lengths: Sequence[int],
        context: pd.DataFrame | None = None,
    ) -> Majority:
        keys = _prefix_keys(train, lengths)
        if target == "outcome":
            self.value_ = float(labels.reindex(keys["case"]).mean())
        else:
            self.value_ = float(np.mean(_remaining_at(train, keys)))
        return self

    def predict_prefixes(self, log: pd.DataFrame, lengths: Sequence[int]) -> pd.DataFrame:
        return _prefix_keys(log, lengths).assign(value=self.value_)


class Kgsentinel:
    """kgsentinel through its library: ``OutcomeModel.train`` and ``predict_prefixes``."""

    def __init__(self, *, seed: int) -> None:
        self.seed = seed

    def fit(
        self,
        train: pd.DataFrame,
        labels: pd.Series | None,
        *,
        target: str,
        lengths: Sequence[int],
        context: pd.DataFrame | None = None,
    ) -> Kgsentinel:
        """``context``: the other cases known in use (the whole log), for the workload."""
        from kgsentinel.predict.model import OutcomeModel

        self.context_ = context
        self.model_ = OutcomeModel.train(
            train,
            labels,
            target=target,
            max_prefix_length=max(lengths),
            seed=self.seed,
            context=context,
        )
        return self

    def predict_prefixes(self, log: pd.DataFrame, lengths: Sequence[int]) -> pd.DataFrame:
        found = self.model_.predict_prefixes(log, list(lengths), context=self.context_)
        return found[["case", "prefix_length", "value"]]

    def card(self) -> dict[str, Any]:
        card = self.model_.card
        return {
            "metrics": card.get("metrics"),
            "features": len(card.get("features", [])),
            "cases": card.get("cases"),
            "parameters": card.get("parameters"),
        }


def kgsentinel_available() -> str | None:
    """Why kgsentinel's outcome model cannot run here (None when it can)."""
    try:
        from kgsentinel.predict.model import OutcomeModel  # noqa: F401
    except ImportError as exc:
        return f"kgsentinel.predict.model.OutcomeModel not available yet ({exc})"
    return None


def _prefix_keys(log: pd.DataFrame, lengths: Sequence[int]) -> pd.DataFrame:
    length = log.groupby("case", sort=False).cumcount().to_numpy() + 1
    rows = np.isin(length, np.asarray(list(lengths)))
    return pd.DataFrame({"case": log["case"].to_numpy()[rows], "prefix_length": length[rows]})


def _remaining_at(log: pd.DataFrame, keys: pd.DataFrame) -> np.ndarray:
    """Hours from each prefix's last event to its case's last event."""
    hours = pd.DataFrame(
        {
            "case": log["case"],
            "prefix_length": log.groupby("case", sort=False).cumcount() + 1,
            "hours": remaining_hours(log),
        }
    )
    return keys.merge(hours, on=["case", "prefix_length"], how="left")["hours"].to_numpy()


# -- metrics -----------------------------------------------------------------------------------


def outcome_metrics(found: pd.DataFrame, labels: pd.Series) -> dict[str, Any]:
    """AUC per prefix length (where each class has :data:`MIN_CLASS` prefixes), their mean,
    their mean weighted by prefixes, and the Brier score of all prefixes."""
    from sklearn.metrics import brier_score_loss, roc_auc_score

    found = found.assign(label=labels.reindex(found["case"]).to_numpy())
    by_length: dict[int, dict[str, Any]] = {}
    for length, group in found.groupby("prefix_length"):
        entry: dict[str, Any] = {"prefixes": len(group), "positives": int(group["label"].sum())}
        if min(entry["positives"], entry["prefixes"] - entry["positives"]) >= MIN_CLASS:
            entry["auc"] = float(roc_auc_score(group["label"], group["value"]))
        by_length[int(length)] = entry
    scored = [e for e in by_length.values() if "auc" in e]
    weights = np.array([e["prefixes"] for e in scored], dtype=float)
    aucs = np.array([e["auc"] for e in scored])
    return {
        "auc": float(aucs.mean()) if len(aucs) else None,
        "auc_weighted": float((aucs * weights).sum() / weights.sum()) if len(aucs) else None,
        "brier": float(brier_score_loss(found["label"], found["value"].clip(0, 1))),
        "auc_by_prefix_length": {k: e.get("auc") for k, e in by_length.items()},
        "prefixes": len(found),
    }


def remaining_metrics(found: pd.DataFrame, truth: pd.DataFrame) -> dict[str, Any]:
    """MAE in days per prefix length, their mean, and over all prefixes."""
    joined = truth.merge(found, on=["case", "prefix_length"], how="left")
    missing = int(joined["value"].isna().sum())
    joined = joined.dropna(subset=["value"])
    error = (joined["value"] - joined["hours"]).abs() / HOURS_PER_DAY
    by_length = error.groupby(joined["prefix_length"]).mean()
    return {
        "mae_days": float(by_length.mean()),
        "mae_days_all": float(error.mean()),
        "mae_days_by_prefix_length": {int(k): float(v) for k, v in by_length.items()},
        "prefixes": len(joined),
        "prefixes_without_prediction": missing,
    }


def future_blind(engine: Any, log: pd.DataFrame, length: int) -> float:
    """Largest change in an engine's prediction at ``length`` when the later events are removed
    (0 when it looks at nothing after the prefix)."""
    cut = log[log.groupby("case", sort=False).cumcount() < length]
    whole = engine.predict_prefixes(log, [length]).set_index("case")["value"]
    alone = engine.predict_prefixes(cut, [length]).set_index("case")["value"]
    return float((whole - alone.reindex(whole.index)).abs().max()) if len(whole) else 0.0


# -- the run -----------------------------------------------------------------------------------


def make_engines(args: argparse.Namespace, notes: list[str]) -> dict[str, Any]:
    engines: dict[str, Any] = {}
    why = kgsentinel_available()
    if why is None:
        engines[KGSENTINEL] = lambda: Kgsentinel(seed=args.seed)
    elif why not in notes:
        notes.append(why)
    engines[FOREST] = lambda: Forest(trees=args.trees, seed=args.seed)
    engines[MAJORITY] = Majority
    return engines


def run_engines(
    engines: dict[str, Any],
    train: pd.DataFrame,
    labels: pd.Series | None,
    test: pd.DataFrame,
    *,
    target: str,
    lengths: list[int],
    notes: list[str],
    title: str,
    context: pd.DataFrame | None = None,
) -> dict[str, tuple[Any, pd.DataFrame, dict[str, Any]]]:
    """Each engine fitted on ``train`` and asked about ``test``'s prefixes, timed;
    ``context`` is the whole log, for the engines that read other cases' start times."""
    done = {}
    for name, make in engines.items():
        log(f"  {name} ...")
        try:
            begun = time.perf_counter()
            engine = make().fit(train, labels, target=target, lengths=lengths, context=context)
            fitted = time.perf_counter()
            found = engine.predict_prefixes(test, lengths)
            timing = {
                "fit_seconds": fitted - begun,
                "predict_seconds": time.perf_counter() - fitted,
            }
        except Exception as exc:  # a failing engine is reported, the run goes on
            notes.append(f"{title}: {name} failed: {type(exc).__name__}: {exc}")
            continue
        timing["future_blind"] = future_blind(engine, test, max(1, lengths[len(lengths) // 2]))
        if timing["future_blind"] > 1e-9:
            notes.append(
                f"{title}: {name}'s predictions change when later events are removed "
                f"(by up to {timing['future_blind']:.3g})"
            )
        if hasattr(engine, "card"):
            timing["card"] = engine.card()
        done[name] = (engine, found, timing)
    return done


def outcome_task(
    task: Task,
    frame: pd.DataFrame,
    engines: dict[str, Any],
    args: argparse.Namespace,
    notes: list[str],
) -> dict[str, Any]:
    decisions = decisions_for(frame, task)
    decided = frame[frame["case"].isin(decisions.index)]
    decided = sample_cases(decided, args.cases, seed=args.seed)
    if args.protocol == "published":
        prefixes = published_cases(decided, decisions, task)
    else:
        prefixes = cut_before(decided, decisions)
    found_leaks = leaks(prefixes, decisions, revealing=task.revealing)
    if found_leaks and args.protocol == "strict":
        raise RuntimeError(f"{task.name}: prefixes could tell the label: {found_leaks}")
    labels = decisions["label"].reindex(prefixes["case"].unique())
    longest = task.max_prefix_length or max_prefix_length(prefixes, labels)
    lengths = list(range(1, longest + 1))
    train, test, split_time = temporal_split(prefixes, train_share=args.train_share)
    context = frame[["case", "timestamp"]]
    train_labels, test_labels, ran = compare_outcomes(
        engines, train, test, labels, lengths=lengths, notes=notes, title=task.name, context=context
    )
    results = {
        name: {**outcome_metrics(found, test_labels), **timing}
        for name, (_, found, timing) in ran.items()
    }
    counts = test.groupby(test.groupby("case", sort=False).cumcount() + 1)["case"].size()
    window = 1.0 - args.train_share
    earlier = [
        earlier_origin(
            share,
            window,
            prefixes,
            labels,
            {name: make for name, make in engines.items() if name != MAJORITY},
            lengths=lengths,
            notes=notes,
            title=task.name,
            context=context,
        )
        for share in args.origins
    ]
    return {
        "task": task.name,
        "log": task.log,
        "label": task.definition,
        "cases": len(labels),
        "cases_decided": len(decisions) if args.cases is None else None,
        "train_cases": len(train_labels),
        "test_cases": len(test_labels),
        "train_positive_share": float(train_labels.mean()),
        "test_positive_share": float(test_labels.mean()),
        "split_time": split_time.isoformat(),
        "max_prefix_length": longest,
        "events_kept": len(prefixes),
        "events_cut": len(decided) - len(prefixes),
        "test_prefixes_by_length": {int(k): int(v) for k, v in counts.items() if k <= longest},
        "leaks": found_leaks,
        "engines": results,
        "origins": earlier,
    }


def compare_outcomes(
    engines: dict[str, Any],
    train: pd.DataFrame,
    test: pd.DataFrame,
    labels: pd.Series,
    *,
    lengths: list[int],
    notes: list[str],
    title: str,
    context: pd.DataFrame,
) -> tuple[pd.Series, pd.Series, dict[str, tuple[Any, pd.DataFrame, dict[str, Any]]]]:
    """The training and test cases' labels, and each engine fitted on ``train`` and asked
    about ``test`` (:func:`run_engines`, the outcome target)."""
    train_labels = labels.reindex(train["case"].unique())
    test_labels = labels.reindex(test["case"].unique())
    log(
        f"{title}: {len(train_labels):,} cases train, {len(test_labels):,} test, prefixes up to "
        f"{max(lengths)} events ..."
    )
    ran = run_engines(
        engines,
        train,
        train_labels,
        test,
        target="outcome",
        lengths=lengths,
        notes=notes,
        title=title,
        context=context,
    )
    return train_labels, test_labels, ran


def earlier_origin(
    share: float,
    window: float,
    prefixes: pd.DataFrame,
    labels: pd.Series,
    engines: dict[str, Any],
    *,
    lengths: list[int],
    notes: list[str],
    title: str,
    context: pd.DataFrame,
) -> dict[str, Any]:
    """The same comparison with the split moved back: the oldest ``share`` of the cases
    train and the next ``window`` of them test (a rolling origin, every case older than
    the main test cases when ``share + window`` is at most the main training share)."""
    starts = prefixes.groupby("case")["timestamp"].min().sort_values(kind="stable")
    kept = starts.index[: int((share + window) * len(starts))]
    train, test, split_time = temporal_split(
        prefixes[prefixes["case"].isin(kept)], train_share=share / (share + window)
    )
    train_labels, test_labels, ran = compare_outcomes(
        engines,
        train,
        test,
        labels,
        lengths=lengths,
        notes=notes,
        title=f"{title} (origin {share:.0%})",
        context=context,
    )
    scored = {name: outcome_metrics(found, test_labels) for name, (_, found, _) in ran.items()}
    return {
        "train_share": share,
        "train_cases": len(train_labels),
        "test_cases": len(test_labels),
        "split_time": split_time.isoformat(),
        "engines": {
            name: {k: m[k] for k in ("auc", "auc_weighted", "auc_by_prefix_length")}
            for name, m in scored.items()
        },
    }


def remaining_task(
    name: str,
    spec: LogSpec,
    frame: pd.DataFrame,
    cases: pd.Index,
    longest: int,
    engines: dict[str, Any],
    args: argparse.Namespace,
    notes: list[str],
) -> dict[str, Any]:
    """Remaining time of a log's finished cases (those of its outcome tasks)."""
    whole = frame[frame["case"].isin(cases)]
    if spec.end_activities is not None:
        last = whole.groupby("case", sort=False)["activity"].last()
        whole = whole[whole["case"].isin(last.index[last.isin(spec.end_activities)])]
    whole = sample_cases(whole, args.cases, seed=args.seed).reset_index(drop=True)
    train, test, split_time = temporal_split(whole, train_share=args.train_share)
    ends = whole.groupby("case")["timestamp"].max()
    finished_by_split = ends.index[ends < split_time]
    train = train[train["case"].isin(finished_by_split)].reset_index(drop=True)
    lengths = list(range(1, longest + 1))
    truth = _remaining_truth(test, longest)
    log(
        f"{name} remaining time: {whole['case'].nunique():,} cases "
        f"({train['case'].nunique():,} train, {test['case'].nunique():,} test) ..."
    )
    ran = run_engines(
        engines,
        train,
        None,
        test,
        target="remaining-time",
        lengths=lengths,
        notes=notes,
        title=f"{name} remaining time",
        context=frame[["case", "timestamp"]],
    )
    return {
        "log": name,
        "cases": int(whole["case"].nunique()),
        "train_cases": int(train["case"].nunique()),
        "test_cases": int(test["case"].nunique()),
        "split_time": split_time.isoformat(),
        "max_prefix_length": longest,
        "end_activities": list(spec.end_activities) if spec.end_activities else None,
        "engines": {
            name: {**remaining_metrics(found, truth), **timing}
            for name, (_, found, timing) in ran.items()
        },
    }


def _remaining_truth(log: pd.DataFrame, longest: int) -> pd.DataFrame:
    """The true remaining hours of each prefix with events still to come (up to ``longest``)."""
    length = log.groupby("case", sort=False).cumcount() + 1
    size = log.groupby("case", sort=False)["case"].transform("size")
    truth = pd.DataFrame(
        {"case": log["case"], "prefix_length": length, "hours": remaining_hours(log)}
    )
    return truth[(length <= longest) & (length < size)].reset_index(drop=True)


def run(args: argparse.Namespace) -> dict[str, Any]:
    begun = time.perf_counter()
    notes: list[str] = []
    engines = make_engines(args, notes)
    tasks = [t for t in TASKS if not args.tasks or t.name in args.tasks]
    outcome_rows, remaining_rows = [], []
    for name, spec in LOGS.items():
        mine = [t for t in tasks if t.log == name]
        path = args.shared / spec.path
        if not mine:
            continue
        if not path.is_file():
            notes.append(f"{path} not found: {', '.join(t.name for t in mine)} skipped")
            continue
        log(f"reading {spec.path} ...")
        frame = read_log_frame(path, spec)
        rows = [outcome_task(task, frame, engines, args, notes) for task in mine]
        outcome_rows += rows
        if args.remaining:
            cases = decisions_for(frame, mine[0]).index
            longest = max(row["max_prefix_length"] for row in rows)
            remaining_rows.append(
                remaining_task(name, spec, frame, cases, longest, engines, args, notes)
            )
    summary = summarise(outcome_rows, remaining_rows)
    return {
        "benchmark": "predict",
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine_info(args),
        "settings": {
            "seed": args.seed,
            "train_share": args.train_share,
            "cases": args.cases,
            "trees": args.trees,
            "quick": args.quick,
            "protocol": args.protocol,
            "origins": args.origins,
            "tasks": [t.name for t in tasks],
        },
        "outcomes": outcome_rows,
        "remaining_time": remaining_rows,
        "summary": summary,
        "targets": targets(outcome_rows, remaining_rows, summary),
        "notes": notes,
        "elapsed_seconds": time.perf_counter() - begun,
    }


def summarise(outcomes: list[dict[str, Any]], remaining: list[dict[str, Any]]) -> dict[str, Any]:
    """Per engine: AUC averaged over the tasks, and seconds spent in all."""
    summary: dict[str, Any] = {}
    for engine in ENGINES:
        aucs = [r["engines"][engine]["auc"] for r in outcomes if engine in r["engines"]]
        seconds = sum(
            e["fit_seconds"] + e["predict_seconds"]
            for r in outcomes + remaining
            for name, e in r["engines"].items()
            if name == engine
        )
        if aucs:
            summary[engine] = {
                "mean_auc": float(np.mean(aucs)),
                "tasks": len(aucs),
                "seconds": seconds,
            }
    return summary


def targets(
    outcomes: list[dict[str, Any]], remaining: list[dict[str, Any]], summary: dict[str, Any]
) -> list[dict[str, Any]]:
    """PASS/MISS: beat the random forest on every task; AUC >= 0.75 over the tasks."""
    found = []
    for row in outcomes:
        engines = row["engines"]
        if KGSENTINEL in engines and FOREST in engines:
            ours, peer = engines[KGSENTINEL]["auc"], engines[FOREST]["auc"]
            found.append(
                {
                    "target": f"{row['task']}: AUC above the random forest's",
                    "value": ours,
                    "peer": peer,
                    "by": ours - peer,
                    "pass": ours > peer,
                }
            )
    for row in remaining:
        engines = row["engines"]
        if KGSENTINEL in engines and FOREST in engines:
            ours, peer = engines[KGSENTINEL]["mae_days"], engines[FOREST]["mae_days"]
            found.append(
                {
                    "target": f"{row['log']} remaining time: MAE below the random forest's",
                    "value": ours,
                    "peer": peer,
                    "by": peer - ours,
                    "pass": ours < peer,
                }
            )
    if KGSENTINEL in summary:
        mean = summary[KGSENTINEL]["mean_auc"]
        found.append(
            {
                "target": f"AUC >= {TARGET_AUC} averaged over the tasks",
                "value": mean,
                "peer": TARGET_AUC,
                "by": mean - TARGET_AUC,
                "pass": mean >= TARGET_AUC,
            }
        )
    return found


def machine_info(args: argparse.Namespace) -> dict[str, Any]:
    from importlib import metadata

    return {
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "pandas": metadata.version("pandas"),
        "scikit_learn": metadata.version("scikit-learn"),
        "kgsentinel": metadata.version("kgsentinel"),
        "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "git_commit": git_commit(),
    }


# -- the table ---------------------------------------------------------------------------------


def render(result: dict[str, Any]) -> str:
    machine, settings = result["machine"], result["settings"]
    lines = [
        f"kgsentinel predict benchmark, {settings.get('protocol', 'strict')} prefixes: "
        f"strict temporal split ({settings['train_share']:.0%} "
        f"oldest cases train), seed {settings['seed']}, "
        + (
            "all cases"
            if settings["cases"] is None
            else f"at most {settings['cases']:,} cases a log"
        )
        + f"; {machine['cpu_count']} CPUs, Python {machine['python']}, "
        f"scikit-learn {machine['scikit_learn']}",
        "",
        "outcomes (AUC: mean over prefix lengths 1..L; wtd: weighted by prefixes; Brier: all "
        "test prefixes; seconds: fit + predict)",
    ]
    header = (
        f"{'task':<19} {'cases train/test':>17} {'pos%':>5} {'L':>3}  {'engine':<27} "
        f"{'AUC':>6} {'wtd':>6} {'Brier':>6} {'fit s':>7} {'pred s':>7}"
    )
    lines += [header, "-" * len(header)]
    for row in result["outcomes"]:
        first = True
        for engine in ENGINES:
            if engine not in row["engines"]:
                continue
            e = row["engines"][engine]
            title = (
                f"{row['task']:<19} {row['train_cases']:>8,}/{row['test_cases']:<8,} "
                f"{100 * row['test_positive_share']:>5.1f} {row['max_prefix_length']:>3}"
                if first
                else " " * 47
            )
            lines.append(
                f"{title}  {engine:<27} {_f(e['auc'])} {_f(e['auc_weighted'])} "
                f"{_f(e['brier'])} {e['fit_seconds']:>7.1f} "
                f"{e['predict_seconds']:>7.1f}"
            )
            first = False
    for engine, values in result["summary"].items():
        lines.append(
            f"{'mean over ' + str(values['tasks']) + ' tasks':<47}  {engine:<27} "
            f"{_f(values['mean_auc'])}"
        )
    lines += [
        "",
        f"AUC by prefix length (test prefixes; '-': fewer than {MIN_CLASS} of a class, not scored)",
    ]
    for row in result["outcomes"]:
        shown = [k for k in SHOWN_LENGTHS if k <= row["max_prefix_length"]]
        lines.append(
            f"{row['task']:<19} {'prefixes':<27} "
            + " ".join(f"{row['test_prefixes_by_length'].get(k, 0):>5}" for k in shown)
        )
        lines.append(f"{'':<19} {'length':<27} " + " ".join(f"{k:>5}" for k in shown))
        for engine in ENGINES:
            if engine in row["engines"]:
                by = row["engines"][engine]["auc_by_prefix_length"]
                lines.append(
                    f"{'':<19} {engine:<27} " + " ".join(_f(by.get(k), 5, 2) for k in shown)
                )
    lines += _render_origins(result["outcomes"])
    if result["remaining_time"]:
        lines += [
            "",
            "remaining time (MAE in days: mean over prefix lengths 1..L; all: over all "
            "test prefixes with events to come)",
        ]
        header = (
            f"{'log':<19} {'cases train/test':>17} {'L':>3}  {'engine':<27} {'MAE':>7} "
            f"{'all':>7} {'fit s':>7} {'pred s':>7}"
        )
        lines += [header, "-" * len(header)]
        for row in result["remaining_time"]:
            first = True
            for engine in ENGINES:
                if engine not in row["engines"]:
                    continue
                e = row["engines"][engine]
                title = (
                    f"{row['log']:<19} {row['train_cases']:>8,}/{row['test_cases']:<8,} "
                    f"{row['max_prefix_length']:>3}"
                    if first
                    else " " * 41
                )
                lines.append(
                    f"{title}  {engine:<27} {e['mae_days']:>7.2f} {e['mae_days_all']:>7.2f}"
                    f" {e['fit_seconds']:>7.1f} {e['predict_seconds']:>7.1f}"
                )
                first = False
    lines += ["", "time per model (fit + predict, all tasks):"]
    for engine, values in result["summary"].items():
        lines.append(f"  {engine:<27} {values['seconds']:>8.1f} s")
    lines += ["", "targets (kgsentinel):"]
    if not result["targets"]:
        lines.append("  not measured: kgsentinel's outcome model did not run")
    for target in result["targets"]:
        mark = "PASS" if target["pass"] else "MISS"
        lines.append(
            f"  {target['target']:<58} {target['value']:>7.3f} vs {target['peer']:>7.3f} "
            f"({target['by']:+.3f})  {mark}"
        )
    if result["notes"]:
        lines += ["", "notes:", *(f"  {note}" for note in result["notes"])]
    if settings.get("protocol", "strict") == "strict":
        lines.append(
            "(prefixes stop before the event that decides the label and before anything logged "
            "less than a second before it; see benchmarks/predict_labels.py)"
        )
    else:
        lines.append(
            "(published prefixes: whole cases, so a case of k events is its own prefix of "
            "length k, deciding event included; each task's `leaks` in the JSON counts what "
            "they hold; the targets are judged on the strict run)"
        )
    lines.append(f"total {result['elapsed_seconds']:.0f} s")
    return "\n".join(lines)


def _render_origins(outcomes: list[dict[str, Any]]) -> list[str]:
    """The AUC (mean over prefix lengths) of kgsentinel and the forest at earlier origins."""
    rows = [(row, origin) for row in outcomes for origin in row.get("origins", [])]
    if not rows:
        return []
    lines = [
        "",
        "earlier origins (oldest share of the cases train, the next ones test; AUC mean "
        "over prefix lengths)",
        f"{'task':<19} {'origin':>6} {'cases train/test':>17} {'split':>10}  "
        f"{'kgsentinel':>10} {'forest':>7} {'lead':>7}",
    ]
    for row, origin in rows:
        engines = origin["engines"]
        mine = engines.get(KGSENTINEL, {}).get("auc")
        peer = engines.get(FOREST, {}).get("auc")
        lead = f"{mine - peer:>+7.3f}" if mine is not None and peer is not None else f"{'-':>7}"
        lines.append(
            f"{row['task']:<19} {origin['train_share']:>6.0%} "
            f"{origin['train_cases']:>8,}/{origin['test_cases']:<8,} {origin['split_time'][:10]}  "
            f"{_f(mine, 10)} {_f(peer, 7)} {lead}"
        )
    return lines


def _f(value: float | None, width: int = 6, digits: int = 3) -> str:
    return f"{value:>{width}.{digits}f}" if value is not None else f"{'-':>{width}}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--shared",
        type=Path,
        default=DEFAULT_SHARED,
        help="folder with event-logs/ (default ../shared/data from the repo)",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write the JSON")
    parser.add_argument("--quick", action="store_true", help="at most 1,000 cases a log")
    parser.add_argument(
        "--cases",
        type=int,
        default=None,
        help="at most this many cases a log, drawn at random (default all)",
    )
    parser.add_argument(
        "--tasks",
        nargs="*",
        default=None,
        choices=[t.name for t in TASKS],
        help="only these tasks (default all)",
    )
    parser.add_argument(
        "--no-remaining",
        dest="remaining",
        action="store_false",
        help="skip the remaining-time task",
    )
    parser.add_argument(
        "--protocol",
        choices=("strict", "published"),
        default="strict",
        help="strict: every prefix stops before its case's decision (the targets' figures); "
        "published: whole cases, as Teinemaa et al.'s benchmark (a prefix may hold its label)",
    )
    parser.add_argument("--train-share", type=float, default=0.8)
    parser.add_argument(
        "--origins",
        type=float,
        nargs="*",
        default=[],
        metavar="SHARE",
        help="also compare kgsentinel and the forest with the split moved back: the oldest "
        "SHARE of the cases train, the next 1 - train-share test (e.g. 0.4 0.6)",
    )
    parser.add_argument("--trees", type=int, default=300, help="trees of the random forest")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.quick and args.cases is None:
        args.cases = 1000
    for share in args.origins:
        if not 0 < share < args.train_share:
            parser.error(f"--origins {share:g}: a share of the cases between 0 and "
                         f"{args.train_share:g} (--train-share), e.g. 0.4")  # fmt: skip
    if not args.shared.is_dir():
        parser.error(f"--shared {args.shared} is not a folder (it should hold event-logs/)")
    result = run(args)
    print(render(result))
    write_result(args.out, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
