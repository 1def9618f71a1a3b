"""Prefix encoding: each prefix sees only its own past, vocabularies learned once."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from kgsentinel.detectors.events import as_event_log
from kgsentinel.predict.encoding import OTHER, PrefixEncoder, prefix_ends
from kgsentinel.simulate import generate


def table(rows: list[tuple]) -> pd.DataFrame:
    columns = ["case_id", "activity", "timestamp", "resource", "cost", "grade", "region"]
    return pd.DataFrame(rows, columns=columns[: len(rows[0])])


@pytest.fixture
def small() -> pd.DataFrame:
    """Two cases: case 1 has a rework loop, numbers, a text attribute and a case attribute."""
    return as_event_log(table([
        ("1", "Brief", "2026-01-05T09:00Z", "ann", 10.0, "A", None),
        ("1", "Rework", "2026-01-05T11:00Z", "bob", None, "B", "EU"),
        ("1", "Rework", "2026-01-05T12:30Z", "bob", 40.0, None, "EU"),
        ("1", "Launch", "2026-01-06T12:30Z", "ann", 4.0, "A", "EU"),
        ("2", "Brief", "2026-01-07T08:00Z", "eve", 7.0, "A", "US"),
    ]))  # fmt: skip


def frame(encoder: PrefixEncoder, log: pd.DataFrame, rows: object = None) -> pd.DataFrame:
    return pd.DataFrame(encoder.transform(log, rows=rows), columns=encoder.get_feature_names_out())


def readable(encoder: PrefixEncoder, row: pd.Series, name: str) -> object:
    return encoder.readable_value(name, row[name])


def test_each_prefix_aggregates_what_happened_up_to_its_last_event(small: pd.DataFrame) -> None:
    encoder = PrefixEncoder().fit(small)
    encoded = frame(encoder, small)
    assert len(encoded) == len(small)
    third = encoded.iloc[2]  # case 1 after Brief, Rework, Rework
    assert third["prefix_length"] == 3
    assert third["repeats"] == 1
    assert third["elapsed_hours"] == 3.5
    assert third["since_previous_hours"] == 1.5
    assert third["count:activity=Rework"] == 2
    assert third["count:resource=bob"] == 2
    assert third["count:step=Brief>Rework"] == 1
    assert third["count:step=Rework>Rework"] == 1
    assert third["last:activity=Rework"] == 1
    assert third["previous:activity=Rework"] == 1
    assert third["last:resource=bob"] == 1
    aggregates = ["last:cost", "mean:cost", "min:cost", "max:cost", "sum:cost"]
    assert third[aggregates].tolist() == [40.0, 25.0, 10.0, 40.0, 50.0]
    assert third["last:grade=B"] == 1  # the last value seen: the third event has none
    assert third[["count:grade=A", "count:grade=B"]].tolist() == [1.0, 1.0]
    assert third["case:region=EU"] == 1  # two regions: a column each
    assert readable(encoder, third, "last:cost") == 40.0  # a number reads as itself
    assert third["hour"] == 12.5
    assert third["weekday"] == 0  # 2026-01-05 is a Monday
    assert third["month"] == 1


def test_a_number_no_event_of_the_prefix_has_is_unknown_not_zero() -> None:
    log = as_event_log(table([
        ("1", "Brief", "2026-01-05T09:00Z", "ann", None),
        ("1", "Review", "2026-01-05T10:00Z", "ann", 3.0),
        ("1", "Launch", "2026-01-05T11:00Z", "ann", 4.0),
        ("2", "Brief", "2026-01-06T09:00Z", "bob", 5.0),
    ]))  # fmt: skip
    encoded = frame(PrefixEncoder().fit(log), log)
    aggregates = ["last:cost", "mean:cost", "min:cost", "max:cost", "sum:cost"]
    assert encoded.loc[0, aggregates].isna().all()
    assert encoded.loc[1, aggregates].tolist() == [3.0] * 5
    assert encoded.loc[2, aggregates].tolist() == [4.0, 3.5, 3.0, 4.0, 7.0]


def test_a_case_attribute_is_unknown_until_an_event_carries_it(small: pd.DataFrame) -> None:
    encoded = frame(PrefixEncoder().fit(small), small)
    regions = [c for c in encoded.columns if c.startswith("case:region=")]
    assert encoded.loc[0, regions].sum() == 0
    assert encoded.loc[1, "case:region=EU"] == 1


def test_a_prefix_encodes_the_same_whatever_comes_after_it() -> None:
    log = as_event_log(generate("npi", cases=80, seed=3))
    encoder = PrefixEncoder().fit(log)
    whole = encoder.transform(log)
    rng = np.random.default_rng(0)
    position = log.groupby("case").cumcount()
    sizes = log.groupby("case").size()
    keep = log["case"].map(pd.Series(rng.integers(1, sizes + 1), index=sizes.index))
    cut = log[position < keep].reset_index(drop=True)
    ends = prefix_ends(cut)
    rows_in_whole = np.flatnonzero((position + 1 == keep).to_numpy())
    np.testing.assert_array_equal(encoder.transform(cut, rows=ends["row"]), whole[rows_in_whole])


def test_values_not_seen_in_fit_count_as_other(small: pd.DataFrame) -> None:
    encoder = PrefixEncoder().fit(small)
    new = as_event_log(table([("9", "Audit", "2026-02-01T10:00Z", "zed", 1.0, "Z", "APAC")]))
    encoded = frame(encoder, new).iloc[0]
    assert encoded[f"count:activity={OTHER}"] == 1
    assert encoded[f"last:activity={OTHER}"] == 1
    assert encoded[f"last:resource={OTHER}"] == 1
    assert encoded[f"last:grade={OTHER}"] == 1
    assert encoded[f"case:region={OTHER}"] == 1
    assert len(encoded) == len(encoder.get_feature_names_out())


def test_vocabularies_are_capped_to_the_most_frequent_values() -> None:
    rows = [(str(i), f"Step {i % 7}", f"2026-01-01T{i % 24:02d}:00Z", f"r{i}") for i in range(70)]
    log = as_event_log(table(rows))
    encoder = PrefixEncoder(max_activities=3, max_resources=2).fit(log)
    names = encoder.get_feature_names_out().tolist()
    assert len([n for n in names if n.startswith("count:activity=")]) == 4  # 3 and other
    assert len([n for n in names if n.startswith("count:resource=")]) == 3
    assert encoder.activities_ == ["Step 0", "Step 1", "Step 2"]


def test_only_the_most_frequent_steps_are_counted(small: pd.DataFrame) -> None:
    steps = PrefixEncoder(max_steps=1).fit(small).get_feature_names_out()
    assert [n for n in steps if n.startswith("count:step=")] == ["count:step=Brief>Rework"]
    none = PrefixEncoder(max_steps=0).fit(small).get_feature_names_out()
    assert not [n for n in none if n.startswith("count:step=")]


def test_rare_text_values_are_left_to_the_other_bucket() -> None:
    rows = [(str(i), "Brief", "2026-01-01T10:00Z", "ann", 1.0, f"id-{i}" if i else "A")
            for i in range(200)]  # fmt: skip
    encoder = PrefixEncoder(min_share=0.01).fit(as_event_log(table(rows)))
    assert "grade" not in encoder.categorical_
    assert "grade" not in encoder.case_categorical_


def test_prefix_ends_choose_prefixes_by_length(small: pd.DataFrame) -> None:
    assert prefix_ends(small)["prefix_length"].tolist() == [4, 1]
    assert prefix_ends(small, lengths=[2, 4])["row"].tolist() == [1, 3]
    assert prefix_ends(small, longest=2)["row"].tolist() == [0, 1, 4]


def test_an_unsorted_log_is_refused_with_the_fix(small: pd.DataFrame) -> None:
    encoder = PrefixEncoder().fit(small)
    with pytest.raises(ValueError, match="sort_event_log"):
        encoder.transform(small.iloc[::-1])


def test_an_unfitted_encoder_says_so(small: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="not fitted"):
        PrefixEncoder().transform(small)


def test_the_encoder_follows_scikit_learn_conventions(small: pd.DataFrame) -> None:
    encoder = PrefixEncoder(max_values=3)
    assert clone(encoder).get_params() == encoder.get_params()
    assert encoder.fit(small) is encoder
    assert encoder.fit_transform(small).dtype == np.float32
    assert not hasattr(PrefixEncoder(), "activities_")


def starting(days: list[int], prefix: str = "") -> pd.DataFrame:
    """One case a day of ``days`` (days after 2026-01-01), each a Brief at 09:00 and a Review."""
    rows = []
    for day in days:
        start = pd.Timestamp("2026-01-01T09:00Z") + pd.Timedelta(days=day)
        rows += [(f"{prefix}{day}", "Brief", start), (f"{prefix}{day}", "Review",
                 start + pd.Timedelta(hours=2))]  # fmt: skip
    return as_event_log(table(rows))


def workload(encoder: PrefixEncoder, log: pd.DataFrame, **options: object) -> list[float]:
    """The workload feature of each prefix, as a rate: 7 days' starts against 30 days'."""
    names = encoder.get_feature_names_out().tolist()
    column = names.index("workload:started_7d_vs_30d")
    return [round(x, 4) for x in encoder.transform(log, **options)[:, column].tolist()]


def test_workload_is_the_week_up_to_a_prefix_against_the_month_up_to_it() -> None:
    log = starting([0, 1, 2, 10, 31])
    encoder = PrefixEncoder(workload_days=(7, 30)).fit(log)
    reviews = dict(zip(log["case_id"], workload(encoder, log), strict=True))  # the Reviews
    # week / (month * 7 / 30): case 2 has 3 in both; case 10: 1 in its week, 4 in its month;
    # case 31: 1 and 3 (day 1's case started at 09:00, 30 days and 2 hours before)
    expected = {"0": (1, 1), "1": (2, 2), "2": (3, 3), "10": (1, 4), "31": (1, 3)}
    assert reviews == {case: round(30 / 7 * w / m, 4) for case, (w, m) in expected.items()}


def test_a_prefix_workload_never_counts_cases_started_after_it() -> None:
    early = starting([0, 1, 2, 20])
    encoder = PrefixEncoder(workload_days=(7, 30)).fit(early)
    before = workload(encoder, early)
    later = starting([20, 21, 22], prefix="late-")  # started after every prefix of early ends
    later["timestamp"] += pd.Timedelta(hours=3)
    with_later = as_event_log(pd.concat([early, later]).drop(columns="case"))
    assert workload(encoder, with_later)[: len(early)] == before
    assert workload(encoder, early, context=later) == before
    trained_on_all = PrefixEncoder(workload_days=(7, 30)).fit(early, context=later)
    assert workload(trained_on_all, early) == before


def test_each_case_counts_once_from_the_history_the_log_and_the_context() -> None:
    history = starting([0, 10, 11, 12])  # case 12: 3 started in its week, 4 in its month
    expected = [round(30 / 7 * 3 / 4, 4)] * 2
    encoder = PrefixEncoder(workload_days=(7, 30)).fit(history)
    asked = history[history["case_id"] == "12"].reset_index(drop=True)
    assert workload(encoder, asked) == expected
    assert workload(encoder, asked, context=history) == expected
    fresh = PrefixEncoder(workload_days=(7, 30)).fit(starting([40]))
    assert workload(fresh, asked, context=history) == expected
    assert workload(fresh, asked) == [round(30 / 7, 4)] * 2  # only what it is told of


def test_workload_is_off_by_default_and_its_windows_are_checked(small: pd.DataFrame) -> None:
    names = PrefixEncoder().fit(small).get_feature_names_out()
    assert not [n for n in names if n.startswith("workload:")]
    with pytest.raises(ValueError, match=r"short and a longer window in days, e\.g\. \(7, 90\)"):
        PrefixEncoder(workload_days=(30, 7)).fit(small)


def test_a_text_case_attribute_is_one_category_column_of_many_values() -> None:
    """Like a diagnosis code: 300 values, two cases each, 254 of them kept in one column."""
    rows = [(str(i), "Open", f"2026-01-01T00:{i % 60:02d}Z", "ann", None, None, f"D{i % 300}")
            for i in range(600)]  # fmt: skip
    log = as_event_log(table(rows))
    encoder = PrefixEncoder().fit(log)
    names = list(encoder.get_feature_names_out())
    assert not any(name.startswith("case:region=") for name in names)
    assert encoder.categorical_columns().tolist() == [name == "case:region" for name in names]
    codes = frame(encoder, log)["case:region"]
    assert codes.max() == 254  # 254 values learned, every other one is <other>
    assert codes.nunique() == 255
    assert {encoder.readable_value("case:region", code) for code in codes} >= {"D0", "D299", OTHER}
    assert np.isnan(frame(encoder, log.assign(**{"attr:region": None}))["case:region"]).all()


def test_a_text_case_attribute_of_few_values_keeps_a_column_a_value() -> None:
    rows = [(str(i), "Open", f"2026-01-01T0{i}:00Z", "ann", None, None, region)
            for i, region in enumerate(["EU", "US", "EU", "APAC"])]  # fmt: skip
    log = as_event_log(table(rows))
    few = PrefixEncoder(max_values=3).fit(log)  # three regions: a column each (and <other>)
    assert not few.categorical_columns().any()
    assert frame(few, log)["case:region=APAC"].tolist() == [0, 0, 0, 1]
    many = PrefixEncoder(max_values=2).fit(log)  # more regions than values kept: codes
    assert many.get_feature_names_out()[many.categorical_columns()].tolist() == ["case:region"]
    assert frame(many, log)["case:region"].tolist() == [0, 2, 0, 1]  # by frequency, then name


def test_max_case_values_beyond_what_the_boosting_takes_is_a_clear_error(
    small: pd.DataFrame,
) -> None:
    with pytest.raises(ValueError, match="max_case_values must be between 1 and 254"):
        PrefixEncoder(max_case_values=300).fit(small)
