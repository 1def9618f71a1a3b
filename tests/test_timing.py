"""Duration and stuck-case detectors: a step far slower than usual, a case waiting far too long,
with typical and observed hours; ordinary variation never flagged."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from kgsentinel.detectors.events import as_event_log
from kgsentinel.detectors.timing import DurationDetector, StuckCaseDetector, format_hours

#: each step and its median hours after the previous one
STEPS = {"Brief": 0.0, "Formulation": 48.0, "Stability test": 240.0, "Safety assessment": 72.0,
         "Launch": 24.0}  # fmt: skip
START = pd.Timestamp("2026-01-01", tz="UTC")


def history(cases: int = 300, seed: int = 1, spread: float = 0.3) -> list[tuple]:
    """Rows (case, activity, time, start) with lognormal waits around the usual ones."""
    rng = np.random.default_rng(seed)
    rows = []
    for n in range(cases):
        clock = START + pd.Timedelta(hours=float(rng.uniform(0, 2000)))
        for step, hours in STEPS.items():
            wait = hours * float(rng.lognormal(0.0, spread))
            clock += pd.Timedelta(hours=wait)
            work = float(rng.lognormal(np.log(2.0), 0.2))
            rows.append((f"c{n}", step, clock, clock - pd.Timedelta(hours=work)))
    return rows


def event_log(rows: list[tuple]) -> pd.DataFrame:
    table = pd.DataFrame(rows, columns=["case_id", "activity", "timestamp", "start"])
    table["start"] = table["start"].map(lambda t: t.isoformat())
    return as_event_log(table)


def one_case(waits: dict[str, float], case: str = "new", works: dict[str, float] | None = None):
    """Rows of one case whose steps come ``waits`` hours apart (each working 2 hours)."""
    clock, rows = START, []
    for step, hours in waits.items():
        clock += pd.Timedelta(hours=hours)
        work = (works or {}).get(step, 2.0)
        rows.append((case, step, clock, clock - pd.Timedelta(hours=work)))
    return rows


@pytest.fixture(scope="module")
def fitted() -> DurationDetector:
    return DurationDetector().fit(event_log(history()))


def test_ordinary_variation_is_never_slow(fitted: DurationDetector) -> None:
    assert fitted.findings(event_log(history(seed=2))) == []


def test_a_step_twenty_times_slower_than_usual(fitted: DurationDetector) -> None:
    waits = {**STEPS, "Stability test": 20 * 240.0}
    [finding] = fitted.findings(event_log(one_case(waits)))
    assert finding.kind == "slow"
    assert finding.activity == "Stability test"
    assert finding.event_id == "new/3"
    assert finding.key == "new/3:wait"
    assert finding.explanation.startswith("Stability test took 200.0 days; usually ")
    assert finding.explanation.endswith(" days (from Formulation)")
    hours = finding.evidence[0]
    assert hours.label == "hours from Formulation to Stability test"
    assert hours.observed == pytest.approx(4800.0)
    assert hours.expected == pytest.approx(240.0, rel=0.1)
    z = finding.evidence[1]
    assert z.observed > fitted.z_threshold_
    assert 0.5 < finding.score <= 1.0


def test_the_score_grows_with_how_slow(fitted: DurationDetector) -> None:
    scores = [fitted.findings(event_log(one_case({**STEPS, "Launch": 24.0 * factor})))[0].score
              for factor in (8, 15, 40)]  # fmt: skip
    assert scores == sorted(scores)
    assert scores[0] >= 0.5


def test_a_steps_own_duration_from_its_start_time(fitted: DurationDetector) -> None:
    assert fitted.steps_ is not None
    assert set(fitted.steps_["activity"]) == set(STEPS)
    [finding] = fitted.findings(event_log(one_case(STEPS, works={"Safety assessment": 40.0})))
    assert finding.key == "new/4:work"
    assert finding.explanation.startswith("Safety assessment took 40.0 hours to do; usually 2.0")


def test_a_rare_transition_is_judged_by_its_activity() -> None:
    rows = history(200)
    rows += one_case({"Brief": 0, "Stability test": 230.0, "Formulation": 50.0}, case="odd")
    detector = DurationDetector().fit(event_log(rows))
    late = one_case({"Brief": 0, "Stability test": 230.0 * 20, "Formulation": 50.0})
    [finding] = detector.findings(event_log(late))
    assert finding.activity == "Stability test"
    assert finding.explanation.endswith("(from any step)")


def test_times_that_never_vary_still_allow_some_slack() -> None:
    rows = [row for n in range(40)
            for row in one_case({"Brief": 0, "Formulation": 2.0}, case=f"c{n}")]  # fmt: skip
    detector = DurationDetector().fit(event_log(rows))
    found = detector.findings(event_log(
        one_case({"Brief": 0, "Formulation": 2.2}, case="a")
        + one_case({"Brief": 0, "Formulation": 10.0}, case="b")
    ))  # fmt: skip
    assert [f.case_id for f in found] == ["b"]


def test_far_faster_steps_only_when_asked() -> None:
    log = event_log(history())
    quick = event_log(one_case({**STEPS, "Stability test": 240.0 / 30}))
    assert DurationDetector().fit(log).findings(quick) == []
    [finding] = DurationDetector(fast=True).fit(log).findings(quick)
    assert finding.kind == "unusual-value"
    assert finding.activity == "Stability test"


def test_the_threshold_is_a_parameter(fitted: DurationDetector) -> None:
    assert fitted.z_threshold_ >= 3.5
    lenient = DurationDetector(z_threshold=1.0, tail_ratio=None).fit(event_log(history()))
    assert lenient.z_threshold_ == 1.0
    assert len(lenient.findings(event_log(history(seed=2)))) > 0
    assert clone(lenient).get_params()["z_threshold"] == 1.0


def test_injected_slow_steps_are_found() -> None:
    from kgsentinel.simulate import generate, inject

    table, labels = inject(generate("npi", cases=400, seed=3), share=0.1, kinds=["duration"],
                           seed=4)  # fmt: skip
    log = as_event_log(table)
    found = DurationDetector().fit(log).findings(log)
    flagged = {f.case_id for f in found}
    truth = set(labels["case_id"].astype(str))
    assert len(flagged & truth) / len(truth) >= 0.9
    assert len(flagged & truth) / len(flagged) >= 0.9
    assert {f.kind for f in found} == {"slow"}


# --- stuck cases ---------------------------------------------------------------------------


def test_a_running_case_waiting_far_too_long_is_stuck() -> None:
    rows = history()
    now = max(row[2] for row in rows)
    detector = StuckCaseDetector(now=now).fit(event_log(rows))
    assert detector.end_activities_ == ["Launch"]
    started = {"Brief": 0, "Formulation": 48.0}
    stuck = one_case(started, case="stuck")
    stuck = [(c, a, now - pd.Timedelta(days=60) + (t - START), s) for c, a, t, s in stuck]
    moving = [(c, a, now - pd.Timedelta(hours=1) + (t - START), s)
              for c, a, t, s in one_case(started, case="moving")]  # fmt: skip
    log = event_log(rows + stuck + moving)
    [finding] = detector.findings(log)
    assert finding.kind == "stuck"
    assert finding.case_id == "stuck"
    assert finding.activity == "Formulation"
    assert finding.event_id == log.loc[log["case_id"] == "stuck", "event_id"].iloc[-1]
    assert finding.explanation.startswith("No event for 58.0 days since Formulation; the next "
                                          "step usually follows Formulation within ")  # fmt: skip
    waiting = finding.evidence[0]
    assert waiting.observed == pytest.approx(58 * 24.0)
    assert waiting.expected == pytest.approx(240.0, rel=0.1)  # Stability test comes next


def test_now_defaults_to_the_latest_event_and_can_be_given() -> None:
    rows = history()
    latest = max(row[2] for row in rows)
    running = [(c, a, latest - pd.Timedelta(days=40) + (t - START), s)
               for c, a, t, s in one_case({"Brief": 0}, case="r")]  # fmt: skip
    log = event_log(rows + running)
    assert [f.case_id for f in StuckCaseDetector().fit(log).findings(log)] == ["r"]
    early = StuckCaseDetector(now=latest - pd.Timedelta(days=39, hours=23)).fit(log)
    assert early.findings(log) == []


def test_end_activities_can_be_given() -> None:
    rows = history()
    latest = max(row[2] for row in rows)
    ended = [(c, a, latest - pd.Timedelta(days=40) + (t - START), s)
             for c, a, t, s in one_case({"Brief": 0, "Formulation": 48.0}, case="x")]  # fmt: skip
    log = event_log(rows + ended)
    assert len(StuckCaseDetector().fit(log).findings(log)) == 1
    given = StuckCaseDetector(end_activities=["Launch", "Formulation"]).fit(log)
    assert given.end_activities_ == ["Formulation", "Launch"]
    assert given.findings(log) == []


def test_where_cases_routinely_stop_is_an_end() -> None:
    rows = history(200)
    for n in range(40):  # a fifth of the cases stop for good after Safety assessment
        rows = [r for r in rows if not (r[0] == f"c{n}" and r[1] == "Launch")]
    detector = StuckCaseDetector().fit(event_log(rows))
    assert detector.end_activities_ == ["Launch", "Safety assessment"]


def test_bad_input_is_explained() -> None:
    with pytest.raises(ValueError, match="not fitted"):
        StuckCaseDetector().findings(event_log(history(5)))
    with pytest.raises(ValueError, match="not fitted"):
        DurationDetector().findings(event_log(history(5)))
    with pytest.raises(ValueError, match="no column 'timestamp'"):
        DurationDetector().fit(pd.DataFrame({"case": ["a"], "case_id": ["a"], "event_id": ["1"],
                                             "activity": ["x"]}))  # fmt: skip


def test_hours_in_words() -> None:
    assert format_hours(0.5) == "30 minutes"
    assert format_hours(47.0) == "47.0 hours"
    assert format_hours(24 * 9.5) == "9.5 days"


def test_a_step_that_is_almost_always_instant_is_slow_at_an_hour() -> None:
    rng = np.random.default_rng(3)
    rows = []
    for n in range(300):
        clock = START + pd.Timedelta(hours=float(rng.uniform(0, 2000)))
        logged = clock + pd.Timedelta(seconds=float(rng.uniform(0, 30)))  # logged together
        rows += [(f"c{n}", "Register", clock, clock), (f"c{n}", "Acknowledge", logged, logged)]
    late = [("late", "Register", START, START),
            ("late", "Acknowledge", START + pd.Timedelta(hours=5), START)]  # fmt: skip
    sooner = [("sooner", "Register", START, START),
              ("sooner", "Acknowledge", START + pd.Timedelta(minutes=20), START)]  # fmt: skip
    log = event_log(rows + late + sooner)
    found = DurationDetector().fit(log).findings(log)
    assert [(f.case_id, f.activity) for f in found] == [("late", "Acknowledge")]
    assert found[0].explanation == (
        "Acknowledge took 5.0 hours; usually within a minute (from Register: 99.3% of the times)"
    )
    assert found[0].evidence[0].expected == 0.0
    assert found[0].evidence[0].observed == 5.0
