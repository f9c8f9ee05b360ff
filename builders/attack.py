"""ATT&CK: a STIX bundle (2.0 from mitre/cti or 2.1 from attack-stix-data) into RDF.

Every ATT&CK object becomes a node at its ATT&CK URL (``external_references`` entry with
``source_name`` ``mitre-attack``); every STIX relationship becomes a direct edge between its two
objects (``uses``, ``mitigates``, ``subtechnique-of``, ...) and also a node of its own
(``akg:Relationship``) that keeps the relationship's description and citations, ATT&CK's
procedure examples. Which STIX type becomes which class and which relationship type becomes
which property is in the tables below.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pyoxigraph as ox

from attackkg.builders.base import (
    LABEL,
    TYPE,
    InputError,
    Report,
    akg,
    boolean,
    dcterms,
    sha256_of,
    text,
    typed,
)
from attackkg.ontology.namespaces import BASE, OWL, SKOS, attack_iri, graph_iri, log_source_iri, stix_iri

# STIX type -> project class.
CLASSES = {
    "attack-pattern": "Technique",
    "x-mitre-tactic": "Tactic",
    "course-of-action": "Mitigation",
    "intrusion-set": "Group",
    "malware": "Malware",
    "tool": "Tool",
    "campaign": "Campaign",
    "x-mitre-data-source": "DataSource",
    "x-mitre-data-component": "DataComponent",
    "x-mitre-detection-strategy": "DetectionStrategy",
    "x-mitre-analytic": "Analytic",
    "x-mitre-asset": "Asset",
    "x-mitre-matrix": "Matrix",
}
# STIX relationship_type -> project property for the direct edge source -> target.
RELATIONSHIPS = {
    "uses": "uses",
    "mitigates": "mitigates",
    "subtechnique-of": "subtechniqueOf",
    "detects": "detects",
    "attributed-to": "attributedTo",
    "revoked-by": "revokedBy",
    "targets": "targets",
}
# Known STIX types that carry no ATT&CK content of their own.
IGNORED_TYPES = {"identity", "marking-definition", "x-mitre-collection", "relationship"}

DOMAINS = {
    "mitre-attack": "enterprise-attack",
    "mitre-mobile-attack": "mobile-attack",
    "mitre-ics-attack": "ics-attack",
}
_VERSION_IN_NAME = re.compile(r"attack-v?(\d+\.\d+(?:\.\d+)?)\.json")
# ATT&CK Enterprise 18.1 is 37 MiB of JSON and takes 225 MB to load; this bounds hostile input.
MAX_BUNDLE_BYTES = 256 << 20
# A JSON escape of a UTF-16 surrogate, or one encoded as UTF-8 (json lets both through): only
# then are the strings checked for unpaired ones.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]|\xed[\xa0-\xbf]")
# Fields the triples are made from, and their JSON types (checked when present).
_FIELD_TYPES = (
    ("external_references", list),
    ("kill_chain_phases", list),
    ("x_mitre_log_source_references", list),
    ("name", str),
    ("x_mitre_shortname", str),
)
# List fields whose entries are objects, and the entries' fields that must be strings when present.
_ENTRY_FIELDS = {
    "external_references": ("source_name", "external_id", "url", "description"),
    "kill_chain_phases": ("kill_chain_name", "phase_name"),
    "x_mitre_log_source_references": ("x_mitre_data_component_ref", "name", "channel"),
}

DESCRIPTION = dcterms("description")
CREATED = dcterms("created")
MODIFIED = dcterms("modified")
VERSION = ox.NamedNode(OWL + "versionInfo")
DEPRECATED = ox.NamedNode(OWL + "deprecated")
ALT_LABEL = ox.NamedNode(SKOS + "altLabel")
BIBLIOGRAPHIC = dcterms("bibliographicCitation")
IDENTIFIER = dcterms("identifier")
CITATION = akg("citation")
CITATION_CLASS = akg("Citation")
URL = akg("url")
STIX_ID = akg("stixId")


@dataclass
class Bundle:
    """A checked STIX bundle: its objects, domain and ATT&CK release."""

    path: str
    objects: list[dict]
    domain: str
    version: str | None
    spec_version: str
    sha256: str = ""
    skipped: Counter = field(default_factory=Counter)

    @property
    def title(self) -> str:
        return f"ATT&CK {self.domain} {self.version or '(version unknown)'}"


def load(path: str | os.PathLike, version: str | None = None) -> Bundle:
    """Read a bundle (``.json`` or ``.json.gz``) and check that it is an ATT&CK STIX bundle.

    The release comes from ``version``, else the bundle's ``x-mitre-collection`` object (STIX
    2.1), else a version number in the file name (``enterprise-attack-18.1.json``).
    """
    path = Path(path)
    if not path.exists():
        raise InputError("no such file", path=path)
    if path.is_dir():
        raise InputError("is a folder; give the bundle file (.json or .json.gz)", path=path)
    try:
        opener = gzip.open if path.name.endswith(".gz") else open
        with opener(path, "rb") as stream:
            raw = stream.read(MAX_BUNDLE_BYTES + 1)
    except (OSError, EOFError, zlib.error) as error:
        raise InputError(f"cannot read: {error}", path=path) from None
    if len(raw) > MAX_BUNDLE_BYTES:
        limit = MAX_BUNDLE_BYTES >> 20
        raise InputError(f"larger than {limit} MiB uncompressed (ATT&CK bundles are under 50 MiB); not read", path)
    try:
        document = json.loads(raw)
    except json.JSONDecodeError as error:
        raise InputError(f"not valid JSON: {error.msg} (column {error.colno})", path=path, line=error.lineno) from None
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise InputError(f"not UTF-8 text (byte 0x{raw[error.start]:02x})", path=path, line=line) from None
    except RecursionError:
        raise InputError("not valid JSON: nested too deeply", path=path) from None
    if not isinstance(document, dict) or document.get("type") != "bundle":
        raise InputError('not a STIX bundle (no top-level "type": "bundle")', path=path, line=1)
    objects = document.get("objects")
    if not isinstance(objects, list):
        raise InputError('STIX bundle without an "objects" list', path=path, line=1)
    check_text = _SURROGATE_ESCAPE.search(raw) is not None
    for index, obj in enumerate(objects):
        try:
            _check(obj, index, path)
            if check_text:
                _check_text(obj, path)
        except InputError as error:
            error.line = _object_line(raw, index)
            raise
    domain = _domain(objects)
    skipped = Counter(o["type"] for o in objects if o["type"] not in CLASSES and o["type"] not in IGNORED_TYPES)
    spec = document.get("spec_version") or next(
        (o["spec_version"] for o in objects if isinstance(o.get("spec_version"), str)), "2.0"
    )
    return Bundle(
        path=str(path),
        objects=objects,
        domain=domain,
        version=version or _version(objects, path),
        spec_version=spec,
        sha256=sha256_of(path),
        skipped=skipped,
    )


def _check(obj: object, index: int, path: Path) -> None:
    """The STIX fields the triples are made from have the types the tables expect."""
    where = f"objects[{index}]"
    if not isinstance(obj, dict):
        raise InputError(f"{where} is not a JSON object", path=path)
    stix_id, stix_type = obj.get("id"), obj.get("type")
    if not isinstance(stix_type, str) or not isinstance(stix_id, str) or "--" not in stix_id:
        raise InputError(f'{where} has no valid STIX "type" and "id"', path=path)
    if stix_type == "relationship":
        for key in ("relationship_type", "source_ref", "target_ref"):
            if not isinstance(obj.get(key), str):
                raise InputError(f'relationship without a string "{key}"', path=path, obj=stix_id)
    for key, kind in _FIELD_TYPES:
        if key in obj and not isinstance(obj[key], kind):
            raise InputError(f'"{key}" should be a {kind.__name__}', path=path, obj=stix_id)
    for key, keys in _ENTRY_FIELDS.items():
        for entry in obj.get(key) or []:
            if not isinstance(entry, dict):
                raise InputError(f'"{key}" entry is not a JSON object', path=path, obj=stix_id)
            for name in keys:
                if entry.get(name) is not None and not isinstance(entry[name], str):
                    raise InputError(f'"{key}" entry whose "{name}" is not a string', path=path, obj=stix_id)


def _check_text(obj: dict, path: Path) -> None:
    """No string holds an unpaired UTF-16 surrogate (``"\\ud800"`` is valid JSON, not Unicode text)."""
    stack: list = [obj]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise InputError(
                    f"text with an unpaired surrogate escape: {item[:60]!r}", path, obj=obj["id"]
                ) from None
        elif isinstance(item, dict):
            stack += [*item.keys(), *item.values()]
        elif isinstance(item, list):
            stack += item


_WHITESPACE = re.compile(r"[ \t\n\r]*")


def _object_line(raw: bytes, index: int) -> int | None:
    """1-based line where ``objects[index]`` starts in the bundle text (read again, on errors only)."""
    try:
        text = raw.decode("utf-8-sig")
        decoder, skip = json.JSONDecoder(), lambda at: _WHITESPACE.match(text, at).end()
        at = skip(0)
        if text[at] != "{":
            return None
        at = skip(at + 1)
        while text[at] == '"':
            key, at = decoder.raw_decode(text, at)
            at = skip(skip(at) + 1)  # past the colon
            if key == "objects" and text[at] == "[":
                at = skip(at + 1)
                for _ in range(index):
                    _, at = decoder.raw_decode(text, at)
                    at = skip(skip(at) + 1)  # past the comma
                return text.count("\n", 0, at) + 1
            _, at = decoder.raw_decode(text, at)
            at = skip(at)
            if text[at] == ",":
                at = skip(at + 1)
    except (ValueError, IndexError, RecursionError):
        pass
    return None


def _domain(objects: list[dict]) -> str:
    for obj in objects:
        domains = obj.get("x_mitre_domains")
        if obj.get("type") != "relationship" and isinstance(domains, list) and domains:
            return str(domains[0])
    for obj in objects:
        for phase in obj.get("kill_chain_phases") or []:
            if isinstance(phase, dict) and phase.get("kill_chain_name") in DOMAINS:
                return DOMAINS[phase["kill_chain_name"]]
    return "attack"


def _version(objects: list[dict], path: Path) -> str | None:
    for obj in objects:
        if obj.get("type") == "x-mitre-collection" and obj.get("x_mitre_version"):
            return str(obj["x_mitre_version"])
    match = _VERSION_IN_NAME.search(path.name)
    return match.group(1) if match else None


def graph_name(bundle: Bundle) -> str:
    """``graph_iri("attack", domain, version)``: ``.../graph/attack/enterprise-attack/18.1``."""
    return graph_iri("attack", bundle.domain, bundle.version or "unknown")


def attack_id(obj: dict) -> tuple[str | None, str | None]:
    """(ATT&CK ID, ATT&CK URL) from the ``mitre-attack`` external reference."""
    for ref in obj.get("external_references") or []:
        if isinstance(ref, dict) and ref.get("source_name") in DOMAINS:
            return ref.get("external_id"), ref.get("url")
    return None, None


def node_iri(obj: dict) -> str:
    """The ATT&CK URL of an object, else one minted from its ATT&CK ID, else from its STIX id."""
    ext_id, url = attack_id(obj)
    if url and url.startswith("https://attack.mitre.org/") and _is_iri(url):
        return url
    return (ext_id and attack_iri(ext_id)) or stix_iri(obj["id"])


def _is_iri(value: str) -> bool:
    try:
        ox.NamedNode(value)
    except ValueError:
        return False
    return True


def triples(bundle: Bundle) -> Iterator[ox.Triple]:
    """All triples of the bundle (pure: works on the loaded objects only)."""
    iris = {obj["id"]: node_iri(obj) for obj in bundle.objects if obj["type"] in CLASSES}
    tactics = {
        obj.get("x_mitre_shortname"): iris[obj["id"]]
        for obj in bundle.objects
        if obj["type"] == "x-mitre-tactic" and obj.get("x_mitre_shortname")
    }
    domain = text(bundle.domain)
    cited: set[str] = set()
    for obj in bundle.objects:
        kind = obj["type"]
        if kind in CLASSES:
            yield from _object(obj, ox.NamedNode(iris[obj["id"]]), iris, tactics, domain)
        elif kind == "relationship":
            yield from _relationship(obj, iris)
        else:
            continue
        yield from _citations(ox.NamedNode(iris.get(obj["id"]) or stix_iri(obj["id"])), obj, cited)


def _object(obj: dict, node: ox.NamedNode, iris: dict, tactics: dict, domain: ox.Literal) -> Iterator[ox.Triple]:
    """A STIX domain object: class, ATT&CK ID, name, description, dates, flags, lists."""
    kind = obj["type"]
    yield ox.Triple(node, TYPE, akg(CLASSES[kind]))
    yield ox.Triple(node, akg("stixId"), text(obj["id"]))
    yield ox.Triple(node, akg("domain"), domain)
    ext_id, url = attack_id(obj)
    if ext_id:
        yield ox.Triple(node, akg("attackId"), text(ext_id))
    if url and url != node.value:  # the node's IRI is its ATT&CK URL already
        yield ox.Triple(node, URL, typed(url, "anyURI"))
    if isinstance(obj.get("name"), str):
        yield ox.Triple(node, LABEL, text(obj["name"]))
    if isinstance(obj.get("description"), str) and obj["description"]:
        yield ox.Triple(node, DESCRIPTION, text(obj["description"]))
    for key, predicate in (("created", CREATED), ("modified", MODIFIED)):
        if isinstance(obj.get(key), str):
            yield ox.Triple(node, predicate, typed(obj[key], "dateTime"))
    for key in ("first_seen", "last_seen"):
        if isinstance(obj.get(key), str):
            yield ox.Triple(node, akg("firstSeen" if key == "first_seen" else "lastSeen"), typed(obj[key], "dateTime"))
    if obj.get("x_mitre_version") is not None:
        yield ox.Triple(node, VERSION, text(str(obj["x_mitre_version"])))
    yield ox.Triple(node, akg("revoked"), boolean(bool(obj.get("revoked"))))
    yield ox.Triple(node, DEPRECATED, boolean(bool(obj.get("x_mitre_deprecated"))))
    if kind == "attack-pattern":
        yield ox.Triple(node, akg("isSubtechnique"), boolean(bool(obj.get("x_mitre_is_subtechnique"))))
    if kind == "x-mitre-tactic" and obj.get("x_mitre_shortname"):
        yield ox.Triple(node, akg("shortname"), text(obj["x_mitre_shortname"]))
    for key in ("x_mitre_platforms", "x_mitre_data_sources"):
        for value in _strings(obj.get(key)):
            yield ox.Triple(node, akg("platform" if key == "x_mitre_platforms" else "dataSourceName"), text(value))
    for key in ("aliases", "x_mitre_aliases"):
        for value in _strings(obj.get(key)):
            if value != obj.get("name"):
                yield ox.Triple(node, ALT_LABEL, text(value))
    for phase in obj.get("kill_chain_phases") or []:
        tactic = tactics.get(phase.get("phase_name")) if isinstance(phase, dict) else None
        if tactic:
            yield ox.Triple(node, akg("tactic"), ox.NamedNode(tactic))
    for ref in _strings(obj.get("tactic_refs")):
        if ref in iris:
            yield ox.Triple(node, akg("tactic"), ox.NamedNode(iris[ref]))
    for ref in _strings(obj.get("x_mitre_analytic_refs")):
        if ref in iris:
            yield ox.Triple(node, akg("analytic"), ox.NamedNode(iris[ref]))
    data_source = obj.get("x_mitre_data_source_ref")
    if isinstance(data_source, str) and data_source in iris:
        yield ox.Triple(node, akg("dataSource"), ox.NamedNode(iris[data_source]))
    for ref in obj.get("x_mitre_log_source_references") or []:
        component = ref.get("x_mitre_data_component_ref") if isinstance(ref, dict) else None
        if component in iris:
            yield ox.Triple(node, akg("dataComponent"), ox.NamedNode(iris[component]))
            yield from _log_source(node, ref, iris[component])


def _log_source(analytic: ox.NamedNode, ref: dict, component: str) -> Iterator[ox.Triple]:
    """One entry of an analytic's ``x_mitre_log_source_references`` as an ``akg:LogSource``: its
    ``name`` (``WinEventLog:Security``), ``channel`` (``EventCode=4768``) and data component."""
    name, channel = (ref.get(key) or "" for key in ("name", "channel"))
    node = ox.NamedNode(log_source_iri(component.rstrip("/").rsplit("/", 1)[-1], name, channel))
    yield ox.Triple(analytic, akg("logSource"), node)
    yield ox.Triple(node, TYPE, akg("LogSource"))
    yield ox.Triple(node, akg("dataComponent"), ox.NamedNode(component))
    if name:
        yield ox.Triple(node, akg("logSourceName"), text(name))
    if channel:
        yield ox.Triple(node, akg("logSourceChannel"), text(channel))


def _relationship(obj: dict, iris: dict) -> Iterator[ox.Triple]:
    """A STIX relationship: a direct edge, plus a node keeping its description and citations.

    The relationship's own created/modified dates are left out: they would add two triples to
    each of ~20,000 relationships, and nothing asks for them.
    """
    source, target = iris.get(obj["source_ref"]), iris.get(obj["target_ref"])
    if source is None or target is None:
        return
    source, target = ox.NamedNode(source), ox.NamedNode(target)
    kind = obj["relationship_type"]
    predicate = akg(RELATIONSHIPS.get(kind, "relatedTo"))
    yield ox.Triple(source, predicate, target)
    node = ox.NamedNode(stix_iri(obj["id"]))
    yield ox.Triple(node, TYPE, akg("Relationship"))
    yield ox.Triple(node, akg("relationshipType"), text(kind))
    yield ox.Triple(node, akg("source"), source)
    yield ox.Triple(node, akg("target"), target)
    if isinstance(obj.get("description"), str) and obj["description"].strip():
        yield ox.Triple(node, DESCRIPTION, text(obj["description"].strip()))
    if obj.get("revoked"):
        yield ox.Triple(node, akg("revoked"), boolean(True))
    if obj.get("x_mitre_deprecated"):
        yield ox.Triple(node, DEPRECATED, boolean(True))


def citation_iri(source_name: str) -> str:
    """One IRI per distinct citation, from its ``source_name``."""
    return BASE + "citation/" + quote(source_name, safe="")


def _citations(node: ox.NamedNode, obj: dict, cited: set[str]) -> Iterator[ox.Triple]:
    """``external_references`` other than ATT&CK's own, as ``akg:citation`` edges.

    A citation is one node per distinct reference (keyed by its ``source_name``, the key of
    ATT&CK's ``(Citation: ...)`` markers), shared by every object and relationship citing it.
    """
    for ref in obj.get("external_references") or []:
        if not isinstance(ref, dict) or ref.get("source_name") in DOMAINS:
            continue
        name = ref.get("source_name")
        if not isinstance(name, str) or not name:
            continue
        citation = ox.NamedNode(citation_iri(name))
        yield ox.Triple(node, CITATION, citation)
        if name in cited:
            continue
        cited.add(name)
        yield ox.Triple(citation, TYPE, CITATION_CLASS)
        yield ox.Triple(citation, LABEL, text(name))
        if isinstance(ref.get("description"), str):
            yield ox.Triple(citation, BIBLIOGRAPHIC, text(ref["description"]))
        if isinstance(ref.get("url"), str):
            yield ox.Triple(citation, URL, typed(ref["url"], "anyURI"))
        if isinstance(ref.get("external_id"), str):
            yield ox.Triple(citation, IDENTIFIER, text(ref["external_id"]))


def _strings(value: object) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def report(bundle: Bundle) -> Report:
    """What the bundle holds: objects per class, relationships, and the STIX types it skipped."""
    counts = Counter(CLASSES[o["type"]] for o in bundle.objects if o["type"] in CLASSES)
    counts["Relationship"] = sum(1 for o in bundle.objects if o["type"] == "relationship")
    return Report(
        source="attack",
        path=bundle.path,
        graph=graph_name(bundle),
        version=bundle.version,
        title=bundle.title,
        sha256=bundle.sha256,
        counts=counts,
        warnings=[f"skipped {n} object(s) of unknown STIX type {t}" for t, n in sorted(bundle.skipped.items())],
    )
