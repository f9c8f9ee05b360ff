"""Atomic Red Team builder: fixtures cut from the real repository, archives, bad input, full data."""

from __future__ import annotations

import io
import shutil
import tarfile
import zipfile
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib
import yaml
from conftest import missing_shared_data

from attackkg.builders import atomic
from attackkg.builders.base import InputError, sha256_of
from attackkg.builders.build import build_source
from attackkg.ontology import declared_terms
from attackkg.ontology.namespaces import AKG, RDFS, atomic_test_iri, attack_iri, graph_iri

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "atomic"
T1204_002 = "atomics/T1204.002/T1204.002.yaml"


def yaml_tests(root: Path) -> dict[str, list[tuple[str, str]]]:
    """(GUID, name) of every test per technique, read with plain PyYAML (the reference)."""
    found: dict[str, list[tuple[str, str]]] = {}
    for file in sorted(root.glob("atomics/T*/T*.yaml")):
        document = yaml.load(file.read_bytes(), Loader=yaml.CSafeLoader)
        found[document["attack_technique"]] = [
            (test["auto_generated_guid"], test["name"]) for test in document["atomic_tests"] or []
        ]
    return found


def by_guid(data: atomic.AtomicData) -> dict[str, atomic.AtomicTest]:
    return {test.guid: test for test in data.tests}


def string(value: str) -> rdflib.Literal:
    """A plain literal as rdflib reads it back from Oxigraph (typed xsd:string)."""
    return rdflib.Literal(value, datatype=rdflib.XSD.string)


def oxigraph_dataset() -> rdflib.Dataset:
    return rdflib.Dataset(store="Oxigraph")


def copy_tree(tmp_path: Path, *files: str, top: str = "repo") -> Path:
    """A repository folder under tmp_path holding the given fixture files."""
    root = tmp_path / top
    for rel in files:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(FIXTURES / rel, root / rel)
    return root


FIXTURE_FILES = sorted(p.relative_to(FIXTURES).as_posix() for p in FIXTURES.glob("atomics/T*/T*.yaml"))


# --- reading the fixture folder ----------------------------------------------------------------


def test_reads_every_test_of_the_fixture_folder():
    data = atomic.load(FIXTURES)
    expected = yaml_tests(FIXTURES)
    assert {(t.technique, t.guid, t.name) for t in data.tests} == {
        (technique, guid, name) for technique, tests in expected.items() for guid, name in tests
    }
    assert data.counts["files"] == 5
    assert data.counts["tests"] == 19
    assert data.counts["techniques"] == 5
    assert data.skipped == []
    assert data.warnings == []
    assert data.version == atomic.UNKNOWN_VERSION  # a folder not named atomic-red-team-<tag>


def test_t1204_002_tests_in_file_order_with_their_fields():
    data = atomic.load(FIXTURES)
    tests = [t for t in data.tests if t.technique == "T1204.002"]
    assert [t.number for t in tests] == list(range(1, 14))
    first = tests[0]
    assert first.guid == "8bebc690-18c7-4549-bc98-210f7019efff"
    assert first.name == "OSTap Style Macro Execution"
    assert first.file == T1204_002
    assert first.platforms == ("windows",)
    assert first.executor == "powershell"
    assert first.elevation_required is False  # key absent: the spec's default
    assert first.input_arguments == ("jse_path", "ms_product")
    assert first.description.startswith("This Test uses a VBA macro to create and execute #{jse_path}")
    assert first.description == first.description.strip()
    second = tests[1]
    assert (second.executor, second.input_arguments) == ("command_prompt", ("script_file", "file_url"))
    pua = by_guid(data)["02f35d62-9fdc-4a97-b899-a5d9a876d295"]
    assert pua.name == "Potentially Unwanted Applications (PUA)"
    assert pua.elevation_required is False  # stated false


def test_other_fields_elevation_manual_executor_and_platforms():
    tests = by_guid(atomic.load(FIXTURES))
    iso = tests["e9795c8d-42aa-4ed4-ad80-551ed793d006"]
    assert (iso.technique, iso.elevation_required, iso.input_arguments) == ("T1204.003", True, ())
    assert iso.description == "Adversaries may rely on a user running a malicious image to facilitate execution"
    paste = tests["cec8ad4e-0320-4984-a1ae-70ee398c9519"]
    assert (paste.executor, paste.elevation_required, paste.platforms) == ("manual", False, ("windows",))
    mac = tests["f047c7de-a2d9-406e-a62b-12a09d9516f4"]
    assert (mac.technique, mac.executor, mac.platforms) == ("T1037.002", "manual", ("macos",))
    registry = tests["173126b7-afe4-45eb-8680-fa9f6400431c"]
    assert (registry.number, registry.executor, registry.elevation_required) == (3, "command_prompt", True)
    assert registry.input_arguments == ("user_password", "user_name")
    hidden = tests["4238a7f0-a980-4fff-98a2-dfc0a363d507"]
    assert (hidden.platforms, hidden.executor) == (("macos",), "sh")


# --- triples and the graph ---------------------------------------------------------------------


def test_build_fills_its_own_named_graph_with_the_tests():
    dataset = oxigraph_dataset()
    data = atomic.load(FIXTURES)
    name = atomic.graph_name(data)
    assert name == graph_iri("atomic", "unknown")
    report = build_source("atomic", data, dataset.graph(rdflib.URIRef(name)))
    assert (report.source, report.graph, report.version, report.title) == (
        "atomic",
        name,
        "unknown",
        "Atomic Red Team",
    )
    assert report.counts["tests"] == 19
    assert report.triples == len(list(atomic.triples(data)))
    assert len(dataset.graph(rdflib.URIRef(name))) == report.triples
    assert len(dataset.default_graph) == 0

    rows = dataset.query(
        f"""
        SELECT ?test ?name ?number WHERE {{
          GRAPH <{name}> {{ ?test a akg:AtomicTest ; akg:emulates <{attack_iri("T1204.002")}> ;
                             rdfs:label ?name ; akg:atomicTestNumber ?number }}
        }} ORDER BY ?number
        """,
        initNs={"akg": AKG, "rdfs": RDFS},
    )
    got = [(str(row.test), str(row.name), row.number.toPython()) for row in rows]
    expected = yaml_tests(FIXTURES)["T1204.002"]
    assert got == [(atomic_test_iri(guid), name, i + 1) for i, (guid, name) in enumerate(expected)]


def test_triples_of_one_test():
    data = atomic.load(FIXTURES)
    subject = rdflib.URIRef(atomic_test_iri("e9795c8d-42aa-4ed4-ad80-551ed793d006"))
    graph = oxigraph_dataset().graph(rdflib.URIRef(atomic.graph_name(data)))
    build_source("atomic", data, graph)
    akg = rdflib.Namespace(AKG)
    assert set(graph.predicate_objects(subject)) == {
        (rdflib.RDF.type, akg.AtomicTest),
        (akg.emulates, rdflib.URIRef("https://attack.mitre.org/techniques/T1204/003")),
        (rdflib.RDFS.label, string("Malicious Execution from Mounted ISO Image")),
        (rdflib.DCTERMS.identifier, string("e9795c8d-42aa-4ed4-ad80-551ed793d006")),
        (
            rdflib.DCTERMS.description,
            string("Adversaries may rely on a user running a malicious image to facilitate execution"),
        ),
        (akg.atomicTestNumber, rdflib.Literal(1)),
        (akg.atomicFile, string("atomics/T1204.003/T1204.003.yaml")),
        (akg.supportedPlatform, string("windows")),
        (akg.executorName, string("powershell")),
        (akg.elevationRequired, rdflib.Literal(True)),
    }


def test_given_a_dataset_the_tests_go_into_their_named_graph():
    dataset = oxigraph_dataset()
    report = build_source("atomic", FIXTURES, dataset)
    assert len(dataset.graph(rdflib.URIRef(report.graph))) == report.triples > 0
    assert len(dataset.default_graph) == 0


def test_every_project_term_emitted_is_declared():
    emitted = {
        term.value
        for triple in atomic.triples(atomic.load(FIXTURES))
        for term in (triple.predicate, triple.object)
        if isinstance(term, ox.NamedNode) and term.value.startswith(AKG)
    }
    assert emitted >= {AKG + "AtomicTest", AKG + "emulates", AKG + "inputArgument"}
    assert emitted <= declared_terms()


# --- versions and archives ---------------------------------------------------------------------


def make_zip(path: Path, top: str, comment: bytes = b"") -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{top}/", "")
        archive.write(FIXTURES / "LICENSE.txt", f"{top}/LICENSE.txt")
        archive.writestr(f"{top}/atomics/Indexes/index.yaml", "not: a technique file\n")
        archive.writestr(f"{top}/atomics/T1204.002/T1204.002.md", "# T1204.002\n")
        for rel in FIXTURE_FILES:
            archive.write(FIXTURES / rel, f"{top}/{rel}")
        archive.comment = comment
    return path


def make_tar(path: Path, top: str, commit: str | None = None) -> Path:
    headers = {"comment": commit} if commit else {}
    with tarfile.open(path, "w:gz", format=tarfile.PAX_FORMAT, pax_headers=headers) as archive:
        for rel in FIXTURE_FILES:
            archive.add(FIXTURES / rel, f"{top}/{rel}")
        note = b"# T1204.002\n"
        info = tarfile.TarInfo(f"{top}/atomics/T1204.002/T1204.002.md")
        info.size = len(note)
        archive.addfile(info, io.BytesIO(note))
    return path


def test_zip_release_archive_reads_the_same_tests_under_its_tag(tmp_path):
    path = make_zip(tmp_path / "atomic-red-team-v9.9.9.zip", "atomic-red-team-v9.9.9")
    data = atomic.load(path)
    folder = atomic.load(FIXTURES)
    assert data.version == "v9.9.9"
    assert atomic.graph_name(data) == graph_iri("atomic", "v9.9.9")
    assert data.tests == folder.tests  # same fields, same order, same atomics/... file paths
    assert data.sha256 == sha256_of(path)
    assert data.counts["files"] == 5


def test_tar_gz_archive_of_a_branch_is_named_by_its_commit(tmp_path):
    commit = "9f85cf3e" + "0123456789abcdef0123456789abcdef"
    data = atomic.load(make_tar(tmp_path / "master.tar.gz", "atomic-red-team-master", commit))
    assert data.version == commit[:12]
    assert data.tests == atomic.load(FIXTURES).tests


@pytest.mark.parametrize(
    ("name", "top", "comment", "version"),
    [
        ("master.zip", "atomic-red-team-master", b"", "unknown"),  # a branch, no commit recorded
        ("main.zip", "atomic-red-team-main", b"0" * 40, "000000000000"),
        ("atomic-red-team-2.0.zip", "x", b"", "2.0"),  # top folder says nothing: the archive's name
        ("anything.zip", "atomic-red-team-1.0", b"f" * 40, "1.0"),  # a tag wins over the commit
    ],
)
def test_archive_versions(tmp_path, name, top, comment, version):
    assert atomic.load(make_zip(tmp_path / name, top, comment)).version == version


def test_version_option_and_folder_names(tmp_path):
    assert atomic.load(FIXTURES, version="2026-08-17").version == "2026-08-17"
    root = copy_tree(tmp_path, T1204_002, top="atomic-red-team-3.1")
    assert atomic.load(root).version == "3.1"
    assert atomic.load(root / "atomics").version == "3.1"  # the atomics folder itself
    assert len(atomic.load(root / "atomics").tests) == 13


def test_folder_sha256_is_over_the_test_files_only(tmp_path):
    root = copy_tree(tmp_path, T1204_002)
    before = atomic.load(root).sha256
    (root / "atomics/T1204.002/src").mkdir()
    (root / "atomics/T1204.002/src/payload.txt").write_text("payload")
    assert atomic.load(root).sha256 == before
    (root / T1204_002).write_bytes((root / T1204_002).read_bytes() + b"\n# changed\n")
    assert atomic.load(root).sha256 != before


# --- bad input ---------------------------------------------------------------------------------


def test_bad_yaml_is_skipped_with_its_line():
    data = atomic.load(FIXTURES / "bad-yaml")
    assert [t.guid for t in data.tests] == ["e9795c8d-42aa-4ed4-ad80-551ed793d006"]
    [error] = data.skipped
    assert error.path.endswith("bad-yaml/atomics/T1204.004/T1204.004.yaml")
    assert error.line == 6
    assert str(error).startswith(f"{error.path}:6: not valid YAML")
    assert data.counts["skipped_files"] == 1
    report = build_source("atomic", data, rdflib.Graph())
    assert report.skipped == [error]


def test_bad_yaml_strict_raises():
    with pytest.raises(InputError) as raised:
        atomic.load(FIXTURES / "bad-yaml", strict=True)
    assert raised.value.path.endswith("T1204.004.yaml")
    assert raised.value.line == 6


def test_test_without_guid_is_skipped_and_counted():
    data = atomic.load(FIXTURES / "missing-guid")
    assert [t.number for t in data.tests] == [1, 3]
    assert data.counts["missing_guid"] == 1
    [error] = data.skipped
    assert (error.line, error.obj) == (22, "T1564.002 test 2")
    assert "auto_generated_guid" in error.message
    with pytest.raises(InputError, match="auto_generated_guid"):
        atomic.load(FIXTURES / "missing-guid", strict=True)


def edited(tmp_path: Path, rel: str, old: str, new: str) -> Path:
    """A repository folder with one fixture file, ``old`` replaced by ``new`` (must occur)."""
    root = copy_tree(tmp_path, rel)
    content = (root / rel).read_text(encoding="utf-8")
    assert old in content
    (root / rel).write_text(content.replace(old, new, 1), encoding="utf-8")
    return root


T1564 = "atomics/T1564.002/T1564.002.yaml"


@pytest.mark.parametrize(
    ("rel", "old", "new", "line", "kind", "kept", "key"),
    [
        # test 1's executor (lines 4-21): elevation_required is on line 20
        (
            T1564,
            "    elevation_required: true\n    name: sh",
            "    elevation_required: maybe\n    name: sh",
            20,
            "skipped_tests",
            2,
            "atomic_tests[0].executor.elevation_required",
        ),
        (
            T1564,
            "4238a7f0-a980-4fff-98a2-dfc0a363d507",
            "not-a-guid",
            5,
            "skipped_tests",
            2,
            "atomic_tests[0].auto_generated_guid",
        ),
        (
            T1564,
            "  supported_platforms:\n  - macos",
            "  supported_platforms:\n    macos: yes",
            8,
            "skipped_tests",
            2,
            "atomic_tests[0].supported_platforms",
        ),
        (T1564, "- name: Create Hidden User using UniqueID < 500", "- name:", 4, "skipped_tests", 2, "atomic_tests[0]"),
        (
            T1564,
            "attack_technique: T1564.002",
            "attack_technique: Hidden Users",
            1,
            "skipped_files",
            0,
            "attack_technique",
        ),
        (T1564, "attack_technique: T1564.002", "attack_technique: TA0005", 1, "skipped_files", 0, "attack_technique"),
        (T1564, "atomic_tests:\n", "atomic_tests: none\nnot_tests:\n", 3, "skipped_files", 0, "atomic_tests"),
    ],
)
def test_malformed_tests_and_files_are_skipped_with_their_line(tmp_path, rel, old, new, line, kind, kept, key):
    root = edited(tmp_path, rel, old, new)
    data = atomic.load(root)
    assert len(data.tests) == kept
    [error] = data.skipped
    assert error.line == line, str(error)
    assert error.key == key and str(error).endswith(f" (at {key})")  # the YAML key path
    assert data.counts[kind] == 1
    with pytest.raises(InputError) as raised:
        atomic.load(root, strict=True)
    assert (raised.value.line, raised.value.key) == (line, key)


def test_a_file_that_is_not_a_mapping_or_not_utf8(tmp_path):
    root = copy_tree(tmp_path, T1204_002, T1564)
    (root / T1564).write_text("- just\n- a list\n")
    (root / "atomics/T1001/T1001.yaml").parent.mkdir()
    (root / "atomics/T1001/T1001.yaml").write_bytes(b"attack_technique: T1001\ndisplay_name: \x80\n")
    data = atomic.load(root)
    assert len(data.tests) == 13
    assert sorted((Path(e.path).name, e.line) for e in data.skipped) == [
        ("T1001.yaml", 2),
        ("T1564.002.yaml", 1),
    ]


def test_a_repeated_guid_keeps_the_first(tmp_path):
    root = copy_tree(tmp_path, T1204_002)
    copy = root / "atomics/T1204.005/T1204.005.yaml"
    copy.parent.mkdir()
    copy.write_text((root / T1204_002).read_text().replace("T1204.002", "T1204.005"))
    data = atomic.load(root)
    assert len(data.tests) == 13
    assert {t.technique for t in data.tests} == {"T1204.002"}
    assert len(data.skipped) == 13
    assert all("already used in atomics/T1204.002/T1204.002.yaml" in e.message for e in data.skipped)


def test_technique_not_matching_its_folder_is_kept_with_a_warning(tmp_path):
    root = copy_tree(tmp_path, T1204_002)
    (root / "atomics/T1204.002").rename(root / "atomics/T1204.009")
    data = atomic.load(root)
    assert {t.technique for t in data.tests} == {"T1204.002"}
    [warning] = data.warnings
    assert "T1204.002 is not the folder's T1204.009" in warning


def test_empty_atomic_tests_is_no_error(tmp_path):
    root = copy_tree(tmp_path, T1204_002)
    (root / T1204_002).write_text("attack_technique: T1204.002\ndisplay_name: x\natomic_tests: []\n")
    data = atomic.load(root)
    assert (data.tests, data.skipped, data.counts["files"]) == ([], [], 1)


def test_missing_or_wrong_paths_are_input_errors(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        atomic.load(tmp_path / "nowhere")
    with pytest.raises(InputError, match="no atomics/ folder"):
        atomic.load(tmp_path)
    (tmp_path / "atomics").mkdir()
    with pytest.raises(InputError, match=r"no atomics/T\*/T\*\.yaml"):
        atomic.load(tmp_path)
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(InputError, match=r"not a folder, \.zip or \.tar\.gz"):
        atomic.load(tmp_path / "notes.txt")


def test_truncated_archives_are_input_errors(tmp_path):
    whole_zip = make_zip(tmp_path / "a.zip", "atomic-red-team-1.0").read_bytes()
    whole_tar = make_tar(tmp_path / "a.tar.gz", "atomic-red-team-1.0").read_bytes()
    for name, content in [("cut.zip", whole_zip[: len(whole_zip) // 2]), ("cut.tar.gz", whole_tar[:-200])]:
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(InputError) as raised:
            atomic.load(path)
        assert raised.value.path == str(path)


def test_bad_file_inside_an_archive_names_the_member(tmp_path):
    path = tmp_path / "atomic-red-team-1.0.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.write(
            FIXTURES / "bad-yaml/atomics/T1204.004/T1204.004.yaml",
            "atomic-red-team-1.0/atomics/T1204.004/T1204.004.yaml",
        )
    data = atomic.load(path)
    [error] = data.skipped
    assert str(error).startswith(f"{path}/atomic-red-team-1.0/atomics/T1204.004/T1204.004.yaml:6: ")


# --- the full repository -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def full(shared_data):
    root = shared_data / "atomic-red-team"
    if not (root / "atomics").is_dir():
        missing_shared_data(f"no Atomic Red Team data at {root}")
    return root, atomic.load(root)


def test_full_data_matches_the_yaml(full):
    root, data = full
    expected = yaml_tests(root)
    assert data.skipped == [] and data.warnings == []
    assert data.counts["files"] == len(expected) == 341
    assert len(data.tests) == sum(len(tests) for tests in expected.values())  # 1,819 at 9f85cf3e
    assert len(by_guid(data)) == len(data.tests)
    t1204_002 = [(t.guid, t.name) for t in data.tests if t.technique == "T1204.002"]
    assert t1204_002 == expected["T1204.002"]
    assert len(t1204_002) == 13
    assert "T1204.001" not in {t.technique for t in data.tests}


def test_full_data_graph(full):
    _, data = full
    dataset = oxigraph_dataset()
    report = build_source("atomic", data, dataset)
    graph = dataset.graph(rdflib.URIRef(report.graph))
    assert len(graph) == report.triples
    emulates = rdflib.URIRef(AKG + "emulates")
    assert len(set(graph.subjects(rdflib.RDF.type, rdflib.URIRef(AKG + "AtomicTest")))) == len(data.tests)
    assert list(graph.subjects(emulates, rdflib.URIRef(attack_iri("T1204.001")))) == []
    assert len(list(graph.subjects(emulates, rdflib.URIRef(attack_iri("T1204.002"))))) == 13


def test_full_data_as_a_release_archive_reads_the_same(full, tmp_path):
    root, data = full
    path = tmp_path / "atomic-red-team-9.9.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in root.glob("atomics/T*/T*.yaml"):  # in the file system's order
            archive.write(file, f"atomic-red-team-9.9/{file.relative_to(root).as_posix()}")
    from_archive = atomic.load(path)
    assert from_archive.version == "9.9"
    assert from_archive.tests == data.tests  # same order too: atomics/T1003/ before T1003.001/
