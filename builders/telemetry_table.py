"""attack-kg's table from Sigma logsources to the event sources that feed them (package data).

Two TSV files beside this module, written by ``derive_telemetry_table.py`` (development only; its
docstring says what it read, pySigma's processing pipelines and the Sigma taxonomy):

- ``event-sources.tsv``: the known event sources, ``provider`` (a whole log, channel or sensor:
  ``windows-security``, ``aws-cloudtrail``) or ``provider`` + ``event`` (``sysmon`` ``1``), each
  with a label and where it comes from;
- ``sigma-logsources.tsv``: Sigma ``product``/``category``/``service`` -> the event sources that
  can feed it (several rows for one logsource are alternatives: any one suffices).

Read by the telemetry derivation (``telemetry.py``) and the sensor mappings (``sensors.py``), which
name events by the same IRIs and labels (``event_label``).
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections import defaultdict
from dataclasses import dataclass
from functools import cache
from importlib import resources

import pyoxigraph as ox

from attackkg.builders.base import LABEL, TYPE, akg, dcterms, text
from attackkg.ontology.namespaces import event_source_iri

EVENT_SOURCES_FILE = "event-sources.tsv"
LOGSOURCES_FILE = "sigma-logsources.tsv"
# How an event of a provider is named when the table has no label for it.
EVENT_TITLES = {
    "sysmon": "Sysmon event",
    "sysmon-linux": "Sysmon for Linux event",
    "windows-security": "Windows Security event",
    "windows-system": "Windows System event",
    "windows-application": "Windows Application event",
    "windows-powershell": "PowerShell event",
    "windows-powershell-classic": "Windows PowerShell (classic) event",
    "windows-wmi": "WMI-Activity event",
    "windows-firewall-as": "Windows Firewall With Advanced Security event",
    "auditd": "auditd record type",
    "aws-cloudtrail": "AWS CloudTrail event",
    "osquery": "osquery table",
    "zeek": "Zeek event",
}

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


def event_source_triples(sources: list[EventSource]) -> list[ox.Triple]:
    """The event sources as nodes: class, provider, event ID, label, provider link, row source."""
    out: list[ox.Triple] = []
    for source in sources:
        node = ox.NamedNode(source.iri)
        out += [
            ox.Triple(node, TYPE, akg("EventSource")),
            ox.Triple(node, akg("eventProvider"), text(source.provider)),
            ox.Triple(node, LABEL, text(source.label)),
        ]
        if source.source:
            out.append(ox.Triple(node, dcterms("source"), text(source.source)))
        if source.event:
            out.append(ox.Triple(node, akg("eventId"), text(source.event)))
            out.append(ox.Triple(node, akg("eventOf"), ox.NamedNode(event_source_iri(source.provider))))
    return out


def event_label(provider: str, event: str = "") -> str:
    """The label of an event source: the table's, else ``<provider's event title> <event>``
    (``Windows Security event 4624``); the sensors graph uses it too, so a node has one label."""
    known = table().event_sources.get((provider, event))
    if known is not None:
        return known.label
    return f"{EVENT_TITLES.get(provider, provider + ' event')} {event}" if event else provider
