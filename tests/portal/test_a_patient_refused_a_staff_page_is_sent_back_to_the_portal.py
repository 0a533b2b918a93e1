"""A patient who opens a staff page (the staff's Today at "/", typed into the address bar, say) is told it is for the
clinic's staff and given a way back to their portal; the link used to be "Back to Today", which refused them again."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.foundation.clinic_world import clinic_world  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("url_name", ["clinic:today", "patients:search"])
def test_the_refusal_sends_a_patient_back_to_their_portal(clinic_world, url_name):  # noqa: F811
    page = clinic_world.clients["patient"].get(reverse(url_name))
    body = page.content.decode()
    assert page.status_code == 403
    assert "This page is for the clinic&#x27;s staff" in body or "This page is for the clinic's staff" in body
    assert f'href="{reverse("portal:home")}">Back to your portal' in body and "Back to Today" not in body


def test_staff_refused_a_page_still_go_back_to_today(clinic_world):  # noqa: F811
    body = clinic_world.clients["billing"].get(reverse("clinic:limits")).content.decode()
    assert "Back to Today" in body and "Back to your portal" not in body and "It is open to:" in body
