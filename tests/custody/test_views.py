"""Custody pages: what a nurse sees and does, and query budgets (who may open each: tests/foundation/access_table.py)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from ketaclinic.clinic.models import current_clinic
from ketaclinic.custody import services
from ketaclinic.custody.models import Container, Count, Incident, LedgerEntry, PendingEvent, Receipt

pytestmark = pytest.mark.django_db

@pytest.fixture
def world(receive, vial_product, make_patient, make_session, actor_for, location):
    [vial, vial2] = receive(vial_product, packages=2)
    session = make_session(make_patient(), administered_mg="35")
    services.draw(actor_for("nurse"), container=vial, session=session, quantity="1")
    services.record_administration(actor_for("nurse"), session)
    event = services.request_waste(actor_for("nurse"), session=session, quantity="0.3", method="bin")
    report = services.report_loss(actor_for("nurse"), container=vial2, quantity="1", kind="loss",
                                  discovered_at=timezone.now(), circumstances="Dropped vial")
    count = services.submit_count(actor_for("nurse"), location=location, kind="routine",
                                  lines=[services.CountInput(vial, Decimal("8.9")),
                                         services.CountInput(vial2, Decimal("9"))])
    today = timezone.localdate()
    receipt = Receipt.objects.first()
    return {"receipt": receipt, "event": event, "session": session, "container": vial, "loss": report,
            "count": count, "incident": Incident.objects.first(), "entry": LedgerEntry.objects.first(), "today": today}


def test_receive_and_countersign_through_the_pages(client_for, supplier, vial_product, location):
    today = timezone.localdate()
    data = {"supplier": supplier.pk, "invoice_number": "INV-77", "invoice_date": today, "received_on": today,
            "product": vial_product.pk, "lot_number": "L77", "expiry": today + timedelta(days=200), "packages": 2,
            "location": location.pk}
    nurse = client_for("nurse")
    response = nurse.post(reverse("custody:receive"), data)
    receipt = Receipt.objects.get(invoice_number="INV-77")
    assert response.status_code == 302
    page = nurse.get(reverse("custody:receipt", kwargs={"external_id": receipt.external_id}))
    assert b"Countersign:" not in page.content  # not to the person who entered it
    response = client_for("prescriber").post(reverse("custody:countersign", kwargs={"external_id": receipt.external_id}))
    assert response.status_code == 302 and Container.objects.filter(receipt=receipt).count() == 2


def test_bad_receipt_shows_messages_next_to_fields_and_saves_nothing(client_for, supplier, vial_product, location):
    today = timezone.localdate()
    response = client_for("nurse").post(reverse("custody:receive"), {
        "supplier": supplier.pk, "invoice_number": "INV-9", "invoice_date": today, "received_on": today,
        "product": vial_product.pk, "lot_number": "L9", "expiry": today - timedelta(days=2), "packages": 1,
        "location": location.pk})
    assert response.status_code == 200 and b"had expired when received" in response.content
    assert not Receipt.objects.exists()


def test_draw_refused_on_the_page_when_more_than_remains(client_for, receive, vial_product, make_patient, make_session):
    [vial] = receive(vial_product)
    session = make_session(make_patient())
    url = reverse("custody:session", kwargs={"external_id": session.external_id})
    response = client_for("nurse").post(url, {"action": "draw", "draw-container": vial.external_id, "draw-quantity": "10.5"})
    assert response.status_code == 200 and b"more than the 10.00 mL" in response.content
    assert not LedgerEntry.objects.filter(kind="draw").exists()
    response = client_for("nurse").post(url, {"action": "draw", "draw-container": vial.external_id, "draw-quantity": "0.7"})
    assert response.status_code == 302
    assert Container.objects.get(pk=vial.pk).balance == Decimal("9.30")


def test_count_page_is_blind_until_signed(client_for, receive, vial_product, location):
    [vial] = receive(vial_product)
    services.draw  # noqa: B018 - balance is the received 10.00 mL
    page = client_for("nurse").get(reverse("custody:count"))
    assert vial.label.encode() in page.content and b"10.00" not in page.content
    response = client_for("nurse").post(reverse("custody:count"), {
        "location": location.external_id, "kind": "routine", f"c_{vial.external_id}": "10"})
    assert response.status_code == 302
    count = Count.objects.get()
    assert count.discrepancies == 0


def test_witness_page_signs_waste(client_for, world, staff):
    event = world["event"]
    url = reverse("custody:witness", kwargs={"external_id": event.external_id})
    response = client_for("prescriber").post(url, {"quantity_entered": "0.30"})
    assert response.status_code == 302
    assert PendingEvent.objects.get(pk=event.pk).status == "posted"
    assert LedgerEntry.objects.get(kind="waste").witness == staff["prescriber"]


def test_quantities_name_their_unit_on_the_session_and_signatures_pages(client_for, world):
    # the world's session: 1 mL drawn, 0.70 mL given (35 mg), 0.3 mL waste awaiting its witness
    page = client_for("nurse").get(reverse("custody:session", args=[world["session"].external_id])).content.decode()
    assert "Residue not yet accounted for</dt><dd><b>0.30</b> mL</dd>" in page
    assert '<td class="num">0.70 mL</td><td class="num">0.00 mL</td><td class="num">0.30 mL</td>' in page
    mine = client_for("nurse").get(reverse("custody:signatures")).content.decode()
    assert "Waste of residue 0.30 mL for " in mine


def test_records_download_as_csv_and_pdf(client_for, world):
    c = client_for("compliance")
    csv = c.get(reverse("custody:dispensing_record") + "?format=csv")
    assert csv["Content-Type"].startswith("text/csv")
    text = csv.content.decode()
    assert "Patient address" in text and "Administered by" in text and "Administer" in text
    pdf = c.get(reverse("custody:dispensing_record") + "?format=pdf")
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    inv = c.get(reverse("custody:inventory_record") + "?format=pdf")
    assert inv.content.startswith(b"%PDF")
    assert "Counted" in c.get(reverse("custody:inventory_record") + "?format=csv").content.decode()
    assert b"at least 2 years" in c.get(reverse("custody:dispensing_record")).content


def test_reconciliation_page_and_csv(client_for, world):
    page = client_for("compliance").get(reverse("custody:reconciliation"))
    assert b"balances" in page.content
    csv = client_for("compliance").get(reverse("custody:reconciliation") + "?format=csv").content.decode()
    assert csv.splitlines()[0].startswith("Product,NDC,Lot")


def test_compliance_resolves_incident_on_its_page(client_for, world):
    url = reverse("custody:incident", kwargs={"external_id": world["incident"].external_id})
    assert b"Only the compliance lead" in client_for("nurse").get(url).content
    response = client_for("compliance").post(reverse("custody:resolve_incident", kwargs={
        "external_id": world["incident"].external_id}), {"resolution": "adjust", "reason": "Recounted: 0.1 mL short, spillage"})
    assert response.status_code == 302
    assert Incident.objects.get(pk=world["incident"].pk).status == "resolved"


def test_dashboard_query_count_does_not_grow_with_history(client_for, receive, vial_product, make_patient,
                                                          make_session, actor_for, location, clinic):
    from tests.factories import clinic_open

    clinic_open(clinic)  # the sessions below are booked now: a time the clinic books (the clock may move on to one)
    client = client_for("nurse")
    receive(vial_product, packages=1)
    client.get(reverse("custody:home"))
    with CaptureQueriesContext(connection) as small:
        assert client.get(reverse("custody:home")).status_code == 200
    for i in range(4):
        receive(vial_product, packages=3, lot=f"L{i}")
        session = make_session(make_patient())
        prepared_from = next(v for v in Container.objects.filter(lot__lot_number=session.lot_number, balance__gt=1))
        services.draw(actor_for("nurse"), container=prepared_from, session=session, quantity="1")
    services.submit_count(actor_for("nurse"), location=location, kind="routine",
                          lines=[services.CountInput(c, c.balance + Decimal("0.1"))
                                 for c in Container.objects.filter(balance__gt=0)])
    with CaptureQueriesContext(connection) as big:
        assert client.get(reverse("custody:home")).status_code == 200
    assert len(small) == len(big) == 13, [q["sql"][:90] for q in big.captured_queries]


def test_reconciliation_query_count_is_fixed(client_for, world, receive, vial_product):
    client = client_for("compliance")
    client.get(reverse("custody:reconciliation"))
    with CaptureQueriesContext(connection) as small:
        client.get(reverse("custody:reconciliation"))
    receive(vial_product, packages=5, lot="MORE")
    with CaptureQueriesContext(connection) as big:
        client.get(reverse("custody:reconciliation"))
    assert len(small) == len(big) == 10  # the lots (4 aggregates), container balances, sessions, doses undrawn


def test_loss_reported_on_the_container_page_flags_the_notice(client_for, receive, vial_product):
    [vial] = receive(vial_product)
    url = reverse("custody:report_loss", kwargs={"external_id": vial.external_id})
    response = client_for("nurse").post(url, {
        "loss-kind": "theft", "loss-quantity": "2",
        # Forms read times in the clinic's own time zone.
        "loss-discovered_at": timezone.localtime(timezone=current_clinic().tz).strftime("%Y-%m-%dT%H:%M"),
        "loss-circumstances": "Seal broken, volume missing"}, follow=True)
    assert b"Written notice to the local DEA Field Division due by" in response.content
    assert Container.objects.get(pk=vial.pk).balance == Decimal("8.00")
    home = client_for("compliance").get(reverse("custody:home"))
    assert b"Written notice to DEA due" in home.content


def test_today_panel_shows_custody_work_to_handlers_only(client_for, world):
    nurse_page = client_for("prescriber").get(reverse("clinic:today")).content.decode()
    assert "Controlled substances" in nurse_page and "waiting for your countersignature or witness" in nurse_page
    assert "open count discrepancy" in nurse_page and "DEA theft/loss notice due" in nurse_page
    assert "Controlled substances" not in client_for("front_desk").get(reverse("clinic:today")).content.decode()
