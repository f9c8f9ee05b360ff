"""Peak memory of a full build as the Sigma rule count grows (issue 15, item 5).

Makes N copies of the shared Sigma rules in a temporary folder (copy k of a rule gets a new id,
uuid5 of the old id and k, so every rule stays distinct), then builds ATT&CK Enterprise 18.1,
D3FEND 1.2.0, the N x Sigma rules and Atomic Red Team into an on-disk store, each scale in a
child process of its own, and prints its wall time and peak resident memory (ru_maxrss).

    python benchmarks/bench_memory.py --scales 1 5 10
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

SHARED = Path(os.environ.get("ATTACK_KG_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
ID_LINE = re.compile(rb"^id:\s*([0-9a-fA-F-]{36})\s*$", re.MULTILINE)

CHILD = """
import resource, sys, time
from attackkg.builders.build import build_store
started = time.perf_counter()
result = build_store(sys.argv[1], attack_paths=[sys.argv[2]], d3fend_path=sys.argv[3], sigma_paths=[sys.argv[4]],
                     atomic_path=sys.argv[5])
rules = next(r.counts.get("rules", 0) for r in result.reports if r.source == "sigma")
print(rules, result.triples, round(time.perf_counter() - started, 2), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def copy_rules(scale: int, target: Path) -> int:
    """``scale`` copies of every rule file under sigma/rules*/ into ``target``/rules*-copyK/."""
    files = 0
    for folder in sorted(p for p in SHARED.joinpath("sigma").iterdir() if p.is_dir() and p.name.startswith("rules")):
        for path in folder.rglob("*.yml"):
            raw = path.read_bytes()
            for k in range(scale):
                text = raw if k == 0 else ID_LINE.sub(
                    lambda m, k=k: b"id: " + str(uuid.uuid5(uuid.UUID(m.group(1).decode()), str(k))).encode(), raw
                )
                out = target / f"{folder.name}-copy{k}" / path.relative_to(folder)
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes(text)
                files += 1
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 5, 10])
    args = parser.parse_args()
    print(f"{'scale':>5} {'rule files':>10} {'rules':>7} {'triples':>9} {'build s':>8} {'peak MB':>8}")
    for scale in args.scales:
        with tempfile.TemporaryDirectory() as tmp:
            rules = Path(tmp) / "sigma"
            files = copy_rules(scale, rules)
            answer = subprocess.run(
                [
                    sys.executable, "-c", CHILD, str(Path(tmp) / "store"),
                    str(SHARED / "attack" / "enterprise-attack-18.1.json.gz"),
                    str(SHARED / "d3fend" / "1.2.0" / "d3fend.ttl"), str(rules), str(SHARED / "atomic-red-team"),
                ],
                capture_output=True, text=True, check=True,
            )
            count, triples, seconds, peak_kb = answer.stdout.split()
            print(f"{scale:>5} {files:>10} {count:>7} {triples:>9} {seconds:>8} {int(peak_kb) / 1024:>8.0f}")
    print(f"(this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB; {time.strftime('%F %T')})")


if __name__ == "__main__":
    main()
