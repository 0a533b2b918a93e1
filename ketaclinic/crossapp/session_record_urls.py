"""The session record (print view and PDF), under its own namespace ``records``, served from the top layer."""

from django.urls import path

from ketaclinic.crossapp import session_record_views

app_name = "records"
urlpatterns = [
    path("sessions/<uuid:external_id>/", session_record_views.session, name="session"),
    path("sessions/<uuid:external_id>/pdf/", session_record_views.session_pdf, name="session_pdf"),
]
