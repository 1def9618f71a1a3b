"""The product story: a new product introduction workspace, its data, and ``kgsentinel demo``."""

from __future__ import annotations

__all__: list[str] = []
