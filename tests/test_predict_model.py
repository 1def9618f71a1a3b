"""Outcome models on a log where the outcome is learnable: a case with a Rework step ends late."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io as sio

from kgsentinel.detectors.events import as_event_log
from kgsentinel.errors import PredictionError
from kgsentinel.predict import OutcomeModel, finished_cases, outcome_labels
from kgsentinel.predict.model import MIN_CASES

SLA_HOURS = 150


def rework_log(cases: int = 300, seed: int = 0) -> pd.DataFrame:
    """NPI cases two a day; a third redo their formulation, and every step of theirs is slower."""
    rng = np.random.default_rng(seed)
    rows = []
    start = pd.Timestamp("2025-01-01", tz="UTC")
    for case in range(cases):
        rework = rng.random() < 0.35
        time = start + pd.Timedelta(hours=12 * case + rng.uniform(0, 6))
        steps = ["Brief", "Formulation", *(["Rework", "Formulation"] if rework else []),
                 "Safety assessment", "Packaging order", "Launch"]  # fmt: skip
        market = rng.choice(["EU", "US", "APAC"])
        for step in steps:
            time += pd.Timedelta(hours=float(rng.lognormal(np.log(30 if rework else 20), 0.3)))
            rows.append((str(case), step, time, rng.choice(["ann", "bob", "eve"]),
                         float(rng.uniform(100, 200)), market))  # fmt: skip
    columns = ["case_id", "activity", "timestamp", "resource", "cost", "market"]
    return as_event_log(pd.DataFrame(rows, columns=columns))


@pytest.fixture(scope="module")
def log() -> pd.DataFrame:
    return rework_log()


@pytest.fixture(scope="module")
def labels(log: pd.DataFrame) -> pd.Series:
    return outcome_labels(log, "slower-than", hours=SLA_HOURS)


@pytest.fixture(scope="module")
def model(log: pd.DataFrame, labels: pd.Series) -> OutcomeModel:
    return OutcomeModel.train(log, labels)


@pytest.fixture(scope="module")
def timer(log: pd.DataFrame) -> OutcomeModel:
    return OutcomeModel.train(log, target="remaining-time")


def newest(log: pd.DataFrame, share: float = 0.2) -> pd.DataFrame:
    starts = log.groupby("case")["timestamp"].min().sort_values()
    chosen = starts.index[-round(len(starts) * share) :]
    return log[log["case"].isin(chosen)].reset_index(drop=True)


def cut(log: pd.DataFrame, events: int) -> pd.DataFrame:
    return log[log.groupby("case").cumcount() < events].reset_index(drop=True)


def test_the_outcome_is_learned_and_measured_on_the_newest_cases(
    model: OutcomeModel, labels: pd.Series
) -> None:
    metrics = model.metrics
    assert metrics["auc"] > 0.85
    assert metrics["auc_by_prefix_length"][3] > 0.95  # Rework (or not) is seen by step 3
    share = metrics["positive_share"]
    assert metrics["brier"] < share * (1 - share)  # better than always saying the base rate
    assert model.card["cases"] == {"train": 240, "test": 60, "all": 300}
    assert 0.25 < labels.mean() < 0.45


def test_the_card_records_the_training_window_and_how_it_was_trained(
    model: OutcomeModel, log: pd.DataFrame
) -> None:
    card = model.card
    starts = log.groupby("case")["timestamp"].min().sort_values()
    assert pd.Timestamp(card["window"]["first_case_start"]) == starts.iloc[0]
    assert pd.Timestamp(card["window"]["last_case_start"]) == starts.iloc[-1]
    assert pd.Timestamp(card["window"]["test_from"]) == starts.iloc[240]
    assert card["target"] == "outcome"
    assert "count:activity=Rework" in card["features"]
    assert card["parameters"]["max_prefix_length"] == 7
    assert card["parameters"]["calibration"] == "sigmoid"
    assert set(card["versions"]) >= {"kgsentinel", "scikit-learn"}
    json.dumps(card)


def test_running_cases_get_a_calibrated_probability_and_its_reasons(
    model: OutcomeModel, log: pd.DataFrame
) -> None:
    running = cut(newest(log), 3)
    predicted = model.predict(running)
    assert list(predicted.columns) == ["case", "case_id", "prefix_length", "value", "features"]
    assert len(predicted) == running["case"].nunique()
    assert (predicted["prefix_length"] == 3).all()
    assert predicted["value"].between(0, 1).all()
    reworked = running.loc[running["activity"] == "Rework", "case"].unique()
    risky = predicted["case"].isin(reworked)
    assert predicted.loc[risky, "value"].min() > predicted.loc[~risky, "value"].max()
    names = set(model.encoder.get_feature_names_out())
    for features in predicted["features"]:
        assert 1 <= len(features) <= 3
        assert {name for name, _, _ in features} <= names
        effects = [abs(contribution) for _, _, contribution in features]
        assert effects == sorted(effects, reverse=True)
    reasons = predicted.loc[risky, "features"].iloc[0]
    assert reasons[0][0] in ("count:activity=Rework", "last:activity=Rework", "repeats")
    assert reasons[0][2] > 0  # the Rework step raised the chance of being late


def test_probabilities_are_calibrated_on_held_out_prefixes(
    model: OutcomeModel, log: pd.DataFrame, labels: pd.Series
) -> None:
    held_out = newest(log)
    scored = model.predict_prefixes(held_out, lengths=[4, 5])
    truth = labels.reindex(scored["case"]).to_numpy()
    assert abs(scored["value"].mean() - truth.mean()) < 0.1


def test_prefixes_of_given_lengths_are_scored_where_cases_have_them(
    model: OutcomeModel, log: pd.DataFrame
) -> None:
    scored = model.predict_prefixes(log.head(14), lengths=[1, 6, 50])
    assert list(scored.columns) == ["case", "prefix_length", "value"]
    assert sorted(set(scored["prefix_length"])) <= [1, 6]
    assert (scored["prefix_length"] == 1).sum() == log.head(14)["case"].nunique()


def test_remaining_time_beats_always_guessing_the_mean(
    timer: OutcomeModel, log: pd.DataFrame
) -> None:
    assert set(timer.metrics) >= {"mae_hours", "mae_by_prefix_length"}
    held_out = newest(log)
    older = log[~log["case"].isin(held_out["case"])]
    scored = timer.predict_prefixes(held_out, lengths=range(1, 8))

    def remaining(frame: pd.DataFrame) -> pd.Series:
        last = frame.groupby("case")["timestamp"].transform("max")
        return (last - frame["timestamp"]).dt.total_seconds() / 3600

    truth = remaining(held_out).to_numpy()[held_out.groupby("case").cumcount() < 7]
    mean_guess = remaining(older).mean()
    model_mae = np.abs(scored["value"].to_numpy() - truth).mean()
    guess_mae = np.abs(truth - mean_guess).mean()
    assert model_mae < 0.7 * guess_mae
    assert timer.metrics["mae_hours"] < 0.7 * guess_mae  # measured before it saw these cases
    assert (timer.predict(cut(held_out, 2))["value"] >= 0).all()


def test_a_saved_model_predicts_the_same_after_loading(
    model: OutcomeModel, log: pd.DataFrame, tmp_path: Path
) -> None:
    running = cut(newest(log), 4)
    model.save(tmp_path / "model")
    assert sorted(p.name for p in (tmp_path / "model").iterdir()) == ["card.json", "model.skops"]
    loaded = OutcomeModel.load(tmp_path / "model")
    pd.testing.assert_frame_equal(loaded.predict(running), model.predict(running))
    assert loaded.card == model.card
    assert json.loads((tmp_path / "model" / "card.json").read_text())["target"] == "outcome"


def test_a_saved_remaining_time_model_round_trips(
    timer: OutcomeModel, log: pd.DataFrame, tmp_path: Path
) -> None:
    running = cut(newest(log), 2)
    timer.save(tmp_path)
    again = OutcomeModel.load(tmp_path).predict(running)
    pd.testing.assert_frame_equal(again, timer.predict(running))


class Payload:
    """A type no model holds."""


def test_a_tampered_model_file_naming_another_type_is_refused(
    model: OutcomeModel, tmp_path: Path
) -> None:
    model.save(tmp_path)
    sio.dump({"encoder": model.encoder, "estimator": Payload()}, tmp_path / "model.skops")
    with pytest.raises(PredictionError, match=r"refusing .*test_predict_model\.Payload"):
        OutcomeModel.load(tmp_path)


def test_a_damaged_model_file_is_refused(model: OutcomeModel, tmp_path: Path) -> None:
    model.save(tmp_path)
    (tmp_path / "model.skops").write_bytes(b"not a model")
    with pytest.raises(PredictionError, match="train it again"):
        OutcomeModel.load(tmp_path)


def test_loading_from_a_folder_without_a_model_says_to_train(tmp_path: Path) -> None:
    with pytest.raises(PredictionError, match=r"no saved model in .*train one first"):
        OutcomeModel.load(tmp_path)


def test_too_few_finished_cases_says_how_many_and_the_minimum(log: pd.DataFrame) -> None:
    few = log[log["case_id"].astype(int) < 12]
    labels = outcome_labels(few, "reaches", activity="Rework")
    with pytest.raises(PredictionError, match=rf"only 12 finished cases.*at least {MIN_CASES}"):
        OutcomeModel.train(few, labels)


def test_a_single_outcome_class_names_it_and_suggests_another_target(log: pd.DataFrame) -> None:
    labels = outcome_labels(log, "slower-than", hours=10_000)
    with pytest.raises(PredictionError, match=r"never happened in all 300.*another outcome"):
        OutcomeModel.train(log, labels)


def test_a_rare_outcome_says_how_rare(log: pd.DataFrame, labels: pd.Series) -> None:
    rare = labels.copy()
    rare[:] = 0
    rare.iloc[:3] = 1
    with pytest.raises(PredictionError, match="only 3 of 300 finished cases are with"):
        OutcomeModel.train(log, rare)


def test_an_activity_no_case_reaches_names_close_ones(log: pd.DataFrame) -> None:
    with pytest.raises(PredictionError, match=r"no case reaches activity 'Reworks'.*'Rework'"):
        outcome_labels(log, "reaches", activity="Reworks")


def test_a_prefix_length_beyond_every_case_says_the_longest(
    model: OutcomeModel, log: pd.DataFrame
) -> None:
    with pytest.raises(PredictionError, match=r"no case of the log has 12 events.*longest has 7"):
        model.predict_prefixes(log, lengths=[12, 20])


def test_outcome_training_needs_labels_and_a_known_target(log: pd.DataFrame) -> None:
    with pytest.raises(PredictionError, match=r"needs labels.*outcome_labels"):
        OutcomeModel.train(log)
    with pytest.raises(PredictionError, match=r"unknown target 'risk'.*remaining-time"):
        OutcomeModel.train(log, target="risk")
    with pytest.raises(PredictionError, match="labels must be 0 or 1"):
        OutcomeModel.train(log, pd.Series(2, index=log["case"].unique()))


def test_finished_cases_are_those_that_reached_an_end(log: pd.DataFrame) -> None:
    running = log[~((log["case_id"] == "5") & (log["activity"] == "Launch"))]
    finished = finished_cases(running)
    assert len(finished) == 299
    assert "urn:kgsentinel:log:case/5" not in finished
    assert len(finished_cases(running, end_activities=["Packaging order"])) == 1
    with pytest.raises(PredictionError, match=r"no case of the 300 .*has finished.*'Launch'"):
        finished_cases(running, end_activities=["Archive"])


def test_outcome_kinds_label_cases(log: pd.DataFrame) -> None:
    reaches = outcome_labels(log, "reaches", activity="Rework")
    never = outcome_labels(log, "never-reaches", activity="Rework")
    assert (reaches + never == 1).all()
    assert reaches.index.name == "case"
    with pytest.raises(PredictionError, match="unknown outcome kind 'late'"):
        outcome_labels(log, "late")
    with pytest.raises(PredictionError, match="needs hours > 0"):
        outcome_labels(log, "slower-than")


def test_remaining_time_follows_what_the_first_event_tells() -> None:
    """Cases opened by bob are reworked and take four weeks, ana's four days: known at once."""
    rows = []
    for case in range(120):
        bob = case % 3 == 0
        steps = ["Brief", "Formulation", *(["Rework", "Formulation"] if bob else []), "Launch"]
        gap = pd.Timedelta(days=7 if bob else 2)
        start = pd.Timestamp("2026-01-01", tz="UTC") + pd.Timedelta(days=case)
        rows += [(str(case), step, start + k * gap, ("bob" if bob else "ana") if k == 0 else "lab")
                 for k, step in enumerate(steps)]  # fmt: skip
    log = as_event_log(pd.DataFrame(rows, columns=["case_id", "activity", "timestamp", "resource"]))
    timer = OutcomeModel.train(log, target="remaining-time")
    predicted = timer.predict(cut(log[log["case_id"].isin(["117", "118"])], 1))
    bob, ana = predicted["value"].tolist()
    assert bob == pytest.approx(28 * 24, rel=0.1)
    assert ana == pytest.approx(4 * 24, rel=0.1)


def test_an_attribute_few_cases_have_and_a_constant_one_train_and_leave_the_card_honest(
    log: pd.DataFrame, labels: pd.Series
) -> None:
    """Like road traffic fines' matricola: one old case has it, so a calibration fold has none."""
    table = log.drop(columns=["case", "event"]).assign(office="Rome")
    table["matricola"] = np.where(table["case_id"] == "3", 1234.0, np.nan)
    table = table.rename(columns=lambda c: c.removeprefix("attr:"))
    rare = as_event_log(table, event_id="event_id")
    model = OutcomeModel.train(rare, labels)
    features, dropped = model.card["features"], model.card["dropped_features"]
    assert "case:matricola" in features
    assert "case:office=Rome" in dropped
    assert "case:office=Rome" not in features
    assert len(features) + len(dropped) == len(model.encoder.get_feature_names_out())
    assert model.metrics["auc"] > 0.85
    running = cut(newest(rare), 3)
    assert model.predict(running)["value"].between(0, 1).all()


def test_remaining_time_of_two_groups_of_durations_keeps_the_long_group_in_view() -> None:
    """Fines: two in three are paid within 5 to 20 days, the rest collected after about two years.

    A fine just created does not tell which it will be: the model keeps the collected fines in
    view (about 200 days, each fine weighing the same), not the middle of a log scale (about
    50 days), which would miss every one of them by nearly two years; once the fine is sent,
    it says when the collection comes.
    """
    rng = np.random.default_rng(1)
    rows = []
    for case in range(300):
        start = pd.Timestamp("2020-01-01", tz="UTC") + pd.Timedelta(days=case)
        rows.append((str(case), "Create Fine", start, rng.choice(["ann", "bob"])))
        if rng.random() < 0.65:
            rows.append(
                (str(case), "Payment", start + pd.Timedelta(days=rng.uniform(5, 20)), "bank")
            )
        else:
            rows.append((str(case), "Send Fine", start + pd.Timedelta(days=90), "post"))
            collected = start + pd.Timedelta(days=rng.uniform(650, 750))
            rows.append((str(case), "Send for Credit Collection", collected, "agency"))
    log = as_event_log(pd.DataFrame(rows, columns=["case_id", "activity", "timestamp", "resource"]))
    left = (log.groupby("case")["timestamp"].transform("max") - log["timestamp"]).dt.days
    when_created = left[log["activity"] == "Create Fine"]
    log_middle = np.expm1(np.log1p(when_created).mean())
    timer = OutcomeModel.train(log, target="remaining-time")
    fresh = timer.predict_prefixes(log, lengths=[1])["value"] / 24
    assert 3 * log_middle < fresh.median() < when_created.mean()
    sent = timer.predict_prefixes(log, lengths=[2])
    sent = sent[sent["case"].isin(log.loc[log["activity"] == "Send Fine", "case"])]["value"] / 24
    assert 560 < sent.median() < 660  # collected 560 to 660 days after it is sent
    assert sent.min() > 300


def drifting_fines(days: int = 1600, seed: int = 0) -> pd.DataFrame:
    """One fine a day; three in five paid within 5 to 20 days, the rest collected about two
    years on; the amount goes up by 1 every 100 days."""
    rng = np.random.default_rng(seed)
    rows = []
    for case in range(days):
        start = pd.Timestamp("2020-01-01", tz="UTC") + pd.Timedelta(days=case)
        amount = 20.0 + case // 100
        rows.append((str(case), "Create Fine", start, amount))
        if rng.random() < 0.6:
            paid = start + pd.Timedelta(days=rng.uniform(5, 20))
            rows.append((str(case), "Payment", paid, amount))
        else:
            rows.append((str(case), "Send Fine", start + pd.Timedelta(days=90), amount))
            collected = start + pd.Timedelta(days=rng.uniform(650, 750))
            rows.append((str(case), "Send for Credit Collection", collected, amount))
    return as_event_log(pd.DataFrame(rows, columns=["case_id", "activity", "timestamp", "amount"]))


def test_remaining_time_does_not_learn_that_recent_cases_are_quick() -> None:
    """The store holds the fines finished by now: every paid one, but only the collected fines
    of two years ago and more. Of the fines with this year's amounts, only the paid have
    finished; learning from them, a new fine (with a new amount) is told two weeks, where it
    has about 300 days left on average. Learning only from fines followed up long enough,
    it is told months."""
    every = drifting_fines()
    now = pd.Timestamp("2020-01-01", tz="UTC") + pd.Timedelta(days=1500)
    ends, starts = (every.groupby("case")["timestamp"].agg(how) for how in ("max", "min"))
    finished = every[every["case"].isin(ends.index[ends < now])]
    new = every[every["case"].isin(starts.index[starts >= now])]
    left = (new.groupby("case")["timestamp"].transform("max") - new["timestamp"]).dt.days
    truth = left[new["activity"] == "Create Fine"].mean()

    def told(**options: object) -> float:
        timer = OutcomeModel.train(finished, target="remaining-time", **options)
        return timer.predict_prefixes(new, lengths=[1])["value"].mean() / 24

    followed, every_prefix = told(), told(follow_up=None)
    assert every_prefix < 30 < 200 < truth
    assert followed > 5 * every_prefix
    assert abs(truth - followed) < abs(truth - every_prefix)


def test_follow_up_is_a_share_and_on_the_card() -> None:
    log = drifting_fines(days=300)
    with pytest.raises(PredictionError, match="follow_up must be between 0 and 1"):
        OutcomeModel.train(log, target="remaining-time", follow_up=1.5)
    timer = OutcomeModel.train(log, target="remaining-time", follow_up=0.9)
    assert timer.card["parameters"]["follow_up"] == 0.9


def busy_weeks_log(weeks: int = 24, seed: int = 0) -> pd.DataFrame:
    """Cases alike in every step, busy weeks (six a day) and quiet ones (one a day) in turn;
    a case started when more than 20 cases started in the week up to it waits five days
    before its last step, else half a day."""
    rng = np.random.default_rng(seed)
    cases = []
    begin = pd.Timestamp("2025-01-06", tz="UTC")
    for day in range(7 * weeks):
        for k in range(6 if (day // 7) % 2 else 1):
            cases.append((f"{day}-{k}", begin + pd.Timedelta(days=day, hours=rng.uniform(8, 17))))
    cases.sort(key=lambda case: case[1])
    starts = pd.DatetimeIndex([t for _, t in cases]).asi8
    week = np.searchsorted(starts, starts, side="right") - np.searchsorted(
        starts, starts - pd.Timedelta(days=7).value, side="right"
    )
    rows = []
    for (case, start), busy in zip(cases, week > 20, strict=True):
        wait = rng.uniform(100, 140) if busy else rng.uniform(8, 16)
        times = [start, start + pd.Timedelta(hours=rng.uniform(1, 4))]
        times.append(times[-1] + pd.Timedelta(hours=wait))
        steps = ("Brief", "Formulation", "Safety assessment")
        rows += [(case, step, time, rng.choice(["ann", "bob"]))
                 for step, time in zip(steps, times, strict=True)]  # fmt: skip
    return as_event_log(pd.DataFrame(rows, columns=["case_id", "activity", "timestamp",
                                                    "resource"]))  # fmt: skip


def test_remaining_time_driven_by_load_is_learned_from_the_workload_feature() -> None:
    log = busy_weeks_log()
    model = OutcomeModel.train(log, target="remaining-time")
    assert "workload:started_7d_vs_90d" in model.card["features"]
    # nothing in a case itself tells busy weeks apart: without the feature, off by 31 hours
    assert max(model.metrics["mae_by_prefix_length"][k] for k in (1, 2)) < 16
    after = log["timestamp"].max() + pd.Timedelta(days=30)  # the history ends a month before
    rush = as_event_log(pd.DataFrame({  # 30 new cases in the five days up to the newest
        "case_id": [f"new-{k}" for k in range(30)], "activity": "Brief",
        "timestamp": [after - pd.Timedelta(hours=4 * k) for k in range(30)]}))  # fmt: skip
    newest_case = rush[rush["case_id"] == "new-0"]
    alone = model.predict(newest_case)["value"].iloc[0]
    told = model.predict(newest_case, context=rush)
    assert alone < 48 < told["value"].iloc[0]  # only the other new cases make it busy
    assert told["features"].iloc[0][0][0] == "workload:started_7d_vs_90d"


def test_outcome_models_do_not_read_the_workload(model: OutcomeModel) -> None:
    names = model.encoder.get_feature_names_out()
    assert not [name for name in names if name.startswith("workload:")]


def test_a_model_saved_before_the_workload_feature_still_loads_and_predicts(
    log: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import kgsentinel.predict.model as module

    with monkeypatch.context() as patched:
        patched.setattr(module, "WORKLOAD_TARGETS", ())
        old = OutcomeModel.train(log, target="remaining-time")
    for attribute in ("workload_days", "workload_days_"):  # as encoders were before it
        del old.encoder.__dict__[attribute]
    old.save(tmp_path)
    loaded = OutcomeModel.load(tmp_path)
    assert "workload" not in repr(loaded.encoder)
    running = cut(newest(log), 3)
    pd.testing.assert_frame_equal(loaded.predict(running, context=log), old.predict(running))


def test_a_model_saved_before_category_columns_still_loads_and_predicts(
    log: pd.DataFrame, labels: pd.Series, tmp_path: Path
) -> None:
    """Such a model's encoder has no ``case_coded_`` and its boosting no ``categorical``."""
    old = OutcomeModel.train(log, labels)
    del old.encoder.__dict__["case_coded_"]
    for fold in old.estimator.calibrated_classifiers_:
        del fold.estimator.__dict__["categorical"]
    old.save(tmp_path)
    loaded = OutcomeModel.load(tmp_path)
    assert "case:market=EU" in loaded.encoder.get_feature_names_out()
    assert not loaded.encoder.categorical_columns().any()
    running = cut(newest(log), 3)
    pd.testing.assert_frame_equal(loaded.predict(running), old.predict(running))


def diagnosis_log(cases: int = 900, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """Admissions with one of 90 diagnoses (10 cases each); one in three diagnoses is severe
    and its patients mostly end in intensive care (the label), one in ten either way by chance."""
    rng = np.random.default_rng(seed)
    rows, labels = [], {}
    start = pd.Timestamp("2025-01-01", tz="UTC")
    for case in range(cases):
        code = int(rng.integers(90))
        severe = (code % 3 == 0) != (rng.random() < 0.1)
        time = start + pd.Timedelta(hours=8 * case)
        for step, hours in (("Admission", 0), ("Lab test", 2), ("Triage", 3)):
            rows.append((str(case), step, time + pd.Timedelta(hours=hours), "nurse",
                         f"D{code:02d}" if step == "Admission" else None))  # fmt: skip
        labels[str(case)] = int(severe)
    table = pd.DataFrame(rows, columns=["case_id", "activity", "timestamp", "resource",
                                        "diagnosis"])  # fmt: skip
    log = as_event_log(table)
    iris = log.drop_duplicates("case").set_index("case_id")["case"]
    return log, pd.Series(labels).rename(index=iris)


def test_a_case_attribute_of_many_rare_values_is_learned_and_explained_as_text() -> None:
    """90 diagnoses are more than a vocabulary of one column a value keeps: the boosting
    learns which of them are severe from a single column of categories."""
    log, labels = diagnosis_log()
    model = OutcomeModel.train(log, labels)
    assert model.metrics["auc"] > 0.8
    assert model.card["category_features"] == ["case:diagnosis"]
    running = cut(newest(log), 1)
    predicted = model.predict(running)
    severe = labels.reindex(predicted["case"]).to_numpy() == 1
    assert predicted["value"][severe].mean() > predicted["value"][~severe].mean() + 0.3
    reasons = dict((name, value) for name, value, _ in predicted["features"].iloc[0])
    diagnosis = running[running["case"] == predicted["case"].iloc[0]]["attr:diagnosis"].iloc[0]
    assert reasons.get("case:diagnosis") == diagnosis
