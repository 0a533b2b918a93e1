"""Text for PDFs drawn with fpdf2's core fonts, which hold latin-1 only."""

from __future__ import annotations

_REPLACE = {"≥": ">=", "≤": "<=", "–": "-", "—": "-", "…": "...", "’": "'", "‘": "'", "“": '"', "”": '"', "·": "-",
            "•": "-", "×": "x", "§": "S."}


def latin1(text: object) -> str:
    """``text`` with typographic characters spelled out in ASCII and anything else outside latin-1 as '?'."""
    s = str(text if text is not None else "")
    for a, b in _REPLACE.items():
        s = s.replace(a, b)
    return s.encode("latin-1", "replace").decode("latin-1")
