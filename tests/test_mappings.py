"""CTID Mappings Explorer (issue 13): controls, cloud capabilities and KEV CVEs mapped to techniques."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pyoxigraph as ox
import pytest

from attackkg.builders import mappings
from attackkg.builders.base import InputError
from attackkg.builders.build import build_dataset, build_store
from attackkg.builders.oxstore import oxigraph_of
from attackkg.builders.store import open_store
from attackkg.ontology import declared_terms
from attackkg.ontology.namespaces import AKG, METADATA_GRAPH
from attackkg.queries import rows
from attackkg.queries.cli import main

HERE = Path(__file__).parent / "fixtures" / "mappings"
ATTACK = Path(__file__).parent / "fixtures" / "attack" / "small-enterprise-2.1.json"


def test_a_file_is_its_own_graph_with_its_provenance():
    data = mappings.load(HERE / "nist_800_53-rev5.json")
    report = mappings.report(data)
    assert report.graph.endswith("/mappings/nist_800_53/rev5/attack-16.1/enterprise")
    assert "nist_800_53 rev5" in report.version and "ATT&CK 16.1" in report.version
    assert "04/16/2025" in report.title  # last_update
    source = json.loads((HERE / "nist_800_53-rev5.json").read_text())["mapping_objects"]
    assert report.counts["mappings"] == sum(o["status"] == "complete" for o in source)
    assert report.counts["non_mappable"] == sum(o["status"] == "non_mappable" for o in source)


def test_every_mapping_object_is_an_edge_and_a_node_and_non_mappable_is_recorded():
    dataset = build_dataset(mappings_paths=[HERE / "nist_800_53-rev5.json", HERE / "aws.json", HERE / "kev.json"])
    found = rows(dataset, "controls", technique="T1204.001", framework="nist_800_53")
    source = json.loads((HERE / "nist_800_53-rev5.json").read_text())["mapping_objects"]
    expected = {o["capability_id"] for o in source if o["attack_object_id"] == "T1204.001" and o["capability_id"]}
    assert {str(r["control_id"]) for r in found} == expected and len(expected) == 11
    assert {str(r["mapping_type"]) for r in found} == {"mitigates"}
    non = list(
        dataset.query(
            f"SELECT ?m WHERE {{ GRAPH ?g {{ ?m a <{AKG}NonMappable> ; <{AKG}controlMappingAttackId> 'T1496.002' }} }}"
        )
    )
    assert len(non) == 1
    assert rows(dataset, "controls", technique="T1496.002") == []  # no control applies: a node, not an edge
    scores = rows(dataset, "controls", technique="T1078", framework="aws")
    assert {(str(r["control_id"]), str(r["score_category"]), str(r["score_value"])) for r in scores} == {
        (o["capability_id"], o["score_category"], o["score_value"])
        for o in json.loads((HERE / "aws.json").read_text())["mapping_objects"]
        if o["attack_object_id"] == "T1078"
    }
    cves = rows(dataset, "cves", technique="T1190")
    assert {str(r["cve"]) for r in cves} == {"CVE-2024-34102", "CVE-2021-44228"}
    back = rows(dataset, "techniques-for-control", control="CVE-2021-44228")
    assert {str(r["technique"]) for r in back} == {"T1190", "T1496", "T1486", "T1608.001", "T1505.003"}


def test_every_project_term_emitted_is_declared():
    emitted = set()
    for name in ("nist_800_53-rev5.json", "aws.json", "kev.json"):
        for triple in mappings.triples(mappings.load(HERE / name)):
            for term in (triple.predicate, triple.object):
                if isinstance(term, ox.NamedNode) and term.value.startswith(AKG):
                    emitted.add(term.value)
    assert {AKG + "ControlMapping", AKG + "NonMappable", AKG + "scoredByControl", AKG + "exploitedThrough"} <= emitted
    assert emitted <= declared_terms()


def test_a_mapping_naming_a_revoked_technique_counts_for_its_successor():
    # The small ATT&CK fixture revokes T1066 (revoked-by T1027.005); the fixture maps two NIST
    # controls to T1066 (README.md).
    dataset = build_dataset(attack_paths=[ATTACK], mappings_paths=[HERE / "revoked"])
    source = json.loads((HERE / "revoked" / "nist_800_53-rev5-T1066.json").read_text())["mapping_objects"]
    successor = rows(dataset, "controls", technique="T1027.005")
    assert {str(r["control_id"]) for r in successor} == {o["capability_id"] for o in source}
    assert {str(r["mapped_id"]) for r in successor} == {"T1066"}
    assert all(str(r["note"]) == "T1066 revoked by T1027.005" for r in successor)
    assert rows(dataset, "controls", technique="T1066") == []
    back = rows(dataset, "techniques-for-control", control=source[0]["capability_id"])
    assert {str(r["technique"]) for r in back} == {"T1027.005"}


def test_a_file_that_breaks_the_schema_is_one_line(capsys):
    with pytest.raises(InputError) as raised:
        mappings.load(HERE / "bad-schema" / "aws-bad.json")
    line = str(raised.value)
    text = (HERE / "bad-schema" / "aws-bad.json").read_text().splitlines()
    number = int(line.split(":")[1])
    assert '"done"' in text[number - 1]
    assert "mapping_objects[2].status" in line


def test_in_a_folder_a_bad_file_is_skipped_and_reported_strict_fails(tmp_path):
    store_dir = tmp_path / "store"
    result = build_store(store_dir, mappings_paths=[HERE / "bad-schema"])
    graphs = [r for r in result.reports if r.source == "mappings"]
    assert len(graphs) == 1 and "aws-bad.json" in str(graphs[0].skipped[0])
    with pytest.raises(InputError, match=r"aws-bad\.json:"):
        build_store(tmp_path / "strict", strict=True, mappings_paths=[HERE / "bad-schema"])
    # one file named alone is strict, and the previous store is untouched
    before = len(open_store(store_dir))
    assert main(["build", "--store", str(store_dir), "--mappings", str(HERE / "bad-schema" / "aws-bad.json")]) == 1
    assert len(open_store(store_dir)) == before


# --- the full shared data ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def full_store(full_store_dir):
    """The session's full build (tests/conftest.py), which reads the Mappings Explorer repository
    folder (its schema/ is left out) and MITRE CAR."""
    return full_store_dir


def _files(shared_data: Path) -> list[Path]:
    return sorted((shared_data / "ctid" / "mappings-explorer" / "mappings").rglob("*.json"))


def test_info_lists_each_framework_file_as_its_graph_with_its_attack_version(full_store, shared_data, capsys):
    assert main(["info", "--store", str(full_store), "--json"]) == 0
    graphs = [g for g in json.loads(capsys.readouterr().out) if g["kind"] == "mappings"]
    files = _files(shared_data)
    assert len(graphs) == len(files) == 14
    for path in files:
        meta = json.loads(path.read_text())["metadata"]
        (graph,) = [g for g in graphs if g["input"] == str(path.relative_to(shared_data))]  # built there
        assert f"ATT&CK {meta['attack_version']}" in graph["version"]
        assert graph["version"].startswith(f"{meta['mapping_framework']} {meta['mapping_framework_version']}")


def test_counts_per_framework_and_technique_equal_the_files(full_store, shared_data):
    """Per file (framework release) and per technique: the distinct mappings (capability, type,
    score) the JSON holds, read here with json alone, equal the graph's mapping nodes."""
    store = open_store(full_store)
    expected: dict[tuple[str, str], set] = {}
    per_framework: Counter = Counter()
    for path in _files(shared_data):
        document = json.loads(path.read_text())
        meta = document["metadata"]
        graph = mappings.graph_name(mappings.MappingFile(str(path), meta, [], ""))
        for o in document["mapping_objects"]:
            if (
                o["status"] == "non_mappable"
                or o["mapping_type"] == "non_mappable"
                or not o["capability_id"]
                or not o["attack_object_id"]
            ):
                continue
            key = (o["capability_id"], o["mapping_type"], o.get("score_category"), o.get("score_value"))
            expected.setdefault((graph, o["attack_object_id"]), set()).add(key)
    for (graph, _), found in expected.items():
        per_framework[graph] += len(found)
    query = f"""SELECT ?g ?id (COUNT(DISTINCT ?m) AS ?n) WHERE {{ GRAPH ?g {{ ?m a <{AKG}ControlMapping> ;
        <{AKG}controlMappingAttackId> ?id }} }} GROUP BY ?g ?id"""
    got = {(r["g"].value, r["id"].value): int(r["n"].value) for r in store.query(query)}
    assert got == {key: len(found) for key, found in expected.items()}
    assert len(per_framework) == 14 and min(per_framework.values()) > 40


def test_t1204_001_has_the_eleven_nist_rev5_controls(full_store, shared_data):
    path = next(p for p in _files(shared_data) if "rev5" in p.name)
    expected = {
        o["capability_id"]
        for o in json.loads(path.read_text())["mapping_objects"]
        if o["attack_object_id"] == "T1204.001" and o["capability_id"]
    }
    found = rows(open_store(full_store), "controls", technique="T1204.001")
    rev5 = {str(r["control_id"]) for r in found if str(r["framework_version"]) == "rev5"}
    assert rev5 == expected and len(rev5) == 11
    assert {str(r["framework"]) for r in found} > {"nist_800_53"}  # among the other frameworks' controls


def test_kev_cves_of_t1190(full_store, shared_data, capsys):
    assert main(["query", "cves", "--store", str(full_store), "--param", "technique=T1190", "--format", "csv"]) == 0
    listed = {line.split(",")[1] for line in capsys.readouterr().out.splitlines()[1:]}
    expected = set()
    for path in _files(shared_data):
        if "kev" in path.name:
            expected |= {
                o["capability_id"]
                for o in json.loads(path.read_text())["mapping_objects"]
                if o["attack_object_id"] == "T1190"
            }
    assert listed == expected and len(expected) > 100


def test_revoked_t1574_002_counts_for_t1574_001(full_store):
    found = rows(open_store(full_store), "controls", technique="T1574.001", framework="nist_800_53")
    via = [r for r in found if str(r["mapped_id"]) == "T1574.002"]
    assert via and all(str(r["note"]) == "T1574.002 revoked by T1574.001" for r in via)


def test_ids_of_the_ics_and_mobile_files_are_reported_by_domain_not_as_absent(full_store, shared_data):
    """The session build loads ATT&CK Enterprise only, beside CTID's ICS and Mobile files: their IDs
    are told apart by domain (the technique IDs those files name, read here with json alone), and
    none is in the warning of IDs absent from the loaded release."""
    named: dict[str, set[str]] = {"ics": set(), "mobile": set()}
    for path in _files(shared_data):
        document = json.loads(path.read_text())
        domain = document["metadata"]["technology_domain"]
        if domain in named:
            named[domain] |= {o["attack_object_id"] for o in document["mapping_objects"] if o["attack_object_id"]}
    notes = [r["warning"] for r in rows(open_store(full_store), "warnings")]
    for domain, ids in named.items():
        (note,) = [n for n in notes if f"CTID mapping(s) of {domain}-attack, a domain no loaded release" in n]
        assert note.startswith(f"{len(ids)} ATT&CK ID(s) named by ")
        assert f"--attack {domain}-attack-<version>.json" in note and min(ids) in note
    absent = " ".join(n for n in notes if "does not have" in n)
    assert "T0800 (" not in absent and "T1398 (" not in absent and "T1685 (" in absent


def test_metadata_graph_holds_each_mapping_graph(full_store):
    store = open_store(full_store)
    kinds = [
        q.object.value
        for q in store.quads_for_pattern(None, ox.NamedNode(AKG + "sourceKind"), None, ox.NamedNode(METADATA_GRAPH))
    ]
    assert kinds.count("mappings") == 14


# --- the consumers: paths and cover on the full data (issue 13 item 4) -----------------------------


def test_paths_t1204_001_control_json_lists_the_eleven_rev5_controls(full_store, shared_data, capsys):
    path = next(p for p in _files(shared_data) if "rev5" in p.name)
    expected = {
        o["capability_id"]
        for o in json.loads(path.read_text())["mapping_objects"]
        if o["attack_object_id"] == "T1204.001" and o["capability_id"]
    }
    assert main(["paths", "T1204.001", "--kind", "control", "--format", "json", "--store", str(full_store)]) == 0
    listed = json.loads(capsys.readouterr().out)["countermeasures"]["control"]
    rev5 = {c["id"] for c in listed if "/nist_800_53/rev5/" in c["iri"]}
    assert rev5 == expected and len(rev5) == 11
    assert {c["iri"].split("/control/")[1].split("/")[0] for c in listed} > {"nist_800_53"}


def test_paths_t1059_001_car_lists_the_analytics_covering_it(full_store, shared_data, capsys):
    import yaml

    expected = set()
    for file in (shared_data / "car" / "analytics").glob("*.yaml"):
        analytic = yaml.safe_load(file.read_text())
        for entry in analytic.get("coverage") or ():
            if "T1059.001" in (entry.get("subtechniques") or ()):
                expected.add(analytic["id"])
    assert main(["paths", "T1059.001", "--kind", "car", "--format", "json", "--store", str(full_store)]) == 0
    listed = {c["id"] for c in json.loads(capsys.readouterr().out)["countermeasures"]["car"]}
    assert listed == expected and expected


def test_paths_follow_the_revoked_t1574_002_mappings_to_t1574_001(full_store, capsys):
    assert main(["paths", "T1574.001", "--kind", "control", "--format", "json", "--store", str(full_store)]) == 0
    found = json.loads(capsys.readouterr().out)["paths"]
    via = [p for p in found if [n["id"] for n in p["nodes"][:2]] == ["T1574.001", "T1574.002"]]
    assert via and all(p["hops"][0]["key"] == "akg:revokedBy" for p in via)
    named = {str(r["control_id"]) for r in rows(open_store(full_store), "controls", technique="T1574.001")
             if str(r["mapped_id"]) == "T1574.002"}
    assert {p["countermeasure"]["id"] for p in via} == named


def test_cover_g0016_nist_800_53_recomputed_from_the_graph(full_store, capsys):
    """The picks and cumulative coverage of `cover --kind nist-800-53`, recomputed with SPARQL of
    this test's own: the group's techniques (its uses and its campaigns'), each control's techniques
    in the newest NIST file (rev5), the mapping edges on successors included (revocations graph)."""
    assert main(["cover", "G0016", "--kind", "nist-800-53", "--format", "json", "--store", str(full_store)]) == 0
    result = json.loads(capsys.readouterr().out)
    graph = oxigraph_of(open_store(full_store))

    def select(query: str) -> list:
        return list(graph.query(query, use_default_graph_as_union=True))

    group = f"""{{ <https://attack.mitre.org/groups/G0016> <{AKG}uses> ?t }} UNION
        {{ ?c <{AKG}attributedTo> <https://attack.mitre.org/groups/G0016> ; <{AKG}uses> ?t }}
        ?t a <{AKG}Technique> ; <{AKG}attackId> ?id ."""
    techniques = {r["id"].value for r in select(f"SELECT DISTINCT ?id WHERE {{ {group} }}")}
    assert set(result["techniques"]) == techniques
    query = f"""SELECT DISTINCT ?control ?id WHERE {{ {group}
        ?t <{AKG}mitigatedByControl> ?x . ?x <http://purl.org/dc/terms/identifier> ?control .
        FILTER(STRSTARTS(STR(?x), "https://w3id.org/attack-kg/control/nist_800_53/rev5/")) }}"""
    covers: dict[str, set[str]] = {}
    for r in select(query):
        covers.setdefault(r["control"].value, set()).add(r["id"].value)
    coverable = set().union(*covers.values())
    assert result["coverable"] == len(coverable) and set(result["uncovered"]) == techniques - coverable
    covered: set[str] = set()
    for step in result["steps"]:
        best = max(len(found - covered) for found in covers.values())
        assert set(step["gained"]) == covers[step["id"]] - covered and len(step["gained"]) == best
        covered |= covers[step["id"]]
        assert step["covered"] == len(covered)
        assert step["fraction"] == round(len(covered) / len(techniques), 4)
    assert covered == coverable and len(result["steps"]) >= 3
