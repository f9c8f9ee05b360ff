"""The coverage page model: what ``attack-kg report`` and ``attack-kg layer`` show of each technique,
read from the graph, for any release (the renderers are in ``report.py``, the templates in
``templates/``).

The page follows the one the replaced system printed (``../shared/seed/T1204.001.md``, 2022):
title with ID and name, tactics, ATT&CK's description quoted, then one section per source with a
total over all techniques, a count for this technique and the list of what is counted. Where
the seed said "Last accessed", the page gives the source's release and build time from the
store's metadata graph (``queries/sources.rq``).

What is counted (the seed's definitions; the numbers come from whatever releases are loaded):

- **A technique** is an ``akg:Technique`` of a loaded ATT&CK graph (``graph/attack/...``),
  revoked and deprecated ones included: they exist in the release, and their page says so.
- **D3FEND, "ATT&CK-mapped resources for this (sub)technique"**: the distinct D3FEND defensive
  techniques D3FEND's artifact inference maps to exactly this technique (``akg:counteredBy``,
  made by ``builders/countermeasures.py``; the same set as ``query countermeasures``). The seed's
  11 for T1204.001 is the length of its list. Defensive techniques reached only through an
  ATT&CK mitigation (``akg:counteredByViaMitigation``) are not D3FEND's ATT&CK mapping and are
  not listed. Each links to ``https://d3fend.mitre.org/techniques/d3f:<local name>``, the
  seed's URL form.
- **D3FEND, "Total ATT&CK-mapped resources"**: the sum of that count over every technique of
  the loaded ATT&CK release(s), i.e. the number of distinct (ATT&CK technique, D3FEND
  technique) pairs whose ATT&CK technique exists in the release (the seed's 2328 in 2022).
  The sum of a page's counts over ``--all`` pages equals the total.
- **Sigma, "ATT&CK-mapped resources for this (sub)technique"**: the rule files tagged with
  exactly this technique (``attack.t1204.001``, ``akg:detectsTechnique``), not those tagged
  with its parent or a sub-technique; each file links to
  ``https://github.com/SigmaHQ/sigma/blob/master/<rule path>`` and is shown as
  ``sigma/<rule path>``, as in the seed.
- **Sigma, "Total ATT&CK-mapped rules"**: (rule file, technique) pairs whose technique exists
  in the loaded ATT&CK release; a rule tagged with three techniques counts three times, a tag
  naming an ID the release lacks (``attack.t1685``) not at all.
- **Offensive Security Tests (Atomic Red Team)**: the tests whose file is for exactly this
  technique (``akg:emulates``); the total, (test, technique) pairs whose technique exists in
  the release. The section is always there, also when it lists nothing.

Every count on the page is the length of the list under it; the totals come from
``queries/report-totals.rq`` (a test checks they equal the sums over all techniques).
``query coverage`` counts the same D3FEND techniques, Sigma rules, mitigations and Atomic
tests; its ``sigma_rules_with_subtechniques`` adds the rules on the technique's sub-techniques.

The model is dataclasses (:class:`Coverage` of :class:`TechniqueCoverage` pages, the
:class:`Totals`, the :class:`SourceRelease` of each graph) filled by :func:`load_coverage`,
plus what a page says that is not a count (:func:`status`, :func:`d3fend_release`,
:func:`none_text`, :func:`atomic_note`) and ATT&CK's description cut into paragraphs of text,
links and code (:func:`description_runs`), so that no renderer parses Markdown.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import quote

from attackkg.builders.base import InputError
from attackkg.ontology.namespaces import COUNTERMEASURES_GRAPH, D3F, ENTERPRISE_TACTICS, TECHNIQUE_ID, attack_iri
from attackkg.queries import rows

ATTACK_SITE = "https://attack.mitre.org/"
D3FEND_SITE = "https://d3fend.mitre.org/"
D3FEND_TECHNIQUE = "https://d3fend.mitre.org/techniques/d3f:"  # the seed's form of the link
D3FEND_OFFENSIVE = "https://d3fend.mitre.org/offensive-technique/attack/"
D3FEND_MAPPER = "https://d3fend.mitre.org/tools/attack-mapper"
SIGMA_REPOSITORY = "https://github.com/SigmaHQ/sigma"
SIGMA_RULES_TREE = SIGMA_REPOSITORY + "/tree/master/rules"
SIGMA_BLOB = SIGMA_REPOSITORY + "/blob/master/"
ATOMIC_REPOSITORY = "https://github.com/redcanaryco/atomic-red-team"
ATOMIC_BLOB = ATOMIC_REPOSITORY + "/blob/master/"

_CITATION = re.compile(r"\s*\(Citation:[^)]*\)")
_TACTIC_ORDER = {tactic_id: index for index, tactic_id in enumerate(ENTERPRISE_TACTICS.values())}


# --- the data of a page -----------------------------------------------------------------------


@dataclass(frozen=True)
class SourceRelease:
    """One named graph of the store, as the metadata graph describes it."""

    kind: str
    graph: str
    version: str | None = None
    title: str | None = None
    built: str | None = None
    sha256: str | None = None

    def describe(self) -> str:
        """``1.2.0 (D3FEND ...; built 2026-11-29T02:25:40Z)``, with a SHA-256 prefix when the
        version is unknown."""
        notes = [self.title] if self.title else []
        if (not self.version or self.version == "unknown") and self.sha256:
            notes.append(f"SHA-256 {self.sha256[:12]}")
        if self.built:
            notes.append(f"built {self.built}")
        return (self.version or "unknown") + (f" ({'; '.join(notes)})" if notes else "")


@dataclass(frozen=True)
class Countermeasure:
    """A D3FEND defensive technique mapped to the technique."""

    iri: str
    label: str
    d3fend_id: str | None = None

    @property
    def local_name(self) -> str:
        return self.iri[len(D3F) :] if self.iri.startswith(D3F) else self.iri.rsplit("#", 1)[-1]

    @property
    def url(self) -> str:
        return D3FEND_TECHNIQUE + quote(self.local_name, safe="-._~")


@dataclass(frozen=True)
class SigmaRuleFile:
    """A Sigma rule file tagged with the technique."""

    path: str
    title: str | None = None
    rule_id: str | None = None
    level: str | None = None
    status: str | None = None

    @property
    def url(self) -> str:
        return SIGMA_BLOB + quote(self.path, safe="/-._~")

    @property
    def shown(self) -> str:
        """The path as the seed shows it: ``sigma/rules/...``."""
        return "sigma/" + self.path


@dataclass(frozen=True)
class AtomicTest:
    """An Atomic Red Team test of the technique."""

    guid: str
    name: str
    number: int | None = None
    file: str | None = None
    executor: str | None = None
    platforms: str | None = None
    elevation_required: bool | None = None

    @property
    def url(self) -> str:
        if not self.file:
            return ATOMIC_REPOSITORY
        page = self.file[: -len(".yaml")] + ".md" if self.file.endswith(".yaml") else self.file
        anchor = f"#{github_anchor(self.shown)}" if self.number is not None else ""
        return ATOMIC_BLOB + quote(page, safe="/-._~") + anchor

    @property
    def shown(self) -> str:
        return f"Atomic Test #{self.number} - {self.name}" if self.number is not None else self.name

    @property
    def note(self) -> str:
        """What follows the test's link: platforms, executor, elevation (:func:`atomic_note`)."""
        return atomic_note(self)


@dataclass(frozen=True)
class Mitigation:
    """An ATT&CK mitigation of the technique (for layers and the index)."""

    mitigation_id: str
    name: str


@dataclass
class TechniqueCoverage:
    """Everything one page shows about one technique."""

    attack_id: str
    name: str
    description: str = ""
    domain: str | None = None
    graph: str | None = None
    tactics: list[tuple[str, str, str]] = field(default_factory=list)  # (TA id, name, short name)
    revoked: bool = False
    deprecated: bool = False
    revoked_by: str | None = None
    countermeasures: list[Countermeasure] = field(default_factory=list)
    sigma_rules: list[SigmaRuleFile] = field(default_factory=list)
    atomic_tests: list[AtomicTest] = field(default_factory=list)
    mitigations: list[Mitigation] = field(default_factory=list)
    controls: dict[str, list] = field(default_factory=dict)  # control section key -> its items (control_sections.py)

    @property
    def url(self) -> str:
        return attack_iri(self.attack_id) or ATTACK_SITE

    @property
    def current(self) -> bool:
        """Neither revoked nor deprecated."""
        return not (self.revoked or self.deprecated)

    @property
    def tactic_names(self) -> list[str]:
        return [name for _, name, _ in self.tactics]


@dataclass
class Totals:
    """The "Total ATT&CK-mapped ..." lines: pairs over every technique of the loaded release(s)."""

    techniques: int = 0
    d3fend: int = 0
    sigma: int = 0
    atomic: int = 0
    mitigations: int = 0


@dataclass
class Coverage:
    """What the store holds for the pages: sources, techniques and totals."""

    sources: dict[str, list[SourceRelease]]
    techniques: dict[str, TechniqueCoverage]
    totals: Totals
    # The Telemetry section of the pages (queries/telemetry_page.py; load_coverage(telemetry=False)
    # leaves it unread): technique ID -> TelemetrySection; telemetry_loaded None when not read.
    telemetry: dict = field(default_factory=dict)
    telemetry_loaded: bool | None = None
    # NIST 800-53, cloud, CAR and KEV sections, those whose source is loaded (queries/control_sections.py)
    control_sections: list = field(default_factory=list)

    def loaded(self, kind: str) -> bool:
        """Whether a source of this kind (attack, d3fend, sigma, atomic) is in the store;
        ``countermeasures`` for the D3FEND mappings attack-kg derived (its own graph)."""
        if kind == "countermeasures":
            return any(s.graph == COUNTERMEASURES_GRAPH for s in self.sources.get("derived", []))
        return bool(self.sources.get(kind))

    def release(self, kind: str) -> str:
        """The releases of one kind, described for the page (``not loaded`` when none)."""
        found = self.sources.get(kind) or []
        return "; ".join(source.describe() for source in found) if found else "not loaded in this store"


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading: lower case, punctuation dropped, spaces to
    hyphens (``Atomic Test #1 - OSTap Style`` -> ``atomic-test-1---ostap-style``)."""
    return quote(re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-"), safe="-_")


def normalize_id(technique: str) -> str:
    """``t1204.001`` and ``T1204/001`` -> ``T1204.001``; InputError when it is not a technique ID."""
    value = technique.strip().upper().replace("/", ".")
    if not TECHNIQUE_ID.match(value):
        raise InputError(f"not an ATT&CK technique ID: {technique!r} (expected T1234 or T1234.001)")
    return value


def group_id_of(found: list[dict], group: str, where: str = "the store") -> str:
    """The one group ID among ``report-group.rq`` rows asked for ``group`` (an ID, name or alias);
    InputError when they name no group or several."""
    ids = sorted({str(row["group_id"]) for row in found})
    if not ids:
        raise InputError(f"no ATT&CK group {group!r} (ID, name or alias) in {where}")
    if len(ids) > 1:
        raise InputError(f"{group!r} names several groups ({', '.join(ids)}); give the group ID")
    return ids[0]


def load_coverage(
    target, technique: str | None = None, telemetry: bool = True, controls: bool = True
) -> Coverage:
    """Read the page data from a store (pyoxigraph Store, rdflib Dataset, or Endpoint).

    With ``technique``, only that technique (InputError when the loaded ATT&CK lacks it);
    without, every technique of the loaded ATT&CK release(s). ``telemetry``: also the pages'
    Telemetry sections (queries/telemetry_page.py; layers leave them out: over every technique
    they cost a couple of seconds). ``controls``: also the NIST SP 800-53, cloud, CAR and KEV
    sections (queries/control_sections.py: about 0.7 s of a layer's 3.9 s on the full build with
    every mapping file; a layer reads them only to score by one).
    """
    params = {} if technique is None else {"technique": normalize_id(technique)}
    sources: dict[str, list[SourceRelease]] = defaultdict(list)
    for row in rows(target, "sources"):
        sources[str(row.get("kind"))].append(
            SourceRelease(
                kind=str(row.get("kind")),
                graph=str(row.get("graph")),
                version=_text(row.get("version")),
                title=_text(row.get("title")),
                built=_when(row.get("built")),
                sha256=_text(row.get("sha256")),
            )
        )
    techniques = _techniques(rows(target, "report-techniques", **params))
    # Several releases of a domain in the store: the page names the one it was read from.
    read = {page.graph for page in techniques.values() if page.graph}
    domains = {graph.rsplit("/", 2)[-2] for graph in read}
    sources["attack"] = [
        s for s in sources.get("attack", []) if s.graph in read or s.graph.rsplit("/", 2)[-2] not in domains
    ]
    if technique is not None and not techniques:
        what = "no ATT&CK release is loaded" if not sources.get("attack") else "the loaded ATT&CK release(s) lack it"
        raise InputError(f"no technique {params['technique']}: {what}")
    for row in rows(target, "report-d3fend", **params):
        page = techniques.get(str(row["technique"]))
        if page is not None:
            iri = str(row["d3fend_iri"])
            label = _text(row.get("defensive_technique")) or iri.rsplit("#", 1)[-1]
            page.countermeasures.append(Countermeasure(iri, label, _text(row.get("d3fend_id"))))
    for row in rows(target, "report-sigma", **params):
        page = techniques.get(str(row["technique"]))
        if page is not None:
            page.sigma_rules.append(
                SigmaRuleFile(
                    path=str(row["rule_path"]),
                    title=_text(row.get("rule_title")),
                    rule_id=_text(row.get("rule_id")),
                    level=_text(row.get("level")),
                    status=_text(row.get("status")),
                )
            )
    for row in rows(target, "report-atomic", **params):
        page = techniques.get(str(row["technique"]))
        if page is not None:
            number = row.get("test_number")
            page.atomic_tests.append(
                AtomicTest(
                    guid=str(row.get("guid", "")),
                    name=_text(row.get("test_name")) or str(row.get("guid", "")),
                    number=int(number) if isinstance(number, int) else None,
                    file=_text(row.get("atomic_file")),
                    executor=_text(row.get("executor")),
                    platforms=_text(row.get("platforms")),
                    elevation_required=_flag(row.get("elevation_required")),
                )
            )
    for row in rows(target, "report-mitigations", **params):
        page = techniques.get(str(row["technique"]))
        if page is not None:
            mitigation_id = str(row["mitigation_id"])
            page.mitigations.append(Mitigation(mitigation_id, _text(row.get("mitigation")) or mitigation_id))
    for page in techniques.values():
        page.countermeasures.sort(key=lambda c: (c.label.casefold(), c.iri))
        page.sigma_rules.sort(key=lambda r: r.path)
        page.atomic_tests.sort(key=lambda t: (t.file or "", t.number if t.number is not None else 1 << 30, t.guid))
        page.mitigations.sort(key=lambda m: m.mitigation_id)
    totals_rows = rows(target, "report-totals")
    found = totals_rows[0] if totals_rows else {}
    totals = Totals(
        techniques=int(found.get("techniques", 0)),
        d3fend=int(found.get("d3fend_pairs", 0)),
        sigma=int(found.get("sigma_pairs", 0)),
        atomic=int(found.get("atomic_pairs", 0)),
        mitigations=int(found.get("mitigation_pairs", 0)),
    )
    coverage = Coverage(sources=dict(sources), techniques=techniques, totals=totals)
    if telemetry:
        from attackkg.queries.telemetry_page import add_sections

        add_sections(target, coverage, params.get("technique"))
    if controls:
        from attackkg.queries.control_sections import load_sections  # issue 13: controls, cloud, CAR, KEV

        coverage.control_sections = load_sections(target, coverage.sources, params.get("technique"))
        for section in coverage.control_sections:
            for page in techniques.values():
                page.controls[section.key] = section.of(page.attack_id)
    return coverage


def _techniques(found: Iterable[dict]) -> dict[str, TechniqueCoverage]:
    pages: dict[str, TechniqueCoverage] = {}
    for row in found:
        attack_id = str(row["technique"])
        page = pages.get(attack_id)
        if page is None:
            page = pages[attack_id] = TechniqueCoverage(
                attack_id=attack_id,
                name=_text(row.get("name")) or attack_id,
                description=_text(row.get("description")) or "",
                domain=_text(row.get("domain")),
                graph=_text(row.get("graph")),
                revoked=row.get("revoked") is True,
                deprecated=row.get("deprecated") is True,
                revoked_by=_text(row.get("revoked_by")),
            )
        tactic_id = _text(row.get("tactic_id"))
        if tactic_id and all(tactic_id != t[0] for t in page.tactics):
            page.tactics.append(
                (tactic_id, _text(row.get("tactic")) or tactic_id, _text(row.get("tactic_shortname")) or "")
            )
    for page in pages.values():
        page.tactics.sort(key=lambda t: (_TACTIC_ORDER.get(t[0], len(_TACTIC_ORDER)), t[0]))
    return dict(sorted(pages.items(), key=lambda item: _id_key(item[0])))


def _id_key(attack_id: str) -> tuple[int, int]:
    number, _, sub = attack_id[1:].partition(".")
    return int(number), int(sub or 0)


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _flag(value: object) -> bool | None:
    return value if isinstance(value, bool) else None


def _when(value: object) -> str | None:
    if value is None:
        return None
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return text.replace("+00:00", "Z")


def clean_description(description: str) -> str:
    """ATT&CK's description without its ``(Citation: ...)`` markers (STIX markup, not prose)."""
    return _CITATION.sub("", description).strip()


# One piece of a description paragraph: ("text", words), ("link", text, url) or ("code", text).
Run = tuple[str, ...]

# ATT&CK writes links in Markdown (``[text](https://...)``) and commands as ``<code>...</code>``;
# a link is kept only to an http(s) URL (``[x](javascript:...)`` stays text).
_DESCRIPTION_PIECE = re.compile(r"\[([^\]]+)\]\((https?://[^)\s]+)\)|<code>(.*?)</code>", re.DOTALL)


def description_runs(description: str) -> list[list[Run]]:
    """ATT&CK's description, citations removed, as paragraphs (split at blank lines) of runs:
    plain text, links to http(s) URLs, and ``<code>`` spans; every other character is text."""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", clean_description(description)) if p.strip()]
    out = []
    for paragraph in paragraphs:
        runs: list[Run] = []
        done = 0
        for match in _DESCRIPTION_PIECE.finditer(paragraph):
            if match.start() > done:
                runs.append(("text", paragraph[done : match.start()]))
            if match.group(3) is not None:
                runs.append(("code", match.group(3)))
            else:
                runs.append(("link", match.group(1), match.group(2)))
            done = match.end()
        if done < len(paragraph):
            runs.append(("text", paragraph[done:]))
        out.append(runs)
    return out


# --- what a page says besides counts ----------------------------------------------------------


def status(page: TechniqueCoverage) -> str:
    """``revoked, replaced by T1027.005``, ``revoked``, ``deprecated``, or '' for a current technique."""
    if page.revoked:
        return f"revoked, replaced by {page.revoked_by}" if page.revoked_by else "revoked"
    return "deprecated" if page.deprecated else ""


def d3fend_release(coverage: Coverage) -> str:
    """The D3FEND release, and that the mapping was inferred by attack-kg from it."""
    release = coverage.release("d3fend")
    if coverage.loaded("d3fend") and coverage.loaded("countermeasures"):
        return release + "; mappings inferred from it by attack-kg (D3FEND's artifact rule)"
    return release


def none_text(coverage: Coverage, kind: str) -> str:
    """What a section says when it lists nothing (d3fend, sigma, atomic): not loaded, no
    mappings in the store, or nothing for this technique."""
    names = {"d3fend": "D3FEND", "sigma": "Sigma rules", "atomic": "Atomic Red Team"}
    if not coverage.loaded(kind):
        return f"No resources: {names[kind]} is not loaded in this store."
    if kind == "d3fend" and not coverage.loaded("countermeasures"):
        return "No resources: the store holds no D3FEND countermeasure mappings (rebuild it with --d3fend)."
    if kind == "atomic":
        return "No Atomic Red Team test emulates this (sub)technique."
    return "No resources are mapped to this (sub)technique."


def atomic_note(test: AtomicTest) -> str:
    """`` (windows; command_prompt; elevation required)`` after a test's link, or ''."""
    parts = [part for part in (test.platforms, test.executor) if part]
    if test.elevation_required:
        parts.append("elevation required")
    return f" ({'; '.join(parts)})" if parts else ""
