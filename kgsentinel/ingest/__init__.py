"""Ingest: sources and event logs mapped into the graph by declarative mappings."""

__all__: list[str] = []
