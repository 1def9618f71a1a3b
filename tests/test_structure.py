"""Unusual links and hubs, from event logs and from the graph's object links."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kgsentinel.detectors.base import EventLogDetector, GraphDetector
from kgsentinel.detectors.events import as_event_log
from kgsentinel.detectors.structure import (
    LINK_COLUMNS,
    LinkDetector,
    entity_attributes,
    links_from_log,
    read_links,
)
from kgsentinel.graph.embedded import EmbeddedStore

STEPS = ("Brief", "Formulation", "Packaging order", "Launch")
PRODUCTS = [f"P{i:02d}" for i in range(30)]
#: each product's two suppliers, from a list of 20
SUPPLIERS = {p: [f"S{i % 20:02d}", f"S{(i + 7) % 20:02d}"] for i, p in enumerate(PRODUCTS)}


def make_table(cases: int = 900, seed: int = 0) -> pd.DataFrame:
    """Cases of one product each, bought from one of its suppliers; steps by their pools."""
    rng = np.random.default_rng(seed)
    rows = []
    start = pd.Timestamp("2026-01-01", tz="UTC")
    for number in range(cases):
        product = PRODUCTS[number % len(PRODUCTS)]
        supplier = SUPPLIERS[product][int(rng.integers(2))]
        time = start + pd.Timedelta(hours=number)
        for k, step in enumerate(STEPS):
            rows.append({"case_id": f"C{number:04d}", "activity": step,
                         "timestamp": time + pd.Timedelta(hours=k),
                         "resource": f"{step[:3]}-{rng.integers(3)}", "product": product,
                         "supplier": supplier if step == "Packaging order" else None,
                         "colour": str(rng.choice(["red", "blue"])),
                         "note": f"n{number}-{k}"})  # fmt: skip
    return pd.DataFrame(rows)


def with_supplier(table: pd.DataFrame, case: str, supplier: str) -> pd.DataFrame:
    changed = table.copy()
    where = (changed["case_id"] == case) & changed["supplier"].notna()
    changed.loc[where, "supplier"] = supplier
    return changed


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return make_table()


def test_entity_attributes_are_recurring_text_values(table: pd.DataFrame) -> None:
    log = as_event_log(table.assign(cost=1.0))
    assert entity_attributes(log) == ["attr:product", "attr:supplier"]


def test_links_from_a_log(table: pd.DataFrame) -> None:
    log = as_event_log(table)
    links = links_from_log(log)
    assert list(links.columns) == list(LINK_COLUMNS)
    performed = links[links["source_kind"] == "resource"]
    assert len(performed) == len(log)
    assert set(performed["target"]) == set(STEPS)
    products = links[links["source_kind"] == "product"]
    assert (products["target_kind"] == "supplier").all()
    assert len(products) == 900
    first = products[products["case_id"] == "C0000"].iloc[0]
    assert (first["source"], first["case"]) == ("P00", "urn:kgsentinel:log:case/C0000")
    assert first["target"] in SUPPLIERS["P00"]


def test_no_findings_on_normal_variety(table: pd.DataFrame) -> None:
    detector = LinkDetector()
    assert isinstance(detector, EventLogDetector)
    assert isinstance(detector, GraphDetector)
    log = as_event_log(table)
    assert detector.fit(log).findings(log) == []
    assert detector.graph_.number_of_nodes() == 12 + 4 + 30 + 20


def test_a_supplier_never_seen_with_the_product_is_an_unusual_link(table: pd.DataFrame) -> None:
    log = as_event_log(with_supplier(table, "C0031", "S05"))  # C0031 buys P01 (S01 or S08)
    [finding] = LinkDetector().fit(log).findings(log)
    assert (finding.kind, finding.case_id) == ("unusual-link", "C0031")
    assert finding.subject == "urn:kgsentinel:log:case/C0031"
    assert finding.key == "product=P01|supplier=S05"
    assert finding.explanation.startswith("product P01 with supplier S05, together in 1 case; "
                                          "P01 usually with ")  # fmt: skip
    partners, back, *shares = finding.evidence
    assert set(partners.expected.split(", ")) == {"S01", "S08"}
    assert partners.observed == "S05"
    assert set(back.expected.split(", ")) == {"P05", "P18", "P25"}
    assert all(share.observed <= share.expected for share in shares)
    assert 0.5 < finding.score < 1.0


def test_a_link_never_seen_in_history_scores_highest(table: pd.DataFrame) -> None:
    detector = LinkDetector().fit(as_event_log(table))
    new = as_event_log(with_supplier(make_table(cases=40, seed=3), "C0002", "S11"))
    [finding] = detector.findings(new)
    assert (finding.case_id, finding.key) == ("C0002", "product=P02|supplier=S11")
    assert "together in 0 cases" in finding.explanation
    assert finding.score == 1.0


def test_a_resource_linked_to_far_more_activities_than_others_is_a_hub() -> None:
    rng = np.random.default_rng(1)
    activities = [f"A{i}" for i in range(12)]
    rows = [(f"C{c}", a, f"{a}-{rng.integers(3)}") for c in range(200) for a in activities]
    rows += [(f"H{i}", activities[i], "helper") for i in range(12)]
    table = pd.DataFrame(rows, columns=["case_id", "activity", "resource"])
    table["timestamp"] = pd.Timestamp("2026-01-01", tz="UTC")
    log = as_event_log(table)
    [hub] = LinkDetector().fit(log).findings(log)
    assert hub.subject == "urn:kgsentinel:log:resource/helper"
    assert (hub.key, hub.case_id) == ("hub", None)
    assert hub.explanation == (
        "resource helper is linked to 12 distinct activity nodes; a resource usually to 1"
    )
    partners, z = hub.evidence
    assert (partners.expected, partners.observed) == (1, 12)
    assert z.observed >= z.expected
    assert LinkDetector(hub_ratio=20).fit(log).findings(log) == []


def test_links_whose_ends_are_all_too_new_to_judge_are_skipped() -> None:
    # each customer is seen in three cases: no customer-product link can be judged, while
    # the resource-activity links (left to the resource detector) are well established
    rows = [(f"C{c:03d}", step, f"{step}-{c % 3}", f"K{c // 3:03d}", f"P{c % 50:02d}")
            for c in range(300) for step in ("Order", "Ship")]  # fmt: skip
    table = pd.DataFrame(rows, columns=["case_id", "activity", "resource", "customer", "product"])
    table["timestamp"] = pd.Timestamp("2026-01-01", tz="UTC")
    log = as_event_log(table)
    detector = LinkDetector().fit(log)
    assert detector.entities_ == ["attr:customer", "attr:product"]
    assert ("customer", "product") in set(detector.edges_.index.droplevel([1, 3]))
    assert not detector.sources_.loc["customer", "established"].any()
    assert detector.findings(log) == []


def test_rare_resource_links_are_left_to_the_resource_detector(table: pd.DataFrame) -> None:
    changed = table.copy()
    changed.loc[(changed["case_id"] == "C0100") & (changed["activity"] == "Launch"),
                "resource"] = "Bri-0"  # fmt: skip
    log = as_event_log(changed)
    assert LinkDetector().fit(log).findings(log) == []
    [finding] = LinkDetector(ignore_pairs=()).fit(log).findings(log)
    assert (finding.case_id, finding.key) == ("C0100", "resource=Bri-0|activity=Launch")


# -- links from the graph --------------------------------------------------------------------

KGS = "https://w3id.org/kgsentinel#"


def graph_document() -> bytes:
    """Products related to formulas (one of them to a supplier), and events involving both."""
    lines = [f"@prefix kgs: <{KGS}> .", "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .",
             "@prefix x: <urn:x:> ."]  # fmt: skip
    for kind in ("Product", "Formula", "Supplier"):
        lines.append(f'x:type-{kind} a kgs:ObjectType ; rdfs:label "{kind}" .')
    for i in range(60):
        lines.append(f"x:product-{i} a kgs:Object ; kgs:objectType x:type-Product ; "
                     f"kgs:relatedTo x:formula-{i} .")  # fmt: skip
        lines.append(f"x:formula-{i} a kgs:Object ; kgs:objectType x:type-Formula .")
        lines.append(f"x:event-{i} a kgs:Event ; kgs:involves x:product-{i}, x:formula-{i} ; "
                     f'kgs:eventId "e{i}" .')  # fmt: skip
    lines.append("x:supplier-1 a kgs:Object ; kgs:objectType x:type-Supplier .")
    lines.append("x:product-7 kgs:relatedTo x:supplier-1 .")
    return "\n".join(lines).encode()


@pytest.fixture
def object_store() -> EmbeddedStore:
    store = EmbeddedStore()
    store.load(graph_document(), format="turtle", graph="plm")
    yield store
    store.close()


def test_read_links_pulls_object_links_and_objects_involved_together(
    object_store: EmbeddedStore,
) -> None:
    links = read_links(object_store)
    assert list(links.columns) == list(LINK_COLUMNS)
    direct = links[links["event"].isna()]
    assert len(direct) == 61
    assert set(zip(direct["source_kind"], direct["target_kind"], strict=True)) == {
        ("Product", "Formula"), ("Product", "Supplier")}  # fmt: skip
    shared = links[links["event"].notna()]
    assert len(shared) == 60
    row = shared[shared["event_id"] == "e3"].iloc[0]
    assert (row["source"], row["target"]) == ("urn:x:formula-3", "urn:x:product-3")
    assert (row["source_kind"], row["target_kind"]) == ("Formula", "Product")


def test_detect_flags_a_link_between_kinds_rarely_linked(object_store: EmbeddedStore) -> None:
    [finding] = LinkDetector().detect(object_store)
    assert (finding.subject, finding.case_id) == ("urn:x:product-7", None)
    assert finding.key == "Product=urn:x:product-7|Supplier=urn:x:supplier-1"
    assert finding.explanation == (
        "Product product-7 linked to Supplier supplier-1: 1 of 60 Product nodes link to a "
        "Supplier; they usually link to Formula"
    )
    kinds, share = finding.evidence
    assert (kinds.expected, kinds.observed) == ("Formula", "Supplier")
    assert share.observed <= share.expected


def test_an_empty_graph_has_no_links(memory_store: EmbeddedStore) -> None:
    assert read_links(memory_store).empty
    assert LinkDetector().detect(memory_store) == []
