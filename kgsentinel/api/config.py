"""The ``[api]`` settings of ``kgsentinel.toml``: listening address, tokens and limits.

Tokens are kept as hashes (``hash = "sha256:..."``, printed by ``kgsentinel
create-token``) or read from an environment variable (``token_env``); the
token itself never goes into the file.

Example:
    >>> settings = ApiConfig.model_validate(
    ...     {"tokens": {"ci": {"role": "ingester", "token_env": "KGS_CI_TOKEN"}}})
    >>> settings.tokens["ci"].role, settings.anonymous_read
    ('ingester', True)
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = ["ROLES", "ApiConfig", "Role", "TokenConfig"]

#: Roles, each allowed what the ones before it are.
ROLES = ("reader", "ingester", "operator", "admin")
Role = Literal["reader", "ingester", "operator", "admin"]
_HASH = re.compile(r"sha256:[0-9a-f]{64}")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class TokenConfig(_Section):
    """A token of the HTTP API ([api.tokens.NAME]) and the role it grants."""

    role: Role = Field(
        "reader",
        description="reader (query), ingester (also post events), operator (also write "
        "with SPARQL Update, ack alerts, run detectors) or admin (everything).",
        examples=["ingester"],
    )
    hash: str | None = Field(
        None,
        description="The token's hash, as `kgsentinel create-token NAME` prints it.",
        examples=["sha256:" + "0" * 64],
    )
    token_env: str | None = Field(
        None,
        description="Or: the environment variable holding the token itself.",
        examples=["KGSENTINEL_CI_TOKEN"],
    )

    @field_validator("hash")
    @classmethod
    def _sha256(cls, value: str | None) -> str | None:
        if value is not None and not _HASH.fullmatch(value):
            raise ValueError(
                "must be sha256: and 64 hex digits, as `kgsentinel create-token` prints it"
            )
        return value

    @model_validator(mode="after")
    def _known(self) -> TokenConfig:
        if self.hash is None and self.token_env is None:
            raise ValueError("a token needs hash (from `kgsentinel create-token`) or token_env")
        return self


class ApiConfig(_Section):
    """The HTTP API (`kgsentinel serve`): address, access and limits."""

    host: str = Field("127.0.0.1", description="Address to listen on.", min_length=1)
    port: int = Field(8000, ge=1, le=65535, description="Port to listen on.")
    anonymous_read: bool = Field(
        True,
        description="Let requests without a token read (query, list). Writes always need "
        "a token. Set false before listening beyond this machine.",
    )
    query_timeout: float = Field(
        30.0, gt=0, description="Seconds a SPARQL query may run before it is stopped."
    )
    max_result_bytes: int = Field(
        100_000_000, gt=0, description="Largest serialised query result, in bytes."
    )
    max_body_bytes: int = Field(
        10_000_000, gt=0, description="Largest request body (queries, updates, events), in bytes."
    )
    query_workers: int = Field(
        2, ge=1, le=64, description="Processes running SPARQL queries on an on-disk store."
    )
    cors_origins: list[str] = Field(
        [],
        description="Web origins allowed to call the API from a browser (CORS); none by default.",
        examples=[["https://dashboard.example.com"]],
    )
    tokens: dict[str, TokenConfig] = Field(
        default_factory=dict, description="API tokens by name ([api.tokens.NAME])."
    )

    @field_validator("tokens")
    @classmethod
    def _token_names(cls, tokens: dict[str, TokenConfig]) -> dict[str, TokenConfig]:
        for name in tokens:
            if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
                raise ValueError(f"token name {name!r}: use letters, digits, '.', '_' and '-'")
        return tokens
