"""Benchmark: the named queries on the full build, the CLI end to end, and publishing.

    python benchmarks/bench_queries.py [--store S] [--data ../shared/data] [--no-publish]

Without ``--store`` it first builds ATT&CK Enterprise 18.1 + D3FEND 1.2.0 + all Sigma rules +
Atomic Red Team from ``--data`` into a temporary store. Then it prints:

- the one-technique countermeasure query (``rows(store, "countermeasures", technique=...)``) in
  a warm Python process: median and best of 200 runs (target: at most 5 ms, issue 4);
- every library query on the full build, with no parameter and with a sample one;
- the CLI end to end, process start to rows printed (``attack-kg query countermeasures
  --param technique=T1204.001``), median of 5 (target: at most 1 s);
- publishing the whole store to a local ``oxigraph serve`` (Graph Store Protocol PUT per graph
  plus a COUNT per graph), and the same countermeasure query through the endpoint.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from timing import build_full_store

from attackkg.builders.store import open_store
from attackkg.queries import library, rows

SAMPLE = {"technique": "T1204.001", "group": "G0016", "product": "windows", "category": "process_creation"}


def timed(function, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return times


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms"


def start_server(root: Path) -> tuple[subprocess.Popen, str]:
    binary = shutil.which("oxigraph") or str(Path(sys.executable).with_name("oxigraph"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [binary, "serve", "--location", str(root / "server"), "--bind", f"127.0.0.1:{port}"]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            with urllib.request.urlopen(f"{url}/query", timeout=2):
                return server, url
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("oxigraph serve did not start")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", type=Path, help="a built store (default: build the shared data first)")
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("ATTACK_KG_SHARED_DATA", "../shared/data")))
    parser.add_argument("--no-publish", action="store_true", help="skip the publish to a local Oxigraph server")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        store_dir = args.store
        if store_dir is None:
            store_dir = build_full_store(Path(tmp) / "store", args.data)
        store = open_store(store_dir)
        print(f"store: {len(store)} quads")

        # 1. One technique, warm process.
        rows(store, "countermeasures", technique="T1204.001")
        times = timed(lambda: rows(store, "countermeasures", technique="T1204.001"), 200)
        found = len(rows(store, "countermeasures", technique="T1204.001"))
        print(
            f"\ncountermeasures T1204.001, warm ({found} rows): median {ms(statistics.median(times)).strip()}, "
            f"best {ms(min(times)).strip()} (target <= 5 ms)"
        )

        # 2. Every library query.
        print(f"\n{'query':20} {'all':>10} {'rows':>7}   {'with sample':>11} {'rows':>6}")
        for name, named in library().items():
            everything = timed(lambda name=name: rows(store, name), 1)[0]
            n_all = len(rows(store, name))
            params = {p: SAMPLE[p] for p in named.params if p in SAMPLE}
            line = f"{name:20} {ms(everything)} {n_all:7}"
            if params:
                one = min(timed(lambda name=name, params=params: rows(store, name, **params), 3))
                line += f"   {ms(one)} {len(rows(store, name, **params)):6}"
            print(line)

        # 3. The CLI end to end.
        command = ["attack-kg", "query", "countermeasures", "--param", "technique=T1204.001", "--store", str(store_dir)]
        if not shutil.which("attack-kg"):
            command = [sys.executable, "-m", "attackkg.queries.cli", *command[1:]]
        walls = []
        for _ in range(5):
            started = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True)
            walls.append(time.perf_counter() - started)
        print(f"\nCLI end to end: median {statistics.median(walls):.2f} s, best {min(walls):.2f} s (target <= 1 s)")

        # 4. Publish to a local Oxigraph server.
        if not args.no_publish:
            from attackkg.queries.endpoint import endpoint, publish

            server, url = start_server(Path(tmp))
            try:
                target = endpoint(url, timeout=600)
                result = publish(store, target)
                print(f"\npublish to oxigraph serve ({url}): {result.triples} triples in {result.seconds:.1f} s")
                for graph in result.graphs:
                    print(
                        f"  {graph.graph:60} {graph.triples:8} triples  {graph.seconds:6.1f} s  server: {graph.server_triples}"
                    )
                print(f"  counts match: {result.ok}")
                rows(target, "countermeasures", technique="T1204.001")
                times = timed(lambda: rows(target, "countermeasures", technique="T1204.001"), 20)
                print(f"countermeasures T1204.001 through the endpoint: median {ms(statistics.median(times)).strip()}")
            finally:
                server.terminate()
                server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
