"""Apply a mapping to a chunk of rows: quads for the good rows, reasons for the others.

A row that cannot be mapped (a missing key, a value that is not of its
datatype, a required value absent) is rejected whole, with every reason and its
source row number, so ``read = loaded + rejected`` always holds. Work is
vectorised over the chunk and done once per distinct value.

Example:
    >>> import pandas as pd
    >>> from kgsentinel.ingest.mapping import Mapping
    >>> number = {"column": "n", "datatype": "xsd:integer"}
    >>> mapping = Mapping.model_validate({"base": "urn:x:", "entities": [{
    ...     "class": "kgs:Object", "iri": "p/{id}",
    ...     "properties": {"rdfs:label": "name", "kgs:objectId": number},
    ... }]})
    >>> chunk = pd.DataFrame(
    ...     {"id": ["1", "2", None], "name": ["Rose", "Iris", "Lily"], "n": ["7", "x", "9"]}
    ... )
    >>> mapped = map_chunk(mapping, chunk, graph="urn:kgsentinel:graph:plm")
    >>> mapped.rows_read, mapped.rows_loaded, mapped.rejects.row.tolist()
    (3, 1, [2, 3])
    >>> mapped.rejects.reason.tolist()
    ["kgs:objectId: 'x' is not a valid xsd:integer", 'missing key: column id is empty']
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from kgsentinel.graph.nquads import NQuadsBatch, to_nquads
from kgsentinel.graph.terms import XSD
from kgsentinel.ingest.mapping import Entity, Mapping, Value
from kgsentinel.ingest.templates import Rendered, Template, lexical

__all__ = ["ROW", "MappedChunk", "coerce", "map_chunk"]

#: the column holding each row's 1-based number in its source
ROW = "__row__"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_CHECKS = {
    "integer": re.compile(r"[+-]?\d+"),
    "decimal": re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)"),
}
_BOOLEAN = {"true": "true", "false": "false", "1": "true", "0": "false"}


@dataclass(frozen=True)
class MappedChunk:
    """The N-Quads of a chunk's good rows, and why the other rows were rejected."""

    batch: NQuadsBatch
    rejects: pd.DataFrame  # columns: row, field, reason
    rows_read: int

    @property
    def rows_rejected(self) -> int:
        """Rows with at least one problem."""
        return int(self.rejects["row"].nunique())

    @property
    def rows_loaded(self) -> int:
        """Rows whose quads are in the batch."""
        return self.rows_read - self.rows_rejected


class _Collector:
    """Quads and problems gathered over one chunk, keyed by the chunk's index."""

    def __init__(self) -> None:
        self.quads: list[pd.DataFrame] = []
        self.problems: list[pd.DataFrame] = []

    def add(
        self,
        at: pd.Index,
        subject: pd.Series,
        predicate: str,
        obj: pd.Series,
        kind: str,
        datatype: str | None = None,
        language: str | None = None,
    ) -> None:
        if len(at):
            self.quads.append(pd.DataFrame({
                "at": at, "subject": subject.loc[at].to_numpy(), "predicate": predicate,
                "object": obj.loc[at].to_numpy(), "object_kind": kind,
                "datatype": datatype, "language": language,
            }))  # fmt: skip

    def reject(self, at: pd.Index, field: str, reasons: pd.Series | str) -> None:
        if len(at):
            reason = reasons.loc[at].to_numpy() if isinstance(reasons, pd.Series) else reasons
            self.problems.append(pd.DataFrame({"at": at, "field": field, "reason": reason}))


def map_chunk(mapping: Mapping, chunk: pd.DataFrame, *, graph: str | None) -> MappedChunk:
    """Map every entity of ``mapping`` over ``chunk`` into quads of ``graph``.

    With ``graph=None`` the batch holds plain triples (N-Triples), for loading
    into a graph chosen later.
    """
    chunk = chunk.reset_index(drop=True)
    rows = chunk[ROW] if ROW in chunk else pd.Series(np.arange(1, len(chunk) + 1))
    collector = _Collector()
    for where, entity in mapping.all_entities():
        _map_entity(mapping, entity, where, chunk, collector)
    problems = _frame(collector.problems, ["at", "field", "reason"])
    quads = _frame(collector.quads, ["at", "subject", "predicate", "object", "object_kind"])
    quads = quads[~quads["at"].isin(problems["at"])]
    quads = quads.drop_duplicates(subset=quads.columns.drop("at"))  # e.g. a case on many rows
    batch = to_nquads(quads.drop(columns="at").assign(graph=graph).reset_index(drop=True))
    if len(batch.rejects):  # values no check above caught (e.g. an IRI the base made invalid)
        bad = quads["at"].to_numpy()[batch.rejects["row"].to_numpy()]
        late = pd.DataFrame(
            {"at": bad, "field": batch.rejects["field"], "reason": batch.rejects["reason"]}
        )
        problems = pd.concat([problems, late], ignore_index=True)
        quads = quads[~quads["at"].isin(problems["at"])]
        batch = to_nquads(quads.drop(columns="at").assign(graph=graph).reset_index(drop=True))
    rejects = problems.assign(row=rows.to_numpy()[problems["at"].to_numpy(dtype=np.int64)])
    rejects = rejects.sort_values(["row", "field"], kind="stable")[["row", "field", "reason"]]
    return MappedChunk(batch, rejects.reset_index(drop=True), len(chunk))


def _map_entity(
    mapping: Mapping, entity: Entity, where: str, chunk: pd.DataFrame, out: _Collector
) -> None:
    subject = _iris(mapping, Template.parse(entity.iri), chunk)
    absent = subject.missing
    if not entity.optional:
        reasons = "missing key: column " + subject.missing_column.astype(str) + " is empty"
        out.reject(chunk.index[absent], f"{where}.iri", reasons)
    present = chunk.index[~absent]
    iris = subject.values
    for name in entity.classes:
        out.add(present, iris, RDF_TYPE, pd.Series(mapping.expand(name), index=chunk.index), "iri")
    for predicate, value in entity.properties.items():
        _map_value(mapping, predicate, value, chunk, iris, present, out)
    for predicate, templates in entity.links.items():
        for template in templates:
            target = _iris(mapping, Template.parse(template), chunk)
            linked = present.intersection(chunk.index[~target.missing])
            out.add(linked, iris, mapping.expand(predicate), target.values, "iri")


def _map_value(
    mapping: Mapping,
    predicate: str,
    value: Value,
    chunk: pd.DataFrame,
    subjects: pd.Series,
    present: pd.Index,
    out: _Collector,
) -> None:
    rendered = value.template_().render(chunk, iri=False)
    if value.required:
        out.reject(present.intersection(chunk.index[rendered.missing]), predicate,
                   f"{predicate}: the value is required but empty")  # fmt: skip
    has = present.intersection(chunk.index[~rendered.missing])
    datatype = mapping.expand(value.datatype) if value.datatype else None
    text, bad = coerce(rendered.values.loc[has], datatype, value.format)
    label = datatype.replace(XSD, "xsd:") if datatype else "text"
    wrong = has[bad.to_numpy()]
    reasons = f"{predicate}: " + text.loc[wrong].map(repr) + f" is not a valid {label}"
    out.reject(wrong, predicate, reasons)
    good = has[~bad.to_numpy()]
    out.add(good, subjects, mapping.expand(predicate), text, "literal", datatype, value.language)


def _iris(mapping: Mapping, template: Template, chunk: pd.DataFrame) -> Rendered:
    """Render an IRI template; a relative one is resolved against the mapping's base."""
    rendered = template.render(chunk, iri=True)
    if _SCHEME.match(template.text):
        return rendered
    values = (mapping.base + rendered.values.fillna("").astype(str)).where(~rendered.missing, None)
    return dataclasses.replace(rendered, values=values.astype(object))


def coerce(values: pd.Series, datatype: str | None, fmt: str | None) -> tuple[pd.Series, pd.Series]:
    """Values as lexical forms of ``datatype``, and a mask of those that are not valid.

    Example:
        >>> text, bad = coerce(pd.Series(["1", "x", " 3"]), XSD + "integer", None)
        >>> text.tolist(), bad.tolist()
        (['1', 'x', '3'], [False, True, False])
    """
    raw = values if pd.api.types.is_datetime64_any_dtype(values) else lexical(values)
    local = datatype[len(XSD) :] if datatype and datatype.startswith(XSD) else None
    if local in ("date", "dateTime"):
        return _times(raw, local, fmt)
    text = lexical(raw).str.strip() if local else lexical(raw)
    if local in _CHECKS:
        return text, ~text.str.fullmatch(_CHECKS[local].pattern).fillna(False).astype(bool)
    if local in ("double", "float"):
        return text, pd.to_numeric(text, errors="coerce").isna()
    if local == "boolean":
        lowered = text.str.lower()
        return lowered.map(_BOOLEAN).fillna(text), ~lowered.isin(list(_BOOLEAN))
    return text, pd.Series(False, index=values.index)


def _times(values: pd.Series, local: str, fmt: str | None) -> tuple[pd.Series, pd.Series]:
    if pd.api.types.is_datetime64_any_dtype(values):
        parsed = (
            values.dt.tz_localize("UTC") if values.dt.tz is None else values.dt.tz_convert("UTC")
        )
        text = lexical(values)
    else:
        text = lexical(values).str.strip()
        codes, uniques = pd.factorize(text)
        stamps = pd.to_datetime(
            pd.Series(uniques), format=fmt or "ISO8601", errors="coerce", utc=True
        )
        parsed = pd.Series(stamps.to_numpy()[codes], index=values.index)
        parsed = pd.to_datetime(parsed, utc=True)
    bad = parsed.isna()
    if local == "date":
        written = parsed.dt.strftime("%Y-%m-%d")
    else:
        whole = parsed.dt.strftime("%Y-%m-%dT%H:%M:%S")
        micro = parsed.dt.microsecond.fillna(0).astype("int64")
        written = (
            whole.where(micro == 0, whole + "." + micro.astype(str).str.zfill(6).str.rstrip("0"))
            + "Z"
        )
    return written.where(~bad, text), bad


def _frame(parts: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
