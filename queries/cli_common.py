"""What every ``attack-kg`` command shares: the store and endpoint options, progress lines, and
the output formats (plain tables, W3C SPARQL results)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXAMPLE_BUILD = (
    "attack-kg build --attack ../shared/data/attack/enterprise-attack-18.1.json.gz \\\n"
    "    --d3fend ../shared/data/d3fend/1.2.0/d3fend.ttl --sigma ../shared/data/sigma --store S"
)



class Progress:
    """Progress lines on stderr when it is a terminal (or when asked), silent otherwise."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, message: str) -> None:
        if self.enabled:
            print(f"attack-kg: {message}", file=sys.stderr, flush=True)


def release_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--attack-version",
        metavar="VERSION",
        help="with several ATT&CK releases of a domain in the store, read this one (default: the newest of each)",
    )


def local_target(args: argparse.Namespace):
    """The store of ``--store``, seen at ``--attack-version`` when given."""
    from attackkg.builders.store import open_store
    from attackkg.queries import AtRelease

    store = open_store(args.store)
    version = getattr(args, "attack_version", None)
    return AtRelease(store, version) if version else store


def store_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--store",
        metavar="DIR",
        type=Path,
        help="store folder (default: $ATTACK_KG_STORE, else attack-kg/store in your user data folder)",
    )



ENDPOINT_HELP = (
    "SPARQL server URLs: --endpoint BASE uses Oxigraph's layout, queries at BASE/query, the Graph Store at\n"
    "BASE/store and updates at BASE/update (a URL ending in /query is taken as the query URL). Other servers:\n"
    "give --query-url (and --store-url to publish; updates go to the query URL unless --update-url), e.g.\n"
    "Virtuoso BASE/sparql and BASE/sparql-graph-crud; Fuseki .../ds/sparql, .../ds/data and .../ds/update.\n"
    "Credentials come from the environment, never from the command line, and are never printed:\n"
    "ATTACK_KG_ENDPOINT_TOKEN (bearer token), or ATTACK_KG_ENDPOINT_USER and ATTACK_KG_ENDPOINT_PASSWORD (HTTP basic)."
)


def endpoint_options(parser: argparse.ArgumentParser, publish: bool = False) -> None:
    parser.add_argument(
        "--endpoint",
        metavar="URL",
        required=False,
        help="SPARQL server base URL: queries go to URL/query"
        + (", graphs to URL/store" if publish else "")
        + " (Oxigraph's layout; see below)",
    )
    parser.add_argument("--query-url", metavar="URL", help="the server's SPARQL query URL, when not BASE/query")
    if publish:
        parser.add_argument(
            "--store-url", metavar="URL", help="the server's Graph Store Protocol URL, when not BASE/store"
        )
        parser.add_argument(
            "--update-url",
            metavar="URL",
            help="the server's SPARQL Update URL, when not BASE/update (default with --query-url: the query URL)",
        )
    parser.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=float,
        default=60.0,
        help="give up on a request to the server after this long (default: 60)",
    )



def write_result(result, fmt: str) -> None:
    """Print a query result: a table, or a W3C SPARQL results format written by pyoxigraph's own
    serializers (JSON, XML, CSV, TSV); Turtle for graphs."""
    out = sys.stdout
    if result.type in ("CONSTRUCT", "DESCRIBE"):
        out.write(result.graph.serialize(format="turtle"))
        return
    if fmt == "table":
        if result.type == "ASK":
            print("true" if result.askAnswer else "false")
            return
        columns = [str(v) for v in result.vars]
        table = [[_cell(row.get(var)) for var in result.vars] for row in result.bindings]
        print(format_table(columns, table))
        print(f"({len(table)} row{'s' if len(table) != 1 else ''})", file=sys.stderr)
        return
    if result.type == "ASK" and fmt in ("csv", "tsv"):  # the W3C CSV/TSV formats have no booleans
        print("true" if result.askAnswer else "false")
        return
    import pyoxigraph as ox

    formats = {"json": "JSON", "xml": "XML", "csv": "CSV", "tsv": "TSV"}
    answer = as_oxigraph_results(result)
    data = answer.serialize(format=getattr(ox.QueryResultsFormat, formats[fmt])).decode("utf-8")
    out.write(data if data.endswith("\n") else data + "\n")


def as_oxigraph_results(result):
    """An rdflib SELECT or ASK Result as pyoxigraph's ``QuerySolutions``/``QueryBoolean``, which
    serialize to every W3C results format (rdflib has no TSV writer; the same writer serves the
    local store and an endpoint's answers). Passed through the W3C JSON format, which both read."""
    import pyoxigraph as ox

    return ox.parse_query_results(result.serialize(format="json"), ox.QueryResultsFormat.JSON)


def _cell(value) -> str:
    return "" if value is None else str(value)


def format_table(columns: list[str], table: list[list[str]], width: int = 60) -> str:
    """A plain-text table, each cell cut at ``width`` characters."""
    cut = [[c if len(c) <= width else c[: width - 1] + "…" for c in row] for row in table]
    widths = [max([len(col)] + [len(row[i]) for row in cut]) for i, col in enumerate(columns)]
    lines = ["  ".join(col.ljust(w) for col, w in zip(columns, widths)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cut]
    return "\n".join(lines)
