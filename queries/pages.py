"""Jinja2 for the pages attack-kg writes: coverage pages, their index and the diff report.

The templates are package data (``queries/templates/*.j2``). A template whose name ends in
``.html.j2`` is autoescaped: every value from the store reaches the page escaped unless a
template marks it safe, and none does. Markdown templates (``.md.j2``) escape with the ``md``
filters below instead, the escaping Markdown needs.
"""

from __future__ import annotations

import re
from functools import cache

import jinja2

_MD_SPECIAL = re.compile(r"([\\`*\[\]<>])")


def md(text: object) -> str:
    """Text for Markdown: the characters that would start markup escaped (``_`` left alone, as
    inside words it is not emphasis and rule paths are full of it)."""
    return _MD_SPECIAL.sub(r"\\\1", str(text))


def md_url(url: str) -> str:
    """A URL inside a Markdown link: spaces and the characters that would end the link percent-encoded."""
    return url.replace(" ", "%20").replace("(", "%28").replace(")", "%29").replace("<", "%3C").replace(">", "%3E")


def md_link(text: object, url: str) -> str:
    """``[text](url)``, both escaped for Markdown."""
    return f"[{md(text)}]({md_url(url)})"


def md_cell(value: object) -> str:
    """A value in a Markdown table cell: lists joined with commas, ``|`` escaped, one line."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        value = ", ".join(map(str, value))
    return str(value).replace("|", "\\|").replace("\n", " ")


@cache
def environment() -> jinja2.Environment:
    """The Jinja2 environment of the package's templates (made once, on first use)."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("attackkg.queries", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default_for_string=False, default=False),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(md=md, md_url=md_url, md_link=md_link, md_cell=md_cell)
    return env


def render_template(name: str, **context: object) -> str:
    """Render ``queries/templates/<name>`` with ``context``."""
    return environment().get_template(name).render(**context)
