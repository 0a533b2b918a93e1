"""One install runs a network of clinics: each clinic's patients, sessions, stock and ledger are seen and changed only
by the staff who hold a role there, and a person who works at two clinics works at one at a time, with the roles
they hold there (issue 19, point 4).

Two whole clinics are built through the app's services (tests/foundation/clinic_world.py): the test clinic, and
"Yonder Clinic", whose staff, patients and lot numbers carry the tag "Yonder". Every URL of the project that names
an object is then requested by each of the test clinic's staff with the Yonder clinic's object in it, and every page
that names none is searched for the tag.
"""

from __future__ import annotations

import pytest

from ketaclinic.access import named_routes
from tests.foundation.access_table import ALLOWED, METHOD
from tests.foundation.clinic_world import HERE_TAG, OBJECT_FOR, PASSWORD, ROLES, TAG, YONDER_PHONE, url_of

pytestmark = pytest.mark.django_db

ROUTES = dict(named_routes())


def _object_routes():
    """URL names whose path names one of the world's objects (a patient, a session, a vial ...)."""
    for name, route in sorted(ROUTES.items()):
        key = OBJECT_FOR.get(name, OBJECT_FOR.get(name.split(":")[0]))
        if "<" in route and key and name in ALLOWED and not name.startswith(("fhir:", "portal:accept")):
            yield name, route


OBJECT_ROUTES = list(_object_routes())


def test_the_test_sees_the_routes_it_claims():
    names = {n for n, _ in OBJECT_ROUTES}
    # the chart, a session's cockpit, a vial, a consult and a PHQ-9 are among them: the check reaches every domain
    assert {"patients:chart", "treatments:cockpit", "custody:container", "screening:detail",
            "measures:administration", "integration:detail", "messaging:thread", "reports:job",
            "billing:superbill_pdf", "records:session_pdf"} <= names, sorted(names)
    assert len(names) > 40


def _sides(two_clinics):
    """Each clinic's staff, with the other clinic's world and tag: the checks run from both sides, so code that
    falls back to the install's first clinic is caught from the second."""
    here, yonder = two_clinics
    return ((here, yonder, TAG), (yonder, here, HERE_TAG))


@pytest.mark.parametrize("name,route", OBJECT_ROUTES, ids=[n for n, _ in OBJECT_ROUTES])
def test_no_object_of_another_clinic_opens_or_changes(name, route, two_clinics):
    leaked = []
    for staff_of, other, tag in _sides(two_clinics):
        url = url_of(name, route, other)
        assert tag in other.ids["patient"].legal_family_name
        for role in ROLES:
            client = staff_of.client(role)
            response = client.post(url, {}) if METHOD[name] == "POST" else client.get(url)
            # refused by role (403), not found at this clinic (404), or a GET-only page posted to (405)
            if response.status_code not in (403, 404, 405):
                leaked.append(f"{url} to {role} of the other clinic: {response.status_code}")
    assert leaked == [], "answered another clinic's staff"


LIST_PAGES = [name for name, route in sorted(ROUTES.items())
              if "<" not in route and name in ALLOWED and METHOD[name] == "GET"
              and not name.startswith(("fhir:", "admin", "api-1.0.0:open", "accounts:"))]


@pytest.mark.parametrize("name", LIST_PAGES)
def test_no_page_lists_another_clinics_patients_staff_sessions_or_stock(name, two_clinics):
    shown = []
    for staff_of, _other, tag in _sides(two_clinics):
        for role in ROLES:
            if role not in ALLOWED[name]:
                continue
            response = staff_of.client(role).get("/" + ROUTES[name])
            body = response.content.decode(errors="replace") if response.status_code == 200 else ""
            if tag.lower() in body.lower():  # a name, a lot number, or a username (written in lower case)
                at = body.lower().index(tag.lower())
                shown.append(f"{role}: …{body[max(0, at - 120):at + 40]}…")
    assert shown == [], f"/{ROUTES[name]} shows the other clinic's records"


def test_a_person_works_at_one_clinic_at_a_time_with_the_roles_held_there(two_clinics):
    from django.test import Client

    from ketaclinic.accounts.models import User
    from ketaclinic.accounts.services import grant_role
    from ketaclinic.audit.models import AuditEntry
    from ketaclinic.audit.services import Actor

    here, yonder = two_clinics
    nurse = User.objects.get(pk=here.users["nurse"].pk)  # a nurse here, and a prescriber at Yonder
    yonder_clinic = yonder.ids["patient"].clinic
    grant_role(actor=Actor.for_user(yonder.users["clinic_admin"]), user=nurse, clinic=yonder_clinic, role="prescriber")
    c = Client()
    assert c.login(username=nurse.username, password=PASSWORD)
    # here: a nurse, who may not write orders, and who does not see Yonder's patient
    assert c.get("/").status_code == 200
    ours, theirs = here.ids["patient"], yonder.ids["patient"]
    assert c.get(f"/patients/{ours.external_id}/").status_code == 200
    assert c.get(f"/patients/{theirs.external_id}/").status_code == 404
    assert c.get(f"/treatments/orders/new/{ours.external_id}/").status_code == 403
    page = c.get("/").content.decode()
    assert "Work at" in page and "Yonder Clinic" in page  # the header offers both clinics

    switched = c.post("/clinic/switch/", {"clinic": yonder_clinic.pk}, follow=True)
    assert "You are working at Yonder Clinic." in switched.content.decode()
    assert c.get(f"/patients/{theirs.external_id}/").status_code == 200
    assert c.get(f"/patients/{ours.external_id}/").status_code == 404
    assert c.get(f"/treatments/orders/new/{theirs.external_id}/").status_code == 200  # a prescriber here
    assert AuditEntry.objects.filter(action="clinic.switched", actor=nurse).count() == 1


def test_no_one_switches_to_a_clinic_where_they_hold_no_role(two_clinics):
    from ketaclinic.audit.models import AuditEntry

    here, yonder = two_clinics
    c = here.client("prescriber")
    theirs = yonder.ids["patient"]
    refused = c.post("/clinic/switch/", {"clinic": theirs.clinic_id}, follow=True)
    assert "You hold no role at that clinic" in refused.content.decode()
    assert c.get(f"/patients/{theirs.external_id}/").status_code == 404
    assert not AuditEntry.objects.filter(action="clinic.switched").exists()


def test_a_portal_patient_in_crisis_is_given_their_own_clinics_number(two_clinics):
    from ketaclinic.acting import PATIENT_SESSION_KEY

    here, yonder = two_clinics
    assert yonder.client("patient").session[PATIENT_SESSION_KEY] == yonder.ids["patient"].clinic_id
    home = yonder.client("patient").get("/portal/")
    assert home.status_code == 200 and f"Call the clinic: <a href=\"tel:{YONDER_PHONE}\">" in home.content.decode()
    assert YONDER_PHONE not in here.client("patient").get("/portal/").content.decode()


def test_stock_is_never_drawn_for_a_session_at_another_clinic(two_clinics):
    """Controlled-substance stock stays within its clinic's DEA registration: a vial of one clinic is not drawn for
    a patient of another, even by a person who holds roles at both."""
    from ketaclinic.accounts.models import User
    from ketaclinic.accounts.services import grant_role
    from ketaclinic.acting import acting_at
    from ketaclinic.audit.services import Actor
    from ketaclinic.custody import services as custody
    from ketaclinic.custody.models import LedgerEntry

    here, yonder = two_clinics
    grant_role(actor=Actor.for_user(yonder.users["clinic_admin"]), user=here.users["nurse"],
               clinic=yonder.ids["patient"].clinic, role="nurse")
    nurse = User.objects.get(pk=here.users["nurse"].pk)  # with both grants read afresh
    before = LedgerEntry.objects.count()
    for clinic in (here.ids["patient"].clinic_id, yonder.ids["patient"].clinic_id):
        with acting_at(clinic):
            actor = Actor(user=nurse, roles=nurse.role_set(), client_ip="127.0.0.1")
            with pytest.raises(custody.CustodyError):
                custody.draw(actor, container=here.ids["container"], session=yonder.ids["dosing_session"],
                             quantity="0.1")
    assert LedgerEntry.objects.count() == before


def test_a_clinic_admin_grants_roles_only_at_the_clinics_they_administer(two_clinics):
    from ketaclinic.accounts.models import RoleGrant, User
    from ketaclinic.accounts.services import grant_role
    from ketaclinic.audit.seals import verify_records
    from ketaclinic.audit.services import Actor
    from ketaclinic.clinic.models import Clinic
    from ketaclinic.clinical.errors import ClinicalInputError

    here, yonder = two_clinics
    yonder_clinic, nurse = yonder.ids["patient"].clinic, User.objects.get(pk=here.users["nurse"].pk)
    with pytest.raises(ClinicalInputError, match="Only a clinic admin of that clinic"):
        grant_role(actor=Actor.for_user(here.users["clinic_admin"]), user=nurse, clinic=yonder_clinic, role="nurse")
    assert not RoleGrant.objects.filter(user=nurse, clinic=yonder_clinic).exists()
    grant_role(actor=Actor.for_user(yonder.users["clinic_admin"]), user=nurse, clinic=yonder_clinic, role="nurse")
    # the grant is sealed with where it is held: the same role moved to a third clinic in the database is named
    assert verify_records()[1] == []
    third = Clinic.objects.create(name="Third Clinic (synthetic)", time_zone=yonder_clinic.time_zone)
    RoleGrant.objects.filter(user=nurse, clinic=yonder_clinic).update(clinic=third)
    assert [(m.record, m.pk) for m in verify_records()[1]] == [("accounts.User", str(nurse.pk))]


def test_the_admin_shows_a_clinic_admin_only_their_clinics_rooms_and_staff(two_clinics):
    from ketaclinic.clinic.models import Room

    here, yonder = two_clinics
    admin = here.client("clinic_admin")
    ours, theirs = here.ids["patient"].clinic, yonder.ids["patient"].clinic
    rooms = admin.get("/admin/clinic/room/")
    assert rooms.status_code == 200
    assert rooms.context["cl"].result_count == Room.objects.filter(clinic=ours).count() > 0
    their_room = Room.objects.filter(clinic=theirs).first()
    assert admin.get(f"/admin/clinic/room/{their_room.pk}/change/").status_code == 302  # "does not exist"
    staff = admin.get("/admin/accounts/user/", {"all": ""})
    listed = {u.username for u in staff.context["cl"].result_list}
    # the other clinic's staff are not listed; an account that holds no role anywhere yet is, to be given one
    assert "hithernurse" in listed and {name for name in listed if name.startswith(TAG.lower())} == {"yonderno_role"}
    their_nurse = yonder.users["nurse"]
    assert admin.get(f"/admin/accounts/user/{their_nurse.pk}/change/").status_code == 302


def test_no_clinic_admin_takes_over_an_account_another_clinic_relies_on(two_clinics):
    """Yonder's clinic admin also works at the test clinic as a nurse: the test clinic's admin can neither see nor
    change that account in the admin, remove its authenticator, nor lift its sign-in delay; an admin of both can."""
    from django.utils import timezone

    from ketaclinic.accounts import throttle
    from ketaclinic.accounts.models import SignInCounter, User
    from ketaclinic.accounts.services import AccountError, grant_role, remove_second_factor, unlock_sign_in
    from ketaclinic.audit.services import Actor

    here, yonder = two_clinics
    theirs = User.objects.get(pk=yonder.users["clinic_admin"].pk)
    grant_role(actor=Actor.for_user(here.users["clinic_admin"]), user=theirs, clinic=here.ids["patient"].clinic,
               role="nurse")
    our_admin = User.objects.get(pk=here.users["clinic_admin"].pk)
    admin = here.client("clinic_admin")
    assert admin.get(f"/admin/accounts/user/{theirs.pk}/change/").status_code == 302  # "does not exist"
    assert admin.get(f"/admin/accounts/user/{theirs.pk}/password/").status_code in (302, 404)
    with pytest.raises(AccountError, match="No staff account you manage"):
        remove_second_factor(actor=Actor.for_user(our_admin), username=theirs.username)
    SignInCounter.objects.create(kind=SignInCounter.Kind.USERNAME, key=throttle.username_key(theirs.username).key,
                                 failures=9, last_at=timezone.now())
    with pytest.raises(AccountError, match="not one you manage"):
        unlock_sign_in(actor=Actor.for_user(our_admin), kind="username", key=theirs.username)
    assert theirs.username not in admin.get("/accounts/sign-in-security/").content.decode()
    # an admin of both clinics manages it
    both = User.objects.get(pk=yonder.users["clinic_admin"].pk)
    grant_role(actor=Actor.for_user(both), user=our_admin, clinic=yonder.ids["patient"].clinic, role="clinic_admin")
    our_admin = User.objects.get(pk=our_admin.pk)
    assert unlock_sign_in(actor=Actor.for_user(our_admin), kind="username", key=theirs.username)


def test_the_public_crisis_page_gives_every_clinics_number_to_a_visitor_it_cannot_place(two_clinics):
    from django.test import Client

    here, yonder = two_clinics
    page = Client().get("/portal/help/").content.decode()
    assert "Call your clinic:" in page and f"Yonder Clinic: <a href=\"tel:{YONDER_PHONE}\">" in page
    assert "Test Clinic: no number on file" in page
    mine = yonder.client("patient").get("/portal/help/").content.decode()
    assert f"Call the clinic: <a href=\"tel:{YONDER_PHONE}\">" in mine and "Test Clinic" not in mine


def test_a_report_file_opens_only_at_its_clinic_and_while_the_role_there_lasts(two_clinics):
    from django.test import Client

    from ketaclinic.accounts.models import RoleGrant, User
    from ketaclinic.accounts.services import grant_role
    from ketaclinic.acting import acting_at
    from ketaclinic.audit.services import Actor
    from ketaclinic.reports.base import ReportFilters
    from ketaclinic.reports.jobs import start_report_csv
    from ketaclinic.reports.tasks import run_report_job

    here, yonder = two_clinics
    lead = User.objects.get(pk=here.users["compliance"].pk)
    yonder_clinic = yonder.ids["patient"].clinic
    grant_role(actor=Actor.for_user(yonder.users["clinic_admin"]), user=lead, clinic=yonder_clinic,
               role="compliance")
    lead = User.objects.get(pk=lead.pk)
    with acting_at(yonder_clinic.pk):
        job = start_report_csv(actor=Actor.for_user(lead), clinic=yonder_clinic, slug="safety",
                               filters=ReportFilters())
    assert run_report_job.call(job.pk) == "complete"
    c = Client()
    assert c.login(username=lead.username, password=PASSWORD)
    download = f"/reports/jobs/{job.external_id}/download/"
    assert c.get(download).status_code == 404  # working at the test clinic: Yonder's file is not here
    c.post("/clinic/switch/", {"clinic": yonder_clinic.pk})
    assert c.get(download).status_code == 200
    RoleGrant.objects.filter(user=lead, clinic=yonder_clinic).delete()  # the role at Yonder ends
    assert c.get(download).status_code == 404


def test_the_networks_consent_documents_are_written_by_an_admin_of_every_clinic(two_clinics):
    from django.test import Client

    from ketaclinic.accounts.models import User
    from ketaclinic.accounts.services import grant_role
    from ketaclinic.audit.services import Actor

    here, yonder = two_clinics
    add = "/admin/treatments/consentdocument/add/"
    assert here.client("clinic_admin").get("/admin/treatments/consentdocument/").status_code == 200  # read
    assert here.client("clinic_admin").get(add).status_code == 403  # one clinic's admin writes for neither
    ours = User.objects.get(pk=here.users["clinic_admin"].pk)
    grant_role(actor=Actor.for_user(yonder.users["clinic_admin"]), user=ours, clinic=yonder.ids["patient"].clinic,
               role="clinic_admin")
    c = Client()
    assert c.login(username=ours.username, password=PASSWORD)
    assert c.get(add).status_code == 200
