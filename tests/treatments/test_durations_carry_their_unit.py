"""Durations are printed with their unit: the REMS form says "135 min", not a bare "135", and the clinic's
settings page gives each default with its unit."""

from __future__ import annotations

import re

from django.urls import reverse

from ketaclinic.clinical.settings import SETTINGS
from ketaclinic.treatments import services
from tests.pdfread import pdf_text
from tests.treatments.factories import ESK, actor, book_now, make_order, ready_to_start


def test_the_rems_form_prints_the_ready_to_leave_time_in_minutes(make_patient, staff, rooms, client_for):
    s = ready_to_start(book_now(make_order(make_patient(), staff, ESK), staff, rooms), staff)
    services.start_dose(actor=actor(staff["nurse"]), session=s)  # opens the session's REMS form
    services.update_rems(actor=actor(staff["nurse"]), session=s, data={"ready_to_leave_minutes": "135"})

    text = pdf_text(client_for("nurse").get(reverse("treatments:rems_pdf", args=[s.external_id])).content)

    assert "Ready to leave after 135 min" in text
    assert "Monitored, first device to end -" in text  # not yet known: a dash, never a bare number
    assert not re.search(r"\(min\)", text)


def test_the_clinic_settings_page_gives_each_default_with_its_unit(client_for):
    body = client_for("clinic_admin").get(reverse("clinic:limits")).content.decode()
    timed = [spec for spec in SETTINGS if spec.unit in ("min", "h", "hours", "days", "weeks")]
    assert timed
    for spec in timed:
        row = body[body.index(f'for="lim-{spec.key}"'):]
        default_cell = re.search(r"</td>\s*<td>([^<]*)", row).group(1).strip()
        assert default_cell == f"{spec.default} {spec.unit}", (spec.key, default_cell)
