"""An operator opens another clinic (location) of the network with ``manage.py add_clinic``: its own DEA
registration, and an existing staff member as its first clinic admin, who then works there from the header's
"Work at". A registration another clinic holds, a malformed one or an unknown time zone opens nothing."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from ketaclinic.accounts.models import RoleGrant
from ketaclinic.audit.models import AuditEntry
from ketaclinic.clinic.models import Clinic
from ketaclinic.clinical.identifiers import dea_check_digit

pytestmark = pytest.mark.django_db


def dea(serial: str, initial: str = "A") -> str:
    return f"F{initial}{serial}{dea_check_digit(serial)}"


def test_a_second_clinic_opens_with_its_admin_and_own_registration(clinic, make_user):
    admin = make_user("clinic_admin", username="director")
    call_command("add_clinic", "Longmont (synthetic)", time_zone="America/Denver", dea=dea("234567"),
                 admin="director", stdout=io.StringIO())
    opened = Clinic.objects.get(name="Longmont (synthetic)")
    assert opened.dea_registration == dea("234567") and opened.time_zone == "America/Denver"
    assert set(RoleGrant.objects.filter(user=admin).values_list("clinic_id", "role")) == {
        (clinic.pk, "clinic_admin"), (opened.pk, "clinic_admin")}
    assert AuditEntry.objects.filter(action="clinic.opened", details__name="Longmont (synthetic)").count() == 1


@pytest.mark.parametrize(("time_zone", "number", "why"), [
    ("America/Denver", "FA2345678", "check digit"),
    ("Mars/Olympus", None, "is not a time zone name"),
    ("America/Denver", "same", "Another clinic holds this DEA registration"),
])
def test_a_clinic_that_would_share_or_lack_a_registration_is_not_opened(clinic, make_user, time_zone, number, why):
    make_user("clinic_admin", username="director")
    clinic.dea_registration = dea("123456")
    clinic.save()
    number = {None: dea("345678"), "same": dea("123456")}.get(number, number)
    with pytest.raises(CommandError, match=why):
        call_command("add_clinic", "Elsewhere", time_zone=time_zone, dea=number, admin="director")
    assert list(Clinic.objects.values_list("name", flat=True)) == [clinic.name]
    assert not AuditEntry.objects.filter(action="clinic.opened").exists()


def test_a_clinics_settings_cannot_take_another_clinics_registration(clinic, actor_for):
    from ketaclinic.clinic.services import ClinicSettingsError, update_clinic

    other = Clinic.objects.create(name="Elsewhere", time_zone="America/Denver", dea_registration=dea("345678"))
    with pytest.raises(ClinicSettingsError, match="Another clinic of the network holds this DEA registration"):
        update_clinic(actor=actor_for("clinic_admin"), clinic=clinic, data={"dea_registration": other.dea_registration})
    clinic.refresh_from_db()
    assert clinic.dea_registration != other.dea_registration
    update_clinic(actor=actor_for("clinic_admin"), clinic=clinic, data={"dea_registration": dea("456789")})
    clinic.refresh_from_db()
    assert clinic.dea_registration == dea("456789")
