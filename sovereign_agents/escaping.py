"""Text from models and sources is data: how it is made inert wherever it is rendered.

One home for every renderer: the terminal (the CLI), markdown (report.md) and HTML (for a
report.html). Titles, abstracts, claims, a writer's answer, reviewer issues, ids and URLs all
come from strangers; here they lose the power to add headings, tables, links, HTML or
terminal escape sequences, and keep their words.

* ``terminal`` / ``rich_safe``: for anything the CLI prints.
* ``md_text`` / ``md_cell``: for report.md paragraphs and table cells.
* ``html_text``: for HTML element content and attribute values.
* ``safe_link``: the only links a report carries: http(s) to arXiv (``LINK_HOSTS``).
"""

from __future__ import annotations

import html
import re
from urllib.parse import quote, urlsplit

# CSI (ESC [ ... final byte) and OSC (ESC ] ... BEL or ESC \) sequences, removed whole so no
# "[2J" residue is left; then any other C0/C1 control, bidi override or zero-width character
_ESCAPE_SEQUENCE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x9b[0-?]*[ -/]*[@-~]"
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069]")

# markdown punctuation that can start structure inline (links, images, code spans, emphasis,
# table cells, headings), backslash-escaped (CommonMark escapes any ASCII punctuation); an
# underscore only where it could open or close emphasis (not inside snake_case or AUTO_APPROVE).
# "<" and entity-like "&...;" become entities, so no HTML tag, autolink or entity survives; a
# lone ">" or "&" is left as it is (it renders as itself, and raw report.md stays readable).
_MD_PUNCT = re.compile(r"([\\`*\[\]|#]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9]))")
_MD_ENTITY = re.compile(r"&(?=#?[A-Za-z0-9]+;)")
# a list item or quote at a paragraph's start: "- x", "+ x", "1. x", "2) x", ">x"
_BLOCK_START = re.compile(r"^(\d{0,9})((?<=\d)[.)](?=\s|$)|(?<!\d)[-+](?=\s|$)|(?<!\d)>)")
# a script scheme stays readable but is no longer one (the colon becomes an entity)
_SCRIPT_SCHEME = re.compile(r"(?i)\b(javascript|vbscript|livescript)(\s*):")

LINK_HOSTS = ("arxiv.org",)  # and their subdomains (export.arxiv.org, www.arxiv.org)
_ARXIV_ID = re.compile(r"^(\d{4}\.\d{4,5}|[a-z][a-z\-]*(\.[A-Z]{2})?/\d{7})(v\d+)?$")


def terminal(text: object) -> str:
    """``text`` without escape sequences or control characters (newlines and tabs kept):
    safe to print to a terminal."""
    value = _ESCAPE_SEQUENCE.sub("", str(text))
    return _CONTROL.sub("", value.replace("\r\n", "\n"))


def rich_safe(text: object) -> str:
    """``terminal(text)`` with rich markup escaped, for interpolation into a rich string."""
    from rich.markup import escape

    return escape(terminal(text))


def one_line(text: object) -> str:
    """Control characters removed and all whitespace (newlines too) collapsed to one space."""
    return " ".join(terminal(text).split())


def md_text(text: object) -> str:
    """Inline markdown that renders as exactly ``text``: one line (no heading, list, quote,
    table or code block can start), markdown punctuation escaped, no HTML, no script link."""
    flat = _MD_ENTITY.sub("&amp;", one_line(text)).replace("<", "&lt;")
    flat = _MD_PUNCT.sub(r"\\\1", flat)
    flat = _BLOCK_START.sub(r"\1\\\2", flat)  # "- x", "1. x", "> x" at a paragraph start
    return _SCRIPT_SCHEME.sub(r"\1\2&#58;", flat)


def md_cell(text: object, limit: int | None = None) -> str:
    """A table cell (see ``md_text``); cut at ``limit`` characters of the text if asked."""
    flat = one_line(text)
    if limit and len(flat) > limit:
        flat = flat[: limit - 1].rstrip() + "…"
    return md_text(flat)


def html_text(text: object) -> str:
    """Text for HTML element content or a quoted attribute value."""
    return _SCRIPT_SCHEME.sub(r"\1\2&#58;", html.escape(terminal(text), quote=True))


def arxiv_url(paper_id: str) -> str | None:
    """The arXiv abstract page of an arXiv id, or None when ``paper_id`` is not one."""
    clean = one_line(paper_id)
    if not _ARXIV_ID.match(clean):
        return None
    return f"https://arxiv.org/abs/{quote(clean, safe='./')}"


def safe_link(url: str | None, paper_id: str | None = None) -> str | None:
    """``url`` if it is an http(s) link to a known host (``LINK_HOSTS``) with nothing odd
    in it; else the arXiv page of ``paper_id``; else None (the report shows no link)."""
    if url and _is_safe(url):
        return url
    return arxiv_url(paper_id) if paper_id else None


def _is_safe(url: str) -> bool:
    if url != terminal(url) or any(ch in url for ch in " <>\"'`\\\n\t"):
        return False
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        return False
    return (
        parts.scheme in ("http", "https")
        and not parts.username
        and not parts.password
        and port in (None, 80, 443)
        and any(host == h or host.endswith("." + h) for h in LINK_HOSTS)
    )
