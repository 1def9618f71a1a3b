"""Templates that build IRIs and text from a row's columns: ``"product/{sku}"``.

A template is text with ``{column}`` placeholders (``{{`` and ``}}`` for literal
braces). Rendering is vectorised over a chunk: text columns need no Python call
per value, other columns and percent-encoding one per distinct value. In
IRIs every value is percent-encoded so that a key such as ``A/7 #2`` stays one
path segment (``A%2F7%20%232``); the same row always yields the same IRI, so
sources join by key.

Example:
    >>> import pandas as pd
    >>> template = Template.parse("product/{sku}")
    >>> template.columns
    ('sku',)
    >>> rendered = template.render(pd.DataFrame({"sku": ["A-1", "A/7 #2", None]}), iri=True)
    >>> rendered.values.tolist()
    ['product/A-1', 'product/A%2F7%20%232', None]
    >>> rendered.missing.tolist()
    [False, False, True]
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from kgsentinel.errors import MappingError

__all__ = ["Rendered", "Template", "lexical"]

_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
#: text that ``urllib.parse.quote`` leaves as it is
_UNRESERVED = re.compile(r"[A-Za-z0-9._~-]*")


@dataclass(frozen=True)
class Rendered:
    """Rendered values (``None`` where a column was missing) and which rows lacked one."""

    values: pd.Series
    missing: pd.Series
    #: for each row, the first template column that was missing (``None`` if none)
    missing_column: pd.Series


@dataclass(frozen=True)
class Template:
    """Literal text and ``{column}`` placeholders, parsed once."""

    text: str
    parts: tuple[str | tuple[str], ...]

    @classmethod
    def parse(cls, text: str) -> Template:
        """Parse ``text``; unbalanced braces or empty placeholders are explained."""
        parts: list[str | tuple[str]] = []
        position = 0
        for match in _PLACEHOLDER.finditer(text):
            if match.start() > position:
                parts.append(text[position : match.start()])
            token = match.group(0)
            if token in ("{{", "}}"):
                parts.append(token[0])
            elif token in ("{", "}"):
                raise MappingError(
                    f"template {text!r} has an unmatched {token!r} at position "
                    f"{match.start() + 1}: write {token * 2} for a literal brace"
                )
            else:
                name = match.group(1).strip()
                if not name:
                    raise MappingError(f"template {text!r} has an empty {{}}: name a column")
                parts.append((name,))
            position = match.end()
        if position < len(text):
            parts.append(text[position:])
        return cls(text, tuple(parts))

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns the template reads, in order of appearance."""
        return tuple(dict.fromkeys(part[0] for part in self.parts if isinstance(part, tuple)))

    def render(self, frame: pd.DataFrame, *, iri: bool) -> Rendered:
        """Render every row; with ``iri`` the column values are percent-encoded."""
        size = len(frame)
        pieces: list[str | np.ndarray] = []
        missing = np.zeros(size, dtype=bool)
        missing_column = np.full(size, None, dtype=object)
        for part in self.parts:
            if isinstance(part, str):
                pieces.append(part)
                continue
            text, absent = _column_text(frame[part[0]])
            missing_column[absent & ~missing] = part[0]
            missing |= absent
            pieces.append(_encode(text) if iri else text)
        values = _concatenate(pieces, size)
        values[missing] = None
        index = frame.index
        return Rendered(
            pd.Series(values, index=index, dtype=object),
            pd.Series(missing, index=index),
            pd.Series(missing_column, index=index, dtype=object),
        )


def lexical(values: pd.Series) -> pd.Series:
    """Column values as text: integers without ``.0``, datetimes in ISO 8601."""
    if pd.api.types.is_datetime64_any_dtype(values):
        text = [value.isoformat() if pd.notna(value) else "" for value in values]
        return pd.Series(text, index=values.index, dtype=object)
    if pd.api.types.is_string_dtype(values) and values.dtype != object:
        return values.fillna("").astype(object)  # text already: no per-value Python
    if values.dtype == object and set(map(type, values.tolist())) <= {str}:
        return values.astype(object)  # str objects already
    if pd.api.types.infer_dtype(values, skipna=True) in ("boolean", "mixed", "mixed-integer"):
        # factorize would merge True with 1: write each value
        return pd.Series([_text(value) for value in values], index=values.index, dtype=object)
    codes, uniques = pd.factorize(values)  # otherwise: one Python call per distinct value
    texts = np.array([*(_text(value) for value in uniques), ""], dtype=object)
    return pd.Series(texts[codes], index=values.index, dtype=object)


def _text(value: object) -> str:
    if value is None or value is pd.NA:
        return ""
    if isinstance(value, float):
        return _float_text(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _float_text(value: float) -> str:
    if pd.isna(value):
        return ""
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else repr(value)


def _column_text(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Each value as text (``""`` where absent) and which values are absent: NA or blank."""
    if not _is_arrow_text(column):
        absent = (column.isna() | (column.astype(str).str.strip() == "")).to_numpy(dtype=bool)
        return lexical(column.where(~absent, "")).to_numpy(dtype=object), absent
    array = pa.array(column.array)  # text already: no Python call per value
    blank = pc.equal(pc.utf8_trim_whitespace(array), "")  # trims what str.strip trims
    absent = pc.fill_null(blank, True).to_numpy(zero_copy_only=False)
    text = column.to_numpy(dtype=object, na_value="")
    return (np.where(absent, "", text) if absent.any() else text), absent


def _is_arrow_text(values: pd.Series) -> bool:
    dtype = values.dtype
    return isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"


def _concatenate(pieces: list[str | np.ndarray], size: int) -> np.ndarray:
    """Join literal text and per-row text arrays, row by row, into a new object array."""
    values: str | np.ndarray = ""
    for piece in pieces:
        values = values + piece  # str + str stays one str: one pass per column
    return np.full(size, values, dtype=object) if isinstance(values, str) else values


def _encode(text: np.ndarray) -> np.ndarray:
    """Percent-encode each value, once per distinct value; unreserved text stays as it is."""
    if _UNRESERVED.fullmatch("".join(text.tolist())):
        return text  # quote() would change nothing
    codes, uniques = pd.factorize(text)
    encoded = [urllib.parse.quote(str(value), safe="-._~") for value in uniques]
    return np.array(encoded, dtype=object)[codes]
