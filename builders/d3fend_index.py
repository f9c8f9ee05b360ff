"""One index of a D3FEND graph: what the countermeasure inference, the networkx export and the
paths read from D3FEND, read once and in one way.

From one D3FEND graph (the ontology as parsed, or the graph ``builders/d3fend.py`` stored):

- the class hierarchy (``rdfs:subClassOf`` between named classes) and the property hierarchy
  (``rdfs:subPropertyOf``), whose closures (``subClassOf*``, ``subPropertyOf*``) are computed
  here, once, in Python;
- each class's relations to other classes, whether D3FEND states them directly
  (``d3f:T1204.001 d3f:accesses d3f:URL``, the release form) or as ``owl:someValuesFrom``
  restrictions (``rdfs:subClassOf [ owl:onProperty d3f:accesses ; owl:someValuesFrom d3f:URL ]``,
  both forms); the direct ones are read for the properties under ``d3f:may-be-associated-with``,
  ``d3f:enables`` and ``d3f:related``;
- D3FEND IDs (``d3f:d3fend-id``), ATT&CK IDs (``d3f:attack-id``), ``owl:deprecated``, classes typed
  ``d3f:DefensiveTactic``, and the links attack-kg's D3FEND builder adds between ATT&CK objects
  and D3FEND's classes for them (``akg:d3fendClass``, ``akg:d3fendMitigation``).

And what follows from them, each written once: which properties count for the rule
(:attr:`D3fendIndex.associative`), each class's artifact relations (:meth:`relations`), the
defensive techniques, the defensive tactics, a technique's tactic (:meth:`tactics_of`), the
artifacts. ``builders/countermeasures.py`` applies D3FEND's rule to it; ``queries/graph.py`` makes
its edges and node kinds from it; ``queries/paths.py`` walks those edges.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property

import pyoxigraph as ox

from attackkg.builders.base import reachable
from attackkg.ontology.namespaces import AKG, D3F, OWL, RDF, RDFS, XSD

SUBCLASS_OF = RDFS + "subClassOf"
SUBPROPERTY_OF = RDFS + "subPropertyOf"
ON_PROPERTY = OWL + "onProperty"
SOME_VALUES_FROM = OWL + "someValuesFrom"
RDF_TYPE = RDF + "type"
DEPRECATED = OWL + "deprecated"
MAY_BE_ASSOCIATED_WITH = D3F + "may-be-associated-with"
DEFENSIVE_TECHNIQUE = D3F + "DefensiveTechnique"
DEFENSIVE_TACTIC = D3F + "DefensiveTactic"
ARTIFACT = D3F + "Artifact"
ENABLES = D3F + "enables"
RELATED = D3F + "related"
ATTACK_ID = D3F + "attack-id"
D3FEND_ID = D3F + "d3fend-id"
D3FEND_CLASS = AKG + "d3fendClass"
D3FEND_MITIGATION = AKG + "d3fendMitigation"

# Read whatever the property hierarchy says; then the direct relations of these and of every
# property under d3f:may-be-associated-with.
_STRUCTURE = (SUBPROPERTY_OF, SUBCLASS_OF, ON_PROPERTY, SOME_VALUES_FROM, ATTACK_ID, D3FEND_ID, DEPRECATED)
_DIRECT = (ENABLES, RELATED)


@dataclass
class D3fendIndex:
    """What one D3FEND graph says, indexed (see the module docstring). IRIs as strings."""

    graph: str | None = None
    superclasses: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    superproperties: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    restrictions: list[tuple[str, str, str]] = field(default_factory=list)  # class, property, value
    direct: list[tuple[str, str, str]] = field(default_factory=list)  # subject, property, object
    attack_ids: dict[str, str] = field(default_factory=dict)  # D3FEND class -> ATT&CK ID
    d3fend_ids: dict[str, str] = field(default_factory=dict)  # D3FEND class -> D3FEND ID (D3-UA)
    typed_tactics: set[str] = field(default_factory=set)  # typed d3f:DefensiveTactic
    deprecated: set[str] = field(default_factory=set)
    technique_classes: dict[str, str] = field(default_factory=dict)  # d3f:T1204.001 -> ATT&CK IRI
    mitigation_individuals: set[str] = field(default_factory=set)  # d3f:M1021 (akg:d3fendMitigation)

    # --- reading ---------------------------------------------------------------------------------

    @classmethod
    def from_triples(cls, triples: Iterable[ox.Triple | ox.Quad], graph: str | None = None) -> D3fendIndex:
        """The index of D3FEND's triples (as parsed, or read from a store)."""
        index = cls(graph=graph)
        on_property: dict[object, str] = {}
        some_values: dict[object, str] = {}
        restricted: list[tuple[str, object]] = []
        direct: list[tuple[str, str, str]] = []
        for triple in triples:
            index._add(
                triple.subject, triple.predicate.value, triple.object, on_property, some_values, restricted, direct
            )
        index._finish(on_property, some_values, restricted, direct)
        return index

    @classmethod
    def from_store(cls, store: ox.Store, graph: str) -> D3fendIndex:
        """The index of one D3FEND graph of a store, reading only the predicates it needs (about a
        third of the graph; reading is the slow part): the hierarchies first, then the direct
        relations of the properties that count."""
        index = cls(graph=graph)
        on_property: dict[object, str] = {}
        some_values: dict[object, str] = {}
        restricted: list[tuple[str, object]] = []
        direct: list[tuple[str, str, str]] = []
        name = ox.NamedNode(graph)

        def read(predicate: str, obj: ox.NamedNode | None = None) -> None:
            for quad in store.quads_for_pattern(None, ox.NamedNode(predicate), obj, name):
                index._add(quad.subject, predicate, quad.object, on_property, some_values, restricted, direct)

        for predicate in (*_STRUCTURE, D3FEND_CLASS, D3FEND_MITIGATION, *_DIRECT):
            read(predicate)
        read(RDF_TYPE, ox.NamedNode(DEFENSIVE_TACTIC))
        for predicate in sorted(index.associative - set(_DIRECT)):
            read(predicate)
        index._finish(on_property, some_values, restricted, direct)
        return index

    def _add(self, subject, predicate: str, obj, on_property, some_values, restricted, direct) -> None:
        named = ox.NamedNode
        if predicate == SUBCLASS_OF:
            if type(subject) is named:
                if type(obj) is named:
                    self.superclasses[subject.value].add(obj.value)
                elif type(obj) is ox.BlankNode:
                    restricted.append((subject.value, obj))
        elif predicate == ON_PROPERTY:
            if type(obj) is named:
                on_property[subject] = obj.value
        elif predicate == SOME_VALUES_FROM:
            if type(obj) is named:
                some_values[subject] = obj.value
        elif type(subject) is not named:
            return
        elif predicate == SUBPROPERTY_OF:
            if type(obj) is named:
                self.superproperties[subject.value].add(obj.value)
        elif predicate == ATTACK_ID:
            self.attack_ids[subject.value] = obj.value.strip()
        elif predicate == D3FEND_ID:
            self.d3fend_ids[subject.value] = obj.value
        elif predicate == RDF_TYPE:
            if obj.value == DEFENSIVE_TACTIC:
                self.typed_tactics.add(subject.value)
        elif predicate == DEPRECATED:
            if obj.value in ("true", "1"):
                self.deprecated.add(subject.value)
        elif predicate == D3FEND_CLASS:
            if type(obj) is named:
                self.technique_classes[obj.value] = subject.value
        elif predicate == D3FEND_MITIGATION:
            if type(obj) is named:
                self.mitigation_individuals.add(obj.value)
        elif type(obj) is named:
            direct.append((subject.value, predicate, obj.value))

    def _finish(self, on_property, some_values, restricted, direct) -> None:
        for cls, node in restricted:
            prop, value = on_property.get(node), some_values.get(node)
            if prop is not None and value is not None:
                self.restrictions.append((cls, prop, value))
        kept = self.associative | set(_DIRECT)
        self.direct = [(s, p, o) for s, p, o in direct if p in kept]
        self.superclasses = dict(self.superclasses)
        self.superproperties = dict(self.superproperties)

    # --- what follows -----------------------------------------------------------------------------

    @property
    def associative(self) -> set[str]:
        """``d3f:may-be-associated-with`` and every property under it: the relations the rule counts."""
        found = {p for p in self.superproperties if MAY_BE_ASSOCIATED_WITH in reachable(p, self.superproperties)}
        return found | {MAY_BE_ASSOCIATED_WITH}

    def supers(self, cls: str) -> frozenset[str]:
        """``cls rdfs:subClassOf* x``: every x, ``cls`` included (memoized)."""
        found = self._supers.get(cls)
        if found is None:
            found = self._supers[cls] = frozenset(reachable(cls, self.superclasses))
        return found

    @cached_property
    def _supers(self) -> dict[str, frozenset[str]]:
        return {}

    def edges(self) -> list[tuple[str, str, str]]:
        """Every relation between two classes (subject, property, object): each restriction whose
        value is a class (not an XSD datatype), and each direct relation through a property under
        ``d3f:may-be-associated-with`` or ``d3f:enables``."""
        found = [(c, p, v) for c, p, v in self.restrictions if not v.startswith(XSD)]
        kept = self.associative | {ENABLES}
        return found + [(s, p, o) for s, p, o in self.direct if p in kept]

    @cached_property
    def relations(self) -> dict[str, set[tuple[str, str]]]:
        """Class -> its own (property, artifact) relations through properties under
        ``d3f:may-be-associated-with``, direct or as restrictions (not inherited)."""
        associative = self.associative
        found: dict[str, set[tuple[str, str]]] = defaultdict(set)
        for subject, prop, obj in (*self.direct, *self.restrictions):
            if prop in associative:
                found[subject].add((prop, obj))
        return dict(found)

    @cached_property
    def defensive_techniques(self) -> list[str]:
        """Classes with a D3FEND ID under ``d3f:DefensiveTechnique`` (not itself), sorted."""
        return sorted(d for d in self.d3fend_ids if d != DEFENSIVE_TECHNIQUE and DEFENSIVE_TECHNIQUE in self.supers(d))

    @cached_property
    def tactic_classes(self) -> set[str]:
        """D3FEND's tactics: classes typed ``d3f:DefensiveTactic`` or under it (not itself)."""
        under = {c for c in self.superclasses if c != DEFENSIVE_TACTIC and DEFENSIVE_TACTIC in self.supers(c)}
        return under | self.typed_tactics

    @cached_property
    def artifacts(self) -> set[str]:
        """``d3f:Artifact`` and every class under it."""
        return {c for c in self.superclasses if ARTIFACT in self.supers(c)} | {ARTIFACT}

    @cached_property
    def _enables(self) -> dict[str, set[str]]:
        found: dict[str, set[str]] = defaultdict(set)
        for subject, prop, obj in self.edges():
            if prop == ENABLES:
                found[subject].add(obj)
        return found

    def tactics_of(self, technique: str) -> tuple[str, ...]:
        """The D3FEND tactics a defensive technique ``d3f:enables`` (directly or as a restriction),
        on itself or inherited from a superclass (``d3f:URLAnalysis`` gets Detect from
        ``d3f:NetworkTrafficAnalysis``), sorted."""
        tactics = self.tactic_classes
        found = {t for cls in self.supers(technique) for t in self._enables.get(cls, ()) if t in tactics}
        return tuple(sorted(found))

    def related(self) -> list[tuple[str, str]]:
        """D3FEND's ``d3f:related`` links (``d3f:M1021 d3f:related d3f:URLAnalysis``)."""
        return [(s, o) for s, p, o in self.direct if p == RELATED]
