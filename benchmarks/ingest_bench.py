"""Ingest benchmark: kgsentinel's CSV ingest against Morph-KGC and raw pyoxigraph bulk_load.

One command generates (or reuses) a seeded CSV of N events of the NPI story,
ingests it with kgsentinel (an ``events:`` mapping, the on-disk embedded store),
materialises the same triples with Morph-KGC (an equivalent YARRRML mapping, in
its own virtual environment ``benchmarks/.venv-peers``), and bulk-loads the
triples kgsentinel produced with raw pyoxigraph (the limit). Each engine runs in
its own subprocess, so its peak RSS is its own. Targets:

- kgsentinel / Morph-KGC throughput >= 2.5 (materialise + load);
- kgsentinel / pyoxigraph bulk_load throughput >= 0.8;
- kgsentinel peak RSS < 1.5 GB for 1M events.

Usage:
    python benchmarks/ingest_bench.py                          # 1M events
    python benchmarks/ingest_bench.py --events 20000           # smoke run, seconds
    python benchmarks/ingest_bench.py --shared ../shared/data  # also the real event logs

Only the standard library is imported at the top: the same file runs the
workers, one of them in the peers' environment (which has an older pyoxigraph).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import runpy
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import git_commit, log, peer_python, write_result

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
PEERS = HERE / ".venv-peers"
DEFAULT_OUT = HERE / "results" / "ingest.json"
DATA_VERSION = 1  # bump when the generator changes, so the cache is rebuilt

NPI = "urn:kgsentinel:npi:"
GRAPH_NAME = "npi_events"
GRAPH = f"urn:kgsentinel:graph:{GRAPH_NAME}"

MIN_RATIO_MORPH = 2.5
MIN_RATIO_BULK = 0.8
MAX_RSS_MB_PER_MILLION = 1536.0  # 1.5 GB for 1M events
SHARED_LOGS = [
    "event-logs/bpic2012.xes.gz",
    "event-logs/road-traffic-fines.xes.gz",
    "ocel2/order-management.sqlite",
]

ACTIVITIES = [
    "Brief", "Formulation", "Stability test", "Safety assessment", "Regulatory filing",
    "Artwork", "Packaging order", "Production", "Launch",
]  # fmt: skip
HOURS = [16, 240, 720, 120, 336, 160, 96, 200, 8]

MAPPING = f"""\
base: "{NPI}"
prefixes:
  npi: "{NPI}"
events:
  id: event_id
  activity: activity
  timestamp: timestamp
  resource: resource
  case: case_id
  objects:
    - {{id: product_id, type: product}}
  attributes:
    npi:cost: {{column: cost, datatype: xsd:decimal}}
"""

# The same triples as the kgsentinel mapping above (see docs/mappings.md, "Events").
YARRRML = """\
prefixes:
  kgs: "https://w3id.org/kgsentinel#"
  npi: "urn:kgsentinel:npi:"
  rdfs: "http://www.w3.org/2000/01/rdf-schema#"
  xsd: "http://www.w3.org/2001/XMLSchema#"
mappings:
  event:
    sources: [["{csv}~csv"]]
    s: npi:event/$(event_id)
    po:
      - [a, kgs:Event]
      - [kgs:eventId, $(event_id)]
      - [kgs:timestamp, $(timestamp), xsd:dateTime]
      - [kgs:activity, npi:activity/$(activity)~iri]
      - [kgs:resource, npi:resource/$(resource)~iri]
      - [kgs:case, npi:case/$(case_id)~iri]
      - [kgs:involves, npi:case/$(case_id)~iri]
      - [kgs:involves, npi:product/$(product_id)~iri]
      # morph-kgc reads a urn: predicate in the short form as a literal: say it is an IRI
      - {{predicates: {{value: "urn:kgsentinel:npi:cost", type: iri}},
         objects: {{value: $(cost), datatype: xsd:decimal}}}}
  activity:
    sources: [["{csv}~csv"]]
    s: npi:activity/$(activity)
    po:
      - [a, kgs:Activity]
      - [rdfs:label, $(activity)]
  resource:
    sources: [["{csv}~csv"]]
    s: npi:resource/$(resource)
    po:
      - [a, kgs:Resource]
      - [rdfs:label, $(resource)]
  case:
    sources: [["{csv}~csv"]]
    s: npi:case/$(case_id)
    po:
      - [a, kgs:Object]
      - [a, kgs:Case]
      - [kgs:caseId, $(case_id)]
  product:
    sources: [["{csv}~csv"]]
    s: npi:product/$(product_id)
    po:
      - [a, kgs:Object]
      - [kgs:objectId, $(product_id)]
      - [kgs:objectType, npi:objecttype/product~iri]
"""

MORPH_CONFIG = """\
[CONFIGURATION]
output_format = N-TRIPLES
output_file = {out}
logging_level = WARNING

[npi]
mappings = {mapping}
"""


# -- data -------------------------------------------------------------------------------


def generate(events: int, seed: int) -> dict[str, Any]:
    """Write (or reuse from the cache) the seeded CSV of ``events`` NPI events."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"npi-events-v{DATA_VERSION}-{events}-seed{seed}.csv"
    meta_path = path.with_suffix(".json")
    if path.is_file() and meta_path.is_file():
        return {**json.loads(meta_path.read_text()), "seconds": 0.0, "cached": True}
    started = time.perf_counter()
    rng = random.Random(seed)
    cases = max(1, events // 9)
    products, resources = max(10, cases // 2), max(20, cases // 50)
    epoch = dt.datetime(2021, 1, 1, tzinfo=dt.UTC)
    temporary = path.with_suffix(".tmp")
    written = 0
    with temporary.open("w", encoding="utf-8", newline="") as out:
        out.write("event_id,case_id,activity,timestamp,resource,product_id,cost\n")
        case = 0
        while written < events:
            case_id, product = f"C{case:06d}", f"P{rng.randrange(products):05d}"
            clock = epoch + dt.timedelta(days=rng.uniform(0, 3 * 365))
            steps = list(range(len(ACTIVITIES)))
            if rng.random() < 0.12:  # rework loop: formulate and test again
                steps[3:3] = [1, 2]
            lines = []
            for step in steps:
                if written >= events:
                    break
                written += 1
                clock += dt.timedelta(hours=HOURS[step] * rng.uniform(0.5, 1.8))
                cents = rng.randrange(100, 5_000_000)
                cost = f"{cents // 100}.{cents % 100:02d}".rstrip("0").rstrip(".")  # canonical
                lines.append(
                    f"E{written:08d},{case_id},{ACTIVITIES[step]},"
                    f"{clock.strftime('%Y-%m-%dT%H:%M:%SZ')},R{rng.randrange(resources):04d},"
                    f"{product},{cost}\n"
                )
            out.writelines(lines)
            case += 1
    temporary.replace(path)
    meta = {"file": str(path), "events": written, "cases": case, "bytes": path.stat().st_size}
    meta_path.write_text(json.dumps(meta))
    return {**meta, "seconds": time.perf_counter() - started, "cached": False}


# -- workers (each runs in its own process) ------------------------------------------------


def worker_kgsentinel(spec: dict[str, Any]) -> dict[str, Any]:
    from kgsentinel.ingest.job import ingest_path
    from kgsentinel.workspace import init_workspace, open_workspace

    root = init_workspace(Path(spec["workspace"]))
    mapping = root / "mappings" / f"{GRAPH_NAME}.yaml"
    mapping.write_text(MAPPING, encoding="utf-8")
    with open_workspace(root) as ws:
        _ = ws.store  # open the store before the clock starts
        started = time.perf_counter()
        report = ingest_path(ws, Path(spec["csv"]), mapping=mapping, graph=GRAPH_NAME)
        seconds = time.perf_counter() - started
    return {"seconds": seconds, "triples": report.triples, "rows": report.rows_read,
            "rejected": report.rows_rejected}  # fmt: skip


def worker_export(spec: dict[str, Any]) -> dict[str, Any]:
    from kgsentinel.workspace import open_workspace

    with open_workspace(Path(spec["workspace"])) as ws:
        ws.store.export(Path(spec["out"]), graph=GRAPH_NAME, format="ntriples")
    return {}


def worker_bulk_load(spec: dict[str, Any]) -> dict[str, Any]:
    import pyoxigraph as ox

    store = ox.Store(spec["store"])
    started = time.perf_counter()
    store.bulk_load(path=spec["nt"], format=ox.RdfFormat.N_TRIPLES,
                    to_graph=ox.NamedNode(GRAPH))  # fmt: skip
    store.flush()
    seconds = time.perf_counter() - started
    triples = len(store)
    return {"seconds": seconds, "triples": triples}


def worker_morph(spec: dict[str, Any]) -> dict[str, Any]:
    """Run ``python -m morph_kgc config.ini`` in this process, with its imports untimed."""
    import morph_kgc.materializer  # noqa: F401
    from morph_kgc import _version

    sys.argv = ["morph_kgc", spec["config"]]
    started = time.perf_counter()
    runpy.run_module("morph_kgc", run_name="__main__", alter_sys=False)
    seconds = time.perf_counter() - started
    with open(spec["out"], "rb") as handle:
        triples = sum(1 for line in handle if line.strip())
    return {"seconds": seconds, "triples": triples, "version": _version.__version__}


def worker_log(spec: dict[str, Any]) -> dict[str, Any]:
    from kgsentinel.ingest.job import ingest_log
    from kgsentinel.workspace import init_workspace, open_workspace

    root = init_workspace(Path(spec["workspace"]))
    with open_workspace(root) as ws:
        _ = ws.store
        started = time.perf_counter()
        report = ingest_log(ws, Path(spec["log"]))
        seconds = time.perf_counter() - started
    return {"seconds": seconds, "triples": report.triples, "events": report.rows_read,
            "rejected": report.rows_rejected}  # fmt: skip


WORKERS = {
    "kgsentinel": worker_kgsentinel,
    "export": worker_export,
    "bulk_load": worker_bulk_load,
    "morph": worker_morph,
    "log": worker_log,
}


def run_worker(kind: str, spec: dict[str, Any], python: str = sys.executable) -> dict[str, Any]:
    """Run one worker in a fresh process; add its wall time and peak RSS (its own, by wait4)."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        result_path = Path(handle.name)
    spec = {**spec, "result": str(result_path)}
    started = time.perf_counter()
    process = subprocess.Popen([python, str(Path(__file__).resolve()), "--worker", kind,
                                json.dumps(spec)])  # fmt: skip
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    try:
        if process.returncode != 0:
            raise RuntimeError(f"{kind} worker exited with {process.returncode}")
        result = json.loads(result_path.read_text())
    finally:
        result_path.unlink(missing_ok=True)
    # ru_maxrss is in KiB on Linux; for a process tree it is the largest single process
    return {**result, "process_seconds": wall, "peak_rss_mb": usage.ru_maxrss / 1024}


def worker_main(kind: str, spec_json: str) -> int:
    spec = json.loads(spec_json)
    result = WORKERS[kind](spec)
    Path(spec["result"]).write_text(json.dumps(result))
    return 0


# -- the peers' environment -----------------------------------------------------------------


def peers_python() -> tuple[str | None, str | None]:
    """The python of ``.venv-peers`` with morph-kgc, created on first use; or why not."""
    return peer_python(PEERS, "morph-kgc", "morph_kgc", timeout=900)


# -- the run ------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> dict[str, Any]:
    begun = time.perf_counter()
    log(f"generating {args.events:,} NPI events (seed {args.seed}) ...")
    data = generate(args.events, args.seed)
    log(f"  {data['file']} ({data['bytes'] / 1e6:.0f} MB, "
        + ("cached)" if data["cached"] else f"{data['seconds']:.1f} s)"))  # fmt: skip
    csv = data["file"]
    engines: dict[str, dict[str, Any]] = {}
    notes: list[str] = []
    logs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="kgs-ingest-bench-") as tmp_name:
        tmp = Path(tmp_name)
        log("kgsentinel: ingest_path ...")
        engines["kgsentinel"] = run_worker("kgsentinel", {"workspace": str(tmp / "ws"),
                                                           "csv": csv})  # fmt: skip
        nt = tmp / "kgsentinel.nt"
        run_worker("export", {"workspace": str(tmp / "ws"), "out": str(nt)})
        log("pyoxigraph: bulk_load of kgsentinel's triples ...")
        engines["pyoxigraph bulk_load"] = run_worker("bulk_load", {"store": str(tmp / "ox"),
                                                                   "nt": str(nt)})  # fmt: skip
        nt.unlink()

        python, why = (None, "skipped (--no-morph)") if args.no_morph else peers_python()
        if python is None:
            log(f"Morph-KGC unavailable: {why}")
            notes.append(f"Morph-KGC unavailable: {why}")
        else:
            log("Morph-KGC: materialise ...")
            mapping, config, out = tmp / "npi.yarrrml.yml", tmp / "morph.ini", tmp / "morph.nt"
            mapping.write_text(YARRRML.format(csv=csv), encoding="utf-8")
            config.write_text(MORPH_CONFIG.format(out=out, mapping=mapping), encoding="utf-8")
            try:
                morph = run_worker("morph", {"config": str(config), "out": str(out)}, python)
                engines["Morph-KGC materialise"] = morph
                log("Morph-KGC: bulk_load of its output ...")
                load = run_worker("bulk_load", {"store": str(tmp / "ox-morph"), "nt": str(out)})
                engines["Morph-KGC + bulk_load"] = {
                    "seconds": morph["seconds"] + load["seconds"],
                    "triples": load["triples"],
                    "peak_rss_mb": max(morph["peak_rss_mb"], load["peak_rss_mb"]),
                    "version": morph.get("version"),
                }
            except RuntimeError as exc:
                log(f"Morph-KGC failed: {exc}")
                notes.append(f"Morph-KGC failed: {exc}")

        if args.shared and Path(args.shared).is_dir():
            for relative in SHARED_LOGS:
                path = Path(args.shared) / relative
                if not path.is_file():
                    notes.append(f"{path} not found")
                    continue
                log(f"kgsentinel: ingest_log {relative} ...")
                workspace = tmp / f"log-{len(logs)}"
                try:
                    result = run_worker("log", {"workspace": str(workspace), "log": str(path)})
                except RuntimeError as exc:
                    notes.append(f"{relative}: {exc}")
                    continue
                logs.append({"log": relative, **result})
        elif args.shared:
            notes.append(f"--shared {args.shared} is not a folder: real logs skipped")
    for engine in engines.values():
        engine["triples_per_s"] = engine["triples"] / engine["seconds"]
    return report(args, data, engines, logs, notes, time.perf_counter() - begun)


def report(
    args: argparse.Namespace,
    data: dict[str, Any],
    engines: dict[str, dict[str, Any]],
    logs: list[dict[str, Any]],
    notes: list[str],
    elapsed: float,
) -> dict[str, Any]:
    kgs = engines["kgsentinel"]
    ratios: dict[str, Any] = {}
    for key, peer, target in (
        ("kgsentinel_morph_load", "Morph-KGC + bulk_load", MIN_RATIO_MORPH),
        ("kgsentinel_morph_materialise", "Morph-KGC materialise", MIN_RATIO_MORPH),
        ("kgsentinel_bulk_load", "pyoxigraph bulk_load", MIN_RATIO_BULK),
    ):
        if peer in engines:
            value = kgs["triples_per_s"] / engines[peer]["triples_per_s"]
            ratios[key] = {"value": value, "target_min": target, "pass": value >= target}
        else:
            ratios[key] = {"value": None, "target_min": target, "pass": None}
    rss_limit = MAX_RSS_MB_PER_MILLION * max(1.0, data["events"] / 1e6)
    ratios["kgsentinel_peak_rss_mb"] = {
        "value": kgs["peak_rss_mb"], "target_max": rss_limit,
        "pass": kgs["peak_rss_mb"] < rss_limit,
    }  # fmt: skip
    morph = engines.get("Morph-KGC materialise")
    if morph and morph["triples"] != kgs["triples"]:
        notes.append(f"Morph-KGC wrote {morph['triples']:,} triples, kgsentinel "
                     f"{kgs['triples']:,}: the mappings differ")  # fmt: skip
    return {
        "benchmark": "ingest",
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine_info(args, engines),
        "data": data,
        "engines": engines,
        "ratios": ratios,
        "logs": logs,
        "notes": notes,
        "elapsed_seconds": elapsed,
    }


def machine_info(args: argparse.Namespace, engines: dict[str, dict[str, Any]]) -> dict[str, Any]:
    from importlib import metadata

    commit = git_commit()
    morph = engines.get("Morph-KGC materialise", {})
    return {
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "pyoxigraph": metadata.version("pyoxigraph"),
        "kgsentinel": metadata.version("kgsentinel"),
        "morph_kgc": morph.get("version"),
        "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "events": args.events,
        "seed": args.seed,
        "git_commit": commit,
    }


def render(result: dict[str, Any]) -> str:
    machine, data = result["machine"], result["data"]
    lines = [
        f"kgsentinel ingest benchmark: {data['events']:,} events ({data['bytes'] / 1e6:.0f} MB "
        f"CSV), {machine['cpu_count']} CPUs, Python {machine['python']}, pyoxigraph "
        f"{machine['pyoxigraph']}, morph-kgc {machine['morph_kgc'] or 'unavailable'}",
        "",
        f"{'engine':<24} {'seconds':>9} {'triples':>12} {'triples/s':>11} {'peak RSS MB':>12}",
    ]
    for name in ("kgsentinel", "pyoxigraph bulk_load", "Morph-KGC materialise",
                 "Morph-KGC + bulk_load"):  # fmt: skip
        engine = result["engines"].get(name)
        if engine is None:
            lines.append(f"{name:<24} {'unavailable':>9}")
            continue
        lines.append(
            f"{name:<24} {engine['seconds']:>9.2f} {engine['triples']:>12,} "
            f"{engine['triples_per_s']:>11,.0f} {engine['peak_rss_mb']:>12,.0f}"
        )
    lines += ["", f"{'ratio':<42} {'value':>8} {'target':>8}  result"]
    labels = {
        "kgsentinel_morph_load": ("kgsentinel / (Morph-KGC + bulk_load) tput", "≥"),
        "kgsentinel_morph_materialise": ("kgsentinel / Morph-KGC materialise tput", "≥"),
        "kgsentinel_bulk_load": ("kgsentinel / pyoxigraph bulk_load tput", "≥"),
        "kgsentinel_peak_rss_mb": ("kgsentinel peak RSS MB", "<"),
    }
    for key, (label, sign) in labels.items():
        ratio = result["ratios"][key]
        target = ratio.get("target_min", ratio.get("target_max"))
        mark = {True: "PASS", False: "MISS", None: "n/a"}[ratio["pass"]]
        value = (
            "-"
            if ratio["value"] is None
            else (f"{ratio['value']:.0f}" if ratio["value"] >= 100 else f"{ratio['value']:.2f}")
        )
        target_text = f"{target:.0f}" if target >= 100 else f"{target:.1f}"
        lines.append(f"{label:<42} {value:>8} {sign + target_text:>8}  {mark}")
    if result["logs"]:
        lines += ["", f"{'real log (ingest_log)':<40} {'seconds':>8} {'events':>10} "
                      f"{'triples':>11} {'triples/s':>10} {'RSS MB':>7}"]  # fmt: skip
        for item in result["logs"]:
            lines.append(
                f"{item['log']:<40} {item['seconds']:>8.2f} {item['events']:>10,} "
                f"{item['triples']:>11,} {item['triples'] / item['seconds']:>10,.0f} "
                f"{item['peak_rss_mb']:>7,.0f}"
            )
    if result["notes"]:
        lines += ["notes:", *(f"  {note}" for note in result["notes"])]
    lines.append(
        "(seconds: the timed call only, imports and workspace set-up excluded; peak RSS: the"
        " whole worker process, for Morph-KGC its largest process)"
    )
    lines.append(f"total {result['elapsed_seconds']:.0f} s")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--worker"]:
        return worker_main(argv[1], argv[2])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="events in the CSV")
    parser.add_argument("--seed", type=int, default=42, help="seed of the generated data")
    parser.add_argument("--shared", type=Path, default=None,
                        help="folder with event-logs/ and ocel2/ to ingest as well")  # fmt: skip
    parser.add_argument("--no-morph", action="store_true", help="skip Morph-KGC")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write the JSON")
    args = parser.parse_args(argv)
    if args.events < 100:
        parser.error("--events must be at least 100")
    result = run(args)
    print(render(result))
    write_result(args.out, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
