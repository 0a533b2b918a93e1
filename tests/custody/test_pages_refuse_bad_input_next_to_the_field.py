"""Every custody form answers bad input with a message where the user looks (next to the field, or above the
form it belongs to) and changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from ketaclinic.custody import services
from ketaclinic.custody.models import Count, LedgerEntry, LossReport, PendingEvent, Product, Receipt, Supplier

pytestmark = pytest.mark.django_db


def field_error(html: str) -> str:
    start = html.index('class="field-error"')
    return html[start:html.index("</span>", start)]


@pytest.mark.parametrize("packages", ["1.5", "1e3", "-1", "501"])
def test_receipt_packages_must_be_a_whole_number_in_range(packages, client_for, supplier, vial_product, location):
    today = timezone.localdate()
    r = client_for("nurse").post(reverse("custody:receive"), {
        "supplier": supplier.pk, "invoice_number": "INV-1", "invoice_date": today, "received_on": today,
        "product": vial_product.pk, "lot_number": "L1", "expiry": today + timedelta(days=300),
        "packages": packages, "location": location.pk})
    assert r.status_code == 200
    assert "Packages received must be" in field_error(r.content.decode())
    assert not Receipt.objects.exists()


def test_the_person_who_entered_a_receipt_cannot_countersign_it(client_for, actor_for, supplier, vial_product,
                                                                location):
    today = timezone.localdate()
    receipt = services.enter_receipt(actor_for("nurse"), supplier=supplier, invoice_number="INV-2",
                                     invoice_date=today, received_on=today, product=vial_product, lot_number="L2",
                                     expiry=today + timedelta(days=300), packages=1, location=location)
    r = client_for("nurse").post(reverse("custody:countersign", kwargs={"external_id": receipt.external_id}))
    assert r.status_code == 200 and "must come from a second person" in r.content.decode()
    receipt.refresh_from_db()
    assert receipt.status == Receipt.Status.PENDING and not LedgerEntry.objects.exists()


def test_administration_refused_on_the_session_page_says_why(client_for, receive, vial_product, make_patient,
                                                             make_session, actor_for):
    [vial] = receive(vial_product)
    session = make_session(make_patient())  # dose verified, none administered yet
    services.draw(actor_for("nurse"), container=vial, session=session, quantity="1")
    url = reverse("custody:session", kwargs={"external_id": session.external_id})
    r = client_for("nurse").post(url, {"action": "administer"})
    assert r.status_code == 200 and "no administered dose recorded yet" in r.content.decode()
    assert not LedgerEntry.objects.filter(kind=LedgerEntry.Kind.ADMINISTER).exists()


def test_a_post_naming_no_form_of_the_session_page_changes_nothing(client_for, receive, vial_product, make_patient,
                                                                   make_session):
    [vial] = receive(vial_product)
    session = make_session(make_patient())
    url = reverse("custody:session", kwargs={"external_id": session.external_id})
    r = client_for("nurse").post(url, {"action": "drawx", "draw-container": vial.external_id, "draw-quantity": "1"})
    assert r.status_code == 200 and "not on this page" in r.content.decode()
    assert not LedgerEntry.objects.filter(kind=LedgerEntry.Kind.DRAW).exists()


def test_a_refused_destruction_shows_the_container_page_with_the_form_as_posted(client_for, receive, vial_product):
    [vial] = receive(vial_product)
    url = reverse("custody:destroy", kwargs={"external_id": vial.external_id})
    r = client_for("nurse").post(url, {"destroy-quantity": "10.5",
                                       "destroy-method": "Denaturing kit", "destroy-place": "Med room"})
    assert r.status_code == 200
    html = r.content.decode()
    assert "Only 10.00 mL remain" in field_error(html)
    assert 'value="Denaturing kit"' in html and 'value="10.5"' in html
    assert not PendingEvent.objects.exists()


def test_a_count_for_an_unknown_store_is_not_signed(client_for, receive, vial_product):
    [vial] = receive(vial_product)
    r = client_for("nurse").post(reverse("custody:count"), {
        "kind": "routine", "location": "00000000-0000-0000-0000-000000000000", f"c_{vial.external_id}": "10"})
    assert r.status_code == 200 and "The count was not signed" in r.content.decode()
    assert not Count.objects.exists()


def test_a_count_line_left_blank_asks_for_an_amount(client_for, receive, vial_product, location):
    [vial, other] = receive(vial_product, packages=2)
    r = client_for("nurse").post(reverse("custody:count"), {
        "kind": "routine", "location": str(location.external_id), f"c_{vial.external_id}": "10"})
    assert r.status_code == 200
    html = r.content.decode()
    assert "Enter an amount (0 if none)." in field_error(html)
    assert 'value="10"' in html  # what was typed stays
    assert not Count.objects.exists()


def test_an_inventory_must_say_when_it_was_taken(client_for, receive, vial_product, location):
    [vial] = receive(vial_product)
    r = client_for("prescriber").post(reverse("custody:count"), {
        "kind": "biennial", "location": str(location.external_id), f"c_{vial.external_id}": "10"})
    assert r.status_code == 200
    assert "opening or close of business" in field_error(r.content.decode())
    assert not Count.objects.exists()


def test_setup_post_naming_no_form_adds_nothing(client_for):
    r = client_for("clinic_admin").post(reverse("custody:setup"), {
        "which": "products", "ndc": "00000-0009-01", "name": "X", "drug": "ketamine", "form": "vial",
        "strength_mg_per_mL": "50", "container_volume_mL": "10", "units_per_package": "1"})
    assert r.status_code == 200 and "not on this page" in r.content.decode()
    assert not Product.objects.exists() and not Supplier.objects.exists()


def test_form_106_cannot_be_filed_in_the_future(client_for, receive, vial_product, actor_for):
    [vial] = receive(vial_product)
    report = services.report_loss(actor_for("nurse"), container=vial, quantity="1", kind="loss",
                                  discovered_at=timezone.now(), circumstances="Dropped vial")
    tomorrow = timezone.localdate() + timedelta(days=1)
    r = client_for("compliance").post(reverse("custody:loss", kwargs={"external_id": report.external_id}), {
        "form106_filed_on": tomorrow.isoformat(), "form106_reference": "DEA-106-1"})
    assert r.status_code == 200
    assert "on or before" in field_error(r.content.decode())
    report.refresh_from_db()
    assert report.form106_filed_on is None and report.form106_reference == ""
    assert LossReport.objects.count() == 1


def test_a_reversal_needs_a_reason(client_for, receive, vial_product):
    receive(vial_product)
    entry = LedgerEntry.objects.get()
    r = client_for("compliance").post(reverse("custody:reverse", kwargs={"external_id": entry.external_id}),
                                      {"reason": "  "}, follow=True)
    assert "Give a reason for the correction." in r.content.decode()
    assert not LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REVERSAL).exists()
