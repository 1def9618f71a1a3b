"""Process models to simulate: a small block language and four models with real variety.

A model's ``process`` is a tree of blocks whose leaves are activity names:

=================================  ================================================
block                              meaning
=================================  ================================================
``"Brief"``                        one event of the activity
``Seq(a, b, ...)``                 each in order
``Xor((0.7, a), (0.3, b))``        exactly one branch, drawn by its probability
``And(a, b, ...)``                 every branch, their events randomly interleaved
``Opt(a, p)``                      ``a`` in a share ``p`` of cases
``Loop(body, p, redo=r, most=3)``  ``body``; then, while a draw falls below ``p``
                                   (at most ``most`` times), ``redo`` then ``body``
=================================  ================================================

Each :class:`Activity` says how long it takes (lognormal waiting and working
time, median hours), which resource pool does it, and the median of its
numeric attribute (the model's ``value_name``, e.g. cost or amount). Pools
have skewed workloads: the first member does the most. A :class:`Category` is
drawn once per case (channel, priority, market...) and is written on every
event; it can speed a case up or slow it down.

Example:
    >>> model = Model(
    ...     name="tiny",
    ...     process=Seq("Open", Xor((0.5, "Fix"), (0.5, "Refuse")), "Close"),
    ...     activities=(Activity("Open", hours=1), Activity("Fix", hours=8),
    ...                 Activity("Refuse", hours=1), Activity("Close", hours=1)),
    ... )
    >>> sorted(model.activity_names())
    ['Close', 'Fix', 'Open', 'Refuse']
    >>> sorted(MODELS)
    ['helpdesk', 'loan', 'npi', 'order-to-cash']
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeAlias

__all__ = [
    "MODELS",
    "Activity",
    "And",
    "Block",
    "Category",
    "Loop",
    "Model",
    "Opt",
    "Pool",
    "Seq",
    "Xor",
    "get_model",
]


@dataclass(frozen=True, init=False)
class Seq:
    """Its steps, in order."""

    steps: tuple[Block, ...]

    def __init__(self, *steps: Block) -> None:
        object.__setattr__(self, "steps", steps)


@dataclass(frozen=True, init=False)
class Xor:
    """Exactly one of its branches, each ``(probability, block)``; probabilities sum to 1."""

    branches: tuple[tuple[float, Block], ...]

    def __init__(self, *branches: tuple[float, Block]) -> None:
        total = sum(p for p, _ in branches)
        if not branches or abs(total - 1.0) > 1e-9:
            raise ValueError(f"Xor branch probabilities must sum to 1, not {total}")
        object.__setattr__(self, "branches", branches)


@dataclass(frozen=True, init=False)
class And:
    """All its branches, their events interleaved at random (each branch keeps its order)."""

    branches: tuple[Block, ...]

    def __init__(self, *branches: Block) -> None:
        object.__setattr__(self, "branches", branches)


@dataclass(frozen=True)
class Opt:
    """``block`` in a share ``p`` of cases, nothing otherwise."""

    block: Block
    p: float


@dataclass(frozen=True)
class Loop:
    """``body``, then with probability ``p`` (up to ``most`` times) ``redo`` and ``body`` again."""

    body: Block
    p: float
    redo: Block | None = None
    most: int = 3


Block: TypeAlias = str | Seq | Xor | And | Opt | Loop


@dataclass(frozen=True)
class Activity:
    """An activity: median waiting and working hours, its resource pool, its value.

    ``spread`` is the lognormal sigma of both times; ``value`` the median of the
    numeric attribute (None: the activity has none) and ``value_spread`` its sigma.
    """

    name: str
    hours: float
    wait: float = 0.0
    spread: float = 0.5
    pool: str | None = None
    value: float | None = None
    value_spread: float = 0.3


@dataclass(frozen=True)
class Pool:
    """A named pool of ``size`` resources; member i's workload is proportional to 1/(i+1)^skew."""

    name: str
    size: int
    skew: float = 1.0

    def members(self) -> list[str]:
        """The resources' names, busiest first."""
        return [f"{self.name}-{i + 1:02d}" for i in range(self.size)]

    def weights(self) -> list[float]:
        """Each member's share of the pool's work."""
        raw = [1.0 / (i + 1) ** self.skew for i in range(self.size)]
        total = sum(raw)
        return [w / total for w in raw]


@dataclass(frozen=True)
class Category:
    """A categorical case attribute: its choices and probabilities, and their speed factors."""

    name: str
    choices: dict[str, float]
    speed: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Model:
    """A process to simulate: its block tree, activities, pools, attributes and arrival rate."""

    name: str
    process: Block
    activities: tuple[Activity, ...]
    pools: tuple[Pool, ...] = ()
    value_name: str = "cost"
    category: Category | None = None
    cases_per_day: float = 20.0
    start: str = "2024-01-01T08:00:00Z"

    def __post_init__(self) -> None:
        declared = {a.name for a in self.activities}
        used = set(_leaves(self.process))
        if used - declared:
            missing = sorted(used - declared)
            raise ValueError(f"model {self.name!r}: undeclared activities {missing}")
        pools = {p.name for p in self.pools}
        unknown = {a.pool for a in self.activities if a.pool is not None} - pools
        if unknown:
            raise ValueError(f"model {self.name!r}: undeclared pools {sorted(unknown)}")

    def activity_names(self) -> list[str]:
        """The activities the process uses, in declaration order."""
        used = set(_leaves(self.process))
        return [a.name for a in self.activities if a.name in used]


def _leaves(block: Block) -> list[str]:
    if isinstance(block, str):
        return [block]
    if isinstance(block, Seq):
        return [name for step in block.steps for name in _leaves(step)]
    if isinstance(block, Xor):
        return [name for _, branch in block.branches for name in _leaves(branch)]
    if isinstance(block, And):
        return [name for branch in block.branches for name in _leaves(branch)]
    if isinstance(block, Opt):
        return _leaves(block.block)
    if isinstance(block, Loop):
        return _leaves(block.body) + (_leaves(block.redo) if block.redo is not None else [])
    raise TypeError(f"not a block: {block!r}")


DAY, WEEK = 24.0, 168.0

NPI = Model(
    name="npi",
    process=Seq(
        "Brief",
        Loop(Seq("Formulation", "Stability test"), p=0.15),
        Opt("Consumer test", 0.3),
        "Safety assessment",
        And("Regulatory filing", Seq("Artwork", Opt("Artwork review", 0.4))),
        "Packaging order",
        Xor((0.75, "Production"), (0.25, "Contract manufacturing")),
        "Launch",
    ),
    activities=(
        Activity("Brief", hours=6, wait=DAY, pool="marketing", value=800),
        Activity("Formulation", hours=5 * DAY, wait=2 * DAY, pool="chemist", value=12_000),
        Activity("Stability test", hours=4 * WEEK, wait=DAY, spread=0.3, pool="lab", value=6_000),
        Activity("Consumer test", hours=2 * WEEK, wait=3 * DAY, pool="marketing", value=9_000),
        Activity("Safety assessment", hours=3 * DAY, wait=2 * DAY, pool="safety", value=4_000),
        Activity("Regulatory filing", hours=2 * WEEK, wait=2 * DAY, pool="regulatory", value=2_500),
        Activity("Artwork", hours=6 * DAY, wait=DAY, pool="design", value=7_000),
        Activity("Artwork review", hours=DAY, wait=DAY, pool="marketing", value=600),
        Activity("Packaging order", hours=4 * DAY, wait=DAY, pool="purchasing", value=30_000),
        Activity("Production", hours=8 * DAY, wait=3 * DAY, pool="plant", value=120_000),
        Activity(
            "Contract manufacturing", hours=12 * DAY, wait=5 * DAY, pool="purchasing", value=150_000
        ),
        Activity("Launch", hours=4, wait=2 * DAY, pool="marketing", value=20_000),
    ),
    pools=(
        Pool("marketing", 6),
        Pool("chemist", 8),
        Pool("lab", 4, skew=0.5),
        Pool("safety", 3),
        Pool("regulatory", 4),
        Pool("design", 5),
        Pool("purchasing", 4),
        Pool("plant", 3),
    ),
    value_name="cost",
    category=Category(
        "market", {"EU": 0.5, "US": 0.3, "APAC": 0.2}, speed={"EU": 1.0, "US": 0.9, "APAC": 1.2}
    ),
    cases_per_day=2.0,
)

ORDER_TO_CASH = Model(
    name="order-to-cash",
    process=Seq(
        "Receive order",
        Opt("Change order", 0.1),
        Xor((0.7, "Check credit"), (0.3, "Check stock")),
        Opt("Approve order", 0.25),
        And(Seq("Pick goods", "Pack goods"), "Create invoice"),
        "Ship goods",
        Opt(Loop("Send reminder", p=0.3), 0.2),
        "Receive payment",
    ),
    activities=(
        Activity("Receive order", hours=0.2, wait=0.1, pool="sales", value=1_500, value_spread=0.8),
        Activity("Change order", hours=0.5, wait=6, pool="sales", value=300),
        Activity("Check credit", hours=1, wait=3, pool="finance"),
        Activity("Check stock", hours=0.5, wait=2, pool="warehouse"),
        Activity("Approve order", hours=2, wait=8, pool="managers"),
        Activity("Pick goods", hours=2, wait=12, pool="warehouse"),
        Activity("Pack goods", hours=1, wait=2, pool="warehouse"),
        Activity(
            "Create invoice", hours=0.5, wait=6, pool="finance", value=1_500, value_spread=0.8
        ),
        Activity("Ship goods", hours=DAY, wait=6, pool="logistics", value=40),
        Activity("Send reminder", hours=0.2, wait=2 * WEEK, spread=0.3, pool="finance", value=10),
        Activity(
            "Receive payment",
            hours=0.1,
            wait=WEEK,
            spread=0.6,
            pool="finance",
            value=1_500,
            value_spread=0.8,
        ),
    ),
    pools=(
        Pool("sales", 10, skew=1.2),
        Pool("finance", 5),
        Pool("warehouse", 12, skew=0.8),
        Pool("managers", 3),
        Pool("logistics", 4),
    ),
    value_name="amount",
    category=Category(
        "channel",
        {"web": 0.6, "store": 0.25, "phone": 0.15},
        speed={"web": 0.8, "store": 1.0, "phone": 1.3},
    ),
    cases_per_day=60.0,
)

LOAN = Model(
    name="loan",
    process=Seq(
        "Submit application",
        "Check completeness",
        Opt(Loop(Seq("Request documents", "Receive documents"), p=0.25), 0.35),
        And("Check credit history", "Appraise collateral", Opt("Verify income", 0.6)),
        "Assess application",
        Xor(
            (
                0.65,
                Seq(
                    "Prepare offer",
                    "Send offer",
                    Xor((0.8, Seq("Offer accepted", "Pay out")), (0.2, "Offer declined")),
                ),
            ),
            (0.35, "Reject application"),
        ),
        "Close file",
    ),
    activities=(
        Activity("Submit application", hours=0.3, pool="applicant", value=25_000, value_spread=0.7),
        Activity("Check completeness", hours=0.5, wait=8, pool="clerk"),
        Activity("Request documents", hours=0.2, wait=2, pool="clerk"),
        Activity("Receive documents", hours=0.1, wait=4 * DAY, spread=0.7, pool="applicant"),
        Activity("Check credit history", hours=1, wait=DAY, pool="analyst"),
        Activity(
            "Appraise collateral",
            hours=2 * DAY,
            wait=2 * DAY,
            pool="appraiser",
            value=180_000,
            value_spread=0.6,
        ),
        Activity("Verify income", hours=2, wait=DAY, pool="clerk"),
        Activity("Assess application", hours=3, wait=DAY, pool="analyst"),
        Activity("Prepare offer", hours=2, wait=6, pool="advisor", value=25_000, value_spread=0.7),
        Activity("Send offer", hours=0.1, wait=2, pool="advisor"),
        Activity("Offer accepted", hours=0.1, wait=5 * DAY, spread=0.8, pool="applicant"),
        Activity("Offer declined", hours=0.1, wait=7 * DAY, spread=0.8, pool="applicant"),
        Activity(
            "Pay out", hours=0.5, wait=2 * DAY, pool="back-office", value=25_000, value_spread=0.7
        ),
        Activity("Reject application", hours=0.5, wait=4, pool="analyst"),
        Activity("Close file", hours=0.2, wait=DAY, pool="back-office"),
    ),
    pools=(
        Pool("applicant", 1),
        Pool("clerk", 8, skew=0.7),
        Pool("analyst", 6),
        Pool("appraiser", 4),
        Pool("advisor", 7, skew=1.3),
        Pool("back-office", 3),
    ),
    value_name="amount",
    category=Category(
        "product",
        {"personal": 0.5, "mortgage": 0.2, "car": 0.3},
        speed={"personal": 0.8, "mortgage": 1.5, "car": 0.9},
    ),
    cases_per_day=25.0,
)

HELPDESK = Model(
    name="helpdesk",
    process=Seq(
        "Open ticket",
        "Assign ticket",
        Opt("Wait for customer", 0.25),
        Loop(
            Seq(
                Xor(
                    (0.6, "Resolve at first line"),
                    (0.4, Seq("Escalate", "Investigate", "Apply fix")),
                ),
                "Resolve ticket",
            ),
            p=0.1,
            redo="Reopen ticket",
        ),
        And("Notify customer", Opt("Update knowledge base", 0.3)),
        "Close ticket",
    ),
    activities=(
        Activity("Open ticket", hours=0.1, pool="customer", value=5),
        Activity("Assign ticket", hours=0.1, wait=1, pool="dispatch", value=2),
        Activity("Wait for customer", hours=0.1, wait=DAY, spread=0.8, pool="customer"),
        Activity("Resolve at first line", hours=0.5, wait=4, pool="first-line", value=30),
        Activity("Escalate", hours=0.2, wait=1, pool="first-line", value=10),
        Activity("Investigate", hours=6, wait=DAY, pool="second-line", value=240),
        Activity("Apply fix", hours=3, wait=8, pool="second-line", value=120),
        Activity("Resolve ticket", hours=0.2, wait=1, pool="first-line", value=10),
        Activity("Reopen ticket", hours=0.1, wait=2 * DAY, pool="customer", value=5),
        Activity("Notify customer", hours=0.1, wait=0.5, pool="first-line", value=5),
        Activity("Update knowledge base", hours=1, wait=DAY, pool="second-line", value=45),
        Activity("Close ticket", hours=0.1, wait=3 * DAY, spread=0.4, pool="dispatch", value=2),
    ),
    pools=(
        Pool("customer", 1),
        Pool("dispatch", 3, skew=1.5),
        Pool("first-line", 15, skew=0.9),
        Pool("second-line", 6),
    ),
    value_name="effort",
    category=Category(
        "priority",
        {"low": 0.5, "medium": 0.35, "high": 0.15},
        speed={"low": 1.3, "medium": 1.0, "high": 0.5},
    ),
    cases_per_day=80.0,
)

#: the built-in models by name
MODELS: dict[str, Model] = {m.name: m for m in (NPI, ORDER_TO_CASH, LOAN, HELPDESK)}


def get_model(name: str) -> Model:
    """A built-in model by name; unknown names list the known ones.

    Example:
        >>> get_model("npi").value_name
        'cost'
    """
    try:
        return MODELS[name]
    except KeyError:
        raise ValueError(f"no model {name!r}; use one of {', '.join(MODELS)}") from None
