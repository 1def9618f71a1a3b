"""Labelled event logs: process models to simulate, and anomalies to inject into any log."""

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
