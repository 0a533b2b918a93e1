"""Create a staff account holding roles at a clinic: ``manage.py add_staff ada --role clinic_admin --first-name Ada
--last-name Admin``. The first clinic admin of a new install is made this way (``createsuperuser`` makes an account
that holds no role, so it opens no page); later staff are added by a clinic admin in Admin → Staff.

The password is asked twice at the terminal, or read from ``KETACLINIC_STAFF_PASSWORD`` when no terminal is there
(a provisioning script), and must pass the install's password rules."""

from __future__ import annotations

import getpass
import os
import sys

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from ketaclinic.accounts.models import User
from ketaclinic.accounts.roles import Role
from ketaclinic.accounts.services import create_staff
from ketaclinic.audit.services import Actor
from ketaclinic.clinic.models import Clinic, current_clinic
from ketaclinic.clinical.errors import ClinicalInputError

PASSWORD_ENV = "KETACLINIC_STAFF_PASSWORD"


class Command(BaseCommand):
    help = "Create a staff account with roles at a clinic (the first clinic admin of a new install)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", action="append", required=True, choices=Role.values,
                            help="a role to hold (repeat for several)")
        parser.add_argument("--first-name", required=True)
        parser.add_argument("--last-name", required=True)
        parser.add_argument("--email", default="")
        parser.add_argument("--clinic", default="", help="the clinic's name (default: the install's first clinic)")

    def _password(self, user: User) -> str:
        if os.environ.get(PASSWORD_ENV):
            password = os.environ[PASSWORD_ENV]
        elif sys.stdin.isatty():
            password = getpass.getpass("Password: ")
            if getpass.getpass("Password (again): ") != password:
                raise CommandError("The two passwords differ; nothing was created.")
        else:
            raise CommandError(f"No terminal to ask a password at: set {PASSWORD_ENV}.")
        try:
            validate_password(password, user)
        except ValidationError as e:
            raise CommandError(" ".join(e.messages) + " Nothing was created.") from None
        return password

    def handle(self, *args, username, role, first_name, last_name, email, clinic, **options):
        if User.objects.filter(username__iexact=username).exists():
            raise CommandError(f"An account {username!r} exists already.")
        if clinic:
            at = Clinic.objects.filter(name=clinic).first()
            if at is None:
                raise CommandError(f"No clinic named {clinic!r}.")
        else:
            at = current_clinic()
        password = self._password(User(username=username, first_name=first_name, last_name=last_name, email=email))
        try:
            user = create_staff(actor=Actor.system("manage.py add_staff"), username=username, password=password,
                                roles=set(role), first_name=first_name, last_name=last_name, email=email,
                                clinic=at)
        except ClinicalInputError as e:
            raise CommandError(str(e)) from None
        held = ", ".join(sorted(Role(r).label for r in role))
        self.stdout.write(self.style.SUCCESS(f"Created {user.username} ({held}) at {at.name}."))
