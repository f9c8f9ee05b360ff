"""The source registry: a sixth source is one module plus one registration (builders/registry.py).

This test module *is* that sixth source: a CSV of ``technique,note`` rows, with the contract's
``load``, ``graph_name``, ``triples``, ``report`` and ``check`` below, registered by the
``notes`` fixture with one ``register`` call and built through ``build_store``, ``build_dataset``,
``build_source``, ``attack-kg build --notes`` and a pinned source of kind ``notes``.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib

from attackkg.builders import registry, sources
from attackkg.builders.base import InputError, Report, iri, text
from attackkg.builders.build import build_dataset, build_source, build_store
from attackkg.builders.store import current_generation, open_store
from attackkg.ontology.namespaces import METADATA_GRAPH, RDFS, TECHNIQUE_ID, attack_iri, graph_iri
from attackkg.queries.cli import main

SMALL = "attack/small-enterprise-2.1.json"
COMMENT = ox.NamedNode(RDFS + "comment")

# --- the sixth source: technique notes from a CSV ------------------------------------------------


@dataclass
class Notes:
    path: str
    rows: list[tuple[str, str]]
    sha256: str


def load(path, **options) -> Notes:
    """``technique,note`` rows; a row that is not two fields or no technique ID is bad input."""
    raw = Path(path).read_bytes()
    rows = []
    for line, row in enumerate(csv.reader(raw.decode("utf-8").splitlines()), start=1):
        if len(row) != 2 or not TECHNIQUE_ID.match(row[0]):
            raise InputError(f"not a technique,note row: {row!r}", path=path, line=line)
        rows.append((row[0], row[1]))
    return Notes(str(path), rows, hashlib.sha256(raw).hexdigest())


def graph_name(data: Notes) -> str:
    return graph_iri("notes", data.sha256[:12])


def triples(data: Notes) -> Iterator[ox.Triple]:
    for technique, note in data.rows:
        yield ox.Triple(iri(attack_iri(technique)), COMMENT, text(note))


def report(data: Notes) -> Report:
    return Report("notes", data.path, graph_name(data), sha256=data.sha256, counts=Counter(notes=len(data.rows)))


def check(data: Notes, store: ox.Store, graphs: Mapping[str, Sequence[str]]) -> list[str]:
    """Notes on techniques the build's ATT&CK does not hold."""
    known = {
        quad.subject.value
        for graph in graphs.get("attack", [])
        for quad in store.quads_for_pattern(None, None, None, ox.NamedNode(graph))
    }
    return [f"note on {t}: not in the loaded ATT&CK" for t, _ in data.rows if attack_iri(t) not in known]


# --- the tests -----------------------------------------------------------------------------------


@pytest.fixture
def notes():
    """The one registration line, undone after the test."""
    kind = registry.register("notes", __name__, title="technique notes", help="a CSV of technique,note rows")
    yield kind
    registry.unregister("notes")


@pytest.fixture
def notes_csv(tmp_path) -> Path:
    path = tmp_path / "notes.csv"
    path.write_text("T1204.001,seen in the phishing exercise\nT1027,packed loaders\nT9999,a typo\n", encoding="utf-8")
    return path


def test_built_in_kinds_are_listed_once_in_order():
    assert registry.names()[:4] == ["attack", "d3fend", "sigma", "atomic"]
    assert [k.keyword for k in registry.kinds()[:4]] == ["attack_paths", "d3fend_path", "sigma_paths", "atomic_path"]
    assert registry.get("sigma").module().__name__ == "attackkg.builders.sigma"
    with pytest.raises(KeyError, match="no source kind 'notes'"):
        registry.get("notes")


def test_a_registered_source_builds_into_the_store(notes, notes_csv, fixtures, tmp_path):
    result = build_store(tmp_path / "store", attack_paths=[fixtures / SMALL], notes_path=notes_csv)
    (notes_report,) = [r for r in result.reports if r.source == "notes"]
    assert notes_report.triples == 3 and notes_report.counts["notes"] == 3
    assert notes_report.warnings == ["note on T9999: not in the loaded ATT&CK"]  # its check ran
    store = open_store(tmp_path / "store")
    graph = ox.NamedNode(notes_report.graph)
    comments = {(q.subject.value, q.object.value) for q in store.quads_for_pattern(None, COMMENT, None, graph)}
    assert (attack_iri("T1204.001"), "seen in the phishing exercise") in comments
    metadata = ox.NamedNode(METADATA_GRAPH)
    kinds = {
        q.object.value for q in store.quads_for_pattern(graph, None, None, metadata) if isinstance(q.object, ox.Literal)
    }
    assert "notes" in kinds and notes_report.sha256 in kinds


def test_build_dataset_and_build_source(notes, notes_csv):
    dataset = build_dataset(notes_path=notes_csv)
    name = graph_name(load(notes_csv))
    assert len(dataset.graph(rdflib.URIRef(name))) == 3
    graph = rdflib.Graph()
    assert build_source("notes", notes_csv, graph).triples == 3
    assert (rdflib.URIRef(attack_iri("T1027")), rdflib.RDFS.comment, rdflib.Literal("packed loaders")) in graph


def test_bad_input_of_a_registered_source_leaves_the_store(notes, notes_csv, fixtures, tmp_path, capsys):
    store = tmp_path / "store"
    assert (
        main(["build", "--attack", str(fixtures / SMALL), "--notes", str(notes_csv), "--store", str(store), "-q"]) == 0
    )
    generation = current_generation(store)
    bad = tmp_path / "bad.csv"
    bad.write_text("T1204,fine\nnot a row\n", encoding="utf-8")
    assert main(["build", "--notes", str(bad), "--store", str(store)]) == 1
    assert capsys.readouterr().err.strip() == f"attack-kg: {bad}:2: not a technique,note row: ['not a row']"
    assert current_generation(store) == generation


def test_the_cli_flag_and_help_come_from_the_registry(notes, capsys):
    with pytest.raises(SystemExit):
        main(["build", "--help"])
    shown = capsys.readouterr().out
    assert "--notes PATH" in shown and "a CSV of technique,note rows" in shown
    registry.unregister("notes")
    with pytest.raises(SystemExit):
        main(["build", "--help"])
    assert "--notes" not in capsys.readouterr().out


def test_pins_accept_a_registered_kind(notes, notes_csv, tmp_path):
    lock = tmp_path / "sources.lock.json"
    entry = {"kind": "notes", "version": "1", "url": str(notes_csv), "sha256": None}
    lock.write_text(json.dumps({"format": 1, "sources": {"my-notes": entry}}), encoding="utf-8")
    fetched = sources.prepare(lock, offline=True)
    assert sources.build_inputs(fetched) == {"notes_path": notes_csv}
    registry.unregister("notes")
    with pytest.raises(InputError, match="\"kind\" is 'notes'; one of attack, d3fend, sigma, atomic"):
        sources.load_pins(lock)


def test_an_unregistered_keyword_is_refused(fixtures, tmp_path):
    with pytest.raises(TypeError, match="unexpected keyword argument 'notes_path'"):
        build_store(tmp_path / "store", attack_paths=[fixtures / SMALL], notes_path=tmp_path / "x.csv")
    assert not (tmp_path / "store").exists()


def test_a_module_that_breaks_the_contract_is_named(fixtures, tmp_path):
    registry.register("broken", "attackkg.builders.base", title="broken", help="not a source")
    try:
        with pytest.raises(
            TypeError, match=r"'broken': attackkg\.builders\.base has no load, graph_name, triples, report"
        ):
            build_store(tmp_path / "store", broken_path=fixtures / SMALL)
    finally:
        registry.unregister("broken")
    assert not (tmp_path / "store").exists()
