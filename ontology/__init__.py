"""The project's vocabulary (``akg:``), shipped as Turtle beside this module.

Only what RDFS, OWL, SKOS, DCTERMS, PROV, DCAT/VoID and D3FEND do not define is declared here,
each term with an ``rdfs:label`` and an ``rdfs:comment``.
"""

from __future__ import annotations

from importlib import resources

import rdflib

from attackkg.ontology.namespaces import AKG, PREFIXES

__all__ = ["AKG", "PREFIXES", "declared_terms", "vocabulary", "vocabulary_files"]


def vocabulary_files() -> list[str]:
    """Names of the Turtle files that make up the vocabulary, in load order."""
    root = resources.files(__name__)
    return sorted(entry.name for entry in root.iterdir() if entry.name.endswith(".ttl"))


def vocabulary() -> rdflib.Graph:
    """The whole ``akg:`` vocabulary as one rdflib Graph (read through importlib.resources)."""
    graph = rdflib.Graph()
    root = resources.files(__name__)
    for name in vocabulary_files():
        graph.parse(data=root.joinpath(name).read_text(encoding="utf-8"), format="turtle")
    for prefix, iri in PREFIXES.items():
        graph.bind(prefix, iri)
    return graph


def declared_terms() -> set[str]:
    """IRIs of every ``akg:`` class, property and individual the vocabulary declares."""
    return {str(s) for s in vocabulary().subjects() if str(s).startswith(AKG)}
