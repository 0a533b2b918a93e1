"""Fonts and text for the printable PDFs (fpdf2).

Every PDF draws with DejaVu Sans, vendored in ``ketaclinic/fonts/`` (Bitstream Vera / Arev licence, see the
LICENSE file there), so a name prints as written -- "Nguyễn Thị Ánh", "Żółć", "Ørsted" -- and copies out of the
PDF as text: fpdf2 embeds only the glyphs a document uses, with a ToUnicode map."""

from __future__ import annotations

import copy
import unicodedata
from functools import cache
from pathlib import Path

from fontTools.ttLib import TTFont
from fpdf import FPDF
from fpdf.fonts import SubsetMap, TTFFont

FONT_DIR = Path(__file__).resolve().parent / "fonts"
FAMILY = "DejaVu"
_FACES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}

# A character no face can draw prints as the replacement character, so the reader sees that something is missing
# (fpdf2 would otherwise drop it without a trace).
MISSING = "\ufffd"
# Control characters (Cc) and invisible format characters (Cf: zero-width spaces and joiners, soft hyphens, the
# bidirectional overrides that can reorder what a reader sees) are removed; fpdf2 draws text without shaping.
_REMOVED = frozenset({"Cc", "Cf"})


def use_unicode_font(pdf: FPDF) -> None:
    """Register DejaVu Sans (regular and bold) with ``pdf`` as family ``FAMILY``; once per document.

    ``FPDF.add_font`` reads every glyph's width and id from the font file, about 50 ms a face, for every
    document. Those tables are read once per process here (:func:`_face`); each document gets its own copy of the
    font with the tables shared, and its own lazily opened font file, which fpdf2 cuts down in place to the
    glyphs the document used when it writes the PDF (so no two documents share what is cut)."""
    for style in _FACES:
        template = _face(style)
        if template.fontkey in pdf.fonts:
            raise ValueError(f"{FAMILY} {style or 'regular'} is already registered with this document")
        font = TTFFont.__new__(TTFFont)
        for slot in TTFFont.__slots__:  # what the template read: the name, metrics, widths, glyph ids, cmap
            if hasattr(template, slot):
                setattr(font, slot, getattr(template, slot))
        font.i = len(pdf.fonts) + 1  # as add_font numbers it
        font.ttfont = _open(template.ttffile)
        font.desc = copy.copy(template.desc)  # fpdf2 writes the document's object numbers onto it at output
        font.cw = template.cw.copy()  # a defaultdict: a width looked up for a missing character is stored
        font.missing_glyphs = []
        font.biggest_size_pt = 0
        font.subset = SubsetMap(font)
        pdf.fonts[font.fontkey] = font


def _open(path: Path) -> TTFont:
    return TTFont(path, recalcTimestamp=False, lazy=True)  # as TTFFont opens it


@cache
def _face(style: str) -> TTFFont:
    """The face of ``style`` as ``add_font`` reads it, once per process."""
    reader = FPDF()
    reader.add_font(FAMILY, style, FONT_DIR / _FACES[style])
    font = reader.fonts[f"{FAMILY.lower()}{style}"]
    assert isinstance(font, TTFFont) and font.color_font is None and not font.is_compressed
    return font


@cache
def _drawable() -> frozenset[int]:
    """Code points every registered face has a glyph for and fpdf2 lays out correctly.

    Right-to-left letters (Hebrew, Arabic: bidi class R or AL) are left out although the font has glyphs for
    them: without text shaping (uharfbuzz) fpdf2 draws them left to right and unjoined, which would print a
    different name rather than a visibly missing one."""
    covered: frozenset[int] | None = None
    for filename in _FACES.values():
        cmap = frozenset(TTFont(FONT_DIR / filename, lazy=True).getBestCmap())
        covered = cmap if covered is None else covered & cmap
    assert covered is not None
    return frozenset(cp for cp in covered if unicodedata.bidirectional(chr(cp)) not in ("R", "AL"))


def pdf_text(text: object) -> str:
    """``text`` ready to draw: composed (NFC) so accented letters use their own glyph, line breaks kept, tabs as
    spaces, other control and invisible format characters removed, and anything that cannot be drawn as written
    (not in the font, or right-to-left) as ``MISSING``."""
    s = unicodedata.normalize("NFC", str(text if text is not None else ""))
    s = s.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    drawable = _drawable()
    out = []
    for ch in s:
        if ch == "\n":
            out.append(ch)
        elif unicodedata.category(ch) in _REMOVED:
            continue
        elif ord(ch) in drawable:
            out.append(ch)
        else:
            out.append(MISSING)
    return "".join(out)
