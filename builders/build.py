"""One build: every source into one store, then the derived graphs and the metadata graph.

Generic over the registered source kinds (:mod:`attackkg.builders.registry`, which also writes
down the contract a source module keeps): the sources only read; this module writes.

All inputs are read and checked before the new store is created, and the store is swapped in
only at the end (:func:`attackkg.builders.store.new_generation`), so bad input or an interrupted
build leaves the previous store as it was.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pyoxigraph as ox
import rdflib

from attackkg.builders import registry
from attackkg.builders.base import TYPE, InputError, Report, add_triples, akg, dcterms, package_version, text, typed
from attackkg.builders.oxstore import add_quads
from attackkg.builders.registry import SourceKind
from attackkg.builders.store import as_dataset, check_space_before_reading, estimate_build_bytes, new_generation
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


@dataclass
class Loaded:
    """One source read and checked, not yet written: its kind, its data and what it reports."""

    kind: SourceKind
    data: object
    report: Report


def _given(inputs: Mapping[str, object]) -> tuple[dict[str, list], dict[str, dict[str, object]]]:
    """``build_store`` keywords -> paths per kind and ``load`` options per kind (registry.kinds())."""
    paths: dict[str, list] = {}
    options: dict[str, dict[str, object]] = {}
    by_keyword = {kind.keyword: kind for kind in registry.kinds()}
    by_option = {option.keyword: (kind, option) for kind in registry.kinds() for option in kind.options}
    for keyword, value in inputs.items():
        if keyword in by_keyword:
            kind = by_keyword[keyword]
            if value is None:
                continue
            items = list(value) if kind.several and not isinstance(value, str | os.PathLike) else [value]
            if items:
                paths[kind.name] = items
        elif keyword in by_option:
            kind, option = by_option[keyword]
            options.setdefault(kind.name, {})[option.parameter] = value
        else:
            known = ", ".join([*by_keyword, *by_option, "strict", "progress"])
            raise TypeError(f"unexpected keyword argument {keyword!r}; the build takes {known}")
    return paths, options


def read_sources(*, strict: bool = False, progress: Progress | None = None, **inputs: object) -> list[Loaded]:
    """Read and check every input, before anything is written; raises :class:`InputError`.

    ``inputs`` are each registered kind's keyword (``attack_paths``, ``d3fend_path``, ...: see
    :attr:`SourceKind.keyword`) and its options (``sigma_deprecated``, ...). ``strict`` makes the
    lenient kinds raise their first bad file or item.
    """
    say = progress or (lambda message: None)
    paths, options = _given(inputs)
    if not paths:
        raise InputError("nothing to build: give at least one source")
    loaded: list[Loaded] = []
    for kind in registry.kinds():
        given = paths.get(kind.name)
        if not given:
            continue
        module = kind.module()
        reading = dict(options.get(kind.name, {}))
        if kind.lenient and strict:
            reading["strict"] = True
        if kind.inputs == "together":
            batches = [[given]]
        else:
            expand = getattr(module, "expand", None)
            batches = [expand(path) if expand else [path] for path in given]
        for batch in batches:
            skipped: list[InputError] = []
            for path in batch:
                say(f"reading {kind.title} {path if isinstance(path, str | os.PathLike) else ', '.join(map(str, path))}")
                try:
                    data = module.load(path, **reading)
                except InputError as error:
                    if strict or len(batch) == 1:
                        raise
                    skipped.append(error)  # one bad file of a folder of many: skip and report it
                    continue
                report = module.report(data)
                if report.skipped and next(iter(module.triples(data)), None) is None:
                    raise report.skipped[0]  # every file or item was bad: nothing to build
                report.skipped[:0], skipped = skipped, []
                loaded.append(Loaded(kind, data, report))
            if skipped:
                if len(skipped) == len(batch):
                    raise skipped[0]
                loaded[-1].report.skipped += skipped
    _check_distinct_graphs(loaded)
    return loaded


def fill(store: ox.Store, loaded: list[Loaded], progress: Progress | None = None) -> list[Report]:
    """Build the loaded sources into ``store``: one named graph each, then each source's
    cross-source check, the derived graphs (registry.derivations()) and the metadata graph."""
    say = progress or (lambda message: None)
    reports: list[Report] = []
    graphs: dict[str, list[str]] = {}
    add_quads(store, _quads(loaded, graphs, reports, say))
    for item in loaded:
        check = getattr(item.kind.module(), "check", None)
        if check is not None:
            item.report.warnings += check(item.data, store, graphs)
    for derivation in registry.derivations():
        if any(name in graphs for name in derivation.needs):
            say(f"deriving {derivation.name}")
            derived = derivation.module().build(store)
            if derived is not None:  # a derivation with nothing to record makes no graph
                reports.append(derived)
    say("writing the metadata graph")
    sizes = {
        row["g"].value: int(row["n"].value)
        for row in store.query("SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g")
    }
    for report in reports:
        report.triples = sizes.get(report.graph, 0)
    metadata = ox.NamedNode(METADATA_GRAPH)
    add_quads(store, (ox.Quad(t.subject, t.predicate, t.object, metadata) for t in metadata_triples(reports, build_time())))
    return reports


def _quads(
    loaded: list[Loaded], graphs: dict[str, list[str]], reports: list[Report], say: Progress
) -> Iterator[ox.Quad]:
    """Every loaded source's triples as quads of its named graph, one source after another."""
    for item in loaded:
        say(f"building {item.report.graph}")
        module = item.kind.module()
        name = ox.NamedNode(item.report.graph)
        for triple in module.triples(item.data):
            yield ox.Quad(triple.subject, triple.predicate, triple.object, name)
        graphs.setdefault(item.kind.name, []).append(item.report.graph)
        reports.append(item.report)
        if not hasattr(module, "check"):
            item.data = None  # written: what is read next reads it back from the store


def build_store(
    store_dir: str | os.PathLike, *, strict: bool = False, progress: Progress | None = None, **inputs: object
) -> BuildResult:
    """Build the sources into a new store generation under ``store_dir`` and swap it in.

    ``inputs`` are :func:`read_sources`' keywords, one per registered kind (``attack_paths``,
    ``d3fend_path``, ``sigma_paths``, ``atomic_path``) and the kinds' options
    (``sigma_deprecated``, ``sigma_unsupported``). Raises :class:`InputError` for bad input, and
    nothing is written then. With ``strict`` a bad Sigma rule or Atomic file fails the build;
    otherwise it is skipped and reported.
    """
    started = time.perf_counter()
    given, _options = _given(inputs)
    paths = [(kind, path) for kind, items in given.items() for path in items if isinstance(path, str | os.PathLike)]
    check_space_before_reading(store_dir, estimate_build_bytes(paths))
    loaded = read_sources(strict=strict, progress=progress, **inputs)
    result = BuildResult(store_dir=Path(store_dir))
    with new_generation(store_dir, needs=estimate_build_bytes(_input_paths(loaded))) as store:
        result.reports = fill(store, loaded, progress)
        del store  # the store closes before it is swapped in (see new_generation)
    result.seconds = time.perf_counter() - started
    return result


def build_dataset(*, strict: bool = False, progress: Progress | None = None, **inputs: object) -> rdflib.Dataset:
    """The same build into an in-memory store, as an ``rdflib.Dataset`` (notebooks, experiments)."""
    store = ox.Store()
    fill(store, read_sources(strict=strict, progress=progress, **inputs), progress)
    return as_dataset(store)


def build_source(kind: str | SourceKind, source: object, graph: rdflib.Graph, **options: object) -> Report:
    """Build one source into ``graph`` (any rdflib graph; a whole ``rdflib.Dataset`` gets it in
    the source's named graph); returns its report with the triple count.

    ``source`` is what the kind's ``load`` returned, or its input: a path (a list of paths for a
    kind that reads several together), read with ``options`` (``load``'s own keywords).
    """
    kind = registry.get(kind) if isinstance(kind, str) else kind
    module = kind.module()
    if isinstance(source, str | os.PathLike) or (kind.inputs == "together" and isinstance(source, list | tuple)):
        source = module.load(source, **options)
    report = module.report(source)
    target = graph.graph(rdflib.URIRef(report.graph)) if isinstance(graph, rdflib.Dataset) else graph
    report.triples = add_triples(target, module.triples(source))
    return report


def _input_paths(loaded: list[Loaded]) -> list[tuple[str, str]]:
    """``(source kind, input path)`` of each loaded source, for the store's space estimate."""
    out = []
    for item in loaded:
        paths = getattr(item.data, "paths", None) or [getattr(item.data, "path", None) or item.report.path]
        out += [(item.kind.name, str(path)) for path in paths if path]
    return out


def _check_distinct_graphs(loaded: list[Loaded]) -> None:
    seen: dict[str, str] = {}
    for item in loaded:
        name, where = item.report.graph, item.report.path
        if name in seen:
            raise InputError(f"same source release as {seen[name]} (both would fill {name})", path=where)
        seen[name] = where


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
