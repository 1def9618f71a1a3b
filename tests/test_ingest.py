"""Ingest runs: configured sources into the graph, rejects, idempotence, provenance, CLI."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from kgsentinel.cli.app import app
from kgsentinel.errors import ConfigError, MappingError, RejectRateError
from kgsentinel.ingest.job import ingest, source_runs
from kgsentinel.workspace import open_workspace

PRODUCTS = """sku,name,price,supplier
P-1,Rose serum,12.5,S1
P-2,Night cream,30,S2
P-3,Day cream,abc,S1
"""
MAPPING = """
base: "urn:kgsentinel:npi:"
prefixes: {npi: "urn:kgsentinel:npi:"}
entities:
  - class: npi:Product
    iri: "product/{sku}"
    properties:
      rdfs:label: name
      npi:price: {column: price, datatype: xsd:decimal}
    links:
      npi:supplier: "supplier/{supplier}"
"""
EVENTS = """event,case,activity,time
e1,L-1,brief,2026-01-05T09:00:00Z
e2,L-1,formulation,2026-01-20T09:00:00Z
"""
EVENT_MAPPING = """
base: "urn:kgsentinel:npi:"
entities:
  - class: kgs:Event
    iri: "event/{event}"
    properties:
      kgs:activity: activity
      kgs:timestamp: {column: time, datatype: xsd:dateTime}
    links:
      kgs:case: "case/{case}"
"""
SOURCES = """
[sources.plm]
path = "data/plm.csv"
max_reject_rate = 0.5

[sources.launches]
path = "data/launches.csv"
mode = "append"
watermark = "time"
"""


@pytest.fixture
def npi(workspace: Path) -> Path:
    (workspace / "data" / "plm.csv").write_text(PRODUCTS)
    (workspace / "mappings" / "plm.yaml").write_text(MAPPING)
    (workspace / "data" / "launches.csv").write_text(EVENTS)
    (workspace / "mappings" / "launches.yaml").write_text(EVENT_MAPPING)
    with (workspace / "kgsentinel.toml").open("a") as config:
        config.write(SOURCES)
    return workspace


def triples(ws, graph: str) -> int:
    iri = f"urn:kgsentinel:graph:{graph}"
    query = f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{iri}> {{ ?s ?p ?o }} }}"
    return ws.store.query(query).scalar()


def test_a_source_is_ingested_with_rejects_that_reconcile(npi: Path) -> None:
    with open_workspace(npi) as ws:
        (report,) = ingest(ws, ["plm"])
        assert (report.rows_read, report.rows_loaded, report.rows_rejected) == (3, 2, 1)
        assert report.triples == triples(ws, "plm") == 8
        rejects = pd.read_csv(report.rejects_file)
        assert rejects.to_dict("records") == [
            {
                "row": 3,
                "field": "npi:price",
                "reason": "npi:price: 'abc' is not a valid xsd:decimal",
            },
        ]
        names = ws.store.query(
            "SELECT ?name WHERE { ?p a <urn:kgsentinel:npi:Product> ; "
            "<http://www.w3.org/2000/01/rdf-schema#label> ?name } ORDER BY ?name"
        ).rows()
        assert [row["name"] for row in names] == ["Night cream", "Rose serum"]


def test_re_ingesting_the_same_data_changes_nothing(npi: Path) -> None:
    with open_workspace(npi) as ws:
        ingest(ws, ["plm"])
        before = ws.store.export(graph="plm", format="ntriples")
        ingest(ws, ["plm"])
        assert ws.store.export(graph="plm", format="ntriples") == before


def test_a_snapshot_replaces_the_graph(npi: Path) -> None:
    with open_workspace(npi) as ws:
        ingest(ws, ["plm"])
        (npi / "data" / "plm.csv").write_text("sku,name,price,supplier\nP-9,Serum,1,S1\n")
        ingest(ws, ["plm"])
        labels = ws.store.query("SELECT ?p WHERE { ?p a <urn:kgsentinel:npi:Product> }").rows()
        assert labels == [{"p": "urn:kgsentinel:npi:product/P-9"}]


def test_too_many_rejects_fail_the_run_and_leave_the_graph(npi: Path) -> None:
    with open_workspace(npi) as ws:
        ingest(ws, ["plm"])
        before = ws.store.export(graph="plm", format="ntriples")
        bad = "sku,name,price,supplier\nP-1,Rose,x,S1\nP-2,Night,y,S2\nP-3,Day,1,S1\n"
        (npi / "data" / "plm.csv").write_text(bad)
        with pytest.raises(RejectRateError, match=r"2 of 3 rows rejected \(67%\).*nothing"):
            ingest(ws, ["plm"])
        assert ws.store.export(graph="plm", format="ntriples") == before


def test_append_with_a_watermark_adds_only_new_rows(npi: Path) -> None:
    with open_workspace(npi) as ws:
        (first,) = ingest(ws, ["launches"])
        assert first.rows_read == 2
        with (npi / "data" / "launches.csv").open("a") as events:
            events.write("e3,L-1,stability test,2026-02-02T09:00:00Z\n")
        (second,) = ingest(ws, ["launches"])
        assert second.rows_read == 1
        (third,) = ingest(ws, ["launches"])
        assert third.rows_read == 0
        assert triples(ws, "launches") == 12


def test_a_mapping_that_names_a_missing_column_fails_before_reading(npi: Path) -> None:
    (npi / "mappings" / "plm.yaml").write_text(MAPPING.replace("{sku}", "{SKU}"))
    with open_workspace(npi) as ws, pytest.raises(MappingError, match="did you mean 'sku'"):
        ingest(ws, ["plm"])


def test_unknown_sources_and_reserved_names_are_explained(npi: Path) -> None:
    with open_workspace(npi) as ws, pytest.raises(ConfigError, match="sources: plm, launches"):
        ingest(ws, ["erp"])
    with (npi / "kgsentinel.toml").open("a") as config:
        config.write('\n[sources.alerts]\npath = "data/x.csv"\n')
    with pytest.raises(ConfigError, match="'alerts' is reserved"):
        open_workspace(npi)


def test_each_run_is_recorded_and_listed(npi: Path) -> None:
    with open_workspace(npi) as ws:
        ingest(ws, ["plm"])
        ingest(ws, ["plm"])
        runs = {run["source"]: run for run in source_runs(ws)}
        assert runs["plm"]["read"] == 3
        assert runs["plm"]["rejected"] == 1
        assert "ended" not in runs["launches"]
        hashes = ws.store.query(
            "SELECT (COUNT(DISTINCT ?run) AS ?n) "
            "WHERE { ?run <https://w3id.org/kgsentinel#fileHash> ?h }"
        ).scalar()
        assert hashes == 2


def test_the_cli_ingests_and_lists_sources(npi: Path, cli: CliRunner) -> None:
    result = cli.invoke(app, ["ingest"])
    assert result.exit_code == 0, result.output
    assert "plm: read 3, loaded 2, rejected 1 rows; 8 triples" in result.stdout
    assert "launches: read 2" in result.stdout
    listing = cli.invoke(app, ["sources"])
    assert "plm" in listing.stdout
    assert "launches" in listing.stdout


def test_the_cli_ingests_an_ad_hoc_file(workspace: Path, cli: CliRunner, tmp_path: Path) -> None:
    data = tmp_path / "products.csv"
    data.write_text(PRODUCTS)
    mapping = tmp_path / "products.yaml"
    mapping.write_text(MAPPING)
    strict = cli.invoke(app, ["ingest", str(data), "--mapping", str(mapping)])
    assert strict.exit_code == 1
    assert "1 of 3 rows rejected (33%), more than max_reject_rate 5%" in strict.stderr
    args = ["ingest", str(data), "-m", str(mapping), "-g", "plm", "--max-reject-rate", "0.5"]
    result = cli.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "into <urn:kgsentinel:graph:plm>" in result.stdout
    bad = cli.invoke(app, ["ingest", str(data)])
    assert bad.exit_code != 0


@pytest.fixture(scope="module")
def postgres_url(tmp_path_factory: pytest.TempPathFactory):
    """A real PostgreSQL server on loopback holding an ERP suppliers table."""
    import sqlalchemy as sa
    from conftest import require_server
    from postgres import PostgresServer

    server = PostgresServer()
    try:
        server.start(tmp_path_factory.mktemp("postgres"))
    except Exception as exc:
        server.stop()
        require_server(exc)
    engine = sa.create_engine(server.url)
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE suppliers (id int PRIMARY KEY, name text, "
                                   "country text, updated int)"))  # fmt: skip
        connection.execute(sa.text("INSERT INTO suppliers VALUES (1, 'ACME', 'FR', 10), "
                                   "(2, 'Belle', 'IT', 20)"))  # fmt: skip
    engine.dispose()
    yield server.url
    server.stop()


SUPPLIERS = """
base: "urn:kgsentinel:npi:"
prefixes: {npi: "urn:kgsentinel:npi:"}
entities:
  - class: npi:Supplier
    iri: "supplier/{id}"
    properties: {rdfs:label: name, npi:country: country}
"""


def test_a_postgresql_table_is_ingested_incrementally(
    workspace: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlalchemy as sa

    (workspace / "mappings" / "erp.yaml").write_text(SUPPLIERS)
    with (workspace / "kgsentinel.toml").open("a") as config:
        config.write('\n[sources.erp]\nkind = "sql"\nurl_env = "ERP_URL"\ntable = "suppliers"\n'
                     'mode = "append"\nwatermark = "updated"\n')  # fmt: skip
    monkeypatch.setenv("ERP_URL", postgres_url)
    with open_workspace(workspace) as ws:
        (first,) = ingest(ws, ["erp"])
        assert (first.rows_read, first.rows_loaded) == (2, 2)
        engine = sa.create_engine(postgres_url)
        with engine.begin() as connection:
            connection.execute(sa.text("INSERT INTO suppliers VALUES (3, 'Cosm', 'DE', 30)"))
        engine.dispose()
        (second,) = ingest(ws, ["erp"])
        assert second.rows_read == 1
        names = ws.store.query(
            "SELECT ?n WHERE { ?s a <urn:kgsentinel:npi:Supplier> ; "
            "<http://www.w3.org/2000/01/rdf-schema#label> ?n } ORDER BY ?n"
        ).rows()
        assert [row["n"] for row in names] == ["ACME", "Belle", "Cosm"]
        assert "postgres" not in str(ws.store.query("SELECT * WHERE { ?s ?p ?o }").rows())


@pytest.mark.parametrize("kind", ["json", "jsonl", "parquet", "tsv"])
def test_every_file_kind_gives_the_graph_a_csv_gives(npi: Path, kind: str) -> None:
    frame = pd.read_csv(npi / "data" / "plm.csv", dtype=str)
    path = npi / "data" / f"products.{kind}"
    if kind == "json":
        path.write_text(frame.to_json(orient="records"))
    elif kind == "jsonl":
        path.write_text(frame.to_json(orient="records", lines=True))
    elif kind == "parquet":
        frame.to_parquet(path)
    else:
        frame.to_csv(path, sep="\t", index=False)
    (npi / "mappings" / "products.yaml").write_text(MAPPING)
    with (npi / "kgsentinel.toml").open("a") as config:
        source = f'path = "data/products.{kind}"\nmax_reject_rate = 0.5\n'
        config.write("\n[sources.products]\n" + source)
    with open_workspace(npi) as ws:
        ingest(ws, ["plm", "products"])
        plm = ws.store.export(graph="plm", format="ntriples")
        assert ws.store.export(graph="products", format="ntriples") == plm
