"""A pasted control character or an over-long entry in any area's form is a clear message next to the form and
changes nothing: no new or changed row, no audit entry of the change, and never a server error (issue 17 point 5).

One representative form per area whose text fields became strict: signing in, the audit search, the clinic's
details, a therapist's note, marking a scale result entered in error, accepting a portal invitation and adding a
prior treatment trial to a consult. (tests/foundation/test_input_boundary_every_form.py checks that every text
field of every form is strict; this file checks what a person sees when one refuses.)"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from ketaclinic.accounts.models import User
from ketaclinic.audit.models import AuditEntry
from ketaclinic.clinic.models import Clinic
from ketaclinic.clinic.services import CLINIC_FIELDS
from ketaclinic.integration import services as integration
from ketaclinic.integration.models import TherapistNote
from ketaclinic.measures import services as measures
from ketaclinic.measures.models import Administration
from ketaclinic.portal import services as portal
from ketaclinic.portal.models import PatientAccount
from ketaclinic.screening import services as screening
from ketaclinic.screening.models import TreatmentTrial
from tests.factories import actor, dosed_session, let_time_pass, make_rooms
from tests.measures.conftest import phq9

pytestmark = pytest.mark.django_db

#: What is typed: a NUL (PostgreSQL cannot store it), an escape, a delete, or one character too many.
BAD = ["nul", "escape", "delete", "too long"]
CONTROL = {"nul": "\x00", "escape": "\x1b", "delete": "\x7f"}


def bad_value(kind: str, good: str, limit: int) -> str:
    """``good`` with a control character in it, or ``good`` padded to one character over ``limit``."""
    if kind == "too long":
        return (good + "x" * limit)[: limit + 1]
    return good[:2] + CONTROL[kind] + good[2:]


def refused(response, kind: str, limit: int) -> None:
    """The page is shown again (no server error, no redirect) with the message that says what to fix."""
    assert response.status_code == 200
    page = response.content.decode()
    if kind == "too long":
        assert f"Use at most {limit} characters (this has {limit + 1})." in page
    else:
        assert f"invisible control character (U+{ord(CONTROL[kind]):04X})" in page


def audit_count(*actions: str) -> int:
    return AuditEntry.objects.filter(action__in=actions).count()


@pytest.mark.parametrize("kind", BAD)
@pytest.mark.parametrize("field", ["username", "password"])
def test_sign_in(staff, kind, field):
    """A wrong-looking username or password is refused before any password is checked: no failure counted, no
    audit entry, not signed in."""
    limit = {"username": 150, "password": 4096}[field]
    data = {"username": "nurse", "password": "correct horse battery"}
    data[field] = bad_value(kind, data[field], limit)
    c = Client()
    response = c.post(reverse("accounts:login"), data)
    refused(response, kind, limit)
    assert "_auth_user_id" not in c.session
    assert not AuditEntry.objects.filter(action__startswith="auth.").exists()


def test_sign_in_refuses_a_damaged_return_address_above_the_form(staff):
    """The hidden "next" field cannot be corrected by the person: its refusal is named above the form."""
    c = Client()
    response = c.post(reverse("accounts:login"), {"username": "nurse", "password": "correct horse battery",
                                                  "next": "/patients/\x01"})
    assert response.status_code == 200 and "link that opened this page is damaged" in response.content.decode()
    assert "_auth_user_id" not in c.session
    # A link carrying such a return address is not offered back by the sign-in page at all.
    page = Client().get(reverse("accounts:login"), {"next": "/patients/" + "x" * 2000}).content.decode()
    assert 'name="next" value=""' in page or 'name="next" id="id_next"' in page
    assert "x" * 2000 not in page


@pytest.mark.parametrize("kind", BAD)
def test_audit_search(client_for, kind):
    response = client_for("compliance").get(reverse("audit:search"), {"user": bad_value(kind, "nurse", 150)})
    refused(response, kind, 150)


@pytest.mark.parametrize("kind", BAD)
def test_clinic_details(client_for, clinic, kind):
    limit = Clinic._meta.get_field("city").max_length
    before = {name: getattr(clinic, name) for name in CLINIC_FIELDS}
    data = {name: value or "" for name, value in before.items()} | {"city": bad_value(kind, "Boulder", limit)}
    response = client_for("clinic_admin").post(reverse("clinic:settings"), data)
    refused(response, kind, limit)
    clinic.refresh_from_db()
    assert {name: getattr(clinic, name) for name in CLINIC_FIELDS} == before
    assert audit_count("clinic.updated") == 0


@pytest.fixture
def offer(patient, staff, clinic):
    session = dosed_session(patient, staff, rooms=make_rooms(clinic), end="stopped")
    let_time_pass(60)
    return integration.offer_after(actor=actor(staff["nurse"]), session=session)


@pytest.mark.parametrize("kind", BAD)
def test_therapist_note(client_for, offer, kind):
    response = client_for("therapist").post(reverse("integration:add_note", args=[offer.external_id]),
                                            {"text": bad_value(kind, "Grounded; processed the imagery.",
                                                               integration.NOTE_MAX)})
    refused(response, kind, integration.NOTE_MAX)
    assert not TherapistNote.objects.exists()
    assert audit_count("integration.note.written") == 0


def test_the_note_service_refuses_what_the_form_refuses_instead_of_cutting_it_short(offer, staff):
    """write_note used to keep the first 20,000 characters of a longer note without a word."""
    for text in ("x" * (integration.NOTE_MAX + 1), "Grounded\x1b; processed."):
        with pytest.raises(integration.IntegrationError) as refusal:
            integration.write_note(actor=actor(staff["therapist"]), offer=offer, text=text)
        assert set(refusal.value.errors) == {"text"}
    assert not TherapistNote.objects.exists() and audit_count("integration.note.written") == 0
    # Line breaks and tabs are part of a note; the longest note is kept whole.
    kept = integration.write_note(actor=actor(staff["therapist"]), offer=offer,
                                  text="Grounded.\r\n\tProcessed." + "x" * (integration.NOTE_MAX - 22))
    assert len(kept.text) == integration.NOTE_MAX and "\r\n\t" in kept.text


@pytest.mark.parametrize("kind", BAD)
def test_scale_result_entered_in_error(client_for, patient, actor_for, kind):
    result = measures.record_administration(actor=actor_for("nurse"), patient=patient, scale="phq9",
                                            answers=phq9(1, 1, 1, 1, 1, 1, 1, 1, 1))
    admin = result.administration
    response = client_for("nurse").post(reverse("measures:entered_in_error", args=[admin.external_id]),
                                        {"reason": bad_value(kind, "Entered for the wrong patient.", 300)})
    refused(response, kind, 300)
    fresh = Administration.objects.get(pk=admin.pk)
    assert (fresh.status, fresh.error_reason) == (admin.status, "")
    assert audit_count("measures.administration.entered_in_error") == 0


@pytest.mark.parametrize("kind", BAD)
def test_portal_invitation_accepted(patient, actor_for, kind):
    """A password is any printable characters (spaces kept), never a control character."""
    _inv, token = portal.invite(actor=actor_for("nurse"), patient=patient, email="pat@example.invalid")
    password = bad_value(kind, "a long and winding road", 4096)
    response = Client().post(reverse("portal:accept", args=[token]), {"password": password, "password2": password})
    refused(response, kind, 4096)
    assert not PatientAccount.objects.exists() and not User.objects.filter(email="pat@example.invalid").exists()
    assert audit_count("portal.account.created") == 0


def test_a_portal_password_keeps_its_spaces(patient, actor_for):
    _inv, token = portal.invite(actor=actor_for("nurse"), patient=patient, email="pat@example.invalid")
    password = "  a long and winding road  "
    response = Client().post(reverse("portal:accept", args=[token]), {"password": password, "password2": password})
    assert response.status_code == 302
    assert PatientAccount.objects.get().user.check_password(password)


@pytest.mark.parametrize("kind", BAD)
@pytest.mark.parametrize("field", ["drug", "dose"])
def test_prior_treatment_trial(client_for, patient, staff, kind, field):
    consult = screening.start_consult(actor=actor(staff["prescriber"]), patient=patient, drug="ketamine")
    limit = TreatmentTrial._meta.get_field(field).max_length
    data = {"drug": "Sertraline", "dose": "200 mg daily", "weeks": "8", "outcome": "no_response"}
    data[field] = bad_value(kind, data[field], limit)
    response = client_for("prescriber").post(reverse("screening:add_trial", args=[consult.external_id]), data)
    refused(response, kind, limit)
    assert not TreatmentTrial.objects.exists()
    assert audit_count("consult.trial.added") == 0
