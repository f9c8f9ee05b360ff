"""Stores for the telemetry coverage tests.

The fixture store's Sigma rules already carry the build's own ``akg:fedBy`` /
``akg:unknownLogsource`` edges (builders/telemetry.py, the shipped Sigma log source table).
What the build does not make yet is ATT&CK's analytic log sources (``akg:LogSource``, issue 14
item 1): while a store lacks them, :func:`with_log_sources` adds them, in the telemetry
vocabulary, from the STIX bundle the store was built from.
"""

from __future__ import annotations

import gc
import hashlib
import json
from pathlib import Path

import pyoxigraph as ox

from attackkg.ontology.namespaces import AKG, ATTACK, RDF

HAS_LOG_SOURCES = "PREFIX akg: <https://w3id.org/attack-kg/ns#> ASK { ?analytic akg:logSource ?source }"


def akg(name: str) -> ox.NamedNode:
    return ox.NamedNode(AKG + name)


def log_source_quads(store: ox.Store, bundle: Path) -> list[ox.Quad]:
    """ATT&CK analytics' log sources (``x_mitre_log_source_references``) as ``akg:LogSource``
    nodes (name, channel, data component), linked from the analytics the store holds."""
    objects = json.loads(bundle.read_text(encoding="utf-8"))["objects"]
    ids = {o["id"]: o for o in objects}
    analytics = {
        literal.value: node
        for node, literal in store.query(
            "PREFIX akg: <https://w3id.org/attack-kg/ns#> SELECT ?a ?id WHERE { ?a a akg:Analytic ; akg:attackId ?id }",
            use_default_graph_as_union=True,
        )
    }
    graph = ox.NamedNode("https://w3id.org/attack-kg/graph/attack/enterprise-attack/18.1")
    quads = []
    for analytic in objects:
        if analytic["type"] != "x-mitre-analytic":
            continue
        analytic_id = analytic["external_references"][0]["external_id"]
        for ref in analytic.get("x_mitre_log_source_references") or []:
            digest = hashlib.sha256(f"{analytic_id}|{ref['name']}|{ref['channel']}".encode()).hexdigest()[:16]
            node = ox.NamedNode(f"https://w3id.org/attack-kg/id/log-source/{digest}")
            quads += [
                ox.Quad(analytics[analytic_id], akg("logSource"), node, graph),
                ox.Quad(node, ox.NamedNode(RDF + "type"), akg("LogSource"), graph),
                ox.Quad(node, akg("logSourceName"), ox.Literal(ref["name"]), graph),
                ox.Quad(node, akg("logSourceChannel"), ox.Literal(ref["channel"]), graph),
            ]
            component = ids.get(ref["x_mitre_data_component_ref"])
            if component:
                dc = component["external_references"][0]["external_id"]
                quads.append(ox.Quad(node, akg("dataComponent"), ox.NamedNode(f"{ATTACK}datacomponents/{dc}"), graph))
    return quads


def with_log_sources(store_dir: Path, bundle: Path) -> ox.Store:
    """An in-memory copy of the store at ``store_dir``, with ATT&CK's analytic log sources when it lacks them."""
    from attackkg.builders.oxstore import oxigraph_of
    from attackkg.builders.store import open_store

    original = oxigraph_of(open_store(store_dir))
    copy = ox.Store()
    copy.bulk_extend(original.quads_for_pattern(None, None, None, None))
    if not copy.query(HAS_LOG_SOURCES, use_default_graph_as_union=True):
        copy.bulk_extend(log_source_quads(copy, bundle))
    return copy


def write_store(store: ox.Store, store_dir: Path) -> Path:
    """``store`` written as a store folder the CLI opens (one generation, as a build makes)."""
    from attackkg.builders.store import new_generation

    with new_generation(store_dir) as target:
        target.bulk_extend(store.quads_for_pattern(None, None, None, None))
        del target
    gc.collect()
    return store_dir
