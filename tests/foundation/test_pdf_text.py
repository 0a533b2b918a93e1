"""Text for the printable PDFs: every name prints as written in the embedded DejaVu Sans; what cannot be drawn
shows as a visible replacement mark instead of silently disappearing."""

from __future__ import annotations

from fpdf import FPDF

from ketaclinic.pdftext import FAMILY, MISSING, pdf_text, use_unicode_font
from tests.pdfread import NAMES
from tests.pdfread import pdf_text as read_back


def test_names_and_typography_are_kept_as_written():
    for name in NAMES:
        assert pdf_text(name) == name
    assert pdf_text("BP ≥ 140 – see §4 “now” · 2× …") == "BP ≥ 140 – see §4 “now” · 2× …"


def test_decomposed_accents_are_composed_so_each_letter_is_one_glyph():
    assert pdf_text("Nguye\u0302\u0303n Thi\u0323 A\u0301nh") == "Nguyễn Thị Ánh"


def test_control_and_invisible_format_characters_are_removed_line_breaks_kept():
    assert pdf_text("Ann\x00a\x07\tLee\r\nRoom\u00a02") == "Anna Lee\nRoom\u00a02"
    # A right-to-left override would make "Smith" read "htimS"; zero-width spaces hide inside names.
    assert pdf_text("\u202eSmith\u202c Jo\u200bnes\ufeff") == "Smith Jones"
    assert pdf_text(None) == ""


def test_what_the_font_cannot_draw_as_written_is_marked_not_dropped():
    assert pdf_text("Zoë 東") == f"Zoë {MISSING}"
    # Hebrew and Arabic would be drawn left to right and unjoined (no text shaping): marked, not misspelt.
    assert pdf_text("Dov דוד") == f"Dov {MISSING * 3}"
    assert pdf_text("محمد") == MISSING * 4


def test_a_page_drawn_with_the_font_reads_back_every_name():
    pdf = FPDF()
    use_unicode_font(pdf)
    pdf.add_page()
    for style in ("", "B"):
        pdf.set_font(FAMILY, style, 11)
        pdf.multi_cell(0, 6, pdf_text(" · ".join(NAMES)), new_x="LMARGIN", new_y="NEXT")
    text = read_back(pdf.output())
    assert text.count(" · ".join(NAMES)) == 2
    assert "?" not in text and MISSING not in text


def test_documents_drawn_one_after_another_each_embed_their_own_glyphs():
    """The font's tables are read once per process and shared; each document still embeds the glyphs it drew,
    and a document drawn after another reads back whole."""
    outputs = []
    for name in (*NAMES, "Ørsted Ærø"):
        pdf = FPDF()
        use_unicode_font(pdf)
        pdf.add_page()
        pdf.set_font(FAMILY, "B", 11)
        pdf.cell(text=pdf_text(name))
        outputs.append((name, bytes(pdf.output())))
    for name, data in outputs:
        assert read_back(data).strip() == name
    assert max(len(data) for _, data in outputs) < 40_000  # each a subset of what it drew, not the 700 kB face
