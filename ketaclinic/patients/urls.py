from django.urls import path

from ketaclinic.patients import views

app_name = "patients"
urlpatterns = [
    path("", views.search, name="search"),
    path("new/", views.register, name="register"),
    path("<uuid:external_id>/", views.chart, name="chart"),
    path("<uuid:external_id>/edit/", views.edit, name="edit"),
    path("<uuid:external_id>/measurements/", views.add_measurement, name="add_measurement"),
    path("<uuid:external_id>/diagnoses/", views.add_diagnosis, name="add_diagnosis"),
    path("<uuid:external_id>/diagnoses/<int:pk>/error/", views.diagnosis_error, name="diagnosis_error"),
]
