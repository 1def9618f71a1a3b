"""What every benchmark script shares: progress lines, the commit measured, the JSON result."""

from __future__ import annotations

import json
import subprocess
import sys
import venv
from pathlib import Path
from typing import Any

__all__ = ["git_commit", "log", "peer_python", "write_result"]

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


def peer_python(
    folder: Path, package: str, module: str, *, timeout: int = 1800
) -> tuple[str | None, str | None]:
    """The python of a peer's own virtual environment, created on first use; or why not.

    Peers (Morph-KGC, pm4py) are compared with, never depended on: each lives in
    a git-ignored environment inside ``benchmarks/`` and runs as a subprocess.
    """
    python = folder / "bin" / "python"
    check = [str(python), "-c", f"import {module}"]
    if python.is_file() and subprocess.run(check, capture_output=True).returncode == 0:
        return str(python), None
    try:
        if not python.is_file():
            log(f"creating {folder} ...")
            venv.create(folder, with_pip=True)
            (folder / ".gitignore").write_text("*\n")
        log(f"installing {package} into it ...")
        done = subprocess.run([str(python), "-m", "pip", "install", "-q", package],
                              capture_output=True, text=True, timeout=timeout)  # fmt: skip
        if done.returncode != 0:
            return None, f"pip install {package} failed: " + done.stderr.strip()[-500:]
    except (OSError, subprocess.SubprocessError) as exc:
        return None, f"cannot create {folder}: {exc}"
    if subprocess.run(check, capture_output=True).returncode != 0:
        return None, f"{package} installed but cannot be imported"
    return str(python), None
