"""Looking nodes up in the networkx graph of :func:`attackkg.queries.graph.to_networkx`: by any
name a user types (ATT&CK or D3FEND ID, CURIE, UUID, IRI), by kind, and a node's neighbourhood."""

from __future__ import annotations

from collections.abc import Iterable

import networkx as nx

from attackkg.builders.base import InputError
from attackkg.ontology.namespaces import ATOMIC, PREFIXES, attack_iri

_UUID = "urn:uuid:"  # Sigma rules


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
