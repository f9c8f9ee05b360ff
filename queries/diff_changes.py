"""What changed in users' terms, per kind of source (the second half of ``attack-kg diff``).

Each function compares one graph of the old store with its counterpart in the new one, through
a :class:`GraphView` of each (a view of nothing when the source is in one store only):
ATT&CK techniques added, removed, renamed, revoked, deprecated, moved between tactics and
changed; countermeasure mappings gained and lost; Sigma rules added, removed and changed status;
Atomic tests added and removed. :mod:`attackkg.queries.diff` says what each counts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import pyoxigraph as ox

from attackkg.ontology.namespaces import AKG, ATTACK, DCTERMS, OWL, PREFIXES, RDF, RDFS

LABEL = ox.NamedNode(RDFS + "label")
Triple = tuple[str, str, str]  # N-Triples forms of subject, predicate, object


class GraphView:
    """Reads one graph of one store (or nothing, when the source is not in that store: ``graph`` None)."""

    def __init__(self, store: ox.Store, graph: str | None) -> None:
        self.store = store
        self.graph = ox.NamedNode(graph) if graph else None

    def quads(self, subject=None, predicate: str | None = None, obj=None) -> Iterable[ox.Quad]:
        if self.graph is None:
            return ()
        p = ox.NamedNode(predicate) if predicate else None
        return self.store.quads_for_pattern(subject, p, obj, self.graph)

    def of_type(self, cls: str) -> set[str]:
        return {q.subject.value for q in self.quads(None, RDF + "type", ox.NamedNode(cls))}

    def values(self, predicate: str) -> dict[str, set[str]]:
        out: dict[str, set[str]] = defaultdict(set)
        for q in self.quads(None, predicate):
            out[q.subject.value].add(q.object.value)
        return out

    def pairs(self, predicate: str) -> set[tuple[str, str]]:
        return {(q.subject.value, q.object.value) for q in self.quads(None, predicate)}

    def labels_anywhere(self, iris: Iterable[str]) -> dict[str, str]:
        """``rdfs:label`` of each IRI in any graph of the store (D3FEND labels for the derived graph)."""
        out = {}
        for value in iris:
            for q in self.store.quads_for_pattern(ox.NamedNode(value), LABEL, None, None):
                out[value] = q.object.value
                break
        return out


def _one(values: set[str] | None) -> str | None:
    return " / ".join(sorted(values)) if values else None


def attack_changes(
    old: GraphView, new: GraphView, added: set[Triple] = frozenset(), removed: set[Triple] = frozenset()
) -> dict[str, list[dict]]:
    """Techniques added, removed, renamed, revoked, deprecated, moved between tactics, and every
    technique in both whose own triples changed (``added``/``removed``: the graph's triple diff)
    with the properties that changed (``(incoming)``: an edge to it, ``<G> akg:uses <T>``)."""
    technique = AKG + "Technique"
    before, after = old.of_type(technique), new.of_type(technique)
    facts = {}
    for name, view in (("old", old), ("new", new)):
        labels = view.values(RDFS + "label")
        facts[name] = {
            "id": view.values(AKG + "attackId"),
            "name": labels,
            "tactic": {t: {_one(labels.get(x)) or x for x in v} for t, v in view.values(AKG + "tactic").items()},
            "revoked": {s for s, v in view.values(AKG + "revoked").items() if "true" in v},
            "deprecated": {s for s, v in view.values(OWL + "deprecated").items() if "true" in v},
            "revoked_by": view.values(AKG + "revokedBy"),
        }
    o, n = facts["old"], facts["new"]

    def ident(iri: str) -> str:
        return _one(n["id"].get(iri) or o["id"].get(iri)) or attack_id_of(iri)

    def name(iri: str, side: dict = n) -> str | None:
        return _one(side["name"].get(iri))

    def row(iri: str, **extra) -> dict:
        return {"id": ident(iri), "iri": iri, **extra}

    both = sorted(before & after, key=lambda i: _id_order(ident(i)))
    terms = {f"<{i}>": i for i in both}
    touched: dict[str, set[str]] = defaultdict(set)
    for subject, predicate, obj in (*added, *removed):
        if subject in terms:
            touched[terms[subject]].add(_curie(predicate))
        if obj in terms:
            touched[terms[obj]].add(_curie(predicate) + " (incoming)")
    changes: dict[str, list[dict]] = {
        "techniques_added": [
            row(i, name=name(i), tactics=sorted(n["tactic"].get(i, ())))
            for i in sorted(after - before, key=lambda i: _id_order(ident(i)))
        ],
        "techniques_removed": [
            row(i, name=name(i, o), tactics=sorted(o["tactic"].get(i, ())))
            for i in sorted(before - after, key=lambda i: _id_order(ident(i)))
        ],
        "techniques_renamed": [
            row(i, old_name=name(i, o), new_name=name(i)) for i in both if o["name"].get(i) != n["name"].get(i)
        ],
        "techniques_revoked": [
            row(i, name=name(i), revoked_by=sorted(ident(t) for t in n["revoked_by"].get(i, ())))
            for i in both
            if i in n["revoked"] and i not in o["revoked"]
        ],
        "techniques_deprecated": [
            row(i, name=name(i)) for i in both if i in n["deprecated"] and i not in o["deprecated"]
        ],
        "techniques_moved": [
            row(
                i,
                name=name(i),
                tactics_removed=sorted(o["tactic"].get(i, set()) - n["tactic"].get(i, set())),
                tactics_added=sorted(n["tactic"].get(i, set()) - o["tactic"].get(i, set())),
            )
            for i in both
            if o["tactic"].get(i, set()) != n["tactic"].get(i, set())
        ],
        "techniques_changed": [row(i, name=name(i), changed=sorted(touched[i])) for i in both if i in touched],
    }
    return changes


def countermeasure_changes(old: GraphView, new: GraphView) -> dict[str, list[dict]]:
    """(technique, defensive technique) pairs gained and lost, per inference path."""
    changes: dict[str, list[dict]] = {}
    for predicate, gained, lost in (
        ("counteredBy", "mappings_gained", "mappings_lost"),
        ("counteredByViaMitigation", "mitigation_mappings_gained", "mitigation_mappings_lost"),
    ):
        before, after = old.pairs(AKG + predicate), new.pairs(AKG + predicate)
        plus, minus = after - before, before - after
        labels = {**old.labels_anywhere({d for _, d in minus}), **new.labels_anywhere({d for _, d in plus})}
        for name, found in ((gained, plus), (lost, minus)):
            changes[name] = [
                {"technique": attack_id_of(t), "countermeasure": _d3f_local(d), "label": labels.get(d), "iri": d}
                for t, d in sorted(found, key=lambda p: (_id_order(attack_id_of(p[0])), p[1]))
            ]
    return changes


def d3fend_changes(old: GraphView, new: GraphView) -> dict[str, list[dict]]:
    """D3FEND techniques (terms with a ``d3f:d3fend-id``) gained, lost, and re-identified: the same
    term with a new ID (since 1.3.0 D3FEND derives IDs from labels, so a rename changes the ID:
    ``d3f:ChangeDefaultPassword`` D3-CFP in 1.2.0, D3-CDP in 1.3.0)."""
    d3fend_id = "http://d3fend.mitre.org/ontologies/d3fend.owl#d3fend-id"
    before, after = old.values(d3fend_id), new.values(d3fend_id)
    o_label, n_label = old.values(RDFS + "label"), new.values(RDFS + "label")

    def row(term: str, ids: dict[str, set[str]], labels: dict[str, set[str]]) -> dict:
        return {"id": _one(ids.get(term)), "label": _one(labels.get(term)), "term": _d3f_local(term)}

    def by_id(rows: Iterable[dict]) -> list[dict]:
        return sorted(rows, key=lambda r: (r["id"] or "", r["term"]))

    return {
        "d3fend_techniques_gained": by_id(row(t, after, n_label) for t in after.keys() - before.keys()),
        "d3fend_techniques_lost": by_id(row(t, before, o_label) for t in before.keys() - after.keys()),
        "d3fend_techniques_reidentified": [
            {"term": _d3f_local(t), "label": _one(n_label.get(t)), "old_id": _one(before[t]), "new_id": _one(after[t])}
            for t in sorted(before.keys() & after.keys(), key=_d3f_local)
            if before[t] != after[t]
        ],
    }


def sigma_changes(old: GraphView, new: GraphView) -> dict[str, list[dict]]:
    """Rules added, removed, and those whose ``status`` changed (by rule id)."""
    cls = AKG + "SigmaRule"
    before, after = old.of_type(cls), new.of_type(cls)
    o_status, n_status = old.values(AKG + "status"), new.values(AKG + "status")
    o_title, n_title = old.values(RDFS + "label"), new.values(RDFS + "label")
    o_id, n_id = old.values(DCTERMS + "identifier"), new.values(DCTERMS + "identifier")

    def row(iri: str, titles, ids, status) -> dict:
        return {"id": _one(ids.get(iri)) or iri, "title": _one(titles.get(iri)), "status": _one(status.get(iri))}

    return {
        "rules_added": sorted((row(i, n_title, n_id, n_status) for i in after - before), key=lambda r: r["id"]),
        "rules_removed": sorted((row(i, o_title, o_id, o_status) for i in before - after), key=lambda r: r["id"]),
        "rules_status_changed": sorted(
            (
                {
                    "id": _one(n_id.get(i)) or i,
                    "title": _one(n_title.get(i)),
                    "old_status": _one(o_status.get(i)),
                    "new_status": _one(n_status.get(i)),
                }
                for i in before & after
                if o_status.get(i) != n_status.get(i)
            ),
            key=lambda r: r["id"],
        ),
    }


def atomic_changes(old: GraphView, new: GraphView) -> dict[str, list[dict]]:
    """Atomic tests added and removed (by GUID)."""
    cls = AKG + "AtomicTest"
    before, after = old.of_type(cls), new.of_type(cls)
    out = {}
    for name, view, found in (("tests_added", new, after - before), ("tests_removed", old, before - after)):
        names, emulates, ids = (
            view.values(RDFS + "label"),
            view.values(AKG + "emulates"),
            view.values(DCTERMS + "identifier"),
        )
        out[name] = sorted(
            (
                {
                    "guid": _one(ids.get(i)) or i,
                    "technique": ", ".join(sorted(attack_id_of(t) for t in emulates.get(i, ()))),
                    "name": _one(names.get(i)),
                }
                for i in found
            ),
            key=lambda r: (_id_order(r["technique"]), r["guid"]),
        )
    return out


def attack_id_of(iri: str) -> str:
    """``https://attack.mitre.org/techniques/T1204/001`` -> ``T1204.001`` (other IRIs unchanged)."""
    if not iri.startswith(ATTACK):
        return iri
    parts = iri[len(ATTACK) :].strip("/").split("/")
    if len(parts) == 3 and parts[2].isdigit():
        return f"{parts[1]}.{parts[2]}"
    return parts[-1]


def _id_order(attack_id: str) -> tuple:
    head, _, sub = attack_id.partition(".")
    digits = "".join(ch for ch in head if ch.isdigit())
    return (head.rstrip("0123456789"), int(digits) if digits else 0, sub, attack_id)


def _curie(term: str) -> str:
    """``<http://purl.org/dc/terms/modified>`` -> ``dcterms:modified``."""
    value = term.strip("<>")
    for prefix, namespace in PREFIXES.items():
        if value.startswith(namespace):
            return f"{prefix}:{value[len(namespace) :]}"
    return term


def _d3f_local(iri: str) -> str:
    return "d3f:" + iri.rsplit("#", 1)[-1] if "#" in iri else iri
