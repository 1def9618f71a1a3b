"""Alerts: anomalies routed to ops teams, with a lifecycle kept in the alerts graph.

Names load on first use, so importing this package stays cheap.

The engine runs with :func:`process`; people use :func:`list_alerts`,
:func:`acknowledge`, :func:`resolve` and :func:`silence`.

Example:
    >>> from kgsentinel import alerts
    >>> alerts.parse_matcher("team=npi").matches({"team": "npi"})
    True
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = [
    "AlertsConfig",
    "AlertsReport",
    "Matcher",
    "acknowledge",
    "alert_history",
    "expire_silence",
    "list_alerts",
    "list_silences",
    "parse_duration",
    "parse_matcher",
    "process",
    "resolve",
    "silence",
]

_LAZY = {
    "AlertsConfig": "kgsentinel.alerts.config",
    "AlertsReport": "kgsentinel.alerts.engine",
    "Matcher": "kgsentinel.alerts.matchers",
    "acknowledge": "kgsentinel.alerts.manage",
    "alert_history": "kgsentinel.alerts.manage",
    "expire_silence": "kgsentinel.alerts.manage",
    "list_alerts": "kgsentinel.alerts.manage",
    "list_silences": "kgsentinel.alerts.manage",
    "parse_duration": "kgsentinel.alerts.matchers",
    "parse_matcher": "kgsentinel.alerts.matchers",
    "process": "kgsentinel.alerts.engine",
    "resolve": "kgsentinel.alerts.manage",
    "silence": "kgsentinel.alerts.manage",
}

if TYPE_CHECKING:  # pragma: no cover
    from kgsentinel.alerts.config import AlertsConfig
    from kgsentinel.alerts.engine import AlertsReport, process
    from kgsentinel.alerts.manage import (
        acknowledge,
        alert_history,
        expire_silence,
        list_alerts,
        list_silences,
        resolve,
        silence,
    )
    from kgsentinel.alerts.matchers import Matcher, parse_duration, parse_matcher


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'kgsentinel.alerts' has no attribute {name!r}")
