"""ATT&CK Navigator layers (queries/layer.py, ``attack-kg layer``).

Layers are checked against the layer format 4.5 specification (attack-navigator,
``layers/spec/v4.5/layerformat.md``): the field/type tables below are that document's, with
"Required?" as it says, plus the value rules it states (domain names, sorting 0-3, layout
choices, gradient of at least two colours with maxValue > minValue, versions.layer "4.5",
versions.navigator at least 4.9.0). And against what the Navigator writes when it exports a
layer (``ViewModel.serialize``, ``TechniqueVM.serialize``, ``LayoutOptions.serialize``,
``Gradient.serialize`` of attack-navigator 5.x): the same top-level and technique fields.
"""

from __future__ import annotations

import json
import re

import pytest
from test_report import build_fixture_store

from attackkg.builders.base import InputError
from attackkg.builders.build import build_store
from attackkg.builders.store import open_store
from attackkg.queries import layer, report, rows
from attackkg.queries.cli import main

STRING, NUMBER, BOOLEAN, ARRAY, OBJECT = str, (int, float), bool, list, dict

# Layer format 4.5, "Property Table": name -> (type, required)
LAYER_FIELDS = {
    "versions": (OBJECT, False),
    "name": (STRING, True),
    "description": (STRING, False),
    "domain": (STRING, True),
    "customDataURL": (STRING, False),
    "filters": (OBJECT, False),
    "sorting": (NUMBER, False),
    "layout": (OBJECT, False),
    "hideDisabled": (BOOLEAN, False),
    "techniques": (ARRAY, False),
    "gradient": (OBJECT, False),
    "legendItems": (ARRAY, False),
    "showTacticRowBackground": (BOOLEAN, False),
    "tacticRowBackground": (STRING, False),
    "selectTechniquesAcrossTactics": (BOOLEAN, False),
    "selectSubtechniquesWithParent": (BOOLEAN, False),
    "selectVisibleTechniques": (BOOLEAN, False),
    "metadata": (ARRAY, False),
    "links": (ARRAY, False),
}
# "Version Object Properties"
VERSION_FIELDS = {"attack": (STRING, False), "navigator": (STRING, True), "layer": (STRING, True)}
# "Filter Object Properties"
FILTER_FIELDS = {"platforms": (ARRAY, False)}
# "Technique Object properties"
TECHNIQUE_FIELDS = {
    "techniqueID": (STRING, True),
    "tactic": (STRING, False),
    "comment": (STRING, False),
    "enabled": (BOOLEAN, False),
    "score": (NUMBER, False),
    "color": (STRING, False),
    "metadata": (ARRAY, False),
    "links": (ARRAY, False),
    "showSubtechniques": (BOOLEAN, False),
}
# "Gradient Object properties"
GRADIENT_FIELDS = {"colors": (ARRAY, True), "minValue": (NUMBER, True), "maxValue": (NUMBER, True)}
# "LegendItem Object properties"
LEGEND_FIELDS = {"label": (STRING, True), "color": (STRING, True)}
# "Metadata Object properties" (or a Divider object)
METADATA_FIELDS = {"name": (STRING, True), "value": (STRING, True)}
# "Link Object properties" (or a Divider object)
LINK_FIELDS = {"label": (STRING, True), "url": (STRING, True)}
DIVIDER_FIELDS = {"divider": (BOOLEAN, True)}
# "Layout Object properties"
LAYOUT_FIELDS = {
    "layout": (STRING, False),
    "showID": (BOOLEAN, False),
    "showName": (BOOLEAN, False),
    "showAggregateScores": (BOOLEAN, False),
    "countUnscored": (BOOLEAN, False),
    "aggregateFunction": (STRING, False),
    "expandedSubtechniques": (STRING, False),
}
DOMAINS = {"enterprise-attack", "mobile-attack", "ics-attack"}
COLOR = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$")
TECHNIQUE_ID = re.compile(r"^T\d{4}(\.\d{3})?$")

# What the Navigator writes on export (ViewModel.serialize; TechniqueVM.serialize, which leaves
# out score when unscored; LayoutOptions.serialize; Gradient.serialize).
EXPORTED_LAYER_KEYS = {
    "name", "versions", "domain", "description", "filters", "sorting", "layout", "hideDisabled",
    "techniques", "gradient", "legendItems", "metadata", "links", "showTacticRowBackground",
    "tacticRowBackground", "selectTechniquesAcrossTactics", "selectSubtechniquesWithParent",
    "selectVisibleTechniques",
}  # fmt: skip
EXPORTED_TECHNIQUE_KEYS = {
    "techniqueID", "tactic", "score", "color", "comment", "enabled", "metadata", "links", "showSubtechniques"
}  # fmt: skip
EXPORTED_LAYOUT_KEYS = set(LAYOUT_FIELDS)
EXPORTED_GRADIENT_KEYS = set(GRADIENT_FIELDS)


def _fields(obj: object, table: dict, where: str) -> list[str]:
    if not isinstance(obj, dict):
        return [f"{where}: not an object"]
    errors = []
    for name, (kind, required) in table.items():
        if name not in obj:
            if required:
                errors.append(f"{where}.{name}: required, missing")
            continue
        value = obj[name]
        # JSON numbers are not booleans (Python's bool is an int)
        wrong = isinstance(value, bool) and kind is not BOOLEAN
        if wrong or not isinstance(value, kind):
            errors.append(f"{where}.{name}: {type(value).__name__} is not {kind}")
    return errors


def _entries(values: list, table: dict, where: str, dividers: bool = False) -> list[str]:
    errors = []
    for i, value in enumerate(values):
        if dividers and isinstance(value, dict) and "divider" in value:
            errors += _fields(value, DIVIDER_FIELDS, f"{where}[{i}]")
        else:
            errors += _fields(value, table, f"{where}[{i}]")
    return errors


def validate(layer: object) -> list[str]:
    """The ways ``layer`` breaks the layer format 4.5 specification (empty when it does not)."""
    errors = _fields(layer, LAYER_FIELDS, "layer")
    if errors and (not isinstance(layer, dict) or "name" not in layer or "domain" not in layer):
        return errors
    if layer["domain"] not in DOMAINS:
        errors.append(f"layer.domain: {layer['domain']!r} is not one of {sorted(DOMAINS)}")
    versions = layer.get("versions", {})
    errors += _fields(versions, VERSION_FIELDS, "versions")
    if versions.get("layer") != "4.5":
        errors.append("versions.layer must be '4.5'")
    navigator = tuple(int(n) for n in re.findall(r"\d+", str(versions.get("navigator", ""))))
    if navigator < (4, 9, 0):
        errors.append("versions.navigator must be at least 4.9.0")
    if "attack" in versions and not re.match(r"^\d+", str(versions["attack"])):
        errors.append("versions.attack: the Navigator reads its leading number; there is none")
    errors += _fields(layer.get("filters", {}), FILTER_FIELDS, "filters")
    if not all(isinstance(p, str) for p in layer.get("filters", {}).get("platforms", [])):
        errors.append("filters.platforms: not all strings")
    if layer.get("sorting", 0) not in (0, 1, 2, 3):
        errors.append("layer.sorting: not 0, 1, 2 or 3")
    layout = layer.get("layout", {})
    errors += _fields(layout, LAYOUT_FIELDS, "layout")
    if layout.get("layout", "side") not in ("side", "flat", "mini"):
        errors.append("layout.layout: not side, flat or mini")
    if layout.get("aggregateFunction", "average") not in ("average", "min", "max", "sum"):
        errors.append("layout.aggregateFunction: not average, min, max or sum")
    if layout.get("expandedSubtechniques", "none") not in ("none", "all", "annotated"):
        errors.append("layout.expandedSubtechniques: not none, all or annotated")
    for i, technique in enumerate(layer.get("techniques", [])):
        where = f"techniques[{i}]"
        errors += _fields(technique, TECHNIQUE_FIELDS, where)
        if not TECHNIQUE_ID.match(str(technique.get("techniqueID"))):
            errors.append(f"{where}.techniqueID: not T#### or T####.###")
        if technique.get("color") and not COLOR.match(technique["color"]):
            errors.append(f"{where}.color: not a hex colour")
        errors += _entries(technique.get("metadata", []), METADATA_FIELDS, f"{where}.metadata", dividers=True)
        errors += _entries(technique.get("links", []), LINK_FIELDS, f"{where}.links", dividers=True)
        for link in technique.get("links", []):
            if "url" in link and not re.match(r"^[a-z][a-z0-9+.-]*://", link["url"]):
                errors.append(f"{where}.links: URL without a protocol")
    gradient = layer.get("gradient")
    if gradient is not None:
        errors += _fields(gradient, GRADIENT_FIELDS, "gradient")
        colors = gradient.get("colors", [])
        if len(colors) < 2 or not all(isinstance(c, str) and COLOR.match(c) for c in colors):
            errors.append("gradient.colors: fewer than two hex colours")
        if not gradient.get("maxValue", 0) > gradient.get("minValue", 0):
            errors.append("gradient: maxValue must be > minValue")
    errors += _entries(layer.get("legendItems", []), LEGEND_FIELDS, "legendItems")
    for item in layer.get("legendItems", []):
        if not COLOR.match(str(item.get("color"))):
            errors.append("legendItems: colour not a hex colour")
    errors += _entries(layer.get("metadata", []), METADATA_FIELDS, "metadata", dividers=True)
    errors += _entries(layer.get("links", []), LINK_FIELDS, "links", dividers=True)
    if layer.get("tacticRowBackground") is not None and not COLOR.match(layer["tacticRowBackground"]):
        errors.append("tacticRowBackground: not a hex colour")
    return errors


def check(built: dict) -> dict:
    """Valid by the specification, shaped as a Navigator export, and unchanged through JSON."""
    assert validate(built) == []
    assert set(built) == EXPORTED_LAYER_KEYS
    assert set(built["layout"]) == EXPORTED_LAYOUT_KEYS
    assert set(built["gradient"]) == EXPORTED_GRADIENT_KEYS
    for technique in built["techniques"]:
        assert set(technique) == EXPORTED_TECHNIQUE_KEYS
    assert json.loads(layer.to_json(built)) == built
    return built


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory, fixtures):
    return build_fixture_store(tmp_path_factory.mktemp("layer"), fixtures)


@pytest.fixture(scope="module")
def store(store_dir):
    return open_store(store_dir)


@pytest.fixture(scope="module")
def coverage(store):
    return report.load_coverage(store)


def by_id(built: dict) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for entry in built["techniques"]:
        found.setdefault(entry["techniqueID"], []).append(entry)
    return found


# --- the validator itself ----------------------------------------------------------------------


def test_validator_rejects_what_the_specification_forbids(store, coverage):
    good = layer.build_layer(store, "sigma", coverage=coverage)
    assert validate(good) == []
    broken = [
        ({"name": None}, "layer.name"),
        ({"domain": "enterprise"}, "layer.domain"),
        ({"versions": {"navigator": "5.1.0", "layer": "4.4"}}, "versions.layer"),
        ({"versions": {"navigator": "4.8.0", "layer": "4.5"}}, "versions.navigator"),
        ({"versions": {"attack": "unknown", "navigator": "5.1.0", "layer": "4.5"}}, "versions.attack"),
        ({"sorting": 7}, "layer.sorting"),
        ({"gradient": {"colors": ["#ff6666"], "minValue": 0, "maxValue": 1}}, "gradient.colors"),
        ({"gradient": {"colors": ["#ff6666", "#8ec843"], "minValue": 3, "maxValue": 3}}, "maxValue"),
        ({"legendItems": [{"label": "x"}]}, "legendItems[0].color"),
        ({"techniques": [{"techniqueID": "T1204.001", "score": "4"}]}, "techniques[0].score"),
        ({"techniques": [{"techniqueID": "T1204.001", "enabled": 1}]}, "techniques[0].enabled"),
        ({"techniques": [{"techniqueID": "T1204.001", "score": True}]}, "techniques[0].score"),
        ({"techniques": [{"tactic": "execution"}]}, "techniques[0].techniqueID"),
        ({"techniques": [{"techniqueID": "T1", "links": [{"label": "x", "url": "attack.mitre.org"}]}]}, "links"),
        ({"layout": {"layout": "grid"}}, "layout.layout"),
        ({"metadata": [{"name": "x"}]}, "metadata[0].value"),
    ]
    for change, message in broken:
        errors = validate({**good, **change})
        assert any(message in error for error in errors), (change, errors)
    assert validate({**good, "metadata": [{"divider": True}]}) == []


# --- layers on the fixture store ---------------------------------------------------------------

# T1204.001 on the fixture store: 4 Sigma rule files, 3 D3FEND techniques (Homoglyph Detection,
# Outbound Traffic Filtering, URL Analysis), 2 mitigations (M1017, M1021), no Atomic test.
EXPECTED_T1204_001 = {"sigma": 4, "d3fend": 3, "mitigations": 2, "atomic": 0, "combined": 3}


@pytest.mark.parametrize("score", layer.SCORES)
def test_every_score_gives_a_valid_layer_with_the_page_counts(store, coverage, score):
    built = check(layer.build_layer(store, score, coverage=coverage))
    assert built["domain"] == "enterprise-attack"
    assert built["versions"] == {"attack": "18.1", "navigator": layer.NAVIGATOR_VERSION, "layer": "4.5"}
    entries = by_id(built)
    current = {p.attack_id: p for p in coverage.techniques.values() if p.current}
    assert set(entries) == set(current)  # every current technique, revoked T1066 left out
    for attack_id, page in current.items():
        assert [e["tactic"] for e in entries[attack_id]] == [t[2] for t in page.tactics]
        found = layer.counts(page)
        expected = sum(1 for n in found.values() if n) if score == "combined" else found[score]
        assert {e["score"] for e in entries[attack_id]} == {expected}
        metadata = {m["name"]: m["value"] for m in entries[attack_id][0]["metadata"]}
        assert metadata == {layer.KINDS[k][2]: str(found[k]) for k in layer.KINDS}
    assert entries["T1204.001"][0]["score"] == EXPECTED_T1204_001[score]
    assert entries["T1204.001"][0]["links"] == [
        {"label": "ATT&CK T1204.001", "url": "https://attack.mitre.org/techniques/T1204/001"}
    ]
    assert built["filters"]["platforms"] and all(isinstance(p, str) for p in built["filters"]["platforms"])
    assert built["legendItems"][0]["color"] == "#ff6666"
    assert built["gradient"]["minValue"] == 0 and built["gradient"]["maxValue"] >= 1
    names = {m["name"] for m in built["metadata"]}
    assert {"score", "ATT&CK", "D3FEND", "Sigma rules", "Atomic Red Team"} <= names


def test_comments_say_what_was_counted(store, coverage):
    sigma = by_id(layer.build_layer(store, "sigma", coverage=coverage))["T1204.001"][0]["comment"]
    assert sigma.startswith("4 Sigma rule files: rules/linux/builtin/lnx_symlink_etc_passwd.yml; ")
    d3fend = by_id(layer.build_layer(store, "d3fend", coverage=coverage))["T1204.001"][0]["comment"]
    assert (
        d3fend
        == "3 D3FEND techniques: Homoglyph Detection (D3-HD); Outbound Traffic Filtering (D3-OTF); URL Analysis (D3-UA)"
    )
    combined = layer.build_layer(store, "combined", coverage=coverage)
    assert by_id(combined)["T1204.001"][0]["comment"].startswith("3 of 4 kinds covered (Sigma rule files: 4;")
    assert combined["gradient"]["maxValue"] == 4
    assert [i["label"] for i in combined["legendItems"]] == [
        "0 of 4 kinds of coverage", "1 to 3 of 4 kinds of coverage", "4 of 4 kinds of coverage"
    ]  # fmt: skip
    assert "0 to 4" in combined["description"] and "18.1" in combined["description"]


def test_group_layer_has_only_the_groups_techniques(store, coverage):
    by_code = check(layer.build_layer(store, "combined", group="G0016", coverage=coverage))
    assert set(by_id(by_code)) == {"T1204.001", "T1204.002", "T1566.002"}  # APT29's uses in the cut
    assert by_code["name"].endswith("of APT29 (G0016)")
    assert by_code["layout"]["expandedSubtechniques"] == "annotated"
    assert "APT29 (G0016) uses" in by_code["description"]
    by_name = layer.build_layer(store, "combined", group="apt29", coverage=coverage)
    assert by_name == by_code
    with pytest.raises(InputError, match="no ATT&CK group 'G9999'"):
        layer.build_layer(store, "sigma", group="G9999", coverage=coverage)


def test_missing_sources_and_bad_arguments(tmp_path, fixtures):
    store = open_store(build_fixture_store(tmp_path, fixtures, atomic=False))
    with pytest.raises(InputError, match="cannot score by atomic"):
        layer.build_layer(store, "atomic")
    combined = check(layer.build_layer(store, "combined"))
    assert combined["gradient"]["maxValue"] == 3  # Sigma, D3FEND, mitigations
    assert "Atomic" not in json.dumps(combined["metadata"])
    with pytest.raises(InputError, match="no ATT&CK mobile-attack release"):
        layer.build_layer(store, "sigma", domain="mobile")
    with pytest.raises(InputError, match="unknown score"):
        layer.build_layer(store, "cves")


def test_attack_release_without_a_version_leaves_versions_attack_out(tmp_path, fixtures):
    store_dir = tmp_path / "store"
    build_store(store_dir, attack_paths=[fixtures / "attack" / "small-enterprise-2.0.json"])
    built = check(layer.build_layer(open_store(store_dir), "mitigations"))
    assert [row.get("version", "unknown") for row in rows(open_store(store_dir), "sources")] == ["unknown"]
    assert built["versions"] == {"navigator": layer.NAVIGATOR_VERSION, "layer": "4.5"}


def test_scale_max_is_the_90th_percentile_of_positive_scores():
    assert layer.scale_max([]) == 1
    assert layer.scale_max([0, 0]) == 1
    assert layer.scale_max([0, 3]) == 3
    assert layer.scale_max([*range(1, 11), 500]) == 10  # one outlier does not wash the map out


def test_cli_layer_writes_the_file_atomically(store_dir, store, tmp_path, capsys):
    out = tmp_path / "layer.json"
    argv = ["layer", "--score", "sigma", "--group", "G0016", "-o", str(out), "--store", str(store_dir)]
    assert main(argv) == 0
    assert "wrote" in capsys.readouterr().out
    assert json.loads(out.read_text(encoding="utf-8")) == layer.build_layer(store, "sigma", group="G0016")
    assert [p.name for p in tmp_path.iterdir()] == ["layer.json"]
    before = out.read_bytes()
    assert main(["layer", "--score", "atomic", "--group", "G9999", "-o", str(out), "--store", str(store_dir)]) == 1
    assert "no ATT&CK group" in capsys.readouterr().err
    assert out.read_bytes() == before  # a failed run leaves the previous file
    assert main(["layer", "--score", "d3fend", "--store", str(store_dir)]) == 0
    assert validate(json.loads(capsys.readouterr().out)) == []
    with pytest.raises(SystemExit) as usage:  # argparse: a usage error
        main(["layer", "--score", "nope", "--store", str(store_dir)])
    assert usage.value.code == 2 and "invalid choice: 'nope'" in capsys.readouterr().err


# --- end to end on the full shared data --------------------------------------------------------


@pytest.fixture(scope="module")
def full_store(full_memory_store):
    """The session's full build (tests/conftest.py), in memory: a layer reads every page's model."""
    return full_memory_store


def test_full_data_layers(full_store):
    coverage = report.load_coverage(full_store)
    current = [p for p in coverage.techniques.values() if p.current]
    for score in layer.SCORES:
        built = check(layer.build_layer(full_store, score, coverage=coverage))
        assert built["versions"]["attack"] == "18.1"
        assert len(built["techniques"]) == sum(len(p.tactics) for p in current)
    sigma = by_id(layer.build_layer(full_store, "sigma", coverage=coverage))
    assert sigma["T1204.001"][0]["score"] == 4
    d3fend = by_id(layer.build_layer(full_store, "d3fend", coverage=coverage))
    assert d3fend["T1204.001"][0]["score"] == 14
    group = check(layer.build_layer(full_store, "combined", group="G0016", coverage=coverage))
    used = {r["technique"] for r in rows(full_store, "report-group", group="G0016")}
    assert set(by_id(group)) == {t for t in used if coverage.techniques[t].current}
    assert group["name"] == "attack-kg: coverage by kind (combined) of APT29 (G0016)"
