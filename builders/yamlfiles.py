"""Community YAML (Sigma rules, Atomic Red Team tests, and the YAML sources to come, such as CAR
analytics): one way to read a file, one way to say where it is bad, one collector for lenient and
strict reading.

The model is pySigma's: every error carries its location (``sigma/exceptions.py``:
``SigmaError(source=...)``), and ``SigmaCollection.from_dicts(collect_errors=True)`` records a bad
rule and goes on where the default raises. Here:

- :func:`documents` parses one file's bytes with :class:`SafeYamlLoader` (no aliases, no merge
  keys, no duplicate keys, timestamps kept as text) and turns every failure into one
  :class:`InputError` with the file and line;
- a reader that finds a bad value raises :class:`Invalid` with the value's *key path* inside the
  document (``("atomic_tests", 2, "executor")``); :meth:`Invalid.error` makes the InputError, with
  the line of that key (:func:`line_of`) and the key path as text (``atomic_tests[2].executor``);
- :class:`Collector` is where a reader puts each error: strict, it raises the first; lenient, it
  records it (and counts it under a kind) and the reader goes on with the next file or item.

A source module reads its files like this::

    errors = Collector(strict, errors=data.skipped, counts=data.counts)
    for source, raw in files:
        try:
            refuse_large(raw, source, "an analytic is a few KB")
            (document,) = documents(raw, source)
            data.items.append(read_item(document))  # raises Invalid("...", ("key", 0))
        except Invalid as bad:
            errors.add(bad.error(raw, source), bad.kind)
        except InputError as error:
            errors.add(error, "skipped_files")
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import yaml

from attackkg.builders.base import InputError

__all__ = [
    "MAX_YAML_BYTES",
    "Collector",
    "Invalid",
    "RefusedYaml",
    "SafeYamlLoader",
    "documents",
    "key_path",
    "line_of",
    "refuse_large",
]

# A file larger than this is not read (a Sigma rule or an Atomic file is a few KB; the largest of
# either in the shared data is 295 KB); parsing YAML takes about ten times its size in memory.
MAX_YAML_BYTES = 10 << 20

KeyPath = Sequence[str | int]


class RefusedYaml(yaml.MarkedYAMLError):
    """YAML that parses but is refused: an alias, a merge key, a duplicate key (line in ``problem_mark``)."""


class SafeYamlLoader(yaml.CSafeLoader):
    """libyaml's safe loader for YAML written by many hands (Sigma rules, Atomic tests).

    - Aliases (``*name``) and merge keys (``<<``) are refused: a few lines of them expand into
      billions of values (the "billion laughs"), and neither SigmaHQ nor Atomic Red Team uses them.
    - Duplicate keys are refused: YAML forbids them, and PyYAML would silently keep the last.
    - Timestamps stay the text they are (``date: 2020-02-30`` must not raise from inside yaml).
    """

    def construct_object(self, node: yaml.Node, deep: bool = False) -> object:
        if node in self.constructed_objects:  # reached again: an alias of an anchored node
            raise RefusedYaml(
                problem="this value is used again by a YAML alias (*name); aliases are not read, "
                "a few lines of them can expand into billions of values",
                problem_mark=node.start_mark,
            )
        return super().construct_object(node, deep=deep)

    def flatten_mapping(self, node: yaml.MappingNode) -> None:
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise RefusedYaml(problem="YAML merge key (<<) is not read", problem_mark=key_node.start_mark)

    def construct_mapping(self, node: yaml.Node, deep: bool = False) -> dict:
        if not isinstance(node, yaml.MappingNode):
            return super().construct_mapping(node, deep=deep)
        self.flatten_mapping(node)
        mapping: dict = {}
        first_line: dict = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                seen = key in mapping
            except TypeError:  # a list or mapping as a key
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", node.start_mark, "found unhashable key", key_node.start_mark
                ) from None
            if seen:
                raise RefusedYaml(
                    problem=f"duplicate key {key!r} (first at line {first_line[key]}); YAML forbids it",
                    problem_mark=key_node.start_mark,
                )
            first_line[key] = key_node.start_mark.line + 1
            mapping[key] = self.construct_object(value_node, deep=deep)
        return mapping


SafeYamlLoader.add_constructor("tag:yaml.org,2002:timestamp", yaml.SafeLoader.construct_scalar)


# --- reading -------------------------------------------------------------------------------------


def refuse_large(raw: bytes, source: str, typical: str) -> None:
    """Raise the InputError for a file over :data:`MAX_YAML_BYTES` (``typical``: what such a file
    usually weighs, for the message). Read at most ``MAX_YAML_BYTES + 1`` bytes to call this."""
    if len(raw) > MAX_YAML_BYTES:
        raise InputError(f"larger than {MAX_YAML_BYTES >> 20} MiB ({typical}); not read", path=source)


def documents(
    raw: bytes, source: str, *, several: bool = False, syntax: str = "not valid YAML", text: bool = False
) -> list:
    """The YAML document(s) of one file (``several``: every document of a multi-document file;
    else exactly one). Raises InputError with the line for YAML that does not parse or is refused
    (message ``"<syntax>: <what>"``; a refused alias, merge key or duplicate key is named as such).

    ``text``: decode as UTF-8 (a BOM allowed) first, and say ``not UTF-8 text`` at the line of the
    first bad byte; otherwise libyaml reads the bytes and names the bad octet.
    """
    content: bytes | str = raw
    if text:
        try:
            content = raw.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise InputError("not UTF-8 text", path=source, line=raw[: error.start].count(b"\n") + 1) from None
    try:
        if several:
            return list(yaml.load_all(content, Loader=SafeYamlLoader))
        return [yaml.load(content, Loader=SafeYamlLoader)]
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else None
        message = "; ".join(str(p) for p in (error.context, error.problem) if p) or "YAML error"
        message = message if isinstance(error, RefusedYaml) else f"{syntax}: {message}"
        raise InputError(message, path=source, line=line) from None
    except yaml.YAMLError as error:  # ReaderError: bad bytes, a position but no mark
        position = getattr(error, "position", None)
        line = raw[:position].count(b"\n") + 1 if isinstance(position, int) and not text else None
        problem = getattr(error, "reason", None) or str(error).splitlines()[0]
        raise InputError(f"{syntax}: {problem}", path=source, line=line) from None
    except (ValueError, TypeError, RecursionError) as error:
        raise InputError(f"{syntax}: {error}", path=source) from None


def key_path(path: KeyPath) -> str | None:
    """``("atomic_tests", 2, "executor")`` -> ``"atomic_tests[2].executor"``; None for the root."""
    out = ""
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out or None


def line_of(raw: bytes, path: KeyPath = (), document: int = 0, *, at_value: bool = False) -> int | None:
    """1-based line of the key at ``path`` (keys and list indexes from the root of the
    ``document``-th document), or of its nearest parent that is there; None when the file does not
    compose. ``at_value``: the line where the value of the last key starts (a block mapping or
    list starts on the line below its key). Only called for a file being reported, so composing it
    again costs nothing overall."""
    try:
        nodes = list(yaml.compose_all(raw, Loader=yaml.CSafeLoader))
    except (yaml.YAMLError, RecursionError):
        return None
    node = nodes[document] if document < len(nodes) else None
    if node is None:
        return 1
    line = node.start_mark.line + 1
    for step in path:
        if isinstance(node, yaml.MappingNode):
            pair = next(((key, value) for key, value in node.value if getattr(key, "value", None) == step), None)
            if pair is None:
                break
            line = (pair[1] if at_value else pair[0]).start_mark.line + 1  # "elevation_required: maybe"
            node = pair[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
            node = node.value[step]
            line = node.start_mark.line + 1
        else:
            break
    return line


def line_of_value(raw: bytes, key: str, value: str) -> int | None:
    """1-based line of the first top-level ``key: value`` (compared case-insensitively) of any
    document of the file, such as a rule's ``id`` found again in another file."""
    try:
        nodes = list(yaml.compose_all(raw, Loader=yaml.CSafeLoader))
    except (yaml.YAMLError, RecursionError):
        return None
    for node in nodes:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if getattr(k, "value", None) == key and str(getattr(v, "value", "")).strip().lower() == value.lower():
                    return v.start_mark.line + 1
    return None


# --- errors --------------------------------------------------------------------------------------


class Invalid(Exception):
    """A bad value at a place in a YAML document, found while reading it: the message, the key
    path from the document's root, the object it belongs to (rule id, test GUID), the kind it is
    counted under when skipped, and which document of the file. :meth:`error` locates it."""

    def __init__(
        self,
        message: str,
        path: KeyPath = (),
        obj: str | None = None,
        *,
        kind: str = "skipped",
        document: int = 0,
        at_value: bool = False,
    ) -> None:
        super().__init__(message)
        self.message, self.path, self.obj, self.kind, self.document = message, tuple(path), obj, kind, document
        self.at_value = at_value  # locate the value's line rather than its key's (see line_of)

    def error(self, raw: bytes, source: str) -> InputError:
        """The InputError for this problem in the file ``source`` whose bytes are ``raw``."""
        line = line_of(raw, self.path, self.document, at_value=self.at_value)
        return InputError(self.message, path=source, line=line, obj=self.obj, key=key_path(self.path))


class Collector:
    """Where a reader puts the errors it finds (after pySigma's ``collect_errors``).

    Strict: :meth:`add` raises the error, so the read stops at the first. Lenient: the error is
    appended to ``errors`` and counted in ``counts[kind]``, and the reader goes on. ``errors`` and
    ``counts`` may be the reader's own list and Counter (its data's ``skipped`` and ``counts``).
    """

    def __init__(self, strict: bool = False, *, errors: list | None = None, counts: Counter | None = None) -> None:
        self.strict = strict
        self.errors: list[InputError] = errors if errors is not None else []
        self.counts: Counter = counts if counts is not None else Counter()

    def add(self, error: InputError, kind: str = "skipped") -> None:
        if self.strict:
            raise error
        self.errors.append(error)
        self.counts[kind] += 1

    def __len__(self) -> int:
        return len(self.errors)
