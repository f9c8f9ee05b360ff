"""MITRE Cyber Analytics Repository (CAR): analytics, the techniques they cover, the D3FEND
techniques they implement, and the CAR data model they read.

Input: the CAR repository folder (``analytics/*.yaml``, and ``data_model/*.yaml`` when present),
or its ``analytics`` folder, or a ``.zip`` of the repository as GitHub serves it
(``https://github.com/mitre-attack/car/archive/<commit>.zip``, the pinned source): the same
files, the same graph. The format is CAR's own (``analytics/*.yaml``: ``id``, ``title``,
``coverage``, ``d3fend_mappings``, ``data_model_references``, ...).

Where each triple comes from (subject: the analytic, by its page on CAR's site,
``https://car.mitre.org/analytics/<id>/``)::

    rdf:type akg:CarAnalytic
    dcterms:identifier          id (CAR-2013-02-003)
    rdfs:label                  title
    dcterms:description         description
    akg:analyticPlatform        each of platforms (Windows, Linux, macOS)
    akg:analyticType            each of analytic_types
    akg:informationDomain       information_domain
    akg:analyticCovers          each coverage entry's technique and each of its subtechniques (ATT&CK URL)
    akg:implementsDefensiveTechnique  each d3fend_mappings iri (d3f:ProcessLineageAnalysis, as D3FEND mints it)
    akg:usesDataModelAction     each data_model_references entry's object/action (process/create)
    akg:dataModelField          each data_model_references entry as written (process/create/exe)

A coverage node per analytic and technique (``https://w3id.org/attack-kg/car/coverage/<id>/<T>``)
keeps the level: ``rdf:type akg:CarCoverage``, ``akg:coverageAnalytic``, ``akg:coveredTechnique``,
``akg:coveredAttackId`` (the ID as CAR writes it), ``akg:coverageLevel`` (Low, Moderate, Medium, High, as written). A data model object
(``.../car/data-model/<object>``, ``akg:CarDataModelObject``) and action
(``.../car/data-model/<object>/<action>``, ``akg:CarDataModelAction``, ``akg:actionOfObject``) have
``rdfs:label`` and, read from ``data_model/<object>.yaml``, ``dcterms:description``.

The graph is ``graph_iri("car", <first 12 hex digits of the input's SHA-256>)``: CAR publishes no
release numbers, so the content names the snapshot (stable across rebuilds, new when CAR changes).

Bad input: lenient by default through :class:`~attackkg.builders.yamlfiles.Collector` (a file
that is not YAML or not shaped like an analytic is skipped and reported, with path:line and key
path); ``strict=True`` raises the first. A missing path or no ``analytics/*.yaml`` is always an
InputError.
"""

from __future__ import annotations

import hashlib
import os
import re
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox

from attackkg.builders.base import LABEL, TYPE, InputError, Report, akg, dcterms, iri, text
from attackkg.builders.yamlfiles import MAX_YAML_BYTES, Collector, Invalid, documents, refuse_large
from attackkg.ontology.namespaces import (
    TECHNIQUE_ID,
    attack_iri,
    car_analytic_iri,
    car_coverage_iri,
    car_data_model_iri,
    d3f_iri,
    graph_iri,
)

SOURCE = "car"
TITLE = "MITRE CAR"
ANALYTIC_ID = re.compile(r"^CAR-\d{4}-\d{2}-\d{3}$")
D3F_NAME = re.compile(r"^d3f:([A-Za-z][A-Za-z0-9_-]*)$")
# An archive member: <prefix>analytics/<name>.yaml or <prefix>data_model/<name>.yaml.
_MEMBER = re.compile(r"^(?P<prefix>(?:[^/]+/)*?)(?P<folder>analytics|data_model)/(?P<name>[^/]+\.yaml)$")


@dataclass
class Analytic:
    id: str
    title: str
    description: str
    platforms: list[str]
    analytic_types: list[str]
    information_domain: str | None
    coverage: list[tuple[str, str | None]]  # (technique ID, level)
    d3fend: list[str]  # D3FEND local names
    data_model: list[str]  # object/action/field as written


@dataclass
class CarData:
    path: str
    analytics: list[Analytic] = field(default_factory=list)
    objects: dict[str, dict] = field(default_factory=dict)  # data model object name -> its YAML
    sha256: str = ""
    counts: Counter = field(default_factory=Counter)
    skipped: list[InputError] = field(default_factory=list)


def _strings(value: object, path: tuple, analytic: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise Invalid("expected a list of strings", path, analytic)
    return [item.strip() for item in value if item.strip()]


def read_analytic(document: object) -> Analytic:
    """One analytic from its YAML document; :class:`Invalid` (with the key path) when misshapen."""
    if not isinstance(document, dict):
        raise Invalid("not a CAR analytic (a mapping with id, title, coverage)")
    analytic_id = document.get("id")
    if not isinstance(analytic_id, str) or not ANALYTIC_ID.match(analytic_id.strip()):
        raise Invalid(f"id is not a CAR analytic ID (CAR-YYYY-MM-NNN): {analytic_id!r}", ("id",))
    analytic_id = analytic_id.strip()
    title = document.get("title")
    if not isinstance(title, str) or not title.strip():
        raise Invalid("title is missing or not text", ("title",), analytic_id)
    description = document.get("description")
    coverage: list[tuple[str, str | None]] = []
    entries = document.get("coverage") or []
    if not isinstance(entries, list):
        raise Invalid("coverage is not a list", ("coverage",), analytic_id)
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise Invalid("a coverage entry is not a mapping", ("coverage", index), analytic_id)
        level = entry.get("coverage")
        level = level.strip() if isinstance(level, str) and level.strip() else None
        technique = entry.get("technique")
        ids = [technique, *(entry.get("subtechniques") or [])]
        for position, technique_id in enumerate(ids):
            if not isinstance(technique_id, str) or not TECHNIQUE_ID.match(technique_id.strip()):
                where = (
                    ("coverage", index, "technique")
                    if position == 0
                    else ("coverage", index, "subtechniques", position - 1)
                )
                raise Invalid(f"not an ATT&CK technique ID: {technique_id!r}", where, analytic_id)
            coverage.append((technique_id.strip(), level))
    d3fend = []
    for index, mapping in enumerate(document.get("d3fend_mappings") or []):
        name = D3F_NAME.match(str(mapping.get("iri", "")).strip()) if isinstance(mapping, dict) else None
        if not name:
            raise Invalid("a d3fend_mappings entry needs iri: d3f:<Name>", ("d3fend_mappings", index), analytic_id)
        d3fend.append(name.group(1))
    return Analytic(
        id=analytic_id,
        title=title.strip(),
        description=description.strip() if isinstance(description, str) else "",
        platforms=_strings(document.get("platforms"), ("platforms",), analytic_id),
        analytic_types=_strings(document.get("analytic_types"), ("analytic_types",), analytic_id),
        information_domain=str(document["information_domain"]).strip() if document.get("information_domain") else None,
        coverage=coverage,
        d3fend=d3fend,
        data_model=_strings(document.get("data_model_references"), ("data_model_references",), analytic_id),
    )


def _files(path: str | os.PathLike) -> tuple[list[tuple[str, str, bytes]], list[tuple[str, str, bytes]]]:
    """The analytics and data model files under ``path`` as (name, shown path, bytes), sorted by
    name: a folder (the repository or its ``analytics`` folder) or a ``.zip`` of the repository
    (GitHub's ``archive/<commit>.zip``, members ``car-<commit>/analytics/*.yaml``)."""
    root = Path(path)
    if not root.exists():
        raise InputError("no such file or folder", path=path)
    if root.is_file():
        return _archive(root)
    analytics_dir = root / "analytics" if (root / "analytics").is_dir() else root
    model_dir = analytics_dir.parent / "data_model"
    found: tuple[list, list] = ([], [])
    for index, folder in enumerate((analytics_dir, model_dir)):
        for file in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
            try:
                with file.open("rb") as stream:
                    found[index].append((file.name, str(file), stream.read(MAX_YAML_BYTES + 1)))
            except OSError as error:
                raise InputError(error.strerror or str(error), path=str(file)) from None
    return found


def _archive(path: Path) -> tuple[list[tuple[str, str, bytes]], list[tuple[str, str, bytes]]]:
    try:
        if not zipfile.is_zipfile(path):
            raise InputError("not a folder or a .zip archive of the CAR repository", path=path)
        with zipfile.ZipFile(path) as archive:
            members = [(info, _MEMBER.match(info.filename)) for info in archive.infolist() if not info.is_dir()]
            prefixes = sorted({m["prefix"] for _, m in members if m and m["folder"] == "analytics"}, key=len)
            found: tuple[list, list] = ([], [])
            for info, match in members:
                if match and prefixes and match["prefix"] == prefixes[0]:
                    with archive.open(info) as stream:
                        raw = stream.read(MAX_YAML_BYTES + 1)
                    found[match["folder"] == "data_model"].append((match["name"], f"{path}/{info.filename}", raw))
    except (OSError, EOFError, zlib.error, zipfile.BadZipFile) as error:
        raise InputError(f"cannot read the archive: {error}", path=path) from None
    return sorted(found[0]), sorted(found[1])


def load(path: str | os.PathLike, strict: bool = False, **options: object) -> CarData:
    """Read the analytics (and the data model) under ``path``; see the module docstring."""
    analytics, model = _files(path)
    if not analytics:
        raise InputError("no CAR analytics (analytics/*.yaml) here", path=path)
    data = CarData(str(path))
    digest = hashlib.sha256()
    errors = Collector(strict, errors=data.skipped, counts=data.counts)
    seen: set[str] = set()
    for name, shown, raw in analytics:
        digest.update(name.encode() + b"\0" + hashlib.sha256(raw).digest())
        try:
            refuse_large(raw, shown, "a CAR analytic is a few KB")
            (document,) = documents(raw, shown)
            analytic = read_analytic(document)
            if analytic.id in seen:
                raise Invalid(
                    f"{analytic.id} again (an analytic ID is read once)", ("id",), analytic.id, kind="duplicate"
                )
            seen.add(analytic.id)
            data.analytics.append(analytic)
        except Invalid as bad:
            errors.add(bad.error(raw, shown), bad.kind)
        except InputError as error:
            errors.add(error, "skipped_files")
    for name, shown, raw in model:
        digest.update(b"data_model/" + name.encode() + b"\0" + hashlib.sha256(raw).digest())
        try:
            (document,) = documents(raw, shown)
        except InputError as error:
            errors.add(error, "skipped_files")
            continue
        if isinstance(document, dict):
            data.objects[name.rsplit(".", 1)[0]] = document
    data.sha256 = digest.hexdigest()
    data.counts["analytics"] = len(data.analytics)
    data.counts["coverage"] = sum(len(a.coverage) for a in data.analytics)
    data.counts["d3fend_mappings"] = sum(len(a.d3fend) for a in data.analytics)
    return data


def graph_name(data: CarData) -> str:
    return graph_iri(SOURCE, data.sha256[:12])


def triples(data: CarData) -> Iterator[ox.Triple]:
    """The analytics' triples (see the module docstring)."""
    description = dcterms("description")
    identifier = dcterms("identifier")
    actions: set[str] = set()
    for analytic in data.analytics:
        node = iri(car_analytic_iri(analytic.id))
        yield ox.Triple(node, TYPE, akg("CarAnalytic"))
        yield ox.Triple(node, identifier, text(analytic.id))
        yield ox.Triple(node, LABEL, text(analytic.title))
        if analytic.description:
            yield ox.Triple(node, description, text(analytic.description))
        for platform in analytic.platforms:
            yield ox.Triple(node, akg("analyticPlatform"), text(platform))
        for kind in analytic.analytic_types:
            yield ox.Triple(node, akg("analyticType"), text(kind))
        if analytic.information_domain:
            yield ox.Triple(node, akg("informationDomain"), text(analytic.information_domain))
        for technique_id, level in analytic.coverage:
            technique = iri(attack_iri(technique_id))
            yield ox.Triple(node, akg("analyticCovers"), technique)
            coverage = iri(car_coverage_iri(analytic.id, technique_id))
            yield ox.Triple(coverage, TYPE, akg("CarCoverage"))
            yield ox.Triple(coverage, akg("coverageAnalytic"), node)
            yield ox.Triple(coverage, akg("coveredTechnique"), technique)
            yield ox.Triple(coverage, akg("coveredAttackId"), text(technique_id))
            if level:
                yield ox.Triple(coverage, akg("coverageLevel"), text(level))
        for name in analytic.d3fend:
            yield ox.Triple(node, akg("implementsDefensiveTechnique"), iri(d3f_iri(name)))
        for reference in analytic.data_model:
            yield ox.Triple(node, akg("dataModelField"), text(reference))
            parts = reference.split("/")
            if len(parts) < 2:
                continue
            obj, action = parts[0], parts[1]
            action_node = iri(car_data_model_iri(obj, action))
            yield ox.Triple(node, akg("usesDataModelAction"), action_node)
            if (obj, action) in actions:
                continue
            first_of_object = not any(seen[0] == obj for seen in actions)
            actions.add((obj, action))
            yield from _data_model(data, obj, action, action_node, first_of_object)


def _data_model(data: CarData, obj: str, action: str, action_node: ox.NamedNode, first: bool) -> Iterator[ox.Triple]:
    object_node = iri(car_data_model_iri(obj))
    model = data.objects.get(obj) or {}
    yield ox.Triple(action_node, TYPE, akg("CarDataModelAction"))
    yield ox.Triple(action_node, LABEL, text(f"{obj} {action}"))
    yield ox.Triple(action_node, akg("actionOfObject"), object_node)
    for entry in model.get("actions") or []:
        if isinstance(entry, dict) and entry.get("name") == action and isinstance(entry.get("description"), str):
            yield ox.Triple(action_node, dcterms("description"), text(entry["description"].strip()))
    if first:
        yield ox.Triple(object_node, TYPE, akg("CarDataModelObject"))
        yield ox.Triple(object_node, LABEL, text(str(model.get("name") or obj)))
        if isinstance(model.get("description"), str):
            yield ox.Triple(object_node, dcterms("description"), text(model["description"].strip()))


def report(data: CarData) -> Report:
    return Report(
        SOURCE,
        data.path,
        graph_name(data),
        version=data.sha256[:12],
        title=f"{TITLE} ({len(data.analytics)} analytics)",
        sha256=data.sha256,
        counts=Counter(data.counts),
        skipped=list(data.skipped),
    )
