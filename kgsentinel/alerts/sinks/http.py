"""Posting JSON to a receiver, and what its answer means for the outbox.

* 2xx: delivered.
* 408, 429, 5xx, timeouts, refused connections: transient (retried), no sooner
  than the ``Retry-After`` the receiver sent (seconds or an HTTP date).
* 401 and 403: permanent, bad credentials; any other 3xx or 4xx: permanent, the
  receiver refused the payload (the start of its answer is kept as the reason).

Messages name the sink and never the URL, which may hold a token.

Example:
    >>> parse_retry_after("120"), parse_retry_after("soon")
    (120.0, None)
    >>> parse_retry_after("Thu, 01 Jan 2026 00:02:00 GMT", now=1767225600.0)
    120.0
"""

from __future__ import annotations

import atexit
import functools
import ssl
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

from kgsentinel.errors import DeliveryError

__all__ = [
    "TRANSIENT_STATUS",
    "parse_retry_after",
    "post_json",
    "redact",
    "refusal",
    "secret_parts",
]

TRANSIENT_STATUS = frozenset({408, 425, 429})
_REASON_CHARS = 200
_SECRET_MIN = 6  # shorter parts of a URL ("api", "v2") are no secret and would garble reasons


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks to wait (``None`` when absent or unreadable)."""
    if not value:
        return None
    text = value.strip()
    try:
        return max(float(text), 0.0)
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return max(moment.timestamp() - (time.time() if now is None else now), 0.0)


def post_json(
    sink: str,
    url: str,
    payload: Any,
    *,
    headers: Mapping[str, str] | None = None,
    timeout: float = 10.0,
    ca_file: str | None = None,
    what: str = "the receiver",
) -> Any:
    """POST ``payload`` as JSON; return the response, or raise :class:`DeliveryError`."""
    import httpx

    try:
        response = _client(timeout, ca_file).post(url, json=payload, headers=dict(headers or {}))
    except httpx.TimeoutException:
        raise DeliveryError(f"sink {sink}: {what} did not answer within {timeout:g} s") from None
    except httpx.HTTPError as exc:
        raise DeliveryError(f"sink {sink}: cannot reach {what} ({_transport(exc)})") from None
    if response.is_success:
        return response
    body = redact(response.text, secret_parts(url, headers or {}))
    raise refusal(sink, response.status_code, response.headers.get("retry-after"), body,
                  what=what)  # fmt: skip


def secret_parts(url: str, headers: Mapping[str, str]) -> list[str]:
    """What of a request may be secret: the URL, its path, query and longer path segments,
    and the Authorization header (with and without its scheme).

    Example:
        >>> secret_parts("https://h.example/T0/xoxb123456", {})
        ['https://h.example/T0/xoxb123456', '/T0/xoxb123456', 'xoxb123456']
    """
    parts = urlsplit(url)
    found = [url, parts.path, parts.query, *parts.path.split("/")]
    authorization = {k.lower(): v for k, v in headers.items()}.get("authorization", "")
    found += [authorization, authorization.partition(" ")[2]]
    seen: list[str] = []
    for part in found:
        if len(part) >= _SECRET_MIN and part not in seen:
            seen.append(part)
    return seen


def redact(text: str, secrets: list[str]) -> str:
    """``text`` with every secret replaced by ``***`` (longest first).

    Example:
        >>> redact("Cannot POST /services/T0/B0/xoxb123456", ["/services/T0/B0/xoxb123456"])
        'Cannot POST ***'
    """
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def refusal(
    sink: str, status: int, retry_after: str | None, body: str, *, what: str = "the receiver"
) -> DeliveryError:
    """The error for a receiver's non-2xx answer: transient or permanent, with the reason.

    Example:
        >>> error = refusal("slack", 429, "30", "rate limited")
        >>> str(error), error.permanent, error.retry_after
        ('sink slack: the receiver answered HTTP 429: rate limited', False, 30.0)
        >>> refusal("slack", 403, None, "invalid_token").permanent
        True
    """
    reason = " ".join(body.split())[:_REASON_CHARS]
    message = f"sink {sink}: {what} answered HTTP {status}" + (f": {reason}" if reason else "")
    if status in TRANSIENT_STATUS or status >= 500:
        return DeliveryError(message, retry_after=parse_retry_after(retry_after))
    if status in (401, 403):
        message += " (bad credentials: check the token or URL in the sink's *_env variable)"
    return DeliveryError(message, permanent=True)


@functools.lru_cache(maxsize=16)
def _client(timeout: float, ca_file: str | None) -> Any:
    """One HTTP client (connection pool, TLS settings) per timeout and CA file, kept for
    the process: loading TLS settings for each notification would cost more than sending it."""
    import httpx

    verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=ca_file) if ca_file else True
    client = httpx.Client(timeout=timeout, verify=verify, follow_redirects=False)
    atexit.register(client.close)
    return client


def _transport(exc: Exception) -> str:
    """What went wrong on the wire, without the URL httpx may put in its message."""
    cause: BaseException = exc
    while cause.__context__ is not None and not isinstance(cause, OSError):
        cause = cause.__context__
    if isinstance(cause, OSError) and cause.strerror:
        return cause.strerror
    return type(exc).__name__
