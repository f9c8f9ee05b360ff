"""Every IRI the project mints, in one place.

Builders never import each other; they meet through the IRIs made here. The choices are
documented in ontology/README.md: ATT&CK objects by their ATT&CK URL, D3FEND terms as D3FEND
mints them, Sigma rules by their UUID (``urn:uuid:``), Atomic tests by their GUID under
``https://w3id.org/attack-kg/atomic/`` (a Sigma rule and an Atomic test do share a UUID), everything else under
the project's base ``https://w3id.org/attack-kg/``.
"""

from __future__ import annotations

import re
from urllib.parse import quote

BASE = "https://w3id.org/attack-kg/"
AKG = BASE + "ns#"  # the project's vocabulary (ontology/*.ttl)
GRAPH = BASE + "graph/"  # named graphs
STIX = BASE + "stix/"
ATOMIC = BASE + "atomic/"  # Atomic Red Team tests, by GUID
MAPPING = BASE + "mapping/"  # derived countermeasure mappings (builders/countermeasures.py)  # STIX objects that have no ATT&CK URL (relationships, identities)
CVE = "https://www.cve.org/CVERecord?id="
CONTROL = BASE + "control/"  # CTID Mappings Explorer capabilities: controls, cloud services (builders/mappings.py)
CONTROL_MAPPING = BASE + "control-mapping/"  # CTID mapping objects, by a hash of what they say

ATTACK = "https://attack.mitre.org/"
CAR = "https://car.mitre.org/"
D3F = "http://d3fend.mitre.org/ontologies/d3fend.owl#"

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
OWL = "http://www.w3.org/2002/07/owl#"
XSD = "http://www.w3.org/2001/XMLSchema#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
DCTERMS = "http://purl.org/dc/terms/"
PROV = "http://www.w3.org/ns/prov#"
DCAT = "http://www.w3.org/ns/dcat#"
VOID = "http://rdfs.org/ns/void#"

PREFIXES = {
    "akg": AKG,
    "d3f": D3F,
    "rdf": RDF,
    "rdfs": RDFS,
    "owl": OWL,
    "xsd": XSD,
    "skos": SKOS,
    "dcterms": DCTERMS,
    "prov": PROV,
    "dcat": DCAT,
    "void": VOID,
}

METADATA_GRAPH = GRAPH + "metadata"
COUNTERMEASURES_GRAPH = GRAPH + "derived/countermeasures"
REVOCATIONS_GRAPH = GRAPH + "derived/revocations"  # references to revoked ATT&CK objects, followed (builders/revocations.py)
TELEMETRY_GRAPH = GRAPH + "telemetry"  # Sigma rules -> the event sources that feed them (builders/telemetry.py)
EVENT_SOURCE = BASE + "id/event-source/"  # akg:EventSource: <provider> or <provider>/<event>
LOG_SOURCE = BASE + "id/log-source/"  # akg:LogSource: an ATT&CK analytic's log source reference

# ATT&CK ID prefix -> the path ATT&CK's own site uses for it.
_ATTACK_PATHS = {
    "TA": "tactics",
    "T": "techniques",
    "M": "mitigations",
    "G": "groups",
    "S": "software",
    "C": "campaigns",
    "DS": "datasources",
    "DC": "datacomponents",
    "DET": "detectionstrategies",
}
# The one shape of each kind of ATT&CK ID (upper case; Sigma's lower-case tags are upper-cased first).
TECHNIQUE_ID = re.compile(r"^T\d{4}(\.\d{3})?$")
MITIGATION_ID = re.compile(r"^M\d{4}$")
# An ATT&CK domain's short name (CTID's technology_domain, `layer --domain`) -> its STIX name.
ATTACK_DOMAINS = {"enterprise": "enterprise-attack", "mobile": "mobile-attack", "ics": "ics-attack"}
# The CTID Mappings Explorer edges from a technique to a capability, one per mapping type
# (ontology/mappings.ttl; builders/mappings.py writes them, the revocations graph and the read
# side follow them).
MAPPING_EDGES = (
    "mitigatedByControl",
    "protectedByControl",
    "scoredByControl",
    "exploitedThrough",
    "primaryImpactOf",
    "secondaryImpactOf",
    "relatedFrameworkEntry",
)
_ATTACK_ID = re.compile(r"^(TA|T|M|G|S|C|DS|DC|DET)(\d{4})(?:\.(\d{3}))?$")
_SAFE_SEGMENT = re.compile(r"[^A-Za-z0-9._~-]")


def attack_iri(attack_id: str) -> str | None:
    """ATT&CK's own URL for an ATT&CK ID (``T1204.001`` -> ``.../techniques/T1204/001``).

    Case-insensitive (Sigma tags are lower case); None when the string is not an ATT&CK ID.
    """
    match = _ATTACK_ID.match(attack_id.strip().upper())
    if not match:
        return None
    prefix, number, sub = match.groups()
    if sub and prefix != "T":
        return None
    tail = f"{prefix}{number}" + (f"/{sub}" if sub else "")
    return f"{ATTACK}{_ATTACK_PATHS[prefix]}/{tail}"


def stix_iri(stix_id: str) -> str:
    """IRI for a STIX object that has no ATT&CK URL (``relationship--...``)."""
    return STIX + _SAFE_SEGMENT.sub("_", stix_id)


def uuid_iri(uuid: str) -> str:
    """IRI for a Sigma rule, named by its ``id`` (a UUID): ``urn:uuid:<id>``."""
    return "urn:uuid:" + uuid.strip().lower()


def atomic_test_iri(guid: str) -> str:
    """IRI for an Atomic Red Team test, from its ``auto_generated_guid``.

    Not ``urn:uuid:``: Sigma rule 999bff6d-dc15-44c9-9f5c-e1051bfc86e1 and an Atomic test share
    that UUID, and one IRI must name one thing.
    """
    return ATOMIC + guid.strip().lower()


def d3f_iri(local_name: str) -> str:
    """A D3FEND term as D3FEND mints it."""
    return D3F + local_name


def graph_iri(source: str, *release: str | None) -> str:
    """Named graph for one source release: ``graph_iri("d3fend", "1.2.0")`` -> ``.../graph/d3fend/1.2.0``.

    Several release parts make several path segments (``attack``, ``enterprise-attack``, ``18.1``).
    """
    parts = [source, *(part for part in release if part)]
    return GRAPH + "/".join(_SAFE_SEGMENT.sub("_", p) for p in parts)


def control_iri(framework: str, framework_version: str, capability_id: str) -> str:
    """A capability of a CTID Mappings Explorer framework, in its framework version:
    ``control_iri("nist_800_53", "rev5", "AC-2")`` -> ``.../control/nist_800_53/rev5/AC-2``.

    The version is part of the IRI: rev4's AC-2 and rev5's AC-2 are different texts.
    """
    return CONTROL + "/".join(quote(part, safe="") for part in (framework, framework_version, capability_id))


def control_group_iri(framework: str, framework_version: str, group_id: str) -> str:
    """A capability group of a CTID framework (``AC``: Access Control; ``aws_s3``: AWS S3)."""
    return CONTROL + "/".join(quote(part, safe="") for part in (framework, framework_version, "group", group_id))


def control_mapping_iri(digest: str) -> str:
    """One CTID mapping object, named by a hash of its framework, version, domain, capability,
    mapping type, ATT&CK ID and score (so it is stable across rebuilds of the same file)."""
    return CONTROL_MAPPING + digest


def car_analytic_iri(analytic_id: str) -> str:
    """A CAR analytic by its page on CAR's site: ``https://car.mitre.org/analytics/CAR-2013-02-003/``."""
    return f"{CAR}analytics/{quote(analytic_id.strip(), safe='')}/"


def car_coverage_iri(analytic_id: str, technique_id: str) -> str:
    """The coverage of one technique by one CAR analytic (it carries the level)."""
    return f"{BASE}car/coverage/{quote(analytic_id.strip(), safe='')}/{quote(technique_id.strip(), safe='')}"


def car_data_model_iri(obj: str, action: str | None = None) -> str:
    """A CAR data model object (``process``) or one of its actions (``process/create``)."""
    tail = quote(obj.strip().lower(), safe="") + (f"/{quote(action.strip().lower(), safe='')}" if action else "")
    return f"{BASE}car/data-model/{tail}"


def event_source_iri(provider: str, event: str | int | None = None) -> str:
    """An event source: a whole provider (``event_source_iri("windows-security")``) or one of its
    events (``event_source_iri("sysmon", 1)`` -> ``.../event-source/sysmon/1``; the event part is
    URL-quoted: ``zeek/dns``). Provider names are lower case and hyphenated, the names users type."""
    tail = quote(provider.strip().lower(), safe="")
    if event is not None and str(event).strip():
        tail += "/" + quote(str(event).strip(), safe="")
    return EVENT_SOURCE + tail


def log_source_iri(data_component: str, name: str, channel: str) -> str:
    """One log source an ATT&CK analytic names (STIX ``x_mitre_log_source_references``): its data
    component (the component's ATT&CK ID, else its STIX id), ``name`` and ``channel``, quoted:
    ``.../log-source/DC0032/WinEventLog%3ASecurity/EventCode%3D4688``."""
    return LOG_SOURCE + "/".join(quote(part.strip(), safe="") for part in (data_component, name, channel))


def cve_iri(cve_id: str) -> str:
    """The CVE record page for a CVE ID (``CVE-2021-44228``)."""
    return CVE + cve_id.upper()


# Sigma tags name tactics by ATT&CK's Enterprise short names (``attack.execution``).
ENTERPRISE_TACTICS = {
    "reconnaissance": "TA0043",
    "resource-development": "TA0042",
    "initial-access": "TA0001",
    "execution": "TA0002",
    "persistence": "TA0003",
    "privilege-escalation": "TA0004",
    "defense-evasion": "TA0005",
    "credential-access": "TA0006",
    "discovery": "TA0007",
    "lateral-movement": "TA0008",
    "collection": "TA0009",
    "command-and-control": "TA0011",
    "exfiltration": "TA0010",
    "impact": "TA0040",
}
