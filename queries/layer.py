"""ATT&CK Navigator layers (layer format 4.5) of the coverage the graph holds: the heat maps.

``attack-kg layer --score sigma|d3fend|mitigations|atomic|combined|nist-800-53|car|kev [--group G0016]
[--domain enterprise|mobile|ics] -o layer.json`` writes one layer. What a score counts is what
the coverage page counts (``queries/coverage_model.py``, one page model for both):

- ``sigma``: Sigma rule files tagged with exactly the technique (``attack.t1204.001``);
- ``d3fend``: distinct D3FEND defensive techniques of D3FEND's artifact inference
  (``akg:counteredBy``), the page's D3FEND list;
- ``mitigations``: ATT&CK mitigations that mitigate the technique (STIX ``mitigates``);
- ``atomic``: Atomic Red Team tests of the technique;
- ``combined``: how many of those kinds (of the ones loaded in the store) cover the technique at
  all, 0 to 4: "is it detected, countered, mitigated, tested";
- ``nist-800-53``, ``car``, ``kev``: the page's control sections (``queries/control_sections.py``):
  NIST SP 800-53 controls of the newest revision, CAR analytics, KEV CVEs mapped to the technique.

The layer has every current (neither revoked nor deprecated) technique of the domain, scored,
0 included, since an uncovered technique is what a heat map is for. With ``--group`` only the
techniques the group uses (ATT&CK ``uses``, as the Navigator's own group layers) are in the
layer, scored the same way; every other technique is left out of it, so the Navigator shows it
unscored and uncoloured, and sub-techniques the group uses are expanded (``annotated``).

The layer is what the Navigator itself exports (``ViewModel.serialize`` of attack-navigator
5.x, layer format 4.5): every top-level field, one technique entry per technique and tactic
(``tactic`` set, as the Navigator writes them), ``versions.attack`` the loaded ATT&CK version
(the Navigator reads its leading number). Each technique carries all loaded counts as
``metadata``, a ``comment`` saying what was counted, and a link to its ATT&CK page; the layer's
``description``, ``metadata`` and ``legendItems`` say what the score counts and which releases.
The gradient runs red (0) through yellow to green at ``maxValue``: for counts, the 90th
percentile of the positive scores (at least 1; larger scores get the top colour), for
``combined`` the number of kinds loaded.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Sequence

from attackkg.builders.base import InputError, package_version
from attackkg.builders.files import write_text
from attackkg.ontology.namespaces import ATTACK_DOMAINS
from attackkg.queries import rows
from attackkg.queries.coverage_model import Coverage, TechniqueCoverage, group_id_of, load_coverage

LAYER_VERSION = "4.5"
NAVIGATOR_VERSION = "5.1.0"
DOMAINS = ATTACK_DOMAINS
SCORES = ("sigma", "d3fend", "mitigations", "atomic", "combined")
# Scores by a control section of the page (queries/control_sections.py, issue 13); not in combined.
CONTROL_SCORES = ("nist-800-53", "car", "kev")
LAYER_SCORES = SCORES + CONTROL_SCORES

# Navigator's red-yellow-green preset, as it exports colours (8-digit hex, alpha included).
RED, YELLOW, GREEN = "#ff6666ff", "#ffe766ff", "#8ec843ff"

# kind -> (source kind that must be loaded, what one unit is, plural, how it is counted)
KINDS = {
    "sigma": (
        "sigma",
        "Sigma rule file",
        "Sigma rule files",
        "Sigma rule files tagged with exactly this technique (attack.tNNNN[.NNN])",
    ),
    "d3fend": (
        "countermeasures",
        "D3FEND technique",
        "D3FEND techniques",
        "distinct D3FEND defensive techniques mapped to this technique by D3FEND's artifact inference",
    ),
    "mitigations": (
        "attack",
        "ATT&CK mitigation",
        "ATT&CK mitigations",
        "ATT&CK mitigations that mitigate this technique",
    ),
    "atomic": (
        "atomic",
        "Atomic test",
        "Atomic tests",
        "Atomic Red Team tests of this technique",
    ),
}
# Scores by a control section, as KINDS: (source kind that must be loaded, one unit, plural, how counted).
CONTROL_SCORE_KINDS = {
    "nist-800-53": (
        "mappings",
        "NIST SP 800-53 control",
        "NIST SP 800-53 controls",
        "NIST SP 800-53 controls (the newest revision in the store) CTID maps to this technique",
    ),
    "car": ("car", "CAR analytic", "CAR analytics", "MITRE CAR analytics whose coverage names this technique"),
    "kev": (
        "mappings",
        "exploited vulnerability",
        "exploited vulnerabilities",
        "CVEs of CISA's KEV catalogue CTID maps to this technique (exploitation technique or impact)",
    ),
}


def _kind(score: str) -> tuple[str, str, str, str]:
    return KINDS.get(score) or CONTROL_SCORE_KINDS[score]


def counts(page: TechniqueCoverage) -> dict[str, int]:
    """The four counts of one technique, by kind."""
    return {
        "sigma": len(page.sigma_rules),
        "d3fend": len(page.countermeasures),
        "mitigations": len(page.mitigations),
        "atomic": len(page.atomic_tests),
    }


def loaded_kinds(coverage: Coverage) -> list[str]:
    """The kinds whose source is in the store (mitigations come with ATT&CK)."""
    return [kind for kind, (source, *_rest) in KINDS.items() if coverage.loaded(source)]


def score_of(page: TechniqueCoverage, score: str, kinds: Sequence[str]) -> int:
    """The technique's score: one count, or for ``combined`` how many kinds have at least one."""
    if score in CONTROL_SCORES:
        return len(page.controls.get(score, ()))
    found = counts(page)
    if score == "combined":
        return sum(1 for kind in kinds if found[kind] > 0)
    return found[score]


def scale_max(scores: Sequence[int]) -> int:
    """The gradient's top: the 90th percentile (nearest rank) of the positive scores, at least 1."""
    positive = sorted(s for s in scores if s > 0)
    if not positive:
        return 1
    rank = max(1, math.ceil(0.9 * len(positive)))
    return max(1, positive[rank - 1])


def build_layer(
    target,
    score: str,
    group: str | None = None,
    domain: str = "enterprise",
    coverage: Coverage | None = None,
    direct_only: bool = False,
) -> dict:
    """The layer as a JSON-ready dict. ``coverage`` (from :func:`load_coverage`) may be given to
    make several layers from one read of the store. With ``group``, the group's techniques as
    ATT&CK counts them: its own uses and its attributed campaigns' (``direct_only``: its own)."""
    if score not in LAYER_SCORES:
        raise InputError(f"unknown score {score!r}; use one of {', '.join(LAYER_SCORES)}")
    if domain not in DOMAINS and domain not in DOMAINS.values():
        raise InputError(f"unknown ATT&CK domain {domain!r}; use one of {', '.join(DOMAINS)}")
    domain_id = DOMAINS.get(domain, domain)
    coverage = coverage if coverage is not None else load_coverage(target, telemetry=False, controls=score in CONTROL_SCORES)
    kinds = loaded_kinds(coverage)
    if score in CONTROL_SCORES and not any(section.key == score for section in coverage.control_sections):
        what = {"car": "MITRE CAR (build with --car)", "kev": "KEV mapping file (build with --mappings)"}
        raise InputError(f"cannot score by {score}: the store holds no {what.get(score, 'NIST SP 800-53 mapping file (build with --mappings)')}")
    if score != "combined" and score not in kinds and score not in CONTROL_SCORES:
        source = KINDS[score][0]
        what = "the D3FEND countermeasures (build with --d3fend)" if source == "countermeasures" else f"{source} data"
        raise InputError(f"cannot score by {score}: the store holds no {what}")

    pages = [p for p in coverage.techniques.values() if p.domain == domain_id and p.current]
    if not pages:
        raise InputError(f"no ATT&CK {domain_id} release in the store: build one with --attack")
    graphs = sorted({p.graph for p in pages if p.graph})
    releases = {s.graph: s for s in coverage.sources.get("attack", [])}
    if len(graphs) > 1:
        versions = ", ".join(releases[g].version or g if g in releases else g for g in graphs)
        raise InputError(f"several ATT&CK {domain_id} releases in the store ({versions}); build one per store")
    release = releases.get(graphs[0]) if graphs else None
    attack_version = (release.version if release else None) or ""

    group_row = None
    if group is not None:
        params = {"group": group, **({"direct_only": "true"} if direct_only else {})}
        group_rows = [r for r in rows(target, "report-group", **params) if str(r.get("graph")) in graphs]
        group_id_of(group_rows, group, f"the {domain_id} release")
        group_row = group_rows[0]
        used = {str(r["technique"]) for r in group_rows if r.get("technique")}
        through_campaigns = used - {str(r["technique"]) for r in group_rows if str(r.get("via")) == "direct"}
        pages = [p for p in pages if p.attack_id in used]

    scores = {p.attack_id: score_of(p, score, kinds) for p in pages}
    top = max(1, len(kinds)) if score == "combined" else scale_max(list(scores.values()))

    techniques = []
    for page in pages:
        entry_comment = _comment(page, score, kinds)
        entry_metadata = [{"name": KINDS[k][2], "value": str(counts(page)[k])} for k in kinds]
        if score in CONTROL_SCORES:
            entry_metadata.append({"name": CONTROL_SCORE_KINDS[score][2], "value": str(scores[page.attack_id])})
        links = [{"label": f"ATT&CK {page.attack_id}", "url": page.url}]
        for _tactic_id, _name, shortname in page.tactics or [("", "", "")]:
            entry: dict = {"techniqueID": page.attack_id}
            if shortname:
                entry["tactic"] = shortname
            entry.update(
                score=scores[page.attack_id],
                color="",
                comment=entry_comment,
                enabled=True,
                metadata=entry_metadata,
                links=links,
                showSubtechniques=False,
            )
            techniques.append(entry)

    what = _what(score, kinds)
    sources = _sources(coverage, release, kinds)
    sources += [(s.title, s.release) for s in coverage.control_sections if s.key == score]
    name = f"attack-kg: {_title(score)}"
    description = f"Score: {what}."
    if group_row is not None:
        group_name = str(group_row.get("group_name") or group_row["group_id"])
        name += f" of {group_name} ({group_row['group_id']})"
        campaigns = sorted({str(r["via"]) for r in group_rows if r.get("via") and str(r["via"]) != "direct"})
        how = (
            "uses itself (ATT&CK 'uses'; --direct-only)"
            if direct_only
            else f"uses, itself or through its attributed campaigns ({len(through_campaigns)} only through "
            f"{', '.join(campaigns) or 'none'})"
        )
        description += (
            f" Only the {len(pages)} techniques {group_name} ({group_row['group_id']}) {how} "
            "are in the layer; the others are left unscored."
        )
    else:
        description += f" Every current {domain_id} technique is scored ({len(pages)}), 0 included."
    description += " Sources: " + "; ".join(f"{label} {value}" for label, value in sources) + "."

    layer_metadata = [{"name": "score", "value": what}]
    layer_metadata += [{"name": label, "value": value} for label, value in sources]
    layer_metadata.append({"name": "generated by", "value": f"attack-kg {package_version()}"})
    return {
        "name": name,
        "versions": _versions(attack_version),
        "domain": domain_id,
        "description": description,
        "filters": {"platforms": _platforms(target, domain_id)},
        "sorting": 0,
        "layout": {
            "layout": "side",
            "aggregateFunction": "average",
            "showID": True,
            "showName": True,
            "showAggregateScores": False,
            "countUnscored": False,
            "expandedSubtechniques": "annotated" if group_row is not None else "none",
        },
        "hideDisabled": False,
        "techniques": techniques,
        "gradient": {"colors": [RED, YELLOW, GREEN], "minValue": 0, "maxValue": top},
        "legendItems": _legend(score, top, kinds),
        "metadata": layer_metadata,
        "links": [],
        "showTacticRowBackground": False,
        "tacticRowBackground": "#dddddd",
        "selectTechniquesAcrossTactics": True,
        "selectSubtechniquesWithParent": False,
        "selectVisibleTechniques": False,
    }


def _versions(attack_version: str) -> dict[str, str]:
    """Navigator reads the first number of ``attack`` (``18.1`` -> ATT&CK v18); a version with no
    number (a bundle that does not say its release) is left out, which the Navigator takes as
    its current ATT&CK, rather than written in a form it cannot read."""
    versions = {"attack": attack_version} if re.search(r"\d", attack_version) else {}
    return {**versions, "navigator": NAVIGATOR_VERSION, "layer": LAYER_VERSION}


def _title(score: str) -> str:
    return "coverage by kind (combined)" if score == "combined" else f"{_kind(score)[2]} per technique"


def _what(score: str, kinds: Sequence[str]) -> str:
    if score == "combined":
        listed = ", ".join(KINDS[k][2] for k in kinds)
        return f"how many kinds of coverage the technique has at least one of, 0 to {len(kinds)} ({listed})"
    return _kind(score)[3]


def _comment(page: TechniqueCoverage, score: str, kinds: Sequence[str]) -> str:
    found = {**counts(page), **{key: len(items) for key, items in page.controls.items()}}
    if score == "combined":
        parts = [f"{KINDS[k][2]}: {found[k]}" for k in kinds]
        return f"{score_of(page, score, kinds)} of {len(kinds)} kinds covered ({'; '.join(parts)})"
    items = {
        "sigma": [r.path for r in page.sigma_rules],
        "d3fend": [f"{c.label} ({c.d3fend_id})" if c.d3fend_id else c.label for c in page.countermeasures],
        "mitigations": [f"{m.mitigation_id} {m.name}" for m in page.mitigations],
        "atomic": [t.shown for t in page.atomic_tests],
        **{key: [item.text for item in found] for key, found in page.controls.items()},
    }[score]
    unit = _kind(score)[1] if found[score] == 1 else _kind(score)[2]
    text = f"{found[score]} {unit}"
    if items:
        shown = items[:10]
        more = f"; and {len(items) - 10} more" if len(items) > 10 else ""
        text += ": " + "; ".join(shown) + more
    return text


def _legend(score: str, top: int, kinds: Sequence[str]) -> list[dict[str, str]]:
    if score == "combined":
        unit_one, unit_many = "kind of coverage", "kinds of coverage"
        low, high = f"0 of {len(kinds)} {unit_many}", f"{top} of {len(kinds)} {unit_many}"
        middle = f"1 to {top - 1} of {len(kinds)} {unit_many}" if top > 2 else f"1 {unit_one}"
    else:
        unit_one, unit_many = _kind(score)[1], _kind(score)[2]
        low = f"no {unit_one}"
        high = f"{top} or more {unit_many}" if top > 1 else f"1 or more {unit_many}"
        middle = f"1 to {top - 1} {unit_many}" if top > 2 else f"1 {unit_one}"
    legend = [{"label": low, "color": RED[:7]}]
    if top > 1:
        legend.append({"label": middle, "color": YELLOW[:7]})
    legend.append({"label": high, "color": GREEN[:7]})
    return legend


def _sources(coverage: Coverage, release, kinds: Sequence[str]) -> list[tuple[str, str]]:
    found = [("ATT&CK", release.describe() if release else "unknown")]
    if "d3fend" in kinds:
        found.append(("D3FEND", coverage.release("d3fend")))
    if "sigma" in kinds:
        found.append(("Sigma rules", coverage.release("sigma")))
    if "atomic" in kinds:
        found.append(("Atomic Red Team", coverage.release("atomic")))
    return found


def _platforms(target, domain_id: str) -> list[str]:
    return [str(r["platform"]) for r in rows(target, "report-platforms") if str(r.get("domain")) == domain_id]




def to_json(layer: dict) -> str:
    """The layer as the Navigator's files are: indented JSON, UTF-8."""
    return json.dumps(layer, indent=2, ensure_ascii=False) + "\n"


def write_layer(layer: dict, path: str | os.PathLike) -> None:
    """Write the layer to ``path`` atomically (temporary file and rename)."""
    write_text(path, to_json(layer), what="write the layer")
