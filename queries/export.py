"""``attack-kg export``: the store written to a file, in an RDF format or as a networkx graph.

The format comes from the file's extension:

- RDF (pyoxigraph's serializers, JSON-LD through rdflib): ``.ttl`` and ``.nt`` merge all named
  graphs into one; ``.trig``, ``.nq`` and ``.jsonld`` keep them;
- networkx (its own writers, of :func:`attackkg.queries.graph.to_networkx`'s typed graph):
  ``.graphml``, ``.gexf`` and ``.json`` (node-link).

Every file is written beside its target and renamed (:func:`attackkg.builders.files.atomic_path`),
so a failure leaves any previous file as it was. An unknown extension is refused with the list
of every format.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import pyoxigraph as ox

from attackkg.builders.base import InputError
from attackkg.builders.files import atomic_path
from attackkg.builders.store import as_dataset
from attackkg.ontology.namespaces import PREFIXES

# File extension -> (pyoxigraph format, whether the format carries named graphs).
RDF_FORMATS = {
    ".ttl": (ox.RdfFormat.TURTLE, False),
    ".nt": (ox.RdfFormat.N_TRIPLES, False),
    ".trig": (ox.RdfFormat.TRIG, True),
    ".nq": (ox.RdfFormat.N_QUADS, True),
    ".jsonld": (None, True),
}
GRAPH_FORMATS = (".graphml", ".gexf", ".json")
FORMATS = (*RDF_FORMATS, *GRAPH_FORMATS)


@dataclass(frozen=True)
class Exported:
    """What one export wrote: statements (RDF; quads when the format keeps the named graphs), or
    nodes and edges (networkx)."""

    path: Path
    count: int
    unit: str  # "triples", "quads" or "nodes"
    edges: int | None = None

    def __str__(self) -> str:
        if self.unit == "nodes":
            return f"{self.count} nodes and {self.edges} edges"
        return f"{self.count} {self.unit}"


def export_format(path: str | os.PathLike) -> str:
    """The extension of ``path`` (lower case) when attack-kg can export to it; else InputError
    listing every format, RDF and networkx."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise InputError(f"unknown export format {suffix or '(none)'}; use one of {', '.join(FORMATS)}", path=path)
    return suffix


def export(store: ox.Store, path: str | os.PathLike) -> Exported:
    """Write ``store`` to ``path`` in the format its extension names (see the module docstring)."""
    path = Path(path)
    suffix = export_format(path)
    if suffix in GRAPH_FORMATS:
        from attackkg.queries.graph import to_networkx

        nodes, edges = write_graph(to_networkx(store), path)
        return Exported(path, nodes, "nodes", edges)
    return Exported(path, export_rdf(store, path), "quads" if RDF_FORMATS[suffix][1] else "triples")


# --- RDF ----------------------------------------------------------------------------------------


def export_rdf(store: ox.Store, path: str | os.PathLike) -> int:
    """Write the store to ``path`` in the RDF format its extension names; returns the statement count.

    ``.ttl`` and ``.nt`` merge all graphs into one; ``.trig``, ``.nq`` and ``.jsonld`` keep the
    named graphs. The count is of statements written (in a merged file, a triple two graphs
    share counts twice).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in RDF_FORMATS:
        export_format(path)  # the error that lists every format
        raise InputError(f"{suffix} is a networkx format: use export() or write_graph()", path=path)
    rdf_format, keeps_graphs = RDF_FORMATS[suffix]
    with atomic_path(path, what="export") as temporary:
        return _write_rdf(store, str(temporary), suffix, rdf_format, keeps_graphs)


def _write_rdf(store: ox.Store, target: str, suffix: str, rdf_format, keeps_graphs: bool) -> int:
    if suffix == ".jsonld":
        dataset = as_dataset(store)
        dataset.serialize(destination=target, format="json-ld")
        return len(store)
    prefixes = PREFIXES if rdf_format in (ox.RdfFormat.TURTLE, ox.RdfFormat.TRIG) else None
    if keeps_graphs:
        ox.serialize(store, target, rdf_format, prefixes=prefixes)
        count = len(store)
    else:
        # All graphs merged into one. A triple stated in two graphs (a group in two ATT&CK
        # domains) is written twice, which every parser reads as one; deduplicating through
        # SPARQL or a Python set costs more than the whole export.
        counted = _Counted(quad.triple for quad in store)
        ox.serialize(counted, target, rdf_format, prefixes=prefixes)
        count = counted.count
    if prefixes:
        _expand_escaped_names(target, prefixes)
    return count


class _Counted:
    """An iterable that counts what passes through it."""

    def __init__(self, items) -> None:
        self.items, self.count = items, 0

    def __iter__(self):
        for item in self.items:
            self.count += 1
            yield item


# Worked on bytes (UTF-8 is left as it is: bytes 0x80-0xff count as name characters).
_ESCAPED = re.compile(rb"\\[_~.\-!$&'()*+,;=/?#@%]")
_TOKEN = re.compile(
    rb'(?P<literal>"(?:[^"\\]|\\.)*")|(?P<iri><[^>]*>)'
    rb"|(?P<name>(?<![\w\x80-\xff])(?P<prefix>[A-Za-z][\w-]*)?:"
    rb"(?P<local>(?:[\w\x80-\xff:%-]|\\.|\.(?=[\w\x80-\xff:%\\-]))+))"
)


def _expand_escaped_names(path: str, prefixes: dict[str, str]) -> None:
    """Write prefixed names that need backslash escapes (``d3f:Foo\\,Inc\\.``) as full IRIs.

    Such escapes are valid Turtle, but rdflib's parser rejects them; the full IRI reads everywhere.
    Only lines with such an escape are touched (about 150 in a full build).
    """
    with open(path, "rb") as source:
        text = source.read()
    namespaces = {prefix.encode(): namespace.encode() for prefix, namespace in prefixes.items()}
    pieces, done = [], 0
    for match in _ESCAPED.finditer(text):
        if match.start() < done:
            continue  # on a line already fixed
        start = text.rfind(b"\n", 0, match.start()) + 1
        end = text.find(b"\n", match.end())
        end = len(text) if end == -1 else end
        pieces += [text[done:start], _TOKEN.sub(lambda token: _expanded(token, namespaces), text[start:end])]
        done = end
    if pieces:
        pieces.append(text[done:])
        with open(path, "wb") as target:
            target.write(b"".join(pieces))


def _expanded(match: re.Match, namespaces: dict[bytes, bytes]) -> bytes:
    if not match.group("name") or b"\\" not in match.group("local"):
        return match.group(0)
    namespace = namespaces.get(match.group("prefix") or b"")
    if namespace is None:
        return match.group(0)
    local = re.sub(rb"\\(.)", rb"\1", match.group("local"))
    return b"<" + namespace + local + b">"


# --- networkx -----------------------------------------------------------------------------------


def _scalar(value: object) -> object:
    """A value GraphML and GEXF can hold: lists of strings space-separated, other lists and
    dicts as JSON text, scalars as they are."""
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return " ".join(value)
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return value


def write_graph(graph: nx.MultiDiGraph, path: str | os.PathLike) -> tuple[int, int]:
    """Write ``graph`` with networkx's own writers, the format from the extension: ``.graphml``,
    ``.gexf`` or ``.json`` (node-link, ``nx.node_link_data(G, edges="edges")``). Node keys are the
    IRIs in each; GEXF names the ``id`` attribute ``identifier`` (its writer would take ``id`` for
    the XML id); the XML formats hold scalars only, so a list or mapping attribute is written as
    text (see :func:`_scalar`). Written beside the target and renamed. Returns (nodes, edges)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in GRAPH_FORMATS:
        raise InputError(f"unknown graph format {suffix or '(none)'}; use one of {', '.join(GRAPH_FORMATS)}", path=path)
    with atomic_path(path, what="export") as temporary:
        if suffix == ".json":
            data = nx.node_link_data(graph, edges="edges")
            with open(temporary, "w", encoding="utf-8") as stream:
                json.dump(data, stream, ensure_ascii=False)
        else:
            out = _xml_ready(graph, gexf=suffix == ".gexf")
            if suffix == ".graphml":
                nx.write_graphml(out, temporary)
            else:
                nx.write_gexf(out, temporary)
    return graph.number_of_nodes(), graph.number_of_edges()


def _xml_ready(graph: nx.MultiDiGraph, gexf: bool) -> nx.MultiDiGraph:
    """A copy of ``graph`` with scalar attributes only (and, for GEXF, ``id`` as ``identifier``:
    networkx's GEXF writer takes a node's ``id`` attribute as its XML id, where the IRI must go)."""
    out = nx.MultiDiGraph()
    out.graph.update((k, _scalar(v)) for k, v in graph.graph.items())
    for node, data in graph.nodes(data=True):
        attrs = {k: _scalar(v) for k, v in data.items()}
        if gexf and "id" in attrs:
            attrs["identifier"] = attrs.pop("id")
        out.add_node(node, **attrs)
    out.add_edges_from(
        (u, v, key, {k: _scalar(x) for k, x in data.items()}) for u, v, key, data in graph.edges(keys=True, data=True)
    )
    return out
