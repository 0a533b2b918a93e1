"""The test clinic of tests/conftest.py (``clinic``, ``staff``, ``patient``), built once for all the tests of a FHIR
module instead of once per test, with whatever records the module reads on top.

A module builds it inside :func:`tests.conftest.rolled_back_world` (each test then runs in its own savepoint on
top, so nothing one test writes reaches the next), and each test gets it through :func:`for_this_test`:

* a deep copy of the built objects (as Django's TestCase gives each test its own copy of ``setUpTestData``), so an
  instance one test changed in memory (an invoice voided) is not what the next test starts from;
* the test clock moved on to the moment the build ended, so a test's "now" is after everything the build recorded
  (the journeys of tests/factories.py move the clock as they go: a session is observed, discharged, signed), as it
  was when the records were built in the test itself.

A module names its ``built`` world (:func:`module_world` with its own records, or :func:`built_with_documents`)
and the fixtures below in its own namespace (``built, here, clinic = ...``), which give each test its part of it
under the conftest fixtures' own names.

The users are made through the accounts service (``create_staff``), the patient through ``register_patient``: the
same names, usernames, roles and password as the conftest fixtures give."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

import pytest

PASSWORD = "correct horse battery"  # as tests/conftest.py's make_user


@dataclass
class Built:
    objects: dict  # "clinic", "staff", "patient", and what the module's own build returned
    now: datetime  # the test clock when the build ended


def build_clinic(extra: Callable[[object, dict, object], dict] | None = None) -> Built:
    """The test clinic, one user per role (keyed by role, as the ``staff`` fixture), the ``patient`` fixture's
    patient, and ``extra(clinic, staff, patient)``'s records. Call it inside ``rolled_back_world``."""
    from django.utils import timezone

    from ketaclinic.accounts.services import create_staff
    from ketaclinic.audit.services import Actor
    from ketaclinic.clinic.models import Clinic
    from ketaclinic.patients.services import register_patient
    from tests.conftest import CLINIC_TZ, ROLE_VALUES
    from tests.factories import actor

    clinic = Clinic.objects.create(name="Test Clinic", time_zone=CLINIC_TZ)  # as the clinic fixture
    setup = Actor.system("test clinic setup")
    staff = {role: create_staff(actor=setup, username=role, password=PASSWORD, roles={role}, first_name="Test",
                                last_name=f"User{n}", clinic=clinic)
             for n, role in enumerate(ROLE_VALUES, start=1)}
    patient = register_patient(actor=actor(staff["front_desk"]), clinic=clinic, confirm_duplicate=True, data={
        "legal_given_name": "Avery", "legal_family_name": "Sampleton1", "date_of_birth": date(1985, 4, 12),
        "sex_at_birth": "female"})  # as the patient fixture
    objects = {"clinic": clinic, "staff": staff, "patient": patient}
    if extra is not None:
        objects.update(extra(clinic, staff, patient))
    return Built(objects=objects, now=timezone.now())


def for_this_test(built: Built, clock) -> dict:
    """The built objects for one test: its own deep copy, with the test clock moved to where the build left it."""
    clock.move_to(built.now.astimezone(clock.tz))  # in the clinic's zone, so the process's local clock stays it
    return copy.deepcopy(built.objects)


def build_documents(clinic, staff, patient) -> dict:
    """The records of the ``documents`` fixture (tests/fhir/conftest.py's for one test, this module's for a module
    world): a signed IV session with an invoice (its superbill), and a signed esketamine session with its REMS
    form."""
    from ketaclinic.billing import services as billing
    from ketaclinic.billing.models import Service
    from ketaclinic.treatments.models import RemsForm
    from tests import factories as f
    from tests.treatments.factories import ESK, make_rooms

    rooms = make_rooms(clinic)
    biller = f.actor(staff["billing"])
    billing.set_price(actor=biller, clinic=clinic, service=Service.IV_INFUSION, amount_cents=45000)
    iv = f.dosed_session(patient, staff, rooms=rooms, end="signed")
    invoice = billing.invoice_session(actor=biller, session=iv)
    esk = f.dosed_session(patient, staff, rooms=rooms, data=ESK, end="signed", start=f.open_day(clinic, -2))
    form = RemsForm.objects.get(session=esk)
    assert form.status in (RemsForm.Status.COMPLETE, RemsForm.Status.TRANSFERRED), form.status
    return {"iv": iv, "invoice": invoice, "esk": esk, "rems": form, "rooms": rooms}


@pytest.fixture
def here(db, built, clock) -> dict:
    """This test's copy of the module's ``built`` world, the clock where the build left it."""
    return for_this_test(built, clock)


def _part(name: str):
    @pytest.fixture(name=name)
    def part(here):
        return here[name]
    return part


#: The parts of this test's copy, each under the name of the conftest fixture it stands for.
clinic, staff, patient, documents = (_part(name) for name in ("clinic", "staff", "patient", "documents"))


def module_world(extra: Callable[[object, dict, object], dict]):
    """A module's ``built`` fixture: :func:`build_clinic` with ``extra``'s records, inside ``rolled_back_world``,
    once for the module's tests (each runs in a savepoint on top of it, on its own copy of the objects)."""

    @pytest.fixture(scope="module", name="built")
    def built(django_db_setup, django_db_blocker) -> Built:
        from tests.conftest import rolled_back_world

        with rolled_back_world(django_db_blocker):
            yield build_clinic(extra)

    return built


#: The test clinic with the records of the ``documents`` fixture (:func:`build_documents`).
built_with_documents = module_world(lambda clinic, staff, patient: {"documents": build_documents(clinic, staff,
                                                                                                   patient)})
