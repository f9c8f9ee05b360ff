"""The named SPARQL query library (``queries/*.rq``) and the Python API to run it.

Each ``.rq`` file starts with a comment header::

    # summary: D3FEND countermeasures of a technique, one row per inferred mapping
    # param technique: ATT&CK technique ID (T1204.001); optional, all techniques when absent
    # columns: attack_id, d3fend_id, ...

A parameter ``technique`` binds the query variable ``?technique`` to a plain literal. The value
goes into the query as one RDF term in a ``VALUES`` block at the start of the query's WHERE
group, written by pyoxigraph's N-Triples serializer (quotes, backslashes and line breaks
escaped), never pasted in as text: no value can change what the query does. The same prepared
text runs on the local store and on a remote endpoint, so both give the same rows. (pyoxigraph's
``substitutions`` are not used: its optimizer plans the query before they apply, so a bound
parameter is planned as unbound, which made the one-technique countermeasure query 40 times
slower, and ``BOUND(?param)`` folds to false; no remote server has them either.)

Queries are written for speed on Oxigraph: parameters in triple patterns, one triple pattern per
``OPTIONAL`` (nest them for a chain; a two-pattern OPTIONAL is evaluated for the whole store
and joined afterwards), no ``rdfs:subClassOf*`` over the ontology (read the derived graph).
And in SPARQL that Virtuoso 7.2 answers as Oxigraph does (the endpoint tests compare every
query): a parameter compared in a ``FILTER``, not joined through a ``BIND``; no optional path over
alternatives (``(p|^p)?``: a ``UNION``); no ``FILTER EXISTS`` on variables outside its
``OPTIONAL``; a transitive path over the ontology walked once, in a sub-select with a ``LIMIT``.

In Python (a notebook)::

    from attackkg.queries import open_dataset, rows
    rows(open_dataset(), "countermeasures", technique="T1204.001")

and against a SPARQL endpoint the same call with :class:`Endpoint` as the target.

This package is the read API in one place: besides the query functions defined here, it gives
(imported on first use, so that the CLI starts fast) the store (``open_store``,
``open_dataset``, ``as_dataset``, ``default_store_dir``), endpoints (``Endpoint``,
``endpoint``, ``publish``), the networkx graph (``to_networkx``, ``find_node``,
``neighbourhood``, ``nodes_of_kind``, ``draw``), paths and coverage (``countermeasure_paths``,
which is :func:`attackkg.queries.paths.paths`, ``techniques_of``, ``coverage_of``,
``set_cover``, ``artifact_centrality``, ``describe``, ``to_mermaid``, ``to_dot``,
``draw_paths``), coverage pages and layers (``load_coverage``, ``render_page``,
``build_layer``), exports (``export_store``, ``export_rdf``, ``write_graph``) and
``diff_stores``. The submodules (``paths``, ``graph``, ``report``, ``layer``, ``export``,
``diff``, ``endpoint``) stay importable by those names.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import pyoxigraph as ox

from attackkg.builders.base import InputError
from attackkg.ontology.identifiers import quoted
from attackkg.ontology.namespaces import PREFIXES

if TYPE_CHECKING:  # rdflib is imported when a result is built, to keep the CLI start fast
    import rdflib
    import rdflib.query

    from attackkg.builders.store import as_dataset, current_generation, default_store_dir, open_dataset, open_store
    from attackkg.queries.coverage_model import load_coverage
    from attackkg.queries.diff import diff_stores
    from attackkg.queries.drawing import draw
    from attackkg.queries.endpoint import Endpoint, endpoint, publish
    from attackkg.queries.export import export as export_store
    from attackkg.queries.export import export_rdf, write_graph
    from attackkg.queries.graph import find_node, neighbourhood, nodes_of_kind, to_networkx
    from attackkg.queries.layer import build_layer
    from attackkg.queries.path_formats import draw_paths, to_dot, to_mermaid
    from attackkg.queries.paths import artifact_centrality, describe, set_cover, techniques_of
    from attackkg.queries.paths import coverage as coverage_of
    from attackkg.queries.paths import paths as countermeasure_paths
    from attackkg.queries.report import render as render_page

# The read API of the other modules, imported when first asked for (PEP 562): name -> (module, attribute).
# None of these names is a submodule's, so ``attackkg.queries.paths`` stays the module.
_READ_API = {
    **dict.fromkeys(
        ("open_store", "open_dataset", "as_dataset", "default_store_dir", "current_generation"),
        "attackkg.builders.store",
    ),
    **dict.fromkeys(("Endpoint", "endpoint", "publish"), "attackkg.queries.endpoint"),
    **dict.fromkeys(("to_networkx", "find_node", "neighbourhood", "nodes_of_kind"), "attackkg.queries.graph"),
    "draw": "attackkg.queries.drawing",
    **dict.fromkeys(("techniques_of", "set_cover", "artifact_centrality", "describe"), "attackkg.queries.paths"),
    **dict.fromkeys(("to_mermaid", "to_dot", "draw_paths"), "attackkg.queries.path_formats"),
    "load_coverage": "attackkg.queries.coverage_model",
    "build_layer": "attackkg.queries.layer",
    "diff_stores": "attackkg.queries.diff",
    "export_rdf": "attackkg.queries.export",
    "write_graph": "attackkg.queries.export",
}
_RENAMED = {
    "countermeasure_paths": ("attackkg.queries.paths", "paths"),
    "coverage_of": ("attackkg.queries.paths", "coverage"),
    "render_page": ("attackkg.queries.report", "render"),
    "export_store": ("attackkg.queries.export", "export"),
}


def __getattr__(name: str) -> object:
    """The read API of the other modules, on first use (see the module docstring)."""
    import importlib

    if name in _READ_API:
        module, attribute = _READ_API[name], name
    elif name in _RENAMED:
        module, attribute = _RENAMED[name]
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_READ_API, *_RENAMED})


_HEADER = re.compile(r"^#\s*(summary|param|columns)\s*([\w-]*)\s*:\s*(.*)$")
VARNAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
QUERY_FORMS = ("SELECT", "CONSTRUCT", "DESCRIBE", "ASK")
UPDATE_KEYWORDS = frozenset(
    {"INSERT", "DELETE", "LOAD", "CLEAR", "CREATE", "DROP", "COPY", "MOVE", "ADD", "WITH", "USING"}
)

# SPARQL tokens, enough to find keywords and braces: comments, strings (four quote styles),
# IRIs, variables, words (keywords and prefixed names), brackets; anything else one character.
_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<comment>\#[^\n\r]*)
  | (?P<string>\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"|'''(?:[^'\\]|\\.|'(?!''))*'''
               |"(?:[^"\\\n\r]|\\.)*"|'(?:[^'\\\n\r]|\\.)*')
  | (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
  | (?P<var>[?$]\w+)
  | (?P<word>[^\W\d][\w.-]*(?::[\w.%:-]*)?|:[\w.%:-]*)
  | (?P<bracket>[{}()])
  | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)


@dataclass
class NamedQuery:
    """A query of the library: its text and what its header says."""

    name: str
    text: str
    summary: str = ""
    params: dict[str, str] = field(default_factory=dict)
    columns: list[str] = field(default_factory=list)
    path: str | None = None
    builtin: bool = False  # shipped in queries/ (its header lists every parameter it takes)


def parse_query(name: str, text: str, path: str | None = None, builtin: bool = False) -> NamedQuery:
    """Read the comment header of a query (summary, params, columns)."""
    query = NamedQuery(name=name, text=text, path=path, builtin=builtin)
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
            found[name] = parse_query(name, entry.read_text(encoding="utf-8"), path=entry.name, builtin=True)
    return found


def resolve(name_or_path: str) -> NamedQuery:
    """A named query, a ``.rq`` file, or ``-`` for standard input."""
    root = resources.files(__name__)
    if re.fullmatch(r"[\w-]+", name_or_path):
        entry = root / f"{name_or_path}.rq"
        if entry.is_file():
            return parse_query(name_or_path, entry.read_text(encoding="utf-8"), path=entry.name, builtin=True)
    if name_or_path == "-":
        import sys

        return parse_query("<stdin>", sys.stdin.read(), path="<stdin>")
    path = Path(name_or_path)
    if path.suffix == ".rq" or path.exists():
        try:
            return parse_query(path.stem, path.read_text(encoding="utf-8"), path=str(path))
        except (OSError, UnicodeDecodeError) as error:
            reason = getattr(error, "strerror", None) or str(error)
            raise InputError(f"cannot read the query: {reason}", path=path) from None
    known = ", ".join(library()) or "(none)"
    raise InputError(f"no query named {quoted(name_or_path)}; the library has: {known}")


# --- reading a query's text ------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    start: int
    depth: int  # braces and parentheses open before this token

    @property
    def keyword(self) -> str:
        """The upper-cased word when the token is a bare word (a keyword), else ''."""
        return self.text.upper() if self.kind == "word" and ":" not in self.text else ""


def _tokens(text: str) -> Iterator[_Token]:
    depth = 0
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup or "other"
        if kind in ("space", "comment"):
            continue
        value = match.group()
        if kind == "bracket" and value in "})":
            depth -= 1
        yield _Token(kind, value, match.start(), depth)
        if kind == "bracket" and value in "{(":
            depth += 1


def query_form(query: NamedQuery | str) -> str:
    """SELECT, CONSTRUCT, DESCRIBE or ASK; raises :class:`InputError` for SPARQL Update.

    Read from the tokens (comments, strings and IRIs skipped, any case), so neither a comment,
    lower case nor a prologue on the same line hides an update; any update keyword anywhere
    outside strings, IRIs and comments is refused too.
    """
    text = query.text if isinstance(query, NamedQuery) else query
    path = query.path if isinstance(query, NamedQuery) else None
    form = ""
    expect_prologue_term = False
    for token in _tokens(text):
        keyword = token.keyword
        if keyword in UPDATE_KEYWORDS:
            raise InputError(f"SPARQL Update is refused ({keyword}): attack-kg only reads the graph", path=path)
        if form:
            continue
        if expect_prologue_term:  # the prefix name or IRI after PREFIX / BASE
            expect_prologue_term = token.kind == "word" and token.text.endswith(":")
            continue
        if keyword in ("PREFIX", "BASE"):
            expect_prologue_term = True
            continue
        if keyword in QUERY_FORMS:
            form = keyword
            continue
        raise InputError(
            f"not a SPARQL query: expected SELECT, CONSTRUCT, DESCRIBE or ASK, found {token.text[:40]!r}", path=path
        )
    if not form:
        raise InputError("not a SPARQL query: it is empty or only comments", path=path)
    return form


def _where_group(text: str, form: str) -> int | None:
    """Offset just inside the opening brace of the query's WHERE group, or None.

    None when there is none (``DESCRIBE <iri>``) or it holds a bare sub-select, where a VALUES
    block may not go first.
    """
    tokens = list(_tokens(text))
    opening = None
    top_groups = [i for i, t in enumerate(tokens) if t.text == "{" and t.depth == 0]
    where = [i for i, t in enumerate(tokens) if t.keyword == "WHERE" and t.depth == 0]
    if where:
        opening = next((i for i in top_groups if i > where[0]), None)
    elif form == "CONSTRUCT":
        opening = top_groups[1] if len(top_groups) > 1 else None
    elif top_groups:
        opening = top_groups[0]
    if opening is None:
        return None
    following = tokens[opening + 1] if opening + 1 < len(tokens) else None
    if following is not None and following.keyword == "SELECT":
        return None
    return tokens[opening].start + 1


def uses_dataset_clause(text: str) -> bool:
    """Whether the query names its own dataset (FROM / FROM NAMED at the top level)."""
    return any(t.keyword == "FROM" and t.depth == 0 for t in _tokens(text))


def values_block(params: Mapping[str, str]) -> str:
    """``VALUES (?a ?b) { ("x" "y") }``: each value one plain literal in N-Triples syntax.

    pyoxigraph writes the literal: quotes, backslashes and line breaks are escaped, so the
    value cannot end the string, and the block is one line (line numbers of errors stay right).
    """
    names = list(params)
    for name in names:
        if not VARNAME.match(name):
            raise InputError(f"parameter names are letters, digits and _, not {quoted(name)}")
    terms = " ".join(str(ox.Literal(str(params[name]))) for name in names)
    variables = " ".join(f"?{name}" for name in names)
    return f"VALUES ({variables}) {{ ({terms}) }}"


def prologue() -> str:
    """The project's prefixes as PREFIX declarations on one line (queries may rely on them)."""
    return " ".join(f"PREFIX {prefix}: <{iri}>" for prefix, iri in PREFIXES.items()) + " "


def bindings(query: NamedQuery, params: Mapping[str, str]) -> dict[str, str]:
    """Check ``params`` against the query's declared parameters and SPARQL's variable names.

    A query that declares parameters (every library query does, or takes none) accepts only
    those; a query of your own without ``# param`` lines accepts any variable name.
    """
    unknown = sorted(set(params) - set(query.params))
    if unknown and (query.params or query.builtin):
        takes = f"it takes: {', '.join(query.params)}" if query.params else "it takes none"
        raise InputError(f"query {query.name} has no parameter {quoted(unknown[0])}; {takes}", path=query.path)
    for name in params:
        if not VARNAME.match(name):
            raise InputError(f"parameter names are letters, digits and _, not {quoted(name)}", path=query.path)
    return {name: str(value) for name, value in params.items()}


@dataclass(frozen=True)
class Prepared:
    """A query ready to send: its final text, its form, and whether it names its own dataset."""

    text: str
    form: str
    own_dataset: bool
    path: str | None = None


def prepare(query: NamedQuery | str, params: Mapping[str, str] | None = None) -> Prepared:
    """The text to run: project prefixes declared, parameters bound in a VALUES block.

    Refuses SPARQL Update. The VALUES block goes first in the WHERE group, where the query
    planner sees it (a trailing VALUES clause is the fallback when the group is a sub-select).
    Line numbers are kept: the prefixes and the block are added on existing lines.
    """
    if isinstance(query, str):
        query = resolve(query)
    form = query_form(query)
    values = bindings(query, params or {})
    text = query.text
    if values:
        block = values_block(values)
        at = _where_group(text, form)
        text = f"{text}\n{block}\n" if at is None else f"{text[:at]} {block} {text[at:]}"
    return Prepared(prologue() + text, form, uses_dataset_clause(query.text), query.path)


# --- running ---------------------------------------------------------------------------------


def run(target: ox.Store | rdflib.Dataset | Endpoint, query: NamedQuery | str, /, **params: str) -> rdflib.query.Result:
    """Run a named query (or a NamedQuery) with parameters bound as literals.

    ``target`` is a pyoxigraph Store, an rdflib Dataset over one (``open_dataset()``), or an
    :class:`~attackkg.queries.endpoint.Endpoint`. Locally the default graph is the union of
    all named graphs; on an endpoint, the graphs its attack-kg metadata graph lists.

    Returns an rdflib ``Result`` (rows for SELECT, a graph for CONSTRUCT/DESCRIBE, a boolean
    for ASK), which serializes to the W3C SPARQL results formats.
    """
    prepared = prepare(query, params)
    from attackkg.queries.endpoint import Endpoint

    if isinstance(target, Endpoint):
        return target.query(prepared)
    return to_rdflib(_local_answer(target, prepared))


def _local_answer(target: ox.Store | rdflib.Dataset | AtRelease, prepared: Prepared):
    """The pyoxigraph answer of a prepared query on a local store (or one seen at a release)."""
    if isinstance(target, AtRelease):
        return run_local(_oxigraph_store(target.target), prepared, target.attack_version)
    return run_local(_oxigraph_store(target), prepared)


@dataclass(frozen=True)
class AtRelease:
    """A local store seen at one ATT&CK release: ``rows(AtRelease(store, "18.1"), "coverage")``.

    Without it, a store holding several releases of a domain is queried at the newest of each."""

    target: object  # a pyoxigraph Store or an rdflib Dataset over one
    attack_version: str | None = None


def run_local(store: ox.Store, prepared: Prepared, attack_version: str | None = None):
    """A prepared query on a pyoxigraph store; the pyoxigraph answer.

    With several ATT&CK releases of a domain in the store, the query sees one per domain, the
    newest or ``attack_version`` (``builders.revocations.visible_graphs``), so no technique is
    counted once per release."""
    from attackkg.builders.revocations import visible_graphs

    try:
        graphs = None if prepared.own_dataset else visible_graphs(store, attack_version)
        if graphs is not None:
            return store.query(prepared.text, default_graph=graphs, named_graphs=graphs)
        return store.query(prepared.text, use_default_graph_as_union=not prepared.own_dataset)
    except SyntaxError as error:
        raise InputError(f"SPARQL syntax error: {error}", path=prepared.path) from None


def _oxigraph_store(target) -> ox.Store:
    from attackkg.builders.oxstore import oxigraph_of

    store = oxigraph_of(target)
    if store is not None:
        return store
    raise TypeError(
        f"cannot query {type(target).__name__}: give a pyoxigraph Store, an rdflib Dataset over one, or an Endpoint"
    )


def to_rdflib(answer) -> rdflib.query.Result:
    """A pyoxigraph query answer as an rdflib Result (what rdflib's serializers take)."""
    import rdflib
    import rdflib.query

    # A plain literal stays plain (as a server's JSON results give it), not ^^xsd:string.
    from attackkg.builders.oxstore import to_rdflib as from_ox

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
        result.graph += ((from_ox(t.subject), from_ox(t.predicate), from_ox(t.object)) for t in answer)
    return result


def rows(
    target: ox.Store | rdflib.Dataset | Endpoint, query: NamedQuery | str, /, **params: str
) -> list[dict[str, object]]:
    """Run a query and return its rows as dicts of Python values (for notebooks and tables).

    An unbound column is left out of its row. Literals become Python values (``int``,
    ``bool``, ``datetime``, ``str``); IRIs and blank nodes become ``str`` too. Only SELECT.
    """
    prepared = prepare(query, params)
    from attackkg.queries.endpoint import Endpoint

    if prepared.form != "SELECT":
        raise TypeError(f"rows() takes a SELECT query, not {prepared.form}: use run() for its answer")
    if isinstance(target, Endpoint):
        result = target.query(prepared)
        return [{str(var): value.toPython() for var, value in row.items()} for row in result.bindings]
    # Locally, straight from pyoxigraph's terms to Python values (to_python), as to_rdflib() then
    # toPython() would give them: 19,000 rows of techniques-for-control in 0.8 s instead of 1.6 s
    # from a store in memory (on disk, reading the store takes most of the time).
    from attackkg.builders.oxstore import to_python

    answer = _local_answer(target, prepared)
    names = [variable.value for variable in answer.variables]
    return [{name: to_python(value) for name, value in zip(names, row) if value is not None} for row in answer]


__all__ = [
    "Endpoint",
    "NamedQuery",
    "Prepared",
    "artifact_centrality",
    "as_dataset",
    "build_layer",
    "countermeasure_paths",
    "coverage_of",
    "current_generation",
    "default_store_dir",
    "describe",
    "diff_stores",
    "draw",
    "draw_paths",
    "endpoint",
    "export_rdf",
    "export_store",
    "find_node",
    "library",
    "load_coverage",
    "neighbourhood",
    "nodes_of_kind",
    "open_dataset",
    "open_store",
    "parse_query",
    "prepare",
    "publish",
    "render_page",
    "resolve",
    "rows",
    "run",
    "set_cover",
    "techniques_of",
    "to_dot",
    "to_mermaid",
    "to_networkx",
    "to_rdflib",
    "write_graph",
]
