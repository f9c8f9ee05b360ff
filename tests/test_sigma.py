"""The Sigma builder on rules cut from SigmaHQ (commit 8eaafff1), and on the full rule set."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib

from attackkg.builders import sigma
from attackkg.builders.base import InputError, sha256_of
from attackkg.builders.build import build_source
from attackkg.builders.store import as_dataset
from attackkg.ontology import declared_terms, vocabulary
from attackkg.ontology.namespaces import AKG, DCTERMS, attack_iri, cve_iri, graph_iri, uuid_iri

A = rdflib.Namespace(AKG)
DCT = rdflib.Namespace(DCTERMS)

CLICKFIX = "d487ed4a-fd24-436d-a0b2-f4e95f7b2635"
CLICKFIX_REGISTRY = "f5fe36cf-f1ec-4c23-903d-09a3110f6bbb"
OFFICE_CHILD = "438025f9-5856-4663-83f7-52f878a70a50"
SYMLINK = "c67fc22a-0be5-4b4f-aad5-2b32c4b69523"
KITTEN = "6c939dfa-c710-4e12-a4dd-47e1f10e68e1"  # deprecated/
REMOTE_SERVICE = "4a3a2b96-d7fc-4cb9-80e4-4a545fe95f46"  # unsupported/, a rule collection
APT29_TOR = "c069f460-2b87-4010-8dcf-e45bab362624"  # unsupported/, id in the second document

T1204_001_RULES = {
    "rules/linux/builtin/lnx_symlink_etc_passwd.yml",
    "rules/macos/process_creation/proc_creation_macos_susp_execution_macos_script_editor.yml",
    "rules/windows/process_creation/proc_creation_win_susp_clickfix_filefix_execution.yml",
    "rules/windows/registry/registry_set/registry_set_potential_clickfix_execution.yml",
}


def node(rule_id: str) -> rdflib.URIRef:
    return rdflib.URIRef(uuid_iri(rule_id))


def to_graph(data: sigma.SigmaRules) -> rdflib.Graph:
    graph = rdflib.Graph()
    build_source("sigma", data, graph)
    return graph


@pytest.fixture(scope="module")
def repo(fixtures) -> Path:
    return fixtures / "sigma" / "repo"


@pytest.fixture(scope="module")
def data(repo) -> sigma.SigmaRules:
    return sigma.load(repo)


@pytest.fixture(scope="module")
def graph(data) -> rdflib.Graph:
    return to_graph(data)


def make_zip(target: Path, tree: Path, prefix: str = "") -> Path:
    """A zip of every file under ``tree``, members named ``prefix + relative path``."""
    with zipfile.ZipFile(target, "w") as archive:
        for file in sorted(tree.rglob("*")):
            if file.is_file():
                archive.write(file, prefix + file.relative_to(tree).as_posix())
    return target


def write_rule(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / "rules" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


# --- fields ---------------------------------------------------------------------------------------


def test_rules_of_a_repository_root_are_the_rules_folders(data):
    assert sorted(r.path for r in data.rules) == sorted(
        [
            *T1204_001_RULES,
            "rules/windows/process_creation/proc_creation_win_office_susp_child_processes.yml",
            "rules/windows/powershell/powershell_script/posh_ps_create_volume_shadow_copy.yml",
            "rules/network/zeek/zeek_default_cobalt_strike_certificate.yml",
            "rules/linux/builtin/lnx_apt_equationgroup_lnx.yml",
            "rules-emerging-threats/2021/Exploits/CVE-2021-44228/web_cve_2021_44228_log4j_fields.yml",
            "rules-threat-hunting/linux/file/file_event/file_event_lnx_susp_long_filename_pattern.yml",
            "rules-placeholder/windows/process_creation/proc_creation_win_userdomain_variable_enumeration.yml",
        ]
    )
    assert data.errors == []


def test_fields_of_a_known_rule(graph):
    rule = node(CLICKFIX)
    assert (rule, rdflib.RDF.type, A.SigmaRule) in graph
    assert graph.value(rule, rdflib.RDFS.label) == rdflib.Literal("Suspicious ClickFix/FileFix Execution Pattern")
    assert graph.value(rule, DCT.identifier) == rdflib.Literal(CLICKFIX)
    assert graph.value(rule, A.status) == rdflib.Literal("experimental")
    assert graph.value(rule, A.level) == rdflib.Literal("high")
    assert str(graph.value(rule, DCT.description)).startswith("Detects suspicious execution patterns")
    assert graph.value(rule, DCT.creator) == rdflib.Literal(
        "montysecurity, Swachchhanda Shrawan Poudel (Nextron Systems)"
    )
    assert graph.value(rule, DCT.created) == rdflib.Literal("2025-11-19", datatype=rdflib.XSD.date)
    assert graph.value(rule, DCT.modified) is None
    assert graph.value(rule, A.rulePath) == rdflib.Literal(
        "rules/windows/process_creation/proc_creation_win_susp_clickfix_filefix_execution.yml"
    )
    references = {str(o) for o in graph.objects(rule, A.reference)}
    assert len(references) == 6
    assert "https://github.com/JohnHammond/recaptcha-phish" in references
    assert {str(o) for o in graph.objects(rule, A.falsePositive)} == {"Unlikely"}
    assert graph.value(rule, A.logsourceProduct) == rdflib.Literal("windows")
    assert graph.value(rule, A.logsourceCategory) == rdflib.Literal("process_creation")
    assert graph.value(rule, A.logsourceService) is None


def test_logsource_service_and_definition(graph):
    zeek = node("7100f7e3-92ce-4584-b7b7-01b40d3d4118")
    assert graph.value(zeek, A.logsourceService) == rdflib.Literal("x509")
    shadow = node("afd12fed-b0ec-45c9-a13d-aa86625dac81")
    assert graph.value(shadow, A.logsourceDefinition) == rdflib.Literal(
        "Requirements: Script Block Logging must be enabled"
    )


def test_raw_tags_are_all_kept(graph, data):
    for rule in data.rules:
        assert {str(o) for o in graph.objects(node(rule.id), A.tag)} == set(rule.tags)
    assert {str(o) for o in graph.objects(node(CLICKFIX), A.tag)} == {
        "attack.execution",
        "attack.t1204.001",
        "attack.t1204.004",
    }


# --- tags -----------------------------------------------------------------------------------------


def test_technique_and_tactic_tags(graph):
    rule = node(CLICKFIX)
    assert set(graph.objects(rule, A.detectsTechnique)) == {
        rdflib.URIRef(attack_iri("T1204.001")),
        rdflib.URIRef(attack_iri("T1204.004")),
    }
    assert set(graph.objects(rule, A.tagsTactic)) == {rdflib.URIRef(attack_iri("TA0002"))}
    assert set(graph.objects(rule, A.tagsTacticShortname)) == {rdflib.Literal("execution")}
    technique = rdflib.URIRef(attack_iri("T1204.001"))
    assert {str(graph.value(s, A.rulePath)) for s in graph.subjects(A.detectsTechnique, technique)} == (T1204_001_RULES)


def test_tactic_missing_from_enterprise_keeps_its_short_name(graph):
    rule = node(OFFICE_CHILD)
    shortnames = {str(o) for o in graph.objects(rule, A.tagsTacticShortname)}
    assert shortnames == {"execution", "stealth"}  # ATT&CK 18.1 has no "stealth" tactic
    assert set(graph.objects(rule, A.tagsTactic)) == {rdflib.URIRef(attack_iri("TA0002"))}


def test_group_software_cve_and_other_attack_ids(graph):
    assert graph.value(node("41e5c73d-9983-4b69-bd03-e13b67e9623c"), A.tagsGroup) == rdflib.URIRef(
        "https://attack.mitre.org/groups/G0020"
    )
    assert graph.value(node("7100f7e3-92ce-4584-b7b7-01b40d3d4118"), A.tagsSoftware) == rdflib.URIRef(
        "https://attack.mitre.org/software/S0154"
    )
    assert graph.value(node("9be472ed-893c-4ec0-94da-312d2765f654"), A.tagsCve) == rdflib.URIRef(
        cve_iri("CVE-2021-44228")
    )
    assert graph.value(node("afd12fed-b0ec-45c9-a13d-aa86625dac81"), A.tagsAttackObject) == rdflib.URIRef(
        "https://attack.mitre.org/datasources/DS0005"
    )


@pytest.mark.parametrize(
    ("tag", "kind", "prop", "value"),
    [
        ("attack.t1204.001", "technique", "detectsTechnique", attack_iri("T1204.001")),
        ("attack.T1059", "technique", "detectsTechnique", attack_iri("T1059")),
        ("attack.execution", "tactic", "tagsTactic", attack_iri("TA0002")),
        ("attack.defense_evasion", "tactic", "tagsTactic", attack_iri("TA0005")),
        ("attack.stealth", "tactic", "tagsTactic", None),
        ("attack.g0016", "group", "tagsGroup", attack_iri("G0016")),
        ("attack.s0154", "software", "tagsSoftware", attack_iri("S0154")),
        ("attack.m1017", "attack-object", "tagsAttackObject", attack_iri("M1017")),
        ("attack.a0001", "attack-unknown", None, None),
        ("cve.2021-44228", "cve", "tagsCve", cve_iri("CVE-2021-44228")),
        ("cve.2023.22518", "cve", "tagsCve", cve_iri("CVE-2023-22518")),
        ("d3fend.d3-am", "d3fend-technique", "d3fendId", "D3-AM"),
        ("d3fend.d3f-WindowsNtOpenFile", "d3fend-artifact", "tagsD3fendArtifact", None),
        ("d3fend.detect", "d3fend-tactic", "tagsD3fendTactic", None),
        ("car.2016-04-005", "car", None, None),
        ("detection.threat-hunting", "detection", None, None),
        ("stp.1k", "stp", None, None),
        ("tlp.amber", "tlp", None, None),
        ("sigma.whatever", "other", None, None),
    ],
)
def test_tag_target(tag, kind, prop, value):
    target = sigma.tag_target(tag)
    assert (target.kind, target.prop) == (kind, prop)
    if value is not None or kind in sigma.ATTACK_KINDS:
        assert target.value == value


def test_d3fend_tags_become_edges_and_id_literals(tmp_path, repo):
    text = (repo / "rules/linux/builtin/lnx_symlink_etc_passwd.yml").read_text(encoding="utf-8")
    text = text.replace(
        "    - attack.execution\n",
        "    - attack.execution\n    - d3fend.d3-am\n    - d3fend.d3f-WindowsNtOpenFile\n    - d3fend.detect\n",
    )
    write_rule(tmp_path, "x.yml", text)
    graph = to_graph(sigma.load(tmp_path))
    rule = node(SYMLINK)
    assert graph.value(rule, A.d3fendId) == rdflib.Literal("D3-AM")
    d3f = rdflib.Namespace("http://d3fend.mitre.org/ontologies/d3fend.owl#")
    assert graph.value(rule, A.tagsD3fendArtifact) == d3f.WindowsNtOpenFile
    assert graph.value(rule, A.tagsD3fendTactic) == d3f.Detect


def test_unresolved_tags_are_reported_and_their_edges_kept(data, graph):
    known = {attack_iri(x) for x in ("T1204.001", "T1204.004", "TA0002")}
    unresolved = sigma.unresolved_tags(data, known)
    clickfix = "rules/windows/process_creation/proc_creation_win_susp_clickfix_filefix_execution.yml"
    assert not [tag for path, tag in unresolved if path == clickfix]
    office = "rules/windows/process_creation/proc_creation_win_office_susp_child_processes.yml"
    assert {tag for path, tag in unresolved if path == office} == {
        "attack.stealth",
        "attack.t1047",
        "attack.t1204.002",
        "attack.t1218.010",
    }
    assert ("rules-emerging-threats/2021/Exploits/CVE-2021-44228/web_cve_2021_44228_log4j_fields.yml",
            "cve.2021-44228") not in unresolved  # fmt: skip
    # every unresolved technique still has its edge
    assert (node(OFFICE_CHILD), A.detectsTechnique, rdflib.URIRef(attack_iri("T1047"))) in graph
    all_known = {str(o) for p in (A.detectsTechnique, A.tagsTactic, A.tagsGroup, A.tagsSoftware,
                                  A.tagsAttackObject) for o in graph.objects(None, p)}  # fmt: skip
    only_shortnames = sigma.unresolved_tags(data, all_known)
    assert {tag for _, tag in only_shortnames} == {"attack.stealth", "attack.defense-impairment"}


# --- related --------------------------------------------------------------------------------------


def test_related_rules_by_type(graph):
    office = node(OFFICE_CHILD)
    assert set(graph.objects(office, A.derivedFrom)) == {
        node("c27515df-97a9-4162-8a60-dc0eeb51b775"),
        node("e1693bc8-7168-4eab-8718-cdcaa68a1738"),
    }
    assert len(set(graph.objects(office, A.obsoletes))) == 3
    assert (node(CLICKFIX), A.similarTo, node(CLICKFIX_REGISTRY)) in graph
    assert (node(CLICKFIX_REGISTRY), A.similarTo, node(CLICKFIX)) in graph


def test_related_type_is_queryable_through_the_vocabulary(graph):
    merged = graph + vocabulary()
    rows = merged.query(
        """SELECT ?type (COUNT(*) AS ?n) WHERE {
             ?rule ?p ?other . ?p rdfs:subPropertyOf akg:relatedRule ; rdfs:label ?type
           } GROUP BY ?type""",
        initNs={"akg": A, "rdfs": rdflib.RDFS},
    )
    assert {str(t): int(n) for t, n in rows} == {"derived from": 2, "obsoletes": 3, "similar to": 2}


def test_unknown_and_bad_related_entries_are_warned(tmp_path, repo):
    text = (repo / "rules/linux/builtin/lnx_symlink_etc_passwd.yml").read_text(encoding="utf-8")
    text = text.replace(
        "status: test\n",
        "related:\n    - id: 0e95725d-7320-415d-80f7-004da920fc11\n      type: cousin\n"
        "    - id: not-a-uuid\n      type: similar\nstatus: test\n",
    )
    write_rule(tmp_path, "x.yml", text)
    data = sigma.load(tmp_path)
    graph = to_graph(data)
    assert graph.value(node(SYMLINK), A.relatedRule) == node("0e95725d-7320-415d-80f7-004da920fc11")
    assert graph.value(node(SYMLINK), A.similarTo) is None
    assert any("cousin" in w for w in data.warnings)
    assert any("not-a-uuid" in w for w in data.warnings)


# --- which files, relative paths, zip -------------------------------------------------------------


def test_subfolder_paths_stay_relative_to_the_repository_root(repo):
    data = sigma.load(repo / "rules" / "windows")
    assert sorted(r.path for r in data.rules) == [
        "rules/windows/powershell/powershell_script/posh_ps_create_volume_shadow_copy.yml",
        "rules/windows/process_creation/proc_creation_win_office_susp_child_processes.yml",
        "rules/windows/process_creation/proc_creation_win_susp_clickfix_filefix_execution.yml",
        "rules/windows/registry/registry_set/registry_set_potential_clickfix_execution.yml",
    ]
    single = sigma.load(repo / "rules/linux/builtin/lnx_symlink_etc_passwd.yml")
    assert [r.path for r in single.rules] == ["rules/linux/builtin/lnx_symlink_etc_passwd.yml"]


def test_plain_folder_is_its_own_root(tmp_path, repo):
    shutil.copy(repo / "rules/linux/builtin/lnx_symlink_etc_passwd.yml", tmp_path / "mine.yaml")
    data = sigma.load(tmp_path)
    assert [r.path for r in data.rules] == ["mine.yaml"]


def test_deprecated_and_unsupported_only_when_asked(repo):
    plain = {r.id for r in sigma.load(repo).rules}
    assert KITTEN not in plain and REMOTE_SERVICE not in plain
    with_deprecated = sigma.load(repo, include_deprecated=True)
    assert {r.id for r in with_deprecated.rules} - plain == {KITTEN}
    with_unsupported = sigma.load(repo, include_unsupported=True)
    assert {r.id for r in with_unsupported.rules} - plain == {REMOTE_SERVICE, APT29_TOR}
    everything = sigma.load(repo, include_deprecated=True, include_unsupported=True)
    assert len(everything.rules) == len(plain) + 3
    # naming the folder itself is asking for it
    assert [r.id for r in sigma.load(repo / "deprecated").rules] == [KITTEN]


def test_deprecated_rule_slash_dates_are_dates(repo):
    data = sigma.load(repo, include_deprecated=True)
    graph = to_graph(data)
    rule = node(KITTEN)
    assert graph.value(rule, A.status) == rdflib.Literal("deprecated")
    assert graph.value(rule, DCT.created) == rdflib.Literal("2021-02-08", datatype=rdflib.XSD.date)
    assert graph.value(rule, DCT.modified) == rdflib.Literal("2023-04-20", datatype=rdflib.XSD.date)
    assert graph.value(rule, A.rulePath) == rdflib.Literal("deprecated/web/proxy_apt_domestic_kitten.yml")
    assert graph.value(rule, A.tagsTactic) == rdflib.URIRef(attack_iri("TA0011"))  # command_and_control


def test_rule_collections(repo):
    data = sigma.load(repo, include_unsupported=True)
    graph = to_graph(data)
    remote = node(REMOTE_SERVICE)
    assert [r.path for r in data.rules if r.id == REMOTE_SERVICE] == ["unsupported/windows/win_remote_service.yml"]
    assert {str(o) for o in graph.objects(remote, A.logsourceService)} == {"security", "system"}
    assert graph.value(remote, rdflib.RDFS.label) == rdflib.Literal("Remote Service Creation")
    tor = node(APT29_TOR)  # global document holds the title, the second one the id
    assert graph.value(tor, rdflib.RDFS.label) == rdflib.Literal("APT29 Google Update Service Install")
    assert graph.value(tor, A.tagsGroup) == rdflib.URIRef(attack_iri("G0016"))
    assert graph.value(tor, A.logsourceCategory) == rdflib.Literal("process_creation")


def test_zip_gives_the_same_graph_as_the_folder(tmp_path, repo):
    folder = to_graph(sigma.load(repo, include_deprecated=True))
    archive = make_zip(tmp_path / "sigma_all_rules.zip", repo)
    zipped = sigma.load(archive, include_deprecated=True)
    assert zipped.errors == []
    assert set(to_graph(zipped)) == set(folder)
    assert len(folder) > 250
    # GitHub's archive layout: one leading folder
    github = make_zip(tmp_path / "sigma-master.zip", repo, prefix="sigma-master/")
    assert set(to_graph(sigma.load(github, include_deprecated=True))) == set(folder)


def test_zip_error_names_the_member(tmp_path, fixtures):
    archive = make_zip(tmp_path / "sigma_all_rules.zip", fixtures / "sigma" / "bad-yaml")
    data = sigma.load(archive)
    assert len(data.rules) == 1
    assert [str(e) for e in data.errors] == [
        f"{archive}!rules/network/zeek/zeek_default_cobalt_strike_certificate.yml:11: YAML syntax error: "
        "while parsing a flow sequence; did not find expected ',' or ']'"
    ]


def test_version_and_graph_name(tmp_path, repo, data):
    assert data.version == "2025-11-22"  # the newest date/modified among the rules
    assert sigma.graph_name(data) == graph_iri("sigma", "2025-11-22")
    assert "2025-11-22" in data.title
    archive = make_zip(tmp_path / "sigma_all_rules_r2025-01-01.zip", repo)
    released = sigma.load(archive)
    assert released.version == "r2025-01-01"
    assert sigma.graph_name(released) == graph_iri("sigma", "r2025-01-01")
    assert released.title == "SigmaHQ rules r2025-01-01"
    undated = tmp_path / "undated"
    text = (repo / "rules/linux/builtin/lnx_symlink_etc_passwd.yml").read_text(encoding="utf-8")
    write_rule(undated, "x.yml", text.replace("date: 2019-04-05\n", "").replace("modified: 2021-11-27\n", ""))
    assert sigma.graph_name(sigma.load(undated)) == graph_iri("sigma", "rules")


def test_sha256_is_of_the_rules_read(tmp_path, repo, data):
    assert data.sha256 == sigma.load(repo).sha256
    assert data.sha256 != sigma.load(repo, include_deprecated=True).sha256
    archive = make_zip(tmp_path / "sigma_all_rules.zip", repo)
    assert sigma.load(archive).sha256 == sha256_of(archive)


# --- bad input ------------------------------------------------------------------------------------


def test_yaml_syntax_error_is_skipped_with_path_and_line(fixtures):
    folder = fixtures / "sigma" / "bad-yaml"
    data = sigma.load(folder)
    assert [r.id for r in data.rules] == [SYMLINK]
    (error,) = data.errors
    assert error.path == str(folder / "rules/network/zeek/zeek_default_cobalt_strike_certificate.yml")
    assert error.line == 11
    assert str(error).startswith(f"{error.path}:11: YAML syntax error")
    report = build_source("sigma", data, rdflib.Graph())
    assert report.skipped == [error]
    assert report.counts["skipped"] == 1 and report.counts["rules"] == 1


def test_strict_raises_the_first_error(fixtures):
    with pytest.raises(InputError) as raised:
        sigma.load(fixtures / "sigma" / "bad-yaml", strict=True)
    assert raised.value.line == 11
    assert raised.value.path.endswith("zeek_default_cobalt_strike_certificate.yml")


def test_not_a_mapping(fixtures):
    data = sigma.load(fixtures / "sigma" / "not-a-mapping")
    assert [r.id for r in data.rules] == [SYMLINK]
    (error,) = data.errors
    assert (error.line, error.message) == (1, "not a Sigma rule: the document is list, not a mapping")
    with pytest.raises(InputError, match="not a mapping"):
        sigma.load(fixtures / "sigma" / "not-a-mapping", strict=True)


@pytest.fixture
def symlink_rule(repo) -> str:
    return (repo / "rules/linux/builtin/lnx_symlink_etc_passwd.yml").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("edit", "line", "message", "key"),
    [
        (lambda t: t.replace(f"id: {SYMLINK}\n", ""), 1, "not a Sigma rule: no 'id'", None),
        (lambda t: t.replace(f"id: {SYMLINK}", "id: 42"), 2, "rule id is not a UUID: 42", "id"),
        (lambda t: t.replace(f"id: {SYMLINK}", "id: not-a-uuid"), 2, "rule id is not a UUID: 'not-a-uuid'", "id"),
        (lambda t: t.replace("title: Symlink Etc Passwd\n", ""), 1, "not a Sigma rule: no 'title'", None),
        (lambda t: t.replace("title: Symlink Etc Passwd", "title: [a, b]"), 1, "title is not text", "title"),
        (
            lambda t: t.replace("logsource:\n    product: linux", "logsource: linux"),
            13,
            "'logsource' is not",
            "logsource",
        ),
        (lambda t: t.replace("tags:\n", "tags:\n    - {a: b}\n"), 11, "'tags' is not a list of text", "tags[0]"),
        (lambda t: "", 1, "no YAML document", None),
    ],
)
def test_bad_rules_are_skipped_with_their_line(tmp_path, symlink_rule, edit, line, message, key):
    write_rule(tmp_path, "a_good.yml", symlink_rule.replace(SYMLINK, "0e95725d-7320-415d-80f7-004da920fc11"))
    bad = write_rule(tmp_path, "b_bad.yml", edit(symlink_rule))
    data = sigma.load(tmp_path)
    assert [r.id for r in data.rules] == ["0e95725d-7320-415d-80f7-004da920fc11"]
    (error,) = data.errors
    assert (error.path, error.line) == (str(bad), line)
    assert message in error.message
    assert error.key == key  # the YAML key path of the bad value
    with pytest.raises(InputError):
        sigma.load(tmp_path, strict=True)


def test_duplicate_rule_id_keeps_the_first(tmp_path, symlink_rule):
    write_rule(tmp_path, "a.yml", symlink_rule)
    second = write_rule(tmp_path, "b.yml", "# a copy\n" + symlink_rule.replace(SYMLINK, SYMLINK.upper()))
    data = sigma.load(tmp_path)
    assert [r.path for r in data.rules] == ["rules/a.yml"]
    (error,) = data.errors
    assert (error.path, error.line, error.obj) == (str(second), 3, SYMLINK)
    assert "duplicate rule id, already in rules/a.yml" in str(error)


def test_same_file_reached_twice_is_read_once(repo):
    data = sigma.load([repo, repo / "rules" / "linux"])
    assert data.errors == []
    assert len(data.rules) == len(sigma.load(repo).rules)


def test_not_utf8(tmp_path, symlink_rule):
    raw = symlink_rule.encode().replace(b"Florian Roth", b"Florian R\xf6th")
    bad = write_rule(tmp_path, "x.yml", raw)
    data = sigma.load(tmp_path)
    assert data.rules == []
    assert [(e.path, e.line, e.message) for e in data.errors] == [(str(bad), 7, "not UTF-8 text")]


def test_invalid_date_is_kept_as_text_with_a_warning(tmp_path, symlink_rule):
    write_rule(tmp_path, "x.yml", symlink_rule.replace("date: 2019-04-05", "date: 2019-13-45"))
    data = sigma.load(tmp_path)
    graph = to_graph(data)
    assert graph.value(node(SYMLINK), DCT.created) == rdflib.Literal("2019-13-45")
    assert any("'date' is not a date" in w for w in data.warnings)


def test_missing_path_raises(tmp_path):
    with pytest.raises(InputError, match="no such file or folder") as raised:
        sigma.load([tmp_path / "nowhere"])
    assert raised.value.path == str(tmp_path / "nowhere")
    not_zip = tmp_path / "x.zip"
    not_zip.write_text("hello")
    with pytest.raises(InputError, match="not a zip file"):
        sigma.load(not_zip)


# --- vocabulary and report -----------------------------------------------------------------------


def test_every_emitted_project_term_is_declared(repo):
    data = sigma.load(repo, include_deprecated=True, include_unsupported=True)
    emitted = set()
    for triple in sigma.triples(data):
        emitted.add(triple.predicate.value)
        if isinstance(triple.object, ox.NamedNode):
            emitted.add(triple.object.value)
    emitted = {term for term in emitted if term.startswith(AKG)}
    assert emitted - declared_terms() == set()
    assert len(emitted) > 15


def test_report_counts(data, graph):
    report = build_source("sigma", data, rdflib.Graph(identifier=rdflib.URIRef(sigma.graph_name(data))))
    assert report.source == "sigma"
    assert report.graph == sigma.graph_name(data)
    assert report.triples == len(graph)
    counts = report.counts
    assert counts["rules"] == 11
    assert counts["status:test"] + counts["status:experimental"] == 11
    assert counts["tags:technique"] == sum(1 for r in data.rules for t in r.tags if t.startswith("attack.t"))
    assert counts["tags:cve"] == 1
    assert counts["tags:group"] == 1 and counts["tags:software"] == 1
    assert counts["tags:tactic:no-iri"] == 3  # stealth twice, defense-impairment once
    assert counts["related:similar"] == 2
    assert any("stealth (2)" in w for w in report.warnings)


# --- the full shared data -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def full(shared_data) -> sigma.SigmaRules:
    return sigma.load(shared_data / "sigma")


def test_full_rule_set(full):
    assert full.errors == []
    assert len(full.rules) == 3780
    assert len({r.id for r in full.rules}) == 3780
    tagged = {r.path for r in full.rules if "attack.t1204.001" in r.tags}
    assert tagged == T1204_001_RULES
    assert full.version == "2026-07-30"


def test_full_rule_set_with_deprecated_and_unsupported(shared_data):
    data = sigma.load(shared_data / "sigma", include_deprecated=True, include_unsupported=True)
    assert data.errors == []
    assert len(data.rules) == 3780 + 172 + 87
    assert sigma.counts(data)["status:deprecated"] == 167


def test_full_build_into_an_oxigraph_dataset(full):
    dataset = as_dataset(ox.Store())
    name = rdflib.URIRef(sigma.graph_name(full))
    report = build_source("sigma", full, dataset.graph(name))
    assert report.counts["rules"] == 3780
    assert report.triples == len(dataset.graph(name)) > 80_000
    technique = attack_iri("T1204.001")
    rows = dataset.query(
        f"SELECT ?rule WHERE {{ GRAPH ?g {{ ?rule akg:detectsTechnique <{technique}> ; a akg:SigmaRule }} }}",
        initNs={"akg": A},
    )
    assert len(rows) == 4
