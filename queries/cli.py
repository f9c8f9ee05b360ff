"""``attack-kg``: the command line, a thin caller of the library.

Each command lives in the module of its area (cli_build, cli_query, cli_pages), which parses its
arguments, calls the library and formats the answer; cli_common holds what they share.

Bad input prints one ``path:line: message`` line on stderr and exits 1; usage errors exit 2. So
does any other ``OSError`` (a full disk, a read-only folder), as a last resort. SIGTERM and SIGHUP
stop a command as Ctrl-C (SIGINT) does: what was being written is removed, one line is printed,
and the exit status is 128 + the signal's number.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from attackkg.builders.base import InputError
from attackkg.queries import cli_build, cli_pages, cli_query, cli_telemetry
from attackkg.queries.cli_common import EXAMPLE_BUILD

COMMAND_MODULES = (cli_build, cli_query, cli_pages, cli_telemetry)


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


class Stopped(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised where the program is, so that every clean-up that Ctrl-C runs
    (``finally``, ``except BaseException``) runs for them too."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _stop(signum: int, _frame) -> None:
    raise Stopped(signum)


@contextmanager
def _stopping_signals() -> Iterator[None]:
    """SIGTERM and SIGHUP raise :class:`Stopped` for the duration (main thread only); the
    previous handlers come back afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, _stop) for signum in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        with _stopping_signals():
            return args.run(args)
    except InputError as error:
        print(f"attack-kg: {error}", file=sys.stderr)
        return 1
    except Stopped as stopped:
        print(f"attack-kg: stopped by {stopped}; nothing half-written was left", file=sys.stderr)
        return 128 + stopped.signum
    except KeyboardInterrupt:
        print("attack-kg: interrupted; nothing half-written was left", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except OSError as error:
        # Writers turn their OSErrors into InputError lines; this is the last resort for one that
        # was not (the download cache's rename, a file a library opened). Other exceptions are
        # programming errors and keep their traceback.
        print(f"attack-kg: {_os_error_line(error, args.command)}", file=sys.stderr)
        return 1


def _os_error_line(error: OSError, command: str) -> str:
    """``path: COMMAND failed: reason`` from an OSError, its own path and reason when it has them."""
    from attackkg.builders.files import os_reason
    from attackkg.ontology.identifiers import quoted

    filename = str(error.filename) if error.filename else ""
    where = f"{filename if len(filename) <= 240 else quoted(filename)}: " if filename else ""
    return f"{where}{command} failed: {os_reason(error)}"


if __name__ == "__main__":
    sys.exit(main())
