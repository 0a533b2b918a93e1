"""What a patient's registry record holds for tamper evidence (``ketaclinic/audit/seals.py``): identity, contacts,
escort, allergies and current medications, as registration and each edit through the application wrote them. A
patient registered by the application is sealed then and again at each edit, so an allergy removed or a date of
birth changed in the database is named by ``verify_records``. (Patients bulk-inserted by ``generate_patients`` for
benchmarks are not sealed and not checked.)"""

from django.db.models import Q

from ketaclinic.audit import seals
from ketaclinic.patients.models import Patient
from ketaclinic.patients.services import PATIENT_FIELDS


def _content(patient: Patient) -> dict[str, object]:
    return {"patient": {name: getattr(patient, name) for name in ("clinic_id", "mrn", *PATIENT_FIELDS)}}


# checked: every patient the application sealed (registration, each edit; seal_baseline for older ones)
seals.register(Patient, _content, signed={"pk__in": []}, baseline=Q())
