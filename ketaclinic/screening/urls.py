from django.urls import path

from ketaclinic.screening import views

app_name = "screening"
urlpatterns = [
    path("", views.worklist, name="list"),
    path("start/<uuid:patient_id>/", views.start, name="start"),
    path("<uuid:external_id>/", views.detail, name="detail"),
    path("<uuid:external_id>/intake/", views.intake, name="intake"),
    path("<uuid:external_id>/trials/", views.add_trial, name="add_trial"),
    path("<uuid:external_id>/scales/", views.add_scale, name="add_scale"),
    path("<uuid:external_id>/assess/", views.assess, name="assess"),
    path("assessments/<uuid:external_id>/sign/", views.sign, name="sign"),
]
