"""Clinic settings, limits and rooms read their POST through clinic/forms.py: bad input is refused next to the
field it concerns and changes nothing."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from ketaclinic.audit.models import AuditEntry
from ketaclinic.clinic.models import Room

HOLD = "vitals.systolic_hold_mmHg"
CAUTION = "vitals.systolic_caution_mmHg"
IV_MAX = "dosing.iv_max_mg_per_kg"


def _row(body: str, key: str) -> str:
    """The table row of one setting on the limits page."""
    start = body.index(f'id="lim-{key}"')
    return body[body.rindex("<tr>", 0, start):body.index("</tr>", start)]


@pytest.mark.parametrize("typed", ["abc", "1e3", "170.5", "-170", ""])
def test_a_setting_that_is_not_a_whole_number_is_refused_next_to_it(client_for, clinic, typed):
    response = client_for("clinic_admin").post(reverse("clinic:limits_save"), {HOLD: typed})
    assert response.status_code == 200
    assert response.context["form"].errors[HOLD]
    assert 'class="field-error"' in _row(response.content.decode(), HOLD)
    clinic.refresh_from_db()
    assert clinic.clinical_settings == {}
    assert not AuditEntry.objects.filter(action="clinic.limits.updated").exists()


def test_a_setting_outside_its_range_names_the_range(client_for, clinic):
    response = client_for("clinic_admin").post(reverse("clinic:limits_save"), {HOLD: "9999"})
    [message] = response.context["form"].errors[HOLD]
    assert "from 120 to 240" in message and "mmHg" in message
    clinic.refresh_from_db()
    assert clinic.clinical_settings == {}


def test_a_fraction_setting_is_read_strictly_and_stored_as_a_number(client_for, clinic):
    c = client_for("clinic_admin")
    refused = c.post(reverse("clinic:limits_save"), {IV_MAX: "NaN"})
    assert "plain number" in refused.context["form"].errors[IV_MAX][0]
    clinic.refresh_from_db()
    assert clinic.clinical_settings == {}
    assert c.post(reverse("clinic:limits_save"), {IV_MAX: "0,6"}).status_code == 302
    clinic.refresh_from_db()
    assert clinic.limits()[IV_MAX] == 0.6


def test_saving_the_limits_page_unchanged_changes_no_setting(client_for, clinic):
    """The page posts every setting; posting back what it shows must store nothing (no rounding of a default
    such as the 0.01875 mg/kg/min maximum infusion rate)."""
    c = client_for("clinic_admin")
    form = c.get(reverse("clinic:limits")).context["form"]
    posted = {}
    for name in form.fields:
        value = form[name].value()
        if isinstance(value, bool):
            if value:
                posted[name] = "on"
            posted[f"{name}__shown"] = "1"
        else:
            posted[name] = str(value)
    assert c.post(reverse("clinic:limits_save"), posted).status_code == 302
    clinic.refresh_from_db()
    assert clinic.clinical_settings == {}


def test_limits_out_of_order_are_refused_next_to_a_setting_of_the_pair(client_for, clinic):
    response = client_for("clinic_admin").post(reverse("clinic:limits_save"), {CAUTION: "200", HOLD: "180"})
    assert response.status_code == 200
    assert any("must not be greater than" in m for m in response.context["form"].errors[HOLD])
    assert 'class="field-error"' in _row(response.content.decode(), HOLD)
    clinic.refresh_from_db()
    assert clinic.clinical_settings == {}


def test_the_limits_page_keeps_every_other_setting_editable_after_a_refusal(client_for, clinic):
    body = client_for("clinic_admin").post(reverse("clinic:limits_save"), {HOLD: "abc"}).content.decode()
    assert re.search(rf'name="{re.escape(CAUTION)}"[^>]*value="140"', body)  # current value, not blank
    assert 'name="discharge.no_driving_ack_required__shown"' in body


@pytest.mark.parametrize("chairs", ["2.5", "-1", "21", "two", ""])
def test_a_room_with_an_impossible_number_of_chairs_is_not_added(client_for, clinic, chairs):
    response = client_for("clinic_admin").post(reverse("clinic:room_add"),
                                               {"name": "Infusion A", "kind": "infusion", "chairs": chairs})
    assert response.status_code == 200
    assert response.context["form"].errors["chairs"]
    assert not Room.objects.exists()
    assert not AuditEntry.objects.filter(action="clinic.room.added").exists()


def test_a_blank_room_name_is_refused_next_to_the_field(client_for, clinic):
    response = client_for("clinic_admin").post(reverse("clinic:room_add"), {"name": "  ", "kind": "infusion", "chairs": "1"})
    assert response.context["form"].errors["name"]
    assert not Room.objects.exists()


def test_clinic_settings_refusals_sit_next_to_their_field(client_for, clinic):
    data = {"name": "Aspen", "time_zone": "America/Denver", "dea_registration": "", "working_weekdays": "0,9",
            "crisis_line": "988"}
    response = client_for("clinic_admin").post(reverse("clinic:settings"), data)
    assert response.status_code == 200
    assert "0 (Monday) to 6 (Sunday)" in response.context["form"].errors["working_weekdays"][0]
    clinic.refresh_from_db()
    assert clinic.name == "Test Clinic"
    assert not AuditEntry.objects.filter(action="clinic.updated").exists()
