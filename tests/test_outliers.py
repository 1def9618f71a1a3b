"""Case features, the isolation forest estimator and the outlier-case detector."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from kgsentinel.detectors.base import EventLogDetector
from kgsentinel.detectors.events import as_event_log
from kgsentinel.detectors.features import CaseFeatures, describe_feature
from kgsentinel.detectors.outliers import CaseOutlierDetector, IsolationForestDetector

STEPS = ("Brief", "Formulation", "Stability test", "Safety assessment", "Regulatory filing",
         "Artwork", "Packaging order", "Production", "Launch")  # fmt: skip


def make_table(cases: int = 300, seed: int = 0) -> pd.DataFrame:
    """Regular cases: the nine steps in order, about a day apart, by a handful of people."""
    rng = np.random.default_rng(seed)
    rows = []
    start = pd.Timestamp("2026-01-01", tz="UTC")
    for number in range(cases):
        time = start + pd.Timedelta(days=float(rng.uniform(0, 300)))
        for step in STEPS:
            time += pd.Timedelta(hours=float(rng.gamma(9.0, 3.0)))
            rows.append({"case_id": f"C{number:04d}", "activity": step, "timestamp": time,
                         "resource": f"{step[:3]}-{rng.integers(3)}",
                         "cost": round(float(1000 * rng.lognormal(0.0, 0.2)), 2)})  # fmt: skip
    return pd.DataFrame(rows)


def odd_case(case_id: str = "ODD") -> pd.DataFrame:
    """A case that goes round and round: 40 events over four months, all by one person."""
    times = pd.date_range("2026-03-01", periods=40, freq="3D", tz="UTC")
    return pd.DataFrame({"case_id": case_id, "activity": [STEPS[i % 3] for i in range(40)],
                         "timestamp": times, "resource": "Bri-0", "cost": 1000.0})  # fmt: skip


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return make_table()


# -- CaseFeatures ----------------------------------------------------------------------------


def test_case_features_count_time_and_summarise_each_case() -> None:
    table = pd.DataFrame({
        "case_id": ["a", "a", "a", "b"],
        "activity": ["Brief", "Formulation", "Formulation", "Brief"],
        "timestamp": ["2026-01-01T00:00Z", "2026-01-01T06:00Z", "2026-01-02T00:00Z",
                      "2026-01-05T00:00Z"],
        "resource": ["ann", "bob", "bob", None],
        "cost": [10.0, 20.0, 60.0, None],
    })  # fmt: skip
    log = as_event_log(table)
    features = CaseFeatures().fit(log)
    frame = features.transform(log)
    assert list(frame.index) == ["urn:kgsentinel:log:case/a", "urn:kgsentinel:log:case/b"]
    assert list(frame.columns) == list(features.get_feature_names_out())
    a, b = frame.iloc[0], frame.iloc[1]
    assert (a["events"], a["duration_hours"], a["activities"], a["resources"]) == (3, 24, 2, 2)
    assert (a["count:Formulation"], a["hours_to:Formulation"]) == (2, 6)
    assert (a["mean:cost"], a["max:cost"]) == (30, 60)
    assert (b["events"], b["duration_hours"], b["resources"]) == (1, 0, 0)
    assert b["count:Formulation"] == 0
    assert np.isnan(b["hours_to:Formulation"])
    assert np.isnan(b["mean:cost"])


def test_case_features_count_activities_unknown_at_fit_time() -> None:
    history = as_event_log(make_table(cases=5))
    override = pd.DataFrame({"case_id": ["C0000"], "activity": ["Manual override"],
                             "timestamp": [pd.Timestamp("2027-01-01", tz="UTC")],
                             "resource": ["x"], "cost": [1.0]})  # fmt: skip
    new = as_event_log(pd.concat([make_table(cases=1), override]))
    frame = CaseFeatures(first_times=False, attributes=False).fit(history).transform(new)
    assert frame["unknown_activities"].tolist() == [1.0]
    assert frame["events"].tolist() == [10.0]
    assert not any(name.startswith(("hours_to:", "mean:")) for name in frame.columns)


def test_features_are_described_in_words() -> None:
    assert describe_feature("events", 14, 9) == "14 events (usually 9)"
    assert describe_feature("resources", 2, 7) == "2 distinct resources (usually 7)"
    assert describe_feature("duration_hours", 1200.4, 96) == "1,200 h long (usually 96 h)"
    assert describe_feature("hours_to:Launch", np.nan, 96) == "no Launch (usually after 96 h)"
    assert describe_feature("mean:cost", 52_000, 1_200) == "mean cost 52,000 (usually 1,200)"


def test_case_features_drop_into_a_pipeline(table: pd.DataFrame) -> None:
    log = as_event_log(pd.concat([table, odd_case()]))
    model = IsolationForestDetector(depth=1 / 3, random_state=0)
    pipeline = Pipeline([("features", CaseFeatures()), ("model", model)]).fit(log)
    cases = pipeline["features"].transform(log).index
    assert list(cases[pipeline.predict(log) == -1]) == ["urn:kgsentinel:log:case/ODD"]
    names = pipeline["features"].get_feature_names_out()
    assert list(pipeline["model"].feature_names_in_) == list(names)


# -- IsolationForestDetector -----------------------------------------------------------------


@parametrize_with_checks([IsolationForestDetector(n_estimators=20)])
def test_isolation_forest_detector_is_a_scikit_learn_estimator(estimator, check) -> None:
    check(estimator)


def test_the_automatic_threshold_keeps_normal_rows_and_flags_far_ones() -> None:
    rng = np.random.default_rng(1)
    normal = rng.normal(size=(2000, 3))
    X = np.vstack([normal, [[9.0, 9.0, 0.0], [-8.0, 0.0, 8.0]]])
    model = IsolationForestDetector(depth=1 / 3, random_state=0).fit(X)
    assert np.flatnonzero(model.predict(X) == -1).tolist() == [2000, 2001]
    decision = model.decision_function(X)
    assert (decision[:2000] > 0).all()
    assert (decision[2000:] < 0).all()
    scores = model.outlier_score(X)
    assert (scores[2000:] > 0.5).all()
    assert (scores[:2000] < 0.5).all()


def test_a_float_contamination_flags_that_share_of_the_training_rows() -> None:
    X = np.random.default_rng(2).normal(size=(1000, 2))
    model = IsolationForestDetector(contamination=0.05, random_state=0).fit(X)
    assert (model.predict(X) == -1).mean() == pytest.approx(0.05, abs=0.005)
    with pytest.raises(ValueError, match="contamination"):
        IsolationForestDetector(contamination=0.9).fit(X)


def test_explain_names_the_features_where_a_row_is_extreme() -> None:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(rng.normal(size=(500, 4)), columns=["a", "b", "c", "d"])
    frame.loc[len(frame)] = [0.0, 0.1, 12.0, np.nan]
    model = IsolationForestDetector(random_state=0).fit(frame)
    [reasons] = model.explain(frame.tail(1), top=2)
    assert [r.feature for r in reasons] == ["c"]
    (top,) = reasons
    assert (top.value, top.tail) == (12.0, pytest.approx(2 / 502))
    assert top.contribution > 0.9
    assert abs(top.usual) < 0.2


# -- CaseOutlierDetector ---------------------------------------------------------------------


def test_the_outlier_case_is_found_and_explained(table: pd.DataFrame) -> None:
    log = as_event_log(pd.concat([table, odd_case()]))
    detector = CaseOutlierDetector()
    assert isinstance(detector, EventLogDetector)
    [finding] = detector.fit(log).findings(log)
    assert (finding.kind, finding.case_id) == ("outlier-case", "ODD")
    assert finding.subject == "urn:kgsentinel:log:case/ODD"
    assert finding.explanation.startswith("unusual: ")
    assert "40 events (usually 9)" in finding.explanation
    features = [e for e in finding.evidence if e.feature is not None]
    assert features
    assert all(e.contribution > 0 for e in features)
    events = next(e for e in features if e.feature == "events")
    assert (events.observed, events.expected) == (40, 9)
    forest = finding.evidence[-1]
    assert forest.observed < forest.expected
    assert 0.5 < finding.score <= 1.0


def test_no_outliers_in_normal_variety(table: pd.DataFrame) -> None:
    log = as_event_log(table)
    assert CaseOutlierDetector().fit(log).findings(log) == []


def test_too_few_cases_are_not_judged() -> None:
    log = as_event_log(pd.concat([make_table(cases=20), odd_case()]))
    detector = CaseOutlierDetector().fit(log)
    assert detector.pipeline_ is None
    assert detector.findings(log) == []
    assert [f.case_id for f in CaseOutlierDetector(min_cases=10).fit(log).findings(log)] == ["ODD"]


def test_new_cases_are_judged_against_the_whole_log(table: pd.DataFrame) -> None:
    # as the runner does: learn from all the cases, report on the new ones only
    new = as_event_log(pd.concat([make_table(cases=30, seed=7), odd_case("NEW")]))
    log = pd.concat([as_event_log(table), new], ignore_index=True)
    detector = CaseOutlierDetector().fit(log)
    assert [f.case_id for f in detector.findings(new)] == ["NEW"]
    assert detector.findings(as_event_log(table)) == []
