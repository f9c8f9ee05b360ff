"""What changed between two stores: per source, triples added and removed, and in users' terms.

``diff_stores(old, new)`` opens two built stores read-only and pairs their named graphs by source:
the metadata graph says each graph's kind; a source graph is paired by its IRI without the
release segment (``.../graph/attack/enterprise-attack/18.0`` with ``.../18.1``: kind ``attack``,
domain ``enterprise-attack``; ``.../graph/d3fend/0.17.0`` with ``.../1.2.0``), a derived graph by
its whole IRI (``.../graph/derived/countermeasures``). Each pair gets:

- **triples added and removed**, as sets of triples. Blank nodes (D3FEND's ``owl:Restriction``
  nodes; the builder labels them per release, ``d3fend_1_2_0_b17``) are compared by structure:
  each is named by a hash of its surroundings (colour refinement over its incoming and outgoing
  edges, the same number of rounds for both graphs), so an unchanged restriction is no change.
  Blank nodes that nothing tells apart (two identical restrictions on the same class) count once.
  The blank-node part is also given on its own (``blank_triples_added``/``removed``). A graph
  only one store has, without blank nodes, is counted in that store rather than read (the
  Sigma, Atomic, CTID and CAR graphs of a newer store: the full-data diff 19 s -> 16.5 s).
- **ATT&CK** (kind ``attack``; ``a akg:Technique``, sub-techniques included, matched by IRI, the
  ATT&CK URL): techniques added and removed; renamed (``rdfs:label`` changed); revoked and
  deprecated (``akg:revoked`` / ``owl:deprecated`` true now, false or absent before; revoked ones
  with ``akg:revokedBy``); moved between tactics (the set of ``akg:tactic`` changed); updated
  (``owl:versionInfo``, ATT&CK's object version, changed).
- **countermeasures** (the derived graph ``COUNTERMEASURES_GRAPH`` of
  ``builders/countermeasures.py``): mappings gained and lost, as (technique, D3FEND defensive
  technique) pairs of ``akg:counteredBy`` (D3FEND's artifact inference) and, apart, of
  ``akg:counteredByViaMitigation`` (through an ATT&CK mitigation D3FEND relates).
- **Sigma** (``a akg:SigmaRule``, by rule id): rules added, removed, changed status (``akg:status``).
- **Atomic Red Team** (``a akg:AtomicTest``, by GUID): tests added and removed.

``to_markdown`` (a Jinja2 template, ``templates/diff.md.j2``) and ``to_json`` render the result
(``attack-kg diff OLD NEW``); :mod:`attackkg.queries.diff_changes` reads the changes in users' terms.
"""

from __future__ import annotations

import hashlib
import os
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
import rdflib

from attackkg.ontology.namespaces import AKG, COUNTERMEASURES_GRAPH, GRAPH, METADATA_GRAPH, VOID
from attackkg.queries.diff_changes import (
    GraphView,
    Triple,
    atomic_changes,
    attack_changes,
    countermeasure_changes,
    d3fend_changes,
    sigma_changes,
)
from attackkg.queries.pages import render_template

MAX_ROUNDS = 64

# What each change list is called in the Markdown report, and its columns.
SECTIONS = {
    "techniques_added": ("Techniques added", ["id", "name", "tactics"]),
    "techniques_removed": ("Techniques removed", ["id", "name", "tactics"]),
    "techniques_renamed": ("Techniques renamed", ["id", "old_name", "new_name"]),
    "techniques_revoked": ("Techniques revoked", ["id", "name", "revoked_by"]),
    "techniques_deprecated": ("Techniques deprecated", ["id", "name"]),
    "techniques_moved": ("Techniques moved between tactics", ["id", "name", "tactics_removed", "tactics_added"]),
    "techniques_changed": ("Techniques whose triples changed", ["id", "name", "changed"]),
    "mappings_gained": ("Countermeasure mappings gained", ["technique", "countermeasure", "label"]),
    "mappings_lost": ("Countermeasure mappings lost", ["technique", "countermeasure", "label"]),
    "mitigation_mappings_gained": (
        "Countermeasure mappings via ATT&CK mitigations gained",
        ["technique", "countermeasure", "label"],
    ),
    "mitigation_mappings_lost": (
        "Countermeasure mappings via ATT&CK mitigations lost",
        ["technique", "countermeasure", "label"],
    ),
    "d3fend_techniques_gained": ("D3FEND techniques gained", ["id", "label", "term"]),
    "d3fend_techniques_lost": ("D3FEND techniques lost", ["id", "label", "term"]),
    "d3fend_techniques_reidentified": (
        "D3FEND techniques re-identified (same term, new D3FEND ID)",
        ["term", "label", "old_id", "new_id"],
    ),
    "rules_added": ("Sigma rules added", ["id", "title", "status"]),
    "rules_removed": ("Sigma rules removed", ["id", "title", "status"]),
    "rules_status_changed": ("Sigma rules that changed status", ["id", "title", "old_status", "new_status"]),
    "tests_added": ("Atomic tests added", ["guid", "technique", "name"]),
    "tests_removed": ("Atomic tests removed", ["guid", "technique", "name"]),
}
KIND_TITLES = {"attack": "ATT&CK", "d3fend": "D3FEND", "sigma": "Sigma", "atomic": "Atomic Red Team"}

# A store folder, or a store already open (a pyoxigraph Store, or an rdflib Dataset over one).
StoreLike = str | os.PathLike | ox.Store | rdflib.Dataset


@dataclass
class GraphInfo:
    """One named graph of a store, as its metadata graph describes it."""

    iri: str
    kind: str
    version: str | None
    triples: int | None  # void:triples of the metadata graph

    @property
    def key(self) -> str:
        """What pairs it with its counterpart: the IRI below ``graph/`` without the release."""
        tail = self.iri[len(GRAPH) :] if self.iri.startswith(GRAPH) else self.iri
        parts = tail.split("/")
        if self.kind == "derived" or len(parts) < 2:
            return tail
        return "/".join(parts[:-1])


@dataclass
class SourceDiff:
    """The changes of one source between the two stores."""

    key: str
    kind: str
    old: GraphInfo | None
    new: GraphInfo | None
    triples_added: int = 0
    triples_removed: int = 0
    blank_triples_added: int = 0
    blank_triples_removed: int = 0
    changes: dict[str, list[dict]] = field(default_factory=dict)

    @property
    def title(self) -> str:
        if self.kind == "derived":
            name = "Countermeasures (derived)" if self.key.endswith("countermeasures") else f"Derived {self.key}"
        else:
            parts = self.key.split("/")
            name = " ".join([KIND_TITLES.get(self.kind, self.kind), *parts[1:]])
        old = self.old.version if self.old else None
        new = self.new.version if self.new else None
        if old == new:
            return f"{name} {old or ''}".strip()
        return f"{name} {old or '(none)'} → {new or '(none)'}"

    def counts(self) -> dict[str, int]:
        return {name: len(items) for name, items in self.changes.items()}


@dataclass
class StoreDiff:
    old: str
    new: str
    sources: list[SourceDiff]

    def to_json(self) -> dict:
        """Plain data: per source, versions, triple counts, change counts and the changes."""
        return {
            "old": self.old,
            "new": self.new,
            "sources": [
                {
                    "key": s.key,
                    "kind": s.kind,
                    "title": s.title,
                    "old_graph": s.old.iri if s.old else None,
                    "new_graph": s.new.iri if s.new else None,
                    "old_version": s.old.version if s.old else None,
                    "new_version": s.new.version if s.new else None,
                    "triples_added": s.triples_added,
                    "triples_removed": s.triples_removed,
                    "blank_triples_added": s.blank_triples_added,
                    "blank_triples_removed": s.blank_triples_removed,
                    "counts": s.counts(),
                    "changes": s.changes,
                }
                for s in self.sources
            ],
        }

    def to_markdown(self, limit: int | None = 50) -> str:
        """A Markdown report (``templates/diff.md.j2``); each list cut at ``limit`` rows (None or 0: all)."""
        return render_template(
            "diff.md.j2", old=self.old, new=self.new, sources=[_shown(s, limit) for s in self.sources]
        )


def _shown(s: SourceDiff, limit: int | None) -> dict:
    """What the report shows of one source: its lines, each change list cut at ``limit`` rows."""
    counts = s.counts()
    where = f"old graph `{s.old.iri}`" if s.old else "not in the old store"
    where += "; " + (f"new graph `{s.new.iri}`" if s.new else "not in the new store")
    sections = []
    for name, items in s.changes.items():
        if items:
            heading, columns = SECTIONS[name]
            shown = items if not limit else items[:limit]
            rows = [[item.get(c) for c in columns] for item in shown]
            sections.append(
                {
                    "heading": heading,
                    "columns": columns,
                    "rows": rows,
                    "total": len(items),
                    "more": len(items) - len(shown),
                }
            )
    return {
        "title": s.title,
        "summary": ", ".join(f"{n} {_lower_first(SECTIONS[k][0])}" for k, n in counts.items() if n) or "none",
        "where": where,
        "unchanged": not (s.triples_added or s.triples_removed or any(counts.values())),
        "triples_added": s.triples_added,
        "triples_removed": s.triples_removed,
        "blank_triples_added": s.blank_triples_added,
        "blank_triples_removed": s.blank_triples_removed,
        "counts": [(SECTIONS[name][0], len(items)) for name, items in s.changes.items()],
        "sections": sections,
    }


def _lower_first(text: str) -> str:
    first = text.split(" ", 1)[0]
    return text if first.isupper() else text[:1].lower() + text[1:]  # "D3FEND ..." and "ATT&CK ..." keep theirs


# --- the diff --------------------------------------------------------------------------------------


def diff_stores(old: StoreLike, new: StoreLike) -> StoreDiff:
    """Compare two built stores: folders, or stores already open (a pyoxigraph Store, or an rdflib
    Dataset over one, such as :func:`~attackkg.builders.build.build_dataset` makes in memory);
    raises the store's InputError when a folder holds no store."""
    from attackkg.builders.store import as_store

    old_store, new_store = as_store(old), as_store(new)
    old_graphs, new_graphs = graphs(old_store), graphs(new_store)
    result = StoreDiff(old=_name(old), new=_name(new), sources=[])
    for old_graph, new_graph in pair(old_graphs, new_graphs):
        result.sources.append(diff_graphs(old_store, old_graph, new_store, new_graph))
    return result


def _name(store: StoreLike) -> str:
    """A store as the report names it: its folder, or what it is."""
    return str(Path(store)) if isinstance(store, (str, os.PathLike)) else f"(an open {type(store).__name__})"


def graphs(store: ox.Store) -> list[GraphInfo]:
    """The store's named graphs but the metadata graph, with kind and version from it."""
    meta = ox.NamedNode(METADATA_GRAPH)
    kinds = _values(store, ox.NamedNode(AKG + "sourceKind"), meta)
    versions = _values(store, ox.NamedNode(AKG + "sourceVersion"), meta)
    counts = _values(store, ox.NamedNode(VOID + "triples"), meta)
    out = []
    for graph in store.named_graphs():
        if graph.value == METADATA_GRAPH:
            continue
        tail = graph.value[len(GRAPH) :] if graph.value.startswith(GRAPH) else graph.value
        kind = kinds.get(graph.value) or tail.split("/")[0]
        count = counts.get(graph.value)
        out.append(GraphInfo(graph.value, kind, versions.get(graph.value), int(count) if count else None))
    return sorted(out, key=lambda g: (_KIND_ORDER.get(g.kind, 9), g.key, g.iri))


_KIND_ORDER = {"attack": 0, "d3fend": 1, "derived": 2, "sigma": 3, "atomic": 4}


def _values(store: ox.Store, predicate: ox.NamedNode, graph: ox.NamedNode) -> dict[str, str]:
    return {q.subject.value: q.object.value for q in store.quads_for_pattern(None, predicate, None, graph)}


def pair(old: list[GraphInfo], new: list[GraphInfo]) -> Iterator[tuple[GraphInfo | None, GraphInfo | None]]:
    """Old and new graphs paired by key; where a key has several graphs, by IRI; else alone."""
    by_key: dict[str, tuple[list[GraphInfo], list[GraphInfo]]] = defaultdict(lambda: ([], []))
    for g in old:
        by_key[g.key][0].append(g)
    for g in new:
        by_key[g.key][1].append(g)

    def order(key: str) -> tuple[int, str]:
        olds, news = by_key[key]
        return min(_KIND_ORDER.get(g.kind, 9) for g in (*olds, *news)), key

    for key in sorted(by_key, key=order):
        olds, news = by_key[key]
        if len(olds) == 1 and len(news) == 1:
            yield olds[0], news[0]
            continue
        new_by_iri = {g.iri: g for g in news}
        for g in olds:
            yield g, new_by_iri.pop(g.iri, None)
        for g in new_by_iri.values():
            yield None, g


def diff_graphs(old_store: ox.Store, old: GraphInfo | None, new_store: ox.Store, new: GraphInfo | None) -> SourceDiff:
    """One pair of graphs (either may be None: a source only in one store)."""
    some = new or old
    assert some is not None
    result = SourceDiff(key=some.key, kind=some.kind, old=old, new=new)
    only = _one_sided_count(old_store, old, new_store, new) if some.kind != "attack" else None
    if only is not None:  # every triple added (or removed): counted, not read
        added = removed = frozenset()
        result.triples_added, result.triples_removed = (only, 0) if old is None else (0, only)
    else:
        added, removed = triple_diff(old_store, old, new_store, new)
        result.triples_added, result.triples_removed = len(added), len(removed)
        result.blank_triples_added = sum(1 for t in added if _has_blank(t))
        result.blank_triples_removed = sum(1 for t in removed if _has_blank(t))
    old_view = GraphView(old_store, old.iri if old else None)
    new_view = GraphView(new_store, new.iri if new else None)
    if some.kind == "attack":
        result.changes = attack_changes(old_view, new_view, added, removed)
    elif some.kind == "derived" and some.iri == COUNTERMEASURES_GRAPH:
        result.changes = countermeasure_changes(old_view, new_view)
    elif some.kind == "d3fend":
        result.changes = d3fend_changes(old_view, new_view)
    elif some.kind == "sigma":
        result.changes = sigma_changes(old_view, new_view)
    elif some.kind == "atomic":
        result.changes = atomic_changes(old_view, new_view)
    return result


def _one_sided_count(
    old_store: ox.Store, old: GraphInfo | None, new_store: ox.Store, new: GraphInfo | None
) -> int | None:
    """The triple count of a graph only one store has, when it has no blank node (then every
    triple is added, or removed, and counting them in the store is enough); None otherwise. A
    graph with blank nodes is read and canonicalised, since indistinguishable ones count once."""
    if (old is None) == (new is None):
        return None
    store, graph = (new_store, new) if old is None else (old_store, old)
    row = next(
        iter(
            store.query(
                f"SELECT (COUNT(*) AS ?n) (SUM(IF(isBlank(?s) || isBlank(?o), 1, 0)) AS ?blank) "
                f"WHERE {{ GRAPH <{graph.iri}> {{ ?s ?p ?o }} }}"
            )
        )
    )
    blank = row["blank"]
    return int(row["n"].value) if blank is None or int(blank.value) == 0 else None


def triple_diff(
    old_store: ox.Store, old: GraphInfo | None, new_store: ox.Store, new: GraphInfo | None
) -> tuple[set[Triple], set[Triple]]:
    """Triples added and removed, in N-Triples form; blank nodes compared by structure.

    The graphs are read as N-Triples lines (Oxigraph's dump, the fastest way out of the store);
    when either holds a blank node, as terms, renamed by :func:`canonical_pair`.
    """
    old_dump, new_dump = _dump(old_store, old), _dump(new_store, new)
    if b"_:" not in old_dump and b"_:" not in new_dump:
        old_lines, new_lines = set(old_dump.splitlines()), set(new_dump.splitlines())
        return {_split(line) for line in new_lines - old_lines}, {_split(line) for line in old_lines - new_lines}
    old_set, new_set = canonical_pair(_triples(old_store, old), _triples(new_store, new))
    return new_set - old_set, old_set - new_set


def _dump(store: ox.Store, graph: GraphInfo | None) -> bytes:
    if graph is None:
        return b""
    return store.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=ox.NamedNode(graph.iri))


def _split(line: bytes) -> Triple:
    """An N-Triples line without blank nodes: subject and predicate are IRIs, so no spaces."""
    subject, predicate, rest = line.decode("utf-8").split(" ", 2)
    return subject, predicate, rest.removesuffix(" .").rstrip()


def _triples(store: ox.Store, graph: GraphInfo | None) -> list[Triple]:
    if graph is None:
        return []
    name = ox.NamedNode(graph.iri)
    return [(str(q.subject), str(q.predicate), str(q.object)) for q in store.quads_for_pattern(None, None, None, name)]


def _has_blank(triple: tuple[str, str, str]) -> bool:
    return triple[0].startswith("_:") or triple[2].startswith("_:")


# --- blank nodes compared by structure ------------------------------------------------------------


def canonical_pair(
    old: list[tuple[str, str, str]], new: list[tuple[str, str, str]]
) -> tuple[set[tuple[str, str, str]], set[tuple[str, str, str]]]:
    """Both graphs as sets of N-Triples term tuples, blank nodes renamed by structure.

    Colour refinement: a blank node's colour is a hash of its edges (predicate and the other end:
    an IRI or literal as itself, a blank node by its colour), in and out, repeated until the
    partition of either graph stops getting finer, with the same number of rounds for both so
    that the same structure gets the same name in each.
    """
    rounds = max(_rounds_needed(old), _rounds_needed(new))
    return _renamed(old, rounds), _renamed(new, rounds)


def _edges(triples: list[tuple[str, str, str]]) -> dict[str, list[tuple[str, str, str]]]:
    edges: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    for s, p, o in triples:
        if s.startswith("_:"):
            edges[s].append(("out", p, o))
        if o.startswith("_:"):
            edges[o].append(("in", p, s))
    return edges


def _refine(edges: dict[str, list[tuple[str, str, str]]], colour: dict[str, str]) -> dict[str, str]:
    new = {}
    for node, links in edges.items():
        signature = sorted(f"{d}\x1f{p}\x1f{colour.get(other, other)}" for d, p, other in links)
        new[node] = hashlib.sha1("\x1e".join(signature).encode("utf-8")).hexdigest()
    return new


def _rounds_needed(triples: list[tuple[str, str, str]]) -> int:
    edges = _edges(triples)
    if not edges:
        return 0
    colour = dict.fromkeys(edges, "")
    classes = 1
    for rounds in range(1, MAX_ROUNDS + 1):
        colour = _refine(edges, colour)
        finer = len(set(colour.values()))
        if finer == classes:
            return rounds
        classes = finer
    return MAX_ROUNDS


def _renamed(triples: list[tuple[str, str, str]], rounds: int) -> set[tuple[str, str, str]]:
    edges = _edges(triples)
    if not edges:
        return set(triples)
    colour = dict.fromkeys(edges, "")
    for _ in range(rounds):
        colour = _refine(edges, colour)
    name = {node: f"_:c{value[:24]}" for node, value in colour.items()}
    return {(name.get(s, s), p, name.get(o, o)) for s, p, o in triples}
