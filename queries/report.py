"""The per-technique coverage page (``attack-kg report``) and the index of ``report --all``.

The page model (what is counted, and how it is read from the store) is
:mod:`attackkg.queries.coverage_model`; this module renders it with the Jinja2 templates in
``templates/``: ``page.md.j2`` (the seed's layout, ``../shared/seed/T1204.001.md``, its text kept
as it is so the lists compare line by line), ``page.html.j2`` (the same content as a standalone
HTML document, autoescaped: nothing from the store reaches the page unescaped), and
``index.md.j2`` / ``index.html.j2``. ``write_all`` writes one page per technique and an index
page, each file written to a temporary name and renamed.
"""

from __future__ import annotations

import os
from pathlib import Path

from attackkg.builders.base import InputError
from attackkg.builders.files import write_text
from attackkg.queries.coverage_model import (
    ATOMIC_REPOSITORY,
    D3F,
    D3FEND_MAPPER,
    D3FEND_OFFENSIVE,
    D3FEND_SITE,
    SIGMA_REPOSITORY,
    SIGMA_RULES_TREE,
    AtomicTest,
    Countermeasure,
    Coverage,
    Mitigation,
    SigmaRuleFile,
    SourceRelease,
    TechniqueCoverage,
    Totals,
    clean_description,
    d3fend_release,
    description_runs,
    load_coverage,
    none_text,
    normalize_id,
    status,
)
from attackkg.queries.pages import render_template

FORMATS = ("markdown", "html")
SUFFIX = {"markdown": ".md", "html": ".html"}
INDEX_HEADER = ("ID", "Technique", "Tactic(s)", "D3FEND", "Sigma", "Atomic")


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise InputError(f"unknown report format {fmt!r}; use one of {', '.join(FORMATS)}")


def page_context(coverage: Coverage, attack_id: str) -> dict[str, object]:
    """What the page templates are given for one technique: the page, the store's coverage and
    totals, the texts that are not counts, and the fixed links."""
    from attackkg.queries.telemetry_page import section_of

    page = coverage.techniques[attack_id]
    return {
        "page": page,
        "telemetry": section_of(coverage, attack_id),
        "coverage": coverage,
        "totals": coverage.totals,
        "status": status(page),
        "d3fend_release": d3fend_release(coverage),
        "empty": {kind: none_text(coverage, kind) for kind in ("d3fend", "sigma", "atomic")},
        "description": clean_description(page.description),
        "paragraphs": description_runs(page.description),
        "control_sections": coverage.control_sections,  # NIST 800-53, cloud, CAR, KEV (control_sections.py)
        "title": f"{page.attack_id}: {page.name}",
        "links": {
            "d3fend_site": D3FEND_SITE,
            "d3fend_offensive": D3FEND_OFFENSIVE + page.attack_id + "/",
            "d3fend_mapper": D3FEND_MAPPER,
            "sigma_repository": SIGMA_REPOSITORY,
            "sigma_rules_tree": SIGMA_RULES_TREE,
            "atomic_repository": ATOMIC_REPOSITORY,
            "atomic_tree": ATOMIC_REPOSITORY + "/tree/master/atomics",
        },
    }


def render_markdown(coverage: Coverage, attack_id: str) -> str:
    """The page of one technique in Markdown, in the seed's layout."""
    return render_template("page.md.j2", **page_context(coverage, attack_id))


def render_html(coverage: Coverage, attack_id: str) -> str:
    """The page of one technique as a standalone HTML document, same content as the Markdown."""
    return render_template("page.html.j2", **page_context(coverage, attack_id))


def render(coverage: Coverage, attack_id: str, fmt: str = "markdown") -> str:
    """One page in ``fmt`` (markdown or html)."""
    _check_format(fmt)
    return render_markdown(coverage, attack_id) if fmt == "markdown" else render_html(coverage, attack_id)


def index_context(coverage: Coverage, fmt: str = "markdown") -> dict[str, object]:
    """What the index templates are given: the releases and totals, then per section (current
    techniques, then revoked or deprecated ones) one row of (text, link or None) cells per technique."""
    current = [p for p in coverage.techniques.values() if p.current]
    retired = [p for p in coverage.techniques.values() if not p.current]
    totals = coverage.totals
    suffix = SUFFIX[fmt]

    def cells(page: TechniqueCoverage) -> list[tuple[str, str | None]]:
        note = f" ({status(page)})" if status(page) else ""
        return [
            (page.attack_id, page.attack_id + suffix),
            (page.name + note, None),
            (", ".join(page.tactic_names), None),
            (str(len(page.countermeasures)), None),
            (str(len(page.sigma_rules)), None),
            (str(len(page.atomic_tests)), None),
        ]

    sections = [
        (title, [cells(page) for page in pages])
        for title, pages in (("Techniques", current), ("Revoked or deprecated techniques", retired))
        if pages
    ]
    return {
        "title": "ATT&CK technique coverage",
        "header": INDEX_HEADER,
        "summary": [
            ("MITRE ATT&CK release", coverage.release("attack")),
            ("MITRE D3FEND release", d3fend_release(coverage)),
            ("Sigma rules release", coverage.release("sigma")),
            ("Atomic Red Team release", coverage.release("atomic")),
            ("Techniques", f"{len(current)} current, {len(retired)} revoked or deprecated"),
            ("Total ATT&CK-mapped D3FEND resources", str(totals.d3fend)),
            ("Total ATT&CK-mapped Sigma rules", str(totals.sigma)),
            ("Total ATT&CK-mapped Atomic tests", str(totals.atomic)),
        ],
        "sections": sections,
    }


def render_index(coverage: Coverage, fmt: str = "markdown") -> str:
    """The index of ``--all``: every technique with its counts, linked to its page; current
    techniques first, then revoked or deprecated ones."""
    _check_format(fmt)
    return render_template(f"index{SUFFIX[fmt]}.j2", **index_context(coverage, fmt))


def report(target, technique: str, fmt: str = "markdown") -> str:
    """The page of one technique (``attack-kg report T1204.001``)."""
    attack_id = normalize_id(technique)
    coverage = load_coverage(target, attack_id)
    return render(coverage, attack_id, fmt)


def write_all(target, directory: str | os.PathLike, fmt: str = "markdown") -> list[Path]:
    """One page per technique of the loaded ATT&CK release(s) and ``index.md``/``index.html``
    into ``directory`` (created if missing); returns the files written, the index last."""
    _check_format(fmt)
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


__all__ = [
    "D3F",
    "FORMATS",
    "SUFFIX",
    "AtomicTest",
    "Countermeasure",
    "Coverage",
    "Mitigation",
    "SigmaRuleFile",
    "SourceRelease",
    "TechniqueCoverage",
    "Totals",
    "load_coverage",
    "normalize_id",
    "render",
    "render_html",
    "render_index",
    "render_markdown",
    "report",
    "write_all",
]
