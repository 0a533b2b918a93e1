"""The session record: the whole note of a treatment session (identity, order, consent, pre-checks, weight, dose
working and verification, the controlled-substance account, dosing events, vitals and their chart, events,
ratings, observations, discharge, signatures, addenda) as a print view and a PDF that say the same thing, marked
DRAFT until signed, read in a fixed number of queries and audited on every look.

Every state is reached through the services (tests.factories and the custody services)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.models import AuditEntry
from ketaclinic.custody import services as custody
from ketaclinic.treatments import services
from tests.factories import (
    actor,
    discharged,
    dosed_session,
    dosing_started,
    dosing_stopped,
    drawn,
    let_time_pass,
    normal_vitals,
    open_day,
    signed,
)
from tests.pdfread import pdf_text

pytestmark = pytest.mark.django_db

VIETNAMESE = {"legal_given_name": "Thị Ánh", "legal_family_name": "Nguyễn"}


def _monitored(s, staff, readings: int = 3):
    """Dosing started, ``readings`` vitals rows five minutes apart, a MOAA/S rating, an observation and a mild
    adverse event, then the infusion stopped."""
    s = dosing_started(s, staff)
    nurse = actor(staff["nurse"])
    for i in range(readings):
        let_time_pass(5)
        services.add_vitals(actor=nurse, session=s, values={
            "systolic_mmHg": str(130 + i % 7), "diastolic_mmHg": "82", "heart_rate_bpm": str(78 + i % 5),
            "spo2_percent": "97", "respiratory_rate_per_min": "14"})
    services.add_rating(actor=nurse, session=s, scale="moaas", timepoint="peak", answers={"level": 4})
    services.add_observation(actor=nurse, session=s, text="Calm, eyes closed, listening to music.")
    services.add_adverse_event(actor=nurse, session=s, data={"kind": "nausea", "severity": "mild",
                                                             "action_taken": "Reassured", "resolved": True})
    let_time_pass(30)
    return dosing_stopped(s, staff)


def _accounted(s, staff):
    """The administration posted against the draw, and the residue wasted before the clinic's witnesses (the
    second nurse, then the prescriber if the clinic asks for two)."""
    custody.record_administration(actor(staff["nurse"]), s)
    waste = custody.request_waste(actor(staff["nurse"]), session=s, quantity="0.30",
                                  method="expelled into drug-disposal container")
    for witness in ("nurse2", "prescriber")[:waste.witnesses_required]:
        custody.attest(actor(staff[witness]), waste, "0.30")


@pytest.fixture
def signed_session(make_patient, staff, rooms, vials):
    """An IV ketamine session for Nguyễn Thị Ánh: 35 mg (0.5 mg/kg at 70 kg) drawn as 1 mL of lot LOT123,
    0.70 mL given, 0.30 mL wasted before two witnesses, discharged, signed by the nurse and the prescriber, and
    then an addendum."""
    patient = make_patient(**VIETNAMESE)
    s = dosed_session(patient, staff, rooms=rooms, end="verified")
    drawn(staff, container=vials[0], session=s, quantity="1.00")
    s = _monitored(s, staff)
    _accounted(s, staff)
    s = signed(discharged(s, staff), staff, summary="Uneventful infusion; mild nausea settled without medication.")
    let_time_pass(60)
    services.add_addendum(actor=actor(staff["prescriber"]), session=s,
                          text="Patient phoned at 18:00: feeling well, no further nausea.")
    return s


def _page(client, s):
    response = client.get(reverse("records:session", args=[s.external_id]))
    assert response.status_code == 200
    return response.content.decode()


def _text(html: str) -> str:
    """The page's visible words, tags and whitespace runs removed (as a reader sees them)."""
    import html as htmllib

    body = re.sub(r"<(script|style|svg)\b.*?</\1>", " ", html, flags=re.S)
    return " ".join(htmllib.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def test_the_pdf_prints_the_dose_lot_vitals_signatures_and_addendum_and_the_patients_name_as_written(
        signed_session, client_for, clock):
    s = signed_session
    response = client_for("nurse").get(reverse("records:session_pdf", args=[s.external_id]))

    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    p = s.patient
    assert f"Thị Ánh Nguyễn · DOB {p.date_of_birth:%Y-%m-%d} · MRN {p.mrn}" in text
    assert "SIGNED: by the nurse and co-signed by the prescriber" in text and "DRAFT" not in text
    # the order, the dose working and the independent verification
    assert "Dose ordered 0.5 mg/kg over 40 min" in text
    assert "Dose prepared 35 mg" in text and "Strength 50 mg/mL" in text and "Volume drawn 0.7 mL" in text
    verified = timezone.localtime(s.verified_at, p.clinic.tz)
    assert f"Independent verification Søren Ørsted, MD, {verified:%Y-%m-%d %H:%M}" in text
    # the drug account: the draw from the lot, what was given, the witnessed waste, and the balance
    assert "Lot LOT123" in text and "LOT123 (exp" in text
    assert "Drawn 1 mL" in text and "Administered 0.7 mL" in text and "Wasted (witnessed) 0.3 mL" in text
    assert "Ana Lúcia Brandão, RN" in text and "The account balances" in text
    # vitals (a row of the table and the chart's legend), the rating and the observation
    first = s.vitals.order_by("taken_at").first()
    assert f"{timezone.localtime(first.taken_at, p.clinic.tz):%H:%M}" in text and "130/82" in text
    assert "Systolic BP (mmHg)" in text
    assert "MOAA/S" in text and "Calm, eyes closed, listening to music." in text
    # signatures, then the addendum after them
    nurse_at = timezone.localtime(s.nurse_signed_at, p.clinic.tz)
    assert f"Nurse Zofia Żółć, RN, signed {nurse_at:%Y-%m-%d %H:%M}" in text
    assert "Prescriber co-signature Søren Ørsted, MD, signed" in text
    assert text.index("Prescriber co-signature") < text.index("Patient phoned at 18:00: feeling well")
    assert "\ufffd" not in text


def test_the_print_view_shows_what_the_pdf_shows(signed_session, client_for):
    s = signed_session
    page = _text(_page(client_for("prescriber"), s))
    pdf = pdf_text(client_for("prescriber").get(reverse("records:session_pdf", args=[s.external_id])).content)

    for words in ("Thị Ánh Nguyễn", "Dose prepared 35 mg", "LOT123", "Administered 0.7 mL",
                  "Wasted (witnessed) 0.3 mL", "Ana Lúcia Brandão, RN", "130/82", "Calm, eyes closed",
                  "Nurse Zofia Żółć, RN, signed", "Prescriber co-signature Søren Ørsted, MD, signed",
                  "Patient phoned at 18:00: feeling well, no further nausea.", "SIGNED: by the nurse"):
        assert words in page, words
        assert words in pdf, words
    assert page.index("Prescriber co-signature") < page.index("Patient phoned at 18:00")
    assert "DRAFT" not in page


def test_the_print_view_draws_the_vitals_chart_on_the_server_with_nothing_from_elsewhere(signed_session,
                                                                                         client_for):
    html = _page(client_for("nurse"), signed_session)

    svg = re.search(r"<svg\b.*?</svg>", html, flags=re.S)
    assert svg is not None
    assert svg.group(0).count("<polyline") == 4  # systolic, diastolic, heart rate, SpO2
    assert "<script" not in svg.group(0)
    assert not re.search(r"""(src|href)=["']https?://""", html), "everything is served by the app"


def test_an_unsigned_session_is_marked_draft_on_the_page_and_on_every_pdf_page(make_patient, staff, rooms,
                                                                               client_for):
    s = dosed_session(make_patient(**VIETNAMESE), staff, rooms=rooms, end="discharged")

    page = _text(_page(client_for("nurse"), s))
    pdf = client_for("nurse").get(reverse("records:session_pdf", args=[s.external_id])).content

    assert "DRAFT: this note is not signed." in page
    assert "Nurse not signed" in page and "Prescriber co-signature not signed" in page
    from io import BytesIO

    from pypdf import PdfReader

    pages = [p.extract_text() for p in PdfReader(BytesIO(pdf)).pages]
    assert all("DRAFT" in p for p in pages)
    assert "DRAFT: this note is not signed." in pdf_text(pdf)
    # no draw was recorded: the account says so instead of inventing one
    assert "Nothing drawn for this session in the controlled-substance ledger." in page


def test_a_drug_account_that_does_not_balance_says_so(make_patient, staff, rooms, vials, client_for):
    s = dosed_session(make_patient(), staff, rooms=rooms, end="verified")
    drawn(staff, container=vials[0], session=s, quantity="1.00")
    s = dosing_stopped(dosing_started(s, staff), staff)
    custody.record_administration(actor(staff["nurse"]), s)  # 0.70 mL given, the 0.30 mL residue not wasted

    page = _text(_page(client_for("compliance"), s))

    assert "Balance (drawn − administered − wasted − returned) 0.3 mL" in page
    assert "The account does not balance: 0.3 mL drawn for this session is not recorded" in page


def test_the_print_view_reads_the_same_number_of_queries_whatever_the_number_of_readings(
        make_patient, staff, rooms, vials, client_for, django_assert_num_queries):
    few = dosed_session(make_patient(), staff, rooms=rooms, end="verified")
    drawn(staff, container=vials[0], session=few, quantity="1.00")
    few = _monitored(few, staff, readings=2)
    other = make_patient()
    many = dosed_session(other, staff, rooms=rooms, end="verified", start=open_day(other.clinic, -1))
    drawn(staff, container=vials[1], session=many, quantity="1.00")
    many = _monitored(many, staff, readings=12)
    for s in (few, many):
        normal_vitals(s, staff)
    client = client_for("nurse")
    client.get(reverse("records:session", args=[few.external_id]))  # warm the per-process caches

    # sign-in and clinic (session, user, roles, clinic: 4); the record (the session with its records, the people
    # it names by id, ledger entries, pending wastes, the prior weight, vitals, events, adverse events, ratings,
    # observations, addenda, pre-dose overrides: 12); the audit entry (chain head, entry, head moved on: 3)
    with django_assert_num_queries(19):
        client.get(reverse("records:session", args=[few.external_id]))
    with django_assert_num_queries(19):
        client.get(reverse("records:session", args=[many.external_id]))


def test_each_look_at_the_record_is_audited_against_the_patient(signed_session, client_for, staff):
    s = signed_session
    client_for("compliance").get(reverse("records:session", args=[s.external_id]))
    client_for("nurse").get(reverse("records:session_pdf", args=[s.external_id]))

    viewed = AuditEntry.objects.get(action=AuditAction.SESSION_RECORD_VIEWED)
    exported = AuditEntry.objects.get(action=AuditAction.SESSION_RECORD_PDF_EXPORTED)
    assert (viewed.patient, viewed.actor, viewed.details["status"]) == (s.patient, staff["compliance"], "signed")
    assert (exported.patient, exported.actor) == (s.patient, staff["nurse"])


@pytest.mark.parametrize("role", ["therapist", "front_desk", "billing", "clinic_admin"])
def test_only_prescribers_nurses_and_compliance_open_the_record(signed_session, client_for, role):
    for name in ("records:session", "records:session_pdf"):
        assert client_for(role).get(reverse(name, args=[signed_session.external_id])).status_code == 403
    assert not AuditEntry.objects.filter(action__startswith="session.record.").exists()


def test_an_esketamine_session_transferred_to_emergency_care_says_so_with_its_devices_and_rems_form(
        make_patient, staff, rooms, clinic, client_for):
    from ketaclinic.custody import services as custody_services
    from tests.factories import ESK, received

    admin = actor(staff["clinic_admin"])
    cabinet = custody_services.add_location(admin, clinic=clinic, name="Spravato cabinet", rooms=[rooms["spravato"]])
    supplier = custody_services.add_supplier(admin, name="Example Pharma Supply (synthetic)",
                                             address="1 Warehouse Way, Denver, CO 80205", dea_number="PS1234563")
    kit = custody_services.add_product(admin, ndc="50458-028-02", name="Spravato 56 mg kit (2 devices)",
                                       drug="esketamine", form="device", device_mg="28", units_per_package=2)
    received(staff, supplier=supplier, location=cabinet, product=kit, lot="LOT123")
    s = dosed_session(make_patient(**VIETNAMESE), staff, rooms=rooms, data=ESK, end="transferred")

    page = _text(_page(client_for("prescriber"), s))

    assert "Devices 2" in page and "Lot LOT123" in page
    assert "Outcome Transferred to emergency care" in page and "Ambulance to the emergency department" in page
    assert "Hypertension" in page and "Severe" in page
    assert "Spravato REMS monitoring" in page
    assert "DRAFT: this note is not signed." in page


def test_a_long_addendum_runs_on_over_the_pdfs_pages_instead_of_breaking_it(signed_session, staff, client_for):
    words = " ".join(f"word{i}" for i in range(880))  # 7,800 characters: more than a page in one addendum
    services.add_addendum(actor=actor(staff["nurse"]), session=signed_session, text=words)

    response = client_for("nurse").get(reverse("records:session_pdf", args=[signed_session.external_id]))

    assert response.status_code == 200
    text = pdf_text(response.content)
    assert "word0 word1" in text and "word878 word879" in text


def test_a_waste_still_awaiting_its_witness_is_shown_and_not_counted(make_patient, staff, rooms, vials, client_for):
    s = dosed_session(make_patient(), staff, rooms=rooms, end="verified")
    drawn(staff, container=vials[0], session=s, quantity="1.00")
    s = dosing_stopped(dosing_started(s, staff), staff)
    custody.record_administration(actor(staff["nurse"]), s)
    waste = custody.request_waste(actor(staff["nurse"]), session=s, quantity="0.30",
                                  method="expelled into drug-disposal container")
    if waste.witnesses_required == 0:
        pytest.skip("this clinic posts a waste without a witness")

    page = _text(_page(client_for("nurse"), s))

    # A time off the session's own day carries its date (a waste recorded after midnight).
    at = timezone.localtime(waste.requested_at)
    when = f"{at:%H:%M}" if at.date() == timezone.localtime(s.scheduled_start).date() else f"{at:%Y-%m-%d %H:%M}"
    assert (f"Waste of 0.3 mL recorded by Zofia Żółć, RN at {when} "
            f"(expelled into drug-disposal container): awaiting witness; witnesses 0 of "
            f"{waste.witnesses_required}.") in page
    assert "Wasted (witnessed) 0 mL" in page and "The account does not balance: 0.3 mL" in page
