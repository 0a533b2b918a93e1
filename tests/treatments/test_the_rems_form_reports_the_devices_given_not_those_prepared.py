"""The Spravato REMS Patient Monitoring Form reports what was administered: an esketamine session prepared at 84 mg
(3 devices) and stopped after the first device gives 1 device and 28 mg, on the form itself, in the cockpit's REMS
box (prepared and given told apart, while dosing and after) and in the form's PDF."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from ketaclinic.treatments import services
from ketaclinic.treatments.models import RemsForm
from tests.factories import (
    ESK,
    actor,
    book_now,
    discharged,
    dosing_started,
    let_time_pass,
    make_order,
    ready_to_start,
)
from tests.pdfread import pdf_text

pytestmark = pytest.mark.django_db

#: MDD with acute suicidal ideation: 84 mg (3 devices) from the first session (the label's plan).
ESK_84 = ESK | {"indication": "mdsi", "fixed_dose_mg": "84"}


def rems_box(client_for, s) -> str:
    """The cockpit's REMS box as the nurse sees it, whitespace runs as one space (signed in afresh: the test clock
    moves on past a signed-in session's idle limit)."""
    page = client_for("nurse").get(reverse("treatments:cockpit", args=[s.external_id])).content.decode()
    box = page[page.index('id="rems"'):]
    return " ".join(box[:box.index("</section>")].split())


def rems_pdf(client_for, s) -> str:
    """The REMS form's PDF as the nurse exports it, as text."""
    return pdf_text(client_for("nurse").get(reverse("treatments:rems_pdf", args=[s.external_id])).content)


def test_an_early_stop_after_one_of_three_devices_is_reported_as_one_device_and_28_mg(
        patient, staff, rooms, client_for):
    s = ready_to_start(book_now(make_order(patient, staff, ESK_84), staff, rooms), staff)
    assert (s.prepared_dose_mg, s.devices) == (Decimal("84.00"), 3)
    s = dosing_started(s, staff)  # the first device

    assert "84 mg prepared (3 devices); 1 device (28 mg) given so far" in rems_box(client_for, s)
    form = RemsForm.objects.get(session=s)
    assert (form.devices, form.dose_mg) == (1, 28)

    let_time_pass(2)
    services.dosing_event(actor=actor(staff["nurse"]), session=s, kind="stop",
                          note="Patient asked to stop after the first device.")
    s.refresh_from_db()
    assert s.administered_mg == Decimal("28")
    box = rems_box(client_for, s)
    assert "84 mg prepared (3 devices); 1 device (28 mg) given" in box and "so far" not in box
    form.refresh_from_db()
    assert (form.status, form.devices, form.dose_mg) == (RemsForm.Status.DRAFT, 1, 28)
    draft = rems_pdf(client_for, s)
    assert "Dose 28 mg (1 device" in draft and "3 device" not in draft and "84 mg" not in draft

    s = discharged(s, staff)
    form.refresh_from_db()
    assert (form.status, form.devices, form.dose_mg) == (RemsForm.Status.COMPLETE, 1, 28)
    assert "1 device (28 mg) given" in rems_box(client_for, s)
    text = rems_pdf(client_for, s)
    assert "Dose 28 mg (1 device" in text and "3 device" not in text and "84 mg" not in text


def test_every_device_given_is_reported_as_given(patient, staff, rooms, client_for):
    s = dosing_started(ready_to_start(book_now(make_order(patient, staff, ESK_84), staff, rooms), staff), staff)
    gap = int(services.limits_for(patient)["dosing.esketamine_device_interval_minutes"])
    for _ in range(2):
        let_time_pass(gap + 0.5)
        services.dosing_event(actor=actor(staff["nurse"]), session=s, kind="device")
    assert "84 mg prepared (3 devices); 3 devices (84 mg) given so far" in rems_box(client_for, s)
    services.dosing_event(actor=actor(staff["nurse"]), session=s, kind="stop")
    s = discharged(s, staff)
    form = RemsForm.objects.get(session=s)
    assert (form.status, form.devices, form.dose_mg) == (RemsForm.Status.COMPLETE, 3, 84)
