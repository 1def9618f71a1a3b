"""Seeded event logs from a process model: one row per event, ready for ``as_event_log``.

The control flow of each case is played from the model's block tree (XOR
draws, AND interleavings, optional steps, loops); times, resources and values
are then drawn for all events at once with numpy, so a million events take
seconds. Each event's timestamp is when it completed: the previous event's
time plus the activity's waiting and working time (lognormal, scaled by the
case's category). Timestamps strictly increase within a case (by a minute at
least), so the order of events is never ambiguous.

Example:
    >>> log = generate("npi", cases=3, seed=1)
    >>> list(log.columns)
    ['case_id', 'activity', 'timestamp', 'resource', 'cost', 'market']
    >>> log.groupby("case_id").activity.first().unique().tolist()
    ['Brief']
    >>> log.equals(generate("npi", cases=3, seed=1))
    True
"""

from __future__ import annotations

import random

import numpy as np
import pandas as pd

from kgsentinel.simulate.models import And, Block, Loop, Model, Opt, Seq, Xor, get_model

__all__ = ["generate", "play"]

_MIN_GAP_SECONDS = 60


def generate(model: Model | str, cases: int = 1000, seed: int = 0) -> pd.DataFrame:
    """``cases`` cases of ``model`` (a :class:`Model` or a built-in name), seeded.

    Columns: ``case_id, activity, timestamp, resource``, the model's numeric
    attribute (``value_name``) and its category, if it has one. Rows are sorted
    by case, then time.
    """
    model = get_model(model) if isinstance(model, str) else model
    if cases < 0:
        raise ValueError(f"cases must be zero or more, not {cases}")
    draw = random.Random(seed)  # noqa: S311 (a simulation, not a secret)
    traces = [play(model.process, draw) for _ in range(cases)]
    rng = np.random.default_rng(seed)
    names = [a.name for a in model.activities]
    code_of = {name: i for i, name in enumerate(names)}
    codes = np.fromiter((code_of[a] for trace in traces for a in trace), dtype=np.int64)
    lengths = np.fromiter((len(trace) for trace in traces), dtype=np.int64, count=cases)
    case_of = np.repeat(np.arange(cases), lengths)

    category, speed = _categories(model, cases, rng)
    seconds = _gaps(model, codes, speed[case_of], rng)
    starts = _case_starts(model, cases, rng)
    ends = np.cumsum(seconds)
    first = np.cumsum(lengths) - lengths
    before = np.concatenate([[0], ends])[first]  # seconds of earlier cases
    times = starts[case_of] + ends - np.repeat(before, lengths)

    width = max(5, len(str(cases)))
    case_ids = np.array([f"{model.name}-{i + 1:0{width}d}" for i in range(cases)], dtype=object)
    frame = pd.DataFrame({
        "case_id": pd.Series(case_ids[case_of], dtype="str"),
        "activity": pd.Series(np.array(names, dtype=object)[codes], dtype="str"),
        "timestamp": pd.to_datetime(times, unit="s", utc=True).as_unit("us"),
        "resource": _resources(model, codes, rng),
        model.value_name: _values(model, codes, rng),
    })  # fmt: skip
    if model.category is not None:
        frame[model.category.name] = pd.Series(category[case_of], dtype="str")
    return frame


def play(block: Block, draw: random.Random) -> list[str]:
    """The activities of one case of ``block``, in order.

    Example:
        >>> play(Seq("a", And("b", "c"), Opt("d", 0.0)), random.Random(0)) in (
        ...     ["a", "b", "c"], ["a", "c", "b"])
        True
    """
    out: list[str] = []
    _play(block, draw, out)
    return out


def _play(block: Block, draw: random.Random, out: list[str]) -> None:
    if isinstance(block, str):
        out.append(block)
    elif isinstance(block, Seq):
        for step in block.steps:
            _play(step, draw, out)
    elif isinstance(block, Xor):
        _play(_branch(block, draw.random()), draw, out)
    elif isinstance(block, And):
        out.extend(_interleave([play(branch, draw) for branch in block.branches], draw))
    elif isinstance(block, Opt):
        if draw.random() < block.p:
            _play(block.block, draw, out)
    elif isinstance(block, Loop):
        _play(block.body, draw, out)
        repeats = 0
        while repeats < block.most and draw.random() < block.p:
            repeats += 1
            if block.redo is not None:
                _play(block.redo, draw, out)
            _play(block.body, draw, out)
    else:
        raise TypeError(f"not a block: {block!r}")


def _branch(block: Xor, u: float) -> Block:
    total = 0.0
    for p, branch in block.branches:
        total += p
        if u < total:
            return branch
    return block.branches[-1][1]


def _interleave(parts: list[list[str]], draw: random.Random) -> list[str]:
    """A uniformly random merge of the parts, each keeping its own order."""
    left = [len(part) for part in parts]
    taken = [0] * len(parts)
    out: list[str] = []
    remaining = sum(left)
    while remaining:
        pick = draw.random() * remaining
        for i, count in enumerate(left):
            if pick < count:
                out.append(parts[i][taken[i]])
                taken[i] += 1
                left[i] -= 1
                break
            pick -= count
        remaining -= 1
    return out


def _categories(
    model: Model, cases: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    if model.category is None:
        return np.empty(cases, dtype=object), np.ones(cases)
    choices = list(model.category.choices)
    probs = np.array([model.category.choices[c] for c in choices], dtype=float)
    picked = rng.choice(len(choices), size=cases, p=probs / probs.sum())
    speed = np.array([model.category.speed.get(c, 1.0) for c in choices])
    return np.array(choices, dtype=object)[picked], speed[picked]


def _gaps(
    model: Model, codes: np.ndarray, speed: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Seconds from the previous event to each event: waiting plus working time."""
    hours = np.array([a.hours for a in model.activities], dtype=float)[codes]
    wait = np.array([a.wait for a in model.activities], dtype=float)[codes]
    spread = np.array([a.spread for a in model.activities], dtype=float)[codes]
    work = hours * rng.lognormal(0.0, 1.0, len(codes)) ** spread
    idle = wait * rng.lognormal(0.0, 1.0, len(codes)) ** spread
    seconds = np.rint((work + idle) * speed * 3600.0).astype(np.int64)
    return np.maximum(seconds, _MIN_GAP_SECONDS)


def _case_starts(model: Model, cases: int, rng: np.random.Generator) -> np.ndarray:
    """Epoch seconds of each case's start: a Poisson stream of ``cases_per_day``."""
    origin = int(pd.Timestamp(model.start).timestamp())
    between = rng.exponential(86_400.0 / model.cases_per_day, cases)
    return origin + np.rint(np.cumsum(between)).astype(np.int64)


def _resources(model: Model, codes: np.ndarray, rng: np.random.Generator) -> pd.Series:
    pool_of = [a.pool for a in model.activities]
    out = np.full(len(codes), None, dtype=object)
    for pool in model.pools:
        where = np.flatnonzero(np.isin(codes, [i for i, p in enumerate(pool_of) if p == pool.name]))
        members = np.array(pool.members(), dtype=object)
        out[where] = members[rng.choice(pool.size, size=len(where), p=pool.weights())]
    return pd.Series(out, dtype="str")


def _values(model: Model, codes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    median = np.array([np.nan if a.value is None else a.value for a in model.activities])[codes]
    spread = np.array([a.value_spread for a in model.activities])[codes]
    return np.round(median * rng.lognormal(0.0, 1.0, len(codes)) ** spread, 2)
