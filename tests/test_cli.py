"""The CLI on fixtures: build, info, export, and bad input that leaves the previous store as it was."""

from __future__ import annotations

import json

import pyoxigraph as ox
import pytest
import rdflib
from cli_runs import run_child

from attackkg.builders.store import current_generation, open_store
from attackkg.queries.cli import main

SMALL = "attack/small-enterprise-2.1.json"


run_cli = run_child  # the installed CLI in a child process, as a user runs it


@pytest.fixture
def store(tmp_path, fixtures):
    store_dir = tmp_path / "store"
    assert main(["build", "--attack", str(fixtures / SMALL), "--store", str(store_dir), "-q"]) == 0
    return store_dir


def test_build_info_export(store, tmp_path, capsys):
    assert main(["info", "--json", "--store", str(store)]) == 0
    graphs = json.loads(capsys.readouterr().out)
    assert [g["kind"] for g in graphs] == ["attack"]
    assert graphs[0]["version"] == "18.1" and len(graphs[0]["sha256"]) == 64
    for suffix in (".ttl", ".nq", ".trig", ".nt"):
        out = tmp_path / f"out{suffix}"
        assert main(["export", str(out), "--store", str(store)]) == 0
        rdf_format = {".ttl": "turtle", ".nq": "nquads", ".trig": "trig", ".nt": "nt"}[suffix]
        parsed = rdflib.Dataset()
        parsed.parse(out, format=rdf_format)
        in_rdflib = sum(len(g) for g in parsed.graphs())
        in_oxigraph = sum(1 for _ in ox.parse(path=str(out)))
        quads = len(open_store(store))
        triples = len({(q.subject, q.predicate, q.object) for q in open_store(store)})
        assert in_rdflib == in_oxigraph == (quads if suffix in (".nq", ".trig") else triples)
    turtle = rdflib.Graph().parse(tmp_path / "out.ttl")
    assert (rdflib.URIRef("https://attack.mitre.org/techniques/T1204/001"), None, None) in turtle


def test_export_unknown_format(store, tmp_path, capsys):
    assert main(["export", str(tmp_path / "out.xyz"), "--store", str(store)]) == 1
    err = capsys.readouterr().err
    assert "unknown export format .xyz" in err and not (tmp_path / "out.xyz").exists()
    listed = err.split("use one of", 1)[1]
    for suffix in (".ttl", ".nt", ".trig", ".nq", ".jsonld", ".graphml", ".gexf", ".json"):  # RDF and networkx
        assert suffix in listed.replace(",", " ").split(), suffix


@pytest.mark.parametrize(
    "case",
    ["attack/truncated/enterprise-attack.json", "attack/not-a-bundle/enterprise-attack.json", "attack/nope.json"],
)
def test_bad_input_leaves_the_store(store, fixtures, case, capsys):
    before = current_generation(store)
    quads_before = len(open_store(store))
    # In this process: main() must catch it (an uncaught exception would fail the test here).
    assert main(["build", "--attack", str(fixtures / case), "--store", str(store)]) == 1
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith(f"attack-kg: {fixtures / case}:")
    assert "Traceback" not in captured.err
    assert current_generation(store) == before
    assert len(open_store(store)) == quads_before
    assert [p.name for p in store.iterdir() if p.name.startswith("gen-")] == [before.name]


def test_rebuild_swaps_and_keeps_one_previous(store, fixtures):
    first = current_generation(store)
    for _ in range(2):
        assert main(["build", "--attack", str(fixtures / SMALL), "--store", str(store), "-q"]) == 0
    generations = sorted(p.name for p in store.iterdir() if p.name.startswith("gen-"))
    assert current_generation(store) != first
    assert len(generations) == 2  # the current one and the one before it, for readers still on it


def test_build_without_sources_says_what_to_pass(capsys, tmp_path, monkeypatch):
    # No source flags: the pinned releases; offline with an empty cache, the error names the flags.
    monkeypatch.setenv("ATTACK_KG_CACHE", str(tmp_path / "cache"))
    assert main(["build", "--offline", "--store", str(tmp_path / "store")]) == 1
    err = capsys.readouterr().err
    assert "--attack" in err and "--d3fend" in err and "--sigma" in err


def test_no_store_yet(tmp_path, capsys):
    assert main(["info", "--store", str(tmp_path / "empty")]) == 1
    assert "build one first" in capsys.readouterr().err


def test_help_teaches():
    result = run_cli("build", "--help")
    assert result.returncode == 0 and "--attack" in result.stdout and "Example" in result.stdout
