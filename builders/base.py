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
import yaml

# Re-exported for the builders: where pyoxigraph meets rdflib (bulk loading, term conversion) is one
# module, builders/oxstore.py.
from attackkg.builders.oxstore import add_triples as add_triples
from attackkg.builders.oxstore import to_rdflib as to_rdflib
from attackkg.ontology.namespaces import AKG, DCTERMS, RDF, RDFS, XSD


class InputError(Exception):
    """Bad input: carries where it is (file, line, and the object: STIX id, rule id).

    ``str(error)`` is the one line the CLI prints: ``path:line: message``.
    """

    def __init__(
        self, message: str, path: str | os.PathLike | None = None, line: int | None = None, obj: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = str(path) if path is not None else None
        self.line = line
        self.obj = obj

    def __str__(self) -> str:
        where = self.path or "<input>"
        if self.line is not None:
            where += f":{self.line}"
        what = f"{self.obj}: " if self.obj else ""
        return f"{where}: {what}{self.message}"


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


# --- community YAML ----------------------------------------------------------------------------

# A file larger than this is not read (a Sigma rule or an Atomic file is a few KB; the largest of
# either in the shared data is 295 KB); parsing YAML takes about ten times its size in memory.
MAX_YAML_BYTES = 10 << 20


class RefusedYaml(yaml.MarkedYAMLError):
    """YAML that parses but is refused: an alias, a merge key, a duplicate key (line in ``problem_mark``)."""


class SafeYamlLoader(yaml.CSafeLoader):
    """libyaml's safe loader for YAML written by many hands (Sigma rules, Atomic tests).

    - Aliases (``*name``) and merge keys (``<<``) are refused: a few lines of them expand into
      billions of values (the "billion laughs"), and neither SigmaHQ nor Atomic Red Team uses them.
    - Duplicate keys are refused: YAML forbids them, and PyYAML would silently keep the last.
    - Timestamps stay the text they are (``date: 2020-02-30`` must not raise from inside yaml).
    """

    def construct_object(self, node: yaml.Node, deep: bool = False) -> object:
        if node in self.constructed_objects:  # reached again: an alias of an anchored node
            raise RefusedYaml(
                problem="this value is used again by a YAML alias (*name); aliases are not read, "
                "a few lines of them can expand into billions of values",
                problem_mark=node.start_mark,
            )
        return super().construct_object(node, deep=deep)

    def flatten_mapping(self, node: yaml.MappingNode) -> None:
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise RefusedYaml(problem="YAML merge key (<<) is not read", problem_mark=key_node.start_mark)

    def construct_mapping(self, node: yaml.Node, deep: bool = False) -> dict:
        if not isinstance(node, yaml.MappingNode):
            return super().construct_mapping(node, deep=deep)
        self.flatten_mapping(node)
        mapping: dict = {}
        first_line: dict = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                seen = key in mapping
            except TypeError:  # a list or mapping as a key
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", node.start_mark, "found unhashable key", key_node.start_mark
                ) from None
            if seen:
                raise RefusedYaml(
                    problem=f"duplicate key {key!r} (first at line {first_line[key]}); YAML forbids it",
                    problem_mark=key_node.start_mark,
                )
            first_line[key] = key_node.start_mark.line + 1
            mapping[key] = self.construct_object(value_node, deep=deep)
        return mapping


SafeYamlLoader.add_constructor("tag:yaml.org,2002:timestamp", yaml.SafeLoader.construct_scalar)


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
