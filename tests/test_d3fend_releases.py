"""D3FEND 1.3.0 (release form) builds and infers; diff from 1.2.0 names techniques gained, lost and
re-identified (same term, new D3FEND ID)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from attackkg.builders.build import build_store
from attackkg.builders.store import open_store
from attackkg.queries import rows
from attackkg.queries.cli import main

HERE = Path(__file__).resolve().parent / "fixtures" / "d3fend" / "reidentified"


@pytest.fixture(scope="module")
def stores(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("d3fend-releases")
    built = {}
    for version in ("1.2.0", "1.3.0"):
        built[version] = root / version
        build_store(built[version], d3fend_path=HERE / version / "d3fend.ttl")
    return built


def changes(capsys, old: Path, new: Path) -> dict:
    assert main(["diff", str(old), str(new), "--format", "json"]) == 0
    (d3fend,) = [s for s in json.loads(capsys.readouterr().out)["sources"] if s["kind"] == "d3fend"]
    return d3fend


def test_diff_names_gained_and_reidentified_techniques(stores, capsys):
    d3fend = changes(capsys, stores["1.2.0"], stores["1.3.0"])
    assert (d3fend["old_version"], d3fend["new_version"]) == ("1.2.0", "1.3.0")
    found = d3fend["changes"]
    gained = {(r["id"], r["term"]) for r in found["d3fend_techniques_gained"]}
    # D3-AEM and its new superclasses (Application Performance Monitoring, ...): all new in 1.3.0.
    assert ("D3-AEM", "d3f:ApplicationExceptionMonitoring") in gained
    assert not {term for _, term in gained} & {"d3f:URLAnalysis", "d3f:ChangeDefaultPassword"}
    assert found["d3fend_techniques_lost"] == []
    assert found["d3fend_techniques_reidentified"] == [
        {"term": "d3f:ChangeDefaultPassword", "label": "Change Default Password", "old_id": "D3-CFP", "new_id": "D3-CDP"}
    ]
    # The other way round, the new technique is lost and the ID goes back.
    back = changes(capsys, stores["1.3.0"], stores["1.2.0"])["changes"]
    assert {(r["id"], r["term"]) for r in back["d3fend_techniques_lost"]} == gained
    assert back["d3fend_techniques_reidentified"][0]["new_id"] == "D3-CFP"


def test_diff_markdown_says_it_in_users_terms(stores, capsys):
    gained = len(changes(capsys, stores["1.2.0"], stores["1.3.0"])["changes"]["d3fend_techniques_gained"])
    assert main(["diff", str(stores["1.2.0"]), str(stores["1.3.0"])]) == 0
    page = capsys.readouterr().out
    assert f"{gained} D3FEND techniques gained, 1 D3FEND techniques re-identified (same term, new D3FEND ID)" in page
    assert "| d3f:ChangeDefaultPassword | Change Default Password | D3-CFP | D3-CDP |" in page


def test_shared_d3fend_1_3_0_builds_and_infers(shared_data, fixtures, tmp_path):
    """The whole D3FEND 1.3.0 ontology, inferred against the ATT&CK 18.1 cut (the techniques
    asked about are in it; the full bundle would add 5 s and nothing D3FEND-specific)."""
    store = tmp_path / "store"
    build_store(
        store,
        d3fend_path=shared_data / "d3fend" / "1.3.0" / "d3fend.ttl",
        attack_paths=[fixtures / "attack" / "small-enterprise-2.1.json"],
    )
    opened = open_store(store)
    versions = {r["kind"]: r["version"] for r in rows(opened, "sources") if r["kind"] in ("d3fend", "derived")}
    assert versions["d3fend"] == "1.3.0"
    found = rows(opened, "countermeasures", technique="T1204.001")
    assert found and {r["d3fend_id"] for r in found} >= {"D3-UA"}
    (coverage,) = rows(opened, "coverage", technique="T1204.001")
    assert coverage["countermeasures"] == len({r["d3fend_id"] for r in found})
