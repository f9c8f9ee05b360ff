"""Which event sources can feed each Sigma rule and ATT&CK log source (a derived step, run when
Sigma rules or CTID's sensor mappings are built).

A Sigma rule names its log source abstractly (``product: windows``, ``category:
process_creation``); a defender collects concrete events (Sysmon event 1, Security event 4688).
attack-kg ships the table between the two as package data, with a source for every row
(:mod:`attackkg.builders.telemetry_table`: ``event-sources.tsv`` and ``sigma-logsources.tsv``,
derived from pySigma's processing pipelines and the Sigma taxonomy). A logsource matches a row
when its product, category and service are exactly the row's (an absent field matches an empty
one); several rows for one logsource are alternatives: any one suffices.

Into ``TELEMETRY_GRAPH`` (derived by attack-kg, not SigmaHQ's words):

- every event source of the table: ``a akg:EventSource``, ``akg:eventProvider``, ``akg:eventId``
  (event level), ``rdfs:label``, ``akg:eventOf`` (event -> its provider), ``dcterms:source``
  (the table row's source);
- ``<rule> akg:fedBy <event source>`` for each event source that can feed a rule;
- ``<rule> akg:unknownLogsource "product=... category=... service=..."`` for a logsource the
  table does not know; the report's warnings name every such rule (path and title).

- ``<log source> akg:eventSource <event source>`` for an ATT&CK analytic's log source whose
  name attack-kg can read (:data:`ATTACK_LOG_SOURCES`: ``WinEventLog:Security`` is the provider
  ``windows-security``, and a channel ``EventCode=4624, 4648`` names its events 4624 and 4648;
  ``AWS:CloudTrail`` is ``aws-cloudtrail``, the whole provider); event-level sources the table
  does not have are written as nodes too. Names attack-kg cannot read (``NSM:Flow``,
  ``macos:unifiedlog``) get no link.

A rule collection with several logsources is stored with each field's values side by side, so
every combination of its products, categories and services is looked up.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from itertools import product as combinations

import pyoxigraph as ox

from attackkg.builders.base import LABEL, TYPE, Report, akg, text
from attackkg.builders.telemetry_table import (
    LOGSOURCES_FILE,
    EventSource,
    Logsource,
    Table,
    event_label,
    event_source_triples,
    table,
)
from attackkg.ontology.namespaces import GRAPH, TELEMETRY_GRAPH

SOURCE = "derived"
_SIGMA = GRAPH + "sigma/"
_ATTACK = GRAPH + "attack/"
# ATT&CK's log source names (x_mitre_log_source_references[].name, 18.x) -> provider. Only names
# that say one log unambiguously; "NSM:Flow", "macos:unifiedlog", "azure:audit" ... are left out.
ATTACK_LOG_SOURCES = {
    "WinEventLog:Sysmon": "sysmon",
    "WinEventLog:Security": "windows-security",
    "WinEventLog:System": "windows-system",
    "WinEventLog:Application": "windows-application",
    "WinEventLog:PowerShell": "windows-powershell",
    "linux:Sysmon": "sysmon-linux",
    "AWS:CloudTrail": "aws-cloudtrail",
    "auditd:SYSCALL": "auditd",
    "auditd:EXECVE": "auditd",
    "auditd:PATH": "auditd",
    "auditd:FILE": "auditd",
    "linux:syslog": "linux-syslog",
    "linux:osquery": "osquery",
    "macos:osquery": "osquery",
    "azure:signinlogs": "azure-signinlogs",
    "saas:okta": "okta",
    "gcp:audit": "gcp-audit",
    "m365:exchange": "m365-exchange",
}
# Providers whose ATT&CK channel "EventCode=1, 22" names event IDs; the classic PowerShell log's
# events (400, 600, 800) are in the windows-powershell-classic provider.
_EVENT_CODES = re.compile(r"^\s*EventCode\s*=\s*(\d+(?:\s*,\s*\d+)*)\s*$")
_BY_EVENT_CODE = {
    "sysmon",
    "sysmon-linux",
    "windows-security",
    "windows-system",
    "windows-application",
    "windows-powershell",
}
_CLASSIC_POWERSHELL = {"400", "600", "800"}


def describe(logsource: Logsource) -> str:
    """``product=windows category=process_creation service=``: how a logsource is written."""
    product, category, service = logsource
    return f"product={product} category={category} service={service}"


@dataclass
class Rule:
    path: str = ""
    title: str = ""
    products: set[str] | None = None
    categories: set[str] | None = None
    services: set[str] | None = None

    def logsources(self) -> list[Logsource]:
        return [
            (p, c, s)
            for p, c, s in combinations(
                sorted(self.products or {""}), sorted(self.categories or {""}), sorted(self.services or {""})
            )
        ]


_FIELDS = {
    akg("rulePath").value: "path",
    LABEL.value: "title",
    akg("logsourceProduct").value: "products",
    akg("logsourceCategory").value: "categories",
    akg("logsourceService").value: "services",
}


def sigma_rules(store: ox.Store) -> dict[str, Rule]:
    """Every Sigma rule of the store's Sigma graphs, with its path, title and logsource fields."""
    rules: dict[str, Rule] = {}
    for graph in store.named_graphs():
        if not graph.value.startswith(_SIGMA):
            continue
        for quad in store.quads_for_pattern(None, TYPE, akg("SigmaRule"), graph):
            rules.setdefault(quad.subject.value, Rule())
        for predicate, field in _FIELDS.items():
            for quad in store.quads_for_pattern(None, ox.NamedNode(predicate), None, graph):
                rule = rules.get(quad.subject.value)
                if rule is None:
                    continue
                if field in ("path", "title"):
                    setattr(rule, field, getattr(rule, field) or quad.object.value)
                else:
                    values = getattr(rule, field) or set()
                    values.add(quad.object.value.strip().lower())
                    setattr(rule, field, values)
    return rules


@dataclass
class Links:
    """What the derivation found: per rule, the event sources and the unknown logsources."""

    fed_by: dict[str, set[EventSource]]
    unknown: dict[str, list[Logsource]]
    rules: dict[str, Rule]


def link(rules: dict[str, Rule], known: Table) -> Links:
    """Look every rule's logsources up in the table (pure)."""
    fed_by: dict[str, set[EventSource]] = {}
    unknown: dict[str, list[Logsource]] = {}
    for iri, rule in rules.items():
        for logsource in rule.logsources():
            feeds = known.feeds(logsource)
            if feeds is None:
                unknown.setdefault(iri, []).append(logsource)
            else:
                fed_by.setdefault(iri, set()).update(feeds)
    return Links(fed_by, unknown, rules)


def triples(links: Links, known: Table) -> list[ox.Triple]:
    """The telemetry graph: every event source of the table, the rules' akg:fedBy and akg:unknownLogsource."""
    out = event_source_triples(list(known.event_sources.values()))
    for rule, sources in sorted(links.fed_by.items()):
        node = ox.NamedNode(rule)
        out += [ox.Triple(node, akg("fedBy"), ox.NamedNode(source.iri)) for source in sorted(sources, key=_order)]
    for rule, logsources in sorted(links.unknown.items()):
        node = ox.NamedNode(rule)
        out += [ox.Triple(node, akg("unknownLogsource"), text(describe(logsource))) for logsource in logsources]
    return out


def _order(source: EventSource) -> tuple[str, str]:
    return (source.provider, source.event.zfill(8))


def warnings(links: Links) -> list[str]:
    """A summary of the unknown logsources (rule counts), then every rule behind them by path and title."""
    if not links.unknown:
        return []
    per_logsource = Counter(logsource for logsources in links.unknown.values() for logsource in set(logsources))
    listed = ", ".join(
        f"{describe(ls)} ({n})" for ls, n in sorted(per_logsource.items(), key=lambda kv: (-kv[1], kv[0]))
    )
    out = [
        f"{len(links.unknown)} of {len(links.rules)} Sigma rules have a logsource attack-kg's table "
        f"({LOGSOURCES_FILE}) does not know, so no event source is claimed for them: {listed}"
    ]
    for iri, logsources in sorted(links.unknown.items(), key=lambda kv: links.rules[kv[0]].path or kv[0]):
        rule = links.rules[iri]
        name = f"{rule.path or iri} ({rule.title!r})" if rule.title else rule.path or iri
        out += [f"Sigma rule {name}: no known event source for logsource {describe(ls)}" for ls in logsources]
    return out


def attack_log_sources(store: ox.Store) -> list[tuple[str, str, str]]:
    """``(log source IRI, name, channel)`` of every akg:LogSource of the store's ATT&CK graphs."""
    found: dict[str, list[str]] = {}
    for graph in store.named_graphs():
        if not graph.value.startswith(_ATTACK):
            continue
        for quad in store.quads_for_pattern(None, TYPE, akg("LogSource"), graph):
            found.setdefault(quad.subject.value, ["", ""])
        for index, local in enumerate(("logSourceName", "logSourceChannel")):
            for quad in store.quads_for_pattern(None, akg(local), None, graph):
                if quad.subject.value in found:
                    found[quad.subject.value][index] = quad.object.value
    return sorted((iri, name, channel) for iri, (name, channel) in found.items())


def log_source_events(name: str, channel: str) -> list[EventSource]:
    """The event sources an ATT&CK log source names: the events of an ``EventCode=...`` channel of
    a Windows or Sysmon log, else the whole provider; none for a name attack-kg cannot read."""
    provider = ATTACK_LOG_SOURCES.get(name.strip())
    if provider is None:
        return []
    codes = _EVENT_CODES.match(channel or "")
    if not codes or provider not in _BY_EVENT_CODE:
        return [EventSource(provider, "", event_label(provider), "")]
    out = []
    for code in (part.strip() for part in codes[1].split(",")):
        owner = (
            "windows-powershell-classic"
            if provider == "windows-powershell" and code in _CLASSIC_POWERSHELL
            else provider
        )
        out.append(EventSource(owner, code, event_label(owner, code), "ATT&CK analytic log source"))
    return out


def attack_triples(log_sources: list[tuple[str, str, str]], known: Table) -> tuple[list[ox.Triple], int]:
    """``akg:eventSource`` of each readable ATT&CK log source, and the event nodes the table lacks;
    with the number of log sources linked."""
    out: list[ox.Triple] = []
    new: dict[str, EventSource] = {}
    linked = 0
    for iri, name, channel in log_sources:
        events = log_source_events(name, channel)
        linked += bool(events)
        for event in events:
            out.append(ox.Triple(ox.NamedNode(iri), akg("eventSource"), ox.NamedNode(event.iri)))
            if (event.provider, event.event) not in known.event_sources:
                new.setdefault(event.iri, event)
    return out + event_source_triples(list(new.values())), linked


def build(store: ox.Store) -> Report | None:
    """Link the store's Sigma rules and ATT&CK log sources to event sources in ``TELEMETRY_GRAPH``;
    None when the store has neither."""
    rules = sigma_rules(store)
    log_sources = attack_log_sources(store)
    if not rules and not log_sources:
        return None
    known = table()
    links = link(rules, known)
    out = triples(links, known)
    from_attack, log_sources_linked = attack_triples(log_sources, known)
    out += from_attack
    graph = ox.NamedNode(TELEMETRY_GRAPH)
    store.bulk_extend(ox.Quad(t.subject, t.predicate, t.object, graph) for t in out)
    report = Report(
        source=SOURCE,
        path=f"attackkg.builders/{LOGSOURCES_FILE}",
        graph=TELEMETRY_GRAPH,
        title="Sigma rules' event sources (attack-kg's logsource table)",
        sha256=known.sha256,
        triples=len(out),
        warnings=warnings(links),
    )
    report.counts.update(
        rules=len(rules),
        rules_linked=len(links.fed_by),
        rules_unknown=len(links.unknown),
        event_sources=len(known.event_sources),
        links=sum(len(sources) for sources in links.fed_by.values()),
        attack_log_sources=len(log_sources),
        attack_log_sources_linked=log_sources_linked,
    )
    return report
