"""The predictions graph: what is predicted for each running case, in RDF.

``urn:kgsentinel:graph:predictions`` holds, for each outcome, its targets (a
``kgs:Target`` for the outcome and one for its remaining time) and one
``kgs:Prediction`` per running case and target::

    <urn:kgsentinel:prediction:late-launch/outcome/3f2a...> a kgs:Prediction ;
        kgs:subject <case> ; kgs:detector <urn:kgsentinel:detector:late-launch> ;
        kgs:target <urn:kgsentinel:target:late-launch> ;
        kgs:probability 0.81 ;          # or kgs:predictedValue "P12DT4H"^^xsd:dayTimeDuration
        kgs:model <urn:kgsentinel:model:late-launch/v3> ; kgs:prefixLength 4 ;
        kgs:predictedAt "..."^^xsd:dateTime ; kgs:explanation "Case NPI-7: 81% likely to ..." ;
        kgs:evidence <.../evidence/1> ; prov:wasGeneratedBy <run> .
    <.../evidence/1> a kgs:Evidence ; kgs:feature "elapsed_hours" ; kgs:featureValue 412.0 ;
        kgs:contribution 0.22 .

A prediction's IRI depends only on its outcome, target and case, and
:func:`replace_predictions` swaps all of an outcome's predictions in one
transaction, so the graph always holds the current ones. Where a running
case's events already decide the outcome (it has reached the activity, or
already taken longer than the SLA), the probability is 1 (or 0) and the
evidence says why (see :func:`settle`).

Example:
    >>> from kgsentinel.config import OutcomeConfig
    >>> describe_outcome(OutcomeConfig(kind="slower-than", hours=720))
    'take longer than 30.0 days'
    >>> duration_literal(26.5).value
    'P1DT2H30M'
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox

from kgsentinel.config import OutcomeConfig
from kgsentinel.detectors.anomalies import PROV, RDF_TYPE, RDFS, detector_iri
from kgsentinel.graph import terms
from kgsentinel.graph.ontology import KGS
from kgsentinel.graph.terms import graph_iri
from kgsentinel.predict import registry
from kgsentinel.predict.registry import OUTCOME, ModelVersion

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from kgsentinel.graph.store import GraphStore

__all__ = [
    "PREDICTIONS_GRAPH",
    "describe_outcome",
    "duration_literal",
    "explanation",
    "plain_value",
    "prediction_iri",
    "prediction_quads",
    "replace_predictions",
    "settle",
]

PREDICTIONS_GRAPH = graph_iri("predictions")


def describe_outcome(config: OutcomeConfig) -> str:
    """The outcome in words, to follow "likely to".

    Example:
        >>> describe_outcome(OutcomeConfig(kind="never-reaches", activity="Launch"))
        "end without 'Launch'"
    """
    from kgsentinel.detectors.timing import format_hours

    if config.kind == "reaches":
        return f"reach {config.activity!r}"
    if config.kind == "never-reaches":
        return f"end without {config.activity!r}"
    if config.kind == "slower-than":
        return f"take longer than {format_hours(float(config.hours or 0))}"
    return "make its ASK query true"


def prediction_iri(name: str, target: str, case: str) -> str:
    """The IRI of the prediction of ``target`` of outcome ``name`` for ``case``: always the same.

    Example:
        >>> prediction_iri("late", "outcome", "urn:x:case/1")[:37]
        'urn:kgsentinel:prediction:late/outcom'
    """
    digest = hashlib.sha256(case.encode("utf-8")).hexdigest()[:32]
    return f"urn:kgsentinel:prediction:{name}/{target}/{digest}"


def settle(config: OutcomeConfig, log: pd.DataFrame, scored: pd.DataFrame) -> pd.DataFrame:
    """The predictions, with the outcome made certain where a running case's events decide it.

    A case that has reached the activity has reached it (or can no longer end
    without it), and one that has already taken longer than the SLA is late:
    its value becomes 1 (or 0) and ``settled`` says why (it is None elsewhere).
    """
    import pandas as pd

    from kgsentinel.detectors.timing import format_hours
    from kgsentinel.predict.outcomes import case_durations

    scored = scored.assign(settled=None)
    if config.kind in ("reaches", "never-reaches"):
        reached = set(log.loc[log["activity"] == config.activity, "case"])
        settled = scored["case"].isin(reached)
        value = 1.0 if config.kind == "reaches" else 0.0
        reasons = pd.Series(f"has reached {config.activity!r}", index=scored.index)
    elif config.kind == "slower-than":
        hours = scored["case"].map(case_durations(log))
        settled = hours > float(config.hours or 0)
        value = 1.0
        sla = format_hours(float(config.hours or 0))
        reasons = hours.map(lambda h: f"has taken {format_hours(h)} already, more than {sla}")
    else:
        return scored
    scored.loc[settled, "value"] = value
    scored.loc[settled, "settled"] = reasons[settled]
    return scored


def explanation(config: OutcomeConfig, case_id: str, value: float, settled: Any) -> str:
    """The line a person reads about a prediction (``settled``: why it is certain, if it is).

    Example:
        >>> explanation(OutcomeConfig(kind="reaches", activity="Rework"), "L7", 0.84, None)
        "Case L7: 84% likely to reach 'Rework'"
    """
    if settled:
        return f"Case {case_id} {settled}"
    return f"Case {case_id}: {value:.0%} likely to {describe_outcome(config)}"


def prediction_quads(
    name: str,
    config: OutcomeConfig,
    version: ModelVersion,
    scored: Mapping[str, pd.DataFrame],
    case_ids: Mapping[str, str],
    run: str,
    at: dt.datetime,
) -> list[ox.Quad]:
    """The predictions graph's part for outcome ``name``: its targets and predictions."""
    from kgsentinel.detectors.timing import format_hours

    graph = ox.NamedNode(PREDICTIONS_GRAPH)
    detector = ox.NamedNode(detector_iri(name))
    quads: list[ox.Quad] = []

    def add(subject: ox.NamedNode, predicate: str, value: Any) -> None:
        if value is not None:
            quads.append(terms.quad(subject, predicate, value, graph))

    for target, frame in scored.items():
        target_node = ox.NamedNode(registry.target_iri(name, target))
        add(target_node, RDF_TYPE, ox.NamedNode(KGS + "Target"))
        add(target_node, RDFS + "label", name if target == OUTCOME else f"{name} {target}")
        meaning = (f"likely to {describe_outcome(config)}" if target == OUTCOME
                   else f"hours left until the case ends ({name})")  # fmt: skip
        add(target_node, RDFS + "comment", meaning)
        for row in frame.itertuples(index=False):
            case = str(row.case)
            node = ox.NamedNode(prediction_iri(name, target, case))
            value = float(row.value)
            case_id = case_ids.get(case, case)
            add(node, RDF_TYPE, ox.NamedNode(KGS + "Prediction"))
            add(node, KGS + "subject", ox.NamedNode(case))
            add(node, KGS + "detector", detector)
            add(node, KGS + "target", target_node)
            add(node, KGS + "model", ox.NamedNode(version.iri(target)))
            add(node, KGS + "predictedAt", at)
            add(node, KGS + "prefixLength", int(row.prefix_length))
            add(node, PROV + "wasGeneratedBy", ox.NamedNode(run))
            settled = getattr(row, "settled", None)
            if target == OUTCOME:
                add(node, KGS + "probability", value)
                text = explanation(config, case_id, value, settled)
            else:
                add(node, KGS + "predictedValue", duration_literal(value))
                text = f"Case {case_id}: about {format_hours(max(value, 0.0))} to go"
            add(node, KGS + "explanation", text)
            if settled:
                evidence = ox.NamedNode(f"{node.value}/evidence/1")
                add(node, KGS + "evidence", evidence)
                add(evidence, RDF_TYPE, ox.NamedNode(KGS + "Evidence"))
                add(evidence, RDFS + "label", f"the case {settled}")
                continue
            for number, (feature, feature_value, contribution) in enumerate(row.features, 1):
                evidence = ox.NamedNode(f"{node.value}/evidence/{number}")
                add(node, KGS + "evidence", evidence)
                add(evidence, RDF_TYPE, ox.NamedNode(KGS + "Evidence"))
                add(evidence, KGS + "feature", str(feature))
                add(evidence, KGS + "featureValue", plain_value(feature_value))
                add(evidence, KGS + "contribution", float(contribution))
    return quads


def duration_literal(hours: float) -> ox.Literal:
    """Hours as an ``xsd:dayTimeDuration``, to the minute (never negative).

    Example:
        >>> duration_literal(26.5).value, duration_literal(0.001).value
        ('P1DT2H30M', 'PT0M')
    """
    minutes = max(0, round(hours * 60))
    days, minutes = divmod(minutes, 24 * 60)
    hours_, minutes = divmod(minutes, 60)
    time = (f"{hours_}H" if hours_ else "") + (f"{minutes}M" if minutes else "")
    text = "P" + (f"{days}D" if days else "") + (f"T{time}" if time else "")
    return ox.Literal(text if text != "P" else "PT0M",
                      datatype=ox.NamedNode(terms.XSD + "dayTimeDuration"))  # fmt: skip


def plain_value(value: Any) -> Any:
    """A feature value as a plain Python value, or None when it is missing."""
    if hasattr(value, "item") and hasattr(value, "dtype"):
        value = value.item()
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    if isinstance(value, bool | int | float | str):
        return value
    return str(value)


_DELETE_PREDICTIONS = """PREFIX kgs: <https://w3id.org/kgsentinel#>
DELETE {{ GRAPH {graph} {{ ?s ?p ?o }} }} WHERE {{
  VALUES ?detector {{ {detector} }}
  GRAPH {graph} {{
    {{ ?s kgs:detector ?detector }}
    UNION {{ ?prediction kgs:detector ?detector ; kgs:evidence ?s }}
    UNION {{ ?prediction kgs:detector ?detector ; kgs:target ?s }}
    ?s ?p ?o
  }}
}}"""


def replace_predictions(store: GraphStore, name: str, quads: list[ox.Quad]) -> None:
    """Remove outcome ``name``'s predictions and write ``quads``, in one transaction.

    Every term is written by pyoxigraph's serialiser, never pasted from user text.
    """
    delete = _DELETE_PREDICTIONS.format(graph=ox.NamedNode(PREDICTIONS_GRAPH),
                                        detector=ox.NamedNode(detector_iri(name)))  # fmt: skip
    lines = "\n".join(f"GRAPH {q.graph_name} {{ {q.subject} {q.predicate} {q.object} . }}"
                      for q in quads)  # fmt: skip
    store.update(f"{delete} ;\nINSERT DATA {{\n{lines}\n}}" if lines else delete)
