"""The current predictions, a page at a time, for the HTTP API.

Predictions are ordered by their IRI (outcome, target, then case digest), a
stable order; the next page starts after the last prediction of this one.
``target`` is ``outcome`` (the probability of the outcome) or
``remaining-time`` (hours left); every filter is bound as a value.

Example:
    >>> from kgsentinel.graph import open_store
    >>> prediction_page(open_store(":memory:"), outcome="late-launch").rows
    []
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox

from kgsentinel.graph.ontology import KGS

if TYPE_CHECKING:  # pragma: no cover
    from kgsentinel.graph.store import GraphStore

__all__ = ["PREDICTION_PREFIX", "PredictionPage", "prediction_page"]

PREDICTION_PREFIX = "urn:kgsentinel:prediction:"
_QUERY = f"""PREFIX kgs: <{KGS}>
SELECT ?prediction ?outcome ?target ?case ?case_id ?probability ?value ?predicted_at
       ?prefix_length ?model ?explanation WHERE {{
  ?prediction a kgs:Prediction ; kgs:subject ?case ; kgs:detector ?detector ;
              kgs:target ?target_iri ; kgs:predictedAt ?predicted_at .
  OPTIONAL {{ ?prediction kgs:probability ?probability }}
  OPTIONAL {{ ?prediction kgs:predictedValue ?value }}
  OPTIONAL {{ ?prediction kgs:prefixLength ?prefix_length }}
  OPTIONAL {{ ?prediction kgs:model ?model }}
  OPTIONAL {{ ?prediction kgs:explanation ?explanation }}
  OPTIONAL {{ ?case kgs:caseId ?case_id }}
  BIND(STRAFTER(STR(?detector), "urn:kgsentinel:detector:") AS ?outcome)
  BIND(IF(STRENDS(STR(?target_iri), "/remaining-time"), "remaining-time", "outcome") AS ?target)
  %s
}} ORDER BY ?prediction LIMIT %d"""


@dataclass(frozen=True)
class PredictionPage:
    """One page of predictions; ``after`` is the id the next page starts after (None: last)."""

    rows: list[dict[str, Any]]
    after: str | None


def prediction_page(
    store: GraphStore,
    *,
    outcome: str | None = None,
    target: str | None = None,
    min_probability: float | None = None,
    case_id: str | None = None,
    limit: int = 100,
    after: str | None = None,
) -> PredictionPage:
    """Current predictions matching the filters, ``limit`` at a time.

    ``after`` is the ``id`` of the last prediction of the page before.
    """
    filters, params = [], {}
    if outcome is not None:
        filters.append("FILTER(?outcome = ?want_outcome)")
        params["want_outcome"] = ox.Literal(outcome)
    if target is not None:
        filters.append("FILTER(?target = ?want_target)")
        params["want_target"] = ox.Literal(target)
    if min_probability is not None:
        filters.append("FILTER(BOUND(?probability) && ?probability >= ?want_probability)")
        params["want_probability"] = ox.Literal(repr(float(min_probability)),
                                                datatype=ox.NamedNode(_XSD + "double"))  # fmt: skip
    if case_id is not None:
        filters.append("FILTER(?case_id = ?want_case)")
        params["want_case"] = ox.Literal(case_id)
    if after is not None:
        filters.append("FILTER(STR(?prediction) > ?after)")
        params["after"] = ox.Literal(PREDICTION_PREFIX + after)
    found = store.query(_QUERY % ("\n  ".join(filters), limit + 1), params=params).rows()
    rows = [_row(row) for row in found[:limit]]
    return PredictionPage(rows, rows[-1]["id"] if len(found) > limit else None)


_XSD = "http://www.w3.org/2001/XMLSchema#"


def _row(row: dict[str, Any]) -> dict[str, Any]:
    value = row.pop("value")
    return {
        "id": str(row.pop("prediction")).removeprefix(PREDICTION_PREFIX),
        **row,
        "predicted_at": row["predicted_at"].isoformat() if row["predicted_at"] else None,
        "remaining": str(value) if value is not None else None,
    }
