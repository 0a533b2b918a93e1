"""Fixtures for the session record: a clinic with rooms, a safe supplying the infusion room, ketamine vials in
stock, and staff whose names latin-1 cannot spell (two nurses, so a waste has two witnesses besides the one who
recorded it)."""

from __future__ import annotations

import pytest

from tests.conftest import ROLE_VALUES

STAFF_NAMES = {"prescriber": "Søren Ørsted", "nurse": "Zofia Żółć"}


@pytest.fixture
def staff(make_user, clinic) -> dict:
    specs = [((role,), role, {"display_name": STAFF_NAMES.get(role, ""),
                              "credentials": {"prescriber": "MD", "nurse": "RN"}.get(role, "")})
             for role in ROLE_VALUES]
    specs.append((("nurse",), "nurse2", {"display_name": "Ana Lúcia Brandão", "credentials": "RN"}))
    return dict(zip([*ROLE_VALUES, "nurse2"], make_user.many(*specs), strict=True))


@pytest.fixture
def rooms(clinic, staff):
    from tests.factories import make_rooms

    return make_rooms(clinic, staff["clinic_admin"])


@pytest.fixture
def vials(clinic, staff, rooms):
    """Two 10 mL vials of ketamine 50 mg/mL, lot LOT123, in the safe that supplies the infusion room."""
    from ketaclinic.custody import services as custody
    from tests.factories import actor, received

    admin = actor(staff["clinic_admin"])
    location = custody.add_location(admin, clinic=clinic, name="Main safe", rooms=[rooms["infusion"]])
    supplier = custody.add_supplier(admin, name="Example Pharma Supply (synthetic)",
                                    address="1 Warehouse Way, Denver, CO 80205", dea_number="PS1234563")
    product = custody.add_product(admin, ndc="00000-0001-01", name="Ketamine HCl 50 mg/mL 10 mL (test)",
                                  drug="ketamine", form="vial", strength_mg_per_mL="50", container_volume_mL="10")
    return sorted(received(staff, supplier=supplier, location=location, product=product, packages=2,
                           lot="LOT123"), key=lambda c: c.label)
