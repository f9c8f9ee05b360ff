"""The per-technique coverage page (queries/report.py, ``attack-kg report``).

On a small store built from the fixtures (ATT&CK cut from 18.1, the Sigma and Atomic fixture
folders, and the D3FEND cut below), and end to end on the full shared data.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from expected import T1204_001_COUNTERMEASURES

from attackkg.builders.base import InputError
from attackkg.builders.build import build_store
from attackkg.builders.store import open_store
from attackkg.queries import library, report, rows
from attackkg.queries.cli import main

# A D3FEND cut shaped like the ontology's source form (relations only as restrictions): the
# property hierarchy, three ATT&CK classes, five defensive techniques, their tactics. Mapped by
# D3FEND's rule: T1204.001 accesses URL (URL Analysis, Homoglyph Detection analyze URL) and
# produces Outbound Internet Web Traffic (Outbound Traffic Filtering filters it); T1204.002
# executes Executable File (Dynamic Analysis analyzes it); T1204 gets its sub-techniques' mappings.
D3FEND_CUT = """\
@prefix : <http://d3fend.mitre.org/ontologies/d3fend.owl#> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .

<http://d3fend.mitre.org/ontologies/d3fend.owl> a owl:Ontology .
:may-be-associated-with a owl:ObjectProperty ; rdfs:label "may-be-associated-with" .
:associated-with a owl:ObjectProperty ; rdfs:label "associated-with" ; rdfs:subPropertyOf :may-be-associated-with .
:accesses a owl:ObjectProperty ; rdfs:label "accesses" ; rdfs:subPropertyOf :associated-with .
:executes a owl:ObjectProperty ; rdfs:label "executes" ; rdfs:subPropertyOf :accesses .
:produces a owl:ObjectProperty ; rdfs:label "produces" ; rdfs:subPropertyOf :associated-with .
:analyzes a owl:ObjectProperty ; rdfs:label "analyzes" ; rdfs:subPropertyOf :associated-with .
:filters a owl:ObjectProperty ; rdfs:label "filters" ; rdfs:subPropertyOf :associated-with .
:enables a owl:ObjectProperty ; rdfs:label "enables" ; rdfs:subPropertyOf :associated-with .
:DigitalArtifact a owl:Class ; rdfs:label "Digital Artifact" .
:URL a owl:Class ; rdfs:label "URL" ; rdfs:subClassOf :DigitalArtifact .
:NetworkTraffic a owl:Class ; rdfs:label "Network Traffic" ; rdfs:subClassOf :DigitalArtifact .
:OutboundInternetWebTraffic a owl:Class ; rdfs:label "Outbound Internet Web Traffic" ; rdfs:subClassOf :NetworkTraffic .
:ExecutableFile a owl:Class ; rdfs:label "Executable File" ; rdfs:subClassOf :DigitalArtifact .
:DefensiveTactic a owl:Class ; rdfs:label "Defensive Tactic" .
:Detect a :DefensiveTactic, owl:Class ; rdfs:label "Detect" ; rdfs:subClassOf :DefensiveTactic .
:Isolate a :DefensiveTactic, owl:Class ; rdfs:label "Isolate" ; rdfs:subClassOf :DefensiveTactic .
:DefensiveTechnique a owl:Class ; rdfs:label "Defensive Technique" .
:IdentifierAnalysis a owl:Class ; rdfs:label "Identifier Analysis" ; :d3fend-id "D3-ID" ;
    rdfs:subClassOf :DefensiveTechnique, [ a owl:Restriction ; owl:onProperty :enables ; owl:someValuesFrom :Detect ] .
:URLAnalysis a owl:Class ; rdfs:label "URL Analysis" ; :d3fend-id "D3-UA" ;
    rdfs:subClassOf :IdentifierAnalysis, [ a owl:Restriction ; owl:onProperty :analyzes ; owl:someValuesFrom :URL ] .
:HomoglyphDetection a owl:Class ; rdfs:label "Homoglyph Detection" ; :d3fend-id "D3-HD" ;
    rdfs:subClassOf :IdentifierAnalysis, [ a owl:Restriction ; owl:onProperty :analyzes ; owl:someValuesFrom :URL ] .
:OutboundTrafficFiltering a owl:Class ; rdfs:label "Outbound Traffic Filtering" ; :d3fend-id "D3-OTF" ;
    rdfs:subClassOf :DefensiveTechnique,
        [ a owl:Restriction ; owl:onProperty :enables ; owl:someValuesFrom :Isolate ],
        [ a owl:Restriction ; owl:onProperty :filters ; owl:someValuesFrom :OutboundInternetWebTraffic ] .
:DynamicAnalysis a owl:Class ; rdfs:label "Dynamic Analysis" ; :d3fend-id "D3-DA" ;
    rdfs:subClassOf :DefensiveTechnique,
        [ a owl:Restriction ; owl:onProperty :enables ; owl:someValuesFrom :Detect ],
        [ a owl:Restriction ; owl:onProperty :analyzes ; owl:someValuesFrom :ExecutableFile ] .
:T1204 a owl:Class ; rdfs:label "User Execution" ; :attack-id "T1204" .
:T1204.001 a owl:Class ; rdfs:label "Malicious Link" ; :attack-id "T1204.001" ;
    rdfs:subClassOf :T1204,
        [ a owl:Restriction ; owl:onProperty :accesses ; owl:someValuesFrom :URL ],
        [ a owl:Restriction ; owl:onProperty :produces ; owl:someValuesFrom :OutboundInternetWebTraffic ] .
:T1204.002 a owl:Class ; rdfs:label "Malicious File" ; :attack-id "T1204.002" ;
    rdfs:subClassOf :T1204, [ a owl:Restriction ; owl:onProperty :executes ; owl:someValuesFrom :ExecutableFile ] .
"""

# The four rules of tests/fixtures/sigma/repo tagged attack.t1204.001 (the full data has the same four).
T1204_001_RULES = [
    "rules/linux/builtin/lnx_symlink_etc_passwd.yml",
    "rules/macos/process_creation/proc_creation_macos_susp_execution_macos_script_editor.yml",
    "rules/windows/process_creation/proc_creation_win_susp_clickfix_filefix_execution.yml",
    "rules/windows/registry/registry_set/registry_set_potential_clickfix_execution.yml",
]


# atomics/T1204.002/T1204.002.yaml: the names of its 13 tests, in file order.
T1204_002_TESTS = [
    "OSTap Style Macro Execution",
    "OSTap Payload Download",
    "Maldoc choice flags command execution",
    "OSTAP JS version",
    "Office launching .bat file from AppData",
    "Excel 4 Macro",
    "Headless Chrome code execution via VBA",
    "Potentially Unwanted Applications (PUA)",
    "Office Generic Payload Download",
    "LNK Payload Download",
    "Mirror Blast Emulation",
    "ClickFix Campaign - Abuse RunMRU to Launch mshta via PowerShell",
    "Simulate Click-Fix via Downloaded BAT File",
]

LINK = re.compile(r"^\* \[(?P<text>[^\]]+)\]\((?P<url>[^)]+)\)")


def build_fixture_store(root: Path, fixtures: Path, *, d3fend: bool = True, sigma: bool = True, atomic: bool = True):
    cut = root / "d3fend" / "1.2.0" / "d3fend.ttl"
    cut.parent.mkdir(parents=True, exist_ok=True)
    cut.write_text(D3FEND_CUT, encoding="utf-8")
    store_dir = root / "store"
    build_store(
        store_dir,
        attack_paths=[fixtures / "attack" / "small-enterprise-2.1.json"],
        d3fend_path=cut if d3fend else None,
        sigma_paths=[fixtures / "sigma" / "repo"] if sigma else [],
        atomic_path=fixtures / "atomic" if atomic else None,
    )
    return store_dir


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory, fixtures) -> Path:
    return build_fixture_store(tmp_path_factory.mktemp("report"), fixtures)


@pytest.fixture(scope="module")
def store(store_dir):
    return open_store(store_dir)


def section(page: str, heading: str) -> str:
    """The text of a ``## heading`` section of a Markdown page, up to the next ``## ``."""
    start = page.index(f"## {heading}\n")
    following = page.find("\n## ", start + 1)
    return page[start : following if following != -1 else len(page)]


def items(text: str) -> list[tuple[str, str]]:
    """The ``* [text](url)`` list items of a piece of Markdown."""
    return [(m["text"], m["url"]) for m in map(LINK.match, text.splitlines()) if m]


def number(text: str, label: str) -> int:
    return int(re.search(rf"\*\*{re.escape(label)}:\*\* (\d+)", text).group(1))


# --- the page on the fixture store -------------------------------------------------------------


def test_t1204_001_page_has_the_seed_structure_and_lists(store):
    page = report.report(store, "T1204.001")
    lines = page.splitlines()
    assert lines[0] == "# T1204.001: Malicious Link"
    assert lines[1] == "**MITRE ATT&CK Tactic(s):** Execution"
    assert "**[MITRE ATT&CK Description](https://attack.mitre.org/techniques/T1204/001)**" in lines
    quote = next(line for line in lines if line.startswith("<blockquote>"))
    assert quote.startswith("<blockquote>An adversary may rely upon a user clicking a malicious link")
    assert quote.endswith("</blockquote>")
    # the sections in the seed's order
    order = ["## Policy / Process Controls", "### [MITRE D3FEND]", "## Technical Controls (Detection Rules)"]
    order += ["### [Sigma rules public repository]", "## Offensive Security Tests"]
    positions = [page.index(marker) for marker in order]
    assert positions == sorted(positions)

    d3fend = section(page, "Policy / Process Controls")
    assert items(d3fend) == [
        ("Homoglyph Detection", "https://d3fend.mitre.org/techniques/d3f:HomoglyphDetection"),
        ("Outbound Traffic Filtering", "https://d3fend.mitre.org/techniques/d3f:OutboundTrafficFiltering"),
        ("URL Analysis", "https://d3fend.mitre.org/techniques/d3f:URLAnalysis"),
    ]
    assert number(d3fend, "ATT&CK-mapped resources for this (sub)technique") == 3

    sigma = section(page, "Technical Controls (Detection Rules)")
    assert items(sigma) == [
        (f"sigma/{p}", f"https://github.com/SigmaHQ/sigma/blob/master/{p}") for p in T1204_001_RULES
    ]
    assert number(sigma, "ATT&CK-mapped resources for this (sub)technique") == 4
    assert "[this repository](https://github.com/SigmaHQ/sigma/tree/master/rules)" in sigma

    tests = section(page, "Offensive Security Tests")
    assert items(tests) == []
    assert number(tests, "ATT&CK-mapped tests for this (sub)technique") == 0


def test_t1204_002_lists_its_atomic_tests_in_file_order(store):
    page = report.report(store, "t1204.002")  # any case
    tests = section(page, "Offensive Security Tests")
    listed = items(tests)
    assert [text for text, _ in listed] == [f"Atomic Test #{n} - {name}" for n, name in enumerate(T1204_002_TESTS, 1)]
    base = "https://github.com/redcanaryco/atomic-red-team/blob/master/atomics/T1204.002/T1204.002.md#"
    assert listed[0][1] == base + "atomic-test-1---ostap-style-macro-execution"
    assert listed[7][1] == base + "atomic-test-8---potentially-unwanted-applications-pua"
    assert number(tests, "ATT&CK-mapped tests for this (sub)technique") == 13
    assert "* [Atomic Test #2 - OSTap Payload Download]" in tests and "(windows; command_prompt)" in tests
    # D3FEND maps T1204.002 only through Executable File
    assert [text for text, _ in items(section(page, "Policy / Process Controls"))] == ["Dynamic Analysis"]


def test_release_lines_come_from_the_metadata_graph(store):
    page = report.report(store, "T1204.001")
    sources = {row["kind"]: row for row in rows(store, "sources")}
    assert "Last accessed" not in page
    assert f"**MITRE ATT&CK release:** {sources['attack']['version']} " in page
    assert sources["attack"]["version"] == "18.1"
    release = re.findall(r"^\*\*Release:\*\* (.*)$", page, re.MULTILINE)
    assert len(release) == 3
    assert release[0].startswith("1.2.0 (") and "inferred from it by attack-kg" in release[0]
    assert release[1].startswith(f"{sources['sigma']['version']} (")
    assert release[2].startswith("unknown (") and f"SHA-256 {sources['atomic']['sha256'][:12]}" in release[2]


def test_counts_are_list_lengths_and_totals_the_sums_over_all_techniques(store):
    coverage = report.load_coverage(store)
    assert set(coverage.techniques) == {"T1027", "T1027.005", "T1066", "T1204", "T1204.001", "T1204.002", "T1566.002"}
    totals = coverage.totals
    pages = coverage.techniques.values()
    assert totals.techniques == len(coverage.techniques)
    assert totals.d3fend == sum(len(p.countermeasures) for p in pages) == 8
    assert totals.sigma == sum(len(p.sigma_rules) for p in pages) == 8
    # atomics/T1037.002 and T1564.002 are for techniques the ATT&CK cut lacks: not counted
    assert totals.atomic == sum(len(p.atomic_tests) for p in pages) == 13
    assert totals.mitigations == sum(len(p.mitigations) for p in pages)
    for attack_id, page in coverage.techniques.items():
        text = report.render_markdown(coverage, attack_id)
        assert number(text, "Total ATT&CK-mapped resources") == totals.d3fend
        assert number(text, "Total ATT&CK-mapped rules") == totals.sigma
        assert number(text, "Total ATT&CK-mapped tests") == totals.atomic
        assert len(items(section(text, "Policy / Process Controls"))) == len(page.countermeasures)
        assert len(items(section(text, "Technical Controls (Detection Rules)"))) == len(page.sigma_rules)
        assert len(items(section(text, "Offensive Security Tests"))) == len(page.atomic_tests)


def test_one_technique_reads_the_same_as_all(store):
    everything = report.load_coverage(store)
    for attack_id in ("T1204", "T1204.001", "T1204.002", "T1066"):
        one = report.load_coverage(store, attack_id)
        assert list(one.techniques) == [attack_id]
        assert one.techniques[attack_id] == everything.techniques[attack_id]
        assert one.totals == everything.totals


def check_against_coverage_query(store, coverage: report.Coverage) -> int:
    """Every count of the page against ``query coverage``; returns how many techniques compared."""
    assert "coverage" in library(), "queries/coverage.rq is missing"
    compared = 0
    for row in rows(store, "coverage"):
        page = coverage.techniques[row["technique"]]
        assert row["countermeasures"] == len(page.countermeasures), row
        assert row["mitigations"] == len(page.mitigations), row
        if "atomic_tests" in row:
            assert row["atomic_tests"] == len(page.atomic_tests), row
        assert row["sigma_rules"] == len(page.sigma_rules), row
        # sigma_rules_with_subtechniques: the union of its and its sub-techniques' lists
        subs = [p for p in coverage.techniques.values() if p.attack_id.startswith(page.attack_id + ".")]
        paths = {r.path for p in [page, *subs] for r in p.sigma_rules}
        assert row["sigma_rules_with_subtechniques"] == len(paths), row
        compared += 1
    return compared


def test_counts_equal_the_coverage_query(store):
    coverage = report.load_coverage(store)
    assert check_against_coverage_query(store, coverage) == sum(p.current for p in coverage.techniques.values())


def test_revoked_technique_page_names_its_replacement(store):
    page = report.report(store, "T1066")
    assert "**Status:** revoked, replaced by T1027.005" in page
    assert "## Offensive Security Tests" in page


def test_unknown_or_malformed_technique_is_an_input_error(store):
    with pytest.raises(InputError, match="no technique T9999"):
        report.report(store, "T9999")
    with pytest.raises(InputError, match="not an ATT&CK technique ID"):
        report.report(store, "T1204.001 } ; DROP ALL")


def test_sources_not_loaded_are_said_and_sections_stay(tmp_path, fixtures):
    store = open_store(build_fixture_store(tmp_path, fixtures, d3fend=False, sigma=False, atomic=False))
    page = report.report(store, "T1204.001")
    for heading in ("Policy / Process Controls", "Technical Controls (Detection Rules)", "Offensive Security Tests"):
        text = section(page, heading)
        assert items(text) == []
        assert "not loaded in this store" in text
    assert number(page, "Total ATT&CK-mapped resources") == 0


# --- HTML and escaping -------------------------------------------------------------------------


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.links: list[tuple[str, str]] = []
        self._href: str | None = None
        self._text = ""

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "a":
            self._href, self._text = dict(attrs).get("href"), ""

    def handle_data(self, data):
        if self._href is not None:
            self._text += data

    def handle_endtag(self, tag):
        if tag == "a" and self._href is not None:
            self.links.append((self._text, self._href))
            self._href = None


def test_html_page_has_the_same_links_as_the_markdown(store):
    coverage = report.load_coverage(store, "T1204.002")
    markdown = report.render(coverage, "T1204.002", "markdown")
    html_page = report.render(coverage, "T1204.002", "html")
    parsed = _Collector()
    parsed.feed(html_page)
    listed = [link for link in parsed.links if link in set(items(markdown))]
    assert listed == items(markdown)
    assert len(listed) == 1 + 1 + 13  # Dynamic Analysis, one Sigma rule, 13 Atomic tests
    assert html_page.startswith("<!DOCTYPE html>") and "<h2>Offensive Security Tests</h2>" in html_page


def test_html_and_markdown_escape_what_the_data_says(store):
    coverage = report.load_coverage(store, "T1204.001")
    page = coverage.techniques["T1204.001"]
    page.name = 'Evil <script>alert("x")</script> & [link](javascript:alert(1))'
    page.description = (
        "Text <img src=x onerror=alert(1)> and [ok](https://attack.mitre.org/techniques/T1566/002) "
        "and [bad](javascript:alert(1)) and <code>cmd.exe</code>.(Citation: Somebody 2020)"
    )
    page.sigma_rules[0] = report.SigmaRuleFile(path='rules/x/<b>"quote" (1).yml')
    page.countermeasures[0] = report.Countermeasure(iri=report.D3F + "A_B", label="*bold* [x]")
    html_page = report.render_html(coverage, "T1204.001")
    parsed = _Collector()
    parsed.feed(html_page)
    assert "script" not in parsed.tags and "img" not in parsed.tags and "b" not in parsed.tags
    assert "&lt;script&gt;" in html_page and "&lt;img src=x onerror=alert(1)&gt;" in html_page
    hrefs = [href for _, href in parsed.links]
    assert "https://attack.mitre.org/techniques/T1566/002" in hrefs
    assert not any(href.startswith("javascript") for href in hrefs)
    assert "<code>cmd.exe</code>" in html_page and "Citation" not in html_page
    assert "https://github.com/SigmaHQ/sigma/blob/master/rules/x/%3Cb%3E%22quote%22%20%281%29.yml" in hrefs

    markdown = report.render_markdown(coverage, "T1204.001")
    title = markdown.splitlines()[0]
    assert title == r'# T1204.001: Evil \<script\>alert("x")\</script\> & \[link\](javascript:alert(1))'
    assert r"* [\*bold\* \[x\]](https://d3fend.mitre.org/techniques/d3f:A_B)" in markdown
    assert "(https://github.com/SigmaHQ/sigma/blob/master/rules/x/%3Cb%3E%22quote%22%20%281%29.yml)" in markdown


def test_html_description_keeps_only_whole_code_spans(store):
    """ATT&CK's T1156 (18.1) writes ``<code>~/.zshrc<code>``: the page shows the stray tag as text
    and every <code> it opens it closes, with the runs of text, links and code from the page model."""
    coverage = report.load_coverage(store, "T1204.001")
    page = coverage.techniques["T1204.001"]
    page.description = (
        "The shell uses <code>~/.zshrc<code> to configure. Upon exiting, <code>/etc/zlogout</code> runs.\n\n"
        "See [T1546](https://attack.mitre.org/techniques/T1546) and <code>a < b</code>."
    )
    html_page = report.render_html(coverage, "T1204.001")

    class Code(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.opened, self.closed, self.spans, self.inside = 0, 0, [], None

        def handle_starttag(self, tag, attrs):
            if tag == "code":
                self.opened, self.inside = self.opened + 1, ""

        def handle_endtag(self, tag):
            if tag == "code":
                self.closed += 1
                self.spans.append(self.inside)
                self.inside = None

        def handle_data(self, data):
            if self.inside is not None:
                self.inside += data

    parsed = Code()
    parsed.feed(html_page)
    assert parsed.opened == parsed.closed == 2
    assert parsed.spans == ["~/.zshrc<code> to configure. Upon exiting, <code>/etc/zlogout", "a < b"]
    assert "&lt;code&gt;" in html_page and html_page.count("<p>") >= 2
    links = _Collector()
    links.feed(html_page)
    assert ("T1546", "https://attack.mitre.org/techniques/T1546") in links.links


# --- --all and the CLI -------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["markdown", "html"])
def test_all_writes_one_page_per_technique_and_an_index(store, tmp_path, fmt):
    suffix = report.SUFFIX[fmt]
    written = report.write_all(store, tmp_path / "pages", fmt)
    coverage = report.load_coverage(store)
    assert [p.name for p in written] == [f"{t}{suffix}" for t in coverage.techniques] + [f"index{suffix}"]
    assert sorted(p.name for p in (tmp_path / "pages").iterdir()) == sorted(p.name for p in written)  # no temp files
    index = written[-1].read_text(encoding="utf-8")
    for attack_id in coverage.techniques:
        assert f"{attack_id}{suffix}" in index
    assert written[0].read_text(encoding="utf-8") == report.render(coverage, "T1027", fmt)
    if fmt == "markdown":
        assert "| [T1204.001](T1204.001.md) | Malicious Link | Execution | 3 | 4 | 0 |" in index
        assert "## Revoked or deprecated techniques" in index and "T1066](T1066.md) | Indicator Removal" in index


def test_cli_report(store_dir, store, tmp_path, capsys):
    assert main(["report", "T1204.001", "--store", str(store_dir)]) == 0
    assert capsys.readouterr().out == report.report(store, "T1204.001")

    out = tmp_path / "page.html"
    assert main(["report", "T1204.002", "--format", "html", "-o", str(out), "--store", str(store_dir)]) == 0
    assert out.read_text(encoding="utf-8") == report.report(store, "T1204.002", "html")
    assert [p.name for p in tmp_path.iterdir()] == ["page.html"]

    assert main(["report", "T9999", "--store", str(store_dir)]) == 1
    assert "no technique T9999" in capsys.readouterr().err
    assert main(["report", "--all", "--store", str(store_dir)]) == 1
    assert "-o DIR" in capsys.readouterr().err
    assert main(["report", "T1204.001", "-o", str(tmp_path / "missing" / "x.md"), "--store", str(store_dir)]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert main(["report", "--all", "-o", str(tmp_path / "all"), "--store", str(store_dir)]) == 0
    assert "wrote 7 technique pages" in capsys.readouterr().out


# --- end to end on the full shared data --------------------------------------------------------


@pytest.fixture(scope="module")
def full_store(full_store_dir):
    """The session's full build (tests/conftest.py), opened."""
    return open_store(full_store_dir)


def test_full_data_t1204_001(full_store):
    page = report.report(full_store, "T1204.001")
    d3fend = section(page, "Policy / Process Controls")
    assert [text for text, _ in items(d3fend)] == list(T1204_001_COUNTERMEASURES)
    assert ("URL Analysis", "https://d3fend.mitre.org/techniques/d3f:URLAnalysis") in items(d3fend)
    sigma = section(page, "Technical Controls (Detection Rules)")
    assert items(sigma) == [
        (f"sigma/{p}", f"https://github.com/SigmaHQ/sigma/blob/master/{p}") for p in T1204_001_RULES
    ]
    tests = section(page, "Offensive Security Tests")
    assert items(tests) == [] and number(tests, "ATT&CK-mapped tests for this (sub)technique") == 0
    assert "**MITRE ATT&CK release:** 18.1 " in page and "**Release:** 1.2.0 " in page


def test_full_data_t1204_002_and_totals(full_memory_store):
    full_store = full_memory_store  # every page's model: the session store, read in memory
    tests = section(report.report(full_store, "T1204.002"), "Offensive Security Tests")
    assert [text for text, _ in items(tests)] == [
        f"Atomic Test #{n} - {name}" for n, name in enumerate(T1204_002_TESTS, 1)
    ]
    coverage = report.load_coverage(full_store)
    pages = coverage.techniques.values()
    assert coverage.totals.d3fend == sum(len(p.countermeasures) for p in pages)
    assert coverage.totals.sigma == sum(len(p.sigma_rules) for p in pages)
    assert coverage.totals.atomic == sum(len(p.atomic_tests) for p in pages)
    # D3FEND's total is the number of (technique, defensive technique) pairs of the inference
    pairs = {(r["technique"], r["d3fend_id"]) for r in rows(full_store, "countermeasures")}
    known = set(coverage.techniques)
    assert coverage.totals.d3fend == len({pair for pair in pairs if pair[0] in known})
    assert check_against_coverage_query(full_store, coverage) == sum(p.current for p in pages)
