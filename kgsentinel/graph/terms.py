"""RDF terms, graph names, file formats and query parameters.

Values supplied by users never reach SPARQL text by string pasting: they become
pyoxigraph terms here and are bound by the store (see :mod:`kgsentinel.graph.binding`).

Example:
    >>> graph_iri("crm")
    'urn:kgsentinel:graph:crm'
    >>> parse_param("42")
    <Literal value=42 datatype=<NamedNode value=http://www.w3.org/2001/XMLSchema#integer>>
    >>> rdf_format("data.ttl").name
    'Turtle'
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from kgsentinel.errors import QueryError, RdfError

__all__ = [
    "GRAPH_PREFIX",
    "RDF_FORMATS",
    "STAGING_PREFIX",
    "XSD",
    "graph_iri",
    "graph_term",
    "is_absolute_iri",
    "parse_param",
    "python_value",
    "quad",
    "rdf_format",
    "to_term",
    "to_terms",
]

XSD = "http://www.w3.org/2001/XMLSchema#"
GRAPH_PREFIX = "urn:kgsentinel:graph:"
STAGING_PREFIX = "urn:kgsentinel:staging:"

RDF_FORMATS: dict[str, ox.RdfFormat] = {
    "turtle": ox.RdfFormat.TURTLE,
    "ntriples": ox.RdfFormat.N_TRIPLES,
    "nquads": ox.RdfFormat.N_QUADS,
    "trig": ox.RdfFormat.TRIG,
    "jsonld": ox.RdfFormat.JSON_LD,
    "rdfxml": ox.RdfFormat.RDF_XML,
    "n3": ox.RdfFormat.N3,
}
_EXTENSIONS = {
    "ttl": "turtle",
    "nt": "ntriples",
    "nq": "nquads",
    "trig": "trig",
    "jsonld": "jsonld",
    "json": "jsonld",
    "rdf": "rdfxml",
    "owl": "rdfxml",
    "xml": "rdfxml",
    "n3": "n3",
}
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:\S+")
_INTEGER = re.compile(r"[+-]?\d+")
_DECIMAL = re.compile(r"[+-]?\d*\.\d+")
_DOUBLE = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)[eE][+-]?\d+")


def is_absolute_iri(text: str) -> bool:
    """Tell whether ``text`` looks like an absolute IRI (a scheme, then no spaces).

    Example:
        >>> is_absolute_iri("https://example.org/x"), is_absolute_iri("crm")
        (True, False)
    """
    return bool(_SCHEME.fullmatch(text))


def graph_iri(name: str) -> str:
    """Turn a short graph name (``crm``) or a full IRI into the graph's IRI.

    Example:
        >>> graph_iri("urn:x:g")
        'urn:x:g'
    """
    if is_absolute_iri(name):
        return name
    if not _NAME.fullmatch(name):
        raise RdfError(
            f"graph name {name!r} is not usable: give a full IRI or a short name of letters, "
            "digits, '.', '_' and '-'"
        )
    return GRAPH_PREFIX + name


def graph_term(name: str) -> ox.NamedNode:
    """The pyoxigraph node for a graph name or IRI (see :func:`graph_iri`)."""
    iri = graph_iri(name)
    try:
        return ox.NamedNode(iri)
    except ValueError as exc:
        raise RdfError(f"graph IRI {iri!r} is invalid: {exc}") from exc


def rdf_format(name_or_path: str | Path) -> ox.RdfFormat:
    """Find the RDF format from a format name (``turtle``) or a file name (``x.ttl``).

    Example:
        >>> rdf_format("nquads").name, rdf_format("dump.nq").name
        ('N-Quads', 'N-Quads')
    """
    text = str(name_or_path)
    key = text.lower().replace("-", "").replace("_", "")
    if key in RDF_FORMATS:
        return RDF_FORMATS[key]
    suffix = Path(text).suffix.lower().lstrip(".")
    if suffix in _EXTENSIONS:
        return RDF_FORMATS[_EXTENSIONS[suffix]]
    allowed = ", ".join(RDF_FORMATS)
    known = ", ".join(f".{ext}" for ext in _EXTENSIONS)
    raise RdfError(
        f"cannot tell the RDF format of {text!r}: pass --format with one of {allowed} "
        f"(or use a file extension: {known})"
    )


def parse_param(text: str) -> ox.NamedNode | ox.Literal:
    """Read a command-line parameter value as an RDF term, the way Turtle reads it.

    ``<iri>`` is an IRI; ``"text"``, ``"text"@en`` and ``"5"^^<datatype>`` are
    literals in N-Triples syntax; bare integers, decimals, doubles and
    ``true``/``false`` are typed like Turtle's shorthand; anything else is a
    plain string.

    Example:
        >>> parse_param("<https://example.org/c1>")
        <NamedNode value=https://example.org/c1>
        >>> parse_param("C-17").value
        'C-17'
    """
    if text.startswith("<") and text.endswith(">"):
        try:
            return ox.NamedNode(text[1:-1])
        except ValueError as exc:
            raise QueryError(f"parameter value {text} is not a valid IRI: {exc}") from exc
    if text.startswith('"'):
        return _parse_literal(text)
    for pattern, datatype in ((_INTEGER, "integer"), (_DECIMAL, "decimal"), (_DOUBLE, "double")):
        if pattern.fullmatch(text):
            return ox.Literal(text, datatype=ox.NamedNode(XSD + datatype))
    if text in ("true", "false"):
        return ox.Literal(text, datatype=ox.NamedNode(XSD + "boolean"))
    return ox.Literal(text)


def _parse_literal(text: str) -> ox.Literal:
    document = f"<urn:x:s> <urn:x:p> {text} .".encode()
    try:
        (quad,) = ox.parse(document, format=ox.RdfFormat.N_TRIPLES)
    except (SyntaxError, ValueError) as exc:
        raise QueryError(
            f"parameter value {text} is not a valid literal: write it like "
            '"text", "text"@en or "5"^^<http://www.w3.org/2001/XMLSchema#integer>'
        ) from exc
    return quad.object


def to_term(value: Any) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    """Turn a Python value into an RDF term for binding into a query.

    A ``str`` is a plain string literal; to bind an IRI pass ``pyoxigraph.NamedNode``.

    Example:
        >>> to_term(3).datatype.value
        'http://www.w3.org/2001/XMLSchema#integer'
        >>> to_term(True).value
        'true'
    """
    if isinstance(value, ox.NamedNode | ox.BlankNode | ox.Literal):
        return value
    if hasattr(value, "item") and hasattr(value, "dtype"):  # a numpy scalar
        return to_term(value.item())
    if isinstance(value, bool):
        return ox.Literal("true" if value else "false", datatype=ox.NamedNode(XSD + "boolean"))
    typed: list[tuple[type | tuple[type, ...], str, Any]] = [
        (int, "integer", str),
        (float, "double", repr),
        (decimal.Decimal, "decimal", str),
        (dt.datetime, "dateTime", dt.datetime.isoformat),
        (dt.date, "date", dt.date.isoformat),
    ]
    for kind, datatype, render in typed:
        if isinstance(value, kind):
            return ox.Literal(render(value), datatype=ox.NamedNode(XSD + datatype))
    if isinstance(value, str):
        return ox.Literal(value)
    raise QueryError(
        f"cannot bind a {type(value).__name__} as a query parameter: use str, int, float, "
        "bool, Decimal, date, datetime or a pyoxigraph term"
    )


BindableTerm = ox.NamedNode | ox.BlankNode | ox.Literal


def quad(subject: ox.NamedNode, predicate: str, value: Any, graph: ox.NamedNode) -> ox.Quad:
    """A quad whose object is ``value`` as a term (see :func:`to_term`).

    Example:
        >>> quad(ox.NamedNode("urn:x:run"), "urn:x:rows", 3, ox.NamedNode("urn:x:g")).object.value
        '3'
    """
    return ox.Quad(subject, ox.NamedNode(predicate), to_term(value), graph)


def to_terms(params: Mapping[str, Any] | None) -> dict[str, BindableTerm]:
    """Check parameter names and turn their values into terms (see :func:`to_term`)."""
    terms = {}
    for name, value in (params or {}).items():
        bare = name.lstrip("?$")
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", bare):
            raise QueryError(f"parameter name {name!r} is not a SPARQL variable name")
        terms[bare] = to_term(value)
    return terms


_NUMERIC = {
    "integer": int, "int": int, "long": int, "short": int, "byte": int,
    "nonNegativeInteger": int, "positiveInteger": int, "negativeInteger": int,
    "nonPositiveInteger": int, "unsignedInt": int, "unsignedLong": int,
    "unsignedShort": int, "unsignedByte": int,
    "decimal": float, "double": float, "float": float,
}  # fmt: skip


def python_value(term: Any) -> Any:
    """Turn an RDF term into the plain Python value an analyst expects in pandas.

    Example:
        >>> python_value(ox.Literal("2", datatype=ox.NamedNode(XSD + "integer")))
        2
        >>> python_value(ox.NamedNode("urn:x:a"))
        'urn:x:a'
    """
    if term is None:
        return None
    if isinstance(term, ox.NamedNode):
        return term.value
    if isinstance(term, ox.BlankNode):
        return f"_:{term.value}"
    if not isinstance(term, ox.Literal):
        return str(term)
    datatype = term.datatype.value
    local = datatype[len(XSD) :] if datatype.startswith(XSD) else None
    try:
        if local in _NUMERIC:
            return _NUMERIC[local](term.value)
        if local == "boolean":
            return term.value in ("true", "1")
        if local == "dateTime":
            return dt.datetime.fromisoformat(term.value.replace("Z", "+00:00"))
        if local == "date":
            return dt.date.fromisoformat(term.value)
    except ValueError:
        return term.value
    return term.value
