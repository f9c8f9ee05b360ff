"""Paths from an offensive technique to what counters or detects it, on the exported graph.

The kinds of path, each a walk over edges of :func:`attackkg.queries.graph.to_networkx`
(a hop may follow an edge backwards: ``D3-UA -d3f:analyzes-> URL`` is walked URL to D3-UA):

- ``d3fend``: D3FEND's artifact inference, hop by hop:
  ``T [-akg:subtechniqueOf- H] -d3f:accesses-> Ao -rdfs:subClassOf->* Ad <-d3f:analyzes- D``;
  H is T itself, its parent or one of its sub-techniques, the relations are those under
  ``d3f:may-be-associated-with``, and D is a D3FEND defensive technique. The explanations are
  not derived again here: each is a mapping node the build stored (``akg:ArtifactMapping`` in the
  derived countermeasures graph, builders/countermeasures.py), which ``to_networkx`` puts on the
  ``akg:counteredBy`` edge (its ``mappings``); the path draws it over the graph's edges, with the
  shortest subclass chain from Ao to Ad. One path per explanation (the mappings ``query
  countermeasures`` lists), and ``CountermeasurePath.mapping`` names the mapping node;
- ``mitigation``: ``T <-akg:mitigates- M``, the ATT&CK mitigation;
- ``mitigation-d3fend``: ``T <-akg:mitigates- M -akg:relatedDefensiveTechnique-> D``, D3FEND's
  ``d3f:related`` link from the mitigation;
- ``sigma``: ``T <-akg:detectsTechnique- R``, or ``T <-akg:subtechniqueOf- S
  <-akg:detectsTechnique- R`` for a rule on a sub-technique;
- ``atomic``, ``control``, ``cloud``, ``cve``, ``car``, one kind per CTID framework: queries/control_paths.py.

Each search is one breadth-first walk from the technique (no search per target), so all paths
of a technique take a millisecond or two. Paths are ranked shortest first, then most specific
(the technique's own relations before a sub-technique's, before its parent's), then by the
countermeasure's ID.

For a set of techniques (a group's, a campaign's, a list): :func:`coverage` per kind,
:func:`set_cover` (the fewest countermeasures covering the most techniques, greedily, with the
coverage reached at each step) and :func:`artifact_centrality` (which D3FEND artifacts connect
the most techniques to defences).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import networkx as nx

from attackkg.builders.base import InputError
from attackkg.queries.control_graph import CONTROL_KINDS, CONTROL_PREDICATES, FRAMEWORK_KINDS, TARGET_KINDS
from attackkg.queries.graph import find_node

PATH_KINDS = ("d3fend", "mitigation", "mitigation-d3fend", "sigma", "atomic", *CONTROL_KINDS)
ALL_KINDS = (*PATH_KINDS, *FRAMEWORK_KINDS)
SUBTECHNIQUE_OF = "akg:subtechniqueOf"
SUBCLASS_OF = "rdfs:subClassOf"
MITIGATES = "akg:mitigates"
COUNTERED_BY = "akg:counteredBy"
RELATED_DEFENSIVE = "akg:relatedDefensiveTechnique"
DETECTS = "akg:detectsTechnique"
USES = "akg:uses"

# The edges the searches walk (to_networkx(predicates=...) reads only these, plus D3FEND's); uses and
# attributedTo for a group's techniques; counteredBy for the stored explanations of the D3FEND paths.
ATTRIBUTED_TO = "akg:attributedTo"
REVOKED_BY = "akg:revokedBy"
PATH_PREDICATES = (
    SUBTECHNIQUE_OF, MITIGATES, RELATED_DEFENSIVE, DETECTS, USES, ATTRIBUTED_TO, COUNTERED_BY, REVOKED_BY,
    "akg:emulates", *CONTROL_PREDICATES,
)

# The kind of node each path kind ends at.
TARGET_KIND = {"d3fend": "d3fend-technique", "mitigation": "mitigation", "mitigation-d3fend": "d3fend-technique"}
TARGET_KIND |= {"sigma": "sigma-rule", **TARGET_KINDS}


@dataclass(frozen=True)
class Hop:
    """One edge of a path: the graph edge ``source -key-> target``, walked forwards or backwards."""

    source: str
    target: str
    key: str
    forward: bool = True

    @property
    def start(self) -> str:
        """The node the walk leaves."""
        return self.source if self.forward else self.target

    @property
    def end(self) -> str:
        """The node the walk reaches."""
        return self.target if self.forward else self.source


@dataclass(frozen=True)
class CountermeasurePath:
    """A walk from ``technique`` to ``countermeasure``, of one ``kind`` (see PATH_KINDS)."""

    kind: str
    technique: str
    countermeasure: str
    hops: tuple[Hop, ...]
    specificity: int = 0  # 0 the technique's own, 1 through a sub-technique, 2 through its parent
    mapping: str | None = None  # a D3FEND path: the stored akg:ArtifactMapping node it draws

    @property
    def nodes(self) -> tuple[str, ...]:
        """The nodes in walking order, from the technique to the countermeasure."""
        return (self.technique, *(hop.end for hop in self.hops))

    def __len__(self) -> int:
        return len(self.hops)


# --- one technique ----------------------------------------------------------------------------------


def paths(graph: nx.MultiDiGraph, technique: str, kinds: Iterable[str] = PATH_KINDS) -> list[CountermeasurePath]:
    """Every path from ``technique`` (a node or an ATT&CK ID) to a countermeasure of the given
    kinds, grouped by kind in PATH_KINDS order, each group ranked shortest and most specific first."""
    node = find_node(graph, technique)
    wanted = _check_kinds(kinds)
    found: list[CountermeasurePath] = []
    if "d3fend" in wanted:
        found += _d3fend_paths(graph, node)
    if wanted & {"mitigation", "mitigation-d3fend"}:
        found += [p for p in _mitigation_paths(graph, node) if p.kind in wanted]
    if "sigma" in wanted:
        found += _sigma_paths(graph, node)
    if wanted - {"d3fend", "mitigation", "mitigation-d3fend", "sigma"}:
        from attackkg.queries.control_paths import control_paths
        found += control_paths(graph, node, wanted)
    return sorted(found, key=lambda p: _rank(graph, p))


def _check_kinds(kinds: Iterable[str]) -> set[str]:
    wanted = set(kinds)
    unknown = wanted - set(ALL_KINDS)
    if unknown:
        raise InputError(f"unknown path kind {sorted(unknown)[0]!r}; use {', '.join(ALL_KINDS)}")
    return wanted


def _rank(graph: nx.MultiDiGraph, path: CountermeasurePath) -> tuple:
    target = graph.nodes[path.countermeasure]
    return (
        ALL_KINDS.index(path.kind),
        len(path.hops),
        path.specificity,
        target.get("id", ""),
        tuple((hop.key, graph.nodes[hop.end].get("id", "")) for hop in path.hops),
    )


def hierarchy(graph: nx.MultiDiGraph, technique: str) -> list[tuple[str, tuple[Hop, ...], int]]:
    """The technique, then its sub-techniques, then its parent, each with the hop that reaches it
    and its specificity (0, 1, 2). A parent or sub-technique is the one its ATT&CK ID names
    (``T1204.001`` -> ``T1204``), reached by ``akg:subtechniqueOf`` or, where ATT&CK no longer
    states it (deprecated sub-techniques), by D3FEND's ``rdfs:subClassOf`` between the two."""
    nodes = graph.nodes
    ident = nodes[technique].get("id", "")
    members: dict[str, tuple[tuple[Hop, ...], int]] = {technique: ((), 0)}
    if "." not in ident:
        for sub, keys in graph.pred[technique].items():
            if nodes[sub].get("kind") == "technique" and nodes[sub].get("id", "").split(".")[0] == ident:
                for key in (SUBTECHNIQUE_OF, SUBCLASS_OF):
                    if key in keys and sub not in members and sub != technique:
                        members[sub] = ((Hop(sub, technique, key, forward=False),), 1)
    else:
        for parent, keys in graph.succ[technique].items():
            if nodes[parent].get("kind") == "technique" and nodes[parent].get("id") == ident.split(".")[0]:
                for key in (SUBTECHNIQUE_OF, SUBCLASS_OF):
                    if key in keys and parent not in members:
                        members[parent] = ((Hop(technique, parent, key),), 2)
    return [(member, hops, rank) for member, (hops, rank) in members.items()]


def _d3fend_paths(graph: nx.MultiDiGraph, technique: str) -> list[CountermeasurePath]:
    """One path per stored explanation (the ``mappings`` of the technique's ``akg:counteredBy``
    edges): the hop to the technique in its hierarchy it goes through, its offensive relation,
    the shortest ``rdfs:subClassOf`` chain from the offensive to the defensive artifact, and the
    defensive relation walked back to the countermeasure. An explanation resolved from a revoked
    technique (``resolved_from``: D3FEND's T1562.001 for T1685) starts with the ``akg:revokedBy``
    hop back to it. An explanation whose hops are not all edges of ``graph`` (a graph read without
    D3FEND) gives no path."""
    succ, nodes = graph.succ, graph.nodes
    leads_of: dict[str, dict[str, tuple[tuple[Hop, ...], int]]] = {}

    def leads(member: str) -> dict[str, tuple[tuple[Hop, ...], int]]:
        if member not in leads_of:
            leads_of[member] = {m: (hops, specificity) for m, hops, specificity in hierarchy(graph, member)}
        return leads_of[member]

    chains: dict[str, dict[str, str | None]] = {}  # artifact -> {ancestor: the node below it}

    def ancestors(artifact: str) -> dict[str, str | None]:
        found = chains.get(artifact)
        if found is None:
            found = {artifact: None}
            queue = [artifact]
            for current in queue:  # breadth first: the first chain found is a shortest one
                for parent, keys in succ[current].items():
                    if SUBCLASS_OF in keys and parent not in found:
                        found[parent] = current
                        queue.append(parent)
            chains[artifact] = found
        return found

    out: list[CountermeasurePath] = []
    for defence, keys in succ[technique].items():
        if COUNTERED_BY not in keys or nodes[defence].get("kind") != "d3fend-technique":
            continue
        for mapping in keys[COUNTERED_BY].get("mappings", ()):
            via, relation = mapping["via"], mapping["offensive_relation"]
            offensive, defensive = mapping["offensive_artifact"], mapping["defensive_artifact"]
            d_relation = mapping["defensive_relation"]
            start, prefix = technique, ()
            original = mapping.get("resolved_from")
            if original is not None:
                if not graph.has_edge(original, technique, REVOKED_BY):
                    continue
                start, prefix = original, (Hop(original, technique, REVOKED_BY, forward=False),)
            if via not in leads(start) or offensive not in graph or defensive not in graph:
                continue
            below = ancestors(offensive)
            if defensive not in below or not graph.has_edge(via, offensive, relation):
                continue
            if not graph.has_edge(defence, defensive, d_relation):
                continue
            chain: list[Hop] = []
            step = defensive
            while below[step] is not None:
                chain.append(Hop(below[step], step, SUBCLASS_OF))
                step = below[step]
            chain.reverse()
            lead, specificity = leads(start)[via]
            hops = (*prefix, *lead, Hop(via, offensive, relation), *chain, Hop(defence, defensive, d_relation, forward=False))
            out.append(CountermeasurePath("d3fend", technique, defence, hops, specificity, mapping["mapping"]))
    return out


def _mitigation_paths(graph: nx.MultiDiGraph, technique: str) -> list[CountermeasurePath]:
    out = []
    for mitigation, keys in graph.pred[technique].items():
        if MITIGATES not in keys or graph.nodes[mitigation].get("kind") != "mitigation":
            continue
        first = Hop(mitigation, technique, MITIGATES, forward=False)
        out.append(CountermeasurePath("mitigation", technique, mitigation, (first,)))
        for defence, d_keys in graph.succ[mitigation].items():
            if RELATED_DEFENSIVE in d_keys and graph.nodes[defence].get("kind") == "d3fend-technique":
                hops = (first, Hop(mitigation, defence, RELATED_DEFENSIVE))
                out.append(CountermeasurePath("mitigation-d3fend", technique, defence, hops))
    return out


def _sigma_paths(graph: nx.MultiDiGraph, technique: str) -> list[CountermeasurePath]:
    out = []
    pred, nodes = graph.pred, graph.nodes
    members = [(m, lead, s) for m, lead, s in hierarchy(graph, technique) if s < 2]  # itself, sub-techniques
    for member, lead, specificity in members:
        if lead and lead[0].key != SUBTECHNIQUE_OF:
            continue
        for rule, keys in pred[member].items():
            if DETECTS in keys and nodes[rule].get("kind") == "sigma-rule":
                hops = (*lead, Hop(rule, member, DETECTS, forward=False))
                out.append(CountermeasurePath("sigma", technique, rule, hops, specificity))
    return out


def countermeasures(found: Iterable[CountermeasurePath], kind: str | None = None) -> list[str]:
    """The distinct countermeasures of some paths, in rank order (first path first)."""
    seen: dict[str, None] = {}
    for path in found:
        if kind is None or path.kind == kind:
            seen.setdefault(path.countermeasure)
    return list(seen)


def path_edges(found: Iterable[CountermeasurePath]) -> set[tuple[str, str, str]]:
    """Every graph edge ``(source, target, key)`` the paths use."""
    return {(hop.source, hop.target, hop.key) for path in found for hop in path.hops}


# --- sets of techniques -----------------------------------------------------------------------------


def campaigns_of(graph: nx.MultiDiGraph, group: str) -> list[str]:
    """The campaigns ATT&CK attributes to ``group`` (STIX ``attributed-to``, ``akg:attributedTo``)."""
    return sorted(
        c for c, keys in graph.pred[group].items() if ATTRIBUTED_TO in keys and graph.nodes[c].get("kind") == "campaign"
    )


def group_techniques(graph: nx.MultiDiGraph, group: str, direct_only: bool = False) -> dict[str, list[str]]:
    """A group's techniques as ATT&CK counts them (its group pages, mitreattack-python's
    ``get_techniques_used_by_group``): those it ``akg:uses`` and those every campaign attributed
    to it uses. Technique node -> how it is known: ``"direct"`` and/or campaign IDs (C0024).
    ``direct_only`` keeps the group's own uses."""
    users = [(group, "direct")]
    if not direct_only:
        users += [(c, graph.nodes[c].get("id", c)) for c in campaigns_of(graph, group)]
    known: dict[str, list[str]] = {}
    for user, how in users:
        for used, keys in graph.succ[user].items():
            if USES in keys and graph.nodes[used].get("kind") == "technique":
                known.setdefault(used, []).append(how)
    return known


def techniques_of(
    graph: nx.MultiDiGraph, names: Iterable[str], include_software: bool = False, direct_only: bool = False
) -> list[str]:
    """The techniques a list of names stands for: a technique ID is itself; a campaign or
    software ID is the techniques it ``akg:uses``; a group ID is its techniques as ATT&CK counts
    them (:func:`group_techniques`: its own uses and its attributed campaigns'; ``direct_only``,
    its own). With ``include_software``, also the techniques of the software they use. Sorted by
    ATT&CK ID, without duplicates."""
    found: set[str] = set()
    for name in names:
        node = find_node(graph, name)
        kind = graph.nodes[node].get("kind")
        if kind == "technique":
            found.add(node)
        elif kind in ("group", "campaign", "software"):
            actors = [node]
            if kind == "group":
                found.update(group_techniques(graph, node, direct_only))
                if not direct_only:
                    actors += campaigns_of(graph, node)
            if include_software:
                actors += [
                    s
                    for actor in list(actors)
                    for s, keys in graph.succ[actor].items()
                    if USES in keys and graph.nodes[s]["kind"] == "software"
                ]
            for actor in actors:
                for used, keys in graph.succ[actor].items():
                    if USES in keys and graph.nodes[used].get("kind") == "technique":
                        found.add(used)
        else:
            raise InputError(f"{name} is a {kind}; give techniques, groups, campaigns or software")
    return sorted(found, key=lambda n: graph.nodes[n].get("id", n))


def only_through_campaigns(graph: nx.MultiDiGraph, names: Iterable[str]) -> dict[str, list[str]]:
    """Of the techniques ``names`` stand for (:func:`techniques_of`), those known only through a
    named group's attributed campaigns -> the IDs of those campaigns."""
    direct: set[str] = set()
    through: dict[str, set[str]] = {}
    for name in names:
        node = find_node(graph, name)
        if graph.nodes[node].get("kind") != "group":
            direct.update(techniques_of(graph, [name]))
            continue
        for technique, how in group_techniques(graph, node).items():
            if "direct" in how:
                direct.add(technique)
            else:
                through.setdefault(technique, set()).update(how)
    return {t: sorted(cs) for t, cs in through.items() if t not in direct}


@dataclass
class Coverage:
    """Per technique and kind, the countermeasures its paths reach."""

    techniques: list[str]
    targets: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # kind -> technique -> targets
    paths: dict[str, list[CountermeasurePath]] = field(default_factory=dict)  # technique -> paths

    def covered(self, kind: str) -> list[str]:
        """The techniques with at least one countermeasure of ``kind``."""
        return [t for t in self.techniques if self.targets.get(kind, {}).get(t)]

    def fraction(self, kind: str) -> float:
        return len(self.covered(kind)) / len(self.techniques) if self.techniques else 0.0

    def summary(self) -> dict[str, dict[str, float | int]]:
        """Per kind: techniques covered, their fraction, distinct countermeasures."""
        return {
            kind: {
                "covered": len(self.covered(kind)),
                "techniques": len(self.techniques),
                "fraction": round(self.fraction(kind), 4),
                "countermeasures": len({c for targets in by_technique.values() for c in targets}),
            }
            for kind, by_technique in self.targets.items()
        }


def coverage(graph: nx.MultiDiGraph, techniques: Sequence[str], kinds: Iterable[str] = PATH_KINDS) -> Coverage:
    """One path search per technique; what each kind covers."""
    wanted = [k for k in ALL_KINDS if k in _check_kinds(kinds)]
    nodes = [find_node(graph, t) for t in techniques]
    result = Coverage(techniques=list(dict.fromkeys(nodes)), targets={k: {} for k in wanted})
    for node in result.techniques:
        found = paths(graph, node, wanted)
        result.paths[node] = found
        for kind in wanted:
            result.targets[kind][node] = countermeasures(found, kind)
    return result


@dataclass(frozen=True)
class CoverStep:
    """One pick of the greedy set cover: the countermeasure, the techniques it newly covers, and
    the coverage reached so far (count and fraction of all techniques in the set)."""

    countermeasure: str
    gained: tuple[str, ...]
    covered: int
    fraction: float


@dataclass
class Cover:
    """A greedy set cover of a set of techniques by countermeasures of one kind."""

    kind: str
    techniques: list[str]
    steps: list[CoverStep]
    coverable: int  # techniques with at least one countermeasure of the kind
    uncovered: list[str]  # techniques none of the kind reaches

    @property
    def covered(self) -> int:
        return self.steps[-1].covered if self.steps else 0


def set_cover(
    graph: nx.MultiDiGraph,
    techniques: Sequence[str],
    kind: str = "d3fend",
    top: int | None = None,
    cover_of: Coverage | None = None,
) -> Cover:
    """The fewest countermeasures of ``kind`` covering the most of ``techniques``, greedily: each
    step takes the countermeasure covering the most techniques not yet covered (ties: the lower
    ID), until all coverable techniques are covered or ``top`` steps were taken."""
    _check_kinds([kind])
    if cover_of is None or kind not in cover_of.targets:
        cover_of = coverage(graph, techniques, [kind])
    covers: dict[str, set[str]] = defaultdict(set)
    for technique, targets in cover_of.targets[kind].items():
        for target in targets:
            covers[target].add(technique)
    total = len(cover_of.techniques)
    coverable = set().union(*covers.values()) if covers else set()
    covered: set[str] = set()
    steps: list[CoverStep] = []
    ident = {c: graph.nodes[c].get("id", c) for c in covers}
    while covers and (top is None or len(steps) < top) and len(covered) < len(coverable):
        best = min(covers, key=lambda c: (-len(covers[c] - covered), ident[c]))
        gained = covers[best] - covered
        if not gained:
            break
        covered |= gained
        order = sorted(gained, key=lambda n: graph.nodes[n].get("id", n))
        steps.append(CoverStep(best, tuple(order), len(covered), len(covered) / total if total else 0.0))
        del covers[best]
    uncovered = [t for t in cover_of.techniques if t not in coverable]
    return Cover(kind, list(cover_of.techniques), steps, len(coverable), uncovered)


@dataclass(frozen=True)
class ArtifactRank:
    """How much one D3FEND artifact connects offence to defence: the techniques whose D3FEND paths
    pass through it, the defensive techniques those paths reach, and the (technique, defence)
    pairs explained through it."""

    artifact: str
    techniques: int
    defences: int
    pairs: int


def artifact_centrality(
    graph: nx.MultiDiGraph, techniques: Sequence[str] | None = None, top: int | None = None
) -> list[ArtifactRank]:
    """Artifacts ranked by how many techniques their D3FEND paths connect to defences (then by
    defences, pairs, ID). An artifact counts on a path when the path walks through it, as the
    offensive artifact, a superclass on the way, or the defensive artifact. ``techniques``
    defaults to every technique in the graph."""
    if techniques is None:
        techniques = [n for n, k in graph.nodes(data="kind") if k == "technique"]
    by_artifact_t: dict[str, set[str]] = defaultdict(set)
    by_artifact_d: dict[str, set[str]] = defaultdict(set)
    by_artifact_p: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for technique in techniques:
        node = find_node(graph, technique)
        for path in _d3fend_paths(graph, node):
            lead = 1 if path.specificity else 0
            for hop in path.hops[lead:-1]:  # Ao, the superclasses walked, Ad
                artifact = hop.end
                by_artifact_t[artifact].add(node)
                by_artifact_d[artifact].add(path.countermeasure)
                by_artifact_p[artifact].add((node, path.countermeasure))
    ranked = [
        ArtifactRank(a, len(by_artifact_t[a]), len(by_artifact_d[a]), len(by_artifact_p[a])) for a in by_artifact_t
    ]
    ranked.sort(key=lambda r: (-r.techniques, -r.defences, -r.pairs, graph.nodes[r.artifact].get("id", r.artifact)))
    return ranked[:top] if top is not None else ranked


# --- output: JSON and text ------------------------------------------------------------


def node_info(graph: nx.MultiDiGraph, node: str) -> dict[str, str]:
    """id, label, kind and IRI of a node (and its D3FEND tactic when it has one)."""
    data = graph.nodes[node]
    info = {"id": data.get("id", node), "label": data.get("label", ""), "kind": data.get("kind", ""), "iri": node}
    if data.get("tactic"):
        info["tactic"] = data["tactic"]
    return info


def path_record(graph: nx.MultiDiGraph, path: CountermeasurePath, rank: int) -> dict[str, object]:
    """A path as plain data: kind, rank within its kind, length, the countermeasure, the nodes in
    walking order and each hop (the graph edge, its predicate and graph, and the direction walked)."""
    hops = []
    for hop in path.hops:
        edge = graph.edges[hop.source, hop.target, hop.key]
        hops.append(
            {
                "source": hop.source,
                "target": hop.target,
                "key": hop.key,
                "predicate": edge.get("predicate", hop.key),
                "label": edge.get("label", hop.key),
                "graph": edge.get("graph", ""),
                "direction": "forward" if hop.forward else "backward",
            }
        )
    record: dict[str, object] = {
        "kind": path.kind,
        "rank": rank,
        "length": len(path.hops),
        "countermeasure": node_info(graph, path.countermeasure),
        "nodes": [node_info(graph, n) for n in path.nodes],
        "hops": hops,
        "text": describe(graph, path),
    }
    if path.mapping:
        record["mapping"] = path.mapping
    return record


def ranked(found: Sequence[CountermeasurePath]) -> list[tuple[int, CountermeasurePath]]:
    """(rank within its kind, path), rank 1 the best of each kind; ``found`` as :func:`paths` sorts it."""
    counter: dict[str, int] = defaultdict(int)
    out = []
    for path in found:
        counter[path.kind] += 1
        out.append((counter[path.kind], path))
    return out


def to_json(graph: nx.MultiDiGraph, technique: str, found: Sequence[CountermeasurePath]) -> dict[str, object]:
    """The technique, its distinct countermeasures by kind (best first), and every path."""
    node = find_node(graph, technique)
    kinds = [k for k in ALL_KINDS if any(p.kind == k for p in found)]
    return {
        "technique": node_info(graph, node),
        "countermeasures": {k: [node_info(graph, c) for c in countermeasures(found, k)] for k in kinds},
        "paths": [path_record(graph, path, rank) for rank, path in ranked(found)],
    }


def describe(graph: nx.MultiDiGraph, path: CountermeasurePath) -> str:
    """One line: ``T1204.001 -[accesses]-> URL -[subClassOf]-> Identifier <-[analyzes]- D3-IAA``."""
    parts = [_short(graph, path.technique)]
    for hop in path.hops:
        label = graph.edges[hop.source, hop.target, hop.key].get("label", hop.key)
        arrow = f"-[{label}]->" if hop.forward else f"<-[{label}]-"
        parts += [arrow, _short(graph, hop.end)]
    return " ".join(parts)


def _short(graph: nx.MultiDiGraph, node: str) -> str:
    data = graph.nodes[node]
    kind = data.get("kind")
    if kind in ("artifact", "d3fend-class"):
        return data.get("label", node)
    if kind in ("sigma-rule", "atomic-test"):
        return f"'{data.get('label', node)}'"
    if data.get("framework"):  # a CTID capability: AC-2 (nist_800_53 rev5)
        return f"{data.get('id', node)} ({data['framework']} {data.get('framework_version', '')})"
    return data.get("id", node)


# Mermaid, Graphviz DOT and matplotlib drawings of paths live in path_formats.py; they are
# reachable from here too (``paths.to_mermaid``), imported on first use.
_FORMATS = ("to_mermaid", "to_dot", "layers", "draw_paths")


def __getattr__(name: str) -> object:
    if name in _FORMATS:
        from attackkg.queries import path_formats

        return getattr(path_formats, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
