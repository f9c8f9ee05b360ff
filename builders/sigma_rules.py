"""Sigma rule files parsed into rules: rule collections merged, keys checked, dates read.

See :mod:`attackkg.builders.sigma`'s module doc ("Multi-document files") for the merge of
``action: global``/``reset``/``repeat`` documents. A bad file raises
:class:`~attackkg.builders.yamlfiles.Invalid` (a value at a key path) or
:class:`~attackkg.builders.base.InputError` (not UTF-8, not YAML); the reader collects them.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass, field

from attackkg.builders.yamlfiles import Invalid, documents

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


def parse(raw: bytes, rel: str, source: str, warnings: list[str]) -> list[SigmaRule]:
    """The rules of one file (``rel``: its path from the rule root; ``source``: how messages name
    it). Raises InputError (not UTF-8, not YAML) or Invalid (a bad value, at its key path)."""
    documents_ = documents(raw, source, several=True, syntax="YAML syntax error", text=True)

    # Rule collections: merge action: global documents into the others (see the module doc).
    merged: list[tuple[int, dict]] = []
    global_doc: dict = {}
    global_index: int | None = None
    for index, document in enumerate(documents_):
        if document is None and len(documents_) > 1:
            continue
        if not isinstance(document, dict):
            kind = "empty" if document is None else type(document).__name__
            raise Invalid(f"not a Sigma rule: the document is {kind}, not a mapping", document=index, at_value=True)
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
        raise Invalid("not a Sigma rule: no YAML document")

    by_id: dict[str, list[tuple[int, dict]]] = {}
    for index, document in merged:
        rule_id = _rule_id(document, index)
        _title(document, index)
        by_id.setdefault(rule_id, []).append((index, document))
    return [_rule(rule_id, docs, rel, source, warnings) for rule_id, docs in by_id.items()]


def _deep_merge(base: dict, update: dict) -> dict:
    out = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _rule_id(document: dict, index: int) -> str:
    """Sigma ``id``: must be a UUID; kept lower case (``uuid_iri`` lower-cases it too)."""
    value = document.get("id")
    if value is None:
        raise Invalid("not a Sigma rule: no 'id'", document=index, at_value=True)
    try:
        if not isinstance(value, str):
            raise ValueError(value)
        return str(uuid.UUID(value.strip()))
    except ValueError:
        raise Invalid(f"rule id is not a UUID: {value!r}", ("id",), document=index, at_value=True) from None


def _title(document: dict, index: int) -> str:
    value = document.get("title")
    if isinstance(value, str | int | float) and not isinstance(value, bool) and str(value).strip():
        return str(value).strip()
    problem = "no 'title'" if value is None else f"title is not text: {value!r}"
    rule_id = document.get("id")
    obj = str(rule_id) if rule_id is not None else None
    raise Invalid(
        f"not a Sigma rule: {problem}", ("title",) if value is not None else (), obj, document=index, at_value=True
    )


def _rule(rule_id: str, documents: list[tuple[int, dict]], rel: str, source: str, warnings: list[str]) -> SigmaRule:
    first_index, first = documents[0]

    def scalar(key: str) -> str | None:
        for index, document in documents:
            value = document.get(key)
            if value is None:
                continue
            if isinstance(value, list) and key == "author":
                value = ", ".join(str(v).strip() for v in value if v is not None)
            if isinstance(value, list | dict):
                raise Invalid(f"'{key}' is not text", (key,), rule_id, document=index, at_value=True)
            value = str(value).strip()
            return value or None
        return None

    def strings(key: str) -> list[str]:
        out: list[str] = []
        for index, document in documents:
            value = document.get(key)
            items = [] if value is None else value if isinstance(value, list) else [value]
            if isinstance(value, dict):
                raise Invalid(f"'{key}' is not a list of text", (key,), rule_id, document=index, at_value=True)
            bad = next((i for i, v in enumerate(items) if isinstance(v, list | dict)), None)
            if bad is not None:
                where = (key, bad) if isinstance(value, list) else (key,)
                raise Invalid(f"'{key}' is not a list of text", where, rule_id, document=index, at_value=True)
            for item in items:
                item = str(item).strip() if item is not None else ""
                if item and item not in out:
                    out.append(item)
        return out

    rule = SigmaRule(
        id=rule_id,
        title=_title(first, first_index),
        path=rel,
        source=source,
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
            warnings.append(f"{source}: {rule_id}: '{key}' is not a date: {value!r} (kept as text)")
    for index, document in documents:
        logsource = document.get("logsource")
        if logsource is None:
            continue
        if not isinstance(logsource, dict):
            raise Invalid("'logsource' is not a mapping", ("logsource",), rule_id, document=index, at_value=True)
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
