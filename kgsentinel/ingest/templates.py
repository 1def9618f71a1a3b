"""Templates that build IRIs and text from a row's columns: ``"product/{sku}"``.

A template is text with ``{column}`` placeholders (``{{`` and ``}}`` for literal
braces). Rendering is vectorised over a chunk and works per distinct value. In
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

from kgsentinel.errors import MappingError

__all__ = ["Rendered", "Template", "lexical"]

_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


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
        index = frame.index
        values = pd.Series("", index=index, dtype=object)
        missing = pd.Series(False, index=index)
        missing_column = pd.Series(None, index=index, dtype=object)
        for part in self.parts:
            if isinstance(part, str):
                values = values + part
                continue
            column = frame[part[0]]
            absent = column.isna() | (column.astype(str).str.strip() == "")
            missing_column = missing_column.where(missing_column.notna() | ~absent, part[0])
            missing = missing | absent
            text = lexical(column.where(~absent, ""))
            values = values + (_encode(text) if iri else text)
        return Rendered(values.where(~missing, None), missing, missing_column)


def lexical(values: pd.Series) -> pd.Series:
    """Column values as text: integers without ``.0``, datetimes in ISO 8601."""
    if pd.api.types.is_datetime64_any_dtype(values):
        text = [value.isoformat() if pd.notna(value) else "" for value in values]
        return pd.Series(text, index=values.index, dtype=object)
    if pd.api.types.is_string_dtype(values) and values.dtype != object:
        return values.fillna("").astype(object)  # text already: no per-value Python
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


def _encode(text: pd.Series) -> pd.Series:
    codes, uniques = pd.factorize(text, use_na_sentinel=False)
    encoded = [urllib.parse.quote(str(value), safe="-._~") for value in uniques]
    return pd.Series([encoded[code] for code in codes], index=text.index, dtype=object)
