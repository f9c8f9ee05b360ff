"""Telemetry coverage (queries/telemetry.py; ``attack-kg telemetry``, ``coverage``, ``gaps``, the
report's Telemetry section, ``layer --score telemetry``) on the fixture store, whose rules' event
sources are the build's own (the Sigma log source table's ``akg:fedBy``) and whose analytics
carry ATT&CK's log sources; then the acceptance checks on the full build. Every expectation is
computed from the graph's edges (or the STIX bundle), not written down."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from attackkg.builders.base import InputError
from attackkg.queries import telemetry
from attackkg.queries.cli import main

BUNDLE = Path(__file__).parent / "fixtures" / "attack" / "small-enterprise-2.1.json"


@pytest.fixture(scope="module")
def store(fixture_store):
    from attackkg.builders.store import open_store

    return open_store(fixture_store)


@pytest.fixture(scope="module")
def data(store):
    return telemetry.load_telemetry(store)


@pytest.fixture(scope="module")
def store_dir(fixture_store):
    return fixture_store


def _fed_by(store) -> dict[str, set[str]]:
    """Rule IRI -> the event source IRIs that feed it, straight from the graph."""
    query = "PREFIX akg: <https://w3id.org/attack-kg/ns#> SELECT ?r ?s WHERE { ?r akg:fedBy ?s }"
    found: dict[str, set[str]] = {}
    for rule, source in store.query(query, use_default_graph_as_union=True):
        found.setdefault(rule.value, set()).add(source.value)
    return found


def _rules_of(store, attack_id: str) -> set[str]:
    """Rules that detect the technique or one of its sub-techniques, straight from the graph."""
    query = """PREFIX akg: <https://w3id.org/attack-kg/ns#>
        SELECT DISTINCT ?r WHERE { ?t akg:attackId ?id . ?x akg:subtechniqueOf? ?t . ?r akg:detectsTechnique ?x }"""
    from attackkg.queries import parse_query, prepare

    text = prepare(parse_query("rules-of", query), {"id": attack_id}).text
    return {row[0].value for row in store.query(text, use_default_graph_as_union=True)}


# --- profiles --------------------------------------------------------------------------------------


def test_profile_semantics(data):
    catalog = data.catalog
    by_name = {s.name: s for s in catalog.sources.values()}
    whole = telemetry.profile_from_names(["sysmon"], catalog)
    assert whole.feeds(by_name["sysmon/1"]) and whole.feeds(by_name["sysmon/13"]) and whole.feeds(by_name["sysmon"])
    assert not whole.feeds(by_name["windows-security/4688"])
    one = telemetry.profile_from_names(["windows-security/4688"], catalog)
    assert one.feeds(by_name["windows-security/4688"])
    assert not one.feeds(by_name["windows-security/4657"])
    assert one.feeds(by_name["windows-security"])  # a provider-level source: the provider at all
    assert one.names == ["windows-security/4688"]


def test_profile_names_unknown(data):
    with pytest.raises(InputError, match=r"unknown event source 'sysmonn'.*sysmon"):
        telemetry.profile_from_names(["sysmonn"], data.catalog)
    # an event no rule names is collected all the same: kept, said, and it feeds nothing
    profile = telemetry.profile_from_names(["windows-security/9999"], data.catalog)
    assert profile.unlisted == ("windows-security/9999",)
    known = ", ".join(sorted(data.catalog.events("windows-security"), key=int))
    assert f"(events known: windows-security: {known})" in telemetry.unlisted_note(profile, data.catalog)
    assert not any(telemetry.rule_fed(r, profile, data.catalog) for r in data.rules.values() if any(
        data.catalog.sources[i].event_id for i in r.fed_by))


def test_profile_file(data, tmp_path):
    path = tmp_path / "mine.yml"
    path.write_text("sources:\n  - sysmon  # every event\n  - windows-security: [4624, 4688]\n", encoding="utf-8")
    profile = telemetry.load_profile(path, data.catalog)
    assert profile.providers == {"sysmon"}
    assert profile.events == {("windows-security", "4624"), ("windows-security", "4688")}
    assert profile.unlisted == (() if "4624" in data.catalog.events("windows-security") else ("windows-security/4624",))
    assert telemetry.profile_of([str(path)], data.catalog) == profile


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("sources:\n  - sysmon\n  - windows-securty\n", 3, "unknown event source 'windows-securty'"),
        ("sources:\n  - sysmon\n  - {sysmon: [1], zeek: [conn]}\n", 3, "each source is a provider name or one"),
        ("sources:\n  - sysmon\n  - windows-security: []\n", 3, "give a list of event IDs"),
        ("sources:\n  - sysmon\n\t- zeek\n", 3, "not valid YAML"),
        ("sources: sysmon\n", 1, "'sources' is a list"),
        ("source:\n  - sysmon\n", 1, "a mapping with a 'sources' list"),
    ],
)
def test_profile_file_errors(data, tmp_path, capsys, store_dir, text, line, message):
    path = tmp_path / "bad.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as raised:
        telemetry.load_profile(path, data.catalog)
    assert raised.value.line == line and message in raised.value.message
    before = sorted(p.name for p in tmp_path.iterdir())
    assert main(["coverage", "--telemetry", str(path), "--store", str(store_dir)]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and err.startswith(f"attack-kg: {path}:{line}: ")
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_missing_profile_file(data, tmp_path):
    with pytest.raises(InputError, match="cannot read the telemetry profile"):
        telemetry.profile_of([str(tmp_path / "none.yml")], data.catalog)


# --- coverage states -------------------------------------------------------------------------------


def test_rules_split_by_whether_the_profile_feeds_them(store, data):
    profile = telemetry.profile_from_names(["sysmon"], data.catalog)
    state = telemetry.state_of(data, "T1204.001", profile)
    fed_by = _fed_by(store)
    sysmon = {iri for iri in (s.iri for s in data.catalog.sources.values() if s.provider == "sysmon")}
    rules = _rules_of(store, "T1204.001")
    expected_fed = {r for r in rules if fed_by.get(r, set()) & sysmon}
    assert expected_fed and rules - expected_fed  # both sides are there to split
    assert {r.iri for r in state.fed} == expected_fed
    assert {r.iri for r in state.unfed} == rules - expected_fed
    assert state.state == telemetry.NOW
    # ATT&CK's analytics for it, as the bundle lists them
    refs = {
        (ref["name"], ref["channel"])
        for o in json.loads(BUNDLE.read_text())["objects"]
        if o["type"] == "x-mitre-analytic"
        for ref in o.get("x_mitre_log_source_references") or []
    }
    assert {(s.name, s.channel) for s in state.log_sources} == refs


def test_state_follows_the_one_event_that_feeds(store, data):
    """A rule Sysmon 13 feeds and Sysmon 1 does not makes T1204.001 detectable with sysmon/13 alone, not with sysmon/1."""
    fed_by = _fed_by(store)
    rules = _rules_of(store, "T1204.001")
    iri = {s.name: s.iri for s in data.catalog.sources.values()}
    only_13 = {r for r in rules if iri["sysmon/13"] in fed_by.get(r, ()) and iri["sysmon/1"] not in fed_by.get(r, ())}
    assert only_13
    with_13 = telemetry.state_of(data, "T1204.001", telemetry.profile_from_names(["sysmon/13"], data.catalog))
    assert {r.iri for r in with_13.fed} == only_13
    with_1 = telemetry.state_of(data, "T1204.001", telemetry.profile_from_names(["sysmon/1"], data.catalog))
    assert only_13.isdisjoint(r.iri for r in with_1.fed)


def test_no_telemetry(store, data):
    states = telemetry.coverage(data, telemetry.Profile())
    assert states and {s.attack_id for s in states} == set(data.techniques)
    for state in states:
        has_rule = bool(_rules_of(store, state.attack_id))
        assert state.state == (telemetry.MORE if has_rule else telemetry.NO_RULE), state.attack_id
        assert not state.fed
    fed_by = _fed_by(store)
    t1204 = next(s for s in states if s.attack_id == "T1204")
    assert {s.iri for s in t1204.needed} == set().union(*(fed_by.get(r, set()) for r in _rules_of(store, "T1204")))


def test_testable_counts_sub_techniques(store, data):
    query = """PREFIX akg: <https://w3id.org/attack-kg/ns#>
        SELECT ?id (COUNT(DISTINCT ?test) AS ?n) WHERE {
          ?t akg:attackId ?id . ?x akg:subtechniqueOf? ?t . ?test akg:emulates ?x } GROUP BY ?id"""
    tests = {row[0].value: int(row[1].value) for row in store.query(query, use_default_graph_as_union=True)}
    for state in telemetry.coverage(data, telemetry.Profile()):
        assert state.atomic_tests == tests.get(state.attack_id, 0)
        assert state.testable == (state.attack_id in tests)
    assert any(tests.values())


# --- what to collect next --------------------------------------------------------------------------


def _now(data, profile) -> set[str]:
    return {s.attack_id for s in telemetry.coverage(data, profile) if s.state == telemetry.NOW}


def test_next_sources_first_pick_recomputed(data):
    profile = telemetry.Profile()
    picks = telemetry.next_sources(data, profile)
    assert picks
    gains = {p: _now(data, profile.plus(p)) - _now(data, profile) for p in data.catalog.providers}
    best = max(len(g) for g in gains.values())
    assert len(picks[0].gained) == best
    assert picks[0].source == min(p for p, g in gains.items() if len(g) == best)
    assert set(picks[0].gained) == gains[picks[0].source]
    # each later step gains what the profile of the steps before lacks
    for i, pick in enumerate(picks[1:], 1):
        before = telemetry.with_picks(profile, picks[:i])
        assert set(pick.gained) == _now(data, before.plus(pick.source)) - _now(data, before)
    assert picks[-1].now == len(_now(data, telemetry.with_picks(profile, picks)))


def test_next_sources_by_event(data):
    profile = telemetry.profile_from_names(["windows-security"], data.catalog)
    picks = telemetry.next_sources(data, profile, by="event")
    for i, pick in enumerate(picks):
        assert "/" in pick.source or pick.source not in profile.providers
        before = telemetry.with_picks(profile, picks[:i])
        provider, _, event = pick.source.partition("/")
        assert set(pick.gained) == _now(data, before.plus(provider, event or None)) - _now(data, before)


# --- the CLI ---------------------------------------------------------------------------------------


def test_cli_telemetry_list(store_dir, data, capsys):
    assert main(["telemetry", "--list", "--format", "json", "--store", str(store_dir)]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [p["provider"] for p in listed] == sorted(data.catalog.providers)
    names = {e["name"] for p in listed for e in p["events"]}
    assert names == {s.name for s in data.catalog.sources.values()}
    assert all(e["from"] for p in listed for e in p["events"])
    assert main(["telemetry", "--list", "--provider", "sysmon", "--store", str(store_dir)]) == 0
    out = capsys.readouterr().out
    assert "sysmon/1" in out and "Sysmon event 1 (process creation)" in out and "zeek" not in out
    assert main(["telemetry", "--list", "--provider", "sysmn", "--store", str(store_dir)]) == 1
    assert "unknown event source 'sysmn'" in capsys.readouterr().err


def test_cli_coverage_formats(store_dir, data, capsys):
    assert main(["coverage", "--telemetry", "sysmon", "--format", "json", "--store", str(store_dir)]) == 0
    answer = json.loads(capsys.readouterr().out)
    states = telemetry.coverage(data, telemetry.profile_from_names(["sysmon"], data.catalog))
    assert [row["technique"] for row in answer["techniques"]] == [s.attack_id for s in states]
    assert answer["counts"] == telemetry.state_counts(states)
    assert main(["coverage", "--telemetry", "sysmon", "--format", "csv", "--store", str(store_dir)]) == 0
    table = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert {row["technique"]: row["state"] for row in table} == {s.attack_id: s.state for s in states}
    assert main(["coverage", "--store", str(store_dir)]) == 0
    out, err = capsys.readouterr()
    assert "no telemetry" in err and " now " not in out


def test_cli_gaps(store_dir, data, capsys):
    assert main(["gaps", "--top", "1", "--format", "json", "--store", str(store_dir)]) == 0
    answer = json.loads(capsys.readouterr().out)
    (pick,) = telemetry.next_sources(data, telemetry.Profile(), top=1)
    assert answer["steps"][0]["source"] == pick.source and answer["steps"][0]["gained"] == pick.gained
    assert main(["gaps", "--top", "2", "--store", str(store_dir)]) == 0
    out = capsys.readouterr().out
    assert pick.source in out and " ".join(pick.gained) in out
    assert main(["gaps", "--top", "0", "--store", str(store_dir)]) == 1


def test_cli_gaps_and_query_gaps_differ(store_dir, capsys):
    assert main(["query", "gaps", "--format", "json", "--store", str(store_dir)]) == 0
    assert "results" in json.loads(capsys.readouterr().out)
    with pytest.raises(SystemExit):
        main(["gaps", "--help"])
    assert "attack-kg query gaps" in capsys.readouterr().out


# --- the report page -------------------------------------------------------------------------------


def _section(page: str, heading: str) -> str:
    start = page.index(f"## {heading}\n")
    following = page.find("\n## ", start + 1)
    return page[start : following if following != -1 else len(page)]


def test_report_telemetry_section(store, data):
    from attackkg.queries import report

    page = report.report(store, "T1204.001")
    assert page.index("## Offensive Security Tests") < page.index("## Telemetry")
    section = _section(page, "Telemetry")
    rules = _rules_of(store, "T1204.001")
    assert f"**Sigma rules for this technique or its sub-techniques:** {len(rules)}" in section
    fed_by = _fed_by(store)
    for source in data.catalog.sources.values():
        feeding = sum(1 for r in rules if source.iri in fed_by.get(r, set()))
        if feeding:
            assert f"{source.name} ({source.label}): {feeding} rule{'s' if feeding != 1 else ''}" in section
        else:
            assert f"{source.name} (" not in section
    unknown = sum(1 for r in rules if r not in fed_by)
    assert f"Rules whose log source the table does not know: {unknown} " in section
    assert "* WinEventLog:Security: EventCode=4688 (Process Creation)" in section
    html = report.report(store, "T1204.001", "html")
    assert "<h2>Telemetry</h2>" in html and "windows-security/4688" in html
    # a store without event sources (built before the table) says so
    import pyoxigraph as ox

    from attackkg.ontology.namespaces import TELEMETRY_GRAPH

    older = ox.Store()
    older.bulk_extend(q for q in store.quads_for_pattern(None, None, None) if q.graph_name.value != TELEMETRY_GRAPH)
    bare = _section(report.report(older, "T1204.001"), "Telemetry")
    assert "built without the Sigma log source table" in bare


# --- the Navigator layer ---------------------------------------------------------------------------


def test_telemetry_layer(store, data, store_dir, tmp_path, capsys):
    from test_layer import check

    from attackkg.queries.telemetry_layer import build_telemetry_layer

    built = check(build_telemetry_layer(store, ["sysmon"], data=data))
    states = {s.attack_id: s for s in telemetry.coverage(data, telemetry.profile_from_names(["sysmon"], data.catalog))}
    scored = {e["techniqueID"]: e["score"] for e in built["techniques"]}
    assert scored and set(scored) <= set(states)
    assert {t: {"now": 2, "more-telemetry": 1, "no-rule": 0}[states[t].state] for t in scored} == scored
    assert built["gradient"]["maxValue"] == 2 and len(built["legendItems"]) == 3
    assert "sysmon" in built["name"]
    path = tmp_path / "layer.json"
    args = ["layer", "--score", "telemetry", "--telemetry", "sysmon", "-o", str(path), "--store", str(store_dir)]
    assert main(args) == 0
    assert json.loads(path.read_text())["techniques"] == built["techniques"]
    assert main(["layer", "--score", "sigma", "--telemetry", "sysmon", "--store", str(store_dir)]) == 1
    assert "--telemetry goes with --score telemetry" in capsys.readouterr().err


# --- acceptance, on the full build (ATT&CK 18.1, D3FEND 1.2.0, every Sigma rule, Atomic) ------------


@pytest.fixture(scope="module")
def full(full_memory_store):
    """The session's full build (its copy in memory) and the telemetry read from it."""
    return full_memory_store, telemetry.load_telemetry(full_memory_store)


# The per-state count of every current technique under a profile, by SPARQL alone: a technique is
# "now" when a rule on it or a sub-technique is fed by an event source the profile feeds, else
# "more-telemetry" when such a rule exists, else "no-rule". The profile goes in as VALUES.
STATE_COUNTS = """
PREFIX akg: <https://w3id.org/attack-kg/ns#>
PREFIX owl: <http://www.w3.org/2002/07/owl#>
SELECT ?state (COUNT(?t) AS ?n) WHERE {
  {
    SELECT ?t (MAX(?has_rule) AS ?rule_exists) (MAX(?fed) AS ?is_fed) WHERE {
      ?t a akg:Technique .
      FILTER NOT EXISTS { ?t akg:revoked true }
      FILTER NOT EXISTS { ?t owl:deprecated true }
      OPTIONAL {
        ?x akg:subtechniqueOf? ?t .
        ?rule akg:detectsTechnique ?x .
        BIND(1 AS ?has_rule)
        OPTIONAL {
          ?rule akg:fedBy ?source .
          ?source akg:eventProvider ?provider .
          OPTIONAL { ?source akg:eventId ?event }
          FILTER(?provider IN (WHOLE)
                 || (BOUND(?event) && CONCAT(?provider, "/", ?event) IN (PAIRS))
                 || (!BOUND(?event) && ?provider IN (PAIR_PROVIDERS)))
          BIND(1 AS ?fed_here)
        }
        BIND(COALESCE(?fed_here, 0) AS ?fed)
      }
    } GROUP BY ?t
  }
  BIND(IF(COALESCE(?is_fed, 0) = 1, "now", IF(COALESCE(?rule_exists, 0) = 1, "more-telemetry", "no-rule")) AS ?state)
} GROUP BY ?state
"""


def _sparql_counts(store, whole: list[str], pairs: list[str]) -> dict[str, int]:
    def listed(values):
        return ", ".join(f'"{v}"' for v in values) or '"-"'

    text = (
        STATE_COUNTS.replace("PAIR_PROVIDERS", listed(sorted({p.split("/")[0] for p in pairs})))
        .replace("WHOLE", listed(whole))
        .replace("PAIRS", listed(pairs))
    )
    found = dict.fromkeys(telemetry.STATES, 0)
    for state, count in store.query(text, use_default_graph_as_union=True):
        found[state.value] = int(count.value)
    return found


@pytest.mark.parametrize(
    ("whole", "pairs"),
    [(["sysmon"], []), (["windows-security", "aws-cloudtrail"], ["sysmon/1", "windows-powershell/4104"]), ([], [])],
)
def test_full_state_counts_match_sparql(full, whole, pairs):
    store, data = full
    profile = telemetry.profile_from_names(whole + pairs, data.catalog)
    counts = telemetry.state_counts(telemetry.coverage(data, profile))
    assert {k: counts[k] for k in telemetry.STATES} == _sparql_counts(store, whole, pairs)
    assert counts["now"] > 0 or not (whole or pairs)
    assert counts["more-telemetry"] > 0 and counts["no-rule"] > 0


def test_full_t1204_001_with_sysmon(full):
    store, data = full
    state = telemetry.state_of(data, "T1204.001", telemetry.profile_from_names(["sysmon"], data.catalog))
    assert state.state in telemetry.STATES
    query = """PREFIX akg: <https://w3id.org/attack-kg/ns#>
        SELECT DISTINCT ?rule ?fed WHERE {
          ?t akg:attackId "T1204.001" ; a akg:Technique . ?x akg:subtechniqueOf? ?t . ?rule akg:detectsTechnique ?x .
          OPTIONAL { ?rule akg:fedBy ?s . ?s akg:eventProvider "sysmon" . BIND(true AS ?sysmon) }
          BIND(BOUND(?sysmon) AS ?fed)
        }"""
    split: dict[str, bool] = {}
    for rule, fed in store.query(query, use_default_graph_as_union=True):
        split[rule.value] = split.get(rule.value, False) or fed.value == "true"
    assert {r.iri for r in state.fed} == {r for r, fed in split.items() if fed}
    assert {r.iri for r in state.unfed} == {r for r, fed in split.items() if not fed}
    assert state.fed and state.unfed  # T1204.001 has both kinds of rules in the shared data
    assert state.state == telemetry.NOW


def test_full_no_telemetry(full):
    _store, data = full
    for state in telemetry.coverage(data, telemetry.Profile()):
        assert state.state == (telemetry.MORE if data.rules_of.get(state.attack_id) else telemetry.NO_RULE)


def test_full_gaps_sysmon_g0016_top_3(full, full_store_dir, capsys):
    store, data = full
    profile = telemetry.profile_from_names(["sysmon"], data.catalog)
    _id, _name, techniques = telemetry.group_techniques(store, "G0016")
    assert main(["gaps", "--telemetry", "sysmon", "--group", "G0016", "--top", "3", "--format", "json",
                 "--store", str(full_store_dir)]) == 0
    steps = json.loads(capsys.readouterr().out)["steps"]
    assert len(steps) == 3 and all(step["gained"] for step in steps)
    # the first pick, recomputed: every provider tried on its own
    before = {s.attack_id for s in telemetry.coverage(data, profile, techniques) if s.state == telemetry.NOW}
    gains = {}
    for provider in data.catalog.providers:
        if provider not in profile.providers:
            after = telemetry.coverage(data, profile.plus(provider), techniques)
            gains[provider] = {s.attack_id for s in after if s.state == telemetry.NOW} - before
    best = max(len(g) for g in gains.values())
    assert steps[0]["source"] == min(p for p, g in gains.items() if len(g) == best)
    assert set(steps[0]["gained"]) == gains[steps[0]["source"]]
    assert len(steps[0]["gained"]) >= len(steps[1]["gained"]) >= len(steps[2]["gained"])


# --- named queries ---------------------------------------------------------------------------------


def test_query_rules_for_source(store, data):
    from attackkg.queries import rows

    fed_by = _fed_by(store)
    by_name = {s.name: s for s in data.catalog.sources.values()}
    ids = {r.iri: r.rule_id for r in data.rules.values()}
    for name in ("sysmon/1", "sysmon", "windows-security/4688", "windows-powershell/4104"):
        provider, _, event = name.partition("/")
        feeding = {s.iri for s in data.catalog.sources.values() if s.provider == provider and (
            not event or s.event_id in (event, None))}
        expected = {ids[r] for r, sources in fed_by.items() if sources & feeding}
        found = rows(store, "rules-for-source", source=name)
        assert {row["rule_id"] for row in found} == expected and expected, name
        assert {row["event_source"] for row in found} <= {by_name[n].name for n in by_name if by_name[n].iri in feeding}


def test_query_technique_event_sources(store, data):
    from attackkg.queries import rows

    fed_by = _fed_by(store)
    found = rows(store, "technique-event-sources", technique="T1204")
    rules = _rules_of(store, "T1204")
    ids = {r.iri: r.rule_id for r in data.rules.values()}
    assert {row["rule_id"] for row in found} == {ids[r] for r in rules}
    names = {s.iri: s.name for s in data.catalog.sources.values()}
    assert {(row["rule_id"], row["event_source"]) for row in found if "event_source" in row} == {
        (ids[r], names[s]) for r in rules for s in fed_by.get(r, ())
    }
    assert {row["rule_id"] for row in found if "unknown_logsource" in row} == {ids[r] for r in rules if r not in fed_by}
    assert {row["match"] for row in found} == {"technique", "sub-technique"}


def test_attack_log_sources_read_as_event_sources(store, data):
    """What ATT&CK's analytics name for T1204.001, as profiles name it, from the akg:eventSource edges."""
    query = """PREFIX akg: <https://w3id.org/attack-kg/ns#>
        SELECT DISTINCT ?provider ?event WHERE {
          ?s akg:detects ?t ; akg:analytic ?a . ?t akg:attackId "T1204.001" .
          ?a akg:logSource ?ls . ?ls akg:eventSource ?es . ?es akg:eventProvider ?provider .
          OPTIONAL { ?es akg:eventId ?event } }"""
    expected = {
        f"{p.value}/{e.value}" if e is not None else p.value
        for p, e in store.query(query, use_default_graph_as_union=True)
    }
    assert expected  # WinEventLog:Security EventCode=4688 is read as windows-security/4688
    state = telemetry.state_of(data, "T1204.001", telemetry.Profile())
    assert set(state.attack_event_sources()) == expected
    assert "windows-security/4688" in expected
