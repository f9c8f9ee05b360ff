"""Shared test settings.

Tests that need the real upstream releases find them through one setting, the environment
variable ATTACK_KG_SHARED_DATA (default: ../shared/data beside the checkout). Where it is absent
they skip with that reason; under CI (CI=true) its absence is a failure, since CI always has it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SHARED_ENV = "ATTACK_KG_SHARED_DATA"


def shared_data_dir() -> Path:
    return Path(os.environ.get(SHARED_ENV, ROOT.parent / "shared" / "data")).resolve()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real upstream releases (../shared/data), or a skip saying how to point at them."""
    path = shared_data_dir()
    if not (path / "attack").is_dir():
        reason = f"shared data not found at {path} (set {SHARED_ENV} to the folder holding attack/, d3fend/, sigma/)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return path


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


@pytest.fixture(scope="session")
def oxigraph_server(tmp_path_factory) -> Iterator[str]:
    """``oxigraph serve`` (PyPI package oxigraph) on a free 127.0.0.1 port with an empty store;
    yields its base URL (queries at /query, Graph Store at /store), terminated at teardown."""
    binary = shutil.which("oxigraph") or str(Path(sys.executable).with_name("oxigraph"))
    if not Path(binary).exists():
        reason = "the oxigraph server is not installed (pip install oxigraph, in the test extra)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    root = tmp_path_factory.mktemp("oxigraph-server")
    for _attempt in range(3):  # another process may take the free port before the server binds it
        port = _free_port()
        log = (root / "server.log").open("wb")
        command = [binary, "serve", "--location", str(root / "data"), "--bind", f"127.0.0.1:{port}"]
        server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        ready, deadline = False, time.monotonic() + 30
        while not ready and time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(f"{url}/query", timeout=2) as answer:
                    ready = answer.status == 200
            except OSError:
                time.sleep(0.1)
        if ready:
            break
        server.kill()
        server.wait()
        log.close()
    else:
        pytest.fail(f"oxigraph serve did not start: {(root / 'server.log').read_text(errors='replace')[-500:]}")
    try:
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
