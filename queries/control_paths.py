"""Paths from a technique to the controls, cloud capabilities, exploited CVEs and CAR analytics
mapped to it (issue 13), and to the Atomic Red Team tests that emulate it; the kinds
:func:`attackkg.queries.paths.paths` hands over to this module.

- ``control``: ``T -akg:mitigatedByControl|protectedByControl|scoredByControl|relatedFrameworkEntry-> C``,
  a Mappings Explorer capability of any framework but the cloud ones (NIST SP 800-53 rev4 and
  rev5, CRI Profile, CSA CCM, Intel vPro, VERIS);
- ``cloud``: the same edges to an AWS, Azure, GCP or M365 security capability;
- ``cve``: ``T -akg:exploitedThrough|primaryImpactOf|secondaryImpactOf-> CVE`` (KEV);
- ``car``: ``T <-akg:analyticCovers- A``, or through a sub-technique (``T <-akg:subtechniqueOf- S
  <-akg:analyticCovers- A``), as CAR's own coverage lists both;
- ``atomic``: ``T <-akg:emulates- test``, or through a sub-technique;
- one kind per framework (:data:`~attackkg.queries.control_graph.FRAMEWORK_KINDS`:
  ``nist-800-53``, ``aws``, ..., ``kev``): the ``control``/``cloud``/``cve`` paths to that
  framework's capabilities in its newest version in the graph (``G.graph["frameworks"]``), what
  ``cover --kind nist-800-53`` picks from.

Mappings Explorer files name the techniques of the ATT&CK release they were mapped against (14.1
to 17.1); CAR names older ones still. A mapping that names a technique the loaded release revoked
counts for its successor: the path first walks the ``akg:revokedBy`` chain back from the
technique to the ID as written (``T1574.001 <-revokedBy- T1574.002 -mitigatedByControl-> SI-7``,
several hops for a chain), the same chain the revocations graph records (builders/revocations.py).
"""

from __future__ import annotations

import networkx as nx

from attackkg.ontology.namespaces import MAPPING_EDGES
from attackkg.queries.control_graph import CAR_EDGES, CLOUD_FRAMEWORKS, CVE_EDGES, FRAMEWORK_KINDS
from attackkg.queries.paths import REVOKED_BY, SUBTECHNIQUE_OF, CountermeasurePath, Hop, hierarchy

EMULATES = "akg:emulates"
_MAPPING_KEYS = tuple(f"akg:{name}" for name in MAPPING_EDGES)
_CVE_KEYS = frozenset(f"akg:{name}" for name in CVE_EDGES)
_CAR_KEYS = tuple(f"akg:{name}" for name in CAR_EDGES)


def revoked_predecessors(graph: nx.MultiDiGraph, technique: str) -> list[tuple[str, tuple[Hop, ...]]]:
    """The technique, then every object whose ``akg:revokedBy`` chain ends at it, each with the
    hops walked back along the chain (breadth first: nearest first)."""
    found: dict[str, tuple[Hop, ...]] = {technique: ()}
    queue = [technique]
    for current in queue:
        for original, keys in graph.pred[current].items():
            if REVOKED_BY in keys and original not in found:
                found[original] = (*found[current], Hop(original, current, REVOKED_BY, forward=False))
                queue.append(original)
    return list(found.items())


def control_paths(graph: nx.MultiDiGraph, technique: str, wanted: set[str]) -> list[CountermeasurePath]:
    """The paths of the wanted kinds of this module from ``technique`` (a node)."""
    out: list[CountermeasurePath] = []
    newest = graph.graph.get("frameworks", {})
    framework_kinds = {FRAMEWORK_KINDS[k]: k for k in wanted if k in FRAMEWORK_KINDS}
    if wanted & {"control", "cloud", "cve"} or framework_kinds:
        for member, lead in revoked_predecessors(graph, technique):
            for capability, keys in graph.succ[member].items():
                data = graph.nodes[capability]
                if data.get("kind") not in ("control", "cve"):
                    continue
                for key in _MAPPING_KEYS:
                    if key not in keys:
                        continue
                    hops = (*lead, Hop(member, capability, key))
                    for kind in _kinds_of(data, key, wanted, framework_kinds, newest):
                        out.append(CountermeasurePath(kind, technique, capability, hops))
    for kind, keys, follow in (("car", _CAR_KEYS, True), ("atomic", (EMULATES,), False)):
        if kind in wanted:  # an Atomic test's revoked ID has its resolved edge (revocations graph) already
            out += _pointing_paths(graph, technique, kind, keys, follow)
    return out


def _kinds_of(data: dict, key: str, wanted: set[str], framework_kinds: dict[str, str], newest: dict) -> list[str]:
    framework = data.get("framework", "")
    if data["kind"] == "cve":
        kind = "cve" if key in _CVE_KEYS else None
    else:
        kind = "cloud" if framework in CLOUD_FRAMEWORKS else "control"
    kinds = [kind] if kind in wanted else []
    by_framework = framework_kinds.get(framework)
    newest_version = by_framework and newest.get(framework) == data.get("framework_version")
    if newest_version and (data["kind"] != "cve" or key in _CVE_KEYS):
        kinds.append(by_framework)
    return kinds


def _pointing_paths(
    graph: nx.MultiDiGraph, technique: str, kind: str, keys: tuple[str, ...], follow: bool
) -> list[CountermeasurePath]:
    """``T <-key- X``, from the technique or a sub-technique (and, ``follow``, their revoked predecessors)."""
    out = []
    pred, nodes = graph.pred, graph.nodes
    target = "car-analytic" if kind == "car" else "atomic-test"
    for member, lead, specificity in hierarchy(graph, technique):
        if specificity > 1 or (lead and lead[0].key != SUBTECHNIQUE_OF):
            continue
        for named, back in revoked_predecessors(graph, member) if follow else [(member, ())]:
            for source, source_keys in pred[named].items():
                if nodes[source].get("kind") != target:
                    continue
                for key in keys:
                    if key in source_keys:
                        hops = (*lead, *back, Hop(source, named, key, forward=False))
                        out.append(CountermeasurePath(kind, technique, source, hops, specificity))
    return out
