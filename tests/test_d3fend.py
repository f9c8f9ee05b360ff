"""The D3FEND builder on fixtures cut from D3FEND 1.2.0 and 0.17.0, and on the full ontologies."""

from __future__ import annotations

import gzip
import shutil

import pyoxigraph as ox
import pytest
import rdflib

from attackkg.builders import d3fend
from attackkg.builders.base import InputError
from attackkg.builders.build import build_source
from attackkg.builders.store import as_dataset
from attackkg.ontology import declared_terms
from attackkg.ontology.namespaces import AKG, D3F, attack_iri, graph_iri

SOURCE_FORM = "d3fend/source-form-1.2.0/d3fend.ttl"
RELEASE_FORM = "d3fend/release-form-0.17.0/d3fend.ttl"
D3FEND_CLASS = AKG + "d3fendClass"
D3FEND_MITIGATION = AKG + "d3fendMitigation"


def spo(triples) -> set[tuple[str, str, str]]:
    return {(t.subject.value, t.predicate.value, t.object.value) for t in triples}


@pytest.mark.parametrize(("name", "version"), [(SOURCE_FORM, "1.2.0"), (RELEASE_FORM, "0.17.0")])
def test_load_both_forms(fixtures, name, version):
    data = d3fend.load(fixtures / name)
    assert data.version == version
    assert data.title.startswith("D3FEND")
    assert d3fend.graph_name(data) == graph_iri("d3fend", version)
    triples = spo(data.triples)
    assert (D3F + "T1204.001", D3F + "attack-id", "T1204.001") in triples
    assert (D3F + "URLAnalysis", D3F + "d3fend-id", "D3-UA") in triples


def test_version_info_beats_the_path(fixtures, tmp_path):
    folder = tmp_path / "9.9.9"
    folder.mkdir()
    shutil.copy(fixtures / RELEASE_FORM, folder / "d3fend.ttl")
    assert d3fend.load(folder / "d3fend.ttl").version == "0.17.0"


def test_version_from_file_name_else_unknown(fixtures, tmp_path):
    named = tmp_path / "d3fend-1.1.0.ttl"
    shutil.copy(fixtures / SOURCE_FORM, named)
    assert d3fend.load(named).version == "1.1.0"
    plain = tmp_path / "ontology.ttl"
    shutil.copy(fixtures / SOURCE_FORM, plain)
    assert d3fend.load(plain).version == "unknown"


def test_folder_and_gzip_inputs(fixtures, tmp_path):
    assert d3fend.load(fixtures / "d3fend" / "source-form-1.2.0").path.name == "d3fend.ttl"
    packed = tmp_path / "1.2.0" / "d3fend.ttl.gz"
    packed.parent.mkdir()
    packed.write_bytes(gzip.compress((fixtures / SOURCE_FORM).read_bytes()))
    data = d3fend.load(packed)
    assert data.version == "1.2.0"
    assert spo(data.triples) == spo(d3fend.load(fixtures / SOURCE_FORM).triples)


def test_turtle_syntax_error_names_file_and_line(fixtures):
    path = fixtures / "d3fend" / "bad-turtle" / "d3fend.ttl"
    with pytest.raises(InputError) as caught:
        d3fend.load(path)
    assert caught.value.line == 10
    assert caught.value.path == str(path)
    assert str(caught.value).startswith(f"{path}:10: Turtle syntax error at column 5")
    assert "\n" not in str(caught.value)


def test_missing_and_non_ontology_inputs(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        d3fend.load(tmp_path / "absent.ttl")
    with pytest.raises(InputError, match="no D3FEND Turtle file"):
        d3fend.load(tmp_path)
    other = tmp_path / "other.ttl"
    other.write_text("<http://x/a> <http://x/b> <http://x/c> .\n", encoding="utf-8")
    with pytest.raises(InputError, match="not a D3FEND ontology"):
        d3fend.load(other)
    broken = tmp_path / "broken.ttl.gz"
    broken.write_bytes(b"not gzip at all")
    with pytest.raises(InputError, match="cannot read"):
        d3fend.load(broken)


def test_blank_nodes_are_deterministic_and_per_release(fixtures):
    first, second = d3fend.load(fixtures / SOURCE_FORM), d3fend.load(fixtures / SOURCE_FORM)
    assert [str(t) for t in first.triples] == [str(t) for t in second.triples]
    blanks = {t.object.value for t in first.triples if isinstance(t.object, ox.BlankNode)}
    assert blanks and all(b.startswith("d3fend_1_2_0_b") for b in blanks)
    other = d3fend.load(fixtures / RELEASE_FORM)
    assert not blanks & {t.object.value for t in other.triples if isinstance(t.object, ox.BlankNode)}


@pytest.mark.parametrize("name", [SOURCE_FORM, RELEASE_FORM])
def test_links_from_shared_ids(fixtures, name):
    data = d3fend.load(fixtures / name)
    links = spo(d3fend.link_triples(data.triples))
    assert (attack_iri("T1204.001"), D3FEND_CLASS, D3F + "T1204.001") in links
    assert (attack_iri("T1204"), D3FEND_CLASS, D3F + "T1204") in links
    assert (attack_iri("M1021"), D3FEND_MITIGATION, D3F + "M1021") in links
    classes = {t.subject.value for t in data.triples if t.predicate.value == D3F + "attack-id"}
    assert {o for _, p, o in links if p == D3FEND_CLASS} == classes
    assert {o for _, p, o in links if p == D3FEND_MITIGATION} == {D3F + "M1021", D3F + "M1038"}
    # links and D3FEND's own triples come out of triples(); no term it emits is undeclared
    emitted = spo(d3fend.triples(data))
    assert links <= emitted
    akg_terms = {term for triple in emitted for term in triple if term.startswith(AKG)}
    assert akg_terms and akg_terms <= declared_terms()


def test_build_into_an_oxigraph_dataset(fixtures):
    store = ox.Store()
    dataset = as_dataset(store)
    data = d3fend.load(fixtures / SOURCE_FORM)
    name = d3fend.graph_name(data)
    report = build_source("d3fend", data, dataset.graph(rdflib.URIRef(name)))
    assert report.source == "d3fend"
    assert report.graph == name
    assert report.version == "1.2.0"
    assert report.sha256 and len(report.sha256) == 64
    stored = list(store.quads_for_pattern(None, None, None, ox.NamedNode(name)))
    assert report.triples == len(stored) == len(data.triples) + 7 + 2  # + technique and mitigation links
    assert report.counts["technique links"] == 7
    assert report.counts["mitigation links"] == 2
    assert not list(store.quads_for_pattern(None, None, None, ox.DefaultGraph()))


def test_build_from_a_path_into_plain_rdflib(fixtures):
    graph = rdflib.Graph()
    report = build_source("d3fend", fixtures / RELEASE_FORM, graph)
    assert report.triples == len(graph)
    assert (
        rdflib.URIRef(attack_iri("T1204.001")),
        rdflib.URIRef(D3FEND_CLASS),
        rdflib.URIRef(D3F + "T1204.001"),
    ) in graph


# --- the full ontologies ----------------------------------------------------------------------------


@pytest.mark.parametrize(("version", "techniques"), [("1.2.0", 823), ("0.17.0", 780)])
def test_full_releases(shared_data, version, techniques):
    data = d3fend.load(shared_data / "d3fend" / version / "d3fend.ttl")
    assert data.version == version
    links = spo(d3fend.link_triples(data.triples))
    assert sum(1 for _, p, _ in links if p == D3FEND_CLASS) == techniques
    assert sum(1 for _, p, _ in links if p == D3FEND_MITIGATION) == 42
    assert (attack_iri("T1204.001"), D3FEND_CLASS, D3F + "T1204.001") in links
    assert (attack_iri("M1021"), D3FEND_MITIGATION, D3F + "M1021") in links
