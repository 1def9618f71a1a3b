"""The command line, driven through Typer's runner and checked through the library."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pyoxigraph as ox
import pytest
from typer.testing import CliRunner

from kgsentinel.cli.app import app
from kgsentinel.workspace import open_workspace

PRODUCTS = b"""@prefix ex: <https://example.org/> .
ex:p1 a ex:Product ; ex:name "Rose serum" ; ex:price 12 .
ex:p2 a ex:Product ; ex:name "Night cream" ; ex:price 30 .
"""
NAMES = "SELECT ?name WHERE { ?p <https://example.org/name> ?name } ORDER BY ?name"


def run(cli: CliRunner, *args: str, input: str | None = None):
    return cli.invoke(app, list(args), input=input)


@pytest.fixture
def products(workspace: Path) -> Path:
    path = workspace / "data" / "plm.ttl"
    path.write_bytes(PRODUCTS)
    return path


@pytest.fixture
def loaded(cli: CliRunner, products: Path) -> Path:
    result = run(cli, "load", str(products))
    assert result.exit_code == 0, result.output
    return products


def test_init_creates_a_workspace_that_later_commands_use(cli: CliRunner, tmp_path: Path) -> None:
    result = run(cli, "init", str(tmp_path / "npi"))
    assert result.exit_code == 0
    assert (tmp_path / "npi" / "kgsentinel.toml").is_file()
    again = run(cli, "init", str(tmp_path / "npi"))
    assert again.exit_code == 1
    assert "already a workspace" in again.stderr


def test_load_then_query_as_a_table(cli: CliRunner, products: Path, workspace: Path) -> None:
    loaded = run(cli, "load", str(products), "--graph", "plm")
    assert loaded.exit_code == 0
    assert "urn:kgsentinel:graph:plm" in loaded.stdout
    assert "6 triples" in loaded.stdout
    with open_workspace(workspace) as ws:
        assert [g.name for g in ws.store.graphs()] == ["plm"]
    table = run(cli, "query", NAMES)
    assert table.exit_code == 0
    assert table.stdout.index("Night cream") < table.stdout.index("Rose serum")
    assert "2 rows" in table.stderr


@pytest.mark.parametrize("fmt", ["csv", "tsv", "json"])
def test_query_formats_parse_as_standard_results(cli: CliRunner, loaded: Path, fmt: str) -> None:
    result = run(cli, "query", NAMES, "--format", fmt)
    assert result.exit_code == 0
    if fmt == "csv":  # lossy by design: pyoxigraph does not parse it back
        rows = list(csv.reader(io.StringIO(result.stdout)))
        assert rows == [["name"], ["Night cream"], ["Rose serum"]]
        return
    results_format = ox.QueryResultsFormat.from_extension(fmt)
    parsed = ox.parse_query_results(result.stdout_bytes, format=results_format)
    assert [s["name"].value for s in parsed] == ["Night cream", "Rose serum"]


def test_construct_prints_turtle_and_ntriples(cli: CliRunner, loaded: Path) -> None:
    query = "CONSTRUCT WHERE { ?p <https://example.org/price> ?price }"
    for fmt, rdf in (("turtle", ox.RdfFormat.TURTLE), ("ntriples", ox.RdfFormat.N_TRIPLES)):
        result = run(cli, "query", query, "--format", fmt)
        assert result.exit_code == 0
        assert len(list(ox.parse(result.stdout_bytes, format=rdf))) == 2


def test_query_from_a_file_and_from_stdin(cli: CliRunner, loaded: Path, tmp_path: Path) -> None:
    path = tmp_path / "names.rq"
    path.write_text(NAMES)
    from_file = run(cli, "query", "-f", str(path), "-F", "csv")
    from_stdin = run(cli, "query", "-", "-F", "csv", input=NAMES)
    assert from_file.stdout == from_stdin.stdout
    assert "Rose serum" in from_file.stdout


def test_params_are_bound_as_terms(cli: CliRunner, loaded: Path) -> None:
    query = (
        "SELECT ?p WHERE { ?p <https://example.org/name> ?n ; "
        "<https://example.org/price> ?price FILTER(?price >= ?min) }"
    )
    cheap = run(cli, "query", query, "-p", "n=Rose serum", "-p", "min=10", "-F", "csv")
    assert cheap.stdout.split() == ["p", "https://example.org/p1"]
    none = run(cli, "query", query, "-p", "n=Rose serum", "-p", "min=20", "-F", "csv")
    assert none.stdout.split() == ["p"]
    iri = run(cli, "query", "SELECT ?n WHERE { ?p <https://example.org/name> ?n }", "-p",
              "p=<https://example.org/p2>", "-F", "csv")  # fmt: skip
    assert iri.stdout.splitlines()[1] == "Night cream"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["query", "SELECT ?s WHERE {\n ?s ?p }"], "SPARQL syntax error at line 2, column"),
        (["query", NAMES, "-p", "oops"], "write it as name=value"),
        (["query", "-f", "missing.rq"], "cannot read missing.rq"),
        (["load", "nothing.ttl"], "nothing.ttl: no such file"),
        (["export", "--format", "turtle"], "Turtle holds one graph"),
        (["graphs", "drop", "nope", "--yes"], "no graph named 'nope'"),
    ],
)
def test_user_errors_are_one_line_and_exit_1(
    cli: CliRunner, loaded: Path, args: list[str], message: str
) -> None:
    result = run(cli, *args)
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ")
    assert message in result.stderr
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.output


def test_a_bad_rdf_file_names_the_line_and_changes_nothing(
    cli: CliRunner, loaded: Path, workspace: Path
) -> None:
    bad = workspace / "data" / "plm.ttl"
    bad.write_text('<urn:x:a> <urn:x:p> 1 .\n<urn:x:a> <urn:x:p> "open .\n')
    result = run(cli, "load", str(bad))
    assert result.exit_code == 1
    assert f"Error: {bad}: line 2, column" in result.stderr
    assert "nothing was loaded" in result.stderr
    with open_workspace(workspace) as ws:
        assert [(g.name, g.triples) for g in ws.store.graphs()] == [("plm", 6)]


def test_a_bad_config_is_one_line(cli: CliRunner, workspace: Path) -> None:
    (workspace / "kgsentinel.toml").write_text('[store]\nbackend = "postgres"\n')
    result = run(cli, "graphs")
    assert result.exit_code == 1
    assert "[store] backend = 'postgres': not allowed; use one of 'embedded' or 'sparql'" in (
        result.stderr
    )


def test_export_to_a_file_and_stdout(cli: CliRunner, loaded: Path, tmp_path: Path) -> None:
    out = tmp_path / "plm.ttl"
    assert run(cli, "export", "-g", "plm", "-o", str(out)).exit_code == 0
    assert len(list(ox.parse(path=str(out)))) == 6
    dump = run(cli, "export")
    quads = list(ox.parse(dump.stdout_bytes, format=ox.RdfFormat.N_QUADS))
    assert {str(q.graph_name) for q in quads} == {"<urn:kgsentinel:graph:plm>"}


def test_stats_and_graphs(cli: CliRunner, loaded: Path) -> None:
    stats = run(cli, "stats", "--json")
    data = json.loads(stats.stdout)
    assert data["graphs"] == [{"iri": "urn:kgsentinel:graph:plm", "triples": 6}]
    assert data["classes"] == [["https://example.org/Product", 2]]
    table = run(cli, "stats")
    assert "Top predicates" in table.stdout
    assert "https://example.org/Product" in table.stdout
    listing = run(cli, "graphs")
    assert "urn:kgsentinel:graph:plm" in listing.stdout


def test_graphs_drop_asks_first(cli: CliRunner, loaded: Path, workspace: Path) -> None:
    refused = run(cli, "graphs", "drop", "plm", input="n\n")
    assert refused.exit_code == 1
    assert run(cli, "graphs", "drop", "plm", "--yes").exit_code == 0
    with open_workspace(workspace) as ws:
        assert ws.store.graphs() == []


def test_without_a_workspace_the_default_store_is_named(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = run(cli, "graphs")
    assert result.exit_code == 0
    assert "using the default store at" in result.stderr
    assert "No graphs yet" in result.stdout


def test_ontology_prints_turtle(cli: CliRunner) -> None:
    result = run(cli, "ontology")
    quads = list(ox.parse(result.stdout_bytes, format=ox.RdfFormat.TURTLE))
    assert any(q.subject.value == "https://w3id.org/kgsentinel#Anomaly" for q in quads)


def test_the_console_script_reports_a_locked_store(workspace: Path) -> None:
    from kgsentinel.graph.embedded import EmbeddedStore

    holder = EmbeddedStore(workspace / ".kgsentinel" / "store")
    try:
        result = subprocess.run(
            [sys.executable, "-m", "kgsentinel", "graphs"],
            capture_output=True,
            text=True,
            cwd=workspace,
            timeout=60,
        )
    finally:
        holder.close()
    assert result.returncode == 1
    assert result.stderr.startswith("Error: the store at ")
    assert "is in use by process" in result.stderr
    assert result.stderr.count("\n") == 1


def test_the_same_commands_work_on_a_remote_endpoint(
    cli: CliRunner,
    products: Path,
    oxigraph_server,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    oxigraph_server.clear()
    monkeypatch.setenv("KGSENTINEL_STORE_URL", oxigraph_server.query_url)
    assert run(cli, "load", str(products), "--graph", "plm").exit_code == 0
    answer = run(cli, "query", NAMES, "-F", "csv")
    assert answer.stdout.splitlines() == ["name", "Night cream", "Rose serum"]
    from kgsentinel.graph.remote import RemoteStore

    with RemoteStore(oxigraph_server.query_url) as remote:
        assert [(g.name, g.triples) for g in remote.graphs()] == [("plm", 6)]


def test_an_unexpected_error_is_one_line_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from kgsentinel.cli import app as cli_app

    def broken(*args: object, **kwargs: object) -> None:
        raise ValueError("assignment destination is read-only\nsecond line")

    monkeypatch.setattr(cli_app, "app", broken)
    with pytest.raises(SystemExit) as exit_info:
        cli_app.main()
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "unexpected ValueError: assignment destination is read-only" in err
    assert "Traceback" not in err


def test_a_table_printed_to_a_file_keeps_each_row_on_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from kgsentinel.cli.output import print_rows

    explanation = "Release A happened before Leucocytes; usually after it " * 3
    print_rows(None, ["detector", "explanation"], [["builtin/duplicate-event-id", explanation]])
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 5  # top rule, header, rule, the row, bottom rule
    assert "builtin/duplicate-event-id" in lines[3]
    assert explanation.strip() in lines[3]
