"""D3FEND builder: the D3FEND ontology (Turtle) into its own named graph, linked to ATT&CK.

Both forms D3FEND ships are read the same way: the ontology's source form
(``src/ontology/d3fend-protege.ttl``, prefix ``:``, relations only as ``owl:someValuesFrom``
restrictions) and the release form (``d3fend.ttl`` from d3fend.mitre.org, prefix ``d3f:``, with
an ``owl:versionInfo`` and the relations also as direct triples). Every D3FEND triple is kept as
D3FEND states it, in the graph ``graph_iri("d3fend", version)``.

Besides D3FEND's own triples, the graph gets the links the project makes from shared
identifiers (D3FEND does not state them; they are declared in ``ontology/d3fend.ttl``):

- ``<https://attack.mitre.org/techniques/T1204/001> akg:d3fendClass d3f:T1204.001`` for every
  D3FEND class with ``d3f:attack-id "T1204.001"``;
- ``<https://attack.mitre.org/mitigations/M1021> akg:d3fendMitigation d3f:M1021`` for every
  D3FEND ATT&CK mitigation individual (``d3f:M1021 a d3f:ATTACKEnterpriseMitigation``), whose
  ATT&CK ID is its local name.

Blank nodes (the restrictions) are relabelled in order of first appearance
(``d3fend_<version>_b<n>``), so the same file gives the same triples on every build and two
D3FEND releases in one store never share a blank node.
"""

from __future__ import annotations

import gzip
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox

from attackkg.builders.base import TYPE, InputError, Report, akg, sha256_of
from attackkg.ontology.namespaces import ATTACK, D3F, DCTERMS, MITIGATION_ID, OWL, TECHNIQUE_ID, attack_iri, graph_iri

SOURCE = "d3fend"
ONTOLOGY = "http://d3fend.mitre.org/ontologies/d3fend.owl"
VERSION_INFO = OWL + "versionInfo"
TITLE = DCTERMS + "title"
ATTACK_ID = D3F + "attack-id"
VERSION_IN_NAME = re.compile(r"(?<![\d.])v?(\d+\.\d+(?:\.\d+)?)(?![\d])")
FILE_NAMES = ("d3fend.ttl", "d3fend-protege.ttl", "d3fend.ttl.gz")


@dataclass
class D3fendData:
    """One D3FEND release as read: its triples (blank nodes relabelled) and what it is."""

    path: Path
    version: str
    title: str | None
    sha256: str
    triples: list[ox.Triple] = field(repr=False)


def load(path: str | os.PathLike, **options: object) -> D3fendData:
    """Read a D3FEND Turtle file (``.ttl`` or ``.ttl.gz``, or a folder holding ``d3fend.ttl``).

    The version is the ontology's ``owl:versionInfo`` when present (release form), else the
    first ``N.N[.N]`` in the file or folder name (``.../1.2.0/d3fend.ttl``), else ``"unknown"``.
    Raises :class:`InputError` with the file and line on a Turtle syntax error.
    """
    path = _resolve(Path(path))
    try:
        if path.name.endswith(".gz"):
            with gzip.open(path, "rb") as stream:
                parsed = list(ox.parse(stream.read(), format=ox.RdfFormat.TURTLE))
        else:
            parsed = list(ox.parse(path=str(path), format=ox.RdfFormat.TURTLE))
    except SyntaxError as error:
        raise InputError(f"Turtle syntax error at {_syntax_message(error)}", path=path, line=error.lineno) from None
    except (OSError, EOFError, gzip.BadGzipFile) as error:
        raise InputError(f"cannot read: {getattr(error, 'strerror', None) or error}", path=path) from None
    except ValueError as error:  # pyoxigraph: bad UTF-8 or an invalid IRI outside the parser proper
        raise InputError(f"cannot parse: {error}", path=path) from None

    version_info = title = None
    for triple in parsed:
        if triple.subject.value == ONTOLOGY and isinstance(triple.object, ox.Literal):
            if triple.predicate.value == VERSION_INFO:
                version_info = triple.object.value
            elif triple.predicate.value == TITLE:
                title = triple.object.value
    if not any(t.predicate == TYPE and t.object.value == OWL + "Ontology" for t in parsed):
        raise InputError("not a D3FEND ontology: no owl:Ontology in the file", path=path)
    version = (version_info or "").strip() or _version_from_path(path) or "unknown"
    return D3fendData(
        path=path,
        version=version,
        title=title,
        sha256=sha256_of(path),
        triples=_relabel_blank_nodes(parsed, prefix="d3fend_" + re.sub(r"[^A-Za-z0-9]", "_", version)),
    )


def graph_name(data: D3fendData) -> str:
    """``https://w3id.org/attack-kg/graph/d3fend/<version>``."""
    return graph_iri(SOURCE, data.version)


def triples(data: D3fendData) -> Iterator[ox.Triple]:
    """D3FEND's own triples, then the ATT&CK links made from shared IDs (:func:`link_triples`)."""
    yield from data.triples
    yield from link_triples(data.triples)


def link_triples(d3fend: list[ox.Triple]) -> Iterator[ox.Triple]:
    """ATT&CK object -> D3FEND term, made from the ATT&CK ID both carry.

    Technique: ``d3f:attack-id`` of a D3FEND class -> ``akg:d3fendClass``. Mitigation: a D3FEND
    individual named ``d3f:M####`` typed with a ``*Mitigation`` class -> ``akg:d3fendMitigation``.
    """
    d3fend_class, d3fend_mitigation = akg("d3fendClass"), akg("d3fendMitigation")
    seen: set[tuple[str, str]] = set()
    for triple in d3fend:
        subject, predicate, obj = triple.subject, triple.predicate.value, triple.object
        if not isinstance(subject, ox.NamedNode) or not subject.value.startswith(D3F):
            continue
        if predicate == ATTACK_ID and isinstance(obj, ox.Literal):
            attack_id = obj.value.strip()
            target = attack_iri(attack_id) if TECHNIQUE_ID.match(attack_id) else None
            if target and (target, subject.value) not in seen:
                seen.add((target, subject.value))
                yield ox.Triple(ox.NamedNode(target), d3fend_class, subject)
        elif predicate == TYPE.value and obj.value.startswith(D3F) and obj.value.endswith("Mitigation"):
            local = subject.value[len(D3F) :]
            target = attack_iri(local) if MITIGATION_ID.match(local) else None
            if target and (target, subject.value) not in seen:
                seen.add((target, subject.value))
                yield ox.Triple(ox.NamedNode(target), d3fend_mitigation, subject)


def report(data: D3fendData) -> Report:
    """What the ontology holds (classes, ATT&CK technique classes, D3FEND IDs) and the ATT&CK
    links :func:`link_triples` makes."""
    links = list(link_triples(data.triples))
    out = Report(
        source=SOURCE,
        path=str(data.path),
        graph=graph_name(data),
        version=data.version,
        title=data.title,
        sha256=data.sha256,
    )
    out.counts.update(_counts(data.triples))
    out.counts["technique links"] = sum(1 for t in links if t.subject.value.startswith(ATTACK + "techniques/"))
    out.counts["mitigation links"] = len(links) - out.counts["technique links"]
    return out


# --- helpers ------------------------------------------------------------------------------------


def _resolve(path: Path) -> Path:
    if path.is_dir():
        for name in FILE_NAMES:
            if (path / name).is_file():
                return path / name
        found = sorted(path.glob("*.ttl"))
        if len(found) == 1:
            return found[0]
        raise InputError("no D3FEND Turtle file (d3fend.ttl) in this folder", path=path)
    if not path.exists():
        raise InputError("no such file", path=path)
    return path


def _syntax_message(error: SyntaxError) -> str:
    """``column C: what`` from pyoxigraph's ``Parser error at line L column C: what`` (and the
    ``between line L column C and ...`` / ``at line L between columns C and D`` forms)."""
    message = error.msg if isinstance(error.msg, str) else str(error)
    match = re.match(r"Parser error (?:at|between) (.*?): (.*)", message, re.S)
    if not match:
        return message
    column = re.search(r"columns? (\d+)", match.group(1))
    return f"column {column.group(1)}: {match.group(2)}" if column else match.group(2)


def _version_from_path(path: Path) -> str | None:
    for part in (path.name, path.parent.name):
        match = VERSION_IN_NAME.search(part)
        if match:
            return match.group(1)
    return None


def _relabel_blank_nodes(parsed: list[ox.Quad], prefix: str) -> list[ox.Triple]:
    """Triples of the parsed quads, blank nodes renamed ``<prefix>_b<n>`` by first appearance.

    pyoxigraph names the anonymous blank nodes of Turtle (``[ ... ]``) at random on every parse;
    the order of the triples in the file is stable, so this makes the labels deterministic.
    """
    names: dict[ox.BlankNode, ox.BlankNode] = {}

    def rename(node: ox.BlankNode) -> ox.BlankNode:
        new = names.get(node)
        if new is None:
            new = names[node] = ox.BlankNode(f"{prefix}_b{len(names)}")
        return new

    out: list[ox.Triple] = []
    for quad in parsed:
        subject, obj = quad.subject, quad.object
        if isinstance(subject, ox.BlankNode) or isinstance(obj, ox.BlankNode):
            out.append(
                ox.Triple(
                    rename(subject) if isinstance(subject, ox.BlankNode) else subject,
                    quad.predicate,
                    rename(obj) if isinstance(obj, ox.BlankNode) else obj,
                )
            )
        else:
            out.append(quad.triple)
    return out


def _counts(d3fend: list[ox.Triple]) -> dict[str, int]:
    classes = techniques = defensive_ids = 0
    for triple in d3fend:
        predicate = triple.predicate.value
        if predicate == TYPE.value and triple.object.value == OWL + "Class":
            classes += 1
        elif predicate == ATTACK_ID:
            techniques += 1
        elif predicate == D3F + "d3fend-id":
            defensive_ids += 1
    return {"classes": classes, "ATT&CK technique classes": techniques, "terms with a d3fend-id": defensive_ids}
