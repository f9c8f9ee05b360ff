"""Benchmark D3FEND's countermeasure inference and the countermeasures query (issue 3).

    python benchmarks/bench_inference.py [--d3fend ../shared/data/d3fend/1.2.0/d3fend.ttl]
        [--attack ../shared/data/attack/enterprise-attack-18.1.json.gz]

Builds an on-disk store (D3FEND, and ATT&CK when given) in a temporary folder, then prints the
best of several runs of: the inference for all techniques (store read + closures + mappings,
target at most 0.5 s), the triples it writes, the whole countermeasures build, and the
countermeasures query for one technique (target under 5 ms on Oxigraph) and for all.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"


def best_of(runs: int, action: Callable[[], object]) -> tuple[float, object]:
    """Smallest wall time of ``runs`` calls, and the last result."""
    best, result = float("inf"), None
    for _ in range(runs):
        started = time.perf_counter()
        result = action()
        best = min(best, time.perf_counter() - started)
    return best, result


def time_inference(store, runs: int = 5) -> dict[str, float]:
    """Seconds for the inference steps on a store holding D3FEND (and ATT&CK); for other scripts."""
    from attackkg.builders import countermeasures

    infer_seconds, inference = best_of(runs, lambda: countermeasures.infer(store))
    triples_seconds, triples = best_of(runs, lambda: list(countermeasures.triples(inference)))
    return {
        "infer (read + closures + mappings)": infer_seconds,
        "mapping triples": triples_seconds,
        "mappings": len(inference.mappings),
        "triples": len(triples),
        "techniques countered": len(inference.countered_techniques()),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--d3fend", type=Path, default=SHARED / "d3fend" / "1.2.0" / "d3fend.ttl")
    parser.add_argument("--attack", type=Path, default=SHARED / "attack" / "enterprise-attack-18.1.json.gz")
    parser.add_argument("--no-attack", action="store_true", help="D3FEND only")
    parser.add_argument("--technique", default="T1204.001")
    args = parser.parse_args()

    import pyoxigraph as ox

    from attackkg.builders import countermeasures
    from attackkg.builders.build import build_store
    from attackkg.builders.store import open_store
    from attackkg.queries import resolve

    with tempfile.TemporaryDirectory() as tmp:
        attack = [] if args.no_attack else [args.attack]
        build_store(tmp, attack_paths=attack, d3fend_path=args.d3fend)
        store = open_store(tmp)
        figures = time_inference(store)
        print(
            f"D3FEND {args.d3fend}" + ("" if args.no_attack else f" + ATT&CK {args.attack.name}") + " (on-disk store)"
        )
        for name, value in figures.items():
            shown = f"{value:7.3f} s" if isinstance(value, float) else f"{value:7d}"
            print(f"  {name:45} {shown}")

        writable = ox.Store()
        writable.bulk_extend(q for q in store if q.graph_name.value != countermeasures.COUNTERMEASURES_GRAPH)
        seconds, _ = best_of(1, lambda: countermeasures.build(writable))
        print(f"  {'build (infer + write the graph, in memory)':45} {seconds:7.3f} s")

        text = resolve("countermeasures").text
        variable = ox.Variable("technique")
        one, rows = best_of(
            20,
            lambda: list(
                store.query(text, use_default_graph_as_union=True, substitutions={variable: ox.Literal(args.technique)})
            ),
        )
        print(f"  {'query countermeasures, technique=' + args.technique:45} {one * 1000:7.2f} ms ({len(rows)} rows)")
        every, rows = best_of(3, lambda: list(store.query(text, use_default_graph_as_union=True)))
        print(f"  {'query countermeasures, all techniques':45} {every:7.3f} s ({len(rows)} rows)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
