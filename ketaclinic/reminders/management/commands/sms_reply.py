"""The console path of a patient's text reply, for the demo and for trying it out: ``manage.py sms_reply <phone>
YES`` records exactly what the SMS webhook would for that text from that number."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from ketaclinic.reminders.services import receive_sms


class Command(BaseCommand):
    help = "Record a text reply (YES, NO, STOP, START) as if it came from <phone>."

    def add_arguments(self, parser):
        parser.add_argument("phone")
        parser.add_argument("text", nargs="+")

    def handle(self, *args, **opts):
        self.stdout.write(receive_sms(from_number=opts["phone"], text=" ".join(opts["text"]), via="console"))
