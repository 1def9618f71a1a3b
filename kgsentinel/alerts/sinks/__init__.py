"""Sinks: where notifications go. ``build_sinks`` makes them from ``[sinks.NAME]`` settings.

Each sink has a ``name`` and ``send(notification)``, which delivers once or raises
:class:`kgsentinel.errors.DeliveryError` (``permanent`` when retrying cannot help).
Secrets are read here, from the environment variables the settings name; a
missing one is a :class:`kgsentinel.errors.ConfigError` naming the sink and the
variable, never the value.

Example:
    >>> sinks = build_sinks({"ops": SinkConfig(kind="console")}, {})
    >>> type(sinks["ops"]).__name__
    'ConsoleSink'
    >>> build_sinks({"team": SinkConfig(kind="slack", url_env="NPI_SLACK_URL")}, {})
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    kgsentinel.errors.ConfigError: [sinks.team] url_env: the environment variable NPI_SLACK_URL ...
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from kgsentinel.alerts.notification import Sink
from kgsentinel.alerts.sinks.config import SINK_KINDS, SinkConfig, parse_duration
from kgsentinel.errors import ConfigError

__all__ = ["SINK_KINDS", "SinkConfig", "build_sink", "build_sinks"]

_WHAT = {"url_env": "the sink's URL", "token_env": "the bearer token",
         "password_env": "the SMTP password"}  # fmt: skip


def build_sinks(
    configs: Mapping[str, SinkConfig],
    environ: Mapping[str, str] | None = None,
    *,
    root: Path | None = None,
) -> dict[str, Sink]:
    """Every configured sink, by name; relative paths are taken from ``root`` (the
    workspace folder; by default the current folder)."""
    env = os.environ if environ is None else environ
    return {name: build_sink(name, config, env, root=root) for name, config in configs.items()}


def build_sink(
    name: str, config: SinkConfig, environ: Mapping[str, str], *, root: Path | None = None
) -> Sink:
    """One sink from its settings, with its secrets read from ``environ``."""
    folder = root or Path.cwd()
    ca_file = str(folder / config.ca_file) if config.ca_file else None
    if config.kind == "console":
        from kgsentinel.alerts.sinks.console import ConsoleSink

        return ConsoleSink(name, stream=config.stream)
    if config.kind == "jsonl":
        from kgsentinel.alerts.sinks.jsonl import JsonLinesSink

        return JsonLinesSink(name, folder / str(config.path))
    if config.kind == "email":
        from kgsentinel.alerts.sinks.smtp import EmailSink

        password = _secret(name, config, "password_env", environ) if config.password_env else None
        return EmailSink(name, host=str(config.host), port=config.port, security=config.security,
                         username=config.username, password=password, sender=str(config.sender),
                         to=config.to, timeout=config.timeout, ca_file=ca_file)  # fmt: skip
    return _http_sink(name, config, environ, ca_file)


def _http_sink(
    name: str, config: SinkConfig, environ: Mapping[str, str], ca_file: str | None
) -> Sink:
    token = _secret(name, config, "token_env", environ) if config.token_env else None
    url = config.url or _secret(name, config, "url_env", environ)
    if not url.startswith(("http://", "https://")):
        raise ConfigError(
            f"[sinks.{name}] url_env: {config.url_env} does not hold an http:// or https:// URL"
        )
    options = {"timeout": config.timeout, "ca_file": ca_file}
    if config.kind == "webhook":
        from kgsentinel.alerts.sinks.webhook import WebhookSink

        return WebhookSink(name, url, token=token, **options)
    if config.kind == "slack":
        from kgsentinel.alerts.sinks.slack import SlackSink

        return SlackSink(name, url, **options)
    from kgsentinel.alerts.sinks.alertmanager import AlertmanagerSink

    return AlertmanagerSink(name, url, token=token, ttl=parse_duration(config.ttl), **options)


def _secret(name: str, config: SinkConfig, setting: str, environ: Mapping[str, str]) -> str:
    variable = getattr(config, setting)
    value = environ.get(variable, "")
    if not value:
        raise ConfigError(
            f"[sinks.{name}] {setting}: the environment variable {variable} is not set; "
            f"export it with {_WHAT[setting]}"
        )
    return value
