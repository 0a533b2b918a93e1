"""A template comment never reaches the page: Django's ``{# ... #}`` is a comment only on one line, and one that runs
over several lines is printed as text (a nurse saw "{# Systolic takes the focus..." above the vitals row). Longer
notes use ``{% comment %}``."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: The project's templates and each app's own (ketaclinic/<app>/templates)
TEMPLATES = [ROOT / "templates", *sorted((ROOT / "ketaclinic").glob("*/templates"))]
OPENED = re.compile(r"\{#(?![^\n]*#\})")  # a {# with no #} after it on the same line


def test_no_template_opens_a_comment_it_does_not_close_on_the_same_line():
    found = [f"{path.relative_to(ROOT)}:{n}" for folder in TEMPLATES for path in sorted(folder.rglob("*.html"))
             for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if OPENED.search(line)]
    assert found == [], "Use {% comment %} for a note over several lines: " + ", ".join(found)


def test_the_check_finds_a_comment_over_two_lines():
    assert OPENED.search("{# over two\n") and not OPENED.search("{# one line #}") and not OPENED.search("a # b")
