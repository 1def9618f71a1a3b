"""Parameter binding into query text: values never change the query's structure."""

from __future__ import annotations

import pyoxigraph as ox
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kgsentinel.errors import QueryError
from kgsentinel.graph.binding import bind_values
from kgsentinel.graph.terms import parse_param, to_term

ONE = {"x": ox.Literal("1")}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("SELECT * WHERE { ?s ?p ?x }", 'SELECT * WHERE { VALUES (?x) { ("1") } ?s ?p ?x }'),
        ("ASK{?s ?p ?x}", 'ASK{ VALUES (?x) { ("1") }?s ?p ?x}'),
        (
            'PREFIX ex: <http://e/#a> SELECT * { ?s ex:p "{", \'}\', """{\n""" }',
            'PREFIX ex: <http://e/#a> SELECT * { VALUES (?x) { ("1") } '
            '?s ex:p "{", \'}\', """{\n""" }',
        ),
        (
            "# SELECT { in a comment\nSELECT * { ?s ?p ?x }",
            '# SELECT { in a comment\nSELECT * { VALUES (?x) { ("1") } ?s ?p ?x }',
        ),
        (
            "CONSTRUCT { ?s ?p ?x } WHERE { ?s ?p ?x }",
            'CONSTRUCT { ?s ?p ?x } WHERE { VALUES (?x) { ("1") } ?s ?p ?x }',
        ),
        (
            "SELECT * { { SELECT ?s WHERE { ?s ?p ?o } } ?s ?q ?x }",
            'SELECT * { VALUES (?x) { ("1") } { SELECT ?s WHERE { ?s ?p ?o } } ?s ?q ?x }',
        ),
        (
            "SELECT ?where WHERE { ?where ?p ?x }",
            'SELECT ?where WHERE { VALUES (?x) { ("1") } ?where ?p ?x }',
        ),
    ],
)
def test_values_go_into_the_outermost_where_group(query: str, expected: str) -> None:
    assert bind_values(query, ONE) == expected


def test_the_iri_regex_does_not_swallow_a_comparison() -> None:
    query = "SELECT * { ?s ?p ?o FILTER(?o<3&&?x>2) }"
    assert bind_values(query, ONE).startswith('SELECT * { VALUES (?x) { ("1") }')


def test_short_construct_and_patternless_queries_are_refused() -> None:
    with pytest.raises(QueryError, match="full form CONSTRUCT"):
        bind_values("CONSTRUCT WHERE { ?s ?p ?x }", ONE)
    with pytest.raises(QueryError, match="WHERE"):
        bind_values("DESCRIBE <urn:x:a>", ONE)


@given(st.text())
def test_any_string_value_stays_one_value(value: str) -> None:
    store = ox.Store()
    store.add(ox.Quad(ox.NamedNode("urn:x:a"), ox.NamedNode("urn:x:p"), ox.Literal("other")))
    try:
        term = ox.Literal(value)
    except ValueError:
        return
    bound = bind_values("SELECT ?v (COUNT(*) AS ?n) WHERE { ?s ?p ?o } GROUP BY ?v", {"v": term})
    (row,) = list(store.query(bound))
    assert row["v"] == term
    assert row["n"].value == "1"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<urn:x:a>", ox.NamedNode("urn:x:a")),
        ('"Rose"@en', ox.Literal("Rose", language="en")),
        ('"5"^^<http://www.w3.org/2001/XMLSchema#int>',
         ox.Literal("5", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#int"))),
        ("-3", to_term(-3)),
        ("2.5", ox.Literal("2.5", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#decimal"))),
        ("1e3", ox.Literal("1e3", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#double"))),
        ("true", to_term(True)),
        ("C-17", ox.Literal("C-17")),
        ("10:30", ox.Literal("10:30")),
    ],
)  # fmt: skip
def test_command_line_values_read_like_turtle(text: str, expected: object) -> None:
    assert parse_param(text) == expected


@pytest.mark.parametrize("text", ["<not an iri>", '"unterminated', '"x"^^<bad iri>'])
def test_bad_command_line_values_are_explained(text: str) -> None:
    with pytest.raises(QueryError, match="parameter value"):
        parse_param(text)


def test_python_values_become_typed_literals() -> None:
    import datetime as dt
    import decimal

    xsd = "http://www.w3.org/2001/XMLSchema#"
    assert to_term(2.5).datatype.value == xsd + "double"
    assert to_term(decimal.Decimal("1.10")).value == "1.10"
    assert to_term(dt.date(2026, 1, 2)).datatype.value == xsd + "date"
    stamp = to_term(dt.datetime(2026, 1, 2, 3, 4, tzinfo=dt.UTC))
    assert (stamp.value, stamp.datatype.value) == ("2026-01-02T03:04:00+00:00", xsd + "dateTime")
    with pytest.raises(QueryError, match="cannot bind a list"):
        to_term([1])
