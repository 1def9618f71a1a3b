"""Detectors: SPARQL rules, SHACL shapes, process conformance, durations, outliers, structure.

Each detector returns findings (:class:`~kgsentinel.detectors.base.Finding`);
the runner writes them into the anomalies graph with provenance.
"""

from __future__ import annotations

__all__: list[str] = []
