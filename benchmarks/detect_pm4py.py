"""pm4py's conformance checks over event logs in CSV files: the peer of the detect benchmark.

Runs in its own virtual environment (``benchmarks/.venv-pm4py``), started by
``detect_bench.py`` as ``python detect_pm4py.py SPEC.json``; it imports pm4py and
pandas only, never kgsentinel. The spec lists the logs (a CSV of ``case_id,
activity, timestamp`` in the order the events are to be read) and the checks;
for each log and check it writes the cases the check flags and the seconds it
took (discovery and conformance; reading the CSV and converting it to an
event log are timed apart). pm4py discovers
each model from the same log it checks, with no labels:

- ``skeleton``: log skeleton discovered with ``noise_threshold``; a case is
  flagged when it is not fit;
- ``temporal``: temporal profile; a case is flagged when any pair of its
  activities is more than ``zeta`` standard deviations from the mean time;
- ``token_replay``: inductive miner (infrequent, ``noise_threshold``) and
  token-based replay; a case is flagged when its fitness is below 1.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pm4py


def event_log(path: str) -> tuple[Any, float]:
    """The CSV as a pm4py EventLog (its rows' order kept among events with equal times).

    Also returns the seconds taken after the file was read: formatting and converting.
    """
    frame = pd.read_csv(path, dtype={"case_id": str, "activity": str})
    started = time.perf_counter()
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True, format="ISO8601")
    frame = pm4py.format_dataframe(frame, case_id="case_id", activity_key="activity",
                                   timestamp_key="timestamp")  # fmt: skip
    return pm4py.convert_to_event_log(frame), time.perf_counter() - started


def skeleton(log: Any, params: dict[str, Any]) -> list[bool]:
    model = pm4py.discover_log_skeleton(log, noise_threshold=params["skeleton_noise"])
    return [not row["is_fit"] for row in pm4py.conformance_log_skeleton(log, model)]


def temporal(log: Any, params: dict[str, Any]) -> list[bool]:
    profile = pm4py.discover_temporal_profile(log)
    found = pm4py.conformance_temporal_profile(log, profile, zeta=params["zeta"])
    return [len(deviations) > 0 for deviations in found]


def token_replay(log: Any, params: dict[str, Any]) -> list[bool]:
    net, initial, final = pm4py.discover_petri_net_inductive(
        log, noise_threshold=params["inductive_noise"]
    )
    found = pm4py.conformance_diagnostics_token_based_replay(log, net, initial, final)
    return [row["trace_fitness"] < 1.0 - 1e-9 for row in found]


CHECKS = {"skeleton": skeleton, "temporal": temporal, "token_replay": token_replay}


def run(spec: dict[str, Any]) -> dict[str, Any]:
    results: dict[str, Any] = {"version": pm4py.__version__, "logs": {}}
    for name, item in spec["logs"].items():
        started = time.perf_counter()
        try:
            log, convert_seconds = event_log(item["csv"])
        except Exception as exc:  # one unreadable log must not cost the others
            error = {"error": f"{type(exc).__name__}: {exc}"[:500]}
            results["logs"][name] = {"checks": dict.fromkeys(item["checks"], error)}
            continue
        read_seconds = time.perf_counter() - started - convert_seconds
        cases = [trace.attributes["concept:name"] for trace in log]
        checks: dict[str, Any] = {}
        for check in item["checks"]:
            started = time.perf_counter()
            try:
                flags = CHECKS[check](log, spec["params"])
            except Exception as exc:  # a peer's failure is reported, not fatal
                checks[check] = {"error": f"{type(exc).__name__}: {exc}"[:500]}
                continue
            seconds = time.perf_counter() - started
            flagged = [case for case, flag in zip(cases, flags, strict=True) if flag]
            checks[check] = {"flagged": flagged, "seconds": seconds}
            print(f"pm4py {name} {check}: {len(flagged)} of {len(cases)} cases flagged, "
                  f"{seconds:.1f} s", file=sys.stderr, flush=True)  # fmt: skip
        results["logs"][name] = {"read_seconds": read_seconds, "convert_seconds": convert_seconds,
                                 "cases": len(cases), "checks": checks}  # fmt: skip
    return results


def main() -> int:
    spec = json.loads(Path(sys.argv[1]).read_text())
    with contextlib.redirect_stdout(sys.stderr):  # pm4py's banner and progress bars
        result = run(spec)
    Path(spec["out"]).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
