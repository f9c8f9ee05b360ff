"""Drawing the typed graph of :func:`attackkg.queries.graph.to_networkx` with matplotlib (optional:
matplotlib is imported when a drawing is made): nodes coloured by kind, edges labelled by predicate."""

from __future__ import annotations

import networkx as nx

from attackkg.queries.graph import KINDS

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


__all__ = ["KIND_COLORS", "display_name", "draw"]
