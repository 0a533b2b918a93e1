"""Pages of the treatment journey (who may open each: tests/foundation/access_table.py): the cockpit's query budget, htmx vitals rows,
PDFs, the Today board and the chart section."""

from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from ketaclinic.audit.models import AuditEntry
from ketaclinic.treatments.models import VitalsReading
from tests.factories import open_day
from tests.treatments.factories import ESK, IV, actor, book_now, make_order, ready_to_start


def _cockpit_queries(client, session) -> int:
    with CaptureQueriesContext(connection) as ctx:
        r = client.get(reverse("treatments:cockpit", args=[session.external_id]))
    assert r.status_code == 200
    return len(ctx.captured_queries)


def test_cockpit_query_count_is_constant_as_readings_accumulate(patient, staff, rooms, client_for):
    from ketaclinic.treatments import services

    s = ready_to_start(book_now(make_order(patient, staff, IV), staff, rooms), staff, minutes_ago=60)
    services.start_dose(actor=actor(staff["nurse"]), session=s, at=timezone.now() - timedelta(minutes=50))
    client = client_for("nurse")
    _cockpit_queries(client, s)  # warm up: the first request of a sign-in also touches the session row
    base = _cockpit_queries(client, s)
    start = timezone.now() - timedelta(minutes=45)
    for k in range(30):
        VitalsReading.objects.create(session=s, taken_at=start + timedelta(minutes=k), phase="during",
                                     systolic_mmHg=130, diastolic_mmHg=80, heart_rate_bpm=75, spo2_percent=98,
                                     recorded_by=staff["nurse"], level=k % 3)
        services.add_observation(actor=actor(staff["nurse"]), session=s, text=f"note {k}")
    after = _cockpit_queries(client, s)
    # 22: the session with its patient, order, room and chair; one for the readings (the newest, and those before
    # the dose or at HOLD or STOP, in one read), one for consent (the signed version, shown and read by the
    # pre-checks line), one for the pre-dose overrides (shown, and read by the hold and the start blockers), four for
    # the drug account (draws, pending waste, the stock on offer and the stores' rooms), one for alert
    # acknowledgements, then the people the session and every list name, in one query by id (ketaclinic.loading),
    # and the audit entry (chain head, entry, head moved on). Four fewer than before issue 16: the readings in one
    # read, not two; no addenda before the note is signed, no contraindications once the dose has started (only
    # "Start not allowed yet" showed them), no height when there is a previous weight (the weight check reads it
    # only without one).
    assert base == after == 22, f"cockpit GET: {base} queries with 1 reading, {after} with 31"


def test_vitals_row_saved_on_its_own_with_htmx(patient, staff, rooms, client_for):
    s = ready_to_start(book_now(make_order(patient, staff, IV), staff, rooms), staff)
    client = client_for("nurse")
    url = reverse("treatments:vitals", args=[s.external_id])
    r = client.post(url, {"systolic_mmHg": "500", "diastolic_mmHg": "80"}, HTTP_HX_REQUEST="true")
    assert r.status_code == 200 and b"not a possible reading" in r.content and b'value="500"' in r.content
    assert s.vitals.count() == 1
    for k in range(20):  # the time a save takes is measured in bench/bench_vitals.py
        r = client.post(url, {"systolic_mmHg": str(120 + k % 5), "diastolic_mmHg": "80", "heart_rate_bpm": "70",
                              "spo2_percent": "98"}, HTTP_HX_REQUEST="true")
        assert r.status_code == 200 and b'data-saved="yes"' in r.content
    assert s.vitals.count() == 21
    r = client.post(url, {"systolic_mmHg": "160", "diastolic_mmHg": "95"}, HTTP_HX_REQUEST="true")
    assert b"HOLD" in r.content and b"Do not start" in r.content


def test_cockpit_shows_working_and_is_audited(patient, staff, rooms, client_for):
    s = ready_to_start(book_now(make_order(patient, staff, IV), staff, rooms), staff)
    r = client_for("nurse").get(reverse("treatments:cockpit", args=[s.external_id]))
    body = r.content.decode()
    assert "35 mg" in body and "151.1 mL/h" in body and "70 kg x 0.5 mg/kg" in body and "LOT123" in body
    assert AuditEntry.objects.filter(action="session.cockpit.viewed", actor=staff["nurse"]).exists()


def test_verify_page_refuses_the_preparer(patient, staff, rooms, client_for, make_user):
    from ketaclinic.treatments import services
    from tests.treatments.factories import checked_in, normal_vitals, prechecked

    s = prechecked(checked_in(book_now(make_order(patient, staff, IV), staff, rooms), staff), staff)
    normal_vitals(s, staff)
    services.prepare_dose(actor=actor(staff["nurse"]), session=s, data={
        "concentration_mg_per_mL": "50", "bag_volume_mL": "100", "vial_or_device": "vial", "lot_number": "L"})
    url = reverse("treatments:verify", args=[s.external_id])
    r = client_for("nurse").post(url, {"weight_kg": "70", "dose_mg": "35"})
    assert b"You prepared this dose" in r.content
    page = client_for("prescriber").get(url).content.decode()
    assert "35.00" not in page and "35 mg" not in page and "0.70" not in page  # prepared numbers not shown
    r = client_for("prescriber").post(url, {"weight_kg": "70", "dose_mg": "35", "concentration_mg_per_mL": "50",
                                            "bag_volume_mL": "100"})
    assert r.status_code == 302 and r["Location"] == reverse("treatments:cockpit", args=[s.external_id])
    s.refresh_from_db()
    assert s.verified_by == staff["prescriber"]


def test_discharge_pdf(patient, staff, rooms, client_for):
    s = book_now(make_order(patient, staff, IV), staff, rooms)
    r = client_for("nurse").get(reverse("treatments:discharge_pdf", args=[s.external_id]))
    assert r["Content-Type"] == "application/pdf" and r.content.startswith(b"%PDF")


def test_today_board_and_chart(patient, staff, rooms, client_for):
    from ketaclinic.treatments import services

    s = ready_to_start(book_now(make_order(patient, staff, IV), staff, rooms), staff)
    services.start_dose(actor=actor(staff["nurse"]), session=s)
    services.add_vitals(actor=actor(staff["nurse"]), session=s, values={"systolic_mmHg": "185", "diastolic_mmHg": "100"})
    body = client_for("nurse").get(reverse("clinic:today")).content.decode()
    assert "Dosing" in body and "HOLD" in body and "data-due=" in body and "data-since=" in body
    fd = client_for("front_desk").get(reverse("clinic:today")).content.decode()
    assert "Dosing" in fd and "HOLD" not in fd
    chart = client_for("billing").get(reverse("patients:chart", args=[patient.external_id])).content.decode()
    assert "Treatments" in chart and "Integration" not in chart


def test_chart_queries_do_not_grow(patient, staff, rooms, client_for):
    from ketaclinic.treatments import services

    order = make_order(patient, staff, IV)
    client = client_for("prescriber")
    url = reverse("patients:chart", args=[patient.external_id])
    client.get(url)  # warm up the sign-in session
    with CaptureQueriesContext(connection) as a:
        client.get(url)
    for k in range(3):  # every other clinic day from a week on
        services.book_session(actor=actor(staff["front_desk"]), order=order, start=open_day(patient.clinic, 5 + 2 * k),
                              room=rooms["infusion"], chair=rooms["a1"])
    make_order(patient, staff, {**IV, "sessions_planned": "3"})
    with CaptureQueriesContext(connection) as b:
        client.get(url)
    # +1 the Appointments section (scheduling); +2 the care team and the staff it may add; +1 whether the patient has
    # an active portal account (secure messages offer writing only then); +1 the latest research consent decision
    assert len(a.captured_queries) == len(b.captured_queries) == 27


def test_im_and_esketamine_cockpits(patient, make_patient, staff, rooms, client_for):
    from ketaclinic.treatments import services
    from tests.factories import IM, let_time_pass, normal_vitals

    im = ready_to_start(book_now(make_order(patient, staff, IM), staff, rooms), staff)
    body = client_for("nurse").get(reverse("treatments:cockpit", args=[im.external_id])).content.decode()
    assert "Injection given" in body and "0.70 mL of 50 mg/mL" in body and "Start infusion" not in body
    client_for("nurse").post(reverse("treatments:start_dose", args=[im.external_id]))
    im.refresh_from_db()
    assert im.status == "observation" and im.administered_mg == im.prepared_dose_mg

    esk = ready_to_start(book_now(make_order(make_patient(), staff, ESK), staff, rooms), staff)
    client = client_for("nurse")
    body = client.get(reverse("treatments:cockpit", args=[esk.external_id])).content.decode()
    assert "56 mg" in body and "2 device(s)" in body and "First device given (start)" in body
    client.post(reverse("treatments:start_dose", args=[esk.external_id]))
    let_time_pass(5.5)  # the label's interval between devices
    client.post(reverse("treatments:next_device", args=[esk.external_id]))
    client.post(reverse("treatments:stop_dose", args=[esk.external_id]))
    client.post(reverse("treatments:rems_monitoring", args=[esk.external_id]),
                {"sedation": "no", "dissociation": "yes", "respiratory_depression": "no"})
    body = client.get(reverse("treatments:cockpit", args=[esk.external_id])).content.decode()
    assert "Spravato REMS monitoring" in body and "124/78" in body
    let_time_pass(125)  # observed two hours from the last device
    esk.refresh_from_db()
    normal_vitals(esk, staff)
    services.record_recovery(actor=actor(staff["nurse"]), session=esk, alert_and_oriented=True, steady_gait=True)
    client = client_for("nurse")  # signed in again: the idle sign-out ran during the two hours
    client.post(reverse("treatments:discharge", args=[esk.external_id]))
    esk.refresh_from_db()
    assert esk.status == "discharged"
    pdf = client_for("compliance").get(reverse("treatments:rems_pdf", args=[esk.external_id]))
    assert pdf.content.startswith(b"%PDF")
    due = client_for("compliance").get(reverse("treatments:rems_due")).content.decode()
    assert esk.patient.display_name in due
