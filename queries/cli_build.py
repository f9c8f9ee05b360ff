"""``attack-kg build``, ``lock``, ``info``, ``export`` and ``diff``: making and reading stores."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from attackkg.builders.files import write_text
from attackkg.queries.cli_common import EXAMPLE_BUILD, Progress, format_table, store_option


def register(commands) -> None:
    """Add this module's commands to the ``attack-kg`` subparsers."""
    build = commands.add_parser(
        "build",
        help="build the sources into a store",
        description="Build the given sources into a new store and swap it in when complete. "
        "A failed or interrupted build (Ctrl-C, SIGTERM, SIGHUP) leaves the previous store as it was. "
        "Before writing, what killed builds left is removed and the free space is checked: the new store "
        "takes up to about 1.4 times its finished size (about 200 MB for the full data) beside the current "
        "one and the previous one, kept for readers ('attack-kg info' shows their size).",
        epilog=f"Example:\n  {EXAMPLE_BUILD}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _source_flags(build)
    build.add_argument("--progress", action="store_true", help="show progress even when stderr is not a terminal")
    build.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    _source_args(build)
    store_option(build)

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
    store_option(export)

    info = commands.add_parser(
        "info",
        help="what the store holds: sources, versions, counts",
        description="List the store's named graphs with source, version, SHA-256, "
        "triple count and build time, from its metadata graph (sources in the order a build reads "
        "them, derived graphs last), and the store's size on disk (the current build, the previous one "
        "kept for readers) with the room a rebuild needs.",
    )
    info.add_argument("--json", action="store_true", help="print JSON instead of a table")
    info.add_argument(
        "--warnings", action="store_true", help="list what the builders skipped or doubted (bad rules, unknown tags)"
    )
    info.add_argument(
        "--releases",
        action="store_true",
        help="list the ATT&CK releases --attack-version can fetch and verify (MITRE's SHA-256 table); needs no store",
    )
    store_option(info)
    build.set_defaults(run=_cmd_build)
    lock.set_defaults(run=_cmd_lock)
    export.set_defaults(run=_cmd_export)
    info.set_defaults(run=_cmd_info)
    _diff_parser(commands)


def _source_flags(build: argparse.ArgumentParser) -> None:
    """One flag per registered source kind (``--attack``, ...), its options, and ``--strict``."""
    from attackkg.builders import registry

    for kind in registry.kinds():
        several = {"nargs": "+", "default": []} if kind.several else {}
        build.add_argument(kind.flag, metavar="PATH", type=Path, help=kind.help, dest=kind.keyword, **several)
    lenient = " or ".join(kind.title for kind in registry.kinds() if kind.lenient)
    build.add_argument(
        "--strict",
        action="store_true",
        help=f"fail on the first bad file or item of {lenient} (default: skip it and report it)",
    )
    for kind in registry.kinds():
        for option in kind.options:
            build.add_argument(option.flag, action="store_true", dest=option.keyword, help=option.help)


def _source_args(parser: argparse.ArgumentParser) -> None:
    """The flags that choose pinned releases: lock file, per-source override, offline, versions."""
    group = parser.add_argument_group(
        "pinned sources",
        f"With no {_flags()}, the releases pinned in the package (or in --lock) are "
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
    group.add_argument(
        "--attack-version",
        metavar="VERSION",
        help="ATT&CK release to fetch, any of 'attack-kg info --releases', checked against MITRE's SHA-256 "
        "(default: the pinned one, the newest)",
    )
    group.add_argument(
        "--domain",
        nargs="+",
        choices=["enterprise", "mobile", "ics", "all"],
        help="ATT&CK domains to fetch (default: enterprise, or what the lock file holds)",
    )



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

    diff.set_defaults(run=_cmd_diff)


def _flags() -> str:
    """``--attack/--d3fend/--sigma/--atomic``: the source flags, from the registry."""
    from attackkg.builders import registry

    return "/".join(kind.flag for kind in registry.kinds())


def _cmd_build(args: argparse.Namespace) -> int:
    from attackkg.builders import registry
    from attackkg.builders.build import build_store
    from attackkg.builders.store import default_store_dir

    store_dir = args.store or default_store_dir()
    progress = Progress(not args.quiet and (args.progress or sys.stderr.isatty()))
    pinned_flags = args.lock or args.source or args.offline or args.attack_version or args.domain
    given = {kind.keyword: getattr(args, kind.keyword) for kind in registry.kinds()}
    if any(given.values()):
        if pinned_flags:
            print(
                f"attack-kg: {_flags()} build the files given; --lock, --source, --offline, "
                "--attack-version and --domain choose pinned releases. Use one or the other "
                "(--source KEY=PATH puts a local file in place of one pinned release).",
                file=sys.stderr,
            )
            return 2
        inputs = given
    else:
        inputs = _pinned_inputs(args, progress)
    options = {option.keyword: getattr(args, option.keyword) for kind in registry.kinds() for option in kind.options}
    result = build_store(store_dir, **inputs, **options, strict=args.strict, progress=progress)
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
    from attackkg.builders.store import open_store
    from attackkg.queries.export import export, export_format

    export_format(args.file)  # an unknown extension fails before the store is opened
    Progress(sys.stderr.isatty())(f"writing {args.file} (a few seconds for a full build)")
    written = export(open_store(args.store), args.file)
    print(f"wrote {written} to {args.file}")
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    import json

    from attackkg.builders.store import open_store
    from attackkg.queries import rows

    if args.releases:
        return _print_releases(args)
    store = open_store(args.store)
    if args.warnings:
        for row in rows(store, "warnings"):
            print(f"{row['kind']}: {row['warning']}")
        return 0
    from attackkg.builders import registry

    order = {name: index for index, name in enumerate(registry.names())}  # then derived, unknown kinds
    graphs = sorted(rows(store, "sources"), key=lambda g: (order.get(str(g.get("kind")), len(order)), str(g["graph"])))
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
    print(_disk_line(args.store))
    notes = len(rows(store, "warnings"))
    print(f"(graph names under {GRAPH}; --json gives every field in full", file=sys.stderr, end="")
    print(f"; {notes} warning(s): --warnings lists them)" if notes else ")", file=sys.stderr)
    return 0


def _disk_line(store_dir) -> str:
    """``on disk: ...``: the store's size, generation by generation, and what a rebuild needs."""
    from attackkg.builders.store import PEAK_OVER_FINISHED, default_store_dir, megabytes, store_disk_bytes

    store_dir = store_dir or default_store_dir()
    sizes = store_disk_bytes(store_dir)
    parts = [f"current {megabytes(sizes['current'])}"]
    if sizes["previous"]:
        parts.append(f"previous {megabytes(sizes['previous'])}, kept for readers")
    if sizes["other"]:
        parts.append(f"{megabytes(sizes['other'])} left by interrupted builds, removed by the next build")
    rebuild = int(sizes["current"] * PEAK_OVER_FINISHED)
    return (
        f"on disk: {megabytes(sizes['total'])} in {store_dir} ({'; '.join(parts)}); "
        f"a rebuild of the same sources needs about {megabytes(rebuild)} free"
    )


def _print_releases(args: argparse.Namespace) -> int:
    """``info --releases``: per domain and format, the versions of the release table."""
    import json

    from attackkg.builders import releases

    listing = releases.listing()
    if args.json:
        print(json.dumps(listing, indent=2))
        return 0
    for row in listing:
        print(f"{row['domain']} {row['format']} (newest {row['newest']}): {row['versions']}")
    print(
        "(SHA-256 of each file from mitreattack-python 6.3.1's release_info.py; the pins fetch STIX21 from "
        "attack-stix-data: attack-kg build --attack-version V [--domain ...])",
        file=sys.stderr,
    )
    return 0


def _cmd_diff(args: argparse.Namespace) -> int:
    import json

    from attackkg.queries.diff import diff_stores

    result = diff_stores(args.old, args.new)
    if args.format == "json":
        text = json.dumps(result.to_json(), indent=2, ensure_ascii=False) + "\n"
    else:
        text = result.to_markdown(limit=args.limit)
    if args.output is None:
        sys.stdout.write(text)
        return 0
    write_text(args.output, text, what="write the diff")
    print(f"wrote {args.output}", file=sys.stderr)
    return 0

