"""CTID's Sensor Mappings to ATT&CK: which ATT&CK data components each sensor event provides.

The input is the repository folder (github.com/center-for-threat-informed-defense/
sensor-mappings-to-attack, Apache-2.0), any folder under it, or one of its CSV files: every
``<Sensor>-sensors-mappings-<domain>.csv`` (``mappings/input/enterprise/csv/``) is read. The CSVs
are CTID's own input tables, from which its STIX files are generated; the STIX carries the same
fields (the data component by name) and relates data sources to components, not events to
components, so the CSVs are read: they are plainer, and a bad row has a line number.

Each row (``EVENT ID``, ``EVENT DESCRIPTION``, ``ATT&CK DATA SOURCE ID``, ``ATT&CK DATA SOURCE``,
``ATT&CK DATA COMPONENT``, ...) becomes an event-level ``akg:EventSource``, with the IRIs of
attack-kg's logsource table (``attackkg.builders.telemetry_table``), so a Sigma rule fed by
``sysmon/1`` and the CTID mapping of Sysmon event 1 meet on one node. Providers by file:
Sysmon -> ``sysmon``, Auditd -> ``auditd``, CloudTrail -> ``aws-cloudtrail``, OSQuery ->
``osquery``, Zeek -> ``zeek``; WinEvtx is split by event ID into the Windows event log it is
written to (:func:`winevtx_provider`: Security, System, PowerShell Operational, WMI-Activity,
Windows Firewall With Advanced Security).

Into the graph ``.../graph/sensors/<domain>/<SHA-256 prefix of the CSVs>``:

- per event: ``a akg:EventSource``, ``akg:eventProvider``, ``akg:eventId``, ``akg:eventOf`` (its
  provider-level node, also written), ``rdfs:label``, ``dcterms:description`` (CTID's text) and
  ``akg:dataComponentName`` (each component the CSV names, as written);
- ``akg:providesDataComponent`` to the ATT&CK data component of that name (case-insensitive), made
  by :func:`check` once ATT&CK is in the store; names no loaded ATT&CK component has are reported.
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox

from attackkg.builders.base import LABEL, TYPE, InputError, Report, akg, dcterms, text
from attackkg.builders.telemetry_table import event_label
from attackkg.ontology.namespaces import GRAPH, event_source_iri, graph_iri

SOURCE = "sensors"
FILE_NAME = re.compile(r"^(?P<sensor>[A-Za-z0-9]+)-sensors-mappings-(?P<domain>[a-z]+)\.csv$")
# Sensor (the file name's prefix) -> provider name; WinEvtx is split by event ID.
PROVIDERS = {
    "sysmon": "sysmon",
    "auditd": "auditd",
    "cloudtrail": "aws-cloudtrail",
    "osquery": "osquery",
    "zeek": "zeek",
    "winevtx": None,
}
# Every provider this module writes (the names of attack-kg's logsource table).
SENSOR_PROVIDERS = (
    "sysmon",
    "auditd",
    "aws-cloudtrail",
    "osquery",
    "zeek",
    "windows-security",
    "windows-system",
    "windows-powershell",
    "windows-wmi",
    "windows-firewall-as",
)
REQUIRED = ("EVENT ID", "EVENT DESCRIPTION", "ATT&CK DATA COMPONENT")


def winevtx_provider(event_id: str) -> str:
    """The Windows event log a WinEvtx event ID of CTID's table is written to: PowerShell module and
    script block logging (4103, 4104) to PowerShell/Operational, WMI-Activity (5857-5861) to its
    Operational log, the firewall's own events (2002-2033) to Windows Firewall With Advanced
    Security/Firewall, the event log service's start and stop (6005, 6006) to System, and every
    other ID of the table (1100-1104, 4xxx, 5xxx, 6416-6424) to Security."""
    number = int(event_id) if event_id.isdigit() else -1
    if number in (4103, 4104):
        return "windows-powershell"
    if 5857 <= number <= 5861:
        return "windows-wmi"
    if 2000 <= number <= 2099:
        return "windows-firewall-as"
    if number in (6005, 6006):
        return "windows-system"
    return "windows-security"


@dataclass
class SensorEvent:
    """One sensor event and the data components CTID maps it to (several rows of a CSV)."""

    provider: str
    event: str
    description: str
    components: list[str] = field(default_factory=list)
    where: str = ""  # path:line of its first row

    @property
    def iri(self) -> str:
        return event_source_iri(self.provider, self.event)


@dataclass
class SensorMappings:
    path: str
    files: list[str]
    domain: str
    sha256: str
    events: dict[tuple[str, str], SensorEvent]
    rows: int = 0

    @property
    def paths(self) -> list[str]:
        return self.files


def _files(path: Path) -> list[Path]:
    if path.is_file():
        if not FILE_NAME.match(path.name):
            raise InputError(
                "not a CTID sensor mapping CSV (expected <Sensor>-sensors-mappings-<domain>.csv)", path=path
            )
        return [path]
    if not path.is_dir():
        raise InputError("no such file or folder", path=path)
    found = sorted(p for p in path.rglob("*.csv") if FILE_NAME.match(p.name))
    if not found:
        raise InputError("no <Sensor>-sensors-mappings-<domain>.csv file under this folder", path=path)
    return found


def load(path: str | os.PathLike, **options: object) -> SensorMappings:
    """Read every sensor mapping CSV at ``path``; a bad file raises InputError with its line."""
    root = Path(path)
    files = _files(root)
    digest = hashlib.sha256()
    events: dict[tuple[str, str], SensorEvent] = {}
    domains: set[str] = set()
    rows = 0
    for file in files:
        match = FILE_NAME.match(file.name)
        sensor, domain = match["sensor"].lower(), match["domain"]
        if sensor not in PROVIDERS:
            raise InputError(f"unknown sensor {match['sensor']!r}; attack-kg knows {', '.join(PROVIDERS)}", path=file)
        domains.add(domain)
        raw = file.read_bytes()
        digest.update(file.name.encode() + b"\0" + hashlib.sha256(raw).digest())
        rows += _read(file, raw, sensor, events)
    if len(domains) > 1:
        raise InputError(f"sensor mappings of several domains ({', '.join(sorted(domains))}): give one", path=root)
    return SensorMappings(str(root), [str(f) for f in files], domains.pop(), digest.hexdigest(), events, rows)


def _read(file: Path, raw: bytes, sensor: str, events: dict[tuple[str, str], SensorEvent]) -> int:
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise InputError("not UTF-8 text", path=file, line=line) from None
    reader = csv.reader(content.splitlines(keepends=True), strict=True)
    try:
        header = next(reader, None)
        if header is None or any(column not in header for column in REQUIRED):
            raise InputError(
                f"not a sensor mapping table: the header must name {', '.join(REQUIRED)}", path=file, line=1
            )
        index = {column: header.index(column) for column in REQUIRED}
        count = 0
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise InputError(f"{len(row)} columns where the header has {len(header)}", path=file, line=line)
            event = row[index["EVENT ID"]].strip()
            component = row[index["ATT&CK DATA COMPONENT"]].strip()
            if not event:
                raise InputError("empty EVENT ID", path=file, line=line)
            provider = PROVIDERS[sensor] or winevtx_provider(event)
            entry = events.setdefault(
                (provider, event),
                SensorEvent(provider, event, row[index["EVENT DESCRIPTION"]].strip(), where=f"{file}:{line}"),
            )
            if component and component not in entry.components:
                entry.components.append(component)
            count += 1
        return count
    except csv.Error as error:
        raise InputError(f"bad CSV: {error}", path=file, line=reader.line_num) from None


def graph_name(data: SensorMappings) -> str:
    return graph_iri("sensors", data.domain, data.sha256[:12])


def triples(data: SensorMappings):
    """Event-level and provider-level event sources, with CTID's descriptions and component names."""
    providers = sorted({event.provider for event in data.events.values()})
    for provider in providers:
        node = ox.NamedNode(event_source_iri(provider))
        yield ox.Triple(node, TYPE, akg("EventSource"))
        yield ox.Triple(node, akg("eventProvider"), text(provider))
        yield ox.Triple(node, LABEL, text(event_label(provider)))
    for (provider, event), entry in sorted(data.events.items()):
        node = ox.NamedNode(entry.iri)
        yield ox.Triple(node, TYPE, akg("EventSource"))
        yield ox.Triple(node, akg("eventProvider"), text(provider))
        yield ox.Triple(node, akg("eventId"), text(event))
        yield ox.Triple(node, akg("eventOf"), ox.NamedNode(event_source_iri(provider)))
        yield ox.Triple(node, LABEL, text(event_label(provider, event)))
        if entry.description:
            yield ox.Triple(node, dcterms("description"), text(entry.description))
        for component in entry.components:
            yield ox.Triple(node, akg("dataComponentName"), text(component))


def report(data: SensorMappings) -> Report:
    per_provider = Counter(event.provider for event in data.events.values())
    result = Report(
        SOURCE,
        data.path,
        graph_name(data),
        version=data.sha256[:12],
        title=f"CTID Sensor Mappings to ATT&CK ({data.domain})",
        sha256=data.sha256,
    )
    result.counts.update(
        files=len(data.files),
        rows=data.rows,
        events=len(data.events),
        data_component_names=len({c for event in data.events.values() for c in event.components}),
    )
    result.counts.update({f"events:{provider}": n for provider, n in per_provider.items()})
    return result


def check(data: SensorMappings, store: ox.Store, graphs: dict[str, list[str]]) -> list[str]:
    """Link each event to the loaded ATT&CK's data components of the names CTID gives
    (``akg:providesDataComponent``, in the sensors graph); warn about names that match nothing."""
    by_name: dict[str, set[str]] = {}
    attack_graphs = [g for g in graphs.get("attack", []) if g.startswith(GRAPH + "attack/")]
    for graph in map(ox.NamedNode, attack_graphs):
        for quad in store.quads_for_pattern(None, TYPE, akg("DataComponent"), graph):
            for named in store.quads_for_pattern(quad.subject, LABEL, None, graph):
                by_name.setdefault(named.object.value.strip().lower(), set()).add(quad.subject.value)
    total = sum(len(event.components) for event in data.events.values())
    if not by_name:
        return [
            f"no ATT&CK data components in this build: the {total} data component names of the sensor mappings "
            "stay names (akg:dataComponentName); build with --attack to link them (akg:providesDataComponent)"
        ]
    graph = ox.NamedNode(graph_name(data))
    quads, unmatched = [], Counter()
    for entry in data.events.values():
        for component in entry.components:
            iris = by_name.get(component.lower())
            if not iris:
                unmatched[component] += 1
            for iri in sorted(iris or ()):
                quads.append(ox.Quad(ox.NamedNode(entry.iri), akg("providesDataComponent"), ox.NamedNode(iri), graph))
    store.bulk_extend(quads)
    if not unmatched:
        return []
    names = {c.lower() for event in data.events.values() for c in event.components}
    summary = (
        f"{len(unmatched)} of {len(names)} data component names of the sensor mappings match no data component "
        f"of the loaded ATT&CK ({sum(unmatched.values())} of {total} event links left as names); "
        f"{len(quads)} links made"
    )
    return [summary] + [
        f"CTID sensor mappings name data component {name!r} ({n} event(s)), which no loaded ATT&CK release has"
        for name, n in sorted(unmatched.items())
    ]
