"""A regular (non-editable) install carries the ontology, the queries, the page templates and the pins as package data."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT


@pytest.mark.slow
def test_wheel_holds_the_package_data(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(tmp_path), str(ROOT)],
        check=True,
        timeout=600,
    )
    (wheel,) = tmp_path.glob("attack_kg-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    tops = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert tops == {"attackkg"}  # no generic top-level names (builders, queries) in site-packages
    for folder, pattern in (
        ("ontology", "*.ttl"),
        ("queries", "*.rq"),
        ("queries/templates", "*.j2"),
        ("builders", "*.json"),
        ("builders", "*.tsv"),
    ):
        shipped = {Path(name).name for name in names if name.startswith(f"attackkg/{folder}/")}
        expected = {path.name for path in (ROOT / folder).glob(pattern)}
        assert expected and expected <= shipped, (folder, expected - shipped)
    entry_points = next(name for name in names if name.endswith("entry_points.txt"))
    assert "attack-kg = attackkg.queries.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
