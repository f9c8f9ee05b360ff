"""Two ATT&CK Enterprise releases in one store (the 18.1 fixture and the synthetic v19-shaped one,
tests/fixtures/v19): queries, reports, layers and paths read the newest unless told otherwise, and
no technique is counted once per release."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from attackkg.builders.build import build_store
from attackkg.builders.store import open_store
from attackkg.queries import AtRelease, rows
from attackkg.queries.cli import main
from attackkg.queries.graph import to_networkx
from attackkg.queries.paths import paths

V19 = Path(__file__).resolve().parent / "fixtures" / "v19"


@pytest.fixture(scope="module")
def two_releases(tmp_path_factory) -> Path:
    store = tmp_path_factory.mktemp("two-releases") / "store"
    build_store(
        store,
        attack_paths=[V19 / "attack" / "enterprise-attack-18.1.json", V19 / "attack" / "enterprise-attack-19.0.json"],
        d3fend_path=V19 / "d3fend" / "d3fend.ttl",
        sigma_paths=[V19 / "sigma"],
        atomic_path=V19 / "atomic",
    )
    return store


def test_both_releases_are_stored(two_releases):
    graphs = {r["graph"] for r in rows(open_store(two_releases), "sources") if r["kind"] == "attack"}
    assert {g.rsplit("/", 1)[-1] for g in graphs} == {"18.1", "19.0"}


def test_no_technique_is_counted_once_per_release(two_releases):
    store = open_store(two_releases)
    for view in (store, AtRelease(store, "18.1")):
        counted = Counter(r["technique"] for r in rows(view, "coverage"))
        assert counted and max(counted.values()) == 1
        (link,) = rows(view, "coverage", technique="T1204.001")
        assert link["mitigations"] == 2
        assert len(rows(view, "detections", technique="T1685")) == len(
            {r["rule_id"] for r in rows(view, "detections", technique="T1685")}
        )


def test_the_newest_release_is_read_unless_another_is_named(two_releases, capsys):
    store = open_store(two_releases)
    # 19.0 revoked T1562.001 for T1685; 18.1 has no T1685.
    assert [r["technique"] for r in rows(store, "coverage", technique="T1685")] == ["T1685"]
    assert rows(store, "coverage", technique="T1562.001") == []
    assert [r["technique"] for r in rows(AtRelease(store, "18.1"), "coverage", technique="T1562.001")] == ["T1562.001"]
    assert rows(AtRelease(store, "18.1"), "coverage", technique="T1685") == []
    (t1685,) = rows(store, "coverage", technique="T1685")
    assert (t1685["sigma_rules"], t1685["atomic_tests"]) == (2, 2)

    argv = ["query", "coverage", "--param", "technique=T1562.001", "--format", "json", "--store", str(two_releases)]
    assert main([*argv, "--attack-version", "18.1"]) == 0
    assert len(json.loads(capsys.readouterr().out)["results"]["bindings"]) == 1
    assert main([*argv, "--attack-version", "17.0"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "holds no such ATT&CK release" in err[0] and "enterprise-attack 18.1" in err[0]


def test_layers_and_reports_follow_the_chosen_release(two_releases, tmp_path, capsys):
    for version, tactic in ((None, "Stealth"), ("18.1", "Defense Evasion")):
        extra = ["--attack-version", version] if version else []
        out = tmp_path / f"layer-{version}.json"
        assert main(["layer", "--score", "combined", "-o", str(out), "--store", str(two_releases), *extra]) == 0
        layer = json.loads(out.read_text())
        keys = [(t["techniqueID"], t["tactic"]) for t in layer["techniques"]]
        assert len(keys) == len(set(keys))
        assert ("T1685", "defense-impairment") in keys if version is None else "T1685" not in dict(keys)
        capsys.readouterr()
        assert main(["report", "T1027.005", "--store", str(two_releases), *extra]) == 0
        page = capsys.readouterr().out
        assert f"**MITRE ATT&CK Tactic(s):** {tactic}" in page
        (release,) = [line for line in page.splitlines() if line.startswith("**MITRE ATT&CK release:**")]
        assert f"enterprise-attack {version or '19.0'};" in release and release.count("enterprise-attack") == 1


def test_networkx_reads_the_newest_release_only(two_releases):
    graph = to_networkx(open_store(two_releases))
    # T1562 moved from Defense Evasion (TA0005) in 18.1 to Defense Impairment (TA0112) in v19.
    assert set(graph.successors("https://attack.mitre.org/techniques/T1562")) & {
        "https://attack.mitre.org/tactics/TA0005",
        "https://attack.mitre.org/tactics/TA0112",
    } == {"https://attack.mitre.org/tactics/TA0112"}
    found = [(p.kind, p.countermeasure) for p in paths(graph, "https://attack.mitre.org/techniques/T1204/001")]
    assert found and len(found) == len(set(found))
