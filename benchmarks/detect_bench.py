"""Detection benchmark: kgsentinel's default detector suite against pm4py's conformance checks.

Each log (the four simulated processes, and with ``--shared`` the real logs
Sepsis, Receipt, Helpdesk and BPIC 2012) gets a share p of its cases injected
with one anomaly each (``kgsentinel.simulate.inject``, seeded; the kinds take
turns). Both engines see the same event log and no labels: kgsentinel fits
its suite on the log and flags a case when any finding names it; pm4py
discovers its models from the same log and flags a case that does not
conform. Case-level precision, recall and F1, recall per kind, and the F1 of
a random flagger, 2p/(1+p). Targets for kgsentinel:

- case F1 >= 0.92 on the synthetic logs, >= 0.70 on the real ones (averages);
- recall >= 0.7 on every kind, precision >= 0.8.

With ``--speed`` (the default unless ``--quick``), 100k simulated cases (~1M
events): kgsentinel's full detection, pm4py's best check, and an incremental
``kgsentinel detect`` over the graph after 1% new events.

Usage:
    python benchmarks/detect_bench.py                          # synthetic logs, speed
    python benchmarks/detect_bench.py --quick                  # small logs, under a minute
    python benchmarks/detect_bench.py --shared ../shared/data  # also the real logs
    python benchmarks/detect_bench.py --no-pm4py               # kgsentinel only
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import importlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any

import pandas as pd
from common import git_commit, log, peer_python, write_result

HERE = Path(__file__).resolve().parent
PM4PY_VENV = HERE / ".venv-pm4py"
PM4PY_WORKER = HERE / "detect_pm4py.py"
DEFAULT_OUT = HERE / "results" / "detect.json"

SYNTHETIC = ("npi", "order-to-cash", "loan", "helpdesk")
REAL = {
    "sepsis": "event-logs/sepsis.xes.gz",
    "receipt": "event-logs/receipt.xes.gz",
    "helpdesk (real)": "event-logs/helpdesk.xes.gz",
    "bpic2012": "event-logs/bpic2012.xes.gz",
}
CHECKS = ("skeleton", "temporal", "token_replay")
CHECK_LABELS = {
    "skeleton": "pm4py log skeleton",
    "temporal": "pm4py temporal profile",
    "token_replay": "pm4py IMf + token replay",
}
KIND_SHORT = {
    "skip": "skip",
    "insert": "ins",
    "rework": "rework",
    "early": "early",
    "late": "late",
    "attribute": "attr",
    "duration": "dur",
}
TARGETS = {"synthetic_f1": 0.92, "real_f1": 0.70, "kind_recall": 0.7, "precision": 0.8}
#: a full detection over ~1M events under this; an incremental run after 1% new events
#: under this share of a full one
SPEED_TARGETS = {"full_seconds": 60.0, "incremental_share": 0.10}


# -- logs ------------------------------------------------------------------------------------


def build_logs(args: argparse.Namespace, notes: list[str]) -> dict[str, dict[str, Any]]:
    """Every log to measure: the injected table, its event log frame and its labels."""
    from kgsentinel.detectors.events import as_event_log
    from kgsentinel.simulate import generate, inject, read_log_table

    logs: dict[str, dict[str, Any]] = {}
    for number, model in enumerate(SYNTHETIC):
        log(f"generating {model}: {args.cases:,} cases ...")
        table = generate(model, cases=args.cases, seed=args.seed + number)
        logs[model] = {"group": "synthetic", "table": table, "source": f"simulated {model}"}
    if args.shared is not None:
        if not args.shared.is_dir():
            notes.append(f"--shared {args.shared} is not a folder: real logs skipped")
        for name, relative in REAL.items():
            path = args.shared / relative
            if not path.is_file():
                notes.append(f"{path} not found: skipped")
                continue
            log(f"reading {relative} ...")
            table = read_log_table(path, max_cases=args.real_cases)
            logs[name] = {"group": "real", "table": table, "source": relative,
                          "clean": as_event_log(table)}  # fmt: skip
    for name, item in logs.items():
        seed = args.seed + zlib.crc32(name.encode()) % 10_000  # one log's labels, whatever else
        injected, labels = inject(item["table"], share=args.share, seed=seed)
        frame = as_event_log(injected)
        item.update(
            table=injected,
            frame=frame,
            labels=labels,
            cases=int(frame["case_id"].nunique()),
            events=len(frame),
        )
        item["share"] = len(labels) / max(1, item["cases"])
        if args.dump is not None:
            args.dump.mkdir(parents=True, exist_ok=True)
            slug = "".join(c if c.isalnum() or c == "-" else "-" for c in name).strip("-")
            injected.to_csv(args.dump / f"{slug}.csv", index=False)
            labels.to_csv(args.dump / f"{slug}-labels.csv", index=False)
    return logs


# -- kgsentinel ----------------------------------------------------------------------------


def available_detectors() -> tuple[list[str], dict[str, str]]:
    """The default suite's detectors whose classes import, and why the others do not."""
    from kgsentinel.detectors.suite import DEFAULT_SUITE, detector_class

    ready, missing = [], {}
    for name, kind in DEFAULT_SUITE.items():
        try:
            detector_class(kind)
        except (ImportError, AttributeError) as exc:
            missing[name] = f"{type(exc).__name__}: {exc}"
            continue
        ready.append(name)
    return ready, missing


def run_kgsentinel(frame: pd.DataFrame, names: list[str]) -> dict[str, Any]:
    """Each detector's flagged cases and seconds, and the cases any of them flags."""
    from kgsentinel.detectors.suite import detect_log

    detectors: dict[str, Any] = {}
    flagged: set[str] = set()
    why: dict[str, str] = {}  # case -> the first finding that names it
    for name in names:
        started = time.perf_counter()
        try:
            findings = detect_log(frame, names=[name])[name]
        except Exception as exc:  # a detector under construction must not stop the benchmark
            detectors[name] = {"error": f"{type(exc).__name__}: {exc}"[:300]}
            continue
        cases = {f.case_id for f in findings if f.case_id is not None}
        for finding in findings:
            if finding.case_id is not None and finding.case_id not in why:
                why[finding.case_id] = f"{name}: {finding.explanation}"
        detectors[name] = {
            "seconds": time.perf_counter() - started,
            "findings": len(findings),
            "flagged": sorted(cases),
        }
        flagged |= cases
    seconds = sum(d.get("seconds", 0.0) for d in detectors.values())
    return {"flagged": sorted(flagged), "seconds": seconds, "detectors": detectors, "why": why}


def examples(found: dict[str, Any], labels: pd.DataFrame, count: int = 3) -> dict[str, Any]:
    """A few missed anomalies per kind and a few false alarms, for whoever tunes a detector."""
    flagged = set(found["flagged"])
    truth = labels.assign(case_id=labels["case_id"].astype(str))
    missed = truth[~truth["case_id"].isin(flagged)]
    false = sorted(flagged - set(truth["case_id"]))[:count]
    return {
        "missed": {
            kind: [f"{row.case_id}: {row.detail}" for row in group.head(count).itertuples()]
            for kind, group in missed.groupby("kind")
        },
        "false_alarms": [f"{case}: {found['why'].get(case, '')}" for case in false],
    }


# -- pm4py ---------------------------------------------------------------------------------


def pm4py_python() -> tuple[str | None, str | None]:
    """The python of ``.venv-pm4py`` with pm4py, created on first use; or why not."""
    return peer_python(PM4PY_VENV, "pm4py", "pm4py")


def write_pm4py_csv(frame: pd.DataFrame, path: Path) -> None:
    """The events as pm4py reads them: case, activity, time, in the frame's order."""
    stamps = frame["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    frame[["case_id", "activity"]].assign(timestamp=stamps).to_csv(path, index=False)


def start_pm4py(
    python: str, logs: dict[str, Path], checks: list[str], folder: Path, args: argparse.Namespace
) -> tuple[subprocess.Popen[bytes], Path]:
    """Start the pm4py worker on the logs' CSV files; its result comes in a JSON file."""
    out = folder / "pm4py-result.json"
    spec = {
        "logs": {name: {"csv": str(path), "checks": checks} for name, path in logs.items()},
        "params": {
            "skeleton_noise": args.skeleton_noise,
            "zeta": args.zeta,
            "inductive_noise": args.inductive_noise,
        },
        "out": str(out),
    }
    spec_path = folder / "pm4py-spec.json"
    spec_path.write_text(json.dumps(spec))
    env = {**os.environ, "TQDM_DISABLE": "1", "PYTHONWARNINGS": "ignore"}
    process = subprocess.Popen(
        [python, str(PM4PY_WORKER), str(spec_path)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    return process, out


def finish_pm4py(process: subprocess.Popen[bytes], out: Path, timeout: float) -> dict[str, Any]:
    """The worker's result, or the reason there is none."""
    try:
        _, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        return {"error": f"pm4py did not finish in {timeout:.0f} s"}
    if process.returncode != 0 or not out.is_file():
        tail = stderr.decode(errors="replace").strip().splitlines()[-3:]
        return {"error": f"pm4py worker exited with {process.returncode}: " + " | ".join(tail)}
    return json.loads(out.read_text())


# -- metrics -------------------------------------------------------------------------------


def case_metrics(flagged: set[str], labels: pd.DataFrame, cases: int) -> dict[str, Any]:
    """Case-level precision, recall, F1 and recall per injected kind."""
    truth = set(labels["case_id"].astype(str))
    hits = len(flagged & truth)
    precision = hits / len(flagged) if flagged else 0.0
    recall = hits / len(truth) if truth else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    kinds = {
        kind: float(group["case_id"].astype(str).isin(flagged).mean())
        for kind, group in labels.groupby("kind")
    }
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "flagged": len(flagged),
        "false_positives": len(flagged - truth),
        "kinds": kinds,
        "flagged_share": len(flagged) / max(1, cases),
    }


def chance_f1(share: float) -> float:
    """The best F1 of a flagger that picks cases at random: flag them all, 2p/(1+p)."""
    return 2 * share / (1 + share)


def averages(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Mean precision, recall, F1 and per-kind recall over logs."""
    if not rows:
        return None
    kinds = sorted({kind for row in rows for kind in row["kinds"]})
    return {
        "precision": sum(r["precision"] for r in rows) / len(rows),
        "recall": sum(r["recall"] for r in rows) / len(rows),
        "f1": sum(r["f1"] for r in rows) / len(rows),
        "kinds": {k: sum(r["kinds"].get(k, 0.0) for r in rows) / len(rows) for k in kinds},
        "logs": len(rows),
    }


def _reaches(value: float, target: float) -> bool:
    """At or above the target, as printed (0.69999... of 0.7 counts as 0.700)."""
    return round(value, 6) >= target


def targets(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """kgsentinel's targets, each with its value and whether it passes."""
    out = []
    for group, key in (("synthetic", "synthetic_f1"), ("real", "real_f1")):
        mean = summary.get(group, {}).get("kgsentinel")
        if mean is None:
            continue
        out.append(
            {
                "target": f"{group}: case F1 >= {TARGETS[key]}",
                "value": mean["f1"],
                "pass": _reaches(mean["f1"], TARGETS[key]),
            }
        )
        out.append(
            {
                "target": f"{group}: precision >= {TARGETS['precision']}",
                "value": mean["precision"],
                "pass": _reaches(mean["precision"], TARGETS["precision"]),
            }
        )
        for kind, recall in mean["kinds"].items():
            out.append(
                {
                    "target": f"{group}: recall on {kind} >= {TARGETS['kind_recall']}",
                    "value": recall,
                    "pass": _reaches(recall, TARGETS["kind_recall"]),
                }
            )
    return out


# -- speed ---------------------------------------------------------------------------------


def speed(
    args: argparse.Namespace,
    names: list[str],
    best_check: str | None,
    python: str | None,
    notes: list[str],
) -> dict[str, Any]:
    """Full detection on ~1M simulated events with both engines, and an incremental run."""
    from kgsentinel.detectors.events import as_event_log
    from kgsentinel.simulate import generate, get_model

    result: dict[str, Any] = {"cases": args.speed_cases}
    log(f"speed: generating {args.speed_cases:,} npi cases ...")
    started = time.perf_counter()
    busy = dataclasses.replace(get_model("npi"), cases_per_day=100.0)  # ~3 years, not 137
    table = generate(busy, cases=args.speed_cases, seed=args.seed)
    result.update(events=len(table), generate_seconds=time.perf_counter() - started)
    log(f"speed: kgsentinel detect_log on {len(table):,} events ({', '.join(names)}) ...")
    started = time.perf_counter()
    frame = as_event_log(table)
    frame_seconds = time.perf_counter() - started
    found = run_kgsentinel(frame, names)
    result["kgsentinel"] = {
        "seconds": frame_seconds + found["seconds"],
        "frame_seconds": frame_seconds,
        "detectors": {n: d.get("seconds", d.get("error")) for n, d in found["detectors"].items()},
    }
    if python is not None and best_check is not None:
        with tempfile.TemporaryDirectory(prefix="kgs-detect-speed-") as tmp:
            csv = Path(tmp) / "speed.csv"
            write_pm4py_csv(frame, csv)
            del frame
            log(f"speed: pm4py {best_check} on the same log ...")
            started = time.perf_counter()
            process, out = start_pm4py(python, {"speed": csv}, [best_check], Path(tmp), args)
            peer = finish_pm4py(process, out, timeout=args.pm4py_timeout)
            wall = time.perf_counter() - started
        if "error" in peer:
            notes.append(f"speed, pm4py: {peer['error']}")
        else:
            item = peer["logs"]["speed"]
            check = item["checks"][best_check]
            seconds = check.get("seconds")
            result["pm4py"] = {
                "check": best_check,
                "seconds": seconds,
                "read_seconds": item.get("read_seconds", 0.0),
                "convert_seconds": item.get("convert_seconds", 0.0),
                "process_seconds": wall,
                "error": check.get("error"),
            }
            if seconds is not None:  # like kgsentinel's: from a table in memory to the flags
                result["pm4py"]["total_seconds"] = seconds + item.get("convert_seconds", 0.0)
    result["incremental"] = incremental(table, names, notes)
    return result


MAPPING = """\
base: "urn:kgsentinel:bench:"
prefixes:
  bench: "urn:kgsentinel:bench:"
events:
  id: event_id
  activity: activity
  timestamp: timestamp
  resource: resource
  case: case_id
  attributes:
    bench:cost: {column: cost, datatype: xsd:decimal}
    bench:market: {column: market}
"""


def incremental(table: pd.DataFrame, names: list[str], notes: list[str]) -> dict[str, Any]:
    """``kgsentinel detect`` over the graph: a full run, then a run after 1% new events."""
    try:
        runner = importlib.import_module("kgsentinel.detectors.runner")
        detect = runner.detect
    except (ImportError, AttributeError):
        notes.append("incremental run not measured yet: no kgsentinel.detectors.runner.detect")
        return {"measured": False}
    from kgsentinel.ingest.job import ingest_path
    from kgsentinel.workspace import init_workspace, open_workspace

    cutoff = table["timestamp"].quantile(0.99)
    table = table.assign(event_id=[f"E{i:08d}" for i in range(len(table))])
    result: dict[str, Any] = {"measured": True}
    with tempfile.TemporaryDirectory(prefix="kgs-detect-incr-") as tmp:
        root = init_workspace(Path(tmp) / "ws")
        mapping = root / "mappings" / "bench.yaml"
        mapping.write_text(MAPPING, encoding="utf-8")
        old, new = Path(tmp) / "old.csv", Path(tmp) / "new.csv"
        table[table["timestamp"] <= cutoff].to_csv(old, index=False)
        table[table["timestamp"] > cutoff].to_csv(new, index=False)
        result["new_events"] = int((table["timestamp"] > cutoff).sum())
        with open_workspace(root) as ws:
            try:
                log("speed: ingesting the log into a workspace ...")
                started = time.perf_counter()
                ingest_path(ws, old, mapping=mapping, graph="bench")
                result["ingest_seconds"] = time.perf_counter() - started
                log("speed: kgsentinel detect (first run) ...")
                started = time.perf_counter()
                detect(ws, names)
                result["first_seconds"] = time.perf_counter() - started
                ingest_path(ws, new, mapping=mapping, graph="bench", append=True)
                log("speed: kgsentinel detect after 1% new events ...")
                started = time.perf_counter()
                reports = detect(ws, names)
                result["incremental_seconds"] = time.perf_counter() - started
                result["incremental"] = all(getattr(r, "incremental", False) for r in reports)
                result["cases_examined"] = {r.detector: getattr(r, "cases", None)
                                            for r in reports}  # fmt: skip
            except Exception as exc:  # the runner is young: report, do not stop
                result["error"] = f"{type(exc).__name__}: {exc}{_where(exc)}"[:400]
                notes.append(f"incremental run failed: {result['error']}")
    return result


def _where(exc: BaseException) -> str:
    """Where in kgsentinel an exception was raised, for the note."""
    import traceback

    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "kgsentinel" in f.filename]
    if not frames:
        return ""
    last = frames[-1]
    return f" (at {Path(last.filename).name}:{last.lineno} in {last.name})"


# -- the run -------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> dict[str, Any]:
    begun = time.perf_counter()
    notes: list[str] = []
    names, missing = available_detectors()
    if missing:
        notes.append("detectors not available yet: " + ", ".join(missing))
    logs = build_logs(args, notes)
    python, why = (None, "skipped (--no-pm4py)") if args.no_pm4py else pm4py_python()
    if python is None:
        notes.append(f"pm4py unavailable: {why}")
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="kgs-detect-bench-") as tmp:
        process = out = None
        if python is not None:
            csvs = {}
            for name, item in logs.items():
                csvs[name] = Path(tmp) / f"log-{len(csvs)}.csv"
                write_pm4py_csv(item["frame"], csvs[name])
            log("pm4py: conformance checks (in the background) ...")
            process, out = start_pm4py(python, csvs, list(CHECKS), Path(tmp), args)
        for name, item in logs.items():
            log(f"kgsentinel: {name} ({item['cases']:,} cases, {item['events']:,} events) ...")
            found = run_kgsentinel(item["frame"], names)
            for detector, info in found["detectors"].items():
                if "error" in info:
                    notes.append(f"{name}: detector {detector} failed: {info['error']}")
            engines = {
                "kgsentinel": {
                    **case_metrics(set(found["flagged"]), item["labels"], item["cases"]),
                    "seconds": found["seconds"],
                }
            }
            per_detector = {
                detector: {
                    **case_metrics(set(info["flagged"]), item["labels"], item["cases"]),
                    "seconds": info["seconds"],
                }
                for detector, info in found["detectors"].items()
                if "flagged" in info
            }
            results[name] = {"engines": engines, "detectors": per_detector,
                             "kgsentinel_examples": examples(found, item["labels"])}  # fmt: skip
            if "clean" in item:  # the log as it came: how much of it departs on its own
                clean = run_kgsentinel(item["clean"], names)
                cases = max(1, int(item["clean"]["case_id"].nunique()))
                results[name]["clean_flagged_share"] = len(clean["flagged"]) / cases
        peer = finish_pm4py(process, out, args.pm4py_timeout) if process and out else None
    pm4py_version = None
    if peer is not None and "error" in peer:
        notes.append(f"pm4py: {peer['error']}")
    elif peer is not None:
        pm4py_version = peer["version"]
        for name, item in logs.items():
            add_pm4py(results[name], peer["logs"][name], item, notes, name)
    rows = []
    for name, item in logs.items():
        rows.append(
            {
                "log": name,
                "group": item["group"],
                "source": item["source"],
                "cases": item["cases"],
                "events": item["events"],
                "share": item["share"],
                "chance_f1": chance_f1(item["share"]),
                "labels": item["labels"]["kind"].value_counts().to_dict(),
                **results[name],
            }
        )
    summary = summarise(rows)
    best_check = pick_best_check(summary)
    speed_result = None
    if args.speed:
        speed_result = speed(args, names, best_check, python, notes)
    return {
        "benchmark": "detect",
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine_info(args, pm4py_version),
        "detectors": {"ran": names, "missing": missing},
        "settings": {
            "share": args.share,
            "seed": args.seed,
            "cases": args.cases,
            "real_cases": args.real_cases,
            "skeleton_noise": args.skeleton_noise,
            "zeta": args.zeta,
            "inductive_noise": args.inductive_noise,
        },
        "logs": rows,
        "summary": summary,
        "targets": targets(summary),
        "speed": speed_result,
        "notes": notes,
        "elapsed_seconds": time.perf_counter() - begun,
    }


def add_pm4py(
    result: dict[str, Any], peer: dict[str, Any], item: dict[str, Any], notes: list[str], name: str
) -> None:
    """pm4py's checks on one log, and the best of them (by F1, an upper bound for pm4py)."""
    best = None
    for check, found in peer["checks"].items():
        if "error" in found:
            notes.append(f"{name}: pm4py {check} failed: {found['error']}")
            continue
        metrics = {
            **case_metrics(set(found["flagged"]), item["labels"], item["cases"]),
            "seconds": found["seconds"],
        }
        result["engines"][CHECK_LABELS[check]] = metrics
        if best is None or metrics["f1"] > result["engines"][CHECK_LABELS[best]]["f1"]:
            best = check
    if best is not None:
        result["engines"]["best pm4py"] = {**result["engines"][CHECK_LABELS[best]], "check": best}


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Averages per group of logs (synthetic, real) and engine."""
    summary: dict[str, Any] = {}
    for group in ("synthetic", "real"):
        in_group = [row for row in rows if row["group"] == group]
        if not in_group:
            continue
        engines = sorted({e for row in in_group for e in row["engines"]}, key=_engine_order)
        summary[group] = {
            engine: averages(
                [row["engines"][engine] for row in in_group if engine in row["engines"]]
            )
            for engine in engines
        }
        summary[group]["chance_f1"] = sum(r["chance_f1"] for r in in_group) / len(in_group)
    return summary


def pick_best_check(summary: dict[str, Any]) -> str | None:
    """pm4py's check with the best mean F1 on the synthetic logs (the one timed for speed)."""
    synthetic = summary.get("synthetic", {})
    scored = [(synthetic[CHECK_LABELS[c]]["f1"], c) for c in CHECKS if CHECK_LABELS[c] in synthetic]
    return max(scored)[1] if scored else None


def _engine_order(engine: str) -> int:
    order = ["kgsentinel", *CHECK_LABELS.values(), "best pm4py"]
    return order.index(engine) if engine in order else len(order)


def machine_info(args: argparse.Namespace, pm4py_version: str | None) -> dict[str, Any]:
    from importlib import metadata

    return {
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "pandas": metadata.version("pandas"),
        "scikit_learn": metadata.version("scikit-learn"),
        "kgsentinel": metadata.version("kgsentinel"),
        "pm4py": pm4py_version,
        "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "seed": args.seed,
        "git_commit": git_commit(),
    }


# -- the table -----------------------------------------------------------------------------


def render(result: dict[str, Any]) -> str:
    machine = result["machine"]
    ran = result["detectors"]["ran"]
    lines = [
        f"kgsentinel detect benchmark: share p = {result['settings']['share']}, seed "
        f"{machine['seed']}, {machine['cpu_count']} CPUs, Python {machine['python']}, "
        f"pm4py {machine['pm4py'] or 'unavailable'}",
        f"kgsentinel detectors that ran: {', '.join(ran) or 'none'}"
        + (
            f"; not available yet: {', '.join(result['detectors']['missing'])}"
            if result["detectors"]["missing"]
            else ""
        ),
        "",
    ]
    kinds = list(KIND_SHORT)
    header = (
        f"{'log':<25} {'engine':<26} {'P':>5} {'R':>5} {'F1':>5}  "
        + " ".join(f"{KIND_SHORT[k]:>6}" for k in kinds)
        + f" {'seconds':>8}"
    )
    lines.append(header)
    lines.append("-" * len(header))
    for row in result["logs"]:
        title = [
            row["log"],
            f"{row['cases']:,} cases, {row['events']:,} ev",
            f"chance F1 {row['chance_f1']:.2f}",
        ]
        entries = [("kgsentinel", row["engines"]["kgsentinel"])]
        entries += [(f"  {name}", values) for name, values in row["detectors"].items()]
        entries += [
            (engine, row["engines"][engine])
            for engine in sorted(row["engines"], key=_engine_order)
            if engine != "kgsentinel"
        ]
        for number, (engine, values) in enumerate(entries):
            lines.append(_line(title[number] if number < len(title) else "", engine, values, kinds))
        lines += title[len(entries) :]
        lines.append("")
    for group, mean in result["summary"].items():
        lines.append(f"average over {group} logs (chance F1 {mean['chance_f1']:.2f}):")
        for engine, values in mean.items():
            if engine != "chance_f1" and values is not None:
                lines.append(_line("", engine, values, kinds))
        lines.append("")
    clean = [(row["log"], row["clean_flagged_share"]) for row in result["logs"]
             if "clean_flagged_share" in row]  # fmt: skip
    if clean:
        lines.append("kgsentinel on the real logs without injected anomalies, share of cases "
                     "flagged (each a false alarm above): "
                     + ", ".join(f"{name} {share:.1%}" for name, share in clean))  # fmt: skip
        lines.append("")
    lines.append("targets (kgsentinel):")
    for target in result["targets"]:
        mark = "PASS" if target["pass"] else "MISS"
        lines.append(f"  {target['target']:<44} {target['value']:>6.3f}  {mark}")
    if result["speed"]:
        lines += ["", *render_speed(result["speed"])]
    if result["notes"]:
        lines += ["", "notes:", *(f"  {note}" for note in result["notes"])]
    lines.append(
        "(P, R, F1: case level, a case flagged when any finding names it; kinds: recall per "
        "injected kind; best pm4py: its check with the best F1 on that log, chosen with the "
        "labels, so an upper bound for pm4py)"
    )
    lines.append(f"total {result['elapsed_seconds']:.0f} s")
    return "\n".join(lines)


def _line(title: str, engine: str, values: dict[str, Any], kinds: list[str]) -> str:
    label = engine + (f" ({values['check']})" if "check" in values else "")
    recalls = " ".join(
        f"{values['kinds'][k]:>6.2f}" if k in values["kinds"] else f"{'-':>6}" for k in kinds
    )
    seconds = f"{values['seconds']:>8.1f}" if "seconds" in values else f"{'':>8}"
    return (
        f"{title:<25} {label:<26} {values['precision']:>5.2f} {values['recall']:>5.2f} "
        f"{values['f1']:>5.2f}  {recalls} {seconds}"
    )


def render_speed(speed_result: dict[str, Any]) -> list[str]:
    kgs = speed_result["kgsentinel"]
    lines = [
        f"speed: {speed_result['cases']:,} simulated npi cases, {speed_result['events']:,} events"
    ]

    def timed(label: str, seconds: float, extra: str = "") -> None:
        lines.append(f"  {label:<52} {seconds:>8.1f} s{extra}")

    timed("kgsentinel detect_log (frame + detectors)", kgs["seconds"],
          f"  (target under {SPEED_TARGETS['full_seconds']:.0f} s: "
          f"{_mark(kgs['seconds'] < SPEED_TARGETS['full_seconds'])})")  # fmt: skip
    peer = speed_result.get("pm4py")
    if peer and peer.get("seconds") is not None:
        timed(f"pm4py {peer['check']} (event log + discover + check)", peer["total_seconds"],
              f"  of which {peer['convert_seconds']:.1f} s to make its event log "
              f"(and {peer['read_seconds']:.1f} s to read the CSV, not counted)")  # fmt: skip
        lines.append(f"  pm4py / kgsentinel time: {peer['total_seconds'] / kgs['seconds']:.2f}")
    elif peer:
        lines.append(f"  pm4py {peer['check']}: {peer.get('error')}")
    else:
        lines.append("  pm4py: not measured")
    inc = speed_result["incremental"]
    if not inc.get("measured"):
        lines.append("  incremental kgsentinel detect: not measured yet")
    elif "error" in inc:
        lines.append(f"  incremental kgsentinel detect: failed ({inc['error']})")
    else:
        timed("ingest_path of the first 99% into a workspace", inc["ingest_seconds"])
        timed("kgsentinel detect over the graph, first run", inc["first_seconds"])
        timed(f"kgsentinel detect after {inc['new_events']:,} new events (1%)",
              inc["incremental_seconds"],
              f"  (incremental: {inc['incremental']}; first run / this = "
              f"{inc['first_seconds'] / inc['incremental_seconds']:.1f})")  # fmt: skip
        share = inc["incremental_seconds"] / inc["first_seconds"]
        lines.append(f"  incremental / first run: {share:.1%} (target under "
                     f"{SPEED_TARGETS['incremental_share']:.0%}: "
                     f"{_mark(share < SPEED_TARGETS['incremental_share'])})")  # fmt: skip
    return lines


def _mark(passed: bool) -> str:
    return "PASS" if passed else "MISS"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--cases",
        type=int,
        default=None,
        help="cases per synthetic log (default 3000, 400 with --quick)",
    )
    parser.add_argument(
        "--shared",
        type=Path,
        default=None,
        help="folder with event-logs/ (Sepsis, Receipt, Helpdesk, BPIC 2012)",
    )
    parser.add_argument(
        "--real-cases",
        type=int,
        default=None,
        help="keep the first N cases of each real log (default all, 500 with --quick)",
    )
    parser.add_argument("--share", type=float, default=0.1, help="share of cases injected")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--quick", action="store_true", help="small logs, no speed test")
    parser.add_argument(
        "--speed",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="measure speed on ~1M events (default: on unless --quick)",
    )
    parser.add_argument("--speed-cases", type=int, default=100_000)
    parser.add_argument("--no-pm4py", action="store_true", help="kgsentinel only")
    parser.add_argument("--skeleton-noise", type=float, default=0.05)
    parser.add_argument("--zeta", type=float, default=3.0)
    parser.add_argument("--inductive-noise", type=float, default=0.2)
    parser.add_argument("--pm4py-timeout", type=float, default=3600.0)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write the JSON")
    parser.add_argument(
        "--dump",
        type=Path,
        default=None,
        help="also write each injected log and its labels as CSV here",
    )
    args = parser.parse_args(argv)
    if args.cases is None:
        args.cases = 400 if args.quick else 3000
    if args.real_cases is None and args.quick:
        args.real_cases = 500
    if args.speed is None:
        args.speed = not args.quick
    result = run(args)
    print(render(result))
    write_result(args.out, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
