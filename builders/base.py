"""What every builder shares: the input error, the build report and the fast path into a graph."""

from __future__ import annotations

import hashlib
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import pyoxigraph as ox

# Re-exported for the builders: where pyoxigraph meets rdflib (bulk loading, term conversion) is one
# module, builders/oxstore.py.
from attackkg.builders.oxstore import add_triples as add_triples
from attackkg.builders.oxstore import to_rdflib as to_rdflib
from attackkg.ontology.namespaces import AKG, DCTERMS, RDF, RDFS, XSD


class InputError(Exception):
    """Bad input: carries where it is (file, line, the object: STIX id, rule id, and for YAML
    the key path inside the document: ``tags[3]``, ``atomic_tests[2].executor``).

    ``str(error)`` is the one line the CLI prints: ``path:line: object: message (at key)``.
    """

    def __init__(
        self,
        message: str,
        path: str | os.PathLike | None = None,
        line: int | None = None,
        obj: str | None = None,
        key: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = str(path) if path is not None else None
        self.line = line
        self.obj = obj
        self.key = key

    def __str__(self) -> str:
        where = self.path or "<input>"
        if len(where) > 240:  # a path the user typed, 10 MB long: show its start
            where = f"{where[:80]}… ({len(where):,} characters)"
        if self.line is not None:
            where += f":{self.line}"
        what = f"{self.obj}: " if self.obj else ""
        at = f" (at {self.key})" if self.key else ""
        return f"{where}: {what}{self.message}{at}"


@dataclass
class Report:
    """What one builder did: where from, into which graph, how much, what it skipped."""

    source: str
    path: str
    graph: str
    version: str | None = None
    title: str | None = None
    sha256: str | None = None
    triples: int = 0
    counts: Counter = field(default_factory=Counter)
    skipped: list[InputError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def package_version() -> str:
    """attack-kg's installed version (``unknown`` when run from a tree that was never installed)."""
    try:
        return metadata.version("attack-kg")
    except metadata.PackageNotFoundError:
        return "unknown"


def sha256_of(path: str | os.PathLike) -> str:
    """SHA-256 of a file, or of every file under a folder (sorted relative paths and contents)."""
    digest = hashlib.sha256()
    path = Path(path)
    if path.is_file():
        with path.open("rb") as stream:
            for chunk in iter(lambda: stream.read(1 << 20), b""):
                digest.update(chunk)
        return digest.hexdigest()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(file.relative_to(path).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()


def without_userinfo(url: str) -> str:
    """``url`` with any ``user:password@`` replaced by ``***@``, for messages and records."""
    return re.sub(r"(\w+://)[^/@\s]*@", r"\1***@", url)


def reachable(start: str, edges: dict[str, set[str]]) -> set[str]:
    """``start`` and every node reachable from it along ``edges`` (a transitive closure, such as
    ``rdfs:subClassOf*`` computed once in Python instead of as a SPARQL property path)."""
    seen = {start}
    stack = [start]
    while stack:
        for nxt in edges.get(stack.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return seen


# --- terms -------------------------------------------------------------------------------------

TYPE = ox.NamedNode(RDF + "type")
LABEL = ox.NamedNode(RDFS + "label")


def iri(value: str) -> ox.NamedNode:
    return ox.NamedNode(value)


def akg(local: str) -> ox.NamedNode:
    """A term of the project's vocabulary (declared in ontology/*.ttl)."""
    return ox.NamedNode(AKG + local)


def dcterms(local: str) -> ox.NamedNode:
    return ox.NamedNode(DCTERMS + local)


def text(value: str, lang: str | None = None) -> ox.Literal:
    return ox.Literal(value, language=lang) if lang else ox.Literal(value)


def typed(value: str, datatype: str) -> ox.Literal:
    return ox.Literal(value, datatype=ox.NamedNode(XSD + datatype))


def boolean(value: bool) -> ox.Literal:
    return typed("true" if value else "false", "boolean")
