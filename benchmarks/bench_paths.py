"""Benchmark: the networkx export and the path analysis on the full graph.

Builds ATT&CK Enterprise 18.1 + D3FEND 1.2.0 + all Sigma rules + Atomic Red Team + the CTID
Mappings Explorer files + MITRE CAR into a temporary store (or uses ``--store DIR``), then prints
the best and median wall seconds (and CPU seconds) of:

- export of the full graph to networkx (``to_networkx``), target at most 1 s;
- all paths (every kind: D3FEND, mitigations, Sigma, Atomic, controls, cloud, CVEs, CAR) for one
  technique, target at most 50 ms (issue 13);
- the NIST SP 800-53 set cover for the group (issue 13, no target);
- the D3FEND set cover for a group (its techniques' path searches included), target at most 1 s;
- the D3FEND paths of every technique, and the artifact centrality over all of them (no target).

    python benchmarks/bench_paths.py [--data ../shared/data] [--store DIR] [--technique T1204.001] [--group G0016]

The machine has 2 cores shared with whatever else runs: the CPU seconds show what the work
itself costs when the wall clock is inflated by other processes.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from timing import build_full_store, measure

from attackkg.builders.store import open_store
from attackkg.queries import paths as P
from attackkg.queries.graph import to_networkx


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("ATTACK_KG_SHARED_DATA", "../shared/data")))
    parser.add_argument("--store", type=Path, help="an already built store (default: build one in a temporary folder)")
    parser.add_argument("--technique", default="T1204.001")
    parser.add_argument("--group", default="G0016")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        store_dir = args.store
        if store_dir is None:
            store_dir = build_full_store(
                Path(tmp) / "store",
                args.data,
                mappings_paths=[args.data / "ctid" / "mappings-explorer"],
                car_path=args.data / "car",
            )
        store = open_store(store_dir)
        to_networkx(store)  # warm the store's caches once

        rows: list[tuple[str, float, float, float, str, str]] = []
        best, median, cpu, graph = measure(lambda: to_networkx(store), args.repeat)
        size = f"{graph.number_of_nodes()} nodes, {graph.number_of_edges()} edges"
        rows.append(("export of the full graph (to_networkx)", best, median, cpu, "1 s", size))

        best, median, cpu, found = measure(lambda: P.paths(graph, args.technique), args.repeat * 20)
        kinds = ", ".join(f"{sum(1 for p in found if p.kind == k)} {k}" for k in P.PATH_KINDS)
        rows.append((f"all paths for {args.technique}", best, median, cpu, "0.05 s", kinds))

        techniques = P.techniques_of(graph, [args.group])
        best, median, cpu, cover = measure(lambda: P.set_cover(graph, techniques, "d3fend"), args.repeat)
        detail = f"{len(techniques)} techniques, {len(cover.steps)} picks cover {cover.covered}/{cover.coverable}"
        rows.append((f"D3FEND set cover for {args.group}", best, median, cpu, "1 s", detail))
        best, median, cpu, cover = measure(lambda: P.set_cover(graph, techniques, "nist-800-53"), args.repeat)
        detail = f"{len(cover.steps)} picks cover {cover.covered}/{cover.coverable}"
        rows.append((f"NIST SP 800-53 set cover for {args.group}", best, median, cpu, "-", detail))

        every = [n for n, k in graph.nodes(data="kind") if k == "technique"]
        best, median, cpu, total = measure(lambda: sum(len(P.paths(graph, t, ["d3fend"])) for t in every), 1)
        rows.append((f"D3FEND paths of all {len(every)} techniques", best, median, cpu, "-", f"{total} paths"))
        best, median, cpu, ranks = measure(lambda: P.artifact_centrality(graph), 1)
        top = graph.nodes[ranks[0].artifact]["label"] if ranks else "-"
        rows.append(
            ("artifact centrality, all techniques", best, median, cpu, "-", f"{len(ranks)} artifacts, top {top}")
        )

    width = max(len(r[0]) for r in rows)
    print(f"{'step':{width}}  {'best s':>8}  {'median s':>8}  {'cpu s':>8}  {'target':>7}  detail")
    for name, best, median, cpu, target, detail in rows:
        print(f"{name:{width}}  {best:8.4f}  {median:8.4f}  {cpu:8.4f}  {target:>7}  {detail}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
