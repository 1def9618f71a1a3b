"""The event log kept between detector runs, and what changed in it since.

A run reads from the graph only what it must. The workspace keeps, in
``.kgsentinel/detectors/``:

- ``events.parquet`` and ``events-fresh.parquet``: the event log frame, as
  the events of every case as of the last full read, and the events of the
  cases read again since (which take the place of theirs); an incremental run
  writes only the second, and the two are merged again once it has grown past
  :data:`FRESH_SHARE` of the first;
- ``generation``: the store's change-journal generation when the log was read:
  the next run reads again only the cases of the subjects changed since (see
  :mod:`kgsentinel.graph.journal`), and scans otherwise;
- ``events-index.parquet``: every event IRI with its case and its time (a UTC
  instant), so a scan reads only the times (one index read) and looks up the
  case of new events alone;
- ``events-cases.parquet``: each case's signature (number of events, last
  time, a digest of its events' times); a case whose signature changed is read
  again, the others come from the cached log;
- ``seen-DETECTOR.txt``: which signatures each detector examined last (each
  version of ``events-cases.parquet`` has a token, and the version a detector
  examined is kept once in ``seen/TOKEN.parquet``, however many detectors saw
  it), so running one detector never makes another skip a case;
- ``fitted-DETECTOR.json``: what each detector learned (see :mod:`.state`).

A case counts as changed when one of its events is added, removed or given
another time (by a scan), or when the journal names it or one of its events;
``kgsentinel detect --full`` examines every case again.

Example:
    >>> import pandas as pd
    >>> before = pd.DataFrame({"case": ["c1", "c2"], "events": [2, 3], "last": ["t1", "t2"]})
    >>> now = pd.DataFrame({"case": ["c1", "c2", "c3"], "events": [2, 4, 1],
    ...                     "last": ["t1", "t3", "t1"]})
    >>> changed_cases(before, now)
    ['c2', 'c3']
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from kgsentinel.graph.ontology import KGS

if TYPE_CHECKING:  # pragma: no cover
    from kgsentinel.graph.store import GraphStore

__all__ = ["FRESH_SHARE", "FULL_READ_SHARE", "REFIT_GROWTH", "EventHistory", "changed_cases",
           "is_in"]  # fmt: skip

#: past this share of changed events, an incremental run reads the whole log again
FULL_READ_SHARE = 0.25
#: once the events read again since the last full read are this share of the log, the
#: cached log is written whole again
FRESH_SHARE = 0.1
#: once the log has grown by this share since a detector learned, it learns again
REFIT_GROWTH = 0.1
_TOKEN = b"kgsentinel.signatures"
#: rows per row group of the cached log, so the events of a few cases are read alone
_GROUP_ROWS = 65_536
_SCAN = f"PREFIX kgs: <{KGS}>\nSELECT ?event ?value WHERE {{ ?event kgs:%s ?value }}"
_CASES_OF = f"PREFIX kgs: <{KGS}>\nSELECT ?event ?value WHERE {{\n%s?event kgs:case ?value }}"


@dataclass
class EventHistory:
    """The whole event log as it is now, and each case's signature (events, last time).

    The log is put together from its cached parts only when a detector needs all
    of it (to learn again): an incremental run usually examines only the cases
    read again, which are at hand.
    """

    signatures: pd.DataFrame
    folder: Path
    _fresh: pd.DataFrame | None = field(default=None, repr=False)
    #: names this version of the signatures (see ``seen-DETECTOR.txt``)
    token: str = field(default_factory=lambda: uuid.uuid4().hex, kw_only=True)
    _log: pd.DataFrame | None = field(default=None, repr=False)
    _scope: tuple[frozenset[str], pd.DataFrame] | None = field(default=None, repr=False)
    _changed: dict[str, list[str]] = field(default_factory=dict, repr=False)
    _fresh_set: set[str] | None = field(default=None, repr=False)

    @property
    def log(self) -> pd.DataFrame:
        """Every event of every case, sorted by case and time."""
        if self._log is None:
            self._log = _merged(pd.read_parquet(self.folder / "events.parquet"), self._fresh,
                                self.signatures["case"])  # fmt: skip
        return self._log

    @property
    def events(self) -> int:
        """How many events the log has (without reading it)."""
        return int(self.signatures["events"].sum())

    @classmethod
    def read(cls, store: GraphStore, folder: Path, *, full: bool) -> EventHistory:
        """The log: the cached one with changed cases read again, or all of it.

        Which cases changed comes from the store's change journal when it can
        say (see :mod:`kgsentinel.graph.journal`), else from a scan of the times.
        """
        folder.mkdir(parents=True, exist_ok=True)
        paths = {name: folder / f"{name}.parquet" for name in ("events", "events-index",
                                                                "events-cases")}  # fmt: skip
        cached = not full and all(path.exists() for path in paths.values())
        journal = store.change_journal()
        generation = journal.generation if journal is not None else None  # before any read
        history = None
        if cached and journal is not None:
            subjects = journal.changed_since(_saved_generation(folder))
            if subjects is not None:
                history = cls._after_changes(store, folder, paths, subjects)
        if history is None:
            history = cls._scanned(store, folder, paths, cached=cached)
        generation_path = folder / "generation"
        if generation is None:
            generation_path.unlink(missing_ok=True)
        else:
            _write_text(generation_path, str(generation))
        return history

    @classmethod
    def _scanned(
        cls, store: GraphStore, folder: Path, paths: dict[str, Path], *, cached: bool
    ) -> EventHistory:
        """Changed cases found by scanning every event's time (and the cases of new events)."""
        from kgsentinel.detectors.events import read_event_log

        index = current_events(store, pd.read_parquet(paths["events-index"]) if cached else None)
        now = signatures(index)
        changed = None
        if cached:
            before, token = _read_signatures(paths["events-cases"])
            changed = changed_cases(before, now)
            if not changed and len(before) == len(now):
                return cls(before, folder, _read_fresh(folder), token=token)
            if _share(changed, now) > FULL_READ_SHARE:
                changed = None
        if changed is None:
            history = cls(now, folder)._written_whole(read_event_log(store))
        else:
            history = cls(now, folder, _read_fresh(folder))
            history._take(changed, read_event_log(store, cases=changed))
        _write_parquet(index, paths["events-index"])
        _write_parquet(now, paths["events-cases"], token=history.token)
        return history

    @classmethod
    def _after_changes(
        cls, store: GraphStore, folder: Path, paths: dict[str, Path], subjects: set[str]
    ) -> EventHistory | None:
        """The cached log with the events of ``subjects`` read again (``None``: too many).

        Of a case that changed, only the events named are read again (a case named
        itself is read whole); its other events are as cached.
        """
        before, token = _read_signatures(paths["events-cases"])
        if not subjects:
            return cls(before, folder, _read_fresh(folder), token=token)
        index = pd.read_parquet(paths["events-index"])
        touched = is_in(index["event"], subjects)
        known = index.loc[touched]
        named = subjects & set(before["case"])
        cases = set(known["case"].dropna()) | named
        events = set(known["event"])
        others = sorted(subjects - events - cases)
        if others:
            found = _lookup_cases(store, others)
            cases |= set(found["value"])
            events |= set(found["event"])
        if not cases:  # e.g. only anomalies and runs were written
            return cls(before, folder, _read_fresh(folder), token=token)
        if _share(sorted(cases), before) > FULL_READ_SHARE:
            return None
        cached = cls(before, folder, _read_fresh(folder))
        fresh = cached._read_again(store, cases, named, events)
        changed = sorted(cases | set(fresh["case"]))
        rows = pd.DataFrame({"event": fresh["event"], "case": fresh["case"],
                             "time": _instants(fresh["timestamp"])})  # fmt: skip
        stale = touched | is_in(index["case"], changed)
        index = pd.concat([index[~stale], rows], ignore_index=True)
        now = pd.concat([before[~is_in(before["case"], changed)], signatures(rows)],
                        ignore_index=True)  # fmt: skip
        history = cls(now, folder, cached._fresh)
        history._take(changed, fresh)
        _write_parquet(index, paths["events-index"])
        _write_parquet(now, paths["events-cases"], token=history.token)
        return history

    def _read_again(
        self, store: GraphStore, cases: set[str], named: set[str], events: set[str]
    ) -> pd.DataFrame:
        """The events of ``cases`` now: ``named`` cases and ``events`` read from ``store``,
        the other events of ``cases`` (and of any case an event moved to) as cached."""
        from kgsentinel.detectors.events import read_event_log, sort_event_log

        whole = read_event_log(store, cases=sorted(named))
        moved = read_event_log(store, events=sorted(events - set(whole["event"])))
        cases = cases | set(moved["case"])
        kept = self._cached_events_of(sorted(cases - named))
        kept = kept[~is_in(kept["event"], events)]
        parts = [part for part in (kept, whole, moved) if len(part)]
        return sort_event_log(pd.concat(parts, ignore_index=True)) if parts else whole

    def _written_whole(self, log: pd.DataFrame) -> EventHistory:
        """This history with ``log`` as its log, cached in one part."""
        self._log, self._fresh = log, None
        _write_parquet(log, self.folder / "events.parquet", row_group_size=_GROUP_ROWS)
        (self.folder / "events-fresh.parquet").unlink(missing_ok=True)
        return self

    def _take(self, cases: list[str], events: pd.DataFrame) -> None:
        """Take ``events`` as the events of ``cases`` now, and cache them."""
        fresh = events if self._fresh is None else _union(
            [self._fresh[~is_in(self._fresh["case"], cases)], events])  # fmt: skip
        self._fresh = fresh
        if len(fresh) > FRESH_SHARE * self.events:
            self._written_whole(self.log)
        else:
            _write_parquet(fresh, self.folder / "events-fresh.parquet")

    def to_examine(self, detector: str, *, full: bool) -> tuple[list[str], bool]:
        """The cases ``detector`` has not seen as they are now, and whether that is a subset."""
        seen = None if full else self._seen_signatures(detector)
        if seen is not None and seen[0] not in self._changed:
            token, path = seen
            if token == self.token:
                self._changed[token] = []
            elif path.exists():
                self._changed[token] = changed_cases(pd.read_parquet(path), self.signatures)
        if seen is None or seen[0] not in self._changed:
            return list(self.signatures["case"]), False
        return list(self._changed[seen[0]]), True

    def events_of(self, cases: Collection[str]) -> pd.DataFrame:
        """The events of ``cases`` (kept for the next detector, which usually asks the same).

        Unless the whole log is already put together, they come from its cached
        parts (see :meth:`_cached_events_of`).
        """
        wanted = frozenset(cases)
        if self._scope is None or self._scope[0] != wanted:
            if self._log is None:
                self._scope = (wanted, self._cached_events_of(sorted(wanted)))
            else:
                self._scope = (wanted, self._log[is_in(self._log["case"], wanted)])
        return self._scope[1]

    def examined(self, detector: str) -> None:
        """Remember that ``detector`` has seen every case as it is now."""
        snapshot = self._snapshot_path(self.token)
        if not snapshot.exists():
            snapshot.parent.mkdir(exist_ok=True)
            _write_parquet(self.signatures, snapshot)
        _write_text(self._seen_path(detector), self.token)
        (self.folder / f"seen-{detector}.parquet").unlink(missing_ok=True)
        self._forget_unseen_snapshots()

    def fitted(self, detector: str, config: str, events: int) -> Any:
        """What ``detector`` learned last, if it still fits this log and ``config``."""
        from kgsentinel.detectors.state import load_fitted

        saved = load_fitted(self._fitted_path(detector))
        if saved is None:
            return None
        fitted, meta = saved
        if meta.get("config") != config or events > (1 + REFIT_GROWTH) * int(meta.get("events", 0)):
            return None
        return fitted

    def save_fitted(self, detector: str, fitted: Any, config: str, events: int) -> None:
        """Keep what ``detector`` learned from a log of ``events`` events, under ``config``.

        A detector of another package cannot be saved (only kgsentinel's and
        scikit-learn's classes are rebuilt): it learns again in every run.
        """
        from kgsentinel.detectors.state import save_fitted

        try:
            save_fitted(fitted, self._fitted_path(detector), meta={"config": config,
                                                                     "events": events})  # fmt: skip
        except TypeError:
            self._fitted_path(detector).unlink(missing_ok=True)

    def _seen_signatures(self, detector: str) -> tuple[str, Path] | None:
        """The token and file of the signatures ``detector`` examined last (None: it never ran)."""
        try:
            token = self._seen_path(detector).read_text(encoding="ascii").strip()
            return token, self._snapshot_path(token)
        except OSError:
            pass
        legacy = self.folder / f"seen-{detector}.parquet"  # a copy per detector, as before
        return (str(legacy), legacy) if legacy.exists() else None

    def _forget_unseen_snapshots(self) -> None:
        """Remove the snapshots of signatures no detector is at any more."""
        wanted = {path.read_text(encoding="ascii").strip()
                  for path in self.folder.glob("seen-*.txt")}  # fmt: skip
        for path in (self.folder / "seen").glob("*.parquet"):
            if path.stem not in wanted:
                path.unlink(missing_ok=True)

    def _cached_events_of(self, cases: list[str]) -> pd.DataFrame:
        """The cached events of ``cases``, sorted, without putting the whole log together:
        those read again since the log was cached whole, and the others' row groups."""
        parts, rest = [], cases
        if self._fresh is not None:
            parts.append(self._fresh[is_in(self._fresh["case"], cases)])
            rest = sorted(set(cases) - self._fresh_cases())
        if rest:
            parts.append(_rows_of(self.folder / "events.parquet", rest))
        parts = [part for part in parts if len(part)]
        return _union(parts) if parts else pd.DataFrame(columns=["case", "event"])

    def _fresh_cases(self) -> set[str]:
        if self._fresh_set is None:
            self._fresh_set = set() if self._fresh is None else set(self._fresh["case"].unique())
        return self._fresh_set

    def _seen_path(self, detector: str) -> Path:
        return self.folder / f"seen-{detector}.txt"

    def _snapshot_path(self, digest: str) -> Path:
        return self.folder / "seen" / f"{digest}.parquet"

    def _fitted_path(self, detector: str) -> Path:
        return self.folder / f"fitted-{detector}.json"


def current_events(store: GraphStore, known: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every event with a time: its IRI, its case (NA if none) and its time (a UTC instant).

    With ``known`` (this frame from an earlier run) only the times are scanned
    and the case is looked up for the events ``known`` lacks; without it, the
    cases are scanned too. Two single-pattern reads joined in pandas cost a
    fraction of the same join in SPARQL, which looks every event up again.
    """
    times = store.query_frame(_SCAN % "timestamp").drop_duplicates("event")
    times = pd.DataFrame({"event": times["event"], "time": _instants(times["value"])})
    if known is None:
        new = times["event"]
    else:
        times = times.merge(known[["event", "case"]], on="event", how="left")
        new = times.loc[~is_in(times["event"], known["event"]), "event"]
        if not len(new):
            return times[["event", "case", "time"]]
        times = times.drop(columns="case")
    if known is None or len(new) > FULL_READ_SHARE * len(times):
        cases = store.query_frame(_SCAN % "case")
    else:
        cases = _lookup_cases(store, new.tolist())
        if known is not None:
            cases = pd.concat([known.loc[known["case"].notna(), ["event", "case"]]
                               .rename(columns={"case": "value"}), cases])  # fmt: skip
    cases = cases.drop_duplicates("event").rename(columns={"value": "case"})
    return times.merge(cases, on="event", how="left")[["event", "case", "time"]]


def signatures(events: pd.DataFrame) -> pd.DataFrame:
    """Each case's number of events, last time and digest, from :func:`current_events`.

    The digest sums a hash of each event's IRI and time (written in hex), so
    adding, removing or retiming any event of a case changes it.

    Example:
        >>> events = pd.DataFrame({"event": ["e1", "e2"], "case": ["c1", "c1"],
        ...                        "time": pd.to_datetime(["2026-01-01", "2026-01-02"], utc=True)})
        >>> signatures(events)[["case", "events", "last"]].values.tolist()
        [['c1', 2, Timestamp('2026-01-02 00:00:00+0000', tz='UTC')]]
    """
    events = events.dropna(subset=["case"])
    instants = events["time"].astype("datetime64[ns, UTC]").to_numpy(dtype="int64", na_value=0)
    hashed = pd.util.hash_pandas_object(
        pd.DataFrame({"event": events["event"].astype(object), "time": instants}), index=False
    )
    events = events.assign(digest=hashed.to_numpy(dtype=np.uint64))
    grouped = events.groupby("case", sort=False)
    found = grouped["time"].agg(["size", "max"])
    digests = grouped["digest"].sum().map("{:016x}".format)
    return pd.DataFrame({"case": found.index.astype(object), "events": found["size"].to_numpy(),
                         "last": found["max"].to_numpy(),
                         "digest": digests.to_numpy()})  # fmt: skip


def changed_cases(before: pd.DataFrame, now: pd.DataFrame) -> list[str]:
    """The cases of ``now`` whose signature (events and digest) is not the one in ``before``."""
    compared = [c for c in ("events", "digest") if c in before.columns and c in now.columns]
    merged = now.merge(before[["case", *compared]], on="case", how="left", suffixes=("", "_before"))
    differs = np.zeros(len(merged), dtype=bool)
    for column in compared:
        differs |= (merged[column] != merged[f"{column}_before"]).to_numpy(dtype=bool)
    return merged.loc[differs, "case"].tolist()


def is_in(values: pd.Series, wanted: Collection[str] | pd.Series) -> np.ndarray:
    """Which of ``values`` are in ``wanted``, by one hash lookup each (in Arrow, for text).

    (``Series.isin`` on Arrow strings converts every wanted value in Python.)

    Example:
        >>> is_in(pd.Series(["c1", "c2", None]), {"c2"}).tolist()
        [False, True, False]
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    items = list(wanted) if isinstance(wanted, (set, frozenset)) else wanted
    try:
        array = pa.array(values, from_pandas=True)
        if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
            raise pa.ArrowTypeError(f"not text: {array.type}")
        choices = pa.array(items, from_pandas=True, type=array.type)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pd.Index(values, dtype=object).isin(np.asarray(items, dtype=object))
    found = pc.is_in(array, value_set=choices, skip_nulls=True)
    return found.fill_null(False).to_numpy(zero_copy_only=False)


def _merged(log: pd.DataFrame, fresh: pd.DataFrame | None, keep: pd.Series) -> pd.DataFrame:
    """``log`` with the cases of ``fresh`` taken from ``fresh``, of the cases in ``keep``."""
    if fresh is not None and len(fresh):
        log = log[~is_in(log["case"], fresh["case"].unique())]
    parts = [part for part in (log, fresh) if part is not None]
    return _union([part[is_in(part["case"], keep)] for part in parts])


def _union(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Event logs of different cases as one, sorted by case and time."""
    from kgsentinel.detectors.events import sort_event_log

    parts = [part for part in parts if len(part)] or parts[:1]
    if len(parts) == 1:
        return parts[0].reset_index(drop=True)
    merged = pd.concat(parts, ignore_index=True)
    if not all(part["case"].is_monotonic_increasing for part in parts):
        return sort_event_log(merged)
    # each is sorted and they share no case: ordering the cases is enough (stable, so each
    # case keeps its events' order), and far cheaper than sorting every event again
    return merged.sort_values("case", kind="stable").reset_index(drop=True)


def _rows_of(path: Path, cases: list[str]) -> pd.DataFrame:
    """The rows of ``cases`` in the log cached at ``path``, reading only the row groups
    that hold them (the log is sorted by case, so those of a few cases are few)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    file = pq.ParquetFile(path)
    column = file.read(columns=["case"])["case"]
    hit = pc.is_in(column, value_set=pa.array(cases).cast(column.type)).fill_null(False)
    rows = np.flatnonzero(hit.to_numpy(zero_copy_only=False))
    if not len(rows):
        return pd.DataFrame(columns=["case", "event"])
    sizes = [file.metadata.row_group(i).num_rows for i in range(file.num_row_groups)]
    groups = np.unique(np.searchsorted(np.cumsum(sizes), rows, side="right"))
    frame = file.read_row_groups(groups.tolist()).to_pandas()
    return frame[is_in(frame["case"], cases)]


def _read_fresh(folder: Path) -> pd.DataFrame | None:
    """The events of the cases read again since the log was cached whole (None: none)."""
    path = folder / "events-fresh.parquet"
    return pd.read_parquet(path) if path.exists() else None


def _instants(times: pd.Series) -> pd.Series:
    """Times as UTC instants in nanoseconds, however they were written or parsed."""
    parsed = pd.to_datetime(times, utc=True, format="ISO8601", errors="coerce")
    return parsed.astype("datetime64[ns, UTC]")


def _saved_generation(folder: Path) -> int:
    try:
        return int((folder / "generation").read_text(encoding="ascii"))
    except (OSError, ValueError):
        return -1


def _write_text(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    temporary.write_text(text, encoding="ascii")
    temporary.replace(path)


def _lookup_cases(store: GraphStore, subjects: Sequence[str]) -> pd.DataFrame:
    """The case of each of ``subjects`` that is an event with one (columns event, value)."""
    from kgsentinel.detectors.events import lookup_values

    return lookup_values(store, _CASES_OF, "event", subjects)


def _share(cases: list[str], signatures: pd.DataFrame) -> float:
    """The share of all events that belong to ``cases``."""
    total = max(1, int(signatures["events"].sum()))
    return int(signatures.loc[is_in(signatures["case"], cases), "events"].sum()) / total


def _read_signatures(path: Path) -> tuple[pd.DataFrame, str]:
    """The signatures written at ``path`` and their token (a new one if they have none)."""
    import pyarrow.parquet as pq

    token = (pq.read_schema(path).metadata or {}).get(_TOKEN)
    return pd.read_parquet(path), token.decode("ascii") if token else uuid.uuid4().hex


def _write_parquet(
    frame: pd.DataFrame, path: Path, *, token: str | None = None, row_group_size: int | None = None
) -> None:
    """Write ``frame`` at ``path`` atomically (with ``token`` in its metadata, when given)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    table = pa.Table.from_pandas(frame, preserve_index=False)
    if token is not None:
        table = table.replace_schema_metadata({**(table.schema.metadata or {}),
                                               _TOKEN: token.encode("ascii")})  # fmt: skip
    pq.write_table(table, temporary, row_group_size=row_group_size)
    temporary.replace(path)
