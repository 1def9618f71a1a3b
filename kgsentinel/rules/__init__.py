"""SPARQL rule packs: ``.rq`` files whose SELECT rows are violations, and their loader.

A workspace keeps its rules in ``rules/`` (``*.rq``, in any sub-folder); the
built-in pack for event logs is referred to as ``builtin:<name>``. Each rule
becomes findings through :class:`kgsentinel.detectors.rules.SparqlRuleDetector`.
The format is described in ``docs/rules.md``.

Example:
    >>> from kgsentinel.rules import builtin_rules, load_rule
    >>> "four-eyes" in builtin_rules()
    True
    >>> load_rule("builtin:four-eyes").params
    ('first', 'second')
"""

from __future__ import annotations

from kgsentinel.rules.loader import (
    BUILTIN_PREFIX,
    HEADER_KEYS,
    Rule,
    RuleError,
    builtin_rules,
    load_rule,
    load_rules,
    parse_rule,
    service_line,
)

__all__ = [
    "BUILTIN_PREFIX",
    "HEADER_KEYS",
    "Rule",
    "RuleError",
    "builtin_rules",
    "load_rule",
    "load_rules",
    "parse_rule",
    "service_line",
]
