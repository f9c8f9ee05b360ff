"""pyoxigraph under rdflib: the one place where the project reaches an Oxigraph store through rdflib.

oxrdflib's ``OxigraphStore`` gives rdflib's ``Graph``/``Dataset`` API over a pyoxigraph ``Store``
(its public constructor takes the store: ``OxigraphStore(store=...)``). The fast paths need that
pyoxigraph ``Store`` back: a build bulk-loads quads into it (adding triples one by one through
rdflib is as slow as plain rdflib, DESIGN.md), and queries run on it directly. oxrdflib keeps the
store in a private attribute, so :class:`HeldOxigraphStore` keeps its own public reference, and
:func:`dataset` makes every Dataset the project hands out over one. The term converters are the
project's own (oxrdflib's are private too): plain strings stay plain (``Literal("x")``, as a
server's SPARQL JSON gives them), not ``Literal("x", datatype=XSD.string)``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from itertools import islice

import pyoxigraph as ox
import rdflib
from oxrdflib import OxigraphStore
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID

from attackkg.ontology.namespaces import PREFIXES

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"

RdflibTerm = rdflib.URIRef | rdflib.BNode | rdflib.Literal
OxTerm = ox.NamedNode | ox.BlankNode | ox.Literal


class HeldOxigraphStore(OxigraphStore):
    """oxrdflib's rdflib store over a pyoxigraph ``Store`` held here as :attr:`oxigraph`."""

    def __init__(self, store: ox.Store, identifier: rdflib.term.Identifier | None = None) -> None:
        super().__init__(identifier=identifier, store=store)
        self.oxigraph = store


# Triples per Store.bulk_load call (see add_triples): bounds the bulk loader's memory to about
# 65 MB a call, while few enough calls keep the build as fast as one.
BULK_BATCH = 100_000
# A blank node in canonical N-Triples: a subject at the start of a line, or an object after the
# predicate (a literal that holds "> _:" only sends its batch the slower way).
_BLANK_NODE = re.compile(rb"^_:|> _:", re.MULTILINE)


def dataset(store: ox.Store) -> rdflib.Dataset:
    """An rdflib ``Dataset`` over ``store``: queries see the union of the named graphs, and the
    project's prefixes are bound."""
    over = rdflib.Dataset(store=HeldOxigraphStore(store), default_union=True)
    for prefix, namespace in PREFIXES.items():
        over.bind(prefix, namespace)
    return over


def oxigraph_of(target: object) -> ox.Store | None:
    """The pyoxigraph ``Store`` under ``target`` (a Store itself, or an rdflib Graph or Dataset made
    by :func:`dataset`); None for anything else (a plain rdflib graph)."""
    if isinstance(target, ox.Store):
        return target
    store = getattr(target, "store", None)
    return store.oxigraph if isinstance(store, HeldOxigraphStore) else None


class BulkWriter:
    """Triples of several named graphs, bulk-loaded into a pyoxigraph ``Store`` a batch at a time.

    This is what makes a build take seconds. Each graph's triples are written as canonical
    N-Triples by pyoxigraph (``serialize``), named as N-Quads (the graph's ``<iri>`` put before
    each line's final ``" ."``: canonical N-Triples escapes every newline inside a literal), and
    read back by the bulk loader (``Store.bulk_load``) in batches of :data:`BULK_BATCH` quads that
    may span several small graphs: a third faster than a ``Quad`` per triple for
    ``Store.bulk_extend``, and every loader call has a fixed cost on disk (its sorted files).
    ``lenient`` is safe, as every term was checked when its pyoxigraph object was made. The bulk
    loader renames blank nodes, so a batch that has one (D3FEND's OWL axioms) goes through
    ``bulk_extend``, which keeps their labels. A loader call holds its batch in memory (about 650
    bytes a quad: one call for ten times SigmaHQ's rules took 940 MB), hence the batches.
    Call :meth:`flush` before reading the store.
    """

    def __init__(self, store: ox.Store) -> None:
        self.store = store
        self.pending: list[bytes] = []
        self.pending_quads = 0

    def add(self, graph_name: ox.NamedNode, triples: Iterable[ox.Triple]) -> int:
        """Queue ``triples`` for the named graph; returns how many were given."""
        given, count, tail = iter(triples), 0, f" {graph_name} .\n".encode()
        while batch := list(islice(given, BULK_BATCH)):
            count += len(batch)
            data = ox.serialize(batch, format=ox.RdfFormat.N_TRIPLES)
            if _BLANK_NODE.search(data):
                self.store.bulk_extend([ox.Quad(t.subject, t.predicate, t.object, graph_name) for t in batch])
                continue
            self.pending.append(data.replace(b" .\n", tail))
            self.pending_quads += len(batch)
            if self.pending_quads >= BULK_BATCH:
                self.flush()
        return count

    def flush(self) -> None:
        """Load what is queued."""
        if self.pending:
            self.store.bulk_load(b"".join(self.pending), format=ox.RdfFormat.N_QUADS, lenient=True)
            self.pending, self.pending_quads = [], 0


def add_triples(graph: rdflib.Graph, triples: Iterable[ox.Triple]) -> int:
    """Add pyoxigraph triples to ``graph``; returns how many were given. On a graph of a
    :func:`dataset` they are bulk-loaded into its pyoxigraph store (:class:`BulkWriter`); on any
    other rdflib graph they go through rdflib's own ``addN``."""
    store = oxigraph_of(graph)
    if store is not None:
        writer = BulkWriter(store)
        count = writer.add(to_ox(graph.identifier), triples)
        writer.flush()
        return count
    given, count = iter(triples), 0
    while batch := list(islice(given, BULK_BATCH)):
        count += len(batch)
        graph.addN((to_rdflib(t.subject), to_rdflib(t.predicate), to_rdflib(t.object), graph) for t in batch)
    return count


def to_rdflib(term: OxTerm) -> RdflibTerm:
    """A pyoxigraph term as rdflib's; a plain string as a plain literal (``Literal("x")``)."""
    if isinstance(term, ox.NamedNode):
        return rdflib.URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return rdflib.BNode(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return rdflib.Literal(term.value, lang=term.language)
        if term.datatype.value == XSD_STRING:
            return rdflib.Literal(term.value)
        return rdflib.Literal(term.value, datatype=rdflib.URIRef(term.datatype.value))
    raise ValueError(f"not an RDF term attack-kg reads: {term!r}")


def to_ox(term: RdflibTerm | rdflib.Graph) -> OxTerm | ox.DefaultGraph:
    """An rdflib term (or a graph's name) as pyoxigraph's; rdflib's default graph as ``DefaultGraph``."""
    if isinstance(term, rdflib.Graph):
        term = term.identifier
    if term == DATASET_DEFAULT_GRAPH_ID:
        return ox.DefaultGraph()
    if isinstance(term, rdflib.URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, rdflib.BNode):
        return ox.BlankNode(str(term))
    if isinstance(term, rdflib.Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        datatype = ox.NamedNode(str(term.datatype)) if term.datatype is not None else None
        return ox.Literal(str(term), datatype=datatype)
    raise ValueError(f"not an RDF term attack-kg writes: {term!r}")
