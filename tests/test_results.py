"""Result serialisation: our writers must read back identically with pyoxigraph's parsers."""

from __future__ import annotations

import pyoxigraph as ox
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kgsentinel.errors import QueryError
from kgsentinel.graph.results import QueryResult

XSD = "http://www.w3.org/2001/XMLSchema#"


def literal_terms() -> st.SearchStrategy[ox.Literal]:
    text = st.text(st.characters(exclude_categories=("Cs",)))
    plain = text.map(ox.Literal)
    tagged = st.tuples(text, st.sampled_from(["en", "fr-BE", "de"])).map(
        lambda pair: ox.Literal(pair[0], language=pair[1])
    )
    typed = st.integers().map(lambda n: ox.Literal(str(n), datatype=ox.NamedNode(XSD + "integer")))
    return st.one_of(plain, tagged, typed)


def terms() -> st.SearchStrategy[object]:
    iris = st.from_regex(
        r"https://example\.org/[a-z0-9/é]{0,12}(#[a-z0-9]{0,4})?", fullmatch=True
    ).map(ox.NamedNode)
    return st.one_of(literal_terms(), iris, st.none())


@given(st.lists(st.tuples(terms(), terms()), max_size=5))
@pytest.mark.parametrize("fmt", ["json", "tsv"])
def test_select_results_read_back_identically(fmt: str, rows: list[tuple]) -> None:
    result = QueryResult("select", variables=["a", "b"], solutions=rows)
    parsed = ox.parse_query_results(
        result.serialize(fmt), format=ox.QueryResultsFormat.from_extension(fmt)
    )
    assert [v.value for v in parsed.variables] == ["a", "b"]
    assert [(s["a"], s["b"]) for s in parsed] == rows


@pytest.mark.parametrize("answer", [True, False])
@pytest.mark.parametrize("fmt", ["json", "tsv"])
def test_ask_results_read_back(fmt: str, answer: bool) -> None:
    data = QueryResult("ask", boolean=answer).serialize(fmt)
    assert (
        bool(ox.parse_query_results(data, format=ox.QueryResultsFormat.from_extension(fmt)))
        is answer
    )


def test_csv_writes_plain_values() -> None:
    rows = [(ox.NamedNode("urn:x:a"), ox.Literal('say "hi", ok')), (ox.BlankNode("b1"), None)]
    data = QueryResult("select", variables=["s", "o"], solutions=rows).serialize("csv")
    assert data == b's,o\r\nurn:x:a,"say ""hi"", ok"\r\n_:b1,\r\n'


def test_formats_that_do_not_fit_the_result_are_refused() -> None:
    with pytest.raises(QueryError, match="use json, csv, tsv or table"):
        QueryResult("select", variables=["a"]).serialize("turtle")
    with pytest.raises(QueryError, match="cannot be written as csv"):
        QueryResult("graph").serialize("csv")


def test_rows_scalar_and_dataframe_use_python_values() -> None:
    count = ox.Literal("3", datatype=ox.NamedNode(XSD + "integer"))
    result = QueryResult(
        "select", variables=["n", "who"], solutions=[(count, ox.NamedNode("urn:x:a"))]
    )
    assert result.rows() == [{"n": 3, "who": "urn:x:a"}]
    assert result.scalar() == 3
    assert result.to_df()["n"].dtype.kind == "i"
    assert result.to_df(terms=True)["n"].tolist() == [str(count)]
