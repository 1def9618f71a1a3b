"""Graph structure: links between entities never (or almost never) seen, and sudden hubs.

The links are a frame (:data:`LINK_COLUMNS`): one row per time a ``source``
node of ``source_kind`` is seen linked to a ``target`` node of
``target_kind``, with the case (and event) where it was seen, if any. Two ways
to get one:

- :func:`links_from_log` from an event log frame: resources to the activities
  they do, and, within each case, the values of **entity attributes** to one
  another (text attributes such as ``attr:supplier`` or ``attr:product`` with many
  distinct values that recur across cases);
- :func:`read_links` from the graph: object-to-object links (``kgs:relatedTo``),
  and objects involved together in a case (or an event) through ``kgs:involves``.

:class:`LinkDetector` builds the weighted graph of these links with networkx
(``graph_``) and flags

- **unusual links**: a link between two well-established nodes that is rare
  from both ends: the target is rare among the source's partners of its kind
  and the source among the target's (see
  :func:`~kgsentinel.detectors.attributes.learn_pools`); and links whose *kinds*
  are rarely linked at all (a product related to a supplier where products are
  related to formulas);
- **hubs**: nodes whose number of distinct partners is far above the usual for
  their kind.

Example:
    >>> import pandas as pd
    >>> links = pd.DataFrame({
    ...     "source": [f"P{i % 4}" for i in range(200)] + ["P0"],
    ...     "source_kind": "product",
    ...     "target": [f"S{i % 4}" for i in range(200)] + ["S3"],
    ...     "target_kind": "supplier",
    ...     "case": [f"urn:x:case/{i}" for i in range(201)]})
    >>> [f.explanation for f in LinkDetector().fit(links).findings(links)]
    ['product P0 with supplier S3, together in 1 case; P0 usually with S0; S3 usually with P3']
"""

from __future__ import annotations

import itertools
import re
import urllib.parse
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from kgsentinel.detectors.attributes import (
    beyond_score,
    join_known,
    learn_pools,
    rarity_score,
    robust_scale,
    z_fence,
)
from kgsentinel.detectors.base import Evidence, Finding
from kgsentinel.detectors.events import ATTRIBUTE_PREFIX
from kgsentinel.graph.ontology import KGS

if TYPE_CHECKING:  # pragma: no cover
    import networkx as nx

    from kgsentinel.graph.store import GraphStore

__all__ = ["LINK_COLUMNS", "LinkDetector", "entity_attributes", "links_from_log", "read_links"]

#: the columns of a links frame
LINK_COLUMNS = (
    "source",
    "source_kind",
    "target",
    "target_kind",
    "case",
    "case_id",
    "event",
    "event_id",
)
_RDFS = "http://www.w3.org/2000/01/rdf-schema#"
_PREFIXES = f"PREFIX kgs: <{KGS}>\nPREFIX rdfs: <{_RDFS}>\n"
_OBJECT_LINKS = (
    _PREFIXES
    + """SELECT ?source ?source_kind ?target ?target_kind WHERE {
  ?source kgs:relatedTo ?target .
  OPTIONAL { ?source kgs:objectType/rdfs:label ?source_kind }
  OPTIONAL { ?target kgs:objectType/rdfs:label ?target_kind }
}"""
)
_INVOLVED = (
    _PREFIXES
    + """SELECT ?event ?event_id ?case ?case_id ?object ?kind WHERE {
  ?event kgs:involves ?object .
  FILTER NOT EXISTS { ?object a kgs:Case }
  OPTIONAL { ?event kgs:case ?case . OPTIONAL { ?case kgs:caseId ?case_id } }
  OPTIONAL { ?event kgs:eventId ?event_id }
  OPTIONAL { ?object kgs:objectType/rdfs:label ?kind }
}"""
)
_ABSOLUTE_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s<>\"{}|\\^`]+$")
_NODE = ["kind", "node"]
_SHOWN = 3


# -- links ----------------------------------------------------------------------------


def entity_attributes(
    log: pd.DataFrame, *, min_values: int = 10, max_unique_share: float = 0.5
) -> list[str]:
    """The ``attr:*`` columns that identify things: text, many values, each in several cases.

    A column qualifies with at least ``min_values`` distinct values whose count is
    at most ``max_unique_share`` of the cases having the attribute (so values
    recur across cases; an identifier of the case itself does not).

    Example:
        >>> log = pd.DataFrame({"case": [f"c{i}" for i in range(60)],
        ...                     "attr:supplier": [f"S{i % 12}" for i in range(60)],
        ...                     "attr:note": [f"n{i}" for i in range(60)]})
        >>> entity_attributes(log)
        ['attr:supplier']
    """
    chosen = []
    for column in (c for c in log.columns if str(c).startswith(ATTRIBUTE_PREFIX)):
        values = log[column]
        if pd.api.types.is_numeric_dtype(values) or values.isna().all():
            continue
        present = values.notna()
        distinct, cases = values[present].nunique(), log.loc[present, "case"].nunique()
        if distinct >= min_values and distinct <= max_unique_share * cases:
            chosen.append(column)
    return chosen


def links_from_log(log: pd.DataFrame, *, entities: Sequence[str] | None = None) -> pd.DataFrame:
    """The links of an event log frame: resource to activity, and entity values within a case.

    ``entities`` names the entity attribute columns (default:
    :func:`entity_attributes`); each pair of them gives links between their
    values in the cases that have both. Kinds are ``"resource"``, ``"activity"``
    and the attribute names without ``attr:``.
    """
    parts = []
    if "resource" in log.columns:
        done = log[log["resource"].notna()]
        parts.append(
            pd.DataFrame(
                {
                    "source": done["resource"].astype(str),
                    "source_kind": "resource",
                    "target": done["activity"].astype(str),
                    "target_kind": "activity",
                    "case": done["case"],
                    "case_id": done["case_id"],
                    "event": done["event"],
                    "event_id": done["event_id"],
                }
            )
        )
    columns = list(entity_attributes(log) if entities is None else entities)
    values = {column: _case_values(log, column) for column in columns}
    for first, second in itertools.combinations(sorted(columns), 2):
        pairs = values[first].merge(values[second], on=["case", "case_id"], suffixes=("_s", "_t"))
        parts.append(
            pd.DataFrame(
                {
                    "source": pairs["value_s"],
                    "source_kind": first.removeprefix(ATTRIBUTE_PREFIX),
                    "target": pairs["value_t"],
                    "target_kind": second.removeprefix(ATTRIBUTE_PREFIX),
                    "case": pairs["case"],
                    "case_id": pairs["case_id"],
                    "event": None,
                    "event_id": None,
                }
            )
        )
    parts = [part for part in parts if not part.empty]
    if not parts:
        return _empty_links()
    return pd.concat(parts, ignore_index=True)[list(LINK_COLUMNS)]


def read_links(store: GraphStore) -> pd.DataFrame:
    """The object links of the graph, as a links frame.

    Object-to-object links (``kgs:relatedTo``) come as they are, with no case;
    objects that events involve (``kgs:involves``, cases left out) are linked to
    one another when they share a case (or, for events without a case, an
    event). Kinds are object type labels (``"object"`` when untyped).
    """
    direct = store.query_frame(_OBJECT_LINKS)
    direct = direct.assign(
        source_kind=direct["source_kind"].fillna("object"),
        target_kind=direct["target_kind"].fillna("object"),
        case=None,
        case_id=None,
        event=None,
        event_id=None,
    )
    involved = store.query_frame(_INVOLVED)
    shared = _shared_objects(involved) if not involved.empty else _empty_links()
    parts = [part for part in (direct, shared) if not part.empty]
    if not parts:
        return _empty_links()
    return pd.concat(parts, ignore_index=True)[list(LINK_COLUMNS)].drop_duplicates()


def _case_values(log: pd.DataFrame, column: str) -> pd.DataFrame:
    present = log[log[column].notna()]
    frame = pd.DataFrame(
        {
            "case": present["case"],
            "case_id": present["case_id"],
            "value": present[column].astype(str),
        }
    )
    return frame.drop_duplicates()


def _shared_objects(involved: pd.DataFrame) -> pd.DataFrame:
    """Objects of different kinds involved in one case (or one event without a case)."""
    involved = involved.assign(kind=involved["kind"].fillna("object"))
    context = involved["case"].fillna(involved["event"])
    by_case = involved["case"].notna()
    frame = pd.DataFrame(
        {
            "context": context,
            "case": involved["case"],
            "case_id": involved["case_id"],
            "event": involved["event"].where(~by_case),
            "event_id": involved["event_id"].where(~by_case),
            "node": involved["object"],
            "kind": involved["kind"],
        }
    ).drop_duplicates(["context", "node"])
    pairs = frame.merge(frame[["context", "node", "kind"]], on="context", suffixes=("_s", "_t"))
    pairs = pairs[pairs["kind_s"] < pairs["kind_t"]]
    return pd.DataFrame(
        {
            "source": pairs["node_s"],
            "source_kind": pairs["kind_s"],
            "target": pairs["node_t"],
            "target_kind": pairs["kind_t"],
            "case": pairs["case"],
            "case_id": pairs["case_id"],
            "event": pairs["event"],
            "event_id": pairs["event_id"],
        }
    )


def _empty_links() -> pd.DataFrame:
    return pd.DataFrame({column: pd.Series(dtype=object) for column in LINK_COLUMNS})


# -- the detector ---------------------------------------------------------------------


class LinkDetector:
    """Links never (or almost never) seen between well-established nodes, and sudden hubs.

    Fitted on a links frame or an event log frame (then through
    :func:`links_from_log`, with ``entities``). A link's weight is the number of
    cases (or events) it is seen in.

    - A link is **unusual** when each end has links of the other end's kind in at
      least ``min_support`` cases and the link is rare among them (pools learned with
      ``min_gap`` and ``coverage``, see
      :func:`~kgsentinel.detectors.attributes.learn_pools`), and it was seen at most
      ``max_count`` times (or ``rare_share`` of the smaller end's links): a link
      that recurs is variety. Kind pairs in ``ignore_pairs`` are not judged this way
      (resource-for-activity rarity is the resource detector's). A link is also
      unusual when nodes of its source kind rarely have a link to its target kind.
    - A node is a **hub** when its count of distinct partners is far above its
      kind's: a robust z of its logarithm at or beyond ``hub_threshold``
      (automatic: Q3 + 3.5 IQR of the kind's own z, at least 4) and at least
      ``hub_ratio`` times the kind's median, in kinds of at least ``min_nodes`` nodes.

    Unusual links found in a case are about the case (``subject``), one finding per
    case; hubs, and links outside cases (one finding per link), are about their node
    (or the one event they were seen in). Nodes that are not IRIs get one under
    ``base`` (default: the base of the log's case IRIs), as ingest names them.
    """

    kind = "unusual-link"

    def __init__(
        self,
        *,
        entities: Sequence[str] | None = None,
        min_support: int = 20,
        min_gap: float = 5.0,
        coverage: float = 0.9,
        ignore_pairs: Sequence[tuple[str, str]] = (("resource", "activity"),),
        max_count: int = 3,
        rare_share: float = 0.002,
        hub_threshold: float | None = None,
        hub_ratio: float = 3.0,
        min_nodes: int = 20,
        base: str | None = None,
    ) -> None:
        self.entities = entities
        self.min_support = min_support
        self.min_gap = min_gap
        self.coverage = coverage
        self.ignore_pairs = ignore_pairs
        self.max_count = max_count
        self.rare_share = rare_share
        self.hub_threshold = hub_threshold
        self.hub_ratio = hub_ratio
        self.min_nodes = min_nodes
        self.base = base

    def fit(self, log: pd.DataFrame) -> LinkDetector:
        """Learn the link graph, each node's usual partners and each kind's usual degree."""
        import networkx as nx

        if _is_links(log):
            self.entities_: list[str] = []
        else:
            chosen = self.entities if self.entities is not None else entity_attributes(log)
            self.entities_ = list(chosen)
        links = self._links(log)
        edges = _weighted(links)
        pools = {
            "min_support": self.min_support,
            "min_gap": self.min_gap,
            "coverage": self.coverage,
        }
        forward, self.sources_ = learn_pools(
            edges, ["source_kind", "source", "target_kind"], "target", **pools
        )
        backward, self.targets_ = learn_pools(
            edges, ["target_kind", "target", "source_kind"], "source", **pools
        )
        self.edges_ = edges.set_index(["source_kind", "source", "target_kind", "target"])
        self.edges_["source_share"] = forward.set_index(self.edges_.index.names)["share"]
        self.edges_["target_share"] = backward.set_index(self.edges_.index.names)["share"]
        linked = edges.groupby(["source_kind", "target_kind"], sort=False)["source"].nunique()
        kind_pairs, self.kinds_ = learn_pools(
            linked.rename("count").reset_index(), ["source_kind"], "target_kind", **pools
        )
        self.kinds_["nodes"] = edges.groupby("source_kind")["source"].nunique()
        self.kind_pairs_ = kind_pairs.set_index(["source_kind", "target_kind"])
        graph: nx.Graph = nx.Graph()
        sources = zip(edges["source_kind"], edges["source"], strict=True)
        targets = zip(edges["target_kind"], edges["target"], strict=True)
        graph.add_weighted_edges_from(zip(sources, targets, edges["count"], strict=True))
        self.graph_ = graph
        self.hubs_ = self._hubs(graph)
        self.base_ = self.base if self.base is not None else _base_of(links)
        return self

    def findings(self, log: pd.DataFrame) -> list[Finding]:
        """Unusual links in ``log``, and the hubs among its nodes."""
        links = self._links(log)
        found = self._pair_findings(links) + self._kind_findings(links)
        return found + self._hub_findings(links)

    def detect(self, store: GraphStore) -> list[Finding]:
        """Fit on the graph's object links (:func:`read_links`) and report what stands out."""
        links = read_links(store)
        return self.fit(links).findings(links)

    # -- learning ---------------------------------------------------------------------

    def _links(self, log: pd.DataFrame) -> pd.DataFrame:
        if _is_links(log):
            links = log.copy()
            for column in LINK_COLUMNS:
                if column not in links.columns:
                    links[column] = None
            return links[list(LINK_COLUMNS)].astype(
                {"source": str, "target": str, "source_kind": str, "target_kind": str}
            )
        return links_from_log(log, entities=self.entities_)

    def _hubs(self, graph: nx.Graph) -> pd.DataFrame:
        degrees = pd.DataFrame(
            [(kind, node, degree) for (kind, node), degree in graph.degree()],
            columns=[*_NODE, "degree"],
        )
        if degrees.empty:
            return degrees.assign(median=[], z=[], threshold=[])
        sizes = degrees.groupby("kind")["node"].transform("size")
        degrees = degrees[sizes >= self.min_nodes].copy()
        if degrees.empty:
            return degrees.assign(median=[], z=[], threshold=[])
        measured = np.log(degrees["degree"].astype(float))
        keys = [degrees["kind"]]
        centre = measured.groupby(keys).transform("median")
        scale = robust_scale(measured - centre, keys)
        degrees["z"] = ((measured - centre) / scale.where(scale > 0)).fillna(0.0)
        degrees["median"] = degrees.groupby("kind")["degree"].transform("median")
        degrees["threshold"] = (
            z_fence(degrees["z"], keys) if self.hub_threshold is None else self.hub_threshold
        )
        hubs = degrees[
            (degrees["z"] >= degrees["threshold"])
            & (degrees["degree"] >= self.hub_ratio * degrees["median"])
        ]
        return hubs.set_index(_NODE)

    # -- findings ---------------------------------------------------------------------

    def _pair_findings(self, links: pd.DataFrame) -> list[Finding]:
        judged = pd.Series(True, index=links.index)
        for first, second in self.ignore_pairs:
            for source, target in ((first, second), (second, first)):
                judged &= ~(links["source_kind"].eq(source) & links["target_kind"].eq(target))
        links = links[judged]
        sources = self.sources_[self.sources_["established"]]
        targets = self.targets_[self.targets_["established"]]
        if links.empty or sources.empty or targets.empty:
            return []
        links = join_known(
            links,
            sources[["threshold", "usual", "total"]].add_prefix("s_"),
            ["source_kind", "source", "target_kind"],
        )
        links = join_known(
            links,
            targets[["threshold", "usual", "total"]].add_prefix("t_"),
            ["target_kind", "target", "source_kind"],
        )
        links = links.join(self.edges_, on=["source_kind", "source", "target_kind", "target"])
        links = links.assign(
            count=links["count"].fillna(0).astype(int),
            source_share=links["source_share"].fillna(0.0),
            target_share=links["target_share"].fillna(0.0),
        )
        cap = np.maximum(
            self.max_count, self.rare_share * np.minimum(links["s_total"], links["t_total"])
        )
        rare = _per_subject(
            links[
                (links["source_share"] <= links["s_threshold"])
                & (links["target_share"] <= links["t_threshold"])
                & (links["count"] <= cap)
            ]
        )
        weakest = np.maximum(
            rare["source_share"] / rare["s_threshold"], rare["target_share"] / rare["t_threshold"]
        )
        rare = rare.assign(score=rarity_score(weakest.to_numpy(), 1.0))
        return [self._pair_finding(row) for row in rare.to_dict("records")]

    def _pair_finding(self, row: dict) -> Finding:
        source, target = _label(row["source"]), _label(row["target"])
        explanation = (
            f"{row['source_kind']} {source} with {row['target_kind']} {target}, "
            f"{_seen(row)}; {source} usually with {_labels(row['s_usual'])}; "
            f"{target} usually with {_labels(row['t_usual'])}"
        )
        evidence = [
            Evidence(
                label=f"{row['target_kind']} linked to {row['source_kind']} {source}",
                expected=_labels(row["s_usual"]),
                observed=target,
            ),
            Evidence(
                label=f"{row['source_kind']} linked to {row['target_kind']} {target}",
                expected=_labels(row["t_usual"]),
                observed=source,
            ),
            Evidence(
                label=f"share of {source}'s {row['target_kind']} links (rare at or below)",
                expected=float(row["s_threshold"]),
                observed=float(row["source_share"]),
            ),
            Evidence(
                label=f"share of {target}'s {row['source_kind']} links (rare at or below)",
                expected=float(row["t_threshold"]),
                observed=float(row["target_share"]),
            ),
        ]
        subject, case_id = self._context(row)
        return Finding(
            kind=self.kind,
            subject=subject,
            score=float(row["score"]),
            explanation=explanation,
            case_id=case_id,
            event_id=_text(row["event_id"]),
            key=f"{row['source_kind']}={row['source']}|{row['target_kind']}={row['target']}",
            evidence=evidence,
        )

    def _kind_findings(self, links: pd.DataFrame) -> list[Finding]:
        kinds = self.kinds_[self.kinds_["established"]]
        if links.empty or kinds.empty:
            return []
        links = join_known(links, kinds[["threshold", "usual", "nodes"]], "source_kind")
        links = links.join(self.kind_pairs_[["count", "share"]], on=["source_kind", "target_kind"])
        links = links.assign(
            share=links["share"].fillna(0.0), count=links["count"].fillna(0).astype(int)
        )
        rare = _per_subject(links[links["share"] <= links["threshold"]])
        rare = rare.assign(
            score=rarity_score(rare["share"].to_numpy(), rare["threshold"].to_numpy())
        )
        found = []
        for row in rare.to_dict("records"):
            source, target = _label(row["source"]), _label(row["target"])
            explanation = (
                f"{row['source_kind']} {source} linked to {row['target_kind']} {target}: "
                f"{int(row['count']):,} of {int(row['nodes']):,} {row['source_kind']} nodes "
                f"link to a {row['target_kind']}; they usually link to {row['usual']}"
            )
            evidence = [
                Evidence(
                    label=f"kinds linked to {row['source_kind']} nodes",
                    expected=row["usual"],
                    observed=row["target_kind"],
                ),
                Evidence(
                    label=f"share of {row['source_kind']} kind links to a {row['target_kind']} "
                    "(rare at or below)",
                    expected=float(row["threshold"]),
                    observed=float(row["share"]),
                ),
            ]
            subject, case_id = self._context(row)
            found.append(
                Finding(
                    kind=self.kind,
                    subject=subject,
                    score=float(row["score"]),
                    explanation=explanation,
                    case_id=case_id,
                    event_id=_text(row["event_id"]),
                    key=f"{row['source_kind']}={row['source']}|"
                    f"{row['target_kind']}={row['target']}",
                    evidence=evidence,
                )
            )
        return found

    def _hub_findings(self, links: pd.DataFrame) -> list[Finding]:
        if self.hubs_.empty or links.empty:
            return []
        present = pd.MultiIndex.from_frame(
            pd.concat(
                [
                    links[["source_kind", "source"]].set_axis(_NODE, axis=1),
                    links[["target_kind", "target"]].set_axis(_NODE, axis=1),
                ]
            ).drop_duplicates()
        )
        hubs = self.hubs_[self.hubs_.index.isin(present)]
        found = []
        for (kind, node), row in hubs.iterrows():
            partners = sorted({k for k, _ in self.graph_.neighbors((kind, node))})
            degree, usual = int(row["degree"]), float(row["median"])
            explanation = (
                f"{kind} {_label(node)} is linked to {degree:,} distinct "
                f"{' or '.join(partners)} nodes; a {kind} usually to "
                f"{usual:g}"
            )
            evidence = [
                Evidence(
                    label=f"distinct partners of {kind} {_label(node)}",
                    expected=usual,
                    observed=degree,
                ),
                Evidence(
                    label=f"robust z of log partners among {kind} nodes (hub at or beyond)",
                    expected=round(float(row["threshold"]), 3),
                    observed=round(float(row["z"]), 3),
                ),
            ]
            found.append(
                Finding(
                    kind=self.kind,
                    subject=self._iri(kind, node),
                    score=float(beyond_score(row["z"], row["threshold"])),
                    explanation=explanation,
                    key="hub",
                    evidence=evidence,
                )
            )
        return found

    def _context(self, row: dict) -> tuple[str, str | None]:
        """The subject of a link finding: its case, else its event, else its source node."""
        for column in ("case", "event"):
            if isinstance(row.get(column), str):
                return row[column], _text(row.get("case_id"))
        return self._iri(row["source_kind"], row["source"]), None

    def _iri(self, kind: str, node: str) -> str:
        if _ABSOLUTE_IRI.match(node):
            return node
        return f"{self.base_}{_quote(kind)}/{_quote(node)}"


def _per_subject(rare: pd.DataFrame) -> pd.DataFrame:
    """One row per link and case; links seen outside cases once, with their events counted."""
    link = ["source_kind", "source", "target_kind", "target"]
    in_case = rare["case"].notna()
    by_case = rare[in_case].drop_duplicates([*link, "case"]).assign(unit="case")
    outside = rare[~in_case]
    events = outside.groupby(link, sort=False)["event"].transform("nunique")
    outside = outside.assign(unit=np.where(events > 0, "event", "link"))
    outside = outside.drop_duplicates(link)
    single = events.loc[outside.index] == 1
    outside = outside.assign(
        event=outside["event"].where(single), event_id=outside["event_id"].where(single)
    )
    return pd.concat([by_case, outside], ignore_index=True)


def _seen(row: dict) -> str:
    """How often a link was seen, in the unit of its contexts."""
    count = int(row["count"])
    plural = "" if count == 1 else "s"
    if row["unit"] == "link":
        return f"linked {count:,} time{plural}"
    return f"together in {count:,} {row['unit']}{plural}"


def _weighted(links: pd.DataFrame) -> pd.DataFrame:
    """One row per link: how many cases (or events; or 1, for links with neither) show it."""
    context = links["case"].fillna(links["event"]).fillna("")
    frame = links[["source_kind", "source", "target_kind", "target"]].assign(context=context)
    counts = (
        frame.drop_duplicates()
        .groupby(["source_kind", "source", "target_kind", "target"], sort=False)
        .size()
    )
    return counts.rename("count").reset_index()


def _base_of(links: pd.DataFrame) -> str:
    """The base IRI the log's cases are named under (``<base>case/<id>``)."""
    cases = links["case"].dropna()
    if not cases.empty:
        case = str(cases.iloc[0])
        cut = case.rfind("case/")
        if cut > 0:
            return case[:cut]
    return "urn:kgsentinel:log:"


def _label(node: str) -> str:
    """A node as people read it: a value, or the last segment of an IRI."""
    if not _ABSOLUTE_IRI.match(node):
        return node
    cut = max(node.rfind("/"), node.rfind("#"))
    if cut < 0 and node.startswith("urn:"):
        cut = node.rfind(":")
    return urllib.parse.unquote(node[cut + 1 :]) if cut >= 0 else node


def _is_links(frame: pd.DataFrame) -> bool:
    return {"source", "target", "source_kind", "target_kind"} <= set(frame.columns)


def _labels(nodes: str) -> str:
    return ", ".join(_label(node) for node in str(nodes).split(", "))


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _quote(text: str) -> str:
    return urllib.parse.quote(str(text), safe="-._~")
