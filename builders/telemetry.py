"""Which event sources can feed each Sigma rule (a derived step, run when Sigma rules are built).

A Sigma rule names its log source abstractly (``product: windows``, ``category:
process_creation``); a defender collects concrete events (Sysmon event 1, Security event 4688).
attack-kg ships the table between the two as package data, with a source for every row:

- ``event-sources.tsv``: the known event sources, ``provider`` (a whole log, channel or sensor:
  ``windows-security``, ``aws-cloudtrail``) or ``provider`` + ``event`` (``sysmon`` ``1``), each
  with a label and where it comes from;
- ``sigma-logsources.tsv``: Sigma ``product``/``category``/``service`` -> the event sources that
  can feed it (several rows for one logsource are alternatives: any one suffices).

Both were derived from pySigma's processing pipelines (pysigma, pysigma-pipeline-sysmon,
pysigma-pipeline-windows) and the Sigma taxonomy by ``derive_telemetry_table.py`` beside them
(development only; its docstring lists the versions read). A logsource matches a row when its
product, category and service are exactly the row's (an absent field matches an empty one).

Into ``TELEMETRY_GRAPH`` (derived by attack-kg, not SigmaHQ's words):

- every event source of the table: ``a akg:EventSource``, ``akg:eventProvider``, ``akg:eventId``
  (event level), ``rdfs:label``, ``akg:eventOf`` (event -> its provider), ``dcterms:source``
  (the table row's source);
- ``<rule> akg:fedBy <event source>`` for each event source that can feed a rule;
- ``<rule> akg:unknownLogsource "product=... category=... service=..."`` for a logsource the
  table does not know; the report's warnings name every such rule (path and title).

A rule collection with several logsources is stored with each field's values side by side, so
every combination of its products, categories and services is looked up.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import cache
from importlib import resources
from itertools import product as combinations

import pyoxigraph as ox

from attackkg.builders.base import LABEL, TYPE, Report, akg, dcterms, text
from attackkg.ontology.namespaces import GRAPH, TELEMETRY_GRAPH, event_source_iri

SOURCE = "derived"
EVENT_SOURCES_FILE = "event-sources.tsv"
LOGSOURCES_FILE = "sigma-logsources.tsv"
_SIGMA = GRAPH + "sigma/"

Logsource = tuple[str, str, str]  # (product, category, service), "" where absent
SourceKey = tuple[str, str]  # (provider, event), event "" at provider level


@dataclass(frozen=True)
class EventSource:
    """One row of ``event-sources.tsv``."""

    provider: str
    event: str  # "" for the provider level
    label: str
    source: str

    @property
    def iri(self) -> str:
        return event_source_iri(self.provider, self.event or None)


@dataclass(frozen=True)
class Table:
    """The shipped tables: event sources by (provider, event), and Sigma logsource -> event sources."""

    event_sources: dict[SourceKey, EventSource]
    logsources: dict[Logsource, list[tuple[SourceKey, str]]]  # -> [((provider, event), row source)]
    sha256: str

    def providers(self) -> list[str]:
        """The provider names, sorted (the names a telemetry profile can list)."""
        return sorted({key[0] for key in self.event_sources})

    def feeds(self, logsource: Logsource) -> list[EventSource] | None:
        """The event sources that can feed ``logsource``; None when the table does not know it."""
        rows = self.logsources.get(tuple(part.strip().lower() for part in logsource))
        return None if rows is None else [self.event_sources[key] for key, _ in rows]


def _rows(name: str) -> tuple[list[list[str]], bytes]:
    raw = resources.files("attackkg.builders").joinpath(name).read_bytes()
    lines = [line for line in raw.decode("utf-8").splitlines() if line and not line.startswith("#")]
    return list(csv.reader(io.StringIO("\n".join(lines)), delimiter="\t")), raw


@cache
def table() -> Table:
    """The shipped tables, read once (package data; a broken row is a bug in attack-kg, so it raises)."""
    digest = hashlib.sha256()
    sources: dict[SourceKey, EventSource] = {}
    rows, raw = _rows(EVENT_SOURCES_FILE)
    digest.update(raw)
    for provider, event, label, source in rows:
        sources[(provider, event)] = EventSource(provider, event, label, source)
    logsources: dict[Logsource, list[tuple[SourceKey, str]]] = defaultdict(list)
    rows, raw = _rows(LOGSOURCES_FILE)
    digest.update(raw)
    for product, category, service, provider, event, source in rows:
        key = (provider, event)
        if key not in sources or (provider, "") not in sources:
            raise ValueError(f"{LOGSOURCES_FILE}: {provider}/{event} is not in {EVENT_SOURCES_FILE}")
        logsources[(product, category, service)].append((key, source))
    return Table(sources, dict(logsources), digest.hexdigest())


def describe(logsource: Logsource) -> str:
    """``product=windows category=process_creation service=``: how a logsource is written."""
    product, category, service = logsource
    return f"product={product} category={category} service={service}"


def event_source_triples(sources: list[EventSource]) -> list[ox.Triple]:
    """The event sources as nodes: class, provider, event ID, label, provider link, row source."""
    out: list[ox.Triple] = []
    for source in sources:
        node = ox.NamedNode(source.iri)
        out += [
            ox.Triple(node, TYPE, akg("EventSource")),
            ox.Triple(node, akg("eventProvider"), text(source.provider)),
            ox.Triple(node, LABEL, text(source.label)),
            ox.Triple(node, dcterms("source"), text(source.source)),
        ]
        if source.event:
            out.append(ox.Triple(node, akg("eventId"), text(source.event)))
            out.append(ox.Triple(node, akg("eventOf"), ox.NamedNode(event_source_iri(source.provider))))
    return out


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


def build(store: ox.Store) -> Report | None:
    """Link the store's Sigma rules to their event sources in ``TELEMETRY_GRAPH``; None without rules."""
    rules = sigma_rules(store)
    if not rules:
        return None
    known = table()
    links = link(rules, known)
    out = triples(links, known)
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
    )
    return report
