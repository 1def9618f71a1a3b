"""HTTP API benchmark: the SPARQL endpoint and event posts of ``kgsentinel serve`` on loopback.

    python benchmarks/api_bench.py [--events 60000] [--clients 8] [--seconds 10] [--repeat 7]

Measures, on the same seeded NPI-shaped data:

- **overhead**: a result-heavy SELECT (every event with its case, activity and
  time, SPARQL JSON) through ``/sparql`` against the same query on pyoxigraph
  in this process (query and serialise, no HTTP) on an on-disk store like the
  server's (and, for scale, in memory), and against ``oxigraph serve`` (the
  Oxigraph server over HTTP, its own union default graph); target:
  kgsentinel's endpoint within 15% of pyoxigraph direct on disk;
- **load**: N concurrent analyst clients (a bounded asyncio load generator
  with httpx, each sending its next query when the last is answered) running a
  mix of aggregate and lookup queries, against kgsentinel and ``oxigraph
  serve``; then N clients posting CloudEvents to ``/events`` one at a time, then
  N/2 analysts with N/2 posters: throughput, p50 and p99.

Prints a table; writes ``benchmarks/results/api.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pyoxigraph as ox

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import git_commit, log, write_result

KGS = "https://w3id.org/kgsentinel#"
TOKEN = "kgs_benchmark_ingester_token"
ACTIVITIES = ["Brief", "Formulation", "Stability test", "Safety assessment", "Regulatory filing",
              "Artwork", "Packaging order", "Production", "Launch"]  # fmt: skip
HEAVY = (
    f"PREFIX kgs: <{KGS}> SELECT ?event ?case ?activity ?time WHERE {{ "
    "?event kgs:case ?case ; kgs:activity ?activity ; kgs:timestamp ?time }"
)
ANALYST = [
    f"PREFIX kgs: <{KGS}> SELECT ?activity (COUNT(*) AS ?n) WHERE {{ ?e kgs:activity ?activity }} "
    "GROUP BY ?activity ORDER BY DESC(?n)",
    f"PREFIX kgs: <{KGS}> SELECT ?e ?activity ?time WHERE {{ ?e kgs:case <urn:npi:case:{{case}}> ; "
    "kgs:activity ?activity ; kgs:timestamp ?time } ORDER BY ?time",
    f"PREFIX kgs: <{KGS}> SELECT ?r (COUNT(*) AS ?n) WHERE {{ ?e kgs:resource ?r ; "
    'kgs:activity "Launch" } GROUP BY ?r ORDER BY DESC(?n) LIMIT 5',
    f'PREFIX kgs: <{KGS}> ASK {{ <urn:npi:case:{{case}}> ^kgs:case/kgs:activity "Launch" }}',
]


def npi_events(events: int, seed: int) -> tuple[bytes, int]:
    """N-Triples of ``events`` events (9 steps per case) and the number of cases."""
    rng = random.Random(seed)
    cases = max(1, events // len(ACTIVITIES))
    lines = []
    for n in range(events):
        case, step = divmod(n, len(ACTIVITIES))
        event = f"<urn:npi:event:{n}>"
        stamp = f"2025-{1 + case % 12:02d}-{1 + step * 3:02d}T{rng.randrange(8, 18):02d}:00:00Z"
        lines += [
            f"{event} <{KGS}case> <urn:npi:case:{case}> .",
            f'{event} <{KGS}activity> "{ACTIVITIES[step]}" .',
            f'{event} <{KGS}timestamp> "{stamp}"^^<http://www.w3.org/2001/XMLSchema#dateTime> .',
            f'{event} <{KGS}resource> "user{rng.randrange(40)}" .',
        ]
    return ("\n".join(lines) + "\n").encode(), cases


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start(command: list[str], url: str, log_path: Path) -> subprocess.Popen[bytes]:
    """Start a server process and wait until ``url`` answers."""
    with log_path.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{command[0]} stopped: {log_path.read_text()[-500:]}")
        try:
            httpx.get(url, timeout=1)
            return process
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"{command[0]} did not answer at {url}")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def median_time(call: Callable[[], int], repeat: int) -> tuple[float, int]:
    """The median seconds of ``repeat`` calls after one warm-up, and the bytes of the last."""
    size = call()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        size = call()
        times.append(time.perf_counter() - started)
    return statistics.median(times), size


def overhead(
    kgs_url: str, ox_url: str, direct: ox.Store, data: bytes, repeat: int
) -> dict[str, Any]:
    accept = {"Accept": "application/sparql-results+json"}
    client = httpx.Client(timeout=120)

    def endpoint(url: str) -> Callable[[], int]:
        def call() -> int:
            response = client.post(url, data={"query": HEAVY}, headers=accept)
            response.raise_for_status()
            return len(response.content)

        return call

    memory = ox.Store()
    memory.bulk_load(data, format=ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode("urn:g:npi"))

    def pyoxigraph(store: ox.Store) -> Callable[[], int]:
        def call() -> int:
            result = store.query(HEAVY, use_default_graph_as_union=True)
            return len(result.serialize(format=ox.QueryResultsFormat.JSON) or b"")

        return call

    engines = {
        "pyoxigraph direct": pyoxigraph(direct),
        "pyoxigraph in memory": pyoxigraph(memory),
        "kgsentinel /sparql": endpoint(f"{kgs_url}/sparql"),
        "oxigraph serve": endpoint(f"{ox_url}/query"),
    }
    timings = {name: median_time(call, repeat) for name, call in engines.items()}
    client.close()
    base = timings["pyoxigraph direct"][0]
    return {
        name: {"seconds": seconds, "bytes": size, "vs_direct": seconds / base - 1}
        for name, (seconds, size) in timings.items()
    }


async def load(
    url: str, *, clients: int, seconds: float, cases: int, posters: int = 0, path: str = "/sparql"
) -> dict[str, Any]:
    """Closed-loop load: ``clients`` analysts (and ``posters`` event posters) for ``seconds``."""
    latencies: dict[str, list[float]] = {"query": [], "event": []}
    errors = {"query": 0, "event": 0}
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=clients + posters + 4)

    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:

        async def analyst(seed: int) -> None:
            rng = random.Random(seed)
            while time.monotonic() < deadline:
                query = rng.choice(ANALYST).replace("{case}", str(rng.randrange(cases)))
                started = time.perf_counter()
                response = await client.post(
                    path,
                    data={"query": query},
                    headers={"Accept": "application/sparql-results+json"},
                )
                latencies["query"].append(time.perf_counter() - started)
                errors["query"] += response.status_code != 200

        async def poster(seed: int) -> None:
            rng, n = random.Random(seed), 0
            headers = {"Authorization": f"Bearer {TOKEN}",
                       "Content-Type": "application/cloudevents+json"}  # fmt: skip
            while time.monotonic() < deadline:
                n += 1
                event = {
                    "specversion": "1.0",
                    "id": f"{seed}-{n}",
                    "source": "urn:bench",
                    "type": "npi.step",
                    "time": "2025-06-01T09:00:00Z",
                    "subject": f"BENCH-{rng.randrange(500)}",
                    "data": {"activity": rng.choice(ACTIVITIES), "resource": "bench"},
                }
                started = time.perf_counter()
                response = await client.post("/events", content=json.dumps(event), headers=headers)
                latencies["event"].append(time.perf_counter() - started)
                errors["event"] += response.status_code != 202

        await asyncio.gather(*(analyst(i) for i in range(clients)),
                             *(poster(1000 + i) for i in range(posters)))  # fmt: skip
    return {kind: _summary(values, errors[kind], seconds)
            for kind, values in latencies.items() if values}  # fmt: skip


def _summary(values: list[float], errors: int, seconds: float) -> dict[str, Any]:
    ordered = sorted(values)
    return {
        "requests": len(values),
        "errors": errors,
        "per_second": len(values) / seconds,
        "p50_ms": 1000 * ordered[len(ordered) // 2],
        "p99_ms": 1000 * ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
    }


def setup(folder: Path, data: bytes) -> tuple[Path, Path, ox.Store]:
    """A kgsentinel workspace, an Oxigraph server store and a pyoxigraph store, same data."""
    from kgsentinel.api.security import hash_token
    from kgsentinel.workspace import init_workspace, open_workspace

    root = init_workspace(folder / "ws", name="bench")
    settings = '[api]\nquery_workers = 2\n[api.tokens.bench]\nrole = "ingester"\n'
    settings += f'hash = "{hash_token(TOKEN)}"\n'
    (root / "kgsentinel.toml").write_text(settings, encoding="utf-8")
    nt = folder / "npi.nt"
    nt.write_bytes(data)
    with open_workspace(root) as workspace:
        workspace.store.load(nt, graph="npi")
    oxigraph_store = folder / "oxigraph"
    subprocess.run([_oxigraph(), "load", "--location", str(oxigraph_store), "--file", str(nt)],
                   check=True, capture_output=True)  # fmt: skip
    direct = ox.Store(str(folder / "direct"))  # on disk, as the server's store is
    direct.bulk_load(data, format=ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode("urn:g:npi"))
    direct.optimize()
    return root, oxigraph_store, direct


def _oxigraph() -> str:
    beside = Path(sys.executable).with_name("oxigraph")
    found = str(beside) if beside.is_file() else shutil.which("oxigraph")
    if not found:
        raise SystemExit("the oxigraph server is not installed: pip install -e '.[dev]'")
    return found


def run(args: argparse.Namespace) -> dict[str, Any]:
    data, cases = npi_events(args.events, args.seed)
    folder = Path(tempfile.mkdtemp(prefix="kgs-api-bench-"))
    servers: list[subprocess.Popen[bytes]] = []
    try:
        triples = data.count(b"\n")
        log(f"loading {args.events:,} events ({triples:,} triples) three times ...")
        root, oxigraph_store, direct = setup(folder, data)
        kgs_port, ox_port = free_port(), free_port()
        kgs_url, ox_url = f"http://127.0.0.1:{kgs_port}", f"http://127.0.0.1:{ox_port}"
        kgsentinel = shutil.which("kgsentinel") or "kgsentinel"
        serve = [kgsentinel, "--workspace", str(root), "serve", "--port", str(kgs_port)]
        servers.append(start(serve, f"{kgs_url}/healthz", folder / "kgs.log"))
        servers.append(start([_oxigraph(), "serve", "--location", str(oxigraph_store), "--bind",
                              f"127.0.0.1:{ox_port}", "--union-default-graph"], ox_url,
                             folder / "oxigraph.log"))  # fmt: skip
        log("result-heavy query: direct, /sparql, oxigraph serve ...")
        heavy = overhead(kgs_url, ox_url, direct, data, args.repeat)
        log(f"{args.clients} analyst clients for {args.seconds:g} s on each server ...")
        loads = {
            "kgsentinel": asyncio.run(load(kgs_url, clients=args.clients, seconds=args.seconds,
                                           cases=cases)),
            "oxigraph serve": asyncio.run(load(ox_url, clients=args.clients,
                                               seconds=args.seconds, cases=cases,
                                               path="/query")),
        }  # fmt: skip
        if _has_events(kgs_url):
            log("event posters alone, then with analysts, on kgsentinel ...")
            loads["kgsentinel events"] = asyncio.run(
                load(kgs_url, clients=0, posters=args.clients, seconds=args.seconds, cases=cases)
            )
            loads["kgsentinel + events"] = asyncio.run(
                load(kgs_url, clients=args.clients // 2 or 1, posters=args.clients // 2 or 1,
                     seconds=args.seconds, cases=cases)
            )  # fmt: skip
    finally:
        for server in servers:
            stop(server)
        shutil.rmtree(folder, ignore_errors=True)
    return {
        "benchmark": "api",
        "commit": git_commit(),
        "settings": vars(args),
        "machine": {"cpus": os.cpu_count(), "load_average": os.getloadavg()[0]},
        "result_heavy_query": heavy,
        "load": loads,
        "target": {
            "endpoint_overhead_below": 0.15,
            "met": heavy["kgsentinel /sparql"]["vs_direct"] < 0.15,
        },
    }


def _has_events(url: str) -> bool:
    spec = httpx.get(f"{url}/openapi.json", timeout=10).json()
    return "/events" in spec.get("paths", {})


def render(result: dict[str, Any]) -> str:
    lines = ["result-heavy SELECT (SPARQL JSON)", f"{'engine':<22}{'median':>10}{'MB':>8}"
             f"{'vs direct':>11}"]  # fmt: skip
    for name, row in result["result_heavy_query"].items():
        lines.append(f"{name:<22}{row['seconds'] * 1000:>8.0f}ms{row['bytes'] / 1e6:>8.1f}"
                     f"{row['vs_direct']:>+10.0%}")  # fmt: skip
    target = result["target"]
    lines.append(f"endpoint overhead target < 15%: {'PASS' if target['met'] else 'MISS'}")
    lines += ["", f"{'load':<22}{'kind':<7}{'req/s':>8}{'p50':>9}{'p99':>9}{'errors':>8}"]
    for name, kinds in result["load"].items():
        for kind, row in kinds.items():
            lines.append(f"{name:<22}{kind:<7}{row['per_second']:>8.0f}{row['p50_ms']:>7.1f}ms"
                         f"{row['p99_ms']:>7.1f}ms{row['errors']:>8}")  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=60_000, help="events in the data")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients")
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds of each load run")
    parser.add_argument("--repeat", type=int, default=7, help="timed runs of the heavy query")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).resolve().parent / "results" / "api.json"
    )
    args = parser.parse_args()
    result = run(args)
    print(render(result))
    write_result(args.out, {**result, "settings": {**vars(args), "out": str(args.out)}})


if __name__ == "__main__":
    main()
