"""Workspace configuration (``kgsentinel.toml``): typed, validated when loaded.

Each setting is declared once, with its default and its help text; the commented
``kgsentinel.toml`` that ``kgsentinel init`` writes is generated from these
declarations, so the file and the code cannot drift apart. Environment variables
override the store location and endpoint (``KGSENTINEL_STORE_PATH``,
``KGSENTINEL_STORE_URL``, ``KGSENTINEL_STORE_UPDATE_URL``,
``KGSENTINEL_STORE_GSP_URL``); secrets come only from the environment.

Example:
    >>> config = Config.model_validate({"store": {"backend": "embedded"}})
    >>> config.store.path
    '.kgsentinel/store'
    >>> load_config(None, {"KGSENTINEL_STORE_URL": "http://localhost:7878/query"}).store.backend
    'sparql'
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from kgsentinel.alerts.config import AlertsConfig, RouteConfig
from kgsentinel.alerts.sinks.config import SinkConfig
from kgsentinel.api.config import ApiConfig, TokenConfig
from kgsentinel.errors import ConfigError
from kgsentinel.schedule.config import SchedulerConfig, check_schedule

__all__ = [
    "CONFIG_FILE",
    "Config",
    "DetectorConfig",
    "EventsConfig",
    "OutcomeConfig",
    "ProjectConfig",
    "SchedulerConfig",
    "StoreConfig",
    "config_template",
    "load_config",
    "store_overrides",
]

CONFIG_FILE = "kgsentinel.toml"
_SECRET_KEYS = {"token", "password", "secret", "api_key"}


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ProjectConfig(_Section):
    """What this workspace is."""

    name: str = Field("kgsentinel", description="A short name for this workspace.", min_length=1)


class StoreConfig(_Section):
    """Where the knowledge graph lives."""

    backend: Literal["embedded", "sparql"] = Field(
        "embedded",
        description=(
            "embedded: Oxigraph on disk in this workspace, no server needed. "
            "sparql: any SPARQL 1.1 endpoint (Oxigraph server, Fuseki, GraphDB, Virtuoso, ...)."
        ),
    )
    path: str = Field(
        ".kgsentinel/store",
        description="Folder of the embedded store, relative to this file. "
        "Env: KGSENTINEL_STORE_PATH.",
        min_length=1,
    )
    query_url: str | None = Field(
        None,
        examples=["http://localhost:7878/query"],
        description="SPARQL query endpoint (backend = sparql). Env: KGSENTINEL_STORE_URL.",
    )
    update_url: str | None = Field(
        None,
        examples=["http://localhost:7878/update"],
        description="SPARQL update endpoint; by default .../update when query_url ends in "
        "/query, else query_url itself. Env: KGSENTINEL_STORE_UPDATE_URL.",
    )
    gsp_url: str | None = Field(
        None,
        examples=["http://localhost:7878/store"],
        description="Graph Store Protocol endpoint for bulk loads; by default .../store when "
        "query_url ends in /query. Env: KGSENTINEL_STORE_GSP_URL.",
    )
    union: Literal["list", "server"] = Field(
        "list",
        description="How queries see all graphs at once: list (kgsentinel names every graph "
        "in the request; works anywhere) or server (the endpoint already unions them).",
    )
    token_env: str = Field(
        "KGSENTINEL_STORE_TOKEN",
        description="Environment variable holding a bearer token for the endpoint "
        "(secrets never go in this file).",
    )
    username_env: str = Field(
        "KGSENTINEL_STORE_USER",
        description="Environment variable holding a user name for HTTP basic auth.",
    )
    password_env: str = Field(
        "KGSENTINEL_STORE_PASSWORD",
        description="Environment variable holding the password for HTTP basic auth.",
    )
    timeout: float = Field(60.0, gt=0, description="Seconds to wait for the endpoint.")

    @field_validator("query_url", "update_url", "gsp_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value

    @model_validator(mode="after")
    def _endpoint_given(self) -> StoreConfig:
        if self.backend == "sparql" and not self.query_url:
            raise ValueError("backend = 'sparql' needs query_url (or KGSENTINEL_STORE_URL)")
        return self


def _checked_schedule(value: str | None) -> str | None:
    """A job's schedule, checked when the settings load (see kgsentinel.schedule.config)."""
    return None if value is None else check_schedule(value)


RESERVED_SOURCES = ("anomalies", "predictions", "alerts", "provenance", "ontology")


class SourceConfig(_Section):
    """A source ([sources.NAME]): where its rows come from and how they map into the graph."""

    kind: Literal["csv", "tsv", "json", "jsonl", "parquet", "sql"] | None = Field(
        None,
        description="csv, tsv, json, jsonl, parquet or sql; by default from the file name.",
        examples=["csv"],
    )
    path: str | None = Field(
        None, description="The file, relative to this file.", examples=["data/plm.csv"]
    )
    url_env: str | None = Field(
        None,
        description="sql: environment variable holding the SQLAlchemy URL (it may hold a "
        "password, so it never goes here).",
        examples=["PLM_DATABASE_URL"],
    )
    table: str | None = Field(None, description="sql: the table to read.", examples=["products"])
    query: str | None = Field(
        None, description="sql: a SELECT to read instead of a table.", examples=["SELECT ..."]
    )
    records: str | None = Field(
        None,
        description="json: dotted path to the list of records in the document.",
        examples=["data.items"],
    )
    mapping: str | None = Field(
        None,
        description="The mapping file, relative to this file (default: mappings/NAME.yaml).",
        examples=["mappings/plm.yaml"],
    )
    mode: Literal["snapshot", "append"] = Field(
        "snapshot",
        description="snapshot (the default): each run replaces the source's graph; append: "
        "each run adds the new rows (events), keeping each once.",
        examples=["append"],
    )
    watermark: str | None = Field(
        None,
        description="A column that grows with new rows (id, updated_at): later runs read only "
        "rows above the highest value seen.",
        examples=["updated_at"],
    )
    max_reject_rate: float = Field(
        0.05,
        ge=0,
        le=1,
        description="Fail the run, changing nothing, when more than this share of rows is "
        "rejected.",
    )
    chunk_rows: int = Field(50_000, gt=0, description="Rows read and mapped at a time.")
    schedule: str | None = Field(
        None,
        description="When `kgsentinel run` ingests it: a cron line or an interval such as 15m.",
        examples=["*/15 * * * *"],
    )

    @field_validator("schedule")
    @classmethod
    def _valid_schedule(cls, value: str | None) -> str | None:
        return _checked_schedule(value)

    @model_validator(mode="after")
    def _located(self) -> SourceConfig:
        if self.kind == "sql":
            if not self.url_env:
                raise ValueError("a sql source needs url_env (the variable holding its URL)")
            if (self.table is None) == (self.query is None):
                raise ValueError("a sql source needs exactly one of table or query")
        elif not self.path:
            raise ValueError("a file source needs path")
        if self.watermark and self.mode != "append":
            raise ValueError("watermark reads only new rows, so it needs mode = 'append'")
        return self


class DetectorConfig(_Section):
    """A detector ([detectors.NAME]); with none configured, the default suite runs."""

    kind: str | None = Field(
        None,
        description="conformance, durations, stuck, resources, values, outliers, structure, "
        "sparql or shacl; by default the detector's name.",
        examples=["conformance"],
    )
    enabled: bool = Field(True, description="Run it with `kgsentinel detect` and on schedule.")
    severity: Literal["info", "warning", "critical"] | None = Field(
        None,
        description="Severity of its anomalies (default: warning, or the rule's own).",
        examples=["critical"],
    )
    labels: dict[str, str] = Field(
        default_factory=dict,
        description="Labels on its anomalies, for routing alerts.",
        examples=[{"team": "npi"}],
    )
    rule: str | None = Field(
        None,
        description="sparql: the rule file (rules/*.rq) or builtin:NAME.",
        examples=["builtin:four-eyes"],
    )
    shapes: str | None = Field(
        None, description="shacl: the shapes file.", examples=["rules/products.shacl.ttl"]
    )
    params: dict[str, Any] = Field(
        default_factory=dict,
        description="Parameters of the detector (thresholds, rule parameters).",
        examples=[{"first": "Create", "second": "Approve"}],
    )
    schedule: str | None = Field(
        None,
        description="When `kgsentinel run` runs it: a cron line or an interval such as 15m.",
        examples=["*/15 * * * *"],
    )

    @field_validator("schedule")
    @classmethod
    def _valid_schedule(cls, value: str | None) -> str | None:
        return _checked_schedule(value)

    @model_validator(mode="after")
    def _kind_needs(self) -> DetectorConfig:
        if self.kind == "sparql" and not self.rule:
            raise ValueError("a sparql detector needs rule (a rules/*.rq file or builtin:NAME)")
        if self.kind == "shacl" and not self.shapes:
            raise ValueError("a shacl detector needs shapes (a *.shacl.ttl file)")
        return self


class OutcomeConfig(_Section):
    """An outcome to predict for running cases ([outcomes.NAME]), trained on finished ones."""

    kind: Literal["reaches", "never-reaches", "slower-than", "ask"] = Field(
        ...,
        description="reaches (the case reaches activity), never-reaches (it ends without "
        "it), slower-than (first to last event takes more than hours) or ask (the ask query "
        "is true for the case).",
        examples=["slower-than"],
    )
    activity: str | None = Field(
        None,
        description="reaches, never-reaches: the activity, by name.",
        examples=["Contract manufacturing"],
        min_length=1,
    )
    hours: float | None = Field(
        None, gt=0, description="slower-than: the SLA, in hours.", examples=[1440]
    )
    ask: str | None = Field(
        None,
        description="ask: a SPARQL ASK with ?case bound to each case, inline or a file "
        "(rules/*.ask.rq, which detectors do not read as rules).",
        examples=["rules/complaint.ask.rq"],
        min_length=1,
    )
    remaining_time: bool = Field(
        False, description="Also train a model of each running case's remaining time."
    )
    end_activities: list[str] | None = Field(
        None,
        description="Activities that end a case (a case is finished when its last event is "
        "one); by default learned from the log.",
        examples=[["Launch"]],
    )
    threshold: float = Field(
        0.7,
        ge=0,
        le=1,
        description="A running case whose probability of the outcome is above this becomes "
        "an anomaly of kind risk.",
    )
    severity: Literal["info", "warning", "critical"] = Field(
        "warning", description="Severity of its risk anomalies.", examples=["critical"]
    )
    labels: dict[str, str] = Field(
        default_factory=dict,
        description="Labels on its risk anomalies, for routing alerts.",
        examples=[{"team": "npi"}],
    )
    test_share: float = Field(
        0.2,
        gt=0,
        lt=1,
        description="Share of the finished cases, the newest, held out to measure the model "
        "(it is then trained again on all of them).",
    )
    max_prefix_length: int | None = Field(
        None,
        gt=0,
        description="Learn from the first events of cases up to this many (default: all).",
        examples=[20],
    )
    enabled: bool = Field(
        True, description="Train and predict it with `kgsentinel train` / `kgsentinel predict`."
    )
    schedule: str | None = Field(
        None,
        description="When `kgsentinel run` predicts it (training it first if it has no model): "
        "a cron line or an interval such as 1h.",
        examples=["0 * * * *"],
    )
    retrain: str | None = Field(
        None,
        description="When `kgsentinel run` trains it again: a cron line or an interval such as 1d.",
        examples=["0 3 * * 0"],
    )

    @field_validator("schedule", "retrain")
    @classmethod
    def _valid_schedule(cls, value: str | None) -> str | None:
        return _checked_schedule(value)

    @model_validator(mode="after")
    def _kind_needs(self) -> OutcomeConfig:
        needs = {"reaches": "activity", "never-reaches": "activity", "slower-than": "hours",
                 "ask": "ask"}  # fmt: skip
        key = needs[self.kind]
        if getattr(self, key) is None:
            example = {"activity": '"Launch"', "hours": "1440",
                       "ask": '"rules/NAME.ask.rq"'}[key]  # fmt: skip
            raise ValueError(f"kind = {self.kind!r} needs {key} (e.g. {key} = {example})")
        if self.end_activities is not None and not self.end_activities:
            raise ValueError("end_activities is empty; name at least one, or leave it out")
        return self


class EventsConfig(_Section):
    """CloudEvents posted to the HTTP API (`POST /events`)."""

    graph: str = Field(
        "events",
        description="The graph posted events go into (each kept once by source and id).",
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
    )
    max_batch: int = Field(1000, gt=0, description="Most events one post (a batch) may hold.")

    @field_validator("graph")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        if value in RESERVED_SOURCES:
            raise ValueError(
                f"{value!r} is reserved for kgsentinel's own graphs; name another graph"
            )
        return value


class Config(_Section):
    """All settings of a workspace."""

    project: ProjectConfig = Field(default_factory=ProjectConfig)
    store: StoreConfig = Field(default_factory=StoreConfig)
    sources: dict[str, SourceConfig] = Field(default_factory=dict)
    detectors: dict[str, DetectorConfig] = Field(default_factory=dict)
    outcomes: dict[str, OutcomeConfig] = Field(default_factory=dict)
    sinks: dict[str, SinkConfig] = Field(default_factory=dict)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    scheduler: SchedulerConfig = Field(default_factory=SchedulerConfig)
    api: ApiConfig = Field(default_factory=ApiConfig)
    events: EventsConfig = Field(default_factory=EventsConfig)

    @field_validator("detectors", "outcomes")
    @classmethod
    def _detector_names(cls, detectors: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        what = "detector" if info.field_name == "detectors" else "outcome"
        for name in detectors:
            if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
                raise ValueError(
                    f"{what} name {name!r}: use letters, digits, '.', '_' and '-' "
                    f"(it names the {what} in the graph)"
                )
        shared = sorted(set(detectors) & set(info.data.get("detectors") or {}))
        if what == "outcome" and shared:
            raise ValueError(
                f"{shared[0]!r} names both a detector and an outcome (their anomalies would "
                "mix); rename one of them"
            )
        return detectors

    @model_validator(mode="after")
    def _events_graph_of_its_own(self) -> Config:
        if self.events.graph in self.sources:
            raise ValueError(
                f"[events] graph {self.events.graph!r} is also a source's graph (each run of "
                "the source would replace the posted events); name another graph"
            )
        return self

    @model_validator(mode="after")
    def _alert_sinks_defined(self) -> Config:
        sinks = getattr(self, "sinks", None)
        if sinks is not None:
            self.alerts.check_sinks(sinks)
        return self

    @field_validator("sinks")
    @classmethod
    def _sink_names(cls, sinks: dict[str, SinkConfig]) -> dict[str, SinkConfig]:
        for name in sinks:
            if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
                raise ValueError(
                    f"sink name {name!r}: use letters, digits, '.', '_' and '-' "
                    "(routes name it in sink = ...)"
                )
        return sinks

    @field_validator("sources")
    @classmethod
    def _usable_names(cls, sources: dict[str, SourceConfig]) -> dict[str, SourceConfig]:
        for name in sources:
            if name in RESERVED_SOURCES:
                raise ValueError(
                    f"source name {name!r} is reserved for kgsentinel's own graphs "
                    f"({', '.join(RESERVED_SOURCES)}); rename the source"
                )
            if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
                raise ValueError(
                    f"source name {name!r}: use letters, digits, '.', '_' and '-' "
                    "(it names a graph)"
                )
        return sources


def load_config(path: Path | None, env: Mapping[str, str] | None = None) -> Config:
    """Read and validate ``kgsentinel.toml``; errors name the file, key, value and fix.

    ``KGSENTINEL_STORE_*`` variables in ``env`` override the store settings. With
    ``path=None`` (no workspace) the defaults and the overrides are used.
    """
    data = _read_toml(path) if path is not None else {}
    overrides = store_overrides(env or {})
    if overrides:
        store = data.get("store")
        data["store"] = {**(store if isinstance(store, dict) else {}), **overrides}
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        where = str(path) if path is not None else "settings"
        if overrides:
            where += " (with KGSENTINEL_STORE_* overrides)"
        raise ConfigError(_describe(where, exc)) from None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file; run `kgsentinel init` to create one") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text; save it as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc} (fix the TOML syntax)") from None
    _reject_secrets(path, data)
    return data


def store_overrides(env: Mapping[str, str]) -> dict[str, str]:
    """Store settings taken from ``KGSENTINEL_STORE_*`` environment variables.

    Example:
        >>> store_overrides({"KGSENTINEL_STORE_PATH": "/data/kg"})
        {'backend': 'embedded', 'path': '/data/kg'}
    """
    overrides: dict[str, str] = {}
    if env.get("KGSENTINEL_STORE_PATH"):
        overrides.update(backend="embedded", path=env["KGSENTINEL_STORE_PATH"])
    if env.get("KGSENTINEL_STORE_URL"):
        overrides.update(backend="sparql", query_url=env["KGSENTINEL_STORE_URL"])
    for key in ("update_url", "gsp_url"):
        value = env.get(f"KGSENTINEL_STORE_{key.upper()}")
        if value:
            overrides[key] = value
    return overrides


def _reject_secrets(path: Path, data: Mapping[str, Any], prefix: str = "") -> None:
    for key, value in data.items():
        if isinstance(value, Mapping):
            _reject_secrets(path, value, f"{prefix}{key}.")
        elif key.lower() in _SECRET_KEYS:
            raise ConfigError(
                f"{path}: {prefix}{key}: secrets do not belong in {CONFIG_FILE}; "
                f"put it in an environment variable and name it with {key.lower()}_env"
            )


def _describe(where: str, exc: ValidationError) -> str:
    """One line for the first validation error (and how many more there are)."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    location = [str(part) for part in first["loc"]]
    key = _key_name(location)
    message = _explain(first, location)
    silent = first["type"] in ("missing", "extra_forbidden") or isinstance(first["input"], dict)
    shown = "" if silent else f" = {first['input']!r}"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {key}{shown}: {message}{more}"


def _key_name(location: list[str]) -> str:
    if not location:
        return "settings"
    if len(location) == 1:
        return f"[{location[0]}]"
    return f"[{'.'.join(location[:-1])}] {location[-1]}"


def _explain(error: Any, location: list[str]) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(location[:-1])
        return f"unknown setting; allowed here: {', '.join(allowed)}"
    if kind == "literal_error":
        return f"not allowed; use one of {error['ctx']['expected']}"
    if kind == "value_error":
        return str(error["ctx"]["error"])
    text = re.sub(r"\w+Config\b", "table", str(error["msg"]).rstrip("."))
    return text[:1].lower() + text[1:]


def _allowed_keys(section: list[str]) -> list[str]:
    model: type[BaseModel] = Config
    for name in section:
        annotation = model.model_fields[name].annotation
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return list(model.model_fields)


def config_template(name: str = "kgsentinel") -> str:
    """The commented ``kgsentinel.toml`` that ``kgsentinel init`` writes.

    Every setting appears with its help text and default; optional ones are
    commented out.

    Example:
        >>> "[store]" in config_template() and 'backend = "embedded"' in config_template()
        True
    """
    lines = [
        f"# {CONFIG_FILE}: settings of this kgsentinel workspace.",
        "# Every setting is listed with its default; uncomment a line to change it.",
        "# Secrets (tokens, passwords) never go here: name an environment variable instead.",
    ]
    sections: list[tuple[str, type[BaseModel]]] = [
        ("project", ProjectConfig),
        ("store", StoreConfig),
        ("sources.plm", SourceConfig),
        ("detectors.conformance", DetectorConfig),
        ("outcomes.late-launch", OutcomeConfig),
        ("alerts", AlertsConfig),
        ("alerts.routes.npi", RouteConfig),
        ("sinks.ops", SinkConfig),
        ("sinks.slack", SinkConfig),
        ("scheduler", SchedulerConfig),
        ("api", ApiConfig),
        ("api.tokens.ci", TokenConfig),
        ("events", EventsConfig),
    ]
    for section, model in sections:
        example = section.startswith(
            ("sources.", "detectors.", "outcomes.", "alerts.routes.", "sinks.", "api.tokens.")
        )
        header = f"# [{section}]" if example else f"[{section}]"
        lines += ["", header, f"# {(model.__doc__ or '').strip()}"]
        for key, setting in model.model_fields.items():
            if _is_table_of_tables(setting):
                continue  # shown by its own example section
            lines += [f"# {setting.description}"]
            default = name if (section, key) == ("project", "name") else setting.default
            sample = _SAMPLES.get((section, key), (setting.examples or [None])[0])
            if example and sample is not None:
                default = sample  # the sources block is an example: show example values
            written = (section, key) in _WRITTEN
            lines.append(_toml_line(setting.alias or key, default, sample, always=written))
    return "\n".join(lines) + "\n"


_SAMPLES = {("sinks.ops", "kind"): "console"}  # the default route's sink, next to Slack
_WRITTEN = {("project", "name"), ("store", "backend"), ("store", "path")}


def _is_table_of_tables(setting: Any) -> bool:
    """A ``dict[str, Model]`` setting, such as ``[api.tokens.NAME]``."""
    args = getattr(setting.annotation, "__args__", ())
    return len(args) == 2 and isinstance(args[1], type) and issubclass(args[1], BaseModel)


def _toml_line(key: str, value: Any, example: Any, *, always: bool) -> str:
    if value is None:
        return f"# {key} = {json.dumps(example)}"
    rendered = _toml_value(value)
    return f"{key} = {rendered}" if always else f"# {key} = {rendered}"


def _toml_value(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return str(value).lower()
