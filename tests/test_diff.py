"""``attack-kg diff``: per-source changes between two stores, checked against an independent
recomputation: SPARQL over the two stores' N-Quads exports loaded side by side into one Oxigraph
store (and rdflib's graph comparison for blank nodes), not the diff module's own code."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib
from rdflib.compare import graph_diff

from attackkg.builders.build import build_dataset, build_store
from attackkg.builders.oxstore import oxigraph_of
from attackkg.builders.store import open_dataset, open_store
from attackkg.ontology.namespaces import COUNTERMEASURES_GRAPH
from attackkg.queries.cli import main
from attackkg.queries.diff import diff_stores

FIXTURES = Path(__file__).resolve().parent / "fixtures"
ATTACK_21 = FIXTURES / "attack" / "small-enterprise-2.1.json"
D3FEND = FIXTURES / "sources" / "d3fend.ttl"
SIGMA_REPO = FIXTURES / "sigma" / "repo"
GRAPH = "https://w3id.org/attack-kg/graph/"
PREFIXES = """
PREFIX akg: <https://w3id.org/attack-kg/ns#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX owl: <http://www.w3.org/2002/07/owl#>
"""


# --- the independent side: both exports in one store, graphs renamed old:/new: ------------------


class SideBySide:
    """The named graphs of both stores (folders, or a store already open: the session's in memory)
    that ``graphs`` names by prefix (all when None), each read
    with pyoxigraph's own ``Store.dump`` and loaded into one in-memory store, renamed
    ``urn:old:<iri>`` / ``urn:new:<iri>``, so SPARQL can compare them."""

    def __init__(
        self, old: Path | ox.Store, new: Path | ox.Store, tmp: Path, graphs: tuple[str, ...] | None = None
    ) -> None:
        self.store = ox.Store()
        for side, store in (("old", old), ("new", new)):
            source = store if isinstance(store, ox.Store) else open_store(store)
            for name in source.named_graphs():
                if graphs is None or name.value.startswith(graphs):
                    data = source.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=name)
                    target = ox.NamedNode(f"urn:{side}:{name.value}")
                    self.store.bulk_load(data, format=ox.RdfFormat.N_TRIPLES, to_graph=target)

    def graph(self, side: str, prefix: str) -> str:
        names = [g.value for g in self.store.named_graphs() if g.value.startswith(f"urn:{side}:{prefix}")]
        assert len(names) == 1, names
        return names[0]

    def rows(self, query: str, **graphs: str) -> set[tuple[str, ...]]:
        for name, iri in graphs.items():
            query = query.replace(f"<{name.upper()}>", f"<{iri}>")
        return {tuple(term.value for term in row) for row in self.store.query(PREFIXES + query)}

    def count(self, query: str, **graphs: str) -> int:
        (row,) = self.rows(query, **graphs)
        return int(row[0])

    # Triples in one graph and not the other, leaving out those with a blank node.
    def ground_difference(self, a: str, b: str) -> int:
        return self.count(
            "SELECT (COUNT(*) AS ?n) WHERE { GRAPH <A> { ?s ?p ?o FILTER(!isBlank(?s) && !isBlank(?o)) } "
            "FILTER NOT EXISTS { GRAPH <B> { ?s ?p ?o } } }",
            a=a,
            b=b,
        )

    def techniques(self, old: str, new: str) -> dict[str, set]:
        """Every users'-terms change of ATT&CK techniques, each as its own SPARQL query."""
        both = "GRAPH <OLD> { ?t a akg:Technique ; akg:attackId ?id } GRAPH <NEW> { ?t a akg:Technique }"
        g = {"old": old, "new": new}
        return {
            "techniques_added": self.rows(
                "SELECT ?id WHERE { GRAPH <NEW> { ?t a akg:Technique ; akg:attackId ?id } "
                "FILTER NOT EXISTS { GRAPH <OLD> { ?t a akg:Technique } } }",
                **g,
            ),
            "techniques_removed": self.rows(
                "SELECT ?id WHERE { GRAPH <OLD> { ?t a akg:Technique ; akg:attackId ?id } "
                "FILTER NOT EXISTS { GRAPH <NEW> { ?t a akg:Technique } } }",
                **g,
            ),
            "techniques_renamed": self.rows(
                f"SELECT ?id ?a ?b WHERE {{ {both} GRAPH <OLD> {{ ?t rdfs:label ?a }} GRAPH <NEW> {{ ?t rdfs:label ?b }} "
                "FILTER(?a != ?b) }",
                **g,
            ),
            "techniques_revoked": self.rows(
                f"SELECT ?id WHERE {{ {both} GRAPH <NEW> {{ ?t akg:revoked true }} "
                "FILTER NOT EXISTS { GRAPH <OLD> { ?t akg:revoked true } } }",
                **g,
            ),
            "techniques_deprecated": self.rows(
                f"SELECT ?id WHERE {{ {both} GRAPH <NEW> {{ ?t owl:deprecated true }} "
                "FILTER NOT EXISTS { GRAPH <OLD> { ?t owl:deprecated true } } }",
                **g,
            ),
            "techniques_moved": self.rows(
                f"SELECT DISTINCT ?id WHERE {{ {both} "
                "{ GRAPH <OLD> { ?t akg:tactic ?x } FILTER NOT EXISTS { GRAPH <NEW> { ?t akg:tactic ?x } } } UNION "
                "{ GRAPH <NEW> { ?t akg:tactic ?x } FILTER NOT EXISTS { GRAPH <OLD> { ?t akg:tactic ?x } } } }",
                **g,
            ),
            "techniques_changed": self.rows(
                f"SELECT DISTINCT ?id WHERE {{ {both} "
                "{ GRAPH <OLD> { ?t ?p ?o } FILTER NOT EXISTS { GRAPH <NEW> { ?t ?p ?o } } } UNION "
                "{ GRAPH <NEW> { ?t ?p ?o } FILTER NOT EXISTS { GRAPH <OLD> { ?t ?p ?o } } } UNION "
                "{ GRAPH <OLD> { ?s ?p ?t } FILTER NOT EXISTS { GRAPH <NEW> { ?s ?p ?t } } } UNION "
                "{ GRAPH <NEW> { ?s ?p ?t } FILTER NOT EXISTS { GRAPH <OLD> { ?s ?p ?t } } } }",
                **g,
            ),
        }

    def mappings(self, predicate: str, a: str, b: str) -> set[tuple[str, str]]:
        """(technique IRI, D3FEND IRI) pairs of ``predicate`` in graph ``a`` and not in ``b``."""
        return self.rows(
            f"SELECT ?t ?d WHERE {{ GRAPH <A> {{ ?t akg:{predicate} ?d }} "
            f"FILTER NOT EXISTS {{ GRAPH <B> {{ ?t akg:{predicate} ?d }} }} }}",
            a=a,
            b=b,
        )


def ids(items: list[dict], key: str = "id") -> set[tuple[str]]:
    return {(item[key],) for item in items}


def source(result, key: str):
    (found,) = [s for s in result.sources if s.key == key]
    return found


# --- fixtures: a changed ATT&CK bundle -------------------------------------------------------------


def by_attack_id(bundle: dict, attack_id: str) -> dict:
    for obj in bundle["objects"]:
        for ref in obj.get("external_references") or []:
            if ref.get("source_name") == "mitre-attack" and ref.get("external_id") == attack_id:
                return obj
    raise KeyError(attack_id)


def changed_bundle(path: Path) -> Path:
    """The 2.1 fixture as a made-up release 18.2 with one change of each kind."""
    bundle = json.loads(ATTACK_21.read_text(encoding="utf-8"))
    for obj in bundle["objects"]:
        if obj["type"] == "x-mitre-collection":
            obj["x_mitre_version"] = "18.2"
    by_attack_id(bundle, "T1204.002")["name"] = "Malicious File Attachment"  # renamed
    by_attack_id(bundle, "T1027")["x_mitre_deprecated"] = True  # deprecated
    link = by_attack_id(bundle, "T1204.001")
    link["kill_chain_phases"].append({"kill_chain_name": "mitre-attack", "phase_name": "initial-access"})  # moved
    by_attack_id(bundle, "T1027.005")["description"] = "Changed."  # changed, nothing else
    spearphishing = by_attack_id(bundle, "T1566.002")
    spearphishing["revoked"] = True  # revoked by T1204.001
    relationship = {
        "type": "relationship",
        "spec_version": "2.1",
        "id": "relationship--00000000-0000-4000-8000-000000000001",
        "created": "2026-01-01T00:00:00.000Z",
        "modified": "2026-01-01T00:00:00.000Z",
        "relationship_type": "revoked-by",
        "source_ref": spearphishing["id"],
        "target_ref": link["id"],
    }
    new = copy.deepcopy(by_attack_id(bundle, "T1204.002"))  # added
    new["id"] = "attack-pattern--00000000-0000-4000-8000-000000000002"
    new["name"] = "Made-up Sub-technique"
    for ref in new["external_references"]:
        if ref.get("source_name") == "mitre-attack":
            ref["external_id"], ref["url"] = "T1204.009", "https://attack.mitre.org/techniques/T1204/009"
    removed = by_attack_id(bundle, "T1066")["id"]  # removed, with its relationships
    bundle["objects"] = [
        o for o in bundle["objects"] if removed not in (o["id"], o.get("source_ref"), o.get("target_ref"))
    ] + [relationship, new]
    path.write_text(json.dumps(bundle), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def attack_pair(tmp_path_factory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("attack-pair")
    build_store(tmp / "old", attack_paths=[ATTACK_21])
    build_store(tmp / "new", attack_paths=[changed_bundle(tmp / "enterprise-attack-18.2.json")])
    return tmp / "old", tmp / "new"


def test_attack_changes_in_users_terms(attack_pair):
    result = diff_stores(*attack_pair)
    attack = source(result, "attack/enterprise-attack")
    assert (attack.old.version, attack.new.version) == ("18.1", "18.2")
    changes = attack.changes
    assert [(t["id"], t["name"]) for t in changes["techniques_added"]] == [("T1204.009", "Made-up Sub-technique")]
    assert [(t["id"], t["name"]) for t in changes["techniques_removed"]] == [("T1066", "Indicator Removal from Tools")]
    assert [(t["id"], t["old_name"], t["new_name"]) for t in changes["techniques_renamed"]] == [
        ("T1204.002", "Malicious File", "Malicious File Attachment")
    ]
    assert [(t["id"], t["revoked_by"]) for t in changes["techniques_revoked"]] == [("T1566.002", ["T1204.001"])]
    assert [t["id"] for t in changes["techniques_deprecated"]] == ["T1027"]
    assert [(t["id"], t["tactics_removed"], t["tactics_added"]) for t in changes["techniques_moved"]] == [
        ("T1204.001", [], ["Initial Access"])
    ]
    changed = {t["id"]: t["changed"] for t in changes["techniques_changed"]}
    # T1066's revoked-by edge and its relationship node are gone, and the text changed:
    assert changed["T1027.005"] == ["akg:revokedBy (incoming)", "akg:target (incoming)", "dcterms:description"]
    assert changed["T1204.002"] == ["rdfs:label"]
    assert "akg:tactic" in changed["T1204.001"]
    assert "T1204" not in changed  # untouched


def test_attack_changes_agree_with_sparql_over_the_exports(attack_pair, tmp_path):
    result = diff_stores(*attack_pair)
    attack = source(result, "attack/enterprise-attack")
    both = SideBySide(*attack_pair, tmp_path)
    old, new = both.graph("old", attack.old.iri), both.graph("new", attack.new.iri)
    assert attack.triples_added == both.ground_difference(new, old)
    assert attack.triples_removed == both.ground_difference(old, new)
    expected = both.techniques(old, new)
    assert ids(attack.changes["techniques_renamed"]) == {(i,) for i, _, _ in expected.pop("techniques_renamed")}
    for name, rows in expected.items():
        assert ids(attack.changes[name]) == rows, name


def test_identical_stores_have_no_change(attack_pair, tmp_path):
    result = diff_stores(attack_pair[0], attack_pair[0])
    assert [(s.triples_added, s.triples_removed, sum(s.counts().values())) for s in result.sources] == [(0, 0, 0)]
    assert "No change." in result.to_markdown()


def test_stores_already_open_diff_as_their_folders(attack_pair):
    by_folder = diff_stores(*attack_pair).to_json()
    opened = diff_stores(open_store(attack_pair[0]), open_dataset(attack_pair[1])).to_json()
    assert (opened["old"], opened["new"]) == ("(an open Store)", "(an open Dataset)")
    assert opened["sources"] == by_folder["sources"] and by_folder["sources"][0]["triples_added"] > 0


# --- blank nodes (D3FEND restrictions) --------------------------------------------------------------


def test_blank_nodes_are_compared_by_structure_as_rdflib_does(tmp_path):
    """A restriction changed in a D3FEND release, the rest unchanged under new blank-node labels."""
    text = D3FEND.read_text(encoding="utf-8")
    changed = text.replace('owl:versionInfo "0.17.0"', 'owl:versionInfo "0.17.1"')
    changed = changed.replace(
        "owl:onProperty d3f:produces ;\n            owl:someValuesFrom d3f:OutboundInternetWebTraffic",
        "owl:onProperty d3f:produces ;\n            owl:someValuesFrom d3f:NetworkTraffic",
    )
    assert changed.count("d3f:NetworkTraffic ]") == 1
    (tmp_path / "new").mkdir()
    (tmp_path / "new" / "d3fend.ttl").write_text(changed, encoding="utf-8")
    build_store(tmp_path / "a", d3fend_path=D3FEND)
    build_store(tmp_path / "b", d3fend_path=tmp_path / "new" / "d3fend.ttl")
    d3fend = source(diff_stores(tmp_path / "a", tmp_path / "b"), "d3fend")

    graphs = []
    for store_dir, version in ((tmp_path / "a", "0.17.0"), (tmp_path / "b", "0.17.1")):
        path = tmp_path / f"{version}.nq"
        assert main(["export", str(path), "--store", str(store_dir)]) == 0
        dataset = rdflib.Dataset()
        dataset.parse(path, format="nquads")
        graphs.append(dataset.graph(rdflib.URIRef(f"https://w3id.org/attack-kg/graph/d3fend/{version}")))
    _, only_old, only_new = graph_diff(*graphs)
    assert (d3fend.triples_added, d3fend.triples_removed) == (len(only_new), len(only_old))
    # The versionInfo literal, and the one restriction's triples (its blank node is new).
    assert len(only_new) == 1 + 4 and d3fend.blank_triples_added == 4


def test_a_source_only_in_one_store_counts_all_its_triples(tmp_path):
    """Sigma only in the old store (no blank node: counted in the store, not read) and D3FEND only
    in the new one (blank nodes: read and canonicalised), against the N-Quads exports."""
    build_store(tmp_path / "a", sigma_paths=[SIGMA_REPO])
    build_store(tmp_path / "b", d3fend_path=D3FEND)
    result = diff_stores(tmp_path / "a", tmp_path / "b")
    sigma, d3fend = source(result, "sigma"), source(result, "d3fend")
    assert (sigma.new, d3fend.old) == (None, None)

    exported = {}
    for side in ("a", "b"):
        path = tmp_path / f"{side}.nq"
        assert main(["export", str(path), "--store", str(tmp_path / side)]) == 0
        exported[side] = rdflib.Dataset()
        exported[side].parse(path, format="nquads")
    sigma_graph = exported["a"].graph(rdflib.URIRef(sigma.old.iri))
    assert (sigma.triples_added, sigma.triples_removed) == (0, len(sigma_graph)) and len(sigma_graph) > 100
    assert sigma.blank_triples_removed == 0
    _, _, only_new = graph_diff(rdflib.Graph(), exported["b"].graph(rdflib.URIRef(d3fend.new.iri)))
    assert (d3fend.triples_added, d3fend.triples_removed) == (len(only_new), 0)
    blank = sum(1 for s, _, o in only_new if isinstance(s, rdflib.BNode) or isinstance(o, rdflib.BNode))
    assert d3fend.blank_triples_added == blank > 0


# --- Sigma --------------------------------------------------------------------------------------------


def test_sigma_rules_added_removed_and_status(tmp_path):
    old_root, new_root = tmp_path / "old" / "sigma", tmp_path / "new" / "sigma"
    shutil.copytree(SIGMA_REPO / "rules", old_root / "rules")
    shutil.copytree(SIGMA_REPO / "rules", new_root / "rules")
    gone = new_root / "rules/network/zeek/zeek_default_cobalt_strike_certificate.yml"
    gone_id = next(line.split()[1] for line in gone.read_text().splitlines() if line.startswith("id:"))
    gone.unlink()
    edited = new_root / "rules/linux/builtin/lnx_symlink_etc_passwd.yml"
    text = edited.read_text()
    status = next(line.split()[1] for line in text.splitlines() if line.startswith("status:"))
    edited.write_text(text.replace(f"status: {status}", "status: deprecated", 1))
    added = new_root / "rules/linux/builtin/made_up.yml"
    added.write_text(
        "title: Made-up rule\nid: 00000000-0000-4000-8000-0000000000aa\nstatus: experimental\n"
        "logsource:\n  product: linux\ndetection:\n  sel:\n    a: b\n  condition: sel\nlevel: low\n"
    )
    build_store(tmp_path / "a", sigma_paths=[old_root])
    build_store(tmp_path / "b", sigma_paths=[new_root])
    assert (
        main(["diff", str(tmp_path / "a"), str(tmp_path / "b"), "--format", "json", "-o", str(tmp_path / "d.json")])
        == 0
    )
    sources = json.loads((tmp_path / "d.json").read_text())["sources"]
    (sigma,) = [source for source in sources if source["kind"] == "sigma"]  # and the derived telemetry graph
    changes = sigma["changes"]
    assert [(r["id"], r["title"], r["status"]) for r in changes["rules_added"]] == [
        ("00000000-0000-4000-8000-0000000000aa", "Made-up rule", "experimental")
    ]
    assert [r["id"] for r in changes["rules_removed"]] == [gone_id]
    assert [(r["old_status"], r["new_status"]) for r in changes["rules_status_changed"]] == [(status, "deprecated")]
    assert sigma["counts"] == {"rules_added": 1, "rules_removed": 1, "rules_status_changed": 1}


def test_markdown_and_errors_on_the_command_line(attack_pair, tmp_path, capsys):
    assert main(["diff", str(attack_pair[0]), str(attack_pair[1]), "--limit", "1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# What changed")
    assert "| ATT&CK enterprise-attack 18.1 → 18.2 |" in out
    assert "### Techniques renamed: 1" in out and "| T1204.002 | Malicious File | Malicious File Attachment |" in out
    assert "… and" in out  # techniques_changed cut at one row
    assert main(["diff", str(attack_pair[0]), str(tmp_path / "nowhere")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nowhere" in err[0]


# --- the full releases --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def old_release(shared_data) -> ox.Store:
    """ATT&CK 18.0 + D3FEND 0.17.0, built in memory (``build_dataset``: the build's own code, not
    written to disk; diff on store folders is tested above)."""
    attack, d3fend = shared_data / "attack", shared_data / "d3fend"
    built = build_dataset(attack_paths=[attack / "enterprise-attack-18.0.json.gz"], d3fend_path=d3fend / "0.17.0")
    return oxigraph_of(built)


def test_full_releases_agree_with_sparql_over_the_exports(old_release, full_memory_store, tmp_path):
    """Against the session's full build (tests/conftest.py; its copy in memory): ATT&CK 18.1 +
    D3FEND 1.2.0 (Enterprise), with every other source."""
    result = diff_stores(old_release, full_memory_store)
    graphs = tuple(GRAPH + name for name in ("attack/", "d3fend/", "derived/"))
    both = SideBySide(old_release, full_memory_store, tmp_path, graphs=graphs)

    attack = source(result, "attack/enterprise-attack")
    assert (attack.old.version, attack.new.version) == ("18.0", "18.1")
    old, new = both.graph("old", attack.old.iri), both.graph("new", attack.new.iri)
    assert attack.triples_added == both.ground_difference(new, old)
    assert attack.triples_removed == both.ground_difference(old, new)
    expected = both.techniques(old, new)
    assert ids(attack.changes["techniques_renamed"]) == {(i,) for i, _, _ in expected.pop("techniques_renamed")}
    for name, rows in expected.items():
        assert ids(attack.changes[name]) == rows, name
    # ATT&CK 18.1 changed no technique's name, tactics or flags; these five changed otherwise.
    assert sorted(t["id"] for t in attack.changes["techniques_changed"]) == [
        "T1036.012",
        "T1199",
        "T1564.006",
        "T1574.001",
        "T1679",
    ]

    d3fend = source(result, "d3fend")
    old, new = both.graph("old", d3fend.old.iri), both.graph("new", d3fend.new.iri)
    assert d3fend.triples_added - d3fend.blank_triples_added == both.ground_difference(new, old)
    assert d3fend.triples_removed - d3fend.blank_triples_removed == both.ground_difference(old, new)

    derived = source(result, "derived/countermeasures")
    old, new = both.graph("old", COUNTERMEASURES_GRAPH), both.graph("new", COUNTERMEASURES_GRAPH)
    assert derived.triples_added == both.ground_difference(new, old)
    assert derived.triples_removed == both.ground_difference(old, new)
    for predicate, gained, lost in (
        ("counteredBy", "mappings_gained", "mappings_lost"),
        ("counteredByViaMitigation", "mitigation_mappings_gained", "mitigation_mappings_lost"),
    ):
        pairs = {(m["technique"], m["iri"]) for m in derived.changes[gained]}
        independent = both.mappings(predicate, new, old)
        assert len(pairs) == len(independent) == len(derived.changes[gained])
        assert {iri.rsplit("/techniques/", 1)[-1].replace("/", ".") for iri, _ in independent} == {t for t, _ in pairs}
        assert len(derived.changes[lost]) == len(both.mappings(predicate, old, new))
    assert derived.counts()["mappings_gained"] > 0 and derived.counts()["mappings_lost"] > 0
