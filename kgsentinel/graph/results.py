"""Query results: rows for Python, a DataFrame for analysts, standard formats for tools.

Example:
    >>> import pyoxigraph as ox
    >>> store = ox.Store()
    >>> store.add(ox.Quad(ox.NamedNode("urn:x:a"), ox.NamedNode("urn:x:p"), ox.Literal("1")))
    >>> result = QueryResult.from_pyoxigraph(store.query("SELECT ?s ?o { ?s ?p ?o }"))
    >>> result.rows()
    [{'s': 'urn:x:a', 'o': '1'}]
    >>> result.serialize("csv")
    b's,o\\r\\nurn:x:a,1\\r\\n'
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import pyoxigraph as ox

from kgsentinel.errors import QueryError
from kgsentinel.graph.terms import python_value, rdf_format

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["RESULT_FORMATS", "QueryResult", "Term", "query_shape"]

Term = ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple
ResultKind = Literal["select", "ask", "graph"]
RESULT_FORMATS = ("table", "csv", "tsv", "json", "turtle", "ntriples", "nquads", "jsonld", "rdfxml")
_GRAPH_ONLY = {"turtle", "ntriples", "nquads", "jsonld", "rdfxml"}


@dataclass
class QueryResult:
    """The answer to one SPARQL query, materialised.

    ``kind`` is ``select`` (``variables`` and ``solutions``), ``ask`` (``boolean``)
    or ``graph`` for CONSTRUCT and DESCRIBE (``triples``).
    """

    kind: ResultKind
    variables: list[str] = field(default_factory=list)
    solutions: list[tuple[Term | None, ...]] = field(default_factory=list)
    boolean: bool | None = None
    triples: list[ox.Triple] = field(default_factory=list)

    @classmethod
    def from_pyoxigraph(cls, result: Any) -> QueryResult:
        """Materialise a pyoxigraph result (solutions, boolean or triples).

        ``result`` is let go before this returns or raises: pyoxigraph's results
        must be dropped on the thread that made them, so no exception's frames
        may keep them alive (see :func:`query_shape`).
        """
        try:
            if isinstance(result, ox.QuerySolutions):
                names = [variable.value for variable in result.variables]
                rows = [tuple(solution) for solution in result]  # projection order
                return cls("select", variables=names, solutions=rows)
            if isinstance(result, ox.QueryBoolean):
                return cls("ask", boolean=bool(result))
            return cls("graph", variables=["subject", "predicate", "object"], triples=list(result))
        finally:
            del result

    def __len__(self) -> int:
        if self.kind == "ask":
            return 1
        return len(self.solutions) if self.kind == "select" else len(self.triples)

    def __iter__(self) -> Iterator[dict[str, Term | None]]:
        """Iterate rows as dicts of RDF terms (triples as subject/predicate/object)."""
        for values in self._value_rows():
            yield dict(zip(self.variables, values, strict=True))

    def __bool__(self) -> bool:
        return bool(self.boolean) if self.kind == "ask" else len(self) > 0

    def _value_rows(self) -> Iterator[tuple[Term | None, ...]]:
        if self.kind == "select":
            yield from self.solutions
        elif self.kind == "graph":
            for triple in self.triples:
                yield (triple.subject, triple.predicate, triple.object)
        else:
            raise QueryError("an ASK query has no rows; read .boolean")

    def rows(self) -> list[dict[str, Any]]:
        """Rows as dicts of plain Python values (numbers, datetimes, strings)."""
        return [{k: python_value(v) for k, v in row.items()} for row in self]

    def scalar(self) -> Any:
        """The single value of a one-cell result, or the boolean of an ASK query."""
        if self.kind == "ask":
            return self.boolean
        first = next(self._value_rows(), None)
        return python_value(first[0]) if first else None

    def to_df(self, *, terms: bool = False) -> pd.DataFrame:
        """The result as a pandas DataFrame, one column per variable.

        Values become plain Python values (numbers, datetimes, strings); pass
        ``terms=True`` to keep the RDF terms in N-Triples form instead.
        """
        import pandas as pd

        convert = (lambda t: None if t is None else str(t)) if terms else python_value
        if self.kind == "ask":
            return pd.DataFrame({"boolean": [self.boolean]})
        data = [[convert(v) for v in values] for values in self._value_rows()]
        frame = pd.DataFrame(data, columns=self.variables)
        return frame if terms else frame.infer_objects()

    def serialize(self, format: str = "json") -> bytes:
        """Write the result in a standard format.

        SELECT and ASK: ``json`` (SPARQL 1.1 JSON results), ``csv``, ``tsv``.
        CONSTRUCT and DESCRIBE: ``turtle``, ``ntriples``, ``nquads``, ``jsonld``, ``rdfxml``.
        """
        if self.kind == "graph":
            if format not in _GRAPH_ONLY:
                raise QueryError(
                    f"a CONSTRUCT or DESCRIBE result cannot be written as {format}: "
                    f"use one of {', '.join(sorted(_GRAPH_ONLY))} or table"
                )
            return ox.serialize(self.triples, format=rdf_format(format)) or b""
        writers = {"json": self._json, "csv": self._csv, "tsv": self._tsv}
        if format not in writers:
            raise QueryError(
                f"a {self.kind.upper()} result cannot be written as {format}: use json, csv, "
                "tsv or table (RDF formats are for CONSTRUCT and DESCRIBE)"
            )
        return writers[format]()

    def _json(self) -> bytes:
        if self.kind == "ask":
            return json.dumps({"head": {}, "boolean": self.boolean}).encode()
        bindings = [
            {name: _json_term(term) for name, term in zip(self.variables, values, strict=True)
             if term is not None}
            for values in self.solutions
        ]  # fmt: skip
        document = {"head": {"vars": self.variables}, "results": {"bindings": bindings}}
        return json.dumps(document, ensure_ascii=False).encode()

    def _csv(self) -> bytes:
        if self.kind == "ask":
            return b"true" if self.boolean else b"false"
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(self.variables)
        writer.writerows([_csv_value(term) for term in values] for values in self.solutions)
        return buffer.getvalue().encode()

    def _tsv(self) -> bytes:
        if self.kind == "ask":
            return b"true" if self.boolean else b"false"
        lines = ["\t".join(f"?{name}" for name in self.variables)]
        for values in self.solutions:
            lines.append("\t".join("" if term is None else str(term) for term in values))
        return ("\n".join(lines) + "\n").encode()


def _csv_value(term: Term | None) -> str:
    if term is None:
        return ""
    if isinstance(term, ox.BlankNode):
        return f"_:{term.value}"
    if isinstance(term, ox.NamedNode | ox.Literal):
        return term.value
    return str(term)


def _json_term(term: Term) -> dict[str, Any]:
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, ox.Literal):
        out: dict[str, Any] = {"type": "literal", "value": term.value}
        if term.language:
            out["xml:lang"] = term.language
        elif term.datatype.value != "http://www.w3.org/2001/XMLSchema#string":
            out["datatype"] = term.datatype.value
        return out
    return {
        "type": "triple",
        "value": {
            "subject": _json_term(term.subject),
            "predicate": _json_term(term.predicate),
            "object": _json_term(term.object),
        },
    }


def query_shape(sparql: str) -> tuple[ResultKind, tuple[str, ...]]:
    """The kind of a query (``select``, ``ask`` or ``graph``) and its SELECT variables.

    Found by asking an empty store, so a syntax error raises pyoxigraph's
    ``SyntaxError``. The result is dropped here, before anything is raised: an
    exception kept by a caller (a test's ``pytest.raises``, a log record) would
    otherwise hold pyoxigraph's result in a reference cycle, and the garbage
    collector may free it on another thread, which pyoxigraph forbids.

    Example:
        >>> query_shape("SELECT ?s ?o WHERE { ?s ?p ?o }")
        ('select', ('s', 'o'))
        >>> query_shape("ASK { ?s ?p ?o }")
        ('ask', ())
    """
    result = ox.Store().query(sparql)
    try:
        if isinstance(result, ox.QuerySolutions):
            return "select", tuple(variable.value for variable in result.variables)
        return ("ask" if isinstance(result, ox.QueryBoolean) else "graph"), ()
    finally:
        del result
