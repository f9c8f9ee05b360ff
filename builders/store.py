"""The store on disk: an Oxigraph database per build generation, swapped in atomically.

Layout of a store folder::

    STORE/
      current -> gen-20261129T021500-1a2b3c   (symlink, replaced atomically with os.replace)
      gen-.../                                (one Oxigraph/RocksDB database per build)

A build writes a new generation and only then points ``current`` at it, so an interrupted or
failed build leaves the previous store as it was; readers open ``current`` read-only and keep
the generation they opened. The generation before the current one is kept for readers that
still have it open; older ones are removed. A build first removes what killed builds left
(generations that never became current) and checks the free space against an estimate from its
inputs (:func:`estimate_build_bytes`), so debris never blocks later builds and a build that
cannot fit is refused before it writes.
"""

from __future__ import annotations

import fcntl
import gc
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import platformdirs
import pyoxigraph as ox
import rdflib

from attackkg.builders.base import InputError
from attackkg.builders.files import os_reason, write_text
from attackkg.builders.oxstore import dataset, oxigraph_of

CURRENT = "current"
GENERATION_PREFIX = "gen-"
PREVIOUS_MARKER = ".previous"  # names the generation before the current one
STORE_ENV = "ATTACK_KG_STORE"


class StoreError(InputError):
    """The store is missing or unreadable."""


def default_store_dir() -> Path:
    """``$ATTACK_KG_STORE``, else ``store`` in the user's data directory (platformdirs)."""
    env = os.environ.get(STORE_ENV)
    return Path(env) if env else platformdirs.user_data_path("attack-kg") / "store"


def current_generation(store_dir: str | os.PathLike) -> Path | None:
    """The generation ``current`` points at, or None when nothing was built there yet."""
    link = Path(store_dir) / CURRENT
    if not link.is_symlink() and not link.exists():
        return None
    target = link.resolve()
    return target if target.is_dir() else None


def open_store(store_dir: str | os.PathLike | None = None) -> ox.Store:
    """The current generation as a read-only pyoxigraph Store."""
    store_dir = Path(store_dir) if store_dir is not None else default_store_dir()
    for _attempt in range(3):
        generation = current_generation(store_dir)
        if generation is None:
            raise StoreError("no store here; build one first with 'attack-kg build ... --store DIR'", path=store_dir)
        try:
            return ox.Store.read_only(str(generation))
        except OSError as error:
            failure = error
            # A rebuild may have swapped in a new generation and removed this one meanwhile: retry.
            if current_generation(store_dir) == generation:
                break
    raise StoreError(f"cannot open the store: {failure}", path=generation) from None


def as_store(source: ox.Store | rdflib.Dataset | str | os.PathLike | None) -> ox.Store:
    """A pyoxigraph Store from a Store, an Oxigraph-backed rdflib Dataset, a store folder, or None
    (the default store, ``$ATTACK_KG_STORE``)."""
    if isinstance(source, ox.Store):
        return source
    if source is None or isinstance(source, (str, os.PathLike)):
        return open_store(source)
    held = oxigraph_of(source)
    if held is not None:
        return held
    raise TypeError("need a pyoxigraph Store, an Oxigraph-backed rdflib Dataset (oxrdflib) or a store folder")


def as_dataset(store: ox.Store) -> rdflib.Dataset:
    """An rdflib Dataset over a pyoxigraph Store (oxrdflib): queries see the union of the named graphs, the project's prefixes are bound."""
    return dataset(store)


def open_dataset(store_dir: str | os.PathLike | None = None) -> rdflib.Dataset:
    """Open the built store read-only as an ``rdflib.Dataset`` (what notebooks use)."""
    return as_dataset(open_store(store_dir))


@contextmanager
def new_generation(store_dir: str | os.PathLike, *, needs: int = 0) -> Iterator[ox.Store]:
    """A fresh, empty writable store that becomes ``current`` only if the block succeeds.

    Under the build lock, generations that never became current (left by killed builds) are
    removed first; then, when ``needs`` (bytes, see :func:`estimate_build_bytes`) is more than the
    free space, the build is refused before anything is written. On any exception (or
    KeyboardInterrupt, or a signal the CLI turns into one) the new generation is deleted and
    ``current`` is left as it was. An ``OSError`` on the way (no space left, a read-only folder)
    becomes one :class:`StoreError` line naming the store and the system's reason.
    """
    store_dir = Path(store_dir)
    try:
        store_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise StoreError(f"cannot create the store folder: {os_reason(error)}", path=store_dir) from None
    with _build_lock(store_dir):
        remove_orphans(store_dir)
        check_space(store_dir, needs)
        generation = None
        try:
            stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
            with _signals_deferred():  # no signal between making the folder and knowing its name
                generation = Path(tempfile.mkdtemp(prefix=f"{GENERATION_PREFIX}{stamp}-", dir=store_dir))
            store = ox.Store(str(generation))
            yield store
            store.flush()
            store.optimize()
            # Close the writer before the generation is swapped in: pyoxigraph closes a store when
            # the last reference goes, and an open writer's background compaction deletes files a
            # reader opened meanwhile ("Corruption: ... .sst: No such file or directory"). The caller
            # drops its own reference in the block (build_store does); when something else still
            # holds the store (an rdflib Dataset over it, in a reference cycle), gc takes it. A full
            # collection costs 0.1 s in a large process, so it runs only then.
            held_elsewhere = sys.getrefcount(store) > 2  # this frame's name and the call's argument
            del store
            if held_elsewhere:
                gc.collect()
            with _signals_deferred():
                _swap(store_dir, generation)
        except BaseException as error:
            with _signals_deferred():
                if generation is not None and current_generation(store_dir) != generation.resolve():
                    shutil.rmtree(generation, ignore_errors=True)
            if isinstance(error, OSError):
                raise StoreError(f"cannot write the new store: {os_reason(error)}", path=store_dir) from None
            raise
        with _signals_deferred():
            _remove_old_generations(store_dir, keep={generation})


@contextmanager
def _signals_deferred() -> Iterator[None]:
    """SIGINT, SIGTERM and SIGHUP wait until the block ends (a swap or a clean-up is never cut
    half-way); they are delivered, and their handlers run, right after it."""
    deferred = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, deferred)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


@contextmanager
def _build_lock(store_dir: Path) -> Iterator[None]:
    """One build at a time per store folder (an flock on ``STORE/.lock``, released if the build dies)."""
    try:
        handle = (store_dir / ".lock").open("a")
    except OSError as error:
        raise StoreError(f"cannot lock the store for a build: {os_reason(error)}", path=store_dir) from None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StoreError("another build is writing this store; wait for it to finish", path=store_dir) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _swap(store_dir: Path, generation: Path) -> None:
    """Point ``current`` at ``generation`` atomically (a new symlink renamed over the old).

    The ``.previous`` marker (the generation readers may still hold) is written before the
    rename, so a failure before it leaves everything as it was."""
    previous = current_generation(store_dir)
    link = store_dir / CURRENT
    temporary = store_dir / f".{CURRENT}.{os.getpid()}"
    if temporary.is_symlink() or temporary.exists():
        temporary.unlink()
    try:
        temporary.symlink_to(generation.name)
        write_text(store_dir / PREVIOUS_MARKER, previous.name if previous else "", what="mark the previous generation")
        os.replace(temporary, link)
    finally:
        temporary.unlink(missing_ok=True)


def _previous_name(store_dir: Path) -> str:
    try:
        return (store_dir / PREVIOUS_MARKER).read_text(encoding="utf-8").strip()
    except OSError:
        return ""


def _remove_old_generations(store_dir: Path, keep: set[Path]) -> None:
    previous = _previous_name(store_dir)
    for entry in store_dir.iterdir():
        if entry.name.startswith(GENERATION_PREFIX) and entry not in keep and entry.name != previous:
            shutil.rmtree(entry, ignore_errors=True)


# --- room on disk ----------------------------------------------------------------------------------

# What a build takes on disk, calibrated on this machine's full build (ATT&CK Enterprise 18.1,
# D3FEND 1.2.0, all Sigma rules, Atomic Red Team; each source also built alone, sizes by du):
#
#   source   input (bytes read: a .gz counted uncompressed)   store alone   store per input byte
#   ATT&CK   37.2 MB JSON (7.6 MB .json.gz)                    70.3 MB       1.9
#   D3FEND    2.6 MB Turtle                                     35.3 MB      13.7
#   Sigma     6.1 MB YAML (the whole folder)                    24.3 MB       4.0
#   Atomic    2.2 MB YAML                                        6.4 MB       2.9
#
# All four together, with the derived countermeasures: 146 MB finished, 201 MB at the peak of the
# build (RocksDB's files before its last compaction), so a build needs 1.4x its finished size
# beside the current store; a store on top of that keeps one previous generation for readers,
# hence a rebuild of a store of size S needs about 3.5 S in all (500 MB for the full data).
STORE_BYTES_PER_INPUT_BYTE = {"attack": 1.9, "d3fend": 13.7, "sigma": 4.0, "atomic": 2.9}
UNKNOWN_SOURCE_BYTES_PER_INPUT_BYTE = 14.0  # a source not measured: the largest ratio
PEAK_OVER_FINISHED = 1.5  # 1.4 measured, and a margin
STORE_OVERHEAD_BYTES = 8 << 20  # RocksDB's own files (logs, manifest), even for a tiny store


def estimate_build_bytes(inputs: Iterable[tuple[str, str | os.PathLike]]) -> int:
    """Bytes a new generation may take at its peak, from ``(source kind, input path)`` pairs."""
    total = 0.0
    for kind, path in inputs:
        ratio = STORE_BYTES_PER_INPUT_BYTE.get(kind, UNKNOWN_SOURCE_BYTES_PER_INPUT_BYTE)
        total += ratio * input_bytes(path)
    return int(total * PEAK_OVER_FINISHED) + STORE_OVERHEAD_BYTES


def input_bytes(path: str | os.PathLike) -> int:
    """Bytes of input at ``path``: a file's size (a .gz's uncompressed size, from its trailer; a
    zip's members uncompressed), or every file's under a folder. 0 when it cannot be read."""
    path = Path(path)
    try:
        if path.is_dir():
            return sum(entry.stat().st_size for entry in path.rglob("*") if entry.is_file())
        if path.suffix == ".gz":
            with path.open("rb") as stream:
                stream.seek(-4, os.SEEK_END)
                uncompressed = int.from_bytes(stream.read(4), "little")  # modulo 4 GiB
            return max(uncompressed, path.stat().st_size)
        if path.suffix == ".zip":
            with zipfile.ZipFile(path) as archive:
                return sum(member.file_size for member in archive.infolist())
        return path.stat().st_size
    except (OSError, ValueError, zipfile.BadZipFile):
        return 0


def disk_bytes(path: str | os.PathLike) -> int:
    """Bytes ``path`` (a file or a folder, symlinks not followed) takes on disk."""
    total = 0
    for folder, _dirs, files in os.walk(path):
        for name in files:
            with suppress(OSError):
                total += os.lstat(os.path.join(folder, name)).st_blocks * 512
    return total


def store_disk_bytes(store_dir: str | os.PathLike | None = None) -> dict[str, int]:
    """Bytes on disk of a store folder: ``current`` (the generation readers open), ``previous``
    (kept for readers that may still have it open), ``other`` (anything else: orphans of killed
    builds, removed by the next build) and ``total``."""
    store_dir = Path(store_dir) if store_dir is not None else default_store_dir()
    current = current_generation(store_dir)
    previous = _previous_name(store_dir)
    sizes = {"current": 0, "previous": 0, "other": 0}
    for entry in store_dir.iterdir():
        if not entry.name.startswith(GENERATION_PREFIX) or entry.is_symlink():
            continue
        size = disk_bytes(entry)
        if current is not None and entry.resolve() == current:
            sizes["current"] += size
        elif entry.name == previous:
            sizes["previous"] += size
        else:
            sizes["other"] += size
    sizes["total"] = sum(sizes.values())
    return sizes


def remove_orphans(store_dir: str | os.PathLike) -> list[str]:
    """Remove the generations that never became current (left by killed builds), keeping the
    current one and the previous one (readers may still hold it). Only safe under the build lock
    (:func:`new_generation` calls it): another build's generation-in-progress looks the same.
    Returns the names removed."""
    store_dir = Path(store_dir)
    removed = []
    for entry in _orphans(store_dir):
        with _signals_deferred():
            shutil.rmtree(entry, ignore_errors=True)
        removed.append(entry.name)
    for entry in store_dir.glob(f".{CURRENT}.*"):  # a symlink a killed swap left
        if entry.is_symlink():
            entry.unlink(missing_ok=True)
    return removed


def _orphans(store_dir: Path) -> list[Path]:
    """The generations under ``store_dir`` that are neither current nor the previous one."""
    current = current_generation(store_dir)
    keep = {current.name} if current is not None else set()
    keep.add(_previous_name(store_dir))
    return [
        entry
        for entry in sorted(store_dir.iterdir())
        if entry.name.startswith(GENERATION_PREFIX) and entry.name not in keep and not entry.is_symlink()
    ]


def check_space_before_reading(store_dir: str | os.PathLike, needs: int) -> None:
    """:func:`check_space` before a build reads its inputs, so a build that cannot fit is refused
    at once rather than after reading them. The debris of killed builds counts as free (the build
    removes it before its own check, under the lock). A store folder not made yet, or not writable,
    is left to the build, whose error then says why (a read-only file system, say)."""
    store_dir = Path(store_dir)
    if store_dir.is_dir() and os.access(store_dir, os.W_OK):
        check_space(store_dir, needs - sum(disk_bytes(entry) for entry in _orphans(store_dir)))


def check_space(store_dir: str | os.PathLike, needs: int) -> None:
    """Refuse, before anything is written, a build that needs more than the free space under
    ``store_dir``: one line saying how much it needs, how much is free, and what could be freed."""
    if needs <= 0:
        return
    store_dir = Path(store_dir)
    try:
        free = shutil.disk_usage(store_dir).free
    except OSError:
        return
    if free >= needs:
        return
    message = f"no space for a new build: it needs about {megabytes(needs)}, {megabytes(free)} free"
    previous = _previous_name(store_dir)
    if previous and (store_dir / previous).is_dir():
        size = disk_bytes(store_dir / previous)
        message += (
            f"; deleting {store_dir / previous} (the previous build, kept for readers that may still have it "
            f"open) would free {megabytes(size)}"
        )
    current = current_generation(store_dir)
    if current is not None:
        message += f"; the current store takes {megabytes(disk_bytes(current))} and stays until the new one is complete"
    raise StoreError(message, path=store_dir)


def megabytes(size: int) -> str:
    """A size for people: ``146 MB``."""
    return f"{size / 1e6:,.0f} MB" if size >= 1e6 else f"{size / 1e6:.1f} MB"
