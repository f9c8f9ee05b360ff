"""What the benchmark scripts share: timing a piece of work, and the full store they measure.

The scripts run as ``python benchmarks/bench_NAME.py``, so this folder is on ``sys.path`` and they
``import timing``.
"""

from __future__ import annotations

import resource
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from attackkg.builders.build import build_store


def measure(work: Callable[[], object], repeat: int) -> tuple[float, float, float, object]:
    """(best wall, median wall, best CPU) seconds over ``repeat`` runs, and the last result."""
    walls, cpus = [], []
    result = None
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        result = work()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), statistics.median(walls), min(cpus), result


def measure_process(command: list[str], repeat: int) -> tuple[float, float, float]:
    """(best wall, median wall, best CPU of the child) seconds of a command run ``repeat`` times."""
    walls, cpus = [], []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        walls.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return min(walls), statistics.median(walls), min(cpus)


def build_full_store(store_dir: Path, data: Path, **more: object) -> Path:
    """Build ATT&CK Enterprise 18.1 + D3FEND 1.2.0 + every Sigma rule + Atomic Red Team from the
    shared data (``more``: other sources, as ``build_store`` keywords) into ``store_dir``, saying
    how long it took (not part of any figure)."""
    started = time.perf_counter()
    build_store(
        store_dir,
        attack_paths=[data / "attack" / "enterprise-attack-18.1.json.gz"],
        d3fend_path=data / "d3fend" / "1.2.0" / "d3fend.ttl",
        sigma_paths=[data / "sigma"],
        atomic_path=data / "atomic-red-team",
        **more,
    )
    print(f"built the full store in {time.perf_counter() - started:.1f} s (not part of the figures)")
    return store_dir
