"""The demo's source data: a cosmetics company's product launches, as its systems export them.

:func:`generate_sources` simulates launches (one case per product and
market) through the launch steps, then writes what each system would hold:

==========================  ===============================================================
table (file)                what it holds
==========================  ===============================================================
``products`` (CSV)          PLM products: SKU, name, brand, category, formula
``formulas`` (CSV)          PLM formulas: version, chemist, when the formula froze
``formula_lines`` (CSV)     PLM formula lines: ingredient (INCI name), share, supplier
``suppliers`` (CSV)         ERP suppliers
``purchase_orders``         ERP purchase orders of ingredients for each launch (Parquet)
``approvals`` (CSV)         regulatory approvals (and pending filings) per product and market
``events`` (JSON Lines)     launch steps from the workflow tool: step, time, owner, cost
``feedback`` (JSON Lines)   customer feedback from the apps: rating, complaint, topic, text
==========================  ===============================================================

Anomalies are planted on purpose and labelled (``labels``: kind, case, subject,
activity, detail); the labels stay out of the graph, so the detectors never
see them and the demo report can say how many were found. The data stops at
``as_of``: launches still under way then are running cases.

Example:
    >>> data = generate_sources(launches=120, seed=3)
    >>> int(data.labels.groupby("kind").size()["rework-loop"])
    2
    >>> bool(data.events.completed_at.max() <= data.as_of)
    True
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from kgsentinel.simulate.generator import generate
from kgsentinel.simulate.models import DAY, WEEK, And, Category, Model, Pool, Seq, Xor
from kgsentinel.simulate.models import Activity as Step

__all__ = [
    "FILES",
    "LAUNCH_MODEL",
    "NPI",
    "PLANTED_KINDS",
    "SLA_DAYS",
    "SPIKE_SUPPLIER",
    "DemoData",
    "generate_sources",
    "write_sources",
]

#: the launch steps and how long each takes (median hours)
LAUNCH_MODEL = Model(
    name="launch",
    process=Seq(
        "Brief",
        "Formulation",
        "Stability test",
        "Safety assessment",
        And("Regulatory filing", Seq("Artwork", "Artwork approval")),
        "Packaging order",
        Xor((0.75, "Production"), (0.25, "Contract manufacturing")),
        "Launch",
    ),
    activities=(
        Step("Brief", hours=6, wait=DAY, pool="marketing", value=800),
        Step("Formulation", hours=5 * DAY, wait=2 * DAY, pool="chemist", value=12_000),
        Step("Stability test", hours=4 * WEEK, wait=DAY, spread=0.3, pool="lab", value=6_000),
        Step(
            "Safety assessment", hours=3 * DAY, wait=2 * DAY, spread=0.3, pool="safety", value=4_000
        ),
        Step("Regulatory filing", hours=2 * WEEK, wait=2 * DAY, pool="regulatory", value=2_500),
        Step("Artwork", hours=6 * DAY, wait=DAY, pool="design", value=7_000),
        Step("Artwork approval", hours=DAY, wait=DAY, pool="marketing", value=600),
        Step("Packaging order", hours=4 * DAY, wait=DAY, pool="purchasing", value=30_000),
        Step("Production", hours=8 * DAY, wait=3 * DAY, pool="plant", value=120_000),
        Step(
            "Contract manufacturing", hours=20 * DAY, wait=6 * DAY, pool="purchasing", value=150_000
        ),
        Step("Launch", hours=4, wait=2 * DAY, pool="marketing", value=20_000),
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
    value_name="cost_eur",
    category=Category(
        "market",
        {"EU": 0.45, "US": 0.3, "CN": 0.15, "BR": 0.1},
        speed={"EU": 1.0, "US": 0.9, "CN": 1.5, "BR": 1.2},
    ),
    cases_per_day=0.5,
    start="2025-01-06T08:00:00Z",
)

#: a launch is late when it takes longer than this from brief to launch
SLA_DAYS = 120
#: the namespace of the company's own terms and things (mappings write their IRIs under it)
NPI = "urn:kgsentinel:npi:"
#: the supplier whose ingredient is tied to a spike of complaints
SPIKE_SUPPLIER = "SUP-07"
_SPIKE_INGREDIENT = "ING-21"

#: the planted kinds, each with what it means, in the order the report lists them
PLANTED_KINDS = {
    "skipped-stability-test": "a launch that skipped its stability test",
    "rework-loop": "formulation and stability test done three times over",
    "out-of-order": "packaging ordered before the safety assessment",
    "slow-step": "a safety assessment far slower than usual",
    "unusual-resource": "a safety assessment signed off by someone outside the safety team",
    "artwork-before-freeze": "artwork approved before the formula froze",
    "launch-without-approval": "a launch in a market without a regulatory approval",
    "stuck-filing": "a regulatory filing stuck for months",
    "complaint-spike": "a supplier whose ingredient is in products with a spike of complaints",
    "late-launch": f"a running launch that will take longer than {SLA_DAYS} days",
}

#: the file each table is written to, under the data folder
FILES = {
    "products": "plm-products.csv",
    "formulas": "plm-formulas.csv",
    "formula_lines": "plm-formula-lines.csv",
    "suppliers": "erp-suppliers.csv",
    "purchase_orders": "erp-purchase-orders.parquet",
    "approvals": "regulatory-approvals.csv",
    "events": "launch-events.jsonl",
    "feedback": "app-feedback.jsonl",
}

_SUPPLIERS = (
    ("SUP-01", "Aquaris Process Water", "FR"), ("SUP-02", "Glycera Chemicals", "DE"),
    ("SUP-03", "Emulsa Specialties", "IT"), ("SUP-04", "Botanica Extracts", "ES"),
    ("SUP-05", "Silica & Co", "BE"), ("SUP-06", "Nordic Actives", "SE"),
    ("SUP-07", "Verdant Oils", "PT"), ("SUP-08", "Pigmenta", "FR"),
    ("SUP-09", "Fragrantia", "FR"), ("SUP-10", "Preserva Labs", "NL"),
)  # fmt: skip
# (id, INCI name, supplier, share of formulas that contain it)
_INGREDIENTS = (
    ("ING-01", "Aqua", "SUP-01", 1.0), ("ING-02", "Glycerin", "SUP-02", 0.9),
    ("ING-03", "Cetearyl alcohol", "SUP-03", 0.5), ("ING-04", "Glyceryl stearate", "SUP-03", 0.3),
    ("ING-05", "Caprylic/capric triglyceride", "SUP-02", 0.35),
    ("ING-06", "Aloe barbadensis leaf juice", "SUP-04", 0.2),
    ("ING-07", "Chamomilla recutita extract", "SUP-04", 0.15),
    ("ING-08", "Camellia sinensis leaf extract", "SUP-04", 0.15),
    ("ING-09", "Dimethicone", "SUP-05", 0.3), ("ING-10", "Silica", "SUP-05", 0.2),
    ("ING-11", "Sodium hyaluronate", "SUP-06", 0.25), ("ING-12", "Niacinamide", "SUP-06", 0.2),
    ("ING-13", "Ascorbic acid", "SUP-06", 0.15), ("ING-14", "Retinol", "SUP-06", 0.1),
    ("ING-15", "Titanium dioxide", "SUP-08", 0.15), ("ING-16", "Iron oxides", "SUP-08", 0.15),
    ("ING-17", "Parfum", "SUP-09", 0.6), ("ING-18", "Linalool", "SUP-09", 0.2),
    ("ING-19", "Phenoxyethanol", "SUP-10", 0.7), ("ING-20", "Sodium benzoate", "SUP-10", 0.25),
    ("ING-21", "Rosa canina fruit oil", "SUP-07", 0.13),
    ("ING-22", "Argania spinosa kernel oil", "SUP-07", 0.08),
)  # fmt: skip
_BRANDS = ("Lumière", "Verde", "Nova Skin", "Aqua Pura")
_LINES = ("Rose", "Vitamin C", "Hyaluronic", "Green tea", "Aloe", "Argan", "Retinol", "Daily")
_TYPES = {
    "skincare": ("serum", "night cream", "day cream", "cleanser", "eye cream", "mask"),
    "haircare": ("shampoo", "conditioner", "hair oil"),
    "makeup": ("foundation", "lip balm", "BB cream"),
    "suncare": ("sunscreen SPF 50", "after-sun lotion"),
}
_AUTHORITIES = {"EU": "EU CPNP", "US": "FDA (MoCRA)", "CN": "NMPA", "BR": "ANVISA"}
_TOPICS = {
    "texture": "The texture is {w}.", "scent": "The scent is {w}.",
    "packaging": "The pump {w}.", "delivery": "Delivery was {w}.", "price": "The price is {w}.",
}  # fmt: skip
_PRAISE = ("lovely", "just right", "great", "perfect")
_GRIPES = ("too sticky", "too strong", "broke after a week", "late", "too high")
# people outside the safety team who sign off a planted safety assessment
_STRANGERS = ("design-02", "marketing-04", "purchasing-03", "plant-02", "chemist-07")
_FEEDBACK_PER_DAY = 0.05
_COMPLAINT_SHARE = 0.12
_SPIKE_DAYS = 60
_SPIKE_PER_DAY = 0.15


@dataclass(frozen=True)
class DemoData:
    """Every table of the demo's sources, the planted anomalies' labels, and when the data ends."""

    products: pd.DataFrame
    formulas: pd.DataFrame
    formula_lines: pd.DataFrame
    suppliers: pd.DataFrame
    purchase_orders: pd.DataFrame
    approvals: pd.DataFrame
    events: pd.DataFrame
    feedback: pd.DataFrame
    labels: pd.DataFrame
    as_of: pd.Timestamp

    def tables(self) -> dict[str, pd.DataFrame]:
        """The source tables by name (the keys of :data:`FILES`)."""
        return {name: getattr(self, name) for name in FILES}


def generate_sources(launches: int = 300, seed: int = 7) -> DemoData:
    """Simulate ``launches`` launches (seeded) with planted anomalies, as source tables."""
    rng = np.random.default_rng(seed)
    log = _renamed(generate(LAUNCH_MODEL, cases=launches, seed=seed))
    as_of = _as_of(log)
    plants = _Plants(log, as_of, rng)
    log = plants.plant_steps()
    full = log
    log = log[log.completed_at <= as_of].reset_index(drop=True)
    cases = _cases(log, rng, alone={case for cases in plants.chosen.values() for case in cases})
    products, formulas, lines = _plm(log, cases, plants, rng)
    approvals = _approvals(log, cases, plants, rng)
    feedback = _feedback(log, cases, lines, as_of, rng)
    orders = _purchase_orders(log, cases, lines, rng)
    events = _events(log, cases)
    labels = pd.DataFrame(plants.labels + _late_labels(full, log),
                          columns=["kind", "case_id", "subject", "activity", "detail"])  # fmt: skip
    suppliers = pd.DataFrame(_SUPPLIERS, columns=["supplier_id", "name", "country"])
    return DemoData(products, formulas, lines, suppliers, orders, approvals, events, feedback,
                    labels, as_of)  # fmt: skip


def write_sources(data: DemoData, folder: Path) -> dict[str, Path]:
    """Write each table to its file under ``folder`` (see :data:`FILES`); the paths by table."""
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, frame in data.tables().items():
        path = folder / FILES[name]
        if path.suffix == ".csv":
            frame.to_csv(path, index=False)
        elif path.suffix == ".parquet":
            frame.to_parquet(path, index=False)
        else:
            frame.to_json(path, orient="records", lines=True, date_format="iso", force_ascii=False)
        written[name] = path
    return written


# -- launches and their steps ---------------------------------------------------------------


def _renamed(log: pd.DataFrame) -> pd.DataFrame:
    number = log.case_id.str.rsplit("-", n=1).str[-1].astype(int)
    log = log.rename(columns={"timestamp": "completed_at", "resource": "owner"})
    log["case_id"] = "L-" + (number + 1000).astype(str)
    return log


def _as_of(log: pd.DataFrame) -> pd.Timestamp:
    """When the export was taken: once nine launches in ten have started."""
    starts = log.groupby("case_id").completed_at.min().sort_values()
    return starts.iloc[int(len(starts) * 0.9)].floor("h")


class _Plants:
    """Chooses the launches to plant anomalies in, plants them, and keeps their labels."""

    def __init__(self, log: pd.DataFrame, as_of: pd.Timestamp, rng: np.random.Generator) -> None:
        self.log, self.as_of, self.rng = log, as_of, rng
        self.labels: list[tuple[str, str, str, str, str]] = []
        ends = log.groupby("case_id").completed_at.max()
        done = ends[ends < as_of - pd.Timedelta(days=90)].index.to_numpy()
        self.free = list(rng.permutation(done))
        count = max(2, len(ends) // 100)
        self.chosen = {kind: self._take(count) for kind in (
            "skipped-stability-test", "rework-loop", "out-of-order", "slow-step",
            "unusual-resource", "artwork-before-freeze", "launch-without-approval")}  # fmt: skip
        self.chosen["stuck-filing"] = self._stuck(count)

    def _take(self, count: int) -> list[str]:
        taken, self.free = self.free[:count], self.free[count:]
        return [str(case) for case in taken]

    def _stuck(self, count: int) -> list[str]:
        safety = self.log[self.log.activity == "Safety assessment"].set_index("case_id")
        when = safety.completed_at
        window = when[(when < self.as_of - pd.Timedelta(days=150))
                      & (when > self.as_of - pd.Timedelta(days=230))]  # fmt: skip
        taken = {case for cases in self.chosen.values() for case in cases}
        picks = [case for case in self.rng.permutation(window.index.to_numpy())
                 if case not in taken][:count]  # fmt: skip
        self.free = [case for case in self.free if case not in set(picks)]
        return [str(case) for case in picks]

    def label(self, kind: str, case_id: str, activity: str, detail: str, subject: str = "") -> None:
        self.labels.append((kind, case_id, subject or case_id, activity, detail))

    def plant_steps(self) -> pd.DataFrame:
        """The log with every step anomaly planted (skips, rework, order, time, resource)."""
        parts = []
        for case_id, case in self.log.groupby("case_id", sort=False):
            parts.append(self._plant_case(str(case_id), case.reset_index(drop=True)))
        self.log = pd.concat(parts, ignore_index=True)
        self.label("complaint-spike", "", "", f"complaints about products with {SPIKE_SUPPLIER}'s "
                   f"{_SPIKE_INGREDIENT} over the last {_SPIKE_DAYS} days",
                   subject=f"{NPI}supplier/{SPIKE_SUPPLIER}")  # fmt: skip
        for case_id in self.chosen["artwork-before-freeze"]:
            self.label(
                "artwork-before-freeze",
                case_id,
                "Artwork approval",
                "the formula froze after its artwork was approved",
            )
        for case_id in self.chosen["launch-without-approval"]:
            self.label(
                "launch-without-approval",
                case_id,
                "Launch",
                "launched with no approval for its market",
            )
        return self.log

    def _plant_case(self, case_id: str, case: pd.DataFrame) -> pd.DataFrame:
        kind = next((k for k, cases in self.chosen.items() if case_id in cases), None)
        steps = list(case.activity)
        if kind == "skipped-stability-test":
            self.label(kind, case_id, "Stability test", "no stability test before the safety "
                       "assessment")  # fmt: skip
            return case[case.activity != "Stability test"]
        if kind == "rework-loop":
            self.label(kind, case_id, "Formulation", "reformulated twice after its stability test")
            return _rework(case, steps.index("Stability test"), self.rng)
        if kind == "out-of-order":
            self.label(kind, case_id, "Packaging order", "packaging ordered before the safety "
                       "assessment")  # fmt: skip
            return _move_before(
                case, steps.index("Packaging order"), steps.index("Safety assessment")
            )
        if kind == "slow-step":
            self.label(kind, case_id, "Safety assessment", "the safety assessment took 12 times "
                       "as long as usual")  # fmt: skip
            return _slowed(case, steps.index("Safety assessment"), 12.0)
        if kind == "unusual-resource":
            stranger = _STRANGERS[self.chosen[kind].index(case_id) % len(_STRANGERS)]
            self.label(kind, case_id, "Safety assessment", f"signed off by {stranger}, who "
                       "never assesses safety")  # fmt: skip
            case.loc[steps.index("Safety assessment"), "owner"] = stranger
            return case
        if kind == "stuck-filing":
            self.label(kind, case_id, "Regulatory filing", "filed, then nothing for five months "
                       "or more")  # fmt: skip
            return case.iloc[: steps.index("Safety assessment") + 1]
        return case


def _rework(case: pd.DataFrame, at: int, rng: np.random.Generator) -> pd.DataFrame:
    """Formulation and stability test twice more right after the stability test at ``at``."""
    head, tail = case.iloc[: at + 1], case.iloc[at + 1 :].copy()
    template = case.iloc[at - 1 : at + 1]
    rounds, shift = [], pd.Timedelta(0)
    gap = template.completed_at.iloc[1] - template.completed_at.iloc[0]
    for _ in range(2):
        extra = template.copy()
        formulation = pd.Timedelta(days=float(rng.uniform(4, 8)))
        extra["completed_at"] = (
            case.completed_at.iloc[at] + shift + np.array([formulation, formulation + gap])
        )
        shift += formulation + gap
        rounds.append(extra)
    tail["completed_at"] = tail.completed_at + shift
    return pd.concat([head, *rounds, tail], ignore_index=True)


def _move_before(case: pd.DataFrame, moved: int, before: int) -> pd.DataFrame:
    """Event ``moved`` placed just before event ``before`` (halfway from the one preceding it)."""
    case = case.copy()
    earlier, later = case.completed_at.iloc[before - 1], case.completed_at.iloc[before]
    case.loc[moved, "completed_at"] = earlier + (later - earlier) / 2
    return case.sort_values("completed_at", kind="stable").reset_index(drop=True)


def _slowed(case: pd.DataFrame, at: int, factor: float) -> pd.DataFrame:
    """Step ``at`` takes ``factor`` times as long; later steps move with it."""
    case = case.copy()
    took = case.completed_at.iloc[at] - case.completed_at.iloc[at - 1]
    case.loc[at:, "completed_at"] = case.completed_at.iloc[at:] + took * (factor - 1)
    return case


def _late_labels(full: pd.DataFrame, log: pd.DataFrame) -> list[tuple[str, str, str, str, str]]:
    """Running launches (at the export) that the simulation took past the SLA to finish."""
    last = log.groupby("case_id").activity.last()
    running = set(last.index[last != "Launch"])
    span = full.groupby("case_id").completed_at.agg(["min", "max"])
    finished = full.groupby("case_id").activity.last() == "Launch"
    days = (span["max"] - span["min"]).dt.total_seconds() / 86_400
    late = days[(days > SLA_DAYS) & finished & days.index.isin(running)]
    return [("late-launch", str(case), str(case), "Launch", f"launched after {d:.0f} days")
            for case, d in late.items()]  # fmt: skip


# -- what each system holds -----------------------------------------------------------------


def _cases(log: pd.DataFrame, rng: np.random.Generator, alone: set[str]) -> pd.DataFrame:
    """One row per launch: its market and product SKU (a fifth relaunch a product elsewhere).

    The products of the launches in ``alone`` (those with planted anomalies) launch nowhere
    else, so no other launch shares their formula's freeze or their approvals.
    """
    cases = log.groupby("case_id", sort=True).agg(market=("market", "first"),
                                                  started=("completed_at", "min"))  # fmt: skip
    skus: list[str] = []
    markets_of: dict[str, set[str]] = {}
    single: set[str] = set()
    for case_id, market in cases.market.items():
        reuse = [s for s in skus[-40:] if market not in markets_of[s] and s not in single]
        if reuse and rng.random() < 0.2 and case_id not in alone:
            sku = str(rng.choice(reuse))
        else:
            sku = f"SKU-{5001 + len(markets_of)}"
            markets_of[sku] = set()
        markets_of[sku].add(market)
        skus.append(sku)
        if case_id in alone:
            single.add(sku)
    cases["sku"] = skus
    return cases


def _plm(
    log: pd.DataFrame, cases: pd.DataFrame, plants: _Plants, rng: np.random.Generator
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Products, their formulas (when each froze) and formula lines (ingredient, supplier)."""
    first = cases.reset_index().drop_duplicates("sku").set_index("sku")
    rows, formulas, lines = [], [], []
    for number, (sku, case) in enumerate(first.iterrows()):
        category = str(rng.choice(list(_TYPES)))
        name = f"{_LINES[number % len(_LINES)]} {rng.choice(_TYPES[category])}"
        formula_id = f"F-{sku[4:]}"
        rows.append((sku, name, _BRANDS[number % len(_BRANDS)], category, formula_id,
                     case.started.date().isoformat()))  # fmt: skip
        steps = log[log.case_id.isin(cases.index[cases.sku == sku])]
        formulas.append(_formula(formula_id, sku, steps, plants, rng))
        lines.extend(_formula_lines(formula_id, rng))
    products = pd.DataFrame(rows, columns=["sku", "name", "brand", "category", "formula_id",
                                           "created_on"])  # fmt: skip
    formula_frame = pd.DataFrame(formulas, columns=["formula_id", "sku", "version", "chemist",
                                                    "frozen_at"])  # fmt: skip
    line_frame = pd.DataFrame(lines, columns=["formula_id", "ingredient_id", "inci_name",
                                              "percent", "supplier_id"])  # fmt: skip
    return products, formula_frame, line_frame


def _formula(
    formula_id: str, sku: str, steps: pd.DataFrame, plants: _Plants, rng: np.random.Generator
) -> tuple[str, str, str, str]:
    """A formula froze a day or two after its (earliest) stability test; or not yet."""
    chemists = steps[steps.activity == "Formulation"].owner
    tests = steps[steps.activity == "Stability test"].groupby("case_id").completed_at.max()
    frozen = ""
    if len(tests):
        frozen_at = tests.min() + pd.Timedelta(hours=float(rng.uniform(12, 60)))
        wrong = set(steps.case_id) & set(plants.chosen["artwork-before-freeze"])
        approved = steps[steps.case_id.isin(wrong) & (steps.activity == "Artwork approval")]
        if len(approved):
            frozen_at = approved.completed_at.max() + pd.Timedelta(days=float(rng.uniform(4, 10)))
        frozen = frozen_at.floor("s").isoformat().replace("+00:00", "Z")
    elif len(chemists) and (steps.activity == "Safety assessment").any():
        frozen = (steps[steps.activity == "Formulation"].completed_at.max()
                  + pd.Timedelta(days=1)).isoformat().replace("+00:00", "Z")  # fmt: skip
    version = f"v{1 + int(rng.integers(0, 3))}"
    return formula_id, sku, version, str(chemists.iloc[0]) if len(chemists) else "", frozen


def _formula_lines(
    formula_id: str, rng: np.random.Generator
) -> list[tuple[str, str, str, float, str]]:
    picked = [ing for ing in _INGREDIENTS if rng.random() < ing[3]]
    shares = rng.dirichlet(np.ones(len(picked))) * 30.0
    rest = 100.0 - shares[1:].sum()
    return [(formula_id, ing, inci, round(float(rest if i == 0 else shares[i]), 2), supplier)
            for i, (ing, inci, supplier, _) in enumerate(picked)]  # fmt: skip


def _approvals(
    log: pd.DataFrame, cases: pd.DataFrame, plants: _Plants, rng: np.random.Generator
) -> pd.DataFrame:
    """An approval for each filed launch's product and market; stuck filings still pending."""
    filed = log[log.activity == "Regulatory filing"].set_index("case_id").completed_at
    rows = []
    for number, (case_id, case) in enumerate(cases.iterrows()):
        if case_id in plants.chosen["launch-without-approval"]:
            continue
        if case_id in plants.chosen["stuck-filing"]:
            safety = log[(log.case_id == case_id) & (log.activity == "Safety assessment")]
            submitted = safety.completed_at.iloc[0] + pd.Timedelta(days=2)
            rows.append((number, case, "submitted", submitted, None))
        elif case_id in filed.index:
            decided = filed.loc[case_id]
            submitted = decided - pd.Timedelta(days=float(rng.uniform(8, 16)))
            rows.append((number, case, "approved", submitted, decided))
    frame = pd.DataFrame({
        "approval_id": [f"RA-{8001 + n}" for n, *_ in rows],
        "sku": [case.sku for _, case, *_ in rows],
        "market": [case.market for _, case, *_ in rows],
        "authority": [_AUTHORITIES[case.market] for _, case, *_ in rows],
        "status": [status for _, _, status, *_ in rows],
        "submitted_on": [s.date().isoformat() for *_, s, _ in rows],
        "decided_on": [d.date().isoformat() if d is not None else "" for *_, d in rows],
    })  # fmt: skip
    return frame.drop_duplicates(["sku", "market"]).reset_index(drop=True)


def _feedback(
    log: pd.DataFrame,
    cases: pd.DataFrame,
    lines: pd.DataFrame,
    as_of: pd.Timestamp,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """App feedback after each launch; products with the spike ingredient irritate lately."""
    launched = log[log.activity == "Launch"].set_index("case_id").completed_at
    spiky = set(lines.formula_id[lines.ingredient_id == _SPIKE_INGREDIENT].str[2:])
    rows = []
    for case_id, at in launched.items():
        case = cases.loc[case_id]
        days = (as_of - at).total_seconds() / 86_400
        times = at + pd.to_timedelta(rng.uniform(0, days, rng.poisson(days * _FEEDBACK_PER_DAY)),
                                     unit="D")  # fmt: skip
        complaints = rng.random(len(times)) < _COMPLAINT_SHARE
        rows += [(case, t, bool(c), None) for t, c in zip(times, complaints, strict=True)]
        if case.sku[4:] in spiky:
            since = max(at, as_of - pd.Timedelta(days=_SPIKE_DAYS))
            span = (as_of - since).total_seconds() / 86_400
            extra = rng.uniform(0, span, rng.poisson(span * _SPIKE_PER_DAY))
            rows += [(case, since + pd.Timedelta(days=float(d)), True, "irritation")
                     for d in extra]  # fmt: skip
    rows.sort(key=lambda row: row[1])
    return pd.DataFrame([_feedback_row(n, *row, rng) for n, row in enumerate(rows)])


def _feedback_row(
    number: int, case: pd.Series, at: pd.Timestamp, complaint: bool, topic: str | None,
    rng: np.random.Generator,
) -> dict[str, object]:  # fmt: skip
    topic = topic or str(rng.choice(list(_TOPICS)))
    if topic == "irritation":
        text = "My skin got red and itchy after two days."
    else:
        words = _GRIPES if complaint else _PRAISE
        text = _TOPICS[topic].format(w=rng.choice(words))
    rating = int(rng.integers(1, 3)) if complaint else int(rng.integers(3, 6))
    return {
        "feedback_id": f"FB-{100001 + number}",
        "app": str(rng.choice(["ios", "android", "web"], p=[0.45, 0.4, 0.15])),
        "sku": case.sku,
        "market": case.market,
        "submitted_at": at.floor("s").isoformat().replace("+00:00", "Z"),
        "rating": rating,
        "complaint": complaint,
        "topic": topic,
        "text": text,
    }


def _purchase_orders(
    log: pd.DataFrame, cases: pd.DataFrame, lines: pd.DataFrame, rng: np.random.Generator
) -> pd.DataFrame:
    """Ingredient orders for each launch that reached its packaging order."""
    ordered = log[log.activity == "Packaging order"].set_index("case_id").completed_at
    rows = []
    for case_id, at in ordered.items():
        sku = cases.loc[case_id, "sku"]
        for _, line in lines[lines.formula_id == f"F-{sku[4:]}"].iterrows():
            kg = float(np.round(rng.lognormal(np.log(line.percent * 20 + 5), 0.3), 1))
            rows.append({
                "po_number": f"PO-{450001 + len(rows)}",
                "supplier_id": line.supplier_id,
                "ingredient_id": line.ingredient_id,
                "launch_id": case_id,
                "sku": sku,
                "quantity_kg": kg,
                "amount_eur": round(kg * float(rng.uniform(4, 40)), 2),
                "ordered_on": (at - pd.Timedelta(hours=float(rng.uniform(2, 48)))).date(),
            })  # fmt: skip
    return pd.DataFrame(rows)


def _events(log: pd.DataFrame, cases: pd.DataFrame) -> pd.DataFrame:
    """The workflow tool's export: one JSON object per completed step."""
    log = log.sort_values(["completed_at", "case_id"], kind="stable").reset_index(drop=True)
    return pd.DataFrame({
        "event_id": [f"EV-{200001 + n}" for n in range(len(log))],
        "launch_id": log.case_id,
        "step": log.activity,
        "completed_at": log.completed_at.dt.floor("s"),
        "owner": log.owner,
        "cost_eur": log.cost_eur,
        "sku": log.case_id.map(cases.sku),
        "market": log.market,
    })  # fmt: skip
