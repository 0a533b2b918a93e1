"""The patient portal: invitations, the emailed code on a new device, own-data-only pages, questionnaires."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from ketaclinic.audit.models import AuditEntry
from ketaclinic.measures import services as measures
from ketaclinic.measures.models import Administration, DueItem, SafetyTask
from ketaclinic.portal import services
from ketaclinic.portal.models import Invitation, LoginCode, PatientAccount
from tests.factories import open_day
from tests.measures.conftest import phq9

pytestmark = pytest.mark.django_db
STAFF_ROLES = ["prescriber", "nurse", "therapist", "front_desk", "billing", "compliance", "clinic_admin"]


@pytest.fixture
def two_patients(make_portal_patient, make_session, actor_for):
    """Patients A and B, each with a due item, a draft, a final score and a discharged session."""
    out = {}
    for key in ("a", "b"):
        patient, client = make_portal_patient()
        measures.apply_default_schedule(actor=actor_for("nurse"), patient=patient)
        session = make_session(patient, start=open_day(patient.clinic, -2))
        final = measures.record_administration(actor=actor_for("nurse"), patient=patient, scale="gad7",
                                               source="portal",
                                               answers={f"q{i}": 1 for i in range(1, 8)}).administration
        due = DueItem.objects.get(patient=patient, scale="phq9", timing="baseline")
        draft = measures.start_administration(actor=actor_for("nurse"), patient=patient, scale="phq9",
                                              source="portal", due_item=due)
        out[key] = {"patient": patient, "client": client, "session": session, "final": final, "due": due,
                    "draft": draft}
    return out


def portal_urls(o):
    """Every portal URL that takes an id, built with the ids of ``o``'s patient: (name, method, url)."""
    return [
        ("portal:start", "post", reverse("portal:start", args=[o["due"].external_id])),
        ("portal:fill", "get", reverse("portal:fill", args=[o["draft"].external_id])),
        ("portal:fill", "post", reverse("portal:fill", args=[o["draft"].external_id])),
        ("portal:done", "get", reverse("portal:done", args=[o["final"].external_id])),
        ("portal:done", "get", reverse("portal:done", args=[o["draft"].external_id])),
        ("portal:visit_pdf", "get", reverse("portal:visit_pdf", args=[o["session"].external_id])),
    ]


PAGES = ["portal:home", "portal:questionnaires", "portal:progress", "portal:visits"]


def test_idor_every_portal_url_with_another_patients_id_is_404(two_patients):
    a, b = two_patients["a"], two_patients["b"]
    for name, method, url in portal_urls(b):
        response = getattr(a["client"], method)(url, {"q1": "1", "action": "save"})
        assert response.status_code == 404, f"{name} {method} with B's id gave {response.status_code}"
    # Nothing of B's changed, and the attempts are in the audit log.
    assert b["draft"].answers.count() == 0
    assert AuditEntry.objects.filter(action="portal.not_found", patient=a["patient"]).count() == len(portal_urls(b))


def test_own_ids_work(two_patients):
    a = two_patients["a"]
    assert a["client"].get(reverse("portal:fill", args=[a["draft"].external_id])).status_code == 200
    assert a["client"].get(reverse("portal:done", args=[a["final"].external_id])).status_code == 200


def test_list_pages_show_only_the_patients_own_data(two_patients, actor_for):
    a, b = two_patients["a"], two_patients["b"]
    measures.record_administration(actor=actor_for("nurse"), patient=b["patient"], scale="phq9",
                                   answers=phq9(3, 3, 3, 3, 3, 3, 3, 2, 0))  # B's total 26
    for name in PAGES:
        body = a["client"].get(reverse(name)).content.decode()
        assert b["patient"].legal_family_name not in body
        assert str(b["draft"].external_id) not in body and str(b["due"].external_id) not in body
        assert 'data-total="26"' not in body


def test_staff_are_refused_portal_pages(two_patients, client_for):
    a = two_patients["a"]
    names = PAGES + ["portal:verify"]
    for role in STAFF_ROLES:
        c = client_for(role)
        for name in names:
            assert c.get(reverse(name)).status_code == 403, f"{role} reached {name}"
        for name, method, url in portal_urls(a):
            assert getattr(c, method)(url).status_code == 403, f"{role} reached {name}"


def test_signed_out_visitors_are_sent_to_sign_in(two_patients):
    a = two_patients["a"]
    for name in PAGES + ["portal:verify"]:
        response = Client().get(reverse(name))
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    for _name, method, url in portal_urls(a):
        response = getattr(Client(), method)(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_crisis_page_is_public_and_shows_988_and_the_clinic_phone(clinic):
    clinic.phone = "(303) 555-0100"
    clinic.save()
    body = Client().get(reverse("portal:crisis")).content.decode()
    assert "988" in body and "(303) 555-0100" in body


def test_every_portal_access_is_audited(two_patients):
    a = two_patients["a"]
    for name in PAGES:
        a["client"].get(reverse(name))
    actions = set(AuditEntry.objects.filter(patient=a["patient"], roles="patient").values_list("action", flat=True))
    assert {"portal.home.viewed", "portal.questionnaires.viewed", "portal.progress.viewed",
            "portal.visits.viewed"} <= actions


def test_portal_shows_appointments_with_preparation_and_no_staff_notes(make_portal_patient, make_session):
    patient, client = make_portal_patient()
    session = make_session(patient, start=open_day(patient.clinic, 2), dosed=False, drug="esketamine")
    # Deliberately written on the row the portal reads (no service puts a note on a booked visit): the portal must
    # never show a staff note, whatever the row holds.
    session.note_summary = "STAFF NOTE: patient anxious about cost"
    session.save()
    body = client.get(reverse("portal:home")).content.decode()
    assert "Do not eat for 2 hours" in body and "30 minutes" in body
    assert "Do not drive" in body and "take you home" in body
    assert "STAFF NOTE" not in body


def test_visits_show_discharge_instructions(make_portal_patient, make_session):
    patient, client = make_portal_patient()
    make_session(patient, start=open_day(patient.clinic, -1))
    body = client.get(reverse("portal:visits")).content.decode()
    assert "Discharge instructions" in body and "until the next day" in body


# ------------------------------------------------------------------------------------------ questionnaires
def test_patient_saves_partway_then_submits(two_patients):
    a = two_patients["a"]
    url = reverse("portal:fill", args=[a["draft"].external_id])
    response = a["client"].post(url, {"q1": "1", "q2": "2", "action": "save"})
    assert response.status_code == 302
    a["draft"].refresh_from_db()
    assert a["draft"].status == "draft" and a["draft"].total is None and a["draft"].answers.count() == 2
    response = a["client"].post(url, {"q1": "1", "q2": "2", "action": "submit"})
    assert response.status_code == 200 and "not answered yet" in response.content.decode()
    a["draft"].refresh_from_db()
    assert a["draft"].status == "draft" and a["draft"].total is None
    response = a["client"].post(url, {**phq9(1, 2, 1, 1, 0, 0, 0, 0, 0), "action": "submit"})
    assert response.status_code == 302
    a["draft"].refresh_from_db()
    assert a["draft"].status == "final" and a["draft"].total == 5 and a["draft"].source == "portal"
    assert DueItem.objects.get(pk=a["due"].pk).status == "done"


def test_item9_from_the_portal_to_an_acknowledged_task(two_patients, client_for, staff):
    """The safety path end to end: portal answer -> crisis resources -> task on Today -> acknowledged."""
    a = two_patients["a"]
    url = reverse("portal:fill", args=[a["draft"].external_id])
    response = a["client"].post(url, {**phq9(1, 1, 1, 1, 1, 1, 1, 1, 2), "action": "submit"}, follow=True)
    body = response.content.decode()
    assert "Please reach out now" in body and "988" in body
    task = SafetyTask.objects.get(patient=a["patient"])
    assert task.flag_code == "phq9_item9" and task.assigned_to == staff["prescriber"]
    today = client_for("prescriber").get(reverse("clinic:today")).content.decode()
    assert "Urgent safety tasks (1)" in today and a["patient"].legal_family_name in today
    ack = client_for("prescriber").post(reverse("measures:safety_task", args=[task.external_id]),
                                        {"action_taken": "cssrs", "action_note": "Phoned; C-SSRS done, low risk."})
    assert ack.status_code == 302
    task.refresh_from_db()
    assert (task.status, task.acknowledged_by, task.action_taken) == ("acknowledged", staff["prescriber"], "cssrs")
    assert "Urgent safety tasks (1)" not in client_for("prescriber").get(reverse("clinic:today")).content.decode()
    assert AuditEntry.objects.filter(action="measures.safety_task.acknowledged", patient=a["patient"]).exists()


def test_staff_only_scales_cannot_be_started_from_the_portal(make_portal_patient, actor_for):
    patient, client = make_portal_patient()
    measures.update_schedule(actor=actor_for("nurse"), patient=patient, scale="madrs",
                             values={"baseline": True, "repeat": "none", "active": True})
    due = DueItem.objects.get(patient=patient, scale="madrs")
    assert client.post(reverse("portal:start", args=[due.external_id])).status_code == 404
    assert not Administration.objects.filter(patient=patient).exists()


# ------------------------------------------------------------------------------------------ invitations
def test_invitation_creates_a_login_once(patient, client_for, clinic):
    patient.email = "invitee@example.invalid"
    patient.save()
    mail.outbox.clear()
    response = client_for("front_desk").post(reverse("portal:invite", args=[patient.external_id]),
                                             {"email": patient.email})
    assert response.status_code == 302
    link = re.search(r"http://testserver(/portal/invite/[^/\s]+/)", mail.outbox[0].body).group(1)
    token = link.rstrip("/").rsplit("/", 1)[1]
    inv = Invitation.objects.get()
    assert token not in inv.token_hash and len(inv.token_hash) == 64
    c = Client()
    assert c.get(link).status_code == 200
    response = c.post(link, {"password": "short", "password2": "short"})
    assert response.status_code == 200 and not PatientAccount.objects.exists()
    response = c.post(link, {"password": "a-long-portal-passphrase", "password2": "a-long-portal-passphrase"})
    assert response.status_code == 302 and response["Location"] == reverse("portal:home")
    account = PatientAccount.objects.get()
    assert account.patient == patient and account.user.username == "invitee@example.invalid"
    assert not account.user.role_set()
    assert c.get(reverse("portal:home")).status_code == 200
    # Reused link: refused.
    again = Client().post(link, {"password": "another-long-passphrase", "password2": "another-long-passphrase"})
    assert again.status_code == 410 and "already been used" in again.content.decode()
    assert PatientAccount.objects.count() == 1
    # The refusal is kept in the audit trail (not rolled back with the refused request).
    from ketaclinic.audit.models import AuditEntry

    assert AuditEntry.objects.filter(action="portal.invitation.refused", details__state="used").exists()


def test_expired_invitation_is_refused(patient, actor_for):
    inv, token = services.invite(actor=actor_for("nurse"), patient=patient, email="late@example.invalid")
    Invitation.objects.filter(pk=inv.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    c = Client()
    response = c.post(reverse("portal:accept", args=[token]),
                      {"password": "a-long-portal-passphrase", "password2": "a-long-portal-passphrase"})
    assert response.status_code == 410 and "expired" in response.content.decode()
    assert not PatientAccount.objects.exists()
    with pytest.raises(services.PortalError):
        services.accept_invitation(token=token, password="a-long-portal-passphrase",
                                   password2="a-long-portal-passphrase")


def test_a_newer_invitation_replaces_the_old_link(patient, actor_for):
    _old, old_token = services.invite(actor=actor_for("nurse"), patient=patient, email="x@example.invalid")
    services.invite(actor=actor_for("nurse"), patient=patient, email="x@example.invalid")
    assert Client().get(reverse("portal:accept", args=[old_token])).status_code == 410
    assert Client().get(reverse("portal:accept", args=["not-a-real-token"])).status_code == 404


def test_invitation_roles(patient, client_for):
    url = reverse("portal:invite", args=[patient.external_id])
    for role in STAFF_ROLES:
        status = client_for(role).post(url, {"email": "p@example.invalid"}).status_code
        assert status == (302 if role in ("front_desk", "prescriber", "nurse") else 403), role
    assert Client().post(url).status_code == 302  # to sign-in


# ------------------------------------------------------------------------------------------ new-device code
def _password_sign_in(username):
    c = Client()
    response = c.post(reverse("accounts:login"), {"username": username, "password": "correct horse battery"})
    assert response.status_code == 302 and response["Location"] == reverse("portal:home")
    return c


def test_new_device_needs_the_emailed_code_then_is_trusted(make_portal_patient):
    patient, _ = make_portal_patient()
    username = patient.portal_account.user.username
    mail.outbox.clear()
    c = _password_sign_in(username)
    response = c.get(reverse("portal:home"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("portal:verify"))
    assert c.get(reverse("portal:progress")).status_code == 302  # every page is behind the code
    page = c.get(response["Location"])
    assert page.status_code == 200 and len(mail.outbox) == 1
    code = re.search(r"\b(\d{6})\b", mail.outbox[0].body).group(1)
    assert LoginCode.objects.get().code_hash != code
    wrong = "000000" if code != "000000" else "111111"
    assert "not right" in c.post(reverse("portal:verify"), {"code": wrong}).content.decode()
    response = c.post(reverse("portal:verify"), {"code": code, "trust": "on", "next": "/portal/progress/"})
    assert response.status_code == 302 and response["Location"] == "/portal/progress/"
    assert services.DEVICE_COOKIE in response.cookies and response.cookies[services.DEVICE_COOKIE]["httponly"]
    assert c.get(reverse("portal:home")).status_code == 200
    # A new session in the same browser (trusted cookie kept): no code needed.
    cookie = c.cookies[services.DEVICE_COOKIE].value
    c2 = _password_sign_in(username)
    c2.cookies[services.DEVICE_COOKIE] = cookie
    assert c2.get(reverse("portal:home")).status_code == 200
    # Another patient's cookie does not help.
    other, _ = make_portal_patient()
    c3 = _password_sign_in(other.portal_account.user.username)
    c3.cookies[services.DEVICE_COOKIE] = cookie
    assert c3.get(reverse("portal:home")).status_code == 302


def test_code_dies_after_too_many_wrong_attempts(make_portal_patient):
    patient, _ = make_portal_patient()
    account = patient.portal_account
    code = services.issue_code(account=account)
    for _ in range(services.CODE_MAX_ATTEMPTS):
        assert not services.check_code(account=account, code="99999" + ("8" if code[-1] != "8" else "7"))
    assert not services.check_code(account=account, code=code)


def test_expired_code_is_refused(make_portal_patient):
    patient, _ = make_portal_patient()
    account = patient.portal_account
    code = services.issue_code(account=account)
    LoginCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert not services.check_code(account=account, code=code)


def test_patient_downloads_their_own_discharge_pdf(two_patients):
    a = two_patients["a"]
    response = a["client"].get(reverse("portal:visit_pdf", args=[a["session"].external_id]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert bytes(response.content).startswith(b"%PDF")


def test_idle_portal_session_is_signed_out(make_portal_patient, settings, clock):
    _patient, client = make_portal_patient()
    assert client.get(reverse("portal:home")).status_code == 200
    clock.shift(timedelta(minutes=settings.SESSION_IDLE_MINUTES) - timedelta(seconds=30))
    assert client.get(reverse("portal:home")).status_code == 200  # just inside the limit: still signed in
    clock.shift(timedelta(minutes=settings.SESSION_IDLE_MINUTES, seconds=5))
    response = client.get(reverse("portal:home"))
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_sign_in_codes_are_rate_limited(make_portal_patient):
    """Resending cannot be used to guess codes: at most CODES_PER_HOUR an hour per account."""
    patient, _ = make_portal_patient()
    account = patient.portal_account
    for _ in range(services.CODES_PER_HOUR):
        services.issue_code(account=account)
    with pytest.raises(services.PortalError) as e:
        services.issue_code(account=account)
    assert "Too many codes" in e.value.errors["code"]
    assert LoginCode.objects.filter(account=account).count() == services.CODES_PER_HOUR
