"""A small telemetry graph for tests: the fixture store copied into memory, plus event sources and
``akg:fedBy`` edges in the telemetry vocabulary (``ontology/telemetry.ttl``), made from each
fixture rule's own Sigma logsource through a cut of the log source table (four of its rows:
Windows process_creation is Sysmon 1 or Security 4688; registry_set Sysmon 13; ps_script
PowerShell 4104; Zeek x509 the Zeek x509 log). Rules with any other logsource get
``akg:unknownLogsource``, as the build does.

Used until a store built with the real table is at hand, and to test the library on a graph whose
every edge a test can see."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pyoxigraph as ox

from attackkg.ontology.namespaces import AKG, RDF, RDFS

EVENT_SOURCE_BASE = "https://w3id.org/attack-kg/id/event-source/"
TELEMETRY = ox.NamedNode("https://w3id.org/attack-kg/graph/telemetry")

# (provider, event ID or None, label)
SOURCES = [
    ("sysmon", None, "Sysmon"),
    ("sysmon", "1", "Sysmon event 1 (process creation)"),
    ("sysmon", "13", "Sysmon event 13 (registry value set)"),
    ("windows-security", None, "Windows Security event log"),
    ("windows-security", "4624", "Security event 4624 (an account logged on)"),
    ("windows-security", "4688", "Security event 4688 (a process was created)"),
    ("windows-powershell", None, "Windows PowerShell event log"),
    ("windows-powershell", "4104", "PowerShell event 4104 (script block logging)"),
    ("zeek", None, "Zeek"),
    ("zeek", "x509", "Zeek x509.log"),
    ("linux-syslog", None, "Linux syslog"),
]
# (product, category, service) -> event sources (provider/event) that can feed a rule
TABLE = {
    ("windows", "process_creation", ""): ["sysmon/1", "windows-security/4688"],
    ("windows", "registry_set", ""): ["sysmon/13"],
    ("windows", "ps_script", ""): ["windows-powershell/4104"],
    ("zeek", "", "x509"): ["zeek/x509"],
    ("linux", "", "syslog"): ["linux-syslog"],
}


def source_iri(name: str) -> ox.NamedNode:
    provider, _, event = name.partition("/")
    return ox.NamedNode(EVENT_SOURCE_BASE + provider + (f"/{quote(event, safe='')}" if event else ""))


def akg(name: str) -> ox.NamedNode:
    return ox.NamedNode(AKG + name)


def telemetry_quads(store: ox.Store) -> list[ox.Quad]:
    """Event sources and the fedBy / unknownLogsource edges of every Sigma rule in ``store``."""
    quads = []
    for provider, event, label in SOURCES:
        node = source_iri(f"{provider}/{event}" if event else provider)
        quads += [
            ox.Quad(node, ox.NamedNode(RDF + "type"), akg("EventSource"), TELEMETRY),
            ox.Quad(node, akg("eventProvider"), ox.Literal(provider), TELEMETRY),
            ox.Quad(node, ox.NamedNode(RDFS + "label"), ox.Literal(label), TELEMETRY),
        ]
        if event:
            quads += [
                ox.Quad(node, akg("eventId"), ox.Literal(event), TELEMETRY),
                ox.Quad(node, akg("eventOf"), source_iri(provider), TELEMETRY),
            ]
    query = """
        PREFIX akg: <https://w3id.org/attack-kg/ns#>
        SELECT ?rule ?product ?category ?service WHERE {
          ?rule a akg:SigmaRule .
          OPTIONAL { ?rule akg:logsourceProduct ?product }
          OPTIONAL { ?rule akg:logsourceCategory ?category }
          OPTIONAL { ?rule akg:logsourceService ?service }
        }"""
    for rule, product, category, service in store.query(query, use_default_graph_as_union=True):
        key = tuple(term.value if term is not None else "" for term in (product, category, service))
        if key in TABLE:
            quads += [ox.Quad(rule, akg("fedBy"), source_iri(name), TELEMETRY) for name in TABLE[key]]
        else:
            text = f"product={key[0]} category={key[1]} service={key[2]}"
            quads.append(ox.Quad(rule, akg("unknownLogsource"), ox.Literal(text), TELEMETRY))
    return quads


def log_source_quads(store: ox.Store, bundle: Path) -> list[ox.Quad]:
    """ATT&CK analytics' log sources (``x_mitre_log_source_references``) as ``akg:LogSource``
    nodes, as the telemetry vocabulary has them, read from the STIX bundle the store was built from."""
    import hashlib
    import json

    from attackkg.ontology.namespaces import ATTACK

    objects = json.loads(bundle.read_text(encoding="utf-8"))["objects"]
    ids = {o["id"]: o for o in objects}
    graph = ox.NamedNode("https://w3id.org/attack-kg/graph/attack/enterprise-attack/18.1")
    analytics = {
        literal.value: node
        for node, literal in store.query(
            "PREFIX akg: <https://w3id.org/attack-kg/ns#> SELECT ?a ?id WHERE { ?a a akg:Analytic ; akg:attackId ?id }",
            use_default_graph_as_union=True,
        )
    }
    quads = []
    for analytic in objects:
        if analytic["type"] != "x-mitre-analytic":
            continue
        analytic_id = analytic["external_references"][0]["external_id"]
        analytic_node = analytics[analytic_id]
        for ref in analytic.get("x_mitre_log_source_references") or []:
            digest = hashlib.sha256(f"{analytic_id}|{ref['name']}|{ref['channel']}".encode()).hexdigest()[:16]
            node = ox.NamedNode(f"https://w3id.org/attack-kg/id/log-source/{digest}")
            quads += [
                ox.Quad(analytic_node, akg("logSource"), node, graph),
                ox.Quad(node, ox.NamedNode(RDF + "type"), akg("LogSource"), graph),
                ox.Quad(node, akg("logSourceName"), ox.Literal(ref["name"]), graph),
                ox.Quad(node, akg("logSourceChannel"), ox.Literal(ref["channel"]), graph),
            ]
            component = ids.get(ref["x_mitre_data_component_ref"])
            if component:
                dc = component["external_references"][0]["external_id"]
                quads.append(ox.Quad(node, akg("dataComponent"), ox.NamedNode(f"{ATTACK}datacomponents/{dc}"), graph))
    return quads


def telemetry_store(store_dir: Path, bundle: Path | None = None) -> ox.Store:
    """An in-memory copy of the store at ``store_dir`` with the telemetry quads added."""
    from attackkg.builders.store import open_store

    source = open_store(store_dir)
    from attackkg.builders.oxstore import oxigraph_of

    original = oxigraph_of(source)
    copy = ox.Store()
    copy.bulk_extend(original.quads_for_pattern(None, None, None, None))
    copy.bulk_extend(telemetry_quads(copy))
    if bundle is not None:
        copy.bulk_extend(log_source_quads(copy, bundle))
    return copy


def write_store(store: ox.Store, store_dir: Path) -> Path:
    """``store`` written as a store folder the CLI opens (one generation, as a build makes)."""
    import gc

    from attackkg.builders.store import new_generation

    with new_generation(store_dir) as target:
        target.bulk_extend(store.quads_for_pattern(None, None, None, None))
        del target
    gc.collect()
    return store_dir
