"""The community-YAML error model (builders/yamlfiles.py) shared by Sigma and Atomic Red Team."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from attackkg.builders.base import InputError
from attackkg.builders.yamlfiles import MAX_YAML_BYTES, Collector, Invalid, documents, key_path, line_of, refuse_large

ATOMIC = Path(__file__).resolve().parent / "fixtures" / "atomic" / "atomics" / "T1564.002" / "T1564.002.yaml"


def test_key_path_text():
    assert key_path(("atomic_tests", 2, "executor")) == "atomic_tests[2].executor"
    assert key_path(("tags", 3)) == "tags[3]"
    assert key_path(()) is None


def test_line_of_a_key_path_in_a_real_atomic_file():
    raw = ATOMIC.read_bytes()
    lines = raw.decode().splitlines()
    line = line_of(raw, ("atomic_tests", 0, "executor", "elevation_required"))
    assert lines[line - 1].strip().startswith("elevation_required:")
    # a key that is not there: its nearest parent, the first test
    assert lines[line_of(raw, ("atomic_tests", 0, "no_such_key")) - 1].startswith("- name:")


def test_invalid_becomes_a_located_input_error():
    raw = ATOMIC.read_bytes()
    error = Invalid("executor is not a mapping", ("atomic_tests", 1, "executor"), "a-guid").error(raw, "x.yaml")
    assert isinstance(error, InputError)
    assert error.key == "atomic_tests[1].executor"
    assert str(error) == f"x.yaml:{error.line}: a-guid: executor is not a mapping (at atomic_tests[1].executor)"
    assert raw.decode().splitlines()[error.line - 1].strip().startswith("executor:")


def test_collector_lenient_records_and_counts_strict_raises():
    first, second = InputError("bad one", path="a.yml", line=1), InputError("bad two", path="b.yml")
    errors, counts = [], Counter()
    lenient = Collector(errors=errors, counts=counts)
    lenient.add(first, "skipped_files")
    lenient.add(second, "skipped_tests")
    assert errors == [first, second] and counts == Counter(skipped_files=1, skipped_tests=1) and len(lenient) == 2
    strict = Collector(strict=True)
    with pytest.raises(InputError) as raised:
        strict.add(first)
    assert raised.value is first and strict.errors == []


def test_documents_say_where_yaml_is_bad():
    with pytest.raises(InputError) as raised:
        documents(b"a: 1\nb: [1, 2\n", "r.yml", syntax="YAML syntax error")
    assert raised.value.line == 3 and raised.value.message.startswith(
        "YAML syntax error: while parsing a flow sequence"
    )
    with pytest.raises(InputError, match="duplicate key 'a'") as raised:
        documents(b"a: 1\na: 2\n", "r.yml")
    assert raised.value.line == 2
    with pytest.raises(InputError, match="not UTF-8 text"):
        documents(b"a: 1\nb: \xff\n", "r.yml", text=True)
    assert documents(b"a: 1\n---\nb: 2\n", "r.yml", several=True) == [{"a": 1}, {"b": 2}]
    with pytest.raises(InputError, match=r"larger than 10 MiB \(a rule is small\)"):
        refuse_large(b"x" * (MAX_YAML_BYTES + 1), "r.yml", "a rule is small")
