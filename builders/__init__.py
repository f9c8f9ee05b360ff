"""Builders: one module per source, each turning its input into RDF triples.

The source kinds are registered once, in :mod:`attackkg.builders.registry`, whose docstring is the
contract a source module keeps (``load``, ``graph_name``, ``triples``, ``report``, an optional
``check``) with a worked sixth source. :func:`attackkg.builders.build.build_store` builds the
registered kinds into one store; :func:`attackkg.builders.build.build_source` builds one source
into any rdflib graph. Community YAML (Sigma, Atomic Red Team) shares one reader and error model,
:mod:`attackkg.builders.yamlfiles`.
"""

from attackkg.builders.base import InputError, Report

__all__ = ["InputError", "Report"]
