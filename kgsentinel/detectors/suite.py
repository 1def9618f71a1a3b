"""The default suite: the detectors that run on any event log with no configuration.

Each entry names a detector kind and the class that implements it; the suite
runs every event-log detector with its defaults (thresholds chosen from the
data). ``detect_log`` runs the suite on a frame in memory, for notebooks and
benchmarks; ``kgsentinel detect`` runs it over the graph and records the
findings (see :mod:`kgsentinel.detectors.runner`).

Example:
    >>> sorted(DEFAULT_SUITE)[:3]
    ['conformance', 'durations', 'outliers']
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from kgsentinel.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from kgsentinel.detectors.base import Finding

__all__ = ["DEFAULT_SUITE", "KIND_CLASSES", "detect_log", "detector_class", "make_detector"]

#: detector kind -> "module:Class" of its implementation
KIND_CLASSES: dict[str, str] = {
    "conformance": "kgsentinel.detectors.controlflow:ControlFlowDetector",
    "durations": "kgsentinel.detectors.timing:DurationDetector",
    "stuck": "kgsentinel.detectors.timing:StuckCaseDetector",
    "resources": "kgsentinel.detectors.attributes:ResourceDetector",
    "values": "kgsentinel.detectors.attributes:ValueDetector",
    "outliers": "kgsentinel.detectors.outliers:CaseOutlierDetector",
    "structure": "kgsentinel.detectors.structure:LinkDetector",
    "sparql": "kgsentinel.detectors.rules:SparqlRuleDetector",
    "shacl": "kgsentinel.detectors.rules:ShaclDetector",
}
#: the detectors that run with no configuration (name -> kind)
DEFAULT_SUITE: dict[str, str] = {
    "conformance": "conformance",
    "durations": "durations",
    "stuck": "stuck",
    "resources": "resources",
    "values": "values",
    "outliers": "outliers",
    "structure": "structure",
}


def detector_class(kind: str) -> type:
    """The class implementing a detector kind; unknown kinds list the known ones."""
    try:
        module, name = KIND_CLASSES[kind].split(":")
    except KeyError:
        raise ConfigError(
            f"unknown detector kind {kind!r}; use one of {', '.join(KIND_CLASSES)}"
        ) from None
    return getattr(importlib.import_module(module), name)


def make_detector(kind: str, params: dict[str, Any] | None = None) -> Any:
    """A detector of ``kind`` with ``params``; unknown parameters are explained."""
    cls = detector_class(kind)
    try:
        return cls(**(params or {}))
    except TypeError as exc:
        import inspect

        allowed = [p for p in inspect.signature(cls).parameters if p != "self"]
        raise ConfigError(
            f"detector kind {kind!r}: {exc}; its parameters are {', '.join(allowed) or 'none'}"
        ) from None


def detect_log(log: pd.DataFrame, names: Iterable[str] | None = None) -> dict[str, list[Finding]]:
    """Fit each event-log detector of the default suite on ``log`` and find its anomalies.

    Returns the findings of each detector by name (all of them, or ``names``).
    """
    chosen = list(names) if names is not None else list(DEFAULT_SUITE)
    found: dict[str, list[Finding]] = {}
    for name in chosen:
        if name not in DEFAULT_SUITE:
            raise ConfigError(f"no detector {name!r} in the default suite "
                              f"({', '.join(DEFAULT_SUITE)})")  # fmt: skip
        detector = make_detector(DEFAULT_SUITE[name])
        found[name] = detector.fit(log).findings(log)
    return found
