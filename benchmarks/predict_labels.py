"""Outcome labels, leak-free prefixes and the temporal split of the prediction benchmark.

The labels are those of the public benchmark of Teinemaa et al. (2019),
"Outcome-Oriented Predictive Process Monitoring: Review and Benchmark":

- **BPIC 2012** (all lifecycle transitions, the activity named with its
  transition as the log's classifier says, e.g. ``O_ACCEPTED-COMPLETE``): a
  case's outcome is its *last* offer event (``O_...``); cases whose last offer
  event is not ``O_ACCEPTED``, ``O_CANCELLED`` or ``O_DECLINED`` (COMPLETE)
  are left out; one task per outcome (1 = that outcome);
- **Sepsis** task 2: cases with a release (``Release A`` to ``E``); 1 = the
  patient is admitted to intensive care (``Admission IC``);
- **Road traffic fines**: 1 = the fine is sent for credit collection
  (``Send for Credit Collection``); cases whose last event is ``Send Fine``
  are still running and left out (which leaves the benchmark's 129,615 cases).

Every case has a *decision*: the event at which its label becomes known. For
BPIC 2012 it is the last offer event (for every case, whatever its label);
for a "reaches" task it is the first event of the activity when the case has
one, and otherwise the event that closes the case (a release for Sepsis, the
last event for road traffic fines). A case's prefixes are cut before its
decision *and before every event less than a second before it* (or later):
in BPIC 2012 the application's own outcome (``A_APPROVED``, ``A_REGISTERED``,
``A_ACTIVATED``, ``A_DECLINED``, ``A_CANCELLED``) and the closing of the
call-back work item are logged in the same few milliseconds as the offer's
outcome, often just before it, while a person's next step is seconds to
hours away (of the last events kept before a decision, 11.7% are within
10 ms and none between 1 and 5 s). A case with no event before its
decision is dropped (nothing could be predicted for it). This is stricter than
the published benchmark, which cut only Sepsis's positive cases: there a long
enough prefix could contain the answer.

The split is Teinemaa's strict temporal split: cases ordered by their first
event, the oldest 80% train and the newest 20% test, and training events at or
after the first test event dropped.

Example:
    >>> import pandas as pd
    >>> from kgsentinel.detectors.events import as_event_log
    >>> log = as_event_log(pd.DataFrame({
    ...     "case_id": ["1", "1", "1", "1", "2", "2", "2"],
    ...     "activity": ["Triage", "CRP", "Admission IC", "Release A", "Triage", "CRP",
    ...                  "Release A"],
    ...     "timestamp": pd.to_datetime(["2026-01-01 09:00", "2026-01-01 10:00", "2026-01-01 11:00",
    ...                                  "2026-01-03 08:00", "2026-01-02 09:00", "2026-01-02 10:00",
    ...                                  "2026-01-04 08:00"])}))
    >>> decisions = first_reached(log, "Admission IC", closing=["Release A"])
    >>> decisions["label"].tolist()
    [1, 0]
    >>> prefixes = cut_before(log, decisions)
    >>> prefixes.groupby("case_id")["activity"].agg(list).tolist()
    [['Triage', 'CRP'], ['Triage', 'CRP']]
    >>> leaks(prefixes, decisions, revealing=["Admission IC", "Release A"])
    {}
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "LOGS",
    "OFFER_DECISIONS",
    "TASKS",
    "LogSpec",
    "Task",
    "cut_before",
    "decisions_for",
    "first_reached",
    "leaks",
    "max_prefix_length",
    "offer_decisions",
    "read_log_frame",
    "remaining_hours",
    "sample_cases",
    "temporal_split",
]

#: BPIC 2012: the last offer event that decides a case (the others are left out)
OFFER_DECISIONS = ("O_ACCEPTED-COMPLETE", "O_CANCELLED-COMPLETE", "O_DECLINED-COMPLETE")
#: BPIC 2012: the application's outcome, logged at the instant of the offer's
APPLICATION_OUTCOMES = tuple(
    f"A_{name}-COMPLETE"
    for name in ("APPROVED", "REGISTERED", "ACTIVATED", "DECLINED", "CANCELLED")
)
SEPSIS_RELEASES = tuple(f"Release {letter}" for letter in "ABCDE")
#: events this close before a decision are logged with it (the same transaction)
SIMULTANEOUS = pd.Timedelta(seconds=1)


@dataclass(frozen=True)
class LogSpec:
    """A real log: where it is (under ``--shared``) and how to read it."""

    path: str
    #: name activities ``<concept:name>-<LIFECYCLE>`` and keep every transition
    lifecycle_in_activity: bool = False
    #: an event attribute that is the resource (Sepsis records ``org:group`` only)
    resource_attribute: str | None = None
    #: activities whose last occurrence ends a finished case (for remaining time)
    end_activities: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Task:
    """One prediction task: a log, how its cases are labelled and decided."""

    name: str
    log: str
    #: "offer" (BPIC 2012's last offer event) or "reaches" (the case has ``activity``)
    kind: str
    activity: str
    #: "reaches": only cases having one of these (None: every case)
    required: tuple[str, ...] | None = None
    #: "reaches": the events that close a case without the activity (None: its last event)
    closing: tuple[str, ...] | None = None
    #: "reaches": cases whose last activity is one of these are still running, left out
    running: tuple[str, ...] | None = None
    #: a fixed maximum prefix length (None: Teinemaa's min(40, 90th percentile))
    max_prefix_length: int | None = None
    definition: str = ""
    #: the published benchmark cuts the positive cases before their decision (else: whole cases)
    published_cuts_positives: bool = False

    @property
    def revealing(self) -> tuple[str, ...]:
        """Activities that must never be in a prefix: they tell the label."""
        if self.kind == "offer":
            return APPLICATION_OUTCOMES
        return (self.activity, *(self.closing or ()))


LOGS = {
    "bpic2012": LogSpec("event-logs/bpic2012.xes.gz", lifecycle_in_activity=True),
    "sepsis": LogSpec("event-logs/sepsis.xes.gz", resource_attribute="org:group"),
    "road-traffic-fines": LogSpec(
        "event-logs/road-traffic-fines.xes.gz",
        end_activities=("Payment", "Send for Credit Collection"),
    ),
}

TASKS = (
    *(
        Task(
            f"bpic2012_{outcome.lower()}",
            "bpic2012",
            "offer",
            f"O_{outcome}-COMPLETE",
            definition=f"last offer event is O_{outcome} (of O_ACCEPTED, O_CANCELLED, "
            "O_DECLINED; other cases left out)",
        )
        for outcome in ("ACCEPTED", "CANCELLED", "DECLINED")
    ),
    Task(
        "sepsis_2",
        "sepsis",
        "reaches",
        "Admission IC",
        required=SEPSIS_RELEASES,
        closing=SEPSIS_RELEASES,
        definition="admitted to intensive care (Admission IC); cases with a release",
        published_cuts_positives=True,
    ),
    Task(
        "traffic_fines_1",
        "road-traffic-fines",
        "reaches",
        "Send for Credit Collection",
        running=("Send Fine",),
        max_prefix_length=10,
        definition="sent for credit collection; cases ending with Send Fine left out",
    ),
)


# -- reading -----------------------------------------------------------------------------------


def read_log_frame(path: str | Path, spec: LogSpec) -> pd.DataFrame:
    """A real log as an event log frame, with the case attributes on every event.

    Ties in time keep the file's order. A case attribute (BPIC 2012's
    ``AMOUNT_REQ``) is known from the case's start, so every event carries it;
    date-valued case attributes are left out.
    """
    from kgsentinel.detectors.events import as_event_log
    from kgsentinel.ingest.eventlog import ATTR, read_log

    events, cases = [], []
    for chunk in read_log(path):
        links = chunk.event_objects
        case_of = links[links["qualifier"] == "case"].drop_duplicates("event_id")
        part = chunk.events.assign(
            case_id=chunk.events["event_id"].map(case_of.set_index("event_id")["object_id"])
        )
        events.append(part[part["case_id"].notna()])
        cases.append(chunk.objects[chunk.objects["object_type"] == "case"])
    table = pd.concat(events, ignore_index=True)
    table["order"] = np.char.zfill(np.arange(len(table)).astype(str), 9)
    if spec.lifecycle_in_activity:
        table["activity"] = table["activity"] + "-" + table["lifecycle"].astype(str).str.upper()
    if spec.resource_attribute:
        table["resource"] = table.pop(ATTR + spec.resource_attribute)
    table = table.drop(columns=[c for c in ("__row__", "event_id", "lifecycle") if c in table])
    table = table.join(_case_attributes(pd.concat(cases, ignore_index=True), ATTR), on="case_id")
    table = table.rename(columns=lambda c: c[len(ATTR) :] if c.startswith(ATTR) else c)
    return as_event_log(table.dropna(axis=1, how="all"), event_id="order")


def _case_attributes(objects: pd.DataFrame, prefix: str) -> pd.DataFrame:
    """Case attributes by case id, without dates (a case's start is its first event)."""
    objects = objects.drop_duplicates("object_id").set_index("object_id")
    keep = [c for c in objects.columns if c.startswith(prefix) and not _dates(objects[c])]
    return objects[keep]


def _dates(values: pd.Series) -> bool:
    present = values.dropna()
    if present.empty or pd.api.types.is_numeric_dtype(present):
        return pd.api.types.is_datetime64_any_dtype(values)
    parsed = pd.to_datetime(present.astype(str).head(50), errors="coerce", format="ISO8601")
    return bool(parsed.notna().all())


# -- labels and decisions ----------------------------------------------------------------------


def decisions_for(log: pd.DataFrame, task: Task) -> pd.DataFrame:
    """The label and deciding event of every case of ``task`` (see the module docs)."""
    if task.kind == "offer":
        return offer_decisions(log, task.activity)
    return first_reached(
        log, task.activity, required=task.required, closing=task.closing, running=task.running
    )


def offer_decisions(
    log: pd.DataFrame, outcome: str, *, decisions: Sequence[str] = OFFER_DECISIONS
) -> pd.DataFrame:
    """BPIC 2012: per case whose last offer event is one of ``decisions``, 1 when it is ``outcome``.

    Index: case IRI; columns ``label``, ``position`` (of the deciding event,
    from 0) and ``time``.
    """
    events = _positioned(log)
    offers = events[events["activity"].str.startswith("O_")]
    last = offers.groupby("case", sort=False).tail(1)
    last = last[last["activity"].isin(decisions)]
    return _decisions(last, last["activity"] == outcome)


def first_reached(
    log: pd.DataFrame,
    activity: str,
    *,
    required: Sequence[str] | None = None,
    closing: Sequence[str] | None = None,
    running: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Per case, 1 when it has ``activity``, decided at its first one, else at its close.

    Only cases with one of ``required`` count (all when None), and none whose
    last activity is one of ``running`` (they have not finished). A case without
    the activity is decided at its first ``closing`` event, or at its last
    event when ``closing`` is None or it has none. Columns as
    :func:`offer_decisions`.
    """
    events = _positioned(log)
    if required is not None:
        having = events.loc[events["activity"].isin(required), "case"].unique()
        events = events[events["case"].isin(having)]
    if running is not None:
        ends = events.groupby("case", sort=False)["activity"].last()
        events = events[events["case"].isin(ends.index[~ends.isin(running)])]
    reached = events[events["activity"] == activity].groupby("case", sort=False).head(1)
    last = events.groupby("case", sort=False).tail(1)
    closed = last
    if closing is not None:
        closers = events[events["activity"].isin(closing)].groupby("case", sort=False).head(1)
        closed = pd.concat([closers, last[~last["case"].isin(closers["case"])]])
    closed = closed[~closed["case"].isin(reached["case"])]
    deciding = pd.concat([reached, closed])
    decided = _decisions(deciding, deciding["case"].isin(reached["case"]))
    return decided.loc[events["case"].unique()]


def _positioned(log: pd.DataFrame) -> pd.DataFrame:
    return log.assign(position=log.groupby("case", sort=False).cumcount())


def _decisions(events: pd.DataFrame, positive: pd.Series) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "label": positive.astype(int).to_numpy(),
            "position": events["position"].to_numpy(),
            "time": events["timestamp"].to_numpy(),
        },
        index=pd.Index(events["case"].to_numpy(), name="case"),
    )


def cut_before(log: pd.DataFrame, decisions: pd.DataFrame) -> pd.DataFrame:
    """The events of decided cases before their decision, in position and in time.

    Events less than :data:`SIMULTANEOUS` before the decision go too, whatever
    their place in the file; a case with no event left is dropped.
    """
    events = _positioned(log[log["case"].isin(decisions.index)])
    deciding = decisions.reindex(events["case"].to_numpy())
    keep = (events["position"].to_numpy() < deciding["position"].to_numpy()) & (
        events["timestamp"].to_numpy() <= (deciding["time"] - SIMULTANEOUS).to_numpy()
    )
    return events[keep].drop(columns="position").reset_index(drop=True)


def published_cases(log: pd.DataFrame, decisions: pd.DataFrame, task: Task) -> pd.DataFrame:
    """The decided cases as the published benchmark keeps them: whole, deciding event and
    all, except that a task with ``published_cuts_positives`` cuts its positives before
    their decision (in position only). A case of k events is then its own prefix of length k.
    """
    events = _positioned(log[log["case"].isin(decisions.index)])
    if task.published_cuts_positives:
        deciding = decisions.reindex(events["case"].to_numpy())
        positive = deciding["label"].to_numpy() == 1
        events = events[
            ~positive | (events["position"].to_numpy() < deciding["position"].to_numpy())
        ]
    return events.drop(columns="position").reset_index(drop=True)


def leaks(
    prefixes: pd.DataFrame, decisions: pd.DataFrame, *, revealing: Sequence[str]
) -> dict[str, int]:
    """What in ``prefixes`` could tell a label (empty when nothing): events less than
    :data:`SIMULTANEOUS` before their case's decision or later, or of a ``revealing``
    activity."""
    found: dict[str, int] = {}
    deciding = decisions.reindex(prefixes["case"].to_numpy())
    late = prefixes["timestamp"].to_numpy() > (deciding["time"] - SIMULTANEOUS).to_numpy()
    if late.any():
        found["events less than a second before their case's decision, or later"] = int(late.sum())
    counts = prefixes.loc[prefixes["activity"].isin(revealing), "activity"].value_counts()
    found.update({f"{activity} events": int(n) for activity, n in counts.items()})
    undecided = int((~prefixes["case"].isin(decisions.index)).sum())
    if undecided:
        found["events of cases without a decision"] = undecided
    return found


# -- prefixes and split ------------------------------------------------------------------------


def max_prefix_length(
    prefixes: pd.DataFrame, labels: pd.Series, *, cap: int = 40, quantile: float = 0.9
) -> int:
    """Teinemaa's longest prefix: the 90th percentile of positive cases' lengths, at most 40.

    Example:
        >>> log = pd.DataFrame({"case": ["a"] * 3 + ["b"] * 50})
        >>> max_prefix_length(log, pd.Series({"a": 1, "b": 1}))
        40
    """
    lengths = prefixes.groupby("case").size()
    positive = lengths[lengths.index.isin(labels.index[labels == 1])]
    if positive.empty:
        return cap
    return int(min(cap, math.ceil(positive.quantile(quantile))))


def temporal_split(
    log: pd.DataFrame, *, train_share: float = 0.8
) -> tuple[pd.DataFrame, pd.DataFrame, pd.Timestamp]:
    """Oldest ``train_share`` of the cases (by first event) to train, the rest to test;
    training events at or after the first test event are dropped. Also the split time.

    Example:
        >>> log = pd.DataFrame({"case": ["a", "a", "b", "c"], "timestamp": pd.to_datetime(
        ...     ["2026-01-01", "2026-01-09", "2026-01-02", "2026-01-05"])})
        >>> train, test, at = temporal_split(log, train_share=0.67)
        >>> train["case"].tolist(), test["case"].tolist(), str(at.date())
        (['a', 'b'], ['c'], '2026-01-05')
    """
    starts = log.groupby("case")["timestamp"].min().sort_values(kind="stable")
    train_cases = starts.index[: int(train_share * len(starts))]
    in_train = log["case"].isin(train_cases)
    split_time = log.loc[~in_train, "timestamp"].min()
    train = log[in_train & (log["timestamp"] < split_time)].reset_index(drop=True)
    return train, log[~in_train].reset_index(drop=True), split_time


def sample_cases(log: pd.DataFrame, count: int | None, *, seed: int) -> pd.DataFrame:
    """At most ``count`` cases of ``log``, drawn at random (all when None)."""
    cases = log["case"].unique()
    if count is None or count >= len(cases):
        return log
    chosen = np.random.default_rng(seed).choice(cases, size=count, replace=False)
    return log[log["case"].isin(chosen)].reset_index(drop=True)


def remaining_hours(log: pd.DataFrame) -> pd.Series:
    """Per event, hours from it to its case's last event (aligned with ``log``).

    Example:
        >>> log = pd.DataFrame({"case": ["a", "a"], "timestamp": pd.to_datetime(
        ...     ["2026-01-01 09:00", "2026-01-01 12:30"])})
        >>> remaining_hours(log).tolist()
        [3.5, 0.0]
    """
    end = log.groupby("case")["timestamp"].transform("max")
    return (end - log["timestamp"]).dt.total_seconds() / 3600.0
