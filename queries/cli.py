"""``attack-kg``: the command line, a thin caller of the library.

Bad input prints one ``path:line: message`` line on stderr and exits 1; usage errors exit 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from attackkg.builders.base import InputError

EXAMPLE_BUILD = (
    "attack-kg build --attack ../shared/data/attack/enterprise-attack-18.1.json.gz \\\n"
    "    --d3fend ../shared/data/d3fend/1.2.0/d3fend.ttl --sigma ../shared/data/sigma --store S"
)


class Progress:
    """Progress lines on stderr when it is a terminal (or when asked), silent otherwise."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, message: str) -> None:
        if self.enabled:
            print(f"attack-kg: {message}", file=sys.stderr, flush=True)


def _store_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--store",
        metavar="DIR",
        type=Path,
        help="store folder (default: $ATTACK_KG_STORE, else attack-kg/store in your user data folder)",
    )


def _source_args(parser: argparse.ArgumentParser) -> None:
    """The flags that choose pinned releases: lock file, per-source override, offline, versions."""
    group = parser.add_argument_group(
        "pinned sources",
        "With no --attack/--d3fend/--sigma/--atomic, the releases pinned in the package (or in --lock) are "
        "downloaded, checked by SHA-256 and cached; $ATTACK_KG_MIRROR (a base URL or a folder laid out as "
        "<host>/<path>) stands in for the upstream hosts, $ATTACK_KG_CACHE moves the cache.",
    )
    group.add_argument("--lock", metavar="FILE", type=Path, help="the sources of this lock file (attack-kg lock)")
    group.add_argument(
        "--source",
        metavar="KEY=URL_OR_PATH",
        action="append",
        default=[],
        help="fetch one source (attack-enterprise, d3fend, sigma, atomic, ...) from a mirror URL or a local file "
        "(repeatable); a pinned SHA-256 is still checked",
    )
    group.add_argument("--offline", action="store_true", help="use the cache and local files only, never the network")
    group.add_argument("--attack-version", metavar="VERSION", help="ATT&CK release to fetch (default: the pinned one)")
    group.add_argument(
        "--domain",
        nargs="+",
        choices=["enterprise", "mobile", "ics", "all"],
        help="ATT&CK domains to fetch (default: enterprise, or what the lock file holds)",
    )


ENDPOINT_HELP = (
    "SPARQL server URLs: --endpoint BASE uses Oxigraph's layout, queries at BASE/query and the Graph Store at\n"
    "BASE/store (a URL ending in /query is taken as the query URL). Other servers: give --query-url (and\n"
    "--store-url to publish), e.g. Fuseki .../ds/sparql and .../ds/data. Credentials come from the environment,\n"
    "never from the command line, and are never printed: ATTACK_KG_ENDPOINT_TOKEN (bearer token), or\n"
    "ATTACK_KG_ENDPOINT_USER and ATTACK_KG_ENDPOINT_PASSWORD (HTTP basic)."
)


def _endpoint_args(parser: argparse.ArgumentParser, publish: bool = False) -> None:
    parser.add_argument(
        "--endpoint",
        metavar="URL",
        required=False,
        help="SPARQL server base URL: queries go to URL/query"
        + (", graphs to URL/store" if publish else "")
        + " (Oxigraph's layout; see below)",
    )
    parser.add_argument("--query-url", metavar="URL", help="the server's SPARQL query URL, when not BASE/query")
    if publish:
        parser.add_argument(
            "--store-url", metavar="URL", help="the server's Graph Store Protocol URL, when not BASE/store"
        )
    parser.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=float,
        default=60.0,
        help="give up on a request to the server after this long (default: 60)",
    )


def _publish_parser(commands) -> None:
    publish = commands.add_parser(
        "publish",
        help="upload the store's graphs to a SPARQL server (Graph Store Protocol)",
        description="Upload each named graph of the store, the metadata graph last, to a SPARQL 1.1 server "
        "with the Graph Store HTTP Protocol (PUT ...?graph=IRI, N-Triples), so that publishing again replaces "
        "them; graphs an earlier publish listed that the store no longer has are deleted (--keep-stale keeps "
        "them). Then a COUNT query per graph checks the server holds as many triples; a difference exits 1.",
        epilog="Example:\n  oxigraph serve --location server-data --bind 127.0.0.1:7878 &\n"
        "  attack-kg publish --endpoint http://127.0.0.1:7878 --store S\n"
        "  attack-kg query countermeasures --param technique=T1204.001 --endpoint http://127.0.0.1:7878\n\n"
        + ENDPOINT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _endpoint_args(publish, publish=True)
    publish.add_argument(
        "--keep-stale", action="store_true", help="keep graphs of an earlier publish that the store no longer has"
    )
    publish.add_argument("--progress", action="store_true", help="show progress even when stderr is not a terminal")
    publish.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    _store_arg(publish)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="attack-kg",
        description=(
            "Build MITRE ATT&CK, D3FEND, Sigma rules and Atomic Red Team tests into one RDF graph, "
            "then ask it what counters and what detects a technique."
        ),
        epilog=f"Start with:\n  {EXAMPLE_BUILD}\n  attack-kg query countermeasures --param technique=T1204.001 --store S\n\n"
        "Each command has its own --help.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    build = commands.add_parser(
        "build",
        help="build the sources into a store",
        description="Build the given sources into a new store and swap it in when complete. "
        "A failed or interrupted build leaves the previous store as it was.",
        epilog=f"Example:\n  {EXAMPLE_BUILD}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    build.add_argument(
        "--attack",
        metavar="PATH",
        nargs="+",
        default=[],
        type=Path,
        help="ATT&CK STIX bundle(s), .json or .json.gz, STIX 2.0 or 2.1, any domain (each gets its own graph)",
    )
    build.add_argument("--d3fend", metavar="PATH", type=Path, help="D3FEND ontology in Turtle (d3fend.ttl)")
    build.add_argument(
        "--sigma",
        metavar="PATH",
        nargs="+",
        default=[],
        type=Path,
        help="Sigma rules: the repository folder (rules*/ are read), any rule folder, or a release zip",
    )
    build.add_argument(
        "--atomic",
        metavar="PATH",
        type=Path,
        help="Atomic Red Team: the repository folder (atomics/T*/T*.yaml) or a release archive",
    )
    build.add_argument(
        "--strict",
        action="store_true",
        help="fail on the first bad Sigma rule or Atomic file (default: skip it and report it)",
    )
    build.add_argument("--sigma-deprecated", action="store_true", help="also read Sigma's deprecated/ rules")
    build.add_argument("--sigma-unsupported", action="store_true", help="also read Sigma's unsupported/ rules")
    build.add_argument("--progress", action="store_true", help="show progress even when stderr is not a terminal")
    build.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    _source_args(build)
    _store_arg(build)

    lock = commands.add_parser(
        "lock",
        help="download the pinned releases and write a lock file (URL, version, SHA-256 each)",
        description="Fetch the pinned sources (or those of --lock), verify them, and write a lock file that "
        "'attack-kg build --lock FILE' builds exactly. A source pinned without a SHA-256 gets the hash of its "
        "first download (trust on first use), and says so.",
        epilog="Example:\n  attack-kg lock -o sources.lock.json --domain enterprise mobile\n"
        "  attack-kg build --lock sources.lock.json --store S",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    lock.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        type=Path,
        default=Path("sources.lock.json"),
        help="default: sources.lock.json",
    )
    lock.add_argument("--progress", action="store_true", help="show progress even when stderr is not a terminal")
    _source_args(lock)

    export = commands.add_parser(
        "export",
        help="write the store as Turtle, TriG, N-Quads, N-Triples, JSON-LD, or a networkx graph (GraphML, GEXF, JSON)",
        description="Write the built graph to FILE; the format comes from the extension: "
        ".ttl and .nt merge all graphs, .trig, .nq and .jsonld keep the named graphs; "
        ".graphml, .gexf and .json write the typed networkx graph (nodes with kind, label, id, iri; edges with "
        "predicate and graph; no schema or literals) with networkx's own writers.",
    )
    export.add_argument(
        "file", metavar="FILE", type=Path, help="output file (.ttl, .trig, .nq, .nt, .jsonld, .graphml, .gexf, .json)"
    )
    _store_arg(export)

    info = commands.add_parser(
        "info",
        help="what the store holds: sources, versions, counts",
        description="List the store's named graphs with source, version, SHA-256, "
        "triple count and build time, from its metadata graph.",
    )
    info.add_argument("--json", action="store_true", help="print JSON instead of a table")
    info.add_argument(
        "--warnings", action="store_true", help="list what the builders skipped or doubted (bad rules, unknown tags)"
    )
    _store_arg(info)

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
    _store_arg(query)
    _endpoint_args(query)
    _publish_parser(commands)
    _report_parsers(commands)
    _graph_commands(commands)
    _diff_parser(commands)
    return parser


def _diff_parser(commands) -> None:
    """``diff``: what changed between two stores, per source and in users' terms."""
    diff = commands.add_parser(
        "diff",
        help="what changed between two stores: triples, techniques, countermeasure mappings, Sigma rules",
        description="Compare two built stores source by source (ATT&CK per domain, D3FEND, the derived "
        "countermeasures, Sigma, Atomic Red Team): triples added and removed, techniques added, renamed, "
        "revoked, deprecated, moved between tactics or otherwise changed, countermeasure mappings gained "
        "and lost, Sigma rules added, removed or changed status.",
        epilog="Example:\n  attack-kg build --attack enterprise-attack-18.0.json.gz --store old\n"
        "  attack-kg build --attack enterprise-attack-18.1.json.gz --store new\n  attack-kg diff old new",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    diff.add_argument("old", metavar="OLD", type=Path, help="the older store folder")
    diff.add_argument("new", metavar="NEW", type=Path, help="the newer store folder")
    diff.add_argument("--format", choices=["markdown", "json"], default="markdown", help="default: markdown")
    diff.add_argument("--limit", type=int, default=50, metavar="N", help="Markdown: rows per list (default 50; 0: all)")
    diff.add_argument("-o", "--output", metavar="FILE", type=Path, help="write here instead of stdout")


def _report_parsers(commands) -> None:
    """``report`` (the per-technique coverage page) and ``layer`` (ATT&CK Navigator layers)."""
    report = commands.add_parser(
        "report",
        help="the coverage page of a technique: D3FEND, Sigma, Atomic Red Team, with totals",
        description="Print the coverage page of one ATT&CK technique (title, tactics, ATT&CK's description, "
        "D3FEND countermeasures, Sigma rule files, Atomic Red Team tests, each with its total over all "
        "techniques and the release it comes from), or with --all write one page per technique and an index.",
        epilog="Examples:\n  attack-kg report T1204.001\n  attack-kg report T1204.002 --format html -o T1204.002.html\n"
        "  attack-kg report --all -o pages/",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    report.add_argument("technique", metavar="TECHNIQUE", nargs="?", help="ATT&CK technique ID (T1204.001)")
    report.add_argument("--all", action="store_true", help="every technique: one page each and an index, into -o DIR")
    report.add_argument("--format", choices=["markdown", "html"], default="markdown", help="default: markdown")
    report.add_argument(
        "-o", "--output", metavar="FILE|DIR", type=Path, help="write here (a folder with --all) instead of stdout"
    )
    _store_arg(report)

    layer = commands.add_parser(
        "layer",
        help="an ATT&CK Navigator layer (format 4.5) scoring techniques by coverage",
        description="Write an ATT&CK Navigator layer (layer format 4.5) that scores every technique of the domain "
        "by its Sigma rule files, D3FEND countermeasures, ATT&CK mitigations, Atomic tests, or how many of "
        "those kinds cover it (combined). With --group, only the techniques the group uses are in the layer.",
        epilog="Example:\n  attack-kg layer --score combined --group G0016 -o apt29.json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    layer.add_argument(
        "--score", required=True, choices=["sigma", "d3fend", "mitigations", "atomic", "combined"], help="what to count"
    )
    layer.add_argument("--group", metavar="GROUP", help="only this group's techniques (G0016, or a name or alias)")
    layer.add_argument(
        "--domain", choices=["enterprise", "mobile", "ics"], default="enterprise", help="default: enterprise"
    )
    layer.add_argument("-o", "--output", metavar="FILE", type=Path, help="layer file to write (default: stdout)")
    _store_arg(layer)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return COMMANDS[args.command](args)
    except InputError as error:
        print(f"attack-kg: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("attack-kg: interrupted; the previous store is unchanged", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


def _cmd_build(args: argparse.Namespace) -> int:
    from attackkg.builders.build import build_store
    from attackkg.builders.store import default_store_dir

    store_dir = args.store or default_store_dir()
    progress = Progress(not args.quiet and (args.progress or sys.stderr.isatty()))
    pinned_flags = args.lock or args.source or args.offline or args.attack_version or args.domain
    if args.attack or args.d3fend or args.sigma or args.atomic:
        if pinned_flags:
            print(
                "attack-kg: --attack/--d3fend/--sigma/--atomic build the files given; --lock, --source, --offline, "
                "--attack-version and --domain choose pinned releases. Use one or the other "
                "(--source KEY=PATH puts a local file in place of one pinned release).",
                file=sys.stderr,
            )
            return 2
        inputs = {"attack_paths": args.attack, "d3fend_path": args.d3fend}
        inputs.update(sigma_paths=args.sigma, atomic_path=args.atomic)
    else:
        inputs = _pinned_inputs(args, progress)
    result = build_store(
        store_dir,
        **inputs,
        strict=args.strict,
        sigma_deprecated=args.sigma_deprecated,
        sigma_unsupported=args.sigma_unsupported,
        progress=progress,
    )
    if args.quiet:
        return 0
    for report in result.reports:
        skipped = f", {len(report.skipped)} skipped" if report.skipped else ""
        print(f"{report.graph}: {report.triples} triples{skipped}")
        for problem in report.skipped[:20]:
            print(f"  skipped: {problem}", file=sys.stderr)
        if len(report.skipped) > 20:
            print(f"  ... and {len(report.skipped) - 20} more skipped (see 'attack-kg info --warnings')", file=sys.stderr)
        for warning in report.warnings[:10]:
            print(f"  warning: {warning}", file=sys.stderr)
        if len(report.warnings) > 10:
            print(f"  ... and {len(report.warnings) - 10} more warnings (see 'attack-kg info --warnings')", file=sys.stderr)
    print(f"built {result.triples} triples into {store_dir} in {result.seconds:.1f} s")
    return 0


def _fetch_pinned(args: argparse.Namespace, progress: Progress) -> list:
    from attackkg.builders import sources

    return sources.prepare(
        args.lock,
        overrides=args.source,
        offline=args.offline,
        attack_version=args.attack_version,
        domains=args.domain,
        say=progress,
        meter=sources.terminal_meter(progress.enabled),
    )


def _pinned_inputs(args: argparse.Namespace, progress: Progress) -> dict:
    """Fetch (or find in the cache) the pinned releases; the build_store arguments for them."""
    from attackkg.builders import sources

    fetched = _fetch_pinned(args, progress)
    unverified = [item.source.key for item in fetched if not item.verified]
    if unverified and not args.quiet:
        print(
            f"attack-kg: warning: no pinned SHA-256 for {', '.join(unverified)}: not verified, trusted as first "
            "found ('attack-kg lock' records the hashes; 'build --lock' then checks them)",
            file=sys.stderr,
        )
    return sources.build_inputs(fetched)


def _cmd_lock(args: argparse.Namespace) -> int:
    from attackkg.builders import sources

    progress = Progress(args.progress or sys.stderr.isatty())
    fetched = _fetch_pinned(args, progress)
    sources.write_lock(fetched, args.output)
    for item in fetched:
        state = "verified" if item.verified else "recorded on first download (unverified pin)"
        print(f"{item.source.key:18} {item.source.version:12} {item.sha256}  {item.how}, {state}")
    print(f"wrote {args.output}")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from attackkg.builders.store import export, open_store

    Progress(sys.stderr.isatty())(f"writing {args.file} (a few seconds for a full build)")
    if args.file.suffix.lower() in GRAPH_FORMATS:
        from attackkg.queries.graph import to_networkx, write_graph

        nodes, edges = write_graph(to_networkx(open_store(args.store)), args.file)
        print(f"wrote {nodes} nodes and {edges} edges to {args.file}")
        return 0
    count = export(open_store(args.store), args.file)
    print(f"wrote {count} {'quads' if args.file.suffix in ('.trig', '.nq', '.jsonld') else 'triples'} to {args.file}")
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    import json

    from attackkg.builders.store import open_store
    from attackkg.queries import rows

    store = open_store(args.store)
    if args.warnings:
        for row in rows(store, "warnings"):
            print(f"{row['kind']}: {row['warning']}")
        return 0
    graphs = rows(store, "sources")
    if args.json:
        print(json.dumps(graphs, indent=2, default=str))
        return 0
    from attackkg.ontology.namespaces import GRAPH

    columns = ["graph", "kind", "version", "triples", "skipped", "sha256", "built"]
    table = [["" if g.get(c) is None else str(g[c]) for c in columns] for g in graphs]
    for row in table:
        row[0] = row[0].removeprefix(GRAPH)
        row[5] = row[5][:12]
    print(format_table(columns, table))
    notes = len(rows(store, "warnings"))
    print(f"(graph names under {GRAPH}; --json gives every field in full", file=sys.stderr, end="")
    print(f"; {notes} warning(s): --warnings lists them)" if notes else ")", file=sys.stderr)
    return 0


def _cmd_query(args: argparse.Namespace) -> int:
    from attackkg.builders.store import open_store
    from attackkg.queries import library, resolve, run

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
            raise InputError(f"--param takes NAME=VALUE, not {item!r}")
        params[name] = value
    named = resolve(args.query)
    if args.endpoint or args.query_url:
        if args.store is not None:
            raise InputError("give --store (the local store) or --endpoint (a SPARQL server), not both")
        target = _endpoint(args)
    else:
        target = open_store(args.store)
    result = run(target, named, **params)
    write_result(result, args.format)
    return 0


def _endpoint(args: argparse.Namespace):
    from attackkg.queries.endpoint import endpoint

    return endpoint(
        args.endpoint,
        query_url=args.query_url,
        store_url=getattr(args, "store_url", None),
        timeout=args.timeout,
    )


def _cmd_publish(args: argparse.Namespace) -> int:
    from attackkg.builders.store import open_store
    from attackkg.queries.endpoint import publish

    if not (args.endpoint or args.store_url):
        raise InputError("publish needs the server: --endpoint BASE (Oxigraph layout) or --store-url and --query-url")
    target = _endpoint(args)
    progress = Progress(not args.quiet and (args.progress or sys.stderr.isatty()))
    result = publish(open_store(args.store), target, prune=not args.keep_stale, progress=progress)
    if not args.quiet:
        columns = ["graph", "triples", "on server", "seconds"]
        table = [
            [g.graph, str(g.triples), "" if g.server_triples is None else str(g.server_triples), f"{g.seconds:.1f}"]
            for g in result.graphs
        ]
        print(format_table(columns, table, width=80))
        for graph in result.removed:
            print(f"removed {graph} (an earlier publish; no longer in the store)")
        print(
            f"published {result.triples} triples in {len(result.graphs)} graphs to {target.safe_store_url} "
            f"in {result.seconds:.1f} s"
        )
    if not result.ok:
        wrong = [g for g in result.graphs if not g.ok]
        for g in wrong:
            print(
                f"attack-kg: {g.graph}: the server holds {g.server_triples} triples, the store {g.triples}",
                file=sys.stderr,
            )
        return 1
    return 0


def write_result(result, fmt: str) -> None:
    """Print a query result: a table, or a W3C SPARQL results format; Turtle for graphs."""
    out = sys.stdout
    if result.type in ("CONSTRUCT", "DESCRIBE"):
        out.write(result.graph.serialize(format="turtle"))
        return
    if fmt == "table":
        if result.type == "ASK":
            print("true" if result.askAnswer else "false")
            return
        columns = [str(v) for v in result.vars]
        table = [[_cell(row.get(var)) for var in result.vars] for row in result.bindings]
        print(format_table(columns, table))
        print(f"({len(table)} row{'s' if len(table) != 1 else ''})", file=sys.stderr)
        return
    if result.type == "ASK" and fmt in ("csv", "tsv"):  # the W3C CSV/TSV formats have no booleans
        print("true" if result.askAnswer else "false")
        return
    if fmt == "tsv":  # rdflib has no TSV results serializer
        out.write(_tsv(result))
        return
    data = result.serialize(format=fmt)
    out.write(data.decode("utf-8") if isinstance(data, bytes) else data)
    if fmt in ("json", "xml"):
        out.write("\n")


def _tsv(result) -> str:
    """SPARQL 1.1 Query Results TSV: ``?var`` headers, each term in N-Triples syntax (tabs and
    line breaks in literals escaped by pyoxigraph's serializer), an empty cell when unbound."""
    import pyoxigraph as ox
    import rdflib

    def term(value) -> str:
        if value is None:
            return ""
        if isinstance(value, rdflib.URIRef):
            return str(ox.NamedNode(str(value)))
        if isinstance(value, rdflib.BNode):
            return f"_:{value}"
        if value.language:
            return str(ox.Literal(str(value), language=value.language))
        if value.datatype is not None and str(value.datatype) != XSD_STRING:
            return str(ox.Literal(str(value), datatype=ox.NamedNode(str(value.datatype))))
        return str(ox.Literal(str(value)))

    lines = ["\t".join(f"?{v}" for v in result.vars)]
    lines += ["\t".join(term(row.get(v)) for v in result.vars) for row in result.bindings]
    return "\n".join(lines) + "\n"


XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


def _cell(value) -> str:
    return "" if value is None else str(value)


def format_table(columns: list[str], table: list[list[str]], width: int = 60) -> str:
    """A plain-text table, each cell cut at ``width`` characters."""
    cut = [[c if len(c) <= width else c[: width - 1] + "…" for c in row] for row in table]
    widths = [max([len(col)] + [len(row[i]) for row in cut]) for i, col in enumerate(columns)]
    lines = ["  ".join(col.ljust(w) for col, w in zip(columns, widths)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cut]
    return "\n".join(lines)


def _cmd_report(args: argparse.Namespace) -> int:
    from attackkg.builders.store import open_store
    from attackkg.queries import report

    if args.all:
        if args.technique:
            raise InputError("give a technique or --all, not both")
        if args.output is None:
            raise InputError("--all writes one file per technique: give the folder with -o DIR")
        written = report.write_all(open_store(args.store), args.output, args.format)
        print(f"wrote {len(written) - 1} technique pages and {written[-1]}")
        return 0
    if not args.technique:
        raise InputError("name a technique (attack-kg report T1204.001), or --all -o DIR")
    page = report.report(open_store(args.store), args.technique, args.format)
    if args.output is None:
        sys.stdout.write(page)
    else:
        report.write_text(args.output, page)
    return 0


def _cmd_layer(args: argparse.Namespace) -> int:
    from attackkg.builders.store import open_store
    from attackkg.queries import layer

    built = layer.build_layer(open_store(args.store), args.score, group=args.group, domain=args.domain)
    if args.output is None:
        sys.stdout.write(layer.to_json(built))
    else:
        layer.write_layer(built, args.output)
        print(
            f"wrote {args.output}: {len(built['techniques'])} technique entries, ATT&CK {built['versions']['attack']}"
        )
    return 0


# --- networkx: paths and set cover (queries/graph.py, queries/paths.py) ---------------------------

GRAPH_FORMATS = (".graphml", ".gexf", ".json")
PATH_KIND_CHOICES = ("d3fend", "mitigation", "mitigation-d3fend", "sigma", "all")


def _graph_commands(commands) -> None:
    paths = commands.add_parser(
        "paths",
        help="every path from a technique to what counters or detects it",
        description="Walk the graph from an ATT&CK technique to its countermeasures, by kind: d3fend (D3FEND's "
        "artifact inference, hop by hop: technique -relation-> artifact -subClassOf-> ... <-relation- defensive "
        "technique), mitigation (ATT&CK mitigations), mitigation-d3fend (D3FEND techniques related to those "
        "mitigations), sigma (rules on the technique or its sub-techniques). Shortest and most specific first.",
        epilog="Examples:\n  attack-kg paths T1204.001 --kind d3fend\n"
        "  attack-kg paths T1204.001 --format mermaid > paths.mmd\n"
        "  attack-kg paths T1204.001 --format dot | dot -Tsvg > paths.svg",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    paths.add_argument("technique", metavar="TECHNIQUE", help="ATT&CK technique ID (T1204.001)")
    paths.add_argument("--kind", choices=PATH_KIND_CHOICES, default="all", help="which paths (default: all)")
    paths.add_argument(
        "--format",
        choices=["table", "json", "mermaid", "dot"],
        default="table",
        help="table (default), json, mermaid (a flowchart GitHub renders) or dot (Graphviz)",
    )
    _store_arg(paths)

    cover = commands.add_parser(
        "cover",
        help="the fewest countermeasures covering the most of a group's (or campaign's) techniques",
        description="Greedy set cover: for the techniques of a group, campaign or software (what it uses), or of "
        "technique IDs, pick countermeasures one at a time, each covering the most techniques not yet covered, "
        "and print the coverage reached at each step. Also prints each kind's coverage of the set.",
        epilog="Examples:\n  attack-kg cover G0016 --kind d3fend --top 10\n  attack-kg cover T1204.001 T1566.002 T1059",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cover.add_argument(
        "names", metavar="ID", nargs="+", help="group (G0016), campaign (C0024), software or technique IDs"
    )
    cover.add_argument(
        "--kind",
        choices=[k for k in PATH_KIND_CHOICES if k != "all"],
        default="d3fend",
        help="what covers a technique (default: d3fend, D3FEND techniques by artifact inference)",
    )
    cover.add_argument("--top", metavar="N", type=int, help="stop after N countermeasures")
    cover.add_argument(
        "--include-software", action="store_true", help="also the techniques of the software the group uses"
    )
    cover.add_argument("--format", choices=["table", "json"], default="table", help="table (default) or json")
    _store_arg(cover)


def _path_graph(store_dir):
    from attackkg.builders.store import open_store
    from attackkg.queries.graph import to_networkx
    from attackkg.queries.paths import PATH_PREDICATES

    return to_networkx(open_store(store_dir), predicates=PATH_PREDICATES)


def _cmd_paths(args: argparse.Namespace) -> int:
    import json

    from attackkg.queries import paths as analysis

    graph = _path_graph(args.store)
    kinds = analysis.PATH_KINDS if args.kind == "all" else (args.kind,)
    technique = analysis.find_node(graph, args.technique)
    if graph.nodes[technique].get("kind") != "technique":
        raise InputError(f"{args.technique} is a {graph.nodes[technique].get('kind')}, not a technique")
    found = analysis.paths(graph, technique, kinds)
    if not found:
        _explain_no_paths(graph, technique, kinds)
    if args.format == "json":
        print(json.dumps(analysis.to_json(graph, technique, found), indent=2, ensure_ascii=False))
    elif args.format == "mermaid":
        text = analysis.to_mermaid(graph, found)
        edges = text.count(" -->|")
        if edges > 500 or len(text) > 50000:  # Mermaid's default maxEdges and maxTextSize
            print(
                f"attack-kg: warning: {edges} edges, {len(text)} characters: more than Mermaid (and GitHub) render "
                "by default (500 edges, 50,000 characters); narrow it with --kind",
                file=sys.stderr,
            )
        sys.stdout.write(text)
    elif args.format == "dot":
        sys.stdout.write(analysis.to_dot(graph, found, name=graph.nodes[technique]["id"]))
    else:
        columns = ["kind", "rank", "hops", "id", "countermeasure", "path"]
        table = [
            [
                p.kind,
                str(rank),
                str(len(p)),
                graph.nodes[p.countermeasure]["id"],
                graph.nodes[p.countermeasure]["label"],
                analysis.describe(graph, p),
            ]
            for rank, p in analysis.ranked(found)
        ]
        print(format_table(columns, table, width=160))
        counts = ", ".join(f"{len(analysis.countermeasures(found, k))} {k}" for k in kinds)
        print(f"({len(found)} paths to {counts})", file=sys.stderr)
    return 0


def _explain_no_paths(graph, technique: str, kinds) -> None:
    data = graph.nodes[technique]
    notes = []
    replaced = [v for v, keys in graph.succ[technique].items() if "akg:revokedBy" in keys]
    if data.get("revoked"):
        notes.append("it is revoked or deprecated" + (f"; see {graph.nodes[replaced[0]]['id']}" if replaced else ""))
    if "d3fend" in kinds and data.get("gap"):
        notes.append(f"D3FEND gap: {data['gap']}")
    why = f" ({'; '.join(notes)})" if notes else ""
    print(f"attack-kg: no {'/'.join(kinds)} paths from {data['id']}{why}", file=sys.stderr)


def _cmd_cover(args: argparse.Namespace) -> int:
    import json

    from attackkg.queries import paths as analysis

    if args.top is not None and args.top < 1:
        raise InputError("--top takes a positive number")
    graph = _path_graph(args.store)
    techniques = analysis.techniques_of(graph, args.names, include_software=args.include_software)
    if not techniques:
        raise InputError(f"{' '.join(args.names)}: no techniques to cover")
    cover_of = analysis.coverage(graph, techniques)
    result = analysis.set_cover(graph, techniques, kind=args.kind, top=args.top, cover_of=cover_of)
    names = [analysis.node_info(graph, analysis.find_node(graph, n)) for n in args.names]
    if args.format == "json":
        data = {
            "for": names,
            "techniques": [graph.nodes[t]["id"] for t in techniques],
            "coverage": cover_of.summary(),
            "kind": args.kind,
            "steps": [
                {
                    "step": i,
                    **analysis.node_info(graph, step.countermeasure),
                    "gained": [graph.nodes[t]["id"] for t in step.gained],
                    "covered": step.covered,
                    "fraction": round(step.fraction, 4),
                }
                for i, step in enumerate(result.steps, 1)
            ],
            "coverable": result.coverable,
            "uncovered": [graph.nodes[t]["id"] for t in result.uncovered],
        }
        print(json.dumps(data, indent=2, ensure_ascii=False))
        return 0
    who = ", ".join(f"{n['id']} {n['label']}" if n["label"] != n["id"] else n["id"] for n in names)
    total = len(techniques)
    print(f"{who}: {total} technique{'s' if total != 1 else ''}")
    shares = [f"{k} {v['covered']}/{total} ({100 * v['fraction']:.0f}%)" for k, v in cover_of.summary().items()]
    print("covered by " + ", ".join(shares))
    print()
    columns = ["step", "id", "countermeasure", "tactic", "new", "covered", "coverage"]
    table = [
        [
            str(i),
            graph.nodes[s.countermeasure]["id"],
            graph.nodes[s.countermeasure]["label"],
            graph.nodes[s.countermeasure].get("tactic", ""),
            f"+{len(s.gained)}",
            f"{s.covered}/{total}",
            f"{100 * s.fraction:.1f}%",
        ]
        for i, s in enumerate(result.steps, 1)
    ]
    print(format_table(columns, table))
    print()
    print(
        f"{result.covered} of {result.coverable} coverable techniques covered by {len(result.steps)} {args.kind} "
        f"countermeasures; {len(result.uncovered)} {'has' if len(result.uncovered) == 1 else 'have'} none"
    )
    if result.uncovered:
        print("  none: " + " ".join(graph.nodes[t]["id"] for t in result.uncovered))
    return 0


def _cmd_diff(args: argparse.Namespace) -> int:
    import json

    from attackkg.builders.diff import diff_stores

    result = diff_stores(args.old, args.new)
    if args.format == "json":
        text = json.dumps(result.to_json(), indent=2, ensure_ascii=False) + "\n"
    else:
        text = result.to_markdown(limit=args.limit)
    if args.output is None:
        sys.stdout.write(text)
        return 0
    try:
        args.output.write_text(text, encoding="utf-8")
    except OSError as error:
        raise InputError(f"cannot write: {error.strerror}", path=args.output) from None
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


COMMANDS = {"lock": _cmd_lock, "build": _cmd_build, "export": _cmd_export, "info": _cmd_info, "query": _cmd_query}
COMMANDS.update(paths=_cmd_paths, cover=_cmd_cover)
COMMANDS.update(report=_cmd_report, layer=_cmd_layer)
COMMANDS.update(diff=_cmd_diff)
COMMANDS.update(publish=_cmd_publish)


if __name__ == "__main__":
    sys.exit(main())
