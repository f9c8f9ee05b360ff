"""Builders: one module per source, each turning its input into RDF triples.

Every source module has the same small surface (after rdflib's parsers):

- ``load(path) -> Data``: read and check; raises :class:`InputError` with file and line.
- ``triples(data) -> Iterator[pyoxigraph.Triple]``: pure, no I/O.
- ``graph_name(data) -> str``: the named graph of that source release.
- ``build(source, graph) -> Report``: load (when given a path) and fill ``graph``.

:func:`attackkg.builders.build.build_store` runs them into one store.
"""

from attackkg.builders.base import InputError, Report

__all__ = ["InputError", "Report"]
