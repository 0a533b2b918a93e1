from django.urls import path

from ketaclinic.measures import views

app_name = "measures"
urlpatterns = [
    path("", views.worklist, name="worklist"),
    path("patients/<uuid:external_id>/", views.patient_trajectory, name="trajectory"),
    path("patients/<uuid:external_id>/administer/<str:scale>/", views.administer, name="administer"),
    path("patients/<uuid:external_id>/schedule/", views.schedule, name="schedule"),
    path("administrations/<uuid:administration_id>/", views.administration_detail, name="administration"),
    path("administrations/<uuid:administration_id>/entered-in-error/", views.entered_in_error,
         name="entered_in_error"),
    path("safety/<uuid:task_id>/", views.safety_task, name="safety_task"),
    path("boosters/<uuid:prompt_id>/", views.booster, name="booster"),
    path("on-call/", views.on_call, name="on_call"),
]
