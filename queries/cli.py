"""``attack-kg``: the command line, a thin caller of the library.

Each command lives in the module of its area (cli_build, cli_query, cli_pages), which parses its
arguments, calls the library and formats the answer; cli_common holds what they share.

Bad input prints one ``path:line: message`` line on stderr and exits 1; usage errors exit 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from attackkg.builders.base import InputError
from attackkg.queries import cli_build, cli_pages, cli_query
from attackkg.queries.cli_common import EXAMPLE_BUILD

COMMAND_MODULES = (cli_build, cli_query, cli_pages)


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

    for module in COMMAND_MODULES:
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return args.run(args)
    except InputError as error:
        print(f"attack-kg: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("attack-kg: interrupted; the previous store is unchanged", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
