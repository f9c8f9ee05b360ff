"""The built store as a typed ``networkx.MultiDiGraph``, for path analysis and drawing.

Nodes are IRIs (strings). Each node has:

- ``kind``: technique, tactic, mitigation, group, software, campaign, data-source,
  data-component, detection-strategy, analytic, asset, matrix (ATT&CK); sigma-rule;
  atomic-test; d3fend-technique, d3fend-tactic, artifact, d3fend-class (D3FEND); cve; unknown;
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
  analytic dataComponent dataSource relatedTo``;
- Sigma: ``akg:detectsTechnique``, the ``akg:tags*`` links, ``akg:relatedRule`` and its
  sub-properties; Atomic Red Team: ``akg:emulates``;
- derived countermeasures: the one-hop ``akg:counteredBy``, ``akg:counteredByViaMitigation``
  and ``akg:relatedDefensiveTechnique`` (the ATT&CK mitigation -> D3FEND ``d3f:related`` link);
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

Reading is fast because only the predicates above are read, with pyoxigraph's
``quads_for_pattern`` (the full 18.1 + 1.2.0 + Sigma graph in well under a second), instead of
converting the store.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from collections.abc import Collection, Iterable
from pathlib import Path

import networkx as nx
import pyoxigraph as ox
import rdflib

from attackkg.builders.base import InputError, reachable
from attackkg.builders.files import atomic_path
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
    attack_iri,
)

RDF_TYPE = RDF + "type"
LABEL = RDFS + "label"
SUBCLASS_OF = RDFS + "subClassOf"
SUBPROPERTY_OF = RDFS + "subPropertyOf"
ON_PROPERTY = OWL + "onProperty"
SOME_VALUES_FROM = OWL + "someValuesFrom"
DEPRECATED = OWL + "deprecated"
D3FEND_ID = D3F + "d3fend-id"
MAY_BE_ASSOCIATED_WITH = D3F + "may-be-associated-with"
ENABLES = D3F + "enables"

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
    "asset",
    "matrix",
    "sigma-rule",
    "atomic-test",
    "d3fend-technique",
    "d3fend-tactic",
    "artifact",
    "d3fend-class",
    "cve",
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
DERIVED_EDGES = (
    "counteredBy",
    "counteredByViaMitigation",
    "relatedDefensiveTechnique",
    "detectsTechnique",
    "emulates",
    "tagsTactic",
    "uses",
    "mitigates",
    "detects",
)

_RELATED_RULE = {"relatedRule", "derivedFrom", "obsoletes", "mergedFrom", "renamedFrom", "similarTo"}

SOURCE_KINDS = ("attack", "d3fend", "sigma", "atomic", "derived")

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


def as_store(source: ox.Store | rdflib.Dataset | str | os.PathLike | None) -> ox.Store:
    """A pyoxigraph Store from a Store, an Oxigraph-backed rdflib Dataset, a store folder, or None
    (the default store, ``$ATTACK_KG_STORE``)."""
    if isinstance(source, ox.Store):
        return source
    if source is None or isinstance(source, (str, os.PathLike)):
        from attackkg.builders.store import open_store

        return open_store(source)
    inner = getattr(getattr(source, "store", None), "_inner", None)
    if isinstance(inner, ox.Store):
        return inner
    raise TypeError("need a pyoxigraph Store, an Oxigraph-backed rdflib Dataset (oxrdflib) or a store folder")


def to_networkx(
    source: ox.Store | rdflib.Dataset | str | os.PathLike | None = None,
    *,
    sources: Iterable[str] | None = None,
    kinds: Iterable[str] | None = None,
    predicates: Iterable[str] | None = None,
) -> nx.MultiDiGraph:
    """The store as a typed MultiDiGraph (see the module docstring for what is in it).

    ``sources`` keeps only the edges of those source kinds (attack, d3fend, sigma, atomic,
    derived); ``kinds`` keeps only the nodes of those kinds (technique, d3fend-technique, ...);
    ``predicates`` (CURIEs, ``akg:mitigates``) reads only those of the ATT&CK, Sigma, Atomic and
    derived edges (the D3FEND edges are read whenever D3FEND is). Without them, the whole graph.
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
        for subject, reason in _pairs(store, AKG + "countermeasureGap", graph.value):
            gaps[subject] = reason.rsplit("#", 1)[-1]

    nodes = edges.succ.keys()
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
        node_attrs[node] = attrs
    for node, tactics in d3fend.tactics(node_kind).items():
        if node in node_attrs:
            node_attrs[node]["tactic"] = ", ".join(sorted(labels.get(t, curie(t)) for t in tactics))

    result = nx.MultiDiGraph()
    result.graph["artifact_relations"] = sorted(curie(p) for p in d3fend.associative)
    result.graph["graphs"] = sorted(g.value for names in graphs.values() for g in names)
    # Straight into the MultiDiGraph's own structure (G._node, G._succ[u][v][key], shared with
    # G._pred[v][u]), what add_nodes_from and add_edge fill, at a fraction of their cost.
    result._node.update(node_attrs)
    result._succ.update(edges.succ)
    result._pred.update(edges.pred)
    nx._clear_cache(result)
    if kinds is not None:
        keep = set(kinds)
        result.remove_nodes_from([n for n, kind in result.nodes(data="kind") if kind not in keep])
    return result


class _Edges:
    """Edges as a MultiDiGraph's adjacency: ``succ[u][v][key]`` is the edge's attribute dict,
    the same dict as ``pred[v][u][key]``; every node has an entry in both. The key is the
    predicate's CURIE; an edge read twice (from two graphs) is kept once, from the first."""

    def __init__(self, labels: dict[str, str]) -> None:
        self.succ: dict[str, dict[str, dict[str, dict[str, str]]]] = {}
        self.pred: dict[str, dict[str, dict[str, dict[str, str]]]] = {}
        self.labels = labels

    def add_all(self, pairs: list[tuple[str, str]], predicate: str, graph: str) -> list[tuple[str, str]]:
        key = curie(predicate)
        label = self.labels.get(predicate) or key.split(":", 1)[-1]
        succ, pred = self.succ, self.pred
        for subject, obj in pairs:
            out = succ.get(subject)
            if out is None:
                out = succ[subject] = {}
                pred.setdefault(subject, {})
            into = pred.get(obj)
            if into is None:
                into = pred[obj] = {}
                succ.setdefault(obj, {})
            keys = out.get(obj)
            if keys is None:
                keys = out[obj] = into[subject] = {}
            elif key in keys:
                continue
            keys[key] = {"predicate": predicate, "graph": graph, "label": label}
        return pairs


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
    """What the export reads from D3FEND graphs: class hierarchy, relations, IDs, kinds."""

    def __init__(self) -> None:
        self.superclasses: dict[str, set[str]] = defaultdict(set)
        self.relations: list[tuple[str, str, str, str]] = []  # subject, property, value, graph
        self.subclass_edges: list[tuple[str, str, str]] = []  # subject, object, graph
        self.ids: dict[str, str] = {}  # node -> D3FEND ID (D3-UA) or d3f:Local
        self.merged: dict[str, str] = {}  # d3f:T1204.001 -> ATT&CK technique IRI
        self.skipped: set[str] = set()  # d3f:M1021 individuals (carried by akg:relatedDefensiveTechnique)
        self.associative: set[str] = set()
        self.typed_tactics: set[str] = set()
        self.d3fend_ids: set[str] = set()

    def read(self, store: ox.Store, graph: ox.NamedNode) -> None:
        name = graph.value
        for technique, cls in _pairs(store, AKG + "d3fendClass", name):
            if TECHNIQUE_ID.match(attack_id_of(technique) or ""):
                self.merged[cls] = technique
        self.skipped.update(individual for _, individual in _pairs(store, AKG + "d3fendMitigation", name))
        for cls, ident in _select(store, f"SELECT ?s ?o WHERE {{ GRAPH <{name}> {{ ?s <{D3FEND_ID}> ?o }} }}"):
            self.ids[cls] = ident
            self.d3fend_ids.add(cls)
        tactic = f"SELECT ?s WHERE {{ GRAPH <{name}> {{ ?s <{RDF_TYPE}> <{D3F}DefensiveTactic> }} }}"
        self.typed_tactics.update(row[0] for row in _select(store, tactic))

        superproperties: dict[str, set[str]] = defaultdict(set)
        for prop, parent in _pairs(store, SUBPROPERTY_OF, name):
            superproperties[prop].add(parent)
        associative = {p for p in superproperties if MAY_BE_ASSOCIATED_WITH in reachable(p, superproperties)}
        associative.add(MAY_BE_ASSOCIATED_WITH)
        self.associative |= associative

        for cls, parent in _pairs(store, SUBCLASS_OF, name):
            self.superclasses[cls].add(parent)
            self.subclass_edges.append((cls, parent, name))
        restrictions = f"""SELECT ?c ?p ?v WHERE {{ GRAPH <{name}> {{
            ?c <{SUBCLASS_OF}> ?r . ?r <{ON_PROPERTY}> ?p ; <{SOME_VALUES_FROM}> ?v
            FILTER(isIRI(?c) && isBLANK(?r) && isIRI(?p) && isIRI(?v)) }} }}"""
        for cls, prop, value in _select(store, restrictions):
            if not value.startswith(XSD):
                self.relations.append((cls, prop, value, name))
        # The release form states the relations directly too (d3f:T1204.001 d3f:accesses d3f:URL).
        values = " ".join(f"<{p}>" for p in sorted(associative | {ENABLES}))
        direct = f"""SELECT ?s ?p ?o WHERE {{ GRAPH <{name}> {{ VALUES ?p {{ {values} }} ?s ?p ?o
            FILTER(isIRI(?s) && isIRI(?o)) }} }}"""
        for subject, prop, obj in _select(store, direct):
            self.relations.append((subject, prop, obj, name))

    def node(self, iri: str) -> str:
        return self.merged.get(iri, iri)

    def edges(self) -> Iterable[tuple[str, str, str, str]]:
        """``rdfs:subClassOf`` and relation edges, D3FEND's ATT&CK classes as ATT&CK nodes.

        A technique's subclass link to a non-technique (``d3f:T1204 rdfs:subClassOf
        d3f:ExecutionTechnique``, D3FEND's copy of the ATT&CK tactic) is left out; between two
        techniques it is kept (D3FEND's own hierarchy, which the inference reads).
        """
        merged, skipped = self.merged, self.skipped
        for subject, obj, graph in self.subclass_edges:
            if subject in skipped or obj in skipped:
                continue
            if (subject in merged) != (obj in merged) or subject == obj:
                continue
            yield self.node(subject), SUBCLASS_OF, self.node(obj), graph
        for subject, prop, obj, graph in self.relations:
            if subject in skipped or obj in skipped:
                continue
            yield self.node(subject), prop, self.node(obj), graph

    def kinds(self) -> dict[str, str]:
        """d3fend-technique (a D3FEND ID under d3f:DefensiveTechnique), d3fend-tactic (under
        d3f:DefensiveTactic or typed so), artifact (under d3f:Artifact), d3fend-class otherwise."""
        children: dict[str, set[str]] = defaultdict(set)
        for sub, supers in self.superclasses.items():
            for sup in supers:
                children[sup].add(sub)
        techniques = reachable(D3F + "DefensiveTechnique", children) - {D3F + "DefensiveTechnique"}
        tactics = (reachable(D3F + "DefensiveTactic", children) - {D3F + "DefensiveTactic"}) | self.typed_tactics
        artifacts = reachable(D3F + "Artifact", children)
        kinds: dict[str, str] = {}
        for node in techniques & self.d3fend_ids:
            kinds[node] = "d3fend-technique"
        for node in tactics:
            kinds.setdefault(node, "d3fend-tactic")
        for node in artifacts:
            kinds.setdefault(node, "artifact")
        return {n: k for n, k in kinds.items() if n not in self.merged}

    def tactics(self, kinds: dict[str, str]) -> dict[str, set[str]]:
        """Defensive technique -> the D3FEND tactics it ``d3f:enables``, on itself or a superclass."""
        enables: dict[str, set[str]] = defaultdict(set)
        for subject, prop, obj, _ in self.relations:
            if prop == ENABLES:
                enables[subject].add(obj)
        found: dict[str, set[str]] = {}
        for node, kind in kinds.items():
            if kind == "d3fend-technique":
                tactics = {
                    t
                    for cls in reachable(node, self.superclasses)
                    for t in enables.get(cls, ())
                    if kinds.get(t) == "d3fend-tactic"
                }
                if tactics:
                    found[node] = tactics
        return found


# --- looking nodes up -----------------------------------------------------------------------------


def find_node(graph: nx.MultiDiGraph, name: str) -> str:
    """The node for an ATT&CK ID (``T1204.001``, ``G0016``), a D3FEND ID (``D3-UA``), a CURIE
    (``d3f:URL``), a Sigma rule or Atomic test UUID, or an IRI. Raises InputError if absent."""
    name = name.strip()
    candidates = [name, attack_iri(name), _UUID + name.lower(), ATOMIC + name.lower()]
    if ":" in name and not name.startswith(("http:", "https:", "urn:")):
        prefix, _, local = name.partition(":")
        if prefix in PREFIXES:
            candidates.append(PREFIXES[prefix] + local)
    for candidate in candidates:
        if candidate and candidate in graph:
            return candidate
    wanted = name.upper()
    for node, ident in graph.nodes(data="id"):
        if ident and ident.upper() == wanted:
            return node
    raise InputError(f"{name!r} is not in the graph (an ATT&CK ID, a D3FEND ID such as D3-UA, d3f:Name, or an IRI)")


def nodes_of_kind(graph: nx.MultiDiGraph, kind: str) -> list[str]:
    """The nodes of one kind, sorted by id."""
    return sorted((n for n, k in graph.nodes(data="kind") if k == kind), key=lambda n: graph.nodes[n]["id"])


def neighbourhood(
    graph: nx.MultiDiGraph, node: str, radius: int = 1, kinds: Iterable[str] | None = None
) -> nx.MultiDiGraph:
    """The nodes within ``radius`` hops of ``node`` (either direction), optionally of some kinds only."""
    keep = set(kinds) if kinds is not None else None
    seen = {node}
    frontier = [node]
    for _ in range(radius):
        nxt = []
        for current in frontier:
            for other in (*graph.successors(current), *graph.predecessors(current)):
                if other not in seen and (keep is None or graph.nodes[other]["kind"] in keep):
                    seen.add(other)
                    nxt.append(other)
        frontier = nxt
    return graph.subgraph(seen).copy()


# --- writing --------------------------------------------------------------------------------------

WRITERS = (".graphml", ".gexf", ".json")


def write_graph(graph: nx.MultiDiGraph, path: str | os.PathLike) -> tuple[int, int]:
    """Write ``graph`` with networkx's own writers, the format from the extension: ``.graphml``,
    ``.gexf`` or ``.json`` (node-link, ``nx.node_link_data(G, edges="edges")``). Node keys are the
    IRIs in each; GEXF names the ``id`` attribute ``identifier`` (its writer would take ``id`` for
    the XML id). Written beside the target and renamed. Returns (nodes, edges)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in WRITERS:
        raise InputError(f"unknown graph format {suffix or '(none)'}; use one of {', '.join(WRITERS)}", path=path)
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise InputError("the folder to write into does not exist", path=directory)
    out = graph.copy()
    # XML formats take scalar attributes only: lists become space-separated strings.
    out.graph = {k: " ".join(v) if isinstance(v, (list, tuple)) else v for k, v in graph.graph.items()}
    with atomic_path(path, what="export") as temporary:
        if suffix == ".graphml":
            nx.write_graphml(out, temporary)
        elif suffix == ".gexf":
            # networkx's GEXF writer takes a node's "id" attribute as its XML id: keep the IRI there.
            for _, data in out.nodes(data=True):
                if "id" in data:
                    data["identifier"] = data.pop("id")
            nx.write_gexf(out, temporary)
        else:
            import json

            data = nx.node_link_data(graph, edges="edges")
            with open(temporary, "w", encoding="utf-8") as stream:
                json.dump(data, stream, ensure_ascii=False)
    return graph.number_of_nodes(), graph.number_of_edges()


# --- drawing (matplotlib, optional) -------------------------------------------------------------------

KIND_COLORS = {
    "technique": "#e4572e",
    "tactic": "#f3a712",
    "mitigation": "#29335c",
    "group": "#a8c686",
    "software": "#669bbc",
    "campaign": "#8e7dbe",
    "sigma-rule": "#2a9d8f",
    "atomic-test": "#e76f51",
    "d3fend-technique": "#1d4ed8",
    "d3fend-tactic": "#60a5fa",
    "artifact": "#fbbf24",
    "d3fend-class": "#d1d5db",
}


def display_name(graph: nx.MultiDiGraph, node: str, width: int = 28) -> str:
    """A short name for drawings: the ATT&CK or D3FEND ID, or the label for artifacts and rules."""
    data = graph.nodes[node]
    kind, ident, label = data.get("kind"), data.get("id", node), data.get("label", "")
    text = label if kind in ("artifact", "d3fend-class", "sigma-rule", "atomic-test", "cve") else ident
    return text if len(text) <= width else text[: width - 1] + "…"


def draw(
    graph: nx.MultiDiGraph,
    ax=None,
    pos: dict | None = None,
    labels: dict[str, str] | None = None,
    edge_labels: bool = True,
    seed: int = 7,
    center: str | None = None,
):
    """Draw a small graph with matplotlib, nodes coloured by kind, edges labelled by predicate.

    ``pos`` defaults to ``center`` in the middle and the other nodes on a circle around it,
    grouped by kind, or without ``center`` to a spring layout (seeded, so the same picture each
    time). Returns the axes.
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    if ax is None:
        _, ax = plt.subplots(figsize=(12, 8))
    simple = nx.DiGraph(graph)  # one arrow per node pair
    if pos is None and center is not None and center in simple:
        order = {kind: i for i, kind in enumerate(KINDS)}
        ring = sorted(
            (n for n in simple if n != center),
            key=lambda n: (order.get(graph.nodes[n].get("kind"), len(order)), graph.nodes[n].get("id", n)),
        )
        pos = nx.shell_layout(simple, nlist=[[center], ring]) if ring else {center: (0.0, 0.0)}
    elif pos is None:
        pos = nx.spring_layout(simple, seed=seed, k=1.2 / max(1, len(simple)) ** 0.5)
    kinds = [graph.nodes[n].get("kind", "unknown") for n in simple]
    colors = [KIND_COLORS.get(k, "#9ca3af") for k in kinds]
    nx.draw_networkx_edges(simple, pos, ax=ax, edge_color="#9ca3af", arrows=True, arrowsize=10, node_size=500)
    nx.draw_networkx_nodes(simple, pos, ax=ax, node_color=colors, node_size=500, edgecolors="white")
    names = labels if labels is not None else {n: display_name(graph, n) for n in simple}
    nx.draw_networkx_labels(simple, pos, labels=names, ax=ax, font_size=8, verticalalignment="bottom")
    if edge_labels:
        text = {}
        for u, v, key in graph.edges(keys=True):
            text.setdefault((u, v), graph.edges[u, v, key].get("label", key))
        nx.draw_networkx_edge_labels(simple, pos, edge_labels=text, ax=ax, font_size=6, font_color="#4b5563")
    present = [k for k in KINDS if k in set(kinds)]
    handles = [Line2D([], [], marker="o", linestyle="", color=KIND_COLORS.get(k, "#9ca3af"), label=k) for k in present]
    ax.legend(handles=handles, loc="best", fontsize=7, frameon=False)
    ax.set_axis_off()
    return ax


__all__ = [
    "KINDS",
    "KIND_COLORS",
    "as_store",
    "attack_id_of",
    "curie",
    "display_name",
    "draw",
    "find_node",
    "neighbourhood",
    "nodes_of_kind",
    "source_kind",
    "to_networkx",
    "write_graph",
]
