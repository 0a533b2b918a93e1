"""Markdown-lite for the portal's education pages: safe by construction, no library.

The text is HTML-escaped first, whole; only then are a few patterns turned into tags: ``## `` and ``### `` headings,
``- `` bullet lists, blank-line paragraphs, ``**bold**``, and ``[words](address)`` links whose address is an
``https://`` address or a path of this site (``/...``), made only of characters that need no escaping. Anything
else, ``<script>`` or ``<a href="javascript:...">`` included, shows as the characters typed. (No Markdown or
sanitiser package is installed: nh3 and bleach are not in the venv, and markdown-it-py, which is, is only a
dependency of another tool; a page this small needs neither.)
"""

from __future__ import annotations

import re

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")
# After escaping, a link's address may hold only these characters: no quote, angle bracket, ampersand or space; a
# path of this site starts with one slash (two would name another host)
_LINK = re.compile(r"\[([^\[\]]+)\]\(((?:https://[A-Za-z0-9.-]+(?:/[A-Za-z0-9._~/%#?=+-]*)?)|(?:/(?!/)[A-Za-z0-9._~/%#?=+-]*))\)")


def _inline(escaped: str) -> str:
    text = _BOLD.sub(r"<strong>\1</strong>", escaped)
    return _LINK.sub(lambda m: f'<a href="{m.group(2)}"{_rel(m.group(2))}>{m.group(1)}</a>', text)


def _rel(address: str) -> str:
    return ' rel="noopener noreferrer"' if address.startswith("https://") else ""


def render(text: str) -> SafeString:
    """The page's text as HTML: every character the author typed escaped, then the few patterns above."""
    out: list[str] = []
    paragraph: list[str] = []
    items: list[str] = []

    def flush() -> None:
        if paragraph:
            out.append(f"<p>{_inline(' '.join(paragraph))}</p>")
            paragraph.clear()
        if items:
            out.append("<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in items) + "</ul>")
            items.clear()

    for raw in text.replace("\r\n", "\n").split("\n"):
        line = escape(raw.strip())
        if not line:
            flush()
        elif line.startswith("### "):
            flush()
            out.append(f"<h3>{_inline(line[4:])}</h3>")
        elif line.startswith("## "):
            flush()
            out.append(f"<h2>{_inline(line[3:])}</h2>")
        elif line.startswith("- "):
            if paragraph:
                flush()
            items.append(line[2:])
        elif items and raw.startswith("  "):  # a bullet's continuation line
            items[-1] += " " + line
        else:
            if items:
                flush()
            paragraph.append(line)
    flush()
    return mark_safe("\n".join(out))  # noqa: S308  every piece above was escaped before any tag was added
