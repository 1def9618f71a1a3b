"""The alert engine: routes and matchers, lifecycle in the alerts graph, Alertmanager timing.

Anomalies are written into a real workspace store with the detectors' own
anomaly writing; time is injected (``now=``), never slept.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest

from kgsentinel.alerts import (
    AlertsReport,
    acknowledge,
    alert_history,
    expire_silence,
    list_alerts,
    list_silences,
    process,
    resolve,
    silence,
)
from kgsentinel.alerts.config import AlertsConfig
from kgsentinel.alerts.matchers import parse_duration, parse_matcher
from kgsentinel.alerts.outbox import Outbox
from kgsentinel.config import load_config
from kgsentinel.detectors.anomalies import anomaly_iri, anomaly_quads, invalidation_quads
from kgsentinel.detectors.base import Finding
from kgsentinel.errors import AlertError, ConfigError
from kgsentinel.graph.ontology import KGS
from kgsentinel.workspace import Workspace, open_workspace

# -- settings ------------------------------------------------------------------------------


def routes(text: str) -> AlertsConfig:
    import tomllib

    return AlertsConfig.model_validate(tomllib.loads(text))


def test_routes_are_tried_in_order_and_the_first_match_takes_the_alert() -> None:
    config = routes(
        """sink = "ops"
[routes.critical]
match = ['severity="critical"']
sink = "pager"
[routes.npi]
match = ['team="npi"', 'kind!~"stuck|slow"']
sink = ["slack", "mail"]
"""
    )

    def names(labels: dict[str, str]) -> list[str]:
        return [route.name for route in config.routes_for(labels)]

    assert names({"severity": "critical", "team": "npi"}) == ["critical"]
    assert names({"severity": "warning", "team": "npi", "kind": "skipped"}) == ["npi"]
    assert names({"severity": "warning", "team": "npi", "kind": "stuck"}) == ["default"]
    assert config.routes_for({"team": "npi"})[0].sinks == ("slack", "mail")


def test_continue_lets_later_routes_match_too() -> None:
    config = routes(
        """[routes.audit]
match = ['detector=~".+"']
sink = "log"
continue = true
[routes.npi]
match = ["team=npi"]
sink = "slack"
"""
    )
    assert [r.name for r in config.routes_for({"detector": "timing", "team": "npi"})] == [
        "audit",
        "npi",
    ]


def test_routes_inherit_grouping_and_timing_from_alerts() -> None:
    config = routes(
        """sink = "ops"
group_by = ["team"]
group_wait = "1m"
repeat_interval = "1d"
[routes.npi]
match = ["team=npi"]
group_interval = "10m"
"""
    )
    route = config.routes_for({"team": "npi"})[0]
    assert (route.sinks, route.group_by) == (("ops",), ("team",))
    assert [route.group_wait, route.group_interval, route.repeat_interval] == [
        parse_duration("1m"),
        parse_duration("10m"),
        parse_duration("24h"),
    ]


@pytest.mark.parametrize(
    ("text", "labels", "expected"),
    [
        ('severity=~"warning|critical"', {"severity": "warning"}, True),
        ('severity=~"warning|critical"', {"severity": "warning-ish"}, False),
        ("team=npi", {"team": "npi"}, True),
        ("team!=npi", {}, True),
        ('team!~"n.*"', {"team": "npi"}, False),
        ('owner=""', {}, True),
    ],
)
def test_matchers_mean_what_alertmanager_means(
    text: str, labels: dict[str, str], expected: bool
) -> None:
    assert parse_matcher(text).matches(labels) is expected


@pytest.mark.parametrize(
    ("route", "message"),
    [
        ("match = ['team']", "[alerts.routes.npi] match"),
        ("match = ['kind=~\"(\"']", "bad regular expression"),
        ('group_wait = "soon"', "[alerts.routes.npi] group_wait = 'soon'"),
        ('group_interval = "0s"', "route 'npi': group_interval must be more than 0s"),
        ('group_by = ["team name"]', "is not a label name"),
    ],
)
def test_a_bad_route_is_one_line_naming_it(tmp_path: Path, route: str, message: str) -> None:
    path = tmp_path / "kgsentinel.toml"
    path.write_text(f'[alerts]\nsink = "ops"\n[alerts.routes.npi]\n{route}\n')
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_a_bad_route_name_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "kgsentinel.toml"
    path.write_text('[alerts.routes."on call"]\nsink = "ops"\n')
    with pytest.raises(ConfigError, match="route name 'on call'"):
        load_config(path)


def test_a_sink_that_no_section_defines_is_named_with_its_route() -> None:
    config = routes('sink = "ops"\n[routes.npi]\nmatch = ["team=npi"]\nsink = "slak"\n')
    with pytest.raises(ValueError, match=r"\[alerts.routes.npi\] sink 'slak' is not defined"):
        config.check_sinks(["ops", "slack"])
    config.check_sinks(["ops", "slak"])


def test_bad_matchers_and_durations_say_how_to_write_them() -> None:
    with pytest.raises(AlertError, match='team="npi"'):
        parse_matcher("team")
    with pytest.raises(AlertError, match="30s, 5m, 4h"):
        parse_duration("5 minutes")


# -- the engine over a real workspace ------------------------------------------------------

T0 = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
SECOND = dt.timedelta(seconds=1)
MINUTE = dt.timedelta(minutes=1)
HOUR = dt.timedelta(hours=1)
SETTINGS = """[project]
name = "alerts"
[sinks.ops]
kind = "jsonl"
path = "ops.jsonl"
[sinks.npi]
kind = "jsonl"
path = "npi.jsonl"
[alerts]
sink = "ops"
group_wait = "30s"
group_interval = "5m"
repeat_interval = "4h"
"""


@pytest.fixture
def ws(workspace: Path) -> Iterator[Workspace]:
    (workspace / "kgsentinel.toml").write_text(SETTINGS)
    with open_workspace(workspace) as opened:
        yield opened


def configure(ws: Workspace, extra: str) -> None:
    """Add settings (routes) to the workspace and read them again."""
    assert ws.root is not None
    (ws.root / "kgsentinel.toml").write_text(SETTINGS + extra)
    ws.config = load_config(ws.root / "kgsentinel.toml")


def finding(case: str, kind: str = "skipped", **labels: str) -> Finding:
    return Finding(kind=kind, subject=f"urn:x:case/{case}", score=0.9,
                   explanation=f"case {case}: Stability test {kind}", case_id=case,
                   key="Stability test", labels=labels)  # fmt: skip


def detected(ws: Workspace, *findings: Finding, detector: str = "conformance") -> None:
    quads, steps = [], ox.NamedNode("urn:kgsentinel:graph:steps")
    for f in findings:
        quads += anomaly_quads(detector, f, run="urn:kgsentinel:run:test", detected_at=T0)
        case = ox.NamedNode(f.subject)
        quads.append(ox.Quad(case, ox.NamedNode(KGS + "caseId"), ox.Literal(str(f.case_id)), steps))
    ws.store.add(quads)


def gone(ws: Workspace, *findings: Finding, detector: str = "conformance") -> None:
    ws.store.add(invalidation_quads([anomaly_iri(detector, f) for f in findings], at=T0))


def sent(ws: Workspace, sink: str = "ops") -> list[dict[str, Any]]:
    assert ws.root is not None
    path = ws.root / f"{sink}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def run(ws: Workspace, at: dt.datetime) -> AlertsReport:
    return process(ws, now=at)


def test_a_new_group_waits_group_wait_then_sends_one_notification(ws: Workspace) -> None:
    detected(ws, finding("7"))
    run(ws, T0)
    run(ws, T0 + 29 * SECOND)
    assert sent(ws) == []
    run(ws, T0 + 30 * SECOND)
    (note,) = sent(ws)
    assert note["status"] == "firing"
    assert [a["summary"] for a in note["alerts"]] == ["case 7: Stability test skipped"]
    assert note["alerts"][0]["labels"] == {"detector": "conformance", "kind": "skipped",
                                           "severity": "warning"}  # fmt: skip
    assert note["alerts"][0]["link"] == anomaly_iri("conformance", finding("7"))
    assert list_alerts(ws.store)["state"].tolist() == ["firing"]


def test_changes_wait_group_interval_and_unchanged_groups_repeat(ws: Workspace) -> None:
    detected(ws, finding("1"))
    run(ws, T0)
    run(ws, T0 + 30 * SECOND)
    detected(ws, finding("2"))
    run(ws, T0 + MINUTE)
    run(ws, T0 + 5 * MINUTE)
    assert len(sent(ws)) == 1
    run(ws, T0 + 5 * MINUTE + 30 * SECOND)
    assert [len(n["alerts"]) for n in sent(ws)] == [1, 2]
    for minutes in (10, 60, 235):
        run(ws, T0 + minutes * MINUTE + 30 * SECOND)
    assert len(sent(ws)) == 2
    run(ws, T0 + 4 * HOUR + 5 * MINUTE + 30 * SECOND)
    notes = sent(ws)
    assert [len(n["alerts"]) for n in notes] == [1, 2, 2]
    assert len({n["key"] for n in notes}) == 3
    assert {n["group_key"] for n in notes} == {'default:{detector="conformance",kind="skipped"}'}


def test_an_anomaly_that_comes_and_goes_within_group_wait_sends_nothing(ws: Workspace) -> None:
    flapping = finding("3")
    detected(ws, flapping)
    run(ws, T0)
    gone(ws, flapping)
    run(ws, T0 + 10 * SECOND)
    for later in (30 * SECOND, 5 * MINUTE, 5 * HOUR):
        run(ws, T0 + later)
    assert sent(ws) == []
    assert list_alerts(ws.store)["state"].tolist() == ["resolved"]


def test_a_hundred_anomalies_of_one_group_send_one_grouped_message(ws: Workspace) -> None:
    detected(ws, *(finding(str(case)) for case in range(100)))
    run(ws, T0)
    run(ws, T0 + 30 * SECOND)
    (note,) = sent(ws)
    assert len(note["alerts"]) == 100
    assert note["title"] == "[FIRING:100] warning detector=conformance kind=skipped"


def test_an_anomaly_no_longer_found_resolves_and_sends_one_resolved_notice(
    ws: Workspace,
) -> None:
    detected(ws, finding("4"))
    run(ws, T0)
    run(ws, T0 + 30 * SECOND)
    gone(ws, finding("4"))
    report = run(ws, T0 + 2 * MINUTE)
    assert report.resolved == 1
    assert len(sent(ws)) == 1  # group_interval not yet over
    run(ws, T0 + 5 * MINUTE + 30 * SECOND)
    for later in (11 * MINUTE, 5 * HOUR):
        run(ws, T0 + later)
    _, resolved = sent(ws)
    assert resolved["status"] == "resolved"
    assert resolved["alerts"][0]["ends_at"] == (T0 + 2 * MINUTE).isoformat()
    history = alert_history(ws.store, list_alerts(ws.store)["id"][0])
    assert history["to"].tolist() == ["firing", "resolved"]
    assert history["by"].tolist() == ["kgsentinel", "kgsentinel"]


def test_an_anomaly_found_again_fires_its_resolved_alert_again(ws: Workspace) -> None:
    from kgsentinel.detectors.runner import _clear_returning

    detected(ws, finding("4"))
    run(ws, T0)
    gone(ws, finding("4"))
    run(ws, T0 + MINUTE)
    _clear_returning(ws, [anomaly_iri("conformance", finding("4"))])  # as detect does
    ws.store.add(anomaly_quads("conformance", finding("4"), run="urn:kgsentinel:run:again",
                               detected_at=T0 + 10 * MINUTE))  # fmt: skip
    report = run(ws, T0 + 11 * MINUTE)
    history = alert_history(ws.store, list_alerts(ws.store)["id"][0])
    assert report.refired == 1
    assert list_alerts(ws.store)["state"].tolist() == ["firing"]
    assert history["to"].tolist() == ["firing", "resolved", "firing"]


def test_an_alert_resolved_by_hand_stays_resolved_while_its_anomaly_stands(
    ws: Workspace,
) -> None:
    detected(ws, finding("4"))
    run(ws, T0)
    resolve(ws, list_alerts(ws.store)["id"][0], by="ana", now=T0 + MINUTE)
    run(ws, T0 + 2 * MINUTE)
    assert list_alerts(ws.store)["state"].tolist() == ["resolved"]


def test_routes_send_each_alert_to_the_sinks_of_its_route(ws: Workspace) -> None:
    route = 'match = [\'team="npi"\', \'severity=~"warning|critical"\']\nsink = "npi"\n'
    configure(ws, "[alerts.routes.npi]\n" + route)
    detected(ws, finding("5", team="npi"), finding("6", team="crm"))
    run(ws, T0)
    run(ws, T0 + 30 * SECOND)
    assert [a["annotations"]["case_id"] for n in sent(ws, "npi") for a in n["alerts"]] == ["5"]
    assert [a["annotations"]["case_id"] for n in sent(ws, "ops") for a in n["alerts"]] == ["6"]
    assert sent(ws, "npi")[0]["route"] == "npi"


def test_group_by_splits_alerts_into_one_notification_per_group(ws: Workspace) -> None:
    detected(ws, finding("1"), finding("2", kind="repeated"), finding("3", kind="repeated"))
    run(ws, T0)
    run(ws, T0 + 30 * SECOND)
    sizes = {n["common_labels"]["kind"]: len(n["alerts"]) for n in sent(ws)}
    assert sizes == {"skipped": 1, "repeated": 2}


@pytest.mark.parametrize(
    ("settings", "route"),
    [('group_by = ["team"]\n', "default"),
     ('[alerts.routes.teams]\nmatch = ["detector=conformance"]\ngroup_by = ["team"]\n', "teams")],
    ids=["group_by-changed", "new-route"],
)  # fmt: skip
def test_after_the_grouping_changes_alerts_are_sent_in_their_new_groups_and_resolve_there(
    ws: Workspace, settings: str, route: str
) -> None:
    detected(ws, finding("1", team="a"), finding("2", team="b"))
    run(ws, T0)
    run(ws, T0 + 30 * SECOND)
    assert [len(n["alerts"]) for n in sent(ws)] == [2]  # grouped by detector and kind
    configure(ws, settings)
    later = T0 + HOUR
    run(ws, later)
    run(ws, later + 30 * SECOND)
    by_team = {n["common_labels"]["team"]: n["status"] for n in sent(ws)[1:]}
    assert by_team == {"a": "firing", "b": "firing"}
    gone(ws, finding("1"), finding("2"))
    run(ws, later + MINUTE)
    run(ws, later + 10 * MINUTE)
    resolved = [n["group_key"] for n in sent(ws) if n["status"] == "resolved"]
    assert sorted(resolved) == [f'{route}:{{team="a"}}', f'{route}:{{team="b"}}']
    book = json.loads((ws.state_dir / "alerts" / "groups.json").read_text())
    assert book["groups"] == {}  # no group of the old grouping is left waiting


def test_an_acknowledged_alert_is_not_repeated_but_its_resolution_is_sent(
    ws: Workspace,
) -> None:
    detected(ws, finding("8"))
    run(ws, T0)
    run(ws, T0 + 30 * SECOND)
    alert = acknowledge(ws, list_alerts(ws.store)["id"][0], by="alice", now=T0 + MINUTE)
    assert alert.state == "acknowledged"
    run(ws, T0 + 5 * HOUR)
    assert len(sent(ws)) == 1
    gone(ws, finding("8"))
    run(ws, T0 + 5 * HOUR + 10 * MINUTE)
    assert [n["status"] for n in sent(ws)] == ["firing", "resolved"]
    history = alert_history(ws.store, alert.id)
    assert history[["to", "by"]].values.tolist() == [
        ["firing", "kgsentinel"], ["acknowledged", "alice"], ["resolved", "kgsentinel"],
    ]  # fmt: skip


def test_a_silenced_alert_sends_nothing_until_the_silence_expires(ws: Workspace) -> None:
    record = silence(ws, ["kind=stuck", 'team="npi"'], duration="2h", by="bob",
                     comment="migration", now=T0)  # fmt: skip
    detected(ws, finding("9", kind="stuck", team="npi"), finding("10", kind="stuck", team="crm"))
    report = run(ws, T0)
    run(ws, T0 + 30 * SECOND)
    states = dict(zip(list_alerts(ws.store)["case_id"], list_alerts(ws.store)["state"],
                      strict=True))  # fmt: skip
    assert states == {"9": "silenced", "10": "firing"}
    assert report.raised == 2
    assert [a["annotations"]["case_id"] for n in sent(ws) for a in n["alerts"]] == ["10"]
    run(ws, T0 + HOUR)
    assert len(sent(ws)) == 1
    report = run(ws, T0 + 2 * HOUR)
    assert report.unsilenced == 1
    run(ws, T0 + 2 * HOUR + 5 * MINUTE)
    assert [len(n["alerts"]) for n in sent(ws)] == [1, 2]
    assert list_silences(ws.store, active_at=T0 + HOUR)[0].id == record.id
    assert list_silences(ws.store, active_at=T0 + 3 * HOUR) == []


def test_resolving_by_hand_sends_a_resolved_notice_and_stays_resolved(ws: Workspace) -> None:
    detected(ws, finding("11"))
    run(ws, T0)
    run(ws, T0 + 30 * SECOND)
    resolve(ws, list_alerts(ws.store)["id"][0], by="carol", now=T0 + MINUTE)
    run(ws, T0 + 6 * MINUTE)
    run(ws, T0 + 6 * HOUR)
    assert [n["status"] for n in sent(ws)] == ["firing", "resolved"]
    assert list_alerts(ws.store, "resolved")["case_id"].tolist() == ["11"]


def test_the_history_is_in_the_alerts_graph_for_sparql(ws: Workspace) -> None:
    detected(ws, finding("12", team="npi"))
    run(ws, T0)
    acknowledge(ws, list_alerts(ws.store)["id"][0], by="alice", now=T0 + MINUTE)
    rows = ws.store.query(
        """PREFIX kgs: <https://w3id.org/kgsentinel#>
SELECT ?to ?by ?case WHERE {
  GRAPH <urn:kgsentinel:graph:alerts> {
    ?alert a kgs:Alert ; kgs:hasLabel "team=npi" ; kgs:state kgs:Acknowledged ;
           kgs:raisedFor ?anomaly ; kgs:transition ?t .
    ?t kgs:toState ?to ; kgs:by ?by ; kgs:at ?at .
  }
  ?anomaly kgs:subject/kgs:caseId ?case .
} ORDER BY ?at"""
    )
    assert [(r["to"].value.rsplit("#")[-1], r["by"].value) for r in rows] == [
        ("Firing", "kgsentinel"), ("Acknowledged", "alice"),
    ]  # fmt: skip


def test_a_crash_before_enqueueing_loses_nothing_and_repeats_nothing(ws: Workspace) -> None:
    class CrashingOutbox(Outbox):
        def enqueue(self, notifications: Any) -> int:
            raise OSError("the process died here")

    detected(ws, finding("13"))
    run(ws, T0)
    with pytest.raises(OSError, match="died"):
        process(ws, now=T0 + 30 * SECOND, outbox=CrashingOutbox(ws.state_dir))
    assert sent(ws) == []
    run(ws, T0 + 31 * SECOND)
    run(ws, T0 + 32 * SECOND)
    (note,) = sent(ws)
    assert note["status"] == "firing"


def test_an_unknown_alert_id_is_named_with_how_to_list_alerts(ws: Workspace) -> None:
    with pytest.raises(AlertError, match=r"no alert with id 'abc123'.*`kgsentinel alerts`"):
        acknowledge(ws, "abc123", by="alice")


def test_notifications_link_to_the_api_when_external_url_is_set(ws: Workspace) -> None:
    configure(ws, 'external_url = "https://kg.example.com/"\n')
    detected(ws, finding("14"))
    run(ws, T0)
    run(ws, T0 + 30 * SECOND)
    anomaly = anomaly_iri("conformance", finding("14")).rsplit(":", 1)[-1]
    assert sent(ws)[0]["alerts"][0]["link"] == f"https://kg.example.com/anomalies/{anomaly}"


@pytest.mark.server
def test_the_lifecycle_works_the_same_on_a_remote_endpoint(
    workspace: Path, oxigraph_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    oxigraph_server.clear()
    monkeypatch.setenv("KGSENTINEL_STORE_URL", oxigraph_server.query_url)
    (workspace / "kgsentinel.toml").write_text(SETTINGS)
    with open_workspace(workspace) as remote:
        assert remote.config.store.backend == "sparql"
        detected(remote, finding("1", team="npi"), finding("2", team="npi"))
        silence(remote, ["team=npi", "case=never"], duration="1h", by="bob", now=T0)
        run(remote, T0)
        run(remote, T0 + 30 * SECOND)
        first = list_alerts(remote.store)["id"][0]
        acknowledge(remote, first, by="alice", now=T0 + MINUTE)
        gone(remote, finding("1"), finding("2"))
        run(remote, T0 + 6 * MINUTE)
        states = list_alerts(remote.store)["state"].tolist()
        history = alert_history(remote.store, first)["to"].tolist()
    assert [(n["status"], len(n["alerts"])) for n in sent(remote)] == [
        ("firing", 2), ("resolved", 2),
    ]  # fmt: skip
    assert states == ["resolved", "resolved"]
    assert history == ["firing", "acknowledged", "resolved"]


def test_the_readme_wiring_loads_and_routes_as_it_says(tmp_path: Path) -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Alerts", 1)[1].split("\n## ", 1)[0]
    toml = section.split("```toml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "kgsentinel.toml"
    path.write_text(toml)
    config = load_config(path).alerts

    def sinks(labels: dict[str, str]) -> list[str]:
        return [sink for route in config.routes_for(labels) for sink in route.sinks]

    assert sinks({"team": "npi", "severity": "critical"}) == ["npi-slack", "alertmanager"]
    assert sinks({"team": "npi", "severity": "info"}) == ["alertmanager"]


def test_a_sink_that_fails_is_reported_and_its_notification_waits(ws: Workspace) -> None:
    assert ws.root is not None
    (ws.root / "ops.jsonl").mkdir()
    detected(ws, finding("15"))
    run(ws, T0)
    report = run(ws, T0 + 30 * SECOND)
    assert report.enqueued == 1
    (error,) = report.errors
    assert "sink ops: cannot append to" in error
    (ws.root / "ops.jsonl").rmdir()
    assert run(ws, T0 + HOUR).delivery.delivered == 1
    assert [n["status"] for n in sent(ws)] == ["firing"]


def test_the_report_says_when_waiting_groups_are_due(ws: Workspace) -> None:
    detected(ws, finding("16"))
    assert run(ws, T0).next_due == T0 + 30 * SECOND
    assert run(ws, T0 + 30 * SECOND).next_due is None


def test_a_silence_mutes_firing_alerts_at_once_and_ending_it_lets_them_fire(
    ws: Workspace,
) -> None:
    detected(ws, finding("17", team="npi"), finding("18", team="crm"))
    run(ws, T0)
    record = silence(ws, ["team=npi"], until=T0 + 5 * HOUR, by="bob", now=T0 + 10 * SECOND)
    assert record.muted == 1
    assert list_alerts(ws.store, "silenced")["case_id"].tolist() == ["17"]
    run(ws, T0 + 30 * SECOND)
    assert [a["annotations"]["case_id"] for n in sent(ws) for a in n["alerts"]] == ["18"]
    expire_silence(ws, record.id, now=T0 + HOUR)
    assert run(ws, T0 + HOUR + SECOND).unsilenced == 1
    assert list_alerts(ws.store, "silenced").empty
    with pytest.raises(AlertError, match="no silence with id 'nope'"):
        expire_silence(ws, "nope")


def test_a_change_from_a_state_changed_meanwhile_is_dropped(ws: Workspace) -> None:
    from kgsentinel.alerts.records import guarded_update, state_quad

    detected(ws, finding("19"))
    run(ws, T0)
    (alert,) = list_alerts(ws.store)["alert"]
    resolve(ws, alert.rsplit(":", 1)[-1], by="carol", now=T0 + MINUTE)
    stale = state_quad(alert, "firing")
    ws.store.update(guarded_update(stale, [stale], [state_quad(alert, "acknowledged")]))
    assert list_alerts(ws.store)["state"].tolist() == ["resolved"]
    assert (
        ws.store.query(
            "PREFIX kgs: <https://w3id.org/kgsentinel#> SELECT (COUNT(*) AS ?n) "
            "WHERE { ?alert kgs:state ?state }"
        ).scalar()
        == 1
    )


def test_an_alert_about_an_event_shows_the_case_of_the_event(ws: Workspace) -> None:
    event = Finding(kind="slow", subject="urn:x:event/20-3", score=0.8, activity="Formulation",
                    explanation="Formulation took 24 days; usually 10")  # fmt: skip
    quads = anomaly_quads("timing", event, run="urn:kgsentinel:run:test", detected_at=T0,
                          subjects=["urn:x:case/20"])  # fmt: skip
    steps = ox.NamedNode("urn:kgsentinel:graph:steps")
    quads.append(ox.Quad(ox.NamedNode("urn:x:case/20"), ox.NamedNode(KGS + "caseId"),
                         ox.Literal("20"), steps))  # fmt: skip
    ws.store.add(quads)
    run(ws, T0)
    row = list_alerts(ws.store).iloc[0]
    assert (row["case_id"], row["activity"], row["kind"]) == ("20", "Formulation", "slow")


def test_an_alert_whose_anomaly_is_gone_from_the_graph_resolves(ws: Workspace) -> None:
    detected(ws, finding("21"))
    run(ws, T0)
    ws.store.drop_graph("anomalies")
    assert run(ws, T0 + MINUTE).resolved == 1
    assert list_alerts(ws.store)["state"].tolist() == ["resolved"]
