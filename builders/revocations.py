"""References to revoked ATT&CK objects, followed to their successors (a derived step).

Sigma tags, Atomic folders, D3FEND's ``d3f:attack-id``, CTID mapping files, CAR's coverage and ATT&CK's own relationships name ATT&CK
objects of the release they were written against. When the loaded release revoked the object
(STIX ``revoked-by``, ``akg:revokedBy`` in the ATT&CK graph), the reference is resolved to the
end of the revocation chain (T1562.001 -> T1685 in ATT&CK v19), and a cycle is refused (left
unresolved, with a warning). Run after every source and the countermeasure inference is in the
store (:func:`attackkg.builders.build.fill`).

Into ``REVOCATIONS_GRAPH`` (derived by attack-kg, not MITRE's words):

- the resolved edge, the same property the source used, to the successor:
  ``<rule> akg:detectsTechnique <T1685>`` (Sigma), ``<test> akg:emulates <T1685>`` (Atomic),
  ``<T1685> akg:counteredBy d3f:D`` (D3FEND's class for the predecessor, through the derived
  countermeasures), ``<mapping> akg:controlMappingTechnique <T1574.001>`` and
  ``<T1574.001> akg:mitigatedByControl <control>`` (a CTID mapping, builders/mappings.py: its node
  and its one-hop edge), ``<analytic> akg:analyticCovers <T>`` (CAR),
  ``<group> akg:uses <T1685>`` (ATT&CK relationships that are not themselves
  revoked or deprecated), and ``<rule> akg:tagsTactic <TA0112>`` for a tactic short-name tag the
  loaded release has (``attack.defense-impairment``) but Sigma's static table does not;
- per reference, an ``akg:Resolution`` node with the explanation: ``akg:referrer``,
  ``akg:referenceProperty``, ``akg:original``/``akg:originalId``, ``akg:successor``/
  ``akg:successorId``, ``akg:resolvedIn`` (the ATT&CK graph, i.e. domain and release) and an
  ``rdfs:comment`` saying it in words;
- ``<X> akg:noSuccessor true`` for a referenced object the release deprecated (or revoked)
  without a successor, and ``<X> akg:absentFromRelease <ATT&CK graph>`` (plus
  ``akg:firstRelease "19.0"`` when known) for a referenced ID the release does not have at all.
  A CTID mapping file of a domain no loaded release covers (its ICS or Mobile file beside an
  Enterprise build) gets neither: its IDs are reported apart, by domain.

Nothing is dropped: the references stay as the sources wrote them, and the report's warnings count
the rules and tests behind every unresolved ID and tactic, with the remedy (build with a release
that has it, naming the first one when :data:`attackkg.builders.releases.FIRST_RELEASE` knows it).

With several releases of a domain in the store, the newest (by version) is the one followed.
"""

from __future__ import annotations

import hashlib
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

import pyoxigraph as ox

from attackkg.builders import releases
from attackkg.builders.base import TYPE, InputError, Report, akg, boolean, text
from attackkg.ontology.namespaces import (
    ATTACK_DOMAINS,
    BASE,
    COUNTERMEASURES_GRAPH,
    D3F,
    ENTERPRISE_TACTICS,
    GRAPH,
    MAPPING_EDGES,
    OWL,
    RDFS,
    REVOCATIONS_GRAPH,
    attack_iri,
)

SOURCE = "derived"
_ATTACK = GRAPH + "attack/"
_TRUE = {"true", "1"}
# (graph kind prefix, property) of the references followed, and what the warnings call the referrer.
REFERENCES = (
    ("sigma/", "detectsTechnique", "Sigma rule"),
    ("sigma/", "tagsGroup", "Sigma rule"),
    ("sigma/", "tagsSoftware", "Sigma rule"),
    ("sigma/", "tagsAttackObject", "Sigma rule"),
    ("atomic/", "emulates", "Atomic test"),
    ("mappings/", "controlMappingTechnique", "CTID mapping"),
    ("car/", "analyticCovers", "CAR analytic"),
)
# Sources whose references are all techniques (CTID mappings, CAR): checked against the set of
# the release's techniques (Facts.techniques) rather than one look-up each in the store.
TECHNIQUE_ONLY = ("mappings/", "car/")
COUNTERMEASURE_EDGES = ("counteredBy", "counteredByViaMitigation")
RELATIONSHIP_EDGES = {"uses": "uses", "mitigates": "mitigates", "detects": "detects"}


@dataclass(frozen=True)
class AttackRelease:
    """One ATT&CK graph: ``.../graph/attack/<domain>/<version>``."""

    graph: str
    domain: str
    version: str

    @property
    def title(self) -> str:
        return f"ATT&CK {self.domain} {self.version}"


def attack_releases(store: ox.Store) -> list[AttackRelease]:
    """The ATT&CK graphs in the store, oldest first within each domain."""
    found = []
    for graph in store.named_graphs():
        if graph.value.startswith(_ATTACK):
            domain, _, version = graph.value[len(_ATTACK) :].partition("/")
            found.append(AttackRelease(graph.value, domain, version))
    return sorted(found, key=lambda r: (r.domain, releases.version_key(r.version)))


def current_releases(store: ox.Store, version: str | None = None) -> list[AttackRelease]:
    """The release used per domain: ``version`` where the store has it, else the newest."""
    by_domain: dict[str, list[AttackRelease]] = defaultdict(list)
    for release in attack_releases(store):
        by_domain[release.domain].append(release)
    chosen = []
    for domain in sorted(by_domain):
        named = [r for r in by_domain[domain] if r.version == version]
        chosen.append(named[0] if named else by_domain[domain][-1])
    return chosen


def visible_graphs(store: ox.Store, version: str | None = None) -> list[ox.NamedNode] | None:
    """The named graphs a query sees when the store holds several ATT&CK releases of a domain:
    every graph but the ATT&CK releases not chosen (:func:`current_releases`: ``version`` where
    the store has it, else the newest of each domain). None when there is nothing to hide (one
    release per domain and no other version asked for): the whole store, as usual."""
    every = attack_releases(store)
    if version is not None and not any(r.version == version for r in every):
        held = ", ".join(f"{r.domain} {r.version}" for r in every) or "none"
        raise InputError(f"--attack-version {version}: the store holds no such ATT&CK release (it holds {held})")
    chosen = current_releases(store, version)
    hidden = {r.graph for r in every} - {r.graph for r in chosen}
    if not hidden:
        return None
    if chosen != current_releases(store):
        hidden.add(REVOCATIONS_GRAPH)  # followed through the newest release, not this one
    return [g for g in store.named_graphs() if g.value not in hidden]


class Facts:
    """What the loaded release says about the objects references name (IRIs). The revocations,
    retirements and tactics are read at once (a few hundred quads); an object's ATT&CK ID and
    graph are looked up when a reference needs them (reading all 20,000 would cost more)."""

    def __init__(self, store: ox.Store, chosen: list[AttackRelease]) -> None:
        self.store, self.chosen = store, chosen
        self.revoked_by: dict[str, str] = {}
        self.retired: set[str] = set()  # revoked or deprecated
        self.tactics: dict[str, str] = {}  # shortname -> tactic IRI
        self._found: dict[str, tuple[str, AttackRelease] | None] = {}
        self._techniques: set[str] | None = None
        true = boolean(True)
        for release in chosen:
            graph = ox.NamedNode(release.graph)
            for quad in store.quads_for_pattern(None, akg("revokedBy"), None, graph):
                self.revoked_by[quad.subject.value] = quad.object.value
            for flag in (akg("revoked"), ox.NamedNode(OWL + "deprecated")):
                for quad in store.quads_for_pattern(None, flag, true, graph):
                    if not quad.subject.value.startswith(BASE):  # relationship nodes
                        self.retired.add(quad.subject.value)
            for quad in store.quads_for_pattern(None, akg("shortname"), None, graph):
                self.tactics[quad.object.value] = quad.subject.value

    @property
    def techniques(self) -> set[str]:
        """Every technique of the chosen releases (read once, on first use: about 1,500)."""
        if self._techniques is None:
            self._techniques = {
                quad.subject.value
                for release in self.chosen
                for quad in self.store.quads_for_pattern(None, TYPE, akg("Technique"), ox.NamedNode(release.graph))
            }
        return self._techniques

    def _find(self, iri: str) -> tuple[str, AttackRelease] | None:
        if iri not in self._found:
            node, found = ox.NamedNode(iri), None
            for release in self.chosen:
                for quad in self.store.quads_for_pattern(node, akg("attackId"), None, ox.NamedNode(release.graph)):
                    found = (quad.object.value, release)
                    break
                if found:
                    break
            self._found[iri] = found
        return self._found[iri]

    def has(self, iri: str) -> bool:
        """The loaded release has this object."""
        return self._find(iri) is not None

    def id(self, iri: str) -> str:
        """Its ATT&CK ID (from the IRI when the release does not have it)."""
        found = self._find(iri)
        return found[0] if found else _id_of(iri)

    def release(self, iri: str) -> AttackRelease | None:
        found = self._find(iri)
        return found[1] if found else None


class Cycle(Exception):
    """A revocation chain that comes back to itself."""


def successor(iri: str, revoked_by: dict[str, str]) -> tuple[str, list[str]]:
    """The end of ``iri``'s revocation chain and the chain itself; raises :class:`Cycle`."""
    chain = [iri]
    while chain[-1] in revoked_by:
        following = revoked_by[chain[-1]]
        if following in chain:
            raise Cycle(" -> ".join([*chain, following]))
        chain.append(following)
    return chain[-1], chain


@dataclass
class Resolved:
    """One reference followed: ``referrer property original`` now also ``referrer property successor``."""

    referrer: str
    prop: str
    original: str
    successor: str
    chain: tuple[str, ...]
    subject_side: bool = False  # the original is the subject (D3FEND's counteredBy edges)


@dataclass
class Outcome:
    resolved: list[Resolved] = field(default_factory=list)
    tactic_edges: list[tuple[str, str]] = field(default_factory=list)  # (rule, tactic IRI)
    no_successor: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # IRI -> referrers
    absent: dict[str, dict[str, set[str]]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(set)))
    absent_tactics: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # shortname -> rules
    # ATT&CK domain not loaded -> IRI -> referrers (CTID mapping files of that domain)
    unloaded_domain: dict[str, dict[str, set[str]]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(set)))
    cycles: set[str] = field(default_factory=set)
    d3fend_classes: dict[str, str] = field(default_factory=dict)  # original technique IRI -> D3FEND class


def resolve(store: ox.Store, chosen: list[AttackRelease]) -> tuple[Facts, Outcome]:
    """Every reference to a revoked, deprecated or absent ATT&CK object, followed or recorded."""
    facts = Facts(store, chosen)
    out = Outcome()
    if not chosen:
        return facts, out
    graphs = [g.value for g in store.named_graphs()]

    def follow(original: str) -> tuple[str, list[str]] | None:
        try:
            return successor(original, facts.revoked_by)
        except Cycle as cycle:
            out.cycles.add(str(cycle))
            return None

    attack_graphs = " ".join(f"<{release.graph}>" for release in chosen)
    loaded_domains = {release.domain for release in chosen}
    for prefix, name, kind in REFERENCES:
        predicate = akg(name)
        for graph in (g for g in graphs if g.startswith(GRAPH + prefix)):
            named = ox.NamedNode(graph)
            domain = _mapping_domain(store, named) if prefix == "mappings/" else None
            unloaded = domain if domain and domain not in loaded_domains else None
            # The referenced objects, each with whether the loaded release has it (one query: the
            # look-ups run inside the store, not one Python call each); for thousands of references
            # to techniques, in one set of them instead.
            query = f"SELECT DISTINCT ?o WHERE {{ GRAPH <{graph}> {{ ?s <{predicate.value}> ?o }} }}"
            if prefix not in TECHNIQUE_ONLY:
                query = (
                    f"SELECT DISTINCT ?o ?id WHERE {{ GRAPH <{graph}> {{ ?s <{predicate.value}> ?o }} "
                    f"OPTIONAL {{ VALUES ?release {{ {attack_graphs} }} GRAPH ?release {{ ?o <{akg('attackId').value}> ?id }} }} }}"
                )
            for obj, *found_id in store.query(query):
                known = found_id[0] if found_id else (True if obj.value in facts.techniques else None)
                original = obj.value
                if not isinstance(obj, ox.NamedNode):
                    continue
                revoked = original in facts.revoked_by
                if not revoked and original not in facts.retired and known is not None:
                    continue
                referrers = [q.subject.value for q in store.quads_for_pattern(None, predicate, obj, named)]
                if not revoked and original not in facts.retired:
                    if unloaded:
                        out.unloaded_domain[unloaded][original].update(referrers)
                    elif original.startswith("https://attack.mitre.org/"):
                        out.absent[original][kind].update(referrers)
                    continue
                found = follow(original) if revoked else None
                if found is None:
                    if not revoked:
                        out.no_successor[original].update(referrers)
                    continue
                target, chain = found
                for referrer in referrers:
                    if next(store.quads_for_pattern(ox.NamedNode(referrer), predicate, ox.NamedNode(target)), None):
                        continue  # the source names the successor too
                    out.resolved.append(Resolved(referrer, name, original, target, tuple(chain)))
    _tactics(store, graphs, facts, out)
    _countermeasures(store, graphs, facts, out, follow)
    _mapping_edges(store, graphs, facts, out, follow)
    _relationships(store, chosen, facts, out, follow)
    return facts, out


def _mapping_domain(store: ox.Store, graph: ox.NamedNode) -> str | None:
    """The ATT&CK domain a CTID mapping file maps (its ``akg:technologyDomain``, builders/mappings.py).
    An ID of a file whose domain no loaded release covers (the ICS and Mobile files beside an
    Enterprise build) is not absent from a release: its domain is not loaded."""
    found = next(store.quads_for_pattern(graph, akg("technologyDomain"), None, graph), None)
    return ATTACK_DOMAINS.get(found.object.value) if found else None


def _tactics(store: ox.Store, graphs: list[str], facts: Facts, out: Outcome) -> None:
    """Sigma tactic tags by short name: joined to the release's tactic, or recorded as absent."""
    for graph in (g for g in graphs if g.startswith(GRAPH + "sigma/")):
        named = ox.NamedNode(graph)
        query = f"SELECT DISTINCT ?o WHERE {{ GRAPH <{graph}> {{ ?s <{akg('tagsTacticShortname').value}> ?o }} }}"
        for (literal,) in store.query(query):
            shortname = literal.value
            tactic = facts.tactics.get(shortname)
            static = attack_iri(ENTERPRISE_TACTICS[shortname]) if shortname in ENTERPRISE_TACTICS else None
            if static is not None and (tactic == static or (tactic is None and facts.has(static))):
                continue  # Sigma's own table already names a tactic the release has
            rules = [q.subject for q in store.quads_for_pattern(None, akg("tagsTacticShortname"), literal, named)]
            if tactic is None:
                out.absent_tactics[shortname].update(rule.value for rule in rules)
                continue
            for rule in rules:
                if not next(store.quads_for_pattern(rule, akg("tagsTactic"), ox.NamedNode(tactic)), None):
                    out.tactic_edges.append((rule.value, tactic))


def _countermeasures(store: ox.Store, graphs: list[str], facts: Facts, out: Outcome, follow) -> None:
    """D3FEND's class for a revoked technique (``d3f:attack-id``): its derived countermeasures
    count for the successor."""
    if COUNTERMEASURES_GRAPH not in graphs:
        return
    named = ox.NamedNode(COUNTERMEASURES_GRAPH)
    for original in sorted(facts.revoked_by):
        edges = [
            (name, quad.object.value)
            for name in COUNTERMEASURE_EDGES
            for quad in store.quads_for_pattern(ox.NamedNode(original), akg(name), None, named)
        ]
        if not edges:
            continue
        found = follow(original)
        if found is None:
            continue
        target, chain = found
        d3fend_class = next(store.quads_for_pattern(ox.NamedNode(original), akg("d3fendClass"), None), None)
        out.d3fend_classes[original] = d3fend_class.object.value if d3fend_class else ""
        for name, defense in edges:
            out.resolved.append(Resolved(defense, name, original, target, tuple(chain), subject_side=True))


def _mapping_edges(store: ox.Store, graphs: list[str], facts: Facts, out: Outcome, follow) -> None:
    """A CTID mapping file's one-hop edges from a revoked technique: they count for the successor
    (the end of the chain, however long), as its mapping node does (``controlMappingTechnique``).
    These edges (namespaces.MAPPING_EDGES) have the technique as the subject, so the resolved edge
    is ``<successor> akg:mitigatedByControl <capability>``."""
    named = [ox.NamedNode(g) for g in graphs if g.startswith(GRAPH + "mappings/")]
    properties = {akg(name).value: name for name in MAPPING_EDGES}
    edges: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for original in sorted(facts.revoked_by) if named else ():  # a few hundred revoked IDs x the files
        node = ox.NamedNode(original)
        for graph in named:
            for quad in store.quads_for_pattern(node, None, None, graph):
                name = properties.get(quad.predicate.value)
                if name:
                    edges[original].add((name, quad.object.value))
    for original in sorted(edges):
        found = follow(original)
        if found is None:
            continue
        target, chain = found
        for name, capability in sorted(edges[original]):
            out.resolved.append(Resolved(capability, name, original, target, tuple(chain), subject_side=True))


def _relationships(store: ox.Store, chosen: list[AttackRelease], facts: Facts, out: Outcome, follow) -> None:
    """ATT&CK relationships (not themselves revoked or deprecated) that name a revoked object."""
    for release in chosen:
        graph = ox.NamedNode(release.graph)
        for original in sorted(facts.revoked_by):
            node = ox.NamedNode(original)
            for side, other in (("target", "source"), ("source", "target")):
                for quad in store.quads_for_pattern(None, akg(side), node, graph):
                    rel = quad.subject
                    kinds = [q.object.value for q in store.quads_for_pattern(rel, akg("relationshipType"), None, graph)]
                    if not kinds or kinds[0] not in RELATIONSHIP_EDGES:
                        continue
                    flags = list(store.quads_for_pattern(rel, akg("revoked"), None, graph))
                    flags += store.quads_for_pattern(rel, ox.NamedNode(OWL + "deprecated"), None, graph)
                    if any(f.object.value in _TRUE for f in flags):
                        continue
                    peers = [q.object.value for q in store.quads_for_pattern(rel, akg(other), None, graph)]
                    found = follow(original)
                    if not peers or found is None:
                        continue
                    target, chain = found
                    out.resolved.append(
                        Resolved(peers[0], RELATIONSHIP_EDGES[kinds[0]], original, target, tuple(chain), side == "source")
                    )


def resolution_iri(item: Resolved) -> str:
    key = "\x1f".join((item.referrer, item.prop, item.original))
    return f"{BASE}resolution/{hashlib.sha256(key.encode()).hexdigest()[:20]}"


def explanation(item: Resolved, facts: Facts) -> str:
    """``T1562.001 was revoked by T1685 in ATT&CK enterprise-attack 19.0``."""
    names = [facts.id(iri) for iri in item.chain]
    release = facts.release(item.original)
    where = f" in {release.title}" if release else ""
    steps = " -> ".join(names)
    return f"{names[0]} was revoked by {names[-1]}{where} (revoked-by chain {steps})"


def triples(facts: Facts, out: Outcome) -> Iterator[ox.Triple]:
    """The revocations graph (see the module doc). A resolved edge a source graph states already
    (the successor has the same countermeasure through its own D3FEND class) is not repeated."""
    seen: set[tuple[str, str, str]] = set()
    for item in out.resolved:
        subject, obj = (item.successor, item.referrer) if item.subject_side else (item.referrer, item.successor)
        if (subject, item.prop, obj) not in seen:
            seen.add((subject, item.prop, obj))
            edge = ox.Triple(ox.NamedNode(subject), akg(item.prop), ox.NamedNode(obj))
            if next(facts.store.quads_for_pattern(edge.subject, edge.predicate, edge.object), None) is None:
                yield edge
        node = ox.NamedNode(resolution_iri(item))
        release = facts.release(item.original)
        yield ox.Triple(node, TYPE, akg("Resolution"))
        yield ox.Triple(node, akg("referrer"), ox.NamedNode(item.referrer))
        yield ox.Triple(node, akg("referenceProperty"), akg(item.prop))
        yield ox.Triple(node, akg("original"), ox.NamedNode(item.original))
        yield ox.Triple(node, akg("originalId"), text(facts.id(item.original)))
        yield ox.Triple(node, akg("successor"), ox.NamedNode(item.successor))
        yield ox.Triple(node, akg("successorId"), text(facts.id(item.successor)))
        if release:
            yield ox.Triple(node, akg("resolvedIn"), ox.NamedNode(release.graph))
        yield ox.Triple(node, ox.NamedNode(RDFS + "comment"), text(explanation(item, facts)))
        d3fend_class = out.d3fend_classes.get(item.original)
        if d3fend_class and d3fend_class.startswith(D3F):
            yield ox.Triple(node, akg("viaD3fendClass"), ox.NamedNode(d3fend_class))
    for rule, tactic in out.tactic_edges:
        yield ox.Triple(ox.NamedNode(rule), akg("tagsTactic"), ox.NamedNode(tactic))
    for iri in sorted(out.no_successor):
        yield ox.Triple(ox.NamedNode(iri), akg("noSuccessor"), boolean(True))
    graphs = {r.domain: r for r in facts.chosen}
    enterprise = graphs.get("enterprise-attack") or next(iter(graphs.values()), None)
    for iri in sorted(out.absent):
        if enterprise:
            yield ox.Triple(ox.NamedNode(iri), akg("absentFromRelease"), ox.NamedNode(enterprise.graph))
        first = releases.first_release(_id_of(iri))
        if first:
            yield ox.Triple(ox.NamedNode(iri), akg("firstRelease"), text(first))


def _id_of(iri: str) -> str:
    """``.../techniques/T1685/001`` -> ``T1685.001``."""
    parts = iri.rstrip("/").split("/")
    if len(parts) >= 2 and parts[-1].isdigit() and len(parts[-1]) == 3:
        return f"{parts[-2]}.{parts[-1]}"
    return parts[-1]


def warnings(facts: Facts, out: Outcome, chosen: list[AttackRelease]) -> list[str]:
    """Every unresolved reference, counted, with the remedy."""
    notes: list[str] = []
    loaded = ", ".join(r.title for r in chosen) or "no ATT&CK release"
    newest = releases.newest()
    by_first: dict[str | None, list[str]] = defaultdict(list)
    for iri in sorted(out.absent, key=_id_of):
        ident = _id_of(iri)
        counts = out.absent[iri]
        rules, tests = len(counts.get("Sigma rule", ())), len(counts.get("Atomic test", ()))
        others = "".join(f", {len(v)} {k}(s)" for k, v in sorted(counts.items()) if k not in ("Sigma rule", "Atomic test"))
        by_first[releases.first_release(ident)].append(f"{ident} ({rules} rule(s), {tests} test(s){others})")
    for shortname in sorted(out.absent_tactics):
        rules = len(out.absent_tactics[shortname])
        by_first[releases.first_release(shortname)].append(f"tactic {shortname} ({rules} rule(s))")
    for first, items in sorted(by_first.items(), key=lambda kv: (kv[0] is None, kv[0] or "")):
        rules = set()
        tests = set()
        for iri in out.absent:
            if releases.first_release(_id_of(iri)) == first:
                rules |= out.absent[iri].get("Sigma rule", set())
                tests |= out.absent[iri].get("Atomic test", set())
        for shortname, tagged in out.absent_tactics.items():
            if releases.first_release(shortname) == first:
                rules |= tagged
        if first:
            remedy = (
                f"they are in ATT&CK {first} and later (newer release): build with a release that has them, "
                f"'attack-kg build --attack-version {first}' or newer (newest {newest})"
            )
        else:
            remedy = f"no release attack-kg knows of is named for them: build with a newer release (newest {newest}) or check the IDs the source gives"
        notes.append(
            f"{len(items)} ATT&CK ID(s) and tactic(s) the loaded release ({loaded}) does not have, "
            f"kept as written on {len(rules)} Sigma rule(s) and {len(tests)} Atomic test(s): "
            f"{', '.join(items)}; {remedy}"
        )
    for domain, absent in sorted(out.unloaded_domain.items()):
        ids = sorted(map(_id_of, absent))
        shown = ", ".join(ids[:10]) + (f" and {len(ids) - 10} more" if len(ids) > 10 else "")
        mappings = len(set().union(*absent.values()))
        notes.append(
            f"{len(ids)} ATT&CK ID(s) named by {mappings} CTID mapping(s) of {domain}, a domain no loaded release "
            f"covers ({loaded}): kept as written; add its bundle (--attack {domain}-<version>.json) to follow them: "
            f"{shown}"
        )
    for iri in sorted(out.no_successor, key=_id_of):
        referrers = out.no_successor[iri]
        notes.append(
            f"{facts.id(iri)} is deprecated in {(facts.release(iri) or chosen[0]).title} "
            f"with no successor: {len(referrers)} reference(s) kept on it, e.g. {sorted(referrers)[0]}"
        )
    for cycle in sorted(out.cycles):
        notes.append(f"revocation cycle refused, references kept unresolved: {cycle}")
    by_pair: dict[tuple[str, str], int] = defaultdict(int)
    for item in out.resolved:
        by_pair[(facts.id(item.original), facts.id(item.successor))] += 1
    if by_pair:
        shown = ", ".join(f"{a} -> {b} ({n})" for (a, b), n in sorted(by_pair.items(), key=lambda kv: -kv[1])[:10])
        more = f" and {len(by_pair) - 10} more" if len(by_pair) > 10 else ""
        notes.append(
            f"{len(out.resolved)} reference(s) to revoked ATT&CK objects followed to their successors "
            f"({len(by_pair)} revoked ID(s)): {shown}{more}"
        )
    return notes


def build(store: ox.Store, version: str | None = None) -> Report | None:
    """Resolve every reference in ``store`` and add the result to ``REVOCATIONS_GRAPH``; None
    (and no graph) when no reference needed following and nothing is to be reported."""
    started = time.perf_counter()
    chosen = current_releases(store, version)
    facts, out = resolve(store, chosen)
    produced = list(triples(facts, out))
    notes = warnings(facts, out, chosen)
    if not produced and not notes:
        return None
    graph = ox.NamedNode(REVOCATIONS_GRAPH)
    store.bulk_extend(ox.Quad(t.subject, t.predicate, t.object, graph) for t in produced)
    report = Report(
        source=SOURCE,
        path=", ".join(r.graph for r in chosen),
        graph=REVOCATIONS_GRAPH,
        version=", ".join(f"{r.domain} {r.version}" for r in chosen) or None,
        title="References to revoked ATT&CK objects followed by attack-kg",
        triples=len(produced),
    )
    report.warnings += notes
    report.counts.update(
        {
            "references followed": len(out.resolved),
            "tactic tags joined": len(out.tactic_edges),
            "absent IDs": len(out.absent),
            "absent tactics": len(out.absent_tactics),
            "IDs of domains not loaded": sum(len(ids) for ids in out.unloaded_domain.values()),
            "deprecated without successor": len(out.no_successor),
            "cycles": len(out.cycles),
        }
    )
    report.counts["seconds"] = round(time.perf_counter() - started, 3)
    return report
