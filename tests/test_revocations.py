"""References to revoked ATT&CK objects followed to their successors, on the v19-shaped fixture
(tests/fixtures/v19, made synthetically from the 18.1 fixture: see its README)."""

from __future__ import annotations

import json
from pathlib import Path

import pyoxigraph as ox
import pytest

from attackkg.builders import revocations
from attackkg.builders.build import build_dataset, build_store
from attackkg.builders.store import open_store
from attackkg.ontology import declared_terms
from attackkg.ontology.namespaces import AKG, REVOCATIONS_GRAPH
from attackkg.queries import rows
from attackkg.queries.cli import main

V19 = Path(__file__).resolve().parent / "fixtures" / "v19"
T1685 = "https://attack.mitre.org/techniques/T1685"
T1562_001 = "https://attack.mitre.org/techniques/T1562/001"
KASPERSKY = "36388120-b3f1-4ce9-b50b-280d9a7f4c04"  # tagged attack.t1685
DEFENDER = "fe34868f-6e0e-4882-81f6-c43aa8f15b62"  # tagged attack.t1562.001


def sources(version: str, attack: Path | None = None) -> dict:
    return {
        "attack_paths": [attack or V19 / "attack" / f"enterprise-attack-{version}.json"],
        "d3fend_path": V19 / "d3fend" / "d3fend.ttl",
        "sigma_paths": [V19 / "sigma"],
        "atomic_path": V19 / "atomic",
    }


@pytest.fixture(scope="module")
def v19_store(tmp_path_factory) -> Path:
    store = tmp_path_factory.mktemp("v19") / "store"
    build_store(store, **sources("19.0"))
    return store


@pytest.fixture(scope="module")
def v18_store(tmp_path_factory) -> Path:
    store = tmp_path_factory.mktemp("v18") / "store"
    build_store(store, **sources("18.1"))
    return store


def test_successor_follows_chains_and_refuses_cycles():
    assert revocations.successor("a", {"a": "b", "b": "c"}) == ("c", ["a", "b", "c"])
    assert revocations.successor("x", {"a": "b"}) == ("x", ["x"])
    with pytest.raises(revocations.Cycle, match="a -> b -> a"):
        revocations.successor("a", {"a": "b", "b": "a"})


def test_detections_of_t1685_list_the_rule_on_its_revoked_predecessor(v19_store, capsys):
    assert main(["query", "detections", "--param", "technique=T1685", "--format", "json", "--store", str(v19_store)]) == 0
    bindings = json.loads(capsys.readouterr().out)["results"]["bindings"]
    found = {(b["rule_id"]["value"], b["match"]["value"], b["tagged"]["value"]) for b in bindings}
    assert found == {(KASPERSKY, "technique", "T1685"), (DEFENDER, "revoked ID", "T1562.001")}


def test_coverage_counts_both_rules_and_the_atomic_tests(v19_store):
    (row,) = rows(open_store(v19_store), "coverage", technique="T1685")
    assert (row["sigma_rules"], row["atomic_tests"]) == (2, 2)
    assert row["countermeasures"] > 0
    # The revoked technique itself is left out of coverage, as before.
    assert rows(open_store(v19_store), "coverage", technique="T1562.001") == []


def test_countermeasures_of_t1685_come_through_d3fends_t1562_001_class(v19_store):
    found = rows(open_store(v19_store), "countermeasures", technique="T1685")
    predecessor = rows(open_store(v19_store), "countermeasures", technique="T1562.001")
    assert found and {r["d3fend_id"] for r in found} == {r["d3fend_id"] for r in predecessor}
    for row in found:
        assert row["via_attack_id"] == "T1562.001"
        assert row["resolved_from"].startswith("T1562.001 was revoked by T1685 in ATT&CK enterprise-attack 19.0")
    assert all(row.get("resolved_from") is None for row in predecessor)


def test_paths_of_t1685_reach_d3fend_through_the_revocation(v19_store, capsys):
    """Every D3FEND countermeasure of T1685 is a path in networkx too, starting with the
    ``akg:revokedBy`` hop back to T1562.001, whose stored explanation it then follows."""
    assert main(["paths", "T1685", "--kind", "d3fend", "--format", "json", "--store", str(v19_store)]) == 0
    found = json.loads(capsys.readouterr().out)
    expected = {r["d3fend_id"] for r in rows(open_store(v19_store), "countermeasures", technique="T1685")}
    assert expected and {c["id"] for c in found["countermeasures"]["d3fend"]} == expected
    for path in found["paths"]:
        first = path["hops"][0]
        assert (first["key"], first["direction"]) == ("akg:revokedBy", "backward")
        assert first["source"].endswith("/techniques/T1562/001") and first["target"].endswith("/techniques/T1685")
        assert path["hops"][1]["source"] == first["source"]  # the predecessor's own offensive relation


def test_report_counts_the_rules_tests_and_countermeasures(v19_store, capsys):
    assert main(["report", "T1685", "--store", str(v19_store)]) == 0
    page = capsys.readouterr().out
    assert "**MITRE ATT&CK Tactic(s):** Defense Impairment" in page
    assert "proc_creation_lnx_av_kaspersky_av_disabled.yml" in page and "win_defender_disabled.yml" in page
    assert "Process Termination" in page
    assert page.count("**ATT&CK-mapped tests for this (sub)technique:** 2") == 1


def test_layer_scores_t1685_with_both_rules(v19_store, tmp_path):
    out = tmp_path / "layer.json"
    assert main(["layer", "--score", "combined", "-o", str(out), "--store", str(v19_store)]) == 0
    entries = {(t["techniqueID"], t["tactic"]): t for t in json.loads(out.read_text())["techniques"]}
    meta = {m["name"]: m["value"] for m in entries[("T1685", "defense-impairment")]["metadata"]}
    assert meta["Sigma rule files"] == "2" and meta["Atomic tests"] == "2"


def test_each_resolution_is_explained_in_its_own_graph(v19_store):
    store = open_store(v19_store)
    graph = ox.NamedNode(REVOCATIONS_GRAPH)
    resolutions = [q.subject for q in store.quads_for_pattern(None, None, ox.NamedNode(AKG + "Resolution"), graph)]
    explained = {}
    for node in resolutions:
        values = {q.predicate.value[len(AKG) :]: q.object.value for q in store.quads_for_pattern(node, None, None, graph)}
        explained[values["referenceProperty"]] = values
    rule = explained[AKG + "detectsTechnique"]
    assert (rule["originalId"], rule["successorId"], rule["original"]) == ("T1562.001", "T1685", T1562_001)
    assert rule["resolvedIn"].endswith("/graph/attack/enterprise-attack/19.0")
    assert rule["referrer"] == f"urn:uuid:{DEFENDER}"
    assert AKG + "counteredBy" in explained
    # The source graphs are untouched: the Sigma graph still says what the rule's tag says.
    sigma_edges = [q for q in store.quads_for_pattern(ox.NamedNode(f"urn:uuid:{DEFENDER}"), None, None) if q.graph_name != graph]
    assert any(q.object.value == T1562_001 for q in sigma_edges)
    assert not any(q.object.value == T1685 for q in sigma_edges)


def test_tactic_tags_join_the_releases_tactics_by_short_name(v19_store):
    store = open_store(v19_store)
    assert rows(store, "technique", technique="T1685")[0]["tactics"] == "Defense Impairment"
    tagged = store.quads_for_pattern(
        ox.NamedNode(f"urn:uuid:{KASPERSKY}"),
        ox.NamedNode(AKG + "tagsTactic"),
        ox.NamedNode("https://attack.mitre.org/tactics/TA0112"),
    )
    assert [q.graph_name.value for q in tagged] == [REVOCATIONS_GRAPH]
    # ... so the build does not call the tag unresolved.
    notes = [r["warning"] for r in rows(store, "warnings")]
    assert not [n for n in notes if "attack.defense-impairment names no object" in n]


def test_against_18_1_the_t1685_rule_gets_the_newer_release_warning(v18_store, capsys):
    assert main(["info", "--warnings", "--store", str(v18_store)]) == 0
    (line,) = [w for w in capsys.readouterr().out.splitlines() if "does not have" in w]
    assert "T1685 (1 rule(s), 2 test(s))" in line
    assert "tactic defense-impairment (1 rule(s))" in line
    assert "kept as written on 1 Sigma rule(s) and 2 Atomic test(s)" in line
    assert "ATT&CK 19.0 and later" in line and "--attack-version 19.0" in line
    # Kept, not dropped: the rule still names T1685.
    store = open_store(v18_store)
    assert next(store.quads_for_pattern(ox.NamedNode(f"urn:uuid:{KASPERSKY}"), None, ox.NamedNode(T1685)), None)
    first = list(store.quads_for_pattern(ox.NamedNode(T1685), ox.NamedNode(AKG + "firstRelease"), None))
    assert [q.object.value for q in first] == ["19.0"]


def test_a_deprecated_object_without_successor_is_flagged(tmp_path):
    bundle = json.loads((V19 / "attack" / "enterprise-attack-18.1.json").read_text())
    for obj in bundle["objects"]:
        if obj.get("name") == "Disable or Modify Tools":
            obj["x_mitre_deprecated"] = True
    path = tmp_path / "enterprise-attack-18.1.json"
    path.write_text(json.dumps(bundle))
    dataset = build_dataset(**sources("18.1", attack=path))
    notes = [r["warning"] for r in rows(dataset, "warnings")]
    assert any(n.startswith("T1562.001 is deprecated in ATT&CK enterprise-attack 18.1 with no successor: 1 reference") for n in notes)
    flagged = dataset.query(f"ASK {{ GRAPH <{REVOCATIONS_GRAPH}> {{ <{T1562_001}> akg:noSuccessor true }} }}")
    assert flagged.askAnswer is True


def test_attack_relationships_are_followed_and_cycles_refused(tmp_path):
    bundle = json.loads((V19 / "attack" / "enterprise-attack-19.0.json").read_text())
    group = next(o for o in bundle["objects"] if o["type"] == "intrusion-set")
    revoked = next(o for o in bundle["objects"] if o.get("name") == "Disable or Modify Tools" and o.get("revoked"))
    bundle["objects"].append(
        {
            "type": "relationship",
            "id": "relationship--00000000-0000-4000-8000-00000000beef",
            "spec_version": "2.1",
            "relationship_type": "uses",
            "source_ref": group["id"],
            "target_ref": revoked["id"],
        }
    )
    path = tmp_path / "enterprise-attack-19.0.json"
    path.write_text(json.dumps(bundle))
    dataset = build_dataset(attack_paths=[path])
    uses = f"ASK {{ GRAPH <{REVOCATIONS_GRAPH}> {{ ?g akg:uses <{T1685}> }} }}"
    assert dataset.query(uses).askAnswer is True

    # T1685 revoked by T1562.001 as well: a cycle, refused and reported, nothing followed.
    successor = next(o for o in bundle["objects"] if o.get("name") == "Disable or Modify Tools" and not o.get("revoked"))
    bundle["objects"].append(
        {
            "type": "relationship",
            "id": "relationship--00000000-0000-4000-8000-00000000cafe",
            "spec_version": "2.1",
            "relationship_type": "revoked-by",
            "source_ref": successor["id"],
            "target_ref": revoked["id"],
        }
    )
    path.write_text(json.dumps(bundle))
    dataset = build_dataset(attack_paths=[path])
    notes = [r["warning"] for r in rows(dataset, "warnings")]
    assert any(n.startswith("revocation cycle refused") and "T1562/001" in n for n in notes)
    assert dataset.query(uses).askAnswer is False


def test_every_term_emitted_is_declared(v19_store, v18_store):
    for store_dir in (v19_store, v18_store):
        store = open_store(store_dir)
        used = set()
        for quad in store.quads_for_pattern(None, None, None, ox.NamedNode(REVOCATIONS_GRAPH)):
            for term in (quad.predicate, quad.object):
                if isinstance(term, ox.NamedNode) and term.value.startswith(AKG):
                    used.add(term.value)
        assert used and used <= declared_terms()


def test_full_shared_build_reports_the_v19_ids_and_tactics(full_store_dir):
    """The session's full build (tests/conftest.py: ATT&CK 18.1, D3FEND 1.2.0, every Sigma rule,
    Atomic Red Team), whose Sigma rules and Atomic tests already name v19 IDs."""
    notes = [r["warning"] for r in rows(open_store(full_store_dir), "warnings") if "does not have" in r["warning"]]
    (v19,) = [n for n in notes if "ATT&CK 19.0 and later" in n]
    for name in ("T1685 (", "T1686 (", "T1690 (", "tactic stealth (", "tactic defense-impairment ("):
        assert name in v19
    counts = v19.split("kept as written on ")[1]
    rules, tests = int(counts.split(" Sigma")[0]), int(counts.split(" and ")[1].split(" Atomic")[0])
    assert rules > 1000 and tests > 100
    assert "'attack-kg build --attack-version 19.0' or newer (newest 20.0)" in v19
