"""Alerts: anomalies routed to ops teams, with a lifecycle kept in the alerts graph.

Names load on first use, so importing this package stays cheap.

Example:
    >>> from kgsentinel import alerts
    >>> alerts.parse_matcher("team=npi").matches({"team": "npi"})
    True
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["AlertsConfig", "Matcher", "parse_duration", "parse_matcher"]

_LAZY = {
    "AlertsConfig": "kgsentinel.alerts.config",
    "Matcher": "kgsentinel.alerts.matchers",
    "parse_duration": "kgsentinel.alerts.matchers",
    "parse_matcher": "kgsentinel.alerts.matchers",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'kgsentinel.alerts' has no attribute {name!r}")
