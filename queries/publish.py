"""Publishing the store to a SPARQL 1.1 server, so that a publish cannot half-succeed.

Where the server accepts SPARQL 1.1 Update (its update URL, :attr:`Endpoint.update_url`):

1. each named graph is uploaded with the Graph Store Protocol under a temporary name of its own
   (``https://w3id.org/attack-kg/graph/publishing/RUN/N``), and the server's count of it is
   checked against the store's; a failure here drops the temporary graphs and leaves every
   published graph as it was;
2. one update request then removes the metadata graph, moves each temporary graph onto its
   name (``MOVE``; ``DROP`` for a graph that is empty), drops the graphs of an earlier publish
   that the store no longer has, and moves the metadata graph in place last. Oxigraph runs one
   update request as one transaction; on a server that does not, a publish stopped midway leaves
   no metadata graph, and ``attack-kg query --endpoint`` says so.

On a server that refuses updates, the graphs are put in place directly (the metadata graph
deleted first, written last), and the publish says that it is not atomic.

Large graphs go up in chunks (the first with PUT, the rest with POST): Virtuoso fails a large
PUT with ``SR172: Transaction deadlocked``. Triples that share a blank node stay in one chunk,
since a blank node label names one node only within one request.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pyoxigraph as ox

from attackkg.ontology.namespaces import METADATA_GRAPH
from attackkg.queries.endpoint import Endpoint, EndpointError

PUBLISHING = "https://w3id.org/attack-kg/graph/publishing/"
CHUNK_TRIPLES = 20_000


@dataclass
class Published:
    """One graph uploaded: how many triples here and on the server, and how long it took."""

    graph: str
    triples: int
    server_triples: int | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.server_triples == self.triples


@dataclass
class PublishResult:
    graphs: list[Published] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    seconds: float = 0.0
    atomic: bool = True  # False: the server took no updates, the graphs were replaced one by one

    @property
    def triples(self) -> int:
        return sum(g.triples for g in self.graphs)

    @property
    def ok(self) -> bool:
        return all(g.ok for g in self.graphs)


def publish(
    store: ox.Store,
    target: Endpoint,
    *,
    prune: bool = True,
    progress: Callable[[str], None] | None = None,
    warn: Callable[[str], None] | None = None,
    chunk_triples: int = CHUNK_TRIPLES,
) -> PublishResult:
    """Publish every named graph of ``store`` to ``target`` (see the module docstring).

    With ``prune``, graphs an earlier publish listed in the server's metadata graph that this
    store no longer has (an older release) are removed. ``warn`` gets a line when the publish
    cannot be atomic. Raises :class:`EndpointError` when the server refuses or fails, or holds
    other counts than the store after an upload; nothing published is replaced then (on a
    server that takes updates).
    """
    say = progress or (lambda message: None)
    started = time.perf_counter()
    names = sorted(g.value for g in store.named_graphs() if isinstance(g, ox.NamedNode))
    names = [g for g in names if g != METADATA_GRAPH] + ([METADATA_GRAPH] if METADATA_GRAPH in names else [])
    result = PublishResult(graphs=[Published(graph, _count(store, graph)) for graph in names])
    previous = target.published_graphs() if prune else []
    stale = sorted(set(previous) - set(names))
    run = f"{PUBLISHING}{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{uuid.uuid4().hex[:8]}/"
    temporary = {graph: f"{run}{index}" for index, graph in enumerate(names)}
    result.atomic = _accepts_updates(target, run)
    if result.atomic:
        leftovers = target.graphs_under(PUBLISHING)  # from a publish that was stopped
        if leftovers:
            say(f"removing {len(leftovers)} temporary graph(s) left by an unfinished publish")
            target.update(" ;\n".join(f"DROP SILENT GRAPH <{graph}>" for graph in leftovers))
        try:
            for published in result.graphs:
                say(f"uploading {published.graph}")
                _upload(store, target, published, temporary[published.graph], chunk_triples)
                _check_count(target, published, temporary[published.graph])
        except BaseException:
            _drop_quietly(target, list(temporary.values()))
            raise
        say("putting the graphs in place (one SPARQL update)")
        target.update(_in_place(result.graphs, temporary, stale))
    else:
        (warn or say)(
            f"the server takes no SPARQL Update at {without_password(target.update_url)}: this publish is not "
            "atomic (the graphs are replaced one by one; if it stops midway, the server has no metadata graph "
            "until the next publish)"
        )
        target.delete_graph(METADATA_GRAPH)
        for published in result.graphs:
            say(f"uploading {published.graph}")
            _upload(store, target, published, published.graph, chunk_triples)
        for graph in stale:
            target.delete_graph(graph)
    result.removed = stale
    target.forget_dataset()  # the metadata graph changed
    say("counting the triples on the server")
    for published in result.graphs:
        published.server_triples = target.count(published.graph)
    result.seconds = time.perf_counter() - started
    return result


def without_password(url: str | None) -> str:
    from attackkg.builders.base import without_userinfo

    return without_userinfo(url or "(no update URL)")


def _accepts_updates(target: Endpoint, run: str) -> bool:
    """Whether the server runs SPARQL Update at its update URL (an update that changes nothing)."""
    if not target.update_url:
        return False
    try:
        target.update(f"DROP SILENT GRAPH <{run}probe>")
    except EndpointError as error:
        if any(f"HTTP {status}" in str(error) for status in (400, 403, 404, 405, 415, 501)):
            return False
        raise
    return True


def _upload(store: ox.Store, target: Endpoint, published: Published, name: str, chunk_triples: int) -> None:
    """Send one graph under ``name``: the first chunk with PUT (replacing), the rest with POST."""
    began = time.perf_counter()
    first = True
    for chunk in _chunks(store, published.graph, chunk_triples):
        body = ox.serialize(chunk, format=ox.RdfFormat.N_TRIPLES)
        (target.put_graph if first else target.post_graph)(name, body, len(body))
        first = False
    if first:  # an empty graph: PUT nothing, so the name holds nothing
        target.put_graph(name, b"", 0)
    published.seconds = time.perf_counter() - began


def _chunks(store: ox.Store, graph: str, size: int) -> Iterator[list[ox.Triple]]:
    """The triples of ``graph`` in lists of about ``size``; triples joined by blank nodes together."""
    chunk: list[ox.Triple] = []
    parent: dict[str, str] = {}
    linked: list[ox.Triple] = []

    def root(label: str) -> str:
        while parent.setdefault(label, label) != label:
            parent[label] = parent[parent[label]]
            label = parent[label]
        return label

    for quad in store.quads_for_pattern(None, None, None, ox.NamedNode(graph)):
        triple = quad.triple
        blanks = [t.value for t in (triple.subject, triple.object) if isinstance(t, ox.BlankNode)]
        if blanks:
            if len(blanks) == 2:
                parent[root(blanks[0])] = root(blanks[1])
            else:
                root(blanks[0])
            linked.append(triple)
            continue
        chunk.append(triple)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    groups: dict[str, list[ox.Triple]] = {}
    for triple in linked:
        node = triple.subject if isinstance(triple.subject, ox.BlankNode) else triple.object
        groups.setdefault(root(node.value), []).append(triple)
    for group in groups.values():
        if chunk and len(chunk) + len(group) > size:
            yield chunk
            chunk = []
        chunk += group
    if chunk:
        yield chunk


def _check_count(target: Endpoint, published: Published, name: str) -> None:
    held = target.count(name)
    if held != published.triples:
        raise EndpointError(
            f"{published.graph}: the server holds {held} triples after the upload, the store {published.triples}; "
            "nothing was replaced",
            path=target.safe_store_url,
        )


def _in_place(graphs: list[Published], temporary: dict[str, str], stale: list[str]) -> str:
    """The one update request that puts the uploaded graphs in place, the metadata graph last."""
    operations = [f"DROP SILENT GRAPH <{METADATA_GRAPH}>"]
    last = []
    for published in graphs:
        if published.triples:
            move = f"MOVE SILENT GRAPH <{temporary[published.graph]}> TO GRAPH <{published.graph}>"
        else:
            move = f"DROP SILENT GRAPH <{published.graph}>"
        (last if published.graph == METADATA_GRAPH else operations).append(move)
    operations += [f"DROP SILENT GRAPH <{graph}>" for graph in stale]
    return " ;\n".join(operations + last)


def _drop_quietly(target: Endpoint, names: list[str]) -> None:
    """Remove the temporary graphs of a failed publish, as far as the server still answers."""
    with contextlib.suppress(EndpointError):
        target.update(" ;\n".join(f"DROP SILENT GRAPH <{name}>" for name in names))


def _count(store: ox.Store, graph: str) -> int:
    answer = store.query(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}")
    return int(next(iter(answer))["n"].value)
