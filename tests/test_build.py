"""One graph: every source into one store (issue 2), on fixtures and on the full shared data."""

from __future__ import annotations

import re
import string

import pyoxigraph as ox
import pytest
from cli_runs import run_in_process

from attackkg.builders.build import build_store
from attackkg.builders.store import current_generation, open_store
from attackkg.ontology import declared_terms
from attackkg.ontology.namespaces import AKG, METADATA_GRAPH, RDFS
from attackkg.queries.cli import main

PREFIXES = {"akg": AKG, "rdfs": RDFS}


run_cli = run_in_process


def value(store: ox.Store, query: str):
    answer = list(store.query(query, use_default_graph_as_union=True, prefixes=PREFIXES))
    return answer[0][0].value if answer and answer[0][0] is not None else None


def count(store: ox.Store, where: str) -> int:
    return int(value(store, f"SELECT (COUNT(DISTINCT ?x) AS ?n) WHERE {{ {where} }}"))


@pytest.fixture(scope="module")
def fixture_store(tmp_path_factory, fixtures):
    store_dir = tmp_path_factory.mktemp("fixture-store")
    build_store(
        store_dir,
        attack_paths=[fixtures / "attack" / "small-enterprise-2.1.json"],
        d3fend_path=fixtures / "d3fend" / "source-form-1.2.0" / "d3fend.ttl",
        sigma_paths=[fixtures / "sigma" / "repo"],
        atomic_path=fixtures / "atomic",
    )
    return open_store(store_dir)


def test_every_project_term_emitted_is_declared(fixture_store):
    used = {
        term.value
        for quad in fixture_store
        for term in (quad.subject, quad.predicate, quad.object)
        if isinstance(term, ox.NamedNode) and term.value.startswith(AKG)
    }
    assert len(used) > 40
    assert used - declared_terms() == set()


def test_metadata_describes_every_graph(fixture_store):
    graphs = {g.value for g in fixture_store.named_graphs()} - {METADATA_GRAPH}
    kinds = set()
    for graph in graphs:
        described = list(
            fixture_store.query(
                f"""SELECT ?kind ?triples ?sha ?created WHERE {{ GRAPH <{METADATA_GRAPH}> {{
                    <{graph}> akg:sourceKind ?kind ; <http://rdfs.org/ns/void#triples> ?triples ;
                              <http://purl.org/dc/terms/created> ?created .
                    OPTIONAL {{ <{graph}> akg:sha256 ?sha }} }} }}""",
                prefixes={"akg": AKG},
            )
        )
        assert len(described) == 1, graph
        row = described[0]
        kinds.add(row["kind"].value)
        actual = value(fixture_store, f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}")
        assert int(row["triples"].value) == int(actual), graph
        if row["kind"].value != "derived":
            assert len(row["sha"].value) == 64
    assert kinds == {"attack", "d3fend", "sigma", "atomic", "derived"}


def test_sigma_tags_link_to_the_technique(fixture_store):
    rules = count(
        fixture_store,
        "?x akg:detectsTechnique <https://attack.mitre.org/techniques/T1204/001> ; akg:tag 'attack.t1204.001'",
    )
    assert rules == 4


# --- the full shared data (issue 2's acceptance) ----------------------------------------------


@pytest.fixture(scope="module")
def full_store(full_store_dir):
    """The session's full build (tests/conftest.py: ``attack-kg build`` of the four sources)."""
    return full_store_dir


def test_full_build_counts(full_store):
    store = open_store(full_store)
    assert count(store, "?x a akg:Technique") == 835
    assert count(store, "?x a akg:Technique ; akg:revoked true") > 0
    assert count(store, "?x a akg:Technique ; <http://www.w3.org/2002/07/owl#deprecated> true") > 0
    assert count(store, "?x a akg:Tactic") == 14
    assert count(store, "?x a akg:SigmaRule") == 3780
    t1204_001 = "<https://attack.mitre.org/techniques/T1204/001>"
    assert value(store, f"SELECT ?l WHERE {{ {t1204_001} rdfs:label ?l }}") == "Malicious Link"
    assert value(store, f"SELECT ?p WHERE {{ {t1204_001} akg:subtechniqueOf ?p }}") == (
        "https://attack.mitre.org/techniques/T1204"
    )
    assert value(store, f"SELECT ?l WHERE {{ {t1204_001} akg:tactic/rdfs:label ?l }}") == "Execution"
    assert value(store, f"SELECT ?c WHERE {{ {t1204_001} akg:d3fendClass ?c }}") == (
        "http://d3fend.mitre.org/ontologies/d3fend.owl#T1204.001"
    )
    assert count(store, f"?x a akg:SigmaRule ; akg:tag 'attack.t1204.001' ; akg:detectsTechnique {t1204_001}") == 4


# What in a Turtle statement a parser reads differently: the characters besides letters, digits
# and blanks, the escapes, the datatypes and language tags, and the prefixes.
PLAIN = frozenset(string.ascii_letters + string.digits + " \t\n")
WITHOUT_PLAIN = str.maketrans(dict.fromkeys(PLAIN))
ESCAPE = re.compile(r"\\(?:u|U|.)")
TAGGED = re.compile(r'"(\^\^[^\s;,]+|@[A-Za-z-]+)')
PREFIXED = re.compile(r"(?:^|[\s,;])([a-z0-9]+):")


def lexical_kinds(turtle: str) -> tuple[str, list[str]]:
    """The prefix lines of an export (Oxigraph's Turtle: prefixes, then statements each ending in
    " ." at the end of a line, as no literal holds a newline), and the shortest statement of each
    lexical kind: each distinct combination of what :data:`PLAIN` leaves, escapes, tags, prefixes."""
    start = turtle.index("\n", turtle.rindex("@prefix")) + 1
    shortest: dict[tuple, str] = {}
    for statement in turtle[start:].split(" .\n"):
        kind = (
            frozenset(statement.translate(WITHOUT_PLAIN)),
            frozenset(ESCAPE.findall(statement)) if "\\" in statement else None,
            frozenset(TAGGED.findall(statement)),
            frozenset(PREFIXED.findall(statement)),
        )
        if statement and len(statement) < len(shortest.get(kind, statement + " ")):
            shortest[kind] = statement
    return turtle[:start], [statement + " .\n" for statement in shortest.values()]


def test_full_export_parses_in_rdflib_and_oxigraph(full_memory_store, tmp_path):
    """Oxigraph reads the whole Turtle export (every triple of the store); rdflib's own Turtle
    parser reads the shortest statement of every lexical kind in it (4,000 KB of 50 MB; the whole
    file took rdflib 45 s), and makes as many triples of them as Oxigraph does. The export is the
    library's (``export_rdf``, what ``attack-kg export`` runs) of the session store's copy in
    memory; ``attack-kg export`` of the store on disk made that copy (tests/conftest.py)."""
    import rdflib

    from attackkg.queries.export import export_rdf

    out = tmp_path / "out.ttl"
    assert export_rdf(full_memory_store, out) == len(full_memory_store) > 600_000  # one statement a quad
    # A triple two graphs state (an event source in the telemetry and the sensors graphs) is
    # written twice in a merged file; Oxigraph reads it as one (a store holds each triple once).
    query = "SELECT (COUNT(*) AS ?n) { SELECT DISTINCT ?s ?p ?o { GRAPH ?g { ?s ?p ?o } } }"
    (row,) = full_memory_store.query(query)
    read = ox.Store()
    read.bulk_load(path=str(out), format=ox.RdfFormat.TURTLE)
    assert len(read) == int(row["n"].value) > 600_000
    prefixes, statements = lexical_kinds(out.read_text(encoding="utf-8"))
    sample = prefixes + "".join(statements)
    assert len(statements) > 1_000 and "\\n" in sample and '\\"' in sample and "@en" in sample
    with_rdflib = len(rdflib.Graph().parse(data=sample, format="turtle"))
    assert with_rdflib == len(set(ox.parse(sample, format=ox.RdfFormat.TURTLE))) > 10_000


def test_mobile_ics_and_d3fend_release_form(tmp_path, shared_data, fixtures, capsys):
    """Three ATT&CK domains in one build (Mobile and ICS 18.1 in full; Enterprise as its 18.1 cut,
    the full bundle being the session build's) and D3FEND's release form, through the CLI."""
    store_dir = tmp_path / "store"
    attack = shared_data / "attack"
    code = main(
        [
            "build",
            "--attack",
            str(fixtures / "attack" / "small-enterprise-2.1.json"),
            *(str(attack / f"{d}-attack-18.1.json.gz") for d in ("mobile", "ics")),
            "--d3fend",
            str(shared_data / "d3fend" / "0.17.0" / "d3fend.ttl"),
            "--store",
            str(store_dir),
        ]
    )
    assert code == 0, capsys.readouterr().err
    store = open_store(store_dir)
    graphs = {g.value for g in store.named_graphs()}
    base = "https://w3id.org/attack-kg/graph/"
    assert {f"{base}attack/{d}-attack/18.1" for d in ("enterprise", "mobile", "ics")} <= graphs
    assert f"{base}d3fend/0.17.0" in graphs
    for domain in ("mobile", "ics"):
        techniques = count(store, f"GRAPH <{base}attack/{domain}-attack/18.1> {{ ?x a akg:Technique }}")
        assert techniques > 50


# --- bad input through the CLI: one line, non-zero, previous store untouched --------------------


@pytest.fixture
def small_store(tmp_path, fixtures):
    store_dir = tmp_path / "store"
    build_store(store_dir, attack_paths=[fixtures / "attack" / "small-enterprise-2.1.json"])
    return store_dir


@pytest.mark.parametrize(
    ("flag", "case", "where"),
    [
        ("--d3fend", "d3fend/bad-turtle/d3fend.ttl", ":"),
        ("--sigma", "sigma/bad-yaml", ".yml:"),
    ],
)
def test_bad_input_one_line(small_store, fixtures, flag, case, where):
    before = current_generation(small_store)
    result = run_cli("build", flag, str(fixtures / case), "--strict", "--store", str(small_store))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    location = lines[0].removeprefix("attack-kg: ").split(": ")[0]
    assert where in location and location.rsplit(":", 1)[1].isdigit(), lines[0]
    assert current_generation(small_store) == before


def test_bad_rule_among_good_is_skipped_and_reported(small_store, fixtures):
    result = run_cli("build", "--sigma", str(fixtures / "sigma" / "bad-yaml"), "--store", str(small_store))
    assert result.returncode == 0, result.stderr
    assert "skipped" in result.stdout + result.stderr
    assert ".yml:" in result.stderr
    good = sum(1 for _ in (fixtures / "sigma" / "bad-yaml").rglob("*.yml")) - 1
    assert count(open_store(small_store), "?x a akg:SigmaRule") == good


def test_one_bad_rule_file_fails_without_strict(small_store, fixtures):
    """Lenient is for rule sets: the one rule a user names, or a set with no good rule, fails."""
    bad = next(p for p in (fixtures / "sigma" / "bad-yaml").rglob("*.yml") if "zeek" in p.parts)
    for given in (bad, bad.parent):
        result = run_cli("build", "--sigma", str(given), "--store", str(small_store))
        assert result.returncode == 1, result.stderr
        assert result.stderr.strip().startswith(f"attack-kg: {bad}:")
