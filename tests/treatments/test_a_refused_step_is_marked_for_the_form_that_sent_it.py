"""A cockpit step refused on the server is said on the cockpit with the address it was posted to
(``data-refused="<address>"``), and the form that posted there is one whose typed fields the page gives back
(``data-keep-typed``: static/js/app.js; tests/e2e/test_a_refused_form_keeps_what_was_typed.py drives it). A step
that was saved is said plainly, so nothing typed comes back into a form already saved."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from tests.factories import IV, book_now, checked_in, make_order, ready_to_start, stocked

pytestmark = pytest.mark.django_db


def _kept_form_posts_to(page: str, address: str) -> bool:
    """Whether a form posting to ``address`` sits inside (or is) an element marked data-keep-typed."""
    start = page.index("data-keep-typed")
    return f'action="{address}"' in page[start:]


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
