"""A nasal-spray device leaves the stock whole (a fraction destroyed, lost or returned would leave stock no draw can
ever take), and the codes typed at set-up (DEA number, NDC) are ASCII letters and digits: the clinical core's DEA
check (identifiers.check_dea_number) and the NDC check refuse Arabic-Indic, full-width and superscript digits, and
the message says "0-9". Each refusal is a message and changes nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from ketaclinic.custody import services
from ketaclinic.custody.models import LedgerEntry, LossReport, PendingEvent, Product, Supplier
from ketaclinic.custody.services import CustodyError

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("quantity", ["0.5", "1.5", "0.01"])
def test_a_fraction_of_a_device_cannot_be_destroyed(receive, device_product, actor_for, quantity):
    device, *_ = receive(device_product)
    with pytest.raises(CustodyError) as refused:
        services.request_destruction(actor_for("nurse"), container=device, quantity=quantity, method="denaturing kit",
                                     place="clinic safe room")
    assert "whole" in refused.value.errors["quantity"]
    assert not PendingEvent.objects.exists()


@pytest.mark.parametrize("quantity", ["0.5", "1.25"])
def test_a_fraction_of_a_device_cannot_be_reported_lost(receive, device_product, actor_for, quantity):
    device, *_ = receive(device_product)
    with pytest.raises(CustodyError) as refused:
        services.report_loss(actor_for("nurse"), container=device, quantity=quantity, kind="theft",
                             discovered_at=timezone.now(), circumstances="Kit found opened")
    assert "whole" in refused.value.errors["quantity"]
    assert not LossReport.objects.exists() and not LedgerEntry.objects.filter(kind="loss").exists()


def test_a_fraction_of_a_device_cannot_be_returned(receive, device_product, reverse_distributor, actor_for):
    device, *_ = receive(device_product)
    with pytest.raises(CustodyError) as refused:
        services.return_stock(actor_for("prescriber"), container=device, quantity="1.5", distributor=reverse_distributor,
                              reason="recalled")
    assert "whole" in refused.value.errors["quantity"]
    assert not LedgerEntry.objects.filter(kind="return").exists()


def test_a_fraction_of_a_device_cannot_be_drawn_and_the_message_is_the_same(make_patient, make_session, receive,
                                                                           device_product, actor_for, other_location,
                                                                           other_room):
    device, *_ = receive(device_product, where=other_location)
    session = make_session(make_patient(), drug="esketamine", at_room=other_room)
    with pytest.raises(CustodyError) as refused:
        services.draw(actor_for("nurse"), container=device, session=session, quantity="0.5")
    assert "Nasal spray devices are counted whole" in refused.value.errors["quantity"]
    assert not LedgerEntry.objects.filter(kind="draw").exists()


def test_whole_devices_are_lost_and_destroyed_as_before(receive, device_product, actor_for):
    first, second = receive(device_product)  # a kit of two devices: one container each
    assert first.balance == second.balance == Decimal("1.00")
    services.report_loss(actor_for("nurse"), container=first, quantity="1", kind="theft", discovered_at=timezone.now(),
                         circumstances="One device missing from the kit")
    event = services.request_destruction(actor_for("nurse"), container=second, quantity="1.00",
                                         method="denaturing kit", place="clinic safe room")
    services.attest(actor_for("prescriber"), event, "1")
    services.attest(actor_for("compliance"), event, "1")
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.balance == second.balance == 0


def test_a_fraction_of_a_vial_is_still_destroyed(receive, vial_product, actor_for):
    [vial] = receive(vial_product)
    event = services.request_destruction(actor_for("nurse"), container=vial, quantity="2.5", method="denaturing kit",
                                         place="clinic safe room")
    assert event.quantity == Decimal("2.50")


def test_the_container_page_shows_the_whole_device_refusal_next_to_the_quantity(receive, device_product, client_for):
    device, *_ = receive(device_product)
    r = client_for("nurse").post(reverse("custody:destroy", kwargs={"external_id": device.external_id}), {
        "destroy-quantity": "0.5", "destroy-method": "denaturing kit",
        "destroy-place": "clinic safe room"})
    assert r.status_code == 200 and "Nasal spray devices are counted whole" in r.content.decode()
    assert not PendingEvent.objects.exists()


@pytest.mark.parametrize("dea", ["PS١٢٣٤٥٦٣", "PS１２３４５６３", "PS123456³", "ＰS1234563"])
def test_a_dea_number_with_other_scripts_digits_or_letters_is_refused(admin_actor, dea):
    with pytest.raises(CustodyError) as refused:
        services.add_supplier(admin_actor, name="Synthetic Supply", address="1 Way, Denver, CO", dea_number=dea)
    assert "0-9" in refused.value.errors["dea_number"]
    assert not Supplier.objects.exists()


@pytest.mark.parametrize("ndc", ["50458-٠٢٨-02", "50458-０２８-02", "50458-028-0²"])
def test_an_ndc_with_other_scripts_digits_is_refused(admin_actor, ndc):
    with pytest.raises(CustodyError) as refused:
        services.add_product(admin_actor, ndc=ndc, name="Spravato (test)", drug="esketamine", form="device",
                             device_mg="28", units_per_package=2)
    assert "10 or 11 digits" in refused.value.errors["ndc"]
    assert not Product.objects.exists()
