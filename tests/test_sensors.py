"""CTID's sensor mappings as a source (builders/sensors.py): sensor events -> ATT&CK data components."""

from __future__ import annotations

import csv
import subprocess
import sys

import pyoxigraph as ox
import pytest

from attackkg.builders import registry, sensors, telemetry
from attackkg.builders.base import InputError
from attackkg.builders.build import build_store
from attackkg.builders.store import current_generation, open_store
from attackkg.ontology import declared_terms
from attackkg.ontology.namespaces import AKG, METADATA_GRAPH, RDFS, TELEMETRY_GRAPH, event_source_iri

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


@pytest.fixture(scope="module")
def repo(fixtures):
    return fixtures / "sensors" / "repo"


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory, fixtures, repo):
    store_dir = tmp_path_factory.mktemp("sensors") / "store"
    build_store(
        store_dir,
        attack_paths=[fixtures / "attack" / "small-enterprise-2.1.json"],
        sigma_paths=[fixtures / "sigma" / "repo"],
        sensors_path=repo,
    )
    return store_dir


def values(store: ox.Store, query: str) -> list[tuple[str, ...]]:
    return [tuple(t.value for t in row) for row in store.query(query, prefixes={"akg": AKG, "rdfs": RDFS})]


def csv_rows(repo) -> list[tuple[str, str, str]]:
    """(sensor, event ID, data component) of every fixture row, read with csv, not the builder."""
    out = []
    for path in sorted(repo.rglob("*-sensors-mappings-enterprise.csv")):
        with path.open(encoding="utf-8", newline="") as stream:
            out += [
                (path.name.split("-")[0], r["EVENT ID"], r["ATT&CK DATA COMPONENT"]) for r in csv.DictReader(stream)
            ]
    return out


def test_every_row_becomes_an_event_with_its_components(repo):
    data = sensors.load(repo)
    rows = csv_rows(repo)
    assert data.rows == len(rows) and len(data.files) == 6
    assert {(e.event, c) for e in data.events.values() for c in e.components} == {(r[1], r[2]) for r in rows}
    assert data.events[("sysmon", "1")].components == ["Process Creation"]  # two rows, one component
    # WinEvtx is split by the event log each ID is written to.
    providers = {event: provider for (provider, event) in data.events if provider.startswith("windows-")}
    assert providers == {
        "4688": "windows-security",
        "4768": "windows-security",
        "1102": "windows-security",
        "4103": "windows-powershell",
        "4104": "windows-powershell",
        "5861": "windows-wmi",
        "2004": "windows-firewall-as",
        "6005": "windows-system",
    }
    assert {p for p, _ in data.events} >= {"sysmon", "auditd", "aws-cloudtrail", "osquery", "zeek"}


def test_events_meet_the_sigma_rules_on_one_node_and_link_the_data_components(store_dir):
    store = open_store(store_dir)
    process_creation = values(
        store,
        """SELECT ?dc WHERE { GRAPH ?a { ?dc a akg:DataComponent ; rdfs:label "Process Creation" } }""",
    )[0][0]
    providing = {
        row[0]
        for row in values(
            store,
            f"SELECT ?e WHERE {{ GRAPH ?g {{ ?e akg:providesDataComponent <{process_creation}> }} }}",
        )
    }
    assert providing == {
        event_source_iri("sysmon", 1),
        event_source_iri("windows-security", 4688),
        event_source_iri("auditd", "USER_CMD"),
    }
    # The Windows process_creation rule of the Sigma fixture is fed by an event that provides Process Creation.
    fed = values(
        store,
        f"""SELECT DISTINCT ?source WHERE {{ GRAPH <{TELEMETRY_GRAPH}> {{ ?rule akg:fedBy ?source }}
            GRAPH ?s {{ ?source akg:providesDataComponent <{process_creation}> }} }}""",
    )
    assert {row[0] for row in fed} == {event_source_iri("sysmon", 1), event_source_iri("windows-security", 4688)}
    # One label per node, whichever graph writes it.
    labels = values(
        store, f"SELECT DISTINCT ?l WHERE {{ GRAPH ?g {{ <{event_source_iri('sysmon', 1)}> rdfs:label ?l }} }}"
    )
    assert len(labels) == 1


def test_names_no_loaded_component_has_are_reported(store_dir):
    store = open_store(store_dir)
    warnings = [
        row[0]
        for row in values(
            store,
            f"""SELECT ?w WHERE {{ GRAPH <{METADATA_GRAPH}> {{ ?g akg:sourceKind "sensors" ; akg:warning ?w }} }}""",
        )
    ]
    # The ATT&CK fixture has four data components; Process Creation is one, Logon Session Creation is not.
    assert any("'Logon Session Creation'" in w for w in warnings)
    assert not any("'Process Creation'" in w for w in warnings)
    names = values(
        store,
        """SELECT DISTINCT ?name WHERE { GRAPH ?g { ?e akg:dataComponentName ?name
            FILTER NOT EXISTS { ?e akg:providesDataComponent ?dc } } }""",
    )
    assert {"Logon Session Creation"} <= {row[0] for row in names}


def test_provenance_and_declared_terms(store_dir):
    store = open_store(store_dir)
    ((graph, sha, path),) = values(
        store,
        f"""SELECT ?g ?sha ?path WHERE {{ GRAPH <{METADATA_GRAPH}> {{ ?g akg:sourceKind "sensors" ;
            akg:sha256 ?sha ; akg:inputPath ?path }} }}""",
    )
    assert graph.startswith("https://w3id.org/attack-kg/graph/sensors/enterprise/") and len(sha) == 64
    assert path.endswith("sensors/repo")
    used = {
        term.value
        for quad in store
        for term in (quad.subject, quad.predicate, quad.object)
        if isinstance(term, ox.NamedNode) and term.value.startswith(AKG)
    }
    assert AKG + "providesDataComponent" in used and used - declared_terms() == set()


def test_the_flag_comes_from_the_registry():
    help_text = subprocess.run(
        [sys.executable, "-m", "attackkg.queries.cli", "build", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert registry.get("sensors").flag in help_text and "CTID Sensor Mappings" in help_text


@pytest.mark.parametrize(
    ("case", "line", "message"),
    [
        ("truncated", 3, "bad CSV: unexpected end of data"),
        ("bad-row", 4, "6 columns where the header has 8"),
    ],
)
def test_bad_input_is_one_line_and_leaves_the_store(store_dir, fixtures, case, line, message):
    folder = fixtures / "sensors" / case
    (bad,) = folder.glob("*.csv")
    with pytest.raises(InputError) as caught:
        sensors.load(folder)
    assert str(caught.value) == f"{bad}:{line}: {message}"
    before, quads = current_generation(store_dir), len(open_store(store_dir))
    result = subprocess.run(
        [sys.executable, "-m", "attackkg.queries.cli", "build", "--sensors", str(folder), "--store", str(store_dir)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [f"attack-kg: {bad}:{line}: {message}"]
    assert current_generation(store_dir) == before and len(open_store(store_dir)) == quads


def test_a_file_that_is_no_sensor_table_is_refused(tmp_path, repo):
    other = tmp_path / "notes.csv"
    other.write_text("a,b\n1,2\n")
    with pytest.raises(InputError, match="not a CTID sensor mapping CSV"):
        sensors.load(other)
    odd = tmp_path / "Foo-sensors-mappings-enterprise.csv"
    odd.write_text("EVENT ID,EVENT DESCRIPTION,ATT&CK DATA COMPONENT\n1,x,Process Creation\n")
    with pytest.raises(InputError, match="unknown sensor 'Foo'"):
        sensors.load(odd)


def test_full_sensor_mappings(shared_data):
    repo = shared_data / "ctid" / "sensor-mappings"
    data = sensors.load(repo)
    rows = csv_rows(repo)
    assert data.rows == len(rows) > 800
    assert {e.event for e in data.events.values()} == {r[1] for r in rows}
    providers = {p for p, _ in data.events}
    assert {"sysmon", "windows-security", "aws-cloudtrail", "auditd", "zeek", "osquery"} <= providers


def test_full_build_links_each_name_or_reports_it(full_store_dir):
    """In the session's full build (ATT&CK 18.1 + CTID's sensor mappings), every data component
    name of a sensor event is linked to the 18.1 component of that name, or reported."""
    store = open_store(full_store_dir)
    names = values(
        store,
        """SELECT DISTINCT ?e ?name WHERE { GRAPH ?s { ?e a akg:EventSource ; akg:dataComponentName ?name } }""",
    )
    components = {
        row[0].lower(): row[1]
        for row in values(store, "SELECT ?l ?dc WHERE { GRAPH ?a { ?dc a akg:DataComponent ; rdfs:label ?l } }")
    }
    links = set(values(store, "SELECT ?e ?dc WHERE { GRAPH ?s { ?e akg:providesDataComponent ?dc } }"))
    warnings = "\n".join(
        row[0]
        for row in values(
            store,
            f"""SELECT ?w WHERE {{ GRAPH <{METADATA_GRAPH}> {{ ?g akg:sourceKind "sensors" ; akg:warning ?w }} }}""",
        )
    )
    linked = [(e, n) for e, n in names if n.lower() in components]
    assert len(names) > 800 and len(linked) > 0.8 * len(names)
    print(f"\nsensor event -> data component names: {len(names)}, linked to ATT&CK 18.1: {len(linked)}")
    for event, name in names:
        if name.lower() in components:
            assert (event, components[name.lower()]) in links
        else:
            assert repr(name) in warnings, name
    sysmon_1 = {dc for e, dc in links if e == event_source_iri("sysmon", 1)}
    assert sysmon_1 == {components["process creation"]}


def test_every_sensor_provider_is_a_known_name(repo):
    known = set(telemetry.table().providers())
    assert {provider for provider, _ in sensors.load(repo).events} <= known
    assert set(sensors.SENSOR_PROVIDERS) <= known
