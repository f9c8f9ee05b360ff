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
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import platformdirs
import pyoxigraph as ox
import rdflib

from attackkg.builders.base import InputError
from attackkg.builders.files import atomic_path
from attackkg.builders.oxstore import dataset
from attackkg.ontology.namespaces import PREFIXES

CURRENT = "current"
GENERATION_PREFIX = "gen-"
STORE_ENV = "ATTACK_KG_STORE"

# File extension -> (pyoxigraph format, whether the format carries named graphs).
EXPORT_FORMATS = {
    ".ttl": (ox.RdfFormat.TURTLE, False),
    ".nt": (ox.RdfFormat.N_TRIPLES, False),
    ".trig": (ox.RdfFormat.TRIG, True),
    ".nq": (ox.RdfFormat.N_QUADS, True),
    ".jsonld": (None, True),
}


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
    return dataset(store)


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


def export(store: ox.Store, path: str | os.PathLike) -> int:
    """Write the store to ``path`` in the format its extension names; returns the quad count.

    ``.ttl`` and ``.nt`` merge all graphs into one; ``.trig``, ``.nq`` and ``.jsonld`` keep the
    named graphs. The count is of statements written (in a merged file, a triple two graphs
    share counts twice). The file is written beside its target and renamed, so a failure leaves any
    previous file as it was.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in EXPORT_FORMATS:
        known = ", ".join(EXPORT_FORMATS)
        raise InputError(f"unknown export format {suffix or '(none)'}; use one of {known}", path=path)
    rdf_format, keeps_graphs = EXPORT_FORMATS[suffix]
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise InputError("the folder to write into does not exist", path=directory)
    with atomic_path(path, what="export") as temporary:
        return _write(store, str(temporary), suffix, rdf_format, keeps_graphs)


def _write(store: ox.Store, target: str, suffix: str, rdf_format, keeps_graphs: bool) -> int:
    if suffix == ".jsonld":
        as_dataset(store).serialize(destination=target, format="json-ld")
        return len(store)
    prefixes = PREFIXES if rdf_format in (ox.RdfFormat.TURTLE, ox.RdfFormat.TRIG) else None
    if keeps_graphs:
        ox.serialize(store, target, rdf_format, prefixes=prefixes)
        count = len(store)
    else:
        # All graphs merged into one. A triple stated in two graphs (a group in two ATT&CK
        # domains) is written twice, which every parser reads as one; deduplicating through
        # SPARQL or a Python set costs more than the whole export.
        counted = _Counted(quad.triple for quad in store)
        ox.serialize(counted, target, rdf_format, prefixes=prefixes)
        count = counted.count
    if prefixes:
        _expand_escaped_names(target, prefixes)
    return count


class _Counted:
    """An iterable that counts what passes through it."""

    def __init__(self, items) -> None:
        self.items, self.count = items, 0

    def __iter__(self):
        for item in self.items:
            self.count += 1
            yield item


# Worked on bytes (UTF-8 is left as it is: bytes 0x80-0xff count as name characters).
_ESCAPED = re.compile(rb"\\[_~.\-!$&'()*+,;=/?#@%]")
_TOKEN = re.compile(
    rb'(?P<literal>"(?:[^"\\]|\\.)*")|(?P<iri><[^>]*>)'
    rb"|(?P<name>(?<![\w\x80-\xff])(?P<prefix>[A-Za-z][\w-]*)?:"
    rb"(?P<local>(?:[\w\x80-\xff:%-]|\\.|\.(?=[\w\x80-\xff:%\\-]))+))"
)


def _expand_escaped_names(path: str, prefixes: dict[str, str]) -> None:
    """Write prefixed names that need backslash escapes (``d3f:Foo\\,Inc\\.``) as full IRIs.

    Such escapes are valid Turtle, but rdflib's parser rejects them; the full IRI reads everywhere.
    Only lines with such an escape are touched (about 150 in a full build).
    """
    with open(path, "rb") as source:
        text = source.read()
    namespaces = {prefix.encode(): namespace.encode() for prefix, namespace in prefixes.items()}
    pieces, done = [], 0
    for match in _ESCAPED.finditer(text):
        if match.start() < done:
            continue  # on a line already fixed
        start = text.rfind(b"\n", 0, match.start()) + 1
        end = text.find(b"\n", match.end())
        end = len(text) if end == -1 else end
        pieces += [text[done:start], _TOKEN.sub(lambda token: _expanded(token, namespaces), text[start:end])]
        done = end
    if pieces:
        pieces.append(text[done:])
        with open(path, "wb") as target:
            target.write(b"".join(pieces))


def _expanded(match: re.Match, namespaces: dict[bytes, bytes]) -> bytes:
    if not match.group("name") or b"\\" not in match.group("local"):
        return match.group(0)
    namespace = namespaces.get(match.group("prefix") or b"")
    if namespace is None:
        return match.group(0)
    local = re.sub(rb"\\(.)", rb"\1", match.group("local"))
    return b"<" + namespace + local + b">"
