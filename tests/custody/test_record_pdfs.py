"""The DEA records as PDFs (dispensing record, 21 CFR 1304.22(c); counts and inventories, 1304.11) print the
names of patients, staff and suppliers as written, whatever their script (DejaVu Sans embedded), instead of the
'?' the latin-1 core fonts left in their place."""

from __future__ import annotations

import pytest
from django.urls import reverse

from ketaclinic.custody import services
from ketaclinic.treatments import services as treatments
from tests.custody.conftest import SUPPLIER_DEA
from tests.named_staff import named_staff
from tests.pdfread import pdf_text, squashed
from tests.treatments.factories import IM, actor, book_now, make_order, make_rooms, ready_to_start

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(make_user, clinic) -> dict:
    """One user per role; the prescriber and the nurse have names that latin-1 cannot spell."""
    return named_staff(make_user)


@pytest.fixture
def rooms(clinic):
    return make_rooms(clinic)


@pytest.fixture
def room(rooms):
    """The safe (``location``) supplies the infusion room where the treatment journey seats its patients."""
    return rooms["infusion"]


@pytest.fixture
def supplier(admin_actor):
    return services.add_supplier(admin_actor, name="Ørsted Pharma ApS (synthetic)",
                                 address="Nørregade 1, København", dea_number=SUPPLIER_DEA)


def test_dispensing_record_prints_patient_staff_and_supplier_names(make_patient, staff, rooms, receive, vial_product,
                                                                   client_for):
    patient = make_patient(legal_given_name="Thị Ánh", legal_family_name="Nguyễn", address_line1="12 Łąkowa St",
                           city="Denver", state="CO", postal_code="80205")
    [vial] = receive(vial_product)
    s = ready_to_start(book_now(make_order(patient, staff, IM), staff, rooms), staff)
    services.draw(actor(staff["nurse"]), container=vial, session=s, quantity="1")
    treatments.start_dose(actor=actor(staff["nurse"]), session=s)  # an injection: given at once
    services.record_administration(actor(staff["nurse"]), s)

    response = client_for("compliance").get(reverse("custody:dispensing_record") + "?format=pdf")

    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    cells = squashed(text)  # table cells wrap at the column edge
    for printed in ("Thị Ánh Nguyễn", "12 Łąkowa St, Denver, CO 80205", "Zofia Żółć, RN",
                    "Ørsted Pharma ApS (synthetic)", "Nørregade 1, København"):
        assert squashed(printed) in cells, printed
    assert "?" not in text and "\ufffd" not in text


def test_inventory_record_prints_who_counted(staff, location, receive, vial_product, actor_for, client_for):
    [vial] = receive(vial_product)
    services.submit_count(actor_for("nurse"), location=location, kind="routine",
                          lines=[services.CountInput(vial, vial.balance)])

    response = client_for("compliance").get(reverse("custody:inventory_record") + "?format=pdf")

    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    assert squashed("Zofia Żółć, RN") in squashed(text)
    assert "?" not in text and "\ufffd" not in text
