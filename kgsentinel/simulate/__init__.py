"""Labelled event logs: process models to simulate, and anomalies to inject into any log.

- :mod:`~kgsentinel.simulate.models`: a small block language (``Seq``, ``Xor``,
  ``And``, ``Opt``, ``Loop``) and four built-in models (``npi``,
  ``order-to-cash``, ``loan``, ``helpdesk``);
- :func:`generate`: a seeded table of events of a model;
- :func:`inject`: one labelled anomaly in a share of the cases of any table;
- :func:`read_log_table`: a real log file (XES, OCEL 2.0, CloudEvents) as a table.

Example:
    >>> from kgsentinel.detectors.events import as_event_log
    >>> table, labels = inject(generate("helpdesk", cases=100, seed=1), share=0.1, seed=1)
    >>> len(labels), len(as_event_log(table)) == len(table)
    (10, True)
"""

from __future__ import annotations

from kgsentinel.simulate.generator import generate, play
from kgsentinel.simulate.inject import FOREIGN_ACTIVITIES, KINDS, inject
from kgsentinel.simulate.models import (
    MODELS,
    Activity,
    And,
    Block,
    Category,
    Loop,
    Model,
    Opt,
    Pool,
    Seq,
    Xor,
    get_model,
)
from kgsentinel.simulate.tables import read_log_table

__all__ = [
    "FOREIGN_ACTIVITIES",
    "KINDS",
    "MODELS",
    "Activity",
    "And",
    "Block",
    "Category",
    "Loop",
    "Model",
    "Opt",
    "Pool",
    "Seq",
    "Xor",
    "generate",
    "get_model",
    "inject",
    "play",
    "read_log_table",
]
