"""The per-technique coverage page (``attack-kg report``), from the graph, for any release.

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

Output: Markdown in the seed's layout (its text is kept as it is, so the lists compare line by
line), or HTML with every value escaped. ``write_all`` writes one page per technique and an
index page, each file written to a temporary name and renamed.
"""

from __future__ import annotations

import html
import os
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from attackkg.builders.base import InputError
from attackkg.builders.files import write_text
from attackkg.ontology.namespaces import COUNTERMEASURES_GRAPH, D3F, ENTERPRISE_TACTICS, TECHNIQUE_ID, attack_iri
from attackkg.queries import rows

FORMATS = ("markdown", "html")
SUFFIX = {"markdown": ".md", "html": ".html"}

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


def load_coverage(target, technique: str | None = None) -> Coverage:
    """Read the page data from a store (pyoxigraph Store, rdflib Dataset, or Endpoint).

    With ``technique``, only that technique (InputError when the loaded ATT&CK lacks it);
    without, every technique of the loaded ATT&CK release(s).
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
    return Coverage(sources=dict(sources), techniques=techniques, totals=totals)


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


# --- Markdown ---------------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*\[\]<>])")


def md(text: str) -> str:
    """Text for Markdown: the characters that would start markup escaped (``_`` left alone, as
    inside words it is not emphasis and rule paths are full of it)."""
    return _MD_SPECIAL.sub(r"\\\1", text)


def md_url(url: str) -> str:
    """A link target that cannot end the link early (spaces, parentheses and ``<>`` percent-encoded)."""
    return url.replace(" ", "%20").replace("(", "%28").replace(")", "%29").replace("<", "%3C").replace(">", "%3E")


def _md_link(text: str, url: str) -> str:
    return f"[{md(text)}]({md_url(url)})"


def render_markdown(coverage: Coverage, attack_id: str) -> str:
    """The page of one technique in Markdown, in the seed's layout."""
    page = coverage.techniques[attack_id]
    totals = coverage.totals
    lines = [f"# {md(page.attack_id)}: {md(page.name)}"]
    lines.append(f"**MITRE ATT&CK Tactic(s):** {md(', '.join(page.tactic_names)) or 'none'}")
    lines.append("")
    lines.append(f"**MITRE ATT&CK release:** {md(coverage.release('attack'))}")
    lines.append("")
    status = _status(page)
    if status:
        lines += [f"**Status:** {md(status)}", ""]
    lines.append(f"**{_md_link('MITRE ATT&CK Description', page.url)}**")
    lines.append(f"<blockquote>{clean_description(page.description)}</blockquote>")
    lines.append("")

    lines.append("## Policy / Process Controls")
    lines.append(f"### {_md_link('MITRE D3FEND', D3FEND_SITE)}")
    lines.append(f"**Release:** {md(_d3fend_release(coverage))}")
    lines.append("")
    lines.append(f"**Total ATT&CK-mapped resources:** {totals.d3fend}")
    lines.append("")
    lines.append(f"**ATT&CK-mapped resources for this (sub)technique:** {len(page.countermeasures)}")
    lines.append("")
    if page.countermeasures:
        lines.append(
            f"Resources mapped to this (sub)technique can be viewed on "
            f"{_md_link('this page', D3FEND_OFFENSIVE + page.attack_id + '/')} (see also the "
            f"{_md_link('ATT&CK to D3FEND Mapper', D3FEND_MAPPER)} tool):"
        )
        lines.append("")
        lines += [f"* {_md_link(c.label, c.url)}" for c in page.countermeasures]
    else:
        lines.append(_none_text(coverage, "d3fend"))
    lines.append("")

    lines.append("## Technical Controls (Detection Rules)")
    lines.append(f"### {_md_link('Sigma rules public repository', SIGMA_REPOSITORY)}")
    lines.append(f"**Release:** {md(coverage.release('sigma'))}")
    lines.append("")
    lines.append(f"**Total ATT&CK-mapped rules:** {totals.sigma}")
    lines.append("")
    lines.append(f"**ATT&CK-mapped resources for this (sub)technique:** {len(page.sigma_rules)}")
    lines.append("")
    if page.sigma_rules:
        lines.append(
            "Resources mapped to this (sub)technique can be located in the following files within "
            f"{_md_link('this repository', SIGMA_RULES_TREE)}:"
        )
        lines.append("")
        lines += [f"* {_md_link(rule.shown, rule.url)}" for rule in page.sigma_rules]
    else:
        lines.append(_none_text(coverage, "sigma"))
    lines.append("")
    lines.append("")

    lines.append("## Offensive Security Tests")
    lines.append(f"### {_md_link('Atomic Red Team', ATOMIC_REPOSITORY)}")
    lines.append(f"**Release:** {md(coverage.release('atomic'))}")
    lines.append("")
    lines.append(f"**Total ATT&CK-mapped tests:** {totals.atomic}")
    lines.append("")
    lines.append(f"**ATT&CK-mapped tests for this (sub)technique:** {len(page.atomic_tests)}")
    lines.append("")
    if page.atomic_tests:
        lines.append(
            "Tests for this (sub)technique, in the technique's file within "
            f"{_md_link('this repository', ATOMIC_REPOSITORY + '/tree/master/atomics')}:"
        )
        lines.append("")
        lines += [f"* {_md_link(test.shown, test.url)}{md(_test_note(test))}" for test in page.atomic_tests]
    else:
        lines.append(_none_text(coverage, "atomic"))
    return "\n".join(lines) + "\n"


def _status(page: TechniqueCoverage) -> str:
    if page.revoked:
        return f"revoked, replaced by {page.revoked_by}" if page.revoked_by else "revoked"
    return "deprecated" if page.deprecated else ""


def _d3fend_release(coverage: Coverage) -> str:
    """The D3FEND release, and that the mapping was inferred by attack-kg from it."""
    release = coverage.release("d3fend")
    if coverage.loaded("d3fend") and coverage.loaded("countermeasures"):
        return release + "; mappings inferred from it by attack-kg (D3FEND's artifact rule)"
    return release


def _none_text(coverage: Coverage, kind: str) -> str:
    names = {"d3fend": "D3FEND", "sigma": "Sigma rules", "atomic": "Atomic Red Team"}
    if not coverage.loaded(kind):
        return f"No resources: {names[kind]} is not loaded in this store."
    if kind == "d3fend" and not coverage.loaded("countermeasures"):
        return "No resources: the store holds no D3FEND countermeasure mappings (rebuild it with --d3fend)."
    if kind == "atomic":
        return "No Atomic Red Team test emulates this (sub)technique."
    return "No resources are mapped to this (sub)technique."


def _test_note(test: AtomicTest) -> str:
    parts = [part for part in (test.platforms, test.executor) if part]
    if test.elevation_required:
        parts.append("elevation required")
    return f" ({'; '.join(parts)})" if parts else ""


# --- HTML -------------------------------------------------------------------------------------

_MD_LINK = re.compile(r"\[([^\]]+)\]\((https?://[^)\s]+)\)")
_CODE_TAG = re.compile(r"&lt;(/?)code&gt;")


def esc(text: str) -> str:
    """Text and attribute values for HTML: ``& < > " '`` escaped."""
    return html.escape(text, quote=True)


def _a(text: str, url: str) -> str:
    return f'<a href="{esc(url)}">{esc(text)}</a>'


def description_html(description: str) -> str:
    """ATT&CK's description as HTML: escaped, then its Markdown links and ``<code>`` restored,
    one ``<p>`` per paragraph. Nothing from the input reaches the page unescaped."""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", clean_description(description)) if p.strip()]
    out = []
    for paragraph in paragraphs:
        escaped = esc(paragraph)
        escaped = _MD_LINK.sub(lambda m: f'<a href="{m.group(2)}">{m.group(1)}</a>', escaped)
        escaped = _CODE_TAG.sub(r"<\1code>", escaped)
        out.append(f"<p>{escaped}</p>")
    return "\n".join(out)


_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.5}"
    "blockquote{border-left:4px solid #ccc;margin:0;padding:0 1rem;color:#333}"
    "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2rem .5rem;text-align:left}"
)


def _html_document(title: str, body: list[str]) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{esc(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


def _html_list(items: Sequence[str]) -> str:
    return "<ul>\n" + "\n".join(f"<li>{item}</li>" for item in items) + "\n</ul>"


def render_html(coverage: Coverage, attack_id: str) -> str:
    """The page of one technique as a standalone HTML document, same content as the Markdown."""
    page = coverage.techniques[attack_id]
    totals = coverage.totals
    body = [f"<h1>{esc(page.attack_id)}: {esc(page.name)}</h1>"]
    body.append(f"<p><strong>MITRE ATT&amp;CK Tactic(s):</strong> {esc(', '.join(page.tactic_names)) or 'none'}</p>")
    body.append(f"<p><strong>MITRE ATT&amp;CK release:</strong> {esc(coverage.release('attack'))}</p>")
    status = _status(page)
    if status:
        body.append(f"<p><strong>Status:</strong> {esc(status)}</p>")
    body.append(f"<p><strong>{_a('MITRE ATT&CK Description', page.url)}</strong></p>")
    body.append(f"<blockquote>\n{description_html(page.description)}\n</blockquote>")

    body.append("<h2>Policy / Process Controls</h2>")
    body.append(f"<h3>{_a('MITRE D3FEND', D3FEND_SITE)}</h3>")
    body.append(f"<p><strong>Release:</strong> {esc(_d3fend_release(coverage))}</p>")
    body.append(f"<p><strong>Total ATT&amp;CK-mapped resources:</strong> {totals.d3fend}</p>")
    body.append(
        f"<p><strong>ATT&amp;CK-mapped resources for this (sub)technique:</strong> {len(page.countermeasures)}</p>"
    )
    if page.countermeasures:
        body.append(
            f"<p>Resources mapped to this (sub)technique can be viewed on "
            f"{_a('this page', D3FEND_OFFENSIVE + page.attack_id + '/')} (see also the "
            f"{_a('ATT&CK to D3FEND Mapper', D3FEND_MAPPER)} tool):</p>"
        )
        body.append(_html_list([_a(c.label, c.url) for c in page.countermeasures]))
    else:
        body.append(f"<p>{esc(_none_text(coverage, 'd3fend'))}</p>")

    body.append("<h2>Technical Controls (Detection Rules)</h2>")
    body.append(f"<h3>{_a('Sigma rules public repository', SIGMA_REPOSITORY)}</h3>")
    body.append(f"<p><strong>Release:</strong> {esc(coverage.release('sigma'))}</p>")
    body.append(f"<p><strong>Total ATT&amp;CK-mapped rules:</strong> {totals.sigma}</p>")
    body.append(f"<p><strong>ATT&amp;CK-mapped resources for this (sub)technique:</strong> {len(page.sigma_rules)}</p>")
    if page.sigma_rules:
        body.append(
            "<p>Resources mapped to this (sub)technique can be located in the following files within "
            f"{_a('this repository', SIGMA_RULES_TREE)}:</p>"
        )
        body.append(_html_list([_a(rule.shown, rule.url) for rule in page.sigma_rules]))
    else:
        body.append(f"<p>{esc(_none_text(coverage, 'sigma'))}</p>")

    body.append("<h2>Offensive Security Tests</h2>")
    body.append(f"<h3>{_a('Atomic Red Team', ATOMIC_REPOSITORY)}</h3>")
    body.append(f"<p><strong>Release:</strong> {esc(coverage.release('atomic'))}</p>")
    body.append(f"<p><strong>Total ATT&amp;CK-mapped tests:</strong> {totals.atomic}</p>")
    body.append(f"<p><strong>ATT&amp;CK-mapped tests for this (sub)technique:</strong> {len(page.atomic_tests)}</p>")
    if page.atomic_tests:
        body.append(
            "<p>Tests for this (sub)technique, in the technique's file within "
            f"{_a('this repository', ATOMIC_REPOSITORY + '/tree/master/atomics')}:</p>"
        )
        body.append(_html_list([_a(test.shown, test.url) + esc(_test_note(test)) for test in page.atomic_tests]))
    else:
        body.append(f"<p>{esc(_none_text(coverage, 'atomic'))}</p>")
    return _html_document(f"{page.attack_id}: {page.name}", body)


def render(coverage: Coverage, attack_id: str, fmt: str = "markdown") -> str:
    """One page in ``fmt`` (markdown or html)."""
    if fmt not in FORMATS:
        raise InputError(f"unknown report format {fmt!r}; use one of {', '.join(FORMATS)}")
    return render_markdown(coverage, attack_id) if fmt == "markdown" else render_html(coverage, attack_id)


# --- the index --------------------------------------------------------------------------------


def render_index(coverage: Coverage, fmt: str = "markdown") -> str:
    """The index of ``--all``: every technique with its counts, linked to its page; current
    techniques first, then revoked or deprecated ones."""
    current = [p for p in coverage.techniques.values() if p.current]
    retired = [p for p in coverage.techniques.values() if not p.current]
    totals = coverage.totals
    header = ["ID", "Technique", "Tactic(s)", "D3FEND", "Sigma", "Atomic"]
    summary = [
        ("MITRE ATT&CK release", coverage.release("attack")),
        ("MITRE D3FEND release", _d3fend_release(coverage)),
        ("Sigma rules release", coverage.release("sigma")),
        ("Atomic Red Team release", coverage.release("atomic")),
        ("Techniques", f"{len(current)} current, {len(retired)} revoked or deprecated"),
        ("Total ATT&CK-mapped D3FEND resources", str(totals.d3fend)),
        ("Total ATT&CK-mapped Sigma rules", str(totals.sigma)),
        ("Total ATT&CK-mapped Atomic tests", str(totals.atomic)),
    ]
    suffix = SUFFIX[fmt]

    def cells(page: TechniqueCoverage) -> list[tuple[str, str | None]]:
        note = f" ({_status(page)})" if _status(page) else ""
        return [
            (page.attack_id, page.attack_id + suffix),
            (page.name + note, None),
            (", ".join(page.tactic_names), None),
            (str(len(page.countermeasures)), None),
            (str(len(page.sigma_rules)), None),
            (str(len(page.atomic_tests)), None),
        ]

    if fmt == "markdown":
        lines = ["# ATT&CK technique coverage", ""]
        lines += [f"**{md(label)}:** {md(value)}" + "\n" for label, value in summary]
        for title, pages in (("Techniques", current), ("Revoked or deprecated techniques", retired)):
            if not pages:
                continue
            lines += [f"## {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
            for page in pages:
                row = [_md_link(text, link) if link else md(text).replace("|", "\\|") for text, link in cells(page)]
                lines.append("| " + " | ".join(row) + " |")
            lines.append("")
        return "\n".join(lines)
    body = ["<h1>ATT&amp;CK technique coverage</h1>"]
    body += [f"<p><strong>{esc(label)}:</strong> {esc(value)}</p>" for label, value in summary]
    for title, pages in (("Techniques", current), ("Revoked or deprecated techniques", retired)):
        if not pages:
            continue
        body.append(f"<h2>{esc(title)}</h2>")
        body.append("<table>\n<tr>" + "".join(f"<th>{esc(h)}</th>" for h in header) + "</tr>")
        for page in pages:
            row = [_a(text, link) if link else esc(text) for text, link in cells(page)]
            body.append("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>")
        body.append("</table>")
    return _html_document("ATT&CK technique coverage", body)


def report(target, technique: str, fmt: str = "markdown") -> str:
    """The page of one technique (``attack-kg report T1204.001``)."""
    attack_id = normalize_id(technique)
    coverage = load_coverage(target, attack_id)
    return render(coverage, attack_id, fmt)


def write_all(target, directory: str | os.PathLike, fmt: str = "markdown") -> list[Path]:
    """One page per technique of the loaded ATT&CK release(s) and ``index.md``/``index.html``
    into ``directory`` (created if missing); returns the files written, the index last."""
    if fmt not in FORMATS:
        raise InputError(f"unknown report format {fmt!r}; use one of {', '.join(FORMATS)}")
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError(f"cannot create the folder: {error.strerror}", path=directory) from None
    coverage = load_coverage(target)
    if not coverage.techniques:
        raise InputError("no ATT&CK technique in the store: build one with --attack first")
    written = []
    for attack_id in coverage.techniques:
        path = directory / f"{attack_id}{SUFFIX[fmt]}"
        write_text(path, render(coverage, attack_id, fmt))
        written.append(path)
    index = directory / f"index{SUFFIX[fmt]}"
    write_text(index, render_index(coverage, fmt))
    written.append(index)
    return written
