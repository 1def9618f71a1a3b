"""The one place kgsentinel writes RDF as text: a vectorised N-Quads serialiser.

Batch ingest turns a long table (one row per quad) into an N-Quads document and
hands it to ``pyoxigraph.Store.bulk_load``. Everything is checked per distinct
value with pandas string operations, then spread back to the rows by integer
codes, so a column holding one predicate for a million rows is checked once.
Mapped data can come as blocks (``QuadBlock``) instead, holding distinct terms
and codes already: ``blocks_to_nquads`` writes the same document without the table.

Rows that cannot be written are never fixed silently: they go to
``NQuadsBatch.rejects`` with the column and a reason, and are left out of the
text. The checks follow what pyoxigraph's own parser accepts, which is stricter
than the N-Quads grammar alone: IRIs must be valid RFC 3987 IRIs and language
tags well-formed RFC 5646 tags, otherwise one bad row would fail a whole
``bulk_load``.

Example:
    >>> import pandas as pd
    >>> frame = pd.DataFrame({
    ...     "subject": ["https://ex.org/p/1", "not an iri"],
    ...     "predicate": "https://ex.org/name",
    ...     "object": ["Rose \\"No. 5\\"", "x"],
    ...     "object_kind": "literal",
    ... })
    >>> batch = to_nquads(frame)
    >>> print(batch.text, end="")
    <https://ex.org/p/1> <https://ex.org/name> "Rose \\"No. 5\\"" .
    >>> batch.rejects.reason[0]
    'subject "not an iri" is not an absolute IRI (needs a scheme such as https:)'
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from kgsentinel.errors import InvalidIriError, RdfError

__all__ = [
    "NQuadsBatch",
    "QuadBlock",
    "blocks_to_nquads",
    "check_iris",
    "escape_literal",
    "nquads_literal",
    "to_nquads",
]

# --- grammar ------------------------------------------------------------------------------

_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_NEEDS_LANGUAGE = (_RDF + "langString", _RDF + "dirLangString")

_HEXDIG = "0-9A-Fa-f"
_PCT = f"%[{_HEXDIG}]{{2}}"
_UCSCHAR = "".join(
    f"{chr(lo)}-{chr(hi)}"
    for lo, hi in [(0xA0, 0xD7FF), (0xF900, 0xFDCF), (0xFDF0, 0xFFEF)]
    + [(plane << 16, (plane << 16) | 0xFFFD) for plane in range(1, 14)]
    + [(0xE1000, 0xEFFFD)]
)
_IPRIVATE = "\ue000-\uf8ff\U000f0000-\U000ffffd\U00100000-\U0010fffd"
_UNRESERVED = r"A-Za-z0-9._~\-"
_SUB_DELIMS = "!$&'()*+,;="
_IUNRESERVED = _UNRESERVED + _UCSCHAR


def _chars(extra: str) -> str:
    """Zero or more IRI characters: iunreserved, sub-delims, ``extra``, or %XX (unrolled)."""
    run = f"[{_IUNRESERVED}{_SUB_DELIMS}{extra}]*"
    return f"{run}(?:{_PCT}{run})*"


_H16 = f"[{_HEXDIG}]{{1,4}}"
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_LS32 = rf"(?:{_H16}:{_H16}|{_OCTET}(?:\.{_OCTET}){{3}})"
_IPV6 = "|".join(  # RFC 3986 IPv6address, one alternative per line of its grammar
    [
        rf"(?:{_H16}:){{6}}{_LS32}",
        rf"::(?:{_H16}:){{5}}{_LS32}",
        rf"(?:{_H16})?::(?:{_H16}:){{4}}{_LS32}",
        rf"(?:(?:{_H16}:){{0,1}}{_H16})?::(?:{_H16}:){{3}}{_LS32}",
        rf"(?:(?:{_H16}:){{0,2}}{_H16})?::(?:{_H16}:){{2}}{_LS32}",
        rf"(?:(?:{_H16}:){{0,3}}{_H16})?::{_H16}:{_LS32}",
        rf"(?:(?:{_H16}:){{0,4}}{_H16})?::{_LS32}",
        rf"(?:(?:{_H16}:){{0,5}}{_H16})?::{_H16}",
        rf"(?:(?:{_H16}:){{0,6}}{_H16})?::",
    ]
)
_IP_LITERAL = rf"\[(?:{_IPV6}|[vV][{_HEXDIG}]+\.[{_UNRESERVED}{_SUB_DELIMS}:]+)\]"
_HOST = rf"(?:{_IP_LITERAL}|{_chars('')})"
_SCHEME = r"[A-Za-z][A-Za-z0-9+.\-]*"
# One pattern per IRI part, as pyoxigraph (oxiri) splits and checks them.
_PART_RES = {
    # The lookahead only skips a doomed userinfo attempt; it halves the matching time.
    "authority": re.compile(rf"//(?:(?=[^/?#@\n]*@){_chars(':')}@)?{_HOST}(?::[0-9]*)?"),
    "path": re.compile(_chars(":@/")),
    "query": re.compile(rf"\?{_chars(':@/?' + _IPRIVATE)}"),
    "fragment": re.compile(rf"#{_chars(':@/?')}"),
}
_IRI_RE = re.compile(
    rf"{_SCHEME}:(?:{_PART_RES['authority'].pattern}(?:/{_chars(':@/')})?|(?!//){_chars(':@/')})"
    rf"(?:{_PART_RES['query'].pattern})?(?:{_PART_RES['fragment'].pattern})?"
)
_IRI_PARTS = re.compile(
    r"(?P<scheme>[^:]*):(?P<authority>//[^/?#]*)?(?P<path>[^?#]*)"
    r"(?P<query>\?[^#]*)?(?P<fragment>#.*)?",
    re.DOTALL,
)
# Absolute IRIs of ASCII path characters and no authority ("urn:x:a/b"): valid IRIs
# (a subset of _IRI_RE), quick to find with pyarrow (RE2 syntax).
_PLAIN_IRI = (
    r"^[A-Za-z][A-Za-z0-9+.\-]*:"
    r"(?:/?[A-Za-z0-9._~!$&'()*+,;=:@\-][A-Za-z0-9._~!$&'()*+,;=:@/\-]*|/)?$"
)
# Characters no part of an IRI may hold (N-Quads IRIREF forbids some of them too).
_NOT_IRI_CHAR = re.compile(rf"[^{_IUNRESERVED}{_SUB_DELIMS}{_IPRIVATE}:@/?#\[\]%]", re.DOTALL)
_BAD_PERCENT = re.compile(f"%(?![{_HEXDIG}]{{2}})")

# Blank node labels as pyoxigraph reads them (PN_CHARS_U without ':').
_PN_BASE = (
    "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02ff\u0370-\u037d\u037f-\u1fff\u200c-\u200d"
    "\u2070-\u218f\u2c00-\u2fef\u3001-\ud7ff\uf900-\ufdcf\ufdf0-\ufffd\U00010000-\U000effff"
)
_PN_CHARS = _PN_BASE + r"_\-0-9\u00b7\u0300-\u036f\u203f-\u2040"
_BNODE_RE = re.compile(rf"_:[{_PN_BASE}_0-9](?:[{_PN_CHARS}.]*[{_PN_CHARS}])?")

# Well-formed RFC 5646 language tags, as pyoxigraph (oxilangtag) accepts them.
_GRANDFATHERED = [
    "art-lojban",
    "cel-gaulish",
    "en-GB-oed",
    "i-ami",
    "i-bnn",
    "i-default",
    "i-enochian",
    "i-hak",
    "i-klingon",
    "i-lux",
    "i-mingo",
    "i-navajo",
    "i-pwn",
    "i-tao",
    "i-tay",
    "i-tsu",
    "no-bok",
    "no-nyn",
    "sgn-BE-FR",
    "sgn-BE-NL",
    "sgn-CH-DE",
    "zh-guoyu",
    "zh-hakka",
    "zh-min",
    "zh-min-nan",
    "zh-xiang",
]
_PRIVATE_USE = r"[xX](?:-[A-Za-z0-9]{1,8})+"
_LANGTAG = (
    r"(?:[A-Za-z]{2,3}(?:-[A-Za-z]{3}){0,3}|[A-Za-z]{4,8})"
    r"(?:-[A-Za-z]{4})?"
    r"(?:-(?:[A-Za-z]{2}|[0-9]{3}))?"
    r"(?:-(?:[A-Za-z][A-Za-z0-9]{4,7}|[0-9][A-Za-z0-9]{3,7}))*"
    r"(?:-[0-9A-WYZa-wyz](?:-[A-Za-z0-9]{2,8})+)*"
    rf"(?:-{_PRIVATE_USE})?"
)
_LANGUAGE_RE = re.compile(
    "|".join([*map(re.escape, _GRANDFATHERED), _PRIVATE_USE, _LANGTAG]), re.IGNORECASE
)

# Escapes for STRING_LITERAL_QUOTE. Beyond the required \\ \" \n \r, every control
# character and every character str.splitlines() breaks on is escaped, so each quad
# stays on one line for any line-based tool. Lone surrogates only reach this table when
# a value is shown in a reject reason; literals holding them are rejected first.
_ESCAPES = {ord("\\"): "\\\\", ord('"'): '\\"', ord("\n"): "\\n", ord("\r"): "\\r"}
_ESCAPES[ord("\t")] = "\\t"
for _code in [*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029, *range(0xD800, 0xE000)]:
    _ESCAPES.setdefault(_code, f"\\u{_code:04X}")
_NEEDS_ESCAPE = re.compile('[\\\\"\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]')
_NEEDS_ESCAPE_BUT_NUL = re.compile('[\\\\"\x01-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]')
_SURROGATE = re.compile("[\ud800-\udfff]")
_BLANK_RE = re.compile("_:.*")
_SEPARATOR = "\x00"
_SHOWN_CHARS = 60

_REQUIRED = ("subject", "predicate", "object", "object_kind")
_OPTIONAL = ("datatype", "language", "graph")
_KINDS = ("iri", "literal", "bnode")


# --- public API ---------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class NQuadsBatch:
    """An N-Quads document for ``Store.bulk_load`` and the rows left out of it.

    ``text`` holds one line per accepted row. ``rejects`` has columns ``row`` (the
    input index label), ``field`` and ``reason``; a row with several problems has
    several reject lines, so ``accepted + rejects.row.nunique() == len(frame)``.
    """

    text: str
    accepted: int
    rejects: pd.DataFrame

    def to_bytes(self) -> bytes:
        """The document as UTF-8, ready for ``bulk_load(..., format=RdfFormat.N_QUADS)``.

        Example:
            >>> NQuadsBatch('<a:s> <a:p> "é" .\\n', 1, pd.DataFrame()).to_bytes()
            b'<a:s> <a:p> "\\xc3\\xa9" .\\n'
        """
        return self.text.encode("utf-8")


def to_nquads(frame: pd.DataFrame) -> NQuadsBatch:
    """Serialise a long table of quads to N-Quads, reporting rows that cannot be written.

    Columns: ``subject`` (IRI or ``_:label``), ``predicate`` (IRI), ``object`` (lexical
    value), ``object_kind`` (``"iri"``, ``"literal"`` or ``"bnode"``) and optionally
    ``datatype`` (IRI; NA means xsd:string), ``language`` (tag; wins over datatype) and
    ``graph`` (IRI; NA means the default graph). ``datatype`` and ``language`` are only
    read for literal rows. Columns may be str, object or categorical.

    Raises:
        RdfError: a required column is missing, a column is not text, or the index
            has duplicate labels (rejects name rows by label).

    Example:
        >>> frame = pd.DataFrame({
        ...     "subject": ["https://ex.org/launch/1", "_:b1"],
        ...     "predicate": "https://ex.org/market",
        ...     "object": ["FR", "https://ex.org/market/fr"],
        ...     "object_kind": ["literal", "iri"],
        ...     "language": ["en", None],
        ...     "graph": "https://ex.org/graph/plm",
        ... })
        >>> print(to_nquads(frame).text, end="")
        <https://ex.org/launch/1> <https://ex.org/market> "FR"@en <https://ex.org/graph/plm> .
        _:b1 <https://ex.org/market> <https://ex.org/market/fr> <https://ex.org/graph/plm> .
    """
    _check_frame(frame)
    columns = {name: _column(frame, name) for name in _REQUIRED + _OPTIONAL}
    parts = [
        _subject_terms(columns["subject"]),
        _iri_terms("predicate", columns["predicate"]),
        _object_terms(columns),
        _graph_terms(columns["graph"]),
    ]
    problems = {field: why for part in parts for field, why in part.problems.items()}
    rejected = np.zeros(len(frame), dtype=bool)
    for why in problems.values():
        rejected |= pd.notna(why)
    keep = slice(None) if not rejected.any() else ~rejected
    return NQuadsBatch(
        text=_join_lines([part.pieces[keep] for part in parts]),
        accepted=int(len(frame) - rejected.sum()),
        rejects=_rejects_frame(frame.index, problems),
    )


def check_iris(values: pd.Series) -> pd.Series:
    """Which values can be written as IRIs: absolute, RFC 3987 valid, nothing to escape.

    NA and non-text values are invalid. Percent-encoding is the caller's job; a value
    needing it is invalid, never encoded here.

    Example:
        >>> check_iris(pd.Series(["https://ex.org/a", "ex.org/a", "https://ex.org/a b"])).tolist()
        [True, False, False]
    """
    codes, uniques = _encode(values)
    valid = _spread(_iri_valid(uniques), codes, na=False)
    return pd.Series(valid.astype(bool), index=values.index, name=values.name)


def escape_literal(values: pd.Series) -> pd.Series:
    """Escape text for the inside of an N-Quads ``"..."`` literal; NA stays NA.

    Raises:
        RdfError: a value is not text, or holds a lone surrogate (UTF-8 cannot encode it).

    Example:
        >>> print(escape_literal(pd.Series(['say "hi"\\n', "C:\\\\tmp"])).str.cat(sep=" | "))
        say \\"hi\\"\\n | C:\\\\tmp
    """
    values = values.astype(object)
    present = values.notna().to_numpy()
    text = values[present]
    why = _literal_problems(text)
    if why.notna().any():
        label = why.first_valid_index()
        raise RdfError(f"cannot escape row {label!r}: {why[label]}")
    out = values.copy()
    out[present] = _escape(text)
    return out


def nquads_literal(value: str, datatype: str | None = None, language: str | None = None) -> str:
    """One literal term in N-Quads syntax, through the same code as ``to_nquads``.

    Raises:
        InvalidIriError: ``datatype`` is not a valid absolute IRI.
        RdfError: ``language`` is not a well-formed tag, or ``value`` cannot be encoded.

    Example:
        >>> nquads_literal('a "b"')
        '"a \\\\"b\\\\""'
        >>> nquads_literal("12", datatype="http://www.w3.org/2001/XMLSchema#integer")
        '"12"^^<http://www.w3.org/2001/XMLSchema#integer>'
        >>> nquads_literal("Bonjour", language="fr")
        '"Bonjour"@fr'
    """

    def one(item: object) -> pd.Series:
        return pd.Series([item], dtype=object)

    terms = _literal_terms(one(value), one(datatype), one(language))
    for field in ("object", "language", "datatype"):
        why = terms.problems[field][0]
        if pd.notna(why):
            raise (InvalidIriError if field == "datatype" else RdfError)(why)
    return "".join(terms.pieces[0])


@dataclass(frozen=True, eq=False)
class QuadBlock:
    """Quads sharing a predicate, object kind, datatype and language, with terms as codes.

    Row ``i`` is the quad ``(subjects[subject_codes[i]], predicate, objects[object_codes[i]])``
    (a code of -1 means the term is missing). Terms are checked and written once per
    distinct value, and once for all the blocks that share the same ``subjects`` or
    ``objects`` array.
    """

    subjects: np.ndarray
    subject_codes: np.ndarray
    predicate: str
    objects: np.ndarray
    object_codes: np.ndarray
    object_kind: str = "iri"
    datatype: str | None = None
    language: str | None = None

    def __len__(self) -> int:
        return len(self.subject_codes)

    def frame(self) -> pd.DataFrame:
        """The block as the long table that ``to_nquads`` reads."""
        return pd.DataFrame({
            "subject": _spread(self.subjects, self.subject_codes, na=None),
            "predicate": self.predicate,
            "object": _spread(self.objects, self.object_codes, na=None),
            "object_kind": self.object_kind,
            "datatype": self.datatype,
            "language": self.language,
        }, index=pd.RangeIndex(len(self)), dtype=object)  # fmt: skip


def blocks_to_nquads(blocks: list[QuadBlock], graph: str | None = None) -> NQuadsBatch:
    """The batch ``to_nquads`` gives for the blocks' rows one after another, in ``graph``.

    When a term cannot be written, ``to_nquads`` itself checks the rows, so rejects
    name rows by their position across all the blocks.

    Example:
        >>> people = np.array(["https://ex.org/p/1", "https://ex.org/p/2"], dtype=object)
        >>> names = np.array(["Rose", "Iris"], dtype=object)
        >>> block = QuadBlock(people, np.array([0, 1]), "https://ex.org/name", names,
        ...                   np.array([1, 0]), "literal", language="en")
        >>> print(blocks_to_nquads([block]).text, end="")
        <https://ex.org/p/1> <https://ex.org/name> "Iris"@en .
        <https://ex.org/p/2> <https://ex.org/name> "Rose"@en .
    """
    writer = _BlockWriter(graph)
    grid = np.empty((sum(map(len, blocks)), 4), dtype=object)
    start = 0
    for block in blocks:
        stop = start + len(block)
        if stop > start and not writer.write(block, grid[start:stop]):
            frames = [block.frame() for block in blocks]
            return to_nquads(pd.concat(frames, ignore_index=True).assign(graph=graph))
        start = stop
    rejects = _rejects_frame(pd.RangeIndex(0), {"subject": np.empty(0, dtype=object)})
    return NQuadsBatch("".join(grid.ravel().tolist()), len(grid), rejects)


class _BlockWriter:
    """Quad blocks as N-Quads line pieces, each distinct term checked and written once.

    Every method returns None for a term that cannot be written.
    """

    def __init__(self, graph: str | None) -> None:
        terms = _graph_terms(pd.Series([graph], dtype=object))
        valid = pd.isna(terms.problems["graph"][0])
        self.end = "".join(terms.pieces[0]) + " .\n" if valid else None
        self.iris: dict[int, tuple[np.ndarray, np.ndarray | None]] = {}
        self.literals: dict[int, tuple[np.ndarray, np.ndarray | None]] = {}
        self.suffixes: dict[tuple[str | None, str | None], str | None] = {}
        self.predicates: dict[str, bool] = {}

    def write(self, block: QuadBlock, grid: np.ndarray) -> bool:
        """Fill ``grid`` with the block's lines in four pieces; False if a term is not valid.

        The pieces: ``<subject>``, `` <predicate> `` and what opens the object, its body,
        and what closes it and the line.
        """
        subjects = self._iris(block.subjects)
        opening, objects, closing = self._object(block)
        if any(part is None for part in (self.end, subjects, objects, closing)):
            return False
        if not self._predicate(block.predicate):
            return False
        if min(block.subject_codes.min(), block.object_codes.min()) < 0:  # a missing term
            return False
        grid[:, 0] = subjects[block.subject_codes]
        grid[:, 1] = f" <{block.predicate}> {opening}"
        grid[:, 2] = objects[block.object_codes]
        grid[:, 3] = closing + self.end
        return True

    def _object(self, block: QuadBlock) -> tuple[str, np.ndarray | None, str | None]:
        if block.object_kind == "iri":
            return "", self._iris(block.objects), ""
        if block.object_kind == "literal":
            suffix = self._suffix(block.datatype, block.language)
            return '"', self._literals(block.objects), None if suffix is None else '"' + suffix
        return "", None, None  # blank nodes and unknown kinds: to_nquads handles them

    def _iris(self, values: np.ndarray) -> np.ndarray | None:
        """``<iri>`` per value."""
        if id(values) not in self.iris:
            valid = _plain_iris(values) or _iri_valid(pd.Series(values, dtype=object)).all()
            self.iris[id(values)] = (values, "<" + values + ">" if valid else None)
        return self.iris[id(values)][1]

    def _predicate(self, predicate: str) -> bool:
        if predicate not in self.predicates:
            why = _iri_problems("predicate", pd.Series([predicate], dtype=object))
            self.predicates[predicate] = bool(why.isna().all())
        return self.predicates[predicate]

    def _literals(self, values: np.ndarray) -> np.ndarray | None:
        """Each value escaped for the inside of a literal."""
        if id(values) not in self.literals:
            text = pd.Series(values, dtype=object)
            valid = _literal_problems(text).isna().all()
            self.literals[id(values)] = (values, _escape(text).to_numpy() if valid else None)
        return self.literals[id(values)][1]

    def _suffix(self, datatype: str | None, language: str | None) -> str | None:
        """``@language``, ``^^<datatype>`` or nothing, after a literal."""
        if (datatype, language) not in self.suffixes:
            terms = [pd.Series([term], dtype=object) for term in (datatype, language)]
            suffix, problems = _literal_suffixes(*terms)
            valid = all(pd.isna(why[0]) for why in problems.values())
            self.suffixes[datatype, language] = suffix[0] if valid else None
        return self.suffixes[datatype, language]


# --- rows and columns ---------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Terms:
    """Per row: term pieces (left, body, right, suffix) and reject reasons per field.

    Pieces are joined only once, for the whole document; rows with a reason are dropped
    before that, so their pieces may hold None.
    """

    pieces: np.ndarray
    problems: dict[str, np.ndarray]


def _check_frame(frame: pd.DataFrame) -> None:
    missing = [name for name in _REQUIRED if name not in frame.columns]
    if missing:
        raise RdfError(
            f"to_nquads needs columns {', '.join(_REQUIRED)}; missing {', '.join(missing)} "
            f"(have: {', '.join(map(str, frame.columns)) or 'none'})"
        )
    if not frame.index.is_unique:
        raise RdfError(
            "the frame index has duplicate labels, so rejects could not name rows; "
            "call frame.reset_index(drop=True) first"
        )
    for name in _REQUIRED + _OPTIONAL:
        if name in frame.columns:
            _check_dtype(name, frame[name])


def _check_dtype(name: str, values: pd.Series) -> None:
    dtype = values.dtype
    textual = pd.api.types.is_object_dtype(dtype) or isinstance(
        dtype, (pd.StringDtype, pd.CategoricalDtype)
    )
    if not textual and values.notna().any():
        raise RdfError(
            f"column {name!r} has dtype {dtype}, but N-Quads needs text; "
            f"convert it first, e.g. frame[{name!r}].astype(str)"
        )


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    if name in frame.columns:
        return frame[name]
    return pd.Series(None, index=frame.index, dtype=object)


def _encode(values: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """Integer code per row (-1 for NA) and the distinct values as an object Series."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes = values.cat.codes.to_numpy()
        uniques = values.cat.categories.to_numpy(dtype=object)
    else:
        codes, found = pd.factorize(values, use_na_sentinel=True)
        uniques = np.asarray(found, dtype=object)
    return codes, pd.Series(uniques, dtype=object)


def _spread(per_unique: pd.Series | np.ndarray, codes: np.ndarray, na: object) -> np.ndarray:
    """Per-row values from per-distinct-value ones; ``na`` for rows coded -1."""
    table = np.empty(len(per_unique) + 1, dtype=object)
    table[:-1] = np.asarray(per_unique, dtype=object)
    table[-1] = na
    return table[codes]


def _pieces(body: object, left: object = "", right: object = "", suffix: object = "") -> np.ndarray:
    """An (n, 4) grid of term pieces; each argument is a per-row array or one str."""
    grid = np.empty((len(np.asarray(body)), 4), dtype=object)
    grid[:, 0], grid[:, 1], grid[:, 2], grid[:, 3] = left, body, right, suffix
    return grid


def _join_lines(terms: list[np.ndarray]) -> str:
    """Interleave subject, predicate, object and graph pieces into one document."""
    subject, predicate, obj, graph = terms
    grid = np.empty((len(subject), 19), dtype=object)
    grid[:, 0:4], grid[:, 5:9], grid[:, 10:14], grid[:, 14:18] = subject, predicate, obj, graph
    grid[:, 4] = grid[:, 9] = " "
    grid[:, 18] = " .\n"
    return "".join(grid.ravel().tolist())


def _rejects_frame(index: pd.Index, problems: dict[str, np.ndarray]) -> pd.DataFrame:
    """One line per (row, field) with a reason, in row order then field order."""
    keys, fields, reasons = [], [], []
    for rank, (field, why) in enumerate(problems.items()):
        hit = np.flatnonzero(pd.notna(why))
        keys.append(hit * len(problems) + rank)
        fields.append(np.full(len(hit), field, dtype=object))
        reasons.append(why[hit])
    key = np.concatenate(keys)
    order = np.argsort(key, kind="stable")
    return pd.DataFrame(
        {
            "row": pd.Series(index.take(key[order] // len(problems)), dtype=object),
            "field": pd.Series(np.concatenate(fields)[order], dtype=object),
            "reason": pd.Series(np.concatenate(reasons)[order], dtype=object),
        }
    )


# --- terms --------------------------------------------------------------------------------


def _iri_terms(field: str, values: pd.Series) -> _Terms:
    codes, uniques = _encode(values)
    why = _iri_problems(field, uniques)
    missing = f"{field} is missing (needs an absolute IRI)"
    pieces = _pieces(_spread(uniques, codes, na=None), "<", ">")
    return _Terms(pieces, {field: _spread(why, codes, na=missing)})


def _graph_terms(values: pd.Series) -> _Terms:
    """`` <graph>`` per row, or nothing (the default graph) where the graph is NA."""
    codes, uniques = _encode(values)
    named = codes >= 0
    body = _spread(uniques, codes, na="")
    pieces = _pieces(body, np.where(named, " <", ""), np.where(named, ">", ""))
    return _Terms(pieces, {"graph": _spread(_iri_problems("graph", uniques), codes, na=None)})


def _subject_terms(values: pd.Series) -> _Terms:
    codes, uniques = _encode(values)
    blank = pd.Series(False, index=uniques.index)
    text = _text_only(uniques)
    blank[text.index] = _fullmatch(_BLANK_RE, text)
    why = _iri_problems("subject", uniques[~blank])
    why = pd.concat([why, _bnode_problems("subject", uniques[blank])]).reindex(uniques.index)
    left, right = np.where(blank, "", "<"), np.where(blank, "", ">")
    pieces = _pieces(*(_spread(part, codes, None) for part in (uniques, left, right)))
    missing = "subject is missing (needs an absolute IRI or a _:label)"
    return _Terms(pieces, {"subject": _spread(why, codes, missing)})


def _object_terms(columns: dict[str, pd.Series]) -> _Terms:
    """Objects by kind: ``<iri>``, ``_:label`` or a literal with its tag or datatype."""
    n = len(columns["object"])
    codes, uniques = _encode(columns["object_kind"])
    kinds = _spread(uniques, codes, na=None)
    pieces = np.empty((n, 4), dtype=object)
    fields = ("object_kind", "object", "datatype", "language")
    problems = {field: np.full(n, None, dtype=object) for field in fields}
    known = np.isin(kinds, _KINDS)
    problems["object_kind"][~known] = _kind_problems(kinds[~known])
    for kind in _KINDS:
        rows = np.flatnonzero(kinds == kind)
        if len(rows):
            part = _render_kind(kind, {name: col.iloc[rows] for name, col in columns.items()})
            pieces[rows] = part.pieces
            for field, why in part.problems.items():
                problems[field][rows] = why
    return _Terms(pieces, problems)


def _render_kind(kind: str, columns: dict[str, pd.Series]) -> _Terms:
    if kind == "literal":
        return _literal_terms(columns["object"], columns["datatype"], columns["language"])
    if kind == "iri":
        return _iri_terms("object", columns["object"])
    codes, uniques = _encode(columns["object"])
    why = _bnode_problems("object", uniques)
    missing = "object is missing (a bnode object needs a _:label)"
    return _Terms(_pieces(_spread(uniques, codes, None)), {"object": _spread(why, codes, missing)})


def _literal_terms(values: pd.Series, datatype: pd.Series, language: pd.Series) -> _Terms:
    codes, uniques = _encode(values)
    why = _literal_problems(uniques)
    body = _spread(_escape_where(uniques, why.isna()), codes, na=None)
    suffix, problems = _literal_suffixes(datatype, language)
    missing = 'object is missing (a literal needs a lexical value; use "" for empty text)'
    problems["object"] = _spread(why, codes, missing)
    return _Terms(_pieces(body, '"', '"', suffix), problems)


def _literal_suffixes(datatype: pd.Series, language: pd.Series) -> tuple[np.ndarray, dict]:
    """``@tag`` or ``^^<datatype>`` per row (``""`` for xsd:string) and their problems."""
    lang_codes, langs = _encode(language)
    lang_why = _language_problems(langs)
    tags = _spread(_wrap(langs, lang_why.isna(), "@", ""), lang_codes, na=None)
    dt_codes, types = _encode(datatype)
    dt_why = _datatype_problems(types)
    typed = _wrap(types, dt_why.isna(), "^^<", ">").where(types != _XSD_STRING, "")
    has_tag = lang_codes >= 0
    suffix = np.where(has_tag, tags, _spread(typed, dt_codes, na=""))
    dt_rows = np.where(has_tag, None, _spread(dt_why, dt_codes, na=None))
    return suffix, {"datatype": dt_rows, "language": _spread(lang_why, lang_codes, na=None)}


def _wrap(values: pd.Series, ok: pd.Series, left: str, right: str) -> pd.Series:
    """``left + value + right`` where ``ok``; None elsewhere."""
    out = pd.Series(None, index=values.index, dtype=object)
    if ok.any():
        out[ok] = left + values[ok] + right
    return out


def _escape_where(values: pd.Series, ok: pd.Series) -> pd.Series:
    out = values.copy()
    if ok.any():
        out[ok] = _escape(values[ok])
    return out


# --- escaping and matching, whole columns at a time ---------------------------------------


def _escape(values: pd.Series) -> pd.Series:
    """Escape str values for STRING_LITERAL_QUOTE: the one escaping routine.

    Joins the values with NUL, replaces each special character present in one pass
    over the whole text (backslash first), and splits again. Values holding NUL
    themselves are escaped one by one with the same table.
    """
    items = values.tolist()
    joined = _SEPARATOR.join(items)
    if not items or joined.count(_SEPARATOR) != len(items) - 1:
        needs = values.str.contains(_NEEDS_ESCAPE).to_numpy(dtype=bool)
        out = values.copy()
        out[needs] = values[needs].str.translate(_ESCAPES)
        return out
    found = set(_NEEDS_ESCAPE_BUT_NUL.findall(joined))  # no value holds NUL
    if not found:
        return values
    for char in sorted(found, key=lambda char: char != "\\"):
        joined = joined.replace(char, _ESCAPES[ord(char)])
    return pd.Series(joined.split(_SEPARATOR), index=values.index, dtype=object)


def _fullmatch(pattern: re.Pattern[str], values: pd.Series) -> np.ndarray:
    """``pattern.fullmatch`` over str values in one regex pass; ``pattern`` must not match \\n.

    Joins the values with newlines, blanks every line the pattern matches whole and
    splits again, so matching values come back empty.
    """
    items = values.tolist()
    joined = "\n".join(items)
    if not items or joined.count("\n") != len(items) - 1:
        return values.str.fullmatch(pattern).to_numpy(dtype=bool)
    lines = np.array(_by_line(pattern).sub("", joined).split("\n"), dtype=object)
    matched = lines == ""
    if pattern.fullmatch("") is None:
        matched &= np.array(items, dtype=object) != ""
    return matched


@functools.cache
def _by_line(pattern: re.Pattern[str]) -> re.Pattern[str]:
    return re.compile(f"^(?:{pattern.pattern})$", pattern.flags | re.MULTILINE)


def _contains(char_class: re.Pattern[str], values: pd.Series) -> np.ndarray:
    """Which str values hold a character of ``char_class``; one scan when none do."""
    if not char_class.search("".join(values.tolist())):
        return np.zeros(len(values), dtype=bool)
    return values.str.contains(char_class).to_numpy(dtype=bool)


# --- problems (one reason per distinct value; None where fine) ----------------------------


def _text_only(values: pd.Series) -> pd.Series:
    if pd.api.types.infer_dtype(values, skipna=False) in ("string", "empty"):
        return values
    return values[[isinstance(value, str) for value in values]]


def _no_problems(values: pd.Series) -> pd.Series:
    return pd.Series(None, index=values.index, dtype=object)


def _not_text(field: str, values: pd.Series) -> pd.Series:
    """Reasons for the values that are not str (the rest stay None)."""
    why = _no_problems(values)
    text = _text_only(values)
    if len(text) == len(values):
        return why
    other = values.drop(text.index)
    if len(other):
        kind = other.map(lambda value: type(value).__name__)
        why[other.index] = f"{field} " + other.map(repr) + " is not text (got " + kind + ")"
    return why


def _shown(values: pd.Series) -> pd.Series:
    """Values for a one-line message: cut to 60 characters and escaped."""
    cut = values.str.slice(0, _SHOWN_CHARS)
    cut = cut.where(values.str.len() <= _SHOWN_CHARS, cut + "…")
    return _escape(cut)


def _plain_iris(values: np.ndarray) -> bool:
    """Whether every value is an IRI of the plainest kind (a quick yes; no is not final)."""
    try:
        text = pa.array(values, type=pa.large_string())
    except (pa.ArrowException, UnicodeError):  # not text, or a lone surrogate
        return False
    plain = pc.match_substring_regex(text, _PLAIN_IRI)
    return text.null_count == 0 and bool(pc.all(plain).as_py())


def _iri_valid(values: pd.Series) -> pd.Series:
    valid = pd.Series(False, index=values.index)
    text = _text_only(values)
    valid[text.index] = _fullmatch(_IRI_RE, text)
    return valid


def _iri_problems(field: str, values: pd.Series) -> pd.Series:
    why = _not_text(field, values)
    text = _text_only(values)
    bad = text[~_fullmatch(_IRI_RE, text)]
    if len(bad):
        why[bad.index] = f'{field} "' + _shown(bad) + '" ' + _iri_faults(bad)
    return why


def _iri_faults(bad: pd.Series) -> pd.Series:
    """What is wrong with each invalid IRI, most basic fault first."""
    parts = bad.str.extract(_IRI_PARTS)
    fault = pd.Series(
        "is not a valid IRI (RFC 3987); check where [ ] @ # and : appear", index=bad.index
    )
    for part in ("fragment", "query", "path", "authority"):
        value = parts[part].dropna()
        wrong = value[~value.str.fullmatch(_PART_RES[part]).to_numpy(dtype=bool)]
        fault[wrong.index] = f"has an invalid {part} " + '"' + _shown(wrong) + '"'
    percent = bad.str.contains(_BAD_PERCENT).to_numpy(dtype=bool)
    fault[percent] = 'has a "%" not followed by two hex digits (write a literal % as %25)'
    char = bad.str.extract(f"({_NOT_IRI_CHAR.pattern})", expand=False).dropna()
    fault[char.index] = "contains " + char.map(_describe_char)
    no_scheme = ~bad.str.match(f"{_SCHEME}:").to_numpy(dtype=bool)
    fault[no_scheme] = "is not an absolute IRI (needs a scheme such as https:)"
    return fault


def _describe_char(char: str) -> str:
    code = f"U+{ord(char):04X}"
    if _SURROGATE.match(char):
        return f"a lone surrogate ({code}), which UTF-8 cannot encode"
    encoded = "".join(f"%{byte:02X}" for byte in char.encode("utf-8"))
    return f"{char!r} ({code}), which IRIs cannot hold; percent-encode it as {encoded}"


def _bnode_problems(field: str, values: pd.Series) -> pd.Series:
    why = _not_text(field, values)
    text = _text_only(values)
    bad = text[~_fullmatch(_BNODE_RE, text)]
    if len(bad):
        why[bad.index] = (
            f'{field} "' + _shown(bad) + '" is not a blank node label (write _: then letters, '
            "digits, _ or -, with . and · only inside)"
        )
    return why


def _literal_problems(values: pd.Series) -> pd.Series:
    why = _not_text("object", values)
    text = _text_only(values)
    bad = text[_contains(_SURROGATE, text)]
    if len(bad):
        char = bad.str.extract(f"({_SURROGATE.pattern})", expand=False)
        why[bad.index] = (
            'object "'
            + _shown(bad)
            + '" contains '
            + char.map(_describe_char)
            + "; fix how the text was decoded"
        )
    return why


def _language_problems(values: pd.Series) -> pd.Series:
    why = _not_text("language", values)
    text = _text_only(values)
    bad = text[~_fullmatch(_LANGUAGE_RE, text)]
    if len(bad):
        why[bad.index] = (
            'language "' + _shown(bad) + '" is not a well-formed BCP 47 tag '
            "(e.g. en, en-US, zh-Hant-TW; subtags of at most 8 letters or digits)"
        )
    return why


def _datatype_problems(values: pd.Series) -> pd.Series:
    why = _iri_problems("datatype", values)
    needs_tag = values.isin(_NEEDS_LANGUAGE).to_numpy(dtype=bool)
    why[needs_tag] = "datatype " + values[needs_tag] + " needs a language tag; set language"
    return why


def _kind_problems(kinds: np.ndarray) -> np.ndarray:
    allowed = '"iri", "literal" or "bnode"'
    values = pd.Series(kinds, dtype=object)
    why = pd.Series(f"object_kind is missing (use {allowed})", index=values.index)
    given = values.dropna()
    why[given.index] = "object_kind " + given.map(repr) + f" is not {allowed}"
    return why.to_numpy(dtype=object)
