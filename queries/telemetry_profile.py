"""Telemetry profiles: what a user collects, named as the store's event sources name it
(``akg:EventSource``: a provider such as ``sysmon``, or one of its events, ``sysmon/1``).

A :class:`Profile` holds providers whole and (provider, event ID) pairs. It feeds an event-level
source when it holds the provider whole or that pair, and a provider-level source when it holds
the provider at all. It comes from names (:func:`profile_from_names`, as ``--telemetry`` takes
them) or a small YAML file (:func:`load_profile`; errors as ``path:line: message`` through the
community-YAML error model of ``builders/yamlfiles.py``). A provider the store does not know is an
error; an event of a known provider that no rule names is kept and reported
(:func:`unlisted_note`): it is collected, it just feeds nothing. Used by
:mod:`attackkg.queries.telemetry`, which re-exports these names.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from attackkg.builders.base import InputError

MAX_PROFILE_BYTES = 1 << 20


# --- event sources and profiles ------------------------------------------------------------------


@dataclass(frozen=True)
class EventSource:
    """An ``akg:EventSource``: a provider (``event_id`` None) or one event of it."""

    iri: str
    provider: str
    event_id: str | None = None
    label: str | None = None
    graphs: tuple[str, ...] = ()  # the named graphs that declare it
    origins: tuple[str, ...] = ()  # where those graphs' rows come from (dcterms:source)

    @property
    def name(self) -> str:
        """``sysmon`` or ``sysmon/1``: how profiles and the CLI name it."""
        return self.provider if self.event_id is None else f"{self.provider}/{self.event_id}"

    @property
    def shown(self) -> str:
        return f"{self.name} ({self.label})" if self.label else self.name


@dataclass
class Catalog:
    """The event sources of a store, by IRI, and their providers."""

    sources: dict[str, EventSource] = field(default_factory=dict)

    @property
    def providers(self) -> dict[str, list[EventSource]]:
        """Provider name -> its sources (its provider-level node, if any, first; events by ID)."""
        found: dict[str, list[EventSource]] = defaultdict(list)
        for source in self.sources.values():
            found[source.provider].append(source)
        return {
            name: sorted(sources, key=lambda s: (s.event_id is not None, id_order(s.event_id)))
            for name, sources in sorted(found.items())
        }

    def events(self, provider: str) -> set[str]:
        return {s.event_id for s in self.sources.values() if s.provider == provider and s.event_id is not None}


def id_order(event_id: str | None) -> tuple[int, str]:
    if event_id is None:
        return (0, "")
    return (int(event_id), "") if event_id.isdigit() else (1 << 30, event_id)


@dataclass(frozen=True)
class Profile:
    """What the user collects: providers whole, and (provider, event ID) pairs."""

    providers: frozenset[str] = frozenset()
    events: frozenset[tuple[str, str]] = frozenset()
    origin: str = ""  # where it came from: the names given, or the file
    unlisted: tuple[str, ...] = ()  # provider/event names the store does not know (they feed no rule)

    def feeds(self, source: EventSource) -> bool:
        """Whether the profile feeds the source: an event when it holds its provider whole or
        that pair, a provider when it holds the provider at all."""
        if source.provider in self.providers:
            return True
        if source.event_id is None:
            return any(provider == source.provider for provider, _ in self.events)
        return (source.provider, source.event_id) in self.events

    def plus(self, provider: str, event_id: str | None = None) -> Profile:
        """This profile with one more provider (whole) or event."""
        if event_id is None:
            return Profile(self.providers | {provider}, self.events, self.origin, self.unlisted)
        return Profile(self.providers, self.events | {(provider, event_id)}, self.origin, self.unlisted)

    @property
    def names(self) -> list[str]:
        """``sysmon``, ``windows-security/4688``, ...: the profile as names, sorted."""
        events = [f"{p}/{e}" for p, e in sorted(self.events, key=lambda pe: (pe[0], id_order(pe[1])))]
        return sorted(self.providers) + [e for e in events if e.split("/", 1)[0] not in self.providers]

    def describe(self) -> str:
        return ", ".join(self.names) or "no telemetry"


def unknown_source(name: str, catalog: Catalog) -> str:
    known = ", ".join(catalog.providers) or "none: the store holds no event sources (build it with the Sigma rules)"
    return f"unknown event source {name!r}; the known providers are: {known} (attack-kg telemetry --list)"


def _event_key(value: object) -> str:
    return str(value).strip()


def profile_from_names(names: Iterable[str], catalog: Catalog) -> Profile:
    """A profile from names as the CLI takes them: ``sysmon`` (a provider whole) or
    ``windows-security/4688`` (one event); InputError for a provider the store does not know. An
    event the store does not know of a known provider is kept, and listed in ``unlisted``: it is
    collected, but no rule needs it."""
    providers, events, unlisted = set(), set(), []
    given = list(names)
    for name in given:
        provider, _, event_id = name.strip().partition("/")
        if provider not in catalog.providers:
            raise InputError(unknown_source(provider, catalog), path="--telemetry")
        if event_id:
            if event_id not in catalog.events(provider):
                unlisted.append(f"{provider}/{event_id}")
            events.add((provider, event_id))
        else:
            providers.add(provider)
    return Profile(frozenset(providers), frozenset(events), " ".join(given), tuple(unlisted))


def unlisted_note(profile: Profile, catalog: Catalog) -> str | None:
    """The warning for events of a profile the store does not know, or None."""
    if not profile.unlisted:
        return None
    providers = sorted({name.split("/", 1)[0] for name in profile.unlisted})
    known = "; ".join(
        f"{p}: {', '.join(sorted(catalog.events(p), key=id_order)) or 'none (it is named whole)'}" for p in providers
    )
    return (
        f"{', '.join(profile.unlisted)}: no Sigma rule or sensor mapping in this store names "
        + ("this event, so it feeds" if len(profile.unlisted) == 1 else "these events, so they feed")
        + f" no rule (events known: {known})"
    )


def load_profile(path: str | os.PathLike, catalog: Catalog) -> Profile:
    """A profile from a YAML file (``sources:`` a list of provider names, or one-key mappings
    of a provider to a list of event IDs). InputError ``path:line: message`` for a file that
    cannot be read, is not YAML, or names a provider the store does not know; an unknown event of
    a known provider is kept and listed in ``unlisted`` (:func:`unlisted_note`)."""
    from attackkg.builders.files import os_reason
    from attackkg.builders.yamlfiles import Invalid, documents, refuse_large

    source = str(path)
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_PROFILE_BYTES + 1)
    except OSError as error:
        raise InputError(f"cannot read the telemetry profile: {os_reason(error)}", path=source) from None
    if len(raw) > MAX_PROFILE_BYTES:
        refuse_large(raw, source, "a profile is a few lines")
    (document,) = documents(raw, source, text=True)
    try:
        return _profile_document(document, catalog, source)
    except Invalid as bad:
        raise bad.error(raw, source) from None


def _profile_document(document: object, catalog: Catalog, source: str) -> Profile:
    from attackkg.builders.yamlfiles import Invalid

    if not isinstance(document, dict) or "sources" not in document:
        raise Invalid("a telemetry profile is a mapping with a 'sources' list (sources: [sysmon, ...])")
    unknown_keys = sorted(set(document) - {"sources", "name", "description"}, key=str)
    if unknown_keys:
        raise Invalid(f"unknown key {unknown_keys[0]!r}; a profile has sources (and name, description)",
                      (unknown_keys[0],))
    entries = document["sources"]
    if not isinstance(entries, list):
        raise Invalid("'sources' is a list of providers (sysmon) or provider: [event IDs]", ("sources",))
    providers, events, unlisted = set(), set(), []
    for index, entry in enumerate(entries):
        where = ("sources", index)
        if isinstance(entry, str):
            provider, ids = entry.strip(), None
        elif isinstance(entry, dict) and len(entry) == 1:
            provider, ids = next(iter(entry.items()))
            provider = str(provider).strip()
        else:
            raise Invalid("each source is a provider name or one 'provider: [event IDs]' mapping", where)
        if provider not in catalog.providers:
            raise Invalid(unknown_source(provider, catalog), where)
        if ids is None:
            providers.add(provider)
            continue
        if not isinstance(ids, list) or not ids:
            raise Invalid(f"{provider}: give a list of event IDs ([4624, 4688]), or the name alone for all", where)
        for position, value in enumerate(ids):
            if isinstance(value, (dict, list)) or value is None:
                raise Invalid(f"{provider}: an event ID is a number or a name", (*where, provider, position))
            event_id = _event_key(value)
            if event_id not in catalog.events(provider):
                unlisted.append(f"{provider}/{event_id}")
            events.add((provider, event_id))
    return Profile(frozenset(providers), frozenset(events), source, tuple(unlisted))


def profile_of(arguments: Sequence[str] | None, catalog: Catalog) -> Profile:
    """The profile of ``--telemetry``: none (no telemetry), one YAML file, or names."""
    if not arguments:
        return Profile(origin="")
    if len(arguments) == 1 and (Path(arguments[0]).suffix in (".yml", ".yaml") or Path(arguments[0]).is_file()):
        return load_profile(arguments[0], catalog)
    return profile_from_names(arguments, catalog)
