"""Checking the IDs and names users type (``T1204.001``, ``G0016``, ``D3-UA``, ``APT29``), and
quoting what they typed in an error line.

Every command that takes an ATT&CK or D3FEND ID calls :func:`check_identifier` before it looks
anything up, so that an empty value, a 10 MB value, or an ID typed with look-alike characters
(a Cyrillic ``Т``, full-width digits ``１２０４``) is refused with the reason, instead of matching
nothing and printing ``(0 rows)``. :func:`quoted` cuts what an error line echoes.
"""

from __future__ import annotations

import re
import unicodedata

from attackkg.builders.base import InputError

QUOTE_LIMIT = 80  # characters of the user's value an error line shows
MAX_NAME_LENGTH = 200  # ATT&CK's longest name or alias (18.1) has 57 characters; IRIs are longer

# Shapes of the IDs users type: ATT&CK IDs, D3FEND IDs and D3FEND terms (ASCII only: ``\d`` would
# also take full-width digits).
_ID_SHAPE = re.compile(
    r"(?:TA|T|M|G|S|C|DS|DC|DET)[0-9]{4}(?:[./][0-9]{3})?|D3-[A-Z0-9]+|d3f:[A-Za-z][A-Za-z0-9_-]*", re.IGNORECASE
)

# Letters that look like the Latin ones of IDs (Cyrillic, Greek), and dashes that look like '-'.
# NFKC already folds full-width letters, digits and dots (``Ｔ１２０４．００１``).
_LOOK_ALIKES = str.maketrans(
    {
        **dict(zip("АВСЕНІЈКМОРЅТХаеорсхѕіј", "ABCEHIJKMOPSTXaeopcxsij")),  # Cyrillic
        **dict(zip("ΑΒΕΗΙΚΜΝΟΡΤΧΖ", "ABEHIKMNOPTXZ")),  # Greek
        **dict.fromkeys("‐‑‒–—―−﹣", "-"),
    }
)


def quoted(value: str, limit: int = QUOTE_LIMIT) -> str:
    """``value`` as an error line shows it: Python's quoting, cut at ``limit`` characters, and
    the full length said when cut (``'TTTT…' (10,485,760 characters)``)."""
    value = str(value)
    if len(value) <= limit:
        return repr(value)
    return f"{value[:limit]!r}… ({len(value):,} characters)"


def ascii_look_alike(value: str) -> str | None:
    """The ASCII ID ``value`` looks like when it is written with other characters that look the
    same (``Т1204`` with a Cyrillic Т -> ``T1204``); None when it is plain ASCII or no ID."""
    if value.isascii():
        return None
    folded = unicodedata.normalize("NFKC", value).translate(_LOOK_ALIKES).strip()
    return folded if folded.isascii() and _ID_SHAPE.fullmatch(folded) else None


def check_identifier(value: str, what: str = "ID") -> str:
    """``value`` without surrounding spaces, checked as an ID, name or IRI a user typed for
    ``what`` (``TECHNIQUE``, ``--param technique``); raises :class:`InputError` saying why when it
    is empty, longer than any name, holds control characters, or is an ID written with non-ASCII
    look-alike characters."""
    text = str(value).strip()
    if not text:
        raise InputError("empty; give an ID such as T1204.001, G0016 or D3-UA", path=what)
    if len(text) > MAX_NAME_LENGTH:
        raise InputError(f"{quoted(text)} is longer than any ATT&CK or D3FEND ID, name or IRI", path=what)
    if any(unicodedata.category(char) in ("Cc", "Cf") for char in text):
        raise InputError(f"{quoted(text)} holds control or invisible characters", path=what)
    refuse_look_alike(text, what)
    return text


def refuse_look_alike(value: str, what: str = "ID") -> None:
    """Raise :class:`InputError` when ``value`` is an ID written with non-ASCII look-alikes."""
    looks_like = ascii_look_alike(value)
    if looks_like is None:
        return
    odd = next(char for char in value if not char.isascii())
    name = unicodedata.name(odd, "a character")
    raise InputError(
        f"{quoted(value)} is written with non-ASCII characters that look like ASCII ones "
        f"({odd!r} is {name}, U+{ord(odd):04X}); type it in ASCII: {looks_like}",
        path=what,
    )
