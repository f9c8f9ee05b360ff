"""Every published ATT&CK release file and its SHA-256: the table attack-kg verifies downloads by.

The table, ``builders/attack-releases.tsv`` (package data), is MITRE's own list: mitreattack-python
6.3.1, ``mitreattack/release_info.py`` (``LATEST_VERSION`` 20.0), as copied unchanged into
``../shared/data/attack/release-sha256.tsv``. One row per file: ``format`` (``STIX21``: the
attack-stix-data file ``<domain>-attack/<domain>-attack-<version>.json``; ``STIX20``: mitre/cti's
``<domain>-attack/<domain>-attack.json`` at tag ``ATT&CK-v<version>``), ``domain``
(``enterprise``, ``mobile``, ``ics``, and ``pre`` for the retired PRE-ATT&CK), ``version`` and
``sha256``.

The pins (``builders/pins.json``) fetch the STIX 2.1 files, so :func:`expected_sha256` answers for
``STIX21`` unless told otherwise. Also here: the ATT&CK IDs and tactic short names a release
introduced (:data:`FIRST_RELEASE`), for the "build with a newer release" remedy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from attackkg.builders.base import InputError

TABLE_FILE = "attack-releases.tsv"
STIX21 = "STIX21"
STIX20 = "STIX20"
FORMATS = (STIX21, STIX20)

# ATT&CK IDs and tactic short names that first appeared in a release attack-kg cannot read here,
# with that release (ATT&CK v19.0, 2026-04-28: Defense Evasion split into Stealth, TA0005, and
# Defense Impairment, TA0112; Impair Defenses' sub-techniques and T1070.001/.002 moved to
# T1685-T1690). The remedy for a reference the loaded release lacks names the release here.
FIRST_RELEASE = {
    **{f"T{n}": "19.0" for n in range(1685, 1691)},
    "TA0112": "19.0",
    "stealth": "19.0",
    "defense-impairment": "19.0",
}
_V19_SUBTECHNIQUE = re.compile(r"^T(168[5-9]|1690)\.\d{3}$")


@dataclass(frozen=True, order=True)
class Release:
    """One published ATT&CK file: format, domain, version and its SHA-256."""

    format: str
    domain: str
    version: str
    sha256: str

    @property
    def key(self) -> tuple[int, ...]:
        return version_key(self.version)


def version_key(version: str) -> tuple[int, ...]:
    """``"18.1"`` -> ``(18, 1, 1)``, for ordering releases; a beta (``11.2-beta``) sorts just
    before its release."""
    numbers = tuple(int(n) for n in re.findall(r"\d+", version.split("-")[0]))
    return (*numbers, 0 if "-" in version else 1)


@cache
def table() -> tuple[Release, ...]:
    """The shipped table, in file order."""
    raw = resources.files("attackkg.builders").joinpath(TABLE_FILE).read_text(encoding="utf-8")
    return parse_table(raw, where=f"attackkg.builders/{TABLE_FILE}")


def parse_table(raw: str, where: str = TABLE_FILE) -> tuple[Release, ...]:
    """Rows of a release table (``#`` comments, a ``format domain version sha256`` header, tabs)."""
    out = []
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip() or line.startswith("#") or line.startswith("format\t"):
            continue
        fields = line.split("\t")
        if len(fields) != 4 or not re.fullmatch(r"[0-9a-f]{64}", fields[3]):
            raise InputError("not a release row: format, domain, version, sha256", path=where, line=number)
        out.append(Release(*fields))
    return tuple(out)


def versions(domain: str = "enterprise", format: str = STIX21, releases: tuple[Release, ...] | None = None) -> list[str]:
    """The listed versions of a domain, oldest first."""
    rows = table() if releases is None else releases
    return sorted({r.version for r in rows if r.domain == domain and r.format == format}, key=version_key)


def newest(domain: str = "enterprise", format: str = STIX21) -> str:
    """The newest listed version of a domain (20.0 for Enterprise in mitreattack-python 6.3.1)."""
    return versions(domain, format)[-1]


def expected_sha256(
    domain: str,
    version: str,
    format: str = STIX21,
    releases: tuple[Release, ...] | None = None,
) -> str:
    """The table's SHA-256 of one release file; an unlisted version is an :class:`InputError`
    that lists the known ones."""
    rows = table() if releases is None else releases
    for row in rows:
        if row.domain == domain and row.version == version and row.format == format:
            return row.sha256
    known = versions(domain, format, rows)
    if not known:
        raise InputError(f"ATT&CK has no {domain} domain in {format}; the release table lists none")
    raise InputError(
        f"ATT&CK {domain} {version} is not a published release ({format}); the known ones are {', '.join(known)}"
    )


def first_release(name: str) -> str | None:
    """The first ATT&CK release that has this ID or tactic short name, when attack-kg knows it."""
    if name in FIRST_RELEASE:
        return FIRST_RELEASE[name]
    if _V19_SUBTECHNIQUE.match(name):
        return "19.0"
    return None


def listing(domains: tuple[str, ...] = ("enterprise", "mobile", "ics")) -> list[dict[str, str]]:
    """What ``attack-kg info --releases`` prints: per domain and format, the versions and newest."""
    out = []
    for domain in domains:
        for format in FORMATS:
            known = versions(domain, format)
            if known:
                out.append(
                    {"domain": domain, "format": format, "newest": known[-1], "versions": ", ".join(known)}
                )
    return out
