"""Reproducible output (issue 8, item 5): the same inputs give byte-identical exports.

Two builds of the same inputs, each in its own process with its own hash seed (so nothing may
depend on the order of a set or dict of strings), into different store folders, with the same
``SOURCE_DATE_EPOCH``, export the same N-Quads, Turtle and TriG bytes. The inputs are cut from
every kind of source the build reads (ATT&CK, D3FEND, Sigma, Atomic, CTID mappings, CAR, CTID
sensor mappings, and the telemetry table the build derives), so every builder's code is run under
two hash seeds. They are given by the same relative paths, as the metadata graph records each
``akg:inputPath`` as given. The build time lives in the metadata graph only.

A second build of the full shared data, compared with the session's, ran here until 2026-12-02;
it took 49 s of the suite's 3-minute budget and ran the same code as these fixtures.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
# One child process runs several ``attack-kg`` commands (argv groups split at "--next"), as a user
# would one after another, but with one interpreter start-up: the hash seed is the child's.
CLI = """
import sys
from attackkg.queries.cli import main
args, commands = sys.argv[1:], [[]]
for arg in args:
    commands.append([]) if arg == "--next" else commands[-1].append(arg)
for argv in commands:
    if main(argv) != 0:
        sys.exit(1)
"""
METADATA = "<https://w3id.org/attack-kg/graph/metadata>"
EPOCH = 1767225600  # 2026-01-01T00:00:00Z
FIXTURE_INPUTS = [
    "--attack",
    "fixtures/attack/small-enterprise-2.1.json",
    "--d3fend",
    "fixtures/d3fend/source-form-1.2.0/d3fend.ttl",
    "--sigma",
    "fixtures/sigma/repo",
    "--atomic",
    "fixtures/atomic",
    "--mappings",
    "fixtures/mappings/nist_800_53-rev5.json",
    "fixtures/mappings/aws.json",
    "fixtures/mappings/kev.json",
    "--car",
    "fixtures/car",
    "--sensors",
    "fixtures/sensors/repo",
]


def cli(commands: list[list[str]], cwd: Path, seed: int, epoch: int) -> None:
    """``attack-kg`` commands, one after another, in one child process with its own hash seed."""
    env = dict(os.environ, SOURCE_DATE_EPOCH=str(epoch), PYTHONHASHSEED=str(seed))
    env.pop("ATTACK_KG_STORE", None)
    args = [arg for argv in commands for arg in ("--next", *argv)][1:]
    result = subprocess.run([sys.executable, "-c", CLI, *args], cwd=cwd, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def build_and_export(inputs: list[str], cwd: Path, folder: Path, seed: int, epoch: int, suffixes) -> dict[str, Path]:
    """Build ``inputs`` (paths relative to ``cwd``) into ``folder/store`` and export each suffix,
    in one child process."""
    store = folder / "store"
    out = {suffix: folder / f"export{suffix}" for suffix in suffixes}
    exports = [["export", str(path), "--store", str(store)] for path in out.values()]
    cli([["build", *inputs, "--store", str(store), "-q"], *exports], cwd, seed, epoch)
    return out


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


SUFFIXES = (".nq", ".ttl", ".trig")


@pytest.fixture(scope="module")
def first_fixture_build(tmp_path_factory) -> dict[str, Path]:
    """The fixtures built with hash seed 1 at EPOCH, exported in each format (both tests compare
    a second build against this one)."""
    return build_and_export(FIXTURE_INPUTS, TESTS, tmp_path_factory.mktemp("first"), 1, EPOCH, SUFFIXES)


@pytest.mark.slow
def test_fixture_builds_export_identical_bytes(tmp_path, first_fixture_build):
    suffixes = SUFFIXES
    first = first_fixture_build
    second = build_and_export(FIXTURE_INPUTS, TESTS, tmp_path / "b", 2, EPOCH, suffixes)
    for suffix in suffixes:
        assert sha256(first[suffix]) == sha256(second[suffix]), suffix
    nquads = first[".nq"].read_text(encoding="utf-8")
    assert "_:d3fend_1_2_0_b0 " in nquads  # D3FEND's restrictions, labelled in file order
    graphs = {line.rsplit(" ", 2)[-2] for line in nquads.splitlines()}
    kinds = {graph.split("/graph/", 1)[1].split("/", 1)[0].rstrip(">") for graph in graphs}
    assert kinds == {"attack", "d3fend", "sigma", "atomic", "mappings", "car", "sensors", "telemetry", "derived", "metadata"}
    assert str(first[".nq"].parent) not in nquads and str(tmp_path) not in nquads  # no store or output path


@pytest.mark.slow
def test_build_time_is_source_date_epoch_and_only_in_the_metadata(tmp_path, first_fixture_build):
    later = EPOCH + 86400
    first = first_fixture_build[".nq"]
    second = build_and_export(FIXTURE_INPUTS, TESTS, tmp_path / "b", 1, later, (".nq",))[".nq"]
    lines_first = set(first.read_text(encoding="utf-8").splitlines())
    lines_second = set(second.read_text(encoding="utf-8").splitlines())
    when = datetime.fromtimestamp(EPOCH, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    changed = lines_first ^ lines_second
    assert changed  # the build time is recorded ...
    assert all(line.endswith(f"{METADATA} .") and "purl.org/dc/terms/created" in line for line in changed)
    assert all(when in line for line in lines_first - lines_second)  # ... and is SOURCE_DATE_EPOCH
