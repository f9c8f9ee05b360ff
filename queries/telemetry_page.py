"""The Telemetry section of a technique's coverage page (``attack-kg report``): the event sources
its Sigma rules need, and the log sources ATT&CK's analytics name.

Read with two named queries (``technique-event-sources.rq``, ``telemetry-log-sources.rq``) for
one technique or for all (``report --all``), into :class:`TelemetrySection` objects kept on the
page model (``Coverage.telemetry``, filled by :func:`add_sections` from ``load_coverage``; the
layers, which share the page model, ask it not to); the templates ``telemetry.md.j2`` and
``telemetry.html.j2`` render them, and leave the section out of a page whose model was not given
it. The section counts a technique's rules as ``query detections`` does: its own and
its sub-techniques'.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from attackkg.queries import rows


@dataclass
class NeededSource:
    """An event source that can feed some of the technique's rules (any one source of a rule suffices)."""

    name: str  # sysmon/1
    label: str | None
    rules: set[str] = field(default_factory=set)  # rule IDs it can feed


@dataclass
class TelemetrySection:
    """What the Telemetry section of one page lists."""

    rules: set[str] = field(default_factory=set)  # rule IDs (the technique's and its sub-techniques')
    sources: dict[str, NeededSource] = field(default_factory=dict)
    unknown: dict[str, str] = field(default_factory=dict)  # rule ID -> its logsource the table lacks
    log_sources: list[tuple[str, str, str]] = field(default_factory=list)  # (name, channel, data component)

    @property
    def providers(self) -> list[tuple[str, list[NeededSource]]]:
        """The needed sources by provider, each provider's events in ID order."""
        grouped: dict[str, list[NeededSource]] = defaultdict(list)
        for source in self.sources.values():
            grouped[source.name.split("/", 1)[0]].append(source)
        return [(p, sorted(found, key=lambda s: _event_order(s.name))) for p, found in sorted(grouped.items())]


def _event_order(name: str) -> tuple[int, str]:
    event = name.partition("/")[2]
    return (int(event), "") if event.isdigit() else (1 << 30 if event else -1, event)


def load_sections(target, technique: str | None = None) -> dict[str, TelemetrySection]:
    """Technique ID -> its Telemetry section (only techniques with a rule or an analytic log source)."""
    params = {} if technique is None else {"technique": technique}
    sections: dict[str, TelemetrySection] = defaultdict(TelemetrySection)
    for row in rows(target, "technique-event-sources", **params):
        section = sections[str(row["technique"])]
        rule_id = str(row.get("rule_id", ""))
        section.rules.add(rule_id)
        if row.get("event_source"):
            name = str(row["event_source"])
            needed = section.sources.setdefault(name, NeededSource(name, _text(row.get("label"))))
            needed.rules.add(rule_id)
        elif row.get("unknown_logsource"):
            section.unknown[rule_id] = str(row["unknown_logsource"])
    for row in rows(target, "telemetry-log-sources", **params):
        found = (str(row.get("log_source_name", "")), str(row.get("channel", "")), str(row.get("data_component", "")))
        section = sections[str(row["technique"])]
        if found not in section.log_sources:
            section.log_sources.append(found)
    return dict(sections)


def add_sections(target, coverage, technique: str | None = None) -> None:
    """Fill the page model's ``telemetry`` (technique ID -> section) and ``telemetry_loaded``
    (whether the store has event sources at all: a store built before the Sigma log source table
    has none, and its pages say so)."""
    coverage.telemetry = load_sections(target, technique)
    coverage.telemetry_loaded = bool(rows(target, "telemetry-event-sources"))


def section_of(coverage, attack_id: str) -> TelemetrySection:
    """The technique's section (empty when it has no rule and no analytic log source)."""
    return coverage.telemetry.get(attack_id) or TelemetrySection()


def _text(value: object) -> str | None:
    return None if value is None else str(value)
