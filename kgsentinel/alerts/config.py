"""The ``[alerts]`` settings: routes from alerts to sinks, with Alertmanager's meanings.

``[alerts]`` is the default route: its ``sink`` receives the alerts that no
``[alerts.routes.NAME]`` matched, and its ``group_by`` and timings are what
routes inherit when they leave them out. Routes are tried in the order of the
file; the first that matches takes the alert, unless it sets ``continue = true``
(then later routes are tried too). A route matches when all its matchers hold on
the alert's labels: ``detector``, ``kind``, ``severity`` and the anomaly's own
labels (``team``, ...).

Example:
    >>> alerts = AlertsConfig.model_validate({"sink": "ops", "routes": {
    ...     "npi": {"match": ['team="npi"', 'severity=~"warning|critical"'], "sink": ["slack"],
    ...             "group_wait": "10s"}}})
    >>> route = alerts.resolved_routes()[0]
    >>> route.name, route.sinks, route.group_wait.total_seconds(), route.repeat_interval
    ('npi', ('slack',), 10.0, datetime.timedelta(seconds=14400))
    >>> [r.name for r in alerts.routes_for({"team": "npi", "severity": "info"})]
    ['default']
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from kgsentinel.alerts.matchers import LABEL_NAME, Matcher, parse_duration, parse_matcher
from kgsentinel.errors import AlertError

__all__ = ["DEFAULT_ROUTE", "AlertsConfig", "Route", "RouteConfig"]

DEFAULT_ROUTE = "default"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
#: ``group_by = ["..."]`` groups by every label: each alert on its own
ALL_LABELS = "..."


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, populate_by_name=True)


def _sink_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


def _check_duration(value: str | None) -> str | None:
    if value is not None:
        try:
            parse_duration(value)
        except AlertError as exc:
            raise ValueError(str(exc)) from None
    return value


def _check_group_by(labels: list[str] | None) -> list[str] | None:
    for label in labels or []:
        if label != ALL_LABELS and not LABEL_NAME.fullmatch(label):
            raise ValueError(
                f"{label!r} is not a label name: use letters, digits and '_' "
                '(e.g. "detector", "kind", "team"), or "..." for every label'
            )
    return labels


class _Timing(_Section):
    sink: list[str] | None = Field(
        None,
        description="The sink or sinks ([sinks.NAME]) that receive the notifications.",
        examples=["slack"],
    )
    group_by: list[str] | None = Field(
        None,
        description="Labels whose values split alerts into groups, one notification per "
        'group ("..." for every label: each alert alone).',
        examples=[["detector", "kind"]],
    )
    group_wait: str | None = Field(
        None,
        description="How long a new group waits for more alerts before its first "
        "notification (an alert that comes and goes within it sends nothing).",
        examples=["30s"],
    )
    group_interval: str | None = Field(
        None,
        description="How long to wait before notifying changes to a group already notified.",
        examples=["5m"],
    )
    repeat_interval: str | None = Field(
        None,
        description="How long to wait before sending an unchanged firing group again.",
        examples=["4h"],
    )

    _sinks = field_validator("sink", mode="before")(_sink_list)
    _durations = field_validator("group_wait", "group_interval", "repeat_interval")(_check_duration)
    _labels = field_validator("group_by")(_check_group_by)


class RouteConfig(_Timing):
    """A route ([alerts.routes.NAME]): which alerts go to which sinks, and how they are grouped."""

    match: list[str] = Field(
        default_factory=list,
        description="Matchers on detector, kind, severity and labels, all of which must hold: "
        'name="value", name!="value", name=~"regex", name!~"regex".',
        examples=[['team="npi"', 'severity=~"warning|critical"']],
    )
    continue_: bool = Field(
        False,
        alias="continue",
        description="Also try the routes after this one when it matches.",
    )

    @field_validator("match")
    @classmethod
    def _matchers(cls, matchers: list[str]) -> list[str]:
        for text in matchers:
            try:
                parse_matcher(text)
            except AlertError as exc:
                raise ValueError(str(exc)) from None
        return matchers


class AlertsConfig(_Timing):
    """Alerts: the default route, and routes tried in order ([alerts.routes.NAME])."""

    sink: list[str] | None = Field(
        None,
        description="The sink or sinks ([sinks.NAME]) that receive alerts no route matched "
        "(none: those alerts are kept, not sent).",
        examples=["ops"],
    )
    group_by: list[str] | None = Field(
        ["detector", "kind"],
        description="Labels whose values split alerts into groups, one notification per "
        'group ("..." for every label: each alert alone); routes inherit it.',
    )
    group_wait: str | None = Field(
        "30s",
        description="How long a new group waits for more alerts before its first "
        "notification (an alert that comes and goes within it sends nothing).",
    )
    group_interval: str | None = Field(
        "5m", description="How long to wait before notifying changes to a group already notified."
    )
    repeat_interval: str | None = Field(
        "4h", description="How long to wait before sending an unchanged firing group again."
    )
    external_url: str | None = Field(
        None,
        description="Where people open kgsentinel's API or web page: notifications link "
        "each anomaly there.",
        examples=["https://kgsentinel.example.com"],
    )
    routes: dict[str, RouteConfig] = Field(
        default={},
        description="Routes, tried in the order of the file ([alerts.routes.NAME]).",
    )

    @field_validator("external_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/") if value else value

    @field_validator("routes")
    @classmethod
    def _route_names(cls, routes: dict[str, RouteConfig]) -> dict[str, RouteConfig]:
        for name in routes:
            if not _NAME.fullmatch(name) or name == DEFAULT_ROUTE:
                raise ValueError(
                    f"route name {name!r}: use letters, digits, '.', '_' and '-' (and not "
                    f"{DEFAULT_ROUTE!r}, the name of [alerts] itself)"
                )
        return routes

    @model_validator(mode="after")
    def _durations_positive(self) -> AlertsConfig:
        for route in self.resolved_routes():
            for key in ("group_interval", "repeat_interval"):
                if getattr(route, key) <= dt.timedelta(0):
                    raise ValueError(f"route {route.name!r}: {key} must be more than 0s")
        return self

    @property
    def enabled(self) -> bool:
        """Tell whether any alert can reach a sink (some route or the default has one)."""
        return any(route.sinks for route in self.resolved_routes())

    def resolved_routes(self) -> list[Route]:
        """The routes in order, each with what it inherits filled in, then the default."""
        routes = [self._resolve(name, config) for name, config in self.routes.items()]
        return [*routes, self._resolve(DEFAULT_ROUTE, None)]

    def routes_for(self, labels: Mapping[str, str]) -> list[Route]:
        """The routes an alert with ``labels`` goes through (the default when none matched)."""
        *routes, default = self._routes
        chosen = []
        for route in routes:
            if all(matcher.matches(labels) for matcher in route.matchers):
                chosen.append(route)
                if not route.continue_:
                    break
        return chosen or [default]

    @cached_property
    def _routes(self) -> list[Route]:
        return self.resolved_routes()

    def check_sinks(self, known: Iterable[str]) -> None:
        """Raise ``ValueError`` naming the route when it sends to a sink not defined."""
        names = sorted(known)
        for route in self.resolved_routes():
            for sink in route.sinks:
                if sink not in names:
                    where = "[alerts]" if route.name == DEFAULT_ROUTE else (
                        f"[alerts.routes.{route.name}]")  # fmt: skip
                    raise ValueError(
                        f"{where} sink {sink!r} is not defined: add a [sinks.{sink}] section "
                        f"(sinks defined: {', '.join(names) or 'none'})"
                    )

    def _resolve(self, name: str, config: RouteConfig | None) -> Route:
        def pick(key: str) -> Any:
            own = getattr(config, key) if config is not None else None
            return own if own is not None else getattr(self, key)

        return Route(
            name=name,
            matchers=tuple(parse_matcher(m) for m in (config.match if config else [])),
            sinks=tuple(pick("sink") or ()),
            group_by=tuple(pick("group_by") or ()),
            group_wait=parse_duration(pick("group_wait") or "30s"),
            group_interval=parse_duration(pick("group_interval") or "5m"),
            repeat_interval=parse_duration(pick("repeat_interval") or "4h"),
            continue_=bool(config and config.continue_),
        )


@dataclass(frozen=True)
class Route:
    """A route as the engine uses it: parsed matchers and durations, inherited values filled."""

    name: str
    matchers: tuple[Matcher, ...]
    sinks: tuple[str, ...]
    group_by: tuple[str, ...]
    group_wait: dt.timedelta
    group_interval: dt.timedelta
    repeat_interval: dt.timedelta
    continue_: bool = False

    def group_labels(self, labels: Mapping[str, str]) -> dict[str, str]:
        """The labels that name the group an alert with ``labels`` belongs to.

        Example:
            >>> route = AlertsConfig().resolved_routes()[0]
            >>> route.group_labels({"detector": "timing", "kind": "slow", "team": "npi"})
            {'detector': 'timing', 'kind': 'slow'}
        """
        if ALL_LABELS in self.group_by:
            return dict(sorted(labels.items()))
        return {name: labels.get(name, "") for name in self.group_by}
