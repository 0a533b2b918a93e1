"""One strict input boundary: what people type (and what a script sends) is read strictly and refused with a
message that names the problem, and a refusal changes nothing, the audit trail included. Control characters
(PostgreSQL cannot store NUL at all: these were server errors there; .ci/run runs this file again under
DB=postgres), non-ASCII digits in a number or a code, and overlong text."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django import forms
from django.urls import reverse

from ketaclinic.audit.models import AuditEntry
from ketaclinic.formfields import IdField, IsoDateField, StrictDecimalField, TextField, WholeNumberField
from ketaclinic.inputs import (
    InputError,
    check_email_address,
    check_text,
    parse_decimal,
    parse_whole,
    plain_decimal,
)
from ketaclinic.patients.models import Patient
from ketaclinic.scheduling.models import WaitlistEntry

pytestmark = pytest.mark.django_db

CONTROL = ["\x00", "\x01", "\x07", "\x08", "\x1b[31m", "\x7f", "\x0b", "\x0c"]
NOT_ASCII_DIGITS = ["1_20", "+120", "١٢٠", "１２０", "12²", "۱۲۰", "१२०", "1 20", "120\x00"]


# ------------------------------------------------------------------------------------------ the parsers and fields
@pytest.mark.parametrize("typed", NOT_ASCII_DIGITS)
def test_a_measurement_is_ascii_digits_only(typed):
    with pytest.raises(InputError, match="whole number"):
        parse_whole(typed, "Systolic", max_value=300)
    with pytest.raises(InputError, match="plain number"):
        parse_decimal(typed, "Weight (kg)", max_value=Decimal("999.99"))
    assert plain_decimal(typed) is None
    with pytest.raises(forms.ValidationError):
        WholeNumberField(max_value=300).clean(typed)
    with pytest.raises(forms.ValidationError):
        StrictDecimalField(max_value=Decimal("999.99")).clean(typed)
    with pytest.raises(forms.ValidationError):
        IdField().clean(typed)


def test_plain_numbers_still_read_as_before():
    assert parse_whole(" 120 ", "Systolic", max_value=300) == 120
    assert parse_decimal("70,5", "Weight (kg)", max_value=Decimal("999.99")) == Decimal("70.50")
    assert parse_decimal("-2", "Change", max_value=Decimal(9), min_value=Decimal(-9)) == Decimal("-2.00")


@pytest.mark.parametrize("typed", ["２０２６-06-17", "2026-06-1٧"])
def test_a_date_is_ascii_digits_only(typed):
    with pytest.raises(forms.ValidationError):
        IsoDateField().clean(typed)


@pytest.mark.parametrize("bad", CONTROL)
def test_free_text_refuses_control_characters_naming_them(bad):
    field = TextField(max_length=50, label="Method")
    with pytest.raises(forms.ValidationError, match=r"Method contains an invisible control character \(U\+00"):
        field.clean(f"denaturing{bad}kit")
    with pytest.raises(InputError, match="control character"):
        check_text(f"a{bad}b", "Note", multiline=True)


def test_multiline_text_keeps_tabs_and_line_breaks_one_line_text_does_not():
    note = TextField(max_length=50, multiline=True)
    assert note.clean("first line\r\n\tsecond line") == "first line\r\n\tsecond line"
    with pytest.raises(forms.ValidationError):
        TextField(max_length=50).clean("first line\nsecond line")


def test_free_text_length_is_checked_by_the_form():
    with pytest.raises(forms.ValidationError, match="at most 10 characters"):
        TextField(max_length=10).clean("x" * 11)
    with pytest.raises(TypeError):
        TextField()  # a text field without a length does not exist


# ------------------------------------------------------------------------------------------ patient search
@pytest.mark.parametrize("bad", ["\x00", "Samp\x00leton", "\x1b[2J", "x" * 101])
def test_a_search_term_the_box_refuses_is_a_message_and_nothing_is_searched_or_recorded(client_for, patient, bad):
    r = client_for("front_desk").get(reverse("patients:search"), {"q": bad})
    assert r.status_code == 200
    page = r.content.decode()
    assert "control character" in page or "at most 100 characters" in page
    assert patient.mrn not in page
    assert not AuditEntry.objects.filter(action="patient.search").exists()


def test_an_ordinary_search_is_still_found_and_recorded(client_for, patient):
    r = client_for("front_desk").get(reverse("patients:search"), {"q": patient.legal_family_name})
    assert patient.mrn in r.content.decode()
    assert AuditEntry.objects.filter(action="patient.search").count() == 1


# ------------------------------------------------------------------------------------------ the API
@pytest.mark.parametrize("bad", ["\x00", "Samp\x00", "\x1b", "x" * 101, "   "])
def test_the_api_search_refuses_bad_terms_with_a_422_naming_the_parameter(client_for, patient, bad):
    r = client_for("front_desk").get("/api/v1/patients", {"q": bad})
    assert r.status_code == 422
    [problem] = r.json()["detail"]
    assert problem["loc"][-1] == "q"
    assert not AuditEntry.objects.filter(action="patient.search").exists()


def test_the_api_search_answers_an_ordinary_term(client_for, patient):
    r = client_for("front_desk").get("/api/v1/patients", {"q": patient.legal_family_name})
    assert r.status_code == 200 and [p["mrn"] for p in r.json()] == [patient.mrn]


def test_the_api_names_the_control_character(client_for, patient):
    r = client_for("front_desk").get("/api/v1/patients", {"q": "Sam\x00"})
    assert "U+0000" in r.json()["detail"][0]["msg"]


# ------------------------------------------------------------------------------------------ registry and calendar
REGISTRATION = {"legal_given_name": "Jordan", "legal_family_name": "Testwood", "date_of_birth": "1979-06-30",
                "sex_at_birth": "male", "state": "CO"}


@pytest.mark.parametrize("field,bad", [("legal_family_name", "Test\x00wood"), ("allergies", "NKDA\x00"),
                                       ("current_medications", "sertraline\x1b"), ("address_line1", "1 Main\tSt"),
                                       ("legal_given_name", "J" * 101), ("allergies", "x" * 4001)])
def test_registration_refuses_bad_text_next_to_the_field_and_registers_no_one(client_for, field, bad):
    r = client_for("front_desk").post(reverse("patients:register"), {**REGISTRATION, field: bad})
    assert r.status_code == 200 and r.context["form"].errors[field]
    assert not Patient.objects.exists() and not AuditEntry.objects.filter(action="patient.registered").exists()


def test_registration_keeps_line_breaks_and_tabs_in_the_allergy_list(client_for):
    r = client_for("front_desk").post(reverse("patients:register"),
                                      {**REGISTRATION, "allergies": "penicillin (rash)\r\n\tlatex"})
    assert r.status_code == 302
    assert Patient.objects.get().allergies == "penicillin (rash)\r\n\tlatex"


#: Not one e-mail address: a list mails everyone on it, a line break is a new mail header (Django's mail raises
#: BadHeaderError), and an address has at most 254 characters.
NOT_ONE_ADDRESS = [("patient@example.invalid, other@example.invalid", "exactly one email address"),
                   ("patient@example.invalid;other@example.invalid", "exactly one email address"),
                   ("patient@example.invalid\nBcc: other@example.invalid", "exactly one email address"),
                   ("patient@exam\x00ple.invalid", "exactly one email address"),
                   ("Pat <patient@example.invalid>", "exactly one email address"),
                   ("not-an-email", "is not an email address"),
                   ("a" * 243 + "@example.org", "at most 254")]


@pytest.mark.parametrize("typed,message", NOT_ONE_ADDRESS)
def test_an_email_address_is_exactly_one_address(typed, message):
    with pytest.raises(InputError) as refused:
        check_email_address(typed)
    assert message in refused.value.message


def test_one_email_address_is_taken_without_its_surrounding_spaces():
    assert check_email_address("  patient@example.invalid ") == "patient@example.invalid"


@pytest.mark.parametrize("typed,message", NOT_ONE_ADDRESS)
def test_the_patients_email_is_one_address_on_registration(client_for, typed, message):
    r = client_for("front_desk").post(reverse("patients:register"), {**REGISTRATION, "email": typed})
    assert r.status_code == 200 and message in r.context["form"].errors["email"][0]
    assert not Patient.objects.exists() and not AuditEntry.objects.filter(action="patient.registered").exists()


@pytest.mark.parametrize("typed,message", NOT_ONE_ADDRESS)
def test_the_patients_email_is_one_address_when_their_details_are_edited(client_for, make_patient, typed, message):
    patient = make_patient(email="patient@example.invalid")
    data = {**REGISTRATION, "legal_given_name": patient.legal_given_name,
            "legal_family_name": patient.legal_family_name, "date_of_birth": patient.date_of_birth.isoformat(),
            "sex_at_birth": patient.sex_at_birth, "email": typed}
    r = client_for("front_desk").post(reverse("patients:edit", kwargs={"external_id": patient.external_id}), data)
    assert r.status_code == 200 and message in r.context["form"].errors["email"][0]
    patient.refresh_from_db()
    assert patient.email == "patient@example.invalid"
    assert not AuditEntry.objects.filter(action="patient.updated").exists()


def test_the_patients_one_address_is_saved(client_for):
    r = client_for("front_desk").post(reverse("patients:register"), {**REGISTRATION, "email": " jt@example.invalid "})
    assert r.status_code == 302 and Patient.objects.get().email == "jt@example.invalid"


def test_a_diagnosis_note_with_a_nul_is_refused_and_not_added(client_for, patient):
    r = client_for("prescriber").post(reverse("patients:add_diagnosis", kwargs={"external_id": patient.external_id}),
                                      {"code": "F33.2", "note": "severe\x00"})
    assert r.status_code == 200 and "control character" in r.content.decode()
    assert not patient.diagnoses.exists()


@pytest.mark.parametrize("field,bad", [("note", "call back\x00"), ("mrn", "KC\x0012")])
def test_a_waitlist_entry_with_a_control_character_is_refused_and_not_added(client_for, patient, field, bad):
    from ketaclinic.scheduling import services as scheduling

    kind = scheduling.types_for(patient.clinic)[0]
    data = {"mrn": patient.mrn, "type": str(kind.pk), "note": "", field: bad}
    r = client_for("front_desk").post(reverse("scheduling:waitlist"), data)
    assert r.status_code == 400 and "control character" in r.content.decode()
    assert not WaitlistEntry.objects.exists()


# ------------------------------------------------------------------------------------------ clinic settings
CLINIC = {"name": "Aspen", "time_zone": "America/Denver", "dea_registration": "", "working_weekdays": "0,1,2,3,4",
          "crisis_line": "988"}


@pytest.mark.parametrize("days", ["0,1,²", "0,١", "0,１", "+1", "1_2"])
def test_working_days_are_ascii_digits_a_superscript_is_a_message(client_for, clinic, days):
    r = client_for("clinic_admin").post(reverse("clinic:settings"), {**CLINIC, "working_weekdays": days})
    assert r.status_code == 200
    assert "0 (Monday) to 6 (Sunday)" in r.context["form"].errors["working_weekdays"][0]
    assert not AuditEntry.objects.filter(action="clinic.updated").exists()


@pytest.mark.parametrize("dea", ["AP٥٨٣٦٧٢٧", "AP５８３６７２７"])
def test_the_clinics_dea_number_is_ascii(client_for, clinic, dea):
    r = client_for("clinic_admin").post(reverse("clinic:settings"), {**CLINIC, "dea_registration": dea})
    assert r.status_code == 200
    assert "2 letters A-Z followed by 7 digits 0-9" in r.context["form"].errors["dea_registration"][0]
    clinic.refresh_from_db()
    assert clinic.dea_registration == ""
