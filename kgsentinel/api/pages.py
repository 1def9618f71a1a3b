"""Paging for the REST lists: ``limit`` and an opaque ``cursor``, and a ``next`` link.

A list answers ``{"items": [...], "next": "/anomalies?...&cursor=..."}``; ``next``
is ``null`` on the last page. A cursor is the key of the last item of a page,
so following ``next`` links visits every item once, in a stable order, even
while new items arrive.

Example:
    >>> cursor = encode_cursor(["2025-02-03T09:00:00Z", "ab12"])
    >>> decode_cursor(cursor, parts=2)
    ['2025-02-03T09:00:00Z', 'ab12']
"""

from __future__ import annotations

import base64
import binascii
import json
import urllib.parse
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import HTTPException, Query, Request

__all__ = ["Cursor", "Limit", "decode_cursor", "encode_cursor", "page"]

Limit = Annotated[int, Query(ge=1, le=1000, description="Most items in one page.")]
Cursor = Annotated[
    str | None,
    Query(max_length=1024, description="Where the page starts: from the `next` link."),
]


def encode_cursor(key: Sequence[str]) -> str:
    """An opaque cursor for the key of the last item of a page."""
    text = json.dumps(list(key), separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(text).decode("ascii").rstrip("=")


def decode_cursor(cursor: str | None, *, parts: int) -> list[str] | None:
    """The key a cursor stands for; a 422 naming the cursor when it is not one of ours."""
    if cursor is None:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        key = None
    if not (isinstance(key, list) and len(key) == parts and all(isinstance(k, str) for k in key)):
        raise HTTPException(
            422, "cursor: not a cursor this API gave; follow the `next` link, or start again "
            "without cursor"
        )  # fmt: skip
    return key


def page(request: Request, items: list[dict[str, Any]], after: Sequence[str] | None) -> dict:
    """The answer of a list: its items and the link to the next page (None on the last)."""
    following = None
    if after is not None:
        query = [(k, v) for k, v in request.query_params.multi_items() if k != "cursor"]
        query.append(("cursor", encode_cursor(after)))
        following = f"{request.url.path}?{urllib.parse.urlencode(query)}"
    return {"items": items, "next": following}
