"""Custody fixtures: a safe supplying one infusion room, products, a supplier, received stock, verified sessions."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

# Synthetic, well-formed DEA numbers (check digit valid): 2 letters + 7 digits, clinical.md §6.
SUPPLIER_DEA = "PS1234563"
REVERSE_DEA = "RR7654329"


@pytest.fixture
def room(clinic, staff):
    """An infusion room with four chairs (sessions booked at the same time sit in different chairs)."""
    from ketaclinic.clinic.models import Room
    from ketaclinic.clinic.services import add_room
    from tests.factories import actor

    return add_room(actor=actor(staff["clinic_admin"]), clinic=clinic, name="Infusion Room A",
                    kind=Room.Kind.INFUSION, chairs=4)


@pytest.fixture
def other_room(clinic, staff):
    from ketaclinic.clinic.models import Room
    from ketaclinic.clinic.services import add_room
    from tests.factories import actor

    return add_room(actor=actor(staff["clinic_admin"]), clinic=clinic, name="Spravato Suite",
                    kind=Room.Kind.INTRANASAL, chairs=2)


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
def receive(staff, supplier, location):
    """Enter and countersign a receipt (tests.factories.received); returns the containers."""
    from tests.factories import received

    def do(product, packages=1, lot="LOT-A1", expiry=None, where=None):
        return received(staff, supplier=supplier, location=where or location, product=product, packages=packages,
                        lot=lot, expiry=expiry)

    return do


@pytest.fixture
def make_session(staff, room):
    """A treatment session built through the treatment services (tests.factories.dosed_session): consult and
    order signed, booked in a free chair, checked in, pre-checks, dose prepared and (by default) independently
    verified. IV ketamine at 0.5 mg/kg, so ``dose_mg`` sets the patient's weight; esketamine is the 56 mg
    template (``dose_mg`` is not used for it). With ``administered_mg`` the dose is given and stopped at that amount. A past ``start`` builds the
    whole visit back then."""
    from tests.factories import ESK, IV, dosed_session

    def make(patient, dose_mg="35", drug="ketamine", verified=True, at_room=None, administered_mg=None, start=None):
        data = IV if drug == "ketamine" else ESK
        weight = str(Decimal(dose_mg) * 2) if drug == "ketamine" else "70.0"
        end = "stopped" if administered_mg is not None else "verified" if verified else "prepared"
        s = dosed_session(patient, staff, data=data, room=at_room or room, start=start, end=end, weight=weight,
                          administered_mg=administered_mg)
        assert drug != "ketamine" or s.prepared_dose_mg == Decimal(dose_mg), "the weight gives the asked-for dose"
        return s

    return make


def d(x) -> Decimal:
    return Decimal(str(x))


__all__ = ["d", "date"]
