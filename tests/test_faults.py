"""Faults from the machine (issue 15): a full disk, a read-only folder, debris of killed builds,
SIGTERM and SIGHUP, and hostile arguments. Each must give one line on stderr, exit 1 (or
128 + the signal), no traceback, and leave the previous store and files as they were.

A full disk and a read-only folder are real: small tmpfs mounts (``mount -t tmpfs``, which needs
root). Where mounting is impossible those tests skip and say why; under CI (CI=true, run as root)
that is a failure. One test injects the fault instead (a fake ``shutil.disk_usage``) and runs
everywhere.
"""

from __future__ import annotations

import contextlib
import gc
import gzip
import io
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_runs import CLI, run_child

from attackkg.builders import store as store_module
from attackkg.builders.base import InputError
from attackkg.builders.build import build_store
from attackkg.builders.store import (
    StoreError,
    current_generation,
    disk_bytes,
    estimate_build_bytes,
    input_bytes,
    megabytes,
    store_disk_bytes,
)
from attackkg.ontology.identifiers import ascii_look_alike, check_identifier, quoted
from attackkg.queries.cli import main


def fixture_inputs(fixtures: Path) -> dict:
    return {
        "attack_paths": [fixtures / "attack" / "small-enterprise-2.1.json"],
        "d3fend_path": fixtures / "d3fend" / "source-form-1.2.0" / "d3fend.ttl",
        "sigma_paths": [fixtures / "sigma" / "repo"],
        "atomic_path": fixtures / "atomic",
    }


def full_build_args(data: Path) -> list[str]:
    return [
        "--attack", str(data / "attack" / "enterprise-attack-18.1.json.gz"),
        "--d3fend", str(data / "d3fend" / "1.2.0" / "d3fend.ttl"),
        "--sigma", str(data / "sigma"),
        "--atomic", str(data / "atomic-red-team"),
    ]  # fmt: skip


def run_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return run_child(*args, timeout=timeout)


def one_line(stderr: str) -> str:
    """The only line on stderr (asserted), with no traceback."""
    assert "Traceback" not in stderr, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


def generations(store_dir: Path) -> list[str]:
    return sorted(p.name for p in store_dir.iterdir() if p.name.startswith("gen-"))


def answer(store_dir: Path) -> str:
    """What the store answers to one technique's countermeasures and detections (CSV), through
    ``attack-kg query`` in this process (a reader opening the store afresh, as a child would)."""
    texts = []
    for query, technique in (("countermeasures", "T1204.001"), ("detections", "T1204")):
        out, err = io.StringIO(), io.StringIO()
        argv = ["query", query, "--param", f"technique={technique}", "--format", "csv", "--store", str(store_dir)]
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            assert main(argv) == 0, err.getvalue()
        texts.append(out.getvalue())
    gc.collect()  # let go of the store (a tmpfs holding it is unmounted next)
    assert len(texts[0].splitlines()) > 1  # rows, not only the header: the store really answers
    return "".join(texts)


@contextlib.contextmanager
def tmpfs(where: Path, size: str, *, read_only: bool = False, prepare=None) -> Iterator[Path]:
    """A tmpfs of ``size`` mounted at ``where`` (``prepare(where)`` runs before a read-only remount)."""
    where.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True)
    if mounted.returncode != 0:
        reason = f"cannot mount a tmpfs here ({mounted.stderr.decode(errors='replace').strip() or 'not root'})"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    try:
        if prepare is not None:
            prepare(where)
        if read_only:
            subprocess.run(["mount", "-o", "remount,ro", str(where)], check=True, capture_output=True)
        yield where
    finally:
        if subprocess.run(["umount", str(where)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(where)], capture_output=True)


def fill_disk(folder: Path) -> None:
    """Fill the file system of ``folder`` to the last byte (files that grow until ENOSPC)."""
    for name, size in (("filler", 1 << 16), ("filler-tail", 1)):
        with (folder / name).open("wb", buffering=0) as out, contextlib.suppress(OSError):
            while True:
                out.write(b"\0" * size)


# --- a full disk -----------------------------------------------------------------------------------


def test_full_build_on_a_60mb_tmpfs_refuses_and_the_small_store_answers(shared_data, fixtures, tmp_path):
    """The issue's acceptance: a full build onto a 60 MB tmpfs holding a small store exits 1 with
    one line naming the store and "no space"; the small store still answers."""
    with tmpfs(tmp_path / "disk", "60m") as disk:
        store_dir = disk / "store"
        build_store(store_dir, **fixture_inputs(fixtures))
        before, kept = answer(store_dir), generations(store_dir)
        result = run_cli("build", *full_build_args(shared_data), "--store", str(store_dir))
        assert result.returncode == 1
        line = one_line(result.stderr)
        assert str(store_dir) in line and "no space" in line.lower(), line
        assert "needs about" in line and "free" in line
        assert generations(store_dir) == kept
        assert answer(store_dir) == before


def test_a_build_that_cannot_fit_is_refused_before_it_reads(shared_data, fixtures, tmp_path, monkeypatch):
    """The space check runs on the inputs' sizes before they are read (the D3FEND ontology: 35 MB
    once built, onto 12 MB), so the user is told at once; read_sources is never called."""
    from attackkg.builders import build as build_module

    with tmpfs(tmp_path / "disk", "12m") as disk:
        store_dir = disk / "store"
        build_store(store_dir, **fixture_inputs(fixtures))

        def reading(**_inputs):
            raise AssertionError("the inputs were read before the space check")

        monkeypatch.setattr(build_module, "read_sources", reading)
        with pytest.raises(StoreError, match="no space for a new build"):
            build_store(store_dir, d3fend_path=shared_data / "d3fend" / "1.2.0" / "d3fend.ttl")


def test_no_space_from_rocksdb_mid_build_is_one_line(shared_data, fixtures, tmp_path, monkeypatch, capsys):
    """When the estimate falls short (another process fills the disk meanwhile), RocksDB's own
    ``OSError: IO error: No space left on device`` becomes one line and the new generation goes."""
    monkeypatch.setattr(store_module, "check_space", lambda store_dir, needs: None)
    with tmpfs(tmp_path / "disk", "12m") as disk:
        store_dir = disk / "store"
        build_store(store_dir, **fixture_inputs(fixtures))
        before, kept = answer(store_dir), generations(store_dir)
        d3fend = shared_data / "d3fend" / "1.2.0" / "d3fend.ttl"  # 35 MB on disk once built
        assert main(["build", "--d3fend", str(d3fend), "--store", str(store_dir), "-q"]) == 1
        line = one_line(capsys.readouterr().err)
        assert line.startswith(f"attack-kg: {store_dir}: ") and "No space left on device" in line, line
        assert generations(store_dir) == kept
        assert not [p for p in store_dir.iterdir() if p.name.startswith(".current.") or p.suffix == ".part"]
        assert answer(store_dir) == before


@pytest.mark.parametrize(
    "command",
    [
        ["export", "{out}/graph.ttl"],
        ["export", "{out}/graph.nq"],
        ["export", "{out}/graph.graphml"],
        ["report", "T1204.001", "-o", "{out}/page.md"],
        ["layer", "--score", "combined", "-o", "{out}/layer.json"],
        ["diff", "{store}", "{store}", "-o", "{out}/diff.md"],
    ],
    ids=["export-ttl", "export-nq", "export-graphml", "report-o", "layer-o", "diff-o"],
)
def test_writing_onto_a_full_disk(fixture_store, tmp_path, capsys, command):
    """export, report -o, layer -o and diff -o onto a full disk: one line naming the file and the
    system's reason; the previous file as it was; no temporary file left."""
    with tmpfs(tmp_path / "disk", "2m") as out:
        argv = [part.format(out=out, store=fixture_store) for part in command]
        target = Path(argv[1] if command[0] == "export" else argv[-1])
        target.write_text("the previous file\n")
        fill_disk(out)
        if command[0] != "diff":
            argv += ["--store", str(fixture_store)]
        assert main(argv) == 1
        line = one_line(capsys.readouterr().err)
        assert line.startswith(f"attack-kg: {target}: ") and "No space left on device" in line, line
        assert target.read_text() == "the previous file\n"
        assert sorted(p.name for p in out.iterdir()) == sorted(["filler", "filler-tail", target.name])


def test_download_onto_a_full_cache(tmp_path, monkeypatch, capsys):
    """The download cache on a full disk (a local HTTP server on 127.0.0.1 stands in for the
    upstream hosts): one line with the system's reason, no partial file in the cache, no lock file."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from threading import Thread

    from attackkg.builders import sources

    class Release(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"x" * (3 << 20)
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Release)
    Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()  # shutdown() waits a poll
    try:
        with tmpfs(tmp_path / "cache", "1m") as cache:
            monkeypatch.setenv(sources.CACHE_ENV, str(cache))
            monkeypatch.setenv(sources.MIRROR_ENV, f"http://127.0.0.1:{server.server_address[1]}/")
            lock = tmp_path / "sources.lock.json"
            assert main(["lock", "-o", str(lock)]) == 1
            line = one_line(capsys.readouterr().err)
            assert "127.0.0.1" in line and "No space left on device" in line, line
            assert [p for p in cache.rglob("*") if p.is_file()] == []
            assert not lock.exists()
    finally:
        server.shutdown()
        server.server_close()


def test_space_check_says_what_it_needs_and_what_it_could_free(fixtures, tmp_path, monkeypatch):
    """No mount needed: the free space is faked. A build that cannot fit is refused before anything
    is written, with the space it needs, the space free, and the previous generation it could free."""
    store_dir = tmp_path / "store"
    build_store(store_dir, **fixture_inputs(fixtures))
    build_store(store_dir, **fixture_inputs(fixtures))  # now a current and a previous generation
    kept, previous = generations(store_dir), (store_dir / ".previous").read_text()
    assert len(kept) == 2 and previous in kept
    real = shutil.disk_usage

    def tight(path):
        usage = real(path)
        return usage._replace(free=1 << 20)

    monkeypatch.setattr(store_module.shutil, "disk_usage", tight)
    with pytest.raises(StoreError) as refused:
        build_store(store_dir, **fixture_inputs(fixtures))
    message = str(refused.value)
    needs = estimate_build_bytes(
        [("attack", p) for p in fixture_inputs(fixtures)["attack_paths"]]
        + [("d3fend", fixture_inputs(fixtures)["d3fend_path"])]
        + [("sigma", p) for p in fixture_inputs(fixtures)["sigma_paths"]]
        + [("atomic", fixture_inputs(fixtures)["atomic_path"])]
    )
    assert message.startswith(f"{store_dir}: no space for a new build: it needs about {megabytes(needs)}, {megabytes(1 << 20)} free")
    assert f"deleting {store_dir / previous}" in message
    assert f"would free {megabytes(disk_bytes(store_dir / previous))}" in message
    assert generations(store_dir) == kept


def test_estimate_covers_what_a_build_takes(fixtures, fixture_store, shared_data):
    """The estimate is at least the finished store (fixtures), and reads a .gz's uncompressed size."""
    inputs = fixture_inputs(fixtures)
    pairs = [("attack", inputs["attack_paths"][0]), ("d3fend", inputs["d3fend_path"])]
    pairs += [("sigma", inputs["sigma_paths"][0]), ("atomic", inputs["atomic_path"])]
    assert estimate_build_bytes(pairs) >= disk_bytes(current_generation(fixture_store))
    bundle = shared_data / "attack" / "mobile-attack-18.1.json.gz"
    with gzip.open(bundle) as stream:
        assert input_bytes(bundle) == len(stream.read())
    assert input_bytes(fixtures / "no-such-input") == 0


def test_info_shows_the_size_on_disk(fixture_store, capsys):
    assert main(["info", "--store", str(fixture_store)]) == 0
    out = capsys.readouterr().out
    sizes = store_disk_bytes(fixture_store)
    assert sizes["current"] > 0 and sizes["total"] >= sizes["current"]
    assert f"on disk: {megabytes(sizes['total'])} in {fixture_store} (current {megabytes(sizes['current'])}" in out
    assert "a rebuild of the same sources needs about" in out


# --- a read-only folder ----------------------------------------------------------------------------


def test_read_only_folder(fixture_store, fixtures, tmp_path, capsys):
    """build --store onto a read-only folder (empty, or holding a store), export, report -o and
    layer -o into one: one line each, exit 1; the read-only store still answers."""

    def prepare(where: Path) -> None:
        shutil.copytree(fixture_store, where / "store", symlinks=True)
        (where / "empty").mkdir()

    bundle = str(fixtures / "attack" / "small-enterprise-2.1.json")
    with tmpfs(tmp_path / "ro", "4m", read_only=True, prepare=prepare) as ro:
        before = answer(ro / "store")
        for store_dir in (ro / "store", ro / "empty", ro / "new", ro):
            assert main(["build", "--attack", bundle, "--store", str(store_dir), "-q"]) == 1
            line = one_line(capsys.readouterr().err)
            assert line.startswith(f"attack-kg: {store_dir}: ") and "Read-only file system" in line, line
        for argv, target in (
            (["export", str(ro / "x.ttl")], ro / "x.ttl"),
            (["report", "T1204.001", "-o", str(ro / "x.md")], ro / "x.md"),
            (["layer", "--score", "sigma", "-o", str(ro / "x.json")], ro / "x.json"),
        ):
            assert main([*argv, "--store", str(fixture_store)]) == 1
            line = one_line(capsys.readouterr().err)
            assert line.startswith(f"attack-kg: {target}: ") and "Read-only file system" in line, line
        assert answer(ro / "store") == before


# --- debris of killed builds -----------------------------------------------------------------------

# A build killed half-way: a real generation, part written, then filled until less than
# ``needs`` (argv[2]) bytes are free, then SIGKILLed by the test.
KILLED_BUILD = """
import shutil, sys, time
from pathlib import Path
import pyoxigraph as ox
from attackkg.builders.store import new_generation
with new_generation(sys.argv[1]) as store:
    store.bulk_extend(
        ox.Quad(ox.NamedNode(f"urn:x:{i}"), ox.NamedNode("urn:p"), ox.Literal("x" * 200), ox.NamedNode("urn:g"))
        for i in range(5000)
    )
    store.flush()
    newest = max((p for p in Path(sys.argv[1]).iterdir() if p.name.startswith("gen-")), key=lambda p: p.stat().st_mtime)
    left = int(sys.argv[2]) - (1 << 20)
    (newest / "000099.sst").write_bytes(bytes(shutil.disk_usage(sys.argv[1]).free - left))
    print("written", flush=True)
    time.sleep(600)
"""


def test_orphan_generation_on_a_tight_disk_next_build_succeeds(fixtures, tmp_path):
    """A build SIGKILLed half-way leaves its generation; on a disk with room for just one more
    build once that debris is gone, the next build removes it first and succeeds."""
    inputs = fixture_inputs(fixtures)
    pairs = [("attack", inputs["attack_paths"][0]), ("d3fend", inputs["d3fend_path"])]
    pairs += [("sigma", inputs["sigma_paths"][0]), ("atomic", inputs["atomic_path"])]
    needs = estimate_build_bytes(pairs)
    with tmpfs(tmp_path / "disk", f"{(needs >> 20) + 4}m") as disk:
        store_dir = disk / "store"
        build_store(store_dir, **inputs)
        current = current_generation(store_dir).name
        free = shutil.disk_usage(disk).free
        assert free >= needs  # room for one more build ...
        killed = subprocess.Popen(
            [sys.executable, "-c", KILLED_BUILD, str(store_dir), str(needs)],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert killed.stdout.readline().strip() == "written"
        finally:
            killed.kill()
            killed.wait()
        orphans = [name for name in generations(store_dir) if name != current]
        assert len(orphans) == 1
        assert shutil.disk_usage(disk).free < needs  # ... but not beside the debris
        result = run_cli("build", *_flags(inputs), "--store", str(store_dir))
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr
        now = current_generation(store_dir).name
        assert now not in (current, orphans[0])
        assert generations(store_dir) == sorted([current, now])  # the orphan went, the previous stays
        answer(store_dir)


def _flags(inputs: dict) -> list[str]:
    return [
        "--attack", *map(str, inputs["attack_paths"]), "--d3fend", str(inputs["d3fend_path"]),
        "--sigma", *map(str, inputs["sigma_paths"]), "--atomic", str(inputs["atomic_path"]), "-q",
    ]  # fmt: skip


# --- SIGTERM and SIGHUP ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("signum", "when"),
    [(signal.SIGTERM, "writing"), (signal.SIGHUP, "writing"), (signal.SIGTERM, "reading")],
    ids=["SIGTERM-writing", "SIGHUP-writing", "SIGTERM-reading"],
)
def test_signal_mid_build_leaves_nothing_and_prints_one_line(shared_data, fixture_store, tmp_path, signum, when):
    """SIGTERM or SIGHUP while a full build reads its inputs (2 s in; they take about 7 s) or
    writes its generation (ATT&CK and D3FEND only: read in about 3 s, then 400,000 triples
    written): exit 128 + the signal, one line, no orphan generation, the previous store answering
    as before."""
    store_dir = tmp_path / "store"
    shutil.copytree(fixture_store, store_dir, symlinks=True)
    before, kept = answer(store_dir), generations(store_dir)
    inputs = full_build_args(shared_data) if when == "reading" else full_build_args(shared_data)[:4]
    command = [sys.executable, "-c", CLI, "build", *inputs, "--store", str(store_dir), "-q"]
    build = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        if when == "reading":
            time.sleep(2)
        else:
            while len(generations(store_dir)) == len(kept) and time.monotonic() < deadline and build.poll() is None:
                time.sleep(0.02)
            time.sleep(0.5)  # well into writing the new generation
        assert build.poll() is None, "the build ended before the signal"
        # reading: no generation made yet; writing: the new one is being written
        assert len(generations(store_dir)) == len(kept) + (when == "writing")
        build.send_signal(signum)
        _, stderr = build.communicate(timeout=120)
    finally:
        if build.poll() is None:
            build.kill()
            build.wait()
    assert build.returncode == 128 + signum, stderr
    line = one_line(stderr)
    assert line == f"attack-kg: stopped by {signal.Signals(signum).name}; nothing half-written was left"
    assert generations(store_dir) == kept
    assert answer(store_dir) == before


# --- arguments -------------------------------------------------------------------------------------

TEN_MB = "T" * (10 << 20)


@pytest.mark.parametrize(
    ("argv", "reason"),
    [
        (["query", "countermeasures", "--param", "technique="], "empty"),
        (["query", "countermeasures", "--param", "technique=\u04221204.001"], "CYRILLIC CAPITAL LETTER TE"),
        (["query", "detections", "--param", "technique=T\uff11\uff12\uff10\uff14"], "FULLWIDTH DIGIT ONE"),
        (["query", "group-techniques", "--param", "group=G\u200b0016"], "invisible"),
        (["query", "technique", "--param", f"technique={TEN_MB}"], "10,485,760 characters"),
        (["query", "countermeasures", "--param", f"{TEN_MB}=x"], "10,485,760 characters"),
        (["query", TEN_MB], " characters): query failed: File name too long"),
        (["report", ""], "empty"),
        (["report", "\u04221204.001"], "type it in ASCII: T1204.001"),
        (["report", TEN_MB], "10,485,760 characters"),
        (["paths", "T\uff11\uff12\uff10\uff14.001"], "type it in ASCII: T1204.001"),
        (["paths", TEN_MB], "10,485,760 characters"),
        (["cover", "G0016", "\u0422\u04100002"], "type it in ASCII: TA0002"),
        (["cover", ""], "empty"),
        (["layer", "--score", "sigma", "--group", "\uff27\uff10\uff10\uff11\uff16"], "type it in ASCII: G0016"),
        (["layer", "--score", "sigma", "--group", " "], "empty"),
        (["paths", "D3\u2011UA"], "type it in ASCII: D3-UA"),
    ],
)
def test_bad_ids_are_refused_with_the_reason_in_one_short_line(fixture_store, capsys, argv, reason):
    assert main([*argv, "--store", str(fixture_store)]) == 1
    line = one_line(capsys.readouterr().err)
    assert reason in line, line
    assert len(line) < 300, line[:300]


def test_good_ids_and_names_still_work(fixture_store, capsys):
    argv = ["query", "countermeasures", "--param", "technique= T1204.001 ", "--format", "csv"]
    assert main([*argv, "--store", str(fixture_store)]) == 0
    assert len(capsys.readouterr().out.splitlines()) > 1  # rows: the ID was taken, spaces stripped
    assert main(["query", "rules-by-logsource", "--param", "product=", "--store", str(fixture_store)]) == 0
    assert check_identifier(" Process Doppelgänging ") == "Process Doppelgänging"  # a real ATT&CK name
    assert check_identifier("https://attack.mitre.org/techniques/T1204/001") == "https://attack.mitre.org/techniques/T1204/001"


def test_look_alikes_and_quoting():
    assert ascii_look_alike("T1204.001") is None
    assert ascii_look_alike("\u0422\u04100002") == "TA0002"
    assert ascii_look_alike("\uff34\uff11\uff12\uff10\uff14\uff0e\uff10\uff10\uff11") == "T1204.001"
    assert ascii_look_alike("Process Doppelgänging") is None
    assert ascii_look_alike("d3f:URL\u0410nalysis") == "d3f:URLAnalysis"  # a Cyrillic А
    assert quoted("T1204") == "'T1204'"
    shown = quoted("x" * 1000)
    assert shown.startswith("'" + "x" * 80 + "'…") and "(1,000 characters)" in shown
    with pytest.raises(InputError, match="empty"):
        check_identifier("", "TECHNIQUE")
