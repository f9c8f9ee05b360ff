"""Controls, cloud capabilities, exploited CVEs and CAR analytics in every consumer (issue 13):
``paths --kind control|cloud|cve|car|all``, ``cover --kind nist-800-53``, revoked IDs followed
through the revocations graph, layer scores and report sections."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pyoxigraph as ox
import pytest
import yaml

from attackkg.builders.build import build_dataset, build_store
from attackkg.builders.oxstore import oxigraph_of
from attackkg.builders.store import open_store
from attackkg.ontology.namespaces import AKG, REVOCATIONS_GRAPH
from attackkg.queries import paths as P
from attackkg.queries import rows
from attackkg.queries.cli import main
from attackkg.queries.cli_pages import FRAMEWORK_CHOICES, PATH_KIND_CHOICES
from attackkg.queries.control_graph import CONTROL_KINDS, FRAMEWORK_KINDS
from attackkg.queries.graph import to_networkx

FIXTURES = Path(__file__).parent / "fixtures"
CHAIN = FIXTURES / "mappings" / "revoked-chain"


def test_the_cli_offers_every_kind_the_library_has():
    assert set(PATH_KIND_CHOICES) - {"all"} == set(P.PATH_KINDS)
    assert set(FRAMEWORK_CHOICES) == set(FRAMEWORK_KINDS)
    assert set(CONTROL_KINDS) <= set(P.PATH_KINDS)


# --- the fixture store: three mapping files, three CAR analytics ---------------------------------


@pytest.fixture(scope="module")
def fixture_graph(fixture_store):
    return to_networkx(open_store(fixture_store), predicates=P.PATH_PREDICATES)


def test_control_paths_are_the_mapping_files_edges(fixture_graph):
    source = json.loads((FIXTURES / "mappings" / "nist_800_53-rev5.json").read_text())["mapping_objects"]
    expected = {o["capability_id"] for o in source if o["attack_object_id"] == "T1204.001" and o["status"] == "complete"}
    found = P.paths(fixture_graph, "T1204.001", ["control"])
    assert {fixture_graph.nodes[p.countermeasure]["id"] for p in found} == expected and len(expected) == 11
    for path in found:
        assert [hop.key for hop in path.hops] == ["akg:mitigatedByControl"]
        node = fixture_graph.nodes[path.countermeasure]
        assert (node["kind"], node["framework"], node["framework_version"]) == ("control", "nist_800_53", "rev5")


def test_cloud_and_cve_paths(fixture_graph):
    aws = json.loads((FIXTURES / "mappings" / "aws.json").read_text())["mapping_objects"]
    found = P.paths(fixture_graph, "T1078", ["cloud", "control"])
    assert {p.kind for p in found} == {"cloud"}
    assert {fixture_graph.nodes[p.countermeasure]["id"] for p in found} == {
        o["capability_id"] for o in aws if o["attack_object_id"] == "T1078"
    }
    kev = json.loads((FIXTURES / "mappings" / "kev.json").read_text())["mapping_objects"]
    cves = P.paths(fixture_graph, "T1190", ["cve"])
    assert {fixture_graph.nodes[p.countermeasure]["id"] for p in cves} == {
        o["capability_id"] for o in kev if o["attack_object_id"] == "T1190"
    }
    assert all(fixture_graph.nodes[p.countermeasure]["kind"] == "cve" for p in cves)


def test_car_and_atomic_paths_include_sub_techniques(fixture_graph):
    covers = defaultdict(set)  # technique ID -> CAR analytics, read from the YAML files
    for file in (FIXTURES / "car" / "analytics").glob("*.yaml"):
        analytic = yaml.safe_load(file.read_text())
        for entry in analytic.get("coverage") or ():
            for technique in [entry["technique"], *(entry.get("subtechniques") or ())]:
                covers[technique].add(analytic["id"])
    found = P.paths(fixture_graph, "T1204", ["car", "atomic"])
    car = [p for p in found if p.kind == "car"]
    expected = {(a, t) for t, analytics in covers.items() if t.split(".")[0] == "T1204" for a in analytics}
    assert {(fixture_graph.nodes[p.countermeasure]["id"], fixture_graph.nodes[p.hops[-1].start]["id"]) for p in car} == expected
    assert expected and any(p.kind == "atomic" for p in found)
    for path in found:
        assert fixture_graph.nodes[path.countermeasure]["kind"] == P.TARGET_KIND[path.kind]
        assert path.hops[-1].key in ("akg:analyticCovers", "akg:emulates") and not path.hops[-1].forward
        reached = path.hops[-1].start
        assert reached == path.technique or fixture_graph.nodes[reached]["id"].startswith("T1204.")


def test_all_kinds_in_every_output_format(fixture_store, capsys):
    for fmt in ("table", "json", "mermaid", "dot"):
        assert main(["paths", "T1204.001", "--kind", "all", "--format", fmt, "--store", str(fixture_store)]) == 0
        out = capsys.readouterr().out
        assert "SI-03" in out or "SI-3" in out, fmt
    assert main(["paths", "T1204.001", "--kind", "control", "--format", "json", "--store", str(fixture_store)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data["countermeasures"]["control"]) == 11
    assert all(p["hops"][0]["graph"].startswith("https://w3id.org/attack-kg/graph/mappings/") for p in data["paths"])


# --- a technique revoked twice: counted for the end of the chain ----------------------------------


@pytest.fixture(scope="module")
def chain_store(tmp_path_factory):
    store_dir = tmp_path_factory.mktemp("chain") / "store"
    build_store(
        store_dir,
        attack_paths=[CHAIN / "attack-chain.json"],
        mappings_paths=[CHAIN / "nist_800_53-rev5-T1073.json"],
    )
    return store_dir


def test_a_mapping_naming_an_id_revoked_twice_counts_for_the_end_of_the_chain(chain_store):
    # attack-chain.json (cut from ATT&CK 18.1): T1073 revoked by T1574.002, revoked by T1574.001.
    bundle = json.loads((CHAIN / "attack-chain.json").read_text())
    ids = {o["id"]: r["external_id"] for o in bundle["objects"] for r in o.get("external_references", [])[:1]}
    revoked_by = {
        ids[o["source_ref"]]: ids[o["target_ref"]] for o in bundle["objects"] if o.get("relationship_type") == "revoked-by"
    }
    end = "T1073"
    while end in revoked_by:
        end = revoked_by[end]
    assert end == "T1574.001" and revoked_by["T1073"] == "T1574.002"
    source = json.loads((CHAIN / "nist_800_53-rev5-T1073.json").read_text())["mapping_objects"]
    controls = {o["capability_id"] for o in source}
    store = open_store(chain_store)
    found = rows(store, "controls", technique=end)
    assert {str(r["control_id"]) for r in found} == controls
    assert {str(r["note"]) for r in found} == {"T1073 revoked by T1574.001"}
    assert rows(store, "controls", technique="T1073") == rows(store, "controls", technique="T1574.002") == []
    for control in controls:
        back = rows(store, "techniques-for-control", control=control)
        assert {str(r["technique"]) for r in back} == {end}
    # the revocations graph says so: one akg:Resolution per mapping node and per one-hop edge
    ox_store = oxigraph_of(store)
    graph = ox.NamedNode(REVOCATIONS_GRAPH)
    query = f"""SELECT ?prop ?original WHERE {{ GRAPH <{graph.value}> {{ ?r a <{AKG}Resolution> ;
        <{AKG}referenceProperty> ?prop ; <{AKG}originalId> ?original ; <{AKG}successorId> "{end}" }} }}"""
    by_property = defaultdict(set)
    for prop, original in ox_store.query(query):
        by_property[prop.value.rsplit("#", 1)[-1]].add(original.value)
    assert by_property == {"controlMappingTechnique": {"T1073"}, "mitigatedByControl": {"T1073"}}
    # and the paths walk the chain back: T1574.001 <-revokedBy- T1574.002 <-revokedBy- T1073 -> control
    graph_nx = to_networkx(store, predicates=P.PATH_PREDICATES)
    paths = P.paths(graph_nx, end, ["control", "nist-800-53"])
    assert {graph_nx.nodes[p.countermeasure]["id"] for p in paths} == controls
    for path in paths:
        assert [graph_nx.nodes[n]["id"] for n in path.nodes[:3]] == ["T1574.001", "T1574.002", "T1073"]
        assert [h.key for h in path.hops] == ["akg:revokedBy", "akg:revokedBy", "akg:mitigatedByControl"]


def test_the_one_hop_revoked_fixture_still_counts_for_its_successor():
    dataset = build_dataset(
        attack_paths=[FIXTURES / "attack" / "small-enterprise-2.1.json"],
        mappings_paths=[FIXTURES / "mappings" / "revoked"],
    )
    found = rows(dataset, "controls", technique="T1027.005")
    assert found and all(str(r["note"]) == "T1066 revoked by T1027.005" for r in found)


# --- the coverage page and layers -----------------------------------------------------------------


def test_report_sections_list_what_the_files_map_with_release_and_total(fixture_store):
    from attackkg.queries import report
    from attackkg.queries.coverage_model import load_coverage

    store = open_store(fixture_store)
    page = report.report(store, "T1204.001")
    source = json.loads((FIXTURES / "mappings" / "nist_800_53-rev5.json").read_text())["mapping_objects"]
    expected = sorted(o["capability_id"] for o in source if o["attack_object_id"] == "T1204.001" and o["status"] == "complete")
    nist = page.split("### [NIST SP 800-53 controls]")[1].split("\n## ")[0]
    assert "**Release:** rev5 (ATT&CK 16.1 enterprise)" in nist
    assert "**ATT&CK-mapped controls for this (sub)technique:** 11" in nist
    assert [line.split()[1] for line in nist.splitlines() if line.startswith("* ")] == expected
    for heading in ("Cloud security controls", "MITRE Cyber Analytics Repository (CAR)", "Known exploited vulnerabilities"):
        assert heading in page
    html = report.report(store, "T1204.001", "html")
    assert html.count("<li>") >= 11 and "NIST SP 800-53 controls</a></h3>" in html
    # every section's total is the sum of its counts over every technique's page
    coverage = load_coverage(store)
    assert {s.key for s in coverage.control_sections} == {"nist-800-53", "cloud", "car", "kev"}
    for section in coverage.control_sections:
        assert section.total == sum(len(section.of(t)) for t in coverage.techniques), section.key
        assert section.total > 0


def test_layer_scores_by_nist_car_and_kev(fixture_store):
    from attackkg.queries import layer

    store = open_store(fixture_store)
    nist = json.loads((FIXTURES / "mappings" / "nist_800_53-rev5.json").read_text())["mapping_objects"]
    kev = json.loads((FIXTURES / "mappings" / "kev.json").read_text())["mapping_objects"]
    expected = {
        "nist-800-53": lambda t: len({o["capability_id"] for o in nist if o["attack_object_id"] == t and o["status"] == "complete"}),
        "kev": lambda t: len({o["capability_id"] for o in kev if o["attack_object_id"] == t}),
    }
    for score, count in expected.items():
        built = layer.build_layer(store, score)
        scores = {entry["techniqueID"]: entry["score"] for entry in built["techniques"]}
        assert scores and all(scores[t] == count(t) for t in scores), score
        assert any(scores.values())
    car = layer.build_layer(store, "car")
    assert {e["techniqueID"] for e in car["techniques"] if e["score"]} >= {"T1204", "T1204.002"}
    assert "MITRE Cyber Analytics Repository (CAR)" in car["description"]


def test_layer_by_a_control_score_needs_its_source(tmp_path):
    from attackkg.builders.base import InputError
    from attackkg.queries import layer

    store_dir = tmp_path / "store"
    build_store(store_dir, attack_paths=[FIXTURES / "attack" / "small-enterprise-2.1.json"])
    with pytest.raises(InputError, match="no MITRE CAR"):
        layer.build_layer(open_store(store_dir), "car")


def test_the_mappings_explorer_repository_folder_leaves_its_schema_out(tmp_path):
    from attackkg.builders import mappings

    (tmp_path / "schema").mkdir()
    (tmp_path / "schema" / "mapex-unified-data-schema.json").write_text("{}")
    (tmp_path / "mappings" / "nist").mkdir(parents=True)
    (tmp_path / "mappings" / "nist" / "nist.json").write_bytes((FIXTURES / "mappings" / "nist_800_53-rev5.json").read_bytes())
    assert mappings.expand(tmp_path) == [str(tmp_path / "mappings" / "nist" / "nist.json")]


def test_car_reads_the_repository_zip_as_the_folder(tmp_path):
    import zipfile

    from attackkg.builders import car

    archive = tmp_path / "car-1b922fe.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for path in sorted((FIXTURES / "car").glob("*/*.yaml")):
            if path.parent.name in ("analytics", "data_model"):
                out.write(path, f"car-1b922fe/{path.relative_to(FIXTURES / 'car').as_posix()}")
    folder, zipped = car.load(FIXTURES / "car"), car.load(archive)
    assert [a.id for a in zipped.analytics] == [a.id for a in folder.analytics] and folder.analytics
    assert car.graph_name(zipped) == car.graph_name(folder) and zipped.objects == folder.objects
