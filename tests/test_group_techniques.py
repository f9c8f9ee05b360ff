"""A group's techniques as ATT&CK counts them: its own uses and those of its attributed campaigns.

Against mitreattack-python's ``get_techniques_used_by_group`` for every Enterprise 18.1 group
(tests/fixtures/attack/group-techniques-18.1.json says how it was made), and on a fixture where
one campaign adds a technique of its own and shares one with the group.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from attackkg.builders.build import build_store
from attackkg.builders.store import open_store
from attackkg.queries import rows
from attackkg.queries.cli import main
from attackkg.queries.graph import to_networkx
from attackkg.queries.paths import PATH_PREDICATES, find_node, group_techniques, techniques_of

FIXTURE = Path(__file__).parent / "fixtures" / "attack"


def _sparql_json(capsys, *argv: str) -> list[dict[str, str]]:
    assert main([*argv, "--format", "json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    return [{k: v["value"] for k, v in b.items()} for b in answer["results"]["bindings"]]


# --- a fixture where campaign C0024 adds a technique and shares one --------------------------------


@pytest.fixture(scope="module")
def campaign_store(tmp_path_factory) -> Path:
    """The 18.1 cut, plus two 'uses' relationships from C0024 (attributed to G0016 in ATT&CK):
    T1027, which G0016 does not use itself, and T1566.002, which it does."""
    bundle = json.loads((FIXTURE / "small-enterprise-2.1.json").read_text())
    ids = {
        next((r["external_id"] for r in o.get("external_references", []) if r.get("source_name") == "mitre-attack"), None): o
        for o in bundle["objects"]
    }
    template = next(o for o in bundle["objects"] if o["type"] == "relationship" and o["relationship_type"] == "uses")
    for number, technique in enumerate(("T1027", "T1566.002")):
        relationship = dict(template)
        relationship.update(
            id=f"relationship--00000000-0000-4000-8000-00000000000{number}",
            source_ref=ids["C0024"]["id"],
            target_ref=ids[technique]["id"],
            description=f"During the campaign the actors used {technique} (made up for this test).",
        )
        relationship.pop("external_references", None)
        bundle["objects"].append(relationship)
    root = tmp_path_factory.mktemp("campaigns")
    (root / "bundle.json").write_text(json.dumps(bundle))
    build_store(root / "store", attack_paths=[root / "bundle.json"])
    return root / "store"


def test_a_campaign_technique_counts_once_with_every_explanation(campaign_store, capsys):
    found = {r["technique"]: r for r in _sparql_json(capsys, "query", "group-techniques", "--param", "group=G0016",
                                                     "--store", str(campaign_store))}
    assert set(found) == {"T1204.001", "T1204.002", "T1027", "T1566.002"}
    assert found["T1027"]["via"] == "C0024"
    assert found["T1027"]["procedure"].startswith("C0024: During the campaign")
    assert sorted(found["T1566.002"]["via"].split()) == ["C0024", "direct"]
    explanations = found["T1566.002"]["procedure"].split("\n")
    assert sorted(e.split(":")[0] for e in explanations) == ["C0024", "direct"]
    assert found["T1204.001"]["via"] == "direct"

    direct = _sparql_json(capsys, "query", "group-techniques", "--param", "group=APT29", "--param", "direct_only=true",
                          "--store", str(campaign_store))
    assert {r["technique"] for r in direct} == {"T1204.001", "T1204.002", "T1566.002"}
    assert {r["via"] for r in direct} == {"direct"}


def test_networkx_layer_and_cover_take_the_campaigns_too(campaign_store, tmp_path, capsys):
    graph = to_networkx(open_store(campaign_store), predicates=PATH_PREDICATES)
    group = find_node(graph, "G0016")
    known = {graph.nodes[t]["id"]: how for t, how in group_techniques(graph, group).items()}
    assert known["T1027"] == ["C0024"] and sorted(known["T1566.002"]) == ["C0024", "direct"]
    assert [graph.nodes[t]["id"] for t in techniques_of(graph, ["G0016"])] == [
        "T1027", "T1204.001", "T1204.002", "T1566.002"
    ]
    assert "T1027" not in {graph.nodes[t]["id"] for t in techniques_of(graph, ["G0016"], direct_only=True)}
    # A campaign is its own uses, as before.
    assert [graph.nodes[t]["id"] for t in techniques_of(graph, ["C0024"])] == ["T1027", "T1566.002"]

    assert main(["layer", "--score", "mitigations", "--group", "G0016", "--store", str(campaign_store),
                 "-o", str(tmp_path / "layer.json")]) == 0
    layer = json.loads((tmp_path / "layer.json").read_text())
    assert {t["techniqueID"] for t in layer["techniques"]} == {"T1204.001", "T1204.002", "T1027", "T1566.002"}
    assert "1 only through C0024" in layer["description"]
    assert main(["layer", "--score", "mitigations", "--group", "G0016", "--direct-only", "--store",
                 str(campaign_store), "-o", str(tmp_path / "direct.json")]) == 0
    direct = json.loads((tmp_path / "direct.json").read_text())
    assert "T1027" not in {t["techniqueID"] for t in direct["techniques"]}
    capsys.readouterr()

    assert main(["cover", "G0016", "--kind", "mitigation", "--store", str(campaign_store)]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("G0016 APT29: 4 techniques, 1 of them only through attributed campaigns (C0024")
    assert main(["cover", "G0016", "--kind", "mitigation", "--format", "json", "--store", str(campaign_store)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["through_campaigns"] == {"T1027": ["C0024"]}
    assert main(["cover", "G0016", "--direct-only", "--store", str(campaign_store)]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "G0016 APT29: 3 techniques"


# --- every Enterprise 18.1 group against mitreattack-python -------------------------------------


def test_every_group_has_the_techniques_mitreattack_python_gives(full_memory_store):
    expected = json.loads((FIXTURE / "group-techniques-18.1.json").read_text())["groups"]
    assert len(expected) == 172
    found: dict[str, set[str]] = {}
    for row in rows(full_memory_store, "group-techniques"):  # its JSON: tested on the campaign store
        found.setdefault(row["group_id"], set()).add(row["technique"])
    assert {g: found.get(g, set()) for g in expected} == {g: set(ids) for g, ids in expected.items()}
    assert set(found) <= set(expected)

    graph = to_networkx(full_memory_store, predicates=PATH_PREDICATES)
    for group_id, ids in expected.items():
        assert {graph.nodes[t]["id"] for t in techniques_of(graph, [group_id])} == set(ids), group_id


def test_cover_g0016_says_how_many_came_through_campaigns(shared_data, full_store_dir, capsys):
    """119 techniques (mitreattack-python); those only through campaigns are the ones APT29's own
    'uses' relationships in the bundle do not name, read here straight from the STIX."""
    with gzip.open(shared_data / "attack" / "enterprise-attack-18.1.json.gz", "rt") as stream:
        objects = json.load(stream)["objects"]
    attack_ids = {
        o["id"]: r["external_id"] for o in objects for r in o.get("external_references", []) if r.get("source_name") == "mitre-attack"
    }
    apt29 = next(stix_id for stix_id, attack_id in attack_ids.items() if attack_id == "G0016")
    own = {
        attack_ids[o["target_ref"]]
        for o in objects
        if o["type"] == "relationship" and o["relationship_type"] == "uses" and o["source_ref"] == apt29
        and o["target_ref"].startswith("attack-pattern--") and not o.get("revoked") and not o.get("x_mitre_deprecated")
    }
    expected = set(json.loads((FIXTURE / "group-techniques-18.1.json").read_text())["groups"]["G0016"])
    assert main(["cover", "G0016", "--kind", "mitigation", "--format", "json", "--store", str(full_store_dir)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data["techniques"]) == len(expected) == 119
    assert set(data["through_campaigns"]) == expected - own
    assert {c for cs in data["through_campaigns"].values() for c in cs} == {"C0023", "C0024"}
