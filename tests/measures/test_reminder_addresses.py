"""A questionnaire reminder goes to exactly one address: a patient whose details hold a list (which would mail
everyone on it), a line break (which Django's mail refuses with BadHeaderError, failing the whole run) or something
that is not an address is skipped, and the skip is audited once. The others in the same run are still reminded, and
the skipped patient's items wait for a corrected address."""

from __future__ import annotations

import pytest
from django.core import mail

from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.models import AuditEntry
from ketaclinic.measures import services
from ketaclinic.measures.models import DueItem
from ketaclinic.patients.services import update_patient

pytestmark = pytest.mark.django_db

BAD = {
    "two addresses": ("patient@example.invalid, other@example.invalid", "exactly one email address"),
    "header injection": ("patient@example.invalid\nBcc: other@example.invalid", "exactly one email address"),
    "not an address": ("not-an-email", "is not an email address"),
}


def _skips(patient):
    return AuditEntry.objects.filter(action=AuditAction.MEASURES_REMINDER_SKIPPED, patient=patient)


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_reminder_to_an_address_that_is_not_one_address_is_skipped_and_audited_once(
        case, make_portal_patient, actor_for):
    raw, message = BAD[case]
    patient, _ = make_portal_patient()
    other, _ = make_portal_patient()
    for p in (patient, other):
        services.apply_default_schedule(actor=actor_for("nurse"), patient=p)
    update_patient(actor=actor_for("front_desk"), patient=patient, data={"email": raw})  # the registry stores it
    mail.outbox.clear()

    assert services.send_reminders() == 1
    assert [m.to for m in mail.outbox] == [[other.email]]
    assert not DueItem.objects.filter(patient=patient, reminder_sent_at__isnull=False).exists()
    [skip] = _skips(patient)
    assert message in skip.details["problem"] and "patient's details" in skip.details["problem"]
    assert sorted(skip.details["due_items"]) == sorted(
        str(i.external_id) for i in DueItem.objects.filter(patient=patient, status="open"))

    assert services.send_reminders() == 0  # the next run: nothing new to send, and no second skip entry
    assert len(mail.outbox) == 1 and _skips(patient).count() == 1


def test_once_the_address_is_corrected_the_waiting_reminder_goes_to_it(make_portal_patient, actor_for):
    patient, _ = make_portal_patient()
    services.apply_default_schedule(actor=actor_for("nurse"), patient=patient)
    update_patient(actor=actor_for("front_desk"), patient=patient,
                   data={"email": "patient@example.invalid, other@example.invalid"})
    mail.outbox.clear()
    assert services.send_reminders() == 0 and mail.outbox == []

    update_patient(actor=actor_for("front_desk"), patient=patient, data={"email": "patient@example.invalid"})
    assert services.send_reminders() == 1
    assert [m.to for m in mail.outbox] == [["patient@example.invalid"]]
    assert DueItem.objects.filter(patient=patient, reminder_sent_at__isnull=False).count() == 2
    assert AuditEntry.objects.filter(action=AuditAction.MEASURES_REMINDER_SENT, patient=patient).count() == 1
