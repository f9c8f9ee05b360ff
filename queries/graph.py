"""The built store as a typed ``networkx.MultiDiGraph``, for path analysis and drawing.

Nodes are IRIs (strings). Each node has:

- ``kind``: technique, tactic, mitigation, group, software, campaign, data-source,
  data-component, detection-strategy, analytic, log-source, asset, matrix (ATT&CK); sigma-rule;
  atomic-test; d3fend-technique, d3fend-tactic, artifact, d3fend-class (D3FEND); cve; control,
  car-analytic (CTID Mappings Explorer, CAR: queries/control_graph.py); unknown;
- ``label``: its ``rdfs:label`` (else its id);
- ``id``: the ATT&CK ID (``T1204.001``), the D3FEND ID (``D3-UA``; ``d3f:URL`` for a D3FEND
  term without one), the Sigma rule or Atomic test UUID, the CVE ID;
- ``iri``: the IRI again (GraphML and GEXF files keep the node key only as an XML id);
- optional: ``tactic`` (the D3FEND tactic(s) of a defensive technique, ``Detect``),
  ``d3fend_class`` (D3FEND's class for a technique, ``d3f:T1204.001``),
  ``revoked`` (ATT&CK ``akg:revoked`` or ``owl:deprecated``), ``gap`` (why a technique has no
  D3FEND countermeasure, ``NoArtifactRelation``, from ``akg:countermeasureGap``).

Each edge is one triple ``subject -> object``; its key is the predicate as a CURIE
(``akg:uses``, ``d3f:accesses``, ``rdfs:subClassOf``); its attributes are ``predicate`` (the full
IRI), ``graph`` (the named graph the triple is in) and ``label`` (the predicate's label).

What becomes an edge (everything else, literals, ``rdf:type``, annotations, the STIX
relationship and citation nodes, is left out, so that a path means something):

- ATT&CK: ``akg:uses mitigates subtechniqueOf tactic detects attributedTo revokedBy targets
  analytic dataComponent dataSource relatedTo logSource``;
- Sigma: ``akg:detectsTechnique``, the ``akg:tags*`` links, ``akg:relatedRule`` and its
  sub-properties; Atomic Red Team: ``akg:emulates``;
- derived countermeasures: the one-hop ``akg:counteredBy``, ``akg:counteredByViaMitigation``
  and ``akg:relatedDefensiveTechnique`` (the ATT&CK mitigation -> D3FEND ``d3f:related`` link).
  Each ``akg:counteredBy`` edge carries ``mappings``, the explanations the build stored for it
  (its ``akg:ArtifactMapping`` nodes), each a dict: ``mapping`` (the node's IRI), ``via`` (the
  technique of the hierarchy it goes through), ``offensive_relation``, ``offensive_artifact``,
  ``defensive_artifact``, ``defensive_relation`` (relations as edge keys, CURIEs), which
  ``queries/paths.py`` draws as paths; GraphML and GEXF files hold it as JSON text;
- D3FEND: ``rdfs:subClassOf`` between named classes (the artifact hierarchy the inference walks),
  and each class's relations (``d3f:accesses``, ``d3f:analyzes``, ``d3f:enables`` ...) whether
  D3FEND states them directly or as ``owl:someValuesFrom`` restrictions (the restriction blank
  node becomes one edge ``class -property-> value``). D3FEND's classes for ATT&CK techniques
  (``d3f:T1204.001``, linked by ``akg:d3fendClass``) are the ATT&CK technique nodes, so
  ``T1204.001 -d3f:accesses-> d3f:URL`` starts at the technique, and D3FEND's individuals for
  ATT&CK mitigations (``d3f:M1021``) are left out: ``akg:relatedDefensiveTechnique`` carries
  their ``d3f:related`` links from the ATT&CK mitigation node.

So D3FEND's inference (builders/countermeasures.py) is a path of edges:
``T -d3f:accesses-> Ao -rdfs:subClassOf->* Ad <-d3f:analyzes- D``, where T may first step to
its parent or a sub-technique. ``G.graph["artifact_relations"]`` lists the predicates (CURIEs)
under ``d3f:may-be-associated-with``, the ones that rule counts.

What is read of D3FEND is :class:`~attackkg.builders.d3fend_index.D3fendIndex`, the index the
countermeasure inference reads: the same relations, hierarchy, IDs and tactics in both.

Reading is fast because only the predicates above are read (the full 18.1 + 1.2.0 + Sigma graph
in well under a second), instead of converting the store; the graph is made with networkx's
public ``add_nodes_from`` and ``add_edges_from``.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from collections.abc import Collection, Iterable

import networkx as nx
import pyoxigraph as ox
import rdflib

from attackkg.builders.base import InputError
from attackkg.builders.d3fend_index import D3fendIndex
from attackkg.builders.store import as_store
from attackkg.ontology.namespaces import (
    AKG,
    ATOMIC,
    CVE,
    D3F,
    GRAPH,
    OWL,
    PREFIXES,
    RDF,
    RDFS,
    TECHNIQUE_ID,
    XSD,
)
from attackkg.queries.control_graph import CONTROL_SOURCES, read_controls
from attackkg.queries.lookup import find_node, neighbourhood, nodes_of_kind

RDF_TYPE = RDF + "type"
LABEL = RDFS + "label"
SUBCLASS_OF = RDFS + "subClassOf"
DEPRECATED = OWL + "deprecated"

# rdf:type -> node kind (ATT&CK, Sigma, Atomic Red Team classes).
KIND_OF_CLASS = {
    AKG + "Technique": "technique",
    AKG + "Tactic": "tactic",
    AKG + "Mitigation": "mitigation",
    AKG + "Group": "group",
    AKG + "Software": "software",
    AKG + "Malware": "software",
    AKG + "Tool": "software",
    AKG + "Campaign": "campaign",
    AKG + "DataSource": "data-source",
    AKG + "DataComponent": "data-component",
    AKG + "DetectionStrategy": "detection-strategy",
    AKG + "Analytic": "analytic",
    AKG + "LogSource": "log-source",
    AKG + "Asset": "asset",
    AKG + "Matrix": "matrix",
    AKG + "SigmaRule": "sigma-rule",
    AKG + "AtomicTest": "atomic-test",
}

# Every kind a node can have, in drawing order.
KINDS = (
    "technique",
    "tactic",
    "mitigation",
    "group",
    "software",
    "campaign",
    "data-source",
    "data-component",
    "detection-strategy",
    "analytic",
    "log-source",
    "asset",
    "matrix",
    "sigma-rule",
    "atomic-test",
    "d3fend-technique",
    "d3fend-tactic",
    "artifact",
    "d3fend-class",
    "cve",
    "control",
    "car-analytic",
    "unknown",
)

# Predicates read as edges, by the source kind of the graph they live in.
ATTACK_EDGES = (
    "uses",
    "mitigates",
    "subtechniqueOf",
    "tactic",
    "detects",
    "attributedTo",
    "revokedBy",
    "targets",
    "analytic",
    "dataComponent",
    "dataSource",
    "relatedTo",
    "logSource",
)
SIGMA_EDGES = (
    "detectsTechnique",
    "tagsTactic",
    "tagsGroup",
    "tagsSoftware",
    "tagsAttackObject",
    "tagsCve",
    "tagsD3fendArtifact",
    "tagsD3fendTactic",
    "relatedRule",
    "derivedFrom",
    "obsoletes",
    "mergedFrom",
    "renamedFrom",
    "similarTo",
)
ATOMIC_EDGES = ("emulates",)
# The derived graphs: countermeasures, and the references followed from revoked ATT&CK objects
# (builders/revocations.py), which reuse the sources' own properties.
DERIVED_EDGES = ("counteredBy", "counteredByViaMitigation", "relatedDefensiveTechnique")
DERIVED_EDGES += ("detectsTechnique", "emulates", "tagsTactic", "uses", "mitigates", "detects")
COUNTERED_BY = "akg:counteredBy"

_RELATED_RULE = {"relatedRule", "derivedFrom", "obsoletes", "mergedFrom", "renamedFrom", "similarTo"}

SOURCE_KINDS = ("attack", "d3fend", "sigma", "atomic", "derived", *CONTROL_SOURCES)

# ATT&CK URL path -> ATT&CK ID prefix, and the kind of object (the inverse of attack_iri).
_ATTACK_URL = re.compile(
    r"^https://attack\.mitre\.org/(tactics|techniques|mitigations|groups|software|campaigns|datasources|"
    r"datacomponents|detectionstrategies)/([A-Z]+\d{4})(?:/(\d{3}))?$"
)
_KIND_OF_ATTACK_PATH = {
    "tactics": "tactic",
    "techniques": "technique",
    "mitigations": "mitigation",
    "groups": "group",
    "software": "software",
    "campaigns": "campaign",
    "datasources": "data-source",
    "datacomponents": "data-component",
    "detectionstrategies": "detection-strategy",
}
_UUID = "urn:uuid:"  # Sigma rules
_CURIES = sorted(((ns, prefix) for prefix, ns in PREFIXES.items()), key=lambda item: -len(item[0]))


# --- names ----------------------------------------------------------------------------------------


def curie(iri: str) -> str:
    """``akg:uses`` for ``https://w3id.org/attack-kg/ns#uses``; the IRI itself when no prefix fits."""
    for namespace, prefix in _CURIES:
        if iri.startswith(namespace):
            return f"{prefix}:{iri[len(namespace) :]}"
    return iri


def attack_id_of(iri: str) -> str | None:
    """``T1204.001`` for ATT&CK's URL ``https://attack.mitre.org/techniques/T1204/001``, else None."""
    match = _ATTACK_URL.match(iri)
    if not match:
        return None
    _, ident, sub = match.groups()
    return f"{ident}.{sub}" if sub else ident


def source_kind(graph: str) -> str | None:
    """``attack`` for ``https://w3id.org/attack-kg/graph/attack/...`` (attack, d3fend, sigma, atomic,
    derived); None for the metadata graph or a graph attack-kg did not make."""
    if not graph.startswith(GRAPH):
        return None
    head = graph[len(GRAPH) :].split("/", 1)[0]
    return head if head in SOURCE_KINDS else None


def _fallback_kind(iri: str) -> str:
    match = _ATTACK_URL.match(iri)
    if match:
        return _KIND_OF_ATTACK_PATH[match.group(1)]
    if iri.startswith(CVE):
        return "cve"
    if iri.startswith(D3F):
        return "d3fend-class"
    return "unknown"


def _fallback_id(iri: str) -> str:
    ident = attack_id_of(iri)
    if ident:
        return ident
    for prefix in (_UUID, ATOMIC):
        if iri.startswith(prefix):
            return iri[len(prefix) :]
    if iri.startswith(CVE):
        return iri[len(CVE) :]
    return curie(iri)


# --- reading the store ----------------------------------------------------------------------------


def to_networkx(
    source: ox.Store | rdflib.Dataset | str | os.PathLike | None = None,
    *,
    sources: Iterable[str] | None = None,
    kinds: Iterable[str] | None = None,
    predicates: Iterable[str] | None = None,
    explanations: bool = True,
) -> nx.MultiDiGraph:
    """The store as a typed MultiDiGraph (see the module docstring for what is in it).

    ``sources`` keeps only the edges of those source kinds (attack, d3fend, sigma, atomic,
    derived); ``kinds`` keeps only the nodes of those kinds (technique, d3fend-technique, ...);
    ``predicates`` (CURIEs, ``akg:mitigates``) reads only those of the ATT&CK, Sigma, Atomic and
    derived edges (the D3FEND edges are read whenever D3FEND is). Without them, the whole graph.
    ``explanations=False`` leaves out the ``mappings`` of the ``akg:counteredBy`` edges (the stored
    explanations the D3FEND paths draw; reading them is about 0.5 s of a full on-disk store).
    """
    store = as_store(source)
    wanted = set(sources) if sources is not None else set(SOURCE_KINDS)
    unknown = wanted - set(SOURCE_KINDS)
    if unknown:
        raise InputError(f"unknown source kind {sorted(unknown)[0]!r}; use {', '.join(SOURCE_KINDS)}")
    graphs: dict[str, list[ox.NamedNode]] = defaultdict(list)
    from attackkg.builders.revocations import visible_graphs

    visible = visible_graphs(store)  # several ATT&CK releases of a domain: the newest of each
    for graph in store.named_graphs():
        if visible is not None and graph not in visible:
            continue
        kind = source_kind(graph.value)
        if kind:
            graphs[kind].append(graph)

    chosen = set(predicates) if predicates is not None else None
    labels = _labels(store)
    edges = _Edges(labels)
    rules: set[str] = set()  # objects of Sigma's related-rule links: rules, loaded or not

    for kind, names in (("attack", ATTACK_EDGES), ("sigma", SIGMA_EDGES), ("atomic", ATOMIC_EDGES)):
        if kind not in wanted:
            continue
        for graph in graphs.get(kind, ()):
            for name in names:
                if chosen is None or f"akg:{name}" in chosen:
                    found = edges.add_all(_pairs(store, AKG + name, graph.value), AKG + name, graph.value)
                    if name in _RELATED_RULE:
                        rules.update(obj for _, obj in found)

    controls, frameworks = read_controls(store, graphs, wanted, chosen, edges.add_all, _pairs)  # CTID, CAR

    d3fend = _D3fend()
    for graph in graphs.get("d3fend", ()):
        d3fend.read(store, graph)
    if "d3fend" in wanted:
        for subject, predicate, obj, graph in d3fend.edges():
            edges.add_all([(subject, obj)], predicate, graph)

    gaps: dict[str, str] = {}
    for graph in graphs.get("derived", ()):
        if "derived" in wanted:
            for name in DERIVED_EDGES:
                if chosen is None or f"akg:{name}" in chosen:
                    edges.add_all(_pairs(store, AKG + name, graph.value), AKG + name, graph.value)
            if explanations and (chosen is None or COUNTERED_BY in chosen):
                edges.explain(_mappings(store, graph.value))
        for subject, reason in _pairs(store, AKG + "countermeasureGap", graph.value):
            gaps[subject] = reason.rsplit("#", 1)[-1]
    if "derived" in wanted and explanations and (chosen is None or COUNTERED_BY in chosen):
        for graph in graphs.get("derived", ()):  # once every derived graph's explanations are read
            edges.explain_successors(_successors(store, graph.value))

    nodes = edges.nodes
    node_kind = _kinds(store, graphs, d3fend, nodes, rules)
    revoked = _revoked(store, graphs.get("attack", ()))
    d3fend_classes = {technique: curie(cls) for cls, technique in d3fend.merged.items()}
    node_attrs: dict[str, dict[str, object]] = {}
    for node in sorted(nodes):
        kind = node_kind.get(node) or _fallback_kind(node)
        ident = d3fend.ids.get(node) or _fallback_id(node)
        attrs: dict[str, object] = {"kind": kind, "label": labels.get(node) or ident, "id": ident, "iri": node}
        if node in revoked:
            attrs["revoked"] = True
        if node in gaps:
            attrs["gap"] = gaps[node]
        if node in d3fend_classes:
            attrs["d3fend_class"] = d3fend_classes[node]
        node_attrs[node] = {**attrs, **controls[node]} if node in controls else attrs
    for node, tactics in d3fend.tactics().items():
        if node in node_attrs:
            node_attrs[node]["tactic"] = ", ".join(sorted(labels.get(t, curie(t)) for t in tactics))

    result = nx.MultiDiGraph()
    result.graph["artifact_relations"] = sorted(curie(p) for p in d3fend.associative)
    result.graph["frameworks"] = frameworks
    result.graph["graphs"] = sorted(g.value for names in graphs.values() for g in names)
    result.add_nodes_from(node_attrs.items())
    result.add_edges_from((u, v, key, data) for (u, v, key), data in edges.data.items())
    if kinds is not None:
        keep = set(kinds)
        result.remove_nodes_from([n for n, kind in result.nodes(data="kind") if kind not in keep])
    return result


class _Edges:
    """The edges read so far, ``(subject, object, key) -> attributes`` in reading order, and their
    nodes. The key is the predicate's CURIE; an edge read twice (from two graphs) is kept once,
    from the first."""

    def __init__(self, labels: dict[str, str]) -> None:
        self.data: dict[tuple[str, str, str], dict[str, object]] = {}
        self.nodes: dict[str, None] = {}
        self.labels = labels

    def add_all(self, pairs: list[tuple[str, str]], predicate: str, graph: str) -> list[tuple[str, str]]:
        key = curie(predicate)
        label = self.labels.get(predicate) or key.split(":", 1)[-1]
        data, nodes = self.data, self.nodes
        for subject, obj in pairs:
            edge = (subject, obj, key)
            if edge not in data:
                data[edge] = {"predicate": predicate, "graph": graph, "label": label}
                nodes[subject] = nodes[obj] = None
        return pairs

    def explain(self, mappings: dict[tuple[str, str], list[dict[str, str]]]) -> None:
        """Give each ``akg:counteredBy`` edge read the explanations of its mapping nodes (``mappings``)."""
        for (technique, defence), found in mappings.items():
            edge = self.data.get((technique, defence, COUNTERED_BY))
            if edge is not None:
                edge.setdefault("mappings", []).extend(found)

    def explain_successors(self, successors: dict[str, list[str]]) -> None:
        """An ``akg:counteredBy`` edge the revocations graph resolved to a successor (T1685) takes
        the explanations of its revoked original's edge (T1562.001), each with ``resolved_from``."""
        if not successors:
            return
        replaced = {original: successor for successor, originals in successors.items() for original in originals}
        for (technique, defence, key), edge in list(self.data.items()):
            successor = replaced.get(technique)
            if successor is None or key != COUNTERED_BY or not edge.get("mappings"):
                continue
            resolved = self.data.get((successor, defence, COUNTERED_BY))
            if resolved is not None and not resolved.get("mappings"):
                resolved["mappings"] = [{**m, "resolved_from": technique} for m in edge["mappings"]]


def _successors(store: ox.Store, graph: str) -> dict[str, list[str]]:
    """Successor -> the revoked techniques it replaces, from the ``akg:Resolution`` nodes of a
    derived graph (``builders/revocations.py``; none in other graphs)."""
    query = f"""SELECT DISTINCT ?s ?o WHERE {{ GRAPH <{graph}> {{
        ?r <{RDF_TYPE}> <{AKG}Resolution> ; <{AKG}original> ?o ; <{AKG}successor> ?s }} }}"""
    found: dict[str, list[str]] = defaultdict(list)
    for successor, original in sorted(_select(store, query)):
        found[successor].append(original)
    return found


def _mappings(store: ox.Store, graph: str) -> dict[tuple[str, str], list[dict[str, str]]]:
    """The ``akg:ArtifactMapping`` nodes of a derived graph (``builders/countermeasures.py``), by
    (technique, defensive technique): each mapping's IRI and explanation, the relations as the
    CURIEs the edges are keyed by (see the module docstring)."""
    query = f"""SELECT ?t ?d ?m ?via ?orel ?oa ?da ?drel WHERE {{ GRAPH <{graph}> {{
        ?m <{RDF_TYPE}> <{AKG}ArtifactMapping> ; <{AKG}mappedTechnique> ?t ; <{AKG}defensiveTechnique> ?d ;
           <{AKG}viaTechnique> ?via ; <{AKG}offensiveRelation> ?orel ; <{AKG}offensiveArtifact> ?oa ;
           <{AKG}defensiveArtifact> ?da ; <{AKG}defensiveRelation> ?drel }} }}"""
    found: dict[tuple[str, str], list[dict[str, str]]] = defaultdict(list)
    for technique, defence, mapping, via, orel, oa, da, drel in sorted(_select(store, query)):
        found[technique, defence].append(
            {
                "mapping": mapping,
                "via": via,
                "offensive_relation": curie(orel),
                "offensive_artifact": oa,
                "defensive_artifact": da,
                "defensive_relation": curie(drel),
            }
        )
    return found


def _pairs(store: ox.Store, predicate: str, graph: str) -> list[tuple[str, str]]:
    """(subject, object) of one predicate in one graph, both IRIs (a FILTER in the query costs more)."""
    named = ox.NamedNode
    query = f"SELECT ?s ?o WHERE {{ GRAPH <{graph}> {{ ?s <{predicate}> ?o }} }}"
    return [(s.value, o.value) for s, o in store.query(query) if type(o) is named and type(s) is named]


def _select(store: ox.Store, query: str) -> list[tuple[str, ...]]:
    """The rows of a SELECT as tuples of term values.

    The queries here are made of the project's own IRIs only, never of user input. A SELECT of
    the terms needed decodes fewer terms than ``quads_for_pattern`` (which also decodes each
    quad's predicate and graph): about 1.5x faster on the full graph.
    """
    return [tuple(term.value for term in row) for row in store.query(query)]


def _labels(store: ox.Store) -> dict[str, str]:
    """``rdfs:label`` of every IRI, in any graph (the first one read when there are several)."""
    labels: dict[str, str] = {}
    query = f"SELECT ?s ?l WHERE {{ GRAPH ?g {{ ?s <{LABEL}> ?l }} }}"
    for subject, label in store.query(query):
        if type(subject) is ox.NamedNode:
            labels.setdefault(subject.value, label.value)
    return labels


def _kinds(
    store: ox.Store, graphs: dict[str, list[ox.NamedNode]], d3fend: _D3fend, nodes: Collection[str], rules: set[str]
) -> dict[str, str]:
    kinds: dict[str, str] = {}
    for kind in ("attack", "sigma", "atomic"):
        for graph in graphs.get(kind, ()):
            for cls, node_kind in KIND_OF_CLASS.items():
                query = f"SELECT ?s WHERE {{ GRAPH <{graph.value}> {{ ?s <{RDF_TYPE}> <{cls}> }} }}"
                for (node,) in _select(store, query):
                    if node in nodes:
                        kinds.setdefault(node, node_kind)
    for node, kind in d3fend.kinds().items():
        kinds.setdefault(node, kind)
    for node in rules:
        kinds.setdefault(node, "sigma-rule")
    return kinds


def _revoked(store: ox.Store, graphs: Iterable[ox.NamedNode]) -> set[str]:
    true = ox.Literal("true", datatype=ox.NamedNode(XSD + "boolean"))
    found: set[str] = set()
    for graph in graphs:
        for flag in (AKG + "revoked", DEPRECATED):
            found.update(q.subject.value for q in store.quads_for_pattern(None, ox.NamedNode(flag), true, graph))
    return found


class _D3fend:
    """The D3FEND graphs of the store as the export shows them, from one
    :class:`~attackkg.builders.d3fend_index.D3fendIndex` per graph (the index the inference reads)."""

    def __init__(self) -> None:
        self.indexes: list[D3fendIndex] = []
        self.ids: dict[str, str] = {}  # node -> D3FEND ID (D3-UA)
        self.merged: dict[str, str] = {}  # d3f:T1204.001 -> ATT&CK technique IRI
        self.skipped: set[str] = set()  # d3f:M1021 individuals (carried by akg:relatedDefensiveTechnique)
        self.associative: set[str] = set()

    def read(self, store: ox.Store, graph: ox.NamedNode) -> None:
        index = D3fendIndex.from_store(store, graph.value)
        self.indexes.append(index)
        for cls, technique in index.technique_classes.items():
            if TECHNIQUE_ID.match(attack_id_of(technique) or ""):
                self.merged[cls] = technique
        self.skipped |= index.mitigation_individuals
        self.ids.update(index.d3fend_ids)
        self.associative |= index.associative

    def node(self, iri: str) -> str:
        return self.merged.get(iri, iri)

    def edges(self) -> Iterable[tuple[str, str, str, str]]:
        """``rdfs:subClassOf`` and relation edges, D3FEND's ATT&CK classes as ATT&CK nodes.

        A technique's subclass link to a non-technique (``d3f:T1204 rdfs:subClassOf
        d3f:ExecutionTechnique``, D3FEND's copy of the ATT&CK tactic) is left out; between two
        techniques it is kept (D3FEND's own hierarchy, which the inference reads).
        """
        merged, skipped = self.merged, self.skipped
        for index in self.indexes:
            for subject, parents in index.superclasses.items():
                for obj in sorted(parents):
                    if subject in skipped or obj in skipped:
                        continue
                    if (subject in merged) != (obj in merged) or subject == obj:
                        continue
                    yield self.node(subject), SUBCLASS_OF, self.node(obj), index.graph
            for subject, prop, obj in index.edges():
                if subject in skipped or obj in skipped:
                    continue
                yield self.node(subject), prop, self.node(obj), index.graph

    def kinds(self) -> dict[str, str]:
        """d3fend-technique (a D3FEND ID under d3f:DefensiveTechnique), d3fend-tactic (under
        d3f:DefensiveTactic or typed so), artifact (under d3f:Artifact), d3fend-class otherwise."""
        kinds: dict[str, str] = {}
        for index in self.indexes:
            for node in index.defensive_techniques:
                kinds.setdefault(node, "d3fend-technique")
        for index in self.indexes:
            for node in index.tactic_classes:
                kinds.setdefault(node, "d3fend-tactic")
        for index in self.indexes:
            for node in index.artifacts:
                kinds.setdefault(node, "artifact")
        return {n: k for n, k in kinds.items() if n not in self.merged}

    def tactics(self) -> dict[str, set[str]]:
        """Defensive technique -> the D3FEND tactics it ``d3f:enables``, on itself or a superclass."""
        found: dict[str, set[str]] = defaultdict(set)
        for index in self.indexes:
            for node in index.defensive_techniques:
                found[node].update(index.tactics_of(node))
        return {node: tactics for node, tactics in found.items() if tactics}


__all__ = [
    "KINDS",
    "as_store",
    "attack_id_of",
    "curie",
    "find_node",
    "neighbourhood",
    "nodes_of_kind",
    "source_kind",
    "to_networkx",
]
