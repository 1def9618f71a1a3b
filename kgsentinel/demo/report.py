"""The demo report: what was loaded, found, planted, predicted and alerted; what to try next.

:func:`recall_table` compares the planted anomalies' labels with the
anomalies the detectors wrote: a planted anomaly is found when an anomaly of
the detector or kind that catches it names its launch (or, for a supplier, the
supplier). :func:`render_report` turns a :class:`~kgsentinel.demo.runner.DemoReport`
into the short text ``kgsentinel demo`` prints.

Example:
    >>> import pandas as pd
    >>> labels = pd.DataFrame({"kind": ["rework-loop", "rework-loop"], "case_id": ["L-1", "L-2"],
    ...                        "subject": ["L-1", "L-2"]})
    >>> found = pd.DataFrame({"detector": ["conformance"] * 2, "kind": ["repeated"] * 2,
    ...                       "case_id": ["L-1", "L-9"], "subject": ["e1", "e9"]})
    >>> row = recall_table(labels, found).iloc[0]
    >>> row.kind, int(row.planted), int(row.found), int(row.also_flagged)
    ('rework-loop', 2, 1, 1)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kgsentinel.demo.sources import NPI, PLANTED_KINDS

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from kgsentinel.demo.runner import DemoReport
    from kgsentinel.graph.store import GraphStore

__all__ = ["CATCHES", "recall_table", "render_report", "riskiest_launches"]

#: per planted kind, the anomaly kind (or the rule's detector) that catches it
CATCHES: dict[str, tuple[str, str]] = {
    "skipped-stability-test": ("kind", "skipped"),
    "rework-loop": ("kind", "repeated"),
    "out-of-order": ("kind", "out-of-order"),
    "slow-step": ("kind", "slow"),
    "unusual-resource": ("kind", "unusual-resource"),
    "artwork-before-freeze": ("detector", "npi/artwork-before-freeze"),
    "launch-without-approval": ("detector", "npi/launch-without-approval"),
    "stuck-filing": ("kind", "stuck"),
    "complaint-spike": ("detector", "npi/supplier-complaint-spike"),
    "late-launch": ("kind", "risk"),
}

_RISKIEST = f"""
PREFIX kgs: <https://w3id.org/kgsentinel#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX npi: <{NPI}>
SELECT ?case_id ?market ?probability ?events ?explanation WHERE {{
  ?prediction a kgs:Prediction ; kgs:target/rdfs:label ?outcome ; kgs:subject ?case ;
              kgs:probability ?probability ; kgs:prefixLength ?events ;
              kgs:explanation ?explanation .
  ?case kgs:caseId ?case_id .
  OPTIONAL {{ ?case npi:market ?market }}
}} ORDER BY DESC(?probability) ?case_id LIMIT 5
"""


def recall_table(labels: pd.DataFrame, anomalies: pd.DataFrame) -> pd.DataFrame:
    """Per planted kind: ``kind, what, planted, found``, and ``also_flagged`` (others caught).

    ``also_flagged`` counts the launches (or subjects) the same detector or
    kind flagged that were not planted with that kind.
    """
    import pandas as pd

    rows = []
    for kind, (column, value) in CATCHES.items():
        planted = labels[labels["kind"] == kind]
        if planted.empty:
            continue
        caught = anomalies[anomalies[column] == value]
        on_case = planted["case_id"].fillna("").astype(str) != ""
        keys = set(caught["case_id"].dropna().astype(str)) | set(caught["subject"].astype(str))
        wanted = set(planted["case_id"].where(on_case, planted["subject"]).astype(str))
        flagged = (caught["case_id"].where(caught["case_id"].notna(), caught["subject"])
                   .astype(str))  # fmt: skip
        rows.append({
            "kind": kind,
            "what": PLANTED_KINDS.get(kind, kind),
            "planted": len(wanted),
            "found": len(wanted & keys),
            "also_flagged": len(set(flagged) - wanted),
        })  # fmt: skip
    return pd.DataFrame(rows, columns=["kind", "what", "planted", "found", "also_flagged"])


def riskiest_launches(store: GraphStore, outcome: str = "late") -> pd.DataFrame:
    """The five running launches most likely to meet ``outcome``, from the predictions graph."""
    import pyoxigraph as ox

    return store.query_frame(_RISKIEST, params={"outcome": ox.Literal(outcome)})


def render_report(report: DemoReport) -> str:
    """The text ``kgsentinel demo`` prints: loaded, found, planted, risks, alerts, next."""
    parts = [
        f"kgsentinel demo: new product introductions of a cosmetics company, in {report.root} "
        f"({report.seconds:.0f} s)",
        _loaded(report),
        _top_anomalies(report.anomalies),
        _found(report.recall),
        _risks(report),
        _alerts(report),
        _next(report),
    ]
    return "\n\n".join(parts) + "\n"


def _table(header: list[str], rows: list[list[str]], right: set[int]) -> list[str]:
    widths = [max(len(str(x)) for x in column) for column in zip(header, *rows, strict=True)]

    def line(cells: list[str]) -> str:
        out = [str(c).rjust(w) if i in right else str(c).ljust(w)
               for i, (c, w) in enumerate(zip(cells, widths, strict=True))]  # fmt: skip
        return "  " + "  ".join(out).rstrip()

    return [line(header), *(line(row) for row in rows)]


def _loaded(report: DemoReport) -> str:
    rows = [[s.source, f"{s.rows_loaded:,}", f"{s.rows_rejected:,}", f"{s.triples:,}"]
            for s in report.sources]  # fmt: skip
    total_rows = sum(s.rows_loaded for s in report.sources)
    total_triples = sum(s.triples for s in report.sources)
    head = (f"Loaded {len(report.sources)} sources: {total_rows:,} rows into "
            f"{total_triples:,} triples, one named graph each")  # fmt: skip
    return "\n".join([head, *_table(["source", "rows", "rejected", "triples"], rows, {1, 2, 3})])


def _top_anomalies(anomalies: pd.DataFrame, count: int = 8) -> str:
    """The highest-scored anomaly of each detector, the clearest first."""
    order = {"critical": 0, "warning": 1, "info": 2}
    ranked = anomalies.assign(rank=anomalies["severity"].map(order).fillna(3))
    ranked = ranked.sort_values(["rank", "score"], ascending=[True, False], kind="stable")
    top = ranked.drop_duplicates("detector").head(count)
    lines = [f"Top anomalies ({len(anomalies):,} standing; `kgsentinel anomalies` lists them):"]
    lines += [f"  [{row.severity}] {row.detector} ({row.kind}, {row.score:.2f}): "
              f"{row.explanation}" for row in top.itertuples()]  # fmt: skip
    return "\n".join(lines)


def _found(recall: pd.DataFrame) -> str:
    planted, found = int(recall["planted"].sum()), int(recall["found"].sum())
    rows = [[r.kind, f"{r.found} / {r.planted}", str(r.also_flagged), r.what]
            for r in recall.itertuples()]  # fmt: skip
    head = f"Planted anomalies found: {found} of {planted} (the detectors never see the labels)"
    return "\n".join([head, *_table(["kind", "found / planted", "also flagged", "what"], rows,
                                    {1, 2})])  # fmt: skip


def _risks(report: DemoReport) -> str:
    metrics = report.training.metrics.get("outcome", {})
    auc = metrics.get("auc")
    head = (f"Riskiest running launches ({report.prediction.cases} running, "
            f"{report.prediction.at_risk} at risk; model {report.training.version}"
            + (f", test AUC {auc:.2f}" if auc is not None else "") + "):")  # fmt: skip
    rows = [[str(r.case_id), str(r.market), f"{float(r.probability):.0%}", str(r.events)]
            for r in report.risks.itertuples()]  # fmt: skip
    return "\n".join([head, *_table(["launch", "market", "late", "steps so far"], rows, {2, 3})])


def _alerts(report: DemoReport) -> str:
    alerts = report.alerts
    delivered = getattr(alerts.delivery, "delivered", 0)
    lines = [f"Alerts: {alerts.raised} raised (`kgsentinel alerts`); {delivered} notifications "
             "of the critical ones written to alerts/notifications.jsonl:"]  # fmt: skip
    lines += [f"  {note.title}" for note in alerts.notifications]
    lines += [f"  not delivered: {error}" for error in alerts.errors]
    return "\n".join(lines)


def _next(report: DemoReport) -> str:
    root = report.root
    lines = [
        "Next, try:",
        f"  cd {root}",
        "  kgsentinel anomalies --kind stuck                 # launches silent for too long",
        "  kgsentinel query -f queries/stuck-launches.rq     # recipes of docs/cookbook.md",
        "  kgsentinel query -f queries/supplier-complaints.rq",
        "  kgsentinel anomalies --kind risk --format csv > at-risk.csv",
        "  kgsentinel alerts --state firing                  # and: alerts ack ID -m 'on it'",
        "  kgsentinel serve                                  # the HTTP API ('.[server]' extra)",
        "From the kgsentinel checkout, the analysts' notebooks ('.[notebooks]' extra):",
        f"  KGSENTINEL_DEMO={root} jupyter lab notebooks/",
    ]
    return "\n".join(lines)
