"""Sigma rules (YAML) -> RDF: rule metadata, tags as edges to ATT&CK, D3FEND and CVE.

The source module of kind ``sigma`` (``registry``'s contract: ``load``, ``graph_name``,
``triples``, ``report``, and ``check``: the tags against the loaded ATT&CK). Split by job:
which files (``sigma_files``), parsing files into rules (``sigma_rules``), what tags name
(``sigma_tags``); this module reads a rule set and makes its RDF.

Reads rule files (``.yml``/``.yaml``) from folders, recursively, and from a SigmaHQ release zip
(``sigma_all_rules.zip``: members ``rules/...``, ``rules-emerging-threats/...``, ...).

Which files, and the rule root their paths are kept relative to:

- a folder holding rule folders (the SigmaHQ repository root: ``rules*/``, ``deprecated/``,
  ``unsupported/``) is the root; every rule file under its ``rules*/`` folders is taken, those under
  ``deprecated/`` and ``unsupported/`` only when asked (``include_deprecated``,
  ``include_unsupported``); other folders (``tests/``, ``.github/``) are ignored;
- a folder inside a rule folder (``sigma/rules/windows``) takes every rule file under it, with the
  root being the folder above the nearest rule folder (``sigma``), so paths read
  ``rules/windows/...`` whichever folder was given; pointing at ``sigma/deprecated`` itself counts
  as asking for it;
- any other folder is its own root and every rule file under it is taken;
- a zip is read the same way as a repository root, member paths playing the part of file paths
  (a leading folder, as in GitHub's ``sigma-master/rules/...`` archives, is dropped); a zip with no
  rule folder at all is taken whole;
- a single rule file is taken as it is, relative to the root found as for a folder.

Multi-document files (Sigma rule collections). A document with ``action: global`` is merged
(deeply, as sigmac did) into every following document, ``action: reset`` forgets it,
``action: repeat`` repeats the previous document with its own changes. Every other document, after
the merge, is one rule document and must carry ``title`` and ``id``; documents with the same
``id`` in one file are one rule (its metadata from the first, its log sources and lists from all).
A lone global document is the rule itself. So every file in SigmaHQ's data makes exactly one rule.

Tags. Every raw tag is kept as ``akg:tag``; those that name something also become edges (see
``tag_target``). SigmaHQ's tag appendix (v2.1.0) defines the namespaces ``attack``, ``car``,
``cve``, ``d3fend``, ``detection``, ``stp`` and ``tlp``. What the shared data (commit 8eaafff1)
holds: ``attack.*`` 11,517 tags, ``detection.*`` 615, ``cve.*`` 236, ``car.*`` 87, ``stp.*`` 6,
and no ``d3fend.*`` tag at all. Tactic tags also use ATT&CK short names that ATT&CK Enterprise
v18.1 does not have (``attack.stealth``, ``attack.defense-impairment``, 1,500+ tags): they keep
``akg:tagsTacticShortname`` and are reported by ``unresolved_tags``, never dropped.

Lenient by default: a bad file among good ones (YAML syntax error, YAML aliases or a duplicate
key, not a mapping, missing or invalid ``id``/``title``, a duplicate rule ``id``, not UTF-8,
larger than 10 MiB, unreadable, a zip member named ``/...`` or ``../...``) is skipped and recorded
as an ``InputError`` with its path, line and YAML key path (``tags[3]``) in ``data.errors``
(``Report.skipped``), through ``yamlfiles.Collector``; with ``strict=True`` the first one is
raised, and so it is by default for the one rule file a user names. A missing path always raises.
"""

from __future__ import annotations

import hashlib
import os
import re
import zipfile
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox

from attackkg.builders.base import LABEL, TYPE, InputError, Report, akg, dcterms, iri, sha256_of, text, typed
from attackkg.builders.sigma_files import SUFFIXES, RuleFile, rule_files
from attackkg.builders.sigma_rules import (
    LOGSOURCE_PROPERTIES,
    RELATED_GENERIC,
    RELATED_PROPERTIES,
    Related,
    SigmaRule,
    iso_date,
    parse,
)
from attackkg.builders.sigma_tags import (
    ATTACK_KINDS,
    TagTarget,
    tactic_shortname,
    tactic_warning,
    tag_target,
    unresolved_tags,
)
from attackkg.builders.yamlfiles import Collector, Invalid, line_of_value, refuse_large
from attackkg.ontology.namespaces import graph_iri, uuid_iri

__all__ = [
    "ATTACK_KINDS",
    "RELATED_PROPERTIES",
    "Related",
    "SigmaRule",
    "SigmaRules",
    "TagTarget",
    "check",
    "counts",
    "graph_name",
    "iso_date",
    "load",
    "report",
    "tag_target",
    "triples",
    "unresolved_tags",
]

_RELEASE = re.compile(r"(?<![A-Za-z0-9])r\d{4}-\d{2}-\d{2}(?![0-9])")


@dataclass
class SigmaRules:
    """What ``load`` read: the rules, the files it skipped (``errors``) and its notes (``warnings``)."""

    rules: list[SigmaRule]
    paths: list[str]
    errors: list[InputError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    release: str | None = None  # a SigmaHQ release tag found in a zip or folder name: r2025-01-01
    sha256: str | None = None

    @property
    def path(self) -> str:
        """The given paths, comma-separated (for messages)."""
        return ", ".join(self.paths)

    @property
    def version(self) -> str | None:
        """The release tag when a name carries one (``r2025-01-01``), else the newest rule date.

        The newest ``date``/``modified`` among the loaded rules (``2026-07-30`` for the shared
        data) is stable for a given set of rules and orders like releases do; it has no ``r``
        so it is never mistaken for a SigmaHQ release tag. None when no rule has a valid date.
        """
        if self.release:
            return self.release
        dates = [d for r in self.rules for d in (iso_date(r.date), iso_date(r.modified)) if d]
        return max(dates) if dates else None

    @property
    def title(self) -> str:
        if self.release:
            return f"SigmaHQ rules {self.release}"
        version = self.version
        return f"Sigma rules, newest rule date {version}" if version else "Sigma rules"


# --- load ----------------------------------------------------------------------------------------


def load(
    paths: str | os.PathLike | Sequence[str | os.PathLike],
    *,
    strict: bool | None = None,
    include_deprecated: bool = False,
    include_unsupported: bool = False,
) -> SigmaRules:
    """Read Sigma rules from folders, rule files and SigmaHQ release zips (see the module doc).

    Raises InputError for a missing path or a zip that is not one; for a bad rule file, records
    an InputError in ``data.errors`` and goes on (``strict=True``: raises it). ``strict=None``
    (the default) is lenient for rule sets and strict for the one rule file a user names.
    """
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    paths = [Path(p) for p in paths]
    for path in paths:
        if not path.exists():
            raise InputError("no such file or folder", path=path)
    if strict is None:
        strict = len(paths) == 1 and paths[0].suffix in SUFFIXES
    data = SigmaRules(rules=[], paths=[str(p) for p in paths])
    errors = Collector(strict, errors=data.errors)
    seen: set[str] = set()
    first_path: dict[str, str] = {}  # rule id -> path of the rule that has it
    digests: list[tuple[str, bytes]] = []
    with ExitStack() as stack:
        for path in paths:
            try:
                files = rule_files(path, include_deprecated, include_unsupported, stack)
            except OSError as error:
                raise InputError(f"cannot read: {error.strerror or error}", path=path) from error
            for file in files:
                if file.key not in seen:
                    seen.add(file.key)
                    _read(file, data, first_path, digests, errors)
    releases = [m.group(0) for p in paths if (m := _RELEASE.search(p.resolve().name))]
    data.release = max(releases) if releases else None
    if len(paths) == 1 and paths[0].is_file() and zipfile.is_zipfile(paths[0]):
        data.sha256 = sha256_of(paths[0])
    else:
        digest = hashlib.sha256()
        for rel, file_digest in sorted(digests):
            digest.update(rel.encode() + b"\0" + file_digest)
        data.sha256 = digest.hexdigest()
    return data


def _read(
    file: RuleFile, data: SigmaRules, first_path: dict[str, str], digests: list[tuple[str, bytes]], errors: Collector
) -> None:
    """Read one file into ``data``: its rules, or its error (to ``errors``, which raises when strict)."""
    try:
        raw = file.read()  # at most MAX_YAML_BYTES + 1 bytes
    except (OSError, zipfile.BadZipFile, RuntimeError) as error:
        errors.add(InputError(f"cannot read: {error}", path=file.source))
        return
    try:
        refuse_large(raw, file.source, "a Sigma rule is a few KB")
    except InputError as error:
        errors.add(error)
        return
    digests.append((file.rel, hashlib.sha256(raw).digest()))
    try:
        rules = parse(raw, file.rel, file.source, data.warnings)
        for rule in rules:
            if rule.id in first_path:
                line = line_of_value(raw, "id", rule.id)
                message = f"duplicate rule id, already in {first_path[rule.id]}"
                raise InputError(message, path=file.source, line=line, obj=rule.id)
    except Invalid as bad:
        errors.add(bad.error(raw, file.source))
        return
    except InputError as error:
        errors.add(error)
        return
    for rule in rules:
        first_path[rule.id] = rule.path
    data.rules.extend(rules)


# --- graph ---------------------------------------------------------------------------------------


def graph_name(data: SigmaRules) -> str:
    """``graph_iri("sigma", version)``; ``.../graph/sigma/rules`` when no version can be told."""
    return graph_iri("sigma", data.version or "rules")


_SIGMA_RULE = akg("SigmaRule")
_P = {
    name: akg(name)
    for name in (
        "status",
        "level",
        "rulePath",
        "reference",
        "falsePositive",
        "tag",
        "tagsTacticShortname",
        RELATED_GENERIC,
        *RELATED_PROPERTIES.values(),
        *LOGSOURCE_PROPERTIES.values(),
    )
}
_IDENTIFIER = dcterms("identifier")
_DESCRIPTION = dcterms("description")
_CREATOR = dcterms("creator")
_CREATED = dcterms("created")
_MODIFIED = dcterms("modified")


def _date(value: str) -> ox.Literal:
    iso = iso_date(value)
    return typed(iso, "date") if iso else text(value)


def triples(data: SigmaRules) -> Iterator[ox.Triple]:
    """Every rule's triples; pure. Sigma key -> triple:

    - ``id`` -> the rule IRI ``urn:uuid:<id>`` (``uuid_iri``) ``a akg:SigmaRule`` and
      ``dcterms:identifier "<id>"``; the file -> ``akg:rulePath "rules/.../x.yml"``
    - ``title`` -> ``rdfs:label``; ``description`` -> ``dcterms:description``;
      ``author`` -> ``dcterms:creator`` (the text as written)
    - ``status`` -> ``akg:status``; ``level`` -> ``akg:level`` (plain literals: ``test``, ``high``)
    - ``date`` -> ``dcterms:created``; ``modified`` -> ``dcterms:modified`` (``xsd:date`` when a
      valid date in either Sigma form, else the text as written)
    - ``references[]`` -> ``akg:reference``; ``falsepositives[]`` -> ``akg:falsePositive``
    - ``logsource.product/category/service/definition`` -> ``akg:logsourceProduct`` ... (every
      log source of a rule collection)
    - ``related[]`` -> ``akg:derivedFrom`` / ``akg:obsoletes`` / ``akg:mergedFrom`` /
      ``akg:renamedFrom`` / ``akg:similarTo`` the related rule's IRI (by ``type``; all
      ``rdfs:subPropertyOf akg:relatedRule``, which an unknown type gets)
    - ``tags[]`` -> ``akg:tag "<raw tag>"`` each, and the edge ``tag_target`` gives; tactic tags
      also ``akg:tagsTacticShortname "<shortname>"``
    """
    for rule in data.rules:
        node = iri(uuid_iri(rule.id))
        yield ox.Triple(node, TYPE, _SIGMA_RULE)
        yield ox.Triple(node, _IDENTIFIER, text(rule.id))
        yield ox.Triple(node, LABEL, text(rule.title))
        yield ox.Triple(node, _P["rulePath"], text(rule.path))
        for value, prop in (
            (rule.status, _P["status"]),
            (rule.level, _P["level"]),
            (rule.description, _DESCRIPTION),
            (rule.author, _CREATOR),
        ):
            if value is not None:
                yield ox.Triple(node, prop, text(value))
        if rule.date is not None:
            yield ox.Triple(node, _CREATED, _date(rule.date))
        if rule.modified is not None:
            yield ox.Triple(node, _MODIFIED, _date(rule.modified))
        for value in rule.references:
            yield ox.Triple(node, _P["reference"], text(value))
        for value in rule.falsepositives:
            yield ox.Triple(node, _P["falsePositive"], text(value))
        for logsource in rule.logsources:
            for key, value in logsource.items():
                yield ox.Triple(node, _P[LOGSOURCE_PROPERTIES[key]], text(value))
        for related in rule.related:
            prop = _P[RELATED_PROPERTIES.get(related.type, RELATED_GENERIC)]
            yield ox.Triple(node, prop, iri(uuid_iri(related.id)))
        for tag in rule.tags:
            yield ox.Triple(node, _P["tag"], text(tag))
            target = tag_target(tag)
            if target.prop and target.value:
                obj = text(target.value) if target.literal else iri(target.value)
                yield ox.Triple(node, akg(target.prop), obj)
            if target.kind == "tactic":
                yield ox.Triple(node, _P["tagsTacticShortname"], text(tactic_shortname(tag)))


def counts(data: SigmaRules) -> Counter:
    """``rules``, ``status:<s>``, ``level:<l>``, ``tags:<kind>`` (tags per kind),
    ``tags:<kind>:no-iri`` (ATT&CK tags that name nothing this project can mint),
    ``related:<type>``, ``skipped``."""
    out: Counter = Counter()
    out["rules"] = len(data.rules)
    out["skipped"] = len(data.errors)
    for rule in data.rules:
        out[f"status:{rule.status}"] += 1
        out[f"level:{rule.level}"] += 1
        for tag in rule.tags:
            target = tag_target(tag)
            out[f"tags:{target.kind}"] += 1
            if target.kind in ATTACK_KINDS and target.value is None:
                out[f"tags:{target.kind}:no-iri"] += 1
        for related in rule.related:
            out[f"related:{related.type}"] += 1
    return out


def report(data: SigmaRules) -> Report:
    """What was read (:func:`counts`), the files skipped, the warnings (bad dates and related
    entries, tactic short names ATT&CK Enterprise does not list)."""
    return Report(
        source="sigma",
        path=data.path,
        graph=graph_name(data),
        version=data.version,
        title=data.title,
        sha256=data.sha256,
        counts=counts(data),
        skipped=list(data.errors),
        warnings=[*data.warnings, *tactic_warning(data.rules)],
    )


def check(data: SigmaRules, store: ox.Store, graphs: Mapping[str, Sequence[str]]) -> list[str]:
    """The cross-source check: Sigma tags naming ATT&CK IDs absent from the ATT&CK release(s) of
    this build (``graphs["attack"]``), one warning per tag; none when no ATT&CK was built."""
    attack_graphs = graphs.get("attack", [])
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
    for path, tag in unresolved_tags(data, known):
        if tactic_shortname(tag) in shortnames:
            continue  # a tactic of the loaded release by its short name (joined by builders/revocations.py)
        by_tag.setdefault(tag, []).append(path)
    return [
        f"tag {tag} names no object of the loaded ATT&CK release; kept on {len(paths)} rule(s), e.g. {paths[0]}"
        for tag, paths in sorted(by_tag.items(), key=lambda item: (-len(item[1]), item[0]))
    ]
