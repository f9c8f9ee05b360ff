"""CTID Mappings Explorer capabilities and CAR analytics in the networkx graph (issue 13).

:func:`attackkg.queries.graph.to_networkx` reads, besides ATT&CK, D3FEND, Sigma and Atomic:

- from each Mappings Explorer graph (builders/mappings.py), the one-hop edges from a technique to
  a capability, one per mapping type (:data:`MAPPING_EDGES`: ``T -akg:mitigatedByControl-> AC-2``,
  ``T -akg:scoredByControl-> aws_guardduty``, ``T -akg:exploitedThrough-> CVE-2021-44228``, ...),
  as the file wrote them: a technique ID the loaded ATT&CK revoked stays on the revoked technique,
  whose ``akg:revokedBy`` chain the paths walk (queries/control_paths.py);
- from the CAR graph (builders/car.py), ``<analytic> akg:analyticCovers <T>``.

The capability nodes have ``kind`` ``control`` (``akg:SecurityControl``: a NIST SP 800-53
control, a cloud provider's security capability, a CRI Profile or CSA CCM entry, an Intel vPro
feature, a VERIS entry) or ``cve`` (``akg:Vulnerability``, KEV), ``id`` their capability ID
(``dcterms:identifier``: AC-2), ``framework`` (``nist_800_53``), ``framework_version`` (``rev5``)
and ``mapped_attack`` (the ATT&CK version the file was mapped against); a CAR analytic has kind
``car-analytic`` and its CAR ID. ``G.graph["frameworks"]`` names, per framework, the version the
framework kinds (``nist-800-53``: the newest, by the ATT&CK version it was mapped against) use.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable

import pyoxigraph as ox

from attackkg.ontology.namespaces import AKG, DCTERMS, MAPPING_EDGES, RDF

CVE_EDGES = ("exploitedThrough", "primaryImpactOf", "secondaryImpactOf")
CAR_EDGES = ("analyticCovers",)
CONTROL_PREDICATES = tuple(f"akg:{name}" for name in MAPPING_EDGES + CAR_EDGES)
CONTROL_SOURCES = ("mappings", "car")

# The path kinds of queries/control_paths.py (in `paths --kind all`; the framework kinds below are
# for `cover` and not in "all"): every control but the cloud ones, cloud security capabilities,
# KEV's exploited vulnerabilities, CAR analytics.
CONTROL_KINDS = ("control", "cloud", "cve", "car")
CLOUD_FRAMEWORKS = ("aws", "azure", "gcp", "m365")
# One kind per framework (for `cover`): kind -> the framework as the files name it.
FRAMEWORK_KINDS = {
    "nist-800-53": "nist_800_53",
    "aws": "aws",
    "azure": "azure",
    "gcp": "gcp",
    "m365": "m365",
    "cri-profile": "cri_profile",
    "csa-ccm": "csa_ccm",
    "intel-vpro": "intel-vpro",
    "veris": "veris",
    "kev": "kev",
}
# The node kind each kind ends at.
TARGET_KINDS = {"atomic": "atomic-test", "control": "control", "cloud": "control", "cve": "cve", "car": "car-analytic"}
TARGET_KINDS.update({kind: "cve" if kind == "kev" else "control" for kind in FRAMEWORK_KINDS})

_CLASSES = {AKG + "SecurityControl": "control", AKG + "Vulnerability": "cve", AKG + "CarAnalytic": "car-analytic"}


def read_controls(
    store: ox.Store,
    graphs: dict[str, list[ox.NamedNode]],
    wanted: Collection[str],
    chosen: Collection[str] | None,
    add_all: Callable[[list[tuple[str, str]], str, str], object],
    pairs: Callable[[ox.Store, str, str], list[tuple[str, str]]],
) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    """Add the mapping and CAR edges of the wanted sources through ``add_all`` (``chosen``: only
    these predicates, as CURIEs, when given); return the attributes of their capability and
    analytic nodes (kind, id, framework, ...) and the framework -> version the framework kinds use."""
    for source, names in (("mappings", MAPPING_EDGES), ("car", CAR_EDGES)):
        if source not in wanted:
            continue
        for graph in graphs.get(source, ()):
            for name in names:
                if chosen is None or f"akg:{name}" in chosen:
                    add_all(pairs(store, AKG + name, graph.value), AKG + name, graph.value)
    attrs: dict[str, dict[str, str]] = {}
    newest: dict[str, tuple[tuple, str]] = {}
    for graph in graphs.get("mappings", ()) if "mappings" in wanted else ():
        query = f"""SELECT ?c ?class ?id ?framework ?version ?attack WHERE {{ GRAPH <{graph.value}> {{
            ?c <{RDF}type> ?class ; <{DCTERMS}identifier> ?id ; <{AKG}mappingFramework> ?framework .
            <{graph.value}> <{AKG}frameworkVersion> ?version ; <{AKG}mappedAttackVersion> ?attack }} }}"""
        for node, cls, ident, framework, version, attack in _values(store.query(query)):
            if cls in _CLASSES:
                attrs.setdefault(node, {"kind": _CLASSES[cls], "id": ident, "framework": framework,
                                        "framework_version": version, "mapped_attack": attack})
                key = (_version_key(attack), version)
                if framework not in newest or key > newest[framework][0]:
                    newest[framework] = (key, version)
    for graph in graphs.get("car", ()) if "car" in wanted else ():
        query = f"""SELECT ?a ?id WHERE {{ GRAPH <{graph.value}> {{
            ?a <{RDF}type> <{AKG}CarAnalytic> ; <{DCTERMS}identifier> ?id }} }}"""
        for node, ident in _values(store.query(query)):
            attrs.setdefault(node, {"kind": "car-analytic", "id": ident})
    return attrs, {framework: version for framework, (_, version) in sorted(newest.items())}


def _values(rows: Iterable) -> Iterable[tuple[str, ...]]:
    return (tuple(term.value for term in row) for row in rows)


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) if part.isdigit() else 0 for part in version.split("."))
