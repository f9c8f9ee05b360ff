"""Which Sigma rule files a build reads: folders, rule files and SigmaHQ release zips.

The rules of :mod:`attackkg.builders.sigma`'s module doc ("Which files") in code: the rule
root a path is read relative to, the ``rules*/``, ``deprecated/`` and ``unsupported/`` folders,
zip members (a leading folder dropped, names that climb out refused when read).
"""

from __future__ import annotations

import os
import re
import zipfile
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from functools import partial
from pathlib import Path, PurePosixPath

from attackkg.builders.base import InputError
from attackkg.builders.yamlfiles import MAX_YAML_BYTES

SUFFIXES = (".yml", ".yaml")
OPTIONAL_FOLDERS = ("deprecated", "unsupported")
_RULE_FOLDER = re.compile(r"^rules(?:$|-)")


@dataclass
class RuleFile:
    """One rule file to read: its path relative to the rule root, how messages name it, a key
    (the same file reached twice has the same key) and how to read its bytes."""

    rel: str  # path relative to the rule root
    source: str  # for messages: the path as given, or archive.zip!member
    key: str  # the same file reached twice has the same key (resolved path)
    read: Callable[[], bytes]


def _is_rule_folder(name: str) -> bool:
    return bool(_RULE_FOLDER.match(name)) or name in OPTIONAL_FOLDERS


def _wanted(folder: str, include_deprecated: bool, include_unsupported: bool) -> bool:
    if folder == "deprecated":
        return include_deprecated
    if folder == "unsupported":
        return include_unsupported
    return bool(_RULE_FOLDER.match(folder))


def rule_files(path: Path, include_deprecated: bool, include_unsupported: bool, stack: ExitStack) -> list[RuleFile]:
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
        return [RuleFile(resolved.relative_to(root).as_posix(), str(path), str(resolved), reader)]
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


def _walk(folder: Path, root: Path, given: Path, resolved: Path) -> list[RuleFile]:
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
                found.append(RuleFile(rel, source, file, partial(_read_bytes, file)))
    return sorted(found, key=lambda f: f.rel)


def _read_bytes(path: str) -> bytes:
    """The file's bytes, at most ``MAX_YAML_BYTES + 1`` of them (the reader refuses longer files)."""
    with open(path, "rb") as stream:
        return stream.read(MAX_YAML_BYTES + 1)


def _zip_files(path: Path, include_deprecated: bool, include_unsupported: bool, stack: ExitStack) -> list[RuleFile]:
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

    files = (RuleFile(rel, f"{path}!{member}", f"{key}!{member}", reader(member)) for rel, member in chosen)
    return sorted(files, key=lambda f: f.rel)


def _unsafe_member(name: str) -> bool:
    """A zip member named ``/abs/...`` or ``.../../...`` (zip-slip): its path would leave the rule root."""
    path = PurePosixPath(name.replace("\\", "/"))
    return path.is_absolute() or ".." in path.parts or re.match(r"[A-Za-z]:", name) is not None
