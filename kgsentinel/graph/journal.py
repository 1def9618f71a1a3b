"""What changed in an on-disk embedded store, write by write, where the writer knows.

Every write through kgsentinel bumps the store's generation, kept beside the
store (``.kgsentinel/store.changes/`` for ``.kgsentinel/store``). A write that
knows the subjects it changed (a graph brought up to date by its difference,
quads added) also leaves them in a file named by its generation. A reader that
remembers a generation asks :meth:`ChangeJournal.changed_since` which subjects
changed since then, and gets ``None`` when some write did not say (a SPARQL
update, a new graph bulk-loaded, a dropped graph) or the journal no longer
reaches back that far: then only reading everything again is safe. Writes
through ``store.pyoxigraph`` bypass the journal, like they bypass atomic loads.

Example:
    >>> journal = ChangeJournal(getfixture("tmp_path") / "store.changes")
    >>> start = journal.generation
    >>> _ = journal.record({"urn:x:e1", "urn:x:c1"})
    >>> sorted(journal.changed_since(start))
    ['urn:x:c1', 'urn:x:e1']
    >>> _ = journal.record(None)  # a write that did not say what it changed
    >>> journal.changed_since(start) is None
    True
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Collection
from pathlib import Path

__all__ = ["KEEP", "ChangeJournal"]

#: entries kept; a reader further behind reads everything again
KEEP = 2000
_SUFFIX = ".subjects"


class ChangeJournal:
    """The generation of a store and the subjects each write changed (when known)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._lock = threading.Lock()

    @property
    def generation(self) -> int:
        """The number of writes recorded so far (0 for a journal never written)."""
        try:
            return int((self.folder / "generation").read_text(encoding="ascii"))
        except (OSError, ValueError):
            return 0

    def record(self, subjects: Collection[str] | None) -> int:
        """Count one write that changed ``subjects`` (``None``: it did not say); its generation."""
        with self._lock:
            self.folder.mkdir(parents=True, exist_ok=True)
            generation = self.generation + 1
            if subjects is not None:
                _write_atomically(self._entry(generation), "\n".join(sorted(subjects)))
            _write_atomically(self.folder / "generation", str(generation))
            stale = self._entry(generation - KEEP)
            stale.unlink(missing_ok=True)
            return generation

    def changed_since(self, generation: int) -> set[str] | None:
        """The subjects changed by the writes after ``generation``; ``None`` if unknown."""
        now = self.generation
        if generation > now or now - generation >= KEEP:
            return None
        changed: set[str] = set()
        for number in range(generation + 1, now + 1):
            try:
                text = self._entry(number).read_text(encoding="utf-8")
            except OSError:
                return None
            changed.update(line for line in text.split("\n") if line)
        return changed

    def _entry(self, generation: int) -> Path:
        return self.folder / f"{generation:012d}{_SUFFIX}"


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
