"""Consent documents, kept by the clinic admin. A version a patient has signed is never edited: a change of text is
a new version (a new row), and the next dose then needs the patient's signature of it."""

from __future__ import annotations

from django.contrib import admin

from ketaclinic.accounts.admin import ClinicAdminOnly
from ketaclinic.treatments.models import ConsentDocument

CONTENT = ("drug", "version", "title", "text", "effective_from")


@admin.register(ConsentDocument)
class ConsentDocumentAdmin(ClinicAdminOnly, admin.ModelAdmin):
    list_display = ("title", "drug", "version", "effective_from")
    list_filter = ("drug",)

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.signatures.exists():
            return (*CONTENT, "created_at")
        return ("created_at",)
