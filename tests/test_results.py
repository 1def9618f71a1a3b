"""Result serialisation: our writers must read back identically with pyoxigraph's parsers."""

from __future__ import annotations

import gc
import sys
import threading

import pyoxigraph as ox
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kgsentinel.errors import ConfigError, QueryError
from kgsentinel.graph.results import QueryResult, query_shape
from kgsentinel.predict.runner import _checked_ask

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


def _refused_and_kept_in_a_cycle() -> None:
    """Refuse a query and hold the error the way a caller keeping it would: in a cycle."""
    try:
        _checked_ask("SELECT ?case WHERE { ?case ?p ?o }")  # not an ASK
    except ConfigError as exc:
        caught = exc
        assert caught.__traceback__ is not None  # the traceback holds this frame, which holds it


def test_a_refused_query_leaves_nothing_for_another_thread_to_drop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # pyoxigraph's results may only be dropped on the thread that made them; the
    # detectors read on worker threads, where the garbage collector may also run.
    dropped: list[str] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda u: dropped.append(str(u.exc_value)))
    _refused_and_kept_in_a_cycle()
    worker = threading.Thread(target=gc.collect)
    worker.start()
    worker.join()
    assert dropped == []


def test_query_shape_names_the_kind_and_the_variables() -> None:
    assert query_shape("SELECT ?a ?b WHERE { ?a ?p ?b }") == ("select", ("a", "b"))
    assert query_shape("ASK { ?s ?p ?o }") == ("ask", ())
    assert query_shape("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }") == ("graph", ())
    with pytest.raises(SyntaxError):
        query_shape("SELECT WHERE")
