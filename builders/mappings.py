"""CTID Mappings Explorer: security controls, cloud services and exploited CVEs mapped to ATT&CK.

Input: one mapping file of the Center for Threat-Informed Defense's Mappings Explorer
(``mappings/<framework>/attack-<v>/<framework>-<version>/<domain>/*.json``), or a folder of them
(:func:`expand`: every ``*.json`` under it, each its own named graph). Every file is checked
against the project's copy of the Mappings Explorer JSON Schema,
``builders/mapex-unified-data-schema.json`` (copied unchanged from
``mappings-explorer/schema/mapex-unified-data-schema.json``, Apache-2.0, as shipped in the shared
data); a file that breaks it is an :class:`InputError` with its line and key path.

Where each triple comes from. The file (its named graph, ``graph_iri("mappings", framework,
framework version, "attack-" + ATT&CK version, domain)``) describes itself in its own graph::

    <graph> akg:mappingFramework      metadata.mapping_framework (nist_800_53, aws, kev, ...)
            akg:frameworkVersion      metadata.mapping_framework_version (rev5, 12/12/2024)
            akg:mappedAttackVersion   metadata.attack_version (the ATT&CK its IDs were written for)
            akg:technologyDomain      metadata.technology_domain
            dcterms:created           metadata.creation_date, as written (MM/DD/YYYY)
            dcterms:modified          metadata.last_update, as written

A capability (``control_iri(framework, version, capability_id)``; a KEV capability is a CVE, named
by its CVE record ``cve_iri``, as Sigma's ``cve.`` tags name it)::

    rdf:type akg:SecurityControl (akg:Vulnerability for KEV)
    dcterms:identifier   capability_id
    rdfs:label           capability_description
    akg:mappingFramework the framework
    akg:capabilityGroup  <control_group_iri(framework, version, capability_group)>, whose rdfs:label is
                         the group's name from metadata.capability_groups

A mapping object with status complete or in_progress: the one-hop edge from the technique (its
ATT&CK URL, as the file names it) to the capability, by mapping type (:data:`EDGES`), and a
mapping node (``control_mapping_iri(hash)``, like D3FEND's countermeasure mapping nodes)::

    <technique> akg:mitigatedByControl | akg:protectedByControl | akg:scoredByControl |
                akg:exploitedThrough | akg:primaryImpactOf | akg:secondaryImpactOf |
                akg:relatedFrameworkEntry  <capability>
    <mapping> rdf:type akg:ControlMapping
              akg:controlMappingTechnique <technique>   akg:controlMappingAttackId "T1078" (the ID as written)
              akg:mappedCapability <capability> akg:mappingType "mitigates" (as written)
              akg:mappingStatus "complete"      akg:scoreCategory / akg:scoreValue (technique scores)
              akg:relatedScore <parent technique>  rdfs:comment comments  dcterms:references each reference

A ``non_mappable`` object (status ``non_mappable``, or mapping type ``non_mappable``): no edge; a
mapping node of type ``akg:NonMappable`` with the technique, status and comment, so "no capability
of this framework applies" differs from "not mapped".

The technique IDs are those of the ATT&CK release the file was mapped against
(``akg:mappedAttackVersion``), kept as written. Where the loaded ATT&CK revoked one, its
``akg:revokedBy`` edge leads to the successor; the named queries (``controls``, ``cves``) count a
mapping for the successor through it.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

import jsonschema
import pyoxigraph as ox

from attackkg.builders.base import LABEL, TYPE, InputError, Report, akg, dcterms, iri, text
from attackkg.ontology.namespaces import (
    RDFS,
    attack_iri,
    control_group_iri,
    control_iri,
    control_mapping_iri,
    cve_iri,
    graph_iri,
)

SOURCE = "mappings"
TITLE = "CTID Mappings Explorer"
SCHEMA_FILE = "mapex-unified-data-schema.json"
# A mapping file is at most a few MB (the largest shared one, NIST 800-53 rev5, is 2 MB).
MAX_BYTES = 64 << 20

# mapping_type (as the files write it) -> the one-hop edge from technique to capability.
EDGES = {
    "mitigates": "mitigatedByControl",
    "protects": "protectedByControl",
    "technique_scores": "scoredByControl",
    "technique_score": "scoredByControl",
    "exploitation_technique": "exploitedThrough",
    "primary_impact": "primaryImpactOf",
    "secondary_impact": "secondaryImpactOf",
    "related_to": "relatedFrameworkEntry",
    "uncategorized": "relatedFrameworkEntry",
}
NON_MAPPABLE = "non_mappable"
# Keys whose values the item schema restricts to a list (enum); all other item keys are checked by type only.
_ENUM_KEYS = ("status", "score_category", "score_value")


@dataclass
class MappingFile:
    """One Mappings Explorer file, read and checked."""

    path: str
    metadata: dict
    objects: list[dict]
    sha256: str

    @property
    def framework(self) -> str:
        return self.metadata["mapping_framework"]

    @property
    def framework_version(self) -> str:
        return self.metadata["mapping_framework_version"]

    @property
    def attack_version(self) -> str:
        return self.metadata["attack_version"]

    @property
    def domain(self) -> str:
        return self.metadata["technology_domain"]


def expand(path: str | os.PathLike) -> list[str]:
    """The mapping files a path names: itself, or every ``*.json`` under a folder (sorted), but
    the JSON Schema the Mappings Explorer repository ships beside them (``schema/*.json``), so
    that the repository folder itself can be given."""
    given = Path(path)
    if given.is_dir():
        files = sorted(
            str(p) for p in given.rglob("*.json") if p.is_file() and "schema" not in p.relative_to(given).parts[:-1]
        )
        if not files:
            raise InputError("no Mappings Explorer *.json file under this folder", path=path)
        return files
    return [str(path)]


@cache
def _validator() -> jsonschema.protocols.Validator:
    schema = json.loads(resources.files(__package__).joinpath(SCHEMA_FILE).read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def load(path: str | os.PathLike, **options: object) -> MappingFile:
    """Read one mapping file and check it against the schema; InputError (path:line) otherwise."""
    try:
        with open(path, "rb") as stream:
            raw = stream.read(MAX_BYTES + 1)
    except IsADirectoryError:
        raise InputError("a folder: give one mapping file here, or the folder to `--mappings`", path=path) from None
    except OSError as error:
        raise InputError(error.strerror or str(error), path=path) from None
    if len(raw) > MAX_BYTES:
        raise InputError(f"larger than {MAX_BYTES >> 20} MiB; a mapping file is a few MB", path=path)
    try:
        document = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise InputError(
            f"not UTF-8 text ({error.reason})", path=path, line=raw[: error.start].count(b"\n") + 1
        ) from None
    except json.JSONDecodeError as error:
        raise InputError(f"not JSON: {error.msg}", path=path, line=error.lineno) from None
    _check(document, raw, path)
    return MappingFile(str(path), document["metadata"], document["mapping_objects"], hashlib.sha256(raw).hexdigest())


def _check(document: object, raw: bytes, path: str | os.PathLike) -> None:
    """Validate with jsonschema. The mapping objects are validated once per *shape* (each key with
    the type of its value, and the value itself for the enum keys): the item schema checks only
    types, enums, required and allowed keys, so objects of one shape pass or fail together, and
    the first object of a failing shape is the first failing object (4.5 s -> 0.1 s for all files)."""
    validator = _validator()
    if not isinstance(document, dict) or not isinstance(document.get("mapping_objects"), list):
        errors = list(validator.iter_errors(document))
        _raise(errors or [None], raw, path, "not a Mappings Explorer file (no mapping_objects list)")
    objects = document["mapping_objects"]
    head = {key: value for key, value in document.items() if key != "mapping_objects"}
    head["mapping_objects"] = []
    errors = list(validator.iter_errors(head))
    if errors:
        _raise(errors, raw, path)
    item_schema = validator.schema["properties"]["mapping_objects"]["items"]
    items = validator.evolve(schema=item_schema)
    seen: set = set()
    for index, obj in enumerate(objects):
        shape = _shape(obj)
        if shape in seen:
            continue
        seen.add(shape)
        errors = list(items.iter_errors(obj))
        if errors:
            for error in errors:
                error.path.extendleft([index, "mapping_objects"])
            _raise(errors, raw, path)


def _shape(obj: object) -> object:
    """What the item schema can tell apart: each key (in order) with its value's type, the value
    itself for the enum keys, and the item types of a list."""
    if not isinstance(obj, dict):
        return ("not an object", type(obj))
    return tuple(
        (key, value if key in _ENUM_KEYS and isinstance(value, str | None) else type(value))
        if not isinstance(value, list)
        else (key, list, frozenset(map(type, value)))
        for key, value in obj.items()
    )


def _raise(errors: list, raw: bytes, path: str | os.PathLike, fallback: str = "") -> None:
    error = jsonschema.exceptions.best_match(errors) if errors and errors[0] is not None else None
    if error is None:
        raise InputError(fallback, path=path, line=1)
    keys = list(error.absolute_path)
    where = "".join(f"[{k}]" if isinstance(k, int) else (f".{k}" if i else k) for i, k in enumerate(keys))
    raise InputError(
        f"breaks the Mappings Explorer schema: {error.message}", path=path, line=_line_of(raw, keys), key=where or None
    )


def _line_of(raw: bytes, keys: list) -> int:
    """The line of the value at ``keys`` (the mapping object, for ``mapping_objects[i]...``)."""
    text_ = raw.decode("utf-8", errors="replace")
    if len(keys) >= 2 and keys[0] == "mapping_objects" and isinstance(keys[1], int):
        start = text_.find('"mapping_objects"')
        start = text_.find("[", start) + 1
        decoder = json.JSONDecoder()
        for _ in range(keys[1] + 1):
            while text_[start] in " \t\r\n,":
                start += 1
            begin = start
            _, start = decoder.raw_decode(text_, start)
        if len(keys) >= 3 and isinstance(keys[2], str):
            found = text_.find(json.dumps(keys[2]), begin, start)
            begin = found if found >= 0 else begin
        return text_.count("\n", 0, begin) + 1
    if keys:
        found = text_.find(f'"{keys[0]}"')
        if found >= 0:
            return text_.count("\n", 0, found) + 1
    return 1


def graph_name(data: MappingFile) -> str:
    return graph_iri(SOURCE, data.framework, data.framework_version, f"attack-{data.attack_version}", data.domain)


def _capability_iri(data: MappingFile, capability_id: str) -> str:
    if data.framework == "kev":
        return cve_iri(capability_id)
    return control_iri(data.framework, data.framework_version, capability_id)


def _digest(data: MappingFile, obj: dict) -> str:
    key = "\0".join(
        str(obj.get(name) or "")
        for name in ("capability_id", "mapping_type", "attack_object_id", "score_category", "score_value", "status")
    )
    head = "\0".join((data.framework, data.framework_version, data.attack_version, data.domain))
    return hashlib.sha256(f"{head}\0{key}".encode()).hexdigest()[:32]


def edge_of(obj: dict) -> str:
    """The akg: edge for a mapping object: by mapping type; a type of the framework's own (Intel
    vPro names the Windows feature, ``win11-bl``) with a score is a technique score."""
    edge = EDGES.get(obj.get("mapping_type") or "")
    if edge:
        return edge
    return "scoredByControl" if obj.get("score_category") else "relatedFrameworkEntry"


def is_non_mappable(obj: dict) -> bool:
    return obj.get("status") == NON_MAPPABLE or obj.get("mapping_type") == NON_MAPPABLE


_P = {
    name: akg(name)
    for name in (
        "mappingFramework",
        "frameworkVersion",
        "mappedAttackVersion",
        "technologyDomain",
        "controlMappingTechnique",
        "controlMappingAttackId",
        "mappingStatus",
        "mappedCapability",
        "mappingType",
        "scoreCategory",
        "scoreValue",
        "relatedScore",
        "capabilityGroup",
        "ControlMapping",
        "NonMappable",
        "CapabilityGroup",
        "SecurityControl",
        "Vulnerability",
        *set(EDGES.values()),
    )
}
_COMMENT = ox.NamedNode(RDFS + "comment")
_IDENTIFIER = dcterms("identifier")
_REFERENCES = dcterms("references")


def triples(data: MappingFile) -> Iterator[ox.Triple]:
    """The file's triples (see the module docstring)."""
    P = _P
    graph = ox.NamedNode(graph_name(data))
    meta = data.metadata
    yield ox.Triple(graph, P["mappingFramework"], text(data.framework))
    yield ox.Triple(graph, P["frameworkVersion"], text(data.framework_version))
    yield ox.Triple(graph, P["mappedAttackVersion"], text(data.attack_version))
    yield ox.Triple(graph, P["technologyDomain"], text(data.domain))
    for key, term in (("creation_date", "created"), ("last_update", "modified")):
        if meta.get(key):
            yield ox.Triple(graph, dcterms(term), text(meta[key]))
    groups = meta.get("capability_groups") or {}
    capability_class = P["Vulnerability" if data.framework == "kev" else "SecurityControl"]
    capabilities: dict[str, ox.NamedNode] = {}
    techniques: dict[str, ox.NamedNode | None] = {}
    seen_groups: set[str] = set()
    framework = text(data.framework)
    literals: dict[str, ox.Literal] = {}  # the few values repeated on every mapping (status, type, score)

    def value(raw: str) -> ox.Literal:
        found = literals.get(raw)
        if found is None:
            found = literals[raw] = text(raw)
        return found

    for obj in data.objects:
        technique_id = (obj.get("attack_object_id") or "").strip()
        if technique_id not in techniques:
            found = attack_iri(technique_id) if technique_id else None
            techniques[technique_id] = ox.NamedNode(found) if found else None
        technique = techniques[technique_id]
        capability_id = (obj.get("capability_id") or "").strip()
        non_mappable = is_non_mappable(obj) or not capability_id
        if technique is None and (not non_mappable or not capability_id):
            continue  # no ATT&CK object and nothing else to say (counted in load)
        mapping = ox.NamedNode(control_mapping_iri(_digest(data, obj)))
        if obj.get("comments") and obj["comments"].strip():
            yield ox.Triple(mapping, _COMMENT, text(obj["comments"].strip()))
        if technique is not None:
            yield ox.Triple(mapping, P["controlMappingTechnique"], technique)
            yield ox.Triple(mapping, P["controlMappingAttackId"], value(technique_id))
        yield ox.Triple(mapping, P["mappingStatus"], value(obj.get("status") or "complete"))
        for reference in obj.get("references") or ():
            if reference.strip():
                yield ox.Triple(mapping, _REFERENCES, text(reference.strip()))
        capability = capabilities.get(capability_id) if capability_id else None
        if capability_id and capability is None:
            capability = capabilities[capability_id] = ox.NamedNode(_capability_iri(data, capability_id))
            yield ox.Triple(capability, TYPE, capability_class)
            yield ox.Triple(capability, _IDENTIFIER, text(capability_id))
            yield ox.Triple(capability, P["mappingFramework"], framework)
            if obj.get("capability_description"):
                yield ox.Triple(capability, LABEL, text(obj["capability_description"].strip()))
            group_id = obj.get("capability_group")
            if group_id:
                group = ox.NamedNode(control_group_iri(data.framework, data.framework_version, group_id))
                yield ox.Triple(capability, P["capabilityGroup"], group)
                if group_id not in seen_groups:
                    seen_groups.add(group_id)
                    yield ox.Triple(group, TYPE, P["CapabilityGroup"])
                    yield ox.Triple(group, _IDENTIFIER, text(group_id))
                    yield ox.Triple(group, LABEL, text(str(groups.get(group_id) or group_id)))
        if capability is not None:
            yield ox.Triple(mapping, P["mappedCapability"], capability)
        if non_mappable:
            yield ox.Triple(mapping, TYPE, P["NonMappable"])
            continue
        mapping_type = obj.get("mapping_type") or ""
        yield ox.Triple(technique, P[edge_of(obj)], capability)
        yield ox.Triple(mapping, TYPE, P["ControlMapping"])
        yield ox.Triple(mapping, P["mappingType"], value(mapping_type))
        for key, term in (("score_category", "scoreCategory"), ("score_value", "scoreValue")):
            if obj.get(key):
                yield ox.Triple(mapping, P[term], value(obj[key]))
        if obj.get("related_score"):
            related = attack_iri(obj["related_score"])
            if related:
                yield ox.Triple(mapping, P["relatedScore"], iri(related))


def count(data: MappingFile) -> Counter:
    """What the file holds: mappings (in total and per mapping type), non-mappable entries,
    distinct capabilities and entries naming no ATT&CK object that are not non-mappable."""
    counts: Counter = Counter()
    capabilities = set()
    for obj in data.objects:
        technique_id = (obj.get("attack_object_id") or "").strip()
        capability_id = (obj.get("capability_id") or "").strip()
        non_mappable = is_non_mappable(obj) or not capability_id
        has_technique = bool(technique_id) and attack_iri(technique_id) is not None
        if not has_technique and not (non_mappable and capability_id):
            counts["no_technique"] += 1
            continue
        if capability_id:
            capabilities.add(capability_id)
        if non_mappable:
            counts["non_mappable"] += 1
        else:
            counts["mappings"] += 1
            counts[f"mappings:{obj.get('mapping_type') or ''}"] += 1
    counts["capabilities"] = len(capabilities)
    return counts


def report(data: MappingFile) -> Report:
    return Report(
        SOURCE,
        data.path,
        graph_name(data),
        version=f"{data.framework} {data.framework_version} (ATT&CK {data.attack_version} {data.domain})",
        title=f"{TITLE}: {data.framework} {data.framework_version}, mapped to ATT&CK {data.attack_version} "
        f"{data.domain}; created {data.metadata.get('creation_date')}, updated {data.metadata.get('last_update')}",
        sha256=data.sha256,
        counts=count(data),
    )
