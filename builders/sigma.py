"""Sigma rules (YAML) -> RDF: rule metadata, tags as edges to ATT&CK, D3FEND and CVE.

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
as an ``InputError`` with its path and line in ``data.errors`` (``Report.skipped``); with
``strict=True`` the first one is raised. A missing path always raises.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import uuid
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path, PurePosixPath

import pyoxigraph as ox
import rdflib
import yaml

from attackkg.builders.base import (
    LABEL,
    MAX_YAML_BYTES,
    TYPE,
    InputError,
    RefusedYaml,
    Report,
    SafeYamlLoader,
    add_triples,
    akg,
    dcterms,
    iri,
    sha256_of,
    text,
    typed,
)
from attackkg.ontology.namespaces import (
    ENTERPRISE_TACTICS,
    attack_iri,
    cve_iri,
    d3f_iri,
    graph_iri,
    uuid_iri,
)

__all__ = [
    "RELATED_PROPERTIES",
    "Related",
    "SigmaRule",
    "SigmaRules",
    "TagTarget",
    "build",
    "counts",
    "graph_name",
    "load",
    "tag_target",
    "triples",
    "unresolved_tags",
]

SUFFIXES = (".yml", ".yaml")
OPTIONAL_FOLDERS = ("deprecated", "unsupported")
_RULE_FOLDER = re.compile(r"^rules(?:$|-)")
_RELEASE = re.compile(r"(?<![A-Za-z0-9])r\d{4}-\d{2}-\d{2}(?![0-9])")
_DATE = re.compile(r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})$")

# Sigma ``related[].type`` -> property from this rule to the related rule (Sigma spec, "related").
RELATED_PROPERTIES = {
    "derived": "derivedFrom",
    "obsolete": "obsoletes",
    "merged": "mergedFrom",
    "renamed": "renamedFrom",
    "similar": "similarTo",
}
RELATED_GENERIC = "relatedRule"

# Sigma ``logsource`` key -> property.
LOGSOURCE_PROPERTIES = {
    "product": "logsourceProduct",
    "category": "logsourceCategory",
    "service": "logsourceService",
    "definition": "logsourceDefinition",
}

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


# --- data ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Related:
    """One ``related`` entry: the other rule's id (lower case) and the relation type (lower case)."""

    id: str
    type: str


@dataclass
class SigmaRule:
    """One rule's metadata as written (lists in file order, dates as the text of the file)."""

    id: str
    title: str
    path: str  # relative to the rule root, '/'-separated: rules/windows/.../x.yml
    source: str  # where it was read, for messages: the file, or archive.zip!member
    status: str | None = None
    level: str | None = None
    description: str | None = None
    author: str | None = None
    date: str | None = None
    modified: str | None = None
    references: list[str] = field(default_factory=list)
    falsepositives: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    logsources: list[dict[str, str]] = field(default_factory=list)
    related: list[Related] = field(default_factory=list)


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


# --- tags ----------------------------------------------------------------------------------------


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


def unresolved_tags(data: SigmaRules, known_iris: set[str]) -> list[tuple[str, str]]:
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


# --- load ----------------------------------------------------------------------------------------


# libyaml's safe loader with timestamps kept as their text (``date: 2020-13-45`` must not raise
# from inside yaml; dates are checked by ``iso_date``); aliases, merge keys and duplicate keys are
# refused (base.SafeYamlLoader: a "billion laughs" rule must not expand).
_Loader = SafeYamlLoader


class _Skip(Exception):
    """One bad file (internal): carries the InputError that ``load`` records or raises."""

    def __init__(self, error: InputError) -> None:
        super().__init__(str(error))
        self.error = error


@dataclass
class _File:
    rel: str  # path relative to the rule root
    source: str  # for messages: the path as given, or archive.zip!member
    key: str  # the same file reached twice has the same key (resolved path)
    read: Callable[[], bytes]


def load(
    paths: str | os.PathLike | Sequence[str | os.PathLike],
    *,
    strict: bool = False,
    include_deprecated: bool = False,
    include_unsupported: bool = False,
) -> SigmaRules:
    """Read Sigma rules from folders, rule files and SigmaHQ release zips (see the module doc).

    Raises InputError for a missing path or a zip that is not one; for a bad rule file, records
    an InputError in ``data.errors`` and goes on (``strict=True``: raises it).
    """
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    paths = [Path(p) for p in paths]
    for path in paths:
        if not path.exists():
            raise InputError("no such file or folder", path=path)
    data = SigmaRules(rules=[], paths=[str(p) for p in paths])
    seen: set[str] = set()
    first_path: dict[str, str] = {}  # rule id -> path of the rule that has it
    digests: list[tuple[str, bytes]] = []
    with ExitStack() as stack:
        for path in paths:
            try:
                files = _files(path, include_deprecated, include_unsupported, stack)
            except OSError as error:
                raise InputError(f"cannot read: {error.strerror or error}", path=path) from error
            for file in files:
                if file.key not in seen:
                    seen.add(file.key)
                    _read(file, data, first_path, digests, strict)
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
    file: _File, data: SigmaRules, first_path: dict[str, str], digests: list[tuple[str, bytes]], strict: bool
) -> None:
    """Read one file into ``data``: its rules, or its error (raised when ``strict``)."""
    try:
        raw = file.read()  # at most MAX_YAML_BYTES + 1 bytes
    except (OSError, zipfile.BadZipFile, RuntimeError) as error:
        _record(data, InputError(f"cannot read: {error}", path=file.source), strict)
        return
    if len(raw) > MAX_YAML_BYTES:
        message = f"larger than {MAX_YAML_BYTES >> 20} MiB (a Sigma rule is a few KB); not read"
        _record(data, InputError(message, path=file.source), strict)
        return
    digests.append((file.rel, hashlib.sha256(raw).digest()))
    try:
        rules = _parse(raw, file, data.warnings)
        for rule in rules:
            if rule.id in first_path:
                line = _locate(raw, key="id", value=rule.id)
                message = f"duplicate rule id, already in {first_path[rule.id]}"
                raise _Skip(InputError(message, path=file.source, line=line, obj=rule.id))
    except _Skip as skip:
        _record(data, skip.error, strict)
        return
    for rule in rules:
        first_path[rule.id] = rule.path
    data.rules.extend(rules)


def _record(data: SigmaRules, error: InputError, strict: bool) -> None:
    if strict:
        raise error
    data.errors.append(error)


def _is_rule_folder(name: str) -> bool:
    return bool(_RULE_FOLDER.match(name)) or name in OPTIONAL_FOLDERS


def _wanted(folder: str, include_deprecated: bool, include_unsupported: bool) -> bool:
    if folder == "deprecated":
        return include_deprecated
    if folder == "unsupported":
        return include_unsupported
    return bool(_RULE_FOLDER.match(folder))


def _files(path: Path, include_deprecated: bool, include_unsupported: bool, stack: ExitStack) -> list[_File]:
    """The rule files under one given path, with their paths relative to the rule root, sorted.

    Messages name files by the path as given (``sigma/rules/x.yml``), relative paths by the root.
    """
    resolved = path.resolve()
    if resolved.is_file() and (resolved.suffix.lower() == ".zip" or not resolved.name.lower().endswith(SUFFIXES)):
        if zipfile.is_zipfile(resolved):
            return _zip_files(path, include_deprecated, include_unsupported, stack)
        if resolved.suffix.lower() == ".zip":
            raise InputError("not a zip file", path=path)
    if resolved.is_file():
        root = _root_of(resolved.parent)
        reader = partial(_read_bytes, str(resolved))
        return [_File(resolved.relative_to(root).as_posix(), str(path), str(resolved), reader)]
    children = [c for c in resolved.iterdir() if c.is_dir() and _is_rule_folder(c.name)]
    if children:  # a repository root: its rule folders
        wanted = [c for c in children if _wanted(c.name, include_deprecated, include_unsupported)]
        # rules*/ first, so a rule id that is also in deprecated/ is kept from the live rules
        folders = sorted(wanted, key=lambda c: (c.name in OPTIONAL_FOLDERS, c.name))
        return [f for folder in folders for f in _walk(folder, resolved, path, resolved)]
    return _walk(resolved, _root_of(resolved), path, resolved)


def _root_of(folder: Path) -> Path:
    """The rule root for a folder: above its nearest rule-folder ancestor (itself included)."""
    for candidate in (folder, *folder.parents):
        if _is_rule_folder(candidate.name):
            return candidate.parent
    return folder


def _walk(folder: Path, root: Path, given: Path, resolved: Path) -> list[_File]:
    """Rule files under ``folder`` (resolved); ``given`` is how the user named ``resolved``.

    Plain string paths here: pathlib costs as much as the YAML of a small rule.
    """
    found = []
    root_prefix, resolved_prefix, given_str = str(root) + os.sep, str(resolved) + os.sep, str(given)
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for name in filenames:
            if name.lower().endswith(SUFFIXES):
                file = os.path.join(dirpath, name)
                rel = file[len(root_prefix) :].replace(os.sep, "/")
                source = os.path.join(given_str, file[len(resolved_prefix) :])
                found.append(_File(rel, source, file, partial(_read_bytes, file)))
    return sorted(found, key=lambda f: f.rel)


def _read_bytes(path: str) -> bytes:
    """The file's bytes, at most ``MAX_YAML_BYTES + 1`` of them (``_read`` refuses longer files)."""
    with open(path, "rb") as stream:
        return stream.read(MAX_YAML_BYTES + 1)


def _zip_files(path: Path, include_deprecated: bool, include_unsupported: bool, stack: ExitStack) -> list[_File]:
    try:
        archive = stack.enter_context(zipfile.ZipFile(path))
    except (OSError, zipfile.BadZipFile) as error:
        raise InputError(f"not a readable zip file: {error}", path=path) from error
    members = [n for n in archive.namelist() if n.lower().endswith(SUFFIXES) and not n.endswith("/")]
    chosen: list[tuple[str, str]] = []  # (relative path, member)
    any_rule_folder = False
    for member in members:
        parts = PurePosixPath(member).parts
        for index, part in enumerate(parts[:-1]):
            if _is_rule_folder(part):
                any_rule_folder = True
                if _wanted(part, include_deprecated, include_unsupported):
                    chosen.append(("/".join(parts[index:]), member))
                break
    if not any_rule_folder:
        chosen = [(m, m) for m in members]
    key = str(path.resolve())

    def reader(member: str) -> Callable[[], bytes]:
        def read() -> bytes:
            if _unsafe_member(member):
                raise zipfile.BadZipFile("the member's name is absolute or climbs out with '..'; not read")
            with archive.open(member) as stream:
                return stream.read(MAX_YAML_BYTES + 1)

        return read

    files = (_File(rel, f"{path}!{member}", f"{key}!{member}", reader(member)) for rel, member in chosen)
    return sorted(files, key=lambda f: f.rel)


def _unsafe_member(name: str) -> bool:
    """A zip member named ``/abs/...`` or ``.../../...`` (zip-slip): its path would leave the rule root."""
    path = PurePosixPath(name.replace("\\", "/"))
    return path.is_absolute() or ".." in path.parts or re.match(r"[A-Za-z]:", name) is not None


# --- parse one file ------------------------------------------------------------------------------


def _parse(raw: bytes, file: _File, warnings: list[str]) -> list[SigmaRule]:
    """The rules of one file; raises _Skip with the located InputError when the file is bad."""
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise _Skip(InputError("not UTF-8 text", path=file.source, line=line)) from error
    try:
        documents = list(yaml.load_all(content, Loader=_Loader))
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        message = "; ".join(str(p) for p in (error.context, error.problem) if p) or "YAML error"
        line = mark.line + 1 if mark else None
        message = message if isinstance(error, RefusedYaml) else f"YAML syntax error: {message}"
        raise _Skip(InputError(message, path=file.source, line=line)) from error
    except (yaml.YAMLError, ValueError, TypeError, RecursionError) as error:
        raise _Skip(InputError(f"YAML error: {error}", path=file.source)) from error

    # Rule collections: merge action: global documents into the others (see the module doc).
    merged: list[tuple[int, dict]] = []
    global_doc: dict = {}
    global_index: int | None = None
    for index, document in enumerate(documents):
        if document is None and len(documents) > 1:
            continue
        if not isinstance(document, dict):
            line = _locate(raw, index=index)
            kind = "empty" if document is None else type(document).__name__
            raise _Skip(InputError(f"not a Sigma rule: the document is {kind}, not a mapping", file.source, line))
        action = document.get("action")
        body = {k: v for k, v in document.items() if k != "action"}
        if action == "global":
            global_doc, global_index = _deep_merge(global_doc, body), index
        elif action == "reset":
            global_doc, global_index = {}, None
        elif action == "repeat" and merged:
            merged.append((index, _deep_merge(merged[-1][1], body)))
        else:
            merged.append((index, _deep_merge(global_doc, body)))
    if not merged and global_index is not None:
        merged = [(global_index, global_doc)]
    if not merged:
        raise _Skip(InputError("not a Sigma rule: no YAML document", path=file.source, line=1))

    by_id: dict[str, list[tuple[int, dict]]] = {}
    for index, document in merged:
        rule_id = _rule_id(document, raw, index, file)
        _title(document, raw, index, file)
        by_id.setdefault(rule_id, []).append((index, document))
    return [_rule(rule_id, docs, raw, file, warnings) for rule_id, docs in by_id.items()]


def _deep_merge(base: dict, update: dict) -> dict:
    out = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _rule_id(document: dict, raw: bytes, index: int, file: _File) -> str:
    """Sigma ``id``: must be a UUID; kept lower case (``uuid_iri`` lower-cases it too)."""
    value = document.get("id")
    if value is None:
        raise _Skip(InputError("not a Sigma rule: no 'id'", file.source, _locate(raw, index=index)))
    try:
        if not isinstance(value, str):
            raise ValueError(value)
        return str(uuid.UUID(value.strip()))
    except ValueError:
        line = _locate(raw, index=index, key="id")
        raise _Skip(InputError(f"rule id is not a UUID: {value!r}", file.source, line)) from None


def _title(document: dict, raw: bytes, index: int, file: _File) -> str:
    value = document.get("title")
    if isinstance(value, str | int | float) and not isinstance(value, bool) and str(value).strip():
        return str(value).strip()
    problem = "no 'title'" if value is None else f"title is not text: {value!r}"
    line = _locate(raw, index=index, key="title" if value is not None else None)
    rule_id = document.get("id")
    obj = str(rule_id) if rule_id is not None else None
    raise _Skip(InputError(f"not a Sigma rule: {problem}", file.source, line, obj=obj))


def _rule(rule_id: str, documents: list[tuple[int, dict]], raw: bytes, file: _File, warnings: list[str]) -> SigmaRule:
    first_index, first = documents[0]

    def scalar(key: str) -> str | None:
        for index, document in documents:
            value = document.get(key)
            if value is None:
                continue
            if isinstance(value, list) and key == "author":
                value = ", ".join(str(v).strip() for v in value if v is not None)
            if isinstance(value, list | dict):
                line = _locate(raw, index=index, key=key)
                raise _Skip(InputError(f"'{key}' is not text", file.source, line, obj=rule_id))
            value = str(value).strip()
            return value or None
        return None

    def strings(key: str) -> list[str]:
        out: list[str] = []
        for index, document in documents:
            value = document.get(key)
            items = [] if value is None else value if isinstance(value, list) else [value]
            if isinstance(value, dict) or any(isinstance(v, list | dict) for v in items):
                line = _locate(raw, index=index, key=key)
                raise _Skip(InputError(f"'{key}' is not a list of text", file.source, line, obj=rule_id))
            for item in items:
                item = str(item).strip() if item is not None else ""
                if item and item not in out:
                    out.append(item)
        return out

    rule = SigmaRule(
        id=rule_id,
        title=_title(first, raw, first_index, file),
        path=file.rel,
        source=file.source,
        status=scalar("status"),
        level=scalar("level"),
        description=scalar("description"),
        author=scalar("author"),
        date=scalar("date"),
        modified=scalar("modified"),
        references=strings("references"),
        falsepositives=strings("falsepositives"),
        tags=strings("tags"),
    )
    for key in ("date", "modified"):
        value = getattr(rule, key)
        if value is not None and iso_date(value) is None:
            warnings.append(f"{file.source}: {rule_id}: '{key}' is not a date: {value!r} (kept as text)")
    for index, document in documents:
        logsource = document.get("logsource")
        if logsource is None:
            continue
        if not isinstance(logsource, dict):
            line = _locate(raw, index=index, key="logsource")
            raise _Skip(InputError("'logsource' is not a mapping", file.source, line, obj=rule_id))
        entry = {k: str(logsource[k]).strip() for k in LOGSOURCE_PROPERTIES if logsource.get(k) is not None}
        if entry and entry not in rule.logsources:
            rule.logsources.append(entry)
    for _, document in documents:
        rule.related.extend(_related(document.get("related"), rule, warnings))
    rule.related = list(dict.fromkeys(rule.related))
    return rule


def _related(value: object, rule: SigmaRule, warnings: list[str]) -> list[Related]:
    """Sigma ``related``: a list of ``{id, type}``; a bad entry is left out with a warning."""
    if value is None:
        return []
    out = []
    where = f"{rule.source}: {rule.id}: "
    for entry in value if isinstance(value, list) else [value]:
        if not isinstance(entry, dict):
            warnings.append(f"{where}'related' entry is not a mapping: {entry!r} (left out)")
            continue
        try:
            other = str(uuid.UUID(str(entry.get("id")).strip()))
        except ValueError:
            warnings.append(f"{where}related id is not a UUID: {entry.get('id')!r} (left out)")
            continue
        kind = str(entry.get("type") or "").strip().lower()
        if kind not in RELATED_PROPERTIES:
            warnings.append(f"{where}unknown related type {kind!r} (kept as akg:relatedRule)")
        out.append(Related(other, kind))
    return out


def _locate(raw: bytes, index: int | None = None, key: str | None = None, value: str | None = None) -> int | None:
    """1-based line of document ``index`` (or of its ``key``), or of the first ``key: value`` of any
    document. Only called for a file being reported, so composing it again costs nothing overall."""
    try:
        nodes = list(yaml.compose_all(raw.decode("utf-8-sig"), Loader=yaml.CSafeLoader))
    except (yaml.YAMLError, UnicodeDecodeError, RecursionError):
        return None
    candidates = [nodes[index]] if index is not None and index < len(nodes) else nodes
    for node in candidates:
        if node is None:
            continue
        if key and isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                found = getattr(k, "value", None) == key
                if found and (value is None or str(v.value).strip().lower() == value):
                    return v.start_mark.line + 1
        if index is not None:
            return node.start_mark.line + 1
    return None


def iso_date(value: str | None) -> str | None:
    """``YYYY-MM-DD`` for a Sigma date (``2021-05-12`` or ``2021/05/12``) that is a real date."""
    if not value:
        return None
    match = _DATE.match(value.strip())
    if not match:
        return None
    try:
        return dt.date(*(int(g) for g in match.groups())).isoformat()
    except ValueError:
        return None


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


def _tactic_warning(data: SigmaRules) -> list[str]:
    unknown: Counter = Counter()
    for rule in data.rules:
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


def build(
    source: str | os.PathLike | Sequence[str | os.PathLike] | SigmaRules,
    graph: rdflib.Graph,
    **options: bool,
) -> Report:
    """Load (when given paths; ``options`` go to ``load``) and add the rules' triples to ``graph``."""
    data = source if isinstance(source, SigmaRules) else load(source, **options)
    count = add_triples(graph, triples(data))
    return Report(
        source="sigma",
        path=data.path,
        graph=str(graph.identifier),
        version=data.version,
        title=data.title,
        sha256=data.sha256,
        triples=count,
        counts=counts(data),
        skipped=list(data.errors),
        warnings=[*data.warnings, *_tactic_warning(data)],
    )
