"""Settings of one sink (``[sinks.NAME]`` in kgsentinel.toml), validated per kind.

Secrets (webhook URLs that hold a token, passwords, bearer tokens) never go in
the file: a ``*_env`` setting names the environment variable that holds them.

Example:
    >>> SinkConfig.model_validate({"kind": "slack", "url_env": "SLACK_WEBHOOK_URL"}).kind
    'slack'
    >>> from pydantic import ValidationError
    >>> try:
    ...     SinkConfig.model_validate({"kind": "slack"})
    ... except ValidationError as exc:
    ...     print(exc.errors()[0]["ctx"]["error"])
    a slack sink needs url_env (the variable holding its incoming-webhook URL)
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = ["SINK_KINDS", "SinkConfig", "parse_duration"]

SINK_KINDS = ("console", "jsonl", "webhook", "slack", "email", "alertmanager")

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}


def parse_duration(value: str | float) -> float:
    """Seconds in a duration such as ``90``, ``30s``, ``5m``, ``4h`` or ``1d``.

    Example:
        >>> parse_duration("4h"), parse_duration(30)
        (14400.0, 30.0)
    """
    if isinstance(value, int | float):
        return float(value)
    match = _DURATION.fullmatch(value.strip())
    if not match:
        raise ValueError(f"{value!r} is not a duration; write e.g. 30s, 5m, 4h or 1d")
    return float(match.group(1)) * _UNITS[match.group(2)]


class SinkConfig(BaseModel):
    """A sink ([sinks.NAME]): where notifications go, and the secrets' variables."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    kind: Literal["console", "jsonl", "webhook", "slack", "email", "alertmanager"] = Field(
        ...,
        description="console, jsonl (a JSON Lines file), webhook (Alertmanager's webhook "
        "payload), slack (an incoming webhook), email (SMTP) or alertmanager (its v2 API).",
        examples=["slack"],
    )
    url: str | None = Field(
        None,
        description="webhook, alertmanager: the URL, when it holds no secret (for "
        "alertmanager its base URL).",
        examples=["http://alertmanager:9093"],
    )
    url_env: str | None = Field(
        None,
        description="webhook, slack: environment variable holding the URL (a Slack "
        "webhook URL is a secret).",
        examples=["SLACK_WEBHOOK_URL"],
    )
    token_env: str | None = Field(
        None,
        description="webhook, alertmanager: environment variable holding a bearer token.",
        examples=["ALERTMANAGER_TOKEN"],
    )
    path: str | None = Field(
        None,
        description="jsonl: the file notifications are appended to, relative to this file.",
        examples=["alerts.jsonl"],
    )
    stream: Literal["stdout", "stderr"] = Field(
        "stdout", description="console: where notifications are printed."
    )
    host: str | None = Field(
        None, description="email: the SMTP server.", examples=["smtp.example.com"]
    )
    port: int = Field(587, gt=0, lt=65536, description="email: the SMTP port.")
    security: Literal["starttls", "tls", "none"] = Field(
        "starttls",
        description="email: starttls (upgrade the connection, port 587), tls (TLS from the "
        "start, port 465) or none (local relays only).",
    )
    username: str | None = Field(
        None, description="email: the SMTP login.", examples=["kgsentinel@example.com"]
    )
    password_env: str | None = Field(
        None,
        description="email: environment variable holding the SMTP password.",
        examples=["SMTP_PASSWORD"],
    )
    sender: str | None = Field(
        None, description="email: the From address.", examples=["kgsentinel@example.com"]
    )
    to: list[str] = Field(
        default_factory=list,
        description="email: the recipients.",
        examples=[["npi-ops@example.com"]],
    )
    ca_file: str | None = Field(
        None,
        description="webhook, slack, email, alertmanager: a CA bundle (PEM) to trust "
        "instead of the system's, relative to this file.",
        examples=["certs/internal-ca.pem"],
    )
    ttl: str = Field(
        "24h",
        description="alertmanager: how long Alertmanager keeps a firing alert without "
        "hearing of it again (its endsAt); keep the route's repeat_interval below it.",
    )
    timeout: float = Field(10.0, gt=0, description="Seconds to wait for the receiver.")

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value

    @field_validator("ttl")
    @classmethod
    def _duration(cls, value: str) -> str:
        if parse_duration(value) <= 0:
            raise ValueError("must be longer than 0s")
        return value

    @model_validator(mode="after")
    def _kind_needs(self) -> SinkConfig:
        problem = _missing_setting(self)
        if problem:
            raise ValueError(problem)
        return self


def _missing_setting(sink: SinkConfig) -> str | None:
    kind = sink.kind
    if kind == "jsonl" and not sink.path:
        return 'a jsonl sink needs path (e.g. path = "alerts.jsonl")'
    if kind == "slack" and not sink.url_env:
        return "a slack sink needs url_env (the variable holding its incoming-webhook URL)"
    if kind == "webhook" and (sink.url is None) == (sink.url_env is None):
        return "a webhook sink needs exactly one of url or url_env (url_env if it holds a token)"
    if kind == "alertmanager" and not sink.url:
        return 'an alertmanager sink needs url (e.g. url = "http://alertmanager:9093")'
    if kind == "email":
        for key in ("host", "sender"):
            if not getattr(sink, key):
                return f"an email sink needs {key}"
        if not sink.to:
            return 'an email sink needs to (e.g. to = ["ops@example.com"])'
        if sink.password_env and not sink.username:
            return "an email sink with password_env needs username (the SMTP login)"
    return None
