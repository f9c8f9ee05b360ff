"""Benchmark: telemetry coverage (queries/telemetry.py, ``attack-kg coverage`` and ``gaps``).

Builds ATT&CK Enterprise 18.1 + D3FEND 1.2.0 + all Sigma rules + Atomic Red Team + CTID's sensor
mappings (the test session's full build) into a temporary store (or uses ``--store DIR``), then prints the best and median wall seconds (and CPU
seconds) of:

- the full coverage table for one profile in a warm process: the store read
  (``load_telemetry(details=False)``, as ``coverage --format table|csv`` reads it) and the states
  of every technique, target at most 0.5 s;
- the same with the rules' IDs and titles read too (``--format json``; no target);
- the states alone for a second profile from the same read (no target);
- the greedy ``gaps`` for a group (no target);
- ``attack-kg coverage --telemetry PROFILE --format csv`` end to end, a new process each time
  (Python start, imports, store open, read, states, output), target at most 1.5 s.

    python benchmarks/bench_coverage.py [--data ../shared/data] [--store DIR] [--telemetry sysmon] [--group G0016]

The machine has 2 cores shared with whatever else runs: the CPU seconds show what the work
itself costs when the wall clock is inflated by other processes.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from timing import build_full_store, measure, measure_process

from attackkg.builders.store import open_store
from attackkg.queries import telemetry as T


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("ATTACK_KG_SHARED_DATA", "../shared/data")))
    parser.add_argument("--store", type=Path, help="an already built store (default: build one in a temporary folder)")
    parser.add_argument("--telemetry", nargs="+", default=["sysmon"], help="the profile (default: sysmon)")
    parser.add_argument("--second", nargs="+", default=["windows-security"], help="a second profile")
    parser.add_argument("--group", default="G0016")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        store_dir = args.store
        if store_dir is None:
            store_dir = build_full_store(
                Path(tmp) / "store", args.data, sensors_path=args.data / "ctid" / "sensor-mappings"
            )
        store = open_store(store_dir)
        data = T.load_telemetry(store)  # warm the store's caches once
        profile = T.profile_from_names(args.telemetry, data.catalog)
        second = T.profile_from_names(args.second, data.catalog)

        def table(details=False):
            read = T.load_telemetry(store, details=details)
            return T.coverage(read, profile)

        rows: list[tuple[str, float, float, float, str, str]] = []
        best, median, cpu, states = measure(table, args.repeat)
        counts = T.state_counts(states)
        detail = f"{len(states)} techniques: " + ", ".join(f"{counts[s]} {s}" for s in T.STATES)
        detail += f", {counts['testable']} testable; {len(data.rules)} rules"
        rows.append((f"coverage table, {profile.describe()} (read + states)", best, median, cpu, "0.5 s", detail))
        best, median, cpu, _states = measure(lambda: table(details=True), args.repeat)
        rows.append(("the same with rule IDs and titles (json)", best, median, cpu, "-", ""))

        best, median, cpu, states = measure(lambda: T.coverage(data, second), args.repeat)
        counts = T.state_counts(states)
        detail = ", ".join(f"{counts[s]} {s}" for s in T.STATES)
        rows.append((f"states only, {second.describe()}", best, median, cpu, "-", detail))

        _id, _name, techniques = T.group_techniques(store, args.group)
        best, median, cpu, picks = measure(lambda: T.next_sources(data, profile, techniques, top=3), args.repeat)
        detail = "; ".join(f"{p.source} +{len(p.gained)}" for p in picks)
        rows.append((f"gaps for {args.group}, top 3", best, median, cpu, "-", detail))

        command = [
            sys.executable,
            "-m",
            "attackkg.queries.cli",
            "coverage",
            "--telemetry",
            *args.telemetry,
            "--format",
            "csv",
            "--store",
            str(store_dir),
        ]
        best, median, cpu = measure_process(command, args.repeat)
        rows.append(("attack-kg coverage (new process, end to end)", best, median, cpu, "1.5 s", "csv to /dev/null"))

    width = max(len(r[0]) for r in rows)
    print(f"{'step':{width}}  {'best s':>8}  {'median s':>8}  {'cpu s':>8}  {'target':>7}  detail")
    for name, best, median, cpu, target, detail in rows:
        print(f"{name:{width}}  {best:8.4f}  {median:8.4f}  {cpu:8.4f}  {target:>7}  {detail}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
