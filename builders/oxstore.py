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

from collections.abc import Iterable, Iterator
from itertools import islice

import pyoxigraph as ox
import rdflib
from oxrdflib import OxigraphStore
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID

from attackkg.ontology.namespaces import PREFIXES

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
XSD_INTEGER = "http://www.w3.org/2001/XMLSchema#integer"
RDF_LANG_STRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"

RdflibTerm = rdflib.URIRef | rdflib.BNode | rdflib.Literal
OxTerm = ox.NamedNode | ox.BlankNode | ox.Literal


class HeldOxigraphStore(OxigraphStore):
    """oxrdflib's rdflib store over a pyoxigraph ``Store`` held here as :attr:`oxigraph`."""

    def __init__(self, store: ox.Store, identifier: rdflib.term.Identifier | None = None) -> None:
        super().__init__(identifier=identifier, store=store)
        self.oxigraph = store


# Quads per Store.bulk_extend call (see add_triples): bounds the bulk loader's memory to about
# 65 MB a call, while few enough calls keep the build as fast as one.
BULK_BATCH = 100_000

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


def add_quads(store: ox.Store, quads: Iterable[ox.Quad]) -> None:
    """Bulk-load quads into ``store`` (``Store.bulk_extend``) in batches of :data:`BULK_BATCH`, which
    may span several named graphs (a build's sources: 9 sorted files on disk instead of 94 for one
    call per graph, and the build with every mapping file about 1 s faster)."""
    given = iter(quads)
    while batch := list(islice(given, BULK_BATCH)):
        store.bulk_extend(batch)


def add_triples(graph: rdflib.Graph, triples: Iterable[ox.Triple]) -> int:
    """Add pyoxigraph triples to ``graph``; returns how many were given.

    On a graph of a :func:`dataset` they are bulk-loaded straight into the pyoxigraph store as
    quads of ``graph``'s named graph (``Store.bulk_extend``), which is what makes a build take
    seconds, in batches of :data:`BULK_BATCH` quads: the bulk loader holds a whole call in memory
    (about 650 bytes a quad), so one call for ten times SigmaHQ's rules took 940 MB. On any other
    rdflib graph they go through rdflib's own ``addN``.
    """
    count = 0

    def counted(items: Iterable[ox.Triple]) -> Iterator[ox.Triple]:
        nonlocal count
        for item in items:
            count += 1
            yield item

    store = oxigraph_of(graph)
    if store is not None:
        name = to_ox(graph.identifier)
        add_quads(store, (ox.Quad(t.subject, t.predicate, t.object, name) for t in counted(triples)))
    else:
        graph.addN(
            (to_rdflib(t.subject), to_rdflib(t.predicate), to_rdflib(t.object), graph) for t in counted(triples)
        )
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


def to_python(term: OxTerm) -> object:
    """What ``to_rdflib(term).toPython()`` gives, without making the rdflib term for the kinds
    query rows mostly hold: an IRI or a string (plain or with a language) is a ``str``, an
    ``xsd:integer`` in plain digits an ``int``; any other term goes through rdflib, so its value is
    rdflib's (``datetime``, ``bool``, ``Decimal``, the literal itself when ill-formed)."""
    if isinstance(term, ox.NamedNode):
        return term.value
    if isinstance(term, ox.Literal):
        datatype = term.datatype.value
        if datatype in (XSD_STRING, RDF_LANG_STRING):
            return term.value
        digits = term.value[1:] if term.value[:1] == "-" else term.value
        if datatype == XSD_INTEGER and digits.isascii() and digits.isdigit():
            return int(term.value)
    return to_rdflib(term).toPython()


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
