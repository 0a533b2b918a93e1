"""A HOLD or STOP reading says what to do at the chair, is acknowledged by the nurse and seen by a prescriber
(each with name and time), and waits on the prescriber's Today page until a prescriber has seen it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from ketaclinic.audit.models import AuditEntry
from ketaclinic.clinical.errors import ClinicalInputError
from ketaclinic.clinical.session import chair_alert
from ketaclinic.treatments import services
from ketaclinic.treatments.models import AlertAcknowledgement
from ketaclinic.treatments.services import TreatmentError
from tests.treatments.factories import IV, actor, book_now, checked_in, make_order, prechecked, predose_vitals

pytestmark = pytest.mark.django_db


def test_the_alert_says_what_to_do_for_each_phase_and_level():
    assert chair_alert(1, "during") is None
    held = chair_alert(2, "pre_dose")
    assert held.headline == "Vital signs at HOLD" and held.steps[0] == "Do not start the dose yet."
    assert held.steps[1] == "Repeat the reading in 5 minutes, with the patient seated and calm."
    # before the dose, a normal repeat does not clear the hold: the prescriber overrides the reading (predose_hold)
    assert held.steps[2].startswith("Call the prescriber") and held.call_prescriber
    assert "overridden it with a reason, even if the repeat is below the hold limits" in held.steps[2]
    paused = chair_alert(2, "during", {"vitals.repeat_after_minutes": 10})
    assert paused.steps[0].startswith("The infusion is paused: pause the pump now")
    assert "Repeat the reading in 10 minutes" in paused.steps[1]
    stop = chair_alert(3, "during")
    assert stop.headline == "Vital signs at STOP" and stop.steps[0].startswith("Stop the infusion now")
    assert any("Call the prescriber now" in s for s in stop.steps) and stop.call_prescriber
    with pytest.raises(ClinicalInputError):
        chair_alert(2, "tomorrow")


@pytest.fixture
def held(patient, staff, rooms):
    s = prechecked(checked_in(book_now(make_order(patient, staff, IV), staff, rooms), staff), staff)
    reading = predose_vitals(s, staff, bp=("172", "96"))
    assert reading.level == 2
    return s, reading


def test_the_cockpit_shows_the_steps_not_setting_names_and_keeps_the_sources_one_click_away(held, client_for):
    s, _ = held
    page = client_for("nurse").get(reverse("treatments:cockpit", args=[s.external_id])).content.decode()
    assert "Vital signs at HOLD" in page and "Do not start the dose yet." in page
    assert "Repeat the reading in 5 minutes" in page
    assert "<summary>Why (limits and sources)</summary>" in page
    alert = page[page.index('class="alert hold chair-alert"'):page.index("<summary>Why (limits and sources)")]
    assert "clinical.md" not in alert and "vitals." not in alert  # no setting names or source rows in the steps


def test_nurse_acknowledges_and_a_prescriber_sees_it_and_the_today_page_waits_for_the_prescriber(
        held, staff, client_for):
    s, reading = held
    prescriber = client_for("prescriber")
    assert "the prescriber is needed" in prescriber.get(reverse("clinic:today")).content.decode()
    assert "the prescriber is needed" not in client_for("nurse").get(reverse("clinic:today")).content.decode()
    services.acknowledge_alert(actor=actor(staff["nurse"]), session=s, reading_id=reading.pk,
                               note="Seated, rechecking in 5 min")
    with pytest.raises(TreatmentError, match="already acknowledged"):
        services.acknowledge_alert(actor=actor(staff["nurse"]), session=s, reading_id=reading.pk)
    assert "the prescriber is needed" in prescriber.get(reverse("clinic:today")).content.decode()
    r = prescriber.post(reverse("treatments:acknowledge_alert", args=[s.external_id]), {"reading": reading.pk},
                        follow=True)
    assert "Seen by the prescriber: recorded." in r.content.decode()
    acks = list(AlertAcknowledgement.objects.filter(reading=reading).values_list("kind", "by__username", "note"))
    assert acks == [("done", staff["nurse"].username, "Seated, rechecking in 5 min"),
                    ("seen", staff["prescriber"].username, "")]
    assert "the prescriber is needed" not in prescriber.get(reverse("clinic:today")).content.decode()
    page = prescriber.get(reverse("treatments:cockpit", args=[s.external_id])).content.decode()
    assert "Acknowledged at the chair" in page and "Seen by the prescriber" in page
    assert AuditEntry.objects.filter(action="session.alert.seen_by_prescriber", patient=s.patient).count() == 1


def test_a_normal_reading_or_another_sessions_reading_cannot_be_acknowledged(held, patient, staff):
    s, reading = held
    normal = predose_vitals(s, staff, bp=("124", "78"))
    with pytest.raises(TreatmentError, match="Only a reading at HOLD or STOP"):
        services.acknowledge_alert(actor=actor(staff["nurse"]), session=s, reading_id=normal.pk)
    with pytest.raises(TreatmentError, match="not part of this session"):
        services.acknowledge_alert(actor=actor(staff["nurse"]), session=s, reading_id=reading.pk + 1000)
    assert not AlertAcknowledgement.objects.exists()


def test_a_stop_reading_stays_on_the_prescribers_list_after_a_normal_repeat(held, staff, client_for):
    s, reading = held
    predose_vitals(s, staff, bp=("124", "78"))  # a normal repeat: the HOLD is still unseen by a prescriber
    prescriber = client_for("prescriber")
    assert "the prescriber is needed" in prescriber.get(reverse("clinic:today")).content.decode()
    page = prescriber.get(reverse("treatments:cockpit", args=[s.external_id])).content.decode()
    assert "Earlier readings at HOLD or STOP no prescriber has seen yet" in page
    services.acknowledge_alert(actor=actor(staff["prescriber"]), session=s, reading_id=reading.pk)
    assert "the prescriber is needed" not in prescriber.get(reverse("clinic:today")).content.decode()


def test_esketamine_dosing_alerts_speak_of_devices_not_pumps():
    assert chair_alert(2, "during", route="intranasal").steps[0].startswith("Dosing is paused: do not give the next")
    assert chair_alert(3, "during", route="intranasal").steps[0].startswith("Give no further device")
