"""The corpus of bad inputs, through the CLI (issue 8, item 1).

Every case of ``tests/corpus/cases.toml`` is built with ``attack-kg build`` over a copy of a store
built from the fixtures, with HOME, TMPDIR and the working folder inside the case's temporary
folder, under a timeout. Most cases run in this process, through ``main(argv)`` with stdout and
stderr captured; the cases marked ``subprocess`` (where the 2 GB address-space limit, or a stack
that a regression could overflow, is what is tested) run in a child process under that limit.
Each run checks the exit code, the one ``path:line: message`` line (or the skipped files
reported), that no traceback is printed, that nothing was written outside the store, and that an
error leaves the previous store as it was while a skip is counted in the rebuilt store's metadata.

``python tests/test_corpus.py`` runs every case and prints the table of cases and outcomes
(Markdown); ``pytest -s tests/test_corpus.py`` prints it at the end too.
"""

from __future__ import annotations

import gzip
import io
import os
import resource
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
import zipfile
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import pytest
from cli_runs import CLI

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the same parser, from PyPI (in the test extra)
    import tomli as tomllib

TESTS = Path(__file__).resolve().parent
CASES = tomllib.loads((TESTS / "corpus" / "cases.toml").read_text(encoding="utf-8"))["case"]
GOOD_RULE = TESTS / "fixtures/sigma/repo/rules/linux/builtin/lnx_symlink_etc_passwd.yml"
GOOD_ATOMIC = TESTS / "fixtures/atomic/atomics/T1204.002/T1204.002.yaml"
SMALL_BUNDLE = TESTS / "fixtures/attack/small-enterprise-2.1.json"
MEMORY_LIMIT = 2 << 30
TIMEOUT = 120
METADATA = "https://w3id.org/attack-kg/graph/metadata"
AKG = "https://w3id.org/attack-kg/ns#"


# --- inputs made at test time ------------------------------------------------------------------


def make_deep_json(folder: Path) -> Path:
    """A bundle whose objects list nests 100,000 arrays deep."""
    path = folder / "deep.json"
    path.write_text('{"type": "bundle", "objects": ' + "[" * 100_000 + "]" * 100_000 + "}")
    return path


def make_gzip_bomb(folder: Path) -> Path:
    """5 gzip members of 64 MiB of spaces each: 1.5 MB on disk, 320 MiB uncompressed."""
    path = folder / "enterprise-attack-18.1.json.gz"
    path.write_bytes(gzip.compress(b" " * (64 << 20), compresslevel=1) * 5)
    return path


def make_big_rule(folder: Path) -> Path:
    """A 50 MB Sigma rule (a hash list, as in driver_load_win_vuln_drivers.yml) beside a good rule."""
    rules = folder / "sigma" / "rules"
    rules.mkdir(parents=True)
    shutil.copy(GOOD_RULE, rules / GOOD_RULE.name)
    line = "            - SHA256=" + "a" * 64 + "\n"
    with (rules / "big.yml").open("w") as out:
        out.write("title: Big\nid: 3f0b2a77-5d3c-4a8e-9b1f-6c2d4e8a0b13\nlogsource:\n    product: windows\n")
        out.write("detection:\n    selection:\n        Hashes:\n")
        out.write(line * ((50 << 20) // len(line)))
        out.write("    condition: selection\n")
    return folder / "sigma"


def make_big_atomic(folder: Path) -> Path:
    """A 12 MB Atomic file (one test with a long command) beside the good T1204.002."""
    root = atomic_folder(folder)
    with (root / "atomics/T1204.003/T1204.003.yaml").open("w") as out:
        out.write("attack_technique: T1204.003\ndisplay_name: Big\natomic_tests:\n- name: Big\n")
        out.write("  auto_generated_guid: 2b8f0c1d-3e4a-4b5c-8d6e-7f8091a2b3c4\n  executor:\n    name: sh\n")
        out.write("    command: |\n" + ("      echo " + "x" * 100 + "\n") * ((12 << 20) // 112))
    return root


def make_sigma_zip_slip(folder: Path) -> Path:
    """A rule zip with one good member and three whose names leave the rule root."""
    path = folder / "sigma_all_rules.zip"
    good = GOOD_RULE.read_bytes()
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("rules/linux/lnx_symlink_etc_passwd.yml", good)
        for index, name in enumerate(("rules/../../escape.yml", "../../outside/rules/x.yml", "/abs/rules/y.yml")):
            archive.writestr(zipfile.ZipInfo(name), good.replace(b"c67fc22a", f"c67fc22{index}".encode()))
    return path


def make_atomic_zip_slip(folder: Path) -> Path:
    """An Atomic release zip with one member under ../../ (read like any other, never extracted)."""
    path = folder / "atomic-red-team-v1.0.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("atomic-red-team-v1.0/atomics/T1204.002/T1204.002.yaml", GOOD_ATOMIC.read_bytes())
        other = TESTS / "fixtures/atomic/atomics/T1204.003/T1204.003.yaml"
        archive.writestr(zipfile.ZipInfo("../../atomics/T1204.003/T1204.003.yaml"), other.read_bytes())
    return path


def make_sigma_symlink_loop(folder: Path) -> Path:
    """A rule folder with a good rule, a folder linking to itself, a file linking to itself, and
    two files linking to each other."""
    rules = folder / "sigma" / "rules"
    rules.mkdir(parents=True)
    shutil.copy(GOOD_RULE, rules / GOOD_RULE.name)
    (rules / "loop").symlink_to(".")
    (rules / "self.yml").symlink_to("self.yml")
    (rules / "a.yml").symlink_to("b.yml")
    (rules / "b.yml").symlink_to("a.yml")
    return folder / "sigma"


def make_atomic_symlink_loop(folder: Path) -> Path:
    """An Atomic folder with the good T1204.002, a technique file linking to itself, and a
    technique folder linking to atomics/ itself."""
    root = atomic_folder(folder)
    (root / "atomics/T1204.003/T1204.003.yaml").symlink_to("T1204.003.yaml")
    (root / "atomics/T1999").symlink_to(".")
    return root


def atomic_folder(folder: Path) -> Path:
    """``folder/atomic`` holding the good ``atomics/T1204.002`` and an empty ``atomics/T1204.003``."""
    root = folder / "atomic"
    (root / "atomics/T1204.002").mkdir(parents=True)
    (root / "atomics/T1204.003").mkdir()
    shutil.copy(GOOD_ATOMIC, root / "atomics/T1204.002/T1204.002.yaml")
    return root


def place_input(case: dict, folder: Path) -> Path:
    """Copy or make the case's input under ``folder``; the path to give the CLI."""
    source = case["input"]
    if source.startswith("generated:"):
        return globals()[f"make_{source.removeprefix('generated:')}"](folder)
    original = TESTS / source
    layout = case.get("layout")
    if layout == "sigma-rule":
        rules = folder / "sigma" / "rules"
        rules.mkdir(parents=True)
        shutil.copy(GOOD_RULE, rules / GOOD_RULE.name)
        shutil.copy(original, rules / original.name)
        return folder / "sigma"
    if layout == "atomic-file":
        root = atomic_folder(folder)
        shutil.copy(original, root / "atomics/T1204.003/T1204.003.yaml")
        return root
    target = folder / original.name
    if original.is_dir():
        shutil.copytree(original, target, symlinks=True)
    else:
        shutil.copy(original, target)
    return target


# --- running a case ----------------------------------------------------------------------------


@dataclass
class Outcome:
    case: dict
    mode: str
    code: int
    stderr: str
    shown: str  # the line checked (the error, the first skip, the warning), input path shortened
    seconds: float


def limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def run_in_child(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, str]:
    """``attack-kg ARGS`` in a child process limited to MEMORY_LIMIT of address space."""
    command = [sys.executable, "-c", CLI, *args]
    result = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT, preexec_fn=limit_memory
    )
    return result.returncode, result.stderr


class CaseTimeout(BaseException):
    """Raised by SIGALRM in an in-process run (a BaseException, so no ``except Exception`` keeps it)."""


def _time_out(signum, frame) -> None:
    raise CaseTimeout


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """A warning on stderr, as Python prints it (pytest would record it instead)."""
    sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


def run_in_process(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, str]:
    """``attack-kg ARGS`` through ``main(argv)`` in this process, as the child would run it: in
    ``cwd``, with exactly ``env`` (TMPDIR read again), Python's default warning filters, stdout and
    stderr captured, an uncaught exception printed as its traceback, TIMEOUT seconds at most."""
    from attackkg.queries.cli import main

    saved_env, saved_cwd, saved_tempdir = dict(os.environ), os.getcwd(), tempfile.tempdir
    err = io.StringIO()
    previous_handler = signal.signal(signal.SIGALRM, _time_out)
    try:
        os.environ.clear()
        os.environ.update(env)
        os.chdir(cwd)
        tempfile.tempdir = None
        with warnings.catch_warnings(), redirect_stdout(io.StringIO()), redirect_stderr(err):
            warnings.resetwarnings()
            for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
                warnings.simplefilter("ignore", category)
            warnings.showwarning = _show_warning
            signal.setitimer(signal.ITIMER_REAL, TIMEOUT)
            try:
                code = main(args)
            except SystemExit as exit:
                code = exit.code if isinstance(exit.code, int) else 1
            except Exception:
                traceback.print_exc()
                code = 1
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
    except CaseTimeout:
        raise AssertionError(f"attack-kg {' '.join(args)}: no answer after {TIMEOUT} s") from None
    finally:
        signal.signal(signal.SIGALRM, previous_handler)
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
        tempfile.tempdir = saved_tempdir
    return code, err.getvalue()


def snapshot(root: Path, leave_out: Path | None = None) -> dict[str, tuple]:
    """Every entry under ``root`` (symlinks not followed): kind, size, mtime or link target."""
    out: dict[str, tuple] = {}
    for folder, dirnames, filenames in os.walk(root):
        if leave_out is not None and Path(folder) == leave_out:
            dirnames[:] = []
            continue
        for name in [*dirnames, *filenames]:
            path = Path(folder, name)
            if leave_out is not None and path == leave_out:
                continue
            info = path.lstat()
            rel = str(path.relative_to(root))
            if stat.S_ISLNK(info.st_mode):
                out[rel] = ("link", os.readlink(path))
            elif stat.S_ISDIR(info.st_mode):
                out[rel] = ("dir",)
            else:
                out[rel] = ("file", info.st_size, info.st_mtime_ns)
    return out


def quads(store_dir: Path) -> int:
    from attackkg.builders.store import open_store

    return len(open_store(store_dir))


def skipped_in_metadata(store_dir: Path) -> int:
    from attackkg.builders.store import open_store

    query = f"SELECT (SUM(?n) AS ?t) WHERE {{ GRAPH <{METADATA}> {{ ?g <{AKG}skippedCount> ?n }} }}"
    return int(next(iter(open_store(store_dir).query(query)))["t"].value)


def paths_in_graph(store_dir: Path) -> list[str]:
    """Rule and Atomic file paths in the store that climb with '..' (none may)."""
    from attackkg.builders.store import open_store

    query = (
        f"SELECT ?p WHERE {{ GRAPH ?g {{ ?s <{AKG}rulePath>|<{AKG}atomicFile> ?p }} "
        'FILTER(CONTAINS(STR(?p), "..") || STRSTARTS(STR(?p), "/")) }'
    )
    return [row["p"].value for row in open_store(store_dir).query(query)]


def run_case(case: dict, mode: str, root: Path, baseline: Path) -> Outcome:
    """Run one case in ``root`` (an empty folder) and check everything but the message's text."""
    from attackkg.builders.store import current_generation

    inputs, store, home, scratch, work = (root / name for name in ("in", "store", "home", "tmp", "work"))
    for folder in (inputs, home, scratch, work):
        folder.mkdir()
    given = place_input(case, inputs)
    shutil.copytree(baseline, store, symlinks=True)
    generation, store_before = current_generation(store), snapshot(store)
    quads_before = quads(store)
    outside_before = snapshot(root, leave_out=store)

    env = {k: v for k, v in os.environ.items() if not k.startswith("ATTACK_KG_")}
    env.update(HOME=str(home), TMPDIR=str(scratch), XDG_CACHE_HOME=str(home / ".cache"))
    env.update(XDG_DATA_HOME=str(home / ".local/share"), ATTACK_KG_CACHE=str(home / "cache"))
    env.update(PYTHONDONTWRITEBYTECODE="1")
    args = ["build", case["flag"], str(given), "--store", str(store)]
    if mode == "strict":
        args.append("--strict")
    started = time.perf_counter()
    returncode, err = (run_in_child if case.get("subprocess") else run_in_process)(args, work, env)
    seconds = time.perf_counter() - started
    lines = [line for line in err.splitlines() if line.strip()]
    expected = case[mode]
    prefix = f"{given}{case['where']}: "

    assert "Traceback" not in err, err[-3000:]
    assert snapshot(root, leave_out=store) == outside_before, "written outside the store"
    assert sorted(os.listdir(home)) == [] and sorted(os.listdir(scratch)) == [] and os.listdir(work) == []
    assert all(p.name in ("current", ".lock", ".previous") or p.name.startswith("gen-") for p in store.iterdir())

    if expected == "error":
        assert returncode == 1, err
        assert len(lines) == 1, err
        shown = lines[0]
        assert shown.startswith(f"attack-kg: {prefix}"), (shown, prefix)
        assert snapshot(store) == store_before and current_generation(store) == generation
        assert quads(store) == quads_before
    else:
        assert returncode == 0, err
        assert current_generation(store) != generation  # the new build was swapped in
        skips = [line for line in lines if line.startswith("  skipped: ")]
        warnings = [line for line in lines if line.startswith("  warning: ")]
        assert paths_in_graph(store) == []
        if expected == "skip":
            count = case.get("skipped", 1)
            assert len(skips) == count, err
            assert skips[0].startswith(f"  skipped: {prefix}"), (skips[0], prefix)
            assert all(case["message"] in line for line in skips), err
            assert skipped_in_metadata(store) == count
            shown = skips[0].strip()
        elif expected == "warning":
            assert skips == [], err
            shown = next(line for line in warnings if case["message"] in line).strip()
        else:
            assert expected == "ok"
            assert skips == [] and skipped_in_metadata(store) == 0, err
            shown = ""
    if expected != "ok":
        assert case["message"] in shown, (case["message"], shown)
    return Outcome(case, mode, returncode, err, shown.replace(str(inputs) + "/", ""), seconds)


# --- the table ---------------------------------------------------------------------------------


def table(outcomes: list[Outcome]) -> str:
    """The Markdown table of cases and outcomes (what the closing note shows)."""
    rows = [
        "| case | flag | mode | exit | outcome | what the user sees |",
        "|---|---|---|---|---|---|",
    ]
    for outcome in outcomes:
        case, seen = outcome.case, outcome.shown.removeprefix("attack-kg: ")
        if len(seen) > 200:
            seen = seen[:197] + "..."
        seen = f"`{seen}`" if seen else case.get("note", "built, nothing skipped")
        if case[outcome.mode] == "skip" and case.get("skipped", 1) > 1:
            seen += f" and {case['skipped'] - 1} more the same"
        seen = seen.replace("|", "\\|")
        row = [case["name"], case["flag"], outcome.mode, str(outcome.code), case[outcome.mode], seen]
        rows.append("| " + " | ".join(row) + " |")
    return "\n".join(rows)


def runs() -> list[tuple[dict, str]]:
    return [(case, mode) for case in CASES for mode in ("lenient", "strict") if mode in case]


def baseline_store(folder: Path) -> Path:
    """The previous store every case starts from: the small ATT&CK fixture."""
    from attackkg.builders.build import build_store

    store = folder / "baseline"
    build_store(store, attack_paths=[SMALL_BUNDLE])
    return store


OUTCOMES: list[Outcome] = []


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    yield baseline_store(tmp_path_factory.mktemp("corpus-baseline"))
    if OUTCOMES:
        print("\n\nCorpus of bad inputs (tests/corpus/cases.toml):\n")
        print(table(sorted(OUTCOMES, key=lambda o: runs().index((o.case, o.mode)))))


def run_params() -> list:
    """``runs()`` as test parameters; those in a child process (``subprocess``) are ``slow``."""
    return [
        pytest.param(
            case, mode, id=f"{case['name']} [{mode}]", marks=[pytest.mark.slow] if "subprocess" in case else []
        )
        for case, mode in runs()
    ]


@pytest.mark.parametrize(("case", "mode"), run_params())
def test_case(case, mode, baseline, tmp_path):
    OUTCOMES.append(run_case(case, mode, tmp_path, baseline))


def test_cases_are_well_formed():
    names = [case["name"] for case in CASES]
    assert len(names) == len(set(names))
    for case in CASES:
        assert case["flag"] in ("--attack", "--d3fend", "--sigma", "--atomic")
        assert case["lenient"] in ("error", "skip", "warning", "ok")
        assert case.get("strict", "error") in ("error", "ok")
        assert isinstance(case.get("subprocess", ""), str)
        source = case["input"]
        if source.startswith("generated:"):
            assert callable(globals().get(f"make_{source.removeprefix('generated:')}")), source
        else:
            assert (TESTS / source).exists(), source
    # every committed corpus file is used by a case
    used = {case["input"] for case in CASES}
    for path in (TESTS / "corpus").rglob("*"):
        if path.is_file() and path.suffix in (".json", ".ttl", ".yml", ".yaml"):
            assert str(path.relative_to(TESTS)) in used, path


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="attack-kg-corpus-") as folder:
        root = Path(folder)
        baseline = baseline_store(root)
        outcomes, failures = [], []
        for index, (case, mode) in enumerate(runs()):
            case_root = root / f"case-{index}"
            case_root.mkdir()
            try:
                outcomes.append(run_case(case, mode, case_root, baseline))
            except AssertionError as error:
                failures.append(f"{case['name']} [{mode}]: {error}")
            shutil.rmtree(case_root, ignore_errors=True)
    print(table(outcomes))
    for failure in failures:
        print(f"FAILED {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
