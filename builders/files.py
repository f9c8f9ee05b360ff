"""Files written so that a failure leaves nothing behind: a temporary file beside the target,
renamed over it only once complete (the store, exports, pages, layers, lock files, the cache).

Every ``OSError`` on the way (no space left, a read-only folder, permission denied) becomes one
:class:`~attackkg.builders.base.InputError` line naming the path, what was being done and the
system's reason; the temporary file is removed and the previous file is as it was.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from attackkg.builders.base import InputError


def os_reason(error: OSError) -> str:
    """The system's reason for ``error``, in its words (``No space left on device``), also for
    RocksDB's errors (``IO error: No space left on device: While appending to file: ...``), which
    carry no errno: then the reason without the file it names."""
    if error.strerror:
        return error.strerror
    text = str(error)
    for reason in ("No space left on device", "Read-only file system", "Permission denied", "Disk quota exceeded"):
        if reason.lower() in text.lower():
            return reason
    return text


@contextmanager
def atomic_path(path: str | os.PathLike, *, what: str = "write") -> Iterator[Path]:
    """A temporary path beside ``path`` for a writer that takes a file name (pyoxigraph, networkx);
    renamed to ``path`` when the block ends without error, with a plain file's mode (``0o666``
    less the umask, not ``mkstemp``'s ``0o600``)."""
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise InputError("the folder to write into does not exist", path=directory)
    try:
        handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=directory)
        os.close(handle)
    except OSError as error:
        raise InputError(f"cannot {what}: {os_reason(error)}", path=path) from None
    temporary = Path(name)
    try:
        yield temporary
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise InputError(f"cannot {what}: {os_reason(error)}", path=path) from None
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


@contextmanager
def atomic_output(path: str | os.PathLike, *, text: bool = True, what: str = "write") -> Iterator[IO]:
    """An open file (text, UTF-8 with ``\\n`` line ends, or binary) that replaces ``path`` once
    the block ends without error."""
    with atomic_path(path, what=what) as temporary:
        try:
            if text:
                stream: IO = open(temporary, "w", encoding="utf-8", newline="\n")  # noqa: SIM115
            else:
                stream = open(temporary, "wb")  # noqa: SIM115
            with stream:
                yield stream
        except OSError as error:
            raise InputError(f"cannot {what}: {os_reason(error)}", path=path) from None


def write_text(path: str | os.PathLike, text: str, *, what: str = "write") -> None:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_output`)."""
    with atomic_output(path, what=what) as stream:
        stream.write(text)
