"""A real SPARQL server (``oxigraph serve`` on 127.0.0.1): publish with the Graph Store Protocol,
then every named query gives the same rows there as on the local store. Credentials, timeouts
and server errors against a small fake server on 127.0.0.1."""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import urllib.parse
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cli_runs import run_child

from attackkg.builders.base import InputError
from attackkg.builders.build import build_store
from attackkg.builders.store import open_store
from attackkg.ontology.namespaces import METADATA_GRAPH
from attackkg.queries import NamedQuery, library, rows, run
from attackkg.queries.cli import main
from attackkg.queries.endpoint import Endpoint, EndpointError, endpoint
from attackkg.queries.publish import PUBLISHING, publish

ATTACK_KG_GRAPHS = "https://w3id.org/attack-kg/graph/"
HOSTILE = 'T1204" } ; DROP ALL ; #'
POLL = 0.05  # how often a fake server's serve_forever looks for shutdown() (the default, 0.5 s, is idle time)
SAMPLES = [
    {"technique": "T1204.001"},
    {"technique": "T1204.002"},
    {"technique": "T1204"},
    {"technique": "Malicious Link"},
    {"technique": "t1066"},  # revoked (by T1027.005), in lower case
    {"group": "G0016"},
    {"group": "Cozy Bear"},
    {"product": "windows", "category": "process_creation"},
    {"service": ""},
]


run_cli = run_child


def server_counts(target) -> dict[str, int]:
    """Triples per attack-kg graph on a server (a Virtuoso holds graphs of its own too)."""
    if isinstance(target, str):
        target = endpoint(target)
    text = "SELECT ?g (COUNT(*) AS ?n) { GRAPH ?g { ?s ?p ?o } FILTER(STRSTARTS(STR(?g), ?prefix)) } GROUP BY ?g"
    answer = rows(Endpoint(query_url=target.query_url, graphs=[]), NamedQuery("counts", text), prefix=ATTACK_KG_GRAPHS)
    return {str(r["g"]): r["n"] for r in answer}


def local_counts(store_dir) -> dict[str, int]:
    answer = open_store(store_dir).query("SELECT ?g (COUNT(*) AS ?n) { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g")
    return {r["g"].value: int(r["n"].value) for r in answer}


@pytest.fixture(scope="module")
def fixture_local(fixture_store):
    """The fixture store (read-only) opened once, and its triples per graph (the many tests below
    that compare a server with it need both; opening costs 20 ms a time)."""
    return open_store(fixture_store), local_counts(fixture_store)


@pytest.fixture
def published(sparql_server, fixture_store, fixture_local, capsys):
    """The fixture store published to each real server in turn (``oxigraph serve``, Virtuoso): with
    ``attack-kg publish`` unless the server already holds exactly its graphs, each with its count
    (the tests that use it only read; publishing is tested by tests of its own)."""
    if server_counts(sparql_server.endpoint()) != fixture_local[1]:
        assert main(["publish", *sparql_server.publish_args, "--store", str(fixture_store)]) == 0
        capsys.readouterr()
    return sparql_server


def comparable(found: list[dict]) -> list[tuple]:
    return sorted(tuple(sorted((k, repr(v)) for k, v in row.items())) for row in found)


def test_publish_puts_every_graph_and_checks_the_counts(sparql_server, fixture_store, capsys):
    args = ["publish", *sparql_server.publish_args, "--store", str(fixture_store)]
    assert main(args) == 0
    out = capsys.readouterr().out
    local = local_counts(fixture_store)
    assert server_counts(sparql_server.endpoint()) == local
    for graph, count in local.items():
        assert any(line.startswith(graph) and f" {count} " in f" {line} " for line in out.splitlines()), graph
    assert out.splitlines()[-1].startswith(f"published {sum(local.values())} triples in {len(local)} graphs")
    # Published again: replaced, not doubled, and no temporary graph left behind.
    assert main([*args, "-q"]) == 0
    assert capsys.readouterr().out == ""
    assert server_counts(sparql_server.endpoint()) == local


def test_publish_in_small_chunks_keeps_blank_nodes_whole(sparql_server, fixture_store):
    """Chunks of 50 triples (Virtuoso refuses a large PUT): the D3FEND restrictions, blank nodes,
    arrive whole, and every named query still answers as locally."""
    store = open_store(fixture_store)
    result = publish(store, sparql_server.endpoint(), chunk_triples=50)
    assert result.ok and result.atomic
    assert server_counts(sparql_server.endpoint()) == local_counts(fixture_store)
    text = "SELECT (COUNT(*) AS ?n) { ?r owl:onProperty ?p ; owl:someValuesFrom ?c }"
    restrictions = NamedQuery("restrictions", text)
    assert rows(sparql_server.endpoint(), restrictions) == rows(store, restrictions)
    assert rows(store, restrictions)[0]["n"] > 50


def same_rows(found: list[dict]) -> list[tuple]:
    """Rows to compare across servers. SPARQL 1.1 leaves GROUP_CONCAT's order to the server, so the
    items of a ", "-separated text are compared sorted (both sides alike); and a GROUP_CONCAT over
    nothing is "" on Virtuoso (as SPARQL 1.1 says) and unbound on Oxigraph, so "" counts as unbound."""

    def same(value):
        return ", ".join(sorted(value.split(", "))) if isinstance(value, str) else value

    return comparable([{k: same(v) for k, v in row.items() if v != ""} for row in found])


@pytest.mark.parametrize("name", sorted(library()))
def test_every_named_query_gives_the_same_rows_remotely(sparql_server, fixture_local, name):
    (store, counts), remote = fixture_local, sparql_server.endpoint()
    if server_counts(remote) != counts:
        publish(store, remote)
    cases = [{}] + [s for s in SAMPLES if set(s) <= set(library()[name].params)]
    for params in cases:
        here, there = rows(store, name, **params), rows(remote, name, **params)
        assert same_rows(there) == same_rows(here), (sparql_server.name, name, params)
    if not library()[name].params:
        assert here, name  # something to compare: the fixture store answers every query


def test_cli_json_through_the_endpoint_equals_the_local_json(published, fixture_store, capsys):
    args = ["query", "countermeasures", "--param", "technique=T1204.001", "--format", "json"]
    assert main([*args, "--store", str(fixture_store)]) == 0
    local = json.loads(capsys.readouterr().out)
    assert main([*args, *published.query_args]) == 0
    captured = capsys.readouterr()
    remote = json.loads(captured.out)
    assert "warning" not in captured.err
    assert remote["head"] == local["head"]
    key = lambda b: json.dumps(b, sort_keys=True)  # noqa: E731
    assert sorted(remote["results"]["bindings"], key=key) == sorted(local["results"]["bindings"], key=key)
    assert len(remote["results"]["bindings"]) == 4
    assert main([*args[:-2], *published.query_args, "--store", str(fixture_store)]) == 1
    assert "not both" in capsys.readouterr().err


def test_construct_and_ask_remotely_as_locally(published, fixture_store):
    construct = NamedQuery(
        "c", "CONSTRUCT { ?t rdfs:label ?name } WHERE { ?t akg:subtechniqueOf ?p ; rdfs:label ?name }"
    )
    here = run(open_store(fixture_store), construct).graph
    there = run(published.endpoint(), construct).graph
    assert len(there) == len(here) == 3 and set(there) == set(here)
    ask = NamedQuery("a", "ASK { ?rule akg:detectsTechnique ?t . ?t akg:attackId ?id }")
    assert run(published.endpoint(), ask, id="T1204.001").askAnswer is True
    assert run(published.endpoint(), ask, id=HOSTILE).askAnswer is False


def test_hostile_value_remotely_changes_nothing_and_matches_nothing(published):
    remote = published.endpoint()
    before = server_counts(remote)
    for name, named in library().items():
        for param in named.params:
            assert rows(remote, name, **{param: HOSTILE}) == [], (name, param)
    result = run_cli("query", "detections", "--param", f"technique={HOSTILE}", *published.query_args)
    assert result.returncode == 0 and result.stderr.strip() == "(0 rows)"
    assert server_counts(remote) == before


def test_update_is_refused_before_any_request(published):
    before = server_counts(published.endpoint())
    unreachable = endpoint("http://127.0.0.1:9")  # nothing may be sent: no connection error either
    for text in ["DROP ALL", "clear all", "# x\nINSERT DATA { <urn:a> <urn:b> <urn:c> }"]:
        for target in (unreachable, published.endpoint()):
            with pytest.raises(InputError, match="SPARQL Update is refused"):
                run(target, NamedQuery("u", text))
        result = run_cli("query", "-", "--endpoint", "http://127.0.0.1:9", stdin=text)
        assert result.returncode == 1 and "SPARQL Update is refused" in result.stderr
    assert server_counts(published.endpoint()) == before


def test_publish_removes_the_graphs_of_an_earlier_publish(sparql_server, fixture_store, fixtures, tmp_path):
    smaller = tmp_path / "smaller"
    build_store(smaller, attack_paths=[fixtures / "attack" / "small-enterprise-2.1.json"])
    result = publish(open_store(smaller), sparql_server.endpoint())
    assert result.ok and set(result.removed) == set(local_counts(fixture_store)) - set(local_counts(smaller))
    assert server_counts(sparql_server.endpoint()) == local_counts(smaller)
    kept = publish(open_store(fixture_store), sparql_server.endpoint(), prune=False)
    assert kept.removed == [] and server_counts(sparql_server.endpoint()) == local_counts(fixture_store)


def test_queries_see_only_the_published_graphs(published, fixture_store):
    graphs = published.endpoint().dataset_graphs()
    # every graph of the store (attack, d3fend, sigma, atomic, the mapping files, CAR, the derived
    # countermeasures and revocations), the metadata graph last
    assert graphs[-1] == METADATA_GRAPH and set(graphs) == set(local_counts(fixture_store)) and len(graphs) > 7
    assert graphs == published.endpoint().published_graphs()
    # Given graphs are the dataset: only the Sigma graph, so no technique to join the rules with.
    sigma = [g for g in graphs if "/sigma/" in g]
    assert rows(Endpoint(query_url=published.query_url, graphs=sigma), "detections", technique="T1204.001") == []
    if published.name == "oxigraph":
        # Without the dataset, the server's default graph is what a query sees: empty on Oxigraph
        # (Virtuoso's default graph is the union of all its graphs).
        bare = Endpoint(query_url=published.query_url, graphs=[])
        assert rows(bare, "detections", technique="T1204.001") == []
    assert len(rows(published.endpoint(), "detections", technique="T1204.001")) == 4


def test_telemetry_coverage_remotely_as_locally(published, fixture_store):
    """Telemetry coverage (queries/telemetry.py) read from each real server: the same states, rules,
    needed sources and log sources as read locally."""
    from attackkg.queries import telemetry

    here_data = telemetry.load_telemetry(open_store(fixture_store))
    remote = telemetry.load_telemetry(published.endpoint())
    assert set(remote.catalog.sources) == set(here_data.catalog.sources)
    for names in ([], ["sysmon"], ["windows-security/4688", "linux-syslog"]):
        here = telemetry.coverage(here_data, telemetry.profile_from_names(names, here_data.catalog))
        there = telemetry.coverage(remote, telemetry.profile_from_names(names, remote.catalog))
        assert [s.as_dict() for s in there] == [s.as_dict() for s in here], (published.name, names)
        assert here


# --- URLs, credentials, errors and timeouts against a fake server --------------------------------


def test_urls_from_a_base_or_given_directly():
    assert (endpoint("http://h:1").query_url, endpoint("http://h:1/").store_url) == (
        "http://h:1/query",
        "http://h:1/store",
    )
    assert endpoint("http://h:1/ds/query").store_url == "http://h:1/ds/store"
    given = endpoint(query_url="http://h/ds/sparql", store_url="http://h/ds/data")
    assert (given.query_url, given.store_url) == ("http://h/ds/sparql", "http://h/ds/data")
    for bad in ["ftp://h/x", "localhost:7878", "http://"]:
        with pytest.raises(EndpointError, match="not an http"):
            endpoint(bad)
    with pytest.raises(EndpointError):
        endpoint()


class Fake(BaseHTTPRequestHandler):
    """Records each request; answers as ``self.server.behaviour`` says."""

    def log_message(self, *args) -> None:
        pass

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.seen.append((self.command, self.path, dict(self.headers), body))
        status, content_type, payload, delay = self.server.behaviour(self.command, self.path, body, self.headers)
        time.sleep(delay)
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (the timeout test)

    do_GET = do_POST = do_PUT = do_DELETE = _answer


@contextmanager
def fake_server(behaviour):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Fake)
    server.seen, server.behaviour = [], behaviour
    thread = threading.Thread(target=server.serve_forever, args=(POLL,), daemon=True)
    thread.start()
    try:
        yield server, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def echo_authorization(method, path, body, headers):
    """The worst server: it puts the Authorization header it got into its error message."""
    return 401, "text/plain", f"denied for {headers.get('Authorization')}".encode(), 0


SECRET = "s3cr3t-pa55"


def test_credentials_are_sent_and_never_printed(tmp_path, fixture_store):
    import os

    env = {**os.environ, "ATTACK_KG_ENDPOINT_USER": "alice", "ATTACK_KG_ENDPOINT_PASSWORD": SECRET}
    with fake_server(echo_authorization) as (server, url):
        for args in (
            ["query", "sources", "--endpoint", url],
            ["publish", "--endpoint", url, "--store", str(fixture_store)],
        ):
            result = run_cli(*args, env=env)
            assert result.returncode == 1
            assert "401" in result.stderr and result.stderr.count("\n") == 1, result.stderr
            basic = base64.b64encode(f"alice:{SECRET}".encode()).decode()
            for leak in (SECRET, basic):
                assert leak not in result.stderr + result.stdout
        assert {headers["Authorization"] for _, _, headers, _ in server.seen} == {f"Basic {basic}"}
        server.seen.clear()
        token_env = {**env, "ATTACK_KG_ENDPOINT_TOKEN": "tok-" + SECRET}
        result = run_cli("query", "sources", "--endpoint", url, env=token_env)
        assert result.returncode == 1 and SECRET not in result.stderr
        assert [headers["Authorization"] for _, _, headers, _ in server.seen] == [f"Bearer tok-{SECRET}"]


def test_a_slow_server_times_out():
    slow = lambda *request: (200, "application/sparql-results+json", b"{}", 3)  # noqa: E731
    with fake_server(slow) as (_server, url):
        started = time.perf_counter()
        with pytest.raises(EndpointError, match="timed out"):
            rows(endpoint(url, timeout=1), "sources")
        assert time.perf_counter() - started < 2.5


def test_unreachable_and_failing_servers_are_one_line_errors(fixture_store, capsys):
    with fake_server(lambda *r: (200, "text/plain", b"", 0)) as (_server, url):
        pass  # closed: nothing listens on that port any more
    assert main(["query", "sources", "--endpoint", url, "--timeout", "5"]) == 1
    assert "cannot reach the server" in capsys.readouterr().err
    broken = lambda method, path, body, headers: (500, "text/plain", b"disk full", 0)  # noqa: E731
    with fake_server(broken) as (_server, url):
        assert main(["publish", "--endpoint", url, "--store", str(fixture_store)]) == 1
        err = capsys.readouterr().err
        assert "HTTP 500" in err and "disk full" in err and err.count("\n") == 1


def test_publish_fails_when_the_server_holds_other_counts(fixture_store, capsys):
    """A server that accepts every PUT and update but then counts one triple per graph: exit 1,
    no success line, and nothing put in place (no MOVE sent)."""

    def lossy(method, path, body, headers):
        if method == "PUT":
            return 204, "text/plain", b"", 0
        form = urllib.parse.parse_qs(body.decode())
        if "update" in form:
            return 204, "text/plain", b"", 0
        query = form.get("query", [""])[0]
        rows_ = [{"n": {"type": "literal", "value": "1"}}] if "COUNT" in query else []
        document = {"head": {"vars": ["n" if "COUNT" in query else "graph"]}, "results": {"bindings": rows_}}
        return 200, "application/sparql-results+json", json.dumps(document).encode(), 0

    with fake_server(lossy) as (server, url):
        assert main(["publish", "--endpoint", url, "--store", str(fixture_store)]) == 1
        captured = capsys.readouterr()
        assert "the server holds 1 triples after the upload" in captured.err and "nothing was replaced" in captured.err
        assert captured.err.count("\n") == 1 and "published" not in captured.out
        puts = [
            urllib.parse.unquote(path.split("graph=", 1)[1]) for method, path, _, _ in server.seen if method == "PUT"
        ]
        assert puts and all(graph.startswith(PUBLISHING) for graph in puts)  # only temporary names
        updates = [urllib.parse.parse_qs(body.decode()).get("update", [""])[0] for _, _, _, body in server.seen]
        assert not any("MOVE" in update for update in updates)
        assert any(f"DROP SILENT GRAPH <{puts[0]}>" in update for update in updates)  # the upload removed
        content_types = {headers["Content-Type"] for method, _, headers, _ in server.seen if method == "PUT"}
        assert content_types == {"application/n-triples"}


def test_a_broken_graph_store_url_prints_no_success_line(oxigraph_server, fixture_store, capsys):
    before = server_counts(oxigraph_server)
    args = ["publish", "--query-url", f"{oxigraph_server}/query", "--store-url", f"{oxigraph_server}/no-such-store"]
    assert main([*args, "--update-url", f"{oxigraph_server}/update", "--store", str(fixture_store)]) == 1
    captured = capsys.readouterr()
    assert "published" not in captured.out and captured.err.count("\n") == 1 and "HTTP 404" in captured.err
    assert server_counts(oxigraph_server) == before


def test_a_server_without_updates_is_told_the_publish_is_not_atomic(fixture_store, capsys):
    """A Graph Store that refuses SPARQL Update (HTTP 405): the graphs go straight into place, with a
    warning, the metadata graph deleted first and written last."""
    local = local_counts(fixture_store)

    def no_updates(method, path, body, headers):
        form = urllib.parse.parse_qs(body.decode()) if method == "POST" else {}
        if "update" in form:
            return 405, "text/plain", b"updates are not allowed", 0
        if method in ("PUT", "DELETE"):
            return 204, "text/plain", b"", 0
        graph = re.search(r"GRAPH <([^>]+)>", form.get("query", [""])[0])
        count = local.get(graph.group(1), 0) if graph else 0
        document = {"head": {"vars": ["n"]}, "results": {"bindings": [{"n": {"type": "literal", "value": str(count)}}]}}
        return 200, "application/sparql-results+json", json.dumps(document).encode(), 0

    with fake_server(no_updates) as (server, url):
        assert main(["publish", "--endpoint", url, "--store", str(fixture_store), "--keep-stale"]) == 0
        captured = capsys.readouterr()
        assert "not atomic" in captured.err and captured.out.splitlines()[-1].startswith("published")
        changes = [
            (method, urllib.parse.unquote(path.split("graph=", 1)[1]))
            for method, path, _, _ in server.seen
            if method in ("PUT", "DELETE")
        ]
        assert changes[0] == ("DELETE", METADATA_GRAPH) and changes[-1] == ("PUT", METADATA_GRAPH)
        assert {graph for method, graph in changes if method == "PUT"} == set(local)


def test_an_answer_with_other_variables_is_an_error(fixture_store, capsys):
    """A server answering well-formed SPARQL JSON, but with other variables than the query's: exit 1."""

    def other_variables(method, path, body, headers):
        document = {"head": {"vars": ["x"]}, "results": {"bindings": [{"x": {"type": "literal", "value": "1"}}]}}
        return 200, "application/sparql-results+json", json.dumps(document).encode(), 0

    with fake_server(other_variables) as (_server, url):
        assert main(["query", "countermeasures", "--param", "technique=T1204.001", "--endpoint", url]) == 1
        captured = capsys.readouterr()
        assert captured.out == "" and captured.err.count("\n") == 2  # the missing-metadata warning, the error
        assert "warning: the server has no attack-kg metadata graph" in captured.err
        assert "other variables (?x) than the query selects (?" in captured.err and "?d3fend_id" in captured.err
        ask = NamedQuery("a", "ASK { ?s ?p ?o }")
        with pytest.raises(EndpointError, match="answered a ASK query with a SELECT result"):
            run(endpoint(url), ask)


class Redirect(BaseHTTPRequestHandler):
    """Answers every request with a 303 to ``self.server.target`` (another host and port).

    urllib follows a 303 after a POST (a query) as a GET; it follows no redirect of a PUT."""

    def log_message(self, *args) -> None:
        pass

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.server.seen.append(dict(self.headers))
        self.send_response(303)
        self.send_header("Location", self.server.target + self.path)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = do_PUT = do_DELETE = _answer


def test_credentials_are_not_carried_to_where_a_redirect_points(fixture_store):
    import os

    env = {**os.environ, "ATTACK_KG_ENDPOINT_TOKEN": "tok-" + SECRET}
    with fake_server(echo_authorization) as (elsewhere, target):
        server = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
        server.seen, server.target = [], target.replace("127.0.0.1", "localhost")
        threading.Thread(target=server.serve_forever, args=(POLL,), daemon=True).start()
        url = f"http://127.0.0.1:{server.server_address[1]}"
        try:
            for args in (
                ["query", "sources", "--endpoint", url],
                ["publish", "--endpoint", url, "--store", str(fixture_store)],
            ):
                result = run_cli(*args, env=env)
                assert result.returncode == 1 and SECRET not in result.stderr + result.stdout
        finally:
            server.shutdown()
            server.server_close()
    assert server.seen and all(headers.get("Authorization") == f"Bearer tok-{SECRET}" for headers in server.seen)
    assert elsewhere.seen  # the query's redirect was followed ...
    assert all("Authorization" not in headers for _, _, headers, _ in elsewhere.seen)  # ... without the token


# --- a server that dies mid-publish (a real oxigraph serve, killed) ---------------------------------


@pytest.mark.parametrize("stop_at", ["uploading https://w3id.org/attack-kg/graph/d3fend", "putting the graphs in place"])
def test_a_server_killed_mid_publish_answers_as_before(tmp_path, fixture_store, fixtures, stop_at, capsys):
    from conftest import oxigraph_binary, start_oxigraph

    if not Path(oxigraph_binary()).exists():
        pytest.skip("the oxigraph server is not installed")
    smaller = tmp_path / "smaller"
    build_store(smaller, attack_paths=[fixtures / "attack" / "small-enterprise-2.1.json"])
    server, url = start_oxigraph(tmp_path)
    try:
        assert publish(open_store(smaller), endpoint(url)).ok
        before = rows(endpoint(url), "sources")

        def kill_midway(message: str) -> None:
            if message.startswith(stop_at):
                server.kill()
                server.wait()

        with pytest.raises(EndpointError, match="cannot reach the server"):
            publish(open_store(fixture_store), endpoint(url, timeout=10), progress=kill_midway)
        assert server.poll() is not None  # it was killed midway
    finally:
        server.kill()
        server.wait()
    server, url = start_oxigraph(tmp_path)  # the same database, restarted
    try:
        published_counts = {g: n for g, n in server_counts(url).items() if not g.startswith(PUBLISHING)}
        assert published_counts == local_counts(smaller)
        assert rows(endpoint(url), "sources") == before
        assert main(["query", "sources", "--endpoint", url]) == 0
        assert "warning" not in capsys.readouterr().err
        # The next publish succeeds and leaves no temporary graph behind.
        assert publish(open_store(fixture_store), endpoint(url)).ok
        assert server_counts(url) == local_counts(fixture_store)
    finally:
        server.kill()
        server.wait()


def test_query_warns_when_a_publish_did_not_finish(published, capsys):
    """The metadata graph lists a graph the server does not hold (a non-atomic publish stopped)."""
    remote = published.endpoint()
    sigma = next(g for g in remote.published_graphs() if "/sigma/" in g)
    remote.update(f"DROP SILENT GRAPH <{sigma}>")
    assert main(["query", "sources", *published.query_args]) == 0
    assert "warning: a publish did not finish" in capsys.readouterr().err
    remote.update(f"DROP SILENT GRAPH <{METADATA_GRAPH}>")
    assert main(["query", "sources", *published.query_args]) == 0
    assert "warning: the server has no attack-kg metadata graph" in capsys.readouterr().err
