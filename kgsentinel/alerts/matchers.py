"""Label matchers and durations, written as in Prometheus Alertmanager.

A matcher is ``name=value``, ``name!=value``, ``name=~regex`` or ``name!~regex``;
the value may be quoted (``team="npi"``). Regular expressions match the whole
value, as Alertmanager's do. A duration is one or more numbers with units
``ms``, ``s``, ``m``, ``h``, ``d``, ``w`` (``30s``, ``5m``, ``1h30m``).

Example:
    >>> matcher = parse_matcher('severity=~"warning|critical"')
    >>> matcher.matches({"severity": "critical"}), matcher.matches({"severity": "info"})
    (True, False)
    >>> str(parse_matcher("team!=npi"))
    'team!="npi"'
    >>> parse_duration("1h30m")
    datetime.timedelta(seconds=5400)
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from kgsentinel.errors import AlertError

__all__ = ["LABEL_NAME", "Matcher", "matches_all", "parse_duration", "parse_matcher"]

Operator = Literal["=", "!=", "=~", "!~"]
#: a label name, as Prometheus writes them
LABEL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MATCHER = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*")
_DURATION = re.compile(r"(\d+)(ms|s|m|h|d|w)")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


@dataclass(frozen=True)
class Matcher:
    """One condition on a label; a missing label has the empty value, as in Alertmanager."""

    name: str
    operator: Operator
    value: str

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Tell whether ``labels`` satisfy this matcher."""
        actual = labels.get(self.name, "")
        if self.operator in ("=", "!="):
            return (actual == self.value) == (self.operator == "=")
        found = re.fullmatch(self.value, actual) is not None
        return found == (self.operator == "=~")

    def __str__(self) -> str:
        return f"{self.name}{self.operator}{json.dumps(self.value, ensure_ascii=False)}"


def parse_matcher(text: str) -> Matcher:
    """Read ``name=value`` (or ``!=``, ``=~``, ``!~``); a bad one is an :class:`AlertError`."""
    found = _MATCHER.fullmatch(text)
    if found is None:
        raise AlertError(
            f'matcher {text!r} is not name=value: write e.g. team="npi", kind!=stuck or '
            'severity=~"warning|critical"'
        )
    name, operator, value = found.groups()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        try:
            value = json.loads(value)
        except ValueError:
            raise AlertError(f"matcher {text!r}: the quoted value is not valid") from None
    if operator in ("=~", "!~"):
        try:
            re.compile(value)
        except re.error as exc:
            raise AlertError(f"matcher {text!r}: bad regular expression ({exc})") from None
    return Matcher(name, operator, value)  # type: ignore[arg-type]


def matches_all(matchers: Iterable[Matcher], labels: Mapping[str, str]) -> bool:
    """Tell whether every matcher holds for ``labels`` (no matchers: always).

    Example:
        >>> matches_all([parse_matcher("team=npi")], {"team": "npi", "kind": "slow"})
        True
    """
    return all(matcher.matches(labels) for matcher in matchers)


def parse_duration(text: str) -> dt.timedelta:
    """Read ``30s``, ``5m``, ``4h``, ``1h30m``...; a bad one is an :class:`AlertError`.

    Example:
        >>> parse_duration("2h")
        datetime.timedelta(seconds=7200)
    """
    stripped = text.strip()
    parts = _DURATION.findall(stripped)
    if not parts or "".join(n + u for n, u in parts) != stripped:
        raise AlertError(
            f"duration {text!r} is not understood: write a number and a unit (ms, s, m, h, "
            "d, w), e.g. 30s, 5m, 4h or 1h30m"
        )
    return dt.timedelta(seconds=sum(int(n) * _UNITS[u] for n, u in parts))
