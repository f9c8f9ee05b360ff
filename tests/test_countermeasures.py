"""D3FEND's countermeasure inference: the rule on fixtures, the materialized graph, the query,
and end to end on the full D3FEND 1.2.0 and 0.17.0 ontologies."""

from __future__ import annotations

import pyoxigraph as ox
import pytest
import rdflib
from expected import T1204_001_COUNTERMEASURES

from attackkg.builders import countermeasures as cm
from attackkg.builders import d3fend
from attackkg.builders.base import InputError
from attackkg.builders.build import build_source
from attackkg.builders.store import as_dataset
from attackkg.ontology import declared_terms
from attackkg.ontology.namespaces import AKG, COUNTERMEASURES_GRAPH, D3F, OWL, RDFS, attack_iri, graph_iri
from attackkg.queries import parse_query, rows

SOURCE_FORM = "d3fend/source-form-1.2.0/d3fend.ttl"
RELEASE_FORM = "d3fend/release-form-0.17.0/d3fend.ttl"
FORMS = [SOURCE_FORM, RELEASE_FORM]


def d(local: str) -> str:
    return D3F + local


def pairs(inference: cm.Inference) -> set[tuple[str, str]]:
    return {(m.technique, m.defensive_technique) for m in inference.mappings}


def loaded_store(path) -> tuple[ox.Store, str]:
    """A store holding one D3FEND release, as the build leaves it before the inference."""
    store = ox.Store()
    data = d3fend.load(path)
    build_source("d3fend", data, as_dataset(store).graph(rdflib.URIRef(d3fend.graph_name(data))))
    return store, d3fend.graph_name(data)


# --- the rule, on the fixtures ----------------------------------------------------------------------


@pytest.fixture(scope="module", params=FORMS)
def fixture_inference(request, fixtures) -> cm.Inference:
    return cm.infer_from_triples(d3fend.load(fixtures / request.param).triples)


def test_t1204_001_on_the_fixture(fixture_inference):
    assert fixture_inference.countered_by("T1204.001") == {
        d("URLAnalysis"),
        d("NetworkTrafficFiltering"),
        d("OutboundTrafficFiltering"),
        d("RelayPatternAnalysis"),
    }


def test_inherited_defensive_relations_do_not_count(fixture_inference):
    # Email Filtering and Inbound Traffic Filtering inherit "filters Network Traffic" from Network
    # Traffic Filtering; D3FEND does not list them for T1204.001.
    countered = fixture_inference.countered_by("T1204.001")
    assert d("EmailFiltering") not in countered
    assert d("InboundTrafficFiltering") not in countered


def test_explanations_and_tactics(fixture_inference):
    by_defense = {m.defensive_technique: m for m in fixture_inference.mappings if m.technique == "T1204.001"}
    assert by_defense[d("URLAnalysis")] == cm.Mapping(
        "T1204.001", "T1204.001", d("accesses"), d("URL"), d("URL"), d("analyzes"), d("URLAnalysis")
    )
    assert by_defense[d("OutboundTrafficFiltering")] == cm.Mapping(
        "T1204.001",
        "T1204.001",
        d("produces"),
        d("OutboundInternetWebTraffic"),
        d("OutboundNetworkTraffic"),
        d("filters"),
        d("OutboundTrafficFiltering"),
    )
    # tactics: stated on a superclass (Identifier Analysis enables Detect; Network Isolation, Isolate)
    assert fixture_inference.tactics[d("URLAnalysis")] == (d("Detect"),)
    assert fixture_inference.tactics[d("OutboundTrafficFiltering")] == (d("Isolate"),)


def test_hierarchy_parent_and_sub_techniques(fixture_inference):
    # the parent gets its sub-techniques' countermeasures; a sub-technique not its siblings'
    parent = {(m.defensive_technique, m.via) for m in fixture_inference.mappings if m.technique == "T1204"}
    assert (d("FileAnalysis"), "T1204.002") in parent
    assert (d("URLAnalysis"), "T1204.001") in parent
    assert fixture_inference.countered_by("T1204.002") == {d("FileAnalysis")}
    assert d("FileAnalysis") not in fixture_inference.countered_by("T1204.001")


def test_gaps_say_why(fixtures):
    data = d3fend.load(fixtures / SOURCE_FORM)
    attack = cm.AttackFacts(
        techniques={"T1204.001", "T1204.003", "T1003.001", "T1002", "T1677", "T1086"},
        revoked={"T1086"},
    )
    gaps = cm.infer_from_triples(data.triples, attack).gaps
    assert gaps == {
        "T1204.003": cm.NO_ARTIFACT_RELATION,  # a class, but no relation in its hierarchy
        "T1003.001": cm.NO_DEFENSIVE_TECHNIQUE,  # accesses Process: nothing in the cut acts on it
        "T1002": cm.REVOKED_TECHNIQUE,  # D3FEND deprecates the class
        "T1086": cm.REVOKED_TECHNIQUE,  # ATT&CK revoked it; D3FEND has no class
        "T1677": cm.NO_D3FEND_CLASS,  # newer than the D3FEND release
    }
    # without ATT&CK, the techniques are D3FEND's own
    alone = cm.infer_from_triples(data.triples).gaps
    assert set(alone) == {"T1204.003", "T1003", "T1003.001", "T1002"}


def test_mitigation_path(fixtures):
    data = d3fend.load(fixtures / SOURCE_FORM)
    attack = cm.AttackFacts(techniques={"T1204.001"}, mitigates={("M1021", "T1204.001"), ("M1017", "T1204.001")})
    inference = cm.infer_from_triples(data.triples, attack)
    # d3f:M1021 d3f:related ...: only the targets that are defensive techniques of the cut
    assert inference.related == {
        "M1021": {
            d("FileAnalysis"),
            d("InboundTrafficFiltering"),
            d("NetworkTrafficAnalysis"),
            d("OutboundTrafficFiltering"),
            d("URLAnalysis"),
        }
    }
    assert {(m.technique, m.mitigation, m.defensive_technique) for m in inference.mitigation_mappings} == {
        ("T1204.001", "M1021", target) for target in inference.related["M1021"]
    }


def drop_direct(triples):
    """The restrictions only: without D3FEND's direct d3f:x d3f:p d3f:y triples."""
    return [
        t
        for t in triples
        if not (
            isinstance(t.subject, ox.NamedNode)
            and isinstance(t.object, ox.NamedNode)
            and t.predicate.value.startswith(D3F)
            and t.object.value.startswith(D3F)
        )
    ]


def drop_restrictions(triples):
    """The direct triples only: without rdfs:subClassOf to restriction nodes."""
    return [t for t in triples if not (t.predicate.value == RDFS + "subClassOf" and isinstance(t.object, ox.BlankNode))]


def test_release_form_same_pairs_from_either_form(fixtures):
    triples = d3fend.load(fixtures / RELEASE_FORM).triples
    both = pairs(cm.infer_from_triples(triples))
    assert both
    assert pairs(cm.infer_from_triples(drop_direct(triples))) == both
    assert pairs(cm.infer_from_triples(drop_restrictions(triples))) == both


def test_source_form_needs_its_restrictions(fixtures):
    triples = d3fend.load(fixtures / SOURCE_FORM).triples
    assert pairs(cm.infer_from_triples(triples)) == pairs(cm.infer_from_triples(drop_direct(triples)))
    assert not pairs(cm.infer_from_triples(drop_restrictions(triples)))


# --- the materialized graph and the query -------------------------------------------------------------


@pytest.fixture(scope="module")
def fixture_store(fixtures) -> tuple[ox.Store, cm.Report]:
    store, _ = loaded_store(fixtures / SOURCE_FORM)
    return store, cm.build(store)


def test_build_writes_the_countermeasures_graph(fixture_store):
    store, report = fixture_store
    assert report.source == "derived"
    assert report.graph == COUNTERMEASURES_GRAPH
    assert report.version == "1.2.0"
    graph = ox.NamedNode(COUNTERMEASURES_GRAPH)
    assert report.triples == len(list(store.quads_for_pattern(None, None, None, graph)))
    countered = {
        q.object.value
        for q in store.quads_for_pattern(
            ox.NamedNode(attack_iri("T1204.001")), ox.NamedNode(AKG + "counteredBy"), None, graph
        )
    }
    assert d("URLAnalysis") in countered and len(countered) == 4
    nodes = list(store.quads_for_pattern(None, ox.NamedNode(AKG + "mappedAttackId"), ox.Literal("T1204.001"), graph))
    assert len(nodes) == 4
    assert all(q.subject.value.startswith("https://w3id.org/attack-kg/mapping/T1204.001/") for q in nodes)
    derived = list(
        store.quads_for_pattern(nodes[0].subject, ox.NamedNode("http://www.w3.org/ns/prov#wasDerivedFrom"), None, graph)
    )
    assert [q.object.value for q in derived] == [graph_iri("d3fend", "1.2.0")]


def test_emitted_terms_are_declared_and_iris_stable(fixtures):
    triples = d3fend.load(fixtures / SOURCE_FORM).triples
    attack = cm.AttackFacts(techniques={"T1204.001", "T1677"}, mitigates={("M1021", "T1204.001")})
    first = [str(t) for t in cm.triples(cm.infer_from_triples(triples, attack, d3fend_graph="urn:x:d3fend"))]
    again = [str(t) for t in cm.triples(cm.infer_from_triples(triples, attack, d3fend_graph="urn:x:d3fend"))]
    assert first == again
    out = list(cm.triples(cm.infer_from_triples(triples, attack)))
    emitted = {term.value for t in out for term in (t.subject, t.predicate, t.object) if term.value.startswith(AKG)}
    assert {AKG + "counteredBy", AKG + "counteredByViaMitigation", AKG + "countermeasureGap"} <= emitted
    assert emitted <= declared_terms()


def test_infer_needs_exactly_one_d3fend_graph(fixtures):
    with pytest.raises(InputError, match="no D3FEND graph"):
        cm.infer(ox.Store())
    store, name = loaded_store(fixtures / SOURCE_FORM)
    other = d3fend.load(fixtures / RELEASE_FORM)
    build_source("d3fend", other, as_dataset(store).graph(rdflib.URIRef(d3fend.graph_name(other))))
    with pytest.raises(InputError, match="several D3FEND graphs"):
        cm.infer(store)
    assert cm.infer(store, d3fend_graph=name).version == "1.2.0"


def test_attack_graph_gives_techniques_revocations_and_mitigations(fixtures):
    store, _ = loaded_store(fixtures / SOURCE_FORM)
    graph = ox.NamedNode(graph_iri("attack", "enterprise-attack", "18.1"))
    attack_id, revoked, mitigates = (ox.NamedNode(AKG + name) for name in ("attackId", "revoked", "mitigates"))
    yes = ox.Literal("true", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#boolean"))
    for identifier in ("T1204.001", "T1204.003", "T1677", "T1086", "M1021"):
        store.add(ox.Quad(ox.NamedNode(attack_iri(identifier)), attack_id, ox.Literal(identifier), graph))
    store.add(ox.Quad(ox.NamedNode(attack_iri("T1086")), revoked, yes, graph))
    store.add(ox.Quad(ox.NamedNode(attack_iri("M1021")), mitigates, ox.NamedNode(attack_iri("T1204.001")), graph))
    facts = cm.read_attack(store, cm.attack_graphs(store))
    assert facts.techniques == {"T1204.001", "T1204.003", "T1677", "T1086"}
    assert facts.revoked == {"T1086"}
    assert facts.mitigates == {("M1021", "T1204.001")}
    inference = cm.infer(store)
    assert inference.gaps == {
        "T1204.003": cm.NO_ARTIFACT_RELATION,
        "T1677": cm.NO_D3FEND_CLASS,
        "T1086": cm.REVOKED_TECHNIQUE,
    }
    assert len(inference.mitigation_mappings) == 5


def test_query_header_matches_its_projection():
    from importlib import resources

    text = resources.files("attackkg.queries").joinpath("countermeasures.rq").read_text(encoding="utf-8")
    query = parse_query("countermeasures", text)
    assert set(query.params) == {"technique"}
    select = text[text.index("SELECT") : text.index("WHERE")]
    assert query.columns == [word[1:] for word in select.split() if word.startswith("?")]


def test_query_one_technique_and_all(fixture_store):
    store, _ = fixture_store
    found = rows(store, "countermeasures", technique="T1204.001")
    assert {r["defensive_technique"] for r in found} == {
        "URL Analysis",
        "Network Traffic Filtering",
        "Outbound Traffic Filtering",
        "Relay Pattern Analysis",
    }
    url = next(r for r in found if r["d3fend_id"] == "D3-UA")
    assert url == {
        "technique": "T1204.001",
        "d3fend_id": "D3-UA",
        "defensive_technique": "URL Analysis",
        "tactic": "Detect",
        "offensive_relation": "accesses",
        "offensive_artifact": "URL",
        "defensive_artifact": "URL",
        "defensive_relation": "analyzes",
        "via_attack_id": "T1204.001",
    }
    everything = rows(store, "countermeasures")
    assert len(everything) == len(cm.infer(store).mappings)
    assert rows(store, "countermeasures", technique="T9999") == []


# --- end to end on the full ontologies -----------------------------------------------------------------


@pytest.fixture(scope="module")
def full_1_2_0(shared_data) -> tuple[ox.Store, str, cm.Inference]:
    store, name = loaded_store(shared_data / "d3fend" / "1.2.0" / "d3fend.ttl")
    cm.build(store)
    return store, name, cm.infer(store)


def test_t1204_001_gives_d3fend_s_fourteen(full_1_2_0):
    store, _, _ = full_1_2_0
    found = rows(store, "countermeasures", technique="T1204.001")
    assert {r["defensive_technique"] for r in found} == set(T1204_001_COUNTERMEASURES)
    assert {r["offensive_artifact"] for r in found} == {"URL", "Outbound Internet Web Traffic"}
    assert all(r["d3fend_id"].startswith("D3-") and r["tactic"] in {"Detect", "Isolate"} for r in found)


def test_store_read_equals_reading_every_triple(full_1_2_0):
    # infer() reads only the quads the rule needs; the result is the same as from all of them
    store, name, inference = full_1_2_0
    everything = store.quads_for_pattern(None, None, None, ox.NamedNode(name))
    whole = cm.infer_from_triples(everything)
    assert whole.mappings == inference.mappings
    assert whole.tactics == inference.tactics
    assert whole.gaps == inference.gaps
    assert len(inference.mappings) > 5000
    assert len(inference.countered_techniques()) > 400
    tactic_names = {t.rsplit("#", 1)[1] for ts in inference.tactics.values() for t in ts}
    assert tactic_names == {"Model", "Harden", "Detect", "Isolate", "Deceive", "Evict", "Restore"}
    assert all(len(ts) == 1 for ts in inference.tactics.values())


def test_every_explanation_is_real(full_1_2_0):
    """Checked with SPARQL over the loaded ontology, independently of the Python closures."""
    store, name, inference = full_1_2_0
    prefixes = {"d3f": D3F, "rdfs": RDFS, "owl": OWL}

    def ask(query: str, **bound: str) -> bool:
        return bool(
            store.query(
                f"ASK {{ GRAPH <{name}> {{ {query} }} }}",
                prefixes=prefixes,
                substitutions={ox.Variable(k): ox.NamedNode(v) for k, v in bound.items()},
            )
        )

    relation = "{ ?s ?p ?o } UNION { ?s rdfs:subClassOf [ owl:onProperty ?p ; owl:someValuesFrom ?o ] }"
    checked_relations, checked_classes, checked_properties = set(), set(), set()
    for m in inference.mappings:
        via = inference.d3fend_classes[m.via]
        assert ask("?s d3f:attack-id ?id", s=via)
        for fact in (
            (via, m.offensive_relation, m.offensive_artifact),
            (m.defensive_technique, m.defensive_relation, m.defensive_artifact),
        ):
            if fact not in checked_relations:
                assert ask(relation, s=fact[0], p=fact[1], o=fact[2]), fact
                checked_relations.add(fact)
        if (m.offensive_artifact, m.defensive_artifact) not in checked_classes:
            assert ask("?a rdfs:subClassOf* ?b", a=m.offensive_artifact, b=m.defensive_artifact)
            checked_classes.add((m.offensive_artifact, m.defensive_artifact))
        for prop in (m.offensive_relation, m.defensive_relation):
            if prop not in checked_properties:
                assert ask("?p rdfs:subPropertyOf* d3f:may-be-associated-with", p=prop)
                checked_properties.add(prop)
        if m.defensive_technique not in checked_properties:
            assert ask("?d rdfs:subClassOf+ d3f:DefensiveTechnique ; d3f:d3fend-id ?id", d=m.defensive_technique)
            checked_properties.add(m.defensive_technique)
        assert m.via in {m.technique, m.technique.split(".")[0]} or m.via.startswith(m.technique + ".")


def test_0_17_0_same_pairs_from_direct_triples_or_restrictions(shared_data):
    data = d3fend.load(shared_data / "d3fend" / "0.17.0" / "d3fend.ttl")
    both = cm.infer_from_triples(data.triples)
    direct_only = cm.infer_from_triples(drop_restrictions(data.triples))
    restrictions_only = cm.infer_from_triples(drop_direct(data.triples))
    assert pairs(direct_only) == pairs(restrictions_only) == pairs(both)
    labels = {t.subject.value: t.object.value for t in data.triples if t.predicate.value == RDFS + "label"}
    assert {labels[x] for x in both.countered_by("T1204.001")} == set(T1204_001_COUNTERMEASURES)
    assert len(pairs(both)) > 4000
