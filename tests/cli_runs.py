"""Running ``attack-kg ARGS`` from a test: in a child process, as a user runs it, or through
``main(argv)`` in the test process (faster; an uncaught exception fails the test with its
traceback). Both give a ``subprocess.CompletedProcess`` with the exit code, stdout and stderr."""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys

import pytest

from attackkg.queries.cli import main

CLI = "import sys; from attackkg.queries.cli import main; sys.exit(main())"  # python -c CLI ARGS


def run_child(
    *args: str, stdin: str | None = None, env: dict | None = None, timeout: float = 120
) -> subprocess.CompletedProcess:
    """The installed CLI in a child process, ``stdin`` as its input, ``env`` as its environment."""
    return subprocess.run(
        [sys.executable, "-c", CLI, *args], input=stdin, capture_output=True, text=True, timeout=timeout, env=env
    )


def run_in_process(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    """``main(argv)`` with stdin, stdout and stderr replaced: what a child process would print."""
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        patch.setattr(sys, "stdin", io.StringIO(stdin or ""))
        try:
            code = main(list(args))
        except SystemExit as exit:
            code = exit.code if isinstance(exit.code, int) else 1
    return subprocess.CompletedProcess(list(args), code, out.getvalue(), err.getvalue())
