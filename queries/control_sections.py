"""The coverage page's sections for controls and analytics (issue 13): NIST SP 800-53 controls,
cloud security controls, MITRE CAR analytics and exploited vulnerabilities (CISA KEV).

A section is there when its source is in the store (a NIST 800-53 mapping file; an AWS, Azure,
GCP or M365 one; CAR; a KEV one), so pages of stores without them are unchanged. Like the page's
other sections, each says its release (the mapping files' framework versions and the ATT&CK
version they were mapped against, from the metadata graph) and its total over every technique of
the loaded release, then what is mapped to exactly this technique:

- **NIST SP 800-53**: the controls of the newest revision in the store (by the ATT&CK version it
  was mapped against: rev5, ATT&CK 16.1), ``akg:mitigatedByControl`` / ``akg:protectedByControl``;
- **cloud security controls**: the AWS, Azure, GCP and M365 capabilities that score the
  technique (``akg:scoredByControl``), each with its framework;
- **CAR analytics**: the analytics whose coverage names the technique (``akg:analyticCovers``);
- **exploited vulnerabilities (KEV)**: CVEs exploited through the technique or whose primary or
  secondary impact it is.

An ID the loaded ATT&CK revoked counts for its successor (the revocations graph), and the item
says so (``T1574.002 revoked by T1574.001``). What is counted per technique is the distinct
capabilities (analytics, CVEs) of the section; the total is the number of distinct (technique,
item) pairs over every technique, so that it is the sum of the counts of all pages
(``queries/report-controls.rq``, ``report-car.rq``, ``report-control-totals.rq``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from attackkg.queries import rows
from attackkg.queries.control_graph import CLOUD_FRAMEWORKS

CAR_SITE = "https://car.mitre.org/"
CVE_RECORD = "https://www.cve.org/CVERecord?id="
MAPPINGS_EXPLORER = "https://center-for-threat-informed-defense.github.io/mappings-explorer/"
SECTION_KEYS = ("nist-800-53", "cloud", "car", "kev")
_EDGE_TEXT = {
    "mitigatedByControl": "mitigates",
    "protectedByControl": "protects",
    "scoredByControl": "technique score",
    "exploitedThrough": "exploitation technique",
    "primaryImpactOf": "primary impact",
    "secondaryImpactOf": "secondary impact",
    "relatedFrameworkEntry": "related to",
}


@dataclass(frozen=True)
class SectionItem:
    """One thing listed: its text (``AC-04 Information Flow Enforcement``), link and a note."""

    key: str
    text: str
    url: str | None = None
    note: str = ""


@dataclass
class ControlSection:
    """One section of the page, for every technique: release, total and the items per technique."""

    key: str  # nist-800-53, cloud, car, kev
    heading: str
    title: str
    url: str
    release: str
    unit: str  # what one item is, plural: "controls"
    total: int = 0
    items: dict[str, list[SectionItem]] = field(default_factory=dict)  # technique ID -> items

    def of(self, attack_id: str) -> list[SectionItem]:
        return self.items.get(attack_id, [])

    @property
    def empty(self) -> str:
        return f"No {self.unit} are mapped to this (sub)technique."


def load_sections(target, sources: dict, technique: str | None = None) -> list[ControlSection]:
    """The sections whose source the store holds (``sources``: the page model's SourceReleases by
    kind), filled for ``technique`` or, when None, for every technique."""
    params = {} if technique is None else {"technique": technique}
    files = sources.get("mappings", [])
    by_framework: dict[str, list] = defaultdict(list)
    for source in files:  # version: "nist_800_53 rev5 (ATT&CK 16.1 enterprise)"
        framework, _, rest = (source.version or "").partition(" ")
        by_framework[framework].append((rest.partition(" (")[0], rest, source))
    totals = {
        (str(r["framework"]), str(r.get("framework_version") or "")): int(r["pairs"])
        for r in (rows(target, "report-control-totals") if files or sources.get("car") else [])
    }
    sections = []
    if by_framework.get("nist_800_53"):
        versions = by_framework["nist_800_53"]
        version, described, source = max(versions, key=lambda v: (_attack_key(v[1]), v[0]))
        section = ControlSection(
            "nist-800-53", "Security Controls", "NIST SP 800-53 controls", MAPPINGS_EXPLORER,
            f"{described} (CTID Mappings Explorer; built {source.built})", "controls",
        )
        section.total = totals.get(("nist_800_53", version), 0)
        found = rows(target, "report-controls", framework="nist_800_53", **params)
        _fill(section, [r for r in found if str(r["framework_version"]) == version])
        sections.append(section)
    clouds = [f for f in CLOUD_FRAMEWORKS if by_framework.get(f)]
    if clouds:
        described = "; ".join(f"{f} {v[1]}" for f in clouds for v in by_framework[f])
        section = ControlSection(
            "cloud", "Security Controls", "Cloud security controls (AWS, Azure, GCP, M365)", MAPPINGS_EXPLORER,
            f"{described} (CTID Mappings Explorer)", "cloud security controls",
        )
        section.total = sum(n for (f, _), n in totals.items() if f in clouds)
        found = [r for f in clouds for r in rows(target, "report-controls", framework=f, **params)]
        _fill(section, found, prefix=True)
        sections.append(section)
    if sources.get("car"):
        section = ControlSection(
            "car", "Technical Controls (Analytics)", "MITRE Cyber Analytics Repository (CAR)", CAR_SITE,
            "; ".join(s.describe() for s in sources["car"]), "CAR analytics",
        )
        section.total = sum(n for (f, _), n in totals.items() if f == "car")
        _fill_car(section, rows(target, "report-car", **params))
        sections.append(section)
    if by_framework.get("kev"):
        section = ControlSection(
            "kev", "Exploited Vulnerabilities", "Known exploited vulnerabilities (CISA KEV)", MAPPINGS_EXPLORER,
            "; ".join(f"kev {v[1]}" for v in by_framework["kev"]) + " (CTID Mappings Explorer)", "exploited vulnerabilities",
        )
        section.total = sum(n for (f, _), n in totals.items() if f == "kev")
        _fill(section, rows(target, "report-controls", framework="kev", **params), cve=True)
        sections.append(section)
    return sections


def _attack_key(described: str) -> tuple[int, ...]:
    """``rev5 (ATT&CK 16.1 enterprise)`` -> (16, 1)."""
    version = described.partition("ATT&CK ")[2].partition(" ")[0]
    return tuple(int(p) if p.isdigit() else 0 for p in version.split("."))


def _fill(section: ControlSection, found: list[dict], prefix: bool = False, cve: bool = False) -> None:
    notes: dict[tuple[str, str], dict[str, None]] = defaultdict(dict)
    texts: dict[tuple[str, str], tuple[str, str | None]] = {}
    for row in found:
        technique, ident = str(row["technique"]), str(row["control_id"])
        framework = str(row["framework"])
        key = f"{framework}/{ident}" if prefix else ident
        name = str(row.get("control") or "")
        text = f"{ident} {name}".strip() if not prefix else f"{framework}: {name or ident}"
        url = CVE_RECORD + ident if cve else None
        texts[technique, key] = (text, url)
        notes[technique, key][_EDGE_TEXT.get(str(row["mapping_edge"]), str(row["mapping_edge"]))] = None
        if row.get("mapped_id"):
            notes[technique, key][f"{row['mapped_id']} revoked by {technique}"] = None
    _add_items(section, texts, notes)


def _fill_car(section: ControlSection, found: list[dict]) -> None:
    levels: dict[tuple[str, str], dict[str, None]] = defaultdict(dict)
    texts: dict[tuple[str, str], tuple[str, str | None]] = {}
    for row in found:
        technique, ident = str(row["technique"]), str(row["analytic_id"])
        texts[technique, ident] = (f"{ident} {row.get('title') or ''}".strip(), f"{CAR_SITE}analytics/{ident}/")
        if row.get("coverage_level"):
            levels[technique, ident][f"coverage {row['coverage_level']}"] = None
        if row.get("mapped_id"):
            levels[technique, ident][f"{row['mapped_id']} revoked by {technique}"] = None
    _add_items(section, texts, levels)


def _add_items(
    section: ControlSection,
    texts: dict[tuple[str, str], tuple[str, str | None]],
    notes: dict[tuple[str, str], dict[str, None]],
) -> None:
    """One item per (technique, key), in order, its notes in the order first met."""
    for (technique, key), (text, url) in sorted(texts.items()):
        note = ", ".join(notes[technique, key])
        section.items.setdefault(technique, []).append(SectionItem(key, text, url, f" ({note})" if note else ""))

