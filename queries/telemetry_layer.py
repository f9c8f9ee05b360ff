"""``attack-kg layer --score telemetry --telemetry ...``: an ATT&CK Navigator layer colouring each
technique by its coverage state under a telemetry profile (queries/telemetry.py).

Score 2 (green) detectable now, 1 (yellow) detectable with more telemetry, 0 (red) no rule. The
layer is the ``combined`` layer of :func:`attackkg.queries.layer.build_layer` (same techniques,
tactics, group filter, versions and platforms) with the telemetry scores, comments, metadata and
legend put in: each technique's comment says its state, the rules the profile feeds and the event
sources it would need, and whether an Atomic test exercises it.
"""

from __future__ import annotations

from collections.abc import Sequence

from attackkg.queries import telemetry
from attackkg.queries.layer import GREEN, RED, YELLOW, build_layer

SCORE = {telemetry.NOW: 2, telemetry.MORE: 1, telemetry.NO_RULE: 0}


def build_telemetry_layer(
    target,
    profile_arguments: Sequence[str] | None,
    group: str | None = None,
    domain: str = "enterprise",
    direct_only: bool = False,
    data: telemetry.TelemetryData | None = None,
) -> dict:
    """The layer as a JSON-ready dict; ``profile_arguments`` as ``--telemetry`` takes them (names or one file)."""
    data = data if data is not None else telemetry.load_telemetry(target)
    profile = telemetry.profile_of(profile_arguments, data.catalog)
    layer = build_layer(target, "combined", group=group, domain=domain, direct_only=direct_only)
    wanted = {entry["techniqueID"] for entry in layer["techniques"]}
    states = {s.attack_id: s for s in telemetry.coverage(data, profile, wanted)}
    for entry in layer["techniques"]:
        state = states.get(entry["techniqueID"])
        if state is None:
            continue
        entry["score"] = SCORE[state.state]
        entry["comment"] = _comment(state)
        entry["metadata"] = [
            {"name": "state", "value": state.label},
            {"name": "Sigma rules fed", "value": str(len(state.fed))},
            {"name": "Sigma rules not fed", "value": str(len(state.unfed))},
            {"name": "testable (Atomic tests)", "value": str(state.atomic_tests)},
        ]
    counts = telemetry.state_counts(states.values())
    what = f"coverage state under the telemetry profile {profile.describe()}"
    layer["name"] = layer["name"].replace("coverage by kind (combined)", f"telemetry coverage ({profile.describe()})")
    rest = layer["description"].partition(". ")[2]
    layer["description"] = (
        f"Score: {what}: 2 detectable now (a Sigma rule the profile feeds), 1 detectable with more telemetry, "
        f"0 no rule. {', '.join(f'{counts[k]} {telemetry.STATE_LABELS[k]}' for k in telemetry.STATES)}; "
        f"{counts['testable']} testable (an Atomic test exists). {rest}"
    )
    layer["metadata"][0] = {"name": "score", "value": what}
    layer["metadata"].insert(1, {"name": "telemetry", "value": profile.describe()})
    layer["gradient"] = {"colors": [RED, YELLOW, GREEN], "minValue": 0, "maxValue": 2}
    layer["legendItems"] = [
        {"label": label, "color": colour[:7]}
        for label, colour in (
            (telemetry.STATE_LABELS[telemetry.NO_RULE], RED),
            (telemetry.STATE_LABELS[telemetry.MORE], YELLOW),
            (telemetry.STATE_LABELS[telemetry.NOW], GREEN),
        )
    ]
    return layer


def _comment(state: telemetry.TechniqueState) -> str:
    text = state.label
    if state.state == telemetry.NOW:
        text += f": {len(state.fed)} of {len(state.fed) + len(state.unfed)} Sigma rules fed"
    elif state.state == telemetry.MORE:
        needed = state.needed_providers()
        text += f": {len(state.unfed)} Sigma rules, fed by " + (", ".join(needed) if needed else "no known source")
    elif state.log_sources:
        names = sorted({s.name for s in state.log_sources})
        text += "; ATT&CK's analytics name " + ", ".join(names[:8]) + (" ..." if len(names) > 8 else "")
    return text + ("; testable" if state.testable else "; no Atomic test")
