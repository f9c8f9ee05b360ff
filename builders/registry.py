"""The source kinds attack-kg builds, registered once (after rdflib's ``rdflib/plugin.py``).

Every kind of source (ATT&CK, D3FEND, Sigma, Atomic Red Team, ...) is a :class:`SourceKind`:
a name, the module that reads it (imported lazily, by module path, on first :meth:`SourceKind.module`),
and what the build and the CLI need to know about its inputs. :func:`register` adds one,
:func:`get` returns one by name, :func:`kinds` lists them in registration order. Everything that
lists sources reads this registry: ``attack-kg build``'s source flags and their help, the keywords
of :func:`attackkg.builders.build.build_store`, the ``kind`` of a pinned source
(``builders/pins.json``, :mod:`attackkg.builders.sources`), the order of ``attack-kg info``.

The contract: what a source module provides
--------------------------------------------

A source module only *reads*; the build (:mod:`attackkg.builders.build`) writes the triples into
the store, the reports and the metadata graph. The module has:

``load(path, **options) -> Data``
    Read and check the input (``path``: one path, or a list of paths for a kind registered with
    ``inputs="together"``). Bad input raises :class:`~attackkg.builders.base.InputError` with the
    file and line. A kind registered ``lenient=True`` reads leniently by default (a bad file or
    item is skipped and reported) and takes ``strict=True`` to raise the first instead; community
    YAML does this with :class:`attackkg.builders.yamlfiles.Collector`. ``options`` are the
    kind's registered :class:`Option` s.
``graph_name(data) -> str``
    The IRI of the named graph of this source release (``ontology.namespaces.graph_iri``).
``triples(data) -> Iterator[pyoxigraph.Triple]``
    The triples; pure, no I/O.
``report(data) -> Report``
    What was read: ``source`` (the kind's name), ``path``, ``graph``, ``version``, ``title``,
    ``sha256``, ``counts``, ``skipped`` (the InputErrors of skipped files or items) and
    ``warnings``. The build fills in ``triples``.
``expand(path) -> list[path]`` (optional, for a kind registered ``inputs="each"``)
    The inputs one given path stands for (a folder of mapping files: each file). Each is loaded
    on its own, its own release and graph; when a path expands to several, a bad one is skipped
    and reported in the next report of that path (unless the build is ``strict``).
``check(data, store, graphs) -> list[str]`` (optional)
    A cross-source check, run once every source of the build is in ``store`` (a
    ``pyoxigraph.Store``); ``graphs`` maps each kind's name to the graph IRIs built for it. It
    returns warnings for the report, such as Sigma tags naming no object of the loaded ATT&CK.

What the build does with them, the same for every kind: every input is loaded and reported
before anything is written (a lenient source that skipped everything it read and has no triple
left fails with its first error); each source's triples go into its named graph; then each
``check`` runs, then the derived graphs (:func:`register_derivation`: the D3FEND countermeasure
inference, ``build(store) -> Report``, when D3FEND was built; ``None`` when there is nothing to record), then the metadata graph is written
from the reports. :func:`attackkg.builders.build.build_source` builds one source into any rdflib
graph (tests, notebooks); ``build_store`` and ``build_dataset`` build several into one store.

A sixth source: one module plus one registration
------------------------------------------------

A CSV of technique notes (``technique,note`` per line) as ``mynotes.py``::

    import csv, dataclasses, hashlib
    import pyoxigraph as ox
    from attackkg.builders.base import InputError, Report, iri, text
    from attackkg.ontology.namespaces import RDFS, TECHNIQUE_ID, attack_iri, graph_iri

    @dataclasses.dataclass
    class Notes:
        path: str
        rows: list[tuple[str, str]]
        sha256: str

    def load(path, **options) -> Notes:
        raw = open(path, "rb").read()
        rows = []
        for line, row in enumerate(csv.reader(raw.decode("utf-8").splitlines()), start=1):
            if len(row) != 2 or not TECHNIQUE_ID.match(row[0]):
                raise InputError(f"not a technique,note row: {row!r}", path=path, line=line)
            rows.append((row[0], row[1]))
        return Notes(str(path), rows, hashlib.sha256(raw).hexdigest())

    def graph_name(data: Notes) -> str:
        return graph_iri("notes", data.sha256[:12])

    def triples(data: Notes):
        for technique, note in data.rows:
            yield ox.Triple(iri(attack_iri(technique)), ox.NamedNode(RDFS + "comment"), text(note))

    def report(data: Notes) -> Report:
        return Report("notes", data.path, graph_name(data), sha256=data.sha256,
                      counts={"notes": len(data.rows)})

and one line where the program starts (or in this module's :data:`BUILT_IN`)::

    register("notes", "mynotes", title="technique notes", help="a CSV of technique,note rows")

Then ``build_store(store, attack_paths=[...], notes_path="notes.csv")`` builds it beside ATT&CK,
``attack-kg build --notes notes.csv`` does the same, and a pin of ``"kind": "notes"`` is accepted.
``tests/test_registry.py`` registers exactly such a source from the test and builds it.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from types import ModuleType
from typing import Literal

__all__ = [
    "BUILT_IN",
    "Derivation",
    "Option",
    "SourceKind",
    "derivations",
    "get",
    "kinds",
    "names",
    "register",
    "register_derivation",
    "unregister",
]

Inputs = Literal["one", "each", "together"]
CONTRACT = ("load", "graph_name", "triples", "report")  # what every source module defines


@dataclass(frozen=True)
class Option:
    """A reading option of one kind: ``build_store`` keyword and CLI flag ``--<keyword with ->``
    (``sigma_deprecated`` -> ``--sigma-deprecated``), passed to ``load`` as ``parameter``."""

    keyword: str
    parameter: str
    help: str

    @property
    def flag(self) -> str:
        return "--" + self.keyword.replace("_", "-")


@dataclass(frozen=True)
class SourceKind:
    """One kind of source: its name, the module that reads it, and how its inputs are given.

    ``inputs``: ``"one"`` path per build; ``"each"``: several, each its own release and graph
    (ATT&CK domains); ``"together"``: several that ``load`` reads as one release (rule folders).
    ``lenient``: ``load`` skips bad files or items by default and takes ``strict``.
    """

    name: str
    module_path: str
    title: str
    help: str
    inputs: Inputs = "one"
    lenient: bool = False
    options: tuple[Option, ...] = ()

    @property
    def several(self) -> bool:
        """Whether a build takes several inputs of this kind."""
        return self.inputs != "one"

    @property
    def keyword(self) -> str:
        """The ``build_store`` keyword: ``<name>_paths`` (several inputs) or ``<name>_path``."""
        return f"{self.name}_paths" if self.several else f"{self.name}_path"

    @property
    def flag(self) -> str:
        """The ``attack-kg build`` flag: ``--<name>``."""
        return f"--{self.name}"

    def module(self) -> ModuleType:
        """The source module, imported on first use (so ``--help`` imports no builder); a
        TypeError names what it lacks of the contract."""
        module = import_module(self.module_path)
        missing = [name for name in CONTRACT if not callable(getattr(module, name, None))]
        if missing:
            raise TypeError(
                f"source kind {self.name!r}: {self.module_path} has no {', '.join(missing)} "
                "(the contract is in attackkg.builders.registry)"
            )
        return module


@dataclass(frozen=True)
class Derivation:
    """A graph the project derives once some kinds are in the store: ``module.build(store) -> Report``
    (the D3FEND countermeasure inference needs D3FEND)."""

    name: str
    module_path: str
    needs: tuple[str, ...]

    def module(self) -> ModuleType:
        return import_module(self.module_path)


_KINDS: dict[str, SourceKind] = {}
_DERIVATIONS: dict[str, Derivation] = {}


def register(
    name: str,
    module_path: str,
    *,
    title: str,
    help: str,
    inputs: Inputs = "one",
    lenient: bool = False,
    options: tuple[Option, ...] = (),
) -> SourceKind:
    """Register a source kind under ``name`` (replacing one of that name); returns it."""
    if not name.isidentifier() or not name.islower():
        raise ValueError(f"a source kind is named in lower-case letters, digits and '_', not {name!r}")
    if inputs not in ("one", "each", "together"):
        raise ValueError(f"inputs is one, each or together, not {inputs!r}")
    kind = SourceKind(name, module_path, title, help, inputs, lenient, tuple(options))
    _KINDS[name] = kind
    return kind


def unregister(name: str) -> None:
    """Remove a registered kind (a test's toy source, after the test)."""
    _KINDS.pop(name, None)


def get(name: str) -> SourceKind:
    """The kind registered as ``name``; KeyError naming the registered ones otherwise."""
    try:
        return _KINDS[name]
    except KeyError:
        raise KeyError(f"no source kind {name!r}; the kinds are {', '.join(_KINDS)}") from None


def kinds() -> list[SourceKind]:
    """Every registered kind, in registration order (the order a build reads them in)."""
    return list(_KINDS.values())


def names() -> list[str]:
    """The registered kinds' names, in order."""
    return list(_KINDS)


def register_derivation(name: str, module_path: str, *, needs: tuple[str, ...]) -> Derivation:
    """Register a derived graph, built after the sources when any kind in ``needs`` was built."""
    derivation = Derivation(name, module_path, tuple(needs))
    _DERIVATIONS[name] = derivation
    return derivation


def derivations() -> list[Derivation]:
    return list(_DERIVATIONS.values())


# --- the built-in kinds: the one place they are listed ------------------------------------------

BUILT_IN = (
    register(
        "attack",
        "attackkg.builders.attack",
        title="ATT&CK",
        help="ATT&CK STIX bundle(s), .json or .json.gz, STIX 2.0 or 2.1, any domain (each gets its own graph)",
        inputs="each",
    ),
    register("d3fend", "attackkg.builders.d3fend", title="D3FEND", help="D3FEND ontology in Turtle (d3fend.ttl)"),
    register(
        "sigma",
        "attackkg.builders.sigma",
        title="Sigma rules",
        help="Sigma rules: the repository folder (rules*/ are read), any rule folder, or a release zip",
        inputs="together",
        lenient=True,
        options=(
            Option("sigma_deprecated", "include_deprecated", "also read Sigma's deprecated/ rules"),
            Option("sigma_unsupported", "include_unsupported", "also read Sigma's unsupported/ rules"),
        ),
    ),
    register(
        "atomic",
        "attackkg.builders.atomic",
        title="Atomic Red Team",
        help="Atomic Red Team: the repository folder (atomics/T*/T*.yaml) or a release archive",
        lenient=True,
    ),
    register(
        "mappings",
        "attackkg.builders.mappings",
        title="CTID Mappings Explorer",
        help="CTID Mappings Explorer JSON (NIST 800-53, cloud, KEV, ...): files or folders of them, each file its own graph",
        inputs="each",
    ),
    register(
        "car",
        "attackkg.builders.car",
        title="MITRE CAR",
        help="MITRE Cyber Analytics Repository: the repository folder (analytics/*.yaml, data_model/*.yaml)",
        lenient=True,
    ),
    register(
        "sensors",
        "attackkg.builders.sensors",
        title="CTID Sensor Mappings",
        help="CTID Sensor Mappings to ATT&CK: the repository folder or a *-sensors-mappings-*.csv file "
        "(Sysmon, Windows event logs, auditd, CloudTrail, osquery, Zeek events -> ATT&CK data components)",
    ),
)
register_derivation("countermeasures", "attackkg.builders.countermeasures", needs=("d3fend",))
# After the countermeasures: references to revoked ATT&CK objects (Sigma tags, Atomic techniques,
# D3FEND's attack-id and its countermeasure mappings) followed to their successors.
register_derivation("revocations", "attackkg.builders.revocations", needs=("attack",))
# Sigma rules and ATT&CK analytics' log sources -> the event sources that can feed them
# (builders/telemetry.py, the shipped logsource table); made when there is telemetry to relate:
# Sigma rules or CTID's sensor mappings (an ATT&CK-only build has no telemetry graph).
register_derivation("telemetry", "attackkg.builders.telemetry", needs=("sigma", "sensors"))
