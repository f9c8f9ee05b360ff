"""Pinned downloads against a real HTTP server on 127.0.0.1 (no mock of the client).

The server serves release files made from the test fixtures at the paths the upstream hosts use,
below ``/<host>/``, as a mirror does; ``$ATTACK_KG_MIRROR`` points the downloads at it.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import threading
import urllib.parse
import zipfile
from collections import Counter
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pyoxigraph as ox
import pytest

from attackkg.builders import releases as release_table
from attackkg.builders import sources
from attackkg.builders.base import InputError
from attackkg.builders.sources import SourceError
from attackkg.builders.store import current_generation, open_store
from attackkg.queries.cli import main

FIXTURES = Path(__file__).resolve().parent / "fixtures"
ATTACK_21 = FIXTURES / "attack" / "small-enterprise-2.1.json"
D3FEND = FIXTURES / "sources" / "d3fend.ttl"
SIGMA_REPO = FIXTURES / "sigma" / "repo"
ATOMIC = FIXTURES / "atomic"
CAR = FIXTURES / "car"
MAPPING = FIXTURES / "mappings" / "nist_800_53-rev5.json"
DEFAULT_KEYS = ["attack-enterprise", "d3fend", "sigma", "atomic"]
# issue 13: one pin per CTID mapping file (enterprise ones by default), and CAR
DEFAULT_KEYS += [s.key for s in sources.load_pins() if s.kind == "mappings" and s.default] + ["car"]


# --- release files made from the fixtures ------------------------------------------------------


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in sorted(members.items()):
            archive.writestr(zipfile.ZipInfo(name, date_time=(2026, 7, 1, 0, 0, 0)), data)
    return buffer.getvalue()


@pytest.fixture(scope="session")
def releases() -> dict[str, bytes]:
    """One release file per source kind, as upstream ships it (a zip for Sigma and Atomic)."""
    sigma = {p.relative_to(SIGMA_REPO).as_posix(): p.read_bytes() for p in SIGMA_REPO.rglob("*.yml")}
    atomic = {
        f"atomic-red-team-9f85cf3e/{p.relative_to(ATOMIC).as_posix()}": p.read_bytes()
        for p in (ATOMIC / "atomics").rglob("*.yaml")
    }
    car = {f"car-1b922fe/{p.relative_to(CAR).as_posix()}": p.read_bytes() for p in CAR.glob("*/*.yaml")}
    found = {
        "attack": ATTACK_21.read_bytes(),
        "d3fend": D3FEND.read_bytes(),
        "sigma": _zip(sigma),
        "atomic": _zip(atomic),
        "car": _zip(car),
    }
    # A mapping file per mapping pin: the NIST fixture, its framework version made the pin's key
    # (so that each is its own graph) and its domain the pin's.
    for source in sources.load_pins():
        if source.kind == "mappings":
            document = json.loads(MAPPING.read_text(encoding="utf-8"))
            document["metadata"].update(mapping_framework_version=source.key, technology_domain=source.domain)
            found[source.key] = json.dumps(document).encode()
    return found


def release_of(releases: dict[str, bytes], source: sources.Source) -> bytes:
    """The release file served for a pin: its own (a mapping file), else its kind's."""
    return releases.get(source.key) or releases[source.kind]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- the server ---------------------------------------------------------------------------------


@dataclass
class Route:
    body: bytes
    status: int = 200
    length: int | None = None  # Content-Length to claim (a truncated transfer claims more)
    send_length: bool = True  # False: no Content-Length, the body ends when the connection closes


class Server:
    """Files by URL path; counts every request."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: Counter = Counter()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = urllib.parse.unquote(self.path)
                server.hits[path] += 1
                route = server.routes.get(path)
                if route is None:
                    self.send_error(404)
                    return
                if route.status != 200:
                    self.send_error(route.status)
                    return
                self.send_response(200)
                if route.send_length:
                    self.send_header("Content-Length", str(route.length or len(route.body)))
                self.end_headers()
                self.wfile.write(route.body)

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        # a poll of 0.05 s: shutdown() waits for one (the default, 0.5 s, was idle time in every test)
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def requests(self) -> int:
        return sum(self.hits.values())

    def path_of(self, source: sources.Source) -> str:
        return urllib.parse.urlsplit(sources.location(source, self.url)).path

    def serve(self, source: sources.Source, body: bytes, **route) -> None:
        self.routes[self.path_of(source)] = Route(body, **route)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def fixture_attack_pins(monkeypatch, releases):
    """Package pins whose ATT&CK (and CTID mapping) SHA-256 is the fixture's: the real pins carry
    MITRE's hashes of the real 20.0 files (builders/attack-releases.tsv) and those of the real
    mapping files, which no fixture has."""
    package_pins = sources.load_pins

    def pins(path=None):
        loaded = package_pins(path)
        if path is not None:
            return loaded
        return [replace(s, sha256=sha(release_of(releases, s))) if s.kind in ("attack", "mappings") else s for s in loaded]

    monkeypatch.setattr(sources, "load_pins", pins)


@pytest.fixture
def server(fixture_attack_pins):
    running = Server()
    yield running
    running.close()


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch) -> Path:
    """Every test has its own empty cache, and no mirror unless it sets one."""
    path = tmp_path / "cache"
    monkeypatch.setenv(sources.CACHE_ENV, str(path))
    monkeypatch.delenv(sources.MIRROR_ENV, raising=False)
    return path


def pinned(key: str) -> sources.Source:
    return next(s for s in sources.load_pins() if s.key == key)


def served_pins(server: Server, releases: dict[str, bytes]) -> list[sources.Source]:
    """The package's default pins, each served by ``server`` from the fixtures."""
    chosen = sources.select(sources.load_pins())
    for source in chosen:
        server.serve(source, release_of(releases, source))
    return chosen


def write_lock(path: Path, server: Server, releases: dict[str, bytes], **changes: dict) -> Path:
    """A lock file for the default pins with the fixtures' SHA-256 (``changes``: per key overrides)."""
    entries = {}
    for source in served_pins(server, releases):
        entry = {"kind": source.kind, "version": source.version, "url": source.url, "file": source.file}
        entry["sha256"] = sha(release_of(releases, source))
        entry.update(changes.get(source.key, {}))
        entries[source.key] = entry
    path.write_text(json.dumps({"format": 1, "sources": entries}), encoding="utf-8")
    return path


def files_under(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


# --- pins ----------------------------------------------------------------------------------------


def test_the_pins_name_each_upstream_release_and_no_invented_hash():
    pins = {s.key: s for s in sources.load_pins()}
    assert [s.key for s in sources.select(list(pins.values()))] == DEFAULT_KEYS
    assert pins["attack-enterprise"].url == (
        "https://raw.githubusercontent.com/mitre-attack/attack-stix-data/master/enterprise-attack/enterprise-attack-20.0.json"
    )
    assert pins["attack-mobile"].url.endswith("/mobile-attack/mobile-attack-20.0.json")
    assert pins["attack-ics"].url.endswith("/ics-attack/ics-attack-20.0.json")
    assert pins["d3fend"].url == "https://d3fend.mitre.org/ontologies/d3fend/1.3.0/d3fend.ttl"
    assert pins["sigma"].url.startswith("https://github.com/SigmaHQ/sigma/releases/download/r")
    assert pins["sigma"].url.endswith("/sigma_all_rules.zip")
    assert pins["atomic"].url.startswith("https://github.com/redcanaryco/atomic-red-team/archive/")
    # ATT&CK pins carry MITRE's own SHA-256 (the release table), the CTID mapping files that of
    # the shared data's unchanged copy; the others are trusted on first use.
    shared = Path(__file__).resolve().parents[2] / "shared" / "data" / "ctid" / "mappings-explorer"
    for source in pins.values():
        if source.kind == "attack":
            assert source.version == release_table.newest(source.domain)
            assert source.sha256 == release_table.expected_sha256(source.domain, source.version)
        elif source.kind == "mappings":
            relative = source.url.split(f"/mappings-explorer/{source.version}/", 1)[1]
            if (shared / relative).is_file():
                assert source.sha256 == hashlib.sha256((shared / relative).read_bytes()).hexdigest()
            assert source.sha256 and source.domain in source.url
        else:
            assert source.sha256 is None
    assert pins["car"].url == "https://github.com/mitre-attack/car/archive/1b922fe.zip"
    # The cache file names keep the release where the builders read it.
    assert pins["sigma"].file == f"sigma_all_rules-{pins['sigma'].version}.zip"


def test_domains_and_attack_version_choose_what_is_fetched():
    pins = sources.load_pins()
    keys = [s.key for s in sources.select(pins, domains=["mobile", "ics"])]
    mobile_ics = [s.key for s in pins if s.kind == "mappings" and s.domain in ("mobile", "ics")]
    assert keys == ["attack-mobile", "attack-ics", "d3fend", "sigma", "atomic", *mobile_ics, "car"]
    assert len(mobile_ics) == 3
    assert [s.key for s in sources.select(pins, domains=["all"]) if s.kind == "attack"] == [
        "attack-enterprise",
        "attack-mobile",
        "attack-ics",
    ]
    (enterprise,) = (s for s in sources.select(pins, attack_version="18.0") if s.kind == "attack")
    assert enterprise.url.endswith("/enterprise-attack/enterprise-attack-18.0.json")
    assert enterprise.version == "18.0" and enterprise.file == "enterprise-attack-18.0.json"
    assert enterprise.sha256 == release_table.expected_sha256("enterprise", "18.0")
    with pytest.raises(InputError, match="ATT&CK release"):
        sources.select(pins, attack_version="latest")


def test_a_pin_for_one_version_does_not_vouch_for_another(tmp_path, server, releases):
    lock = write_lock(tmp_path / "lock.json", server, releases)
    (enterprise,) = (s for s in sources.select(sources.load_pins(lock), attack_version="17.1") if s.kind == "attack")
    assert enterprise.sha256 == release_table.expected_sha256("enterprise", "17.1")
    assert enterprise.sha256 != sha(releases["attack"])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"sources": []}', 'no "sources" object'),
        ('{"sources": {"x": {"kind": "cve", "version": "1", "url": "https://h/x"}}}', '"kind" is'),
        ('{"sources": {"x": {"kind": "sigma", "version": "1", "url": "https://h/x", "sha256": "abc"}}}', "64 hex"),
    ],
)
def test_a_bad_lock_file_is_one_clear_error(tmp_path, text, message):
    path = tmp_path / "bad.lock.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=message) as error:
        sources.load_pins(path)
    assert str(error.value).startswith(str(path))


def test_source_overrides_are_checked():
    pins = sources.load_pins()
    with pytest.raises(InputError, match="no such source; the sources are"):
        sources.select(pins, overrides={"sigmahq": "/tmp/x.zip"})
    with pytest.raises(InputError, match="KEY=URL_OR_PATH"):
        sources.parse_overrides(["sigma"])


def test_mirror_maps_upstream_hosts_to_host_folders(tmp_path):
    d3fend = pinned("d3fend")
    assert sources.location(d3fend, "http://mirror.lab/base/") == (
        "http://mirror.lab/base/d3fend.mitre.org/ontologies/d3fend/1.3.0/d3fend.ttl"
    )
    assert sources.location(d3fend, str(tmp_path)) == tmp_path / "d3fend.mitre.org/ontologies/d3fend/1.3.0/d3fend.ttl"
    assert sources.location(d3fend, None) == d3fend.url


# --- downloads -----------------------------------------------------------------------------------


def test_download_is_verified_then_installed_in_the_cache(tmp_path, server, releases, cache):
    lock = write_lock(tmp_path / "lock.json", server, releases)
    source = next(s for s in sources.load_pins(lock) if s.key == "sigma")
    meter = io.StringIO()
    fetched = sources.fetch(source, mirror=server.url, meter=meter)
    assert fetched.how == "downloaded" and fetched.verified
    assert fetched.path == cache / "sigma" / source.version / source.file
    assert fetched.path.read_bytes() == releases["sigma"]
    assert fetched.sha256 == sha(releases["sigma"])
    record = json.loads(fetched.path.with_name(source.file + ".json").read_text())
    assert record["sha256"] == fetched.sha256 and record["url"] == sources.location(source, server.url)
    assert files_under(cache) == [f"sigma/{source.version}/{source.file}", f"sigma/{source.version}/{source.file}.json"]
    assert "done" in meter.getvalue()


def test_second_fetch_is_a_cache_hit(tmp_path, server, releases):
    lock = write_lock(tmp_path / "lock.json", server, releases)
    source = next(s for s in sources.load_pins(lock) if s.key == "attack-enterprise")
    first = sources.fetch(source, mirror=server.url)
    second = sources.fetch(source, mirror=server.url)
    assert (first.how, second.how) == ("downloaded", "cached")
    assert server.requests == 1
    assert second.path == first.path and second.sha256 == first.sha256


def test_an_unpinned_cached_file_is_reused_only_from_the_same_url(server, releases):
    source = pinned("d3fend")  # sha256 null in pins.json
    server.serve(source, releases["d3fend"])
    first = sources.fetch(source, mirror=server.url)
    assert first.how == "downloaded" and not first.verified
    assert sources.fetch(source, mirror=server.url).how == "cached"
    assert server.requests == 1
    elsewhere = replace(source, url=server.url + "other/d3fend.ttl")
    server.routes["/other/d3fend.ttl"] = Route(releases["d3fend"])
    assert sources.fetch(elsewhere).how == "downloaded"  # another URL, nothing to vouch it is the same file
    assert server.requests == 2


def test_a_cached_file_that_no_longer_matches_its_pin_is_fetched_again(tmp_path, server, releases):
    lock = write_lock(tmp_path / "lock.json", server, releases)
    source = next(s for s in sources.load_pins(lock) if s.key == "d3fend")
    path = sources.fetch(source, mirror=server.url).path
    path.write_bytes(b"# damaged\n")
    with pytest.raises(SourceError, match="cached file does not match the pin"):
        sources.fetch(source, mirror=server.url, offline=True)
    again = sources.fetch(source, mirror=server.url)
    assert again.how == "downloaded" and path.read_bytes() == releases["d3fend"]
    assert server.requests == 2


def test_hash_mismatch_names_source_url_expected_and_actual(tmp_path, server, releases, cache):
    wrong = sha(b"not the release")
    lock = write_lock(tmp_path / "lock.json", server, releases, sigma={"sha256": wrong})
    source = next(s for s in sources.load_pins(lock) if s.key == "sigma")
    with pytest.raises(SourceError) as error:
        sources.fetch(source, mirror=server.url)
    message = str(error.value)
    url = sources.location(source, server.url)
    assert message == f"sigma: {url}: SHA-256 mismatch: expected {wrong}, got {sha(releases['sigma'])}"
    assert files_under(cache) == []  # nothing installed, no partial file left


def test_hash_mismatch_in_a_build_leaves_the_previous_store(tmp_path, server, releases, monkeypatch, capsys):
    store = tmp_path / "store"
    assert main(["build", "--attack", str(ATTACK_21), "--store", str(store), "-q"]) == 0
    before = current_generation(store)
    wrong = sha(b"tampered")
    lock = write_lock(tmp_path / "lock.json", server, releases, d3fend={"sha256": wrong})
    monkeypatch.setenv(sources.MIRROR_ENV, server.url)
    capsys.readouterr()
    assert main(["build", "--lock", str(lock), "--store", str(store)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("attack-kg: d3fend: http://127.0.0.1:")
    assert f"expected {wrong}, got {sha(releases['d3fend'])}" in err[0]
    assert current_generation(store) == before
    assert [g for g in store.iterdir() if g.name.startswith("gen-")] == [before]


@pytest.mark.parametrize(("status", "shown"), [(500, "HTTP 500 Internal Server Error"), (404, "HTTP 404 Not Found")])
def test_server_error_is_one_line_and_caches_nothing(server, releases, cache, status, shown):
    source = pinned("attack-enterprise")
    server.serve(source, releases["attack"], status=status)
    with pytest.raises(SourceError) as error:
        sources.fetch(source, mirror=server.url)
    assert str(error.value) == f"attack-enterprise: {sources.location(source, server.url)}: {shown}"
    assert files_under(cache) == []


def test_truncated_transfer_is_refused(server, releases, cache):
    source = pinned("sigma")
    body = releases["sigma"]
    server.serve(source, body, length=len(body) + 4096)
    with pytest.raises(SourceError, match=f"transfer cut short: received {len(body)} of {len(body) + 4096} bytes"):
        sources.fetch(source, mirror=server.url)
    assert files_under(cache) == []


def test_a_download_over_the_size_limit_is_cut_off(server, releases, cache, monkeypatch):
    monkeypatch.setattr(sources, "MAX_DOWNLOAD", 1000)
    source = pinned("sigma")
    server.serve(source, releases["sigma"])  # announces its length: refused before reading
    with pytest.raises(SourceError, match=r"announces \d+ bytes, over the 1000 limit"):
        sources.fetch(source, mirror=server.url)
    server.serve(source, releases["sigma"], send_length=False)  # says no length: cut off while reading
    with pytest.raises(SourceError, match="more than 1000 bytes"):
        sources.fetch(source, mirror=server.url)
    assert files_under(cache) == []


def test_a_password_in_a_mirror_url_is_neither_sent_nor_shown(server, releases, cache):
    source = pinned("d3fend")
    server.serve(source, releases["d3fend"])
    mirror = server.url.replace("http://", "http://alice:s3cr3t-pa55@")
    with pytest.raises(SourceError) as error:
        sources.fetch(source, mirror=mirror)
    assert "s3cr3t-pa55" not in str(error.value) and "***@" in str(error.value)
    assert "password in the URL is not sent" in str(error.value)
    assert files_under(cache) == []


def test_nothing_listening_is_a_clear_error(releases):
    source = pinned("d3fend")
    with pytest.raises(SourceError, match=r"^d3fend: http://127\.0\.0\.1:9/.*cannot connect"):
        sources.fetch(source, mirror="http://127.0.0.1:9/", timeout=5)


def test_offline_with_an_empty_cache_says_what_is_missing(tmp_path, server, releases, monkeypatch, capsys):
    served_pins(server, releases)
    monkeypatch.setenv(sources.MIRROR_ENV, server.url)
    assert main(["build", "--offline", "--store", str(tmp_path / "store")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("attack-kg: attack-enterprise: ") and "not in the cache" in err[0]
    assert "--source attack-enterprise=PATH" in err[0]
    assert server.requests == 0
    assert not (tmp_path / "store").exists() or current_generation(tmp_path / "store") is None


def test_source_path_reads_a_local_file_in_place_and_checks_its_pin(tmp_path, server, releases, cache):
    lock = write_lock(tmp_path / "lock.json", server, releases)
    local = tmp_path / "copy.json"
    local.write_bytes(releases["attack"])
    chosen = sources.select(sources.load_pins(lock), overrides={"attack-enterprise": str(local)})
    fetched = sources.fetch(chosen[0], offline=True)
    assert (fetched.how, fetched.path, fetched.verified) == ("local", local, True)
    local.write_bytes(releases["attack"] + b" ")
    with pytest.raises(SourceError, match=f"^attack-enterprise: {local}: SHA-256 mismatch"):
        sources.fetch(chosen[0], offline=True)
    assert server.requests == 0 and files_under(cache) == []


def test_mirror_folder_laid_out_by_host(tmp_path, releases, cache):
    source = pinned("d3fend")
    mirror = tmp_path / "mirror"
    path = mirror / "d3fend.mitre.org/ontologies/d3fend/1.3.0/d3fend.ttl"
    path.parent.mkdir(parents=True)
    path.write_bytes(releases["d3fend"])
    fetched = sources.fetch(source, mirror=str(mirror), offline=True)
    assert (fetched.how, fetched.path) == ("local", path)
    assert files_under(cache) == []


def test_explicit_paths_and_pinned_flags_do_not_mix(tmp_path, capsys):
    assert main(["build", "--attack", str(ATTACK_21), "--offline", "--store", str(tmp_path / "s")]) == 2
    assert "--source KEY=PATH" in capsys.readouterr().err


# --- end to end ----------------------------------------------------------------------------------


def graphs_of(store: Path) -> set[str]:
    return {g.value for g in open_store(store).named_graphs()}


def test_build_with_no_flags_downloads_verifies_caches_and_builds(tmp_path, server, releases, monkeypatch, capsys):
    chosen = served_pins(server, releases)
    monkeypatch.setenv(sources.MIRROR_ENV, server.url)
    store = tmp_path / "store"

    assert main(["build", "--store", str(store)]) == 0
    captured = capsys.readouterr()
    assert "no pinned SHA-256 for d3fend, sigma, atomic, car:" in captured.err
    assert server.requests == len(chosen) and set(server.hits.values()) == {1}
    graphs = graphs_of(store)
    base = "https://w3id.org/attack-kg/graph/"
    assert {base + "attack/enterprise-attack/18.1", base + "sigma/" + pinned("sigma").version} <= graphs
    assert any(g.startswith(base + "d3fend/") for g in graphs)
    assert any(g.startswith(base + "atomic/") for g in graphs)
    # issue 13: each pinned CTID mapping file is its own graph, and CAR comes from its archive
    mapping_pins = [s for s in chosen if s.kind == "mappings"]
    assert len([g for g in graphs if g.startswith(base + "mappings/")]) == len(mapping_pins) == 11
    assert any(g.startswith(base + "car/") for g in graphs)
    technique = ox.NamedNode("https://attack.mitre.org/techniques/T1204/001")
    assert list(open_store(store).quads_for_pattern(technique, None, None))
    first = current_generation(store)

    # A second run downloads nothing: everything comes from the cache.
    assert main(["build", "--store", str(store), "-q"]) == 0
    assert server.requests == len(chosen)
    assert current_generation(store) != first

    # The lock records what was had; building it checks the SHA-256s, offline, from the cache.
    lock = tmp_path / "sources.lock.json"
    assert main(["lock", "-o", str(lock), "--offline"]) == 0
    document = json.loads(lock.read_text())
    assert list(document["sources"]) == [s.key for s in chosen]
    for source in chosen:
        entry = document["sources"][source.key]
        assert entry["sha256"] == sha(release_of(releases, source))
        assert entry["url"] == source.url and entry["version"] == source.version
        # ATT&CK and the mapping files were checked against their pins; the rest were trusted on first use.
        pinned_hash = source.kind in ("attack", "mappings")
        assert ("note" not in entry) if pinned_hash else ("trust on first use" in entry["note"])
    capsys.readouterr()
    assert main(["build", "--lock", str(lock), "--offline", "--store", str(store)]) == 0
    assert "no pinned SHA-256" not in capsys.readouterr().err
    assert server.requests == len(chosen)


def test_lock_then_build_from_a_fresh_cache_is_verified(tmp_path, server, releases, monkeypatch, capsys):
    lock = write_lock(tmp_path / "lock.json", server, releases)
    monkeypatch.setenv(sources.MIRROR_ENV, server.url)
    monkeypatch.setenv(sources.CACHE_ENV, str(tmp_path / "fresh"))
    assert main(["build", "--lock", str(lock), "--store", str(tmp_path / "store"), "-q"]) == 0
    assert capsys.readouterr().err == ""
    assert server.requests == len(sources.load_pins(lock))
    records = {p.with_name(p.name + ".json") for p in (tmp_path / "fresh").glob("*/*/*")}
    cached = [p for p in (tmp_path / "fresh").glob("*/*/*") if p not in records]
    assert sorted(p.name for p in cached) == sorted(s.file for s in sources.load_pins(lock))


def test_a_source_url_is_used_as_given_even_with_a_mirror(server, releases, monkeypatch):
    server.routes["/elsewhere/rules.zip"] = Route(releases["sigma"])
    monkeypatch.setenv(sources.MIRROR_ENV, "http://127.0.0.1:9/")  # would fail if it applied
    (sigma,) = (
        s
        for s in sources.select(sources.load_pins(), overrides={"sigma": server.url + "elsewhere/rules.zip"})
        if s.key == "sigma"
    )
    fetched = sources.fetch(sigma)
    assert fetched.how == "downloaded" and fetched.url == server.url + "elsewhere/rules.zip"
    assert server.hits == {"/elsewhere/rules.zip": 1}


def test_a_folder_source_is_locked_by_its_files(tmp_path, capsys, fixture_attack_pins, releases):
    rules = tmp_path / "sigma"
    shutil.copytree(SIGMA_REPO / "rules", rules / "rules")
    lock = tmp_path / "lock.json"
    more = [f"car={CAR}"]  # issue 13: CAR as a folder, and each default mapping pin as a local file
    for source in sources.select(sources.load_pins()):
        if source.kind == "mappings":
            (tmp_path / source.file).write_bytes(release_of(releases, source))
            more.append(f"{source.key}={tmp_path / source.file}")
    assert (
        main(
            [
                "lock",
                "-o",
                str(lock),
                "--offline",
                "--source",
                f"sigma={rules}",
                "--source",
                f"d3fend={D3FEND}",
                "--source",
                f"attack-enterprise={ATTACK_21}",
                "--source",
                f"atomic={ATOMIC}",
                *(arg for item in more for arg in ("--source", item)),
            ]
        )
        == 0
    )
    entry = json.loads(lock.read_text())["sources"]["sigma"]
    assert entry["url"] == str(rules) and entry["sha256"] == sources.sha256_of(rules)
    store = tmp_path / "store"
    assert main(["build", "--lock", str(lock), "--offline", "--store", str(store), "-q"]) == 0
    before = current_generation(store)
    (rules / "rules" / "extra.yml").write_text("title: x\n")
    capsys.readouterr()
    assert main(["build", "--lock", str(lock), "--offline", "--store", str(store)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"attack-kg: sigma: {rules}: SHA-256 mismatch: expected {entry['sha256']}, got ")
    assert "hashed file by file" in err
    assert current_generation(store) == before
