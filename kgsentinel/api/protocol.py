"""The SPARQL 1.1 Protocol's request rules: operations, datasets, media types.

What a request asks (a query or an update, and its dataset), checked as the
W3C protocol says: one ``query`` or one ``update``, never both, UTF-8 text,
the right ``Content-Type``; the result format chosen from ``Accept``.

Example:
    >>> choose_format("application/sparql-results+xml;q=0.9, text/csv", "select")
    'csv'
    >>> choose_format("text/turtle", "ask") is None
    True
    >>> add_using("INSERT { ?s a <urn:x:C> } WHERE { ?s ?p ?o }", ["urn:g:1"], [])
    'INSERT { ?s a <urn:x:C> } USING <urn:g:1> WHERE { ?s ?p ?o }'
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass, field

import pyoxigraph as ox

from kgsentinel.errors import QueryError
from kgsentinel.rules.loader import _code, service_line

__all__ = [
    "FORM",
    "MEDIA_TYPES",
    "SPARQL_QUERY",
    "SPARQL_UPDATE",
    "Operation",
    "add_using",
    "choose_format",
    "has_dataset_clause",
    "parse_operation",
    "query_form",
    "refuse_service",
    "unsupported_type",
]

FORM = "application/x-www-form-urlencoded"
SPARQL_QUERY = "application/sparql-query"
SPARQL_UPDATE = "application/sparql-update"

#: Media types each result format answers to, the first being the one sent.
MEDIA_TYPES: dict[str, tuple[str, ...]] = {
    "json": ("application/sparql-results+json", "application/json"),
    "xml": ("application/sparql-results+xml", "application/xml", "text/xml"),
    "csv": ("text/csv",),
    "tsv": ("text/tab-separated-values",),
    "turtle": ("text/turtle", "application/x-turtle"),
    "ntriples": ("application/n-triples", "text/plain"),
    "jsonld": ("application/ld+json",),
    "rdfxml": ("application/rdf+xml",),
}
_BY_KIND = {
    "select": ("json", "xml", "csv", "tsv"),
    "ask": ("json", "xml", "csv", "tsv"),
    "graph": ("turtle", "ntriples", "jsonld", "rdfxml"),
}
_FORM = re.compile(r"(?<![\w?$:.-])(SELECT|ASK|CONSTRUCT|DESCRIBE)(?![\w:-])", re.IGNORECASE)
_DATASET = re.compile(r"(?<![\w?$:.-])FROM(?![\w:-])", re.IGNORECASE)
_OWN_UPDATE_DATASET = re.compile(r"(?<![\w?$:.-])(USING|WITH)(?![\w:-])", re.IGNORECASE)
_WHERE_OR_BRACE = re.compile(r"[{}]|(?<![\w?$:.-])WHERE(?![\w:-])", re.IGNORECASE)
_DELETE_BEFORE = re.compile(r"(?<![\w?$:.-])DELETE\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Operation:
    """A query or an update, with the graphs the request names for its dataset."""

    kind: str  # "query" or "update"
    text: str
    default_graphs: list[str] = field(default_factory=list)
    named_graphs: list[str] = field(default_factory=list)

    @property
    def has_dataset(self) -> bool:
        """Whether the request itself names graphs for the dataset."""
        return bool(self.default_graphs or self.named_graphs)


def parse_operation(
    method: str, content_type: str | None, url_query: str, body: bytes
) -> Operation:
    """What a ``GET`` or ``POST`` to the endpoint asks, or a :class:`QueryError` saying why not.

    Example:
        >>> parse_operation("GET", None, "query=ASK%20%7B%7D&default-graph-uri=urn%3Ag", b"")
        Operation(kind='query', text='ASK {}', default_graphs=['urn:g'], named_graphs=[])
    """
    params = _pairs(url_query, "the URL")
    media, charset = _media_type(content_type)
    if method == "POST" and media == FORM:
        params += _pairs(_utf8(body, "the form"), "the form")
    elif method == "POST" and media in (SPARQL_QUERY, SPARQL_UPDATE):
        if charset not in (None, "utf-8"):
            raise QueryError(f"the body is {charset}; send SPARQL as UTF-8 (charset=utf-8)")
        params.append(("query" if media == SPARQL_QUERY else "update", _utf8(body, "the body")))
    elif method == "POST":
        raise QueryError(unsupported_type(content_type))
    return _operation(method, params)


def _operation(method: str, params: list[tuple[str, str]]) -> Operation:
    queries = [value for name, value in params if name == "query"]
    updates = [value for name, value in params if name == "update"]
    if queries and updates:
        raise QueryError("the request holds both a query and an update; send one of them")
    if len(queries) > 1 or len(updates) > 1:
        raise QueryError("the request holds more than one query or update; send one at a time")
    if updates and method != "POST":
        raise QueryError("an update must be sent with POST (form field update= or the body)")
    if not queries and not updates:
        raise QueryError(
            "no query: send query= (GET or a POST form), or a POST body of type "
            f"{SPARQL_QUERY}; updates as update= or {SPARQL_UPDATE}"
        )
    kind, text = ("query", queries[0]) if queries else ("update", updates[0])
    default_key, named_key = (
        ("default-graph-uri", "named-graph-uri")
        if kind == "query"
        else ("using-graph-uri", "using-named-graph-uri")
    )
    return Operation(
        kind,
        text,
        [_iri(v, default_key) for k, v in params if k == default_key],
        [_iri(v, named_key) for k, v in params if k == named_key],
    )


def _pairs(text: str, where: str) -> list[tuple[str, str]]:
    try:
        return urllib.parse.parse_qsl(text, keep_blank_values=True, strict_parsing=False,
                                      encoding="utf-8", errors="strict")  # fmt: skip
    except UnicodeDecodeError:
        raise QueryError(f"{where} is not UTF-8 once decoded; encode it as UTF-8") from None


def _utf8(body: bytes, where: str) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise QueryError(f"{where} is not UTF-8; send SPARQL as UTF-8") from None


def _media_type(content_type: str | None) -> tuple[str | None, str | None]:
    if not content_type:
        return None, None
    media, _, rest = content_type.partition(";")
    charset = re.search(r"charset\s*=\s*\"?([\w.:-]+)", rest, re.IGNORECASE)
    return media.strip().lower(), charset.group(1).lower() if charset else None


def unsupported_type(content_type: str | None) -> str | None:
    """Why a POST's ``Content-Type`` is refused (``None`` when it is one the protocol takes)."""
    media, _ = _media_type(content_type)
    if media in (FORM, SPARQL_QUERY, SPARQL_UPDATE):
        return None
    return (
        f"a POST to the endpoint needs Content-Type {FORM}, {SPARQL_QUERY} or "
        f"{SPARQL_UPDATE}, not {media or 'none'}"
    )


def _iri(value: str, key: str) -> str:
    try:
        return ox.NamedNode(value).value
    except ValueError:
        raise QueryError(f"{key} = {value!r} is not an absolute IRI") from None


def refuse_service(text: str) -> None:
    """Refuse a query or update with a ``SERVICE`` clause (it would call other servers)."""
    line = service_line(text)
    if line is not None:
        raise QueryError(
            f"line {line}: SERVICE clauses are refused here (they make this server call "
            "other endpoints); query this endpoint's own graphs"
        )


def query_form(query: str) -> str:
    """The kind of result a query gives: ``select``, ``ask`` or ``graph`` (CONSTRUCT, DESCRIBE).

    Read from the text, not by running it (even on an empty store a query can run long).

    Example:
        >>> query_form("PREFIX s: <urn:select:> CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }")
        'graph'
    """
    found = _FORM.search(_code(query))
    if found is None:
        raise QueryError(
            "no SELECT, ASK, CONSTRUCT or DESCRIBE in the query; send an update as update= "
            f"or with Content-Type {SPARQL_UPDATE}"
        )
    form = found.group(1).lower()
    return form if form in ("select", "ask") else "graph"


def has_dataset_clause(query: str) -> bool:
    """Whether a query names its own dataset with ``FROM`` or ``FROM NAMED``.

    Example:
        >>> has_dataset_clause('SELECT * FROM <urn:g> { ?s ?p "FROM" }')
        True
        >>> has_dataset_clause('SELECT * { ?s ?p "FROM" }')
        False
    """
    return _DATASET.search(_code(query)) is not None


def add_using(update: str, default: Sequence[str], named: Sequence[str]) -> str:
    """The update with ``USING`` clauses for the request's using-graph-uri parameters.

    They go before the ``WHERE`` of each ``INSERT``/``DELETE ... WHERE``; an
    update that names its own dataset (``USING``, ``WITH``) cannot take them.
    """
    if not default and not named:
        return update
    code = _code(update)
    if _OWN_UPDATE_DATASET.search(code):
        raise QueryError(
            "the update names its own dataset (USING or WITH) and the request names "
            "using-graph-uri or using-named-graph-uri: give only one of them"
        )
    clause = " ".join(
        [f"USING {ox.NamedNode(g)}" for g in default]
        + [f"USING NAMED {ox.NamedNode(g)}" for g in named]
    )
    depth, places = 0, []
    for match in _WHERE_OR_BRACE.finditer(code):
        token = match.group()
        if token == "{":
            depth += 1
        elif token == "}":
            depth -= 1
        elif depth == 0 and not _DELETE_BEFORE.search(code[: match.start()]):
            places.append(match.start())
    for place in reversed(places):
        update = f"{update[:place]}{clause} {update[place:]}"
    return update


def choose_format(accept: str | None, kind: str) -> str | None:
    """The result format to send for ``kind`` (select, ask, graph), or ``None`` (406).

    The most preferred media type of ``Accept`` that the kind can be written
    in wins; no ``Accept`` or ``*/*`` gets JSON results or Turtle.
    """
    offered = _BY_KIND[kind]
    best: tuple[tuple[float, int], str] | None = None
    for order, (media, quality) in enumerate(_accepted(accept or "*/*")):
        name = next((n for n in offered if _matches(media, n)), None)
        if name and quality > 0 and (best is None or (quality, -order) > best[0]):
            best = ((quality, -order), name)
    return best[1] if best else None


def _accepted(accept: str) -> list[tuple[str, float]]:
    accepted = []
    for part in accept.split(","):
        media, _, params = part.strip().partition(";")
        quality = 1.0
        found = re.search(r"(?:^|;)\s*q\s*=\s*([0-9.]+)", ";" + params)
        if found:
            try:
                quality = float(found.group(1))
            except ValueError:
                quality = 0.0
        if media:
            accepted.append((media.strip().lower(), quality))
    return accepted


def _matches(media: str, name: str) -> bool:
    if media == "*/*":
        return True
    if media.endswith("/*"):
        return any(t.startswith(media[:-1]) for t in MEDIA_TYPES[name])
    return media in MEDIA_TYPES[name]
