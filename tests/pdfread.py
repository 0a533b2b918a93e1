"""Reading a PDF back as its reader would: the text a copy-and-paste (or a screen reader, or a search) gets out
of it, through the embedded fonts' ToUnicode maps (pypdf)."""

from __future__ import annotations

import io

from pypdf import PdfReader

# Names that core PDF fonts (latin-1) printed with "?" in place of letters, or with a plain "'" for "’".
NAMES = ("Nguyễn Thị Ánh", "Żółć", "Ørsted", "O’Brien-Müller")


def pdf_text(content: bytes) -> str:
    """Every page's text, whitespace runs (line breaks included) as one space."""
    reader = PdfReader(io.BytesIO(bytes(content)))
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


def squashed(text: str) -> str:
    """``text`` without any whitespace: for table cells, where a long word may wrap anywhere."""
    return "".join(text.split())
