"""SPARQL rules and SHACL shapes as detectors: the built-in pack, rule files, shapes, the doc.

The event graph below is a clean new-product-introduction process (cases C1 to
C8: Brief, Formulation, Safety assessment, Launch) plus one case per planted
anomaly, so each built-in rule has exactly one right answer.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
import time
import tomllib
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from kgsentinel.detectors.rules import SEVERITY_SCORES, ShaclDetector, SparqlRuleDetector
from kgsentinel.errors import ConfigError
from kgsentinel.graph import open_store
from kgsentinel.graph.store import GraphStore
from kgsentinel.rules import RuleError, builtin_rules, load_rule, load_rules, parse_rule

DATA = Path(__file__).parent / "data" / "rules"
DOC = Path(__file__).parents[1] / "docs" / "rules.md"
BASE = "urn:kgsentinel:npi:"
AS_OF = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
START = dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)
STEPS = ("Brief", "Formulation", "Safety assessment", "Launch")
PEOPLE = ("ann", "bob", "cy", "dan")
PREFIXES = f"""@prefix kgs: <https://w3id.org/kgsentinel#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix npi: <{BASE}> .
"""

Step = tuple[str, dt.datetime | None, str | None]


def day(n: float) -> dt.datetime:
    return START + dt.timedelta(days=n)


def normal(start: float) -> list[Step]:
    return [
        (step, day(start + i), who) for i, (step, who) in enumerate(zip(STEPS, PEOPLE, strict=True))
    ]


def stamp(when: dt.datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


def case_turtle(case_id: str, steps: Sequence[Step], *, ids: dict[int, str] | None = None) -> str:
    """A case and its events in the ontology's shape (``ids`` renames some events' ids)."""
    case = f"<{BASE}case/{case_id}>"
    lines = [f'{case} a kgs:Case , kgs:Object ; kgs:caseId "{case_id}" .']
    for number, (activity, when, who) in enumerate(steps, start=1):
        event_id = (ids or {}).get(number, f"{case_id}-{number}")
        facts = [f'kgs:eventId "{event_id}"', f"kgs:case {case}", f"kgs:involves {case}",
                 f"kgs:activity <{BASE}activity/{activity.replace(' ', '%20')}>"]  # fmt: skip
        if when is not None:
            facts.append(f'kgs:timestamp "{stamp(when)}"^^xsd:dateTime')
        if who is not None:
            facts.append(f"kgs:resource <{BASE}resource/{who}>")
        lines.append(f"<{BASE}event/{case_id}-{number}> a kgs:Event ; " + " ; ".join(facts) + " .")
    return "\n".join(lines)


def vocabulary() -> str:
    activities = [*STEPS, "Artwork"]
    lines = [f'<{BASE}activity/{a.replace(" ", "%20")}> a kgs:Activity ; rdfs:label "{a}" .'
             for a in activities]  # fmt: skip
    lines += [f'<{BASE}resource/{p}> a kgs:Resource ; rdfs:label "{p}" .' for p in PEOPLE]
    return "\n".join(lines)


def clean_turtle() -> str:
    return "\n".join(
        [PREFIXES, vocabulary(), *(case_turtle(f"C{i}", normal(i)) for i in range(1, 9))]
    )


STUCK_LAST = day(11)
LATE_LAUNCH, LATE_ARTWORK = day(15), day(15) + dt.timedelta(hours=30)
FUTURE_LAUNCH = dt.datetime(2027, 1, 1, 9, tzinfo=dt.UTC)


def planted_turtle() -> str:
    late = [*normal(12), ("Artwork", LATE_ARTWORK, "ann")]
    late[3] = ("Launch", LATE_LAUNCH, "dan")
    same = normal(13)
    same[2] = ("Safety assessment", day(15), "bob")
    swap = normal(14)
    swap[1], swap[2] = ("Formulation", day(16), "bob"), ("Safety assessment", day(15), "cy")
    nores = normal(15)
    nores[0] = ("Brief", day(15), None)
    future = normal(16)
    future[3] = ("Launch", FUTURE_LAUNCH, "dan")
    cases = [
        case_turtle("STUCK", [("Brief", day(10), "ann"), ("Formulation", STUCK_LAST, "bob")]),
        case_turtle("RUNNING", [("Brief", AS_OF - dt.timedelta(days=1), "ann"),
                                ("Formulation", AS_OF - dt.timedelta(hours=12), "bob")]),
        case_turtle("LATE", late),
        case_turtle("SAME", same),
        case_turtle("SWAP", swap),
        case_turtle("NORES", nores),
        case_turtle("DUP", normal(17), ids={4: "C1-4"}),
        case_turtle("FUTURE", future),
    ]  # fmt: skip
    extra = f"""
<{BASE}event/DUP-1> kgs:timestamp "{stamp(day(17) + dt.timedelta(hours=2))}"^^xsd:dateTime .
<{BASE}event/LOOSE-1> a kgs:Event ; kgs:eventId "LOOSE-1" ;
    kgs:timestamp "{stamp(day(3))}"^^xsd:dateTime .
<{BASE}event/C2-5> a kgs:Event ; kgs:eventId "C2-5" ; kgs:case <{BASE}case/C2> ;
    kgs:activity <{BASE}activity/Artwork> ; kgs:resource <{BASE}resource/ann> .
"""
    return "\n".join([clean_turtle(), *cases, extra])


def loaded(turtle: str) -> GraphStore:
    store = open_store(":memory:")
    store.load(turtle.encode(), format="turtle", graph="npi")
    return store


@pytest.fixture(scope="module")
def planted() -> Iterator[GraphStore]:
    store = loaded(planted_turtle())
    yield store
    store.close()


@pytest.fixture(scope="module")
def clean() -> Iterator[GraphStore]:
    store = loaded(clean_turtle())
    yield store
    store.close()


def local(iri: str) -> str:
    return iri.rsplit("/", 1)[-1]


def hours(delta: dt.timedelta) -> str:
    value = round(delta.total_seconds() / 3600, 1)
    return f"{value:g}"


# -- the built-in pack ---------------------------------------------------------------------

PAIR = {"first": "Formulation", "second": "Safety assessment"}
BUILTIN_CASES = {
    "case-without-end": ({"as_of": AS_OF}, {
        "STUCK": f"Case STUCK stopped at Formulation and has been silent for "
                 f"{hours(AS_OF - STUCK_LAST)} hours",
        "LATE": f"Case LATE stopped at Artwork and has been silent for "
                f"{hours(AS_OF - LATE_ARTWORK)} hours",
    }),
    "events-after-close": ({}, {
        "LATE-5": "Artwork happened in case LATE 30 hours after it was closed by Launch",
    }),
    "four-eyes": (PAIR, {"SAME": "bob did both Formulation and Safety assessment in case SAME"}),
    "wrong-order": (PAIR, {"SWAP": "Safety assessment happened before Formulation in case SWAP"}),
    "missing-resource": ({}, {
        "NORES-1": "Brief event NORES-1 has no resource, though 94% of Brief events have one",
    }),
    "duplicate-event-id": ({}, {
        "C1-4": "Event id C1-4 is used by 2 events in graph npi",
        "DUP-4": "Event id C1-4 is used by 2 events in graph npi",
        "DUP-1": "Event id DUP-1 has 2 times and 1 activity: source rows with this id were "
                 "merged into one event",
    }),
    "incomplete-event": ({}, {
        "LOOSE-1": "Event LOOSE-1 has no activity",
        "C2-5": "Event C2-5 has no timestamp",
    }),
    "future-event": ({"as_of": AS_OF}, {
        "FUTURE-4": f"Launch event FUTURE-4 is dated {stamp(FUTURE_LAUNCH)}, "
                    f"{hours(FUTURE_LAUNCH - AS_OF)} hours after {stamp(AS_OF)}",
    }),
}  # fmt: skip


def test_every_builtin_rule_has_a_planted_case() -> None:
    assert sorted(BUILTIN_CASES) == builtin_rules()


@pytest.mark.parametrize("name", sorted(BUILTIN_CASES))
def test_builtin_rule_finds_exactly_the_planted_violations(planted: GraphStore, name: str) -> None:
    params, expected = BUILTIN_CASES[name]
    findings = SparqlRuleDetector(rule=f"builtin:{name}", params=params).detect(planted)
    assert {local(f.subject): f.explanation for f in findings} == expected
    assert all(f.kind == "rule" and 0.5 <= f.score <= 1.0 for f in findings)
    assert all(f.evidence[0].rule == f"builtin/{name}" for f in findings)


@pytest.mark.parametrize("name", sorted(BUILTIN_CASES))
def test_builtin_rule_finds_nothing_on_clean_data(clean: GraphStore, name: str) -> None:
    params, _ = BUILTIN_CASES[name]
    assert SparqlRuleDetector(rule=f"builtin:{name}", params=params).detect(clean) == []


def test_findings_name_the_case_event_and_activity(planted: GraphStore) -> None:
    late = SparqlRuleDetector(rule="builtin:events-after-close").detect(planted)
    assert [(f.case_id, f.event_id, f.activity) for f in late] == [("LATE", "LATE-5", "Artwork")]
    [stuck] = SparqlRuleDetector(rule="builtin:case-without-end", params={"as_of": AS_OF},
                                 end_activity=["Launch", "Artwork"]).detect(planted)  # fmt: skip
    assert (stuck.case_id, stuck.activity, stuck.severity) == ("STUCK", "Formulation", "warning")
    values = {e.label: e.observed for e in stuck.evidence}
    assert values["last_activity"] == "Formulation"
    assert values["last_time"] == STUCK_LAST


def test_declared_end_activities_replace_the_learned_ones(planted: GraphStore) -> None:
    def stuck(**params: object) -> set[str]:
        detector = SparqlRuleDetector(rule="builtin:case-without-end", as_of=AS_OF, **params)
        return {local(f.subject) for f in detector.detect(planted)}

    assert stuck() == {"STUCK", "LATE"}
    assert stuck(end_activity=["Launch", "Artwork"]) == {"STUCK"}
    assert stuck(end_activity=("Launch", "Formulation")) == {"LATE"}
    # Formulation is last in 2 of the 16 cases (STUCK, RUNNING), Artwork in 1 (LATE)
    assert stuck(end_share=0.1) == {"LATE"}
    assert stuck(end_share=0.05) == set()


def test_case_without_end_scores_from_half_at_the_threshold(planted: GraphStore) -> None:
    silence = (AS_OF - STUCK_LAST).total_seconds() / 3600

    def score(threshold: float) -> float:
        found = SparqlRuleDetector(rule="builtin:case-without-end", end_activity=["Launch"],
                                   params={"as_of": AS_OF, "silent_hours": threshold})  # fmt: skip
        return {local(f.subject): f.score for f in found.detect(planted)}["STUCK"]

    assert score(silence - 0.5) == pytest.approx(0.5, abs=0.01)
    assert score(silence / 2) == pytest.approx(0.75)
    assert score(silence / 10) > score(silence / 2)
    found = SparqlRuleDetector(rule="builtin:case-without-end", end_activity=["Launch"],
                               params={"as_of": AS_OF, "silent_hours": silence + 1})  # fmt: skip
    assert "STUCK" not in {local(f.subject) for f in found.detect(planted)}


def test_a_running_case_is_not_stuck_until_silent_long_enough(planted: GraphStore) -> None:
    detector = SparqlRuleDetector(rule="builtin:case-without-end",
                                  params={"as_of": AS_OF, "silent_hours": 6})  # fmt: skip
    assert "RUNNING" in {local(f.subject) for f in detector.detect(planted)}


def test_list_values_are_bound_as_terms_not_pasted(planted: GraphStore) -> None:
    rule = load_rule("builtin:case-without-end")
    weird = 'Launch" } } SELECT * WHERE { ?s ?p ?o'
    query, singles = rule.bind({"end_activity": [weird, "Artwork"], "as_of": AS_OF})
    assert 'VALUES ?end_activity { "Launch\\" } } SELECT * WHERE { ?s ?p ?o" "Artwork" }' in query
    assert set(singles) == {"as_of", "end_share", "silent_hours"}
    detector = SparqlRuleDetector(rule="builtin:case-without-end",
                                  params={"as_of": AS_OF, "end_activity": [weird]})  # fmt: skip
    # nothing ends with that odd name, so every case silent for a week is reported
    assert {"C1", "STUCK", "LATE"} <= {local(f.subject) for f in detector.detect(planted)}


def test_four_eyes_tells_two_people_apart_and_refinds_the_same(tmp_path: Path) -> None:
    both = normal(1)
    both[1], both[2] = ("Formulation", day(2), "bob"), ("Safety assessment", day(3), "bob")
    both += [("Formulation", day(5), "cy"), ("Safety assessment", day(6), "cy")]
    store = loaded("\n".join([PREFIXES, vocabulary(), case_turtle("TWICE", both)]))
    detector = SparqlRuleDetector(rule="builtin:four-eyes", **PAIR)
    found = detector.detect(store)
    assert sorted(f.explanation for f in found) == [
        "bob did both Formulation and Safety assessment in case TWICE",
        "cy did both Formulation and Safety assessment in case TWICE",
    ]
    assert len({f.fingerprint("four-eyes") for f in found}) == 2
    again = SparqlRuleDetector(rule="builtin:four-eyes", params=PAIR).detect(store)
    assert {f.fingerprint("x") for f in again} == {f.fingerprint("x") for f in found}


def test_builtin_rules_run_the_same_on_both_backends(store: GraphStore) -> None:
    store.load(planted_turtle().encode(), format="turtle", graph="npi")
    ends = ["Launch", "Artwork"]
    detector = SparqlRuleDetector(rule="builtin:case-without-end", as_of=AS_OF, end_activity=ends)
    assert [local(f.subject) for f in detector.detect(store)] == ["STUCK"]


def test_the_detector_learns_end_activities_the_query_alone_knows_none(
    planted: GraphStore,
) -> None:
    rule = load_rule("builtin:case-without-end")
    assert rule.learn == ("end_activity",)
    # Launch is last in 13 of the 16 cases; Formulation in 2, Artwork in 1
    assert [str(t.value) for t in rule.learned(planted, {})["end_activity"]] == ["Launch"]
    assert rule.learned(planted, {"end_share": 0.1})["end_activity"][0].value == "Formulation"
    assert rule.learned(planted, {"end_activity": ["Artwork"]}) == {}
    assert rule.learned(planted, {"end_share": 0.9}) == {}
    # run as it stands, with no end activity, every case silent for a week is stuck
    alone = {local(row["case"].value) for row in rule.select(planted, {"as_of": AS_OF})}
    assert {"C1", "SAME", "STUCK", "LATE"} <= alone
    after = load_rule("builtin:events-after-close")
    assert after.learn == ("end_activity",)
    assert len(after.select(planted)) == 0
    assert [r["event_id"].value for r in after.select(planted, after.learned(planted))] == [
        "LATE-5"
    ]


def test_learned_end_activities_on_both_backends(store: GraphStore) -> None:
    store.load(planted_turtle().encode(), format="turtle", graph="npi")
    found = SparqlRuleDetector(rule="builtin:events-after-close").detect(store)
    assert [(f.event_id, f.explanation) for f in found] == [
        ("LATE-5", "Artwork happened in case LATE 30 hours after it was closed by Launch")
    ]


def big_log(cases: int) -> str:
    """``cases`` cases of five steps ending at Launch, with an anomaly for each rule in
    some: stopped at Formulation, Artwork after Launch, one person doing Formulation and
    Safety assessment, the two in the wrong order, Brief with nobody."""
    steps = ["Brief", "Formulation", "Safety assessment", "Artwork", "Launch"]
    lines = [PREFIXES, vocabulary()]
    for number in range(cases):
        path = [(step, day(number % 40 + i), PEOPLE[i % 4]) for i, step in enumerate(steps)]
        kind = number % 10
        if kind == 1:
            path = path[:2]
        elif kind == 2:
            path = [*path[:3], path[4], ("Artwork", day(number % 40 + 9), "ann")]
        elif kind == 3:
            path[2] = ("Safety assessment", path[2][1], "bob")
        elif kind == 4:
            (_, early, _), (_, late, _) = path[1], path[2]
            path[1], path[2] = ("Formulation", late, "bob"), ("Safety assessment", early, "cy")
        elif kind == 5 and number % 20 == 5:
            path[0] = ("Brief", path[0][1], None)
        lines.append(case_turtle(f"B{number}", path))
    return "\n".join(lines)


def test_every_builtin_rule_is_quick_on_a_bigger_log(tmp_path: Path) -> None:
    from kgsentinel.graph.embedded import EmbeddedStore

    cases = 2000  # 9,400 events, in a store on disk
    store = EmbeddedStore(tmp_path / "store")
    store.load(big_log(cases).encode(), format="turtle", graph="npi")
    expected = {
        "case-without-end": {f"B{n}" for n in range(cases) if n % 10 in (1, 2)},
        "events-after-close": {f"B{n}-5" for n in range(cases) if n % 10 == 2},
        "four-eyes": {f"B{n}" for n in range(cases) if n % 10 == 3},
        "wrong-order": {f"B{n}" for n in range(cases) if n % 10 == 4},
        "missing-resource": {f"B{n}-1" for n in range(cases) if n % 20 == 5},
    }
    params = {"as_of": AS_OF, **PAIR}
    timings = {}
    for name in builtin_rules():
        accepted = load_rule(f"builtin:{name}").accepted
        given = {key: value for key, value in params.items() if key in accepted}
        started = time.perf_counter()
        found = SparqlRuleDetector(rule=f"builtin:{name}", params=given).detect(store)
        timings[name] = time.perf_counter() - started
        assert {local(f.subject) for f in found} == expected.get(name, set()), name
    # joined row by row, as these rules once were, events-after-close took 10 s here
    assert max(timings.values()) < 3, timings
    store.close()


# -- rules of a workspace ------------------------------------------------------------------

MARKETS = f"""
<{BASE}case/C1> <{BASE}market> "FR" .
<{BASE}case/C2> <{BASE}market> "US" .
<{BASE}ok1> a <{BASE}Approval> ; <{BASE}case> <{BASE}case/C1> ; <{BASE}market> "FR" .
"""


def test_workspace_rules_load_recursively() -> None:
    rules = load_rules(DATA / "workspace" / "rules")
    assert [r.id for r in rules] == ["npi/launch-without-approval", "quality/case-without-market"]
    first = rules[0]
    assert (first.severity, first.subject, first.labels) == (
        "critical", "launch", {"team": "regulatory", "area": "npi"})  # fmt: skip


def test_a_rule_file_becomes_findings_with_its_header(planted: GraphStore) -> None:
    store = loaded(planted_turtle() + MARKETS)
    rule = DATA / "workspace" / "rules" / "npi" / "launch-without-approval.rq"
    [finding] = SparqlRuleDetector(rule=rule).detect(store)
    assert finding.explanation == "Launch C2-4 of C2 in US has no approval"
    assert (finding.subject, finding.case_id, finding.event_id, finding.activity) == (
        f"{BASE}event/C2-4", "C2", "C2-4", "Launch")  # fmt: skip
    assert (finding.severity, finding.score) == ("critical", SEVERITY_SCORES["critical"])
    assert finding.labels == {"team": "regulatory", "area": "npi"}
    assert finding.key == f"npi/launch-without-approval|{BASE}event/C2-4"
    evidence = {e.label: e.observed for e in finding.evidence}
    assert evidence["Launch in a market without a regulatory approval"] is None
    assert evidence["market"] == "US"
    assert {e.rule for e in finding.evidence} == {"npi/launch-without-approval"}
    overridden = SparqlRuleDetector(rule=rule, severity="info", labels={"team": "ops"},
                                    score=0.55).detect(store)[0]  # fmt: skip
    assert (overridden.severity, overridden.score) == ("info", 0.55)
    assert overridden.labels == {"team": "ops", "area": "npi"}
    assert overridden.fingerprint("d") == finding.fingerprint("d")


def test_rules_run_from_configuration_through_the_suite(planted: GraphStore) -> None:
    from kgsentinel.detectors.suite import make_detector

    detector = make_detector("sparql", {"rule": "builtin:wrong-order", **PAIR})
    assert [f.case_id for f in detector.detect(planted)] == ["SWAP"]


def test_parameter_mistakes_are_explained(planted: GraphStore) -> None:
    with pytest.raises(RuleError, match=r"needs the parameters first, second; set params = "):
        SparqlRuleDetector(rule="builtin:four-eyes").detect(planted)
    with pytest.raises(RuleError, match=r"no parameter 'frist' \(did you mean 'first'\?\)"):
        SparqlRuleDetector(rule="builtin:four-eyes", frist="Brief", second="x").detect(planted)
    with pytest.raises(RuleError, match=r"end_activity .* is an empty list"):
        SparqlRuleDetector(rule="builtin:case-without-end", end_activity=[]).detect(planted)
    with pytest.raises(RuleError, match="cannot bind a dict"):
        SparqlRuleDetector(rule="builtin:four-eyes", first={}, second="x").detect(planted)
    with pytest.raises(ConfigError, match="severity 'urgent' is not one of info, warning"):
        SparqlRuleDetector(rule="builtin:four-eyes", severity="urgent", **PAIR).detect(planted)


def test_rule_references_are_checked(tmp_path: Path) -> None:
    with pytest.raises(RuleError, match=r"no built-in rule 'four-eye' \(did you mean 'four-eyes'"):
        load_rule("builtin:four-eye")
    with pytest.raises(RuleError, match=r"nothere\.rq: no such rule file"):
        load_rule(tmp_path / "nothere.rq")
    rule = "# id: same/id\n# subject: s\nSELECT ?s WHERE { ?s ?p ?o }\n"
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "one.rq").write_text(rule)
    (tmp_path / "two.rq").write_text(rule)
    with pytest.raises(RuleError, match=r"the rule id same/id is also used by .*one\.rq"):
        load_rules(tmp_path)


def test_a_row_without_an_iri_subject_is_an_error(planted: GraphStore, tmp_path: Path) -> None:
    path = tmp_path / "ids.rq"
    path.write_text("# id: bad/subject\n# subject: id\nSELECT ?id WHERE { ?c kgs:caseId ?id }\n")
    with pytest.raises(RuleError, match=r"whose \?id is .*, not an IRI; bind \?id to the IRI"):
        SparqlRuleDetector(rule=path).detect(planted)


HEADER = "# id: t/x\n# subject: s\n"
HEADER_ERRORS = [
    ("# id: t/x\n# subjet: s\nSELECT ?s WHERE { ?s ?p ?o }",
     r"line 2: unknown header key 'subjet' \(did you mean 'subject'\?\); the keys are id, "),
    ("# subject: s\n\nSELECT ?s WHERE { ?s ?p ?o }", r"line 2: the header has no id; add a line"),
    ("# id: t/x\nSELECT ?s WHERE { ?s ?p ?o }", r"line 2: the header has no subject; add a line"),
    ("# id: t/x\n# subject: case\nSELECT ?s ?o WHERE { ?s ?p ?o }",
     r"line 2: subject names \?case, which the SELECT does not return; add \?case to the "
     r"SELECT, or name one of s, o"),
    (HEADER + "# message: {s} has {count}\nSELECT ?s WHERE { ?s ?p ?o }",
     r"line 3: the message uses \{count\}, which the SELECT does not return; add \?count"),
    (HEADER + "# case_id: id\nSELECT ?s WHERE { ?s ?p ?o }",
     r"line 3: case_id names \?id, which the SELECT does not return"),
    (HEADER + "\nASK { ?s ?p ?o }", r"line 4: the query is ASK; a rule is a SELECT"),
    (HEADER + "CONSTRUCT WHERE { ?s ?p ?o }", r"line 3: the query is CONSTRUCT; a rule is"),
    (HEADER + "SELECT ?s WHERE {\n  SERVICE <http://elsewhere/sparql> { ?s ?p ?o }\n}",
     r"line 4: SERVICE clauses are refused"),
    (HEADER + "SELECT ?s WHERE {\n  ?s ?p ?o .\n  ?s ?p\n}",
     r"line 6, column \d+: SPARQL syntax error: "),
    (HEADER + "SELECT ?s WHERE {\n  ?s npi:market ?o\n}",
     r"line 4: unknown prefix npi:; declare it with PREFIX npi: <...> \(these need no "
     r"declaration: kgs, rdf"),
    (HEADER + "# severity: urgent\nSELECT ?s WHERE { ?s ?p ?o }",
     r"line 3: severity 'urgent' is not one of info, warning, critical"),
    (HEADER + "# subject: o\nSELECT ?s WHERE { ?s ?p ?o }",
     r"line 3: subject is given twice \(first on line 2\)"),
    (HEADER + "# labels: team\nSELECT ?s WHERE { ?s ?p ?o }",
     r"line 3: labels are key=value pairs .*; 'team' is not one"),
    (HEADER + "# params: first\nSELECT ?s WHERE { ?s ?p ?o }",
     r"line 3: params names first, but the query never uses \?first"),
    (HEADER + "# optional: limit=\nSELECT ?s WHERE { ?s ?p ?o }",
     r"line 3: optional lists name or name=default"),
    (HEADER + "# This rule finds things\nSELECT ?s WHERE { ?s ?p ?o }",
     r"line 3: header lines look like `# key: value`; end the header with a blank line"),
    (HEADER, r"no query after the header"),
    (HEADER + "# optional: x\n# learn: x\nSELECT ?s WHERE { ?s ?p ?x }",
     r"line 4: no way to learn 'x'; learn can name end_activity \(the activities that end "),
    (HEADER + "# optional: end_activity=1, end_share=0.2\n# learn: end_activity\n"
     "SELECT ?s WHERE { ?s ?p ?end_activity }",
     r"line 4: learn names end_activity, which must be an optional parameter without a "),
    (HEADER + "# optional: end_activity\n# learn: end_activity\n"
     "SELECT ?s WHERE { ?s ?p ?end_activity }",
     r"line 4: learning end_activity needs the optional parameter end_share"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "message"), HEADER_ERRORS)
def test_rule_mistakes_name_the_file_line_and_fix(text: str, message: str) -> None:
    with pytest.raises(RuleError, match=rf"^rules/t\.rq(, |: ){message}"):
        parse_rule(text, source="rules/t.rq")


def test_comments_after_the_header_and_service_in_strings_are_fine() -> None:
    query = 'SELECT ?s WHERE { ?s ?p "SERVICE" FILTER(?p != <urn:x:SERVICE>) }'
    rule = parse_rule(HEADER + "# message: {s} said SERVICE\n\n# SERVICE is a word here\n" + query)
    assert rule.message == "{s} said SERVICE"


def test_a_prefixed_name_cannot_hide_service_in_a_comment() -> None:
    query = "SELECT ?s WHERE { ?s ex:a\\#b ?o . SERVICE <http://x/> { ?s ?p ?o } }"
    with pytest.raises(RuleError, match="SERVICE clauses are refused"):
        parse_rule(HEADER + "PREFIX ex: <urn:x:>\n" + query)


# -- SHACL shapes --------------------------------------------------------------------------

SHAPES = DATA / "shapes" / "npi.shacl.ttl"


@pytest.fixture(scope="module")
def shape_store() -> Iterator[GraphStore]:
    no_resource = [("Brief", day(2), None), ("Formulation", day(3), "bob")]
    cases = [
        case_turtle("C1", normal(1)),
        case_turtle("C2", no_resource),
        case_turtle("c-3", normal(3)),
    ]
    turtle = "\n".join([PREFIXES, vocabulary(), *cases])
    store = loaded(turtle + f'\n<{BASE}case/C1> <{BASE}market> "FR" .\n'
                   f'<{BASE}case/c-3> <{BASE}market> "FR" .\n'
                   f'<{BASE}event/C1-2> kgs:timestamp "soon" .')  # fmt: skip
    # kgsentinel's own graphs are not data: an anomaly here breaks no shape
    store.load(b'<urn:kgsentinel:anomaly:1> a <https://w3id.org/kgsentinel#Event> .',
               format="turtle", graph="anomalies")  # fmt: skip
    yield store
    store.close()


def test_shape_violations_become_findings_with_severities(shape_store: GraphStore) -> None:
    found = ShaclDetector(shapes=SHAPES).detect(shape_store)
    summary = sorted((local(f.subject), f.severity, f.evidence[0].label) for f in found)
    assert summary == [
        ("C1-2", "critical", "sh:DatatypeConstraintComponent on kgs:timestamp"),
        ("C2", "critical", "sh:MinCountConstraintComponent on <urn:kgsentinel:npi:market>"),
        ("C2-1", "info", "sh:MinCountConstraintComponent on kgs:resource"),
        ("c-3", "warning", "sh:PatternConstraintComponent on kgs:caseId"),
    ]
    by_subject = {local(f.subject): f for f in found}
    market = by_subject["C2"]
    assert (market.kind, market.case_id, market.score) == ("shape", "C2", 1.0)
    assert market.evidence[0].expected == "sh:minCount 1"
    assert market.evidence[0].rule == "<urn:kgsentinel:npi:CaseShape>/<urn:kgsentinel:npi:market>"
    pattern = by_subject["c-3"]
    assert (pattern.evidence[0].expected, pattern.evidence[0].observed) == (
        'sh:pattern ^[A-Z]+[0-9]*$', "c-3")  # fmt: skip
    assert pattern.explanation == "Case c-3: Value does not match pattern '^[A-Z]+[0-9]*$'"
    assert market.explanation == "Case C2: A case needs a market"
    nobody = by_subject["C2-1"]
    assert (nobody.event_id, nobody.case_id, nobody.activity) == ("C2-1", "C2", "Brief")
    again = ShaclDetector(shapes=SHAPES.parent).detect(shape_store)
    assert {f.fingerprint("s") for f in again} == {f.fingerprint("s") for f in found}


def test_shapes_check_only_the_graphs_asked_for(shape_store: GraphStore) -> None:
    everything = ShaclDetector(shapes=SHAPES).detect(shape_store)
    assert ShaclDetector(shapes=SHAPES, graphs=["npi"]).detect(shape_store) == everything
    [anomaly] = ShaclDetector(shapes=SHAPES, graphs=["anomalies"]).detect(shape_store)
    assert anomaly.subject == "urn:kgsentinel:anomaly:1"
    with pytest.raises(ConfigError, match=r"no graph 'urn:kgsentinel:graph:crm' .*npi"):
        ShaclDetector(shapes=SHAPES, graphs=["crm"]).detect(shape_store)


def test_shapes_files_are_checked(shape_store: GraphStore, tmp_path: Path) -> None:
    broken = tmp_path / "broken.shacl.ttl"
    broken.write_text("@prefix sh: <http://www.w3.org/ns/shacl#> .\n\n<urn:x:S> a sh:NodeShape ;\n")
    with pytest.raises(RuleError, match=r"broken\.shacl\.ttl, line \d+: .*fix the Turtle syntax"):
        ShaclDetector(shapes=broken).detect(shape_store)
    with pytest.raises(RuleError, match=r"missing\.shacl\.ttl: no such shapes file"):
        ShaclDetector(shapes=tmp_path / "missing.shacl.ttl").detect(shape_store)
    remote = tmp_path / "remote.shacl.ttl"
    remote.write_text('@prefix sh: <http://www.w3.org/ns/shacl#> .\n<urn:x:S> a sh:NodeShape ;\n'
                      '  sh:targetClass <urn:x:C> ; sh:sparql [ sh:select """SELECT $this WHERE '
                      '{ SERVICE <http://x/sparql> { $this ?p ?o } }""" ] .\n')  # fmt: skip
    with pytest.raises(RuleError, match="uses SERVICE, which is refused"):
        ShaclDetector(shapes=remote).detect(shape_store)


def test_missing_pyshacl_gives_the_install_hint(
    shape_store: GraphStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pyshacl", None)
    with pytest.raises(ConfigError, match=r"pip install 'kgsentinel\[shacl\]'"):
        ShaclDetector(shapes=SHAPES).detect(shape_store)


# -- docs/rules.md: every example runs as shown --------------------------------------------


def doc_blocks() -> list[tuple[str, str]]:
    return re.findall(r"^```(\w*)\n(.*?)^```", DOC.read_text(encoding="utf-8"), re.M | re.S)


def run_config(text: str, store: GraphStore, root: Path) -> list[str]:
    from kgsentinel.config import DetectorConfig
    from kgsentinel.detectors.suite import make_detector

    lines = []
    for name, section in tomllib.loads(text)["detectors"].items():
        config = DetectorConfig.model_validate(section)
        params = dict(config.params)
        path = config.rule or config.shapes or ""
        params["rule" if config.rule else "shapes"] = (
            path if path.startswith("builtin:") else str(root / path))  # fmt: skip
        for finding in make_detector(config.kind or name, params).detect(store):
            lines.append(f"[{finding.severity or config.severity or 'warning'}] "
                         f"{finding.explanation}")  # fmt: skip
    return lines


def test_every_example_of_the_rules_doc_runs_as_shown(tmp_path: Path) -> None:
    store = open_store(":memory:")
    (tmp_path / "rules").mkdir()
    pending: tuple[str, str] | None = None
    checked = []
    for language, body in doc_blocks():
        if language == "turtle" and body.startswith("# data"):
            store.load(body.encode(), format="turtle", graph="npi")
        elif language == "turtle" and body.startswith("# shapes"):
            (tmp_path / "rules" / "npi.shacl.ttl").write_text(body, encoding="utf-8")
        elif language in ("sparql", "toml"):
            pending = (language, body)
            if language == "sparql":
                try:
                    rule = parse_rule(body)
                except RuleError:
                    continue
                path = tmp_path / "rules" / f"{rule.id}.rq"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(body, encoding="utf-8")
        elif language == "text" and pending is not None:
            kind, text = pending
            if kind == "toml":
                shown = run_config(text, store, tmp_path)
            else:
                try:
                    path = tmp_path / "rules" / f"{parse_rule(text).id}.rq"
                    found = SparqlRuleDetector(rule=path).detect(store)
                    shown = [f"[{f.severity}] {f.explanation}" for f in found]
                except RuleError as error:
                    shown = [f"RuleError: {error}"]
            assert sorted(shown) == sorted(body.splitlines()), text
            checked.append(kind)
            pending = None
    assert checked.count("sparql") >= 2
    assert checked.count("toml") >= 9
    ran = " ".join(text for language, text in doc_blocks() if language == "toml")
    assert all(f"builtin:{name}" in ran for name in builtin_rules())


def test_configured_rules_and_shapes_run_with_detect(workspace: Path) -> None:
    from kgsentinel.detectors.anomalies import list_anomalies
    from kgsentinel.detectors.runner import detect
    from kgsentinel.workspace import open_workspace

    (workspace / "rules" / "npi.shacl.ttl").write_bytes(SHAPES.read_bytes())
    config = workspace / "kgsentinel.toml"
    config.write_text(config.read_text() + """
[detectors.four-eyes]
kind = "sparql"
rule = "builtin:four-eyes"
params = { first = "Formulation", second = "Safety assessment" }

[detectors.shapes]
kind = "shacl"
shapes = "rules/npi.shacl.ttl"
params = { graphs = ["npi"] }
""")  # fmt: skip
    with open_workspace(workspace) as ws:
        ws.store.load(planted_turtle().encode(), format="turtle", graph="npi")
        first = {report.detector: report.new for report in detect(ws)}
        again = {report.detector: report.new for report in detect(ws)}
        anomalies = list_anomalies(ws.store, detector="four-eyes")
    assert first["four-eyes"] == 1
    assert first["shapes"] > 0
    assert again == {"four-eyes": 0, "shapes": 0}
    assert list(anomalies["explanation"]) == [
        "bob did both Formulation and Safety assessment in case SAME"
    ]
