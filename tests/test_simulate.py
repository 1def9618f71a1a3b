"""Simulated logs have the variety their models promise; injected anomalies are what they say."""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np
import pandas as pd
import pytest

from kgsentinel.detectors.events import as_event_log
from kgsentinel.simulate import (
    FOREIGN_ACTIVITIES,
    KINDS,
    MODELS,
    Activity,
    And,
    Loop,
    Model,
    Opt,
    Pool,
    Seq,
    Xor,
    generate,
    get_model,
    inject,
    read_log_table,
)


@pytest.fixture(scope="module")
def npi() -> pd.DataFrame:
    return generate("npi", cases=1000, seed=7)


@pytest.fixture(scope="module")
def injected(npi: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    return inject(npi, share=0.2, seed=11)


def traces(log: pd.DataFrame) -> dict[str, list[str]]:
    return log.groupby("case_id", sort=False)["activity"].agg(list).to_dict()


def follows_share(log: pd.DataFrame) -> dict[tuple[str, str], float]:
    """How often b directly follows a, among everything that directly follows a."""
    nxt = log.groupby("case_id")["activity"].shift(-1)
    pairs = pd.DataFrame({"a": log["activity"], "b": nxt}).dropna()
    counts = pairs.value_counts()
    return (counts / pairs["a"].value_counts().reindex(counts.index.get_level_values(0)).values
            ).to_dict()  # fmt: skip


def by_case(log: pd.DataFrame) -> dict[str, pd.DataFrame]:
    return {key: rows.reset_index(drop=True) for key, rows in log.groupby("case_id", sort=False)}


@pytest.fixture(scope="module")
def cases_before(npi: pd.DataFrame) -> dict[str, pd.DataFrame]:
    return by_case(npi)


@pytest.fixture(scope="module")
def cases_after(injected: tuple[pd.DataFrame, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    return by_case(injected[0])


# --- the generator ---------------------------------------------------------------------------


def test_same_seed_same_log_and_another_seed_another() -> None:
    first = generate("loan", cases=200, seed=3)
    assert first.equals(generate("loan", cases=200, seed=3))
    other = generate("loan", cases=200, seed=4)
    assert not first["timestamp"].equals(other["timestamp"])
    assert traces(first) != traces(other)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_model_gives_an_event_log_in_its_own_order(name: str) -> None:
    table = generate(name, cases=300, seed=1)
    model = get_model(name)
    assert set(table.columns) >= {"case_id", "activity", "timestamp", "resource", model.value_name}
    assert table["case_id"].nunique() == 300
    assert set(table["activity"]) == set(model.activity_names())
    assert table.groupby("case_id")["timestamp"].apply(lambda t: t.is_monotonic_increasing).all()
    assert not table.duplicated(["case_id", "timestamp"]).any()  # no ties: the order is clear
    log = as_event_log(table)
    assert log["activity"].tolist() == table["activity"].tolist()


def test_both_branches_of_a_choice_occur_in_their_proportions(npi: pd.DataFrame) -> None:
    runs = traces(npi)
    made = sum("Production" in t for t in runs.values()) / len(runs)
    outsourced = sum("Contract manufacturing" in t for t in runs.values()) / len(runs)
    assert made == pytest.approx(0.75, abs=0.04)
    assert made + outsourced == pytest.approx(1.0)
    assert not any("Production" in t and "Contract manufacturing" in t for t in runs.values())


def test_parallel_steps_occur_in_both_orders(npi: pd.DataFrame) -> None:
    runs = traces(npi).values()
    filing_first = sum(t.index("Regulatory filing") < t.index("Artwork") for t in runs)
    assert 0.25 < filing_first / len(runs) < 0.75


def test_loops_and_optional_steps_occur_in_about_their_share(npi: pd.DataFrame) -> None:
    runs = list(traces(npi).values())
    reworked = sum(t.count("Formulation") > 1 for t in runs) / len(runs)
    assert reworked == pytest.approx(0.15, abs=0.03)
    assert all(t.count("Formulation") == t.count("Stability test") <= 4 for t in runs)
    tested = sum("Consumer test" in t for t in runs) / len(runs)
    assert tested == pytest.approx(0.3, abs=0.04)


def test_each_activity_is_done_by_its_own_pool_with_a_skewed_workload(npi: pd.DataFrame) -> None:
    chemists = npi.loc[npi["activity"] == "Formulation", "resource"]
    assert chemists.str.startswith("chemist-").all()
    counts = chemists.value_counts()
    assert counts.index[0] == "chemist-01"
    assert counts.iloc[0] > 3 * counts.iloc[-1]


def test_durations_range_from_hours_to_weeks_and_values_depend_on_the_activity(
    npi: pd.DataFrame,
) -> None:
    hours = npi.groupby("case_id")["timestamp"].diff().dt.total_seconds() / 3600
    typical = hours.groupby(npi["activity"]).median()
    assert typical["Stability test"] > 3 * 168  # weeks
    assert typical["Launch"] < 4 * 24  # days at most
    cost = npi.groupby("activity")["cost"].median()
    assert cost["Production"] > 50 * cost["Brief"]
    assert (npi.groupby("case_id")["market"].nunique() == 1).all()
    assert set(npi["market"]) == {"EU", "US", "APAC"}


def test_a_model_is_a_few_lines_and_mistakes_in_it_are_named() -> None:
    tiny = Model(
        name="tiny",
        process=Seq("Open", Loop("Fix", p=0.5, redo="Test"), And("Bill", Opt("Survey", 0.5))),
        activities=tuple(Activity(a, hours=1, pool="desk") for a in
                         ("Open", "Fix", "Test", "Bill", "Survey")),
        pools=(Pool("desk", 2),),
    )  # fmt: skip
    runs = traces(generate(tiny, cases=200, seed=0)).values()
    assert all(t[0] == "Open" and t[1] == "Fix" for t in runs)
    assert any("Test" in t for t in runs)
    assert any("Survey" in t for t in runs)
    with pytest.raises(ValueError, match="undeclared activities \\['Close'\\]"):
        Model(name="bad", process=Seq("Open", "Close"), activities=(Activity("Open", hours=1),))
    with pytest.raises(ValueError, match="sum to 1"):
        Xor((0.5, "a"), (0.4, "b"))
    with pytest.raises(ValueError, match="no model 'nope'"):
        get_model("nope")


# --- the injectors ---------------------------------------------------------------------------


def test_the_share_of_cases_is_labelled_the_kinds_in_turn(
    npi: pd.DataFrame, injected: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    _, labels = injected
    assert len(labels) == 200
    assert labels["case_id"].is_unique
    counts = labels["kind"].value_counts()
    assert set(counts.index) == set(KINDS)
    assert counts.max() - counts.min() <= 1


def test_injection_is_seeded(
    npi: pd.DataFrame, injected: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    again = inject(npi, share=0.2, seed=11)
    assert again[0].equals(injected[0])
    assert again[1].equals(injected[1])
    other = inject(npi, share=0.2, seed=12)[1]
    assert set(other["case_id"]) != set(injected[1]["case_id"])


def test_only_the_labelled_cases_change(
    npi: pd.DataFrame,
    injected: tuple[pd.DataFrame, pd.DataFrame],
    cases_before: dict[str, pd.DataFrame],
    cases_after: dict[str, pd.DataFrame],
) -> None:
    changed, labels = injected
    keep = ~npi["case_id"].isin(labels["case_id"])
    same = ~changed["case_id"].isin(labels["case_id"])
    assert npi[keep].reset_index(drop=True).equals(changed[same].reset_index(drop=True))
    for case_id in labels["case_id"]:
        before, after = cases_before[case_id], cases_after[case_id]
        assert not before.equals(after), case_id


def test_labels_point_at_the_event_in_the_event_log_order(
    injected: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    changed, labels = injected
    log = as_event_log(changed)
    for row in labels.itertuples():
        events = log.loc[log["case_id"] == row.case_id, "activity"].tolist()
        if row.kind == "skip":
            assert row.activity not in events
        else:
            assert events[row.position] == row.activity, row.detail


def by_kind(labels: pd.DataFrame, kind: str) -> list[str]:
    chosen = labels.loc[labels["kind"] == kind, "case_id"].tolist()
    assert chosen
    return chosen


def test_skip_removes_a_step_every_case_has(
    npi: pd.DataFrame,
    injected: tuple[pd.DataFrame, pd.DataFrame],
    cases_before: dict[str, pd.DataFrame],
    cases_after: dict[str, pd.DataFrame],
) -> None:
    labels = injected[1]
    shares = follows_share(npi)
    for row in labels[labels["kind"] == "skip"].itertuples():
        before, after = cases_before[row.case_id], cases_after[row.case_id]
        assert len(after) == len(before) - 1
        assert before["activity"].tolist().count(row.activity) == 1
        assert row.activity in {"Brief", "Formulation", "Stability test", "Safety assessment",
                                "Regulatory filing", "Artwork", "Packaging order"}  # fmt: skip
        assert before.drop(index=row.position).reset_index(drop=True).equals(after)
        if row.position:  # its neighbours now meet, which they never do otherwise
            meet = (after["activity"][row.position - 1], after["activity"][row.position])
            assert shares.get(meet, 0.0) <= 0.01


def test_insert_adds_an_activity_where_it_never_belongs(
    npi: pd.DataFrame,
    injected: tuple[pd.DataFrame, pd.DataFrame],
    cases_before: dict[str, pd.DataFrame],
    cases_after: dict[str, pd.DataFrame],
) -> None:
    labels = injected[1]
    follows = set(zip(npi["activity"], npi["activity"].shift(-1), strict=True))
    for row in labels[labels["kind"] == "insert"].itertuples():
        before, after = cases_before[row.case_id], cases_after[row.case_id]
        assert len(after) == len(before) + 1
        assert row.activity not in before["activity"].tolist()
        assert after["activity"][row.position] == row.activity
        prev = after["activity"][row.position - 1]
        assert row.activity in FOREIGN_ACTIVITIES or (prev, row.activity) not in follows
        assert after.drop(index=row.position)[["activity", "timestamp"]].reset_index(
            drop=True).equals(before[["activity", "timestamp"]])  # fmt: skip
        assert after["market"].nunique() == 1


def test_rework_repeats_steps_and_pushes_the_rest_later(
    npi: pd.DataFrame,
    injected: tuple[pd.DataFrame, pd.DataFrame],
    cases_before: dict[str, pd.DataFrame],
    cases_after: dict[str, pd.DataFrame],
) -> None:
    labels = injected[1]
    for row in labels[labels["kind"] == "rework"].itertuples():
        before, after = cases_before[row.case_id], cases_after[row.case_id]
        added = len(after) - len(before)
        assert 1 <= added <= 3
        repeated = after["activity"][row.position : row.position + added].tolist()
        assert after["activity"][row.position - added : row.position].tolist() == repeated
        assert repeated[0] == row.activity
        assert after["timestamp"].is_monotonic_increasing
        assert after["timestamp"].iloc[-1] > before["timestamp"].iloc[-1]


@pytest.mark.parametrize("kind", ["early", "late"])
def test_early_and_late_move_one_event_with_a_time_in_its_new_place(
    kind: str,
    npi: pd.DataFrame,
    injected: tuple[pd.DataFrame, pd.DataFrame],
    cases_before: dict[str, pd.DataFrame],
    cases_after: dict[str, pd.DataFrame],
) -> None:
    labels = injected[1]
    for row in labels[labels["kind"] == kind].itertuples():
        before, after = cases_before[row.case_id], cases_after[row.case_id]
        rest = after.drop(index=row.position).reset_index(drop=True)
        [old] = [i for i in range(len(before))
                 if rest.equals(before.drop(index=i).reset_index(drop=True))]  # fmt: skip
        assert before["activity"][old] == row.activity
        assert (row.position < old) if kind == "early" else (row.position > old)
        assert after["timestamp"].is_monotonic_increasing


def test_attribute_gives_a_stranger_or_a_value_far_out_of_range(
    npi: pd.DataFrame,
    injected: tuple[pd.DataFrame, pd.DataFrame],
    cases_before: dict[str, pd.DataFrame],
    cases_after: dict[str, pd.DataFrame],
) -> None:
    labels = injected[1]
    pools = npi.groupby("activity")["resource"].agg(set)
    highest = npi.groupby("activity")["cost"].max()
    resources = values = 0
    for row in labels[labels["kind"] == "attribute"].itertuples():
        before, after = cases_before[row.case_id], cases_after[row.case_id]
        differs = before.ne(after) & ~(before.isna() & after.isna())
        assert differs.to_numpy().sum() == 1
        event = after.iloc[row.position]
        if differs["resource"].any():
            resources += 1
            assert event["resource"] not in pools[row.activity]
        else:
            values += 1
            assert event["cost"] > 2 * highest[row.activity]
    assert resources
    assert values


def test_duration_makes_one_step_far_too_slow(
    npi: pd.DataFrame,
    injected: tuple[pd.DataFrame, pd.DataFrame],
    cases_before: dict[str, pd.DataFrame],
    cases_after: dict[str, pd.DataFrame],
) -> None:
    labels = injected[1]
    gaps = npi.groupby("case_id")["timestamp"].diff()
    usual = gaps.groupby(npi["activity"]).median()
    longest = gaps.groupby(npi["activity"]).max()
    waits = []
    for row in labels[labels["kind"] == "duration"].itertuples():
        before, after = cases_before[row.case_id], cases_after[row.case_id]
        assert before["activity"].equals(after["activity"])
        i = row.position
        gap = after["timestamp"][i] - after["timestamp"][i - 1]
        assert gap >= 10 * usual[row.activity]
        assert gap >= 1.5 * longest[row.activity]  # no case of the log waits that long
        assert gap - (before["timestamp"][i] - before["timestamp"][i - 1]) >= pd.Timedelta(hours=1)
        waits.append(gap)
        assert after["timestamp"][:i].equals(before["timestamp"][:i])
        shift = after["timestamp"][i:] - before["timestamp"][i:]
        assert shift.nunique() == 1
        assert shift.iloc[0] > pd.Timedelta(0)
    assert len(set(waits)) == len(waits)  # no two alike, as real delays are not


def test_a_kind_can_be_chosen_and_bad_arguments_are_explained(npi: pd.DataFrame) -> None:
    _, labels = inject(npi, share=0.05, kinds=["duration"], seed=1)
    assert set(labels["kind"]) == {"duration"}
    assert len(labels) == 50
    with pytest.raises(ValueError, match="unknown anomaly kind 'swap'"):
        inject(npi, kinds=["swap"])
    with pytest.raises(ValueError, match="share is a fraction"):
        inject(npi, share=1.5)
    with pytest.raises(ValueError, match="no column 'case'"):
        inject(npi, case="case")


def write_xes(table: pd.DataFrame, path: Path) -> None:
    lines = ['<log xes.version="1.0">']
    for case_id, events in table.groupby("case_id", sort=False):
        lines.append(f'<trace><string key="concept:name" value={quoteattr(str(case_id))}/>')
        for event in events.itertuples():
            lines.append(
                f'<event><string key="concept:name" value={quoteattr(event.activity)}/>'
                f'<string key="org:resource" value={quoteattr(event.resource)}/>'
                f'<date key="time:timestamp" value="{event.timestamp.isoformat()}"/>'
                + (
                    ""
                    if np.isnan(event.amount)
                    else f'<float key="amount" value="{event.amount}"/>'
                )
                + '<string key="lifecycle:transition" value="complete"/></event>'
            )
        lines.append("</trace>")
    lines.append("</log>")
    path.write_text("\n".join(lines), encoding="utf-8")


def test_real_logs_are_read_into_tables_that_take_injections(tmp_path: Path) -> None:
    table = generate("order-to-cash", cases=300, seed=5)
    path = tmp_path / "o2c.xes"
    write_xes(table, path)
    read = read_log_table(path)
    assert list(read.columns) == ["case_id", "activity", "timestamp", "resource", "amount"]
    assert read["activity"].tolist() == table["activity"].tolist()
    assert read_log_table(path, max_cases=10)["case_id"].nunique() == 10
    changed, labels = inject(read, share=0.1, seed=2)
    assert len(labels) == 30
    assert set(labels["kind"]) == set(KINDS)
    untouched = ~changed["case_id"].isin(labels["case_id"])
    assert len(changed[untouched]) == (~read["case_id"].isin(labels["case_id"])).sum()


def test_any_table_with_its_own_column_names_and_text_times(npi: pd.DataFrame) -> None:
    table = npi.head(3000).rename(columns={"case_id": "Case", "activity": "Step",
                                           "timestamp": "When", "resource": "Who"})  # fmt: skip
    table["When"] = table["When"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    changed, labels = inject(table, share=0.1, seed=3, case="Case", activity="Step",
                             timestamp="When", resource="Who")  # fmt: skip
    assert len(labels) == round(0.1 * table["Case"].nunique())
    assert str(changed["When"].dtype).startswith("datetime64")
    log = as_event_log(changed, case="Case", activity="Step", timestamp="When", resource="Who")
    assert set(labels["case_id"]) <= set(log["case_id"])


def test_a_case_can_get_several_anomalies(npi: pd.DataFrame) -> None:
    changed, labels = inject(npi.head(4000), share=0.1, seed=5, per_case=2)
    per_case = labels.groupby("case_id").size()
    assert len(per_case) == round(0.1 * npi.head(4000)["case_id"].nunique())
    assert (per_case == 2).all()
    assert set(changed["case_id"]) == set(npi.head(4000)["case_id"])
