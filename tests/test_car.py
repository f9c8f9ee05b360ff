"""MITRE CAR (issue 13): analytics, their technique coverage, their D3FEND techniques."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest
import yaml

from attackkg.builders import car
from attackkg.builders.base import InputError
from attackkg.builders.build import build_dataset
from attackkg.builders.store import open_store
from attackkg.ontology import declared_terms
from attackkg.ontology.namespaces import AKG
from attackkg.queries import rows

FIXTURES = Path(__file__).parent / "fixtures"
HERE = FIXTURES / "car"


def _analytics(folder: Path) -> list[dict]:
    return [yaml.safe_load(p.read_text()) for p in sorted((folder / "analytics").glob("*.yaml"))]


def test_each_analytic_and_its_coverage_levels_and_d3fend():
    dataset = build_dataset(attack_paths=[FIXTURES / "attack" / "small-enterprise-2.1.json"], car_path=HERE)
    found = rows(dataset, "car", technique="T1204")
    expected = {
        (a["id"], sub, entry["coverage"])
        for a in _analytics(HERE)
        for entry in a["coverage"]
        if entry["technique"] == "T1204"
        for sub in [entry["technique"], *entry.get("subtechniques", [])]
    }
    assert {(str(r["analytic_id"]), str(r["covered"]), str(r["coverage_level"])) for r in found} == expected
    assert expected  # CAR-2021-05-002: T1204 and T1204.002, Moderate
    cited = rows(dataset, "car-d3fend", technique="T1059.001")
    assert {(str(r["analytic_id"]), str(r["agreement"])) for r in cited} == {("CAR-2014-04-003", "car-only")}


def test_every_project_term_emitted_is_declared():
    emitted = {
        term.value
        for triple in car.triples(car.load(HERE))
        for term in (triple.predicate, triple.object)
        if isinstance(term, ox.NamedNode) and term.value.startswith(AKG)
    }
    assert {AKG + "CarAnalytic", AKG + "CarCoverage", AKG + "implementsDefensiveTechnique"} <= emitted
    assert emitted <= declared_terms()


def test_data_model_references_link_objects_and_actions():
    data = car.load(HERE)
    triples = list(car.triples(data))
    actions = {t.object.value for t in triples if t.predicate.value == AKG + "usesDataModelAction"}
    assert any(a.endswith("/car/data-model/process/create") for a in actions)
    described = [
        t for t in triples if t.subject.value.endswith("/process/create") and t.predicate.value.endswith("description")
    ]
    assert described  # from data_model/process.yaml


def test_a_bad_analytic_is_skipped_and_reported_strict_raises(tmp_path):
    data = car.load(HERE / "bad-yaml")
    assert [a.id for a in data.analytics] == ["CAR-2013-02-003"]
    (error,) = data.skipped
    assert "CAR-2014-04-003.yaml:21:" in str(error) and "T10590" in str(error)
    with pytest.raises(InputError, match=r"CAR-2014-04-003\.yaml:21:"):
        car.load(HERE / "bad-yaml", strict=True)
    with pytest.raises(InputError):
        car.load(tmp_path)


def test_full_car_covers_t1059_001_and_counts_equal_the_files(shared_data, full_store_dir):
    folder = shared_data / "car"
    store = open_store(full_store_dir)
    analytics = _analytics(folder)
    expected = {
        a["id"]
        for a in analytics
        for e in a.get("coverage") or []
        if "T1059.001" in [e["technique"], *e.get("subtechniques", [])]
    }
    found = rows(store, "car", technique="T1059.001")
    assert {str(r["analytic_id"]) for r in found} == expected and len(expected) >= 2
    pairs = {
        (a["id"], t)
        for a in analytics
        for e in a.get("coverage") or []
        for t in [e["technique"], *e.get("subtechniques", [])]
    }
    query = f"SELECT (COUNT(*) AS ?n) WHERE {{ ?c a <{AKG}CarCoverage> }}"
    assert int(next(iter(store.query(query, use_default_graph_as_union=True)))["n"].value) == len(pairs)
    query = f"SELECT (COUNT(*) AS ?n) WHERE {{ ?a a <{AKG}CarAnalytic> }}"
    assert int(next(iter(store.query(query, use_default_graph_as_union=True)))["n"].value) == len(analytics) == 102
