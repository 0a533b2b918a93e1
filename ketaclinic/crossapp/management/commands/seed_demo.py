"""Load the synthetic demo clinic: a user per role, rooms, about 50 patients with believable histories.

Safe to rerun: if the demo clinic exists it only prints the logins. Feature apps add their own demo
records by defining ``seed(ctx: DemoContext)`` in ``<app>/demo.py``; they run in INSTALLED_APPS order. A seed that
needs an app above its own lives in ``ketaclinic/crossapp/seeds/<label>.py`` and runs in that app's place.

The command lives in the top layer (``ketaclinic.crossapp``) because it uses every app.
"""

from __future__ import annotations

import importlib
import random
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from ketaclinic.accounts.models import User
from ketaclinic.accounts.roles import Role
from ketaclinic.accounts.services import create_staff
from ketaclinic.audit.services import Actor
from ketaclinic.clinic.demo_data import synthetic_person
from ketaclinic.clinic.models import Clinic, Room
from ketaclinic.clinic.services import add_room
from ketaclinic.clinical.identifiers import check_dea_number, dea_check_digit, npi_check_digit
from ketaclinic.patients.models import BodyMeasurement, Diagnosis, Patient
from ketaclinic.patients.services import diagnosis_catalogue, register_patient
from ketaclinic.scheduling import closures

DEMO_PASSWORD = "demo-clinic-2026"

# username, first, last, credentials, roles
DEMO_STAFF = [
    ("prescriber", "Robin", "Demoworth", "MD", {Role.PRESCRIBER}),
    ("nurse", "Nico", "Sampleton", "RN", {Role.NURSE}),
    ("nurse2", "Noor", "Testwood", "RN", {Role.NURSE}),
    ("therapist", "Tess", "Mockridge", "LCSW", {Role.THERAPIST}),
    ("frontdesk", "Frances", "Placeholt", "", {Role.FRONT_DESK}),
    ("billing", "Bo", "Examplar", "", {Role.BILLING}),
    ("compliance", "Cam", "Fictionby", "", {Role.COMPLIANCE}),
    ("admin", "Ada", "Protofer", "", {Role.CLINIC_ADMIN}),
]


@dataclass
class DemoContext:
    clinic: Clinic
    actor: Actor
    users: dict[str, User]
    patients: list[Patient]
    rng: random.Random
    now: object
    extra: dict = field(default_factory=dict)


def luhn_npi(body9: str) -> str:
    return body9 + str(npi_check_digit(body9))


def dea_for(last_name: str, serial: str, kind: str = "B") -> str:
    number = f"{kind}{last_name[0].upper()}{serial}{dea_check_digit(serial)}"
    assert check_dea_number(number, last_name=last_name).valid, number
    return number


def print_logins(stdout) -> None:
    stdout.write(f"\nDemo staff logins (all synthetic; password for every account: {DEMO_PASSWORD})\n")
    for username, first, last, cred, roles in DEMO_STAFF:
        stdout.write(f"  {username:<11} {', '.join(sorted(r.label for r in roles)):<24} {first} {last} {cred}\n")
    try:
        from ketaclinic.portal.demo import PORTAL_PASSWORD
        from ketaclinic.portal.models import PatientAccount
    except ImportError:
        return
    accounts = PatientAccount.objects.filter(patient__is_demo=True).select_related("user", "patient")
    if accounts:
        stdout.write(f"Demo patient portal logins at /portal/ (password {PORTAL_PASSWORD}; a new device's 6-digit "
                     "code is printed to this console)\n")
        for a in accounts:
            stdout.write(f"  {a.user.username:<28} {a.patient.display_name} ({a.patient.mrn})\n")


SEEDS = "ketaclinic.crossapp.seeds"


def _module(name: str):
    """The demo module ``name``, or None if there is none (an import error inside it is raised)."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as e:
        if e.name == name:
            return None
        raise


class Command(BaseCommand):
    help = "Load the synthetic demo clinic (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--patients", type=int, default=50)
        parser.add_argument("--seed", type=int, default=20261127)

    def handle(self, *args, **opts):
        if Clinic.objects.filter(is_demo=True).exists():
            self.stdout.write("The demo clinic is already loaded.")
            print_logins(self.stdout)
            return
        with transaction.atomic():
            ctx = self.build(opts["patients"], random.Random(opts["seed"]))
            for config in apps.get_app_configs():
                if not config.name.startswith("ketaclinic."):
                    continue
                seeds = [m for m in (_module(f"{config.name}.demo"), _module(f"{SEEDS}.{config.label}")) if m]
                for module in seeds:
                    module.seed(ctx)
                if seeds:
                    self.stdout.write(f"  seeded {config.label}")
            # Last, once everything is booked: the clinic closes on the US federal holidays of this year and next
            # (a holiday the demo booked on stays open, as the closures page says).
            admin = ctx.users["admin"]
            admin = Actor.for_user(admin)
            year = timezone.localdate(timezone=ctx.clinic.tz).year
            for y in (year, year + 1):
                closures.close_federal_holidays.within(actor=admin, clinic=ctx.clinic, year=y)
            self.stdout.write("  closed the federal holidays")
            second = self.second_site(ctx)
            self.stdout.write(f"  opened a second site, {second.name}")
        self.stdout.write(self.style.SUCCESS(
            f"Demo clinic loaded: {len(ctx.users)} staff, {len(ctx.patients)} synthetic patients."))
        print_logins(self.stdout)

    def second_site(self, ctx: DemoContext) -> Clinic:
        """A second clinic of the demo network, with its own DEA registration, rooms, safe and a few patients. The
        demo's prescriber and clinic admin work at both (the header's "Work at" form switches); everyone else works
        at the first only, so they do not see it."""
        from ketaclinic.accounts.services import grant_role
        from ketaclinic.acting import acting_at
        from ketaclinic.custody import services as custody

        site = Clinic.objects.create(
            name="Aspen Ridge Longmont (synthetic demo)", address_line1="200 Sample Street", city="Longmont",
            state="CO", postal_code="80501", phone="(303) 555-0150", time_zone="America/Denver",
            dea_registration=dea_for("Aspen", "234567", kind="F"), is_demo=True)
        for username, role in (("prescriber", Role.PRESCRIBER), ("admin", Role.CLINIC_ADMIN)):
            grant_role.within(actor=ctx.actor, user=ctx.users[username], clinic=site, role=role)
        with acting_at(site.pk):
            admin = Actor.for_user(User.objects.get(pk=ctx.users["admin"].pk))
            rooms = [add_room.within(actor=admin, clinic=site, name=name, kind=kind, chairs=chairs)
                     for name, kind, chairs in [("Infusion Room", Room.Kind.INFUSION, 2),
                                                ("Consult Room", Room.Kind.CONSULT, 1)]]
            custody.add_location.within(admin, clinic=site, name="Longmont safe", rooms=rooms[:1])
            for _ in range(3):
                register_patient.within(actor=admin, clinic=site, data=synthetic_person(ctx.rng),
                                        confirm_duplicate=True, is_demo=True)
        return site

    def build(self, n_patients: int, rng: random.Random) -> DemoContext:
        actor = Actor.system("demo loader")
        clinic = Clinic.objects.order_by("pk").first() or Clinic()
        clinic.name = "Aspen Ridge Ketamine Clinic (synthetic demo)"
        clinic.address_line1 = "100 Example Avenue, Suite 200"
        clinic.city, clinic.state, clinic.postal_code = "Boulder", "CO", "80302"
        clinic.phone = "(303) 555-0100"
        clinic.time_zone = "America/Denver"
        clinic.dea_registration = dea_for("Aspen", "123456", kind="F")  # synthetic, well-formed
        clinic.is_demo = True
        clinic.save()
        users: dict[str, User] = {}
        for i, (username, first, last, cred, roles) in enumerate(DEMO_STAFF):
            prescriber = Role.PRESCRIBER in roles
            users[username] = create_staff.within(
                actor=actor, username=username, password=DEMO_PASSWORD, roles=set(roles), first_name=first,
                last_name=last, credentials=cred, email=f"{username}@example.invalid", is_demo=True,
                npi=luhn_npi(f"{123450000 + i:09d}") if cred else "",
                dea_number=dea_for(last, f"{345670 + i:06d}") if prescriber else "",
                licence_number=f"DEMO-{10000 + i}" if cred else "", licence_state="CO" if cred else "",
            )
        for name, kind, chairs in [
            ("Infusion Room A", Room.Kind.INFUSION, 2), ("Infusion Room B", Room.Kind.INFUSION, 2),
            ("Spravato Suite", Room.Kind.INTRANASAL, 3), ("Consult Room", Room.Kind.CONSULT, 1),
            ("Integration Room", Room.Kind.THERAPY, 1),
        ]:
            if not Room.objects.filter(clinic=clinic, name=name).exists():
                add_room.within(actor=actor, clinic=clinic, name=name, kind=kind, chairs=chairs)
        now = timezone.now()
        catalogue = diagnosis_catalogue()
        primary = [c for c in ("F33.2", "F32.2", "F33.1", "F31.4", "F43.12", "F31.81") if c in catalogue]
        secondary = [c for c in ("F41.1", "F43.12", "R45.851") if c in catalogue]
        allergies = ["No known drug allergies", "No known drug allergies", "Penicillin (rash)", "Sulfa drugs (hives)",
                     "Latex (contact dermatitis)"]
        meds = ["sertraline 100 mg daily", "bupropion XL 300 mg daily", "lamotrigine 200 mg daily",
                "escitalopram 20 mg daily", "venlafaxine XR 150 mg daily", "lisinopril 10 mg daily",
                "quetiapine 50 mg at night", "aripiprazole 5 mg daily", "none"]
        patients = []
        for _ in range(n_patients):
            data = synthetic_person(rng)
            data["allergies"] = rng.choice(allergies)
            data["current_medications"] = "\n".join(sorted(set(rng.sample(meds, rng.randint(1, 3)))))
            data["emergency_contact_name"] = f"{rng.choice(['Pat', 'Lee', 'Sam', 'Kim'])} {data['legal_family_name']}"
            data["emergency_contact_phone"] = f"(720) 555-01{rng.randrange(100):02d}"
            data["emergency_contact_relationship"] = rng.choice(["spouse", "partner", "parent", "sibling", "friend"])
            data["escort_name"] = data["emergency_contact_name"]
            data["escort_phone"] = data["emergency_contact_phone"]
            patient = register_patient.within(actor=actor, clinic=clinic, data=data, confirm_duplicate=True,
                                              is_demo=True)
            patient.created_at = now - timedelta(days=rng.randrange(20, 400))
            Patient.objects.filter(pk=patient.pk).update(created_at=patient.created_at)
            height = Decimal(rng.randrange(152, 193))
            weight = Decimal(rng.randrange(5200, 11500)) / 100
            for k in range(rng.randint(1, 4)):
                BodyMeasurement.objects.create(
                    patient=patient, measured_at=patient.created_at + timedelta(days=14 * k),
                    weight_kg=(weight + Decimal(rng.randrange(-150, 150)) / 100).quantize(Decimal("0.01")),
                    height_cm=height if k == 0 else None, recorded_by=users["nurse"],
                )
            codes = [rng.choice(primary)] + ([rng.choice(secondary)] if rng.random() < 0.4 else [])
            for code in dict.fromkeys(codes):
                Diagnosis.objects.create(patient=patient, code=code, label=catalogue[code], recorded_by=users["prescriber"],
                                         noted_on=patient.created_at.date())
            patients.append(patient)
        return DemoContext(clinic=clinic, actor=actor, users=users, patients=patients, rng=rng, now=now)
