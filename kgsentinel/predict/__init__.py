"""Outcome prediction for running cases: labels, prefix encoding, models.

- :mod:`~kgsentinel.predict.outcomes`: which cases have finished and what
  happened to them (:func:`finished_cases`, :func:`outcome_labels`);
- :mod:`~kgsentinel.predict.encoding`: :class:`PrefixEncoder`, a case as far
  as it has gone as one row of features;
- :mod:`~kgsentinel.predict.model`: :class:`OutcomeModel`, trained on finished
  cases with a temporal split, saved with skops, asked about running cases.

Importing this package is cheap: each name loads its module on first use.

Example:
    >>> from kgsentinel import predict
    >>> predict.OUTCOME_KINDS
    ('reaches', 'never-reaches', 'slower-than')
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = [
    "OUTCOME_KINDS",
    "TARGETS",
    "OutcomeModel",
    "PrefixEncoder",
    "finished_cases",
    "outcome_labels",
    "prefix_ends",
]

_LAZY = {
    "OUTCOME_KINDS": "kgsentinel.predict.outcomes",
    "finished_cases": "kgsentinel.predict.outcomes",
    "outcome_labels": "kgsentinel.predict.outcomes",
    "PrefixEncoder": "kgsentinel.predict.encoding",
    "prefix_ends": "kgsentinel.predict.encoding",
    "OutcomeModel": "kgsentinel.predict.model",
    "TARGETS": "kgsentinel.predict.model",
}

if TYPE_CHECKING:  # pragma: no cover
    from kgsentinel.predict.encoding import PrefixEncoder, prefix_ends
    from kgsentinel.predict.model import TARGETS, OutcomeModel
    from kgsentinel.predict.outcomes import OUTCOME_KINDS, finished_cases, outcome_labels


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'kgsentinel.predict' has no attribute {name!r}")
