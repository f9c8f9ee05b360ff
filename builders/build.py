"""One build: every source into one store, then the derived graphs and the metadata graph.

All inputs are read and checked before the new store is created, and the store is swapped in
only at the end (:func:`attackkg.builders.store.new_generation`), so bad input or an interrupted
build leaves the previous store as it was.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pyoxigraph as ox
import rdflib

from attackkg.builders import attack
from attackkg.builders.base import TYPE, InputError, Report, add_triples, akg, dcterms, package_version, text, typed
from attackkg.builders.store import as_dataset, new_generation
from attackkg.ontology.namespaces import METADATA_GRAPH, VOID

Progress = Callable[[str], None]


@dataclass
class BuildResult:
    """What a build did: one report per graph, where the store is, how long it took."""

    store_dir: Path
    reports: list[Report] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def triples(self) -> int:
        return sum(report.triples for report in self.reports)


def build_time() -> datetime:
    """Now, or ``SOURCE_DATE_EPOCH`` when set (reproducible builds)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        try:
            return datetime.fromtimestamp(int(epoch), tz=timezone.utc)
        except ValueError:
            raise InputError(f"SOURCE_DATE_EPOCH must be whole seconds, not {epoch!r}") from None
    return datetime.now(tz=timezone.utc).replace(microsecond=0)


Loaded = tuple  # (builder module, its loaded data)


def read_sources(
    *,
    attack_paths: Sequence[str | os.PathLike] = (),
    d3fend_path: str | os.PathLike | None = None,
    sigma_paths: Sequence[str | os.PathLike] = (),
    atomic_path: str | os.PathLike | None = None,
    strict: bool = False,
    sigma_deprecated: bool = False,
    sigma_unsupported: bool = False,
    progress: Progress | None = None,
) -> list[Loaded]:
    """Read and check every input, before anything is written; raises :class:`InputError`."""
    say = progress or (lambda message: None)
    if not (attack_paths or d3fend_path or sigma_paths or atomic_path):
        raise InputError("nothing to build: give at least one source")
    loaded: list[Loaded] = []
    for path in attack_paths:
        say(f"reading ATT&CK {path}")
        loaded.append((attack, attack.load(path)))
    if d3fend_path is not None:
        from attackkg.builders import d3fend

        say(f"reading D3FEND {d3fend_path}")
        loaded.append((d3fend, d3fend.load(d3fend_path)))
    if sigma_paths:
        from attackkg.builders import sigma

        say(f"reading Sigma rules {', '.join(map(str, sigma_paths))}")
        paths = [Path(p) for p in sigma_paths]
        one_file = len(paths) == 1 and paths[0].suffix in (".yml", ".yaml")
        rules = sigma.load(
            paths,
            strict=strict or one_file,  # lenient is for rule sets, not for the one rule a user names
            include_deprecated=sigma_deprecated,
            include_unsupported=sigma_unsupported,
        )
        if rules.errors and not rules.rules:
            raise rules.errors[0]  # every rule was bad: nothing to build
        loaded.append((sigma, rules))
    if atomic_path is not None:
        from attackkg.builders import atomic

        say(f"reading Atomic Red Team {atomic_path}")
        tests = atomic.load(atomic_path, strict=strict)
        if tests.skipped and not tests.tests:
            raise tests.skipped[0]  # every test was bad: nothing to build
        loaded.append((atomic, tests))
    _check_distinct_graphs(loaded)
    return loaded


def fill(store: ox.Store, loaded: list[Loaded], progress: Progress | None = None) -> list[Report]:
    """Build the loaded sources into ``store``: one named graph each, then the derived
    countermeasures (when D3FEND is there) and the metadata graph."""
    say = progress or (lambda message: None)
    dataset = as_dataset(store)
    reports: list[Report] = []
    for module, data in loaded:
        name = module.graph_name(data)
        say(f"building {name}")
        report = module.build(data, dataset.graph(rdflib.URIRef(name)))
        if module.__name__.endswith(".sigma"):
            attack_graphs = [r.graph for r in reports if r.source == "attack"]
            report.warnings += _unresolved_tags(module, data, store, attack_graphs)
        reports.append(report)
    if any(report.source == "d3fend" for report in reports):
        from attackkg.builders import countermeasures

        say("inferring D3FEND countermeasures")
        reports.append(countermeasures.build(store))
    if any(report.source == "attack" for report in reports):
        from attackkg.builders import revocations

        say("following references to revoked ATT&CK objects")
        followed = revocations.build(store)
        if followed is not None:
            reports.append(followed)
    say("writing the metadata graph")
    sizes = {
        row["g"].value: int(row["n"].value)
        for row in store.query("SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g")
    }
    for report in reports:
        report.triples = sizes.get(report.graph, 0)
    add_triples(dataset.graph(rdflib.URIRef(METADATA_GRAPH)), metadata_triples(reports, build_time()))
    return reports


def build_store(store_dir: str | os.PathLike, *, progress: Progress | None = None, **sources) -> BuildResult:
    """Build the sources into a new store generation under ``store_dir`` and swap it in.

    ``sources`` are :func:`read_sources`' keywords (``attack_paths``, ``d3fend_path``,
    ``sigma_paths``, ``atomic_path``, ``strict``, ...). Raises :class:`InputError` for bad input,
    and nothing is written then. With ``strict`` a bad Sigma rule or Atomic file fails the build;
    otherwise it is skipped and reported.
    """
    started = time.perf_counter()
    loaded = read_sources(progress=progress, **sources)
    result = BuildResult(store_dir=Path(store_dir))
    with new_generation(store_dir) as store:
        result.reports = fill(store, loaded, progress)
    result.seconds = time.perf_counter() - started
    return result


def build_dataset(*, progress: Progress | None = None, **sources) -> rdflib.Dataset:
    """The same build into an in-memory store, as an ``rdflib.Dataset`` (notebooks, experiments)."""
    store = ox.Store()
    fill(store, read_sources(progress=progress, **sources), progress)
    return as_dataset(store)


def _check_distinct_graphs(loaded: list[tuple[object, object]]) -> None:
    seen: dict[str, str] = {}
    for module, data in loaded:
        name = module.graph_name(data)
        where = str(getattr(data, "path", ""))
        if name in seen:
            raise InputError(f"same source release as {seen[name]} (both would fill {name})", path=where)
        seen[name] = where


def _unresolved_tags(sigma, rules, store: ox.Store, attack_graphs: list[str]) -> list[str]:
    """Sigma tags naming ATT&CK IDs absent from the ATT&CK release(s) in this build."""
    if not attack_graphs:
        return []
    known = {
        quad.subject.value
        for graph in attack_graphs
        for quad in store.quads_for_pattern(None, akg("attackId"), None, ox.NamedNode(graph))
    }
    shortnames = {
        quad.object.value
        for graph in attack_graphs
        for quad in store.quads_for_pattern(None, akg("shortname"), None, ox.NamedNode(graph))
    }
    by_tag: dict[str, list[str]] = {}
    for path, tag in sigma.unresolved_tags(rules, known):
        if sigma.tactic_shortname(tag) in shortnames:
            continue  # a tactic of the loaded release by its short name (joined by builders/revocations.py)
        by_tag.setdefault(tag, []).append(path)
    return [
        f"tag {tag} names no object of the loaded ATT&CK release; kept on {len(paths)} rule(s), e.g. {paths[0]}"
        for tag, paths in sorted(by_tag.items(), key=lambda item: (-len(item[1]), item[0]))
    ]


def metadata_triples(reports: list[Report], built_at: datetime) -> list[ox.Triple]:
    """The metadata graph: per named graph, where it came from, version, SHA-256, size, when."""
    version = package_version()
    when = typed(built_at.isoformat().replace("+00:00", "Z"), "dateTime")
    out: list[ox.Triple] = []
    for report in reports:
        graph = ox.NamedNode(report.graph)
        derived = report.source == "derived"
        out += [
            ox.Triple(graph, TYPE, akg("DerivedGraph" if derived else "SourceGraph")),
            ox.Triple(graph, TYPE, ox.NamedNode(VOID + "Dataset")),
            ox.Triple(graph, akg("sourceKind"), text(report.source)),
            ox.Triple(graph, ox.NamedNode(VOID + "triples"), typed(str(report.triples), "integer")),
            ox.Triple(graph, dcterms("created"), when),
            ox.Triple(graph, akg("builtWith"), text(f"attack-kg {version}")),
            ox.Triple(graph, akg("skippedCount"), typed(str(len(report.skipped)), "integer")),
        ]
        if report.title:
            out.append(ox.Triple(graph, dcterms("title"), text(report.title)))
        if report.version:
            out.append(ox.Triple(graph, akg("sourceVersion"), text(report.version)))
        if report.sha256:
            out.append(ox.Triple(graph, akg("sha256"), text(report.sha256)))
        if report.path:
            out.append(ox.Triple(graph, akg("inputPath"), text(report.path)))
        for note in [*map(str, report.skipped), *report.warnings]:
            out.append(ox.Triple(graph, akg("warning"), text(note)))
    return out
