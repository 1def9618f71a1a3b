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
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import pandas as pd

from kgsentinel.graph.nquads import NQuadsBatch, QuadBlock, blocks_to_nquads
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
# Dates that exist in every year from 1900 to 2199 (no 29 February), as strftime writes them.
_DATE = (
    "(?:19|20|21)[0-9]{2}-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])"
    "|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)"
)
_CANONICAL = {
    "date": re.compile(_DATE),
    "dateTime": re.compile(_DATE + "T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]Z"),
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


@dataclass(frozen=True)
class _Terms:
    """Distinct values, and for each row the code of its value (-1 for none)."""

    values: np.ndarray
    codes: np.ndarray

    @classmethod
    def of(cls, values: np.ndarray) -> _Terms:
        """Terms of one value per row; None for none."""
        codes, distinct = pd.factorize(values)
        return cls(np.asarray(distinct, dtype=object), codes)

    @classmethod
    def constant(cls, value: str, size: int) -> _Terms:
        return cls(np.array([value], dtype=object), np.zeros(size, dtype=np.intp))


@dataclass(frozen=True)
class _Iris:
    """An IRI template rendered over a chunk: IRIs as terms, and which rows have none."""

    terms: _Terms
    missing: np.ndarray
    missing_column: np.ndarray


#: quads of one block, with each row's position in the chunk
_Quads = tuple[np.ndarray, QuadBlock]


class _Collector:
    """Quads and problems gathered over one chunk, by row position in the chunk."""

    def __init__(self, mapping: Mapping, chunk: pd.DataFrame) -> None:
        self.mapping = mapping
        self.chunk = chunk
        self.quads: list[_Quads] = []
        self.problems: list[pd.DataFrame] = []
        self._iris: dict[str, _Iris] = {}

    def iris(self, template: str) -> _Iris:
        """The IRI template rendered over the chunk, once however many entities use it."""
        if template not in self._iris:
            rendered = _iris(self.mapping, Template.parse(template), self.chunk)
            self._iris[template] = _Iris(
                _Terms.of(rendered.values.to_numpy(dtype=object)),
                rendered.missing.to_numpy(dtype=bool),
                rendered.missing_column.to_numpy(dtype=object),
            )
        return self._iris[template]

    def add(
        self,
        at: np.ndarray,
        subjects: _Terms,
        predicate: str,
        objects: _Terms,
        kind: str,
        datatype: str | None = None,
        language: str | None = None,
    ) -> None:
        if len(at):
            subject_codes, object_codes = subjects.codes[at], objects.codes[at]
            block = QuadBlock(subjects.values, subject_codes, predicate, objects.values,
                              object_codes, kind, datatype, language)  # fmt: skip
            self.quads.append((at, block))

    def reject(self, at: np.ndarray, field: str, reasons: np.ndarray | str) -> None:
        if len(at):
            self.problems.append(pd.DataFrame({"at": at, "field": field, "reason": reasons}))


def map_chunk(mapping: Mapping, chunk: pd.DataFrame, *, graph: str | None) -> MappedChunk:
    """Map every entity of ``mapping`` over ``chunk`` into quads of ``graph``.

    With ``graph=None`` the batch holds plain triples (N-Triples), for loading
    into a graph chosen later.
    """
    chunk = chunk.reset_index(drop=True)
    rows = chunk[ROW] if ROW in chunk else pd.Series(np.arange(1, len(chunk) + 1))
    collector = _Collector(mapping, chunk)
    for where, entity in mapping.all_entities():
        _map_entity(collector, entity, where)
    problems = _frame(collector.problems, ["at", "field", "reason"])
    quads = _first_of_each(_without(collector.quads, problems["at"], len(chunk)))
    batch = blocks_to_nquads([block for _at, block in quads], graph)
    if len(batch.rejects):  # values no check above caught (e.g. an IRI the base made invalid)
        at = np.concatenate([at for at, _block in quads])
        bad = at[batch.rejects["row"].to_numpy(dtype=np.int64)]
        late = pd.DataFrame(
            {"at": bad, "field": batch.rejects["field"], "reason": batch.rejects["reason"]}
        )
        problems = pd.concat([problems, late], ignore_index=True)
        quads = _without(quads, problems["at"], len(chunk))
        batch = blocks_to_nquads([block for _at, block in quads], graph)
    rejects = problems.assign(row=rows.to_numpy()[problems["at"].to_numpy(dtype=np.int64)])
    rejects = rejects.sort_values(["row", "field"], kind="stable")[["row", "field", "reason"]]
    return MappedChunk(batch, rejects.reset_index(drop=True), len(chunk))


def _map_entity(out: _Collector, entity: Entity, where: str) -> None:
    mapping = out.mapping
    subject = out.iris(entity.iri)
    if not entity.optional:
        absent = np.flatnonzero(subject.missing)
        reasons = "missing key: column " + subject.missing_column[absent] + " is empty"
        out.reject(absent, f"{where}.iri", reasons)
    present = ~subject.missing
    for name in entity.classes:
        one_class = _Terms.constant(mapping.expand(name), len(present))
        out.add(np.flatnonzero(present), subject.terms, RDF_TYPE, one_class, "iri")
    for predicate, value in entity.properties.items():
        _map_value(out, predicate, value, subject.terms, present)
    for predicate, templates in entity.links.items():
        for template in templates:
            target = out.iris(template)
            linked = np.flatnonzero(present & ~target.missing)
            out.add(linked, subject.terms, mapping.expand(predicate), target.terms, "iri")


def _map_value(
    out: _Collector, predicate: str, value: Value, subjects: _Terms, present: np.ndarray
) -> None:
    mapping = out.mapping
    rendered = value.template_().render(out.chunk, iri=False)
    missing = rendered.missing.to_numpy(dtype=bool)
    if value.required:
        out.reject(np.flatnonzero(present & missing), predicate,
                   f"{predicate}: the value is required but empty")  # fmt: skip
    has = np.flatnonzero(present & ~missing)
    datatype = mapping.expand(value.datatype) if value.datatype else None
    literals, bad = _literals(rendered.values.to_numpy(dtype=object)[has], datatype, value.format)
    label = datatype.replace(XSD, "xsd:") if datatype else "text"
    shown = literals.values[literals.codes[bad]]
    reasons = [f"{predicate}: {text!r} is not a valid {label}" for text in shown]
    out.reject(has[bad], predicate, np.array(reasons, dtype=object))
    per_row = np.full(len(present), -1, dtype=np.intp)
    per_row[has] = literals.codes
    out.add(has[~bad], subjects, mapping.expand(predicate), _Terms(literals.values, per_row),
            "literal", datatype, value.language)  # fmt: skip


def _literals(
    values: np.ndarray, datatype: str | None, fmt: str | None
) -> tuple[_Terms, np.ndarray]:
    """Text as lexical forms of ``datatype``, and which are not valid: once per distinct text."""
    codes, distinct = pd.factorize(values)
    text, bad = coerce(pd.Series(distinct, dtype=object), datatype, fmt)
    forms = text.to_numpy(dtype=object)
    bad = bad.to_numpy(dtype=bool)[codes]
    if np.array_equal(forms, distinct):  # the usual case: nothing to normalise
        return _Terms(forms, codes), bad
    merged = _Terms.of(forms)  # e.g. " 7" and "7" are one integer
    return _Terms(merged.values, merged.codes[codes]), bad


def _iris(mapping: Mapping, template: Template, chunk: pd.DataFrame) -> Rendered:
    """Render an IRI template; a relative one is resolved against the mapping's base."""
    if not _SCHEME.match(template.text):
        template = Template(template.text, (mapping.base, *template.parts))
    return template.render(chunk, iri=True)


def _without(quads: list[_Quads], rejected: pd.Series, size: int) -> list[_Quads]:
    """The quads of the rows that are not ``rejected`` (positions in the chunk)."""
    dropped = np.zeros(size, dtype=bool)
    dropped[rejected.to_numpy(dtype=np.int64)] = True
    return [_keep(at, block, ~dropped[at]) for at, block in quads]


def _keep(at: np.ndarray, block: QuadBlock, mask: np.ndarray) -> _Quads:
    if mask.all():
        return at, block
    kept = dataclasses.replace(
        block, subject_codes=block.subject_codes[mask], object_codes=block.object_codes[mask]
    )
    return at[mask], kept


def _first_of_each(quads: list[_Quads]) -> list[_Quads]:
    """Each quad only where it first appears (e.g. a case on many rows), in order.

    Only blocks with the same predicate, kind, datatype and language can share quads.
    """
    groups: dict[tuple, list[int]] = defaultdict(list)
    for number, (_at, block) in enumerate(quads):
        groups[block.predicate, block.object_kind, block.datatype, block.language].append(number)
    kept = list(quads)
    for numbers in groups.values():
        blocks = [quads[number][1] for number in numbers]
        subjects = _shared_codes([(block.subjects, block.subject_codes) for block in blocks])
        objects = _shared_codes([(block.objects, block.object_codes) for block in blocks])
        first = _first_pairs(subjects, objects)
        bounds = np.cumsum([0, *map(len, blocks)])
        for number, start, stop in zip(numbers, bounds[:-1], bounds[1:], strict=True):
            kept[number] = _keep(*quads[number], first[start:stop])
    return kept


def _shared_codes(parts: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """The codes of (distinct values, codes) pairs one after another, as codes of one array."""
    arrays = list({id(values): values for values, _codes in parts}.values())
    if len(arrays) == 1:
        return np.concatenate([codes for _values, codes in parts])
    starts = dict(zip(map(id, arrays), np.cumsum([0, *map(len, arrays)]), strict=False))
    shared, _ = pd.factorize(np.concatenate(arrays))
    return np.concatenate([shared[starts[id(values)] + codes] for values, codes in parts])


def _first_pairs(subjects: np.ndarray, objects: np.ndarray) -> np.ndarray:
    """Mask of the first row of each (subject, object) pair of codes."""
    if not len(subjects) or _all_different(subjects) or _all_different(objects):
        return np.ones(len(subjects), dtype=bool)
    pairs = subjects.astype(np.int64) * (int(objects.max()) + 1) + objects  # < rows squared
    return ~pd.Series(pairs).duplicated().to_numpy()


def _all_different(codes: np.ndarray) -> bool:
    return int(np.bincount(codes).max()) == 1


def coerce(values: pd.Series, datatype: str | None, fmt: str | None) -> tuple[pd.Series, pd.Series]:
    """Values as lexical forms of ``datatype``, and a mask of those that are not valid.

    Example:
        >>> text, bad = coerce(pd.Series(["1", "x", " 3"]), XSD + "integer", None)
        >>> text.tolist(), bad.tolist()
        (['1', 'x', '3'], [False, True, False])
    """
    local = datatype[len(XSD) :] if datatype and datatype.startswith(XSD) else None
    if local in ("date", "dateTime"):
        return _times(values, local, fmt)
    text = lexical(values).str.strip() if local else lexical(values)
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
        return _written(parsed, local, lexical(values))
    text = lexical(values).str.strip()
    canonical = _canonical(text, local) if fmt is None else np.zeros(len(text), dtype=bool)
    rest = text[~canonical]
    codes, uniques = pd.factorize(rest)
    stamps = pd.to_datetime(pd.Series(uniques), format=fmt or "ISO8601", errors="coerce", utc=True)
    parsed = pd.to_datetime(pd.Series(stamps.to_numpy()[codes], index=rest.index), utc=True)
    written, bad = _written(parsed, local, rest)
    if not canonical.any():
        return written, bad
    merged = text.to_numpy(dtype=object, copy=True)  # canonical text is written as it is
    merged[~canonical] = written.to_numpy(dtype=object)
    invalid = np.zeros(len(text), dtype=bool)
    invalid[~canonical] = bad.to_numpy(dtype=bool)
    index = values.index
    return pd.Series(merged, index=index, dtype=written.dtype), pd.Series(invalid, index=index)


def _canonical(text: pd.Series, local: str) -> np.ndarray:
    """Which values are already in the form ``_written`` gives, and valid dates."""
    pattern = _CANONICAL[local]
    return np.array([pattern.fullmatch(value) is not None for value in text], dtype=bool)


def _written(parsed: pd.Series, local: str, text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Times in canonical UTC form (``text`` where not parsed), and which were not parsed."""
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
