"""Property-based fuzzing of the builders' readers on mutated real inputs (issue 8, item 2).

Each builder reads a fixture cut from the real data after a few random mutations: byte flips,
truncations, insertions of syntax-laden tokens, deletions, and (for JSON and YAML) a value of the
parsed document swapped for one of another type. Whatever the bytes, the only exception that may
leave the builder is :class:`InputError`; when the input is accepted, the builder's triples, its
graph name and the metadata triples must be made without error too (that is where a string the
parser let through, such as a lone surrogate, would fail).

Bounded: ``ATTACK_KG_FUZZ_EXAMPLES`` examples per builder (default 150), no database written.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from attackkg.builders import atomic, attack, d3fend, registry, sigma
from attackkg.builders.base import InputError
from attackkg.builders.build import build_source, metadata_triples
from attackkg.builders.store import as_dataset

FIXTURES = Path(__file__).resolve().parent / "fixtures"
EXAMPLES = int(os.environ.get("ATTACK_KG_FUZZ_EXAMPLES", "150"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

ATTACK_BUNDLE = (FIXTURES / "attack" / "small-enterprise-2.0.json").read_bytes()
D3FEND_TURTLE = (FIXTURES / "d3fend" / "source-form-1.2.0" / "d3fend.ttl").read_bytes()
SIGMA_RULES = sorted((FIXTURES / "sigma" / "repo").rglob("*.yml"))
ATOMIC_FILE = (FIXTURES / "atomic" / "atomics" / "T1204.002" / "T1204.002.yaml").read_bytes()

# Tokens that mean something to one of the parsers, inserted at random places.
TOKENS = {
    "json": [
        b"{",
        b"}",
        b"[",
        b"]",
        b",",
        b":",
        b'"',
        b"\\",
        b"\\u",
        b"\\ud800",
        b"\\udc00",
        b"null",
        b"1e999",
        b"-0",
        b"\x00",
        b"\xff",
        b"\xc3",
        b"\xef\xbb\xbf",
        b'"type": "bundle"',
        b'"objects": [',
        b"[" * 3000,
    ],
    "turtle": [
        b"<",
        b">",
        b'"',
        b"'''",
        b"_:b0",
        b"[",
        b"]",
        b"(",
        b")",
        b";",
        b",",
        b".",
        b"@prefix x: <http://x/> .",
        b"\\u0000",
        b"\\U0010FFFF",
        b"\\",
        b"@base <rel> .",
        b"^^",
        b"@en",
        b"a",
        b"\x00",
        b"\xff",
        b"\n",
        b"( " * 2000,
        b"<http://a b>",
        b"<../../x>",
    ],
    "yaml": [
        b"&a ",
        b"*a",
        b"&a [x, y]",
        b"!!python/object:os.system",
        b"!!binary ",
        b"<<: ",
        b"? ",
        b"---\n",
        b"...\n",
        b"- ",
        b": ",
        b"{",
        b"}",
        b"[",
        b"]",
        b"'",
        b'"',
        b"\t",
        b"\x00",
        b"\xff",
        b'"\\ud800"',
        b"|",
        b">",
        b"%YAML 1.1\n",
        b"%TAG ! tag:x,2000:\n",
        b"!x ",
        b"2001-02-30",
        b"2001-02-03T04:05:06.7Z",
        b"~",
        b".inf",
        b"0x1F",
        b"0o17",
        b"=",
        b"id: ",
        b"title: ",
        b"tags:\n  - ",
        b"[" * 2000,
        b"\n" * 3,
    ],
}

# Values of every JSON/YAML type that a type swap puts in place of a parsed value.
SWAPS = [
    None,
    True,
    False,
    0,
    -1,
    1.5,
    10**30,
    "",
    "x",
    " ",
    "\ud800",
    "a b>",
    "https://attack.mitre.org/x y",
    "../../etc/passwd",
    [],
    {},
    ["x"],
    [1, [2]],
    {"a": 1},
    {"id": None},
    [{"source_name": ["x"]}],
]


def mutations(kind: str):
    """A few random edits of bytes: flips, truncations, insertions of tokens or junk, deletions."""
    edit = st.one_of(
        st.tuples(st.just("flip"), st.floats(0, 1), st.integers(0, 7)),
        st.tuples(st.just("truncate"), st.floats(0, 1), st.just(0)),
        st.tuples(st.just("insert"), st.floats(0, 1), st.sampled_from(TOKENS[kind])),
        st.tuples(st.just("insert"), st.floats(0, 1), st.binary(min_size=1, max_size=8)),
        st.tuples(st.just("delete"), st.floats(0, 1), st.integers(1, 200)),
    )
    return st.lists(edit, min_size=1, max_size=4)


def mutate(raw: bytes, edits) -> bytes:
    data = bytearray(raw)
    for kind, where, arg in edits:
        at = min(int(where * len(data)), max(len(data) - 1, 0))
        if kind == "flip" and data:
            data[at] ^= 1 << arg
        elif kind == "truncate":
            del data[at:]
        elif kind == "insert":
            data[at:at] = arg
        elif kind == "delete":
            del data[at : at + arg]
    return bytes(data)


def paths(value, prefix=()) -> list[tuple]:
    """Every place in a parsed JSON/YAML document: tuples of keys and indexes from the root."""
    out = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            out += paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out += paths(item, (*prefix, index))
    return out


def swap(document, where: tuple, new):
    """``document`` with the value at ``where`` replaced (the root itself when ``where`` is empty)."""
    if not where:
        return new
    parent = document
    for step in where[:-1]:
        parent = parent[step]
    parent[where[-1]] = new
    return document


def type_swaps(document):
    """Draw (place, new value) pairs for a parsed document."""
    places = paths(document)
    return st.lists(st.tuples(st.sampled_from(places), st.sampled_from(SWAPS)), min_size=1, max_size=3)


def swapped(document, swaps):
    document = json.loads(json.dumps(document))  # a fresh copy
    for where, new in swaps:
        with contextlib.suppress(KeyError, IndexError, TypeError):  # an earlier swap removed this place
            document = swap(document, where, json.loads(json.dumps(new)))
    return document


def accepted(kind: str, data) -> None:
    """What a build does with accepted input, short of the disk: triples into an Oxigraph
    dataset, the graph name as an IRI, the metadata triples."""
    name = registry.get(kind).module().graph_name(data)
    ox.NamedNode(name)
    dataset = as_dataset(ox.Store())
    report = build_source(kind, data, dataset.graph(rdflib.URIRef(name)))
    metadata_triples([report], datetime(2026, 1, 1, tzinfo=timezone.utc))


@pytest.fixture(scope="module")
def workdir():
    with tempfile.TemporaryDirectory(prefix="attack-kg-fuzz-") as folder:
        yield Path(folder)


# --- ATT&CK ------------------------------------------------------------------------------------


def load_attack(folder: Path, raw: bytes) -> None:
    path = folder / "enterprise-attack-18.1.json"
    path.write_bytes(raw)
    try:
        bundle = attack.load(path)
    except InputError:
        event("refused with an InputError")
        return
    event("accepted")
    accepted("attack", bundle)


@FUZZ
@given(edits=mutations("json"))
def test_attack_mutated_bytes(workdir, edits):
    load_attack(workdir, mutate(ATTACK_BUNDLE, edits))


ATTACK_DOCUMENT = json.loads(ATTACK_BUNDLE)


@FUZZ
@given(swaps=type_swaps(ATTACK_DOCUMENT))
def test_attack_swapped_types(workdir, swaps):
    load_attack(workdir, json.dumps(swapped(ATTACK_DOCUMENT, swaps)).encode())


# --- D3FEND ------------------------------------------------------------------------------------


@FUZZ
@given(edits=mutations("turtle"))
def test_d3fend_mutated_turtle(workdir, edits):
    path = workdir / "d3fend.ttl"
    path.write_bytes(mutate(D3FEND_TURTLE, edits))
    try:
        data = d3fend.load(path)
    except InputError:
        event("refused with an InputError")
        return
    event("accepted")
    accepted("d3fend", data)


# --- Sigma -------------------------------------------------------------------------------------


def load_sigma(folder: Path, raw: bytes) -> None:
    rules = folder / "sigma" / "rules"
    rules.mkdir(parents=True, exist_ok=True)
    (rules / "rule.yml").write_bytes(raw)
    data = sigma.load(folder / "sigma")  # lenient: a bad rule is recorded, never raised
    assert all(isinstance(error, InputError) for error in data.errors)
    assert all(str(error) for error in data.errors)  # each prints as its one line
    event("rule skipped with an InputError" if data.errors else "rule accepted")
    accepted("sigma", data)
    with contextlib.suppress(InputError):
        sigma.load(folder / "sigma", strict=True)


@FUZZ
@given(rule=st.sampled_from(SIGMA_RULES), edits=mutations("yaml"))
def test_sigma_mutated_yaml(workdir, rule, edits):
    load_sigma(workdir, mutate(rule.read_bytes(), edits))


def yaml_swaps():
    """A rule parsed, and type swaps of its values (drawn for the rule chosen)."""
    return st.sampled_from(SIGMA_RULES).flatmap(lambda rule: st.tuples(st.just(rule), type_swaps(documents(rule))))


def documents(rule: Path) -> list:
    """The YAML documents of a rule file (a rule collection has several), as JSON-like values."""
    return json.loads(json.dumps(list(yaml.load_all(rule.read_bytes(), Loader=yaml.CSafeLoader)), default=str))


def dump_yaml(document, several: bool = False) -> bytes:
    """The document as YAML: libyaml's safe dumper (ten times PyYAML's), or PyYAML's own where a
    lone surrogate is in it (libyaml cannot encode one; PyYAML writes it escaped, ``"\\uD800"``)."""
    dump = yaml.dump_all if several else yaml.dump
    try:
        text = dump(document, Dumper=yaml.CSafeDumper, allow_unicode=True)
    except UnicodeEncodeError:
        text = dump(document, Dumper=yaml.SafeDumper, allow_unicode=True)
    return text.encode("utf-8", "surrogatepass")


@FUZZ
@given(case=yaml_swaps())
def test_sigma_swapped_types(workdir, case):
    rule, swaps = case
    document = swapped(documents(rule), swaps)
    load_sigma(workdir, dump_yaml(document, several=isinstance(document, list)))


# --- Atomic Red Team ---------------------------------------------------------------------------


def load_atomic(folder: Path, raw: bytes) -> None:
    technique = folder / "atomic" / "atomics" / "T1204.002"
    technique.mkdir(parents=True, exist_ok=True)
    (technique / "T1204.002.yaml").write_bytes(raw)
    data = atomic.load(folder / "atomic")
    assert all(isinstance(error, InputError) for error in data.skipped)
    event("file or test skipped with an InputError" if data.skipped else "every test accepted")
    accepted("atomic", data)
    with contextlib.suppress(InputError):
        atomic.load(folder / "atomic", strict=True)


@FUZZ
@given(edits=mutations("yaml"))
def test_atomic_mutated_yaml(workdir, edits):
    load_atomic(workdir, mutate(ATOMIC_FILE, edits))


ATOMIC_DOCUMENT = yaml.load(ATOMIC_FILE, Loader=yaml.CSafeLoader)


@FUZZ
@given(swaps=type_swaps(ATOMIC_DOCUMENT))
def test_atomic_swapped_types(workdir, swaps):
    document = swapped(ATOMIC_DOCUMENT, swaps)
    load_atomic(workdir, dump_yaml(document))


def test_mutations_change_the_input():
    # The strategies really edit: a fixed sequence of edits gives different bytes.
    rng = random.Random(8)
    edits = [("insert", rng.random(), b"\\ud800"), ("flip", rng.random(), 3), ("truncate", 0.9, 0)]
    assert mutate(ATTACK_BUNDLE, edits) != ATTACK_BUNDLE
    assert swapped(ATTACK_DOCUMENT, [((), None)]) is None
