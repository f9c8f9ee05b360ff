"""The Sigma logsource -> event source table (builders/*.tsv) and the derived telemetry graph."""

from __future__ import annotations

import re

import pytest

from attackkg.builders import telemetry
from attackkg.builders.build import build_dataset
from attackkg.builders.store import open_store
from attackkg.ontology import declared_terms
from attackkg.ontology.namespaces import AKG, METADATA_GRAPH, RDFS, TELEMETRY_GRAPH, event_source_iri

PROVIDER_NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
KNOWN_SOURCES = ("pysigma", "sigma-taxonomy", "sigmahq-logsource-guide", "ctid-sensor-mappings")


def test_every_row_has_a_source_and_every_link_a_known_event_source():
    table = telemetry.table()
    assert len(table.logsources) > 100 and len(table.event_sources) > 100
    for source in table.event_sources.values():
        assert source.source.startswith(KNOWN_SOURCES), source
        assert source.label and PROVIDER_NAME.match(source.provider), source
        assert (source.provider, "") in table.event_sources, f"{source.provider} has no provider-level row"
    for logsource, rows in table.logsources.items():
        assert any(logsource), "a row with no product, category or service would match keyword-only rules"
        for key, source in rows:
            assert key in table.event_sources and source.startswith(KNOWN_SOURCES), (logsource, key, source)


def test_the_two_examples_of_the_issue():
    table = telemetry.table()
    process_creation = {(s.provider, s.event) for s in table.feeds(("windows", "process_creation", ""))}
    assert process_creation == {("sysmon", "1"), ("windows-security", "4688")}
    assert [(s.provider, s.event) for s in table.feeds(("windows", "", "security"))] == [("windows-security", "")]
    assert table.feeds(("macos", "process_creation", "")) is None  # the taxonomy names no event source
    assert table.feeds(("Windows", "Process_Creation", "")) == table.feeds(("windows", "process_creation", ""))


def test_the_contract_providers_are_known():
    providers = telemetry.table().providers()
    for name in ("sysmon", "windows-security", "aws-cloudtrail", "auditd", "zeek", "osquery", "windows-powershell"):
        assert name in providers
    assert event_source_iri("sysmon", 1) == "https://w3id.org/attack-kg/id/event-source/sysmon/1"
    assert event_source_iri("zeek", "smb files") == "https://w3id.org/attack-kg/id/event-source/zeek/smb%20files"
    assert event_source_iri("windows-security") == "https://w3id.org/attack-kg/id/event-source/windows-security"


def test_a_rule_collection_looks_every_combination_up():
    rule = telemetry.Rule("r.yml", "r", {"windows"}, {"process_creation", "no_such_category"}, None)
    links = telemetry.link({"urn:uuid:r": rule}, telemetry.table())
    assert {(s.provider, s.event) for s in links.fed_by["urn:uuid:r"]} == {
        ("sysmon", "1"),
        ("windows-security", "4688"),
    }
    assert links.unknown["urn:uuid:r"] == [("windows", "no_such_category", "")]
    assert "product=windows category=no_such_category service=" in "\n".join(telemetry.warnings(links))


@pytest.fixture(scope="module")
def fixture_dataset(fixtures):
    return build_dataset(sigma_paths=[fixtures / "sigma" / "repo"])


def _values(store, query: str) -> list[tuple[str, ...]]:
    rows = store.query(query, prefixes={"akg": AKG, "rdfs": RDFS})
    return [tuple(term.value if term is not None else "" for term in row) for row in rows]


def test_fixture_rules_link_to_their_event_sources(fixture_store):
    store = open_store(fixture_store)
    fed = _values(
        store,
        f"""SELECT ?path ?source WHERE {{ GRAPH ?g {{ ?rule akg:rulePath ?path }}
            GRAPH <{TELEMETRY_GRAPH}> {{ ?rule akg:fedBy ?source }} }}""",
    )
    by_path: dict[str, set[str]] = {}
    for path, source in fed:
        by_path.setdefault(path, set()).add(source)
    office = "rules/windows/process_creation/proc_creation_win_office_susp_child_processes.yml"
    assert by_path[office] == {event_source_iri("sysmon", 1), event_source_iri("windows-security", 4688)}
    zeek = "rules/network/zeek/zeek_default_cobalt_strike_certificate.yml"
    assert by_path[zeek] == {event_source_iri("zeek", "x509")}
    script = "rules/windows/powershell/powershell_script/posh_ps_create_volume_shadow_copy.yml"
    assert by_path[script] == {event_source_iri("windows-powershell", 4104)}
    # The event-level nodes say their provider and event, and point at the provider-level node.
    ((provider, event, label, parent),) = _values(
        store,
        f"""SELECT ?p ?e ?l ?parent WHERE {{ GRAPH <{TELEMETRY_GRAPH}> {{
            <{event_source_iri("sysmon", 1)}> a akg:EventSource ; akg:eventProvider ?p ; akg:eventId ?e ;
                rdfs:label ?l ; akg:eventOf ?parent }} }}""",
    )
    assert (provider, event, parent) == ("sysmon", "1", event_source_iri("sysmon"))
    assert "process creation" in label


def test_every_fixture_rule_is_linked_or_reported(fixture_store):
    store = open_store(fixture_store)
    rules = {row[0] for row in _values(store, "SELECT ?r WHERE { GRAPH ?g { ?r a akg:SigmaRule } }")}
    linked = {
        row[0] for row in _values(store, f"SELECT ?r WHERE {{ GRAPH <{TELEMETRY_GRAPH}> {{ ?r akg:fedBy ?s }} }}")
    }
    unknown = _values(
        store,
        f"""SELECT ?path ?ls WHERE {{ GRAPH <{TELEMETRY_GRAPH}> {{ ?r akg:unknownLogsource ?ls }}
            GRAPH ?g {{ ?r akg:rulePath ?path }} }}""",
    )
    unknown_rules = {
        row[0]
        for row in _values(store, f"SELECT ?r WHERE {{ GRAPH <{TELEMETRY_GRAPH}> {{ ?r akg:unknownLogsource ?l }} }}")
    }
    assert rules and linked and unknown_rules
    assert rules == linked | unknown_rules
    assert (
        "rules/macos/process_creation/proc_creation_macos_susp_execution_macos_script_editor.yml",
        "product=macos category=process_creation service=",
    ) in unknown
    warnings = "\n".join(
        row[0]
        for row in _values(
            store, f"SELECT ?w WHERE {{ GRAPH <{METADATA_GRAPH}> {{ <{TELEMETRY_GRAPH}> akg:warning ?w }} }}"
        )
    )
    for path, _ in unknown:
        assert path in warnings


def test_every_term_is_declared(fixture_dataset):
    terms = {
        str(term)
        for s, p, o, g in fixture_dataset.quads((None, None, None, None))
        for term in (s, p, o)
        if str(term).startswith(AKG)
    }
    assert {AKG + "fedBy", AKG + "unknownLogsource", AKG + "EventSource", AKG + "eventOf"} <= terms
    assert terms - declared_terms() == set()


def test_full_build_links_every_rule_or_reports_it(full_store_dir):
    """Issue 14's acceptance: every Sigma rule of the shared data links to an event source or is
    named in the report of unknown log sources; both counts come from the graph."""
    store = open_store(full_store_dir)
    rules = {row[0] for row in _values(store, "SELECT ?r WHERE { GRAPH ?g { ?r a akg:SigmaRule } }")}
    linked = {
        row[0]
        for row in _values(store, f"SELECT DISTINCT ?r WHERE {{ GRAPH <{TELEMETRY_GRAPH}> {{ ?r akg:fedBy ?s }} }}")
    }
    unknown = dict(
        _values(
            store,
            f"""SELECT ?r ?path WHERE {{ GRAPH <{TELEMETRY_GRAPH}> {{ ?r akg:unknownLogsource ?ls }}
            GRAPH ?g {{ ?r akg:rulePath ?path }} }}""",
        )
    )
    print(f"\nSigma rules: {len(rules)}, linked to an event source: {len(linked)}, unknown logsource: {len(unknown)}")
    assert len(rules) > 3000
    assert rules == linked | set(unknown)
    assert len(linked) > 0.9 * len(rules)
    warnings = "\n".join(
        row[0]
        for row in _values(
            store, f"SELECT ?w WHERE {{ GRAPH <{METADATA_GRAPH}> {{ <{TELEMETRY_GRAPH}> akg:warning ?w }} }}"
        )
    )
    missing = [path for path in unknown.values() if path not in warnings]
    assert not missing, missing[:5]
    assert f"{len(unknown)} of {len(rules)} Sigma rules" in warnings
    # Every event source a rule is fed by is a node of the graph, with its provider.
    orphans = _values(
        store,
        f"""SELECT DISTINCT ?s WHERE {{ GRAPH <{TELEMETRY_GRAPH}> {{ ?r akg:fedBy ?s
            FILTER NOT EXISTS {{ ?s a akg:EventSource ; akg:eventProvider ?p }} }} }}""",
    )
    assert orphans == []
    # ATT&CK's analytics: every log source whose name attack-kg reads links to event sources.
    names = dict(
        _values(store, "SELECT ?ls ?name WHERE { GRAPH ?a { ?ls a akg:LogSource ; akg:logSourceName ?name } }")
    )
    linked = {
        row[0]
        for row in _values(store, f"SELECT ?ls WHERE {{ GRAPH <{TELEMETRY_GRAPH}> {{ ?ls akg:eventSource ?s }} }}")
    }
    print(f"ATT&CK log sources: {len(names)}, linked to an event source: {len(linked)}")
    assert linked == {ls for ls, name in names.items() if name in telemetry.ATTACK_LOG_SOURCES}
    assert len(linked) > 0.3 * len(names)
    assert not _values(
        store,
        f"""SELECT ?s WHERE {{ GRAPH <{TELEMETRY_GRAPH}> {{ ?ls akg:eventSource ?s
            FILTER NOT EXISTS {{ ?s a akg:EventSource ; akg:eventProvider ?p }} }} }}""",
    )


def test_attack_log_source_names_are_read_into_event_sources():
    read = telemetry.log_source_events
    assert [(s.provider, s.event) for s in read("WinEventLog:Sysmon", "EventCode=3, 22")] == [
        ("sysmon", "3"),
        ("sysmon", "22"),
    ]
    assert [(s.provider, s.event) for s in read("WinEventLog:PowerShell", "EventCode=4104, 400")] == [
        ("windows-powershell", "4104"),
        ("windows-powershell-classic", "400"),
    ]
    assert [(s.provider, s.event) for s in read("AWS:CloudTrail", "CreateTrail, DeleteTrail")] == [
        ("aws-cloudtrail", "")
    ]
    assert [(s.provider, s.event) for s in read("WinEventLog:Security", "Logon events")] == [("windows-security", "")]
    assert read("NSM:Flow", "EventCode=1") == []
    assert read("WinEventLog:Security", "EventCode=4624")[0].label == "Windows Security event 4624"


def test_fixture_analytics_log_sources_link_to_event_sources(fixture_store):
    store = open_store(fixture_store)
    found = _values(
        store,
        f"""SELECT ?name ?channel ?source WHERE {{
            GRAPH ?a {{ ?analytic akg:attackId "AN0178" ; akg:logSource ?ls .
                        ?ls akg:logSourceName ?name ; akg:logSourceChannel ?channel }}
            OPTIONAL {{ GRAPH <{TELEMETRY_GRAPH}> {{ ?ls akg:eventSource ?source }} }} }}""",
    )
    by_log_source: dict[tuple[str, str], set[str]] = {}
    for name, channel, *source in found:
        by_log_source.setdefault((name, channel), set()).update(s for s in source if s)
    assert by_log_source[("WinEventLog:Security", "EventCode=4688")] == {event_source_iri("windows-security", 4688)}
    assert by_log_source[("WinEventLog:Sysmon", "EventCode=3, 22")] == {
        event_source_iri("sysmon", 3),
        event_source_iri("sysmon", 22),
    }
    nsm = [sources for (name, _), sources in by_log_source.items() if name == "NSM:Flow"]
    assert nsm == [set()]  # a name attack-kg cannot read gets no event source
