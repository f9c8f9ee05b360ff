"""The store on disk: an Oxigraph database per build generation, swapped in atomically.

Layout of a store folder::

    STORE/
      current -> gen-20261129T021500-1a2b3c   (symlink, replaced atomically with os.replace)
      gen-.../                                (one Oxigraph/RocksDB database per build)

A build writes a new generation and only then points ``current`` at it, so an interrupted or
failed build leaves the previous store as it was; readers open ``current`` read-only and keep
the generation they opened. The generation before the current one is kept for readers that
still have it open; older ones are removed.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import platformdirs
import pyoxigraph as ox
import rdflib
from oxrdflib import OxigraphStore

from attackkg.builders.base import InputError
from attackkg.ontology.namespaces import PREFIXES

CURRENT = "current"
GENERATION_PREFIX = "gen-"
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


def as_dataset(store: ox.Store) -> rdflib.Dataset:
    """An rdflib Dataset over a pyoxigraph Store (oxrdflib): queries see the union of the named graphs, the project's prefixes are bound."""
    dataset = rdflib.Dataset(store=OxigraphStore(store=store), default_union=True)
    for prefix, namespace in PREFIXES.items():
        dataset.bind(prefix, namespace)
    return dataset


def open_dataset(store_dir: str | os.PathLike | None = None) -> rdflib.Dataset:
    """Open the built store read-only as an ``rdflib.Dataset`` (what notebooks use)."""
    return as_dataset(open_store(store_dir))


@contextmanager
def new_generation(store_dir: str | os.PathLike) -> Iterator[ox.Store]:
    """A fresh, empty writable store that becomes ``current`` only if the block succeeds.

    On any exception (or KeyboardInterrupt) the new generation is deleted and ``current`` is
    left as it was.
    """
    store_dir = Path(store_dir)
    try:
        store_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise StoreError(f"cannot create the store folder: {error.strerror}", path=store_dir) from None
    with _build_lock(store_dir):
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        generation = Path(tempfile.mkdtemp(prefix=f"{GENERATION_PREFIX}{stamp}-", dir=store_dir))
        store = ox.Store(str(generation))
        try:
            yield store
            store.flush()
            store.optimize()
            del store
            _swap(store_dir, generation)
        except BaseException:
            shutil.rmtree(generation, ignore_errors=True)
            raise
        _remove_old_generations(store_dir, keep={generation})


@contextmanager
def _build_lock(store_dir: Path) -> Iterator[None]:
    """One build at a time per store folder (an flock on ``STORE/.lock``, released if the build dies)."""
    with (store_dir / ".lock").open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StoreError("another build is writing this store; wait for it to finish", path=store_dir) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _swap(store_dir: Path, generation: Path) -> None:
    """Point ``current`` at ``generation`` atomically (a new symlink renamed over the old)."""
    previous = current_generation(store_dir)
    link = store_dir / CURRENT
    temporary = store_dir / f".{CURRENT}.{os.getpid()}"
    if temporary.is_symlink() or temporary.exists():
        temporary.unlink()
    temporary.symlink_to(generation.name)
    os.replace(temporary, link)
    previous_marker = store_dir / ".previous"
    previous_marker.write_text(previous.name if previous else "", encoding="utf-8")


def _remove_old_generations(store_dir: Path, keep: set[Path]) -> None:
    marker = store_dir / ".previous"
    previous = marker.read_text(encoding="utf-8").strip() if marker.exists() else ""
    for entry in store_dir.iterdir():
        if entry.name.startswith(GENERATION_PREFIX) and entry not in keep and entry.name != previous:
            shutil.rmtree(entry, ignore_errors=True)
