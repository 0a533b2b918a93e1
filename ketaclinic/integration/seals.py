"""What a therapist's note holds (``ketaclinic/audit/seals.py``): every note is signed by its writing."""

from ketaclinic.audit import seals
from ketaclinic.integration.models import TherapistNote

seals.register(TherapistNote, lambda note: {"note": seals.fields_of(note)}, signed={})
