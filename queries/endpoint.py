"""A remote SPARQL 1.1 server: queries through SPARQLWrapper, the Graph Store Protocol and SPARQL
Update for publishing (:mod:`attackkg.queries.publish`), all HTTP through one helper
(:mod:`attackkg.builders.http_client`).

Any SPARQL 1.1 server works through the standard protocols (Oxigraph, Apache Jena Fuseki,
GraphDB, Virtuoso, Amazon Neptune); only the URLs differ. :func:`endpoint` takes a base URL
and uses Oxigraph's layout, ``BASE/query`` for queries, ``BASE/store`` for the Graph Store and
``BASE/update`` for updates (a URL already ending in ``/query`` is taken as the query URL);
``query_url``, ``store_url`` and ``update_url`` name them directly for other servers (Virtuoso:
``BASE/sparql`` and ``BASE/sparql-graph-crud``, updates at the query URL; Fuseki: ``.../ds/sparql``,
``.../ds/data`` and ``.../ds/update``; GraphDB: ``.../repositories/R`` and
``.../repositories/R/rdf-graphs/service``).

Queries see the same graphs as on the local store, where the default graph is the union of
all named graphs: each query is sent with one ``default-graph-uri`` and one
``named-graph-uri`` per graph the server's attack-kg metadata graph lists (written by
:func:`publish`), unless the query names its own dataset with FROM. Parameters go in as a
VALUES block of escaped RDF terms (:func:`attackkg.queries.prepare`), as on the local store.

From Python (a notebook), the same calls as on the local store::

    from attackkg.queries import rows
    from attackkg.queries.endpoint import endpoint
    from attackkg.queries.publish import publish
    server = endpoint("http://localhost:7878")
    publish(open_store(), server)
    rows(server, "countermeasures", technique="T1204.001")

Credentials come from the environment, are sent only as an ``Authorization`` header and are
never printed: ``ATTACK_KG_ENDPOINT_TOKEN`` (a bearer token), else
``ATTACK_KG_ENDPOINT_USER`` and ``ATTACK_KG_ENDPOINT_PASSWORD`` (HTTP basic). Every request
has a timeout.
"""

from __future__ import annotations

import base64
import os
import re
import time
import urllib.parse
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pyoxigraph as ox

from attackkg.builders import http_client
from attackkg.builders.base import InputError, without_userinfo
from attackkg.ontology.namespaces import AKG, METADATA_GRAPH, VOID

if TYPE_CHECKING:
    import rdflib.query

    from attackkg.queries import Prepared

USER_ENV = "ATTACK_KG_ENDPOINT_USER"
PASSWORD_ENV = "ATTACK_KG_ENDPOINT_PASSWORD"
TOKEN_ENV = "ATTACK_KG_ENDPOINT_TOKEN"
DEFAULT_TIMEOUT = 60.0
USER_AGENT = "attack-kg (SPARQLWrapper)"

# What a Graph Store PUT sends: N-Triples, which every server reads and parses as a stream.
GRAPH_CONTENT_TYPE = "application/n-triples"


# An answer larger than this is not read (a hostile or broken server must not fill memory);
# every answer of the query library on the full data is under 50 MB.
MAX_ANSWER = 512 * 1024 * 1024

class EndpointError(InputError):
    """The server refused, failed or could not be reached; the message never holds credentials."""


@dataclass
class Endpoint:
    """A SPARQL server: where to query, where its Graph Store is, how long to wait.

    Use :func:`endpoint` to make one from a base URL. Credentials are read from the
    environment at each request (see the module docstring), never stored here.
    """

    query_url: str
    store_url: str | None = None
    # Where SPARQL 1.1 Update goes (publish puts uploaded graphs in place with MOVE); None: none.
    update_url: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    environ: Mapping[str, str] | None = None  # default: os.environ
    # The graphs queries see (default-graph-uri and named-graph-uri); None: those the server's
    # attack-kg metadata graph lists, read at the first query; []: the server's own dataset.
    graphs: Sequence[str] | None = None
    _found: list[str] | None = field(default=None, init=False, repr=False, compare=False)

    # --- queries -----------------------------------------------------------------------------

    def query(self, prepared: Prepared) -> rdflib.query.Result:
        """Run a prepared query (:func:`attackkg.queries.prepare`); an rdflib Result.

        Raises :class:`EndpointError` when the answer is not one to this query: another form
        (rows for an ASK), or rows whose variables are not the ones the query selects.
        """
        graphs = [] if prepared.own_dataset else self.dataset_graphs()
        result = self._query(prepared.text, prepared.form, graphs)
        _check_answer(prepared, result, self.safe_query_url)
        return result

    def publish_warning(self) -> str | None:
        """Why the graphs queries see may not be a whole publish, or None when they are.

        Said when the server has no attack-kg metadata graph (nothing published there, or a
        publish stopped before writing it), or when the metadata graph lists a non-empty graph
        the server does not hold (a publish that did not finish).
        """
        if self.graphs is not None:
            return None
        if not self.dataset_graphs():
            return (
                "the server has no attack-kg metadata graph (nothing was published there, or a publish did not "
                "finish): queries see the server's own default graph"
            )
        text = (
            f"SELECT ?graph WHERE {{ GRAPH <{METADATA_GRAPH}> {{ ?graph <{AKG}sourceKind> ?kind ; "
            f"<{VOID}triples> ?triples }} FILTER(?triples > 0) "
            "FILTER NOT EXISTS { GRAPH ?graph { ?s ?p ?o } } }"
        )
        missing = sorted(str(g) for g in _column(self._query(text, "SELECT", []), "graph") if g is not None)
        if missing:
            return (
                f"a publish did not finish: the metadata graph lists {len(missing)} graph(s) the server does not "
                f"hold ({missing[0]}{', ...' if len(missing) > 1 else ''}); answers may be incomplete"
            )
        return None

    def dataset_graphs(self) -> list[str]:
        """The graphs a query sees: ``graphs`` if given, else :meth:`published_graphs` (read once)."""
        if self.graphs is not None:
            return list(self.graphs)
        if self._found is None:
            self._found = self.published_graphs()
        return list(self._found)

    def forget_dataset(self) -> None:
        """Read the graphs to query from the metadata graph again at the next query (after a publish)."""
        self._found = None

    def published_graphs(self) -> list[str]:
        """The graphs attack-kg published here: those the metadata graph lists, and itself last.

        Empty when the server has no attack-kg metadata graph (queries then see the server's
        own default graph).
        """
        text = (
            f"SELECT DISTINCT ?graph WHERE {{ GRAPH <{METADATA_GRAPH}> {{ ?graph <{AKG}sourceKind> ?kind }} }} "
            "ORDER BY ?graph"
        )
        found = [str(value) for value in _column(self._query(text, "SELECT", []), "graph") if value is not None]
        return [*found, METADATA_GRAPH] if found else []

    def graphs_under(self, prefix: str) -> list[str]:
        """The server's named graphs whose IRI starts with ``prefix``."""
        text = f"SELECT DISTINCT ?graph WHERE {{ GRAPH ?graph {{ }} FILTER(STRSTARTS(STR(?graph), {_string(prefix)})) }}"
        return sorted(str(value) for value in _column(self._query(text, "SELECT", []), "graph") if value is not None)

    def count(self, graph: str) -> int:
        """How many triples the server holds in ``graph``."""
        result = self._query(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{_iri(graph)}> {{ ?s ?p ?o }} }}", "SELECT", [])
        value = next(iter(_column(result, "n")), None)
        try:
            return int(value)
        except (TypeError, ValueError):
            raise EndpointError(
                f"the server's count of {graph} is not a number: {value!r}", path=self.safe_query_url
            ) from None

    def _query(self, text: str, form: str, graphs: list[str]) -> rdflib.query.Result:
        from SPARQLWrapper import JSON, POST, TURTLE, URLENCODED

        client = _sparql_client(self.query_url)
        client.setMethod(POST)
        client.setRequestMethod(URLENCODED)
        client.setOnlyConneg(True)  # no format=/output= parameters, the Accept header says it
        client.setTimeout(max(1, round(self.timeout)))
        with warnings.catch_warnings():  # its own guess of the query form may warn; ours is below
            warnings.simplefilter("ignore")
            client.setQuery(text)
        # The form attack-kg read from the tokens, so SPARQLWrapper never sends it as an update.
        client.queryType = form
        client.setReturnFormat(TURTLE if form in ("CONSTRUCT", "DESCRIBE") else JSON)
        for graph in graphs:
            client.addDefaultGraph(graph)
            client.addNamedGraph(graph)
        credentials = self._auth_headers()
        for name, value in credentials.items():
            client.addCustomHttpHeader(name, value)
        if credentials:
            # SPARQLWrapper opens through urllib's installed opener: make it drop credentials on a
            # redirect to another host (see builders/http_client.py).
            http_client.install_redirect_guard()
        started = time.perf_counter()
        try:
            answer = client.query()
            with answer.response as response:
                body = http_client.read(response, timeout=self.timeout, limit=MAX_ANSWER)
                content_type = response.headers.get("Content-Type", "")
        except http_client.HttpError as error:
            if error.kind == "limit":
                raise EndpointError(
                    f"the answer is larger than {MAX_ANSWER} bytes; not read", path=self.safe_query_url
                ) from None
            raise self._error(error, started) from None
        except Exception as error:  # SPARQLWrapper's, urllib's and socket errors alike
            raise self._error(error, started) from None
        return _parse_answer(body, content_type, form, self.safe_query_url)

    # --- Graph Store Protocol ----------------------------------------------------------------

    def put_graph(self, graph: str, body, length: int) -> None:
        """Replace ``graph`` on the server with the N-Triples in ``body`` (HTTP PUT)."""
        self._graph_store("PUT", graph, body, length)

    def post_graph(self, graph: str, body, length: int) -> None:
        """Add the N-Triples in ``body`` to ``graph`` on the server (HTTP POST)."""
        self._graph_store("POST", graph, body, length)

    def update(self, text: str) -> None:
        """Send a SPARQL 1.1 Update request to :attr:`update_url` (attack-kg's own publishing only:
        user queries never reach here, :func:`attackkg.queries.query_form` refuses updates)."""
        if not self.update_url:
            raise EndpointError("no SPARQL Update URL: give --endpoint BASE or --update-url URL")
        body = urllib.parse.urlencode({"update": text}).encode()
        headers = {"User-Agent": USER_AGENT, "Content-Type": "application/x-www-form-urlencoded"}
        started = time.perf_counter()
        try:
            with http_client.open_url(
                self.update_url,
                method="POST",
                data=body,
                headers=headers,
                credentials=self._auth_headers(),
                timeout=self.timeout,
            ) as response:
                http_client.read(response, timeout=self.timeout, limit=MAX_ANSWER)
        except http_client.HttpError as error:
            raise self._error(error, started, url=without_userinfo(self.update_url)) from None

    def delete_graph(self, graph: str) -> None:
        """Remove ``graph`` from the server (HTTP DELETE); a graph already gone is fine."""
        try:
            self._graph_store("DELETE", graph, None, 0)
        except EndpointError as error:
            if " 404 " not in f" {error} ":
                raise

    def _graph_store(self, method: str, graph: str, body, length: int, content_type: str = GRAPH_CONTENT_TYPE) -> None:
        if not self.store_url:
            raise EndpointError("no Graph Store URL: give --endpoint BASE or --store-url URL")
        separator = "&" if "?" in self.store_url else "?"
        url = f"{self.store_url}{separator}graph={urllib.parse.quote(graph, safe='')}"
        headers = {"User-Agent": USER_AGENT}
        if body is not None:
            headers["Content-Type"] = content_type
            headers["Content-Length"] = str(length)
        started = time.perf_counter()
        try:
            with http_client.open_url(
                url, method=method, data=body, headers=headers, credentials=self._auth_headers(), timeout=self.timeout
            ) as response:
                http_client.read(response, timeout=self.timeout, limit=MAX_ANSWER)
        except http_client.HttpError as error:
            raise self._error(error, started, url=self.safe_store_url) from None

    # --- credentials and errors --------------------------------------------------------------

    def _auth_headers(self) -> dict[str, str]:
        env = os.environ if self.environ is None else self.environ
        token = env.get(TOKEN_ENV)
        if token:
            return {"Authorization": f"Bearer {token}"}
        user, password = env.get(USER_ENV), env.get(PASSWORD_ENV)
        if user or password:
            pair = f"{user or ''}:{password or ''}".encode()
            return {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}
        return {}

    def _secrets(self) -> list[str]:
        env = os.environ if self.environ is None else self.environ
        found = [env.get(name) or "" for name in (TOKEN_ENV, PASSWORD_ENV)]
        found += [value for value in self._auth_headers().values()]
        found += [value.split(" ", 1)[-1] for value in self._auth_headers().values()]
        return [s for s in found if len(s) >= 3]

    def redact(self, message: str) -> str:
        """``message`` with every credential (and any user:password@ in URLs) replaced by ``***``."""
        for secret in sorted(self._secrets(), key=len, reverse=True):
            message = message.replace(secret, "***")
        return re.sub(r"(\w+://)[^/@\s]*@", r"\1***@", message)

    @property
    def safe_query_url(self) -> str:
        return without_userinfo(self.query_url)

    @property
    def safe_store_url(self) -> str:
        return without_userinfo(self.store_url or "")

    def _error(self, error: BaseException, started: float, url: str | None = None) -> EndpointError:
        where = url or self.safe_query_url
        waited = time.perf_counter() - started
        name = type(error).__name__
        # SPARQLWrapper's own exceptions carry the status in their class and the body in .msg
        statuses = {
            "QueryBadFormed": "HTTP 400 Bad Request",
            "Unauthorized": "HTTP 401 Unauthorized",
            "EndPointNotFound": "HTTP 404 Not Found",
            "URITooLong": "HTTP 414 URI Too Long",
            "EndPointInternalError": "HTTP 500 Internal Server Error",
        }
        if name in statuses:
            reason, detail = statuses[name], _server_message(str(error))
        else:
            failed = http_client.failure(error, self.timeout)
            reason, detail = str(failed), failed.detail
            if failed.kind == "connect":
                reason = f"cannot reach the server ({reason.removeprefix('cannot connect: ')})"
        detail = " ".join(detail.split())[:300]
        message = f"{reason}" + (f": {detail}" if detail else "")
        if waited > 1 and "timed out" not in message:
            message += f" (after {waited:.1f} s)"
        return EndpointError(self.redact(message), path=where)


def endpoint(
    url: str | None = None,
    *,
    query_url: str | None = None,
    store_url: str | None = None,
    update_url: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    environ: Mapping[str, str] | None = None,
    graphs: Sequence[str] | None = None,
) -> Endpoint:
    """An :class:`Endpoint` from a base URL (Oxigraph layout) and/or explicit URLs.

    ``endpoint("http://localhost:7878")`` queries ``http://localhost:7878/query``, publishes
    to ``http://localhost:7878/store`` and sends updates to ``http://localhost:7878/update``; a
    URL ending in ``/query`` is the query URL itself. Without a base URL, updates go to the query
    URL (Virtuoso, GraphDB and Fuseki's dataset URL take both).
    """
    base = None
    if url:
        _check_url(url)
        base = url.rstrip("/")
        if base.endswith("/query"):
            base = base[: -len("/query")]
    if query_url:
        _check_url(query_url)
    for given in (store_url, update_url):
        if given:
            _check_url(given)
    query_url = query_url or (f"{base}/query" if base else None)
    store_url = store_url or (f"{base}/store" if base else None)
    update_url = update_url or (f"{base}/update" if base else query_url)
    if not query_url:
        raise EndpointError("give the server's base URL (--endpoint) or its query URL (--query-url)")
    if timeout <= 0:
        raise EndpointError(f"the timeout must be positive, not {timeout:g}")
    return Endpoint(
        query_url=query_url, store_url=store_url, update_url=update_url, timeout=timeout, environ=environ, graphs=graphs
    )


# --- helpers ------------------------------------------------------------------------------------


def _parse_answer(body: bytes, content_type: str, form: str, where: str) -> rdflib.query.Result:
    import io

    import rdflib
    import rdflib.query

    try:
        if form in ("CONSTRUCT", "DESCRIBE"):
            graph = rdflib.Graph()
            mime = content_type.split(";")[0].strip() or "text/turtle"
            rdf_format = {"application/n-triples": "nt", "application/rdf+xml": "xml"}.get(mime, "turtle")
            graph.parse(data=body, format=rdf_format)
            result = rdflib.query.Result("CONSTRUCT")
            result.graph = graph
            return result
        result = rdflib.query.Result.parse(io.BytesIO(body), format="json")
    except Exception as error:
        raise EndpointError(f"the server's answer is not valid SPARQL results: {error}"[:300], path=where) from None
    if form == "ASK" and result.type == "SELECT" and [str(v).upper() for v in result.vars] == ["__ASK_RETVAL"]:
        # Virtuoso answers ASK in JSON as one row of ?__ASK_RETVAL (1 or 0), or none when false.
        values = [row.get(result.vars[0]) for row in result.bindings]
        answer = rdflib.query.Result("ASK")
        answer.askAnswer = any(value is not None and value.toPython() not in (0, False, "0") for value in values)
        return answer
    return result


def _check_answer(prepared: Prepared, result: rdflib.query.Result, where: str) -> None:
    """Refuse an answer that is not one to ``prepared``: another form, or other variables than the
    query selects (read by planning it on an empty local store; a query Oxigraph cannot read is
    not checked)."""
    answered = "SELECT" if result.type == "SELECT" else result.type
    if answered != prepared.form and {answered, prepared.form} != {"CONSTRUCT", "DESCRIBE"}:
        raise EndpointError(f"the server answered a {prepared.form} query with a {answered} result", path=where)
    if prepared.form != "SELECT":
        return
    try:
        expected = [v.value for v in ox.Store().query(prepared.text).variables]
    except (SyntaxError, ValueError, OSError):
        return
    found = [str(v) for v in result.vars or []]
    if set(found) != set(expected):
        shown = lambda names: ", ".join(f"?{n}" for n in names[:8]) or "none"  # noqa: E731
        raise EndpointError(
            f"the server's answer has other variables ({shown(found)}) than the query selects ({shown(expected)})",
            path=where,
        )


def _column(result: rdflib.query.Result, name: str) -> list:
    import rdflib

    variable = rdflib.Variable(name)
    return [row.get(variable) for row in result.bindings]


def _server_message(text: str) -> str:
    """The body SPARQLWrapper put in its exception message (``Response:\\n b'...'``)."""
    import ast

    _, found, body = text.partition("Response:\n")
    if not found:
        return ""
    try:
        value = ast.literal_eval(body.strip())
    except (ValueError, SyntaxError):
        return body.strip()
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _string(value: str) -> str:
    """``value`` as a SPARQL string literal (pyoxigraph's N-Triples writer escapes it)."""
    return str(ox.Literal(value))


def _iri(graph: str) -> str:
    if re.search(r'[<>"{}|^`\\\x00-\x20]', graph):
        raise EndpointError(f"not an IRI: {graph!r}")
    return graph


def _check_url(url: str) -> None:
    try:
        http_client.check_url(url)
    except http_client.HttpError as error:
        shown = without_userinfo(url) if "password" in str(error) else None  # which URL, without the password
        raise EndpointError(str(error), path=shown) from None


def _sparql_client(url: str):
    """A SPARQLWrapper client for ``url`` (its public API only)."""
    from SPARQLWrapper import SPARQLWrapper

    return SPARQLWrapper(url, agent=USER_AGENT)
