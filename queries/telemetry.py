"""Coverage a defender can act on: which telemetry each detection needs, what a telemetry profile
detects now, and what to collect next (issue 14, items 3-5; ``attack-kg telemetry``,
``coverage`` and ``gaps``).

What it reads (the telemetry vocabulary, ``ontology/telemetry.ttl``):

- ``akg:EventSource`` nodes, at two levels: a provider (a whole log, channel or sensor:
  ``.../event-source/windows-security``) and an event of it (``.../event-source/sysmon/1``,
  ``akg:eventOf`` the provider), each with ``akg:eventProvider`` (the name a profile uses),
  ``akg:eventId`` (events only) and a label (``queries/telemetry-event-sources.rq``);
- ``<rule> akg:fedBy <event source>``: the sources that can feed a Sigma rule, any one of them
  suffices (the Sigma log source table's derivation, graph ``.../graph/telemetry``), or
  ``<rule> akg:unknownLogsource "..."`` when the table does not know the rule's logsource
  (``telemetry-rules.rq``, with the techniques each rule detects);
- the techniques, their parents and Atomic tests (``telemetry-techniques.rq``), and the log
  sources ATT&CK's analytics name (``telemetry-log-sources.rq``).

A **profile** (:class:`Profile`) is what the user collects: providers whole (``sysmon``: every
Sysmon event) and (provider, event ID) pairs (``windows-security/4688``). It feeds an
event-level source when it holds the provider whole or that pair, and a provider-level source
when it holds the provider at all. It comes from names (:func:`profile_from_names`) or a small
YAML file (:func:`load_profile`)::

    sources:
      - sysmon                      # every Sysmon event
      - windows-security: [4624, 4688]

The **coverage state** of a technique (:func:`coverage`), given a profile; a technique's rules
are those that detect it or one of its sub-techniques (as ``query detections`` counts them):

- ``now`` (detectable now): a rule the profile feeds;
- ``more-telemetry`` (detectable with more telemetry): rules, none of them fed; ``needed`` names
  the event sources that would feed them;
- ``no-rule``: no Sigma rule; ``log_sources`` says what ATT&CK's analytics name to collect;
- and, across all three, ``testable``: an Atomic Red Team test emulates it or a sub-technique.

:func:`next_sources` is the greedy "what to collect next", like ``attack-kg cover``: at each
step, the provider (or with ``by="event"`` the event source) that moves the most techniques from
``more-telemetry`` to ``now``.

All of it is computed in Python from one read of the store (:func:`load_telemetry`: five small
queries, about 0.35 s CPU on the full build), so one read serves any number of profiles. The
profiles themselves are :mod:`attackkg.queries.telemetry_profile` (re-exported here).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from attackkg.builders.base import InputError
from attackkg.ontology.namespaces import GRAPH
from attackkg.queries.coverage_model import group_id_of
from attackkg.queries.telemetry_profile import (
    Catalog,
    EventSource,
    Profile,
    id_order,
    load_profile,
    profile_from_names,
    profile_of,
    unknown_source,
    unlisted_note,
)

NOW, MORE, NO_RULE = "now", "more-telemetry", "no-rule"
STATES = (NOW, MORE, NO_RULE)
STATE_LABELS = {NOW: "detectable now", MORE: "detectable with more telemetry", NO_RULE: "no rule"}


# --- what the store says -------------------------------------------------------------------------


@dataclass
class Rule:
    """A Sigma rule: what feeds it, and the techniques it detects (IDs as tagged, successors followed)."""

    iri: str
    rule_id: str
    title: str
    level: str | None = None
    path: str | None = None
    fed_by: set[str] = field(default_factory=set)  # event source IRIs
    unknown_logsource: str | None = None
    techniques: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class LogSource:
    """A log source one of ATT&CK's analytics names for a technique (``telemetry-log-sources``
    gives their data components too)."""

    name: str
    channel: str | None = None
    event_sources: tuple[str, ...] = ()  # what attack-kg reads it as: sysmon/1, windows-security/4624, ...

    @property
    def shown(self) -> str:
        return f"{self.name} {self.channel}" if self.channel else self.name


@dataclass
class Technique:
    attack_id: str
    name: str
    parent: str | None = None
    atomic_tests: int = 0


@dataclass
class TelemetryData:
    """One read of the store: everything coverage states need, for any profile."""

    catalog: Catalog
    techniques: dict[str, Technique]
    rules: dict[str, Rule]
    rules_of: dict[str, set[str]]  # technique ID -> rule IRIs (its own and its sub-techniques')
    tests_of: dict[str, int]  # technique ID -> Atomic tests (its own and its sub-techniques')
    log_sources: dict[str, list[LogSource]]
    graphs: dict[str, str] = field(default_factory=dict)  # graph IRI -> "kind version"

    @property
    def unknown_rules(self) -> list[Rule]:
        """Rules whose logsource the table does not know (no event source feeds them)."""
        return sorted((r for r in self.rules.values() if r.unknown_logsource), key=lambda r: r.path or r.rule_id)


def _select(target, name: str, **params: str) -> list[dict[str, str]]:
    """A named query's rows as strings (the local store read through pyoxigraph directly: no
    rdflib terms made for thousands of rows); other targets through :func:`rows`."""
    from attackkg.queries import AtRelease, _oxigraph_store, prepare, rows, run_local
    from attackkg.queries.endpoint import Endpoint

    if isinstance(target, Endpoint):
        return [{k: str(v) for k, v in row.items()} for row in rows(target, name, **params)]
    version = target.attack_version if isinstance(target, AtRelease) else None
    store = _oxigraph_store(target.target if isinstance(target, AtRelease) else target)
    answer = run_local(store, prepare(name, params), version)
    names = [v.value for v in answer.variables]
    return [{n: value.value for n, value in zip(names, row) if value is not None} for row in answer]


def load_catalog(target, origins: bool = False) -> Catalog:
    """The event sources of the store (``telemetry-catalog.rq``; with ``origins``, also the graphs
    that declare each and their rows' sources, ``telemetry-event-sources.rq``, for ``--list``)."""
    merged: dict[str, dict] = {}
    for row in _select(target, "telemetry-event-sources" if origins else "telemetry-catalog"):
        entry = merged.setdefault(row["source"], {"row": row, "graphs": [], "origins": []})
        for key, plural in (("graph", "graphs"), ("origin", "origins")):
            if row.get(key) and row[key] not in entry[plural]:
                entry[plural].append(row[key])
    catalog = Catalog()
    for iri, entry in merged.items():
        row = entry["row"]
        catalog.sources[iri] = EventSource(
            iri=iri,
            provider=row["provider"],
            event_id=row.get("event_id"),
            label=row.get("label"),
            graphs=tuple(sorted(entry["graphs"])),
            origins=tuple(sorted(entry["origins"])),
        )
    return catalog


def graph_names(target) -> dict[str, str]:
    """Graph IRI -> ``kind version`` from the metadata graph (``sources.rq``), to say where a source came from."""
    found = {}
    for row in _select(target, "sources"):
        kind, version = row.get("kind", ""), row.get("version")
        found[row["graph"]] = f"{kind} {version}" if version and version != "unknown" else kind
    return found


def load_telemetry(target, details: bool = True) -> TelemetryData:
    """Read what coverage states need from a store (pyoxigraph Store, Dataset, AtRelease or Endpoint).

    ``details``: also each rule's ID, title, level and path (``telemetry-rule-details.rq``), for
    output that lists rules; the states and counts do not need them (the rule's IRI stands in)."""
    catalog = load_catalog(target)
    techniques: dict[str, Technique] = {}
    ids: dict[str, str] = {}  # technique IRI -> ATT&CK ID
    parents: dict[str, str] = {}
    retired: dict[str, Technique] = {}  # revoked or deprecated: their rules and tests still count for a parent
    for row in _select(target, "telemetry-techniques"):
        attack_id = row["technique"]
        ids[row["t"]] = attack_id
        found = Technique(attack_id, row.get("name", attack_id), None, int(row.get("atomic_tests", 0)))
        (retired if row.get("retired") == "yes" else techniques)[attack_id] = found
        if row.get("parent"):
            parents[attack_id] = row["parent"]
    every = {**retired, **techniques}
    for attack_id, parent in parents.items():
        every[attack_id].parent = ids.get(parent)
    rules: dict[str, Rule] = {}
    for row in _select(target, "telemetry-rules"):
        rule = rules.get(row["rule"])
        if rule is None:
            rule = rules[row["rule"]] = Rule(iri=row["rule"], rule_id=row["rule"], title="")
        if "source" in row:
            if row["source"] in catalog.sources:
                rule.fed_by.add(row["source"])
        elif "technique" in row:
            if row["technique"] in ids:
                rule.techniques.add(ids[row["technique"]])
        elif "unknown_logsource" in row:
            rule.unknown_logsource = row["unknown_logsource"]
    if details:
        for row in _select(target, "telemetry-rule-details"):
            rule = rules.get(row["rule"])
            if rule is not None:
                rule.rule_id, rule.title = row["rule_id"], row.get("title", "")
                rule.level, rule.path = row.get("level"), row.get("path")
    rules_of: dict[str, set[str]] = defaultdict(set)
    for rule in rules.values():
        for attack_id in rule.techniques:
            rules_of[attack_id].add(rule.iri)
            parent = every[attack_id].parent
            if parent:
                rules_of[parent].add(rule.iri)
    tests_of: dict[str, int] = defaultdict(int)
    for technique in every.values():
        tests_of[technique.attack_id] += technique.atomic_tests
        if technique.parent:
            tests_of[technique.parent] += technique.atomic_tests
    named: dict[str, tuple[str, str | None]] = {}
    named_by: dict[str, set[str]] = defaultdict(set)  # technique ID -> log source IRIs
    read_as: dict[str, set[str]] = defaultdict(set)  # log source IRI -> event source names
    for row in _select(target, "telemetry-technique-log-sources"):
        if "name" in row:
            named[row["log_source"]] = (row["name"], row.get("channel") or None)
        elif "event_source" in row:
            if row["event_source"] in catalog.sources:
                read_as[row["log_source"]].add(catalog.sources[row["event_source"]].name)
        elif row.get("t") in ids:
            named_by[ids[row["t"]]].add(row["log_source"])
    log_sources = {
        attack_id: sorted(
            {LogSource(*named[iri], tuple(sorted(read_as.get(iri, ())))) for iri in iris if iri in named},
            key=lambda ls: (ls.name, ls.channel or ""),
        )
        for attack_id, iris in named_by.items()
    }
    return TelemetryData(catalog, techniques, rules, dict(rules_of), dict(tests_of), log_sources, graph_names(target))


# --- coverage states -----------------------------------------------------------------------------


@dataclass
class TechniqueState:
    """One technique's coverage state under a profile."""

    attack_id: str
    name: str
    state: str
    fed: list[Rule] = field(default_factory=list)  # rules the profile feeds
    unfed: list[Rule] = field(default_factory=list)  # rules it does not (unknown log sources included)
    needed: list[EventSource] = field(default_factory=list)  # sources that would feed the unfed rules
    log_sources: list[LogSource] = field(default_factory=list)  # what ATT&CK's analytics name
    atomic_tests: int = 0

    @property
    def testable(self) -> bool:
        return self.atomic_tests > 0

    @property
    def label(self) -> str:
        return STATE_LABELS[self.state]

    def attack_event_sources(self) -> list[str]:
        """The event sources ATT&CK's analytics ask for, as profiles name them (where attack-kg can read them)."""
        return sorted({name for ls in self.log_sources for name in ls.event_sources}, key=_name_order)

    def needed_providers(self) -> list[str]:
        return sorted({s.provider for s in self.needed})

    def as_dict(self) -> dict[str, object]:
        """JSON-ready: the row ``attack-kg coverage --format json`` prints."""
        return {
            "technique": self.attack_id,
            "name": self.name,
            "state": self.state,
            "testable": self.testable,
            "atomic_tests": self.atomic_tests,
            "rules_fed": [_rule_dict(r) for r in self.fed],
            "rules_not_fed": [_rule_dict(r) for r in self.unfed],
            "needed": [s.name for s in self.needed],
            "attack_log_sources": [
                {"name": s.name, "channel": s.channel, "event_sources": list(s.event_sources)} for s in self.log_sources
            ],
            "attack_event_sources": self.attack_event_sources(),
        }


def _rule_dict(rule: Rule) -> dict[str, object]:
    found = {"rule_id": rule.rule_id, "title": rule.title, "path": rule.path}
    if rule.unknown_logsource:
        found["unknown_logsource"] = rule.unknown_logsource
    return found


def _name_order(name: str) -> tuple[str, tuple[int, str]]:
    provider, _, event = name.partition("/")
    return provider, id_order(event or None)


def rule_fed(rule: Rule, profile: Profile, catalog: Catalog) -> bool:
    """Whether the profile feeds the rule: any one of its event sources."""
    return any(profile.feeds(catalog.sources[iri]) for iri in rule.fed_by)


def state_of(data: TelemetryData, attack_id: str, profile: Profile) -> TechniqueState:
    """The coverage state of one technique under ``profile``."""
    technique = data.techniques[attack_id]
    rules = sorted((data.rules[iri] for iri in data.rules_of.get(attack_id, ())), key=lambda r: r.path or r.rule_id)
    fed, unfed = [], []
    for rule in rules:
        (fed if rule_fed(rule, profile, data.catalog) else unfed).append(rule)
    state = NOW if fed else MORE if rules else NO_RULE
    needed = sorted(
        {data.catalog.sources[iri] for r in unfed for iri in r.fed_by}, key=lambda s: (s.provider, id_order(s.event_id))
    )
    return TechniqueState(
        attack_id, technique.name, state, fed, unfed, needed, data.log_sources.get(attack_id, []),
        data.tests_of.get(attack_id, 0),
    )


def coverage(data: TelemetryData, profile: Profile, techniques: Iterable[str] | None = None) -> list[TechniqueState]:
    """One state per technique (all current techniques, or those given that the store has), by ID."""
    wanted = data.techniques if techniques is None else [t for t in techniques if t in data.techniques]
    return [state_of(data, attack_id, profile) for attack_id in sorted(set(wanted), key=_technique_order)]


def _technique_order(attack_id: str) -> tuple[int, int]:
    number, _, sub = attack_id[1:].partition(".")
    return (int(number), int(sub or 0)) if number.isdigit() else (1 << 30, 0)


def state_counts(states: Iterable[TechniqueState]) -> dict[str, int]:
    """How many techniques are in each state (and how many are testable)."""
    found = dict.fromkeys(STATES, 0)
    testable = 0
    for state in states:
        found[state.state] += 1
        testable += state.testable
    return {**found, "testable": testable}


def group_techniques(target, group: str, direct_only: bool = False) -> tuple[str, str, list[str]]:
    """A group's (or campaign's) ID, name and techniques, as ATT&CK counts them (``report-group.rq``:
    its own uses and its attributed campaigns'). InputError for an unknown or ambiguous name."""
    params = {"group": group, **({"direct_only": "true"} if direct_only else {})}
    found = _select(target, "report-group", **params)
    group_id = group_id_of(found, group)
    name = next((row["group_name"] for row in found if row.get("group_name")), group_id)
    return group_id, name, sorted({row["technique"] for row in found if row.get("technique")}, key=_technique_order)


# --- what to collect next ------------------------------------------------------------------------


@dataclass
class Pick:
    """One step of :func:`next_sources`: the source added and the techniques it moves to ``now``."""

    source: str  # provider, or provider/event with by="event"
    label: str | None
    gained: list[str]
    events: list[EventSource]  # the event sources of the pick that feed the gained techniques' rules
    now: int  # techniques detectable now after this step


def _candidates(data: TelemetryData, state: TechniqueState, profile: Profile, by: str) -> set[str]:
    """The sources whose addition would make a ``more-telemetry`` technique detectable now."""
    found = set()
    for rule in state.unfed:
        for iri in rule.fed_by:
            source = data.catalog.sources[iri]
            if by == "provider":
                found.add(source.provider)
            elif source.event_id is not None:
                found.add(source.name)
            else:  # a provider-level source: any event of the provider feeds it
                found.add(source.provider)
                found.update(f"{source.provider}/{e}" for e in data.catalog.events(source.provider))
    if by == "provider":
        found -= profile.providers
    return found


def next_sources(
    data: TelemetryData,
    profile: Profile,
    techniques: Iterable[str] | None = None,
    top: int | None = None,
    by: str = "provider",
) -> list[Pick]:
    """Greedy: the sources that move the most techniques from ``more-telemetry`` to ``now``, one at a
    time, each counting only the techniques not yet gained (ties: the name, alphabetically)."""
    if by not in ("provider", "event"):
        raise InputError(f"gaps by {by!r}: use provider or event")
    states = coverage(data, profile, techniques)
    now = sum(1 for s in states if s.state == NOW)
    gains: dict[str, set[str]] = defaultdict(set)
    for state in states:
        if state.state == MORE:
            for candidate in _candidates(data, state, profile, by):
                gains[candidate].add(state.attack_id)
    by_id = {s.attack_id: s for s in states}
    picks: list[Pick] = []
    while gains and (top is None or len(picks) < top):
        best = min(gains, key=lambda c: (-len(gains[c]), c))
        gained = sorted(gains.pop(best), key=_technique_order)
        if not gained:
            break
        now += len(gained)
        provider, _, event_id = best.partition("/")
        picks.append(Pick(best, _label(data.catalog, provider, event_id or None), gained,
                          _pick_events(data, [by_id[t] for t in gained], provider, event_id or None), now))
        for candidate in list(gains):
            gains[candidate].difference_update(gained)
            if not gains[candidate]:
                del gains[candidate]
    return picks


def _label(catalog: Catalog, provider: str, event_id: str | None) -> str | None:
    return next((s.label for s in catalog.sources.values() if s.provider == provider and s.event_id == event_id), None)


def _pick_events(data: TelemetryData, states: Sequence[TechniqueState], provider: str,
                 event_id: str | None) -> list[EventSource]:
    found = {
        data.catalog.sources[iri]
        for state in states
        for rule in state.unfed
        for iri in rule.fed_by
        if data.catalog.sources[iri].provider == provider
        and (event_id is None or data.catalog.sources[iri].event_id in (event_id, None))
    }
    return sorted(found, key=lambda s: id_order(s.event_id))


def with_picks(profile: Profile, picks: Sequence[Pick]) -> Profile:
    """The profile after collecting every pick (a provider whole, or one event)."""
    for pick in picks:
        provider, _, event_id = pick.source.partition("/")
        profile = profile.plus(provider, event_id or None)
    return profile


def where_from(source: EventSource, graphs: Mapping[str, str]) -> str:
    """Where an event source comes from: its rows' sources (``pysigma-pipeline-sysmon 2.0.0 ...``),
    else the graphs that declare it, as the metadata graph names them."""
    if source.origins:
        return "; ".join(source.origins)
    return "; ".join(graphs.get(g, g.removeprefix(GRAPH)) for g in source.graphs)


__all__ = [
    "MORE",
    "NOW",
    "NO_RULE",
    "STATES",
    "STATE_LABELS",
    "Catalog",
    "EventSource",
    "LogSource",
    "Pick",
    "Profile",
    "Rule",
    "TechniqueState",
    "TelemetryData",
    "coverage",
    "group_techniques",
    "load_catalog",
    "load_profile",
    "load_telemetry",
    "next_sources",
    "profile_from_names",
    "profile_of",
    "rule_fed",
    "state_counts",
    "state_of",
    "unknown_source",
    "unlisted_note",
    "with_picks",
]
