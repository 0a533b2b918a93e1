"""A patient's allergies (and the rest of their registry record) and a staff member's roles are sealed when the
application writes them; a change made in the database behind its back is named by ``verify_records``, and the
application refuses to save over it (which would seal the change as its own)."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.urls import reverse

from ketaclinic.accounts.models import RoleGrant, grant_clinic_id
from ketaclinic.accounts.services import create_staff
from ketaclinic.audit.seals import verify_records
from ketaclinic.patients import services
from ketaclinic.patients.services import RegistryError


def named() -> list[str]:
    return [p.record for p in verify_records()[1]]


@pytest.fixture
def allergic(make_patient):
    return make_patient(allergies="Penicillin (hives)")


def test_registration_and_each_edit_through_the_app_verify(allergic, actor_for):
    services.update_patient(actor=actor_for("front_desk"), patient=allergic, data={"allergies": "Penicillin; latex"})
    assert named() == []


def test_an_allergy_removed_in_the_database_is_named_and_the_next_edit_is_refused(allergic, actor_for, client_for):
    with connection.cursor() as cur:
        cur.execute("UPDATE patients_patient SET allergies = 'NKDA' WHERE id = %s", [allergic.pk])
    assert named() == ["patients.Patient"]
    with pytest.raises(CommandError, match="do not match"):
        call_command("verify_records")
    with pytest.raises(RegistryError, match="changed outside KetaClinic"):
        services.update_patient(actor=actor_for("front_desk"), patient=allergic, data={"phone": "(303) 555-0100"})
    allergic.refresh_from_db()
    assert allergic.phone == "" and allergic.allergies == "NKDA"  # nothing saved over the change


def test_a_role_granted_in_the_database_is_named(actor_for):
    nurse = create_staff(actor=actor_for("clinic_admin"), username="rn.sealed", password="correct horse battery",
                         roles={"nurse"}, first_name="Rae", last_name="Sealed")
    assert named() == []
    RoleGrant.objects.create(user=nurse, clinic_id=grant_clinic_id(), role="clinic_admin")
    assert named() == ["accounts.User"]


def test_an_account_switched_back_on_in_the_database_is_named(actor_for):
    user = create_staff(actor=actor_for("clinic_admin"), username="gone", password="correct horse battery",
                        roles={"prescriber"}, first_name="Left", last_name="Clinic")
    with connection.cursor() as cur:
        cur.execute("UPDATE accounts_user SET is_superuser = %s WHERE id = %s", [True, user.pk])
    assert named() == ["accounts.User"]


def test_the_admins_staff_page_seals_role_changes_and_refuses_to_save_over_a_forged_one(actor_for, client_for):
    user = create_staff(actor=actor_for("clinic_admin"), username="tx", password="correct horse battery",
                        roles={"therapist"}, first_name="Theo", last_name="Rapist")
    admin = client_for("clinic_admin")
    url = reverse("admin:accounts_user_change", args=[user.pk])
    page = admin.get(url)
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and not isinstance(v, (list, dict))}
    data.update({"username": "tx", "first_name": "Theo", "last_name": "Rapist", "is_active": "on",
                 "date_joined_0": "2026-01-01", "date_joined_1": "09:00:00",
                 "role_grants-TOTAL_FORMS": "2", "role_grants-INITIAL_FORMS": "1", "role_grants-MIN_NUM_FORMS": "0",
                 "role_grants-MAX_NUM_FORMS": "1000",
                 "role_grants-0-id": str(user.role_grants.get().pk), "role_grants-0-user": str(user.pk),
                 "role_grants-0-role": "therapist",
                 "role_grants-1-user": str(user.pk), "role_grants-1-role": "nurse"})
    for i in (0, 1):
        data.update({f"role_grants-{i}-granted_at_0": "2026-01-01", f"role_grants-{i}-granted_at_1": "09:00:00",
                     f"role_grants-{i}-clinic": str(user.role_grants.get().clinic_id)})
    data.pop("password", None)
    saved = admin.post(url, data)
    assert saved.status_code == 302
    assert sorted(user.role_grants.values_list("role", flat=True)) == ["nurse", "therapist"]
    assert named() == []
    RoleGrant.objects.create(user=user, clinic_id=grant_clinic_id(), role="compliance")  # behind the application's back
    refused = admin.post(url, data)
    assert refused.status_code == 200 and b"changed outside KetaClinic" in refused.content
    assert named() == ["accounts.User"]


def test_seal_baseline_seals_the_accounts_and_records_written_before_and_then_watches_them(staff, patient, capsys):
    """The ``staff`` fixture writes its accounts straight into the database (as an older install would have them):
    unsealed, so unchecked, until seal_baseline seals them once."""
    RoleGrant.objects.create(user=staff["nurse"], clinic_id=grant_clinic_id(), role="billing")
    assert named() == []  # not sealed yet: not watched
    call_command("seal_baseline")
    assert "accounts.User: 7 sealed now" in capsys.readouterr().out
    assert named() == []
    RoleGrant.objects.create(user=staff["front_desk"], clinic_id=grant_clinic_id(), role="clinic_admin")
    assert named() == ["accounts.User"]
    call_command("seal_baseline")
    assert "accounts.User: 0 sealed now" in capsys.readouterr().out  # nothing sealed twice, nor sealed over
