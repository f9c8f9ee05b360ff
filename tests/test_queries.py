"""The named query library: headers, answers on the fixture store and on the full build, the
CLI's output formats, parameters that cannot change a query, and SPARQL Update refused."""

from __future__ import annotations

import io
import json
import subprocess
from collections import Counter
from pathlib import Path

import pytest
import rdflib
import rdflib.query
from cli_runs import run_child, run_in_process
from hypothesis import given, settings
from hypothesis import strategies as st

from attackkg.builders.base import InputError
from attackkg.builders.build import build_store
from attackkg.builders.store import current_generation, open_dataset, open_store
from attackkg.queries import NamedQuery, library, prepare, query_form, rows, run
from attackkg.queries.cli import main

QUERIES = Path(__file__).resolve().parent.parent / "queries"
HOSTILE = 'T1204" } ; DROP ALL ; #'
T1204_001_RULES = {
    "rules/linux/builtin/lnx_symlink_etc_passwd.yml",
    "rules/macos/process_creation/proc_creation_macos_susp_execution_macos_script_editor.yml",
    "rules/windows/process_creation/proc_creation_win_susp_clickfix_filefix_execution.yml",
    "rules/windows/registry/registry_set/registry_set_potential_clickfix_execution.yml",
}
# A value for each parameter the library uses, one that matches something in the fixtures
# (T1204.002 has rules, countermeasures, mitigations, artifacts and Atomic tests there).
SAMPLE = {
    "technique": "T1204.002",
    "group": "G0016",
    "product": "windows",
    "category": "process_creation",
    "source": "sysmon/1",
    "provider": "sysmon",
}
# Where the fixture cut has the data for another sample only (its one detection strategy is T1204.001's).
SAMPLE_FOR = {"telemetry-log-sources": {"technique": "T1204.001"}}


def run_cli(*args: str, stdin: str | None = None, child: bool = False) -> subprocess.CompletedProcess:
    """``attack-kg ARGS`` with ``stdin``: in this process; with ``child``, in a child process, as a
    user runs it."""
    return run_child(*args, stdin=stdin) if child else run_in_process(*args, stdin=stdin)


@pytest.fixture(scope="module")
def store(fixture_store):
    return open_store(fixture_store)


def snapshot(store_dir: Path) -> tuple:
    """What a query must not change: the current generation and the triple count of each graph."""
    store = open_store(store_dir)
    counts = store.query("SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g ORDER BY ?g")
    return current_generation(store_dir), len(store), [(str(r["g"]), str(r["n"])) for r in counts]


# --- the library and its headers ---------------------------------------------------------------


def test_every_rq_file_is_listed_with_its_summary(capsys):
    assert main(["query", "--list"]) == 0
    listing = capsys.readouterr().out
    files = sorted(p.stem for p in QUERIES.glob("*.rq"))
    assert sorted(library()) == files
    for name, named in library().items():
        assert named.summary and named.columns, f"{name}.rq needs # summary: and # columns: lines"
        assert f"{name:20} {named.summary}" in listing
        for param in named.params:
            assert f"--param {param}=" in listing


def test_every_query_runs_and_gives_the_columns_its_header_names(store):
    for name, named in library().items():
        result = run(store, name)
        assert result.type == "SELECT", name
        assert {str(v) for v in result.vars} == set(named.columns), name
        params = {p: {**SAMPLE, **SAMPLE_FOR.get(name, {})}[p] for p in named.params if p in SAMPLE}
        if params:
            assert rows(store, name, **params), (name, params)


# --- answers on the fixture store --------------------------------------------------------------


def test_detections_of_t1204_001_are_the_four_rules(store):
    found = rows(store, "detections", technique="T1204.001")
    assert {r["path"] for r in found} == T1204_001_RULES
    assert len(found) == 4
    assert {(r["match"], r["tagged"]) for r in found} == {("technique", "T1204.001")}


def test_detections_of_a_parent_include_its_sub_techniques_marked_as_such(store):
    found = rows(store, "detections", technique="T1204")
    marks = Counter((r["match"], r["tagged"]) for r in found)
    # One rule is tagged T1204 itself (and T1204.001 too); the rest through the sub-techniques.
    assert marks == Counter(
        {("sub-technique", "T1204.001"): 4, ("sub-technique", "T1204.002"): 1, ("technique", "T1204"): 1}
    )
    assert {r["path"] for r in found if r["tagged"] == "T1204.001"} == T1204_001_RULES


def test_technique_by_id_by_name_in_any_case_and_revoked_to_its_replacement(store):
    by_id = rows(store, "technique", technique="T1204.001")
    assert [(r["attack_id"], r["name"], r["parent"], r["tactics"]) for r in by_id] == [
        ("T1204.001", "Malicious Link", "T1204", "Execution")
    ]
    assert rows(store, "technique", technique="malicious LINK") == by_id
    revoked = rows(store, "technique", technique="T1066")
    assert [(r["attack_id"], r["revoked_id"]) for r in revoked] == [("T1027.005", "T1066")]
    assert "revoked_id" not in by_id[0]
    assert rows(store, "technique", technique="T9999") == []
    listed = rows(store, "technique")
    assert {r["attack_id"] for r in listed} == {"T1027", "T1027.005", "T1204", "T1204.001", "T1204.002", "T1566.002"}
    assert [r["attack_id"] for r in listed if r.get("revoked_id") == "T1066"] == ["T1027.005"]


def test_mitigations_with_attacks_words_and_d3fend_links(store):
    found = {r["mitigation_id"]: r for r in rows(store, "mitigations", technique="T1204.001")}
    assert set(found) == {"M1017", "M1021"}
    assert found["M1021"]["mitigation"] == "Restrict Web-Based Content"
    assert found["M1021"]["how"].startswith("If a link is being visited by a user")
    assert "D3-UA" in found["M1021"]["d3fend_ids"].split(", ")
    assert "d3fend_ids" not in found["M1017"]


def test_coverage_counts_agree_with_the_queries_that_list_them(store):
    coverage = {r["technique"]: r for r in rows(store, "coverage")}
    assert "T1066" not in coverage  # revoked
    for attack_id, row in coverage.items():
        cm = rows(store, "countermeasures", technique=attack_id)
        assert row["countermeasures"] == len({r["d3fend_id"] for r in cm}), attack_id
        detections = rows(store, "detections", technique=attack_id)
        assert row["sigma_rules_with_subtechniques"] == len({r["rule_id"] for r in detections})
        assert row["sigma_rules"] == len({r["rule_id"] for r in detections if r["match"] == "technique"})
        assert row["mitigations"] == len(rows(store, "mitigations", technique=attack_id))
    assert coverage["T1204.001"]["sigma_rules"] == 4
    assert coverage["T1204.002"]["atomic_tests"] == 13  # the auto_generated_guids of T1204.002.yaml
    assert rows(store, "coverage", technique="T1204.001") == [coverage["T1204.001"]]


def test_coverage_leaves_atomic_tests_empty_when_atomic_is_not_loaded(tmp_path, fixtures):
    build_store(tmp_path / "s", attack_paths=[fixtures / "attack" / "small-enterprise-2.1.json"])
    found = rows(open_store(tmp_path / "s"), "coverage", technique="T1204.002")
    assert found and "atomic_tests" not in found[0] and found[0]["countermeasures"] == 0


def test_gaps_are_ranked_by_groups_and_say_why(store):
    gaps = rows(store, "gaps")
    assert gaps
    assert [r["groups"] for r in gaps] == sorted((r["groups"] for r in gaps), reverse=True)
    for row in gaps:
        expected = [
            w for w, n in (("detection", row["sigma_rules"]), ("countermeasure", row["countermeasures"])) if not n
        ]
        assert row["missing"] == ", ".join(expected)
    by_id = {r["technique"]: r for r in gaps}
    # T1566.002 is used by APT29 and has a rule, but the D3FEND cut has no class for it.
    assert by_id["T1566.002"]["groups"] == 1 and by_id["T1566.002"]["missing"] == "countermeasure"
    assert by_id["T1566.002"]["countermeasure_gap"] == "NoD3fendClass"
    assert "T1204.001" not in by_id


def test_group_techniques_by_id_name_or_alias(store):
    by_id = rows(store, "group-techniques", group="G0016")
    assert {r["technique"] for r in by_id} == {"T1204.001", "T1204.002", "T1566.002"}
    assert all(r["group_name"] == "APT29" and r["procedure"] for r in by_id)
    assert rows(store, "group-techniques", group="APT29") == by_id
    assert rows(store, "group-techniques", group="Cozy Bear") == by_id
    t1204_001 = next(r for r in by_id if r["technique"] == "T1204.001")
    assert (t1204_001["sigma_rules"], t1204_001["countermeasures"]) == (4, 4)


def test_rules_by_logsource_filters_exactly_and_an_empty_value_means_unset(store):
    windows = rows(store, "rules-by-logsource", product="windows", category="process_creation")
    assert {r["path"].rsplit("/", 1)[-1] for r in windows} == {
        "proc_creation_win_susp_clickfix_filefix_execution.yml",
        "proc_creation_win_office_susp_child_processes.yml",
        "proc_creation_win_userdomain_variable_enumeration.yml",
    }
    assert [r["level"] for r in windows] == ["high", "high", "low"]  # critical first, then high ...
    zeek = rows(store, "rules-by-logsource", product="zeek")
    assert [(r["service"], r["category"]) for r in zeek] == [("x509", "")]
    assert rows(store, "rules-by-logsource", product="zeek", service="") == []
    assert len(rows(store, "rules-by-logsource", category="")) == 3
    assert len(rows(store, "rules-by-logsource")) == 11


def test_artifacts_and_the_countermeasures_each_reaches(store):
    found = rows(store, "artifacts", technique="T1204.001")
    assert {(r["relation"], r["artifact"]) for r in found} == {
        ("accesses", "URL"),
        ("produces", "Outbound Internet Web Traffic"),
    }
    mappings = rows(store, "countermeasures", technique="T1204.001")
    for row in found:
        reached = {m["d3fend_id"] for m in mappings if m["offensive_artifact"] == row["artifact"]}
        assert row["countermeasures"] == len(reached) > 0
    parent = rows(store, "artifacts", technique="T1204")
    assert {r["via_attack_id"] for r in parent} == {"T1204.001", "T1204.002"}


def test_the_python_api_on_an_rdflib_dataset(fixture_store, store):
    dataset = open_dataset(fixture_store)
    assert isinstance(dataset, rdflib.Dataset)
    assert rows(dataset, "countermeasures", technique="T1204.001") == rows(
        store, "countermeasures", technique="T1204.001"
    )
    assert {r["d3fend_id"] for r in rows(dataset, "countermeasures", technique="T1204.001")} == {
        "D3-UA",
        "D3-RPA",
        "D3-NTF",
        "D3-OTF",
    }


VALUES_OF_EVERY_KIND = [  # xsd: is among the prefixes every query is given
    'SELECT ?v { VALUES ?v { <https://example.org/a> "plain" "ok"@en "x"^^xsd:string } }',
    'SELECT ?v { VALUES ?v { 0 -12 "+5"^^xsd:integer "05"^^xsd:integer "abc"^^xsd:integer } }',
    'SELECT ?v { VALUES ?v { "\u0661"^^xsd:integer true "1"^^xsd:boolean 1.50 2.5e0 } }',
    'SELECT ?v { VALUES ?v { "2026-01-01T00:00:00Z"^^xsd:dateTime "2026-01-01"^^xsd:date } }',
    'SELECT ?v { VALUES ?v { "x"^^<https://example.org/type> } }',
    "SELECT ?v { BIND(BNODE() AS ?v) }",
]


@pytest.mark.parametrize("text", VALUES_OF_EVERY_KIND)
def test_rows_give_the_values_rdflib_gives(store, text):
    """rows() converts pyoxigraph's terms itself (builders.oxstore.to_python); each value and its
    type are what rdflib's toPython() gives for the same answer (run(), through rdflib terms)."""
    answer = run(store, NamedQuery("v", text))
    through_rdflib = [{str(k): v.toPython() for k, v in row.items()} for row in answer.bindings]
    found = rows(store, NamedQuery("v", text))
    if "BNODE" in text:  # a new blank node each run: only its kind can be compared
        assert [type(r["v"]) for r in found] == [type(r["v"]) for r in through_rdflib] == [str]
        return
    assert [(r["v"], type(r["v"])) for r in found] == [(r["v"], type(r["v"])) for r in through_rdflib]
    assert found


def test_rows_takes_only_select(store):
    with pytest.raises(TypeError, match="use run"):
        rows(store, NamedQuery("ask", "ASK { ?s ?p ?o }"))


# --- the CLI: formats ---------------------------------------------------------------------------


class _Response(io.BytesIO):
    """Enough of an HTTP response for SPARQLWrapper's QueryResult to convert."""

    def info(self) -> dict:
        return {"content-type": "application/sparql-results+json"}


def test_json_output_is_w3c_sparql_json_that_sparql_clients_parse(fixture_store, capsys):
    from SPARQLWrapper import JSON
    from SPARQLWrapper.Wrapper import QueryResult

    args = ["query", "countermeasures", "--param", "technique=T1204.001", "--store", str(fixture_store)]
    assert main([*args, "--format", "json"]) == 0
    out = capsys.readouterr().out
    document = json.loads(out)
    assert document["head"]["vars"] == library()["countermeasures"].columns
    assert {b["d3fend_id"]["value"] for b in document["results"]["bindings"]} == {"D3-UA", "D3-RPA", "D3-NTF", "D3-OTF"}
    assert all(cell["type"] == "literal" for b in document["results"]["bindings"] for cell in b.values())
    parsed = rdflib.query.Result.parse(io.BytesIO(out.encode()), format="json")
    assert len(parsed.bindings) == 4
    converted = QueryResult((_Response(out.encode()), JSON)).convert()
    assert converted == document

    assert main([*args, "--format", "xml"]) == 0
    assert len(rdflib.query.Result.parse(io.BytesIO(capsys.readouterr().out.encode()), format="xml").bindings) == 4
    assert main([*args, "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == ",".join(library()["countermeasures"].columns) and len(lines) == 5
    assert main([*args, "--format", "tsv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "\t".join(f"?{c}" for c in library()["countermeasures"].columns) and len(lines) == 5


def test_construct_prints_turtle_and_ask_a_boolean(fixture_store, capsys):
    text = "CONSTRUCT { ?t rdfs:label ?name } WHERE { ?t akg:attackId ?id ; rdfs:label ?name }"
    result = run_cli("query", "-", "--param", "id=T1204.001", "--store", str(fixture_store), stdin=text, child=True)
    assert result.returncode == 0, result.stderr
    graph = rdflib.Graph().parse(data=result.stdout, format="turtle")
    assert list(graph.objects()) == [rdflib.Literal("Malicious Link")]
    assert main(["query", str(QUERIES / "no-such-query.rq"), "--store", str(fixture_store)]) == 1
    result = run_cli(
        "query", "-", "--format", "json", "--store", str(fixture_store), stdin="ASK { ?s akg:attackId 'T1204' }"
    )
    assert json.loads(result.stdout)["boolean"] is True


# --- parameters cannot change a query ------------------------------------------------------------


def test_hostile_value_changes_nothing_and_matches_nothing(fixture_store, store):
    before = snapshot(fixture_store)
    for name, named in library().items():
        for param in named.params:
            assert rows(store, name, **{param: HOSTILE}) == [], (name, param)
    result = run_cli("query", "detections", "--param", f"technique={HOSTILE}", "--store", str(fixture_store))
    assert result.returncode == 0 and result.stderr.strip() == "(0 rows)", result.stderr
    result = run_cli(
        "query", "technique", "--param", f"technique={HOSTILE}", "--format", "json", "--store", str(fixture_store)
    )
    assert json.loads(result.stdout)["results"]["bindings"] == []
    assert snapshot(fixture_store) == before


@settings(max_examples=150, deadline=None)
@given(value=st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40))
def test_any_value_arrives_as_exactly_that_literal(store, value):
    echo = NamedQuery(name="echo", text="SELECT ?v ?n WHERE { BIND(STRLEN(?v) AS ?n) }")
    assert rows(store, echo, v=value) == [{"v": value, "n": len(value)}]


@pytest.mark.parametrize("name", ["x} DROP ALL #", "1st", "a-b", "", "v ?w", "é\n"])
def test_parameter_names_are_sparql_variable_names(store, name):
    echo = NamedQuery(name="echo", text="SELECT * WHERE { }")
    with pytest.raises(InputError, match="parameter names"):
        run(store, echo, **{name: "x"})


def test_a_library_query_takes_only_its_parameters(store, capsys):
    with pytest.raises(InputError, match="no parameter 'techniqe'; it takes: technique"):
        rows(store, "countermeasures", techniqe="T1204.001")
    with pytest.raises(InputError, match="it takes none"):
        rows(store, "gaps", technique="T1204.001")


# --- SPARQL Update refused ----------------------------------------------------------------------

UPDATES = [
    "DROP ALL",
    "drop all",
    "INSERT DATA { <urn:a> <urn:b> <urn:c> }",
    "PREFIX ex: <urn:ex:> INSERT DATA { ex:a ex:b ex:c }",
    "# SELECT * WHERE { ?s ?p ?o }\nDELETE WHERE { ?s ?p ?o }",
    "SELECT * WHERE { ?s ?p ?o } ; CLEAR DEFAULT",
    "BASE <urn:x:>\n  Load <http://example.com/data.ttl>",
    "WITH <urn:g> DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }",
    "CREATE GRAPH <urn:g>",
    "copy default to <urn:g>",
]


@pytest.mark.parametrize("text", UPDATES)
def test_update_is_refused_whatever_its_case_comments_or_prologue(fixture_store, text):
    before = snapshot(fixture_store)
    with pytest.raises(InputError, match="SPARQL Update is refused"):
        prepare(NamedQuery(name="u", text=text))
    result = run_cli("query", "-", "--store", str(fixture_store), stdin=text)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "SPARQL Update is refused" in result.stderr
    assert snapshot(fixture_store) == before


@pytest.mark.parametrize(
    "text",
    [
        'SELECT ?s WHERE { ?s ?p "DROP ALL; INSERT DATA" }',
        "SELECT ?s WHERE { ?s <urn:insert#drop> ?o }  # delete this comment",
        "PREFIX ex: <urn:ex:> SELECT ?insert WHERE { ?insert ex:DELETE ?load }",
        "select ?s where { ?s ?p '''\nCLEAR ALL\n''' }",
    ],
)
def test_update_words_in_strings_iris_names_and_comments_are_not_updates(store, text):
    assert query_form(text) == "SELECT"
    assert run(store, NamedQuery(name="q", text=text)).bindings == []


def test_not_a_query_is_an_input_error(store):
    for text in ["", "# only a comment", "FOO { }", "{ ?s ?p ?o }"]:
        with pytest.raises(InputError, match="not a SPARQL query"):
            run(store, NamedQuery(name="q", text=text))
    with pytest.raises(InputError, match="SPARQL syntax error"):
        run(store, NamedQuery(name="q", text="SELECT * WHERE { ?s ?p }"))


# --- the full build ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def full_store(full_store_dir) -> Path:
    """The session's full build (tests/conftest.py)."""
    return full_store_dir


# The queries that need a source besides ATT&CK (CTID mappings, CAR), by that source: they answer
# nothing over a store without it (the session's full build has both).
NEEDS_SOURCE = {"controls": "mappings", "cves": "mappings", "techniques-for-control": "mappings",
                "car": "car", "car-d3fend": "car"}
NEEDS_SOURCE |= {"report-controls": "mappings", "report-car": "car", "report-control-totals": "mappings"}


def test_full_every_query_runs_with_and_without_its_parameters(full_memory_store):
    store = full_memory_store
    loaded = {str(r["kind"]) for r in rows(store, "sources")}
    for name, named in library().items():
        everything = rows(store, name)
        required = any("required" in text for text in named.params.values())
        if NEEDS_SOURCE.get(name, "attack") not in loaded:
            assert everything == [], name
            continue
        assert everything or required, name
        params = {p: {**SAMPLE, **SAMPLE_FOR.get(name, {})}[p] for p in named.params if p in SAMPLE}
        if params:
            some = rows(store, name, **params)
            assert 0 < len(some) <= len(everything) or name.startswith("report-"), (name, params)


def test_full_acceptance_t1204_001(full_store):
    store = open_store(full_store)  # on disk, as a user's query reads it
    detections = rows(store, "detections", technique="T1204.001")
    assert {r["path"] for r in detections} == T1204_001_RULES
    names = {r["defensive_technique"] for r in rows(store, "countermeasures", technique="T1204.001")}
    assert len(names) == 14 and {"URL Analysis", "Homoglyph Detection", "Relay Pattern Analysis"} <= names
    coverage = rows(store, "coverage", technique="T1204.001")
    assert [(r["sigma_rules"], r["countermeasures"]) for r in coverage] == [(4, 14)]
    assert rows(store, "technique", technique="Malicious Link")[0]["attack_id"] == "T1204.001"
    apt29 = rows(store, "group-techniques", group="APT29")
    assert len({r["technique"] for r in apt29}) > 40
    gaps = rows(store, "gaps")
    assert {r["countermeasure_gap"] for r in gaps if "countermeasure_gap" in r} <= {
        "NoD3fendClass",
        "NoArtifactRelation",
        "NoDefensiveTechnique",
        "RevokedTechnique",
    }


def test_full_hostile_value_changes_nothing_and_matches_nothing(full_store):
    before = snapshot(full_store)
    store = open_store(full_store)
    for name in ("technique", "countermeasures", "detections", "group-techniques", "rules-by-logsource"):
        params = {p: HOSTILE for p in library()[name].params}
        assert rows(store, name, **params) == [], name
    assert snapshot(full_store) == before
