"""Atomic Red Team: one ``akg:AtomicTest`` per test of ``atomics/T*/T*.yaml``.

Input: the repository folder (or its ``atomics`` folder), or a release archive of it (``.zip`` or
``.tar.gz``, members ``atomic-red-team-<tag>/atomics/T*/T*.yaml``, as GitHub serves them). Each
file is one ATT&CK technique (``attack_technique``) with its ``atomic_tests``; the format is
``atomic_red_team/spec.yaml`` of the repository.

Where each triple comes from (subject: the test, ``https://w3id.org/attack-kg/atomic/<auto_generated_guid>``)::

    rdf:type akg:AtomicTest
    rdfs:label                 name
    dcterms:identifier         auto_generated_guid (lower case)
    dcterms:description        description (surrounding white space stripped)
    akg:emulates               the file's attack_technique, as its ATT&CK URL
    akg:atomicTestNumber       1-based position in atomic_tests (Invoke-AtomicTest -TestNumbers)
    akg:atomicFile             "atomics/<T>/<T>.yaml", the file's path in the repository
    akg:supportedPlatform      each of supported_platforms
    akg:executorName           executor.name
    akg:elevationRequired      executor.elevation_required; false when absent, as the spec says
    akg:inputArgument          each key of input_arguments

The named graph is ``graph_iri("atomic", version)``. The version, in order: the ``version``
option; the tag in the archive's top folder (or the folder's own name) ``atomic-red-team-<tag>``,
unless that is a branch (``master``, ``main``); for a GitHub archive of a branch, the first 12
hex digits of the commit GitHub records in the archive (zip comment, tar pax header); else
``"unknown"``. So a tagged release and a branch snapshot are told apart and stay stable across
rebuilds, and a plain checkout is ``atomic/unknown`` unless the caller says which it is.

Tests without an ``auto_generated_guid`` (the repository's CI adds it after a pull request is
merged) are skipped and counted (``counts["missing_guid"]``): an IRI made from the technique and
the position would name a different test as soon as tests are inserted or reordered, and the
GUID is what every other Atomic tool names a test by. Tests whose GUID repeats one already read
are skipped too.

Bad input: by default a file that is not YAML (YAML aliases and duplicate keys are refused, see
``yamlfiles.SafeYamlLoader``), larger than 10 MiB, or not shaped like an Atomic file, is skipped,
and so is a malformed test, each with an :class:`InputError` (path:line, and the YAML key path such
as ``atomic_tests[2].executor``) in ``skipped``; with ``strict=True`` the first one is raised
(``yamlfiles.Collector``). A missing path, an unreadable archive, or no
``atomics/T*/T*.yaml`` at all is always an :class:`InputError`.
"""

from __future__ import annotations

import hashlib
import os
import re
import tarfile
import uuid
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox

from attackkg.builders.base import (
    LABEL,
    TYPE,
    InputError,
    Report,
    akg,
    boolean,
    dcterms,
    iri,
    sha256_of,
    text,
    typed,
)
from attackkg.builders.yamlfiles import MAX_YAML_BYTES, Collector, Invalid, documents, refuse_large
from attackkg.ontology.namespaces import atomic_test_iri, attack_iri, graph_iri

SOURCE = "atomic"
TITLE = "Atomic Red Team"
UNKNOWN_VERSION = "unknown"
BRANCHES = frozenset({"master", "main"})

# atomics/T*/T*.yaml anywhere in an archive (usually under atomic-red-team-<tag>/).
_MEMBER = re.compile(r"^(?P<prefix>(?:[^/]+/)*?)(?P<rel>atomics/T[^/]*/T[^/]*\.yaml)$")
_TOP_FOLDER = re.compile(r"^atomic-red-team-(?P<tag>.+)$")
_ARCHIVE_SUFFIX = re.compile(r"(\.tar\.gz|\.tgz|\.tar\.bz2|\.tar\.xz|\.tar|\.zip)$", re.IGNORECASE)
_COMMIT = re.compile(r"^[0-9a-f]{40}$")


@dataclass(frozen=True)
class AtomicTest:
    """One entry of a file's ``atomic_tests``, as read."""

    guid: str
    technique: str
    number: int
    name: str
    file: str
    description: str | None = None
    platforms: tuple[str, ...] = ()
    executor: str | None = None
    elevation_required: bool = False
    input_arguments: tuple[str, ...] = ()


@dataclass
class AtomicData:
    """What :func:`load` read: the tests, in file order, and what it skipped."""

    path: str
    version: str
    sha256: str
    files: int = 0
    tests: list[AtomicTest] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)
    skipped: list[InputError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


# --- reading -----------------------------------------------------------------------------------


def load(path: str | os.PathLike, *, strict: bool = False, version: str | None = None) -> AtomicData:
    """Read every ``atomics/T*/T*.yaml`` of a repository folder or release archive.

    ``strict``: raise the first bad file or test instead of skipping it. ``version``: the release
    to name the graph by, overriding what the archive or folder name says.
    """
    path = Path(path)
    if path.is_dir():
        found_version, files = _folder(path)
        archive_sha256 = None  # hashed below, over the test files read
    elif path.is_file():
        found_version, files = _archive(path)
        archive_sha256 = sha256_of(path)
    else:
        raise InputError("no such file or folder", path=path)

    data = AtomicData(path=str(path), version=version or found_version, sha256="")
    digest = hashlib.sha256()
    seen: dict[str, str] = {}
    errors = Collector(strict, errors=data.skipped, counts=data.counts)
    for rel, shown, raw in files:
        data.files += 1
        digest.update(rel.encode() + b"\0" + hashlib.sha256(raw).digest())
        _read_file(raw, rel, shown, data, seen, errors)
    if not data.files:
        raise InputError("no atomics/T*/T*.yaml files found", path=path)
    data.sha256 = archive_sha256 or digest.hexdigest()
    data.counts["files"] = data.files
    data.counts["tests"] = len(data.tests)
    data.counts["techniques"] = len({test.technique for test in data.tests})
    return data


def _folder(path: Path) -> tuple[str, Iterable[tuple[str, str, bytes]]]:
    """The repository (or its ``atomics`` folder): version from the folder name, and the files.

    The SHA-256 is then over the test files read (sorted ``atomics/...`` paths and contents, as
    :func:`sha256_of` does for a folder), not over payloads and docs beside them.
    """
    if (path / "atomics").is_dir():
        root, atomics = path, path / "atomics"
    elif path.name == "atomics":
        root, atomics = path.parent, path
    else:
        raise InputError("not an Atomic Red Team folder: it has no atomics/ folder", path=path)
    names = sorted(atomics.glob("T*/T*.yaml"), key=lambda name: (name.parent.name, name.name))

    def files() -> Iterator[tuple[str, str, bytes]]:
        for name in names:
            try:
                with name.open("rb") as stream:
                    raw = stream.read(MAX_YAML_BYTES + 1)  # _read_file refuses longer files
            except OSError as error:
                raise InputError(f"cannot read: {error.strerror}", path=name) from None
            yield f"atomics/{name.parent.name}/{name.name}", str(name), raw

    return _tag(root.name) or UNKNOWN_VERSION, files()


def _archive(path: Path) -> tuple[str, list[tuple[str, str, bytes]]]:
    """A ``.zip`` or tar archive of the repository: version from its top folder or commit.

    The test files are read in one pass in archive order (a ``.tar.gz`` cannot seek back cheaply),
    then sorted by path like a folder's.
    """
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                commit = archive.comment.decode("ascii", "replace").strip()
                found = [
                    (match, _read_member(archive, info))
                    for info in archive.infolist()
                    if not info.is_dir() and (match := _MEMBER.match(info.filename))
                ]
        elif tarfile.is_tarfile(path):
            with tarfile.open(path) as archive:
                found = []
                for info in archive:
                    match = _MEMBER.match(info.name) if info.isfile() else None
                    stream = archive.extractfile(info) if match else None
                    if match and stream:
                        found.append((match, stream.read(MAX_YAML_BYTES + 1)))
                commit = archive.pax_headers.get("comment", "").strip()
        else:
            raise InputError("not a folder, .zip or .tar.gz archive of Atomic Red Team", path=path)
    except (OSError, EOFError, zlib.error, zipfile.BadZipFile, tarfile.TarError) as error:
        raise InputError(f"cannot read the archive: {error}", path=path) from None
    version = _archive_version(path, [match["prefix"] for match, _ in found], commit)
    files = sorted(((match["rel"], f"{path}/{match.string}", raw) for match, raw in found), key=_file_order)
    return version, files


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """A member's bytes, at most ``MAX_YAML_BYTES + 1`` of them (``_read_file`` refuses longer files)."""
    with archive.open(info) as stream:
        return stream.read(MAX_YAML_BYTES + 1)


def _file_order(file: tuple[str, str, bytes]) -> tuple[str, ...]:
    """Files in folder order, ``atomics/T1003/`` before ``atomics/T1003.001/``, as in a folder."""
    return tuple(file[0].split("/"))


def _archive_version(path: Path, prefixes: list[str], commit: str) -> str:
    """Tag of ``atomic-red-team-<tag>/`` (or of the archive's name), else the archive's commit."""
    tops = {prefix.split("/", 1)[0] for prefix in prefixes if prefix}
    for name in [*sorted(tops), _ARCHIVE_SUFFIX.sub("", path.name)]:
        tag = _tag(name)
        if tag:
            return tag
    if _COMMIT.match(commit):
        return commit[:12]
    return UNKNOWN_VERSION


def _tag(name: str) -> str | None:
    match = _TOP_FOLDER.match(name)
    if match and match["tag"] not in BRANCHES:
        return match["tag"]
    return None


# --- one file ----------------------------------------------------------------------------------


SKIPPED_TEST = "skipped_tests"  # counts key of a skipped test (a skipped file: "skipped_files")


def _read_file(raw: bytes, rel: str, shown: str, data: AtomicData, seen: dict[str, str], errors: Collector) -> None:
    """Add one file's tests to ``data``; a bad file or test goes to ``errors`` (which raises when strict)."""
    try:
        refuse_large(raw, shown, "an Atomic file is under 100 KB")
        (document,) = documents(raw, shown)  # aliases, merge and duplicate keys refused (yamlfiles)
        technique, tests = _technique(document)
    except Invalid as bad:
        errors.add(bad.error(raw, shown), bad.kind)
        return
    except InputError as error:
        errors.add(error, "skipped_files")
        return
    folder = rel.split("/")[1]
    if folder.upper() != technique:
        data.warnings.append(f"{shown}: attack_technique {technique} is not the folder's {folder}")

    for index, entry in enumerate(tests):
        try:
            test = _test(entry, index, technique, rel)
            if test.guid in seen:
                where = ("atomic_tests", index, "auto_generated_guid")
                raise Invalid(
                    f"auto_generated_guid already used in {seen[test.guid]}", where, test.guid, kind=SKIPPED_TEST
                )
        except Invalid as bad:
            errors.add(bad.error(raw, shown), bad.kind)
            continue
        seen[test.guid] = rel
        data.tests.append(test)


def _technique(document: object) -> tuple[str, list]:
    """The file's ``attack_technique`` (checked, upper case) and its ``atomic_tests`` list."""
    if not isinstance(document, dict):
        message = "not an Atomic Red Team file: expected a mapping with attack_technique and atomic_tests"
        raise Invalid(message, kind="skipped_files")
    technique = document.get("attack_technique")
    if not isinstance(technique, str) or not (attack_iri(technique) or "").startswith(
        "https://attack.mitre.org/techniques/"
    ):
        message = f"attack_technique is not an ATT&CK technique ID: {technique!r}"
        raise Invalid(message, ("attack_technique",), kind="skipped_files")
    tests = document.get("atomic_tests")
    if tests is None:
        return technique.strip().upper(), []
    if not isinstance(tests, list):
        raise Invalid("atomic_tests is not a list", ("atomic_tests",), kind="skipped_files")
    return technique.strip().upper(), tests


def _test(entry: object, index: int, technique: str, rel: str) -> AtomicTest:
    """One test entry, checked: name and GUID required, the other keys typed when present."""
    where = ("atomic_tests", index)
    label = f"{technique} test {index + 1}"
    if not isinstance(entry, dict):
        raise Invalid("atomic test is not a mapping", where, obj=label, kind=SKIPPED_TEST)
    guid = entry.get("auto_generated_guid")
    if guid is None or guid == "":
        message = "no auto_generated_guid (the repository's CI adds it after a merge); skipped"
        raise Invalid(message, where, obj=label, kind="missing_guid")
    try:
        guid = str(uuid.UUID(str(guid)))
    except ValueError:
        raise Invalid(
            f"auto_generated_guid is not a UUID: {guid!r}", (*where, "auto_generated_guid"), label, kind=SKIPPED_TEST
        ) from None
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise Invalid("atomic test has no name", where, obj=guid, kind=SKIPPED_TEST)
    description = entry.get("description")
    if description is not None and not isinstance(description, str):
        raise Invalid("description is not text", (*where, "description"), obj=guid, kind=SKIPPED_TEST)

    executor = entry.get("executor")
    if executor is None:
        executor = {}
    if not isinstance(executor, dict):
        raise Invalid("executor is not a mapping", (*where, "executor"), obj=guid, kind=SKIPPED_TEST)
    executor_name = executor.get("name")
    if executor_name is not None and not isinstance(executor_name, str):
        raise Invalid("executor name is not text", (*where, "executor", "name"), obj=guid, kind=SKIPPED_TEST)
    elevation = executor.get("elevation_required")
    if elevation is None:
        elevation = False  # spec.yaml: "If ... not defined, the value is assumed to be false"
    if not isinstance(elevation, bool):
        raise Invalid(
            "elevation_required is not true or false",
            (*where, "executor", "elevation_required"),
            guid,
            kind=SKIPPED_TEST,
        )

    arguments = entry.get("input_arguments") or {}
    if not isinstance(arguments, dict):
        raise Invalid("input_arguments is not a mapping", (*where, "input_arguments"), obj=guid, kind=SKIPPED_TEST)

    return AtomicTest(
        guid=guid,
        technique=technique,
        number=index + 1,
        name=name.strip(),
        file=rel,
        description=description.strip() if description and description.strip() else None,
        platforms=_strings(entry.get("supported_platforms"), (*where, "supported_platforms"), guid),
        executor=executor_name.strip() if executor_name and executor_name.strip() else None,
        elevation_required=elevation,
        input_arguments=tuple(str(key) for key in arguments),
    )


def _strings(value: object, where: tuple, guid: str) -> tuple[str, ...]:
    """A list of strings (a lone string counts as a list of one)."""
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise Invalid("supported_platforms is not a list of names", where, obj=guid, kind=SKIPPED_TEST)
    return tuple(item.strip() for item in value if item.strip())


# --- triples -----------------------------------------------------------------------------------

ATOMIC_TEST = akg("AtomicTest")
EMULATES = akg("emulates")
TEST_NUMBER = akg("atomicTestNumber")
FILE = akg("atomicFile")
PLATFORM = akg("supportedPlatform")
EXECUTOR = akg("executorName")
ELEVATION = akg("elevationRequired")
INPUT_ARGUMENT = akg("inputArgument")
IDENTIFIER = dcterms("identifier")
DESCRIPTION = dcterms("description")

# AtomicTest field -> (predicate, literal maker); None values and empty tuples make no triple.
_FIELDS: tuple[tuple[str, ox.NamedNode, Callable[..., ox.Literal]], ...] = (
    ("name", LABEL, text),
    ("guid", IDENTIFIER, text),
    ("description", DESCRIPTION, text),
    ("number", TEST_NUMBER, lambda n: typed(str(n), "integer")),
    ("file", FILE, text),
    ("platforms", PLATFORM, text),
    ("executor", EXECUTOR, text),
    ("elevation_required", ELEVATION, boolean),
    ("input_arguments", INPUT_ARGUMENT, text),
)


def graph_name(data: AtomicData) -> str:
    """``graph_iri("atomic", version)``: the named graph of this Atomic Red Team release."""
    return graph_iri(SOURCE, data.version)


def triples(data: AtomicData) -> Iterator[ox.Triple]:
    """The tests as triples (see the module docstring for where each comes from). No I/O."""
    for test in data.tests:
        subject = iri(atomic_test_iri(test.guid))
        yield ox.Triple(subject, TYPE, ATOMIC_TEST)
        yield ox.Triple(subject, EMULATES, iri(attack_iri(test.technique)))
        for name, predicate, make in _FIELDS:
            value = getattr(test, name)
            values: Iterable = value if isinstance(value, tuple) else () if value is None else (value,)
            for item in values:
                yield ox.Triple(subject, predicate, make(item))


def report(data: AtomicData) -> Report:
    """What was read: files, tests and techniques counted, the skipped files and tests, warnings."""
    return Report(
        source=SOURCE,
        path=data.path,
        graph=graph_name(data),
        version=data.version,
        title=TITLE,
        sha256=data.sha256,
        counts=Counter(data.counts),
        skipped=list(data.skipped),
        warnings=list(data.warnings),
    )
