"""The named SPARQL query library (``queries/*.rq``) and the Python API to run it.

Each ``.rq`` file starts with a comment header::

    # summary: D3FEND countermeasures of a technique, one row per inferred mapping
    # param technique: ATT&CK technique ID (T1204.001); optional, all techniques when absent
    # columns: attack_id, d3fend_id, ...

A parameter ``technique`` binds the query variable ``?technique``. Values are bound as RDF
terms (pyoxigraph substitutions, rdflib initBindings), never pasted into the query text, so no
value can change what the query does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import pyoxigraph as ox
import rdflib

from attackkg.builders.base import InputError
from attackkg.ontology.namespaces import PREFIXES

_HEADER = re.compile(r"^#\s*(summary|param|columns)\s*([\w-]*)\s*:\s*(.*)$")
_UPDATE = re.compile(r"^\s*(INSERT|DELETE|LOAD|CLEAR|CREATE|DROP|COPY|MOVE|ADD|WITH)\b", re.IGNORECASE | re.MULTILINE)


@dataclass
class NamedQuery:
    """A query of the library: its text and what its header says."""

    name: str
    text: str
    summary: str = ""
    params: dict[str, str] = field(default_factory=dict)
    columns: list[str] = field(default_factory=list)
    path: str | None = None


def parse_query(name: str, text: str, path: str | None = None) -> NamedQuery:
    """Read the comment header of a query (summary, params, columns)."""
    query = NamedQuery(name=name, text=text, path=path)
    for line in text.splitlines():
        if not line.startswith("#"):
            if line.strip():
                break
            continue
        match = _HEADER.match(line)
        if not match:
            continue
        key, param, value = match.groups()
        if key == "summary":
            query.summary = value.strip()
        elif key == "param" and param:
            query.params[param] = value.strip()
        elif key == "columns":
            query.columns = [c.strip() for c in value.split(",") if c.strip()]
    return query


def library() -> dict[str, NamedQuery]:
    """Every named query shipped in ``queries/``, by name (file name without ``.rq``)."""
    root = resources.files(__name__)
    found = {}
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".rq"):
            name = entry.name[: -len(".rq")]
            found[name] = parse_query(name, entry.read_text(encoding="utf-8"), path=entry.name)
    return found


def resolve(name_or_path: str) -> NamedQuery:
    """A named query, a ``.rq`` file, or ``-`` for standard input."""
    queries = library()
    if name_or_path in queries:
        return queries[name_or_path]
    if name_or_path == "-":
        import sys

        return parse_query("<stdin>", sys.stdin.read(), path="<stdin>")
    path = Path(name_or_path)
    if path.suffix == ".rq" or path.exists():
        try:
            return parse_query(path.stem, path.read_text(encoding="utf-8"), path=str(path))
        except OSError as error:
            raise InputError(f"cannot read the query: {error.strerror}", path=path) from None
    known = ", ".join(queries) or "(none)"
    raise InputError(f"no query named {name_or_path!r}; the library has: {known}")


def _check_read_only(query: NamedQuery) -> None:
    body = "\n".join(line for line in query.text.splitlines() if not line.lstrip().startswith("#"))
    if _UPDATE.search(body):
        raise InputError("SPARQL Update is refused: attack-kg only reads the graph", path=query.path)


def bindings(query: NamedQuery, params: dict[str, str]) -> dict[str, str]:
    """Check ``params`` against the query's declared parameters; returns them unchanged."""
    unknown = sorted(set(params) - set(query.params))
    if unknown and query.params:
        raise InputError(
            f"query {query.name} has no parameter {unknown[0]!r}; it takes: {', '.join(query.params)}",
            path=query.path,
        )
    return params


def run(target: ox.Store | rdflib.Dataset, query: NamedQuery | str, **params: str) -> rdflib.query.Result:
    """Run a named query (or a NamedQuery) on a store, with parameters bound as literals.

    Returns an rdflib ``Result`` (rows for SELECT, a graph for CONSTRUCT/DESCRIBE, a boolean
    for ASK), which serializes to the W3C SPARQL results formats.
    """
    if isinstance(query, str):
        query = resolve(query)
    _check_read_only(query)
    values = bindings(query, params)
    store = target if isinstance(target, ox.Store) else target.store._inner
    prefixes = {prefix: str(iri) for prefix, iri in PREFIXES.items()}
    try:
        answer = store.query(
            query.text,
            use_default_graph_as_union=True,
            prefixes=prefixes,
            substitutions={ox.Variable(name): ox.Literal(value) for name, value in values.items()},
        )
    except SyntaxError as error:
        raise InputError(f"SPARQL syntax error: {error}", path=query.path) from None
    return to_rdflib(answer)


def to_rdflib(answer) -> rdflib.query.Result:
    """A pyoxigraph query answer as an rdflib Result (what rdflib's serializers take)."""
    from oxrdflib._converter import from_ox

    if isinstance(answer, ox.QueryBoolean):
        result = rdflib.query.Result("ASK")
        result.askAnswer = bool(answer)
    elif isinstance(answer, ox.QuerySolutions):
        result = rdflib.query.Result("SELECT")
        result.vars = [rdflib.Variable(v.value) for v in answer.variables]
        result.bindings = [
            {var: from_ox(value) for var, value in zip(result.vars, row) if value is not None} for row in answer
        ]
    else:
        result = rdflib.query.Result("CONSTRUCT")
        result.graph = rdflib.Graph()
        for prefix, iri in PREFIXES.items():
            result.graph.bind(prefix, iri)
        result.graph += (from_ox(t) for t in answer)
    return result


def rows(target: ox.Store | rdflib.Dataset, query: NamedQuery | str, **params: str) -> list[dict[str, object]]:
    """Run a query and return its rows as dicts of Python values (for notebooks and tables)."""
    result = run(target, query, **params)
    return [{str(var): value.toPython() for var, value in row.items()} for row in result.bindings]
