"""One small clinic, built once per test module through the app's own service functions: a user per role, a user
with no role, a patient with a signed eligibility assessment, an order, a verified session in the chair with
ketamine drawn for it, three more patients' sessions at other cockpit phases (an esketamine dose prepared, IV dosing
running, IV dosing stopped and the patient in observation), received, drawn, lost and counted ketamine with the
count's discrepancy incident, a PHQ-9 with a safety task, and a portal patient who accepted their invitation.

``clinic_world`` is a module-scoped fixture: the world is written inside one transaction that is rolled back when
the module ends, and each test runs in its own savepoint on top of it (pytest-django's ``db``), so a test's POSTs
never leak into the next test. Signed-in clients are made once and reused.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import pytest

ROLES = ("prescriber", "nurse", "therapist", "front_desk", "billing", "compliance", "clinic_admin")
#: Who requests a page: the seven staff roles, a visitor who is not signed in, a signed-in user who holds no
#: role, and a patient signed in to the portal (past the new-device check).
IDENTITIES = (*ROLES, "signed_out", "no_role", "patient")
DUMMY_ID = uuid.UUID(int=1)
PASSWORD = "correct horse battery staple 42"


@dataclass
class World:
    users: dict
    clients: dict
    ids: dict = field(default_factory=dict)  # URL kwarg name -> value, per URL name (see kwargs_for)

    def client(self, identity: str):
        return self.clients[identity]


def _build(name: str = "Test Clinic", tag: str = "", ndc: str = "00000-0001-01"):
    """The world, at a new clinic ``name``; a second world in the same install (a network of clinics) is told apart
    by ``tag``, which starts its staff's usernames, its patients' family names and its lot numbers."""
    from ketaclinic.acting import acting_at
    from ketaclinic.clinic.models import Clinic
    from tests.conftest import CLINIC_TZ

    clinic = Clinic.objects.create(name=name, time_zone=CLINIC_TZ)
    with acting_at(clinic.pk):  # as its own staff's requests would: current_clinic() is this clinic
        return _build_at(clinic, tag, ndc)


def _build_at(clinic, tag: str, ndc: str):
    from django.test import Client
    from django.utils import timezone

    from ketaclinic.accounts.services import create_staff
    from ketaclinic.audit.services import Actor
    from ketaclinic.clinic.models import Room
    from ketaclinic.clinic.services import add_room
    from ketaclinic.custody import services as custody
    from ketaclinic.custody.models import Incident
    from ketaclinic.measures import services as measures
    from ketaclinic.patients.models import Diagnosis
    from ketaclinic.patients.services import register_patient
    from ketaclinic.portal import services as portal
    from ketaclinic.portal.services import SESSION_VERIFIED
    from tests import factories as f

    rooms = f.make_rooms(clinic)
    setup = Actor.system("test clinic setup")
    users = {who: create_staff(actor=setup, username=tag.lower() + who, password=PASSWORD,
                               roles={who} if who in ROLES else set(), first_name="Test", last_name=tag + who,
                               clinic=clinic)
             for who in (*ROLES, "no_role")}

    def actor(role):
        return Actor(user=users[role], roles=users[role].role_set(), client_ip="127.0.0.1")

    patient = register_patient(actor=actor("front_desk"), clinic=clinic, confirm_duplicate=True, data={
        "legal_given_name": "Avery", "legal_family_name": f"{tag}Sampleton", "date_of_birth": date(1985, 4, 12),
        "sex_at_birth": "female", "email": f"avery{tag.lower()}@example.invalid"})
    # Custody first, as in a clinic: a safe for the infusion rooms, two vials received and countersigned (the doses
    # below are prepared from that lot); later 0.8 mL of one is drawn for the verified session, 1 mL of the other
    # reported lost, and a routine count finds 0.2 mL missing from the first (a discrepancy incident).
    room_b = add_room(actor=actor("clinic_admin"), clinic=clinic, name="Infusion Room B", kind=Room.Kind.INFUSION,
                      chairs=1)
    store = custody.add_location(actor("clinic_admin"), clinic=clinic, name="Main safe", rooms=[rooms["infusion"], room_b])
    supplier = custody.add_supplier(actor("clinic_admin"), name="Example Pharma Supply (synthetic)",
                                    address="1 Warehouse Way, Denver, CO 80205", dea_number="PS1234563")
    product = custody.add_product(actor("clinic_admin"), ndc=ndc, name="Ketamine 50 mg/mL 10 mL (test)",
                                  drug="ketamine", form="vial", strength_mg_per_mL="50", container_volume_mL="10")
    today = timezone.localdate()
    receipt = custody.enter_receipt(actor("nurse"), supplier=supplier, invoice_number="INV-1", invoice_date=today,
                                    received_on=today, product=product, lot_number=f"LOT-{tag}A1",
                                    expiry=today.replace(year=today.year + 1, day=min(today.day, 28)), packages=2,
                                    location=store)
    vial, vial2 = custody.countersign_receipt(actor("prescriber"), receipt)
    consult, assessment = f.make_eligible(patient, users)
    order = f.services.write_order(actor=actor("prescriber"), patient=patient, data=f.IV)
    session = f.ready_to_start(f.book_now(order, users, rooms), users)  # dose verified, in Chair 1

    # Three more patients, so the cockpit is seen at more phases: an esketamine dose prepared (awaiting its
    # verification), IV dosing running (Chair 2), and IV dosing stopped with the patient in observation (a second
    # infusion room, as the first one's two chairs are taken).
    def another(n):
        return register_patient(actor=actor("front_desk"), clinic=clinic, confirm_duplicate=True, data={
            "legal_given_name": "Patient", "legal_family_name": f"{tag}Phase{n}", "date_of_birth": date(1980 + n, 1, 2),
            "sex_at_birth": "male"})

    prepared = f.dosed_session(another(1), users, data=f.ESK, rooms=rooms, end="prepared")
    dosing = f.dosed_session(another(2), users, rooms=rooms, end="dosing")
    observing = f.dosed_session(another(3), users, room=room_b, end="stopped")
    assert (session.status, session.verified_at is not None, prepared.verified_at, dosing.status, observing.status) \
        == ("pre_checks", True, None, "dosing", "observation")

    draw = custody.draw(actor("nurse"), container=vial, session=session, quantity="0.8")
    loss = custody.report_loss(actor("nurse"), container=vial2, quantity="1", kind="loss",
                               discovered_at=timezone.now(), circumstances="Dropped vial")
    count = custody.submit_count(actor("nurse"), location=store, kind="routine",
                                 lines=[custody.CountInput(vial, Decimal("9")), custody.CountInput(vial2, Decimal("9"))])
    incident = Incident.objects.get(count_line__count=count)
    assert incident.count_line.container == vial and count.discrepancies == 1

    # Measures: a PHQ-9 with item 9 answered, which opens a safety task.
    phq = measures.record_administration(actor=actor("nurse"), patient=patient, scale="phq9",
                                         answers={f"q{i}": 1 for i in range(1, 10)})
    task = phq.administration.safety_tasks.first()

    # The observed patient's integration session offered; a safety report asked for in the background (its job
    # queued); once the first patient has a portal account (below), a message to them.
    from ketaclinic.integration.services import offer_after
    from ketaclinic.messaging.services import start_thread
    from ketaclinic.reports.base import ReportFilters
    from ketaclinic.reports.jobs import start_report_csv

    offer = offer_after(actor=actor("nurse"), session=observing)
    job = start_report_csv(actor=actor("clinic_admin"), clinic=clinic, slug="safety", filters=ReportFilters())

    # Portal: invited, accepted, signed in and past the new-device check.
    _inv, token = portal.invite(actor=actor("front_desk"), patient=patient)
    account = portal.accept_invitation(token=token, password=PASSWORD, password2=PASSWORD)
    users["patient"] = account.user
    thread = start_thread(actor=actor("nurse"), patient=patient, subject="Checking in",
                          body="How have you been since your session?").message.thread
    diagnosis = Diagnosis.objects.filter(patient=patient).first()

    clients = {"signed_out": Client()}
    for identity, user in users.items():
        c = Client()
        c.force_login(user)
        clients[identity] = c
    s = clients["patient"].session
    s[SESSION_VERIFIED] = account.pk
    s.save()

    objects = {
        "patient": patient, "consult": consult, "assessment": assessment, "order": order, "session": session,
        "prepared_session": prepared, "dosing_session": dosing, "observing_session": observing,
        "receipt": receipt, "container": vial, "entry": draw, "loss": loss, "count": count, "incident": incident,
        "administration": phq.administration, "task": task, "diagnosis": diagnosis, "token": token,
        "offer": offer, "thread": thread, "job": job,
    }
    return World(users=users, clients=clients, ids=objects)


@pytest.fixture(scope="module")
def clinic_world(django_db_setup, django_db_blocker):
    from tests.conftest import rolled_back_world

    with rolled_back_world(django_db_blocker):
        yield _build()


#: Which object of the world each URL's identifier points at (by URL name, or by namespace); a URL not listed
#: here, or whose object the world does not hold, is requested with an identifier that matches nothing (the
#: access decision comes first: an allowed role then gets 404, a refused one 403).
OBJECT_FOR = {
    "patients": "patient", "patients:diagnosis_error": "diagnosis",
    "screening": "consult", "screening:sign": "assessment", "screening:start": "patient",
    "treatments": "session", "treatments:order": "order", "treatments:book": "order",
    "treatments:order_new": "patient", "treatments:rems_submitted": None,
    "measures": "patient", "measures:administration": "administration",
    "measures:entered_in_error": "administration", "measures:safety_task": "task", "measures:booster": None,
    "portal:invite": "patient", "portal:accept": "token",
    "custody": None, "custody:container": "container", "custody:destroy": "container",
    "custody:report_loss": "container", "custody:return_stock": "container", "custody:count_detail": "count",
    "custody:incident": "incident", "custody:resolve_incident": "incident", "custody:loss": "loss",
    "custody:receipt": "receipt", "custody:countersign": "receipt", "custody:session": "session",
    "custody:reverse": "entry",
    "api-1.0.0:patient_detail": "patient",
    "records": "session", "billing:invoice_session": "session", "billing:record_estimate": "patient",
    "billing:sell_package": "patient", "billing:superbill_pdf": "patient", "messaging:start": "patient",
    "reminders:patient": "patient", "reports:research_consent": "patient",
    "integration": "offer", "messaging:thread": "thread", "messaging:my_thread": "thread", "reports:job": "job",
    "reports:job_progress": "job", "reports:job_download": "job",
}


def url_of(name: str, route: str, world: World | None, key: str | None = None) -> str:
    """The concrete path of URL ``name`` (route pattern ``route``) for objects of ``world``: the object
    :data:`OBJECT_FOR` names, or the world's object ``key`` (e.g. "dosing_session")."""
    import re

    key = key or OBJECT_FOR.get(name, OBJECT_FOR.get(name.split(":")[0]))
    obj = world.ids.get(key) if (world and key) else None

    def fill(m: re.Match) -> str:
        converter, kwarg = m.group(1) or "str", m.group(2)
        if kwarg == "scale":
            return "phq9"
        if obj is None:
            return {"uuid": str(DUMMY_ID), "int": "999999"}.get(converter, "x")
        if isinstance(obj, str):
            return obj
        if converter == "int" or kwarg == "pk":
            return str(obj.pk)
        return str(getattr(obj, "external_id", None) or obj.patient.external_id)

    return "/" + re.sub(r"<(?:(\w+):)?(\w+)>", fill, route)


#: The two clinics of :func:`two_clinics`: each one's staff's usernames and names, its patients' family names and
#: its lot numbers carry its tag, so a page that shows any of them to the other clinic's staff is found by a text
#: search (case-blind: a username is written in lower case).
HERE_TAG = "Hither"
TAG = "Yonder"
YONDER_PHONE = "303-555-0199"  # a fictional number (555-01xx)


@pytest.fixture(scope="module")
def two_clinics(django_db_setup, django_db_blocker):
    """Two whole clinics of one network in one install, each built as :func:`clinic_world` builds one: the test
    clinic (:data:`HERE_TAG`), and "Yonder Clinic" (:data:`TAG`, phone :data:`YONDER_PHONE`), where one more
    patient has answered PHQ-9 item 9 (so the two clinics' figures differ). Rolled back when the module ends."""
    from ketaclinic.acting import acting_at
    from ketaclinic.audit.services import Actor
    from ketaclinic.measures import services as measures
    from tests.conftest import rolled_back_world

    with rolled_back_world(django_db_blocker):
        here = _build(tag=HERE_TAG)
        yonder = _build(name="Yonder Clinic", tag=TAG, ndc="00000-0002-01")
        clinic = yonder.ids["patient"].clinic
        type(clinic).objects.filter(pk=clinic.pk).update(phone=YONDER_PHONE)
        with acting_at(clinic.pk):
            measures.record_administration(actor=Actor.for_user(yonder.users["nurse"]), scale="phq9",
                                           patient=yonder.ids["dosing_session"].patient,
                                           answers={f"q{i}": 2 for i in range(1, 10)})
        yield here, yonder
