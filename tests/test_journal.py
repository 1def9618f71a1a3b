"""The change journal of an on-disk store: which subjects each write changed, where known."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox

from kgsentinel.graph import journal as journal_module
from kgsentinel.graph.embedded import EmbeddedStore
from kgsentinel.graph.journal import ChangeJournal

ROWS = b'<urn:x:p1> <urn:x:name> "Rose" .\n<urn:x:p2> <urn:x:name> "Iris" .\n'


def test_a_graph_brought_up_to_date_names_only_the_subjects_that_changed(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "store")
    try:
        with store.writer("plm") as writer:
            writer.write(ROWS)
        journal = store.change_journal()
        assert journal is not None
        start = journal.generation
        with store.writer("plm") as writer:  # p2 renamed, p3 new, p1 as it was
            writer.write(b'<urn:x:p1> <urn:x:name> "Rose" .\n<urn:x:p2> <urn:x:name> "Iria" .\n'
                         b'<urn:x:p3> <urn:x:name> "Lys" .\n')  # fmt: skip
        assert journal.changed_since(start) == {"urn:x:p2", "urn:x:p3"}
        store.add([ox.Quad(ox.NamedNode("urn:x:p4"), ox.NamedNode("urn:x:name"),
                           ox.Literal("Myrte"), ox.NamedNode("urn:x:g"))])  # fmt: skip
        assert journal.changed_since(start) == {"urn:x:p2", "urn:x:p3", "urn:x:p4"}
    finally:
        store.close()


def test_a_write_that_does_not_say_what_it_changed_makes_the_changes_unknown(
    tmp_path: Path,
) -> None:
    store = EmbeddedStore(tmp_path / "store")
    try:
        journal = store.change_journal()
        assert journal is not None
        start = journal.generation
        store.update("INSERT DATA { GRAPH <urn:x:g> { <urn:x:a> <urn:x:p> 1 } }")
        assert journal.changed_since(start) is None
        with store.writer("new") as writer:  # a new graph is bulk-loaded: everything changed
            writer.write(ROWS)
        later = journal.generation
        assert journal.changed_since(later) == set()
        store.drop_graph("new")
        assert journal.changed_since(later) is None
    finally:
        store.close()


def test_the_generation_lives_beside_the_store_across_openings(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "store")
    store.add([ox.Quad(ox.NamedNode("urn:x:a"), ox.NamedNode("urn:x:p"), ox.Literal("1"),
                       ox.NamedNode("urn:x:g"))])  # fmt: skip
    first = store.change_journal().generation  # type: ignore[union-attr]
    store.close()
    again = EmbeddedStore(tmp_path / "store")
    try:
        assert again.change_journal().generation == first  # type: ignore[union-attr]
        assert (tmp_path / "store.changes" / "generation").is_file()
    finally:
        again.close()
    assert EmbeddedStore().change_journal() is None  # in memory: no journal


def test_a_reader_further_behind_than_the_journal_is_told_it_cannot_know(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setattr(journal_module, "KEEP", 3)
    journal = ChangeJournal(tmp_path / "changes")
    for n in range(5):
        journal.record({f"urn:x:{n}"})
    assert journal.changed_since(3) == {"urn:x:3", "urn:x:4"}  # generations 4 and 5
    assert journal.changed_since(1) is None  # trimmed: unknown
    assert journal.changed_since(9) is None  # ahead of the journal: a store not this one
