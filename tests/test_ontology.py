"""The ontology parses, declares and documents every term, and its page's examples run."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pyoxigraph as ox
import pytest

from kgsentinel.graph import ontology
from kgsentinel.graph.ontology import (
    KGS,
    ONTOLOGY_IRI,
    PREFIXES,
    ontology_path,
    ontology_text,
    prefix_header,
)

DOC = Path(__file__).parents[1] / "docs" / "ontology.md"


def iri(name: str) -> ox.NamedNode:
    """``"rdfs:label"`` → its NamedNode, through :data:`PREFIXES`."""
    prefix, rest = name.split(":", 1)
    return ox.NamedNode(PREFIXES[prefix] + rest)


TYPE = iri("rdf:type")
LABEL = iri("rdfs:label")
COMMENT = iri("rdfs:comment")
DOMAIN = iri("rdfs:domain")
RANGE = iri("rdfs:range")
SUBCLASS = iri("rdfs:subClassOf")
DEFINED_BY = iri("rdfs:isDefinedBy")
UNION = iri("owl:unionOf")
OBJECT_PROPERTY = iri("owl:ObjectProperty")
DATATYPE_PROPERTY = iri("owl:DatatypeProperty")
RDF_PROPERTY = iri("rdf:Property")
PROPERTY_TYPES = {OBJECT_PROPERTY, DATATYPE_PROPERTY, RDF_PROPERTY, iri("owl:AnnotationProperty")}
DECLARING_TYPES = PROPERTY_TYPES | {
    iri("owl:Class"),
    iri("owl:NamedIndividual"),
    iri("rdfs:Datatype"),
}
LITERAL_RANGES = {iri("rdfs:Literal")}


class Graph:
    """Just enough of a triple index to check the ontology in plain Python."""

    def __init__(self, quads: list[ox.Quad]) -> None:
        self.quads = quads
        self._out: dict[tuple[object, object], list[object]] = defaultdict(list)
        for q in quads:
            self._out[(q.subject, q.predicate)].append(q.object)

    def objects(self, subject: object, predicate: ox.NamedNode) -> list[object]:
        return self._out.get((subject, predicate), [])

    def one(self, subject: object, predicate: ox.NamedNode) -> object | None:
        values = self.objects(subject, predicate)
        return values[0] if values else None

    def rdf_list(self, head: object) -> list[object]:
        items = []
        while head is not None and head != iri("rdf:nil"):
            items.append(self.one(head, iri("rdf:first")))
            head = self.one(head, iri("rdf:rest"))
        return items

    def superclasses(self, cls: object) -> set[object]:
        seen, todo = {cls}, [cls]
        while todo:
            for parent in self.objects(todo.pop(), SUBCLASS):
                if parent not in seen:
                    seen.add(parent)
                    todo.append(parent)
        return seen

    def classes_of(self, node: object) -> set[object]:
        return set().union(*(self.superclasses(c) for c in self.objects(node, TYPE)))

    def members(self, cls: object) -> set[object]:
        """A named class, or the members of an ``owl:unionOf``, as a set of classes."""
        union = self.one(cls, UNION)
        return set(self.rdf_list(union)) if union is not None else {cls}


def is_kgs(term: object) -> bool:
    return isinstance(term, ox.NamedNode) and term.value.startswith(KGS)


def local(term: ox.NamedNode) -> str:
    return term.value.removeprefix(KGS)


@pytest.fixture(scope="module")
def graph() -> Graph:
    return Graph(list(ox.parse(ontology_text(), format=ox.RdfFormat.TURTLE)))


@pytest.fixture(scope="module")
def declared(graph: Graph) -> set[ox.NamedNode]:
    return {
        q.subject
        for q in graph.quads
        if is_kgs(q.subject) and q.predicate == TYPE and q.object in DECLARING_TYPES
    }


@pytest.fixture(scope="module")
def properties(graph: Graph, declared: set[ox.NamedNode]) -> set[ox.NamedNode]:
    return {t for t in declared if set(graph.objects(t, TYPE)) & PROPERTY_TYPES}


def doc_text() -> str:
    return DOC.read_text(encoding="utf-8")


def doc_blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", doc_text(), flags=re.M | re.S)


# --- the module -------------------------------------------------------------


def test_public_names_exist() -> None:
    assert sorted(ontology.__all__) == sorted(set(ontology.__all__))
    for name in ontology.__all__:
        assert hasattr(ontology, name), name


def test_import_does_not_load_pyoxigraph() -> None:
    code = "import sys, kgsentinel.graph.ontology; print('pyoxigraph' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_path_and_text_are_the_shipped_file() -> None:
    path = ontology_path()
    assert path.is_file()
    assert path.parent == Path(ontology.__file__).parent
    assert path.read_text(encoding="utf-8") == ontology_text()


def test_prefix_header_is_valid_sparql_for_every_prefix() -> None:
    header = prefix_header()
    assert header.endswith("\n")
    assert len(header.splitlines()) == len(PREFIXES)
    assert header.splitlines()[0] == f"PREFIX kgs: <{KGS}>"
    ask = header + "ASK { ?s a kgs:Event ; rdfs:label ?l ; prov:wasGeneratedBy ?r }"
    assert ox.Store().query(ask) is not None


def test_ontology_prefixes_agree_with_prefixes() -> None:
    declared = dict(re.findall(r"^@prefix\s+(\w*):\s+<([^>]*)>", ontology_text(), flags=re.M))
    assert declared["kgs"] == KGS
    for prefix, namespace in declared.items():
        if prefix in PREFIXES:
            assert namespace == PREFIXES[prefix], prefix


# --- the ontology -------------------------------------------------------------


def test_ontology_parses_and_describes_itself(graph: Graph) -> None:
    me = ox.NamedNode(ONTOLOGY_IRI)
    assert iri("owl:Ontology") in graph.objects(me, TYPE)
    assert graph.one(me, iri("owl:versionInfo")) is not None
    assert graph.one(me, iri("dcterms:title")) is not None
    assert KGS.startswith(ONTOLOGY_IRI)


def test_every_term_has_label_comment_and_defined_by(
    graph: Graph, declared: set[ox.NamedNode]
) -> None:
    me = ox.NamedNode(ONTOLOGY_IRI)
    missing = [
        f"{local(t)}: {what}"
        for t in sorted(declared, key=local)
        for what, ok in (
            ("rdfs:label", any(v.language == "en" for v in graph.objects(t, LABEL))),
            ("rdfs:comment", any(v.language == "en" for v in graph.objects(t, COMMENT))),
            ("rdfs:isDefinedBy", graph.objects(t, DEFINED_BY) == [me]),
        )
        if not ok
    ]
    assert not missing, missing


def test_every_property_has_domain_and_range_or_says_why(
    graph: Graph, properties: set[ox.NamedNode]
) -> None:
    problems = []
    for prop in sorted(properties, key=local):
        comment = " ".join(c.value for c in graph.objects(prop, COMMENT))
        for axis, name in ((DOMAIN, "rdfs:domain"), (RANGE, "rdfs:range")):
            if not graph.objects(prop, axis) and f"No {name}" not in comment:
                problems.append(f"{local(prop)}: no {name} and no 'No {name}' in its comment")
    assert not problems, problems


def test_properties_are_typed_to_match_their_ranges(
    graph: Graph, properties: set[ox.NamedNode]
) -> None:
    problems = []
    for prop in sorted(properties, key=local):
        kinds = set(graph.objects(prop, TYPE)) & PROPERTY_TYPES
        ranges = graph.objects(prop, RANGE)
        literal = [r for r in ranges if r.value.startswith(PREFIXES["xsd"]) or r in LITERAL_RANGES]
        if len(kinds) != 1:
            problems.append(f"{local(prop)}: declared as {sorted(k.value for k in kinds)}")
        elif kinds == {DATATYPE_PROPERTY} and (not ranges or literal != ranges):
            problems.append(f"{local(prop)}: datatype property with range {ranges}")
        elif kinds == {OBJECT_PROPERTY} and (not ranges or literal):
            problems.append(f"{local(prop)}: object property with range {ranges}")
        elif kinds == {RDF_PROPERTY} and ranges:
            problems.append(f"{local(prop)}: has a range, so declare it OWL-typed")
    assert not problems, problems


def test_every_kgs_term_used_is_declared(graph: Graph, declared: set[ox.NamedNode]) -> None:
    used = {
        term for q in graph.quads for term in (q.subject, q.predicate, q.object) if is_kgs(term)
    }
    assert sorted(local(t) for t in used - declared) == []


def test_domains_and_ranges_name_declared_or_standard_classes(
    graph: Graph, properties: set[ox.NamedNode], declared: set[ox.NamedNode]
) -> None:
    for prop in properties:
        for axis in (DOMAIN, RANGE):
            for cls in graph.objects(prop, axis):
                for member in graph.members(cls):
                    assert isinstance(member, ox.NamedNode), (prop, axis, member)
                    if is_kgs(member):
                        assert member in declared, (prop, member)


@pytest.mark.parametrize(
    ("cls", "expected"),
    [
        (
            "AnomalyKind",
            "SkippedStep InsertedStep RepeatedStep OutOfOrderStep SlowStep StuckCase "
            "UnusualResource UnusualValue OutlierCase UnusualLink RuleViolation "
            "ShapeViolation Risk",
        ),
        ("Severity", "Info Warning Critical"),
        ("AlertState", "Firing Acknowledged Resolved Silenced"),
    ],
)
def test_enumerations(graph: Graph, cls: str, expected: str) -> None:
    members = {
        local(q.subject)
        for q in graph.quads
        if q.predicate == TYPE and q.object == ox.NamedNode(KGS + cls)
    }
    assert members == set(expected.split())
    for name in members:
        assert iri("owl:NamedIndividual") in graph.objects(ox.NamedNode(KGS + name), TYPE)


def test_severities_are_ranked(graph: Graph) -> None:
    ranks = [
        int(graph.one(ox.NamedNode(KGS + name), ox.NamedNode(KGS + "rank")).value)
        for name in ("Info", "Warning", "Critical")
    ]
    assert ranks == sorted(ranks)
    assert len(set(ranks)) == 3


@pytest.mark.parametrize(
    ("child", "parent"),
    [
        ("kgs:Case", "kgs:Object"),
        ("kgs:Resource", "prov:Agent"),
        ("kgs:Source", "prov:Entity"),
        ("kgs:IngestRun", "prov:Activity"),
        ("kgs:DetectorRun", "prov:Activity"),
        ("kgs:Detector", "prov:SoftwareAgent"),
        ("kgs:Anomaly", "prov:Entity"),
        ("kgs:Prediction", "prov:Entity"),
        ("kgs:Model", "prov:Entity"),
        ("kgs:Alert", "prov:Entity"),
    ],
)
def test_reuses_prov_and_ocel_structure(graph: Graph, child: str, parent: str) -> None:
    assert iri(parent) in graph.superclasses(iri(child))


# --- the documentation ----------------------------------------------------------

KGS_MENTION = re.compile(r"(?<![\w:/#-])kgs:([A-Za-z_][\w-]*)")


def test_doc_mentions_every_declared_term(declared: set[ox.NamedNode]) -> None:
    mentioned = set(KGS_MENTION.findall(doc_text()))
    assert sorted({local(t) for t in declared} - mentioned) == []


def test_doc_mentions_only_declared_terms(declared: set[ox.NamedNode]) -> None:
    mentioned = set(KGS_MENTION.findall(doc_text()))
    assert sorted(mentioned - {local(t) for t in declared}) == []


SPARQL_EXAMPLES = doc_blocks("sparql")
SPARQL_IDS = [f"query{i}" for i, _ in enumerate(SPARQL_EXAMPLES, start=1)]


def test_doc_has_examples() -> None:
    assert len(doc_blocks("sparql")) >= 5
    assert len(doc_blocks("trig")) == 1


@pytest.mark.parametrize("query", SPARQL_EXAMPLES, ids=SPARQL_IDS)
def test_doc_queries_parse(query: str) -> None:
    ox.Store().query(query)


@pytest.fixture(scope="module")
def example_store() -> ox.Store:
    store = ox.Store()
    store.load(doc_blocks("trig")[0], format=ox.RdfFormat.TRIG)
    return store


@pytest.mark.parametrize("query", SPARQL_EXAMPLES, ids=SPARQL_IDS)
def test_doc_queries_return_rows_on_the_worked_example(example_store: ox.Store, query: str) -> None:
    rows = list(example_store.query(query, use_default_graph_as_union=True))
    assert rows, query


def test_worked_example_uses_named_graph_convention(example_store: ox.Store) -> None:
    graphs = {g.value for g in example_store.named_graphs()}
    expected = {"npi", "provenance", "anomalies", "predictions", "alerts"}
    assert graphs == {f"urn:kgsentinel:graph:{name}" for name in expected}


def test_worked_example_respects_domains_and_ranges(
    graph: Graph, example_store: ox.Store, properties: set[ox.NamedNode]
) -> None:
    merged = Graph(list(example_store) + graph.quads)
    problems = []
    for q in example_store:
        if q.predicate not in properties:
            continue
        for domain in graph.objects(q.predicate, DOMAIN):
            if not merged.classes_of(q.subject) & graph.members(domain):
                problems.append(f"{q.subject} {local(q.predicate)}: subject not in domain")
        for rng in graph.objects(q.predicate, RANGE):
            allowed = graph.members(rng)
            if isinstance(q.object, ox.Literal):
                if not (allowed & LITERAL_RANGES or q.object.datatype in allowed):
                    problems.append(f"{q.subject} {local(q.predicate)}: {q.object} not {rng}")
            elif any(a in LITERAL_RANGES or a.value.startswith(PREFIXES["xsd"]) for a in allowed):
                problems.append(f"{q.subject} {local(q.predicate)}: IRI where literal expected")
            elif rng != iri("owl:Thing") and not merged.classes_of(q.object) & allowed:
                problems.append(f"{q.subject} {local(q.predicate)}: {q.object} not in range")
    assert not problems, problems
