"""Shared test settings.

Tests that need the real upstream releases find them through one setting, the environment
variable ATTACK_KG_SHARED_DATA (default: ../shared/data beside the checkout). Where it is absent
they skip with that reason; under CI (CI=true) its absence is a failure, since CI always has it.

The full shared data (ATT&CK Enterprise 18.1, D3FEND 1.2.0, every Sigma rule, Atomic Red Team,
CTID's mappings and sensor mappings, MITRE CAR) is built once per session into ``full_store_dir``,
which tests only read; a test that must build (to compare builds, kill one, or build other
releases) makes its own store. That one build serves every xdist worker: the first worker whose
tests need it starts ``attack-kg build`` in a child process as soon as it has collected, into a
folder the controller made (:data:`SESSION_ENV`), and the tests that read it run last, so the
workers run the others meanwhile. The same child then exports the store to N-Quads, from which
``full_memory_store`` loads a copy in memory (once per worker) for the tests that read the full
data through the library: queries read it three times faster than the store on disk.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SHARED_ENV = "ATTACK_KG_SHARED_DATA"


# The full build of the session store, as paths relative to the shared data folder (the build
# runs there, so ``akg:inputPath`` holds these relative paths, as a user's build there would).
FULL_BUILD = [
    "--attack",
    "attack/enterprise-attack-18.1.json.gz",
    "--d3fend",
    "d3fend/1.2.0/d3fend.ttl",
    "--sigma",
    "sigma",
    "--atomic",
    "atomic-red-team",
    "--mappings",
    "ctid/mappings-explorer",
    "--car",
    "car",
    "--sensors",
    "ctid/sensor-mappings",
]
FULL_BUILD_EPOCH = 1767225600  # SOURCE_DATE_EPOCH of the session build: 2026-01-01T00:00:00Z
# The folder of the session build, made by the controller (or the only process) and inherited by
# xdist's workers: ``store/`` (the store), ``build.log``, ``started`` (made by the one process that
# starts the build), ``exit`` (the build's exit code, written when it ends), then ``store.nq`` (the
# store's N-Quads export, for the in-memory copy) and ``exported`` (the export's exit code).
SESSION_ENV = "ATTACK_KG_TEST_SESSION"
# The build in a child process: the CLI, then its exit code written where the fixture waits for it;
# then ``attack-kg export`` of the store, the same way. Arguments: the folder, the build's argv.
SESSION_BUILD = """
import os, sys
from pathlib import Path
from attackkg.queries.cli import main

def run(argv, marker):
    code = 1
    try:
        code = main(argv)
    finally:  # whole or not at all: a reader never sees it half written
        marker.with_suffix(".part").write_text(str(code))
        os.replace(marker.with_suffix(".part"), marker)
    return code

folder = Path(sys.argv[1])
if run(sys.argv[2:], folder / "exit") == 0:
    run(["export", str(folder / "store.nq"), "--store", str(folder / "store")], folder / "exported")
"""


def shared_data_dir() -> Path:
    return Path(os.environ.get(SHARED_ENV, ROOT.parent / "shared" / "data")).resolve()


def missing_shared_data(reason: str) -> None:
    """Skip for want of the shared data, or fail under CI (CI=true), which always has it."""
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real upstream releases (../shared/data), or a skip saying how to point at them."""
    path = shared_data_dir()
    if not (path / "attack").is_dir():
        missing_shared_data(
            f"shared data not found at {path} (set {SHARED_ENV} to the folder holding attack/, d3fend/, sigma/)"
        )
    return path


def pytest_configure(config: pytest.Config) -> None:
    """The controller (or the only process) makes the session build's folder; workers inherit it."""
    if not hasattr(config, "workerinput") and SESSION_ENV not in os.environ:
        os.environ[SESSION_ENV] = tempfile.mkdtemp(prefix="attack-kg-session-")
        config.add_cleanup(_remove_session_build)


def _remove_session_build() -> None:
    folder = Path(os.environ.pop(SESSION_ENV))
    started = folder / "started"
    pid = started.read_text() if started.exists() else ""
    if pid.isdigit() and int(pid) > 1 and not (folder / "exported").exists():  # the session ended before the child
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(pid), signal.SIGTERM)
    shutil.rmtree(folder, ignore_errors=True)


def pytest_itemcollected(item: pytest.Item) -> None:
    """Every test that reads the full shared data (the ``shared_data`` fixture, directly or through
    another fixture such as ``full_store_dir``) is marked ``slow``; others are marked by hand."""
    if "shared_data" in getattr(item, "fixturenames", ()):
        item.add_marker(pytest.mark.slow)


@pytest.hookimpl(trylast=True)  # after -m and -k took out what will not run
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The files whose tests read the session's full store run last (their order kept), and the
    session build starts now, in the background, if any test that will run needs it."""
    needs_store = {item.path for item in items if "full_store_dir" in getattr(item, "fixturenames", ())}
    items.sort(key=lambda item: item.path in needs_store)
    if needs_store and (shared_data_dir() / "attack").is_dir():
        _start_session_build(Path(os.environ[SESSION_ENV]))


def _start_session_build(folder: Path) -> None:
    """``attack-kg build FULL_BUILD`` in a child process, started by the first process to get here."""
    try:
        started = os.open(folder / "started", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return  # another worker started it
    env = dict(os.environ, SOURCE_DATE_EPOCH=str(FULL_BUILD_EPOCH))
    argv = ["build", *FULL_BUILD, "--store", str(folder / "store"), "-q"]
    with (folder / "build.log").open("wb") as log:
        child = subprocess.Popen(
            [sys.executable, "-c", SESSION_BUILD, str(folder), *argv],
            cwd=shared_data_dir(),
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    os.write(started, str(child.pid).encode())
    os.close(started)


def _store_files(store_dir: Path) -> dict[str, tuple[int, int]]:
    """Every file of a store folder: size and modification time (what a writer would change)."""
    return {
        str(path.relative_to(store_dir)): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in sorted(store_dir.rglob("*"))
        if path.is_file() and not path.is_symlink()
    }


@pytest.fixture(scope="session")
def full_store_dir(shared_data) -> Iterator[Path]:
    """The store folder of the full shared data (FULL_BUILD), built once per session by
    ``attack-kg build`` in a child process (run in the shared data folder, so ``akg:inputPath``
    holds the relative paths); read-only for tests (checked when the session ends)."""
    from attackkg.builders.store import current_generation

    folder = Path(os.environ[SESSION_ENV])
    _start_session_build(folder)  # not yet started: a test selected after collection
    _wait_for_exit(folder, "exit", "build")
    store_dir = folder / "store"
    generation, files = current_generation(store_dir), _store_files(store_dir)
    yield store_dir
    assert current_generation(store_dir) == generation, "a test rebuilt the session's full store"
    assert _store_files(store_dir) == files, "a test wrote into the session's full store"


def _wait_for_exit(folder: Path, marker: str, what: str) -> None:
    """Wait for the session child's ``marker`` file; fail with the log's end unless it says 0."""
    deadline = time.monotonic() + 600
    while not (folder / marker).exists():
        if time.monotonic() > deadline:
            pytest.fail(f"the session {what} did not end in 10 minutes: {folder / 'build.log'}")
        time.sleep(0.2)
    log = (folder / "build.log").read_text(errors="replace")
    assert (folder / marker).read_text() == "0", f"the session {what} failed:\n{log[-2000:]}"


@pytest.fixture(scope="session")
def full_memory_store(full_store_dir) -> ox.Store:
    """The session's full store, copied into memory (an in-memory pyoxigraph Store) from its
    N-Quads export (``attack-kg export``, in the session build's child, once per session): the same
    quads, which queries read three times faster than the on-disk store and iteration twelve times
    (measured on the full build). One per worker, for tests that read through the library;
    what the command line reads is tested on ``full_store_dir``."""
    from attackkg.builders.store import open_store

    folder = Path(os.environ[SESSION_ENV])
    _wait_for_exit(folder, "exported", "export")
    store = ox.Store()
    store.bulk_load(path=str(folder / "store.nq"), format=ox.RdfFormat.N_QUADS)
    assert len(store) == len(open_store(full_store_dir)) > 600_000
    return store


@pytest.fixture(scope="session")
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture(scope="session")
def fixture_store(tmp_path_factory, fixtures) -> Path:
    """A store folder built from the fixtures: the ATT&CK cut (STIX 2.1), the D3FEND 1.2.0 cut,
    the Sigma miniature repository, the Atomic Red Team fixtures, three CTID mapping files and three CAR analytics.
    Read-only for tests."""
    from attackkg.builders.build import build_store

    store_dir = tmp_path_factory.mktemp("fixture-store") / "store"
    build_store(
        store_dir,
        attack_paths=[fixtures / "attack" / "small-enterprise-2.1.json"],
        d3fend_path=fixtures / "d3fend" / "source-form-1.2.0" / "d3fend.ttl",
        sigma_paths=[fixtures / "sigma" / "repo"],
        atomic_path=fixtures / "atomic",
        mappings_paths=[fixtures / "mappings" / name for name in ("nist_800_53-rev5.json", "aws.json", "kev.json")],
        car_path=fixtures / "car",
    )
    return store_dir


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _missing(reason: str) -> None:
    """A server the tests need is not installed: a failure under CI (CI=true), else a skip."""
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def _wait_for(url: str, process: subprocess.Popen, seconds: float) -> bool:
    """Whether ``url`` answers 200 before ``process`` exits or ``seconds`` pass."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return True
        except OSError:
            time.sleep(0.2)
    return False


def _stop(process: subprocess.Popen, seconds: float = 10) -> None:
    process.terminate()
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def oxigraph_binary() -> str:
    return shutil.which("oxigraph") or str(Path(sys.executable).with_name("oxigraph"))


def start_oxigraph(root: Path, data: Path | None = None) -> tuple[subprocess.Popen, str]:
    """``oxigraph serve`` on a free 127.0.0.1 port over the database folder ``data`` (default
    ``root/data``), logging to ``root/server.log``; the process and its base URL."""
    data = data or root / "data"
    for _attempt in range(3):  # another process may take the free port before the server binds it
        port = _free_port()
        with (root / "server.log").open("ab") as log:
            command = [oxigraph_binary(), "serve", "--location", str(data), "--bind", f"127.0.0.1:{port}"]
            server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        if _wait_for(f"{url}/query", server, 30):
            return server, url
        server.kill()
        server.wait()
    pytest.fail(f"oxigraph serve did not start: {(root / 'server.log').read_text(errors='replace')[-500:]}")


@pytest.fixture(scope="session")
def oxigraph_server(tmp_path_factory) -> Iterator[str]:
    """``oxigraph serve`` (PyPI package oxigraph) on a free 127.0.0.1 port with an empty store;
    yields its base URL (queries at /query, Graph Store at /store), terminated at teardown."""
    if not Path(oxigraph_binary()).exists():
        _missing("the oxigraph server is not installed (pip install oxigraph, in the test extra)")
    server, url = start_oxigraph(tmp_path_factory.mktemp("oxigraph-server"))
    try:
        yield url
    finally:
        _stop(server)


# StopCompilerWhenXOverRunTime and MaxOptimizeLayouts: Virtuoso stops searching for a plan once the
# search outlasts the query (the named queries compile in well under a second instead of 1-2 s; README).
VIRTUOSO_INI = """\
[Database]
DatabaseFile = {root}/virtuoso.db
ErrorLogFile = {root}/virtuoso.log
LockFile = {root}/virtuoso.lck
TransactionFile = {root}/virtuoso.trx
xa_persistent_file = {root}/virtuoso.pxa
TempStorage = TempDatabase

[TempDatabase]
DatabaseFile = {root}/virtuoso-temp.db
TransactionFile = {root}/virtuoso-temp.trx

[Parameters]
ServerPort = 127.0.0.1:{sql_port}
DisableUnixSocket = 1
NumberOfBuffers = 10000
MaxDirtyBuffers = 6000
DirsAllowed = .
StopCompilerWhenXOverRunTime = 1
MaxOptimizeLayouts = 1

[HTTPServer]
ServerPort = 127.0.0.1:{http_port}
ServerRoot = {root}
ServerThreads = 4
MaxClientConnections = 4

[SPARQL]
ResultSetMaxRows = 1000000
MaxQueryExecutionTime = 300
"""

# Lets anonymous SPARQL requests update (the Graph Store and SPARQL Update), as DESIGN.md measured.
VIRTUOSO_GRANTS = "GRANT SPARQL_UPDATE TO \"SPARQL\"; DB.DBA.RDF_DEFAULT_USER_PERMS_SET ('nobody', 7);"


@pytest.fixture(scope="session")
def virtuoso_server(tmp_path_factory) -> Iterator[str]:
    """OpenLink Virtuoso (Debian ``virtuoso-opensource``) with a database of its own in a temporary
    folder, on free 127.0.0.1 ports; yields its base URL (queries at /sparql, Graph Store at
    /sparql-graph-crud), stopped at teardown. Skips when not installed, fails under CI."""
    binary, isql = shutil.which("virtuoso-t"), shutil.which("isql-vt")
    if not binary or not isql:
        _missing("Virtuoso is not installed (apt-get install virtuoso-opensource)")
    root = tmp_path_factory.mktemp("virtuoso-server")
    for _attempt in range(3):
        sql_port, http_port = _free_port(), _free_port()
        ini = root / "virtuoso.ini"
        ini.write_text(VIRTUOSO_INI.format(root=root, sql_port=sql_port, http_port=http_port), encoding="utf-8")
        with (root / "server.log").open("ab") as log:
            command = [binary, "+foreground", "+configfile", str(ini)]
            server = subprocess.Popen(command, cwd=root, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{http_port}"
        if _wait_for(f"{url}/sparql?query=ASK%7B%7D", server, 120):
            break
        _stop(server, 30)
    else:
        pytest.fail(f"virtuoso-t did not start: {(root / 'server.log').read_text(errors='replace')[-500:]}")
    try:
        granted = subprocess.run(
            [isql, str(sql_port), "dba", "dba", f"exec={VIRTUOSO_GRANTS}"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        if granted.returncode != 0 or "Error" in granted.stdout + granted.stderr:
            pytest.fail(f"isql-vt could not grant SPARQL updates: {granted.stdout[-300:]} {granted.stderr[-300:]}")
        yield url
    finally:
        _stop(server, 60)


@dataclass(frozen=True)
class SparqlServer:
    """A real SPARQL server under test: its URLs and the CLI flags that name it."""

    name: str
    query_url: str
    store_url: str
    update_url: str

    @property
    def query_args(self) -> list[str]:
        return ["--query-url", self.query_url]

    @property
    def publish_args(self) -> list[str]:
        return [*self.query_args, "--store-url", self.store_url, "--update-url", self.update_url]

    def endpoint(self, **options):
        from attackkg.queries.endpoint import endpoint

        return endpoint(query_url=self.query_url, store_url=self.store_url, update_url=self.update_url, **options)


@pytest.fixture(scope="session", params=["oxigraph", "virtuoso"])
def sparql_server(request) -> SparqlServer:
    """Each real SPARQL server in turn: ``oxigraph serve`` and OpenLink Virtuoso."""
    if request.param == "oxigraph":
        url = request.getfixturevalue("oxigraph_server")
        return SparqlServer("oxigraph", f"{url}/query", f"{url}/store", f"{url}/update")
    url = request.getfixturevalue("virtuoso_server")
    return SparqlServer("virtuoso", f"{url}/sparql", f"{url}/sparql-graph-crud", f"{url}/sparql")
