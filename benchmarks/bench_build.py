"""Benchmark: the full build (ATT&CK Enterprise + D3FEND + all Sigma rules) plus Turtle export.

Prints wall seconds per step and the peak memory (max RSS) of the process, and the same work
through a plain in-memory rdflib graph for comparison (``--compare``, slow: about 25 s).

    python benchmarks/bench_build.py [--data ../shared/data] [--compare]

Targets (issue 2, this 2-core machine): build + Turtle export at most 5 s and 500 MB;
countermeasure inference for all techniques at most 0.5 s (issue 3).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from attackkg.builders.build import build_store
from attackkg.builders.store import export, open_store


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("ATTACK_KG_SHARED_DATA", "../shared/data")))
    parser.add_argument("--compare", action="store_true", help="also time a plain in-memory rdflib build")
    args = parser.parse_args()
    data = args.data
    attack = data / "attack" / "enterprise-attack-18.1.json.gz"
    d3fend = data / "d3fend" / "1.2.0" / "d3fend.ttl"
    sigma = data / "sigma"
    steps: list[tuple[str, float]] = []

    with tempfile.TemporaryDirectory() as tmp:
        store_dir = Path(tmp) / "store"
        start = time.perf_counter()
        timings: dict[str, float] = {}
        last = [start, None]

        def progress(message: str) -> None:
            now = time.perf_counter()
            if last[1] is not None:
                timings[last[1]] = timings.get(last[1], 0.0) + now - last[0]
            last[0], last[1] = now, message

        result = build_store(store_dir, attack_paths=[attack], d3fend_path=d3fend, sigma_paths=[sigma], progress=progress)
        built = time.perf_counter()
        if last[1] is not None:
            timings[last[1]] = timings.get(last[1], 0.0) + built - last[0]
        count = export(open_store(store_dir), Path(tmp) / "out.ttl")
        exported = time.perf_counter()
        steps += [(f"  {name}", seconds) for name, seconds in timings.items()]
        steps.append(("build (all steps above)", built - start))
        steps.append(("Turtle export", exported - built))
        steps.append(("build + Turtle export", exported - start))
        size = (Path(tmp) / "out.ttl").stat().st_size / 1e6

    inference = [r for r in result.reports if r.source == "derived"]
    print(f"attack-kg build benchmark: {result.triples:,} triples built, {count:,} exported ({size:.0f} MB Turtle)")
    for name, seconds in steps:
        print(f"{name:70} {seconds:7.2f} s")
    print(f"{'peak memory (max RSS)':70} {peak_mb():7.0f} MB")
    for report in inference:
        seconds = report.counts.get("seconds")
        if seconds is not None:
            print(f"{'countermeasure inference (all techniques)':70} {seconds:7.2f} s")
    if args.compare:
        compare(attack, d3fend, sigma)
    return 0


def compare(attack: Path, d3fend: Path, sigma: Path) -> None:
    """The same sources through a plain in-memory rdflib Graph (no Oxigraph)."""
    import rdflib

    from attackkg.builders import attack as attack_builder
    from attackkg.builders import d3fend as d3fend_builder
    from attackkg.builders import sigma as sigma_builder

    start = time.perf_counter()
    graph = rdflib.Dataset()
    for module, source in ((attack_builder, attack), (d3fend_builder, d3fend)):
        data = module.load(source)
        module.build(data, graph.graph(rdflib.URIRef(module.graph_name(data))))
    rules = sigma_builder.load([sigma])
    sigma_builder.build(rules, graph.graph(rdflib.URIRef(sigma_builder.graph_name(rules))))
    built = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        graph.serialize(Path(tmp) / "out.trig", format="trig")
    done = time.perf_counter()
    print(f"{'rdflib in-memory: build (no inference)':70} {built - start:7.2f} s")
    print(f"{'rdflib in-memory: TriG export':70} {done - built:7.2f} s")


if __name__ == "__main__":
    sys.exit(main())
