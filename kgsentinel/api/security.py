"""Who may do what: API tokens, their roles, and the ``require(role)`` dependency.

Roles are ordered ``reader < ingester < operator < admin``; each may do what the
ones before it may. A request names its token as ``Authorization: Bearer
TOKEN`` (or as the password of HTTP basic auth, for SPARQL clients that only
know that). Tokens are compared by their SHA-256 hash (they are long random
strings, so a plain hash is enough), and only hashes are kept in memory.

Example:
    >>> from kgsentinel.api.config import ApiConfig
    >>> token, line = new_token()
    >>> settings = ApiConfig.model_validate(
    ...     {"tokens": {"ci": {"role": "ingester", "hash": hash_token(token)}}})
    >>> tokens = TokenRegistry(settings, env={})
    >>> tokens.identify(token)
    Principal(name='ci', role='ingester')
    >>> tokens.identify(token).may("operator"), tokens.identify("guess")
    (False, None)
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyHeader

from kgsentinel.api.config import ROLES, ApiConfig, Role
from kgsentinel.errors import ConfigError

__all__ = [
    "ANONYMOUS",
    "Principal",
    "TokenRegistry",
    "hash_token",
    "new_token",
    "require",
]

_TOKEN_PREFIX = "kgs_"


@dataclass(frozen=True)
class Principal:
    """Who made a request: a token's name (or ``anonymous``) and its role."""

    name: str
    role: Role

    def may(self, role: Role) -> bool:
        """Whether this role includes ``role``."""
        return ROLES.index(self.role) >= ROLES.index(role)


ANONYMOUS = Principal("anonymous", "reader")


def hash_token(token: str) -> str:
    """The ``sha256:...`` line kept in config for ``token``.

    Example:
        >>> hash_token("kgs_example")[:15]
        'sha256:8fa6fc11'
    """
    return "sha256:" + hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> tuple[str, str]:
    """A new random token and its hash: show the token once, keep only the hash."""
    token = _TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, hash_token(token)


class TokenRegistry:
    """The configured tokens, by hash; ``env`` supplies the ``token_env`` variables."""

    def __init__(self, settings: ApiConfig, env: Mapping[str, str]) -> None:
        self.anonymous_read = settings.anonymous_read
        self._by_hash: dict[str, Principal] = {}
        for name, token in settings.tokens.items():
            hashes = [token.hash] if token.hash else []
            if token.token_env:
                value = env.get(token.token_env)
                if not value and not hashes:
                    raise ConfigError(
                        f"[api.tokens.{name}] token_env: the environment variable "
                        f"{token.token_env} is not set; set it to the token, or give hash"
                    )
                if value:
                    hashes.append(hash_token(value))
            for digest in hashes:
                self._by_hash[digest] = Principal(name, token.role)

    def identify(self, token: str | None) -> Principal | None:
        """The principal a token stands for, or ``None`` for no or an unknown token."""
        if not token:
            return None
        digest = hash_token(token)
        for known, principal in self._by_hash.items():
            if hmac.compare_digest(known, digest):
                return principal
        return None


_bearer = APIKeyHeader(
    name="Authorization",
    auto_error=False,
    scheme_name="token",
    description="`Bearer TOKEN` (or HTTP basic auth with the token as password).",
)


def request_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization`` header: bearer, or the password of basic auth."""
    if not authorization:
        return None
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() == "bearer":
        return credentials.strip() or None
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[2] or None
    return None


def require(role: Role) -> Callable[..., Awaitable[Principal]]:
    """A FastAPI dependency: the request's principal, who must have ``role``.

    Without a token, a request reads as ``anonymous`` when ``[api]
    anonymous_read`` is true; anything else answers 401 (no or an unknown
    token) or 403 (a token whose role is too low).

    Example:
        >>> dependency = require("operator")  # use: Depends(require("operator"))
        >>> callable(dependency)
        True
    """
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")

    async def principal(
        request: Request, authorization: Annotated[str | None, Depends(_bearer)]
    ) -> Principal:
        tokens: TokenRegistry = request.app.state.tokens
        token = request_token(authorization)
        found = tokens.identify(token)
        if found is None and token is not None:
            raise _unauthorized("the token is not valid; ask an admin for one")
        if found is None:
            if not (tokens.anonymous_read and role == "reader"):
                raise _unauthorized(f"this needs a token with role {role} or above")
            found = ANONYMOUS
        if not found.may(role):
            raise HTTPException(
                403, f"token {found.name!r} has role {found.role}; this needs {role} or above"
            )
        request.state.principal = found
        return found

    return principal


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(401, message, headers={"WWW-Authenticate": 'Bearer realm="kgsentinel"'})
