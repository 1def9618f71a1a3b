"""What every benchmark script shares: progress lines, the commit measured, the JSON result."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

__all__ = ["git_commit", "log", "write_result"]

HERE = Path(__file__).resolve().parent


def log(message: str) -> None:
    """A progress line on stderr (stdout carries the result table)."""
    print(message, file=sys.stderr, flush=True)


def git_commit() -> str | None:
    """The commit the benchmark ran on (``-dirty`` when the tree has changes), if known."""
    try:
        return subprocess.run(
            ["git", "describe", "--always", "--dirty"], cwd=HERE, capture_output=True,
            text=True, check=True, timeout=10,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None


def write_result(path: Path, result: dict[str, Any]) -> None:
    """Write the result JSON, creating its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    log(f"wrote {path}")
