"""``attack-kg report``, ``layer``, ``paths`` and ``cover``: a technique's coverage, Navigator
layers, and path analysis over the networkx graph (queries/graph.py, queries/paths.py)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from attackkg.builders.base import InputError
from attackkg.builders.files import write_text
from attackkg.ontology.identifiers import check_identifier, quoted
from attackkg.queries.cli_common import format_table, local_target, release_option, store_option
from attackkg.queries.control_graph import CONTROL_KINDS, FRAMEWORK_KINDS

PATH_KIND_CHOICES = ("d3fend", "mitigation", "mitigation-d3fend", "sigma", "atomic", *CONTROL_KINDS, "all")
# `cover` also takes one CTID framework, kev among them.
FRAMEWORK_CHOICES = tuple(FRAMEWORK_KINDS)


def register(commands) -> None:
    """Add this module's commands to the ``attack-kg`` subparsers."""
    _report_parsers(commands)
    _graph_commands(commands)


def _report_parsers(commands) -> None:
    """``report`` (the per-technique coverage page) and ``layer`` (ATT&CK Navigator layers)."""
    report = commands.add_parser(
        "report",
        help="the coverage page of a technique: D3FEND, Sigma, Atomic Red Team, controls, CAR, KEV, with totals",
        description="Print the coverage page of one ATT&CK technique (title, tactics, ATT&CK's description, "
        "D3FEND countermeasures, Sigma rule files, Atomic Red Team tests and, when the store has them, NIST SP "
        "800-53 controls, cloud security controls, MITRE CAR analytics and KEV exploited vulnerabilities, each with "
        "its total over all techniques and the release it comes from), or with --all write one page per technique and an index.",
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
    store_option(report)
    release_option(report)

    layer = commands.add_parser(
        "layer",
        help="an ATT&CK Navigator layer (format 4.5) scoring techniques by coverage",
        description="Write an ATT&CK Navigator layer (layer format 4.5) that scores every technique of the domain "
        "by its Sigma rule files, D3FEND countermeasures, ATT&CK mitigations, Atomic tests, how many of "
        "those kinds cover it (combined), the NIST SP 800-53 controls, CAR analytics or KEV CVEs mapped to it, "
        "or its telemetry coverage state under --telemetry (telemetry: 2 detectable "
        "now, 1 with more telemetry, 0 no rule; see attack-kg coverage). With --group, only the techniques the group uses are in the layer: as ATT&CK counts them, its own and those "
        "of the campaigns attributed to it (--direct-only: its own).",
        epilog="Examples:\n  attack-kg layer --score combined --group G0016 -o apt29.json\n"
        "  attack-kg layer --score telemetry --telemetry sysmon windows-security -o telemetry.json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    layer.add_argument(
        "--score",
        required=True,
        choices=["sigma", "d3fend", "mitigations", "atomic", "combined", "nist-800-53", "car", "kev", "telemetry"],
        help="what to count (nist-800-53, car, kev: CTID's NIST SP 800-53 controls, MITRE CAR analytics, "
        "KEV exploited vulnerabilities mapped to the technique; telemetry: the coverage state under --telemetry)",
    )
    layer.add_argument(
        "--telemetry", metavar="NAME|FILE", nargs="+", help="with --score telemetry: what you collect (as for coverage)"
    )
    layer.add_argument("--group", metavar="GROUP", help="only this group's techniques (G0016, or a name or alias)")
    layer.add_argument(
        "--direct-only",
        action="store_true",
        help="with --group: the group's own uses only, not its attributed campaigns'",
    )
    layer.add_argument(
        "--domain", choices=["enterprise", "mobile", "ics"], default="enterprise", help="default: enterprise"
    )
    layer.add_argument("-o", "--output", metavar="FILE", type=Path, help="layer file to write (default: stdout)")
    store_option(layer)
    release_option(layer)

    report.set_defaults(run=_cmd_report)
    layer.set_defaults(run=_cmd_layer)


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
    if args.technique is None:
        raise InputError("name a technique (attack-kg report T1204.001), or --all -o DIR")
    technique = check_identifier(args.technique, "TECHNIQUE")
    page = report.report(local_target(args), technique, args.format)
    if args.output is None:
        sys.stdout.write(page)
    else:
        write_text(args.output, page, what="write the page")
    return 0


def _cmd_layer(args: argparse.Namespace) -> int:
    from attackkg.queries import layer

    if args.direct_only and not args.group:
        raise InputError("--direct-only goes with --group")
    group = None if args.group is None else check_identifier(args.group, "--group")
    if args.telemetry and args.score != "telemetry":
        raise InputError("--telemetry goes with --score telemetry")
    if args.score == "telemetry":
        from attackkg.queries.telemetry_layer import build_telemetry_layer

        built = build_telemetry_layer(
            local_target(args), args.telemetry, group=group, domain=args.domain, direct_only=args.direct_only
        )
    else:
        built = layer.build_layer(
            local_target(args), args.score, group=group, domain=args.domain, direct_only=args.direct_only
        )
    if args.output is None:
        sys.stdout.write(layer.to_json(built))
    else:
        layer.write_layer(built, args.output)
        print(
            f"wrote {args.output}: {len(built['techniques'])} technique entries, ATT&CK {built['versions']['attack']}"
        )
    return 0


# --- networkx: paths and set cover (queries/graph.py, queries/paths.py) ---------------------------
def _graph_commands(commands) -> None:
    paths = commands.add_parser(
        "paths",
        help="every path from a technique to what counters or detects it",
        description="Walk the graph from an ATT&CK technique to its countermeasures, by kind: d3fend (D3FEND's "
        "artifact inference, hop by hop: technique -relation-> artifact -subClassOf-> ... <-relation- defensive "
        "technique), mitigation (ATT&CK mitigations), mitigation-d3fend (D3FEND techniques related to those "
        "mitigations), sigma (rules on the technique or its sub-techniques), atomic (Atomic Red Team tests of the "
        "technique or its sub-techniques), control (CTID Mappings Explorer controls: NIST SP 800-53, CRI Profile, "
        "CSA CCM, Intel vPro, VERIS), cloud (AWS, Azure, GCP, M365 security capabilities), cve (KEV: exploited "
        "vulnerabilities), car (MITRE CAR analytics of the technique or its sub-techniques). A mapping or analytic "
        "naming a technique the loaded ATT&CK revoked counts for its successor, through the revoked-by chain. "
        "Shortest and most specific first.",
        epilog="Examples:\n  attack-kg paths T1204.001 --kind d3fend\n  attack-kg paths T1204.001 --kind control --format json\n"
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
    store_option(paths)

    cover = commands.add_parser(
        "cover",
        help="the fewest countermeasures covering the most of a group's (or campaign's) techniques",
        description="Greedy set cover: for the techniques of a group, campaign or software (what it uses), or of "
        "technique IDs, pick countermeasures one at a time, each covering the most techniques not yet covered, "
        "and print the coverage reached at each step. Also prints each kind's coverage of the set. A group's "
        "techniques are counted as ATT&CK counts them: its own uses and those of the campaigns attributed to it "
        "(--direct-only: its own); the output says how many came through campaigns.",
        epilog="Examples:\n  attack-kg cover G0016 --kind d3fend --top 10\n  attack-kg cover G0016 --kind nist-800-53\n"
        "  attack-kg cover T1204.001 T1566.002 T1059",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cover.add_argument(
        "names", metavar="ID", nargs="+", help="group (G0016), campaign (C0024), software or technique IDs"
    )
    cover.add_argument(
        "--kind",
        choices=[k for k in PATH_KIND_CHOICES if k != "all"] + list(FRAMEWORK_CHOICES),
        default="d3fend",
        help="what covers a technique (default: d3fend, D3FEND techniques by artifact inference); a CTID framework "
        f"({', '.join(FRAMEWORK_CHOICES)}) takes its newest "
        "mapping in the store",
    )
    cover.add_argument("--top", metavar="N", type=int, help="stop after N countermeasures")
    cover.add_argument(
        "--direct-only", action="store_true", help="a group's own uses only, not its attributed campaigns'"
    )
    cover.add_argument(
        "--include-software", action="store_true", help="also the techniques of the software the group uses"
    )
    cover.add_argument("--format", choices=["table", "json"], default="table", help="table (default) or json")
    store_option(cover)

    paths.set_defaults(run=_cmd_paths)
    cover.set_defaults(run=_cmd_cover)


def _path_graph(store_dir, kinds=("d3fend",)):
    """The graph the path searches walk; the stored explanations of the D3FEND mappings (about a
    quarter of the reading) only when D3FEND paths are among ``kinds``."""
    from attackkg.builders.store import open_store
    from attackkg.queries.graph import to_networkx
    from attackkg.queries.paths import PATH_PREDICATES

    return to_networkx(open_store(store_dir), predicates=PATH_PREDICATES, explanations="d3fend" in kinds)


def _cmd_paths(args: argparse.Namespace) -> int:
    import json

    from attackkg.queries import paths as analysis

    name = check_identifier(args.technique, "TECHNIQUE")
    kinds = analysis.PATH_KINDS if args.kind == "all" else (args.kind,)
    graph = _path_graph(args.store, kinds)
    technique = analysis.find_node(graph, name)
    if graph.nodes[technique].get("kind") != "technique":
        raise InputError(f"{name} is a {graph.nodes[technique].get('kind')}, not a technique")
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
    args.names = [check_identifier(name, "ID") for name in args.names]
    graph = _path_graph(args.store)
    techniques = analysis.techniques_of(
        graph, args.names, include_software=args.include_software, direct_only=args.direct_only
    )
    if not techniques:
        raise InputError(f"{quoted(' '.join(args.names))}: no techniques to cover")
    through = analysis.only_through_campaigns(graph, args.names) if not args.direct_only else {}
    cover_of = analysis.coverage(graph, techniques)
    result = analysis.set_cover(graph, techniques, kind=args.kind, top=args.top, cover_of=cover_of)
    names = [analysis.node_info(graph, analysis.find_node(graph, n)) for n in args.names]
    if args.format == "json":
        data = {
            "for": names,
            "techniques": [graph.nodes[t]["id"] for t in techniques],
            "through_campaigns": {graph.nodes[t]["id"]: campaigns for t, campaigns in sorted(through.items())},
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
    print(f"{who}: {total} technique{'s' if total != 1 else ''}", end="")
    if through:
        campaigns = sorted({c for cs in through.values() for c in cs})
        print(f", {len(through)} of them only through attributed campaigns ({', '.join(campaigns)}; --direct-only "
              "leaves them out)", end="")
    print()
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

