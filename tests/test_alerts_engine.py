"""The alert engine: routes and matchers, lifecycle in the alerts graph, Alertmanager timing.

Anomalies are written into a real workspace store with the detectors' own
anomaly writing; time is injected (``now=``), never slept.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kgsentinel.alerts.config import AlertsConfig
from kgsentinel.alerts.matchers import parse_duration, parse_matcher
from kgsentinel.config import load_config
from kgsentinel.errors import AlertError, ConfigError

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
