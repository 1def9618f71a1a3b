"""Trained outcome models: one folder per version on disk, one ``kgs:Model`` each in the graph.

Each training of an outcome saves a new version; the latest one predicts::

    .kgsentinel/models/late-launch/
        v1/  version.json          what was trained: the outcome's settings, end activities, when
             outcome/              the outcome model (skops files and its card.json)
             remaining-time/       the remaining-time model, when the outcome asks for one
        v2/  ...

A version is written to a hidden folder first and renamed into place, so a
version is never seen half-written. Models are read back through
:meth:`~kgsentinel.predict.model.OutcomeModel.load`, which rebuilds only
trusted scikit-learn, numpy and kgsentinel types (never pickle).

In the provenance graph each model is a ``kgs:Model`` with its version, the
target it predicts, its training window, its case counts and its test metrics
(overall, and one ``kgs:Evaluation`` per prefix length), ``prov:wasGeneratedBy``
the ``kgs:TrainingRun`` that made it.

Example:
    >>> model_iri("late-launch", 3, "remaining-time")
    'urn:kgsentinel:model:late-launch/v3/remaining-time'
    >>> target_iri("late-launch", "outcome")
    'urn:kgsentinel:target:late-launch'
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox

from kgsentinel.errors import PredictionError
from kgsentinel.graph import terms
from kgsentinel.graph.ontology import KGS
from kgsentinel.graph.terms import graph_iri

if TYPE_CHECKING:  # pragma: no cover
    from kgsentinel.config import OutcomeConfig
    from kgsentinel.predict.model import OutcomeModel
    from kgsentinel.workspace import Workspace

__all__ = [
    "MODELS_DIR",
    "OUTCOME",
    "REMAINING_TIME",
    "ModelVersion",
    "card_time",
    "latest_version",
    "list_models",
    "model_iri",
    "model_quads",
    "save_version",
    "target_iri",
    "training_window",
    "versions",
]

MODELS_DIR = "models"
#: the two models a version may hold, by the target they predict
OUTCOME = "outcome"
REMAINING_TIME = "remaining-time"
_TARGETS = (OUTCOME, REMAINING_TIME)
_VERSION_FILE = "version.json"
_VERSION = re.compile(r"v([1-9][0-9]*)")
PROVENANCE_GRAPH = graph_iri("provenance")
_PROV = "http://www.w3.org/ns/prov#"
_RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
_RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"


def model_iri(name: str, number: int, target: str = OUTCOME) -> str:
    """The IRI of one model of version ``number`` of outcome ``name``."""
    base = f"urn:kgsentinel:model:{name}/v{number}"
    return base if target == OUTCOME else f"{base}/{target}"


def target_iri(name: str, target: str = OUTCOME) -> str:
    """The IRI of what a model of outcome ``name`` predicts (the outcome, or its remaining time)."""
    base = f"urn:kgsentinel:target:{name}"
    return base if target == OUTCOME else f"{base}/{target}"


@dataclass(frozen=True)
class ModelVersion:
    """One saved version of an outcome's models."""

    name: str
    number: int
    folder: Path

    @property
    def version(self) -> str:
        """The version as written in the graph and shown to people, e.g. ``v3``."""
        return f"v{self.number}"

    @cached_property
    def info(self) -> dict[str, Any]:
        """What was trained: the outcome's settings, its end activities, when, by which run."""
        return _read_json(self.folder / _VERSION_FILE)

    @cached_property
    def cards(self) -> dict[str, dict[str, Any]]:
        """The model card of each model of the version, by target."""
        return {
            target: _read_json(self.folder / target / "card.json")
            for target in _TARGETS
            if (self.folder / target).is_dir()
        }

    def load(self) -> dict[str, OutcomeModel]:
        """The models of the version, by target (only trusted types are rebuilt)."""
        from kgsentinel.predict.model import OutcomeModel

        return {target: OutcomeModel.load(self.folder / target) for target in self.cards}

    def iri(self, target: str = OUTCOME) -> str:
        """The IRI of the version's model of ``target``."""
        return model_iri(self.name, self.number, target)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PredictionError(f"{path}: missing; train the outcome again") from None
    except (OSError, ValueError) as exc:
        raise PredictionError(f"{path}: unreadable ({exc}); train the outcome again") from None
    if not isinstance(data, dict):
        raise PredictionError(f"{path}: not a JSON object; train the outcome again")
    return data


def _models_folder(workspace: Workspace, name: str) -> Path:
    return workspace.state_dir / MODELS_DIR / name


def versions(workspace: Workspace, name: str) -> list[ModelVersion]:
    """The saved versions of outcome ``name``, oldest first."""
    folder = _models_folder(workspace, name)
    if not folder.is_dir():
        return []
    found = [
        ModelVersion(name, int(match.group(1)), path)
        for path in folder.iterdir()
        if path.is_dir() and (match := _VERSION.fullmatch(path.name))
    ]
    return sorted(found, key=lambda version: version.number)


def latest_version(workspace: Workspace, name: str) -> ModelVersion:
    """The newest version of outcome ``name``; an error says to train it when there is none."""
    saved = versions(workspace, name)
    if not saved:
        raise PredictionError(
            f"outcome {name!r} has no trained model yet; run `kgsentinel train {name}` first"
        )
    return saved[-1]


def save_version(
    workspace: Workspace, name: str, models: Mapping[str, OutcomeModel], info: Mapping[str, Any]
) -> ModelVersion:
    """Save ``models`` (by target) and ``info`` as the next version of outcome ``name``."""
    folder = _models_folder(workspace, name)
    folder.mkdir(parents=True, exist_ok=True)
    saved = versions(workspace, name)
    number = saved[-1].number + 1 if saved else 1
    staging = folder / f".v{number}.{uuid.uuid4().hex}.part"
    try:
        staging.mkdir()
        for target, model in models.items():
            model.save(staging / target)
        document = {**info, "outcome": name, "version": f"v{number}"}
        (staging / _VERSION_FILE).write_text(json.dumps(document, indent=2), encoding="utf-8")
        staging.rename(folder / f"v{number}")
    except OSError as exc:
        raise PredictionError(f"cannot save the model in {folder}: {exc.strerror}") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return ModelVersion(name, number, folder / f"v{number}")


# -- the graph ------------------------------------------------------------------------------


def model_quads(version: ModelVersion, *, run: str, detector: str) -> list[ox.Quad]:
    """Each model of ``version`` as a ``kgs:Model`` of the provenance graph."""
    quads: list[ox.Quad] = []
    for target, card in version.cards.items():
        label = version.name if target == OUTCOME else f"{version.name} {target}"
        first, last = training_window(card)
        cases = card.get("cases") or {}
        facts = {
            _RDF_TYPE: ox.NamedNode(KGS + "Model"),
            _RDFS_LABEL: f"{label} {version.version}",
            KGS + "modelVersion": version.version,
            KGS + "target": ox.NamedNode(target_iri(version.name, target)),
            _PROV + "wasAttributedTo": ox.NamedNode(detector),
            _PROV + "wasGeneratedBy": ox.NamedNode(run),
            _PROV + "generatedAtTime": card_time(card.get("created")),
            KGS + "trainedFrom": first,
            KGS + "trainedUntil": last,
            KGS + "casesTrained": _int(cases.get("all")),
            KGS + "casesTested": _int(cases.get("test")),
        }
        model = ox.NamedNode(version.iri(target))
        quads += [_quad(model, p, v) for p, v in facts.items() if v is not None]
        quads += _metric_quads(model, card.get("metrics") or {})
    return quads


def _quad(subject: ox.NamedNode, predicate: str, value: Any) -> ox.Quad:
    return terms.quad(subject, predicate, value, ox.NamedNode(PROVENANCE_GRAPH))


_OVERALL = {"auc": "auc", "brier": "brierScore", "positive_share": "positiveShare",
            "mae_hours": "maeHours"}  # fmt: skip
_BY_PREFIX = {"auc_by_prefix_length": "auc", "mae_by_prefix_length": "maeHours"}


def _metric_quads(model: ox.NamedNode, metrics: Mapping[str, Any]) -> list[ox.Quad]:
    quads = [
        _quad(model, KGS + term, float(metrics[key]))
        for key, term in _OVERALL.items()
        if _finite(metrics.get(key))
    ]
    for key, term in _BY_PREFIX.items():
        for length, value in sorted((metrics.get(key) or {}).items(), key=lambda kv: int(kv[0])):
            if not _finite(value):
                continue
            node = ox.NamedNode(f"{model.value}/at/{int(length)}")
            quads += [
                _quad(model, KGS + "evaluation", node),
                _quad(node, _RDF_TYPE, ox.NamedNode(KGS + "Evaluation")),
                _quad(node, KGS + "prefixLength", int(length)),
                _quad(node, KGS + term, float(value)),
            ]
    return quads


def training_window(card: Mapping[str, Any]) -> tuple[dt.datetime | None, dt.datetime | None]:
    """When the first and the last case a model learned from started, from its card."""
    window = card.get("window") or {}
    return card_time(window.get("first_case_start")), card_time(window.get("last_case_start"))


def card_time(value: Any) -> dt.datetime | None:
    """A time written in a card (ISO text), in UTC; None when absent or unreadable."""
    if not isinstance(value, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else None


# -- listing --------------------------------------------------------------------------------


def list_models(workspace: Workspace, *, every_version: bool = False) -> list[dict[str, Any]]:
    """Each outcome's models (the latest version, or every one): target, metric, when, cases.

    Outcomes that are configured but not trained yet are listed with version None.
    """
    names = list(workspace.config.outcomes)
    folder = workspace.state_dir / MODELS_DIR
    if folder.is_dir():
        names += sorted(p.name for p in folder.iterdir() if p.is_dir() and p.name not in names)
    rows: list[dict[str, Any]] = []
    for name in names:
        saved = versions(workspace, name)
        config = workspace.config.outcomes.get(name)
        if not saved:
            rows.append(_untrained(name, config))
        for version in saved if every_version else saved[-1:]:
            rows += _version_rows(version, len(saved))
    return rows


def _untrained(name: str, config: OutcomeConfig | None) -> dict[str, Any]:
    from kgsentinel.predict.predictions import describe_outcome

    target = describe_outcome(config) if config else None
    return {"outcome": name, "versions": 0, "version": None, "target": target, "metric": None,
            "value": None, "trained_at": None, "cases": None}  # fmt: skip


def _version_rows(version: ModelVersion, count: int) -> list[dict[str, Any]]:
    row = {"outcome": version.name, "versions": count, "version": version.version}
    try:
        cards, settings = version.cards, version.info.get("settings") or {}
    except PredictionError:  # a damaged version is listed, saying so
        return [{**row, "target": "unreadable: train again", "metric": None, "value": None,
                 "trained_at": None, "cases": None}]  # fmt: skip
    rows = []
    for target, card in cards.items():
        metric = "auc" if target == OUTCOME else "mae_hours"
        described = _described(settings) if target == OUTCOME else "remaining time"
        rows.append({**row, "target": described, "metric": metric,
                     "value": (card.get("metrics") or {}).get(metric),
                     "trained_at": card_time(card.get("created")),
                     "cases": (card.get("cases") or {}).get("all")})  # fmt: skip
    return rows


def _described(settings: Mapping[str, Any]) -> str:
    from kgsentinel.config import OutcomeConfig
    from kgsentinel.predict.predictions import describe_outcome

    try:
        return describe_outcome(OutcomeConfig.model_validate(settings))
    except ValueError:
        return str(settings.get("kind", OUTCOME))
