"""Event logs read from the graph: the columns detectors see, for the whole log or a few cases."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pytest

from kgsentinel.detectors.events import read_event_log
from kgsentinel.graph.embedded import EmbeddedStore

GRAPH = """\
@prefix kgs: <https://w3id.org/kgsentinel#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix ex: <urn:ex:> .

ex:brief a kgs:Activity ; rdfs:label "Brief" .
ex:launch a kgs:Activity ; rdfs:label "Launch" .
ex:ana a kgs:Resource ; rdfs:label "Ana" .
ex:c1 a kgs:Case ; kgs:caseId "1" .
ex:c2 a kgs:Case ; kgs:caseId "2" .
ex:acme ex:country "FR" .

ex:e1 a kgs:Event ; kgs:case ex:c1 ; kgs:activity ex:brief ; kgs:resource ex:ana ;
    kgs:timestamp "2026-01-01T09:00:00Z"^^xsd:dateTime ; kgs:eventId "E1" ;
    ex:amount 12.5 ; ex:channel "web" ; ex:supplier ex:acme .
ex:e2 a kgs:Event ; kgs:case ex:c1 ; kgs:activity ex:launch ;
    kgs:timestamp "2026-01-03T09:00:00Z"^^xsd:dateTime ; kgs:eventId "E2" ; ex:amount 7 .
ex:e3 a kgs:Event ; kgs:case ex:c2 ; kgs:activity ex:brief ; kgs:resource ex:ana ;
    kgs:timestamp "2026-01-02T09:00:00Z"^^xsd:dateTime ; ex:channel "phone" .
ex:loose a kgs:Event ; kgs:activity ex:brief ; kgs:timestamp "2026-01-02T10:00:00Z"^^xsd:dateTime .
"""


@pytest.fixture
def store() -> Iterator[EmbeddedStore]:
    store = EmbeddedStore()
    store.load(GRAPH.encode(), format="turtle", graph="steps")
    yield store
    store.close()


def test_the_whole_log_has_each_event_of_a_case_with_labels_and_literal_attributes(
    store: EmbeddedStore,
) -> None:
    log = read_event_log(store)
    assert log[["case_id", "event_id", "activity", "resource"]].fillna("-").values.tolist() == [
        ["1", "E1", "Brief", "Ana"],
        ["1", "E2", "Launch", "-"],
        ["2", "e3", "Brief", "Ana"],  # no kgs:eventId: the IRI's local name
    ]
    # literal properties only: ex:supplier links to a thing, the event without a case is left out
    assert sorted(c for c in log.columns if c.startswith("attr:")) == ["attr:amount",
                                                                        "attr:channel"]  # fmt: skip
    assert log["attr:amount"].tolist()[:2] == [12.5, 7.0]
    assert log["attr:channel"].fillna("-").tolist() == ["web", "-", "phone"]
    assert str(log["timestamp"].dt.tz) == "UTC"


def test_a_few_cases_read_alone_are_the_same_rows_as_in_the_whole_log(
    store: EmbeddedStore,
) -> None:
    whole = read_event_log(store)
    one = read_event_log(store, cases=["urn:ex:c1"])
    expected = whole[whole["case"] == "urn:ex:c1"].dropna(axis=1, how="all")
    pd.testing.assert_frame_equal(one[expected.columns], expected, check_dtype=False)
    assert read_event_log(store, cases=[]).empty


def test_some_events_read_alone_are_the_same_rows_as_in_the_whole_log(
    store: EmbeddedStore,
) -> None:
    whole = read_event_log(store)
    some = read_event_log(store, events=["urn:ex:e2", "urn:ex:e3", "urn:ex:loose", "urn:ex:c1"])
    expected = whole[whole["event"].isin(["urn:ex:e2", "urn:ex:e3"])].reset_index(drop=True)
    expected = expected.dropna(axis=1, how="all")  # (e2 and e3 say nothing of a supplier)
    pd.testing.assert_frame_equal(some[expected.columns], expected, check_dtype=False)
    assert read_event_log(store, events=["urn:ex:nothing"]).empty
