"""The ATT&CK release table: shipped as MITRE lists it, every listed version fetchable and checked.

Hash checks use synthetic files whose SHA-256 a test table carries (the real shared bundles are
gzip'd re-assemblies and match no upstream hash), served from 127.0.0.1 as test_sources does.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from test_sources import Server

from attackkg.builders import releases, sources
from attackkg.builders.base import InputError
from attackkg.builders.sources import SourceError
from attackkg.queries.cli import main

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "attack" / "small-enterprise-2.1.json"


def test_the_shipped_table_is_the_shared_one_unchanged(shared_data):
    shipped = (Path(releases.__file__).parent / releases.TABLE_FILE).read_bytes()
    assert shipped == (shared_data / "attack" / "release-sha256.tsv").read_bytes()


def test_the_table_lists_every_domain_and_the_newest_is_20():
    rows = releases.table()
    assert len(rows) == len(set(rows)) > 200
    assert {r.domain for r in rows} == {"enterprise", "mobile", "ics", "pre"}
    assert releases.newest("enterprise") == releases.newest("mobile") == releases.newest("ics") == "20.0"
    assert {"18.1", "19.0", "19.1", "19.2", "20.0"} <= set(releases.versions("enterprise"))
    # STIX 2.0 (mitre/cti) and 2.1 (attack-stix-data) files differ, so do their hashes.
    assert releases.expected_sha256("enterprise", "19.1") != releases.expected_sha256("enterprise", "19.1", "STIX20")
    assert releases.versions("enterprise").index("9.0") < releases.versions("enterprise").index("10.0")


def test_an_unlisted_version_lists_the_known_ones():
    with pytest.raises(InputError) as raised:
        sources.select(sources.load_pins(), attack_version="18.7")
    message = str(raised.value)
    assert "18.7 is not a published release" in message
    assert "18.0, 18.1, 19.0, 19.1, 19.2, 20.0" in message and "\n" not in message


def test_cli_unlisted_version_is_one_line_exit_1(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv(sources.CACHE_ENV, str(tmp_path / "cache"))
    assert main(["build", "--attack-version", "21.0", "--offline", "--store", str(tmp_path / "store")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "21.0 is not a published release" in err[0] and "20.0" in err[0]
    assert not (tmp_path / "store").exists()


def test_wrong_bytes_for_a_listed_version_are_refused_in_one_line(tmp_path, capsys, monkeypatch):
    """The acceptance case: --attack-version 19.1 with a local file that is not MITRE's 19.1."""
    monkeypatch.setenv(sources.CACHE_ENV, str(tmp_path / "cache"))
    store = tmp_path / "store"
    argv = ["build", "--attack-version", "19.1", "--source", f"attack-enterprise={FIXTURE}", "--store", str(store)]
    assert main([*argv, "--offline"]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    actual = hashlib.sha256(FIXTURE.read_bytes()).hexdigest()
    assert len(lines) == 1, lines
    assert f"expected {releases.expected_sha256('enterprise', '19.1')}, got {actual}" in lines[0]
    assert not store.exists()


@pytest.fixture
def test_table(monkeypatch) -> dict[str, bytes]:
    """Two synthetic Enterprise 'releases'; the table lists 19.1's true hash and a wrong one for 19.0."""
    files = {"19.1": b'{"type": "bundle", "objects": []}\n', "19.0": b'{"type": "bundle", "id": "x", "objects": []}\n'}
    rows = (
        releases.Release("STIX21", "enterprise", "19.1", hashlib.sha256(files["19.1"]).hexdigest()),
        releases.Release("STIX21", "enterprise", "19.0", "0" * 64),
    )
    monkeypatch.setattr(releases, "table", lambda: rows)
    return files


def test_a_listed_version_is_downloaded_and_verified_by_the_table(tmp_path, test_table, monkeypatch):
    monkeypatch.setenv(sources.CACHE_ENV, str(tmp_path / "cache"))
    (source,) = [s for s in sources.select(sources.load_pins(), attack_version="19.1") if s.kind == "attack"]
    assert source.sha256 == hashlib.sha256(test_table["19.1"]).hexdigest()
    server = Server()
    try:
        server.serve(source, test_table["19.1"])
        fetched = sources.fetch(source, mirror=server.url)
    finally:
        server.close()
    assert fetched.verified and fetched.how == "downloaded"
    assert fetched.path.read_bytes() == test_table["19.1"]
    record = json.loads(fetched.path.with_name(fetched.path.name + ".json").read_text())
    assert record["verified"] is True


def test_a_download_whose_hash_differs_from_the_table_caches_nothing(tmp_path, test_table, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv(sources.CACHE_ENV, str(cache))
    (source,) = [s for s in sources.select(sources.load_pins(), attack_version="19.0") if s.kind == "attack"]
    server = Server()
    try:
        server.serve(source, test_table["19.0"])
        with pytest.raises(SourceError) as raised:
            sources.fetch(source, mirror=server.url)
    finally:
        server.close()
    actual = hashlib.sha256(test_table["19.0"]).hexdigest()
    assert f"expected {'0' * 64}, got {actual}" in str(raised.value)
    assert not [p for p in cache.rglob("*") if p.is_file()]


def test_first_release_of_the_v19_ids_and_tactics():
    assert releases.first_release("T1685") == releases.first_release("T1690") == "19.0"
    assert releases.first_release("T1685.001") == "19.0"
    assert releases.first_release("stealth") == releases.first_release("defense-impairment") == "19.0"
    assert releases.first_release("T1204") is None


def test_info_releases_lists_what_can_be_fetched(capsys):
    assert main(["info", "--releases"]) == 0
    lines = capsys.readouterr().out.splitlines()
    enterprise = next(line for line in lines if line.startswith("enterprise STIX21"))
    assert "(newest 20.0)" in enterprise and "18.1, 19.0, 19.1, 19.2, 20.0" in enterprise
    assert any(line.startswith("ics STIX20") for line in lines)
    assert main(["info", "--releases", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert {(row["domain"], row["format"]) for row in listing} >= {("enterprise", "STIX21"), ("mobile", "STIX20")}
