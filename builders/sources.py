"""Where the sources come from: pinned releases, a download cache, mirrors and lock files.

The releases ``attack-kg build`` fetches when given no source flags are pinned in one data file,
``builders/pins.json`` (:func:`load_pins`): per source a kind (``attack``, ``d3fend``,
``sigma``, ``atomic``, ``mappings``, ``car``), a version, a URL, the cache file name and the
expected SHA-256 (and for ATT&CK and the CTID mapping files, a domain: those of another domain than
enterprise are fetched with ``--domain``). A lock
file (``attack-kg lock -o sources.lock.json``, :func:`write_lock`) has the same shape with every
URL resolved and every SHA-256 filled in; ``attack-kg build --lock FILE`` builds exactly that.

Verification. A source with a SHA-256 is checked before it is installed in the cache and every
time it is taken from the cache or from a local file; a mismatch is a :class:`SourceError` naming
the source, the URL, the expected and the actual SHA-256, and nothing is installed. A source whose
SHA-256 is ``null`` is *unverified*: the first download is trusted and its hash recorded beside it
in the cache and in the lock file (trust on first use). ``pins.json`` ships with ``null`` hashes
where no one on the project could download the upstream file to hash it (see its ``about``).

Where from, in order:

1. ``--source KEY=URL_OR_PATH`` (``overrides``): that URL or local file for that source;
2. the mirror, ``$ATTACK_KG_MIRROR``: a base URL (``http://mirror.lab/``) or a folder that holds
   the upstream files under ``<host>/<path>``, the layout ``wget -x``/``wget -m`` writes, so
   ``https://d3fend.mitre.org/ontologies/d3fend/1.2.0/d3fend.ttl`` is read from
   ``<mirror>/d3fend.mitre.org/ontologies/d3fend/1.2.0/d3fend.ttl``;
3. the upstream URL.

The cache is ``$ATTACK_KG_CACHE``, else ``sources`` in the user's cache directory (platformdirs):
``<cache>/<key>/<version>/<file>`` plus ``<file>.json`` recording the URL and SHA-256. HTTP(S)
downloads go to a temporary file in that folder, are hashed while they stream, checked (length,
SHA-256) and only then renamed into place. Local files (a path, ``file://``, a mirror folder) are
read in place and not copied. ``offline=True`` never opens a network connection: the cache and
local files only, with an error naming what is missing.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import TextIO

import platformdirs

from attackkg.builders import http_client, registry
from attackkg.builders.base import InputError, package_version, sha256_of, without_userinfo
from attackkg.builders.files import write_text

CACHE_ENV = "ATTACK_KG_CACHE"
MIRROR_ENV = "ATTACK_KG_MIRROR"
PINS_FILE = "pins.json"
LOCK_FORMAT = 1
DOMAINS = ("enterprise", "mobile", "ics")
TIMEOUT = 60.0  # seconds without data before a download is abandoned
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_KEY = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_SAFE = re.compile(r"[^A-Za-z0-9._+-]")

Say = Callable[[str], None]


# No release attack-kg reads is near this (ATT&CK Enterprise 37 MB, the Sigma zip 4 MB):
# a server sending more is not serving one, and must not fill the cache disk.
MAX_DOWNLOAD = 512 * 1024 * 1024


class SourceError(InputError):
    """A source that cannot be had: ``key: url: message``, the one line the CLI prints."""

    def __init__(self, message: str, key: str, url: str | None = None) -> None:
        super().__init__(message, path=url)
        self.key = key
        self.url = url

    def __str__(self) -> str:
        where = f"{without_userinfo(self.url)}: " if self.url else ""
        return f"{self.key}: {where}{self.message}"


@dataclass(frozen=True)
class Source:
    """One pinned source release: what it is, where it is, what it must hash to."""

    key: str  # "attack-enterprise", "d3fend", ...
    kind: str  # a registered source kind (registry.names()): which builder reads it
    version: str
    url: str  # upstream URL, or a local path / file:// URL given with --source
    file: str  # the cache file name (keeps the version in it where the builder reads it there)
    sha256: str | None = None  # None: unverified (trust on first use)
    domain: str | None = None  # ATT&CK domain
    default: bool = True  # built when no domain is asked for
    direct: bool = False  # given with --source: the mirror does not apply


@dataclass(frozen=True)
class Fetched:
    """A source ready to build: the local file, its SHA-256 and how it was had."""

    source: Source
    path: Path
    sha256: str
    url: str  # where the bytes came from (after --source and the mirror)
    how: str  # "downloaded", "cached" or "local"
    verified: bool  # the SHA-256 matched a pinned one; False: recorded on first use

    @property
    def downloaded(self) -> bool:
        return self.how == "downloaded"


# --- pins and lock files -----------------------------------------------------------------------


def load_pins(path: str | os.PathLike | None = None) -> list[Source]:
    """The sources of a pins or lock file (the package's ``pins.json`` when ``path`` is None)."""
    if path is None:
        where = "attackkg.builders/" + PINS_FILE
        raw = resources.files("attackkg.builders").joinpath(PINS_FILE).read_text(encoding="utf-8")
    else:
        where = str(path)
        try:
            raw = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise InputError("no such lock file", path=path) from None
        except (OSError, UnicodeDecodeError) as error:
            raise InputError(f"cannot read the lock file: {error}", path=path) from None
    try:
        document = json.loads(raw)
    except json.JSONDecodeError as error:
        raise InputError(f"not valid JSON: {error.msg}", path=where, line=error.lineno) from None
    if not isinstance(document, dict) or not isinstance(document.get("sources"), dict):
        raise InputError('not a lock file: no "sources" object', path=where, line=1)
    if document.get("format", LOCK_FORMAT) != LOCK_FORMAT:
        raise InputError(f"lock file format {document.get('format')!r}; this version reads {LOCK_FORMAT}", path=where)
    return [_source(key, entry, where) for key, entry in document["sources"].items()]


def _source(key: str, entry: object, where: str) -> Source:
    if not _KEY.match(key):
        raise InputError(f"source key {key!r}: use lower-case letters, digits, '.', '_', '-'", path=where)
    if not isinstance(entry, dict):
        raise InputError("not an object", path=where, obj=key)
    for name in ("kind", "version", "url"):
        if not isinstance(entry.get(name), str) or not entry[name]:
            raise InputError(f'"{name}" must be a non-empty string', path=where, obj=key)
    kinds = registry.names()
    if entry["kind"] not in kinds:
        raise InputError(f'"kind" is {entry["kind"]!r}; one of {", ".join(kinds)}', path=where, obj=key)
    sha256 = entry.get("sha256")
    if sha256 is not None and (not isinstance(sha256, str) or not _SHA256.match(sha256.lower())):
        raise InputError('"sha256" must be 64 hex digits or null', path=where, obj=key)
    domain = entry.get("domain")
    if domain is not None and domain not in DOMAINS:
        raise InputError(f'"domain" is {domain!r}; one of {", ".join(DOMAINS)}', path=where, obj=key)
    version = entry["version"]
    url = entry["url"].replace("{version}", version)
    file = str(entry.get("file") or _basename(url)).replace("{version}", version)
    if not file or "/" in file or "\\" in file or file.startswith("."):
        raise InputError(f'"file" must be a plain file name, not {file!r}', path=where, obj=key)
    return Source(
        key=key,
        kind=entry["kind"],
        version=version,
        url=url,
        file=file,
        sha256=sha256.lower() if sha256 else None,
        domain=domain,
        default=bool(entry.get("default", True)),
    )


def select(
    pinned: Sequence[Source],
    *,
    domains: Iterable[str] | None = None,
    attack_version: str | None = None,
    overrides: Mapping[str, str] | None = None,
) -> list[Source]:
    """The sources to fetch: ``pinned`` narrowed to ``domains``, at ``attack_version``, with
    ``overrides`` (``--source KEY=URL_OR_PATH``) applied.

    ``domains`` None takes the sources marked default (pins) or all of them (a lock file holds
    only what it locked). A different ATT&CK version takes its SHA-256 from the release table
    (``releases.expected_sha256``: an unlisted version is an error listing the known ones) and the
    URL and file name from the package pins' ``{version}`` patterns.
    An override keeps the pinned SHA-256: pointing a
    source at a mirror or a local copy still checks it is the same file.
    """
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - {s.key for s in pinned})
    if unknown:
        known = ", ".join(s.key for s in pinned)
        raise InputError(f"--source {unknown[0]}=...: no such source; the sources are {known}")
    wanted = None if domains is None else set(domains)
    if wanted is not None and "all" in wanted:
        wanted = set(DOMAINS)
    if wanted is not None and (bad := sorted(wanted - set(DOMAINS))):
        raise InputError(f"no ATT&CK domain {bad[0]!r}; the domains are {', '.join(DOMAINS)} (or all)")
    chosen = []
    for source in pinned:
        if source.kind == "attack" or source.domain is not None:  # a mapping file is of one domain too
            if wanted is None and not source.default:
                continue
            if wanted is not None and (source.domain or "enterprise") not in wanted:
                continue
        if source.kind == "attack" and attack_version and attack_version != source.version:
            source = _at_version(source, attack_version)
        if source.key in overrides:
            source = replace(source, url=overrides[source.key], direct=True)
        chosen.append(source)
    if wanted and not any(s.kind == "attack" for s in chosen):
        raise InputError(f"no pinned ATT&CK source for domain(s) {', '.join(sorted(wanted))}")
    return chosen


def _at_version(source: Source, version: str) -> Source:
    """The same ATT&CK source at another release: URL and file from the pins' patterns, SHA-256
    from the release table (:mod:`attackkg.builders.releases`; an unlisted version is an error)."""
    from attackkg.builders import releases

    if not re.match(r"^\d+\.\d+(\.\d+)?$", version):
        raise InputError(f"--attack-version {version!r}: give an ATT&CK release such as {releases.newest()}")
    expected = releases.expected_sha256(source.domain or "enterprise", version)
    raw = _raw_pins()
    entry = raw.get(source.key)
    if entry is None or "{version}" not in entry.get("url", ""):
        raise InputError(f"{source.key}: no URL pattern to fetch ATT&CK {version}; give it with --source")
    return replace(
        source,
        version=version,
        url=entry["url"].replace("{version}", version),
        file=str(entry.get("file") or _basename(entry["url"])).replace("{version}", version),
        sha256=expected,
    )


def _raw_pins() -> dict:
    raw = resources.files("attackkg.builders").joinpath(PINS_FILE).read_text(encoding="utf-8")
    return json.loads(raw)["sources"]


def parse_overrides(items: Iterable[str]) -> dict[str, str]:
    """``["sigma=/mnt/sigma.zip", ...]`` -> ``{"sigma": "/mnt/sigma.zip"}``."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise InputError(f"--source takes KEY=URL_OR_PATH, not {item!r}")
        out[key.strip()] = value.strip()
    return out


def lock_document(fetched: Sequence[Fetched]) -> dict:
    """The lock file for what was fetched: per source, kind, version, URL, file and SHA-256."""
    version = package_version()
    sources = {}
    for item in fetched:
        source = item.source
        entry = {"kind": source.kind}
        if source.domain:
            entry["domain"] = source.domain
        entry.update(version=source.version, url=source.url, file=source.file, sha256=item.sha256)
        if not item.verified:
            entry["note"] = "SHA-256 recorded on first download (trust on first use), not checked against a pin"
        sources[source.key] = entry
    return {
        "format": LOCK_FORMAT,
        "about": f"attack-kg {version} lock file: 'attack-kg build --lock FILE' builds exactly these files.",
        "created": datetime.now(tz=timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "sources": sources,
    }


def write_lock(fetched: Sequence[Fetched], path: str | os.PathLike) -> None:
    """Write the lock file beside its target and rename it into place."""
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise InputError("the folder to write into does not exist", path=directory)
    write_text(path, json.dumps(lock_document(fetched), indent=2) + "\n", what="write the lock file")


# --- locations ---------------------------------------------------------------------------------


def cache_dir() -> Path:
    """``$ATTACK_KG_CACHE``, else ``attack-kg/sources`` in the user's cache directory."""
    env = os.environ.get(CACHE_ENV)
    return Path(env) if env else platformdirs.user_cache_path("attack-kg") / "sources"


def cache_path(source: Source, cache: str | os.PathLike | None = None) -> Path:
    """Where a source release lives in the cache: ``<cache>/<key>/<version>/<file>``."""
    root = Path(cache) if cache is not None else cache_dir()
    return root / source.key / _SAFE.sub("_", source.version) / source.file


def location(source: Source, mirror: str | None = None) -> str | Path:
    """Where to read ``source`` from: an http(s) URL, or a local Path (``file://``, a path, a mirror
    folder). ``mirror`` replaces the scheme and host of an upstream http(s) URL (see the module doc)."""
    url = source.url
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme == "file":
        return Path(urllib.request.url2pathname(parsed.path))
    if parsed.scheme not in ("http", "https"):
        return Path(url).expanduser()  # a local path given with --source
    if not mirror or source.direct:
        return url
    tail = parsed.netloc + parsed.path + (f"?{parsed.query}" if parsed.query else "")
    base = urllib.parse.urlsplit(mirror)
    if base.scheme in ("http", "https"):
        return mirror.rstrip("/") + "/" + tail
    root = Path(urllib.request.url2pathname(base.path)) if base.scheme == "file" else Path(mirror).expanduser()
    return root / parsed.netloc / urllib.parse.unquote(parsed.path.lstrip("/"))


# --- fetching ----------------------------------------------------------------------------------


def fetch(
    source: Source,
    *,
    cache: str | os.PathLike | None = None,
    offline: bool = False,
    mirror: str | None = None,
    timeout: float = TIMEOUT,
    say: Say | None = None,
    meter: TextIO | None = None,
) -> Fetched:
    """Have ``source`` on disk, verified: from the cache, a local file, or a download.

    ``mirror`` defaults to ``$ATTACK_KG_MIRROR``. ``say`` gets one line per source; ``meter``, a
    terminal stream, gets a byte counter while downloading. Raises :class:`SourceError`.
    """
    say = say or (lambda message: None)
    if mirror is None:
        mirror = os.environ.get(MIRROR_ENV) or None
    where = location(source, mirror)
    if isinstance(where, Path):
        return _local(source, where)
    target = cache_path(source, cache)
    hit = _cached(source, target, where, offline)
    if hit is not None:
        say(f"{source.key} {source.version}: cached {target}")
        return hit
    if offline:
        raise SourceError(
            f"not in the cache ({target}) and --offline forbids downloading; fetch it once online, point at a "
            f"copy with --source {source.key}=PATH or ${MIRROR_ENV}, or build from files with "
            + source_flags(),
            source.key,
            where,
        )
    say(f"{source.key} {source.version}: downloading {where}")
    sha256 = _download(source, where, target, timeout, meter)
    _write_record(target, where, sha256, verified=source.sha256 is not None)
    return Fetched(source, target, sha256, where, "downloaded", verified=source.sha256 is not None)


def fetch_all(sources: Sequence[Source], **options) -> list[Fetched]:
    """:func:`fetch` each source, in order; the first failure raises (nothing built yet)."""
    return [fetch(source, **options) for source in sources]


def _local(source: Source, path: Path) -> Fetched:
    """A local file or folder, read in place and checked against the pin (a folder's SHA-256 is
    :func:`sha256_of`'s, over its files: it matches a lock made from that folder, never the pin of
    a release archive)."""
    shown = str(path)
    if not path.exists():
        raise SourceError("no such file or folder", source.key, shown)
    actual = _hash_file(source, path)
    if path.is_dir() and source.sha256 is not None and actual != source.sha256:
        raise SourceError(
            f"SHA-256 mismatch: expected {source.sha256}, got {actual} (a folder, hashed file by file: "
            "give the release file itself, or a lock made from this folder)",
            source.key,
            shown,
        )
    _check(source, shown, actual)
    return Fetched(source, path, actual, shown, "local", verified=source.sha256 is not None)


def _cached(source: Source, target: Path, url: str, offline: bool) -> Fetched | None:
    """The cached file when it may be used: it matches the pin; or, unpinned, it was recorded
    from the same URL with the hash it still has (offline: from any URL)."""
    if not target.is_file():
        return None
    actual = _hash_file(source, target)
    if source.sha256 is not None:
        if actual == source.sha256:
            return Fetched(source, target, actual, url, "cached", verified=True)
        if offline:
            raise SourceError(
                f"the cached file does not match the pin: expected SHA-256 {source.sha256}, got {actual}; "
                "download it again without --offline",
                source.key,
                str(target),
            )
        return None
    record = _read_record(target)
    if record.get("sha256") != actual:
        return None
    if record.get("url") != url and not offline:
        return None
    return Fetched(source, target, actual, record.get("url") or url, "cached", verified=False)


def _check(source: Source, url: str, actual: str) -> None:
    if source.sha256 is not None and actual != source.sha256:
        raise SourceError(f"SHA-256 mismatch: expected {source.sha256}, got {actual}", source.key, url)


def _hash_file(source: Source, path: Path) -> str:
    try:
        return sha256_of(path)
    except OSError as error:
        raise SourceError(f"cannot read: {error.strerror or error}", source.key, str(path)) from None


def _download(source: Source, url: str, target: Path, timeout: float, meter: TextIO | None) -> str:
    """Stream ``url`` into a temporary file beside ``target``, check it, rename it into place."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    except OSError as error:
        raise SourceError(f"cannot write to the cache {target.parent}: {error.strerror}", source.key, url) from None
    try:
        with os.fdopen(handle, "wb") as out:
            actual = _stream(source, url, out, timeout, meter)
        _check(source, url, actual)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return actual


def _stream(source: Source, url: str, out, timeout: float, meter: TextIO | None) -> str:
    """Copy the response body to ``out`` (:mod:`attackkg.builders.http_client`); returns its SHA-256.
    Every failure is a SourceError."""
    headers = {"User-Agent": f"attack-kg/{package_version()}"}
    try:
        with http_client.open_url(url, headers=headers, timeout=timeout) as response:
            progress = _Meter(meter, f"{source.key} {source.version}")
            sha256 = http_client.copy(response, out, timeout=timeout, limit=MAX_DOWNLOAD, progress=progress)
            progress.done()
    except http_client.HttpError as error:
        message = str(error)
        if error.kind == "limit" and message.startswith("more than"):
            message = f"more than {MAX_DOWNLOAD} bytes; not a release of this source"
        elif error.kind == "connect":
            message += (
                f" (no network? see --offline, --source {source.key}=PATH, ${MIRROR_ENV}, "
                f"or build from files with {source_flags()})"
            )
        elif error.kind == "write":
            message = message.replace("cannot write", "cannot write to the cache")
        raise SourceError(message, source.key, url) from None
    return sha256


def _record_path(target: Path) -> Path:
    return target.with_name(target.name + ".json")


def _write_record(target: Path, url: str, sha256: str, verified: bool) -> None:
    """``<file>.json`` beside a cached file: where it came from, its SHA-256, when."""
    record = {
        "url": url,
        "sha256": sha256,
        "verified": verified,
        "downloaded": datetime.now(tz=timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
    }
    write_text(_record_path(target), json.dumps(record, indent=2), what="write to the download cache")


def _read_record(target: Path) -> dict:
    try:
        record = json.loads(_record_path(target).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


class _Meter:
    """``key version: 3.1 of 40.2 MB`` rewritten in place on a terminal, at most 5 times a second."""

    def __init__(self, stream: TextIO | None, label: str) -> None:
        self.stream, self.label = stream, label
        self.last, self.received = 0.0, 0

    def __call__(self, received: int, total: int | None) -> None:
        self.received = received
        now = time.monotonic()
        if self.stream is None or now - self.last < 0.2:
            return
        self.last = now
        of = f" of {total / 1e6:.1f}" if total else ""
        self.stream.write(f"\rattack-kg: {self.label}: {received / 1e6:.1f}{of} MB ")
        self.stream.flush()

    def done(self) -> None:
        if self.stream is not None and self.last:
            self.stream.write(f"\rattack-kg: {self.label}: {self.received / 1e6:.1f} MB, done\n")
            self.stream.flush()


def terminal_meter(enabled: bool) -> TextIO | None:
    """stderr when it is a terminal and progress is wanted, else None (no byte counter)."""
    return sys.stderr if enabled and sys.stderr.isatty() else None


def prepare(
    lock: str | os.PathLike | None = None,
    *,
    overrides: Mapping[str, str] | Iterable[str] = (),
    offline: bool = False,
    attack_version: str | None = None,
    domains: Iterable[str] | None = None,
    cache: str | os.PathLike | None = None,
    mirror: str | None = None,
    say: Say | None = None,
    meter: TextIO | None = None,
) -> list[Fetched]:
    """What ``attack-kg build`` and ``attack-kg lock`` do first: the pins (or ``lock``), narrowed
    and overridden (:func:`select`), each fetched and verified (:func:`fetch`)."""
    if not isinstance(overrides, Mapping):
        overrides = parse_overrides(overrides)
    chosen = select(load_pins(lock), domains=domains, attack_version=attack_version, overrides=overrides)
    if not chosen:
        raise InputError("no sources to fetch", path=lock)
    return fetch_all(chosen, cache=cache, offline=offline, mirror=mirror, say=say, meter=meter)


# --- into a build ------------------------------------------------------------------------------


def build_inputs(fetched: Sequence[Fetched]) -> dict:
    """Keyword arguments of :func:`attackkg.builders.build.build_store` for the fetched sources:
    each kind's keyword (registry), a list for a kind that takes several inputs, else one path."""
    by_kind: dict[str, list[Fetched]] = {}
    for item in fetched:
        by_kind.setdefault(item.source.kind, []).append(item)
    inputs: dict = {}
    for name, items in by_kind.items():
        kind = registry.get(name)
        if not kind.several and len(items) > 1:
            keys = ", ".join(item.source.key for item in items)
            raise InputError(f"one {name} source per build, not several ({keys})")
        paths = [item.path for item in items]
        inputs[kind.keyword] = paths if kind.several else paths[0]
    return inputs


def source_flags() -> str:
    """``--attack/--d3fend/--sigma/--atomic``: the build flags of the registered kinds, for messages."""
    return "/".join(kind.flag for kind in registry.kinds())


def _basename(url: str) -> str:
    return urllib.parse.unquote(urllib.parse.urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1])
