"""Management commands a clinic admin or developer runs."""

from __future__ import annotations

from io import StringIO

from django.core.management import call_command

from ketaclinic.patients.models import Patient, mrn_check_digit
from ketaclinic.patients.services import search


def test_generate_patients_makes_valid_searchable_synthetic_patients(clinic):
    call_command("generate_patients", 40, stdout=StringIO())
    patients = list(Patient.objects.all())
    assert len(patients) == 40 and all(p.is_demo for p in patients)
    assert len({p.mrn for p in patients}) == 40
    assert all(int(p.mrn[-1]) == mrn_check_digit(p.mrn[2:-1]) for p in patients)
    one = patients[7]
    assert one in search(clinic, f"{one.legal_family_name}, {one.legal_given_name}")
    assert search(clinic, one.mrn) == [one]


def test_access_matrix_prints_every_page_with_its_roles(db):
    out = StringIO()
    call_command("access_matrix", stdout=out)
    text = out.getvalue()
    assert "audit:search" in text and "clinic_adm" in text
    assert "Refused to everyone" not in text  # every URL has a policy
