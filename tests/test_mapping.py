"""Mapping files are checked before any data is read, with one-line errors."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kgsentinel.errors import MappingError
from kgsentinel.graph.terms import XSD
from kgsentinel.ingest.mapper import coerce, map_chunk
from kgsentinel.ingest.mapping import load_mapping
from kgsentinel.ingest.templates import Template

GOOD = """
prefixes: {npi: "urn:kgsentinel:npi:"}
entities:
  - class: npi:Product
    iri: "product/{sku}"
    properties:
      rdfs:label: name
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "plm.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def label(spec: str) -> str:
    """The good mapping with another value for rdfs:label."""
    return GOOD.replace("rdfs:label: name", f"rdfs:label: {spec}")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (GOOD.replace("npi:Product", "plm:Product"), "prefix 'plm' of 'plm:Product' is not"),
        (GOOD.replace("product/{sku}", "product/{sku"), "unmatched '{' at position 9"),
        (GOOD.replace("product/{sku}", "product/{}"), "has an empty {}: name a column"),
        (label("{column: name, datatype: foo:bar}"), "prefix 'foo' of 'foo:bar' is not declared"),
        (label("{column: name, colour: red}"), "unknown key"),
        (label("{column: a, constant: b}"), "give exactly one of column, template or constant"),
        (label("{column: a, datatype: xsd:string, language: en}"), "a datatype or a language"),
        ("entities: [", "line 1, column 12: expected the node content"),
        ('base: "relative/"\n', "must be an absolute IRI"),
    ],
)
def test_a_bad_mapping_is_explained_in_one_line(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(MappingError) as caught:
        load_mapping(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_an_unknown_column_is_named_with_the_available_ones(tmp_path: Path) -> None:
    mapping = load_mapping(write(tmp_path, GOOD))
    assert mapping.columns() == ["sku", "name"]
    expected = r"reads column 'name', which plm.csv does not have \(did you mean 'Name'\?"
    with pytest.raises(MappingError, match=expected + r"; columns: sku, Name\)"):
        mapping.check_columns(["sku", "Name"], source="plm.csv")


def test_a_missing_mapping_file_says_where_to_look(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match="no such mapping file"):
        load_mapping(tmp_path / "absent.yaml")


@given(st.lists(st.text(), min_size=1, max_size=8))
def test_the_same_key_always_gives_the_same_valid_iri(keys: list[str]) -> None:
    frame = pd.DataFrame({"key": keys})
    first = Template.parse("thing/{key}").render(frame, iri=True).values
    again = Template.parse("thing/{key}").render(frame.iloc[::-1], iri=True).values.iloc[::-1]
    assert first.tolist() == again.tolist()
    distinct = {k for k in keys if k.strip()}
    assert len({v for v in first if v is not None}) == len(distinct)


def test_values_are_checked_against_their_datatype() -> None:
    values = pd.Series(["1.5", "abc", "1e3", ""])
    assert coerce(values, XSD + "double", None)[1].tolist() == [False, True, False, True]
    stamps = pd.Series(["2026-03-05 10:30:00+02:00", "2026-03-05T08:30:00.250", "nope"])
    text, bad = coerce(stamps, XSD + "dateTime", None)
    assert text.tolist()[:2] == ["2026-03-05T08:30:00Z", "2026-03-05T08:30:00.25Z"]
    assert bad.tolist() == [False, False, True]
    native = pd.Series(pd.to_datetime(["2026-01-02 03:04:05"]))
    assert coerce(native, XSD + "date", None)[0].tolist() == ["2026-01-02"]


def test_a_chunk_of_native_types_maps_like_text(tmp_path: Path) -> None:
    quantity = GOOD.replace("rdfs:label: name", "npi:qty: {column: qty, datatype: xsd:integer}")
    mapping = load_mapping(write(tmp_path, quantity))
    text = map_chunk(mapping, pd.DataFrame({"sku": ["1"], "qty": ["7"]}), graph="urn:g")
    native = map_chunk(mapping, pd.DataFrame({"sku": [1], "qty": [7.0]}), graph="urn:g")
    assert text.batch.text == native.batch.text
    assert '"7"^^<http://www.w3.org/2001/XMLSchema#integer>' in native.batch.text


def test_values_become_text_without_merging_look_alikes() -> None:
    from kgsentinel.ingest.templates import lexical

    mixed = pd.Series([1, True, None, 1.0, 2.5, "x"], dtype=object)
    assert lexical(mixed).tolist() == ["1", "true", "", "1", "2.5", "x"]
    assert lexical(pd.Series(["a", None], dtype="str")).tolist() == ["a", ""]
    assert lexical(pd.Series(pd.array([7, None], dtype="Int64"))).tolist() == ["7", ""]
