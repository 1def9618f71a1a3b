"""An HTTP client for the API app in this process (httpx's ASGI transport, lifespan run).

Import it as ``from api_client import api_client`` (pytest puts ``tests/`` on
``sys.path``); use it in ``@pytest.mark.anyio`` tests::

    async with api_client(app) as client:
        response = await client.get("/healthz")
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx

__all__ = ["api_client"]


@contextlib.asynccontextmanager
async def api_client(app: Any, **options: Any) -> AsyncIterator[httpx.AsyncClient]:
    """Start ``app`` (its lifespan), yield a client talking to it, then shut it down.

    Errors the app does not handle come back as its 500 answer, as a real server's would.
    """
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=transport, base_url="http://kgsentinel.test", **options
        ) as client,
    ):
        yield client
