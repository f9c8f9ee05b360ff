"""Sigma tags: what each names (SigmaHQ tags appendix v2.1.0), as edges to ATT&CK, D3FEND and CVE.

See :mod:`attackkg.builders.sigma`'s module doc ("Tags") for what the shared data holds.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from attackkg.ontology.namespaces import ENTERPRISE_TACTICS, attack_iri, cve_iri, d3f_iri

# Tag kinds whose target is an ATT&CK object (the ones ``unresolved_tags`` checks).
ATTACK_KINDS = ("technique", "tactic", "group", "software", "attack-object", "attack-unknown")

# ATT&CK ID prefix -> (tag kind, edge property).
_ATTACK_EDGES = {
    "T": ("technique", "detectsTechnique"),
    "TA": ("tactic", "tagsTactic"),
    "G": ("group", "tagsGroup"),
    "S": ("software", "tagsSoftware"),
}
_ATTACK_OTHER = ("attack-object", "tagsAttackObject")  # DS, M, C, DC, DET IDs
_ATTACK_ID_LIKE = re.compile(r"^([a-z]{1,3})(\d{4})(?:\.\d{3})?$")
_SHORTNAME = re.compile(r"^[a-z][a-z0-9_-]*$")
_CVE = re.compile(r"^(\d{4})[-.](\d{4,})$")
_D3FEND_ID = re.compile(r"^d3-[a-z0-9-]+$", re.IGNORECASE)
_D3FEND_ARTIFACT = re.compile(r"^d3f-([A-Za-z][A-Za-z0-9_-]*)$")
_D3FEND_TACTICS = ("model", "harden", "detect", "isolate", "deceive", "evict", "restore")


@dataclass(frozen=True)
class TagTarget:
    """What a tag names: its kind, the property of the edge, and the object (an IRI or a literal).

    ``value`` is None when the tag names an ATT&CK thing this project cannot mint an IRI for (a
    tactic short name ATT&CK Enterprise does not list, an ID of a kind ATT&CK URLs do not cover);
    ``literal`` says whether ``value`` is a literal rather than an IRI.
    """

    kind: str
    prop: str | None
    value: str | None
    literal: bool = False


def tag_target(tag: str) -> TagTarget:
    """Classify one Sigma tag (SigmaHQ tags appendix v2.1.0), case-insensitively except D3FEND names.

    - ``attack.t1204.001`` -> technique, ``akg:detectsTechnique`` (``attack_iri``);
      ``attack.g0016`` -> ``akg:tagsGroup``; ``attack.s0154`` -> ``akg:tagsSoftware``;
      other ATT&CK IDs (``ds``, ``m``, ``c``, ``dc``, ``det``) -> ``akg:tagsAttackObject``;
      an ID ATT&CK URLs do not cover (``attack.a0001``, ICS assets) -> kind ``attack-unknown``.
    - ``attack.execution`` -> tactic, ``akg:tagsTactic`` through ``ENTERPRISE_TACTICS``;
      old underscore forms (``attack.defense_evasion``) are read as the hyphen form. A short name
      Enterprise does not list gets no IRI (``value`` None) but keeps its short name.
    - ``cve.2021-44228`` (or ``cve.2021.44228``) -> ``akg:tagsCve`` <CVE record> (``cve_iri``).
    - ``d3fend.d3-am`` -> a D3FEND *ID*: literal ``akg:d3fendId "D3-AM"`` (D3FEND keeps IDs in
      ``d3f:d3fend-id``, so the link to the class is a join the query makes);
      ``d3fend.d3f-WindowsNtOpenFile`` -> ``akg:tagsD3fendArtifact`` d3f:WindowsNtOpenFile (case
      kept: D3FEND class names are case-sensitive); ``d3fend.detect`` -> ``akg:tagsD3fendTactic``
      d3f:Detect.
    - ``car.*``, ``detection.*``, ``stp.*``, ``tlp.*`` and anything else: no edge (kind
      ``car``/``detection``/..., or ``other``); the raw tag stays as ``akg:tag``.
    """
    namespace, _, name = tag.strip().partition(".")
    namespace = namespace.lower()
    lower = name.lower()
    if namespace == "attack" and name:
        match = _ATTACK_ID_LIKE.match(lower)
        if match:
            target = attack_iri(lower)
            if target is None:
                return TagTarget("attack-unknown", None, None)
            kind, prop = _ATTACK_EDGES.get(match.group(1).upper(), _ATTACK_OTHER)
            return TagTarget(kind, prop, target)
        if _SHORTNAME.match(lower):
            shortname = lower.replace("_", "-")
            tactic = ENTERPRISE_TACTICS.get(shortname)
            return TagTarget("tactic", "tagsTactic", attack_iri(tactic) if tactic else None)
        return TagTarget("attack-unknown", None, None)
    if namespace == "cve":
        match = _CVE.match(lower)
        if match:
            return TagTarget("cve", "tagsCve", cve_iri(f"CVE-{match.group(1)}-{match.group(2)}"))
        return TagTarget("other", None, None)
    if namespace == "d3fend":
        if _D3FEND_ID.match(name):
            return TagTarget("d3fend-technique", "d3fendId", name.upper(), literal=True)
        match = _D3FEND_ARTIFACT.match(name)
        if match:
            return TagTarget("d3fend-artifact", "tagsD3fendArtifact", d3f_iri(match.group(1)))
        if lower in _D3FEND_TACTICS:
            return TagTarget("d3fend-tactic", "tagsD3fendTactic", d3f_iri(lower.capitalize()))
        return TagTarget("other", None, None)
    if namespace in ("car", "detection", "stp", "tlp") and name:
        return TagTarget(namespace, None, None)
    return TagTarget("other", None, None)


def tactic_shortname(tag: str) -> str | None:
    """The ATT&CK tactic short name an ``attack.<name>`` tag gives (``_`` read as ``-``), else None."""
    namespace, _, name = tag.strip().partition(".")
    name = name.lower()
    if namespace.lower() != "attack" or _ATTACK_ID_LIKE.match(name) or not _SHORTNAME.match(name):
        return None
    return name.replace("_", "-")


def unresolved_tags(data, known_iris: set[str]) -> list[tuple[str, str]]:
    """``(rule path, tag)`` for every ATT&CK tag whose target is not among ``known_iris``.

    The orchestrator passes the IRIs present in the loaded ATT&CK graph(s). A tag counts as
    unresolved when it names no IRI at all (a tactic short name Enterprise does not list,
    ``attack.a0001``) or an IRI absent from ``known_iris`` (a technique of a newer or older ATT&CK
    release). The edges stay in the graph either way; this only reports them. CVE and D3FEND tags
    are not ATT&CK's and are not checked.
    """
    out = []
    for rule in data.rules:
        for tag in rule.tags:
            target = tag_target(tag)
            if target.kind in ATTACK_KINDS and (target.value is None or target.value not in known_iris):
                out.append((rule.path, tag))
    return out


def tactic_warning(rules: Iterable) -> list[str]:
    """One warning counting the tactic tags whose short name ATT&CK Enterprise does not list."""
    unknown: Counter = Counter()
    for rule in rules:
        for tag in rule.tags:
            target = tag_target(tag)
            if target.kind == "tactic" and target.value is None:
                unknown[tactic_shortname(tag)] += 1
    if not unknown:
        return []
    names = ", ".join(f"{name} ({n})" for name, n in unknown.most_common())
    return [
        f"{sum(unknown.values())} tactic tag(s) name a short name ATT&CK Enterprise does not list: {names};"
        " kept as akg:tag and akg:tagsTacticShortname"
    ]
