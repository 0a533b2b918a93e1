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
    path("audit/", include("ketaclinic.audit.urls")),
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
    path("health/", health, name="health"),
]
