"""ATT&CK analytics' log sources (STIX x_mitre_log_source_references) as akg:LogSource nodes."""

from __future__ import annotations

import gzip
import json

import rdflib

from attackkg.builders import attack
from attackkg.builders.build import build_source
from attackkg.builders.store import open_store
from attackkg.ontology.namespaces import AKG

AKG_NS = rdflib.Namespace(AKG)


def build_graph(path) -> rdflib.Graph:
    graph = rdflib.Graph()
    build_source("attack", attack.load(path), graph)
    return graph


def stix_log_sources(objects: list[dict]) -> dict[str, set[tuple[str, str, str]]]:
    """Per analytic ATT&CK ID: (data component ATT&CK ID, name, channel), read straight from the STIX."""
    component_ids = {
        o["id"]: o["external_references"][0]["external_id"] for o in objects if o["type"] == "x-mitre-data-component"
    }
    out: dict[str, set[tuple[str, str, str]]] = {}
    for o in objects:
        if o["type"] == "x-mitre-analytic" and not o.get("revoked"):
            analytic = o["external_references"][0]["external_id"]
            for ref in o.get("x_mitre_log_source_references") or []:
                component = component_ids.get(ref["x_mitre_data_component_ref"])
                if component:
                    out.setdefault(analytic, set()).add((component, ref["name"], ref["channel"]))
    return out


QUERY = """SELECT ?analytic_id ?component_id ?name ?channel WHERE { GRAPH ?g {
    ?analytic a akg:Analytic ; akg:attackId ?analytic_id ; akg:logSource ?source .
    ?source a akg:LogSource ; akg:logSourceName ?name ; akg:logSourceChannel ?channel ; akg:dataComponent ?dc .
    ?dc akg:attackId ?component_id .
    ?analytic akg:dataComponent ?dc } }"""


def graph_log_sources(rows) -> dict[str, set[tuple[str, str, str]]]:
    out: dict[str, set[tuple[str, str, str]]] = {}
    for analytic_id, component_id, name, channel in rows:
        out.setdefault(str(analytic_id), set()).add((str(component_id), str(name), str(channel)))
    return out


def test_fixture_analytics_keep_name_channel_and_component(fixtures):
    path = fixtures / "attack" / "small-enterprise-2.1.json"
    expected = stix_log_sources(json.loads(path.read_text())["objects"])
    graph = build_graph(path)
    found = graph_log_sources(graph.query(QUERY.replace("GRAPH ?g {", "{"), initNs={"akg": AKG_NS}))
    assert expected and found == expected
    # AN0178 (T1204.001's Windows analytic): process creation seen in the Security log, event 4688.
    assert any(name == "WinEventLog:Security" and channel == "EventCode=4688" for _, name, channel in found["AN0178"])
    # The same log source of the same component, named by two analytics, is one node.
    nodes = set(graph.subjects(rdflib.RDF.type, AKG_NS.LogSource))
    assert len(nodes) == len({entry for entries in found.values() for entry in entries})


def test_full_enterprise_analytics(shared_data, full_store_dir):
    with gzip.open(shared_data / "attack" / "enterprise-attack-18.1.json.gz", "rt", encoding="utf-8") as stream:
        expected = stix_log_sources(json.load(stream)["objects"])
    rows = open_store(full_store_dir).query(QUERY, prefixes={"akg": AKG})
    found = graph_log_sources([tuple(term.value for term in row) for row in rows])
    assert len(expected) > 1000
    assert found == expected
