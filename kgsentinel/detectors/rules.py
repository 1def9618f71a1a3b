"""SPARQL rules and SHACL shapes as detectors: each row or validation result is a finding.

:class:`SparqlRuleDetector` runs one rule (a ``rules/*.rq`` file or
``builtin:<name>``, see :mod:`kgsentinel.rules`) and turns each row into a
finding of kind ``rule``: the subject from the rule's subject variable, the
explanation from its message, the rule id and the row's values as evidence,
severity and labels from its header. :class:`ShaclDetector` validates the
store's source graphs against shapes files (``rules/*.shacl.ttl``) with pyshacl
and turns each validation result into a finding of kind ``shape``.

A rule has no threshold to learn: each row is a violation. What a rule needs
from the data (the end activities of ``builtin:case-without-end``) its header
names under ``learn``, and the detector learns it with a first aggregate query
when the configuration does not give it. Its score comes from the rule's
``score`` variable when it has one (0.5 just at the rule's own threshold,
towards 1.0 further past it), else from the severity (:data:`SEVERITY_SCORES`);
``score=`` overrides both.

Example:
    >>> from kgsentinel.graph import open_store
    >>> store = open_store(":memory:")
    >>> _ = store.load(b'''@prefix kgs: <https://w3id.org/kgsentinel#> .
    ... @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
    ... <urn:x:e1> kgs:case <urn:x:c1> ; kgs:activity <urn:x:brief> ; kgs:resource <urn:x:ann> .
    ... <urn:x:e2> kgs:case <urn:x:c1> ; kgs:activity <urn:x:approve> ; kgs:resource <urn:x:ann> .
    ... <urn:x:c1> a kgs:Case ; kgs:caseId "C1" .
    ... <urn:x:brief> rdfs:label "Brief" . <urn:x:approve> rdfs:label "Approve" .
    ... <urn:x:ann> rdfs:label "ann" .''', format="turtle", graph="npi")
    >>> detector = SparqlRuleDetector(rule="builtin:four-eyes",
    ...                               params={"first": "Brief", "second": "Approve"})
    >>> [(f.subject, f.explanation, f.severity) for f in detector.detect(store)]
    [('urn:x:c1', 'ann did both Brief and Approve in case C1', 'critical')]
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import pyoxigraph as ox

from kgsentinel.detectors.base import SEVERITIES, Evidence, Finding
from kgsentinel.errors import ConfigError
from kgsentinel.graph.ontology import KGS, PREFIXES
from kgsentinel.graph.terms import graph_iri, python_value
from kgsentinel.rules.loader import Rule, RuleError, load_rule, service_line

if TYPE_CHECKING:  # pragma: no cover
    from kgsentinel.graph.results import Term
    from kgsentinel.graph.store import GraphStore

__all__ = ["SEVERITY_SCORES", "SYSTEM_GRAPHS", "ShaclDetector", "SparqlRuleDetector"]

#: the score of a finding with no score of its own, by severity
SEVERITY_SCORES: dict[str, float] = {"info": 0.6, "warning": 0.8, "critical": 1.0}
#: graphs kgsentinel writes itself: never validated as data
SYSTEM_GRAPHS = tuple(
    graph_iri(name) for name in ("anomalies", "predictions", "alerts", "provenance")
)
_SH = "http://www.w3.org/ns/shacl#"
_RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
_SHACL_SEVERITIES = {
    _SH + "Violation": "critical",
    _SH + "Warning": "warning",
    _SH + "Info": "info",
}


class SparqlRuleDetector:
    """Runs one SPARQL rule; each row it returns is a finding of kind ``rule``.

    ``rule`` is a path to a ``.rq`` file or ``builtin:<name>``; ``params`` (and
    any other keyword argument) binds the rule's parameters. ``severity``,
    ``labels`` and ``score`` override what the rule's header and rows say.
    """

    def __init__(
        self,
        *,
        rule: str | Path,
        params: Mapping[str, Any] | None = None,
        severity: str | None = None,
        labels: Mapping[str, str] | None = None,
        score: float | None = None,
        **rule_params: Any,
    ) -> None:
        self.rule = rule
        self.params = params
        self.severity = severity
        self.labels = labels
        self.score = score
        self.rule_params = rule_params

    def load(self) -> Rule:
        """The rule, read and checked (once)."""
        loaded: Rule | None = getattr(self, "rule_", None)
        if loaded is None:
            loaded = self.rule_ = load_rule(self.rule)
        return loaded

    def detect(self, store: GraphStore) -> list[Finding]:
        """One finding per distinct subject and key among the rule's rows.

        Parameters the rule learns (its header's ``learn``) and the configuration
        leaves out are learned from the store first, with one aggregate query each.
        """
        rule = self.load()
        _check_overrides(self.severity, self.score)
        params = {**(self.params or {}), **self.rule_params}
        params.update(rule.learned(store, params))
        result = rule.select(store, params)
        findings = [self._finding(rule, row) for row in result]
        return _merged(findings, rule.id)

    def _finding(self, rule: Rule, row: Mapping[str, Term | None]) -> Finding:
        subject = row.get(rule.subject)
        if not isinstance(subject, ox.NamedNode):
            shown = "unbound" if subject is None else str(subject)
            raise RuleError(
                f"{rule.source}: rule {rule.id} returned a row whose ?{rule.subject} "
                f"is {shown}, not an IRI; bind ?{rule.subject} to the IRI of what "
                "each violation is about"
            )
        severity = self.severity or rule.severity
        extra = [_text(row.get(name)) or "" for name in rule.key]
        evidence = [Evidence(label=rule.title or rule.id, rule=rule.id)]
        evidence += [
            Evidence(label=name, observed=python_value(term), rule=rule.id)
            for name, term in row.items()
            if term is not None
        ]
        return Finding(
            kind="rule",
            subject=subject.value,
            score=self._score(rule, row, severity),
            explanation=rule.explain(row),
            case_id=_text(row.get(rule.case_id)) if rule.case_id else None,
            event_id=_text(row.get(rule.event_id)) if rule.event_id else None,
            activity=_text(row.get(rule.activity)) if rule.activity else None,
            key="|".join([rule.id, subject.value, *extra]),
            evidence=tuple(evidence),
            severity=severity,
            labels={**rule.labels, **(self.labels or {})},
        )

    def _score(self, rule: Rule, row: Mapping[str, Term | None], severity: str) -> float:
        if self.score is not None:
            return float(self.score)
        value = python_value(row.get(rule.score)) if rule.score else None
        if isinstance(value, int | float) and not isinstance(value, bool) and value == value:
            return min(1.0, max(0.0, float(value)))
        return SEVERITY_SCORES[severity]


class ShaclDetector:
    """Validates the store's source graphs against SHACL shapes; each result is a finding.

    ``shapes`` is a shapes file (``rules/*.shacl.ttl``), a folder of them, or a
    list of either. ``graphs`` limits the data to those graphs (names or IRIs);
    by default every graph but kgsentinel's own (:data:`SYSTEM_GRAPHS`).
    ``severity`` and ``labels`` override the results' severity and add labels.
    Needs pyshacl: ``pip install 'kgsentinel[shacl]'``.
    """

    def __init__(
        self,
        *,
        shapes: str | Path | Sequence[str | Path],
        graphs: Sequence[str] | None = None,
        severity: str | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> None:
        self.shapes = shapes
        self.graphs = graphs
        self.severity = severity
        self.labels = labels

    def shape_files(self) -> list[Path]:
        """The shapes files named by ``shapes`` (folders give their ``*.shacl.ttl``)."""
        given = [self.shapes] if isinstance(self.shapes, str | Path) else list(self.shapes)
        found: list[Path] = []
        for item in map(Path, given):
            if item.is_dir():
                found += sorted(p for p in item.rglob("*.shacl.ttl") if p.is_file())
            elif item.is_file():
                found.append(item)
            else:
                raise RuleError(
                    f"{item}: no such shapes file or folder; check the path "
                    "(shapes files are named *.shacl.ttl)"
                )
        if not found:
            raise RuleError(f"no shapes files (*.shacl.ttl) in {', '.join(map(str, given))}")
        return found

    def detect(self, store: GraphStore) -> list[Finding]:
        """One finding per focus node, shape, path and constraint that fails."""
        pyshacl, rdflib = _shacl_libraries()
        _check_overrides(self.severity, None)
        files = self.shape_files()
        shapes = rdflib.Graph().parse(data=_shapes_ntriples(files), format="nt")
        data = rdflib.Graph().parse(data=_data_ntriples(store, self.graphs), format="nt")
        for prefix, namespace in PREFIXES.items():  # compact names in pyshacl's messages
            data.bind(prefix, namespace)
            shapes.bind(prefix, namespace)
        try:
            _, report, _ = pyshacl.validate(
                data, shacl_graph=shapes, inference="none", allow_infos=True, allow_warnings=True
            )
        except pyshacl.errors.ReportableRuntimeError as exc:
            names = ", ".join(map(str, files))
            raise RuleError(f"{names}: the shapes cannot be used: {exc.message}") from exc
        findings = [
            self._finding(result, report, shapes, data)
            for result in report.subjects(rdflib.RDF.type, rdflib.URIRef(_SH + "ValidationResult"))
        ]
        return _merged(sorted(findings, key=lambda f: (f.subject, f.key)), None)

    def _finding(self, result: Any, report: Any, shapes: Any, data: Any) -> Finding:
        """The finding of one ``sh:ValidationResult`` of ``report``."""
        got = _ValidationResult.read(report, result)
        severity = self.severity or _SHACL_SEVERITIES.get(str(got.severity), "critical")
        path_text = _path_text(shapes, got.path) if got.path is not None else ""
        shape_id = _shape_id(shapes, got.shape, path_text)
        constraint = _compact(got.component)
        case_id, event_id, activity = _process_ids(data, got.focus)
        explanation = _explanation(got.messages, got.focus, case_id, event_id)
        evidence = [
            Evidence(
                label=f"{constraint} on {path_text or 'the node'}",
                expected=_constraint_parameter(shapes, got.shape, got.component),
                observed=_plain(got.value),
                rule=shape_id,
            )
        ]
        if path_text:
            evidence.append(Evidence(label="path", value=path_text, rule=shape_id))
        return Finding(
            kind="shape",
            subject=_focus_iri(data, got.focus),
            score=SEVERITY_SCORES[severity],
            explanation=explanation or _sentence(got.focus, path_text, constraint, got.value),
            case_id=case_id,
            event_id=event_id,
            activity=activity,
            key="|".join([shape_id, path_text, str(got.component)]),
            evidence=tuple(evidence),
            severity=severity,
            labels=dict(self.labels or {}),
        )


class _ValidationResult(NamedTuple):
    """The parts of one SHACL validation result (rdflib nodes; ``None`` where absent)."""

    focus: Any
    path: Any
    component: Any
    shape: Any
    value: Any
    severity: Any
    messages: list[str]

    @classmethod
    def read(cls, report: Any, result: Any) -> _ValidationResult:
        from rdflib import URIRef

        def one(name: str) -> Any:
            return report.value(result, URIRef(_SH + name))

        messages = [str(m) for m in report.objects(result, URIRef(_SH + "resultMessage"))]
        return cls(one("focusNode"), one("resultPath"), one("sourceConstraintComponent"),
                   one("sourceShape"), one("value"), one("resultSeverity"), messages)  # fmt: skip


# -- findings -----------------------------------------------------------------------------


def _merged(findings: Iterable[Finding], rule: str | None) -> list[Finding]:
    """One finding per subject and key; the others add their evidence and a count."""
    kept: dict[tuple[str, str], list[Finding]] = {}
    for finding in findings:
        kept.setdefault((finding.subject, finding.key), []).append(finding)
    merged = []
    for group in kept.values():
        first = group[0]
        if len(group) > 1:
            extra = [e for other in group[1:] for e in other.evidence if e not in first.evidence]
            count = Evidence(
                label="results for this subject and key",
                observed=len(group),
                rule=rule or (first.evidence[0].rule if first.evidence else None),
            )
            first = dataclasses.replace(first, evidence=(*first.evidence, *extra, count))
        merged.append(first)
    return merged


def _check_overrides(severity: str | None, score: float | None) -> None:
    if severity is not None and severity not in SEVERITIES:
        raise ConfigError(f"severity {severity!r} is not one of {', '.join(SEVERITIES)}")
    if score is not None and not 0.0 <= float(score) <= 1.0:
        raise ConfigError(f"score {score!r} is not in [0, 1]")


def _text(term: Term | None) -> str | None:
    return None if term is None else str(getattr(term, "value", term))


# -- SHACL --------------------------------------------------------------------------------


def _shacl_libraries() -> tuple[Any, Any]:
    try:
        import pyshacl
        import pyshacl.errors
        import rdflib
    except ImportError:
        raise ConfigError("SHACL shapes need pyshacl: pip install 'kgsentinel[shacl]'") from None
    return pyshacl, rdflib


def _shapes_ntriples(files: Sequence[Path]) -> bytes:
    """The shapes files as one N-Triples document (Turtle errors name the file and line)."""
    triples: list[ox.Triple] = []
    for path in files:
        try:
            quads = list(ox.parse(path=str(path), format=ox.RdfFormat.TURTLE))
        except SyntaxError as exc:
            where = f", line {exc.lineno}" if exc.lineno else ""
            detail = str(exc.msg or exc).splitlines()[0]
            raise RuleError(f"{path}{where}: {detail} (fix the Turtle syntax)") from None
        triples += [ox.Triple(q.subject, q.predicate, q.object) for q in quads]
    _refuse_service(triples, files)
    return ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES) or b""


def _refuse_service(triples: Iterable[ox.Triple], files: Sequence[Path]) -> None:
    queries = {_SH + "select", _SH + "ask", _SH + "construct", _SH + "update"}
    for triple in triples:
        if triple.predicate.value in queries and service_line(triple.object.value):
            raise RuleError(
                f"{', '.join(map(str, files))}: a SPARQL constraint of "
                f"{triple.subject} uses SERVICE, which is refused (shapes must not "
                "call other endpoints)"
            )


def _data_ntriples(store: GraphStore, graphs: Sequence[str] | None) -> bytes:
    """The triples of the data graphs (all but :data:`SYSTEM_GRAPHS`, or ``graphs``)."""
    available = {info.iri for info in store.graphs()}
    if graphs is not None:
        wanted = {graph_iri(name) for name in graphs}
        unknown = sorted(wanted - available)
        if unknown:
            names = (
                ", ".join(sorted(i.removeprefix("urn:kgsentinel:graph:") for i in available if i))
                or "none"
            )
            raise ConfigError(f"no graph {unknown[0]!r} to validate (graphs: {names})")
        keep = wanted
    else:
        keep = {iri for iri in available if iri not in SYSTEM_GRAPHS}
    dump = store.export(format="nquads") or b""
    triples = (
        ox.Triple(q.subject, q.predicate, q.object)
        for q in ox.parse(dump, format=ox.RdfFormat.N_QUADS)
        if (None if isinstance(q.graph_name, ox.DefaultGraph) else q.graph_name.value) in keep
    )
    return ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES) or b""


def _compact(node: Any) -> str:
    """A prefixed name for an IRI under a known namespace, else ``<iri>``."""
    from rdflib import BNode, Literal

    if node is None:
        return "?"
    if isinstance(node, Literal):
        return str(node)
    if isinstance(node, BNode):
        return "[]"
    text = str(node)
    for prefix, namespace in PREFIXES.items():
        if text.startswith(namespace) and len(text) > len(namespace):
            return f"{prefix}:{text[len(namespace) :]}"
    return f"<{text}>"


def _path_text(shapes: Any, path: Any) -> str:
    """A SHACL property path in SPARQL property-path syntax."""
    from rdflib import BNode, URIRef
    from rdflib.collection import Collection

    if not isinstance(path, BNode):
        return _compact(path)
    rdf_first = URIRef("http://www.w3.org/1999/02/22-rdf-syntax-ns#first")
    if shapes.value(path, rdf_first) is not None:
        return "/".join(_path_text(shapes, step) for step in Collection(shapes, path))
    forms = {
        "inversePath": "^{}",
        "zeroOrMorePath": "({})*",
        "oneOrMorePath": "({})+",
        "zeroOrOnePath": "({})?",
    }
    for name, form in forms.items():
        inner = shapes.value(path, URIRef(_SH + name))
        if inner is not None:
            return form.format(_path_text(shapes, inner))
    choices = shapes.value(path, URIRef(_SH + "alternativePath"))
    if choices is not None:
        return "(" + "|".join(_path_text(shapes, c) for c in Collection(shapes, choices)) + ")"
    return "[]"


def _shape_id(shapes: Any, shape: Any, path_text: str) -> str:
    """The shape's IRI; a blank property shape is named by its node shape and path."""
    from rdflib import BNode, URIRef

    if not isinstance(shape, BNode):
        return _compact(shape)
    owner = next(iter(shapes.subjects(URIRef(_SH + "property"), shape)), None)
    if owner is not None and not isinstance(owner, BNode):
        return f"{_compact(owner)}/{path_text}" if path_text else _compact(owner)
    described = sorted(f"{_compact(p)} {_compact(o)}" for p, o in shapes.predicate_objects(shape))
    return "shape:" + hashlib.sha256("\n".join(described).encode()).hexdigest()[:16]


def _focus_iri(data: Any, focus: Any) -> str:
    """The focus node's IRI; for a blank node or a literal, an IRI that links to it, or a digest."""
    from rdflib import URIRef

    if isinstance(focus, URIRef):
        return str(focus)
    owner = next((s for s in data.subjects(None, focus) if isinstance(s, URIRef)), None)
    if owner is not None:
        return str(owner)
    described = sorted(f"{p} {o}" for p, o in data.predicate_objects(focus)) or [str(focus)]
    return "urn:kgsentinel:node:" + hashlib.sha256("\n".join(described).encode()).hexdigest()[:32]


def _constraint_parameter(shapes: Any, shape: Any, component: Any) -> str | None:
    """The constraint as the shape states it, e.g. ``sh:minCount 1``."""
    from rdflib import URIRef
    from rdflib.collection import Collection

    local = str(component).removeprefix(_SH).removesuffix("ConstraintComponent")
    if not local or shape is None:
        return None
    name = local[0].lower() + local[1:]
    stated = shapes.value(shape, URIRef(_SH + name))
    if stated is None:
        return None
    rdf_first = URIRef("http://www.w3.org/1999/02/22-rdf-syntax-ns#first")
    if shapes.value(stated, rdf_first) is not None:
        shown = " ".join(_compact(item) for item in Collection(shapes, stated))
        return f"sh:{name} ({shown})"
    return f"sh:{name} {_compact(stated)}"


def _explanation(
    messages: Sequence[str], focus: Any, case_id: str | None, event_id: str | None
) -> str:
    """The result's message, led by what it is about when it does not say."""
    if not messages:
        return ""
    message = sorted(messages)[0]
    if str(focus) in message or _compact(focus) in message:
        return message
    if event_id is not None:
        return f"Event {event_id}: {message}"
    if case_id is not None:
        return f"Case {case_id}: {message}"
    return f"{_compact(focus)}: {message}"


def _sentence(focus: Any, path_text: str, constraint: str, found: Any) -> str:
    where = f" on {path_text}" if path_text else ""
    value = f" (value {_compact(found)})" if found is not None else ""
    return f"{_compact(focus)} fails {constraint}{where}{value}"


def _plain(node: Any) -> Any:
    """A value of a validation result as a plain Python value."""
    from rdflib import BNode, Literal

    if node is None:
        return None
    if isinstance(node, Literal):
        value = node.toPython()
        return value if isinstance(value, int | float | str | bool) else str(node)
    if isinstance(node, BNode):
        return "[]"
    return str(node)


def _process_ids(data: Any, focus: Any) -> tuple[str | None, str | None, str | None]:
    """The case id, event id and activity of a focus node that is a case or an event."""
    from rdflib import URIRef

    def one(node: Any, name: str) -> Any:
        return data.value(node, URIRef(KGS + name)) if node is not None else None

    case = focus if one(focus, "caseId") is not None else one(focus, "case")
    case_id, event_id = one(case, "caseId"), one(focus, "eventId")
    activity = one(focus, "activity")
    label = data.value(activity, URIRef(_RDFS_LABEL)) if activity is not None else None
    return tuple(None if v is None else str(v) for v in (case_id, event_id, label))  # type: ignore[return-value]
