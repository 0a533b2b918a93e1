from django.contrib import admin
from django.http import JsonResponse
from django.urls import include, path

from ketaclinic.api import api


def health(request):
    return JsonResponse({"status": "ok"})


admin.site.site_header = "KetaClinic administration"
admin.site.site_title = "KetaClinic admin"

urlpatterns = [
    path("", include("ketaclinic.clinic.urls")),
    path("accounts/", include("ketaclinic.accounts.urls")),
    path("patients/", include("ketaclinic.patients.urls")),
    path("audit/", include("ketaclinic.crossapp.audit_urls")),
    path("ops/", include("ketaclinic.crossapp.ops_urls")),
    path("consults/", include("ketaclinic.screening.urls")),
    path("treatments/", include("ketaclinic.treatments.urls")),
    path("integration/", include("ketaclinic.integration.urls")),
    path("measures/", include("ketaclinic.measures.urls")),
    path("portal/", include("ketaclinic.portal.urls")),
    path("custody/", include("ketaclinic.custody.urls")),
    path("records/", include("ketaclinic.crossapp.session_record_urls")),
    path("calendar/", include("ketaclinic.scheduling.urls")),
    path("billing/", include("ketaclinic.billing.urls")),
    path("reminders/", include("ketaclinic.reminders.urls")),
    path("messages/", include("ketaclinic.messaging.urls")),
    path("reports/", include("ketaclinic.reports.urls")),
    path("fhir/R4/", include("ketaclinic.fhir.urls")),
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
    path("health/", health, name="health"),
]
