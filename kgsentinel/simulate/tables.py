"""Real event logs as flat event tables, the shape ``generate`` writes and ``inject`` reads.

``read_log_table(path)`` reads any log kgsentinel ingests (XES, OCEL 2.0,
CloudEvents) through :func:`kgsentinel.ingest.eventlog.read_log`, chunk by
chunk, and keeps one row per event that belongs to a case: ``case_id,
activity, timestamp, resource`` and the event attributes (without their
``attr:`` prefix). Logs that record lifecycle transitions keep their
``complete`` events only (``lifecycle=None`` keeps all of them).

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = Path(tmp.name) / "tiny.xes"
    >>> _ = path.write_text('''<log xes.version="1.0"><trace>
    ...   <string key="concept:name" value="7"/>
    ...   <event><string key="concept:name" value="Brief"/>
    ...     <string key="lifecycle:transition" value="start"/>
    ...     <date key="time:timestamp" value="2025-02-03T09:00:00Z"/></event>
    ...   <event><string key="concept:name" value="Brief"/>
    ...     <string key="lifecycle:transition" value="complete"/>
    ...     <date key="time:timestamp" value="2025-02-03T10:00:00Z"/>
    ...     <float key="cost" value="12.5"/></event>
    ... </trace></log>''')
    >>> read_log_table(path).to_dict("records")  # doctest: +NORMALIZE_WHITESPACE
    [{'case_id': '7', 'activity': 'Brief',
      'timestamp': Timestamp('2025-02-03 10:00:00+0000', tz='UTC'), 'resource': nan, 'cost': 12.5}]
    >>> tmp.cleanup()
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:  # pragma: no cover
    from kgsentinel.ingest.eventlog import LogChunk

__all__ = ["read_log_table"]

_CORE = ["case_id", "activity", "timestamp", "resource"]


def read_log_table(
    path: str | os.PathLike[str],
    *,
    lifecycle: str | None = "complete",
    max_cases: int | None = None,
) -> pd.DataFrame:
    """The events of a log file that belong to a case, as a table sorted by case and time.

    ``lifecycle`` keeps the events with that transition (and those with none)
    when the log has any; ``max_cases`` keeps the first cases of the file.
    """
    from kgsentinel.ingest.eventlog import ATTR, LogChunk, read_log

    parts: list[pd.DataFrame] = []
    seen: dict[str, None] = {}
    for chunk in read_log(path):
        part = _case_events(chunk)
        if max_cases is not None:
            seen.update(dict.fromkeys(part["case_id"].unique()))
            keep = set(list(seen)[:max_cases])
            part = part[part["case_id"].isin(keep)]
        parts.append(part)
        if max_cases is not None and len(seen) > max_cases:
            break
    events = pd.concat(parts, ignore_index=True) if parts else _case_events(LogChunk.empty())
    if lifecycle is not None and "lifecycle" in events:
        transitions = events["lifecycle"].astype("string").str.lower()
        if (transitions == lifecycle.lower()).any():
            events = events[transitions.isna() | (transitions == lifecycle.lower())]
    attrs = [c for c in events.columns if c.startswith(ATTR)]
    renamed = {c: c[len(ATTR) :] for c in attrs if c[len(ATTR) :] not in _CORE}
    table = events[_CORE + attrs].rename(columns=renamed)
    table = table.dropna(axis=1, how="all")
    for column in _CORE:
        if column not in table:
            table[column] = pd.Series(pd.NA, index=table.index, dtype="str")
    table = table.astype({"case_id": "str", "activity": "str"})
    table = table.sort_values(["case_id", "timestamp"], kind="stable").reset_index(drop=True)
    return table[_CORE + [c for c in table.columns if c not in _CORE]]


def _case_events(chunk: LogChunk) -> pd.DataFrame:
    events, links = chunk.events, chunk.event_objects
    cases = links[links["qualifier"] == "case"].drop_duplicates("event_id")
    case_of = cases.set_index("event_id")["object_id"]
    out = events.assign(case_id=events["event_id"].map(case_of))
    return out[out["case_id"].notna()]
