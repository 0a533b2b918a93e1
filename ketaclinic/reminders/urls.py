from django.urls import path

from ketaclinic.reminders import views

app_name = "reminders"

urlpatterns = [
    path("", views.worklist, name="worklist"),
    path("settings/", views.update_settings, name="settings"),
    path("patients/<uuid:patient_id>/", views.patient, name="patient"),
    path("sms/inbound/", views.sms_inbound, name="sms_inbound"),
]
