"""The networkx export and the countermeasure paths (queries/graph.py, queries/paths.py, the CLI).

Fixture store: the ATT&CK 18.1 cut (T1204 and its sub-techniques, G0016, M1017, M1021), the
Sigma repository cut, the Atomic cut, and MINI_D3FEND below, a made-up miniature of D3FEND's
shape (property hierarchy under d3f:may-be-associated-with, artifact classes, defensive
techniques, relations both as owl:someValuesFrom restrictions and as direct triples).
End to end: ATT&CK 18.1 + D3FEND 1.2.0 from the shared data.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
from contextlib import redirect_stdout
from pathlib import Path

import networkx as nx
import pyoxigraph as ox
import pytest
from expected import T1204_001_COUNTERMEASURES

from attackkg.builders.build import build_store
from attackkg.builders.store import open_store
from attackkg.ontology.namespaces import AKG, ATOMIC, D3F, attack_iri
from attackkg.queries import paths as P
from attackkg.queries.cli import main
from attackkg.queries.export import write_graph
from attackkg.queries.graph import curie, find_node, neighbourhood, to_networkx

T1204_001 = attack_iri("T1204.001")
T1204 = attack_iri("T1204")
T1204_002 = attack_iri("T1204.002")

MINI_D3FEND = """\
@prefix d3f: <http://d3fend.mitre.org/ontologies/d3fend.owl#> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .

<http://d3fend.mitre.org/ontologies/d3fend.owl> a owl:Ontology ; owl:versionInfo "0.0.1-test" .

d3f:may-be-associated-with a owl:ObjectProperty ; rdfs:label "may-be-associated-with" .
d3f:associated-with a owl:ObjectProperty ; rdfs:subPropertyOf d3f:may-be-associated-with .
d3f:accesses a owl:ObjectProperty ; rdfs:subPropertyOf d3f:associated-with ; rdfs:label "accesses" .
d3f:analyzes a owl:ObjectProperty ; rdfs:subPropertyOf d3f:associated-with ; rdfs:label "analyzes" .
d3f:enables a owl:ObjectProperty ; rdfs:label "enables" .
d3f:kb-article a owl:AnnotationProperty .

d3f:Artifact a owl:Class ; rdfs:label "Artifact" .
d3f:DigitalArtifact a owl:Class ; rdfs:subClassOf d3f:Artifact ; rdfs:label "Digital Artifact" .
d3f:Identifier a owl:Class ; rdfs:subClassOf d3f:DigitalArtifact ; rdfs:label "Identifier" .
d3f:URL a owl:Class ; rdfs:subClassOf d3f:Identifier ; rdfs:label "URL" .
d3f:File a owl:Class ; rdfs:subClassOf d3f:DigitalArtifact ; rdfs:label "File" .

d3f:DefensiveTactic a owl:Class ; rdfs:label "Defensive Tactic" .
d3f:Detect a owl:Class ; rdfs:subClassOf d3f:DefensiveTactic ; rdfs:label "Detect" .
d3f:DefensiveTechnique a owl:Class ; rdfs:label "Defensive Technique" .
d3f:NetworkAnalysis a owl:Class ; rdfs:subClassOf d3f:DefensiveTechnique ; d3f:d3fend-id "D3-NA" ;
    rdfs:label "Network Analysis" ;
    rdfs:subClassOf [ a owl:Restriction ; owl:onProperty d3f:enables ; owl:someValuesFrom d3f:Detect ] .
d3f:URLAnalysis a owl:Class ; rdfs:subClassOf d3f:NetworkAnalysis ; d3f:d3fend-id "D3-UA" ;
    rdfs:label "URL \\"Analysis\\" <test>" ; d3f:kb-article "annotation, not an edge" ;
    rdfs:subClassOf [ a owl:Restriction ; owl:onProperty d3f:analyzes ; owl:someValuesFrom d3f:URL ] .
d3f:IdentifierActivityAnalysis a owl:Class ; rdfs:subClassOf d3f:DefensiveTechnique ;
    d3f:d3fend-id "D3-IAA" ; rdfs:label "Identifier Activity Analysis" ;
    d3f:analyzes d3f:Identifier .
d3f:FileAnalysis a owl:Class ; rdfs:subClassOf d3f:DefensiveTechnique ; d3f:d3fend-id "D3-FA" ;
    rdfs:label "File Analysis" ;
    rdfs:subClassOf [ a owl:Restriction ; owl:onProperty d3f:analyzes ; owl:someValuesFrom d3f:File ] .

d3f:OffensiveTechnique a owl:Class .
d3f:ExecutionTechnique a owl:Class ; rdfs:subClassOf d3f:OffensiveTechnique ; d3f:attack-id "TA0002" .
d3f:T1204 a owl:Class ; rdfs:subClassOf d3f:ExecutionTechnique ; d3f:attack-id "T1204" ; rdfs:label "User Execution" ;
    rdfs:subClassOf [ a owl:Restriction ; owl:onProperty d3f:accesses ; owl:someValuesFrom d3f:File ] .
d3f:T1204.001 a owl:Class ; rdfs:subClassOf d3f:T1204 ; d3f:attack-id "T1204.001" ; rdfs:label "Malicious Link" ;
    rdfs:subClassOf [ a owl:Restriction ; owl:onProperty d3f:accesses ; owl:someValuesFrom d3f:URL ] .
d3f:T1204.002 a owl:Class ; rdfs:subClassOf d3f:T1204 ; d3f:attack-id "T1204.002" ; rdfs:label "Malicious File" .

d3f:ATTACKEnterpriseMitigation a owl:Class .
d3f:M1021 a owl:NamedIndividual, d3f:ATTACKEnterpriseMitigation ; rdfs:label "Restrict Web-Based Content" ;
    d3f:related d3f:URLAnalysis .
"""


def _run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(list(argv))
    return code, out.getvalue()


# --- fixture store ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_store(tmp_path_factory, fixtures) -> Path:
    root = tmp_path_factory.mktemp("graph")
    ontology = root / "mini-d3fend.ttl"
    ontology.write_text(MINI_D3FEND, encoding="utf-8")
    store = root / "store"
    build_store(
        store,
        attack_paths=[fixtures / "attack/small-enterprise-2.1.json"],
        d3fend_path=ontology,
        sigma_paths=[fixtures / "sigma/repo"],
        atomic_path=fixtures / "atomic",
    )
    return store


@pytest.fixture(scope="module")
def small(small_store) -> nx.MultiDiGraph:
    return to_networkx(open_store(small_store))


def test_nodes_are_typed_and_named(small):
    nodes = small.nodes
    assert nodes[T1204_001] == {
        "kind": "technique",
        "label": "Malicious Link",
        "id": "T1204.001",
        "iri": T1204_001,
        "d3fend_class": "d3f:T1204.001",
    }
    assert nodes[attack_iri("G0016")]["kind"] == "group" and nodes[attack_iri("G0016")]["label"] == "APT29"
    assert nodes[attack_iri("M1021")]["kind"] == "mitigation"
    assert nodes[attack_iri("TA0002")]["kind"] == "tactic"
    assert nodes[D3F + "URLAnalysis"]["kind"] == "d3fend-technique" and nodes[D3F + "URLAnalysis"]["id"] == "D3-UA"
    assert nodes[D3F + "URLAnalysis"]["tactic"] == "Detect"  # inherited from d3f:NetworkAnalysis
    assert nodes[D3F + "URL"]["kind"] == "artifact" and nodes[D3F + "URL"]["id"] == "d3f:URL"
    assert nodes[D3F + "Detect"]["kind"] == "d3fend-tactic"
    rules = [n for n, k in small.nodes(data="kind") if k == "sigma-rule"]
    assert len(rules) >= 10 and all(n.startswith("urn:uuid:") and nodes[n]["label"] for n in rules)
    tests = [n for n, k in small.nodes(data="kind") if k == "atomic-test"]
    assert tests and all(nodes[n]["id"] == n.removeprefix(ATOMIC) for n in tests)
    assert nodes[attack_iri("T1066")].get("revoked") is True
    # D3FEND's classes for ATT&CK techniques and mitigations are the ATT&CK nodes, not copies
    assert D3F + "T1204.001" not in small and D3F + "M1021" not in small
    for node, data in small.nodes(data=True):
        assert {"kind", "label", "id", "iri"} <= set(data) and data["iri"] == node


def test_no_schema_noise(small):
    for u, v, key, data in small.edges(keys=True, data=True):
        assert not u.startswith("_:") and not v.startswith("_:") and "d3fend_" not in u + v  # no restriction nodes
        assert key == curie(data["predicate"]) and data["graph"].startswith("https://w3id.org/attack-kg/graph/")
        assert key not in ("rdf:type", "owl:onProperty", "owl:someValuesFrom", "akg:citation", "akg:source")
        assert key not in ("d3f:kb-article", "rdfs:label", "akg:d3fendClass")
    kinds = {k for _, k in small.nodes(data="kind")}
    assert "unknown" not in kinds
    # D3FEND's copy of the ATT&CK tactic (d3f:T1204 subClassOf d3f:ExecutionTechnique) is left out
    assert not any(v == D3F + "ExecutionTechnique" for v in small.successors(T1204))


def test_d3fend_relations_become_edges(small):
    # restriction form and direct form alike
    assert small.has_edge(T1204_001, D3F + "URL", key="d3f:accesses")
    assert small.has_edge(D3F + "URLAnalysis", D3F + "URL", key="d3f:analyzes")
    assert small.has_edge(D3F + "IdentifierActivityAnalysis", D3F + "Identifier", key="d3f:analyzes")
    assert small.has_edge(D3F + "URL", D3F + "Identifier", key="rdfs:subClassOf")
    assert small.has_edge(D3F + "NetworkAnalysis", D3F + "Detect", key="d3f:enables")
    assert small.edges[T1204_001, D3F + "URL", "d3f:accesses"]["graph"].endswith("/d3fend/0.0.1-test")
    assert small.has_edge(T1204_001, D3F + "URLAnalysis", key="akg:counteredBy")
    assert small.has_edge(attack_iri("M1021"), D3F + "URLAnalysis", key="akg:relatedDefensiveTechnique")
    assert set(small.graph["artifact_relations"]) == {
        "d3f:may-be-associated-with",
        "d3f:associated-with",
        "d3f:accesses",
        "d3f:analyzes",
    }


def test_parts_of_the_graph(small_store):
    store = open_store(small_store)
    only_attack = to_networkx(store, sources=["attack"])
    assert {d["graph"].split("/graph/")[1].split("/")[0] for _, _, d in only_attack.edges(data=True)} == {"attack"}
    techniques = to_networkx(store, kinds=["technique"])
    assert {k for _, k in techniques.nodes(data="kind")} == {"technique"}
    assert techniques.has_edge(T1204_001, T1204, key="akg:subtechniqueOf")
    chosen = to_networkx(store, predicates=["akg:mitigates"])
    assert {k for _, _, k in chosen.edges(keys=True) if k.startswith("akg:")} == {"akg:mitigates"}
    with pytest.raises(Exception, match="unknown source kind"):
        to_networkx(store, sources=["nope"])


def test_find_node(small):
    assert find_node(small, "t1204.001") == T1204_001
    assert find_node(small, "D3-UA") == D3F + "URLAnalysis"
    assert find_node(small, "d3f:URL") == D3F + "URL"
    with pytest.raises(Exception, match="not in the graph"):
        find_node(small, "T9999")


def _explanations(graph: nx.MultiDiGraph, found) -> set[tuple[str, ...]]:
    """(via, offensive relation, Ao, Ad, defensive relation, D) of each D3FEND path, as IRIs (after
    the akg:revokedBy hop of a path resolved from a revoked predecessor)."""
    out = set()
    for path in found:
        lead = (1 if path.specificity else 0) + (1 if path.hops[0].key == "akg:revokedBy" else 0)
        first, last = path.hops[lead], path.hops[-1]
        out.add(
            (
                first.source,
                graph.edges[first.source, first.target, first.key]["predicate"],
                first.target,
                last.target,
                graph.edges[last.source, last.target, last.key]["predicate"],
                path.countermeasure,
            )
        )
    return out


def _mappings(store: ox.Store) -> dict[str, set[tuple[str, ...]]]:
    """The derived graph's explanations (builders/countermeasures.py), read with SPARQL."""
    query = f"""SELECT ?t ?via ?orel ?oa ?da ?drel ?d WHERE {{
        ?m a <{AKG}ArtifactMapping> ; <{AKG}mappedTechnique> ?t ; <{AKG}viaTechnique> ?via ;
           <{AKG}offensiveRelation> ?orel ; <{AKG}offensiveArtifact> ?oa ; <{AKG}defensiveArtifact> ?da ;
           <{AKG}defensiveRelation> ?drel ; <{AKG}defensiveTechnique> ?d }}"""
    found: dict[str, set[tuple[str, ...]]] = {}
    for row in store.query(query, use_default_graph_as_union=True):
        found.setdefault(row[0].value, set()).add(tuple(term.value for term in row)[1:])
    return found


def _assert_paths_are_the_mappings(graph: nx.MultiDiGraph, store: ox.Store) -> int:
    expected = _mappings(store)
    techniques = [n for n, k in graph.nodes(data="kind") if k == "technique"]
    for technique in techniques:
        found = P.paths(graph, technique, ["d3fend"])
        own = [p for p in found if p.hops[0].key != "akg:revokedBy"]
        assert _explanations(graph, own) == expected.get(technique, set()), technique
        # Paths resolved from a revoked predecessor (builders/revocations.py): the predecessor's own
        # mappings, for countermeasures the technique has no mapping of its own for.
        mine = {explanation[-1] for explanation in expected.get(technique, set())}
        for path in found:
            if path.hops[0].key == "akg:revokedBy":
                original = path.hops[0].source
                assert _explanations(graph, [path]) <= expected.get(original, set()), (technique, original)
                assert path.countermeasure not in mine, technique
            assert all(graph.has_edge(h.source, h.target, h.key) for h in path.hops)
    return sum(len(v) for v in expected.values())


def test_d3fend_paths_are_the_inferred_mappings(small, small_store):
    assert _assert_paths_are_the_mappings(small, open_store(small_store)) == 7


def test_d3fend_paths_draw_the_stored_mapping_nodes(small, small_store):
    """Each D3FEND path names the mapping node the build stored, and draws its explanation; without
    the stored explanations on the akg:counteredBy edges there is no D3FEND path."""
    store = open_store(small_store)
    query = f"""SELECT ?t ?via ?orel ?oa ?da ?drel ?d WHERE {{ ?m <{AKG}mappedTechnique> ?t ;
        <{AKG}viaTechnique> ?via ; <{AKG}offensiveRelation> ?orel ; <{AKG}offensiveArtifact> ?oa ;
        <{AKG}defensiveArtifact> ?da ; <{AKG}defensiveRelation> ?drel ; <{AKG}defensiveTechnique> ?d }}"""
    found = P.paths(small, "T1204", ["d3fend"])
    assert len({p.mapping for p in found}) == len(found) > 0
    for path in found:
        prepared = query.replace("?m ", f"<{path.mapping}> ")
        stored = [tuple(t.value for t in row) for row in store.query(prepared, use_default_graph_as_union=True)]
        assert stored == [(path.technique, *next(iter(_explanations(small, [path]))))]
    bare = small.copy()
    for _, _, data in bare.edges(data=True):
        data.pop("mappings", None)
    assert P.paths(bare, "T1204.001", ["d3fend"]) == []
    assert P.paths(bare, "T1204.001", ["mitigation-d3fend"]) == P.paths(small, "T1204.001", ["mitigation-d3fend"])


@pytest.mark.parametrize("form", ["source-form", "release-form"])
def test_d3fend_fixture_paths_are_the_inferred_mappings(form, fixtures, tmp_path):
    """On the real D3FEND cuts: 1.2.0 (restrictions only) and 0.17.0 (direct triples too)."""
    found = sorted((fixtures / "d3fend").glob(f"{form}*/d3fend.ttl"))
    assert found, f"no D3FEND {form} fixture under {fixtures / 'd3fend'}"
    build_store(tmp_path, attack_paths=[fixtures / "attack/small-enterprise-2.1.json"], d3fend_path=found[0])
    store = open_store(tmp_path)
    graph = to_networkx(store)
    assert _assert_paths_are_the_mappings(graph, store) > 0
    reached = {graph.nodes[d]["id"] for d in P.countermeasures(P.paths(graph, "T1204.001", ["d3fend"]))}
    assert {"D3-UA", "D3-NTF"} <= reached


def test_sigma_paths_are_the_detections_query(small_store, small):
    from attackkg.queries import library, rows

    assert "detections" in library(), "queries/detections.rq is missing"
    for technique in ("T1204", "T1204.001", "T1204.002"):
        expected = {
            (r["rule_id"], r["tagged"]) for r in rows(open_store(small_store), "detections", technique=technique)
        }
        found = {
            (small.nodes[p.countermeasure]["id"], small.nodes[p.hops[-1].target]["id"])
            for p in P.paths(small, technique, ["sigma"])
        }
        assert found == expected and found, technique


def test_paths_of_a_technique(small):
    found = P.paths(small, "T1204.001")
    text = [(p.kind, P.describe(small, p)) for p in found]
    assert text[:3] == [
        ("d3fend", "T1204.001 -[accesses]-> URL <-[analyzes]- D3-UA"),
        ("d3fend", "T1204.001 -[accesses]-> URL -[subClassOf]-> Identifier <-[analyzes]- D3-IAA"),
        ("d3fend", "T1204.001 -[subtechniqueOf]-> T1204 -[accesses]-> File <-[analyzes]- D3-FA"),
    ]
    assert [p.specificity for p in found[:3]] == [0, 0, 2]
    assert ("mitigation", "T1204.001 <-[mitigates]- M1021") in text
    assert ("mitigation-d3fend", "T1204.001 <-[mitigates]- M1021 -[relatedDefensiveTechnique]-> D3-UA") in text
    sigma = [p for p in found if p.kind == "sigma"]
    assert len(sigma) == 4 and all(len(p) == 1 for p in sigma)  # the four rules tagged attack.t1204.001
    kinds = [p.kind for p in found]
    assert kinds == sorted(kinds, key=P.PATH_KINDS.index)
    for kind in P.PATH_KINDS:
        lengths = [len(p) for p in found if p.kind == kind]
        assert lengths == sorted(lengths)
    for path in found:
        assert path.nodes[0] == T1204_001 and path.nodes[-1] == path.countermeasure
        for hop, (start, end) in zip(path.hops, zip(path.nodes, path.nodes[1:])):
            assert (hop.start, hop.end) == (start, end) and small.has_edge(hop.source, hop.target, hop.key)
        assert small.nodes[path.countermeasure]["kind"] == P.TARGET_KIND[path.kind]


def test_sigma_paths_through_sub_techniques(small):
    found = P.paths(small, "T1204", ["sigma"])
    # the macOS Script Editor rule tags attack.t1204 and attack.t1204.001: direct first
    direct = [p for p in found if len(p) == 1]
    assert len(direct) == 1 and small.nodes[direct[0].countermeasure]["label"].startswith("Suspicious Execution via")
    assert found[0] == direct[0]
    through = [p for p in found if len(p) == 2]
    assert all(p.specificity == 1 and p.hops[0].key == "akg:subtechniqueOf" for p in through)
    assert {p.hops[0].source for p in through} == {T1204_001, T1204_002}  # the office rule tags T1204.002
    on_001 = {p.countermeasure for p in P.paths(small, "T1204.001", ["sigma"])}
    assert {p.countermeasure for p in through if p.hops[0].source == T1204_001} == on_001
    # D3FEND through a sub-technique: T1204 reaches URL Analysis through T1204.001
    d3fend = P.paths(small, "T1204", ["d3fend"])
    assert ("T1204 <-[subtechniqueOf]- T1204.001 -[accesses]-> URL <-[analyzes]- D3-UA") in [
        P.describe(small, p) for p in d3fend
    ]


def test_techniques_coverage_and_set_cover(small):
    techniques = P.techniques_of(small, ["G0016"])
    assert [small.nodes[t]["id"] for t in techniques] == ["T1204.001", "T1204.002", "T1566.002"]
    cov = P.coverage(small, techniques)
    assert [small.nodes[t]["id"] for t in cov.covered("d3fend")] == ["T1204.001", "T1204.002"]
    assert cov.summary()["d3fend"] == {"covered": 2, "techniques": 3, "fraction": 0.6667, "countermeasures": 3}
    assert cov.summary()["mitigation"]["covered"] == 3
    cover = P.set_cover(small, techniques, "d3fend", cover_of=cov)
    assert [small.nodes[s.countermeasure]["id"] for s in cover.steps] == ["D3-FA"]  # covers both, via T1204
    assert cover.steps[0].covered == 2 and cover.steps[0].fraction == pytest.approx(2 / 3)
    assert [small.nodes[t]["id"] for t in cover.uncovered] == ["T1566.002"] and cover.coverable == 2


def _toy_cover_graph() -> nx.MultiDiGraph:
    """Techniques t1..t6 and defences, the classic case where greedy takes the big set first."""
    graph = nx.MultiDiGraph(artifact_relations=["d3f:r"])
    covers = {"A": [1, 2, 3, 4], "B": [1, 2, 5], "C": [3, 4, 6], "D": [5, 6]}
    for t in range(1, 8):
        graph.add_node(f"t{t}", kind="technique", id=f"T000{t}", label=f"t{t}", d3fend_class=f"d3f:T000{t}")
        graph.add_edge(f"t{t}", f"a{t}", key="d3f:r")
        graph.add_node(f"a{t}", kind="artifact", id=f"a{t}", label=f"a{t}")
    for defence, members in covers.items():
        graph.add_node(defence, kind="d3fend-technique", id=f"D3-{defence}", label=defence)
        for t in members:
            graph.add_edge(defence, f"a{t}", key="d3f:r")
            explanation = {"via": f"t{t}", "offensive_artifact": f"a{t}", "defensive_artifact": f"a{t}"}
            explanation |= {
                "mapping": f"urn:x:m{t}{defence}",
                "offensive_relation": "d3f:r",
                "defensive_relation": "d3f:r",
            }
            graph.add_edge(f"t{t}", defence, key="akg:counteredBy", mappings=[explanation])
    return graph


def test_greedy_set_cover_steps():
    graph = _toy_cover_graph()
    techniques = [f"t{t}" for t in range(1, 8)]
    cover = P.set_cover(graph, techniques)
    assert [(s.countermeasure, s.gained, s.covered) for s in cover.steps] == [
        ("A", ("t1", "t2", "t3", "t4"), 4),
        ("D", ("t5", "t6"), 6),
    ]
    assert cover.uncovered == ["t7"] and cover.coverable == 6
    assert cover.steps[-1].fraction == pytest.approx(6 / 7)
    assert [s.countermeasure for s in P.set_cover(graph, techniques, top=1).steps] == ["A"]
    ranks = P.artifact_centrality(graph)
    assert ranks[0].artifact in {"a1", "a2", "a3", "a4", "a5", "a6"} and ranks[0].defences == 2
    assert "a7" not in {r.artifact for r in ranks}


def test_artifact_centrality(small):
    ranks = P.artifact_centrality(small)
    by = {r.artifact: r for r in ranks}
    # URL: T1204.001 and (through its sub-technique) T1204 reach D3-UA and D3-IAA through it
    assert by[D3F + "URL"].techniques == 2 and by[D3F + "URL"].defences == 2
    assert by[D3F + "File"].techniques == 3  # T1204 and both sub-techniques (through the parent)
    assert ranks[0].artifact == D3F + "File"


def test_mermaid_output(small):
    found = P.paths(small, "T1204.001")
    text = P.to_mermaid(small, found)
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    node = re.compile(r'^    n\d+\["[^"]*"\]$')
    edge = re.compile(r'^    n\d+ -->\|"[^"]*"\| n\d+$')
    style = re.compile(r"^    (classDef [a-z0-9_]+ [a-z:#0-9,]+|class n\d+(,n\d+)* [a-z0-9_]+)$")
    for line in lines[1:]:
        assert node.match(line) or edge.match(line) or style.match(line), line
    # the label with quotes and angle brackets is escaped with Mermaid's entity codes
    assert "URL #quot;Analysis#quot; #lt;test#gt;" in text
    assert sum(1 for line in lines if edge.match(line)) == len(P.path_edges(found))


def test_dot_output(small, tmp_path):
    found = P.paths(small, "T1204.001")
    text = P.to_dot(small, found, name="T1204.001")
    assert text.startswith('digraph "T1204.001" {') and text.rstrip().endswith("}")
    assert 'label="D3-UA\\nURL \\"Analysis\\" <test>"' in text
    assert "dir=back" in text  # D3-UA -analyzes-> URL, walked from URL
    if shutil.which("dot") is None:
        # CI installs Graphviz (.ci/run), so there the rendering always runs
        missing = pytest.fail if os.environ.get("CI") else pytest.skip
        missing("Graphviz dot not installed (apt-get install graphviz): the DOT text is checked, not rendered")
    out = subprocess.run(["dot", "-Tsvg"], input=text, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "<svg" in out.stdout and "D3&#45;UA" in out.stdout


def test_json_output(small):
    found = P.paths(small, "T1204.001", ["d3fend", "sigma"])
    data = json.loads(json.dumps(P.to_json(small, "T1204.001", found)))
    assert data["technique"]["id"] == "T1204.001"
    assert [c["id"] for c in data["countermeasures"]["d3fend"]] == ["D3-UA", "D3-IAA", "D3-FA"]
    assert len(data["countermeasures"]["sigma"]) == 4
    first = data["paths"][0]
    assert first["rank"] == 1 and first["length"] == 2 and first["countermeasure"]["id"] == "D3-UA"
    assert [h["direction"] for h in first["hops"]] == ["forward", "backward"]
    assert first["hops"][1]["predicate"] == D3F + "analyzes"


def test_write_graph_formats(small, tmp_path):
    sub = neighbourhood(small, T1204_001, radius=2)
    assert T1204 in sub and D3F + "URL" in sub
    for suffix in (".graphml", ".gexf", ".json"):
        path = tmp_path / f"g{suffix}"
        assert write_graph(sub, path) == (sub.number_of_nodes(), sub.number_of_edges())
        if suffix == ".graphml":
            back = nx.read_graphml(path, force_multigraph=True)
        elif suffix == ".gexf":
            back = nx.read_gexf(path)
        else:
            back = nx.node_link_graph(json.loads(path.read_text()), edges="edges")
        assert back.number_of_nodes() == sub.number_of_nodes() and back.number_of_edges() == sub.number_of_edges()
        assert back.nodes[T1204_001]["kind"] == "technique"
        assert back.has_edge(T1204_001, D3F + "URL")
    with pytest.raises(Exception, match="unknown graph format"):
        write_graph(sub, tmp_path / "g.xyz")


def test_cli_paths_and_export(small_store, tmp_path, capsys):
    code, out = _run("paths", "T1204.001", "--kind", "d3fend", "--format", "json", "--store", str(small_store))
    assert code == 0
    assert [c["id"] for c in json.loads(out)["countermeasures"]["d3fend"]] == ["D3-UA", "D3-IAA", "D3-FA"]
    code, out = _run("paths", "T1204.001", "--store", str(small_store))
    assert code == 0 and "T1204.001 -[accesses]-> URL <-[analyzes]- D3-UA" in out
    code, out = _run("paths", "T1204.001", "--format", "mermaid", "--store", str(small_store))
    assert code == 0 and out.startswith("flowchart LR\n")
    code, out = _run("paths", "T1204.001", "--format", "dot", "--store", str(small_store))
    assert code == 0 and out.startswith("digraph")
    capsys.readouterr()
    assert main(["paths", "T9999", "--store", str(small_store)]) == 1
    assert "not in the graph" in capsys.readouterr().err
    assert main(["paths", "G0016", "--store", str(small_store)]) == 1
    assert "is a group, not a technique" in capsys.readouterr().err
    code, _ = _run("paths", "T1066", "--store", str(small_store))
    assert code == 0 and "revoked or deprecated; see T1027.005" in capsys.readouterr().err
    code, out = _run("export", str(tmp_path / "g.graphml"), "--store", str(small_store))
    assert code == 0 and "nodes and" in out
    assert nx.read_graphml(tmp_path / "g.graphml", force_multigraph=True).has_edge(T1204_001, D3F + "URL")


def test_cli_cover(small_store, capsys):
    code, out = _run("cover", "G0016", "--store", str(small_store))
    assert code == 0
    assert "G0016 APT29: 3 techniques" in out and "d3fend 2/3 (67%)" in out
    assert re.search(r"^1\s+D3-FA\s+File Analysis\s+\+2\s+2/3\s+66\.7%$", out, re.MULTILINE), out
    assert "none: T1566.002" in out
    code, out = _run("cover", "G0016", "--kind", "sigma", "--format", "json", "--store", str(small_store))
    data = json.loads(out)
    assert data["kind"] == "sigma" and data["steps"][0]["covered"] >= 1
    assert data["techniques"] == ["T1204.001", "T1204.002", "T1566.002"]
    capsys.readouterr()
    assert main(["cover", "G0016", "--top", "0", "--store", str(small_store)]) == 1


# --- end to end on the shared data (ATT&CK 18.1, D3FEND 1.2.0, Sigma, Atomic) --------------------------------------


@pytest.fixture(scope="module")
def full_store(full_store_dir) -> Path:
    """The session's full build (tests/conftest.py), Sigma and Atomic included."""
    return full_store_dir


def test_full_paths_reach_what_query_countermeasures_gives(full_store, full_memory_store):
    code, out = _run("paths", "T1204.001", "--format", "json", "--store", str(full_store))  # every kind
    assert code == 0
    data = json.loads(out)
    reached = {c["id"]: c["label"] for c in data["countermeasures"]["d3fend"]}
    code, out = _run(
        "query", "countermeasures", "--param", "technique=T1204.001", "--format", "json", "--store", str(full_store)
    )
    assert code == 0
    rows = json.loads(out)["results"]["bindings"]
    assert set(reached) == {row["d3fend_id"]["value"] for row in rows}
    assert set(reached.values()) == set(T1204_001_COUNTERMEASURES)
    assert {p["nodes"][-1]["id"] for p in data["paths"] if p["kind"] == "d3fend"} == set(reached)

    # every hop of every path, of every kind, is an edge of the graph the library exports (to_networkx;
    # its files, node-link JSON read back among them, are tested on the small store above)
    every = data["paths"]
    # The session build has CTID's mappings: NIST 800-53 and CRI controls, cloud scores, KEV's CVEs.
    kinds = {"d3fend", "mitigation", "mitigation-d3fend", "sigma", "control", "cloud", "cve"}
    assert {p["kind"] for p in every} == kinds
    exported = to_networkx(full_memory_store)
    for path in every:
        assert path["nodes"][0]["id"] == "T1204.001"
        for hop in path["hops"]:
            assert exported.has_edge(hop["source"], hop["target"], key=hop["key"]), hop
            assert exported.edges[hop["source"], hop["target"], hop["key"]]["predicate"] == hop["predicate"]


def test_full_paths_are_all_the_mappings(full_memory_store):
    store = full_memory_store
    graph = to_networkx(store)
    assert _assert_paths_are_the_mappings(graph, store) > 7000


def test_full_cover_g0016_agrees_with_the_graph(full_store, full_memory_store):
    code, out = _run("cover", "G0016", "--kind", "d3fend", "--format", "json", "--store", str(full_store))
    assert code == 0
    data = json.loads(out)
    # recomputed apart from the path search: the group's techniques (its own uses and those of the
    # campaigns attributed to it, as ATT&CK counts them) and the one-hop akg:counteredBy edges,
    # read with SPARQL from the store (its copy in memory)
    store = full_memory_store
    group = attack_iri("G0016")
    techniques = {
        row[0].value
        for row in store.query(
            f"SELECT ?t WHERE {{ {{ <{group}> <{AKG}uses> ?t }} UNION "
            f"{{ ?c <{AKG}attributedTo> <{group}> ; a <{AKG}Campaign> ; <{AKG}uses> ?t }} ?t a <{AKG}Technique> }}",
            use_default_graph_as_union=True,
        )
    }
    assert len(techniques) == 119
    assert sorted(data["techniques"]) == sorted(t.rsplit("/techniques/", 1)[1].replace("/", ".") for t in techniques)
    countered: dict[str, set[str]] = {}
    for t, _, ident in store.query(
        f"SELECT ?t ?d ?id WHERE {{ ?t <{AKG}counteredBy> ?d . ?d <{D3F}d3fend-id> ?id }}",
        use_default_graph_as_union=True,
    ):
        if t.value in techniques:
            countered.setdefault(ident.value, set()).add(t.value)
    covered: set[str] = set()
    for step in data["steps"]:
        best = max(len(ts - covered) for ts in countered.values())
        gained = countered[step["id"]] - covered
        assert len(gained) == best == len(step["gained"])  # greedy: the largest gain at each step
        covered |= gained
        assert step["covered"] == len(covered)
        assert step["fraction"] == round(len(covered) / len(techniques), 4)
    assert covered == set().union(*countered.values())  # all coverable techniques covered
    assert data["coverable"] == len(covered)
    assert len(data["uncovered"]) == len(techniques) - len(covered)  # the table's rows: test_cli_cover
