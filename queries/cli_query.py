"""``attack-kg query`` and ``publish``: SPARQL on the store or on a server."""

from __future__ import annotations

import argparse
import re
import sys

from attackkg.builders.base import InputError
from attackkg.ontology.identifiers import quoted
from attackkg.queries.cli_common import (
    ENDPOINT_HELP,
    Progress,
    endpoint_options,
    format_table,
    local_target,
    release_option,
    store_option,
    write_result,
)


def register(commands) -> None:
    """Add this module's commands to the ``attack-kg`` subparsers."""
    query = commands.add_parser(
        "query",
        help="run a named SPARQL query, a .rq file, or - (stdin)",
        description="Run a query of the library (see --list), a .rq file or standard input against the store, "
        "or against a SPARQL server with --endpoint. --param NAME=VALUE binds ?NAME to a plain literal in a "
        "VALUES block (the value is escaped as an RDF term, never pasted into the query text). "
        "SPARQL Update is refused.",
        epilog="Examples:\n  attack-kg query --list\n"
        "  attack-kg query countermeasures --param technique=T1204.001 --format json\n"
        "  attack-kg query detections --param technique=T1204.001 --endpoint http://localhost:7878\n\n" + ENDPOINT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    query.add_argument("query", metavar="NAME|FILE.rq|-", nargs="?", help="query name, .rq file or - for stdin")
    query.add_argument("--list", action="store_true", help="list the named queries with their summaries")
    query.add_argument(
        "--param", metavar="NAME=VALUE", action="append", default=[], help="bind a query parameter (repeatable)"
    )
    query.add_argument(
        "--format",
        choices=["table", "csv", "tsv", "json", "xml"],
        default="table",
        help="table (default), or a W3C SPARQL results format (JSON, XML, CSV, TSV); CONSTRUCT and DESCRIBE give Turtle",
    )
    store_option(query)
    release_option(query)
    endpoint_options(query)
    query.set_defaults(run=_cmd_query)
    _publish_parser(commands)


def _publish_parser(commands) -> None:
    publish = commands.add_parser(
        "publish",
        help="upload the store's graphs to a SPARQL server (Graph Store Protocol)",
        description="Upload each named graph of the store to a SPARQL 1.1 server so that a failure changes "
        "nothing published: each graph goes up under a temporary name (Graph Store HTTP Protocol, N-Triples, in "
        "chunks of 20,000 triples) and its count is checked; then one SPARQL Update moves them all in place, the "
        "metadata graph last. Publishing again replaces; graphs an earlier publish listed that the store no longer "
        "has are removed (--keep-stale keeps them). A server that takes no SPARQL Update gets the graphs one by "
        "one, with a warning that the publish is not atomic. Exit 1, with no success line, on any failure.",
        epilog="Example:\n  oxigraph serve --location server-data --bind 127.0.0.1:7878 &\n"
        "  attack-kg publish --endpoint http://127.0.0.1:7878 --store S\n"
        "  attack-kg query countermeasures --param technique=T1204.001 --endpoint http://127.0.0.1:7878\n\n"
        + ENDPOINT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    endpoint_options(publish, publish=True)
    publish.add_argument(
        "--keep-stale", action="store_true", help="keep graphs of an earlier publish that the store no longer has"
    )
    publish.add_argument("--progress", action="store_true", help="show progress even when stderr is not a terminal")
    publish.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    store_option(publish)

    publish.set_defaults(run=_cmd_publish)


def _cmd_query(args: argparse.Namespace) -> int:
    from attackkg.queries import library, query_form, resolve, run

    if args.list:
        for name, named in library().items():
            print(f"{name:20} {named.summary}")
            for param, described in named.params.items():
                print(f"{'':20}   --param {param}=  {described}")
        return 0
    if not args.query:
        raise InputError("name a query (attack-kg query --list shows them), a .rq file, or - for stdin")
    params = {}
    for item in args.param:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise InputError(f"--param takes NAME=VALUE, not {quoted(item)}")
        params[name] = value
    named = resolve(args.query)
    params = checked_params(named, params)
    if args.endpoint or args.query_url:
        if args.store is not None:
            raise InputError("give --store (the local store) or --endpoint (a SPARQL server), not both")
        target = _endpoint(args)
        query_form(named)  # an update is refused before anything is sent, the check included
        warning = target.publish_warning()
        if warning:
            print(f"attack-kg: warning: {warning}", file=sys.stderr)
    else:
        target = local_target(args)
    result = run(target, named, **params)
    write_result(result, args.format)
    return 0


def checked_params(named, params: dict[str, str]) -> dict[str, str]:
    """Parameters a query's ``# param`` line calls an ID (``technique``, ``group``) are checked
    as IDs (:func:`~attackkg.ontology.identifiers.check_identifier`: not empty, no look-alike
    characters); any other value only for IDs in look-alike characters."""
    from attackkg.ontology.identifiers import check_identifier, refuse_look_alike

    checked = {}
    for name, value in params.items():
        described = named.params.get(name, "")
        if re.search(r"\bID\b", described):
            checked[name] = check_identifier(value, what=f"--param {name}")
        else:
            refuse_look_alike(value, what=f"--param {name}")
            checked[name] = value
    return checked


def _endpoint(args: argparse.Namespace):
    from attackkg.queries.endpoint import endpoint

    return endpoint(
        args.endpoint,
        query_url=args.query_url,
        store_url=getattr(args, "store_url", None),
        update_url=getattr(args, "update_url", None),
        timeout=args.timeout,
    )


def _cmd_publish(args: argparse.Namespace) -> int:
    from attackkg.builders.store import open_store
    from attackkg.queries.publish import publish

    if not (args.endpoint or args.store_url):
        raise InputError("publish needs the server: --endpoint BASE (Oxigraph layout) or --store-url and --query-url")
    target = _endpoint(args)
    progress = Progress(not args.quiet and (args.progress or sys.stderr.isatty()))
    warn = lambda message: print(f"attack-kg: warning: {message}", file=sys.stderr)  # noqa: E731
    result = publish(open_store(args.store), target, prune=not args.keep_stale, progress=progress, warn=warn)
    if not result.ok:  # no success line: say which graphs differ
        for g in (g for g in result.graphs if not g.ok):
            print(
                f"attack-kg: {g.graph}: the server holds {g.server_triples} triples, the store {g.triples}",
                file=sys.stderr,
            )
        return 1
    if not args.quiet:
        columns = ["graph", "triples", "on server", "seconds"]
        table = [[g.graph, str(g.triples), str(g.server_triples), f"{g.seconds:.1f}"] for g in result.graphs]
        print(format_table(columns, table, width=120))
        for graph in result.removed:
            print(f"removed {graph} (an earlier publish; no longer in the store)")
        print(
            f"published {result.triples} triples in {len(result.graphs)} graphs to {target.safe_store_url} "
            f"in {result.seconds:.1f} s" + ("" if result.atomic else " (not atomic: the server takes no updates)")
        )
    return 0
