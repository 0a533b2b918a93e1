"""A cockpit step refused on the server is said on the cockpit with the address it was posted to
(``data-refused="<address>"``), and the form that posted there is one whose typed fields the page gives back
(``data-keep-typed``: static/js/app.js; tests/e2e/test_a_refused_form_keeps_what_was_typed.py drives it). A step
that was saved is said plainly, so nothing typed comes back into a form already saved."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from tests.factories import IV, book_now, checked_in, dosed_session, make_order, ready_to_start, stocked

pytestmark = pytest.mark.django_db


class _Forms(HTMLParser):
    """The POST forms of a page's main content (not htmx's; not the header's sign-out), each with whether it sits
    inside, or is, an element marked data-keep-typed."""

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self):
        super().__init__()
        self.open: list[tuple[str, bool]] = []  # the open elements: tag, marked
        self.forms: list[tuple[str, bool]] = []  # action, kept

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        marked = "data-keep-typed" in a
        in_main = any(t == "main" for t, _ in self.open)
        if tag == "form" and in_main and (a.get("method") or "").lower() == "post" and "hx-post" not in a:
            self.forms.append((a.get("action") or "", marked or any(m for _, m in self.open)))
        if tag not in self.VOID:
            self.open.append((tag, marked))

    def handle_endtag(self, tag):
        for k in range(len(self.open) - 1, -1, -1):
            if self.open[k][0] == tag:
                del self.open[k:]
                break


def _forms(page: str) -> list[tuple[str, bool]]:
    parser = _Forms()
    parser.feed(page)
    return parser.forms


def _kept_form_posts_to(page: str, address: str) -> bool:
    """Whether a form posting to ``address`` sits inside (or is) an element marked data-keep-typed."""
    return any(action == address and kept for action, kept in _forms(page))


@pytest.mark.parametrize("stage", ["checked in", "prepared", "dosing", "stopped", "discharged", "signed"])
def test_every_form_the_cockpit_posts_keeps_what_was_typed(stage, patient, staff, rooms, client_for):
    """Every cockpit form that posts and is redirected back (the steps, the drug account) is one whose typed fields
    a refusal gives back; the page's forms change with the session's stage, so each stage is drawn."""
    if stage == "checked in":
        s = checked_in(book_now(make_order(patient, staff, IV), staff, rooms), staff)
    else:
        s = dosed_session(patient, staff, rooms=rooms, end=stage if stage != "stopped" else "stopped")
    page = client_for("nurse").get(reverse("treatments:cockpit", args=[s.external_id])).content.decode()
    forms = _forms(page)
    assert forms  # each stage has forms to post
    assert [action for action, kept in forms if not kept] == []


def test_refused_prechecks_name_their_address_and_saved_ones_do_not(patient, staff, rooms, client_for):
    s = checked_in(book_now(make_order(patient, staff, IV), staff, rooms), staff)
    nurse, address = client_for("nurse"), reverse("treatments:prechecks", args=[s.external_id])
    refused = nurse.post(address, {"weight_kg": "7o", "escort_name": "Lee Testwood"}, follow=True).content.decode()
    assert re.search(rf'<li class="msg msg-error" data-refused="{re.escape(address)}">Weight', refused)
    assert _kept_form_posts_to(refused, address)
    saved = nurse.post(address, {"weight_kg": "70", "escort_name": "Lee Testwood"}, follow=True).content.decode()
    assert "Pre-checks saved." in saved and "data-refused" not in saved


def test_a_refused_draw_from_the_drug_account_names_the_account(patient, staff, rooms, clinic, client_for):
    stocked(staff, clinic=clinic, lot="KT-MARK-1")
    s = ready_to_start(book_now(make_order(patient, staff, IV), staff, rooms), staff)
    nurse, address = client_for("nurse"), reverse("custody:session", args=[s.external_id])
    page = nurse.post(address, {"action": "draw", "back": "cockpit", "draw-quantity": "a lot"},
                      follow=True).content.decode()
    assert f'data-refused="{address}"' in page and _kept_form_posts_to(page, address)
    # the cockpit shows no field beside the message, so the message names the field
    assert re.search(rf'data-refused="{re.escape(address)}">Vial or device: ', page)
    assert re.search(rf'data-refused="{re.escape(address)}">Amount drawn: ', page)
    assert 'value="draw"' in page  # the draw form the refusal belongs to is on the page to be given back
