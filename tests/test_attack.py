"""The ATT&CK builder on fixtures cut from ATT&CK 18.1, and on the full bundles."""

from __future__ import annotations

import gzip
import shutil

import pytest
import rdflib
from rdflib.compare import isomorphic

from attackkg.builders import attack
from attackkg.builders.base import InputError
from attackkg.builders.build import build_source
from attackkg.ontology.namespaces import AKG, attack_iri

AKG_NS = rdflib.Namespace(AKG)
T1204_001 = rdflib.URIRef(attack_iri("T1204.001"))


def build_graph(path) -> rdflib.Graph:
    bundle = attack.load(path)
    graph = rdflib.Graph()
    build_source("attack", bundle, graph)
    return graph


@pytest.fixture(scope="module", params=["small-enterprise-2.0.json", "small-enterprise-2.1.json"])
def small(request, fixtures) -> rdflib.Graph:
    return build_graph(fixtures / "attack" / request.param)


def test_technique_fields(small):
    assert (T1204_001, rdflib.RDF.type, AKG_NS.Technique) in small
    assert small.value(T1204_001, rdflib.RDFS.label) == rdflib.Literal("Malicious Link")
    assert small.value(T1204_001, AKG_NS.attackId) == rdflib.Literal("T1204.001")
    assert small.value(T1204_001, AKG_NS.subtechniqueOf) == rdflib.URIRef(attack_iri("T1204"))
    assert small.value(T1204_001, AKG_NS.isSubtechnique).toPython() is True
    tactics = set(small.objects(T1204_001, AKG_NS.tactic))
    assert tactics == {rdflib.URIRef("https://attack.mitre.org/tactics/TA0002")}
    assert small.value(next(iter(tactics)), rdflib.RDFS.label) == rdflib.Literal("Execution")
    assert "clicking a malicious link" in str(small.value(T1204_001, rdflib.DCTERMS.description))
    platforms = {str(p) for p in small.objects(T1204_001, AKG_NS.platform)}
    assert {"Linux", "Windows", "macOS"} <= platforms
    assert small.value(T1204_001, rdflib.DCTERMS.created).datatype == rdflib.XSD.dateTime
    assert small.value(T1204_001, rdflib.OWL.versionInfo) is not None
    assert small.value(T1204_001, AKG_NS.revoked).toPython() is False


def test_relationships_are_edges_and_nodes(small):
    mitigation = rdflib.URIRef(attack_iri("M1021"))
    group = rdflib.URIRef(attack_iri("G0016"))
    assert (mitigation, AKG_NS.mitigates, T1204_001) in small
    used = set(small.objects(group, AKG_NS.uses))
    assert rdflib.URIRef(attack_iri("T1566.002")) in used
    # The relationship node keeps ATT&CK's procedure example and its citations.
    nodes = [
        node
        for node in small.subjects(AKG_NS.source, group)
        if small.value(node, AKG_NS.target) == rdflib.URIRef(attack_iri("T1566.002"))
    ]
    assert len(nodes) == 1
    node = nodes[0]
    assert small.value(node, AKG_NS.relationshipType) == rdflib.Literal("uses")
    assert str(small.value(node, rdflib.DCTERMS.description)).strip()
    citation = small.value(node, AKG_NS.citation)
    assert (citation, rdflib.RDF.type, AKG_NS.Citation) in small
    assert small.value(citation, rdflib.DCTERMS.bibliographicCitation) is not None


def test_revoked_and_detection(small):
    revoked = rdflib.URIRef(attack_iri("T1066"))
    assert small.value(revoked, AKG_NS.revoked).toPython() is True
    assert small.value(revoked, AKG_NS.revokedBy) == rdflib.URIRef(attack_iri("T1027.005"))
    strategy = rdflib.URIRef(attack_iri("DET0066"))
    assert (strategy, AKG_NS.detects, T1204_001) in small
    analytics = list(small.objects(strategy, AKG_NS.analytic))
    assert analytics and all(small.value(a, AKG_NS.dataComponent) is not None for a in analytics)


def test_both_stix_versions_give_the_same_graph(fixtures):
    graph20 = build_graph(fixtures / "attack" / "small-enterprise-2.0.json")
    graph21 = build_graph(fixtures / "attack" / "small-enterprise-2.1.json")
    assert isomorphic(graph20, graph21)
    assert attack.load(fixtures / "attack" / "small-enterprise-2.1.json").version == "18.1"
    assert attack.load(fixtures / "attack" / "small-enterprise-2.0.json").version is None


def test_unknown_types_are_counted_not_fatal(fixtures):
    bundle = attack.load(fixtures / "attack" / "small-enterprise-2.0.json")
    report = build_source("attack", bundle, rdflib.Graph())
    assert bundle.skipped == {"x-mitre-unknown-thing": 1}
    assert any("x-mitre-unknown-thing" in warning for warning in report.warnings)


def test_gzip_reads_like_plain(fixtures, tmp_path):
    plain = fixtures / "attack" / "small-enterprise-2.0.json"
    packed = tmp_path / "enterprise-attack-18.1.json.gz"
    with plain.open("rb") as source, gzip.open(packed, "wb") as target:
        shutil.copyfileobj(source, target)
    bundle = attack.load(packed)
    assert bundle.version == "18.1"
    assert isomorphic(build_graph(plain), build_graph(packed))


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("truncated/enterprise-attack.json", "not valid JSON"),
        ("not-a-bundle/enterprise-attack.json", "not a STIX bundle"),
    ],
)
def test_bad_bundles(fixtures, case, message):
    path = fixtures / "attack" / case
    with pytest.raises(InputError) as caught:
        attack.load(path)
    line = str(caught.value)
    assert line.startswith(f"{path}:") and message in line
    assert caught.value.line is not None


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        attack.load(tmp_path / "nope.json")


def test_full_enterprise_bundle(shared_data, full_memory_store):
    """The bundle as read, against its graph in the session's full build (its copy in memory)."""
    bundle = attack.load(shared_data / "attack" / "enterprise-attack-18.1.json.gz")
    assert (bundle.domain, bundle.version) == ("enterprise-attack", "18.1")
    graph = attack.graph_name(bundle)

    def count(where: str) -> int:
        answer = full_memory_store.query(f"SELECT (COUNT(DISTINCT ?x) AS ?n) WHERE {{ GRAPH <{graph}> {{ {where} }} }}")
        return int(next(iter(answer))["n"].value)

    assert count(f"?x a <{AKG}Technique>") == 835
    assert count(f"?x a <{AKG}Tactic>") == 14
    assert count(f"?x a <{AKG}Technique> ; <{AKG}revoked> true") > 0
    assert count(f"?x a <{AKG}Technique> ; <http://www.w3.org/2002/07/owl#deprecated> true") > 0
    sub_relationships = {
        (o["source_ref"], o["target_ref"])
        for o in bundle.objects
        if o["type"] == "relationship" and o["relationship_type"] == "subtechnique-of"
    }
    assert count(f"?x <{AKG}subtechniqueOf> ?p . BIND(?x AS ?y)") == len({s for s, _ in sub_relationships})
    procedures = sum(1 for o in bundle.objects if o["type"] == "relationship" and o.get("description"))
    assert count(f"?x a <{AKG}Relationship> ; <http://purl.org/dc/terms/description> ?d") == procedures


@pytest.mark.parametrize("domain", ["mobile", "ics"])
def test_other_domains(shared_data, domain):
    bundle = attack.load(shared_data / "attack" / f"{domain}-attack-18.1.json.gz")
    assert bundle.domain == f"{domain}-attack"
    graph = rdflib.Graph()
    report = build_source("attack", bundle, graph)
    assert report.counts["Technique"] > 50
    assert len(set(graph.subjects(rdflib.RDF.type, AKG_NS.Tactic))) >= 12
