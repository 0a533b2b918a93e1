"""Custody fixtures: a safe supplying one infusion room, products, a supplier, received stock, verified sessions."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

# Synthetic, well-formed DEA numbers (check digit valid): 2 letters + 7 digits, clinical.md §6.
SUPPLIER_DEA = "PS1234563"
REVERSE_DEA = "RR7654329"


@pytest.fixture
def room(clinic):
    from ketaclinic.clinic.models import Room

    return Room.objects.create(clinic=clinic, name="Infusion Room A", kind=Room.Kind.INFUSION)


@pytest.fixture
def other_room(clinic):
    from ketaclinic.clinic.models import Room

    return Room.objects.create(clinic=clinic, name="Spravato Suite", kind=Room.Kind.INTRANASAL)


@pytest.fixture
def admin_actor(actor_for):
    return actor_for("clinic_admin")


@pytest.fixture
def location(clinic, room, admin_actor):
    from ketaclinic.custody import services

    return services.add_location(admin_actor, clinic=clinic, name="Main safe", rooms=[room])


@pytest.fixture
def other_location(clinic, other_room, admin_actor):
    from ketaclinic.custody import services

    return services.add_location(admin_actor, clinic=clinic, name="Spravato cabinet", rooms=[other_room])


@pytest.fixture
def supplier(admin_actor):
    from ketaclinic.custody import services

    return services.add_supplier(admin_actor, name="Example Pharma Supply (synthetic)",
                                 address="1 Warehouse Way, Denver, CO 80205", dea_number=SUPPLIER_DEA)


@pytest.fixture
def reverse_distributor(admin_actor):
    from ketaclinic.custody import services
    from ketaclinic.custody.models import Supplier

    return services.add_supplier(admin_actor, name="Returns Co (synthetic)", address="2 Return Rd, Aurora, CO",
                                 dea_number=REVERSE_DEA, kind=Supplier.Kind.REVERSE_DISTRIBUTOR)


@pytest.fixture
def vial_product(admin_actor):
    from ketaclinic.custody import services

    return services.add_product(admin_actor, ndc="00000-0001-01", name="Ketamine HCl 50 mg/mL 10 mL (test)",
                                drug="ketamine", form="vial", strength_mg_per_mL="50", container_volume_mL="10")


@pytest.fixture
def device_product(admin_actor):
    from ketaclinic.custody import services

    return services.add_product(admin_actor, ndc="50458-028-02", name="Spravato 56 mg kit (2 devices)",
                                drug="esketamine", form="device", device_mg="28", units_per_package=2)


@pytest.fixture
def receive(actor_for, supplier, location):
    """Enter and countersign a receipt; returns the containers."""
    from ketaclinic.custody import services

    def do(product, packages=1, lot="LOT-A1", expiry=None, where=None):
        today = timezone.localdate()
        receipt = services.enter_receipt(
            actor_for("nurse"), supplier=supplier, invoice_number=f"INV-{lot}", invoice_date=today,
            received_on=today, product=product, lot_number=lot, expiry=expiry or today + timedelta(days=365),
            packages=packages, location=where or location)
        return services.countersign_receipt(actor_for("prescriber"), receipt)

    return do


@pytest.fixture
def make_session(staff, room):
    """A treatment session whose dose has been prepared and independently verified."""
    from ketaclinic.treatments.models import TreatmentOrder, TreatmentSession

    def make(patient, dose_mg="35", drug="ketamine", verified=True, at_room=None, administered_mg=None):
        order = TreatmentOrder.objects.create(patient=patient, drug=drug, route="iv" if drug == "ketamine" else "intranasal",
                                              created_by=staff["prescriber"], status="active")
        now = timezone.now()
        return TreatmentSession.objects.create(
            patient=patient, order=order, drug=drug, route=order.route, room=at_room or room, scheduled_start=now,
            status="dosing", prepared_dose_mg=Decimal(dose_mg), prepared_by=staff["nurse"], prepared_at=now,
            verified_by=staff["prescriber"] if verified else None, verified_at=now if verified else None,
            administered_mg=Decimal(administered_mg) if administered_mg else None,
            administered_by=staff["nurse"] if administered_mg else None,
            dose_started_at=now if administered_mg else None, dose_ended_at=now if administered_mg else None,
        )

    return make


def d(x) -> Decimal:
    return Decimal(str(x))


__all__ = ["d", "date"]
