"""D3FEND's countermeasure inference, computed from the loaded D3FEND release and materialized.

The rule (DESIGN.md, "D3FEND's inference"): ATT&CK technique T is countered by D3FEND defensive
technique D when

- some technique H in T's ATT&CK hierarchy (T itself, its parent, its sub-techniques; from the
  ATT&CK IDs, ``T1204.001`` -> ``T1204``) relates to an artifact Ao through a property under
  ``d3f:may-be-associated-with`` (``rdfs:subPropertyOf*``),
- D (a class under ``d3f:DefensiveTechnique`` with a ``d3f:d3fend-id``) relates the same way to
  an artifact Ad,
- and Ao ``rdfs:subClassOf*`` Ad.

A relation counts whether D3FEND asserts it directly (``d3f:T1204.001 d3f:accesses d3f:URL``, the
release form) or as a restriction (``d3f:T1204.001 rdfs:subClassOf [ owl:onProperty d3f:accesses ;
owl:someValuesFrom d3f:URL ]``, both forms). Only the relations H and D state themselves count,
not those inherited from their superclasses: inheriting on the defensive side adds techniques
D3FEND does not list (``T1204.001`` would get Email Filtering and Inbound Traffic Filtering from
``d3f:NetworkTrafficFiltering``'s restriction on ``d3f:NetworkTraffic``), and on the offensive
side it would pull in the tactic classes' generic restrictions (``d3f:CredentialAccessTechnique``).
A defensive technique's D3FEND tactic (Model, Harden, Detect, Isolate, Deceive, Evict, Restore)
is the ``d3f:DefensiveTactic`` it ``d3f:enables``, directly or as a restriction, on itself or
inherited from a superclass (``d3f:URLAnalysis`` gets Detect from ``d3f:NetworkTrafficAnalysis``).

The closures (``subPropertyOf*``, ``subClassOf*``) are computed once in Python: the same rule as
one SPARQL query with property paths takes over a minute in Oxigraph. What the rule reads of
D3FEND (relations in both forms, hierarchies, IDs, tactics) is :class:`D3fendIndex`
(``builders/d3fend_index.py``), the index the networkx export reads too.

Everything here goes into ``COUNTERMEASURES_GRAPH`` (derived by attack-kg, not MITRE's words):

- per mapping, a node ``akg:ArtifactMapping`` with the whole explanation, and the one-hop edge
  ``<technique> akg:counteredBy d3f:D``;
- the second path, ATT&CK mitigations D3FEND relates to its techniques (``d3f:M1021 d3f:related
  d3f:URLAnalysis``): ``<mitigation> akg:relatedDefensiveTechnique d3f:D`` and, for every technique
  the ATT&CK graph says the mitigation mitigates (``akg:mitigates``), a node
  ``akg:MitigationMapping`` and the edge ``<technique> akg:counteredByViaMitigation d3f:D``;
- per technique with no artifact mapping, why: ``<technique> akg:countermeasureGap`` one of
  ``akg:NoD3fendClass``, ``akg:RevokedTechnique``, ``akg:NoArtifactRelation``,
  ``akg:NoDefensiveTechnique``.

Mapping nodes have stable IRIs, ``https://w3id.org/attack-kg/mapping/<ATT&CK ID>/<D local name>/
<hash of the explanation>``: the same explanation gets the same IRI on every build.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import pyoxigraph as ox
import rdflib

from attackkg.builders.base import TYPE, InputError, Report, akg, text
from attackkg.builders.d3fend_index import D3fendIndex
from attackkg.builders.oxstore import oxigraph_of
from attackkg.ontology.namespaces import (
    AKG,
    COUNTERMEASURES_GRAPH,
    D3F,
    MAPPING,
    MITIGATION_ID,
    OWL,
    PROV,
    TECHNIQUE_ID,
    attack_iri,
    graph_iri,
)

SOURCE = "derived"

DEPRECATED = OWL + "deprecated"


# Why a technique has no artifact mapping (individuals of akg:CountermeasureGap).
NO_D3FEND_CLASS = AKG + "NoD3fendClass"
REVOKED_TECHNIQUE = AKG + "RevokedTechnique"
NO_ARTIFACT_RELATION = AKG + "NoArtifactRelation"
NO_DEFENSIVE_TECHNIQUE = AKG + "NoDefensiveTechnique"

_D3FEND_GRAPHS = graph_iri("d3fend") + "/"
_ATTACK_GRAPHS = graph_iri("attack") + "/"


@dataclass(frozen=True, order=True)
class Mapping:
    """One explained countermeasure: ``technique`` is countered by ``defensive_technique`` because
    ``via`` (in its ATT&CK hierarchy) ``offensive_relation`` ``offensive_artifact``, which is
    (a subclass of) ``defensive_artifact``, which ``defensive_technique`` ``defensive_relation``.

    ATT&CK IDs for the techniques, D3FEND IRIs for the rest.
    """

    technique: str
    via: str
    offensive_relation: str
    offensive_artifact: str
    defensive_artifact: str
    defensive_relation: str
    defensive_technique: str


@dataclass(frozen=True, order=True)
class MitigationMapping:
    """``technique`` is mitigated by ``mitigation`` (ATT&CK), which D3FEND relates to
    ``defensive_technique`` (``d3f:M1021 d3f:related d3f:URLAnalysis``)."""

    technique: str
    mitigation: str
    defensive_technique: str


@dataclass
class AttackFacts:
    """What the inference needs from the ATT&CK graphs (all ATT&CK IDs)."""

    techniques: set[str] = field(default_factory=set)
    revoked: set[str] = field(default_factory=set)  # revoked or deprecated
    mitigates: set[tuple[str, str]] = field(default_factory=set)  # (mitigation, technique)


@dataclass
class Inference:
    """The result: mappings with their explanation, the second path, the gaps."""

    d3fend_graph: str | None
    version: str | None
    mappings: list[Mapping]
    mitigation_mappings: list[MitigationMapping]
    related: dict[str, set[str]]  # ATT&CK mitigation ID -> D3FEND defensive technique IRIs
    tactics: dict[str, tuple[str, ...]]  # defensive technique IRI -> D3FEND tactic IRIs
    d3fend_classes: dict[str, str]  # ATT&CK technique ID -> D3FEND class IRI
    gaps: dict[str, str]  # ATT&CK technique ID -> gap reason IRI (akg:NoD3fendClass, ...)
    seconds: float = 0.0

    def countered_by(self, technique: str) -> set[str]:
        """D3FEND defensive technique IRIs that counter ``technique`` (artifact path)."""
        return {m.defensive_technique for m in self.mappings if m.technique == technique}

    def countered_techniques(self) -> set[str]:
        """ATT&CK IDs of the techniques with at least one artifact mapping."""
        return {m.technique for m in self.mappings}


# --- the rule -------------------------------------------------------------------------------------


def infer_from_triples(
    d3fend: Iterable[ox.Triple | ox.Quad],
    attack: AttackFacts | None = None,
    d3fend_graph: str | None = None,
    version: str | None = None,
) -> Inference:
    """Run the inference on D3FEND's triples (as parsed, or read from a store).

    ``attack`` (from the ATT&CK graphs) gives the techniques to classify gaps for and the
    ``mitigates`` edges of the second path; without it the techniques are D3FEND's own.
    """
    started = time.perf_counter()
    inference = infer_from_index(D3fendIndex.from_triples(d3fend, graph=d3fend_graph), attack, version)
    inference.seconds = time.perf_counter() - started
    return inference


def infer_from_index(index: D3fendIndex, attack: AttackFacts | None = None, version: str | None = None) -> Inference:
    """D3FEND's rule (the module docstring) on an index of the D3FEND graph."""
    started = time.perf_counter()
    relations = index.relations
    defensive = index.defensive_techniques
    tactics = {d: index.tactics_of(d) for d in defensive}

    # defensive side indexed by artifact: Ad -> [(D, relation)]
    acting_on: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for d in defensive:
        for prop, artifact in sorted(relations.get(d, ())):
            acting_on[artifact].append((d, prop))

    classes: dict[str, str] = {}
    for cls, attack_id in index.attack_ids.items():
        if TECHNIQUE_ID.match(attack_id):
            classes.setdefault(attack_id, cls)
    children: dict[str, list[str]] = defaultdict(list)
    for attack_id in classes:
        if "." in attack_id:
            children[attack_id.split(".")[0]].append(attack_id)

    mappings: list[Mapping] = []
    related_techniques: dict[str, bool] = {}  # ATT&CK ID -> has artifact relations in its hierarchy
    for technique in sorted(classes):
        found: set[Mapping] = set()
        any_relation = False
        for member in _hierarchy(technique, classes, children):
            for prop, artifact in relations.get(classes[member], ()):
                any_relation = True
                for target in index.supers(artifact):
                    for d, d_prop in acting_on.get(target, ()):
                        found.add(Mapping(technique, member, prop, artifact, target, d_prop, d))
        related_techniques[technique] = any_relation
        mappings.extend(sorted(found))

    defensive_set = set(defensive)
    related_by_mitigation: dict[str, set[str]] = defaultdict(set)
    for subject, obj in index.related():
        local = subject[len(D3F) :] if subject.startswith(D3F) else ""
        if MITIGATION_ID.match(local) and obj in defensive_set:
            related_by_mitigation[local].add(obj)

    mitigation_mappings = sorted(
        MitigationMapping(technique, mitigation, d)
        for mitigation, technique in (attack.mitigates if attack else ())
        for d in related_by_mitigation.get(mitigation, ())
    )

    countered = {m.technique for m in mappings}
    universe = attack.techniques if attack and attack.techniques else set(classes)
    attack_ids = index.attack_ids
    revoked = {attack_ids[c] for c in index.deprecated if c in attack_ids} | (attack.revoked if attack else set())
    gaps: dict[str, str] = {}
    for technique in sorted(universe - countered):
        if technique in revoked:
            gaps[technique] = REVOKED_TECHNIQUE
        elif technique not in classes:
            gaps[technique] = NO_D3FEND_CLASS
        elif not related_techniques.get(technique):
            gaps[technique] = NO_ARTIFACT_RELATION
        else:
            gaps[technique] = NO_DEFENSIVE_TECHNIQUE

    return Inference(
        d3fend_graph=index.graph,
        version=version,
        mappings=mappings,
        mitigation_mappings=mitigation_mappings,
        related=dict(related_by_mitigation),
        tactics=tactics,
        d3fend_classes=classes,
        gaps=gaps,
        seconds=time.perf_counter() - started,
    )


def _hierarchy(technique: str, classes: dict[str, str], children: dict[str, list[str]]) -> list[str]:
    """T, its parent and its sub-techniques, those D3FEND has a class for (from the IDs)."""
    members = [technique]
    if "." in technique:
        parent = technique.split(".")[0]
        if parent in classes:
            members.append(parent)
    else:
        members.extend(sorted(children.get(technique, ())))
    return members


# --- reading the store ----------------------------------------------------------------------------


def _as_store(target: ox.Store | rdflib.Dataset | rdflib.Graph) -> ox.Store:
    held = oxigraph_of(target)
    if held is not None:
        return held
    raise TypeError("countermeasures needs a pyoxigraph Store or an Oxigraph-backed rdflib Dataset (oxrdflib)")


def d3fend_graphs(store: ox.Store) -> list[str]:
    """The D3FEND graphs in the store (``https://w3id.org/attack-kg/graph/d3fend/<version>``)."""
    return sorted(g.value for g in store.named_graphs() if g.value.startswith(_D3FEND_GRAPHS))


def attack_graphs(store: ox.Store) -> list[str]:
    """The ATT&CK graphs in the store (``https://w3id.org/attack-kg/graph/attack/...``)."""
    return sorted(g.value for g in store.named_graphs() if g.value.startswith(_ATTACK_GRAPHS))


def read_attack(store: ox.Store, graphs: Sequence[str]) -> AttackFacts:
    """Techniques, revoked/deprecated flags and ``akg:mitigates`` edges from the ATT&CK graphs.

    A technique is an object whose IRI is ATT&CK's URL for its ``akg:attackId`` ``T####[.###]``;
    revoked when ``akg:revoked true`` or ``owl:deprecated true``.
    """
    facts = AttackFacts()
    true = {"true", "1"}
    for name in graphs:
        graph = ox.NamedNode(name)
        ids: dict[str, str] = {}
        for quad in store.quads_for_pattern(None, akg("attackId"), None, graph):
            attack_id = quad.object.value
            if quad.subject.value == attack_iri(attack_id):
                ids[quad.subject.value] = attack_id
                if TECHNIQUE_ID.match(attack_id):
                    facts.techniques.add(attack_id)
        for flag in (akg("revoked"), ox.NamedNode(DEPRECATED)):
            for quad in store.quads_for_pattern(None, flag, None, graph):
                if quad.object.value in true and quad.subject.value in ids:
                    facts.revoked.add(ids[quad.subject.value])
        for quad in store.quads_for_pattern(None, akg("mitigates"), None, graph):
            source, target = ids.get(quad.subject.value), ids.get(quad.object.value)
            if source and target and MITIGATION_ID.match(source) and TECHNIQUE_ID.match(target):
                facts.mitigates.add((source, target))
    return facts


def infer(
    target: ox.Store | rdflib.Dataset,
    d3fend_graph: str | None = None,
    attack_graph_names: Sequence[str] | None = None,
) -> Inference:
    """Read the D3FEND graph (and the ATT&CK graphs) from the store and run the inference.

    ``d3fend_graph`` defaults to the one D3FEND graph in the store; ``attack_graph_names`` to
    every ATT&CK graph in it (none is fine: the techniques are then D3FEND's own).
    """
    started = time.perf_counter()
    store = _as_store(target)
    if d3fend_graph is None:
        found = d3fend_graphs(store)
        if len(found) != 1:
            what = "no D3FEND graph" if not found else f"several D3FEND graphs ({', '.join(found)}); name one"
            raise InputError(f"cannot infer countermeasures: {what}")
        d3fend_graph = found[0]
    names = attack_graphs(store) if attack_graph_names is None else list(attack_graph_names)
    attack = read_attack(store, names) if names else None
    index = D3fendIndex.from_store(store, d3fend_graph)
    inference = infer_from_index(index, attack, version=_version_of(d3fend_graph))
    inference.seconds = time.perf_counter() - started
    return inference


def _version_of(graph: str) -> str | None:
    return graph[len(_D3FEND_GRAPHS) :] if graph.startswith(_D3FEND_GRAPHS) else None


# --- into RDF -------------------------------------------------------------------------------------


def mapping_iri(mapping: Mapping | MitigationMapping) -> str:
    """Stable IRI of a mapping node: ``.../mapping/T1204.001/URLAnalysis/<hash>``."""
    parts = [f"{type(mapping).__name__}", *(getattr(mapping, f) for f in mapping.__dataclass_fields__)]
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:16]
    local = _local(mapping.defensive_technique)
    if isinstance(mapping, MitigationMapping):
        return f"{MAPPING}{mapping.technique}/{mapping.mitigation}/{local}"
    return f"{MAPPING}{mapping.technique}/{local}/{digest}"


def triples(inference: Inference) -> Iterator[ox.Triple]:
    """The countermeasures graph: mapping nodes, one-hop edges, the second path and the gaps.

    Every term is D3FEND's (``d3f:``), ATT&CK's URL, or declared in ``ontology/d3fend.ttl``.
    """
    nodes: dict[str, ox.NamedNode] = {}

    def node(value: str) -> ox.NamedNode:
        found = nodes.get(value)
        if found is None:
            found = nodes[value] = ox.NamedNode(value)
        return found

    def technique(attack_id: str) -> ox.NamedNode:
        return node(attack_iri(attack_id) or attack_id)

    p = {name: akg(name) for name in _PROPERTIES}
    derived_from = ox.NamedNode(PROV + "wasDerivedFrom")
    source = ox.NamedNode(inference.d3fend_graph) if inference.d3fend_graph else None
    artifact_mapping, mitigation_mapping = akg("ArtifactMapping"), akg("MitigationMapping")

    edges: set[tuple[str, str, str]] = set()

    def common(subject: ox.NamedNode, m, edge: str) -> Iterator[ox.Triple]:
        """What both kinds of mapping node carry: the defensive tactic, the D3FEND graph it was
        derived from, and (once per pair) the one-hop edge technique -> defensive technique."""
        for tactic in inference.tactics.get(m.defensive_technique, ()):
            yield ox.Triple(subject, p["defensiveTactic"], node(tactic))
        if source is not None:
            yield ox.Triple(subject, derived_from, source)
        if (edge, m.technique, m.defensive_technique) not in edges:
            edges.add((edge, m.technique, m.defensive_technique))
            yield ox.Triple(technique(m.technique), p[edge], node(m.defensive_technique))

    for m in inference.mappings:
        subject = ox.NamedNode(mapping_iri(m))
        yield ox.Triple(subject, TYPE, artifact_mapping)
        yield ox.Triple(subject, p["mappedTechnique"], technique(m.technique))
        yield ox.Triple(subject, p["mappedAttackId"], text(m.technique))
        yield ox.Triple(subject, p["viaTechnique"], technique(m.via))
        yield ox.Triple(subject, p["viaAttackId"], text(m.via))
        yield ox.Triple(subject, p["viaD3fendClass"], node(inference.d3fend_classes[m.via]))
        yield ox.Triple(subject, p["offensiveRelation"], node(m.offensive_relation))
        yield ox.Triple(subject, p["offensiveArtifact"], node(m.offensive_artifact))
        yield ox.Triple(subject, p["defensiveArtifact"], node(m.defensive_artifact))
        yield ox.Triple(subject, p["defensiveRelation"], node(m.defensive_relation))
        yield ox.Triple(subject, p["defensiveTechnique"], node(m.defensive_technique))
        yield from common(subject, m, "counteredBy")

    for mitigation, defenses in sorted(inference.related.items()):
        for d in sorted(defenses):
            yield ox.Triple(technique(mitigation), p["relatedDefensiveTechnique"], node(d))

    for m in inference.mitigation_mappings:
        subject = ox.NamedNode(mapping_iri(m))
        yield ox.Triple(subject, TYPE, mitigation_mapping)
        yield ox.Triple(subject, p["mappedTechnique"], technique(m.technique))
        yield ox.Triple(subject, p["mappedAttackId"], text(m.technique))
        yield ox.Triple(subject, p["viaMitigation"], technique(m.mitigation))
        yield ox.Triple(subject, p["defensiveTechnique"], node(m.defensive_technique))
        yield from common(subject, m, "counteredByViaMitigation")

    for attack_id, reason in sorted(inference.gaps.items()):
        yield ox.Triple(technique(attack_id), p["countermeasureGap"], node(reason))


_PROPERTIES = (
    "mappedTechnique",
    "mappedAttackId",
    "viaTechnique",
    "viaAttackId",
    "viaD3fendClass",
    "viaMitigation",
    "offensiveRelation",
    "offensiveArtifact",
    "defensiveArtifact",
    "defensiveRelation",
    "defensiveTechnique",
    "defensiveTactic",
    "counteredBy",
    "counteredByViaMitigation",
    "relatedDefensiveTechnique",
    "countermeasureGap",
)


def _local(iri: str) -> str:
    local = iri[len(D3F) :] if iri.startswith(D3F) else iri.rsplit("/", 1)[-1].rsplit("#", 1)[-1]
    return re.sub(r"[^A-Za-z0-9._~-]", "_", local)


def build(
    target: ox.Store | rdflib.Dataset,
    d3fend_graph: str | None = None,
    attack_graph_names: Sequence[str] | None = None,
) -> Report:
    """Infer from the store's D3FEND (and ATT&CK) graphs and add the result to
    ``COUNTERMEASURES_GRAPH`` in the same store. Call it after the builders ran."""
    store = _as_store(target)
    inference = infer(store, d3fend_graph, attack_graph_names)
    graph_name = ox.NamedNode(COUNTERMEASURES_GRAPH)
    out = list(triples(inference))
    store.bulk_extend(ox.Quad(t.subject, t.predicate, t.object, graph_name) for t in out)
    report = Report(
        source=SOURCE,
        path=inference.d3fend_graph or "",
        graph=COUNTERMEASURES_GRAPH,
        version=inference.version,
        title="D3FEND countermeasures inferred by attack-kg",
        triples=len(out),
    )
    report.counts.update(summary(inference))
    report.counts["seconds"] = round(inference.seconds, 3)  # read + closures + mappings (benchmarks)
    return report


def summary(inference: Inference) -> dict[str, int]:
    """Counts for reports and benchmarks."""
    counts = {
        "artifact mappings": len(inference.mappings),
        "technique-countermeasure pairs": len({(m.technique, m.defensive_technique) for m in inference.mappings}),
        "techniques countered": len(inference.countered_techniques()),
        "mitigation mappings": len(inference.mitigation_mappings),
        "mitigations related to D3FEND": len(inference.related),
    }
    for reason in (NO_D3FEND_CLASS, REVOKED_TECHNIQUE, NO_ARTIFACT_RELATION, NO_DEFENSIVE_TECHNIQUE):
        counts["gap " + reason[len(AKG) :]] = sum(1 for r in inference.gaps.values() if r == reason)
    return counts
