"""Event logs into the graph with no mapping: XES, OCEL 2.0 (all three forms), CloudEvents."""

from __future__ import annotations

import json
from pathlib import Path

import pyoxigraph as ox
import pytest
from test_eventlogs import write_ocel_sqlite
from typer.testing import CliRunner

from kgsentinel.cli.app import app
from kgsentinel.errors import SourceError
from kgsentinel.ingest.job import ingest_log, ingest_path
from kgsentinel.workspace import open_workspace

LOGS = Path(__file__).parent / "data" / "eventlogs"
KGS = "PREFIX kgs: <https://w3id.org/kgsentinel#>\n"


def graph_of(ws, name: str) -> set[ox.Quad]:
    dataset = ox.Dataset(ox.parse(ws.store.export(graph=name, format="nquads"),
                                  format=ox.RdfFormat.N_QUADS))  # fmt: skip
    dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    return {ox.Quad(q.subject, q.predicate, q.object) for q in dataset}


def test_an_xes_log_becomes_cases_events_and_activities(workspace: Path) -> None:
    with open_workspace(workspace) as ws:
        report = ingest_log(ws, LOGS / "npi.xes", graph="launches")
        assert (report.rows_read, report.rows_rejected) == (6, 0)
        per_case = ws.store.query(
            KGS + "SELECT ?case (COUNT(?e) AS ?n) WHERE { ?e a kgs:Event ; kgs:case ?c . "
            "?c kgs:caseId ?case } GROUP BY ?case ORDER BY ?case"
        ).rows()
        assert sum(row["n"] for row in per_case) == 6
        ordered = ws.store.query(
            KGS + "ASK { ?e kgs:activity/<http://www.w3.org/2000/01/rdf-schema#label> ?a ; "
            "kgs:timestamp ?t ; kgs:involves ?c . ?c a kgs:Case }"
        )
        assert ordered.boolean


def test_the_three_ocel_serialisations_give_the_same_graph(workspace: Path, tmp_path: Path) -> None:
    sqlite = tmp_path / "npi.sqlite"
    write_ocel_sqlite(json.loads((LOGS / "npi.jsonocel").read_text()), sqlite)
    with open_workspace(workspace) as ws:
        graphs = []
        for path in (LOGS / "npi.jsonocel", LOGS / "npi.xmlocel", sqlite):
            ingest_log(ws, path, graph="ocel")
            graphs.append(graph_of(ws, "ocel"))
        assert graphs[0] == graphs[1] == graphs[2]
        links = ws.store.query(
            KGS + "SELECT ?q WHERE { ?l a kgs:EventObjectLink ; kgs:qualifier ?q }"
        ).rows()
        assert links
        assert ws.store.query(KGS + "ASK { ?a kgs:relatedTo ?b . ?o a kgs:ObjectObjectLink }")


def test_re_ingesting_a_log_changes_nothing(workspace: Path) -> None:
    with open_workspace(workspace) as ws:
        ingest_log(ws, LOGS / "npi.xes", graph="launches")
        before = graph_of(ws, "launches")
        ingest_log(ws, LOGS / "npi.xes", graph="launches")
        assert graph_of(ws, "launches") == before


def test_cloudevents_are_appended_once_and_bad_lines_rejected(workspace: Path) -> None:
    with open_workspace(workspace) as ws:
        first = ingest_log(ws, LOGS / "events.jsonl", max_reject_rate=0.6)
        assert first.rows_read == first.rows_loaded + first.rows_rejected
        assert first.rows_rejected > 0
        assert first.rejects_file is not None
        events = KGS + "SELECT (COUNT(?e) AS ?n) WHERE { ?e a kgs:Event }"
        count = ws.store.query(events).scalar()
        assert count == first.rows_loaded - 1  # the file redelivers one event: kept once
        ingest_log(ws, LOGS / "events.jsonl", max_reject_rate=0.6)  # all redelivered
        assert ws.store.query(events).scalar() == count


def test_the_cli_ingests_a_log_without_options(workspace: Path, cli: CliRunner) -> None:
    result = cli.invoke(app, ["ingest", str(LOGS / "npi.jsonocel")])
    assert result.exit_code == 0, result.output
    assert "npi: read 6, loaded 6, rejected 0 rows" in result.stdout


def test_a_file_that_is_no_event_log_needs_a_mapping(workspace: Path, tmp_path: Path) -> None:
    table = tmp_path / "products.csv"
    table.write_text("sku\nP-1\n")
    with open_workspace(workspace) as ws, pytest.raises(SourceError, match=r"products\.csv"):
        ingest_log(ws, table)


def test_a_csv_of_events_needs_only_its_column_names(workspace: Path, cli: CliRunner) -> None:
    steps = workspace / "data" / "steps.csv"
    steps.write_text(
        "launch,step,at,who\nL-1,brief,2026-01-05T09:00:00Z,ana\n"
        "L-1,formulation,2026-01-20T09:00:00Z,\nL-2,brief,2026-02-01T09:00:00Z,bo\n"
    )
    args = ["ingest", str(steps), "--case", "launch", "--activity", "step", "--timestamp", "at"]
    result = cli.invoke(app, [*args, "--resource", "who"])
    assert result.exit_code == 0, result.output
    assert "steps: read 3, loaded 3, rejected 0 rows" in result.stdout
    with open_workspace(workspace) as ws:
        rows = ws.store.query(
            KGS + "SELECT ?case (COUNT(?e) AS ?n) WHERE { ?e kgs:case/kgs:caseId ?case } "
            "GROUP BY ?case ORDER BY ?case"
        ).rows()
        assert rows == [{"case": "L-1", "n": 2}, {"case": "L-2", "n": 1}]
    incomplete = cli.invoke(app, ["ingest", str(steps), "--case", "launch"])
    assert incomplete.exit_code != 0
    assert "--activity, --timestamp" in incomplete.output


def test_a_table_of_object_links_gives_the_graph_an_ocel_log_gives(
    workspace: Path, tmp_path: Path
) -> None:
    """``object_links:`` in a mapping writes the shape the OCEL 2.0 reader writes."""
    o2o = (
        KGS + "CONSTRUCT { ?a kgs:relatedTo ?b . ?l a kgs:ObjectObjectLink ; kgs:fromObject ?a ; "
        "kgs:toObject ?b ; kgs:qualifier ?q } WHERE { GRAPH ?g { ?a kgs:relatedTo ?b . "
        "?l a kgs:ObjectObjectLink ; kgs:fromObject ?a ; kgs:toObject ?b ; kgs:qualifier ?q } }"
    )
    table = tmp_path / "relations.csv"
    table.write_text(
        "product,target,target_type,role\n"
        "P1,M-FR,Market,sold in\nP1,M-DE,Market,sold in\nP2,P1,Product,variant of\n"
    )
    mapping = tmp_path / "relations.yaml"
    mapping.write_text(
        'base: "urn:kgsentinel:ocel:"\n'
        "object_links:\n"
        "  - from: {id: product, type: Product}\n"
        "    to: {id: target, type: '{target_type}'}\n"
        "    qualifier: {column: role}\n"
    )
    with open_workspace(workspace) as ws:
        ingest_log(ws, LOGS / "npi.jsonocel", graph="ocel")
        from_log = set(ws.store.query(o2o).triples)
        ws.store.drop_graph("ocel")
        ingest_path(ws, table, mapping=mapping, graph="relations")
        from_table = set(ws.store.query(o2o).triples)
    assert len(from_log) == 3 * 5
    assert from_table == from_log
