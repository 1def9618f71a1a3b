"""Bind query parameters as a ``VALUES`` block, the same way on every backend.

A SPARQL 1.1 endpoint has no protocol parameter for bindings, and pyoxigraph's
native substitutions refuse variables outside the SELECT projection, so values
go into the query as a ``VALUES`` block at the start of the outermost ``WHERE``
group, which binds them for the whole pattern (filters, optionals, aggregates)
on both backends alike. The values are written by pyoxigraph's own term
serialiser, never pasted as raw text, so no value can change the query's shape.

Example:
    >>> import pyoxigraph as ox
    >>> bind_values("SELECT ?s WHERE { ?s ?p ?o }", {"o": ox.Literal('x" }')})
    'SELECT ?s WHERE { VALUES (?o) { ("x\\\\" }") } ?s ?p ?o }'
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

import pyoxigraph as ox

from kgsentinel.errors import QueryError

__all__ = ["bind_values"]

_STRING = re.compile(
    r"'''(?:[^'\\]|\\.|'(?!''))*'''"
    r'|"""(?:[^"\\]|\\.|"(?!""))*"""'
    r"|'(?:[^'\\\n\r]|\\.)*'"
    r'|"(?:[^"\\\n\r]|\\.)*"',
    re.DOTALL,
)
_IRI = re.compile(r'<[^<>"{}|^`\\\x00-\x20]*>')
_COMMENT = re.compile(r"#[^\n\r]*")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_FORMS = {"SELECT", "ASK", "CONSTRUCT", "DESCRIBE"}
_SKIPPERS = {"'": _STRING, '"': _STRING, "<": _IRI, "#": _COMMENT}


def _tokens(query: str) -> Iterator[tuple[int, str]]:
    """Yield (offset, token) for braces and keywords, skipping strings, IRIs and comments."""
    pos, end = 0, len(query)
    while pos < end:
        char = query[pos]
        skip = _SKIPPERS[char].match(query, pos) if char in _SKIPPERS else None
        if skip:
            pos = skip.end()
        elif char in "{}":
            yield pos, char
            pos += 1
        elif char.isalpha() and (pos == 0 or not _is_name_char(query[pos - 1])):
            word = _WORD.match(query, pos)
            assert word is not None
            pos = word.end()
            if not query.startswith(":", pos):
                yield word.start(), word.group().upper()
        else:
            pos += 1


def _is_name_char(char: str) -> bool:
    return char.isalnum() or char in "?$:_-."


def _where_brace(query: str) -> int:
    """Offset of the ``{`` that opens the outermost WHERE group."""
    depth, form, groups, saw_where = 0, None, 0, False
    for pos, token in _tokens(query):
        if token == "{":
            if depth == 0:
                groups += 1
                if form == "CONSTRUCT" and saw_where and groups == 1:
                    raise QueryError(
                        "parameters need the full form CONSTRUCT { ... } WHERE { ... }"
                    )
                if form != "CONSTRUCT" or groups == 2:
                    return pos
            depth += 1
        elif token == "}":
            depth -= 1
        elif depth == 0 and form is None and token in _FORMS:
            form = token
        elif depth == 0 and token == "WHERE":
            saw_where = True
    raise QueryError("parameters need a query with a WHERE { ... } pattern")


def bind_values(query: str, terms: Mapping[str, ox.NamedNode | ox.BlankNode | ox.Literal]) -> str:
    """Return ``query`` with ``terms`` bound by a ``VALUES`` block in its WHERE group."""
    if not terms:
        return query
    brace = _where_brace(query)
    names = " ".join(f"?{name}" for name in terms)
    values = " ".join(str(term) for term in terms.values())
    block = f" VALUES ({names}) {{ ({values}) }}"
    return query[: brace + 1] + block + query[brace + 1 :]
