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


WHITESPACE = st.sampled_from([" ", "\t", "\u3000", "\x1c", "\xa0", "\u2028"])
KEYS = st.one_of(
    st.none(), st.text(st.one_of(st.characters(exclude_categories=["Cs"]), WHITESPACE))
)


@given(st.lists(KEYS, min_size=1, max_size=8))
def test_text_columns_render_as_object_columns_do(keys: list[str | None]) -> None:
    template = Template.parse("thing/{key}-{other}")
    as_text = pd.DataFrame({"key": keys, "other": "x"}, dtype="str")
    as_objects = as_text.astype(object).where(as_text.notna(), None)
    for iri in (True, False):
        text, objects = template.render(as_text, iri=iri), template.render(as_objects, iri=iri)
        assert text.values.tolist() == objects.values.tolist()
        assert text.missing.tolist() == objects.missing.tolist()
        assert text.missing_column.tolist() == objects.missing_column.tolist()


def test_times_already_in_canonical_form_are_checked_not_rewritten() -> None:
    stamps = pd.Series(
        ["2021-03-05T10:00:00Z", " 2021-12-31T23:59:59Z", "2024-02-29T12:00:00Z",
         "2021-02-29T00:00:00Z", "2021-03-05T10:00:00+02:00", "2021-03-05T10:00:00.50Z"]
    )  # fmt: skip
    text, bad = coerce(stamps, XSD + "dateTime", None)
    assert text.tolist() == [
        "2021-03-05T10:00:00Z", "2021-12-31T23:59:59Z", "2024-02-29T12:00:00Z",
        "2021-02-29T00:00:00Z", "2021-03-05T08:00:00Z", "2021-03-05T10:00:00.5Z",
    ]  # fmt: skip
    assert bad.tolist() == [False, False, False, True, False, False]


TIMES = st.builds(
    lambda year, month, day, clock, zone: f"{year}-{month:02d}-{day:02d}{clock}{zone}",
    st.sampled_from([1899, 1900, 2000, 2023, 2024, 2100, 2199, 2200, 2263]),
    st.integers(0, 13),
    st.integers(0, 32),
    st.sampled_from(["", "T00:00:00", "T23:59:59", "T24:00:00", "T12:60:00", "T12:00:60"]),
    st.sampled_from(["", "Z", "+02:00", ".5Z"]),
)


@given(st.lists(TIMES, max_size=6), st.sampled_from(["date", "dateTime"]))
def test_checking_canonical_times_gives_what_parsing_them_gives(
    stamps: list[str], local: str
) -> None:
    values = pd.Series(stamps, dtype=object)
    text, bad = coerce(values, XSD + local, None)
    parsed_text, parsed_bad = coerce(values, XSD + local, "ISO8601")  # parses every value
    assert (text.tolist(), text.dtype) == (parsed_text.tolist(), parsed_text.dtype)
    assert bad.tolist() == parsed_bad.tolist()


SUPPLIED = """
prefixes: {npi: "urn:kgsentinel:npi:"}
entities:
  - class: npi:Product
    iri: "product/{sku}"
    properties:
      npi:qty: {column: qty, datatype: xsd:integer}
    links:
      npi:supplier: "supplier/{supplier}"
  - class: npi:Supplier
    iri: "supplier/{supplier}"
    optional: true
    properties:
      rdfs:label: supplier
"""


def test_a_quad_many_rows_hold_is_written_once_unless_only_rejected_rows_hold_it(
    tmp_path: Path,
) -> None:
    mapping = load_mapping(write(tmp_path, SUPPLIED))
    chunk = pd.DataFrame(
        {"sku": ["1", "2", "3", "4"], "qty": ["7", "x", "9", "y"], "supplier": ["A", "A", "B", "C"]}
    )

    mapped = map_chunk(mapping, chunk, graph=None)

    lines = mapped.batch.text.splitlines()
    assert mapped.rejects.row.tolist() == [2, 4]
    assert sum("supplier/A> <http://www.w3.org/2000/01/rdf-schema#label>" in x for x in lines) == 1
    assert any("supplier/B>" in line for line in lines)
    assert not any("supplier/C>" in line for line in lines)
    assert len(lines) == len(set(lines)) == 2 * 3 + 2 * 2


def test_a_row_whose_iri_the_template_makes_invalid_is_rejected(tmp_path: Path) -> None:
    mapping = load_mapping(write(tmp_path, GOOD.replace("product/{sku}", "product {sku}")))

    mapped = map_chunk(mapping, pd.DataFrame({"sku": ["1"], "name": ["Rose"]}), graph=None)

    assert mapped.batch.text == ""
    assert mapped.rows_rejected == 1
    assert set(mapped.rejects.field) == {"subject"}
    assert "contains ' ' (U+0020)" in mapped.rejects.reason[0]
