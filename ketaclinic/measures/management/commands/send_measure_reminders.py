"""Refresh every patient's due questionnaires and email reminders (run from cron, e.g. every 15 minutes).

Idempotent: each due item is generated once and reminded once.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from ketaclinic.measures.models import MeasureSchedule
from ketaclinic.measures.schedule import refresh_due_items
from ketaclinic.measures.services import send_reminders
from ketaclinic.patients.models import Patient


class Command(BaseCommand):
    help = "Generate due questionnaires from schedules and email portal patients a reminder (once per item)."

    def add_arguments(self, parser):
        parser.add_argument("--portal-url", default="", help="Absolute portal URL to put in the email")

    def handle(self, *args, **opts):
        ids = MeasureSchedule.objects.filter(active=True).values_list("patient_id", flat=True).distinct()
        created = 0
        for patient in Patient.objects.filter(pk__in=list(ids)).select_related("clinic"):
            created += len(refresh_due_items(patient))
        sent = send_reminders(portal_url=opts["portal_url"])
        self.stdout.write(f"{created} new due item(s); {sent} reminder email(s) sent.")
