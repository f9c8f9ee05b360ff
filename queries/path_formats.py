"""Paths (:func:`attackkg.queries.paths.paths`) drawn: a Mermaid flowchart, a Graphviz DOT
digraph, and matplotlib positions and drawings, left to right from the technique."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import networkx as nx

from attackkg.queries.drawing import draw
from attackkg.queries.paths import CountermeasurePath, Hop


def _union(found: Sequence[CountermeasurePath]) -> tuple[list[str], list[Hop]]:
    """The nodes (first seen first) and distinct graph edges of some paths."""
    nodes: dict[str, None] = {}
    hops: dict[tuple[str, str, str], Hop] = {}
    for path in found:
        for node in path.nodes:
            nodes.setdefault(node)
        for hop in path.hops:
            hops.setdefault((hop.source, hop.target, hop.key), hop)
    return list(nodes), list(hops.values())


def _caption(graph: nx.MultiDiGraph, node: str) -> tuple[str, str]:
    data = graph.nodes[node]
    ident, label = data.get("id", node), data.get("label", "")
    if data.get("kind") in ("artifact", "d3fend-class", "sigma-rule", "atomic-test") or not label or label == ident:
        return (label or ident), ""
    return ident, label


_MERMAID_STYLE = {
    "technique": "fill:#fde2dc,stroke:#e4572e,color:#111",
    "mitigation": "fill:#dde3f5,stroke:#29335c,color:#111",
    "sigma-rule": "fill:#d7f0ec,stroke:#2a9d8f,color:#111",
    "d3fend-technique": "fill:#dbe6fd,stroke:#1d4ed8,color:#111",
    "artifact": "fill:#fef3c7,stroke:#d97706,color:#111",
    "atomic-test": "fill:#fce7f3,stroke:#be185d,color:#111",
    "control": "fill:#e0f2fe,stroke:#0369a1,color:#111",
    "cve": "fill:#fee2e2,stroke:#b91c1c,color:#111",
    "car-analytic": "fill:#ede9fe,stroke:#6d28d9,color:#111",
}


def _mermaid_text(text: str) -> str:
    """Text safe inside a quoted Mermaid label: quotes and angle brackets as Mermaid entity codes."""
    return text.replace("#", "#35;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")


def to_mermaid(graph: nx.MultiDiGraph, found: Sequence[CountermeasurePath]) -> str:
    """A Mermaid ``flowchart LR`` of the paths (each node and edge once), which GitHub renders in a
    ```mermaid block. Edges point as the triples do (``D3-UA -- analyzes --> URL``)."""
    nodes, hops = _union(found)
    ids = {node: f"n{i}" for i, node in enumerate(nodes)}
    lines = ["flowchart LR"]
    for node in nodes:
        head, tail = _caption(graph, node)
        text = _mermaid_text(head) + (f"<br/>{_mermaid_text(tail)}" if tail else "")
        lines.append(f'    {ids[node]}["{text}"]')
    for hop in hops:
        label = graph.edges[hop.source, hop.target, hop.key].get("label", hop.key)
        lines.append(f'    {ids[hop.source]} -->|"{_mermaid_text(label)}"| {ids[hop.target]}')
    by_kind: dict[str, list[str]] = defaultdict(list)
    for node in nodes:
        kind = graph.nodes[node].get("kind", "")
        if kind in _MERMAID_STYLE:
            by_kind[kind].append(ids[node])
    for kind, members in by_kind.items():
        name = kind.replace("-", "_")
        lines.append(f"    classDef {name} {_MERMAID_STYLE[kind]}")
        lines.append(f"    class {','.join(members)} {name}")
    return "\n".join(lines) + "\n"


def _dot_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


_DOT_COLORS = {
    "technique": "#fde2dc",
    "mitigation": "#dde3f5",
    "sigma-rule": "#d7f0ec",
    "d3fend-technique": "#dbe6fd",
    "artifact": "#fef3c7",
    "atomic-test": "#fce7f3",
    "control": "#e0f2fe",
    "cve": "#fee2e2",
    "car-analytic": "#ede9fe",
}


def to_dot(graph: nx.MultiDiGraph, found: Sequence[CountermeasurePath], name: str = "paths") -> str:
    """A Graphviz DOT digraph of the paths, laid out left to right from the technique. An edge
    walked backwards is written in walking order with ``dir=back``, so the arrow still shows the
    triple's direction (``D3-UA -> URL``) while the layout reads technique -> countermeasure."""
    nodes, hops = _union(found)
    lines = [
        f'digraph "{_dot_text(name)}" {{',
        "    rankdir=LR;",
        '    node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=10, fillcolor="#f3f4f6"];',
        '    edge [fontname="Helvetica", fontsize=9, color="#6b7280"];',
    ]
    for node in nodes:
        head, tail = _caption(graph, node)
        label = _dot_text(head + (f"\n{tail}" if tail else ""))
        color = _DOT_COLORS.get(graph.nodes[node].get("kind", ""), "#f3f4f6")
        lines.append(f'    "{_dot_text(node)}" [label="{label}", fillcolor="{color}"];')
    for hop in hops:
        label = _dot_text(graph.edges[hop.source, hop.target, hop.key].get("label", hop.key))
        start, end = _dot_text(hop.start), _dot_text(hop.end)
        back = ", dir=back" if not hop.forward else ""
        lines.append(f'    "{start}" -> "{end}" [label="{label}"{back}];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def layers(found: Sequence[CountermeasurePath]) -> dict[str, tuple[float, float]]:
    """Positions for drawing paths left to right: x is a node's shortest walking distance from the
    technique (countermeasures all in the last column), y orders each column by the mean height of
    the nodes before it (the barycentre heuristic, few crossings)."""
    step: dict[str, int] = {}
    targets = {path.countermeasure for path in found}
    before: dict[str, set[str]] = defaultdict(set)
    for path in found:
        for i, node in enumerate(path.nodes):
            step[node] = min(step.get(node, i), i)
        for a, b in zip(path.nodes, path.nodes[1:]):
            before[b].add(a)
    last = max(step.values(), default=0)
    for node in targets:
        if step[node]:
            step[node] = last
    columns: dict[int, list[str]] = defaultdict(list)
    for node, x in step.items():
        columns[x].append(node)
    height: dict[str, float] = {}
    pos: dict[str, tuple[float, float]] = {}
    for x in sorted(columns):
        order = []
        for node in columns[x]:
            placed = [height[n] for n in before[node] if n in height and step[n] < x]
            order.append((-(sum(placed) / len(placed)) if placed else 0.0, node))
        column = [node for _, node in sorted(order)]
        for i, node in enumerate(column):
            height[node] = (len(column) - 1) / 2 - i
            pos[node] = (float(x), height[node])
    return pos


def draw_paths(graph: nx.MultiDiGraph, found: Sequence[CountermeasurePath], ax=None):
    """Draw the paths with matplotlib, left to right from the technique to the countermeasures
    (:func:`layers`), nodes coloured by kind, edges labelled. Returns the axes."""
    nodes, _ = _union(found)
    sub = graph.subgraph(nodes).copy()
    keep = {(h.source, h.target, h.key) for path in found for h in path.hops}
    sub.remove_edges_from([e for e in sub.edges(keys=True) if e not in keep])
    return draw(sub, ax=ax, pos=layers(found))


__all__ = ["draw_paths", "layers", "to_dot", "to_mermaid"]
