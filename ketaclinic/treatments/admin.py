"""Consent documents, kept by the clinic admin. A version a patient has signed is never edited: a change of text is
a new version (a new row), and the next dose then needs the patient's signature of it."""

from __future__ import annotations

from django.contrib import admin

from ketaclinic.accounts.admin import ClinicAdminOnly
from ketaclinic.accounts.models import administered_by
from ketaclinic.clinic.models import Clinic
from ketaclinic.treatments.models import ConsentDocument

CONTENT = ("drug", "version", "title", "text", "effective_from")


@admin.register(ConsentDocument)
class ConsentDocumentAdmin(ClinicAdminOnly, admin.ModelAdmin):
    """The consent documents are the network's, one set for every clinic of the install: a clinic admin reads them,
    and an admin of every clinic writes them (no one clinic's admin changes what another's patients sign)."""

    list_display = ("title", "drug", "version", "effective_from")
    list_filter = ("drug",)

    def _of_every_clinic(self, request) -> bool:
        return set(Clinic.objects.values_list("pk", flat=True)) <= administered_by(request.user)

    def has_add_permission(self, request, *args):
        return super().has_add_permission(request, *args) and self._of_every_clinic(request)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._of_every_clinic(request)

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.signatures.exists():
            return (*CONTENT, "created_at")
        return ("created_at",)
