"""Open another clinic (location) of the network in this install: ``manage.py add_clinic "Name" --time-zone
America/Denver --dea FA1234563 --admin <username>``. The named staff member becomes its first clinic admin; they
switch to it in the header's "Work at", fill in its settings and rooms, and grant its staff their roles there."""

from django.core.management.base import BaseCommand, CommandError

from ketaclinic.accounts.models import User
from ketaclinic.audit.services import Actor
from ketaclinic.clinic.services import ClinicSettingsError, open_clinic


class Command(BaseCommand):
    help = "Open another clinic (location) of the network, with its own DEA registration and first clinic admin."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--time-zone", required=True, help="e.g. America/Denver")
        parser.add_argument("--dea", required=True, help="the location's own DEA registration number")
        parser.add_argument("--admin", required=True, help="username of an existing staff account")

    def handle(self, *args, name, time_zone, dea, admin, **options):
        user = User.objects.filter(username=admin, is_active=True, patient_account__isnull=True).first()
        if user is None:
            raise CommandError(f"No active staff account {admin!r}.")
        try:
            clinic = open_clinic(actor=Actor.system("manage.py add_clinic"), name=name, time_zone=time_zone,
                                 dea_registration=dea, admin=user)
        except ClinicSettingsError as e:
            raise CommandError("; ".join(f"{k}: {v}" for k, v in e.errors.items())) from None
        self.stdout.write(self.style.SUCCESS(
            f"Opened {clinic.name}. {user.username} is its clinic admin: sign in, choose it under \"Work at\", "
            "then fill in its settings and rooms and grant its staff their roles (Admin, Staff)."))
