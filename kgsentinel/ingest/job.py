"""Ingest runs: read a source in chunks, map it, load it atomically, record the run.

One run of a source:

1. checks the mapping against the source's columns before reading any data;
2. reads and maps the source chunk by chunk, each chunk's N-Triples going
   straight to the store's graph writer (memory stays flat however large the
   source; a new graph loads while the next chunk is mapped);
3. writes rejected rows to ``.kgsentinel/rejects/<source>.csv`` with their row
   number and reason, and fails, changing nothing, when more rows were rejected
   than ``max_reject_rate`` allows;
4. makes the graph change visible at once, only if the rejects are within
   bounds: ``snapshot`` replaces the graph (reloading the same data writes
   nothing), ``append`` adds to it (an event maps to the same IRIs every time,
   so it is kept once);
5. records the run in the provenance graph (PROV-O): source, mapping hash,
   file hash, start and end, rows read, loaded and rejected, triples.

``read = loaded + rejected`` holds for every run.

Example:
    >>> import tempfile, pathlib
    >>> from kgsentinel.workspace import init_workspace, open_workspace
    >>> root = init_workspace(pathlib.Path(tempfile.mkdtemp()) / "npi")
    >>> _ = (root / "data" / "plm.csv").write_text("sku,name\\nP-1,Rose serum\\n")
    >>> _ = (root / "mappings" / "plm.yaml").write_text(
    ...     "entities: [{class: kgs:Object, iri: 'product/{sku}', properties: {rdfs:label: name}}]"
    ... )
    >>> mapping = root / "mappings" / "plm.yaml"
    >>> with open_workspace(root) as ws:
    ...     report = ingest_path(ws, root / "data" / "plm.csv", mapping=mapping)
    ...     report.rows_read, report.rows_loaded, report.triples
    (1, 1, 2)
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyoxigraph as ox

from kgsentinel.config import SourceConfig
from kgsentinel.errors import ConfigError, RejectRateError, SourceError
from kgsentinel.graph import terms
from kgsentinel.graph.ontology import KGS
from kgsentinel.graph.terms import graph_iri
from kgsentinel.ingest.mapper import ROW, MappedChunk, map_chunk
from kgsentinel.ingest.mapping import Mapping, load_mapping

if TYPE_CHECKING:  # pragma: no cover
    from kgsentinel.graph.writer import GraphWriter
    from kgsentinel.ingest.sources import TableSource
    from kgsentinel.workspace import Workspace

__all__ = [
    "PROVENANCE_GRAPH",
    "IngestReport",
    "event_table_mapping",
    "ingest",
    "ingest_log",
    "ingest_path",
    "ingest_source",
    "source_runs",
]

PROVENANCE_GRAPH = graph_iri("provenance")
PROV = "http://www.w3.org/ns/prov#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
Progress = Callable[[int], None]


@dataclass(frozen=True)
class IngestReport:
    """What one run of a source did."""

    source: str
    graph: str
    rows_read: int
    rows_loaded: int
    rows_rejected: int
    #: triples in the source's graph after the run
    triples: int
    rejects_file: Path | None
    started: dt.datetime
    ended: dt.datetime
    run: str


@dataclass(frozen=True)
class _Plan:
    """Everything a run needs, resolved and checked before any data is read."""

    name: str
    table: TableSource | None
    label: str
    mapping: Mapping | None
    replace: bool
    max_reject_rate: float
    chunk_rows: int
    #: the file hashed into provenance (None for SQL)
    file: Path | None = None
    #: what the built-in mapping of an event log is (instead of a mapping file)
    log_format: str | None = None


def ingest(
    workspace: Workspace, names: Sequence[str] = (), *, progress: Progress | None = None
) -> list[IngestReport]:
    """Ingest the named sources (all configured sources when none are named)."""
    chosen = list(names) or list(workspace.config.sources)
    if not chosen:
        raise ConfigError(
            "no sources configured: add a [sources.NAME] table to kgsentinel.toml, "
            "or run `kgsentinel ingest FILE --mapping MAPPING`"
        )
    return [ingest_source(workspace, name, progress=progress) for name in chosen]


def ingest_source(
    workspace: Workspace, name: str, *, progress: Progress | None = None
) -> IngestReport:
    """Run one configured source."""
    sources = workspace.config.sources
    if name not in sources:
        known = ", ".join(sources) or "none configured"
        raise ConfigError(f"no source named {name!r} in kgsentinel.toml (sources: {known})")
    return _run(workspace, _plan_source(workspace, name, sources[name]), progress)


def ingest_path(
    workspace: Workspace,
    path: Path,
    *,
    mapping: Path | Mapping,
    graph: str | None = None,
    append: bool = False,
    max_reject_rate: float = 0.05,
    progress: Progress | None = None,
) -> IngestReport:
    """Ingest one file with a mapping (a file or a :class:`Mapping`), without configuring it."""
    from kgsentinel.ingest.sources import TableSource

    table = TableSource.from_path(path)
    name = graph or path.stem
    rules = mapping if isinstance(mapping, Mapping) else load_mapping(mapping)
    plan = _Plan(name, table, str(path), rules, not append, max_reject_rate, 50_000, path)
    return _run(workspace, plan, progress)


def _plan_source(workspace: Workspace, name: str, config: SourceConfig) -> _Plan:
    from kgsentinel.ingest.sources import TableSource

    root = workspace.root or Path.cwd()
    mapping = load_mapping(root / (config.mapping or f"mappings/{name}.yaml"))
    if config.kind == "sql" or config.url_env:
        url = workspace.env.get(config.url_env or "")
        if not url:
            raise ConfigError(
                f"source {name!r}: set the environment variable {config.url_env} to its "
                "SQLAlchemy URL"
            )
        table = TableSource(kind="sql", location=url, table=config.table, query=config.query,
                            watermark=config.watermark)  # fmt: skip
        label = f"{name} (table {config.table})" if config.table else f"{name} (query)"
        file = None
    else:
        path = root / str(config.path)
        options: dict[str, Any] = {"watermark": config.watermark}
        if config.records:
            options["records"] = config.records
        if config.kind == "tsv":
            options["delimiter"] = "\t"
        if config.kind:
            kind = "csv" if config.kind == "tsv" else config.kind
            table = TableSource(kind, str(path), **options)
        else:
            table = TableSource.from_path(path, **options)
        label, file = str(config.path), path
    return _Plan(name, table, label, mapping, config.mode == "snapshot",
                 config.max_reject_rate, config.chunk_rows, file)  # fmt: skip


def ingest_log(
    workspace: Workspace,
    path: Path,
    *,
    graph: str | None = None,
    append: bool | None = None,
    max_reject_rate: float = 0.05,
    progress: Progress | None = None,
) -> IngestReport:
    """Ingest an event log (XES, OCEL 2.0, CloudEvents) with the built-in mappings.

    A log replaces its graph, except CloudEvents, which are appended (each
    event kept once by its source and id); ``append`` overrides this.
    """
    from kgsentinel.ingest.eventlog import log_format
    from kgsentinel.ingest.logs import LogSpool, map_log

    fmt = log_format(path)
    replace = not append if append is not None else fmt != "cloudevents"
    name = graph or path.name.split(".")[0]
    plan = _Plan(name, None, str(path), None, replace, max_reject_rate, 50_000, path, fmt)
    log = LogSpool()

    def produce(writer: GraphWriter) -> _Totals:
        counted = 0
        for piece in map_log(path, name, log, chunk_events=plan.chunk_rows):
            writer.write(piece)
            if progress:
                progress(log.events_read - counted)
                counted = log.events_read
        rejects = [frame for frame in log.rejects if len(frame)]
        return _Totals(log.events_read, log.events_rejected, writer.lines, None, rejects)

    return _write_and_record(workspace, plan, produce)[0]


def _run(workspace: Workspace, plan: _Plan, progress: Progress | None) -> IngestReport:
    from kgsentinel.ingest.sources import columns

    assert plan.table is not None
    assert plan.mapping is not None
    plan.mapping.check_columns([*columns(plan.table), ROW], source=plan.label)
    state = _State(workspace.state_dir, plan.name)
    after = state.watermark() if plan.table.watermark else None
    report, totals = _write_and_record(
        workspace, plan, lambda writer: _map_into(plan, writer, after, progress)
    )
    if totals.watermark is not None:
        state.save_watermark(totals.watermark)
    return report


def _write_and_record(
    workspace: Workspace, plan: _Plan, produce: Callable[[GraphWriter], _Totals]
) -> tuple[IngestReport, _Totals]:
    """Write the source's graph from ``produce``, check the rejects, record the run.

    The graph changes only if the reject rate is within bounds: a failed run
    leaves it as it was (see :class:`~kgsentinel.graph.writer.GraphWriter`).
    """
    started, graph = _now(), graph_iri(plan.name)
    spool_dir = workspace.state_dir / "tmp"
    spool_dir.mkdir(parents=True, exist_ok=True)
    with workspace.store.writer(plan.name, replace=plan.replace, spool_dir=spool_dir) as writer:
        totals = produce(writer)
        rejects_file = _write_rejects(workspace.state_dir, plan.name, totals.rejects)
        _check_reject_rate(plan, totals, rejects_file)
    assert writer.report is not None
    report = IngestReport(
        plan.name, graph, totals.read, totals.read - totals.rejected, totals.rejected,
        writer.report.graphs.get(graph, 0), rejects_file, started, _now(),
        f"urn:kgsentinel:run:{uuid.uuid4().hex}",
    )  # fmt: skip
    workspace.store.add(_provenance(report, plan))
    return report, totals


@dataclass
class _Totals:
    read: int = 0
    rejected: int = 0
    triples: int = 0
    watermark: object = None
    rejects: list[pd.DataFrame] | None = None


def _map_into(
    plan: _Plan, writer: GraphWriter, after: object, progress: Progress | None
) -> _Totals:
    from kgsentinel.ingest.sources import max_watermark, read_chunks

    assert plan.table is not None
    assert plan.mapping is not None
    totals = _Totals(rejects=[])
    for chunk in read_chunks(plan.table, chunk_rows=plan.chunk_rows, after=after):
        mapped: MappedChunk = map_chunk(plan.mapping, chunk, graph=None)
        writer.write(mapped.batch.to_bytes())
        totals.read += mapped.rows_read
        totals.rejected += mapped.rows_rejected
        totals.triples += mapped.batch.accepted
        if len(mapped.rejects):
            assert totals.rejects is not None
            totals.rejects.append(mapped.rejects)
        if plan.table.watermark and len(chunk):
            highest = max_watermark(chunk, plan.table.watermark)
            if totals.watermark is None or highest > totals.watermark:  # type: ignore[operator]
                totals.watermark = highest
        if progress:
            progress(mapped.rows_read)
    return totals


def _write_rejects(state_dir: Path, name: str, parts: list[pd.DataFrame] | None) -> Path | None:
    path = state_dir / "rejects" / f"{name}.csv"
    if not parts:
        path.unlink(missing_ok=True)
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.concat(parts, ignore_index=True).to_csv(path, index=False)
    return path


def _check_reject_rate(plan: _Plan, totals: _Totals, rejects_file: Path | None) -> None:
    if not totals.read or totals.rejected / totals.read <= plan.max_reject_rate:
        return
    share = totals.rejected / totals.read
    raise RejectRateError(
        f"{plan.label}: {totals.rejected} of {totals.read} rows rejected ({share:.0%}), more than "
        f"max_reject_rate {plan.max_reject_rate:.0%}; nothing was loaded. Reasons: {rejects_file}"
    )


def _provenance(report: IngestReport, plan: _Plan) -> list[ox.Quad]:
    graph = ox.NamedNode(PROVENANCE_GRAPH)
    run = ox.NamedNode(report.run)
    source = ox.NamedNode(f"urn:kgsentinel:source:{report.source}")

    def quad(subject: ox.NamedNode, predicate: str, value: object) -> ox.Quad:
        return terms.quad(subject, predicate, value, graph)

    quads = [
        quad(source, RDF_TYPE, ox.NamedNode(KGS + "Source")),
        quad(source, RDFS_LABEL, ox.Literal(report.source)),
        quad(run, RDF_TYPE, ox.NamedNode(KGS + "IngestRun")),
        quad(run, PROV + "used", source),
        quad(run, PROV + "startedAtTime", report.started),
        quad(run, PROV + "endedAtTime", report.ended),
        quad(run, KGS + "rowsRead", report.rows_read),
        quad(run, KGS + "rowsLoaded", report.rows_loaded),
        quad(run, KGS + "rowsRejected", report.rows_rejected),
        quad(run, KGS + "triples", report.triples),
        quad(run, KGS + "mappingHash", _mapping_hash(plan)),
        quad(ox.NamedNode(report.graph), PROV + "wasGeneratedBy", run),
    ]
    if plan.file is not None:
        quads.append(quad(run, KGS + "fileHash", _file_hash(plan.file)))
    return quads


def event_table_mapping(
    graph: str,
    *,
    case: str,
    activity: str,
    timestamp: str,
    resource: str | None = None,
    event_id: str | None = None,
) -> Mapping:
    """The mapping of a table whose rows are events, from its column names.

    Without ``event_id`` an event is named by its case and row number, which
    stays stable while the file only grows at the end.

    Example:
        >>> mapping = event_table_mapping("steps", case="case", activity="act", timestamp="t")
        >>> mapping.columns()
        ['case', '__row__', 'act', 't']
    """
    from kgsentinel.ingest.logs import log_base

    return Mapping.model_validate({
        "base": log_base(graph),
        "events": {
            "id": event_id or f"{{{case}}}/{{{ROW}}}", "activity": activity,
            "timestamp": timestamp, "resource": resource, "case": case,
        },
    })  # fmt: skip


def _mapping_hash(plan: _Plan) -> str:
    if plan.mapping is not None:
        return plan.mapping.digest()
    return hashlib.sha256(f"kgsentinel built-in {plan.log_format} mapping".encode()).hexdigest()


def _file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        raise SourceError(f"{path}: cannot read it to hash it: {exc.strerror}") from exc
    return digest.hexdigest()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


class _State:
    """Per-source state kept beside the store: the highest watermark ingested so far."""

    def __init__(self, state_dir: Path, name: str) -> None:
        self.path = state_dir / "sources" / f"{name}.json"

    def watermark(self) -> object:
        if not self.path.exists():
            return None
        record = json.loads(self.path.read_text(encoding="utf-8"))
        value = record.get("watermark")
        return pd.Timestamp(value) if record.get("type") == "timestamp" else value

    def save_watermark(self, value: object) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(value, pd.Timestamp | dt.datetime):
            record = {"watermark": pd.Timestamp(value).isoformat(), "type": "timestamp"}
        elif hasattr(value, "item"):
            record = {"watermark": value.item(), "type": "number"}  # numpy scalar
        else:
            record = {"watermark": value, "type": type(value).__name__}
        self.path.write_text(json.dumps(record), encoding="utf-8")


def source_runs(workspace: Workspace) -> list[dict[str, object]]:
    """Each configured source with its last run (from the provenance graph).

    Example:
        >>> import tempfile, pathlib
        >>> from kgsentinel.workspace import init_workspace, open_workspace
        >>> with open_workspace(init_workspace(pathlib.Path(tempfile.mkdtemp()) / "w")) as ws:
        ...     source_runs(ws)
        []
    """
    last = workspace.store.query(
        f"""PREFIX prov: <{PROV}> PREFIX kgs: <{KGS}> PREFIX rdfs: <{RDFS_LABEL[:-5]}>
        SELECT ?name ?ended ?read ?loaded ?rejected ?triples WHERE {{
          ?run a kgs:IngestRun ; prov:used/rdfs:label ?name ; prov:endedAtTime ?ended ;
               kgs:rowsRead ?read ; kgs:rowsLoaded ?loaded ; kgs:rowsRejected ?rejected ;
               kgs:triples ?triples .
          FILTER NOT EXISTS {{
            ?later a kgs:IngestRun ; prov:used/rdfs:label ?name ; prov:endedAtTime ?end2 .
            FILTER(?end2 > ?ended)
          }}
        }}"""
    ).rows()
    by_name = {row["name"]: row for row in last}
    names = list(dict.fromkeys([*workspace.config.sources, *by_name]))
    return [{"source": name, **{k: v for k, v in by_name.get(name, {}).items() if k != "name"}}
            for name in names]  # fmt: skip
