"""What every detector shares: findings, evidence, kinds, and the event-log frame.

A detector reads the graph (directly with SPARQL, or through the event log
frame below) and returns :class:`Finding` objects. The runner
(:mod:`kgsentinel.detectors.runner`) stamps them with the detector's name,
severity and labels, gives each a fingerprint, and writes the new ones into the
anomalies graph, so a finding seen again is never duplicated.

**The event log frame** is how process detectors see events: a pandas
DataFrame with one row per event, sorted by case then time, and these columns
(:data:`EVENT_COLUMNS`):

============ ================================================================
column       meaning
============ ================================================================
case         the case's IRI (str)
case_id      the case's id (str)
event        the event's IRI (str)
event_id     the event's id (str)
activity     the activity's name (str)
timestamp    when the event happened (``datetime64[..., UTC]``)
resource     who did it (str, or NA)
============ ================================================================

Other columns are event attributes, named ``attr:<name>`` (numbers as floats,
anything else as str).

**Two kinds of detector** (see the protocols below):

- :class:`EventLogDetector`: learns what is normal from an event log frame and
  reports findings for the cases of a frame. These follow scikit-learn's
  conventions: a keyword-only ``__init__`` storing parameters verbatim,
  ``fit(log)`` returning ``self``, fitted state ending in ``_``, thresholds
  chosen without labels during ``fit`` (overridable by a parameter), and
  ``findings(log)``.
- :class:`GraphDetector`: asks the graph directly (SPARQL rules, SHACL shapes)
  with ``detect(store)``.

Example:
    >>> finding = Finding(kind="skipped", subject="urn:x:case/7", score=0.93,
    ...                   explanation="Safety assessment skipped before Regulatory filing",
    ...                   case_id="7", activity="Safety assessment", key="Safety assessment")
    >>> finding.kind_iri
    'https://w3id.org/kgsentinel#SkippedStep'
    >>> len(finding.fingerprint("conformance"))
    64
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from kgsentinel.graph.store import GraphStore

from kgsentinel.graph.ontology import KGS

__all__ = [
    "EVENT_COLUMNS",
    "KINDS",
    "SEVERITIES",
    "EventLogDetector",
    "Evidence",
    "Finding",
    "GraphDetector",
    "kind_iri",
]

#: kind name -> the ontology's kgs:AnomalyKind individual
KINDS: dict[str, str] = {
    "skipped": "SkippedStep",
    "inserted": "InsertedStep",
    "repeated": "RepeatedStep",
    "out-of-order": "OutOfOrderStep",
    "slow": "SlowStep",
    "stuck": "StuckCase",
    "unusual-resource": "UnusualResource",
    "unusual-value": "UnusualValue",
    "outlier-case": "OutlierCase",
    "unusual-link": "UnusualLink",
    "rule": "RuleViolation",
    "shape": "ShapeViolation",
    "risk": "Risk",
}
#: severity name -> the ontology's kgs:Severity individual, lowest first
SEVERITIES: dict[str, str] = {"info": "Info", "warning": "Warning", "critical": "Critical"}
EVENT_COLUMNS = ("case", "case_id", "event", "event_id", "activity", "timestamp", "resource")


def kind_iri(kind: str) -> str:
    """The IRI of a kind name; unknown kinds are explained.

    Example:
        >>> kind_iri("slow")
        'https://w3id.org/kgsentinel#SlowStep'
    """
    try:
        return KGS + KINDS[kind]
    except KeyError:
        raise ValueError(f"unknown anomaly kind {kind!r}; use one of {', '.join(KINDS)}") from None


@dataclass(frozen=True)
class Evidence:
    """One checkable reason behind a finding.

    ``expected``/``observed`` hold what the detector expected and saw (an
    activity, a duration in hours, a count, a value); ``rule`` names a rule or
    shape; ``feature``/``value``/``contribution`` name a model feature. ``label``
    says in words what the numbers are, e.g. ``"hours from Brief to Formulation"``.
    """

    label: str | None = None
    expected: Any = None
    observed: Any = None
    rule: str | None = None
    feature: str | None = None
    value: Any = None
    contribution: float | None = None


@dataclass(frozen=True)
class Finding:
    """One thing a detector found: a kind, a subject, a score in [0, 1] and why.

    ``key`` is what tells two findings of one kind on one subject apart (the
    skipped activity, the rule id); with the detector, kind and subject it
    makes the fingerprint, so the same finding found again is recognised.
    ``severity`` and ``labels`` default to the detector's configuration.
    """

    kind: str
    subject: str
    score: float
    explanation: str
    case_id: str | None = None
    event_id: str | None = None
    activity: str | None = None
    key: str = ""
    evidence: Sequence[Evidence] = ()
    severity: str | None = None
    labels: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        kind_iri(self.kind)
        if not 0.0 <= self.score <= 1.0:
            raise ValueError(f"a finding's score is in [0, 1], got {self.score!r}")
        if self.severity is not None and self.severity not in SEVERITIES:
            raise ValueError(f"unknown severity {self.severity!r}; use one of "
                             f"{', '.join(SEVERITIES)}")  # fmt: skip

    @property
    def kind_iri(self) -> str:
        """The ontology individual of the finding's kind."""
        return kind_iri(self.kind)

    def fingerprint(self, detector: str) -> str:
        """A stable digest of what identifies the finding (not its score or wording)."""
        text = "\x1f".join([detector, self.kind, self.subject, self.key])
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


@runtime_checkable
class EventLogDetector(Protocol):
    """Learns the normal process from an event log frame; finds what departs from it."""

    def fit(self, log: pd.DataFrame) -> EventLogDetector:
        """Learn from ``log`` (history that may itself hold anomalies); return ``self``."""
        ...

    def findings(self, log: pd.DataFrame) -> list[Finding]:
        """Findings for the cases in ``log`` (all its events, not only new ones)."""
        ...


@runtime_checkable
class GraphDetector(Protocol):
    """Asks the graph itself: each result of a rule or shape is a finding."""

    def detect(self, store: GraphStore) -> list[Finding]:
        """Findings over the whole graph."""
        ...
