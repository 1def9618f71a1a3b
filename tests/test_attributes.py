"""Resource and value detectors on small seeded logs whose anomalies are known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kgsentinel.detectors.attributes import ResourceDetector, ValueDetector, learn_pools
from kgsentinel.detectors.base import EventLogDetector
from kgsentinel.detectors.events import as_event_log

STEPS = ("Brief", "Formulation", "Stability test", "Regulatory filing", "Launch")
#: each step's pool (members and weights: one busy, one occasional) and median amount
POOLS = {
    "Brief": (["M1", "M2", "M3"], [0.6, 0.35, 0.05]),
    "Formulation": (["C1", "C2", "C3", "C4"], [0.4, 0.3, 0.2, 0.1]),
    "Stability test": (["L1", "L2"], [0.7, 0.3]),
    "Regulatory filing": (["R1", "R2", "R3"], [0.5, 0.3, 0.2]),
    "Launch": (["M1", "M2"], [0.5, 0.5]),
}
AMOUNTS = {"Brief": 800, "Formulation": 12_000, "Stability test": 6_000,
           "Regulatory filing": 2_500, "Launch": 20_000}  # fmt: skip
COLOURS = {"Brief": ["red"], "Formulation": ["red", "green"], "Stability test": ["blue"],
           "Regulatory filing": ["red", "green", "blue"], "Launch": ["green"]}  # fmt: skip


def make_table(cases: int = 400, seed: int = 0) -> pd.DataFrame:
    """A normal log: every case does the steps in order, by its pools, with an amount."""
    rng = np.random.default_rng(seed)
    rows = []
    start = pd.Timestamp("2026-01-01", tz="UTC")
    for number in range(cases):
        time = start + pd.Timedelta(hours=float(rng.uniform(0, 5000)))
        for step in STEPS:
            time += pd.Timedelta(hours=float(rng.gamma(4.0, 6.0)))
            members, weights = POOLS[step]
            rows.append({
                "case_id": f"C{number:04d}", "activity": step, "timestamp": time,
                "resource": str(rng.choice(members, p=weights)),
                "amount": round(float(AMOUNTS[step] * rng.lognormal(0.0, 0.3)), 2),
                "colour": str(rng.choice(COLOURS[step])),
                "order": f"O{number:04d}-{step[:3]}",
            })  # fmt: skip
    return pd.DataFrame(rows)


def change(table: pd.DataFrame, case: str, step: str, **values: object) -> pd.DataFrame:
    changed = table.copy()
    where = (changed["case_id"] == case) & (changed["activity"] == step)
    for column, value in values.items():
        changed.loc[where, column] = value
    return changed


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return make_table()


def test_detectors_follow_the_event_log_protocol() -> None:
    assert isinstance(ResourceDetector(), EventLogDetector)
    assert isinstance(ValueDetector(), EventLogDetector)
    with pytest.raises(TypeError):
        ResourceDetector(30)  # type: ignore[misc]


def test_no_findings_on_normal_variety(table: pd.DataFrame) -> None:
    log = as_event_log(table)
    assert ResourceDetector().fit(log).findings(log) == []
    assert ValueDetector().fit(log).findings(log) == []


# -- resources -------------------------------------------------------------------------------


def test_a_resource_from_another_pool_is_flagged_with_the_usual_pool(table: pd.DataFrame) -> None:
    log = as_event_log(change(table, "C0042", "Regulatory filing", resource="L2"))
    [finding] = ResourceDetector().fit(log).findings(log)
    assert finding.kind == "unusual-resource"
    assert (finding.case_id, finding.activity, finding.key) == ("C0042", "Regulatory filing", "L2")
    event = log[(log["case_id"] == "C0042") & (log["activity"] == "Regulatory filing")]
    assert finding.subject == event["event"].item()
    assert finding.event_id == event["event_id"].item()
    assert finding.explanation == (
        "Regulatory filing by L2, who did it in 1 of 400 cases; usually R1, R2, R3"
    )
    usual, share, count, own = finding.evidence
    assert (usual.expected, usual.observed) == ("R1, R2, R3", "L2")
    assert share.observed == pytest.approx(1 / 400)
    assert share.observed <= share.expected
    assert count.observed == 1
    assert own.observed == "Stability test"
    assert 0.5 < finding.score <= 1.0


def test_an_occasional_regular_is_not_flagged_but_a_stranger_is(table: pd.DataFrame) -> None:
    # M3 does Brief in about 5% of cases and nothing else: rare, but regular
    log = as_event_log(change(table, "C0007", "Stability test", resource="newcomer"))
    findings = ResourceDetector().fit(log).findings(log)
    assert [(f.case_id, f.key) for f in findings] == [("C0007", "newcomer")]
    assert not any(f.key == "M3" for f in findings)


def test_history_never_showing_the_pair_gives_zero_cases_and_top_score(table: pd.DataFrame) -> None:
    history = as_event_log(table)
    new = as_event_log(change(make_table(cases=20, seed=9), "C0003", "Formulation", resource="R1"))
    [finding] = ResourceDetector().fit(history).findings(new)
    assert finding.explanation.startswith("Formulation by R1, who did it in 0 of 400 cases")
    assert finding.score == 1.0


def test_events_without_a_resource_are_ignored(table: pd.DataFrame) -> None:
    log = as_event_log(change(table, "C0011", "Launch", resource=None))
    assert log["resource"].isna().sum() == 1
    assert ResourceDetector().fit(log).findings(log) == []


def test_too_little_history_is_not_judged(table: pd.DataFrame) -> None:
    small = change(table[table["case_id"] < "C0100"], "C0005", "Launch", resource="L1")
    log = as_event_log(small)
    assert ResourceDetector(min_cases=200).fit(log).findings(log) == []
    [finding] = ResourceDetector().fit(log).findings(log)
    assert (finding.case_id, finding.key) == ("C0005", "L1")


def test_the_tail_share_can_be_set(table: pd.DataFrame) -> None:
    log = as_event_log(table)
    assert ResourceDetector().fit(log).findings(log) == []
    # M3 does Brief in about 5% of its cases: a stray only where the tail may hold 6%
    loose = ResourceDetector(tail=0.06).fit(log).findings(log)
    assert {(f.activity, f.key) for f in loose} == {("Brief", "M3")}
    assert len(loose) == (table[table["activity"] == "Brief"]["resource"] == "M3").sum()


def with_steps(
    table: pd.DataFrame, case: str, resource: str, steps: tuple[str, ...]
) -> pd.DataFrame:
    changed = table.copy()
    changed.loc[(changed["case_id"] == case) & changed["activity"].isin(steps),
                "resource"] = resource  # fmt: skip
    return changed


def test_a_stray_in_a_pool_of_one_is_flagged_however_busy_the_stray() -> None:
    # every case is submitted by the portal; R1 is busy filing, and submits once
    table = make_table().assign(activity=lambda t: t["activity"].replace({"Brief": "Submit"}))
    table.loc[table["activity"] == "Submit", "resource"] = "portal"
    log = as_event_log(change(table, "C0150", "Submit", resource="R1"))
    [finding] = ResourceDetector().fit(log).findings(log)
    assert (finding.case_id, finding.activity, finding.key) == ("C0150", "Submit", "R1")
    assert finding.explanation == "Submit by R1, who did it in 1 of 400 cases; usually portal"
    assert finding.evidence[-1].observed == "Regulatory filing"
    assert finding.score > 0.8


def test_nobody_is_a_stray_where_many_resources_each_do_a_little(table: pd.DataFrame) -> None:
    # Review by a pool of 30, and by 20 others once each: 5% of its cases
    rng = np.random.default_rng(7)
    reviewers = [f"V{i:02d}" for i in range(30)]
    review = table[table["activity"] == "Launch"].assign(
        activity="Review", timestamp=lambda t: t["timestamp"] + pd.Timedelta(hours=1),
        resource=rng.choice(reviewers, size=400))  # fmt: skip
    review.iloc[:20, review.columns.get_loc("resource")] = [f"once-{i}" for i in range(20)]
    log = as_event_log(pd.concat([table, review], ignore_index=True))
    assert ResourceDetector().fit(log).findings(log) == []
    assert ResourceDetector(tail=0.06).fit(log).findings(log) != []


def test_a_newcomer_handling_a_whole_case_is_not_a_stray(table: pd.DataFrame) -> None:
    whole = with_steps(table, "C0010", "newcomer", STEPS)
    log = as_event_log(whole)
    assert ResourceDetector().fit(log).findings(log) == []
    one_step = with_steps(table, "C0010", "newcomer", ("Formulation",))
    log = as_event_log(one_step)
    [finding] = ResourceDetector().fit(log).findings(log)
    assert (finding.case_id, finding.activity) == ("C0010", "Formulation")


def test_a_stray_doing_its_own_steps_of_the_case_too_is_flagged(table: pd.DataFrame) -> None:
    # L1 runs the stability test of C0020, as usual, and its launch, never otherwise
    case = table[table["case_id"] == "C0020"]
    assert (case["activity"] == "Stability test").any()
    changed = change(with_steps(table, "C0020", "L1", ("Stability test",)), "C0020", "Launch",
                     resource="L1")  # fmt: skip
    log = as_event_log(changed)
    [finding] = ResourceDetector().fit(log).findings(log)
    assert (finding.case_id, finding.activity, finding.key) == ("C0020", "Launch", "L1")


def test_a_resource_that_does_the_step_along_with_its_work_is_variety(
    table: pd.DataFrame,
) -> None:
    # R1 files and also launches in three cases: part of its work, not a stray
    changed = table
    for case in ("C0030", "C0031", "C0032"):
        changed = with_steps(changed, case, "R1", ("Regulatory filing", "Launch"))
    log = as_event_log(changed)
    assert ResourceDetector().fit(log).findings(log) == []
    # three lone launches by R1, in cases filed by others, are strays
    changed = table
    for case in ("C0030", "C0031", "C0032"):
        changed = change(with_steps(changed, case, "R2", ("Regulatory filing",)), case,
                         "Launch", resource="R1")  # fmt: skip
    log = as_event_log(changed)
    found = ResourceDetector().fit(log).findings(log)
    assert sorted(f.case_id for f in found) == ["C0030", "C0031", "C0032"]
    assert {f.explanation.split(",")[0] for f in found} == {"Launch by R1"}


# -- values ----------------------------------------------------------------------------------


def test_a_numeric_value_far_above_the_activity_range_is_flagged(table: pd.DataFrame) -> None:
    log = as_event_log(change(table, "C0100", "Formulation", amount=250_000.0))
    [finding] = ValueDetector().fit(log).findings(log)
    assert finding.kind == "unusual-value"
    assert (finding.case_id, finding.activity, finding.key) == ("C0100", "Formulation",
                                                               "attr:amount")  # fmt: skip
    assert finding.explanation.startswith("amount 250,000 for Formulation, usually ")
    usual, z = finding.evidence
    low, high = (float(x.replace(",", "")) for x in usual.expected.split(" to "))
    assert low < 12_000 < high < 250_000
    assert usual.observed == 250_000.0
    assert z.observed >= z.expected >= 4.0
    assert "log amount" in z.label


def test_findings_on_part_of_the_log_name_the_right_events(table: pd.DataFrame) -> None:
    log = as_event_log(change(table, "C0390", "Brief", amount=20_000.0, resource="L1"))
    part = log[log["case_id"] >= "C0380"]
    assert part.index[0] > 0
    for detector in (ValueDetector(), ResourceDetector()):
        [finding] = detector.fit(log).findings(part)
        event = part[(part["case_id"] == "C0390") & (part["activity"] == "Brief")]
        assert (finding.case_id, finding.subject) == ("C0390", event["event"].item())


def test_a_value_far_below_is_flagged_too_and_scores_grow_with_distance(
    table: pd.DataFrame,
) -> None:
    changed = change(table, "C0200", "Launch", amount=900.0)
    changed = change(changed, "C0201", "Launch", amount=90.0)
    log = as_event_log(changed)
    findings = {f.case_id: f for f in ValueDetector().fit(log).findings(log)}
    assert set(findings) == {"C0200", "C0201"}
    assert findings["C0201"].score > findings["C0200"].score > 0.5


@pytest.fixture(scope="module")
def big() -> pd.DataFrame:
    return make_table(cases=600, seed=1)


def test_a_rare_category_is_flagged_and_identifiers_are_skipped(big: pd.DataFrame) -> None:
    log = as_event_log(change(big, "C0300", "Stability test", colour="purple"))
    detector = ValueDetector().fit(log)
    assert "attr:order" not in detector.text_columns_
    [finding] = detector.findings(log)
    assert finding.key == "attr:colour"
    assert finding.explanation == (
        "colour 'purple' for Stability test, seen in 1 of 600 events; usually blue"
    )
    usual, share = finding.evidence
    assert (usual.expected, usual.observed) == ("blue", "purple")
    assert share.observed == pytest.approx(1 / 600)


def test_a_category_that_recurs_is_variety(big: pd.DataFrame) -> None:
    changed = big
    for case in ("C0100", "C0200", "C0300"):
        changed = change(changed, case, "Stability test", colour="purple")
    log = as_event_log(changed)
    assert ValueDetector().fit(log).findings(log) == []
    loose = ValueDetector(rare_share=0.01).fit(log).findings(log)
    assert sorted(f.case_id for f in loose) == ["C0100", "C0200", "C0300"]


def test_yes_no_flags_are_not_judged(big: pd.DataFrame) -> None:
    flags = np.zeros(len(big))
    flags[7] = 1.0
    log = as_event_log(big.assign(urgent=flags, checked=np.where(flags > 0, "true", "false")))
    detector = ValueDetector().fit(log)
    assert "attr:urgent" not in detector.numeric_columns_
    assert "attr:checked" not in detector.text_columns_
    assert detector.findings(log) == []


def test_a_case_attribute_copied_on_every_event_is_reported_once(big: pd.DataFrame) -> None:
    changed = big.assign(channel=np.where(np.arange(len(big)) % 10 < 7, "web", "store"))
    case = changed["case_id"] == "C0123"
    changed.loc[case, "channel"] = "fax"
    changed["channel"] = changed.groupby("case_id")["channel"].transform("first")
    log = as_event_log(changed)
    [finding] = ValueDetector().fit(log).findings(log)
    assert (finding.case_id, finding.key, finding.activity) == ("C0123", "attr:channel", "Brief")
    assert finding.evidence[-1].observed == len(STEPS)


def test_a_numeric_attribute_with_few_values_is_judged_as_categories(big: pd.DataFrame) -> None:
    rng = np.random.default_rng(3)
    changed = big.assign(quantity=rng.choice([1.0, 2.0, 5.0], size=len(big), p=[0.6, 0.3, 0.1]))
    changed = change(changed, "C0050", "Brief", quantity=3.0)
    log = as_event_log(changed)
    [finding] = ValueDetector().fit(log).findings(log)
    assert (finding.case_id, finding.key) == ("C0050", "attr:quantity")
    assert finding.explanation.startswith("quantity '3' for Brief, seen in 1 of 600 events")


def test_a_number_in_a_few_steps_far_above_them_all_is_flagged(big: pd.DataFrame) -> None:
    # ages in steps of five: few distinct values, judged as categories and as numbers
    rng = np.random.default_rng(11)
    changed = big.assign(age=rng.choice(np.arange(20, 95, 5), size=len(big)).astype(float))
    changed.loc[changed["activity"] != "Brief", "age"] = np.nan
    log = as_event_log(change(changed, "C0077", "Brief", age=390.0))
    found = ValueDetector().fit(log).findings(log)
    assert [(f.case_id, f.key) for f in found] == [("C0077", "attr:age")]
    assert found[0].explanation.startswith("age 390 for Brief, usually ")


def skewed_table(cases: int = 2400, seed: int = 2) -> pd.DataFrame:
    """One test per case: a level near 100, with a long tail of low readings down to 20."""
    rng = np.random.default_rng(seed)
    level = rng.normal(100.0, 5.0, cases)
    low = rng.random(cases) < 0.1
    level[low] = rng.uniform(20.0, 95.0, low.sum())
    return pd.DataFrame({"case_id": [f"T{i:05d}" for i in range(cases)], "activity": "Test",
                         "timestamp": pd.Timestamp("2026-01-01", tz="UTC"),
                         "level": level.round(2)})  # fmt: skip


def test_a_long_tail_on_one_side_does_not_hide_a_value_far_out_on_the_other() -> None:
    table = skewed_table()
    table.loc[7, "level"] = 150.0  # ten standard deviations above, nowhere near the low tail
    log = as_event_log(table)
    detector = ValueDetector().fit(log)
    above, below = detector.numeric_.loc[("attr:level", "Test"), ["above", "below"]]
    assert below > 2 * above
    found = detector.findings(log)
    assert [f.case_id for f in found] == ["T00007"]
    assert found[0].evidence[1].expected == round(above, 3)


def test_a_category_seen_more_than_once_in_a_large_group_recurs() -> None:
    table = skewed_table(cases=1500).drop(columns="level").assign(unit="mg/dl")
    once = table.assign(unit=np.where(table["case_id"] == "T00009", "mmol/l", table["unit"]))
    [finding] = ValueDetector().fit(as_event_log(once)).findings(as_event_log(once))
    assert (finding.case_id, finding.key) == ("T00009", "attr:unit")
    # seen twice in 1,500 (one in 750): recurring, though still under one in 500
    twice = table.assign(unit=np.where(table["case_id"].isin(["T00009", "T00900"]), "mmol/l",
                                       table["unit"]))  # fmt: skip
    log = as_event_log(twice)
    assert [f for f in ValueDetector().fit(log).findings(log) if f.key == "attr:unit"] == []
    loose = ValueDetector(rare_share=0.004).fit(log).findings(log)
    assert sorted(f.case_id for f in loose if f.key == "attr:unit") == ["T00009", "T00900"]


def test_zero_mad_falls_back_to_the_mean_absolute_deviation(table: pd.DataFrame) -> None:
    rng = np.random.default_rng(5)
    fee = np.where(rng.random(len(table)) < 0.7, 100.0, 100.0 + rng.uniform(0, 30, len(table)))
    changed = change(table.assign(fee=fee.round(2)), "C0060", "Launch", fee=400.0)
    log = as_event_log(changed)
    detector = ValueDetector().fit(log)
    assert (detector.numeric_.loc["attr:fee", "scale"] > 0).all()
    assert [(f.case_id, f.key) for f in detector.findings(log)] == [("C0060", "attr:fee")]


def test_the_z_threshold_can_be_set(table: pd.DataFrame) -> None:
    log = as_event_log(table)
    assert ValueDetector().fit(log).findings(log) == []
    loose = ValueDetector(z_threshold=2.0).fit(log)
    assert (loose.numeric_[["above", "below"]] == 2.0).all(axis=None)
    assert len(loose.findings(log)) > 10


# -- on simulated logs -----------------------------------------------------------------------


@pytest.mark.parametrize("model", ["npi", "order-to-cash"])
def test_injected_attribute_anomalies_are_found_precisely(model: str) -> None:
    from kgsentinel.simulate import generate, inject

    changed, labels = inject(generate(model, cases=600, seed=4), share=0.08,
                             kinds=("attribute",), seed=4)  # fmt: skip
    log = as_event_log(changed)
    flagged = {f.case_id for detector in (ResourceDetector(), ValueDetector())
               for f in detector.fit(log).findings(log)}  # fmt: skip
    truth = set(labels["case_id"])
    assert len(truth) >= 40
    assert len(flagged & truth) / len(flagged) >= 0.95
    assert len(flagged & truth) / len(truth) >= 0.8


def test_learn_pools_needs_a_steep_drop_to_call_a_value_rare() -> None:
    counts = pd.DataFrame({"g": ["even"] * 3 + ["steep"] * 3, "v": ["a", "b", "c"] * 2,
                           "count": [50, 30, 20, 60, 39, 1]})  # fmt: skip
    values, groups = learn_pools(counts, ["g"], "v", min_support=30, min_gap=5, coverage=0.95)
    rare = values.join(groups["threshold"], on="g").query("share <= threshold")
    assert rare[["g", "v"]].values.tolist() == [["steep", "c"]]
    assert groups.loc["steep", "usual"] == "a, b"
