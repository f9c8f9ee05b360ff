"""``attack-kg telemetry``, ``coverage`` and ``gaps``: what a telemetry profile detects, and what to
collect next (the library is :mod:`attackkg.queries.telemetry`)."""

from __future__ import annotations

import argparse
import csv
import json
import sys

from attackkg.builders.base import InputError
from attackkg.ontology.identifiers import check_identifier
from attackkg.queries.cli_common import format_table, local_target, release_option, store_option

PROFILE_HELP = (
    "what you collect: provider names (sysmon windows-security), provider/event (windows-security/4688), "
    "or one YAML file listing them (see below); default: no telemetry"
)
PROFILE_EPILOG = (
    "A telemetry profile file:\n"
    "  sources:\n"
    "    - sysmon                        # every Sysmon event\n"
    "    - windows-security: [4624, 4688]  # these events of the Security channel\n"
    "attack-kg telemetry --list shows the known provider and event names."
)


def register(commands) -> None:
    """Add ``telemetry``, ``coverage`` and ``gaps`` to the ``attack-kg`` subparsers."""
    telemetry = commands.add_parser(
        "telemetry",
        help="the event sources (providers and their events) telemetry profiles can name",
        description="List the event sources the store knows: each provider (a log, channel or sensor: the names "
        "--telemetry takes) with its events and their labels, and the sources that declare them (the Sigma log "
        "source table, the CTID sensor mappings). With --check FILE|NAME..., read a profile and say what it holds.",
        epilog="Examples:\n  attack-kg telemetry --list\n  attack-kg telemetry --list --provider sysmon\n"
        "  attack-kg telemetry --check my-telemetry.yml\n\n" + PROFILE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    telemetry.add_argument("--list", action="store_true", help="list the providers and their events")
    telemetry.add_argument("--provider", metavar="NAME", help="with --list: only this provider's events")
    telemetry.add_argument("--check", metavar="NAME|FILE", nargs="+", help="read a profile and print what it holds")
    telemetry.add_argument("--format", choices=["table", "json"], default="table", help="table (default) or json")
    store_option(telemetry)

    coverage = commands.add_parser(
        "coverage",
        help="per technique: detectable now, with more telemetry, or no rule, given what you collect",
        description="One row per ATT&CK technique (or a group's): 'now' when a Sigma rule for it or a "
        "sub-technique is fed by the telemetry profile; 'more-telemetry' when rules exist but need event sources "
        "outside the profile (the row names them); 'no-rule' when no Sigma rule detects it (the row says what "
        "ATT&CK's analytics name to collect); and whether an Atomic Red Team test exercises it (testable). With "
        "no --telemetry, every technique with a rule is 'more-telemetry'.",
        epilog="Examples:\n  attack-kg coverage --telemetry sysmon\n"
        "  attack-kg coverage --telemetry sysmon windows-security/4688 --group G0016 --format csv\n"
        "  attack-kg coverage --telemetry my-telemetry.yml --format json\n\n" + PROFILE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _profile_options(coverage)
    coverage.add_argument("--state", choices=["now", "more-telemetry", "no-rule"], help="only rows in this state")
    coverage.add_argument("--format", choices=["table", "json", "csv"], default="table", help="default: table")

    gaps = commands.add_parser(
        "gaps",
        help="what to collect next: the event sources that make the most techniques detectable",
        description="Greedy, like 'cover': pick the event source (a provider, or with --by event one event) that "
        "moves the most techniques (all, or a group's) from 'detectable with more telemetry' to 'detectable now' "
        "under the profile, add it, and repeat; each step lists the techniques it gains and the events of the "
        "source their rules need. Not the named query 'attack-kg query gaps', which lists the techniques with "
        "no Sigma rule or no D3FEND countermeasure at all.",
        epilog="Examples:\n  attack-kg gaps --telemetry sysmon --group G0016 --top 3\n"
        "  attack-kg gaps --by event --top 10\n\n" + PROFILE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _profile_options(gaps)
    gaps.add_argument("--top", metavar="N", type=int, help="stop after N sources (default: until nothing is gained)")
    gaps.add_argument(
        "--by", choices=["provider", "event"], default="provider",
        help="pick whole providers (default) or single events",
    )
    gaps.add_argument("--format", choices=["table", "json"], default="table", help="table (default) or json")

    telemetry.set_defaults(run=_cmd_telemetry)
    coverage.set_defaults(run=_cmd_coverage)
    gaps.set_defaults(run=_cmd_gaps)


def _profile_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--telemetry", metavar="NAME|FILE", nargs="+", help=PROFILE_HELP)
    parser.add_argument("--group", metavar="GROUP", help="only this group's techniques (G0016, a name or an alias)")
    parser.add_argument(
        "--direct-only", action="store_true", help="with --group: its own uses only, not its attributed campaigns'"
    )
    store_option(parser)
    release_option(parser)


def _read(args: argparse.Namespace, details: bool = False):
    """The store's telemetry data (``details``: with rule IDs and titles), the profile, and the
    techniques in scope (None: all)."""
    from attackkg.queries import telemetry

    if args.direct_only and not args.group:
        raise InputError("--direct-only goes with --group")
    target = local_target(args)
    data = telemetry.load_telemetry(target, details=details)
    profile = _profile(args.telemetry, data.catalog)
    scope = who = None
    if args.group:
        group_id, name, scope = telemetry.group_techniques(
            target, check_identifier(args.group, "--group"), args.direct_only
        )
        who = f"{group_id} {name}"
    return data, profile, scope, who


def _profile(arguments, catalog):
    """The profile of ``--telemetry``, with a warning line for events no rule or mapping names."""
    from attackkg.queries import telemetry

    profile = telemetry.profile_of(arguments, catalog)
    note = telemetry.unlisted_note(profile, catalog)
    if note:
        print(f"attack-kg: warning: {note}", file=sys.stderr)
    return profile


def _cmd_telemetry(args: argparse.Namespace) -> int:
    from attackkg.queries import telemetry

    if not args.list and not args.check:
        raise InputError("give --list (the known event sources) or --check NAME|FILE (read a profile)")
    target = local_target(args)
    catalog = telemetry.load_catalog(target, origins=args.list)
    if args.check:
        profile = _profile(args.check, catalog)
        if args.format == "json":
            print(json.dumps({"origin": profile.origin, "sources": profile.names}, indent=2))
        else:
            print(f"{profile.origin}: {profile.describe()}")
        return 0
    graphs = telemetry.graph_names(target)
    providers = catalog.providers
    if args.provider is not None:
        if args.provider not in providers:
            raise InputError(telemetry.unknown_source(args.provider, catalog), path="--provider")
        providers = {args.provider: providers[args.provider]}
    if not providers:
        raise InputError("the store holds no event sources: build it with the Sigma rules (the log source table)")
    if args.format == "json":
        data = [
            {
                "provider": name,
                "events": [
                    {"name": s.name, "event_id": s.event_id, "label": s.label, "from": telemetry.where_from(s, graphs)}
                    for s in sources
                ],
            }
            for name, sources in providers.items()
        ]
        print(json.dumps(data, indent=2, ensure_ascii=False))
        return 0
    table = [
        [s.name, s.label or "", telemetry.where_from(s, graphs)]
        for sources in providers.values()
        for s in sources
    ]
    print(format_table(["source", "label", "from"], table, width=70))
    events = sum(1 for row in table if "/" in row[0])
    print(f"({len(providers)} providers, {events} events; name a provider for all its events)", file=sys.stderr)
    return 0


def _cmd_coverage(args: argparse.Namespace) -> int:
    from attackkg.queries import telemetry

    data, profile, scope, who = _read(args, details=args.format == "json")
    states = telemetry.coverage(data, profile, scope)
    counts = telemetry.state_counts(states)
    if args.state:
        states = [s for s in states if s.state == args.state]
    if args.format == "json":
        print(json.dumps({
            "telemetry": profile.names,
            "group": who,
            "counts": counts,
            "techniques": [s.as_dict() for s in states],
        }, indent=2, ensure_ascii=False))
        return 0
    columns = ["technique", "name", "state", "testable", "rules_fed", "rules_not_fed", "needed", "attack_log_sources"]
    table = [
        [
            s.attack_id,
            s.name,
            s.state,
            "yes" if s.testable else "no",
            str(len(s.fed)),
            str(len(s.unfed)),
            " ".join(s.needed_providers()) if s.state != telemetry.NOW else "",
            _attack_says(s) if s.state == telemetry.NO_RULE else "",
        ]
        for s in states
    ]
    if args.format == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(table)
        return 0
    print(format_table(columns, table, width=50))
    summary = ", ".join(f"{counts[k]} {telemetry.STATE_LABELS[k]}" for k in telemetry.STATES)
    print(f"({'for ' + who + ': ' if who else ''}telemetry {profile.describe()}: {summary}; "
          f"{counts['testable']} testable)", file=sys.stderr)
    return 0


def _attack_says(state) -> str:
    """What ATT&CK's analytics say to collect for a technique without a rule: the event sources
    attack-kg reads their log sources as, else the log source names."""
    return " ".join(state.attack_event_sources()) or "; ".join(sorted({ls.name for ls in state.log_sources}))


def _cmd_gaps(args: argparse.Namespace) -> int:
    from attackkg.queries import telemetry

    if args.top is not None and args.top < 1:
        raise InputError("--top takes a positive number")
    data, profile, scope, who = _read(args)
    states = telemetry.coverage(data, profile, scope)
    counts = telemetry.state_counts(states)
    picks = telemetry.next_sources(data, profile, scope, top=args.top, by=args.by)
    total = len(states)
    if args.format == "json":
        print(json.dumps({
            "telemetry": profile.names,
            "group": who,
            "techniques": total,
            "counts": counts,
            "by": args.by,
            "steps": [
                {
                    "step": i,
                    "source": p.source,
                    "label": p.label,
                    "gained": p.gained,
                    "events": [e.name for e in p.events],
                    "now": p.now,
                }
                for i, p in enumerate(picks, 1)
            ],
        }, indent=2, ensure_ascii=False))
        return 0
    print(f"{who + ': ' if who else ''}{total} techniques; with {profile.describe()}: {counts['now']} detectable now, "
          f"{counts['more-telemetry']} with more telemetry, {counts['no-rule']} without a rule")
    print()
    table = [
        [str(i), p.source, f"+{len(p.gained)}", f"{p.now}/{total}", " ".join(p.gained),
         " ".join(e.name for e in p.events if e.event_id) or f"{p.source} (the log as a whole)"]
        for i, p in enumerate(picks, 1)
    ]
    print(format_table(["step", "collect", "new", "now", "techniques gained", "events their rules need"], table,
                       width=90))
    if not picks:
        print("(nothing to gain: no technique in scope is waiting on more telemetry)", file=sys.stderr)
    return 0
