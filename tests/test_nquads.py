"""The N-Quads writer, checked against pyoxigraph's own parser and store."""

from __future__ import annotations

import doctest
import string

import numpy as np
import pandas as pd
import pyoxigraph as ox
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyoxigraph import RdfFormat

from kgsentinel.errors import InvalidIriError, RdfError
from kgsentinel.graph import nquads
from kgsentinel.graph.nquads import (
    NQuadsBatch,
    QuadBlock,
    blocks_to_nquads,
    check_iris,
    escape_literal,
    nquads_literal,
    to_nquads,
)

EX = "https://example.org/"
XSD = "http://www.w3.org/2001/XMLSchema#"
RDF_LANG_STRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
FIELDS_IN_ORDER = ("subject", "predicate", "object", "object_kind", "datatype", "language", "graph")
FIELDS = set(FIELDS_IN_ORDER)
SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- strategies ---------------------------------------------------------------------------

SPECIALS = st.sampled_from(
    [*'\\"\n\r\t\x00\x01\x1c\x7f\x85\u2028\u2029\ufeff\ufffe\uffff', "\U0001f600"]
)
# Any text Python can encode: everything but lone surrogates, with specials made common.
TEXT = st.text(st.one_of(st.characters(exclude_categories=["Cs"]), SPECIALS))
LANGUAGES = st.one_of(
    st.sampled_from(["en", "en-US", "pt-BR", "zh-Hant-TW", "de-DE-u-co-phonebk", "i-klingon"]),
    st.from_regex(r"[a-zA-Z]{2,3}(-[a-zA-Z]{4})?(-[a-zA-Z]{2}|-[0-9]{3})?", fullmatch=True),
)
DATATYPES = st.sampled_from(
    [f"{XSD}string", f"{XSD}integer", f"{XSD}dateTime", f"{EX}type/prix-€", "urn:x-type:t"]
)

_UNRESERVED = string.ascii_letters + string.digits + "-._~"
_SUB_DELIMS = "!$&'()*+,;="
_UCSCHAR = st.one_of(
    st.characters(min_codepoint=0xA0, max_codepoint=0xD7FF),
    st.characters(min_codepoint=0xF900, max_codepoint=0xFDCF),
    st.characters(min_codepoint=0x10000, max_codepoint=0x1FFFD),
)
_PCT = st.integers(0, 255).map(lambda byte: f"%{byte:02X}")


def _iri_text(extra: str, *, private: bool = False) -> st.SearchStrategy[str]:
    """Text of allowed IRI characters (RFC 3987), percent-escapes and non-ASCII."""
    chars = [st.sampled_from(_UNRESERVED + _SUB_DELIMS + extra), _UCSCHAR, _PCT]
    if private:
        chars.append(st.characters(min_codepoint=0xE000, max_codepoint=0xF8FF))
    return st.lists(st.one_of(*chars), max_size=12).map("".join)


SCHEMES = st.from_regex(r"[A-Za-z][A-Za-z0-9+.\-]{0,6}", fullmatch=True)
HIERARCHICAL = st.builds(
    lambda scheme, host, port, path, query, fragment: (
        f"{scheme}://{host}{port}{path}{query}{fragment}"
    ),
    SCHEMES,
    _iri_text(""),
    st.sampled_from(["", ":", ":8080"]),
    st.lists(_iri_text(":@"), max_size=4).map(lambda parts: "".join("/" + p for p in parts)),
    st.one_of(st.just(""), _iri_text(":@/?", private=True).map("?".__add__)),
    st.one_of(st.just(""), _iri_text(":@/?").map("#".__add__)),
)
OPAQUE = st.builds(
    lambda scheme, path: f"{scheme}:{path}",
    SCHEMES,
    _iri_text(":@").filter(lambda path: not path.startswith("/")),
)
VALID_IRIS = st.one_of(HIERARCHICAL, OPAQUE)
FORBIDDEN = st.sampled_from(list('<>"{}|^`\\') + [chr(code) for code in range(0x21)])


# --- helpers ------------------------------------------------------------------------------


def parse(batch: NQuadsBatch) -> list[ox.Quad]:
    return list(ox.parse(batch.to_bytes(), format=RdfFormat.N_QUADS))


def literal_frame(values: list[object], **columns: object) -> pd.DataFrame:
    frame = pd.DataFrame({"object": pd.Series(values, dtype=object)})
    frame["subject"] = f"{EX}s"
    frame["predicate"] = f"{EX}p"
    frame["object_kind"] = "literal"
    for name, value in columns.items():
        frame[name] = pd.Series(value, dtype=object) if isinstance(value, list) else value
    return frame


def iri_frame(field: str, iris: list[str]) -> pd.DataFrame:
    """One quad per IRI, with the IRI in ``field`` and valid values elsewhere."""
    frame = literal_frame(["x"] * len(iris))
    if field == "object":
        frame["object_kind"] = "iri"
    frame[field] = pd.Series(iris, dtype=object)
    return frame


def term_in(quad: ox.Quad, field: str) -> str:
    term = {"subject": quad.subject, "predicate": quad.predicate, "object": quad.object}
    term |= {"graph": quad.graph_name}
    if field == "datatype":
        return quad.object.datatype.value
    return term[field].value


def pyoxigraph_accepts_iri(value: str) -> bool:
    try:
        list(ox.parse(f"<{value}> <{EX}p> <{EX}o> .\n".encode(), format=RdfFormat.N_QUADS))
    except SyntaxError:
        return False
    return True


def check_reconciles(frame: pd.DataFrame, batch: NQuadsBatch) -> None:
    assert batch.accepted + batch.rejects.row.nunique() == len(frame)
    assert batch.text.count("\n") == batch.accepted
    assert len(batch.text.splitlines()) == batch.accepted
    assert len(parse(batch)) == batch.accepted
    assert list(batch.rejects.columns) == ["row", "field", "reason"]
    assert set(batch.rejects.field) <= FIELDS
    assert set(batch.rejects.row) <= set(frame.index)
    assert not batch.rejects.reason.str.contains("\n").any()


# --- literals -----------------------------------------------------------------------------


@SETTINGS
@given(values=st.lists(TEXT, min_size=1, max_size=6))
def test_any_text_round_trips_as_a_plain_literal(values: list[str]) -> None:
    batch = to_nquads(literal_frame(values))

    assert batch.accepted == len(values)
    assert batch.rejects.empty
    quads = parse(batch)
    assert [quad.object.value for quad in quads] == values
    assert {quad.object.datatype.value for quad in quads} == {f"{XSD}string"}
    assert len(batch.text.splitlines()) == len(values)


@SETTINGS
@given(value=TEXT, datatype=DATATYPES)
def test_typed_literals_round_trip(value: str, datatype: str) -> None:
    [quad] = parse(to_nquads(literal_frame([value], datatype=datatype)))

    assert quad.object == ox.Literal(value, datatype=ox.NamedNode(datatype))


@SETTINGS
@given(value=TEXT, language=LANGUAGES, datatype=st.none() | DATATYPES)
def test_language_literals_round_trip_and_win_over_datatype(
    value: str, language: str, datatype: str | None
) -> None:
    frame = literal_frame([value], language=[language], datatype=[datatype])
    [quad] = parse(to_nquads(frame))

    assert quad.object.value == value
    assert quad.object.language == language.lower()  # pyoxigraph lower-cases tags


@SETTINGS
@given(
    before=TEXT,
    surrogate=st.characters(categories=["Cs"]),
    after=TEXT,
    good=TEXT,
)
def test_lone_surrogates_are_rejected_not_crashed(
    before: str, surrogate: str, after: str, good: str
) -> None:
    bad = before + surrogate + after
    batch = to_nquads(literal_frame([good, bad]))

    assert batch.accepted == 1
    assert batch.rejects.to_dict("list")["row"] == [1]
    assert batch.rejects.field[0] == "object"
    assert "lone surrogate" in batch.rejects.reason[0]
    assert [quad.object.value for quad in parse(batch)] == [good]
    with pytest.raises(RdfError, match="lone surrogate"):  # only object dtype holds them
        escape_literal(pd.Series([good, bad], dtype=object))
    with pytest.raises(RdfError, match="lone surrogate"):
        nquads_literal(bad)


def test_nul_and_control_characters_survive_the_store() -> None:
    value = 'a\x00b\x01c\x1f\x7f"\\\n\r\t\x85\u2028 \U0001f600'
    store = ox.Store()
    store.bulk_load(to_nquads(literal_frame([value])).to_bytes(), format=RdfFormat.N_QUADS)

    [quad] = store.quads_for_pattern(None, None, None, None)
    assert quad.object.value == value


@SETTINGS
@given(values=st.lists(TEXT, max_size=6))
def test_escaping_a_column_matches_escaping_each_value(values: list[str]) -> None:
    # A NUL in the column takes the value-by-value path; both paths must agree.
    column = escape_literal(pd.Series(values, dtype=object))
    with_nul = escape_literal(pd.Series([*values, "\x00"], dtype=object))

    assert column.tolist() == with_nul.tolist()[:-1]
    assert column.tolist() == [escape_literal(pd.Series([value]))[0] for value in values]
    assert all('"' not in text.replace('\\"', "") for text in column)


def test_escape_literal_keeps_na_and_index() -> None:
    values = pd.Series(['a"b', None, "c\nd"], index=["x", "y", "z"], dtype=object)

    escaped = escape_literal(values)

    assert escaped.index.tolist() == ["x", "y", "z"]
    assert escaped.tolist() == ['a\\"b', None, "c\\nd"]
    with pytest.raises(RdfError, match="not text"):
        escape_literal(pd.Series(["a", 3], dtype=object))


def test_nquads_literal_shares_the_escaping_and_checks() -> None:
    assert nquads_literal('x"\n') == '"' + escape_literal(pd.Series(['x"\n']))[0] + '"'
    assert nquads_literal("12", datatype=f"{XSD}integer") == f'"12"^^<{XSD}integer>'
    assert nquads_literal("x", datatype=f"{XSD}string") == '"x"'
    assert nquads_literal("Hallo", language="de-CH", datatype=f"{XSD}integer") == '"Hallo"@de-CH'
    with pytest.raises(InvalidIriError, match="not an absolute IRI"):
        nquads_literal("12", datatype="integer")
    with pytest.raises(RdfError, match="BCP 47"):
        nquads_literal("x", language="en_US")


# --- IRIs ---------------------------------------------------------------------------------


@SETTINGS
@given(iris=st.lists(VALID_IRIS, min_size=1, max_size=4))
@pytest.mark.parametrize("field", ["subject", "predicate", "object", "graph", "datatype"])
def test_valid_iris_round_trip_exactly(field: str, iris: list[str]) -> None:
    for iri in iris:
        ox.NamedNode(iri)  # the strategy itself only builds IRIs pyoxigraph accepts
    batch = to_nquads(iri_frame(field, iris))

    assert batch.rejects.empty, batch.rejects.reason.tolist()
    assert [term_in(quad, field) for quad in parse(batch)] == iris
    assert check_iris(pd.Series(iris)).all()


@SETTINGS
@given(iri=VALID_IRIS, char=FORBIDDEN, where=st.integers(0, 200))
@pytest.mark.parametrize("field", ["subject", "predicate", "object", "graph", "datatype"])
def test_forbidden_characters_are_rejected_in_the_right_field(
    field: str, iri: str, char: str, where: int
) -> None:
    position = 1 + where % len(iri)
    bad = iri[:position] + char + iri[position:]
    batch = to_nquads(iri_frame(field, [iri, bad]))

    assert batch.accepted == 1
    assert batch.rejects[["row", "field"]].values.tolist() == [[1, field]]
    assert f'{field} "' in batch.rejects.reason[0]
    assert f"<{bad}>" not in batch.text
    assert [term_in(quad, field) for quad in parse(batch)] == [iri]
    assert not check_iris(pd.Series([bad]))[0]


@SETTINGS
@given(iri=VALID_IRIS)
@pytest.mark.parametrize("field", ["subject", "predicate", "object", "graph", "datatype"])
def test_iris_without_a_scheme_are_rejected(field: str, iri: str) -> None:
    relative = iri.replace(":", "")
    batch = to_nquads(iri_frame(field, [relative]))

    assert batch.accepted == 0
    assert batch.text == ""
    assert batch.rejects.field.tolist() == [field]
    assert batch.rejects.reason[0].endswith(
        "is not an absolute IRI (needs a scheme such as https:)"
    )


IRI_PIECES = st.sampled_from(
    [
        *"hH:/[]@%?#09aAfFvV.x-_~!$&'()*+,;= <>\"{}|^`\\\n",
        *["::", "//", "1.2.3.4", "01", "%4", "%41", "::ffff:", "]:80", "]/"],
        *["é", "\ue000", "\ufdd0", "\U000f0000", "\U000e0fff"],
    ]
)


@settings(max_examples=500, deadline=None)
@given(
    prefix=st.sampled_from(["http://", "a:", "h://[", "h://[::", "h://[v1.", "h://u@", ""]),
    body=st.lists(IRI_PIECES, max_size=12).map("".join),
)
def test_check_iris_agrees_with_pyoxigraph(prefix: str, body: str) -> None:
    value = prefix + body
    accepted = pyoxigraph_accepts_iri(value)

    assert check_iris(pd.Series([value]))[0] == accepted
    batch = to_nquads(iri_frame("subject", [value]))
    assert batch.accepted == accepted
    parse(batch)


IPV6_GROUPS = st.sampled_from(["0", "1", "ffff", "12345", "abc", "", "1.2.3.4", "01.1.1.1"])


@settings(max_examples=500, deadline=None)
@given(groups=st.lists(IPV6_GROUPS, max_size=10))
def test_ipv6_hosts_agree_with_pyoxigraph(groups: list[str]) -> None:
    iri = "http://[" + ":".join(groups) + "]:8/"

    assert check_iris(pd.Series([iri]))[0] == pyoxigraph_accepts_iri(iri)


@st.composite
def ipv6_addresses(draw: st.DrawFn) -> str:
    """Every RFC 4291 text form: 8 groups, or 6 plus IPv4, with or without one ``::``."""
    ipv4 = draw(st.booleans())
    count = 6 if ipv4 else 8
    groups = draw(
        st.lists(st.from_regex(r"[0-9a-fA-F]{1,4}", fullmatch=True), min_size=count, max_size=count)
    )
    text = ":".join(groups)
    if draw(st.booleans()):
        start = draw(st.integers(0, count - 1))
        end = draw(st.integers(start + 1, count))
        text = ":".join(groups[:start]) + "::" + ":".join(groups[end:])
    if ipv4:
        octets = draw(st.lists(st.integers(0, 255), min_size=4, max_size=4))
        text += ("" if text.endswith("::") else ":") + ".".join(map(str, octets))
    return text


@SETTINGS
@given(address=ipv6_addresses(), extra=st.sampled_from(["", ":1", "1:", "::1"]))
def test_every_ipv6_form_is_valid_and_no_more(address: str, extra: str) -> None:
    iri = f"http://[{address}{extra}]/"

    assert check_iris(pd.Series([iri]))[0] == pyoxigraph_accepts_iri(iri)
    assert check_iris(pd.Series([f"http://[{address}]/"]))[0]


def ipv6_shapes() -> list[str]:
    """Each place a ``::`` can go, in 8-group and in 6-group-plus-IPv4 addresses."""
    shapes = []
    for count, ipv4 in ((8, ""), (6, "10.0.0.255")):
        groups = [f"{index + 1:x}" for index in range(count)]
        forms = [":".join(groups)]
        for start in range(count):
            for end in range(start + 1, count + 1):
                forms.append(":".join(groups[:start]) + "::" + ":".join(groups[end:]))
        join = "" if not ipv4 else ":"
        shapes += [form + (ipv4 if form.endswith("::") else join + ipv4) for form in forms]
    return shapes


def test_every_ipv6_shape_and_ipvfuture_is_valid() -> None:
    iris = pd.Series([f"http://[{host}]/" for host in [*ipv6_shapes(), "v1.x:y", "V1f.a"]])

    assert len(iris) == 2 + (1 + 36) + (1 + 21)
    assert all(map(pyoxigraph_accepts_iri, iris))
    assert iris[~check_iris(iris)].tolist() == []


def test_check_iris_is_a_mask_over_any_values() -> None:
    values = pd.Series(
        ["https://ex.org/a", None, 3, "ex.org", "https://ex.org/é"], index=list("abcde")
    )

    mask = check_iris(values)

    assert mask.dtype == bool
    assert mask.index.tolist() == list("abcde")
    assert mask.tolist() == [True, False, False, False, True]


@pytest.mark.parametrize(
    ("iri", "says"),
    [
        ("not an iri", "is not an absolute IRI (needs a scheme such as https:)"),
        (f"{EX}a b", "contains ' ' (U+0020), which IRIs cannot hold; percent-encode it as %20"),
        (f"{EX}a%zz", 'has a "%" not followed by two hex digits (write a literal % as %25)'),
        (f"{EX}a#b#c", 'has an invalid fragment "#b#c"'),
        ("http://[::1::2]/", 'has an invalid authority "//[::1::2]"'),
        ("http://host:80x/", 'has an invalid authority "//host:80x"'),
        (f"{EX}\ue000", 'has an invalid path "/\ue000"'),
        (f"{EX}\ud800", "contains a lone surrogate (U+D800), which UTF-8 cannot encode"),
    ],
)
def test_iri_reasons_say_what_to_fix(iri: str, says: str) -> None:
    batch = to_nquads(iri_frame("subject", [iri]))

    assert batch.rejects.reason[0].startswith('subject "')
    assert batch.rejects.reason[0].endswith(says)


# --- blank nodes, language tags: same grammar as pyoxigraph -------------------------------


@settings(max_examples=300, deadline=None)
@given(label=st.text(st.sampled_from([*"a_-.:0", "\u00b7", "\u0300", "\u203f", "é", "\u037e"])))
def test_blank_node_labels_agree_with_pyoxigraph(label: str) -> None:
    try:
        list(ox.parse(f'_:{label} <{EX}p> "x" .\n'.encode(), format=RdfFormat.N_QUADS))
        accepted = True
    except SyntaxError:
        accepted = False
    frame = literal_frame(["x"], subject=f"_:{label}")
    frame["object"], frame["object_kind"] = f"_:{label}", "bnode"

    batch = to_nquads(frame)

    assert batch.accepted == accepted
    assert set(batch.rejects.field) == (set() if accepted else {"subject", "object"})


@settings(max_examples=500, deadline=None)
@given(
    tag=st.lists(st.sampled_from([*"aAxXi1-", "en", "abc", "abcd", "12345", "US", "oed"])).map(
        "".join
    )
)
def test_language_tags_agree_with_pyoxigraph(tag: str) -> None:
    try:
        list(ox.parse(f'<{EX}s> <{EX}p> "x"@{tag} .\n'.encode(), format=RdfFormat.N_QUADS))
        accepted = True
    except SyntaxError:
        accepted = False

    batch = to_nquads(literal_frame(["x"], language=tag))

    assert batch.accepted == accepted
    assert batch.rejects.field.tolist() == ([] if accepted else ["language"])


# --- whole frames -------------------------------------------------------------------------


MIXED_ROWS = [  # subject, predicate, object, object_kind, datatype, language, graph
    (f"{EX}p/1", f"{EX}name", 'Rosé "n°5"', "literal", None, "fr", f"{EX}graph/plm"),
    (f"{EX}p/1", f"{EX}price", "12.50", "literal", f"{XSD}decimal", None, f"{EX}graph/plm"),
    ("_:formula", f"{EX}of", f"{EX}p/1", "iri", None, None, None),
    (f"{EX}p/2", f"{EX}name", "Crème\nde nuit", "literal", None, "fr-FR", None),
    (f"{EX}p/2", f"{EX}launched", "2026-03-01", "literal", f"{XSD}date", None, f"{EX}graph/erp"),
    ("_:formula", f"{EX}note", "_:b", "bnode", None, None, None),
]


def mixed_frame() -> pd.DataFrame:
    return pd.DataFrame(MIXED_ROWS, columns=list(FIELDS_IN_ORDER), dtype=object)


def test_mixed_frame_round_trips_through_bulk_load() -> None:
    batch = to_nquads(mixed_frame())
    store = ox.Store()
    store.bulk_load(batch.to_bytes(), format=RdfFormat.N_QUADS)

    # bulk_load renames blank nodes; map them back by where they occur.
    found = list(store.quads_for_pattern(None, None, None, None))
    labels = {q.subject.value: "formula" for q in found if isinstance(q.subject, ox.BlankNode)}
    labels |= {q.object.value: "b" for q in found if isinstance(q.object, ox.BlankNode)}

    def plain(term: object) -> object:
        return ox.BlankNode(labels[term.value]) if isinstance(term, ox.BlankNode) else term

    iri, default = ox.NamedNode, ox.DefaultGraph()
    plm, erp = iri(f"{EX}graph/plm"), iri(f"{EX}graph/erp")
    p1, p2, formula = iri(f"{EX}p/1"), iri(f"{EX}p/2"), ox.BlankNode("formula")
    expected = {
        ox.Quad(p1, iri(f"{EX}name"), ox.Literal('Rosé "n°5"', language="fr"), plm),
        # The store keeps XSD values in canonical form: "12.50" comes back as "12.5".
        ox.Quad(p1, iri(f"{EX}price"), ox.Literal("12.5", datatype=iri(f"{XSD}decimal")), plm),
        ox.Quad(formula, iri(f"{EX}of"), p1, default),
        ox.Quad(p2, iri(f"{EX}name"), ox.Literal("Crème\nde nuit", language="fr-fr"), default),
        ox.Quad(
            p2, iri(f"{EX}launched"), ox.Literal("2026-03-01", datatype=iri(f"{XSD}date")), erp
        ),
        ox.Quad(formula, iri(f"{EX}note"), ox.BlankNode("b"), default),
    }
    assert batch.accepted == len(MIXED_ROWS)
    assert len(set(labels)) == 2  # one node per label, two labels
    assert {
        ox.Quad(plain(q.subject), q.predicate, plain(q.object), q.graph_name) for q in found
    } == expected


@pytest.mark.parametrize("dtype", [object, "str", "category"])
def test_column_dtypes_give_the_same_document(dtype: object) -> None:
    frame = mixed_frame()
    typed = frame.astype({name: dtype for name in frame.columns})

    assert to_nquads(typed).text == to_nquads(frame).text


ROW_VALUES = {
    "subject": st.sampled_from([f"{EX}s/1", f"{EX}s/é", "_:b1", "_:bad label", "s/1", None]),
    "predicate": st.sampled_from([f"{EX}p", f"{EX}p q", "p", None, f"{EX}p/\U0001f600"]),
    "object": st.one_of(TEXT, st.sampled_from([None, 7, f"{EX}o", "_:b2", "x\ud800y"])),
    "object_kind": st.sampled_from(["literal", "iri", "bnode", "uri", None]),
    "datatype": st.sampled_from([None, f"{XSD}integer", "xsd:int eger", RDF_LANG_STRING]),
    "language": st.sampled_from([None, "en", "en_US", "toolongtag", "pt-BR"]),
    "graph": st.sampled_from([None, f"{EX}g", "g", f"{EX}g\\x"]),
}


@SETTINGS
@given(
    rows=st.lists(st.fixed_dictionaries(ROW_VALUES), max_size=25),
    labels=st.sampled_from(["range", "strings", "shuffled"]),
)
def test_counts_reconcile_and_accepted_rows_are_written_in_order(
    rows: list[dict[str, object]], labels: str
) -> None:
    frame = pd.DataFrame(rows, columns=list(ROW_VALUES), dtype=object)
    if labels == "strings":
        frame.index = [f"line {i}" for i in range(len(frame))]
    elif labels == "shuffled":
        frame.index = np.random.default_rng(0).permutation(len(frame)) * 10

    batch = to_nquads(frame)

    check_reconciles(frame, batch)
    written = frame.drop(index=batch.rejects.row.unique())
    quads = parse(batch)
    assert [str(q.subject) for q in quads] == [
        s if s.startswith("_:") else f"<{s}>" for s in written.subject
    ]
    assert [q.predicate.value for q in quads] == written.predicate.tolist()


def test_one_row_with_several_problems_counts_once() -> None:
    frame = pd.DataFrame(
        {"subject": ["nope"], "predicate": ["p"], "object": [None], "object_kind": ["literal"]},
        index=["row-a"],
    )

    batch = to_nquads(frame)

    assert batch.accepted == 0
    assert batch.rejects.to_dict("list") == {
        "row": ["row-a", "row-a", "row-a"],
        "field": ["subject", "predicate", "object"],
        "reason": [
            'subject "nope" is not an absolute IRI (needs a scheme such as https:)',
            'predicate "p" is not an absolute IRI (needs a scheme such as https:)',
            'object is missing (a literal needs a lexical value; use "" for empty text)',
        ],
    }


@pytest.mark.parametrize(
    ("columns", "field", "says"),
    [
        ({"object_kind": "uri"}, "object_kind", 'object_kind \'uri\' is not "iri", "literal"'),
        ({"object_kind": None}, "object_kind", "object_kind is missing"),
        ({"language": "en_US"}, "language", 'language "en_US" is not a well-formed BCP 47 tag'),
        ({"datatype": RDF_LANG_STRING}, "datatype", f"datatype {RDF_LANG_STRING} needs a lang"),
        ({"datatype": "integer"}, "datatype", 'datatype "integer" is not an absolute IRI'),
        ({"graph": ""}, "graph", 'graph "" is not an absolute IRI'),
        ({"object": [7]}, "object", "object 7 is not text (got int)"),
    ],
)
def test_reject_reasons_name_field_and_fix(columns: dict, field: str, says: str) -> None:
    batch = to_nquads(literal_frame(["x"], **columns))

    assert batch.rejects.field.tolist() == [field]
    assert batch.rejects.reason[0].startswith(says)


def test_datatype_is_not_read_for_iri_objects_or_tagged_literals() -> None:
    frame = literal_frame(["x", f"{EX}o"], datatype="not an iri", language=["en", None])
    frame["object_kind"] = ["literal", "iri"]

    batch = to_nquads(frame)

    assert batch.rejects.empty
    assert batch.text.splitlines()[0].endswith('"x"@en .')


def test_empty_frame_gives_an_empty_batch() -> None:
    batch = to_nquads(literal_frame([]))

    assert (batch.text, batch.accepted, batch.to_bytes()) == ("", 0, b"")
    assert list(batch.rejects.columns) == ["row", "field", "reason"]


def test_all_na_graph_column_of_any_dtype_means_default_graph() -> None:
    batch = to_nquads(literal_frame(["x"], graph=np.nan))

    assert [quad.graph_name for quad in parse(batch)] == [ox.DefaultGraph()]


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (lambda f: f.drop(columns="object_kind"), "missing object_kind"),
        (lambda f: f.set_axis([0, 0]), "duplicate labels"),
        (lambda f: f.assign(object=[1, 2]), "column 'object' has dtype int64"),
    ],
)
def test_unusable_frames_raise_rdf_error(change: object, says: str) -> None:
    with pytest.raises(RdfError, match=says):
        to_nquads(change(literal_frame(["a", "b"])))


def test_distinct_values_are_checked_once_not_per_row(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str, int]] = []
    check = nquads._iri_problems

    def spy(field: str, values: pd.Series) -> pd.Series:
        seen.append((field, len(values)))
        return check(field, values)

    monkeypatch.setattr(nquads, "_iri_problems", spy)
    n = 3000
    frame = literal_frame([f"v{i % 7}" for i in range(n)], graph=f"{EX}g")
    frame["subject"] = [f"{EX}s/{i}" for i in range(n)]
    frame["predicate"] = pd.Categorical([f"{EX}p/{i % 3}" for i in range(n)])

    batch = to_nquads(frame)

    assert batch.accepted == n
    assert sorted(seen) == [("datatype", 0), ("graph", 1), ("predicate", 3), ("subject", n)]


# --- blocks -------------------------------------------------------------------------------

BLOCK_SUBJECTS = [f"{EX}s/1", "urn:x:s/é", f"{EX}s/2", "_:b1", "s/1", f"{EX}s 3"]
BLOCK_OBJECTS = {
    "iri": [f"{EX}o", "urn:x:o/1", "urn:x:o/%41", "o", f"{EX}o>"],
    "literal": ["x", 'say "hi"\n', "C:\\tmp", "", "é\x00", "x\ud800y"],
    "bnode": ["_:b2", "_:bad label"],
}


@st.composite
def quad_blocks(draw: st.DrawFn) -> list[QuadBlock]:
    """Blocks over a few shared arrays of distinct terms, valid or not."""
    subjects = [
        np.array(draw(st.lists(st.sampled_from(BLOCK_SUBJECTS), min_size=1, unique=True)),
                 dtype=object)
        for _ in range(2)
    ]  # fmt: skip
    blocks = []
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["iri", "literal", "literal", "bnode"]))
        terms = st.sampled_from(BLOCK_OBJECTS[kind])
        objects = np.array(draw(st.lists(terms, min_size=1, unique=True)), dtype=object)
        among = draw(st.sampled_from(subjects))
        rows = draw(st.integers(0, 6))
        codes = st.lists(st.integers(-1, len(among) - 1), min_size=rows, max_size=rows)
        blocks.append(QuadBlock(
            among, np.array(draw(codes), dtype=np.intp),
            draw(st.sampled_from([f"{EX}p", "urn:x:p", f"{EX}p q"])),
            objects, np.array(draw(st.lists(st.integers(-1, len(objects) - 1), min_size=rows,
                                            max_size=rows)), dtype=np.intp),
            kind,
            draw(st.sampled_from([None, f"{XSD}integer", f"{XSD}string", "int eger"])),
            draw(st.sampled_from([None, None, "en", "en_US"])),
        ))  # fmt: skip
    return blocks


@SETTINGS
@given(blocks=quad_blocks(), graph=st.sampled_from([None, f"{EX}g", "g"]))
def test_blocks_give_what_to_nquads_gives_for_their_rows(
    blocks: list[QuadBlock], graph: str | None
) -> None:
    frames = [block.frame() for block in blocks]
    frame = pd.concat(frames, ignore_index=True) if frames else literal_frame([])

    batch = blocks_to_nquads(blocks, graph)

    expected = to_nquads(frame.assign(graph=graph))
    assert (batch.text, batch.accepted) == (expected.text, expected.accepted)
    pd.testing.assert_frame_equal(batch.rejects, expected.rejects)


def test_terms_shared_by_blocks_are_checked_once(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[int] = []
    check = nquads._plain_iris

    def spy(values: np.ndarray) -> bool:
        seen.append(len(values))
        return check(values)

    monkeypatch.setattr(nquads, "_plain_iris", spy)
    people = np.array([f"urn:x:p/{i}" for i in range(100)], dtype=object)
    names = np.array(["Rose", "Iris"], dtype=object)
    rows = np.arange(100)
    blocks = [
        QuadBlock(people, rows, f"{EX}type", np.array([f"{EX}Person"], dtype=object), rows * 0),
        QuadBlock(people, rows, f"{EX}name", names, rows % 2, "literal"),
        QuadBlock(people, rows, f"{EX}knows", people, rows[::-1]),
    ]

    batch = blocks_to_nquads(blocks)

    assert batch.accepted == 300
    assert sorted(seen) == [1, 100]


def test_docstring_examples_run() -> None:
    assert doctest.testmod(nquads).failed == 0
